/* pg.c -- the PostgreSQL back end (tl_store_pg): a store many tailor
 * processes on many machines share. Opening (the connection, the schema,
 * the data key), batches as transactions under the writers' lock, the
 * statement helpers over libpq, and the operations table at the end.
 * pg_int.h says how the parts fit; docs/ARCHITECTURE.md, "Store contract",
 * what every back end promises. */
#include "store/pg/pg_int.h"

#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

tl__pg_t *tl__pg(const tl_store_t *st) { return tl_store_backend_state(st); }

/* ---- statements ------------------------------------------------------------------ */

int tl__pg_fail(tl_store_t *st, tl_errbuf_t *eb, const char *what, const PGresult *r) {
    return tl__pg_fail_on(st, tl__pg(st)->conn, eb, what, r);
}

int tl__pg_fail_on(tl_store_t *st, PGconn *conn, tl_errbuf_t *eb, const char *what,
                   const PGresult *r) {
    tl__pg_t *pg = tl__pg(st);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
                                                       : PQerrorMessage(conn);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) n--;
    tl_errbuf_set(eb, "%s: %s: %.*s", st->dir, what, (int)n, msg);
    int rc = TL_EIO;
    /* class 08, connection exceptions; 57P01-3, the server shutting down or starting */
    if (PQstatus(conn) != CONNECTION_OK || (state && (!strncmp(state, "08", 2) ||
                                                      !strncmp(state, "57P0", 4))))
        rc = TL_ELOST;
    else if (state && !strcmp(state, "23505")) rc = TL_EEXIST;
    else if (state && (!strcmp(state, "55P03") || !strcmp(state, "40P01") || !strcmp(state, "40001")))
        rc = TL_ELOCKED;
    else if (state && !strcmp(state, "53200")) rc = TL_ENOMEM;
    else if (state && !strcmp(state, "53100")) rc = TL_ENOSPC;
    pg->last_rc = rc;
    return rc;
}

int tl__pg_err(const tl_store_t *st) { return tl__pg(st)->last_rc; }

/* ---- the connection: lost ones made again ---------------------------------------------
 *
 * A connection lost outside a transaction (the server restarted, or a
 * standby promoted after the primary failed: a multi-host connection
 * string with target_session_attrs=read-write finds the new primary) is
 * made again before the next statement, trying for up to PG_RECONNECT_MS;
 * a reading statement that failed because the connection went is sent
 * once more on the new one. A batch that loses its connection fails whole
 * (its transaction is gone with it); its writer sends it again, and the
 * fingerprints keep the events it had sent from doubling. */

#define PG_RECONNECT_MS 60000

/* Every connection's settings: durable commits whatever the server's
 * default; a writer waits for the lock rather than failing at once; a
 * block of an event scan is a range of seq, read by the BRIN index
 * whatever the statistics of a table just loaded make the planner think;
 * a block is small: no workers to start, its rows put in order by tailor,
 * not sorted. */
#define SESSION_SETUP                                                                              \
    "SET synchronous_commit = on; SET client_min_messages = warning; SET lock_timeout = '10min';" \
    " SET enable_seqscan = off; SET jit = off; SET max_parallel_workers_per_gather = 0"

static int session_setup(tl_store_t *st, tl_errbuf_t *eb) {
    PGresult *r = PQexec(tl__pg(st)->conn, SESSION_SETUP);
    int rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : tl__pg_fail(st, eb, "setting up the session", r);
    PQclear(r);
    return rc;
}

/* Another connection to the store, made with the handle's parameters
 * (password included, which the store's name leaves out) and its session
 * settings; NULL with eb set when it cannot be made. */
PGconn *tl__pg_connect_again(tl_store_t *st, tl_errbuf_t *eb) {
    PQconninfoOption *o = PQconninfo(tl__pg(st)->conn);
    if (!o) {
        tl_errbuf_set(eb, "out of memory");
        return NULL;
    }
    int n = 0;
    for (PQconninfoOption *q = o; q->keyword; q++) n += q->val && *q->val;
    const char **kw = calloc((size_t)n + 1, sizeof *kw), **val = calloc((size_t)n + 1, sizeof *val);
    PGconn *c = NULL;
    if (kw && val) {
        n = 0;
        for (PQconninfoOption *q = o; q->keyword; q++)
            if (q->val && *q->val) kw[n] = q->keyword, val[n++] = q->val;
        c = PQconnectdbParams(kw, val, 0);
    }
    free(kw), free(val);
    PQconninfoFree(o);
    if (!c) {
        tl_errbuf_set(eb, "out of memory");
        return NULL;
    }
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, SESSION_SETUP);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (ok) return c;
    }
    size_t len = strlen(PQerrorMessage(c));
    while (len && PQerrorMessage(c)[len - 1] == '\n') len--;
    tl_errbuf_set(eb, "%s: cannot connect to the store again: %.*s", st->dir, (int)len,
                  PQerrorMessage(c));
    PQfinish(c);
    return NULL;
}

int tl__pg_side_run(tl_store_t *st, tl_errbuf_t *eb, const char *what, const char *sql) {
    tl__pg_t *pg = tl__pg(st);
    int rc = 0;
    /* a connection lost since its last use (a failover) shows only now:
     * the statement goes once more on a new one, which the contract of
     * side statements (harmless when run twice) allows */
    for (int tries = 0; tries < 2; tries++) {
        int fresh = !pg->aconn;
        if (fresh && !(pg->aconn = tl__pg_connect_again(st, eb))) return TL_ELOST;
        PGresult *r = PQexec(pg->aconn, sql);
        ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : tl__pg_fail_on(st, pg->aconn, eb, what, r);
        PQclear(r);
        if (!rc || PQstatus(pg->aconn) == CONNECTION_OK) break;
        PQfinish(pg->aconn);
        pg->aconn = NULL;
        if (fresh) break;
    }
    return rc;
}

/* 0 when the connection is up or was made again; TL_ELOST when it is lost
 * inside a transaction or cannot be made again in time. */
static int reconnect(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (PQstatus(pg->conn) == CONNECTION_OK) return 0;
    if (pg->in_tx) {
        tl_errbuf_set(eb, "%s: the connection to the store was lost inside a transaction",
                      st->dir);
        return pg->last_rc = TL_ELOST;
    }
    for (int waited = 0; waited < PG_RECONNECT_MS; waited += 250) {
        PQreset(pg->conn);
        if (PQstatus(pg->conn) == CONNECTION_OK) {
            pg->nmonths = 0; /* the server may be another (a standby promoted) */
            return session_setup(st, eb);
        }
        struct timespec t = {0, 250 * 1000000L};
        nanosleep(&t, NULL);
    }
    return tl__pg_fail(st, eb, "connecting again", NULL);
}

#define PG_MAXP 16

static PGresult *exec_v(tl_store_t *st, tl_errbuf_t *eb, const char *what, const char *sql,
                        const char *fmt, va_list ap) {
    tl__pg_t *pg = tl__pg(st);
    const char *vals[PG_MAXP];
    int lens[PG_MAXP], fmts[PG_MAXP];
    char num[PG_MAXP][32];
    int n = 0;
    for (const char *f = fmt; *f && n < PG_MAXP; f++, n++) {
        lens[n] = 0, fmts[n] = 0, vals[n] = NULL;
        switch (*f) {
        case 's':
            vals[n] = va_arg(ap, const char *);
            break;
        case 'i':
            snprintf(num[n], 32, "%lld", (long long)va_arg(ap, int64_t));
            vals[n] = num[n];
            break;
        case 'n': {
            int64_t v = va_arg(ap, int64_t);
            int present = va_arg(ap, int);
            snprintf(num[n], 32, "%lld", (long long)v);
            vals[n] = present ? num[n] : NULL;
            break;
        }
        case 'u': {
            uint32_t v = va_arg(ap, uint32_t);
            snprintf(num[n], 32, "%u", v);
            vals[n] = v == TL_NONE ? NULL : num[n];
            break;
        }
        case 'd': {
            double v = va_arg(ap, double);
            snprintf(num[n], 32, "%.17g", v);
            vals[n] = isnan(v) ? NULL : num[n];
            break;
        }
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            vals[n] = p;
            lens[n] = (int)len, fmts[n] = 1;
            break;
        }
        default:
            tl_errbuf_set(eb, "%s: %s: bad parameter format '%c'", st->dir, what, *f);
            pg->last_rc = TL_EINVAL;
            return NULL;
        }
    }
    int rc = reconnect(st, eb);
    if (!rc) rc = tl__pg_bulk_flush(st, eb);
    if (!rc) rc = tl__pg_copy_end(st, eb);
    if (rc) {
        pg->last_rc = rc;
        return NULL;
    }
    PGresult *r = PQexecParams(pg->conn, sql, n, NULL, vals, lens, fmts, 1);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK && PQstatus(pg->conn) != CONNECTION_OK &&
        !pg->in_tx && !strncmp(sql, "SELECT", 6) && !reconnect(st, eb)) {
        PQclear(r);
        r = PQexecParams(pg->conn, sql, n, NULL, vals, lens, fmts, 1);
        s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    }
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) return r;
    tl__pg_fail(st, eb, what, r);
    PQclear(r);
    return NULL;
}

PGresult *tl__pg_exec(tl_store_t *st, tl_errbuf_t *eb, const char *what, const char *sql,
                      const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tl__pg_lock(st);
    PGresult *r = exec_v(st, eb, what, sql, fmt, ap);
    tl__pg_unlock(st);
    va_end(ap);
    return r;
}

int tl__pg_run(tl_store_t *st, tl_errbuf_t *eb, const char *what, const char *sql,
               const char *fmt, ...) {
    PGresult *r;
    int rc = 0;
    tl__pg_lock(st);
    if (!*fmt) { /* no parameters: several statements may be given */
        rc = reconnect(st, eb);
        if (!rc) rc = tl__pg_bulk_flush(st, eb);
        if (!rc) rc = tl__pg_copy_end(st, eb);
        r = rc ? NULL : PQexec(tl__pg(st)->conn, sql);
        ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (!rc && s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) rc = tl__pg_fail(st, eb, what, r);
    } else {
        va_list ap;
        va_start(ap, fmt);
        r = exec_v(st, eb, what, sql, fmt, ap);
        va_end(ap);
        if (!r) rc = tl__pg(st)->last_rc;
    }
    tl__pg_unlock(st);
    PQclear(r);
    return rc;
}

int64_t tl__pg_affected(PGresult *r) {
    const char *t = PQcmdTuples(r);
    return t && *t ? strtoll(t, NULL, 10) : 0;
}

/* ---- cells of binary results ------------------------------------------------------ */

enum { OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_TEXT = 25,
       OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_VARCHAR = 1043, OID_BOOL = 16 };

static uint64_t be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int tl__pg_null(const PGresult *r, int row, int col) { return PQgetisnull(r, row, col); }

int64_t tl__pg_int(const PGresult *r, int row, int col, int64_t absent) {
    if (row >= PQntuples(r) || PQgetisnull(r, row, col)) return absent;
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    switch (PQftype(r, col)) {
    case OID_INT8: return (int64_t)be64(p);
    case OID_INT4: return (int32_t)be32(p);
    case OID_INT2: return (int16_t)((uint16_t)p[0] << 8 | p[1]);
    case OID_BOOL: return p[0] != 0;
    default: return absent;
    }
}

double tl__pg_real(const PGresult *r, int row, int col) {
    if (row >= PQntuples(r) || PQgetisnull(r, row, col)) return NAN;
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    switch (PQftype(r, col)) {
    case OID_FLOAT8: {
        uint64_t v = be64(p);
        double d;
        memcpy(&d, &v, sizeof d);
        return d;
    }
    case OID_FLOAT4: {
        uint32_t v = be32(p);
        float f;
        memcpy(&f, &v, sizeof f);
        return f;
    }
    default: return (double)tl__pg_int(r, row, col, 0);
    }
}

const char *tl__pg_text(const PGresult *r, int row, int col) {
    if (row >= PQntuples(r) || PQgetisnull(r, row, col)) return NULL;
    return PQgetvalue(r, row, col);
}

const void *tl__pg_bytes(const PGresult *r, int row, int col, size_t *n) {
    *n = 0;
    if (row >= PQntuples(r) || PQgetisnull(r, row, col)) return NULL;
    *n = (size_t)PQgetlength(r, row, col);
    return PQgetvalue(r, row, col);
}

/* ---- transactions ------------------------------------------------------------------ */

void tl__pg_lock(tl_store_t *st) { pthread_mutex_lock(&tl__pg(st)->mu); }
void tl__pg_unlock(tl_store_t *st) { pthread_mutex_unlock(&tl__pg(st)->mu); }

void tl__pg_tx_enter(tl_store_t *st) {
    tl__pg_lock(st); /* held until the transaction ends */
    tl__pg(st)->in_tx = 1;
}

static void tx_leave(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    if (!pg->in_tx) return;
    pg->in_tx = 0;
    tl__pg_unlock(st);
}

int tl__pg_tx_begin(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_lock(st);
    int rc = tl__pg_run(st, eb, "beginning a transaction", "BEGIN", "");
    if (!rc) tl__pg_tx_enter(st);
    tl__pg_unlock(st);
    return rc;
}

int tl__pg_tx_commit(tl_store_t *st, tl_errbuf_t *eb) {
    int rc = tl__pg_run(st, eb, "committing", "COMMIT", "");
    if (rc) tl__pg_tx_rollback(st);
    tx_leave(st);
    return rc;
}

void tl__pg_tx_rollback(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    tl__pg_copy_abort(st);
    if (PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    tx_leave(st);
}

/* ---- lifecycle --------------------------------------------------------------------- */

/* The name messages give the store: the connection without its password. */
static int name_store(tl_store_t *st, tl_errbuf_t *eb) {
    PGconn *c = tl__pg(st)->conn;
    char name[512];
    const char *host = PQhost(c);
    snprintf(name, sizeof name, "postgresql://%s@%s%s%s:%s/%s", PQuser(c),
             host && strchr(host, ':') ? "[" : "", host ? host : "",
             host && strchr(host, ':') ? "]" : "", PQport(c), PQdb(c));
    char *d = strdup(name);
    if (!d) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    free(st->dir);
    st->dir = d;
    return 0;
}

static int is_uri(const char *s) {
    return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

/* A directory's settings (TL_STORE_SETTINGS): `name = value` lines, '#'
 * comments; *uri gets the value of `store` (caller frees). */
static int read_settings(const char *dir, char **uri, tl_errbuf_t *eb) {
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/" TL_STORE_SETTINGS, dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        tl_errbuf_set(eb, "%s: cannot read: %s", path, strerror(errno));
        return TL_EIO;
    }
    *uri = NULL;
    int rc = 0, no = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        no++;
        char *p = line, *e = line + strlen(line);
        while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char *eq = strchr(p, '=');
        char *k = p, *ke = eq ? eq : e, *v = eq ? eq + 1 : e;
        while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
        while (*v == ' ' || *v == '\t') v++;
        if (!eq || ke - k != 5 || memcmp(k, "store", 5) != 0) {
            tl_errbuf_set(eb, "%s:%d: expected `store = postgresql://...`", path, no);
            rc = TL_EINVAL;
        } else if (!is_uri(v)) {
            tl_errbuf_set(eb, "%s:%d: the store must be a postgresql:// address", path, no);
            rc = TL_EINVAL;
        } else {
            free(*uri);
            if (!(*uri = strdup(v))) rc = TL_ENOMEM;
        }
    }
    fclose(f);
    if (!rc && !*uri) {
        tl_errbuf_set(eb, "%s: names no store (`store = postgresql://...`)", path);
        rc = TL_EINVAL;
    }
    if (rc) free(*uri), *uri = NULL;
    return rc;
}

static int tl__pg_open(tl_store_t *st, int flags, tl_errbuf_t *eb) {
    tl__pg_t *pg = calloc(1, sizeof *pg);
    if (!pg || tl_hset_init(&pg->fps, 1024)) {
        free(pg);
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&pg->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    for (int k = 0; k < TL_D__N; k++) tl_buf_init(&pg->ids_arena[k]);
    tl_buf_init(&pg->tmp);
    tl_buf_init(&pg->tmp2);
    tl_buf_init(&pg->copybuf);
    tl_buf_init(&pg->hbuf);
    tl_store_backend_set_state(st, pg);
    char *uri = NULL;
    if (!is_uri(st->dir)) {
        /* a data directory naming the store: its key file keeps the key */
        int rc = read_settings(st->dir, &uri, eb), create = (flags & TL_STORE_CREATE) && !st->readonly;
        char kf[4096];
        snprintf(kf, sizeof kf, "%s/key", st->dir);
        /* a reader finding no key file goes on without a key: use_key
         * refuses it unless nothing was ever sealed (a first writer killed
         * before it made the key file) */
        int keyless = !rc && !st->conf.key && !create && access(kf, F_OK) != 0 && errno == ENOENT;
        if (!rc && !st->conf.key && !keyless) rc = tl__store_key_file(st->dir, create, pg->dirkey, eb);
        if (rc) {
            free(uri);
            return rc;
        }
        pg->have_dirkey = !st->conf.key && !keyless;
        /* where a key rotation writes the new key (privacy.c) */
        if (pg->have_dirkey && !(pg->keydir = strdup(st->dir))) {
            free(uri);
            tl_errbuf_set(eb, "out of memory");
            return TL_ENOMEM;
        }
    }
    pg->conn = PQconnectdb(uri ? uri : st->dir);
    free(uri);
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        const char *m = pg->conn ? PQerrorMessage(pg->conn) : "out of memory";
        size_t n = strlen(m);
        while (n && m[n - 1] == '\n') n--;
        /* the connection string may hold a password: not repeated */
        tl_errbuf_set(eb, "cannot connect to the PostgreSQL store: %.*s", (int)n, m);
        return TL_EIO;
    }
    int rc = name_store(st, eb);
    if (!rc) rc = session_setup(st, eb);
    if (!rc && !st->readonly) rc = tl__pg_migrate(st, eb);
    if (!rc && st->readonly) {
        int v;
        rc = tl__pg_schema_read(st, &v, eb);
        if (!rc && v != tl__pg_schema_version()) {
            tl_errbuf_set(eb, "%s: %s", st->dir, v ? "the store's schema is of another tailor "
                                                      "version: open it writable once to migrate"
                                                    : "no tailor data here yet");
            rc = v ? TL_EINVAL : TL_ENOENT;
        }
    }
    if (!rc) rc = tl__pg_use_key(st, eb);
    if (!rc && !st->readonly && st->have_key) rc = tl__pg_anchor_make(st, eb);
    if (!rc) rc = tl__pg_events_refresh(st, eb);
    pg->opened = 1;
    return rc;
}

static void tl__pg_close(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    if (!pg) return;
    tl__pg_events_close(st);
    tl__pg_blobs_close(st);
    tl__pg_bulk_free(st);
    if (pg->conn) PQfinish(pg->conn);
    for (int k = 0; k < TL_D__N; k++) {
        tl_dict_free(pg->dict[k]);
        tl_buf_fini(&pg->ids_arena[k]);
        free(pg->ids_offs[k]);
    }
    tl_buf_fini(&pg->copybuf);
    tl_buf_fini(&pg->hbuf);
    pthread_mutex_destroy(&pg->mu);
    free(pg->bfp);
    sodium_memzero(pg->dirkey, sizeof pg->dirkey);
    free(pg->keydir);
    tl_hset_fini(&pg->fps);
    tl_buf_fini(&pg->tmp);
    tl_buf_fini(&pg->tmp2);
    free(pg);
    tl_store_backend_set_state(st, NULL);
}

/* ---- batches ------------------------------------------------------------------------- */

static int tl__pg_begin(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    int rc = tl__pg_tx_begin(st, eb);
    if (!rc) {
        PGresult *r = tl__pg_exec(st, eb, "waiting for the writers' lock",
                                  "SELECT txid_current(), pg_advisory_xact_lock($1)", "i",
                                  (int64_t)TL_PG_WRITER_LOCK);
        pg->batch_xid = r ? tl__pg_int(r, 0, 0, 0) : 0;
        rc = r ? 0 : tl__pg_err(st);
        PQclear(r);
    }
    /* what other processes committed before the lock was ours */
    if (!rc) rc = tl__pg_key_current(st, eb);
    if (!rc) rc = tl__pg_dicts_refresh(st, eb);
    if (!rc) rc = tl__pg_events_refresh(st, eb);
    if (!rc) rc = tl__pg_events_clean(st, eb);
    if (rc) {
        tl__pg_tx_rollback(st);
        return rc;
    }
    pg->in_batch = 1;
    return 0;
}

static void tl__pg_rollback(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    tl__pg_tx_rollback(st);
    tl__pg_events_end(st, 0);
    tl__pg_bulk_end(st);
    tl__pg_dicts_end(st, 0);
    tl__pg_blobs_end(st, 0);
    pg->in_batch = 0;
}

/* What became of the batch whose COMMIT lost the connection: 0 when the
 * server (or the standby promoted in its place) committed it, TL_ELOST
 * when it did not, TL_EIO when that cannot be learnt. The server is asked
 * on a new connection (waiting for one as long as reconnect does) for the
 * status of the batch's transaction id; "in progress" is asked again
 * while the old session ends. An id the server never heard of (a standby
 * promoted before the batch reached it) was not committed there. */
static int commit_outcome(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    tl_errbuf_t lost = *eb, e2 = {{0}};
    tl__pg_tx_rollback(st); /* leaves the transaction: the connection may be made again */
    for (int tries = 0; tries < 240; tries++) {
        PGresult *r = tl__pg_exec(st, &e2, "reading the outcome of a commit",
                                  "SELECT txid_status($1)", "i", pg->batch_xid);
        const char *v = r ? tl__pg_text(r, 0, 0) : NULL;
        int rc = !r ? (tl__pg_err(st) == TL_ELOST ? TL_EIO : TL_ELOST)
                 : !v ? TL_EIO
                 : !strcmp(v, "committed") ? 0
                 : !strcmp(v, "aborted") ? TL_ELOST : 1;
        PQclear(r);
        if (rc == 0) {
            memset(eb, 0, sizeof *eb);
            return 0;
        }
        if (rc < 0) {
            tl_errbuf_set(eb, "%s; %s", lost.msg,
                          rc == TL_ELOST ? "the batch was not committed"
                                         : "whether the batch was committed is unknown");
            return rc;
        }
        struct timespec t = {0, 250 * 1000000L};
        nanosleep(&t, NULL);
    }
    tl_errbuf_set(eb, "%s; the batch's transaction is still in progress", lost.msg);
    return TL_EIO;
}

static int tl__pg_commit(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    int rc = tl__pg_bulk_flush(st, eb);
    if (!rc) rc = tl__pg_dicts_flush(st, eb);
    if (!rc) rc = tl__pg_events_flush(st, eb);
    if (!rc) rc = tl__pg_blobs_flush(st, eb);
    if (!rc) {
        rc = tl__pg_run(st, eb, "committing the batch", "COMMIT", "");
        if (rc == TL_ELOST && pg->batch_xid) rc = commit_outcome(st, eb);
    }
    if (!rc) tx_leave(st);
    if (rc) {
        tl__pg_rollback(st);
        return rc;
    }
    tl__pg_events_end(st, 1);
    tl__pg_bulk_end(st);
    tl__pg_dicts_end(st, 1);
    tl__pg_blobs_end(st, 1);
    pg->in_batch = 0;
    return 0;
}

/* The event count first, then the dictionaries: a batch commits its ids
 * with its events, so every event counted names ids read after. */
static int tl__pg_refresh(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    tl__pg_lock(st);
    uint64_t n = pg->nevents, purges = pg->purges;
    uint32_t ids[TL_D__N];
    for (int k = 0; k < TL_D__N; k++) ids[k] = pg->dict[k] ? pg->dict_comm[k] : 0;
    int rc = tl__pg_events_refresh(st, eb);
    if (!rc) rc = tl__pg_dicts_refresh(st, eb);
    int changed = n != pg->nevents || purges != pg->purges;
    for (int k = 0; !rc && k < TL_D__N; k++) changed |= pg->dict[k] && ids[k] != pg->dict_comm[k];
    tl__pg_unlock(st);
    return rc ? rc : changed;
}

const tl_store_backend_t tl_store_pg = {
    .version = TL_STORE_BACKEND_VERSION,
    .name = "postgresql",
    .open = tl__pg_open,
    .close = tl__pg_close,
    .begin = tl__pg_begin,
    .commit = tl__pg_commit,
    .rollback = tl__pg_rollback,
    .dict = tl__pg_dict,
    .ids = tl__pg_ids,
    .add_event = tl__pg_add_event,
    .expect_events = tl__pg_expect_events,
    .prefetch_event = tl__pg_prefetch_event,
    .scan = tl__pg_scan,
    .event_count = tl__pg_event_count,
    .put_user = tl__pg_put_user,
    .put_item = tl__pg_put_item,
    .put_product = tl__pg_put_product,
    .put_credit = tl__pg_put_credit,
    .put_consent = tl__pg_put_consent,
    .scan_users = tl__pg_scan_users,
    .get_user = tl__pg_get_user,
    .scan_items = tl__pg_scan_items,
    .get_item = tl__pg_get_item,
    .scan_products = tl__pg_scan_products,
    .scan_credit = tl__pg_scan_credit,
    .scan_consents = tl__pg_scan_consents,
    .user_pii = tl__pg_user_pii,
    .quarantine = tl__pg_quarantine,
    .quarantine_scan = tl__pg_quarantine_scan,
    .quarantine_counts = tl__pg_quarantine_counts,
    .config_put = tl__pg_config_put,
    .config_get = tl__pg_config_get,
    .segment_put = tl__pg_segment_put,
    .segment_get = tl__pg_segment_get,
    .segment_delete = tl__pg_segment_delete,
    .segment_list = tl__pg_segment_list,
    .apikey_put = tl__pg_apikey_put,
    .apikey_delete = tl__pg_apikey_delete,
    .apikey_scan = tl__pg_apikey_scan,
    .audit_append = tl__pg_audit_append,
    .audit_last = tl__pg_audit_last,
    .audit_scan = tl__pg_audit_scan,
    .campaign_get = tl__pg_campaign_get,
    .campaign_scan = tl__pg_campaign_scan,
    .campaign_put = tl__pg_campaign_put,
    .campaign_set_status = tl__pg_campaign_set_status,
    .campaign_run_add = tl__pg_campaign_run_add,
    .campaign_runs = tl__pg_campaign_runs,
    .delivery_hold = tl__pg_delivery_hold,
    .delivery_fail = tl__pg_delivery_fail,
    .delivery_done = tl__pg_delivery_done,
    .deliveries_held = tl__pg_deliveries_held,
    .blob_put = tl__pg_blob_put,
    .blob_get = tl__pg_blob_get,
    .blob_list = tl__pg_blob_list,
    .blob_remove = tl__pg_blob_remove,
    .dnc_put = tl__pg_dnc_put,
    .dnc_scan = tl__pg_dnc_scan,
    .dnc_of_user = tl__pg_dnc_of_user,
    .feedback_add = tl__pg_feedback_add,
    .feedback_scan = tl__pg_feedback_scan,
    .feedback_of_user = tl__pg_feedback_of_user,
    .feedback_negative = tl__pg_feedback_negative,
    .counts = tl__pg_counts,
    .link_add = tl__pg_link_add,
    .link_split = tl__pg_link_split,
    .link_scan = tl__pg_link_scan,
    .check = tl__pg_check,
    .blob_append = tl__pg_blob_append,
    .applog_open = tl__pg_applog_open,
    .applog_write = tl__pg_applog_write,
    .applog_read = tl__pg_applog_read,
    .applog_committed = tl__pg_applog_committed,
    .applog_list = tl__pg_applog_list,
    .secret_get = tl__pg_secret_get,
    .secret_add = tl__pg_secret_add,
    .anchor_get = tl__pg_anchor_get,
    .anchor_put = tl__pg_anchor_put,
    .erased = tl__pg_erased,
    .erased_any = tl__pg_erased_any,
    .purge = tl__pg_purge,
    .rotate_key = tl__pg_rotate_key,
    .refresh = tl__pg_refresh,
};
