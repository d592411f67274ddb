/* reads.c -- the local back end's reads over SQL: the quarantine's rows,
 * counts for `tailor stats`, the whole-store check, and the
 * SQL helpers the store's own files share (tl__local_query and the rest,
 * declared in store_int.h). */
#include "store/local/local_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tl__local_quarantine_scan(tl_store_t *s, const char *reason, int with_raw, tl_qrow_fn fn,
                              void *arg, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    sqlite3_stmt *q;
    const char *sql = reason ? "SELECT q.id, q.at, s.path, q.reason, q.message, q.line, q.raw, "
                               "q.preview FROM quarantine q JOIN sources s ON s.id = q.source "
                               "WHERE q.reason = ?1 ORDER BY q.id"
                             : "SELECT q.id, q.at, s.path, q.reason, q.message, q.line, q.raw, "
                               "q.preview FROM quarantine q JOIN sources s ON s.id = q.source "
                               "ORDER BY q.id";
    if (sqlite3_prepare_v2(lo->db, sql, -1, &q, NULL) != SQLITE_OK)
        return tl__local_sql_fail(s, eb, "reading the quarantine");
    if (reason) sqlite3_bind_text(q, 1, reason, -1, SQLITE_STATIC);
    int rc = 0, step;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        tl_buf_clear(&lo->tmp);
        if (with_raw && (!s->have_key ||
                         tl__unseal(s->seal.key, sqlite3_column_blob(q, 6),
                                    (size_t)sqlite3_column_bytes(q, 6), &lo->tmp) != 0)) {
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
                       .raw = with_raw ? (lo->tmp.data ? lo->tmp.data : "") : NULL,
                       .rawlen = with_raw ? lo->tmp.len : 0, .preview = pv ? pv : ""};
        rc = fn(&r, arg);
    }
    if (!rc && step != SQLITE_DONE) rc = tl__local_sql_fail(s, eb, "reading the quarantine");
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
    if (!rc && step != SQLITE_DONE) rc = tl__local_sql_fail(s, eb, "running a query");
    sqlite3_finalize(q);
    return rc;
}

int tl__local_query(tl_store_t *s, const char *sql, tl_row_fn fn, void *arg, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, sql, -1, &q, NULL) != SQLITE_OK)
        return tl__local_sql_fail(s, eb, "preparing a query");
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

int tl__local_exec(tl_store_t *s, tl_errbuf_t *eb, const char *sql, const char *types, ...) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, sql, -1, &q, NULL) != SQLITE_OK)
        return tl__local_sql_fail(s, eb, "preparing a write");
    va_list ap;
    va_start(ap, types);
    int rc = bind_args(q, types, ap);
    va_end(ap);
    rc = rc == SQLITE_OK && sqlite3_step(q) == SQLITE_DONE ? 0 : tl__local_sql_fail(s, eb, "writing");
    sqlite3_finalize(q);
    return rc;
}

int tl__local_changes(tl_store_t *s) { return sqlite3_changes(tl__lo(s)->db); }

int tl__local_queryf(tl_store_t *s, tl_errbuf_t *eb, tl_row_fn fn, void *arg, const char *sql,
                     const char *types, ...) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, sql, -1, &q, NULL) != SQLITE_OK)
        return tl__local_missing_table(s) ? 0 : tl__local_sql_fail(s, eb, "preparing a query");
    va_list ap;
    va_start(ap, types);
    int rc = bind_args(q, types, ap) == SQLITE_OK ? 0 : tl__local_sql_fail(s, eb, "binding a query");
    va_end(ap);
    return each_row(s, q, rc, fn, arg, eb);
}

int tl__local_consents_scan(tl_store_t *s, const char *const *purposes, int np, int64_t at,
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
    if (sqlite3_prepare_v2(tl__lo(s)->db, sql, -1, &q, NULL) != SQLITE_OK)
        return tl__local_missing_table(s) ? 0 : tl__local_sql_fail(s, eb, "reading consents");
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
    int rc = step == SQLITE_DONE ? 0 : tl__local_sql_fail(s, eb, "reading consents");
    sqlite3_finalize(q);
    return rc;
}

static int count_rows(tl_store_t *s, const char *sql, uint64_t *out, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, sql, -1, &q, NULL) != SQLITE_OK)
        return tl__local_sql_fail(s, eb, "counting");
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *out = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : tl__local_sql_fail(s, eb, "counting");
}

int tl__local_counts(tl_store_t *s, tl_store_counts_t *o, tl_errbuf_t *eb) {
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
    o->events = tl__lo(s)->log.nevents;
    return 0;
}

int tl__local_check(tl_store_t *s, tl_store_check_t *out, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    int rc = tl__evlog_scan(&lo->log, 0, INT64_MIN, TL_EVC_ALL, tl__store_check_block, out, 1, eb);
    if (rc) return rc;
    out->checked |= TL_CHECK_CHECKSUMS;
    if (out->events != lo->log.nevents) {
        tl_errbuf_set(eb, "%s/events.log: %llu events in the log but %llu recorded as committed",
                      s->dir, (unsigned long long)out->events, (unsigned long long)lo->log.nevents);
        return TL_ECORRUPT;
    }
    out->checked |= TL_CHECK_EVENTS;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(lo->db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK)
        return tl__local_sql_fail(s, eb, "integrity check");
    rc = sqlite3_step(q);
    const char *res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
    int good = res && strcmp(res, "ok") == 0;
    if (!good) tl_errbuf_set(eb, "%s/tailor.db: integrity check failed: %s", s->dir, res ? res : "?");
    else out->checked |= TL_CHECK_DATABASE;
    sqlite3_finalize(q);
    return good ? 0 : TL_ECORRUPT;
}

/* ---- shared by the store's files ---------------------------------------- */

int tl__local_missing_table(tl_store_t *s) {
    return strncmp(sqlite3_errmsg(tl__lo(s)->db), "no such table", 13) == 0;
}

int tl__local_prepare(tl_store_t *s, const char *sql, sqlite3_stmt **q, const char *what,
                      tl_errbuf_t *eb) {
    if (sqlite3_prepare_v2(tl__lo(s)->db, sql, -1, q, NULL) == SQLITE_OK) return 0;
    *q = NULL;
    return tl__local_missing_table(s) ? 1 : tl__local_sql_fail(s, eb, what);
}

int tl__local_each(tl_store_t *s, sqlite3_stmt *q, tl__row_fn row, void *arg, const char *what,
                   tl_errbuf_t *eb) {
    int rc = 0, step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) rc = row(q, arg);
    if (!rc && step != SQLITE_DONE) rc = tl__local_sql_fail(s, eb, what);
    sqlite3_finalize(q);
    return rc;
}

/* Runs one write with text ?1, and when b is given text ?2 and integer ?3. */
