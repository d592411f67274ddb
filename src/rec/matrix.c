/* matrix.c -- the user x item interaction matrix (CSR) built from the
 * event log: each kept event weighed by its type (or its rating), decayed
 * by age when asked, repeated (user, item) pairs added up. A row is a
 * person's (identity.h): the events of every identifier count in the row
 * of its first, and those of persons who withdrew profiling on any
 * identifier are left out. Also the interactions kept
 * with their times for the evaluation splits (eval.c), and the transpose.
 *
 * One pass over the log collects triples; a sort by (user, item) and one
 * merge build the rows, so a row's items ascend. */
#include "rec_int.h"

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

typedef struct {
    const tl_interact_opts_t *o;
    uint64_t from, to;
    uint32_t nusers, nitems;
    const uint8_t *withdrawn;    /* persons who withdrew profiling: left out */
    const tl_identity_t *ident;  /* the persons: a user's events count in its person's row */
    tl__trip_t *t;
    int64_t *ts;              /* with times (raw): each triple's, its strength undecayed */
    int raw;
    size_t n, cap;
    int64_t latest;           /* of every event scanned */
} mctx_t;

static int grow(mctx_t *c) {
    size_t nc = c->cap ? c->cap * 2 : 1 << 16;
    tl__trip_t *nt = realloc(c->t, nc * sizeof *nt);
    if (!nt) return TL_ENOMEM;
    c->t = nt;
    if (c->raw) {
        int64_t *ns = realloc(c->ts, nc * sizeof *ns);
        if (!ns) return TL_ENOMEM;
        c->ts = ns;
    }
    c->cap = nc;
    return 0;
}

static int collect(const tl_evblock_t *b, void *arg) {
    mctx_t *c = arg;
    for (uint32_t k = 0; k < b->n; k++) {
        uint64_t seq = b->first_seq + k;
        if (b->ts[k] > c->latest) c->latest = b->ts[k];
        if (seq < c->from || seq >= c->to) continue;
        if (c->o->ts_to && (b->ts[k] < c->o->ts_from || b->ts[k] >= c->o->ts_to)) continue;
        uint32_t u = b->user[k], i = b->item[k];
        float w = c->o->weight[b->type[k]];
        u = tl_identity_person(c->ident, u);
        if (i == TL_NONE || u >= c->nusers || i >= c->nitems || w <= 0 || c->withdrawn[u]) continue;
        if (b->type[k] == TL_EV_RATE && !isnan(c->o->min_rating) &&
            !(b->rating[k] >= c->o->min_rating))
            continue;
        if (c->n == c->cap && grow(c)) return TL_ENOMEM;
        if (c->o->rating_values && b->type[k] == TL_EV_RATE && !isnan(b->rating[k]))
            w = b->rating[k]; /* the rating itself is the strength */
        if (c->raw) {
            c->ts[c->n] = b->ts[k];
            c->t[c->n++] = (tl__trip_t){u, i, w};
            continue;
        }
        if (c->o->half_life > 0)
            w *= (float)exp2((double)(b->ts[k] - c->o->decay_to) / c->o->half_life);
        c->t[c->n++] = (tl__trip_t){u, i, c->o->binary ? 1.0f : w};
    }
    return 0;
}

/* Scans the events with sequence numbers in [c->from, c->to) into c,
 * under the persons ident (NULL: the store's, read here). */
static int scan(tl_store_t *st, mctx_t *c, const tl_identity_t *ident, tl_errbuf_t *eb) {
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, eb), *items = tl_store_dict(st, TL_D_ITEM, eb);
    if (!users || !items) return TL_ENOMEM;
    c->nusers = tl_dict_count(users), c->nitems = tl_dict_count(items);
    c->latest = INT64_MIN;
    uint8_t *wd = calloc((size_t)c->nusers + 1, 1);
    tl_identity_t *own = NULL;
    int rc = wd ? tl_store_consents_withdrawn(st, "profiling", INT64_MAX, wd, c->nusers, eb) : TL_ENOMEM;
    if (!rc && !ident) {
        rc = tl_identity_load(st, NULL, &own, eb);
        ident = own;
    }
    if (!rc) tl_identity_fold_flags(ident, wd, c->nusers);
    c->withdrawn = wd, c->ident = ident;
    if (!rc)
        rc = tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TYPE | TL_EVC_RATING | TL_EVC_TS,
                                   collect, c, eb);
    free(wd);
    tl_identity_free(own);
    c->withdrawn = NULL, c->ident = NULL;
    return rc;
}

static int cmp_trip(const void *a, const void *b) {
    const tl__trip_t *x = a, *y = b;
    if (x->u != y->u) return x->u < y->u ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int tl__csr_from_trips(tl__trip_t *t, size_t n, uint32_t nusers, uint32_t nitems, int binary,
                       tl_csr_t *out) {
    memset(out, 0, sizeof *out);
    if (n) qsort(t, n, sizeof *t, cmp_trip); /* t is NULL when empty */
    out->nusers = nusers;
    out->nitems = nitems;
    out->rowptr = calloc((size_t)nusers + 1, sizeof *out->rowptr);
    out->col = malloc((n ? n : 1) * sizeof *out->col);
    out->val = malloc((n ? n : 1) * sizeof *out->val);
    if (!out->rowptr || !out->col || !out->val) {
        tl_csr_fini(out);
        return TL_ENOMEM;
    }
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* repeated interactions with an item add up (binary: stay 1) */
        if (k && t[i].u == t[i - 1].u && t[i].i == t[i - 1].i) {
            if (!binary) out->val[k - 1] += t[i].w;
            continue;
        }
        out->col[k] = t[i].i;
        out->val[k] = t[i].w;
        out->rowptr[t[i].u + 1]++;
        k++;
    }
    for (uint32_t u = 0; u < nusers; u++) out->rowptr[u + 1] += out->rowptr[u];
    out->nnz = k;
    return 0;
}

int tl__rec_matrix_of(tl_store_t *st, uint64_t from, uint64_t to, const tl_interact_opts_t *o,
                      const tl_identity_t *ident, tl_csr_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    mctx_t c = {.o = o, .from = from, .to = to};
    int rc = scan(st, &c, ident, eb);
    if (!rc) rc = tl__csr_from_trips(c.t, c.n, c.nusers, c.nitems, o->binary, out);
    free(c.t);
    return rc;
}

int tl_rec_matrix(tl_store_t *st, uint64_t from, uint64_t to, const tl_interact_opts_t *o,
                  tl_csr_t *out, tl_errbuf_t *eb) {
    return tl__rec_matrix_of(st, from, to, o, NULL, out, eb);
}

void tl_csr_fini(tl_csr_t *m) {
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* ---- the interactions with their times ---------------------------------------------- */

int tl_rec_interactions_load(tl_store_t *st, const tl_interact_opts_t *o, tl_interactions_t **out,
                             tl_errbuf_t *eb) {
    return tl__interactions_load_range(st, o, 0, UINT64_MAX, out, eb);
}

int tl__interactions_load_range(tl_store_t *st, const tl_interact_opts_t *o, uint64_t from, uint64_t to,
                                tl_interactions_t **out, tl_errbuf_t *eb) {
    tl_interactions_t *in = calloc(1, sizeof *in);
    *out = NULL;
    if (!in) return TL_ENOMEM;
    in->o = *o;
    mctx_t c = {.o = &in->o, .from = from, .to = to, .raw = 1};
    int rc = scan(st, &c, NULL, eb);
    in->t = c.t, in->ts = c.ts, in->n = c.n;
    in->nusers = c.nusers, in->nitems = c.nitems, in->latest = c.latest;
    if (rc) {
        tl_rec_interactions_free(in);
        return rc;
    }
    *out = in;
    return 0;
}

void tl_rec_interactions_free(tl_interactions_t *in) {
    if (!in) return;
    free(in->t), free(in->ts), free(in);
}

int64_t tl_rec_interactions_latest(const tl_interactions_t *in) { return in->latest; }

int tl__interactions_matrix(const tl_interactions_t *in, int64_t ts_from, int64_t ts_to,
                            int64_t decay_to, tl_csr_t *out) {
    return tl__interactions_select(in, ts_from, ts_to, NULL, 0, decay_to, out);
}

int tl__interactions_select(const tl_interactions_t *in, int64_t ts_from, int64_t ts_to, const uint8_t *sel,
                            uint8_t want, int64_t decay_to, tl_csr_t *out) {
    const tl_interact_opts_t *o = &in->o;
    tl__trip_t *t = malloc((in->n ? in->n : 1) * sizeof *t);
    if (!t) {
        memset(out, 0, sizeof *out);
        return TL_ENOMEM;
    }
    size_t n = 0;
    for (size_t q = 0; q < in->n; q++) {
        if (ts_to && (in->ts[q] < ts_from || in->ts[q] >= ts_to)) continue; /* 0: no window */
        if (sel && sel[q] != want) continue;
        float w = in->t[q].w; /* the same arithmetic as collect's */
        if (o->half_life > 0) w *= (float)exp2((double)(in->ts[q] - decay_to) / o->half_life);
        t[n++] = (tl__trip_t){in->t[q].u, in->t[q].i, o->binary ? 1.0f : w};
    }
    int rc = tl__csr_from_trips(t, n, in->nusers, in->nitems, o->binary, out);
    free(t);
    return rc;
}

/* ---- transpose ------------------------------------------------------------------------ */

int tl__csr_transpose(const tl_csr_t *x, tl_csr_t *t) {
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
