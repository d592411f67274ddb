/* Unit tests of src/segment: k-means on blobs with a known answer, the
 * silhouette, overlaps, what sets a cluster apart, and the rule for segments' names with the keeping
 * of a segment (a store in a temporary directory). (RFM, rule segments and
 * tags are tested end to end in tests/e2e/test_profile.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "segment/segment.h"
#include "tmpdir.h"

/* Three round blobs far apart in 4 dimensions; point i belongs to blob i % 3. */
static double *blobs(uint32_t n, uint32_t d) {
    double *x = malloc((size_t)n * d * sizeof *x);
    tl_rng_t r;
    tl_rng_seed(&r, 5);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t t = 0; t < d; t++) x[(size_t)i * d + t] = (double)(i % 3) * 10 * (t == i % 3 ? 1 : 0.2) + tl_rng_normal(&r);
    return x;
}

static void test_kmeans_recovers_blobs(void **state) {
    (void)state;
    const uint32_t n = 30000, d = 4, k = 3;
    double *x = blobs(n, d), centers[12], inertia;
    uint32_t *labels = malloc(n * sizeof *labels), iters;
    tl_kmeans_opts_t o = {k, 3, 100, 7};
    assert_int_equal(tl_kmeans(x, n, d, &o, labels, centers, &inertia, &iters), 0);
    /* every blob maps to one cluster and no two blobs share one */
    uint32_t map[3] = {labels[0], labels[1], labels[2]};
    assert_true(map[0] != map[1] && map[1] != map[2] && map[0] != map[2]);
    for (uint32_t i = 0; i < n; i++) assert_int_equal(labels[i], map[i % 3]);
    /* at convergence the inertia is n * d (unit variance) within a few % */
    assert_true(fabs(inertia / (n * d) - 1) < 0.05);
    /* each centre is the mean of its points */
    for (uint32_t c = 0; c < k; c++)
        for (uint32_t t = 0; t < d; t++) {
            double s = 0;
            uint32_t m = 0;
            for (uint32_t i = 0; i < n; i++)
                if (labels[i] == c) s += x[(size_t)i * d + t], m++;
            assert_true(fabs(centers[c * d + t] - s / m) < 1e-9);
        }
    double sil3 = tl_silhouette(x, n, d, labels, 3, 1500);
    assert_true(sil3 > 0.6);
    /* two clusters fit these blobs worse */
    tl_kmeans_opts_t o2 = {2, 3, 100, 7};
    double in2;
    assert_int_equal(tl_kmeans(x, n, d, &o2, labels, centers, &in2, &iters), 0);
    assert_true(in2 > inertia * 2);
    assert_true(tl_silhouette(x, n, d, labels, 2, 1500) < sil3);
    /* the same seed gives the same answer */
    uint32_t *again = malloc(n * sizeof *again);
    double c2[12], in3;
    assert_int_equal(tl_kmeans(x, n, d, &o2, again, c2, &in3, &iters), 0);
    assert_true(in3 == in2);
    assert_memory_equal(again, labels, n * sizeof *labels);
    /* k beyond the points is refused */
    tl_kmeans_opts_t bad = {5, 1, 10, 1};
    assert_int_equal(tl_kmeans(x, 4, d, &bad, labels, centers, &inertia, &iters), TL_EINVAL);
    free(again);
    free(labels);
    free(x);
}

static void test_overlap(void **state) {
    (void)state;
    uint8_t a[6] = {1, 1, 0, 0, 1, 0}, b[6] = {0, 1, 1, 0, 1, 0};
    tl_overlap_t o;
    tl_segment_overlap(a, b, 6, &o);
    assert_int_equal(o.a, 3);
    assert_int_equal(o.b, 3);
    assert_int_equal(o.both, 2);
    assert_int_equal(o.either, 4);
    assert_true(o.jaccard == 0.5);
    uint8_t z[6] = {0};
    tl_segment_overlap(z, z, 6, &o);
    assert_true(o.jaccard == 0);
}

/* One rule for names wherever a segment is defined: 1 to 64 ASCII
 * letters, digits, _ and -; the rest refused with the rule, never with
 * the name. */
static void test_segment_names(void **state) {
    (void)state;
    tl_errbuf_t eb = {{0}};
    char longest[TL_SEGMENT_NAME_MAX + 2];
    memset(longest, 'a', TL_SEGMENT_NAME_MAX);
    longest[TL_SEGMENT_NAME_MAX] = 0;
    const char *good[] = {"vip", "Big_Spenders-2", "_", "0", longest};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_int_equal(tl_segment_name_check(good[i], &eb), 0);
    longest[TL_SEGMENT_NAME_MAX] = 'a', longest[TL_SEGMENT_NAME_MAX + 1] = 0;
    const char *bad[] = {"", "a b", "a/b", "../x", "caf\xc3\xa9", "a\nb", "a.b", "%41", "a?b", longest};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        eb.msg[0] = 0;
        assert_int_equal(tl_segment_name_check(bad[i], &eb), TL_EBADINPUT);
        assert_non_null(strstr(eb.msg, "letters, digits, _ and -"));
        if (*bad[i] && strlen(bad[i]) > 2) assert_null(strstr(eb.msg, bad[i]));
    }
}

/* A segment is kept only under a good name: new (1), replaced (0), and a
 * bad name leaves the store as it was. */
static void test_segment_define(void **state) {
    (void)state;
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    char *expr = NULL;
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_segment_define(st, "vip", "orders >= 3", &eb), 1);
    assert_int_equal(tl_segment_define(st, "vip", "orders >= 5", &eb), 0);
    assert_int_equal(tl_store_segment_get(st, "vip", &expr, &eb), 0);
    assert_string_equal(expr, "orders >= 5");
    free(expr);
    assert_int_equal(tl_segment_define(st, "v ip", "orders >= 1", &eb), TL_EBADINPUT);
    assert_int_equal(tl_segment_define(st, "", "orders >= 1", &eb), TL_EBADINPUT);
    assert_int_equal(tl_store_segment_get(st, "v ip", &expr, &eb), TL_ENOENT);
    assert_int_equal(tl_store_segment_get(st, "", &expr, &eb), TL_ENOENT);
    tl_store_close(st);
}

/* Three clusters of 20, 10 and 10 users on three features. Spend 1,000,
 * 1,000, 5,000: overall 2,000 (sizes as weights), spread of the means
 * sqrt((20 x 1,000^2 + 10 x 1,000^2 + 10 x 3,000^2) / 40) = 1,732.05, so
 * cluster 2 is 1.732 spreads above, 2.5 times the average. Orders 2, 4, 4:
 * overall 3, spread 1, cluster 2 is 1 above. Age 30 everywhere: no trait. */
static void test_cluster_traits(void **state) {
    (void)state;
    tl_clusters_t c;
    memset(&c, 0, sizeof c);
    c.k = 3, c.nf = 3;
    snprintf(c.feature[0], sizeof c.feature[0], "orders");
    snprintf(c.feature[1], sizeof c.feature[1], "monetary");
    snprintf(c.feature[2], sizeof c.feature[2], "age");
    c.size[0] = 20, c.size[1] = 10, c.size[2] = 10;
    double orders[3] = {2, 4, 4}, spend[3] = {1000, 1000, 5000};
    for (int k = 0; k < 3; k++) c.mean[k][0] = orders[k], c.mean[k][1] = spend[k], c.mean[k][2] = 30;
    tl_cluster_trait_t t[3];
    assert_int_equal(tl_clusters_traits(&c, 2, t, 3), 2);
    assert_int_equal(t[0].feature, 1); /* spend first: farther */
    assert_true(fabs(t[0].overall - 2000) < 1e-9);
    assert_true(fabs(t[0].z - 3000 / sqrt(3e6)) < 1e-9);
    assert_true(fabs(t[0].ratio - 2.5) < 1e-12);
    assert_int_equal(t[1].feature, 0);
    assert_true(fabs(t[1].z - 1) < 1e-9 && fabs(t[1].mean - 4) < 1e-12 && fabs(t[1].overall - 3) < 1e-12);
    assert_int_equal(tl_clusters_traits(&c, 0, t, 1), 1); /* at most max: orders 1 below, spend 0.577 */
    assert_int_equal(t[0].feature, 0);
    assert_true(fabs(t[0].z + 1) < 1e-9);
    assert_int_equal(tl_clusters_traits(&c, 3, t, 3), 0); /* no such cluster */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_traits),
        cmocka_unit_test(test_kmeans_recovers_blobs),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_segment_names),
        cmocka_unit_test_setup_teardown(test_segment_define, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
