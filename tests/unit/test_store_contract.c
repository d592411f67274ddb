/* Contract tests of the store's back-end interface (store/backend.h): the
 * same assertions run against the local back end (a data directory), a
 * small one in memory (src/store/mem/) and the PostgreSQL one: id
 * assignment, upserts and scans, batches, events by column and from a
 * sequence, blobs, consents in force, settings and segments, API keys and
 * audit entries, personal fields, the quarantine, campaigns and their
 * runs, delivery states. The other repositories:
 * test_store_contract_repos.c; keys and erasure:
 * test_store_contract_privacy.c. */
#include "store_contract.h"

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

/* A scan from a time: every row of that time or later, earlier ones too
 * perhaps; the local back end skips the blocks it knows end before. */
typedef struct {
    int64_t min_ts;
    int given, late, wrong;
    uint8_t seen[64];
} sinceseen_t;

static int since_seen(const tl_evblock_t *b, void *arg) {
    sinceseen_t *s = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        uint64_t q = b->first_seq + i;
        s->given++;
        if (q >= 64 || !b->ts || b->user[i] != (uint32_t)q) s->wrong++;
        else if (b->ts[i] >= s->min_ts) s->seen[q]++, s->late++;
    }
    return 0;
}

static void test_scan_since(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    /* four commits, each its own block in the local log: old times, new,
     * old again (sent late), new */
    const int64_t base[4] = {1000, 900000, 2000, 950000};
    for (int k = 0, q = 0; k < 4; k++) {
        begin(st);
        for (int i = 0; i < 16; i++, q++) {
            tl_event_t e = ev(500 + (uint64_t)q, (uint32_t)q, base[k] + i);
            assert_int_equal(tl_store_add_event(st, &e, &eb), 1);
        }
        commit(st);
    }
    for (int pass = 0; pass < 2; pass++) { /* the second after the first taught the blocks */
        sinceseen_t s = {.min_ts = 900008};
        assert_int_equal(tl_store_scan_since(st, s.min_ts, TL_EVC_USER, since_seen, &s, &eb), 0);
        assert_int_equal(s.wrong, 0);
        assert_int_equal(s.late, 8 + 16);
        for (int q = 0; q < 64; q++)
            assert_int_equal(s.seen[q], (q >= 24 && q < 32) || q >= 48);
        if (pass && *state == &tl_store_local) assert_int_equal(s.given, 32); /* blocks 0 and 2 skipped */
    }
    sinceseen_t none = {.min_ts = 2000000};
    assert_int_equal(tl_store_scan_since(st, none.min_ts, TL_EVC_USER, since_seen, &none, &eb), 0);
    assert_int_equal(none.late + none.wrong, 0);
    tl_store_close(st);
}

/* ---- blobs ------------------------------------------------------------------------- */

static void test_blobs(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_blob_put(st, "models/b", "bee", 3, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "models/a", "ay", 2, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "scorecards/c", "sea", 3, &eb), 0);
    assert_blob(st, "models/a", "ay");
    assert_blob(st, "models/z", NULL);
    /* a name not of a blob's form is refused by every back end */
    tl_buf_t b;
    tl_buf_init(&b);
    const char *bad[] = {"models/", "models/.x", "tmp/x", "../profiles"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(tl_store_blob_put(st, bad[i], "x", 1, &eb), TL_EINVAL);
        assert_int_equal(tl_store_blob_get(st, bad[i], &b, &eb), TL_EINVAL);
        assert_int_equal(tl_store_blob_remove(st, bad[i], &eb), TL_EINVAL);
    }
    tl_buf_fini(&b);
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
    /* a later batch finds the committed rows: the same raw text of a line
     * again is kept once, another raw text of that line is a row */
    begin(st);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 3, "bad_ts", "m", "r3", 2, "p3", &eb), 0);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 3, "bad_ts", "m", "r3!", 3, "p3", &eb), 1);
    tl_store_rollback(st);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        EACH(test_ids),    EACH(test_entities), EACH(test_consents), EACH(test_batches),
        EACH(test_events), EACH(test_scan_since), EACH(test_blobs),    EACH(test_settings), EACH(test_repositories),
        EACH(test_quarantine_pii), EACH(test_campaigns),
        EACH(test_deliveries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
