/* deliver.c -- the webhook delivery adapter: posts the outbox's records to
 * a gateway URL (an SMS or push provider, a CRM) with retries.
 *
 * Each channel's outbox is read from a cursor (config key
 * "delivery:CHANNEL", a byte offset) that advances as records are handed
 * over. A record is posted as JSON with its personal fields filled in at
 * that moment from the sealed store (the phone for SMS, the e-mail for
 * e-mail, {name} in the message): they never lie in clear in the outbox.
 * A record not yet due (held by quiet hours or a cap) is parked in the
 * `deliveries` table and posted by a later pass once due. Network errors,
 * 429 and 5xx are retried with exponential backoff; when the retries run
 * out the pass stops there and the next one resumes at that record. Other
 * 4xx answers mark the record failed (kept with the status code). Records
 * of a paused campaign are parked and looked at again by each pass, so
 * they go out once it is resumed. Delivery is at least once: the cursor is
 * committed after each round of records posted, so a crash may post a
 * round again; each record carries its id as Idempotency-Key. */
#include "campaign.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    tl_store_t *st;
    CURL *curl;
    const tl_deliver_opts_t *o;
    tl_deliver_stats_t *s;
    tl_errbuf_t *eb;
    tl_dict_t *users;
    tl_buf_t pii, body;
} dctx_t;

static size_t discard(char *p, size_t size, size_t n, void *arg) {
    (void)p, (void)arg;
    return size * n;
}

static void replace_all(tl_buf_t *out, const char *s, const char *key, const char *val) {
    size_t kl = strlen(key);
    for (const char *p = s; *p;) {
        const char *hit = strstr(p, key);
        if (!hit) {
            tl_buf_append(out, p, strlen(p));
            break;
        }
        tl_buf_append(out, p, (size_t)(hit - p));
        tl_buf_append(out, val, strlen(val));
        p = hit + kl;
    }
}

/* The record with its personal fields, as the body to post. */
static int enrich(dctx_t *x, cJSON *rec) {
    const cJSON *user = cJSON_GetObjectItem(rec, "user"), *ch = cJSON_GetObjectItem(rec, "channel");
    const cJSON *msg = cJSON_GetObjectItem(rec, "message");
    if (!cJSON_IsString(user) || !cJSON_IsString(ch)) return TL_EBADINPUT;
    uint32_t u = tl_dict_find(x->users, user->valuestring, strlen(user->valuestring));
    tl_buf_clear(&x->pii);
    const char *name = "", *phone = "", *email = "";
    if (u != TL_NONE && tl_store_user_pii(x->st, u, &x->pii, x->eb) == 0 && x->pii.len) {
        name = x->pii.data;
        phone = name + strlen(name) + 1;
        email = phone + strlen(phone) + 1;
    }
    if (strcmp(ch->valuestring, "sms") == 0) cJSON_AddStringToObject(rec, "phone", phone);
    if (strcmp(ch->valuestring, "email") == 0) cJSON_AddStringToObject(rec, "email", email);
    if (cJSON_IsString(msg) && strstr(msg->valuestring, "{name}")) {
        tl_buf_t t;
        tl_buf_init(&t);
        replace_all(&t, msg->valuestring, "{name}", name);
        tl_buf_append(&t, "", 1);
        cJSON_ReplaceItemInObject(rec, "message", cJSON_CreateString(t.data ? t.data : ""));
        tl_buf_fini(&t);
    }
    return 0;
}

/* 0 posted, 1 refused for good (4xx), TL_EIO when the retries ran out. */
static int post(dctx_t *x, const char *id, const char *body, long *code) {
    struct curl_slist *h = NULL;
    char key[200];
    snprintf(key, sizeof key, "Idempotency-Key: %s", id);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, key);
    long wait_ms = 100;
    int rc = TL_EIO;
    for (uint32_t attempt = 0; attempt <= x->o->retries; attempt++) {
        if (attempt) {
            struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
            x->s->retries++;
        }
        curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, body);
        CURLcode cc = curl_easy_perform(x->curl);
        *code = 0;
        if (cc == CURLE_OK) curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, code);
        if (cc == CURLE_OK && *code >= 200 && *code < 300) {
            rc = 0;
            break;
        }
        if (cc == CURLE_OK && *code >= 400 && *code < 500 && *code != 429) {
            rc = 1;
            break;
        }
        tl_errbuf_set(x->eb, "%s: %s", x->o->url,
                      cc != CURLE_OK ? curl_easy_strerror(cc) : "the gateway answered with an error");
    }
    curl_slist_free_all(h);
    return rc;
}

/* ---- a pass over a channel, in rounds ------------------------------------------------------ *
 *
 * Each round plans up to ROUND records with the store held (what each is:
 * parked until due, or the body to post with its personal fields), posts
 * them with the store let go (a server takes events meanwhile), and
 * records the outcomes in one batch with the store held again: the
 * cursor moves past what was settled, up to the first record the gateway
 * did not take. A crash between posting and recording posts those again,
 * under the same Idempotency-Key. */

#define ROUND 256

enum { ACT_SKIP, ACT_HOLD, ACT_POST };

typedef struct {
    int act;
    int held;                  /* a parked record now due: no cursor of its own */
    uint64_t off;
    size_t len;
    int64_t due;
    char id[256];
    char *body;                /* ACT_POST */
    int outcome;               /* ACT_POST: 0 posted, 1 refused, TL_EIO not taken or not tried */
    long code;
} act_t;

typedef struct {
    char (*ids)[65];
    int n, cap;
} paused_t;

static int paused_row(const tl_campaign_info_t *ci, void *arg) {
    paused_t *p = arg;
    if (strcmp(ci->status, "paused") != 0) return 0;
    if (p->n == p->cap) {
        int nc = p->cap ? p->cap * 2 : 8;
        void *g = realloc(p->ids, (size_t)nc * sizeof *p->ids);
        if (!g) return TL_ENOMEM;
        p->ids = g, p->cap = nc;
    }
    snprintf(p->ids[p->n++], 65, "%s", ci->id);
    return 0;
}

static int is_paused(const paused_t *p, const char *id) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->ids[i], id) == 0) return 1;
    return 0;
}

/* What to do with one record (the line's text). */
static int plan_line(dctx_t *x, const paused_t *paused, const char *line, act_t *a) {
    a->act = ACT_SKIP, a->outcome = TL_EIO;
    if (tl_campaign_line_erased(line, a->len)) return 0; /* the record of an erased user */
    cJSON *rec = cJSON_ParseWithLength(line, a->len);
    const cJSON *camp = cJSON_GetObjectItem(rec, "campaign"), *run = cJSON_GetObjectItem(rec, "run");
    const cJSON *user = cJSON_GetObjectItem(rec, "user");
    if (cJSON_IsString(camp) && cJSON_IsNumber(run) && cJSON_IsString(user)) {
        /* the record's id: CAMPAIGN:RUN:USER (a journey's: :STEP after it, as
         * one run may take a user through two sends), unique and stable */
        const cJSON *step = cJSON_GetObjectItem(rec, "step");
        char idbuf[320];
        snprintf(idbuf, sizeof idbuf, "%s:%.0f:%s%s%s", camp->valuestring, run->valuedouble,
                 user->valuestring, cJSON_IsString(step) ? ":" : "",
                 cJSON_IsString(step) ? step->valuestring : "");
        cJSON_AddItemToObject(rec, "id", cJSON_CreateString(idbuf));
        if (!cJSON_GetObjectItem(rec, "status")) cJSON_AddStringToObject(rec, "status", "sent");
    }
    const cJSON *id = cJSON_GetObjectItem(rec, "id"), *at = cJSON_GetObjectItem(rec, "at");
    if (!cJSON_IsString(id) || !cJSON_IsString(at) || tl_time_parse(at->valuestring, strlen(at->valuestring), &a->due)) {
        cJSON_Delete(rec);
        x->s->failed++;
        return 0; /* not ours to judge: the outbox is written by runs, so this does not happen */
    }
    snprintf(a->id, sizeof a->id, "%s", id->valuestring);
    int rc = 0;
    if (a->due > x->o->now) {
        a->act = ACT_HOLD;
    } else if (cJSON_IsString(camp) && is_paused(paused, camp->valuestring)) {
        /* parked as due now, so each pass looks at it again (one parked already stays) */
        a->act = a->held ? ACT_SKIP : ACT_HOLD, a->due = x->o->now;
        x->s->paused += !a->held;
    } else if (!(rc = enrich(x, rec))) {
        a->act = ACT_POST;
        if (!(a->body = cJSON_PrintUnformatted(rec))) rc = TL_ENOMEM;
    }
    cJSON_Delete(rec);
    return rc;
}

typedef struct {
    uint64_t *off;
    int n, cap;
} heldlist_t;

static int held_row(uint64_t off, void *arg) {
    heldlist_t *h = arg;
    if (h->n == h->cap) {
        int nc = h->cap ? h->cap * 2 : 64;
        uint64_t *g = realloc(h->off, (size_t)nc * sizeof *g);
        if (!g) return TL_ENOMEM;
        h->off = g, h->cap = nc;
    }
    h->off[h->n++] = off;
    return 0;
}

static void enter(dctx_t *x) {
    if (x->o->enter) x->o->enter(x->o->lock_arg);
}

static void leave(dctx_t *x) {
    if (x->o->leave) x->o->leave(x->o->lock_arg);
}

/* Plans a round: the parked records due now (first round), then records
 * from *cursor. *n actions, *more when the outbox goes on past them. The
 * outbox is read again each round, from the first record the round needs:
 * an erasure between rounds blanks a record, and a blanked one is never
 * posted. */
static int plan_round(dctx_t *x, const char *ch, const paused_t *paused, heldlist_t *h, int *hi,
                      uint64_t cursor, act_t *acts, int *n, int *more) {
    char rel[TL_OUTBOX_MAX];
    tl_dchannel_outbox(ch, rel, sizeof rel);
    uint64_t base = cursor;
    for (int i = *hi; i < h->n && i < *hi + ROUND; i++)
        if (h->off[i] < base) base = h->off[i];
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = tl_store_applog_read(x->st, rel, base, &b, x->eb);
    uint64_t end = base + b.len;
    *n = 0, *more = 0;
    for (; !rc && *hi < h->n && *n < ROUND; (*hi)++) {
        uint64_t off = h->off[*hi];
        if (off < base || off >= end) continue;
        const char *p = b.data + (off - base), *nl = memchr(p, '\n', end - off);
        act_t *a = &acts[(*n)++];
        memset(a, 0, sizeof *a);
        a->held = 1, a->off = off;
        a->len = nl ? (size_t)(nl - p) : end - off;
        x->s->held_before++;
        rc = plan_line(x, paused, p, a);
    }
    uint64_t off = cursor;
    while (!rc && off < end && *n < ROUND) {
        const char *p = b.data + (off - base), *nl = memchr(p, '\n', end - off);
        act_t *a = &acts[(*n)++];
        memset(a, 0, sizeof *a);
        a->off = off;
        a->len = nl ? (size_t)(nl - p) : end - off;
        rc = plan_line(x, paused, p, a);
        off += a->len + 1;
    }
    *more = !rc && (off < end || *hi < h->n);
    tl_buf_fini(&b);
    return rc;
}

/* Records a round's outcomes in one batch: the cursor moves past the
 * records settled, up to the first the gateway did not take. */
static int record_round(dctx_t *x, const char *ch, const char *key, act_t *acts, int n, uint64_t *cursor) {
    int rc = tl_store_begin(x->st, x->eb), stop = 0;
    for (int i = 0; !rc && i < n; i++) {
        act_t *a = &acts[i];
        if (a->act == ACT_POST && a->outcome == TL_EIO) {
            if (!a->held) stop = 1; /* the cursor waits at this record */
            continue;
        }
        if (stop && !a->held) continue;
        if (a->act == ACT_HOLD) {
            rc = tl_store_delivery_hold(x->st, a->id, ch, a->off, a->due, x->eb);
            if (rc > 0) rc = 0;
            if (!rc && a->due > x->o->now) x->s->held++;
        } else if (a->act == ACT_POST && a->outcome == 0) {
            x->s->posted++;
            rc = tl_store_delivery_done(x->st, a->id, x->o->now, x->eb);
        } else if (a->act == ACT_POST) {
            x->s->failed++;
            rc = tl_store_delivery_fail(x->st, a->id, ch, a->off, a->code, x->o->now, a->due, x->eb);
        }
        if (!rc && !a->held) *cursor = a->off + a->len + 1;
    }
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)*cursor);
    if (!rc) rc = tl_store_config_put(x->st, key, v, x->eb);
    if (!rc) rc = tl_store_commit(x->st, x->eb);
    if (rc) tl_store_rollback(x->st);
    return rc;
}

static int deliver_channel(dctx_t *x, const char *ch) {
    char key[64], *cur = NULL;
    snprintf(key, sizeof key, "delivery:%s", ch);
    heldlist_t h = {0};
    paused_t paused = {0};
    act_t *acts = calloc(ROUND, sizeof *acts);
    int rc = acts ? 0 : TL_ENOMEM, hi = 0, more = 1;
    uint64_t cursor = 0;
    enter(x);
    if (!rc && tl_store_config_get(x->st, key, &cur, x->eb) == 0 && cur) cursor = strtoull(cur, NULL, 10);
    free(cur);
    if (!rc) rc = tl_campaign_list(x->st, NULL, paused_row, &paused, x->eb);
    if (!rc) rc = tl_store_deliveries_held(x->st, ch, x->o->now, held_row, &h, x->eb);
    leave(x);
    while (!rc && more) {
        int n = 0, gateway = 0;
        enter(x);
        rc = plan_round(x, ch, &paused, &h, &hi, cursor, acts, &n, &more);
        leave(x);
        /* posted with the store let go */
        for (int i = 0; !rc && i < n && !gateway; i++)
            if (acts[i].act == ACT_POST) {
                acts[i].outcome = post(x, acts[i].id, acts[i].body, &acts[i].code);
                gateway = acts[i].outcome == TL_EIO;
            }
        if (!rc && n) {
            tl_errbuf_t keep = *x->eb;
            enter(x);
            rc = record_round(x, ch, key, acts, n, &cursor);
            leave(x);
            if (!rc && gateway) *x->eb = keep, rc = TL_EIO; /* the next pass resumes there */
        }
        for (int i = 0; i < n; i++)
            if (acts[i].body) {
                sodium_memzero(acts[i].body, strlen(acts[i].body)); /* names and phones in memory */
                cJSON_free(acts[i].body);
                acts[i].body = NULL;
            }
    }
    free(acts), free(h.off), free(paused.ids);
    return rc;
}

int tl_campaign_deliver(tl_store_t *st, const tl_deliver_opts_t *o, tl_deliver_stats_t *s,
                        tl_errbuf_t *eb) {
    memset(s, 0, sizeof *s);
    dctx_t x = {.st = st, .o = o, .s = s, .eb = eb};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(x.curl = curl_easy_init())) {
        tl_errbuf_set(eb, "cannot start the HTTP client");
        return TL_ENOMEM;
    }
    curl_easy_setopt(x.curl, CURLOPT_URL, o->url);
    curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(x.curl, CURLOPT_TIMEOUT_MS, (long)(o->timeout_ms ? o->timeout_ms : 10000));
    curl_easy_setopt(x.curl, CURLOPT_NOSIGNAL, 1L);
    tl_buf_init(&x.pii), tl_buf_init(&x.body);
    enter(&x);
    int rc = (x.users = tl_store_dict(st, TL_D_USER, eb)) ? 0 : TL_ENOMEM;
    leave(&x);
    for (int c = 0; !rc && c < TL_DCH__N; c++)
        if (o->channel < 0 || o->channel == c) rc = deliver_channel(&x, tl_dchannel_name(c));
    if (x.pii.data) sodium_memzero(x.pii.data, x.pii.cap); /* names and phones in memory */
    tl_buf_fini(&x.pii), tl_buf_fini(&x.body);
    curl_easy_cleanup(x.curl);
    curl_global_cleanup();
    return rc;
}
