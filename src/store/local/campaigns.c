/* campaigns.c -- the repository of campaign definitions and their runs
 * (tables `campaigns` and `campaign_runs`), as promised in campaigns.h.
 *
 * A campaign's counters (runs, last_at, sends, cost) and the row of each
 * run change only in tl_store_campaign_run_add, inside the run's batch, so
 * they commit in the same SQLite transaction as the lengths of the run's
 * side logs. The `event_seq` column is kept for data directories that have
 * it and is not read. */
#include "store/local/local_int.h"

#include <stdlib.h>

const char tl__campaigns_schema[] =
    /* definitions as JSON, their status and counters, and one row a run */
    "CREATE TABLE IF NOT EXISTS campaigns(id TEXT PRIMARY KEY, def TEXT NOT NULL,"
    "  status TEXT NOT NULL, created INTEGER, runs INTEGER NOT NULL DEFAULT 0, last_at INTEGER,"
    "  event_seq INTEGER NOT NULL DEFAULT 0, sends INTEGER NOT NULL DEFAULT 0,"
    "  cost REAL NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS campaign_runs(campaign TEXT, run INTEGER, at INTEGER,"
    "  started INTEGER, counts TEXT, PRIMARY KEY(campaign, run)) WITHOUT ROWID;";

#define CAMPAIGN_COLS "SELECT id, def, status, created, runs, last_at, sends, cost FROM campaigns"

typedef struct {
    tl_campaign_row_fn fn;
    void *arg;
    int found;
} rowctx_t;

static int campaign_row(int n, const char *const *c, void *arg) {
    rowctx_t *x = arg;
    (void)n;
    x->found = 1;
    tl_campaign_row_t r = {.id = c[0] ? c[0] : "", .def = c[1] ? c[1] : "",
                           .status = c[2] ? c[2] : "", .created = c[3] ? atoll(c[3]) : 0,
                           .runs = c[4] ? strtoull(c[4], NULL, 10) : 0,
                           .last_at = c[5] ? atoll(c[5]) : INT64_MIN,
                           .sends = c[6] ? strtoull(c[6], NULL, 10) : 0,
                           .cost = c[7] ? atof(c[7]) : 0};
    return x->fn(&r, x->arg);
}

int tl__local_campaign_get(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg,
                           tl_errbuf_t *eb) {
    rowctx_t x = {fn, arg, 0};
    int rc = tl__local_queryf(st, eb, campaign_row, &x, CAMPAIGN_COLS " WHERE id = ?1", "t", id);
    return rc ? rc : x.found;
}

int tl__local_campaign_scan(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb) {
    rowctx_t x = {fn, arg, 0};
    return tl__local_queryf(st, eb, campaign_row, &x, CAMPAIGN_COLS " ORDER BY id", "");
}

int tl__local_campaign_put(tl_store_t *st, const char *id, const char *def, int64_t created,
                           tl_errbuf_t *eb) {
    int rc = tl__local_exec(st, eb, "UPDATE campaigns SET def = ?2 WHERE id = ?1", "tt", id, def);
    if (rc || tl__local_changes(st)) return rc;
    rc = tl__local_exec(st, eb, "INSERT INTO campaigns(id, def, status, created) "
                        "VALUES (?1, ?2, 'active', ?3)", "tti", id, def, created);
    return rc ? rc : 1;
}

int tl__local_campaign_set_status(tl_store_t *st, const char *id, const char *status,
                                  tl_errbuf_t *eb) {
    int rc = tl__local_exec(st, eb, "UPDATE campaigns SET status = ?2 WHERE id = ?1", "tt", id, status);
    return rc ? rc : tl__local_changes(st) > 0;
}

int tl__local_campaign_run_add(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r,
                               uint64_t sends, double cost, tl_errbuf_t *eb) {
    /* the row first: a run number taken already changes nothing */
    int rc = tl__local_exec(st, eb, "INSERT INTO campaign_runs(campaign, run, at, started, counts) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)", "tiiit", id, (int64_t)r->run, r->at,
                            r->started, r->counts);
    if (!rc)
        rc = tl__local_exec(st, eb, "UPDATE campaigns SET runs = runs + 1, last_at = ?2, "
                            "sends = sends + ?3, cost = cost + ?4 WHERE id = ?1", "tiid", id, r->at,
                            (int64_t)sends, cost);
    return rc;
}

typedef struct {
    tl_campaign_run_fn fn;
    void *arg;
} runctx_t;

static int run_row(int n, const char *const *c, void *arg) {
    const runctx_t *x = arg;
    (void)n;
    tl_campaign_run_row_t r = {.run = c[0] ? strtoull(c[0], NULL, 10) : 0,
                               .at = c[1] ? atoll(c[1]) : 0, .started = c[2] ? atoll(c[2]) : 0,
                               .counts = c[3] ? c[3] : "{}"};
    return x->fn(&r, x->arg);
}

int tl__local_campaign_runs(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg,
                            tl_errbuf_t *eb) {
    runctx_t x = {fn, arg};
    return tl__local_queryf(st, eb, run_row, &x, "SELECT run, at, started, counts FROM campaign_runs "
                            "WHERE campaign = ?1 ORDER BY run", "t", id);
}
