/* Unit tests of src/campaign on a small store built in place: decisions add
 * up; consent, do-not-contact and caps hold; the hold-out split is stable;
 * quiet hours move the send time; a dry run and a rolled-back run leave the
 * side logs as they were; an uncommitted tail is cut at the next open; bad
 * definitions are refused with the field named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "campaign/campaign.h"
#include "tmpdir.h"

enum { NU = 3000 };
#define T0 INT64_C(1763600000000) /* 2025-11-20T00:53:20Z */

static tl_store_t *world(void) {
    tl_store_t *st;
    tl_errbuf_t eb;
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    for (int u = 0; u < NU; u++) {
        char id[16];
        uint32_t idx;
        snprintf(id, sizeof id, "u%05d", u);
        assert_int_equal(tl_dict_intern(users, id, strlen(id), &idx, NULL), 0);
        /* every third user has no push consent; every seventh revoked it later */
        if (u % 3) assert_true(tl_store_put_consent(st, idx, "marketing_push", 1, T0 - 86400000, &eb) >= 0);
        if (u % 7 == 0) assert_true(tl_store_put_consent(st, idx, "marketing_push", 0, T0 - 3600000, &eb) >= 0);
        assert_true(tl_store_put_consent(st, idx, "marketing_sms", 1, T0 - 86400000, &eb) >= 0);
    }
    assert_int_equal(tl_store_commit(st, &eb), 0);
    return st;
}

static const char DEF[] =
    "{\"id\":\"t\",\"channels\":[\"push\",\"sms\"],\"content\":{\"type\":\"coupon\",\"code\":\"C\"},"
    "\"arms\":[{\"name\":\"A\"},{\"name\":\"B\",\"weight\":3}],\"holdout\":20,"
    "\"caps\":[{\"channel\":\"push\",\"max\":1,\"per\":\"day\"},{\"max\":2,\"per\":\"7d\"}],"
    "\"timezone\":\"+08:00\"}";

static void run(tl_store_t *st, const tl_campaign_t *c, int64_t at, int dry, tl_run_result_t *r) {
    tl_run_opts_t o = {.at = at, .dry_run = dry};
    tl_errbuf_t eb;
    assert_int_equal(tl_campaign_run(st, c, &o, r, &eb), 0);
    uint64_t sum = 0;
    for (int d = 0; d < TL_DEC__N; d++) sum += r->counts[d];
    assert_int_equal(sum, r->audience);
    assert_int_equal(r->audience, NU);
}

static void test_runs(void **state) {
    (void)state;
    tl_store_t *st = world();
    tl_errbuf_t eb;
    tl_campaign_t c;
    assert_int_equal(tl_campaign_create(st, DEF, 0, &c, &eb), 0);
    tl_campaign_t again;
    assert_int_equal(tl_campaign_create(st, DEF, 0, &again, &eb), TL_EEXIST);
    tl_campaign_t c2;
    assert_int_equal(tl_campaign_get(st, "t", &c2, &eb), 0);
    tl_run_result_t r1, dry, r2, r3;
    run(st, &c2, T0 + 3 * 3600000, 1, &dry); /* 11:53 local */
    uint64_t len;
    assert_int_equal(tl_store_applog_committed(st, "outbox/push", &len, &eb), 0);
    assert_int_equal(len, 0);
    run(st, &c2, T0 + 3 * 3600000, 0, &r1);
    assert_memory_equal(dry.counts, r1.counts, sizeof dry.counts);
    /* the dry run took no run number */
    assert_true(dry.dry_run && !r1.dry_run);
    assert_int_equal(dry.run, 0);
    assert_int_equal(r1.run, 1);
    /* no push consent for a third, revoked for a seventh: they fall back to sms */
    assert_int_equal(r1.counts[TL_DEC_NO_CONSENT], 0);
    assert_true(r1.by_channel[TL_DCH_SMS] > 0 && r1.by_channel[TL_DCH_PUSH] > 0);
    double share = (double)r1.counts[TL_DEC_HOLDOUT] / NU;
    assert_true(share > 0.17 && share < 0.23);
    /* an hour later: push is capped for the day, sms is still under the 7-day cap */
    run(st, &c2, T0 + 4 * 3600000, 0, &r2);
    assert_int_equal(r2.by_channel[TL_DCH_PUSH], 0);
    assert_int_equal(r2.counts[TL_DEC_HOLDOUT], r1.counts[TL_DEC_HOLDOUT]);
    /* and again: two contacts in 7 days is the limit */
    run(st, &c2, T0 + 5 * 3600000, 0, &r3);
    assert_int_equal(r3.counts[TL_DEC_CAPPED], NU - r3.counts[TL_DEC_HOLDOUT]);
    /* the exposures: every decision, hold-out the same users each run */
    tl_exposure_t *ex;
    uint64_t n;
    assert_int_equal(tl_campaign_exposures(st, "t", &ex, &n, &eb), 0);
    assert_int_equal(n, 3 * NU);
    for (uint64_t i = 0; i < NU; i++) {
        assert_int_equal(ex[i].user, ex[NU + i].user);
        assert_int_equal(ex[i].decision == TL_DEC_HOLDOUT, ex[NU + i].decision == TL_DEC_HOLDOUT);
        assert_int_equal(ex[i].arm_chan >> 4, ex[NU + i].arm_chan >> 4); /* the same arm */
    }
    free(ex);
    /* a campaign without caps the day after at 22:53 local: held to 08:00 */
    tl_campaign_t q;
    tl_run_result_t r4;
    assert_int_equal(tl_campaign_create(st, "{\"id\":\"q\",\"channels\":[\"push\"]}", 0, &q, &eb), 0);
    run(st, &q, T0 + (24 + 14) * 3600000, 0, &r4);
    assert_true(r4.counts[TL_DEC_QUIET] > 0 && r4.counts[TL_DEC_SENT] == 0);
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_store_applog_read(st, "outbox/push", 0, &b, &eb), 0);
    static const char want1[] = "\"campaign\":\"q\",\"run\":1,";
    static const char want2[] = "\"at\":\"2025-11-22T00:00:00Z\",\"status\":\"quiet_hours\"";
    assert_non_null(memmem(b.data, b.len, want1, sizeof want1 - 1));
    assert_non_null(memmem(b.data, b.len, want2, sizeof want2 - 1));
    tl_buf_fini(&b);
    tl_campaign_fini(&q);
    tl_campaign_fini(&c2);
    tl_campaign_fini(&c);
    tl_store_close(st);
}

/* A tail written after the last commit (a run killed before committing) is
 * cut by the next writer; readers never see it. */
static void test_uncommitted_tail(void **state) {
    (void)state;
    tl_store_t *st = world();
    tl_errbuf_t eb;
    tl_campaign_t c;
    tl_run_result_t r;
    assert_int_equal(tl_campaign_create(st, DEF, 0, &c, &eb), 0);
    run(st, &c, T0 + 3 * 3600000, 0, &r);
    uint64_t len;
    assert_int_equal(tl_store_applog_committed(st, "outbox/sms", &len, &eb), 0);
    /* a batch that writes and rolls back */
    tl_applog_t *l;
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_applog_open(st, "outbox/sms", &l, &eb), 0);
    char junk[8192];
    memset(junk, 'x', sizeof junk);
    for (int k = 0; k < 1000; k++) assert_int_equal(tl_applog_write(l, junk, sizeof junk, &eb), 0);
    tl_store_rollback(st);
    tl_store_close(st);
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/outbox/sms.jsonl", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal((uint64_t)sb.st_size, len);
    /* garbage beyond the committed length, as a crash would leave */
    FILE *f = fopen(path, "a");
    fputs("{\"half a line", f);
    fclose(f);
    assert_int_equal(test_store_open(dir, 0, &st, &eb), 0);
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_store_applog_read(st, "outbox/sms", 0, &b, &eb), 0);
    assert_int_equal(b.len, len);
    assert_int_equal(b.data[b.len - 1], '\n');
    tl_buf_fini(&b);
    run(st, &c, T0 + 30 * 3600000, 0, &r);
    assert_int_equal(stat(path, &sb), 0);
    tl_buf_init(&b);
    assert_int_equal(tl_store_applog_read(st, "outbox/sms", 0, &b, &eb), 0);
    assert_int_equal((uint64_t)sb.st_size, b.len);
    assert_null(memmem(b.data, b.len, "half a line", 11));
    tl_buf_fini(&b);
    tl_campaign_fini(&c);
    tl_store_close(st);
}

/* Consents in force, off the snapshot and past it: records later than the
 * time asked are looked up; added consents make the snapshot stale; a
 * damaged snapshot or a read-only store falls back to the table. */
static void check_push(tl_store_t *st, int64_t at, int revoked_counts, int user0) {
    const char *p[2] = {"marketing_sms", "marketing_push"};
    uint8_t bits[NU];
    tl_errbuf_t eb;
    assert_int_equal(tl_store_consents_asof(st, p, 2, at, bits, NU, &eb), 0);
    for (int u = 0; u < NU; u++) {
        int push = u % 3 && !(revoked_counts && u % 7 == 0);
        if (u == 0 && user0) push = 1;
        if ((bits[u] >> 1 & 1) != push || !(bits[u] & 1)) fail_msg("user %d at %lld: bits %d", u, (long long)at, bits[u]);
    }
    /* who opted out: a revocation in force; no record at all is not one */
    uint8_t out[NU];
    assert_int_equal(tl_store_consents_withdrawn(st, "marketing_push", at, out, NU, &eb), 0);
    for (int u = 0; u < NU; u++) {
        int wd = revoked_counts && u % 7 == 0 && !(u == 0 && user0);
        if (out[u] != wd) fail_msg("user %d at %lld: withdrawn %d", u, (long long)at, out[u]);
    }
}

static void test_consents_in_force(void **state) {
    (void)state;
    tl_store_t *st = world();
    tl_errbuf_t eb;
    check_push(st, T0 - 2 * 3600000, 0, 0); /* before the revocations */
    check_push(st, T0, 1, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/consents.snap", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    /* a new grant: the snapshot is stale and made again */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_true(tl_store_put_consent(st, 0, "marketing_push", 1, T0 - 1800000, &eb) > 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    check_push(st, T0, 1, 1);
    check_push(st, T0 - 2 * 3600000, 0, 0);
    tl_store_close(st);
    /* damage a block: the table answers */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -10, SEEK_END);
    fputc('x', f), fputc('y', f);
    fclose(f);
    assert_int_equal(test_store_open(dir, TL_STORE_READONLY, &st, &eb), 0);
    check_push(st, T0, 1, 1);
    tl_store_close(st);
}

static void test_bad_definitions(void **state) {
    (void)state;
    static const struct {
        const char *json, *names;
    } bad[] = {
        {"{\"channels\":[\"push\"]}", "\"id\""},
        {"{\"id\":\"a b\",\"channels\":[\"push\"]}", "\"id\""},
        {"{\"id\":\"x\"}", "channels"},
        {"{\"id\":\"x\",\"channels\":[\"pigeon\"]}", "pigeon"},
        {"{\"id\":\"x\",\"channels\":[\"push\",\"push\"]}", "twice"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"holdout\":100}", "holdout"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"arms\":[{\"name\":\"A\",\"weight\":0}]}", "weight"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"caps\":[{\"max\":1,\"per\":\"fortnight\"}]}", "fortnight"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"schedule\":{\"daily\":\"25:00\"}}", "daily"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"trigger\":{\"event\":\"cart\",\"within\":\"2h\"}}", "unless"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"trigger\":{\"event\":\"purchase\",\"min_amount\":-1}}", "min_amount"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"budget\":{\"daily_sends\":10}}", "trigger campaigns"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"trigger\":{\"event\":\"view\"},\"budget\":{\"daily_sends\":10,\"pacing\":\"fast\"}}", "pacing"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"trigger\":{\"event\":\"city_change\",\"min_amount\":5}}", "min_amount"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"colour\":\"red\"}", "colour"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"content\":{\"type\":\"coupon\"}}", "code"},
        {"{\"id\":\"x\",\"channels\":[\"push\"],\"holdout\":\"ten\"}", "holdout"},
        {"[1,2]", "object"},
        {"{\"id\":", "JSON"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        tl_campaign_t c;
        tl_errbuf_t eb = {{0}};
        assert_int_equal(tl_campaign_parse(bad[k].json, &c, &eb), TL_EBADINPUT);
        if (!strstr(eb.msg, bad[k].names)) fail_msg("%s: \"%s\" does not name %s", bad[k].json, eb.msg, bad[k].names);
    }
    tl_campaign_t c;
    tl_errbuf_t eb;
    assert_int_equal(tl_campaign_parse("{\"id\":\"ok\",\"channels\":[\"email\"]}", &c, &eb), 0);
    assert_int_equal(c.narms, 1);
    assert_int_equal(c.quiet_from, 22 * 60);
    assert_int_equal(c.window_ms, 7 * TL_MS_PER_DAY);
    tl_campaign_fini(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runs, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_uncommitted_tail, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_consents_in_force, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test(test_bad_definitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
