/* store.c -- the data directory: opening, the SQLite schema, batches,
 * dictionaries, entity upserts, quarantine and reads.
 *
 * SQLite (WAL, synchronous=FULL) holds everything but the events; the
 * events go to the columnar log in evlog.c. The `meta` table records the
 * format version and the committed length of the log, so one SQLite commit
 * is the commit point of a whole batch (see docs/FORMATS.md).
 *
 * De-duplication of events uses the set of fingerprints of every stored
 * event, built from the log's fingerprint column the first time an event is
 * added in a process. */
#include "store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <sodium.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    S_DICT_INS,
    S_META_SET,
    S_USER_GET,
    S_USER_PUT,
    S_ITEM_GET,
    S_ITEM_PUT,
    S_PROD_GET,
    S_PROD_PUT,
    S_CRED_GET,
    S_CRED_PUT,
    S_CONSENT,
    S_QUAR,
    S_SOURCE_GET,
    S_SOURCE_ADD,
    S__N
};
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
    tl__feedback_schema, tl__deliveries_schema, NULL,
};


/* ---- helpers ------------------------------------------------------------- */

static int sql_fail(tl_store_t *s, tl_errbuf_t *eb, const char *what) {
    int code = sqlite3_extended_errcode(s->db);
    tl_errbuf_set(eb, "%s/tailor.db: %s: %s", s->dir, what, sqlite3_errmsg(s->db));
    if ((code & 0xff) == SQLITE_FULL) return TL_ENOSPC;
    if ((code & 0xff) == SQLITE_NOMEM) return TL_ENOMEM;
    if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB) return TL_ECORRUPT;
    /* a write or a shared-memory map that failed for want of room */
    if ((code & 0xff) == SQLITE_IOERR) return tl_err_write(sqlite3_system_errno(s->db));
    return TL_ESQL;
}

/* SQLite rolls a transaction back by itself after some errors (out of
 * memory, a full disk, an I/O error), even of a read; the statements after
 * it would each commit on their own, and a batch would be kept in part.
 * Writes inside a batch, and its commit, check first. */
static int batch_alive(tl_store_t *s, tl_errbuf_t *eb) {
    if (!s->in_batch || !sqlite3_get_autocommit(s->db)) return 0;
    tl_errbuf_set(eb, "%s/tailor.db: the batch's transaction was rolled back after an earlier "
                  "error; nothing of the batch was kept", s->dir);
    return TL_ESQL;
}

int tl__store_sql_fail(tl_store_t *s, tl_errbuf_t *eb, const char *what) {
    return sql_fail(s, eb, what);
}

static int exec(tl_store_t *s, const char *sql, tl_errbuf_t *eb) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return sql_fail(s, eb, sql);
    return 0;
}

static sqlite3_stmt *stmt(tl_store_t *s, int which) {
    if (!s->st[which] &&
        sqlite3_prepare_v3(s->db, SQL[which], -1, SQLITE_PREPARE_PERSISTENT, &s->st[which], NULL) !=
            SQLITE_OK)
        return NULL;
    sqlite3_reset(s->st[which]);
    sqlite3_clear_bindings(s->st[which]);
    return s->st[which];
}

static int meta_get_i64(tl_store_t *s, const char *key, int64_t *out, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &q, NULL) !=
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

int tl__store_meta_blob(tl_store_t *s, const char *key, tl_buf_t *out, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &q, NULL) != SQLITE_OK)
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
    sqlite3_stmt *q = stmt(s, S_META_SET);
    if (!q) return sql_fail(s, eb, "preparing meta update");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, v);
    if (sqlite3_step(q) != SQLITE_DONE) return sql_fail(s, eb, "writing meta");
    return 0;
}

int tl__store_meta_get(tl_store_t *s, const char *key, int64_t *out, tl_errbuf_t *eb) {
    return meta_get_i64(s, key, out, eb);
}
int tl__store_meta_set(tl_store_t *s, const char *key, int64_t v, tl_errbuf_t *eb) {
    return meta_set_i64(s, key, v, eb);
}

int tl__store_consents_changed(tl_store_t *s, tl_errbuf_t *eb) {
    int64_t v = 0;
    int rc = meta_get_i64(s, "consents_version", &v, eb);
    if (rc == TL_ENOENT) v = 0, rc = 0;
    return rc ? rc : meta_set_i64(s, "consents_version", v + 1, eb);
}

const char *tl_store_dir(const tl_store_t *st) { return st->dir; }

uint64_t tl_store_event_count(const tl_store_t *st) { return st->log.nevents; }

/* ---- open / close -------------------------------------------------------- */

static int write_dicts(tl_store_t *s, tl_errbuf_t *eb);

/* Fills a new data directory's dictionaries with the built-in event types
 * and channels, inside the caller's transaction. */
static int create_builtins(tl_store_t *s, tl_errbuf_t *eb) {
    static const char *const types[] = {
#define XX(c, n) n,
        TL_EVENT_TYPES(XX)
#undef XX
    };
    static const char *const chans[] = {
#define XX(c, n) n,
        TL_CHANNELS(XX)
#undef XX
    };
    int rc = 0;
    uint32_t idx;
    tl_dict_t *dt = tl_store_dict(s, TL_D_TYPE, eb), *dc = tl_store_dict(s, TL_D_CHANNEL, eb);
    if (!dt || !dc) return TL_ENOMEM;
    for (size_t i = 0; !rc && i < sizeof types / sizeof *types; i++)
        rc = tl_dict_intern(dt, types[i], strlen(types[i]), &idx, NULL);
    for (size_t i = 0; !rc && i < sizeof chans / sizeof *chans; i++)
        rc = tl_dict_intern(dc, chans[i], strlen(chans[i]), &idx, NULL);
    if (!rc) rc = write_dicts(s, eb);
    if (!rc) rc = meta_set_i64(s, "format", TL_STORE_FORMAT, eb);
    if (!rc) rc = meta_set_i64(s, "created", tl_time_now_ms(), eb);
    if (!rc) {
        s->dict_committed[TL_D_TYPE] = tl_dict_count(dt);
        s->dict_committed[TL_D_CHANNEL] = tl_dict_count(dc);
    }
    return rc;
}

/* 1 if the query (with text ?1) yields a row, 0 if none, or a negative
 * error: a failed read (out of memory, I/O) is not "absent". */
static int has_row(tl_store_t *s, const char *sql, const char *arg, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
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
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM swaps WHERE path = 'events.log'", -1, &q, NULL) !=
        SQLITE_OK)
        return 0;
    int found = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return found;
}

int tl_store_open(const char *dir, int flags, tl_store_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    int readonly = (flags & TL_STORE_READONLY) != 0;
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
    tl_store_t *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        tl_errbuf_set(eb, "%s: out of memory opening the data directory", dir);
        return TL_ENOMEM;
    }
    s->readonly = readonly;
    s->lockfd = -1;
    s->log.fd = -1;
    tl_buf_init(&s->tmp);
    tl_buf_init(&s->tmp2);
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
        s->lockfd = open(path, O_RDWR | O_CREAT, 0600);
        if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
            tl_errbuf_set(eb, "%s: another tailor process is writing to this data directory; "
                          "wait for it to finish", dir);
            rc = TL_ELOCKED;
            goto fail;
        }
    }
    if (sqlite3_open_v2(dbpath, &s->db,
                        SQLITE_OPEN_NOMUTEX |
                            (readonly ? SQLITE_OPEN_READONLY
                                      : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE),
                        NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s: cannot open: %s", dbpath, s->db ? sqlite3_errmsg(s->db) : "?");
        rc = TL_ESQL;
        goto fail;
    }
    if (readonly && (rc = finish_recovery(&s->db, dbpath, eb))) goto fail;
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_extended_result_codes(s->db, 1);
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
                rc = create_builtins(s, eb);
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
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
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
    if (!readonly && (rc = tl__store_finish_swaps(s, eb))) goto fail;
    if (!readonly) tl__blobs_clean(s);
    if (readonly && pending_log_swap(s)) {
        /* a purge between its commit and its rename: the new file is the log */
        snprintf(path, sizeof path, "%s/events.log.new", dir);
        if (access(path, F_OK) != 0) snprintf(path, sizeof path, "%s/events.log", dir);
    }
    if ((rc = tl__evlog_open(&s->log, path, (uint64_t)loglen, (uint64_t)nev, readonly, eb)))
        goto fail;
    if (loglen == 0 && !readonly) {
        /* The log header was just written: record it as committed. */
        if ((rc = exec(s, "BEGIN IMMEDIATE", eb))) goto fail;
        rc = meta_set_i64(s, "log_len", (int64_t)s->log.committed, eb);
        if (!rc) rc = exec(s, "COMMIT", eb);
        if (rc) goto fail;
    }
    if ((rc = tl__seal_load_key(dir, !readonly, s->seal.key, eb)) == 0) {
        s->have_key = 1;
        tl__sealer_init(&s->seal);
        if ((rc = tl__seal_check_key(s, eb))) goto fail;
        /* the pseudonym secret loaded (made, the first time) now, so that
         * later pseudonyms are pure computation, safe from any thread */
        char ps[33];
        if (!readonly && (rc = tl_store_pseudonym(s, "", 0, ps, eb))) goto fail;
        if (!readonly && (rc = tl__store_audit_anchor_make(s, created, eb))) goto fail;
    }
    else if (!readonly) goto fail;
    rc = 0;
    *out = s;
    return 0;
fail:
    /* paths that only return a code (out of memory, mostly) still say what failed */
    if (!eb->msg[0])
        tl_errbuf_set(eb, "%s: cannot open the data directory: %s", dir, tl_strerror(rc));
    tl_store_close(s);
    return rc;
}

void tl_store_close(tl_store_t *s) {
    if (!s) return;
    if (s->in_batch) tl_store_rollback(s);
    for (int i = 0; i < S__N; i++) sqlite3_finalize(s->st[i]);
    if (s->db) sqlite3_close(s->db);
    tl__evlog_close(&s->log);
    tl__applogs_close(s);
    for (int k = 0; k < TL_D__N; k++) {
        tl_dict_free(s->dict[k]);
        tl_buf_fini(&s->ids_arena[k]);
        free(s->ids_offs[k]);
    }
    tl_hset_fini(&s->fps);
    free(s->batch_fp);
    tl_buf_fini(&s->tmp);
    tl_buf_fini(&s->tmp2);
    free(s->last_source);
    tl_hset_fini(&s->qfps);
    tl_hset_fini(&s->erased);
    if (s->lockfd >= 0) close(s->lockfd);
    sodium_memzero(&s->seal, sizeof s->seal);
    sodium_memzero(s->pseudo, sizeof s->pseudo);
    free(s->dir);
    free(s);
}

/* ---- dictionaries -------------------------------------------------------- */

tl_dict_t *tl_store_dict(tl_store_t *s, tl_dkind_t kind, tl_errbuf_t *eb) {
    if (s->dict[kind]) return s->dict[kind];
    tl_dict_t *d = tl_dict_new();
    if (!d) {
        tl_errbuf_set(eb, "out of memory loading a dictionary");
        return NULL;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(sum(n), 0), coalesce(sum(length(ids)), 0) FROM dict "
                           "WHERE kind = ?1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int(q, 1, (int)kind);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0 &&
            tl_dict_reserve(d, (uint32_t)sqlite3_column_int64(q, 0), (size_t)sqlite3_column_int64(q, 1) + 1)) {
            sqlite3_finalize(q);
            tl_errbuf_set(eb, "out of memory loading a dictionary");
            tl_dict_free(d);
            return NULL;
        }
        sqlite3_finalize(q);
    }
    if (sqlite3_prepare_v2(s->db, "SELECT first, n, ids FROM dict WHERE kind = ?1 ORDER BY first",
                           -1, &q, NULL) != SQLITE_OK) {
        sql_fail(s, eb, "loading a dictionary");
        tl_dict_free(d);
        return NULL;
    }
    sqlite3_bind_int(q, 1, (int)kind);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t first = sqlite3_column_int64(q, 0), n = sqlite3_column_int64(q, 1);
        const char *p = sqlite3_column_blob(q, 2);
        int bytes = sqlite3_column_bytes(q, 2);
        if (!p && bytes) { /* out of memory reading the row */
            rc = SQLITE_NOMEM;
            break;
        }
        const char *end = p + bytes;
        int ok = first == (int64_t)tl_dict_count(d) && p, irc = 0;
        for (int64_t i = 0; ok && i < n; i++) {
            const char *z = memchr(p, 0, (size_t)(end - p));
            uint32_t idx;
            int added;
            ok = z && (irc = tl_dict_intern(d, p, (size_t)(z - p), &idx, &added)) == 0 && added;
            if (ok) p = z + 1;
        }
        if (irc == TL_ENOMEM) {
            tl_errbuf_set(eb, "%s: out of memory loading dictionary %d", s->dir, (int)kind);
            rc = SQLITE_CORRUPT; /* told already */
            break;
        }
        if (!ok || p != end) {
            tl_errbuf_set(eb, "%s/tailor.db: dictionary %d is inconsistent near index %lld", s->dir,
                          (int)kind, (long long)first);
            rc = SQLITE_CORRUPT;
            break;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        if (rc != SQLITE_CORRUPT) sql_fail(s, eb, "loading a dictionary");
        tl_dict_free(d);
        return NULL;
    }
    s->dict[kind] = d;
    s->dict_committed[kind] = tl_dict_count(d);
    return d;
}

int tl_store_ids(tl_store_t *s, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb) {
    if (!s->ids_loaded[kind]) {
        tl_buf_t *a = &s->ids_arena[kind];
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(s->db, "SELECT first, n, ids FROM dict WHERE kind = ?1 ORDER BY first",
                               -1, &q, NULL) != SQLITE_OK)
            return sql_fail(s, eb, "loading a dictionary");
        sqlite3_bind_int(q, 1, (int)kind);
        int step, rc = 0;
        uint64_t n = 0;
        while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
            if (sqlite3_column_int64(q, 0) != (int64_t)n) rc = TL_ECORRUPT;
            n += (uint64_t)sqlite3_column_int64(q, 1);
            const void *ids = sqlite3_column_blob(q, 2);
            size_t len = (size_t)sqlite3_column_bytes(q, 2);
            if (!rc && ((!ids && len) || tl_buf_append(a, ids, len))) rc = TL_ENOMEM;
        }
        sqlite3_finalize(q);
        if (!rc && step != SQLITE_DONE) rc = sql_fail(s, eb, "loading a dictionary");
        uint64_t *offs = rc ? NULL : malloc((n + 2) * sizeof *offs);
        if (!rc && !offs) rc = TL_ENOMEM;
        uint64_t k = 0;
        for (size_t p = 0; !rc && p < a->len && k < n; k++) {
            const char *z = memchr(a->data + p, 0, a->len - p);
            if (!z) break;
            offs[k] = p;
            p = (size_t)(z - a->data) + 1;
        }
        if (!rc && (k != n || (n && a->len && a->data[a->len - 1] != 0))) rc = TL_ECORRUPT;
        if (rc) {
            free(offs);
            tl_buf_clear(a);
            if (rc == TL_ECORRUPT)
                tl_errbuf_set(eb, "%s/tailor.db: dictionary %d is inconsistent", s->dir, (int)kind);
            else if (rc == TL_ENOMEM)
                tl_errbuf_set(eb, "%s: out of memory loading dictionary %d", s->dir, (int)kind);
            return rc;
        }
        offs[n] = a->len;
        s->ids_offs[kind] = offs, s->ids_n[kind] = (uint32_t)n, s->ids_loaded[kind] = 1;
    }
    out->arena = s->ids_arena[kind].data ? s->ids_arena[kind].data : "";
    out->offs = s->ids_offs[kind];
    out->n = s->ids_n[kind];
    return 0;
}

/* ---- batches ------------------------------------------------------------- */

int tl_store_begin(tl_store_t *s, tl_errbuf_t *eb) {
    if (s->readonly) {
        tl_errbuf_set(eb, "the data directory is open read-only");
        return TL_EINVAL;
    }
    int rc = exec(s, "BEGIN IMMEDIATE", eb);
    if (!rc) s->in_batch = 1;
    return rc;
}

static int write_dicts(tl_store_t *s, tl_errbuf_t *eb) {
    enum { RUN = 65536 }; /* ids per row at most */
    for (int k = 0; k < TL_D__N; k++) {
        tl_dict_t *d = s->dict[k];
        if (!d) continue;
        uint32_t n = tl_dict_count(d);
        for (uint32_t first = s->dict_committed[k]; first < n; first += RUN) {
            uint32_t cnt = n - first < RUN ? n - first : RUN;
            /* The ids of a run lie back to back, NUL-ended, in the arena. */
            const char *a = tl_dict_str(d, first, NULL), *b = tl_dict_str(d, first + cnt - 1, NULL);
            size_t len = (size_t)(b - a) + strlen(b) + 1;
            sqlite3_stmt *q = stmt(s, S_DICT_INS);
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

int tl_store_commit(tl_store_t *s, tl_errbuf_t *eb) {
    if (!s->in_batch) return 0;
    int rc = batch_alive(s, eb);
    if (!rc) rc = tl__evlog_flush(&s->log, eb);
    if (!rc) rc = write_dicts(s, eb);
    if (!rc) rc = tl__applogs_flush(s, eb);
    if (!rc && s->consents_dirty) rc = tl__store_consents_changed(s, eb);
    if (!rc) rc = tl__blobs_swaps(s, NULL, 0, eb);
    /* the log's new length is what commits the events: never on its own */
    if (!rc) rc = batch_alive(s, eb);
    if (!rc && s->log.end != s->log.committed) {
        rc = meta_set_i64(s, "log_len", (int64_t)s->log.end, eb);
        if (!rc) rc = meta_set_i64(s, "log_events", (int64_t)(s->log.nevents + s->log.pending), eb);
    }
    if (!rc) rc = exec(s, "COMMIT", eb);
    if (rc) {
        tl_store_rollback(s);
        return rc;
    }
    s->in_batch = 0;
    s->consents_dirty = 0;
    tl__evlog_mark_committed(&s->log);
    tl__applogs_mark_committed(s);
    int swaps = s->blobs != NULL;
    tl__blobs_done(s, 1);
    for (int k = 0; k < TL_D__N; k++)
        if (s->dict[k]) s->dict_committed[k] = tl_dict_count(s->dict[k]);
    s->nbatch_fp = 0;
    /* committed: a rename that fails here is finished by the next writable open */
    return swaps ? tl__store_finish_swaps(s, eb) : 0;
}

void tl_store_rollback(tl_store_t *s) {
    if (!s->in_batch) return;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    tl__evlog_rollback(&s->log);
    tl__applogs_rollback(s);
    tl__blobs_done(s, 0);
    s->consents_dirty = 0;
    for (int k = 0; k < TL_D__N; k++)
        if (s->dict[k] && tl_dict_truncate(s->dict[k], s->dict_committed[k]) != 0) {
            /* Could not shrink for lack of memory: drop it; it reloads on use. */
            tl_dict_free(s->dict[k]);
            s->dict[k] = NULL;
        }
    for (size_t i = 0; i < s->nbatch_fp; i++) tl_hset_del(&s->fps, s->batch_fp[i]);
    s->nbatch_fp = 0;
    s->qfps_loaded = 0; /* it may hold rows of the batch: reload on next use */
    s->in_batch = 0;
}

/* ---- events -------------------------------------------------------------- */

static int load_fp_block(const tl_evblock_t *b, void *arg) {
    tl_hset_t *set = arg;
    for (uint32_t i = 0; i < b->n; i++)
        if (tl_hset_add(set, b->fp[i]) < 0) return TL_ENOMEM;
    return 0;
}

int tl_store_add_event(tl_store_t *s, const tl_event_t *ev, tl_errbuf_t *eb) {
    int rc;
    if (!s->fps_loaded) {
        if ((rc = tl_hset_init(&s->fps, s->log.nevents + s->expect + (1u << 16)))) return rc;
        if ((rc = tl__evlog_scan(&s->log, 0, TL_EVC_FP, load_fp_block, &s->fps, 0, eb))) return rc;
        s->fps_loaded = 1;
    }
    rc = tl_hset_add(&s->fps, ev->fp);
    if (rc <= 0) return rc; /* 0: duplicate */
    if (s->nbatch_fp == s->cap_batch_fp) {
        size_t nc = s->cap_batch_fp ? s->cap_batch_fp * 2 : 65536;
        uint64_t *n = realloc(s->batch_fp, nc * sizeof *n);
        if (!n) {
            tl_hset_del(&s->fps, ev->fp);
            return TL_ENOMEM;
        }
        s->batch_fp = n;
        s->cap_batch_fp = nc;
    }
    s->batch_fp[s->nbatch_fp++] = ev->fp;
    rc = tl__evlog_append(&s->log, ev, eb);
    return rc ? rc : 1;
}

void tl_store_expect_events(tl_store_t *s, uint64_t n) {
    if (!s->fps_loaded) s->expect = n;
    else (void)tl_hset_reserve(&s->fps, s->fps.count + n); /* else it grows as it goes */
}

void tl_store_prefetch_event(const tl_store_t *s, uint64_t fp) { tl_hset_prefetch(&s->fps, fp); }

int tl_store_scan_events(tl_store_t *s, tl_evblock_fn fn, void *arg, tl_errbuf_t *eb) {
    return tl__evlog_scan(&s->log, 0, TL_EVC_ALL, fn, arg, 0, eb);
}

int tl_store_scan_from(tl_store_t *s, uint64_t from_seq, uint32_t want, tl_evblock_fn fn,
                       void *arg, tl_errbuf_t *eb) {
    return tl__evlog_scan(&s->log, from_seq, want, fn, arg, 0, eb);
}

int tl_store_scan_columns(tl_store_t *s, uint32_t want, tl_evblock_fn fn, void *arg,
                          tl_errbuf_t *eb) {
    return tl__evlog_scan(&s->log, 0, want, fn, arg, 0, eb);
}

/* ---- entities ------------------------------------------------------------ */

/* A column value for the merge-upsert below. */
typedef struct {
    int t; /* 0 = absent, else SQLITE_INTEGER / SQLITE_FLOAT / SQLITE_TEXT / SQLITE_BLOB */
    int64_t i;
    double d;
    const void *p;
    size_t n;
} val_t;

static val_t v_text(const char *s) {
    val_t v = {0};
    if (s) v.t = SQLITE_TEXT, v.p = s, v.n = strlen(s);
    return v;
}
static val_t v_int(int64_t i, int present) {
    val_t v = {0};
    if (present) v.t = SQLITE_INTEGER, v.i = i;
    return v;
}
static val_t v_real(double d) {
    val_t v = {0};
    if (!isnan(d)) v.t = SQLITE_FLOAT, v.d = d;
    return v;
}

/* The value of column c of the current row; 0, or -1 when SQLite ran out
 * of memory making it (text and blobs may be copied on the way). */
static int col_val(sqlite3_stmt *q, int c, val_t *v) {
    *v = (val_t){0};
    switch (sqlite3_column_type(q, c)) {
    case SQLITE_INTEGER: v->t = SQLITE_INTEGER, v->i = sqlite3_column_int64(q, c); break;
    case SQLITE_FLOAT: v->t = SQLITE_FLOAT, v->d = sqlite3_column_double(q, c); break;
    case SQLITE_TEXT:
        v->t = SQLITE_TEXT, v->p = sqlite3_column_text(q, c), v->n = (size_t)sqlite3_column_bytes(q, c);
        if (!v->p) return -1; /* text is never NULL, even empty */
        break;
    case SQLITE_BLOB:
        v->t = SQLITE_BLOB, v->p = sqlite3_column_blob(q, c), v->n = (size_t)sqlite3_column_bytes(q, c);
        if (!v->p && v->n) return -1;
        break;
    default: break;
    }
    return 0;
}

static int val_eq(const val_t *a, const val_t *b) {
    if (a->t != b->t) return 0;
    switch (a->t) {
    case 0: return 1;
    case SQLITE_INTEGER: return a->i == b->i;
    case SQLITE_FLOAT: return a->d == b->d;
    default: return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
    }
}

/* Text and blobs are copied (they may point into the row of the get
 * statement, reset before the write), so binding can run out of memory. */
static int bind_val(sqlite3_stmt *q, int pos, const val_t *v) {
    switch (v->t) {
    case SQLITE_INTEGER: return sqlite3_bind_int64(q, pos, v->i);
    case SQLITE_FLOAT: return sqlite3_bind_double(q, pos, v->d);
    case SQLITE_TEXT: return sqlite3_bind_text(q, pos, v->p, (int)v->n, SQLITE_TRANSIENT);
    case SQLITE_BLOB: return sqlite3_bind_blob(q, pos, v->p, (int)v->n, SQLITE_TRANSIENT);
    default: return sqlite3_bind_null(q, pos);
    }
}

/* Loads the stored row of key with get, merges v[] over it (absent values
 * keep the stored ones), and writes the result with put when it differs.
 * Returns 1 if written, 0 if nothing changed. */
static int merge_upsert(tl_store_t *s, int get, int put, int64_t key, val_t *v, int n,
                        tl_errbuf_t *eb) {
    int brc = batch_alive(s, eb);
    if (brc) return brc;
    sqlite3_stmt *g = stmt(s, get), *p = stmt(s, put);
    if (!g || !p) return sql_fail(s, eb, "preparing an entity statement");
    sqlite3_bind_int64(g, 1, key);
    int rc = sqlite3_step(g);
    int exists = rc == SQLITE_ROW, changed = !exists;
    if (!exists && rc != SQLITE_DONE) return sql_fail(s, eb, "reading an entity");
    brc = SQLITE_OK;
    for (int c = 0; c < n && brc == SQLITE_OK; c++) {
        val_t old = {0};
        if (exists && col_val(g, c, &old)) {
            brc = SQLITE_NOMEM;
            break;
        }
        if (v[c].t == 0) v[c] = old;
        else if (!val_eq(&v[c], &old)) changed = 1;
        brc = bind_val(p, c + 1, &v[c]);
    }
    if (brc == SQLITE_OK) brc = sqlite3_bind_int64(p, 10, key);
    sqlite3_reset(g);
    if (brc != SQLITE_OK) {
        if (brc == SQLITE_NOMEM) {
            tl_errbuf_set(eb, "%s/tailor.db: out of memory reading an entity", s->dir);
            return TL_ENOMEM;
        }
        return sql_fail(s, eb, "binding an entity");
    }
    if (!changed) return 0;
    if (sqlite3_step(p) != SQLITE_DONE) return sql_fail(s, eb, "writing an entity");
    return 1;
}

static int intern_id(tl_store_t *s, tl_dkind_t kind, const char *id, uint32_t *idx,
                     tl_errbuf_t *eb) {
    tl_dict_t *d = tl_store_dict(s, kind, eb);
    if (!d) return TL_ENOMEM;
    return tl_dict_intern(d, id, strlen(id), idx, NULL);
}

/* Personal fields are sealed together as four NUL-terminated strings. */
#define PII_FIELDS 4

static int put_pii(tl_store_t *s, sqlite3_int64 idx, const tl_user_t *u, val_t *out,
                   tl_errbuf_t *eb) {
    const char *nw[PII_FIELDS] = {u->name, u->phone, u->email, u->id_number};
    int any = 0;
    for (int i = 0; i < PII_FIELDS; i++) any |= nw[i] != NULL;
    *out = (val_t){0};
    if (!any) return 0;
    /* Current plaintext, if any. */
    const char *cur[PII_FIELDS] = {"", "", "", ""};
    tl_buf_clear(&s->tmp);
    sqlite3_stmt *g = stmt(s, S_USER_GET);
    if (!g) return sql_fail(s, eb, "preparing user read");
    sqlite3_bind_int64(g, 1, idx);
    int rc = sqlite3_step(g);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_reset(g);
        return sql_fail(s, eb, "reading a user");
    }
    if (rc == SQLITE_ROW && sqlite3_column_type(g, 8) == SQLITE_BLOB) {
        val_t blob;
        if (col_val(g, 8, &blob)) {
            sqlite3_reset(g);
            tl_errbuf_set(eb, "%s/tailor.db: out of memory reading a user", s->dir);
            return TL_ENOMEM;
        }
        int urc = tl__unseal(s->seal.key, blob.p, blob.n, &s->tmp);
        if (urc == TL_ENOMEM) {
            sqlite3_reset(g);
            tl_errbuf_set(eb, "%s: out of memory reading a user", s->dir);
            return TL_ENOMEM;
        }
        if (urc != 0) {
            sqlite3_reset(g);
            tl_errbuf_set(eb, "%s: personal data of a user cannot be decrypted with this key",
                          s->dir);
            return TL_ECRYPTO;
        }
        const char *p = s->tmp.data, *e = s->tmp.data + s->tmp.len;
        for (int i = 0; i < PII_FIELDS && p < e; i++) {
            cur[i] = p;
            p += strlen(p) + 1;
        }
    }
    sqlite3_reset(g);
    tl_buf_clear(&s->tmp2);
    int changed = 0;
    for (int i = 0; i < PII_FIELDS; i++) {
        const char *f = nw[i] ? nw[i] : cur[i];
        if (strcmp(f, cur[i]) != 0) changed = 1;
        if (tl_buf_append(&s->tmp2, f, strlen(f) + 1)) return TL_ENOMEM;
    }
    if (!changed) return 0; /* absent: merge keeps the stored blob */
    size_t plain = s->tmp2.len;
    if (tl__seal(&s->seal, s->tmp2.data, plain, &s->tmp2)) return TL_ENOMEM;
    out->t = SQLITE_BLOB;
    out->p = s->tmp2.data + plain;
    out->n = s->tmp2.len - plain;
    return 0;
}

int tl_store_put_user(tl_store_t *s, const char *id, const tl_user_t *u, tl_errbuf_t *eb) {
    uint32_t idx;
    int rc = intern_id(s, TL_D_USER, id, &idx, eb);
    if (rc) return rc;
    val_t v[9] = {v_text(u->gender), v_int(u->birth_year, u->birth_year != 0), v_text(u->city),
                  v_text(u->occupation), v_text(u->education),
                  v_int(u->registered_at, u->registered_at != INT64_MIN), v_text(u->channel),
                  v_text(u->attrs)};
    if ((rc = put_pii(s, idx, u, &v[8], eb))) return rc;
    return merge_upsert(s, S_USER_GET, S_USER_PUT, idx, v, 9, eb);
}

int tl_store_put_item(tl_store_t *s, const char *id, const tl_item_t *it, tl_errbuf_t *eb) {
    uint32_t idx;
    int rc = intern_id(s, TL_D_ITEM, id, &idx, eb);
    if (rc) return rc;
    val_t v[5] = {v_text(it->title), v_text(it->category), v_text(it->brand), v_real(it->price),
                  v_text(it->attrs)};
    return merge_upsert(s, S_ITEM_GET, S_ITEM_PUT, idx, v, 5, eb);
}

int tl_store_put_product(tl_store_t *s, const char *id, const tl_product_t *p, tl_errbuf_t *eb) {
    uint32_t idx;
    int rc = intern_id(s, TL_D_PRODUCT, id, &idx, eb);
    if (rc) return rc;
    val_t v[8] = {v_text(p->kind), v_text(p->name), v_int(p->term_months, p->term_months >= 0),
                  v_real(p->apr), v_real(p->amount_min), v_real(p->amount_max),
                  v_text(p->eligibility), v_text(p->disclosure)};
    return merge_upsert(s, S_PROD_GET, S_PROD_PUT, idx, v, 8, eb);
}

int tl_store_put_credit(tl_store_t *s, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb) {
    val_t v[7] = {v_int(c->on_time, c->on_time >= 0), v_int(c->late, c->late >= 0),
                  v_int(c->max_overdue_days, c->max_overdue_days >= 0), v_real(c->debt),
                  v_text(c->income_band), v_int(c->history_months, c->history_months >= 0),
                  v_int(c->default_flag, c->default_flag >= 0)};
    return merge_upsert(s, S_CRED_GET, S_CRED_PUT, user, v, 7, eb);
}

int tl_store_put_consent(tl_store_t *s, uint32_t user, const char *purpose, int granted,
                         int64_t at, tl_errbuf_t *eb) {
    int rc = batch_alive(s, eb);
    if (rc) return rc;
    sqlite3_stmt *q = stmt(s, S_CONSENT);
    if (!q) return sql_fail(s, eb, "preparing consent insert");
    sqlite3_bind_int64(q, 1, user);
    sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, granted != 0);
    sqlite3_bind_int64(q, 4, at);
    if (sqlite3_step(q) != SQLITE_DONE) return sql_fail(s, eb, "writing a consent");
    int added = sqlite3_changes(s->db) > 0;
    s->consents_dirty |= added;
    return added;
}

/* The id of a source file's path in the sources table, added if new; the
 * last one is remembered, since rows come file by file. */
static int source_id(tl_store_t *s, const char *path, int64_t *out, tl_errbuf_t *eb) {
    if (s->last_source && strcmp(s->last_source, path) == 0) {
        *out = s->last_source_id;
        return 0;
    }
    sqlite3_stmt *q = stmt(s, S_SOURCE_GET);
    if (!q) return sql_fail(s, eb, "preparing a source lookup");
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sql_fail(s, eb, "looking up a source");
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(q, 0);
    } else {
        q = stmt(s, S_SOURCE_ADD);
        if (!q) return sql_fail(s, eb, "preparing a source insert");
        sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE) return sql_fail(s, eb, "adding a source");
        *out = sqlite3_last_insert_rowid(s->db);
    }
    char *copy = strdup(path);
    if (!copy) return TL_ENOMEM;
    free(s->last_source);
    s->last_source = copy;
    s->last_source_id = *out;
    s->qfps_loaded = 0;
    return 0;
}

/* Loads the fingerprints of the rows already quarantined from a source. */
static int load_qfps(tl_store_t *s, int64_t src, tl_errbuf_t *eb) {
    tl_hset_fini(&s->qfps);
    if (tl_hset_init(&s->qfps, 1024)) return TL_ENOMEM;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT fp FROM quarantine WHERE source = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return sql_fail(s, eb, "reading the quarantine");
    sqlite3_bind_int64(q, 1, src);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (tl_hset_add(&s->qfps, (uint64_t)sqlite3_column_int64(q, 0)) < 0) {
            sqlite3_finalize(q);
            return TL_ENOMEM;
        }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return sql_fail(s, eb, "reading the quarantine");
    s->qfps_loaded = 1;
    return 0;
}

int tl_store_quarantine(tl_store_t *s, const char *source, uint64_t line, const char *reason,
                        const char *message, const char *raw, size_t rawlen,
                        const char *preview, tl_errbuf_t *eb) {
    int64_t src = 0;
    int rc = batch_alive(s, eb);
    if (!rc) rc = source_id(s, source, &src, eb);
    if (rc) return rc;
    if (!s->qfps_loaded && (rc = load_qfps(s, src, eb))) return rc;
    uint64_t fp = tl_hash64(raw, rawlen, line);
    rc = tl_hset_add(&s->qfps, fp);
    if (rc <= 0) return rc; /* 0: this row is quarantined already */
    sqlite3_stmt *q = stmt(s, S_QUAR);
    if (!q) return sql_fail(s, eb, "preparing quarantine insert");
    tl_buf_clear(&s->tmp);
    if (tl__seal(&s->seal, raw, rawlen, &s->tmp)) return TL_ENOMEM;
    sqlite3_bind_int64(q, 1, src);
    sqlite3_bind_int64(q, 2, (int64_t)line);
    sqlite3_bind_int64(q, 3, (int64_t)fp);
    sqlite3_bind_text(q, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, message, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 6, s->tmp.data, (int)s->tmp.len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, tl_time_now_ms());
    sqlite3_bind_text(q, 8, preview, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) return sql_fail(s, eb, "writing the quarantine");
    return 1;
}

/* ---- segment definitions ------------------------------------------------- */

/* 1 if the last statement failed because a table is missing: a data
 * directory made before the table existed, opened read-only (writers add
 * missing tables at open). Readers then see an empty table. */
static int missing_table(tl_store_t *s) {
    return strncmp(sqlite3_errmsg(s->db), "no such table", 13) == 0;
}

int tl__store_prepare(tl_store_t *s, const char *sql, sqlite3_stmt **q, const char *what,
                      tl_errbuf_t *eb) {
    if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) == SQLITE_OK) return 0;
    *q = NULL;
    return missing_table(s) ? 1 : sql_fail(s, eb, what);
}

int tl__store_each(tl_store_t *s, sqlite3_stmt *q, tl__row_fn row, void *arg, const char *what,
                   tl_errbuf_t *eb) {
    int rc = 0, step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) rc = row(q, arg);
    if (!rc && step != SQLITE_DONE) rc = sql_fail(s, eb, what);
    sqlite3_finalize(q);
    return rc;
}

/* Runs one write with text ?1, and when b is given text ?2 and integer ?3. */
static int one_shot(tl_store_t *s, const char *sql, const char *a, const char *b, int64_t c,
                    tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) return sql_fail(s, eb, "preparing a write");
    sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_int64(q, 3, c);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : sql_fail(s, eb, "writing");
    sqlite3_finalize(q);
    return rc;
}

int tl_store_config_put(tl_store_t *s, const char *key, const char *value, tl_errbuf_t *eb) {
    return one_shot(s, "INSERT OR REPLACE INTO config(key, value) VALUES (?1, ?2)", key, value,
                    INT64_MIN, eb);
}

int tl_store_config_get(tl_store_t *s, const char *key, char **value, tl_errbuf_t *eb) {
    *value = NULL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM config WHERE key = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return missing_table(s) ? TL_ENOENT : sql_fail(s, eb, "reading settings");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        *value = v ? strdup(v) : NULL;
        rc = *value ? 0 : TL_ENOMEM;
    } else {
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? TL_ENOENT : sql_fail(s, eb, "reading settings");
    }
    sqlite3_finalize(q);
    return rc;
}

int tl_store_segment_put(tl_store_t *s, const char *name, const char *expr, tl_errbuf_t *eb) {
    char *old = NULL;
    int rc = tl_store_segment_get(s, name, &old, eb);
    if (rc && rc != TL_ENOENT) return rc;
    free(old);
    int is_new = rc == TL_ENOENT;
    rc = one_shot(s, "INSERT OR REPLACE INTO segments(name, expr, created) VALUES (?1, ?2, ?3)",
                  name, expr, tl_time_now_ms(), eb);
    return rc ? rc : is_new;
}

int tl_store_segment_get(tl_store_t *s, const char *name, char **expr, tl_errbuf_t *eb) {
    *expr = NULL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT expr FROM segments WHERE name = ?1", -1, &q, NULL) !=
        SQLITE_OK) {
        if (!missing_table(s)) return sql_fail(s, eb, "reading segments");
        tl_errbuf_set(eb, "no segment \"%s\" (see `tailor segment list`)", name);
        return TL_ENOENT;
    }
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        *expr = v ? strdup(v) : NULL;
        rc = *expr ? 0 : TL_ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? TL_ENOENT : sql_fail(s, eb, "reading segments");
    }
    sqlite3_finalize(q);
    if (rc == TL_ENOENT)
        tl_errbuf_set(eb, "no segment \"%s\" (see `tailor segment list`)", name);
    return rc;
}

int tl_store_segment_delete(tl_store_t *s, const char *name, tl_errbuf_t *eb) {
    int rc = one_shot(s, "DELETE FROM segments WHERE name = ?1", name, NULL, 0, eb);
    if (!rc && sqlite3_changes(s->db) == 0) {
        tl_errbuf_set(eb, "no segment \"%s\"", name);
        return TL_ENOENT;
    }
    return rc;
}

int tl_store_segment_list(tl_store_t *s, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT name, expr, created FROM segments ORDER BY name", -1,
                           &q, NULL) != SQLITE_OK)
        return missing_table(s) ? 0 : sql_fail(s, eb, "reading segments");
    int rc = 0, step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW)
        rc = fn((const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
                sqlite3_column_int64(q, 2), arg);
    if (!rc && step != SQLITE_DONE) rc = sql_fail(s, eb, "reading segments");
    sqlite3_finalize(q);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

int tl_store_user_pii(tl_store_t *s, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT pii FROM users WHERE idx = ?1", -1, &q, NULL) != SQLITE_OK)
        return sql_fail(s, eb, "reading a user");
    sqlite3_bind_int64(q, 1, user);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_BLOB) {
        val_t blob;
        rc = col_val(q, 0, &blob) ? TL_ENOMEM
             : !s->have_key       ? TL_ECRYPTO
                                  : tl__unseal(s->seal.key, blob.p, blob.n, out);
        if (rc == TL_ENOMEM)
            tl_errbuf_set(eb, "%s: out of memory reading personal data", s->dir);
        else if (rc)
            tl_errbuf_set(eb, "%s: personal data cannot be decrypted: the key is missing or wrong",
                          s->dir);
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        rc = tl_buf_append(out, "\0\0\0\0", 4);
    } else {
        rc = sql_fail(s, eb, "reading a user");
    }
    sqlite3_finalize(q);
    return rc;
}

int tl_store_quarantine_scan(tl_store_t *s, const char *reason, int with_raw, tl_qrow_fn fn,
                             void *arg, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    const char *sql = reason ? "SELECT q.id, q.at, s.path, q.reason, q.message, q.line, q.raw, "
                               "q.preview FROM quarantine q JOIN sources s ON s.id = q.source "
                               "WHERE q.reason = ?1 ORDER BY q.id"
                             : "SELECT q.id, q.at, s.path, q.reason, q.message, q.line, q.raw, "
                               "q.preview FROM quarantine q JOIN sources s ON s.id = q.source "
                               "ORDER BY q.id";
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return sql_fail(s, eb, "reading the quarantine");
    if (reason) sqlite3_bind_text(q, 1, reason, -1, SQLITE_STATIC);
    int rc = 0, step;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        tl_buf_clear(&s->tmp);
        if (with_raw && (!s->have_key ||
                         tl__unseal(s->seal.key, sqlite3_column_blob(q, 6),
                                    (size_t)sqlite3_column_bytes(q, 6), &s->tmp) != 0)) {
            tl_errbuf_set(eb, "%s: a quarantined row cannot be decrypted: the key is missing "
                          "or wrong (set $TAILOR_KEY or restore DATA/key)", s->dir);
            rc = TL_ECRYPTO;
            break;
        }
        const char *pv = (const char *)sqlite3_column_text(q, 7);
        tl_qrow_t r = {.id = sqlite3_column_int64(q, 0), .at = sqlite3_column_int64(q, 1),
                       .source = (const char *)sqlite3_column_text(q, 2),
                       .reason = (const char *)sqlite3_column_text(q, 3),
                       .message = (const char *)sqlite3_column_text(q, 4),
                       .line = (uint64_t)sqlite3_column_int64(q, 5),
                       .raw = with_raw ? (s->tmp.data ? s->tmp.data : "") : NULL,
                       .rawlen = with_raw ? s->tmp.len : 0, .preview = pv ? pv : ""};
        rc = fn(&r, arg);
    }
    if (!rc && step != SQLITE_DONE) rc = sql_fail(s, eb, "reading the quarantine");
    sqlite3_finalize(q);
    return rc;
}

/* Steps a prepared query, handing each row to fn as text; finalizes it. */
static int each_row(tl_store_t *s, sqlite3_stmt *q, int rc, tl_row_fn fn, void *arg, tl_errbuf_t *eb) {
    int n = sqlite3_column_count(q), step = SQLITE_DONE;
    const char *cols[64];
    if (n > 64) n = 64;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        for (int c = 0; c < n; c++) cols[c] = (const char *)sqlite3_column_text(q, c);
        rc = fn(n, cols, arg);
    }
    if (!rc && step != SQLITE_DONE) rc = sql_fail(s, eb, "running a query");
    sqlite3_finalize(q);
    return rc;
}

int tl_store_query(tl_store_t *s, const char *sql, tl_row_fn fn, void *arg, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return sql_fail(s, eb, "preparing a query");
    return each_row(s, q, 0, fn, arg, eb);
}

/* Binds args by the letters of types: i int64_t, d double, t text (NULL:
 * SQL NULL). */
static int bind_args(sqlite3_stmt *q, const char *types, va_list ap) {
    for (int k = 0; types[k]; k++) {
        int rc;
        switch (types[k]) {
        case 'i': rc = sqlite3_bind_int64(q, k + 1, va_arg(ap, int64_t)); break;
        case 'd': rc = sqlite3_bind_double(q, k + 1, va_arg(ap, double)); break;
        case 't': {
            const char *t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(q, k + 1, t, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(q, k + 1);
            break;
        }
        default: return SQLITE_MISUSE;
        }
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

int tl_store_exec(tl_store_t *s, tl_errbuf_t *eb, const char *sql, const char *types, ...) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return sql_fail(s, eb, "preparing a write");
    va_list ap;
    va_start(ap, types);
    int rc = bind_args(q, types, ap);
    va_end(ap);
    rc = rc == SQLITE_OK && sqlite3_step(q) == SQLITE_DONE ? 0 : sql_fail(s, eb, "writing");
    sqlite3_finalize(q);
    return rc;
}

int tl_store_changes(tl_store_t *s) { return sqlite3_changes(s->db); }

int tl_store_queryf(tl_store_t *s, tl_errbuf_t *eb, tl_row_fn fn, void *arg, const char *sql,
                    const char *types, ...) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return missing_table(s) ? 0 : sql_fail(s, eb, "preparing a query");
    va_list ap;
    va_start(ap, types);
    int rc = bind_args(q, types, ap) == SQLITE_OK ? 0 : sql_fail(s, eb, "binding a query");
    va_end(ap);
    return each_row(s, q, rc, fn, arg, eb);
}

int tl__consents_scan_sql(tl_store_t *s, const char *const *purposes, int np, int64_t at,
                          int withdrawn, uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb) {
    memset(bits, 0, nusers);
    sqlite3_stmt *q;
    /* rows come in key order (user, purpose, at): the last one of each
     * (user, purpose) up to `at` is the one in force */
    if (np <= 0) return 0;
    if (np > 8) np = 8;
    char sql[256] = "SELECT user, purpose, granted FROM consents WHERE at <= ?1 AND purpose IN (?2";
    for (int k = 1; k < np; k++) snprintf(sql + strlen(sql), sizeof sql - strlen(sql), ", ?%d", k + 2);
    snprintf(sql + strlen(sql), sizeof sql - strlen(sql), ") ORDER BY user, purpose, at, granted");
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return missing_table(s) ? 0 : sql_fail(s, eb, "reading consents");
    sqlite3_bind_int64(q, 1, at);
    for (int k = 0; k < np; k++) sqlite3_bind_text(q, k + 2, purposes[k], -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t u = sqlite3_column_int64(q, 0);
        const char *p = (const char *)sqlite3_column_text(q, 1);
        if (u < 0 || u >= nusers || !p) continue;
        for (int k = 0; k < np && k < 8; k++)
            if (strcmp(p, purposes[k]) == 0) {
                if ((sqlite3_column_int(q, 2) != 0) != withdrawn) bits[u] |= (uint8_t)(1u << k);
                else bits[u] &= (uint8_t)~(1u << k);
            }
    }
    int rc = step == SQLITE_DONE ? 0 : sql_fail(s, eb, "reading consents");
    sqlite3_finalize(q);
    return rc;
}

static int count_rows(tl_store_t *s, const char *sql, uint64_t *out, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return sql_fail(s, eb, "counting");
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *out = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : sql_fail(s, eb, "counting");
}

int tl_store_counts(tl_store_t *s, tl_store_counts_t *o, tl_errbuf_t *eb) {
    memset(o, 0, sizeof *o);
    int rc;
    if ((rc = count_rows(s, "SELECT coalesce(sum(n), 0) FROM dict WHERE kind = 0", &o->users, eb)) ||
        (rc = count_rows(s, "SELECT coalesce(sum(n), 0) FROM dict WHERE kind = 1", &o->items, eb)) ||
        (rc = count_rows(s, "SELECT count(*) FROM products", &o->products, eb)) ||
        (rc = count_rows(s, "SELECT count(*) FROM credit", &o->credit, eb)) ||
        (rc = count_rows(s, "SELECT count(*) FROM consents", &o->consents, eb)) ||
        (rc = count_rows(s, "SELECT count(*) FROM quarantine", &o->quarantined, eb)))
        return rc;
    uint64_t erased = 0; /* a directory made before erasure existed has no tombstones */
    if (count_rows(s, "SELECT count(*) FROM erased", &erased, eb) == 0) o->users -= erased;
    eb->msg[0] = 0;
    o->events = s->log.nevents;
    return 0;
}

typedef struct {
    tl_store_evstats_t *s;
    int64_t cap_days;
} evstats_ctx_t;

static int evstats_block(const tl_evblock_t *b, void *arg) {
    evstats_ctx_t *c = arg;
    tl_store_evstats_t *s = c->s;
    for (uint32_t i = 0; i < b->n; i++) {
        s->by_type[b->type[i]]++;
        s->by_channel[b->channel[i]]++;
        int64_t t = b->ts[i];
        if (t < s->min_ts) s->min_ts = t;
        if (t > s->max_ts) s->max_ts = t;
        int64_t day = t >= 0 ? t / TL_MS_PER_DAY : -((-t + TL_MS_PER_DAY - 1) / TL_MS_PER_DAY);
        if (s->ndays == 0) {
            s->first_day = day;
        }
        if (day < s->first_day || day >= s->first_day + s->ndays) {
            int64_t lo = day < s->first_day ? day : s->first_day;
            int64_t hi = s->ndays && day < s->first_day + s->ndays ? s->first_day + s->ndays
                                                                   : day + 1;
            if (s->ndays && s->first_day + s->ndays > hi) hi = s->first_day + s->ndays;
            int64_t nd = hi - lo;
            uint64_t *nb = calloc((size_t)nd, sizeof *nb);
            if (!nb) return TL_ENOMEM;
            if (s->ndays)
                memcpy(nb + (s->first_day - lo), s->by_day, (size_t)s->ndays * sizeof *nb);
            free(s->by_day);
            s->by_day = nb;
            s->first_day = lo;
            s->ndays = nd;
        }
        s->by_day[day - s->first_day]++;
    }
    return 0;
}

int tl_store_event_stats(tl_store_t *s, tl_store_evstats_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    out->min_ts = INT64_MAX;
    out->max_ts = INT64_MIN;
    evstats_ctx_t c = {out, 0};
    int rc = tl__evlog_scan(&s->log, 0, TL_EVC_TYPE | TL_EVC_CHANNEL | TL_EVC_TS, evstats_block, &c,
                            0, eb);
    if (rc) tl_store_evstats_fini(out);
    return rc;
}

void tl_store_evstats_fini(tl_store_evstats_t *s) {
    free(s->by_day);
    s->by_day = NULL;
    s->ndays = 0;
}

static int check_block(const tl_evblock_t *b, void *arg) {
    tl_store_check_t *c = arg;
    c->blocks++;
    c->events += b->n;
    for (uint32_t i = 0; i < b->n; i++) c->digest += tl_hash64(&b->fp[i], 8, 0);
    return 0;
}

int tl_store_check(tl_store_t *s, tl_store_check_t *out, tl_errbuf_t *eb) {
    tl_store_check_t c = {0, 0, 0};
    int rc = tl__evlog_scan(&s->log, 0, TL_EVC_ALL, check_block, &c, 1, eb);
    *out = c;
    if (rc) return rc;
    if (c.events != s->log.nevents) {
        tl_errbuf_set(eb, "%s/events.log: %llu events in the log but %llu recorded as committed",
                      s->dir, (unsigned long long)c.events, (unsigned long long)s->log.nevents);
        return TL_ECORRUPT;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK)
        return sql_fail(s, eb, "integrity check");
    rc = sqlite3_step(q);
    const char *res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
    int good = res && strcmp(res, "ok") == 0;
    if (!good) tl_errbuf_set(eb, "%s/tailor.db: integrity check failed: %s", s->dir, res ? res : "?");
    sqlite3_finalize(q);
    return good ? 0 : TL_ECORRUPT;
}
