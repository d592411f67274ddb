/* blobs.c -- the store in memory: blob writers and appends
 * and its side logs.
 *
 * A writer gathers its bytes in a memory stream and its close is a blob
 * put, so it keeps the batch rule of puts: at once outside a batch, at the
 * commit inside one. An append adds to the committed blob at once (and to
 * the batch's copy, which the commit keeps). A side log's committed bytes
 * are a row of C_APPLOGS; what is written to an open log waits in its
 * buffer until the next commit adds it to the batch's copy (rollback drops
 * it). Maps and the blob's whereabouts are the store's fallbacks. */
#include "store/mem/mem_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- blob writers --------------------------------------------------------------------- */

typedef struct {
    struct tl_blobw base;
    char *name;
    FILE *f;
    char *data;
    size_t len;
} mblobw_t;

int tl__mem_blob_create(tl_store_t *st, const char *name, tl_blobw_t **out, tl_errbuf_t *eb) {
    mblobw_t *w = calloc(1, sizeof *w);
    if (w && (w->name = strdup(name)) != NULL) w->f = open_memstream(&w->data, &w->len);
    if (!w || !w->f) {
        if (w) free(w->name);
        free(w);
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    w->base.st = st;
    *out = &w->base;
    return 0;
}

int tl__mem_blobw_write(tl_blobw_t *w, const void *p, size_t n, tl_errbuf_t *eb) {
    if (fwrite(p, 1, n, ((mblobw_t *)w)->f) == n) return 0;
    tl_errbuf_set(eb, "out of memory");
    return TL_ENOMEM;
}

FILE *tl__mem_blobw_stream(tl_blobw_t *w) { return ((mblobw_t *)w)->f; }

void tl__mem_blobw_abandon(tl_blobw_t *bw) {
    mblobw_t *w = (mblobw_t *)bw;
    if (w->f) fclose(w->f);
    free(w->data);
    free(w->name);
    free(w);
}

int tl__mem_blobw_close(tl_blobw_t *bw, tl_errbuf_t *eb) {
    mblobw_t *w = (mblobw_t *)bw;
    int rc = ferror(w->f) ? TL_ENOMEM : 0;
    if (fclose(w->f) != 0) rc = TL_ENOMEM;
    w->f = NULL;
    if (rc) tl_errbuf_set(eb, "out of memory");
    else rc = tl__mem_blob_put(bw->st, w->name, w->data ? w->data : "", w->len, eb);
    tl__mem_blobw_abandon(bw);
    return rc;
}

/* Puts the writer's bytes in blobs (a purge's copy of the rows) and frees
 * it, also on failure. */
int tl__mem_blobw_install(tl_blobw_t *bw, tl__mcoll_t *blobs) {
    mblobw_t *w = (mblobw_t *)bw;
    int rc = ferror(w->f) ? TL_ENOMEM : 0;
    if (fclose(w->f) != 0) rc = TL_ENOMEM;
    w->f = NULL;
    mval_t v[1] = {{.t = 3, .p = w->data ? w->data : "", .n = w->len}};
    if (!rc && tl__mcoll_upsert(blobs, w->name, v, 1, 1) < 0) rc = TL_ENOMEM;
    tl__mem_blobw_abandon(bw);
    return rc;
}

/* Appends p[0..n) to the bytes of the row key of c (made when none). */
static int coll_append(tl__mcoll_t *c, const char *key, const void *p, size_t n) {
    int found;
    size_t at = tl__mcoll_find(c, key, &found);
    if (!found) {
        mval_t v[1] = {{.t = 3, .p = (char *)p, .n = n}};
        return tl__mcoll_upsert(c, key, v, 1, 1) < 0 ? TL_ENOMEM : 0;
    }
    mval_t *v = &c->r[at].v[0];
    char *g = realloc(v->p, v->n + n + 1);
    if (!g) return TL_ENOMEM;
    memcpy(g + v->n, p, n);
    v->p = g, v->n += n;
    return 0;
}

int tl__mem_blob_append(tl_store_t *st, const char *name, const void *p, size_t n,
                    tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
    int rc = coll_append(&m->comm.c[C_BLOBS], name, p, n);
    if (!rc && m->in_batch) rc = coll_append(&m->work.c[C_BLOBS], name, p, n);
    if (rc) tl_errbuf_set(eb, "out of memory");
    return rc;
}

/* ---- side logs ------------------------------------------------------------------------- */

struct tl__mem_applog {
    struct tl_applog base;
    struct tl__mem_applog *next;
    char *name;
    tl_buf_t buf; /* written since the last commit */
};

int tl__mem_applog_open(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
    for (struct tl__mem_applog *l = m->applogs; l; l = l->next)
        if (strcmp(l->name, name) == 0) return *out = &l->base, 0;
    struct tl__mem_applog *l = calloc(1, sizeof *l);
    if (!l || !(l->name = strdup(name))) {
        free(l);
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    tl_buf_init(&l->buf);
    l->base.st = st;
    l->next = m->applogs;
    m->applogs = l;
    *out = &l->base;
    return 0;
}

int tl__mem_applog_write(tl_applog_t *bl, const void *p, size_t n, tl_errbuf_t *eb) {
    if (!tl_buf_append(&((struct tl__mem_applog *)bl)->buf, p, n)) return 0;
    tl_errbuf_set(eb, "out of memory");
    return TL_ENOMEM;
}

int tl__mem_applog_read(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                    tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_of(st)->comm.c[C_APPLOGS];
    int found;
    size_t at = tl__mcoll_find(c, name, &found);
    if (!found || c->r[at].v[0].n <= from) return 0;
    if (tl_buf_append(out, c->r[at].v[0].p + from, c->r[at].v[0].n - (size_t)from)) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    return 0;
}

int tl__mem_applog_committed(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_of(st)->comm.c[C_APPLOGS];
    int found;
    size_t at = tl__mcoll_find(c, name, &found);
    *len = found ? c->r[at].v[0].n : 0;
    return 0;
}

int tl__mem_applog_list(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_of(st)->comm.c[C_APPLOGS];
    for (size_t i = 0; i < c->n; i++) {
        int rc = fn(c->r[i].key, arg);
        if (rc) return rc;
    }
    return 0;
}

int tl__mem_applogs_commit(tl__mem_t *m) {
    for (struct tl__mem_applog *l = m->applogs; l; l = l->next) {
        if (!l->buf.len) continue;
        if (coll_append(&m->work.c[C_APPLOGS], l->name, l->buf.data, l->buf.len)) return TL_ENOMEM;
    }
    for (struct tl__mem_applog *l = m->applogs; l; l = l->next) tl_buf_clear(&l->buf);
    return 0;
}

void tl__mem_applogs_rollback(tl__mem_t *m) {
    for (struct tl__mem_applog *l = m->applogs; l; l = l->next) tl_buf_clear(&l->buf);
}

void tl__mem_applogs_close(tl__mem_t *m) {
    while (m->applogs) {
        struct tl__mem_applog *l = m->applogs;
        m->applogs = l->next;
        tl_buf_fini(&l->buf);
        free(l->name);
        free(l);
    }
}
