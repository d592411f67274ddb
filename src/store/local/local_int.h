/* local_int.h -- what the files of the local back end share (the data
 * directory: SQLite beside the columnar event log): its state in a store
 * handle, the SQL helpers, the event log (evlog.c), the side logs
 * (applog.c), the blobs (blob.c), the key file (seal.c) and the operations
 * the table of sqlite.c names, file by file. Nothing outside src/store/local/
 * includes it but the fault tests, which hash a store's content through
 * its SQL. */
#ifndef TL_STORE_LOCAL_INT_H
#define TL_STORE_LOCAL_INT_H

#include "store/store_int.h"

#include <sqlite3.h>

/* ---- SQL (sqlite.c) ------------------------------------------------------- *
 * For the local back end's files only: nothing above the store speaks SQL. */

/* Runs a read-only SQL query and calls fn for each row with its columns as
 * text (NULL for SQL NULL).  */
typedef int (*tl_row_fn)(int ncol, const char *const *cols, void *arg);
int tl__local_query(tl_store_t *st, const char *sql, tl_row_fn fn, void *arg, tl_errbuf_t *eb);

/* The same with parameters bound by the letters of types (i int64_t,
 * d double, t text or NULL), and a write: INSERT/UPDATE/DELETE. */
int tl__local_queryf(tl_store_t *st, tl_errbuf_t *eb, tl_row_fn fn, void *arg, const char *sql,
                     const char *types, ...);
int tl__local_exec(tl_store_t *st, tl_errbuf_t *eb, const char *sql, const char *types, ...);
/* Rows the last write changed (0 when INSERT OR IGNORE met a duplicate). */
int tl__local_changes(tl_store_t *st);

/* ---- event log (evlog.c) ------------------------------------------------ */

#define TL_EVLOG_MAGIC "TLEVLOG"
#define TL_EVLOG_VERSION 1
#define TL_EVLOG_HDR 32
#define TL_EVB_MAGIC 0x42454c54u /* "TLEB" little-endian */
#define TL_EVB_VERSION 1
#define TL_EVB_HDR 48
#define TL_EVB_ROWS 65536 /* rows per block */
#define TL_EVB_NCOLS 15

/* Column encodings (docs/FORMATS.md). */
enum { TL_ENC_PLAIN, TL_ENC_CONST, TL_ENC_SPARSE, TL_ENC_DELTA32, TL_ENC_NARROW16 };

typedef struct {
    int fd;
    char *path;
    uint64_t committed; /* bytes covered by the last SQLite commit */
    uint64_t end;       /* bytes written, >= committed */
    uint64_t nevents;   /* committed events */
    uint64_t pending;   /* events written or buffered since the last commit */
    /* the block being filled */
    uint32_t n;
    uint64_t *fp;
    uint32_t *user, *item;
    int64_t *ts;
    uint8_t *type, *channel;
    double *amount;
    int32_t *qty;
    float *rating, *lat, *lon;
    uint32_t *query, *city, *session, *campaign;
    tl_buf_t out; /* encoded block */
    /* read side */
    void *map;
    size_t maplen;
    uint64_t hint_off, hint_seq; /* where the last full scan ended: block hint_seq starts there */
    uint64_t hint_blk;           /* ... and its number */
    /* the latest time of each of the first nmax committed blocks (blocks
     * never change once committed), learnt by the scans that decode the
     * times: a scan from a time skips the blocks that end before it */
    int64_t *blk_max;
    uint64_t nmax, capmax;
} tl_evlog_t;

/* now: the time a new log's header records. */
int tl__evlog_open(tl_evlog_t *lg, const char *path, uint64_t committed, uint64_t nevents,
                   int readonly, int64_t now, tl_errbuf_t *eb);
void tl__evlog_close(tl_evlog_t *lg);
/* Buffers one event; writes a block when the buffer is full. */
int tl__evlog_append(tl_evlog_t *lg, const tl_event_t *ev, tl_errbuf_t *eb);
/* Writes the partial block and fsyncs; after it, lg->end is durable. */
int tl__evlog_flush(tl_evlog_t *lg, tl_errbuf_t *eb);
/* Marks everything written as committed (called after the SQLite commit). */
void tl__evlog_mark_committed(tl_evlog_t *lg);
/* Throws away what was written or buffered since the last commit. */
int tl__evlog_rollback(tl_evlog_t *lg);
/* Calls fn per block with the columns in the mask `want` (TL_EVC_*); the
 * others are NULL. Blocks that end before row from_seq, and those known
 * to hold only times before min_ts (INT64_MIN: none), are skipped unread.
 * verify checks every block's checksum. */
int tl__evlog_scan(tl_evlog_t *lg, uint64_t from_seq, int64_t min_ts, uint32_t want,
                   tl_evblock_fn fn, void *arg, int verify, tl_errbuf_t *eb);

/* Writes to path (replaced) a log of the committed events of lg except
 * those drop() picks, verifying every block read; *len and *nevents get
 * the new log's committed length and count, *dropped what was left out. */
typedef int (*tl__evdrop_fn)(const tl_evblock_t *b, uint32_t row, void *arg);
int tl__evlog_copy(tl_evlog_t *lg, const char *path, tl__evdrop_fn drop, void *arg, int64_t now,
                   uint64_t *len, uint64_t *nevents, uint64_t *dropped, tl_errbuf_t *eb);

/* ---- side logs (applog.c) ---------------------------------------------- */

/* Called by tl_store_commit before the SQLite commit (write, fsync, record
 * the new lengths in meta), after it, and by rollback and close. */
int tl__applogs_flush(tl_store_t *st, tl_errbuf_t *eb);
void tl__applogs_mark_committed(tl_store_t *st);
void tl__applogs_rollback(tl_store_t *st);
void tl__applogs_close(tl_store_t *st);
/* The meta key that holds the committed length of the side log name, and
 * its file relative to the data directory: "outbox/CH" is outbox/CH.jsonl,
 * "exposures/C" campaigns/C/exposures.bin, "contacts" campaigns/contacts.bin
 * (the files of docs/FORMATS.md). TL_EINVAL when name is not a side log's. */
int tl__applog_meta_key(const char *name, char *out, size_t cap);
int tl__applog_file(const char *name, char *out, size_t cap);
int tl__local_meta_get(tl_store_t *s, const char *key, int64_t *out, tl_errbuf_t *eb);
/* Appends the blob of a meta record to out: 0, TL_ENOENT when there is
 * none (or it is not a blob), or an error with eb told (a failed read is
 * never "none": the callers would make a new key check or secret). */
int tl__local_meta_blob(tl_store_t *s, const char *key, tl_buf_t *out, tl_errbuf_t *eb);
/* Bumps "consents_version", inside the caller's transaction: the snapshot
 * of consents in force (consents.c) is stale from its commit on. */
int tl__local_consents_changed(tl_store_t *s, tl_errbuf_t *eb);
int tl__local_meta_set(tl_store_t *s, const char *key, int64_t v, tl_errbuf_t *eb);

/* ---- blobs (blob.c) ---------------------------------------------------------- */

/* Lists in `swaps`, inside the caller's transaction, the renames of the
 * batch's staged blobs and of extra (a purge's, staged already). */
int tl__blobs_swaps(tl_store_t *s, tl_blobw_t *const *extra, int nextra, tl_errbuf_t *eb);
/* Makes the new files of a purge's writers durable beside the old ones. */
int tl__blobs_stage(tl_blobw_t *const *w, int n, tl_errbuf_t *eb);
/* Frees a purge's writers: committed (their new files are the swaps'), or
 * not (their new files removed). */
void tl__blobs_drop(tl_blobw_t *const *w, int n, int committed);
/* Forgets the batch's staged blobs: committed (kept) or rolled back. */
void tl__blobs_done(tl_store_t *s, int kept);
/* Removes what a crash before a commit left of staged blobs. */
void tl__blobs_clean(tl_store_t *s);

/* The local back end's blob operations (local/blob.c). */
int tl__local_blob_put(tl_store_t *st, const char *name, const void *p, size_t n,
                       tl_errbuf_t *eb);
int tl__local_blob_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
int tl__local_blob_list(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg,
                        tl_errbuf_t *eb);
int tl__local_blob_remove(tl_store_t *st, const char *name, tl_errbuf_t *eb);
int tl__local_blob_create(tl_store_t *st, const char *name, tl_blobw_t **out, tl_errbuf_t *eb);
int tl__local_blobw_write(tl_blobw_t *w, const void *p, size_t n, tl_errbuf_t *eb);
FILE *tl__local_blobw_stream(tl_blobw_t *w);
int tl__local_blobw_close(tl_blobw_t *w, tl_errbuf_t *eb);
void tl__local_blobw_abandon(tl_blobw_t *w);
int tl__local_blob_map(tl_store_t *st, const char *name, tl_blob_view_t *out, tl_errbuf_t *eb);
void tl__local_blob_unmap(tl_blob_view_t *v);
int tl__local_blob_append(tl_store_t *st, const char *name, const void *p, size_t n,
                          tl_errbuf_t *eb);
int tl__local_blob_where(tl_store_t *st, const char *name, char *out, size_t cap,
                         tl_errbuf_t *eb);

/* The local back end's side logs (local/applog.c). */
int tl__local_applog_open(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb);
int tl__local_applog_write(tl_applog_t *l, const void *p, size_t n, tl_errbuf_t *eb);
int tl__local_applog_read(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                          tl_errbuf_t *eb);
int tl__local_applog_committed(tl_store_t *st, const char *name, uint64_t *len,
                               tl_errbuf_t *eb);
int tl__local_applog_list(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb);


/* The local back end's entity reads (local/entities.c). */
int tl__local_scan_users(tl_store_t *s, tl_user_fn fn, void *arg, tl_errbuf_t *eb);
int tl__local_get_user(tl_store_t *s, uint32_t user, tl_user_fn fn, void *arg, tl_errbuf_t *eb);
int tl__local_scan_items(tl_store_t *s, tl_item_fn fn, void *arg, tl_errbuf_t *eb);
int tl__local_get_item(tl_store_t *s, uint32_t item, tl_item_fn fn, void *arg, tl_errbuf_t *eb);
int tl__local_scan_products(tl_store_t *s, tl_product_fn fn, void *arg, tl_errbuf_t *eb);
int tl__local_scan_credit(tl_store_t *s, uint32_t user, tl_credit_fn fn, void *arg,
                          tl_errbuf_t *eb);
int tl__local_scan_consents(tl_store_t *s, uint32_t user, tl_consent_fn fn, void *arg,
                            tl_errbuf_t *eb);

int tl__local_quarantine_counts(tl_store_t *s, tl_reason_fn fn, void *arg, tl_errbuf_t *eb);

/* The local back end's API keys (local/apikeys.c) and audit entries
 * (local/auditlog.c). */
int tl__local_apikey_put(tl_store_t *s, const tl_apikey_row_t *k, tl_errbuf_t *eb);
int tl__local_apikey_delete(tl_store_t *s, const char *id, tl_errbuf_t *eb);
int tl__local_apikey_scan(tl_store_t *s, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb);
int tl__local_audit_append(tl_store_t *s, const tl_audit_entry_t *e, tl_errbuf_t *eb);
int tl__local_audit_last(tl_store_t *s, int64_t *id, char mac[65], tl_errbuf_t *eb);
int tl__local_audit_scan(tl_store_t *s, const char *target, tl_audit_fn fn, void *arg,
                         tl_errbuf_t *eb);

/* ---- consents in force (consents.c) ----------------------------------------- */

/* The local back end's consents in force, off the snapshot (rebuilt first
 * when stale), and the snapshot's rebuild. */
int tl__local_consents_in_force(tl_store_t *st, const char *const *purposes, int np, int64_t at,
                                int withdrawn, uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb);
int tl__local_consents_refresh(tl_store_t *st, tl_errbuf_t *eb);

/* The scan of every consent record, latest per user and purpose, that both
 * the snapshot and the as-of query without one are made of (`withdrawn`:
 * the bits of records that withdraw, not of those that grant). */
int tl__local_consents_scan(tl_store_t *st, const char *const *purposes, int np, int64_t at,
                          int withdrawn, uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb);

/* ---- the key file (seal.c) ------------------------------------------------ */

/* Loads the key: the given one (32 bytes), else DIR/key, creating the file
 * with mode 0600 when it does not exist and create is set. */
int tl__seal_load_key(const char *dir, const unsigned char *given, int create,
                      unsigned char key[TL_KEY_BYTES], tl_errbuf_t *eb);
/* fsyncs a directory, so the renames and creations in it are durable. */
int tl__sync_dir(const char *dir);
/* Tells a wrong key at open, and finishes (or undoes) a key rotation cut
 * short; needs the SQLite side open. */
int tl__seal_check_key(tl_store_t *s, tl_errbuf_t *eb);

/* ---- the audit log's anchor (anchor.c) ---------------------------------- */

/* Makes the anchor when there is none (created: with a new data directory),
 * in its own transaction; needs the pseudonym secret loaded. */
int tl__local_anchor_make(tl_store_t *s, int created, tl_errbuf_t *eb);
/* The local back end's anchor text in `meta` (anchor.c). */
int tl__local_anchor_get(tl_store_t *s, tl_buf_t *out, tl_errbuf_t *eb);
int tl__local_anchor_put(tl_store_t *s, const char *text, tl_errbuf_t *eb);

/* ---- secrets, tombstones, erasure, rotation (seal.c, purge.c) ------------- */

int tl__local_secret_get(tl_store_t *s, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
int tl__local_secret_add(tl_store_t *s, const char *name, const void *p, size_t n,
                         tl_errbuf_t *eb);
int tl__local_erased(tl_store_t *s, const char *pseudonym, uint32_t *idx, tl_errbuf_t *eb);
int tl__local_erased_any(tl_store_t *s, tl_errbuf_t *eb);
int tl__local_purge(tl_store_t *s, const tl_purge_t *p, const char *pseudonym, const char *id,
                    size_t n, tl_purge_stats_t *out, tl_errbuf_t *eb);
int tl__local_rotate_key(tl_store_t *s, tl_rekey_t *rk, tl_rekey_stats_t *out, tl_errbuf_t *eb);

/* ---- the local back end's state in a store handle ------------------------- */

#define TL__STORE_NSTMT 16

typedef struct tl__local {
    int lockfd; /* DATA/lock, held by a writable open */
    sqlite3 *db;
    sqlite3_stmt *stmt[TL__STORE_NSTMT]; /* prepared once (sqlite.c) */
    tl_evlog_t log;
    tl_dict_t *dict[TL_D__N];
    uint32_t dict_committed[TL_D__N];
    tl_hset_t fps;
    int fps_loaded;
    uint64_t expect; /* events the caller expects to add */
    uint64_t *batch_fp; /* fingerprints added in this batch, for rollback */
    size_t nbatch_fp, cap_batch_fp;
    tl_buf_t tmp, tmp2;
    char *last_source; /* the path whose sources id is last_source_id */
    int64_t last_source_id;
    tl_hset_t qfps;     /* fingerprints of last_source's quarantined rows */
    int qfps_loaded;
    struct tl__applog *applogs; /* side logs open for writing */
    struct tl_awriter *aw;     /* their background writer (applog.c) */
    int consents_dirty;        /* this batch added consent records */
    tl_buf_t ids_arena[TL_D__N]; /* tl_store_ids: ids by index only */
    uint64_t *ids_offs[TL_D__N];
    uint32_t ids_n[TL_D__N];
    int ids_loaded[TL_D__N];
    tl_hset_t erased; /* hashes of the erased users' pseudonyms */
    int erased_loaded;
    struct tl__blob *blobs; /* written or removed in this batch (blob.c) */
} tl__local_t;

/* The local state of a store the local back end opened. */
static inline tl__local_t *tl__lo(const tl_store_t *s) { return (tl__local_t *)s->be_state; }
/* Finishes the renames a purge committed (purge.c); called by a writable
 * open before it reads the logs. */
int tl__local_finish_swaps(tl_store_t *s, tl_errbuf_t *eb);

/* ---- the repositories' tables and statements --------------------------------- */

/* The CREATE statements of the tables a repository file owns, applied by
 * a writable open after the store's own (local/sqlite.c lists them). */
extern const char tl__apikeys_schema[];  /* apikeys.c */
extern const char tl__auditlog_schema[]; /* auditlog.c */

/* 1 when SQLite's last error on s is a missing table (a read-only open of
 * a directory made before it: the reader reads nothing). */
int tl__local_missing_table(tl_store_t *s);
/* The local back end's dictionaries (local/dicts.c), settings and
 * segments (local/settings.c). */
tl_dict_t *tl__local_dict(tl_store_t *s, tl_dkind_t kind, tl_errbuf_t *eb);
int tl__local_ids(tl_store_t *s, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb);
int tl__local_config_put(tl_store_t *s, const char *key, const char *value, tl_errbuf_t *eb);
int tl__local_config_get(tl_store_t *s, const char *key, char **value, tl_errbuf_t *eb);
int tl__local_segment_put(tl_store_t *s, const char *name, const char *expr, tl_errbuf_t *eb);
int tl__local_segment_get(tl_store_t *s, const char *name, char **expr, tl_errbuf_t *eb);
int tl__local_segment_delete(tl_store_t *s, const char *name, tl_errbuf_t *eb);
int tl__local_segment_list(tl_store_t *s, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb);
/* The local back end's quarantine rows (local/reads.c). */
int tl__local_quarantine_scan(tl_store_t *s, const char *reason, int with_raw, tl_qrow_fn fn,
                              void *arg, tl_errbuf_t *eb);
/* Sets eb from SQLite's last error on s (what failed, and where) and
 * returns the TL_E* code it maps to. */
int tl__local_sql_fail(tl_store_t *s, tl_errbuf_t *eb, const char *what);
/* Prepares sql into *q: 0, 1 when a table it names does not exist (a read-
 * only open of a directory made before it: the caller reads nothing), or
 * an error with eb told (what: the reading, for the message). */
int tl__local_prepare(tl_store_t *s, const char *sql, sqlite3_stmt **q, const char *what,
                      tl_errbuf_t *eb);
/* Steps q to its end, calling row(q, arg) for each row until one returns
 * non-zero (returned), then finalizes q. */
typedef int (*tl__row_fn)(sqlite3_stmt *q, void *arg);
int tl__local_each(tl_store_t *s, sqlite3_stmt *q, tl__row_fn row, void *arg, const char *what,
                   tl_errbuf_t *eb);
/* Prepares sql, binds key to ?1 unless it is TL_NONE, and steps every row
 * through row(q, arg); a missing table reads as no rows (entities.c). */
int tl__local_rows(tl_store_t *s, const char *sql, uint32_t key, tl__row_fn row, void *arg,
                   const char *what, tl_errbuf_t *eb);
/* A column as text (NULL), a number (`absent`) or a real (NaN), the value
 * in parentheses standing for SQL NULL. */
static inline const char *tl__col_text(sqlite3_stmt *q, int c) {
    return (const char *)sqlite3_column_text(q, c);
}
static inline int64_t tl__col_i64(sqlite3_stmt *q, int c, int64_t absent) {
    return sqlite3_column_type(q, c) == SQLITE_NULL ? absent : sqlite3_column_int64(q, c);
}
static inline double tl__col_real(sqlite3_stmt *q, int c) {
    return sqlite3_column_type(q, c) == SQLITE_NULL ? (double)NAN : sqlite3_column_double(q, c);
}
/* ---- the campaign repositories (campaigns.c, dnc.c, deliveries.c, feedback.c) ---- */

/* The local back end's campaigns and runs (local/campaigns.c). */
int tl__local_campaign_get(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg,
                           tl_errbuf_t *eb);
int tl__local_campaign_scan(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb);
int tl__local_campaign_put(tl_store_t *st, const char *id, const char *def, int64_t created,
                           tl_errbuf_t *eb);
int tl__local_campaign_set_status(tl_store_t *st, const char *id, const char *status,
                                  tl_errbuf_t *eb);
int tl__local_campaign_run_add(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r,
                               uint64_t sends, double cost, tl_errbuf_t *eb);
int tl__local_campaign_runs(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg,
                            tl_errbuf_t *eb);
/* The local back end's delivery states (local/deliveries.c). */
int tl__local_delivery_hold(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                            int64_t due, tl_errbuf_t *eb);
int tl__local_delivery_fail(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                            long code, int64_t at, int64_t due, tl_errbuf_t *eb);
int tl__local_delivery_done(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb);
int tl__local_deliveries_held(tl_store_t *st, const char *channel, int64_t due_by,
                              tl_offset_fn fn, void *arg, tl_errbuf_t *eb);

/* Their tables, created by a writable open (sqlite.c). */
extern const char tl__campaigns_schema[], tl__dnc_schema[], tl__deliveries_schema[],
    tl__feedback_schema[];
/* Inside a purge's transaction: the do-not-contact entries of user, the
 * delivery states of the user whose id is id[0..n), and the feedback of
 * user (TL_NONE: none) and before `before` (INT64_MIN: none). dnc and
 * feedback add the rows they delete to *rows. */
int tl__dnc_purge_user(tl_store_t *st, uint32_t user, uint64_t *rows, tl_errbuf_t *eb);
int tl__deliveries_purge_user(tl_store_t *st, const char *id, size_t n, tl_errbuf_t *eb);
int tl__feedback_purge(tl_store_t *st, uint32_t user, int64_t before, uint64_t *rows,
                       tl_errbuf_t *eb);

/* ---- repositories and reads ------------------------------------------------------- */

/* The local back end's do-not-contact entries (local/dnc.c) and feedback
 * (local/feedback.c). */
int tl__local_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason,
                      int64_t at, const char *campaign, tl_errbuf_t *eb);
int tl__local_dnc_scan(tl_store_t *st, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);
int tl__local_dnc_of_user(tl_store_t *st, uint32_t user, tl_dnc_fn fn, void *arg,
                          tl_errbuf_t *eb);
int tl__local_feedback_add(tl_store_t *st, const tl_feedback_row_t *f, tl_errbuf_t *eb);
int tl__local_feedback_scan(tl_store_t *st, const char *campaign, tl_feedback_fn fn, void *arg,
                            tl_errbuf_t *eb);
int tl__local_feedback_of_user(tl_store_t *st, uint32_t user, tl_feedback_fn fn, void *arg,
                               tl_errbuf_t *eb);
int tl__local_feedback_negative(tl_store_t *st, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb);
/* The local back end's identity links (local/links.c), their table, and
 * inside a purge's transaction the links naming user (added to *rows). */
extern const char tl__links_schema[];
int tl__local_link_add(tl_store_t *st, uint32_t a, uint32_t b, int64_t at, const char *source,
                       uint64_t *id, tl_errbuf_t *eb);
int tl__local_link_split(tl_store_t *st, uint64_t id, int64_t at, const char *reason,
                         tl_errbuf_t *eb);
int tl__local_link_scan(tl_store_t *st, uint32_t user, tl_link_fn fn, void *arg,
                        tl_errbuf_t *eb);
int tl__links_purge_user(tl_store_t *st, uint32_t user, uint64_t *rows, tl_errbuf_t *eb);
/* The local back end's counts and check (local/reads.c). */
int tl__local_counts(tl_store_t *s, tl_store_counts_t *out, tl_errbuf_t *eb);
int tl__local_check(tl_store_t *s, tl_store_check_t *out, tl_errbuf_t *eb);

#endif
