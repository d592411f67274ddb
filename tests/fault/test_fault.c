/* Fault injection: the allocator and the store's I/O fail at the n-th
 * call, for n = 1, 2, ... until a run makes fewer than n calls, through an
 * import (a fresh data directory: open, import of every kind of file with
 * bad rows and several batches, close) and through a profile build (open,
 * build, save, close). Every point must end in a clean error (a TL_E* code
 * and a message), or with the fault absorbed and the result complete; and
 * afterwards, without faults:
 *   - the store opens and passes tl_store_check;
 *   - after an import, its content (counts, the events' digest, the rows
 *     of every table) is exactly that of a clean run's commit point: all
 *     of a batch or none of it;
 *   - importing the same files again reaches exactly the clean result
 *     (nothing lost, nothing doubled), with consistent counts;
 *   - after a profile build, profiles.tlp is the clean build's or absent,
 *     and no temporary file is left;
 *   - no file descriptor is left open and (under ASan) nothing leaked.
 * The counters and wrappers are in fault.c.
 *
 * TAILOR_FAULT_ONLY=import:alloc:123 (or profile:io:7) runs one point;
 * TAILOR_FAULT_WALK=import:alloc runs that walk alone, and
 * TAILOR_FAULT_FROM=N starts it at the N-th call; TAILOR_FAULT_STEP=K
 * walks every K-th point only (from a start drawn from the clock, printed,
 * unless TAILOR_FAULT_FROM gives it): the sanitizer build's sample;
 * TAILOR_FAULT_VERBOSE=1 prints where each fault is injected. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

/* gcc says so with a macro, clang with __has_feature */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
#include <sanitizer/lsan_interface.h>
#endif

#include "fault.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "profile/profile.h"
#include "store/local/local_int.h" /* the store's content hashed through its own SQL */

/* Every store opens on a clock fixed at 2025-12-01T00:00:00Z, with the key
 * file (no key given): the key file's creation is walked too. */
static int open_store(const char *d, int flags, tl_store_t **st, tl_errbuf_t *eb) {
    tl_store_conf_t c;
    tl_store_conf_init(&c);
    c.now = INT64_C(1764547200000);
    return tl_store_open_conf(d, &c, flags, st, eb);
}

#define BATCH_ROWS 40 /* several commits per import */
#define MAX_BOUNDS 64

static char root[256], files_buf[8][400], data[400], ref_data[400];
static const char *files[8];
static tl_source_t sources[8]; /* the files, as the importer reads them */
static int nfiles;

/* ---- the state of a store ------------------------------------------------------ */

typedef struct {
    tl_store_counts_t c;
    tl_store_check_t chk;
    uint64_t content; /* a hash of every table's rows (not the sealed personal data) */
} state_t;

typedef struct {
    XXH3_state_t *h;
    int last_kind;
} hctx_t;

static int hash_row(int ncol, const char *const *cols, void *arg) {
    XXH3_state_t *h = arg;
    for (int c = 0; c < ncol; c++) {
        const char *v = cols[c] ? cols[c] : "\x01NULL";
        XXH3_64bits_update(h, v, strlen(v) + 1);
    }
    return 0;
}

/* Dictionary runs are split where batches were committed: hash the ids of
 * a kind as one string, whatever the runs. */
static int hash_dict_row(int ncol, const char *const *cols, void *arg) {
    hctx_t *x = arg;
    (void)ncol;
    int kind = atoi(cols[0]);
    if (kind != x->last_kind) XXH3_64bits_update(x->h, &kind, sizeof kind);
    x->last_kind = kind;
    XXH3_64bits_update(x->h, cols[1], strlen(cols[1]));
    return 0;
}

static const char *const CONTENT_SQL[] = {
    "SELECT idx, gender, birth_year, city, occupation, education, registered_at, channel, attrs, "
    "pii IS NULL FROM users ORDER BY idx",
    "SELECT * FROM items ORDER BY idx",
    "SELECT * FROM products ORDER BY idx",
    "SELECT * FROM credit ORDER BY user",
    "SELECT user, purpose, granted, at FROM consents ORDER BY 1, 2, 3, 4",
    "SELECT s.path, q.line, q.fp, q.reason, q.message, q.preview FROM quarantine q "
    "JOIN sources s ON s.id = q.source ORDER BY 1, 2, 3",
};

static int state_of(tl_store_t *st, state_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    int rc = tl_store_counts(st, &out->c, eb);
    if (!rc) rc = tl_store_check(st, &out->chk, eb);
    XXH3_state_t *h = XXH3_createState();
    if (!h) return TL_ENOMEM;
    XXH3_64bits_reset(h);
    for (size_t i = 0; !rc && i < sizeof CONTENT_SQL / sizeof *CONTENT_SQL; i++)
        rc = tl__local_query(st, CONTENT_SQL[i], hash_row, h, eb);
    hctx_t x = {h, -1};
    if (!rc) rc = tl__local_query(st, "SELECT kind, hex(ids) FROM dict ORDER BY kind, first",
                                  hash_dict_row, &x, eb);
    out->content = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    return rc;
}

static int state_eq(const state_t *a, const state_t *b) {
    return memcmp(&a->c, &b->c, sizeof a->c) == 0 && a->chk.events == b->chk.events &&
           a->chk.digest == b->chk.digest && a->content == b->content;
}

static void state_print(const char *what, const state_t *s) {
    print_message("  %s: users %llu items %llu products %llu credit %llu consents %llu events "
                  "%llu quarantined %llu digest %016llx content %016llx\n", what,
                  (unsigned long long)s->c.users, (unsigned long long)s->c.items,
                  (unsigned long long)s->c.products, (unsigned long long)s->c.credit,
                  (unsigned long long)s->c.consents, (unsigned long long)s->c.events,
                  (unsigned long long)s->c.quarantined, (unsigned long long)s->chk.digest,
                  (unsigned long long)s->content);
}

/* The commit points of a clean import: the import's calls to
 * tl_store_commit are wrapped (-Wl,--wrap=tl_store_commit) to record the
 * store's state after each. bounds[0] is the empty store. */
static state_t bounds[MAX_BOUNDS];
static int nbounds, recording;
static tl_import_stats_t clean_stats;

int __real_tl_store_commit(tl_store_t *st, tl_errbuf_t *eb);
int __wrap_tl_store_commit(tl_store_t *st, tl_errbuf_t *eb) {
    int rc = __real_tl_store_commit(st, eb);
    if (!rc && recording) {
        assert_true(nbounds < MAX_BOUNDS);
        tl_errbuf_t e2 = {{0}};
        if (state_of(st, &bounds[nbounds++], &e2)) fail_msg("state after a commit: %s", e2.msg);
    }
    return rc;
}

/* ---- helpers ------------------------------------------------------------------------ */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(const char *p) {
    if (access(p, F_OK) == 0 && nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fail_msg("cannot remove %s: %s", p, strerror(errno));
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int leaked(void) {
#ifdef HAVE_ASAN
    return __lsan_do_recoverable_leak_check();
#else
    return 0;
#endif
}

static void import_opts(tl_import_opts_t *o) {
    tl_import_opts_default(o);
    o->batch_rows = BATCH_ROWS;
}

/* A clean error: a code of our list, and a sentence saying what failed. */
static int clean_error(int rc, const tl_errbuf_t *eb) {
    return rc < 0 && rc > TL__ERR_BASE && rc < TL__ERR_END && eb->msg[0];
}

/* ---- the input ---------------------------------------------------------------------- */

static const char JSONL[] =
    "{\"event_id\":\"j1\",\"user\":\"u000001\",\"item\":\"i00001\",\"type\":\"view\","
    "\"ts\":\"2025-11-28T10:00:00Z\",\"channel\":\"app\"}\n"
    "{\"event_id\":\"j2\",\"user\":\"u000002\",\"item\":\"i00002\",\"type\":\"purchase\","
    "\"ts\":\"2025-11-28T11:00:00Z\",\"channel\":\"web\",\"amount\":99.5,\"qty\":1}\n"
    "{\"event_id\":\"j3\",\"user\":\"u000003\",\"type\":\"view\",\"ts\":\"yesterday\"}\n"
    "not json at all\n"
    "{\"event_id\":\"j4\",\"user\":\"u000004\",\"item\":\"i00003\",\"type\":\"teleport\","
    "\"ts\":\"2025-11-28T12:00:00Z\"}\n"
    "{\"event_id\":\"j5\",\"user\":\"u999999\",\"item\":\"i99999\",\"type\":\"cart\","
    "\"ts\":\"2025-11-28T13:00:00Z\",\"channel\":\"app\",\"attrs\":[1]}\n"
    "{\"event_id\":\"j6\",\"user\":\"u000005\",\"item\":\"i00004\",\"type\":\"fav\","
    "\"ts\":\"2025-11-28T14:00:00Z\",\"channel\":\"app\"}\n"
    "{\"event_id\":\"j1\",\"user\":\"u000001\",\"item\":\"i00001\",\"type\":\"view\","
    "\"ts\":\"2025-11-28T10:00:00Z\",\"channel\":\"app\"}\n";

static int setup(void **state) {
    (void)state;
    /* thousands of stores are made and synced: in memory where there is
     * a tmpfs, where fsync costs nothing */
    snprintf(root, sizeof root, "%s/tailor-fault-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(root)) return -1;
    char world[300];
    snprintf(world, sizeof world, "%s/world", root);
    tl_gen_opts_t g;
    tl_gen_opts_default(&g);
    g.users = 20, g.items = 15, g.days = 4, g.dirty_rate = 0.1;
    tl_errbuf_t eb = {{0}};
    if (tl_gen_run(&g, world, NULL, &eb)) {
        fprintf(stderr, "gen: %s\n", eb.msg);
        return -1;
    }
    static const char *const names[] = {"users.csv",    "items.csv",  "products.csv", "credit.csv",
                                        "consents.csv", "events.csv", "extra.jsonl"};
    nfiles = (int)(sizeof names / sizeof *names);
    for (int i = 0; i < nfiles; i++) {
        snprintf(files_buf[i], sizeof files_buf[i], "%s/%s", world, names[i]);
        files[i] = files_buf[i];
        sources[i] = tl_source_file(files[i]);
    }
    FILE *f = fopen(files[nfiles - 1], "wb");
    if (!f || fwrite(JSONL, 1, sizeof JSONL - 1, f) != sizeof JSONL - 1 || fclose(f)) return -1;
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(ref_data, sizeof ref_data, "%s/ref", root);

    /* the clean run, its commit points and its result */
    tl_store_t *st;
    if (open_store(ref_data, TL_STORE_CREATE, &st, &eb) || state_of(st, &bounds[0], &eb)) {
        fprintf(stderr, "reference: %s\n", eb.msg);
        return -1;
    }
    nbounds = 1;
    tl_import_opts_t o;
    import_opts(&o);
    recording = 1;
    int rc = tl_import(st, sources, nfiles, &o, &clean_stats, NULL, NULL, &eb);
    recording = 0;
    tl_store_close(st);
    if (rc) {
        fprintf(stderr, "reference import: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    const char *keep = getenv("TAILOR_FAULT_KEEP_DIR");
    if (keep && *keep && *keep != '0') {
        print_message("kept %s\n", root);
        return 0;
    }
    rm_rf(root);
    return 0;
}

/* ---- the walk ------------------------------------------------------------------------- */

typedef struct {
    const char *what; /* "import" or "profile" */
    fault_kind_t kind;
    uint64_t points, errors, absorbed, calls;
    double seconds;
} walk_t;

/* Failures name the point (what/kind n) and the call that failed. */
static const walk_t *cur_w;
static uint64_t cur_n;
#define CTXMSG(...)                                                                              \
    do {                                                                                         \
        print_message("%s/%s n=%llu (%s): ", cur_w->what, fault_kind_name(cur_w->kind),        \
                      (unsigned long long)cur_n, fault_site());                                  \
        print_message(__VA_ARGS__);                                                              \
    } while (0)
/* TAILOR_FAULT_KEEP_GOING=1: report every failing point, not only the
 * first (a failing point is then left as it is, store open and all). */
static int keep_going, nfailed;
#define FAIL(...)                                                                                \
    do {                                                                                         \
        CTXMSG(__VA_ARGS__);                                                                     \
        print_message("\n");                                                                     \
        nfailed++;                                                                               \
        if (!keep_going) fail();                                                                 \
        return 1;                                                                                \
    } while (0)

/* Counts how an armed run ended: an error without a fault, one that is
 * not clean, or descriptors left open fail the point (1, told). */
static int tally(walk_t *w, int rc, const tl_errbuf_t *eb, int fds) {
    if (!fault_fired()) {
        if (rc) FAIL("an error without a fault: %s", eb->msg);
        w->calls = fault_count(w->kind);
    } else if (rc) {
        if (!clean_error(rc, eb)) FAIL("not a clean error: rc %d, \"%s\"", rc, eb->msg);
        w->errors++;
    } else {
        w->absorbed++;
    }
    if (count_fds() != fds) FAIL("%d file descriptors left open", count_fds() - fds);
    return 0;
}

/* One point of an import walk: 0 once the run made fewer than n calls. */
static int import_point(walk_t *w, uint64_t n) {
    const state_t *final = &bounds[nbounds - 1];
    cur_w = w, cur_n = n;
    rm_rf(data);
    int fds = count_fds();
    tl_import_opts_t o;
    import_opts(&o);
    tl_import_stats_t s = {0};
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    fault_arm(w->kind, n);
    int rc = open_store(data, TL_STORE_CREATE, &st, &eb);
    if (!rc) {
        rc = tl_import(st, sources, nfiles, &o, &s, NULL, NULL, &eb);
        tl_store_close(st);
    }
    fault_disarm();
    int fired = fault_fired();
    if (tally(w, rc, &eb, fds)) return 1;

    /* the store as the fault left it */
    tl_errbuf_t e2 = {{0}};
    state_t now;
    if (open_store(data, TL_STORE_CREATE, &st, &e2))
        FAIL("the store does not open after the fault: %s (the fault: %s)", e2.msg, eb.msg);
    if (state_of(st, &now, &e2)) FAIL("the store is inconsistent: %s (the fault: %s)", e2.msg, eb.msg);
    int k = 0;
    while (k < nbounds && !state_eq(&now, &bounds[k])) k++;
    if (k == nbounds || (rc == 0 && k != nbounds - 1)) {
        CTXMSG("the store holds no commit point of the clean run (the fault: %s)\n", eb.msg);
        state_print("now", &now);
        for (int i = 0; i < nbounds; i++) state_print("commit point", &bounds[i]);
        FAIL("see above");
    }

    /* the same files again, without faults: the clean result exactly */
    tl_import_stats_t s2 = {0};
    if (tl_import(st, sources, nfiles, &o, &s2, NULL, NULL, &e2))
        FAIL("the import again fails: %s", e2.msg);
    if (state_of(st, &now, &e2)) FAIL("inconsistent after the import again: %s", e2.msg);
    tl_store_close(st);
    if (!state_eq(&now, final)) {
        CTXMSG("the import again does not give the clean result\n");
        state_print("now", &now);
        state_print("clean", final);
        FAIL("see above");
    }
    if (s2.read != clean_stats.read || s2.quarantined != clean_stats.quarantined ||
        s2.accepted + s2.duplicates != clean_stats.accepted + clean_stats.duplicates ||
        s2.read != s2.accepted + s2.duplicates + s2.quarantined)
        FAIL("counts of the import again: read %llu accepted %llu duplicates %llu "
                 "quarantined %llu; clean: %llu %llu %llu %llu", (unsigned long long)s2.read,
                 (unsigned long long)s2.accepted, (unsigned long long)s2.duplicates,
                 (unsigned long long)s2.quarantined, (unsigned long long)clean_stats.read,
                 (unsigned long long)clean_stats.accepted, (unsigned long long)clean_stats.duplicates,
                 (unsigned long long)clean_stats.quarantined);
    if (leaked()) FAIL("memory leaked (see the report above)");
    w->points++;
    return fired;
}

/* The clean profile build's snapshot and store. */
static char *ref_tlp;
static size_t ref_tlp_len;
static state_t ref_state;

static int build_and_save(const char *dir, tl_errbuf_t *eb) {
    tl_store_t *st = NULL;
    tl_profiles_t *p = NULL;
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    o.threads = 2;
    int rc = open_store(dir, TL_STORE_READONLY, &st, eb);
    if (!rc) rc = tl_profile_build(st, &o, &p, eb);
    if (!rc) rc = tl_profile_save(st, p, eb);
    tl_profile_free(p);
    tl_store_close(st);
    return rc;
}

static int profile_point(walk_t *w, uint64_t n) {
    char tlp[500], tmp[520];
    snprintf(tlp, sizeof tlp, "%s/profiles.tlp", ref_data);
    snprintf(tmp, sizeof tmp, "%s.tmp", tlp);
    unlink(tlp);
    cur_w = w, cur_n = n;
    int fds = count_fds();
    tl_errbuf_t eb = {{0}};
    fault_arm(w->kind, n);
    int rc = build_and_save(ref_data, &eb);
    fault_disarm();
    int fired = fault_fired();
    if (tally(w, rc, &eb, fds)) return 1;
    if (access(tmp, F_OK) == 0) FAIL("%s left behind (the fault: %s)", tmp, eb.msg);
    char *got = NULL;
    size_t len = 0;
    int have = tl_read_file(tlp, &got, &len) == 0;
    /* present after a failure only when the fault came after the rename
     * (the directory's fsync): then whole */
    if (rc && have && (len != ref_tlp_len || memcmp(got, ref_tlp, len) != 0))
        FAIL("a failed build left a %s not the clean build's (the fault: %s)", tlp, eb.msg);
    if (!rc && (!have || len != ref_tlp_len || memcmp(got, ref_tlp, len) != 0))
        FAIL("the build succeeded but %s is not the clean build's", tlp);
    free(got);
    tl_store_t *st;
    tl_errbuf_t e2 = {{0}};
    state_t now;
    if (open_store(ref_data, TL_STORE_READONLY, &st, &e2) || state_of(st, &now, &e2))
        FAIL("the store is not right after the fault: %s", e2.msg);
    tl_store_close(st);
    if (!state_eq(&now, &ref_state)) FAIL("the store changed");
    if (leaked()) FAIL("memory leaked (see the report above)");
    w->points++;
    return fired;
}

static void walk(walk_t *w, int (*point)(walk_t *, uint64_t)) {
    const char *only = getenv("TAILOR_FAULT_ONLY");
    if (only && *only) {
        char what[16], kind[16];
        unsigned long long n;
        if (sscanf(only, "%15[a-z]:%15[a-z]:%llu", what, kind, &n) != 3)
            fail_msg("TAILOR_FAULT_ONLY=%s: give WHAT:KIND:N (import:alloc:12)", only);
        if (strcmp(what, w->what) != 0 || strcmp(kind, fault_kind_name(w->kind)) != 0) skip();
        point(w, n);
        print_message("%s/%s n=%llu: %s\n", w->what, kind, n,
                      w->errors ? "a clean error" : w->absorbed ? "absorbed" : "not reached");
        return;
    }
    const char *sel = getenv("TAILOR_FAULT_WALK");
    char name[40];
    snprintf(name, sizeof name, "%s:%s", w->what, fault_kind_name(w->kind));
    if (sel && *sel && strcmp(sel, name) != 0) skip();
    double t0 = now_s();
    const char *from = getenv("TAILOR_FAULT_FROM"), *st = getenv("TAILOR_FAULT_STEP");
    uint64_t n = from && *from ? strtoull(from, NULL, 10) : 1;
    uint64_t step = st && *st ? strtoull(st, NULL, 10) : 1;
    if (step < 1) step = 1;
    if (step > 1 && !(from && *from)) {
        /* a sample: every step-th point from a start that changes from run
         * to run, so that runs together walk them all */
        n = 1 + (uint64_t)time(NULL) % step;
        print_message("fault walk %s/%s: every %llu-th point from %llu\n", w->what,
                      fault_kind_name(w->kind), (unsigned long long)step, (unsigned long long)n);
    }
    const char *kg = getenv("TAILOR_FAULT_KEEP_GOING");
    keep_going = kg && *kg && *kg != '0';
    nfailed = 0;
    while (point(w, n)) n += step;
    w->seconds = now_s() - t0;
    if (nfailed) fail_msg("%d points failed", nfailed);
    print_message("fault walk %s/%s: %llu points (%llu calls in a clean run): %llu clean errors, "
                  "%llu absorbed; %.1f s\n", w->what, fault_kind_name(w->kind),
                  (unsigned long long)w->points, (unsigned long long)w->calls,
                  (unsigned long long)w->errors, (unsigned long long)w->absorbed, w->seconds);
    assert_true(w->errors > 0);
}

static void test_import_alloc(void **state) {
    (void)state;
    walk_t w = {"import", FAULT_ALLOC, 0, 0, 0, 0, 0};
    walk(&w, import_point);
}

static void test_import_io(void **state) {
    (void)state;
    walk_t w = {"import", FAULT_IO, 0, 0, 0, 0, 0};
    walk(&w, import_point);
}

static void profile_ref(void) {
    if (ref_tlp) return;
    tl_errbuf_t eb = {{0}};
    if (build_and_save(ref_data, &eb)) fail_msg("the clean profile build: %s", eb.msg);
    char tlp[500];
    snprintf(tlp, sizeof tlp, "%s/profiles.tlp", ref_data);
    assert_int_equal(tl_read_file(tlp, &ref_tlp, &ref_tlp_len), 0);
    tl_store_t *st;
    if (open_store(ref_data, TL_STORE_READONLY, &st, &eb) || state_of(st, &ref_state, &eb))
        fail_msg("the reference store: %s", eb.msg);
    tl_store_close(st);
    /* the build is deterministic: a second one writes the same bytes */
    char *again = NULL;
    size_t len = 0;
    assert_int_equal(build_and_save(ref_data, &eb), 0);
    assert_int_equal(tl_read_file(tlp, &again, &len), 0);
    assert_true(len == ref_tlp_len && memcmp(again, ref_tlp, len) == 0);
    free(again);
}

static void test_profile_alloc(void **state) {
    (void)state;
    profile_ref();
    walk_t w = {"profile", FAULT_ALLOC, 0, 0, 0, 0, 0};
    walk(&w, profile_point);
}

static void test_profile_io(void **state) {
    (void)state;
    profile_ref();
    walk_t w = {"profile", FAULT_IO, 0, 0, 0, 0, 0};
    walk(&w, profile_point);
}

int main(void) {
    fault_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_alloc),
        cmocka_unit_test(test_import_io),
        cmocka_unit_test(test_profile_alloc),
        cmocka_unit_test(test_profile_io),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    free(ref_tlp);
    return rc;
}
