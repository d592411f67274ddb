/* evlog.c -- the append-only columnar event log.
 *
 * Events are buffered column by column and written as blocks of up to
 * TL_EVB_ROWS rows (layout in docs/FORMATS.md). A column whose values are
 * all equal in a block is stored once; others are plain arrays padded to
 * 8 bytes, so a reader maps the file and points straight into it.
 *
 * Invariants: `committed` <= `end` <= file size; bytes past `committed` are
 * not part of the log until the store's SQLite commit records the new
 * length, and are cut on the next open. Every block ends on an 8-byte
 * boundary relative to the file start. */
#include "store/local/local_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* for XXH3_state_t on the stack */
#include <xxhash.h>

typedef struct {
    uint8_t id, width;
    uint64_t dflt; /* the usual value (little-endian bytes), for SPARSE */
} colspec_t;

#define NONE32 0xFFFFFFFFull
#define NAN32 0x7FC00000ull             /* the bits of (float)NAN */
#define NAN64 0x7FF8000000000000ull     /* the bits of (double)NAN */

/* Column ids, value widths and usual values, in the order they are stored. */
static const colspec_t COLS[TL_EVB_NCOLS] = {
    {0, 8, 0},       {1, 4, 0},      {2, 4, NONE32}, {3, 8, 0},      {4, 1, 0},
    {5, 1, 0xFF},    {6, 8, NAN64},  {7, 4, 1},      {8, 4, NAN32},  {9, 4, NONE32},
    {10, 4, NONE32}, {11, 4, NAN32}, {12, 4, NAN32}, {13, 4, NONE32}, {14, 4, NONE32},
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void **col_ptrs(tl_evlog_t *lg, void *out[TL_EVB_NCOLS]) {
    out[0] = lg->fp, out[1] = lg->user, out[2] = lg->item, out[3] = lg->ts;
    out[4] = lg->type, out[5] = lg->channel, out[6] = lg->amount, out[7] = lg->qty;
    out[8] = lg->rating, out[9] = lg->query, out[10] = lg->city, out[11] = lg->lat;
    out[12] = lg->lon, out[13] = lg->session, out[14] = lg->campaign;
    return out;
}

static int write_all(int fd, const void *p, size_t n, uint64_t off) {
    const char *c = p;
    while (n) {
        ssize_t w = pwrite(fd, c, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return tl_err_from_errno(errno);
        }
        c += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}

static int alloc_columns(tl_evlog_t *lg) {
    void **slots[TL_EVB_NCOLS] = {
        (void **)&lg->fp, (void **)&lg->user, (void **)&lg->item, (void **)&lg->ts,
        (void **)&lg->type, (void **)&lg->channel, (void **)&lg->amount, (void **)&lg->qty,
        (void **)&lg->rating, (void **)&lg->query, (void **)&lg->city, (void **)&lg->lat,
        (void **)&lg->lon, (void **)&lg->session, (void **)&lg->campaign};
    for (int c = 0; c < TL_EVB_NCOLS; c++) {
        *slots[c] = malloc((size_t)TL_EVB_ROWS * COLS[c].width);
        if (!*slots[c]) return TL_ENOMEM;
    }
    return 0;
}

static int write_file_header(int fd, int64_t now, tl_errbuf_t *eb, const char *path) {
    uint8_t h[TL_EVLOG_HDR] = {0};
    memcpy(h, TL_EVLOG_MAGIC, 8);
    put32(h + 8, TL_EVLOG_VERSION);
    put64(h + 16, (uint64_t)now);
    put64(h + 24, XXH3_64bits(h, 24));
    int rc = write_all(fd, h, sizeof h, 0);
    if (!rc && fsync(fd) != 0) rc = tl_err_from_errno(errno);
    if (rc) tl_errbuf_set(eb, "%s: cannot write the log header: %s", path, tl_strerror(rc));
    return rc;
}

static int check_file_header(const uint8_t *h, const char *path, tl_errbuf_t *eb) {
    if (memcmp(h, TL_EVLOG_MAGIC, 8) != 0 || get64(h + 24) != XXH3_64bits(h, 24)) {
        tl_errbuf_set(eb, "%s: not a tailor event log (bad header at offset 0)", path);
        return TL_ECORRUPT;
    }
    if (get32(h + 8) != TL_EVLOG_VERSION) {
        tl_errbuf_set(eb, "%s: event log format version %u, this tailor reads version %d; "
                      "use the tailor that wrote it or re-import into a new data directory",
                      path, get32(h + 8), TL_EVLOG_VERSION);
        return TL_EVERSION;
    }
    return 0;
}

int tl__evlog_open(tl_evlog_t *lg, const char *path, uint64_t committed, uint64_t nevents,
                   int readonly, int64_t now, tl_errbuf_t *eb) {
    memset(lg, 0, sizeof *lg);
    lg->fd = -1;
    lg->path = strdup(path);
    if (!lg->path) return TL_ENOMEM;
    lg->fd = open(path, readonly ? O_RDONLY : O_RDWR | O_CREAT, 0600);
    if (lg->fd < 0 && readonly && committed == 0 && errno == ENOENT) {
        /* a directory created by a writer that stopped before making its
         * log: nothing was ever committed to it, so it is an empty log */
        lg->committed = lg->end = 0;
        return 0;
    }
    if (lg->fd < 0) {
        int rc = tl_err_from_errno(errno);
        tl_errbuf_set(eb, "%s: cannot open the event log: %s", path, strerror(errno));
        return rc;
    }
    struct stat sb;
    if (fstat(lg->fd, &sb) != 0) return tl_err_from_errno(errno);
    uint64_t size = (uint64_t)sb.st_size;
    int rc;
    if (committed == 0) {
        /* A new log: (re)write the header; anything else is an uncommitted tail. */
        if (readonly) {
            lg->committed = lg->end = 0;
            return 0;
        }
        if (ftruncate(lg->fd, 0) != 0) return tl_err_from_errno(errno);
        if ((rc = write_file_header(lg->fd, now, eb, path))) return rc;
        committed = TL_EVLOG_HDR;
        size = committed;
    }
    if (size < committed) {
        tl_errbuf_set(eb, "%s: the event log has %llu bytes but %llu were committed; the file "
                      "was truncated or replaced: restore it from a backup",
                      path, (unsigned long long)size, (unsigned long long)committed);
        return TL_ECORRUPT;
    }
    uint8_t h[TL_EVLOG_HDR];
    if (pread(lg->fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        tl_errbuf_set(eb, "%s: cannot read the log header", path);
        return TL_ECORRUPT;
    }
    if ((rc = check_file_header(h, path, eb))) return rc;
    if (size > committed && !readonly) {
        /* The torn or uncommitted tail of an interrupted batch. */
        if (ftruncate(lg->fd, (off_t)committed) != 0 || fsync(lg->fd) != 0)
            return tl_err_from_errno(errno);
    }
    lg->committed = lg->end = committed;
    lg->nevents = nevents;
    if (!readonly && (rc = alloc_columns(lg))) return rc;
    return 0;
}

void tl__evlog_close(tl_evlog_t *lg) {
    if (lg->map) munmap(lg->map, lg->maplen);
    if (lg->fd >= 0) close(lg->fd);
    void *cols[TL_EVB_NCOLS];
    col_ptrs(lg, cols);
    for (int c = 0; c < TL_EVB_NCOLS; c++) free(cols[c]);
    tl_buf_fini(&lg->out);
    free(lg->path);
    free(lg->blk_max);
    memset(lg, 0, sizeof *lg);
    lg->fd = -1;
}

/* Scans a column once: is it constant, how many rows differ from the
 * default, its range (as signed), and whether it fits 16 bits. The loops are
 * typed per width so the compiler can vectorise them. */
typedef struct {
    int is_const, fits16;
    uint32_t nset;
    int64_t mn, mx;
} colscan_t;

#define SCAN_COL(T, ST, WIDE)                                                  \
    do {                                                                       \
        const T *a = (const T *)p;                                             \
        const T dv = (T)cs->dflt, first = a[0];                                \
        uint32_t nset = 0, diff = 0, wide = 0;                                 \
        ST mn = (ST)first, mx = (ST)first;                                     \
        for (uint32_t i = 0; i < n; i++) {                                     \
            T v = a[i];                                                        \
            nset += v != dv;                                                   \
            diff |= v != first;                                                \
            wide |= WIDE(v);                                                   \
            if ((ST)v < mn) mn = (ST)v;                                        \
            if ((ST)v > mx) mx = (ST)v;                                        \
        }                                                                      \
        r.is_const = !diff, r.nset = nset, r.fits16 = !wide, r.mn = mn, r.mx = mx; \
    } while (0)

static colscan_t scan_col(const uint8_t *p, uint32_t n, const colspec_t *cs) {
    colscan_t r;
    switch (cs->width) {
#define NOT16(v) ((v) >= 0xFFFFu && (v) != 0xFFFFFFFFu)
#define ALWAYS(v) ((void)(v), 1)
    case 1: SCAN_COL(uint8_t, int64_t, ALWAYS); break;
    case 4: SCAN_COL(uint32_t, int64_t, NOT16); break;
    default: SCAN_COL(uint64_t, int64_t, ALWAYS); break;
    }
    return r;
}

/* How a column will be stored: its encoding and stored length. */
typedef struct {
    uint8_t enc;
    uint32_t len, nset; /* nset: rows that differ from the default (SPARSE) */
    int64_t base;       /* DELTA32 */
} colenc_t;

static colenc_t choose(const uint8_t *p, uint32_t n, const colspec_t *cs) {
    unsigned w = cs->width;
    colscan_t sc = scan_col(p, n, cs);
    if (sc.is_const) return (colenc_t){TL_ENC_CONST, w, 0, 0};
    colenc_t best = {TL_ENC_PLAIN, n * w, 0, 0};
    uint32_t sparse = 4 + w + (n + 7) / 8 + sc.nset * w;
    if (sparse < best.len) best = (colenc_t){TL_ENC_SPARSE, sparse, sc.nset, 0};
    /* ts: offsets from the smallest value */
    if (cs->id == 3 && (uint64_t)(sc.mx - sc.mn) < 0xFFFFFFFFull && 8 + n * 4 < best.len)
        best = (colenc_t){TL_ENC_DELTA32, 8 + n * 4, 0, sc.mn};
    /* small dictionary indexes fit in 16 bits */
    if (w == 4 && sc.fits16 && n * 2 < best.len) best = (colenc_t){TL_ENC_NARROW16, n * 2, 0, 0};
    return best;
}

#define SPARSE_COL(T)                                                          \
    do {                                                                       \
        const T *a = (const T *)p, dv = (T)cs->dflt;                           \
        for (uint32_t i = 0; i < n; i++) {                                     \
            if (a[i] == dv) continue;                                          \
            bm[i >> 3] |= (uint8_t)(1u << (i & 7));                            \
            memcpy(v, &a[i], sizeof(T));                                       \
            v += sizeof(T);                                                    \
        }                                                                      \
    } while (0)

static void encode(uint8_t *o, const uint8_t *p, uint32_t n, const colspec_t *cs,
                   const colenc_t *e) {
    unsigned w = cs->width;
    switch (e->enc) {
    case TL_ENC_CONST: memcpy(o, p, w); break;
    case TL_ENC_SPARSE: {
        put32(o, e->nset);
        memcpy(o + 4, &cs->dflt, w);
        uint8_t *bm = o + 4 + w, *v = bm + (n + 7) / 8;
        memset(bm, 0, (n + 7) / 8);
        if (w == 1) SPARSE_COL(uint8_t);
        else if (w == 4) SPARSE_COL(uint32_t);
        else SPARSE_COL(uint64_t);
        break;
    }
    case TL_ENC_DELTA32: {
        const int64_t *a = (const int64_t *)p;
        uint32_t *out = (uint32_t *)(o + 8); /* o is 8-aligned: see write_block */
        put64(o, (uint64_t)e->base);
        for (uint32_t i = 0; i < n; i++) out[i] = (uint32_t)(a[i] - e->base);
        break;
    }
    case TL_ENC_NARROW16: {
        const uint32_t *a = (const uint32_t *)p;
        uint16_t *out = (uint16_t *)o;
        for (uint32_t i = 0; i < n; i++) out[i] = (uint16_t)(a[i] == 0xFFFFFFFFu ? 0xFFFF : a[i]);
        break;
    }
    default: memcpy(o, p, (size_t)n * w); break;
    }
}

/* Expands a stored column into out (n values); 0, or -1 if it is malformed. */
static int decode(uint8_t *out, const uint8_t *d, uint32_t len, uint32_t n, uint8_t enc,
                  unsigned w) {
    switch (enc) {
    case TL_ENC_CONST:
        if (len != w) return -1;
        for (uint32_t i = 0; i < n; i++) memcpy(out + (size_t)i * w, d, w);
        return 0;
    case TL_ENC_SPARSE: {
        uint32_t nset = len >= 4 ? get32(d) : 0, bml = (n + 7) / 8;
        if (len < 4 + w + bml || len != 4 + w + bml + (uint64_t)nset * w) return -1;
        const uint8_t *dflt = d + 4, *bm = dflt + w, *v = bm + bml, *vend = d + len;
        for (uint32_t i = 0; i < n; i++) {
            if (bm[i >> 3] & (1u << (i & 7))) {
                if (v + w > vend) return -1;
                memcpy(out + (size_t)i * w, v, w);
                v += w;
            } else {
                memcpy(out + (size_t)i * w, dflt, w);
            }
        }
        return v == vend ? 0 : -1;
    }
    case TL_ENC_DELTA32: {
        if (w != 8 || len != 8 + (uint64_t)n * 4) return -1;
        int64_t base = (int64_t)get64(d);
        for (uint32_t i = 0; i < n; i++) put64(out + (size_t)i * 8, (uint64_t)(base + get32(d + 8 + (size_t)i * 4)));
        return 0;
    }
    case TL_ENC_NARROW16:
        if (w != 4 || len != (uint64_t)n * 2) return -1;
        for (uint32_t i = 0; i < n; i++) {
            uint16_t v = get16(d + (size_t)i * 2);
            put32(out + (size_t)i * 4, v == 0xFFFF ? 0xFFFFFFFFu : v);
        }
        return 0;
    default: return -1;
    }
}

static int write_block(tl_evlog_t *lg, tl_errbuf_t *eb) {
    if (lg->n == 0) return 0;
    void *cols[TL_EVB_NCOLS];
    col_ptrs(lg, cols);
    uint32_t n = lg->n;
    size_t dir = (size_t)TL_EVB_NCOLS * 8, payload = dir;
    colenc_t enc[TL_EVB_NCOLS];
    for (int c = 0; c < TL_EVB_NCOLS; c++) {
        enc[c] = choose(cols[c], n, &COLS[c]);
        payload += (enc[c].len + 7u) & ~7u;
    }
    tl_buf_clear(&lg->out);
    if (tl_buf_reserve(&lg->out, TL_EVB_HDR + payload)) return TL_ENOMEM;
    uint8_t *b = (uint8_t *)lg->out.data;
    memset(b, 0, TL_EVB_HDR + payload);
    int64_t mn = lg->ts[0], mx = lg->ts[0];
    for (uint32_t i = 1; i < n; i++) {
        if (lg->ts[i] < mn) mn = lg->ts[i];
        if (lg->ts[i] > mx) mx = lg->ts[i];
    }
    put32(b, TL_EVB_MAGIC);
    put16(b + 4, TL_EVB_VERSION);
    put16(b + 6, TL_EVB_NCOLS);
    put32(b + 8, n);
    put32(b + 12, (uint32_t)payload);
    put64(b + 16, lg->nevents + lg->pending - n);
    put64(b + 24, (uint64_t)mn);
    put64(b + 32, (uint64_t)mx);
    uint8_t *d = b + TL_EVB_HDR, *data = d + dir;
    for (int c = 0; c < TL_EVB_NCOLS; c++) {
        d[c * 8] = COLS[c].id;
        d[c * 8 + 1] = enc[c].enc;
        put32(d + c * 8 + 4, enc[c].len);
        encode(data, cols[c], n, &COLS[c], &enc[c]);
        data += (enc[c].len + 7u) & ~7u;
    }
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, b, 40);
    XXH3_64bits_update(&st, b + TL_EVB_HDR, payload);
    put64(b + 40, XXH3_64bits_digest(&st));
    size_t total = TL_EVB_HDR + payload;
    int rc = write_all(lg->fd, b, total, lg->end);
    if (rc) {
        tl_errbuf_set(eb, "%s: cannot append %zu bytes at offset %llu: %s; what was committed "
                      "before is intact", lg->path, total, (unsigned long long)lg->end,
                      strerror(errno));
        return rc;
    }
    /* Start writing the block to disk now, without waiting, so the fsync
     * at commit finds little left to do. */
    sync_file_range(lg->fd, (off_t)lg->end, (off_t)total, SYNC_FILE_RANGE_WRITE);
    lg->end += total;
    lg->n = 0;
    return 0;
}

int tl__evlog_append(tl_evlog_t *lg, const tl_event_t *ev, tl_errbuf_t *eb) {
    uint32_t i = lg->n;
    lg->fp[i] = ev->fp;
    lg->user[i] = ev->user;
    lg->item[i] = ev->item;
    lg->ts[i] = ev->ts;
    lg->type[i] = ev->type;
    lg->channel[i] = ev->channel;
    lg->amount[i] = ev->amount;
    lg->qty[i] = ev->qty;
    lg->rating[i] = ev->rating;
    lg->query[i] = ev->query;
    lg->city[i] = ev->city;
    lg->lat[i] = ev->lat;
    lg->lon[i] = ev->lon;
    lg->session[i] = ev->session;
    lg->campaign[i] = ev->campaign;
    lg->n++;
    lg->pending++;
    if (lg->n == TL_EVB_ROWS) return write_block(lg, eb);
    return 0;
}

int tl__evlog_flush(tl_evlog_t *lg, tl_errbuf_t *eb) {
    int rc = write_block(lg, eb);
    if (rc) return rc;
    if (lg->end != lg->committed && fdatasync(lg->fd) != 0) {
        rc = tl_err_from_errno(errno);
        tl_errbuf_set(eb, "%s: fsync failed: %s", lg->path, strerror(errno));
        return rc;
    }
    return 0;
}

void tl__evlog_mark_committed(tl_evlog_t *lg) {
    lg->committed = lg->end;
    lg->nevents += lg->pending;
    lg->pending = 0;
}

int tl__evlog_rollback(tl_evlog_t *lg) {
    lg->n = 0;
    lg->pending = 0;
    if (lg->end != lg->committed) {
        lg->end = lg->committed;
        if (ftruncate(lg->fd, (off_t)lg->committed) != 0) return tl_err_from_errno(errno);
    }
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct {
    void *col[TL_EVB_NCOLS]; /* expansion space for constant columns */
} scratch_t;

/* Learns the latest time of block k (the next one not known yet). */
static void note_max(tl_evlog_t *lg, uint64_t k, const int64_t *ts, uint32_t n) {
    if (k != lg->nmax) return;
    if (lg->nmax == lg->capmax) {
        uint64_t nc = lg->capmax ? lg->capmax * 2 : 256;
        int64_t *g = realloc(lg->blk_max, nc * sizeof *g);
        if (!g) return; /* only an aid: scans go on reading the blocks */
        lg->blk_max = g, lg->capmax = nc;
    }
    int64_t m = INT64_MIN;
    for (uint32_t i = 0; i < n; i++)
        if (ts[i] > m) m = ts[i];
    lg->blk_max[lg->nmax++] = m;
}

int tl__evlog_scan(tl_evlog_t *lg, uint64_t from_seq, int64_t min_ts, uint32_t want,
                   tl_evblock_fn fn, void *arg, int verify, tl_errbuf_t *eb) {
    if (lg->committed <= TL_EVLOG_HDR) return 0;
    if (min_ts != INT64_MIN) want |= TL_EVC_TS; /* the times teach the blocks' ends */
    /* a scan of what was added since a count starts where the last scan
     * ended, on a map of the tail alone: its cost is what it reads, not
     * the size of the log */
    uint64_t off = TL_EVLOG_HDR, seq = 0, view_off = 0, blk = 0;
    const uint8_t *view = NULL;
    void *tail = NULL;
    size_t taillen = 0;
    if (from_seq && lg->hint_off > TL_EVLOG_HDR && lg->hint_seq <= from_seq && lg->hint_off <= lg->committed) {
        off = lg->hint_off, seq = lg->hint_seq, blk = lg->hint_blk;
        if (off == lg->committed) return 0;
        uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
        view_off = off - off % pg;
        taillen = lg->committed - view_off;
        tail = mmap(NULL, taillen, PROT_READ, MAP_PRIVATE, lg->fd, (off_t)view_off);
        if (tail == MAP_FAILED) {
            int rc = tl_err_from_errno(errno);
            tl_errbuf_set(eb, "%s: cannot map the event log: %s", lg->path, strerror(errno));
            return rc;
        }
        view = tail;
    }
    if (!view && lg->map && lg->maplen != lg->committed) {
        munmap(lg->map, lg->maplen);
        lg->map = NULL;
    }
    if (!view && !lg->map) {
        void *m = mmap(NULL, lg->committed, PROT_READ, MAP_PRIVATE, lg->fd, 0);
        if (m == MAP_FAILED) {
            int rc = tl_err_from_errno(errno);
            tl_errbuf_set(eb, "%s: cannot map the event log: %s", lg->path, strerror(errno));
            return rc;
        }
        lg->map = m;
        lg->maplen = lg->committed;
        madvise(m, lg->committed, MADV_SEQUENTIAL);
    }
    scratch_t sc = {{0}};
    int rc = 0;
    for (int c = 0; c < TL_EVB_NCOLS; c++) {
        sc.col[c] = malloc((size_t)TL_EVB_ROWS * COLS[c].width);
        if (!sc.col[c]) rc = TL_ENOMEM;
    }
    if (!view) view = lg->map;
    while (!rc && off < lg->committed) {
        const uint8_t *b = view + (off - view_off);
        if (lg->committed - off < TL_EVB_HDR || get32(b) != TL_EVB_MAGIC) {
            tl_errbuf_set(eb, "%s: corrupt block at offset %llu: bad block header", lg->path,
                          (unsigned long long)off);
            rc = TL_ECORRUPT;
            break;
        }
        uint32_t n = get32(b + 8), payload = get32(b + 12);
        uint16_t ncols = get16(b + 6);
        if (get16(b + 4) != TL_EVB_VERSION || ncols != TL_EVB_NCOLS || n == 0 ||
            n > TL_EVB_ROWS || payload > lg->committed - off - TL_EVB_HDR ||
            get64(b + 16) != seq) {
            tl_errbuf_set(eb, "%s: corrupt block at offset %llu: inconsistent header", lg->path,
                          (unsigned long long)off);
            rc = TL_ECORRUPT;
            break;
        }
        if (seq + n <= from_seq || (min_ts != INT64_MIN && blk < lg->nmax && lg->blk_max[blk] < min_ts)) {
            /* before the first row asked for, or only times before the first asked for */
            seq += n, blk++;
            off += TL_EVB_HDR + payload;
            continue;
        }
        if (verify) {
            XXH3_state_t st;
            XXH3_64bits_reset(&st);
            XXH3_64bits_update(&st, b, 40);
            XXH3_64bits_update(&st, b + TL_EVB_HDR, payload);
            if (XXH3_64bits_digest(&st) != get64(b + 40)) {
                tl_errbuf_set(eb, "%s: corrupt block at offset %llu: checksum mismatch "
                              "(rows %llu-%llu)", lg->path, (unsigned long long)off,
                              (unsigned long long)seq, (unsigned long long)(seq + n - 1));
                rc = TL_ECORRUPT;
                break;
            }
        }
        const uint8_t *d = b + TL_EVB_HDR, *data = d + (size_t)ncols * 8,
                      *end = b + TL_EVB_HDR + payload;
        const void *ptr[TL_EVB_NCOLS];
        for (int c = 0; c < TL_EVB_NCOLS && !rc; c++) {
            uint8_t enc = d[c * 8 + 1];
            uint32_t len = get32(d + c * 8 + 4), w = COLS[c].width;
            int skip = !(want & (1u << c)); /* a column the caller does not read */
            if (d[c * 8] != COLS[c].id || data + len > end ||
                (enc == TL_ENC_PLAIN && len != n * w) ||
                (!skip && enc != TL_ENC_PLAIN && decode(sc.col[c], data, len, n, enc, w) != 0)) {
                tl_errbuf_set(eb, "%s: corrupt block at offset %llu: bad column %d", lg->path,
                              (unsigned long long)off, c);
                rc = TL_ECORRUPT;
                break;
            }
            ptr[c] = skip ? NULL : enc == TL_ENC_PLAIN ? (const void *)data : sc.col[c];
            data += (len + 7u) & ~7u;
        }
        if (rc) break;
        tl_evblock_t eb_blk = {
            .n = n, .first_seq = seq, .fp = ptr[0], .user = ptr[1], .item = ptr[2],
            .ts = ptr[3], .type = ptr[4], .channel = ptr[5], .amount = ptr[6], .qty = ptr[7],
            .rating = ptr[8], .query = ptr[9], .city = ptr[10], .lat = ptr[11], .lon = ptr[12],
            .session = ptr[13], .campaign = ptr[14]};
        if (ptr[3]) note_max(lg, blk, ptr[3], n);
        rc = fn(&eb_blk, arg);
        seq += n, blk++;
        off += TL_EVB_HDR + payload;
    }
    if (!rc) lg->hint_off = off, lg->hint_seq = seq, lg->hint_blk = blk; /* the committed end: a block boundary */
    for (int c = 0; c < TL_EVB_NCOLS; c++) free(sc.col[c]);
    if (tail) munmap(tail, taillen);
    return rc;
}

/* ---- copying (erasure, retention) ---------------------------------------- */

typedef struct {
    tl_evlog_t *to;
    tl__evdrop_fn drop;
    void *arg;
    uint64_t dropped;
    tl_errbuf_t *eb;
} copyctx_t;

static int copy_block(const tl_evblock_t *b, void *arg) {
    copyctx_t *x = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        if (x->drop(b, i, x->arg)) {
            x->dropped++;
            continue;
        }
        tl_event_t ev = {.fp = b->fp[i], .user = b->user[i], .item = b->item[i], .ts = b->ts[i],
                         .type = b->type[i], .channel = b->channel[i], .qty = b->qty[i],
                         .amount = b->amount[i], .rating = b->rating[i], .lat = b->lat[i],
                         .lon = b->lon[i], .query = b->query[i], .city = b->city[i],
                         .session = b->session[i], .campaign = b->campaign[i]};
        int rc = tl__evlog_append(x->to, &ev, x->eb);
        if (rc) return rc;
    }
    return 0;
}

int tl__evlog_copy(tl_evlog_t *lg, const char *path, tl__evdrop_fn drop, void *arg, int64_t now,
                   uint64_t *len, uint64_t *nevents, uint64_t *dropped, tl_errbuf_t *eb) {
    tl_evlog_t to;
    unlink(path);
    int rc = tl__evlog_open(&to, path, 0, 0, 0, now, eb);
    copyctx_t x = {&to, drop, arg, 0, eb};
    if (!rc) rc = tl__evlog_scan(lg, 0, INT64_MIN, TL_EVC_ALL, copy_block, &x, 1, eb);
    if (!rc) rc = tl__evlog_flush(&to, eb);
    if (!rc) {
        *len = to.end;
        *nevents = to.nevents + to.pending;
        *dropped = x.dropped;
    }
    tl__evlog_close(&to);
    if (rc) unlink(path);
    return rc;
}
