/* guard.c -- columns that must not be a model's features: an identifier,
 * a function of the outcome, a measure recorded after the treatment.
 *
 * A model fitted on such a column looks excellent where it is trained and
 * learns nothing that holds for the next customer: an id is a value of its
 * own in every row (the model memorises rows), a conversion flag or the
 * spend it brought is the outcome written again, and what the treatment
 * set in motion (a message opened) is not known when the decision to
 * treat is made. The checks look at the values only, not at the names:
 *   identifier        every row holds a value of its own, and the values are
 *                     text or whole numbers (a measure such as an income
 *                     may differ in every row too, but has fractions)
 *   of the outcome    the column holds one value over every row of one
 *                     outcome and another value in some rows of the other
 *                     (spend is 0 wherever nobody converted; a copy of the
 *                     outcome)
 *   after treatment   the same over the control rows against the treated
 *                     (opened is 0 wherever nothing was sent)
 * Each needs 10 rows on each side, so that a chance constant in a handful
 * of rows is not taken for a rule. */
#include "finance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MIN_ROWS 10

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when every row of t holds a value of its own in col, all of them text
 * or whole numbers; -1 when out of memory. */
static int identifier(const tl_table_t *t, uint32_t col) {
    if (t->nrows < GUARD_MIN_ROWS) return 0;
    const char **v = malloc((size_t)t->nrows * sizeof *v);
    if (!v) return -1;
    for (uint32_t r = 0; r < t->nrows; r++) {
        v[r] = tl_table_cell(t, r, col);
        double d;
        if (!*v[r] || (tl_parse_f64(v[r], strlen(v[r]), &d) == 0 && d != (double)(int64_t)d)) {
            free(v);
            return 0;
        }
    }
    qsort(v, t->nrows, sizeof *v, cmp_str);
    int unique = 1;
    for (uint32_t r = 1; r < t->nrows && unique; r++) unique = strcmp(v[r - 1], v[r]) != 0;
    free(v);
    return unique;
}

/* 1 when col holds one value over every row where side[r] is which (at
 * least GUARD_MIN_ROWS of them) and another value in some of the other
 * rows (GUARD_MIN_ROWS or more): a column equal to the outcome counts as
 * much as a spend that is 0 wherever nobody converted. */
static int constant_on_one_side(const tl_table_t *t, uint32_t col, const int8_t *side, int which) {
    const char *one = NULL;
    uint32_t n_one = 0, n_other = 0;
    for (uint32_t r = 0; r < t->nrows; r++) {
        if (side[r] != which) continue;
        const char *v = tl_table_cell(t, r, col);
        if (one && strcmp(one, v) != 0) return 0;
        one = v, n_one++;
    }
    int differs = 0;
    for (uint32_t r = 0; one && r < t->nrows; r++) {
        if (side[r] < 0 || side[r] == which) continue;
        n_other++;
        differs |= strcmp(one, tl_table_cell(t, r, col)) != 0;
    }
    return n_one >= GUARD_MIN_ROWS && n_other >= GUARD_MIN_ROWS && differs;
}

/* side[r]: 1 where the column's value is yes, 0 where it is another
 * value, -1 where it is missing. */
static void sides(const tl_table_t *t, uint32_t col, const char *yes, int8_t *side) {
    for (uint32_t r = 0; r < t->nrows; r++) {
        const char *v = tl_table_cell(t, r, col);
        side[r] = !*v ? -1 : strcmp(v, yes) == 0;
    }
}

int tl_feature_guard(const tl_table_t *t, uint32_t col, uint32_t outcome, const char *yes,
                     uint32_t treatment, char *why, size_t cap) {
    int rc = identifier(t, col);
    if (rc) {
        if (rc > 0)
            snprintf(why, cap, "column \"%s\" looks like an identifier (a value of its own in "
                     "every row): a model would learn the rows, not the customers", t->name[col]);
        return rc < 0 ? TL_ENOMEM : 1;
    }
    int8_t *side = malloc(t->nrows ? t->nrows : 1);
    if (!side) return TL_ENOMEM;
    rc = 0;
    if (outcome != TL_NONE) {
        sides(t, outcome, yes, side);
        for (int w = 0; w < 2 && !rc; w++)
            if (constant_on_one_side(t, col, side, w)) {
                snprintf(why, cap, "column \"%s\" is a function of the outcome \"%s\" (one value "
                         "wherever the outcome is %s): it is known only once the outcome is",
                         t->name[col], t->name[outcome], w ? yes : "not");
                rc = 1;
            }
    }
    if (!rc && treatment != TL_NONE) {
        sides(t, treatment, "1", side);
        if (constant_on_one_side(t, col, side, 0)) {
            snprintf(why, cap, "column \"%s\" looks recorded after the treatment \"%s\" (one value "
                     "over every control row): it is not known when the decision to treat is made",
                     t->name[col], t->name[treatment]);
            rc = 1;
        }
    }
    free(side);
    return rc;
}
