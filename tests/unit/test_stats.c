/* Unit tests of src/stats: every distribution, interval and test against
 * answers of scipy.stats and statsmodels for the same numbers, zero counts
 * included (tests/data/stats_vectors.txt, written by stats_vectors.py), to
 * 1e-9; the population stability index against sums worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "stats/stats.h"

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

/* Quantile bins of a: a = 0..99 gives edges 10, 20, ..., 90 and ten
 * bins of 10 %; b = 20..119 leaves the first two empty (floored at 1e-4)
 * and puts 30 % in the last: 2 (1e-4 - 0.1) ln(1e-3) + 0.2 ln 3. Unknown
 * values are a bin of their own. */
static void test_psi(void **state) {
    (void)state;
    double a[125], b[100];
    for (int i = 0; i < 100; i++) a[i] = i, b[i] = i + 20;
    assert_true(close_to(tl_psi(a, 100, b, 100, 10), 1.5998919624742531));
    assert_true(close_to(tl_psi(a, 100, a, 100, 10), 0));
    for (int i = 100; i < 125; i++) a[i] = NAN;
    assert_true(close_to(tl_psi(a, 125, a, 100, 10), 1.5640491119253044));
    double ca[] = {10, 10, 0}, cb[] = {5, 15, 0};
    assert_true(close_to(tl_psi_counts(ca, cb, 3), -0.25 * log(0.5) + 0.25 * log(1.5)));
    assert_string_equal(tl_psi_reading(0.0999), "stable");
    assert_string_equal(tl_psi_reading(0.10), "watch");
    assert_string_equal(tl_psi_reading(0.25), "watch");
    assert_string_equal(tl_psi_reading(0.2501), "shifted");
    assert_string_equal(tl_psi_reading(NAN), "stable");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_scipy),
        cmocka_unit_test(test_inverse),
        cmocka_unit_test(test_corrections),
        cmocka_unit_test(test_psi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
