/* Frequency caps hold at the moment each message goes out. A property
 * test: several campaigns sharing cap rules (calendar day and week, rolling
 * windows, by channel and by campaign tag), some with quiet hours and some
 * queueing over-cap messages, run at hundreds of random times, forward in
 * time and in random order; then every rule is checked over every outbox
 * record at its local delivery time, and no record of an interrupting
 * channel falls in its campaign's quiet hours. And the plain case: two runs
 * in one evening's quiet hours make one push the next morning; and caps
 * over a contacts log long enough for runs to skip its old part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "campaign/campaign.h"
#include "privacy/privacy.h"
#include "tmpdir.h"

enum { NU = 40, NRUNS = 300, NCAMP = 5, SPAN_DAYS = 120 };
#define T0 INT64_C(1763600000000) /* 2025-11-20T00:53:20Z */
#define HOUR INT64_C(3600000)

/* The rules every campaign carries; the tagged ones carry the last too. */
#define RULES                                                                                  \
    "{\"channel\":\"push\",\"max\":1,\"per\":\"day\"},{\"max\":12,\"per\":\"week\"},"             \
    "{\"channel\":\"sms\",\"max\":1,\"window\":\"36h\"},{\"max\":3,\"window\":\"20h\"}"
#define TAG_RULE ",{\"tag\":\"promo\",\"max\":1,\"per\":\"day\"}"

typedef struct {
    int channel; /* -1 any */
    int tagged;  /* only contacts of the tagged campaigns */
    uint32_t max;
    int per;     /* TL_CAP_* */
    int64_t window_ms;
} rule_t;

static const rule_t CHECKS[] = {
    {TL_DCH_PUSH, 0, 1, TL_CAP_DAY, 0},
    {-1, 0, 12, TL_CAP_WEEK, 0},
    {TL_DCH_SMS, 0, 1, TL_CAP_ROLLING, 36 * HOUR},
    {-1, 0, 3, TL_CAP_ROLLING, 20 * HOUR},
    {-1, 1, 1, TL_CAP_DAY, 0},
};

static const struct {
    const char *id, *rest; /* channels, tags, queueing, quiet hours */
    int tagged, quiet_from, quiet_to;
} CAMPS[NCAMP] = {
    {"a", "\"channels\":[\"push\",\"sms\"],\"tags\":[\"promo\"],\"queue_over_cap\":true,\"holdout\":10",
     1, 22 * 60, 8 * 60},
    {"b", "\"channels\":[\"push\",\"email\"],\"tags\":[\"promo\"],\"quiet_hours\":false", 1, 0, 0},
    {"c", "\"channels\":[\"sms\",\"push\"],\"queue_over_cap\":true,"
          "\"quiet_hours\":{\"from\":\"21:00\",\"to\":\"09:30\"}",
     0, 21 * 60, 9 * 60 + 30},
    {"d", "\"channels\":[\"email\",\"push\"],\"quiet_hours\":{\"from\":\"01:00\",\"to\":\"06:00\"}", 0,
     60, 6 * 60},
    {"e", "\"channels\":[\"in_app\",\"sms\"],\"queue_over_cap\":true", 0, 22 * 60, 8 * 60},
};

typedef struct {
    uint32_t user;
    int camp, channel;
    int64_t at;
} rec_t;

static int64_t floordiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }
static int64_t lday(int64_t ms, int tz) { return floordiv(ms + (int64_t)tz * 60000, TL_MS_PER_DAY); }

static int cmp_at(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* The outbox as records (user index, campaign, channel, delivery time). */
static rec_t *outbox(tl_store_t *st, size_t *n) {
    tl_errbuf_t eb;
    rec_t *r = NULL;
    size_t nr = 0, cap = 0;
    for (int ch = 0; ch < TL_DCH__N; ch++) {
        char rel[64];
        tl_buf_t b;
        tl_buf_init(&b);
        snprintf(rel, sizeof rel, "outbox/%s", tl_dchannel_name(ch));
        assert_int_equal(tl_store_applog_read(st, rel, 0, &b, &eb), 0);
        for (char *p = b.data, *end = b.len ? b.data + b.len : b.data; p < end;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            assert_non_null(nl);
            *nl = 0;
            cJSON *j = cJSON_Parse(p);
            assert_non_null(j);
            const char *camp = cJSON_GetStringValue(cJSON_GetObjectItem(j, "campaign"));
            const char *user = cJSON_GetStringValue(cJSON_GetObjectItem(j, "user"));
            const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(j, "at"));
            const char *chan = cJSON_GetStringValue(cJSON_GetObjectItem(j, "channel"));
            assert_true(camp && user && at && chan);
            if (nr == cap) assert_non_null(r = realloc(r, (cap = cap ? 2 * cap : 1024) * sizeof *r));
            rec_t *e = &r[nr++];
            e->camp = camp[0] - 'a';
            e->user = (uint32_t)atoi(user + 1);
            e->channel = tl_dchannel_find(chan);
            assert_int_equal(e->channel, ch);
            assert_int_equal(tl_time_parse(at, strlen(at), &e->at), 0);
            cJSON_Delete(j);
            p = nl + 1;
        }
        tl_buf_fini(&b);
    }
    *n = nr;
    return r;
}

/* Violations of rule k over the records, each user's in-scope deliveries
 * grouped by local day or week, or slid over by the rolling window. */
static int violations(const rec_t *r, size_t n, const rule_t *k, int tz, const char *what) {
    int bad = 0;
    int64_t *ts = malloc((n + 1) * sizeof *ts);
    assert_non_null(ts);
    for (uint32_t u = 0; u < NU; u++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (r[i].user == u && (k->channel < 0 || r[i].channel == k->channel) &&
                (!k->tagged || CAMPS[r[i].camp].tagged))
                ts[m++] = k->per == TL_CAP_DAY ? lday(r[i].at, tz)
                        : k->per == TL_CAP_WEEK ? floordiv(lday(r[i].at, tz) + 3, 7) : r[i].at;
        qsort(ts, m, sizeof *ts, cmp_at);
        /* max + 1 deliveries in one period, or within less than the window */
        for (size_t i = 0; i + k->max < m; i++) {
            int over = k->per == TL_CAP_ROLLING ? ts[i + k->max] - ts[i] < k->window_ms
                                                : ts[i + k->max] == ts[i];
            if (over && !bad++)
                print_message("%s: user %u over rule %d in period or at %lld\n", what, u, (int)(k - CHECKS),
                              (long long)ts[i]);
        }
    }
    free(ts);
    return bad;
}

/* NU users who consented to push, SMS and e-mail. */
static tl_store_t *world(void) {
    tl_store_t *st;
    tl_errbuf_t eb;
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    static const char *const purposes[] = {"marketing_push", "marketing_sms", "marketing_email"};
    for (int u = 0; u < NU; u++) {
        char id[16];
        uint32_t idx;
        snprintf(id, sizeof id, "u%03d", u);
        assert_int_equal(tl_dict_intern(users, id, strlen(id), &idx, NULL), 0);
        for (int p = 0; p < 3; p++)
            assert_true(tl_store_put_consent(st, idx, purposes[p], 1, T0 - 10 * TL_MS_PER_DAY, &eb) >= 0);
    }
    assert_int_equal(tl_store_commit(st, &eb), 0);
    return st;
}

static void scenario(const char *tzname, int tz, uint64_t seed, int ordered) {
    tl_store_t *st = world();
    tl_errbuf_t eb;
    tl_campaign_t c[NCAMP];
    for (int k = 0; k < NCAMP; k++) {
        char def[1024];
        snprintf(def, sizeof def, "{\"id\":\"%s\",\"timezone\":\"%s\",%s,\"caps\":[" RULES "%s]}",
                 CAMPS[k].id, tzname, CAMPS[k].rest, CAMPS[k].tagged ? TAG_RULE : "");
        if (tl_campaign_create(st, def, 0, &c[k], &eb)) fail_msg("%s: %s", def, eb.msg);
    }
    /* runs at random minutes of four months, forward in time or in no
     * particular order */
    uint64_t s = seed, delivered = 0, dec[TL_DEC__N] = {0};
    int64_t at[NRUNS];
    for (int i = 0; i < NRUNS; i++) at[i] = T0 + (int64_t)(rng(&s) % (SPAN_DAYS * 24 * 60)) * 60000;
    if (ordered) qsort(at, NRUNS, sizeof *at, cmp_at);
    for (int i = 0; i < NRUNS; i++) {
        int k = (int)(rng(&s) % NCAMP);
        tl_run_opts_t o = {.at = at[i]};
        tl_run_result_t res;
        if (tl_campaign_run(st, &c[k], &o, &res, &eb)) fail_msg("run %d: %s", i, eb.msg);
        for (int d = 0; d < TL_DEC__N; d++) dec[d] += res.counts[d];
        delivered += res.counts[TL_DEC_SENT] + res.counts[TL_DEC_QUIET] + res.counts[TL_DEC_QUEUED];
    }
    /* the runs met every case: sent at once, held, queued, capped */
    assert_true(dec[TL_DEC_SENT] > 0 && dec[TL_DEC_QUIET] > 0 && dec[TL_DEC_QUEUED] > 0 &&
                dec[TL_DEC_CAPPED] > 0);
    size_t n;
    rec_t *r = outbox(st, &n);
    assert_int_equal(n, delivered);
    int bad = 0;
    for (size_t k = 0; k < sizeof CHECKS / sizeof *CHECKS; k++) bad += violations(r, n, &CHECKS[k], tz, tzname);
    for (size_t i = 0; i < n; i++) {
        int qf = CAMPS[r[i].camp].quiet_from, qt = CAMPS[r[i].camp].quiet_to;
        int64_t l = r[i].at + (int64_t)tz * 60000;
        int m = (int)((l - floordiv(l, TL_MS_PER_DAY) * TL_MS_PER_DAY) / 60000);
        int interrupts = r[i].channel == TL_DCH_PUSH || r[i].channel == TL_DCH_SMS || r[i].channel == TL_DCH_EMAIL;
        if (qf != qt && interrupts && (qf < qt ? m >= qf && m < qt : m >= qf || m < qt)) {
            if (!bad++) print_message("%s: a delivery at minute %d of the local day is in quiet hours\n", tzname, m);
        }
    }
    if (bad) fail_msg("%s: %d violations over %zu deliveries", tzname, bad, n);
    print_message("%s: %zu deliveries, %llu held for quiet hours, %llu queued, %llu capped\n", tzname, n,
                  (unsigned long long)dec[TL_DEC_QUIET], (unsigned long long)dec[TL_DEC_QUEUED],
                  (unsigned long long)dec[TL_DEC_CAPPED]);
    free(r);
    for (int k = 0; k < NCAMP; k++) tl_campaign_fini(&c[k]);
    tl_store_close(st);
}

static void test_caps_east(void **state) {
    (void)state;
    scenario("+05:30", 330, UINT64_C(0x9e3779b97f4a7c15), 1);
}

static void test_caps_west(void **state) {
    (void)state;
    scenario("-04:00", -240, UINT64_C(0x2545f4914f6cdd1d), 0);
}

static uint64_t count(const tl_buf_t *b, const char *s) {
    uint64_t n = 0;
    for (const char *p = b->data, *end = b->data + b->len; (p = memmem(p, (size_t)(end - p), s, strlen(s))); p++)
        n++;
    return n;
}

static void run_at(tl_store_t *st, const tl_campaign_t *c, const char *at, int dec, uint64_t want) {
    tl_run_opts_t o = {0};
    tl_run_result_t res;
    tl_errbuf_t eb;
    assert_int_equal(tl_time_parse(at, strlen(at), &o.at), 0);
    assert_int_equal(tl_campaign_run(st, c, &o, &res, &eb), 0);
    if (res.counts[dec] != want)
        fail_msg("%s at %s: %llu %s, not %llu", c->id, at, (unsigned long long)res.counts[dec],
                 tl_decision_name(dec), (unsigned long long)want);
}

/* One push a local day, two runs in one evening's quiet hours: the first
 * holds its pushes to 08:00, the second finds that morning taken; queued,
 * a third goes the morning after. */
static void test_quiet_evening(void **state) {
    (void)state;
    tl_store_t *st = world();
    tl_errbuf_t eb;
    tl_campaign_t c[2];
    static const char *const DEFS[2] = {
        "{\"id\":\"n\",\"channels\":[\"push\"],\"timezone\":\"+08:00\","
        "\"caps\":[{\"channel\":\"push\",\"max\":1,\"per\":\"day\"}]}",
        "{\"id\":\"q\",\"channels\":[\"push\"],\"timezone\":\"+08:00\",\"queue_over_cap\":true,"
        "\"caps\":[{\"channel\":\"push\",\"max\":1,\"per\":\"day\"}]}"};
    for (int k = 0; k < 2; k++) assert_int_equal(tl_campaign_create(st, DEFS[k], 0, &c[k], &eb), 0);
    run_at(st, &c[0], "2025-11-20T22:30:00+08:00", TL_DEC_QUIET, NU);
    run_at(st, &c[0], "2025-11-20T23:30:00+08:00", TL_DEC_CAPPED, NU);
    run_at(st, &c[1], "2025-11-20T23:45:00+08:00", TL_DEC_QUEUED, NU);
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_store_applog_read(st, "outbox/push", 0, &b, &eb), 0);
    assert_int_equal(count(&b, "\n"), 2 * NU);
    assert_int_equal(count(&b, "\"at\":\"2025-11-21T00:00:00Z\",\"status\":\"quiet_hours\""), NU);
    assert_int_equal(count(&b, "\"at\":\"2025-11-22T00:00:00Z\",\"status\":\"queued\""), NU);
    tl_buf_fini(&b);
    for (int k = 0; k < 2; k++) tl_campaign_fini(&c[k]);
    tl_store_close(st);
}

/* 70,000 users a run, more than a chunk of the contacts log's index: each
 * run must count exactly the contacts in its caps' reach, whether read
 * whole, from a chunk on, or after a retention cut emptied the index. */
static void test_contacts_index(void **state) {
    (void)state;
    enum { N = 70000 };
    tl_store_t *st;
    tl_errbuf_t eb;
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    for (int u = 0; u < N; u++) {
        char id[16];
        uint32_t idx;
        snprintf(id, sizeof id, "u%05d", u);
        assert_int_equal(tl_dict_intern(users, id, strlen(id), &idx, NULL), 0);
    }
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_campaign_t c;
    assert_int_equal(tl_campaign_create(st, "{\"id\":\"z\",\"channels\":[\"in_app\"],"
                                            "\"caps\":[{\"max\":1,\"per\":\"day\"}]}", 0, &c, &eb), 0);
    tl_buf_t b;
    tl_buf_init(&b);
    run_at(st, &c, "2025-11-20T10:00:00+08:00", TL_DEC_SENT, N);
    assert_int_equal(tl_store_blob_get(st, "contacts", &b, &eb), TL_ENOENT); /* not a whole chunk read yet */
    run_at(st, &c, "2025-11-20T11:00:00+08:00", TL_DEC_CAPPED, N);
    tl_buf_clear(&b);
    assert_int_equal(tl_store_blob_get(st, "contacts", &b, &eb), 0);
    assert_int_equal(b.len, 16 + 8); /* one chunk indexed, by the run that read it */
    run_at(st, &c, "2025-11-25T10:00:00+08:00", TL_DEC_SENT, N);   /* the old chunk skipped */
    run_at(st, &c, "2025-11-25T11:00:00+08:00", TL_DEC_CAPPED, N); /* the new ones read */
    tl_buf_clear(&b);
    assert_int_equal(tl_store_blob_get(st, "contacts", &b, &eb), 0);
    assert_int_equal(b.len, 16 + 2 * 8);
    /* retention drops the first days' contacts: the index goes with them */
    tl_purge_stats_t ps;
    int logs, rebuilt;
    int64_t cut;
    assert_int_equal(tl_time_parse("2025-11-23T00:00:00Z", 20, &cut), 0);
    assert_int_equal(tl_privacy_retain(st, cut, &ps, &logs, &rebuilt, &eb), 0);
    tl_buf_clear(&b);
    assert_int_equal(tl_store_blob_get(st, "contacts", &b, &eb), 0);
    assert_int_equal(b.len, 0);
    run_at(st, &c, "2025-11-25T12:00:00+08:00", TL_DEC_CAPPED, N);
    run_at(st, &c, "2025-11-27T10:00:00+08:00", TL_DEC_SENT, N);
    tl_buf_clear(&b);
    assert_int_equal(tl_store_blob_get(st, "contacts", &b, &eb), 0);
    assert_int_equal(b.len, 16 + 8); /* made anew from the 70,000 left */
    tl_buf_fini(&b);
    tl_campaign_fini(&c);
    tl_store_close(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_caps_east, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_caps_west, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_quiet_evening, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_contacts_index, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
