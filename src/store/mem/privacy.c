/* privacy.c -- the store in memory: keys, pseudonyms,
 * erasure and retention: secrets (kept sealed, as given), the audit
 * anchor's text, tombstones, the purge of a user's rows and events or of
 * what is older than a cut, and key rotation re-sealing the secrets (the
 * only sealed values it keeps: its personal fields are plain in memory).
 * The side logs and derived blobs a purge gives go in place with the rest. */
#include "store/mem/mem_int.h"

#include <stdlib.h>
#include <string.h>

/* Nothing it holds outlives the process: a fixed key of its own, unless the
 * configuration gives one. */
int tl__mem_use_key(tl_store_t *st, tl_errbuf_t *eb) {
    static const unsigned char key[32] = "tailor memory back end, no file";
    return tl_store_backend_use_key(st, key, eb);
}

static int oom(tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "out of memory");
    return TL_ENOMEM;
}

/* ---- secrets and the anchor: bytes by name ---------------------------------------- */

static int get_bytes(tl_store_t *st, int coll, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[coll];
    int found;
    size_t at = tl__mcoll_find(c, name, &found);
    if (!found) return TL_ENOENT;
    return tl_buf_append(out, c->r[at].v[0].p, c->r[at].v[0].n) ? oom(eb) : 0;
}

int tl__mem_secret_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    return get_bytes(st, C_SECRETS, name, out, eb);
}

int tl__mem_secret_add(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_SECRETS];
    int found;
    tl__mcoll_find(c, name, &found);
    if (found) return TL_EEXIST;
    mval_t v = {.t = 3, .p = (char *)p, .n = n};
    return tl__mcoll_upsert(c, name, &v, 1, 1) < 0 ? oom(eb) : 0;
}

int tl__mem_anchor_get(tl_store_t *st, tl_buf_t *out, tl_errbuf_t *eb) {
    size_t len = out->len;
    int rc = get_bytes(st, C_META, "audit_anchor", out, eb);
    if (!rc) out->len = len + strlen(out->data + len); /* the text, without its NUL */
    return rc;
}

int tl__mem_anchor_put(tl_store_t *st, const char *text, tl_errbuf_t *eb) {
    mval_t v = tl__mv_s(text);
    return tl__mcoll_upsert(&tl__mem_cur(tl__mem_of(st))->c[C_META], "audit_anchor", &v, 1, 1) < 0 ? oom(eb) : 0;
}

/* ---- tombstones: pseudonym -> (0: index, 1: at), committed ones ------------------------ */

int tl__mem_erased(tl_store_t *st, const char *pseudonym, uint32_t *idx, tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_of(st)->comm.c[C_ERASED];
    int found;
    size_t at = tl__mcoll_find(c, pseudonym, &found);
    if (found && idx) *idx = (uint32_t)c->r[at].v[0].i;
    return found;
}

int tl__mem_erased_any(tl_store_t *st, tl_errbuf_t *eb) {
    (void)eb;
    return tl__mem_of(st)->comm.c[C_ERASED].n > 0;
}

/* ---- the purge --------------------------------------------------------------------- */

/* 1 if term occurs in p[0..n) as a whole token (as the local back end
 * reads it: not inside a run of the characters ids are made of). */
static int idch(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '-' || c == '.' || c == '@' || c == '+' || (unsigned char)c >= 0x80;
}

static int has_token(const char *p, size_t n, const char *term) {
    size_t tl = strlen(term);
    for (size_t i = 0; tl && i + tl <= n; i++)
        if (!memcmp(p + i, term, tl) && !(i > 0 && idch(p[i - 1])) && !(i + tl < n && idch(p[i + tl])))
            return 1;
    return 0;
}

/* Removes the rows of c that drop() picks, counting them in *count. */
typedef int (*mdrop_fn)(const tl__mcoll_t *c, size_t i, const void *arg);
static void drop_rows(tl__mcoll_t *c, mdrop_fn drop, const void *arg, uint64_t *count) {
    for (size_t i = c->n; i-- > 0;)
        if (drop(c, i, arg)) {
            tl__mcoll_remove(c, i);
            if (count) ++*count;
        }
}

static int of_user(const tl__mcoll_t *c, size_t i, const void *arg) {
    return tl__mkey_to_u32(c->r[i].key) == *(const uint32_t *)arg;
}

static int link_of_user(const tl__mcoll_t *c, size_t i, const void *arg) {
    uint32_t u = *(const uint32_t *)arg;
    return c->r[i].v[0].i == u || c->r[i].v[1].i == u;
}

/* feedback rows: 0 user, 6 at (reads.c) */
static int feedback_of_user(const tl__mcoll_t *c, size_t i, const void *arg) {
    return c->r[i].v[0].i == *(const uint32_t *)arg;
}

static int feedback_older(const tl__mcoll_t *c, size_t i, const void *arg) {
    return c->r[i].v[6].i < *(const int64_t *)arg;
}

static int of_id(const tl__mcoll_t *c, size_t i, const void *arg) { /* delivery ids end with ":ID" */
    const char *tail = arg, *k = c->r[i].key;
    size_t kl = strlen(k), tl = strlen(tail);
    return kl >= tl && !strcmp(k + kl - tl, tail);
}

/* History older than the cut; the consent in force stays. */
static int stale_consent(const tl__mcoll_t *c, size_t i, const void *arg) {
    const tl__mrow_t *r = &c->r[i];
    if (r->v[1].i >= *(const int64_t *)arg) return 0;
    for (size_t j = 0; j < c->n; j++)
        if (tl__mkey_to_u32(c->r[j].key) == tl__mkey_to_u32(r->key) && !strcmp(c->r[j].v[0].p, r->v[0].p) &&
            c->r[j].v[1].i > r->v[1].i)
            return 1;
    return 0;
}

static int older(const tl__mcoll_t *c, size_t i, const void *arg) {
    return c->r[i].v[1].i < *(const int64_t *)arg;
}

/* Quarantined rows naming a term: raw emptied, preview and message replaced. */
static int redact(tl__mcoll_t *c, const tl_purge_t *p, uint64_t *count) {
    for (size_t i = 0; i < c->n; i++) {
        mval_t *v = c->r[i].v;
        int hit = 0;
        for (int t = 0; !hit && t < p->nterms; t++)
            hit = has_token(v[6].p, v[6].n, p->terms[t]) ||
                  (tl__mv_str(&v[7]) && has_token(v[7].p, strlen(v[7].p), p->terms[t]));
        if (!hit) continue;
        mval_t nv[8] = {{0}};
        nv[4] = tl__mv_s("(the record of an erased user)"), nv[6] = (mval_t){.t = 3, .p = "", .n = 0};
        nv[7] = tl__mv_s("(erased)");
        if (tl__mcoll_upsert(c, c->r[i].key, nv, 8, 0) < 0) return TL_ENOMEM;
        ++*count;
    }
    return 0;
}

int tl__mem_purge(tl_store_t *st, const tl_purge_t *p, const char *pseudonym, const char *id, size_t n,
              tl_purge_stats_t *out, tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
    tl__mdata_t w; /* the rows after the purge, put in place at the end */
    if (tl__mdata_copy(&w, &m->comm)) {
        for (int i = 0; i < p->nblobs; i++) tl_blobw_abandon(p->blobs[i]);
        return oom(eb);
    }
    int rc = 0;
    /* the side logs and derived blobs given, in the copy */
    for (int i = 0; i < p->nblobs; i++) {
        if (!rc) rc = tl__mem_blobw_install(p->blobs[i], &w.c[C_BLOBS]);
        else tl_blobw_abandon(p->blobs[i]);
    }
    for (int i = 0; !rc && i < p->nlogs; i++) {
        mval_t v[1] = {{.t = 3, .p = (char *)p->logs[i].data, .n = p->logs[i].len}};
        if (tl__mcoll_upsert(&w.c[C_APPLOGS], p->logs[i].name, v, 1, 1) < 0) rc = TL_ENOMEM;
    }
    uint32_t u = p->user;
    if (u != TL_NONE) {
        drop_rows(&w.c[C_USERS], of_user, &u, &out->rows);
        drop_rows(&w.c[C_CREDIT], of_user, &u, &out->rows);
        drop_rows(&w.c[C_CONSENTS], of_user, &u, &out->rows);
        drop_rows(&w.c[C_LINKS], link_of_user, &u, &out->rows);
        drop_rows(&w.c[C_DNC], of_user, &u, &out->rows);
        drop_rows(&w.c[C_FEEDBACK], feedback_of_user, &u, &out->rows);
        char *tail = id ? malloc(n + 2) : NULL;
        if (id && !tail) rc = TL_ENOMEM;
        if (tail) {
            tail[0] = ':';
            memcpy(tail + 1, id, n);
            tail[n + 1] = 0;
            drop_rows(&w.c[C_DELIVERIES], of_id, tail, NULL);
            free(tail);
        }
        mval_t tomb[2] = {tl__mv_i(u, 1), tl__mv_i(tl_store_now(st), 1)};
        if (!rc && pseudonym[0] && tl__mcoll_upsert(&w.c[C_ERASED], pseudonym, tomb, 2, 1) < 0) rc = TL_ENOMEM;
    }
    if (!rc && p->nterms) rc = redact(&w.c[C_QUARANTINE], p, &out->quarantined);
    if (!rc && p->before != INT64_MIN) {
        drop_rows(&w.c[C_CONSENTS], stale_consent, &p->before, &out->rows);
        drop_rows(&w.c[C_FEEDBACK], feedback_older, &p->before, &out->rows);
        drop_rows(&w.c[C_QUARANTINE], older, &p->before, &out->quarantined);
    }
    /* the last step that can fail: the id forgotten, keeping its index */
    if (!rc && pseudonym[0] && m->dict[TL_D_USER]) rc = tl_dict_forget(m->dict[TL_D_USER], u);
    m->gen++; /* the ids' views are read again */
    if (rc) {
        tl__mdata_free(&w);
        memset(out, 0, sizeof *out);
        return oom(eb);
    }
    tl__mdata_free(&m->comm);
    m->comm = w;
    uint64_t kept = 0;
    for (uint64_t i = 0; i < m->ncomm; i++) {
        const tl_event_t *e = &m->ev[i];
        if ((u != TL_NONE && e->user == u) || e->ts < p->before) {
            tl_hset_del(&m->fps, e->fp);
            out->events++;
        } else {
            m->ev[kept++] = *e;
        }
    }
    memset(m->ev + kept, 0, (m->ncomm - kept) * sizeof *m->ev);
    m->nev = m->ncomm = kept;
    return 0;
}

/* ---- key rotation: the secrets re-sealed, all or none -------------------------------- */

int tl__mem_rotate_key(tl_store_t *st, tl_rekey_t *rk, tl_rekey_stats_t *out, tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
    tl__mdata_t w;
    if (tl__mdata_copy(&w, &m->comm)) return oom(eb);
    tl__mcoll_t *c = &w.c[C_SECRETS];
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = 0;
    for (size_t i = 0; !rc && i < c->n; i++) {
        tl_buf_clear(&b);
        rc = tl_store_reseal(st, rk, c->r[i].v[0].p, c->r[i].v[0].n, &b);
        mval_t v = {.t = 3, .p = b.data, .n = b.len};
        if (!rc && tl__mcoll_upsert(c, c->r[i].key, &v, 1, 1) < 0) rc = TL_ENOMEM;
        if (!rc) out->other++;
    }
    tl_buf_fini(&b);
    if (rc) {
        tl__mdata_free(&w);
        out->other = 0;
        tl_errbuf_set(eb, rc == TL_ECRYPTO ? "a secret does not open with the current key" : "out of memory");
        return rc;
    }
    tl__mdata_free(&m->comm);
    m->comm = w;
    tl_store_rekey_committed(rk);
    return 0;
}
