/* reads.c -- the store in memory: do-not-contact
 * entries and feedback, each a collection of keyed rows, and its counts.
 * It has no check of its own: the store reads its events back instead. */
#include "store/mem/mem_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int oom(tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "out of memory");
    return TL_ENOMEM;
}

/* The indexes of c's rows that keep(), stably sorted by the integer value
 * v[col] (rows with equal values stay in key order). */
static size_t *rows_by(const tl__mcoll_t *c, int col, int (*keep)(const tl__mrow_t *, const void *),
                       const void *arg, size_t *n) {
    size_t *ix = malloc((c->n + 1) * sizeof *ix);
    *n = 0;
    if (!ix) return NULL;
    for (size_t i = 0; i < c->n; i++) {
        if (!keep(&c->r[i], arg)) continue;
        size_t j = (*n)++;
        for (; j > 0 && c->r[ix[j - 1]].v[col].i > c->r[i].v[col].i; j--) ix[j] = ix[j - 1];
        ix[j] = i;
    }
    return ix;
}

/* ---- do-not-contact: rows keyed by (user, channel); 0: reason, 1: at,
 * 2: campaign, 3: channel ----------------------------------------------------------------- */

int tl__mem_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason,
                int64_t at, const char *campaign, tl_errbuf_t *eb) {
    char key[256];
    snprintf(key, sizeof key, "%08x\001%s", user, channel);
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_DNC];
    int found;
    tl__mcoll_find(c, key, &found);
    if (found) return 0; /* the first entry stays */
    mval_t v[4] = {tl__mv_s(reason), tl__mv_i(at, 1), tl__mv_s(campaign), tl__mv_s(channel)};
    int rc = tl__mcoll_upsert(c, key, v, 4, 1);
    return rc < 0 ? oom(eb) : 1;
}

static int dnc_call(const tl__mrow_t *r, tl_dnc_fn fn, void *arg) {
    tl_dnc_row_t d = {tl__mkey_to_u32(r->key), tl__mv_str(&r->v[3]), tl__mv_str(&r->v[0]), r->v[1].i,
                      tl__mv_str(&r->v[2])};
    return fn(&d, arg);
}

int tl__mem_dnc_scan(tl_store_t *st, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_DNC];
    for (size_t i = 0; i < c->n; i++) {
        if (c->r[i].v[1].i > at) continue;
        int rc = dnc_call(&c->r[i], fn, arg);
        if (rc) return rc;
    }
    return 0;
}

static int of_user(const tl__mrow_t *r, const void *arg) {
    return tl__mkey_to_u32(r->key) == *(const uint32_t *)arg;
}

int tl__mem_dnc_of_user(tl_store_t *st, uint32_t user, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_DNC];
    size_t n, *ix = rows_by(c, 1, of_user, &user, &n);
    if (!ix) return oom(eb);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) rc = dnc_call(&c->r[ix[i]], fn, arg);
    free(ix);
    return rc;
}

/* ---- feedback: rows keyed by the order of addition; 0: user, 1: kind,
 * 2: campaign, 3: channel, 4: item, 5: score, 6: at, 7: source, 8: line ---------------------- */

int tl__mem_feedback_add(tl_store_t *st, const tl_feedback_row_t *f, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_FEEDBACK];
    for (size_t i = 0; f->source && i < c->n; i++) /* one record per (source, line) */
        if (tl__mv_str(&c->r[i].v[7]) && strcmp(c->r[i].v[7].p, f->source) == 0 &&
            (uint64_t)c->r[i].v[8].i == f->line)
            return 0;
    char key[24];
    snprintf(key, sizeof key, "%020zu", c->n ? (size_t)strtoull(c->r[c->n - 1].key, NULL, 10) + 1 : 1);
    mval_t v[9] = {tl__mv_i(f->user, 1), tl__mv_s(f->kind), tl__mv_s(f->campaign), tl__mv_s(f->channel),
                   tl__mv_i(f->item, f->item != TL_NONE), tl__mv_d(f->score), tl__mv_i(f->at, 1),
                   tl__mv_s(f->source), tl__mv_i((int64_t)f->line, 1)};
    int rc = tl__mcoll_upsert(c, key, v, 9, 1);
    return rc < 0 ? oom(eb) : 1;
}

static int feedback_call(const tl__mrow_t *r, tl_feedback_fn fn, void *arg) {
    const mval_t *v = r->v;
    tl_feedback_row_t f = {.user = (uint32_t)v[0].i, .kind = tl__mv_str(&v[1]) ? v[1].p : "",
                           .campaign = tl__mv_str(&v[2]), .channel = tl__mv_str(&v[3]),
                           .item = (uint32_t)tl__mv_int(&v[4], TL_NONE), .score = tl__mv_real(&v[5]),
                           .at = v[6].i, .source = tl__mv_str(&v[7]), .line = (uint64_t)v[8].i};
    return fn(&f, arg);
}

int tl__mem_feedback_scan(tl_store_t *st, const char *campaign, tl_feedback_fn fn, void *arg,
                      tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_FEEDBACK];
    for (size_t i = 0; campaign && i < c->n; i++) {
        const char *cc = tl__mv_str(&c->r[i].v[2]);
        if (!cc || strcmp(cc, campaign) != 0) continue;
        int rc = feedback_call(&c->r[i], fn, arg);
        if (rc) return rc;
    }
    return 0;
}

static int fb_of_user(const tl__mrow_t *r, const void *arg) {
    return (uint32_t)r->v[0].i == *(const uint32_t *)arg;
}

int tl__mem_feedback_of_user(tl_store_t *st, uint32_t user, tl_feedback_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_FEEDBACK];
    size_t n, *ix = rows_by(c, 6, fb_of_user, &user, &n);
    if (!ix) return oom(eb);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) rc = feedback_call(&c->r[ix[i]], fn, arg);
    free(ix);
    return rc;
}

/* A complaint, or a review scoring 2 or less, about an item. */
static int negative(const tl__mrow_t *r, const void *arg) {
    (void)arg;
    const char *kind = tl__mv_str(&r->v[1]);
    if (r->v[4].t != 1 || !kind) return 0;
    return strcmp(kind, "complaint") == 0 ||
           (strcmp(kind, "review") == 0 && r->v[5].t == 2 && r->v[5].d <= 2);
}

int tl__mem_feedback_negative(tl_store_t *st, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_FEEDBACK];
    size_t n, *ix = rows_by(c, 4, negative, NULL, &n);
    if (!ix) return oom(eb);
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        int64_t item = c->r[ix[i]].v[4].i;
        uint64_t k = 0;
        for (; i < n && c->r[ix[i]].v[4].i == item; i++) k++;
        rc = fn((uint32_t)item, k, arg);
    }
    free(ix);
    return rc;
}

/* ---- counts ---------------------------------------------------------------------------- */

int tl__mem_counts(tl_store_t *st, tl_store_counts_t *out, tl_errbuf_t *eb) {
    (void)eb;
    tl__mem_t *m = tl__mem_of(st);
    const tl__mdata_t *d = tl__mem_cur(m);
    out->users = m->dict[TL_D_USER] ? m->dict_comm[TL_D_USER] : 0;
    out->items = m->dict[TL_D_ITEM] ? m->dict_comm[TL_D_ITEM] : 0;
    out->products = d->c[C_PRODUCTS].n;
    out->credit = d->c[C_CREDIT].n;
    out->consents = d->c[C_CONSENTS].n;
    out->quarantined = d->c[C_QUARANTINE].n;
    out->events = m->ncomm;
    return 0;
}
