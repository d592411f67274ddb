/* rec.c -- interaction matrix, popularity and EASE, top-N and evaluation
 * (see rec.h for the definitions and the evaluation protocol).
 *
 * EASE keeps a dense items x items matrix B; scoring a user adds the rows
 * of B of the items in the user's training row, so a top-N costs
 * |row| x items operations and no allocation beyond one score vector. */
#include "rec.h"

#include <cblas.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void tl_interact_opts_default(tl_interact_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->weight[TL_EV_VIEW] = 1;
    o->weight[TL_EV_CLICK] = 1;
    o->weight[TL_EV_FAV] = 2;
    o->weight[TL_EV_CART] = 3;
    o->weight[TL_EV_PURCHASE] = 5;
    o->weight[TL_EV_REVIEW] = 2;
    o->weight[TL_EV_RATE] = 1;
    o->min_rating = NAN;
    o->binary = 0;
}

/* ---- the matrix ------------------------------------------------------------- */

typedef struct {
    uint32_t u, i;
    float w;
} trip_t;

typedef struct {
    const tl_interact_opts_t *o;
    uint64_t from, to;
    uint32_t nusers, nitems;
    const uint8_t *withdrawn; /* users who withdrew profiling: left out */
    trip_t *t;
    size_t n, cap;
} mctx_t;

static int collect(const tl_evblock_t *b, void *arg) {
    mctx_t *c = arg;
    for (uint32_t k = 0; k < b->n; k++) {
        uint64_t seq = b->first_seq + k;
        if (seq < c->from || seq >= c->to) continue;
        if (c->o->ts_to && (b->ts[k] < c->o->ts_from || b->ts[k] >= c->o->ts_to)) continue;
        uint32_t u = b->user[k], i = b->item[k];
        float w = c->o->weight[b->type[k]];
        if (i == TL_NONE || u >= c->nusers || i >= c->nitems || w <= 0 || c->withdrawn[u]) continue;
        if (b->type[k] == TL_EV_RATE && !isnan(c->o->min_rating) &&
            !(b->rating[k] >= c->o->min_rating))
            continue;
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 1 << 16;
            trip_t *nt = realloc(c->t, nc * sizeof *nt);
            if (!nt) return TL_ENOMEM;
            c->t = nt;
            c->cap = nc;
        }
        if (c->o->rating_values && b->type[k] == TL_EV_RATE && !isnan(b->rating[k]))
            w = b->rating[k]; /* the rating itself is the strength */
        if (c->o->half_life > 0)
            w *= (float)exp2((double)(b->ts[k] - c->o->decay_to) / c->o->half_life);
        c->t[c->n++] = (trip_t){u, i, c->o->binary ? 1.0f : w};
    }
    return 0;
}

static int cmp_trip(const void *a, const void *b) {
    const trip_t *x = a, *y = b;
    if (x->u != y->u) return x->u < y->u ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int tl_rec_matrix(tl_store_t *st, uint64_t from, uint64_t to, const tl_interact_opts_t *o,
                  tl_csr_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, eb), *items = tl_store_dict(st, TL_D_ITEM, eb);
    if (!users || !items) return TL_ENOMEM;
    mctx_t c = {o, from, to, tl_dict_count(users), tl_dict_count(items), NULL, NULL, 0, 0};
    uint8_t *wd = calloc((size_t)c.nusers + 1, 1);
    int rc = wd ? tl_store_consents_withdrawn(st, "profiling", INT64_MAX, wd, c.nusers, eb) : TL_ENOMEM;
    c.withdrawn = wd;
    if (!rc)
        rc = tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TYPE | TL_EVC_RATING | TL_EVC_TS,
                                   collect, &c, eb);
    free(wd);
    if (!rc && c.n) qsort(c.t, c.n, sizeof *c.t, cmp_trip); /* c.t is NULL when empty */
    out->nusers = c.nusers;
    out->nitems = c.nitems;
    out->rowptr = calloc((size_t)c.nusers + 1, sizeof *out->rowptr);
    out->col = malloc((c.n ? c.n : 1) * sizeof *out->col);
    out->val = malloc((c.n ? c.n : 1) * sizeof *out->val);
    if (!rc && (!out->rowptr || !out->col || !out->val)) rc = TL_ENOMEM;
    uint64_t k = 0;
    for (size_t i = 0; !rc && i < c.n; i++) {
        /* repeated interactions with an item add up (binary: stay 1) */
        if (k && c.t[i].u == c.t[i - 1].u && c.t[i].i == c.t[i - 1].i) {
            if (!o->binary) out->val[k - 1] += c.t[i].w;
            continue;
        }
        out->col[k] = c.t[i].i;
        out->val[k] = c.t[i].w;
        out->rowptr[c.t[i].u + 1]++;
        k++;
    }
    for (uint32_t u = 0; !rc && u < c.nusers; u++) out->rowptr[u + 1] += out->rowptr[u];
    out->nnz = k;
    free(c.t);
    if (rc) tl_csr_fini(out);
    return rc;
}

void tl_csr_fini(tl_csr_t *m) {
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* ---- models ---------------------------------------------------------------------- */

struct tl_model {
    tl_model_kind_t kind;
    uint32_t nitems, nusers, f;
    double *pop; /* POP: item scores */
    float *b;    /* EASE: nitems x nitems, row-major */
    float *xu, *yi; /* IALS: nusers x f and nitems x f factors */
    uint32_t k;     /* KNN: neighbours per item */
    uint32_t *nbr;  /* KNN: nitems x k neighbour items (TL_NONE pads) */
    float *sim;     /* KNN: their similarities */
    /* SEGPOP (pop holds the global counts too): ncats includes a last
     * "no category" code; row ngroups of pic and pcg is everybody's */
    uint32_t ncats, ngroups;
    uint32_t *icat, *ugroup; /* category of each item, group of each user */
    float *pic;              /* (ngroups + 1) x nitems: P(item | its category, group) */
    float *pcg;              /* (ngroups + 1) x ncats: P(category | group) */
    double *share;           /* BLEND (with b, xu, yi): EASE's share of the score */
    tl_interact_opts_t io;
};

void tl_model_set_interactions(tl_model_t *m, const tl_interact_opts_t *o) { m->io = *o; }
const tl_interact_opts_t *tl_model_interactions(const tl_model_t *m) { return &m->io; }

tl_model_kind_t tl_model_kind(const tl_model_t *m) { return m->kind; }

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

int tl_rec_train_pop(const tl_csr_t *x, tl_model_t **out) {
    tl_model_t *m = calloc(1, sizeof *m);
    if (!m || !(m->pop = calloc(x->nitems ? x->nitems : 1, sizeof *m->pop))) {
        tl_model_free(m);
        return TL_ENOMEM;
    }
    m->kind = TL_MODEL_POP;
    m->nitems = x->nitems;
    for (uint64_t k = 0; k < x->nnz; k++) m->pop[x->col[k]] += x->val[k];
    *out = m;
    return 0;
}

int tl_rec_train_ease(const tl_csr_t *x, double lambda, double dropout, tl_model_t **out,
                      tl_errbuf_t *eb) {
    uint32_t n = x->nitems;
    if (n == 0 || n > 40000) {
        tl_errbuf_set(eb, "EASE needs 1 to 40,000 items (this catalogue has %u)", n);
        return TL_EINVAL;
    }
    double *g = calloc((size_t)n * n, sizeof *g);
    tl_model_t *m = calloc(1, sizeof *m);
    if (!g || !m || !(m->b = malloc((size_t)n * n * sizeof *m->b))) {
        free(g);
        tl_model_free(m);
        return TL_ENOMEM;
    }
    /* G = X'X: for each user, every pair of the row's items (upper half) */
    for (uint32_t u = 0; u < x->nusers; u++)
        for (uint64_t a = x->rowptr[u]; a < x->rowptr[u + 1]; a++) {
            double va = x->val[a];
            double *gr = g + (size_t)x->col[a] * n;
            for (uint64_t c = a; c < x->rowptr[u + 1]; c++) gr[x->col[c]] += va * x->val[c];
        }
    double emph = dropout > 0 && dropout < 1 ? dropout / (1 - dropout) : 0;
    for (uint32_t i = 0; i < n; i++) g[(size_t)i * n + i] += lambda + emph * g[(size_t)i * n + i];
    /* P = G^-1 by Cholesky (G is symmetric positive definite for lambda > 0);
     * LAPACK's upper triangle in row-major is what was filled above */
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, g, (lapack_int)n);
    if (!info) info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, g, (lapack_int)n);
    if (info) {
        free(g);
        tl_model_free(m);
        tl_errbuf_set(eb, "EASE: the item Gram matrix is not positive definite (LAPACK info %d); "
                      "raise --lambda", (int)info);
        return TL_EINVAL;
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < i; j++) g[(size_t)i * n + j] = g[(size_t)j * n + i];
    /* B = -P / diag(P) by column, zero diagonal */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
            m->b[(size_t)i * n + j] = i == j ? 0.0f : (float)(-g[(size_t)i * n + j] / g[(size_t)j * n + j]);
    free(g);
    m->kind = TL_MODEL_EASE;
    m->nitems = n;
    *out = m;
    return 0;
}

/* ---- popularity by segment and taste ---------------------------------------------- */

#define SEGPOP_USER_PRIOR 20.0 /* pseudo-items of the segment's category mix in a user's mix */
#define SEGPOP_SEG_PRIOR 10.0 /* pseudo-users of everybody's choices in a segment's */

int tl_rec_train_segpop(const tl_csr_t *x, const uint32_t *item_cat, uint32_t ncats,
                        const uint32_t *user_group, uint32_t ngroups, tl_model_t **out) {
    uint32_t n = x->nitems, nc = ncats + 1, G = ngroups;
    tl_model_t *m = calloc(1, sizeof *m);
    double *ngi = calloc((size_t)(G + 1) * (n ? n : 1), sizeof *ngi); /* users per group, item */
    double *ngc = calloc((size_t)(G + 1) * nc, sizeof *ngc);          /* ... per group, category */
    double *ng = calloc(G + 1, sizeof *ng);                          /* interactions per group */
    if (!m || !ngi || !ngc || !ng || !(m->pop = calloc(n ? n : 1, sizeof *m->pop)) ||
        !(m->icat = malloc((n ? n : 1) * sizeof *m->icat)) ||
        !(m->ugroup = malloc((x->nusers ? x->nusers : 1) * sizeof *m->ugroup)) ||
        !(m->pic = malloc((size_t)(G + 1) * (n ? n : 1) * sizeof *m->pic)) ||
        !(m->pcg = malloc((size_t)(G + 1) * nc * sizeof *m->pcg))) {
        free(ngi), free(ngc), free(ng);
        tl_model_free(m);
        return TL_ENOMEM;
    }
    m->kind = TL_MODEL_SEGPOP;
    m->nitems = n, m->nusers = x->nusers, m->ncats = nc, m->ngroups = G;
    for (uint32_t i = 0; i < n; i++)
        m->icat[i] = item_cat && item_cat[i] < ncats ? item_cat[i] : ncats;
    for (uint32_t u = 0; u < x->nusers; u++) {
        uint32_t g = user_group && user_group[u] < G ? user_group[u] : G;
        m->ugroup[u] = g;
        for (uint64_t q = x->rowptr[u]; q < x->rowptr[u + 1]; q++) {
            uint32_t i = x->col[q], c = m->icat[i];
            double v = x->val[q];
            m->pop[i] += v, ngi[(size_t)G * n + i] += v, ngc[(size_t)G * nc + c] += v, ng[G] += v;
            if (g < G) ngi[(size_t)g * n + i] += v, ngc[(size_t)g * nc + c] += v, ng[g] += v;
        }
    }
    /* everybody's row first: P(c) and P(i | c); then each group's, shrunk
     * towards them by SEGPOP_SEG_PRIOR pseudo-users of the mean strength
     * (so weights and decay do not change how far) */
    const double *all_c = ngc + (size_t)G * nc;
    double kappa = SEGPOP_SEG_PRIOR * (x->nnz ? ng[G] / (double)x->nnz : 1);
    float *pc = m->pcg + (size_t)G * nc, *pi = m->pic + (size_t)G * n;
    for (uint32_t c = 0; c < nc; c++) pc[c] = ng[G] > 0 ? (float)(all_c[c] / ng[G]) : 1.0f / nc;
    for (uint32_t i = 0; i < n; i++) {
        double nci = all_c[m->icat[i]];
        pi[i] = nci > 0 ? (float)(m->pop[i] / nci) : 0.0f;
    }
    for (uint32_t g = 0; g < G; g++) {
        for (uint32_t c = 0; c < nc; c++)
            m->pcg[(size_t)g * nc + c] =
                (float)((ngc[(size_t)g * nc + c] + kappa * pc[c]) / (ng[g] + kappa));
        for (uint32_t i = 0; i < n; i++)
            m->pic[(size_t)g * n + i] = (float)((ngi[(size_t)g * n + i] + kappa * pi[i]) /
                                                (ngc[(size_t)g * nc + m->icat[i]] + kappa));
    }
    free(ngi), free(ngc), free(ng);
    *out = m;
    return 0;
}

/* P(category | user): the user's own mix of distinct items, shrunk towards
 * the segment's by SEGPOP_USER_PRIOR pseudo-items, times P(item | category,
 * segment), for the first k items (k <= the model's). Users unknown to the
 * model are everybody's. */
static void segpop_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k) {
    uint32_t n = m->nitems, nc = m->ncats, g = u < m->nusers ? m->ugroup[u] : m->ngroups;
    const float *pc = m->pcg + (size_t)g * nc, *pi = m->pic + (size_t)g * n;
    double *w = calloc(nc, sizeof *w), nu = 0;
    if (!w) { /* no room for the user's mix: the segment's alone */
        for (uint32_t i = 0; i < k; i++) s[i] = pc[m->icat[i]] * pi[i];
        return;
    }
    if (u < x->nusers)
        for (uint64_t q = x->rowptr[u]; q < x->rowptr[u + 1]; q++)
            if (x->col[q] < n) w[m->icat[x->col[q]]] += 1, nu += 1;
    for (uint32_t c = 0; c < nc; c++) w[c] = (w[c] + SEGPOP_USER_PRIOR * pc[c]) / (nu + SEGPOP_USER_PRIOR);
    for (uint32_t i = 0; i < k; i++) s[i] = (float)w[m->icat[i]] * pi[i];
    free(w);
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

int tl_rec_segpop_group(const tl_model_t *m, uint32_t user) {
    return m->kind == TL_MODEL_SEGPOP && user < m->nusers && m->ugroup[user] < m->ngroups;
}

/* ---- scoring ---------------------------------------------------------------------- */

/* s = sum of the EASE rows of the user's items (those the model knows),
 * weighted, for the first k items. */
static void ease_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k) {
    uint32_t n = m->nitems;
    memset(s, 0, k * sizeof *s);
    if (u >= x->nusers) return;
    for (uint64_t q = x->rowptr[u]; q < x->rowptr[u + 1]; q++) {
        if (x->col[q] >= n) continue; /* newer than the model */
        const float *row = m->b + (size_t)x->col[q] * n;
        float v = x->val[q];
        for (uint32_t i = 0; i < k; i++) s[i] += v * row[i];
    }
}

/* s = Y x_u for the first k items (zero for users the model has no
 * factors for). */
static void ials_scores(const tl_model_t *m, uint32_t u, float *s, uint32_t k) {
    if (u >= m->nusers || !k) {
        memset(s, 0, k * sizeof *s);
        return;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)k, (int)m->f, 1.0f, m->yi, (int)m->f,
                m->xu + (size_t)u * m->f, 1, 0.0f, s, 1);
}

static void standardise(float *v, uint32_t n) {
    double mean = 0, var = 0;
    for (uint32_t i = 0; i < n; i++) mean += v[i];
    mean /= n ? n : 1;
    for (uint32_t i = 0; i < n; i++) var += (v[i] - mean) * (v[i] - mean);
    double sd = sqrt(var / (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) v[i] = sd > 0 ? (float)((v[i] - mean) / sd) : 0.0f;
}

/* The score of an item the model cannot score (it is newer than the
 * model): below every score, and left out of every list. */
#define UNSCORED (-INFINITY)

/* Scores user u's items into s, which has n entries whatever the model's
 * size: the catalogue may have grown (or, for a model from elsewhere,
 * shrunk) since training. Items beyond the model get UNSCORED. */
static void scores_for(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t n) {
    uint32_t k = n < m->nitems ? n : m->nitems;
    for (uint32_t i = k; i < n; i++) s[i] = UNSCORED;
    if (m->kind == TL_MODEL_POP) {
        for (uint32_t i = 0; i < k; i++) s[i] = (float)m->pop[i];
        return;
    }
    if (m->kind == TL_MODEL_SEGPOP) {
        segpop_scores(m, x, u, s, k);
        return;
    }
    if (m->kind == TL_MODEL_KNN) {
        memset(s, 0, k * sizeof *s);
        if (u >= x->nusers) return;
        for (uint64_t q = x->rowptr[u]; q < x->rowptr[u + 1]; q++) {
            uint32_t j = x->col[q];
            if (j >= m->nitems) continue;
            const uint32_t *nb = m->nbr + (size_t)j * m->k;
            const float *sm = m->sim + (size_t)j * m->k;
            for (uint32_t t = 0; t < m->k && nb[t] != TL_NONE; t++)
                if (nb[t] < k) s[nb[t]] += x->val[q] * sm[t];
        }
        return;
    }
    if (m->kind == TL_MODEL_IALS) {
        ials_scores(m, u, s, k);
        return;
    }
    ease_scores(m, x, u, s, k);
    float *t = m->kind == TL_MODEL_BLEND ? malloc((size_t)(k ? k : 1) * sizeof *t) : NULL;
    if (!t) return; /* EASE, or no room for the blend: EASE alone */
    ials_scores(m, u, t, k);
    standardise(s, k);
    standardise(t, k);
    double w = *m->share;
    for (uint32_t i = 0; i < k; i++) s[i] = (float)(w * s[i] + (1 - w) * t[i]);
    free(t);
}

static int popular_kind(const tl_model_t *m) {
    return m->kind == TL_MODEL_POP || m->kind == TL_MODEL_SEGPOP;
}

/* 1 if the model can score user u by what it learnt: popularity scores
 * anybody; the others need an item of the user's row that they know, and
 * iALS the user's factors too (none for a user newer than the model, or
 * erased from it). */
static int model_knows(const tl_model_t *m, const tl_csr_t *x, uint32_t u) {
    if (popular_kind(m)) return 1;
    int row = 0, factors = 0;
    for (uint64_t q = u < x->nusers ? x->rowptr[u] : 0; u < x->nusers && q < x->rowptr[u + 1] && !row; q++)
        row = x->col[q] < m->nitems;
    for (uint32_t f = 0; m->xu && u < m->nusers && f < m->f && !factors; f++)
        factors = m->xu[(size_t)u * m->f + f] != 0;
    return row && (m->kind != TL_MODEL_IALS || factors);
}

int tl_rec_train_blend(const tl_csr_t *x, double lambda, double dropout, const tl_ials_opts_t *o,
                       double ease_share, tl_model_t **out, tl_errbuf_t *eb) {
    tl_model_t *m = NULL, *f = NULL;
    int rc = tl_rec_train_ease(x, lambda, dropout, &m, eb);
    if (!rc) rc = tl_rec_train_ials(x, o, &f, eb);
    if (!rc && !(m->share = malloc(sizeof *m->share))) rc = TL_ENOMEM;
    if (rc) {
        tl_model_free(m), tl_model_free(f);
        return rc;
    }
    m->kind = TL_MODEL_BLEND;
    *m->share = ease_share;
    m->xu = f->xu, m->yi = f->yi, m->f = f->f, m->nusers = f->nusers;
    f->xu = f->yi = NULL;
    tl_model_free(f);
    *out = m;
    return 0;
}

/* Keeps the best n of (item, score) in a small sorted array. */
static uint32_t select_top(const float *s, uint32_t nitems, const tl_csr_t *x, uint32_t u,
                           uint32_t n, uint32_t *items, float *scores) {
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
    scores_for(m, train, user, s, m->nitems);
    uint32_t got = select_top(s, m->nitems, train, user, n, items, scores);
    free(s);
    return got;
}

/* ---- content: new items --------------------------------------------------------------------- */

#define CONTENT_K 5 /* alike items a new item scores by */

struct tl_content {
    uint32_t n;
    uint32_t *cat[3];   /* codes of the path at 1 and 2 levels and in full */
    uint32_t *brand;    /* code, TL_NONE none */
    double *price;      /* NaN none */
    uint8_t *warm;      /* after link: 1 if the item had interactions */
    uint32_t *nbr;      /* after link: n x CONTENT_K alike warm items (TL_NONE pads) */
    float *sim;
};

typedef struct {
    tl_content_t *c;
    tl_dict_t *brands;
    int rc;
} brandctx_t;

static int brand_row(int ncol, const char *const *col, void *arg) {
    brandctx_t *x = arg;
    if (ncol != 3 || !col[0]) return 0;
    uint32_t i = (uint32_t)strtoul(col[0], NULL, 10);
    if (i >= x->c->n) return 0;
    if (col[1] && *col[1] && tl_dict_intern(x->brands, col[1], strlen(col[1]), &x->c->brand[i], NULL))
        return x->rc = TL_ENOMEM;
    if (col[2] && *col[2]) x->c->price[i] = strtod(col[2], NULL);
    return 0;
}

void tl_rec_content_free(tl_content_t *c) {
    if (!c) return;
    for (int l = 0; l < 3; l++) free(c->cat[l]);
    free(c->brand), free(c->price), free(c->warm), free(c->nbr), free(c->sim);
    free(c);
}

int tl_rec_content_load(tl_store_t *st, uint32_t nitems, tl_content_t **out, tl_errbuf_t *eb) {
    tl_content_t *c = calloc(1, sizeof *c);
    size_t n = nitems ? nitems : 1;
    if (!c) return TL_ENOMEM;
    c->n = nitems;
    c->brand = malloc(n * sizeof *c->brand);
    c->price = malloc(n * sizeof *c->price);
    brandctx_t x = {c, tl_dict_new(), 0};
    int rc = c->brand && c->price && x.brands ? 0 : TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < nitems; i++) c->brand[i] = TL_NONE, c->price[i] = NAN;
    static const uint32_t levels[3] = {1, 2, 0};
    for (int l = 0; !rc && l < 3; l++) {
        tl_dict_t *names = NULL;
        rc = tl_rec_item_categories(st, nitems, levels[l], &c->cat[l], &names, eb);
        tl_dict_free(names);
    }
    if (!rc) rc = tl_store_query(st, "SELECT idx, brand, price FROM items", brand_row, &x, eb);
    if (!rc) rc = x.rc;
    tl_dict_free(x.brands);
    if (rc) {
        tl_rec_content_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static float content_sim(const tl_content_t *c, uint32_t a, uint32_t b) {
    float s = 0;
    if (c->cat[0][a] != TL_NONE && c->cat[0][a] == c->cat[0][b])
        s += c->cat[2][a] == c->cat[2][b] ? 0.6f : c->cat[1][a] == c->cat[1][b] ? 0.4f : 0.2f;
    if (c->brand[a] != TL_NONE && c->brand[a] == c->brand[b]) s += 0.25f;
    double pa = c->price[a], pb = c->price[b];
    if (pa > 0 && pb > 0) {
        double r = fabs(log(pa / pb)) / log(4.0);
        if (r < 1) s += (float)(0.15 * (1 - r));
    }
    return s;
}

uint32_t tl_rec_content_similar(const tl_content_t *c, uint32_t item, uint32_t n, uint32_t *items,
                                float *sims) {
    if (item >= c->n || !n) return 0;
    uint32_t got = 0;
    for (uint32_t j = 0; j < c->n; j++) {
        if (j == item || (c->warm && !c->warm[j])) continue;
        float v = content_sim(c, item, j);
        if (v <= 0 || (got == n && v <= sims[n - 1])) continue;
        uint32_t p = got < n ? got++ : n - 1;
        while (p > 0 && sims[p - 1] < v) sims[p] = sims[p - 1], items[p] = items[p - 1], p--;
        sims[p] = v, items[p] = j;
    }
    return got;
}

int tl_rec_content_link(tl_content_t *c, const tl_csr_t *train, uint32_t known) {
    free(c->warm), free(c->nbr), free(c->sim);
    size_t n = c->n ? c->n : 1;
    c->warm = calloc(n, 1);
    c->nbr = malloc(n * CONTENT_K * sizeof *c->nbr);
    c->sim = malloc(n * CONTENT_K * sizeof *c->sim);
    if (!c->warm || !c->nbr || !c->sim) return TL_ENOMEM;
    for (uint64_t q = 0; q < train->nnz; q++)
        if (train->col[q] < c->n && train->col[q] < known) c->warm[train->col[q]] = 1;
    for (size_t k = 0; k < n * CONTENT_K; k++) c->nbr[k] = TL_NONE, c->sim[k] = 0;
    for (uint32_t i = 0; i < c->n; i++)
        if (!c->warm[i] && c->cat[0][i] != TL_NONE)
            tl_rec_content_similar(c, i, CONTENT_K, c->nbr + (size_t)i * CONTENT_K,
                                   c->sim + (size_t)i * CONTENT_K);
    return 0;
}

/* New items score as the similarity-weighted mean of their alike items,
 * times the mean similarity (weak likeness, weak score); an alike item the
 * user already had (seen, may be NULL) counts as the best score of the
 * rest, since having it is the strongest sign. */
static void content_fill(const tl_content_t *c, float *s, uint32_t n, const uint8_t *seen) {
    if (!c || !c->nbr) return;
    float best = -INFINITY;
    for (uint32_t i = 0; i < n; i++)
        if (!(seen && seen[i]) && (i >= c->n || c->warm[i]) && s[i] > best) best = s[i];
    for (uint32_t i = 0; i < n && i < c->n; i++) {
        if (c->warm[i]) continue;
        double num = 0, den = 0;
        uint32_t k = 0;
        for (; k < CONTENT_K; k++) {
            uint32_t j = c->nbr[(size_t)i * CONTENT_K + k];
            if (j == TL_NONE || j >= n) break;
            float w = c->sim[(size_t)i * CONTENT_K + k];
            num += w * (seen && seen[j] && best > -INFINITY ? best : s[j]), den += w;
        }
        if (den > 0) s[i] = (float)(num / den * (den / k)); /* weak likeness, weak score */
    }
}

/* ---- evaluation ---------------------------------------------------------------------- */

typedef struct {
    const tl_model_t *m;
    const tl_csr_t *train, *test;
    const tl_eval_opts_t *o;
    const double *logpop; /* -log2 share of training users per item */
    const float *pop;     /* training users per item: the cold-start scores */
    uint32_t k, from, to, cold;
    tl_eval_part_t all, group[TL_EVAL_MAX_GROUPS];
    double novelty, diversity;
    uint32_t lists;
    uint32_t *shown; /* times each item was recommended */
} evjob_t;

static void add_part(tl_eval_part_t *p, double prec, double rec, double ndcg, double map, int hit) {
    p->users++;
    p->precision += prec, p->recall += rec, p->ndcg += ndcg, p->map += map, p->hit_rate += hit;
}

static void *eval_part(void *arg) {
    evjob_t *j = arg;
    uint32_t n = j->m->nitems;
    float *s = malloc((size_t)(n ? n : 1) * sizeof *s), *top_s = malloc(j->k * sizeof *top_s);
    uint8_t *seen = j->o->content ? calloc(n ? n : 1, 1) : NULL;
    uint32_t *top = malloc(j->k * sizeof *top);
    if (!s || !top_s || !top || (j->o->content && !seen)) goto done;
    for (uint32_t u = j->from; u < j->to; u++) {
        uint64_t a = j->test->rowptr[u], b = j->test->rowptr[u + 1];
        if (a == b) continue;
        if (j->train->rowptr[u] == j->train->rowptr[u + 1]) {
            /* no history: the popular items, as served */
            if (j->o->cold && j->o->cold->nitems == n) scores_for(j->o->cold, j->train, u, s, n);
            else memcpy(s, j->pop, n * sizeof *s);
            j->cold++;
        } else {
            scores_for(j->m, j->train, u, s, n);
        }
        if (seen && !popular_kind(j->m)) { /* the user's training items, for new items */
            for (uint64_t q = j->train->rowptr[u]; q < j->train->rowptr[u + 1]; q++)
                if (j->train->col[q] < n) seen[j->train->col[q]] = 1;
            content_fill(j->o->content, s, n, seen);
            for (uint64_t q = j->train->rowptr[u]; q < j->train->rowptr[u + 1]; q++)
                if (j->train->col[q] < n) seen[j->train->col[q]] = 0;
        }
        uint32_t got = select_top(s, n, j->train, u, j->k, top, top_s);
        uint32_t hits = 0, ntest = (uint32_t)(b - a);
        double dcg = 0, ap = 0, nov = 0;
        for (uint32_t r = 0; r < got; r++) {
            j->shown[top[r]]++;
            nov += j->logpop[top[r]];
            /* test rows are sorted: binary search */
            uint64_t lo = a, hi = b;
            while (lo < hi) {
                uint64_t mid = (lo + hi) / 2;
                if (j->test->col[mid] < top[r]) lo = mid + 1;
                else hi = mid;
            }
            if (lo < b && j->test->col[lo] == top[r]) {
                hits++;
                dcg += 1.0 / log2(r + 2.0);
                ap += (double)hits / (r + 1);
            }
        }
        if (got) {
            j->novelty += nov / got;
            if (j->o->item_cat && got > 1) {
                uint32_t diff = 0, pairs = 0;
                for (uint32_t x = 0; x < got; x++)
                    for (uint32_t y = x + 1; y < got; y++, pairs++)
                        diff += j->o->item_cat[top[x]] != j->o->item_cat[top[y]];
                j->diversity += (double)diff / pairs;
            }
            j->lists++;
        }
        uint32_t cut = ntest < j->k ? ntest : j->k;
        double idcg = 0;
        for (uint32_t r = 0; r < cut; r++) idcg += 1.0 / log2(r + 2.0);
        double prec = (double)hits / j->k, rec = (double)hits / ntest, nd = dcg / idcg,
               mp = ap / cut;
        add_part(&j->all, prec, rec, nd, mp, hits > 0);
        uint32_t g = j->o->group ? j->o->group[u] : TL_NONE;
        if (g != TL_NONE && g < j->o->ngroups && g < TL_EVAL_MAX_GROUPS)
            add_part(&j->group[g], prec, rec, nd, mp, hits > 0);
    }
done:
    free(s), free(top_s), free(top), free(seen);
    return NULL;
}

static void finish_part(tl_eval_part_t *out, const tl_eval_part_t *a, const tl_eval_part_t *b) {
    out->users = a->users + b->users;
    if (!out->users) return;
    out->precision = (a->precision + b->precision) / out->users;
    out->recall = (a->recall + b->recall) / out->users;
    out->ndcg = (a->ndcg + b->ndcg) / out->users;
    out->map = (a->map + b->map) / out->users;
    out->hit_rate = (a->hit_rate + b->hit_rate) / out->users;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int tl_rec_eval(const tl_model_t *m, const tl_csr_t *train, const tl_csr_t *test,
                const tl_eval_opts_t *o, tl_eval_t *out) {
    memset(out, 0, sizeof *out);
    uint32_t k = o->k, ni = m->nitems ? m->nitems : 1;
    if (!k || test->nusers > train->nusers || m->nitems < train->nitems) return TL_EINVAL;
    /* one "shown" table per thread, merged at the end */
    uint32_t *shown = calloc(2 * (size_t)ni, sizeof *shown);
    double *logpop = malloc(ni * sizeof *logpop);
    float *pop = calloc(ni, sizeof *pop);
    if (!shown || !logpop || !pop) {
        free(shown), free(logpop), free(pop);
        return TL_ENOMEM;
    }
    uint32_t trained = 0;
    for (uint32_t u = 0; u < train->nusers; u++) trained += train->rowptr[u + 1] > train->rowptr[u];
    for (uint64_t q = 0; q < train->nnz; q++) pop[train->col[q]] += 1;
    for (uint32_t i = 0; i < ni; i++)
        logpop[i] = -log2((pop[i] + 1) / ((double)trained + 1)); /* +1: unseen items finite */
    evjob_t j[2];
    for (int h = 0; h < 2; h++) {
        memset(&j[h], 0, sizeof j[h]);
        j[h].m = m, j[h].train = train, j[h].test = test, j[h].o = o, j[h].logpop = logpop, j[h].pop = pop;
        j[h].k = k, j[h].shown = shown + (size_t)h * ni;
        j[h].from = h ? test->nusers / 2 : 0, j[h].to = h ? test->nusers : test->nusers / 2;
    }
    pthread_t th;
    int threaded = pthread_create(&th, NULL, eval_part, &j[1]) == 0;
    eval_part(&j[0]);
    if (threaded) pthread_join(th, NULL);
    else eval_part(&j[1]);
    tl_eval_part_t all;
    finish_part(&all, &j[0].all, &j[1].all);
    out->k = k, out->users = all.users, out->cold = j[0].cold + j[1].cold;
    out->precision = all.precision, out->recall = all.recall, out->ndcg = all.ndcg;
    out->map = all.map, out->hit_rate = all.hit_rate;
    for (uint32_t g = 0; g < o->ngroups && g < TL_EVAL_MAX_GROUPS; g++)
        finish_part(&out->group[g], &j[0].group[g], &j[1].group[g]);
    uint32_t lists = j[0].lists + j[1].lists;
    if (lists) {
        out->novelty = (j[0].novelty + j[1].novelty) / lists;
        out->diversity = (j[0].diversity + j[1].diversity) / lists;
    }
    /* coverage and the Gini coefficient of exposure over the catalogue */
    uint32_t c = 0;
    double total = 0, weighted = 0;
    for (uint32_t i = 0; i < ni; i++) {
        shown[i] += shown[ni + i];
        c += shown[i] > 0;
        total += shown[i];
    }
    qsort(shown, ni, sizeof *shown, cmp_u32);
    for (uint32_t i = 0; i < ni; i++) weighted += (double)(i + 1) * shown[i];
    out->coverage = (double)c / ni;
    out->gini = total > 0 ? (2 * weighted) / (ni * total) - (ni + 1.0) / ni : 0;
    free(shown), free(logpop), free(pop);
    return 0;
}

void tl_csr_drop_seen(tl_csr_t *test, const tl_csr_t *train) {
    uint64_t w = 0;
    for (uint32_t u = 0; u < test->nusers; u++) {
        uint64_t a = test->rowptr[u], b = test->rowptr[u + 1];
        uint64_t p = u < train->nusers ? train->rowptr[u] : 0,
                 pe = u < train->nusers ? train->rowptr[u + 1] : 0;
        test->rowptr[u] = w;
        for (uint64_t q = a; q < b; q++) { /* both rows ascend: one merge pass */
            while (p < pe && train->col[p] < test->col[q]) p++;
            if (p < pe && train->col[p] == test->col[q]) continue;
            test->col[w] = test->col[q], test->val[w++] = test->val[q];
        }
    }
    test->rowptr[test->nusers] = w;
    test->nnz = w;
}

/* ---- user groups ----------------------------------------------------------------------- */

static const char *const AGE_BANDS[] = {"under 25", "25-34", "35-44", "45-54", "55 and over"};

typedef struct {
    tl_user_groups_t *g;
    tl_group_by_t by;
    int year; /* ages are in this year */
} groupctx_t;

static int age_band(int year, const char *birth) {
    int born = birth ? atoi(birth) : 0;
    if (born <= 0) return -1;
    int age = year - born;
    return age < 25 ? 0 : age < 35 ? 1 : age < 45 ? 2 : age < 55 ? 3 : 4;
}

static int group_row(int n, const char *const *cols, void *arg) {
    groupctx_t *x = arg;
    tl_user_groups_t *g = x->g;
    if (n != 3 || !cols[0]) return 0;
    uint64_t u = strtoull(cols[0], NULL, 10);
    if (u >= g->nusers) return 0;
    const char *gender = cols[1] && *cols[1] ? cols[1] : NULL;
    int band = age_band(x->year, cols[2]);
    if (x->by == TL_GROUP_AGE) {
        if (band >= 0) g->group[u] = (uint32_t)band;
    } else if (x->by == TL_GROUP_SEGMENT) {
        int sex = !gender ? -1 : (*gender | 0x20) == 'f' || (*gender | 0x20) == 'w' ? 0
                                 : (*gender | 0x20) == 'm' ? 1 : -1;
        if (band >= 0 && sex >= 0) g->group[u] = (uint32_t)(band * 2 + sex);
    } else if (gender) {
        uint32_t k = 0;
        while (k < g->ngroups && strcmp(g->names[k], gender) != 0) k++;
        if (k == g->ngroups) {
            if (k == TL_EVAL_MAX_GROUPS) return 0; /* more values than groups: the rest unmarked */
            snprintf(g->names[k], sizeof g->names[k], "%s", gender);
            g->ngroups++;
        }
        g->group[u] = k;
    }
    return 0;
}

int tl_rec_user_groups(tl_store_t *st, uint32_t nusers, tl_group_by_t by, int64_t ref_ms,
                       tl_user_groups_t *g, tl_errbuf_t *eb) {
    memset(g, 0, sizeof *g);
    g->nusers = nusers;
    g->group = malloc((size_t)(nusers ? nusers : 1) * sizeof *g->group);
    if (!g->group) return TL_ENOMEM;
    for (uint32_t u = 0; u < nusers; u++) g->group[u] = TL_NONE;
    char day[32];
    tl_time_format(ref_ms, day);
    groupctx_t x = {g, by, atoi(day)};
    if (by == TL_GROUP_AGE) {
        g->ngroups = 5;
        for (int k = 0; k < 5; k++) snprintf(g->names[k], sizeof g->names[k], "%s", AGE_BANDS[k]);
    } else if (by == TL_GROUP_SEGMENT) {
        g->ngroups = 10;
        for (int k = 0; k < 10; k++)
            snprintf(g->names[k], sizeof g->names[k], "%s %s", k % 2 ? "m" : "f", AGE_BANDS[k / 2]);
    }
    int rc = tl_store_query(st, "SELECT idx, gender, birth_year FROM users ORDER BY gender",
                            group_row, &x, eb);
    if (rc) tl_user_groups_fini(g);
    return rc;
}

void tl_user_groups_fini(tl_user_groups_t *g) {
    free(g->group);
    g->group = NULL;
}

/* ---- scene items ------------------------------------------------------------------------ */

/* Per user with carts or purchases: each item's latest cart and purchase
 * times, and the latest purchase. */
typedef struct {
    uint32_t n, cap;
    uint32_t *item;
    int64_t *cart, *buy;
    int64_t last_buy;
} usc_t;

struct tl_scenes {
    usc_t **u;      /* by user; NULL: none yet */
    uint32_t nu;
    uint32_t only;  /* TL_NONE, or the one user followed */
};

int tl_scenes_new(uint32_t only, tl_scenes_t **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return TL_ENOMEM;
    (*out)->only = only;
    return 0;
}

void tl_scenes_free(tl_scenes_t *s) {
    if (!s) return;
    for (uint32_t u = 0; u < s->nu; u++)
        if (s->u[u]) free(s->u[u]->item), free(s->u[u]->cart), free(s->u[u]->buy), free(s->u[u]);
    free(s->u);
    free(s);
}

int tl_scenes_add(tl_scenes_t *s, uint32_t user, uint32_t item, uint8_t type, int64_t ts) {
    int cart = type == TL_EV_CART, buy = type == TL_EV_PURCHASE;
    if ((!cart && !buy) || item == TL_NONE || user == TL_NONE || (s->only != TL_NONE && user != s->only)) return 0;
    uint32_t slot = s->only != TL_NONE ? 0 : user;
    if (slot >= s->nu) {
        uint32_t nn = slot + 1 > 2 * s->nu ? slot + 1 : 2 * s->nu;
        usc_t **nu = realloc(s->u, nn * sizeof *nu);
        if (!nu) return TL_ENOMEM;
        memset(nu + s->nu, 0, (nn - s->nu) * sizeof *nu);
        s->u = nu, s->nu = nn;
    }
    usc_t *c = s->u[slot];
    if (!c) {
        if (!(c = s->u[slot] = calloc(1, sizeof *c))) return TL_ENOMEM;
        c->last_buy = INT64_MIN;
    }
    uint32_t q = 0;
    while (q < c->n && c->item[q] != item) q++;
    if (q == c->n) {
        if (c->n == c->cap) {
            uint32_t nc = c->cap ? 2 * c->cap : 4;
            uint32_t *it = realloc(c->item, nc * sizeof *it);
            if (it) c->item = it;
            int64_t *ca = it ? realloc(c->cart, nc * sizeof *ca) : NULL;
            if (ca) c->cart = ca;
            int64_t *bu = ca ? realloc(c->buy, nc * sizeof *bu) : NULL;
            if (!bu) return TL_ENOMEM;
            c->buy = bu, c->cap = nc;
        }
        c->item[q] = item, c->cart[q] = c->buy[q] = INT64_MIN, c->n++;
    }
    int64_t *t = cart ? &c->cart[q] : &c->buy[q];
    if (ts > *t) *t = ts;
    if (buy && ts > c->last_buy) c->last_buy = ts;
    return 0;
}

static int scenes_block(const tl_evblock_t *b, void *arg) {
    int rc = 0;
    for (uint32_t k = 0; k < b->n && !rc; k++) rc = tl_scenes_add(arg, b->user[k], b->item[k], b->type[k], b->ts[k]);
    return rc;
}

int tl_scenes_scan(tl_scenes_t *s, tl_store_t *st, tl_errbuf_t *eb) {
    return tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TYPE | TL_EVC_TS, scenes_block, s, eb);
}

uint32_t tl_scenes_items(const tl_scenes_t *s, uint32_t user, tl_scene_t scene, uint32_t max,
                         uint32_t *items) {
    uint32_t slot = s->only != TL_NONE ? (user == s->only ? 0 : TL_NONE) : user;
    const usc_t *c = slot < s->nu ? s->u[slot] : NULL;
    uint32_t n = 0;
    /* the scene's items, latest first, by selection (a user's list is short) */
    while (c && n < max) {
        uint32_t best = TL_NONE;
        int64_t bt = INT64_MIN;
        for (uint32_t q = 0; q < c->n; q++) {
            int taken = 0;
            for (uint32_t k = 0; k < n && !taken; k++) taken = items[k] == c->item[q];
            int64_t t = taken                   ? INT64_MIN
                        : scene == TL_SCENE_CART ? (c->cart[q] > c->buy[q] ? c->cart[q] : INT64_MIN)
                        : c->buy[q] != INT64_MIN && c->buy[q] >= c->last_buy - 3600000 ? c->buy[q]
                                                                                        : INT64_MIN;
            if (t > bt) bt = t, best = q;
        }
        if (best == TL_NONE) break;
        items[n++] = c->item[best];
    }
    return n;
}

int tl_rec_scene_items(tl_store_t *st, uint32_t user, tl_scene_t scene, uint32_t max,
                       uint32_t *items, uint32_t *n, tl_errbuf_t *eb) {
    tl_scenes_t *s;
    *n = 0;
    int rc = tl_scenes_new(user, &s);
    if (!rc) rc = tl_scenes_scan(s, st, eb);
    if (!rc) *n = tl_scenes_items(s, user, scene, max, items);
    tl_scenes_free(s);
    return rc;
}

/* ---- leave-last-out -------------------------------------------------------------------- */

typedef struct {
    const tl_interact_opts_t *o;
    uint32_t nusers, nitems;
    int64_t *last_ts;
    uint32_t *last_item;
} lastctx_t;

static int last_block(const tl_evblock_t *b, void *arg) {
    lastctx_t *c = arg;
    for (uint32_t k = 0; k < b->n; k++) {
        uint32_t u = b->user[k], i = b->item[k];
        if (i == TL_NONE || u >= c->nusers || i >= c->nitems || c->o->weight[b->type[k]] <= 0) continue;
        if (b->type[k] == TL_EV_RATE && !isnan(c->o->min_rating) && !(b->rating[k] >= c->o->min_rating))
            continue;
        if (c->o->ts_to && (b->ts[k] < c->o->ts_from || b->ts[k] >= c->o->ts_to)) continue;
        if (b->ts[k] > c->last_ts[u] || (b->ts[k] == c->last_ts[u] && i > c->last_item[u]))
            c->last_ts[u] = b->ts[k], c->last_item[u] = i;
    }
    return 0;
}

int tl_rec_matrix_last(tl_store_t *st, const tl_interact_opts_t *o, tl_csr_t *train,
                       tl_csr_t *test, tl_errbuf_t *eb) {
    tl_csr_t all;
    int rc = tl_rec_matrix(st, 0, UINT64_MAX, o, &all, eb);
    if (rc) return rc;
    lastctx_t c = {o, all.nusers, all.nitems, malloc((size_t)(all.nusers ? all.nusers : 1) * 8),
                   malloc((size_t)(all.nusers ? all.nusers : 1) * 4)};
    if (!c.last_ts || !c.last_item) rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < all.nusers; u++) c.last_ts[u] = INT64_MIN, c.last_item[u] = TL_NONE;
    if (!rc) rc = tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TYPE | TL_EVC_RATING |
                                                TL_EVC_TS, last_block, &c, eb);
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!rc) {
        train->nusers = test->nusers = all.nusers;
        train->nitems = test->nitems = all.nitems;
        train->rowptr = calloc((size_t)all.nusers + 1, sizeof *train->rowptr);
        test->rowptr = calloc((size_t)all.nusers + 1, sizeof *test->rowptr);
        train->col = malloc((all.nnz ? all.nnz : 1) * sizeof *train->col);
        train->val = malloc((all.nnz ? all.nnz : 1) * sizeof *train->val);
        test->col = malloc((size_t)(all.nusers ? all.nusers : 1) * sizeof *test->col);
        test->val = malloc((size_t)(all.nusers ? all.nusers : 1) * sizeof *test->val);
        if (!train->rowptr || !test->rowptr || !train->col || !train->val || !test->col || !test->val)
            rc = TL_ENOMEM;
    }
    for (uint32_t u = 0; !rc && u < all.nusers; u++) {
        uint64_t a = all.rowptr[u], b = all.rowptr[u + 1];
        int split = b - a >= 2 && c.last_item[u] != TL_NONE;
        for (uint64_t q = a; q < b; q++) {
            if (split && all.col[q] == c.last_item[u]) {
                test->col[test->nnz] = all.col[q], test->val[test->nnz++] = all.val[q];
            } else {
                train->col[train->nnz] = all.col[q], train->val[train->nnz++] = all.val[q];
            }
        }
        train->rowptr[u + 1] = train->nnz;
        test->rowptr[u + 1] = test->nnz;
    }
    free(c.last_ts), free(c.last_item);
    tl_csr_fini(&all);
    if (rc) tl_csr_fini(train), tl_csr_fini(test);
    return rc;
}

/* ---- implicit ALS ---------------------------------------------------------------------- */

void tl_ials_opts_default(tl_ials_opts_t *o) {
    o->factors = 64;
    o->iterations = 15;
    o->cg_steps = 3;
    o->alpha = 5;   /* tuned on MovieLens 100K u1 (docs/BENCHMARKS.md) */
    o->reg = 50;
    o->seed = 1;
}

/* The transpose of a CSR (items x users). */
static int transpose(const tl_csr_t *x, tl_csr_t *t) {
    memset(t, 0, sizeof *t);
    t->nusers = x->nitems, t->nitems = x->nusers, t->nnz = x->nnz;
    t->rowptr = calloc((size_t)x->nitems + 1, sizeof *t->rowptr);
    t->col = malloc((x->nnz ? x->nnz : 1) * sizeof *t->col);
    t->val = malloc((x->nnz ? x->nnz : 1) * sizeof *t->val);
    if (!t->rowptr || !t->col || !t->val) {
        tl_csr_fini(t);
        return TL_ENOMEM;
    }
    for (uint64_t k = 0; k < x->nnz; k++) t->rowptr[x->col[k] + 1]++;
    for (uint32_t i = 0; i < x->nitems; i++) t->rowptr[i + 1] += t->rowptr[i];
    uint64_t *next = malloc(((size_t)x->nitems + 1) * sizeof *next);
    if (!next) {
        tl_csr_fini(t);
        return TL_ENOMEM;
    }
    memcpy(next, t->rowptr, ((size_t)x->nitems + 1) * sizeof *next);
    for (uint32_t u = 0; u < x->nusers; u++)
        for (uint64_t k = x->rowptr[u]; k < x->rowptr[u + 1]; k++) {
            uint64_t p = next[x->col[k]]++;
            t->col[p] = u;
            t->val[p] = x->val[k];
        }
    free(next);
    return 0;
}

typedef struct {
    const tl_csr_t *r;    /* rows: the side being solved */
    float *x;             /* that side's factors (rows x f) */
    const float *y;       /* the other side's factors */
    const float *gram;    /* Y'Y (f x f) */
    uint32_t f, from, to, steps, maxrow;
    float alpha, reg;
} cg_job_t;

static float dot(const float *a, const float *b, uint32_t f) { return cblas_sdot((int)f, a, 1, b, 1); }

/* A v for one row whose other-side factors are gathered in yu (n x f) with
 * confidence weights c: (Y'Y + reg I) v + Yu' (c .* (Yu v)). BLAS does the
 * arithmetic; t is scratch of n floats. */
static void apply_a(const cg_job_t *j, const float *yu, const float *c, uint32_t n, const float *v,
                    float *out, float *t) {
    int f = (int)j->f;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, f, f, 1.0f, j->gram, f, v, 1, 0.0f, out, 1);
    cblas_saxpy(f, j->reg, v, 1, out, 1);
    if (!n) return;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, f, 1.0f, yu, f, v, 1, 0.0f, t, 1);
    for (uint32_t k = 0; k < n; k++) t[k] *= c[k];
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, f, 1.0f, yu, f, t, 1, 1.0f, out, 1);
}

static void *cg_part(void *arg) {
    cg_job_t *j = arg;
    uint32_t f = j->f;
    float *res = malloc(4 * (size_t)f * sizeof *res);
    float *yu = malloc(((size_t)j->maxrow + 1) * f * sizeof *yu);
    float *c = malloc(((size_t)j->maxrow + 1) * 2 * sizeof *c);
    if (!res || !yu || !c) {
        free(res), free(yu), free(c);
        return NULL;
    }
    float *p = res + f, *ap = p + f, *b = ap + f, *t = c + j->maxrow + 1;
    for (uint32_t u = j->from; u < j->to; u++) {
        float *x = j->x + (size_t)u * f;
        uint64_t r0 = j->r->rowptr[u];
        uint32_t n = (uint32_t)(j->r->rowptr[u + 1] - r0);
        /* gather the row's other-side factors once for all CG steps */
        for (uint32_t k = 0; k < n; k++) {
            memcpy(yu + (size_t)k * f, j->y + (size_t)j->r->col[r0 + k] * f, f * sizeof *yu);
            c[k] = j->alpha * j->r->val[r0 + k];
        }
        /* b = Yu' (1 + c); the residual b - A x */
        for (uint32_t k = 0; k < n; k++) t[k] = 1 + c[k];
        if (n) cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, (int)f, 1.0f, yu, (int)f, t, 1, 0.0f, b, 1);
        else memset(b, 0, f * sizeof *b);
        apply_a(j, yu, c, n, x, ap, t);
        for (uint32_t a = 0; a < f; a++) res[a] = b[a] - ap[a], p[a] = res[a];
        float rr = dot(res, res, f);
        for (uint32_t it = 0; it < j->steps && rr > 1e-12f; it++) {
            apply_a(j, yu, c, n, p, ap, t);
            float alpha = rr / dot(p, ap, f);
            cblas_saxpy((int)f, alpha, p, 1, x, 1);
            cblas_saxpy((int)f, -alpha, ap, 1, res, 1);
            float rr2 = dot(res, res, f);
            float beta = rr2 / rr;
            for (uint32_t a = 0; a < f; a++) p[a] = res[a] + beta * p[a];
            rr = rr2;
        }
    }
    free(res), free(yu), free(c);
    return NULL;
}

/* One half-step: solve every row of r for x given y, on two threads. */
static int half_step(const tl_csr_t *r, float *x, const float *y, uint32_t ny, uint32_t f,
                     const tl_ials_opts_t *o, float *gram) {
    /* Y'Y by BLAS (upper triangle), mirrored */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)f, (int)ny, 1.0f, y, (int)f, 0.0f,
                gram, (int)f);
    for (uint32_t a = 0; a < f; a++)
        for (uint32_t b = 0; b < a; b++) gram[(size_t)a * f + b] = gram[(size_t)b * f + a];
    uint32_t maxrow = 0;
    for (uint32_t u = 0; u < r->nusers; u++)
        if (r->rowptr[u + 1] - r->rowptr[u] > maxrow) maxrow = (uint32_t)(r->rowptr[u + 1] - r->rowptr[u]);
    /* split by work (entries), not by rows: popular items are long rows */
    uint32_t mid = 0;
    while (mid < r->nusers && r->rowptr[mid] < r->nnz / 2) mid++;
    cg_job_t j[2];
    for (int h = 0; h < 2; h++)
        j[h] = (cg_job_t){r, x, y, gram, f, h ? mid : 0, h ? r->nusers : mid, o->cg_steps, maxrow,
                          (float)o->alpha, (float)o->reg};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, cg_part, &j[1]) == 0;
    cg_part(&j[0]);
    if (threaded) pthread_join(th, NULL);
    else cg_part(&j[1]);
    return 0;
}

int tl_rec_train_ials(const tl_csr_t *x, const tl_ials_opts_t *o, tl_model_t **out,
                      tl_errbuf_t *eb) {
    uint32_t f = o->factors;
    if (f < 1 || f > 1024 || !x->nusers || !x->nitems) {
        tl_errbuf_set(eb, "iALS needs 1 to 1024 factors and a non-empty matrix");
        return TL_EINVAL;
    }
    tl_csr_t xt;
    int rc = transpose(x, &xt);
    if (rc) return rc;
    tl_model_t *m = calloc(1, sizeof *m);
    float *gram = malloc((size_t)f * f * sizeof *gram);
    if (!m || !gram || !(m->xu = malloc((size_t)x->nusers * f * sizeof *m->xu)) ||
        !(m->yi = malloc((size_t)x->nitems * f * sizeof *m->yi))) {
        free(gram);
        tl_model_free(m);
        tl_csr_fini(&xt);
        return TL_ENOMEM;
    }
    m->kind = TL_MODEL_IALS;
    m->nusers = x->nusers, m->nitems = x->nitems, m->f = f;
    /* Our two threads each call BLAS on small vectors: OpenBLAS's own
     * threads on top of them would only fight for the two cores. */
    openblas_set_num_threads(1);
    tl_rng_t r;
    tl_rng_seed(&r, o->seed);
    float scale = 0.1f / sqrtf((float)f);
    for (size_t k = 0; k < (size_t)x->nusers * f; k++) m->xu[k] = (float)tl_rng_normal(&r) * scale;
    for (size_t k = 0; k < (size_t)x->nitems * f; k++) m->yi[k] = (float)tl_rng_normal(&r) * scale;
    for (uint32_t it = 0; it < o->iterations; it++) {
        half_step(x, m->xu, m->yi, x->nitems, f, o, gram);
        half_step(&xt, m->yi, m->xu, x->nusers, f, o, gram);
    }
    free(gram);
    tl_csr_fini(&xt);
    *out = m;
    return 0;
}

/* ---- explanations ------------------------------------------------------------------------ */

uint32_t tl_model_nitems(const tl_model_t *m) { return m->nitems; }

uint32_t tl_rec_because(const tl_model_t *m, const tl_csr_t *x, uint32_t u, uint32_t item) {
    if (m->kind == TL_MODEL_POP || m->kind == TL_MODEL_SEGPOP || u >= x->nusers ||
        item >= m->nitems)
        return TL_NONE;
    uint32_t best = TL_NONE;
    float bv = -INFINITY;
    for (uint64_t k = x->rowptr[u]; k < x->rowptr[u + 1]; k++) {
        uint32_t j = x->col[k];
        if (j >= m->nitems) continue;
        float v;
        if (m->kind == TL_MODEL_EASE || m->kind == TL_MODEL_BLEND) {
            v = x->val[k] * m->b[(size_t)j * m->nitems + item];
        } else if (m->kind == TL_MODEL_KNN) {
            v = -INFINITY;
            for (uint32_t t = 0; t < m->k && m->nbr[(size_t)j * m->k + t] != TL_NONE; t++)
                if (m->nbr[(size_t)j * m->k + t] == item) v = m->sim[(size_t)j * m->k + t];
        } else {
            const float *a = m->yi + (size_t)j * m->f, *b = m->yi + (size_t)item * m->f;
            float na = cblas_snrm2((int)m->f, a, 1), nb = cblas_snrm2((int)m->f, b, 1);
            v = na > 0 && nb > 0 ? cblas_sdot((int)m->f, a, 1, b, 1) / (na * nb) : -INFINITY;
        }
        if (v > bv) bv = v, best = j;
    }
    return best;
}

/* ---- model files ------------------------------------------------------------------------- */

#define MODEL_MAGIC "TLMODEL1"
#define MODEL_VERSION 2 /* 2: time window in the interaction options; segment popularity */

typedef struct {
    char magic[8];
    uint32_t version, kind, nitems, nusers, f, pad;
} mhead_t;

static int wr(FILE *f, XXH3_state_t *h, const void *p, size_t n) {
    XXH3_64bits_update(h, p, n);
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : TL_EIO;
}

/* The arrays of a model of the header's kind and sizes, in file order.
 * With alloc, they are allocated first (for loading). Returns how many, or
 * -1 when out of memory. */
#define MAX_SECTIONS 5
static int model_sections(tl_model_t *m, int alloc, void *p[MAX_SECTIONS], size_t len[MAX_SECTIONS]) {
    size_t ni = m->nitems, nu = m->nusers;
    int k = 0;
#define SEC(field, count)                                                                          \
    do {                                                                                           \
        len[k] = (size_t)(count) * sizeof *m->field;                                               \
        if (alloc && !(m->field = malloc(len[k] ? len[k] : 1))) return -1;                         \
        p[k++] = m->field;                                                                         \
    } while (0)
    switch (m->kind) {
    case TL_MODEL_POP: SEC(pop, ni); break;
    case TL_MODEL_EASE: SEC(b, ni * ni); break;
    case TL_MODEL_IALS:
        SEC(xu, nu * m->f);
        SEC(yi, ni * m->f);
        break;
    case TL_MODEL_KNN:
        SEC(nbr, ni * m->k);
        SEC(sim, ni * m->k);
        break;
    case TL_MODEL_SEGPOP:
        SEC(pop, ni);
        SEC(icat, ni);
        SEC(ugroup, nu);
        SEC(pic, (m->ngroups + 1) * ni);
        SEC(pcg, (m->ngroups + 1) * (size_t)m->ncats);
        break;
    case TL_MODEL_BLEND:
        SEC(b, ni * ni);
        SEC(xu, nu * m->f);
        SEC(yi, ni * m->f);
        SEC(share, 1);
        break;
    }
#undef SEC
    return k;
}

/* The header's third size: factors, neighbours or categories by kind. */
static uint32_t head_f(const tl_model_t *m) {
    return m->kind == TL_MODEL_KNN ? m->k : m->kind == TL_MODEL_SEGPOP ? m->ncats : m->f;
}

int tl_model_save(const tl_model_t *m, const char *path, tl_errbuf_t *eb) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    XXH3_state_t *h = XXH3_createState();
    if (!f || !h) {
        if (f) fclose(f);
        XXH3_freeState(h);
        tl_errbuf_set(eb, "%s: cannot create the model file", tmp);
        return TL_EIO;
    }
    XXH3_64bits_reset(h);
    mhead_t hd = {MODEL_MAGIC, MODEL_VERSION, (uint32_t)m->kind, m->nitems, m->nusers, head_f(m), m->ngroups};
    memcpy(hd.magic, MODEL_MAGIC, 8);
    int rc = wr(f, h, &hd, sizeof hd);
    if (!rc) rc = wr(f, h, &m->io, sizeof m->io);
    void *p[MAX_SECTIONS];
    size_t len[MAX_SECTIONS];
    int ns = model_sections((tl_model_t *)m, 0, p, len);
    for (int k = 0; !rc && k < ns; k++) rc = wr(f, h, p[k], len[k]);
    uint64_t d = XXH3_64bits_digest(h);
    if (!rc && fwrite(&d, 1, 8, f) != 8) rc = TL_EIO;
    if (fclose(f) != 0 && !rc) rc = TL_EIO;
    XXH3_freeState(h);
    if (!rc && rename(tmp, path) != 0) rc = TL_EIO;
    if (rc) {
        unlink(tmp);
        tl_errbuf_set(eb, "%s: cannot write the model: %s", path, tl_strerror(rc));
    }
    return rc;
}

int tl_model_load(const char *path, tl_model_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        tl_errbuf_set(eb, "%s: no such model; train one with `tailor train`", path);
        return TL_ENOENT;
    }
    mhead_t hd;
    tl_model_t *m = calloc(1, sizeof *m);
    int rc = m ? 0 : TL_ENOMEM;
    if (!rc && (fread(&hd, 1, sizeof hd, f) != sizeof hd || memcmp(hd.magic, MODEL_MAGIC, 8) != 0)) {
        tl_errbuf_set(eb, "%s: not a tailor model file", path);
        rc = TL_ECORRUPT;
    } else if (!rc && hd.version != MODEL_VERSION) {
        tl_errbuf_set(eb, "%s: model file version %u, this tailor reads version %d; train it again",
                      path, hd.version, MODEL_VERSION);
        rc = TL_EVERSION;
    } else if (!rc && (hd.kind > TL_MODEL_BLEND || hd.nitems == 0 || hd.nitems > 50000000 ||
                       hd.nusers > 500000000 ||
                       ((hd.kind == TL_MODEL_EASE || hd.kind == TL_MODEL_BLEND) && hd.nitems > 40000) ||
                       (hd.kind == TL_MODEL_SEGPOP ? hd.f == 0 || hd.f > 1000000 || hd.pad > 1024
                                                   : hd.f > 1024 || hd.pad != 0) ||
                       (hd.f == 0 && (hd.kind == TL_MODEL_IALS || hd.kind == TL_MODEL_BLEND ||
                                      hd.kind == TL_MODEL_KNN)))) {
        tl_errbuf_set(eb, "%s: the model file's header is not valid", path);
        rc = TL_ECORRUPT;
    }
    if (!rc) {
        m->kind = (tl_model_kind_t)hd.kind, m->nitems = hd.nitems, m->nusers = hd.nusers;
        if (m->kind == TL_MODEL_KNN) m->k = hd.f;
        else if (m->kind == TL_MODEL_SEGPOP) m->ncats = hd.f, m->ngroups = hd.pad;
        else m->f = hd.f;
        void *p[MAX_SECTIONS];
        size_t len[MAX_SECTIONS];
        /* The file holds exactly what its header promises, or nothing is
         * allocated: a damaged header must not ask for gigabytes. */
        int ns = model_sections(m, 0, p, len);
        uint64_t want = sizeof hd + sizeof m->io + 8, d = 0;
        for (int k = 0; k < ns; k++) want += len[k];
        struct stat sb;
        if (fstat(fileno(f), &sb) != 0 || (uint64_t)sb.st_size != want) rc = TL_ECORRUPT;
        if (!rc && (ns = model_sections(m, 1, p, len)) < 0) rc = TL_ENOMEM;
        if (!rc && fread(&m->io, 1, sizeof m->io, f) != sizeof m->io) rc = TL_ECORRUPT;
        for (int k = 0; !rc && k < ns; k++)
            if (fread(p[k], 1, len[k], f) != len[k]) rc = TL_ECORRUPT;
        if (!rc && (fread(&d, 1, 8, f) != 8 || fgetc(f) != EOF)) rc = TL_ECORRUPT;
        if (!rc) {
            XXH3_state_t *h = XXH3_createState();
            XXH3_64bits_reset(h);
            XXH3_64bits_update(h, &hd, sizeof hd);
            XXH3_64bits_update(h, &m->io, sizeof m->io);
            for (int k = 0; k < ns; k++) XXH3_64bits_update(h, p[k], len[k]);
            if (XXH3_64bits_digest(h) != d) rc = TL_ECORRUPT;
            XXH3_freeState(h);
        }
        if (!rc && m->kind == TL_MODEL_SEGPOP) /* codes index the tables: check them */
            for (uint32_t i = 0; i < m->nitems; i++) rc |= m->icat[i] >= m->ncats ? TL_ECORRUPT : 0;
        if (!rc && m->kind == TL_MODEL_SEGPOP)
            for (uint32_t u = 0; u < m->nusers; u++) rc |= m->ugroup[u] > m->ngroups ? TL_ECORRUPT : 0;
        if (!rc && m->kind == TL_MODEL_KNN) /* so do the neighbours (TL_NONE pads) */
            for (size_t i = 0; i < (size_t)m->nitems * m->k; i++)
                rc |= m->nbr[i] >= m->nitems && m->nbr[i] != TL_NONE ? TL_ECORRUPT : 0;
        if (rc == TL_ECORRUPT)
            tl_errbuf_set(eb, "%s: the model file is damaged (wrong size or checksum); train it again",
                          path);
    }
    fclose(f);
    if (rc) {
        if (rc == TL_ECORRUPT && !eb->msg[0]) tl_errbuf_set(eb, "%s: the model file is damaged", path);
        tl_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---- item-kNN ------------------------------------------------------------------------------ */

typedef struct {
    const tl_csr_t *x, *xt;
    const double *norm;
    tl_model_t *m;
    double shrink;
    uint32_t from, to;
    int rc;
} knn_job_t;

static void *knn_part(void *arg) {
    knn_job_t *j = arg;
    uint32_t n = j->x->nitems, k = j->m->k;
    float *acc = calloc(n ? n : 1, sizeof *acc);
    uint32_t *touched = malloc((n ? n : 1) * sizeof *touched);
    if (!acc || !touched) {
        free(acc), free(touched);
        j->rc = TL_ENOMEM;
        return NULL;
    }
    for (uint32_t i = j->from; i < j->to; i++) {
        uint32_t nt = 0;
        /* co-occurrence of i with every item, through i's users */
        for (uint64_t a = j->xt->rowptr[i]; a < j->xt->rowptr[i + 1]; a++) {
            uint32_t u = j->xt->col[a];
            float vi = j->xt->val[a];
            for (uint64_t b = j->x->rowptr[u]; b < j->x->rowptr[u + 1]; b++) {
                uint32_t t = j->x->col[b];
                if (t == i) continue;
                if (acc[t] == 0) touched[nt++] = t;
                acc[t] += vi * j->x->val[b];
            }
        }
        uint32_t *nb = j->m->nbr + (size_t)i * k;
        float *sm = j->m->sim + (size_t)i * k;
        uint32_t got = 0;
        for (uint32_t q = 0; q < nt; q++) {
            uint32_t t = touched[q];
            float v = (float)(acc[t] / (j->norm[i] * j->norm[t] + j->shrink));
            acc[t] = 0;
            if (got == k && v <= sm[k - 1]) continue;
            uint32_t p = got < k ? got++ : k - 1;
            while (p > 0 && (sm[p - 1] < v || (sm[p - 1] == v && nb[p - 1] > t))) {
                sm[p] = sm[p - 1], nb[p] = nb[p - 1];
                p--;
            }
            sm[p] = v, nb[p] = t;
        }
        for (uint32_t q = got; q < k; q++) nb[q] = TL_NONE, sm[q] = 0;
    }
    free(acc), free(touched);
    return NULL;
}

int tl_rec_train_knn(const tl_csr_t *x, uint32_t k, double shrink, tl_model_t **out,
                     tl_errbuf_t *eb) {
    if (k < 1 || k > 1000 || !x->nitems) {
        tl_errbuf_set(eb, "item-kNN needs 1 to 1000 neighbours and a non-empty catalogue");
        return TL_EINVAL;
    }
    tl_csr_t xt;
    int rc = transpose(x, &xt);
    if (rc) return rc;
    tl_model_t *m = calloc(1, sizeof *m);
    double *norm = calloc(x->nitems, sizeof *norm);
    if (!m || !norm || !(m->nbr = malloc((size_t)x->nitems * k * sizeof *m->nbr)) ||
        !(m->sim = malloc((size_t)x->nitems * k * sizeof *m->sim))) {
        free(norm);
        tl_model_free(m);
        tl_csr_fini(&xt);
        return TL_ENOMEM;
    }
    for (uint64_t q = 0; q < x->nnz; q++) norm[x->col[q]] += (double)x->val[q] * x->val[q];
    for (uint32_t i = 0; i < x->nitems; i++) norm[i] = sqrt(norm[i]);
    m->kind = TL_MODEL_KNN;
    m->nitems = x->nitems;
    m->nusers = x->nusers;
    m->k = k;
    /* split the items by work: long columns cost more */
    uint32_t mid = 0;
    while (mid < xt.nusers && xt.rowptr[mid] < xt.nnz / 2) mid++;
    knn_job_t j[2] = {{x, &xt, norm, m, shrink, 0, mid, 0}, {x, &xt, norm, m, shrink, mid, x->nitems, 0}};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, knn_part, &j[1]) == 0;
    knn_part(&j[0]);
    if (threaded) pthread_join(th, NULL);
    else knn_part(&j[1]);
    free(norm);
    tl_csr_fini(&xt);
    rc = j[0].rc ? j[0].rc : j[1].rc;
    if (rc) {
        tl_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

uint32_t tl_rec_similar(const tl_model_t *m, uint32_t item, uint32_t n, uint32_t *items,
                        float *sims) {
    if (m->kind != TL_MODEL_KNN || item >= m->nitems) return 0;
    uint32_t got = 0;
    for (uint32_t t = 0; t < m->k && got < n && m->nbr[(size_t)item * m->k + t] != TL_NONE; t++) {
        items[got] = m->nbr[(size_t)item * m->k + t];
        sims[got++] = m->sim[(size_t)item * m->k + t];
    }
    return got;
}

uint32_t tl_rec_similar_items(const tl_model_t *knn, const tl_content_t *c, uint32_t item, uint32_t n,
                              uint32_t *items, float *sims, int *by_content) {
    uint32_t got = knn ? tl_rec_similar(knn, item, n, items, sims) : 0;
    *by_content = !got && c;
    return *by_content ? tl_rec_content_similar(c, item, n, items, sims) : got;
}

/* ---- serving ------------------------------------------------------------------------------- */

/* How well item i goes with item c by the model's own item relation: EASE's
 * weight, kNN's similarity, the cosine of iALS item factors; popularity
 * models have none, so sharing a category is all (item_cat may be NULL). */
static float pair_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i) {
    if (c >= m->nitems || i >= m->nitems || c == i) return 0;
    switch (m->kind) {
    case TL_MODEL_EASE:
    case TL_MODEL_BLEND: return m->b[(size_t)c * m->nitems + i];
    case TL_MODEL_KNN:
        for (uint32_t t = 0; t < m->k && m->nbr[(size_t)c * m->k + t] != TL_NONE; t++)
            if (m->nbr[(size_t)c * m->k + t] == i) return m->sim[(size_t)c * m->k + t];
        return 0;
    case TL_MODEL_IALS: {
        const float *a = m->yi + (size_t)c * m->f, *b = m->yi + (size_t)i * m->f;
        float na = cblas_snrm2((int)m->f, a, 1), nb = cblas_snrm2((int)m->f, b, 1);
        return na > 0 && nb > 0 ? cblas_sdot((int)m->f, a, 1, b, 1) / (na * nb) : 0;
    }
    default: {
        const uint32_t *cat = m->kind == TL_MODEL_SEGPOP ? m->icat : item_cat;
        return cat && cat[c] == cat[i] && (m->kind != TL_MODEL_SEGPOP || cat[c] + 1 < m->ncats) &&
                       cat[c] != TL_NONE
                   ? 1.0f
                   : 0.0f;
    }
    }
}

/* Scales v to 0..1 over its range (all 1 when flat); UNSCORED entries
 * stay so. */
static void unit_range(float *v, uint32_t n) {
    float lo = INFINITY, hi = -INFINITY;
    for (uint32_t i = 0; i < n; i++)
        if (v[i] != UNSCORED) lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    for (uint32_t i = 0; i < n; i++)
        if (v[i] != UNSCORED) v[i] = hi > lo ? (v[i] - lo) / (hi - lo) : 1;
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
        if (s[i] != UNSCORED) s[i] = (float)((1 - w) * s[i] + w * t[i]);
    free(t);
    return 0;
}


typedef struct {
    float *pen;
    uint32_t n;
} penctx_t;

static int penalty_row(int n, const char *const *cols, void *arg) {
    penctx_t *p = arg;
    (void)n;
    int64_t i = cols[0] ? atoll(cols[0]) : -1;
    double neg = cols[1] ? atof(cols[1]) : 0;
    if (i >= 0 && i < p->n) p->pen[i] = (float)(neg * 0.3 > 0.9 ? 0.9 : neg * 0.3);
    return 0;
}

int tl_rec_feedback_penalty(tl_store_t *st, uint32_t nitems, float **out, tl_errbuf_t *eb) {
    penctx_t p = {calloc((size_t)nitems + 1, sizeof *p.pen), nitems};
    *out = NULL;
    if (!p.pen) return TL_ENOMEM;
    int rc = tl_store_queryf(st, eb, penalty_row, &p,
                             "SELECT item, count(*) FROM feedback WHERE item >= 0 AND "
                             "(kind = 'complaint' OR (kind = 'review' AND score <= 2)) GROUP BY item", "");
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
    int popular = popular_kind(m);
    /* no history, or none the model learnt from: the cold start */
    int cold = u >= x->nusers || x->rowptr[u] == x->rowptr[u + 1] || !model_knows(m, x, u);
    const tl_model_t *src = cold && pop && !popular ? pop : m; /* popularity is its own cold start */
    float *s = malloc((size_t)(ni ? ni : 1) * sizeof *s);
    double *pp = NULL;
    uint8_t *seen = calloc(ni ? ni : 1, 1);
    if (!s || !seen || !n) {
        free(s), free(seen);
        return 0;
    }
    scores_for(src, x, u, s, ni);
    if (u < x->nusers)
        for (uint64_t k = x->rowptr[u]; k < x->rowptr[u + 1]; k++) seen[x->col[k]] = 1;
    if (!popular_kind(src)) content_fill(so->content, s, ni, seen); /* popularity is measured */
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
        if (!(v > UNSCORED)) continue; /* newer than the model, and nothing alike to score it by */
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
                out[got].because = cn->nbr[(size_t)ci[bc] * CONTENT_K];
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

typedef struct {
    uint32_t *cats, n, levels;
    tl_dict_t *names;
    int rc;
} catctx_t;

static int cat_row(int ncol, const char *const *c, void *arg) {
    catctx_t *x = arg;
    if (ncol < 2 || !c[0] || !c[1] || !*c[1]) return 0;
    uint32_t i = (uint32_t)strtoul(c[0], NULL, 10), code;
    if (i >= x->n) return 0;
    size_t len = 0;
    for (uint32_t l = 0; c[1][len] && (!x->levels || l < x->levels); l++) {
        if (l) len++; /* the '/' before this level */
        len += strcspn(c[1] + len, "/");
    }
    if (tl_dict_intern(x->names, c[1], len, &code, NULL)) return x->rc = TL_ENOMEM;
    x->cats[i] = code;
    return 0;
}

int tl_rec_item_categories(tl_store_t *st, uint32_t nitems, uint32_t levels, uint32_t **cats,
                           tl_dict_t **names, tl_errbuf_t *eb) {
    catctx_t x = {malloc((size_t)(nitems ? nitems : 1) * sizeof *x.cats), nitems, levels,
                  tl_dict_new(), 0};
    if (!x.cats || !x.names) {
        free(x.cats);
        tl_dict_free(x.names);
        return TL_ENOMEM;
    }
    for (uint32_t i = 0; i < nitems; i++) x.cats[i] = TL_NONE;
    int rc = tl_store_query(st, "SELECT idx, category FROM items", cat_row, &x, eb);
    if (!rc) rc = x.rc;
    if (rc) {
        free(x.cats);
        tl_dict_free(x.names);
        return rc;
    }
    *cats = x.cats;
    *names = x.names;
    return 0;
}
