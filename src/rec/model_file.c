/* model_file.c -- model files: a header (magic "TLMODEL1", version, kind,
 * sizes), the interaction options, the arrays the model's family lists
 * (its sections hook), and the XXH3-64 of all of it. One serialiser (to a
 * stream) and one parser (of bytes in memory) serve both homes of a
 * model: the store's blob "models/NAME", written with the blob writer and
 * read through a map, and a file at a given path, written to a temporary
 * file and renamed, read through a map. A load checks the header against
 * the family's ranges, the size against what the header promises (before
 * allocating anything), the checksum, then the family's own check of its
 * stored codes.
 *
 * Layout (little-endian, as the machine writes it):
 *   offset  size  field
 *        0     8  magic "TLMODEL1"
 *        8     4  version (2: time window in the interaction options;
 *                 segment popularity)
 *       12     4  kind (tl_model_kind_t)
 *       16     4  nitems
 *       20     4  nusers
 *       24     4  the family's third size: factors (ials, blend; 0 for
 *                 pop and ease), neighbours (knn), categories (segpop)
 *       28     4  segment groups (segpop), else 0
 *       32     -  tl_interact_opts_t, then the sections, then the digest */
#include "rec_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define MODEL_MAGIC "TLMODEL1"
#define MODEL_VERSION 2 /* 2: time window in the interaction options; segment popularity */

typedef struct {
    char magic[8];
    uint32_t version, kind, nitems, nusers, f, pad;
} mhead_t;

static int wr(FILE *f, XXH3_state_t *h, const void *p, size_t n) {
    XXH3_64bits_update(h, p, n);
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : TL_EIO;
}

/* The family's third header size, where it lives in the model. */
static uint32_t *head_field(tl_model_t *m, const struct tl_model_ops *ops) {
    return (uint32_t *)((char *)m + ops->head_field);
}

/* The family of a stored kind number, or NULL. */
static const tl_model_info_t *family(uint32_t kind) {
    const tl_model_info_t *mi;
    for (uint32_t i = 0; (mi = tl_model_at(i)); i++)
        if ((uint32_t)mi->kind == kind) return mi;
    return NULL;
}

/* The model's bytes written to f: 0, TL_EIO or TL_ENOMEM. */
static int model_write(const tl_model_t *m, FILE *f) {
    XXH3_state_t *h = XXH3_createState();
    if (!h) return TL_ENOMEM;
    XXH3_64bits_reset(h);
    const struct tl_model_ops *ops = tl__model_ops(m);
    mhead_t hd = {MODEL_MAGIC, MODEL_VERSION, (uint32_t)m->kind, m->nitems, m->nusers,
                  *head_field((tl_model_t *)m, ops), m->ngroups};
    memcpy(hd.magic, MODEL_MAGIC, 8);
    int rc = wr(f, h, &hd, sizeof hd);
    if (!rc) rc = wr(f, h, &m->io, sizeof m->io);
    void *p[TL__MODEL_SECTIONS];
    size_t len[TL__MODEL_SECTIONS];
    int ns = ops->sections((tl_model_t *)m, 0, p, len);
    for (int k = 0; !rc && k < ns; k++) rc = wr(f, h, p[k], len[k]);
    uint64_t d = XXH3_64bits_digest(h);
    if (!rc && fwrite(&d, 1, 8, f) != 8) rc = TL_EIO;
    XXH3_freeState(h);
    return rc;
}

/* The model held in b[0..n), where naming it in messages. */
static int model_parse(const unsigned char *b, size_t n, const char *where, tl_model_t **out,
                       tl_errbuf_t *eb) {
    *out = NULL;
    mhead_t hd;
    const tl_model_info_t *mi = NULL;
    tl_model_t *m = calloc(1, sizeof *m);
    int rc = m ? 0 : TL_ENOMEM;
    if (n >= sizeof hd) memcpy(&hd, b, sizeof hd);
    if (!rc && (n < sizeof hd || memcmp(hd.magic, MODEL_MAGIC, 8) != 0)) {
        tl_errbuf_set(eb, "%s: not a tailor model file", where);
        rc = TL_ECORRUPT;
    } else if (!rc && hd.version != MODEL_VERSION) {
        tl_errbuf_set(eb, "%s: model file version %u, this tailor reads version %d; train it again",
                      where, hd.version, MODEL_VERSION);
        rc = TL_EVERSION;
    } else if (!rc && (!(mi = family(hd.kind)) || hd.nitems == 0 || hd.nitems > mi->ops->max_items ||
                       hd.nusers > 500000000 || hd.f < mi->ops->head_min || hd.f > mi->ops->head_max ||
                       hd.pad > mi->ops->pad_max)) {
        tl_errbuf_set(eb, "%s: the model file's header is not valid", where);
        rc = TL_ECORRUPT;
    }
    if (!rc) {
        const struct tl_model_ops *ops = mi->ops;
        m->kind = mi->kind, m->nitems = hd.nitems, m->nusers = hd.nusers, m->ngroups = hd.pad;
        *head_field(m, ops) = hd.f;
        void *p[TL__MODEL_SECTIONS];
        size_t len[TL__MODEL_SECTIONS];
        /* The bytes are exactly what the header promises, or nothing is
         * allocated: a damaged header must not ask for gigabytes. */
        int ns = ops->sections(m, 0, p, len);
        uint64_t want = sizeof hd + sizeof m->io + 8, d;
        for (int k = 0; k < ns; k++) want += len[k];
        if ((uint64_t)n != want) rc = TL_ECORRUPT;
        if (!rc && (ns = ops->sections(m, 1, p, len)) < 0) rc = TL_ENOMEM;
        if (!rc) {
            size_t at = sizeof hd;
            memcpy(&m->io, b + at, sizeof m->io);
            at += sizeof m->io;
            for (int k = 0; k < ns; k++) {
                if (len[k]) memcpy(p[k], b + at, len[k]);
                at += len[k];
            }
            memcpy(&d, b + at, 8);
            if (XXH3_64bits(b, at) != d) rc = TL_ECORRUPT;
        }
        if (!rc && ops->check) rc = ops->check(m); /* stored codes index the tables */
        if (rc == TL_ECORRUPT)
            tl_errbuf_set(eb, "%s: the model file is damaged (wrong size or checksum); train it again",
                          where);
    }
    if (rc) {
        tl_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int tl_model_save(const tl_model_t *m, const char *path, tl_errbuf_t *eb) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        tl_errbuf_set(eb, "%s: cannot create the model file", tmp);
        return TL_EIO;
    }
    int rc = model_write(m, f);
    if (fclose(f) != 0 && !rc) rc = TL_EIO;
    if (!rc && rename(tmp, path) != 0) rc = TL_EIO;
    if (rc) {
        unlink(tmp);
        tl_errbuf_set(eb, "%s: cannot write the model: %s", path, tl_strerror(rc));
    }
    return rc;
}

int tl_model_load(const char *path, tl_model_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tl_errbuf_set(eb, "%s: no such model; train one with `tailor train`", path);
        return TL_ENOENT;
    }
    struct stat sb;
    int rc = fstat(fd, &sb) == 0 ? 0 : TL_EIO;
    size_t n = rc ? 0 : (size_t)sb.st_size;
    void *b = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (!rc && b == MAP_FAILED) rc = TL_EIO;
    if (rc) {
        tl_errbuf_set(eb, "%s: cannot read the model: %s", path, tl_strerror(rc));
        return rc;
    }
    rc = model_parse(b, n, path, out, eb);
    if (b) munmap(b, n);
    return rc;
}

/* ---- models kept in the store ---------------------------------------------------- */

/* The blob of model name, and where it lives for messages. */
static int model_blob(tl_store_t *st, const char *name, char *blob, size_t bcap, char *where,
                      size_t wcap, tl_errbuf_t *eb) {
    int rc = tl_store_blob_name(TL_BLOB_MODEL, name, blob, bcap);
    if (rc) {
        tl_errbuf_set(eb, "model \"%s\": lower-case letters, digits, _ and -", name);
        return rc;
    }
    return tl_store_blob_where(st, blob, where, wcap, eb);
}

int tl_rec_model_writer(tl_store_t *st, const char *name, const tl_model_t *m, tl_blobw_t **out,
                        tl_errbuf_t *eb) {
    char blob[256], where[4300];
    *out = NULL;
    int rc = model_blob(st, name, blob, sizeof blob, where, sizeof where, eb);
    tl_blobw_t *w = NULL;
    if (!rc) rc = tl_store_blob_create(st, blob, &w, eb);
    if (rc) return rc;
    if ((rc = model_write(m, tl_blobw_stream(w))) != 0) {
        tl_blobw_abandon(w);
        tl_errbuf_set(eb, "%s: cannot write the model: %s", where, tl_strerror(rc));
        return rc;
    }
    *out = w;
    return 0;
}

int tl_rec_model_save(tl_store_t *st, const char *name, const tl_model_t *m, tl_errbuf_t *eb) {
    tl_blobw_t *w;
    int rc = tl_rec_model_writer(st, name, m, &w, eb);
    return rc ? rc : tl_blobw_close(w, eb);
}

int tl_rec_model_load(tl_store_t *st, const char *name, tl_model_t **out, tl_errbuf_t *eb) {
    char blob[256], where[4300];
    *out = NULL;
    int rc = model_blob(st, name, blob, sizeof blob, where, sizeof where, eb);
    tl_blob_view_t v;
    if (!rc && (rc = tl_store_blob_map(st, blob, &v, eb)) == TL_ENOENT)
        tl_errbuf_set(eb, "%s: no such model; train one with `tailor train`", where);
    if (rc) return rc;
    rc = model_parse(v.data, v.len, where, out, eb);
    tl_store_blob_unmap(&v);
    return rc;
}

typedef struct {
    tl_rec_model_fn fn;
    void *arg;
} listctx_t;

static int list_one(const char *blob, void *arg) {
    listctx_t *x = arg;
    return x->fn(blob + strlen("models/"), x->arg);
}

int tl_rec_model_list(tl_store_t *st, tl_rec_model_fn fn, void *arg, tl_errbuf_t *eb) {
    listctx_t x = {fn, arg};
    return tl_store_blob_list(st, "models/", list_one, &x, eb);
}
