/* sqlite.c -- the local back end (tl_store_local): opening, the SQLite schema, batches,
 * dictionaries and events; the rows of
 * entities and the quarantine are in rows.c.
 *
 * SQLite (WAL, synchronous=FULL) holds everything but the events; the
 * events go to the columnar log in evlog.c. The `meta` table records the
 * format version and the committed length of the log, so one SQLite commit
 * is the commit point of a whole batch (see docs/FORMATS.md).
 *
 * De-duplication of events uses the set of fingerprints of every stored
 * event, built from the log's fingerprint column the first time an event is
 * added in a process. */
#include "sqlite_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(S__N <= TL__STORE_NSTMT, "raise TL__STORE_NSTMT");

static const char *const SQL[S__N] = {
    [S_DICT_INS] = "INSERT INTO dict(kind, first, n, ids) VALUES (?1, ?2, ?3, ?4)",
    [S_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
    [S_USER_GET] = "SELECT gender, birth_year, city, occupation, education, registered_at, "
                   "channel, attrs, pii FROM users WHERE idx = ?1",
    [S_USER_PUT] = "INSERT OR REPLACE INTO users(idx, gender, birth_year, city, occupation, "
                   "education, registered_at, channel, attrs, pii) "
                   "VALUES (?10, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [S_ITEM_GET] = "SELECT title, category, brand, price, attrs FROM items WHERE idx = ?1",
    [S_ITEM_PUT] = "INSERT OR REPLACE INTO items(idx, title, category, brand, price, attrs) "
                   "VALUES (?10, ?1, ?2, ?3, ?4, ?5)",
    [S_PROD_GET] = "SELECT kind, name, term_months, apr, amount_min, amount_max, eligibility, "
                   "disclosure FROM products WHERE idx = ?1",
    [S_PROD_PUT] = "INSERT OR REPLACE INTO products(idx, kind, name, term_months, apr, "
                   "amount_min, amount_max, eligibility, disclosure) "
                   "VALUES (?10, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_CRED_GET] = "SELECT on_time, late, max_overdue_days, debt, income_band, history_months, "
                   "default_flag FROM credit WHERE user = ?1",
    [S_CRED_PUT] = "INSERT OR REPLACE INTO credit(user, on_time, late, max_overdue_days, debt, "
                   "income_band, history_months, default_flag) "
                   "VALUES (?10, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_CONSENT] = "INSERT OR IGNORE INTO consents(user, purpose, granted, at) "
                  "VALUES (?1, ?2, ?3, ?4)",
    [S_QUAR] = "INSERT INTO quarantine(source, line, fp, reason, message, raw, at, "
               "preview) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_SOURCE_GET] = "SELECT id FROM sources WHERE path = ?1",
    [S_SOURCE_ADD] = "INSERT INTO sources(path) VALUES (?1)",
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    /* A dictionary is kept in runs: the ids of indexes first..first+n-1,
     * each ended by a NUL byte, in one blob (a row per id would cost a
     * statement per new user or item). */
    "CREATE TABLE IF NOT EXISTS dict(kind INTEGER, first INTEGER, n INTEGER, ids BLOB NOT NULL,"
    "  PRIMARY KEY(kind, first)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS users(idx INTEGER PRIMARY KEY, gender TEXT, birth_year INTEGER,"
    "  city TEXT, occupation TEXT, education TEXT, registered_at INTEGER, channel TEXT,"
    "  attrs TEXT, pii BLOB);"
    "CREATE TABLE IF NOT EXISTS items(idx INTEGER PRIMARY KEY, title TEXT, category TEXT,"
    "  brand TEXT, price REAL, attrs TEXT);"
    "CREATE TABLE IF NOT EXISTS products(idx INTEGER PRIMARY KEY, kind TEXT, name TEXT,"
    "  term_months INTEGER, apr REAL, amount_min REAL, amount_max REAL, eligibility TEXT,"
    "  disclosure TEXT);"
    "CREATE TABLE IF NOT EXISTS credit(user INTEGER PRIMARY KEY, on_time INTEGER, late INTEGER,"
    "  max_overdue_days INTEGER, debt REAL, income_band TEXT, history_months INTEGER,"
    "  default_flag INTEGER);"
    "CREATE TABLE IF NOT EXISTS consents(user INTEGER, purpose TEXT, granted INTEGER,"
    "  at INTEGER, PRIMARY KEY(user, purpose, at, granted)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sources(id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL);"
    "CREATE TABLE IF NOT EXISTS config(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS segments(name TEXT PRIMARY KEY, expr TEXT NOT NULL,"
    "  created INTEGER) WITHOUT ROWID;"
    /* erasure (purge.c): the tombstones of erased users (a keyed pseudonym
     * and the index they had) and the file renames a purge committed */
    "CREATE TABLE IF NOT EXISTS erased(hash TEXT PRIMARY KEY, idx INTEGER, at INTEGER) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS swaps(path TEXT PRIMARY KEY, tmp TEXT NOT NULL) WITHOUT ROWID;"
    /* No unique index: a re-import recognises its quarantined rows through
     * the set of (line, raw) fingerprints of the source, loaded once. */
    "CREATE TABLE IF NOT EXISTS quarantine(id INTEGER PRIMARY KEY, source INTEGER, line INTEGER,"
    "  fp INTEGER, reason TEXT, message TEXT, raw BLOB, at INTEGER, preview TEXT);";

/* The tables, applied in this order at every writable open: the store's
 * own, then those each repository file declares beside its code. */
static const char *const SCHEMAS[] = {
    SCHEMA, tl__apikeys_schema, tl__auditlog_schema, tl__campaigns_schema, tl__dnc_schema,
    tl__feedback_schema, tl__deliveries_schema, tl__links_schema, NULL,
};


/* ---- helpers ------------------------------------------------------------- */

static int sql_fail(tl_store_t *s, tl_errbuf_t *eb, const char *what) {
    tl__local_t *lo = tl__lo(s);
    int code = sqlite3_extended_errcode(lo->db);
    tl_errbuf_set(eb, "%s/tailor.db: %s: %s", s->dir, what, sqlite3_errmsg(lo->db));
    if ((code & 0xff) == SQLITE_FULL) return TL_ENOSPC;
    if ((code & 0xff) == SQLITE_NOMEM) return TL_ENOMEM;
    if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB) return TL_ECORRUPT;
    /* a write or a shared-memory map that failed for want of room */
    if ((code & 0xff) == SQLITE_IOERR) return tl_err_write(sqlite3_system_errno(lo->db));
    return TL_ESQL;
}

/* SQLite rolls a transaction back by itself after some errors (out of
 * memory, a full disk, an I/O error), even of a read; the statements after
 * it would each commit on their own, and a batch would be kept in part.
 * Writes inside a batch, and its commit, check first. */
int tl__local_batch_alive(tl_store_t *s, tl_errbuf_t *eb) {
    if (!s->in_batch || !sqlite3_get_autocommit(tl__lo(s)->db)) return 0;
    tl_errbuf_set(eb, "%s/tailor.db: the batch's transaction was rolled back after an earlier "
                  "error; nothing of the batch was kept", s->dir);
    return TL_ESQL;
}

int tl__local_sql_fail(tl_store_t *s, tl_errbuf_t *eb, const char *what) {
    return sql_fail(s, eb, what);
}

static int exec(tl_store_t *s, const char *sql, tl_errbuf_t *eb) {
    if (sqlite3_exec(tl__lo(s)->db, sql, NULL, NULL, NULL) != SQLITE_OK) return sql_fail(s, eb, sql);
    return 0;
}

sqlite3_stmt *tl__local_stmt(tl_store_t *s, int which) {
    tl__local_t *lo = tl__lo(s);
    if (!lo->stmt[which] &&
        sqlite3_prepare_v3(lo->db, SQL[which], -1, SQLITE_PREPARE_PERSISTENT, &lo->stmt[which], NULL) !=
            SQLITE_OK)
        return NULL;
    sqlite3_reset(lo->stmt[which]);
    sqlite3_clear_bindings(lo->stmt[which]);
    return lo->stmt[which];
}

static int meta_get_i64(tl_store_t *s, const char *key, int64_t *out, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "SELECT value FROM meta WHERE key = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return sql_fail(s, eb, "reading meta");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return TL_ENOENT;
    return sql_fail(s, eb, "reading meta");
}

int tl__local_meta_blob(tl_store_t *s, const char *key, tl_buf_t *out, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "SELECT value FROM meta WHERE key = ?1", -1, &q, NULL) != SQLITE_OK)
        return sql_fail(s, eb, "reading meta");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_BLOB) {
        const void *p = sqlite3_column_blob(q, 0);
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        rc = (!p && n) || tl_buf_append(out, p, n) ? TL_ENOMEM : 0;
        if (rc) tl_errbuf_set(eb, "%s: out of memory reading meta %s", s->dir, key);
    } else {
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? TL_ENOENT : sql_fail(s, eb, "reading meta");
    }
    sqlite3_finalize(q);
    return rc;
}

static int meta_set_i64(tl_store_t *s, const char *key, int64_t v, tl_errbuf_t *eb) {
    sqlite3_stmt *q = tl__local_stmt(s, S_META_SET);
    if (!q) return sql_fail(s, eb, "preparing meta update");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, v);
    if (sqlite3_step(q) != SQLITE_DONE) return sql_fail(s, eb, "writing meta");
    return 0;
}

int tl__local_meta_get(tl_store_t *s, const char *key, int64_t *out, tl_errbuf_t *eb) {
    return meta_get_i64(s, key, out, eb);
}
int tl__local_meta_set(tl_store_t *s, const char *key, int64_t v, tl_errbuf_t *eb) {
    return meta_set_i64(s, key, v, eb);
}

int tl__local_consents_changed(tl_store_t *s, tl_errbuf_t *eb) {
    int64_t v = 0;
    int rc = meta_get_i64(s, "consents_version", &v, eb);
    if (rc == TL_ENOENT) v = 0, rc = 0;
    return rc ? rc : meta_set_i64(s, "consents_version", v + 1, eb);
}



/* ---- open / close -------------------------------------------------------- */

/* Marks a new data directory with its format and time of creation, inside
 * the caller's transaction. Its built-in event types and channels are
 * interned by the store's first batch (store.c), as for every back end. */
static int create_meta(tl_store_t *s, tl_errbuf_t *eb) {
    int rc = meta_set_i64(s, "format", TL_STORE_FORMAT, eb);
    if (!rc) rc = meta_set_i64(s, "created", tl_store_now(s), eb);
    return rc;
}

/* 1 if the query (with text ?1) yields a row, 0 if none, or a negative
 * error: a failed read (out of memory, I/O) is not "absent". */
static int has_row(tl_store_t *s, const char *sql, const char *arg, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, sql, -1, &q, NULL) != SQLITE_OK)
        return sql_fail(s, eb, "reading the schema");
    sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : sql_fail(s, eb, "reading the schema");
    sqlite3_finalize(q);
    return rc;
}

/* A read-only connection cannot finish what a killed writer left for
 * SQLite's own recovery: a hot rollback journal (a kill inside the very
 * first commit, before the file is in WAL mode) or a WAL index to rebuild.
 * Reading would fail with "attempt to write a readonly database" until the
 * next writer came. A connection that may write does that recovery on its
 * first read, under SQLite's locks, and nothing else, so a reading command
 * runs it and then reads as usual. *db is open read-only before and after. */
static int finish_recovery(sqlite3 **db, const char *dbpath, tl_errbuf_t *eb) {
    int rc = sqlite3_exec(*db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    int ext = sqlite3_extended_errcode(*db);
    if (rc == SQLITE_OK ||
        (ext != SQLITE_READONLY_ROLLBACK && ext != SQLITE_READONLY_RECOVERY && ext != SQLITE_READONLY_CANTINIT))
        return 0; /* other errors are reported by the reads that follow */
    sqlite3_close(*db);
    *db = NULL;
    sqlite3 *w = NULL;
    rc = sqlite3_open_v2(dbpath, &w, SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(w, 5000);
        rc = sqlite3_exec(w, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        tl_errbuf_set(eb, "%s: cannot finish the recovery of an interrupted commit: %s", dbpath,
                      w ? sqlite3_errmsg(w) : "out of memory");
    sqlite3_close(w);
    if (rc == SQLITE_OK &&
        sqlite3_open_v2(dbpath, db, SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s: cannot open: %s", dbpath, *db ? sqlite3_errmsg(*db) : "out of memory");
        rc = SQLITE_ERROR;
    }
    return rc == SQLITE_OK ? 0 : TL_ESQL;
}

/* 1 if the database has a table of this name, 0 if not, or an error. */
static int has_table(tl_store_t *s, const char *name, tl_errbuf_t *eb) {
    return has_row(s, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", name, eb);
}

/* 1 if table has a column of this name, 0 if not, or an error. */
static int has_column(tl_store_t *s, const char *table, const char *col, tl_errbuf_t *eb) {
    char q[200];
    snprintf(q, sizeof q, "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?1", table);
    return has_row(s, q, col, eb);
}

/* 1 if a purge's rename of the event log is pending. */
static int pending_log_swap(tl_store_t *s) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "SELECT 1 FROM swaps WHERE path = 'events.log'", -1, &q, NULL) !=
        SQLITE_OK)
        return 0;
    int found = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return found;
}

/* Request bodies that older versions of the server staged as files in the
 * data directory, left by a server killed before it removed them: never
 * part of the store (an answered batch is in the log; an unanswered one is
 * sent again), and raw personal data. Bodies are imported from memory now;
 * a writable open holds the lock, so no one uses these. */
static void remove_staged(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int ev = strncmp(e->d_name, "api-events-", 11) == 0 && n > 6 && strcmp(e->d_name + n - 6, ".jsonl") == 0;
        int fb = strncmp(e->d_name, "api-feedback-", 13) == 0 && n > 4 && strcmp(e->d_name + n - 4, ".csv") == 0;
        if (!ev && !fb) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static int loc_open(tl_store_t *s, int flags, tl_errbuf_t *eb) {
    const char *dir = s->dir;
    int readonly = s->readonly;
    tl__local_t *lo = calloc(1, sizeof *lo);
    if (!lo) {
        tl_errbuf_set(eb, "%s: out of memory opening the data directory", dir);
        return TL_ENOMEM;
    }
    lo->lockfd = -1;
    lo->log.fd = -1;
    tl_buf_init(&lo->tmp);
    tl_buf_init(&lo->tmp2);
    tl_store_backend_set_state(s, lo);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (errno != ENOENT || !(flags & TL_STORE_CREATE)) {
            tl_errbuf_set(eb, "%s: no data directory here (%s); import data first, e.g. "
                          "`tailor --data %s import FILE`", dir, strerror(errno), dir);
            return TL_ENOENT;
        }
        if (mkdir(dir, 0700) != 0) {
            int rc = tl_err_from_errno(errno);
            tl_errbuf_set(eb, "%s: cannot create the data directory: %s", dir, strerror(errno));
            return rc;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        tl_errbuf_set(eb, "%s: not a directory; give --data a directory", dir);
        return TL_EINVAL;
    }
    char path[4096];
    int rc = 0;
    char dbpath[4096];
    snprintf(dbpath, sizeof dbpath, "%s/tailor.db", dir);
    int fresh = stat(dbpath, &sb) != 0;
    if (fresh && readonly) {
        tl_errbuf_set(eb, "%s: no tailor data here yet; import data first, e.g. "
                      "`tailor --data %s import FILE`", dir, dir);
        rc = TL_ENOENT;
        goto fail;
    }
    if (!readonly) {
        snprintf(path, sizeof path, "%s/lock", dir);
        tl__lo(s)->lockfd = open(path, O_RDWR | O_CREAT, 0600);
        if (tl__lo(s)->lockfd < 0 || flock(tl__lo(s)->lockfd, LOCK_EX | LOCK_NB) != 0) {
            tl_errbuf_set(eb, "%s: another tailor process is writing to this data directory; "
                          "wait for it to finish", dir);
            rc = TL_ELOCKED;
            goto fail;
        }
    }
    if (sqlite3_open_v2(dbpath, &tl__lo(s)->db,
                        SQLITE_OPEN_NOMUTEX |
                            (readonly ? SQLITE_OPEN_READONLY
                                      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE),
                        NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s: cannot open: %s", dbpath, tl__lo(s)->db ? sqlite3_errmsg(tl__lo(s)->db) : "?");
        rc = TL_ESQL;
        goto fail;
    }
    if (readonly && (rc = finish_recovery(&tl__lo(s)->db, dbpath, eb))) goto fail;
    sqlite3_busy_timeout(tl__lo(s)->db, 5000);
    sqlite3_extended_result_codes(tl__lo(s)->db, 1);
    int64_t fmt = 0, loglen = 0, nev = 0;
    int created = 0;
    if (!readonly) {
        /* A new directory is created in one transaction: a crash leaves it
         * either empty or complete. */
        /* 16 KiB pages (set before WAL mode, for new files) mean fewer page
         * writes for a batch; a 32 MiB cache keeps most batches from spilling. */
        if ((rc = exec(s, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; "
                          "PRAGMA synchronous=FULL; PRAGMA cache_size=-32768;", eb)))
            goto fail;
        if ((rc = exec(s, "BEGIN IMMEDIATE", eb))) goto fail;
        for (int k = 0; !rc && SCHEMAS[k]; k++) rc = exec(s, SCHEMAS[k], eb);
        if (!rc) {
            rc = meta_get_i64(s, "format", &fmt, eb);
            if (rc == TL_ENOENT) {
                rc = create_meta(s, eb);
                fmt = TL_STORE_FORMAT;
                created = 1;
            }
        }
        if (!rc && (rc = has_column(s, "audit", "mac", eb)) == 0)
            rc = exec(s, "ALTER TABLE audit ADD COLUMN mac TEXT", eb); /* entries chained since */
        else if (rc == 1)
            rc = 0;
        if (!rc) rc = exec(s, "COMMIT", eb);
        if (rc) {
            sqlite3_exec(tl__lo(s)->db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
    } else if ((rc = has_table(s, "meta", eb)) < 0) {
        goto fail;
    } else if (rc == 0) {
        tl_errbuf_set(eb, "%s: no tailor data here yet (nothing was ever committed); import data "
                      "first, e.g. `tailor --data %s import FILE`", dir, dir);
        rc = TL_ENOENT;
        goto fail;
    } else {
        rc = meta_get_i64(s, "format", &fmt, eb);
    }
    if (rc) {
        if (rc == TL_ESQL || rc == TL_ENOENT) {
            tl_errbuf_set(eb, "%s: not a tailor data directory (tailor.db has no format record)",
                          dir);
            rc = TL_ECORRUPT;
        }
        goto fail;
    }
    if (fmt != TL_STORE_FORMAT) {
        tl_errbuf_set(eb, "%s: data directory format %lld, this tailor reads format %d; use the "
                      "tailor that wrote it, or import again into a new data directory",
                      dir, (long long)fmt, TL_STORE_FORMAT);
        rc = TL_EVERSION;
        goto fail;
    }
    /* Only a missing record means an empty log: taking a failed read for
     * one would cut the log to nothing. */
    if ((rc = meta_get_i64(s, "log_len", &loglen, eb)) == TL_ENOENT) loglen = 0, rc = 0;
    if (!rc && (rc = meta_get_i64(s, "log_events", &nev, eb)) == TL_ENOENT) nev = 0, rc = 0;
    if (rc) goto fail;
    snprintf(path, sizeof path, "%s/events.log", dir);
    if (!readonly && (rc = tl__local_finish_swaps(s, eb))) goto fail;
    if (!readonly) tl__blobs_clean(s), remove_staged(dir);
    if (readonly && pending_log_swap(s)) {
        /* a purge between its commit and its rename: the new file is the log */
        snprintf(path, sizeof path, "%s/events.log.new", dir);
        if (access(path, F_OK) != 0) snprintf(path, sizeof path, "%s/events.log", dir);
    }
    if ((rc = tl__evlog_open(&tl__lo(s)->log, path, (uint64_t)loglen, (uint64_t)nev, readonly, tl_store_now(s), eb)))
        goto fail;
    if (loglen == 0 && !readonly) {
        /* The log header was just written: record it as committed. */
        if ((rc = exec(s, "BEGIN IMMEDIATE", eb))) goto fail;
        rc = meta_set_i64(s, "log_len", (int64_t)tl__lo(s)->log.committed, eb);
        if (!rc) rc = exec(s, "COMMIT", eb);
        if (rc) goto fail;
    }
    if ((rc = tl__seal_load_key(dir, s->conf.key, !readonly, s->seal.key, eb)) == 0) {
        s->have_key = 1;
        tl__sealer_init(&s->seal);
        if ((rc = tl__seal_check_key(s, eb))) goto fail;
        /* the pseudonym secret loaded (made, the first time) now: the
         * anchor's MAC is made from it */
        if (!readonly && (rc = tl__store_pseudo_load(s, eb))) goto fail;
        if (!readonly && (rc = tl__local_anchor_make(s, created, eb))) goto fail;
    }
    else if (!readonly) goto fail;
    return 0;
fail:
    /* paths that only return a code (out of memory, mostly) still say what failed */
    if (!eb->msg[0])
        tl_errbuf_set(eb, "%s: cannot open the data directory: %s", dir, tl_strerror(rc));
    return rc;
}

static void loc_close(tl_store_t *s) {
    tl__local_t *lo = tl__lo(s);
    if (!lo) return;
    for (int i = 0; i < S__N; i++) sqlite3_finalize(lo->stmt[i]);
    if (lo->db) sqlite3_close(lo->db);
    tl__evlog_close(&lo->log);
    tl__applogs_close(s);
    for (int k = 0; k < TL_D__N; k++) {
        tl_dict_free(lo->dict[k]);
        tl_buf_fini(&lo->ids_arena[k]);
        free(lo->ids_offs[k]);
    }
    tl_hset_fini(&lo->fps);
    free(lo->batch_fp);
    tl_buf_fini(&lo->tmp);
    tl_buf_fini(&lo->tmp2);
    free(lo->last_source);
    tl_hset_fini(&lo->qfps);
    tl_hset_fini(&lo->erased);
    if (lo->lockfd >= 0) close(lo->lockfd);
    free(lo);
    tl_store_backend_set_state(s, NULL);
}

/* ---- batches ------------------------------------------------------------- */

static int loc_begin(tl_store_t *s, tl_errbuf_t *eb) { return exec(s, "BEGIN IMMEDIATE", eb); }

static int write_dicts(tl_store_t *s, tl_errbuf_t *eb) {
    enum { RUN = 65536 }; /* ids per row at most */
    for (int k = 0; k < TL_D__N; k++) {
        tl_dict_t *d = tl__lo(s)->dict[k];
        if (!d) continue;
        uint32_t n = tl_dict_count(d);
        for (uint32_t first = tl__lo(s)->dict_committed[k]; first < n; first += RUN) {
            uint32_t cnt = n - first < RUN ? n - first : RUN;
            /* The ids of a run lie back to back, NUL-ended, in the arena. */
            const char *a = tl_dict_str(d, first, NULL), *b = tl_dict_str(d, first + cnt - 1, NULL);
            size_t len = (size_t)(b - a) + strlen(b) + 1;
            sqlite3_stmt *q = tl__local_stmt(s, S_DICT_INS);
            if (!q) return sql_fail(s, eb, "preparing dictionary insert");
            sqlite3_bind_int(q, 1, k);
            sqlite3_bind_int64(q, 2, first);
            sqlite3_bind_int64(q, 3, cnt);
            sqlite3_bind_blob(q, 4, a, (int)len, SQLITE_STATIC);
            if (sqlite3_step(q) != SQLITE_DONE) return sql_fail(s, eb, "writing a dictionary");
        }
    }
    return 0;
}

static void loc_rollback(tl_store_t *s);

static int loc_commit(tl_store_t *s, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    int rc = tl__local_batch_alive(s, eb);
    if (!rc) rc = tl__evlog_flush(&lo->log, eb);
    if (!rc) rc = write_dicts(s, eb);
    if (!rc) rc = tl__applogs_flush(s, eb);
    if (!rc && lo->consents_dirty) rc = tl__local_consents_changed(s, eb);
    if (!rc) rc = tl__blobs_swaps(s, NULL, 0, eb);
    /* the log's new length is what commits the events: never on its own */
    if (!rc) rc = tl__local_batch_alive(s, eb);
    if (!rc && lo->log.end != lo->log.committed) {
        rc = meta_set_i64(s, "log_len", (int64_t)lo->log.end, eb);
        if (!rc) rc = meta_set_i64(s, "log_events", (int64_t)(lo->log.nevents + lo->log.pending), eb);
    }
    if (!rc) rc = exec(s, "COMMIT", eb);
    if (rc) {
        loc_rollback(s);
        return rc;
    }
    s->in_batch = 0;
    lo->consents_dirty = 0;
    tl__evlog_mark_committed(&lo->log);
    tl__applogs_mark_committed(s);
    int swaps = lo->blobs != NULL;
    tl__blobs_done(s, 1);
    for (int k = 0; k < TL_D__N; k++)
        if (lo->dict[k]) lo->dict_committed[k] = tl_dict_count(lo->dict[k]);
    lo->nbatch_fp = 0;
    /* committed: a rename that fails here is finished by the next writable open */
    return swaps ? tl__local_finish_swaps(s, eb) : 0;
}

static void loc_rollback(tl_store_t *s) {
    tl__local_t *lo = tl__lo(s);
    sqlite3_exec(lo->db, "ROLLBACK", NULL, NULL, NULL);
    tl__evlog_rollback(&lo->log);
    tl__applogs_rollback(s);
    tl__blobs_done(s, 0);
    lo->consents_dirty = 0;
    for (int k = 0; k < TL_D__N; k++)
        if (lo->dict[k] && tl_dict_truncate(lo->dict[k], lo->dict_committed[k]) != 0) {
            /* Could not shrink for lack of memory: drop it; it reloads on use. */
            tl_dict_free(lo->dict[k]);
            lo->dict[k] = NULL;
        }
    for (size_t i = 0; i < lo->nbatch_fp; i++) tl_hset_del(&lo->fps, lo->batch_fp[i]);
    lo->nbatch_fp = 0;
    lo->qfps_loaded = 0; /* it may hold rows of the batch: reload on next use */
}

/* ---- events -------------------------------------------------------------- */

static int load_fp_block(const tl_evblock_t *b, void *arg) {
    tl_hset_t *set = arg;
    for (uint32_t i = 0; i < b->n; i++)
        if (tl_hset_add(set, b->fp[i]) < 0) return TL_ENOMEM;
    return 0;
}

static int loc_add_event(tl_store_t *s, const tl_event_t *ev, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    int rc;
    if (!lo->fps_loaded) {
        if ((rc = tl_hset_init(&lo->fps, lo->log.nevents + lo->expect + (1u << 16)))) return rc;
        if ((rc = tl__evlog_scan(&lo->log, 0, INT64_MIN, TL_EVC_FP, load_fp_block, &lo->fps, 0, eb))) return rc;
        lo->fps_loaded = 1;
    }
    rc = tl_hset_add(&lo->fps, ev->fp);
    if (rc <= 0) return rc; /* 0: duplicate */
    if (lo->nbatch_fp == lo->cap_batch_fp) {
        size_t nc = lo->cap_batch_fp ? lo->cap_batch_fp * 2 : 65536;
        uint64_t *n = realloc(lo->batch_fp, nc * sizeof *n);
        if (!n) {
            tl_hset_del(&lo->fps, ev->fp);
            return TL_ENOMEM;
        }
        lo->batch_fp = n;
        lo->cap_batch_fp = nc;
    }
    lo->batch_fp[lo->nbatch_fp++] = ev->fp;
    rc = tl__evlog_append(&lo->log, ev, eb);
    return rc ? rc : 1;
}

static void loc_expect_events(tl_store_t *s, uint64_t n) {
    tl__local_t *lo = tl__lo(s);
    if (!lo->fps_loaded) lo->expect = n;
    else (void)tl_hset_reserve(&lo->fps, lo->fps.count + n); /* else it grows as it goes */
}

static void loc_prefetch_event(const tl_store_t *s, uint64_t fp) { tl_hset_prefetch(&tl__lo(s)->fps, fp); }

static int loc_scan(tl_store_t *s, uint64_t from_seq, uint32_t want, tl_evblock_fn fn, void *arg,
                    tl_errbuf_t *eb) {
    return tl__evlog_scan(&tl__lo(s)->log, from_seq, INT64_MIN, want, fn, arg, 0, eb);
}

static int loc_scan_since(tl_store_t *s, int64_t min_ts, uint32_t want, tl_evblock_fn fn, void *arg,
                          tl_errbuf_t *eb) {
    return tl__evlog_scan(&tl__lo(s)->log, 0, min_ts, want, fn, arg, 0, eb);
}

static uint64_t loc_event_count(const tl_store_t *s) { return tl__lo(s)->log.nevents; }

/* ---- the operations table ------------------------------------------------ */

const tl_store_backend_t tl_store_local = {
    .version = TL_STORE_BACKEND_VERSION,
    .name = "local",
    .open = loc_open,
    .close = loc_close,
    .begin = loc_begin,
    .commit = loc_commit,
    .rollback = loc_rollback,
    .dict = tl__local_dict,
    .ids = tl__local_ids,
    .add_event = loc_add_event,
    .expect_events = loc_expect_events,
    .prefetch_event = loc_prefetch_event,
    .scan = loc_scan,
    .scan_since = loc_scan_since,
    .event_count = loc_event_count,
    .put_user = tl__loc_put_user,
    .put_item = tl__loc_put_item,
    .put_product = tl__loc_put_product,
    .put_credit = tl__loc_put_credit,
    .put_consent = tl__loc_put_consent,
    .consents_in_force = tl__local_consents_in_force,
    .consents_refresh = tl__local_consents_refresh,
    .user_pii = tl__loc_user_pii,
    .scan_users = tl__local_scan_users,
    .get_user = tl__local_get_user,
    .scan_items = tl__local_scan_items,
    .get_item = tl__local_get_item,
    .scan_products = tl__local_scan_products,
    .scan_credit = tl__local_scan_credit,
    .scan_consents = tl__local_scan_consents,
    .quarantine = tl__loc_quarantine,
    .quarantine_scan = tl__local_quarantine_scan,
    .quarantine_counts = tl__local_quarantine_counts,
    .config_put = tl__local_config_put,
    .config_get = tl__local_config_get,
    .segment_put = tl__local_segment_put,
    .segment_get = tl__local_segment_get,
    .segment_delete = tl__local_segment_delete,
    .segment_list = tl__local_segment_list,
    .apikey_put = tl__local_apikey_put,
    .apikey_delete = tl__local_apikey_delete,
    .apikey_scan = tl__local_apikey_scan,
    .audit_append = tl__local_audit_append,
    .audit_last = tl__local_audit_last,
    .audit_scan = tl__local_audit_scan,
    .campaign_get = tl__local_campaign_get,
    .campaign_scan = tl__local_campaign_scan,
    .campaign_put = tl__local_campaign_put,
    .campaign_set_status = tl__local_campaign_set_status,
    .campaign_run_add = tl__local_campaign_run_add,
    .campaign_runs = tl__local_campaign_runs,
    .delivery_hold = tl__local_delivery_hold,
    .delivery_fail = tl__local_delivery_fail,
    .delivery_done = tl__local_delivery_done,
    .deliveries_held = tl__local_deliveries_held,
    .blob_put = tl__local_blob_put,
    .blob_get = tl__local_blob_get,
    .blob_list = tl__local_blob_list,
    .blob_remove = tl__local_blob_remove,
    /* repositories and reads */
    .link_add = tl__local_link_add,
    .link_split = tl__local_link_split,
    .link_scan = tl__local_link_scan,
    .dnc_put = tl__local_dnc_put,
    .dnc_scan = tl__local_dnc_scan,
    .dnc_of_user = tl__local_dnc_of_user,
    .feedback_add = tl__local_feedback_add,
    .feedback_scan = tl__local_feedback_scan,
    .feedback_of_user = tl__local_feedback_of_user,
    .feedback_negative = tl__local_feedback_negative,
    .counts = tl__local_counts,
    .check = tl__local_check,
    /* blobs and side logs: writers, maps, appends; the side logs */
    .blob_create = tl__local_blob_create,
    .blobw_write = tl__local_blobw_write,
    .blobw_stream = tl__local_blobw_stream,
    .blobw_close = tl__local_blobw_close,
    .blobw_abandon = tl__local_blobw_abandon,
    .blob_map = tl__local_blob_map,
    .blob_unmap = tl__local_blob_unmap,
    .blob_append = tl__local_blob_append,
    .blob_where = tl__local_blob_where,
    .applog_open = tl__local_applog_open,
    .applog_write = tl__local_applog_write,
    .applog_read = tl__local_applog_read,
    .applog_committed = tl__local_applog_committed,
    .applog_list = tl__local_applog_list,
    /* keys, pseudonyms, erasure and retention */
    .secret_get = tl__local_secret_get,
    .secret_add = tl__local_secret_add,
    .anchor_get = tl__local_anchor_get,
    .anchor_put = tl__local_anchor_put,
    .erased = tl__local_erased,
    .erased_any = tl__local_erased_any,
    .purge = tl__local_purge,
    .rotate_key = tl__local_rotate_key,
};
