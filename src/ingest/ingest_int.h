/* ingest_int.h -- private declarations of the ingest module: the streaming
 * readers (reader.c), the canonical schema and validators (validate.c) and
 * the presets (preset.c), all driven by import.c. */
#ifndef TL_INGEST_INT_H
#define TL_INGEST_INT_H

#include "ingest.h"

#include <cjson/cJSON.h>
#include <string.h>

#define TL_MAX_RECORD (1u << 20) /* longest record (line) accepted, bytes */
#define TL_MAX_FIELDS 256

typedef struct {
    const char *p;
    size_t n;
} tl_slice_t;

/* ---- readers (reader.c) ---------------------------------------------------
 * A reader owns one file and a buffer; each call yields one record whose
 * raw text and fields stay valid until the next call. */
typedef struct {
    int fd;             /* -1 when reading from memory */
    const char *mem;    /* the memory source, or NULL: the file */
    size_t memlen, memoff;
    const char *path;
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

int tl__reader_open(tl_reader_t *r, const char *path, const char *delim, tl_errbuf_t *eb);
/* The same over data[0..n) in memory (not copied: it must outlive the
 * reader), read exactly as a file holding those bytes; name stands for the
 * path in messages. */
int tl__reader_open_mem(tl_reader_t *r, const char *name, const char *data, size_t n,
                        const char *delim, tl_errbuf_t *eb);
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

enum { TL_EREF_USER, TL_EREF_ITEM, TL_EREF_QUERY, TL_EREF_CITY, TL_EREF_CAMPAIGN, TL_EREF__N };

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

/* Chooses how to read path under preset; eb explains a refusal. */
int tl__preset_file(const char *preset, const char *path, tl_presetfile_t *out, tl_errbuf_t *eb);

/* For row handlers: emits a canonical record; returns 0 or a negative error. */
int tl__emit(tl_rowctx_t *rc, tl_canon_t *c);
/* Row-arena helpers for building values. */
tl_slice_t tl__rowfmt(tl_rowctx_t *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
tl_slice_t tl__rowcat(tl_rowctx_t *rc, tl_slice_t a, tl_slice_t b);
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

/* ---- what the importer does around the readers (import.c) ---------------- */

/* v without the spaces and tabs around it. */
static inline tl_slice_t tl__trim(tl_slice_t v) {
    while (v.n && (v.p[0] == ' ' || v.p[0] == '\t')) v.p++, v.n--;
    while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t')) v.n--;
    return v;
}
/* The kind of records a header (or a JSON object's keys) names, or
 * TL_KIND_AUTO when it names none. */
tl_kind_t tl__detect_kind(const tl_slice_t *cols, int n);
/* 1 if the JSON text escapes a NUL character (\u0000): cJSON would cut
 * the string there without a word. */
int tl__json_has_nul(const char *s, size_t n);
/* cJSON_ParseWithLengthOpts (not requiring the end to be NUL), telling
 * the two reasons for a NULL apart: *rc is TL_ENOMEM when cJSON ran out of
 * memory (an error, not a bad row), 0 otherwise. The caller owns the
 * result (cJSON_Delete). */
cJSON *tl__json_parse(const char *s, size_t n, const char **end, int *rc);

#endif
