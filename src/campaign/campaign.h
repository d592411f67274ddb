/* campaign.h -- marketing campaigns: definitions, audiences, scene
 * triggers, deterministic A/B/n and hold-out assignment, consent and
 * do-not-contact, frequency caps, quiet hours, budgets, and the delivery
 * outbox with its exposure and contact logs.
 *
 * A campaign is a JSON document (docs/FORMATS.md, "Campaigns") stored in
 * the `campaigns` table. `tl_campaign_run` decides, for every user in the
 * audience (or every trigger event since the last run), exactly one of the
 * TL_DECISIONS and writes to the store's side logs:
 *   outbox/<channel>     one delivery record a line
 *   exposures/<id>       every decision, hold-out included
 *   contacts             every contact, for frequency caps
 * all committed with the run in one store batch, so a run killed half way
 * leaves nothing behind and a run is never counted twice.
 *
 * Assignment is hash(salt, external user id) → bucket 0–9999: stable across
 * runs, processes and data directories. Every check that could keep a user
 * from being contacted (consent, do-not-contact, caps, budget) comes before
 * the hold-out split, so the hold-out is comparable with the arms: it holds
 * the users who would have been sent the message.
 */
#ifndef TL_CAMPAIGN_H
#define TL_CAMPAIGN_H
#include "ingest/ingest.h"
#include "profile/profile.h"
#include "rec/rec.h"
#include "store/store.h"

/* Delivery channels and the consent purpose each needs besides the
 * campaign's own (NULL: only the campaign's). */
#define TL_DCHANNELS(X)                                                        \
    X(PUSH, "push", "marketing_push") X(SMS, "sms", "marketing_sms")          \
    X(EMAIL, "email", "marketing_email") X(IN_APP, "in_app", NULL)           \
    X(SOCIAL, "social", NULL) X(STORE_COUPON, "store_coupon", NULL)
enum {
#define X(c, s, p) TL_DCH_##c,
    TL_DCHANNELS(X)
#undef X
    TL_DCH__N
};
const char *tl_dchannel_name(int ch);
const char *tl_dchannel_purpose(int ch);
int tl_dchannel_find(const char *name); /* -1 when unknown */
/* The name of the side log (tl_store_applog_*) of a channel's outbox
 * ("outbox/CHANNEL"), by channel name, in out (TL_OUTBOX_MAX bytes are
 * enough for every channel). */
#define TL_OUTBOX_MAX 64
void tl_dchannel_outbox(const char *name, char *out, size_t cap);

/* What happened to one user in one run; the counts add up to the audience. */
#define TL_DECISIONS(X)                                                        \
    X(SENT, "sent") X(HOLDOUT, "holdout") X(CONTROL, "global_control")        \
    X(NAMESPACE, "other_namespace") X(NO_CONSENT, "no_consent")               \
    X(DNC, "do_not_contact") X(CAPPED, "capped") X(QUEUED, "queued")          \
    X(QUIET, "quiet_hours") X(BUDGET, "budget") X(NO_CONTENT, "no_content")
enum {
#define X(c, s) TL_DEC_##c,
    TL_DECISIONS(X)
#undef X
    TL_DEC__N
};
/* A decision's name (TL_EXPO_ENTERED: "journey_entered"; "" for no decision). */
const char *tl_decision_name(int d);
/* Decisions that put a record in the outbox (sent now, or later). */
#define TL_DEC_DELIVERS(d) ((d) == TL_DEC_SENT || (d) == TL_DEC_QUEUED || (d) == TL_DEC_QUIET)
/* Decisions that are exposures for measurement: delivered, or would have been. */
#define TL_DEC_MEASURED(d) (TL_DEC_DELIVERS(d) || (d) == TL_DEC_HOLDOUT)

enum { TL_CAP_ROLLING, TL_CAP_DAY, TL_CAP_WEEK };
typedef struct {
    int channel;      /* TL_DCH_*, or -1: any channel */
    char tag[32];     /* "": contacts of any campaign; else of campaigns with this tag */
    uint32_t max;
    int per;          /* TL_CAP_* */
    int64_t window_ms; /* TL_CAP_ROLLING */
} tl_cap_t;

enum { TL_CONTENT_RECS, TL_CONTENT_OFFER, TL_CONTENT_COUPON, TL_CONTENT_ITEMS };
typedef struct {
    char name[32];
    double weight;
    char *content;   /* this arm's content object as JSON (the campaign's when not given) */
    int content_type;
    uint32_t n;      /* recommendations / offers per message */
    char *message;   /* template; NULL: none */
} tl_arm_t;

enum { TL_SCHED_NOW, TL_SCHED_ONCE, TL_SCHED_DAILY, TL_SCHED_DATES };
enum { TL_TRIG_NONE, TL_TRIG_EVENT, TL_TRIG_CITY };

#define TL_CAMPAIGN_MAX_ARMS 15
#define TL_CAMPAIGN_MAX_ITEMS 50  /* recommendations a delivery carries at most */
#define TL_CAMPAIGN_MAX_CAPS 16
#define TL_JOURNEY_MAX_STEPS 32

typedef struct {
    char id[65], name[129];
    char *audience;            /* a segment name or an expression */
    char *def;                 /* the definition as stored (JSON) */
    int channels[TL_DCH__N], nchannels; /* in order of preference */
    tl_arm_t arms[TL_CAMPAIGN_MAX_ARMS];
    int narms;
    double holdout;            /* percent */
    char consent[64];          /* purpose; "" none besides the channels' */
    tl_cap_t caps[TL_CAMPAIGN_MAX_CAPS];
    int ncaps;
    char tags[4][32];
    int ntags;
    int transactional;         /* bypasses caps, quiet hours and the global control group */
    int queue_over_cap;        /* over-cap deliveries wait for the cap instead of being skipped */
    int quiet_from, quiet_to;  /* minutes after local midnight; from == to: none */
    int tz_min;                /* local time offset from UTC in minutes */
    uint64_t salt;
    char ns[64];               /* mutual-exclusion namespace ("" none) */
    double ns_from, ns_to;     /* the namespace slice this campaign takes, percent */
    int priority;
    int64_t start, end;        /* ms; INT64_MIN / INT64_MAX: open */
    uint64_t max_sends;        /* 0: no limit */
    double max_cost;           /* <= 0: no limit */
    double cost[TL_DCH__N];    /* per send */
    double margin;             /* share of revenue that is profit, for ROI */
    double cost_per_conversion;
    uint64_t daily_sends;      /* trigger campaigns: a local day's budget (0: none) */
    double daily_cost;         /* <= 0: none */
    int pace_even;             /* the daily budget spread over the day (else spent as triggers come) */
    /* schedule or trigger */
    int sched;
    int64_t once_at;
    int daily_min;             /* TL_SCHED_DAILY / DATES: local minutes after midnight */
    int64_t dates[32];         /* TL_SCHED_DATES: local days (days since epoch) */
    int ndates;
    int trig;
    char trig_event[32], trig_unless[32], trig_category[64];
    int64_t trig_within, trig_delay, trig_lookback; /* ms */
    double trig_min_amount;    /* NAN: any; else the event's amount must be at least this */
    uint32_t trig_nth;         /* 0: every event; N: the user's N-th of the type (by time) since
                                * the last trig_reset event (a first purchase; a streak) */
    char trig_reset[32];
    /* attribution */
    int64_t window_ms;         /* conversions this long after the exposure count */
    char conversion[4][32];    /* event types that are conversions */
    int nconversion;
    int64_t pre_ms;            /* the pre-period for CUPED */
    struct tl_journey *journey; /* the steps of a journey (NULL: one message a decision) */
} tl_campaign_t;

/* What starts a campaign's decisions: "journey", "trigger", "schedule" or
 * "on request". */
const char *tl_campaign_kind(const tl_campaign_t *c);

/* Parses and checks a definition. On a bad one returns TL_EBADINPUT with
 * eb naming the field and what is expected. */
int tl_campaign_parse(const char *json, tl_campaign_t *c, tl_errbuf_t *eb);
void tl_campaign_fini(tl_campaign_t *c);

/* Stored campaigns. create refuses an id that exists (TL_EEXIST) unless
 * replace is set. status: "active", "paused". */
int tl_campaign_create(tl_store_t *st, const char *json, int replace, tl_campaign_t *out,
                       tl_errbuf_t *eb);
int tl_campaign_get(tl_store_t *st, const char *id, tl_campaign_t *c, tl_errbuf_t *eb);
typedef struct {
    const char *id, *name, *status;
    int64_t created, last_at;
    uint64_t runs, sends;
    double cost;
} tl_campaign_info_t;
typedef int (*tl_campaign_fn)(const tl_campaign_info_t *ci, void *arg);
int tl_campaign_list(tl_store_t *st, const char *id, tl_campaign_fn fn, void *arg,
                     tl_errbuf_t *eb);
int tl_campaign_set_status(tl_store_t *st, const char *id, const char *status, tl_errbuf_t *eb);
/* A listed campaign as JSON: id, name, status, runs, sends, cost, last_run_at. */
struct cJSON *tl_campaign_info_json(const tl_campaign_info_t *ci);

/* ---- do-not-contact --------------------------------------------------------- */

/* Reasons: unsubscribed, bounced, complained, manual. channel: a delivery
 * channel name or "*" for all. */
int tl_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason,
               int64_t at, const char *campaign, tl_errbuf_t *eb);

/* ---- feedback (feedback.c) ---------------------------------------------------- */

/* Imports complaints, unsubscribes, bounces, survey scores and review
 * ratings from CSV text in a source (a file, a request body), named in its
 * quarantine (columns user, kind, at; optional campaign, channel, item,
 * score). Complaints, unsubscribes and bounces suppress the
 * channel (or every channel) at once. Bad rows are quarantined and told to
 * on_reject (which may be NULL); read = accepted + duplicates + rejected. */
typedef struct {
    uint64_t read, accepted, duplicates, rejected, suppressed;
} tl_feedback_stats_t;
int tl_feedback_import(tl_store_t *st, const tl_source_t *src, tl_feedback_stats_t *s,
                       tl_reject_fn on_reject, void *arg, tl_errbuf_t *eb);

/* ---- runs ------------------------------------------------------------------- */

/* The content of one delivery: the caller appends a JSON value to out
 * (recommendations, an offer) for user and arm, or returns 1 when there is
 * nothing to send to this user. */
typedef int (*tl_content_fn)(uint32_t user, const tl_arm_t *arm, int64_t at, tl_buf_t *out,
                             void *arg);

typedef struct {
    int64_t at;                /* the run's time (ms) */
    const uint8_t *audience;   /* one byte per user index (1 = member); NULL: every user */
    uint32_t nusers;           /* users the audience covers */
    tl_content_fn content;     /* for content that depends on the user; may be NULL */
    void *content_arg;
    int dry_run;               /* decide and count, write nothing */
    uint32_t sample;           /* a dry run: its first `sample` deliveries, as the outbox */
    struct cJSON *samples;     /* lines they would be, appended to this array (a preview) */
    int skip_idle;             /* a trigger run that decides no one records no run (only
                                * how far it read: the scheduler's runs) */
    double global_control;     /* percent of users kept out of every campaign */
    const uint8_t *const *conds; /* a journey's branch conditions: one byte per user each */
    uint32_t ncond_users;      /* users the conditions cover */
} tl_run_opts_t;

/* Trigger lag, from a trigger's decision time (its event's, plus `within`
 * when an `unless` may cancel it) to the run that decided it, counted in
 * buckets whose upper bounds are TL_LAG_BOUNDS seconds (the last: more). */
#define TL_LAG_BUCKETS 12
extern const double TL_LAG_BOUNDS[TL_LAG_BUCKETS - 1];
int tl_lag_bucket(int64_t ms);

typedef struct {
    uint64_t run;              /* this run's number (1, 2, ...); 0 for a dry run, which takes none */
    int dry_run;               /* decided and counted, nothing written */
    int64_t at;
    uint64_t audience;         /* users decided (= sum of counts) */
    uint64_t counts[TL_DEC__N];
    uint64_t by_arm[TL_CAMPAIGN_MAX_ARMS];     /* sent + queued + quiet, per arm */
    uint64_t by_channel[TL_DCH__N];
    uint64_t triggers;         /* trigger events considered */
    uint64_t late_triggers;    /* of them, arrived after a run had passed their time */
    uint64_t lag_hist[TL_LAG_BUCKETS]; /* the triggers decided, by lag */
    int64_t lag_ms_sum;
    double cost;
    int due;                   /* 0: the schedule had nothing due at `at` (nothing decided) */
    int64_t next_due;          /* when it is due next (INT64_MIN: never; a trigger
                                * campaign: its first trigger left for later, or none) */
    /* a journey: users who entered, reached the goal, left at an exit, and
     * are on their way after the run; the decisions of each send step */
    uint64_t journey_entered, journey_goals, journey_left, journey_active;
    uint64_t by_step[TL_JOURNEY_MAX_STEPS];
} tl_run_result_t;

int tl_campaign_run(tl_store_t *st, const tl_campaign_t *c, const tl_run_opts_t *o,
                    tl_run_result_t *res, tl_errbuf_t *eb);
/* A run with what it needs gathered (content.c): the audience (a stored
 * segment's name or an expression) over p, a recommender's list for the
 * arms that send recommendations (rec when the arm's model is rec_name,
 * else the store's blob models/<model>), the lending policy's best offer
 * for the arms that send offers (credit bands from the blob
 * scorecards/scorecard when there is one), and the global control share
 * from the settings. */
typedef struct {
    const tl_profiles_t *p;    /* NULL: only an audience of "true" and no offers */
    const tl_recsvc_t *rec;    /* a recommender already loaded (may be NULL) */
    const char *rec_name;
    const char *policy;        /* the lending policy's text (NULL: the built-in one) */
    int64_t at;
    int dry_run;
    uint32_t sample;           /* as in tl_run_opts_t */
    struct cJSON *samples;
    int skip_idle;             /* as in tl_run_opts_t */
} tl_run_env_t;
int tl_campaign_run_env(tl_store_t *st, const tl_campaign_t *c, const tl_run_env_t *env,
                        tl_run_result_t *res, tl_errbuf_t *eb);
/* Whether the campaign has something to decide at `at` (1) or not (0), without
 * deciding it: an active campaign with a schedule whose occurrence at or
 * before `at` has not run, or a trigger campaign with events it has not
 * read or a trigger whose decision time has come. Campaigns with neither
 * run only when asked (0). */
typedef struct {
    int64_t next;              /* when it is due next, when known (INT64_MIN: not known, or never) */
    uint64_t backlog;          /* a trigger campaign: events its runs have not read yet */
} tl_due_t;
int tl_campaign_due(tl_store_t *st, const tl_campaign_t *c, int64_t at, tl_due_t *d,
                    tl_errbuf_t *eb);
/* The active campaigns' ids, the highest priority first (then by id), in
 * *ids (caller frees). */
int tl_campaign_actives(tl_store_t *st, char (**ids)[65], int *n, tl_errbuf_t *eb);
/* Whether a run needs the profiles: an audience other than "true", or
 * offers to send. */
int tl_campaign_needs_profiles(const tl_campaign_t *c);

/* The result as JSON: run (null for a dry run), dry_run, time, audience,
 * decisions, deliveries by arm and channel, cost, and when the campaign is
 * next due. */
struct cJSON *tl_run_result_json(const tl_campaign_t *c, const tl_run_result_t *r);

/* ---- journeys (journey.c) ------------------------------------------------------------ */

/* Where each user who entered a journey is: the step they wait at (NULL
 * when they left), their arm, whether held out, whether they left at the
 * goal, when they entered and when their step began (or they left). In
 * user order; fn returning non-zero stops (a negative value is returned). */
typedef struct {
    const char *user, *step, *arm;
    int holdout, goal;
    int64_t entered, since;
} tl_journey_pos_t;
typedef int (*tl_journey_fn)(const tl_journey_pos_t *p, void *arg);
int tl_journey_positions(tl_store_t *st, const tl_campaign_t *c, tl_journey_fn fn, void *arg,
                         tl_errbuf_t *eb);
/* The users of a journey: how many entered, were held out, reached the
 * goal, left, are on their way, by arm, and at each step. NULL with eb set
 * on failure (TL_EINVAL: not a journey). */
struct cJSON *tl_journey_json(tl_store_t *st, const tl_campaign_t *c, tl_errbuf_t *eb);
/* Erasure: for each journey that holds user's state, a writer of its
 * states without it handed to add (which owns it from then: the caller
 * installs it with the purge); the count of them, or an error. */
int tl_journey_erase_user(tl_store_t *st, uint32_t user, int (*add)(tl_blobw_t *w, void *arg),
                          void *arg, tl_errbuf_t *eb);

/* ---- the scheduler (scheduler.c) ------------------------------------------------------ */

/* Campaigns that run by themselves: each tick runs every active campaign
 * that is due (tl_campaign_due) at the tick's time, the highest priority
 * first, as `campaign run` would; a trigger campaign's tick that decides no
 * one records no run. All it decides is committed with the runs, so a
 * scheduler restarted after a crash makes every due decision once. A
 * campaign that fails is noted in the status and the others go on; a
 * store that fails (lost, I/O, no space) ends the tick with its error. */
typedef struct tl_sched tl_sched_t;
int tl_sched_new(tl_sched_t **out);
void tl_sched_free(tl_sched_t *s);
/* A paused scheduler's ticks do nothing. */
void tl_sched_pause(tl_sched_t *s, int paused);
int tl_sched_paused(tl_sched_t *s);
/* Around each campaign's turn (and the listing of the campaigns): enter
 * takes what the store and the profiles need (a server's locks) and
 * fills env (profiles, recommender, policy; at is the tick's), 0 or an
 * error; leave lets go. NULL hooks: the store is the caller's alone. */
typedef struct {
    int (*enter)(void *arg, tl_run_env_t *env);
    void (*leave)(void *arg);
    void *arg;
} tl_sched_hooks_t;
typedef struct {
    uint64_t ran, decided, errors; /* runs recorded, users decided, campaigns failed */
} tl_sched_stats_t;
/* One tick at time at. Thread-safe against the status readers below; one
 * tick at a time. */
int tl_sched_tick(tl_sched_t *s, tl_store_t *st, const tl_sched_hooks_t *h, int64_t at,
                  tl_sched_stats_t *out, tl_errbuf_t *eb);
/* The status: paused, ticks, the last tick's time and length, runs,
 * errors, and per active campaign its kind, when it is due next, the
 * events a trigger campaign has not read yet, its runs, decisions and
 * deliveries, and its last error. */
struct cJSON *tl_sched_json(tl_sched_t *s);
/* What the store says of the campaigns at `at`, whatever process runs
 * them: each campaign's id, status, kind, runs, last run, whether it is
 * due, when next, the events a trigger campaign has not read, its sends;
 * per channel with an outbox, its length, the bytes not handed over to a
 * gateway yet, and the records parked (held) and due among them. NULL
 * with eb set on failure. */
struct cJSON *tl_sched_store_json(tl_store_t *st, int64_t at, tl_errbuf_t *eb);
/* Totals for metrics: ticks, runs, failed campaigns' turns, decisions by
 * kind, and the triggers decided by lag. */
typedef struct {
    uint64_t ticks, runs, errors;
    uint64_t by_decision[TL_DEC__N];
    uint64_t lag_hist[TL_LAG_BUCKETS];
    int64_t lag_ms_sum;
} tl_sched_totals_t;
void tl_sched_totals(tl_sched_t *s, tl_sched_totals_t *t);

/* ---- delivery (deliver.c) ----------------------------------------------------------- */

/* Posts the outbox's records (one channel, or all with channel -1) to url
 * as JSON, personal fields filled in from the sealed store at that moment;
 * records due after `now`, and those of paused campaigns, wait for a
 * later pass; retries network errors, 429 and 5xx `retries` times with
 * backoff, then stops (TL_EIO: the next pass resumes there); other 4xx
 * answers mark the record failed. */
typedef struct {
    const char *url;
    int channel;
    uint32_t retries, timeout_ms;
    int64_t now;
    /* around each use of the store (NULL: the caller's alone): the store
     * is let go while records are posted, so a server takes events then */
    void (*enter)(void *arg), (*leave)(void *arg);
    void *lock_arg;
} tl_deliver_opts_t;
typedef struct {
    uint64_t posted, held, held_before, failed, retries;
    uint64_t paused;           /* due records of paused campaigns, kept until they resume */
} tl_deliver_stats_t;
int tl_campaign_deliver(tl_store_t *st, const tl_deliver_opts_t *o, tl_deliver_stats_t *s,
                        tl_errbuf_t *eb);

/* ---- exposures ---------------------------------------------------------------- */

/* One decision as kept in the side log "exposures/<id>" (16 bytes,
 * little-endian): at is when the message went (or would have gone) out.
 * A journey also keeps each user's entry (decision TL_EXPO_ENTERED, at the
 * entry's time, channel TL_EXPO_HELD for a hold-out user, else 0xF): the
 * journey's groups are measured from the entry on, whatever each user
 * was sent afterwards. */
typedef struct {
    uint32_t user;
    uint16_t run;
    uint8_t decision;
    uint8_t arm_chan; /* arm << 4 | channel; 0xF: none */
    int64_t at;
} tl_exposure_t;
#define TL_EXPO_ENTERED 0xFE
#define TL_EXPO_HELD 0xE
_Static_assert(sizeof(tl_exposure_t) == 16, "exposure record");

/* Every committed exposure record of a campaign (caller frees *out). */
int tl_campaign_exposures(tl_store_t *st, const char *id, tl_exposure_t **out, uint64_t *n,
                          tl_errbuf_t *eb);

/* ---- erasure and retention -------------------------------------------------- */

/* The campaigns' side logs as a purge leaves them (tl_store_purge): the
 * exposure and contact records of user (TL_NONE: none) and those before
 * `before` (INT64_MIN: none) dropped; outbox lines of the user (its id uid)
 * or sent before `before` blanked in place to {"erased":true} and spaces,
 * so the file keeps its length and the delivery offsets stay true. Only
 * the logs that change are listed. */
typedef struct {
    tl_logswap_t *logs;
    int n;
    tl_blobw_t *index; /* when the contacts log changes: its index emptied, for the
                        * purge's blobs (it frees it; else tl_campaign_purge_free) */
} tl_campaign_purge_t;
int tl_campaign_purge_logs(tl_store_t *st, uint32_t user, const char *uid, int64_t before,
                           tl_campaign_purge_t *out, tl_errbuf_t *eb);
void tl_campaign_purge_free(tl_campaign_purge_t *p);
/* 1 for an outbox line blanked by a purge. */
int tl_campaign_line_erased(const char *line, size_t len);
#endif
