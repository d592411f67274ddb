/* uplift_table.c -- an uplift experiment read from a table: one row a unit,
 * its treatment and outcome in two columns, its features in others.
 *
 * A feature is a column of numbers, or a column of text expanded into
 * indicators: "COL=LEVEL" is 1 where the column holds LEVEL, 0 where it
 * holds another value, missing where it is empty. Every level but the most
 * frequent (the reference, which the intercept carries) gets one, at most
 * TL_UPLIFT_MAX_LEVELS of them. The names are the model's: applying it reads
 * "COL=LEVEL" back from any table with that column.
 *
 * When the model is trained, the features are checked by
 * tl_feature_guard: an identifier, a function of the outcome or a column
 * recorded after the treatment is refused with its name and the reason,
 * unless the caller allows it. */
#include "experiment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finance/finance.h"

static int listed(const char *list, const char *name, size_t n) {
    for (const char *q = list; q && *q;) {
        size_t len = strcspn(q, ",");
        if (len == n && memcmp(q, name, n) == 0) return 1;
        q += len + (q[len] == ',');
    }
    return 0;
}

static int is_number(const char *v, double *d) { return *v && tl_parse_f64(v, strlen(v), d) == 0; }

/* 1 when some cell of col is text that is not a number. */
static int is_text(const tl_table_t *t, uint32_t col) {
    double d;
    for (uint32_t r = 0; r < t->nrows; r++) {
        const char *v = tl_table_cell(t, r, col);
        if (*v && !is_number(v, &d)) return 1;
    }
    return 0;
}

typedef struct {
    const char *v;
    uint32_t n;
} level_t;

static int cmp_level(const void *a, const void *b) {
    const level_t *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->v, y->v);
}

static int cmp_cell(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One feature of the rows: column col (level NULL: its numbers; else 1
 * where it holds level) named name. */
typedef struct {
    uint32_t col;
    char level[64];
    int indicator;
} feat_t;

static int add_feature(tl_uplift_rows_t *r, feat_t *f, const char *name, uint32_t col,
                       const char *level, tl_errbuf_t *eb) {
    if (r->p == TL_UPLIFT_MAX_F) {
        tl_errbuf_set(eb, "at most %d features (text columns count one a level but the most "
                      "frequent): name fewer with --features", TL_UPLIFT_MAX_F);
        return TL_EINVAL;
    }
    feat_t *x = &f[r->p];
    x->col = col, x->indicator = level != NULL;
    snprintf(x->level, sizeof x->level, "%s", level ? level : "");
    if (level) snprintf(r->names[r->p], sizeof r->names[0], "%s=%s", name, level);
    else snprintf(r->names[r->p], sizeof r->names[0], "%s", name);
    r->p++;
    return 0;
}

/* The indicators of the text column col: its levels by frequency, all but
 * the first. */
static int expand(const tl_table_t *t, uint32_t col, tl_uplift_rows_t *r, feat_t *f,
                  tl_errbuf_t *eb) {
    const char **v = malloc(((size_t)t->nrows + 1) * sizeof *v);
    level_t *lv = malloc(((size_t)t->nrows + 1) * sizeof *lv);
    int rc = v && lv ? 0 : TL_ENOMEM;
    uint32_t n = 0, nl = 0;
    for (uint32_t i = 0; !rc && i < t->nrows; i++)
        if (*tl_table_cell(t, i, col)) v[n++] = tl_table_cell(t, i, col);
    if (!rc) qsort(v, n, sizeof *v, cmp_cell);
    for (uint32_t i = 0; !rc && i < n; i++) {
        if (nl && strcmp(lv[nl - 1].v, v[i]) == 0) lv[nl - 1].n++;
        else lv[nl++] = (level_t){v[i], 1};
    }
    if (!rc && nl > TL_UPLIFT_MAX_LEVELS + 1) {
        tl_errbuf_set(eb, "column \"%s\" is text with %u distinct values: too many to expand "
                      "into indicators (at most %d); leave it out of --features", t->name[col],
                      nl, TL_UPLIFT_MAX_LEVELS + 1);
        rc = TL_EINVAL;
    }
    if (!rc) qsort(lv, nl, sizeof *lv, cmp_level);
    for (uint32_t i = 1; !rc && i < nl; i++) {
        if (strlen(t->name[col]) + strlen(lv[i].v) + 2 > sizeof r->names[0]) {
            tl_errbuf_set(eb, "column \"%s\": the value \"%.40s\" is too long to name a feature",
                          t->name[col], lv[i].v);
            rc = TL_EINVAL;
        } else {
            rc = add_feature(r, f, t->name[col], col, lv[i].v, eb);
        }
    }
    free(v), free(lv);
    return rc;
}

/* The feature name names: a column (text expanded), or COL=LEVEL. */
static int resolve(const tl_table_t *t, const char *where, const char *name, size_t len,
                   const tl_uplift_table_opts_t *o, tl_uplift_rows_t *r, feat_t *f, tl_errbuf_t *eb) {
    char nm[64];
    if (len >= sizeof nm) {
        tl_errbuf_set(eb, "feature \"%.*s\": names are at most 63 bytes", (int)len, name);
        return TL_EINVAL;
    }
    memcpy(nm, name, len);
    nm[len] = 0;
    uint32_t col = tl_table_column(t, nm);
    if (col != TL_NONE) {
        if (o->guard) {
            char why[320];
            int rc = listed(o->allow, nm, len)
                         ? 0
                         : tl_feature_guard(t, col, o->outcome ? tl_table_column(t, o->outcome) : TL_NONE,
                                            "1", o->treatment ? tl_table_column(t, o->treatment) : TL_NONE,
                                            why, sizeof why);
            if (rc > 0) {
                tl_errbuf_set(eb, "%s: %s; leave it out (%s), or keep it with --allow %s", where,
                              why, o->features ? "drop it from --features"
                                               : "name the features with --features, an id column with --id",
                              nm);
                return TL_EINVAL;
            }
            if (rc) return rc;
        }
        return is_text(t, col) ? expand(t, col, r, f, eb) : add_feature(r, f, nm, col, NULL, eb);
    }
    char *eq = strchr(nm, '=');
    if (eq) {
        *eq = 0;
        if ((col = tl_table_column(t, nm)) != TL_NONE) return add_feature(r, f, nm, col, eq + 1, eb);
        *eq = '=';
    }
    tl_errbuf_set(eb, "%s: no column \"%s\"", where, nm);
    return TL_EINVAL;
}

void tl_uplift_rows_fini(tl_uplift_rows_t *r) {
    free(r->t), free(r->y), free(r->x);
    memset(r, 0, sizeof *r);
}

int tl_uplift_table_rows(const tl_table_t *t, const char *where, const tl_uplift_table_opts_t *o,
                         tl_uplift_rows_t *r, tl_errbuf_t *eb) {
    memset(r, 0, sizeof *r);
    uint32_t ct = o->treatment ? tl_table_column(t, o->treatment) : TL_NONE;
    uint32_t co = o->outcome ? tl_table_column(t, o->outcome) : TL_NONE;
    uint32_t ci = o->id ? tl_table_column(t, o->id) : TL_NONE;
    const char *missing = o->treatment && ct == TL_NONE ? o->treatment
                          : o->outcome && co == TL_NONE ? o->outcome
                          : o->id && ci == TL_NONE      ? o->id
                                                        : NULL;
    if (missing) {
        tl_errbuf_set(eb, "%s: no column \"%s\"", where, missing);
        return TL_EINVAL;
    }
    feat_t f[TL_UPLIFT_MAX_F];
    int rc = 0;
    if (o->features) {
        for (const char *q = o->features; !rc && *q;) {
            size_t len = strcspn(q, ",");
            if (len) rc = resolve(t, where, q, len, o, r, f, eb);
            q += len + (q[len] == ',');
        }
    } else {
        for (uint32_t c = 0; !rc && c < t->ncols; c++)
            if (c != ct && c != co && c != ci && t->name[c][0])
                rc = resolve(t, where, t->name[c], strlen(t->name[c]), o, r, f, eb);
    }
    if (rc) return rc;
    r->n = t->nrows;
    if (!(r->x = malloc(((size_t)r->n + 1) * (r->p + 1) * sizeof *r->x)) ||
        (ct != TL_NONE && !(r->t = malloc(r->n + 1))) || (co != TL_NONE && !(r->y = malloc(r->n + 1)))) {
        tl_uplift_rows_fini(r);
        return TL_ENOMEM;
    }
    for (uint32_t i = 0; i < r->n; i++) {
        for (int k = 0; k < 2; k++) {
            uint32_t c = k ? co : ct;
            if (c == TL_NONE) continue;
            const char *v = tl_table_cell(t, i, c);
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
                tl_errbuf_set(eb, "%s:%llu: treatment and outcome must be 0 or 1", where,
                              (unsigned long long)t->line[i]);
                tl_uplift_rows_fini(r);
                return TL_EBADINPUT;
            }
            (k ? r->y : r->t)[i] = v[0] == '1';
        }
        for (uint32_t k = 0; k < r->p; k++) {
            const char *v = tl_table_cell(t, i, f[k].col);
            double d;
            r->x[(size_t)i * r->p + k] = !*v                ? NAN
                                       : f[k].indicator     ? strcmp(v, f[k].level) == 0
                                       : is_number(v, &d)   ? d
                                                            : NAN;
        }
    }
    return 0;
}
