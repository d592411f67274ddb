/* Contract tests of the store's back-end interface (store/backend.h): the
 * same assertions run against the local back end (a data directory) and a
 * small one in memory (store_mem.c): id assignment, upserts and scans,
 * batches, events by column and from a sequence, blobs, consents in
 * force, settings and segments, API keys and audit entries, personal
 * fields, the quarantine, campaigns and their runs, delivery states,
 * do-not-contact entries and feedback, counts, event totals and the check,
 * the built-in event types and channels every new store starts with, blob
 * writers, maps and appends (the writers also through the store's own over
 * blob_put), side logs;
 * pseudonyms and MACs, the audit anchor, the purge of a user (tombstones)
 * and of old records, key rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/backend.h"

#include "tmpdir.h"

extern const tl_store_backend_t tl_test_store_mem;

static tl_store_t *open_be(void **state) {
    tl_store_conf_t c = *test_conf();
    c.backend = *state;
    tl_store_t *st = NULL;
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_open_conf(dir, &c, TL_STORE_CREATE, &st, &eb);
    if (rc) fprintf(stderr, "open: %s\n", eb.msg);
    assert_int_equal(rc, 0);
    return st;
}

static void begin(tl_store_t *st) {
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_begin(st, &eb), 0);
}

static void commit(tl_store_t *st) {
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_commit(st, &eb);
    if (rc) fprintf(stderr, "commit: %s\n", eb.msg);
    assert_int_equal(rc, 0);
}

static uint32_t find_id(tl_store_t *st, tl_dkind_t k, const char *id) {
    tl_errbuf_t eb = {{0}};
    tl_dict_t *d = tl_store_dict(st, k, &eb);
    assert_non_null(d);
    return tl_dict_find(d, id, strlen(id));
}

/* ---- id assignment --------------------------------------------------------------- */

static void test_ids(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_user_t u = {.birth_year = 0, .registered_at = INT64_MIN};
    begin(st);
    assert_int_equal(tl_store_put_user(st, "carol", &u, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "alice", &u, &eb), 1);
    commit(st);
    assert_int_equal(find_id(st, TL_D_USER, "carol"), 0);
    assert_int_equal(find_id(st, TL_D_USER, "alice"), 1);
    /* a rolled-back id is forgotten; the next takes its index */
    begin(st);
    assert_int_equal(tl_store_put_user(st, "dave", &u, &eb), 1);
    tl_store_rollback(st);
    assert_int_equal(find_id(st, TL_D_USER, "dave"), TL_NONE);
    begin(st);
    assert_int_equal(tl_store_put_user(st, "erin", &u, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "carol", &u, &eb), 0);
    commit(st);
    assert_int_equal(find_id(st, TL_D_USER, "erin"), 2);
    assert_int_equal(find_id(st, TL_D_USER, "carol"), 0);
    tl_ids_t ids;
    assert_int_equal(tl_store_ids(st, TL_D_USER, &ids, &eb), 0);
    assert_int_equal(ids.n, 3);
    assert_string_equal(tl_ids_str(&ids, 0, NULL), "carol");
    assert_string_equal(tl_ids_str(&ids, 1, NULL), "alice");
    assert_string_equal(tl_ids_str(&ids, 2, NULL), "erin");
    tl_store_close(st);
}

/* ---- entities ---------------------------------------------------------------------- */

typedef struct {
    int n;
    uint32_t idx[8];
    char city[8][16], gender[8][16], attrs[8][32];
    int32_t birth[8];
} users_seen_t;

static int user_seen(uint32_t user, const tl_user_t *u, void *arg) {
    users_seen_t *s = arg;
    s->idx[s->n] = user;
    snprintf(s->city[s->n], 16, "%s", u->city ? u->city : "-");
    snprintf(s->gender[s->n], 16, "%s", u->gender ? u->gender : "-");
    snprintf(s->attrs[s->n], 32, "%s", u->attrs ? u->attrs : "-");
    s->birth[s->n] = u->birth_year;
    assert_null(u->name);
    s->n++;
    return 0;
}

static int item_price(uint32_t item, const tl_item_t *it, void *arg) {
    double *p = arg;
    p[item] = it->price;
    return 0;
}

static int credit_seen(uint32_t user, const tl_credit_t *c, void *arg) {
    int64_t *late = arg;
    assert_int_equal(c->on_time, -1);
    assert_true(c->debt != c->debt);
    late[user] = c->late;
    return 0;
}

static int product_seen(uint32_t p, const tl_product_t *pr, void *arg) {
    int *n = arg;
    assert_int_equal(p, 0);
    assert_string_equal(pr->kind, "loan");
    assert_int_equal(pr->term_months, 12);
    assert_null(pr->disclosure);
    (*n)++;
    return 0;
}

static void test_entities(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    begin(st);
    tl_user_t u1 = {.gender = "f", .registered_at = INT64_MIN, .attrs = "{\"a\":1}"};
    tl_user_t u0 = {.city = "Lyon", .birth_year = 1990, .registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "b", &u0, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "a", &u1, &eb), 1);
    /* a merge keeps what the record leaves absent */
    tl_user_t u0b = {.gender = "m", .registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "b", &u0b, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "b", &u0b, &eb), 0);
    tl_item_t i0 = {.title = "Tea", .price = 3.5}, i1 = {.title = "Cup", .price = NAN};
    assert_int_equal(tl_store_put_item(st, "tea", &i0, &eb), 1);
    assert_int_equal(tl_store_put_item(st, "cup", &i1, &eb), 1);
    tl_product_t p = {.kind = "loan", .term_months = 12, .apr = 0.1, .amount_min = NAN,
                      .amount_max = NAN};
    assert_int_equal(tl_store_put_product(st, "p1", &p, &eb), 1);
    tl_credit_t c = {.on_time = -1, .late = 2, .max_overdue_days = -1, .history_months = -1,
                     .debt = NAN, .default_flag = -1};
    assert_int_equal(tl_store_put_credit(st, 1, &c, &eb), 1);
    commit(st);

    users_seen_t s = {0};
    assert_int_equal(tl_store_scan_users(st, user_seen, &s, &eb), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.idx[0], 0);
    assert_string_equal(s.city[0], "Lyon");
    assert_string_equal(s.gender[0], "m");
    assert_int_equal(s.birth[0], 1990);
    assert_string_equal(s.attrs[1], "-"); /* a scan leaves attrs out */
    assert_string_equal(s.gender[1], "f");
    users_seen_t g = {0};
    assert_int_equal(tl_store_get_user(st, 1, user_seen, &g, &eb), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.attrs[0], "{\"a\":1}");
    assert_int_equal(tl_store_get_user(st, 7, user_seen, &g, &eb), TL_ENOENT);

    double price[2] = {0, 0};
    assert_int_equal(tl_store_scan_items(st, item_price, price, &eb), 0);
    assert_true(price[0] == 3.5);
    assert_true(price[1] != price[1]);
    int np = 0;
    assert_int_equal(tl_store_scan_products(st, product_seen, &np, &eb), 0);
    assert_int_equal(np, 1);
    int64_t late[2] = {0, 0};
    assert_int_equal(tl_store_scan_credit(st, TL_NONE, credit_seen, late, &eb), 0);
    assert_int_equal(late[1], 2);
    assert_int_equal(late[0], 0);
    tl_store_close(st);
}

/* ---- consents --------------------------------------------------------------------- */

typedef struct {
    int n;
    char seen[8][32];
} consents_seen_t;

static int consent_seen(uint32_t user, const char *purpose, int granted, int64_t at, void *arg) {
    consents_seen_t *s = arg;
    snprintf(s->seen[s->n++], 32, "%u %s %d %lld", user, purpose, granted, (long long)at);
    return 0;
}

static void test_consents(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_user_t u = {.registered_at = INT64_MIN};
    begin(st);
    assert_int_equal(tl_store_put_user(st, "a", &u, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "b", &u, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 1, "email", 1, 20, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 0, "sms", 1, 10, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 0, "email", 0, 30, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 0, "email", 1, 5, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 0, "email", 1, 5, &eb), 0);
    /* a grant after a withdrawal of the same instant is the one in force */
    assert_int_equal(tl_store_put_consent(st, 1, "email", 0, 40, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 1, "email", 1, 40, &eb), 1);
    commit(st);
    consents_seen_t s = {0};
    assert_int_equal(tl_store_scan_consents(st, TL_NONE, consent_seen, &s, &eb), 0);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.seen[0], "0 email 1 5");
    assert_string_equal(s.seen[1], "0 email 0 30");
    assert_string_equal(s.seen[2], "0 sms 1 10");
    assert_string_equal(s.seen[3], "1 email 1 20");
    assert_string_equal(s.seen[4], "1 email 0 40");
    assert_string_equal(s.seen[5], "1 email 1 40");
    int granted = -1;
    int64_t at = 0;
    assert_int_equal(tl_store_consent_latest(st, 0, "email", &granted, &at, &eb), 0);
    assert_int_equal(granted, 0);
    assert_int_equal(at, 30);
    assert_int_equal(tl_store_consent_latest(st, 1, "email", &granted, &at, &eb), 0);
    assert_int_equal(granted, 1);
    assert_int_equal(at, 40);
    assert_int_equal(tl_store_consent_latest(st, 1, "sms", &granted, &at, &eb), TL_ENOENT);
    /* in force at a time: bit k for purposes[k] */
    const char *purposes[2] = {"email", "sms"};
    uint8_t bits[3] = {9, 9, 9};
    assert_int_equal(tl_store_consents_refresh(st, &eb), 0);
    assert_int_equal(tl_store_consents_asof(st, purposes, 2, 35, bits, 3, &eb), 0);
    assert_int_equal(bits[0], 2); /* email withdrawn at 30, sms granted at 10 */
    assert_int_equal(bits[1], 1); /* email granted at 20 (the records at 40 come later) */
    assert_int_equal(bits[2], 0);
    assert_int_equal(tl_store_consents_asof(st, purposes, 2, 7, bits, 3, &eb), 0);
    assert_int_equal(bits[0], 1);
    assert_int_equal(bits[1], 0);
    assert_int_equal(tl_store_consents_asof(st, purposes, 2, 100, bits, 3, &eb), 0);
    assert_int_equal(bits[1], 1);
    uint8_t out[3] = {9, 9, 9};
    assert_int_equal(tl_store_consents_withdrawn(st, "email", 35, out, 3, &eb), 0);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 0);
    tl_store_close(st);
}

/* ---- batches ----------------------------------------------------------------------- */

static int count_item(uint32_t item, const tl_item_t *it, void *arg) {
    (void)item, (void)it;
    (*(int *)arg)++;
    return 0;
}

static int items(tl_store_t *st) {
    int n = 0;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_scan_items(st, count_item, &n, &eb), 0);
    return n;
}

static tl_event_t ev(uint64_t fp, uint32_t user, int64_t ts) {
    return (tl_event_t){.fp = fp, .user = user, .item = TL_NONE, .ts = ts, .type = TL_EV_VIEW,
                        .channel = TL_CH_APP, .qty = 1, .amount = NAN, .rating = NAN,
                        .lat = NAN, .lon = NAN, .query = TL_NONE, .city = TL_NONE,
                        .session = TL_NONE, .campaign = TL_NONE};
}

static void test_batches(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_item_t it = {.title = "x", .price = NAN};
    begin(st);
    assert_int_equal(tl_store_put_item(st, "i0", &it, &eb), 1);
    tl_event_t e = ev(1, 0, 1000);
    assert_int_equal(tl_store_add_event(st, &e, &eb), 1);
    assert_int_equal(items(st), 1);              /* the batch sees its own rows */
    assert_int_equal(tl_store_event_count(st), 0); /* events count once committed */
    tl_store_rollback(st);
    assert_int_equal(items(st), 0);
    assert_int_equal(tl_store_event_count(st), 0);
    begin(st);
    assert_int_equal(tl_store_put_item(st, "i0", &it, &eb), 1);
    assert_int_equal(tl_store_add_event(st, &e, &eb), 1); /* the rolled-back one is forgotten */
    commit(st);
    assert_int_equal(items(st), 1);
    assert_int_equal(tl_store_event_count(st), 1);
    /* a commit outside a batch does nothing */
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_store_close(st);
}

/* ---- events ------------------------------------------------------------------------ */

typedef struct {
    uint64_t from;
    int n;
    uint32_t user[32];
    int64_t ts[32];
    int first_ok, cols_ok;
    uint64_t next;
} evseen_t;

static int ev_seen(const tl_evblock_t *b, void *arg) {
    evseen_t *s = arg;
    if (!s->n && b->first_seq > s->from) s->first_ok = 0;
    if (!b->user || !b->ts) s->cols_ok = 0;
    if (b->first_seq > s->next) s->first_ok = 0; /* no rows skipped */
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->first_seq + i < s->from) continue;
        s->user[s->n] = b->user[i];
        s->ts[s->n] = b->ts[i];
        s->n++;
    }
    s->next = b->first_seq + b->n;
    return 0;
}

static void test_events(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    begin(st);
    for (int i = 0; i < 10; i++) {
        tl_event_t e = ev(100 + (uint64_t)i, (uint32_t)i, 1000 * i);
        assert_int_equal(tl_store_add_event(st, &e, &eb), 1);
    }
    tl_event_t dup = ev(103, 9, 5);
    assert_int_equal(tl_store_add_event(st, &dup, &eb), 0);
    commit(st);
    assert_int_equal(tl_store_event_count(st), 10);
    begin(st);
    assert_int_equal(tl_store_add_event(st, &dup, &eb), 0); /* committed fingerprints too */
    tl_event_t e10 = ev(110, 10, 10000);
    assert_int_equal(tl_store_add_event(st, &e10, &eb), 1);
    commit(st);

    evseen_t all = {.from = 0, .first_ok = 1, .cols_ok = 1};
    assert_int_equal(tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_TS, ev_seen, &all, &eb), 0);
    assert_int_equal(all.n, 11);
    assert_true(all.first_ok && all.cols_ok);
    for (int i = 0; i < 11; i++) {
        assert_int_equal(all.user[i], i);
        assert_int_equal(all.ts[i], 1000 * i);
    }
    evseen_t tail = {.from = 7, .first_ok = 1, .cols_ok = 1, .next = 0};
    tail.next = UINT64_MAX;
    assert_int_equal(tl_store_scan_from(st, 7, TL_EVC_USER | TL_EVC_TS, ev_seen, &tail, &eb), 0);
    assert_int_equal(tail.n, 4);
    assert_true(tail.first_ok && tail.cols_ok);
    assert_int_equal(tail.user[0], 7);
    assert_int_equal(tail.user[3], 10);
    tl_store_close(st);
}

/* ---- blobs ------------------------------------------------------------------------- */

typedef struct {
    int n;
    char names[8][64];
} names_t;

static int blob_seen(const char *name, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%s", name);
    return 0;
}

static void assert_blob(tl_store_t *st, const char *name, const char *want) {
    tl_buf_t b;
    tl_buf_init(&b);
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_blob_get(st, name, &b, &eb);
    if (!want) {
        assert_int_equal(rc, TL_ENOENT);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(b.data, want, b.len);
    }
    tl_buf_fini(&b);
}

static void test_blobs(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_blob_put(st, "models/b", "bee", 3, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "models/a", "ay", 2, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "scorecards/c", "sea", 3, &eb), 0);
    assert_blob(st, "models/a", "ay");
    assert_blob(st, "models/z", NULL);
    names_t s = {0};
    assert_int_equal(tl_store_blob_list(st, "models/", blob_seen, &s, &eb), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.names[0], "models/a");
    assert_string_equal(s.names[1], "models/b");
    /* inside a batch: installed with the commit, left as it was by rollback */
    begin(st);
    assert_int_equal(tl_store_blob_put(st, "models/a", "new", 3, &eb), 0);
    assert_int_equal(tl_store_blob_remove(st, "models/b", &eb), 0);
    assert_blob(st, "models/a", "ay");
    assert_blob(st, "models/b", "bee");
    tl_store_rollback(st);
    assert_blob(st, "models/a", "ay");
    assert_blob(st, "models/b", "bee");
    begin(st);
    assert_int_equal(tl_store_blob_put(st, "models/a", "new", 3, &eb), 0);
    assert_int_equal(tl_store_blob_remove(st, "models/b", &eb), 0);
    commit(st);
    assert_blob(st, "models/a", "new");
    assert_blob(st, "models/b", NULL);
    names_t all = {0};
    assert_int_equal(tl_store_blob_list(st, "", blob_seen, &all, &eb), 0);
    assert_int_equal(all.n, 2);
    assert_string_equal(all.names[0], "models/a");
    assert_string_equal(all.names[1], "scorecards/c");
    /* removing what is not there is no error */
    assert_int_equal(tl_store_blob_remove(st, "models/b", &eb), 0);
    tl_store_close(st);
}

/* ---- settings and segments ------------------------------------------------------------ */

static int seg_seen(const char *name, const char *expr, int64_t created, void *arg) {
    names_t *s = arg;
    assert_int_equal(created, TEST_NOW);
    snprintf(s->names[s->n++], 64, "%s=%s", name, expr);
    return 0;
}

static void test_settings(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    char *v = NULL;
    assert_int_equal(tl_store_config_get(st, "tags", &v, &eb), TL_ENOENT);
    assert_int_equal(tl_store_config_put(st, "tags", "one", &eb), 0);
    assert_int_equal(tl_store_config_put(st, "tags", "two", &eb), 0);
    assert_int_equal(tl_store_config_get(st, "tags", &v, &eb), 0);
    assert_string_equal(v, "two");
    free(v);
    assert_int_equal(tl_store_segment_put(st, "vip", "x > 1", &eb), 1);
    assert_int_equal(tl_store_segment_put(st, "new", "y", &eb), 1);
    assert_int_equal(tl_store_segment_put(st, "vip", "x > 2", &eb), 0);
    assert_int_equal(tl_store_segment_get(st, "vip", &v, &eb), 0);
    assert_string_equal(v, "x > 2");
    free(v);
    names_t s = {0};
    assert_int_equal(tl_store_segment_list(st, seg_seen, &s, &eb), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.names[0], "new=y");
    assert_string_equal(s.names[1], "vip=x > 2");
    assert_int_equal(tl_store_segment_delete(st, "new", &eb), 0);
    assert_int_equal(tl_store_segment_delete(st, "new", &eb), TL_ENOENT);
    assert_int_equal(tl_store_segment_get(st, "new", &v, &eb), TL_ENOENT);
    tl_store_close(st);
}

/* ---- repositories: API keys, audit entries ---------------------------------------------- */

static int key_seen(const tl_apikey_row_t *k, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%s %s %s %s %lld", k->id, k->hash, k->role, k->name,
             (long long)k->created);
    return 0;
}

static int entry_seen(const tl_audit_entry_t *e, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%lld %lld %s %s %s %s", (long long)e->id, (long long)e->at,
             e->who, e->what, e->target, e->mac);
    return 0;
}

static void test_repositories(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_apikey_row_t k1 = {"k1", "h1", "admin", "ops", 20}, k2 = {"k2", "h2", "read", NULL, 10},
                    k0 = {"k0", "h0", "read", "x", 20};
    assert_int_equal(tl_store_apikey_put(st, &k1, &eb), TL_EINVAL); /* outside a batch */
    begin(st);
    assert_int_equal(tl_store_apikey_put(st, &k1, &eb), 0);
    assert_int_equal(tl_store_apikey_put(st, &k2, &eb), 0);
    assert_int_equal(tl_store_apikey_put(st, &k0, &eb), 0);
    assert_int_equal(tl_store_apikey_put(st, &k1, &eb), TL_EEXIST);
    tl_audit_entry_t e1 = {1, 100, "cli", "erase", "p1", "m1"}, e2 = {2, 200, "api", "view", "", ""},
                     e3 = {3, 300, "cli", "export", "p1", "m3"};
    assert_int_equal(tl_store_audit_append(st, &e1, &eb), 0);
    assert_int_equal(tl_store_audit_append(st, &e2, &eb), 0);
    assert_int_equal(tl_store_audit_append(st, &e1, &eb), TL_EEXIST);
    int64_t id;
    char mac[65];
    assert_int_equal(tl_store_audit_last(st, &id, mac, &eb), 0); /* the batch's own entries */
    assert_int_equal(id, 2);
    commit(st);
    begin(st);
    assert_int_equal(tl_store_audit_append(st, &e3, &eb), 0);
    assert_int_equal(tl_store_apikey_delete(st, "k2", &eb), 1);
    assert_int_equal(tl_store_apikey_delete(st, "k9", &eb), 0);
    tl_store_rollback(st);
    assert_int_equal(tl_store_audit_last(st, &id, mac, &eb), 0);
    assert_int_equal(id, 2);
    assert_string_equal(mac, "");
    names_t keys = {0};
    assert_int_equal(tl_store_apikey_scan(st, key_seen, &keys, &eb), 0);
    assert_int_equal(keys.n, 3);
    assert_string_equal(keys.names[0], "k2 h2 read  10");
    assert_string_equal(keys.names[1], "k0 h0 read x 20");
    assert_string_equal(keys.names[2], "k1 h1 admin ops 20");
    begin(st);
    assert_int_equal(tl_store_audit_append(st, &e3, &eb), 0);
    commit(st);
    names_t all = {0}, p1 = {0};
    assert_int_equal(tl_store_audit_scan(st, NULL, entry_seen, &all, &eb), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.names[1], "2 200 api view  ");
    assert_int_equal(tl_store_audit_scan(st, "p1", entry_seen, &p1, &eb), 0);
    assert_int_equal(p1.n, 2);
    assert_string_equal(p1.names[0], "1 100 cli erase p1 m1");
    assert_string_equal(p1.names[1], "3 300 cli export p1 m3");
    tl_store_close(st);
}

/* ---- personal fields and the quarantine ------------------------------------------------ */

static int qrow_seen(const tl_qrow_t *q, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%s:%llu %s %.*s|%s", q->source, (unsigned long long)q->line,
             q->reason, (int)q->rawlen, q->raw ? q->raw : "", q->preview);
    return 0;
}

static int reason_seen(const char *reason, uint64_t n, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%s %llu", reason, (unsigned long long)n);
    return 0;
}

static void test_quarantine_pii(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    begin(st);
    tl_user_t u = {.name = "Ann", .email = "a@x", .registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "a", &u, &eb), 1);
    tl_user_t u2 = {.phone = "555", .registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "a", &u2, &eb), 1);
    tl_user_t none = {.registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "b", &none, &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 3, "bad_ts", "m", "r3", 2, "p3", &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 5, "no_user", "m", "r5", 2, "p5", &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 3, "bad_ts", "m", "r3", 2, "p3", &eb), 0);
    assert_int_equal(tl_store_quarantine(st, "g.csv", 1, "bad_ts", "m", "r1", 2, "p1", &eb), 1);
    commit(st);
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_store_user_pii(st, 0, &b, &eb), 0);
    /* name, phone, e-mail and ID number, each ended by a NUL */
    assert_int_equal(b.len, sizeof "Ann\0" "555\0" "a@x\0");
    assert_memory_equal(b.data, "Ann\0" "555\0" "a@x\0", b.len);
    tl_buf_clear(&b);
    assert_int_equal(tl_store_user_pii(st, 1, &b, &eb), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "\0\0\0", 4);
    tl_buf_fini(&b);
    names_t all = {0}, bad = {0}, counts = {0};
    assert_int_equal(tl_store_quarantine_scan(st, NULL, 1, qrow_seen, &all, &eb), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.names[0], "f.csv:3 bad_ts r3|p3");
    assert_string_equal(all.names[1], "f.csv:5 no_user r5|p5");
    assert_string_equal(all.names[2], "g.csv:1 bad_ts r1|p1");
    assert_int_equal(tl_store_quarantine_scan(st, "bad_ts", 0, qrow_seen, &bad, &eb), 0);
    assert_int_equal(bad.n, 2);
    assert_string_equal(bad.names[1], "g.csv:1 bad_ts |p1");
    assert_int_equal(tl_store_quarantine_counts(st, reason_seen, &counts, &eb), 0);
    assert_int_equal(counts.n, 2);
    assert_string_equal(counts.names[0], "bad_ts 2");
    assert_string_equal(counts.names[1], "no_user 1");
    tl_store_close(st);
}

/* ---- campaigns and their runs ---------------------------------------------------------- */

static int campaign_seen(const tl_campaign_row_t *r, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%s %s %s %llu %lld %llu %g", r->id, r->def, r->status,
             (unsigned long long)r->runs, (long long)(r->last_at == INT64_MIN ? -1 : r->last_at),
             (unsigned long long)r->sends, r->cost);
    return 0;
}

static int run_seen(const tl_campaign_run_row_t *r, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%llu %lld %lld %s", (unsigned long long)r->run,
             (long long)r->at, (long long)r->started, r->counts);
    return 0;
}

static void test_campaigns(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    begin(st);
    assert_int_equal(tl_store_campaign_put(st, "w", "{1}", 5, &eb), 1);
    assert_int_equal(tl_store_campaign_put(st, "b", "{2}", 6, &eb), 1);
    assert_int_equal(tl_store_campaign_put(st, "w", "{3}", 7, &eb), 0);
    assert_int_equal(tl_store_campaign_set_status(st, "b", "paused", &eb), 1);
    assert_int_equal(tl_store_campaign_set_status(st, "zz", "paused", &eb), 0);
    tl_campaign_run_row_t r1 = {1, 100, 90, "{\"sent\":2}"}, r2 = {2, 200, 190, "{}"};
    assert_int_equal(tl_store_campaign_run_add(st, "w", &r1, 2, 0.5, &eb), 0);
    assert_int_equal(tl_store_campaign_run_add(st, "w", &r2, 3, 1.0, &eb), 0);
    commit(st);
    begin(st);
    assert_true(tl_store_campaign_run_add(st, "w", &r1, 9, 9, &eb) < 0); /* a run number taken */
    tl_store_rollback(st);
    names_t all = {0}, one = {0}, runs = {0};
    assert_int_equal(tl_store_campaign_scan(st, campaign_seen, &all, &eb), 0);
    assert_int_equal(all.n, 2);
    assert_string_equal(all.names[0], "b {2} paused 0 -1 0 0");
    assert_string_equal(all.names[1], "w {3} active 2 200 5 1.5");
    assert_int_equal(tl_store_campaign_get(st, "w", campaign_seen, &one, &eb), 1);
    assert_int_equal(tl_store_campaign_get(st, "nope", campaign_seen, &one, &eb), 0);
    assert_int_equal(one.n, 1);
    assert_int_equal(tl_store_campaign_runs(st, "w", run_seen, &runs, &eb), 0);
    assert_int_equal(runs.n, 2);
    assert_string_equal(runs.names[0], "1 100 90 {\"sent\":2}");
    assert_string_equal(runs.names[1], "2 200 190 {}");
    tl_store_close(st);
}

/* ---- delivery states ------------------------------------------------------------------ */

static int offset_seen(uint64_t offset, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%llu", (unsigned long long)offset);
    return 0;
}

static void test_deliveries(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    begin(st);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:u1", "email", 300, 50, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:u2", "email", 100, 60, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:u3", "email", 200, 90, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:u4", "sms", 10, 10, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:u1", "email", 999, 0, &eb), 0);
    assert_int_equal(tl_store_delivery_fail(st, "c:1:u3", "email", 200, 410, 70, 90, &eb), 0);
    assert_int_equal(tl_store_delivery_done(st, "c:1:u9", 70, &eb), 0);
    commit(st);
    names_t due = {0}, later = {0};
    assert_int_equal(tl_store_deliveries_held(st, "email", 55, offset_seen, &due, &eb), 0);
    assert_int_equal(due.n, 1);
    assert_string_equal(due.names[0], "300");
    assert_int_equal(tl_store_deliveries_held(st, "email", 100, offset_seen, &later, &eb), 0);
    assert_int_equal(later.n, 2); /* u3 failed: no longer held */
    assert_string_equal(later.names[0], "100");
    assert_string_equal(later.names[1], "300");
    begin(st);
    assert_int_equal(tl_store_delivery_done(st, "c:1:u2", 80, &eb), 0);
    commit(st);
    names_t after = {0};
    assert_int_equal(tl_store_deliveries_held(st, "email", 100, offset_seen, &after, &eb), 0);
    assert_int_equal(after.n, 1);
    assert_string_equal(after.names[0], "300");
    tl_store_close(st);
}

/* ---- do-not-contact and feedback ------------------------------------------------------- */

static int dnc_seen(const tl_dnc_row_t *d, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%u/%s/%s/%lld/%s", d->user, d->channel,
             d->reason ? d->reason : "-", (long long)d->at, d->campaign ? d->campaign : "-");
    return 0;
}

static void test_dnc(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_dnc_put(st, 1, "*", "manual", 10, NULL, &eb), TL_EINVAL);
    begin(st);
    assert_int_equal(tl_store_dnc_put(st, 3, "sms", "bounced", 50, "c", &eb), 1);
    assert_int_equal(tl_store_dnc_put(st, 1, "*", "manual", 10, NULL, &eb), 1);
    assert_int_equal(tl_store_dnc_put(st, 1, "email", "complained", 20, NULL, &eb), 1);
    /* the first entry for a pair stays */
    assert_int_equal(tl_store_dnc_put(st, 3, "sms", "manual", 5, NULL, &eb), 0);
    names_t own = {0};
    assert_int_equal(tl_store_dnc_of_user(st, 3, dnc_seen, &own, &eb), 0);
    assert_int_equal(own.n, 1); /* the batch sees its own entries */
    assert_string_equal(own.names[0], "3/sms/bounced/50/c");
    commit(st);
    /* a rolled-back entry is gone */
    begin(st);
    assert_int_equal(tl_store_dnc_put(st, 2, "push", NULL, 1, NULL, &eb), 1);
    tl_store_rollback(st);
    names_t all = {0}, early = {0}, two = {0};
    assert_int_equal(tl_store_dnc_scan(st, 50, dnc_seen, &all, &eb), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.names[0], "1/*/manual/10/-");
    assert_string_equal(all.names[1], "1/email/complained/20/-");
    assert_string_equal(all.names[2], "3/sms/bounced/50/c");
    assert_int_equal(tl_store_dnc_scan(st, 49, dnc_seen, &early, &eb), 0);
    assert_int_equal(early.n, 2); /* 3/sms kept its time 50 */
    assert_int_equal(tl_store_dnc_of_user(st, 2, dnc_seen, &two, &eb), 0);
    assert_int_equal(two.n, 0);
    /* one user's entries, by time */
    begin(st);
    assert_int_equal(tl_store_dnc_put(st, 1, "push", NULL, 5, NULL, &eb), 1);
    commit(st);
    names_t one = {0};
    assert_int_equal(tl_store_dnc_of_user(st, 1, dnc_seen, &one, &eb), 0);
    assert_int_equal(one.n, 3);
    assert_string_equal(one.names[0], "1/push/-/5/-");
    assert_string_equal(one.names[1], "1/*/manual/10/-");
    assert_string_equal(one.names[2], "1/email/complained/20/-");
    tl_store_close(st);
}

static int feedback_seen(const tl_feedback_row_t *f, void *arg) {
    names_t *s = arg;
    char item[16] = "-", score[16] = "-";
    if (f->item != TL_NONE) snprintf(item, sizeof item, "%u", f->item);
    if (f->score == f->score) snprintf(score, sizeof score, "%g", f->score);
    snprintf(s->names[s->n++], 64, "%u %s %s %s %s %s %lld %s:%llu", f->user, f->kind,
             f->campaign ? f->campaign : "-", f->channel ? f->channel : "-", item, score,
             (long long)f->at, f->source, (unsigned long long)f->line);
    return 0;
}

static int negative_seen(uint32_t item, uint64_t n, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%u %llu", item, (unsigned long long)n);
    return 0;
}

static void test_feedback(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_feedback_row_t rows[] = {
        {4, "complaint", "c", NULL, 7, NAN, 30, "f", 1},
        {4, "review", NULL, NULL, 7, 2, 10, "f", 2},
        {5, "review", "d", NULL, 7, 4, 20, "f", 3},
        {5, "review", "d", NULL, 3, 1, 20, "f", 4},
        {4, "bounce", "c", "email", TL_NONE, NAN, 10, "f", 5},
    };
    assert_int_equal(tl_store_feedback_add(st, &rows[0], &eb), TL_EINVAL); /* outside a batch */
    begin(st);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        assert_int_equal(tl_store_feedback_add(st, &rows[i], &eb), 1);
    tl_feedback_row_t again = rows[1];
    again.kind = "survey";
    assert_int_equal(tl_store_feedback_add(st, &again, &eb), 0); /* same source and line */
    commit(st);
    begin(st);
    tl_feedback_row_t gone = {4, "complaint", "c", NULL, 9, NAN, 1, "g", 1};
    assert_int_equal(tl_store_feedback_add(st, &gone, &eb), 1);
    tl_store_rollback(st);
    names_t c = {0}, u = {0}, neg = {0};
    assert_int_equal(tl_store_feedback_scan(st, "c", feedback_seen, &c, &eb), 0);
    assert_int_equal(c.n, 2); /* in the order added */
    assert_string_equal(c.names[0], "4 complaint c - 7 - 30 f:1");
    assert_string_equal(c.names[1], "4 bounce c email - - 10 f:5");
    assert_int_equal(tl_store_feedback_of_user(st, 4, feedback_seen, &u, &eb), 0);
    assert_int_equal(u.n, 3); /* by time, then in the order added */
    assert_string_equal(u.names[0], "4 review - - 7 2 10 f:2");
    assert_string_equal(u.names[1], "4 bounce c email - - 10 f:5");
    assert_string_equal(u.names[2], "4 complaint c - 7 - 30 f:1");
    /* complaints and reviews scoring 2 or less, by item */
    assert_int_equal(tl_store_feedback_negative(st, negative_seen, &neg, &eb), 0);
    assert_int_equal(neg.n, 2);
    assert_string_equal(neg.names[0], "3 1");
    assert_string_equal(neg.names[1], "7 2");
    tl_store_close(st);
}

/* ---- counts, event totals and the check ---------------------------------------------------- */

static void test_counts_stats(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_user_t u = {.registered_at = INT64_MIN};
    tl_item_t it = {.title = "t", .price = NAN};
    tl_product_t p = {.kind = "loan", .term_months = 12, .apr = NAN, .amount_min = NAN,
                      .amount_max = NAN};
    tl_credit_t cr = {.on_time = 1, .late = 0, .max_overdue_days = 0, .history_months = 3,
                      .debt = NAN, .default_flag = 0};
    begin(st);
    assert_int_equal(tl_store_put_user(st, "a", &u, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "b", &u, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "c", &u, &eb), 1);
    assert_int_equal(tl_store_put_item(st, "x", &it, &eb), 1);
    assert_int_equal(tl_store_put_item(st, "y", &it, &eb), 1);
    assert_int_equal(tl_store_put_product(st, "p", &p, &eb), 1);
    assert_int_equal(tl_store_put_credit(st, 0, &cr, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 0, "email", 1, 5, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 1, "email", 0, 6, &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 3, "bad_ts", "m", "r3", 2, "p3", &eb), 1);
    /* two days before the epoch's and one after: 1969-12-31 and 1970-01-02 */
    int64_t ts[] = {-1, TL_MS_PER_DAY + 5, -TL_MS_PER_DAY + 1, TL_MS_PER_DAY};
    uint64_t digest = 0;
    for (int i = 0; i < 4; i++) {
        tl_event_t e = ev(500 + (uint64_t)i, (uint32_t)(i % 3), ts[i]);
        if (i == 1) e.type = TL_EV_PURCHASE, e.channel = TL_NO_CHANNEL;
        assert_int_equal(tl_store_add_event(st, &e, &eb), 1);
        digest += tl_hash64(&e.fp, 8, 0);
    }
    commit(st);
    tl_store_counts_t n;
    assert_int_equal(tl_store_counts(st, &n, &eb), 0);
    assert_int_equal(n.users, 3);
    assert_int_equal(n.items, 2);
    assert_int_equal(n.products, 1);
    assert_int_equal(n.credit, 1);
    assert_int_equal(n.consents, 2);
    assert_int_equal(n.quarantined, 1);
    assert_int_equal(n.events, 4);
    tl_store_evstats_t es;
    assert_int_equal(tl_store_event_stats(st, &es, &eb), 0);
    assert_int_equal(es.by_type[TL_EV_VIEW], 3);
    assert_int_equal(es.by_type[TL_EV_PURCHASE], 1);
    assert_int_equal(es.by_channel[TL_CH_APP], 3);
    assert_int_equal(es.by_channel[TL_NO_CHANNEL], 1);
    assert_int_equal(es.min_ts, -TL_MS_PER_DAY + 1);
    assert_int_equal(es.max_ts, TL_MS_PER_DAY + 5);
    assert_int_equal(es.first_day, -1);
    assert_int_equal(es.ndays, 3);
    assert_int_equal(es.by_day[0], 2);
    assert_int_equal(es.by_day[1], 0);
    assert_int_equal(es.by_day[2], 2);
    tl_store_evstats_fini(&es);
    tl_store_check_t ck;
    assert_int_equal(tl_store_check(st, &ck, &eb), 0);
    assert_int_equal(ck.events, 4);
    assert_true(ck.blocks >= 1);
    assert_true(ck.digest == digest);
    assert_true(ck.checked & TL_CHECK_EVENTS);
    if (*state == &tl_store_local)
        assert_int_equal(ck.checked, TL_CHECK_EVENTS | TL_CHECK_CHECKSUMS | TL_CHECK_DATABASE);
    tl_store_close(st);
}

static void test_check_fresh(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_store_check_t ck;
    memset(&ck, 0xff, sizeof ck);
    assert_int_equal(tl_store_check(st, &ck, &eb), 0);
    assert_int_equal(ck.events, 0);
    assert_true(ck.digest == 0);
    assert_true(ck.checked & TL_CHECK_EVENTS);
    tl_store_counts_t n;
    assert_int_equal(tl_store_counts(st, &n, &eb), 0);
    assert_int_equal(n.users + n.items + n.products + n.credit + n.consents + n.events +
                         n.quarantined, 0);
    tl_store_close(st);
}

/* ---- built-in event types and channels ------------------------------------------------------- */

static void assert_builtins(tl_store_t *st) {
    static const char *const types[] = {
#define XX(c, n) n,
        TL_EVENT_TYPES(XX)
#undef XX
    };
    static const char *const chans[] = {
#define XX(c, n) n,
        TL_CHANNELS(XX)
#undef XX
    };
    tl_errbuf_t eb = {{0}};
    tl_ids_t ids;
    assert_int_equal(tl_store_ids(st, TL_D_TYPE, &ids, &eb), 0);
    assert_true(ids.n >= TL_EV__BUILTIN);
    for (uint32_t k = 0; k < TL_EV__BUILTIN; k++) assert_string_equal(tl_ids_str(&ids, k, NULL), types[k]);
    assert_int_equal(find_id(st, TL_D_TYPE, "purchase"), TL_EV_PURCHASE);
    assert_int_equal(find_id(st, TL_D_TYPE, "rate"), TL_EV_RATE);
    assert_int_equal(tl_store_ids(st, TL_D_CHANNEL, &ids, &eb), 0);
    assert_int_equal(ids.n, TL_CH__BUILTIN);
    for (uint32_t k = 0; k < TL_CH__BUILTIN; k++) assert_string_equal(tl_ids_str(&ids, k, NULL), chans[k]);
    assert_int_equal(find_id(st, TL_D_CHANNEL, "email"), TL_CH_EMAIL);
    assert_int_equal(find_id(st, TL_D_CHANNEL, "other"), TL_CH_OTHER);
}

static void test_builtins(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    assert_builtins(st);
    /* a type of the data's own comes after them, and they stay as they are */
    begin(st);
    tl_dict_t *d = tl_store_dict(st, TL_D_TYPE, &eb);
    assert_non_null(d);
    uint32_t idx;
    assert_int_equal(tl_dict_intern(d, "visit", 5, &idx, NULL), 0);
    assert_int_equal(idx, TL_EV__BUILTIN);
    commit(st);
    tl_store_close(st);
    st = open_be(state); /* the directory again (the memory back end: a new store) */
    assert_builtins(st);
    tl_ids_t ids;
    assert_int_equal(tl_store_ids(st, TL_D_TYPE, &ids, &eb), 0);
    assert_int_equal(ids.n, *state == &tl_store_local ? TL_EV__BUILTIN + 1 : TL_EV__BUILTIN);
    tl_store_close(st);
}

/* ---- blob writers, maps, appends ---------------------------------------------------------- */

/* A writer for each back end: the local one's files, the memory one's
 * streams, and (mem_bare below) the store's own over blob_put. */
static void test_blob_writers(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_blobw_t *w;
    /* outside a batch: in place when closed, not before */
    assert_int_equal(tl_store_blob_create(st, "models/w", &w, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "one", 3, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "two", 3, &eb), 0);
    assert_true(fprintf(tl_blobw_stream(w), "%d", 3) > 0);
    assert_blob(st, "models/w", NULL);
    assert_int_equal(tl_blobw_close(w, &eb), 0);
    assert_blob(st, "models/w", "onetwo3");
    /* an abandoned writer leaves nothing, and the old blob stays */
    assert_int_equal(tl_store_blob_create(st, "models/w", &w, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "lost", 4, &eb), 0);
    tl_blobw_abandon(w);
    tl_blobw_abandon(NULL);
    assert_blob(st, "models/w", "onetwo3");
    assert_int_equal(tl_store_blob_create(st, "scorecards/gone", &w, &eb), 0);
    tl_blobw_abandon(w);
    assert_blob(st, "scorecards/gone", NULL);
    /* inside a batch: installed by the commit, left as it was by rollback */
    begin(st);
    assert_int_equal(tl_store_blob_create(st, "models/w", &w, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "batch", 5, &eb), 0);
    assert_int_equal(tl_blobw_close(w, &eb), 0);
    assert_blob(st, "models/w", "onetwo3");
    tl_store_rollback(st);
    assert_blob(st, "models/w", "onetwo3");
    begin(st);
    assert_int_equal(tl_store_blob_create(st, "models/w", &w, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "batch", 5, &eb), 0);
    assert_int_equal(tl_blobw_close(w, &eb), 0);
    assert_int_equal(tl_store_blob_create(st, "models/empty", &w, &eb), 0);
    assert_int_equal(tl_blobw_close(w, &eb), 0);
    assert_blob(st, "models/w", "onetwo3");
    assert_blob(st, "models/empty", NULL);
    commit(st);
    assert_blob(st, "models/w", "batch");
    assert_blob(st, "models/empty", "");
    /* of two writers of one name, the one closed last wins */
    tl_blobw_t *a, *b;
    assert_int_equal(tl_store_blob_create(st, "uplift/x", &a, &eb), 0);
    assert_int_equal(tl_blobw_write(a, "first", 5, &eb), 0);
    assert_int_equal(tl_blobw_close(a, &eb), 0);
    assert_int_equal(tl_store_blob_create(st, "uplift/x", &b, &eb), 0);
    assert_int_equal(tl_blobw_write(b, "second", 6, &eb), 0);
    assert_int_equal(tl_blobw_close(b, &eb), 0);
    assert_blob(st, "uplift/x", "second");
    /* names are checked */
    const char *bad[] = {"model/x", "models/", "models/.x", "models/a/b", "offers/x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        w = (tl_blobw_t *)&eb;
        assert_int_equal(tl_store_blob_create(st, bad[i], &w, &eb), TL_EINVAL);
        assert_null(w);
    }
    tl_store_close(st);
}

static void test_blob_maps(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_blob_view_t v, e;
    assert_int_equal(tl_store_blob_map(st, "profiles", &v, &eb), TL_ENOENT);
    tl_store_blob_unmap(&v); /* a failed map unmaps as nothing */
    assert_int_equal(tl_store_blob_map(st, "models/.x", &v, &eb), TL_EINVAL);
    assert_int_equal(tl_store_blob_put(st, "profiles", "snapshot-1", 10, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "models/empty", "", 0, &eb), 0);
    assert_int_equal(tl_store_blob_map(st, "profiles", &v, &eb), 0);
    assert_int_equal(tl_store_blob_map(st, "models/empty", &e, &eb), 0);
    assert_int_equal(e.len, 0);
    assert_non_null(e.data);
    /* valid and unchanged until unmapped, whatever is written meanwhile */
    assert_int_equal(tl_store_blob_put(st, "profiles", "SNAPSHOT-2", 10, &eb), 0);
    assert_int_equal(tl_store_blob_remove(st, "models/empty", &eb), 0);
    assert_int_equal(v.len, 10);
    assert_memory_equal(v.data, "snapshot-1", 10);
    tl_store_blob_unmap(&v);
    tl_store_blob_unmap(&e);
    assert_null(v.data);
    assert_int_equal(tl_store_blob_map(st, "profiles", &v, &eb), 0);
    assert_memory_equal(v.data, "SNAPSHOT-2", 10);
    tl_store_blob_unmap(&v);
    /* in a batch, a map sees what is committed */
    begin(st);
    assert_int_equal(tl_store_blob_put(st, "profiles", "snapshot-3", 10, &eb), 0);
    assert_int_equal(tl_store_blob_map(st, "profiles", &v, &eb), 0);
    assert_memory_equal(v.data, "SNAPSHOT-2", 10);
    tl_store_blob_unmap(&v);
    commit(st);
    assert_blob(st, "profiles", "snapshot-3");
    tl_store_close(st);
}

static void test_blob_append(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_blob_append(st, "offers", "r1;", 3, &eb), 0);
    assert_int_equal(tl_store_blob_append(st, "offers", "r2;", 3, &eb), 0);
    assert_blob(st, "offers", "r1;r2;");
    /* at once, not part of a batch: neither rollback nor commit undo it */
    begin(st);
    assert_int_equal(tl_store_blob_append(st, "offers", "r3;", 3, &eb), 0);
    assert_blob(st, "offers", "r1;r2;r3;");
    tl_store_rollback(st);
    assert_blob(st, "offers", "r1;r2;r3;");
    begin(st);
    assert_int_equal(tl_store_blob_append(st, "offers", "r4;", 3, &eb), 0);
    commit(st);
    assert_blob(st, "offers", "r1;r2;r3;r4;");
    assert_int_equal(tl_store_blob_append(st, "offer", "x", 1, &eb), TL_EINVAL);
    /* where: words for a message, or TL_EINVAL for what is no blob's name */
    char where[4400];
    assert_int_equal(tl_store_blob_where(st, "offers", where, sizeof where, &eb), 0);
    assert_true(where[0] != 0);
    assert_int_equal(tl_store_blob_where(st, "models/a/b", where, sizeof where, &eb), TL_EINVAL);
    tl_store_close(st);
}

/* ---- side logs ------------------------------------------------------------------------------- */

static void assert_log(tl_store_t *st, const char *name, uint64_t from, const char *want) {
    tl_errbuf_t eb = {{0}};
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_store_applog_read(st, name, from, &b, &eb), 0);
    assert_int_equal(b.len, strlen(want));
    if (b.len) assert_memory_equal(b.data, want, b.len);
    tl_buf_fini(&b);
    if (from) return;
    uint64_t len = 99;
    assert_int_equal(tl_store_applog_committed(st, name, &len, &eb), 0);
    assert_int_equal(len, strlen(want));
}

static void test_applogs(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    tl_applog_t *o, *o2, *x, *c;
    names_t none = {0};
    assert_int_equal(tl_store_applog_list(st, blob_seen, &none, &eb), 0);
    assert_int_equal(none.n, 0);
    assert_log(st, "outbox/sms", 0, "");
    /* written in a batch and rolled back: nothing */
    begin(st);
    assert_int_equal(tl_store_applog_open(st, "outbox/sms", &o, &eb), 0);
    assert_int_equal(tl_applog_write(o, "{\"a\":1}\n", 8, &eb), 0);
    assert_log(st, "outbox/sms", 0, "");
    tl_store_rollback(st);
    assert_log(st, "outbox/sms", 0, "");
    assert_int_equal(tl_store_applog_list(st, blob_seen, &none, &eb), 0);
    assert_int_equal(none.n, 0);
    /* committed: read back, whole or from an offset */
    begin(st);
    assert_int_equal(tl_store_applog_open(st, "outbox/sms", &o2, &eb), 0);
    assert_ptr_equal(o2, o); /* the same name, the same log */
    assert_int_equal(tl_store_applog_open(st, "exposures/spring-1", &x, &eb), 0);
    assert_int_equal(tl_store_applog_open(st, "contacts", &c, &eb), 0);
    assert_int_equal(tl_applog_write(o, "{\"b\":", 5, &eb), 0);
    assert_int_equal(tl_applog_write(o, "2}\n", 3, &eb), 0);
    assert_int_equal(tl_applog_write(x, "0123456789abcdef", 16, &eb), 0);
    assert_int_equal(tl_applog_write(c, "contact!", 8, &eb), 0);
    assert_log(st, "outbox/sms", 0, "");
    commit(st);
    assert_log(st, "outbox/sms", 0, "{\"b\":2}\n");
    assert_log(st, "outbox/sms", 5, "2}\n");
    assert_log(st, "outbox/sms", 8, "");
    assert_log(st, "outbox/sms", 100, "");
    assert_log(st, "exposures/spring-1", 0, "0123456789abcdef");
    assert_log(st, "contacts", 0, "contact!");
    /* appended by the next commit; the length moves with it */
    begin(st);
    assert_int_equal(tl_applog_write(c, "more", 4, &eb), 0);
    commit(st);
    assert_log(st, "contacts", 0, "contact!more");
    assert_log(st, "contacts", 8, "more");
    /* the logs a commit recorded, by name */
    names_t all = {0};
    assert_int_equal(tl_store_applog_list(st, blob_seen, &all, &eb), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.names[0], "contacts");
    assert_string_equal(all.names[1], "exposures/spring-1");
    assert_string_equal(all.names[2], "outbox/sms");
    /* names are checked */
    const char *bad[] = {"outbox/", "outbox/a/b", "exposures/.x", "contacts/x", "x/side.bin",
                         "campaigns/contacts.bin", "outbox/sms.jsonl/.."};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tl_buf_t b;
        tl_buf_init(&b);
        uint64_t len;
        assert_int_equal(tl_store_applog_open(st, bad[i], &o, &eb), TL_EINVAL);
        assert_null(o);
        assert_int_equal(tl_store_applog_read(st, bad[i], 0, &b, &eb), TL_EINVAL);
        assert_int_equal(tl_store_applog_committed(st, bad[i], &len, &eb), TL_EINVAL);
        tl_buf_fini(&b);
    }
    tl_store_close(st);
    /* a read-only store writes no side log */
    tl_store_conf_t conf = *test_conf();
    conf.backend = *state;
    assert_int_equal(tl_store_open_conf(dir, &conf, TL_STORE_READONLY, &st, &eb), 0);
    assert_int_equal(tl_store_applog_open(st, "contacts", &c, &eb), TL_EINVAL);
    tl_store_close(st);
}

/* ---- keys, pseudonyms, erasure and retention ----------------------------------------- */

static tl_store_t *open_in(void **state, const char *sub) {
    tl_store_conf_t c = *test_conf();
    c.backend = *state;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    tl_store_t *st = NULL;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_open_conf(path, &c, TL_STORE_CREATE, &st, &eb), 0);
    return st;
}

static int all_hex(const char *s, size_t n) {
    if (strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i])) return 0;
    return 1;
}

static void test_pseudonyms(void **state) {
    tl_store_t *st = open_be(state), *other = open_in(state, "other");
    tl_errbuf_t eb = {{0}};
    char a1[33], a2[33], b[33], elsewhere[33], m1[65], m2[65], m3[65], mo[65];
    assert_int_equal(tl_store_pseudonym(st, "alice", 5, a1, &eb), 0);
    assert_true(all_hex(a1, 32));
    begin(st); /* the same inside a batch, and after it */
    assert_int_equal(tl_store_pseudonym(st, "alice", 5, a2, &eb), 0);
    tl_store_rollback(st);
    assert_string_equal(a1, a2);
    assert_int_equal(tl_store_pseudonym(st, "alice", 5, a2, &eb), 0);
    assert_string_equal(a1, a2);
    assert_int_equal(tl_store_pseudonym(st, "bob", 3, b, &eb), 0);
    assert_string_not_equal(a1, b);
    assert_int_equal(tl_store_pseudonym(other, "alice", 5, elsewhere, &eb), 0);
    assert_string_not_equal(a1, elsewhere); /* unrelated in another store */
    assert_int_equal(tl_store_mac(st, "entry", 5, m1, &eb), 0);
    assert_true(all_hex(m1, 64));
    assert_int_equal(tl_store_mac(st, "entry", 5, m2, &eb), 0);
    assert_string_equal(m1, m2);
    assert_int_equal(tl_store_mac(st, "entrz", 5, m3, &eb), 0);
    assert_string_not_equal(m1, m3);
    assert_int_equal(tl_store_mac(other, "entry", 5, mo, &eb), 0);
    assert_string_not_equal(m1, mo);
    tl_store_close(other);
    tl_store_close(st);
}

static void assert_anchor(tl_store_t *st, int want_rc, const tl_audit_anchor_t *want) {
    tl_errbuf_t eb = {{0}};
    tl_audit_anchor_t a;
    assert_int_equal(tl_store_audit_anchor(st, &a, &eb), want_rc);
    if (want_rc) return;
    assert_int_equal(a.entries, want->entries);
    assert_string_equal(a.head, want->head);
    assert_int_equal(a.since, want->since);
    assert_int_equal(a.upgraded, want->upgraded);
    assert_int_equal(a.at, want->at);
}

static void test_anchor(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    /* what a writable open left (the local one anchors a new directory) */
    tl_audit_anchor_t before;
    int rc0 = tl_store_audit_anchor(st, &before, &eb);
    assert_true(rc0 == 0 || rc0 == TL_ENOENT);
    tl_audit_anchor_t a = {.entries = 3, .since = 1, .upgraded = 1, .at = 42};
    snprintf(a.head, sizeof a.head, "%064d", 7);
    assert_int_equal(tl_store_audit_anchor_put(st, &a, &eb), TL_EINVAL); /* outside a batch */
    begin(st);
    assert_int_equal(tl_store_audit_anchor_put(st, &a, &eb), 0);
    assert_anchor(st, 0, &a); /* the batch sees its own */
    tl_store_rollback(st);
    assert_anchor(st, rc0, &before);
    begin(st);
    assert_int_equal(tl_store_audit_anchor_put(st, &a, &eb), 0);
    commit(st);
    assert_anchor(st, 0, &a);
    tl_audit_anchor_t none = {.entries = 0, .since = 0, .at = 7};
    begin(st);
    assert_int_equal(tl_store_audit_anchor_put(st, &none, &eb), 0);
    commit(st);
    assert_anchor(st, 0, &none);
    tl_store_close(st);
}

static int credit_late(uint32_t user, const tl_credit_t *c, void *arg) {
    ((int64_t *)arg)[user] = c->late;
    return 0;
}

/* alice (0) and bob (1), each with events, consents, credit and a held
 * delivery, and a quarantined row naming alice. */
static void erase_fixture(tl_store_t *st) {
    tl_errbuf_t eb = {{0}};
    begin(st);
    tl_user_t u = {.name = "Alice A", .email = "alice@x", .registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "alice", &u, &eb), 1);
    tl_user_t v = {.name = "Bob B", .registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "bob", &v, &eb), 1);
    for (int i = 0; i < 6; i++) {
        tl_event_t e = ev(500 + (uint64_t)i, (uint32_t)(i % 2), 1000 * (i + 1));
        assert_int_equal(tl_store_add_event(st, &e, &eb), 1);
    }
    for (uint32_t k = 0; k < 2; k++) {
        assert_int_equal(tl_store_put_consent(st, k, "email", 1, 100, &eb), 1);
        assert_int_equal(tl_store_put_consent(st, k, "email", 0, 5000, &eb), 1);
        tl_credit_t c = {.on_time = 1, .late = 2, .max_overdue_days = -1, .history_months = -1,
                         .debt = NAN, .default_flag = -1};
        assert_int_equal(tl_store_put_credit(st, k, &c, &eb), 1);
    }
    assert_int_equal(tl_store_delivery_hold(st, "c:1:alice", "email", 10, 50, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:bob", "email", 20, 50, &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 2, "bad_ts", "m", "alice,x", 7, "alice,*", &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 3, "bad_ts", "m", "bob,y", 5, "bob,*", &eb), 1);
    commit(st);
}

static void test_erase_user(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    erase_fixture(st);
    uint32_t idx = 7;
    assert_int_equal(tl_store_erased_any(st, &eb), 0);
    assert_int_equal(tl_store_erased(st, "alice", 5, &idx, &eb), 0);
    assert_int_equal(idx, TL_NONE);
    tl_purge_stats_t ps;
    const char *terms[] = {"alice"};
    tl_purge_t pu = {.user = 0, .before = INT64_MIN, .terms = terms, .nterms = 1};
    tl_purge_t bad = {.user = 9, .before = INT64_MIN};
    assert_int_equal(tl_store_purge(st, &bad, &ps, &eb), TL_EINVAL); /* no such index */
    begin(st);
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), TL_EINVAL); /* not in a batch */
    tl_store_rollback(st);
    assert_int_equal(tl_store_erased_any(st, &eb), 0);
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), 0);
    assert_int_equal(ps.events, 3);
    assert_int_equal(ps.rows, 4); /* the user, the credit record, two consents */
    assert_int_equal(ps.quarantined, 1);
    /* the tombstone: alice stays erased, with the index she had */
    assert_int_equal(tl_store_erased_any(st, &eb), 1);
    assert_int_equal(tl_store_erased(st, "alice", 5, &idx, &eb), 1);
    assert_int_equal(idx, 0);
    assert_int_equal(tl_store_erased(st, "bob", 3, &idx, &eb), 0);
    assert_int_equal(idx, TL_NONE);
    assert_int_equal(find_id(st, TL_D_USER, "alice"), TL_NONE);
    assert_int_equal(find_id(st, TL_D_USER, "bob"), 1); /* indexes stay */
    /* alice's events and rows gone, bob's intact */
    assert_int_equal(tl_store_event_count(st), 3);
    evseen_t all = {.from = 0, .first_ok = 1, .cols_ok = 1};
    assert_int_equal(tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_TS, ev_seen, &all, &eb), 0);
    assert_int_equal(all.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(all.user[i], 1);
        assert_int_equal(all.ts[i], 2000 * (i + 1));
    }
    users_seen_t us = {0};
    assert_int_equal(tl_store_scan_users(st, user_seen, &us, &eb), 0);
    assert_int_equal(us.n, 1);
    assert_int_equal(us.idx[0], 1);
    consents_seen_t cs = {0};
    assert_int_equal(tl_store_scan_consents(st, TL_NONE, consent_seen, &cs, &eb), 0);
    assert_int_equal(cs.n, 2);
    assert_string_equal(cs.seen[0], "1 email 1 100");
    int64_t late[2] = {-9, -9};
    assert_int_equal(tl_store_scan_credit(st, TL_NONE, credit_late, late, &eb), 0);
    assert_int_equal(late[0], -9);
    assert_int_equal(late[1], 2);
    names_t held = {0}, q = {0};
    assert_int_equal(tl_store_deliveries_held(st, "email", 100, offset_seen, &held, &eb), 0);
    assert_int_equal(held.n, 1);
    assert_string_equal(held.names[0], "20");
    assert_int_equal(tl_store_quarantine_scan(st, NULL, 1, qrow_seen, &q, &eb), 0);
    assert_int_equal(q.n, 2);
    assert_string_equal(q.names[0], "f.csv:2 bad_ts |(erased)"); /* source, line and reason stay */
    assert_string_equal(q.names[1], "f.csv:3 bad_ts bob,y|bob,*");
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_store_user_pii(st, 0, &b, &eb), 0);
    assert_memory_equal(b.data, "\0\0\0", 4);
    tl_buf_fini(&b);
    /* erased again: nothing more to take */
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), 0);
    assert_int_equal(ps.events, 0);
    assert_int_equal(tl_store_event_count(st), 3);
    tl_store_close(st);
}

static void test_retention(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    erase_fixture(st);
    tl_purge_stats_t ps;
    tl_purge_t pu = {.user = TL_NONE, .before = 3500};
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), 0);
    assert_int_equal(ps.events, 3);
    assert_int_equal(tl_store_event_count(st), 3);
    evseen_t all = {.from = 0, .first_ok = 1, .cols_ok = 1};
    assert_int_equal(tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_TS, ev_seen, &all, &eb), 0);
    assert_int_equal(all.n, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(all.ts[i], 1000 * (i + 4));
    /* the consent history older than the cut goes, the consent in force stays */
    consents_seen_t cs = {0};
    assert_int_equal(tl_store_scan_consents(st, TL_NONE, consent_seen, &cs, &eb), 0);
    assert_int_equal(cs.n, 2);
    assert_string_equal(cs.seen[0], "0 email 0 5000");
    assert_string_equal(cs.seen[1], "1 email 0 5000");
    users_seen_t us = {0};
    assert_int_equal(tl_store_scan_users(st, user_seen, &us, &eb), 0);
    assert_int_equal(us.n, 2);
    assert_int_equal(tl_store_erased_any(st, &eb), 0); /* a cut erases nobody */
    tl_store_close(st);
}

static void test_rotate_key(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    erase_fixture(st);
    char p1[33], p2[33], m1[65], m2[65];
    assert_int_equal(tl_store_pseudonym(st, "alice", 5, p1, &eb), 0);
    assert_int_equal(tl_store_mac(st, "x", 1, m1, &eb), 0);
    tl_rekey_stats_t k;
    begin(st);
    assert_int_equal(tl_store_rotate_key(st, NULL, &k, &eb), TL_EINVAL); /* not in a batch */
    tl_store_rollback(st);
    assert_int_equal(tl_store_rotate_key(st, NULL, &k, &eb), 0);
    assert_true(k.other >= 1); /* the pseudonym secret at least */
    assert_int_equal(tl_store_rotate_key(st, NULL, &k, &eb), 0); /* and again */
    /* everything reads as before */
    assert_int_equal(tl_store_pseudonym(st, "alice", 5, p2, &eb), 0);
    assert_string_equal(p1, p2);
    assert_int_equal(tl_store_mac(st, "x", 1, m2, &eb), 0);
    assert_string_equal(m1, m2);
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_store_user_pii(st, 0, &b, &eb), 0);
    assert_int_equal(b.len, sizeof "Alice A\0\0alice@x\0");
    assert_memory_equal(b.data, "Alice A\0\0alice@x\0", b.len);
    tl_buf_fini(&b);
    names_t q = {0};
    assert_int_equal(tl_store_quarantine_scan(st, NULL, 1, qrow_seen, &q, &eb), 0);
    assert_int_equal(q.n, 2);
    assert_string_equal(q.names[0], "f.csv:2 bad_ts alice,x|alice,*");
    /* and new values seal under the new key */
    begin(st);
    tl_user_t c = {.name = "Carol", .registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "carol", &c, &eb), 1);
    commit(st);
    tl_buf_init(&b);
    assert_int_equal(tl_store_user_pii(st, 2, &b, &eb), 0);
    assert_string_equal(b.data, "Carol");
    tl_buf_fini(&b);
    tl_store_close(st);
}

#define BOTH(f)                                                                              \
    cmocka_unit_test_prestate_setup_teardown(f, tmpdir_setup, tmpdir_teardown,               \
                                             (void *)&tl_store_local),                       \
        cmocka_unit_test_prestate_setup_teardown(f, tmpdir_setup, tmpdir_teardown,           \
                                                 (void *)&tl_test_store_mem)

/* The memory back end without blob writers of its own. */
static tl_store_backend_t mem_bare;

int main(void) {
    mem_bare = tl_test_store_mem;
    mem_bare.name = "memory without blob writers";
    mem_bare.blob_create = NULL, mem_bare.blobw_write = NULL, mem_bare.blobw_stream = NULL;
    mem_bare.blobw_close = NULL, mem_bare.blobw_abandon = NULL;
    const struct CMUnitTest tests[] = {
        BOTH(test_ids),    BOTH(test_entities), BOTH(test_consents), BOTH(test_batches),
        BOTH(test_events), BOTH(test_blobs),    BOTH(test_settings), BOTH(test_repositories),
        BOTH(test_quarantine_pii), BOTH(test_campaigns),
        BOTH(test_deliveries),
        BOTH(test_dnc), BOTH(test_feedback), BOTH(test_counts_stats), BOTH(test_check_fresh),
        BOTH(test_builtins),
        BOTH(test_blob_writers), BOTH(test_blob_maps), BOTH(test_blob_append), BOTH(test_applogs),
        /* the store's writer over blob_put, for a back end without its own */
        cmocka_unit_test_prestate_setup_teardown(test_blob_writers, tmpdir_setup, tmpdir_teardown,
                                                 (void *)&mem_bare),
        BOTH(test_pseudonyms), BOTH(test_anchor), BOTH(test_erase_user), BOTH(test_retention),
        BOTH(test_rotate_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
