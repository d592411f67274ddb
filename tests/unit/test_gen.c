/* test_gen.c -- unit tests of the synthetic world generator (src/gen).
 *
 * Each test generates a small world into a fresh mkdtemp directory and reads
 * the files back. The events check is an independent re-implementation of
 * the validation rules of docs/FORMATS.md, so the generator's bookkeeping
 * (truth.json "dirty", "duplicates", "events") is checked against the
 * contract rather than against itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "gen/gen.h"

static const char *const FILES[] = {"users.csv",    "items.csv",  "products.csv", "credit.csv",
                                    "consents.csv", "events.csv", "truth.json"};
#define NFILES (sizeof FILES / sizeof FILES[0])

/* ---- helpers -------------------------------------------------------------- */

static char *make_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/tailor-gen-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void remove_tree(char *dir) {
    DIR *dp = opendir(dir);
    if (dp) {
        struct dirent *de;
        while ((de = readdir(dp))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(dp);
    }
    rmdir(dir);
    free(dir);
}

static char *slurp(const char *dir, const char *name, size_t *len) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

static cJSON *load_truth(const char *dir) {
    char *s = slurp(dir, "truth.json", NULL);
    assert_non_null(s);
    cJSON *j = cJSON_Parse(s);
    free(s);
    assert_non_null(j);
    return j;
}

static uint64_t jnum(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(v);
    assert_true(cJSON_IsNumber(v));
    return (uint64_t)v->valuedouble;
}

static uint64_t jsum(const cJSON *o) {
    uint64_t s = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, o) s += (uint64_t)v->valuedouble;
    return s;
}

/* Splits line [s, e) at commas outside quotes. Returns the number of fields
 * (up to max); f/n get the raw field spans (quotes not removed). */
static int split(const char *s, const char *e, const char **f, size_t *n, int max) {
    int k = 0, q = 0;
    const char *b = s;
    for (const char *p = s;; p++) {
        if (p < e && *p == '"') q = !q;
        if (p == e || (*p == ',' && !q)) {
            if (k < max) f[k] = b, n[k] = (size_t)(p - b);
            k++;
            b = p + 1;
            if (p == e) break;
        }
    }
    return k;
}

static size_t count_rows(const char *buf) {
    size_t n = 0;
    for (const char *p = buf; *p; p++) n += *p == '\n';
    return n ? n - 1 : 0; /* minus the header */
}

static int in_set(const char *s, size_t n, const char *const *set) {
    for (; *set; set++)
        if (strlen(*set) == n && !memcmp(*set, s, n)) return 1;
    return 0;
}

static int num(const char *s, size_t n, double *v) { return tl_parse_f64(s, n, v) == 0; }

static tl_gen_opts_t small_opts(void) {
    tl_gen_opts_t o;
    tl_gen_opts_default(&o);
    return o; /* 1000 users, 500 items, 30 days */
}

/* ---- an independent check of events.csv against docs/FORMATS.md ----------- */

typedef struct {
    uint64_t rows, valid, dirty, dups, order_violations, outside;
    uint64_t type_n[16];
} ev_scan_t;

static const char *const TYPES[] = {"view",   "search",     "click", "cart",       "fav",
                                    "purchase", "refund",   "review", "share",     "coupon_use",
                                    "repay",  "loan_apply", "rate",  "identify", NULL};
static const char *const CHANNELS[] = {"web", "app",   "store", "social", "mini_program", "phone",
                                       "sms", "email", "push",  "in_app", "other",        NULL};

/* 1 if the event row (of a file of ncols columns) has any defect FORMATS.md
 * names. */
static int event_defective(const char **f, size_t *n, int nf, int ncols, int64_t now_ms,
                           int64_t *ts_out) {
    if (nf != ncols) return 1;
    for (int i = 0; i < ncols; i++)
        if (!tl_utf8_valid(f[i], n[i])) return 1;
    static const int IDS[] = {0, 1, 2, 13, 14};
    for (int k = 0; k < 5; k++)
        for (size_t i = 0; i < n[IDS[k]]; i++)
            if ((unsigned char)f[IDS[k]][i] < 0x20 || f[IDS[k]][i] == 0x7f) return 1;
    if (n[8] > 256 || n[10] > 64) return 1;
    if (!n[1] || !n[3] || !n[4]) return 1;
    if (!in_set(f[3], n[3], TYPES)) return 1;
    if (n[5] && !in_set(f[5], n[5], CHANNELS)) return 1;
    int64_t ts;
    if (tl_time_parse(f[4], n[4], &ts)) return 1;
    if (ts < tl_time_days_from_civil(1990, 1, 1) * TL_MS_PER_DAY) return 1;
    if (ts > now_ms + TL_MS_PER_DAY) return 1;
    static const char *const NEED_ITEM[] = {"cart", "fav", "purchase", "refund", "review", "rate", NULL};
    static const char *const NEED_AMOUNT[] = {"purchase", "refund", "repay", NULL};
    if (!n[2] && in_set(f[3], n[3], NEED_ITEM)) return 1;
    if (!n[6] && in_set(f[3], n[3], NEED_AMOUNT)) return 1;
    if (!n[8] && n[3] == 6 && !memcmp(f[3], "search", 6)) return 1;
    double v;
    if (n[6] && (!num(f[6], n[6], &v) || v < 0)) return 1;
    int64_t q;
    if (n[7] && (tl_parse_i64(f[7], n[7], &q) || q < 1 || q > 1000000)) return 1;
    if (n[9] && (!num(f[9], n[9], &v) || v < 0 || v > 10)) return 1;
    if (n[11] && (!num(f[11], n[11], &v) || v < -90 || v > 90)) return 1;
    if (n[12] && (!num(f[12], n[12], &v) || v < -180 || v > 180)) return 1;
    if (!n[11] != !n[12]) return 1;
    *ts_out = ts;
    return 0;
}

/* "Now" for the future-time rule: the importer's clock, but never before the
 * period's end (a machine with an old clock would see the world as future). */
static int64_t now_ms(int64_t end_ms) {
    int64_t now = tl_time_now_ms();
    return now < end_ms ? end_ms : now;
}

/* Valid rows that are not duplicates, to fn (when not NULL). */
typedef void (*row_fn)(const char **f, const size_t *n, void *arg);

static void scan_events_with(const char *dir, int64_t start_ms, int64_t end_ms, int ncols,
                             row_fn fn, void *arg, ev_scan_t *s) {
    size_t len;
    char *buf = slurp(dir, "events.csv", &len);
    assert_non_null(buf);
    memset(s, 0, sizeof *s);
    /* event_id fingerprint -> fingerprint of the whole line */
    size_t cap = 1;
    while (cap < 4 * (count_rows(buf) + 16)) cap <<= 1;
    uint64_t *keys = calloc(cap, sizeof *keys), *vals = calloc(cap, sizeof *vals);
    assert_non_null(keys);
    assert_non_null(vals);
    int64_t last = INT64_MIN;
    const char *p = strchr(buf, '\n') + 1;
    while (*p) {
        const char *e = strchr(p, '\n');
        assert_non_null(e);
        s->rows++;
        const char *f[20];
        size_t n[20];
        int nf = split(p, e, f, n, 20);
        int64_t ts;
        if (event_defective(f, n, nf, ncols, now_ms(end_ms), &ts)) {
            s->dirty++;
        } else {
            uint64_t k = tl_hash64(f[0], n[0], 1) | 1, lh = tl_hash64(p, (size_t)(e - p), 2);
            size_t i = k & (cap - 1);
            while (keys[i] && keys[i] != k) i = (i + 1) & (cap - 1);
            if (keys[i]) {
                assert_true(vals[i] == lh); /* a duplicate repeats the line exactly */
                s->dups++;
            } else {
                keys[i] = k, vals[i] = lh;
                s->valid++;
                for (int t = 0; TYPES[t]; t++)
                    if (strlen(TYPES[t]) == n[3] && !memcmp(TYPES[t], f[3], n[3])) s->type_n[t]++;
                if (ts < last) s->order_violations++;
                last = ts;
                if (ts < start_ms || ts >= end_ms) s->outside++;
                if (fn) fn(f, n, arg);
            }
        }
        p = e + 1;
    }
    free(keys);
    free(vals);
    free(buf);
}

static void scan_events(const char *dir, int64_t start_ms, int64_t end_ms, ev_scan_t *s) {
    scan_events_with(dir, start_ms, end_ms, 15, NULL, NULL, s);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_defaults(void **state) {
    (void)state;
    tl_gen_opts_t o;
    tl_gen_opts_default(&o);
    assert_int_equal(o.users, 1000);
    assert_int_equal(o.items, 500);
    assert_int_equal(o.days, 30);
    assert_int_equal(o.seed, 42);
    assert_true(o.end_ms == tl_time_days_from_civil(2025, 11, 30) * TL_MS_PER_DAY);
    assert_true(o.dirty_rate > 0.019 && o.dirty_rate < 0.021);
}

static void test_deterministic(void **state) {
    (void)state;
    tl_gen_opts_t o = small_opts();
    char *a = make_tmpdir(), *b = make_tmpdir();
    tl_errbuf_t eb = {{0}};
    tl_gen_stats_t sa, sb;
    assert_int_equal(tl_gen_run(&o, a, &sa, &eb), 0);
    assert_int_equal(tl_gen_run(&o, b, &sb, &eb), 0);
    assert_memory_equal(&sa, &sb, sizeof sa);
    for (size_t i = 0; i < NFILES; i++) {
        size_t la, lb;
        char *x = slurp(a, FILES[i], &la), *y = slurp(b, FILES[i], &lb);
        assert_non_null(x);
        assert_non_null(y);
        assert_int_equal(la, lb);
        assert_memory_equal(x, y, la);
        free(x), free(y);
    }
    /* another seed gives another world */
    o.seed = 43;
    assert_int_equal(tl_gen_run(&o, b, &sb, &eb), 0);
    size_t la, lb;
    char *x = slurp(a, "events.csv", &la), *y = slurp(b, "events.csv", &lb);
    assert_false(la == lb && !memcmp(x, y, la));
    free(x), free(y);
    remove_tree(a);
    remove_tree(b);
}

static void test_headers_and_counts(void **state) {
    (void)state;
    static const char *const HEADERS[] = {
        "user,gender,birth_year,city,occupation,education,registered_at,channel,name,phone,email,"
        "id_number,attrs\n",
        "item,title,category,brand,price,attrs\n",
        "product,kind,name,term_months,apr,amount_min,amount_max,eligibility,disclosure\n",
        "user,on_time,late,max_overdue_days,debt,income_band,history_months,default\n",
        "user,purpose,status,at\n",
        "event_id,user,item,type,ts,channel,amount,qty,query,rating,city,lat,lon,session,"
        "campaign\n"};
    tl_gen_opts_t o = small_opts();
    char *d = make_tmpdir();
    char sub[600];
    snprintf(sub, sizeof sub, "%s/a/b", d); /* created with its parents */
    tl_errbuf_t eb = {{0}};
    tl_gen_stats_t st;
    assert_int_equal(tl_gen_run(&o, sub, &st, &eb), 0);
    cJSON *t = load_truth(sub);
    const cJSON *byf = cJSON_GetObjectItemCaseSensitive(t, "dirty_by_file");
    assert_non_null(byf);
    uint64_t valid[] = {st.users, st.items, st.products, st.credit, st.consents, st.events};
    for (int i = 0; i < 6; i++) {
        char *b = slurp(sub, FILES[i], NULL);
        assert_non_null(b);
        assert_memory_equal(b, HEADERS[i], strlen(HEADERS[i]));
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(byf, FILES[i]);
        uint64_t dirty = m ? jsum(m) : 0;
        uint64_t dups = i == 5 ? jnum(t, "duplicates") : 0;
        assert_int_equal(count_rows(b), valid[i] + dirty + dups);
        free(b);
    }
    assert_int_equal(st.users, 1000);
    assert_int_equal(st.items, 500);
    assert_true(st.products >= 8 && st.products <= 12);
    assert_true(st.credit > 500 && st.credit < 700); /* ~60 % of users */
    assert_true(st.consents > 3000);
    assert_true(st.events > 3000);
    assert_int_equal(jnum(t, "events"), st.events);
    assert_int_equal(jnum(t, "users"), 1000);
    /* the dirty counts add up, per reason and per file */
    const cJSON *dirty = cJSON_GetObjectItemCaseSensitive(t, "dirty");
    assert_non_null(dirty);
    assert_int_equal(jsum(dirty), st.dirty);
    uint64_t byfile = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, byf) byfile += jsum(m);
    assert_int_equal(byfile, st.dirty);
    assert_true(st.dirty > 0);
    /* one truth record per user */
    const cJSON *ut = cJSON_GetObjectItemCaseSensitive(t, "user_truth");
    assert_int_equal(cJSON_GetArraySize(ut), 1000);
    const cJSON *u0 = cJSON_GetArrayItem(ut, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(u0, "user")->valuestring, "u000001");
    double tsum = 0;
    const cJSON *tv;
    cJSON_ArrayForEach(tv, cJSON_GetObjectItemCaseSensitive(u0, "tastes")) tsum += tv->valuedouble;
    assert_true(tsum > 0.99 && tsum < 1.01);
    cJSON_Delete(t);
    remove_tree(strdup(sub));
    snprintf(sub, sizeof sub, "%s/a", d);
    rmdir(sub);
    remove_tree(d);
}

/* Every dirty row breaks exactly the rules it is counted under, every other
 * row breaks none; valid events are in order and inside the period. */
static void test_events_valid_and_dirty(void **state) {
    (void)state;
    tl_gen_opts_t o = small_opts();
    o.dirty_rate = 0.05;
    char *d = make_tmpdir();
    tl_errbuf_t eb = {{0}};
    tl_gen_stats_t st;
    assert_int_equal(tl_gen_run(&o, d, &st, &eb), 0);
    cJSON *t = load_truth(d);
    ev_scan_t s;
    scan_events(d, o.end_ms - (int64_t)o.days * TL_MS_PER_DAY, o.end_ms, &s);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(t, "dirty_by_file"), "events.csv");
    assert_int_equal(s.dirty, jsum(ev));
    assert_int_equal(s.dups, jnum(t, "duplicates"));
    assert_int_equal(s.valid, st.events);
    assert_true(s.dups > 0);
    assert_int_equal(s.order_violations, 0);
    assert_int_equal(s.outside, 0);
    double share = (double)s.dirty / (double)s.rows;
    assert_true(share > 0.035 && share < 0.065);
    /* many kinds of defects, each reason in FORMATS.md */
    assert_true(cJSON_GetArraySize(ev) >= 12);
    const cJSON *v;
    cJSON_ArrayForEach(v, ev) assert_true(v->valuedouble > 0);
    /* the funnel: view -> cart ~8-10 %, cart -> purchase ~30 % */
    double views = (double)s.type_n[0], carts = (double)s.type_n[3], buys = (double)s.type_n[5];
    assert_true(views > 1000);
    assert_true(carts / views > 0.05 && carts / views < 0.15);
    assert_true(buys / carts > 0.18 && buys / carts < 0.45);
    assert_true(s.type_n[1] > 0 && s.type_n[2] > 0 && s.type_n[10] > 0); /* search click repay */
    /* the event counts per type agree with truth.json */
    const cJSON *et = cJSON_GetObjectItemCaseSensitive(t, "event_types");
    assert_int_equal(jnum(et, "view"), s.type_n[0]);
    assert_int_equal(jnum(et, "purchase"), s.type_n[5]);
    cJSON_Delete(t);
    remove_tree(d);
}

/* Without defects there is nothing dirty and no duplicate. */
static void test_clean_world(void **state) {
    (void)state;
    tl_gen_opts_t o = small_opts();
    o.dirty_rate = 0;
    o.users = 300;
    char *d = make_tmpdir();
    tl_errbuf_t eb = {{0}};
    tl_gen_stats_t st;
    assert_int_equal(tl_gen_run(&o, d, &st, &eb), 0);
    assert_int_equal(st.dirty, 0);
    cJSON *t = load_truth(d);
    assert_int_equal(jnum(t, "duplicates"), 0);
    ev_scan_t s;
    scan_events(d, o.end_ms - (int64_t)o.days * TL_MS_PER_DAY, o.end_ms, &s);
    assert_int_equal(s.dirty, 0);
    assert_int_equal(s.valid, st.events);
    assert_int_equal(s.rows, st.events);
    cJSON_Delete(t);
    remove_tree(d);
}

static void test_users(void **state) {
    (void)state;
    tl_gen_opts_t o = small_opts();
    o.users = 4000;
    o.days = 7;
    char *d = make_tmpdir();
    tl_errbuf_t eb = {{0}};
    tl_gen_stats_t st;
    assert_int_equal(tl_gen_run(&o, d, &st, &eb), 0);
    char *buf = slurp(d, "users.csv", NULL);
    assert_non_null(buf);
    tl_hset_t seen;
    assert_int_equal(tl_hset_init(&seen, 4 * 4000 * 2), 0);
    uint64_t women = 0, rows = 0, young = 0, personal = 0;
    const char *p = strchr(buf, '\n') + 1;
    while (*p) {
        const char *e = strchr(p, '\n');
        const char *f[20];
        size_t n[20];
        int nf = split(p, e, f, n, 20);
        p = e + 1;
        if (nf != 13 || n[1] != 1 || !strchr("fmo", f[1][0])) continue; /* dirty rows */
        int64_t by;
        if (tl_parse_i64(f[2], n[2], &by) || by < 1900 || by > 2025) continue;
        if (!memchr(f[10], '@', n[10])) continue;
        rows++;
        women += f[1][0] == 'f';
        young += 2025 - by >= 18 && 2025 - by <= 35;
        /* phone: 11 digits, 13x/15x/18x; id number: 18 characters */
        assert_int_equal(n[9], 11);
        assert_true(f[9][0] == '1' && strchr("358", f[9][1]));
        assert_int_equal(n[11], 18);
        /* name, phone, e-mail and id number are unique */
        for (int k = 8; k <= 11; k++)
            personal += tl_hset_add(&seen, tl_hash64(f[k], n[k], (uint64_t)k)) == 1;
    }
    assert_true(rows >= st.users - st.users / 20);
    double share = (double)women / (double)rows;
    assert_true(share > 0.50 && share < 0.56);
    assert_true((double)young / (double)rows > 0.55);
    assert_int_equal(personal, 4 * rows);
    tl_hset_fini(&seen);
    free(buf);
    remove_tree(d);
}

static void test_bad_options(void **state) {
    (void)state;
    char *d = make_tmpdir();
    tl_errbuf_t eb = {{0}};
    tl_gen_opts_t o = small_opts();
    o.users = 0;
    assert_int_equal(tl_gen_run(&o, d, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "users"));
    o = small_opts();
    o.dirty_rate = 0.9;
    assert_int_equal(tl_gen_run(&o, d, NULL, &eb), TL_EINVAL);
    o = small_opts();
    o.end_ms += 1; /* not a whole second */
    assert_int_equal(tl_gen_run(&o, d, NULL, &eb), TL_EINVAL);
    o = small_opts();
    o.days = 0;
    assert_int_equal(tl_gen_run(&o, d, NULL, &eb), TL_EINVAL);
    /* the output path is a file */
    char f[600];
    snprintf(f, sizeof f, "%s/file", d);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fclose(fp);
    o = small_opts();
    eb.msg[0] = 0;
    assert_true(tl_gen_run(&o, f, NULL, &eb) < 0);
    assert_true(eb.msg[0] != 0);
    remove_tree(d);
}

/* A full disk is reported as TL_ENOSPC naming the file. */
static void test_disk_full(void **state) {
    (void)state;
    if (access("/dev/full", W_OK) != 0) {
        skip(); /* no /dev/full on this system */
        return;
    }
    char *d = make_tmpdir();
    char link[600];
    snprintf(link, sizeof link, "%s/events.csv", d);
    assert_int_equal(symlink("/dev/full", link), 0);
    tl_gen_opts_t o = small_opts();
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_gen_run(&o, d, NULL, &eb), TL_ENOSPC);
    assert_non_null(strstr(eb.msg, "events.csv"));
    remove_tree(d);
}

/* A period whose end is not midnight still keeps every event inside it. */
static void test_odd_period(void **state) {
    (void)state;
    tl_gen_opts_t o = small_opts();
    o.users = 500;
    o.items = 20; /* fewer items than subcategories */
    o.days = 3;
    o.seed = 7;
    o.end_ms = (tl_time_days_from_civil(2024, 2, 29) * 86400 + 13 * 3600 + 17) * 1000;
    char *d = make_tmpdir();
    tl_errbuf_t eb = {{0}};
    tl_gen_stats_t st;
    assert_int_equal(tl_gen_run(&o, d, &st, &eb), 0);
    ev_scan_t s;
    scan_events(d, o.end_ms - (int64_t)o.days * TL_MS_PER_DAY, o.end_ms, &s);
    assert_int_equal(s.valid, st.events);
    assert_int_equal(s.outside, 0);
    assert_int_equal(s.order_violations, 0);
    assert_true(st.events > 0);
    remove_tree(d);
}

/* ---- identifiers -------------------------------------------------------- */

/* identities.truth as a table: identifier (hash) -> person number. */
typedef struct {
    uint64_t *keys;
    uint32_t *person;
    size_t cap, rows;
    uint64_t idtypes, users, mismatched, unknown, no_alias, phones, phone_ok;
    char **phone_of; /* users.csv phone of each person (digits) */
} idmap_t;

static uint32_t member_no(const char *s, size_t n) {
    int64_t v;
    assert_true(n == 7 && s[0] == 'u');
    assert_int_equal(tl_parse_i64(s + 1, 6, &v), 0);
    return (uint32_t)v;
}

static uint32_t *idmap_slot(idmap_t *m, const char *s, size_t n, int add) {
    uint64_t k = tl_hash64(s, n, 5) | 1;
    size_t i = k & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != k) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        if (!add) return NULL;
        m->keys[i] = k;
    }
    return &m->person[i];
}

static void idmap_load(idmap_t *m, const char *dir) {
    char *buf = slurp(dir, "identities.truth", NULL);
    assert_non_null(buf);
    assert_memory_equal(buf, "identifier,person\n", 18);
    m->cap = 1;
    while (m->cap < 4 * (count_rows(buf) + 16)) m->cap <<= 1;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->person = calloc(m->cap, sizeof *m->person);
    assert_non_null(m->keys);
    assert_non_null(m->person);
    for (const char *p = strchr(buf, '\n') + 1; *p;) {
        const char *e = strchr(p, '\n');
        const char *f[4];
        size_t n[4];
        assert_int_equal(split(p, e, f, n, 4), 2);
        uint32_t *slot = idmap_slot(m, f[0], n[0], 1);
        assert_int_equal(*slot, 0); /* each identifier once */
        *slot = member_no(f[1], n[1]);
        if (f[0][0] == 'u') assert_int_equal(*slot, member_no(f[0], n[0])); /* members: themselves */
        if (n[0] > 6 && !memcmp(f[0], "phone:", 6)) { /* the digits of users.csv's phone */
            char d[32];
            size_t k = 0;
            for (size_t i = 6; i < n[0] && k < sizeof d - 1; i++)
                if (f[0][i] >= '0' && f[0][i] <= '9') d[k++] = f[0][i];
                else assert_non_null(strchr(" -.()", f[0][i]));
            d[k] = 0;
            m->phones++;
            m->phone_ok += *slot >= 1 && m->phone_of[*slot] && !strcmp(d, m->phone_of[*slot]);
        }
        m->rows++;
        p = e + 1;
    }
    free(buf);
}

/* The phone (field 10) of every valid users.csv row, by person number. */
static char **user_phones(const char *dir, uint32_t users) {
    char **ph = calloc((size_t)users + 1, sizeof *ph);
    char *buf = slurp(dir, "users.csv", NULL);
    assert_non_null(ph);
    assert_non_null(buf);
    for (const char *p = strchr(buf, '\n') + 1; *p;) {
        const char *e = strchr(p, '\n');
        const char *f[20];
        size_t n[20];
        int nf = split(p, e, f, n, 20);
        int64_t v;
        if (nf == 13 && n[0] == 7 && !tl_parse_i64(f[0] + 1, 6, &v) && v >= 1 && v <= users &&
            n[9] == 11 && !ph[v])
            ph[v] = strndup(f[9], n[9]);
        p = e + 1;
    }
    free(buf);
    return ph;
}

/* Each valid event: its user is a known identifier; an identify event's
 * alias is its user's person's, but for a device two persons log in on. */
static void id_row(const char **f, const size_t *n, void *arg) {
    idmap_t *m = arg;
    const uint32_t *u = idmap_slot(m, f[1], n[1], 0);
    m->users++;
    if (!u) {
        m->unknown++;
        return;
    }
    if (n[3] == 8 && !memcmp(f[3], "identify", 8)) {
        m->idtypes++;
        assert_int_equal(*u, member_no(f[1], n[1])); /* a login names the member */
        const uint32_t *a = idmap_slot(m, f[15], n[15], 0);
        if (!a) m->no_alias++;
        else m->mismatched += *a != *u;
    } else {
        assert_int_equal(n[15], 0); /* only logins carry an alias */
    }
}

static void idmap_free(idmap_t *m, uint32_t users) {
    for (uint32_t i = 0; i <= users; i++) free(m->phone_of[i]);
    free(m->phone_of);
    free(m->keys);
    free(m->person);
}

/* With identifiers at 0 the world is the one without the option: no
 * alias column, no logins, no identities.truth. */
static void test_identifiers_off(void **state) {
    (void)state;
    tl_gen_opts_t o = small_opts();
    assert_true(o.identifiers == 0);
    o.users = 300;
    char *d = make_tmpdir();
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_gen_run(&o, d, NULL, &eb), 0);
    char *ev = slurp(d, "events.csv", NULL), *ids = slurp(d, "identities.truth", NULL);
    assert_null(ids);
    assert_non_null(ev);
    assert_null(strstr(ev, "alias"));
    assert_null(strstr(ev, ",identify,"));
    assert_null(strstr(ev, "device:"));
    free(ev);
    cJSON *t = load_truth(d);
    assert_null(cJSON_GetObjectItemCaseSensitive(t, "identities"));
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "event_types"),
                                                 "identify"));
    cJSON_Delete(t);
    /* bad means */
    o.identifiers = 0.5;
    assert_int_equal(tl_gen_run(&o, d, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "identifiers"));
    o.identifiers = 10.5;
    assert_int_equal(tl_gen_run(&o, d, NULL, &eb), TL_EINVAL);
    remove_tree(d);
}

static void test_identifiers(void **state) {
    (void)state;
    tl_gen_opts_t o = small_opts(); /* with dirty rows and duplicates */
    o.identifiers = 2.5;
    char *d = make_tmpdir(), *d2 = make_tmpdir();
    tl_errbuf_t eb = {{0}};
    tl_gen_stats_t st, st2;
    assert_int_equal(tl_gen_run(&o, d, &st, &eb), 0);
    /* the same options give the same files */
    assert_int_equal(tl_gen_run(&o, d2, &st2, &eb), 0);
    assert_memory_equal(&st, &st2, sizeof st);
    static const char *const ALL[] = {"users.csv", "items.csv",  "products.csv",   "credit.csv",
                                      "consents.csv", "events.csv", "identities.truth", "truth.json"};
    for (size_t i = 0; i < sizeof ALL / sizeof *ALL; i++) {
        size_t la, lb;
        char *x = slurp(d, ALL[i], &la), *y = slurp(d2, ALL[i], &lb);
        assert_non_null(x);
        assert_non_null(y);
        assert_int_equal(la, lb);
        assert_memory_equal(x, y, la);
        free(x), free(y);
    }
    remove_tree(d2);

    cJSON *t = load_truth(d);
    const cJSON *ti = cJSON_GetObjectItemCaseSensitive(t, "identities");
    assert_non_null(ti);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ti, "file")->valuestring, "identities.truth");
    uint64_t persons = jnum(ti, "persons"), idents = jnum(ti, "identifiers"),
             links = jnum(ti, "links"), unlinked = jnum(ti, "unlinked"),
             shared = jnum(ti, "shared_devices");
    assert_int_equal(persons, st.users);
    assert_int_equal(idents, persons + links - shared + unlinked);
    assert_true(unlinked > 0 && shared > 0);

    idmap_t m = {0};
    m.phone_of = user_phones(d, o.users);
    idmap_load(&m, d);
    assert_int_equal(m.rows, idents);
    double mean = (double)m.rows / (double)persons;
    assert_true(mean > 2.25 && mean < 2.75);
    assert_true(m.phones > 50);
    assert_int_equal(m.phone_ok, m.phones);

    ev_scan_t s;
    scan_events_with(d, o.end_ms - (int64_t)o.days * TL_MS_PER_DAY, o.end_ms, 16, id_row, &m, &s);
    /* dirty rows and duplicates are still exactly those counted */
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(t, "dirty_by_file"), "events.csv");
    assert_int_equal(s.dirty, jsum(ev));
    assert_true(s.dirty > 0 && s.dups > 0);
    assert_int_equal(s.dups, jnum(t, "duplicates"));
    assert_int_equal(s.valid, st.events);
    assert_int_equal(s.order_violations, 0);
    assert_int_equal(s.outside, 0);
    /* every user is in identities.truth; logins as counted */
    assert_int_equal(m.users, st.events);
    assert_int_equal(m.unknown, 0);
    assert_int_equal(m.no_alias, 0);
    assert_int_equal(m.idtypes, links);
    assert_int_equal(jnum(cJSON_GetObjectItemCaseSensitive(t, "event_types"), "identify"), links);
    assert_int_equal(m.mismatched, shared);
    /* the channels show other identifiers than the member id */
    char *buf = slurp(d, "events.csv", NULL);
    assert_non_null(strstr(buf, "session,campaign,alias\n"));
    assert_non_null(strstr(buf, ",device:"));
    assert_non_null(strstr(buf, ",openid:"));
    assert_non_null(strstr(buf, ",phone:"));
    free(buf);
    idmap_free(&m, o.users);
    cJSON_Delete(t);
    remove_tree(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_headers_and_counts),
        cmocka_unit_test(test_events_valid_and_dirty),
        cmocka_unit_test(test_clean_world),
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_odd_period),
        cmocka_unit_test(test_identifiers_off),
        cmocka_unit_test(test_identifiers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
