/* privacy.c -- the PostgreSQL back end's keys, tombstones, erasure and
 * retention: the data key checked against the store's key check, secrets
 * (sealed by tailor, added once), the audit log's anchor, the tombstones
 * of erased users, the purge and key rotation.
 *
 * The key: tailor keeps it, never the database, so every process sharing
 * a store is given the same key (TAILOR_KEY), or opens it through a data
 * directory whose key file holds it. tl_meta 'key_check' holds a known
 * text sealed with it, made by the first writable open, so a process given
 * another key is refused at open rather than sealing values no other can
 * read. A rotation with a key file writes the new key beside the old one
 * (key.new) before it seals anything with it and puts it in the old one's
 * place after its commit; an open whose key no longer opens the check
 * takes key.new when that does (a rotation cut short after its commit).
 *
 * The purge and the rotation are each one transaction holding the
 * writers' lock, so no batch runs beside them: all of it commits or none.
 * A purge that removes events numbers the remaining ones again from 0 in
 * their order and sets the count, as the contract's dense sequence wants.
 * Whole partitions of events older than a cut are truncated (their files
 * go at once); the rest is deleted, and its bytes stay in the server's
 * files until a VACUUM reuses them. */
#include "store/pg/pg_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The text key_check seals (the local back end's). */
static const char CHECK[] = "tailor-key-check";

/* Rows per page of a scan that writes back what it read. */
#define PAGE 1024

static int oom(tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "out of memory");
    return TL_ENOMEM;
}

/* The bytes of the only cell of r appended to out: 0, TL_ENOENT when r has
 * no row, the statement's error when r is NULL (eb set). Clears r. */
static int cell(tl_store_t *st, PGresult *r, tl_buf_t *out, tl_errbuf_t *eb) {
    if (!r) return tl__pg_err(st);
    size_t n;
    const void *p = tl__pg_bytes(r, 0, 0, &n);
    int rc = PQntuples(r) == 0 ? TL_ENOENT : tl_buf_append(out, p ? p : "", n) ? oom(eb) : 0;
    PQclear(r);
    return rc;
}

/* Adds the rows r changed to *count (when given): 0, or the statement's
 * error when r is NULL (eb set). Clears r. */
static int counted(tl_store_t *st, PGresult *r, uint64_t *count) {
    if (!r) return tl__pg_err(st);
    if (count) *count += (uint64_t)tl__pg_affected(r);
    PQclear(r);
    return 0;
}

/* ---- the data key ------------------------------------------------------------------ */

static int meta_get(tl_store_t *st, const char *key, tl_buf_t *out, tl_errbuf_t *eb) {
    return cell(st, tl__pg_exec(st, eb, "reading the store's settings",
                                "SELECT value FROM tl_meta WHERE key = $1", "s", key),
                out, eb);
}

/* The key check made when there is none; of two processes making it at
 * once one wins and both read the winner's. */
static int key_check(tl_store_t *st, tl_buf_t *b, tl_errbuf_t *eb) {
    int rc = meta_get(st, "key_check", b, eb);
    if (rc != TL_ENOENT || st->readonly) return rc;
    tl_buf_t sealed;
    tl_buf_init(&sealed);
    rc = tl__seal(&st->seal, CHECK, sizeof CHECK - 1, &sealed) ? oom(eb) : 0;
    if (!rc) rc = tl__pg_run(st, eb, "recording the key check",
                             "INSERT INTO tl_meta VALUES ('key_check', $1) ON CONFLICT DO NOTHING",
                             "b", sealed.data, sealed.len);
    tl_buf_fini(&sealed);
    return rc ? rc : meta_get(st, "key_check", b, eb);
}

/* 1 when the sealed check opens with key, 0 when not, or TL_ENOMEM. */
static int opens(const unsigned char key[TL_KEY_BYTES], const tl_buf_t *check) {
    tl_buf_t plain;
    tl_buf_init(&plain);
    int rc = tl__unseal(key, check->data, check->len, &plain);
    int ok = !rc && plain.len == sizeof CHECK - 1 && !memcmp(plain.data, CHECK, plain.len);
    tl_buf_fini(&plain);
    return rc == TL_ENOMEM ? rc : ok;
}

/* ---- the key file of a data directory naming the store ------------------------------ */

static int sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The key file DIR/name read: 0, or -1. */
static int read_key(const char *dir, const char *name, unsigned char key[TL_KEY_BYTES]) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t r = read(fd, key, TL_KEY_BYTES);
    close(fd);
    return r == TL_KEY_BYTES ? 0 : -1;
}

/* The committed rotation's key in the old one's place (another process
 * finding it first may have put it there). */
static int next_install(tl_store_t *st, const unsigned char key[TL_KEY_BYTES], tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/key.new", pg->keydir);
    snprintf(to, sizeof to, "%s/key", pg->keydir);
    memcpy(pg->dirkey, key, TL_KEY_BYTES);
    unsigned char k[TL_KEY_BYTES];
    int rc = rename(from, to) == 0 || (errno == ENOENT && !read_key(pg->keydir, "key", k) &&
                                       !memcmp(k, key, TL_KEY_BYTES))
                 ? 0
                 : TL_EIO;
    if (!rc && sync_dir(pg->keydir)) rc = TL_EIO;
    if (rc) tl_errbuf_set(eb, "%s: cannot put the new key in place (the next open will): %s", from,
                          strerror(errno));
    sodium_memzero(k, sizeof k);
    return rc;
}

static void next_drop(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/key.new", dir);
    unlink(path);
}

/* A rotation's new key in DIR/key.new, durably, before anything is sealed
 * with it. */
static int next_write(tl_store_t *st, const unsigned char key[TL_KEY_BYTES], tl_errbuf_t *eb) {
    const char *dir = tl__pg(st)->keydir;
    unsigned char k[TL_KEY_BYTES];
    /* the key in use, left there by a rotation whose rename failed: first
     * put in place; any other is of a rotation that never committed */
    int cur = !read_key(dir, "key.new", k) && !memcmp(k, tl__pg(st)->dirkey, TL_KEY_BYTES);
    int rc = cur ? next_install(st, k, eb) : 0;
    sodium_memzero(k, sizeof k);
    if (rc) return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/key.new", dir);
    next_drop(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, key, TL_KEY_BYTES) != TL_KEY_BYTES || fsync(fd) != 0 || sync_dir(dir))
        rc = TL_EIO;
    if (rc) tl_errbuf_set(eb, "%s: cannot write the new key: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    if (rc) unlink(path);
    return rc;
}

/* When the key file's key does not open the check: key.new when it does
 * (a rotation committed before its key took the old one's place), put in
 * place by a writable open. 1 taken, 0 not, or the error. */
static int take_next(tl_store_t *st, const tl_buf_t *check, tl_errbuf_t *eb) {
    unsigned char k[TL_KEY_BYTES];
    int ok = read_key(tl__pg(st)->keydir, "key.new", k) ? 0 : opens(k, check);
    int rc = ok == 1 ? tl_store_backend_use_key(st, k, eb) : 0;
    if (ok == 1 && !rc) {
        memcpy(tl__pg(st)->dirkey, k, TL_KEY_BYTES);
        if (!st->readonly) rc = next_install(st, k, eb);
    }
    sodium_memzero(k, sizeof k);
    return rc ? rc : ok;
}

int tl__pg_use_key(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (!st->conf.key && !pg->have_dirkey) {
        tl_buf_t b;
        tl_buf_init(&b);
        int rc = st->readonly ? key_check(st, &b, eb) : 0;
        tl_buf_fini(&b);
        if (rc == TL_ENOENT) return 0; /* nothing was ever sealed: a reader needs no key */
        if (rc && rc != TL_ENOENT) return rc;
        tl_errbuf_set(eb, "%s: the store's data key is not given: set TAILOR_KEY (64 hex digits, "
                      "the same in every process sharing the store), or open it through a data "
                      "directory whose key file holds it", st->dir);
        return TL_ECRYPTO;
    }
    int rc = tl_store_backend_use_key(st, pg->have_dirkey ? pg->dirkey : NULL, eb);
    tl_buf_t b;
    tl_buf_init(&b);
    if (!rc) rc = key_check(st, &b, eb);
    int ok = rc ? rc : opens(st->seal.key, &b);
    if (ok == 0 && pg->keydir) ok = take_next(st, &b, eb);
    tl_buf_fini(&b);
    if (ok == TL_ENOENT) return 0; /* read-only, before any writable open: nothing sealed yet */
    if (ok == 0) {
        tl_errbuf_set(eb, "%s: this key does not open the store (a wrong $TAILOR_KEY or key file: "
                      "every process sharing the store must be given the same)", st->dir);
        return TL_ECRYPTO;
    }
    return ok == TL_ENOMEM ? oom(eb) : ok < 0 ? ok : 0;
}

int tl__pg_key_current(tl_store_t *st, tl_errbuf_t *eb) {
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = key_check(st, &b, eb);
    int ok = rc ? rc : opens(st->seal.key, &b);
    tl_buf_fini(&b);
    if (ok == TL_ENOENT || ok == 1) return 0;
    if (ok == 0) {
        tl_errbuf_set(eb, "%s: the store's key is no longer this process's (it was rotated since "
                      "the process began): start it again with the new key", st->dir);
        return TL_ECRYPTO;
    }
    return ok == TL_ENOMEM ? oom(eb) : ok;
}

/* ---- the audit log's anchor, made at a writable open when there is none ----------- */

int tl__pg_anchor_make(tl_store_t *st, tl_errbuf_t *eb) {
    tl_audit_anchor_t a;
    int rc = tl_store_audit_anchor(st, &a, eb);
    if (rc != TL_ENOENT) {
        /* one that does not match its MAC stays, for the verification to report */
        if (rc == TL_ECORRUPT) eb->msg[0] = 0, rc = 0;
        return rc;
    }
    eb->msg[0] = 0;
    if ((rc = tl__pg_tx_begin(st, eb))) return rc;
    /* another process may make it first: the lock, then look again */
    rc = tl__pg_run(st, eb, "waiting for the writers' lock", "SELECT pg_advisory_xact_lock($1)", "i",
                    (int64_t)TL_PG_WRITER_LOCK);
    tl_buf_t t;
    tl_buf_init(&t);
    int have = rc ? 0 : tl__pg_anchor_get(st, &t, eb) == 0;
    tl_buf_fini(&t);
    PGresult *r = rc || have ? NULL
                  : tl__pg_exec(st, eb, "anchoring the audit log",
                                "SELECT (SELECT count(*) FROM tl_audit), (SELECT mac FROM tl_audit"
                                " WHERE mac IS NOT NULL AND mac <> '' ORDER BY id DESC LIMIT 1)", "");
    if (!rc && !have && !r) rc = TL_EIO;
    if (r) {
        /* the head is the last chained entry's MAC, as the verification
         * computes it; a log found without an anchor is anchored as it is */
        memset(&a, 0, sizeof a);
        a.entries = tl__pg_int(r, 0, 0, 0);
        snprintf(a.head, sizeof a.head, "%s", tl__pg_text(r, 0, 1) ? tl__pg_text(r, 0, 1) : "");
        PQclear(r);
        a.since = a.entries;
        a.upgraded = a.entries > 0;
        a.at = tl_store_now(st);
        char text[TL__ANCHOR_TEXT];
        rc = tl__store_anchor_text(st, &a, text, eb);
        if (!rc) rc = tl__pg_anchor_put(st, text, eb);
    }
    if (rc) {
        tl__pg_tx_rollback(st);
        return rc;
    }
    return tl__pg_tx_commit(st, eb);
}

/* ---- secrets and the anchor -------------------------------------------------------- */

int tl__pg_secret_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    return cell(st, tl__pg_exec(st, eb, "reading a secret",
                                "SELECT value FROM tl_secrets WHERE name = $1", "s", name),
                out, eb);
}

int tl__pg_secret_add(tl_store_t *st, const char *name, const void *p, size_t n,
                      tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "keeping a secret",
                              "INSERT INTO tl_secrets VALUES ($1, $2) ON CONFLICT DO NOTHING", "sb",
                              name, p ? p : "", n);
    if (!r) return tl__pg_err(st);
    int rc = tl__pg_affected(r) ? 0 : TL_EEXIST;
    PQclear(r);
    return rc;
}

int tl__pg_anchor_get(tl_store_t *st, tl_buf_t *out, tl_errbuf_t *eb) {
    return meta_get(st, "audit_anchor", out, eb);
}

int tl__pg_anchor_put(tl_store_t *st, const char *text, tl_errbuf_t *eb) {
    return tl__pg_run(st, eb, "recording the audit log's anchor",
                      "INSERT INTO tl_meta VALUES ('audit_anchor', $1)"
                      " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                      "b", text, strlen(text));
}

/* ---- tombstones --------------------------------------------------------------------
 *
 * An import asks about every id it has not seen, inside its batches: there
 * the tombstones' hashes are read once, so an id that is none costs a set
 * lookup rather than a round trip. Outside batches each question is a
 * statement, as a purge of another process may have committed since. */

static uint64_t erased_hash(const char *pseudonym) {
    return tl_hash64(pseudonym, strlen(pseudonym), 0);
}

/* The batch's set read, once. */
static int load_erased(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (pg->erased_loaded) return 0;
    PGresult *r = tl__pg_exec(st, eb, "reading the tombstones", "SELECT hash FROM tl_erased", "");
    if (!r) return tl__pg_err(st);
    int rc = tl_hset_init(&pg->erased, (size_t)PQntuples(r) + 16) ? TL_ENOMEM : 0;
    for (int i = 0; !rc && i < PQntuples(r); i++)
        if (tl_hset_add(&pg->erased, erased_hash(tl__pg_text(r, i, 0))) < 0) rc = TL_ENOMEM;
    PQclear(r);
    if (rc) {
        tl_hset_fini(&pg->erased);
        return oom(eb);
    }
    pg->erased_loaded = 1;
    return 0;
}

void tl__pg_erased_end(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    if (pg->erased_loaded) tl_hset_fini(&pg->erased);
    pg->erased_loaded = 0;
}

int tl__pg_erased(tl_store_t *st, const char *pseudonym, uint32_t *idx, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (pg->in_batch) {
        int rc = load_erased(st, eb);
        if (rc) return rc;
        if (!tl_hset_has(&pg->erased, erased_hash(pseudonym))) return 0;
    }
    PGresult *r = tl__pg_exec(st, eb, "reading the tombstones",
                              "SELECT idx FROM tl_erased WHERE hash = $1", "s", pseudonym);
    if (!r) return tl__pg_err(st);
    int found = PQntuples(r) > 0;
    if (found && idx) *idx = (uint32_t)tl__pg_int(r, 0, 0, TL_NONE);
    PQclear(r);
    return found;
}

int tl__pg_erased_any(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (pg->in_batch) {
        int rc = load_erased(st, eb);
        return rc ? rc : pg->erased.count > 0;
    }
    PGresult *r = tl__pg_exec(st, eb, "reading the tombstones",
                              "SELECT EXISTS (SELECT 1 FROM tl_erased)", "");
    if (!r) return tl__pg_err(st);
    int any = (int)tl__pg_int(r, 0, 0, 0);
    PQclear(r);
    return any;
}

/* ---- the purge --------------------------------------------------------------------- */

/* 1 if term occurs in p[0..n) as a whole token: not inside a longer run of
 * the characters ids and addresses are made of (as the other back ends). */
static int idch(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '-' || c == '.' || c == '@' || c == '+' || (unsigned char)c >= 0x80;
}

static int has_token(const char *p, size_t n, const char *term) {
    size_t tl = strlen(term);
    if (!tl || tl > n) return 0;
    for (const char *q = p; (q = memmem(q, n - (size_t)(q - p), term, tl)) != NULL; q++)
        if (!(q > p && idch(q[-1])) && !(q + tl < p + n && idch(q[tl]))) return 1;
    return 0;
}

/* Quarantined rows naming a term (in the raw row or its preview): the raw
 * row emptied (sealed), the preview and message replaced; source, line and
 * reason stay. A raw row the key does not open is not ours to read: left. */
static int redact_quarantine(tl_store_t *st, const tl_purge_t *p, uint64_t *count,
                             tl_errbuf_t *eb) {
    tl_buf_t plain, empty;
    tl_buf_init(&plain), tl_buf_init(&empty);
    int rc = tl__seal(&st->seal, "", 0, &empty) ? oom(eb) : 0, rows = PAGE;
    for (int64_t last = 0; !rc && rows == PAGE;) {
        PGresult *r = tl__pg_exec(st, eb, "reading the quarantine",
                                  "SELECT id, raw, preview FROM tl_quarantine WHERE id > $1"
                                  " ORDER BY id LIMIT $2", "ii", last, (int64_t)PAGE);
        if (!r) {
            rc = tl__pg_err(st);
            break;
        }
        rows = PQntuples(r);
        for (int i = 0; !rc && i < rows; i++) {
            last = tl__pg_int(r, i, 0, 0);
            size_t n;
            const void *raw = tl__pg_bytes(r, i, 1, &n);
            const char *pv = tl__pg_text(r, i, 2);
            tl_buf_clear(&plain);
            if (raw && tl__unseal(st->seal.key, raw, n, &plain) != 0) continue;
            int hit = 0;
            for (int t = 0; !hit && t < p->nterms; t++)
                hit = has_token(plain.data ? plain.data : "", plain.len, p->terms[t]) ||
                      (pv && has_token(pv, strlen(pv), p->terms[t]));
            if (!hit) continue;
            rc = counted(st, tl__pg_exec(st, eb, "redacting the quarantine",
                                         "UPDATE tl_quarantine SET raw = $2,"
                                         " preview = '(erased)',"
                                         " message = '(the record of an erased user)'"
                                         " WHERE id = $1", "ib", last, empty.data, empty.len),
                         count);
        }
        PQclear(r);
    }
    if (plain.data) sodium_memzero(plain.data, plain.len);
    tl_buf_fini(&plain), tl_buf_fini(&empty);
    return rc;
}

/* Everything of user u: its events (counted in *events), rows, delivery
 * states (ids ending with ":ID"), its id forgotten and its tombstone. */
static int take_user(tl_store_t *st, uint32_t u, const char *ps, const char *id, size_t n,
                     tl_purge_stats_t *out, tl_errbuf_t *eb) {
    static const char *const del[] = {
        "DELETE FROM tl_users WHERE idx = $1",     "DELETE FROM tl_credit WHERE uid = $1",
        "DELETE FROM tl_consents WHERE uid = $1",  "DELETE FROM tl_idlinks WHERE a = $1 OR b = $1",
        "DELETE FROM tl_dnc WHERE uid = $1",       "DELETE FROM tl_feedback WHERE uid = $1"};
    int rc = counted(st, tl__pg_exec(st, eb, "erasing the user's events",
                                     "DELETE FROM tl_events WHERE uid = $1", "i", (int64_t)u),
                     &out->events);
    for (size_t i = 0; !rc && i < sizeof del / sizeof *del; i++)
        rc = counted(st, tl__pg_exec(st, eb, "erasing the user's rows", del[i], "i", (int64_t)u),
                     &out->rows);
    if (!rc && id) {
        char *tail = malloc(n + 2);
        if (!tail) return oom(eb);
        tail[0] = ':';
        memcpy(tail + 1, id, n);
        tail[n + 1] = 0;
        rc = tl__pg_run(st, eb, "erasing the user's delivery states",
                        "DELETE FROM tl_deliveries WHERE right(id, length($1)) = $1", "s", tail);
        sodium_memzero(tail, n + 2);
        free(tail);
    }
    if (!rc && ps[0]) rc = tl__pg_dict_forget(st, TL_D_USER, u, eb);
    if (!rc && ps[0])
        rc = tl__pg_run(st, eb, "adding the tombstone",
                        "INSERT INTO tl_erased VALUES ($1, $2, $3) ON CONFLICT (hash)"
                        " DO UPDATE SET idx = excluded.idx, at = excluded.at",
                        "sii", ps, (int64_t)u, tl_store_now(st));
    return rc;
}

/* The events older than the cut: the partitions wholly before it
 * truncated, the rest deleted. */
static int cut_events(tl_store_t *st, int64_t before, uint64_t *events, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "finding the event partitions before the cut",
                              "SELECT c.oid::regclass::text FROM pg_inherits i"
                              " JOIN pg_class c ON c.oid = i.inhrelid"
                              " WHERE i.inhparent = 'tl_events'::regclass AND (regexp_match("
                              "pg_get_expr(c.relpartbound, c.oid), 'TO \\(''?(-?[0-9]+)''?\\)'))[1]"
                              "::numeric <= $1", "i", before);
    if (!r) return tl__pg_err(st);
    int rc = 0;
    char sql[600];
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tl__pg_text(r, i, 0));
        PGresult *c = tl__pg_exec(st, eb, "counting the events before the cut", sql, "");
        if (!c) {
            rc = tl__pg_err(st);
            break;
        }
        *events += (uint64_t)tl__pg_int(c, 0, 0, 0);
        PQclear(c);
        snprintf(sql, sizeof sql, "TRUNCATE %s", tl__pg_text(r, i, 0));
        rc = tl__pg_run(st, eb, "removing the events before the cut", sql, "");
    }
    PQclear(r);
    if (!rc) rc = counted(st, tl__pg_exec(st, eb, "removing the events before the cut",
                                          "DELETE FROM tl_events WHERE ts < $1", "i", before),
                          events);
    return rc;
}

/* What is older than the cut: the consent history (the consent in force
 * stays: it says whether the user may be profiled and contacted now),
 * feedback, quarantined rows and events. */
static int cut(tl_store_t *st, int64_t before, tl_purge_stats_t *out, tl_errbuf_t *eb) {
    int rc = counted(st, tl__pg_exec(st, eb, "removing the consent history before the cut",
                                     "DELETE FROM tl_consents c WHERE at < $1 AND EXISTS"
                                     " (SELECT 1 FROM tl_consents d WHERE d.uid = c.uid"
                                     " AND d.purpose = c.purpose AND d.at > c.at)", "i", before),
                     &out->rows);
    if (!rc) rc = counted(st, tl__pg_exec(st, eb, "removing the feedback before the cut",
                                          "DELETE FROM tl_feedback WHERE at < $1", "i", before),
                          &out->rows);
    if (!rc) rc = counted(st, tl__pg_exec(st, eb, "removing the quarantine before the cut",
                                          "DELETE FROM tl_quarantine WHERE at < $1", "i", before),
                          &out->quarantined);
    return rc ? rc : cut_events(st, before, &out->events, eb);
}

/* The events left numbered from 0 in their order again, and counted;
 * tl_counter 'purges' tells other processes that the fingerprints they
 * hold of committed events must be read again. */
static int renumber(tl_store_t *st, uint64_t removed, tl_errbuf_t *eb) {
    int rc = tl__pg_run(st, eb, "numbering the events again",
                        "UPDATE tl_events e SET seq = r.n FROM (SELECT seq, row_number() OVER"
                        " (ORDER BY seq) - 1 AS n FROM tl_events) r"
                        " WHERE e.seq = r.seq AND e.seq <> r.n", "");
    if (!rc) rc = tl__pg_run(st, eb, "counting the events",
                             "UPDATE tl_counter SET n = n - $1 WHERE name = 'events'", "i",
                             (int64_t)removed);
    if (!rc) rc = tl__pg_run(st, eb, "counting the purges",
                             "INSERT INTO tl_counter VALUES ('purges', 1)"
                             " ON CONFLICT (name) DO UPDATE SET n = tl_counter.n + 1", "");
    return rc;
}

/* The side logs and blobs p gives, in place of the old. */
static int install(tl_store_t *st, const tl_purge_t *p, tl_errbuf_t *eb) {
    int rc = 0;
    for (int i = 0; !rc && i < p->nlogs; i++)
        rc = tl__pg_applog_replace(st, p->logs[i].name, p->logs[i].data, p->logs[i].len, eb);
    for (int i = 0; !rc && i < p->nblobs; i++) {
        const char *name;
        const void *data;
        size_t n;
        if (tl__store_blobw_bytes(p->blobs[i], &name, &data, &n)) rc = oom(eb);
        else rc = tl__pg_blob_write(st, name, data, n, eb);
    }
    return rc;
}

static int take_out(tl_store_t *st, const tl_purge_t *p, const char *ps, const char *id,
                    size_t n, tl_purge_stats_t *out, tl_errbuf_t *eb) {
    int rc = tl__pg_run(st, eb, "waiting for the writers' lock", "SELECT pg_advisory_xact_lock($1)",
                        "i", (int64_t)TL_PG_WRITER_LOCK);
    if (!rc) rc = install(st, p, eb);
    if (!rc && p->user != TL_NONE) rc = take_user(st, p->user, ps, id, n, out, eb);
    if (!rc && p->nterms) rc = redact_quarantine(st, p, &out->quarantined, eb);
    if (!rc && p->before != INT64_MIN) rc = cut(st, p->before, out, eb);
    if (!rc && out->events) rc = renumber(st, out->events, eb);
    return rc;
}

/* This handle's fingerprints of committed events, some of which are gone:
 * emptied, for events.c to read again. */
static int forget_fingerprints(tl__pg_t *pg, tl_errbuf_t *eb) {
    tl_hset_fini(&pg->fps);
    pg->fps_loaded = 0, pg->fps_upto = 0;
    return tl_hset_init(&pg->fps, 1024) ? oom(eb) : 0;
}

int tl__pg_purge(tl_store_t *st, const tl_purge_t *p, const char *pseudonym, const char *id,
                 size_t n, tl_purge_stats_t *out, tl_errbuf_t *eb) {
    int rc = tl__pg_tx_begin(st, eb);
    if (!rc) {
        rc = take_out(st, p, pseudonym, id, n, out, eb);
        if (rc) tl__pg_tx_rollback(st);
        else rc = tl__pg_tx_commit(st, eb);
    }
    for (int i = 0; i < p->nblobs; i++) tl_blobw_abandon(p->blobs[i]);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    /* committed: this handle's view brought in line */
    if (pseudonym[0]) tl__pg_dict_forget_mem(st, TL_D_USER, p->user);
    if (out->events) rc = forget_fingerprints(tl__pg(st), eb);
    return rc ? rc : tl__pg_events_refresh(st, eb);
}

/* ---- key rotation ------------------------------------------------------------------ */

/* Re-seals the sealed values of table.col, keyed by the integer column
 * key, a page of rows at a time; *count counts them. */
static int reseal_rows(tl_store_t *st, tl_rekey_t *rk, const char *table, const char *key,
                       const char *col, uint64_t *count, tl_errbuf_t *eb) {
    char sel[300], upd[200];
    snprintf(sel, sizeof sel, "SELECT %s::bigint, %s FROM %s WHERE %s IS NOT NULL AND %s > $1"
             " ORDER BY %s LIMIT %d", key, col, table, col, key, key, PAGE);
    snprintf(upd, sizeof upd, "UPDATE %s SET %s = $2 WHERE %s = $1", table, col, key);
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = 0, rows = PAGE;
    for (int64_t last = -1; !rc && rows == PAGE;) { /* keys from 0 */
        PGresult *r = tl__pg_exec(st, eb, "reading the sealed values", sel, "i", last);
        if (!r) {
            rc = tl__pg_err(st);
            break;
        }
        rows = PQntuples(r);
        for (int i = 0; !rc && i < rows; i++) {
            size_t n;
            const void *v = tl__pg_bytes(r, i, 1, &n);
            last = tl__pg_int(r, i, 0, 0);
            tl_buf_clear(&b);
            rc = tl_store_reseal(st, rk, v, n, &b);
            if (!rc) rc = tl__pg_run(st, eb, "re-sealing a value", upd, "ib", last, b.data, b.len);
            if (!rc) ++*count;
        }
        PQclear(r);
    }
    tl_buf_fini(&b);
    return rc;
}

/* The same for the few values keyed by text that sel (key, value) gives. */
static int reseal_named(tl_store_t *st, tl_rekey_t *rk, const char *sel, const char *upd,
                        uint64_t *count, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading the sealed values", sel, "");
    if (!r) return tl__pg_err(st);
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = 0;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        size_t n;
        const void *v = tl__pg_bytes(r, i, 1, &n);
        tl_buf_clear(&b);
        rc = tl_store_reseal(st, rk, v, n, &b);
        if (!rc) rc = tl__pg_run(st, eb, "re-sealing a value", upd, "sb", tl__pg_text(r, i, 0),
                                 b.data, b.len);
        if (!rc) ++*count;
    }
    tl_buf_fini(&b);
    PQclear(r);
    return rc;
}

static int reseal_all(tl_store_t *st, tl_rekey_t *rk, tl_rekey_stats_t *out, tl_errbuf_t *eb) {
    int rc = tl__pg_run(st, eb, "waiting for the writers' lock", "SELECT pg_advisory_xact_lock($1)",
                        "i", (int64_t)TL_PG_WRITER_LOCK);
    if (!rc) rc = reseal_rows(st, rk, "tl_users", "idx", "pii", &out->users, eb);
    if (!rc) rc = reseal_rows(st, rk, "tl_quarantine", "id", "raw", &out->quarantined, eb);
    if (!rc) rc = reseal_named(st, rk, "SELECT name, value FROM tl_secrets",
                               "UPDATE tl_secrets SET value = $2 WHERE name = $1", &out->other, eb);
    if (!rc) rc = reseal_named(st, rk, "SELECT key, value FROM tl_meta WHERE key = 'key_check'",
                               "UPDATE tl_meta SET value = $2 WHERE key = $1", &out->other, eb);
    if (rc == TL_ECRYPTO)
        tl_errbuf_set(eb, "%s: a sealed value does not open with the current key", st->dir);
    else if (rc == TL_ENOMEM)
        oom(eb);
    return rc;
}

/* With a key file, the new key is written beside it first and put in its
 * place after the commit; a failed COMMIT leaves key.new, as the server
 * may have committed (the next open tells which key opens the values). */
int tl__pg_rotate_key(tl_store_t *st, tl_rekey_t *rk, tl_rekey_stats_t *out, tl_errbuf_t *eb) {
    const char *dir = tl__pg(st)->keydir;
    int rc = dir ? next_write(st, rk->ns.key, eb) : 0, sent = 0;
    if (!rc) rc = tl__pg_tx_begin(st, eb);
    if (!rc) {
        rc = reseal_all(st, rk, out, eb);
        if (rc) tl__pg_tx_rollback(st);
        else sent = 1, rc = tl__pg_tx_commit(st, eb);
    }
    if (rc) {
        if (dir && !sent) next_drop(dir);
        memset(out, 0, sizeof *out);
        return rc;
    }
    tl_store_rekey_committed(rk);
    return dir ? next_install(st, rk->ns.key, eb) : 0;
}
