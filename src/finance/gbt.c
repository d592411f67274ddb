/* gbt.c -- gradient-boosted trees on a plain matrix, through xgboost's C
 * API: a binary logistic objective, histogram trees, the options of
 * tl_boost_opts_t, optional row weights, base margins (boosting from
 * another model's log-odds) and monotone constraints;
 * probabilities and per-feature contributions (TreeSHAP); the trees as
 * xgboost's own JSON text. What the challenger (boost.c) and the uplift
 * models by class transformation (experiment/uplift.c) train on. */
#include "finance/finance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xgboost/c_api.h>

struct tl_gbt {
    BoosterHandle h;
    uint32_t p;
};

/* xgboost's last error, its first line (a stack trace follows). */
static int xgb_fail(tl_errbuf_t *eb, const char *what) {
    const char *e = XGBGetLastError();
    tl_errbuf_set(eb, "gradient boosting: %s: %.*s", what, (int)strcspn(e, "\n"), e);
    return TL_EINVAL;
}

static int set_param(BoosterHandle h, const char *name, double v, tl_errbuf_t *eb) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    return XGBoosterSetParam(h, name, buf) ? xgb_fail(eb, name) : 0;
}

/* threads, 0 every core. One by default: xgboost's threads wait for work
 * by spinning, which on a machine busy with other processes made a
 * cross-validation twenty times slower than one thread does. */
static int set_threads(BoosterHandle h, uint32_t threads, tl_errbuf_t *eb) {
    long n = threads ? (long)threads : sysconf(_SC_NPROCESSORS_ONLN);
    return set_param(h, "nthread", (double)(n > 0 ? n : 1), eb);
}

static int set_params(BoosterHandle h, uint32_t p, const tl_boost_opts_t *o, const int8_t *monotone,
                      tl_errbuf_t *eb) {
    char *mono = malloc((size_t)p * 3 + 3);
    if (!mono) return TL_ENOMEM;
    size_t len = 0;
    mono[len++] = '(';
    for (uint32_t k = 0; k < p; k++)
        len += (size_t)sprintf(mono + len, "%s%d", k ? "," : "", o->monotone && monotone ? monotone[k] : 0);
    mono[len++] = ')', mono[len] = 0;
    int rc = XGBoosterSetParam(h, "objective", "binary:logistic") || XGBoosterSetParam(h, "tree_method", "hist") ||
                     XGBoosterSetParam(h, "monotone_constraints", mono) || XGBoosterSetParam(h, "verbosity", "0")
                 ? xgb_fail(eb, "parameters")
                 : 0;
    free(mono);
    if (!rc) rc = set_param(h, "max_depth", o->depth, eb);
    if (!rc) rc = set_param(h, "eta", o->eta, eb);
    if (!rc) rc = set_param(h, "subsample", o->subsample, eb);
    if (!rc) rc = set_param(h, "colsample_bytree", o->colsample, eb);
    if (!rc) rc = set_param(h, "min_child_weight", o->min_child, eb);
    if (!rc) rc = set_param(h, "lambda", o->lambda, eb);
    if (!rc) rc = set_param(h, "seed", (double)o->seed, eb);
    if (!rc) rc = set_threads(h, o->threads, eb);
    return rc;
}

void tl_gbt_free(tl_gbt_t *g) {
    if (!g) return;
    if (g->h) XGBoosterFree(g->h);
    free(g);
}

uint32_t tl_gbt_nfeatures(const tl_gbt_t *g) { return g->p; }

int tl_gbt_fit(const float *x, uint32_t n, uint32_t p, const float *label, const float *weight, const float *margin,
               const tl_boost_opts_t *o, const int8_t *monotone, tl_gbt_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    tl_gbt_t *g = calloc(1, sizeof *g);
    DMatrixHandle d = NULL;
    if (!g) return TL_ENOMEM;
    g->p = p;
    int rc = 0;
    if (XGDMatrixCreateFromMat(x, n, p, NAN, &d) || XGDMatrixSetFloatInfo(d, "label", label, n) ||
        (weight && XGDMatrixSetFloatInfo(d, "weight", weight, n)) ||
        (margin && XGDMatrixSetFloatInfo(d, "base_margin", margin, n)))
        rc = xgb_fail(eb, "training matrix");
    if (!rc && XGBoosterCreate(&d, 1, &g->h)) rc = xgb_fail(eb, "booster");
    if (!rc) rc = set_params(g->h, p, o, monotone, eb);
    for (uint32_t it = 0; !rc && it < o->trees; it++)
        if (XGBoosterUpdateOneIter(g->h, (int)it, d)) rc = xgb_fail(eb, "training");
    if (d) XGDMatrixFree(d);
    if (rc) {
        tl_gbt_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

int tl_gbt_predict(const tl_gbt_t *g, const float *x, uint32_t n, double *prob, float **contrib, tl_errbuf_t *eb) {
    return tl_gbt_predict_rounds(g, x, n, NULL, 0, prob, contrib, eb);
}

int tl_gbt_predict_rounds(const tl_gbt_t *g, const float *x, uint32_t n, const float *margin, uint32_t rounds,
                          double *prob, float **contrib, tl_errbuf_t *eb) {
    DMatrixHandle d = NULL;
    bst_ulong len;
    const float *res;
    int rc = 0;
    if (contrib) *contrib = NULL;
    if (XGDMatrixCreateFromMat(x, n, g->p, NAN, &d)) return xgb_fail(eb, "matrix");
    if (margin && XGDMatrixSetFloatInfo(d, "base_margin", margin, n)) rc = xgb_fail(eb, "margin");
    if (!rc && (XGBoosterPredict(g->h, d, 0, rounds, 0, &len, &res) || len != n)) rc = xgb_fail(eb, "prediction");
    for (uint32_t i = 0; !rc && i < n; i++) prob[i] = res[i];
    if (!rc && contrib) {
        if (XGBoosterPredict(g->h, d, 4, rounds, 0, &len, &res) || len != (bst_ulong)n * (g->p + 1))
            rc = xgb_fail(eb, "contributions");
        else if (!(*contrib = malloc(len * sizeof **contrib)))
            rc = TL_ENOMEM;
        else
            memcpy(*contrib, res, len * sizeof **contrib);
    }
    XGDMatrixFree(d);
    return rc;
}

char *tl_gbt_text(const tl_gbt_t *g, tl_errbuf_t *eb) {
    bst_ulong len;
    const char *raw;
    if (XGBoosterSaveModelToBuffer(g->h, "{\"format\": \"json\"}", &len, &raw)) {
        xgb_fail(eb, "saving the trees");
        return NULL;
    }
    char *s = strndup(raw, len);
    if (!s) tl_errbuf_set(eb, "out of memory saving the trees");
    return s;
}

int tl_gbt_parse(const char *text, uint32_t p, uint32_t threads, tl_gbt_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    tl_gbt_t *g = calloc(1, sizeof *g);
    if (!g) return TL_ENOMEM;
    g->p = p;
    bst_ulong nf = 0;
    int rc = 0;
    if (XGBoosterCreate(NULL, 0, &g->h) || XGBoosterLoadModelFromBuffer(g->h, text, strlen(text)))
        rc = xgb_fail(eb, "the trees");
    else if (XGBoosterGetNumFeature(g->h, &nf) || nf != p) {
        tl_errbuf_set(eb, "the trees have %llu features where %u were expected", (unsigned long long)nf, p);
        rc = TL_EBADINPUT;
    }
    if (!rc) rc = set_threads(g->h, threads, eb);
    if (rc) {
        tl_gbt_free(g);
        return rc;
    }
    *out = g;
    return 0;
}
