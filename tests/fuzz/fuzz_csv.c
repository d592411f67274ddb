/* fuzz_csv.c -- feeds the input, as a CSV file, to the streaming CSV reader
 * (src/ingest/reader.c) and every record it yields through the column
 * mapping and validation (validate.c) the way `tailor import` does it
 * (import.c: setup_csv_columns; import_pipe.c: parse_row; import_row.c:
 * tl__generic_csv_row): the header
 * names the kind and the columns, values are trimmed and empty ones absent,
 * a record whose field count differs from the header's is rejected, and a
 * clean record (printable ASCII) skips the UTF-8 checks. Rejected rows are
 * masked for the quarantine listing as import does.
 *
 * The delimiter is the most frequent of , ; tab | and :: in the first line
 * (:: without quoting, as the MovieLens preset reads it). A header that
 * names no kind makes the file headerless, of the kind chosen by the first
 * byte, with columns in canonical order.
 *
 * The same file is then read as a table (table.c: tl_table_read, what the
 * statistics commands such as `score train --csv` use), its delimiter
 * sniffed by the table reader itself.
 *
 * Checked beyond "no crash": line numbers rise, fields lie inside the
 * record or the unquoting buffer, a record called clean is printable ASCII,
 * every byte of the file is consumed, an accepted record is what its kind
 * promises (ids the length of their field, times and numbers in range), and
 * a table counts every record it read as a row or a rejection. */
#include "fuzz.h"
#include "ingest/ingest_int.h"

#include <math.h>

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

/* The delimiter the first line uses most. */
static const char *pick_delimiter(const uint8_t *data, size_t size) {
    static const char *const d[] = {",", ";", "\t", "|", "::"};
    size_t count[5] = {0};
    for (size_t i = 0; i < size && data[i] != '\n'; i++) {
        for (int k = 0; k < 4; k++) count[k] += data[i] == (uint8_t)d[k][0];
        if (data[i] == ':' && i + 1 < size && data[i + 1] == ':') count[4]++, i++;
    }
    int best = 0;
    for (int k = 1; k < 5; k++)
        if (count[k] > count[best]) best = k;
    return d[best];
}

/* ---- checks -------------------------------------------------------------------- */

static int inside(const char *p, size_t n, const char *base, size_t len) {
    return base && p >= base && p + n <= base + len;
}

static void check_record(const tl_reader_t *r) {
    if (r->err >= 0) return;
    FUZZ_CHECK(r->rawlen <= TL_MAX_RECORD);
    FUZZ_CHECK(r->nf >= 1 && r->nf <= TL_MAX_FIELDS);
    for (int i = 0; i < r->nf; i++) {
        const tl_slice_t *f = &r->f[i];
        FUZZ_CHECK(f->n == 0 || inside(f->p, f->n, r->raw, r->rawlen) ||
                   inside(f->p, f->n, r->unq.data, r->unq.len));
        for (size_t k = 0; r->clean && k < f->n; k++)
            FUZZ_CHECK((unsigned char)f->p[k] >= 0x20 && (unsigned char)f->p[k] < 0x7f);
    }
}

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

/* Maps, validates and masks the reader's current record. */
static void one_row(tl_reader_t *r, tl_kind_t kind, const int *colfield, int ncols) {
    tl_vctx_t vc = {&arena, NOW_MS, types, channels, TL_EV_IDENTIFY};
    arena.len = 0;
    FUZZ_CHECK(tl_mask_text(r->raw, r->rawlen, &preview) == 0);
    tl_buf_clear(&preview);
    if (r->err >= 0 || r->too_many || r->nf != ncols) return; /* quarantined as they are */
    tl_canon_t c;
    tl_canon_init(&c, kind);
    for (int i = 0; i < r->nf && i < TL_MAX_FIELDS; i++) {
        tl_slice_t v = tl__trim(r->f[i]);
        if (colfield[i] >= 0 && v.n) c.v[colfield[i]] = v;
    }
    c.clean = r->clean;
    tl_rec_t rec;
    char msg[320] = "";
    int rc = tl__validate(&vc, &c, &rec, msg, sizeof msg);
    FUZZ_CHECK(rc >= 0 && rc <= TL_R__N);
    if (rc) FUZZ_CHECK(msg[0] != 0);
    else check_valid(&c, &rec);
}

/* The file as a table: every record a row or a rejection, every cell text
 * of the table's own. */
static void read_table(const char *path) {
    tl_table_opts_t o = {NULL, NULL, 0};
    tl_table_t t;
    tl_errbuf_t eb = {{0}};
    tl_source_t src = tl_source_file(path);
    if (tl_table_read(&src, &o, &t, NULL, NULL, &eb)) {
        FUZZ_CHECK(eb.msg[0] != 0);
        return;
    }
    FUZZ_CHECK(t.ncols >= 1 && t.read == (uint64_t)t.nrows + t.rejected);
    for (uint32_t c = 0; c < t.ncols; c++) FUZZ_CHECK(tl_table_column(&t, t.name[c]) <= c);
    for (size_t k = 0; k < (size_t)t.nrows * t.ncols; k++) {
        FUZZ_CHECK(t.cell[k] < t.text.len);
        FUZZ_CHECK(memchr(t.text.data + t.cell[k], 0, t.text.len - t.cell[k]) != NULL);
    }
    tl_table_fini(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!types) LLVMFuzzerInitialize(NULL, NULL);
    const char *path = fuzz_input_path(data, size);
    const char *delim = pick_delimiter(data, size);
    tl_reader_t r;
    tl_errbuf_t eb = {{0}};
    tl_source_t src = tl_source_file(path);
    if (tl__reader_open(&r, &src, delim, &eb)) {
        tl__reader_close(&r);
        return 0;
    }
    r.quotes = strcmp(delim, "::") != 0;
    int colfield[TL_MAX_FIELDS], ncols = 0, have_row = 0;
    tl_kind_t kind = TL_KIND_AUTO;
    int rc = tl__reader_csv(&r, &eb);
    uint64_t last_line = 0;
    if (rc == 1) {
        check_record(&r);
        last_line = r.line;
        if (r.err >= 0 || r.too_many) goto done; /* import refuses the file */
        tl_slice_t names[TL_MAX_FIELDS] = {{NULL, 0}};
        for (int i = 0; i < r.nf; i++) names[i] = tl__trim(r.f[i]);
        if (r.nf && names[0].n >= 3 && memcmp(names[0].p, "\xEF\xBB\xBF", 3) == 0)
            names[0].p += 3, names[0].n -= 3;
        kind = tl__detect_kind(names, r.nf);
        if (kind != TL_KIND_AUTO) {
            ncols = r.nf;
            for (int i = 0; i < ncols; i++)
                colfield[i] = tl__field_index(kind, names[i].p, names[i].n);
        } else {
            /* no header: canonical columns, and this record is data */
            kind = (tl_kind_t)(size ? data[0] % TL_KIND__N : 0);
            ncols = tl__kinds[kind].nfields;
            for (int i = 0; i < ncols; i++) colfield[i] = i;
            have_row = 1;
        }
    }
    while (rc == 1) {
        if (!have_row) {
            rc = tl__reader_csv(&r, &eb);
            if (rc != 1) break;
            check_record(&r);
            FUZZ_CHECK(r.line > last_line);
            last_line = r.line;
        }
        have_row = 0;
        one_row(&r, kind, colfield, ncols);
    }
    FUZZ_CHECK(rc == 0); /* a memory file has no read errors */
    FUZZ_CHECK(r.bytes == size);
done:
    tl__reader_close(&r);
    read_table(path);
    return 0;
}
