/* pg_int.h -- what the files of the PostgreSQL back end (tl_store_pg)
 * share: its state in a store handle, the statement helpers over libpq
 * (parameters given by a format, results read in binary), and the
 * operations the files beside pg.c implement (the table is in pg.c).
 *
 * The model: one connection per store handle. Outside a batch every
 * statement is a transaction of its own, committed (synchronous_commit
 * on) before it returns. A batch is one transaction that holds the
 * writers' advisory lock from begin to its end, so batches of all the
 * processes sharing a store follow one another: dictionary indexes and
 * event sequence numbers are given densely in commit order, and the
 * de-duplication set read at begin is exact. Events go by one binary COPY
 * a batch as they are added, numbered past the committed count, which
 * bounds every scan, so scans inside the batch see the committed ones, as
 * the contract says; blobs and side logs written in a batch are kept in
 * the handle and sent at commit; entity writes go to the transaction (or,
 * for ids the batch interned, by COPY before any other statement), and
 * reads in the batch see them. */
#ifndef TL_STORE_PG_INT_H
#define TL_STORE_PG_INT_H

#include "store/store_int.h"

#include <libpq-fe.h>
#include <pthread.h>

/* The advisory lock key every writer of a store takes (pg_advisory_xact_lock). */
#define TL_PG_WRITER_LOCK 0x7461696c6f72LL /* "tailor" */
/* The lock a batch's second COPY stream holds shared for its transaction
 * (events.c), which the next batch waits for at its begin. */
#define TL_PG_STREAM_LOCK 0x7461696c6f73LL
/* Rows per block of an event scan. */
#define TL_PG_BLOCK 65536

/* The records a batch creates, kept to be sent together (bulk.c). */
typedef struct tl__pg_bulk tl__pg_bulk_t;
/* A blob or side-log write waiting for the batch's commit (blobs.c). */
typedef struct tl__pg_pending tl__pg_pending_t;

typedef struct {
    PGconn *conn;
    /* the connection is one thread's at a time: a statement holds mu, a
     * transaction (a batch's, a scan's snapshot) from its begin to its end
     * (recursive: a scan's callback may read) */
    pthread_mutex_t mu;
    /* the key of a data directory that names the store (its key file), and
     * the directory */
    unsigned char dirkey[32];
    int have_dirkey;
    char *keydir;
    int in_batch, in_tx; /* in_tx: a transaction open (a batch's or another) */
    int64_t batch_xid;   /* the open batch's transaction id, to learn its outcome */
    int last_rc;         /* the TL_E* code of the last failed statement */
    /* dictionaries: loaded on first use; dict_comm the committed count */
    tl_dict_t *dict[TL_D__N];
    uint32_t dict_comm[TL_D__N];
    tl_buf_t ids_arena[TL_D__N];
    uint64_t *ids_offs[TL_D__N];
    uint32_t ids_n[TL_D__N];
    int ids_loaded[TL_D__N];
    /* events: the committed count as last read; the batch's: a COPY under
     * way and its bytes not yet handed over, rows sent, added with their
     * fingerprints, the months whose partitions it made sure of */
    uint64_t nevents, purges; /* purges: erasures and cuts as last read */
    int opened;               /* open has read the counts once */
    int copying;              /* a COPY of the batch's events under way */
    tl__pg_bulk_t *bulk;      /* records the batch creates (bulk.c) */
    int bulk_sending;
    tl_buf_t copybuf;
    /* the batch's second COPY stream (events.c): its connection and
     * transaction, a COPY under way there, its bytes not yet handed over,
     * whether it is off for this batch (it could not begin) */
    PGconn *hconn;
    int h_in_tx, hcopying, hoff;
    tl_buf_t hbuf;
    int orphans; /* rows a failed batch's helper left past the count */
    uint64_t sent, added;
    uint64_t *bfp;
    size_t bfp_cap;
    int64_t months[32];
    int nmonths;
    /* fingerprints of the committed events [0, fps_upto) and the batch's */
    tl_hset_t fps;
    int fps_loaded;
    uint64_t fps_upto;
    /* blobs and side-log bytes for the commit (blobs.c) */
    tl__pg_pending_t *pending;
    struct tl__pg_applog *applogs;
    /* statements committed at once also inside a batch (appends, new event
     * partitions), on a connection of their own */
    PGconn *aconn;
    /* the event index's summary of the pages commits added, brought up to
     * date on a connection of its own while the next batch goes on: one
     * under way; pages a commit added that none has covered yet */
    PGconn *sconn;
    int summarizing, unsummarized;
    /* the tombstones (hashes of their pseudonyms) as read in the current
     * batch, which no purge changes while it holds the lock (privacy.c) */
    tl_hset_t erased;
    int erased_loaded;
    tl_buf_t tmp, tmp2;
} tl__pg_t;

tl__pg_t *tl__pg(const tl_store_t *st);

/* ---- statements (pg.c) -----------------------------------------------------------
 *
 * tl__pg_exec runs sql with parameters $1.. given by fmt, one letter each:
 *   s  const char *          text (NULL: SQL NULL)
 *   i  int64_t               a bigint
 *   n  int64_t, int          a bigint, NULL when the int is 0
 *   u  uint32_t              an integer index (TL_NONE: NULL)
 *   d  double                a float8 (NaN: NULL)
 *   b  const void *, size_t  bytes (a bytea; NULL pointer: SQL NULL)
 * and returns the result (rows in binary) or NULL with eb set, naming
 * `what`. The caller PQclear()s it. Parameters are sent as text except
 * bytes. */
PGresult *tl__pg_exec(tl_store_t *st, tl_errbuf_t *eb, const char *what, const char *sql,
                      const char *fmt, ...);
/* The same for a statement whose rows are not wanted: 0, or the error's
 * TL_E* code (as tl__pg_fail gives it). */
int tl__pg_run(tl_store_t *st, tl_errbuf_t *eb, const char *what, const char *sql,
               const char *fmt, ...);
/* The affected-row count of a result (INSERT ... ON CONFLICT DO NOTHING: 1
 * added, 0 not). */
int64_t tl__pg_affected(PGresult *r);
/* Fills eb from the connection's last error; returns the TL_E* code
 * (TL_ELOST for a lost connection or a server shutting down, TL_ELOCKED
 * for a lock timeout or a deadlock, TL_EEXIST for a unique violation,
 * TL_EIO else), also kept for tl__pg_err. */
int tl__pg_fail(tl_store_t *st, tl_errbuf_t *eb, const char *what, const PGresult *r);
/* The TL_E* code of the handle's last failed statement (a NULL result of
 * tl__pg_exec). */
int tl__pg_err(const tl_store_t *st);
/* The same for an error on another connection of the handle. */
int tl__pg_fail_on(tl_store_t *st, PGconn *conn, tl_errbuf_t *eb, const char *what,
                   const PGresult *r);
/* Another connection to the store with the handle's parameters and
 * session settings, or NULL with eb set. */
PGconn *tl__pg_connect_again(tl_store_t *st, tl_errbuf_t *eb);
/* sql (no parameters) run and committed at once on the side connection
 * (aconn, made when missing), also inside a batch: 0 or a TL_E* code.
 * It must be harmless run twice: a connection found lost runs it again on
 * a new one. */
int tl__pg_side_run(tl_store_t *st, tl_errbuf_t *eb, const char *what, const char *sql);

/* Cells of a binary result, by the column's type (int2, int4, int8,
 * float4, float8, text, bytea): NULL cells give `absent`, NaN, NULL. */
int tl__pg_null(const PGresult *r, int row, int col);
int64_t tl__pg_int(const PGresult *r, int row, int col, int64_t absent);
double tl__pg_real(const PGresult *r, int row, int col);
/* text (NUL-ended by libpq) or NULL */
const char *tl__pg_text(const PGresult *r, int row, int col);
/* bytes, *n their length; NULL for a NULL cell */
const void *tl__pg_bytes(const PGresult *r, int row, int col, size_t *n);

/* The handle's connection held by this thread (recursive), and let go. */
void tl__pg_lock(tl_store_t *st);
void tl__pg_unlock(tl_store_t *st);
/* A transaction begun on the connection (BEGIN sent): in_tx set and the
 * connection held until commit or rollback. */
void tl__pg_tx_enter(tl_store_t *st);
/* A transaction outside batches (purge, key rotation, counts that must
 * agree): begin, then commit or rollback. */
int tl__pg_tx_begin(tl_store_t *st, tl_errbuf_t *eb);
int tl__pg_tx_commit(tl_store_t *st, tl_errbuf_t *eb);
void tl__pg_tx_rollback(tl_store_t *st);

/* ---- schema (schema.c) ----------------------------------------------------------- */

/* Brings the database's tables up to this build's schema version, under
 * the writers' lock (a writable open); TL_EINVAL when the database was
 * made by a newer tailor. */
int tl__pg_migrate(tl_store_t *st, tl_errbuf_t *eb);
/* The version the database's schema is at (0: no tailor tables). */
int tl__pg_schema_read(tl_store_t *st, int *v, tl_errbuf_t *eb);
/* The schema version this build writes. */
int tl__pg_schema_version(void);

/* ---- events (events.c) ----------------------------------------------------------- */

int tl__pg_add_event(tl_store_t *st, const tl_event_t *ev, tl_errbuf_t *eb);
void tl__pg_prefetch_event(const tl_store_t *st, uint64_t fp);
void tl__pg_expect_events(tl_store_t *st, uint64_t n);
int tl__pg_scan(tl_store_t *st, uint64_t from_seq, uint32_t want, tl_evblock_fn fn, void *arg,
                tl_errbuf_t *eb);
uint64_t tl__pg_event_count(const tl_store_t *st);
/* Reads the committed count and, when the set is loaded, the fingerprints
 * committed since (begin, under the lock). After a purge in another
 * process (the events numbered again, ids forgotten) the set is read
 * whole again and the forgotten ids forgotten here too. */
int tl__pg_events_refresh(tl_store_t *st, tl_errbuf_t *eb);
/* At begin, under the lock: a second stream of a batch that failed
 * awaited (it may still be committing what it was sent), then the rows
 * such a stream committed (past the count) deleted, in the batch. */
int tl__pg_events_clean(tl_store_t *st, tl_errbuf_t *eb);
/* Ends the batch's COPYs of events (the second stream's committed, with
 * its marker) and advances the count, in the batch's transaction (the
 * rows went by binary COPY as they were added, the partitions of their
 * months made first). */
int tl__pg_events_flush(tl_store_t *st, tl_errbuf_t *eb);
/* After commit (ok 1) or rollback (ok 0): the batch's events kept as
 * committed or forgotten. */
void tl__pg_events_end(tl_store_t *st, int ok);
/* At close: the summary under way awaited, the last pages covered. */
void tl__pg_events_close(tl_store_t *st);
/* Ends a COPY of events under way (every other statement on the
 * connection calls it first): 0, or the COPY's error. */
int tl__pg_copy_end(tl_store_t *st, tl_errbuf_t *eb);
/* Ends a COPY under way as failed (the batch is given up). */
void tl__pg_copy_abort(tl_store_t *st);
int tl__pg_check(tl_store_t *st, tl_store_check_t *out, tl_errbuf_t *eb);

/* ---- dictionaries (dicts.c) ------------------------------------------------------- */

tl_dict_t *tl__pg_dict(tl_store_t *st, tl_dkind_t kind, tl_errbuf_t *eb);
int tl__pg_ids(tl_store_t *st, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb);
/* Reads the entries other processes committed since (begin, under the
 * lock). */
int tl__pg_dicts_refresh(tl_store_t *st, tl_errbuf_t *eb);
/* Writes the batch's new entries (a run per kind), in its transaction. */
int tl__pg_dicts_flush(tl_store_t *st, tl_errbuf_t *eb);
void tl__pg_dicts_end(tl_store_t *st, int ok);
/* The user's id forgotten, in the table (in the caller's transaction) and,
 * with mem, in this handle's dictionary and ids. */
int tl__pg_dict_forget(tl_store_t *st, tl_dkind_t kind, uint32_t idx, tl_errbuf_t *eb);
void tl__pg_dict_forget_mem(tl_store_t *st, tl_dkind_t kind, uint32_t idx);
/* The upper bound of the indexes of kind this handle knows: the
 * dictionary's committed count (with the batch's own inside one), or the
 * ids read; INT64_MAX when it has read neither. Entity scans see rows
 * under it only, so no row names an index the caller has not read. */
int64_t tl__pg_known(const tl_store_t *st, tl_dkind_t kind);
/* The user ids another process's erasure forgot, forgotten in this
 * handle's dictionary and ids too. */
int tl__pg_dicts_forgotten(tl_store_t *st, tl_errbuf_t *eb);

/* ---- entities (entities.c) -------------------------------------------------------- */

int tl__pg_put_user(tl_store_t *st, uint32_t user, const tl_user_t *u, tl_errbuf_t *eb);
int tl__pg_put_item(tl_store_t *st, uint32_t item, const tl_item_t *it, tl_errbuf_t *eb);
int tl__pg_put_product(tl_store_t *st, uint32_t product, const tl_product_t *p, tl_errbuf_t *eb);
int tl__pg_put_credit(tl_store_t *st, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb);
int tl__pg_put_consent(tl_store_t *st, uint32_t user, const char *purpose, int granted,
                       int64_t at, tl_errbuf_t *eb);
int tl__pg_scan_users(tl_store_t *st, tl_user_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_get_user(tl_store_t *st, uint32_t user, tl_user_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_scan_items(tl_store_t *st, tl_item_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_get_item(tl_store_t *st, uint32_t item, tl_item_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_scan_products(tl_store_t *st, tl_product_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_scan_credit(tl_store_t *st, uint32_t user, tl_credit_fn fn, void *arg,
                       tl_errbuf_t *eb);
int tl__pg_scan_consents(tl_store_t *st, uint32_t user, tl_consent_fn fn, void *arg,
                         tl_errbuf_t *eb);
int tl__pg_user_pii(tl_store_t *st, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb);
int tl__pg_counts(tl_store_t *st, tl_store_counts_t *out, tl_errbuf_t *eb);

/* ---- records a batch creates (bulk.c) --------------------------------------------------
 *
 * tl__pg_bulk_new: whether idx of kind was interned by this batch (so no
 * record of it is stored). The bulk puts then keep the record: 1 created
 * or changed, 0 not, TL__PG_UPSERT when it went to the server already in
 * this batch (the caller upserts it as a stored one), or an error. */
#define TL__PG_UPSERT 2
int tl__pg_bulk_new(const tl_store_t *st, tl_dkind_t kind, uint32_t idx);
int tl__pg_bulk_user(tl_store_t *st, uint32_t user, const tl_user_t *u, tl_errbuf_t *eb);
int tl__pg_bulk_item(tl_store_t *st, uint32_t item, const tl_item_t *it, tl_errbuf_t *eb);
int tl__pg_bulk_product(tl_store_t *st, uint32_t product, const tl_product_t *p,
                        tl_errbuf_t *eb);
int tl__pg_bulk_credit(tl_store_t *st, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb);
int tl__pg_bulk_consent(tl_store_t *st, uint32_t user, const char *purpose, int granted,
                        int64_t at, tl_errbuf_t *eb);
/* Sends what is kept (by COPY): before every other statement, at commit. */
int tl__pg_bulk_flush(tl_store_t *st, tl_errbuf_t *eb);
/* The batch is over: what is kept and what was sent forgotten. */
void tl__pg_bulk_end(tl_store_t *st);
void tl__pg_bulk_free(tl_store_t *st);

/* ---- the quarantine, settings, segments, repositories (repos.c) --------------------- */

int tl__pg_quarantine(tl_store_t *st, const char *source, uint64_t line, const char *reason,
                      const char *message, const char *raw, size_t rawlen, const char *preview,
                      tl_errbuf_t *eb);
int tl__pg_quarantine_scan(tl_store_t *st, const char *reason, int with_raw, tl_qrow_fn fn,
                           void *arg, tl_errbuf_t *eb);
int tl__pg_quarantine_counts(tl_store_t *st, tl_reason_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_config_put(tl_store_t *st, const char *key, const char *value, tl_errbuf_t *eb);
int tl__pg_config_get(tl_store_t *st, const char *key, char **value, tl_errbuf_t *eb);
int tl__pg_segment_put(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb);
int tl__pg_segment_get(tl_store_t *st, const char *name, char **expr, tl_errbuf_t *eb);
int tl__pg_segment_delete(tl_store_t *st, const char *name, tl_errbuf_t *eb);
int tl__pg_segment_list(tl_store_t *st, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_apikey_put(tl_store_t *st, const tl_apikey_row_t *k, tl_errbuf_t *eb);
int tl__pg_apikey_delete(tl_store_t *st, const char *id, tl_errbuf_t *eb);
int tl__pg_apikey_scan(tl_store_t *st, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_audit_append(tl_store_t *st, const tl_audit_entry_t *e, tl_errbuf_t *eb);
int tl__pg_audit_last(tl_store_t *st, int64_t *id, char mac[65], tl_errbuf_t *eb);
int tl__pg_audit_scan(tl_store_t *st, const char *target, tl_audit_fn fn, void *arg,
                      tl_errbuf_t *eb);

/* ---- campaigns, deliveries, do-not-contact, feedback, links (campaigns.c) ---------- */

int tl__pg_campaign_get(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg,
                        tl_errbuf_t *eb);
int tl__pg_campaign_scan(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_campaign_put(tl_store_t *st, const char *id, const char *def, int64_t created,
                        tl_errbuf_t *eb);
int tl__pg_campaign_set_status(tl_store_t *st, const char *id, const char *status,
                               tl_errbuf_t *eb);
int tl__pg_campaign_run_add(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r,
                            uint64_t sends, double cost, tl_errbuf_t *eb);
int tl__pg_campaign_runs(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg,
                         tl_errbuf_t *eb);
int tl__pg_delivery_hold(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                         int64_t due, tl_errbuf_t *eb);
int tl__pg_delivery_fail(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                         long code, int64_t at, int64_t due, tl_errbuf_t *eb);
int tl__pg_delivery_done(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb);
int tl__pg_deliveries_held(tl_store_t *st, const char *channel, int64_t due_by, tl_offset_fn fn,
                           void *arg, tl_errbuf_t *eb);
int tl__pg_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason,
                   int64_t at, const char *campaign, tl_errbuf_t *eb);
int tl__pg_dnc_scan(tl_store_t *st, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_dnc_of_user(tl_store_t *st, uint32_t user, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_feedback_add(tl_store_t *st, const tl_feedback_row_t *f, tl_errbuf_t *eb);
int tl__pg_feedback_scan(tl_store_t *st, const char *campaign, tl_feedback_fn fn, void *arg,
                         tl_errbuf_t *eb);
int tl__pg_feedback_of_user(tl_store_t *st, uint32_t user, tl_feedback_fn fn, void *arg,
                            tl_errbuf_t *eb);
int tl__pg_feedback_negative(tl_store_t *st, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb);
int tl__pg_link_add(tl_store_t *st, uint32_t a, uint32_t b, int64_t at, const char *source,
                    uint64_t *id, tl_errbuf_t *eb);
int tl__pg_link_split(tl_store_t *st, uint64_t id, int64_t at, const char *reason,
                      tl_errbuf_t *eb);
int tl__pg_link_scan(tl_store_t *st, uint32_t user, tl_link_fn fn, void *arg, tl_errbuf_t *eb);

/* ---- blobs and side logs (blobs.c) ----------------------------------------------- */

int tl__pg_blob_put(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb);
int tl__pg_blob_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
int tl__pg_blob_list(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg,
                     tl_errbuf_t *eb);
int tl__pg_blob_remove(tl_store_t *st, const char *name, tl_errbuf_t *eb);
int tl__pg_blob_append(tl_store_t *st, const char *name, const void *p, size_t n,
                       tl_errbuf_t *eb);
int tl__pg_applog_open(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb);
int tl__pg_applog_write(tl_applog_t *l, const void *p, size_t n, tl_errbuf_t *eb);
int tl__pg_applog_read(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                       tl_errbuf_t *eb);
int tl__pg_applog_committed(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb);
int tl__pg_applog_list(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb);
/* In the batch's transaction before its COMMIT: the pending blob writes
 * and the open side logs' bytes sent. After it: kept (ok 1) or dropped. */
int tl__pg_blobs_flush(tl_store_t *st, tl_errbuf_t *eb);
void tl__pg_blobs_end(tl_store_t *st, int ok);
void tl__pg_blobs_close(tl_store_t *st);
/* For a purge, in the caller's transaction: the blob name replaced by
 * p[0..n) (under its lock), the side log name's committed bytes by p[0..n). */
int tl__pg_blob_write(tl_store_t *st, const char *name, const void *p, size_t n,
                      tl_errbuf_t *eb);
int tl__pg_applog_replace(tl_store_t *st, const char *name, const void *p, size_t n,
                          tl_errbuf_t *eb);

/* ---- keys, tombstones, erasure and retention (privacy.c) -------------------------- */

/* The data key: the configuration's, else the key file of the data
 * directory that names the store (pg->dirkey when have_dirkey): tailor
 * keeps the key, the database never sees it. Checked against the store's
 * key check, which a first writable open makes. */
int tl__pg_use_key(tl_store_t *st, tl_errbuf_t *eb);
/* 0 when the store's key still opens the key check (each batch asks, under
 * the lock: a process started before a key rotation must not seal with
 * the old key); TL_ECRYPTO when not. */
int tl__pg_key_current(tl_store_t *st, tl_errbuf_t *eb);
int tl__pg_secret_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
int tl__pg_secret_add(tl_store_t *st, const char *name, const void *p, size_t n,
                      tl_errbuf_t *eb);
int tl__pg_anchor_get(tl_store_t *st, tl_buf_t *out, tl_errbuf_t *eb);
int tl__pg_anchor_put(tl_store_t *st, const char *text, tl_errbuf_t *eb);
/* The audit log's anchor made when there is none (a writable open), over
 * the log as it is then. */
int tl__pg_anchor_make(tl_store_t *st, tl_errbuf_t *eb);
int tl__pg_erased(tl_store_t *st, const char *pseudonym, uint32_t *idx, tl_errbuf_t *eb);
int tl__pg_erased_any(tl_store_t *st, tl_errbuf_t *eb);
int tl__pg_purge(tl_store_t *st, const tl_purge_t *p, const char *pseudonym, const char *id,
                 size_t n, tl_purge_stats_t *out, tl_errbuf_t *eb);
int tl__pg_rotate_key(tl_store_t *st, tl_rekey_t *rk, tl_rekey_stats_t *out, tl_errbuf_t *eb);
/* After a batch and at close (tl__pg_blobs_end and _close call it): the
 * tombstones read in the batch forgotten. */
void tl__pg_erased_end(tl_store_t *st);

#endif
