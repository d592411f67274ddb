/* Unit tests of src/rec on hand-made matrices: popularity and EASE top-N
 * (training items left out), and the evaluation metrics against values
 * worked out by hand. */
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

#include "rec/rec.h"

/* Builds a binary CSR from rows of item lists (terminated by -1). */
static void csr(tl_csr_t *m, uint32_t nusers, uint32_t nitems, const int *rows) {
    memset(m, 0, sizeof *m);
    m->nusers = nusers, m->nitems = nitems;
    m->rowptr = calloc(nusers + 1, sizeof *m->rowptr);
    m->col = malloc(256 * sizeof *m->col);
    m->val = malloc(256 * sizeof *m->val);
    uint32_t u = 0;
    for (const int *r = rows; u < nusers; r++) {
        if (*r < 0) {
            m->rowptr[++u] = m->nnz;
            continue;
        }
        m->col[m->nnz] = (uint32_t)*r;
        m->val[m->nnz++] = 1;
    }
}

static void test_popularity_and_metrics(void **state) {
    (void)state;
    /* items 0..4; popularity in training: item 0 by 3 users, 1 by 2, 2 by 1 */
    const int train_rows[] = {0, 1, -1, 0, -1, 0, 1, 2, -1, -1};
    const int test_rows[] = {2, 3, -1, 1, -1, -1, 0, -1};
    tl_csr_t tr, te;
    csr(&tr, 4, 5, train_rows);
    csr(&te, 4, 5, test_rows);
    tl_model_t *m;
    assert_int_equal(tl_rec_train_pop(&tr, &m), 0);
    uint32_t items[3];
    float sc[3];
    /* user 0 saw 0 and 1: next by popularity are 2, then 3 and 4 (ties) */
    assert_int_equal(tl_rec_topn(m, &tr, 0, 3, items, sc), 3);
    assert_int_equal(items[0], 2);
    assert_true(sc[0] == 1.0f);
    /* user 3 saw nothing: 0 first */
    assert_int_equal(tl_rec_topn(m, &tr, 3, 1, items, sc), 1);
    assert_int_equal(items[0], 0);
    tl_eval_t ev;
    assert_int_equal(tl_rec_eval(m, &tr, &te, 2, &ev), 0);
    /* users with test items: 0 (test 2,3), 1 (test 1), 3 (test 0).
     * user 0: list [2, 3 or 4]: hit at rank 1 (item 2), maybe 3 at rank 2
     * -- ties between 3 and 4 keep the lower index first -> [2, 3]: 2 hits
     * user 1 saw 0: list [1, 2]: hit at rank 1
     * user 3: list [0, 1]: hit at rank 1 */
    assert_int_equal(ev.users, 3);
    assert_true(fabs(ev.precision - (2.0 / 2 + 1.0 / 2 + 1.0 / 2) / 3) < 1e-12);
    assert_true(fabs(ev.recall - (1.0 + 1.0 + 1.0) / 3) < 1e-12);
    assert_true(fabs(ev.hit_rate - 1.0) < 1e-12);
    assert_true(fabs(ev.ndcg - 1.0) < 1e-12); /* every hit at the best ranks */
    /* coverage: lists hold items 0, 1, 2, 3 of 5 */
    assert_true(fabs(ev.coverage - 4.0 / 5) < 1e-12);
    tl_model_free(m);
    tl_csr_fini(&tr);
    tl_csr_fini(&te);
}

static void test_ease_learns_pairs(void **state) {
    (void)state;
    /* items come in pairs (0,1), (2,3), (4,5): whoever has one has the other */
    int rows[200], k = 0;
    for (int u = 0; u < 30; u++) {
        int p = u % 3;
        rows[k++] = 2 * p, rows[k++] = 2 * p + 1, rows[k++] = -1;
    }
    tl_csr_t tr;
    csr(&tr, 30, 6, rows);
    /* a new user who has item 2 only */
    tr.nusers = 31;
    tr.rowptr = realloc(tr.rowptr, 32 * sizeof *tr.rowptr);
    tr.col[tr.nnz] = 2, tr.val[tr.nnz++] = 1;
    tr.rowptr[31] = tr.nnz;
    tl_model_t *m;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_rec_train_ease(&tr, 1.0, &m, &eb), 0);
    uint32_t items[1];
    float sc[1];
    assert_int_equal(tl_rec_topn(m, &tr, 30, 1, items, sc), 1);
    assert_int_equal(items[0], 3); /* the partner of item 2 */
    assert_true(sc[0] > 0.5f);
    tl_model_free(m);
    /* implicit ALS finds the same partner */
    tl_ials_opts_t o;
    tl_ials_opts_default(&o);
    o.factors = 8, o.reg = 0.1, o.alpha = 10, o.iterations = 10;
    assert_int_equal(tl_rec_train_ials(&tr, &o, &m, &eb), 0);
    assert_int_equal(tl_model_kind(m), TL_MODEL_IALS);
    assert_int_equal(tl_rec_topn(m, &tr, 30, 1, items, sc), 1);
    assert_int_equal(items[0], 3);
    tl_model_free(m);
    /* item-kNN: an item's nearest neighbour is its partner */
    assert_int_equal(tl_rec_train_knn(&tr, 3, 0, &m, &eb), 0);
    uint32_t nb[3];
    float sim[3];
    assert_int_equal(tl_rec_similar(m, 4, 3, nb, sim), 1); /* only 5 co-occurs with 4 */
    assert_int_equal(nb[0], 5);
    assert_true(fabsf(sim[0] - 1.0f) < 1e-6f); /* identical user sets: cosine 1 */
    assert_int_equal(tl_rec_topn(m, &tr, 30, 1, items, sc), 1);
    assert_int_equal(items[0], 3);
    /* the model survives a save and a load */
    char path[] = "/tmp/tailor-test-model-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(tl_model_save(m, path, &eb), 0);
    tl_model_t *m2;
    assert_int_equal(tl_model_load(path, &m2, &eb), 0);
    assert_int_equal(tl_rec_similar(m2, 4, 3, nb, sim), 1);
    assert_int_equal(nb[0], 5);
    tl_model_free(m2);
    unlink(path);
    tl_model_free(m);
    /* a non-positive lambda on an empty column is refused with a message */
    tl_csr_t empty = tr;
    empty.nitems = 7; /* item 6 never seen: G is singular without lambda */
    assert_int_equal(tl_rec_train_ease(&empty, 0.0, &m, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "lambda"));
    tl_csr_fini(&tr);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_popularity_and_metrics),
        cmocka_unit_test(test_ease_learns_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
