/* boost.c -- the challenger: gradient-boosted trees (xgboost's C API) on
 * the scorecard's table and candidate columns, kept beside the scorecard
 * and compared with it, never in its place.
 *
 * Features: a numeric column as its value (a missing or unreadable cell
 * missing, which the trees route by themselves); a categorical column as
 * indicators of its most common categories (a category outside them: all
 * zero; a missing cell: missing). Where the champion scorecard bins a
 * numeric column it kept with a bad rate that only rises (or falls) with the
 * value, and the column's own bad rate binned freely moves the same way,
 * the trees are constrained to that direction, so the two models cannot
 * disagree on which way a feature pushes.
 *
 * A row's result is a tl_score_t on the scorecard's points scale (score =
 * offset + factor ln((1 - pd) / pd)), banded by the same cut-offs; its
 * reasons are the columns whose contributions to the log-odds (xgboost's
 * TreeSHAP, indicators of one column summed) push the risk up the most. */
#include "finance/finance.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CATS 64 /* indicators of a categorical column */
#define BOOST_FORMAT "tailor-challenger"

typedef struct {
    char *name;
    int categorical;
    int monotone;   /* +1: risk rises with the value, -1 falls, 0 free */
    uint32_t ncat;  /* categorical: indicators */
    char **cats;
    uint32_t first; /* its first feature of the trees */
} bcol_t;

struct tl_boost {
    char *target, *bad_value;
    uint32_t ncol, nx; /* columns, and features of the trees */
    bcol_t *col;
    tl_boost_opts_t o;
    double factor, offset, band_pd[TL_NBANDS - 1];
    double rows, bads, auc, ks;
    tl_boost_held_out_t held; /* folds 0: not measured */
    tl_gbt_t *g;
};

void tl_boost_opts_default(tl_boost_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->trees = 300, o->depth = 4, o->eta = 0.05;
    o->subsample = 0.8, o->colsample = 0.8, o->min_child = 1, o->lambda = 1;
    o->monotone = 1, o->threads = 1;
}

void tl_boost_free(tl_boost_t *b) {
    if (!b) return;
    for (uint32_t j = 0; b->col && j < b->ncol; j++) {
        for (uint32_t k = 0; b->col[j].cats && k < b->col[j].ncat; k++) free(b->col[j].cats[k]);
        free(b->col[j].cats), free(b->col[j].name);
    }
    free(b->col), free(b->target), free(b->bad_value);
    tl_gbt_free(b->g);
    free(b);
}

uint32_t tl_boost_ncolumns(const tl_boost_t *b) { return b->ncol; }
const char *tl_boost_column(const tl_boost_t *b, uint32_t j) { return j < b->ncol ? b->col[j].name : NULL; }
uint32_t tl_boost_nconstrained(const tl_boost_t *b) {
    uint32_t n = 0;
    for (uint32_t j = 0; j < b->ncol; j++) n += b->col[j].monotone != 0;
    return n;
}
void tl_boost_stats(const tl_boost_t *b, tl_scorecard_stats_t *out) {
    *out = (tl_scorecard_stats_t){b->rows, b->bads, b->auc, b->ks};
}
const tl_boost_opts_t *tl_boost_opts(const tl_boost_t *b) { return &b->o; }
void tl_boost_held_out(const tl_boost_t *b, tl_boost_held_out_t *out) { *out = b->held; }

cJSON *tl_boost_held_out_json(const tl_boost_t *b) {
    if (!b->held.folds) return NULL;
    cJSON *ho = cJSON_CreateObject();
    cJSON_AddNumberToObject(ho, "folds", b->held.folds);
    cJSON_AddNumberToObject(ho, "seed", (double)b->held.seed);
    cJSON_AddNumberToObject(ho, "scorecard_auc", b->held.card_auc);
    cJSON_AddNumberToObject(ho, "challenger_auc", b->held.boost_auc);
    return ho;
}

/* ---- columns and the matrix ---------------------------------------------------------- */

typedef struct {
    uint32_t code, count, first;
} catcount_t;

static int cmp_count(const void *a, const void *b) {
    const catcount_t *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

/* Column c's type over the rows used and, when categorical, its most
 * common categories (first seen first among equals). */
static int fit_column(const tl_table_t *t, uint32_t c, const tl_score_opts_t *so, const uint32_t *rows,
                      uint32_t n, bcol_t *col, tl_errbuf_t *eb) {
    const char *name = t->name[c];
    int numeric = !tl_name_listed(so->categorical, name);
    if (!(col->name = strdup(name))) return TL_ENOMEM;
    for (uint32_t i = 0; numeric && i < n; i++) {
        const char *v = tl_table_cell(t, rows[i], c);
        double x;
        if (tl_cell_missing(v) || !tl_parse_f64(v, strlen(v), &x)) continue;
        if (tl_name_listed(so->numeric, name)) {
            tl_errbuf_set(eb, "column %s, row %u: \"%s\" is not a number (it was given with --numeric)", name,
                          rows[i] + 1, v);
            return TL_EBADINPUT;
        }
        numeric = 0;
    }
    col->categorical = !numeric;
    if (numeric) return 0;
    tl_dict_t *d = tl_dict_new();
    catcount_t *cc = malloc((size_t)(n ? n : 1) * sizeof *cc);
    int rc = d && cc ? 0 : TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < n; i++) {
        const char *v = tl_table_cell(t, rows[i], c);
        uint32_t code;
        int added = 0;
        if (tl_cell_missing(v)) continue;
        if (tl_dict_intern(d, v, strlen(v), &code, &added)) rc = TL_ENOMEM;
        else if (added) cc[code] = (catcount_t){code, 1, i};
        else cc[code].count++;
    }
    uint32_t m = rc ? 0 : tl_dict_count(d);
    if (m) qsort(cc, m, sizeof *cc, cmp_count);
    col->ncat = m < MAX_CATS ? m : MAX_CATS;
    if (!rc && !(col->cats = calloc(col->ncat ? col->ncat : 1, sizeof *col->cats))) rc = TL_ENOMEM;
    for (uint32_t k = 0; !rc && k < col->ncat; k++) {
        size_t len;
        const char *s = tl_dict_str(d, cc[k].code, &len);
        if (!(col->cats[k] = strndup(s, len))) rc = TL_ENOMEM;
    }
    free(cc);
    tl_dict_free(d);
    return rc;
}

/* The direction the champion's bins give a numeric column it kept: its
 * WOE (higher: less risk) falling over the regular bins is risk rising. */
static int card_direction(const tl_scorecard_t *card, const char *name) {
    for (uint32_t j = 0; card && j < tl_scorecard_nfeatures(card); j++) {
        tl_score_feature_t f;
        tl_scorecard_feature(card, j, &f);
        if (strcmp(f.name, name) != 0 || !f.kept || f.categorical || f.bin->nregular < 2) continue;
        int up = 0, down = 0;
        for (uint32_t k = 0; k + 1 < f.bin->nregular; k++)
            up += f.bin->woe[k + 1] > f.bin->woe[k], down += f.bin->woe[k + 1] < f.bin->woe[k];
        return up && !down ? -1 : down && !up ? 1 : 0;
    }
    return 0;
}

/* The direction the column's own bad rate takes: binned with no trend
 * asked (at most 5 bins of 5 % of the rows or more), its WOE moving one
 * way over every bin: the scorecard's bins are monotonic whenever its trend
 * is automatic, a U-shaped risk (by age, say) included, so they alone
 * cannot tell. */
static int data_direction(const tl_table_t *t, uint32_t c, const uint32_t *rows, const uint8_t *bad, uint32_t n) {
    double *num = malloc((size_t)(n ? n : 1) * sizeof *num);
    if (!num) return 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *v = tl_table_cell(t, rows[i], c);
        if (tl_cell_missing(v) || tl_parse_f64(v, strlen(v), &num[i])) num[i] = NAN;
    }
    tl_column_t col = {0, num, NULL, 0};
    tl_bin_opts_t o;
    tl_bin_opts_default(&o);
    o.trend = TL_TREND_NONE, o.max_bins = 5, o.min_share = 0.05;
    tl_binning_t bin;
    int dir = 0;
    if (tl_bin_fit(&col, bad, n, &o, &bin) == 0) {
        int up = 0, down = 0;
        for (uint32_t k = 0; k + 1 < bin.nregular; k++)
            up += bin.woe[k + 1] > bin.woe[k], down += bin.woe[k + 1] < bin.woe[k];
        dir = up && !down ? -1 : down && !up ? 1 : 0;
        tl_binning_fini(&bin);
    }
    free(num);
    return dir;
}

/* Binds b's columns to t's by name (col[j]: t's column); a column t has not
 * is an error naming it. cats: a dictionary per categorical column. */
static int bind(const tl_boost_t *b, const tl_table_t *t, uint32_t *col, tl_dict_t **cats, tl_errbuf_t *eb) {
    for (uint32_t j = 0; j < b->ncol; j++) {
        const bcol_t *c = &b->col[j];
        if ((col[j] = tl_table_column(t, c->name)) == TL_NONE) {
            tl_errbuf_set(eb, "the challenger needs a column \"%s\"", c->name);
            return TL_EINVAL;
        }
        if (!c->categorical) continue;
        if (!(cats[j] = tl_dict_new())) return TL_ENOMEM;
        for (uint32_t k = 0, code; k < c->ncat; k++)
            if (tl_dict_intern(cats[j], c->cats[k], strlen(c->cats[k]), &code, NULL)) return TL_ENOMEM;
    }
    return 0;
}

/* The trees' features of rows (n of them; NULL: every row of t), row-major. */
static int matrix(const tl_boost_t *b, const tl_table_t *t, const uint32_t *rows, uint32_t n, float **out,
                  tl_errbuf_t *eb) {
    uint32_t *col = malloc((b->ncol ? b->ncol : 1) * sizeof *col);
    tl_dict_t **cats = calloc(b->ncol ? b->ncol : 1, sizeof *cats);
    float *x = malloc((size_t)(n ? n : 1) * (b->nx ? b->nx : 1) * sizeof *x);
    int rc = col && cats && x ? bind(b, t, col, cats, eb) : TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < n; i++) {
        uint32_t r = rows ? rows[i] : i;
        float *row = x + (size_t)i * b->nx;
        for (uint32_t j = 0; j < b->ncol; j++) {
            const bcol_t *c = &b->col[j];
            const char *v = tl_table_cell(t, r, col[j]);
            int missing = tl_cell_missing(v);
            if (!c->categorical) {
                double d = NAN;
                if (!missing && tl_parse_f64(v, strlen(v), &d)) d = NAN; /* unreadable: missing */
                row[c->first] = (float)d;
                continue;
            }
            uint32_t code = missing ? TL_NONE : tl_dict_find(cats[j], v, strlen(v));
            for (uint32_t k = 0; k < c->ncat; k++) row[c->first + k] = missing ? NAN : (float)(code == k);
        }
    }
    for (uint32_t j = 0; cats && j < b->ncol; j++) tl_dict_free(cats[j]);
    free(col), free(cats);
    if (rc) {
        free(x);
        return rc;
    }
    *out = x;
    return 0;
}

/* ---- training ------------------------------------------------------------------------ */

/* pd on the scorecard's scale and bands, reasons from the contributions. */
static void result(const tl_boost_t *b, double pd, const float *contrib, tl_score_t *out) {
    double p = fmin(fmax(pd, 1e-12), 1 - 1e-12);
    out->pd = pd;
    out->score = b->offset + b->factor * log((1 - p) / p);
    out->band = 0;
    while (out->band < TL_NBANDS - 1 && pd >= b->band_pd[out->band]) out->band++;
    double up[TL_NREASONS];
    for (int k = 0; k < TL_NREASONS; k++) out->reasons[k] = TL_NONE, up[k] = 0;
    for (uint32_t j = 0; contrib && j < b->ncol; j++) {
        const bcol_t *c = &b->col[j];
        double v = 0;
        for (uint32_t k = 0; k < (c->categorical ? c->ncat : 1); k++) v += contrib[c->first + k];
        for (int k = 0; k < TL_NREASONS; k++) { /* the columns raising the risk most, largest first */
            if (!(v > up[k])) continue;
            memmove(&up[k + 1], &up[k], (TL_NREASONS - 1 - k) * sizeof *up);
            memmove(&out->reasons[k + 1], &out->reasons[k], (TL_NREASONS - 1 - k) * sizeof *out->reasons);
            up[k] = v, out->reasons[k] = j;
            break;
        }
    }
}

int tl_boost_train_rows(const tl_table_t *t, const tl_score_opts_t *so, const tl_scorecard_t *card,
                        const tl_boost_opts_t *o, const uint8_t *use, tl_boost_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    tl_boost_t *b = calloc(1, sizeof *b);
    uint32_t *rows = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *rows);
    uint32_t *cols = malloc((size_t)(t->ncols ? t->ncols : 1) * sizeof *cols);
    float *label = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *label), *x = NULL;
    double *pd = NULL, *score = NULL;
    uint8_t *bad = malloc(t->nrows ? t->nrows : 1);
    uint32_t n = 0, ncand = 0;
    int rc = b && rows && cols && label && bad ? tl_score_outcomes(t, so, use, rows, bad, &n, eb) : TL_ENOMEM;
    if (!rc) {
        b->o = *o;
        b->factor = so->pdo / log(2.0);
        b->offset = so->base_points - b->factor * log(so->base_odds);
        memcpy(b->band_pd, so->band_pd, sizeof b->band_pd);
        if (!(b->target = strdup(so->target)) || !(b->bad_value = strdup(so->bad_value ? so->bad_value : "1")))
            rc = TL_ENOMEM;
    }
    for (uint32_t i = 0; !rc && i < n; i++) label[i] = bad[i], b->bads += bad[i];
    if (b) b->rows = n;
    if (!rc && (b->bads == 0 || b->bads == n)) {
        tl_errbuf_set(eb, "the target needs both good and bad rows");
        rc = TL_EINVAL;
    }
    if (!rc) rc = tl_score_candidates(t, so, cols, &ncand, eb);
    if (!rc && !ncand) {
        tl_errbuf_set(eb, "no column to learn from besides the target");
        rc = TL_EINVAL;
    }
    if (!rc && !(b->col = calloc(ncand, sizeof *b->col))) rc = TL_ENOMEM;
    for (uint32_t q = 0; !rc && q < ncand; q++) {
        bcol_t *c = &b->col[b->ncol++];
        rc = fit_column(t, cols[q], so, rows, n, c, eb);
        c->first = b->nx;
        b->nx += c->categorical ? c->ncat : 1;
        if (!rc && !c->categorical && (c->monotone = card_direction(card, c->name)) != 0 &&
            data_direction(t, cols[q], rows, bad, n) != c->monotone)
            c->monotone = 0; /* the scorecard's trend, but not the data's */
    }
    if (!rc && !b->nx) {
        tl_errbuf_set(eb, "no column to learn from: the categorical ones have no values");
        rc = TL_EINVAL;
    }
    int8_t *mono = rc ? NULL : calloc(b->nx ? b->nx : 1, 1);
    if (!rc && !mono) rc = TL_ENOMEM;
    for (uint32_t j = 0; !rc && j < b->ncol; j++)
        if (!b->col[j].categorical) mono[b->col[j].first] = (int8_t)b->col[j].monotone;
    if (!rc) rc = matrix(b, t, rows, n, &x, eb);
    if (!rc) rc = tl_gbt_fit(x, n, b->nx, label, NULL, NULL, o, mono, &b->g, eb);
    free(mono);
    /* the training rows' AUC and KS, as the scorecard keeps its own */
    pd = rc ? NULL : malloc((size_t)(n ? n : 1) * sizeof *pd);
    score = rc ? NULL : malloc((size_t)(n ? n : 1) * sizeof *score);
    if (!rc && (!pd || !score)) rc = TL_ENOMEM;
    if (!rc) rc = tl_gbt_predict(b->g, x, n, pd, NULL, eb);
    for (uint32_t i = 0; !rc && i < n; i++) score[i] = -pd[i];
    if (!rc) b->auc = tl_auc(score, bad, n), b->ks = tl_ks(score, bad, n);
    free(rows), free(cols), free(label), free(x), free(pd), free(score), free(bad);
    if (rc) {
        tl_boost_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

int tl_boost_train(const tl_table_t *t, const tl_score_opts_t *so, const tl_scorecard_t *card,
                   const tl_boost_opts_t *o, tl_boost_t **out, tl_errbuf_t *eb) {
    return tl_boost_train_rows(t, so, card, o, NULL, out, eb);
}

/* ---- applying --------------------------------------------------------------------------- */

int tl_boost_score(const tl_boost_t *b, const tl_table_t *t, int reasons, tl_score_t *res, int8_t *bad,
                   tl_errbuf_t *eb) {
    float *x = NULL, *contrib = NULL;
    double *pd = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *pd);
    int rc = pd ? matrix(b, t, NULL, t->nrows, &x, eb) : TL_ENOMEM;
    if (!rc) rc = tl_gbt_predict(b->g, x, t->nrows, pd, reasons ? &contrib : NULL, eb);
    uint32_t tc = tl_table_column(t, b->target);
    for (uint32_t r = 0; !rc && r < t->nrows; r++) {
        result(b, pd[r], contrib ? contrib + (size_t)r * (b->nx + 1) : NULL, &res[r]);
        if (!bad) continue;
        const char *v = tc == TL_NONE ? "" : tl_table_cell(t, r, tc);
        bad[r] = tl_cell_missing(v) ? -1 : strcmp(v, b->bad_value) == 0;
    }
    free(x), free(contrib), free(pd);
    return rc;
}

int tl_boost_validate(const tl_boost_t *b, const tl_table_t *t, tl_score_validation_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    if (tl_table_column(t, b->target) == TL_NONE) {
        tl_errbuf_set(eb, "validation needs the target column \"%s\"", b->target);
        return TL_EINVAL;
    }
    tl_score_t *res = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *res);
    int8_t *bad = malloc(t->nrows ? t->nrows : 1);
    int rc = res && bad ? tl_boost_score(b, t, 0, res, bad, eb) : TL_ENOMEM;
    if (!rc) rc = tl_score_validation(res, bad, t->nrows, out);
    free(res), free(bad);
    return rc;
}

int tl_boost_psi(const tl_boost_t *b, const tl_table_t *base, const tl_table_t *cur, double *psi, tl_errbuf_t *eb) {
    const tl_table_t *tab[2] = {base, cur};
    tl_score_t *res[2] = {NULL, NULL};
    double *score[2] = {NULL, NULL};
    int rc = 0;
    for (int w = 0; !rc && w < 2; w++) {
        size_t n = tab[w]->nrows ? tab[w]->nrows : 1;
        res[w] = malloc(n * sizeof *res[w]);
        score[w] = malloc(n * sizeof *score[w]);
        rc = res[w] && score[w] ? tl_boost_score(b, tab[w], 0, res[w], NULL, eb) : TL_ENOMEM;
        for (uint32_t r = 0; !rc && r < tab[w]->nrows; r++) score[w][r] = res[w][r].score;
    }
    if (!rc) *psi = tl_psi(score[0], base->nrows, score[1], cur->nrows, 10);
    for (int w = 0; w < 2; w++) free(res[w]), free(score[w]);
    return rc;
}

/* ---- cross-validation ---------------------------------------------------------------- */

/* ---- tuning ---------------------------------------------------------------------------- */

static const uint32_t TUNE_DEPTH[] = {2, 3, 4, 6};
static const uint32_t TUNE_ROUNDS[] = {100, 200, 300, 500};
#define TUNE_ETA 0.05
#define NDEPTH (sizeof TUNE_DEPTH / sizeof *TUNE_DEPTH)
#define NROUNDS (sizeof TUNE_ROUNDS / sizeof *TUNE_ROUNDS)

int tl_boost_tune(const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *base, const uint8_t *use,
                  uint32_t folds, uint64_t seed, tl_boost_opts_t *chosen, double *auc, tl_errbuf_t *eb) {
    size_t n = t->nrows ? t->nrows : 1;
    int32_t *fo = malloc(n * sizeof *fo);
    uint8_t *fit = malloc(n), *held = malloc(n), *y = malloc(n);
    uint32_t *rows = malloc(n * sizeof *rows);
    double *pd = malloc(n * sizeof *pd), sum[NDEPTH][NROUNDS] = {{0}};
    int rc = fo && fit && held && y && rows && pd ? tl_score_folds(t, so, folds, seed ^ 0x7475, fo) : TL_ENOMEM;
    for (uint32_t k = 0; !rc && k < folds; k++) {
        for (uint32_t r = 0; r < t->nrows; r++) {
            int mine = fo[r] >= 0 && (!use || use[r]);
            fit[r] = mine && fo[r] != (int32_t)k, held[r] = mine && fo[r] == (int32_t)k;
        }
        tl_scorecard_t *sc = NULL;
        uint32_t nv = 0;
        rc = tl_score_outcomes(t, so, held, rows, y, &nv, eb);
        if (!rc) rc = tl_scorecard_train_rows(t, so, fit, &sc, eb);
        for (size_t d = 0; !rc && d < NDEPTH; d++) {
            tl_boost_opts_t o = *base;
            o.depth = TUNE_DEPTH[d], o.trees = TUNE_ROUNDS[NROUNDS - 1], o.eta = TUNE_ETA;
            tl_boost_t *b = NULL;
            float *x = NULL;
            rc = tl_boost_train_rows(t, so, sc, &o, fit, &b, eb);
            if (!rc) rc = matrix(b, t, rows, nv, &x, eb);
            for (size_t q = 0; !rc && q < NROUNDS; q++) {
                rc = tl_gbt_predict_rounds(b->g, x, nv, NULL, TUNE_ROUNDS[q], pd, NULL, eb);
                for (uint32_t i = 0; !rc && i < nv; i++) pd[i] = -pd[i]; /* a score: higher is safer */
                if (!rc) sum[d][q] += tl_auc(pd, y, nv) / folds;
            }
            free(x);
            tl_boost_free(b);
        }
        tl_scorecard_free(sc);
    }
    size_t bd = 0, bq = 0;
    for (size_t d = 0; d < NDEPTH; d++)
        for (size_t q = 0; q < NROUNDS; q++)
            if (sum[d][q] > sum[bd][bq]) bd = d, bq = q;
    *chosen = *base;
    chosen->depth = TUNE_DEPTH[bd], chosen->trees = TUNE_ROUNDS[bq], chosen->eta = TUNE_ETA;
    if (auc) *auc = sum[bd][bq];
    free(fo), free(fit), free(held), free(y), free(rows), free(pd);
    return rc;
}

static int cv(const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *o, uint32_t folds,
              uint64_t seed, double *card_auc, double *boost_auc, tl_boost_opts_t *chosen, tl_errbuf_t *eb);

int tl_boost_cv_tuned(const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *o, uint32_t folds,
                      uint64_t seed, double *card_auc, double *boost_auc, tl_boost_opts_t *chosen, tl_errbuf_t *eb) {
    return cv(t, so, o, folds, seed, card_auc, boost_auc, chosen, eb);
}

int tl_boost_cv(const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *o, uint32_t folds,
                uint64_t seed, double *card_auc, double *boost_auc, tl_errbuf_t *eb) {
    return cv(t, so, o, folds, seed, card_auc, boost_auc, NULL, eb);
}

/* Cross-validation, the trees tuned on each fold's training rows when
 * chosen is given. */
static int cv(const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *o, uint32_t folds,
              uint64_t seed, double *card_auc, double *boost_auc, tl_boost_opts_t *chosen, tl_errbuf_t *eb) {
    if (folds < 2 || (so->target ? tl_table_column(t, so->target) : TL_NONE) == TL_NONE) {
        tl_errbuf_set(eb, folds < 2 ? "give 2 folds or more" : "no target column \"%s\"",
                      so->target ? so->target : "");
        return TL_EINVAL;
    }
    size_t n = t->nrows ? t->nrows : 1;
    int32_t *fo = malloc(n * sizeof *fo);
    uint8_t *use = malloc(n), *bad = malloc(n);
    double *s[2] = {malloc(n * sizeof(double)), malloc(n * sizeof(double))};
    tl_score_t *res = malloc(n * sizeof *res);
    int8_t *b8 = malloc(n);
    int rc = fo && use && bad && s[0] && s[1] && res && b8 ? tl_score_folds(t, so, folds, seed, fo) : TL_ENOMEM;
    for (uint32_t k = 0; !rc && k < folds; k++) {
        for (uint32_t r = 0; r < t->nrows; r++) use[r] = fo[r] >= 0 && fo[r] != (int32_t)k;
        tl_scorecard_t *sc = NULL;
        tl_scorer_t *scr = NULL;
        tl_boost_t *b = NULL;
        tl_boost_opts_t fo_o = *o;
        rc = tl_scorecard_train_rows(t, so, use, &sc, eb);
        if (!rc && chosen) rc = tl_boost_tune(t, so, o, use, 3, seed + k, &chosen[k], NULL, eb);
        if (chosen) fo_o = chosen[k];
        if (!rc) rc = tl_boost_train_rows(t, so, sc, &fo_o, use, &b, eb);
        if (!rc) rc = tl_scorer_new(sc, t, &scr, eb);
        if (!rc) rc = tl_boost_score(b, t, 0, res, b8, eb);
        uint32_t m = 0;
        for (uint32_t r = 0; !rc && r < t->nrows; r++) {
            if (fo[r] != (int32_t)k) continue;
            tl_score_t one;
            tl_scorer_row(scr, r, &one);
            s[0][m] = one.score, s[1][m] = res[r].score, bad[m++] = b8[r] == 1;
        }
        if (!rc) card_auc[k] = tl_auc(s[0], bad, m), boost_auc[k] = tl_auc(s[1], bad, m);
        tl_scorer_free(scr);
        tl_scorecard_free(sc);
        tl_boost_free(b);
    }
    free(fo), free(use), free(bad), free(s[0]), free(s[1]), free(res), free(b8);
    return rc;
}

int tl_boost_hold_out(tl_boost_t *b, const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *base,
                      int tune, uint32_t folds, tl_errbuf_t *eb) {
    if (folds < 2 || folds > TL_BOOST_MAX_FOLDS) {
        tl_errbuf_set(eb, "give from 2 to %d folds", TL_BOOST_MAX_FOLDS);
        return TL_EINVAL;
    }
    double card[TL_BOOST_MAX_FOLDS], boost[TL_BOOST_MAX_FOLDS];
    tl_boost_opts_t o = tune ? *base : b->o, *chosen = tune ? malloc(folds * sizeof *chosen) : NULL;
    o.seed = b->o.seed, o.threads = b->o.threads;
    int rc = tune && !chosen ? TL_ENOMEM : cv(t, so, &o, folds, b->o.seed, card, boost, chosen, eb);
    free(chosen);
    if (rc) return rc;
    b->held = (tl_boost_held_out_t){folds, b->o.seed, 0, 0};
    for (uint32_t k = 0; k < folds; k++) b->held.card_auc += card[k] / folds, b->held.boost_auc += boost[k] / folds;
    return 0;
}

/* ---- files --------------------------------------------------------------------------- */

/* The challenger as JSON text (free it); NULL with eb set on failure. */
static char *boost_text(const tl_boost_t *b, tl_errbuf_t *eb) {
    /* xgboost's JSON as a string: it tells integers from reals, which a
     * parse and print again would not keep */
    char *raw = tl_gbt_text(b->g, eb);
    cJSON *trees = raw ? cJSON_CreateString(raw) : NULL, *j = cJSON_CreateObject();
    free(raw);
    if (!trees || !j) {
        cJSON_Delete(trees), cJSON_Delete(j);
        if (raw) tl_errbuf_set(eb, "out of memory writing the challenger");
        return NULL;
    }
    cJSON_AddStringToObject(j, "format", BOOST_FORMAT);
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "target", b->target);
    cJSON_AddStringToObject(j, "bad_value", b->bad_value);
    cJSON *sc = cJSON_AddObjectToObject(j, "scale");
    cJSON_AddNumberToObject(sc, "factor", b->factor);
    cJSON_AddNumberToObject(sc, "offset", b->offset);
    cJSON_AddItemToObject(sc, "band_pd", cJSON_CreateDoubleArray(b->band_pd, TL_NBANDS - 1));
    cJSON *p = cJSON_AddObjectToObject(j, "params");
    cJSON_AddNumberToObject(p, "trees", b->o.trees);
    cJSON_AddNumberToObject(p, "depth", b->o.depth);
    cJSON_AddNumberToObject(p, "eta", b->o.eta);
    cJSON_AddNumberToObject(p, "subsample", b->o.subsample);
    cJSON_AddNumberToObject(p, "colsample", b->o.colsample);
    cJSON_AddNumberToObject(p, "min_child", b->o.min_child);
    cJSON_AddNumberToObject(p, "lambda", b->o.lambda);
    cJSON_AddBoolToObject(p, "monotone", b->o.monotone);
    cJSON_AddNumberToObject(p, "seed", (double)b->o.seed);
    cJSON *tr = cJSON_AddObjectToObject(j, "training");
    cJSON_AddNumberToObject(tr, "rows", b->rows);
    cJSON_AddNumberToObject(tr, "bads", b->bads);
    cJSON_AddNumberToObject(tr, "auc", b->auc);
    cJSON_AddNumberToObject(tr, "ks", b->ks);
    cJSON *ho = tl_boost_held_out_json(b);
    if (ho) cJSON_AddItemToObject(j, "held_out", ho);
    cJSON *cs = cJSON_AddArrayToObject(j, "columns");
    for (uint32_t q = 0; q < b->ncol; q++) {
        const bcol_t *c = &b->col[q];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", c->name);
        cJSON_AddStringToObject(o, "type", c->categorical ? "categorical" : "numeric");
        if (c->categorical)
            cJSON_AddItemToObject(o, "categories", cJSON_CreateStringArray((const char *const *)c->cats, (int)c->ncat));
        else
            cJSON_AddNumberToObject(o, "monotone", c->monotone);
        cJSON_AddItemToArray(cs, o);
    }
    cJSON_AddItemToObject(j, "trees", trees);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) tl_errbuf_set(eb, "out of memory writing the challenger");
    return text;
}

static double num_at(const cJSON *o, const char *key, int *ok) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) *ok = 0;
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A whole number from 0 to most, else 0 with *ok cleared. */
static double whole_at(const cJSON *o, const char *key, double most, int *ok) {
    double v = num_at(o, key, ok);
    if (!(v >= 0 && v <= most && v == floor(v))) *ok = 0, v = 0;
    return v;
}

static char *str_at(const cJSON *o, const char *key, int *ok) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
    if (!s) *ok = 0;
    return s;
}

static int boost_parse(const char *text, size_t len, const char *where, tl_boost_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    if (!j || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, BOOST_FORMAT) != 0) {
        cJSON_Delete(j);
        tl_errbuf_set(eb, "%s: not a challenger model (format \"%s\")", where, BOOST_FORMAT);
        return TL_EBADINPUT;
    }
    tl_boost_t *b = calloc(1, sizeof *b);
    int ok = b != NULL;
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(j, "scale"), *p = cJSON_GetObjectItemCaseSensitive(j, "params"),
                *tr = cJSON_GetObjectItemCaseSensitive(j, "training"),
                *cs = cJSON_GetObjectItemCaseSensitive(j, "columns"),
                *trees = cJSON_GetObjectItemCaseSensitive(j, "trees");
    if (ok) {
        b->target = str_at(j, "target", &ok), b->bad_value = str_at(j, "bad_value", &ok);
        b->factor = num_at(sc, "factor", &ok), b->offset = num_at(sc, "offset", &ok);
        const cJSON *bp = cJSON_GetObjectItemCaseSensitive(sc, "band_pd");
        ok = ok && cJSON_GetArraySize(bp) == TL_NBANDS - 1;
        for (int k = 0; ok && k < TL_NBANDS - 1; k++) {
            const cJSON *v = cJSON_GetArrayItem(bp, k);
            ok = cJSON_IsNumber(v);
            if (ok) b->band_pd[k] = v->valuedouble;
        }
        b->o.trees = (uint32_t)whole_at(p, "trees", 1e6, &ok), b->o.depth = (uint32_t)whole_at(p, "depth", 1e3, &ok);
        b->o.eta = num_at(p, "eta", &ok), b->o.subsample = num_at(p, "subsample", &ok);
        b->o.colsample = num_at(p, "colsample", &ok), b->o.min_child = num_at(p, "min_child", &ok);
        b->o.lambda = num_at(p, "lambda", &ok), b->o.seed = (uint64_t)whole_at(p, "seed", 1e15, &ok);
        b->o.monotone = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "monotone"));
        b->o.threads = 1;
        b->rows = num_at(tr, "rows", &ok), b->bads = num_at(tr, "bads", &ok);
        b->auc = num_at(tr, "auc", &ok), b->ks = num_at(tr, "ks", &ok);
        const cJSON *ho = cJSON_GetObjectItemCaseSensitive(j, "held_out");
        if (ok && ho) { /* optional: measured when asked for */
            tl_boost_held_out_t *h = &b->held;
            h->folds = (uint32_t)whole_at(ho, "folds", TL_BOOST_MAX_FOLDS, &ok);
            h->seed = (uint64_t)whole_at(ho, "seed", 1e15, &ok);
            h->card_auc = num_at(ho, "scorecard_auc", &ok), h->boost_auc = num_at(ho, "challenger_auc", &ok);
            ok = ok && h->folds >= 2 && h->card_auc >= 0 && h->card_auc <= 1 && h->boost_auc >= 0 &&
                 h->boost_auc <= 1;
        }
    }
    int ncol = cJSON_GetArraySize(cs);
    ok = ok && cJSON_IsArray(cs) && ncol > 0 && cJSON_IsString(trees) && (b->col = calloc((size_t)ncol, sizeof *b->col));
    for (int q = 0; ok && q < ncol; q++) {
        const cJSON *o = cJSON_GetArrayItem(cs, q), *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        bcol_t *c = &b->col[b->ncol++];
        c->name = str_at(o, "name", &ok);
        c->categorical = cJSON_IsString(type) && strcmp(type->valuestring, "categorical") == 0;
        c->first = b->nx;
        if (!c->categorical) {
            double mono = num_at(o, "monotone", &ok);
            ok = ok && (mono == -1 || mono == 0 || mono == 1);
            c->monotone = ok ? (int)mono : 0;
            b->nx++;
            continue;
        }
        const cJSON *cats = cJSON_GetObjectItemCaseSensitive(o, "categories");
        int m = cJSON_GetArraySize(cats);
        ok = ok && cJSON_IsArray(cats) && m <= MAX_CATS && (c->cats = calloc(m ? (size_t)m : 1, sizeof *c->cats));
        for (int k = 0; ok && k < m; k++) {
            const cJSON *v = cJSON_GetArrayItem(cats, k);
            ok = cJSON_IsString(v) && (c->cats[c->ncat++] = strdup(v->valuestring)) != NULL;
        }
        b->nx += c->ncat;
    }
    int rc = ok ? tl_gbt_parse(trees->valuestring, b->nx, 1, &b->g, eb) : TL_EBADINPUT;
    if (rc) {
        char why[sizeof eb->msg];
        memcpy(why, ok ? eb->msg : "its fields", ok ? sizeof why : sizeof "its fields");
        why[sizeof why - 1] = 0;
        tl_errbuf_set(eb, "%s: a damaged challenger model (%.200s)", where, why);
        tl_boost_free(b);
        cJSON_Delete(j);
        return rc == TL_ENOMEM ? rc : TL_EBADINPUT;
    }
    cJSON_Delete(j);
    *out = b;
    return 0;
}

int tl_boost_save(const tl_boost_t *b, const char *path, tl_errbuf_t *eb) {
    char *text = boost_text(b, eb);
    if (!text) return TL_ENOMEM;
    int rc = tl_write_file(path, text, strlen(text));
    if (rc) tl_errbuf_set(eb, "%s: cannot write the challenger: %s", path, tl_strerror(rc));
    cJSON_free(text);
    return rc;
}

int tl_boost_load(const char *path, tl_boost_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    char *text;
    size_t len;
    int rc = tl_read_file(path, &text, &len);
    if (rc == TL_ENOENT) tl_errbuf_set(eb, "%s: no such challenger; train one with `tailor score train --challenger`", path);
    if (rc) return rc;
    rc = boost_parse(text, len, path, out, eb);
    free(text);
    return rc;
}

/* The store's blob of the challenger of scorecard name. */
static int blob_of(const char *name, char *blob, size_t cap, tl_errbuf_t *eb) {
    char full[200];
    snprintf(full, sizeof full, "%s-challenger", name);
    if (tl_store_blob_name(TL_BLOB_SCORECARD, full, blob, cap)) {
        tl_errbuf_set(eb, "\"%s\" cannot name a scorecard (letters, digits, '_', '-', '.')", name);
        return TL_EINVAL;
    }
    return 0;
}

int tl_boost_put(tl_store_t *st, const char *name, const tl_boost_t *b, tl_errbuf_t *eb) {
    char blob[256];
    int rc = blob_of(name, blob, sizeof blob, eb);
    char *text = rc ? NULL : boost_text(b, eb);
    if (!rc && !text) rc = TL_ENOMEM;
    tl_blobw_t *w;
    if (!rc) rc = tl_store_blob_create(st, blob, &w, eb);
    if (!rc) {
        if ((rc = tl_blobw_write(w, text, strlen(text), eb))) tl_blobw_abandon(w);
        else rc = tl_blobw_close(w, eb);
    }
    cJSON_free(text);
    return rc;
}

int tl_boost_get(tl_store_t *st, const char *name, tl_boost_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    char blob[256];
    int rc = blob_of(name, blob, sizeof blob, eb);
    tl_blob_view_t v;
    if (!rc) rc = tl_store_blob_map(st, blob, &v, eb);
    if (rc == TL_ENOENT)
        tl_errbuf_set(eb, "%s: no challenger of \"%s\" here; train one with `tailor %s train --challenger`",
                      tl_store_dir(st), name, strcmp(name, "propensity") == 0 ? "propensity" : "score");
    if (rc) return rc;
    rc = boost_parse(v.data, v.len, blob, out, eb);
    tl_store_blob_unmap(&v);
    return rc;
}

/* ---- champion and challenger ---------------------------------------------------------- */

int tl_score_compare(const tl_scorecard_t *sc, const tl_boost_t *b, const tl_table_t *t, const tl_table_t *base,
                     tl_score_compare_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    out->card_psi = out->boost_psi = NAN;
    size_t n = t->nrows ? t->nrows : 1;
    tl_score_t *res = malloc(n * sizeof *res);
    int8_t *bad = malloc(n);
    double *fpsi = malloc((tl_scorecard_nfeatures(sc) + 1) * sizeof *fpsi);
    tl_scorer_t *s = NULL;
    int rc = res && bad && fpsi ? 0 : TL_ENOMEM;
    if (!rc) rc = tl_scorecard_validate(sc, t, &out->card, eb);
    if (!rc) rc = tl_boost_score(b, t, 0, res, bad, eb);
    if (!rc) rc = tl_score_validation(res, bad, t->nrows, &out->boost);
    if (!rc) rc = tl_scorer_new(sc, t, &s, eb);
    uint32_t same = 0;
    for (uint32_t r = 0; !rc && r < t->nrows; r++) {
        tl_score_t one;
        tl_scorer_row(s, r, &one);
        same += one.band == res[r].band;
    }
    out->agree = t->nrows ? (double)same / t->nrows : NAN;
    if (!rc && base) rc = tl_scorecard_psi(sc, base, t, &out->card_psi, fpsi, eb);
    if (!rc && base) rc = tl_boost_psi(b, base, t, &out->boost_psi, eb);
    tl_scorer_free(s);
    free(res), free(bad), free(fpsi);
    return rc;
}
