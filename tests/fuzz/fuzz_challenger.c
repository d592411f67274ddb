/* fuzz_challenger.c -- feeds the input, as a challenger file (JSON with
 * xgboost's trees as a string), to the loader (src/finance/boost.c:
 * tl_boost_load), and a challenger it accepts to scoring: a small table
 * with a column per input column (numbers, missing values, the column's own
 * categories, an unseen one) is scored with reasons, and the challenger is
 * saved and loaded again.
 *
 * Checked beyond "no crash": a refusal says why; every row gets a PD in
 * [0, 1], a band, reasons that name its columns; what the loader accepts it
 * also accepts after a save, scoring the same. */
#include "fuzz.h"
#include "finance/finance.h"

#include <math.h>

#define NROWS 8

static const char *cell_value(uint32_t r) {
    static const char *const fixed[] = {"", "NA", "0", "1.5", "-3", "1e308", "zzz-unseen", "42"};
    return fixed[r % 8];
}

static void table_for(const tl_boost_t *b, tl_table_t *t) {
    uint32_t nc = tl_boost_ncolumns(b);
    memset(t, 0, sizeof *t);
    tl_buf_init(&t->text);
    t->ncols = nc, t->nrows = NROWS, t->read = NROWS;
    t->name = calloc(nc ? nc : 1, sizeof *t->name);
    t->cell = calloc((size_t)(nc ? nc : 1) * NROWS, sizeof *t->cell);
    FUZZ_CHECK(t->name && t->cell);
    for (uint32_t j = 0; j < nc; j++) FUZZ_CHECK((t->name[j] = strdup(tl_boost_column(b, j))) != NULL);
    for (uint32_t r = 0; r < NROWS; r++)
        for (uint32_t j = 0; j < nc; j++) {
            const char *v = cell_value(r + j);
            t->cell[(size_t)r * nc + j] = t->text.len;
            tl_buf_append(&t->text, v, strlen(v) + 1);
        }
}

/* Scores the table: every figure in range; the results into res. */
static void score_rows(const tl_boost_t *b, const tl_table_t *t, tl_score_t *res) {
    tl_errbuf_t eb = {{0}};
    int rc = tl_boost_score(b, t, 1, res, NULL, &eb);
    if (rc) { /* only a column name given twice may fail to bind */
        FUZZ_CHECK(eb.msg[0] != 0);
        memset(res, 0, NROWS * sizeof *res);
        return;
    }
    for (uint32_t r = 0; r < NROWS; r++) {
        FUZZ_CHECK(res[r].pd >= 0 && res[r].pd <= 1);
        FUZZ_CHECK(res[r].band >= 0 && res[r].band < TL_NBANDS);
        for (int k = 0; k < TL_NREASONS; k++)
            FUZZ_CHECK(res[r].reasons[k] == TL_NONE || res[r].reasons[k] < tl_boost_ncolumns(b));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_path(data, size);
    tl_boost_t *b;
    tl_errbuf_t eb = {{0}};
    int rc = tl_boost_load(path, &b, &eb);
    if (rc) {
        FUZZ_CHECK(b == NULL && eb.msg[0] != 0);
        return 0;
    }
    tl_table_t t;
    tl_score_t res[NROWS], res2[NROWS];
    table_for(b, &t);
    score_rows(b, &t, res);
    char again[300];
    snprintf(again, sizeof again, "%s/challenger.json", fuzz_dir());
    FUZZ_CHECK(tl_boost_save(b, again, &eb) == 0);
    tl_boost_t *b2;
    rc = tl_boost_load(again, &b2, &eb);
    if (rc) fprintf(stderr, "reload: %s\n", eb.msg);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(tl_boost_ncolumns(b2) == tl_boost_ncolumns(b));
    score_rows(b2, &t, res2);
    for (uint32_t r = 0; r < NROWS; r++) FUZZ_CHECK(res[r].pd == res2[r].pd || (isnan(res[r].pd) && isnan(res2[r].pd)));
    tl_boost_free(b2);
    tl_boost_free(b);
    tl_table_fini(&t);
    return 0;
}
