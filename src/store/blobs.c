/* blobs.c -- the public functions of blobs (puts, gets, lists, removals,
 * writers, maps and appends) and of the side logs over the back-end table
 * (store/backend.h): the checks they share (the names of blobs and side
 * logs, the read-only rule) and the fallbacks of the optional ops.
 *
 * The fallbacks keep the promises of store.h: a writer over memory ends in
 * blob_put, which installs the whole blob at once (or at the batch's
 * commit), so readers never see it half written and the writer closed
 * last wins; a map over a copy made by blob_get stays unchanged until
 * unmapped, whatever is written meanwhile. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tl__store_name_ok(const char *s) {
    size_t n = strlen(s);
    return n && n <= 200 && s[0] != '.' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

/* 0 when name has the form of a blob's (store.h; a back end may refuse
 * more), else TL_EINVAL with eb told. */
static int check_blob(const char *name, tl_errbuf_t *eb) {
    static const char *const NS[] = {"models/", "scorecards/", "uplift/", "triggers/", "journeys/"};
    int ok = strcmp(name, "profiles") == 0 || strcmp(name, "offers") == 0 || strcmp(name, "contacts") == 0 ||
             strcmp(name, "imports") == 0;
    for (size_t k = 0; !ok && k < sizeof NS / sizeof *NS; k++)
        if (strncmp(name, NS[k], strlen(NS[k])) == 0) ok = tl__store_name_ok(name + strlen(NS[k]));
    if (ok) return 0;
    tl_errbuf_set(eb, "\"%s\" is not the name of a blob (profiles, offers, contacts, imports, models/NAME, "
                  "scorecards/NAME, uplift/NAME, triggers/NAME or journeys/NAME; NAME of letters, digits, '_', "
                  "'-', '.')", name);
    return TL_EINVAL;
}

int tl_store_blob_put(tl_store_t *s, const char *name, const void *p, size_t n, tl_errbuf_t *eb) {
    int rc = check_blob(name, eb);
    return rc ? rc : s->be->blob_put(s, name, p, n, eb);
}

int tl_store_blob_get(tl_store_t *s, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    int rc = check_blob(name, eb);
    return rc ? rc : s->be->blob_get(s, name, out, eb);
}

int tl_store_blob_remove(tl_store_t *s, const char *name, tl_errbuf_t *eb) {
    int rc = check_blob(name, eb);
    return rc ? rc : s->be->blob_remove(s, name, eb);
}

int tl_store_blob_list(tl_store_t *s, const char *prefix, tl_blob_fn fn, void *arg,
                       tl_errbuf_t *eb) {
    return s->be->blob_list(s, prefix, fn, arg, eb);
}

/* ---- writers ----------------------------------------------------------------------- */

/* A writer of a back end without its own: the bytes gathered in memory. */
typedef struct {
    struct tl_blobw base;
    char *name;
    FILE *f; /* over data and len */
    char *data;
    size_t len;
} memw_t;

static int memw_create(tl_store_t *st, const char *name, tl_blobw_t **out, tl_errbuf_t *eb) {
    memw_t *w = calloc(1, sizeof *w);
    if (w && (w->name = strdup(name)) != NULL) w->f = open_memstream(&w->data, &w->len);
    if (!w || !w->f) {
        if (w) free(w->name);
        free(w);
        tl_errbuf_set(eb, "%s: out of memory writing the blob", name);
        return TL_ENOMEM;
    }
    w->base.st = st;
    *out = &w->base;
    return 0;
}

static void memw_free(memw_t *w) {
    if (w->f) fclose(w->f);
    free(w->data);
    free(w->name);
    free(w);
}

int tl_store_blob_create(tl_store_t *st, const char *name, tl_blobw_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    int rc = check_blob(name, eb);
    if (rc) return rc;
    return st->be->blob_create ? st->be->blob_create(st, name, out, eb)
                               : memw_create(st, name, out, eb);
}

int tl_blobw_write(tl_blobw_t *w, const void *p, size_t n, tl_errbuf_t *eb) {
    const tl_store_backend_t *be = w->st->be;
    if (be->blobw_write) return be->blobw_write(w, p, n, eb);
    memw_t *m = (memw_t *)w;
    if (fwrite(p, 1, n, m->f) == n) return 0;
    tl_errbuf_set(eb, "%s: out of memory writing the blob", m->name);
    return TL_ENOMEM;
}

FILE *tl_blobw_stream(tl_blobw_t *w) {
    const tl_store_backend_t *be = w->st->be;
    return be->blobw_stream ? be->blobw_stream(w) : ((memw_t *)w)->f;
}

int tl_blobw_close(tl_blobw_t *w, tl_errbuf_t *eb) {
    tl_store_t *st = w->st;
    if (st->be->blobw_close) return st->be->blobw_close(w, eb);
    memw_t *m = (memw_t *)w;
    int rc = ferror(m->f) ? TL_ENOMEM : 0;
    if (fclose(m->f) != 0) rc = TL_ENOMEM;
    m->f = NULL;
    if (rc) tl_errbuf_set(eb, "%s: out of memory writing the blob", m->name);
    else rc = st->be->blob_put(st, m->name, m->data ? m->data : "", m->len, eb);
    memw_free(m);
    return rc;
}

int tl__store_blobw_bytes(tl_blobw_t *w, const char **name, const void **p, size_t *n) {
    memw_t *m = (memw_t *)w;
    if (m->f) {
        int bad = ferror(m->f);
        if (fclose(m->f) != 0) bad = 1;
        m->f = NULL;
        if (bad) return TL_ENOMEM;
    }
    *name = m->name, *p = m->data ? m->data : "", *n = m->len;
    return 0;
}

void tl_blobw_abandon(tl_blobw_t *w) {
    if (!w) return;
    const tl_store_backend_t *be = w->st->be;
    if (be->blobw_abandon) be->blobw_abandon(w);
    else memw_free((memw_t *)w);
}

/* ---- maps, appends, where ------------------------------------------------------------- */

static void copy_unmap(tl_blob_view_t *v) { free(v->map); }

int tl_store_blob_map(tl_store_t *st, const char *name, tl_blob_view_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    int rc = check_blob(name, eb);
    if (rc) return rc;
    if (st->be->blob_map) {
        rc = st->be->blob_map(st, name, out, eb);
        if (!rc) out->unmap = st->be->blob_unmap;
        return rc;
    }
    tl_buf_t b;
    tl_buf_init(&b);
    rc = st->be->blob_get(st, name, &b, eb);
    if (rc) {
        tl_buf_fini(&b);
        return rc;
    }
    out->map = b.data, out->maplen = b.cap;
    out->data = b.data ? b.data : "", out->len = b.len;
    out->unmap = copy_unmap;
    return 0;
}

void tl_store_blob_unmap(tl_blob_view_t *v) {
    if (v->unmap) v->unmap(v);
    memset(v, 0, sizeof *v);
}

int tl_store_blob_append(tl_store_t *st, const char *name, const void *p, size_t n,
                         tl_errbuf_t *eb) {
    int rc = check_blob(name, eb);
    return rc ? rc : st->be->blob_append(st, name, p, n, eb);
}

int tl_store_blob_where(tl_store_t *st, const char *name, char *out, size_t cap,
                        tl_errbuf_t *eb) {
    if (st->be->blob_where) return st->be->blob_where(st, name, out, cap, eb);
    int rc = check_blob(name, eb);
    if (rc) return rc;
    int n = snprintf(out, cap, "the blob \"%s\" of the %s store", name, st->be->name);
    if (n < 0 || (size_t)n >= cap) {
        tl_errbuf_set(eb, "\"%s\": the name of the blob is too long", name);
        return TL_EINVAL;
    }
    return 0;
}

/* ---- side logs ------------------------------------------------------------------------ */

int tl__store_applog_name_ok(const char *name) {
    if (strcmp(name, "contacts") == 0) return 1;
    const char *r = strncmp(name, "outbox/", 7) == 0      ? name + 7
                    : strncmp(name, "exposures/", 10) == 0 ? name + 10
                                                          : NULL;
    return r && tl__store_name_ok(r);
}

static int check_name(const char *name, tl_errbuf_t *eb) {
    if (tl__store_applog_name_ok(name)) return 0;
    tl_errbuf_set(eb, "\"%s\" is not the name of a side log (outbox/CHANNEL, exposures/CAMPAIGN "
                  "or contacts; CHANNEL and CAMPAIGN of letters, digits, '_', '-', '.')", name);
    return TL_EINVAL;
}

int tl_store_applog_open(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    int rc = check_name(name, eb);
    if (rc) return rc;
    if (st->readonly) {
        tl_errbuf_set(eb, "the data directory is open read-only");
        return TL_EINVAL;
    }
    return st->be->applog_open(st, name, out, eb);
}

int tl_applog_write(tl_applog_t *l, const void *p, size_t n, tl_errbuf_t *eb) {
    return l->st->be->applog_write(l, p, n, eb);
}

int tl_store_applog_read(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                         tl_errbuf_t *eb) {
    int rc = check_name(name, eb);
    return rc ? rc : st->be->applog_read(st, name, from, out, eb);
}

int tl_store_applog_committed(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb) {
    *len = 0;
    int rc = check_name(name, eb);
    return rc ? rc : st->be->applog_committed(st, name, len, eb);
}

int tl_store_applog_list(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb) {
    return st->be->applog_list(st, fn, arg, eb);
}
