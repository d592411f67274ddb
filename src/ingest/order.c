/* order.c -- the order in which one run reads its sources.
 *
 * A credit record or a consent must name a user the store knows, so one
 * command reads the sources that bring users (users, then the events that
 * name them) before those that refer to them, whatever order they were
 * given in: users, items, products, events, credit, consents. Sources of one
 * kind keep the order given (a later one updates what an earlier one set).
 *
 * The kind of a source comes from the options, the preset, or a look at its
 * header line (CSV) or first object (JSON Lines), the same way the import
 * finds it; a CSV file given without options whose first line has the
 * layout of a preset's file is read with that preset. A look reads the source from its start; a stream keeps what the
 * look read for the import to read again (source.c), so a pipe is ordered
 * like a file. */
#include "ingest_int.h"

#include <stdlib.h>

tl_kind_t tl__detect_kind(const tl_slice_t *cols, int n) {
    int has[TL_KIND__N] = {0};
    int f_type = 0, f_ts = 0;
    for (int i = 0; i < n; i++) {
        const tl_slice_t *c = &cols[i];
#define IS(s) (c->n == strlen(s) && memcmp(c->p, s, c->n) == 0)
        if (IS("type")) f_type = 1;
        if (IS("ts")) f_ts = 1;
        if (IS("purpose")) has[TL_KIND_CONSENTS] = 1;
        if (IS("apr") || IS("product")) has[TL_KIND_PRODUCTS] = 1;
        if (IS("on_time") || IS("max_overdue_days")) has[TL_KIND_CREDIT] = 1;
        if (IS("title") || IS("category")) has[TL_KIND_ITEMS] = 1;
        if (IS("gender") || IS("birth_year")) has[TL_KIND_USERS] = 1;
#undef IS
    }
    if (f_type && f_ts) return TL_KIND_EVENTS;
    static const tl_kind_t order[] = {TL_KIND_CONSENTS, TL_KIND_PRODUCTS, TL_KIND_CREDIT,
                                      TL_KIND_ITEMS, TL_KIND_USERS};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (has[order[i]]) return order[i];
    return TL_KIND_AUTO;
}

static int has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

tl_format_t tl__source_format(const tl_import_opts_t *o, const char *name) {
    if (o->format != TL_FMT_AUTO) return o->format;
    return has_suffix(name, ".jsonl") || has_suffix(name, ".ndjson") || has_suffix(name, ".json")
               ? TL_FMT_JSONL
               : TL_FMT_CSV;
}

int tl__read_header(tl_reader_t *rd, tl_slice_t *names, int *n, tl_kind_t *kind, tl_errbuf_t *eb) {
    int rc = tl__reader_csv(rd, eb);
    if (rc <= 0) return rc;
    if (rd->err >= 0 || rd->too_many) {
        tl_errbuf_set(eb, "%s:%llu: the header line cannot be read", rd->path,
                      (unsigned long long)rd->line);
        return TL_EBADINPUT;
    }
    *n = rd->nf;
    for (int i = 0; i < *n; i++) names[i] = tl__trim(rd->f[i]);
    if (*n && names[0].n >= 3 && memcmp(names[0].p, "\xEF\xBB\xBF", 3) == 0)
        names[0].p += 3, names[0].n -= 3; /* byte-order mark */
    if (*kind == TL_KIND_AUTO) *kind = tl__detect_kind(names, *n);
    if (*kind == TL_KIND_AUTO) {
        tl_errbuf_set(eb, "%s: cannot tell what this file holds from its header; name the "
                      "kind with --kind (users, items, products, credit, consents, events) "
                      "or use --preset", rd->path);
        return TL_EINVAL;
    }
    return 1;
}

/* The kind the first object's keys name, like a CSV header: *kind stays
 * TL_KIND_AUTO when they name none. Returns 0 or a negative error. */
static int look_json(tl_reader_t *r, tl_kind_t *kind, tl_errbuf_t *eb) {
    int rc = tl__reader_line(r, eb);
    if (rc != 1) return rc;
    cJSON *j = tl__json_parse(r->raw, r->rawlen, NULL, &rc);
    if (j && cJSON_IsObject(j)) {
        tl_slice_t names[TL_MAX_FIELDS];
        int n = 0;
        for (cJSON *it = j->child; it && n < TL_MAX_FIELDS; it = it->next)
            names[n++] = tl_sl(it->string);
        *kind = tl__detect_kind(names, n);
    }
    cJSON_Delete(j);
    return rc;
}

int tl__source_preset(const tl_import_opts_t *o, const tl_source_t *src, tl_input_t *in,
                      const char **preset, const char **what, tl_presetfile_t *pf,
                      tl_errbuf_t *eb) {
    *preset = *what = NULL;
    int guess = !o->preset && o->kind == TL_KIND_AUTO && !o->no_header && !(o->map && *o->map) &&
                !(o->set && *o->set) && tl__source_format(o, src->name) == TL_FMT_CSV;
    if (!o->preset && !guess) return 0;
    char head[TL__PRESET_HEAD];
    size_t n;
    int rc = tl__input_head(in, src, head, sizeof head, &n, eb);
    if (!rc && !o->preset) {
        if ((rc = tl__preset_detect(src->name, head, n, preset, what, eb)) <= 0) return rc;
        rc = 0;
    } else if (!rc) {
        *preset = o->preset;
    }
    return rc ? rc : tl__preset_file(*preset, src->name, head, n, pf, eb);
}

/* The kind of records src holds, found as the import finds it, without
 * importing anything. *kind is TL_KIND_AUTO when only the import can tell:
 * an empty source, or one that the import will refuse. Opens in when it
 * must look; a stream stays open for the import. Returns 0 or a negative
 * error, such as a header that names no kind. */
static int probe_kind(const tl_import_opts_t *o, const tl_source_t *src, tl_input_t *in,
                      tl_kind_t *kind, tl_errbuf_t *eb) {
    *kind = o->kind;
    tl_presetfile_t pf;
    const char *preset, *what;
    int rc = tl__source_preset(o, src, in, &preset, &what, &pf, eb);
    if (in->open && !in->stream) tl__input_close(in);
    if (rc || preset) {
        if (!rc) *kind = pf.kind;
        return rc;
    }
    int json = tl__source_format(o, src->name) == TL_FMT_JSONL;
    if (*kind != TL_KIND_AUTO || (!json && o->no_header)) return 0;
    if (!in->open && (rc = tl__input_open(in, src, eb))) return rc;
    tl__input_look(in);
    tl_reader_t rd;
    if (!(rc = tl__reader_open_input(&rd, in, json ? NULL : o->delimiter, eb))) {
        tl_slice_t names[TL_MAX_FIELDS];
        int n = 0;
        rc = json ? look_json(&rd, kind, eb) : tl__read_header(&rd, names, &n, kind, eb);
    }
    tl__reader_close(&rd);
    int rw = tl__input_rewind(in, eb);
    if (rc >= 0) rc = rw;
    if (!in->stream) tl__input_close(in);
    return rc < 0 ? rc : 0;
}

static int kind_rank(tl_kind_t k) {
    switch (k) {
    case TL_KIND_USERS: return 0;
    case TL_KIND_ITEMS: return 1;
    case TL_KIND_PRODUCTS: return 2;
    case TL_KIND_EVENTS: return 3;
    case TL_KIND_CREDIT: return 4;
    case TL_KIND_CONSENTS: return 5;
    default: return 6;
    }
}

static int cmp_srckind(const void *a, const void *b) {
    const tl_srckind_t *x = a, *y = b;
    int rx = kind_rank(x->kind), ry = kind_rank(y->kind);
    if (rx != ry) return rx < ry ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int tl__source_order(const tl_import_opts_t *o, const tl_source_t *src, tl_input_t *in, int n,
                     tl_srckind_t **out, tl_errbuf_t *eb) {
    tl_srckind_t *f = calloc(n > 0 ? (size_t)n : 1, sizeof *f);
    if (!f) return TL_ENOMEM;
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        f[i].index = i;
        rc = probe_kind(o, &src[i], &in[i], &f[i].kind, eb);
    }
    if (!rc) qsort(f, (size_t)n, sizeof *f, cmp_srckind);
    if (rc) free(f);
    else *out = f;
    return rc;
}
