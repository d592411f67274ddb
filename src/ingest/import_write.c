/* import_write.c -- the writing side of an import (the calling thread):
 * interning ids through a small cache, checking users against erasures,
 * de-duplicating, quarantining rejected rows, and committing in batches. */
#include "ingest_int.h"

#include <stdio.h>
#include <stdlib.h>

static int intern_cached(tl_dict_t *d, idcache_t *c, const tl_ref_t *r, uint32_t *out) {
    *out = TL_NONE;
    if (!r->p) return 0;
    idc_entry_t *e = &c->e[(r->h >> 20) & (IDC_SLOTS - 1)];
    /* idx first: the other fields of an empty entry were never written */
    if (e->idx != TL_NONE && e->h == r->h && e->len == r->n && r->n <= IDC_MAXLEN &&
        memcmp(e->s, r->p, r->n) == 0) {
        *out = e->idx;
        return 0;
    }
    int rc = tl_dict_intern_h(d, r->p, r->n, r->h, out, NULL);
    if (rc == 0 && r->n <= IDC_MAXLEN) {
        e->h = r->h;
        e->len = (uint8_t)r->n;
        memcpy(e->s, r->p, r->n);
        e->idx = *out;
    }
    return rc;
}

static int intern_ref(tl_dict_t *d, const tl_ref_t *r, uint32_t *out) {
    *out = TL_NONE;
    return r->p ? tl_dict_intern_h(d, r->p, r->n, r->h, out, NULL) : 0;
}

/* Writes one validated record: 1 new or changed, 0 duplicate, < 0 error. */
static int write_rec(importer_t *im, tl_rec_t *r, tl_errbuf_t *eb) {
    int rc;
    uint32_t user;
    switch (r->kind) {
    case TL_KIND_EVENTS: {
        tl_event_t *e = &r->e.ev;
        const tl_ref_t *ref = r->e.ref;
        if ((rc = intern_cached(im->users, im->user_cache, &ref[TL_EREF_USER], &e->user)) ||
            (rc = intern_cached(im->items, im->item_cache, &ref[TL_EREF_ITEM], &e->item)) ||
            (rc = intern_ref(im->queries, &ref[TL_EREF_QUERY], &e->query)) ||
            (rc = intern_ref(im->cities, &ref[TL_EREF_CITY], &e->city)) ||
            (rc = intern_ref(im->campaigns, &ref[TL_EREF_CAMPAIGN], &e->campaign)))
            return rc;
        return tl_store_add_event(im->st, e, eb);
    }
    case TL_KIND_USERS: return tl_store_put_user(im->st, r->id, &r->u, eb);
    case TL_KIND_ITEMS: return tl_store_put_item(im->st, r->id, &r->it, eb);
    case TL_KIND_PRODUCTS: return tl_store_put_product(im->st, r->id, &r->p, eb);
    case TL_KIND_CREDIT:
        user = tl_dict_find(im->users, r->id, strlen(r->id));
        return tl_store_put_credit(im->st, user, &r->c, eb);
    case TL_KIND_CONSENTS:
        user = tl_dict_find(im->users, r->id, strlen(r->id));
        return tl_store_put_consent(im->st, user, r->cs.purpose, r->cs.granted, r->cs.at, eb);
    default: return TL_EINVAL;
    }
}

static int quarantine(importer_t *im, const row_t *row, tl_reason_t reason, const char *msg,
                      tl_errbuf_t *eb) {
    int rc = tl_store_quarantine(im->st, im->source, row->line, tl_reason_name(reason), msg,
                                 row->raw ? row->raw : "", row->rawlen,
                                 row->preview ? row->preview : "", eb);
    if (rc < 0) return rc;
    im->stats->quarantined++;
    im->stats->by_reason[reason]++;
    if (im->on_reject) im->on_reject(im->source, row->line, reason, msg, im->arg);
    return 0;
}

/* A credit record or consent must name a known user: one already stored, or
 * one emitted earlier in the same row. */
static int check_users(importer_t *im, const row_t *row, const tl_rec_t *recs, char *msg,
                       size_t cap) {
    for (int i = 0; i < row->nrec; i++) {
        const tl_rec_t *r = &recs[i];
        if (r->kind != TL_KIND_CREDIT && r->kind != TL_KIND_CONSENTS) continue;
        if (tl_dict_find(im->users, r->id, strlen(r->id)) != TL_NONE) continue;
        int same_row = 0;
        for (int k = 0; k < i; k++)
            if (recs[k].kind == TL_KIND_USERS && strcmp(recs[k].id, r->id) == 0) same_row = 1;
        if (same_row) continue;
        snprintf(msg, cap, "user \"%.80s\" is not known: import users (or their events) first",
                 r->id);
        return 0;
    }
    return 1;
}

/* 1 if a record of the row is about an erased user (an id the dictionary
 * no longer has, among the tombstones), 0 if not, or an error. */
static int erased_user(importer_t *im, const row_t *row, const tl_rec_t *recs, tl_errbuf_t *eb) {
    for (int i = 0; i < row->nrec; i++) {
        const tl_rec_t *r = &recs[i];
        const char *id = r->kind == TL_KIND_EVENTS ? r->e.ref[TL_EREF_USER].p : r->id;
        size_t n = r->kind == TL_KIND_EVENTS ? r->e.ref[TL_EREF_USER].n : id ? strlen(id) : 0;
        if (!id || (r->kind != TL_KIND_EVENTS && r->kind != TL_KIND_USERS &&
                    r->kind != TL_KIND_CREDIT && r->kind != TL_KIND_CONSENTS))
            continue;
        if (tl_dict_find(im->users, id, n) != TL_NONE) continue;
        int rc = tl_store_erased(im->st, id, n, NULL, eb);
        if (rc) return rc;
    }
    return 0;
}

static int write_row(importer_t *im, const row_t *row, tl_rec_t *recs, tl_errbuf_t *eb) {
    im->stats->read++;
    if (row->reason >= 0) return quarantine(im, row, (tl_reason_t)row->reason, row->msg, eb);
    if (im->any_erased) {
        int rc = erased_user(im, row, recs, eb);
        if (rc < 0) return rc;
        if (rc) { /* kept by position and reason only: the content is what was erased */
            row_t bare = *row;
            bare.raw = NULL, bare.rawlen = 0, bare.preview = NULL;
            return quarantine(im, &bare, TL_R_ERASED_USER, "the user was erased; their records "
                              "are not imported again", eb);
        }
    }
    char msg[160];
    if (row->raw && !check_users(im, row, recs, msg, sizeof msg))
        return quarantine(im, row, TL_R_UNKNOWN_USER, msg, eb);
    int primary = 0;
    for (int i = 0; i < row->nrec; i++) {
        int r = write_rec(im, &recs[i], eb);
        if (r < 0) return r;
        if (i == 0) primary = r;
    }
    if (primary) im->stats->accepted++;
    else im->stats->duplicates++;
    return 0;
}

static int maybe_commit(importer_t *im, tl_errbuf_t *eb) {
    if (im->o->strict || ++im->in_batch < im->batch_rows) return 0;
    im->in_batch = 0;
    int rc = tl_store_commit(im->st, eb);
    if (!rc) rc = tl_store_begin(im->st, eb);
    return rc;
}

/* The event record of row i of a chunk, or NULL. */
static const tl_rec_t *event_of(const chunk_t *ck, uint32_t i) {
    const row_t *r = &ck->rows[i];
    if (r->reason >= 0 || !r->nrec || ck->recs[r->rec0].kind != TL_KIND_EVENTS) return NULL;
    return &ck->recs[r->rec0];
}

/* Writes a chunk's rows in order. The dictionary and fingerprint slots of
 * rows a little ahead are prefetched, hiding most cache misses. */
int tl__write_chunk(importer_t *im, chunk_t *ck, tl_errbuf_t *eb) {
    enum { FAR = 16, NEAR = 8 };
    for (uint32_t i = 0; i < ck->nrows; i++) {
        const tl_rec_t *r;
        if (i + FAR < ck->nrows && (r = event_of(ck, i + FAR))) {
            tl_dict_prefetch(im->users, r->e.ref[TL_EREF_USER].h);
            if (r->e.ref[TL_EREF_ITEM].p) tl_dict_prefetch(im->items, r->e.ref[TL_EREF_ITEM].h);
            tl_store_prefetch_event(im->st, r->e.ev.fp);
        }
        if (i + NEAR < ck->nrows && (r = event_of(ck, i + NEAR))) {
            tl_dict_prefetch_str(im->users, r->e.ref[TL_EREF_USER].h);
            if (r->e.ref[TL_EREF_ITEM].p) tl_dict_prefetch_str(im->items, r->e.ref[TL_EREF_ITEM].h);
        }
        const row_t *row = &ck->rows[i];
        int rc = write_row(im, row, &ck->recs[row->rec0], eb);
        if (!rc) rc = maybe_commit(im, eb);
        if (rc) return rc;
    }
    return 0;
}
