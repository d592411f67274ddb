/* scheduler.c -- the campaigns' scheduler inside the server: a thread
 * that ticks every tick_ms, and sooner (not more than one tick in
 * TICK_GAP_MS) after events are accepted, so a trigger is decided within a
 * tick of its time; each campaign's turn holds the store and reads the
 * profiles as a run through the API does. Continuous delivery: a second
 * thread posts the outbox's records to the gateway as they fall due
 * (quiet hours ending, caps releasing, a tick deciding), holding the store
 * only between posts. Their status, pause and resume, a tick asked for at
 * a given time, and campaigns paused and resumed, over the API. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign/campaign.h"

#define TICK_GAP_MS 50 /* the least time between two ticks woken by events */

typedef struct {
    tl_server_t *s;
    recref_t *r;
} tickctx_t;

static int enter(void *arg, tl_run_env_t *env) {
    tickctx_t *t = arg;
    pthread_rwlock_wrlock(&t->s->st_rw);
    pthread_rwlock_rdlock(&t->s->prof_mu);
    env->p = t->s->prof;
    env->rec = t->r ? t->r->def.rec : NULL;
    env->rec_name = t->s->model;
    return 0;
}

static void leave(void *arg) {
    tickctx_t *t = arg;
    pthread_rwlock_unlock(&t->s->prof_mu);
    pthread_rwlock_unlock(&t->s->st_rw);
}

/* One tick at `at` (the store's clock when INT64_MIN), one at a time. */
static int tick(tl_server_t *s, int64_t at, tl_sched_stats_t *st, tl_errbuf_t *eb) {
    tickctx_t t = {s, tl__models_acquire(s)};
    tl_sched_hooks_t h = {enter, leave, &t};
    pthread_mutex_lock(&s->sched_tick_mu);
    if (at == INT64_MIN) at = tl_store_now(s->st);
    int rc = tl_sched_tick(s->sched, s->st, &h, at, st, eb);
    pthread_mutex_unlock(&s->sched_tick_mu);
    tl__models_release(s, t.r);
    return rc;
}

static void *ticker(void *arg) {
    tl_server_t *s = arg;
    int64_t last = 0;
    pthread_mutex_lock(&s->sched_mu);
    while (!s->sched_stop) {
        int64_t now = tl_time_mono_ms(), due = last + (s->sched_wake ? TICK_GAP_MS : (int64_t)s->tick_ms);
        if (now < due) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            int64_t ns = t.tv_nsec + (due - now) * 1000000;
            t.tv_sec += ns / 1000000000, t.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&s->sched_cv, &s->sched_mu, &t);
            continue;
        }
        s->sched_wake = 0;
        pthread_mutex_unlock(&s->sched_mu);
        tl_errbuf_t eb = {{0}};
        tl_sched_stats_t st = {0};
        int rc = tick(s, INT64_MIN, &st, &eb);
        if (rc) fprintf(stderr, "tailor serve: scheduler: %s\n", eb.msg[0] ? eb.msg : tl_strerror(rc));
        last = tl_time_mono_ms();
        pthread_mutex_lock(&s->sched_mu);
        if (st.decided && s->dl_running) { /* something to post now, perhaps */
            s->dl_wake = 1;
            pthread_cond_signal(&s->dl_cv);
        }
    }
    pthread_mutex_unlock(&s->sched_mu);
    return NULL;
}

/* ---- continuous delivery -------------------------------------------------------------- */

static void dl_enter(void *arg) { pthread_rwlock_wrlock(&((tl_server_t *)arg)->st_rw); }
static void dl_leave(void *arg) { pthread_rwlock_unlock(&((tl_server_t *)arg)->st_rw); }

static void deliver_pass(tl_server_t *s) {
    tl_deliver_opts_t o = {.url = s->deliver_url, .channel = -1, .retries = 3, .timeout_ms = 5000,
                           .now = tl_store_now(s->st), .enter = dl_enter, .leave = dl_leave, .lock_arg = s};
    tl_deliver_stats_t d;
    tl_errbuf_t eb = {{0}};
    int rc = tl_campaign_deliver(s->st, &o, &d, &eb);
    pthread_mutex_lock(&s->sched_mu);
    s->dl_passes++;
    s->dl_total.posted += d.posted, s->dl_total.held += d.held, s->dl_total.failed += d.failed;
    s->dl_total.retries += d.retries, s->dl_total.paused += d.paused;
    if (rc) {
        s->dl_error_at = o.now;
        snprintf(s->dl_error, sizeof s->dl_error, "%s", eb.msg[0] ? eb.msg : tl_strerror(rc));
    }
    pthread_mutex_unlock(&s->sched_mu);
}

static void *deliverer(void *arg) {
    tl_server_t *s = arg;
    unsigned every = s->tick_ms ? s->tick_ms : 250;
    pthread_mutex_lock(&s->sched_mu);
    while (!s->sched_stop) {
        if (!s->dl_wake) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            int64_t ns = t.tv_nsec + (int64_t)every * 1000000;
            t.tv_sec += ns / 1000000000, t.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&s->dl_cv, &s->sched_mu, &t);
            if (s->sched_stop) break;
        }
        s->dl_wake = 0;
        pthread_mutex_unlock(&s->sched_mu);
        deliver_pass(s);
        pthread_mutex_lock(&s->sched_mu);
    }
    pthread_mutex_unlock(&s->sched_mu);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------ */

int tl__scheduler_start(tl_server_t *s, const char *url, tl_errbuf_t *eb) {
    int rc = tl_sched_new(&s->sched);
    if (rc) return rc;
    char *set = NULL;
    if (!url && tl_store_config_get(s->st, "webhook_url", &set, eb) == 0 && set && *set) url = set;
    eb->msg[0] = 0;
    if (url && strcmp(url, "off") != 0 && !(s->deliver_url = strdup(url))) rc = TL_ENOMEM;
    free(set);
    if (!rc && s->tick_ms && pthread_create(&s->sched_th, NULL, ticker, s) == 0) s->sched_running = 1;
    else if (!rc && s->tick_ms) rc = TL_ENOMEM;
    if (!rc && s->deliver_url && pthread_create(&s->dl_th, NULL, deliverer, s) == 0) s->dl_running = 1;
    else if (!rc && s->deliver_url) rc = TL_ENOMEM;
    if (rc == TL_ENOMEM) tl_errbuf_set(eb, "cannot start the scheduler's threads");
    return rc;
}

void tl__scheduler_stop(tl_server_t *s) {
    pthread_mutex_lock(&s->sched_mu);
    s->sched_stop = 1;
    pthread_cond_signal(&s->sched_cv);
    pthread_cond_signal(&s->dl_cv);
    pthread_mutex_unlock(&s->sched_mu);
    if (s->sched_running) pthread_join(s->sched_th, NULL);
    if (s->dl_running) pthread_join(s->dl_th, NULL);
    s->sched_running = s->dl_running = 0;
    tl_sched_free(s->sched);
    s->sched = NULL;
}

void tl__scheduler_wake(tl_server_t *s) {
    if (!s->sched_running) return;
    pthread_mutex_lock(&s->sched_mu);
    s->sched_wake = 1;
    pthread_cond_signal(&s->sched_cv);
    pthread_mutex_unlock(&s->sched_mu);
}

/* ---- routes ------------------------------------------------------------------------- */

void tl__scheduler_get(tl_srv_req_t *r) {
    tl_server_t *s = r->s;
    cJSON *j = tl_sched_json(s->sched);
    cJSON_AddBoolToObject(j, "running", s->sched_running);
    cJSON_AddNumberToObject(j, "tick_ms", s->tick_ms);
    cJSON *d = cJSON_CreateObject();
    pthread_mutex_lock(&s->sched_mu);
    cJSON_AddBoolToObject(d, "running", s->dl_running);
    cJSON_AddNumberToObject(d, "passes", (double)s->dl_passes);
    cJSON_AddNumberToObject(d, "posted", (double)s->dl_total.posted);
    cJSON_AddNumberToObject(d, "held", (double)s->dl_total.held);
    cJSON_AddNumberToObject(d, "failed", (double)s->dl_total.failed);
    cJSON_AddNumberToObject(d, "retries", (double)s->dl_total.retries);
    cJSON_AddNumberToObject(d, "paused", (double)s->dl_total.paused);
    if (s->dl_error[0]) {
        char ts[32];
        cJSON *le = cJSON_CreateObject();
        tl_time_format(s->dl_error_at, ts);
        cJSON_AddStringToObject(le, "at", ts);
        cJSON_AddStringToObject(le, "message", s->dl_error);
        cJSON_AddItemToObject(d, "last_error", le);
    } else {
        cJSON_AddNullToObject(d, "last_error");
    }
    pthread_mutex_unlock(&s->sched_mu);
    cJSON_AddItemToObject(j, "delivery", d);
    tl__server_json(r->rs, 200, j);
}

void tl__scheduler_pause(tl_srv_req_t *r) {
    tl_sched_pause(r->s->sched, 1);
    tl__scheduler_get(r);
}

void tl__scheduler_resume(tl_srv_req_t *r) {
    tl_sched_pause(r->s->sched, 0);
    tl__scheduler_get(r);
}

/* A tick now, or at "at" (a time the clock has not reached, to see what
 * would be done then, or one it has passed: runs go forward only). */
void tl__scheduler_tick(tl_srv_req_t *r) {
    tl_server_t *s = r->s;
    int64_t at = INT64_MIN;
    const cJSON *m;
    cJSON_ArrayForEach(m, r->body) {
        if (strcmp(m->string, "at") != 0) {
            tl__server_fail(r->rs, 400, "unknown_field", "unknown field \"%s\" (a tick takes at)", m->string);
            return;
        }
        if (!cJSON_IsString(m) || tl_time_parse(m->valuestring, strlen(m->valuestring), &at)) {
            tl__server_fail(r->rs, 400, "bad_type", "\"at\": a time such as 2025-11-30T20:00:00Z");
            return;
        }
    }
    if (tl_sched_paused(s->sched)) {
        tl__server_fail(r->rs, 409, "paused", "the scheduler is paused (POST /v1/scheduler/resume)");
        return;
    }
    tl_sched_stats_t st;
    tl_errbuf_t eb = {{0}};
    int rc = tick(s, at, &st, &eb);
    if (rc) {
        tl__server_fail_write(r->rs, rc, "internal", eb.msg[0] ? eb.msg : tl_strerror(rc));
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "runs", (double)st.ran);
    cJSON_AddNumberToObject(j, "decided", (double)st.decided);
    cJSON_AddNumberToObject(j, "failed_campaigns", (double)st.errors);
    tl__server_json(r->rs, 200, j);
}

static void set_status(tl_srv_req_t *r, const char *status) {
    tl_errbuf_t eb = {{0}};
    int rc = tl_campaign_set_status(r->s->st, r->arg[0], status, &eb);
    if (rc) {
        tl__server_fail_read(r->rs, rc, eb.msg);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", r->arg[0]);
    cJSON_AddStringToObject(j, "status", status);
    tl__server_json(r->rs, 200, j);
}

void tl__campaigns_pause(tl_srv_req_t *r) { set_status(r, "paused"); }
void tl__campaigns_resume(tl_srv_req_t *r) { set_status(r, "active"); }

void tl__scheduler_metrics(tl_server_t *s, tl_buf_t *b) {
    tl_sched_totals_t tt;
    tl_sched_totals(s->sched, &tt);
    uint64_t ticks = tt.ticks, runs = tt.runs, errors = tt.errors, *by = tt.by_decision;
    tl_buf_printf(b, "# HELP tailor_scheduler_ticks_total Passes of the campaigns' scheduler.\n"
                     "# TYPE tailor_scheduler_ticks_total counter\ntailor_scheduler_ticks_total %llu\n"
                     "# HELP tailor_scheduler_runs_total Campaign runs the scheduler made.\n"
                     "# TYPE tailor_scheduler_runs_total counter\ntailor_scheduler_runs_total %llu\n"
                     "# HELP tailor_scheduler_errors_total Campaign turns of the scheduler that failed.\n"
                     "# TYPE tailor_scheduler_errors_total counter\ntailor_scheduler_errors_total %llu\n"
                     "# HELP tailor_scheduler_decisions_total Decisions the scheduler's runs made, by kind.\n"
                     "# TYPE tailor_scheduler_decisions_total counter\n",
                  (unsigned long long)ticks, (unsigned long long)runs, (unsigned long long)errors);
    for (int d = 0; d < TL_DEC__N; d++)
        tl_buf_printf(b, "tailor_scheduler_decisions_total{decision=\"%s\"} %llu\n", tl_decision_name(d),
                      (unsigned long long)by[d]);
    tl_buf_printf(b, "# HELP tailor_scheduler_trigger_lag_seconds From a trigger's decision time (its event's, "
                     "plus the unless window) to the run that decided it.\n"
                     "# TYPE tailor_scheduler_trigger_lag_seconds histogram\n");
    uint64_t cum = 0;
    for (int k = 0; k < TL_LAG_BUCKETS; k++) {
        cum += tt.lag_hist[k];
        if (k < TL_LAG_BUCKETS - 1)
            tl_buf_printf(b, "tailor_scheduler_trigger_lag_seconds_bucket{le=\"%g\"} %llu\n", TL_LAG_BOUNDS[k],
                          (unsigned long long)cum);
        else
            tl_buf_printf(b, "tailor_scheduler_trigger_lag_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    tl_buf_printf(b, "tailor_scheduler_trigger_lag_seconds_sum %.3f\ntailor_scheduler_trigger_lag_seconds_count %llu\n",
                  (double)tt.lag_ms_sum / 1000, (unsigned long long)cum);
    pthread_mutex_lock(&s->sched_mu);
    tl_deliver_stats_t t = s->dl_total;
    pthread_mutex_unlock(&s->sched_mu);
    tl_buf_printf(b, "# HELP tailor_deliveries_total Outbox records the server's delivery handled, by outcome.\n"
                     "# TYPE tailor_deliveries_total counter\n"
                     "tailor_deliveries_total{status=\"posted\"} %llu\ntailor_deliveries_total{status=\"held\"} %llu\n"
                     "tailor_deliveries_total{status=\"failed\"} %llu\ntailor_deliveries_total{status=\"paused\"} %llu\n"
                     "tailor_deliveries_total{status=\"retried\"} %llu\n",
                  (unsigned long long)t.posted, (unsigned long long)t.held, (unsigned long long)t.failed,
                  (unsigned long long)t.paused, (unsigned long long)t.retries);
}
