/* fuzz_expr.c -- feeds the input, as the text of an expression, to the
 * expression language (src/expr/expr.c): lexing, parsing and type checks by
 * tl_expr_compile, then evaluation of what compiles over every row. The
 * table is the real one of rule segments (segment.c: tl_segtable_new) over
 * the profiles of a small generated world built once per process, with two
 * tags applied (a yes/no one and a category one), so the columns are the
 * profile columns `tailor profile show` prints (numbers, counts, categories
 * with their labels, tag_ columns) and count(type, Nd) reads the event log.
 *
 * Checked beyond "no crash": an error's position lies within the source and
 * its message is set; a condition evaluates to 0 or 1 in every row; the
 * caret message of tl_expr_format_error is produced. tests/fuzz/expr.dict
 * lists the keywords, functions and column names for libFuzzer's -dict. */
#include "fuzz.h"
#include "expr/expr.h"
#include "profile/profile.h"
#include "segment/segment.h"

static tl_store_t *st;
static tl_profiles_t *prof;
static uint8_t *mask;
static double *num;

static void cleanup(void) {
    tl_profile_free(prof);
    tl_store_close(st);
    free(mask);
    free(num);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    st = fuzz_world(80, 40, 20);
    tl_profile_opts_t po;
    tl_profile_opts_default(&po);
    po.threads = 1;
    tl_errbuf_t eb = {{0}};
    fuzz_need(tl_profile_build(st, &po, &prof, &eb), "profile build", &eb);
    tl_segtable_t *table;
    fuzz_need(tl_segtable_new(prof, st, &table), "segment table", NULL);
    int ntags, line;
    tl_expr_err_t err;
    fuzz_need(tl_tags_apply(table, prof,
                            "tag buyer = orders >= 1\n"
                            "tag spend = \"high\" if monetary > 500\n"
                            "tag spend = \"low\" if true\n",
                            NULL, 0, &ntags, &line, &err),
              "tags", NULL);
    tl_segtable_free(table);
    uint32_t n = tl_profile_nusers(prof);
    mask = malloc(n ? n : 1);
    num = malloc((n ? n : 1) * sizeof *num);
    if (!mask || !num) abort();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!prof) LLVMFuzzerInitialize(NULL, NULL);
    /* A table per input: it keeps the columns count() makes until freed. */
    tl_segtable_t *table;
    char *src = malloc(size + 1);
    if (!src || tl_segtable_new(prof, st, &table)) {
        free(src);
        return 0;
    }
    memcpy(src, data, size);
    src[size] = 0;
    size_t len = strlen(src); /* the language ends at a NUL, as a C string does */
    const tl_expr_table_t *t = tl_segtable_expr(table);
    tl_expr_t *e;
    tl_expr_err_t err;
    int rc = tl_expr_compile(src, t, &e, &err);
    if (rc) {
        FUZZ_CHECK(rc == TL_EBADINPUT || rc == TL_ENOMEM);
        FUZZ_CHECK(err.pos >= 0 && (size_t)err.pos <= len);
        FUZZ_CHECK(err.msg[0] != 0);
        char out[1024];
        tl_expr_format_error(src, &err, out, sizeof out);
    } else {
        tl_expr_type_t type = tl_expr_type(e);
        FUZZ_CHECK(type == TL_EXPR_BOOL || type == TL_EXPR_NUM);
        if (type == TL_EXPR_BOOL) {
            FUZZ_CHECK(tl_expr_eval_bool(e, mask) == 0);
            for (uint32_t u = 0; u < t->nrows; u++) FUZZ_CHECK(mask[u] <= 1);
        }
        FUZZ_CHECK(tl_expr_eval_num(e, num) == 0);
        tl_expr_free(e);
    }
    tl_segtable_free(table);
    free(src);
    return 0;
}
