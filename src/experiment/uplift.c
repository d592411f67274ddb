/* uplift.c -- uplift models (two-model and class transformation) over an
 * experiment's rows, and the Qini curve that judges them. */
#include "experiment.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finance/finance.h"

static double logistic(const double *beta, const double *z, uint32_t p) {
    double e = beta[0];
    for (uint32_t k = 0; k < p; k++) e += beta[k + 1] * z[k];
    return 1 / (1 + exp(-e));
}

/* The standardised row: missing values at the mean (0). */
static void standardise(const tl_uplift_model_t *m, const double *row, double *z) {
    for (uint32_t k = 0; k < m->p; k++)
        z[k] = isnan(row[k]) || !(m->sd[k] > 0) ? 0 : (row[k] - m->mean[k]) / m->sd[k];
}

const char *tl_uplift_method_name(int method) {
    return method == TL_UPLIFT_TREES ? "trees" : method == TL_UPLIFT_CLASS ? "class-transformation" : "two-model";
}

void tl_uplift_model_fini(tl_uplift_model_t *m) {
    tl_gbt_free(m->trees);
    m->trees = NULL;
}

/* The trees' features: the rows as floats, missing values NaN. */
static float *as_float(const double *x, uint32_t n, uint32_t p) {
    float *f = malloc(((size_t)n * p + 1) * sizeof *f);
    for (size_t k = 0; f && k < (size_t)n * p; k++) f[k] = (float)x[k];
    return f;
}

/* The log-odds of z (a treated converter or a control non-converter) by
 * line base of the n rows of x: the class transformation's own, or the
 * two-model's uplift u read as P(z) = (1 + u) / 2. */
static float *line_margin(const tl_uplift_model_t *m, int base, const double *x, uint32_t n) {
    float *mg = malloc(((size_t)n + 1) * sizeof *mg);
    double z[TL_UPLIFT_MAX_F];
    for (uint32_t i = 0; mg && i < n; i++) {
        standardise(m, x + (size_t)i * m->p, z);
        if (base == TL_UPLIFT_CLASS) {
            double e = m->beta_z[0];
            for (uint32_t k = 0; k < m->p; k++) e += m->beta_z[k + 1] * z[k];
            mg[i] = (float)e;
        } else {
            double pz = (1 + logistic(m->beta_t, z, m->p) - logistic(m->beta_c, z, m->p)) / 2;
            pz = fmin(fmax(pz, 1e-6), 1 - 1e-6);
            mg[i] = (float)log(pz / (1 - pz));
        }
    }
    return mg;
}

int tl_uplift_predict_rows(const tl_uplift_model_t *m, const double *x, uint32_t n, double *out, tl_errbuf_t *eb) {
    if (m->method != TL_UPLIFT_TREES || !m->trees) { /* trees the validation found no use for: the line */
        for (uint32_t i = 0; i < n; i++) out[i] = tl_uplift_predict(m, x + (size_t)i * m->p);
        return 0;
    }
    float *f = as_float(x, n, m->p), *mg = line_margin(m, m->base, x, n);
    int rc = f && mg ? tl_gbt_predict_rounds(m->trees, f, n, mg, 0, out, NULL, eb) : TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < n; i++) out[i] = 2 * out[i] - 1;
    free(f), free(mg);
    return rc;
}

double tl_uplift_predict(const tl_uplift_model_t *m, const double *row) {
    double z[TL_UPLIFT_MAX_F];
    if (m->method == TL_UPLIFT_TREES && m->trees) {
        tl_errbuf_t eb;
        return tl_uplift_predict_rows(m, row, 1, z, &eb) ? NAN : z[0];
    }
    standardise(m, row, z);
    if (m->method == TL_UPLIFT_TREES && m->base == TL_UPLIFT_CLASS) return 2 * logistic(m->beta_z, z, m->p) - 1;
    if (m->method == TL_UPLIFT_CLASS) return 2 * logistic(m->beta_t, z, m->p) - 1;
    return logistic(m->beta_t, z, m->p) - logistic(m->beta_c, z, m->p);
}

/* The trees' settings tried, each judged after every number of rounds of
 * TREE_ROUNDS: shallow, slow-learning trees with large leaves (a share of
 * the rows) and a strong penalty, as an uplift is a small difference of two
 * noisy rates. */
static const struct {
    uint32_t depth;
    double eta, leaf_share, lambda;
} TREE_GRID[] = {{2, 0.05, 0.02, 10}, {3, 0.03, 0.03, 50}, {4, 0.03, 0.05, 100}};
static const uint32_t TREE_ROUNDS[] = {10, 25, 50, 100, 200};
#define NGRID (sizeof TREE_GRID / sizeof *TREE_GRID)
#define NTREE_ROUNDS (sizeof TREE_ROUNDS / sizeof *TREE_ROUNDS)

static int fit_grid(const float *x, uint32_t n, uint32_t p, const float *z, const float *w, const float *mg,
                    size_t k, uint32_t rounds, tl_gbt_t **out, tl_errbuf_t *eb) {
    tl_boost_opts_t o;
    tl_boost_opts_default(&o);
    o.trees = rounds, o.depth = TREE_GRID[k].depth, o.eta = TREE_GRID[k].eta;
    o.min_child = 0.25 * n * TREE_GRID[k].leaf_share, o.lambda = TREE_GRID[k].lambda;
    o.subsample = 0.5, o.monotone = 0;
    return tl_gbt_fit(x, n, p, z, w, mg, &o, NULL, out, eb);
}

/* The Qini coefficient of the scores s of n units (NaN when undefined). */
static int qini_of(const double *s, const uint8_t *t, const uint8_t *y, uint32_t n, double *out) {
    tl_qini_t q = {0};
    int rc = tl_qini(s, t, y, n, 100, &q);
    *out = rc ? NAN : q.qini_coef;
    tl_qini_fini(&q);
    return rc;
}

/* The lines of method on the rows r with use[r] (NULL: all; the others
 * weigh 0), of the standardised rows z: the class transformation's (into
 * beta_z for trees, else beta_t; the groups weighted to weigh the same) and
 * the two models' (beta_t, beta_c), as the method needs them. */
static int fit_lines(const double *z, uint32_t n, uint32_t p, const uint8_t *treated, const uint8_t *y,
                     const uint8_t *use, int method, double l2, tl_uplift_model_t *m, tl_errbuf_t *eb) {
    double *w = malloc(((size_t)n + 1) * sizeof *w), nt = 0, nc = 0;
    uint8_t *yy = malloc((size_t)n + 1);
    int rc = w && yy ? 0 : TL_ENOMEM;
    for (uint32_t r = 0; r < n; r++)
        if (!use || use[r]) treated[r] ? nt++ : nc++;
    if (!rc && method != TL_UPLIFT_TWO_MODEL) {
        double wt = nt ? (nt + nc) / (2 * nt) : 0, wc = nc ? (nt + nc) / (2 * nc) : 0;
        for (uint32_t r = 0; r < n; r++) {
            yy[r] = treated[r] ? y[r] : !y[r];
            w[r] = use && !use[r] ? 0 : treated[r] ? wt : wc;
        }
        rc = tl_logit_fit_w(z, n, p, yy, w, l2, method == TL_UPLIFT_TREES ? m->beta_z : m->beta_t, eb);
    }
    /* each model on its own rows: rows of the other group weigh 0 */
    for (int g = 1; !rc && method != TL_UPLIFT_CLASS && g >= 0; g--) {
        for (uint32_t r = 0; r < n; r++) w[r] = treated[r] == g && (!use || use[r]);
        rc = tl_logit_fit_w(z, n, p, y, w, l2, g ? m->beta_t : m->beta_c, eb);
    }
    free(w), free(yy);
    return rc;
}

#define TREE_FOLDS 4

/* Trees of the transformed outcome z boosted from a line's log-odds of z,
 * the rows weighted so both groups weigh the same. Chosen by 4-fold
 * cross-validation of the training units: on each fold the lines fitted on
 * the other three quarters, and for each line the line alone and every
 * setting and number of rounds of the grid trained there, judged by the
 * Qini coefficient on the fold; the best mean kept, its line the whole
 * training's and its trees trained again on every unit (none when a line
 * alone was best: the simpler wins a tie). */
static int fit_trees(const double *x, const double *zs, uint32_t n, uint32_t p, const uint8_t *treated,
                     const uint8_t *y, double l2, tl_uplift_model_t *m, tl_errbuf_t *eb) {
    size_t cells = (size_t)n * p + 1;
    float *f = as_float(x, n, p), *zf = malloc(((size_t)n + 1) * sizeof *zf), *wf = malloc(((size_t)n + 1) * sizeof *wf);
    float *fx = malloc(cells * sizeof *fx), *vx = malloc(cells * sizeof *vx);
    float *fz = malloc(((size_t)n + 1) * sizeof *fz), *fw = malloc(((size_t)n + 1) * sizeof *fw);
    float *fm = malloc(((size_t)n + 1) * sizeof *fm), *vm = malloc(((size_t)n + 1) * sizeof *vm), *mg = NULL;
    uint8_t *vt = malloc((size_t)n + 1), *vy = malloc((size_t)n + 1), *use = malloc((size_t)n + 1);
    double *vs = malloc(((size_t)n + 1) * sizeof *vs), q;
    int rc = f && zf && wf && fx && vx && fz && fw && fm && vm && vt && vy && use && vs ? 0 : TL_ENOMEM;
    static const int bases[] = {TL_UPLIFT_TWO_MODEL, TL_UPLIFT_CLASS};
    double line_q[2] = {0}, tree_q[2][NGRID][NTREE_ROUNDS] = {{{0}}};
    double wt = (double)n / (2.0 * (double)m->n_treated), wc = (double)n / (2.0 * (double)m->n_control);
    for (uint32_t r = 0; !rc && r < n; r++) zf[r] = treated[r] ? y[r] : !y[r], wf[r] = (float)(treated[r] ? wt : wc);
    for (uint32_t fold = 0; !rc && fold < TREE_FOLDS; fold++) {
        for (uint32_t r = 0; r < n; r++) use[r] = (uint32_t)(r * 2654435761u) >> 30 != fold; /* fixed quarters */
        tl_uplift_model_t mf = *m;
        mf.trees = NULL;
        rc = fit_lines(zs, n, p, treated, y, use, TL_UPLIFT_TREES, l2, &mf, eb);
        if (rc == TL_EINVAL) { /* too few units for a line on three quarters: the fold tells nothing */
            rc = 0, eb->msg[0] = 0;
            continue;
        }
        for (size_t b = 0; !rc && b < 2; b++) {
            free(mg);
            if (!(mg = line_margin(&mf, bases[b], x, n))) rc = TL_ENOMEM;
            uint32_t nf = 0, nv = 0;
            for (uint32_t r = 0; !rc && r < n; r++) {
                if (!use[r]) {
                    memcpy(vx + (size_t)nv * p, f + (size_t)r * p, p * sizeof *f);
                    vm[nv] = mg[r], vt[nv] = treated[r], vy[nv++] = y[r];
                } else {
                    memcpy(fx + (size_t)nf * p, f + (size_t)r * p, p * sizeof *f);
                    fz[nf] = zf[r], fw[nf] = wf[r], fm[nf++] = mg[r];
                }
            }
            /* the line alone: the ranking of 2 P(z) - 1 is that of its log-odds */
            for (uint32_t i = 0; !rc && i < nv; i++) vs[i] = vm[i];
            if (!rc && nv && !qini_of(vs, vt, vy, nv, &q) && !isnan(q)) line_q[b] += q / TREE_FOLDS;
            for (size_t k = 0; !rc && k < NGRID && nv && nf; k++) {
                tl_gbt_t *g = NULL;
                rc = fit_grid(fx, nf, p, fz, fw, fm, k, TREE_ROUNDS[NTREE_ROUNDS - 1], &g, eb);
                for (size_t r = 0; !rc && r < NTREE_ROUNDS; r++) {
                    rc = tl_gbt_predict_rounds(g, vx, nv, vm, TREE_ROUNDS[r], vs, NULL, eb);
                    if (!rc && !qini_of(vs, vt, vy, nv, &q) && !isnan(q)) tree_q[b][k][r] += q / TREE_FOLDS;
                }
                tl_gbt_free(g);
            }
        }
    }
    double best_q = -INFINITY; /* no fold measured: the class transformation's line, no trees */
    size_t best = 0;
    uint32_t best_rounds = 0;
    m->base = TL_UPLIFT_CLASS;
    for (size_t b = 0; b < 2; b++) {
        if (line_q[b] > best_q) best_q = line_q[b], m->base = bases[b], best_rounds = 0;
        for (size_t k = 0; k < NGRID; k++)
            for (size_t r = 0; r < NTREE_ROUNDS; r++)
                if (tree_q[b][k][r] > best_q) best_q = tree_q[b][k][r], m->base = bases[b], best = k, best_rounds = TREE_ROUNDS[r];
    }
    free(mg);
    mg = rc ? NULL : line_margin(m, m->base, x, n);
    if (!rc && !mg) rc = TL_ENOMEM;
    if (!rc && best_rounds) rc = fit_grid(f, n, p, zf, wf, mg, best, best_rounds, &m->trees, eb);
    free(f), free(mg), free(zf), free(wf), free(fx), free(vx), free(fz), free(fw), free(fm), free(vm);
    free(vt), free(vy), free(use), free(vs);
    return rc;
}

int tl_uplift_fit(const double *x, uint32_t n, uint32_t p, const char *const *names,
                  const uint8_t *treated, const uint8_t *y, int method, double l2,
                  tl_uplift_model_t *m, tl_errbuf_t *eb) {
    memset(m, 0, sizeof *m);
    if (p > TL_UPLIFT_MAX_F) {
        tl_errbuf_set(eb, "at most %d features", TL_UPLIFT_MAX_F);
        return TL_EINVAL;
    }
    m->method = method, m->p = p;
    for (uint32_t k = 0; k < p; k++) snprintf(m->names[k], sizeof m->names[k], "%s", names[k]);
    for (uint32_t r = 0; r < n; r++) {
        if (treated[r]) m->n_treated++;
        else m->n_control++;
    }
    if (m->n_treated < 10 || m->n_control < 10) {
        tl_errbuf_set(eb, "uplift needs at least 10 treated and 10 control rows (have %llu and %llu)",
                      (unsigned long long)m->n_treated, (unsigned long long)m->n_control);
        return TL_EINVAL;
    }
    for (uint32_t k = 0; k < p; k++) {
        double s = 0, ss = 0, c = 0;
        for (uint32_t r = 0; r < n; r++) {
            double v = x[(size_t)r * p + k];
            if (!isnan(v)) s += v, c++;
        }
        m->mean[k] = c ? s / c : 0;
        for (uint32_t r = 0; r < n; r++) {
            double v = x[(size_t)r * p + k];
            if (!isnan(v)) ss += (v - m->mean[k]) * (v - m->mean[k]);
        }
        m->sd[k] = c > 1 ? sqrt(ss / (c - 1)) : 0;
    }
    double *z = malloc(((size_t)n + 1) * (p + 1) * sizeof *z);
    int rc = z ? 0 : TL_ENOMEM;
    for (uint32_t r = 0; !rc && r < n; r++) standardise(m, x + (size_t)r * p, z + (size_t)r * p);
    if (!rc) rc = fit_lines(z, n, p, treated, y, NULL, method, l2, m, eb);
    if (!rc && method == TL_UPLIFT_TREES) rc = fit_trees(x, z, n, p, treated, y, l2, m, eb);
    free(z);
    return rc;
}

/* ---- files ---------------------------------------------------------------------------- */

/* The model as its JSON text, with a final newline (free it); NULL when
 * out of memory. */
static char *model_text(const tl_uplift_model_t *m) {
    cJSON *j = cJSON_CreateObject(), *f = cJSON_AddArrayToObject(j, "features");
    cJSON_AddStringToObject(j, "format", "tailor-uplift-1");
    cJSON_AddStringToObject(j, "method", tl_uplift_method_name(m->method));
    cJSON_AddNumberToObject(j, "treated", (double)m->n_treated);
    cJSON_AddNumberToObject(j, "control", (double)m->n_control);
    for (uint32_t k = 0; k < m->p; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", m->names[k]);
        cJSON_AddNumberToObject(o, "mean", m->mean[k]);
        cJSON_AddNumberToObject(o, "sd", m->sd[k]);
        cJSON_AddNumberToObject(o, "coef_treated", m->beta_t[k + 1]);
        if (m->method != TL_UPLIFT_CLASS) cJSON_AddNumberToObject(o, "coef_control", m->beta_c[k + 1]);
        if (m->method == TL_UPLIFT_TREES) cJSON_AddNumberToObject(o, "coef_z", m->beta_z[k + 1]);
        cJSON_AddItemToArray(f, o);
    }
    cJSON_AddNumberToObject(j, "intercept_treated", m->beta_t[0]);
    if (m->method != TL_UPLIFT_CLASS) cJSON_AddNumberToObject(j, "intercept_control", m->beta_c[0]);
    if (m->method == TL_UPLIFT_TREES) {
        cJSON_AddNumberToObject(j, "intercept_z", m->beta_z[0]);
        cJSON_AddStringToObject(j, "base", tl_uplift_method_name(m->base));
    }
    if (m->trees) { /* xgboost's JSON as a string: it tells integers from reals */
        tl_errbuf_t eb;
        char *t = tl_gbt_text(m->trees, &eb);
        if (!t || !cJSON_AddStringToObject(j, "trees", t)) {
            free(t);
            cJSON_Delete(j);
            return NULL;
        }
        free(t);
    }
    if (m->test_units) {
        cJSON *h = cJSON_AddObjectToObject(j, "held_out");
        cJSON_AddNumberToObject(h, "units", (double)m->test_units);
        cJSON_AddItemToObject(h, "qini_coefficient", tl_json_number(m->test_qini));
    }
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    size_t n = s ? strlen(s) : 0;
    char *text = s ? malloc(n + 2) : NULL;
    if (text) memcpy(text, s, n), memcpy(text + n, "\n", 2);
    cJSON_free(s);
    return text;
}

int tl_uplift_save(const tl_uplift_model_t *m, const char *path, tl_errbuf_t *eb) {
    char *s = model_text(m);
    FILE *out = s ? fopen(path, "w") : NULL;
    int rc = out && fputs(s, out) >= 0 ? 0 : TL_EIO;
    if (out && fclose(out)) rc = TL_EIO;
    if (rc) tl_errbuf_set(eb, "cannot write %s", path);
    free(s);
    return rc;
}

/* The blob of campaign's model in out; TL_EINVAL (eb says so) if none can be. */
static int blob_of(const char *campaign, char *out, size_t cap, tl_errbuf_t *eb) {
    if (!tl_store_blob_name(TL_BLOB_UPLIFT, campaign, out, cap)) return 0;
    tl_errbuf_set(eb, "\"%s\" cannot name an uplift model (letters, digits, '_', '-', '.')", campaign);
    return TL_EINVAL;
}

int tl_uplift_put(tl_store_t *st, const char *campaign, const tl_uplift_model_t *m, tl_errbuf_t *eb) {
    char blob[256];
    int rc = blob_of(campaign, blob, sizeof blob, eb);
    if (rc) return rc;
    char *s = model_text(m);
    if (!s) {
        tl_errbuf_set(eb, "%s: out of memory writing the uplift model", blob);
        return TL_ENOMEM;
    }
    rc = tl_store_blob_put(st, blob, s, strlen(s), eb);
    free(s);
    return rc;
}

static int num(const cJSON *o, const char *k, double *v) {
    const cJSON *x = cJSON_GetObjectItem(o, k);
    if (!cJSON_IsNumber(x)) return -1;
    *v = x->valuedouble;
    return 0;
}

/* The model of text[0..len), read from where (for messages). */
static int model_parse(const char *text, size_t len, const char *where, tl_uplift_model_t *m,
                       tl_errbuf_t *eb) {
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *fmt = cJSON_GetObjectItem(j, "format"), *meth = cJSON_GetObjectItem(j, "method");
    const cJSON *f = cJSON_GetObjectItem(j, "features"), *x;
    int bad = !cJSON_IsString(fmt) || strcmp(fmt->valuestring, "tailor-uplift-1") != 0 ||
              !cJSON_IsString(meth) || !cJSON_IsArray(f) || cJSON_GetArraySize(f) > TL_UPLIFT_MAX_F;
    if (!bad) {
        m->method = strcmp(meth->valuestring, "trees") == 0                  ? TL_UPLIFT_TREES
                    : strcmp(meth->valuestring, "class-transformation") == 0 ? TL_UPLIFT_CLASS
                                                                             : TL_UPLIFT_TWO_MODEL;
        bad |= num(j, "intercept_treated", &m->beta_t[0]);
        if (m->method != TL_UPLIFT_CLASS) bad |= num(j, "intercept_control", &m->beta_c[0]);
        if (m->method == TL_UPLIFT_TREES) {
            const cJSON *base = cJSON_GetObjectItem(j, "base");
            bad |= num(j, "intercept_z", &m->beta_z[0]) | !cJSON_IsString(base);
            m->base = cJSON_IsString(base) && strcmp(base->valuestring, "class-transformation") == 0
                          ? TL_UPLIFT_CLASS
                          : TL_UPLIFT_TWO_MODEL;
        }
    }
    m->test_qini = NAN;
    const cJSON *h = cJSON_GetObjectItem(j, "held_out"), *hq = cJSON_GetObjectItem(h, "qini_coefficient");
    double units = 0;
    if (h && (num(h, "units", &units) || !(units >= 0 && units <= 1e15) ||
              (hq && !cJSON_IsNumber(hq) && !cJSON_IsNull(hq))))
        bad = 1, units = 0;
    m->test_units = (uint64_t)units;
    if (cJSON_IsNumber(hq)) m->test_qini = hq->valuedouble;
    const cJSON *list = bad ? NULL : f;
    cJSON_ArrayForEach(x, list) {
        uint32_t k = m->p++;
        const cJSON *nm = cJSON_GetObjectItem(x, "name");
        if (!cJSON_IsString(nm)) bad = 1;
        else snprintf(m->names[k], sizeof m->names[k], "%s", nm->valuestring);
        bad |= num(x, "mean", &m->mean[k]) | num(x, "sd", &m->sd[k]) | num(x, "coef_treated", &m->beta_t[k + 1]);
        if (m->method != TL_UPLIFT_CLASS) bad |= num(x, "coef_control", &m->beta_c[k + 1]);
        if (m->method == TL_UPLIFT_TREES) bad |= num(x, "coef_z", &m->beta_z[k + 1]);
    }
    const cJSON *trees = cJSON_GetObjectItem(j, "trees");
    if (!bad && m->method == TL_UPLIFT_TREES && trees &&
        (!cJSON_IsString(trees) || tl_gbt_parse(trees->valuestring, m->p, 1, &m->trees, eb)))
        bad = 1;
    cJSON_Delete(j);
    if (bad) {
        tl_uplift_model_fini(m);
        tl_errbuf_set(eb, "%s: not a tailor uplift model, or damaged", where);
        return TL_ECORRUPT;
    }
    return 0;
}

int tl_uplift_load(const char *path, tl_uplift_model_t *m, tl_errbuf_t *eb) {
    memset(m, 0, sizeof *m);
    char *text = NULL;
    size_t len;
    if (tl_read_file(path, &text, &len)) {
        tl_errbuf_set(eb, "cannot read %s (train one with `tailor uplift train`)", path);
        return TL_ENOENT;
    }
    int rc = model_parse(text, len, path, m, eb);
    free(text);
    return rc;
}

int tl_uplift_get(tl_store_t *st, const char *campaign, tl_uplift_model_t *m, tl_errbuf_t *eb) {
    memset(m, 0, sizeof *m);
    char blob[256];
    int rc = blob_of(campaign, blob, sizeof blob, eb);
    if (rc) return rc;
    tl_blob_view_t v;
    rc = tl_store_blob_map(st, blob, &v, eb);
    if (rc == TL_ENOENT)
        tl_errbuf_set(eb, "%s: no uplift model of \"%s\" (train one with `tailor uplift train`)",
                      tl_store_dir(st), campaign);
    if (rc) return rc;
    rc = model_parse(v.data, v.len, blob, m, eb);
    tl_store_blob_unmap(&v);
    return rc;
}

int tl_uplift_project(const tl_uplift_model_t *m, const double *uplift, uint32_t n, double top, double value,
                      double margin, double cost, tl_uplift_projection_t *out) {
    memset(out, 0, sizeof *out);
    double *key = malloc(((size_t)n + 1) * sizeof *key);
    uint32_t *idx = malloc(((size_t)n + 1) * sizeof *idx);
    if (!key || !idx) {
        free(key), free(idx);
        return TL_ENOMEM;
    }
    for (uint32_t u = 0; u < n; u++) key[u] = isnan(uplift[u]) ? -INFINITY : uplift[u], idx[u] = u;
    int rc = tl_sort_f64(key, idx, n);
    if (!rc) {
        uint32_t k = (uint32_t)ceil(top / 100 * n);
        if (k > n) k = n;
        out->users = n, out->targeted = k;
        out->min_uplift = k ? key[n - k] : 0;
        for (uint32_t i = n - k; i < n; i++) out->incremental += isfinite(key[i]) ? key[i] : 0;
        out->cost = cost * k;
        out->profit = out->incremental * value * margin;
        out->roi = out->cost > 0 ? (out->profit - out->cost) / out->cost : NAN;
        out->supported = m->test_units > 0 && m->test_qini > 0;
        if (!m->test_units)
            snprintf(out->why, sizeof out->why, "the model was never measured on units held out of its training "
                     "(train it again with `tailor uplift train`): this projection is not supported by held-out data");
        else if (!out->supported) {
            char q[32];
            snprintf(out->why, sizeof out->why, "the model's Qini coefficient on %llu held-out units is %s: its "
                     "ranking did no better than random targeting on data it was not trained on, so this "
                     "projection is not supported by the held-out data",
                     (unsigned long long)m->test_units, tl_fmt_figure(q, sizeof q, "%.3f", m->test_qini));
        }
    }
    free(key), free(idx);
    return rc;
}

/* ---- Qini ------------------------------------------------------------------------------- */

typedef struct {
    double s;
    uint32_t r;
} srow_t;

static int cmp_srow(const void *a, const void *b) {
    const srow_t *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return (x->r > y->r) - (x->r < y->r);
}

/* Area between the Qini curve of an order and its straight line (trapezia
 * over every row); the curve at `points` cut-offs when q is given. */
static double qini_area(const srow_t *o, const uint8_t *t, const uint8_t *y, uint32_t n, tl_qini_t *q) {
    double nt = 0, nc = 0, yt = 0, yc = 0, area = 0, prev = 0;
    double tot_t = 0, tot_c = 0, tot_yt = 0, tot_yc = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (t[i]) tot_t++, tot_yt += y[i];
        else tot_c++, tot_yc += y[i];
    }
    double end = tot_yt - (tot_c ? tot_yc * tot_t / tot_c : 0);
    uint32_t next = 1;
    double uplift_sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = o[i].r;
        if (t[r]) nt++, yt += y[r];
        else nc++, yc += y[r];
        double qv = yt - (nc ? yc * nt / nc : 0);
        area += (prev + qv) / 2 - end * ((double)i + 0.5) / n;
        prev = qv;
        if (q) {
            uplift_sum += ((nt ? yt / nt : 0) - (nc ? yc / nc : 0)) * (nt + nc) / n;
            while (next <= q->points && (uint64_t)(i + 1) * q->points >= (uint64_t)next * n) {
                q->frac[next] = (double)next / q->points;
                q->qini[next] = qv;
                q->random[next] = end * q->frac[next];
                next++;
            }
            for (int k = 0; k < 10; k++) /* the row that ends the top 10(k+1) % */
                if ((uint64_t)i + 1 == ((uint64_t)(k + 1) * n + 9) / 10)
                    q->uplift_at[k] = (nt ? yt / nt : NAN) - (nc ? yc / nc : NAN);
        }
    }
    if (q) q->auuc = n ? uplift_sum / n : NAN;
    return area;
}

int tl_qini(const double *score, const uint8_t *treated, const uint8_t *y, uint32_t n,
            uint32_t points, tl_qini_t *q) {
    memset(q, 0, sizeof *q);
    for (int k = 0; k < 10; k++) q->uplift_at[k] = NAN; /* a top part without rows */
    q->points = points ? points : 100;
    q->n = n;
    srow_t *o = malloc(((size_t)n + 1) * sizeof *o);
    q->frac = calloc(q->points + 1, sizeof *q->frac);
    q->qini = calloc(q->points + 1, sizeof *q->qini);
    q->random = calloc(q->points + 1, sizeof *q->random);
    if (!o || !q->frac || !q->qini || !q->random) {
        free(o);
        tl_qini_fini(q);
        return TL_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        q->n_treated += treated[i], q->n_control += !treated[i];
        o[i] = (srow_t){isnan(score[i]) ? -INFINITY : score[i], i};
    }
    qsort(o, n, sizeof *o, cmp_srow);
    double model = qini_area(o, treated, y, n, q);
    /* the best order: treated converters first, control converters last */
    for (uint32_t i = 0; i < n; i++)
        o[i] = (srow_t){treated[i] ? (double)y[i] : -(double)y[i], i};
    qsort(o, n, sizeof *o, cmp_srow);
    double best = qini_area(o, treated, y, n, NULL);
    q->qini_coef = best > 0 ? model / best : NAN;
    free(o);
    return 0;
}

void tl_qini_fini(tl_qini_t *q) {
    free(q->frac), free(q->qini), free(q->random);
    memset(q, 0, sizeof *q);
}

cJSON *tl_uplift_summary_json(const tl_uplift_model_t *m) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "method", m->method == TL_UPLIFT_TREES   ? "trees"
                                         : m->method == TL_UPLIFT_CLASS ? "class_transformation"
                                                                        : "two_model");
    cJSON_AddNumberToObject(j, "treated", (double)m->n_treated);
    cJSON_AddNumberToObject(j, "control", (double)m->n_control);
    cJSON_AddNumberToObject(j, "test_units", (double)m->test_units);
    cJSON_AddItemToObject(j, "test_qini", tl_json_number(m->test_units ? m->test_qini : NAN));
    cJSON *f = cJSON_AddArrayToObject(j, "features");
    for (uint32_t k = 0; k < m->p; k++) cJSON_AddItemToArray(f, cJSON_CreateString(m->names[k]));
    return j;
}
