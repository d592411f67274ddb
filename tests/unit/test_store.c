/* Unit tests of src/store: batches, de-duplication, the torn-tail cut,
 * checksums, format versions, entity merges, consents, quarantine, the
 * sealing of personal data, and the typed reads and repositories (entity
 * scans, API keys, audit entries, one user's campaign rows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

#include "tmpdir.h"

static tl_store_t *open_store(int flags) {
    tl_store_t *st = NULL;
    tl_errbuf_t eb = {{0}};
    int rc = test_store_open(dir, flags, &st, &eb);
    if (rc) fprintf(stderr, "open: %s\n", eb.msg);
    assert_int_equal(rc, 0);
    return st;
}

static tl_event_t ev(uint64_t fp, uint32_t user, int64_t ts) {
    tl_event_t e = {.fp = fp, .user = user, .item = TL_NONE, .ts = ts, .type = TL_EV_VIEW,
                    .channel = TL_CH_APP, .qty = 1, .amount = NAN, .rating = NAN, .lat = NAN,
                    .lon = NAN, .query = TL_NONE, .city = TL_NONE, .session = TL_NONE,
                    .campaign = TL_NONE};
    return e;
}

typedef struct {
    uint64_t n, sum_user;
    int64_t last_ts;
    int ordered;
} scan_t;

static int scan_fn(const tl_evblock_t *b, void *arg) {
    scan_t *s = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        s->n++;
        s->sum_user += b->user[i];
        if (b->ts[i] < s->last_ts) s->ordered = 0;
        s->last_ts = b->ts[i];
    }
    return 0;
}

static scan_t scan(tl_store_t *st) {
    scan_t s = {0, 0, 0, 1};
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_scan_events(st, scan_fn, &s, &eb), 0);
    return s;
}

static void add_events(tl_store_t *st, uint64_t from, uint64_t to, int expect_added) {
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    for (uint64_t k = from; k < to; k++) {
        tl_event_t e = ev(k * 7919 + 1, (uint32_t)(k % 1000), (int64_t)(1700000000000 + k));
        assert_int_equal(tl_store_add_event(st, &e, &eb), expect_added);
    }
    assert_int_equal(tl_store_commit(st, &eb), 0);
}

static void test_commit_reopen_dedupe(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    add_events(st, 0, 150000, 1); /* spans several blocks */
    assert_int_equal(tl_store_event_count(st), 150000);
    tl_store_close(st);
    st = open_store(0);
    scan_t s = scan(st);
    assert_int_equal(s.n, 150000);
    assert_true(s.ordered);
    /* The same fingerprints again are duplicates, after a reopen too. */
    add_events(st, 100000, 150000, 0);
    add_events(st, 150000, 160000, 1);
    assert_int_equal(tl_store_event_count(st), 160000);
    tl_errbuf_t eb = {{0}};
    tl_store_check_t ck;
    assert_int_equal(tl_store_check(st, &ck, &eb), 0);
    assert_int_equal(ck.events, 160000);
    assert_true(ck.blocks >= 3);
    tl_store_close(st);
}

static void test_rollback(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    add_events(st, 0, 1000, 1);
    tl_errbuf_t eb = {{0}};
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    uint32_t idx;
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_dict_intern(users, "u-rolled-back", 13, &idx, NULL), 0);
    for (uint64_t k = 1000; k < 100000; k++) {
        tl_event_t e = ev(k * 7919 + 1, 1, 1700000000000);
        assert_int_equal(tl_store_add_event(st, &e, &eb), 1);
    }
    tl_store_rollback(st);
    assert_int_equal(tl_store_event_count(st), 1000);
    assert_int_equal(tl_dict_find(users, "u-rolled-back", 13), TL_NONE);
    /* The rolled-back fingerprints are not remembered as stored. */
    add_events(st, 1000, 2000, 1);
    tl_store_close(st);
    st = open_store(0);
    assert_int_equal(scan(st).n, 2000);
    tl_store_close(st);
}

static uint64_t file_size(const char *name) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat sb;
    return stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static void test_torn_tail_is_cut(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    add_events(st, 0, 5000, 1);
    tl_store_close(st);
    uint64_t committed = file_size("events.log");
    /* A crash after writing blocks but before the SQLite commit leaves bytes
     * past the committed length. */
    char p[400];
    snprintf(p, sizeof p, "%s/events.log", dir);
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    for (int i = 0; i < 10000; i++) fputc(i & 0xff, f);
    fclose(f);
    st = open_store(0);
    assert_int_equal(file_size("events.log"), committed);
    assert_int_equal(scan(st).n, 5000);
    add_events(st, 5000, 6000, 1);
    tl_store_close(st);
}

static void test_corrupt_block_detected(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    add_events(st, 0, 5000, 1);
    tl_store_close(st);
    char p[400];
    snprintf(p, sizeof p, "%s/events.log", dir);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 32 + 48 + 15 * 8 + 100, SEEK_SET); /* inside the first block's data */
    int c = fgetc(f);
    fseek(f, -1, SEEK_CUR);
    fputc(c ^ 0x55, f);
    fclose(f);
    st = open_store(TL_STORE_READONLY);
    tl_errbuf_t eb = {{0}};
    tl_store_check_t ck;
    assert_int_equal(tl_store_check(st, &ck, &eb), TL_ECORRUPT);
    assert_non_null(strstr(eb.msg, "checksum mismatch"));
    assert_non_null(strstr(eb.msg, "offset 32"));
    tl_store_close(st);
}

static void test_truncated_log_refused(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    add_events(st, 0, 5000, 1);
    tl_store_close(st);
    char p[400];
    snprintf(p, sizeof p, "%s/events.log", dir);
    assert_int_equal(truncate(p, 1000), 0);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(dir, 0, &st, &eb), TL_ECORRUPT);
    assert_null(st);
    assert_non_null(strstr(eb.msg, "committed"));
}

static void test_version_refused(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_store_close(st);
    char p[400];
    snprintf(p, sizeof p, "%s/tailor.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'format'", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(dir, 0, &st, &eb), TL_EVERSION);
    assert_non_null(strstr(eb.msg, "format 99"));
}

static void test_missing_dir(void **state) {
    (void)state;
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    char p[400];
    snprintf(p, sizeof p, "%s/nope", dir);
    assert_int_equal(test_store_open(p, TL_STORE_READONLY, &st, &eb), TL_ENOENT);
    assert_non_null(strstr(eb.msg, "import"));
}

static void test_lock(void **state) {
    (void)state;
    tl_store_t *a = open_store(TL_STORE_CREATE), *b;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(dir, 0, &b, &eb), TL_ELOCKED);
    tl_store_close(a);
}

static int grep_dir(const char *needle) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -r -a -q -F '%s' %s", needle, dir);
    return system(cmd) == 0;
}

static void test_entities_merge_and_seal(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    tl_user_t u = {.gender = "f", .city = "Hangzhou", .birth_year = 1995,
                   .registered_at = INT64_MIN, .phone = "13912345678",
                   .email = "zhang.min@example.com", .name = "Zhang Min"};
    assert_int_equal(tl_store_put_user(st, "u1", &u, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "u1", &u, &eb), 0); /* identical: duplicate */
    tl_user_t partial = {.city = "Shanghai", .registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "u1", &partial, &eb), 1);
    /* Absent fields kept their values. */
    tl_user_t again = u;
    again.city = "Shanghai";
    assert_int_equal(tl_store_put_user(st, "u1", &again, &eb), 0);
    tl_item_t it = {.title = "Phone X", .category = "electronics/phones", .price = 2999};
    assert_int_equal(tl_store_put_item(st, "i1", &it, &eb), 1);
    assert_int_equal(tl_store_put_item(st, "i1", &it, &eb), 0);
    it.price = 2799;
    assert_int_equal(tl_store_put_item(st, "i1", &it, &eb), 1);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    uint32_t uidx = tl_dict_find(users, "u1", 2);
    assert_int_equal(tl_store_put_consent(st, uidx, "marketing_push", 1, 1000, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, uidx, "marketing_push", 1, 1000, &eb), 0);
    assert_int_equal(tl_store_put_consent(st, uidx, "marketing_push", 0, 2000, &eb), 1);
    tl_credit_t c = {.on_time = 10, .late = 1, .max_overdue_days = 5, .history_months = 24,
                     .debt = 1200, .income_band = "mid", .default_flag = -1};
    assert_int_equal(tl_store_put_credit(st, uidx, &c, &eb), 1);
    assert_int_equal(tl_store_put_credit(st, uidx, &c, &eb), 0);
    const char *raw = "u2,x,13700001111,bad-email";
    assert_int_equal(tl_store_quarantine(st, "/f.csv", 3, "bad_value", "msg", raw, strlen(raw), "u2,x,137****1111,bad-email", &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "/f.csv", 3, "bad_value", "msg", raw, strlen(raw), "", &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_store_counts_t n;
    assert_int_equal(tl_store_counts(st, &n, &eb), 0);
    assert_int_equal(n.users, 1);
    assert_int_equal(n.items, 1);
    assert_int_equal(n.consents, 2);
    assert_int_equal(n.credit, 1);
    assert_int_equal(n.quarantined, 1);
    tl_store_close(st);
    /* Personal data and quarantined rows are not in any file in clear. */
    assert_false(grep_dir("13912345678"));
    assert_false(grep_dir("zhang.min@example.com"));
    assert_false(grep_dir("Zhang Min"));
    assert_false(grep_dir("13700001111"));
    /* ...while ordinary fields are (so the grep itself works). */
    assert_true(grep_dir("Hangzhou") || grep_dir("Shanghai"));
}

typedef struct {
    int n;
    char raw[128];
    int64_t at;
} q_t;

static int q_fn(const tl_qrow_t *q, void *arg) {
    q_t *t = arg;
    t->n++;
    t->at = q->at;
    if (q->raw) snprintf(t->raw, sizeof t->raw, "%.*s", (int)q->rawlen, q->raw);
    return 0;
}

static void test_quarantine_roundtrip(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_quarantine(st, "/a.csv", 7, "bad_time", "m", "a,b,c", 5, "a,b,c", &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "/a.csv", 9, "bad_number", "m", "d,e", 3, "d,e", &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    q_t q = {0, "", 0};
    assert_int_equal(tl_store_quarantine_scan(st, "bad_time", 1, q_fn, &q, &eb), 0);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.raw, "a,b,c");
    q.n = 0;
    assert_int_equal(tl_store_quarantine_scan(st, NULL, 1, q_fn, &q, &eb), 0);
    assert_int_equal(q.n, 2);
    /* Without the raw text no key is needed. */
    q.n = 0;
    assert_int_equal(tl_store_quarantine_scan(st, NULL, 0, q_fn, &q, &eb), 0);
    assert_int_equal(q.n, 2);
    tl_store_close(st);
    /* Another key does not open the directory: said at once, not at the
     * first sealed row. */
    unsigned char other[32];
    assert_int_equal(tl_store_key_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                                        other, &eb), 0);
    tl_store_conf_t conf = *test_conf();
    conf.key = other;
    st = NULL;
    assert_int_equal(tl_store_open_conf(dir, &conf, TL_STORE_READONLY, &st, &eb), TL_ECRYPTO);
    assert_null(st);
    assert_non_null(strstr(eb.msg, "does not open"));
    char p[400];
    snprintf(p, sizeof p, "%s/key", dir);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

/* A writer killed after creating the database but before its event log:
 * readers see an empty store, and the next writer makes the log. */
static void test_killed_before_log(void **state) {
    (void)state;
    tl_store_t *st;
    tl_errbuf_t eb;
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    tl_store_close(st);
    char path[512];
    snprintf(path, sizeof path, "%s/events.log", dir);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/tailor.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM meta WHERE key IN ('log_len', 'log_events')", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(test_store_open(dir, TL_STORE_READONLY, &st, &eb), 0);
    tl_store_check_t c;
    assert_int_equal(tl_store_check(st, &c, &eb), 0);
    assert_int_equal(c.events, 0);
    tl_store_close(st);
    assert_int_equal(test_store_open(dir, 0, &st, &eb), 0);
    tl_store_close(st);
    snprintf(path, sizeof path, "%s/events.log", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
}

/* Rows seq from..: their count, and that each is the row its number says. */
typedef struct {
    uint64_t from, n, bad;
} tailscan_t;

static int tail_fn(const tl_evblock_t *b, void *arg) {
    tailscan_t *t = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        uint64_t seq = b->first_seq + i;
        if (seq < t->from) continue;
        t->n++;
        t->bad += b->fp[i] != seq * 7919 + 1; /* add_events numbers them so */
    }
    return 0;
}

static tailscan_t scan_from(tl_store_t *st, uint64_t from) {
    tailscan_t t = {from, 0, 0};
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_scan_from(st, from, TL_EVC_FP, tail_fn, &t, &eb), 0);
    assert_int_equal(t.bad, 0);
    return t;
}

/* A scan of what was added since a count starts where the last one ended;
 * earlier starts, and starts inside a block, still see every row. */
static void test_scan_from(void **state) {
    (void)state;
    tl_store_t *st;
    tl_errbuf_t eb;
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    uint64_t total = 0;
    const uint64_t adds[] = {5000, 70000, 1, 3, 150000, 20};
    for (size_t k = 0; k < sizeof adds / sizeof *adds; k++) {
        add_events(st, total, total + adds[k], 1);
        assert_int_equal(scan_from(st, total).n, adds[k]);        /* the new rows */
        assert_int_equal(scan_from(st, total + adds[k]).n, 0);    /* nothing after */
        total += adds[k];
    }
    assert_int_equal(scan_from(st, 0).n, total);
    assert_int_equal(scan_from(st, 1).n, total - 1);
    assert_int_equal(scan_from(st, 70001).n, total - 70001); /* inside a block, before the last end */
    assert_int_equal(scan_from(st, total - 7).n, 7);
    assert_int_equal(scan(st).n, total);
    tl_store_close(st);
}

static int count_user(const tl_evblock_t *b, void *arg) {
    uint64_t *n = arg; /* n[0]: rows, n[1]: rows of user n[2] */
    for (uint32_t i = 0; i < b->n; i++) n[0]++, n[1] += b->user[i] == n[2];
    return 0;
}

/* Erasure of one user: the events, the id (its index kept), a side log
 * replaced, a tombstone; all of it after a reopen too. */
static void test_purge_user(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    tl_applog_t *lg;
    assert_int_equal(tl_store_begin(st, &eb), 0);
    const char *ids[] = {"alice", "bob", "carol"};
    for (int k = 0; k < 3; k++) {
        tl_user_t u = {.birth_year = 1990, .registered_at = INT64_MIN, .phone = "13800001111"};
        assert_int_equal(tl_store_put_user(st, ids[k], &u, &eb), 1);
        assert_int_equal(tl_store_put_consent(st, (uint32_t)k, "profiling", 1, 1000, &eb), 1);
    }
    for (uint64_t k = 0; k < 150000; k++) {
        tl_event_t e = ev(k * 7919 + 1, (uint32_t)(k % 3), (int64_t)(1700000000000 + k));
        assert_int_equal(tl_store_add_event(st, &e, &eb), 1);
    }
    assert_int_equal(tl_store_applog_open(st, "contacts", &lg, &eb), 0);
    assert_int_equal(tl_applog_write(lg, "0123456789", 10, &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);

    tl_logswap_t side = {"contacts", "0189", 4};
    const char *terms[] = {"bob"};
    tl_purge_t pu = {.user = 1, .before = INT64_MIN, .terms = terms, .nterms = 1, .logs = &side, .nlogs = 1};
    tl_purge_stats_t ps;
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), 0);
    assert_int_equal(ps.events, 50000);
    assert_true(ps.rows >= 2); /* the user row and the consent */
    for (int reopen = 0; reopen < 2; reopen++) {
        uint64_t n[3] = {0, 0, 1};
        assert_int_equal(tl_store_scan_events(st, count_user, n, &eb), 0);
        assert_int_equal(n[0], 100000);
        assert_int_equal(n[1], 0);
        assert_int_equal(tl_store_event_count(st), 100000);
        tl_dict_t *d = tl_store_dict(st, TL_D_USER, &eb);
        assert_int_equal(tl_dict_count(d), 3);
        assert_int_equal(tl_dict_find(d, "bob", 3), TL_NONE);
        assert_int_equal(tl_dict_find(d, "carol", 5), 2);
        assert_true(tl_id_forgotten(tl_dict_str(d, 1, NULL)));
        uint32_t idx = 0;
        assert_int_equal(tl_store_erased(st, "bob", 3, &idx, &eb), 1);
        assert_int_equal(idx, 1);
        assert_int_equal(tl_store_erased(st, "alice", 5, NULL, &eb), 0);
        tl_buf_t b;
        tl_buf_init(&b);
        assert_int_equal(tl_store_applog_read(st, "contacts", 0, &b, &eb), 0);
        assert_int_equal(b.len, 4);
        assert_memory_equal(b.data, "0189", 4);
        tl_buf_fini(&b);
        tl_store_counts_t c;
        assert_int_equal(tl_store_counts(st, &c, &eb), 0);
        assert_int_equal(c.users, 2);
        assert_int_equal(c.consents, 2);
        tl_store_check_t ck;
        assert_int_equal(tl_store_check(st, &ck, &eb), 0);
        tl_store_close(st);
        st = open_store(0);
    }
    /* a new id after the forgotten one gets the next index */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    tl_user_t u = {.registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "dave", &u, &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    assert_int_equal(tl_dict_find(tl_store_dict(st, TL_D_USER, &eb), "dave", 4), 3);
    /* retention: the first half of what is left goes */
    pu = (tl_purge_t){.user = TL_NONE, .before = 1700000000000 + 75000};
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), 0);
    assert_int_equal(ps.events, 50000);
    assert_int_equal(tl_store_event_count(st), 50000);
    tl_store_close(st);
}

/* A crash between a purge's commit and its renames: the next open reads
 * the new log (read-only), and a writable open finishes the renames. */
static void test_purge_finishes_after_crash(void **state) {
    (void)state;
    char other[4200], cmd[9000];
    snprintf(other, sizeof other, "%s/other", dir);
    tl_store_t *st = open_store(TL_STORE_CREATE);
    add_events(st, 0, 3000, 1);
    tl_store_close(st);
    /* the log as a purge would have written it: made by another store */
    tl_errbuf_t eb = {{0}};
    tl_store_t *o;
    assert_int_equal(test_store_open(other, TL_STORE_CREATE, &o, &eb), 0);
    add_events(o, 0, 1200, 1);
    tl_store_close(o);
    struct stat sb;
    snprintf(cmd, sizeof cmd, "%s/events.log", other);
    assert_int_equal(stat(cmd, &sb), 0);
    snprintf(cmd, sizeof cmd, "cp %s/events.log %s/events.log.new", other, dir);
    assert_int_equal(system(cmd), 0);
    /* ... and the transaction that committed it */
    sqlite3 *db;
    snprintf(cmd, sizeof cmd, "%s/tailor.db", dir);
    assert_int_equal(sqlite3_open(cmd, &db), SQLITE_OK);
    snprintf(cmd, sizeof cmd, "UPDATE meta SET value = %lld WHERE key = 'log_len'; UPDATE meta SET "
             "value = 1200 WHERE key = 'log_events'; INSERT INTO swaps VALUES ('events.log', "
             "'events.log.new');", (long long)sb.st_size);
    assert_int_equal(sqlite3_exec(db, cmd, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    st = open_store(TL_STORE_READONLY);
    assert_int_equal(scan(st).n, 1200);
    tl_store_close(st);
    st = open_store(0);
    assert_int_equal(scan(st).n, 1200);
    tl_store_check_t ck;
    assert_int_equal(tl_store_check(st, &ck, &eb), 0);
    tl_store_close(st);
    snprintf(cmd, sizeof cmd, "%s/events.log.new", dir);
    assert_int_equal(access(cmd, F_OK), -1);
}

static void read_phone(tl_store_t *st, char *out, size_t cap) {
    tl_buf_t b;
    tl_buf_init(&b);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_user_pii(st, 0, &b, &eb), 0);
    snprintf(out, cap, "%s", b.data + strlen(b.data) + 1); /* name, then phone */
    tl_buf_fini(&b);
}

/* Key rotation: the data reads the same under the new key; a rotation
 * that committed but did not get its key file in place is finished by the
 * next open. */
static void test_rotate_key(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    tl_user_t u = {.registered_at = INT64_MIN, .name = "Li Lei", .phone = "13912345678"};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_put_user(st, "u1", &u, &eb), 1);
    assert_int_equal(tl_store_quarantine(st, "/a.csv", 3, "bad_time", "m", "u1,13912345678", 14, "", &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    char ps0[33], ps1[33], phone[64], cmd[9000];
    assert_int_equal(tl_store_pseudonym(st, "u1", 2, ps0, &eb), 0);
    tl_rekey_stats_t k;
    assert_int_equal(tl_store_rotate_key(st, NULL, &k, &eb), 0);
    assert_int_equal(k.users, 1);
    assert_int_equal(k.quarantined, 1);
    read_phone(st, phone, sizeof phone);
    assert_string_equal(phone, "13912345678");
    tl_store_close(st);
    /* cut short: the old key file still in place, the new one beside it */
    snprintf(cmd, sizeof cmd, "cp %s/key %s/key.new && cp %s/key %s/k2", dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    st = open_store(0);
    assert_int_equal(tl_store_rotate_key(st, NULL, &k, &eb), 0); /* key is now a third one */
    tl_store_close(st);
    snprintf(cmd, sizeof cmd, "mv %s/key %s/key.new && mv %s/k2 %s/key", dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0); /* the state of a crash after the commit */
    st = open_store(0);
    read_phone(st, phone, sizeof phone);
    assert_string_equal(phone, "13912345678");
    assert_int_equal(tl_store_pseudonym(st, "u1", 2, ps1, &eb), 0);
    assert_string_equal(ps0, ps1); /* pseudonyms survive rotation */
    q_t q = {0, "", 0};
    assert_int_equal(tl_store_quarantine_scan(st, NULL, 1, q_fn, &q, &eb), 0);
    assert_string_equal(q.raw, "u1,13912345678");
    tl_store_close(st);
    snprintf(cmd, sizeof cmd, "%s/key.new", dir);
    assert_int_equal(access(cmd, F_OK), -1);
}

/* "Now" is the configuration's fixed clock, else the system clock, and is
 * what the store records (a quarantined row's time). */
static void test_store_now(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_now(st), TEST_NOW);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_quarantine(st, "/a.csv", 1, "bad_time", "m", "x", 1, "x", &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    q_t q = {0, "", 0};
    assert_int_equal(tl_store_quarantine_scan(st, NULL, 0, q_fn, &q, &eb), 0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.at, TEST_NOW);
    tl_store_close(st);
    int64_t before = tl_time_now_ms();
    assert_int_equal(tl_store_open(dir, TL_STORE_READONLY, &st, &eb), 0);
    int64_t now = tl_store_now(st);
    assert_true(now >= before && now <= tl_time_now_ms());
    assert_true(now > TEST_NOW);
    tl_store_close(st);
}

/* A key given at open seals the directory: no key file is made, the same
 * key opens it again, another is refused at once; its rotation needs the
 * new key given too, and afterwards only the new key opens it. */
static void test_given_key(void **state) {
    (void)state;
    tl_errbuf_t eb = {{0}};
    unsigned char k1[32], k2[32];
    assert_int_equal(tl_store_key_parse("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                                        k1, &eb), 0);
    assert_int_equal(k1[0], 0x00);
    assert_int_equal(k1[1], 0x11);
    assert_int_equal(k1[31], 0xff);
    assert_int_equal(tl_store_key_parse("ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
                                        k2, &eb), 0);
    assert_int_equal(tl_store_key_parse("0011", k2 + 0, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "must be 64 hex digits"));
    assert_int_equal(tl_store_key_parse("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                                        k2 + 0, &eb), TL_EINVAL);
    assert_int_equal(tl_store_key_parse(NULL, k2, &eb), TL_EINVAL);
    assert_int_equal(tl_store_key_parse("ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
                                        k2, &eb), 0);
    tl_store_conf_t c1 = *test_conf(), c2 = *test_conf();
    c1.key = k1, c2.key = k2;
    tl_store_t *st;
    assert_int_equal(tl_store_open_conf(dir, &c1, TL_STORE_CREATE, &st, &eb), 0);
    tl_user_t u = {.registered_at = INT64_MIN, .name = "Li Lei", .phone = "13912345678"};
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_put_user(st, "u1", &u, &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_store_close(st);
    char p[400], phone[64];
    snprintf(p, sizeof p, "%s/key", dir);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(tl_store_open_conf(dir, &c1, TL_STORE_READONLY, &st, &eb), 0);
    read_phone(st, phone, sizeof phone);
    assert_string_equal(phone, "13912345678");
    tl_store_close(st);
    st = NULL;
    assert_int_equal(tl_store_open_conf(dir, &c2, TL_STORE_READONLY, &st, &eb), TL_ECRYPTO);
    assert_null(st);
    assert_non_null(strstr(eb.msg, "does not open"));
    /* rotation: the new key is the caller's */
    tl_rekey_stats_t k;
    assert_int_equal(tl_store_open_conf(dir, &c1, 0, &st, &eb), 0);
    assert_int_equal(tl_store_rotate_key(st, NULL, &k, &eb), TL_EINVAL);
    assert_int_equal(tl_store_rotate_key(st, k2, &k, &eb), 0);
    assert_int_equal(k.users, 1);
    read_phone(st, phone, sizeof phone);
    assert_string_equal(phone, "13912345678");
    tl_store_close(st);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/key.new", dir);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(tl_store_open_conf(dir, &c1, TL_STORE_READONLY, &st, &eb), TL_ECRYPTO);
    assert_int_equal(tl_store_open_conf(dir, &c2, 0, &st, &eb), 0);
    read_phone(st, phone, sizeof phone);
    assert_string_equal(phone, "13912345678");
    tl_store_close(st);
}

/* A writer killed inside the very first commit, before the file is in WAL
 * mode, leaves a hot rollback journal; a reading command must still open the
 * directory (here: nothing was ever committed), not fail for want of the
 * right to roll that journal back. */
static void test_hot_journal_read(void **state) {
    (void)state;
    char db[400], journal[420];
    snprintf(db, sizeof db, "%s/tailor.db", dir);
    snprintf(journal, sizeof journal, "%s-journal", db);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the writer, killed half way: _exit skips every close */
        sqlite3 *w;
        if (sqlite3_open(db, &w) != SQLITE_OK) _exit(1);
        sqlite3_exec(w, "PRAGMA cache_size=10; BEGIN; CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
                        "INSERT INTO meta VALUES ('format', 1); CREATE TABLE pad(x);", NULL, NULL, NULL);
        for (int i = 0; i < 20000; i++)
            sqlite3_exec(w, "INSERT INTO pad VALUES (randomblob(100))", NULL, NULL, NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat sb;
    assert_int_equal(stat(journal, &sb), 0);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(dir, TL_STORE_READONLY, &st, &eb), TL_ENOENT);
    assert_non_null(strstr(eb.msg, "nothing was ever committed"));
    assert_int_not_equal(stat(journal, &sb), 0); /* rolled back */
    st = open_store(0); /* and a writer then creates the store as usual */
    tl_store_close(st);
}

/* ---- entity scans, API keys, the audit log's entries, subject rows ---------- */

/* What the scans saw, one line per row, so order and fields compare at once. */
static char seen[2048];

static void see(const char *fmt, ...) {
    size_t n = strlen(seen);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(seen + n, sizeof seen - n, fmt, ap);
    va_end(ap);
}

static const char *s_(const char *s) { return s ? s : "-"; }

static int see_user(uint32_t u, const tl_user_t *r, void *arg) {
    (void)arg;
    assert_null(r->name), assert_null(r->phone), assert_null(r->email), assert_null(r->id_number);
    see("%u %s %d %s %lld %s %s|", u, s_(r->gender), r->birth_year, s_(r->city),
        (long long)(r->registered_at == INT64_MIN ? -1 : r->registered_at), s_(r->channel), s_(r->attrs));
    return 0;
}

static int see_item(uint32_t i, const tl_item_t *it, void *arg) {
    see("%u %s %s %s %g %s|", i, s_(it->title), s_(it->category), s_(it->brand), it->price, s_(it->attrs));
    return arg ? *(int *)arg : 0;
}

static int see_product(uint32_t i, const tl_product_t *p, void *arg) {
    (void)arg;
    see("%u %s %s %d %g %g %g %s %s|", i, s_(p->kind), s_(p->name), p->term_months, p->apr, p->amount_min,
        p->amount_max, s_(p->eligibility), s_(p->disclosure));
    return 0;
}

static int see_credit(uint32_t u, const tl_credit_t *c, void *arg) {
    (void)arg;
    see("%u %lld %lld %lld %g %s %lld %d|", u, (long long)c->on_time, (long long)c->late,
        (long long)c->max_overdue_days, c->debt, s_(c->income_band), (long long)c->history_months,
        c->default_flag);
    return 0;
}

static int see_consent(uint32_t u, const char *purpose, int granted, int64_t at, void *arg) {
    (void)arg;
    see("%u %s %d %lld|", u, purpose, granted, (long long)at);
    return 0;
}

static int see_reason(const char *reason, uint64_t n, void *arg) {
    (void)arg;
    see("%s %llu|", reason, (unsigned long long)n);
    return 0;
}

#define SEEN(call, want)                                                                           \
    do {                                                                                           \
        seen[0] = 0;                                                                               \
        assert_int_equal((call), 0);                                                               \
        assert_string_equal(seen, want);                                                           \
    } while (0)

static void test_entity_scans(void **state) {
    (void)state;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = open_store(TL_STORE_CREATE);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    tl_user_t u0 = {.gender = "f", .birth_year = 1980, .city = "Hangzhou", .registered_at = 5,
                    .channel = "app", .attrs = "{\"vip\":1}", .name = "Li Na"};
    tl_user_t u1 = {.registered_at = INT64_MIN};
    assert_int_equal(tl_store_put_user(st, "u0", &u0, &eb), 1);
    assert_int_equal(tl_store_put_user(st, "u1", &u1, &eb), 1);
    tl_item_t i0 = {.title = "Tea", .category = "food/tea", .brand = "X", .price = 9.5};
    tl_item_t i1 = {.price = NAN, .attrs = "{}"};
    assert_int_equal(tl_store_put_item(st, "i0", &i0, &eb), 1);
    assert_int_equal(tl_store_put_item(st, "i1", &i1, &eb), 1);
    tl_product_t p0 = {.kind = "loan", .name = "L", .term_months = 12, .apr = 0.1, .amount_min = 1,
                       .amount_max = 9, .eligibility = "age > 18", .disclosure = "d"};
    tl_product_t p1 = {.term_months = -1, .apr = NAN, .amount_min = NAN, .amount_max = NAN};
    assert_int_equal(tl_store_put_product(st, "p0", &p0, &eb), 1);
    assert_int_equal(tl_store_put_product(st, "p1", &p1, &eb), 1);
    tl_credit_t c1 = {3, 1, 10, 24, 500.5, "high", 0}, c0 = {-1, -1, -1, -1, NAN, NULL, -1};
    assert_int_equal(tl_store_put_credit(st, 1, &c1, &eb), 1);
    assert_int_equal(tl_store_put_credit(st, 0, &c0, &eb), 1);
    /* a withdrawal and a grant at the same instant: the grant is in force */
    assert_int_equal(tl_store_put_consent(st, 1, "profiling", 1, 20, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 1, "profiling", 0, 20, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 1, "marketing", 0, 30, &eb), 1);
    assert_int_equal(tl_store_put_consent(st, 0, "profiling", 0, 40, &eb), 1);
    /* a scan inside the batch sees the batch's rows */
    SEEN(tl_store_scan_items(st, see_item, NULL, &eb), "0 Tea food/tea X 9.5 -|1 - - - nan -|");
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_store_close(st);

    st = open_store(TL_STORE_READONLY);
    SEEN(tl_store_scan_users(st, see_user, NULL, &eb), "0 f 1980 Hangzhou 5 app -|1 - 0 - -1 - -|");
    SEEN(tl_store_get_user(st, 0, see_user, NULL, &eb), "0 f 1980 Hangzhou 5 app {\"vip\":1}|");
    assert_int_equal(tl_store_get_user(st, 7, see_user, NULL, &eb), TL_ENOENT);
    SEEN(tl_store_get_item(st, 1, see_item, NULL, &eb), "1 - - - nan {}|");
    assert_int_equal(tl_store_get_item(st, 2, see_item, NULL, &eb), TL_ENOENT);
    int stop = 42;
    SEEN(tl_store_scan_items(st, see_item, &stop, &eb) - 42, "0 Tea food/tea X 9.5 -|");
    SEEN(tl_store_scan_products(st, see_product, NULL, &eb),
         "0 loan L 12 0.1 1 9 age > 18 d|1 - - -1 nan nan nan - -|");
    SEEN(tl_store_scan_credit(st, TL_NONE, see_credit, NULL, &eb),
         "0 -1 -1 -1 nan - -1 -1|1 3 1 10 500.5 high 24 0|");
    SEEN(tl_store_scan_credit(st, 1, see_credit, NULL, &eb), "1 3 1 10 500.5 high 24 0|");
    SEEN(tl_store_scan_credit(st, 5, see_credit, NULL, &eb), "");
    SEEN(tl_store_scan_consents(st, TL_NONE, see_consent, NULL, &eb),
         "0 profiling 0 40|1 marketing 0 30|1 profiling 0 20|1 profiling 1 20|");
    SEEN(tl_store_scan_consents(st, 0, see_consent, NULL, &eb), "0 profiling 0 40|");
    int granted = -1;
    int64_t at = 0;
    assert_int_equal(tl_store_consent_latest(st, 1, "profiling", &granted, &at, &eb), 0);
    assert_int_equal(granted, 1);
    assert_int_equal(at, 20);
    assert_int_equal(tl_store_consent_latest(st, 0, "profiling", &granted, NULL, &eb), 0);
    assert_int_equal(granted, 0);
    assert_int_equal(tl_store_consent_latest(st, 0, "marketing", &granted, &at, &eb), TL_ENOENT);
    SEEN(tl_store_quarantine_counts(st, see_reason, NULL, &eb), "");
    tl_store_close(st);

    st = open_store(0);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    static const char *const reasons[] = {"bad_time", "bad_id", "bad_time", "a_reason", "a_reason"};
    for (int k = 0; k < 5; k++)
        assert_int_equal(tl_store_quarantine(st, "/q.csv", (uint64_t)k + 1, reasons[k], "m", "r", 1, "r", &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    SEEN(tl_store_quarantine_counts(st, see_reason, NULL, &eb), "a_reason 2|bad_time 2|bad_id 1|");
    tl_store_close(st);
}

static int see_key(const tl_apikey_row_t *k, void *arg) {
    (void)arg;
    see("%s %s %s %s %lld|", k->id, k->hash, k->role, k->name, (long long)k->created);
    return 0;
}

static void test_apikeys(void **state) {
    (void)state;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_apikey_row_t a = {"aaaa", "h1", "admin", "ops", 200}, b = {"bbbb", "h2", "service", NULL, 100};
    assert_int_equal(tl_store_apikey_put(st, &a, &eb), TL_EINVAL); /* outside a batch */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_apikey_put(st, &a, &eb), 0);
    assert_int_equal(tl_store_apikey_put(st, &b, &eb), 0);
    assert_int_equal(tl_store_apikey_put(st, &a, &eb), TL_EEXIST);
    assert_non_null(strstr(eb.msg, "aaaa"));
    assert_int_equal(tl_store_commit(st, &eb), 0);
    SEEN(tl_store_apikey_scan(st, see_key, NULL, &eb), "bbbb h2 service  100|aaaa h1 admin ops 200|");
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_apikey_delete(st, "bbbb", &eb), 1);
    assert_int_equal(tl_store_apikey_delete(st, "bbbb", &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_store_close(st);
    st = open_store(TL_STORE_READONLY);
    SEEN(tl_store_apikey_scan(st, see_key, NULL, &eb), "aaaa h1 admin ops 200|");
    tl_store_close(st);
}

static int see_entry(const tl_audit_entry_t *e, void *arg) {
    (void)arg;
    see("%lld %lld %s %s %s %s|", (long long)e->id, (long long)e->at, e->who, e->what, e->target, e->mac);
    return 0;
}

static void test_audit_entries(void **state) {
    (void)state;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = open_store(TL_STORE_CREATE);
    int64_t id = -1;
    char mac[65] = "x";
    assert_int_equal(tl_store_audit_last(st, &id, mac, &eb), 0);
    assert_int_equal(id, 0);
    assert_string_equal(mac, "");
    tl_audit_entry_t e1 = {1, 10, "cli", "export", "p1", "m1"}, e2 = {2, 11, "api", "read", "p2", "m2"},
                     e3 = {3, 12, "cli", "erase", "p1", "m3"};
    assert_int_equal(tl_store_audit_append(st, &e1, &eb), TL_EINVAL); /* outside a batch */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_audit_append(st, &e1, &eb), 0);
    assert_int_equal(tl_store_audit_append(st, &e2, &eb), 0);
    assert_int_equal(tl_store_audit_last(st, &id, mac, &eb), 0); /* the batch's own entries */
    assert_int_equal(id, 2);
    assert_string_equal(mac, "m2");
    assert_int_equal(tl_store_audit_append(st, &e2, &eb), TL_EEXIST);
    assert_int_equal(tl_store_audit_append(st, &e3, &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_store_close(st);
    st = open_store(TL_STORE_READONLY);
    assert_int_equal(tl_store_audit_last(st, &id, mac, &eb), 0);
    assert_int_equal(id, 3);
    assert_string_equal(mac, "m3");
    SEEN(tl_store_audit_scan(st, NULL, see_entry, NULL, &eb),
         "1 10 cli export p1 m1|2 11 api read p2 m2|3 12 cli erase p1 m3|");
    SEEN(tl_store_audit_scan(st, "p1", see_entry, NULL, &eb), "1 10 cli export p1 m1|3 12 cli erase p1 m3|");
    SEEN(tl_store_audit_scan(st, "p9", see_entry, NULL, &eb), "");
    tl_store_close(st);
}

static int see_dnc(const tl_dnc_row_t *d, void *arg) {
    (void)arg;
    see("%s %s %lld %s|", s_(d->channel), s_(d->reason), (long long)(d->at == INT64_MIN ? -1 : d->at),
        s_(d->campaign));
    return 0;
}

static int see_feedback(const tl_feedback_row_t *f, void *arg) {
    (void)arg;
    see("%s %s %s %d %g %lld|", s_(f->kind), s_(f->campaign), s_(f->channel),
        f->item == TL_NONE ? -1 : (int)f->item, f->score, (long long)f->at);
    return 0;
}

/* One user's do-not-contact and feedback rows, as subject access shows them:
 * by time (feedback then by addition), absent fields absent. */
static void test_rows_of_user(void **state) {
    (void)state;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_store_close(st);
    char path[300];
    snprintf(path, sizeof path, "%s/tailor.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO dnc VALUES (4, 'sms', 'stop', 30, 'c1'), "
                                      "(4, 'email', NULL, 20, NULL), (5, 'sms', 'x', 1, 'c1');"
                                      "INSERT INTO feedback(id, user, kind, campaign, channel, item, score, at, "
                                      "source, line) VALUES (9, 4, 'click', 'c1', 'sms', 3, 0.5, 50, 'f', 1),"
                                      "(8, 4, 'open', 'c1', 'sms', NULL, NULL, 50, 'f', 2),"
                                      "(7, 5, 'open', 'c1', 'sms', NULL, NULL, 10, 'f', 3)",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    st = open_store(TL_STORE_READONLY);
    SEEN(tl_store_dnc_of_user(st, 4, see_dnc, NULL, &eb), "email - 20 -|sms stop 30 c1|");
    SEEN(tl_store_feedback_of_user(st, 4, see_feedback, NULL, &eb),
         "open c1 sms -1 nan 50|click c1 sms 3 0.5 50|");
    SEEN(tl_store_dnc_of_user(st, 6, see_dnc, NULL, &eb), "");
    tl_store_close(st);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)
    const struct CMUnitTest tests[] = {
        T(test_commit_reopen_dedupe),    T(test_rollback),          T(test_torn_tail_is_cut),
        T(test_corrupt_block_detected),  T(test_truncated_log_refused), T(test_version_refused),
        T(test_missing_dir),             T(test_lock),              T(test_entities_merge_and_seal),
        T(test_quarantine_roundtrip),   T(test_killed_before_log),  T(test_scan_from),
        T(test_purge_user),              T(test_purge_finishes_after_crash), T(test_rotate_key),
        T(test_hot_journal_read),        T(test_entity_scans),       T(test_apikeys),
        T(test_audit_entries),           T(test_rows_of_user),      T(test_store_now),
        T(test_given_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
