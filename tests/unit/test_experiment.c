/* Unit tests of src/experiment: uplift models, the Qini curve and the
 * projection of a held-out Qini, experiments read from tables and the
 * guard against leaking features (the statistics are tested in
 * test_stats.c). */
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

/* Units whose uplift grows with x: treated units convert with probability
 * 0.1 + 0.3 * (x > 0), control units with 0.1; the three models find that the
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
    double line_qini = 0;
    for (int method = TL_UPLIFT_TWO_MODEL; method <= TL_UPLIFT_TREES; method++) {
        tl_uplift_model_t m;
        tl_errbuf_t eb;
        assert_int_equal(tl_uplift_fit(x, N, 2, names, t, y, method, 1.0, &m, &eb), 0);
        double hi = 0, lo = 0;
        int nh = 0, nl = 0;
        assert_int_equal(tl_uplift_predict_rows(&m, x, N, s, &eb), 0);
        assert_true(tl_uplift_predict(&m, x + 2 * 7) == s[7]); /* one row alone as among all */
        for (int i = 0; i < N; i++) {
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
        if (method == TL_UPLIFT_CLASS) line_qini = q.qini_coef;
        /* a step the line can only lean towards: trees kept, and better */
        if (method == TL_UPLIFT_TREES) assert_true(m.trees && q.qini_coef > line_qini);
        tl_qini_fini(&q);
        tl_uplift_model_fini(&m);
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

/* A campaign's uplift model kept in the store by name, in the file it has
 * always had (DATA/models/uplift-ID.json); a name that is not one is refused. */
static void test_uplift_store(void **state) {
    (void)state;
    char data[300], path[400];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    assert_int_equal(tl_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_uplift_model_t m = {.method = TL_UPLIFT_TWO_MODEL, .p = 1, .n_treated = 9, .n_control = 7,
                           .test_units = 40, .test_qini = 0.25, .beta_t = {0.5, 1.5}, .beta_c = {0.1, -0.2}};
    snprintf(m.names[0], sizeof m.names[0], "age");
    m.mean[0] = 40, m.sd[0] = 12;
    tl_uplift_model_t back;
    assert_int_equal(tl_uplift_get(st, "c1", &back, &eb), TL_ENOENT);
    assert_non_null(strstr(eb.msg, "uplift train"));
    assert_int_equal(tl_uplift_put(st, "c1", &m, &eb), 0);
    snprintf(path, sizeof path, "%s/models/uplift-c1.json", data);
    assert_int_equal(tl_uplift_load(path, &back, &eb), 0);
    assert_int_equal(tl_uplift_get(st, "c1", &back, &eb), 0);
    assert_true(back.method == m.method && back.p == 1 && !strcmp(back.names[0], "age"));
    assert_true(back.beta_t[1] == 1.5 && back.beta_c[1] == -0.2 && back.mean[0] == 40 && back.sd[0] == 12);
    assert_true(back.test_units == 40 && back.test_qini == 0.25);
    double row[1] = {52};
    assert_true(tl_uplift_predict(&back, row) == tl_uplift_predict(&m, row));
    assert_int_equal(tl_uplift_put(st, "a/b", &m, &eb), TL_EINVAL);
    assert_int_equal(tl_uplift_get(st, "", &back, &eb), TL_EINVAL);
    /* a damaged blob is said to be one */
    assert_int_equal(tl_store_blob_put(st, "uplift/c2", "{}", 2, &eb), 0);
    assert_int_equal(tl_uplift_get(st, "c2", &back, &eb), TL_ECORRUPT);
    tl_store_close(st);
}

/* An experiment as a table: a text feature becomes indicators of every
 * level but the most frequent, which read back by name; the guard refuses
 * an id, a function of the outcome and a column recorded after the
 * treatment by name, unless allowed; the Qini of no units is undefined. */
static void test_uplift_table(void **state) {
    (void)state;
    tl_buf_t b;
    tl_buf_init(&b);
    char line[128];
    snprintf(line, sizeof line, "id,age,channel,opened,treated,converted,spend\n");
    tl_buf_append(&b, line, strlen(line));
    static const char *const ch[] = {"email", "email", "sms", "push"};
    for (int i = 0; i < 80; i++) {
        int t = i % 2, y = i % 5 == 0;
        snprintf(line, sizeof line, "u%d,%d,%s,%d,%d,%d,%s\n", i, 20 + i % 37, ch[i % 4],
                 t ? i % 3 == 0 : 0, t, y, y ? "12.5" : "0");
        tl_buf_append(&b, line, strlen(line));
    }
    tl_source_t src = tl_source_mem("exp.csv", b.data, b.len);
    tl_table_opts_t to = {0};
    tl_table_t t;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_table_read(&src, &to, &t, NULL, NULL, &eb), 0);
    tl_uplift_table_opts_t o = {"treated", "converted", "id", "age,channel", 1, NULL};
    tl_uplift_rows_t r;
    assert_int_equal(tl_uplift_table_rows(&t, "exp.csv", &o, &r, &eb), 0);
    assert_int_equal(r.p, 3);
    assert_string_equal(r.names[0], "age");
    assert_string_equal(r.names[1], "channel=push"); /* email, the most frequent, is the reference */
    assert_string_equal(r.names[2], "channel=sms");
    assert_true(r.x[0 * 3 + 1] == 0 && r.x[3 * 3 + 1] == 1 && r.x[2 * 3 + 2] == 1);
    assert_int_equal(r.t[1], 1);
    assert_int_equal(r.y[0], 1);
    tl_uplift_rows_fini(&r);
    /* the model's names read back from a table without treatment or outcome */
    tl_uplift_table_opts_t ap = {NULL, NULL, NULL, "age,channel=sms", 0, NULL};
    assert_int_equal(tl_uplift_table_rows(&t, "exp.csv", &ap, &r, &eb), 0);
    assert_true(r.p == 2 && r.t == NULL && r.x[2 * 2 + 1] == 1 && r.x[0 * 2 + 1] == 0);
    tl_uplift_rows_fini(&r);
    /* the guard, column by column */
    static const struct {
        const char *features, *allow, *says;
    } bad[] = {{NULL, NULL, "\"id\" looks like an identifier"},
               {"age,spend", NULL, "\"spend\" is a function of the outcome"},
               {"opened", NULL, "\"opened\" looks recorded after the treatment"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        tl_uplift_table_opts_t g = {"treated", "converted", k ? "id" : NULL, bad[k].features, 1, NULL};
        eb.msg[0] = 0;
        assert_int_equal(tl_uplift_table_rows(&t, "exp.csv", &g, &r, &eb), TL_EINVAL);
        assert_non_null(strstr(eb.msg, bad[k].says));
        /* an id is left out by naming it (allowed, its 80 values are too many to expand) */
        if (k == 0) g.id = "id";
        g.allow = k == 0 ? "spend,opened" : k == 1 ? "spend" : "opened";
        assert_int_equal(tl_uplift_table_rows(&t, "exp.csv", &g, &r, &eb), 0);
        tl_uplift_rows_fini(&r);
    }
    tl_table_fini(&t);
    tl_buf_fini(&b);
    tl_qini_t q;
    assert_int_equal(tl_qini(NULL, NULL, NULL, 0, 10, &q), 0);
    assert_true(isnan(q.qini_coef) && isnan(q.auuc) && isnan(q.uplift_at[0]));
    tl_qini_fini(&q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uplift),
        cmocka_unit_test(test_uplift_table),
        cmocka_unit_test_setup_teardown(test_uplift_projection, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_uplift_store, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
