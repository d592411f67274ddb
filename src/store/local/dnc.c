/* dnc.c -- the repository of do-not-contact entries (table `dnc`), as
 * promised in campaigns.h: one entry per user and channel ("*" for every
 * channel); the first entry for a pair stays, so the reason and time that
 * first suppressed a channel are what is kept. */
#include "store/local/local_int.h"

#include <stdlib.h>

const char tl__dnc_schema[] =
    "CREATE TABLE IF NOT EXISTS dnc(user INTEGER, channel TEXT, reason TEXT, at INTEGER,"
    "  campaign TEXT, PRIMARY KEY(user, channel)) WITHOUT ROWID;";

int tl__local_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason,
                     int64_t at, const char *campaign, tl_errbuf_t *eb) {
    int rc = tl__local_exec(st, eb, "INSERT INTO dnc(user, channel, reason, at, campaign) "
                            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(user, channel) DO NOTHING",
                            "ittit", (int64_t)user, channel, reason, at, campaign);
    return rc ? rc : tl__local_changes(st) > 0;
}

typedef struct {
    tl_dnc_fn fn;
    void *arg;
} dncctx_t;

static int dnc_row(int n, const char *const *c, void *arg) {
    const dncctx_t *x = arg;
    (void)n;
    int64_t u = c[0] ? atoll(c[0]) : -1;
    if (u < 0 || u > UINT32_MAX || !c[1]) return 0;
    tl_dnc_row_t d = {(uint32_t)u, c[1], c[2], c[3] ? atoll(c[3]) : 0, c[4]};
    return x->fn(&d, x->arg);
}

#define DNC_COLS "SELECT user, channel, reason, at, campaign FROM dnc "

int tl__local_dnc_scan(tl_store_t *st, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb) {
    dncctx_t x = {fn, arg};
    return tl__local_queryf(st, eb, dnc_row, &x, DNC_COLS "WHERE at <= ?1 ORDER BY user, channel", "i",
                            at);
}

int tl__local_dnc_of_user(tl_store_t *st, uint32_t user, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb) {
    dncctx_t x = {fn, arg};
    return tl__local_queryf(st, eb, dnc_row, &x, DNC_COLS "WHERE user = ?1 ORDER BY at", "i",
                            (int64_t)user);
}

int tl__dnc_purge_user(tl_store_t *st, uint32_t user, uint64_t *rows, tl_errbuf_t *eb) {
    int rc = tl__local_exec(st, eb, "DELETE FROM dnc WHERE user = ?1", "i", (int64_t)user);
    if (!rc) *rows += (uint64_t)tl__local_changes(st);
    return rc;
}
