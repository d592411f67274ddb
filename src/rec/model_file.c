/* model_file.c -- model files: a header (magic "TLMODEL1", version, kind,
 * sizes), the interaction options, the arrays the model's family lists
 * (its sections hook), and the XXH3-64 of all of it; written to a
 * temporary file and renamed. A load checks the header against the
 * family's ranges, the file's size against what the header promises
 * (before allocating anything), the checksum, then the family's own check
 * of its stored codes.
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int tl_model_save(const tl_model_t *m, const char *path, tl_errbuf_t *eb) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    XXH3_state_t *h = XXH3_createState();
    if (!f || !h) {
        if (f) fclose(f);
        XXH3_freeState(h);
        tl_errbuf_set(eb, "%s: cannot create the model file", tmp);
        return TL_EIO;
    }
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
    if (fclose(f) != 0 && !rc) rc = TL_EIO;
    XXH3_freeState(h);
    if (!rc && rename(tmp, path) != 0) rc = TL_EIO;
    if (rc) {
        unlink(tmp);
        tl_errbuf_set(eb, "%s: cannot write the model: %s", path, tl_strerror(rc));
    }
    return rc;
}

int tl_model_load(const char *path, tl_model_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        tl_errbuf_set(eb, "%s: no such model; train one with `tailor train`", path);
        return TL_ENOENT;
    }
    mhead_t hd;
    const tl_model_info_t *mi = NULL;
    tl_model_t *m = calloc(1, sizeof *m);
    int rc = m ? 0 : TL_ENOMEM;
    if (!rc && (fread(&hd, 1, sizeof hd, f) != sizeof hd || memcmp(hd.magic, MODEL_MAGIC, 8) != 0)) {
        tl_errbuf_set(eb, "%s: not a tailor model file", path);
        rc = TL_ECORRUPT;
    } else if (!rc && hd.version != MODEL_VERSION) {
        tl_errbuf_set(eb, "%s: model file version %u, this tailor reads version %d; train it again",
                      path, hd.version, MODEL_VERSION);
        rc = TL_EVERSION;
    } else if (!rc && (!(mi = family(hd.kind)) || hd.nitems == 0 || hd.nitems > mi->ops->max_items ||
                       hd.nusers > 500000000 || hd.f < mi->ops->head_min || hd.f > mi->ops->head_max ||
                       hd.pad > mi->ops->pad_max)) {
        tl_errbuf_set(eb, "%s: the model file's header is not valid", path);
        rc = TL_ECORRUPT;
    }
    if (!rc) {
        const struct tl_model_ops *ops = mi->ops;
        m->kind = mi->kind, m->nitems = hd.nitems, m->nusers = hd.nusers, m->ngroups = hd.pad;
        *head_field(m, ops) = hd.f;
        void *p[TL__MODEL_SECTIONS];
        size_t len[TL__MODEL_SECTIONS];
        /* The file holds exactly what its header promises, or nothing is
         * allocated: a damaged header must not ask for gigabytes. */
        int ns = ops->sections(m, 0, p, len);
        uint64_t want = sizeof hd + sizeof m->io + 8, d = 0;
        for (int k = 0; k < ns; k++) want += len[k];
        struct stat sb;
        if (fstat(fileno(f), &sb) != 0 || (uint64_t)sb.st_size != want) rc = TL_ECORRUPT;
        if (!rc && (ns = ops->sections(m, 1, p, len)) < 0) rc = TL_ENOMEM;
        if (!rc && fread(&m->io, 1, sizeof m->io, f) != sizeof m->io) rc = TL_ECORRUPT;
        for (int k = 0; !rc && k < ns; k++)
            if (fread(p[k], 1, len[k], f) != len[k]) rc = TL_ECORRUPT;
        if (!rc && (fread(&d, 1, 8, f) != 8 || fgetc(f) != EOF)) rc = TL_ECORRUPT;
        if (!rc) {
            XXH3_state_t *h = XXH3_createState();
            XXH3_64bits_reset(h);
            XXH3_64bits_update(h, &hd, sizeof hd);
            XXH3_64bits_update(h, &m->io, sizeof m->io);
            for (int k = 0; k < ns; k++) XXH3_64bits_update(h, p[k], len[k]);
            if (XXH3_64bits_digest(h) != d) rc = TL_ECORRUPT;
            XXH3_freeState(h);
        }
        if (!rc && ops->check) rc = ops->check(m); /* stored codes index the tables */
        if (rc == TL_ECORRUPT)
            tl_errbuf_set(eb, "%s: the model file is damaged (wrong size or checksum); train it again",
                          path);
    }
    fclose(f);
    if (rc) {
        if (rc == TL_ECORRUPT && !eb->msg[0]) tl_errbuf_set(eb, "%s: the model file is damaged", path);
        tl_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
