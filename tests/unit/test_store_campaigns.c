/* Unit tests of the store's campaign repositories (src/store/campaigns.h):
 * campaigns and their runs, do-not-contact, delivery states, feedback, the
 * list of side logs, and what a purge takes out of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "store/store.h"

#include "tmpdir.h"

static tl_errbuf_t eb;

static tl_store_t *open_store(void) {
    tl_store_t *st = NULL;
    int rc = test_store_open(dir, TL_STORE_CREATE, &st, &eb);
    if (rc) fprintf(stderr, "open: %s\n", eb.msg);
    assert_int_equal(rc, 0);
    return st;
}

/* ---- campaigns and runs ------------------------------------------------------------ */

typedef struct {
    int n;
    char ids[4][16], def[64], status[16];
    int64_t created, last_at;
    uint64_t runs, sends;
    double cost;
} seen_t;

static int seen_row(const tl_campaign_row_t *r, void *arg) {
    seen_t *s = arg;
    if (s->n < 4) snprintf(s->ids[s->n], sizeof s->ids[0], "%s", r->id);
    s->n++;
    snprintf(s->def, sizeof s->def, "%s", r->def);
    snprintf(s->status, sizeof s->status, "%s", r->status);
    s->created = r->created, s->last_at = r->last_at, s->runs = r->runs, s->sends = r->sends;
    s->cost = r->cost;
    return 0;
}

static void test_campaign_put_get_scan(void **state) {
    (void)state;
    tl_store_t *st = open_store();
    seen_t s = {0};
    assert_int_equal(tl_store_campaign_get(st, "c1", seen_row, &s, &eb), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_campaign_put(st, "c2", "{\"id\":\"c2\"}", 5, &eb), 1);
    assert_int_equal(tl_store_campaign_put(st, "c1", "{\"v\":1}", 7, &eb), 1);
    /* the batch's own writes are seen */
    assert_int_equal(tl_store_campaign_get(st, "c1", seen_row, &s, &eb), 1);
    assert_string_equal(s.def, "{\"v\":1}");
    assert_int_equal(tl_store_campaign_set_status(st, "c1", "paused", &eb), 1);
    assert_int_equal(tl_store_campaign_set_status(st, "nope", "paused", &eb), 0);
    /* a new definition keeps status and creation time */
    assert_int_equal(tl_store_campaign_put(st, "c1", "{\"v\":2}", 9, &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(tl_store_campaign_get(st, "c1", seen_row, &s, &eb), 1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.def, "{\"v\":2}");
    assert_string_equal(s.status, "paused");
    assert_int_equal(s.created, 7);
    assert_int_equal(s.runs, 0);
    assert_true(s.last_at == INT64_MIN);
    memset(&s, 0, sizeof s);
    assert_int_equal(tl_store_campaign_scan(st, seen_row, &s, &eb), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "c1");
    assert_string_equal(s.ids[1], "c2");
    assert_string_equal(s.status, "active");
    tl_store_close(st);
}

typedef struct {
    int n;
    uint64_t run[4];
    int64_t at[4], started[4];
    char counts[4][32];
} runs_t;

static int runs_row(const tl_campaign_run_row_t *r, void *arg) {
    runs_t *x = arg;
    if (x->n < 4) {
        x->run[x->n] = r->run, x->at[x->n] = r->at, x->started[x->n] = r->started;
        snprintf(x->counts[x->n], sizeof x->counts[0], "%s", r->counts);
    }
    x->n++;
    return 0;
}

static void test_campaign_runs(void **state) {
    (void)state;
    tl_store_t *st = open_store();
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_campaign_put(st, "c", "{}", 1, &eb), 1);
    tl_campaign_run_row_t r2 = {2, 200, 2000, "{\"sent\":3}"}, r1 = {1, 100, 1000, "{\"sent\":5}"};
    assert_int_equal(tl_store_campaign_run_add(st, "c", &r2, 3, 0.5, &eb), 0);
    assert_int_equal(tl_store_campaign_run_add(st, "c", &r1, 5, 1.25, &eb), 0);
    assert_true(tl_store_campaign_run_add(st, "c", &r1, 5, 1.25, &eb) < 0); /* run 1 exists */
    assert_int_equal(tl_store_commit(st, &eb), 0);
    seen_t s = {0};
    assert_int_equal(tl_store_campaign_get(st, "c", seen_row, &s, &eb), 1);
    assert_int_equal(s.runs, 2);
    assert_int_equal(s.last_at, 100); /* the last run recorded */
    assert_int_equal(s.sends, 8);
    assert_true(s.cost == 1.75);
    runs_t x = {0};
    assert_int_equal(tl_store_campaign_runs(st, "c", runs_row, &x, &eb), 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.run[0], 1);
    assert_int_equal(x.at[0], 100);
    assert_int_equal(x.started[0], 1000);
    assert_string_equal(x.counts[0], "{\"sent\":5}");
    assert_int_equal(x.run[1], 2);
    /* a rolled-back run leaves neither its row nor its count */
    tl_campaign_run_row_t r3 = {3, 300, 3000, "{}"};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_campaign_run_add(st, "c", &r3, 1, 1, &eb), 0);
    tl_store_rollback(st);
    memset(&x, 0, sizeof x);
    assert_int_equal(tl_store_campaign_runs(st, "c", runs_row, &x, &eb), 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(tl_store_campaign_get(st, "c", seen_row, &s, &eb), 1);
    assert_int_equal(s.runs, 2);
    memset(&x, 0, sizeof x);
    assert_int_equal(tl_store_campaign_runs(st, "other", runs_row, &x, &eb), 0);
    assert_int_equal(x.n, 0);
    tl_store_close(st);
}

/* ---- do-not-contact ----------------------------------------------------------------- */

typedef struct {
    int n;
    char got[8][40];
} list_t;

static int dnc_row(const tl_dnc_row_t *d, void *arg) {
    list_t *l = arg;
    if (l->n < 8)
        snprintf(l->got[l->n], sizeof l->got[0], "%u/%s/%s/%lld/%s", d->user, d->channel, d->reason,
                 (long long)d->at, d->campaign ? d->campaign : "-");
    l->n++;
    return 0;
}

static void test_dnc(void **state) {
    (void)state;
    tl_store_t *st = open_store();
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_dnc_put(st, 3, "sms", "bounced", 50, "c", &eb), 1);
    assert_int_equal(tl_store_dnc_put(st, 1, "*", "manual", 10, NULL, &eb), 1);
    assert_int_equal(tl_store_dnc_put(st, 1, "email", "complained", 20, NULL, &eb), 1);
    /* the first entry for a pair stays: a later one changes nothing */
    assert_int_equal(tl_store_dnc_put(st, 3, "sms", "manual", 5, NULL, &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    list_t l = {0};
    assert_int_equal(tl_store_dnc_scan(st, 50, dnc_row, &l, &eb), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.got[0], "1/*/manual/10/-");
    assert_string_equal(l.got[1], "1/email/complained/20/-");
    assert_string_equal(l.got[2], "3/sms/bounced/50/c");
    memset(&l, 0, sizeof l);
    assert_int_equal(tl_store_dnc_scan(st, 49, dnc_row, &l, &eb), 0); /* 3/sms kept its time 50 */
    assert_int_equal(l.n, 2);
    /* one user's entries, by time */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_dnc_put(st, 1, "push", "bounced", 5, NULL, &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    memset(&l, 0, sizeof l);
    assert_int_equal(tl_store_dnc_of_user(st, 1, dnc_row, &l, &eb), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.got[0], "1/push/bounced/5/-");
    assert_string_equal(l.got[2], "1/email/complained/20/-");
    tl_store_close(st);
}

/* ---- delivery states ------------------------------------------------------------------ */

typedef struct {
    int n;
    uint64_t off[8];
} offs_t;

static int off_row(uint64_t off, void *arg) {
    offs_t *o = arg;
    if (o->n < 8) o->off[o->n] = off;
    o->n++;
    return 0;
}

static offs_t held(tl_store_t *st, const char *ch, int64_t due_by) {
    offs_t o = {0};
    assert_int_equal(tl_store_deliveries_held(st, ch, due_by, off_row, &o, &eb), 0);
    return o;
}

static void test_deliveries(void **state) {
    (void)state;
    tl_store_t *st = open_store();
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:b", "sms", 300, 20, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:a", "sms", 100, 10, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:c", "push", 0, 10, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:a", "sms", 100, 99, &eb), 0); /* kept */
    assert_int_equal(tl_store_commit(st, &eb), 0);
    offs_t o = held(st, "sms", 20);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.off[0], 100);
    assert_int_equal(o.off[1], 300);
    assert_int_equal(held(st, "sms", 15).n, 1); /* b is not due yet */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_delivery_done(st, "c:1:a", 30, &eb), 0);
    assert_int_equal(tl_store_delivery_fail(st, "c:1:b", "sms", 300, 410, 30, 20, &eb), 0);
    assert_int_equal(tl_store_delivery_done(st, "c:9:z", 30, &eb), 0); /* no state: nothing */
    /* a failed record is not parked again */
    assert_int_equal(tl_store_delivery_hold(st, "c:1:b", "sms", 300, 20, &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    assert_int_equal(held(st, "sms", 100).n, 0);
    assert_int_equal(held(st, "push", 100).n, 1);
    tl_store_close(st);
}

/* ---- feedback ---------------------------------------------------------------------------- */

typedef struct {
    int n;
    tl_feedback_row_t f[4];
    char kind[4][16];
} fbs_t;

static int fb_row(const tl_feedback_row_t *f, void *arg) {
    fbs_t *x = arg;
    if (x->n < 4) {
        x->f[x->n] = *f;
        snprintf(x->kind[x->n], sizeof x->kind[0], "%s", f->kind);
        x->f[x->n].kind = x->f[x->n].campaign = x->f[x->n].channel = x->f[x->n].source = NULL;
    }
    x->n++;
    return 0;
}

typedef struct {
    int n;
    uint32_t item[4];
    uint64_t count[4];
} neg_t;

static int neg_row(uint32_t item, uint64_t n, void *arg) {
    neg_t *x = arg;
    if (x->n < 4) x->item[x->n] = item, x->count[x->n] = n;
    x->n++;
    return 0;
}

static void test_feedback(void **state) {
    (void)state;
    tl_store_t *st = open_store();
    tl_feedback_row_t rows[] = {
        {4, "complaint", "c", "sms", 7, NAN, 100, "f.csv", 2},
        {5, "review", "c", NULL, 3, 2, 110, "f.csv", 3},
        {6, "review", NULL, NULL, 3, 3, 120, "f.csv", 4},
        {7, "complaint", "d", NULL, TL_NONE, NAN, 130, "f.csv", 5},
        {8, "unsubscribe", "c", NULL, 3, NAN, 140, "f.csv", 6},
        {9, "complaint", NULL, NULL, 7, NAN, 150, "g.csv", 2},
    };
    assert_int_equal(tl_store_begin(st, &eb), 0);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        assert_int_equal(tl_store_feedback_add(st, &rows[i], &eb), 1);
    tl_feedback_row_t again = rows[1];
    again.user = 99;
    assert_int_equal(tl_store_feedback_add(st, &again, &eb), 0); /* same source and line */
    assert_int_equal(tl_store_commit(st, &eb), 0);
    fbs_t x = {0};
    assert_int_equal(tl_store_feedback_scan(st, "c", fb_row, &x, &eb), 0);
    assert_int_equal(x.n, 3);
    assert_int_equal(x.f[0].user, 4);
    assert_string_equal(x.kind[0], "complaint");
    assert_int_equal(x.f[0].item, 7);
    assert_true(isnan(x.f[0].score));
    assert_int_equal(x.f[0].at, 100);
    assert_int_equal(x.f[0].line, 2);
    assert_int_equal(x.f[1].user, 5);
    assert_true(x.f[1].score == 2);
    assert_int_equal(x.f[2].user, 8);
    memset(&x, 0, sizeof x);
    assert_int_equal(tl_store_feedback_scan(st, "d", fb_row, &x, &eb), 0);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.f[0].item, TL_NONE);
    /* one user's records, by time */
    tl_feedback_row_t later = {4, "survey", NULL, NULL, TL_NONE, 9, 50, "g.csv", 3};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_feedback_add(st, &later, &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    memset(&x, 0, sizeof x);
    assert_int_equal(tl_store_feedback_of_user(st, 4, fb_row, &x, &eb), 0);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.kind[0], "survey");
    assert_true(x.f[0].score == 9);
    assert_string_equal(x.kind[1], "complaint");
    /* complaints and reviews of 2 or less, per item, in item order */
    neg_t n = {0};
    assert_int_equal(tl_store_feedback_negative(st, neg_row, &n, &eb), 0);
    assert_int_equal(n.n, 2);
    assert_int_equal(n.item[0], 3);
    assert_int_equal(n.count[0], 1);
    assert_int_equal(n.item[1], 7);
    assert_int_equal(n.count[1], 2);
    tl_store_close(st);
}

/* ---- side logs --------------------------------------------------------------------------- */

static int path_row(const char *path, void *arg) {
    list_t *l = arg;
    if (l->n < 8) snprintf(l->got[l->n], sizeof l->got[0], "%s", path);
    l->n++;
    return 0;
}

static void test_applog_list(void **state) {
    (void)state;
    tl_store_t *st = open_store();
    list_t l = {0};
    assert_int_equal(tl_store_applog_list(st, path_row, &l, &eb), 0);
    assert_int_equal(l.n, 0);
    tl_applog_t *a, *b;
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_applog_open(st, "outbox/sms", &b, &eb), 0);
    assert_int_equal(tl_store_applog_open(st, "exposures/x", &a, &eb), 0);
    assert_int_equal(tl_applog_write(a, "0123456789abcdef", 16, &eb), 0);
    assert_int_equal(tl_applog_write(b, "{}\n", 3, &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    assert_int_equal(tl_store_applog_list(st, path_row, &l, &eb), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.got[0], "exposures/x");
    assert_string_equal(l.got[1], "outbox/sms");
    tl_store_close(st);
}

/* The local back end keeps a side log in the file its name maps onto (the
 * files of data directories made before logs had names), and lists the
 * logs found there by name. */
static void test_applog_files(void **state) {
    (void)state;
    tl_store_t *st = open_store();
    static const struct {
        const char *name, *file;
        uint64_t len;
    } F[] = {{"outbox/push", "outbox/push.jsonl", 3},
             {"exposures/spring_2.b", "campaigns/spring_2.b/exposures.bin", 16},
             {"contacts", "campaigns/contacts.bin", 32}};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    for (int k = 0; k < 3; k++) {
        tl_applog_t *l;
        char bytes[32] = "{}\n";
        assert_int_equal(tl_store_applog_open(st, F[k].name, &l, &eb), 0);
        assert_int_equal(tl_applog_write(l, bytes, F[k].len, &eb), 0);
    }
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_store_close(st);
    for (int k = 0; k < 3; k++) {
        char path[4300];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, F[k].file);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal((uint64_t)sb.st_size, F[k].len);
    }
    st = open_store();
    list_t l = {0};
    assert_int_equal(tl_store_applog_list(st, path_row, &l, &eb), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.got[0], "contacts");
    assert_string_equal(l.got[1], "exposures/spring_2.b");
    assert_string_equal(l.got[2], "outbox/push");
    uint64_t len;
    assert_int_equal(tl_store_applog_committed(st, "exposures/spring_2.b", &len, &eb), 0);
    assert_int_equal(len, 16);
    tl_store_close(st);
}

/* ---- purge ----------------------------------------------------------------------------------- */

static void test_purge_campaign_rows(void **state) {
    (void)state;
    tl_store_t *st = open_store();
    tl_user_t u = {.birth_year = 0, .registered_at = INT64_MIN};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_put_user(st, "alice", &u, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "bob", &u, &eb), 1);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    uint32_t alice = tl_dict_find(users, "alice", 5), bob = tl_dict_find(users, "bob", 3);
    assert_int_equal(tl_store_dnc_put(st, alice, "*", "manual", 10, NULL, &eb), 1);
    assert_int_equal(tl_store_dnc_put(st, bob, "*", "manual", 10, NULL, &eb), 1);
    tl_feedback_row_t fa = {alice, "complaint", "c", NULL, TL_NONE, NAN, 100, "f", 1};
    tl_feedback_row_t fb = {bob, "complaint", "c", NULL, TL_NONE, NAN, 100, "f", 2};
    tl_feedback_row_t old = {bob, "unsubscribe", "c", NULL, TL_NONE, NAN, 5, "f", 3};
    assert_int_equal(tl_store_feedback_add(st, &fa, &eb), 1);
    assert_int_equal(tl_store_feedback_add(st, &fb, &eb), 1);
    assert_int_equal(tl_store_feedback_add(st, &old, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:alice", "sms", 0, 1, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:malice", "sms", 10, 1, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:bob", "sms", 20, 1, &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_purge_t p = {.user = alice, .before = INT64_MIN};
    tl_purge_stats_t ps;
    assert_int_equal(tl_store_purge(st, &p, &ps, &eb), 0);
    assert_true(ps.rows >= 2); /* alice's entry and feedback, with her attributes */
    list_t l = {0};
    assert_int_equal(tl_store_dnc_scan(st, 100, dnc_row, &l, &eb), 0);
    assert_int_equal(l.n, 1);
    fbs_t x = {0};
    assert_int_equal(tl_store_feedback_scan(st, "c", fb_row, &x, &eb), 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.f[0].user, bob);
    /* only the states whose id ends with ":alice" */
    offs_t o = held(st, "sms", 100);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.off[0], 10);
    assert_int_equal(o.off[1], 20);
    /* the retention cut takes older feedback */
    tl_purge_t cut = {.user = TL_NONE, .before = 50};
    assert_int_equal(tl_store_purge(st, &cut, &ps, &eb), 0);
    memset(&x, 0, sizeof x);
    assert_int_equal(tl_store_feedback_scan(st, "c", fb_row, &x, &eb), 0);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.f[0].at, 100);
    tl_store_close(st);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)
    const struct CMUnitTest tests[] = {
        T(test_campaign_put_get_scan), T(test_campaign_runs), T(test_dnc),
        T(test_deliveries),            T(test_feedback),      T(test_applog_list),
        T(test_applog_files),
        T(test_purge_campaign_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
