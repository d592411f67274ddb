/* Contract tests of the store's back-end interface, on each back end
 * (store_contract.h): do-not-contact entries and feedback, counts, event
 * totals and the check, the built-in event types and channels every new
 * store starts with, blob writers, maps and appends (the writers also
 * through the store's own over blob_put), side logs. */
#include "store_contract.h"

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

static int link_seen(const tl_link_row_t *l, void *arg) {
    names_t *s = arg;
    char split[40] = "-";
    if (l->split_at != INT64_MIN)
        snprintf(split, sizeof split, "%lld:%s", (long long)l->split_at,
                 l->split_reason ? l->split_reason : "?");
    snprintf(s->names[s->n++], 64, "%llu %u-%u %lld %s %s", (unsigned long long)l->id, l->a, l->b,
             (long long)l->at, l->source, split);
    return 0;
}

/* Identity links: one in force per pair whatever the order given, ids in
 * the order added, a batch's own seen and a rolled-back one gone, a split
 * kept with when and why, the pair linked again under a new id. */
static void test_links(void **state) {
    tl_store_t *st = open_be(state);
    tl_errbuf_t eb = {{0}};
    uint64_t id = 0;
    assert_int_equal(tl_store_link_add(st, 1, 2, 10, "login", &id, &eb), TL_EINVAL);
    begin(st);
    assert_int_equal(tl_store_link_add(st, 3, 3, 10, "login", &id, &eb), TL_EINVAL);
    assert_int_equal(tl_store_link_add(st, 5, 2, 10, "login", &id, &eb), 1);
    assert_int_equal(id, 1);
    assert_int_equal(tl_store_link_add(st, 2, 7, 20, "identify", &id, &eb), 1);
    assert_int_equal(id, 2);
    id = 0;
    assert_int_equal(tl_store_link_add(st, 2, 5, 30, "import", &id, &eb), 0);
    assert_int_equal(id, 1); /* the pair's link in force */
    names_t own = {0};
    assert_int_equal(tl_store_link_scan(st, 7, link_seen, &own, &eb), 0);
    assert_int_equal(own.n, 1);
    assert_string_equal(own.names[0], "2 2-7 20 identify -");
    commit(st);
    begin(st);
    assert_int_equal(tl_store_link_add(st, 8, 9, 40, "login", &id, &eb), 1);
    tl_store_rollback(st);
    assert_int_equal(tl_store_link_split(st, 1, 50, "wrong", &eb), TL_EINVAL); /* no batch */
    begin(st);
    assert_int_equal(tl_store_link_split(st, 1, 50, "shared tablet", &eb), 1);
    assert_int_equal(tl_store_link_split(st, 1, 60, "again", &eb), 0);
    eb.msg[0] = 0;
    assert_int_equal(tl_store_link_split(st, 99, 60, "none", &eb), TL_ENOENT);
    assert_true(eb.msg[0] != 0);
    assert_int_equal(tl_store_link_add(st, 5, 2, 70, "login", &id, &eb), 1);
    assert_int_equal(id != 1 && id != 2, 1);
    commit(st);
    names_t all = {0}, two = {0}, none = {0};
    assert_int_equal(tl_store_link_scan(st, TL_NONE, link_seen, &all, &eb), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.names[0], "1 2-5 10 login 50:shared tablet");
    assert_string_equal(all.names[1], "2 2-7 20 identify -");
    assert_int_equal(strncmp(all.names[2] + strcspn(all.names[2], " "), " 2-5 70 login -", 15), 0);
    assert_int_equal(tl_store_link_scan(st, 2, link_seen, &two, &eb), 0);
    assert_int_equal(two.n, 3);
    assert_int_equal(tl_store_link_scan(st, 9, link_seen, &none, &eb), 0);
    assert_int_equal(none.n, 0);
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
    st = open_be(state); /* the store again (the memory back end: a new one) */
    assert_builtins(st);
    tl_ids_t ids;
    assert_int_equal(tl_store_ids(st, TL_D_TYPE, &ids, &eb), 0);
    assert_int_equal(ids.n, *state == &tl_store_memory ? TL_EV__BUILTIN : TL_EV__BUILTIN + 1);
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
    tl_store_conf_t conf = contract_conf(state);
    assert_int_equal(tl_store_open_conf(dir, &conf, TL_STORE_READONLY, &st, &eb), 0);
    assert_int_equal(tl_store_applog_open(st, "contacts", &c, &eb), TL_EINVAL);
    tl_store_close(st);
}

/* The memory back end without blob writers of its own. */
static tl_store_backend_t mem_bare;

int main(void) {
    mem_bare = tl_store_memory;
    mem_bare.name = "memory without blob writers";
    mem_bare.blob_create = NULL, mem_bare.blobw_write = NULL, mem_bare.blobw_stream = NULL;
    mem_bare.blobw_close = NULL, mem_bare.blobw_abandon = NULL;
    const struct CMUnitTest tests[] = {
        EACH(test_dnc), EACH(test_links), EACH(test_feedback), EACH(test_counts_stats), EACH(test_check_fresh),
        EACH(test_builtins),
        EACH(test_blob_writers), EACH(test_blob_maps), EACH(test_blob_append), EACH(test_applogs),
        /* the store's writer over blob_put, for a back end without its own */
        cmocka_unit_test_prestate_setup_teardown(test_blob_writers, tmpdir_setup, tmpdir_teardown,
                                                 (void *)&mem_bare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
