/* models.c -- the model registry: one row per model family (its name,
 * trainer, options with defaults and ranges, and the hooks scoring,
 * serving and model files call), the options table, and what every model
 * shares: scoring into a vector of the catalogue's size, top-N, the
 * explanation of a recommended item, freeing and erasure.
 *
 * Adding a model: a file with its trainer and hooks (see rec_int.h), a
 * kind at the end of tl_model_kind_t (model files store the kind's
 * number), and a row here. */
#include "rec_int.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---------------------------------------------------------------------------- */

#define P(field) offsetof(tl_model_params_t, field)

static const tl_model_param_t PARAMS[] = {
    {"lambda", "ease: L2 regularisation (default: from the data, 58 x the square root of the mean over "
               "the catalogue of an item's summed squared strengths: 400 on MovieLens 100K)", NAN, 1e-6, 1e12, 0,
     P(lambda)},
    {"dropout", "ease: 0..0.99, denoising emphasis on popular items", 0, 0, 0.99, 0, P(dropout)},
    {"blend", "blend: EASE's share of the standardised scores, the rest iALS's", 0.5, 0, 1, 0, P(blend)},
    {"neighbours", "knn: neighbours kept per item", 100, 1, 1000, 1, P(neighbours)},
    {"shrink", "knn: similarity shrinkage", 10, 0, 1e9, 0, P(shrink)},
    {"factors", "ials: latent factors", 64, 1, 1024, 1, P(ials.factors)},
    {"iterations", "ials: alternating iterations", 15, 1, 1000, 1, P(ials.iterations)},
    {"alpha", "ials: confidence weight of an interaction (default: from the data, 5 / the mean "
              "strength of an interaction: 5 for ratings counted as 1)", NAN, 0, 1e9, 0, P(ials.alpha)},
    {"reg", "ials: L2 regularisation", 50, 0, 1e12, 0, P(ials.reg)},
};
#define NPARAMS (sizeof PARAMS / sizeof *PARAMS)

static void param_store(tl_model_params_t *p, const tl_model_param_t *d, double v) {
    char *at = (char *)p + d->offset;
    if (d->integer) *(uint32_t *)at = (uint32_t)v;
    else *(double *)at = v;
}

void tl_model_params_default(tl_model_params_t *p) {
    memset(p, 0, sizeof *p);
    tl_ials_opts_default(&p->ials); /* cg_steps and seed, which are no options */
    for (size_t i = 0; i < NPARAMS; i++) param_store(p, &PARAMS[i], PARAMS[i].dflt);
}

/* The constants were tuned on MovieLens 100K's u1.base (1,682 items,
 * 80,000 ratings each of strength 1: λ 400, α 5) and carried to other
 * data by the scale of its strengths: EASE's penalty with the square root
 * of the Gram matrix's mean diagonal (an item's summed squared strengths;
 * in proportion to it, it fell too low on ratings of 4 and more), iALS's
 * confidence against the mean strength (docs/BENCHMARKS.md has the
 * evidence). */
#define EASE_LAMBDA_PER_ROOT_DIAG 58.0
#define IALS_ALPHA_TIMES_STRENGTH 5.0

void tl_model_params_resolve(tl_model_params_t *p, const tl_csr_t *x) {
    double sum = 0, sq = 0;
    for (uint64_t q = 0; q < x->nnz; q++) sum += x->val[q], sq += (double)x->val[q] * x->val[q];
    if (isnan(p->lambda)) p->lambda = fmax(1, EASE_LAMBDA_PER_ROOT_DIAG * sqrt(sq / (x->nitems ? x->nitems : 1)));
    if (isnan(p->ials.alpha))
        p->ials.alpha = x->nnz && sum > 0 ? IALS_ALPHA_TIMES_STRENGTH / (sum / (double)x->nnz) : IALS_ALPHA_TIMES_STRENGTH;
}

const tl_model_param_t *tl_model_param_at(uint32_t i) { return i < NPARAMS ? &PARAMS[i] : NULL; }

const tl_model_param_t *tl_model_param_lookup(const char *name) {
    for (size_t i = 0; i < NPARAMS; i++)
        if (strcmp(PARAMS[i].name, name) == 0) return &PARAMS[i];
    return NULL;
}

int tl_model_params_set(tl_model_params_t *p, const char *name, double v) {
    const tl_model_param_t *d = tl_model_param_lookup(name);
    if (!d || !(v >= d->min && v <= d->max)) return TL_EINVAL;
    param_store(p, d, v);
    return 0;
}

/* ---- the families ----------------------------------------------------------------------- */

#define HEAD(field) offsetof(tl_model_t, field)
#define MAX_ITEMS 50000000u
#define EASE_MAX_ITEMS 40000u /* a dense items x items matrix */

static const struct tl_model_ops POP_OPS = {
    tl__pop_train, tl__pop_scores, tl__pop_affinity, NULL, tl__pop_sections, NULL,
    HEAD(f), 0, 1024, 0, MAX_ITEMS, 1, 0};
static const struct tl_model_ops SEGPOP_OPS = {
    tl__segpop_train, tl__segpop_scores, tl__pop_affinity, NULL, tl__segpop_sections, tl__segpop_check,
    HEAD(ncats), 1, 1000000, 1024, MAX_ITEMS, 1, 0};
static const struct tl_model_ops EASE_OPS = {
    tl__ease_train, tl__ease_scores, tl__ease_affinity, tl__ease_because, tl__ease_sections, NULL,
    HEAD(f), 0, 1024, 0, EASE_MAX_ITEMS, 0, 0};
static const struct tl_model_ops IALS_OPS = {
    tl__ials_train, tl__ials_scores, tl__ials_affinity, tl__ials_because, tl__ials_sections, NULL,
    HEAD(f), 1, 1024, 0, MAX_ITEMS, 0, 1};
static const struct tl_model_ops KNN_OPS = {
    tl__knn_train, tl__knn_scores, tl__knn_affinity, tl__knn_because, tl__knn_sections, tl__knn_check,
    HEAD(k), 1, 1024, 0, MAX_ITEMS, 0, 0};
static const struct tl_model_ops BLEND_OPS = {
    tl__blend_train, tl__blend_scores, tl__ease_affinity, tl__ease_because, tl__blend_sections, NULL,
    HEAD(f), 1, 1024, 0, EASE_MAX_ITEMS, 0, 0};

/* In the order of the help text; kinds index it through tl_model_info. */
static const tl_model_info_t MODELS[] = {
    {"pop", TL_MODEL_POP, "popularity (with --half-life: trending)", "", 0, 0, &POP_OPS, NULL},
    {"segpop", TL_MODEL_SEGPOP, "popularity by segment (age band x gender) and category taste", "", 1,
     0, &SEGPOP_OPS, NULL},
    {"ease", TL_MODEL_EASE, "EASE, a closed-form item-item model", "lambda dropout", 0, 0, &EASE_OPS,
     "lambda=100,200,400,800,1600,3200,6400,12800"},
    {"ials", TL_MODEL_IALS, "implicit ALS, factors of users and items",
     "factors iterations alpha reg", 0, 0, &IALS_OPS, "alpha=1,2,5,10 reg=10,50,200"},
    {"knn", TL_MODEL_KNN, "item-kNN, cosine similarity with shrinkage", "neighbours shrink", 0, 1,
     &KNN_OPS, "neighbours=25,50,100,200 shrink=0,10,100"},
    {"blend", TL_MODEL_BLEND, "EASE and implicit ALS blended",
     "lambda dropout blend factors iterations alpha reg", 0, 0, &BLEND_OPS,
     "blend=0.25,0.5,0.75 lambda=200,800,3200"},
};
#define NMODELS (sizeof MODELS / sizeof *MODELS)

const tl_model_info_t *tl_model_lookup(const char *name) {
    for (size_t i = 0; name && i < NMODELS; i++)
        if (strcmp(MODELS[i].name, name) == 0) return &MODELS[i];
    return NULL;
}

/* By kind, for the hooks called per item. */
static const tl_model_info_t *const BY_KIND[] = {
    [TL_MODEL_POP] = &MODELS[0], [TL_MODEL_SEGPOP] = &MODELS[1], [TL_MODEL_EASE] = &MODELS[2],
    [TL_MODEL_IALS] = &MODELS[3], [TL_MODEL_KNN] = &MODELS[4],  [TL_MODEL_BLEND] = &MODELS[5]};

const tl_model_info_t *tl_model_info(tl_model_kind_t kind) {
    return (size_t)kind < sizeof BY_KIND / sizeof *BY_KIND ? BY_KIND[kind] : NULL;
}

const tl_model_info_t *tl_model_at(uint32_t i) { return i < NMODELS ? &MODELS[i] : NULL; }

void tl_model_names(char *out, size_t cap) {
    size_t n = 0;
    if (!cap) return;
    out[0] = 0;
    for (size_t i = 0; i < NMODELS && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i == 0 ? "" : i + 1 == NMODELS ? " or " : ", ",
                              MODELS[i].name);
}

const char *tl_model_default(tl_model_use_t use) {
    switch (use) {
    case TL_MODEL_FOR_EVAL: return "ease";
    case TL_MODEL_FOR_SIMILAR: return "knn";
    case TL_MODEL_FOR_TRAIN:
    case TL_MODEL_FOR_SERVE: break;
    }
    return "ials";
}

int tl_model_train(const tl_model_info_t *mi, const tl_csr_t *x, const tl_model_params_t *p,
                   const tl_rec_side_t *side, tl_model_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    tl_model_params_t q = *p;
    tl_model_params_resolve(&q, x);
    return mi->ops->train(x, &q, mi->needs_side ? side : NULL, out, eb);
}

const struct tl_model_ops *tl__model_ops(const tl_model_t *m) { return tl_model_info(m->kind)->ops; }

/* ---- what every model shares ---------------------------------------------------------- */

void tl_model_set_interactions(tl_model_t *m, const tl_interact_opts_t *o) { m->io = *o; }
const tl_interact_opts_t *tl_model_interactions(const tl_model_t *m) { return &m->io; }

tl_model_kind_t tl_model_kind(const tl_model_t *m) { return m->kind; }

uint32_t tl_model_nitems(const tl_model_t *m) { return m->nitems; }

void tl_model_free(tl_model_t *m) {
    if (!m) return;
    free(m->pop);
    free(m->b);
    free(m->xu);
    free(m->yi);
    free(m->nbr);
    free(m->sim);
    free(m->icat);
    free(m->ugroup);
    free(m->pic);
    free(m->pcg);
    free(m->share);
    free(m);
}

int tl_model_erase_user(tl_model_t *m, uint32_t u) {
    if (u >= m->nusers) return 0;
    int changed = 0;
    if (m->xu)
        for (uint32_t k = 0; k < m->f; k++) {
            changed |= m->xu[(size_t)u * m->f + k] != 0;
            m->xu[(size_t)u * m->f + k] = 0;
        }
    if (m->ugroup && m->ugroup[u] != m->ngroups) m->ugroup[u] = m->ngroups, changed = 1;
    return changed;
}

void tl__rec_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t n) {
    uint32_t k = n < m->nitems ? n : m->nitems;
    for (uint32_t i = k; i < n; i++) s[i] = TL__UNSCORED;
    tl__model_ops(m)->scores(m, x, u, s, k);
}

/* Popularity scores anybody; the others need an item of the user's row
 * that they know, and a family that knows users by their factors the
 * user's factors too (none for a user newer than the model, or erased
 * from it). */
int tl__rec_model_knows(const tl_model_t *m, const tl_csr_t *x, uint32_t u) {
    const struct tl_model_ops *ops = tl__model_ops(m);
    if (ops->popular) return 1;
    int row = 0, factors = 0;
    for (uint64_t q = u < x->nusers ? x->rowptr[u] : 0; u < x->nusers && q < x->rowptr[u + 1] && !row; q++)
        row = x->col[q] < m->nitems;
    for (uint32_t f = 0; m->xu && u < m->nusers && f < m->f && !factors; f++)
        factors = m->xu[(size_t)u * m->f + f] != 0;
    return row && (!ops->by_factors || factors);
}

/* Keeps the best n of (item, score) in a small sorted array. */
uint32_t tl__rec_select_top(const float *s, uint32_t nitems, const tl_csr_t *x, uint32_t u, uint32_t n,
                            uint32_t *items, float *scores) {
    uint32_t got = 0;
    uint64_t k = u < x->nusers ? x->rowptr[u] : 0, end = u < x->nusers ? x->rowptr[u + 1] : 0;
    for (uint32_t i = 0; i < nitems; i++) {
        while (k < end && x->col[k] < i) k++;
        if (k < end && x->col[k] == i) continue; /* seen in training */
        float v = s[i];
        if (got == n && v <= scores[n - 1]) continue;
        uint32_t p = got < n ? got++ : n - 1;
        while (p > 0 && scores[p - 1] < v) {
            scores[p] = scores[p - 1];
            items[p] = items[p - 1];
            p--;
        }
        scores[p] = v;
        items[p] = i;
    }
    return got;
}

uint32_t tl_rec_topn(const tl_model_t *m, const tl_csr_t *train, uint32_t user, uint32_t n,
                     uint32_t *items, float *scores) {
    float *s = malloc((size_t)(m->nitems ? m->nitems : 1) * sizeof *s);
    if (!s || !n) {
        free(s);
        return 0;
    }
    tl__rec_scores(m, train, user, s, m->nitems);
    uint32_t got = tl__rec_select_top(s, m->nitems, train, user, n, items, scores);
    free(s);
    return got;
}

uint32_t tl_rec_because(const tl_model_t *m, const tl_csr_t *x, uint32_t u, uint32_t item) {
    const struct tl_model_ops *ops = tl__model_ops(m);
    if (!ops->because || u >= x->nusers || item >= m->nitems) return TL_NONE;
    uint32_t best = TL_NONE;
    float bv = -INFINITY;
    for (uint64_t k = x->rowptr[u]; k < x->rowptr[u + 1]; k++) {
        uint32_t j = x->col[k];
        if (j >= m->nitems) continue;
        float v = ops->because(m, x->val[k], j, item);
        if (v > bv) bv = v, best = j;
    }
    return best;
}
