/* Unit tests of src/experiment's statistics: every distribution, interval
 * and test against answers of scipy.stats and statsmodels for the same
 * numbers, zero counts included (tests/data/stats_vectors.txt, written by
 * stats_vectors.py), to 1e-9. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "experiment/experiment.h"
#include "tmpdir.h"

static int close_to(double got, double want) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= 1e-9 * fmax(1, fabs(want));
}

static int checked[16];

static void check_line(const char *name, const double *a, int na, const double *e, int ne, int lineno) {
    double g[8] = {0};
    int ng = 0, kind = -1;
    if (strcmp(name, "norm_ppf") == 0) g[0] = tl_norm_ppf(a[0]), ng = 1, kind = 0;
    else if (strcmp(name, "norm_cdf") == 0) g[0] = tl_norm_cdf(a[0]), ng = 1, kind = 1;
    else if (strcmp(name, "t_cdf") == 0) g[0] = tl_t_cdf(a[0], a[1]), ng = 1, kind = 2;
    else if (strcmp(name, "t_ppf") == 0) g[0] = tl_t_ppf(a[0], a[1]), ng = 1, kind = 3;
    else if (strcmp(name, "chi2_sf") == 0) g[0] = tl_chi2_sf(a[0], a[1]), ng = 1, kind = 4;
    else if (strcmp(name, "betainc") == 0) g[0] = tl_betainc(a[0], a[1], a[2]), ng = 1, kind = 5;
    else if (strcmp(name, "gammaincc") == 0) g[0] = tl_gammaincc(a[0], a[1]), ng = 1, kind = 6;
    else if (strcmp(name, "wilson") == 0) tl_wilson(a[0], a[1], a[2], &g[0], &g[1]), ng = 2, kind = 7;
    else if (strcmp(name, "prop") == 0) {
        tl_prop_test_t t;
        tl_prop_test(a[0], a[1], a[2], a[3], 0.95, &t);
        g[0] = t.diff, g[1] = t.diff_lo, g[2] = t.diff_hi, g[3] = t.z, g[4] = t.p;
        g[5] = t.rel, g[6] = t.rel_lo, g[7] = t.rel_hi, ng = 8, kind = 8;
    } else if (strcmp(name, "welch") == 0) {
        tl_welch_t w;
        tl_welch(a[0], a[1], a[2], a[3], a[4], a[5], 0.95, &w);
        g[0] = w.diff, g[1] = w.lo, g[2] = w.hi, g[3] = w.t, g[4] = w.df, g[5] = w.p, ng = 6, kind = 9;
    } else if (strncmp(name, "chisquare", 9) == 0) {
        int k = na / 2;
        tl_chisquare(a, a + k, k, &g[0], &g[1]), ng = 2, kind = 10;
    } else if (strncmp(name, "holm", 4) == 0) {
        tl_p_holm(a, na, g), ng = na, kind = 11;
    } else if (strncmp(name, "bh", 2) == 0) {
        tl_p_bh(a, na, g), ng = na, kind = 12;
    }
    if (kind < 0) fail_msg("line %d: unknown case %s", lineno, name);
    assert_int_equal(ng, ne);
    for (int i = 0; i < ng; i++)
        if (!close_to(g[i], e[i]))
            fail_msg("line %d: %s value %d: got %.17g, the vectors say %.17g", lineno, name, i, g[i], e[i]);
    checked[kind]++;
}

static void test_against_scipy(void **state) {
    (void)state;
    const char *d = getenv("TAILOR_TEST_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/stats_vectors.txt", d ? d : "tests/data");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int lineno = 0, cases = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        char *tok = strtok(line, " \n"), name[32];
        snprintf(name, sizeof name, "%s", tok);
        double a[16], e[8];
        int na = 0, ne = 0, right = 0;
        while ((tok = strtok(NULL, " \n"))) {
            if (strcmp(tok, "=") == 0) right = 1;
            else if (right) e[ne++] = strtod(tok, NULL);
            else a[na++] = strtod(tok, NULL);
        }
        check_line(name, a, na, e, ne, lineno);
        cases++;
    }
    fclose(f);
    assert_true(cases > 200);
    for (int k = 0; k < 13; k++)
        if (!checked[k]) fail_msg("no case of kind %d in the vectors", k);
}

/* The normal quantile and CDF invert each other far into the tails. */
static void test_inverse(void **state) {
    (void)state;
    for (double p = 1e-15; p < 1; p = p < 0.01 ? p * 10 : p + 0.01) {
        assert_true(fabs(tl_norm_cdf(tl_norm_ppf(p)) - p) <= 1e-12 * fmax(p, 1e-3));
        for (double df = 1.5; df < 1e4; df *= 7)
            assert_true(fabs(tl_t_cdf(tl_t_ppf(p, df), df) - p) <= 1e-11 * fmax(p, 1e-3));
    }
}

/* Adjusted p-values never fall below the raw ones, and are monotone in them. */
static void test_corrections(void **state) {
    (void)state;
    double p[] = {0.04, 0.001, 0.2, 0.03, 0.5}, h[5], b[5];
    tl_p_holm(p, 5, h);
    tl_p_bh(p, 5, b);
    for (int i = 0; i < 5; i++) {
        assert_true(h[i] >= p[i] && b[i] >= p[i] && h[i] >= b[i] - 1e-15);
        for (int j = 0; j < 5; j++)
            if (p[i] < p[j]) assert_true(h[i] <= h[j] && b[i] <= b[j]);
    }
    assert_true(fabs(h[1] - 0.005) < 1e-15);
}

/* Units whose uplift grows with x: treated units convert with probability
 * 0.1 + 0.3 * (x > 0), control units with 0.1; both models find that the
 * units with x > 0 are the ones moved, and the Qini coefficient orders a
 * perfect, a random and a reversed ranking. */
static void test_uplift(void **state) {
    (void)state;
    enum { N = 40000 };
    double *x = malloc(N * 2 * sizeof *x), *s = malloc(N * sizeof *s);
    uint8_t *t = malloc(N), *y = malloc(N);
    tl_rng_t r;
    tl_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) {
        x[2 * i] = tl_rng_normal(&r), x[2 * i + 1] = tl_rng_normal(&r); /* the second is noise */
        t[i] = tl_rng_uniform(&r) < 0.7;
        double p = 0.1 + (t[i] && x[2 * i] > 0 ? 0.3 : 0);
        y[i] = tl_rng_uniform(&r) < p;
    }
    const char *names[] = {"x", "noise"};
    /* the true uplift as a ranking: what a model can reach at best */
    for (int i = 0; i < N; i++) s[i] = x[2 * i] > 0 ? 0.3 + 1e-6 * x[2 * i] : 1e-6 * x[2 * i];
    tl_qini_t truth;
    assert_int_equal(tl_qini(s, t, y, N, 50, &truth), 0);
    assert_true(truth.qini_coef > 0.05);
    for (int method = 0; method < 2; method++) {
        tl_uplift_model_t m;
        tl_errbuf_t eb;
        assert_int_equal(tl_uplift_fit(x, N, 2, names, t, y, method, 1.0, &m, &eb), 0);
        double hi = 0, lo = 0;
        int nh = 0, nl = 0;
        for (int i = 0; i < N; i++) {
            s[i] = tl_uplift_predict(&m, x + 2 * i);
            if (x[2 * i] > 1) hi += s[i], nh++;
            if (x[2 * i] < -1) lo += s[i], nl++;
        }
        hi /= nh, lo /= nl;
        assert_true(hi > 0.2 && hi < 0.45);   /* about 0.3 where x > 0 ... */
        assert_true(fabs(lo) < 0.08);          /* ... and about 0 where x < 0 */
        tl_qini_t q;
        assert_int_equal(tl_qini(s, t, y, N, 50, &q), 0);
        assert_true(q.qini_coef > 0.8 * truth.qini_coef);
        assert_true(q.uplift_at[1] > 0.25);   /* the top 20 % are all moved */
        tl_qini_fini(&q);
    }
    tl_qini_fini(&truth);
    /* perfect, random and reversed rankings */
    for (int i = 0; i < N; i++) s[i] = t[i] ? y[i] : -(double)y[i];
    tl_qini_t q;
    tl_qini(s, t, y, N, 10, &q);
    assert_true(fabs(q.qini_coef - 1) < 1e-12);
    tl_qini_fini(&q);
    for (int i = 0; i < N; i++) s[i] = -s[i];
    tl_qini(s, t, y, N, 10, &q);
    assert_true(q.qini_coef < -0.5);
    tl_qini_fini(&q);
    for (int i = 0; i < N; i++) s[i] = tl_rng_uniform(&r);
    tl_qini(s, t, y, N, 10, &q);
    assert_true(fabs(q.qini_coef) < 0.1);
    assert_true(fabs(q.qini[10] - q.random[10]) < 1e-9); /* both end at the total */
    tl_qini_fini(&q);
    free(x), free(s), free(t), free(y);
}

/* A projection from a model is supported only by a positive Qini on held-out
 * units; one below zero, or never measured, is said to be unsupported, and
 * the measure survives the model file. */
static void test_uplift_projection(void **state) {
    (void)state;
    tl_uplift_model_t m = {.method = TL_UPLIFT_CLASS, .p = 1, .test_units = 500, .test_qini = -0.05};
    snprintf(m.names[0], sizeof m.names[0], "x");
    m.sd[0] = 1;
    const double up[] = {0.1, -0.2, 0.3, 0.05, NAN};
    tl_uplift_projection_t pr;
    assert_int_equal(tl_uplift_project(&m, up, 5, 40, 100, 0.3, 0.05, &pr), 0);
    assert_int_equal(pr.targeted, 2);
    assert_true(fabs(pr.incremental - 0.4) < 1e-12 && fabs(pr.min_uplift - 0.1) < 1e-12);
    assert_true(fabs(pr.profit - 12) < 1e-9 && fabs(pr.cost - 0.1) < 1e-12 && fabs(pr.roi - 119) < 1e-9);
    assert_int_equal(pr.supported, 0);
    assert_non_null(strstr(pr.why, "Qini coefficient on 500 held-out units is -0.050"));
    assert_non_null(strstr(pr.why, "not supported by the held-out data"));
    char path[300];
    snprintf(path, sizeof path, "%s/m.json", dir);
    tl_errbuf_t eb = {{0}};
    tl_uplift_model_t back;
    assert_int_equal(tl_uplift_save(&m, path, &eb), 0);
    assert_int_equal(tl_uplift_load(path, &back, &eb), 0);
    assert_true(back.test_units == 500 && back.test_qini == -0.05);
    m.test_qini = 0.12;
    assert_int_equal(tl_uplift_project(&m, up, 5, 40, 100, 0.3, 0.05, &pr), 0);
    assert_int_equal(pr.supported, 1);
    assert_string_equal(pr.why, "");
    m.test_units = 0, m.test_qini = NAN; /* a model file from before the measure was kept */
    assert_int_equal(tl_uplift_save(&m, path, &eb), 0);
    assert_int_equal(tl_uplift_load(path, &back, &eb), 0);
    assert_int_equal(tl_uplift_project(&back, up, 5, 40, 100, 0.3, 0.05, &pr), 0);
    assert_int_equal(pr.supported, 0);
    assert_non_null(strstr(pr.why, "never measured on units held out"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_scipy),
        cmocka_unit_test(test_inverse),
        cmocka_unit_test(test_corrections),
        cmocka_unit_test(test_uplift),
        cmocka_unit_test_setup_teardown(test_uplift_projection, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
