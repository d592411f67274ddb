/* blob.c -- named blobs: the derived files of a data directory (the
 * profile snapshot, models, scorecards, uplift models, the log of blocked
 * offers) kept by name, not by path, with the commit discipline of the
 * rest of the store. The contract is in store.h; this is the local back
 * end, where a blob is one file whose name keeps the layout of
 * docs/FORMATS.md ("models/ease" is DATA/models/ease.tlm).
 *
 * A writer writes FILE.tmp under an exclusive flock (a second writer of
 * the same name waits; one killed half way leaves it unlocked, and the
 * next writer or reader of the name removes or reuses it). Closed outside
 * a batch, the file is fsync'd, renamed over FILE and its directory
 * fsync'd. Closed inside a batch (or handed to a purge), FILE.tmp becomes
 * FILE.new, fsync'd, and the commit lists the rename in the `swaps` table
 * in the same SQLite transaction that commits the batch; the renames are
 * made after the commit, and a crash before them is finished by the next
 * writable open (tl__local_finish_swaps). A removal is a swap with no new
 * file. A crash before the commit leaves stray .new files, which the next
 * writable open removes (only a writable open, which holds the write
 * lock, ever makes them). */
#include "store/local/local_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The name spaces and their files: NAME or PREFIX/REST is DIR PRE REST EXT. */
static const struct {
    const char *prefix; /* a whole name when it has no '/' */
    const char *dir, *pre, *ext;
} NS[] = {
    {"profiles", "", "profiles", ".tlp"},
    {"offers", "", "offers", ".log"},
    {"uplift/", "models/", "uplift-", ".json"},
    {"scorecards/", "models/", "", ".json"},
    {"models/", "models/", "", ".tlm"},
    {"triggers/", "", "triggers-", ".pos"},
    {"journeys/", "", "journeys-", ".jny"},
    {"contacts", "", "contacts", ".idx"},
    {"imports", "", "imports", ".log"},
};
#define NNS (int)(sizeof NS / sizeof *NS)

/* A writer: the store's head, then the local back end's. */
typedef struct tl__blob {
    struct tl_blobw base;
    char *name;
    char *path, *tmp, *next; /* FILE, FILE.tmp, FILE.new */
    FILE *f;                 /* on FILE.tmp, flock'ed, until staged or closed */
    int removal;             /* a staged removal: no new file */
    struct tl__blob *link;   /* the store's staged list */
} lblob_t;

/* Which name space holds name, and its REST; -1 if none (not a name). */
static int ns_of(const char *name, const char **rest) {
    for (int k = 0; k < NNS; k++) {
        size_t pl = strlen(NS[k].prefix);
        if (NS[k].prefix[pl - 1] != '/') {
            if (strcmp(name, NS[k].prefix) == 0) return *rest = "", k;
            continue;
        }
        if (strncmp(name, NS[k].prefix, pl) != 0) continue;
        const char *r = name + pl;
        if (!tl__store_name_ok(r)) return -1;
        /* the files of uplift models share models/ with the scorecards */
        if (k != 2 && strncmp(r, NS[2].pre, strlen(NS[2].pre)) == 0 && !strcmp(NS[k].ext, NS[2].ext))
            return -1;
        return *rest = r, k;
    }
    return -1;
}

int tl_store_blob_name(tl_blobkind_t kind, const char *name, char *out, size_t cap) {
    static const char *const KIND[] = {"profiles", "offers", "uplift/", "scorecards/", "models/",
                                       "triggers/", "journeys/", "contacts", "imports"};
    if ((unsigned)kind >= sizeof KIND / sizeof *KIND) return TL_EINVAL;
    int fixed = kind <= TL_BLOB_OFFERS || kind == TL_BLOB_CONTACTS || kind == TL_BLOB_IMPORTS;
    int need = fixed ? snprintf(out, cap, "%s", KIND[kind])
                                      : snprintf(out, cap, "%s%s", KIND[kind], name ? name : "");
    const char *rest;
    if (need < 0 || (size_t)need >= cap || ns_of(out, &rest) != (int)kind) {
        if (cap) out[0] = 0;
        return TL_EINVAL;
    }
    return 0;
}

/* The file of name ("DATA/..." + suffix) in out; TL_EINVAL (eb says so)
 * when name is not a blob's. */
static int file_of(const tl_store_t *s, const char *name, const char *suffix, char *out, size_t cap,
                   tl_errbuf_t *eb) {
    const char *rest;
    int k = ns_of(name, &rest);
    int n = k < 0 ? -1 : snprintf(out, cap, "%s/%s%s%s%s%s", s->dir, NS[k].dir, NS[k].pre, rest,
                                  NS[k].ext, suffix);
    if (k < 0 || n < 0 || (size_t)n >= cap) {
        tl_errbuf_set(eb, "\"%s\" is not the name of a blob (profiles, offers, contacts, models/NAME, "
                      "scorecards/NAME, uplift/NAME, triggers/NAME or journeys/NAME; NAME of letters, digits, "
                      "'_', '-', '.')", name);
        return TL_EINVAL;
    }
    return 0;
}

/* 1 when the file (in the directory of name space k) named file is the
 * blob's file followed by suffix, its name then in out; else 0. */
static int name_of(int k, const char *file, const char *suffix, char *out, size_t cap) {
    size_t len = strlen(file), pl = strlen(NS[k].pre), el = strlen(NS[k].ext), sl = strlen(suffix);
    if (len < pl + el + sl || strncmp(file, NS[k].pre, pl) || strcmp(file + len - sl, suffix) ||
        strncmp(file + len - sl - el, NS[k].ext, el))
        return 0;
    const char *rest;
    int whole = strchr(NS[k].prefix, '/') == NULL, mid = (int)(len - pl - el - sl);
    int n = whole ? snprintf(out, cap, "%s", mid ? "" : NS[k].prefix)
                  : snprintf(out, cap, "%s%.*s", NS[k].prefix, mid, file + pl);
    return n > 0 && (size_t)n < cap && ns_of(out, &rest) == k;
}

int tl__local_blob_where(tl_store_t *st, const char *name, char *out, size_t cap, tl_errbuf_t *eb) {
    return file_of(st, name, "", out, cap, eb);
}

/* ---- writers --------------------------------------------------------------------- */

/* 1 when fd is still the file at path, 0 when it was renamed or removed
 * since, or a negative error. */
static int still_at(int fd, const char *path) {
    struct stat a, b;
    if (fstat(fd, &a) != 0) return tl_err_from_errno(errno);
    if (stat(path, &b) != 0) return errno == ENOENT ? 0 : tl_err_from_errno(errno);
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Removes the temporary file of a writer killed half way (unlocked). */
static void remove_leftover(const char *tmp) {
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && still_at(fd, tmp) == 1) unlink(tmp);
    close(fd);
}

/* Opens tmp for writing, empty, under an exclusive flock. */
static int open_locked(const char *tmp, int *out) {
    for (;;) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return tl_err_from_errno(errno);
        int rc = flock(fd, LOCK_EX) != 0 ? tl_err_from_errno(errno) : still_at(fd, tmp);
        /* 0: the writer before put it in place, or a reader removed it: a new one */
        if (rc == 1) rc = ftruncate(fd, 0) != 0 ? tl_err_from_errno(errno) : 1;
        if (rc == 1) {
            *out = fd;
            return 0;
        }
        close(fd);
        if (rc) {
            remove_leftover(tmp); /* unless another writer holds it now */
            return rc;
        }
    }
}

static void blobw_free(lblob_t *w) {
    if (w->f) fclose(w->f); /* drops the lock */
    free(w->name), free(w->path), free(w->tmp), free(w->next);
    free(w);
}

/* A writer without a file yet: the names worked out. */
static int blobw_new(tl_store_t *st, const char *name, lblob_t **out, tl_errbuf_t *eb) {
    char path[4300];
    int rc = file_of(st, name, "", path, sizeof path, eb);
    if (rc) return rc;
    lblob_t *w = calloc(1, sizeof *w);
    size_t n = strlen(path);
    if (w) w->name = strdup(name), w->path = strdup(path), w->tmp = malloc(n + 5), w->next = malloc(n + 5);
    if (!w || !w->name || !w->path || !w->tmp || !w->next) {
        if (w) blobw_free(w);
        tl_errbuf_set(eb, "%s: out of memory writing the blob", path);
        return TL_ENOMEM;
    }
    memcpy(w->tmp, path, n), memcpy(w->tmp + n, ".tmp", 5);
    memcpy(w->next, path, n), memcpy(w->next + n, ".new", 5);
    w->base.st = st;
    *out = w;
    return 0;
}

int tl__local_blob_create(tl_store_t *st, const char *name, tl_blobw_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    lblob_t *w;
    int rc = blobw_new(st, name, &w, eb);
    if (rc) return rc;
    /* the directory of a name space is made on first use */
    char *slash = strrchr(w->path, '/');
    if (slash > w->path + strlen(st->dir)) {
        *slash = 0;
        if (mkdir(w->path, 0700) != 0 && errno != EEXIST) rc = tl_err_from_errno(errno);
        *slash = '/';
    }
    int fd = -1;
    if (!rc) rc = open_locked(w->tmp, &fd);
    if (!rc && !(w->f = fdopen(fd, "wb"))) {
        close(fd), remove_leftover(w->tmp);
        rc = TL_ENOMEM;
    }
    if (rc) {
        tl_errbuf_set(eb, "%s: cannot create: %s", w->tmp, tl_strerror(rc));
        blobw_free(w);
        return rc;
    }
    *out = &w->base;
    return 0;
}

int tl__local_blobw_write(tl_blobw_t *bw, const void *p, size_t n, tl_errbuf_t *eb) {
    lblob_t *w = (lblob_t *)bw;
    if (fwrite(p, 1, n, w->f) == n) return 0;
    int rc = tl_err_write(errno); /* a full disk is not an I/O error */
    tl_errbuf_set(eb, "%s: cannot write: %s", w->tmp, tl_strerror(rc));
    return rc;
}

FILE *tl__local_blobw_stream(tl_blobw_t *w) { return ((lblob_t *)w)->f; }

void tl__local_blobw_abandon(tl_blobw_t *bw) {
    lblob_t *w = (lblob_t *)bw;
    if (!w) return;
    if (w->f) unlink(w->tmp); /* still locked: no other writer has it */
    blobw_free(w);
}

/* fsyncs the directory that holds path. */
static int sync_parent(char *path) {
    char *slash = strrchr(path, '/');
    *slash = 0;
    int rc = tl__sync_dir(path);
    *slash = '/';
    return rc;
}

/* Everything written durable in the file at w->tmp (a library writing by
 * path may have put a new file there): 0 or an error, eb told. */
static int blobw_sync(lblob_t *w, tl_errbuf_t *eb) {
    int rc = fflush(w->f) != 0 ? tl_err_write(errno) : 0;
    int fd = rc ? -1 : open(w->tmp, O_RDONLY | O_CLOEXEC);
    if (!rc && fd < 0) rc = tl_err_from_errno(errno);
    if (!rc && fsync(fd) != 0) rc = tl_err_write(errno);
    if (fd >= 0) close(fd);
    if (rc) tl_errbuf_set(eb, "%s: cannot write: %s", w->tmp, tl_strerror(rc));
    return rc;
}

/* Makes w's file FILE.new, durable: what a commit lists in `swaps`. */
static int blobw_stage(lblob_t *w, tl_errbuf_t *eb) {
    if (!w->f) return 0;
    int rc = blobw_sync(w, eb);
    if (!rc && rename(w->tmp, w->next) != 0) {
        rc = tl_err_from_errno(errno);
        tl_errbuf_set(eb, "%s: cannot stage: %s", w->next, tl_strerror(rc));
    }
    if (rc) unlink(w->tmp);
    fclose(w->f); /* FILE.new is the write lock holder's alone */
    w->f = NULL;
    return rc;
}

/* Adds w to the batch's list, replacing a staged write of the same name. */
static void stage_in_batch(tl_store_t *s, lblob_t *w) {
    tl__local_t *lo = tl__lo(s);
    for (lblob_t **p = &lo->blobs; *p; p = &(*p)->link)
        if (strcmp((*p)->name, w->name) == 0) {
            lblob_t *old = *p;
            w->link = old->link;
            *p = w;
            if (w->removal && !old->removal) unlink(old->next); /* a write, then a removal */
            blobw_free(old);
            return;
        }
    w->link = lo->blobs;
    lo->blobs = w;
}

int tl__local_blobw_close(tl_blobw_t *bw, tl_errbuf_t *eb) {
    lblob_t *w = (lblob_t *)bw;
    tl_store_t *s = w->base.st;
    int rc;
    if (s->in_batch) {
        rc = blobw_stage(w, eb);
        if (rc) blobw_free(w);
        else stage_in_batch(s, w);
        return rc;
    }
    rc = blobw_sync(w, eb);
    if (!rc && rename(w->tmp, w->path) != 0) {
        rc = tl_err_from_errno(errno);
        tl_errbuf_set(eb, "%s: cannot put the new file in place (rename): %s", w->path, tl_strerror(rc));
    }
    if (!rc && (rc = sync_parent(w->path)) != 0)
        tl_errbuf_set(eb, "%s: cannot put the new file in place (fsync of the directory): %s", w->path,
                      tl_strerror(rc));
    if (rc) unlink(w->tmp);
    blobw_free(w); /* drops the lock, after the rename */
    return rc;
}

int tl__local_blob_put(tl_store_t *st, const char *name, const void *p, size_t n,
                       tl_errbuf_t *eb) {
    tl_blobw_t *w;
    int rc = tl__local_blob_create(st, name, &w, eb);
    if (!rc) rc = tl__local_blobw_write(w, p, n, eb);
    if (rc) tl__local_blobw_abandon(w);
    return rc ? rc : tl__local_blobw_close(w, eb);
}

int tl__local_blob_remove(tl_store_t *st, const char *name, tl_errbuf_t *eb) {
    if (st->readonly) {
        tl_errbuf_set(eb, "%s: the data directory is open read-only", name);
        return TL_EINVAL;
    }
    lblob_t *w;
    int rc = blobw_new(st, name, &w, eb);
    if (rc) return rc;
    if (st->in_batch) {
        w->removal = 1;
        stage_in_batch(st, w);
        return 0;
    }
    rc = unlink(w->path) != 0 && errno != ENOENT ? tl_err_from_errno(errno) : 0;
    if (!rc) rc = sync_parent(w->path);
    if (rc) tl_errbuf_set(eb, "%s: cannot remove: %s", w->path, tl_strerror(rc));
    blobw_free(w);
    return rc;
}

int tl__local_blob_append(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb) {
    char path[4300];
    int rc = file_of(st, name, "", path, sizeof path, eb);
    if (rc || !n) return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ssize_t w = fd < 0 ? -1 : write(fd, p, n); /* one write: records do not interleave */
    if (w != (ssize_t)n) {
        rc = w < 0 ? tl_err_write(errno) : TL_EIO;
        tl_errbuf_set(eb, "%s: cannot append: %s", path, tl_strerror(rc));
    }
    if (fd >= 0) close(fd);
    return rc;
}

/* ---- commit (called by tl_store_commit, rollback, close and the purge) ---------------- */

/* Lists the renames of the staged writers (and the purge's) in `swaps`,
 * inside the caller's transaction, their .new files' directories synced. */
int tl__blobs_swaps(tl_store_t *s, tl_blobw_t *const *extra, int nextra, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    sqlite3_stmt *q;
    if (!lo->blobs && !nextra) return 0;
    if (sqlite3_prepare_v2(lo->db, "INSERT OR REPLACE INTO swaps(path, tmp) VALUES (?1, ?2)", -1, &q,
                           NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(lo->db));
        return TL_ESQL;
    }
    size_t skip = strlen(s->dir) + 1;
    int rc = 0;
    lblob_t *w = lo->blobs;
    for (int i = 0; !rc && (w || i < nextra);) {
        lblob_t *x = w ? w : (lblob_t *)extra[i++];
        if (w) w = w->link;
        rc = x->removal ? 0 : sync_parent(x->next);
        if (rc) {
            tl_errbuf_set(eb, "%s: cannot stage: %s", x->next, tl_strerror(rc));
            break;
        }
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, x->path + skip, -1, SQLITE_STATIC);
        /* a removal: no new file */
        sqlite3_bind_text(q, 2, x->removal ? "" : x->next + skip, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE) {
            tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(lo->db));
            rc = TL_ESQL;
        }
    }
    sqlite3_finalize(q);
    return rc;
}

/* Stages the purge's writers (FILE.new) before its transaction. */
int tl__blobs_stage(tl_blobw_t *const *w, int n, tl_errbuf_t *eb) {
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) rc = blobw_stage((lblob_t *)w[i], eb);
    return rc;
}

void tl__blobs_drop(tl_blobw_t *const *w, int n, int committed) {
    for (int i = 0; i < n; i++) {
        lblob_t *x = (lblob_t *)w[i];
        if (!committed && !x->f) unlink(x->next);
        tl__local_blobw_abandon(w[i]);
    }
}

/* Forgets the staged writers: committed (kept = 1, the renames are the
 * swaps') or rolled back (their .new files removed). */
void tl__blobs_done(tl_store_t *s, int kept) {
    tl__local_t *lo = tl__lo(s);
    while (lo->blobs) {
        lblob_t *w = lo->blobs;
        lo->blobs = w->link;
        if (!kept && !w->removal) unlink(w->next);
        blobw_free(w);
    }
}

/* Removes the .new files a crash before a commit left (a writable open,
 * after finishing the committed swaps). */
void tl__blobs_clean(tl_store_t *s) {
    char dir[4300], path[4600];
    for (int k = 0; k < NNS; k++) {
        int seen = 0; /* a directory once */
        for (int j = 0; j < k; j++) seen |= !strcmp(NS[j].dir, NS[k].dir);
        if (seen) continue;
        snprintf(dir, sizeof dir, "%s/%s", s->dir, NS[k].dir);
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char name[300];
            for (int j = 0; j < NNS; j++)
                if (!strcmp(NS[j].dir, NS[k].dir) && name_of(j, e->d_name, ".new", name, sizeof name)) {
                    snprintf(path, sizeof path, "%s%s", dir, e->d_name);
                    unlink(path);
                    break;
                }
        }
        if (d) closedir(d);
    }
}

/* ---- reading --------------------------------------------------------------------- */

int tl__local_blob_map(tl_store_t *st, const char *name, tl_blob_view_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    char path[4300];
    int rc = file_of(st, name, ".tmp", path, sizeof path, eb);
    if (rc) return rc;
    remove_leftover(path);
    path[strlen(path) - 4] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 && errno == ENOENT) return TL_ENOENT;
    if (fd < 0 || fstat(fd, &sb) != 0) rc = tl_err_from_errno(errno);
    if (!rc && sb.st_size > 0) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) rc = tl_err_from_errno(errno);
        else out->map = m, out->maplen = (size_t)sb.st_size;
    }
    if (fd >= 0) close(fd);
    if (rc) {
        tl_errbuf_set(eb, "%s: cannot read: %s", path, tl_strerror(rc));
        return rc;
    }
    out->data = out->map ? out->map : "";
    out->len = out->maplen;
    return 0;
}

void tl__local_blob_unmap(tl_blob_view_t *v) {
    if (v->map) munmap(v->map, v->maplen);
}

int tl__local_blob_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    tl_blob_view_t v;
    int rc = tl__local_blob_map(st, name, &v, eb);
    if (!rc && tl_buf_append(out, v.data, v.len)) {
        tl_errbuf_set(eb, "%s/%s: out of memory reading the blob", st->dir, name);
        rc = TL_ENOMEM;
    }
    tl__local_blob_unmap(&v);
    return rc;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tl__local_blob_list(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    char **names = NULL, dir[4300], path[4600];
    size_t n = 0, cap = 0, plen = strlen(prefix);
    int rc = 0;
    for (int k = 0; !rc && k < NNS; k++) {
        size_t nl = strlen(NS[k].prefix);
        if (strncmp(NS[k].prefix, prefix, nl < plen ? nl : plen) != 0) continue;
        snprintf(dir, sizeof dir, "%s/%s", st->dir, NS[k].dir);
        DIR *d = opendir(dir);
        struct dirent *e;
        while (!rc && d && (e = readdir(d)) != NULL) {
            char name[300];
            if (!name_of(k, e->d_name, "", name, sizeof name) || strncmp(name, prefix, plen)) continue;
            snprintf(path, sizeof path, "%s%s", dir, e->d_name);
            struct stat sb;
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
            if (n == cap) {
                char **g = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
                if (!g) rc = TL_ENOMEM;
                else names = g;
            }
            if (!rc && !(names[n] = strdup(name))) rc = TL_ENOMEM;
            if (!rc) n++;
        }
        if (d) closedir(d);
    }
    if (!rc && n) qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; !rc && i < n; i++) rc = fn(names[i], arg);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc == TL_ENOMEM) tl_errbuf_set(eb, "%s: out of memory listing the blobs", st->dir);
    return rc;
}
