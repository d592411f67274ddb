/* table.c -- a whole delimited source read into memory as text cells, for the
 * statistics commands (scorecards, propensity models) that need every row
 * at once. It reads through the same streaming reader as import, so quoting,
 * long records and line numbers behave the same; a record with another
 * field count than the header's, or with invalid UTF-8, is rejected with its
 * line and reason, and read = rows kept + rows rejected. */
#include "ingest_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The most frequent of , ; tab | in the first line of what in holds ("," if
 * none), found by a look ahead of up to 64 KiB; in is then rewound. */
static int sniff_delimiter(tl_input_t *in, char out[2], tl_errbuf_t *eb) {
    char buf[65536];
    size_t n = 0;
    tl__input_look(in);
    while (n < sizeof buf && !memchr(buf, '\n', n)) {
        ssize_t got = tl__input_read(in, buf + n, sizeof buf - n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        n += (size_t)got;
    }
    static const char cand[] = ",;\t|";
    size_t best = 0;
    out[0] = ',', out[1] = 0;
    for (const char *c = cand; *c; c++) {
        size_t k = 0;
        for (size_t i = 0; i < n && buf[i] != '\n'; i++) k += buf[i] == *c;
        if (k > best) best = k, out[0] = *c;
    }
    return tl__input_rewind(in, eb);
}

uint32_t tl_table_column(const tl_table_t *t, const char *name) {
    for (uint32_t c = 0; c < t->ncols; c++)
        if (strcmp(t->name[c], name) == 0) return c;
    return TL_NONE;
}

void tl_table_fini(tl_table_t *t) {
    for (uint32_t c = 0; t->name && c < t->ncols; c++) free(t->name[c]);
    free(t->name);
    free(t->cell);
    free(t->line);
    tl_buf_fini(&t->text);
    memset(t, 0, sizeof *t);
}

static int reject(tl_table_t *t, const tl_reader_t *r, tl_reason_t why, const char *msg,
                  tl_reject_fn fn, void *arg) {
    t->rejected++;
    if (fn) fn(r->path, r->line, why, msg, arg);
    return 0;
}

static int set_names(tl_table_t *t, uint32_t n, const char *const *names, const tl_reader_t *r) {
    t->ncols = n;
    t->name = calloc(n ? n : 1, sizeof *t->name);
    if (!t->name) return TL_ENOMEM;
    for (uint32_t c = 0; c < n; c++) {
        char tmp[32];
        if (!names && !r) snprintf(tmp, sizeof tmp, "c%u", c + 1);
        t->name[c] = names ? strdup(names[c])
                     : r   ? strndup(r->f[c].p, r->f[c].n)
                           : strdup(tmp);
        if (!t->name[c]) return TL_ENOMEM;
    }
    return 0;
}

static int add_row(tl_table_t *t, const tl_reader_t *r, size_t *cap) {
    if ((size_t)t->nrows + 1 > *cap) {
        size_t nc = *cap ? 2 * *cap : 1024;
        uint64_t *c = realloc(t->cell, nc * t->ncols * sizeof *c);
        if (!c) return TL_ENOMEM;
        t->cell = c;
        uint64_t *l = realloc(t->line, nc * sizeof *l);
        if (!l) return TL_ENOMEM;
        t->line = l, *cap = nc;
    }
    for (uint32_t c = 0; c < t->ncols; c++) {
        t->cell[(size_t)t->nrows * t->ncols + c] = t->text.len;
        if (tl_buf_append(&t->text, r->f[c].p, r->f[c].n) || tl_buf_append(&t->text, "", 1))
            return TL_ENOMEM;
    }
    t->line[t->nrows++] = r->line;
    return 0;
}

int tl_table_read(const tl_source_t *src, const tl_table_opts_t *o, tl_table_t *t,
                  tl_reject_fn on_reject, void *arg, tl_errbuf_t *eb) {
    const char *path = src->name;
    memset(t, 0, sizeof *t);
    tl_buf_init(&t->text);
    const char *delim = o->delimiter;
    const char *const *names = NULL;
    int quotes = 1, header = !o->no_header, ncols = 0, rc = 0;
    char sniffed[2];
    if (o->preset && (rc = tl__preset_table(o->preset, &delim, &quotes, &header, &names, &ncols, eb)))
        return rc;
    tl_reader_t r = {0};
    tl_input_t in;
    rc = tl__input_open(&in, src, eb);
    if (!rc && !delim) rc = sniff_delimiter(&in, sniffed, eb), delim = sniffed;
    if (!rc) rc = tl__reader_open_input(&r, &in, delim, eb);
    if (rc) {
        tl__reader_close(&r);
        tl__input_close(&in);
        return rc;
    }
    r.quotes = quotes;
    size_t cap = 0;
    int first = 1;
    while (!rc) {
        int got = tl__reader_csv(&r, eb);
        if (got < 0) rc = got;
        if (got <= 0) break;
        if (first && header) { /* the header names the columns */
            first = 0;
            if (r.err >= 0 || r.too_many) {
                tl_errbuf_set(eb, "%s:%llu: the header cannot be read", path,
                              (unsigned long long)r.line);
                rc = TL_EBADINPUT;
            } else {
                rc = set_names(t, (uint32_t)r.nf, NULL, &r);
            }
            continue;
        }
        if (first) {
            first = 0;
            rc = set_names(t, names ? (uint32_t)ncols : (uint32_t)r.nf, names, NULL);
            if (rc) break;
        }
        t->read++;
        char msg[96];
        if (r.err >= 0) {
            rc = reject(t, &r, (tl_reason_t)r.err, "the record cannot be split", on_reject, arg);
        } else if (r.too_many || (uint32_t)r.nf != t->ncols) {
            snprintf(msg, sizeof msg, "%d fields where the header has %u", r.nf, t->ncols);
            rc = reject(t, &r, TL_R_FIELD_COUNT, msg, on_reject, arg);
        } else {
            int utf8 = 1;
            for (int f = 0; !r.clean && f < r.nf && utf8; f++) utf8 = tl_utf8_valid(r.f[f].p, r.f[f].n);
            rc = utf8 ? add_row(t, &r, &cap)
                      : reject(t, &r, TL_R_BAD_UTF8, "a field is not valid UTF-8", on_reject, arg);
        }
    }
    tl__reader_close(&r);
    tl__input_close(&in);
    if (!rc && !t->name) {
        tl_errbuf_set(eb, "%s: no records", path);
        rc = TL_EBADINPUT;
    }
    if (rc) tl_table_fini(t);
    return rc;
}
