/* Unit tests of src/core: dictionaries, fingerprint sets, time and number
 * parsing, UTF-8 validation, masking and the random generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>

#include "core/core.h"

static void test_dict_intern_find(void **state) {
    (void)state;
    tl_dict_t *d = tl_dict_new();
    assert_non_null(d);
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, "user-%d", i);
        uint32_t idx;
        int added;
        assert_int_equal(tl_dict_intern(d, buf, (size_t)n, &idx, &added), 0);
        assert_int_equal(idx, (uint32_t)i);
        assert_true(added);
    }
    assert_int_equal(tl_dict_count(d), 100000);
    /* Interning again finds the same index and adds nothing. */
    uint32_t idx;
    int added;
    assert_int_equal(tl_dict_intern(d, "user-777", 8, &idx, &added), 0);
    assert_int_equal(idx, 777);
    assert_false(added);
    assert_int_equal(tl_dict_find(d, "user-99999", 10), 99999);
    assert_int_equal(tl_dict_find(d, "user-100000", 11), TL_NONE);
    /* A prefix of a stored string is a different string. */
    assert_int_equal(tl_dict_find(d, "user-7", 6), 7);
    assert_int_equal(tl_dict_find(d, "user-", 5), TL_NONE);
    size_t n;
    assert_string_equal(tl_dict_str(d, 4242, &n), "user-4242");
    assert_int_equal(n, 9);
    assert_null(tl_dict_str(d, 100000, NULL));
    /* The empty string is a valid key. */
    assert_int_equal(tl_dict_intern(d, "", 0, &idx, &added), 0);
    assert_true(added);
    assert_int_equal(tl_dict_find(d, "", 0), idx);
    tl_dict_free(d);
}

static void test_dict_truncate(void **state) {
    (void)state;
    tl_dict_t *d = tl_dict_new();
    uint32_t idx;
    char buf[16];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(buf, sizeof buf, "k%d", i);
        tl_dict_intern(d, buf, (size_t)n, &idx, NULL);
    }
    assert_int_equal(tl_dict_truncate(d, 600), 0);
    assert_int_equal(tl_dict_count(d), 600);
    assert_int_equal(tl_dict_find(d, "k599", 4), 599);
    assert_int_equal(tl_dict_find(d, "k600", 4), TL_NONE);
    assert_int_equal(tl_dict_find(d, "k999", 4), TL_NONE);
    /* Re-adding after a rollback hands out the same indexes again. */
    assert_int_equal(tl_dict_intern(d, "k999", 4, &idx, NULL), 0);
    assert_int_equal(idx, 600);
    assert_string_equal(tl_dict_str(d, 600, NULL), "k999");
    tl_dict_free(d);
}

static void test_dict_hashed(void **state) {
    (void)state;
    tl_dict_t *d = tl_dict_new();
    uint32_t a, b;
    uint64_t h = tl_dict_hash("abc", 3);
    assert_int_equal(tl_dict_intern_h(d, "abc", 3, h, &a, NULL), 0);
    assert_int_equal(tl_dict_intern(d, "abc", 3, &b, NULL), 0);
    assert_int_equal(a, b);
    tl_dict_prefetch(d, h);
    tl_dict_prefetch_str(d, h);
    tl_dict_free(d);
}

static void test_hset(void **state) {
    (void)state;
    tl_hset_t s;
    assert_int_equal(tl_hset_init(&s, 4), 0);
    for (uint64_t k = 0; k < 200000; k++) assert_int_equal(tl_hset_add(&s, k * 0x10001), 1);
    for (uint64_t k = 0; k < 200000; k++) assert_int_equal(tl_hset_add(&s, k * 0x10001), 0);
    assert_int_equal(s.count, 200000);
    /* 0 is a key like any other (stored as 1 inside; so 1 collides with it). */
    assert_true(tl_hset_has(&s, 0));
    assert_false(tl_hset_has(&s, 3));
    /* Deleting keeps the others findable (backward-shift deletion). */
    for (uint64_t k = 0; k < 200000; k += 2) tl_hset_del(&s, k * 0x10001);
    assert_int_equal(s.count, 100000);
    for (uint64_t k = 0; k < 200000; k++)
        assert_int_equal(tl_hset_has(&s, k * 0x10001), (int)(k % 2));
    tl_hset_fini(&s);
}

static void test_time_parse(void **state) {
    (void)state;
    int64_t t;
    assert_int_equal(tl_time_parse("2024-05-01", 10, &t), 0);
    assert_int_equal(t, INT64_C(1714521600000));
    assert_int_equal(tl_time_parse("2024-05-01T08:30:15Z", 20, &t), 0);
    assert_int_equal(t, INT64_C(1714552215000));
    assert_int_equal(tl_time_parse("2024-05-01 08:30:15.250", 23, &t), 0);
    assert_int_equal(t, INT64_C(1714552215250));
    assert_int_equal(tl_time_parse("2024-05-01T16:30:15+08:00", 25, &t), 0);
    assert_int_equal(t, INT64_C(1714552215000));
    assert_int_equal(tl_time_parse("2024-05-01T08:30", 16, &t), 0);
    assert_int_equal(t, INT64_C(1714552200000));
    assert_int_equal(tl_time_parse("881250949", 9, &t), 0);
    assert_int_equal(t, INT64_C(881250949000));
    assert_int_equal(tl_time_parse("1714552215250", 13, &t), 0);
    assert_int_equal(t, INT64_C(1714552215250));
    assert_int_equal(tl_time_parse("1714552215.5", 12, &t), 0);
    assert_int_equal(t, INT64_C(1714552215500));
    assert_int_equal(tl_time_parse("2024-02-29", 10, &t), 0);
    const char *bad[] = {"2023-02-29", "2024-13-01", "2024-04-31", "2024-05-01T24:00",
                         "2024-05-01T08:61", "yesterday", "", "2024/05/01", "12:00",
                         "2024-05-01T08:30:15+25:00", "2024-05-01T08:30:15Zjunk", "1.2.3",
                         "17145522152500000", "2024-05-01T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(tl_time_parse(bad[i], strlen(bad[i]), &t), TL_EBADINPUT);
    char out[32];
    tl_time_format(INT64_C(1714552215000), out);
    assert_string_equal(out, "2024-05-01T08:30:15Z");
    tl_time_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    assert_int_equal(tl_time_days_from_civil(2000, 3, 1), 11017);
}

/* The library's clock is the system's: a fixed "now" is passed in (the
 * store's configuration), never read from the environment. */
static void test_time_now(void **state) {
    (void)state;
    setenv("TAILOR_NOW", "2025-01-02T03:04:05Z", 1);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    int64_t sys = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, now = tl_time_now_ms();
    unsetenv("TAILOR_NOW");
    assert_true(now >= sys && now - sys < 60000);
}

static void test_numbers(void **state) {
    (void)state;
    int64_t i;
    double d;
    assert_int_equal(tl_parse_i64("-42", 3, &i), 0);
    assert_int_equal(i, -42);
    assert_int_equal(tl_parse_i64("+7", 2, &i), 0);
    assert_int_equal(i, 7);
    assert_int_equal(tl_parse_i64("9223372036854775807", 19, &i), 0);
    assert_int_equal(tl_parse_i64("9223372036854775808", 19, &i), TL_ERANGE);
    assert_int_equal(tl_parse_i64("12a", 3, &i), TL_EBADINPUT);
    assert_int_equal(tl_parse_i64("-", 1, &i), TL_EBADINPUT);
    assert_int_equal(tl_parse_i64(" 1", 2, &i), TL_EBADINPUT);
    assert_int_equal(tl_parse_f64("19.90", 5, &d), 0);
    assert_true(d == 19.9);
    assert_int_equal(tl_parse_f64("-0.5", 4, &d), 0);
    assert_true(d == -0.5);
    assert_int_equal(tl_parse_f64("1e3", 3, &d), 0);
    assert_true(d == 1000);
    assert_int_equal(tl_parse_f64(".5", 2, &d), 0);
    assert_true(d == 0.5);
    const char *bad[] = {"nan", "inf", "0x10", "1e", "--3", "1 2", "", ".", "1e999", "abc"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        assert_int_equal(tl_parse_f64(bad[k], strlen(bad[k]), &d), TL_EBADINPUT);
}

static void test_utf8(void **state) {
    (void)state;
    assert_true(tl_utf8_valid("hello", 5));
    assert_true(tl_utf8_valid("上海 Shanghai", strlen("上海 Shanghai")));
    assert_true(tl_utf8_valid("\xF0\x9F\x98\x80", 4)); /* emoji */
    assert_false(tl_utf8_valid("\xff", 1));
    assert_false(tl_utf8_valid("\xC0\xAF", 2));         /* overlong */
    assert_false(tl_utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(tl_utf8_valid("abc\xE4\xB8", 5));      /* truncated */
    assert_false(tl_utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_true(tl_utf8_valid("abcdefghijklmnop\xE4\xB8\x8A", 19));
}

static void test_mask(void **state) {
    (void)state;
    tl_buf_t b;
    tl_buf_init(&b);
    const char *in = "u1,Li Wei,13812341234,li.wei@example.com,110101199003071234,x";
    assert_int_equal(tl_mask_text(in, strlen(in), &b), 0);
    assert_string_equal(b.data, "u1,Li Wei,138****1234,l***@example.com,110***********1234,x");
    tl_buf_clear(&b);
    /* Short numbers stay as they are. */
    assert_int_equal(tl_mask_text("qty 123456 at 12:30", 19, &b), 0);
    assert_string_equal(b.data, "qty 123456 at 12:30");
    tl_buf_fini(&b);
}

static void test_rng(void **state) {
    (void)state;
    tl_rng_t a, b;
    tl_rng_seed(&a, 7);
    tl_rng_seed(&b, 7);
    for (int i = 0; i < 1000; i++) assert_int_equal(tl_rng_next(&a), tl_rng_next(&b));
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = tl_rng_uniform(&a);
        assert_true(u >= 0 && u < 1);
        sum += u;
    }
    assert_true(sum / 100000 > 0.49 && sum / 100000 < 0.51);
    for (int i = 0; i < 1000; i++) assert_true(tl_rng_below(&a, 10) < 10);
}

static void test_buf_json(void **state) {
    (void)state;
    tl_buf_t b;
    tl_buf_init(&b);
    assert_int_equal(tl_buf_json_str(&b, "a\"b\\c\n\x01", 7), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    tl_buf_clear(&b);
    assert_int_equal(tl_buf_csv_str(&b, "plain", 5), 0);
    assert_int_equal(tl_buf_csv_str(&b, ",", 1), 0);
    assert_int_equal(tl_buf_csv_str(&b, "say \"hi\", ok", 12), 0);
    assert_string_equal(b.data, "plain\",\"\"say \"\"hi\"\", ok\"");
    tl_buf_fini(&b);
    assert_string_equal(tl_strerror(TL_ENOSPC), "no space left on device");
    assert_string_equal(tl_err_name(TL_ECORRUPT), "ECORRUPT");
}

static void test_sort_f64(void **state) {
    (void)state;
    enum { N = 5000 };
    static double k[N];
    static uint32_t v[N];
    tl_rng_t r;
    tl_rng_seed(&r, 3);
    for (uint32_t i = 0; i < N; i++) {
        /* negatives, positives, zeros, huge and tiny magnitudes, many ties */
        double x = (double)tl_rng_below(&r, 50) - 25;
        if (i % 7 == 0) x *= 1e300;
        if (i % 11 == 0) x *= 1e-300;
        k[i] = x, v[i] = i;
    }
    double before[N];
    memcpy(before, k, sizeof before);
    assert_int_equal(tl_sort_f64(k, v, N), 0);
    for (uint32_t i = 0; i < N; i++) {
        assert_true(k[i] == before[v[i]]); /* each value kept its payload */
        if (i) {
            assert_true(k[i - 1] <= k[i]);
            if (k[i - 1] == k[i] && memcmp(&k[i - 1], &k[i], sizeof k[i]) == 0)
                assert_true(v[i - 1] < v[i]); /* stable among equals */
        }
    }
    double one = 1.5;
    assert_int_equal(tl_sort_f64(&one, NULL, 1), 0);
    assert_true(one == 1.5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict_intern_find), cmocka_unit_test(test_dict_truncate),
        cmocka_unit_test(test_dict_hashed),      cmocka_unit_test(test_hset),
        cmocka_unit_test(test_time_parse),       cmocka_unit_test(test_time_now),
        cmocka_unit_test(test_numbers),          cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_mask),             cmocka_unit_test(test_rng),
        cmocka_unit_test(test_buf_json),         cmocka_unit_test(test_sort_f64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
