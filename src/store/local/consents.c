/* consents.c -- which consents are in force: a snapshot of the latest
 * record per user and purpose, so a campaign over millions of users does
 * not read every consent record through SQL.
 *
 * DATA/consents.snap (docs/FORMATS.md) holds, per purpose, each user's
 * latest record: its time (seconds, rounded up; 0: none) and whether it
 * grants. It is rebuilt from the consents table when stale: the table's
 * version (meta "consents_version", bumped by every commit that adds a
 * consent) differs from the one the file was made at. At a time `at`, a
 * user whose latest record is no later than `at` is read off the snapshot;
 * the few whose latest record is later are looked up one by one. */
#include "store/local/local_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define SNAP_MAGIC "TLCONS1"
#define SNAP_FILE "consents.snap"
#define MAX_PURPOSES 32

typedef struct {
    char name[64];
    uint32_t *latest; /* seconds, rounded up; 0: no record */
    uint8_t *granted;
} purpose_t;

/* The table's version into *out: 0 when no consent was ever added. A
 * failed read is an error, not version 0 (that could pass a stale
 * snapshot for fresh). */
static int table_version(tl_store_t *st, int64_t *out, tl_errbuf_t *eb) {
    *out = 0;
    int rc = tl__local_meta_get(st, "consents_version", out, eb);
    if (rc == TL_ENOENT) *out = 0, rc = 0;
    return rc;
}

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w, n -= (size_t)w;
    }
    return 0;
}

/* Builds the snapshot from the table and writes it (atomically). */
static int refresh(tl_store_t *st, int64_t version, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(st);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, eb);
    if (!users) return TL_ENOMEM;
    uint32_t n = tl_dict_count(users);
    purpose_t p[MAX_PURPOSES];
    int np = 0, rc = 0;
    memset(p, 0, sizeof p);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(lo->db, "SELECT user, purpose, granted, at FROM consents "
                           "ORDER BY user, purpose, at, granted", -1, &q, NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s/tailor.db: reading consents: %s", st->dir, sqlite3_errmsg(lo->db));
        return TL_ESQL;
    }
    int step;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t u = sqlite3_column_int64(q, 0), at = sqlite3_column_int64(q, 3);
        const char *name = (const char *)sqlite3_column_text(q, 1);
        if (u < 0 || u >= n || !name) continue;
        int k = 0;
        while (k < np && strcmp(p[k].name, name) != 0) k++;
        if (k == np) {
            if (np == MAX_PURPOSES || strlen(name) >= sizeof p[k].name) continue; /* not ours to track */
            snprintf(p[k].name, sizeof p[k].name, "%s", name);
            p[k].latest = calloc((size_t)n + 1, sizeof *p[k].latest);
            p[k].granted = calloc((size_t)n + 1, 1);
            np++;
            if (!p[k].latest || !p[k].granted) {
                tl_errbuf_set(eb, "%s: out of memory building the snapshot of consents", st->dir);
                rc = TL_ENOMEM;
                break;
            }
        }
        /* rows come in time order per user and purpose: the last one is in force */
        int64_t sec = at <= 0 ? 1 : (at + 999) / 1000;
        p[k].latest[u] = sec > UINT32_MAX ? UINT32_MAX : (uint32_t)sec;
        p[k].granted[u] = (uint8_t)(sqlite3_column_int(q, 2) != 0);
    }
    if (!rc && step != SQLITE_DONE) {
        tl_errbuf_set(eb, "%s/tailor.db: reading consents: %s", st->dir, sqlite3_errmsg(lo->db));
        rc = TL_ESQL;
    }
    sqlite3_finalize(q);
    char tmp[4300], path[4200];
    snprintf(path, sizeof path, "%s/%s", st->dir, SNAP_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = rc ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (!rc && fd < 0) rc = TL_EIO;
    /* header: magic, version, users, purposes, then per purpose its name
     * and the checksum of its block; the blocks follow */
    uint64_t hdr[3] = {(uint64_t)version, n, (uint64_t)np};
    if (!rc && (write_all(fd, SNAP_MAGIC, 8) || write_all(fd, hdr, sizeof hdr))) rc = TL_EIO;
    for (int k = 0; !rc && k < np; k++) {
        uint64_t sum = XXH3_64bits(p[k].latest, (size_t)n * sizeof *p[k].latest) ^
                       XXH3_64bits(p[k].granted, n);
        if (write_all(fd, p[k].name, sizeof p[k].name) || write_all(fd, &sum, sizeof sum)) rc = TL_EIO;
    }
    for (int k = 0; !rc && k < np; k++)
        if (write_all(fd, p[k].latest, (size_t)n * sizeof *p[k].latest) || write_all(fd, p[k].granted, n))
            rc = TL_EIO;
    if (fd >= 0 && !rc && fsync(fd)) rc = TL_EIO;
    if (fd >= 0 && close(fd) && !rc) rc = TL_EIO;
    if (!rc && rename(tmp, path)) rc = TL_EIO;
    if (rc == TL_EIO) { /* the cause kept: a full disk is not an I/O error */
        int e = errno;
        tl_errbuf_set(eb, "%s: writing the snapshot of consents: %s", path, strerror(e));
        unlink(tmp);
        rc = tl_err_write(e);
    }
    for (int k = 0; k < np; k++) free(p[k].latest), free(p[k].granted);
    return rc;
}

int tl__local_consents_refresh(tl_store_t *st, tl_errbuf_t *eb) {
    if (st->readonly) return 0;
    int64_t version;
    int rc = table_version(st, &version, eb);
    if (rc) return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", st->dir, SNAP_FILE);
    FILE *f = fopen(path, "rb");
    char magic[8];
    uint64_t hdr[3];
    int fresh = f && fread(magic, 8, 1, f) == 1 && memcmp(magic, SNAP_MAGIC, 8) == 0 &&
                fread(hdr, sizeof hdr, 1, f) == 1 && hdr[0] == (uint64_t)version;
    if (f) fclose(f);
    return fresh ? 0 : refresh(st, version, eb);
}

/* Reads the needed purposes from a fresh snapshot into bits (bit k set when
 * the record in force grants purposes[k], or, with `withdrawn`, when there
 * is one and it withdraws it); 1 when there is no fresh snapshot to read. */
static int from_snapshot(tl_store_t *st, const char *const *purposes, int np, int64_t at,
                         int withdrawn, uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(st);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", st->dir, SNAP_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    char magic[8];
    uint64_t hdr[3];
    int64_t version;
    int rc = 1;
    /* a version that cannot be read sends the caller to the table */
    if (table_version(st, &version, eb) || pread(fd, magic, 8, 0) != 8 ||
        memcmp(magic, SNAP_MAGIC, 8) != 0 || pread(fd, hdr, sizeof hdr, 8) != (ssize_t)sizeof hdr ||
        hdr[0] != (uint64_t)version || hdr[2] > MAX_PURPOSES) {
        close(fd);
        return 1;
    }
    uint64_t n = hdr[1], nf = hdr[2];
    struct {
        char name[64];
        uint64_t sum;
    } dir[MAX_PURPOSES];
    size_t dlen = (size_t)nf * sizeof dir[0];
    if (pread(fd, dir, dlen, 32) != (ssize_t)dlen) {
        close(fd);
        return 1;
    }
    uint64_t base = 32 + dlen, block = n * 5;
    uint32_t *latest = malloc((size_t)n * sizeof *latest + 1);
    uint8_t *granted = malloc((size_t)n + 1);
    sqlite3_stmt *one = NULL; /* users whose latest record is after `at` */
    rc = latest && granted ? 0 : TL_ENOMEM;
    memset(bits, 0, nusers);
    /* one read transaction for the lookups, not one lock per statement */
    int txn = !st->in_batch && sqlite3_exec(lo->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    for (int k = 0; !rc && k < np && k < 8; k++) {
        uint64_t f = 0;
        while (f < nf && strcmp(dir[f].name, purposes[k]) != 0) f++;
        if (f == nf) continue; /* nobody has a record for it */
        uint64_t off = base + f * block;
        if (pread(fd, latest, (size_t)n * sizeof *latest, (off_t)off) != (ssize_t)(n * sizeof *latest) ||
            pread(fd, granted, (size_t)n, (off_t)(off + n * 4)) != (ssize_t)n ||
            (XXH3_64bits(latest, (size_t)n * sizeof *latest) ^ XXH3_64bits(granted, (size_t)n)) != dir[f].sum) {
            rc = 1; /* damaged: the table is the truth */
            break;
        }
        for (uint64_t u = 0; !rc && u < n && u < nusers; u++) {
            if (!latest[u]) continue;
            if ((int64_t)latest[u] * 1000 <= at) {
                if (granted[u] != withdrawn) bits[u] |= (uint8_t)(1u << k);
                continue;
            }
            if (!one && sqlite3_prepare_v2(lo->db, "SELECT granted FROM consents WHERE user = ?1 AND "
                                           "purpose = ?2 AND at <= ?3 ORDER BY at DESC, granted DESC "
                                           "LIMIT 1", -1, &one, NULL) != SQLITE_OK) {
                tl_errbuf_set(eb, "%s/tailor.db: reading consents: %s", st->dir, sqlite3_errmsg(lo->db));
                rc = TL_ESQL;
                break;
            }
            sqlite3_reset(one);
            sqlite3_bind_int64(one, 1, (int64_t)u);
            sqlite3_bind_text(one, 2, purposes[k], -1, SQLITE_STATIC);
            sqlite3_bind_int64(one, 3, at);
            if (sqlite3_step(one) == SQLITE_ROW && (sqlite3_column_int(one, 0) != 0) != withdrawn)
                bits[u] |= (uint8_t)(1u << k);
        }
    }
    sqlite3_finalize(one);
    if (txn) sqlite3_exec(lo->db, "COMMIT", NULL, NULL, NULL);
    free(latest), free(granted);
    close(fd);
    return rc;
}

int tl__local_consents_in_force(tl_store_t *st, const char *const *purposes, int np, int64_t at,
                                int withdrawn, uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb) {
    int rc = tl__local_consents_refresh(st, eb);
    if (rc) return rc;
    rc = from_snapshot(st, purposes, np, at, withdrawn, bits, nusers, eb);
    return rc == 1 ? tl__local_consents_scan(st, purposes, np, at, withdrawn, bits, nusers, eb) : rc;
}
