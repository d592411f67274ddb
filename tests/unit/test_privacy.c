/* Unit tests of src/privacy: an erasure records who erased whom in the
 * audit log (every front end's erasure is on the record), erasing again is
 * recorded too, and an id never seen is refused with nothing recorded; a
 * subject access export records its read the same way, lists the reads
 * before it, and hands nothing out when the read cannot be recorded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "privacy/privacy.h"
#include "tmpdir.h"

typedef struct {
    int n;
    char who[16], what[16], target[40];
} seen_t;

static int on_entry(const tl_audit_entry_t *e, void *arg) {
    seen_t *x = arg;
    x->n++;
    snprintf(x->who, sizeof x->who, "%s", e->who);
    snprintf(x->what, sizeof x->what, "%s", e->what);
    snprintf(x->target, sizeof x->target, "%s", e->target);
    return 0;
}

static void test_erase_is_audited(void **state) {
    (void)state;
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    tl_user_t u = {.gender = "f", .birth_year = 1990, .registered_at = INT64_MIN, .email = "a@example.com"};
    assert_int_equal(tl_store_put_user(st, "u1", &u, &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    tl_erase_report_t r;
    seen_t x = {0};
    assert_int_equal(tl_privacy_erase(st, "nobody", NULL, "k1", &r, &eb), TL_ENOENT);
    assert_int_equal(tl_store_audit_scan(st, NULL, on_entry, &x, &eb), 0);
    assert_int_equal(x.n, 0);
    assert_int_equal(tl_privacy_erase(st, "u1", NULL, "k1", &r, &eb), 0);
    assert_int_equal(r.again, 0);
    assert_int_equal(tl_store_audit_scan(st, NULL, on_entry, &x, &eb), 0);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.who, "k1");
    assert_string_equal(x.what, "erase");
    assert_string_equal(x.target, r.pseudonym); /* the user by pseudonym, never by id */
    x.n = 0;
    assert_int_equal(tl_privacy_erase(st, "u1", NULL, "k2", &r, &eb), 0);
    assert_int_equal(r.again, 1);
    assert_int_equal(tl_store_audit_scan(st, NULL, on_entry, &x, &eb), 0);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.who, "k2");
    tl_audit_check_t ck;
    assert_int_equal(tl_audit_verify(st, &ck, &eb), 0);
    assert_int_equal(ck.entries, 2);
    tl_store_close(st);
}

/* The what of each read the export lists, comma-separated. */
static void reads_listed(const cJSON *j, char *out, size_t cap) {
    const cJSON *r;
    out[0] = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "reads_of_this_data")) {
        const cJSON *w = cJSON_GetObjectItem(r, "what"), *who = cJSON_GetObjectItem(r, "who");
        snprintf(out + strlen(out), cap - strlen(out), "%s%s by %s", out[0] ? "," : "",
                 cJSON_GetStringValue(w), cJSON_GetStringValue(who));
    }
}

static void test_export_is_audited(void **state) {
    (void)state;
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_store_begin(st, &eb), 0);
    tl_user_t u = {.gender = "f", .birth_year = 1990, .registered_at = INT64_MIN, .email = "a@example.com"};
    assert_int_equal(tl_store_put_user(st, "u1", &u, &eb), 1);
    assert_int_equal(tl_store_commit(st, &eb), 0);
    cJSON *j = (cJSON *)1;
    seen_t x = {0};
    assert_int_equal(tl_subject_export(st, NULL, "nobody", "k1", &j, &eb), TL_ENOENT);
    assert_null(j);
    assert_int_equal(tl_store_audit_scan(st, NULL, on_entry, &x, &eb), 0);
    assert_int_equal(x.n, 0);

    /* the first export: the personal fields in clear, no read before it */
    char ps[33], reads[256];
    assert_int_equal(tl_store_pseudonym(st, "u1", 2, ps, &eb), 0);
    assert_int_equal(tl_subject_export(st, NULL, "u1", "k1", &j, &eb), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "user")), "u1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "personal"), "email")),
                        "a@example.com");
    reads_listed(j, reads, sizeof reads);
    assert_string_equal(reads, "");
    cJSON_Delete(j);
    assert_int_equal(tl_store_audit_scan(st, NULL, on_entry, &x, &eb), 0);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.who, "k1");
    assert_string_equal(x.what, "export data");
    assert_string_equal(x.target, ps); /* the user by pseudonym, never by id */

    /* the second lists the first */
    assert_int_equal(tl_subject_export(st, NULL, "u1", "k2", &j, &eb), 0);
    reads_listed(j, reads, sizeof reads);
    assert_string_equal(reads, "export data by k1");
    cJSON_Delete(j);
    x.n = 0;
    assert_int_equal(tl_store_audit_scan(st, NULL, on_entry, &x, &eb), 0);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.who, "k2");
    tl_store_close(st);

    /* where the read cannot be recorded (a read-only store), nothing is
     * handed out */
    assert_int_equal(test_store_open(dir, TL_STORE_READONLY, &st, &eb), 0);
    j = (cJSON *)1;
    assert_true(tl_subject_export(st, NULL, "u1", "k3", &j, &eb) < 0);
    assert_null(j);
    x.n = 0;
    assert_int_equal(tl_store_audit_scan(st, NULL, on_entry, &x, &eb), 0);
    assert_int_equal(x.n, 2);
    tl_audit_check_t ck;
    assert_int_equal(tl_audit_verify(st, &ck, &eb), 0);
    assert_int_equal(ck.entries, 2);
    tl_store_close(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_erase_is_audited, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_export_is_audited, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
