/* server_int.h -- what the files of the server share and nothing else
 * includes: the server's state, the recommender it serves, the request a
 * handler is given, the route table's row, and the helpers every handler
 * answers with.
 *
 * Concurrency: the store is one SQLite connection: writes and scans of the
 * event log take st_rw exclusively, id lookups share it (the dictionaries
 * are loaded at start, so a reader never loads one). The profiles and the
 * scenes take prof_mu (read for queries, write to apply events); st_rw is
 * always taken before prof_mu. The recommender is reference counted
 * and swapped by a reload under ref_mu, held only to read or exchange the
 * pointer. Each loaded recommender keeps every user's top CACHE_N items
 * once computed (a seqlock per user: readers never wait), since its
 * interactions do not change until the next reload. */
#ifndef TL_SERVER_INT_H
#define TL_SERVER_INT_H
#include "server.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>

#include "campaign/campaign.h"
#include "finance/finance.h"
#include "identity/identity.h"
#include "ingest/ingest.h"
#include "profile/profile.h"
#include "rec/rec.h"

enum { ROLE_ADMIN = 1, ROLE_ANALYST = 2, ROLE_SERVICE = 4, ROLE_ANY = 7 };

#define CACHE_N 50

/* A user's served list: seq odd while a writer fills it; n 0: not yet.
 * how: cold, from_context and is_new as bits 0, 1 and 2. */
typedef struct {
    atomic_uint seq;
    uint32_t n;
    uint32_t item[CACHE_N], because[CACHE_N];
    float score[CACHE_N];
    uint8_t how[CACHE_N];
} topcache_t;

/* A recommender with every user's top list as computed. */
typedef struct {
    char name[64];
    tl_recsvc_t *rec;        /* NULL without a model */
    topcache_t *cache;       /* per user of the model's interactions */
    uint32_t ncache;
    atomic_uint cached;      /* users whose list is kept */
} msvc_t;

#define MAX_MODELS 8

typedef struct {
    msvc_t def;              /* the model served by default */
    msvc_t *other[MAX_MODELS]; /* asked for by name (?model=), loaded at the first ask */
    atomic_int nother;
    pthread_mutex_t other_mu;
    atomic_int stop;         /* the filler thread should stop: a newer model is in */
    pthread_t filler;
    tl_model_t *knn;         /* item-kNN for similar items; NULL without one */
    tl_content_t *content;   /* alike by category, brand and price */
    tl_offers_t *offers;     /* the catalogue and the lending policy */
    tl_scorecard_t *card;    /* credit bands; NULL without one */
    tl_boost_t *challenger;  /* the scorecard's challenger, shown beside it; NULL without one */
    char challenger_err[512]; /* why a stored challenger did not load ("" when it did or there is none) */
    int refs;
    int64_t loaded;
} recref_t;

typedef struct {
    unsigned char hash[32];
    char id[16];
    int role;
} apikey_t;

/* ---- metrics ------------------------------------------------------------------------ */

#define NROUTES 48
#define NSTATUS 14
#define NBUCKETS 12

typedef struct {
    char route[48];
    atomic_ullong by_status[NSTATUS];
    atomic_ullong bucket[NBUCKETS];
    atomic_ullong count;
    _Atomic double sum;
} routestat_t;

/* An events request waiting for the group commit that takes it. */
typedef struct evjob {
    struct evjob *next;
    tl_source_t in;       /* the body as JSON Lines, named for this request */
    char name[80];
    tl_import_stats_t st;
    cJSON *rejected;
    int rc, done;
    char err[512];
} evjob_t;

struct tl_server {
    char *dir, *model, *policy;
    size_t max_body;
    tl_store_conf_t conf;      /* every open of the store; conf.key points at key */
    unsigned char key[32];
    tl_store_t *st;
    pthread_rwlock_t st_rw;    /* the store: writes exclusive; id lookups shared */
    tl_profiles_t *prof;
    tl_scenes_t *scenes;       /* every user's cart and last order, for scenes */
    pthread_rwlock_t prof_mu;   /* the profiles and the scenes */
    uint64_t applied;          /* log rows applied to the profiles */
    int64_t as_of;
    uint8_t *withdrawn;        /* per profile row: profiling withdrawn; a person's in the row
                                * of its first identifier (under st_rw) */
    uint32_t nwithdrawn;
    tl_id_rules_t rules;       /* the identity rules, read at start and reload (under st_rw) */
    pthread_mutex_t ref_mu;
    recref_t *rec;
    apikey_t *keys;
    int nkeys;
    pthread_rwlock_t key_mu;
    routestat_t routes[NROUTES];
    atomic_int nroutes;
    pthread_mutex_t route_mu;
    atomic_ullong events_in, events_bad, events_dup, reloads;
    atomic_ullong tmpn;
    /* group commit of concurrent event batches */
    pthread_mutex_t ev_mu;
    pthread_cond_t ev_cv;
    evjob_t *ev_queue;
    int ev_leader;
    /* on a store other processes write: a thread that reads what they
     * committed every FOLLOW_MS and applies their events (events.c) */
    pthread_t follower;
    int following, follow_stop;
    pthread_mutex_t follow_mu;
    pthread_cond_t follow_cv;
    /* the campaigns' scheduler (scheduler.c): its thread ticks every
     * tick_ms (0: no thread), woken sooner by accepted events; one tick at
     * a time (sched_tick_mu), the thread's or one asked for */
    tl_sched_t *sched;
    unsigned tick_ms;
    pthread_t sched_th;
    int sched_running, sched_stop, sched_wake;
    pthread_mutex_t sched_mu, sched_tick_mu;
    pthread_cond_t sched_cv;
    /* continuous delivery (scheduler.c): a thread posting the outbox's due
     * records to deliver_url (NULL: no thread) every tick, woken sooner by
     * a tick that decided someone; its totals under sched_mu */
    char *deliver_url;
    pthread_t dl_th;
    int dl_running, dl_wake;
    pthread_cond_t dl_cv;
    tl_deliver_stats_t dl_total;
    uint64_t dl_passes;
    int64_t dl_error_at;
    char dl_error[512];
};

/* How often a server on a shared store reads what other processes
 * committed, in ms. */
#define FOLLOW_MS 1000

/* ---- requests and routes (server.c, request.c) ---------------------------------------- */

/* The longest query value a request may send, decoded, with room for its
 * NUL: every handler reads values into buffers of this size, so a value is
 * never cut short into another (n=000...05 is not n=0). */
#define QUERY_VALUE_MAX 2048

/* A request as a handler gets it: routed, its key's role checked, the
 * user its path names found, its body (when the route reads one) parsed
 * and checked, and the store held when the route says so. */
typedef struct {
    tl_server_t *s;
    const tl_http_request_t *rq;
    tl_http_response_t *rs;
    const char *arg[2];        /* the {} segments of the path, percent-decoded */
    const char *who;           /* the key's id for the audit log ("" on open routes) */
    cJSON *body;               /* the JSON body; NULL when the route reads none or it was empty */
    uint32_t user;             /* with NEED_USER: the index of the identifier arg[0] names */
    char user_key[256];        /* with NEED_USER: its key in the store (personal kinds keyed) */
} tl_srv_req_t;

typedef void tl_srv_proc_t(tl_srv_req_t *r);

/* What a route's JSON body must be. */
enum {
    BODY_OBJECT = 1,           /* an object at the top */
    BODY_ARRAY = 2,            /* an array at the top */
    BODY_OPTIONAL = 4,         /* an empty body is no body (r->body NULL) */
    BODY_TYPE_APART = 8,       /* JSON of the wrong kind is bad_type, not bad_json */
    BODY_LIBRARY_PARSES = 16,  /* the handler passes the text on, and the library says
                                * where it stops being JSON: only a key twice is refused here */
};

typedef struct {
    int flags;
    const char *what;          /* what the body is, in the answers: "a JSON object such as ..." */
    const char *const *fields; /* an object's only fields (NULL-terminated), or NULL */
    const char *has;           /* said of an unknown field: "a segment has name and expression" */
} tl_srv_body_t;

/* What a route's handler needs done before it runs (and after). */
enum {
    NEED_USER = 1,             /* arg[0] names a known identifier as written (r->user), else 404
                                * before the body is read; the audit entry names its key */
    NEED_STORE = 2,            /* the store held exclusively (st_rw) while the handler runs: it
                                * may not take st_rw itself (nor call what does) */
};

/* A row of the route table: the dispatcher finds the row, checks the role,
 * finds the user, checks the body, takes the store, and calls its proc;
 * then, when the answer is a success, records the audit entry (and answers
 * 500 instead when it cannot: no read goes out off the record). */
typedef struct {
    const char *method, *pattern;  /* {} matches one path segment */
    int roles;                     /* 0: no key needed */
    tl_srv_proc_t *proc;
    const tl_srv_body_t *body;     /* NULL: the handler reads no JSON body itself */
    int needs;                     /* NEED_* */
    const char *audit;             /* what a success does to arg[0], for the audit log; NULL: nothing */
} tl_srv_route_t;

/* Where a path or a query does not decode cleanly, or is too long to read
 * whole (NULL: it does). */
const char *tl__request_uri_fault(const char *s);
const char *tl__request_query_fault(const char *q);
/* Matches path against pattern; the {} segments go to args (at most 2). */
int tl__request_match(const char *pattern, const char *path, char args[2][256]);
/* The value of a query parameter, percent-decoded, or NULL; out has room
 * for QUERY_VALUE_MAX bytes. */
const char *tl__request_query(const char *q, const char *name, char *out, size_t cap);
/* Parses and checks r's body as b says, into r->body (the caller deletes
 * it). 0, or -1 with the answer (400, 500) in r->rs. */
int tl__request_body(tl_srv_req_t *r, const tl_srv_body_t *b);
/* The count asked for by the query's n (def when not given), into *n: 0,
 * or -1 with 400 bad_parameter answered when it is not from 1 to max. */
int tl__request_n(tl_srv_req_t *r, long def, long max, long *n);

/* ---- answers and shared steps (server.c) ----------------------------------------------- */

/* Answers status with j (which it deletes). */
void tl__server_json(tl_http_response_t *rs, int status, cJSON *j);
/* Answers a JSON error {status, code, message}. */
void tl__server_fail(tl_http_response_t *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A write that failed: 507 when the disk is full (the same request may be
 * sent again once there is room), 500 otherwise. */
void tl__server_fail_write(tl_http_response_t *rs, int rc, const char *code, const char *msg);
/* A read of something named that failed: 404 not_found when there is no
 * such thing (TL_ENOENT), 500 store otherwise. */
void tl__server_fail_read(tl_http_response_t *rs, int rc, const char *msg);
/* The index of an identifier as written (KIND:VALUE, or a member id), its
 * key in the store copied to key when given; TL_NONE, eb told (never
 * quoting a personal value), when the store has none. Takes st_rw shared. */
uint32_t tl__server_user(tl_server_t *s, const char *id, char key[256], tl_errbuf_t *eb);
/* Records who did what to whom in the audit log: 0, or the error with eb
 * told. */
int tl__server_audit(tl_server_t *s, const char *who, const char *what, const char *target, tl_errbuf_t *eb);

/* ---- API keys (apikey.c) ---------------------------------------------------------------- */

/* Reads the keys from the store and swaps them in. */
int tl__apikey_load(tl_server_t *s, tl_errbuf_t *eb);
/* The role of a key (0: unknown), and its id for the audit log. */
int tl__apikey_role(tl_server_t *s, const char *key, char id[16]);

/* ---- the recommender (models.c) ---------------------------------------------------------- */

recref_t *tl__models_acquire(tl_server_t *s);
void tl__models_release(tl_server_t *s, recref_t *r);
/* Loads the default model, the item kNN, the content similarity, the
 * scorecard and the offers policy, and swaps them in whole. */
int tl__models_load(tl_server_t *s, tl_errbuf_t *eb);
/* A user's top n: from the cache when it holds them, else served (and,
 * for the first CACHE_N, kept). */
uint32_t tl__models_top(msvc_t *m, uint32_t u, uint32_t n, tl_served_t *out);
/* The recommender of that name: the default one, or another under
 * DATA/models loaded at the first ask (NULL, with why in eb and the
 * status to answer, when there is none). */
msvc_t *tl__models_find(tl_server_t *s, recref_t *r, const char *name, int *status, tl_errbuf_t *eb);

/* ---- persons (identify.c) ------------------------------------------------------------------ */

/* After identity links were added: the profiles follow the persons of the
 * store's links (tl_profile_relink), then the derived columns, the
 * scenes and the copy of the withdrawn flags. The caller holds st_rw and prof_mu
 * exclusively. */
int tl__identify_follow(tl_server_t *s, tl_errbuf_t *eb);
/* The scenes read again from the log and the persons (after a merge, a
 * split or an erasure). The caller holds st_rw and prof_mu exclusively. */
int tl__scenes_reload(tl_server_t *s, tl_errbuf_t *eb);
/* The copy of the profiles' withdrawn flags in s->withdrawn made anew.
 * The caller holds st_rw exclusively and prof_mu. */
int tl__identify_withdrawn(tl_server_t *s);
/* Adds "person" (the key of its first identifier) and "identifiers" (the
 * keys of all, smallest first) of u's person to j. The caller holds st_rw
 * and prof_mu. */
void tl__identify_person_json(tl_server_t *s, uint32_t u, cJSON *j);

/* ---- handlers: the procs of the route table --------------------------------------------- */

/* events.c */
void tl__events_post(tl_srv_req_t *r);
/* On a shared store: the follower thread started (tl_server_new) and
 * stopped (tl_server_free). */
int tl__events_follow_start(tl_server_t *s, tl_errbuf_t *eb);
void tl__events_follow_stop(tl_server_t *s);
void tl__events_feedback(tl_srv_req_t *r);
/* identify.c */
void tl__identify_post(tl_srv_req_t *r);
void tl__identify_get(tl_srv_req_t *r);
/* users.c */
void tl__users_person(tl_srv_req_t *r);
void tl__users_profile(tl_srv_req_t *r);
void tl__users_recommendations(tl_srv_req_t *r);
void tl__users_similar(tl_srv_req_t *r);
void tl__users_offers(tl_srv_req_t *r);
void tl__users_consent(tl_srv_req_t *r);
void tl__users_data(tl_srv_req_t *r);
void tl__users_events(tl_srv_req_t *r);
void tl__users_summary(tl_srv_req_t *r);
void tl__users_erase(tl_srv_req_t *r);
/* segments.c */
void tl__segments_list(tl_srv_req_t *r);
void tl__segments_post(tl_srv_req_t *r);
void tl__segments_get(tl_srv_req_t *r);
void tl__segments_members(tl_srv_req_t *r);
void tl__segments_size(tl_srv_req_t *r);
void tl__segments_insights(tl_srv_req_t *r);
void tl__segments_history(tl_srv_req_t *r);
/* campaigns.c */
void tl__campaigns_list(tl_srv_req_t *r);
/* A listed campaign as JSON into the array arg: a tl_campaign_fn. */
int tl__campaigns_row(const tl_campaign_info_t *ci, void *arg);
void tl__campaigns_get(tl_srv_req_t *r);
void tl__campaigns_post(tl_srv_req_t *r);
void tl__campaigns_run(tl_srv_req_t *r);
void tl__campaigns_report(tl_srv_req_t *r);
void tl__campaigns_journey(tl_srv_req_t *r);
void tl__campaigns_pause(tl_srv_req_t *r);
void tl__campaigns_resume(tl_srv_req_t *r);

/* ---- the scheduler (scheduler.c) ---------------------------------------------------- */

/* The scheduler, and the delivery to url (NULL: the setting webhook_url;
 * "off": none). */
int tl__scheduler_start(tl_server_t *s, const char *url, tl_errbuf_t *eb);
void tl__scheduler_stop(tl_server_t *s);
/* Events were accepted: a trigger may be due. */
void tl__scheduler_wake(tl_server_t *s);
void tl__scheduler_get(tl_srv_req_t *r);
void tl__scheduler_pause(tl_srv_req_t *r);
void tl__scheduler_resume(tl_srv_req_t *r);
void tl__scheduler_tick(tl_srv_req_t *r);
void tl__scheduler_metrics(tl_server_t *s, tl_buf_t *b);
/* admin.c */
void tl__admin_health(tl_srv_req_t *r);
void tl__admin_metrics(tl_srv_req_t *r);
void tl__admin_openapi(tl_srv_req_t *r);
void tl__admin_reload(tl_srv_req_t *r);
void tl__admin_key_post(tl_srv_req_t *r);
void tl__admin_key_delete(tl_srv_req_t *r);
/* apikey.c */
void tl__apikey_me(tl_srv_req_t *r);
/* models.c */
void tl__models_get(tl_srv_req_t *r);
void tl__models_evaluate(tl_srv_req_t *r);
void tl__models_train(tl_srv_req_t *r);
/* data.c */
void tl__data_imports(tl_srv_req_t *r);
void tl__data_quarantine(tl_srv_req_t *r);
void tl__data_drift(tl_srv_req_t *r);
/* A quarantine reason and its count into a JSON array (arg), {reason, n}:
 * a tl_reason_fn. */
int tl__data_reason_row(const char *reason, uint64_t n, void *arg);
/* overview.c */
void tl__overview_get(tl_srv_req_t *r);

/* A read-only handle of the server's store of its own (server.c), for long
 * reads that should not hold the server's. The caller closes it. */
int tl__server_reader(tl_server_t *s, tl_store_t **out, tl_errbuf_t *eb);

/* ---- the console (console.c) -------------------------------------------------- */

/* Answers a request for / or /console/NAME from the files built in and
 * returns 1; 0 when the path is not the console's. */
int tl__console_serve(const tl_http_request_t *rq, tl_http_response_t *rs);

#endif
