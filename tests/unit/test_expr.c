/* Unit tests of src/expr over a small in-memory table: every operator and
 * function against rows computed by hand, null handling, blocks larger
 * than one evaluation block, and error messages with their positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "expr/expr.h"

#define N 10000 /* more than one evaluation block */

static double money[N];
static uint32_t orders[N], city[N];
static uint8_t tag[N];
static tl_dict_t *cities;

static int lookup(void *ctx, const char *name, tl_expr_col_t *out) {
    (void)ctx;
    memset(out, 0, sizeof *out);
    if (strcmp(name, "money") == 0) out->type = TL_EXPR_NUM, out->num = money;
    else if (strcmp(name, "orders") == 0) out->type = TL_EXPR_NUM, out->u32 = orders;
    else if (strcmp(name, "city") == 0) out->type = TL_EXPR_CAT, out->u32 = city, out->labels = cities;
    else if (strcmp(name, "tag_vip") == 0) out->type = TL_EXPR_BOOL, out->b = tag;
    else if (strcmp(name, "affinity_books") == 0) out->type = TL_EXPR_NUM, out->num = money;
    else return TL_ENOENT;
    return 0;
}

static int count(void *ctx, const char *type, double days, tl_expr_col_t *out) {
    (void)ctx;
    if (strcmp(type, "purchase") != 0) return TL_ENOENT;
    memset(out, 0, sizeof *out);
    out->type = TL_EXPR_NUM;
    out->u32 = days >= 30 ? orders : city; /* any column will do: it is the wiring we test */
    return 0;
}

static tl_expr_table_t table = {N, NULL, lookup, count};

static int setup(void **state) {
    (void)state;
    cities = tl_dict_new();
    uint32_t idx;
    tl_dict_intern(cities, "Shanghai", 8, &idx, NULL);
    tl_dict_intern(cities, "Beijing", 7, &idx, NULL);
    tl_dict_intern(cities, "Chengdu", 7, &idx, NULL);
    for (uint32_t i = 0; i < N; i++) {
        money[i] = i % 7 == 0 ? NAN : (double)(i % 1000);
        orders[i] = i % 11 == 0 ? TL_NONE : i % 5;
        city[i] = i % 13 == 0 ? TL_NONE : i % 3;
        tag[i] = i % 4 == 0;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tl_dict_free(cities);
    return 0;
}

/* Evaluates src and checks every row against want(i). */
static void check(const char *src, int (*want)(uint32_t)) {
    tl_expr_t *e;
    tl_expr_err_t err;
    int rc = tl_expr_compile(src, &table, &e, &err);
    if (rc) fail_msg("%s: %s at %d", src, err.msg, err.pos);
    uint8_t *m = malloc(N);
    assert_int_equal(tl_expr_eval_bool(e, m), 0);
    for (uint32_t i = 0; i < N; i++)
        if (m[i] != want(i)) fail_msg("%s: row %u gives %d, want %d", src, i, m[i], want(i));
    free(m);
    tl_expr_free(e);
}

static int w1(uint32_t i) { return !isnan(money[i]) && money[i] > 500; }
static int w2(uint32_t i) { return w1(i) && orders[i] != TL_NONE && orders[i] >= 2; }
static int w3(uint32_t i) { return city[i] == 0 || city[i] == 1; }
static int w4(uint32_t i) { return city[i] != TL_NONE && city[i] != 2; }
static int w5(uint32_t i) { return isnan(money[i]); }
static int w6(uint32_t i) { return !w1(i); }
static int w7(uint32_t i) { return tag[i] || (orders[i] != TL_NONE && orders[i] * 2 + 1 == 7); }
static int w8(uint32_t i) { return city[i] == 1; }
static int w9(uint32_t i) { return orders[i] != TL_NONE && (orders[i] == 1 || orders[i] == 3); }
static int w10(uint32_t i) { return !isnan(money[i]) && fmin(money[i], 100) == 100 && fabs(-money[i]) > 900; }
static int w11(uint32_t i) { return (isnan(money[i]) ? -1 : money[i]) < 0; }
static int w12(uint32_t i) { return city[i] != TL_NONE && city[i] != 1; }
static int w13(uint32_t i) { return orders[i] != TL_NONE && orders[i] >= 1; }
static int w14(uint32_t i) { (void)i; return 0; }

static void test_semantics(void **state) {
    (void)state;
    check("money > 500", w1);
    check("money > 500 and orders >= 2", w2);
    check("city in ('Shanghai', \"Beijing\")", w3);
    check("city != 'Chengdu'", w4);
    check("money is null", w5);
    check("not money > 500", w6);
    check("has_tag(\"vip\") or orders * 2 + 1 == 7", w7);
    check("'Beijing' = city", w8);
    check("orders in (1, 3)", w9);
    check("min(money, 100) == 100 and abs(-money) > 900", w10);
    check("coalesce(money, -1) < 0", w11);
    check("city not in ('Beijing')", w12);
    check("count(purchase, 30d) >= 1", w13);
    check("city == 'Atlantis'", w14);
    /* true/false and keywords in any case */
    check("TRUE AND NOT (money > 500)", w6);
}

static void expect_error(const char *src, int pos, const char *needle) {
    tl_expr_t *e;
    tl_expr_err_t err;
    assert_int_equal(tl_expr_compile(src, &table, &e, &err), TL_EBADINPUT);
    if (err.pos != pos || !strstr(err.msg, needle))
        fail_msg("%s: got \"%s\" at %d, want \"%s\" at %d", src, err.msg, err.pos, needle, pos);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("money > ", 8, "expected a value");
    expect_error("monee > 1", 0, "no column \"monee\"");
    expect_error("money > 1 and", 13, "expected a value");
    expect_error("(money > 1", 10, "expected ')'");
    expect_error("city > 'x'", 5, "compares with == or !=");
    expect_error("affinity('toys') > 0.1", 9, "no category \"toys\"");
    expect_error("has_tag('nope')", 8, "no tag \"nope\"");
    expect_error("count(teleport, 3d) > 1", 6, "no event type");
    expect_error("count(purchase) > 1", 0, "count() takes");
    expect_error("money > 1 money", 10, "expected 'and', 'or'");
    expect_error("city", 0, "not a condition");
    expect_error("money + 'x' > 1", 8, "needs a number");
    expect_error("frob(money) > 1", 0, "no function frob()");
    expect_error("money > 'open", 8, "never closed");
    expect_error("money @ 2", 6, "unexpected character");
    expect_error("money in (1, 'a')", 13, "expected a number");
    char out[512];
    tl_expr_err_t err = {9, "boom"};
    tl_expr_format_error("money > 1 x", &err, out, sizeof out);
    assert_string_equal(out, "money > 1 x\n         ^ boom");
    /* a long expression is quoted around the error only, on one line */
    char *big = malloc(10001);
    assert_non_null(big);
    for (int i = 0; i < 10000; i++) big[i] = "money > 1 or\n"[i % 13];
    big[10000] = 0;
    err.pos = 5000;
    tl_expr_format_error(big, &err, out, sizeof out);
    assert_true(strlen(out) < 150);
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_int_equal(strncmp(out, "...", 3), 0);
    assert_int_equal(strncmp(nl - 3, "...", 3), 0);
    assert_int_equal((int)(strchr(nl, '^') - nl - 1), 3 + 40); /* under the character at pos */
    assert_int_equal(out[3 + 40], big[5000] == '\n' ? ' ' : big[5000]);
    err.pos = 9990;
    tl_expr_format_error(big, &err, out, sizeof out);
    assert_int_equal((int)(strchr(out, '\n') - out), 3 + 50);
    free(big);
}

static void test_numeric(void **state) {
    (void)state;
    tl_expr_t *e;
    tl_expr_err_t err;
    assert_int_equal(tl_expr_compile("money / 10 + orders % 2", &table, &e, &err), 0);
    assert_int_equal(tl_expr_type(e), TL_EXPR_NUM);
    double *v = malloc(N * sizeof *v);
    assert_int_equal(tl_expr_eval_num(e, v), 0);
    for (uint32_t i = 0; i < N; i++) {
        double want = money[i] / 10 + (orders[i] == TL_NONE ? NAN : (double)(orders[i] % 2));
        if (!(isnan(want) ? isnan(v[i]) : fabs(v[i] - want) < 1e-12))
            fail_msg("row %u: %g, want %g", i, v[i], want);
    }
    /* a numeric expression is not a condition */
    uint8_t m[1];
    assert_int_equal(tl_expr_eval_bool(e, m), TL_EINVAL);
    free(v);
    tl_expr_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_numeric),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
