/* Unit tests of src/profile on a generated world: the batch build against
 * counts taken straight from the event log, the incremental path against
 * the batch build, the ground truth showing through (tastes → affinity),
 * the snapshot round trip, users who withdrew profiling, and persons of
 * several identifiers (one profile a person; a split link gives back the
 * profiles of a store that never had it; a generated world's persons). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "gen/gen.h"
#include "identity/identity.h"
#include "ingest/ingest.h"
#include "profile/profile.h"
#include "segment/segment.h"
#include "tmpdir.h"

/* The world g describes, generated in DIR/world and imported (users,
 * items, credit, events) into a new store in DIR/data. */
static tl_store_t *world_of(const tl_gen_opts_t *g) {
    char out[300], data[300];
    snprintf(out, sizeof out, "%s/world", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    tl_gen_stats_t gs;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_gen_run(g, out, &gs, &eb), 0);
    tl_store_t *st;
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    static const char *const names[] = {"users.csv", "items.csv", "credit.csv", "events.csv"};
    char paths[4][400];
    tl_source_t files[4];
    for (int i = 0; i < 4; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", out, names[i]);
        files[i] = tl_source_file(paths[i]);
    }
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s = {0};
    assert_int_equal(tl_import(st, files, 4, &o, &s, NULL, NULL, &eb), 0);
    return st;
}

static tl_store_t *world(uint32_t users, uint32_t days) {
    tl_gen_opts_t g;
    tl_gen_opts_default(&g);
    g.users = users;
    g.items = 400;
    g.days = days;
    g.seed = 11;
    return world_of(&g);
}

typedef struct {
    uint32_t n;
    uint32_t *events, *purchases;
    double *money;
} counts_t;

static int count_block(const tl_evblock_t *b, void *arg) {
    counts_t *c = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t u = b->user[i];
        if (u >= c->n) continue;
        c->events[u]++;
        if (b->type[i] == TL_EV_PURCHASE) c->purchases[u]++, c->money[u] += b->amount[i];
        if (b->type[i] == TL_EV_REFUND) c->money[u] -= b->amount[i];
    }
    return 0;
}

static void test_build_matches_log(void **state) {
    (void)state;
    tl_store_t *st = world(1500, 40);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    tl_profiles_t *p;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_profile_build(st, &o, &p, &eb), 0);
    uint32_t n = tl_profile_nusers(p);
    assert_true(n >= 1500);
    counts_t c = {n, calloc(n, 4), calloc(n, 4), calloc(n, 8)};
    assert_int_equal(tl_store_scan_events(st, count_block, &c, &eb), 0);
    const uint32_t *ev = tl_profile_col_data(p, tl_profile_col_find(p, "events"));
    const uint32_t *pu = tl_profile_col_data(p, tl_profile_col_find(p, "purchases"));
    const uint32_t *orders = tl_profile_col_data(p, tl_profile_col_find(p, "orders"));
    const double *money = tl_profile_col_data(p, tl_profile_col_find(p, "monetary"));
    const double *aov = tl_profile_col_data(p, tl_profile_col_find(p, "aov"));
    uint32_t buyers = 0;
    for (uint32_t u = 0; u < n; u++) {
        assert_int_equal(ev[u], c.events[u]);
        assert_int_equal(pu[u], c.purchases[u]);
        assert_true(orders[u] <= pu[u]);
        assert_true(fabs(money[u] - c.money[u]) < 1e-6 * (1 + fabs(c.money[u])));
        if (orders[u]) {
            buyers++;
            assert_true(fabs(aov[u] - money[u] / orders[u]) < 1e-9 * (1 + fabs(money[u])));
        }
    }
    assert_true(buyers > 100);
    /* Affinities of a user with events sum to 1; the lifecycle of a user
     * without events is "prospect". */
    int lc = tl_profile_col_find(p, "lifecycle");
    int first_aff = tl_profile_col_find(p, "affinity_electronics");
    assert_true(first_aff > 0);
    for (uint32_t u = 0; u < n; u++) {
        uint32_t code = ((const uint32_t *)tl_profile_col_data(p, lc))[u];
        if (!ev[u]) assert_string_equal(tl_profile_cat_label(p, lc, code), "prospect");
    }
    free(c.events);
    free(c.purchases);
    free(c.money);
    tl_profile_free(p);
    tl_store_close(st);
}

typedef struct {
    tl_profiles_t *p;
    int rc;
} apply_t;

static int apply_block(const tl_evblock_t *b, void *arg) {
    apply_t *a = arg;
    for (uint32_t i = 0; i < b->n && !a->rc; i++) {
        tl_event_t e = {.fp = b->fp[i], .user = b->user[i], .item = b->item[i], .ts = b->ts[i],
                        .type = b->type[i], .channel = b->channel[i], .qty = b->qty[i],
                        .amount = b->amount[i], .rating = b->rating[i], .lat = b->lat[i],
                        .lon = b->lon[i], .query = b->query[i], .city = b->city[i],
                        .session = b->session[i], .campaign = b->campaign[i]};
        a->rc = tl_profile_apply(a->p, &e);
    }
    return a->rc;
}

static int same(double a, double b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabs(a - b) <= 1e-9 * (1 + fabs(a));
}

static void test_incremental_equals_batch(void **state) {
    (void)state;
    tl_store_t *st = world(1200, 30);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    o.threads = 2;
    tl_profiles_t *batch, *inc;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_profile_build(st, &o, &batch, &eb), 0);
    /* One event at a time, in arrival order, one thread. */
    o.threads = 1;
    assert_int_equal(tl_profile_new_empty(st, &o, batch, &inc, &eb), 0);
    apply_t a = {inc, 0};
    assert_int_equal(tl_store_scan_events(st, apply_block, &a, &eb), 0);
    assert_int_equal(tl_profile_refresh(inc, tl_profile_as_of(batch)), 0);
    assert_int_equal(tl_profile_ncols(inc), tl_profile_ncols(batch));
    uint32_t n = tl_profile_nusers(batch);
    assert_int_equal(tl_profile_nusers(inc), n);
    for (int c = 0; c < tl_profile_ncols(batch); c++) {
        assert_string_equal(tl_profile_col_name(inc, c), tl_profile_col_name(batch, c));
        for (uint32_t u = 0; u < n; u++) {
            if (tl_profile_col_type(batch, c) == TL_COL_NUM) {
                double x = ((const double *)tl_profile_col_data(batch, c))[u];
                double y = ((const double *)tl_profile_col_data(inc, c))[u];
                if (!same(x, y))
                    fail_msg("column %s user %u: batch %.17g, incremental %.17g",
                             tl_profile_col_name(batch, c), u, x, y);
            } else {
                uint32_t x = ((const uint32_t *)tl_profile_col_data(batch, c))[u];
                uint32_t y = ((const uint32_t *)tl_profile_col_data(inc, c))[u];
                if (x != y)
                    fail_msg("column %s user %u: batch %u, incremental %u",
                             tl_profile_col_name(batch, c), u, x, y);
            }
        }
    }
    tl_profile_free(batch);
    tl_profile_free(inc);
    tl_store_close(st);
}

/* The generator's latent tastes should show in the affinities: for active
 * users, the category they like most in truth is the top category more
 * often than chance. */
static void test_truth_shows(void **state) {
    (void)state;
    tl_store_t *st = world(2000, 60);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    tl_profiles_t *p;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_profile_build(st, &o, &p, &eb), 0);
    char path[1024];
    snprintf(path, sizeof path, "python3 - %s/world/truth.json > %s/best.txt <<'EOF'\n"
             "import json, sys\n"
             "t = json.load(open(sys.argv[1]))\n"
             "for u in t['user_truth']:\n"
             "    print(u['user'], max(u['tastes'], key=u['tastes'].get))\n"
             "EOF", dir, dir);
    assert_int_equal(system(path), 0);
    snprintf(path, sizeof path, "%s/best.txt", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    int top = tl_profile_col_find(p, "top_category"), evc = tl_profile_col_find(p, "events");
    char id[64], cat[64];
    int agree = 0, total = 0;
    while (fscanf(f, "%63s %63s", id, cat) == 2) {
        uint32_t u = tl_dict_find(users, id, strlen(id));
        if (u == TL_NONE || ((const uint32_t *)tl_profile_col_data(p, evc))[u] < 30) continue;
        uint32_t code = ((const uint32_t *)tl_profile_col_data(p, top))[u];
        total++;
        agree += strcmp(tl_profile_cat_label(p, top, code), cat) == 0;
    }
    fclose(f);
    assert_true(total > 50);
    /* With about 11 categories chance is under 10 %. */
    if (agree * 10 < total * 4) fail_msg("top category agrees with truth for %d of %d", agree, total);
    tl_profile_free(p);
    tl_store_close(st);
}

static void test_snapshot_roundtrip(void **state) {
    (void)state;
    tl_store_t *st = world(500, 20);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    tl_profiles_t *p, *q;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_profile_build(st, &o, &p, &eb), 0);
    assert_int_equal(tl_profile_save(st, p, &eb), 0);
    assert_int_equal(tl_profile_load(st, &q, &eb), 0);
    assert_int_equal(tl_profile_ncols(q), tl_profile_ncols(p));
    assert_int_equal(tl_profile_nusers(q), tl_profile_nusers(p));
    char a[512], b[512];
    for (int c = 0; c < tl_profile_ncols(p); c++)
        for (uint32_t u = 0; u < tl_profile_nusers(p); u++) {
            tl_profile_cell(p, c, u, a, sizeof a);
            tl_profile_cell(q, c, u, b, sizeof b);
            assert_string_equal(a, b);
        }
    tl_profile_free(q);
    /* A damaged snapshot is refused with a clear message. */
    char path[400];
    snprintf(path, sizeof path, "%s/data/profiles.tlp", dir);
    FILE *f = fopen(path, "r+b");
    fseek(f, 100, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    assert_int_equal(tl_profile_load(st, &q, &eb), TL_ECORRUPT);
    assert_non_null(strstr(eb.msg, "profile build"));
    tl_profile_free(p);
    tl_store_close(st);
}

/* The temporary file of a build killed half way goes at the next load (or
 * is taken over by the next save); that of a writer still at work (holding
 * its lock) stays, and the snapshot read is the whole last one. */
static void test_snapshot_leftover(void **state) {
    (void)state;
    tl_store_t *st = world(300, 10);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    tl_profiles_t *p, *q;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_profile_build(st, &o, &p, &eb), 0);
    assert_int_equal(tl_profile_save(st, p, &eb), 0);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/data/profiles.tlp.tmp", dir);
    /* a writer at work: its file is locked and kept */
    int fd = open(tmp, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "TLPROF2\0half", 12), 12);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(tl_profile_load(st, &q, &eb), 0);
    assert_int_equal(access(tmp, F_OK), 0);
    tl_profile_free(q);
    /* killed: the lock goes with it, and so does the file at the next load */
    close(fd);
    assert_int_equal(tl_profile_load(st, &q, &eb), 0);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(tl_profile_nusers(q), tl_profile_nusers(p));
    assert_int_equal(tl_profile_ncols(q), tl_profile_ncols(p));
    tl_profile_free(q);
    /* the next save takes a leftover over and leaves nothing behind */
    FILE *f = fopen(tmp, "wb");
    fputs("a torn snapshot", f);
    fclose(f);
    assert_int_equal(tl_profile_save(st, p, &eb), 0);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(tl_profile_load(st, &q, &eb), 0);
    tl_profile_free(q);
    tl_profile_free(p);
    tl_store_close(st);
}

static int all_unknown(const tl_profiles_t *p, uint32_t u) {
    char cell[512];
    for (int c = 0; c < tl_profile_ncols(p); c++) {
        tl_profile_cell(p, c, u, cell, sizeof cell);
        if (cell[0] && strcmp(cell, "0") != 0) return 0;
    }
    return 1;
}

/* Profiling withdrawn (the latest "profiling" record revokes it): no
 * profile, no segment, not in RFM; kept by the snapshot; events of the
 * user not applied; given back, the profile starts again. */
static void test_profiling_withdrawn(void **state) {
    (void)state;
    tl_store_t *st = world(500, 20);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    o.threads = 2;
    tl_profiles_t *before, *p, *q;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_profile_build(st, &o, &before, &eb), 0);
    int cev = tl_profile_col_find(before, "events");
    const uint32_t *ev = tl_profile_col_data(before, cev);
    uint32_t a = TL_NONE, b = TL_NONE; /* two users with events */
    for (uint32_t u = 0; u < tl_profile_nusers(before) && b == TL_NONE; u++)
        if (ev[u] > 0) *(a == TL_NONE ? &a : &b) = u;
    assert_true(b != TL_NONE);
    assert_false(all_unknown(before, a));
    int64_t t0 = INT64_C(1700000000000);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_true(tl_store_put_consent(st, a, "profiling", 1, t0, &eb) >= 0);
    assert_true(tl_store_put_consent(st, a, "profiling", 0, t0 + 1000, &eb) >= 0);
    assert_true(tl_store_put_consent(st, b, "profiling", 0, t0, &eb) >= 0);
    assert_true(tl_store_put_consent(st, b, "profiling", 1, t0 + 1000, &eb) >= 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    assert_int_equal(tl_profile_build(st, &o, &p, &eb), 0);
    assert_int_equal(tl_profile_nwithdrawn(p), 1);
    assert_true(tl_profile_withdrawn(p, a));
    assert_false(tl_profile_withdrawn(p, b));
    assert_true(all_unknown(p, a));
    char x[512], y[512];
    for (int c = 0; c < tl_profile_ncols(p); c++) { /* given back: as if never asked */
        tl_profile_cell(before, c, b, x, sizeof x);
        tl_profile_cell(p, c, b, y, sizeof y);
        assert_string_equal(x, y);
    }
    /* segments, RFM and clusters leave the user out */
    tl_segtable_t *t;
    assert_int_equal(tl_segtable_new(p, st, &t), 0);
    uint32_t n = tl_profile_nusers(p), size;
    uint8_t *mask = malloc(n);
    tl_expr_err_t err;
    assert_int_equal(tl_segment_eval(t, "events >= 0", mask, &size, &err), 0);
    assert_int_equal(size, n - 1);
    assert_int_equal(mask[a], 0);
    assert_int_equal(tl_segment_eval(t, "orders == 0", mask, &size, &err), 0);
    assert_int_equal(mask[a], 0);
    tl_segtable_free(t);
    free(mask);
    tl_rfm_t r;
    assert_int_equal(tl_segment_rfm(p, &r), 0);
    assert_int_equal(r.segment[a], TL_NONE);
    tl_rfm_fini(&r);
    /* the snapshot keeps who withdrew */
    assert_int_equal(tl_profile_save(st, p, &eb), 0);
    assert_int_equal(tl_profile_load(st, &q, &eb), 0);
    assert_true(tl_profile_withdrawn(q, a));
    assert_int_equal(tl_profile_nwithdrawn(q), 1);
    struct cJSON *none = tl_profile_user_json(q, a);
    assert_int_equal(cJSON_GetArraySize(none), 0);
    cJSON_Delete(none);
    tl_profile_free(q);
    /* later events are not applied; given back, they are */
    tl_event_t e;
    memset(&e, 0, sizeof e);
    e.user = a, e.item = TL_NONE, e.type = TL_EV_VIEW, e.ts = tl_profile_as_of(p);
    e.amount = NAN;
    e.rating = e.lat = e.lon = NAN;
    e.query = e.city = e.session = e.campaign = TL_NONE;
    assert_int_equal(tl_profile_apply(p, &e), 0);
    assert_int_equal(tl_profile_refresh_user(p, a, tl_profile_as_of(p)), 0);
    assert_true(all_unknown(p, a));
    assert_int_equal(tl_profile_set_withdrawn(p, a, 0), 0);
    assert_int_equal(tl_profile_apply(p, &e), 0);
    assert_int_equal(tl_profile_refresh_user(p, a, tl_profile_as_of(p)), 0);
    assert_int_equal(((const uint32_t *)tl_profile_col_data(p, cev))[a], 1);
    /* withdrawn live: the profile goes at once */
    assert_int_equal(tl_profile_set_withdrawn(p, b, 1), 0);
    assert_true(all_unknown(p, b));
    assert_int_equal(tl_profile_nwithdrawn(p), 1);
    tl_profile_free(p);
    tl_profile_free(before);
    tl_store_close(st);
}

/* A store at DIR/name holding the events of csv (header included). */
static tl_store_t *store_of(const char *name, const char *csv) {
    char data[300];
    snprintf(data, sizeof data, "%s/%s", dir, name);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_source_t src = tl_source_mem("events.csv", csv, strlen(csv));
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s = {0};
    assert_int_equal(tl_import(st, &src, 1, &o, &s, NULL, NULL, &eb), 0);
    assert_int_equal(s.quarantined, 0);
    return st;
}

static uint32_t find(tl_store_t *st, const char *written) {
    tl_id_rules_t r;
    tl_errbuf_t eb = {{0}};
    uint32_t u;
    assert_int_equal(tl_identity_rules_get(st, &r, &eb), 0);
    assert_int_equal(tl_identity_find(st, &r, written, &u, &eb), 0);
    return u;
}

/* Every feature of row u of p equals that of row v of q. */
static void same_row(const tl_profiles_t *p, uint32_t u, const tl_profiles_t *q, uint32_t v) {
    char x[512], y[512];
    assert_int_equal(tl_profile_ncols(p), tl_profile_ncols(q));
    for (int c = 0; c < tl_profile_ncols(p); c++) {
        tl_profile_cell(p, c, u, x, sizeof x);
        tl_profile_cell(q, c, v, y, sizeof y);
        if (strcmp(x, y) != 0) fail_msg("%s: %s against %s", tl_profile_col_name(p, c), x, y);
    }
}

#define EV_HEAD "user,item,type,ts,channel,amount,alias\n"
#define EV_BODY                                                                    \
    "device:d1,i1,view,2025-01-01T10:00:00Z,app,,\n"                              \
    "device:d1,i2,cart,2025-01-01T10:01:00Z,app,,\n"                              \
    "phone:+86 138-0013-8000,i1,purchase,2025-01-02T10:00:00Z,store,30,\n"        \
    "u1,,identify,2025-01-02T10:05:00Z,store,,phone:(+86) 13800138000\n"          \
    "u1,i2,purchase,2025-01-03T10:00:00Z,web,12,\n"                               \
    "u2,i1,view,2025-01-03T11:00:00Z,web,,\n"                                     \
    "u2,i1,purchase,2025-01-03T11:05:00Z,web,7,\n"

static void test_persons(void **state) {
    (void)state;
    tl_errbuf_t eb = {{0}};
    /* a: the member logged in on the device too; b: never */
    tl_store_t *a = store_of("a", EV_HEAD EV_BODY "u1,,identify,2025-01-01T10:02:00Z,app,,device:d1\n");
    tl_store_t *b = store_of("b", EV_HEAD EV_BODY);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    tl_profiles_t *pa, *pb;
    assert_int_equal(tl_profile_build(a, &o, &pa, &eb), 0);
    uint32_t d1 = find(a, "device:d1"), ph = find(a, "phone:+8613800138000"), u1 = find(a, "u1");
    uint32_t u2 = find(a, "u2");
    /* one person, in the row of its first identifier, with every event */
    assert_int_equal(d1, 0);
    assert_int_equal(tl_profile_person(pa, ph), d1);
    assert_int_equal(tl_profile_person(pa, u1), d1);
    assert_int_equal(tl_profile_person(pa, u2), u2);
    assert_true(tl_profile_kept(pa, d1));
    assert_false(tl_profile_kept(pa, ph));
    assert_false(tl_profile_kept(pa, u1));
    assert_int_equal(tl_profile_nmerged(pa), 2);
    int cev = tl_profile_col_find(pa, "events"), cmon = tl_profile_col_find(pa, "monetary");
    assert_true(cev >= 0 && cmon >= 0);
    assert_int_equal(((const uint32_t *)tl_profile_col_data(pa, cev))[d1], 4); /* identify counts not */
    assert_true(fabs(((const double *)tl_profile_col_data(pa, cmon))[d1] - 42) < 1e-9);
    /* merged identifiers are in no segment; the person once */
    tl_segtable_t *t;
    assert_int_equal(tl_segtable_new(pa, a, &t), 0);
    uint8_t mask[8];
    uint32_t size;
    tl_expr_err_t err;
    assert_int_equal(tl_segment_eval(t, "events >= 0", mask, &size, &err), 0);
    assert_int_equal(size, 2);
    tl_segtable_free(t);
    /* the snapshot keeps the persons */
    tl_profiles_t *q;
    assert_int_equal(tl_profile_save(a, pa, &eb), 0);
    assert_int_equal(tl_profile_load(a, &q, &eb), 0);
    assert_int_equal(tl_profile_person(q, u1), d1);
    assert_false(tl_profile_kept(q, u1));
    same_row(pa, d1, q, d1);
    tl_profile_free(q);
    tl_profile_free(pa);
    /* split the login: the profiles of the store that never had it */
    tl_id_rules_t r;
    assert_int_equal(tl_identity_rules_get(a, &r, &eb), 0);
    assert_int_equal(tl_store_begin(a, &eb), 0);
    assert_int_equal(tl_identity_split(a, &r, "u1", "device:d1", 0, "test", &eb), 1);
    assert_int_equal(tl_identity_split(a, &r, "u1", "device:d1", 0, "test", &eb), TL_ENOENT);
    assert_int_equal(tl_store_commit(a, &eb), 0);
    assert_int_equal(tl_profile_build(a, &o, &pa, &eb), 0);
    assert_int_equal(tl_profile_build(b, &o, &pb, &eb), 0);
    static const char *const ids[] = {"device:d1", "phone:+8613800138000", "u1", "u2"};
    for (int i = 0; i < 4; i++) {
        uint32_t x = find(a, ids[i]), y = find(b, ids[i]);
        assert_int_equal(tl_profile_kept(pa, x), tl_profile_kept(pb, y));
        same_row(pa, tl_profile_person(pa, x), pb, tl_profile_person(pb, y));
    }
    assert_int_equal(tl_profile_person(pa, u1), ph); /* the phone came first */
    tl_profile_free(pa);
    tl_profile_free(pb);
    tl_store_close(a);
    tl_store_close(b);
}

/* A generated world of people with several identifiers: the profiles
 * are one a person, but for the devices never logged in on. */
static void test_generated_persons(void **state) {
    (void)state;
    char path[400];
    tl_gen_opts_t g;
    tl_gen_opts_default(&g);
    g.users = 600;
    g.items = 200;
    g.days = 20;
    g.seed = 5;
    g.identifiers = 2.5;
    tl_store_t *st = world_of(&g);
    tl_errbuf_t eb = {{0}};
    snprintf(path, sizeof path, "%s/world/truth.json", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *truth = cJSON_Parse(buf);
    assert_non_null(truth);
    cJSON *ids = cJSON_GetObjectItem(truth, "identities");
    int persons = cJSON_GetObjectItem(ids, "persons")->valueint;
    int unlinked = cJSON_GetObjectItem(ids, "unlinked")->valueint;
    int identifiers = cJSON_GetObjectItem(ids, "identifiers")->valueint;
    cJSON_Delete(truth);
    tl_profile_opts_t po;
    tl_profile_opts_default(&po);
    tl_profiles_t *p;
    assert_int_equal(tl_profile_build(st, &po, &p, &eb), 0);
    uint32_t kept = 0;
    for (uint32_t u = 0; u < tl_profile_nusers(p); u++) kept += (uint32_t)tl_profile_kept(p, u);
    assert_int_equal(tl_profile_nusers(p), (uint32_t)identifiers);
    assert_int_equal(kept, (uint32_t)(persons + unlinked));
    tl_profile_free(p);
    tl_store_close(st);
}

typedef struct {
    tl_link_row_t l[8];
    int n;
} links_t;

static int take_link(const tl_link_row_t *l, void *arg) {
    links_t *x = arg;
    if (l->split_at == INT64_MIN && x->n < 8 && l->id % 7 == 3) x->l[x->n++] = *l;
    return 0;
}

/* p, made again by a live merge and refreshed, against a build of st:
 * every row, feature, person and flag. */
static void same_as_build(tl_store_t *st, tl_profiles_t *p) {
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    tl_profiles_t *b;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_profile_build(st, &o, &b, &eb), 0);
    assert_int_equal(tl_profile_refresh(p, tl_profile_as_of(b)), 0);
    assert_int_equal(tl_profile_nusers(p), tl_profile_nusers(b));
    assert_int_equal(tl_profile_nmerged(p), tl_profile_nmerged(b));
    for (uint32_t u = 0; u < tl_profile_nusers(b); u++) {
        assert_int_equal(tl_profile_person(p, u), tl_profile_person(b, u));
        assert_int_equal(tl_profile_withdrawn(p, u), tl_profile_withdrawn(b, u));
        same_row(p, u, b, u);
    }
    tl_profile_free(b);
}

/* Live merges: links split, then made again, under profiles kept in
 * memory; after each, the profiles are those a build of the store gives,
 * a consent withdrawn on one identifier withdrawing its person. */
static void test_relink_equals_build(void **state) {
    (void)state;
    tl_gen_opts_t g;
    tl_gen_opts_default(&g);
    g.users = 300;
    g.items = 200;
    g.days = 30;
    g.seed = 9;
    g.identifiers = 2.5;
    tl_store_t *st = world_of(&g);
    tl_errbuf_t eb = {{0}};
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    tl_profiles_t *p;
    assert_int_equal(tl_profile_build(st, &o, &p, &eb), 0);
    int64_t as_of = tl_profile_as_of(p);
    uint32_t changed = 9;
    assert_int_equal(tl_profile_relink(p, st, as_of, &changed, &eb), 0);
    assert_int_equal(changed, 0); /* nothing new */
    links_t x = {.n = 0};
    assert_int_equal(tl_store_link_scan(st, TL_NONE, take_link, &x, &eb), 0);
    assert_true(x.n >= 4);
    /* split: the persons fall apart; one side withdrew profiling */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    for (int i = 0; i < x.n; i++) assert_int_equal(tl_store_link_split(st, x.l[i].id, as_of, "test", &eb), 1);
    assert_int_equal(tl_store_put_consent(st, x.l[0].b, "profiling", 0, as_of, &eb) >= 0, 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    assert_int_equal(tl_profile_relink(p, st, as_of, &changed, &eb), 0);
    assert_true(changed >= 1);
    assert_int_equal(tl_profile_sync_withdrawn(p, st, x.l[0].b, &eb), 0);
    assert_true(tl_profile_withdrawn(p, tl_profile_person(p, x.l[0].b)));
    same_as_build(st, p);
    /* a pair the split parted whose person keeps its profile gets events
     * older than it had, out of time order for the person made again */
    int k = 1;
    while (k < x.n && (tl_profile_person(p, x.l[k].a) == tl_profile_person(p, x.l[k].b) ||
                       tl_profile_withdrawn(p, tl_profile_person(p, x.l[k].a)) ||
                       tl_profile_withdrawn(p, tl_profile_person(p, x.l[k].b))))
        k++;
    assert_true(k < x.n);
    /* just after the person's first event: the same day and visit, when
     * applied in time order */
    int cf = tl_profile_col_find(p, "first_seen_days");
    const double *seen = tl_profile_col_data(p, cf);
    double fa = seen[tl_profile_person(p, x.l[k].a)], fb = seen[tl_profile_person(p, x.l[k].b)];
    double first = isnan(fa) ? fb : isnan(fb) ? fa : fa > fb ? fa : fb;
    int64_t late = as_of - (isnan(first) ? 10 * TL_MS_PER_DAY : llround(first * TL_MS_PER_DAY));
    /* linked again: the persons as they were, withdrawn as a whole */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    for (int i = 0; i < x.n; i++)
        assert_int_equal(tl_store_link_add(st, x.l[i].a, x.l[i].b, x.l[i].at, "test", NULL, &eb), 1);
    for (int i = 0; i < 4; i++) {
        tl_event_t e = {.fp = 0x5eed0000u + (uint64_t)i, .user = i % 2 ? x.l[k].a : x.l[k].b,
                        .item = TL_NONE, .ts = late + (i + 1) * 1000,
                        .type = i == 3 ? TL_EV_PURCHASE : TL_EV_VIEW, .channel = 0, .qty = 1,
                        .amount = i == 3 ? 25 : NAN, .rating = NAN, .lat = NAN, .lon = NAN,
                        .query = TL_NONE, .city = TL_NONE, .session = TL_NONE,
                        .campaign = TL_NONE};
        assert_int_equal(tl_store_add_event(st, &e, &eb), 1);
    }
    assert_int_equal(tl_store_commit(st, &eb), 0);
    assert_int_equal(tl_profile_relink(p, st, as_of, &changed, &eb), 0);
    assert_true(changed >= 1);
    assert_int_equal(tl_profile_person(p, x.l[k].a), tl_profile_person(p, x.l[k].b));
    assert_true(tl_profile_withdrawn(p, tl_profile_person(p, x.l[0].b)));
    same_as_build(st, p);
    tl_profile_free(p);
    tl_store_close(st);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)
    const struct CMUnitTest tests[] = {
        T(test_build_matches_log),
        T(test_incremental_equals_batch),
        T(test_truth_shows),
        T(test_snapshot_roundtrip),
        T(test_snapshot_leftover),
        T(test_profiling_withdrawn),
        T(test_persons),
        T(test_generated_persons),
        T(test_relink_equals_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
