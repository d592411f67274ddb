/* import_row.c -- a source row to canonical records: the helpers row
 * handlers use (reject, emit, format), value normalisation, the generic
 * handlers for CSV rows and JSON lines, and JSON parsing that tells running
 * out of memory from bad JSON. */
#include "ingest_int.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
void tl__prepare_cols(importer_t *im, tl_slice_t *cols, int n) {
    for (int i = 0; i < n; i++) {
        tl_slice_t v = tl__trim(cols[i]);
        if (im->latin1) v = latin1(im, v);
        cols[i] = v.n ? v : (tl_slice_t){NULL, 0};
    }
}

/* ---- the generic row handlers -------------------------------------------- */

int tl__generic_csv_row(tl_rowctx_t *rc, const tl_slice_t *cols, int ncols) {
    importer_t *im = rc->im;
    tl_canon_t c;
    tl_canon_init(&c, im->kind);
    for (int i = 0; i < ncols && i < TL_MAX_FIELDS; i++)
        if (im->colfield[i] >= 0) c.v[im->colfield[i]] = cols[i];
    tl__apply_consts(im, &c);
    return tl__emit(rc, &c);
}

void tl__apply_consts(const importer_t *im, tl_canon_t *c) {
    for (int f = 0; f < TL_KIND_MAX_FIELDS; f++)
        if (im->konst[f].p) c->v[f] = im->konst[f];
}

int tl__json_field(importer_t *im, const char *key) {
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

int tl__jsonl_row(tl_rowctx_t *rc, const char *line, size_t n) {
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
        int f = tl__json_field(im, it->string);
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
    tl__apply_consts(im, &c);
    return tl__emit(rc, &c);
}
