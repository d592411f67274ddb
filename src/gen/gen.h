/* gen.h -- the synthetic world generator behind `tailor gen`.
 *
 * Why: the engine has to be checked against a world whose truth is known.
 * tl_gen_run() draws users with latent tastes, price sensitivity, credit risk,
 * channel response and activity; a catalogue with a category tree, brands,
 * log-normal prices and Zipf popularity; financial products; credit records;
 * consents; and a time-ordered stream of behaviour events that those latent
 * traits produce. It then writes the latent truth next to the data, so tests
 * can measure whether profiles, scorecards and recommenders recover it.
 *
 * Output (all in outdir, created when missing; CSV headers are the canonical
 * field names of docs/FORMATS.md, so `tailor import` needs no options):
 *
 *   users.csv     user,gender,birth_year,city,occupation,education,
 *                 registered_at,channel,name,phone,email,id_number,attrs
 *   items.csv     item,title,category,brand,price,attrs
 *   products.csv  product,kind,name,term_months,apr,amount_min,amount_max,
 *                 eligibility,disclosure
 *   credit.csv    user,on_time,late,max_overdue_days,debt,income_band,
 *                 history_months,default
 *   consents.csv  user,purpose,status,at
 *   events.csv    event_id,user,item,type,ts,channel,amount,qty,query,rating,
 *                 city,lat,lon,session,campaign[,alias]
 *   identities.truth  CSV identifier,person (only with identifiers > 0; named
 *                 apart from the *.csv a run imports)
 *   truth.json    {"seed","users","items","days","start","end","promo_day",
 *                  "categories","category_tree","counts","event_types",
 *                  "dirty":{reason:n},"dirty_by_file":{file:{reason:n}},
 *                  "dirty_kinds":{kind:n},"duplicates","events","campaigns",
 *                  "identities":{"file":"identities.truth","persons","identifiers",
 *                                "links","unlinked","shared_devices"}   (ditto),
 *                  "user_truth":[{"user","tastes":{cat:p},
 *                  "price_sensitivity","risk","channel_response":{ch:p},
 *                  "activity","holdout"}]}
 *
 * Invariants the tests rely on:
 *  - Same options give byte-identical files. The valid rows do not depend on
 *    dirty_rate (defects draw from their own random stream); only event ids
 *    shift, because dirty rows take ids too.
 *  - Valid events have ts in [end - days, end) and appear in time order.
 *    Dirty rows sit between them; a duplicate is a byte-exact copy of a valid
 *    line written a few lines after it (so it may be a little out of order).
 *  - Every dirty row has exactly one defect, so an importer following
 *    docs/FORMATS.md quarantines exactly truth.json's "dirty" counts per
 *    reason and reports truth.json's "duplicates" as duplicates.
 *  - Memory is O(users + items + one day of events): the event stream is
 *    generated, sorted and written a day at a time.
 *
 * Identifiers (identifiers > 0: the mean number a person carries). The users
 * are the persons and keep their member ids in every file but events.csv.
 * A person also carries some of: 1-3 app devices ("device:" + 12 hex
 * digits), mini-program openids ("openid:wx_..."), and the phone of
 * users.csv as typed at a store's till ("phone:138 1234 5678", with
 * dashes, dots or parentheses instead: the same digits). An event's user is
 * the identifier its channel sees: app events a device, mini_program events
 * an openid, store events the phone, others (and any channel the person
 * has no identifier for) the member id. Logins are `identify` events (user
 * the member id, alias the identifier, the identifier's channel; the alias
 * column is there only with identifiers > 0): one for each linked
 * identifier, at its first use (for some, after a few anonymous uses) or at
 * a drawn time in the period if it is not used before; drawn logins have
 * no session. About a tenth of the devices are never linked (anonymous
 * browsing: truth's "unlinked" counts those that appear). About 1 % of
 * persons also use a device of another person of their household: both log
 * in on it, and it is the person's who logged in first (the second login
 * is one that the member limit must refuse: "shared_devices" counts them).
 * identities.truth lists every identifier that appears in a valid row of
 * users.csv or events.csv, as written, with the member id of its person
 * (members map to themselves). So, over valid rows without duplicates:
 *   identify events = links;  identifiers = persons + links - shared + unlinked;
 *   identify events whose alias is not their user's = shared_devices.
 * The identifiers are drawn from a stream of their own, and the behaviour
 * events are those of the same world without them: only event ids, user
 * fields, defects and duplicates differ. With identifiers 0 the files are
 * those of a generator without the option.
 */
#ifndef TL_GEN_H
#define TL_GEN_H

#include <stdint.h>

#include "core/core.h"

typedef struct {
    uint32_t users;    /* number of users, 1 .. 50,000,000 */
    uint32_t items;    /* number of catalogue items, 1 .. 10,000,000 */
    uint32_t days;     /* length of the simulated period, 1 .. 3650 */
    uint64_t seed;
    int64_t end_ms;    /* end of the period (exclusive), ms since the epoch, a
                        * whole second; the period must lie in 2000 .. 2090 */
    double dirty_rate; /* share of dirty rows in events.csv, 0 .. 0.5 */
    double identifiers; /* mean identifiers a person, 1 .. 10; 0: member ids only */
} tl_gen_opts_t;

/* Rows written. users, items, products, credit, consents and events count
 * valid rows only (events: excluding dirty rows and duplicates); dirty counts
 * the dirty rows over all files. Duplicates (events.csv only) are in
 * truth.json, so
 *   rows(events.csv) = events + dirty_by_file["events.csv"] + duplicates. */
typedef struct {
    uint64_t users, items, products, credit, consents, events, dirty;
} tl_gen_stats_t;

/* 1000 users, 500 items, 30 days, seed 42, end 2025-11-30T00:00:00Z,
 * dirty_rate 0.02, identifiers 0. */
void tl_gen_opts_default(tl_gen_opts_t *o);

/* Generates the world described by o into outdir (created if missing,
 * existing files of the same names are replaced). out may be NULL.
 * Returns 0, TL_EINVAL (bad options), TL_ENOMEM, TL_ENOSPC or TL_EIO; on
 * failure eb names the file and the cause. */
int tl_gen_run(const tl_gen_opts_t *o, const char *outdir, tl_gen_stats_t *out,
               tl_errbuf_t *eb);

/* ---- responses to a campaign (respond.c) ----------------------------------
 *
 * How the generated world's users answer a campaign's deliveries (the
 * lines of the DATA/outbox files for that campaign), by the ground truth: a
 * delivered user converts, on top of whatever they would have done anyway,
 * with probability
 *   p = effect x channel_response[channel] x content factor   (at most 0.9)
 * where the content factor is 0.4 + 4 t for recommendations or items (t:
 * the user's taste for the best-liked category among them), 0.6 + 1.6 x
 * price sensitivity for a coupon, and 1.2 for a financial offer. A response
 * is a purchase of the first recommended item (or an item of the user's
 * favourite category; a loan application for an offer) some hours after
 * the delivery. The events go to a CSV file in events.csv's layout, ready
 * for `tailor import`; each user's true effect (p, with the best-liked
 * category standing in for unknown items) goes to effects_out for every
 * user of the world, so uplift models can be checked. Deterministic for a
 * seed. */
struct tl_store;
typedef struct {
    const char *truth;    /* truth.json of the world */
    const char *campaign; /* campaign id */
    uint64_t seed;
    double effect;        /* scale of every response probability (default 1) */
} tl_respond_opts_t;

typedef struct {
    uint64_t deliveries, responses;
    double mean_effect;   /* mean p over the deliveries: the expected lift */
} tl_respond_stats_t;

int tl_gen_respond(struct tl_store *st, const tl_respond_opts_t *o, const char *events_out,
                   const char *effects_out, tl_respond_stats_t *out, tl_errbuf_t *eb);

#endif
