/* links.c -- the repository of identity links (table `idlinks`), as
 * promised in store.h: links numbered in the order added, one in force per
 * pair of users (a partial unique index), split ones kept with when and
 * why, so the merge history stays. */
#include "store/local/local_int.h"

#include <stdlib.h>

const char tl__links_schema[] =
    "CREATE TABLE IF NOT EXISTS idlinks(id INTEGER PRIMARY KEY, a INTEGER NOT NULL,"
    "  b INTEGER NOT NULL, at INTEGER NOT NULL, source TEXT NOT NULL, split_at INTEGER,"
    "  split_reason TEXT);"
    "CREATE UNIQUE INDEX IF NOT EXISTS idlinks_pair ON idlinks(a, b) WHERE split_at IS NULL;"
    "CREATE INDEX IF NOT EXISTS idlinks_b ON idlinks(b);";

static int id_row(int n, const char *const *c, void *arg) {
    (void)n;
    *(uint64_t *)arg = c[0] ? strtoull(c[0], NULL, 10) : 0;
    return 0;
}

int tl__local_link_add(tl_store_t *st, uint32_t a, uint32_t b, int64_t at, const char *source,
                       uint64_t *id, tl_errbuf_t *eb) {
    int rc = tl__local_exec(st, eb, "INSERT INTO idlinks(a, b, at, source) VALUES (?1, ?2, ?3, ?4)"
                            " ON CONFLICT(a, b) WHERE split_at IS NULL DO NOTHING",
                            "iiit", (int64_t)a, (int64_t)b, at, source);
    if (rc) return rc;
    int added = tl__local_changes(st) > 0;
    *id = 0;
    rc = tl__local_queryf(st, eb, id_row, id,
                          "SELECT id FROM idlinks WHERE a = ?1 AND b = ?2 AND split_at IS NULL",
                          "ii", (int64_t)a, (int64_t)b);
    return rc ? rc : added;
}

typedef struct {
    int found, split;
} splitctx_t;

static int split_row(int n, const char *const *c, void *arg) {
    (void)n;
    splitctx_t *x = arg;
    x->found = 1;
    x->split = c[0] != NULL;
    return 0;
}

int tl__local_link_split(tl_store_t *st, uint64_t id, int64_t at, const char *reason,
                         tl_errbuf_t *eb) {
    splitctx_t x = {0, 0};
    int rc = tl__local_queryf(st, eb, split_row, &x, "SELECT split_at FROM idlinks WHERE id = ?1",
                              "i", (int64_t)id);
    if (rc) return rc;
    if (!x.found) {
        tl_errbuf_set(eb, "%s: no identity link %llu", st->dir, (unsigned long long)id);
        return TL_ENOENT;
    }
    if (x.split) return 0;
    rc = tl__local_exec(st, eb, "UPDATE idlinks SET split_at = ?2, split_reason = ?3 WHERE id = ?1",
                        "iit", (int64_t)id, at, reason);
    return rc ? rc : 1;
}

typedef struct {
    tl_link_fn fn;
    void *arg;
} linkctx_t;

static int link_row(int n, const char *const *c, void *arg) {
    (void)n;
    const linkctx_t *x = arg;
    tl_link_row_t l = {strtoull(c[0], NULL, 10), (uint32_t)strtoul(c[1], NULL, 10),
                       (uint32_t)strtoul(c[2], NULL, 10), atoll(c[3]), c[4],
                       c[5] ? atoll(c[5]) : INT64_MIN, c[6]};
    return x->fn(&l, x->arg);
}

int tl__local_link_scan(tl_store_t *st, uint32_t user, tl_link_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    linkctx_t x = {fn, arg};
    if (user == TL_NONE)
        return tl__local_queryf(st, eb, link_row, &x,
                                "SELECT id, a, b, at, source, split_at, split_reason FROM idlinks "
                                "ORDER BY id", "");
    return tl__local_queryf(st, eb, link_row, &x,
                            "SELECT id, a, b, at, source, split_at, split_reason FROM idlinks "
                            "WHERE a = ?1 OR b = ?1 ORDER BY id", "i", (int64_t)user);
}

int tl__links_purge_user(tl_store_t *st, uint32_t user, uint64_t *rows, tl_errbuf_t *eb) {
    int rc = tl__local_exec(st, eb, "DELETE FROM idlinks WHERE a = ?1 OR b = ?1", "i",
                            (int64_t)user);
    if (!rc) *rows += (uint64_t)tl__local_changes(st);
    return rc;
}
