/* server.c -- the core of the API: the server's state (opened, built and
 * freed), the route table whose rows carry their handlers, the dispatch
 * through it (path, method, API key and role, body size, the user the path
 * names, the body, the store held, then the row's proc and its audit
 * entry), and the JSON answers every handler gives.
 *
 * The handlers live by resource: events.c (events, feedback), users.c
 * (profiles, recommendations, offers, consents, subject access, erasure),
 * segments.c, campaigns.c and admin.c (keys, reload, metrics, the OpenAPI
 * document); apikey.c holds the keys and models.c the recommender served.
 * How the locks are taken is told in server_int.h.
 *
 * A new route is a row of ROUTES: its handler goes in its resource's file
 * (declared in server_int.h); the row names what the JSON body must be,
 * whether the path's first id is a user who must exist, whether the
 * handler runs with the store held, and what a success records in the
 * audit log, so the handler gets all that done and only does its work. */
#include "server_int.h"

#include <cblas.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privacy/privacy.h"
#include "segment/segment.h"

/* ---- responses --------------------------------------------------------------------- */

void tl__server_json(tl_http_response_t *rs, int status, cJSON *j) {
    char *t = cJSON_PrintUnformatted(j);
    rs->status = status;
    rs->content_type = "application/json";
    tl_buf_clear(&rs->body);
    if (t) tl_buf_append(&rs->body, t, strlen(t));
    cJSON_free(t);
    cJSON_Delete(j);
}

void tl__server_fail(tl_http_response_t *rs, int status, const char *code, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "status", status);
    cJSON_AddStringToObject(j, "code", code);
    cJSON_AddStringToObject(j, "message", msg);
    tl__server_json(rs, status, j);
}

/* A server store that lost its connection did nothing: the request may
 * be sent again once it is back (503, as for a server shutting down). */
void tl__server_fail_write(tl_http_response_t *rs, int rc, const char *code, const char *msg) {
    if (rc == TL_ENOSPC) tl__server_fail(rs, 507, "no_space", "no space left on device: %s", msg);
    else if (rc == TL_ELOST) tl__server_fail(rs, 503, "store_unavailable", "%s", msg);
    else tl__server_fail(rs, 500, code, "%s", msg);
}

void tl__server_fail_read(tl_http_response_t *rs, int rc, const char *msg) {
    if (rc == TL_ENOENT) tl__server_fail(rs, 404, "not_found", "%s", msg);
    else if (rc == TL_ELOST) tl__server_fail(rs, 503, "store_unavailable", "%s", msg);
    else tl__server_fail(rs, 500, "store", "%s", msg);
}

/* The store again, read-only, for work that reads much and long (an
 * evaluation, a training, profiles of the past): the server's own handle
 * stays free for the requests meanwhile, as for any other reader. */
int tl__server_reader(tl_server_t *s, tl_store_t **out, tl_errbuf_t *eb) {
    return tl_store_open_conf(s->dir, &s->conf, TL_STORE_READONLY, out, eb);
}

/* ---- setup ---------------------------------------------------------------------------------- */

int tl_server_new(const tl_server_opts_t *o, tl_server_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    if (sodium_init() < 0) {
        tl_errbuf_set(eb, "libsodium cannot start");
        return TL_ECRYPTO;
    }
    openblas_set_num_threads(1); /* requests are the parallelism: no BLAS threads per call */
    tl_server_t *s = calloc(1, sizeof *s);
    if (!s) return TL_ENOMEM;
    s->dir = strdup(o->data_dir);
    s->model = strdup(o->model ? o->model : tl_model_default(TL_MODEL_FOR_SERVE));
    s->policy = o->policy ? strdup(o->policy) : NULL;
    s->max_body = o->max_body ? o->max_body : (16u << 20);
    if (o->store) s->conf = *o->store;
    else tl_store_conf_init(&s->conf);
    if (s->conf.key) {
        memcpy(s->key, s->conf.key, sizeof s->key);
        s->conf.key = s->key;
    }
    pthread_rwlock_init(&s->st_rw, NULL), pthread_mutex_init(&s->ref_mu, NULL);
    pthread_mutex_init(&s->route_mu, NULL), pthread_mutex_init(&s->ev_mu, NULL);
    pthread_cond_init(&s->ev_cv, NULL);
    pthread_mutex_init(&s->follow_mu, NULL), pthread_cond_init(&s->follow_cv, NULL);
    pthread_rwlock_init(&s->prof_mu, NULL), pthread_rwlock_init(&s->key_mu, NULL);
    pthread_mutex_init(&s->sched_mu, NULL), pthread_mutex_init(&s->sched_tick_mu, NULL);
    pthread_cond_init(&s->sched_cv, NULL), pthread_cond_init(&s->dl_cv, NULL);
    s->tick_ms = o->no_scheduler ? 0 : o->tick_ms ? o->tick_ms : 250;
    int rc = s->dir && s->model && (s->policy || !o->policy) ? 0 : TL_ENOMEM;
    if (!rc) rc = tl_store_open_conf(s->dir, &s->conf, TL_STORE_CREATE, &s->st, eb);
    /* loaded now, so readers under the shared lock never load one */
    for (int k = 0; !rc && k < TL_D__N; k++)
        if (!tl_store_dict(s->st, (tl_dkind_t)k, eb)) rc = TL_ENOMEM;
    /* the identity rules, and the pseudonym secret read once, so finding
     * an identifier under the shared lock reads nothing from the store */
    char ps[33];
    if (!rc) rc = tl_identity_rules_get(s->st, &s->rules, eb);
    if (!rc) rc = tl_store_pseudonym(s->st, "", 0, ps, eb);
    tl_profile_opts_t po;
    tl_profile_opts_default(&po);
    if (!rc) rc = tl_segment_profiles_build(s->st, &po, &s->prof, eb);
    if (!rc) {
        s->applied = tl_store_event_count(s->st);
        s->as_of = tl_profile_as_of(s->prof);
        rc = tl__identify_withdrawn(s);
        if (!rc) rc = tl_scenes_new(TL_NONE, &s->scenes);
    }
    if (!rc) rc = tl_scenes_scan(s->scenes, s->st, eb);
    if (!rc) rc = tl__apikey_load(s, eb);
    if (!rc) rc = tl__models_load(s, eb);
    if (!rc) rc = tl__events_follow_start(s, eb);
    if (!rc) rc = tl__scheduler_start(s, o->deliver_url, eb);
    if (rc) tl_server_free(s);
    else *out = s;
    return rc;
}

void tl_server_free(tl_server_t *s) {
    if (!s) return;
    tl__scheduler_stop(s);
    tl__events_follow_stop(s);
    if (s->rec) atomic_store(&s->rec->stop, 1);
    /* the filler holds its own reference: wait for it to drop it */
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&s->ref_mu);
        int others = s->rec ? s->rec->refs > 1 : 0;
        pthread_mutex_unlock(&s->ref_mu);
        if (!others) break;
        usleep(10000);
    }
    tl__models_release(s, s->rec);
    tl_profile_free(s->prof);
    tl_scenes_free(s->scenes);
    tl_store_close(s->st);
    free(s->withdrawn);
    free(s->keys);
    pthread_rwlock_destroy(&s->st_rw), pthread_mutex_destroy(&s->ref_mu);
    pthread_mutex_destroy(&s->route_mu), pthread_mutex_destroy(&s->ev_mu);
    pthread_cond_destroy(&s->ev_cv);
    pthread_mutex_destroy(&s->follow_mu), pthread_cond_destroy(&s->follow_cv);
    pthread_rwlock_destroy(&s->prof_mu), pthread_rwlock_destroy(&s->key_mu);
    pthread_mutex_destroy(&s->sched_mu), pthread_mutex_destroy(&s->sched_tick_mu);
    pthread_cond_destroy(&s->sched_cv), pthread_cond_destroy(&s->dl_cv);
    free(s->deliver_url);
    free(s->dir), free(s->model), free(s->policy);
    sodium_memzero(s->key, sizeof s->key);
    free(s);
}

uint32_t tl__server_user(tl_server_t *s, const char *id, char key[256], tl_errbuf_t *eb) {
    pthread_rwlock_rdlock(&s->st_rw);
    uint32_t u = TL_NONE;
    if (tl_identity_find(s->st, &s->rules, id, &u, eb)) {
        u = TL_NONE;
    } else if (key) {
        size_t n = 0;
        tl_dict_t *users = tl_store_dict(s->st, TL_D_USER, eb);
        const char *k = users ? tl_dict_str(users, u, &n) : NULL;
        snprintf(key, 256, "%.*s", k ? (int)n : 0, k ? k : "");
    }
    pthread_rwlock_unlock(&s->st_rw);
    return u;
}

int tl__server_audit(tl_server_t *s, const char *who, const char *what, const char *target, tl_errbuf_t *eb) {
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_audit_add(s->st, who, what, target, eb);
    pthread_rwlock_unlock(&s->st_rw);
    return rc;
}

/* ---- routing --------------------------------------------------------------------------------- */

/* The JSON bodies the routes read, and what each answers when it is not one. */
static const char *const SEGMENT_FIELDS[] = {"name", "expression", NULL};
static const tl_srv_body_t SEGMENT_BODY = {BODY_OBJECT | BODY_TYPE_APART, "a JSON object with name and expression",
                                           SEGMENT_FIELDS, "a segment has name and expression"};
static const char *const KEY_FIELDS[] = {"role", "name", NULL};
static const tl_srv_body_t KEY_BODY = {BODY_OBJECT | BODY_TYPE_APART, "a JSON object with role and name",
                                       KEY_FIELDS, "a key has role and name"};
static const char *const CONSENT_FIELDS[] = {"granted", "at", NULL};
static const tl_srv_body_t CONSENT_BODY = {BODY_OBJECT, "a JSON object such as {\"granted\":true}",
                                           CONSENT_FIELDS, "a consent has granted and at"};
/* a run's fields are checked with their types, in the order sent */
static const tl_srv_body_t RUN_BODY = {BODY_OBJECT | BODY_OPTIONAL, "a JSON object such as {\"dry_run\":true}",
                                       NULL, NULL};
static const tl_srv_body_t FEEDBACK_BODY = {BODY_OBJECT | BODY_ARRAY, "a JSON object or array of feedback", NULL,
                                            NULL};
static const char *const IDENTIFY_FIELDS[] = {"user", "alias", "at", NULL};
static const tl_srv_body_t IDENTIFY_BODY = {BODY_OBJECT | BODY_TYPE_APART,
                                            "a JSON object such as {\"user\":\"u1\",\"alias\":\"device:9f2c\"}",
                                            IDENTIFY_FIELDS, "an identify call has user, alias and at"};
static const tl_srv_body_t CAMPAIGN_BODY = {BODY_OBJECT | BODY_LIBRARY_PARSES, "a campaign definition", NULL, NULL};
static const char *const SIZE_FIELDS[] = {"expression", NULL};
static const tl_srv_body_t SIZE_BODY = {BODY_OBJECT | BODY_TYPE_APART, "a JSON object such as {\"expression\":\"orders > 2\"}",
                                        SIZE_FIELDS, "a size asks for expression"};
static const char *const EVAL_FIELDS[] = {"model", "by", "test_days", "k", NULL};
static const tl_srv_body_t EVAL_BODY = {BODY_OBJECT | BODY_OPTIONAL, "a JSON object such as {\"model\":\"ials\",\"by\":\"age\"}",
                                        EVAL_FIELDS, "an evaluation has model, by, test_days and k"};
static const char *const TRAIN_FIELDS[] = {"model", "name", NULL};
static const tl_srv_body_t TRAIN_BODY = {BODY_OBJECT | BODY_OPTIONAL, "a JSON object such as {\"model\":\"ials\"}",
                                         TRAIN_FIELDS, "a training has model and name"};
static const char *const TICK_FIELDS[] = {"at", NULL};
static const tl_srv_body_t TICK_BODY = {BODY_OBJECT | BODY_OPTIONAL, "a JSON object such as {\"at\":\"2025-11-30T20:00:00Z\"}",
                                        TICK_FIELDS, "a tick has at"};

/* Each row: method, path, roles, handler, body, what the handler needs
 * (NEED_*), and what a success does to the path's first id for the audit log. */
static const tl_srv_route_t ROUTES[] = {
    {"GET", "/healthz", 0, tl__admin_health, NULL, 0, NULL},
    {"GET", "/metrics", 0, tl__admin_metrics, NULL, 0, NULL},
    {"GET", "/v1/openapi.json", 0, tl__admin_openapi, NULL, 0, NULL},
    /* JSON Lines or an array, row by row */
    {"GET", "/v1/me", ROLE_ANY, tl__apikey_me, NULL, 0, NULL},
    {"GET", "/v1/overview", ROLE_ADMIN | ROLE_ANALYST, tl__overview_get, NULL, NEED_STORE, NULL},
    {"GET", "/v1/imports", ROLE_ADMIN | ROLE_ANALYST, tl__data_imports, NULL, NEED_STORE, NULL},
    {"GET", "/v1/quarantine", ROLE_ADMIN | ROLE_ANALYST, tl__data_quarantine, NULL, NEED_STORE, NULL},
    {"GET", "/v1/insights/drift", ROLE_ADMIN | ROLE_ANALYST, tl__data_drift, NULL, 0, NULL},
    {"POST", "/v1/events", ROLE_ADMIN | ROLE_SERVICE, tl__events_post, NULL, 0, NULL},
    {"POST", "/v1/feedback", ROLE_ADMIN | ROLE_SERVICE, tl__events_feedback, &FEEDBACK_BODY, 0, NULL},
    {"POST", "/v1/identify", ROLE_ADMIN | ROLE_SERVICE, tl__identify_post, &IDENTIFY_BODY, 0, NULL},
    /* any identifier, answered with its person */
    {"GET", "/v1/users/{}", ROLE_ANY, tl__users_person, NULL, NEED_USER | NEED_STORE, "read profile"},
    {"GET", "/v1/users/{}/profile", ROLE_ANY, tl__users_profile, NULL, NEED_USER | NEED_STORE, "read profile"},
    {"GET", "/v1/users/{}/events", ROLE_ADMIN | ROLE_ANALYST, tl__users_events, NULL, NEED_USER | NEED_STORE, "read events"},
    {"GET", "/v1/users/{}/identity", ROLE_ADMIN | ROLE_ANALYST, tl__identify_get, NULL, NEED_USER, "read identities"},
    {"GET", "/v1/users/{}/summary", ROLE_ADMIN | ROLE_ANALYST, tl__users_summary, NULL, NEED_USER | NEED_STORE, "read profile"},
    {"GET", "/v1/users/{}/recommendations", ROLE_ANY, tl__users_recommendations, NULL, 0, NULL},
    {"GET", "/v1/items/{}/similar", ROLE_ANY, tl__users_similar, NULL, 0, NULL},
    {"GET", "/v1/users/{}/offers", ROLE_ANY, tl__users_offers, NULL, 0, NULL},
    {"PUT", "/v1/users/{}/consents/{}", ROLE_ADMIN | ROLE_SERVICE, tl__users_consent, &CONSENT_BODY, 0, NULL},
    {"GET", "/v1/users/{}/data", ROLE_ADMIN, tl__users_data, NULL, NEED_STORE, NULL}, /* the export records its read */
    {"DELETE", "/v1/users/{}", ROLE_ADMIN, tl__users_erase, NULL, 0, NULL}, /* audited with the erasure */
    {"GET", "/v1/segments", ROLE_ADMIN | ROLE_ANALYST, tl__segments_list, NULL, NEED_STORE, NULL},
    {"POST", "/v1/segments", ROLE_ADMIN | ROLE_ANALYST, tl__segments_post, &SEGMENT_BODY, 0, NULL},
    {"GET", "/v1/insights/segments", ROLE_ADMIN | ROLE_ANALYST, tl__segments_insights, NULL, NEED_STORE, NULL},
    {"POST", "/v1/segments/size", ROLE_ADMIN | ROLE_ANALYST, tl__segments_size, &SIZE_BODY, 0, NULL},
    {"GET", "/v1/segments/{}", ROLE_ADMIN | ROLE_ANALYST, tl__segments_get, NULL, 0, NULL},
    {"GET", "/v1/segments/{}/history", ROLE_ADMIN | ROLE_ANALYST, tl__segments_history, NULL, 0, NULL},
    {"GET", "/v1/segments/{}/members", ROLE_ADMIN | ROLE_ANALYST, tl__segments_members, NULL, 0, NULL},
    {"GET", "/v1/campaigns", ROLE_ADMIN | ROLE_ANALYST, tl__campaigns_list, NULL, NEED_STORE, NULL},
    {"GET", "/v1/campaigns/{}", ROLE_ADMIN | ROLE_ANALYST, tl__campaigns_get, NULL, NEED_STORE, NULL},
    {"POST", "/v1/campaigns", ROLE_ADMIN | ROLE_ANALYST, tl__campaigns_post, &CAMPAIGN_BODY, NEED_STORE, NULL},
    {"POST", "/v1/campaigns/{}/run", ROLE_ADMIN, tl__campaigns_run, &RUN_BODY, NEED_STORE, NULL},
    {"GET", "/v1/campaigns/{}/report", ROLE_ADMIN | ROLE_ANALYST, tl__campaigns_report, NULL, NEED_STORE, NULL},
    {"GET", "/v1/campaigns/{}/journey", ROLE_ADMIN | ROLE_ANALYST, tl__campaigns_journey, NULL, NEED_STORE, NULL},
    {"POST", "/v1/campaigns/{}/pause", ROLE_ADMIN | ROLE_ANALYST, tl__campaigns_pause, NULL, NEED_STORE, NULL},
    {"POST", "/v1/campaigns/{}/resume", ROLE_ADMIN | ROLE_ANALYST, tl__campaigns_resume, NULL, NEED_STORE, NULL},
    {"GET", "/v1/scheduler", ROLE_ADMIN | ROLE_ANALYST, tl__scheduler_get, NULL, 0, NULL},
    {"POST", "/v1/scheduler/pause", ROLE_ADMIN, tl__scheduler_pause, NULL, 0, NULL},
    {"POST", "/v1/scheduler/resume", ROLE_ADMIN, tl__scheduler_resume, NULL, 0, NULL},
    /* takes the store per campaign itself */
    {"POST", "/v1/scheduler/tick", ROLE_ADMIN, tl__scheduler_tick, &TICK_BODY, 0, NULL},
    {"GET", "/v1/models", ROLE_ADMIN | ROLE_ANALYST, tl__models_get, NULL, NEED_STORE, NULL},
    {"POST", "/v1/models/evaluate", ROLE_ADMIN | ROLE_ANALYST, tl__models_evaluate, &EVAL_BODY, 0, NULL},
    {"POST", "/v1/models/train", ROLE_ADMIN, tl__models_train, &TRAIN_BODY, 0, NULL},
    {"POST", "/v1/admin/reload", ROLE_ADMIN, tl__admin_reload, NULL, 0, NULL},
    {"POST", "/v1/admin/keys", ROLE_ADMIN, tl__admin_key_post, &KEY_BODY, 0, NULL},
    {"DELETE", "/v1/admin/keys/{}", ROLE_ADMIN, tl__admin_key_delete, NULL, 0, NULL},
};
#define NR ((int)(sizeof ROUTES / sizeof *ROUTES))

void tl_server_handle(tl_server_t *s, const tl_http_request_t *rq, tl_http_response_t *rs) {
    char args[2][256];
    const tl_srv_route_t *rt = NULL;
    int path_known = 0;
    /* HEAD is answered as GET; the HTTP front sends the headers alone */
    const char *method = strcmp(rq->method, "HEAD") == 0 ? "GET" : rq->method;
    if (tl__console_serve(rq, rs)) return;
    for (int k = 0; k < NR && !rt; k++)
        if (tl__request_match(ROUTES[k].pattern, rq->path, args)) {
            path_known = 1;
            if (strcmp(ROUTES[k].method, method) == 0) rt = &ROUTES[k];
        }
    snprintf(rs->route, sizeof rs->route, "%s", rt ? rt->pattern : "other");
    rs->content_type = "application/json";
    const char *fault = tl__request_uri_fault(rq->path), *qfault = tl__request_uri_fault(rq->query);
    if (!qfault) qfault = tl__request_query_fault(rq->query);
    if (fault || qfault) {
        tl__server_fail(rs, 400, "bad_uri", "the %s holds %s: send ids and values percent-encoded, without control characters",
                        fault ? "path" : "query", fault ? fault : qfault);
        return;
    }
    if (!rt) {
        if (path_known) tl__server_fail(rs, 405, "method_not_allowed", "%s is not allowed on %s", rq->method, rq->path);
        else tl__server_fail(rs, 404, "not_found", "no route %s", rq->path);
        return;
    }
    char who[16] = "";
    if (rt->roles) {
        int role = tl__apikey_role(s, rq->api_key, who);
        if (!role) {
            tl__server_fail(rs, 401, "unauthorized", rq->api_key ? "the API key is not known"
                                                                  : "an API key is needed: Authorization: Bearer KEY");
            return;
        }
        if (!(role & rt->roles)) {
            tl__server_fail(rs, 403, "forbidden", "this key's role may not use %s %s", rq->method, rt->pattern);
            return;
        }
    }
    if (rq->body_len > s->max_body) {
        tl__server_fail(rs, 413, "too_large", "the body is larger than %zu bytes", s->max_body);
        return;
    }
    tl_srv_req_t r = {.s = s, .rq = rq, .rs = rs, .arg = {args[0], args[1]}, .who = who, .user = TL_NONE};
    if (rt->needs & NEED_USER) {
        tl_errbuf_t eb = {{0}};
        r.user = tl__server_user(s, r.arg[0], r.user_key, &eb);
        if (r.user == TL_NONE) {
            tl__server_fail(rs, 404, "not_found", "%s", eb.msg);
            return;
        }
    }
    if (rt->body && tl__request_body(&r, rt->body)) return;
    if (rt->needs & NEED_STORE) pthread_rwlock_wrlock(&s->st_rw);
    rt->proc(&r);
    if (rt->needs & NEED_STORE) pthread_rwlock_unlock(&s->st_rw);
    cJSON_Delete(r.body);
    if (rt->audit && rs->status >= 200 && rs->status < 300) {
        /* a read that cannot be put on the record is not answered */
        tl_errbuf_t eb = {{0}};
        int rc = tl__server_audit(s, who, rt->audit, rt->needs & NEED_USER ? r.user_key : r.arg[0], &eb);
        if (rc) tl__server_fail_write(rs, rc, "audit", eb.msg[0] ? eb.msg : tl_strerror(rc));
    }
}
