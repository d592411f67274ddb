/* applog.c -- side logs: append-only files in the data directory (the
 * campaign outbox, exposures and contact history) committed together with
 * the store's batch. This is the local back end's; the contract is in
 * store.h. A log is named ("outbox/sms") and kept in the file the name
 * maps onto (outbox/sms.jsonl, docs/FORMATS.md).
 *
 * A side log is written like the event log: bytes are buffered, and
 * tl_store_commit writes them, fsyncs the file and records its new length
 * in the `meta` table (key "applog:PATH") in the same SQLite commit as the
 * rest of the batch. Opening a side log for writing cuts whatever lies
 * beyond the committed length (the tail of a run that crashed), and
 * readers only ever see the committed bytes; so a kill at any moment leaves
 * each file as it was after the last commit.
 *
 * Full buffers are written by a background thread (one per store, started
 * on the first hand-off), so the copy into the page cache overlaps the
 * caller's work; at most AW_JOBS buffers are in flight. A commit or a
 * rollback first waits for them. */
#include "store/local/local_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct tl__applog {
    struct tl_applog base;
    struct tl__applog *next;
    char *name, *path;
    int fd;
    uint64_t committed, end; /* end: bytes written to the file */
    tl_buf_t buf;            /* bytes not yet written */
} lapplog_t;

/* ---- the writer thread ------------------------------------------------------ */

#define AW_JOBS 4
#define AW_CHUNK (4u << 20)

typedef struct {
    int fd;
    const char *path;
    tl_buf_t buf;
    uint64_t off;
} awjob_t;

struct tl_awriter {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    awjob_t job[AW_JOBS];
    int head, count, busy, stop;
    int err;              /* the first failure (TL_E*), with its message */
    char msg[300];
};

static int pwrite_all(int fd, const char *p, size_t n, uint64_t off) {
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : ENOSPC;
        p += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}

static void *aw_main(void *arg) {
    struct tl_awriter *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->count && !a->stop) pthread_cond_wait(&a->cv, &a->mu);
        if (!a->count) break;
        awjob_t *j = &a->job[a->head];
        a->busy = 1;
        pthread_mutex_unlock(&a->mu);
        int e = pwrite_all(j->fd, j->buf.data, j->buf.len, j->off);
        pthread_mutex_lock(&a->mu);
        if (e && !a->err) {
            a->err = e == ENOSPC ? TL_ENOSPC : TL_EIO;
            snprintf(a->msg, sizeof a->msg, "%s: writing: %s", j->path, strerror(e));
        }
        tl_buf_clear(&j->buf);
        a->head = (a->head + 1) % AW_JOBS, a->count--, a->busy = 0;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Waits until nothing is in flight; returns the first failure. */
static int aw_drain(tl_store_t *st, tl_errbuf_t *eb) {
    struct tl_awriter *a = tl__lo(st)->aw;
    if (!a) return 0;
    pthread_mutex_lock(&a->mu);
    while (a->count) pthread_cond_wait(&a->cv, &a->mu);
    int rc = a->err;
    if (rc && eb) tl_errbuf_set(eb, "%s", a->msg);
    a->err = 0;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static void aw_stop(tl_store_t *st) {
    struct tl_awriter *a = tl__lo(st)->aw;
    if (!a) return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->th, NULL);
    for (int k = 0; k < AW_JOBS; k++) tl_buf_fini(&a->job[k].buf);
    pthread_mutex_destroy(&a->mu), pthread_cond_destroy(&a->cv);
    free(a);
    tl__lo(st)->aw = NULL;
}

/* ---- names and files ---------------------------------------------------------- */

int tl__applog_file(const char *name, char *out, size_t cap) {
    int n;
    if (!tl__store_applog_name_ok(name)) n = -1;
    else if (strcmp(name, "contacts") == 0) n = snprintf(out, cap, "campaigns/contacts.bin");
    else if (strncmp(name, "outbox/", 7) == 0) n = snprintf(out, cap, "%s.jsonl", name);
    else n = snprintf(out, cap, "campaigns/%s/exposures.bin", name + strlen("exposures/"));
    if (n < 0 || (size_t)n >= cap) {
        if (cap) out[0] = 0;
        return TL_EINVAL;
    }
    return 0;
}

int tl__applog_meta_key(const char *name, char *out, size_t cap) {
    char rel[300];
    int rc = tl__applog_file(name, rel, sizeof rel);
    if (!rc && (size_t)snprintf(out, cap, "applog:%s", rel) >= cap) rc = TL_EINVAL;
    return rc;
}

/* The name of the side log kept in the file rel: 1 with it in out, 0 when
 * rel is no side log's file. */
static int name_of(const char *rel, char *out, size_t cap) {
    size_t n = strlen(rel);
    int k = -1;
    if (strcmp(rel, "campaigns/contacts.bin") == 0) k = snprintf(out, cap, "contacts");
    else if (strncmp(rel, "outbox/", 7) == 0 && n > 6 && strcmp(rel + n - 6, ".jsonl") == 0)
        k = snprintf(out, cap, "%.*s", (int)(n - 6), rel);
    else if (strncmp(rel, "campaigns/", 10) == 0 && n > 24 && strcmp(rel + n - 14, "/exposures.bin") == 0)
        k = snprintf(out, cap, "exposures/%.*s", (int)(n - 24), rel + 10);
    char back[300];
    return k > 0 && (size_t)k < cap && tl__applog_file(out, back, sizeof back) == 0 &&
           strcmp(back, rel) == 0;
}

static int committed_len(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb) {
    char key[600];
    int64_t v = 0;
    int rc = tl__applog_meta_key(name, key, sizeof key);
    if (rc) {
        tl_errbuf_set(eb, "\"%s\" is not the name of a side log", name);
        return rc;
    }
    rc = tl__local_meta_get(st, key, &v, eb);
    if (rc == TL_ENOENT) v = 0, rc = 0;
    *len = (uint64_t)v;
    return rc;
}

static int mkdirs(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc && errno != EEXIST) return -1;
    }
    return 0;
}

/* ---- writing ----------------------------------------------------------------- */

int tl__local_applog_open(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(st);
    *out = NULL;
    for (lapplog_t *l = lo->applogs; l; l = l->next)
        if (strcmp(l->name, name) == 0) return *out = &l->base, 0;
    uint64_t len;
    char rel[300];
    int rc = committed_len(st, name, &len, eb);
    if (rc) return rc;
    (void)tl__applog_file(name, rel, sizeof rel); /* a name committed_len took */
    lapplog_t *l = calloc(1, sizeof *l);
    size_t plen = strlen(st->dir) + strlen(rel) + 2;
    if (!l || !(l->name = strdup(name)) || !(l->path = malloc(plen))) {
        if (l) free(l->name);
        free(l);
        tl_errbuf_set(eb, "%s: out of memory opening the side log", name);
        return TL_ENOMEM;
    }
    snprintf(l->path, plen, "%s/%s", st->dir, rel);
    struct stat sb;
    if (mkdirs(l->path) || (l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
        fstat(l->fd, &sb)) {
        tl_errbuf_set(eb, "%s: %s", l->path, strerror(errno));
        rc = TL_EIO;
    } else if ((uint64_t)sb.st_size < len) {
        tl_errbuf_set(eb, "%s: %llu bytes, but %llu were committed: the file was cut or "
                      "replaced outside tailor", l->path, (unsigned long long)sb.st_size,
                      (unsigned long long)len);
        rc = TL_ECORRUPT;
    } else if ((uint64_t)sb.st_size > len && ftruncate(l->fd, (off_t)len)) {
        tl_errbuf_set(eb, "%s: cutting an uncommitted tail: %s", l->path, strerror(errno));
        rc = TL_EIO;
    }
    if (rc) {
        if (l->fd >= 0) close(l->fd);
        free(l->name), free(l->path), free(l);
        return rc;
    }
    l->committed = l->end = len;
    l->base.st = st;
    l->next = lo->applogs;
    lo->applogs = l;
    *out = &l->base;
    return 0;
}

static int write_out(lapplog_t *l, tl_errbuf_t *eb) {
    int e = pwrite_all(l->fd, l->buf.data, l->buf.len, l->end);
    if (e) {
        tl_errbuf_set(eb, "%s: writing: %s", l->path, strerror(e));
        return e == ENOSPC ? TL_ENOSPC : TL_EIO;
    }
    l->end += l->buf.len;
    tl_buf_clear(&l->buf);
    return 0;
}

/* Hands the full buffer to the writer thread (or writes it here when the
 * thread cannot start). */
static int hand_off(lapplog_t *l, tl_errbuf_t *eb) {
    tl_store_t *st = l->base.st;
    if (!tl__lo(st)->aw) {
        struct tl_awriter *a = calloc(1, sizeof *a);
        if (!a) return write_out(l, eb);
        pthread_mutex_init(&a->mu, NULL), pthread_cond_init(&a->cv, NULL);
        if (pthread_create(&a->th, NULL, aw_main, a)) {
            pthread_mutex_destroy(&a->mu), pthread_cond_destroy(&a->cv);
            free(a);
            return write_out(l, eb);
        }
        tl__lo(st)->aw = a;
    }
    struct tl_awriter *a = tl__lo(st)->aw;
    pthread_mutex_lock(&a->mu);
    while (a->count == AW_JOBS) pthread_cond_wait(&a->cv, &a->mu);
    int rc = a->err;
    if (rc) {
        tl_errbuf_set(eb, "%s", a->msg);
    } else {
        awjob_t *j = &a->job[(a->head + a->count) % AW_JOBS];
        tl_buf_t t = j->buf; /* swap: the job takes the full buffer, the log an empty one */
        j->buf = l->buf, l->buf = t;
        j->fd = l->fd, j->path = l->path, j->off = l->end;
        l->end += j->buf.len;
        a->count++;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int tl__local_applog_write(tl_applog_t *bl, const void *p, size_t n, tl_errbuf_t *eb) {
    lapplog_t *l = (lapplog_t *)bl;
    if (tl_buf_append(&l->buf, p, n)) {
        tl_errbuf_set(eb, "%s: out of memory writing", l->path);
        return TL_ENOMEM;
    }
    return l->buf.len >= AW_CHUNK ? hand_off(l, eb) : 0;
}

int tl__applogs_flush(tl_store_t *st, tl_errbuf_t *eb) {
    int rc = aw_drain(st, eb);
    if (rc) return rc;
    for (lapplog_t *l = tl__lo(st)->applogs; l; l = l->next) {
        rc = write_out(l, eb);
        if (rc) return rc;
        if (l->end == l->committed) continue;
        if (fdatasync(l->fd)) {
            tl_errbuf_set(eb, "%s: syncing: %s", l->path, strerror(errno));
            return TL_EIO;
        }
        char key[600];
        (void)tl__applog_meta_key(l->name, key, sizeof key); /* checked at open */
        if ((rc = tl__local_meta_set(st, key, (int64_t)l->end, eb))) return rc;
    }
    return 0;
}

void tl__applogs_mark_committed(tl_store_t *st) {
    for (lapplog_t *l = tl__lo(st)->applogs; l; l = l->next) l->committed = l->end;
}

void tl__applogs_rollback(tl_store_t *st) {
    aw_drain(st, NULL);
    for (lapplog_t *l = tl__lo(st)->applogs; l; l = l->next) {
        tl_buf_clear(&l->buf);
        if (l->end != l->committed && ftruncate(l->fd, (off_t)l->committed) == 0)
            l->end = l->committed;
    }
}

void tl__applogs_close(tl_store_t *st) {
    tl__local_t *lo = tl__lo(st);
    aw_stop(st);
    while (lo->applogs) {
        lapplog_t *l = lo->applogs;
        lo->applogs = l->next;
        close(l->fd);
        tl_buf_fini(&l->buf);
        free(l->name), free(l->path), free(l);
    }
}

/* ---- reading ----------------------------------------------------------------- */

int tl__local_applog_read(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                          tl_errbuf_t *eb) {
    uint64_t len;
    int rc = committed_len(st, name, &len, eb);
    if (rc || len <= from) return rc;
    char rel[300], path[4400];
    (void)tl__applog_file(name, rel, sizeof rel); /* a name committed_len took */
    snprintf(path, sizeof path, "%s/%s", st->dir, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tl_errbuf_set(eb, "%s: %s", path, strerror(errno));
        return TL_EIO;
    }
    if (tl_buf_reserve(out, (size_t)(len - from))) rc = TL_ENOMEM;
    uint64_t off = from;
    while (!rc && off < len) {
        ssize_t r = pread(fd, out->data + out->len, (size_t)(len - off), (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            tl_errbuf_set(eb, "%s: %s", path, r < 0 ? strerror(errno) : "shorter than committed");
            rc = r < 0 ? TL_EIO : TL_ECORRUPT;
            break;
        }
        out->len += (size_t)r, off += (uint64_t)r;
    }
    close(fd);
    return rc;
}

int tl__local_applog_committed(tl_store_t *st, const char *name, uint64_t *len,
                               tl_errbuf_t *eb) {
    return committed_len(st, name, len, eb);
}

/* The names of the logs a commit recorded, gathered: their order by name
 * is not their files' order by path. */
typedef struct {
    char **names;
    size_t n, cap;
} listctx_t;

static int list_row(int n, const char *const *cols, void *arg) {
    listctx_t *x = arg;
    char name[300];
    (void)n;
    if (!cols[0] || !name_of(cols[0] + strlen("applog:"), name, sizeof name)) return 0;
    if (x->n == x->cap) {
        char **g = realloc(x->names, (x->cap = x->cap ? x->cap * 2 : 16) * sizeof *g);
        if (!g) return TL_ENOMEM;
        x->names = g;
    }
    if (!(x->names[x->n] = strdup(name))) return TL_ENOMEM;
    x->n++;
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tl__local_applog_list(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb) {
    listctx_t x = {0};
    int rc = tl__local_query(st, "SELECT key FROM meta WHERE key LIKE 'applog:%'", list_row, &x, eb);
    if (rc == TL_ENOMEM) tl_errbuf_set(eb, "%s: out of memory listing the side logs", st->dir);
    if (!rc && x.n) qsort(x.names, x.n, sizeof *x.names, by_name);
    for (size_t i = 0; !rc && i < x.n; i++) rc = fn(x.names[i], arg);
    for (size_t i = 0; i < x.n; i++) free(x.names[i]);
    free(x.names);
    return rc;
}
