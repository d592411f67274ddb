/* purge.c -- the local back end's purge, taking data out of the data
 * directory: the erasure of one user and the retention cut of old records,
 * with the tombstones that let an erased user stay erased (the checks
 * every back end shares, and the pseudonyms, are store/privacy.c's).
 *
 * The event log and the side logs are append-only, so a purge writes each
 * file anew beside the old one (events.log.new, ...), fsyncs it, and then
 * one SQLite transaction deletes the rows, forgets the id in its
 * dictionary, adds the tombstone, records the new files' lengths and
 * lists the pending renames in `swaps`. After the commit the files are
 * renamed over the old ones and the list cleared. A crash before the
 * commit leaves the old state (the .new files are stray and rewritten
 * next time); a crash after it leaves renames that the next writable open
 * finishes before it reads anything. Deleted SQLite rows are overwritten
 * (secure_delete) and the WAL is checkpointed and truncated, so the bytes
 * of what was erased are gone from every file of the directory.
 *
 * The tombstone of an erased user is its pseudonym and the index the user
 * had, nothing else. */
#include "store/local/local_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- tombstones ---------------------------------------------------------------------- */

static int load_erased(tl_store_t *s, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    if (lo->erased_loaded) return 0;
    tl_hset_fini(&lo->erased);
    if (tl_hset_init(&lo->erased, 64)) return TL_ENOMEM;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(lo->db, "SELECT hash FROM erased", -1, &q, NULL) != SQLITE_OK) {
        /* a read-only directory made before tombstones existed has none */
        lo->erased_loaded = 1;
        return 0;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(q, 0);
        if (h && tl_hset_add(&lo->erased, tl_hash64(h, strlen(h), 0)) < 0) {
            sqlite3_finalize(q);
            return TL_ENOMEM;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        tl_errbuf_set(eb, "%s/tailor.db: reading the tombstones: %s", s->dir, sqlite3_errmsg(lo->db));
        return TL_ESQL;
    }
    lo->erased_loaded = 1;
    return 0;
}

int tl__local_erased_any(tl_store_t *s, tl_errbuf_t *eb) {
    int rc = load_erased(s, eb);
    return rc ? rc : tl__lo(s)->erased.count > 0;
}

int tl__local_erased(tl_store_t *s, const char *ps, uint32_t *idx, tl_errbuf_t *eb) {
    int rc = load_erased(s, eb);
    if (rc) return rc;
    if (!tl_hset_has(&tl__lo(s)->erased, tl_hash64(ps, 32, 0))) return 0;
    if (idx) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(tl__lo(s)->db, "SELECT idx FROM erased WHERE hash = ?1", -1, &q, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_text(q, 1, ps, 32, SQLITE_STATIC);
            if (sqlite3_step(q) == SQLITE_ROW) *idx = (uint32_t)sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
    }
    return 1;
}

/* ---- pending renames ------------------------------------------------------------------ */

static int swap_row(int n, const char *const *cols, void *arg) {
    tl_store_t *s = arg;
    (void)n;
    char from[4200], to[4200];
    snprintf(from, sizeof from, "%s/%s", s->dir, cols[1]);
    snprintf(to, sizeof to, "%s/%s", s->dir, cols[0]);
    /* gone already: renamed (or removed) before a crash that came before
     * the list was cleared; no new file: a removed blob */
    if ((cols[1][0] ? rename(from, to) : unlink(to)) != 0 && errno != ENOENT) return TL_EIO;
    char *slash = strrchr(to, '/');
    if (strchr(cols[0], '/')) { /* in a directory of its own: made durable here */
        *slash = 0;
        if (tl__sync_dir(to) != 0) return TL_EIO;
    }
    return 0;
}

int tl__local_finish_swaps(tl_store_t *s, tl_errbuf_t *eb) {
    int rc = tl__local_query(s, "SELECT path, tmp FROM swaps", swap_row, s, eb);
    if (rc == TL_EIO) tl_errbuf_set(eb, "%s: cannot finish replacing a purged or committed file: %s", s->dir,
                                    strerror(errno));
    if (!rc) rc = tl__sync_dir(s->dir);
    if (!rc && sqlite3_exec(tl__lo(s)->db, "DELETE FROM swaps", NULL, NULL, NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(tl__lo(s)->db));
        rc = TL_ESQL;
    }
    return rc;
}

/* ---- the purge ----------------------------------------------------------------------------- */

typedef struct {
    uint32_t user;
    int64_t before;
} dropctx_t;

static int drop_event(const tl_evblock_t *b, uint32_t i, void *arg) {
    const dropctx_t *d = arg;
    return (d->user != TL_NONE && b->user[i] == d->user) || b->ts[i] < d->before;
}

static int count_block(const tl_evblock_t *b, void *arg) {
    uint64_t *n = ((uint64_t **)arg)[0];
    for (uint32_t i = 0; i < b->n; i++) *n += drop_event(b, i, ((void **)arg)[1]) != 0;
    return 0;
}

/* 1 if term occurs in p[0..n) as a whole token: not inside a longer run of
 * letters, digits or the characters ids and addresses are made of. */
static int has_token(const char *p, size_t n, const char *term) {
    size_t tl = strlen(term);
    if (!tl || tl > n) return 0;
#define IDCH(c) (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') \
                 || (c) == '_' || (c) == '-' || (c) == '.' || (c) == '@' || (c) == '+' || ((unsigned char)(c) >= 0x80))
    for (const char *q = p; (q = memmem(q, n - (size_t)(q - p), term, tl)) != NULL; q++) {
        int before = q > p && IDCH(q[-1]), after = q + tl < p + n && IDCH(q[tl]);
        if (!before && !after) return 1;
    }
#undef IDCH
    return 0;
}

/* Quarantined rows that name the user: the raw row (sealed) emptied, the
 * preview and message replaced; source, line and reason stay, so the
 * account of what each import read still adds up. */
static int redact_quarantine(tl_store_t *s, const tl_purge_t *p, uint64_t *count, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    sqlite3_stmt *q, *w;
    if (sqlite3_prepare_v2(lo->db, "SELECT id, raw, preview FROM quarantine", -1, &q, NULL) != SQLITE_OK)
        return TL_ESQL;
    if (sqlite3_prepare_v2(lo->db, "UPDATE quarantine SET raw = ?2, preview = '(erased)', message = "
                           "'(the record of an erased user)' WHERE id = ?1", -1, &w, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return TL_ESQL;
    }
    tl_buf_t plain, sealed;
    tl_buf_init(&plain), tl_buf_init(&sealed);
    int rc = tl__seal(&s->seal, "", 0, &sealed) ? TL_ENOMEM : 0, step;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        tl_buf_clear(&plain);
        const char *pv = (const char *)sqlite3_column_text(q, 2);
        int hit = 0;
        if (sqlite3_column_type(q, 1) == SQLITE_BLOB &&
            tl__unseal(s->seal.key, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
                       &plain) != 0)
            continue; /* not ours to read: left as it is */
        for (int t = 0; !hit && t < p->nterms; t++)
            hit = has_token(plain.data ? plain.data : "", plain.len, p->terms[t]) ||
                  (pv && has_token(pv, strlen(pv), p->terms[t]));
        if (!hit) continue;
        sqlite3_reset(w);
        sqlite3_bind_int64(w, 1, sqlite3_column_int64(q, 0));
        sqlite3_bind_blob(w, 2, sealed.data, (int)sealed.len, SQLITE_STATIC);
        if (sqlite3_step(w) != SQLITE_DONE) rc = TL_ESQL;
        else ++*count;
    }
    if (rc == TL_ESQL) tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(lo->db));
    sqlite3_finalize(q), sqlite3_finalize(w);
    sodium_memzero(plain.data, plain.len);
    tl_buf_fini(&plain), tl_buf_fini(&sealed);
    return rc;
}

/* The user's id forgotten in its dictionary run, in the table and in
 * memory (same length, so every other id stays where it is). */
static int forget_id(tl_store_t *s, uint32_t user, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    sqlite3_stmt *q, *w;
    if (sqlite3_prepare_v2(lo->db, "SELECT first, n, ids FROM dict WHERE kind = ?1 AND first <= ?2 "
                           "ORDER BY first DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
        return TL_ESQL;
    sqlite3_bind_int(q, 1, TL_D_USER);
    sqlite3_bind_int64(q, 2, user);
    int rc = TL_ECORRUPT;
    tl_buf_t b;
    tl_buf_init(&b);
    int64_t first = 0;
    if (sqlite3_step(q) == SQLITE_ROW && user < sqlite3_column_int64(q, 0) + sqlite3_column_int64(q, 1)) {
        first = sqlite3_column_int64(q, 0);
        rc = tl_buf_append(&b, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2)) ? TL_ENOMEM : 0;
    }
    sqlite3_finalize(q);
    char *p = b.data, *end = b.data + b.len;
    for (int64_t i = first; !rc && i < user; i++) {
        char *z = memchr(p, 0, (size_t)(end - p));
        if (!z) rc = TL_ECORRUPT;
        else p = z + 1;
    }
    if (!rc && p < end) {
        tl_dict_forget_bytes(p, strlen(p));
        if (sqlite3_prepare_v2(lo->db, "UPDATE dict SET ids = ?3 WHERE kind = ?1 AND first = ?2", -1,
                               &w, NULL) != SQLITE_OK)
            rc = TL_ESQL;
        else {
            sqlite3_bind_int(w, 1, TL_D_USER);
            sqlite3_bind_int64(w, 2, first);
            sqlite3_bind_blob(w, 3, b.data, (int)b.len, SQLITE_STATIC);
            if (sqlite3_step(w) != SQLITE_DONE) rc = TL_ESQL;
            sqlite3_finalize(w);
        }
    } else if (!rc) {
        rc = TL_ECORRUPT;
    }
    if (rc == TL_ECORRUPT)
        tl_errbuf_set(eb, "%s/tailor.db: the user dictionary has no index %u", s->dir, user);
    else if (rc == TL_ESQL)
        tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(lo->db));
    tl_buf_fini(&b);
    return rc;
}

static void forget_in_memory(tl_store_t *s, uint32_t user) {
    tl__local_t *lo = tl__lo(s);
    if (lo->dict[TL_D_USER] && user < tl_dict_count(lo->dict[TL_D_USER]) &&
        tl_dict_forget(lo->dict[TL_D_USER], user) != 0) {
        tl_dict_free(lo->dict[TL_D_USER]); /* reloads on use */
        lo->dict[TL_D_USER] = NULL;
    }
    if (lo->ids_loaded[TL_D_USER] && user < lo->ids_n[TL_D_USER]) {
        uint64_t *o = lo->ids_offs[TL_D_USER];
        tl_dict_forget_bytes(lo->ids_arena[TL_D_USER].data + o[user], (size_t)(o[user + 1] - o[user] - 1));
    }
}

/* One statement with at most one integer parameter; *changes (if given)
 * counts the rows it changed. */
static int sql(tl_store_t *s, tl_errbuf_t *eb, uint64_t *changes, const char *q, int64_t a) {
    int rc = tl__local_exec(s, eb, q, strchr(q, '?') ? "i" : "", a);
    if (!rc && changes) *changes += (uint64_t)tl__local_changes(s);
    return rc;
}

/* Writes the new content of a side log beside it and fsyncs it. */
static int write_new(tl_store_t *s, const tl_logswap_t *l, tl_errbuf_t *eb) {
    char rel[300], path[4200];
    if (tl__applog_file(l->name, rel, sizeof rel)) {
        tl_errbuf_set(eb, "\"%s\" is not the name of a side log", l->name);
        return TL_EINVAL;
    }
    snprintf(path, sizeof path, "%s/%s.new", s->dir, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;
    const char *p = l->data;
    size_t left = l->len;
    while (fd >= 0 && left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        p += w, left -= (size_t)w;
    }
    if (fd < 0 || left || fdatasync(fd) != 0) {
        tl_errbuf_set(eb, "%s: %s", path, strerror(errno ? errno : EIO));
        rc = TL_EIO;
    }
    if (fd >= 0) close(fd);
    return rc;
}

static int purge(tl_store_t *s, const tl_purge_t *p, const char *ps, const char *id, size_t n,
                 tl_purge_stats_t *out, tl_errbuf_t *eb);

int tl__local_purge(tl_store_t *s, const tl_purge_t *p, const char *ps, const char *id, size_t n,
                    tl_purge_stats_t *out, tl_errbuf_t *eb) {
    int rc = purge(s, p, ps, id, n, out, eb);
    /* committed, the swaps own the blobs' new files; otherwise they go */
    tl__blobs_drop(p->blobs, p->nblobs, rc == 0);
    return rc;
}

static int purge(tl_store_t *s, const tl_purge_t *p, const char *ps, const char *id, size_t n,
                 tl_purge_stats_t *out, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    int rc;
    if (sqlite3_exec(lo->db, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(lo->db));
        return TL_ESQL;
    }
    /* 1. the files anew, beside the old ones */
    dropctx_t dc = {p->user, p->before};
    uint64_t ndrop = 0, len = 0, nev = 0;
    void *cargs[2] = {&ndrop, &dc};
    rc = tl__evlog_scan(&lo->log, 0, INT64_MIN, TL_EVC_USER | TL_EVC_TS, count_block, cargs, 0, eb);
    char newlog[4200];
    snprintf(newlog, sizeof newlog, "%s/events.log.new", s->dir);
    if (!rc && ndrop) rc = tl__evlog_copy(&lo->log, newlog, drop_event, &dc, tl_store_now(s), &len, &nev, &out->events, eb);
    for (int i = 0; !rc && i < p->nlogs; i++) rc = write_new(s, &p->logs[i], eb);
    if (!rc) rc = tl__blobs_stage(p->blobs, p->nblobs, eb);
    if (!rc) rc = tl__sync_dir(s->dir);
    /* 2. one transaction: rows, dictionary, tombstone, lengths, renames */
    if (!rc) rc = sql(s, eb, NULL, "BEGIN IMMEDIATE", 0);
    if (rc) return rc;
    uint64_t *ch = &out->rows;
    if (p->user != TL_NONE) {
        int64_t u = p->user;
        static const char *const del[] = {
            "DELETE FROM users WHERE idx = ?1", "DELETE FROM credit WHERE user = ?1",
            "DELETE FROM consents WHERE user = ?1"};
        for (size_t i = 0; !rc && i < sizeof del / sizeof *del; i++) rc = sql(s, eb, ch, del[i], u);
        /* the campaign repositories find the user's rows */
        if (!rc) rc = tl__dnc_purge_user(s, p->user, ch, eb);
        if (!rc) rc = tl__links_purge_user(s, p->user, ch, eb);
        if (!rc && id) rc = tl__deliveries_purge_user(s, id, n, eb);
        if (!rc && ps[0]) rc = forget_id(s, p->user, eb);
        if (!rc && ps[0]) {
            sqlite3_stmt *q;
            if (sqlite3_prepare_v2(lo->db, "INSERT OR REPLACE INTO erased(hash, idx, at) VALUES (?1, ?2, ?3)",
                                   -1, &q, NULL) != SQLITE_OK) rc = TL_ESQL;
            else {
                sqlite3_bind_text(q, 1, ps, 32, SQLITE_STATIC);
                sqlite3_bind_int64(q, 2, u);
                sqlite3_bind_int64(q, 3, tl_store_now(s));
                if (sqlite3_step(q) != SQLITE_DONE) rc = TL_ESQL;
                sqlite3_finalize(q);
            }
            if (rc) tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(lo->db));
        }
    }
    if (!rc) rc = tl__feedback_purge(s, p->user, p->before, ch, eb);
    if (!rc && p->nterms) rc = redact_quarantine(s, p, &out->quarantined, eb);
    if (!rc && p->before != INT64_MIN) {
        /* history older than the cut, but the consent in force stays: it is
         * what says whether the user may be profiled and contacted now */
        rc = sql(s, eb, ch, "DELETE FROM consents WHERE at < ?1 AND EXISTS (SELECT 1 FROM consents c "
                 "WHERE c.user = consents.user AND c.purpose = consents.purpose AND c.at > consents.at)",
                 p->before);
        if (!rc) rc = sql(s, eb, &out->quarantined, "DELETE FROM quarantine WHERE at < ?1", p->before);
    }
    if (!rc && out->rows) {
        rc = tl__local_consents_changed(s, eb);
    }
    if (!rc && ndrop) {
        rc = tl__local_meta_set(s, "log_len", (int64_t)len, eb);
        if (!rc) rc = tl__local_meta_set(s, "log_events", (int64_t)nev, eb);
        if (!rc) rc = tl__local_exec(s, eb, "INSERT OR REPLACE INTO swaps(path, tmp) VALUES "
                                     "('events.log', 'events.log.new')", "");
    }
    for (int i = 0; !rc && i < p->nlogs; i++) {
        char key[600], rel[300], tmp[600];
        /* the names were checked by write_new */
        (void)tl__applog_meta_key(p->logs[i].name, key, sizeof key);
        (void)tl__applog_file(p->logs[i].name, rel, sizeof rel);
        snprintf(tmp, sizeof tmp, "%s.new", rel);
        rc = tl__local_meta_set(s, key, (int64_t)p->logs[i].len, eb);
        if (!rc) rc = tl__local_exec(s, eb, "INSERT OR REPLACE INTO swaps(path, tmp) VALUES (?1, ?2)",
                                     "tt", rel, tmp);
    }
    if (!rc) rc = tl__blobs_swaps(s, p->blobs, p->nblobs, eb);
    if (!rc) rc = sql(s, eb, NULL, "COMMIT", 0);
    if (rc) {
        sqlite3_exec(lo->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    /* 3. the renames, then this process's view of the new files */
    tl__applogs_close(s); /* reopened (on the new files) at their next use */
    rc = tl__local_finish_swaps(s, eb);
    if (!rc && ndrop) {
        char path[4200];
        snprintf(path, sizeof path, "%s/events.log", s->dir);
        tl__evlog_close(&lo->log);
        rc = tl__evlog_open(&lo->log, path, len, nev, 0, tl_store_now(s), eb);
        tl_hset_fini(&lo->fps); /* the erased fingerprints go with the events */
        lo->fps_loaded = 0;
    }
    if (!rc && ps[0]) {
        forget_in_memory(s, p->user);
        if (lo->erased_loaded && tl_hset_add(&lo->erased, tl_hash64(ps, 32, 0)) < 0) lo->erased_loaded = 0;
    }
    /* 4. the old bytes out of the WAL */
    if (!rc) {
        int logn = -1, ckpt = -1;
        if (sqlite3_wal_checkpoint_v2(lo->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &logn, &ckpt) == SQLITE_OK)
            out->wal_truncated = 1;
    }
    return rc;
}
