/* privacy.c -- keys, pseudonyms, erasure and retention over the back-end
 * table: what every back end shares (the pseudonym secret and what is
 * derived from it, the audit anchor's text and MAC, the checks before a
 * purge or a key rotation), with the back end keeping opaque bytes.
 *
 * A pseudonym is the keyed BLAKE2b-128 of an id under a secret of the
 * store (the secret "pseudonym_key", sealed with the data key, kept by the
 * back end): stable for the store, useless without its key. MACs are keyed
 * BLAKE2b-256 under a subkey of the same secret, so key rotation, which
 * re-seals the secret, keeps both. The secret is loaded once per handle
 * (a writable open loads it, making it the first time), so that later
 * pseudonyms are pure computation, safe from any thread. */
#include "store_int.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- the pseudonym secret --------------------------------------------------------- */

static const char SECRET[] = "pseudonym_key";

/* The stored secret unsealed into s->pseudo: 0, TL_ENOENT when there is
 * none, or an error with eb told. */
static int read_secret(tl_store_t *s, tl_errbuf_t *eb) {
    tl_buf_t sealed, b;
    tl_buf_init(&sealed);
    tl_buf_init(&b);
    /* a failed read is not "no secret yet": a new one would orphan every
     * pseudonym and tombstone made with the old */
    int rc = s->be->secret_get(s, SECRET, &sealed, eb);
    if (rc == 0) {
        int urc = tl__unseal(s->seal.key, sealed.data, sealed.len, &b);
        if (urc == TL_ENOMEM) {
            tl_errbuf_set(eb, "%s: out of memory reading the pseudonym secret", s->dir);
            rc = TL_ENOMEM;
        } else if (urc != 0 || b.len != TL_KEY_BYTES) {
            tl_errbuf_set(eb, "%s: the pseudonym secret cannot be decrypted with this key", s->dir);
            rc = TL_ECRYPTO;
        } else {
            memcpy(s->pseudo, b.data, TL_KEY_BYTES);
        }
    }
    if (b.data) sodium_memzero(b.data, b.len);
    tl_buf_fini(&sealed);
    tl_buf_fini(&b);
    return rc;
}

static int pseudo_key(tl_store_t *s, tl_errbuf_t *eb) {
    if (s->pseudo_loaded) return 0;
    if (!s->have_key) {
        tl_errbuf_set(eb, "%s: the data key is not available (set $TAILOR_KEY or restore DATA/key)",
                      s->dir);
        return TL_ECRYPTO;
    }
    int rc = read_secret(s, eb);
    if (rc == TL_ENOENT && s->readonly) {
        tl_errbuf_set(eb, "%s: no pseudonym secret yet (a writable open makes one)", s->dir);
    } else if (rc == TL_ENOENT) {
        /* first use: a fresh secret, sealed; another writer that made one
         * first wins, and its secret is read back */
        unsigned char fresh[TL_KEY_BYTES];
        tl_buf_t b;
        tl_buf_init(&b);
        randombytes_buf(fresh, sizeof fresh);
        rc = tl__seal(&s->seal, fresh, sizeof fresh, &b) ? TL_ENOMEM : 0;
        sodium_memzero(fresh, sizeof fresh);
        if (rc) tl_errbuf_set(eb, "%s: out of memory making the pseudonym secret", s->dir);
        else rc = s->be->secret_add(s, SECRET, b.data, b.len, eb);
        if (!rc || rc == TL_EEXIST) rc = read_secret(s, eb);
        tl_buf_fini(&b);
        /* made in a batch, it goes with the batch: read again after it */
        if (!rc && s->in_batch) return 0;
    }
    if (!rc) s->pseudo_loaded = 1;
    return rc;
}

int tl__store_pseudo_load(tl_store_t *s, tl_errbuf_t *eb) { return pseudo_key(s, eb); }

int tl_store_pseudonym(tl_store_t *s, const char *id, size_t n, char out[33], tl_errbuf_t *eb) {
    int rc = pseudo_key(s, eb);
    if (rc) return rc;
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)id, n, s->pseudo, TL_KEY_BYTES);
    sodium_bin2hex(out, 33, h, sizeof h);
    return 0;
}

int tl_store_mac(tl_store_t *s, const void *p, size_t n, char out[65], tl_errbuf_t *eb) {
    int rc = pseudo_key(s, eb);
    if (rc) return rc;
    unsigned char sub[32], h[32];
    crypto_generichash(sub, sizeof sub, (const unsigned char *)"tailor-mac-v1", 13, s->pseudo, TL_KEY_BYTES);
    crypto_generichash(h, sizeof h, p, n, sub, sizeof sub);
    sodium_memzero(sub, sizeof sub);
    sodium_bin2hex(out, 65, h, sizeof h);
    return 0;
}

/* ---- the audit log's anchor --------------------------------------------------------- *
 * Kept as text, "v1 ENTRIES HEAD SINCE UPGRADED AT MAC" (HEAD "-" when
 * none): not sealed, since rotation keeps the MAC key and so the anchor. */

/* The MAC of an anchor's fields; the prefix keeps it apart from the
 * entries' MACs, whose input starts with a MAC or nothing. */
static int anchor_mac(tl_store_t *s, const tl_audit_anchor_t *a, char out[65], tl_errbuf_t *eb) {
    char b[256];
    int n = snprintf(b, sizeof b, "tailor-audit-anchor-v1\x1f%" PRId64 "\x1f%s\x1f%" PRId64 "\x1f%d\x1f%" PRId64,
                     a->entries, a->head, a->since, a->upgraded, a->at);
    return tl_store_mac(s, b, (size_t)n, out, eb);
}

int tl__store_anchor_text(tl_store_t *s, const tl_audit_anchor_t *a, char out[TL__ANCHOR_TEXT],
                          tl_errbuf_t *eb) {
    char mac[65];
    int rc = anchor_mac(s, a, mac, eb);
    if (rc) return rc;
    snprintf(out, TL__ANCHOR_TEXT, "v1 %" PRId64 " %s %" PRId64 " %d %" PRId64 " %s", a->entries,
             a->head[0] ? a->head : "-", a->since, a->upgraded, a->at, mac);
    return 0;
}

int tl_store_audit_anchor(tl_store_t *s, tl_audit_anchor_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    tl_buf_t t;
    tl_buf_init(&t);
    int rc = s->be->anchor_get(s, &t, eb);
    char head[66] = "", mac[66] = "", want[65];
    if (!rc && (sscanf(t.data ? t.data : "", "v1 %" SCNd64 " %65s %" SCNd64 " %d %" SCNd64 " %65s",
                       &out->entries, head, &out->since, &out->upgraded, &out->at, mac) != 6 ||
                strlen(head) > 64)) {
        tl_errbuf_set(eb, "%s: the audit log's anchor is not readable: it was changed in the database",
                      s->dir);
        rc = TL_ECORRUPT;
    }
    tl_buf_fini(&t);
    if (rc) return rc;
    snprintf(out->head, sizeof out->head, "%s", strcmp(head, "-") ? head : "");
    if ((rc = anchor_mac(s, out, want, eb))) return rc;
    if (strcmp(want, mac) != 0) {
        tl_errbuf_set(eb, "%s: the audit log's anchor does not match its MAC: it was changed in the "
                      "database", s->dir);
        return TL_ECORRUPT;
    }
    return 0;
}

int tl_store_audit_anchor_put(tl_store_t *s, const tl_audit_anchor_t *a, tl_errbuf_t *eb) {
    if (!s->in_batch) {
        tl_errbuf_set(eb, "%s: the audit log's anchor moved outside a batch (call tl_store_begin "
                      "first)", s->dir);
        return TL_EINVAL;
    }
    char text[TL__ANCHOR_TEXT];
    int rc = tl__store_anchor_text(s, a, text, eb);
    return rc ? rc : s->be->anchor_put(s, text, eb);
}

/* ---- erasure ---------------------------------------------------------------------------- */

int tl_store_erased_any(tl_store_t *s, tl_errbuf_t *eb) { return s->be->erased_any(s, eb); }

int tl_store_erased(tl_store_t *s, const char *id, size_t n, uint32_t *idx, tl_errbuf_t *eb) {
    if (idx) *idx = TL_NONE;
    /* no pseudonym to compute when nothing was ever erased */
    int rc = s->be->erased_any(s, eb);
    if (rc <= 0) return rc;
    char ps[33];
    if ((rc = tl_store_pseudonym(s, id, n, ps, eb))) return rc;
    uint32_t at = TL_NONE;
    rc = s->be->erased(s, ps, &at, eb);
    if (rc == 1 && idx) *idx = at;
    return rc;
}

static void drop_writers(const tl_purge_t *p) {
    for (int i = 0; i < p->nblobs; i++) tl_blobw_abandon(p->blobs[i]);
}

int tl_store_purge(tl_store_t *s, const tl_purge_t *p, tl_purge_stats_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    int rc = 0;
    char ps[33] = "";
    const char *id = NULL; /* the user's id (NULL: none, or forgotten) */
    size_t n = 0;
    if (s->readonly || s->in_batch) {
        tl_errbuf_set(eb, "a purge needs the data directory open for writing, outside a batch");
        rc = TL_EINVAL;
    } else if (p->user != TL_NONE) {
        tl_dict_t *d = tl_store_dict(s, TL_D_USER, eb);
        if (!d) {
            rc = TL_ENOMEM;
        } else if (p->user >= tl_dict_count(d)) {
            tl_errbuf_set(eb, "no user of index %u", p->user);
            rc = TL_EINVAL;
        } else {
            id = tl_dict_str(d, p->user, &n);
            if (tl_id_forgotten(id)) id = NULL;
            else rc = tl_store_pseudonym(s, id, n, ps, eb);
        }
    }
    if (rc) {
        drop_writers(p); /* the op frees them once called */
        return rc;
    }
    return s->be->purge(s, p, ps, id, n, out, eb);
}

/* ---- key rotation ------------------------------------------------------------------------ */

int tl_store_reseal(tl_store_t *s, tl_rekey_t *rk, const void *blob, size_t n, tl_buf_t *out) {
    tl_buf_t plain;
    tl_buf_init(&plain);
    int rc = tl__unseal(s->seal.key, blob, n, &plain);
    if (!rc) rc = tl__seal(&rk->ns, plain.data, plain.len, out) ? TL_ENOMEM : 0;
    if (plain.data) sodium_memzero(plain.data, plain.len);
    tl_buf_fini(&plain);
    return rc;
}

void tl_store_rekey_committed(tl_rekey_t *rk) { rk->committed = 1; }

int tl_store_rotate_key(tl_store_t *s, const unsigned char *new_key, tl_rekey_stats_t *out,
                        tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    if (s->readonly || s->in_batch || !s->have_key) {
        tl_errbuf_set(eb, "key rotation needs the data directory open for writing, with its key");
        return TL_EINVAL;
    }
    int given = s->conf.key != NULL; /* the key is the caller's to keep */
    if (given && !new_key) {
        tl_errbuf_set(eb, "the key was given at open: give the new one too, then give that one at the "
                      "next open");
        return TL_EINVAL;
    }
    tl_rekey_t rk = {.committed = 0};
    if (new_key) memcpy(rk.ns.key, new_key, TL_KEY_BYTES);
    else randombytes_buf(rk.ns.key, TL_KEY_BYTES);
    tl__sealer_init(&rk.ns);
    int rc = s->be->rotate_key(s, &rk, out, eb);
    if (rk.committed) { /* in force, whatever came after */
        s->seal = rk.ns;
        if (given) memcpy(s->given_key, rk.ns.key, TL_KEY_BYTES);
    }
    sodium_memzero(&rk, sizeof rk);
    return rc;
}
