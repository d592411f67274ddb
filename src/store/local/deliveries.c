/* deliveries.c -- the repository of delivery states (table `deliveries`),
 * as promised in campaigns.h: what became of the outbox records that a
 * gateway did not take at the first pass (held until due, failed for
 * good) and of the held ones posted later (delivered).
 *
 * A record's id is CAMPAIGN:RUN:USER; only this file reads that format,
 * to find a user's records when the user is erased. */
#include "store/local/local_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

const char tl__deliveries_schema[] =
    "CREATE TABLE IF NOT EXISTS deliveries(id TEXT PRIMARY KEY, channel TEXT, offset INTEGER,"
    "  status TEXT, code INTEGER, attempts INTEGER, at INTEGER, due INTEGER) WITHOUT ROWID;";

int tl__local_delivery_hold(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                            int64_t due, tl_errbuf_t *eb) {
    int rc = tl__local_exec(st, eb, "INSERT OR IGNORE INTO deliveries(id, channel, offset, status, "
                            "attempts, due) VALUES (?1, ?2, ?3, 'held', 0, ?4)", "ttii", id, channel,
                            (int64_t)offset, due);
    return rc ? rc : tl__local_changes(st) > 0;
}

int tl__local_delivery_fail(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                            long code, int64_t at, int64_t due, tl_errbuf_t *eb) {
    return tl__local_exec(st, eb, "INSERT OR REPLACE INTO deliveries(id, channel, offset, status, code, "
                          "at, due) VALUES (?1, ?2, ?3, 'failed', ?4, ?5, ?6)", "ttiiii", id, channel,
                          (int64_t)offset, (int64_t)code, at, due);
}

int tl__local_delivery_done(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb) {
    return tl__local_exec(st, eb, "UPDATE deliveries SET status = 'delivered', at = ?2 WHERE id = ?1",
                          "ti", id, at);
}

typedef struct {
    tl_offset_fn fn;
    void *arg;
} heldctx_t;

static int held_row(int n, const char *const *c, void *arg) {
    const heldctx_t *x = arg;
    (void)n;
    return c[0] ? x->fn(strtoull(c[0], NULL, 10), x->arg) : 0;
}

int tl__local_deliveries_held(tl_store_t *st, const char *channel, int64_t due_by, tl_offset_fn fn,
                              void *arg, tl_errbuf_t *eb) {
    heldctx_t x = {fn, arg};
    return tl__local_queryf(st, eb, held_row, &x, "SELECT offset FROM deliveries WHERE channel = ?1 "
                            "AND status = 'held' AND due <= ?2 ORDER BY offset", "ti", channel, due_by);
}

int tl__deliveries_purge_user(tl_store_t *st, const char *id, size_t n, tl_errbuf_t *eb) {
    /* the ids end with ":USER" */
    char *tail = malloc(n + 2);
    if (!tail) return TL_ENOMEM;
    tail[0] = ':';
    memcpy(tail + 1, id, n);
    tail[n + 1] = 0;
    int rc = tl__local_exec(st, eb, "DELETE FROM deliveries WHERE substr(id, -length(?1)) = ?1", "t",
                            tail);
    sodium_memzero(tail, n + 2);
    free(tail);
    return rc;
}
