/* campaigns.c -- the PostgreSQL back end's repositories of the campaign
 * module (campaigns.h): campaigns and their runs, delivery states,
 * do-not-contact entries and feedback; and identity links (store.h).
 *
 * A write that keeps the first record of a key is an INSERT ... ON
 * CONFLICT DO NOTHING, and its affected count is the 1 (added) or 0 (kept)
 * returned: a failed statement would abort the batch's transaction. Link
 * ids are the largest + 1, given under the writers' lock a batch holds, so
 * they follow the order links were added in, without the gaps a sequence
 * leaves after a rollback. Texts are ordered bytewise (COLLATE "C"). */
#include "store/pg/pg_int.h"

#include <stdlib.h>

static const char *str(const PGresult *r, int row, int col) {
    const char *s = tl__pg_text(r, row, col);
    return s ? s : "";
}

/* The affected count of the statement r, or its error when it failed (eb set). */
static int affected(tl_store_t *st, PGresult *r) {
    if (!r) return tl__pg_err(st);
    int n = tl__pg_affected(r) > 0;
    PQclear(r);
    return n;
}

/* ---- campaigns and their runs --------------------------------------------------------- */

#define CAMPAIGN_COLS "SELECT id, def, status, created, runs, last_at, sends, cost FROM tl_campaigns"

static int campaign_rows(PGresult *r, tl_campaign_row_fn fn, void *arg) {
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        tl_campaign_row_t c = {.id = str(r, i, 0), .def = str(r, i, 1), .status = str(r, i, 2),
                               .created = tl__pg_int(r, i, 3, 0),
                               .runs = (uint64_t)tl__pg_int(r, i, 4, 0),
                               .last_at = tl__pg_int(r, i, 5, INT64_MIN),
                               .sends = (uint64_t)tl__pg_int(r, i, 6, 0),
                               .cost = tl__pg_null(r, i, 7) ? 0 : tl__pg_real(r, i, 7)};
        rc = fn(&c, arg);
    }
    return rc;
}

int tl__pg_campaign_get(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a campaign", CAMPAIGN_COLS " WHERE id = $1", "s",
                              id);
    if (!r) return tl__pg_err(st);
    int found = PQntuples(r) > 0, rc = campaign_rows(r, fn, arg);
    PQclear(r);
    return rc ? rc : found;
}

int tl__pg_campaign_scan(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading the campaigns",
                              CAMPAIGN_COLS " ORDER BY id COLLATE \"C\"", "");
    if (!r) return tl__pg_err(st);
    int rc = campaign_rows(r, fn, arg);
    PQclear(r);
    return rc;
}

int tl__pg_campaign_put(tl_store_t *st, const char *id, const char *def, int64_t created,
                        tl_errbuf_t *eb) {
    /* xmax is 0 in the row an INSERT made, not in one its ON CONFLICT updated */
    PGresult *r = tl__pg_exec(st, eb, "writing a campaign",
                              "INSERT INTO tl_campaigns(id, def, status, created)"
                              " VALUES ($1, $2, 'active', $3)"
                              " ON CONFLICT (id) DO UPDATE SET def = excluded.def"
                              " RETURNING xmax = 0", "ssi", id, def, created);
    if (!r) return tl__pg_err(st);
    int added = (int)tl__pg_int(r, 0, 0, 0);
    PQclear(r);
    return added;
}

int tl__pg_campaign_set_status(tl_store_t *st, const char *id, const char *status,
                               tl_errbuf_t *eb) {
    return affected(st, tl__pg_exec(st, eb, "writing a campaign's status",
                                "UPDATE tl_campaigns SET status = $2 WHERE id = $1", "ss", id,
                                status));
}

int tl__pg_campaign_run_add(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r,
                            uint64_t sends, double cost, tl_errbuf_t *eb) {
    /* one statement: the row and the counters, or (a run number taken
     * already) neither */
    PGresult *q = tl__pg_exec(st, eb, "recording a campaign's run",
                              "WITH run AS (INSERT INTO tl_campaign_runs(campaign, run, at, started,"
                              " counts) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
                              " RETURNING run), counted AS (UPDATE tl_campaigns SET runs = runs + 1,"
                              " last_at = $3, sends = sends + $6, cost = cost + $7"
                              " WHERE id = $1 AND EXISTS (SELECT 1 FROM run))"
                              " SELECT count(*) FROM run",
                              "siiisid", id, (int64_t)r->run, r->at, r->started, r->counts,
                              (int64_t)sends, cost);
    if (!q) return tl__pg_err(st);
    int64_t added = tl__pg_int(q, 0, 0, 0);
    PQclear(q);
    if (added) return 0;
    tl_errbuf_set(eb, "campaign %s has a run %llu already", id, (unsigned long long)r->run);
    return TL_ESQL;
}

int tl__pg_campaign_runs(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    PGresult *q = tl__pg_exec(st, eb, "reading a campaign's runs",
                              "SELECT run, at, started, counts FROM tl_campaign_runs"
                              " WHERE campaign = $1 ORDER BY run", "s", id);
    if (!q) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; i < PQntuples(q) && !rc; i++) {
        const char *counts = tl__pg_text(q, i, 3);
        tl_campaign_run_row_t r = {(uint64_t)tl__pg_int(q, i, 0, 0), tl__pg_int(q, i, 1, 0),
                                   tl__pg_int(q, i, 2, 0), counts ? counts : "{}"};
        rc = fn(&r, arg);
    }
    PQclear(q);
    return rc;
}

/* ---- delivery states ------------------------------------------------------------------- */

int tl__pg_delivery_hold(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                         int64_t due, tl_errbuf_t *eb) {
    return affected(st, tl__pg_exec(st, eb, "holding a delivery",
                                "INSERT INTO tl_deliveries(id, channel, \"offset\", status,"
                                " attempts, due) VALUES ($1, $2, $3, 'held', 0, $4)"
                                " ON CONFLICT (id) DO NOTHING",
                                "ssii", id, channel, (int64_t)offset, due));
}

int tl__pg_delivery_fail(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                         long code, int64_t at, int64_t due, tl_errbuf_t *eb) {
    return tl__pg_run(st, eb, "recording a failed delivery",
                      "INSERT INTO tl_deliveries(id, channel, \"offset\", status, code, at, due)"
                      " VALUES ($1, $2, $3, 'failed', $4, $5, $6) ON CONFLICT (id) DO UPDATE"
                      " SET channel = excluded.channel, \"offset\" = excluded.\"offset\","
                      " status = 'failed', code = excluded.code, attempts = NULL,"
                      " at = excluded.at, due = excluded.due",
                      "ssiiii", id, channel, (int64_t)offset, (int64_t)code, at, due);
}

int tl__pg_delivery_done(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb) {
    return tl__pg_run(st, eb, "recording a delivery",
                      "UPDATE tl_deliveries SET status = 'delivered', at = $2 WHERE id = $1", "si",
                      id, at);
}

int tl__pg_deliveries_held(tl_store_t *st, const char *channel, int64_t due_by, tl_offset_fn fn,
                           void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading the held deliveries",
                              "SELECT \"offset\" FROM tl_deliveries WHERE channel = $1"
                              " AND status = 'held' AND due <= $2 ORDER BY \"offset\"", "si",
                              channel, due_by);
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) rc = fn((uint64_t)tl__pg_int(r, i, 0, 0), arg);
    PQclear(r);
    return rc;
}

/* ---- do-not-contact ---------------------------------------------------------------------- */

int tl__pg_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason,
                   int64_t at, const char *campaign, tl_errbuf_t *eb) {
    return affected(st, tl__pg_exec(st, eb, "writing a do-not-contact entry",
                                "INSERT INTO tl_dnc(uid, channel, reason, at, campaign)"
                                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (uid, channel) DO NOTHING",
                                "issis", (int64_t)user, channel, reason, at, campaign));
}

static int dnc_rows(PGresult *r, tl_dnc_fn fn, void *arg) {
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        tl_dnc_row_t d = {(uint32_t)tl__pg_int(r, i, 0, 0), str(r, i, 1), tl__pg_text(r, i, 2),
                          tl__pg_int(r, i, 3, 0), tl__pg_text(r, i, 4)};
        rc = fn(&d, arg);
    }
    PQclear(r);
    return rc;
}

#define DNC_COLS "SELECT uid, channel, reason, at, campaign FROM tl_dnc "

int tl__pg_dnc_scan(tl_store_t *st, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading the do-not-contact entries",
                              DNC_COLS "WHERE at <= $1 ORDER BY uid, channel COLLATE \"C\"", "i",
                              at);
    return r ? dnc_rows(r, fn, arg) : tl__pg_err(st);
}

int tl__pg_dnc_of_user(tl_store_t *st, uint32_t user, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a user's do-not-contact entries",
                              DNC_COLS "WHERE uid = $1 ORDER BY at, channel COLLATE \"C\"", "i",
                              (int64_t)user);
    return r ? dnc_rows(r, fn, arg) : tl__pg_err(st);
}

/* ---- feedback ------------------------------------------------------------------------------ */

int tl__pg_feedback_add(tl_store_t *st, const tl_feedback_row_t *f, tl_errbuf_t *eb) {
    return affected(st, tl__pg_exec(st, eb, "writing a feedback record",
                                "INSERT INTO tl_feedback(uid, kind, campaign, channel, item, score,"
                                " at, source, line) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                                " ON CONFLICT (source, line) DO NOTHING",
                                "isssudisi", (int64_t)f->user, f->kind, f->campaign, f->channel,
                                f->item, f->score, f->at, f->source, (int64_t)f->line));
}

static int feedback_rows(PGresult *r, tl_feedback_fn fn, void *arg) {
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        tl_feedback_row_t f = {.user = (uint32_t)tl__pg_int(r, i, 0, 0), .kind = str(r, i, 1),
                               .campaign = tl__pg_text(r, i, 2), .channel = tl__pg_text(r, i, 3),
                               .item = (uint32_t)tl__pg_int(r, i, 4, TL_NONE),
                               .score = tl__pg_real(r, i, 5), .at = tl__pg_int(r, i, 6, 0),
                               .source = tl__pg_text(r, i, 7),
                               .line = (uint64_t)tl__pg_int(r, i, 8, 0)};
        rc = fn(&f, arg);
    }
    PQclear(r);
    return rc;
}

#define FEEDBACK_COLS "SELECT uid, kind, campaign, channel, item, score, at, source, line FROM tl_feedback "

int tl__pg_feedback_scan(tl_store_t *st, const char *campaign, tl_feedback_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a campaign's feedback",
                              FEEDBACK_COLS "WHERE campaign = $1 ORDER BY id", "s", campaign);
    return r ? feedback_rows(r, fn, arg) : tl__pg_err(st);
}

int tl__pg_feedback_of_user(tl_store_t *st, uint32_t user, tl_feedback_fn fn, void *arg,
                            tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a user's feedback",
                              FEEDBACK_COLS "WHERE uid = $1 ORDER BY at, id", "i", (int64_t)user);
    return r ? feedback_rows(r, fn, arg) : tl__pg_err(st);
}

int tl__pg_feedback_negative(tl_store_t *st, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "counting negative feedback",
                              "SELECT item, count(*) FROM tl_feedback WHERE item IS NOT NULL"
                              " AND (kind = 'complaint' OR (kind = 'review' AND score <= 2))"
                              " GROUP BY item ORDER BY item", "");
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++)
        rc = fn((uint32_t)tl__pg_int(r, i, 0, 0), (uint64_t)tl__pg_int(r, i, 1, 0), arg);
    PQclear(r);
    return rc;
}

/* ---- identity links -------------------------------------------------------------------------- */

int tl__pg_link_add(tl_store_t *st, uint32_t a, uint32_t b, int64_t at, const char *source,
                    uint64_t *id, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "adding an identity link",
                              "INSERT INTO tl_idlinks(id, a, b, at, source)"
                              " SELECT coalesce(max(id), 0) + 1, $1::integer, $2::integer,"
                              " $3::bigint, $4::text FROM tl_idlinks"
                              " ON CONFLICT (a, b) WHERE split_at IS NULL DO NOTHING RETURNING id",
                              "iiis", (int64_t)a, (int64_t)b, at, source);
    if (!r) return tl__pg_err(st);
    int added = PQntuples(r) > 0;
    if (!added) {
        PQclear(r);
        r = tl__pg_exec(st, eb, "reading an identity link",
                        "SELECT id FROM tl_idlinks WHERE a = $1 AND b = $2 AND split_at IS NULL",
                        "ii", (int64_t)a, (int64_t)b);
        if (!r) return tl__pg_err(st);
    }
    *id = (uint64_t)tl__pg_int(r, 0, 0, 0);
    PQclear(r);
    return added;
}

int tl__pg_link_split(tl_store_t *st, uint64_t id, int64_t at, const char *reason,
                      tl_errbuf_t *eb) {
    int rc = affected(st, tl__pg_exec(st, eb, "splitting an identity link",
                                  "UPDATE tl_idlinks SET split_at = $2, split_reason = $3"
                                  " WHERE id = $1 AND split_at IS NULL",
                                  "iis", (int64_t)id, at, reason));
    if (rc) return rc;
    PGresult *r = tl__pg_exec(st, eb, "reading an identity link",
                              "SELECT 1 FROM tl_idlinks WHERE id = $1", "i", (int64_t)id);
    if (!r) return tl__pg_err(st);
    int found = PQntuples(r) > 0;
    PQclear(r);
    if (found) return 0;
    tl_errbuf_set(eb, "%s: no identity link %llu", st->dir, (unsigned long long)id);
    return TL_ENOENT;
}

int tl__pg_link_scan(tl_store_t *st, uint32_t user, tl_link_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading the identity links",
                              "SELECT id, a, b, at, source, split_at, split_reason FROM tl_idlinks"
                              " WHERE $1::bigint IS NULL OR a = $1 OR b = $1 ORDER BY id",
                              "u", user);
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        tl_link_row_t l = {(uint64_t)tl__pg_int(r, i, 0, 0), (uint32_t)tl__pg_int(r, i, 1, 0),
                           (uint32_t)tl__pg_int(r, i, 2, 0), tl__pg_int(r, i, 3, 0), str(r, i, 4),
                           tl__pg_int(r, i, 5, INT64_MIN), tl__pg_text(r, i, 6)};
        rc = fn(&l, arg);
    }
    PQclear(r);
    return rc;
}
