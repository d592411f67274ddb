/* admin.c -- the API's own upkeep: health, Prometheus metrics (every
 * finished request counted by route and status, with a histogram of the
 * time to answer), the OpenAPI document, reload without stopping, and API
 * keys made and revoked through the API (the store is this process's
 * while it serves). */
#include "server_int.h"

#include <stdio.h>
#include <string.h>

extern const char tl_openapi_json[]; /* docs/openapi.json, built in (CMake) */

/* ---- metrics ------------------------------------------------------------------------ */

static const int STATUSES[NSTATUS] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 500, 503, 507};
static const double BUCKETS[NBUCKETS - 1] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                             0.1, 0.25, 0.5, 1};

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

void tl__admin_metrics(tl_srv_req_t *q) {
    tl_server_t *s = q->s;
    tl_http_response_t *rs = q->rs;
    tl_buf_t *b = &rs->body;
    rs->status = 200;
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
    tl__scheduler_metrics(s, b);
}

/* ---- keys through the API (the store is this process's while it serves) ------------------ */

void tl__admin_key_post(tl_srv_req_t *r) {
    tl_server_t *s = r->s;
    tl_http_response_t *rs = r->rs;
    const cJSON *j = r->body;
    const cJSON *role = cJSON_GetObjectItem(j, "role"), *name = cJSON_GetObjectItem(j, "name");
    if (!cJSON_IsString(role) || (name && !cJSON_IsString(name))) {
        tl__server_fail(rs, 400, "bad_type", "\"role\" (admin, analyst or service) and \"name\" are strings");
        return;
    }
    char key[48], id[16];
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_apikey_create(s->st, role->valuestring, name ? name->valuestring : NULL, key, id, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (!rc) rc = tl__apikey_load(s, &eb);
    if (rc) {
        tl__server_fail(rs, rc == TL_EINVAL ? 400 : 500, rc == TL_EINVAL ? "bad_value" : "store", "%s", eb.msg);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "role", role->valuestring);
    cJSON_AddStringToObject(o, "key", key);
    tl__server_json(rs, 201, o);
}

void tl__admin_key_delete(tl_srv_req_t *r) {
    tl_server_t *s = r->s;
    const char *id = r->arg[0];
    tl_http_response_t *rs = r->rs;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_apikey_revoke(s->st, id, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (!rc) rc = tl__apikey_load(s, &eb); /* at once */
    if (rc) {
        tl__server_fail_read(rs, rc, eb.msg);
        return;
    }
    rs->status = 204;
    rs->content_type = "application/json";
    tl_buf_clear(&rs->body);
}

/* ---- health, the API's description, reload ----------------------------------------------- */

void tl__admin_health(tl_srv_req_t *r) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "ok");
    cJSON_AddNumberToObject(j, "events", (double)tl_store_event_count(r->s->st));
    tl__server_json(r->rs, 200, j);
}

void tl__admin_openapi(tl_srv_req_t *r) {
    r->rs->status = 200;
    tl_buf_clear(&r->rs->body);
    tl_buf_append(&r->rs->body, tl_openapi_json, strlen(tl_openapi_json));
}

void tl__admin_reload(tl_srv_req_t *r) {
    tl_errbuf_t eb = {{0}};
    int rc = tl_server_reload(r->s, &eb);
    if (rc) {
        tl__server_fail(r->rs, 500, "reload", "%s", eb.msg);
    } else {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "status", "reloaded");
        tl__server_json(r->rs, 200, j);
    }
}
