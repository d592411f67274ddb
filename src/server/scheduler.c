/* scheduler.c -- the campaigns' scheduler inside the server: a thread
 * that ticks every tick_ms, and sooner (not more than one tick in
 * TICK_GAP_MS) after events are accepted, so a trigger is decided within a
 * tick of its time; each campaign's turn holds the store and reads the
 * profiles as a run through the API does. Its status, pause and resume,
 * a tick asked for at a given time, and campaigns paused and resumed, over
 * the API. */
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

static int64_t mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *ticker(void *arg) {
    tl_server_t *s = arg;
    int64_t last = 0;
    pthread_mutex_lock(&s->sched_mu);
    while (!s->sched_stop) {
        int64_t now = mono_ms(), due = last + (s->sched_wake ? TICK_GAP_MS : (int64_t)s->tick_ms);
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
        int rc = tick(s, INT64_MIN, NULL, &eb);
        if (rc) fprintf(stderr, "tailor serve: scheduler: %s\n", eb.msg[0] ? eb.msg : tl_strerror(rc));
        last = mono_ms();
        pthread_mutex_lock(&s->sched_mu);
    }
    pthread_mutex_unlock(&s->sched_mu);
    return NULL;
}

int tl__scheduler_start(tl_server_t *s, tl_errbuf_t *eb) {
    int rc = tl_sched_new(&s->sched);
    if (rc) return rc;
    if (!s->tick_ms) return 0; /* no thread: ticks only when asked */
    if (pthread_create(&s->sched_th, NULL, ticker, s)) {
        tl_errbuf_set(eb, "cannot start the scheduler's thread");
        return TL_ENOMEM;
    }
    s->sched_running = 1;
    return 0;
}

void tl__scheduler_stop(tl_server_t *s) {
    if (s->sched_running) {
        pthread_mutex_lock(&s->sched_mu);
        s->sched_stop = 1;
        pthread_cond_signal(&s->sched_cv);
        pthread_mutex_unlock(&s->sched_mu);
        pthread_join(s->sched_th, NULL);
        s->sched_running = 0;
    }
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
    uint64_t ticks, runs, errors, by[TL_DEC__N];
    tl_sched_totals(s->sched, &ticks, &runs, &errors, by);
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
}
