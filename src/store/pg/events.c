/* events.c -- the PostgreSQL back end's events: rows of tl_events,
 * partitioned by month of their time, numbered by `seq` from 0 in commit
 * order (the batch holds the writers' lock, so the numbers a batch gives
 * follow the last commit's without a gap). A batch's events are checked
 * against the fingerprints committed (loaded once a handle first adds an
 * event, topped up at each begin) and sent by binary COPY in chunks, in
 * the batch's transaction; the unique index on (ts, fp) refuses a double
 * whatever happens. Scans read blocks of rows by seq, the columns asked
 * for only, up to the count this handle last read (at open, begin and
 * commit): rows a batch has sent but not committed are past it, and every
 * id a scanned row names is in the dictionaries as the handle reads them. */
#include "store/pg/pg_int.h"

#include <endian.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int oom(tl_store_t *st, tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "%s: out of memory", st->dir);
    return TL_ENOMEM;
}

uint64_t tl__pg_event_count(const tl_store_t *st) { return tl__pg(st)->nevents; }

void tl__pg_prefetch_event(const tl_store_t *st, uint64_t fp) { tl_hset_prefetch(&tl__pg(st)->fps, fp); }

/* The fingerprints of rows [from, to) added to the set. */
static int load_fps(tl_store_t *st, uint64_t from, uint64_t to, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (to > from && tl_hset_reserve(&pg->fps, (size_t)(to + pg->added))) return oom(st, eb);
    for (uint64_t a = from; a < to; a += 1u << 20) {
        PGresult *r = tl__pg_exec(st, eb, "reading the event fingerprints",
                                  "SELECT fp FROM tl_events WHERE seq >= $1 AND seq < $2", "ii",
                                  (int64_t)a, (int64_t)(a + (1u << 20) < to ? a + (1u << 20) : to));
        if (!r) return tl__pg_err(st);
        int n = PQntuples(r), rc = 0;
        for (int i = 0; i < n && !rc; i++)
            if (tl_hset_add(&pg->fps, (uint64_t)tl__pg_int(r, i, 0, 0)) < 0) rc = TL_ENOMEM;
        PQclear(r);
        if (rc) return oom(st, eb);
    }
    return 0;
}

/* The handle's view after a purge elsewhere: fingerprints read again at
 * the next add, the ids it forgot forgotten. */
static int purged_elsewhere(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    tl_hset_fini(&pg->fps);
    if (tl_hset_init(&pg->fps, 1024)) return oom(st, eb);
    pg->fps_loaded = 0;
    pg->fps_upto = 0;
    return tl__pg_dicts_forgotten(st, eb);
}

/* The committed count and the purges, in one statement. */
static int counts(tl_store_t *st, uint64_t *n, uint64_t *purges, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading the event count",
                              "SELECT (SELECT n FROM tl_counter WHERE name = 'events'),"
                              " coalesce((SELECT n FROM tl_counter WHERE name = 'purges'), 0),"
                              " EXISTS (SELECT 1 FROM tl_counter WHERE name LIKE 'pending:%')", "");
    if (!r) return tl__pg_err(st);
    *n = (uint64_t)tl__pg_int(r, 0, 0, 0);
    *purges = (uint64_t)tl__pg_int(r, 0, 1, 0);
    tl__pg(st)->orphans = PQgetvalue(r, 0, 2)[0] != 0;
    PQclear(r);
    return 0;
}

int tl__pg_events_refresh(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    uint64_t purges;
    int rc = counts(st, &pg->nevents, &purges, eb);
    if (!rc && purges != pg->purges && pg->opened) rc = purged_elsewhere(st, eb);
    if (rc) return rc;
    pg->purges = purges;
    if (!pg->fps_loaded || pg->fps_upto >= pg->nevents) return 0;
    rc = load_fps(st, pg->fps_upto, pg->nevents, eb);
    if (!rc) pg->fps_upto = pg->nevents;
    return rc;
}

void tl__pg_expect_events(tl_store_t *st, uint64_t n) {
    tl__pg_t *pg = tl__pg(st);
    (void)tl_hset_reserve(&pg->fps, (size_t)(pg->nevents + n));
}

/* ---- sending: partitions by month in two halves, two binary COPY streams ----------------
 *
 * A batch's events go by binary COPY on its own connection, in its
 * transaction. Once it has sent PG_SPLIT_AFTER rows, those whose
 * fingerprint is negative go by a second COPY on a helper connection, in
 * a transaction of its own, so that two server processes take the rows in
 * (one would leave the server's second core idle and bound an import).
 * A month's partition is made in two halves by the fingerprint's sign, so
 * the streams never write the same heap or index pages.
 *
 * The helper commits just before the batch, with a marker in tl_counter
 * ('pending:' and the batch's first number) that the batch's transaction
 * deletes. Its rows are numbered at or past the committed count, past
 * every reader's bound, until the batch commits; should the batch fail
 * after the helper committed, the next batch (under the writers' lock, so
 * no other helper is under way) deletes them and the marker. The unique
 * index holds across both: no row is ever in the table twice. */

/* Rows a batch sends on its own connection before it opens the second
 * stream: a small batch (an API request's) costs no second transaction. */
#define PG_SPLIT_AFTER 65536

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_of(int64_t y, int64_t m) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400, mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The month (year * 12 + month - 1) of a time in ms. */
static int64_t month_of(int64_t ts) {
    int64_t z = (ts >= 0 ? ts : ts - 86399999) / 86400000 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
    return y * 12 + m - 1;
}

static int64_t month_start(int64_t mo) {
    int64_t y = mo >= 0 ? mo / 12 : (mo - 11) / 12;
    return days_of(y, mo - y * 12 + 1) * 86400000;
}

/* The partition of a time's month made when missing (once a month a
 * batch, a few months kept in mind): two halves by the fingerprint's
 * sign, attached at once on the side connection, whose lock on tl_events
 * (SHARE UPDATE EXCLUSIVE) lets readers and the batch's own streams go
 * on, where a CREATE ... PARTITION OF in the batch would shut readers out
 * until it commits. A partition left by a batch that fails is empty and
 * harmless. The streams' COPYs are finished first: a COPY routes rows to
 * the partitions there were when it began. */
static int copy_finish(tl_store_t *st, PGconn *c, int *copying, tl_buf_t *b, tl_errbuf_t *eb);

static int partition_for(tl_store_t *st, int64_t ts, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    int64_t mo = month_of(ts);
    for (int j = 0; j < pg->nmonths; j++)
        if (pg->months[j] == mo) return 0;
    int rc = tl__pg_copy_end(st, eb);
    if (!rc) rc = copy_finish(st, pg->hconn, &pg->hcopying, &pg->hbuf, eb);
    if (rc) return rc;
    char name[64], sql[1024];
    int64_t y = mo >= 0 ? mo / 12 : (mo - 11) / 12;
    snprintf(name, sizeof name, "tl_events_%s%04lld_%02lld", y < 0 ? "bc" : "", (long long)llabs(y),
             (long long)(mo - y * 12 + 1));
    snprintf(sql, sizeof sql,
             "DO $$BEGIN IF to_regclass('%s') IS NULL THEN"
             " CREATE TABLE %s (LIKE tl_events) PARTITION BY RANGE (fp);"
             " CREATE TABLE %s_n PARTITION OF %s FOR VALUES FROM (MINVALUE) TO (0);"
             " CREATE TABLE %s_p PARTITION OF %s FOR VALUES FROM (0) TO (MAXVALUE);"
             " ALTER TABLE tl_events ATTACH PARTITION %s FOR VALUES FROM (%lld) TO (%lld);"
             " END IF; END$$", name, name, name, name, name, name, name,
             (long long)month_start(mo), (long long)month_start(mo + 1));
    if ((rc = tl__pg_side_run(st, eb, "making a partition of the events", sql))) return rc;
    if (pg->nmonths == (int)(sizeof pg->months / sizeof *pg->months)) pg->nmonths = 0;
    pg->months[pg->nmonths++] = mo;
    return 0;
}

/* Big-endian numbers written at a cursor into room reserved for them; each
 * returns the cursor past what it wrote. */
static unsigned char *put16(unsigned char *p, uint16_t v) {
    v = htobe16(v);
    memcpy(p, &v, 2);
    return p + 2;
}
static unsigned char *put32(unsigned char *p, uint32_t v) {
    v = htobe32(v);
    memcpy(p, &v, 4);
    return p + 4;
}
static unsigned char *put64(unsigned char *p, uint64_t v) {
    v = htobe64(v);
    memcpy(p, &v, 8);
    return p + 8;
}

/* A field: its length, then its bytes; an absent value (TL_NONE, NaN) is
 * a NULL (length -1), which takes no room in the row, and reads back as
 * absent (tl__pg_int's -1, tl__pg_real's NaN). */
#define PG_NULL UINT32_MAX
static unsigned char *f_i64(unsigned char *p, int64_t v) { return put64(put32(p, 8), (uint64_t)v); }
static unsigned char *f_i32(unsigned char *p, uint32_t v) { return put32(put32(p, 4), v); }
static unsigned char *f_id(unsigned char *p, uint32_t v) {
    return v == TL_NONE ? put32(p, PG_NULL) : f_i32(p, v);
}
static unsigned char *f_i16(unsigned char *p, uint16_t v) { return put16(put32(p, 2), v); }
static unsigned char *f_f64(unsigned char *p, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    return isnan(v) ? put32(p, PG_NULL) : put64(put32(p, 8), u);
}
static unsigned char *f_f32(unsigned char *p, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return isnan(v) ? put32(p, PG_NULL) : put32(put32(p, 4), u);
}

#define PG_COPY_COLS                                                                             \
    "seq, fp, ts, uid, item, type, channel, qty, amount, rating, lat, lon, query, city, session," \
    " campaign"

/* The most bytes a row takes: its field count, 16 lengths, 76 bytes of
 * values. */
#define PG_ROW_MAX (2 + 16 * 4 + 76)
/* Bytes of COPY data gathered before they are handed to libpq. */
#define PG_COPY_BUF (256u << 10)

/* A COPY of events begun on c, its header put in b. */
static int copy_start(tl_store_t *st, PGconn *c, int *copying, tl_buf_t *b, tl_errbuf_t *eb) {
    PGresult *r = PQexec(c, "COPY tl_events(" PG_COPY_COLS ") FROM STDIN (FORMAT binary)");
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = tl__pg_fail_on(st, c, eb, "sending events", r);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    *copying = 1;
    tl_buf_clear(b);
    /* the signature, no flags, no header extension */
    tl_buf_append(b, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    return 0;
}

/* b's bytes handed to libpq. */
static int copy_push(tl_store_t *st, PGconn *c, tl_buf_t *b, tl_errbuf_t *eb) {
    int rc = b->len && PQputCopyData(c, b->data, (int)b->len) != 1;
    tl_buf_clear(b);
    return rc ? tl__pg_fail_on(st, c, eb, "sending events", NULL) : 0;
}

/* The COPY under way on c (if any) ended: 0, or its error. */
static int copy_finish(tl_store_t *st, PGconn *c, int *copying, tl_buf_t *b, tl_errbuf_t *eb) {
    if (!*copying) return 0;
    *copying = 0;
    unsigned char trailer[2];
    put16(trailer, 0xFFFF);
    tl_buf_append(b, trailer, 2);
    int rc = copy_push(st, c, b, eb);
    if (PQputCopyEnd(c, rc ? "tailor stopped sending" : NULL) != 1 && !rc)
        rc = tl__pg_fail_on(st, c, eb, "sending events", NULL);
    PGresult *r;
    while ((r = PQgetResult(c))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc) rc = tl__pg_fail_on(st, c, eb, "sending events", r);
        PQclear(r);
    }
    return rc;
}

/* The COPY under way on c (if any) ended as failed. */
static void copy_cancel(PGconn *c, int *copying, tl_buf_t *b) {
    tl_buf_clear(b);
    if (!*copying) return;
    *copying = 0;
    if (PQputCopyEnd(c, "tailor gave the batch up") == 1) {
        PGresult *r;
        while ((r = PQgetResult(c))) PQclear(r);
    }
}

int tl__pg_copy_end(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    return copy_finish(st, pg->conn, &pg->copying, &pg->copybuf, eb);
}

void tl__pg_copy_abort(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    copy_cancel(pg->conn, &pg->copying, &pg->copybuf);
}

/* The second stream's transaction begun (its connection made when
 * missing); 0, or -1 when it cannot be: the batch then goes on with one. */
static int helper_begin(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    tl_errbuf_t eb = {{0}};
    if (pg->hconn && PQstatus(pg->hconn) != CONNECTION_OK) {
        PQfinish(pg->hconn);
        pg->hconn = NULL;
    }
    if (!pg->hconn && !(pg->hconn = tl__pg_connect_again(st, &eb))) return -1;
    char sql[96];
    snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock_shared(%lld)",
             (long long)TL_PG_STREAM_LOCK);
    PGresult *r = PQexec(pg->hconn, sql);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok) {
        r = PQexec(pg->hconn, "ROLLBACK");
        PQclear(r);
        return -1;
    }
    pg->h_in_tx = 1;
    return 0;
}

/* The second stream's transaction given up, if under way. */
static void helper_abort(tl__pg_t *pg) {
    if (!pg->h_in_tx) return;
    pg->h_in_tx = 0;
    copy_cancel(pg->hconn, &pg->hcopying, &pg->hbuf);
    PGresult *r = PQexec(pg->hconn, "ROLLBACK");
    PQclear(r);
}

/* The second stream ended and committed with the batch's marker (first:
 * the batch's first number). */
static int helper_commit(tl_store_t *st, uint64_t first, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    int rc = copy_finish(st, pg->hconn, &pg->hcopying, &pg->hbuf, eb);
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO tl_counter VALUES ('pending:%llu', %llu); COMMIT",
             (unsigned long long)first, (unsigned long long)first);
    PGresult *r = rc ? NULL : PQexec(pg->hconn, sql);
    if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = tl__pg_fail_on(st, pg->hconn, eb, "committing the batch's second stream", r);
    PQclear(r);
    if (rc) helper_abort(pg);
    pg->h_in_tx = 0;
    return rc;
}

/* One row sent: into the COPY under way on its stream (begun when there
 * is none). */
static int send_row(tl_store_t *st, const tl_event_t *e, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    int rc = partition_for(st, e->ts, eb);
    if (rc) return rc;
    int second = pg->sent >= PG_SPLIT_AFTER && (int64_t)e->fp < 0 && !pg->hoff;
    if (second && !pg->h_in_tx && helper_begin(st)) second = 0, pg->hoff = 1;
    PGconn *c = second ? pg->hconn : pg->conn;
    int *copying = second ? &pg->hcopying : &pg->copying;
    tl_buf_t *b = second ? &pg->hbuf : &pg->copybuf;
    if (!*copying && (rc = copy_start(st, c, copying, b, eb))) return rc;
    if (tl_buf_reserve(b, PG_ROW_MAX)) return oom(st, eb);
    unsigned char *p = (unsigned char *)b->data + b->len;
    p = put16(p, 16);
    p = f_i64(p, (int64_t)(pg->nevents + pg->sent)), p = f_i64(p, (int64_t)e->fp);
    p = f_i64(p, e->ts), p = f_i32(p, e->user), p = f_id(p, e->item), p = f_i16(p, e->type);
    p = e->channel == TL_NO_CHANNEL ? put32(p, PG_NULL) : f_i16(p, e->channel);
    p = f_i32(p, (uint32_t)e->qty), p = f_f64(p, e->amount), p = f_f32(p, e->rating);
    p = f_f32(p, e->lat), p = f_f32(p, e->lon), p = f_id(p, e->query), p = f_id(p, e->city);
    p = f_id(p, e->session), p = f_id(p, e->campaign);
    b->len = (size_t)(p - (unsigned char *)b->data);
    pg->sent++;
    return b->len < PG_COPY_BUF ? 0 : copy_push(st, c, b, eb);
}

int tl__pg_add_event(tl_store_t *st, const tl_event_t *ev, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (!pg->fps_loaded) {
        /* the whole set once: under the lock, so exact */
        int rc = load_fps(st, 0, pg->nevents, eb);
        if (rc) return rc;
        pg->fps_loaded = 1;
        pg->fps_upto = pg->nevents;
    }
    if (pg->added == pg->bfp_cap) {
        size_t nc = pg->bfp_cap ? pg->bfp_cap * 2 : 1024;
        uint64_t *n = realloc(pg->bfp, nc * sizeof *n);
        if (!n) return oom(st, eb);
        pg->bfp = n;
        pg->bfp_cap = nc;
    }
    int rc = tl_hset_add(&pg->fps, ev->fp);
    if (rc < 0) return oom(st, eb);
    if (!rc) return 0;
    pg->bfp[pg->added++] = ev->fp;
    rc = send_row(st, ev, eb);
    return rc ? rc : 1;
}

int tl__pg_events_flush(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    int helper = pg->h_in_tx;
    int rc = tl__pg_copy_end(st, eb);
    if (!rc && helper) rc = helper_commit(st, pg->nevents, eb);
    if (rc || !pg->sent) return rc;
    char sql[200];
    int n = snprintf(sql, sizeof sql, "UPDATE tl_counter SET n = %llu WHERE name = 'events';",
                     (unsigned long long)(pg->nevents + pg->sent));
    if (helper)
        snprintf(sql + n, sizeof sql - (size_t)n, "DELETE FROM tl_counter WHERE name = 'pending:%llu'",
                 (unsigned long long)pg->nevents);
    return tl__pg_run(st, eb, "counting the events", sql, "");
}

int tl__pg_events_clean(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    /* a killed writer's second stream may still be taking in what its
     * connection had buffered, and commit it after the lock passed on;
     * the stream lock, taken and let go at once (it is a session's: an
     * error between the two drops the connection, and with it the lock),
     * waits for it to end, with its marker if it committed */
    int rc = tl__pg_run(st, eb, "waiting for a second stream", "SELECT pg_advisory_lock($1)", "i",
                        (int64_t)TL_PG_STREAM_LOCK);
    if (!rc) rc = tl__pg_run(st, eb, "waiting for a second stream", "SELECT pg_advisory_unlock($1)",
                             "i", (int64_t)TL_PG_STREAM_LOCK);
    if (!rc) rc = counts(st, &pg->nevents, &(uint64_t){0}, eb);
    if (rc || !pg->orphans) return rc;
    /* committed at once on the side connection (no other writer can run:
     * this batch holds the writers' lock): deleted in the batch, the rows
     * would hold back a second stream sending the same events again until
     * the batch commits, which waits for that stream */
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM tl_events WHERE seq >= %llu;"
             " DELETE FROM tl_counter WHERE name LIKE 'pending:%%'", (unsigned long long)pg->nevents);
    rc = tl__pg_side_run(st, eb, "deleting the rows of a batch that failed", sql);
    if (!rc) pg->orphans = 0;
    return rc;
}

/* The block ranges of the seq index (BRIN: the rows of a partition lie in
 * seq order, so a range's bounds are tight and the index costs next to
 * nothing to keep) summarized over the pages commits added. A range not
 * summarized yet is read by every scan, so this follows each commit that
 * added rows, but on a connection of its own, while the next batch is
 * sent: it reads every page again, which waited for would cost an import
 * a quarter of its time. One at a time: a commit that finds one under way
 * leaves its pages to the next (which covers every range not summarized
 * yet), and close awaits the last. Best effort: a failure, or a lost
 * connection, leaves them to the next. Never waited for inside a
 * transaction, which may hold a lock it needs. */
#define PG_SUMMARIZE                                                                       \
    "SELECT brin_summarize_new_values(i.indexrelid) FROM pg_partition_tree('tl_events') t" \
    " JOIN pg_index i ON i.indrelid = t.relid JOIN pg_class c ON c.oid = i.indexrelid"     \
    " JOIN pg_am a ON a.oid = c.relam WHERE t.isleaf AND a.amname = 'brin'"

/* 1 when no summary is under way (the last one's results read, waiting
 * for them if `wait`), 0 when one still is. */
static int summary_over(tl__pg_t *pg, int wait) {
    if (!pg->summarizing) return 1;
    if (!wait && PQconsumeInput(pg->sconn) && PQisBusy(pg->sconn)) return 0;
    PGresult *r;
    while ((r = PQgetResult(pg->sconn))) PQclear(r);
    pg->summarizing = 0;
    if (PQstatus(pg->sconn) != CONNECTION_OK) {
        PQfinish(pg->sconn);
        pg->sconn = NULL;
    }
    return 1;
}

static void summarize(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    pg->unsummarized = 1;
    if (!summary_over(pg, 0)) return;
    tl_errbuf_t eb = {{0}};
    if (!pg->sconn && !(pg->sconn = tl__pg_connect_again(st, &eb))) return;
    if (PQsendQuery(pg->sconn, PG_SUMMARIZE)) pg->summarizing = 1, pg->unsummarized = 0;
}

void tl__pg_events_close(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    summary_over(pg, 1);
    if (pg->unsummarized && pg->sconn) {
        summarize(st);
        summary_over(pg, 1);
    }
    if (pg->sconn) PQfinish(pg->sconn);
    pg->sconn = NULL;
    helper_abort(pg);
    if (pg->hconn) PQfinish(pg->hconn);
    pg->hconn = NULL;
}

void tl__pg_events_end(tl_store_t *st, int ok) {
    tl__pg_t *pg = tl__pg(st);
    tl__pg_copy_abort(st);
    helper_abort(pg);
    pg->hoff = 0;
    if (ok && pg->sent) summarize(st);
    if (ok) {
        pg->nevents += pg->sent;
        if (pg->fps_loaded) pg->fps_upto = pg->nevents;
    } else {
        for (uint64_t i = 0; i < pg->added; i++) tl_hset_del(&pg->fps, pg->bfp[i]);
    }
    pg->sent = 0;
    pg->added = 0;
    pg->nmonths = 0;
}

/* ---- scans ------------------------------------------------------------------------ */

/* The columns, with the dictionary each one's indexes are of (-1: none). */
static const struct {
    uint32_t bit;
    const char *col;
    int dict;
} cols[] = {
    {TL_EVC_FP, "fp", -1},           {TL_EVC_USER, "uid", TL_D_USER},
    {TL_EVC_ITEM, "item", TL_D_ITEM}, {TL_EVC_TS, "ts", -1},
    {TL_EVC_TYPE, "type", TL_D_TYPE}, {TL_EVC_CHANNEL, "channel", -1},
    {TL_EVC_AMOUNT, "amount", -1},   {TL_EVC_QTY, "qty", -1},
    {TL_EVC_RATING, "rating", -1},   {TL_EVC_QUERY, "query", TL_D_QUERY},
    {TL_EVC_CITY, "city", TL_D_CITY}, {TL_EVC_LAT, "lat", -1},
    {TL_EVC_LON, "lon", -1},         {TL_EVC_SESSION, "session", -1},
    {TL_EVC_CAMPAIGN, "campaign", TL_D_CAMPAIGN},
};
#define NCOLS (sizeof cols / sizeof *cols)
#define ID_COLS (TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TYPE | TL_EVC_QUERY | TL_EVC_CITY | TL_EVC_CAMPAIGN)

typedef struct {
    uint64_t fp[TL_PG_BLOCK];
    uint32_t user[TL_PG_BLOCK], item[TL_PG_BLOCK], query[TL_PG_BLOCK], city[TL_PG_BLOCK],
        session[TL_PG_BLOCK], campaign[TL_PG_BLOCK];
    int64_t ts[TL_PG_BLOCK];
    uint8_t type[TL_PG_BLOCK], channel[TL_PG_BLOCK];
    double amount[TL_PG_BLOCK];
    int32_t qty[TL_PG_BLOCK];
    float rating[TL_PG_BLOCK], lat[TL_PG_BLOCK], lon[TL_PG_BLOCK];
    uint32_t pos[TL_PG_BLOCK]; /* each row's place */
    uint8_t seen[TL_PG_BLOCK];
} block_t;

/* The block's array of a column and the size of its cells. */
static void *column(block_t *k, uint32_t bit, size_t *size) {
    switch (bit) {
    case TL_EVC_FP: *size = 8; return k->fp;
    case TL_EVC_USER: *size = 4; return k->user;
    case TL_EVC_ITEM: *size = 4; return k->item;
    case TL_EVC_TS: *size = 8; return k->ts;
    case TL_EVC_TYPE: *size = 1; return k->type;
    case TL_EVC_CHANNEL: *size = 1; return k->channel;
    case TL_EVC_AMOUNT: *size = 8; return k->amount;
    case TL_EVC_QTY: *size = 4; return k->qty;
    case TL_EVC_RATING: *size = 4; return k->rating;
    case TL_EVC_QUERY: *size = 4; return k->query;
    case TL_EVC_CITY: *size = 4; return k->city;
    case TL_EVC_LAT: *size = 4; return k->lat;
    case TL_EVC_LON: *size = 4; return k->lon;
    case TL_EVC_SESSION: *size = 4; return k->session;
    default: *size = 4; return k->campaign;
    }
}

/* Column c of the result into the block's array for its bit, row i at
 * pos[i] (its place in seq order). */
static void fill(block_t *k, uint32_t bit, const PGresult *r, int c, int n, const uint32_t *pos) {
    size_t size;
    void *a = column(k, bit, &size);
    for (int i = 0; i < n; i++) {
        uint32_t j = pos[i];
        if (bit == TL_EVC_AMOUNT) ((double *)a)[j] = tl__pg_real(r, i, c);
        else if (bit & (TL_EVC_RATING | TL_EVC_LAT | TL_EVC_LON)) ((float *)a)[j] = (float)tl__pg_real(r, i, c);
        else if (size == 8) ((int64_t *)a)[j] = tl__pg_int(r, i, c, 0);
        else if (size == 4) ((uint32_t *)a)[j] = (uint32_t)tl__pg_int(r, i, c, -1);
        else ((uint8_t *)a)[j] = (uint8_t)tl__pg_int(r, i, c, TL_NO_CHANNEL);
    }
}

/* The place of each row of a block [first, first + n) by its seq, each
 * taken once: the server sends them in any order (no sort: a block's
 * rows are put in place here), and every number must come exactly once. */
static int places(const PGresult *r, uint64_t first, int n, uint32_t *pos, uint8_t *seen) {
    memset(seen, 0, (size_t)n);
    for (int i = 0; i < n; i++) {
        uint64_t q = (uint64_t)tl__pg_int(r, i, 0, -1) - first;
        if (q >= (uint64_t)n || seen[q]) return -1;
        seen[q] = 1;
        pos[i] = (uint32_t)q;
    }
    return 0;
}

/* Keeps the rows whose every index is one the handle knows (after a purge
 * elsewhere numbered the events again, rows committed after the handle's
 * view may fall under its count): the block's n after. */
static int keep_known(tl_store_t *st, block_t *k, uint32_t have, int n) {
    int64_t bound[NCOLS];
    for (size_t c = 0; c < NCOLS; c++)
        bound[c] = cols[c].dict >= 0 ? tl__pg_known(st, (tl_dkind_t)cols[c].dict) : INT64_MAX;
    int m = 0;
    for (int i = 0; i < n; i++) {
        int ok = 1;
        for (size_t c = 0; ok && c < NCOLS; c++) {
            if (cols[c].dict < 0 || !(have & cols[c].bit)) continue;
            size_t size;
            const void *a = column(k, cols[c].bit, &size);
            int64_t v = size == 1 ? ((const uint8_t *)a)[i] : ((const uint32_t *)a)[i];
            ok = (size == 4 && (uint32_t)v == TL_NONE) || v < bound[c];
        }
        if (!ok) continue;
        for (size_t c = 0; c < NCOLS && m != i; c++) {
            if (!(have & cols[c].bit)) continue;
            size_t size;
            char *a = column(k, cols[c].bit, &size);
            memcpy(a + (size_t)m * size, a + (size_t)i * size, size);
        }
        m++;
    }
    return m;
}

/* Outside a batch a scan reads one snapshot (REPEATABLE READ), so a purge
 * in another process cannot number the rows again under it; the count it
 * reads there bounds it. */
static int scan_begin(tl_store_t *st, uint64_t *end, int *filter, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    *end = pg->nevents, *filter = 0;
    if (pg->in_tx) return 0;
    int rc = tl__pg_run(st, eb, "beginning a read", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "");
    if (rc) return rc;
    tl__pg_tx_enter(st);
    uint64_t n, purges;
    rc = counts(st, &n, &purges, eb);
    if (!rc && purges != pg->purges) {
        rc = purged_elsewhere(st, eb);
        pg->purges = purges;
        pg->nevents = *end = n;
        *filter = 1;
    } else if (!rc && n < *end) {
        *end = n; /* cannot be, short of a purge: read what is there */
    }
    return rc;
}

static void scan_end(tl_store_t *st, int began) {
    if (began) tl__pg_tx_rollback(st);
}

static int scan(tl_store_t *st, uint64_t from_seq, uint32_t want, tl_evblock_fn fn, void *arg,
                tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (from_seq >= pg->nevents && pg->in_tx) return 0;
    int began = !pg->in_tx, filter;
    uint64_t end;
    int rc = scan_begin(st, &end, &filter, eb);
    uint32_t have = filter ? want | ID_COLS : want;
    char sql[512];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT seq");
    for (size_t c = 0; c < NCOLS; c++)
        if (have & cols[c].bit) len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s", cols[c].col);
    snprintf(sql + len, sizeof sql - len, " FROM tl_events WHERE seq >= $1 AND seq < $2");
    block_t *k = rc ? NULL : malloc(sizeof *k);
    if (!rc && !k) rc = oom(st, eb);
    /* the first block begins at from_seq itself (what was added since a
     * count is read, not the whole block around it); the others on
     * multiples of the block size */
    for (uint64_t first = from_seq; !rc && first < end;
         first = (first / TL_PG_BLOCK + 1) * TL_PG_BLOCK) {
        uint64_t next = (first / TL_PG_BLOCK + 1) * TL_PG_BLOCK;
        uint64_t last = next < end ? next : end;
        PGresult *r = tl__pg_exec(st, eb, "reading events", sql, "ii", (int64_t)first,
                                  (int64_t)last);
        if (!r) {
            rc = tl__pg_err(st);
            break;
        }
        int n = PQntuples(r);
        if ((uint64_t)n != last - first || places(r, first, n, k->pos, k->seen)) {
            tl_errbuf_set(eb, "%s: events %llu to %llu: %d rows, not the %llu committed numbered once each", st->dir,
                          (unsigned long long)first, (unsigned long long)last, n,
                          (unsigned long long)(last - first));
            PQclear(r);
            rc = TL_ECORRUPT;
            break;
        }
        int c = 1;
        for (size_t i = 0; i < NCOLS; i++)
            if (have & cols[i].bit) fill(k, cols[i].bit, r, c++, n, k->pos);
        PQclear(r);
        if (filter) n = keep_known(st, k, have, n);
#define W(bit, col) ((want & (bit)) ? (col) : NULL)
        tl_evblock_t b = {(uint32_t)n, first, W(TL_EVC_FP, k->fp), W(TL_EVC_USER, k->user),
                          W(TL_EVC_ITEM, k->item), W(TL_EVC_TS, k->ts), W(TL_EVC_TYPE, k->type),
                          W(TL_EVC_CHANNEL, k->channel), W(TL_EVC_AMOUNT, k->amount),
                          W(TL_EVC_QTY, k->qty), W(TL_EVC_RATING, k->rating),
                          W(TL_EVC_LAT, k->lat), W(TL_EVC_LON, k->lon), W(TL_EVC_QUERY, k->query),
                          W(TL_EVC_CITY, k->city), W(TL_EVC_SESSION, k->session),
                          W(TL_EVC_CAMPAIGN, k->campaign)};
#undef W
        if (n) rc = fn(&b, arg);
    }
    free(k);
    scan_end(st, began);
    return rc;
}

int tl__pg_scan(tl_store_t *st, uint64_t from_seq, uint32_t want, tl_evblock_fn fn, void *arg,
                tl_errbuf_t *eb) {
    tl__pg_lock(st); /* whether a transaction is open is this thread's to ask */
    int rc = scan(st, from_seq, want, fn, arg, eb);
    tl__pg_unlock(st);
    return rc;
}

/* ---- the check ------------------------------------------------------------------------ */

int tl__pg_check(tl_store_t *st, tl_store_check_t *out, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    memset(out, 0, sizeof *out);
    int rc = tl__pg_events_refresh(st, eb);
    if (!rc) rc = tl__pg_scan(st, 0, TL_EVC_FP, tl__store_check_block, out, eb);
    if (rc) return rc;
    if (out->events != pg->nevents) {
        tl_errbuf_set(eb, "%s: %llu events read back where %llu were committed", st->dir,
                      (unsigned long long)out->events, (unsigned long long)pg->nevents);
        return TL_ECORRUPT;
    }
    out->checked |= TL_CHECK_EVENTS;
    /* in one snapshot: rows past the committed count (but those of a
     * second stream whose batch is under way or failed, which its marker
     * names), numbers given twice */
    PGresult *r = tl__pg_exec(st, eb, "checking the events",
                              "WITH c AS (SELECT n FROM tl_counter WHERE name = 'events'),"
                              " p AS (SELECT min(n) AS n FROM tl_counter WHERE name LIKE 'pending:%')"
                              " SELECT (SELECT n FROM c), count(*), count(DISTINCT seq),"
                              " coalesce(max(seq) + 1, 0) FROM tl_events"
                              " WHERE seq < coalesce((SELECT n FROM p), 9223372036854775807)", "");
    if (!r) return tl__pg_err(st);
    int64_t c = tl__pg_int(r, 0, 0, 0), n = tl__pg_int(r, 0, 1, 0), nd = tl__pg_int(r, 0, 2, 0),
            top = tl__pg_int(r, 0, 3, 0);
    PQclear(r);
    if (n != nd || n != c || top != c) {
        tl_errbuf_set(eb, "%s: the events table holds %lld rows (%lld numbers, up to %lld) where "
                      "%lld were committed", st->dir, (long long)n, (long long)nd, (long long)top,
                      (long long)c);
        return TL_ECORRUPT;
    }
    out->checked |= TL_CHECK_DATABASE;
    return 0;
}
