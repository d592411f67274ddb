/* serve.c -- serving: a model's candidates for a user (the cold start for
 * users it learnt nothing of, new items through their alike items, the
 * scene's items blended in through the model's item relation), then the
 * business rules (repurchase categories, include / exclude, negative
 * feedback, long-tail boost, exposure cap, diversity by MMR), with the
 * reason of each item. */
#include "rec_int.h"

#include <stdlib.h>
#include <string.h>

/* How well item i goes with item c by the model's own item relation (its
 * family's affinity hook); 0 for the same item or one beyond the model. */
static float pair_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i) {
    if (c >= m->nitems || i >= m->nitems || c == i) return 0;
    return tl__model_ops(m)->affinity(m, item_cat, c, i);
}
/* Scales v to 0..1 over its range (all 1 when flat); TL__UNSCORED entries
 * stay so. */
static void unit_range(float *v, uint32_t n) {
    float lo = INFINITY, hi = -INFINITY;
    for (uint32_t i = 0; i < n; i++)
        if (v[i] != TL__UNSCORED) lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    for (uint32_t i = 0; i < n; i++)
        if (v[i] != TL__UNSCORED) v[i] = hi > lo ? (v[i] - lo) / (hi - lo) : 1;
}

/* Blends the scene's affinity into s and seen (ni entries each; see
 * tl_serve_opts_t.context). */
static int blend_context(const tl_model_t *m, const tl_serve_opts_t *so, float *s, uint8_t *seen,
                         uint32_t ni) {
    float *t = calloc(ni ? ni : 1, sizeof *t);
    if (!t) return TL_ENOMEM;
    for (uint32_t q = 0; q < so->ncontext; q++) {
        uint32_t c = so->context[q];
        if (c >= ni) continue;
        seen[c] = 1;
        for (uint32_t i = 0; i < ni; i++) t[i] += pair_affinity(m, so->item_cat, c, i);
    }
    unit_range(s, ni);
    unit_range(t, ni);
    double w = so->context_weight;
    for (uint32_t i = 0; i < ni; i++)
        if (s[i] != TL__UNSCORED) s[i] = (float)((1 - w) * s[i] + w * t[i]);
    free(t);
    return 0;
}

typedef struct {
    float *pen;
    uint32_t n;
} penctx_t;

static int penalty_row(uint32_t i, uint64_t neg, void *arg) {
    penctx_t *p = arg;
    if (i < p->n) p->pen[i] = (float)(neg * 0.3 > 0.9 ? 0.9 : neg * 0.3);
    return 0;
}

int tl_rec_feedback_penalty(tl_store_t *st, uint32_t nitems, float **out, tl_errbuf_t *eb) {
    penctx_t p = {calloc((size_t)nitems + 1, sizeof *p.pen), nitems};
    *out = NULL;
    if (!p.pen) return TL_ENOMEM;
    int rc = tl_store_feedback_negative(st, penalty_row, &p, eb);
    if (rc) free(p.pen);
    else *out = p.pen;
    return rc;
}

static int cmp_desc_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* An item's popularity by a popularity model (0 for an item newer than it). */
static double pop_of(const tl_model_t *pop, uint32_t i) { return i < pop->nitems ? pop->pop[i] : 0; }

uint32_t tl_rec_serve(const tl_model_t *m, const tl_model_t *pop, const tl_csr_t *x,
                      uint32_t u, uint32_t n, const tl_serve_opts_t *so, tl_served_t *out) {
    uint32_t ni = x->nitems; /* the catalogue served, which may have grown since m was trained */
    int popular = tl__model_ops(m)->popular;
    /* no history, or none the model learnt from: the cold start */
    int cold = u >= x->nusers || x->rowptr[u] == x->rowptr[u + 1] || !tl__rec_model_knows(m, x, u);
    const tl_model_t *src = cold && pop && !popular ? pop : m; /* popularity is its own cold start */
    float *s = malloc((size_t)(ni ? ni : 1) * sizeof *s);
    double *pp = NULL;
    uint8_t *seen = calloc(ni ? ni : 1, 1);
    if (!s || !seen || !n) {
        free(s), free(seen);
        return 0;
    }
    tl__rec_scores(src, x, u, s, ni);
    if (u < x->nusers)
        for (uint64_t k = x->rowptr[u]; k < x->rowptr[u + 1]; k++) seen[x->col[k]] = 1;
    if (!tl__model_ops(src)->popular) tl__content_fill(so->content, s, ni, seen); /* popularity is measured */
    if (so->ncontext && blend_context(m, so, s, seen, ni)) {
        free(s), free(seen);
        return 0;
    }
    /* popularity percentile of every item, for the tail rules */
    double head_cut = INFINITY;
    if (pop && ni && (so->tail_boost > 0 || so->head_cap < 1)) {
        pp = malloc((size_t)ni * sizeof *pp);
        if (pp) {
            for (uint32_t i = 0; i < ni; i++) pp[i] = pop_of(pop, i);
            qsort(pp, ni, sizeof *pp, cmp_desc_d);
            uint32_t h = (uint32_t)(so->head_share * ni);
            head_cut = h ? pp[h - 1] : INFINITY;
            double maxp = pp[0] > 0 ? pp[0] : 1;
            for (uint32_t i = 0; i < ni; i++) pp[i] = pop_of(pop, i) / maxp;
        }
    }
    /* candidates: what the filters let through, best first (5n of them) */
    uint32_t cap = n * 5 < 50 ? 50 : n * 5, nc = 0;
    uint32_t *ci = malloc(cap * sizeof *ci);
    float *cs = malloc(cap * sizeof *cs);
    if (!ci || !cs) {
        free(s), free(seen), free(pp), free(ci), free(cs);
        return 0;
    }
    for (uint32_t i = 0; i < ni; i++) {
        uint32_t cat = so->item_cat ? so->item_cat[i] : TL_NONE;
        int known = cat != TL_NONE && cat < so->ncats;
        if (seen[i] && !(known && so->repurchase_cat && so->repurchase_cat[cat])) continue;
        if (so->exclude_item && so->exclude_item[i]) continue;
        if (so->include_cat && !(known && so->include_cat[cat])) continue;
        if (so->exclude_cat && known && so->exclude_cat[cat]) continue;
        float v = s[i];
        if (!(v > TL__UNSCORED)) continue; /* newer than the model, and nothing alike to score it by */
        if (nc == cap && v <= cs[cap - 1]) continue;
        uint32_t p = nc < cap ? nc++ : cap - 1;
        while (p > 0 && cs[p - 1] < v) cs[p] = cs[p - 1], ci[p] = ci[p - 1], p--;
        cs[p] = v, ci[p] = i;
    }
    /* relevance scaled to 0..1, then the long-tail boost */
    float lo = nc ? cs[nc - 1] : 0, hi = nc ? cs[0] : 1;
    double *rel = malloc((size_t)(nc ? nc : 1) * sizeof *rel);
    uint8_t *used = calloc(nc ? nc : 1, 1);
    uint32_t got = 0, head = 0;
    if (rel && used) {
        for (uint32_t c = 0; c < nc; c++) {
            rel[c] = hi > lo ? (cs[c] - lo) / (hi - lo) : 1;
            if (pp) rel[c] += so->tail_boost * (1 - pp[ci[c]]);
            if (so->item_penalty) rel[c] -= so->item_penalty[ci[c]];
        }
        uint32_t max_head = so->head_cap < 1 ? (uint32_t)(so->head_cap * n) : n;
        while (got < n) {
            double best = -INFINITY;
            uint32_t bc = TL_NONE;
            for (uint32_t c = 0; c < nc; c++) {
                if (used[c]) continue;
                int in_head = pop && pop_of(pop, ci[c]) >= head_cut;
                if (in_head && head >= max_head) continue;
                double v = (1 - so->diversity) * rel[c];
                if (so->diversity > 0 && so->item_cat) {
                    uint32_t cat = so->item_cat[ci[c]];
                    for (uint32_t q = 0; q < got && cat != TL_NONE; q++)
                        if (so->item_cat[out[q].item] == cat) {
                            v -= so->diversity;
                            break;
                        }
                }
                if (v > best) best = v, bc = c;
            }
            if (bc == TL_NONE) break;
            used[bc] = 1;
            head += pop && pop_of(pop, ci[bc]) >= head_cut;
            out[got].item = ci[bc];
            out[got].score = cs[bc];
            out[got].cold = cold && !popular;
            out[got].because = cold ? TL_NONE : tl_rec_because(m, x, u, ci[bc]);
            out[got].from_context = 0;
            out[got].is_new = 0;
            const tl_content_t *cn = so->content;
            if (cn && cn->nbr && ci[bc] < cn->n && !cn->warm[ci[bc]]) { /* explained by its like */
                out[got].is_new = 1;
                out[got].because = cn->nbr[(size_t)ci[bc] * TL__CONTENT_K];
            }
            float ba = 0; /* in a scene: the scene item it goes with best */
            for (uint32_t q = 0; so->context_weight > 0 && q < so->ncontext; q++) {
                float a = pair_affinity(m, so->item_cat, so->context[q], ci[bc]);
                if (a > ba) ba = a, out[got].because = so->context[q], out[got].from_context = 1;
            }
            got++;
        }
    }
    free(s), free(seen), free(pp), free(ci), free(cs), free(rel), free(used);
    return got;
}
