/* repos.c -- the PostgreSQL back end's small repositories: the quarantine
 * (raw rows sealed with the data key; a re-quarantined row found by a
 * keyed MAC of its line and raw text, so that text is never in clear),
 * settings and segments, API keys and the audit log's entries.
 *
 * Texts are ordered bytewise (COLLATE "C"), as the other back ends order
 * them, whatever the database's collation. A write whose key is taken is
 * an INSERT ... ON CONFLICT DO NOTHING that adds no row, never a failed
 * statement: in a batch that would abort the batch's transaction. Scans of
 * the tables that grow (the quarantine, the audit log) read pages by id,
 * so no result holds the whole table. */
#include "store/pg/pg_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows per page of a quarantine or audit scan. */
#define PAGE 4096

static const char *str(const PGresult *r, int row, int col) {
    const char *s = tl__pg_text(r, row, col);
    return s ? s : "";
}

static int oom(tl_store_t *st, tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "%s: out of memory", st->dir);
    return TL_ENOMEM;
}

/* ---- the quarantine ------------------------------------------------------------------ */

/* The MAC rows are told apart by: keyed BLAKE2b-256 of (line, raw) under the
 * pseudonym secret, which key rotation keeps, so a row quarantined before a
 * rotation is still found after it. */
static int raw_mac(tl_store_t *st, uint64_t line, const char *raw, size_t rawlen,
                   unsigned char mac[32], tl_errbuf_t *eb) {
    int rc = tl__store_pseudo_load(st, eb);
    if (rc) return rc;
    static const char tag[] = "tailor-quarantine-v1";
    unsigned char be[8];
    for (int i = 0; i < 8; i++) be[i] = (unsigned char)(line >> (56 - 8 * i));
    crypto_generichash_state h;
    crypto_generichash_init(&h, st->pseudo, TL_KEY_BYTES, 32);
    crypto_generichash_update(&h, (const unsigned char *)tag, sizeof tag - 1);
    crypto_generichash_update(&h, be, sizeof be);
    crypto_generichash_update(&h, (const unsigned char *)raw, rawlen);
    crypto_generichash_final(&h, mac, 32);
    return 0;
}

int tl__pg_quarantine(tl_store_t *st, const char *source, uint64_t line, const char *reason,
                      const char *message, const char *raw, size_t rawlen, const char *preview,
                      tl_errbuf_t *eb) {
    unsigned char mac[32];
    int rc = raw_mac(st, line, raw, rawlen, mac, eb);
    if (rc) return rc;
    tl_buf_t *sealed = &tl__pg(st)->tmp;
    tl_buf_clear(sealed);
    if (tl__seal(&st->seal, raw, rawlen, sealed)) return oom(st, eb);
    PGresult *r = tl__pg_exec(st, eb, "writing the quarantine",
                              "INSERT INTO tl_quarantine(source, line, rawmac, reason, message, raw,"
                              " at, preview) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                              " ON CONFLICT (source, line, rawmac) DO NOTHING",
                              "bibsbbib", source, strlen(source), (int64_t)line, mac, sizeof mac,
                              reason, message, message ? strlen(message) : 0, sealed->data,
                              sealed->len, tl_store_now(st), preview, preview ? strlen(preview) : 0);
    if (!r) return tl__pg_err(st);
    rc = tl__pg_affected(r) > 0;
    PQclear(r);
    return rc;
}

/* Calls fn for the rows of page r, their raw text unsealed into raw when
 * asked for; *last gets the last row's id. */
static int quarantine_page(tl_store_t *st, const PGresult *r, int with_raw, tl_buf_t *raw,
                           tl_qrow_fn fn, void *arg, int64_t *last, tl_errbuf_t *eb) {
    for (int i = 0; i < PQntuples(r); i++) {
        tl_qrow_t q = {.id = tl__pg_int(r, i, 0, 0), .at = tl__pg_int(r, i, 1, 0),
                       .source = str(r, i, 2), .reason = str(r, i, 3), .message = str(r, i, 4),
                       .line = (uint64_t)tl__pg_int(r, i, 5, 0), .preview = str(r, i, 7)};
        *last = q.id;
        if (with_raw) {
            size_t n;
            const void *blob = tl__pg_bytes(r, i, 6, &n);
            tl_buf_clear(raw);
            int urc = blob ? tl__unseal(st->seal.key, blob, n, raw) : TL_ECRYPTO;
            if (urc == TL_ENOMEM) return oom(st, eb);
            if (urc || tl_buf_append(raw, "", 1)) {
                tl_errbuf_set(eb, "%s: quarantined row %lld cannot be decrypted: the key is "
                              "wrong", st->dir, (long long)q.id);
                return urc ? TL_ECRYPTO : oom(st, eb);
            }
            q.raw = (const char *)raw->data, q.rawlen = raw->len - 1;
        }
        int rc = fn(&q, arg);
        if (rc) return rc;
    }
    return 0;
}

int tl__pg_quarantine_scan(tl_store_t *st, const char *reason, int with_raw, tl_qrow_fn fn,
                           void *arg, tl_errbuf_t *eb) {
    if (with_raw && !st->have_key) {
        tl_errbuf_set(eb, "%s: quarantined rows cannot be read without the data key", st->dir);
        return TL_ECRYPTO;
    }
    tl_buf_t raw;
    tl_buf_init(&raw);
    int64_t last = 0;
    int rc = 0, n;
    do {
        PGresult *r = tl__pg_exec(st, eb, "reading the quarantine",
                                  "SELECT id, at, source, reason, message, line,"
                                  " CASE WHEN $3 <> 0 THEN raw END, preview FROM tl_quarantine"
                                  " WHERE id > $1 AND ($2::text IS NULL OR reason = $2)"
                                  " ORDER BY id LIMIT $4",
                                  "isii", last, reason, (int64_t)with_raw, (int64_t)PAGE);
        if (!r) {
            rc = tl__pg_err(st);
            break;
        }
        n = PQntuples(r);
        rc = quarantine_page(st, r, with_raw, &raw, fn, arg, &last, eb);
        PQclear(r);
    } while (!rc && n == PAGE);
    if (raw.data) sodium_memzero(raw.data, raw.len);
    tl_buf_fini(&raw);
    return rc;
}

int tl__pg_quarantine_counts(tl_store_t *st, tl_reason_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "counting the quarantine",
                              "SELECT reason, count(*) FROM tl_quarantine GROUP BY reason"
                              " ORDER BY count(*) DESC, reason COLLATE \"C\"", "");
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++)
        rc = fn(str(r, i, 0), (uint64_t)tl__pg_int(r, i, 1, 0), arg);
    PQclear(r);
    return rc;
}

/* ---- settings and segments -------------------------------------------------------------- */

int tl__pg_config_put(tl_store_t *st, const char *key, const char *value, tl_errbuf_t *eb) {
    return tl__pg_run(st, eb, "writing a setting",
                      "INSERT INTO tl_config(key, value) VALUES ($1, $2)"
                      " ON CONFLICT (key) DO UPDATE SET value = excluded.value", "ss", key, value);
}

/* The text column 0 of the one row r holds into *out (caller frees);
 * TL_ENOENT, eb untouched, when r has none. */
static int text_of(tl_store_t *st, PGresult *r, char **out, tl_errbuf_t *eb) {
    *out = NULL;
    int rc = !PQntuples(r) ? TL_ENOENT : !(*out = strdup(str(r, 0, 0))) ? oom(st, eb) : 0;
    PQclear(r);
    return rc;
}

int tl__pg_config_get(tl_store_t *st, const char *key, char **value, tl_errbuf_t *eb) {
    *value = NULL;
    PGresult *r = tl__pg_exec(st, eb, "reading a setting",
                              "SELECT value FROM tl_config WHERE key = $1", "s", key);
    return r ? text_of(st, r, value, eb) : tl__pg_err(st);
}

int tl__pg_segment_put(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb) {
    /* xmax is 0 in the row an INSERT made, not in one its ON CONFLICT updated */
    PGresult *r = tl__pg_exec(st, eb, "writing a segment",
                              "INSERT INTO tl_segments(name, expr, created) VALUES ($1, $2, $3)"
                              " ON CONFLICT (name) DO UPDATE SET expr = excluded.expr,"
                              " created = excluded.created RETURNING xmax = 0",
                              "ssi", name, expr, tl_store_now(st));
    if (!r) return tl__pg_err(st);
    int added = (int)tl__pg_int(r, 0, 0, 0);
    PQclear(r);
    return added;
}

int tl__pg_segment_get(tl_store_t *st, const char *name, char **expr, tl_errbuf_t *eb) {
    *expr = NULL;
    PGresult *r = tl__pg_exec(st, eb, "reading a segment",
                              "SELECT expr FROM tl_segments WHERE name = $1", "s", name);
    int rc = r ? text_of(st, r, expr, eb) : tl__pg_err(st);
    if (rc == TL_ENOENT) tl_errbuf_set(eb, "no segment \"%s\"", name);
    return rc;
}

int tl__pg_segment_delete(tl_store_t *st, const char *name, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "removing a segment",
                              "DELETE FROM tl_segments WHERE name = $1", "s", name);
    if (!r) return tl__pg_err(st);
    int64_t n = tl__pg_affected(r);
    PQclear(r);
    if (n) return 0;
    tl_errbuf_set(eb, "no segment \"%s\"", name);
    return TL_ENOENT;
}

int tl__pg_segment_list(tl_store_t *st, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading the segments",
                              "SELECT name, expr, created FROM tl_segments"
                              " ORDER BY name COLLATE \"C\"", "");
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++)
        rc = fn(str(r, i, 0), str(r, i, 1), tl__pg_int(r, i, 2, 0), arg);
    PQclear(r);
    return rc;
}

/* ---- API keys ------------------------------------------------------------------------- */

int tl__pg_apikey_put(tl_store_t *st, const tl_apikey_row_t *k, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "adding an API key",
                              "INSERT INTO tl_api_keys(id, hash, role, name, created)"
                              " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                              "ssssi", k->id, k->hash, k->role, k->name ? k->name : "",
                              k->created);
    if (!r) return tl__pg_err(st);
    int64_t n = tl__pg_affected(r);
    PQclear(r);
    if (n) return 0;
    tl_errbuf_set(eb, "there is an API key %s already", k->id);
    return TL_EEXIST;
}

int tl__pg_apikey_delete(tl_store_t *st, const char *id, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "removing an API key",
                              "DELETE FROM tl_api_keys WHERE id = $1", "s", id);
    if (!r) return tl__pg_err(st);
    int found = tl__pg_affected(r) > 0;
    PQclear(r);
    return found;
}

int tl__pg_apikey_scan(tl_store_t *st, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading the API keys",
                              "SELECT id, hash, role, name, created FROM tl_api_keys"
                              " ORDER BY created, id COLLATE \"C\"", "");
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        tl_apikey_row_t k = {str(r, i, 0), str(r, i, 1), str(r, i, 2), str(r, i, 3),
                             tl__pg_int(r, i, 4, 0)};
        rc = fn(&k, arg);
    }
    PQclear(r);
    return rc;
}

/* ---- the audit log's entries ------------------------------------------------------------ */

int tl__pg_audit_append(tl_store_t *st, const tl_audit_entry_t *e, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "writing an audit entry",
                              "INSERT INTO tl_audit(id, at, who, what, target, mac)"
                              " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                              "iissss", e->id, e->at, e->who, e->what, e->target, e->mac);
    if (!r) return tl__pg_err(st);
    int64_t n = tl__pg_affected(r);
    PQclear(r);
    if (n) return 0;
    tl_errbuf_set(eb, "the audit log has an entry %lld already", (long long)e->id);
    return TL_EEXIST;
}

int tl__pg_audit_last(tl_store_t *st, int64_t *id, char mac[65], tl_errbuf_t *eb) {
    *id = 0, mac[0] = 0;
    PGresult *r = tl__pg_exec(st, eb, "reading the audit log",
                              "SELECT id, mac FROM tl_audit ORDER BY id DESC LIMIT 1", "");
    if (!r) return tl__pg_err(st);
    if (PQntuples(r)) {
        *id = tl__pg_int(r, 0, 0, 0);
        snprintf(mac, 65, "%s", str(r, 0, 1));
    }
    PQclear(r);
    return 0;
}

int tl__pg_audit_scan(tl_store_t *st, const char *target, tl_audit_fn fn, void *arg,
                      tl_errbuf_t *eb) {
    int64_t last = INT64_MIN;
    int rc = 0, n;
    do {
        PGresult *r = tl__pg_exec(st, eb, "reading the audit log",
                                  "SELECT id, at, who, what, target, mac FROM tl_audit"
                                  " WHERE id > $1 AND ($2::text IS NULL OR"
                                  " coalesce(target, '') = $2) ORDER BY id LIMIT $3",
                                  "isi", last, target, (int64_t)PAGE);
        if (!r) return tl__pg_err(st);
        n = PQntuples(r);
        for (int i = 0; i < n && !rc; i++) {
            tl_audit_entry_t e = {tl__pg_int(r, i, 0, 0), tl__pg_int(r, i, 1, 0), str(r, i, 2),
                                  str(r, i, 3), str(r, i, 4), str(r, i, 5)};
            last = e.id;
            rc = fn(&e, arg);
        }
        PQclear(r);
    } while (!rc && n == PAGE);
    return rc;
}
