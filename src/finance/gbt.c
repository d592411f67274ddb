/* gbt.c -- gradient-boosted trees on a plain matrix, through xgboost's C
 * API: a binary logistic objective, histogram trees, the options of
 * tl_boost_opts_t, optional row weights, base margins (boosting from
 * another model's log-odds) and monotone constraints;
 * probabilities and per-feature contributions (TreeSHAP); the trees as
 * xgboost's own JSON text. What the challenger (boost.c) and the uplift
 * models by class transformation (experiment/uplift.c) train on. */
#include "finance/finance.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
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

/* A count xgboost writes as a string of digits ("5"), or -1. */
static long count_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char *end;
    if (!cJSON_IsString(v) || !*v->valuestring) return -1;
    long n = strtol(v->valuestring, &end, 10);
    return *end || n < 0 || n > 100000000 ? -1 : n;
}

/* Whether xgboost's JSON text is a whole model of binary trees on p
 * features, every node's arrays as long as its count and every index in
 * range: xgboost reads them as the counts say, past the end of a short
 * array (a damaged file must be refused, not read out of bounds). */
static int trees_whole(const char *text, uint32_t p) {
    static const char *const per_node[] = {"left_children", "right_children", "parents", "split_indices",
                                           "split_conditions", "default_left", "split_type",
                                           "base_weights", "loss_changes", "sum_hessian"};
    static const char *const categorical[] = {"categories", "categories_nodes", "categories_segments",
                                              "categories_sizes"};
    cJSON *j = cJSON_Parse(text);
    const cJSON *learner = cJSON_GetObjectItemCaseSensitive(j, "learner");
    const cJSON *gb = cJSON_GetObjectItemCaseSensitive(learner, "gradient_booster");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(gb, "model");
    const cJSON *trees = cJSON_GetObjectItemCaseSensitive(model, "trees");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(model, "tree_info");
    const cJSON *mp = cJSON_GetObjectItemCaseSensitive(model, "gbtree_model_param");
    int nt = cJSON_GetArraySize(trees);
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(learner, "learner_model_param");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(learner, "objective"), "name");
    const cJSON *gbn = cJSON_GetObjectItemCaseSensitive(gb, "name");
    int ok = cJSON_IsArray(trees) && cJSON_IsArray(info) && cJSON_GetArraySize(info) == nt &&
             count_of(mp, "num_trees") == nt && count_of(mp, "num_parallel_tree") == 1 &&
             count_of(mp, "size_leaf_vector") <= 0 && count_of(lp, "num_feature") == (long)p &&
             count_of(lp, "num_class") == 0 && count_of(lp, "num_target") == 1 && cJSON_IsString(obj) &&
             strcmp(obj->valuestring, "binary:logistic") == 0 && cJSON_IsString(gbn) &&
             strcmp(gbn->valuestring, "gbtree") == 0;
    const cJSON *tree, *v, *list = ok ? info : NULL;
    cJSON_ArrayForEach(v, list) ok = ok && cJSON_IsNumber(v) && v->valuedouble == 0;
    int id = 0;
    list = ok ? trees : NULL;
    cJSON_ArrayForEach(tree, list) {
        const cJSON *tp = cJSON_GetObjectItemCaseSensitive(tree, "tree_param");
        const cJSON *tid = cJSON_GetObjectItemCaseSensitive(tree, "id");
        long nodes = count_of(tp, "num_nodes");
        ok = ok && nodes >= 1 && count_of(tp, "num_feature") == (long)p && count_of(tp, "num_deleted") == 0 &&
             count_of(tp, "size_leaf_vector") == 0 && cJSON_IsNumber(tid) && tid->valuedouble == id++;
        for (size_t k = 0; ok && k < sizeof per_node / sizeof *per_node; k++) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(tree, per_node[k]);
            ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == nodes;
            const cJSON *items = ok ? a : NULL; /* numbers a float holds: xgboost keeps floats */
            cJSON_ArrayForEach(v, items) ok = ok && cJSON_IsNumber(v) && fabs(v->valuedouble) <= FLT_MAX;
        }
        for (size_t k = 0; ok && k < sizeof categorical / sizeof *categorical; k++) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(tree, categorical[k]);
            ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == 0;
        }
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(tree, "left_children");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(tree, "right_children");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(tree, "split_indices");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(tree, "split_type");
        const cJSON *pa = cJSON_GetObjectItemCaseSensitive(tree, "parents");
        const cJSON *dl = cJSON_GetObjectItemCaseSensitive(tree, "default_left");
        for (long n = 0; ok && n < nodes; n++) {
            double a = cJSON_GetArrayItem(l, (int)n)->valuedouble, b = cJSON_GetArrayItem(r, (int)n)->valuedouble;
            double f = cJSON_GetArrayItem(sp, (int)n)->valuedouble, up = cJSON_GetArrayItem(pa, (int)n)->valuedouble;
            double d = cJSON_GetArrayItem(dl, (int)n)->valuedouble;
            /* a leaf has no children; a split two, later than itself */
            ok = (a == -1 && b == -1) || (a > n && a < nodes && b > n && b < nodes && a == (long)a && b == (long)b);
            ok = ok && f >= 0 && f < p && f == (long)f && cJSON_GetArrayItem(st, (int)n)->valuedouble == 0;
            ok = ok && (d == 0 || d == 1);
            /* the root's parent is none (2^31 - 1); any other node's, a node that has it as a child */
            if (ok && n == 0) ok = up == 2147483647.0;
            else if (ok) ok = up >= 0 && up < n && up == (long)up &&
                              (cJSON_GetArrayItem(l, (int)up)->valuedouble == n ||
                               cJSON_GetArrayItem(r, (int)up)->valuedouble == n);
        }
    }
    cJSON_Delete(j);
    return ok;
}

int tl_gbt_parse(const char *text, uint32_t p, uint32_t threads, tl_gbt_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    tl_gbt_t *g = calloc(1, sizeof *g);
    if (!g) return TL_ENOMEM;
    g->p = p;
    bst_ulong nf = 0, len;
    const char *raw;
    int rc = 0, rounds = 0;
    if (!trees_whole(text, p)) {
        tl_errbuf_set(eb, "the trees are not a whole model of %u features", p);
        rc = TL_EBADINPUT;
    } else if (XGBoosterCreate(NULL, 0, &g->h) || XGBoosterLoadModelFromBuffer(g->h, text, strlen(text))) {
        rc = xgb_fail(eb, "the trees");
    } else if (XGBoosterGetNumFeature(g->h, &nf) || nf != p) {
        tl_errbuf_set(eb, "the trees have %llu features where %u were expected", (unsigned long long)nf, p);
        rc = TL_EBADINPUT;
    } else if (XGBoosterBoostedRounds(g->h, &rounds) || rounds < 1 ||
               XGBoosterSaveModelToBuffer(g->h, "{\"format\": \"json\"}", &len, &raw)) {
        /* what xgboost took but cannot write back (a count of trees lost, say) */
        tl_errbuf_set(eb, "the trees are not a whole model");
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
