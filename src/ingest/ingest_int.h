/* ingest_int.h -- private declarations of the ingest module: sources opened
 * for reading (source.c), the streaming readers (reader.c), the canonical
 * schema and validators (validate.c), the presets (preset.c) and the order
 * of the sources of a run (order.c), all driven by import.c. */
#ifndef TL_INGEST_INT_H
#define TL_INGEST_INT_H

#include "identity/identity.h"
#include "ingest.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <string.h>
#include <sys/types.h>

#define TL_MAX_RECORD (1u << 20) /* longest record (line) accepted, bytes */
#define TL_MAX_FIELDS 256

typedef struct {
    const char *p;
    size_t n;
} tl_slice_t;

/* ---- a source opened for reading (source.c) --------------------------------
 * Reads go from the start of the source to its end. A look ahead (what the
 * import does to find a source's kind before reading it) is ended by
 * tl__input_rewind, after which the source reads from its start again: a
 * file is seeked, memory is re-read, and a stream (never seeked) first
 * yields again what the look ahead read from it, kept in ahead. A zeroed
 * tl_input_t is closed. */
typedef struct {
    const tl_source_t *src;
    int open;
    int fd;          /* the file or the stream; -1 for memory */
    int own_fd;      /* opened here: closed by tl__input_close */
    int stream;      /* read once, never seeked */
    int looking;     /* a look ahead is running: a stream keeps what it reads */
    uint64_t size;   /* bytes, when known (a regular file, memory); else 0 */
    size_t off;      /* memory: the next byte */
    tl_buf_t ahead;  /* a stream's bytes read by a look ahead */
    size_t aheadoff; /* the next of them to yield again */
} tl_input_t;

/* Opens src (a file by its path); eb says why it cannot be. */
int tl__input_open(tl_input_t *in, const tl_source_t *src, tl_errbuf_t *eb);
/* read(2) over the source: bytes read, 0 at its end, or -1 with errno set. */
ssize_t tl__input_read(tl_input_t *in, char *dst, size_t cap);
/* Starts a look ahead from the start of the source, ended by
 * tl__input_rewind (which returns 0 or a negative error). */
void tl__input_look(tl_input_t *in);
int tl__input_rewind(tl_input_t *in, tl_errbuf_t *eb);
void tl__input_close(tl_input_t *in);
/* Up to cap bytes of the source's start into buf (*n of them), by a look
 * ahead (the input opened if it is not); the input is rewound. */
int tl__input_head(tl_input_t *in, const tl_source_t *src, char *buf, size_t cap, size_t *n,
                   tl_errbuf_t *eb);

/* ---- readers (reader.c) ---------------------------------------------------
 * A reader reads one source through a buffer; each call yields one record
 * whose raw text and fields stay valid until the next call. */
typedef struct {
    tl_input_t *in;     /* what is read: own, or an input the caller opened */
    tl_input_t own;
    const char *path;   /* the source's name, for messages */
    char *buf;
    size_t cap, pos, end;
    int eof;
    uint64_t bytes;     /* bytes consumed so far */
    uint64_t next_line; /* physical line number where the next record starts */
    char delim[2];
    int dlen;
    int quotes;         /* 1: RFC 4180 quoting; 0: quotes are plain text */
    char eol;           /* the byte that ends a line: '\n' or '\r' (0: not known yet) */
    /* the current record */
    const char *raw;
    size_t rawlen;
    uint64_t line;
    int nf;
    tl_slice_t f[TL_MAX_FIELDS];
    int too_many;       /* more than TL_MAX_FIELDS fields */
    int clean;          /* the record is printable ASCII only */
    int err;            /* -1, or the reason the record cannot be split */
    tl_buf_t unq;       /* unquoted field text */
} tl_reader_t;

/* Opens src and a reader over it; tl__reader_close closes both. */
int tl__reader_open(tl_reader_t *r, const tl_source_t *src, const char *delim, tl_errbuf_t *eb);
/* A reader over an input the caller opened (and closes, after the reader);
 * it reads from where the input stands. */
int tl__reader_open_input(tl_reader_t *r, tl_input_t *in, const char *delim, tl_errbuf_t *eb);
void tl__reader_close(tl_reader_t *r);
/* Next CSV record: 1, 0 at end of file, or a negative I/O error. Blank lines
 * are skipped. On a record that cannot be split, r->err is set and r->raw
 * holds its first line. */
int tl__reader_csv(tl_reader_t *r, tl_errbuf_t *eb);
/* Next non-blank line (JSON Lines), same contract; fields are not split. */
int tl__reader_line(tl_reader_t *r, tl_errbuf_t *eb);

/* ---- the canonical schema (validate.c) ------------------------------------ */

typedef enum { FT_ID, FT_TEXT, FT_INT, FT_NUM, FT_TIME, FT_JSON } tl_ftype_t;

typedef struct {
    const char *name;
    uint8_t type;
    uint16_t maxlen;
} tl_field_t;

#define TL_KIND_MAX_FIELDS 16

typedef struct {
    const char *name;
    int nfields;
    tl_field_t fields[TL_KIND_MAX_FIELDS];
} tl_kindspec_t;

extern const tl_kindspec_t tl__kinds[TL_KIND__N];

/* The field index of name in kind, or -1. */
int tl__field_index(tl_kind_t kind, const char *name, size_t n);

/* Canonical values of one record: vals[i] is field i of the kind; p == NULL
 * means absent. */
typedef struct {
    tl_kind_t kind;
    int clean; /* every value is printable ASCII: no UTF-8 or control checks */
    tl_slice_t v[TL_KIND_MAX_FIELDS];
} tl_canon_t;

/* A string an event refers to, with its dictionary hash computed on the
 * parsing thread (p == NULL: absent). */
typedef struct {
    const char *p;
    uint32_t n;
    uint64_t h;
} tl_ref_t;

enum { TL_EREF_USER, TL_EREF_ITEM, TL_EREF_QUERY, TL_EREF_CITY, TL_EREF_CAMPAIGN, TL_EREF_ALIAS,
       TL_EREF__N };

/* A validated record, ready to write. Strings are NUL-terminated copies in
 * the row arena. */
typedef struct {
    tl_kind_t kind;
    const char *id; /* user, item or product id; the user for credit/consents */
    union {
        struct {
            tl_event_t ev; /* the strings below are interned when written */
            tl_ref_t ref[TL_EREF__N];
        } e;
        tl_user_t u;
        tl_item_t it;
        tl_product_t p;
        tl_credit_t c;
        struct {
            const char *purpose;
            int granted;
            int64_t at;
        } cs;
    };
} tl_rec_t;

/* Per-row scratch memory. */
typedef struct {
    char *mem;
    size_t len, cap;
} tl_arena_t;

char *tl__arena_dup(tl_arena_t *a, const char *p, size_t n);

/* What validation may read. It runs on the parsing thread, so it only reads
 * dictionaries that nothing writes during an import (types, channels); the
 * check that a credit record's or consent's user is known is made when the
 * record is written (see import.c). */
typedef struct {
    tl_arena_t *arena;
    int64_t now_ms;
    tl_dict_t *types, *channels;
    uint32_t identify; /* the type "identify" (TL_NONE: a store made before it) */
} tl_vctx_t;

/* Validates c into out (every field of out that its kind uses is set).
 * Returns 0, the reason code plus one with msg filled in, or a negative
 * error (TL_ENOMEM: checking a JSON field ran out of memory). */
int tl__validate(tl_vctx_t *vc, const tl_canon_t *c, tl_rec_t *out, char *msg, size_t msglen);

/* ---- presets (preset.c) ---------------------------------------------------- */

typedef struct tl_rowctx tl_rowctx_t;

/* A preset's row handler turns one source row into canonical records by
 * calling tl__emit; the first record emitted is the row's primary record. */
typedef int (*tl_rowhandler_fn)(tl_rowctx_t *rc, const tl_slice_t *cols, int ncols);

typedef struct {
    tl_kind_t kind;        /* kind of the primary record */
    tl_format_t format;
    const char *delimiter;
    int header;            /* the file has a header line to skip */
    int latin1;
    int quotes;            /* the format uses CSV quoting */
    int ncols;             /* expected columns (0 = from the header) */
    tl_rowhandler_fn row;
} tl_presetfile_t;

/* Bytes of a source's start looked at to tell its layout. */
#define TL__PRESET_HEAD 4096

/* Chooses how to read the file path under preset from head[0..n), its
 * first bytes (tl__input_head); eb explains a refusal. */
int tl__preset_file(const char *preset, const char *path, const char *head, size_t n,
                    tl_presetfile_t *out, tl_errbuf_t *eb);
/* The preset whose layout the first line of path, in head[0..n), has:
 * 1 with *preset and *what (the file, in words) set, 0 when it has none,
 * TL_EINVAL (eb names the candidates) when it fits several presets. */
int tl__preset_detect(const char *path, const char *head, size_t n, const char **preset,
                      const char **what, tl_errbuf_t *eb);

/* For row handlers: emits a canonical record; returns 0 or a negative error. */
int tl__emit(tl_rowctx_t *rc, tl_canon_t *c);
/* Row-arena helpers for building values. */
tl_slice_t tl__rowfmt(tl_rowctx_t *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The source line of the row, and a scratch buffer (cleared) for building
 * values such as JSON attributes. */
uint64_t tl__row_line(const tl_rowctx_t *rc);
tl_buf_t *tl__row_buf(tl_rowctx_t *rc);
/* Marks the row bad with a reason before any record is emitted. */
void tl__row_reject(tl_rowctx_t *rc, tl_reason_t reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An empty canonical record of a kind: every field absent. */
static inline void tl_canon_init(tl_canon_t *c, tl_kind_t kind) {
    c->kind = kind;
    c->clean = 0;
    for (int i = 0; i < TL_KIND_MAX_FIELDS; i++) c->v[i].p = NULL, c->v[i].n = 0;
}

static inline tl_slice_t tl_sl(const char *s) {
    tl_slice_t x = {s, s ? strlen(s) : 0};
    return x;
}

/* The layout of a preset's single file for tables (tl_table_read): its
 * delimiter, quoting, whether it has a header, and its column names when
 * it has none. Returns TL_EINVAL for a preset without one. */
int tl__preset_table(const char *preset, const char **delim, int *quotes, int *header,
                     const char *const **names, int *ncols, tl_errbuf_t *eb);

/* ---- the order of the sources of a run (order.c) -------------------------- */

/* The kind of records a header (or a JSON object's keys) names, or
 * TL_KIND_AUTO when it names none. */
tl_kind_t tl__detect_kind(const tl_slice_t *cols, int n);
/* The format of a source named name: the options', else its name's. */
tl_format_t tl__source_format(const tl_import_opts_t *o, const char *name);
/* Reads the header line of a CSV source into names (trimmed, without a
 * byte-order mark; valid until the next read) and, when *kind is
 * TL_KIND_AUTO, the kind it names. Returns 1, 0 for an empty source, or a
 * negative error (eb says what). */
int tl__read_header(tl_reader_t *rd, tl_slice_t *names, int *n, tl_kind_t *kind, tl_errbuf_t *eb);

/* The preset src is read with (*preset NULL: none) and its file's layout
 * in pf: the options', or, for a CSV file given without options, the one
 * whose layout its first line has (*what says which file). A look at the
 * source opens in and leaves it rewound. */
int tl__source_preset(const tl_import_opts_t *o, const tl_source_t *src, tl_input_t *in,
                      const char **preset, const char **what, tl_presetfile_t *pf,
                      tl_errbuf_t *eb);

typedef struct {
    int index;      /* in the sources given */
    tl_kind_t kind; /* TL_KIND_AUTO: only the import can tell */
} tl_srckind_t;

/* The sources src[0..n) in the order a run reads them (*out: the caller
 * frees it). Looking at a source opens in[i]; a stream stays open, rewound,
 * for the import to read (the caller closes every in[i]). */
int tl__source_order(const tl_import_opts_t *o, const tl_source_t *src, tl_input_t *in, int n,
                     tl_srckind_t **out, tl_errbuf_t *eb);

/* ---- what the importer does around the readers (import.c) ---------------- */

/* v without the spaces and tabs around it. */
static inline tl_slice_t tl__trim(tl_slice_t v) {
    while (v.n && (v.p[0] == ' ' || v.p[0] == '\t')) v.p++, v.n--;
    while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t')) v.n--;
    return v;
}
/* 1 if the JSON text escapes a NUL character (\u0000): cJSON would cut
 * the string there without a word. */
int tl__json_has_nul(const char *s, size_t n);
/* cJSON_ParseWithLengthOpts (not requiring the end to be NUL), telling
 * the two reasons for a NULL apart: *rc is TL_ENOMEM when cJSON ran out of
 * memory (an error, not a bad row), 0 otherwise. The caller owns the
 * result (cJSON_Delete). */
cJSON *tl__json_parse(const char *s, size_t n, const char **end, int *rc);

/* ---- the importer (import.c and the files import_*.c) ---------------------
 * import.c drives the sources; import_row.c turns a row into canonical
 * records; import_pipe.c is the parsing thread and the queue of chunks;
 * import_write.c writes the chunks (interning, de-duplicating, quarantine,
 * commits). */

#define MAX_RECS 4                 /* records one row may emit */
#define CHUNK_ROWS 8192
#define CHUNK_RECS (CHUNK_ROWS * 2)
#define CHUNK_ARENA (12u << 20)
#define ROW_RESERVE (3u << 20)     /* arena room a single row may need */
#define NCHUNKS 4

/* One source row as the parser left it for the writer. */
typedef struct {
    uint64_t line;
    uint32_t rec0;
    uint8_t nrec;
    int16_t reason;   /* -1: valid */
    const char *msg;  /* when rejected */
    const char *raw;  /* when rejected, or when the writer may still reject it */
    size_t rawlen;
    const char *preview; /* raw with personal data masked, for listings */
} row_t;

typedef struct {
    row_t rows[CHUNK_ROWS];
    uint32_t nrows;
    tl_rec_t recs[CHUNK_RECS];
    uint32_t nrecs;
    tl_arena_t arena;
    uint64_t bytes; /* bytes of the file consumed after the last row */
    int last;       /* no chunk follows for this file */
    int err;        /* the parser failed after the last row */
    tl_errbuf_t eb;
} chunk_t;

typedef struct idcache idcache_t;

typedef struct {
    tl_store_t *st;
    const tl_import_opts_t *o;
    tl_import_stats_t *stats;
    tl_reject_fn on_reject;
    void *arg;
    tl_vctx_t vc;
    tl_dict_t *users, *items, *queries, *cities, *campaigns;
    idcache_t *user_cache, *item_cache; /* see intern_cached */
    tl_reader_t rd;
    const tl_source_t *src; /* the source being read */
    const char *source;     /* its name in the quarantine: a regular file's canonical path */
    uint64_t batch_rows, in_batch;
    uint64_t rows; /* rows of the source read so far */
    /* Resuming after the store's connection was lost (import.c): the
     * source's place in the run's order, the rows of it handed to the
     * writer and the first of them to write (those before were committed),
     * the counts when it began; the last commit's place and counts. */
    int k;
    uint64_t written, skip;
    tl_import_stats_t src_start;
    struct {
        int k;
        uint64_t rows;
        tl_import_stats_t stats, src_start;
    } ck;
    /* generic mapping: column → field (or -1); for JSON, keys go by name */
    tl_kind_t kind;
    int ncols;
    int first_nf; /* a headerless file read by --map: its first record's field count */
    int colfield[TL_MAX_FIELDS];
    struct {
        char key[64];
        int field;
    } jmap[TL_KIND_MAX_FIELDS * 2];
    int njmap;
    const char *preset; /* the source's preset: the options', or the one its content has */
    tl_slice_t konst[TL_KIND_MAX_FIELDS]; /* --set: the constant of each field (p NULL: none) */
    tl_presetfile_t pf;
    int latin1;
    tl_format_t fmt;
    uint64_t file_size;
    cJSON *json;
    tl_buf_t scratch; /* for row handlers that build JSON */
    int any_erased;   /* the store has tombstones: new user ids are checked */
    /* identifiers: the store's rules, the kind of values without a prefix
     * (-1: member ids, taken as given), the keys of the row being written */
    tl_id_rules_t rules;
    int id_kind;
    tl_buf_t keys;
    /* the queue of chunks between the two threads */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk_t *chunks[NCHUNKS];
    int head, count, stop;
    chunk_t *cur; /* the chunk the parser fills */
} importer_t;

struct tl_rowctx {
    importer_t *im;
    tl_rec_t *recs; /* room for MAX_RECS in the current chunk */
    int nrec;
    int rejected;
    tl_reason_t reason;
    char msg[320];
};


/* A small direct-mapped cache in front of the user and item dictionaries.
 * Events of a visit come a few minutes apart and popular items recur, so
 * most ids were seen moments ago: a hit costs one cache-resident compare
 * instead of two random memory reads in the dictionary. Only short ids are
 * cached; the entry holds the id itself, so a hit is exact. */
#define IDC_SLOTS 4096
#define IDC_MAXLEN 19

typedef struct {
    uint64_t h;
    uint32_t idx;
    uint8_t len;
    char s[IDC_MAXLEN];
} idc_entry_t;

struct idcache {
    idc_entry_t e[IDC_SLOTS];
};

/* Column values as handed to handlers: trimmed, converted, NULL if empty
 * (import_row.c). */
void tl__prepare_cols(importer_t *im, tl_slice_t *cols, int n);
/* The generic row handlers, for a CSV row and a JSON line (import_row.c). */
int tl__generic_csv_row(tl_rowctx_t *rc, const tl_slice_t *cols, int ncols);
int tl__jsonl_row(tl_rowctx_t *rc, const char *line, size_t n);
/* Gives the fields of c that --set names their constants (import_row.c). */
void tl__apply_consts(const importer_t *im, tl_canon_t *c);
/* The canonical field a JSON key maps to, or -1 (import_row.c). */
int tl__json_field(importer_t *im, const char *key);
/* Whether a record names an identifier of a kind (a user or alias value
 * with a kind's prefix, or any when the source gives a kind): its key is
 * made when it is written, and may be refused then (import_write.c). */
int tl__rec_keyed(const importer_t *im, const tl_rec_t *r);
/* Notes that everything written so far is committed: a lost connection
 * resumes from here (import.c). */
void tl__import_checkpoint(importer_t *im);
/* Writes a chunk's rows in order (import_write.c). */
int tl__write_chunk(importer_t *im, chunk_t *ck, tl_errbuf_t *eb);
/* Tells the front end how far the source being read has got (import_pipe.c). */
void tl__import_progress(const importer_t *im, tl_progress_phase_t phase, uint64_t done);
/* Runs the parser thread over the open reader and writes what it yields
 * (import_pipe.c). */
int tl__import_pump(importer_t *im, tl_errbuf_t *eb);

#endif
