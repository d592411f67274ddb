/* profile_snap.c -- the profile snapshot: a profile set's columns saved as
 * the store's blob "profiles" and loaded back (features only, no state).
 */
#include "profile_int.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- the snapshot ------------------------------------------------------------- */

/* DATA/profiles.tlp: "TLPROF3\0", u32 users, u32 columns, i64 as_of, u32
 * count of the users who withdrew profiling and their indexes (u32), u32
 * count of the identifiers merged into another's person and for each its
 * index and its person's (u32 pairs; "TLPROF2" files have none), then per
 * column: u16 name length, name, u8 type, u32 label count, the labels each
 * NUL-ended, then the values (users x 8 bytes for numbers, x 4 for counts
 * and categories); last, the XXH3-64 of everything before it. Kept as the
 * store's blob "profiles", so a reader, also after a crash, sees the old
 * snapshot or the new one, and a second writer waits for the first. */
#define SNAP_MAGIC "TLPROF3"
#define SNAP_MAGIC_2 "TLPROF2" /* before persons: read still */

static int put(tl_buf_t *b, const void *p, size_t n) { return tl_buf_append(b, p, n); }

/* Writes p[0..n) to w and into the running checksum. */
static int emit(tl_blobw_t *w, XXH3_state_t *h, const void *p, size_t n, tl_errbuf_t *eb) {
    XXH3_64bits_update(h, p, n);
    return tl_blobw_write(w, p, n, eb);
}

int tl_profile_save(tl_store_t *st, const tl_profiles_t *p, tl_errbuf_t *eb) {
    tl_blobw_t *w;
    int rc = tl_store_blob_create(st, "profiles", &w, eb);
    if (!rc) rc = tl_profile_write(p, w, eb);
    if (rc) tl_blobw_abandon(w);
    return rc ? rc : tl_blobw_close(w, eb);
}

int tl_profile_write(const tl_profiles_t *p, tl_blobw_t *f, tl_errbuf_t *eb) {
    XXH3_state_t *h = XXH3_createState();
    tl_buf_t b; /* the small parts: header, names, labels */
    tl_buf_init(&b);
    int rc = h ? 0 : TL_ENOMEM;
    if (!rc) XXH3_64bits_reset(h);
    uint32_t n = p->n, nc = (uint32_t)p->ncols;
    uint32_t nw = tl_profile_nwithdrawn(p);
    if (!rc && (put(&b, SNAP_MAGIC, 8) || put(&b, &n, 4) || put(&b, &nc, 4) ||
                put(&b, &p->as_of, 8) || put(&b, &nw, 4)))
        rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < n; u++)
        if (p->withdrawn[u]) rc = put(&b, &u, 4);
    uint32_t nm = tl_profile_nmerged(p);
    if (!rc) rc = put(&b, &nm, 4);
    for (uint32_t u = 0; !rc && p->canon && u < p->ncanon; u++)
        if (p->canon[u] != u && (put(&b, &u, 4) || put(&b, &p->canon[u], 4))) rc = TL_ENOMEM;
    /* column data go straight from the arrays: no copy of the whole file */
    for (int c = 0; !rc && c < p->ncols; c++) {
        const column_t *col = &p->cols[c];
        uint16_t len = (uint16_t)strlen(col->name);
        uint8_t type = (uint8_t)col->type;
        uint32_t nl = col->labels ? tl_dict_count(col->labels) : 0;
        if (put(&b, &len, 2) || put(&b, col->name, len) || put(&b, &type, 1) || put(&b, &nl, 4))
            rc = TL_ENOMEM;
        if (!rc && nl) {
            size_t last;
            const char *first = tl_dict_str(col->labels, 0, NULL);
            const char *lastp = tl_dict_str(col->labels, nl - 1, &last);
            rc = put(&b, first, (size_t)(lastp - first) + last + 1);
        }
        if (!rc) rc = emit(f, h, b.data, b.len, eb);
        tl_buf_clear(&b);
        if (!rc) rc = emit(f, h, col->data, (size_t)n * (col->type == TL_COL_NUM ? 8 : 4), eb);
    }
    if (!rc && p->ncols == 0) rc = emit(f, h, b.data, b.len, eb);
    uint64_t digest = rc ? 0 : XXH3_64bits_digest(h);
    if (!rc) rc = tl_blobw_write(f, &digest, 8, eb);
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory writing the profiles");
    XXH3_freeState(h);
    tl_buf_fini(&b);
    return rc;
}

int tl_profile_load(tl_store_t *st, tl_profiles_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    char path[4200];
    tl_blob_view_t v;
    int rc = tl_store_blob_where(st, "profiles", path, sizeof path, eb);
    if (!rc) rc = tl_store_blob_map(st, "profiles", &v, eb);
    if (rc == TL_ENOENT) tl_errbuf_set(eb, "%s: no profiles yet; run `tailor profile build` first", path);
    if (rc) return rc;
    const char *buf = v.data;
    size_t size = v.len;
    if (size <= 32) rc = TL_EIO;
    uint64_t h;
    if (!rc) memcpy(&h, buf + size - 8, 8);
    int v2 = !rc && memcmp(buf, SNAP_MAGIC_2, 8) == 0;
    if (!rc && ((!v2 && memcmp(buf, SNAP_MAGIC, 8) != 0) || h != XXH3_64bits(buf, size - 8)))
        rc = TL_ECORRUPT;
    tl_profiles_t *p = rc ? NULL : calloc(1, sizeof *p);
    if (!rc && !p) rc = TL_ENOMEM;
    const char *r = buf + 8, *end = buf + size - 8;
    uint32_t n = 0, nc = 0;
#define TAKE(dst, len)                                                                      \
    do {                                                                                    \
        if (rc || (size_t)(end - r) < (size_t)(len)) { rc = rc ? rc : TL_ECORRUPT; break; }  \
        memcpy((dst), r, (len));                                                            \
        r += (len);                                                                         \
    } while (0)
    if (!rc) {
        TAKE(&n, 4);
        TAKE(&nc, 4);
        TAKE(&p->as_of, 8);
        p->n = p->cap = n;
        tl_profile_opts_default(&p->o);
        if (!(p->withdrawn = calloc(n ? n : 1, 1))) rc = TL_ENOMEM;
    }
    uint32_t nw = 0;
    TAKE(&nw, 4);
    for (uint32_t i = 0; !rc && i < nw; i++) {
        uint32_t u = 0;
        TAKE(&u, 4);
        if (!rc && u >= n) rc = TL_ECORRUPT;
        if (!rc) p->withdrawn[u] = 1;
    }
    uint32_t nm = 0;
    if (!v2) TAKE(&nm, 4);
    if (!rc && nm && nm <= n) {
        p->ncanon = n;
        if (!(p->canon = malloc((size_t)n * sizeof *p->canon))) rc = TL_ENOMEM;
        for (uint32_t u = 0; !rc && u < n; u++) p->canon[u] = u;
    } else if (!rc && nm) {
        rc = TL_ECORRUPT;
    }
    for (uint32_t i = 0; !rc && i < nm; i++) {
        uint32_t u = 0, c = 0;
        TAKE(&u, 4);
        TAKE(&c, 4);
        /* a person's row is its smallest identifier, itself unmerged */
        if (!rc && (u >= n || c >= u)) rc = TL_ECORRUPT;
        if (!rc) p->canon[u] = c;
    }
    for (uint32_t u = 0; !rc && p->canon && u < n; u++)
        if (p->canon[p->canon[u]] != p->canon[u]) rc = TL_ECORRUPT;
    for (uint32_t c = 0; !rc && c < nc; c++) {
        uint16_t len = 0;
        uint8_t type = 0;
        uint32_t nl = 0;
        char name[65536];
        TAKE(&len, 2);
        TAKE(name, len);
        name[rc ? 0 : len] = 0;
        TAKE(&type, 1);
        TAKE(&nl, 4);
        if (rc || type > TL_COL_CAT) {
            rc = rc ? rc : TL_ECORRUPT;
            break;
        }
        tl_dict_t *labels = nl ? tl_dict_new() : NULL;
        if (nl && !labels) rc = TL_ENOMEM;
        for (uint32_t i = 0; !rc && i < nl; i++) {
            const char *z = memchr(r, 0, (size_t)(end - r));
            uint32_t idx;
            if (!z) rc = TL_ECORRUPT;
            else if (tl_dict_intern(labels, r, (size_t)(z - r), &idx, NULL)) rc = TL_ENOMEM;
            else r = z + 1;
        }
        if (!rc) rc = tl__profile_add_column(p, name, (tl_coltype_t)type, labels, 1);
        else tl_dict_free(labels);
        if (rc) break;
        size_t bytes = (size_t)n * (type == TL_COL_NUM ? 8 : 4);
        void *data = malloc(bytes ? bytes : 1);
        if (!data) rc = TL_ENOMEM;
        else p->cols[p->ncols - 1].data = data;
        TAKE(data, bytes);
    }
#undef TAKE
    tl_store_blob_unmap(&v);
    /* The consents in force, not those of the build: a withdrawal made
     * since (over the API, by an import) holds for every reader at once,
     * and a consent given back starts an empty profile. */
    uint8_t *now = rc ? NULL : calloc(n ? n : 1, 1);
    if (!rc && !now) rc = TL_ENOMEM;
    if (!rc && n) rc = tl_store_consents_withdrawn(st, "profiling", INT64_MAX, now, n, eb);
    if (!rc) tl__profile_fold_flags(p, now);
    for (uint32_t u = 0; !rc && u < n; u++)
        if (now[u] != p->withdrawn[u]) rc = tl_profile_set_withdrawn(p, u, now[u]);
    free(now);
    if (rc) {
        tl_profile_free(p);
        if (rc == TL_ECORRUPT)
            tl_errbuf_set(eb, "%s: the profiles file is damaged; run `tailor profile build` again",
                          path);
        else if (!eb->msg[0])
            tl_errbuf_set(eb, "%s: cannot read the profiles: %s", path, tl_strerror(rc));
        return rc;
    }
    *out = p;
    return 0;
}
