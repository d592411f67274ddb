/* campaigns.h -- the store's repositories for the campaign module: campaign
 * definitions and their counters, runs, do-not-contact entries, delivery
 * states and feedback, as typed, keyed operations.
 *
 * A header of its own, included by store.h, so that the contract of these
 * tables reads in one place and a back end implements it as one unit; the
 * callers include store.h as before.
 *
 * What every function here promises, whatever the back end:
 *   - Strings passed in are borrowed for the call; strings passed to a
 *     callback are borrowed for that call only.
 *   - Writes say "inside a batch": they join the caller's batch
 *     (tl_store_begin ... tl_store_commit) and become durable with it, in
 *     the same commit as the batch's events and side-log lengths; a
 *     rollback or a crash before the commit leaves none of them.
 *   - Reads see the committed rows and the current batch's own writes.
 *   - A callback's non-zero return stops a scan and is returned.
 *   - 0 (or the documented 1/0) is success; errors are negative TL_E* with
 *     eb saying what failed.
 * The tables are created by the repositories themselves (campaigns.c,
 * dnc.c, deliveries.c, feedback.c) when the store opens for writing. */
#ifndef TL_STORE_CAMPAIGNS_H
#define TL_STORE_CAMPAIGNS_H

#include "store/store.h"

/* ---- campaigns and their runs (campaigns.c) ------------------------------------ */

/* A stored campaign: its definition (JSON, as the campaign module wrote
 * it), status ("active", "paused") and counters over its runs. */
typedef struct {
    const char *id, *def, *status;
    int64_t created;  /* ms since the epoch; 0 when unknown */
    uint64_t runs;    /* runs committed */
    int64_t last_at;  /* the time of the last run; INT64_MIN: never ran */
    uint64_t sends;   /* messages sent, queued or held over every run */
    double cost;
} tl_campaign_row_t;
typedef int (*tl_campaign_row_fn)(const tl_campaign_row_t *r, void *arg);

/* Calls fn once with campaign id and returns 1, or returns 0 without
 * calling it when there is no such campaign (or fn's non-zero value, or an
 * error). */
int tl_store_campaign_get(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg,
                          tl_errbuf_t *eb);
/* Calls fn for every campaign, in order of id. */
int tl_store_campaign_scan(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb);
/* Stores a new campaign (status "active", counters at zero, created at
 * `created`) and returns 1, or replaces the definition of an existing one,
 * keeping its status, counters and runs, and returns 0. Inside a batch. */
int tl_store_campaign_put(tl_store_t *st, const char *id, const char *def, int64_t created,
                          tl_errbuf_t *eb);
/* Sets the status of campaign id: 1, or 0 when there is no such campaign
 * (nothing written). Inside a batch. */
int tl_store_campaign_set_status(tl_store_t *st, const char *id, const char *status,
                                 tl_errbuf_t *eb);

/* One run of a campaign. */
typedef struct {
    uint64_t run;       /* 1, 2, ... per campaign */
    int64_t at;         /* the run's time */
    int64_t started;    /* when it was made (wall clock) */
    const char *counts; /* JSON object: decision name → count */
} tl_campaign_run_row_t;
typedef int (*tl_campaign_run_fn)(const tl_campaign_run_row_t *r, void *arg);

/* Records run r of campaign id: its row, and on the campaign runs + 1,
 * last_at = r->at, sends + sends, cost + cost. Inside a batch, so the
 * counter and the row commit together with the run's side logs (outbox,
 * exposures, contacts): a run is counted exactly when its records are kept.
 * A run number the campaign has already is refused (TL_ESQL) and changes
 * nothing. */
int tl_store_campaign_run_add(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r,
                              uint64_t sends, double cost, tl_errbuf_t *eb);
/* Calls fn for each run of campaign id, in order of run number. */
int tl_store_campaign_runs(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg,
                           tl_errbuf_t *eb);

/* ---- do-not-contact (dnc.c) ---------------------------------------------------- */

/* Records that user must not be contacted on channel (a delivery channel's
 * name, or "*" for every channel) from `at` on, with a reason and the
 * campaign it came from (NULL: none). Returns 1 if added, 0 if the user
 * already has an entry for that channel (it stays as it was: the earlier
 * reason and time win). Inside a batch. */
int tl_store_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason,
                     int64_t at, const char *campaign, tl_errbuf_t *eb);
typedef struct {
    uint32_t user;
    const char *channel;
    const char *reason;   /* NULL: none */
    int64_t at;
    const char *campaign; /* NULL: none */
} tl_dnc_row_t;
typedef int (*tl_dnc_fn)(const tl_dnc_row_t *d, void *arg);
/* Calls fn for each entry recorded at or before `at`, in order of user,
 * then channel. */
int tl_store_dnc_scan(tl_store_t *st, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);
/* Calls fn for each entry of user, in order of time (what subject access
 * shows). */
int tl_store_dnc_of_user(tl_store_t *st, uint32_t user, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);

/* ---- delivery states (deliveries.c) --------------------------------------------- */

/* The state of an outbox record handed to a gateway, keyed by the record's
 * id (CAMPAIGN:RUN:USER): "held" (parked until due), "failed" (refused for
 * good, with the answer's code) or "delivered". A record posted straight
 * from the outbox has no state. offset is its byte offset in
 * outbox/CHANNEL.jsonl. */

/* Parks record id as held until `due` (attempts 0). Returns 1 if recorded,
 * 0 when the record has a state already (kept as it is). Inside a batch. */
int tl_store_delivery_hold(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                           int64_t due, tl_errbuf_t *eb);
/* Records id as failed at `at` with the gateway's status code, replacing
 * any state it had. Inside a batch. */
int tl_store_delivery_fail(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                           long code, int64_t at, int64_t due, tl_errbuf_t *eb);
/* Marks id delivered at `at` when it has a state (a held record posted);
 * changes nothing for a record without one. Inside a batch. */
int tl_store_delivery_done(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb);
/* Calls fn(offset) for each record of channel held and due at or before
 * `due_by`, in order of offset. */
typedef int (*tl_offset_fn)(uint64_t offset, void *arg);
int tl_store_deliveries_held(tl_store_t *st, const char *channel, int64_t due_by, tl_offset_fn fn,
                             void *arg, tl_errbuf_t *eb);

/* ---- feedback (feedback.c) ----------------------------------------------------- */

/* One feedback record: a complaint, unsubscribe, bounce, survey or review
 * of a user, keyed by where it was read (source, line). */
typedef struct {
    uint32_t user;
    const char *kind;     /* complaint, unsubscribe, bounce, survey, review */
    const char *campaign; /* NULL: none */
    const char *channel;  /* NULL: none */
    uint32_t item;        /* TL_NONE: none */
    double score;         /* NaN: none */
    int64_t at;
    const char *source;   /* the file or request it came from */
    uint64_t line;
} tl_feedback_row_t;
typedef int (*tl_feedback_fn)(const tl_feedback_row_t *f, void *arg);

/* Adds f: 1, or 0 when a record from the same source and line is stored
 * already (a re-import; nothing changes). Inside a batch. */
int tl_store_feedback_add(tl_store_t *st, const tl_feedback_row_t *f, tl_errbuf_t *eb);
/* Calls fn for each record about campaign, in the order they were added. */
int tl_store_feedback_scan(tl_store_t *st, const char *campaign, tl_feedback_fn fn, void *arg,
                           tl_errbuf_t *eb);
/* Calls fn for each record of user, in order of time, then of addition
 * (what subject access shows). */
int tl_store_feedback_of_user(tl_store_t *st, uint32_t user, tl_feedback_fn fn, void *arg,
                              tl_errbuf_t *eb);
/* Calls fn(item, n) for each item with negative feedback, in order of
 * item: n counts its complaints and its reviews scoring 2 or less. */
typedef int (*tl_item_count_fn)(uint32_t item, uint64_t n, void *arg);
int tl_store_feedback_negative(tl_store_t *st, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb);

#endif
