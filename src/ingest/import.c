/* import.c -- the import driver: source → rows → canonical records → store.
 *
 * For each source (in the order order.c gives) it picks the format and the
 * kind (from the options, the preset, or the header), maps columns (or JSON
 * keys) onto canonical fields, and hands every row to a row handler: the
 * generic one below, or a preset's. A row handler emits one or more canonical records; if all pass
 * validation they are written (the first one decides whether the row counts
 * as accepted or duplicate), otherwise the whole row is quarantined with the
 * first reason. Every row read ends in exactly one of the three counters.
 *
 * Two threads share the work of one source. The parsing thread reads, splits,
 * maps and validates rows into chunks of a few thousand (each chunk owns the
 * text its records point to); the calling thread takes the chunks in order
 * and writes them: interning ids, de-duplicating, appending events and
 * upserting entities. Nothing the parser reads is written while it runs.
 *
 * Batches of batch_rows rows are committed as one unit (see store.h); under
 * --strict the whole run is one batch, rolled back if any row was bad. */
#include "ingest_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
    /* generic mapping: column → field (or -1); for JSON, keys go by name */
    tl_kind_t kind;
    int ncols;
    int colfield[TL_MAX_FIELDS];
    struct {
        char key[64];
        int field;
    } jmap[TL_KIND_MAX_FIELDS * 2];
    int njmap;
    tl_presetfile_t pf;
    int latin1;
    tl_format_t fmt;
    uint64_t file_size;
    cJSON *json;
    tl_buf_t scratch; /* for row handlers that build JSON */
    int any_erased;   /* the store has tombstones: new user ids are checked */
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

void tl_import_opts_default(tl_import_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->kind = TL_KIND_AUTO;
    o->format = TL_FMT_AUTO;
}

/* ---- row helpers for handlers ------------------------------------------- */

void tl__row_reject(tl_rowctx_t *rc, tl_reason_t reason, const char *fmt, ...) {
    if (rc->rejected) return;
    rc->rejected = 1;
    rc->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rc->msg, sizeof rc->msg, fmt, ap);
    va_end(ap);
}

int tl__emit(tl_rowctx_t *rc, tl_canon_t *c) {
    if (rc->rejected) return 0;
    if (rc->nrec == MAX_RECS) return TL_EINVAL;
    /* Values of a clean CSV record, and what handlers build from them, are
     * printable ASCII. */
    c->clean = rc->im->rd.clean && !rc->im->latin1 && rc->im->fmt != TL_FMT_JSONL;
    int r = tl__validate(&rc->im->vc, c, &rc->recs[rc->nrec], rc->msg, sizeof rc->msg);
    if (r < 0) return r;
    if (r) {
        rc->rejected = 1;
        rc->reason = (tl_reason_t)(r - 1);
        return 0;
    }
    rc->nrec++;
    return 0;
}

tl_slice_t tl__rowfmt(tl_rowctx_t *rc, const char *fmt, ...) {
    tl_arena_t *a = &rc->im->cur->arena;
    va_list ap;
    va_start(ap, fmt);
    size_t room = a->cap - a->len;
    int n = vsnprintf(a->mem + a->len, room, fmt, ap);
    va_end(ap);
    tl_slice_t s = {NULL, 0};
    if (n < 0 || (size_t)n >= room) return s;
    s.p = a->mem + a->len;
    s.n = (size_t)n;
    a->len += (size_t)n + 1;
    return s;
}

uint64_t tl__row_line(const tl_rowctx_t *rc) { return rc->im->rd.line; }

tl_buf_t *tl__row_buf(tl_rowctx_t *rc) {
    tl_buf_clear(&rc->im->scratch);
    return &rc->im->scratch;
}

/* ---- value normalisation ------------------------------------------------- */

/* ISO-8859-1 → UTF-8 into the row arena (each byte ≥ 0x80 becomes two). */
static tl_slice_t latin1(importer_t *im, tl_slice_t v) {
    size_t hi = 0;
    for (size_t i = 0; i < v.n; i++) hi += (unsigned char)v.p[i] >= 0x80;
    if (!hi) return v;
    tl_arena_t *a = &im->cur->arena;
    if (a->len + v.n + hi + 1 > a->cap) return v;
    char *o = a->mem + a->len, *w = o;
    for (size_t i = 0; i < v.n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c < 0x80) {
            *w++ = (char)c;
        } else {
            *w++ = (char)(0xC0 | (c >> 6));
            *w++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *w = 0;
    a->len += (size_t)(w - o) + 1;
    return (tl_slice_t){o, (size_t)(w - o)};
}

/* Column values as handed to handlers: trimmed, converted, NULL if empty. */
static void prepare_cols(importer_t *im, tl_slice_t *cols, int n) {
    for (int i = 0; i < n; i++) {
        tl_slice_t v = tl__trim(cols[i]);
        if (im->latin1) v = latin1(im, v);
        cols[i] = v.n ? v : (tl_slice_t){NULL, 0};
    }
}

/* ---- the generic row handlers -------------------------------------------- */

static int generic_csv_row(tl_rowctx_t *rc, const tl_slice_t *cols, int ncols) {
    importer_t *im = rc->im;
    tl_canon_t c;
    tl_canon_init(&c, im->kind);
    for (int i = 0; i < ncols && i < TL_MAX_FIELDS; i++)
        if (im->colfield[i] >= 0) c.v[im->colfield[i]] = cols[i];
    return tl__emit(rc, &c);
}

static int json_field(importer_t *im, const char *key) {
    for (int i = 0; i < im->njmap; i++)
        if (strcmp(im->jmap[i].key, key) == 0) return im->jmap[i].field;
    return -2;
}

int tl__json_has_nul(const char *s, size_t n) {
    for (const char *p = s; (p = memchr(p, 'u', (size_t)(s + n - p))) != NULL; p++) {
        if (p == s || p[-1] != '\\' || (size_t)(s + n - p) < 5 || memcmp(p + 1, "0000", 4) != 0)
            continue;
        size_t bs = 0;
        for (const char *q = p - 1; q >= s && *q == '\\'; q--) bs++;
        if (bs % 2 == 1) return 1;
    }
    return 0;
}

static int cmp_key(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *tl_import_dup_key(const cJSON *j, int *rc) {
    *rc = 0;
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) return NULL;
    size_t n = 0;
    for (const cJSON *it = j->child; it; it = it->next, n++) {
        const char *d = tl_import_dup_key(it, rc);
        if (d || *rc) return d;
    }
    if (!cJSON_IsObject(j) || n < 2) return NULL;
    /* sorted, so that an object of many keys costs n log n */
    const char *few[32], **keys = n <= 32 ? few : malloc(n * sizeof *keys);
    if (!keys) {
        *rc = TL_ENOMEM;
        return NULL;
    }
    size_t k = 0;
    for (const cJSON *it = j->child; it; it = it->next) keys[k++] = it->string;
    qsort(keys, n, sizeof *keys, cmp_key);
    const char *dup = NULL;
    for (k = 1; k < n && !dup; k++)
        if (strcmp(keys[k - 1], keys[k]) == 0) dup = keys[k];
    if (keys != few) free(keys);
    return dup;
}

/* ---- JSON parsing that tells running out of memory from bad JSON ---------
 * cJSON answers NULL to both. Its allocations go through json_alloc
 * (cJSON_InitHooks, once per process), which notes a failure where
 * tl__json_parse, on the same thread, reads it. */

static _Thread_local int json_oom;

static void *json_alloc(size_t n) {
    void *p = malloc(n);
    if (!p) json_oom = 1;
    return p;
}

static void json_hooks(void) {
    cJSON_Hooks h = {json_alloc, free};
    cJSON_InitHooks(&h);
}

cJSON *tl__json_parse(const char *s, size_t n, const char **end, int *rc) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, json_hooks);
    json_oom = 0;
    cJSON *j = cJSON_ParseWithLengthOpts(s, n, end, 0);
    *rc = !j && json_oom ? TL_ENOMEM : 0;
    return j;
}

static int jsonl_row(tl_rowctx_t *rc, const char *line, size_t n) {
    importer_t *im = rc->im;
    cJSON_Delete(im->json);
    const char *end = NULL;
    int prc;
    im->json = tl__json_parse(line, n, &end, &prc);
    if (prc) return prc;
    if (im->json && end) {
        /* Only white space may follow the object. */
        while (end < line + n && (*end == ' ' || *end == '\t' || *end == '\r')) end++;
        if (end != line + n) {
            tl__row_reject(rc, TL_R_BAD_JSON, "text after the JSON object at byte %zu",
                           (size_t)(end - line) + 1);
            return 0;
        }
    }
    if (im->json && tl__json_has_nul(line, n)) {
        tl__row_reject(rc, TL_R_BAD_UTF8, "a string holds a NUL character (\\u0000)");
        return 0;
    }
    if (!im->json || !cJSON_IsObject(im->json)) {
        const char *err = im->json ? NULL : cJSON_GetErrorPtr();
        if (err && err >= line && err <= line + n)
            tl__row_reject(rc, TL_R_BAD_JSON, "not a JSON object: syntax error at byte %zu",
                           (size_t)(err - line) + 1);
        else
            tl__row_reject(rc, TL_R_BAD_JSON, "not a JSON object");
        return 0;
    }
    const char *dup = tl_import_dup_key(im->json, &prc);
    if (prc) return prc;
    if (dup) {
        tl__row_reject(rc, TL_R_DUPLICATE_KEY, "the key \"%.64s\" appears twice in one object; "
                       "which value is meant cannot be told", dup);
        return 0;
    }
    tl_canon_t c;
    tl_canon_init(&c, im->kind);
    for (cJSON *it = im->json->child; it; it = it->next) {
        int f = json_field(im, it->string);
        if (f == -1) continue; /* mapped away */
        if (f < 0) {
            tl__row_reject(rc, TL_R_UNKNOWN_FIELD, "\"%s\" is not a field of %s records",
                           it->string, tl__kinds[im->kind].name);
            return 0;
        }
        tl_slice_t v = {NULL, 0};
        if (cJSON_IsString(it)) {
            v = tl__trim(tl_sl(it->valuestring));
        } else if (cJSON_IsNumber(it)) {
            double d = it->valuedouble;
            if (d > -9.0e15 && d < 9.0e15 && d == (double)(int64_t)d)
                v = tl__rowfmt(rc, "%lld", (long long)d);
            else
                v = tl__rowfmt(rc, "%.17g", d);
        } else if (cJSON_IsBool(it)) {
            v = tl_sl(cJSON_IsTrue(it) ? "true" : "false");
        } else if (cJSON_IsNull(it)) {
            continue;
        } else if (tl__kinds[im->kind].fields[f].type == FT_JSON && cJSON_IsObject(it)) {
            char *txt = cJSON_PrintUnformatted(it);
            if (!txt) return TL_ENOMEM;
            v = tl__rowfmt(rc, "%s", txt);
            cJSON_free(txt);
        } else {
            tl__row_reject(rc, TL_R_BAD_TYPE, "field %s must be a string or a number, not %s",
                           it->string, cJSON_IsArray(it) ? "an array" : "an object");
            return 0;
        }
        if (v.n) c.v[f] = v;
    }
    return tl__emit(rc, &c);
}

/* ---- writing (the calling thread) ---------------------------------------- */

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

static int intern_cached(tl_dict_t *d, idcache_t *c, const tl_ref_t *r, uint32_t *out) {
    *out = TL_NONE;
    if (!r->p) return 0;
    idc_entry_t *e = &c->e[(r->h >> 20) & (IDC_SLOTS - 1)];
    /* idx first: the other fields of an empty entry were never written */
    if (e->idx != TL_NONE && e->h == r->h && e->len == r->n && r->n <= IDC_MAXLEN &&
        memcmp(e->s, r->p, r->n) == 0) {
        *out = e->idx;
        return 0;
    }
    int rc = tl_dict_intern_h(d, r->p, r->n, r->h, out, NULL);
    if (rc == 0 && r->n <= IDC_MAXLEN) {
        e->h = r->h;
        e->len = (uint8_t)r->n;
        memcpy(e->s, r->p, r->n);
        e->idx = *out;
    }
    return rc;
}

static int intern_ref(tl_dict_t *d, const tl_ref_t *r, uint32_t *out) {
    *out = TL_NONE;
    return r->p ? tl_dict_intern_h(d, r->p, r->n, r->h, out, NULL) : 0;
}

/* Writes one validated record: 1 new or changed, 0 duplicate, < 0 error. */
static int write_rec(importer_t *im, tl_rec_t *r, tl_errbuf_t *eb) {
    int rc;
    uint32_t user;
    switch (r->kind) {
    case TL_KIND_EVENTS: {
        tl_event_t *e = &r->e.ev;
        const tl_ref_t *ref = r->e.ref;
        if ((rc = intern_cached(im->users, im->user_cache, &ref[TL_EREF_USER], &e->user)) ||
            (rc = intern_cached(im->items, im->item_cache, &ref[TL_EREF_ITEM], &e->item)) ||
            (rc = intern_ref(im->queries, &ref[TL_EREF_QUERY], &e->query)) ||
            (rc = intern_ref(im->cities, &ref[TL_EREF_CITY], &e->city)) ||
            (rc = intern_ref(im->campaigns, &ref[TL_EREF_CAMPAIGN], &e->campaign)))
            return rc;
        return tl_store_add_event(im->st, e, eb);
    }
    case TL_KIND_USERS: return tl_store_put_user(im->st, r->id, &r->u, eb);
    case TL_KIND_ITEMS: return tl_store_put_item(im->st, r->id, &r->it, eb);
    case TL_KIND_PRODUCTS: return tl_store_put_product(im->st, r->id, &r->p, eb);
    case TL_KIND_CREDIT:
        user = tl_dict_find(im->users, r->id, strlen(r->id));
        return tl_store_put_credit(im->st, user, &r->c, eb);
    case TL_KIND_CONSENTS:
        user = tl_dict_find(im->users, r->id, strlen(r->id));
        return tl_store_put_consent(im->st, user, r->cs.purpose, r->cs.granted, r->cs.at, eb);
    default: return TL_EINVAL;
    }
}

static int quarantine(importer_t *im, const row_t *row, tl_reason_t reason, const char *msg,
                      tl_errbuf_t *eb) {
    int rc = tl_store_quarantine(im->st, im->source, row->line, tl_reason_name(reason), msg,
                                 row->raw ? row->raw : "", row->rawlen,
                                 row->preview ? row->preview : "", eb);
    if (rc < 0) return rc;
    im->stats->quarantined++;
    im->stats->by_reason[reason]++;
    if (im->on_reject) im->on_reject(im->source, row->line, reason, msg, im->arg);
    return 0;
}

/* A credit record or consent must name a known user: one already stored, or
 * one emitted earlier in the same row. */
static int check_users(importer_t *im, const row_t *row, const tl_rec_t *recs, char *msg,
                       size_t cap) {
    for (int i = 0; i < row->nrec; i++) {
        const tl_rec_t *r = &recs[i];
        if (r->kind != TL_KIND_CREDIT && r->kind != TL_KIND_CONSENTS) continue;
        if (tl_dict_find(im->users, r->id, strlen(r->id)) != TL_NONE) continue;
        int same_row = 0;
        for (int k = 0; k < i; k++)
            if (recs[k].kind == TL_KIND_USERS && strcmp(recs[k].id, r->id) == 0) same_row = 1;
        if (same_row) continue;
        snprintf(msg, cap, "user \"%.80s\" is not known: import users (or their events) first",
                 r->id);
        return 0;
    }
    return 1;
}

/* 1 if a record of the row is about an erased user (an id the dictionary
 * no longer has, among the tombstones), 0 if not, or an error. */
static int erased_user(importer_t *im, const row_t *row, const tl_rec_t *recs, tl_errbuf_t *eb) {
    for (int i = 0; i < row->nrec; i++) {
        const tl_rec_t *r = &recs[i];
        const char *id = r->kind == TL_KIND_EVENTS ? r->e.ref[TL_EREF_USER].p : r->id;
        size_t n = r->kind == TL_KIND_EVENTS ? r->e.ref[TL_EREF_USER].n : id ? strlen(id) : 0;
        if (!id || (r->kind != TL_KIND_EVENTS && r->kind != TL_KIND_USERS &&
                    r->kind != TL_KIND_CREDIT && r->kind != TL_KIND_CONSENTS))
            continue;
        if (tl_dict_find(im->users, id, n) != TL_NONE) continue;
        int rc = tl_store_erased(im->st, id, n, NULL, eb);
        if (rc) return rc;
    }
    return 0;
}

static int write_row(importer_t *im, const row_t *row, tl_rec_t *recs, tl_errbuf_t *eb) {
    im->stats->read++;
    if (row->reason >= 0) return quarantine(im, row, (tl_reason_t)row->reason, row->msg, eb);
    if (im->any_erased) {
        int rc = erased_user(im, row, recs, eb);
        if (rc < 0) return rc;
        if (rc) { /* kept by position and reason only: the content is what was erased */
            row_t bare = *row;
            bare.raw = NULL, bare.rawlen = 0, bare.preview = NULL;
            return quarantine(im, &bare, TL_R_ERASED_USER, "the user was erased; their records "
                              "are not imported again", eb);
        }
    }
    char msg[160];
    if (row->raw && !check_users(im, row, recs, msg, sizeof msg))
        return quarantine(im, row, TL_R_UNKNOWN_USER, msg, eb);
    int primary = 0;
    for (int i = 0; i < row->nrec; i++) {
        int r = write_rec(im, &recs[i], eb);
        if (r < 0) return r;
        if (i == 0) primary = r;
    }
    if (primary) im->stats->accepted++;
    else im->stats->duplicates++;
    return 0;
}

static int maybe_commit(importer_t *im, tl_errbuf_t *eb) {
    if (im->o->strict || ++im->in_batch < im->batch_rows) return 0;
    im->in_batch = 0;
    int rc = tl_store_commit(im->st, eb);
    if (!rc) rc = tl_store_begin(im->st, eb);
    return rc;
}

/* The event record of row i of a chunk, or NULL. */
static const tl_rec_t *event_of(const chunk_t *ck, uint32_t i) {
    const row_t *r = &ck->rows[i];
    if (r->reason >= 0 || !r->nrec || ck->recs[r->rec0].kind != TL_KIND_EVENTS) return NULL;
    return &ck->recs[r->rec0];
}

/* Writes a chunk's rows in order. The dictionary and fingerprint slots of
 * rows a little ahead are prefetched, hiding most cache misses. */
static int write_chunk(importer_t *im, chunk_t *ck, tl_errbuf_t *eb) {
    enum { FAR = 16, NEAR = 8 };
    for (uint32_t i = 0; i < ck->nrows; i++) {
        const tl_rec_t *r;
        if (i + FAR < ck->nrows && (r = event_of(ck, i + FAR))) {
            tl_dict_prefetch(im->users, r->e.ref[TL_EREF_USER].h);
            if (r->e.ref[TL_EREF_ITEM].p) tl_dict_prefetch(im->items, r->e.ref[TL_EREF_ITEM].h);
            tl_store_prefetch_event(im->st, r->e.ev.fp);
        }
        if (i + NEAR < ck->nrows && (r = event_of(ck, i + NEAR))) {
            tl_dict_prefetch_str(im->users, r->e.ref[TL_EREF_USER].h);
            if (r->e.ref[TL_EREF_ITEM].p) tl_dict_prefetch_str(im->items, r->e.ref[TL_EREF_ITEM].h);
        }
        const row_t *row = &ck->rows[i];
        int rc = write_row(im, row, &ck->recs[row->rec0], eb);
        if (!rc) rc = maybe_commit(im, eb);
        if (rc) return rc;
    }
    return 0;
}

/* ---- the parsing thread -------------------------------------------------- */

/* Takes a free chunk from the queue (waiting for the writer if all are in
 * use); NULL when the writer asked to stop. */
static chunk_t *take_free(importer_t *im) {
    pthread_mutex_lock(&im->mu);
    while (im->count == NCHUNKS && !im->stop) pthread_cond_wait(&im->cv, &im->mu);
    chunk_t *ck = im->stop ? NULL : im->chunks[(im->head + im->count) % NCHUNKS];
    pthread_mutex_unlock(&im->mu);
    if (ck) {
        ck->nrows = ck->nrecs = 0;
        ck->arena.len = 0;
        ck->last = ck->err = 0;
        ck->eb.msg[0] = 0;
    }
    return ck;
}

static void publish(importer_t *im) {
    pthread_mutex_lock(&im->mu);
    im->count++;
    pthread_cond_broadcast(&im->cv);
    pthread_mutex_unlock(&im->mu);
}

static int is_pii_field(int f) {
    static const char *const pii[] = {"name", "phone", "email", "id_number"};
    if (f < 0) return 0;
    for (size_t i = 0; i < sizeof pii / sizeof *pii; i++)
        if (strcmp(tl__kinds[TL_KIND_USERS].fields[f].name, pii[i]) == 0) return 1;
    return 0;
}

/* A display copy of the current record with personal data masked: the
 * personal fields of a user record by position (all fields when the row
 * does not line up with the header), and anything that looks like a phone,
 * an ID number or an e-mail elsewhere. */
static int make_preview(importer_t *im, tl_buf_t *b) {
    tl_reader_t *rd = &im->rd;
    tl_buf_clear(b);
    int users = im->kind == TL_KIND_USERS && !im->o->preset;
    if (!users || rd->err >= 0) return tl_mask_text(rd->raw, rd->rawlen, b);
    int rc = 0;
    if (im->fmt == TL_FMT_JSONL) {
        cJSON *j = tl__json_parse(rd->raw, rd->rawlen, NULL, &rc);
        if (rc) return rc;
        if (!j || !cJSON_IsObject(j)) {
            rc = tl_buf_printf(b, "(not a JSON object, %zu bytes)", rd->rawlen);
        } else {
            for (cJSON *it = j->child; !rc && it; it = it->next) {
                int f = json_field(im, it->string);
                if (!is_pii_field(f) || !cJSON_IsString(it)) continue;
                tl_buf_t m;
                tl_buf_init(&m);
                rc = tl_mask_value(it->valuestring, strlen(it->valuestring), &m);
                /* the value must not stay unmasked */
                if (!rc && !cJSON_SetValuestring(it, m.data ? m.data : "")) rc = TL_ENOMEM;
                tl_buf_fini(&m);
            }
            char *txt = rc ? NULL : cJSON_PrintUnformatted(j);
            if (!rc) rc = txt ? tl_mask_text(txt, strlen(txt), b) : TL_ENOMEM;
            cJSON_free(txt);
        }
        cJSON_Delete(j);
        return rc;
    }
    int aligned = rd->nf == im->ncols && !rd->too_many;
    for (int i = 0; !rc && i < rd->nf; i++) {
        if (i && (rc = tl_buf_append(b, rd->delim, (size_t)rd->dlen))) break;
        tl_slice_t v = rd->f[i];
        int quote = memchr(v.p, '"', v.n) || memchr(v.p, rd->delim[0], v.n) ||
                    memchr(v.p, '\n', v.n);
        size_t start = b->len;
        if (!aligned || is_pii_field(im->colfield[i])) rc = tl_mask_value(v.p, v.n, b);
        else rc = tl_mask_text(v.p, v.n, b);
        if (!rc && quote) {
            /* Re-quote what the mask left, doubling inner quotes. */
            tl_buf_t q;
            tl_buf_init(&q);
            rc = tl_buf_append(&q, "\"", 1);
            for (size_t k = start; !rc && k < b->len; k++) {
                if (b->data[k] == '"') rc = tl_buf_append(&q, "\"", 1);
                if (!rc) rc = tl_buf_append(&q, &b->data[k], 1);
            }
            if (!rc) rc = tl_buf_append(&q, "\"", 1);
            b->len = start;
            if (!rc) rc = tl_buf_append(b, q.data, q.len);
            tl_buf_fini(&q);
        }
    }
    return rc;
}

static const char *arena_copy(chunk_t *ck, const char *p, size_t n) {
    const char *c = tl__arena_dup(&ck->arena, p, n);
    return c ? c : "";
}

/* Parses one record of the reader into the current chunk. */
static int parse_row(importer_t *im, chunk_t *ck) {
    tl_rowctx_t row;
    row.im = im;
    row.recs = &ck->recs[ck->nrecs];
    row.nrec = 0;
    row.rejected = 0;
    int rc = 0;
    tl_reader_t *rd = &im->rd;
    if (rd->err >= 0) {
        tl__row_reject(&row, (tl_reason_t)rd->err, rd->err == TL_R_TOO_LONG
                                                       ? "the line is longer than 1 MiB"
                                                       : "a quoted field is never closed");
    } else if (im->fmt == TL_FMT_JSONL) {
        rc = jsonl_row(&row, rd->raw, rd->rawlen);
    } else if (rd->too_many || rd->nf != im->ncols) {
        tl__row_reject(&row, TL_R_FIELD_COUNT, "%s%d fields, expected %d",
                       rd->too_many ? "more than " : "", rd->nf, im->ncols);
    } else {
        tl_slice_t cols[TL_MAX_FIELDS];
        memcpy(cols, rd->f, sizeof cols[0] * (size_t)rd->nf);
        prepare_cols(im, cols, rd->nf);
        rc = im->o->preset ? im->pf.row(&row, cols, rd->nf) : generic_csv_row(&row, cols, rd->nf);
    }
    if (rc) return rc;
    row_t *r = &ck->rows[ck->nrows++];
    r->line = rd->line;
    r->rec0 = ck->nrecs;
    r->reason = -1;
    r->raw = r->msg = NULL;
    r->rawlen = 0;
    if (!row.rejected && row.nrec == 0)
        tl__row_reject(&row, TL_R_MISSING_FIELD, "the row holds no record");
    int keep_raw = row.rejected;
    for (int i = 0; i < row.nrec && !keep_raw; i++)
        keep_raw = row.recs[i].kind == TL_KIND_CREDIT || row.recs[i].kind == TL_KIND_CONSENTS;
    if (keep_raw) {
        r->raw = arena_copy(ck, rd->raw, rd->rawlen);
        r->rawlen = strlen(r->raw) == rd->rawlen ? rd->rawlen : strlen(r->raw);
    }
    r->preview = NULL;
    if (keep_raw) {
        if ((rc = make_preview(im, &im->scratch))) {
            ck->nrows--; /* the writer must not see the row half made */
            return rc;
        }
        r->preview = arena_copy(ck, im->scratch.data ? im->scratch.data : "", im->scratch.len);
    }
    if (row.rejected) {
        r->reason = (int16_t)row.reason;
        r->msg = arena_copy(ck, row.msg, strlen(row.msg));
        r->nrec = 0;
    } else {
        r->nrec = (uint8_t)row.nrec;
        ck->nrecs += (uint32_t)row.nrec;
    }
    return 0;
}

static void *parser_main(void *arg) {
    importer_t *im = arg;
    chunk_t *ck = take_free(im);
    while (ck) {
        im->cur = ck;
        im->vc.arena = &ck->arena;
        int rc = 0, eof = 0;
        while (ck->nrows < CHUNK_ROWS && ck->nrecs + MAX_RECS <= CHUNK_RECS &&
               ck->arena.cap - ck->arena.len >= ROW_RESERVE) {
            rc = im->fmt == TL_FMT_JSONL ? tl__reader_line(&im->rd, &ck->eb)
                                         : tl__reader_csv(&im->rd, &ck->eb);
            if (rc == 0) eof = 1;
            if (rc <= 0) break;
            if ((rc = parse_row(im, ck))) break;
        }
        ck->bytes = im->rd.bytes;
        if (rc < 0) ck->err = rc;
        ck->last = eof || rc < 0;
        int last = ck->last;
        publish(im);
        ck = last ? NULL : take_free(im);
    }
    return NULL;
}

/* Tells the front end how far the source being read has got. */
static void progress(const importer_t *im, tl_progress_phase_t phase, uint64_t done) {
    if (!im->o->on_progress) return;
    tl_import_progress_t p = {phase, im->src->name, done, im->file_size, im->rows};
    im->o->on_progress(&p, im->o->notify_arg);
}

/* Runs the parser thread over the open reader and writes what it yields. */
static int pump(importer_t *im, tl_errbuf_t *eb) {
    im->head = im->count = im->stop = 0;
    pthread_t th;
    if (pthread_create(&th, NULL, parser_main, im) != 0) {
        tl_errbuf_set(eb, "cannot start the parsing thread");
        return TL_ENOMEM;
    }
    int rc = 0, done = 0;
    while (!done) {
        pthread_mutex_lock(&im->mu);
        while (im->count == 0) pthread_cond_wait(&im->cv, &im->mu);
        chunk_t *ck = im->chunks[im->head];
        pthread_mutex_unlock(&im->mu);
        if (im->rows == 0 && ck->bytes && im->kind == TL_KIND_EVENTS) {
            /* Size the de-duplication set once, from the rows per byte of
             * the first chunk. */
            double est = (double)im->file_size * ck->nrows / (double)ck->bytes;
            tl_store_expect_events(im->st, (uint64_t)(est * 1.05) + 1024);
        }
        rc = write_chunk(im, ck, eb);
        if (!rc && ck->err) {
            rc = ck->err;
            memcpy(eb, &ck->eb, sizeof *eb);
        }
        done = ck->last || rc;
        im->rows += ck->nrows;
        progress(im, TL_PROGRESS_ROWS, ck->bytes);
        pthread_mutex_lock(&im->mu);
        im->head = (im->head + 1) % NCHUNKS;
        im->count--;
        if (rc) im->stop = 1;
        pthread_cond_broadcast(&im->cv);
        pthread_mutex_unlock(&im->mu);
    }
    pthread_join(th, NULL);
    return rc;
}

/* ---- header handling ----------------------------------------------------- */

/* Applies --map "field=column,...": column is a header name, #N (1-based),
 * or empty to ignore a column/key. names may be NULL (no header). */
static int apply_map(importer_t *im, const tl_slice_t *names, int ncols, tl_errbuf_t *eb) {
    const char *m = im->o->map;
    if (!m || !*m) return 0;
    while (*m) {
        const char *end = strchr(m, ',');
        size_t len = end ? (size_t)(end - m) : strlen(m);
        const char *eq = memchr(m, '=', len);
        if (!eq) {
            tl_errbuf_set(eb, "--map: \"%.*s\" is not field=column", (int)len, m);
            return TL_EINVAL;
        }
        size_t fl = (size_t)(eq - m), cl = len - fl - 1;
        const char *col = eq + 1;
        int f = tl__field_index(im->kind, m, fl);
        if (f < 0 && !(fl == 1 && m[0] == '-')) {
            tl_errbuf_set(eb, "--map: %.*s is not a field of %s records (see docs/FORMATS.md)",
                          (int)fl, m, tl__kinds[im->kind].name);
            return TL_EINVAL;
        }
        if (im->o->format == TL_FMT_JSONL || im->pf.format == TL_FMT_JSONL) {
            /* field=key, or -=key to ignore a key */
            if (im->njmap < (int)(sizeof im->jmap / sizeof *im->jmap) && cl < 64) {
                memcpy(im->jmap[im->njmap].key, col, cl);
                im->jmap[im->njmap].key[cl] = 0;
                im->jmap[im->njmap].field = f;
                /* The key's own name no longer maps to the field. */
                for (int i = 0; i < im->njmap; i++)
                    if (im->jmap[i].field == f && f >= 0) im->jmap[i].field = -2;
                im->njmap++;
            }
        } else {
            int ci = -1;
            if (cl > 1 && col[0] == '#') {
                int64_t k;
                if (tl_parse_i64(col + 1, cl - 1, &k) == 0 && k >= 1 && k <= ncols) ci = (int)k - 1;
            } else if (names) {
                for (int i = 0; i < ncols; i++)
                    if (names[i].n == cl && memcmp(names[i].p, col, cl) == 0) ci = i;
            }
            if (ci < 0) {
                tl_errbuf_set(eb, "--map: column \"%.*s\" is not in the file (%d columns; name "
                              "a header column or use #N)", (int)cl, col, ncols);
                return TL_EINVAL;
            }
            for (int i = 0; i < ncols; i++)
                if (f >= 0 && im->colfield[i] == f) im->colfield[i] = -1;
            im->colfield[ci] = f;
        }
        m += len + (end ? 1 : 0);
    }
    return 0;
}

/* Tells the front end of a header column that maps to no field. */
static void warn_ignored(const importer_t *im, tl_slice_t name) {
    if (!im->o->on_warning) return;
    char msg[512];
    snprintf(msg, sizeof msg, "%s: column \"%.*s\" is not a field of %s records; it is ignored "
             "(map it with --map FIELD=%.*s)", im->src->name, (int)name.n, name.p,
             tl__kinds[im->kind].name, (int)name.n, name.p);
    im->o->on_warning(msg, im->o->notify_arg);
}

static int setup_csv_columns(importer_t *im, const char *path, tl_errbuf_t *eb) {
    tl_slice_t names[TL_MAX_FIELDS] = {{NULL, 0}};
    int n = 0;
    if (!im->o->no_header) {
        int rc = tl__read_header(&im->rd, names, &n, &im->kind, eb);
        if (rc <= 0) return rc; /* 0: an empty file */
        for (int i = 0; i < n; i++) {
            im->colfield[i] = tl__field_index(im->kind, names[i].p, names[i].n);
        }
    } else {
        if (im->kind == TL_KIND_AUTO) {
            tl_errbuf_set(eb, "%s: a file without a header needs --kind", path);
            return TL_EINVAL;
        }
        /* Columns in canonical order unless --map says otherwise. */
        n = tl__kinds[im->kind].nfields;
        for (int i = 0; i < n; i++) im->colfield[i] = i;
    }
    im->ncols = n;
    int rc = apply_map(im, im->o->no_header ? NULL : names, n, eb);
    if (rc) return rc;
    if (!im->o->no_header) {
        for (int i = 0; i < n; i++)
            if (im->colfield[i] < 0 && names[i].n) warn_ignored(im, names[i]);
    }
    return 0;
}

static void setup_json_keys(importer_t *im) {
    const tl_kindspec_t *ks = &tl__kinds[im->kind];
    im->njmap = 0;
    for (int i = 0; i < ks->nfields; i++) {
        snprintf(im->jmap[im->njmap].key, sizeof im->jmap[0].key, "%s", ks->fields[i].name);
        im->jmap[im->njmap++].field = i;
    }
}

/* ---- one source ---------------------------------------------------------- */

/* Imports src through in (opened here unless the look at its kind left it
 * open); kind is what that look found (tl__source_order). */
static int import_source(importer_t *im, const tl_source_t *src, tl_input_t *in, tl_kind_t kind,
                         tl_errbuf_t *eb) {
    const tl_import_opts_t *o = im->o;
    const char *path = src->name;
    char real[PATH_MAX];
    im->src = src;
    im->source = src->kind == TL_SOURCE_FILE && realpath(path, real) ? real : path;
    im->file_size = im->rows = 0;
    memset(&im->pf, 0, sizeof im->pf);
    im->kind = kind;
    im->latin1 = o->encoding && (strcmp(o->encoding, "latin1") == 0 ||
                                 strcmp(o->encoding, "iso-8859-1") == 0);
    if (o->encoding && !im->latin1 && strcmp(o->encoding, "utf-8") != 0 &&
        strcmp(o->encoding, "utf8") != 0) {
        tl_errbuf_set(eb, "--encoding %s: use utf-8 or latin1", o->encoding);
        return TL_EINVAL;
    }
    im->fmt = o->format;
    const char *delim = o->delimiter;
    int rc;
    if (o->preset) {
        if ((rc = tl__preset_file(o->preset, path, &im->pf, eb))) return rc;
        im->kind = im->pf.kind;
        im->fmt = im->pf.format;
        delim = im->pf.delimiter;
        im->latin1 = im->pf.latin1;
    } else {
        im->fmt = tl__source_format(o, path);
    }
    if ((!in->open && (rc = tl__input_open(in, src, eb))) ||
        (rc = tl__reader_open_input(&im->rd, in, delim, eb))) {
        tl__reader_close(&im->rd);
        return rc;
    }
    if (o->preset) im->rd.quotes = im->pf.quotes;
    im->file_size = in->size;
    progress(im, TL_PROGRESS_START, 0);
    if (im->fmt == TL_FMT_JSONL && !o->preset) {
        if (im->kind == TL_KIND_AUTO) {
            tl_errbuf_set(eb, "%s: cannot tell what this file holds from its first object; name "
                          "the kind with --kind", path);
            rc = TL_EINVAL;
            goto done;
        }
        setup_json_keys(im);
        im->pf.format = TL_FMT_JSONL;
        if ((rc = apply_map(im, NULL, 0, eb))) goto done;
    } else if (!o->preset) {
        if ((rc = setup_csv_columns(im, path, eb))) goto done;
    } else if (im->pf.header) {
        rc = tl__reader_csv(&im->rd, eb);
        if (rc < 0) goto done;
        im->ncols = im->pf.ncols ? im->pf.ncols : im->rd.nf;
    } else {
        im->ncols = im->pf.ncols;
    }
    rc = pump(im, eb);
done:
    progress(im, TL_PROGRESS_END, im->rd.bytes);
    im->stats->bytes += im->rd.bytes;
    if (rc && !eb->msg[0])
        tl_errbuf_set(eb, "%s:%llu: %s", path, (unsigned long long)im->rd.line, tl_strerror(rc));
    tl__reader_close(&im->rd);
    tl__input_close(in);
    cJSON_Delete(im->json);
    im->json = NULL;
    return rc;
}

static int register_names(importer_t *im, tl_dkind_t kind, const char *list, tl_errbuf_t *eb) {
    if (!list || !*list) return 0;
    tl_dict_t *d = tl_store_dict(im->st, kind, eb);
    if (!d) return TL_ENOMEM;
    while (*list) {
        const char *end = strchr(list, ',');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        tl_slice_t v = {list, n};
        int ok = n > 0 && n <= 32;
        for (size_t i = 0; ok && i < n; i++)
            ok = (list[i] >= 'a' && list[i] <= 'z') || (list[i] >= '0' && list[i] <= '9') ||
                 list[i] == '_';
        if (!ok) {
            tl_errbuf_set(eb, "\"%.*s\": names of event types and channels are 1-32 lower-case "
                          "letters, digits or _", (int)v.n, v.p);
            return TL_EINVAL;
        }
        uint32_t idx;
        int rc = tl_dict_intern(d, list, n, &idx, NULL);
        if (rc) return rc;
        if (idx >= TL_MAX_TYPES) {
            tl_errbuf_set(eb, "at most %d event types and %d channels can be registered",
                          TL_MAX_TYPES, TL_MAX_TYPES);
            return TL_ERANGE;
        }
        list += n + (end ? 1 : 0);
    }
    return 0;
}

static void importer_free(importer_t *im) {
    for (int i = 0; i < NCHUNKS; i++) {
        if (im->chunks[i]) free(im->chunks[i]->arena.mem);
        free(im->chunks[i]);
    }
    tl_buf_fini(&im->scratch);
    free(im->user_cache);
    free(im->item_cache);
    pthread_mutex_destroy(&im->mu);
    pthread_cond_destroy(&im->cv);
    free(im);
}

int tl_import(tl_store_t *st, const tl_source_t *src, int nsrc, const tl_import_opts_t *o,
              tl_import_stats_t *stats, tl_reject_fn on_reject, void *arg, tl_errbuf_t *eb) {
    importer_t *im = calloc(1, sizeof *im);
    if (!im) {
        tl_errbuf_set(eb, "import: out of memory");
        return TL_ENOMEM;
    }
    pthread_mutex_init(&im->mu, NULL);
    pthread_cond_init(&im->cv, NULL);
    im->st = st;
    im->o = o;
    im->on_reject = on_reject;
    im->arg = arg;
    im->batch_rows = o->batch_rows ? o->batch_rows : (1u << 20);
    tl_import_stats_t run = {0};
    im->stats = &run;
    im->user_cache = malloc(sizeof *im->user_cache);
    im->item_cache = malloc(sizeof *im->item_cache);
    int rc = im->user_cache && im->item_cache ? 0 : TL_ENOMEM;
    if (!rc) {
        /* idx TL_NONE marks an empty entry */
        for (int i = 0; i < IDC_SLOTS; i++)
            im->user_cache->e[i].idx = im->item_cache->e[i].idx = TL_NONE;
    }
    for (int i = 0; !rc && i < NCHUNKS; i++) {
        im->chunks[i] = malloc(sizeof *im->chunks[i]);
        if (!im->chunks[i] || !(im->chunks[i]->arena.mem = malloc(CHUNK_ARENA))) {
            if (im->chunks[i]) im->chunks[i]->arena.mem = NULL;
            rc = TL_ENOMEM;
        } else {
            im->chunks[i]->arena.cap = CHUNK_ARENA;
        }
    }
    if (!rc && o->preset && !tl_import_preset_help(o->preset)) {
        tl_errbuf_set(eb, "--preset %s: no such preset (see `tailor import --help`)", o->preset);
        rc = TL_EINVAL;
    }
    if (!rc) rc = tl_store_begin(st, eb);
    if (!rc) rc = register_names(im, TL_D_TYPE, o->extra_types, eb);
    if (!rc) rc = register_names(im, TL_D_CHANNEL, o->extra_channels, eb);
    if (!rc) {
        im->vc.now_ms = tl_store_now(st);
        im->vc.types = tl_store_dict(st, TL_D_TYPE, eb);
        im->vc.channels = tl_store_dict(st, TL_D_CHANNEL, eb);
        im->users = tl_store_dict(st, TL_D_USER, eb);
        im->items = tl_store_dict(st, TL_D_ITEM, eb);
        im->queries = tl_store_dict(st, TL_D_QUERY, eb);
        im->cities = tl_store_dict(st, TL_D_CITY, eb);
        im->campaigns = tl_store_dict(st, TL_D_CAMPAIGN, eb);
        if ((im->any_erased = tl_store_erased_any(st, eb)) < 0) rc = im->any_erased;
        if (!rc && (!im->vc.types || !im->vc.channels || !im->users || !im->items || !im->queries ||
            !im->cities || !im->campaigns))
            rc = TL_ENOMEM;
    }
    tl_srckind_t *order = NULL;
    tl_input_t *in = rc ? NULL : calloc(nsrc > 0 ? (size_t)nsrc : 1, sizeof *in);
    if (!rc && !in) rc = TL_ENOMEM;
    if (!rc) rc = tl__source_order(o, src, in, nsrc, &order, eb);
    for (int k = 0; !rc && k < nsrc; k++) {
        int i = order[k].index;
        tl_import_stats_t before = run;
        rc = import_source(im, &src[i], &in[i], order[k].kind, eb);
        if (!rc && o->on_file) { /* this file's share of the run */
            tl_import_stats_t f = {run.read - before.read, run.accepted - before.accepted,
                                   run.duplicates - before.duplicates, run.quarantined - before.quarantined,
                                   {0}, run.bytes - before.bytes};
            o->on_file(src[i].name, &f, o->on_file_arg);
        }
    }
    for (int i = 0; in && i < nsrc; i++) tl__input_close(&in[i]); /* streams left by a failure */
    free(in);
    free(order);
    if (!rc && o->strict && run.quarantined) {
        tl_store_rollback(st);
        tl_errbuf_set(eb, "%llu of %llu rows are bad; under --strict nothing was imported",
                      (unsigned long long)run.quarantined, (unsigned long long)run.read);
        rc = TL_EBADINPUT;
    } else if (!rc) {
        rc = tl_store_commit(st, eb);
        /* campaigns read the consents in force off a snapshot */
        if (!rc) rc = tl_store_consents_refresh(st, eb);
    } else {
        tl_store_rollback(st);
    }
    stats->read += run.read;
    stats->accepted += run.accepted;
    stats->duplicates += run.duplicates;
    stats->quarantined += run.quarantined;
    for (int r = 0; r < TL_R__N; r++) stats->by_reason[r] += run.by_reason[r];
    stats->bytes += run.bytes;
    importer_free(im);
    if (rc && !eb->msg[0]) tl_errbuf_set(eb, "import: %s", tl_strerror(rc));
    return rc;
}
