/* server.c -- the API's handlers: routing, API keys and roles, JSON errors,
 * events in (validated and made durable exactly as an import, then applied
 * to the profiles), profiles (personal fields masked, every read audited),
 * recommendations (by model, by scene), similar items, offers, segments,
 * campaigns, subject access, reload, health and metrics.
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
#include "server.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "campaign/campaign.h"
#include "experiment/experiment.h"
#include "finance/finance.h"
#include "ingest/ingest.h"
#include "privacy/privacy.h"
#include "profile/profile.h"
#include "rec/rec.h"
#include "segment/segment.h"

extern const char tl_openapi_json[]; /* docs/openapi.json, built in (CMake) */

enum { ROLE_ADMIN = 1, ROLE_ANALYST = 2, ROLE_SERVICE = 4, ROLE_ANY = 7 };
static const char *const ROLE_NAMES[] = {"admin", "analyst", "service"};

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
    int refs;
    int64_t loaded;
} recref_t;

typedef struct {
    unsigned char hash[32];
    char id[16];
    int role;
} apikey_t;

/* ---- metrics ------------------------------------------------------------------------ */

#define NROUTES 40
#define NSTATUS 13
#define NBUCKETS 12
static const int STATUSES[NSTATUS] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 500, 503, 507};
static const double BUCKETS[NBUCKETS - 1] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                             0.1, 0.25, 0.5, 1};

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
    tl_store_t *st;
    pthread_rwlock_t st_rw;    /* the store: writes exclusive; id lookups shared */
    tl_profiles_t *prof;
    tl_scenes_t *scenes;       /* every user's cart and last order, for scenes */
    pthread_rwlock_t prof_mu;   /* the profiles and the scenes */
    uint64_t applied;          /* log rows applied to the profiles */
    int64_t as_of;
    uint8_t *withdrawn;        /* per user: profiling withdrawn (under st_rw) */
    uint32_t nwithdrawn;
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
};

void tl_server_observe(tl_server_t *s, const char *route, int status, double seconds) {
    int n = atomic_load(&s->nroutes), k;
    for (k = 0; k < n && strcmp(s->routes[k].route, route) != 0; k++) {}
    if (k == n) {
        pthread_mutex_lock(&s->route_mu);
        n = atomic_load(&s->nroutes);
        for (k = 0; k < n && strcmp(s->routes[k].route, route) != 0; k++) {}
        if (k == n && n < NROUTES) {
            snprintf(s->routes[n].route, sizeof s->routes[n].route, "%s", route);
            atomic_store(&s->nroutes, n + 1);
        }
        pthread_mutex_unlock(&s->route_mu);
        if (k >= NROUTES) return;
    }
    routestat_t *r = &s->routes[k];
    for (int i = 0; i < NSTATUS; i++)
        if (STATUSES[i] == status) atomic_fetch_add(&r->by_status[i], 1);
    int b = 0;
    while (b < NBUCKETS - 1 && seconds > BUCKETS[b]) b++;
    atomic_fetch_add(&r->bucket[b], 1);
    atomic_fetch_add(&r->count, 1);
    double old = atomic_load(&r->sum);
    while (!atomic_compare_exchange_weak(&r->sum, &old, old + seconds)) {}
}

static void metrics(tl_server_t *s, tl_http_response_t *rs) {
    tl_buf_t *b = &rs->body;
    rs->content_type = "text/plain; version=0.0.4";
    tl_buf_printf(b, "# HELP tailor_http_requests_total Requests by route and status.\n"
                     "# TYPE tailor_http_requests_total counter\n");
    int n = atomic_load(&s->nroutes);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < NSTATUS; i++) {
            unsigned long long v = atomic_load(&s->routes[k].by_status[i]);
            if (v) tl_buf_printf(b, "tailor_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                                 s->routes[k].route, STATUSES[i], v);
        }
    tl_buf_printf(b, "# HELP tailor_http_request_duration_seconds Time to answer, by route.\n"
                     "# TYPE tailor_http_request_duration_seconds histogram\n");
    for (int k = 0; k < n; k++) {
        const routestat_t *r = &s->routes[k];
        unsigned long long cum = 0;
        for (int i = 0; i < NBUCKETS; i++) {
            cum += atomic_load(&r->bucket[i]);
            if (i < NBUCKETS - 1)
                tl_buf_printf(b, "tailor_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                              r->route, BUCKETS[i], cum);
            else
                tl_buf_printf(b, "tailor_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                              r->route, cum);
        }
        tl_buf_printf(b, "tailor_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                         "tailor_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                      r->route, atomic_load(&r->sum), r->route, (unsigned long long)atomic_load(&r->count));
    }
    tl_buf_printf(b, "# HELP tailor_events_ingested_total Events accepted through the API.\n"
                     "# TYPE tailor_events_ingested_total counter\ntailor_events_ingested_total %llu\n"
                     "# HELP tailor_events_quarantined_total Events rejected through the API.\n"
                     "# TYPE tailor_events_quarantined_total counter\ntailor_events_quarantined_total %llu\n"
                     "# HELP tailor_events_duplicate_total Events already stored.\n"
                     "# TYPE tailor_events_duplicate_total counter\ntailor_events_duplicate_total %llu\n",
                  (unsigned long long)atomic_load(&s->events_in),
                  (unsigned long long)atomic_load(&s->events_bad),
                  (unsigned long long)atomic_load(&s->events_dup));
    pthread_mutex_lock(&s->ref_mu);
    int64_t loaded = s->rec && s->rec->def.rec ? s->rec->loaded : 0;
    unsigned cached = s->rec ? atomic_load(&s->rec->def.cached) : 0, users = s->rec ? s->rec->def.ncache : 0;
    pthread_mutex_unlock(&s->ref_mu);
    tl_buf_printf(b, "# HELP tailor_model_loaded_seconds When the recommender in use was loaded (0: none).\n"
                     "# TYPE tailor_model_loaded_seconds gauge\ntailor_model_loaded_seconds{model=\"%s\"} %lld\n"
                     "# HELP tailor_reloads_total Reloads of the model and keys (SIGHUP, /v1/admin/reload).\n"
                     "# TYPE tailor_reloads_total counter\ntailor_reloads_total %llu\n"
                     "# HELP tailor_recommendations_ready_users Users whose recommendations are computed, of those the model knows.\n"
                     "# TYPE tailor_recommendations_ready_users gauge\ntailor_recommendations_ready_users %u\n"
                     "# HELP tailor_recommendations_model_users Users the recommender in use knows.\n"
                     "# TYPE tailor_recommendations_model_users gauge\ntailor_recommendations_model_users %u\n",
                  s->model, (long long)(loaded / 1000), (unsigned long long)atomic_load(&s->reloads), cached, users);
}

/* ---- responses --------------------------------------------------------------------- */

static void send_json(tl_http_response_t *rs, int status, cJSON *j) {
    char *t = cJSON_PrintUnformatted(j);
    rs->status = status;
    rs->content_type = "application/json";
    tl_buf_clear(&rs->body);
    if (t) tl_buf_append(&rs->body, t, strlen(t));
    cJSON_free(t);
    cJSON_Delete(j);
}

static void fail(tl_http_response_t *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(tl_http_response_t *rs, int status, const char *code, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "status", status);
    cJSON_AddStringToObject(j, "code", code);
    cJSON_AddStringToObject(j, "message", msg);
    send_json(rs, status, j);
}

/* A write that failed: 507 when the disk is full (the same request may be
 * sent again once there is room), 500 otherwise. */
static void fail_write(tl_http_response_t *rs, int rc, const char *code, const char *msg) {
    if (rc == TL_ENOSPC) fail(rs, 507, "no_space", "no space left on device: %s", msg);
    else fail(rs, 500, code, "%s", msg);
}

/* ---- API keys ------------------------------------------------------------------------ */

static void key_hash(const char *key, unsigned char out[32]) {
    crypto_generichash(out, 32, (const unsigned char *)key, strlen(key), NULL, 0);
}

int tl_apikey_create(tl_store_t *st, const char *role, const char *name, char key[48], char id[16],
                     tl_errbuf_t *eb) {
    int r = -1;
    for (int k = 0; k < 3; k++)
        if (strcmp(role, ROLE_NAMES[k]) == 0) r = k;
    if (r < 0) {
        tl_errbuf_set(eb, "role \"%s\": use admin, analyst or service", role);
        return TL_EINVAL;
    }
    unsigned char raw[20], h[32];
    randombytes_buf(raw, sizeof raw);
    char hex[41];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(key, 48, "tl_%s", hex);
    snprintf(id, 16, "%.8s", hex); /* the first 8 digits name the key */
    key_hash(key, h);
    char hhex[65];
    sodium_bin2hex(hhex, sizeof hhex, h, sizeof h);
    int rc = tl_store_begin(st, eb);
    if (!rc)
        rc = tl_store_exec(st, eb, "INSERT INTO api_keys(id, hash, role, name, created) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)", "tttti", id, hhex, role,
                           name ? name : "", (int64_t)tl_time_now_ms());
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    sodium_memzero(raw, sizeof raw);
    return rc;
}

int tl_apikey_revoke(tl_store_t *st, const char *id, tl_errbuf_t *eb) {
    int rc = tl_store_begin(st, eb);
    if (!rc) rc = tl_store_exec(st, eb, "DELETE FROM api_keys WHERE id = ?1", "t", id);
    int changed = rc ? 0 : tl_store_changes(st);
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    if (!rc && !changed) {
        tl_errbuf_set(eb, "no API key %s", id);
        rc = TL_ENOENT;
    }
    return rc;
}

typedef struct {
    apikey_t *k;
    int n, cap;
} keylist_t;

static int key_row(int n, const char *const *cols, void *arg) {
    keylist_t *l = arg;
    (void)n;
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 16;
        apikey_t *k = realloc(l->k, (size_t)nc * sizeof *k);
        if (!k) return TL_ENOMEM;
        l->k = k, l->cap = nc;
    }
    apikey_t *k = &l->k[l->n];
    memset(k, 0, sizeof *k);
    size_t got = 0;
    if (!cols[1] || sodium_hex2bin(k->hash, 32, cols[1], strlen(cols[1]), NULL, &got, NULL) || got != 32)
        return 0;
    snprintf(k->id, sizeof k->id, "%s", cols[0] ? cols[0] : "");
    for (int r = 0; r < 3; r++)
        if (cols[2] && strcmp(cols[2], ROLE_NAMES[r]) == 0) k->role = 1 << r;
    if (k->role) l->n++;
    return 0;
}

static int load_keys(tl_server_t *s, tl_errbuf_t *eb) {
    keylist_t l = {0};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_queryf(s->st, eb, key_row, &l, "SELECT id, hash, role FROM api_keys", "");
    pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        free(l.k);
        return rc;
    }
    pthread_rwlock_wrlock(&s->key_mu);
    apikey_t *old = s->keys;
    s->keys = l.k, s->nkeys = l.n;
    pthread_rwlock_unlock(&s->key_mu);
    free(old);
    return 0;
}

/* The role of a key (0: unknown), and its id for the audit log. */
static int key_role(tl_server_t *s, const char *key, char id[16]) {
    if (!key) return 0;
    unsigned char h[32];
    key_hash(key, h);
    int role = 0;
    pthread_rwlock_rdlock(&s->key_mu);
    for (int k = 0; k < s->nkeys; k++)
        if (sodium_memcmp(h, s->keys[k].hash, 32) == 0) {
            role = s->keys[k].role;
            memcpy(id, s->keys[k].id, 16);
        }
    pthread_rwlock_unlock(&s->key_mu);
    return role;
}

/* ---- the recommender --------------------------------------------------------------------- */

static recref_t *rec_acquire(tl_server_t *s) {
    pthread_mutex_lock(&s->ref_mu);
    recref_t *r = s->rec;
    if (r) r->refs++;
    pthread_mutex_unlock(&s->ref_mu);
    return r;
}

static void rec_release(tl_server_t *s, recref_t *r) {
    if (!r) return;
    pthread_mutex_lock(&s->ref_mu);
    int last = --r->refs == 0;
    pthread_mutex_unlock(&s->ref_mu);
    if (last) {
        free(r->def.cache);
        tl_recsvc_free(r->def.rec);
        for (int k = 0; k < atomic_load(&r->nother); k++) {
            free(r->other[k]->cache);
            tl_recsvc_free(r->other[k]->rec);
            free(r->other[k]);
        }
        pthread_mutex_destroy(&r->other_mu);
        tl_model_free(r->knn);
        tl_rec_content_free(r->content);
        tl_offers_free(r->offers);
        tl_scorecard_free(r->card);
        free(r);
    }
}

static uint32_t top_items(msvc_t *m, uint32_t u, uint32_t n, tl_served_t *out);

typedef struct {
    tl_server_t *s;
    recref_t *r;
} filljob_t;

/* Fills every user's cached list in the background, so requests find
 * them ready: the "precomputed candidates" the request path reads. */
static void *fill_cache(void *arg) {
    filljob_t *j = arg;
    tl_served_t out[CACHE_N];
    for (uint32_t u = 0; u < j->r->def.ncache && !atomic_load(&j->r->stop); u++) top_items(&j->r->def, u, CACHE_N, out);
    rec_release(j->s, j->r);
    free(j);
    return NULL;
}

static int load_model(tl_server_t *s, tl_errbuf_t *eb) {
    char path[4300], knn[4300];
    snprintf(path, sizeof path, "%s/models/%s.tlm", s->dir, s->model);
    snprintf(knn, sizeof knn, "%s/models/knn.tlm", s->dir);
    recref_t *r = calloc(1, sizeof *r);
    if (!r) return TL_ENOMEM;
    pthread_mutex_init(&r->other_mu, NULL);
    snprintf(r->def.name, sizeof r->def.name, "%s", s->model);
    /* a second connection: loading reads the log without holding the server's store */
    tl_store_t *st = NULL;
    int rc = tl_store_open(s->dir, TL_STORE_READONLY, &st, eb);
    tl_dict_t *items = rc ? NULL : tl_store_dict(st, TL_D_ITEM, eb);
    if (!rc && !items) rc = TL_ENOMEM;
    if (!rc && access(path, R_OK) == 0) rc = tl_recsvc_open(st, path, &r->def.rec, eb);
    if (!rc && r->def.rec && r->def.rec->x.nusers) {
        r->def.ncache = r->def.rec->x.nusers;
        if (!(r->def.cache = calloc(r->def.ncache, sizeof *r->def.cache))) rc = TL_ENOMEM;
    }
    if (!rc && access(knn, R_OK) == 0) {
        rc = tl_model_load(knn, &r->knn, eb);
        if (!rc && tl_model_kind(r->knn) != TL_MODEL_KNN) tl_model_free(r->knn), r->knn = NULL;
    }
    if (!rc) rc = tl_rec_content_load(st, tl_dict_count(items), &r->content, eb);
    char card[4300], *policy = NULL;
    snprintf(card, sizeof card, "%s/models/scorecard.json", s->dir);
    if (!rc && access(card, R_OK) == 0) rc = tl_scorecard_load(card, &r->card, eb);
    if (!rc && s->policy && tl_read_file(s->policy, &policy, NULL)) {
        tl_errbuf_set(eb, "%s: cannot read the lending policy", s->policy);
        rc = TL_EIO;
    }
    if (!rc) {
        pthread_rwlock_rdlock(&s->prof_mu);
        rc = tl_offers_policy(st, s->prof, policy, &r->offers, eb);
        pthread_rwlock_unlock(&s->prof_mu);
    }
    free(policy);
    tl_store_close(st);
    if (rc) {
        r->refs = 1;
        rec_release(s, r);
        return rc;
    }
    r->refs = 1, r->loaded = tl_time_now_ms();
    pthread_mutex_lock(&s->ref_mu);
    recref_t *old = s->rec;
    s->rec = r;
    filljob_t *j = r->def.cache ? malloc(sizeof *j) : NULL;
    if (j) r->refs++, j->s = s, j->r = r; /* the filler's reference */
    pthread_mutex_unlock(&s->ref_mu);
    if (j) {
        if (pthread_create(&r->filler, NULL, fill_cache, j) == 0) {
            pthread_detach(r->filler);
        } else {
            rec_release(s, r);
            free(j);
        }
    }
    if (old) atomic_store(&old->stop, 1);
    rec_release(s, old);
    return 0;
}

int tl_server_reload(tl_server_t *s, tl_errbuf_t *eb) {
    int rc = load_model(s, eb);
    if (!rc) rc = load_keys(s, eb);
    if (!rc) atomic_fetch_add(&s->reloads, 1);
    return rc;
}

/* ---- setup ---------------------------------------------------------------------------------- */

/* Request bodies that older versions staged as files, left by a server
 * killed before it removed them: never part of the store (an answered
 * batch is in the log; an unanswered one is sent again), and raw personal
 * data. Bodies are now imported from memory; the store's lock says no one
 * uses these. */
static void remove_staged(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int ev = strncmp(e->d_name, "api-events-", 11) == 0 && n > 6 && strcmp(e->d_name + n - 6, ".jsonl") == 0;
        int fb = strncmp(e->d_name, "api-feedback-", 13) == 0 && n > 4 && strcmp(e->d_name + n - 4, ".csv") == 0;
        if (!ev && !fb) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

int tl_server_new(const tl_server_opts_t *o, tl_server_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    if (sodium_init() < 0) {
        tl_errbuf_set(eb, "libsodium cannot start");
        return TL_ECRYPTO;
    }
    openblas_set_num_threads(1); /* requests are the parallelism: no BLAS threads per call */
    tl_server_t *s = calloc(1, sizeof *s);
    if (!s) return TL_ENOMEM;
    s->dir = strdup(o->data_dir), s->model = strdup(o->model ? o->model : "ials");
    s->policy = o->policy ? strdup(o->policy) : NULL;
    s->max_body = o->max_body ? o->max_body : (16u << 20);
    pthread_rwlock_init(&s->st_rw, NULL), pthread_mutex_init(&s->ref_mu, NULL);
    pthread_mutex_init(&s->route_mu, NULL), pthread_mutex_init(&s->ev_mu, NULL);
    pthread_cond_init(&s->ev_cv, NULL);
    pthread_rwlock_init(&s->prof_mu, NULL), pthread_rwlock_init(&s->key_mu, NULL);
    int rc = s->dir && s->model && (s->policy || !o->policy) ? 0 : TL_ENOMEM;
    if (!rc) rc = tl_store_open(s->dir, TL_STORE_CREATE, &s->st, eb);
    if (!rc) remove_staged(s->dir);
    /* loaded now, so readers under the shared lock never load one */
    for (int k = 0; !rc && k < TL_D__N; k++)
        if (!tl_store_dict(s->st, (tl_dkind_t)k, eb)) rc = TL_ENOMEM;
    tl_profile_opts_t po;
    tl_profile_opts_default(&po);
    if (!rc) rc = tl_segment_profiles_build(s->st, &po, &s->prof, eb);
    if (!rc) {
        s->applied = tl_store_event_count(s->st);
        s->as_of = tl_profile_as_of(s->prof);
        s->nwithdrawn = tl_profile_nusers(s->prof);
        s->withdrawn = calloc((size_t)s->nwithdrawn + 1, 1);
        for (uint32_t u = 0; s->withdrawn && u < s->nwithdrawn; u++)
            s->withdrawn[u] = (uint8_t)tl_profile_withdrawn(s->prof, u);
        rc = s->withdrawn ? tl_scenes_new(TL_NONE, &s->scenes) : TL_ENOMEM;
    }
    if (!rc) rc = tl_scenes_scan(s->scenes, s->st, eb);
    if (!rc) rc = load_keys(s, eb);
    if (!rc) rc = load_model(s, eb);
    if (rc) tl_server_free(s);
    else *out = s;
    return rc;
}

void tl_server_free(tl_server_t *s) {
    if (!s) return;
    if (s->rec) atomic_store(&s->rec->stop, 1);
    /* the filler holds its own reference: wait for it to drop it */
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&s->ref_mu);
        int others = s->rec ? s->rec->refs > 1 : 0;
        pthread_mutex_unlock(&s->ref_mu);
        if (!others) break;
        usleep(10000);
    }
    rec_release(s, s->rec);
    tl_profile_free(s->prof);
    tl_scenes_free(s->scenes);
    tl_store_close(s->st);
    free(s->withdrawn);
    free(s->keys);
    pthread_rwlock_destroy(&s->st_rw), pthread_mutex_destroy(&s->ref_mu);
    pthread_mutex_destroy(&s->route_mu), pthread_mutex_destroy(&s->ev_mu);
    pthread_cond_destroy(&s->ev_cv);
    pthread_rwlock_destroy(&s->prof_mu), pthread_rwlock_destroy(&s->key_mu);
    free(s->dir), free(s->model), free(s->policy);
    free(s);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The byte of the escape %XY at s[i] (i + 2 < n), or -1 when it is not one. */
static int pct_byte(const char *s, size_t n, size_t i) {
    int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* Percent-decodes s[0..n) into out (cap > 0); '+' is a space in a query.
 * s has passed uri_fault. */
static void pct_decode(const char *s, size_t n, int plus, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        int b = s[i] == '%' ? pct_byte(s, n, i) : -1;
        if (b >= 0) {
            out[o++] = (char)b;
            i += 2;
        } else {
            out[o++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = 0;
}

/* Where s does not percent-decode cleanly, or NULL: every '%' must start
 * two hex digits, and no byte, as sent or decoded, may be a control
 * character. A NUL would end a decoded id early and name someone else
 * (u1%00x is not u1), so such a request is refused whole, for every route. */
static const char *uri_fault(const char *s) {
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && (c = pct_byte(s, n, i)) < 0) return "a '%' not followed by two hex digits";
        if (s[i] == '%') i += 2;
        if (c < 0x20 || c == 0x7f) return "a control character (such as %00)";
    }
    return NULL;
}

/* The longest query value a request may send, decoded, with room for its
 * NUL: every handler reads values into buffers of this size, so a value is
 * never cut short into another (n=000...05 is not n=0). */
#define QUERY_VALUE_MAX 2048

/* Where a query (past uri_fault) holds a value too long to read whole, or
 * NULL. */
static const char *query_fault(const char *q) {
    size_t n = 0; /* decoded bytes of the value being read */
    for (const char *p = q; p && *p; p++) {
        if (*p == '&') {
            n = 0;
            continue;
        }
        if (*p == '%') p += 2;
        if (++n >= QUERY_VALUE_MAX) return "a value longer than 2047 bytes";
    }
    return NULL;
}

/* The value of a query parameter, percent-decoded, or NULL; out has room
 * for QUERY_VALUE_MAX bytes. */
static const char *query_get(const char *q, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            pct_decode(p + nl + 1, (size_t)(end - p) - nl - 1, 1, out, cap);
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static uint32_t user_index(tl_server_t *s, const char *id) {
    pthread_rwlock_rdlock(&s->st_rw);
    tl_errbuf_t eb;
    tl_dict_t *users = tl_store_dict(s->st, TL_D_USER, &eb);
    uint32_t u = users ? tl_dict_find(users, id, strlen(id)) : TL_NONE;
    pthread_rwlock_unlock(&s->st_rw);
    return u;
}

static void audit(tl_server_t *s, const char *who, const char *what, const char *target) {
    tl_errbuf_t eb;
    pthread_rwlock_wrlock(&s->st_rw);
    tl_audit_add(s->st, who, what, target, &eb);
    pthread_rwlock_unlock(&s->st_rw);
}

/* ---- events ---------------------------------------------------------------------------------- */

typedef struct {
    cJSON *rejected;
    evjob_t *jobs;       /* a group: the job whose file it is */
} evrej_t;

static void on_event_reject(const char *source, uint64_t line, tl_reason_t reason, const char *msg,
                            void *arg) {
    evrej_t *r = arg;
    cJSON *to = r->rejected;
    for (evjob_t *j = r->jobs; j; j = j->next)
        if (strcmp(j->name, source) == 0) to = j->rejected;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", (double)line - 1); /* line n is record n - 1 */
    cJSON_AddStringToObject(o, "reason", tl_reason_name(reason));
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddItemToArray(to, o);
}

static int apply_new_events(tl_server_t *s, tl_errbuf_t *eb);

static void on_event_file(const char *name, const tl_import_stats_t *f, void *arg) {
    for (evjob_t *j = arg; j; j = j->next)
        if (strcmp(j->name, name) == 0) j->st = *f;
}

/* Imports every waiting batch in one run and one commit, then applies
 * them to the profiles: concurrent requests share the two fsyncs. The
 * bodies are read from memory: nothing of a request is written to disk
 * but what the store keeps. */
static void commit_group(tl_server_t *s, evjob_t *jobs) {
    tl_source_t bufs[64];
    int n = 0;
    for (evjob_t *j = jobs; j; j = j->next) bufs[n++] = j->in; /* at most 64 (post_events) */
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    o.kind = TL_KIND_EVENTS;
    o.format = TL_FMT_JSONL;
    o.on_file = on_event_file, o.on_file_arg = jobs;
    tl_import_stats_t st = {0};
    evrej_t rej = {NULL, jobs};
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_import(s->st, bufs, n, &o, &st, on_event_reject, &rej, &eb);
    if (!rc) {
        pthread_rwlock_wrlock(&s->prof_mu);
        rc = apply_new_events(s, &eb);
        pthread_rwlock_unlock(&s->prof_mu);
    }
    pthread_rwlock_unlock(&s->st_rw);
    for (evjob_t *j = jobs; j; j = j->next) {
        j->rc = rc;
        snprintf(j->err, sizeof j->err, "%s", eb.msg[0] ? eb.msg : tl_strerror(rc));
    }
}

typedef struct {
    tl_server_t *s;
    tl_event_t *ev;
    size_t n, cap;
} newev_t;

static int collect_block(const tl_evblock_t *b, void *arg) {
    newev_t *x = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->first_seq + i < x->s->applied) continue;
        if (x->n == x->cap) {
            size_t nc = x->cap ? x->cap * 2 : 1024;
            tl_event_t *e = realloc(x->ev, nc * sizeof *e);
            if (!e) return TL_ENOMEM;
            x->ev = e, x->cap = nc;
        }
        x->ev[x->n++] = (tl_event_t){.fp = b->fp[i], .user = b->user[i], .item = b->item[i], .ts = b->ts[i],
                                     .type = b->type[i], .channel = b->channel[i], .qty = b->qty[i],
                                     .amount = b->amount[i], .rating = b->rating[i], .lat = b->lat[i],
                                     .lon = b->lon[i], .query = b->query[i], .city = b->city[i],
                                     .session = b->session[i], .campaign = b->campaign[i]};
    }
    return 0;
}

static int cmp_ev(const void *a, const void *b) {
    const tl_event_t *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

/* Applies the events added since the last call to the profiles, each
 * user's in time order (a batch may come in any order; an event older
 * than what a user's profile already holds is applied as it comes, and
 * the next `profile build` puts it in its place), then refreshes the
 * users they touched and the columns derived from the profiles (tags).
 * Under prof_mu (write) and st_rw (write). */
static int apply_new_events(tl_server_t *s, tl_errbuf_t *eb) {
    newev_t x = {.s = s};
    int rc = tl_store_scan_from(s->st, s->applied, TL_EVC_ALL, collect_block, &x, eb);
    if (!rc && x.n) qsort(x.ev, x.n, sizeof *x.ev, cmp_ev); /* stable enough: equal times keep no order */
    for (size_t i = 0; !rc && i < x.n; i++) {
        rc = tl_profile_apply(s->prof, &x.ev[i]);
        if (!rc) rc = tl_scenes_add(s->scenes, x.ev[i].user, x.ev[i].item, x.ev[i].type, x.ev[i].ts);
        if (x.ev[i].ts > s->as_of) s->as_of = x.ev[i].ts;
    }
    for (size_t i = 0; !rc && i < x.n; i++)
        if (i == 0 || x.ev[i].user != x.ev[i - 1].user) rc = tl_profile_refresh_user(s->prof, x.ev[i].user, s->as_of);
    if (!rc && x.n) rc = tl_segment_profiles_derive(s->st, s->prof, eb);
    free(x.ev);
    if (!rc) s->applied = tl_store_event_count(s->st);
    return rc;
}

/* The name a request body goes by as the source of what it quarantines. */
static void request_name(tl_server_t *s, const char *route, char *out, size_t cap) {
    char at[32];
    tl_time_format(tl_time_now_ms(), at);
    snprintf(out, cap, "POST %s at %s #%llu", route, at, (unsigned long long)atomic_fetch_add(&s->tmpn, 1));
}

static const char *skip_space(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/* The body as JSON Lines for the importer, in job->in: the body itself, or
 * an array's elements one a line in jsonl (which the caller finis). Each
 * element goes as sent (cJSON reads one at a time and tells where it
 * ends), its line breaks made blanks: the importer checks exactly what was
 * sent, a \u0000 in a string among it, which a copy printed by cJSON would
 * have cut short to another user's id. */
static int body_jsonl(const tl_http_request_t *rq, evjob_t *job, tl_buf_t *jsonl, tl_http_response_t *rs) {
    job->in = tl_source_mem(job->name, rq->body, rq->body_len);
    const char *end = rq->body + rq->body_len, *p = skip_space(rq->body, end);
    if (p == end || *p != '[') return 0;
    p = skip_space(p + 1, end);
    int ok = 1;
    for (size_t k = 0; ok && p < end && *p != ']'; k++) {
        if (k && *p != ',') break;
        if (k) p = skip_space(p + 1, end);
        const char *e = NULL;
        cJSON *v = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &e, 0);
        cJSON_Delete(v);
        if (!v) {
            p = e ? e : p;
            break;
        }
        for (const char *c = p; ok && c < e;) {
            const char *q = c;
            while (q < e && *q != '\n' && *q != '\r') q++;
            ok = !tl_buf_append(jsonl, c, (size_t)(q - c)) && (q == e || !tl_buf_append(jsonl, " ", 1));
            c = q + (q < e);
        }
        ok = ok && !tl_buf_append(jsonl, "\n", 1);
        p = skip_space(e, end);
    }
    if (!ok) {
        fail(rs, 500, "internal", "out of memory");
        return -1;
    }
    if (p == end || *p != ']' || skip_space(p + 1, end) != end) {
        fail(rs, 400, "bad_json", "the body is not a JSON array of events (near byte %ld)",
             (long)(p == end || *p != ']' ? p - rq->body : skip_space(p + 1, end) - rq->body));
        return -1;
    }
    job->in.data = jsonl->data ? jsonl->data : "", job->in.len = jsonl->len;
    return 0;
}

static void post_events(tl_server_t *s, const tl_http_request_t *rq, tl_http_response_t *rs) {
    if (!rq->body_len) {
        fail(rs, 400, "empty", "the body is empty: send a JSON array of events or JSON Lines");
        return;
    }
    evjob_t job = {0};
    request_name(s, "/v1/events", job.name, sizeof job.name);
    tl_buf_t jsonl;
    tl_buf_init(&jsonl);
    if (body_jsonl(rq, &job, &jsonl, rs)) {
        tl_buf_fini(&jsonl);
        return;
    }
    job.rejected = cJSON_CreateArray();
    /* wait in line; the first to find no leader imports everyone waiting */
    pthread_mutex_lock(&s->ev_mu);
    job.next = s->ev_queue, s->ev_queue = &job;
    while (!job.done) {
        if (!s->ev_leader) {
            s->ev_leader = 1;
            /* at most 64 batches a group; later ones wait for the next */
            evjob_t *group = s->ev_queue, *last = group;
            for (int k = 1; k < 64 && last->next; k++) last = last->next;
            s->ev_queue = last->next;
            last->next = NULL;
            pthread_mutex_unlock(&s->ev_mu);
            commit_group(s, group);
            pthread_mutex_lock(&s->ev_mu);
            for (evjob_t *j = group; j; j = j->next) j->done = 1;
            s->ev_leader = 0;
            pthread_cond_broadcast(&s->ev_cv);
        } else {
            pthread_cond_wait(&s->ev_cv, &s->ev_mu);
        }
    }
    pthread_mutex_unlock(&s->ev_mu);
    tl_buf_fini(&jsonl);
    if (job.rc) {
        cJSON_Delete(job.rejected);
        fail_write(rs, job.rc, "store", job.err);
        return;
    }
    tl_import_stats_t st = job.st;
    atomic_fetch_add(&s->events_in, st.accepted);
    atomic_fetch_add(&s->events_bad, st.quarantined);
    atomic_fetch_add(&s->events_dup, st.duplicates);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "read", (double)st.read);
    cJSON_AddNumberToObject(j, "accepted", (double)st.accepted);
    cJSON_AddNumberToObject(j, "duplicates", (double)st.duplicates);
    cJSON_AddNumberToObject(j, "quarantined", (double)st.quarantined);
    cJSON_AddItemToObject(j, "rejected", job.rejected);
    send_json(rs, 200, j);
}

/* ---- profiles, recommendations, segments --------------------------------------------------- */

static void get_profile(tl_server_t *s, const char *id, const char *who, tl_http_response_t *rs) {
    uint32_t u = user_index(s, id);
    if (u == TL_NONE) {
        fail(rs, 404, "not_found", "no user \"%s\"", id);
        return;
    }
    tl_buf_t pii, masked;
    tl_buf_init(&pii), tl_buf_init(&masked);
    tl_errbuf_t eb;
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_user_pii(s->st, u, &pii, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "user", id);
    static const char *const PII[] = {"name", "phone", "email", "id_number"};
    const char *f = pii.data;
    for (int i = 0; !rc && f && i < 4; i++) {
        tl_buf_clear(&masked);
        tl_mask_value(f, strlen(f), &masked);
        tl_buf_append(&masked, "", 1);
        if (*f) cJSON_AddStringToObject(j, PII[i], masked.data);
        f += strlen(f) + 1;
    }
    sodium_memzero(pii.data, pii.cap);
    tl_buf_fini(&pii), tl_buf_fini(&masked);
    pthread_rwlock_rdlock(&s->prof_mu);
    char asof[32];
    tl_time_format(s->as_of, asof);
    cJSON_AddStringToObject(j, "as_of", asof);
    if (tl_profile_withdrawn(s->prof, u)) cJSON_AddStringToObject(j, "profiling", "withdrawn");
    cJSON_AddItemToObject(j, "features", tl_profile_user_json(s->prof, u));
    pthread_rwlock_unlock(&s->prof_mu);
    if (rc) {
        cJSON_Delete(j);
        fail(rs, 500, "store", "%s", eb.msg);
        return;
    }
    audit(s, who, "read profile", id);
    send_json(rs, 200, j);
}

/* Subject access: everything held about the user, personal fields in
 * clear (admin only), the read audited. */
static void get_user_data(tl_server_t *s, const char *id, const char *who, tl_http_response_t *rs) {
    uint32_t u = user_index(s, id);
    if (u == TL_NONE) {
        fail(rs, 404, "not_found", "no user \"%s\"", id);
        return;
    }
    cJSON *j = NULL;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    pthread_rwlock_rdlock(&s->prof_mu);
    int rc = tl_subject_export(s->st, s->prof, u, &j, &eb);
    pthread_rwlock_unlock(&s->prof_mu);
    pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        fail(rs, 500, "internal", "%s", eb.msg[0] ? eb.msg : tl_strerror(rc));
        return;
    }
    audit(s, who, "export data", id);
    send_json(rs, 200, j);
}

/* Erasure (admin only, audited): the user out of the store, the profiles
 * and the scenes at once; the models are loaded again so that no served
 * list comes from what they knew of the user. Requests wait while the
 * store is rewritten. */
static void delete_user(tl_server_t *s, const char *id, const char *who, tl_http_response_t *rs) {
    tl_erase_report_t r;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    pthread_rwlock_wrlock(&s->prof_mu);
    int rc = tl_privacy_erase(s->st, id, s->prof, &r, &eb);
    if (!rc) {
        /* every committed event was applied; the erased ones are gone */
        s->applied = tl_store_event_count(s->st);
        tl_scenes_t *sc = NULL;
        rc = tl_scenes_new(TL_NONE, &sc);
        if (!rc) rc = tl_scenes_scan(sc, s->st, &eb);
        if (!rc) tl_scenes_free(s->scenes), s->scenes = sc;
        else tl_scenes_free(sc);
    }
    pthread_rwlock_unlock(&s->prof_mu);
    if (!rc) rc = tl_audit_add(s->st, who, "erase", id, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (!rc) rc = load_model(s, &eb);
    if (rc == TL_ENOENT) {
        fail(rs, 404, "not_found", "no user \"%s\"", id);
        return;
    }
    if (rc) {
        fail_write(rs, rc, "internal", eb.msg[0] ? eb.msg : tl_strerror(rc));
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", r.again ? "erased before" : "erased");
    cJSON_AddStringToObject(j, "tombstone", r.pseudonym);
    cJSON_AddNumberToObject(j, "events", (double)r.events);
    cJSON_AddNumberToObject(j, "records", (double)r.rows);
    cJSON_AddNumberToObject(j, "quarantined_rows_emptied", (double)r.quarantined);
    cJSON_AddNumberToObject(j, "models", r.models);
    send_json(rs, 200, j);
}

/* A user's top n: from the cache when it holds them, else served (and,
 * for the first CACHE_N, kept). */
static uint32_t top_items(msvc_t *r, uint32_t u, uint32_t n, tl_served_t *out) {
    topcache_t *c = u < r->ncache && n <= CACHE_N ? &r->cache[u] : NULL;
    if (c) {
        unsigned s0 = atomic_load_explicit(&c->seq, memory_order_acquire);
        if (!(s0 & 1) && c->n) {
            uint32_t got = c->n < n ? c->n : n;
            for (uint32_t i = 0; i < got; i++)
                out[i] = (tl_served_t){c->item[i], c->score[i], c->because[i], c->how[i] & 1, c->how[i] >> 1 & 1,
                                       c->how[i] >> 2 & 1};
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&c->seq, memory_order_relaxed) == s0) return got;
        }
    }
    tl_served_t all[CACHE_N];
    if (!c) return tl_recsvc_top(r->rec, u, n, out);
    uint32_t got = tl_recsvc_top(r->rec, u, CACHE_N, all);
    /* keep it, unless another writer has the entry */
    unsigned s0 = atomic_load(&c->seq);
    if (!(s0 & 1) && atomic_compare_exchange_strong(&c->seq, &s0, s0 + 1)) {
        for (uint32_t i = 0; i < got; i++) {
            c->item[i] = all[i].item, c->score[i] = all[i].score, c->because[i] = all[i].because;
            c->how[i] = (uint8_t)((all[i].cold != 0) | (all[i].from_context != 0) << 1 | (all[i].is_new != 0) << 2);
        }
        if (!c->n) atomic_fetch_add(&r->cached, 1);
        c->n = got;
        atomic_store_explicit(&c->seq, s0 + 2, memory_order_release);
    }
    uint32_t k = got < n ? got : n;
    memcpy(out, all, k * sizeof *out);
    return k;
}

/* The recommender of that name: the default one, or another under
 * DATA/models loaded at the first ask (NULL, with why in eb, when there is
 * none). Requests that find it loaded take no lock. */
static msvc_t *rec_model(tl_server_t *s, recref_t *r, const char *name, int *status, tl_errbuf_t *eb) {
    *status = 404;
    if (!name || strcmp(name, r->def.name) == 0) {
        *status = 503;
        if (!r->def.rec) tl_errbuf_set(eb, "no recommender is loaded (train one: `tailor train --model %s`)", r->def.name);
        return r->def.rec ? &r->def : NULL;
    }
    size_t len = strlen(name);
    int ok = len > 0 && len < sizeof r->def.name;
    for (size_t i = 0; ok && i < len; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-';
    if (!ok) {
        tl_errbuf_set(eb, "model \"%s\": lower-case letters, digits, _ and -", name);
        *status = 400;
        return NULL;
    }
    for (int k = 0; k < atomic_load(&r->nother); k++)
        if (strcmp(r->other[k]->name, name) == 0) return r->other[k];
    pthread_mutex_lock(&r->other_mu);
    msvc_t *m = NULL;
    int n = atomic_load(&r->nother);
    for (int k = 0; k < n && !m; k++)
        if (strcmp(r->other[k]->name, name) == 0) m = r->other[k];
    char path[4300];
    snprintf(path, sizeof path, "%s/models/%s.tlm", s->dir, name);
    if (!m && n == MAX_MODELS) {
        tl_errbuf_set(eb, "at most %d models besides %s are served at once", MAX_MODELS, r->def.name);
        *status = 503;
    } else if (!m && access(path, R_OK) != 0) {
        tl_errbuf_set(eb, "no model \"%s\" (train one: `tailor train --model %s`)", name, name);
    } else if (!m) {
        tl_store_t *st = NULL;
        m = calloc(1, sizeof *m);
        int rc = m ? tl_store_open(s->dir, TL_STORE_READONLY, &st, eb) : TL_ENOMEM;
        if (!rc) rc = tl_recsvc_open(st, path, &m->rec, eb);
        tl_store_close(st);
        if (!rc && (m->ncache = m->rec->x.nusers) && !(m->cache = calloc(m->ncache, sizeof *m->cache))) rc = TL_ENOMEM;
        if (rc) {
            if (m) tl_recsvc_free(m->rec), free(m->cache), free(m);
            m = NULL;
            *status = 500;
        } else {
            snprintf(m->name, sizeof m->name, "%s", name);
            r->other[n] = m;
            atomic_store(&r->nother, n + 1);
        }
    }
    pthread_mutex_unlock(&r->other_mu);
    return m;
}

/* The hot path: one shared lock for the ids, the list from the cache, the
 * answer written straight into the buffer. A filter or a scene serves the
 * list for this request alone. */
static void get_recs(tl_server_t *s, const char *id, const char *q, tl_http_response_t *rs) {
    char v[QUERY_VALUE_MAX], mname[QUERY_VALUE_MAX], scene[QUERY_VALUE_MAX], cats[QUERY_VALUE_MAX], excl[QUERY_VALUE_MAX];
    long n = query_get(q, "n", v, sizeof v) ? strtol(v, NULL, 10) : 10;
    const char *sq = query_get(q, "scene", scene, sizeof scene);
    if (sq && strcmp(sq, "home") == 0) sq = NULL;
    if (n < 1 || n > TL_REC_MAX_N || (sq && strcmp(sq, "cart") != 0 && strcmp(sq, "purchase") != 0 && strncmp(sq, "item:", 5) != 0)) {
        if (n < 1 || n > TL_REC_MAX_N) fail(rs, 400, "bad_parameter", "n must be from 1 to %d", TL_REC_MAX_N);
        else fail(rs, 400, "bad_parameter", "scene is home, cart, purchase or item:ID");
        return;
    }
    recref_t *r = rec_acquire(s);
    tl_errbuf_t eb = {{0}};
    int status = 503;
    msvc_t *m = r ? rec_model(s, r, query_get(q, "model", mname, sizeof mname), &status, &eb) : NULL;
    if (!m) {
        rec_release(s, r);
        fail(rs, status, status == 404 ? "not_found" : status == 400 ? "bad_parameter" : "no_model", "%s",
             eb.msg[0] ? eb.msg : "no recommender is loaded");
        return;
    }
    const tl_recsvc_t *rec = m->rec;
    pthread_rwlock_rdlock(&s->st_rw);
    tl_dict_t *users = tl_store_dict(s->st, TL_D_USER, &eb), *items = tl_store_dict(s->st, TL_D_ITEM, &eb);
    uint32_t u = users ? tl_dict_find(users, id, strlen(id)) : TL_NONE;
    /* whom to serve: nobody in particular for an unknown user or one who
     * withdrew profiling (the item on screen still counts, the cart does not) */
    uint32_t who = u == TL_NONE || (u < s->nwithdrawn && s->withdrawn[u]) ? TL_REC_ANONYMOUS
                                                                          : tl_recsvc_subject(rec, u);
    tl_served_t sv[TL_REC_MAX_N];
    uint32_t got = 0;
    const char *cq = query_get(q, "category", cats, sizeof cats), *xq = query_get(q, "exclude", excl, sizeof excl);
    if (cq || xq || sq) {
        tl_serve_opts_t so = rec->so;
        uint32_t ncats = rec->catnames ? tl_dict_count(rec->catnames) : 0, ni = rec->x.nitems;
        uint8_t *inc = cq ? calloc(ncats + 1, 1) : NULL, *exi = xq ? calloc(ni + 1, 1) : NULL;
        const char *bad = NULL;
        int bad_item = 0;
        for (const char *c = cq; inc && *c && !bad;) {
            size_t len = strcspn(c, ",");
            uint32_t code = rec->catnames ? tl_dict_find(rec->catnames, c, len) : TL_NONE;
            if (code == TL_NONE) bad = c;
            else inc[code] = 1;
            c += len + (c[len] == ',');
        }
        for (const char *c = xq; exi && *c;) {
            size_t len = strcspn(c, ",");
            uint32_t it = items ? tl_dict_find(items, c, len) : TL_NONE;
            if (it < ni) exi[it] = 1;
            c += len + (c[len] == ',');
        }
        /* the scene: the item on screen, the cart, the order just placed */
        uint32_t ctx[8], nctx = 0;
        if (sq && sq[0] == 'i') {
            ctx[0] = items ? tl_dict_find(items, sq + 5, strlen(sq + 5)) : TL_NONE;
            bad_item = ctx[0] == TL_NONE;
            nctx = 1;
        } else if (sq && who == u) {
            pthread_rwlock_rdlock(&s->prof_mu);
            nctx = tl_scenes_items(s->scenes, u, sq[0] == 'c' ? TL_SCENE_CART : TL_SCENE_PURCHASE, 8, ctx);
            pthread_rwlock_unlock(&s->prof_mu);
        }
        uint32_t k = 0;
        for (uint32_t i = 0; i < nctx; i++) /* items newer than the model are not in it */
            if (ctx[i] < ni) ctx[k++] = ctx[i];
        so.context = ctx, so.ncontext = k;
        if (!bad && !bad_item && (!cq || inc) && (!xq || exi)) {
            so.include_cat = inc, so.exclude_item = exi;
            got = tl_rec_serve(rec->m, rec->popm, &rec->x, who, (uint32_t)n, &so, sv);
        }
        free(inc), free(exi);
        if (bad || bad_item || (cq && !inc) || (xq && !exi)) {
            pthread_rwlock_unlock(&s->st_rw);
            rec_release(s, r);
            if (bad) fail(rs, 400, "bad_parameter", "category: no top-level category \"%.*s\"", (int)strcspn(bad, ","), bad);
            else if (bad_item) fail(rs, 404, "not_found", "scene: no item \"%s\"", sq + 5);
            else fail(rs, 500, "internal", "out of memory");
            return;
        }
    } else {
        got = top_items(m, who, (uint32_t)n, sv);
    }
    tl_buf_t *b = &rs->body;
    tl_buf_clear(b);
    tl_buf_append(b, "{\"user\":", 8);
    tl_buf_json_str(b, id, strlen(id));
    tl_buf_append(b, ",\"model\":", 9);
    tl_buf_json_str(b, m->name, strlen(m->name));
    if (who == TL_REC_ANONYMOUS) tl_buf_append(b, ",\"personalised\":false", 21);
    if (sq) {
        tl_buf_append(b, ",\"scene\":", 9);
        tl_buf_json_str(b, sq, strlen(sq));
    }
    tl_buf_append(b, ",\"items\":[", 10);
    for (uint32_t i = 0; i < got && items; i++) {
        size_t len;
        const char *iid = tl_dict_str(items, sv[i].item, &len);
        tl_buf_append(b, i ? ",{\"item\":" : "{\"item\":", i ? 9 : 8);
        tl_buf_json_str(b, iid ? iid : "", iid ? len : 0);
        tl_buf_printf(b, ",\"score\":%.6g", sv[i].score);
        uint32_t cat = rec->cats ? rec->cats[sv[i].item] : TL_NONE;
        if (cat != TL_NONE) {
            const char *cn = tl_dict_str(rec->catnames, cat, &len);
            tl_buf_append(b, ",\"category\":", 12);
            tl_buf_json_str(b, cn, len);
        }
        if (sq && sv[i].from_context && sv[i].because != TL_NONE) {
            const char *bid = tl_dict_str(items, sv[i].because, &len);
            tl_buf_append(b, ",\"because\":", 11);
            tl_buf_json_str(b, bid ? bid : "", bid ? len : 0);
        }
        char reason[600];
        tl_recsvc_reason(rec, items, &sv[i], u, who, sq, reason, sizeof reason);
        tl_buf_append(b, ",\"reason\":", 10);
        tl_buf_json_str(b, reason, strlen(reason));
        tl_buf_append(b, "}", 1);
    }
    pthread_rwlock_unlock(&s->st_rw);
    rec_release(s, r);
    tl_buf_append(b, "]}", 2);
    rs->status = 200;
    rs->content_type = "application/json";
}

static void get_similar(tl_server_t *s, const char *id, const char *q, tl_http_response_t *rs) {
    char v[QUERY_VALUE_MAX];
    long n = query_get(q, "n", v, sizeof v) ? strtol(v, NULL, 10) : 10;
    if (n < 1 || n > TL_REC_MAX_N) {
        fail(rs, 400, "bad_parameter", "n must be from 1 to %d", TL_REC_MAX_N);
        return;
    }
    tl_errbuf_t eb;
    pthread_rwlock_rdlock(&s->st_rw);
    tl_dict_t *items = tl_store_dict(s->st, TL_D_ITEM, &eb);
    uint32_t it = items ? tl_dict_find(items, id, strlen(id)) : TL_NONE;
    pthread_rwlock_unlock(&s->st_rw);
    if (it == TL_NONE) {
        fail(rs, 404, "not_found", "no item \"%s\"", id);
        return;
    }
    recref_t *r = rec_acquire(s);
    uint32_t nb[TL_REC_MAX_N], got = 0;
    float sim[TL_REC_MAX_N];
    int by_content = 0;
    if (r) got = tl_rec_similar_items(r->knn, r->content, it, (uint32_t)n, nb, sim, &by_content);
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "items");
    cJSON_AddStringToObject(j, "item", id);
    cJSON_AddStringToObject(j, "by", by_content ? "content" : "interactions");
    pthread_rwlock_rdlock(&s->st_rw);
    for (uint32_t i = 0; i < got; i++) {
        cJSON *o = cJSON_CreateObject();
        const char *iid = tl_dict_str(items, nb[i], NULL);
        cJSON_AddStringToObject(o, "item", iid ? iid : "");
        cJSON_AddNumberToObject(o, "similarity", sim[i]);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_rwlock_unlock(&s->st_rw);
    rec_release(s, r);
    send_json(rs, 200, j);
}

/* A user's financial offers, from the profile and records as they are now. */
static void get_offers(tl_server_t *s, const char *id, const char *q, tl_http_response_t *rs) {
    char v[QUERY_VALUE_MAX], scene[QUERY_VALUE_MAX], cat[QUERY_VALUE_MAX];
    long n = query_get(q, "n", v, sizeof v) ? strtol(v, NULL, 10) : 3;
    tl_offer_scene_t ctx = {query_get(q, "category", cat, sizeof cat), NAN};
    const char *sn = query_get(q, "scene", scene, sizeof scene) ? scene : "home";
    int explain = query_get(q, "explain", v, sizeof v) && strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
    char *end = NULL;
    if (query_get(q, "amount", v, sizeof v)) ctx.amount = strtod(v, &end);
    if (n < 1 || n > 100 || (end && (*end || !(ctx.amount >= 0)))) {
        fail(rs, 400, "bad_parameter", n < 1 || n > 100 ? "n must be from 1 to 100" : "amount must be a number of at least 0");
        return;
    }
    uint32_t u = user_index(s, id);
    if (u == TL_NONE) {
        fail(rs, 404, "not_found", "no user \"%s\"", id);
        return;
    }
    recref_t *r = rec_acquire(s);
    tl_offer_t *f = r ? calloc(tl_offers_nproducts(r->offers) + 1, sizeof *f) : NULL;
    uint32_t total = 0;
    tl_errbuf_t eb = {{0}};
    int rc = f ? 0 : TL_ENOMEM;
    if (!rc) {
        pthread_rwlock_wrlock(&s->st_rw);
        pthread_rwlock_rdlock(&s->prof_mu);
        rc = tl_offers_user(r->offers, s->st, s->prof, r->card, u, sn, &ctx, f, &total, &eb);
        pthread_rwlock_unlock(&s->prof_mu);
        pthread_rwlock_unlock(&s->st_rw);
    }
    if (rc == TL_EINVAL) {
        fail(rs, 400, "bad_parameter", "%s", eb.msg);
    } else if (rc) {
        fail(rs, 500, "internal", "%s", eb.msg[0] ? eb.msg : tl_strerror(rc));
    } else {
        send_json(rs, 200, tl_offers_json(id, sn, f, total, (uint32_t)n, explain));
    }
    free(f);
    rec_release(s, r);
}

typedef struct {
    cJSON *arr;
} seglist_t;

static int seg_row(const char *name, const char *expr, int64_t created, void *arg) {
    seglist_t *l = arg;
    (void)created;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "expression", expr);
    cJSON_AddItemToArray(l->arr, o);
    return 0;
}

static void get_segments(tl_server_t *s, tl_http_response_t *rs) {
    seglist_t l = {cJSON_CreateArray()};
    tl_errbuf_t eb;
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_segment_list(s->st, seg_row, &l, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        cJSON_Delete(l.arr);
        fail(rs, 500, "store", "%s", eb.msg);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "segments", l.arr);
    send_json(rs, 200, j);
}

/* The members of a condition over the current profiles. count() scans the
 * event log, which only one thread may do at a time: such an expression
 * takes the store. */
static int eval_segment(tl_server_t *s, const char *expr, uint8_t **mask, uint32_t *size,
                        tl_http_response_t *rs) {
    int scans = strstr(expr, "count") != NULL;
    if (scans) pthread_rwlock_wrlock(&s->st_rw); /* the store before the profiles, as everywhere */
    pthread_rwlock_rdlock(&s->prof_mu);
    uint32_t n = tl_profile_nusers(s->prof);
    *mask = malloc(n + 1);
    tl_segtable_t *t = NULL;
    tl_expr_err_t err;
    int rc = *mask ? tl_segtable_new(s->prof, scans ? s->st : NULL, &t) : TL_ENOMEM;
    if (!rc) rc = tl_segment_eval(t, expr, *mask, size, &err);
    tl_segtable_free(t);
    pthread_rwlock_unlock(&s->prof_mu);
    if (scans) pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        char msg[1024];
        if (rc == TL_EBADINPUT) tl_expr_format_error(expr, &err, msg, sizeof msg);
        fail(rs, rc == TL_EBADINPUT ? 400 : 500, rc == TL_EBADINPUT ? "bad_expression" : "internal", "%s",
             rc == TL_EBADINPUT ? msg : tl_strerror(rc));
        free(*mask);
        *mask = NULL;
    }
    return rc;
}

static void post_segment(tl_server_t *s, const tl_http_request_t *rq, tl_http_response_t *rs) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(rq->body, rq->body_len, &end, 0);
    const cJSON *name = cJSON_GetObjectItem(j, "name"), *expr = cJSON_GetObjectItem(j, "expression"), *m;
    if (!j) {
        fail(rs, 400, "bad_json", "the body is not JSON (near byte %ld)", end ? (long)(end - rq->body) : 0L);
        return;
    }
    if (!cJSON_IsObject(j)) {
        fail(rs, 400, "bad_type", "the body must be a JSON object with name and expression");
        cJSON_Delete(j);
        return;
    }
    cJSON_ArrayForEach(m, j) if (strcmp(m->string, "name") != 0 && strcmp(m->string, "expression") != 0) {
        fail(rs, 400, "unknown_field", "unknown field \"%s\" (a segment has name and expression)", m->string);
        cJSON_Delete(j);
        return;
    }
    if (!cJSON_IsString(name) || !*name->valuestring || !cJSON_IsString(expr)) {
        fail(rs, 400, "bad_type", "a segment needs \"name\" and \"expression\" as strings");
        cJSON_Delete(j);
        return;
    }
    uint8_t *mask;
    uint32_t size;
    if (eval_segment(s, expr->valuestring, &mask, &size, rs)) {
        cJSON_Delete(j);
        return;
    }
    free(mask);
    tl_errbuf_t eb;
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_begin(s->st, &eb), isnew = 0;
    if (!rc) rc = (isnew = tl_store_segment_put(s->st, name->valuestring, expr->valuestring, &eb)) < 0 ? isnew : 0;
    if (!rc) rc = tl_store_commit(s->st, &eb);
    else tl_store_rollback(s->st);
    pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        cJSON_Delete(j);
        fail_write(rs, rc, "store", eb.msg);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name->valuestring);
    cJSON_AddStringToObject(o, "expression", expr->valuestring);
    cJSON_AddNumberToObject(o, "size", size);
    cJSON_Delete(j);
    send_json(rs, isnew ? 201 : 200, o);
}

static void get_segment(tl_server_t *s, const char *name, int members, const char *q,
                        tl_http_response_t *rs) {
    char *expr = NULL;
    tl_errbuf_t eb;
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_segment_get(s->st, name, &expr, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        fail(rs, rc == TL_ENOENT ? 404 : 500, rc == TL_ENOENT ? "not_found" : "store", "%s", eb.msg);
        return;
    }
    uint8_t *mask;
    uint32_t size;
    if (eval_segment(s, expr, &mask, &size, rs)) {
        free(expr);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "expression", expr);
    cJSON_AddNumberToObject(j, "size", size);
    if (members) {
        /* pages of 1,000 members; the cursor is the index to start after */
        char v[QUERY_VALUE_MAX];
        long long from = query_get(q, "cursor", v, sizeof v) ? atoll(v) : -1;
        cJSON *arr = cJSON_AddArrayToObject(j, "members");
        tl_ids_t ids;
        pthread_rwlock_wrlock(&s->st_rw);
        int irc = tl_store_ids(s->st, TL_D_USER, &ids, &eb);
        uint32_t n = 0, u, last = TL_NONE;
        for (u = from < 0 ? 0 : (uint32_t)from + 1; !irc && u < ids.n && n < 1000; u++)
            if (mask[u]) cJSON_AddItemToArray(arr, cJSON_CreateString(tl_ids_str(&ids, u, NULL))), n++, last = u;
        int more = 0;
        for (; !irc && u < ids.n && !more; u++) more = mask[u];
        pthread_rwlock_unlock(&s->st_rw);
        if (more && last != TL_NONE) {
            snprintf(v, sizeof v, "%u", last);
            cJSON_AddStringToObject(j, "next_cursor", v);
        }
    }
    free(mask), free(expr);
    send_json(rs, 200, j);
}

/* ---- feedback and consents ----------------------------------------------------------------- */

static void post_feedback(tl_server_t *s, const tl_http_request_t *rq, tl_http_response_t *rs) {
    const char *end = NULL;
    cJSON *arr = cJSON_ParseWithLengthOpts(rq->body, rq->body_len, &end, 0), *e;
    if (!arr || !(cJSON_IsArray(arr) || cJSON_IsObject(arr))) {
        fail(rs, 400, "bad_json", "the body is not a JSON object or array of feedback (near byte %ld)",
             end ? (long)(end - rq->body) : 0L);
        cJSON_Delete(arr);
        return;
    }
    if (cJSON_IsObject(arr)) { /* one record */
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, arr);
        arr = a;
    }
    static const char *const COLS[] = {"user", "kind", "at", "campaign", "channel", "item", "score"};
    tl_buf_t csv;
    tl_buf_init(&csv);
    tl_buf_append(&csv, "user,kind,at,campaign,channel,item,score\n", 41);
    int idx = 0;
    cJSON_ArrayForEach(e, arr) {
        const cJSON *m;
        if (!cJSON_IsObject(e)) {
            fail(rs, 400, "bad_type", "record %d: a feedback record is a JSON object", idx);
            tl_buf_fini(&csv);
            cJSON_Delete(arr);
            return;
        }
        cJSON_ArrayForEach(m, e) {
            int known = 0;
            for (int k = 0; k < 7; k++) known |= strcmp(m->string, COLS[k]) == 0;
            if (!known || !(cJSON_IsString(m) || cJSON_IsNumber(m))) {
                fail(rs, 400, known ? "bad_type" : "unknown_field", "record %d: field \"%s\" %s", idx,
                     m->string, known ? "must be a string or a number" : "is not one of user, kind, at, campaign, channel, item, score");
                tl_buf_fini(&csv);
                cJSON_Delete(arr);
                return;
            }
        }
        for (int k = 0; k < 7; k++) {
            const cJSON *v = cJSON_GetObjectItem(e, COLS[k]);
            char num[64];
            const char *t = cJSON_IsString(v) ? v->valuestring : cJSON_IsNumber(v) ? (snprintf(num, sizeof num, "%.17g", v->valuedouble), num) : "";
            if (k) tl_buf_append(&csv, ",", 1);
            tl_buf_csv_str(&csv, t, strlen(t));
        }
        tl_buf_append(&csv, "\n", 1);
        idx++;
    }
    cJSON_Delete(arr);
    char name[80];
    request_name(s, "/v1/feedback", name, sizeof name);
    tl_source_t in = tl_source_mem(name, csv.data, csv.len);
    evrej_t rej = {cJSON_CreateArray(), NULL};
    tl_feedback_stats_t st;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_feedback_import(s->st, &in, &st, on_event_reject, &rej, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    tl_buf_fini(&csv);
    if (rc) {
        cJSON_Delete(rej.rejected);
        fail_write(rs, rc, "store", eb.msg);
        return;
    }
    /* the CSV's first record is on line 2 */
    cJSON *x;
    cJSON_ArrayForEach(x, rej.rejected) {
        cJSON *i = cJSON_GetObjectItem(x, "index");
        cJSON_SetNumberValue(i, i->valuedouble - 1);
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "read", (double)st.read);
    cJSON_AddNumberToObject(j, "accepted", (double)st.accepted);
    cJSON_AddNumberToObject(j, "duplicates", (double)st.duplicates);
    cJSON_AddNumberToObject(j, "quarantined", (double)st.rejected);
    cJSON_AddNumberToObject(j, "suppressed", (double)st.suppressed);
    cJSON_AddItemToObject(j, "rejected", rej.rejected);
    send_json(rs, 200, j);
}

static int int_cell(int ncol, const char *const *cols, void *arg) {
    if (ncol > 0 && cols[0]) *(int *)arg = atoi(cols[0]);
    return 0;
}

/* After a profiling consent record: when the user's latest one withdraws
 * it, the profile is dropped and recommendations are not personalised;
 * given back, the profile starts again (personalised lists once the models
 * are loaded anew). The caller holds st_rw exclusively. */
static int set_profiling(tl_server_t *s, uint32_t u, tl_errbuf_t *eb) {
    int granted = 1;
    int rc = tl_store_queryf(s->st, eb, int_cell, &granted,
                             "SELECT granted FROM consents WHERE user = ?1 AND purpose = 'profiling' "
                             "ORDER BY at DESC, granted DESC LIMIT 1", "i", (int64_t)u);
    if (rc) return rc;
    if (u >= s->nwithdrawn) {
        uint32_t n = u + 1024;
        uint8_t *w = realloc(s->withdrawn, n);
        if (!w) {
            tl_errbuf_set(eb, "out of memory");
            return TL_ENOMEM;
        }
        memset(w + s->nwithdrawn, 0, n - s->nwithdrawn);
        s->withdrawn = w, s->nwithdrawn = n;
    }
    if (s->withdrawn[u] == !granted) return 0;
    s->withdrawn[u] = (uint8_t)!granted;
    pthread_rwlock_wrlock(&s->prof_mu);
    rc = tl_profile_set_withdrawn(s->prof, u, !granted);
    pthread_rwlock_unlock(&s->prof_mu);
    if (rc) tl_errbuf_set(eb, "profiles: %s", tl_strerror(rc));
    return rc;
}

static void put_consent(tl_server_t *s, const char *user, const char *purpose,
                        const tl_http_request_t *rq, tl_http_response_t *rs) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(rq->body, rq->body_len, &end, 0), *m;
    if (!cJSON_IsObject(j)) {
        fail(rs, 400, "bad_json", "the body is not a JSON object such as {\"granted\":true} (near byte %ld)",
             end ? (long)(end - rq->body) : 0L);
        cJSON_Delete(j);
        return;
    }
    cJSON_ArrayForEach(m, j) if (strcmp(m->string, "granted") != 0 && strcmp(m->string, "at") != 0) {
        fail(rs, 400, "unknown_field", "unknown field \"%s\" (a consent has granted and at)", m->string);
        cJSON_Delete(j);
        return;
    }
    const cJSON *g = cJSON_GetObjectItem(j, "granted"), *at = cJSON_GetObjectItem(j, "at");
    int64_t t = tl_time_now_ms();
    if (!cJSON_IsBool(g) || (at && (!cJSON_IsString(at) || tl_time_parse(at->valuestring, strlen(at->valuestring), &t)))) {
        fail(rs, 400, "bad_type", "\"granted\" is true or false; \"at\", when given, a time");
        cJSON_Delete(j);
        return;
    }
    size_t plen = strlen(purpose);
    int okp = plen > 0 && plen < 64;
    for (size_t i = 0; okp && i < plen; i++) okp = (purpose[i] >= 'a' && purpose[i] <= 'z') || purpose[i] == '_';
    uint32_t u = okp ? user_index(s, user) : TL_NONE;
    if (!okp || u == TL_NONE) {
        fail(rs, okp ? 404 : 400, okp ? "not_found" : "bad_value", okp ? "no user \"%s\"" : "purpose \"%s\": lower-case letters and _", okp ? user : purpose);
        cJSON_Delete(j);
        return;
    }
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_begin(s->st, &eb);
    if (!rc) rc = tl_store_put_consent(s->st, u, purpose, cJSON_IsTrue(g), t, &eb) < 0 ? TL_ESQL : 0;
    if (!rc) rc = tl_store_commit(s->st, &eb);
    else tl_store_rollback(s->st);
    if (!rc && strcmp(purpose, "profiling") == 0) rc = set_profiling(s, u, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    cJSON_Delete(j);
    if (rc) {
        fail_write(rs, rc, "store", eb.msg);
        return;
    }
    char ts[32];
    tl_time_format(t, ts);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", user);
    cJSON_AddStringToObject(o, "purpose", purpose);
    cJSON_AddBoolToObject(o, "granted", cJSON_IsTrue(g));
    cJSON_AddStringToObject(o, "at", ts);
    send_json(rs, 200, o);
}

/* ---- campaigns ----------------------------------------------------------------------------- */

static void post_campaign(tl_server_t *s, const tl_http_request_t *rq, tl_http_response_t *rs) {
    char v[QUERY_VALUE_MAX];
    int replace = query_get(rq->query, "replace", v, sizeof v) && strcmp(v, "true") == 0;
    char *def = malloc(rq->body_len + 1);
    if (!def) {
        fail(rs, 500, "internal", "out of memory");
        return;
    }
    memcpy(def, rq->body, rq->body_len);
    def[rq->body_len] = 0;
    tl_campaign_t c;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_campaign_create(s->st, def, replace, &c, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    free(def);
    if (rc) {
        fail(rs, rc == TL_EBADINPUT ? 400 : rc == TL_EEXIST ? 409 : 500,
             rc == TL_EBADINPUT ? "bad_definition" : rc == TL_EEXIST ? "exists" : "store", "%s%s", eb.msg,
             rc == TL_EEXIST ? " (send ?replace=true to replace it)" : "");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c.id);
    cJSON_AddStringToObject(o, "status", "active");
    tl_campaign_fini(&c);
    send_json(rs, replace ? 200 : 201, o);
}

static int get_campaign(tl_server_t *s, const char *id, tl_campaign_t *c, tl_http_response_t *rs) {
    tl_errbuf_t eb = {{0}};
    int rc = tl_campaign_get(s->st, id, c, &eb);
    if (rc) fail(rs, rc == TL_ENOENT ? 404 : 500, rc == TL_ENOENT ? "not_found" : "store", "%s", eb.msg);
    return rc;
}

/* A run now (or at "at"), over the profiles as they are, with the loaded
 * recommender when the campaign uses it. */
static void run_campaign(tl_server_t *s, const char *id, const tl_http_request_t *rq, tl_http_response_t *rs) {
    tl_run_env_t env = {.dir = s->dir, .at = tl_time_now_ms(), .rec_name = s->model};
    if (rq->body_len) {
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(rq->body, rq->body_len, &end, 0), *m;
        if (!cJSON_IsObject(j)) {
            fail(rs, 400, "bad_json", "the body is not a JSON object such as {\"dry_run\":true} (near byte %ld)",
                 end ? (long)(end - rq->body) : 0L);
            cJSON_Delete(j);
            return;
        }
        cJSON_ArrayForEach(m, j) {
            int ok = strcmp(m->string, "dry_run") == 0 ? cJSON_IsBool(m)
                     : strcmp(m->string, "at") == 0   ? cJSON_IsString(m) && !tl_time_parse(m->valuestring, strlen(m->valuestring), &env.at)
                                                      : -1;
            if (ok != 1) {
                fail(rs, 400, ok ? "unknown_field" : "bad_type", ok ? "unknown field \"%s\" (a run takes at and dry_run)"
                                                                    : "\"%s\": dry_run is true or false, at a time", m->string);
                cJSON_Delete(j);
                return;
            }
        }
        env.dry_run = cJSON_IsTrue(cJSON_GetObjectItem(j, "dry_run"));
        cJSON_Delete(j);
    }
    recref_t *r = rec_acquire(s);
    env.rec = r ? r->def.rec : NULL;
    tl_campaign_t c;
    tl_run_result_t res;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = get_campaign(s, id, &c, rs);
    if (!rc) {
        pthread_rwlock_rdlock(&s->prof_mu);
        env.p = s->prof;
        rc = tl_campaign_run_env(s->st, &c, &env, &res, &eb);
        pthread_rwlock_unlock(&s->prof_mu);
        if (rc) fail(rs, rc == TL_EBADINPUT ? 400 : rc == TL_ENOENT ? 409 : 500,
                     rc == TL_EBADINPUT ? "bad_audience" : rc == TL_ENOENT ? "not_ready" : "internal", "%s", eb.msg);
        else send_json(rs, 200, tl_run_result_json(&c, &res));
        tl_campaign_fini(&c);
    }
    pthread_rwlock_unlock(&s->st_rw);
    rec_release(s, r);
}

static void get_report(tl_server_t *s, const char *id, const char *q, tl_http_response_t *rs) {
    char v[QUERY_VALUE_MAX];
    tl_report_opts_t o = {.conf = 0.95};
    if (query_get(q, "correction", v, sizeof v)) {
        if (strcmp(v, "bh") != 0 && strcmp(v, "holm") != 0) {
            fail(rs, 400, "bad_parameter", "correction is holm (the default) or bh");
            return;
        }
        o.correction = strcmp(v, "bh") == 0;
    }
    tl_campaign_t c;
    tl_campaign_report_t r;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = get_campaign(s, id, &c, rs);
    if (!rc) {
        int rrc = tl_campaign_report(s->st, &c, &o, &r, &eb);
        if (rrc) {
            fail(rs, 500, "internal", "%s", eb.msg);
        } else {
            send_json(rs, 200, tl_campaign_report_json(&c, &r));
            tl_campaign_report_fini(&r);
        }
        tl_campaign_fini(&c);
    }
    pthread_rwlock_unlock(&s->st_rw);
}

/* ---- keys through the API (the store is this process's while it serves) ------------------ */

static void post_key(tl_server_t *s, const tl_http_request_t *rq, tl_http_response_t *rs) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(rq->body, rq->body_len, &end, 0), *m;
    if (!j) {
        fail(rs, 400, "bad_json", "the body is not JSON (near byte %ld)", end ? (long)(end - rq->body) : 0L);
        return;
    }
    if (!cJSON_IsObject(j)) {
        fail(rs, 400, "bad_type", "the body must be a JSON object with role and name");
        cJSON_Delete(j);
        return;
    }
    cJSON_ArrayForEach(m, j) if (strcmp(m->string, "role") != 0 && strcmp(m->string, "name") != 0) {
        fail(rs, 400, "unknown_field", "unknown field \"%s\" (a key has role and name)", m->string);
        cJSON_Delete(j);
        return;
    }
    const cJSON *role = cJSON_GetObjectItem(j, "role"), *name = cJSON_GetObjectItem(j, "name");
    if (!cJSON_IsString(role) || (name && !cJSON_IsString(name))) {
        fail(rs, 400, "bad_type", "\"role\" (admin, analyst or service) and \"name\" are strings");
        cJSON_Delete(j);
        return;
    }
    char key[48], id[16];
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_apikey_create(s->st, role->valuestring, name ? name->valuestring : NULL, key, id, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (!rc) rc = load_keys(s, &eb);
    if (rc) {
        fail(rs, rc == TL_EINVAL ? 400 : 500, rc == TL_EINVAL ? "bad_value" : "store", "%s", eb.msg);
        cJSON_Delete(j);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "role", role->valuestring);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_Delete(j);
    send_json(rs, 201, o);
}

static void delete_key(tl_server_t *s, const char *id, tl_http_response_t *rs) {
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_apikey_revoke(s->st, id, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (!rc) rc = load_keys(s, &eb); /* at once */
    if (rc) {
        fail(rs, rc == TL_ENOENT ? 404 : 500, rc == TL_ENOENT ? "not_found" : "store", "%s", eb.msg);
        return;
    }
    rs->status = 204;
    rs->content_type = "application/json";
    tl_buf_clear(&rs->body);
}

/* ---- routing --------------------------------------------------------------------------------- */

typedef struct {
    const char *method, *pattern; /* {} matches one path segment */
    int roles;                    /* 0: no key needed */
} route_t;

static const route_t ROUTES[] = {
    {"GET", "/healthz", 0},
    {"GET", "/metrics", 0},
    {"POST", "/v1/events", ROLE_ADMIN | ROLE_SERVICE},
    {"GET", "/v1/users/{}/profile", ROLE_ANY},
    {"GET", "/v1/users/{}/recommendations", ROLE_ANY},
    {"GET", "/v1/segments", ROLE_ADMIN | ROLE_ANALYST},
    {"POST", "/v1/segments", ROLE_ADMIN | ROLE_ANALYST},
    {"GET", "/v1/segments/{}", ROLE_ADMIN | ROLE_ANALYST},
    {"GET", "/v1/segments/{}/members", ROLE_ADMIN | ROLE_ANALYST},
    {"POST", "/v1/admin/reload", ROLE_ADMIN},
    {"POST", "/v1/admin/keys", ROLE_ADMIN},
    {"DELETE", "/v1/admin/keys/{}", ROLE_ADMIN},
    {"GET", "/v1/items/{}/similar", ROLE_ANY},
    {"POST", "/v1/feedback", ROLE_ADMIN | ROLE_SERVICE},
    {"PUT", "/v1/users/{}/consents/{}", ROLE_ADMIN | ROLE_SERVICE},
    {"GET", "/v1/openapi.json", 0},
    {"GET", "/v1/users/{}/offers", ROLE_ANY},
    {"POST", "/v1/campaigns", ROLE_ADMIN | ROLE_ANALYST},
    {"POST", "/v1/campaigns/{}/run", ROLE_ADMIN},
    {"GET", "/v1/campaigns/{}/report", ROLE_ADMIN | ROLE_ANALYST},
    {"GET", "/v1/users/{}/data", ROLE_ADMIN},
    {"DELETE", "/v1/users/{}", ROLE_ADMIN},
};
#define NR ((int)(sizeof ROUTES / sizeof *ROUTES))

/* Matches path against pattern; the {} segments go to args (at most 2). */
static int match(const char *pattern, const char *path, char args[2][256]) {
    int na = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t len = strcspn(path, "/");
            if (!len || len >= 256 || na == 2) return 0;
            pct_decode(path, len, 0, args[na], 256); /* ids are sent percent-encoded */
            na++, pattern += 2, path += len;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return !*pattern && !*path;
}

void tl_server_handle(tl_server_t *s, const tl_http_request_t *rq, tl_http_response_t *rs) {
    char args[2][256];
    int r = -1, path_known = 0;
    /* HEAD is answered as GET; the HTTP front sends the headers alone */
    const char *method = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
    for (int k = 0; k < NR && r < 0; k++)
        if (match(ROUTES[k].pattern, rq->path, args)) {
            path_known = 1;
            if (strcmp(ROUTES[k].method, method) == 0) r = k;
        }
    snprintf(rs->route, sizeof rs->route, "%s", r >= 0 ? ROUTES[r].pattern : "other");
    rs->content_type = "application/json";
    const char *fault = uri_fault(rq->path), *qfault = uri_fault(rq->query);
    if (!qfault) qfault = query_fault(rq->query);
    if (fault || qfault) {
        fail(rs, 400, "bad_uri", "the %s holds %s: send ids and values percent-encoded, without control characters",
             fault ? "path" : "query", fault ? fault : qfault);
        return;
    }
    if (r < 0) {
        if (path_known) fail(rs, 405, "method_not_allowed", "%s is not allowed on %s", rq->method, rq->path);
        else fail(rs, 404, "not_found", "no route %s", rq->path);
        return;
    }
    char who[16] = "";
    if (ROUTES[r].roles) {
        int role = key_role(s, rq->api_key, who);
        if (!role) {
            fail(rs, 401, "unauthorized", rq->api_key ? "the API key is not known"
                                                       : "an API key is needed: Authorization: Bearer KEY");
            return;
        }
        if (!(role & ROUTES[r].roles)) {
            fail(rs, 403, "forbidden", "this key's role may not use %s %s", rq->method, ROUTES[r].pattern);
            return;
        }
    }
    if (rq->body_len > s->max_body) {
        fail(rs, 413, "too_large", "the body is larger than %zu bytes", s->max_body);
        return;
    }
    switch (r) {
    case 0: {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "status", "ok");
        cJSON_AddNumberToObject(j, "events", (double)tl_store_event_count(s->st));
        send_json(rs, 200, j);
        break;
    }
    case 1: rs->status = 200, metrics(s, rs); break;
    case 2: post_events(s, rq, rs); break;
    case 3: get_profile(s, args[0], who, rs); break;
    case 4: get_recs(s, args[0], rq->query, rs); break;
    case 5: get_segments(s, rs); break;
    case 6: post_segment(s, rq, rs); break;
    case 7: get_segment(s, args[0], 0, rq->query, rs); break;
    case 8: get_segment(s, args[0], 1, rq->query, rs); break;
    case 10: post_key(s, rq, rs); break;
    case 12: get_similar(s, args[0], rq->query, rs); break;
    case 13: post_feedback(s, rq, rs); break;
    case 14: put_consent(s, args[0], args[1], rq, rs); break;
    case 15:
        rs->status = 200;
        tl_buf_clear(&rs->body);
        tl_buf_append(&rs->body, tl_openapi_json, strlen(tl_openapi_json));
        break;
    case 11: delete_key(s, args[0], rs); break;
    case 16: get_offers(s, args[0], rq->query, rs); break;
    case 17: post_campaign(s, rq, rs); break;
    case 18: run_campaign(s, args[0], rq, rs); break;
    case 19: get_report(s, args[0], rq->query, rs); break;
    case 20: get_user_data(s, args[0], who, rs); break;
    case 21: delete_user(s, args[0], who, rs); break;
    case 9: {
        tl_errbuf_t eb = {{0}};
        int rc = tl_server_reload(s, &eb);
        if (rc) {
            fail(rs, 500, "reload", "%s", eb.msg);
        } else {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "status", "reloaded");
            send_json(rs, 200, j);
        }
        break;
    }
    }
}
