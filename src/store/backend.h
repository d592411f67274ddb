/* backend.h -- the store's back-end interface: the table of operations a
 * back end fills in and the public store functions dispatch to (after
 * SQLite's sqlite3_vfs). The first back end, the data directory of SQLite
 * and the columnar event log, is tl_store_local (src/store/local/); a
 * configuration names another (tl_store_conf_t.backend).
 *
 * The contract, what every back end promises (docs/ARCHITECTURE.md, "Store
 * contract"):
 * - Handles: open gets a store handle made by tl_store_open_conf (its
 *   directory and configuration set; flags TL_STORE_*) and keeps its own
 *   state with tl_store_backend_set_state; close frees that state, never
 *   the handle. A batch still open at close was rolled back before close
 *   is called.
 * - Errors: an op returns 0 (or the count it names) or a negative TL_E*
 *   code, with eb saying why; ops that return nothing cannot fail.
 * - One writer: begin is called on a writable store only and never inside
 *   a batch (the dispatcher checks both); a back end shared by processes
 *   lets one writer at a time hold a batch and makes the others wait or
 *   fail with TL_ELOCKED.
 * - Batches: everything written between begin and commit (events,
 *   dictionary entries, entities, consents, blobs put or removed) becomes
 *   visible to a scan or read outside the batch at commit, all together;
 *   inside the batch the batch's own writes are seen. rollback, a failed
 *   commit and a crash before commit leave the store as it was before
 *   begin. commit is called inside a batch only, and after it (success or
 *   failure) the batch is over.
 * - Lost connections (a server back end): an op that loses its server
 *   returns TL_ELOST when what it was doing did not take effect and the
 *   store can be used again once the server (or a promoted standby)
 *   answers: a batch so failed is rolled back whole, and commit returns
 *   TL_ELOST only when it knows the server did not commit (0 when it
 *   finds it did). A writer may then send the batch again; TL_EIO says the
 *   outcome is unknown.
 * - Dictionaries: the ids of a kind get dense indexes from 0 in the order
 *   they are first interned, stable for ever (an erased id keeps its
 *   index); entries interned in a batch are kept at commit and forgotten
 *   at rollback. dict gives the back end's dictionary, which callers intern
 *   into inside a batch; ids gives the committed ids by index.
 * - Events: add_event appends unless the fingerprint is stored (1 added,
 *   0 duplicate); scan calls fn with blocks of rows in sequence order (rows
 *   numbered from 0 in the order they were committed), from the block that
 *   holds from_seq, the columns of `want` filled (others may be NULL);
 *   event_count is the committed count. A scan sees committed rows only.
 *   scan_since (optional; without it, scan from 0) gives every row whose
 *   time is min_ts or later, and may give earlier rows too (callers
 *   filter): a back end that knows the blocks' times skips the others.
 * - Entities: put_* merge into the stored record (absent fields keep what
 *   is stored) and return 1 when they created or changed it, 0 when not;
 *   a user's personal fields arrive as given and the back end keeps them
 *   confidential at rest (the local one seals them with the data key).
 *   put_consent adds a record unless the same (user, purpose, granted, at)
 *   is stored (1 added, 0 not).
 * - Settings and segments: keyed by name, written outside batches and
 *   durable when the op returns; segment_list goes by name.
 * - Blobs: put/remove outside a batch take effect at once and durably,
 *   inside one at its commit; get copies the committed blob (TL_ENOENT, eb
 *   untouched, when none); list gives committed names under a prefix in
 *   byte order. A reader never sees a blob half written.
 * - Do-not-contact and feedback: put and add join the caller's batch (the
 *   dispatcher checks there is one) and keep the first record of a key
 *   ((user, channel); (source, line)): 1 added, 0 kept as it was. Scans go
 *   in the orders campaigns.h states and see the batch's own writes.
 * - Counts: what tl_store_counts_t names (users and items: the ids
 *   interned less those erased; events: event_count), called outside a
 *   batch.
 * - Check: reads back everything the back end can verify of what it
 *   stores, fills blocks, events and digest as the dispatcher's fallback
 *   does (the digest a sum of tl_hash64 of each fingerprint) and says in
 *   `checked` what it verified (TL_CHECK_*); TL_ECORRUPT, eb naming the
 *   first problem, when something does not hold.
 * - Built-in event types and channels: the dispatcher interns them, in a
 *   first batch, when a writable store opens with either dictionary empty,
 *   so every back end gives them the ids TL_EV_* and TL_CH_*; open itself
 *   creates none.
 * - Blob writers, maps and appends (as store.h states for
 *   tl_store_blob_create and the rest): a writer is the back end's object,
 *   its struct beginning with struct tl_blobw; closed outside a batch it
 *   replaces the blob at once and durably, inside one at its commit, like
 *   blob_put; it works on a read-only store too. A map stays valid,
 *   unchanged, until unmapped. blob_append adds a whole record at once,
 *   outside batches, and records of concurrent appenders (other processes
 *   too) never interleave or get lost: an append made of a read and a put
 *   could lose one, so every back end has its own.
 * - Side logs, named as store.h states (the dispatcher checks the name):
 *   an open log is the back end's object, its struct beginning with struct
 *   tl_applog, one per name and store handle; what is written to it goes
 *   into the store at the next commit, with the batch (rollback and a crash
 *   before the commit drop it); read and committed see committed bytes
 *   only; list gives the logs a commit recorded, by name.
 * - Keys: tailor keeps them. The dispatcher seals and unseals with the data
 *   key and derives pseudonyms and MACs; a back end keeps what it is given
 *   sealed as opaque bytes (secrets, personal fields, raw rows), so whoever
 *   administers where the data is kept sees ciphertext only. Secrets are
 *   added once and never replaced; key rotation re-seals every sealed value
 *   at once. Tombstones and the audit anchor are committed like rows.
 * - Erasure: purge is one whole step, all or nothing, outside batches; what
 *   it removes is listed at the op.
 *
 * Optional ops may be NULL: expect_events and prefetch_event (hints),
 * consents_in_force and consents_refresh (the store reads the consents in
 * force off scan_consents instead), check (the dispatcher reads every
 * event back through scan and counts them against event_count), the blob
 * writer's five (all or none: the store gathers the bytes in memory and
 * puts them with blob_put at close), blob_map and blob_unmap (both or
 * neither: a map is a copy made with blob_get), blob_where (the store
 * names the blob and the back end), refresh (nothing to read: no other
 * process writes). */
#ifndef TL_STORE_BACKEND_H
#define TL_STORE_BACKEND_H

#include "store/store.h"

#define TL_STORE_BACKEND_VERSION 1

/* A key rotation under way (privacy.c): the new key, opaque to back ends. */
typedef struct tl_rekey tl_rekey_t;

struct tl_store_backend {
    int version; /* TL_STORE_BACKEND_VERSION */
    const char *name;

    /* lifecycle */
    int (*open)(tl_store_t *st, int flags, tl_errbuf_t *eb);
    void (*close)(tl_store_t *st);

    /* batches: one writer */
    int (*begin)(tl_store_t *st, tl_errbuf_t *eb);
    int (*commit)(tl_store_t *st, tl_errbuf_t *eb);
    void (*rollback)(tl_store_t *st);

    /* dictionaries and id assignment */
    tl_dict_t *(*dict)(tl_store_t *st, tl_dkind_t kind, tl_errbuf_t *eb);
    int (*ids)(tl_store_t *st, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb);

    /* events */
    int (*add_event)(tl_store_t *st, const tl_event_t *ev, tl_errbuf_t *eb);
    void (*expect_events)(tl_store_t *st, uint64_t n);
    void (*prefetch_event)(const tl_store_t *st, uint64_t fp);
    int (*scan)(tl_store_t *st, uint64_t from_seq, uint32_t want, tl_evblock_fn fn, void *arg,
                tl_errbuf_t *eb);
    int (*scan_since)(tl_store_t *st, int64_t min_ts, uint32_t want, tl_evblock_fn fn, void *arg,
                      tl_errbuf_t *eb);
    uint64_t (*event_count)(const tl_store_t *st);

    /* entity upserts (the id of a user, item or product is interned by the
     * dispatcher, in the caller's batch, before put_* is called) */
    int (*put_user)(tl_store_t *st, uint32_t user, const tl_user_t *u, tl_errbuf_t *eb);
    int (*put_item)(tl_store_t *st, uint32_t item, const tl_item_t *it, tl_errbuf_t *eb);
    int (*put_product)(tl_store_t *st, uint32_t product, const tl_product_t *p, tl_errbuf_t *eb);
    int (*put_credit)(tl_store_t *st, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb);
    int (*put_consent)(tl_store_t *st, uint32_t user, const char *purpose, int granted, int64_t at,
                       tl_errbuf_t *eb);

    /* entity reads, in the order and with the fields store.h states for
     * tl_store_scan_users and the rest; they see the batch's own writes */
    int (*scan_users)(tl_store_t *st, tl_user_fn fn, void *arg, tl_errbuf_t *eb);
    int (*get_user)(tl_store_t *st, uint32_t user, tl_user_fn fn, void *arg, tl_errbuf_t *eb);
    int (*scan_items)(tl_store_t *st, tl_item_fn fn, void *arg, tl_errbuf_t *eb);
    int (*get_item)(tl_store_t *st, uint32_t item, tl_item_fn fn, void *arg, tl_errbuf_t *eb);
    int (*scan_products)(tl_store_t *st, tl_product_fn fn, void *arg, tl_errbuf_t *eb);
    int (*scan_credit)(tl_store_t *st, uint32_t user, tl_credit_fn fn, void *arg,
                       tl_errbuf_t *eb);
    int (*scan_consents)(tl_store_t *st, uint32_t user, tl_consent_fn fn, void *arg,
                         tl_errbuf_t *eb);

    /* the consents in force at `at` (optional: without them, the store
     * reads them off scan_consents): bit k of bits[u] set when user u's
     * latest record for purposes[k] (np <= 8) up to `at` grants it
     * (withdrawn: withdraws it); refresh brings what they are read from up
     * to date after imports */
    int (*consents_in_force)(tl_store_t *st, const char *const *purposes, int np, int64_t at,
                             int withdrawn, uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb);
    int (*consents_refresh)(tl_store_t *st, tl_errbuf_t *eb);

    /* a user's personal fields (four NUL-ended strings appended, empty
     * when none are stored) */
    int (*user_pii)(tl_store_t *st, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb);

    /* the quarantine, as store.h states (raw rows kept confidential at
     * rest, as personal fields) */
    int (*quarantine)(tl_store_t *st, const char *source, uint64_t line, const char *reason,
                      const char *message, const char *raw, size_t rawlen, const char *preview,
                      tl_errbuf_t *eb);
    int (*quarantine_scan)(tl_store_t *st, const char *reason, int with_raw, tl_qrow_fn fn,
                           void *arg, tl_errbuf_t *eb);
    int (*quarantine_counts)(tl_store_t *st, tl_reason_fn fn, void *arg, tl_errbuf_t *eb);

    /* settings and segments */
    int (*config_put)(tl_store_t *st, const char *key, const char *value, tl_errbuf_t *eb);
    int (*config_get)(tl_store_t *st, const char *key, char **value, tl_errbuf_t *eb);
    int (*segment_put)(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb);
    int (*segment_get)(tl_store_t *st, const char *name, char **expr, tl_errbuf_t *eb);
    int (*segment_delete)(tl_store_t *st, const char *name, tl_errbuf_t *eb);
    int (*segment_list)(tl_store_t *st, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb);

    /* repositories: API keys and audit entries, in the orders and with
     * the results store.h states (writes in a batch: the dispatcher checks) */
    int (*apikey_put)(tl_store_t *st, const tl_apikey_row_t *k, tl_errbuf_t *eb);
    int (*apikey_delete)(tl_store_t *st, const char *id, tl_errbuf_t *eb);
    int (*apikey_scan)(tl_store_t *st, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb);
    int (*audit_append)(tl_store_t *st, const tl_audit_entry_t *e, tl_errbuf_t *eb);
    int (*audit_last)(tl_store_t *st, int64_t *id, char mac[65], tl_errbuf_t *eb);
    int (*audit_scan)(tl_store_t *st, const char *target, tl_audit_fn fn, void *arg,
                      tl_errbuf_t *eb);

    /* campaigns and their runs, as campaigns.h states */
    int (*campaign_get)(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg,
                        tl_errbuf_t *eb);
    int (*campaign_scan)(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb);
    int (*campaign_put)(tl_store_t *st, const char *id, const char *def, int64_t created,
                        tl_errbuf_t *eb);
    int (*campaign_set_status)(tl_store_t *st, const char *id, const char *status,
                               tl_errbuf_t *eb);
    int (*campaign_run_add)(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r,
                            uint64_t sends, double cost, tl_errbuf_t *eb);
    int (*campaign_runs)(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg,
                         tl_errbuf_t *eb);

    /* delivery states, as campaigns.h states */
    int (*delivery_hold)(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                         int64_t due, tl_errbuf_t *eb);
    int (*delivery_fail)(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                         long code, int64_t at, int64_t due, tl_errbuf_t *eb);
    int (*delivery_done)(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb);
    int (*deliveries_held)(tl_store_t *st, const char *channel, int64_t due_by, tl_offset_fn fn,
                           void *arg, tl_errbuf_t *eb);

    /* blobs */
    int (*blob_put)(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb);
    int (*blob_get)(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
    int (*blob_list)(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg,
                     tl_errbuf_t *eb);
    int (*blob_remove)(tl_store_t *st, const char *name, tl_errbuf_t *eb);

    /* repositories and reads: do-not-contact entries and feedback, as
     * campaigns.h states (writes in a batch: the dispatcher checks); the
     * counts of tl_store_counts; the check (optional) */
    int (*dnc_put)(tl_store_t *st, uint32_t user, const char *channel, const char *reason,
                   int64_t at, const char *campaign, tl_errbuf_t *eb);
    int (*dnc_scan)(tl_store_t *st, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);
    int (*dnc_of_user)(tl_store_t *st, uint32_t user, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);
    int (*feedback_add)(tl_store_t *st, const tl_feedback_row_t *f, tl_errbuf_t *eb);
    int (*feedback_scan)(tl_store_t *st, const char *campaign, tl_feedback_fn fn, void *arg,
                         tl_errbuf_t *eb);
    int (*feedback_of_user)(tl_store_t *st, uint32_t user, tl_feedback_fn fn, void *arg,
                            tl_errbuf_t *eb);
    int (*feedback_negative)(tl_store_t *st, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb);
    int (*counts)(tl_store_t *st, tl_store_counts_t *out, tl_errbuf_t *eb);
    /* identity links, as store.h states (add and split in a batch: the
     * dispatcher checks, and hands add a < b) */
    int (*link_add)(tl_store_t *st, uint32_t a, uint32_t b, int64_t at, const char *source,
                    uint64_t *id, tl_errbuf_t *eb);
    int (*link_split)(tl_store_t *st, uint64_t id, int64_t at, const char *reason,
                      tl_errbuf_t *eb);
    int (*link_scan)(tl_store_t *st, uint32_t user, tl_link_fn fn, void *arg, tl_errbuf_t *eb);
    int (*check)(tl_store_t *st, tl_store_check_t *out, tl_errbuf_t *eb);

    /* blobs and side logs: writers, maps, appends; the side logs */
    int (*blob_create)(tl_store_t *st, const char *name, tl_blobw_t **out, tl_errbuf_t *eb);
    int (*blobw_write)(tl_blobw_t *w, const void *p, size_t n, tl_errbuf_t *eb);
    FILE *(*blobw_stream)(tl_blobw_t *w);
    int (*blobw_close)(tl_blobw_t *w, tl_errbuf_t *eb);
    void (*blobw_abandon)(tl_blobw_t *w);
    int (*blob_map)(tl_store_t *st, const char *name, tl_blob_view_t *out, tl_errbuf_t *eb);
    void (*blob_unmap)(tl_blob_view_t *v);
    int (*blob_append)(tl_store_t *st, const char *name, const void *p, size_t n,
                       tl_errbuf_t *eb);
    int (*blob_where)(tl_store_t *st, const char *name, char *out, size_t cap, tl_errbuf_t *eb);
    int (*applog_open)(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb);
    int (*applog_write)(tl_applog_t *l, const void *p, size_t n, tl_errbuf_t *eb);
    int (*applog_read)(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                       tl_errbuf_t *eb);
    int (*applog_committed)(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb);
    int (*applog_list)(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb);

    /* keys, pseudonyms, erasure and retention (the dispatcher: privacy.c)
     *
     * secret_get appends the secret `name` as stored (sealed by the caller
     * with the data key; TL_ENOENT when none); secret_add stores one unless
     * one of the name is stored (TL_EEXIST then, the stored one kept: two
     * processes making the first secret at once agree on one). In a batch
     * they go with it and see its writes; outside, the add is durable when
     * it returns. */
    int (*secret_get)(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
    int (*secret_add)(tl_store_t *st, const char *name, const void *p, size_t n,
                      tl_errbuf_t *eb);
    /* The audit log's anchor, a line of text the dispatcher MACs: get
     * appends it (TL_ENOENT when none; inside a batch, the batch's own),
     * put replaces it in the caller's batch (the dispatcher checks), so it
     * commits or rolls back with the entry it counts. */
    int (*anchor_get)(tl_store_t *st, tl_buf_t *out, tl_errbuf_t *eb);
    int (*anchor_put)(tl_store_t *st, const char *text, tl_errbuf_t *eb);
    /* Tombstones, the pseudonyms of erased users with the index each had
     * (added by purge only): erased is 1 (and *idx set) when pseudonym is
     * one, 0 when not; erased_any 1 when there is any. Committed ones. */
    int (*erased)(tl_store_t *st, const char *pseudonym, uint32_t *idx, tl_errbuf_t *eb);
    int (*erased_any)(tl_store_t *st, tl_errbuf_t *eb);
    /* Takes out what p says (store.h, tl_purge_t), called outside batches
     * on a writable store with p->user checked; id[0..n) is the user's id
     * (NULL: none, or forgotten already) and pseudonym its pseudonym (""
     * when id is NULL). All of it in one step: a failure or a crash leaves
     * everything as it was, else everything is done: the user's events,
     * row and personal fields, credit, consents, identity links, do-not-contact entries,
     * feedback, delivery states and quarantined rows naming a term gone;
     * the id forgotten in its dictionary (its index kept) and the tombstone
     * (pseudonym, index) added; the side logs and blobs p gives put in
     * place; with a cut, what p says is older than it gone. The deleted
     * bytes are not left readable where the back end can see to it (the
     * local one overwrites them and truncates its WAL). The blob writers of
     * p are freed whatever happens; *out counts what went. */
    int (*purge)(tl_store_t *st, const tl_purge_t *p, const char *pseudonym, const char *id,
                 size_t n, tl_purge_stats_t *out, tl_errbuf_t *eb);
    /* Re-seals every sealed value the back end keeps (personal fields,
     * quarantined raw rows, secrets) with tl_store_reseal, all in one step,
     * called outside batches on a writable store with its key; once that
     * step is committed it calls tl_store_rekey_committed, and the store
     * seals with the new key from then on, whatever the op returns. A
     * failure before leaves every value as it was, under the old key. Where
     * the back end keeps its key (the local one's DATA/key), it keeps the
     * new one so that a crash at any point leaves a key that opens the
     * values. *out counts what was re-sealed. */
    int (*rotate_key)(tl_store_t *st, tl_rekey_t *rk, tl_rekey_stats_t *out, tl_errbuf_t *eb);

    /* A store other processes write (optional: NULL for one whose writer
     * holds it alone): reads what they committed since this handle last
     * looked (the event count, new dictionary entries; a count read before
     * the entries, so every event counted names ids the handle knows),
     * outside batches; 1 when something was new, 0 when not. */
    int (*refresh)(tl_store_t *st, tl_errbuf_t *eb);
};

/* The head of a back end's blob writer and of its side log: the back end's
 * own struct begins with it (as sqlite3_file heads a VFS's files), so the
 * store finds the handle, and through it the back end, from the object. */
struct tl_blobw {
    tl_store_t *st;
};
struct tl_applog {
    tl_store_t *st;
};

/* The back ends (store.h): tl_store_local (src/store/local/), the data
 * directory of SQLite and the columnar event log; tl_store_memory
 * (src/store/mem/), in memory. */

/* A back end's own state in a store handle (NULL until set). */
void *tl_store_backend_state(const tl_store_t *st);
void tl_store_backend_set_state(tl_store_t *st, void *state);

/* The data key a store seals with (seal.c): the one given in the
 * configuration when there is one, else `found` (the back end's own, such
 * as the local one's key file). Without either, sealed values and
 * pseudonyms cannot be read. */
int tl_store_backend_use_key(tl_store_t *st, const unsigned char found[32], tl_errbuf_t *eb);

/* For rotate_key (privacy.c): appends to out the sealed value blob[0..n)
 * sealed again under the new key of rk; TL_ECRYPTO when it does not open
 * with the store's key. */
int tl_store_reseal(tl_store_t *st, tl_rekey_t *rk, const void *blob, size_t n, tl_buf_t *out);
/* Tells the store the re-sealed values are committed: it uses the new key
 * from now on. */
void tl_store_rekey_committed(tl_rekey_t *rk);

#endif
