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
 * 4xx answers mark the record failed (kept with the status code). Delivery
 * is at least once: the cursor is committed every 100 records, so a crash
 * may post a few again; each carries its id as Idempotency-Key. */
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

/* Posts one record (the line's text); 0 done (posted or failed for good),
 * 2 not due yet, TL_EIO gateway unavailable. */
static int deliver_line(dctx_t *x, const char *ch, const char *line, size_t len, uint64_t off) {
    if (tl_campaign_line_erased(line, len)) return 0; /* the record of an erased user */
    cJSON *rec = cJSON_ParseWithLength(line, len);
    const cJSON *camp = cJSON_GetObjectItem(rec, "campaign"), *run = cJSON_GetObjectItem(rec, "run");
    const cJSON *user = cJSON_GetObjectItem(rec, "user");
    if (cJSON_IsString(camp) && cJSON_IsNumber(run) && cJSON_IsString(user)) {
        /* the record's id: CAMPAIGN:RUN:USER, unique and stable */
        char idbuf[256];
        snprintf(idbuf, sizeof idbuf, "%s:%.0f:%s", camp->valuestring, run->valuedouble, user->valuestring);
        cJSON_AddItemToObject(rec, "id", cJSON_CreateString(idbuf));
        if (!cJSON_GetObjectItem(rec, "status")) cJSON_AddStringToObject(rec, "status", "sent");
    }
    const cJSON *id = cJSON_GetObjectItem(rec, "id"), *at = cJSON_GetObjectItem(rec, "at");
    int64_t due = INT64_MIN;
    if (!cJSON_IsString(id) || !cJSON_IsString(at) || tl_time_parse(at->valuestring, strlen(at->valuestring), &due)) {
        cJSON_Delete(rec);
        x->s->failed++;
        return 0; /* not ours to judge: the outbox is written by runs, so this does not happen */
    }
    if (due > x->o->now) {
        int rc = tl_store_delivery_hold(x->st, id->valuestring, ch, off, due, x->eb);
        cJSON_Delete(rec);
        if (rc >= 0) x->s->held++;
        return rc < 0 ? rc : 2;
    }
    int rc = enrich(x, rec);
    char *body = rc ? NULL : cJSON_PrintUnformatted(rec);
    long code = 0;
    if (body) rc = post(x, id->valuestring, body, &code);
    cJSON_free(body);
    if (rc == 0) x->s->posted++;
    if (rc == 1) {
        x->s->failed++;
        rc = tl_store_delivery_fail(x->st, id->valuestring, ch, off, code, x->o->now, due, x->eb);
    } else if (rc == 0) {
        rc = tl_store_delivery_done(x->st, id->valuestring, x->o->now, x->eb);
    }
    cJSON_Delete(rec);
    return rc;
}

typedef struct {
    uint64_t off[4096];
    int n;
} heldlist_t;

static int held_row(uint64_t off, void *arg) {
    heldlist_t *h = arg;
    if (h->n < 4096) h->off[h->n++] = off;
    return 0;
}

static int deliver_channel(dctx_t *x, const char *ch) {
    char rel[TL_OUTBOX_MAX], key[64], *cur = NULL;
    tl_dchannel_outbox(ch, rel, sizeof rel);
    snprintf(key, sizeof key, "delivery:%s", ch);
    uint64_t from = 0;
    if (tl_store_config_get(x->st, key, &cur, x->eb) == 0 && cur) from = strtoull(cur, NULL, 10);
    free(cur);
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = tl_store_applog_read(x->st, rel, 0, &b, x->eb);
    /* first the parked records that are due now */
    heldlist_t *h = rc ? NULL : calloc(1, sizeof *h);
    if (!rc && !h) rc = TL_ENOMEM;
    if (!rc) rc = tl_store_deliveries_held(x->st, ch, x->o->now, held_row, h, x->eb);
    if (!rc) rc = tl_store_begin(x->st, x->eb);
    for (int i = 0; !rc && h && i < h->n; i++) {
        uint64_t off = h->off[i];
        if (off >= b.len) continue;
        const char *nl = memchr(b.data + off, '\n', b.len - off);
        size_t len = nl ? (size_t)(nl - (b.data + off)) : b.len - off;
        x->s->held_before++;
        rc = deliver_line(x, ch, b.data + off, len, off);
        if (rc == 2) rc = 0;
    }
    free(h);
    uint64_t off = from, since = 0;
    while (!rc && off < b.len) {
        const char *nl = memchr(b.data + off, '\n', b.len - off);
        size_t len = nl ? (size_t)(nl - (b.data + off)) : b.len - off;
        rc = deliver_line(x, ch, b.data + off, len, off);
        if (rc == 2) rc = 0;
        if (rc) break;
        off += len + 1;
        if (++since % 100 == 0 || off >= b.len) {
            char v[32];
            snprintf(v, sizeof v, "%llu", (unsigned long long)off);
            rc = tl_store_config_put(x->st, key, v, x->eb);
            if (!rc) rc = tl_store_commit(x->st, x->eb);
            if (!rc && off < b.len) rc = tl_store_begin(x->st, x->eb);
        }
    }
    if (rc == TL_EIO) {
        /* keep what went through; the next pass starts at this record */
        char v[32];
        snprintf(v, sizeof v, "%llu", (unsigned long long)off);
        tl_errbuf_t keep = *x->eb;
        if (tl_store_config_put(x->st, key, v, x->eb) == 0) tl_store_commit(x->st, x->eb);
        *x->eb = keep;
    } else if (!rc) {
        rc = tl_store_commit(x->st, x->eb);
    }
    if (rc) tl_store_rollback(x->st);
    tl_buf_fini(&b);
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
    int rc = (x.users = tl_store_dict(st, TL_D_USER, eb)) ? 0 : TL_ENOMEM;
    for (int c = 0; !rc && c < TL_DCH__N; c++)
        if (o->channel < 0 || o->channel == c) rc = deliver_channel(&x, tl_dchannel_name(c));
    if (x.pii.data) sodium_memzero(x.pii.data, x.pii.cap); /* names and phones in memory */
    tl_buf_fini(&x.pii), tl_buf_fini(&x.body);
    curl_easy_cleanup(x.curl);
    curl_global_cleanup();
    return rc;
}
