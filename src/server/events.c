/* events.c -- events and feedback in through the API. Events are
 * validated and made durable exactly as an import (each record's reason
 * kept when it is refused), concurrent requests sharing one group commit,
 * and then applied to the profiles in each person's time order (events
 * whose alias links identifiers merge their persons at once). Request
 * bodies are imported from memory: nothing of them reaches the disk but
 * what the store keeps. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign/campaign.h"
#include "segment/segment.h"

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
    for (evjob_t *j = jobs; j; j = j->next) bufs[n++] = j->in; /* at most 64 (tl__events_post) */
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
        /* events with an alias linked identifiers: the persons follow */
        if (!rc && st.linked) rc = tl__identify_follow(s, &eb);
        pthread_rwlock_unlock(&s->prof_mu);
    }
    pthread_rwlock_unlock(&s->st_rw);
    for (evjob_t *j = jobs; j; j = j->next) {
        j->rc = rc;
        snprintf(j->err, sizeof j->err, "%s", eb.msg[0] ? eb.msg : tl_strerror(rc));
    }
}

/* A new event with the row of its person and its row in the log. */
typedef struct {
    uint32_t person;
    uint64_t seq;
    tl_event_t ev;
} pev_t;

typedef struct {
    tl_server_t *s;
    pev_t *ev;
    size_t n, cap;
} newev_t;

static int collect_block(const tl_evblock_t *b, void *arg) {
    newev_t *x = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->first_seq + i < x->s->applied) continue;
        if (x->n == x->cap) {
            size_t nc = x->cap ? x->cap * 2 : 1024;
            pev_t *e = realloc(x->ev, nc * sizeof *e);
            if (!e) return TL_ENOMEM;
            x->ev = e, x->cap = nc;
        }
        x->ev[x->n].person = tl_profile_person(x->s->prof, b->user[i]);
        x->ev[x->n].seq = b->first_seq + i;
        x->ev[x->n++].ev = (tl_event_t){.fp = b->fp[i], .user = b->user[i], .item = b->item[i], .ts = b->ts[i],
                                     .type = b->type[i], .channel = b->channel[i], .qty = b->qty[i],
                                     .amount = b->amount[i], .rating = b->rating[i], .lat = b->lat[i],
                                     .lon = b->lon[i], .query = b->query[i], .city = b->city[i],
                                     .session = b->session[i], .campaign = b->campaign[i]};
    }
    return 0;
}

/* By person, then time, then row in the log (as a build orders them). */
static int cmp_ev(const void *a, const void *b) {
    const pev_t *x = a, *y = b;
    if (x->person != y->person) return x->person < y->person ? -1 : 1;
    if (x->ev.ts != y->ev.ts) return x->ev.ts < y->ev.ts ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Applies the events added since the last call to the profiles, each
 * person's in time order (a batch may come in any order; an event older
 * than what a profile already holds is applied as it comes, and the next
 * `profile build` puts it in its place), then refreshes the persons they
 * touched and the columns derived from the profiles (tags).
 * Under prof_mu (write) and st_rw (write). */
static int apply_new_events(tl_server_t *s, tl_errbuf_t *eb) {
    newev_t x = {.s = s};
    int rc = tl_store_scan_from(s->st, s->applied, TL_EVC_ALL, collect_block, &x, eb);
    if (!rc && x.n) qsort(x.ev, x.n, sizeof *x.ev, cmp_ev);
    for (size_t i = 0; !rc && i < x.n; i++) {
        const tl_event_t *e = &x.ev[i].ev;
        rc = tl_profile_apply(s->prof, e);
        if (!rc) rc = tl_scenes_add(s->scenes, e->user, e->item, e->type, e->ts);
        if (e->ts > s->as_of) s->as_of = e->ts;
    }
    /* an identifier new to the profiles is its own person */
    for (size_t i = 0; !rc && i < x.n; i++)
        if (i == 0 || x.ev[i].person != x.ev[i - 1].person)
            rc = tl_profile_refresh_user(s->prof, x.ev[i].person, s->as_of);
    if (!rc && x.n) rc = tl_segment_profiles_derive(s->st, s->prof, eb);
    free(x.ev);
    if (!rc) s->applied = tl_store_event_count(s->st);
    return rc;
}

/* ---- following a store other processes write ------------------------------------- */

/* What the others committed read, and their events applied to the
 * profiles as this server's own are. (Links other processes add without
 * events reach the persons at this server's next own link or reload:
 * following them reads every link, too much to do every second.) */
static int follow_once(tl_server_t *s, tl_errbuf_t *eb) {
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_refresh(s->st, eb);
    if (rc > 0 && tl_store_event_count(s->st) != s->applied) {
        pthread_rwlock_wrlock(&s->prof_mu);
        rc = apply_new_events(s, eb);
        pthread_rwlock_unlock(&s->prof_mu);
    }
    pthread_rwlock_unlock(&s->st_rw);
    return rc < 0 ? rc : 0;
}

static void *follower(void *arg) {
    tl_server_t *s = arg;
    pthread_mutex_lock(&s->follow_mu);
    while (!s->follow_stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += FOLLOW_MS / 1000;
        t.tv_nsec += (long)(FOLLOW_MS % 1000) * 1000000L;
        if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->follow_cv, &s->follow_mu, &t);
        if (s->follow_stop) break;
        pthread_mutex_unlock(&s->follow_mu);
        tl_errbuf_t eb = {{0}};
        /* a failure (the store away) is tried again at the next turn */
        if (follow_once(s, &eb)) fprintf(stderr, "tailor serve: following the store: %s\n", eb.msg);
        pthread_mutex_lock(&s->follow_mu);
    }
    pthread_mutex_unlock(&s->follow_mu);
    return NULL;
}

int tl__events_follow_start(tl_server_t *s, tl_errbuf_t *eb) {
    if (!tl_store_shared(s->st)) return 0;
    if (pthread_create(&s->follower, NULL, follower, s)) {
        tl_errbuf_set(eb, "cannot start the thread that follows the store");
        return TL_ENOMEM;
    }
    s->following = 1;
    return 0;
}

void tl__events_follow_stop(tl_server_t *s) {
    if (!s->following) return;
    pthread_mutex_lock(&s->follow_mu);
    s->follow_stop = 1;
    pthread_cond_signal(&s->follow_cv);
    pthread_mutex_unlock(&s->follow_mu);
    pthread_join(s->follower, NULL);
    s->following = 0;
}

/* The answer to records taken in: their counts (suppressed only for
 * feedback: < 0 leaves it out) and the records refused (which it takes). */
static void answer_counts(tl_http_response_t *rs, uint64_t read, uint64_t accepted, uint64_t duplicates,
                          uint64_t quarantined, double suppressed, cJSON *rejected) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "read", (double)read);
    cJSON_AddNumberToObject(j, "accepted", (double)accepted);
    cJSON_AddNumberToObject(j, "duplicates", (double)duplicates);
    cJSON_AddNumberToObject(j, "quarantined", (double)quarantined);
    if (suppressed >= 0) cJSON_AddNumberToObject(j, "suppressed", suppressed);
    cJSON_AddItemToObject(j, "rejected", rejected);
    tl__server_json(rs, 200, j);
}

/* The name a request body goes by as the source of what it quarantines. */
static void request_name(tl_server_t *s, const char *route, char *out, size_t cap) {
    char at[32];
    tl_time_format(tl_store_now(s->st), at);
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
        tl__server_fail(rs, 500, "internal", "out of memory");
        return -1;
    }
    if (p == end || *p != ']' || skip_space(p + 1, end) != end) {
        tl__server_fail(rs, 400, "bad_json", "the body is not a JSON array of events (near byte %ld)",
                        (long)(p == end || *p != ']' ? p - rq->body : skip_space(p + 1, end) - rq->body));
        return -1;
    }
    job->in.data = jsonl->data ? jsonl->data : "", job->in.len = jsonl->len;
    return 0;
}

void tl__events_post(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const tl_http_request_t *rq = req->rq;
    tl_http_response_t *rs = req->rs;
    if (!rq->body_len) {
        tl__server_fail(rs, 400, "empty", "the body is empty: send a JSON array of events or JSON Lines");
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
            tl__scheduler_wake(s);
        } else {
            pthread_cond_wait(&s->ev_cv, &s->ev_mu);
        }
    }
    pthread_mutex_unlock(&s->ev_mu);
    tl_buf_fini(&jsonl);
    if (job.rc) {
        cJSON_Delete(job.rejected);
        tl__server_fail_write(rs, job.rc, "store", job.err);
        return;
    }
    tl_import_stats_t st = job.st;
    atomic_fetch_add(&s->events_in, st.accepted);
    atomic_fetch_add(&s->events_bad, st.quarantined);
    atomic_fetch_add(&s->events_dup, st.duplicates);
    answer_counts(rs, st.read, st.accepted, st.duplicates, st.quarantined, -1, job.rejected);
}

/* ---- feedback ---------------------------------------------------------------------------------- */

void tl__events_feedback(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    tl_http_response_t *rs = req->rs;
    const cJSON *body = req->body, *e;
    int one = cJSON_IsObject(body); /* one record, else an array of them */
    static const char *const COLS[] = {"user", "kind", "at", "campaign", "channel", "item", "score"};
    tl_buf_t csv;
    tl_buf_init(&csv);
    tl_buf_append(&csv, "user,kind,at,campaign,channel,item,score\n", 41);
    int idx = 0;
    for (e = one ? body : body->child; e; e = one ? NULL : e->next) {
        const cJSON *m;
        if (!cJSON_IsObject(e)) {
            tl__server_fail(rs, 400, "bad_type", "record %d: a feedback record is a JSON object", idx);
            tl_buf_fini(&csv);
            return;
        }
        cJSON_ArrayForEach(m, e) {
            int known = 0;
            for (int k = 0; k < 7; k++) known |= strcmp(m->string, COLS[k]) == 0;
            if (!known || !(cJSON_IsString(m) || cJSON_IsNumber(m))) {
                tl__server_fail(rs, 400, known ? "bad_type" : "unknown_field", "record %d: field \"%s\" %s", idx,
                                m->string, known ? "must be a string or a number" : "is not one of user, kind, at, campaign, channel, item, score");
                tl_buf_fini(&csv);
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
    char name[80];
    request_name(s, "/v1/feedback", name, sizeof name);
    tl_source_t in = tl_source_mem(name, csv.data ? csv.data : "", csv.len);
    evrej_t rej = {cJSON_CreateArray(), NULL};
    tl_feedback_stats_t st;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_feedback_import(s->st, &in, &st, on_event_reject, &rej, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    tl_buf_fini(&csv);
    if (rc) {
        cJSON_Delete(rej.rejected);
        tl__server_fail_write(rs, rc, "store", eb.msg);
        return;
    }
    /* the CSV's first record is on line 2 */
    cJSON *x;
    cJSON_ArrayForEach(x, rej.rejected) {
        cJSON *i = cJSON_GetObjectItem(x, "index");
        cJSON_SetNumberValue(i, i->valuedouble - 1);
    }
    answer_counts(rs, st.read, st.accepted, st.duplicates, st.rejected, (double)st.suppressed, rej.rejected);
}
