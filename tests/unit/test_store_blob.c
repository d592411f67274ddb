/* Unit tests of the store's named blobs (src/store/blob.c): put, get,
 * list and remove; writers abandoned or killed; blobs committed with a
 * batch or a purge, rolled back, or cut short by a crash; maps of big
 * blobs; the file names of the local back end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int exists(const char *rel) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return access(p, F_OK) == 0;
}

/* The blob's content as a string ("" when there is none). */
static char got[256];
static const char *get(tl_store_t *st, const char *name) {
    tl_buf_t b;
    tl_buf_init(&b);
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_blob_get(st, name, &b, &eb);
    got[0] = 0;
    if (rc == 0) snprintf(got, sizeof got, "%.*s", (int)b.len, b.data ? b.data : "");
    else assert_int_equal(rc, TL_ENOENT);
    tl_buf_fini(&b);
    return rc ? "(none)" : got;
}

static int add_name(const char *name, void *arg) {
    tl_buf_t *b = arg;
    tl_buf_append(b, name, strlen(name));
    tl_buf_append(b, " ", 1);
    return 0;
}

static const char *list(tl_store_t *st, const char *prefix) {
    tl_buf_t b;
    tl_buf_init(&b);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_blob_list(st, prefix, add_name, &b, &eb), 0);
    snprintf(got, sizeof got, "%.*s", (int)b.len, b.data ? b.data : "");
    tl_buf_fini(&b);
    return got;
}

static void test_put_get_list_remove(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    assert_string_equal(list(st, ""), "");
    const char *names[] = {"models/knn", "models/ease", "scorecards/scorecard", "uplift/c1", "profiles"};
    for (int i = 0; i < 5; i++) assert_int_equal(tl_store_blob_put(st, names[i], names[i], strlen(names[i]), &eb), 0);
    for (int i = 0; i < 5; i++) assert_string_equal(get(st, names[i]), names[i]);
    /* the file names of docs/FORMATS.md */
    assert_true(exists("models/ease.tlm"));
    assert_true(exists("models/scorecard.json"));
    assert_true(exists("models/uplift-c1.json"));
    assert_true(exists("profiles.tlp"));
    assert_string_equal(list(st, "models/"), "models/ease models/knn ");
    assert_string_equal(list(st, "models/k"), "models/knn ");
    assert_string_equal(list(st, "uplift/"), "uplift/c1 ");
    assert_string_equal(list(st, ""), "models/ease models/knn profiles scorecards/scorecard uplift/c1 ");
    /* replaced whole */
    assert_int_equal(tl_store_blob_put(st, "models/knn", "v2", 2, &eb), 0);
    assert_string_equal(get(st, "models/knn"), "v2");
    assert_int_equal(tl_store_blob_remove(st, "models/knn", &eb), 0);
    assert_string_equal(get(st, "models/knn"), "(none)");
    assert_false(exists("models/knn.tlm"));
    assert_int_equal(tl_store_blob_remove(st, "models/knn", &eb), 0); /* none: no error */
    /* names, not paths */
    const char *bad[] = {"models/", "models/../key", "models/a/b", "models/.x", "scorecards/uplift-c1",
                         "nope", "/etc/passwd", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        eb.msg[0] = 0;
        assert_int_equal(tl_store_blob_put(st, bad[i], "x", 1, &eb), TL_EINVAL);
        assert_non_null(strstr(eb.msg, "not the name of a blob"));
    }
    char n[64];
    assert_int_equal(tl_store_blob_name(TL_BLOB_MODEL, "ease", n, sizeof n), 0);
    assert_string_equal(n, "models/ease");
    assert_int_equal(tl_store_blob_name(TL_BLOB_UPLIFT, "c1", n, sizeof n), 0);
    assert_string_equal(n, "uplift/c1");
    assert_int_equal(tl_store_blob_name(TL_BLOB_SCORECARD, "propensity", n, sizeof n), 0);
    assert_string_equal(n, "scorecards/propensity");
    assert_int_equal(tl_store_blob_name(TL_BLOB_PROFILES, NULL, n, sizeof n), 0);
    assert_string_equal(n, "profiles");
    assert_int_equal(tl_store_blob_name(TL_BLOB_MODEL, "a/b", n, sizeof n), TL_EINVAL);
    assert_int_equal(tl_store_blob_name(TL_BLOB_MODEL, "ease", n, 5), TL_EINVAL);
    /* where a blob lives, for messages: here its file */
    char where[400], want[400];
    assert_int_equal(tl_store_blob_where(st, "uplift/c1", where, sizeof where, &eb), 0);
    snprintf(want, sizeof want, "%s/models/uplift-c1.json", tl_store_dir(st));
    assert_string_equal(where, want);
    assert_int_equal(tl_store_blob_where(st, "models/a/b", where, sizeof where, &eb), TL_EINVAL);
    /* a log blob grows by whole records */
    assert_int_equal(tl_store_blob_append(st, "offers", "a\n", 2, &eb), 0);
    assert_int_equal(tl_store_blob_append(st, "offers", "b\n", 2, &eb), 0);
    assert_string_equal(get(st, "offers"), "a\nb\n");
    assert_true(exists("offers.log"));
    tl_store_close(st);
    /* a read-only store makes derived blobs too, and lists them */
    st = open_store(TL_STORE_READONLY);
    assert_int_equal(tl_store_blob_put(st, "scorecards/propensity", "p", 1, &eb), 0);
    assert_string_equal(get(st, "scorecards/propensity"), "p");
    assert_int_equal(tl_store_blob_remove(st, "scorecards/propensity", &eb), TL_EINVAL);
    tl_store_close(st);
}

static void test_writer_abandoned(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_blob_put(st, "models/ease", "old", 3, &eb), 0);
    tl_blobw_t *w;
    assert_int_equal(tl_store_blob_create(st, "models/ease", &w, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "new", 3, &eb), 0);
    assert_string_equal(get(st, "models/ease"), "old"); /* not before close */
    tl_blobw_abandon(w);
    assert_string_equal(get(st, "models/ease"), "old");
    assert_false(exists("models/ease.tlm.tmp"));
    /* a writer of a new name leaves no file either */
    assert_int_equal(tl_store_blob_create(st, "uplift/x", &w, &eb), 0);
    tl_blobw_abandon(w);
    assert_string_equal(list(st, "uplift/"), "");
    assert_false(exists("models/uplift-x.json.tmp"));
    /* pieces and a stdio stream make one blob */
    assert_int_equal(tl_store_blob_create(st, "models/ease", &w, &eb), 0);
    assert_int_equal(tl_blobw_write(w, "ab", 2, &eb), 0);
    fprintf(tl_blobw_stream(w), "c%d", 1);
    assert_int_equal(tl_blobw_close(w, &eb), 0);
    assert_string_equal(get(st, "models/ease"), "abc1");
    tl_store_close(st);
}

static void test_batch(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_blob_put(st, "profiles", "old", 3, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "models/gone", "g", 1, &eb), 0);
    /* rolled back: the old blob stays, nothing else */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "profiles", "new", 3, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "models/ease", "e", 1, &eb), 0);
    assert_int_equal(tl_store_blob_remove(st, "models/gone", &eb), 0);
    assert_string_equal(get(st, "profiles"), "old"); /* visible at the commit */
    assert_string_equal(get(st, "models/gone"), "g");
    tl_store_rollback(st);
    assert_string_equal(get(st, "profiles"), "old");
    assert_string_equal(list(st, "models/"), "models/gone ");
    assert_false(exists("profiles.tlp.new"));
    assert_false(exists("models/ease.tlm.new"));
    /* committed: all of it at once; the last writer of a name wins */
    assert_int_equal(tl_store_begin(st, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "profiles", "first", 5, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "profiles", "new", 3, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "models/ease", "e", 1, &eb), 0);
    assert_int_equal(tl_store_blob_remove(st, "models/ease", &eb), 0);
    assert_int_equal(tl_store_blob_remove(st, "models/gone", &eb), 0);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    assert_string_equal(get(st, "profiles"), "new");
    assert_string_equal(list(st, "models/"), "");
    assert_false(exists("profiles.tlp.new"));
    assert_false(exists("models/ease.tlm.new"));
    tl_store_close(st);
    /* a purge installs the blobs it is given with its own commit */
    st = open_store(0);
    tl_blobw_t *w[2];
    assert_int_equal(tl_store_blob_create(st, "profiles", &w[0], &eb), 0);
    assert_int_equal(tl_blobw_write(w[0], "purged", 6, &eb), 0);
    assert_int_equal(tl_store_blob_create(st, "models/ease", &w[1], &eb), 0);
    assert_int_equal(tl_blobw_write(w[1], "m", 1, &eb), 0);
    tl_purge_t pu = {.user = TL_NONE, .before = INT64_MIN, .blobs = w, .nblobs = 2};
    tl_purge_stats_t ps;
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), 0);
    assert_string_equal(get(st, "profiles"), "purged");
    assert_string_equal(get(st, "models/ease"), "m");
    /* a purge refused frees its writers and changes nothing */
    assert_int_equal(tl_store_blob_create(st, "profiles", &w[0], &eb), 0);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    pu.nblobs = 1;
    assert_int_equal(tl_store_purge(st, &pu, &ps, &eb), TL_EINVAL);
    tl_store_rollback(st);
    assert_string_equal(get(st, "profiles"), "purged");
    assert_false(exists("profiles.tlp.tmp"));
    tl_store_close(st);
}

/* A big blob is read through a map that a later write does not change. */
static void test_map_big(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    enum { N = 1 << 20 }; /* 8 MB of uint64_t */
    uint64_t *chunk = malloc(4096 * sizeof *chunk);
    tl_blobw_t *w;
    assert_int_equal(tl_store_blob_create(st, "profiles", &w, &eb), 0);
    for (uint64_t i = 0; i < N; i += 4096) {
        for (uint64_t k = 0; k < 4096; k++) chunk[k] = i + k;
        assert_int_equal(tl_blobw_write(w, chunk, 4096 * sizeof *chunk, &eb), 0);
    }
    free(chunk);
    assert_int_equal(tl_blobw_close(w, &eb), 0);
    tl_blob_view_t v;
    assert_int_equal(tl_store_blob_map(st, "profiles", &v, &eb), 0);
    assert_int_equal(v.len, (size_t)N * 8);
    const uint64_t *u = v.data;
    for (uint64_t i = 0; i < N; i += 999) assert_int_equal(u[i], i);
    assert_int_equal(tl_store_blob_put(st, "profiles", "small", 5, &eb), 0);
    assert_int_equal(u[N - 1], N - 1); /* the old view is still whole */
    tl_store_blob_unmap(&v);
    assert_string_equal(get(st, "profiles"), "small");
    assert_int_equal(tl_store_blob_map(st, "models/none", &v, &eb), TL_ENOENT);
    tl_store_close(st);
}

/* Runs fn in a child that dies (_exit) without closing anything. */
static void in_killed_child(void (*fn)(void)) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
}

static void write_unclosed(void) {
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    tl_blobw_t *w;
    if (test_store_open(dir, 0, &st, &eb) || tl_store_blob_create(st, "models/ease", &w, &eb)) _exit(1);
    tl_blobw_write(w, "half", 4, &eb);
    fflush(tl_blobw_stream(w));
    _exit(0);
}

static void stage_uncommitted(void) {
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    if (test_store_open(dir, 0, &st, &eb) || tl_store_begin(st, &eb)) _exit(1);
    if (tl_store_blob_put(st, "models/ease", "staged", 6, &eb) || tl_store_blob_remove(st, "profiles", &eb))
        _exit(1);
    _exit(0);
}

static void test_crash(void **state) {
    (void)state;
    tl_store_t *st = open_store(TL_STORE_CREATE);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_blob_put(st, "models/ease", "old", 3, &eb), 0);
    assert_int_equal(tl_store_blob_put(st, "profiles", "p", 1, &eb), 0);
    tl_store_close(st);
    /* killed while writing: the old blob, and the leftover goes */
    in_killed_child(write_unclosed);
    assert_true(exists("models/ease.tlm.tmp"));
    st = open_store(0);
    assert_string_equal(get(st, "models/ease"), "old");
    assert_false(exists("models/ease.tlm.tmp"));
    tl_store_close(st);
    /* killed between the writes of a batch and its commit: nothing of it */
    in_killed_child(stage_uncommitted);
    assert_true(exists("models/ease.tlm.new"));
    st = open_store(0);
    assert_string_equal(get(st, "models/ease"), "old");
    assert_string_equal(get(st, "profiles"), "p");
    assert_false(exists("models/ease.tlm.new"));
    tl_store_close(st);
    /* killed after a commit, before its renames: the next open makes them */
    char p[512];
    snprintf(p, sizeof p, "%s/models/ease.tlm.new", dir);
    FILE *f = fopen(p, "wb");
    fputs("committed", f);
    fclose(f);
    sqlite3 *db;
    snprintf(p, sizeof p, "%s/tailor.db", dir);
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO swaps(path, tmp) VALUES ('models/ease.tlm', "
                                  "'models/ease.tlm.new'), ('profiles.tlp', '')", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    st = open_store(0);
    assert_string_equal(get(st, "models/ease"), "committed");
    assert_string_equal(get(st, "profiles"), "(none)");
    assert_false(exists("models/ease.tlm.new"));
    tl_store_close(st);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)
    const struct CMUnitTest tests[] = {
        T(test_put_get_list_remove), T(test_writer_abandoned), T(test_batch), T(test_map_big),
        T(test_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
