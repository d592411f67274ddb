/* scheduler.c -- campaigns that run by themselves: at each tick, every
 * active campaign, the highest priority first, is asked whether it is due
 * (tl_campaign_due: a scheduled occurrence not yet run, or a trigger
 * campaign with events it has not read or a trigger whose time has come)
 * and, when it is, run at the tick's time as `campaign run` would run it.
 * A trigger campaign's tick that decides no one records no run, only how
 * far it read. Everything a run decides is committed with the run, so the
 * scheduler keeps no state of its own that a restart could lose: a
 * restarted scheduler asks the store again, and every due decision is made
 * once. What it keeps in memory is what it has done, for its status.
 *
 * The caller gives the time and, through hooks, the locks a shared store
 * and profiles need (the server's) around each campaign's turn. */
#include "campaign.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char id[65];
    int trigger;               /* a trigger campaign or a journey (else a scheduled one) */
    char kind[16];             /* tl_campaign_kind */
    int live;                  /* active in the last tick's list */
    tl_due_t due;
    uint64_t runs, decided, delivered, late;
    uint64_t by_decision[TL_DEC__N];
    uint64_t last_run;
    int64_t last_at;           /* the last run's time (INT64_MIN: none) */
    uint64_t errors;
    int64_t error_at;
    char error[sizeof ((tl_errbuf_t *)0)->msg];
} schedcamp_t;

struct tl_sched {
    pthread_mutex_t mu;        /* everything below: ticks and status readers */
    int paused;
    uint64_t ticks, runs, errors;
    uint64_t lag_hist[TL_LAG_BUCKETS];
    int64_t lag_ms_sum;
    int64_t last_tick;         /* INT64_MIN: none yet */
    double last_tick_ms;
    schedcamp_t *c;
    int n, cap;
};

int tl_sched_new(tl_sched_t **out) {
    tl_sched_t *s = calloc(1, sizeof *s);
    if (!s) return TL_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    s->last_tick = INT64_MIN;
    *out = s;
    return 0;
}

void tl_sched_free(tl_sched_t *s) {
    if (!s) return;
    pthread_mutex_destroy(&s->mu);
    free(s->c);
    free(s);
}

void tl_sched_pause(tl_sched_t *s, int paused) {
    pthread_mutex_lock(&s->mu);
    s->paused = paused != 0;
    pthread_mutex_unlock(&s->mu);
}

int tl_sched_paused(tl_sched_t *s) {
    pthread_mutex_lock(&s->mu);
    int p = s->paused;
    pthread_mutex_unlock(&s->mu);
    return p;
}

/* The entry of campaign id, made when missing (under mu); NULL: no memory. */
static schedcamp_t *entry(tl_sched_t *s, const char *id) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->c[i].id, id) == 0) return &s->c[i];
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 16;
        schedcamp_t *g = realloc(s->c, (size_t)nc * sizeof *g);
        if (!g) return NULL;
        s->c = g, s->cap = nc;
    }
    schedcamp_t *e = &s->c[s->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", id);
    e->last_at = INT64_MIN;
    e->due.next = INT64_MIN;
    return e;
}

/* One campaign's turn, with the hooks' locks held: due? then run. 1 when
 * it ran, 0 when it was not due, or an error (eb set). */
static int turn(tl_store_t *st, const char *id, const tl_run_env_t *env, int *trigger, char *kind,
                tl_due_t *due, tl_run_result_t *res, tl_errbuf_t *eb) {
    tl_campaign_t c;
    int rc = tl_campaign_get(st, id, &c, eb);
    if (rc) return rc;
    *trigger = c.trig != TL_TRIG_NONE || c.journey;
    snprintf(kind, 16, "%s", tl_campaign_kind(&c));
    rc = tl_campaign_due(st, &c, env->at, due, eb);
    if (rc == 1) {
        tl_run_env_t e = *env;
        e.skip_idle = 1, e.dry_run = 0;
        rc = tl_campaign_run_env(st, &c, &e, res, eb);
        if (!rc) rc = res->due;
        if (rc == 1 && *trigger) { /* what it left for later */
            due->next = res->next_due;
            due->backlog = 0;
        }
    }
    tl_campaign_fini(&c);
    return rc;
}

static void note(tl_sched_t *s, const char *id, int trigger, const char *kind, int rc, const tl_due_t *due,
                 const tl_run_result_t *res, int64_t at, const tl_errbuf_t *eb) {
    pthread_mutex_lock(&s->mu);
    schedcamp_t *e = entry(s, id);
    if (e) {
        e->live = 1, e->trigger = trigger;
        if (*kind) snprintf(e->kind, sizeof e->kind, "%s", kind);
        if (rc >= 0) e->due = *due;
        if (rc == 1 && res->run) {
            e->runs++, s->runs++;
            e->last_run = res->run, e->last_at = at;
        }
        if (rc == 1) {
            for (int k = 0; k < TL_LAG_BUCKETS; k++) s->lag_hist[k] += res->lag_hist[k];
            s->lag_ms_sum += res->lag_ms_sum;
            e->decided += res->audience;
            e->late += res->late_triggers;
            for (int d = 0; d < TL_DEC__N; d++) {
                e->by_decision[d] += res->counts[d];
                if (TL_DEC_DELIVERS(d)) e->delivered += res->counts[d];
            }
        }
        if (rc < 0) {
            e->errors++, s->errors++;
            e->error_at = at;
            snprintf(e->error, sizeof e->error, "%s", eb->msg[0] ? eb->msg : tl_strerror(rc));
        }
    }
    pthread_mutex_unlock(&s->mu);
}

int tl_sched_tick(tl_sched_t *s, tl_store_t *st, const tl_sched_hooks_t *h, int64_t at,
                  tl_sched_stats_t *out, tl_errbuf_t *eb) {
    tl_sched_stats_t t = {0};
    if (out) *out = t;
    if (tl_sched_paused(s)) return 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tl_run_env_t env = {.at = at};
    char(*ids)[65] = NULL;
    int n = 0;
    int rc = h && h->enter ? h->enter(h->arg, &env) : 0;
    if (!rc) {
        rc = tl_campaign_actives(st, &ids, &n, eb);
        if (h && h->leave) h->leave(h->arg);
    }
    if (rc) return rc;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n; i++) s->c[i].live = 0;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) {
        tl_errbuf_t ceb = {{0}};
        tl_due_t due = {.next = INT64_MIN};
        tl_run_result_t res;
        memset(&res, 0, sizeof res);
        int trigger = 0, r = h && h->enter ? h->enter(h->arg, &env) : 0;
        char kind[16] = "";
        if (!r) {
            env.at = at;
            r = turn(st, ids[i], &env, &trigger, kind, &due, &res, &ceb);
            if (h && h->leave) h->leave(h->arg);
        }
        note(s, ids[i], trigger, kind, r, &due, &res, at, &ceb);
        if (r == 1) {
            t.ran += res.run != 0;
            t.decided += res.audience;
        } else if (r < 0) {
            t.errors++;
            if (r == TL_ELOST || r == TL_EIO || r == TL_ENOSPC) { /* the store, not the campaign */
                *eb = ceb;
                rc = r;
                break;
            }
        }
    }
    free(ids);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_lock(&s->mu);
    s->ticks++;
    s->last_tick = at;
    s->last_tick_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    pthread_mutex_unlock(&s->mu);
    if (out) *out = t;
    return rc;
}

static void add_time(cJSON *o, const char *k, int64_t t) {
    char ts[32];
    if (t == INT64_MIN) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    tl_time_format(t, ts);
    cJSON_AddStringToObject(o, k, ts);
}

cJSON *tl_sched_json(tl_sched_t *s) {
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    pthread_mutex_lock(&s->mu);
    cJSON_AddBoolToObject(j, "paused", s->paused);
    cJSON_AddNumberToObject(j, "ticks", (double)s->ticks);
    add_time(j, "last_tick", s->last_tick);
    cJSON_AddNumberToObject(j, "last_tick_ms", s->last_tick_ms);
    cJSON_AddNumberToObject(j, "runs", (double)s->runs);
    cJSON_AddNumberToObject(j, "errors", (double)s->errors);
    for (int i = 0; i < s->n; i++) {
        const schedcamp_t *e = &s->c[i];
        if (!e->live) continue;
        cJSON *o = cJSON_CreateObject(), *d = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", e->id);
        cJSON_AddStringToObject(o, "kind", e->kind[0] ? e->kind : e->trigger ? "trigger" : "schedule");
        add_time(o, "next_due", e->due.next);
        if (e->trigger) cJSON_AddNumberToObject(o, "backlog_events", (double)e->due.backlog);
        cJSON_AddNumberToObject(o, "runs", (double)e->runs);
        if (e->last_at != INT64_MIN) {
            cJSON *lr = cJSON_CreateObject();
            cJSON_AddNumberToObject(lr, "run", (double)e->last_run);
            add_time(lr, "at", e->last_at);
            cJSON_AddItemToObject(o, "last_run", lr);
        } else {
            cJSON_AddNullToObject(o, "last_run");
        }
        cJSON_AddNumberToObject(o, "decided", (double)e->decided);
        cJSON_AddNumberToObject(o, "delivered", (double)e->delivered);
        if (e->trigger) cJSON_AddNumberToObject(o, "late_trigger_events", (double)e->late);
        for (int k = 0; k < TL_DEC__N; k++)
            cJSON_AddNumberToObject(d, tl_decision_name(k), (double)e->by_decision[k]);
        cJSON_AddItemToObject(o, "decisions", d);
        cJSON_AddNumberToObject(o, "errors", (double)e->errors);
        if (e->errors) {
            cJSON *le = cJSON_CreateObject();
            add_time(le, "at", e->error_at);
            cJSON_AddStringToObject(le, "message", e->error);
            cJSON_AddItemToObject(o, "last_error", le);
        } else {
            cJSON_AddNullToObject(o, "last_error");
        }
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&s->mu);
    cJSON_AddItemToObject(j, "campaigns", arr);
    return j;
}

void tl_sched_totals(tl_sched_t *s, tl_sched_totals_t *t) {
    pthread_mutex_lock(&s->mu);
    t->ticks = s->ticks, t->runs = s->runs, t->errors = s->errors;
    memcpy(t->lag_hist, s->lag_hist, sizeof t->lag_hist);
    t->lag_ms_sum = s->lag_ms_sum;
    uint64_t *by_decision = t->by_decision;
    for (int d = 0; d < TL_DEC__N; d++) {
        by_decision[d] = 0;
        for (int i = 0; i < s->n; i++) by_decision[d] += s->c[i].by_decision[d];
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- what the store says --------------------------------------------------------------- */

typedef struct {
    tl_store_t *st;
    int64_t at;
    cJSON *arr;
    int err;
    tl_errbuf_t *eb;
} stctx_t;

static int status_row(const tl_campaign_info_t *ci, void *arg) {
    stctx_t *x = arg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", ci->id);
    cJSON_AddStringToObject(o, "status", ci->status);
    tl_campaign_t c;
    tl_due_t d = {.next = INT64_MIN};
    int rc = tl_campaign_get(x->st, ci->id, &c, x->eb), due = 0;
    if (!rc) {
        cJSON_AddStringToObject(o, "kind", tl_campaign_kind(&c));
        due = tl_campaign_due(x->st, &c, x->at, &d, x->eb);
        tl_campaign_fini(&c);
    }
    if (rc || due < 0) {
        cJSON_Delete(o);
        x->err = rc ? rc : due;
        return x->err;
    }
    cJSON_AddNumberToObject(o, "runs", (double)ci->runs);
    add_time(o, "last_run", ci->runs ? ci->last_at : INT64_MIN);
    cJSON_AddBoolToObject(o, "due", due == 1);
    add_time(o, "next_due", d.next);
    cJSON_AddNumberToObject(o, "backlog_events", (double)d.backlog);
    cJSON_AddNumberToObject(o, "sends", (double)ci->sends);
    cJSON_AddItemToArray(x->arr, o);
    return 0;
}

static int count_row(uint64_t off, void *arg) {
    (void)off;
    ++*(uint64_t *)arg;
    return 0;
}

cJSON *tl_sched_store_json(tl_store_t *st, int64_t at, tl_errbuf_t *eb) {
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *dl = cJSON_CreateArray();
    stctx_t x = {st, at, arr, 0, eb};
    add_time(j, "at", at);
    cJSON_AddNumberToObject(j, "events", (double)tl_store_event_count(st));
    cJSON_AddItemToObject(j, "campaigns", arr);
    cJSON_AddItemToObject(j, "delivery", dl);
    int rc = tl_campaign_list(st, NULL, status_row, &x, eb);
    if (x.err) rc = x.err;
    for (int ch = 0; !rc && ch < TL_DCH__N; ch++) {
        char rel[TL_OUTBOX_MAX], key[64], *cur = NULL;
        const char *name = tl_dchannel_name(ch);
        uint64_t len = 0, cursor = 0, held = 0, due = 0;
        tl_dchannel_outbox(name, rel, sizeof rel);
        snprintf(key, sizeof key, "delivery:%s", name);
        rc = tl_store_applog_committed(st, rel, &len, eb);
        if (!rc && tl_store_config_get(st, key, &cur, eb) == 0 && cur) cursor = strtoull(cur, NULL, 10);
        free(cur);
        if (!rc) rc = tl_store_deliveries_held(st, name, INT64_MAX, count_row, &held, eb);
        if (!rc) rc = tl_store_deliveries_held(st, name, at, count_row, &due, eb);
        if (rc || !len) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "channel", name);
        cJSON_AddNumberToObject(o, "outbox_bytes", (double)len);
        cJSON_AddNumberToObject(o, "not_handed_over_bytes", (double)(len > cursor ? len - cursor : 0));
        cJSON_AddNumberToObject(o, "held", (double)held);
        cJSON_AddNumberToObject(o, "held_due", (double)due);
        cJSON_AddItemToArray(dl, o);
    }
    if (rc) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}
