/* ingest.h -- getting records into the store without losing any.
 *
 * Files (CSV or JSON Lines) are read as streams, each row is mapped to the
 * canonical fields of its kind (docs/FORMATS.md), validated, and either
 * written to the store or quarantined with a reason code, its source line
 * and its raw text. Presets map the public data sets (MovieLens, Taobao,
 * Online Retail, Bank Marketing, German Credit) onto the same fields.
 *
 * Invariant, for every file and every run:
 *     read = accepted + duplicates + quarantined.
 */
#ifndef TL_INGEST_H
#define TL_INGEST_H

#include "store/store.h"

typedef enum {
    TL_KIND_USERS,
    TL_KIND_ITEMS,
    TL_KIND_PRODUCTS,
    TL_KIND_CREDIT,
    TL_KIND_CONSENTS,
    TL_KIND_EVENTS,
    TL_KIND__N,
    TL_KIND_AUTO = -1
} tl_kind_t;

/* TL_KIND__N when the name is unknown. */
tl_kind_t tl_kind_parse(const char *name);

/* Quarantine reason codes; docs/FORMATS.md explains each. */
#define TL_REASONS(XX)                                                         \
    XX(FIELD_COUNT, "field_count")                                             \
    XX(UNTERMINATED_QUOTE, "unterminated_quote")                               \
    XX(BAD_JSON, "bad_json")                                                   \
    XX(DUPLICATE_KEY, "duplicate_key")                                         \
    XX(BAD_TYPE, "bad_type")                                                   \
    XX(UNKNOWN_FIELD, "unknown_field")                                         \
    XX(MISSING_FIELD, "missing_field")                                         \
    XX(BAD_NUMBER, "bad_number")                                               \
    XX(BAD_TIME, "bad_time")                                                   \
    XX(TIME_TOO_OLD, "time_too_old")                                           \
    XX(TIME_FUTURE, "time_future")                                             \
    XX(UNKNOWN_TYPE, "unknown_type")                                           \
    XX(UNKNOWN_CHANNEL, "unknown_channel")                                     \
    XX(BAD_VALUE, "bad_value")                                                 \
    XX(NEGATIVE_PRICE, "negative_price")                                       \
    XX(NEGATIVE_AMOUNT, "negative_amount")                                     \
    XX(OUT_OF_RANGE, "out_of_range")                                           \
    XX(INCONSISTENT, "inconsistent")                                           \
    XX(BAD_UTF8, "bad_utf8")                                                   \
    XX(BAD_ID, "bad_id")                                                       \
    XX(TOO_LONG, "too_long")                                                   \
    XX(UNKNOWN_USER, "unknown_user")                                           \
    XX(ERASED_USER, "erased_user")

typedef enum {
#define XX(c, s) TL_R_##c,
    TL_REASONS(XX)
#undef XX
    TL_R__N
} tl_reason_t;

const char *tl_reason_name(tl_reason_t r);

typedef enum { TL_FMT_AUTO, TL_FMT_CSV, TL_FMT_JSONL } tl_format_t;

/* ---- sources: the bytes records are read from ------------------------------
 * A source is a file, a buffer in memory or a stream (a file descriptor such
 * as stdin or a pipe), with a name. The name picks the format (.jsonl, .csv)
 * and a preset's layout as a file name does, and is what quarantined rows,
 * messages and callbacks name (for a regular file, the quarantine keeps its
 * canonical path). A stream, and a file that is not a regular file (a pipe,
 * /dev/stdin), is read once, in order, never seeked: what the library looks
 * at before reading it (a header line, a first object) is kept in memory
 * and read again. A source copies nothing and closes nothing: the path, the
 * data and the descriptor stay the caller's and must outlive the call that
 * reads them. */
typedef enum { TL_SOURCE_FILE, TL_SOURCE_MEM, TL_SOURCE_FD } tl_source_kind_t;

typedef struct {
    tl_source_kind_t kind;
    const char *name; /* a file's path */
    const char *data; /* TL_SOURCE_MEM: data[0..len) */
    size_t len;
    int fd;           /* TL_SOURCE_FD: read from its current position to its end */
} tl_source_t;

tl_source_t tl_source_file(const char *path);
tl_source_t tl_source_mem(const char *name, const void *data, size_t len);
tl_source_t tl_source_fd(const char *name, int fd);

struct tl_import_stats;

/* How far the import of one source has got: told when it starts, after
 * every chunk of rows, and when it ends (successfully or not). */
typedef enum { TL_PROGRESS_START, TL_PROGRESS_ROWS, TL_PROGRESS_END } tl_progress_phase_t;

typedef struct {
    tl_progress_phase_t phase;
    const char *source; /* its name */
    uint64_t done;      /* bytes read */
    uint64_t total;     /* its size in bytes; 0 when unknown (a stream) */
    uint64_t rows;      /* rows read */
} tl_import_progress_t;

typedef struct {
    const char *preset;      /* NULL, or a preset name (tl_import_presets()) */
    tl_kind_t kind;          /* TL_KIND_AUTO: from the header or the preset */
    tl_format_t format;      /* TL_FMT_AUTO: from the file name and content */
    const char *delimiter;   /* NULL: "," for CSV (one or two bytes) */
    int no_header;           /* CSV without a header line */
    const char *map;         /* "field=column,..."; column is a name or #N (1-based); with
                              * no_header, only the columns it names are read and the
                              * file's own field count is expected on every row */
    const char *set;         /* "field=value,...": the field takes the value in every
                              * record, in place of any column or key (no comma in a value) */
    const char *encoding;    /* NULL/"utf-8" or "latin1" */
    const char *identity;    /* the kind of identifier (identity.h) of user and alias values
                              * written without a KIND: prefix; NULL: member ids */
    int link_contacts;       /* a users record links its member to its phone and e-mail,
                              * identifiers of the kinds `phone` and `email` (a till's
                              * file keyed by phone then joins the member) */
    const char *extra_types; /* comma-separated event types to register */
    const char *extra_channels;
    int strict;              /* all or nothing: any bad row rolls back the whole run */
    uint64_t batch_rows;     /* rows per commit; 0 = default */
    int history;             /* once committed, each source's counts go to the store's
                              * import history (tl_import_history): bulk imports, not
                              * the API's event batches */
    /* told each source's counts when it is read (before the final commit) */
    void (*on_file)(const char *name, const struct tl_import_stats *file, void *arg);
    void *on_file_arg;
    /* told what the front end may show the user (NULL: nothing is told):
     * how far each source has got, and warnings about a source that do not
     * stop the import (a header column that maps to no field), each a
     * sentence naming the source. The library itself prints nothing. */
    void (*on_progress)(const tl_import_progress_t *p, void *arg);
    void (*on_warning)(const char *message, void *arg);
    void *notify_arg;
} tl_import_opts_t;

void tl_import_opts_default(tl_import_opts_t *o);

typedef struct tl_import_stats {
    uint64_t read, accepted, duplicates, quarantined;
    uint64_t by_reason[TL_R__N];
    uint64_t bytes;
    uint64_t linked; /* identity links the events' aliases (and with link_contacts the
                      * users records' phones and e-mails) added */
} tl_import_stats_t;

/* Called for every quarantined row (for printing under --strict). */
typedef void (*tl_reject_fn)(const char *source, uint64_t line, tl_reason_t reason,
                             const char *message, void *arg);

/* Imports src[0..nsrc) into st, users, items, products and events before
 * the credit records and consents that name users (sources of one kind in
 * the order given), so that the result does not depend on the order of the
 * sources: the kind of each is found from the options, the preset, or by
 * looking at its header line or first object. Adds the run's counts to
 * *stats.
 * Returns 0 when the run completed (even with quarantined rows), TL_EBADINPUT
 * under strict mode when a row was bad (then nothing was written), or
 * another negative error (eb says what and where; committed batches stay). */
int tl_import(tl_store_t *st, const tl_source_t *src, int nsrc, const tl_import_opts_t *o,
              tl_import_stats_t *stats, tl_reject_fn on_reject, void *arg, tl_errbuf_t *eb);

/* ---- tables: a whole file in memory, for statistics over every row -------- */

typedef struct {
    const char *preset;    /* german-credit or bank-marketing: their layout and names */
    const char *delimiter; /* NULL: the most frequent of , ; tab | in the first line */
    int no_header;         /* names are then c1, c2, ... */
} tl_table_opts_t;

/* Cells are NUL-terminated text; an empty cell is "". Records with another
 * field count than the header's or invalid UTF-8 are rejected (on_reject
 * tells each with its line); read = nrows + rejected. */
typedef struct {
    uint32_t ncols, nrows;
    char **name;
    tl_buf_t text;
    uint64_t *cell; /* nrows x ncols offsets into text */
    uint64_t *line; /* the source line each row starts on */
    uint64_t read, rejected;
} tl_table_t;

int tl_table_read(const tl_source_t *src, const tl_table_opts_t *o, tl_table_t *out,
                  tl_reject_fn on_reject, void *arg, tl_errbuf_t *eb);
static inline const char *tl_table_cell(const tl_table_t *t, uint32_t row, uint32_t col) {
    return t->text.data + t->cell[(size_t)row * t->ncols + col];
}
/* The column named name, or TL_NONE. */
uint32_t tl_table_column(const tl_table_t *t, const char *name);
void tl_table_fini(tl_table_t *t);

/* Names of the presets, NULL-terminated, and a one-line description each. */
const char *const *tl_import_presets(void);
const char *tl_import_preset_help(const char *name);

/* ---- JSON input checked as the importer checks it --------------------------------- */

struct cJSON;
/* A key that appears twice in one object of j, at any depth (cJSON keeps
 * both members, and readers would take one of them without a word), or
 * NULL; *rc is TL_ENOMEM when the check ran out of memory, 0 otherwise.
 * The key lives in j. */
const char *tl_import_dup_key(const struct cJSON *j, int *rc);
/* The import history: a JSON line per source of each run with history
 * set, the latest last, in the log blob "imports": {at, source, read,
 * accepted, duplicates, quarantined} (at: the store's clock when the run
 * committed). Calls fn with each of the last `last` lines (0: all). */
int tl_import_history(tl_store_t *st, uint32_t last, int (*fn)(const char *line, size_t len, void *arg),
                      void *arg, tl_errbuf_t *eb);

#endif
