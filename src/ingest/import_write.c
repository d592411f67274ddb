/* import_write.c -- the writing side of an import (the calling thread):
 * keying identifiers of a kind, interning ids through a small cache,
 * linking an event's user to its alias, checking users against erasures,
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

/* ---- identifiers ---------------------------------------------------------------- */

/* A user or alias value names a member as it is written, unless it begins
 * with a kind's name and ':' ("device:9f2c", "phone:+86 138 0013 8000")
 * or the source says its values are of a kind (--identity): then its
 * dictionary key is the identity module's (personal values keyed as
 * pseudonyms, never stored in clear). */

static int value_keyed(const importer_t *im, const char *v, size_t n) {
    return v && (im->id_kind > 0 || memchr(v, ':', n));
}

int tl__rec_keyed(const importer_t *im, const tl_rec_t *r) {
    switch (r->kind) {
    case TL_KIND_EVENTS:
        return value_keyed(im, r->e.ref[TL_EREF_USER].p, r->e.ref[TL_EREF_USER].n) ||
               value_keyed(im, r->e.ref[TL_EREF_ALIAS].p, r->e.ref[TL_EREF_ALIAS].n);
    case TL_KIND_USERS:
    case TL_KIND_CREDIT:
    case TL_KIND_CONSENTS: return r->id && value_keyed(im, r->id, strlen(r->id));
    default: return 0;
    }
}

/* Puts the dictionary keys of the identifiers a row's records name in
 * place of the values written (kept, NUL-terminated, in im->keys until
 * the next row). Returns 0, 1 with msg told when a value is not an
 * identifier of its kind, or an error. */
static int key_row(importer_t *im, const row_t *row, tl_rec_t *recs, char *msg, size_t cap,
                   tl_errbuf_t *eb) {
    struct {
        tl_ref_t *ref;   /* an event's reference, or */
        const char **id; /* a record's id */
        size_t off;
    } fix[MAX_RECS * 2];
    int nfix = 0;
    im->keys.len = 0;
    for (int i = 0; i < row->nrec; i++) {
        tl_rec_t *r = &recs[i];
        tl_ref_t *refs[2] = {NULL, NULL};
        if (r->kind == TL_KIND_EVENTS) {
            refs[0] = &r->e.ref[TL_EREF_USER];
            refs[1] = &r->e.ref[TL_EREF_ALIAS];
        } else if (r->kind != TL_KIND_USERS && r->kind != TL_KIND_CREDIT &&
                   r->kind != TL_KIND_CONSENTS) {
            continue;
        }
        for (int k = 0; k < 2; k++) {
            const char *v = refs[k] ? refs[k]->p : k ? NULL : r->id;
            size_t n = refs[k] ? refs[k]->n : v ? strlen(v) : 0;
            if (!value_keyed(im, v, n)) continue;
            int kind = tl_id_parse(&im->rules, im->id_kind, &v, &n);
            if (kind < 0) continue;
            tl_errbuf_t kb = {0};
            size_t off = im->keys.len;
            int rc = tl_id_key(im->st, &im->rules, kind, v, n, &im->keys, &kb);
            if (rc == TL_EBADINPUT) {
                snprintf(msg, cap, "field %s: %.200s", k ? "alias" : "user", kb.msg);
                return 1;
            }
            if (!rc) rc = tl_buf_append(&im->keys, "", 1);
            if (rc) {
                tl_errbuf_set(eb, "%s", kb.msg[0] ? kb.msg : "out of memory keying an identifier");
                return rc;
            }
            fix[nfix].ref = refs[k];
            fix[nfix].id = refs[k] ? NULL : &r->id;
            fix[nfix++].off = off;
        }
    }
    for (int f = 0; f < nfix; f++) { /* im->keys moved no more */
        const char *key = im->keys.data + fix[f].off;
        if (fix[f].ref) {
            fix[f].ref->p = key;
            fix[f].ref->n = (uint32_t)strlen(key);
            fix[f].ref->h = tl_dict_hash(key, fix[f].ref->n);
        } else {
            *fix[f].id = key;
        }
    }
    return 0;
}

/* Links an event's user to the alias it carries (a login, an identify
 * event): the person they belong to is resolved from the links later. */
static int link_alias(importer_t *im, const tl_rec_t *r, tl_errbuf_t *eb) {
    const tl_ref_t *a = &r->e.ref[TL_EREF_ALIAS];
    uint32_t alias;
    int rc = tl_dict_intern_h(im->users, a->p, a->n, a->h, &alias, NULL);
    if (rc) return rc;
    if (alias == r->e.ev.user) return 0; /* two spellings of one identifier */
    rc = tl_store_link_add(im->st, r->e.ev.user, alias, r->e.ev.ts, "import", NULL, eb);
    if (rc == 1) im->stats->linked++;
    return rc < 0 ? rc : 0;
}

/* Links a users record's member to its phone and e-mail, identifiers of
 * the kinds `phone` and `email` when the rules have them, made at its
 * registration (or now). A value that is no identifier of its kind, or
 * one that was erased, links nothing. */
static int link_contacts(importer_t *im, const tl_rec_t *r, tl_errbuf_t *eb) {
    static const char *const KIND[2] = {"phone", "email"};
    const char *val[2] = {r->u.phone, r->u.email};
    uint32_t user = tl_dict_find(im->users, r->id, strlen(r->id));
    int64_t at = r->u.registered_at != INT64_MIN ? r->u.registered_at : tl_store_now(im->st);
    tl_buf_t key;
    tl_buf_init(&key);
    int rc = 0;
    for (int k = 0; !rc && k < 2 && user != TL_NONE; k++) {
        int kind = tl_id_kind_find(&im->rules, KIND[k]);
        if (!val[k] || !*val[k] || kind <= 0) continue;
        tl_errbuf_t kb = {0};
        key.len = 0;
        rc = tl_id_key(im->st, &im->rules, kind, val[k], strlen(val[k]), &key, &kb);
        if (rc == TL_EBADINPUT) {
            rc = 0;
            continue;
        }
        if (!rc && (rc = tl_store_erased(im->st, key.data, key.len, NULL, eb)) == 1) {
            rc = 0;
            continue;
        }
        uint32_t id;
        if (!rc) rc = tl_dict_intern(im->users, key.data, key.len, &id, NULL);
        if (!rc && id != user) {
            rc = tl_store_link_add(im->st, user, id, at, "users", NULL, eb);
            if (rc == 1) im->stats->linked++;
            if (rc > 0) rc = 0;
        }
        if (rc == TL_ENOMEM && !kb.msg[0] && !eb->msg[0]) tl_errbuf_set(eb, "out of memory linking contacts");
    }
    tl_buf_fini(&key);
    return rc;
}

/* ---- records ---------------------------------------------------------------------- */

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
        rc = tl_store_add_event(im->st, e, eb);
        if (rc == 1 && ref[TL_EREF_ALIAS].p) {
            int lrc = link_alias(im, r, eb);
            if (lrc) return lrc;
        }
        return rc;
    }
    case TL_KIND_USERS:
        rc = tl_store_put_user(im->st, r->id, &r->u, eb);
        if (rc >= 0 && im->o->link_contacts) {
            int lrc = link_contacts(im, r, eb);
            if (lrc) return lrc;
        }
        return rc;
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
        for (int k = 0; k < 2; k++) { /* the user, then an event's alias */
            const tl_ref_t *ref = r->kind == TL_KIND_EVENTS
                                      ? &r->e.ref[k ? TL_EREF_ALIAS : TL_EREF_USER] : NULL;
            const char *id = ref ? ref->p : k ? NULL : r->id;
            size_t n = ref ? ref->n : id ? strlen(id) : 0;
            if (!id || (r->kind != TL_KIND_EVENTS && r->kind != TL_KIND_USERS &&
                        r->kind != TL_KIND_CREDIT && r->kind != TL_KIND_CONSENTS))
                continue;
            if (tl_dict_find(im->users, id, n) != TL_NONE) continue;
            int rc = tl_store_erased(im->st, id, n, NULL, eb);
            if (rc) return rc;
        }
    }
    return 0;
}

static int write_row(importer_t *im, const row_t *row, tl_rec_t *recs, tl_errbuf_t *eb) {
    im->stats->read++;
    if (row->reason >= 0) return quarantine(im, row, (tl_reason_t)row->reason, row->msg, eb);
    char msg[320];
    int bad = key_row(im, row, recs, msg, sizeof msg, eb);
    if (bad < 0) return bad;
    if (bad) return quarantine(im, row, TL_R_BAD_VALUE, msg, eb);
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
    if (!rc) tl__import_checkpoint(im);
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
        if (im->written++ < im->skip) continue; /* committed before the connection was lost */
        const row_t *row = &ck->rows[i];
        int rc = write_row(im, row, &ck->recs[row->rec0], eb);
        if (!rc) rc = maybe_commit(im, eb);
        if (rc) return rc;
    }
    return 0;
}
