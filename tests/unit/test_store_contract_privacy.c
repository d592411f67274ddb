/* Contract tests of the store's back-end interface, on each back end
 * (store_contract.h): pseudonyms and MACs, the audit anchor, the purge of
 * a user (tombstones) and of old records, with the side logs and derived
 * blobs it puts in place, key rotation. */
#include "store_contract.h"

/* ---- keys, pseudonyms, erasure and retention ----------------------------------------- */

static tl_store_t *open_in(void **state, const char *sub) {
    tl_store_conf_t c = contract_conf(state);
    char path[600];
    contract_where(state, sub, path, sizeof path);
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
    assert_int_equal(tl_store_link_add(st, 1, 0, 300, "login", NULL, &eb), 1);
    assert_int_equal(tl_store_dnc_put(st, 0, "*", "manual", 10, NULL, &eb), 1);
    assert_int_equal(tl_store_dnc_put(st, 1, "sms", "manual", 10, NULL, &eb), 1);
    for (uint32_t k = 0; k < 2; k++) {
        tl_feedback_row_t f = {.user = k, .kind = "complaint", .item = TL_NONE, .score = NAN,
                               .at = 400, .source = "fb.csv", .line = k + 1};
        assert_int_equal(tl_store_feedback_add(st, &f, &eb), 1);
    }
    assert_int_equal(tl_store_delivery_hold(st, "c:1:alice", "email", 10, 50, &eb), 1);
    assert_int_equal(tl_store_delivery_hold(st, "c:1:bob", "email", 20, 50, &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 2, "bad_ts", "m", "alice,x", 7, "alice,*", &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "f.csv", 3, "bad_ts", "m", "bob,y", 5, "bob,*", &eb), 1);
    commit(st);
}

static int link_count(const tl_link_row_t *l, void *arg) {
    (void)l;
    ++*(int *)arg;
    return 0;
}

static int dnc_count(const tl_dnc_row_t *d, void *arg) {
    (void)d;
    ++*(int *)arg;
    return 0;
}

static int feedback_count(const tl_feedback_row_t *f, void *arg) {
    (void)f;
    ++*(int *)arg;
    return 0;
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
    /* the user, the credit record, two consents, a link, a do-not-contact
     * entry, a feedback record */
    assert_int_equal(ps.rows, 7);
    assert_int_equal(ps.quarantined, 1);
    /* the tombstone: alice stays erased, with the index she had */
    assert_int_equal(tl_store_erased_any(st, &eb), 1);
    assert_int_equal(tl_store_erased(st, "alice", 5, &idx, &eb), 1);
    assert_int_equal(idx, 0);
    assert_int_equal(tl_store_erased(st, "bob", 3, &idx, &eb), 0);
    assert_int_equal(idx, TL_NONE);
    assert_int_equal(find_id(st, TL_D_USER, "alice"), TL_NONE);
    assert_int_equal(find_id(st, TL_D_USER, "bob"), 1); /* indexes stay */
    int nlinks = 0;
    assert_int_equal(tl_store_link_scan(st, TL_NONE, link_count, &nlinks, &eb), 0);
    assert_int_equal(nlinks, 0); /* the link naming alice went with her */
    int ndnc = 0, nfb = 0;
    assert_int_equal(tl_store_dnc_scan(st, INT64_MAX, dnc_count, &ndnc, &eb), 0);
    assert_int_equal(ndnc, 1); /* bob's */
    assert_int_equal(tl_store_feedback_of_user(st, 0, feedback_count, &nfb, &eb), 0);
    assert_int_equal(nfb, 0);
    assert_int_equal(tl_store_feedback_of_user(st, 1, feedback_count, &nfb, &eb), 0);
    assert_int_equal(nfb, 1);
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

/* A purge puts in place the side logs and derived blobs it is given, in
 * the same step; a purge refused frees its writers and changes nothing. */
static void test_purge_installs(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    erase_fixture(st);
    tl_applog_t *lg;
    begin(st);
    assert_int_equal(tl_store_applog_open(st, "contacts", &lg, &eb), 0);
    assert_int_equal(tl_applog_write(lg, "alice\nbob\n", 10, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "profiles", "old", 3, &eb), 0);
    commit(st);
    tl_blobw_t *w;
    tl_logswap_t logs[] = {{.name = "contacts", .data = "bob\n", .len = 4}};
    assert_int_equal(tl_store_blob_create(st, "profiles", &w, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "new", 3, &eb), 0);
    tl_purge_stats_t ps;
    tl_purge_t bad = {.user = 9, .before = INT64_MIN, .logs = logs, .nlogs = 1, .blobs = &w,
                      .nblobs = 1};
    assert_int_equal(tl_store_purge(st, &bad, &ps, &eb), TL_EINVAL);
    assert_blob(st, "profiles", "old");
    assert_int_equal(tl_store_blob_create(st, "profiles", &w, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "new", 3, &eb), 0);
    tl_purge_t pu = {.user = 0, .before = INT64_MIN, .logs = logs, .nlogs = 1, .blobs = &w,
                     .nblobs = 1};
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), 0);
    assert_blob(st, "profiles", "new");
    uint64_t len = 0;
    assert_int_equal(tl_store_applog_committed(st, "contacts", &len, &eb), 0);
    assert_int_equal(len, 4);
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_store_applog_read(st, "contacts", 0, &b, &eb), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "bob\n", 4);
    tl_buf_fini(&b);
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
    /* a key given at open (PostgreSQL's) is followed by one the caller gives */
    static const unsigned char k2[32] = {2}, k3[32] = {3};
    int given = *state == &tl_store_pg;
    assert_int_equal(tl_store_rotate_key(st, given ? k2 : NULL, &k, &eb), 0);
    assert_true(k.other >= 1); /* the pseudonym secret at least */
    assert_int_equal(tl_store_rotate_key(st, given ? k3 : NULL, &k, &eb), 0); /* and again */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        EACH(test_pseudonyms), EACH(test_anchor), EACH(test_erase_user), EACH(test_purge_installs),
        EACH(test_retention),
        EACH(test_rotate_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
