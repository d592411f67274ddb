/* fuzz_jsonl.c -- feeds the input, as a JSON Lines file, to the line reader
 * (src/ingest/reader.c) and every line through the JSON mapping and
 * validation (validate.c) the way `tailor import` does it (import.c:
 * detect_json_kind; import_row.c: tl__jsonl_row): the first object's keys name the kind, each
 * line must be one JSON object with only white space after it, no \u0000
 * in its strings and no key twice in one object, its keys are the kind's
 * field names, strings are trimmed, numbers printed back (integers without
 * a fraction), booleans as true/false, null absent, and an object only
 * where the field is JSON.
 * Every line is masked for the quarantine listing as import does.
 *
 * When the first object names no kind, the first byte of the input chooses
 * one. Checked beyond "no crash": line numbers rise, a line holds no
 * line end (LF, or CR in a CR-only file), every byte is consumed, and
 * an accepted record is what its kind promises. */
#include "fuzz.h"
#include "ingest/ingest_int.h"

#include <math.h>
#include <stdarg.h>

#define NOW_MS INT64_C(1764547200000) /* 2025-12-01T00:00:00Z */

static tl_dict_t *types, *channels;
static tl_arena_t arena;
static tl_buf_t preview;

static void cleanup(void) {
    tl_dict_free(types);
    tl_dict_free(channels);
    free(arena.mem);
    tl_buf_fini(&preview);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    types = tl_dict_new();
    channels = tl_dict_new();
    uint32_t idx;
#define XX(c, s) tl_dict_intern(types, s, strlen(s), &idx, NULL);
    TL_EVENT_TYPES(XX)
#undef XX
#define XX(c, s) tl_dict_intern(channels, s, strlen(s), &idx, NULL);
    TL_CHANNELS(XX)
#undef XX
    arena.cap = 3u << 20; /* import's room for one row */
    arena.mem = malloc(arena.cap);
    tl_buf_init(&preview);
    if (!types || !channels || !arena.mem) abort();
    atexit(cleanup);
    return 0;
}

/* ---- what the importer does around the reader (mapping in step with it) --- */

/* The kind an object's keys name, as import reads a JSON Lines file. */
static tl_kind_t detect_kind(cJSON *j) {
    tl_slice_t names[TL_MAX_FIELDS];
    int n = 0;
    for (cJSON *it = j->child; it && n < TL_MAX_FIELDS; it = it->next) names[n++] = tl_sl(it->string);
    return tl__detect_kind(names, n);
}

/* A value printed into the row arena (import's tl__rowfmt). */
static tl_slice_t arena_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static tl_slice_t arena_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = arena.cap - arena.len;
    int n = vsnprintf(arena.mem + arena.len, room, fmt, ap);
    va_end(ap);
    tl_slice_t s = {NULL, 0};
    if (n < 0 || (size_t)n >= room) return s;
    s.p = arena.mem + arena.len;
    s.n = (size_t)n;
    arena.len += (size_t)n + 1;
    return s;
}

/* ---- checks -------------------------------------------------------------------- */

static void check_valid(const tl_canon_t *c, const tl_rec_t *rec) {
    FUZZ_CHECK(rec->kind == c->kind);
    if (c->kind != TL_KIND_EVENTS) {
        FUZZ_CHECK(rec->id && strlen(rec->id) == c->v[0].n && c->v[0].n > 0);
        return;
    }
    const tl_event_t *e = &rec->e.ev;
    FUZZ_CHECK(e->ts >= INT64_C(631152000000) && e->ts <= NOW_MS + TL_MS_PER_DAY);
    FUZZ_CHECK(e->type < tl_dict_count(types));
    FUZZ_CHECK(e->channel == TL_NO_CHANNEL || e->channel < tl_dict_count(channels));
    FUZZ_CHECK(e->qty >= 1 && e->qty <= 1000000);
    FUZZ_CHECK(isnan(e->amount) || e->amount >= 0);
    FUZZ_CHECK(isnan(e->rating) || (e->rating >= 0 && e->rating <= 10));
    FUZZ_CHECK(isnan(e->lat) == isnan(e->lon));
    FUZZ_CHECK(isnan(e->lat) || (fabsf(e->lat) <= 90 && fabsf(e->lon) <= 180));
    const tl_ref_t *u = &rec->e.ref[TL_EREF_USER];
    FUZZ_CHECK(u->p && strlen(u->p) == u->n && u->n > 0);
}

/* ---- the target ------------------------------------------------------------------ */

/* Parses, maps and validates one line (import_row.c: tl__jsonl_row). */
static void one_line(const char *line, size_t n, tl_kind_t kind) {
    tl_vctx_t vc = {&arena, NOW_MS, types, channels, TL_EV_IDENTIFY};
    arena.len = 0;
    FUZZ_CHECK(tl_mask_text(line, n, &preview) == 0);
    tl_buf_clear(&preview);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(line, n, &end, 0);
    if (j && end) {
        FUZZ_CHECK(end >= line && end <= line + n);
        while (end < line + n && (*end == ' ' || *end == '\t' || *end == '\r')) end++;
        if (end != line + n) goto out;
    }
    if (!j || !cJSON_IsObject(j) || tl__json_has_nul(line, n)) goto out;
    int drc;
    if (tl_import_dup_key(j, &drc)) goto out; /* duplicate_key */
    FUZZ_CHECK(drc == 0);
    tl_canon_t c;
    tl_canon_init(&c, kind);
    for (cJSON *it = j->child; it; it = it->next) {
        int f = tl__field_index(kind, it->string, strlen(it->string));
        if (f < 0) goto out; /* unknown_field */
        tl_slice_t v = {NULL, 0};
        if (cJSON_IsString(it)) {
            v = tl__trim(tl_sl(it->valuestring));
        } else if (cJSON_IsNumber(it)) {
            /* import_row.c tests d == (double)(int64_t)d first, a cast out of
             * range for |d| >= 2^63 (reported; the server target reaches it) */
            double d = it->valuedouble;
            if (d > -9.0e15 && d < 9.0e15 && d == (double)(int64_t)d)
                v = arena_fmt("%lld", (long long)d);
            else
                v = arena_fmt("%.17g", d);
        } else if (cJSON_IsBool(it)) {
            v = tl_sl(cJSON_IsTrue(it) ? "true" : "false");
        } else if (cJSON_IsNull(it)) {
            continue;
        } else if (tl__kinds[kind].fields[f].type == FT_JSON && cJSON_IsObject(it)) {
            char *txt = cJSON_PrintUnformatted(it);
            FUZZ_CHECK(txt != NULL);
            v = arena_fmt("%s", txt);
            cJSON_free(txt);
        } else {
            goto out; /* bad_type */
        }
        if (v.n) c.v[f] = v;
    }
    tl_rec_t rec;
    char msg[320] = "";
    int rc = tl__validate(&vc, &c, &rec, msg, sizeof msg);
    FUZZ_CHECK(rc >= 0 && rc <= TL_R__N);
    if (rc) FUZZ_CHECK(msg[0] != 0);
    else check_valid(&c, &rec);
out:
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!types) LLVMFuzzerInitialize(NULL, NULL);
    const char *path = fuzz_input_path(data, size);
    tl_reader_t r;
    tl_errbuf_t eb = {{0}};
    tl_source_t src = tl_source_file(path);
    if (tl__reader_open(&r, &src, NULL, &eb)) {
        tl__reader_close(&r);
        return 0;
    }
    tl_kind_t kind = TL_KIND_AUTO;
    uint64_t last_line = 0;
    int rc;
    while ((rc = tl__reader_line(&r, &eb)) == 1) {
        FUZZ_CHECK(r.line > last_line);
        last_line = r.line;
        if (r.err >= 0) continue; /* too long: quarantined as it is */
        FUZZ_CHECK(r.rawlen > 0 && r.rawlen <= TL_MAX_RECORD);
        FUZZ_CHECK(!memchr(r.raw, r.eol, r.rawlen));
        if (kind == TL_KIND_AUTO) {
            cJSON *j = cJSON_ParseWithLength(r.raw, r.rawlen);
            if (j && cJSON_IsObject(j)) kind = detect_kind(j);
            cJSON_Delete(j);
            if (kind == TL_KIND_AUTO) kind = (tl_kind_t)(data[0] % TL_KIND__N);
        }
        one_line(r.raw, r.rawlen, kind);
    }
    FUZZ_CHECK(rc == 0); /* a memory file has no read errors */
    FUZZ_CHECK(r.bytes == size);
    tl__reader_close(&r);
    return 0;
}
