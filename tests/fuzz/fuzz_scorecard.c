/* fuzz_scorecard.c -- feeds the input, as a scorecard file (JSON), to the
 * loader (src/finance/card.c: tl_scorecard_load), and a scorecard it
 * accepts to scoring: a small table with a column per feature (numbers,
 * missing values, the card's own categories, an unseen one) is scored row
 * by row, and the card is saved and loaded again.
 *
 * Checked beyond "no crash": a refusal says why; every row gets a band and
 * reason codes that name kept features; what the loader accepts it also
 * accepts after a save. */
#include "fuzz.h"
#include "finance/finance.h"

#define NROWS 8

/* Row r's value of a feature: numbers, missing, and categories. */
static const char *cell_value(const tl_score_feature_t *f, uint32_t r, char *buf, size_t cap) {
    static const char *const fixed[] = {"", "NA", "0", "1.5", "-3", "1e308", "zzz-unseen"};
    if (r < 7) return fixed[r];
    if (f->categorical && f->bin->ncat) {
        snprintf(buf, cap, "%s", f->cats[0]);
        return buf;
    }
    return "42";
}

static void score_rows(const tl_scorecard_t *sc) {
    uint32_t nf = tl_scorecard_nfeatures(sc), nc = nf + 1;
    tl_table_t t;
    memset(&t, 0, sizeof t);
    tl_buf_init(&t.text);
    t.ncols = nc, t.nrows = NROWS, t.read = NROWS;
    t.name = calloc(nc, sizeof *t.name);
    t.cell = calloc((size_t)nc * NROWS, sizeof *t.cell);
    FUZZ_CHECK(t.name && t.cell);
    FUZZ_CHECK((t.name[0] = strdup(tl_scorecard_target(sc))) != NULL);
    for (uint32_t j = 0; j < nf; j++) {
        tl_score_feature_t f;
        tl_scorecard_feature(sc, j, &f);
        FUZZ_CHECK((t.name[j + 1] = strdup(f.name)) != NULL);
    }
    for (uint32_t r = 0; r < NROWS; r++) {
        t.cell[(size_t)r * nc] = t.text.len;
        tl_buf_append(&t.text, r % 2 ? "1" : "0", 2);
        for (uint32_t j = 0; j < nf; j++) {
            tl_score_feature_t f;
            char buf[4096];
            tl_scorecard_feature(sc, j, &f);
            const char *v = cell_value(&f, r, buf, sizeof buf);
            t.cell[(size_t)r * nc + j + 1] = t.text.len;
            tl_buf_append(&t.text, v, strlen(v) + 1);
        }
    }
    tl_scorer_t *s;
    tl_errbuf_t eb = {{0}};
    FUZZ_CHECK(tl_scorer_new(sc, &t, &s, &eb) == 0); /* every feature has its column */
    for (uint32_t r = 0; r < NROWS; r++) {
        tl_score_t out;
        tl_scorer_row(s, r, &out);
        FUZZ_CHECK(out.band >= 0 && out.band < TL_NBANDS);
        for (int k = 0; k < TL_NREASONS; k++) {
            if (out.reasons[k] == TL_NONE) continue;
            FUZZ_CHECK(out.reasons[k] < nf);
            tl_score_feature_t f;
            tl_scorecard_feature(sc, out.reasons[k], &f);
            FUZZ_CHECK(f.kept);
        }
        (void)tl_scorer_bad(s, r);
    }
    tl_scorer_free(s);
    tl_table_fini(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_path(data, size);
    tl_scorecard_t *sc;
    tl_errbuf_t eb = {{0}};
    int rc = tl_scorecard_load(path, &sc, &eb);
    if (rc) {
        FUZZ_CHECK(sc == NULL && eb.msg[0] != 0);
        return 0;
    }
    score_rows(sc);
    char again[300];
    snprintf(again, sizeof again, "%s/card.json", fuzz_dir());
    FUZZ_CHECK(tl_scorecard_save(sc, again, &eb) == 0);
    tl_scorecard_t *sc2;
    rc = tl_scorecard_load(again, &sc2, &eb);
    if (rc) fprintf(stderr, "reload: %s\n", eb.msg);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(tl_scorecard_nfeatures(sc2) == tl_scorecard_nfeatures(sc));
    tl_scorecard_free(sc2);
    tl_scorecard_free(sc);
    return 0;
}
