/* store.h -- the data directory: entities in SQLite, events in an
 * append-only columnar log, both committed together.
 *
 * Everything above this module reads and writes data through this header,
 * so a shared server store can later be added behind it without touching
 * the modules above: the functions dispatch to a back end's table of
 * operations (store/backend.h), the local data directory by default. The
 * on-disk layout of that one is documented in docs/FORMATS.md.
 *
 * Writes happen in batches: tl_store_begin() ... tl_store_commit(). Within a
 * batch, events are buffered into blocks and entities go into one SQLite
 * transaction; commit makes both durable at once (log fsync, then the SQLite
 * commit that records the log's new length). A crash between the two leaves
 * a log tail that the next open cuts off. Only one process writes at a time
 * (an advisory lock on DATA/lock).
 */
#ifndef TL_STORE_H
#define TL_STORE_H

#include "core/core.h"

#include <math.h>

#define TL_STORE_FORMAT 1

/* ---- dictionaries ------------------------------------------------------- */

typedef enum {
    TL_D_USER,
    TL_D_ITEM,
    TL_D_PRODUCT,
    TL_D_TYPE,
    TL_D_CHANNEL,
    TL_D_CITY,
    TL_D_QUERY,
    TL_D_CAMPAIGN,
    TL_D__N
} tl_dkind_t;

/* Built-in event types and channels: their indexes are fixed at creation of
 * a store (tl_store_open_conf interns them, on every back end), so code may
 * use these constants. More may be added. */
#define TL_EVENT_TYPES(XX)                                                     \
    XX(VIEW, "view") XX(SEARCH, "search") XX(CLICK, "click") XX(CART, "cart") \
    XX(FAV, "fav") XX(PURCHASE, "purchase") XX(REFUND, "refund")              \
    XX(REVIEW, "review") XX(SHARE, "share") XX(COUPON_USE, "coupon_use")      \
    XX(REPAY, "repay") XX(LOAN_APPLY, "loan_apply") XX(RATE, "rate")         \
    XX(IDENTIFY, "identify")

enum {
#define XX(c, s) TL_EV_##c,
    TL_EVENT_TYPES(XX)
#undef XX
    TL_EV__BUILTIN
};

#define TL_CHANNELS(XX)                                                        \
    XX(WEB, "web") XX(APP, "app") XX(STORE, "store") XX(SOCIAL, "social")     \
    XX(MINI_PROGRAM, "mini_program") XX(PHONE, "phone") XX(SMS, "sms")        \
    XX(EMAIL, "email") XX(PUSH, "push") XX(IN_APP, "in_app") XX(OTHER, "other")

enum {
#define XX(c, s) TL_CH_##c,
    TL_CHANNELS(XX)
#undef XX
    TL_CH__BUILTIN
};

#define TL_MAX_TYPES 255    /* type and channel are stored in one byte */
#define TL_NO_CHANNEL 0xFF

/* ---- records ------------------------------------------------------------ */

/* One event; optional fields use TL_NONE (indexes), NaN (floats). */
typedef struct {
    uint64_t fp; /* fingerprint: the de-duplication key */
    uint32_t user, item;
    int64_t ts; /* ms since epoch, UTC */
    uint8_t type, channel;
    int32_t qty;
    double amount;
    float rating, lat, lon;
    uint32_t query, city, session, campaign;
} tl_event_t;

/* Entity records hold borrowed strings (NULL = absent: keep what is stored).
 * Numbers use the *_set flags or NaN for "absent". */
typedef struct {
    const char *gender, *city, *occupation, *education, *channel, *attrs;
    int32_t birth_year; /* 0 = absent */
    int64_t registered_at; /* INT64_MIN = absent */
    /* personal data, sealed before it is written */
    const char *name, *phone, *email, *id_number;
} tl_user_t;

typedef struct {
    const char *title, *category, *brand, *attrs;
    double price; /* NaN = absent */
} tl_item_t;

typedef struct {
    const char *kind, *name, *eligibility, *disclosure;
    int32_t term_months; /* -1 = absent */
    double apr, amount_min, amount_max; /* NaN = absent */
} tl_product_t;

typedef struct {
    int64_t on_time, late, max_overdue_days, history_months; /* -1 = absent */
    double debt; /* NaN = absent */
    const char *income_band;
    int default_flag; /* -1 = unknown, 0, 1 */
} tl_credit_t;

/* ---- the store ---------------------------------------------------------- */

typedef struct tl_store tl_store_t;
/* A back end: the table of operations the functions below dispatch to
 * (store/backend.h). */
typedef struct tl_store_backend tl_store_backend_t;

enum {
    TL_STORE_CREATE = 1, /* create the directory if it does not exist */
    TL_STORE_READONLY = 2,
};

/* What an open takes from its caller rather than from the process: the
 * library reads no environment. A plain struct: set it up with
 * tl_store_conf_init, then change the fields wanted. The store copies it
 * (and the key) at open. */
typedef struct {
    const unsigned char *key; /* 32-byte data key or NULL: use/create the key file DATA/key */
    int64_t now;              /* fixed clock in ms, 0 = system clock */
    const tl_store_backend_t *backend; /* NULL: the data directory (tl_store_local) */
} tl_store_conf_t;

void tl_store_conf_init(tl_store_conf_t *c);

/* The back ends a configuration can name: the data directory (SQLite and
 * the columnar event log, the default), a store in memory that keeps
 * nothing past its close (for work on given files that needs no data
 * directory; dir names it in messages only) and a PostgreSQL database
 * that many processes on many machines share (dir is its connection
 * string, a URI or key=value words; the data key must be given in conf,
 * as tailor keeps it and the database never sees it). */
extern const tl_store_backend_t tl_store_local;
extern const tl_store_backend_t tl_store_memory;
extern const tl_store_backend_t tl_store_pg;
/* The back end a location names when no configuration says: tl_store_pg
 * for a PostgreSQL connection URI (postgresql:// or postgres://) and for
 * a directory whose settings file (TL_STORE_SETTINGS) names one, with the
 * line `store = URI` (the data key then in the directory's key file, as
 * the data directory keeps it, unless the configuration gives it), else
 * the data directory. */
#define TL_STORE_SETTINGS "store.conf"
const tl_store_backend_t *tl_store_backend_of(const char *where);

/* Opens (and with TL_STORE_CREATE creates) the data directory dir with
 * conf (NULL: the defaults). Cuts an uncommitted log tail. A given key must
 * open the directory's sealed data (TL_ECRYPTO if not). On failure *out is
 * NULL and eb says why. */
int tl_store_open_conf(const char *dir, const tl_store_conf_t *conf, int flags, tl_store_t **out,
                       tl_errbuf_t *eb);
/* tl_store_open_conf with the defaults. */
int tl_store_open(const char *dir, int flags, tl_store_t **out, tl_errbuf_t *eb);
/* "Now" in ms for what the store and the modules above record: the
 * configuration's fixed clock, else the system clock. */
int64_t tl_store_now(const tl_store_t *st);
/* Parses a data key written as 64 hex digits (the form of $TAILOR_KEY):
 * 0, or TL_EINVAL with eb told. */
int tl_store_key_parse(const char *hex, unsigned char key[32], tl_errbuf_t *eb);
void tl_store_close(tl_store_t *st);
const char *tl_store_dir(const tl_store_t *st);

/* The dictionary of a kind, loaded on first use. Entries added during a
 * batch are written at commit and forgotten on rollback. NULL on error. */
tl_dict_t *tl_store_dict(tl_store_t *st, tl_dkind_t kind, tl_errbuf_t *eb);

/* The committed ids of a dictionary by index only, without the table that
 * finds an index by id: what a pass over every user needs, loaded in a
 * fraction of the time. Valid while st is open and until the next call
 * after a commit that added ids (that call reads them again). */
typedef struct {
    const char *arena;
    const uint64_t *offs; /* n + 1 offsets into arena; each id ends with a NUL */
    uint32_t n;
} tl_ids_t;
int tl_store_ids(tl_store_t *st, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb);
static inline const char *tl_ids_str(const tl_ids_t *ids, uint32_t i, size_t *len) {
    if (len) *len = (size_t)(ids->offs[i + 1] - ids->offs[i] - 1);
    return ids->arena + ids->offs[i];
}

int tl_store_begin(tl_store_t *st, tl_errbuf_t *eb);
int tl_store_commit(tl_store_t *st, tl_errbuf_t *eb);
void tl_store_rollback(tl_store_t *st);

/* Appends an event unless its fingerprint is already stored. Returns 1 if
 * added, 0 for a duplicate, or a negative error. Inside a batch only. */
int tl_store_add_event(tl_store_t *st, const tl_event_t *ev, tl_errbuf_t *eb);

/* Hints that about n more events may be added, so the de-duplication set
 * is sized once instead of growing (and briefly doubling) on the way. */
void tl_store_expect_events(tl_store_t *st, uint64_t n);

/* Hints that an event with this fingerprint will be added soon. */
void tl_store_prefetch_event(const tl_store_t *st, uint64_t fp);

/* Entity upserts: absent fields keep their stored value. Return 1 if the
 * record was created or changed, 0 if it changed nothing (a duplicate), or
 * a negative error. Inside a batch only. The id is interned. */
int tl_store_put_user(tl_store_t *st, const char *id, const tl_user_t *u, tl_errbuf_t *eb);
int tl_store_put_item(tl_store_t *st, const char *id, const tl_item_t *it, tl_errbuf_t *eb);
int tl_store_put_product(tl_store_t *st, const char *id, const tl_product_t *p, tl_errbuf_t *eb);
int tl_store_put_credit(tl_store_t *st, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb);
int tl_store_put_consent(tl_store_t *st, uint32_t user, const char *purpose, int granted,
                         int64_t at, tl_errbuf_t *eb);

/* Settings kept in the data directory (such as the tag rules): get fills
 * *value (caller frees) or returns TL_ENOENT. Outside batches. */
int tl_store_config_put(tl_store_t *st, const char *key, const char *value, tl_errbuf_t *eb);
int tl_store_config_get(tl_store_t *st, const char *key, char **value, tl_errbuf_t *eb);

/* Named segments: a name and the expression that defines it. put returns
 * 1 when the name is new, 0 when it replaced a definition. get fills *expr
 * (caller frees) or returns TL_ENOENT. Outside batches. */
int tl_store_segment_put(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb);
int tl_store_segment_get(tl_store_t *st, const char *name, char **expr, tl_errbuf_t *eb);
int tl_store_segment_delete(tl_store_t *st, const char *name, tl_errbuf_t *eb);
/* fn(name, expr, created_ms, arg) for each segment, by name. */
typedef int (*tl_segdef_fn)(const char *name, const char *expr, int64_t created, void *arg);
int tl_store_segment_list(tl_store_t *st, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb);

/* Keeps a rejected record: its raw text sealed, and a preview with personal
 * data masked for listings. Re-quarantining the same (source, line, raw)
 * does not add a second row. Returns 1 if added, 0 if already there. */
int tl_store_quarantine(tl_store_t *st, const char *source, uint64_t line, const char *reason,
                        const char *message, const char *raw, size_t rawlen,
                        const char *preview, tl_errbuf_t *eb);

/* ---- reading ------------------------------------------------------------ */

/* A user's personal fields, unsealed: name, phone, e-mail and ID number,
 * each NUL-terminated, appended to out (four empty strings when none are
 * stored). Callers mask them before showing them to anyone. */
int tl_store_user_pii(tl_store_t *st, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb);

/* A decoded block of events: parallel columns of n rows. */
typedef struct {
    uint32_t n;
    uint64_t first_seq;
    const uint64_t *fp;
    const uint32_t *user, *item;
    const int64_t *ts;
    const uint8_t *type, *channel;
    const double *amount;
    const int32_t *qty;
    const float *rating, *lat, *lon;
    const uint32_t *query, *city, *session, *campaign;
} tl_evblock_t;

/* Calls fn for every committed block in log order; stops early and returns
 * fn's value if it is not 0. */
typedef int (*tl_evblock_fn)(const tl_evblock_t *b, void *arg);
int tl_store_scan_events(tl_store_t *st, tl_evblock_fn fn, void *arg, tl_errbuf_t *eb);

/* The same, decoding only the columns in `want` (the others are NULL):
 * scans that read a few columns skip the cost of the rest. */
enum {
    TL_EVC_FP = 1 << 0, TL_EVC_USER = 1 << 1, TL_EVC_ITEM = 1 << 2, TL_EVC_TS = 1 << 3,
    TL_EVC_TYPE = 1 << 4, TL_EVC_CHANNEL = 1 << 5, TL_EVC_AMOUNT = 1 << 6, TL_EVC_QTY = 1 << 7,
    TL_EVC_RATING = 1 << 8, TL_EVC_QUERY = 1 << 9, TL_EVC_CITY = 1 << 10, TL_EVC_LAT = 1 << 11,
    TL_EVC_LON = 1 << 12, TL_EVC_SESSION = 1 << 13, TL_EVC_CAMPAIGN = 1 << 14,
    TL_EVC_ALL = (1 << 15) - 1
};
int tl_store_scan_columns(tl_store_t *st, uint32_t want, tl_evblock_fn fn, void *arg,
                          tl_errbuf_t *eb);

/* The same from row from_seq on (rows are numbered from 0 in log order;
 * the blocks before it are not read): what was added since a count. The
 * first block passed may begin before from_seq. */
int tl_store_scan_from(tl_store_t *st, uint64_t from_seq, uint32_t want, tl_evblock_fn fn,
                       void *arg, tl_errbuf_t *eb);

/* The blocks that may hold rows of time min_ts or later, in log order,
 * with the times besides `want`: every such row is given, earlier rows
 * may be too (the caller filters).
 * The local back end learns each block's latest time from the scans that
 * read the times and skips the blocks that end before min_ts, so a
 * process that scans the recent past again and again reads the recent
 * blocks only; another back end reads them all. */
int tl_store_scan_since(tl_store_t *st, int64_t min_ts, uint32_t want, tl_evblock_fn fn, void *arg,
                        tl_errbuf_t *eb);

uint64_t tl_store_event_count(const tl_store_t *st);

/* A store shared with other writing processes (PostgreSQL): 1 when it is
 * one, so a long-running process should call tl_store_refresh now and
 * then. */
int tl_store_shared(const tl_store_t *st);
/* Reads what other processes committed since this handle last looked:
 * the event count (tl_store_event_count and scans go further) and the
 * dictionaries' new ids. Outside batches; the caller keeps other threads
 * off the handle meanwhile. 1 when something was new, 0 when not (always,
 * on a store no other process writes), or a negative error. */
int tl_store_refresh(tl_store_t *st, tl_errbuf_t *eb);

/* Verifies what the back end can of what it stores (the local one: every
 * checksum of the log, the log's length against the committed count, and
 * SQLite's integrity); eb names the first problem and its offset. The
 * digest is a sum of hashes of the event fingerprints: two stores with the
 * same events have the same digest, whatever the order they arrived in.
 * `checked` says what was verified (after an error: what held before it). */
enum {
    TL_CHECK_EVENTS = 1,    /* every event read back and counted against the committed count */
    TL_CHECK_CHECKSUMS = 2, /* the checksums of the stored events */
    TL_CHECK_DATABASE = 4,  /* the database's own integrity check (SQLite's) */
};
typedef struct {
    uint64_t blocks, events, digest;
    unsigned checked; /* TL_CHECK_* */
} tl_store_check_t;
int tl_store_check(tl_store_t *st, tl_store_check_t *out, tl_errbuf_t *eb);

/* Counts for `tailor stats`. */
typedef struct {
    uint64_t users, items, products, credit, consents, events, quarantined;
} tl_store_counts_t;
int tl_store_counts(tl_store_t *st, tl_store_counts_t *out, tl_errbuf_t *eb);

/* The consents in force at `at`: bit k of bits[u] is set when the latest
 * record of user u for purposes[k] (k < 8) up to `at` grants it. Read off
 * the snapshot DATA/consents.snap, rebuilt first when stale (a writable
 * store; a read-only one reads the table). */
int tl_store_consents_asof(tl_store_t *st, const char *const *purposes, int np, int64_t at,
                           uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb);
/* out[u] = 1 when user u's latest record for purpose up to `at` withdraws
 * it (0 when it grants, and when there is none): who opted out. */
int tl_store_consents_withdrawn(tl_store_t *st, const char *purpose, int64_t at, uint8_t *out,
                                uint32_t nusers, tl_errbuf_t *eb);
/* Rebuilds the snapshot of consents in force when consents were added
 * since it was made (import calls it at the end). */
int tl_store_consents_refresh(tl_store_t *st, tl_errbuf_t *eb);


/* ---- entity scans and lookups (entities.c) ---------------------------------------- */

/* What every scan and lookup below promises, whatever the back end:
 * - rows come in the order each names, the same every time for the same
 *   data; fn gets a record whose strings are borrowed for the call only;
 *   fn's non-zero return stops the walk and is returned;
 * - absent fields read as the records of tl_store_put_* write them
 *   (NULL strings, NaN, 0 or -1 as each struct says);
 * - inside a batch they see the batch's own writes, outside it what is
 *   committed; they never write, so they run on a read-only store too;
 * - a table that a data directory made by an older tailor lacks reads as
 *   empty. */

/* Users by index ascending. A scan gives neither personal fields (see
 * tl_store_user_pii) nor attrs (both NULL); tl_store_get_user gives attrs
 * too, calling fn once, or returns TL_ENOENT when the user has no record. */
typedef int (*tl_user_fn)(uint32_t user, const tl_user_t *u, void *arg);
int tl_store_scan_users(tl_store_t *st, tl_user_fn fn, void *arg, tl_errbuf_t *eb);
int tl_store_get_user(tl_store_t *st, uint32_t user, tl_user_fn fn, void *arg, tl_errbuf_t *eb);

/* Items by index ascending, attrs NULL; tl_store_get_item gives one item
 * with attrs (fn called once), or returns TL_ENOENT when it has no record. */
typedef int (*tl_item_fn)(uint32_t item, const tl_item_t *it, void *arg);
int tl_store_scan_items(tl_store_t *st, tl_item_fn fn, void *arg, tl_errbuf_t *eb);
int tl_store_get_item(tl_store_t *st, uint32_t item, tl_item_fn fn, void *arg, tl_errbuf_t *eb);

/* Products by index ascending, every field. */
typedef int (*tl_product_fn)(uint32_t product, const tl_product_t *p, void *arg);
int tl_store_scan_products(tl_store_t *st, tl_product_fn fn, void *arg, tl_errbuf_t *eb);

/* Credit records by user ascending: every user's (user == TL_NONE) or the
 * one of `user` (none called when it has none). */
typedef int (*tl_credit_fn)(uint32_t user, const tl_credit_t *c, void *arg);
int tl_store_scan_credit(tl_store_t *st, uint32_t user, tl_credit_fn fn, void *arg,
                         tl_errbuf_t *eb);

/* Consent records, every user's (user == TL_NONE) or one user's, in the
 * order (user, purpose, at, granted): the last of a user and purpose is
 * the one in force, a grant after a withdrawal of the same instant. */
typedef int (*tl_consent_fn)(uint32_t user, const char *purpose, int granted, int64_t at,
                             void *arg);
int tl_store_scan_consents(tl_store_t *st, uint32_t user, tl_consent_fn fn, void *arg,
                           tl_errbuf_t *eb);
/* The record of user for purpose in force now (the last in the order
 * above): *granted and *at (either may be NULL), or TL_ENOENT when the
 * user has none for it. */
int tl_store_consent_latest(tl_store_t *st, uint32_t user, const char *purpose, int *granted,
                            int64_t *at, tl_errbuf_t *eb);

/* How many quarantined records there are of each reason, the most
 * frequent first (equal counts by reason). */
typedef int (*tl_reason_fn)(const char *reason, uint64_t n, void *arg);
int tl_store_quarantine_counts(tl_store_t *st, tl_reason_fn fn, void *arg, tl_errbuf_t *eb);

/* ---- API keys (apikeys.c) --------------------------------------------------------- */

/* An API key as stored: never the key itself, only its hash (64 hex
 * digits). Borrowed strings. */
typedef struct {
    const char *id, *hash, *role, *name;
    int64_t created; /* ms since the epoch */
} tl_apikey_row_t;

/* Adds a key; TL_EEXIST when its id is taken. Inside a batch only. */
int tl_store_apikey_put(tl_store_t *st, const tl_apikey_row_t *k, tl_errbuf_t *eb);
/* Removes the key id: 1 when it was there, 0 when there was none. Inside
 * a batch only. */
int tl_store_apikey_delete(tl_store_t *st, const char *id, tl_errbuf_t *eb);
/* Every key, oldest first (equal times by id); name is "" when none. */
typedef int (*tl_apikey_fn)(const tl_apikey_row_t *k, void *arg);
int tl_store_apikey_scan(tl_store_t *st, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb);

/* ---- the audit log's entries (auditlog.c) ------------------------------------------- */

/* One entry (borrowed strings): target is the pseudonym of the user whose
 * data it is about ("" when none), mac the chain's MAC ("" for entries
 * written before entries were chained). */
typedef struct {
    int64_t id, at;
    const char *who, *what, *target, *mac;
} tl_audit_entry_t;

/* Appends e with its id, the last entry's + 1 (tl_store_audit_last);
 * TL_EEXIST when an entry has that id. Inside a batch only: the one that
 * moves the anchor (tl_store_audit_anchor_put). */
int tl_store_audit_append(tl_store_t *st, const tl_audit_entry_t *e, tl_errbuf_t *eb);
/* The last entry's id and MAC (0 and "" when the log is empty). Inside a
 * batch it sees the batch's own entries. */
int tl_store_audit_last(tl_store_t *st, int64_t *id, char mac[65], tl_errbuf_t *eb);
/* Entries by id ascending: all (target NULL) or those about one target. */
typedef int (*tl_audit_fn)(const tl_audit_entry_t *e, void *arg);
int tl_store_audit_scan(tl_store_t *st, const char *target, tl_audit_fn fn, void *arg,
                        tl_errbuf_t *eb);

/* ---- side logs ------------------------------------------------------------ */

/* Append-only logs committed with the batch: tl_store_commit makes what
 * was written durable in the same commit as the batch's rows and events;
 * rollback and a crash leave them as committed. Open for writing cuts an
 * uncommitted tail; readers see only committed bytes. A log stays open
 * (and owned by st) until the store closes; opening the same name twice
 * gives the same log. A name is "outbox/CHANNEL" (a channel's outbox),
 * "exposures/CAMPAIGN" (a campaign's decisions) or "contacts" (every
 * contact), CHANNEL and CAMPAIGN of letters, digits, '_', '-' and '.' (not
 * first), at most 200 bytes; anything else is TL_EINVAL. The local back end
 * keeps each in a file of the data directory (docs/FORMATS.md). */
typedef struct tl_applog tl_applog_t;
int tl_store_applog_open(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb);
int tl_applog_write(tl_applog_t *l, const void *p, size_t n, tl_errbuf_t *eb);
/* Appends the committed bytes from offset `from` on to out (nothing when
 * the log does not exist yet). */
int tl_store_applog_read(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                         tl_errbuf_t *eb);
/* The committed length (0 when the log does not exist yet). */
int tl_store_applog_committed(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb);
/* Calls fn(name) for each side log that a commit recorded (even at length
 * 0), in order of name: what a purge must look through. */
typedef int (*tl_applog_fn)(const char *name, void *arg);
int tl_store_applog_list(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb);

/* ---- blobs (blob.c) ------------------------------------------------------------ */

/* Named blobs: the files derived from the data (the profile snapshot,
 * models, scorecards, uplift models, the log of blocked offers), kept by
 * name. A name is "profiles", "offers", "contacts", "imports", "models/NAME", "scorecards/NAME",
 * "uplift/NAME", "triggers/NAME" or "journeys/NAME", NAME of letters, digits, '_', '-' and '.' (not first),
 * at most 200 bytes; anything else is TL_EINVAL. The local back end keeps
 * each in one file of the data directory (docs/FORMATS.md); another back
 * end may keep them in a table of (name, bytes).
 *
 * What every back end promises:
 * - Atomicity: a reader sees a blob whole, old or new, never a mix, also
 *   after a crash at any point.
 * - Writes: create a writer, write in pieces, close. Closed outside a
 *   batch, the blob is replaced at once, durably, before close returns
 *   (this works on a read-only store too: derived files are made by
 *   readers). Closed inside a batch, it is replaced by tl_store_commit,
 *   in the same commit as the batch's rows and events; rollback (or a
 *   crash before the commit) leaves the old blob. A crash after the commit
 *   leaves the new blob in force: the next writable open puts it in place,
 *   and readers until then see the old one. A writer abandoned, or
 *   never closed, leaves nothing.
 * - Ordering: blobs written and removed in one batch change together; of
 *   two writers of one name the one closed last wins.
 * - One writer: writers of the same name wait for each other (one writer
 *   of a name at a time, across processes); a batch's writes are the
 *   write lock holder's, like every batch.
 * - Reads: a map is a read-only view of the committed blob, without a
 *   copy where the back end can (the local one maps the file); it stays
 *   valid, unchanged, until unmapped, whatever is written meanwhile.
 * - Lists: the committed names under a prefix, in byte order. */
typedef enum {
    TL_BLOB_PROFILES,   /* "profiles": the profile snapshot */
    TL_BLOB_OFFERS,     /* "offers": the log of blocked offers */
    TL_BLOB_UPLIFT,     /* "uplift/CAMPAIGN" */
    TL_BLOB_SCORECARD,  /* "scorecards/NAME" (scorecard, propensity) */
    TL_BLOB_MODEL,      /* "models/NAME": a recommender model */
    TL_BLOB_TRIGGERS,   /* "triggers/CAMPAIGN": how far a trigger campaign has read */
    TL_BLOB_JOURNEYS,   /* "journeys/CAMPAIGN": where each user of a journey is */
    TL_BLOB_CONTACTS,   /* "contacts": where the contacts log's old records end, by time */
    TL_BLOB_IMPORTS,    /* "imports": the log of bulk imports, a line per source */
} tl_blobkind_t;
/* The blob name of kind and name (ignored for profiles, offers, contacts
 * and imports) in out. */
int tl_store_blob_name(tl_blobkind_t kind, const char *name, char *out, size_t cap);

typedef struct tl_blobw tl_blobw_t;
int tl_store_blob_create(tl_store_t *st, const char *name, tl_blobw_t **out, tl_errbuf_t *eb);
int tl_blobw_write(tl_blobw_t *w, const void *p, size_t n, tl_errbuf_t *eb);
/* The writer as a stdio stream, for code that writes with fwrite/fprintf
 * (another back end gives one over memory); its errors show at close. */
FILE *tl_blobw_stream(tl_blobw_t *w);
/* Installs the blob (see above) and frees w, also on failure (then
 * nothing changed, eb says why). */
int tl_blobw_close(tl_blobw_t *w, tl_errbuf_t *eb);
/* Frees w, leaving nothing behind. NULL-safe. */
void tl_blobw_abandon(tl_blobw_t *w);
/* create, write, close. */
int tl_store_blob_put(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb);
/* Removes the blob (none is no error): at once outside a batch, with the
 * batch's commit inside one. A writable store only. */
int tl_store_blob_remove(tl_store_t *st, const char *name, tl_errbuf_t *eb);
/* Appends p[0..n), a whole record, to a log blob ("offers"), at once and
 * in one write: records of concurrent appenders (read-only stores too)
 * never interleave. Not part of a batch, not fsync'd: a log of decisions
 * made, not of data. A purge replaces such a log whole (tl_purge_t). */
int tl_store_blob_append(tl_store_t *st, const char *name, const void *p, size_t n,
                         tl_errbuf_t *eb);

/* A read-only view of a committed blob: data[0..len). */
typedef struct tl_blob_view {
    const void *data;
    size_t len;
    void *map; /* the back end's */
    size_t maplen;
    void (*unmap)(struct tl_blob_view *v); /* the store's: what unmaps it */
} tl_blob_view_t;
/* TL_ENOENT (eb untouched) when there is no such blob. */
int tl_store_blob_map(tl_store_t *st, const char *name, tl_blob_view_t *out, tl_errbuf_t *eb);
void tl_store_blob_unmap(tl_blob_view_t *v);
/* The blob appended to out (a copy: for small blobs). TL_ENOENT as map. */
int tl_store_blob_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
/* fn(name, arg) for each committed blob whose name begins with prefix ("" for
 * all), by name; fn's non-zero return stops the walk and is returned. */
typedef int (*tl_blob_fn)(const char *name, void *arg);
int tl_store_blob_list(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg,
                       tl_errbuf_t *eb);
/* Where the blob lives, in words for a message only (the local back end
 * names its file; another back end says where it keeps it). */
int tl_store_blob_where(tl_store_t *st, const char *name, char *out, size_t cap, tl_errbuf_t *eb);

/* One quarantined record (borrowed for the call). raw is NULL unless the
 * scan was asked for it (it is unsealed then). */
typedef struct {
    int64_t id, at;
    const char *source, *reason, *message;
    uint64_t line;
    const char *raw;
    size_t rawlen;
    const char *preview; /* personal data masked */
} tl_qrow_t;

/* Calls fn for each quarantined record (oldest first), optionally only those
 * with the given reason code (NULL for all). */
typedef int (*tl_qrow_fn)(const tl_qrow_t *q, void *arg);
int tl_store_quarantine_scan(tl_store_t *st, const char *reason, int with_raw, tl_qrow_fn fn,
                             void *arg, tl_errbuf_t *eb);

/* ---- the data key ------------------------------------------------------------ */

/* Re-seals every personal value, quarantined row and secret under a new
 * key. With the key file (no key in the configuration): new_key, or when
 * NULL a random one, is written to DATA/key (a rotation cut short is
 * finished or undone at the next open). With a key given at open: new_key (32 bytes)
 * is required, the caller keeps it and gives it at the next open; the
 * store uses it from now on. Outside batches. */
typedef struct {
    uint64_t users, quarantined, other;
} tl_rekey_stats_t;
int tl_store_rotate_key(tl_store_t *st, const unsigned char *new_key, tl_rekey_stats_t *out,
                        tl_errbuf_t *eb);

/* ---- identity links (store.c) ------------------------------------------------ */

/* A link between two users' identifiers (the identity module resolves the
 * links into persons): made by a login, an identify call or an import,
 * split when it proved wrong (kept, so the merge history stays). */
typedef struct {
    uint64_t id;         /* from 1, in the order added */
    uint32_t a, b;       /* user indexes, a < b */
    int64_t at;          /* when it was made, ms */
    const char *source;  /* what made it ("login", "identify", "import"...) */
    int64_t split_at;    /* INT64_MIN: in force; else when it was split */
    const char *split_reason;
} tl_link_row_t;
typedef int (*tl_link_fn)(const tl_link_row_t *l, void *arg);

/* Links users a and b (a != b, either order) in the caller's batch: 1
 * added, 0 when a link of the pair in force is stored; *id (when given)
 * gets the link's id either way. */
int tl_store_link_add(tl_store_t *st, uint32_t a, uint32_t b, int64_t at, const char *source,
                      uint64_t *id, tl_errbuf_t *eb);
/* Splits link id in the caller's batch: 1 split, 0 when it was split
 * already, TL_ENOENT (eb told) when there is no such link. */
int tl_store_link_split(tl_store_t *st, uint64_t id, int64_t at, const char *reason,
                        tl_errbuf_t *eb);
/* The links by id: every one (user TL_NONE) or those naming user; a
 * batch's own are seen inside it. fn's non-zero return stops the scan
 * and is returned. */
int tl_store_link_scan(tl_store_t *st, uint32_t user, tl_link_fn fn, void *arg, tl_errbuf_t *eb);

/* ---- privacy: pseudonyms, erasure, retention (privacy.c) ---------------------- */

/* The keyed pseudonym of an id (BLAKE2b-128 under a secret of this data
 * directory, kept sealed with the data key): 32 hex digits and a NUL. The
 * same id gives the same pseudonym here and an unrelated one anywhere
 * else; key rotation keeps it. For exports to third parties, tombstones
 * and the audit log. */
int tl_store_pseudonym(tl_store_t *st, const char *id, size_t n, char out[33], tl_errbuf_t *eb);

/* A MAC of p[0..n) under a key of this data directory (keyed BLAKE2b-256,
 * a subkey of the pseudonym secret): 64 hex digits and a NUL. */
int tl_store_mac(tl_store_t *st, const void *p, size_t n, char out[65], tl_errbuf_t *eb);

/* The anchor of the audit log (privacy.c): the entries the log holds and the
 * MAC of the last (the head), itself MACed under the same key, so a log cut
 * at its end or wiped no longer matches it. A writable open makes it when
 * there is none: with a new data directory, or over the log as it is then
 * (`upgraded`: a directory from before anchors, or one whose anchor was
 * removed; a cut made before `at` cannot be told). Key rotation keeps it. */
typedef struct {
    int64_t entries; /* entries the log holds */
    char head[65];   /* the last chained entry's MAC ("" when none) */
    int64_t since;   /* entries the log held when the anchor was made */
    int upgraded;    /* made over a log that existed without one */
    int64_t at;      /* when it was made (ms since the epoch) */
} tl_audit_anchor_t;
/* 0, TL_ENOENT when there is none, TL_ECORRUPT (eb says so) when it does
 * not match its MAC. */
int tl_store_audit_anchor(tl_store_t *st, tl_audit_anchor_t *out, tl_errbuf_t *eb);
/* Records a, with its MAC, in the caller's batch: the batch that adds an
 * entry moves the anchor with it. */
int tl_store_audit_anchor_put(tl_store_t *st, const tl_audit_anchor_t *a, tl_errbuf_t *eb);

/* 1 if id is an erased user's (its pseudonym among the tombstones; *idx,
 * when not NULL, gets the index it had), 0 if not, or an error. Costs a
 * set lookup when nothing was ever erased. */
int tl_store_erased(tl_store_t *st, const char *id, size_t n, uint32_t *idx, tl_errbuf_t *eb);
/* 1 if any user was ever erased here, 0 if none, or an error. */
int tl_store_erased_any(tl_store_t *st, tl_errbuf_t *eb);

/* The new committed content of the side log name, which a purge puts in
 * place of the old. */
typedef struct {
    const char *name;
    const void *data;
    size_t len;
} tl_logswap_t;

/* What a purge takes out: everything of one user (user != TL_NONE: events,
 * attributes and personal data, credit, consents, identity links, do-not-contact, feedback;
 * the id is forgotten in the dictionary, keeping its index, and a
 * tombstone added), and/or every event before `before` (INT64_MIN: none)
 * with the consent history, feedback and quarantined rows older than it
 * (the consent in force stays). Quarantined rows holding one of terms as
 * a whole token are emptied (source, line and reason stay). The side
 * logs' new content is the caller's, for formats the store does not know. */
typedef struct {
    uint32_t user;
    int64_t before;
    const char *const *terms;
    int nterms;
    const tl_logswap_t *logs;
    int nlogs;
    tl_blobw_t *const *blobs; /* derived blobs rewritten: installed with the purge, */
    int nblobs;               /* and freed by it whatever happens */
} tl_purge_t;

typedef struct {
    uint64_t events, rows, quarantined;
    int wal_truncated; /* 0: a reader kept the old pages; they go at the next checkpoint */
} tl_purge_stats_t;

/* All of it at once (a crash leaves it all done or all undone; the
 * purge op of store/backend.h), the deleted bytes overwritten. Outside
 * batches. */
int tl_store_purge(tl_store_t *st, const tl_purge_t *p, tl_purge_stats_t *out, tl_errbuf_t *eb);

/* Event totals for `tailor stats`: by type and channel index (the names are
 * in the TL_D_TYPE and TL_D_CHANNEL dictionaries) and by UTC day. */
typedef struct {
    uint64_t by_type[256], by_channel[256];
    int64_t first_day, ndays; /* days since epoch of by_day[0] */
    uint64_t *by_day;         /* ndays entries, owned */
    int64_t min_ts, max_ts;
} tl_store_evstats_t;
int tl_store_event_stats(tl_store_t *st, tl_store_evstats_t *out, tl_errbuf_t *eb);
void tl_store_evstats_fini(tl_store_evstats_t *s);

/* ---- repositories of the modules above ------------------------------------------ */

#include "store/campaigns.h"

#endif
