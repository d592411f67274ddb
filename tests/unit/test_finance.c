/* Unit tests of src/finance: binning (steps in the bad rate found, minimum
 * share, monotonic trend, missing and unseen values), WOE and IV against
 * the counts, logistic regression recovering known coefficients, AUC and KS
 * worked out by hand; offers for one user equal to the offers evaluated
 * over every user, on a generated world. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <unistd.h>

#include <cmocka.h>

#include "finance/finance.h"
#include "gen/gen.h"
#include "tmpdir.h"

/* x = 0..n-1 with a bad rate of 1 in 20 below 300, 1 in 5 below 700 and 1
 * in 2 above; then 100 missing values with 30 bads. */
static void steps(double *x, uint8_t *bad, uint32_t n) {
    for (uint32_t r = 0; r < n; r++) {
        uint32_t every = r < 300 ? 20 : r < 700 ? 5 : 2;
        x[r] = r;
        bad[r] = r % every == 0;
    }
    for (uint32_t r = n; r < n + 100; r++) x[r] = NAN, bad[r] = r % 10 < 3;
}

static void check_woe(const tl_binning_t *b) {
    double G = 0, B = 0, iv = 0;
    for (uint32_t k = 0; k < b->nbins; k++) G += b->good[k], B += b->bad[k];
    for (uint32_t k = 0; k < b->nbins; k++) {
        double w = log(((b->good[k] + 0.5) / G) / ((b->bad[k] + 0.5) / B));
        assert_true(fabs(b->woe[k] - w) < 1e-12);
        iv += (b->good[k] / G - b->bad[k] / B) * w;
    }
    assert_true(fabs(b->iv - iv) < 1e-12);
}

static void test_numeric_bins(void **state) {
    (void)state;
    double x[1100];
    uint8_t bad[1100];
    steps(x, bad, 1000);
    tl_column_t col = {0, x, NULL, 0};
    tl_bin_opts_t o;
    tl_bin_opts_default(&o);
    o.chi_merge = 3.841; /* pre-bins of one step are alike: they merge */
    tl_binning_t b;
    assert_int_equal(tl_bin_fit(&col, bad, 1100, &o, &b), 0);
    /* the three steps, then the missing bin */
    assert_int_equal(b.ncuts, 2);
    assert_int_equal(b.nbins, 4);
    assert_int_equal(b.missing, 3);
    assert_true(b.cut[0] >= 299 && b.cut[0] < 300);
    assert_true(b.cut[1] >= 699 && b.cut[1] < 700);
    assert_true(b.good[0] + b.bad[0] == 300 && b.bad[0] == 15);
    assert_true(b.good[3] == 70 && b.bad[3] == 30);
    assert_true(b.woe[0] > b.woe[1] && b.woe[1] > b.woe[2]); /* risk rises with x */
    check_woe(&b);
    assert_int_equal(tl_bin_of(&b, &col, 0), 0);
    assert_int_equal(tl_bin_of(&b, &col, 300), 1);
    assert_int_equal(tl_bin_of(&b, &col, 999), 2);
    assert_int_equal(tl_bin_of(&b, &col, 1050), 3);
    double big = 1e9;
    tl_column_t one = {0, &big, NULL, 0};
    assert_int_equal(tl_bin_of(&b, &one, 0), 2);
    tl_binning_fini(&b);
    /* forced the other way, no split can hold: one bin and the missing one */
    o.trend = TL_TREND_DESC;
    assert_int_equal(tl_bin_fit(&col, bad, 1100, &o, &b), 0);
    assert_int_equal(b.ncuts, 0);
    assert_int_equal(b.nbins, 2);
    tl_binning_fini(&b);
    /* no missing values in training: a missing one goes to the riskiest bin */
    o.trend = TL_TREND_AUTO;
    assert_int_equal(tl_bin_fit(&col, bad, 1000, &o, &b), 0);
    assert_int_equal(b.missing, TL_NONE);
    double nan = NAN;
    tl_column_t miss = {0, &nan, NULL, 0};
    assert_int_equal(tl_bin_of(&b, &miss, 0), 2);
    tl_binning_fini(&b);
    /* a minimum share of 40 %: no bin below 400 rows of the 1000 */
    o.min_share = 0.4;
    assert_int_equal(tl_bin_fit(&col, bad, 1000, &o, &b), 0);
    for (uint32_t k = 0; k < b.nbins; k++) assert_true(b.good[k] + b.bad[k] >= 400);
    tl_binning_fini(&b);
    /* a special code keeps a bin of its own after the regular ones, before
     * the missing one, and never joins the quantiles */
    for (uint32_t r = 0; r < 100; r++) x[1000 + r] = r % 2 ? -1 : NAN; /* 50 codes, 50 missing */
    const double codes[] = {-1, 12345}; /* the second never seen: no bin */
    o.min_share = 0.05, o.special = codes, o.nspecial = 2;
    assert_int_equal(tl_bin_fit(&col, bad, 1100, &o, &b), 0);
    assert_int_equal(b.nspecial, 1);
    assert_int_equal(b.nbins, b.nregular + 2);
    assert_int_equal(b.missing, b.nbins - 1);
    assert_true(b.cut[0] >= 0); /* -1 is not a value */
    double code = -1;
    tl_column_t one_code = {0, &code, NULL, 0};
    assert_int_equal(tl_bin_of(&b, &one_code, 0), b.nregular);
    assert_true(b.good[b.nregular] + b.bad[b.nregular] == 50);
    check_woe(&b);
    tl_binning_fini(&b);
    o.special = NULL, o.nspecial = 0;
    /* without bads there is no WOE */
    uint8_t none[1000] = {0};
    assert_int_equal(tl_bin_fit(&col, none, 1000, &o, &b), TL_EINVAL);
}

static void test_categorical_bins(void **state) {
    (void)state;
    /* categories 0 and 1: 1 bad in 20; 2 and 3: 2 in 5; 4 never seen */
    enum { N = 2000 };
    static uint32_t cat[N];
    static uint8_t bad[N];
    for (uint32_t r = 0; r < N; r++) {
        cat[r] = r % 4;
        bad[r] = cat[r] < 2 ? (r / 4) % 20 == 0 : (r / 4) % 5 < 2;
    }
    tl_column_t col = {1, NULL, cat, 5};
    tl_bin_opts_t o;
    tl_bin_opts_default(&o);
    o.chi_merge = 3.841; /* categories of one rate are alike: they merge */
    tl_binning_t b;
    assert_int_equal(tl_bin_fit(&col, bad, N, &o, &b), 0);
    assert_int_equal(b.nbins, 2);
    assert_int_equal(b.cat_bin[0], b.cat_bin[1]);
    assert_int_equal(b.cat_bin[2], b.cat_bin[3]);
    assert_int_not_equal(b.cat_bin[0], b.cat_bin[2]);
    assert_true(b.woe[b.cat_bin[0]] > b.woe[b.cat_bin[2]]);
    assert_int_equal(b.cat_bin[4], b.cat_bin[2]); /* unseen: the riskiest */
    uint32_t missing = TL_NONE;
    tl_column_t m = {1, NULL, &missing, 5};
    assert_int_equal(tl_bin_of(&b, &m, 0), b.cat_bin[2]);
    check_woe(&b);
    tl_binning_fini(&b);
}

static void test_logit(void **state) {
    (void)state;
    /* y drawn from P = 1 / (1 + exp(-(-1 + 2 x1 - 0.5 x2))) */
    enum { N = 40000 };
    static double x[2 * N];
    static uint8_t y[N];
    uint64_t s = 12345;
    for (uint32_t r = 0; r < N; r++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0;
        x[2 * r] = (r % 200) / 100.0 - 1, x[2 * r + 1] = (double)(r % 7) - 3;
        double p = 1 / (1 + exp(-(-1 + 2 * x[2 * r] - 0.5 * x[2 * r + 1])));
        y[r] = u < p;
    }
    double beta[3];
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_logit_fit(x, N, 2, y, 0, beta, &eb), 0);
    assert_true(fabs(beta[0] + 1) < 0.1);
    assert_true(fabs(beta[1] - 2) < 0.1);
    assert_true(fabs(beta[2] + 0.5) < 0.05);
    /* the L2 penalty shrinks the slopes, not the intercept's role */
    double shrunk[3];
    assert_int_equal(tl_logit_fit(x, N, 2, y, 1e5, shrunk, &eb), 0);
    assert_true(fabs(shrunk[1]) < fabs(beta[1]) / 2);
}

static void test_auc_ks(void **state) {
    (void)state;
    const double s[] = {1, 2, 3, 4};
    const uint8_t bad[] = {1, 0, 1, 0};
    /* good above bad in 3 of the 4 pairs; the CDFs part by 1/2 at most */
    assert_true(fabs(tl_auc(s, bad, 4) - 0.75) < 1e-12);
    assert_true(fabs(tl_ks(s, bad, 4) - 0.5) < 1e-12);
    const double tie[] = {1, 1};
    const uint8_t tb[] = {1, 0};
    assert_true(fabs(tl_auc(tie, tb, 2) - 0.5) < 1e-12);
    assert_true(fabs(tl_ks(tie, tb, 2)) < 1e-12);
    const uint8_t all[] = {1, 1, 1, 1};
    assert_true(isnan(tl_auc(s, all, 4)));
}

/* Every user's offers evaluated alone equal the evaluation over everyone,
 * with a scorecard, consents, credit records and a scene for one user. */
static void test_offers_one_equals_all(void **state) {
    (void)state;
    char out[300], data[300];
    snprintf(out, sizeof out, "%s/world", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    tl_gen_opts_t g;
    tl_gen_opts_default(&g);
    g.users = 800, g.items = 200, g.seed = 5, g.dirty_rate = 0;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_gen_run(&g, out, NULL, &eb), 0);
    tl_store_t *st;
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    static const char *const names[] = {"users.csv", "items.csv", "products.csv", "credit.csv",
                                        "consents.csv", "events.csv"};
    char paths[6][400];
    tl_source_t files[6];
    for (int i = 0; i < 6; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", out, names[i]);
        files[i] = tl_source_file(paths[i]);
    }
    tl_import_opts_t io;
    tl_import_opts_default(&io);
    tl_import_stats_t is = {0};
    assert_int_equal(tl_import(st, files, 6, &io, &is, NULL, NULL, &eb), 0);
    tl_profile_opts_t po;
    tl_profile_opts_default(&po);
    tl_profiles_t *p;
    assert_int_equal(tl_profile_build(st, &po, &p, &eb), 0);
    tl_table_t t;
    assert_int_equal(tl_score_users_table(p, tl_store_dict(st, TL_D_USER, &eb), 0, UINT32_MAX, &t), 0);
    tl_score_opts_t so;
    tl_score_opts_default(&so);
    so.target = "defaulted", so.bad_value = "yes", so.id = "user", so.exclude = "repayments,repay_amount";
    tl_scorecard_t *sc;
    assert_int_equal(tl_scorecard_train(&t, &so, &sc, &eb), 0);
    tl_table_fini(&t);

    uint32_t nu = tl_profile_nusers(p), who = nu / 3;
    tl_offer_scene_t scene = {"electronics", 3000};
    tl_offers_t *all, *pol;
    assert_int_equal(tl_offers_new(st, p, sc, NULL, &scene, who, &all, &eb), 0);
    assert_int_equal(tl_offers_policy(st, p, NULL, &pol, &eb), 0);
    uint32_t np = tl_offers_nproducts(all);
    assert_true(np > 0);
    assert_int_equal(tl_offers_nproducts(pol), np);
    tl_offer_t *a = calloc(np, sizeof *a), *b = calloc(np, sizeof *b);
    uint32_t offered = 0, blocked = 0, boosted = 0;
    for (uint32_t u = 0; u < nu; u++) {
        const char *sn = u == who ? "purchase" : "home";
        uint32_t na = tl_offers_for(all, u, sn, a), nb;
        assert_int_equal(tl_offers_user(pol, st, p, sc, u, sn, u == who ? &scene : NULL, b, &nb, &eb), 0);
        assert_int_equal(na, nb);
        for (uint32_t i = 0; i < na; i++) {
            assert_string_equal(a[i].id, b[i].id);
            assert_int_equal(a[i].eligible, b[i].eligible);
            assert_int_equal(a[i].scene, b[i].scene);
            assert_int_equal(a[i].nblocks, b[i].nblocks);
            assert_true(a[i].value == b[i].value);
            offered += a[i].eligible && !a[i].blocked && !a[i].losing;
            blocked += a[i].blocked != NULL;
            boosted += a[i].scene;
        }
    }
    /* the world gives all three outcomes, so the comparison means something */
    assert_true(offered > 0 && blocked > 0 && boosted > 0);
    /* every blocked offer of a user's offers is logged, whoever asked */
    char logp[400];
    snprintf(logp, sizeof logp, "%s/offers.log", data);
    FILE *lf = fopen(logp, "r");
    assert_non_null(lf);
    uint32_t lines = 0;
    for (int ch; (ch = fgetc(lf)) != EOF;) lines += ch == '\n';
    fclose(lf);
    assert_int_equal(lines, blocked);
    /* a scene the policy does not have is refused, naming the valid ones */
    uint32_t nb = 1;
    eb.msg[0] = 0;
    assert_int_equal(tl_offers_user(pol, st, p, sc, who, "bogus", NULL, b, &nb, &eb), TL_EINVAL);
    assert_int_equal(nb, 0);
    assert_non_null(strstr(eb.msg, "\"bogus\""));
    assert_non_null(strstr(eb.msg, "home, purchase, travel, promotion, idle"));
    assert_int_equal(tl_offers_scene_check(pol, "travel", &eb), 0);
    assert_int_equal(tl_offers_scene_check(pol, NULL, &eb), 0);
    free(a), free(b);
    tl_offers_free(all), tl_offers_free(pol);
    /* the scorecard kept in the store by name, in the file it has always had */
    tl_scorecard_t *back = NULL;
    assert_int_equal(tl_scorecard_get(st, "scorecard", &back, &eb), TL_ENOENT);
    assert_null(back);
    assert_int_equal(tl_scorecard_put(st, "scorecard", sc, &eb), 0);
    snprintf(logp, sizeof logp, "%s/models/scorecard.json", data);
    assert_int_equal(access(logp, R_OK), 0);
    assert_int_equal(tl_scorecard_get(st, "scorecard", &back, &eb), 0);
    tl_scorecard_stats_t s1, s2;
    tl_scorecard_stats(sc, &s1), tl_scorecard_stats(back, &s2);
    assert_int_equal(tl_scorecard_nfeatures(back), tl_scorecard_nfeatures(sc));
    /* JSON keeps 15 significant digits when they read back within a unit in the last place */
    assert_true(s1.rows == s2.rows && fabs(s1.auc - s2.auc) < 1e-12 && fabs(s1.ks - s2.ks) < 1e-12);
    tl_scorecard_free(back);
    assert_int_equal(tl_scorecard_put(st, "../x", sc, &eb), TL_EINVAL);
    assert_int_equal(tl_scorecard_get(st, "", &back, &eb), TL_EINVAL);
    tl_scorecard_free(sc);
    tl_profile_free(p);
    tl_store_close(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_bins),
        cmocka_unit_test(test_categorical_bins),
        cmocka_unit_test(test_logit),
        cmocka_unit_test(test_auc_ks),
        cmocka_unit_test_setup_teardown(test_offers_one_equals_all, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
