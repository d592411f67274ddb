/* Unit tests of src/rec on hand-made matrices: popularity and EASE top-N
 * (training items left out), the evaluation metrics (accuracy, novelty,
 * diversity, Gini, per group) against values worked out by hand, and
 * serving from a model older than the catalogue; the model registry
 * (names, defaults, options, training and model files through it);
 * models kept in the store by name; the
 * evaluation splits on a generated store against the matrices built
 * straight from the log, and an evaluation end to end against its steps. */
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

#include "gen/gen.h"
#include "ingest/ingest.h"
#include "rec/rec.h"
#include "tmpdir.h"

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
    tl_eval_opts_t eo = {2, NULL, NULL, 0, NULL, NULL};
    assert_int_equal(tl_rec_eval(m, &tr, &te, &eo, &ev), 0);
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
    /* beyond accuracy, with categories A A B B C and users 0, 2 in group 0,
     * user 1 in group 1, user 3 in none. Lists: [2 3], [1 2], [0 1].
     * novelty: -log2((had + 1) / (3 + 1)) per item: 0 -> 0, 1 -> log2(4/3),
     * 2 -> 1, 3 -> 2. Exposure 1 2 2 1 0: Gini 1/3. Diversity: only [1 2]
     * mixes categories. */
    const uint32_t cat[] = {0, 0, 1, 1, 2}, grp[] = {0, 1, 0, TL_NONE};
    eo = (tl_eval_opts_t){2, cat, grp, 2, NULL, NULL};
    assert_int_equal(tl_rec_eval(m, &tr, &te, &eo, &ev), 0);
    double l43 = log2(4.0 / 3);
    assert_true(fabs(ev.novelty - (1.5 + (l43 + 1) / 2 + l43 / 2) / 3) < 1e-12);
    assert_true(fabs(ev.gini - 1.0 / 3) < 1e-12);
    assert_true(fabs(ev.diversity - 1.0 / 3) < 1e-12);
    assert_int_equal(ev.group[0].users, 1);
    assert_true(fabs(ev.group[0].precision - 1.0) < 1e-12);
    assert_int_equal(ev.group[1].users, 1);
    assert_true(fabs(ev.group[1].precision - 0.5) < 1e-12);
    assert_true(fabs(ev.group[1].recall - 1.0) < 1e-12);
    /* pairs the user already had leave the test: user 0 keeps 2, user 1
     * keeps 3, user 3 (no training) keeps 4 */
    const int seen_rows[] = {1, 2, -1, 0, 3, -1, -1, 4, -1};
    tl_csr_t t2;
    csr(&t2, 4, 5, seen_rows);
    tl_csr_drop_seen(&t2, &tr);
    assert_int_equal(t2.nnz, 3);
    assert_int_equal(t2.col[t2.rowptr[0]], 2);
    assert_int_equal(t2.col[t2.rowptr[1]], 3);
    assert_int_equal(t2.rowptr[3], t2.rowptr[2]);
    assert_int_equal(t2.col[t2.rowptr[3]], 4);
    assert_int_equal(t2.rowptr[4], 3);
    tl_csr_fini(&t2);
    /* a user without training gets the popular items from any model:
     * item 2 is the most popular and the last by index */
    const int tr3_rows[] = {2, -1, 1, 2, -1, -1}, te3_rows[] = {-1, -1, 2, -1};
    tl_csr_t tr3, te3;
    tl_model_t *ease;
    tl_errbuf_t eb = {{0}};
    csr(&tr3, 3, 3, tr3_rows);
    csr(&te3, 3, 3, te3_rows);
    assert_int_equal(tl_rec_train_ease(&tr3, 1.0, 0, &ease, &eb), 0);
    eo = (tl_eval_opts_t){1, NULL, NULL, 0, NULL, NULL};
    assert_int_equal(tl_rec_eval(ease, &tr3, &te3, &eo, &ev), 0);
    assert_int_equal(ev.users, 1);
    assert_int_equal(ev.cold, 1);
    assert_true(fabs(ev.hit_rate - 1.0) < 1e-12);
    tl_model_free(ease);
    tl_csr_fini(&tr3);
    tl_csr_fini(&te3);
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
    assert_int_equal(tl_rec_train_ease(&tr, 1.0, 0, &m, &eb), 0);
    uint32_t items[1];
    float sc[1];
    assert_int_equal(tl_rec_topn(m, &tr, 30, 1, items, sc), 1);
    assert_int_equal(items[0], 3); /* the partner of item 2 */
    assert_true(sc[0] > 0.5f);
    /* on the page of item 4 the scene wins: its partner 5 first, explained
     * by item 4, and item 4 itself is not shown; weight 0 is the home list */
    uint32_t page = 4;
    tl_serve_opts_t so = {0};
    so.head_cap = 1, so.context = &page, so.ncontext = 1, so.context_weight = 0.7;
    tl_served_t sv[3];
    assert_int_equal(tl_rec_serve(m, NULL, &tr, 30, 3, &so, sv), 3);
    assert_int_equal(sv[0].item, 5);
    assert_int_equal(sv[0].because, 4);
    assert_true(sv[0].from_context);
    for (int r = 0; r < 3; r++) assert_int_not_equal(sv[r].item, 4);
    so.context_weight = 0;
    assert_int_equal(tl_rec_serve(m, NULL, &tr, 30, 1, &so, sv), 1);
    assert_int_equal(sv[0].item, 3);
    tl_model_free(m);
    /* so does the blend of EASE and iALS, after a save and a load */
    tl_ials_opts_t bo;
    tl_ials_opts_default(&bo);
    bo.factors = 8, bo.reg = 0.1, bo.alpha = 10, bo.iterations = 10;
    tl_model_t *bl, *bl2;
    assert_int_equal(tl_rec_train_blend(&tr, 1.0, 0, &bo, 0.5, &bl, &eb), 0);
    char bpath[] = "/tmp/tailor-test-blend-XXXXXX";
    int bfd = mkstemp(bpath);
    assert_true(bfd >= 0);
    close(bfd);
    assert_int_equal(tl_model_save(bl, bpath, &eb), 0);
    assert_int_equal(tl_model_load(bpath, &bl2, &eb), 0);
    unlink(bpath);
    assert_int_equal(tl_model_kind(bl2), TL_MODEL_BLEND);
    float bsc[1];
    assert_int_equal(tl_rec_topn(bl2, &tr, 30, 1, items, bsc), 1);
    assert_int_equal(items[0], 3);
    assert_true(bsc[0] > 0); /* standardised: the partner stands above the mean */
    tl_model_free(bl);
    tl_model_free(bl2);
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
    assert_int_equal(tl_rec_train_ease(&empty, 0.0, 0, &m, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "lambda"));
    tl_csr_fini(&tr);
}

static void test_segment_popularity(void **state) {
    (void)state;
    /* items 0, 1 in category 0 and 2, 3 in category 1; users 0, 1 and the
     * newcomer 4 in segment 0, users 2, 3 and the newcomer 5 in segment 1,
     * newcomer 6 in none */
    const int rows[] = {0, 1, -1, 0, -1, 2, 3, -1, 3, -1, -1, -1, -1};
    const uint32_t cat[] = {0, 0, 1, 1}, grp[] = {0, 0, 1, 1, 0, 1, TL_NONE};
    tl_csr_t x;
    csr(&x, 7, 4, rows);
    tl_model_t *m;
    assert_int_equal(tl_rec_train_segpop(&x, cat, 2, grp, 2, &m), 0);
    uint32_t it[4];
    float sc[4];
    /* segment 0 took 3 items, all in category 0, item 0 twice; shrunk by 10
     * pseudo-users towards everybody (half in each category, 2/3 of
     * category 0 on item 0): P(c0|g0) = (3 + 5) / 13, P(i0|c0,g0) =
     * (2 + 20/3) / 13, a score of 16/39 */
    assert_int_equal(tl_rec_topn(m, &x, 4, 4, it, sc), 4);
    assert_int_equal(it[0], 0);
    assert_true(fabsf(sc[0] - 16.0f / 39) < 1e-6f);
    assert_int_equal(tl_rec_topn(m, &x, 5, 1, it, sc), 1);
    assert_int_equal(it[0], 3);
    /* no segment: everybody's, where items 0 and 3 tie */
    assert_int_equal(tl_rec_topn(m, &x, 6, 2, it, sc), 2);
    assert_true(fabsf(sc[0] - sc[1]) < 1e-7f && sc[0] > 0);
    assert_int_equal(tl_rec_segpop_group(m, 4), 1);
    assert_int_equal(tl_rec_segpop_group(m, 6), 0);
    /* user 3 took item 3: their own mix leans further to category 1 than
     * the newcomer 5's of the same segment, so item 2 gains on item 0 */
    float s3[4] = {0}, s5[4] = {0};
    uint32_t got = tl_rec_topn(m, &x, 3, 4, it, sc);
    for (uint32_t r = 0; r < got; r++) s3[it[r]] = sc[r];
    got = tl_rec_topn(m, &x, 5, 4, it, sc);
    for (uint32_t r = 0; r < got; r++) s5[it[r]] = sc[r];
    assert_true(s3[0] > 0 && s5[0] > 0 && s3[2] / s3[0] > s5[2] / s5[0] * 1.01f);
    /* the model survives a save and a load */
    char path[] = "/tmp/tailor-test-segpop-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_model_save(m, path, &eb), 0);
    tl_model_t *m2;
    assert_int_equal(tl_model_load(path, &m2, &eb), 0);
    assert_int_equal(tl_model_kind(m2), TL_MODEL_SEGPOP);
    assert_int_equal(tl_rec_topn(m2, &x, 4, 1, it, sc), 1);
    assert_int_equal(it[0], 0);
    assert_true(fabsf(sc[0] - 16.0f / 39) < 1e-6f);
    tl_model_free(m2);
    unlink(path);
    tl_model_free(m);
    tl_csr_fini(&x);
}

/* A model older than the catalogue: trained on 4 items, served over 404
 * (the store's matrix now). Items it never saw are left out of a warm
 * user's list (no content to score them by), a user whose history is all
 * newer than the model, or who is new, gets the cold start over the whole
 * catalogue, and no array is read or written past its end. */
static void test_model_older_than_catalogue(void **state) {
    (void)state;
    const int old_rows[] = {0, 1, -1, 0, 1, -1, 2, 3, -1, 2, 3, -1, 0, -1, 2, -1};
    tl_csr_t tr;
    csr(&tr, 6, 4, old_rows);
    /* now: user 0 also had new item 100; users 6 (new items only), 7 (none)
     * and 8 (new items only) are newer than the model */
    const int now_rows[] = {0, 1, 100, -1, 0, 1, -1, 2, 3, -1, 2, 3, -1, 0, -1, 2, -1,
                            10, 11, -1, -1, 11, 12, 300, -1};
    tl_csr_t x;
    csr(&x, 9, 404, now_rows);
    tl_model_t *models[6], *live;
    tl_errbuf_t eb = {{0}};
    tl_ials_opts_t io;
    tl_ials_opts_default(&io);
    io.factors = 2, io.iterations = 3;
    assert_int_equal(tl_rec_train_pop(&tr, &models[0]), 0);
    assert_int_equal(tl_rec_train_segpop(&tr, NULL, 0, NULL, 0, &models[1]), 0);
    assert_int_equal(tl_rec_train_ease(&tr, 1.0, 0, &models[2], &eb), 0);
    assert_int_equal(tl_rec_train_ials(&tr, &io, &models[3], &eb), 0);
    assert_int_equal(tl_rec_train_knn(&tr, 3, 1.0, &models[4], &eb), 0);
    assert_int_equal(tl_rec_train_blend(&tr, 1.0, 0, &io, 0.5, &models[5], &eb), 0);
    assert_int_equal(tl_rec_train_segpop(&x, NULL, 0, NULL, 0, &live), 0);
    float penalty[404] = {0};
    uint8_t excluded[404] = {0};
    uint32_t page = 300; /* a scene item newer than the model */
    excluded[12] = 1;
    tl_serve_opts_t so = {0};
    so.head_share = 0.1, so.head_cap = 1, so.tail_boost = 0.5;
    so.item_penalty = penalty, so.exclude_item = excluded;
    const uint32_t users[] = {0, 6, 7, 8, TL_REC_ANONYMOUS};
    for (int k = 0; k < 6; k++) {
        int popular = k < 2;
        for (int q = 0; q < 5; q++) {
            for (int scene = 0; scene < 2; scene++) {
                so.context = scene ? &page : NULL, so.ncontext = scene, so.context_weight = 0.7;
                tl_served_t sv[10];
                uint32_t got = tl_rec_serve(models[k], live, &x, users[q], 10, &so, sv);
                uint8_t shown[404] = {0};
                for (uint32_t r = 0; r < got; r++) {
                    assert_true(sv[r].item < 404);
                    assert_false(shown[sv[r].item]);
                    assert_int_not_equal(sv[r].item, 12);
                    shown[sv[r].item] = 1;
                }
                if (users[q] == 0 && !popular) {
                    /* warm and known: the model's own items only (2 and 3) */
                    assert_int_equal(got, 2);
                    assert_false(sv[0].cold);
                    assert_true(sv[0].item == 2 || sv[0].item == 3);
                } else if (!popular) {
                    /* nothing the model learnt: the cold start, whose live
                     * popularity knows the new items */
                    assert_int_equal(got, 10);
                    assert_true(sv[0].cold);
                    int fresh = 0;
                    for (uint32_t r = 0; r < got; r++) fresh |= sv[r].item >= 4;
                    assert_true(fresh);
                } else {
                    /* an old popularity model: its items only */
                    assert_true(got >= 1 && got <= 4);
                    for (uint32_t r = 0; r < got; r++) assert_true(sv[r].item < 4);
                }
            }
        }
        /* top-N on the grown matrix reads only what the model has */
        uint32_t it[3];
        float sc[3];
        assert_true(tl_rec_topn(models[k], &x, 0, 3, it, sc) <= 3);
        tl_model_free(models[k]);
    }
    /* erased from iALS: served as one it never saw */
    assert_int_equal(tl_rec_train_ials(&tr, &io, &models[3], &eb), 0);
    assert_int_equal(tl_model_erase_user(models[3], 0), 1);
    tl_served_t sv[3];
    assert_int_equal(tl_rec_serve(models[3], live, &x, 0, 3, &so, sv), 3);
    assert_true(sv[0].cold);
    tl_model_free(models[3]);
    tl_model_free(live);
    tl_csr_fini(&x);
    tl_csr_fini(&tr);
}

/* The registry: every family by name and by kind, an unknown name, the
 * names for help text, the default models, the options' defaults and
 * ranges. */
static void test_registry(void **state) {
    (void)state;
    static const char *const names[] = {"pop", "segpop", "ease", "ials", "knn", "blend"};
    static const tl_model_kind_t kinds[] = {TL_MODEL_POP, TL_MODEL_SEGPOP, TL_MODEL_EASE,
                                            TL_MODEL_IALS, TL_MODEL_KNN, TL_MODEL_BLEND};
    for (uint32_t i = 0; i < 6; i++) {
        const tl_model_info_t *mi = tl_model_lookup(names[i]);
        assert_non_null(mi);
        assert_int_equal(mi->kind, kinds[i]);
        assert_ptr_equal(tl_model_info(kinds[i]), mi);
        assert_ptr_equal(tl_model_at(i), mi);
        assert_int_equal(mi->needs_side, kinds[i] == TL_MODEL_SEGPOP);
        assert_int_equal(mi->item_neighbours, kinds[i] == TL_MODEL_KNN);
    }
    assert_null(tl_model_at(6));
    assert_null(tl_model_lookup("EASE"));
    assert_null(tl_model_lookup("svd"));
    assert_null(tl_model_lookup(""));
    assert_null(tl_model_lookup(NULL));
    char buf[128];
    tl_model_names(buf, sizeof buf);
    assert_string_equal(buf, "pop, segpop, ease, ials, knn or blend");
    tl_model_names(buf, 8); /* cut short, still a string */
    assert_string_equal(buf, "pop, se");
    assert_string_equal(tl_model_default(TL_MODEL_FOR_TRAIN), "ials");
    assert_string_equal(tl_model_default(TL_MODEL_FOR_SERVE), "ials");
    assert_string_equal(tl_model_default(TL_MODEL_FOR_EVAL), "ease");
    assert_string_equal(tl_model_default(TL_MODEL_FOR_SIMILAR), "knn");
    for (uint32_t u = 0; u < 4; u++) assert_non_null(tl_model_lookup(tl_model_default((tl_model_use_t)u)));

    tl_model_params_t p;
    tl_model_params_default(&p);
    tl_ials_opts_t io;
    tl_ials_opts_default(&io);
    assert_true(isnan(p.lambda) && p.dropout == 0 && p.blend == 0.5 && p.shrink == 10);
    assert_int_equal(p.neighbours, 100);
    assert_int_equal(p.ials.factors, io.factors);
    assert_int_equal(p.ials.iterations, io.iterations);
    assert_int_equal(p.ials.cg_steps, io.cg_steps);
    assert_true(isnan(p.ials.alpha) && p.ials.reg == io.reg && p.ials.seed == io.seed);
    /* from the data: 4 items, strengths 1, 3, 2, 2 (squares 1 + 9 + 4 + 4 = 18, mean 2) */
    uint64_t rowptr[] = {0, 2, 4};
    uint32_t col[] = {0, 1, 1, 3};
    float val[] = {1, 3, 2, 2};
    tl_csr_t x = {2, 4, 4, rowptr, col, val};
    tl_model_params_t r = p;
    tl_model_params_resolve(&r, &x);
    assert_true(fabs(r.lambda - 58.0 * sqrt(18.0 / 4)) < 1e-9 && fabs(r.ials.alpha - 5.0 / 2) < 1e-12);
    r.lambda = 7, r.ials.alpha = 3; /* given: kept */
    tl_model_params_resolve(&r, &x);
    assert_true(r.lambda == 7 && r.ials.alpha == 3);
    uint32_t n = 0;
    for (const tl_model_param_t *d; (d = tl_model_param_at(n)); n++) {
        assert_ptr_equal(tl_model_param_lookup(d->name), d);
        assert_true(isnan(d->dflt) || (d->min <= d->dflt && d->dflt <= d->max));
    }
    assert_int_equal(n, 9);
    assert_int_equal(tl_model_params_set(&p, "lambda", 200), 0);
    assert_true(p.lambda == 200);
    assert_int_equal(tl_model_params_set(&p, "factors", 8), 0);
    assert_int_equal(p.ials.factors, 8);
    assert_int_equal(tl_model_params_set(&p, "neighbours", 7), 0);
    assert_int_equal(p.neighbours, 7);
    assert_int_equal(tl_model_params_set(&p, "dropout", 0.995), TL_EINVAL);
    assert_int_equal(tl_model_params_set(&p, "blend", -0.1), TL_EINVAL);
    assert_int_equal(tl_model_params_set(&p, "factors", 1025), TL_EINVAL);
    assert_int_equal(tl_model_params_set(&p, "lambda", NAN), TL_EINVAL);
    assert_int_equal(tl_model_params_set(&p, "rank", 3), TL_EINVAL);
    assert_true(p.dropout == 0 && p.blend == 0.5 && p.lambda == 200);
    assert_int_equal(p.ials.factors, 8);
}

/* Every family trained through the registry scores as its own trainer
 * does, and its model file loads back as the same model. */
static void test_registry_trains_and_files(void **state) {
    (void)state;
    const int rows[] = {0, 1, -1, 0, 1, 2, -1, 2, 3, -1, 1, 3, -1, 0, 3, -1, 2, -1};
    tl_csr_t x;
    csr(&x, 6, 4, rows);
    tl_model_params_t p;
    tl_model_params_default(&p);
    p.lambda = 1, p.ials.factors = 2, p.ials.iterations = 3, p.neighbours = 3;
    tl_model_params_t q = p; /* as trained: alpha from the data */
    tl_model_params_resolve(&q, &x);
    const uint32_t cats[] = {0, 0, 1, 1}, groups[] = {0, 1, 0, 1, TL_NONE, 0};
    tl_rec_side_t side = {{(uint32_t *)groups, 6, 2, {"a", "b"}}, (uint32_t *)cats, NULL};
    tl_errbuf_t eb = {{0}};
    char path[300];
    snprintf(path, sizeof path, "%s/m.tlm", dir);
    const tl_model_info_t *mi;
    for (uint32_t i = 0; (mi = tl_model_at(i)); i++) {
        tl_model_t *m = NULL, *ref = NULL, *back = NULL;
        assert_int_equal(tl_model_train(mi, &x, &p, &side, &m, &eb), 0);
        assert_int_equal(tl_model_kind(m), mi->kind);
        switch (mi->kind) {
        case TL_MODEL_POP: assert_int_equal(tl_rec_train_pop(&x, &ref), 0); break;
        case TL_MODEL_SEGPOP:
            assert_int_equal(tl_rec_train_segpop(&x, cats, 0, groups, 2, &ref), 0);
            break;
        case TL_MODEL_EASE: assert_int_equal(tl_rec_train_ease(&x, 1, 0, &ref, &eb), 0); break;
        case TL_MODEL_IALS: assert_int_equal(tl_rec_train_ials(&x, &q.ials, &ref, &eb), 0); break;
        case TL_MODEL_KNN: assert_int_equal(tl_rec_train_knn(&x, 3, 10, &ref, &eb), 0); break;
        case TL_MODEL_BLEND:
            assert_int_equal(tl_rec_train_blend(&x, 1, 0, &q.ials, 0.5, &ref, &eb), 0);
            break;
        }
        assert_int_equal(tl_model_save(m, path, &eb), 0);
        assert_int_equal(tl_model_load(path, &back, &eb), 0);
        assert_int_equal(tl_model_kind(back), mi->kind);
        for (uint32_t u = 0; u < 6; u++) {
            uint32_t a[4], b[4], c[4];
            float sa[4], sb[4], sc[4];
            uint32_t na = tl_rec_topn(m, &x, u, 4, a, sa), nb = tl_rec_topn(back, &x, u, 4, b, sb);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na * sizeof *a);
            assert_memory_equal(sa, sb, na * sizeof *sa);
            assert_int_equal(tl_rec_topn(ref, &x, u, 4, c, sc), na);
            assert_memory_equal(a, c, na * sizeof *a);
            assert_memory_equal(sa, sc, na * sizeof *sa);
        }
        tl_model_free(m), tl_model_free(ref), tl_model_free(back);
    }
    tl_csr_fini(&x);
}

static int list_name(const char *name, void *arg) {
    char *out = arg;
    strcat(out, name);
    strcat(out, ";");
    return 0;
}

/* Models kept in the store: saved and loaded by name through the blobs,
 * listed by name, the same bytes as a model file; a missing model says to
 * train one, a bad name and damaged bytes are refused. */
static void test_models_in_the_store(void **state) {
    (void)state;
    const int rows[] = {0, 1, -1, 0, 1, 2, -1, 2, 3, -1, 1, 3, -1};
    tl_csr_t x;
    csr(&x, 4, 4, rows);
    tl_errbuf_t eb = {{0}};
    char data[300], path[400];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_store_t *st;
    assert_int_equal(tl_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_model_t *m, *back = NULL;
    assert_int_equal(tl_rec_train_ease(&x, 1, 0, &m, &eb), 0);
    assert_int_equal(tl_rec_model_load(st, "ease", &back, &eb), TL_ENOENT);
    assert_null(back);
    assert_non_null(strstr(eb.msg, "tailor train"));
    eb.msg[0] = 0;
    assert_int_equal(tl_rec_model_save(st, "ease", m, &eb), 0);
    assert_int_equal(tl_rec_model_save(st, "b-2", m, &eb), 0);
    assert_int_equal(tl_rec_model_save(st, "a/b", m, &eb), TL_EINVAL);
    char names[64] = "";
    assert_int_equal(tl_rec_model_list(st, list_name, names, &eb), 0);
    assert_string_equal(names, "b-2;ease;");
    assert_int_equal(tl_rec_model_load(st, "ease", &back, &eb), 0);
    for (uint32_t u = 0; u < 4; u++) {
        uint32_t a[4], b[4];
        float sa[4], sb[4];
        uint32_t na = tl_rec_topn(m, &x, u, 4, a, sa);
        assert_int_equal(tl_rec_topn(back, &x, u, 4, b, sb), na);
        assert_memory_equal(a, b, na * sizeof *a);
        assert_memory_equal(sa, sb, na * sizeof *sa);
    }
    tl_model_free(back);
    /* the blob holds a model file's bytes */
    snprintf(path, sizeof path, "%s/m.tlm", dir);
    assert_int_equal(tl_model_save(m, path, &eb), 0);
    char *want;
    size_t nwant;
    tl_buf_t got;
    tl_buf_init(&got);
    assert_int_equal(tl_read_file(path, &want, &nwant), 0);
    assert_int_equal(tl_store_blob_get(st, "models/ease", &got, &eb), 0);
    assert_int_equal(got.len, nwant);
    assert_memory_equal(got.data, want, nwant);
    /* damaged bytes are refused, and nothing is returned */
    got.data[got.len / 2] ^= 1;
    assert_int_equal(tl_store_blob_put(st, "models/bad", got.data, got.len, &eb), 0);
    back = NULL;
    assert_int_equal(tl_rec_model_load(st, "bad", &back, &eb), TL_ECORRUPT);
    assert_null(back);
    assert_non_null(strstr(eb.msg, "damaged"));
    free(want), tl_buf_fini(&got);
    tl_model_free(m);
    tl_store_close(st);
    tl_csr_fini(&x);
}

/* A generated store of users x 30 days. */
static tl_store_t *world(uint32_t users) {
    char out[300], data[300];
    snprintf(out, sizeof out, "%s/world", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    tl_gen_opts_t g;
    tl_gen_opts_default(&g);
    g.users = users, g.items = 300, g.days = 30, g.seed = 5;
    tl_gen_stats_t gs;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_gen_run(&g, out, &gs, &eb), 0);
    tl_store_t *st;
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    static const char *const names[] = {"users.csv", "items.csv", "events.csv"};
    char paths[3][400];
    tl_source_t files[3];
    for (int i = 0; i < 3; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", out, names[i]);
        files[i] = tl_source_file(paths[i]);
    }
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s = {0};
    assert_int_equal(tl_import(st, files, 3, &o, &s, NULL, NULL, &eb), 0);
    return st;
}

static void assert_csr_equal(const tl_csr_t *a, const tl_csr_t *b) {
    assert_int_equal(a->nusers, b->nusers);
    assert_int_equal(a->nitems, b->nitems);
    assert_int_equal(a->nnz, b->nnz);
    assert_memory_equal(a->rowptr, b->rowptr, ((size_t)a->nusers + 1) * sizeof *a->rowptr);
    assert_memory_equal(a->col, b->col, a->nnz * sizeof *a->col);
    assert_memory_equal(a->val, b->val, a->nnz * sizeof *a->val); /* bit for bit */
}

/* Leave-last-out read straight from the log, the reference the split in
 * memory is held to: the whole matrix, and each user's latest interacted
 * item (by time, then the larger item) from a scan of the events, kept
 * as tl_rec_matrix keeps them; that item goes to test when the user's row
 * has two items or more. */
typedef struct {
    const tl_interact_opts_t *o;
    uint32_t nusers, nitems;
    int64_t *ts;
    uint32_t *item;
} last_scan_t;

static int last_block(const tl_evblock_t *b, void *arg) {
    last_scan_t *c = arg;
    for (uint32_t k = 0; k < b->n; k++) {
        uint32_t u = b->user[k], i = b->item[k];
        int64_t ts = b->ts[k];
        if (i == TL_NONE || u >= c->nusers || i >= c->nitems || c->o->weight[b->type[k]] <= 0) continue;
        if (b->type[k] == TL_EV_RATE && !isnan(c->o->min_rating) && !(b->rating[k] >= c->o->min_rating))
            continue;
        if (c->o->ts_to && (ts < c->o->ts_from || ts >= c->o->ts_to)) continue;
        if (ts > c->ts[u] || (ts == c->ts[u] && i > c->item[u])) c->ts[u] = ts, c->item[u] = i;
    }
    return 0;
}

static void matrix_last(tl_store_t *st, const tl_interact_opts_t *o, tl_csr_t *train, tl_csr_t *test) {
    tl_errbuf_t eb = {{0}};
    tl_csr_t all;
    assert_int_equal(tl_rec_matrix(st, 0, UINT64_MAX, o, &all, &eb), 0);
    last_scan_t c = {o, all.nusers, all.nitems, malloc((all.nusers + 1) * sizeof(int64_t)),
                     malloc((all.nusers + 1) * sizeof(uint32_t))};
    assert_non_null(c.ts);
    assert_non_null(c.item);
    for (uint32_t u = 0; u < all.nusers; u++) c.ts[u] = INT64_MIN, c.item[u] = TL_NONE;
    assert_int_equal(tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TYPE | TL_EVC_RATING | TL_EVC_TS,
                                           last_block, &c, &eb),
                     0);
    tl_csr_t *m[2] = {train, test};
    for (int k = 0; k < 2; k++) {
        memset(m[k], 0, sizeof *m[k]);
        m[k]->nusers = all.nusers, m[k]->nitems = all.nitems;
        m[k]->rowptr = calloc(all.nusers + 1, sizeof *m[k]->rowptr);
        m[k]->col = malloc((all.nnz + 1) * sizeof *m[k]->col);
        m[k]->val = malloc((all.nnz + 1) * sizeof *m[k]->val);
        assert_true(m[k]->rowptr && m[k]->col && m[k]->val);
    }
    for (uint32_t u = 0; u < all.nusers; u++) {
        int split = all.rowptr[u + 1] - all.rowptr[u] >= 2 && c.item[u] != TL_NONE;
        for (uint64_t q = all.rowptr[u]; q < all.rowptr[u + 1]; q++) {
            tl_csr_t *to = split && all.col[q] == c.item[u] ? test : train;
            to->col[to->nnz] = all.col[q], to->val[to->nnz++] = all.val[q];
        }
        train->rowptr[u + 1] = train->nnz, test->rowptr[u + 1] = test->nnz;
    }
    free(c.ts), free(c.item);
    tl_csr_fini(&all);
}

/* The splits from the interactions in memory give the train and test
 * matrices the store-reading path gives: by time (the last 7 days, decayed
 * towards the cut) and leave-last-out (decayed towards the latest event),
 * with plain weights and with a half-life. */
static void test_splits_match_the_log(void **state) {
    (void)state;
    tl_store_t *st = world(300);
    tl_errbuf_t eb = {{0}};
    tl_store_evstats_t es = {0};
    assert_int_equal(tl_store_event_stats(st, &es, &eb), 0);
    int64_t latest = es.max_ts;
    tl_store_evstats_fini(&es);
    for (int decay = 0; decay < 2; decay++) {
        tl_interact_opts_t ix;
        tl_interact_opts_default(&ix);
        ix.half_life = decay ? 3 * 86400000.0 : 0;
        tl_interactions_t *in;
        assert_int_equal(tl_rec_interactions_load(st, &ix, &in, &eb), 0);
        assert_true(tl_rec_interactions_latest(in) == latest);

        /* by time, as eval reads it from the store */
        tl_interact_opts_t o = ix;
        int64_t cut = latest - 7 * (int64_t)86400000 + 1, got_cut;
        o.ts_from = INT64_MIN, o.ts_to = cut, o.decay_to = cut;
        tl_csr_t tr, te, tr2, te2;
        assert_int_equal(tl_rec_matrix(st, 0, UINT64_MAX, &o, &tr, &eb), 0);
        o.ts_from = cut, o.ts_to = INT64_MAX;
        assert_int_equal(tl_rec_matrix(st, 0, UINT64_MAX, &o, &te, &eb), 0);
        tl_split_opts_t so = {TL_SPLIT_TIME, 7};
        assert_int_equal(tl_rec_split(in, &so, &tr2, &te2, &got_cut), 0);
        assert_true(got_cut == cut);
        assert_true(tr.nnz > 0 && te.nnz > 0);
        assert_csr_equal(&tr, &tr2);
        assert_csr_equal(&te, &te2);
        tl_csr_fini(&tr), tl_csr_fini(&te), tl_csr_fini(&tr2), tl_csr_fini(&te2);

        /* leave-last-out */
        o = ix;
        o.decay_to = latest;
        matrix_last(st, &o, &tr, &te);
        so.kind = TL_SPLIT_LAST;
        assert_int_equal(tl_rec_split(in, &so, &tr2, &te2, &got_cut), 0);
        assert_true(got_cut == 0);
        assert_true(tr.nnz > 0 && te.nnz > 0);
        assert_csr_equal(&tr, &tr2);
        assert_csr_equal(&te, &te2);
        /* one test item per user with two items or more, none in train */
        for (uint32_t u = 0; u < te2.nusers; u++) {
            uint64_t n = te2.rowptr[u + 1] - te2.rowptr[u], ntr = tr2.rowptr[u + 1] - tr2.rowptr[u];
            assert_true(n <= 1);
            assert_true(n == 0 || ntr >= 1);
            for (uint64_t q = tr2.rowptr[u]; n && q < tr2.rowptr[u + 1]; q++)
                assert_int_not_equal(tr2.col[q], te2.col[te2.rowptr[u]]);
        }
        tl_csr_fini(&tr), tl_csr_fini(&te), tl_csr_fini(&tr2), tl_csr_fini(&te2);
        tl_rec_interactions_free(in);
    }
    tl_store_close(st);
}

/* An evaluation end to end gives what its steps give by hand: the split
 * in memory (by time) or at an event of the log, the seen items dropped,
 * each run of a grid trained through the registry and evaluated, the best
 * by NDCG. */
static void test_evaluate_end_to_end(void **state) {
    (void)state;
    tl_store_t *st = world(300);
    tl_errbuf_t eb = {{0}};
    tl_model_params_t p[2];
    tl_model_params_default(&p[0]);
    p[1] = p[0];
    p[0].neighbours = 5, p[1].neighbours = 50;
    tl_rec_evaluate_opts_t o = {.model = tl_model_lookup("knn"), .params = p, .nruns = 2,
                                .split = {TL_SPLIT_TIME, 7}, .k = 10, .by = -1};
    tl_interact_opts_default(&o.ix);
    tl_store_evstats_t es = {0};
    assert_int_equal(tl_store_event_stats(st, &es, &eb), 0);
    int64_t latest = es.max_ts; /* what ages are reckoned from */
    tl_store_evstats_fini(&es);
    for (int mode = 0; mode < 2; mode++) {
        o.train_events = mode ? tl_store_event_count(st) / 2 : 0;
        tl_rec_evaluation_t ev;
        assert_int_equal(tl_rec_evaluate(st, &o, &ev, &eb), 0);
        /* by hand */
        tl_csr_t tr, te;
        int64_t cut = 0;
        if (mode) {
            tl_interact_opts_t ix = o.ix;
            ix.decay_to = latest;
            assert_int_equal(tl_rec_matrix(st, 0, o.train_events, &ix, &tr, &eb), 0);
            assert_int_equal(tl_rec_matrix(st, o.train_events, UINT64_MAX, &ix, &te, &eb), 0);
        } else {
            tl_interactions_t *in;
            assert_int_equal(tl_rec_interactions_load(st, &o.ix, &in, &eb), 0);
            assert_int_equal(tl_rec_split(in, &o.split, &tr, &te, &cut), 0);
            tl_rec_interactions_free(in);
        }
        tl_csr_drop_seen(&te, &tr);
        assert_true(ev.cut == cut);
        assert_true(ev.train_nnz == tr.nnz && ev.test_nnz == te.nnz && te.nnz > 0);
        uint32_t *cats;
        tl_dict_t *catnames;
        tl_rec_side_t side;
        tl_model_t *cold;
        assert_int_equal(tl_rec_item_categories(st, tr.nitems, 0, &cats, &catnames, &eb), 0);
        assert_int_equal(tl_rec_side_load(st, tr.nusers, tr.nitems, latest, &side, &eb), 0);
        assert_int_equal(tl_rec_train_segpop(&tr, side.cats, tl_dict_count(side.catnames),
                                             side.groups.group, side.groups.ngroups, &cold), 0);
        tl_eval_opts_t eo = {10, cats, NULL, 0, cold, NULL};
        double best = -1;
        uint32_t ibest = 0;
        for (uint32_t r = 0; r < 2; r++) {
            tl_model_t *m;
            tl_eval_t want;
            memset(&want, 0, sizeof want); /* padding compared too */
            assert_int_equal(tl_rec_train_knn(&tr, p[r].neighbours, p[r].shrink, &m, &eb), 0);
            assert_int_equal(tl_rec_eval(m, &tr, &te, &eo, &want), 0);
            assert_memory_equal(&ev.runs[r].ev, &want, sizeof want);
            if (want.ndcg > best) best = want.ndcg, ibest = r;
            tl_model_free(m);
        }
        assert_int_equal(ev.best, ibest);
        tl_model_free(cold);
        tl_rec_side_fini(&side);
        free(cats);
        tl_dict_free(catnames);
        tl_csr_fini(&tr), tl_csr_fini(&te);
        tl_rec_evaluation_fini(&ev);
    }
    tl_store_close(st);
}

/* Runs chosen on a validation part of the training: a time split's
 * validation is the training's last days, each run trained before them and
 * measured on them (equal to those steps by hand), the best by NDCG there
 * trained on the whole training and alone measured on the test;
 * leave-last-out and a pair of files hold out of each user's training
 * items, every training pair in exactly one part. */
static void test_evaluate_on_validation(void **state) {
    (void)state;
    tl_store_t *st = world(300);
    tl_errbuf_t eb = {{0}};
    tl_model_params_t p[3];
    tl_model_params_default(&p[0]);
    p[1] = p[2] = p[0];
    p[0].neighbours = 2, p[1].neighbours = 20, p[2].neighbours = 200;
    tl_rec_evaluate_opts_t o = {.model = tl_model_lookup("knn"), .params = p, .nruns = 3,
                                .split = {TL_SPLIT_TIME, 7}, .k = 10, .by = -1,
                                .select = TL_SELECT_VALIDATION};
    tl_interact_opts_default(&o.ix);
    tl_store_evstats_t es = {0};
    assert_int_equal(tl_store_event_stats(st, &es, &eb), 0);
    int64_t latest = es.max_ts;
    tl_store_evstats_fini(&es);
    tl_rec_evaluation_t ev;
    assert_int_equal(tl_rec_evaluate(st, &o, &ev, &eb), 0);
    /* by hand */
    tl_interactions_t *in;
    tl_csr_t tr, te, fit, valid;
    int64_t cut;
    assert_int_equal(tl_rec_interactions_load(st, &o.ix, &in, &eb), 0);
    assert_int_equal(tl_rec_split(in, &o.split, &tr, &te, &cut), 0);
    tl_rec_interactions_free(in);
    tl_csr_drop_seen(&te, &tr);
    int64_t vcut = cut - 7 * 86400000LL;
    tl_interact_opts_t ix = o.ix;
    ix.ts_from = INT64_MIN, ix.ts_to = vcut, ix.decay_to = vcut;
    assert_int_equal(tl_rec_matrix(st, 0, UINT64_MAX, &ix, &fit, &eb), 0);
    ix.ts_from = vcut, ix.ts_to = cut;
    assert_int_equal(tl_rec_matrix(st, 0, UINT64_MAX, &ix, &valid, &eb), 0);
    tl_csr_drop_seen(&valid, &fit);
    assert_true(ev.valid_from == vcut && ev.cut == cut);
    assert_true(ev.fit_nnz == fit.nnz && ev.valid_nnz == valid.nnz && valid.nnz > 0);
    assert_true(ev.train_nnz == tr.nnz && ev.test_nnz == te.nnz);
    uint32_t *cats;
    tl_dict_t *catnames;
    tl_rec_side_t side;
    assert_int_equal(tl_rec_item_categories(st, tr.nitems, 0, &cats, &catnames, &eb), 0);
    assert_int_equal(tl_rec_side_load(st, tr.nusers, tr.nitems, latest, &side, &eb), 0);
    const tl_csr_t *parts[2][2] = {{&fit, &valid}, {&tr, &te}};
    double best = -1;
    uint32_t ibest = 0;
    for (int part = 0; part < 2; part++) {
        tl_model_t *cold;
        assert_int_equal(tl_rec_train_segpop(parts[part][0], side.cats, tl_dict_count(side.catnames),
                                             side.groups.group, side.groups.ngroups, &cold), 0);
        tl_eval_opts_t eo = {10, cats, NULL, 0, cold, NULL};
        for (uint32_t r = 0; r < 3; r++) {
            if (part == 1 && r != ibest) {
                assert_false(ev.runs[r].tested); /* the test is met once */
                continue;
            }
            tl_model_t *m;
            tl_eval_t want;
            memset(&want, 0, sizeof want);
            assert_int_equal(tl_rec_train_knn(parts[part][0], p[r].neighbours, p[r].shrink, &m, &eb), 0);
            assert_int_equal(tl_rec_eval(m, parts[part][0], parts[part][1], &eo, &want), 0);
            assert_memory_equal(part ? &ev.runs[r].ev : &ev.runs[r].valid, &want, sizeof want);
            if (!part && want.ndcg > best) best = want.ndcg, ibest = r;
            tl_model_free(m);
        }
        tl_model_free(cold);
    }
    assert_int_equal(ev.best, ibest);
    assert_true(ev.runs[ibest].tested);
    tl_rec_evaluation_fini(&ev);
    tl_csr_fini(&tr), tl_csr_fini(&te), tl_csr_fini(&fit), tl_csr_fini(&valid);
    tl_rec_side_fini(&side);
    free(cats);
    tl_dict_free(catnames);
    /* leave-last-out: at most a pair per user validates; files: about the share */
    for (int mode = 0; mode < 2; mode++) {
        o.split.kind = TL_SPLIT_LAST;
        o.train_events = mode ? tl_store_event_count(st) / 2 : 0;
        assert_int_equal(tl_rec_evaluate(st, &o, &ev, &eb), 0);
        assert_true(ev.fit_nnz + ev.valid_nnz == ev.train_nnz && ev.valid_nnz > 0 && !ev.valid_from);
        if (!mode) assert_true(ev.valid_nnz <= 300);
        else assert_true(ev.valid_nnz > ev.train_nnz / 10 && ev.valid_nnz < ev.train_nnz / 3);
        assert_int_equal(ev.runs[0].tested + ev.runs[1].tested + ev.runs[2].tested, 1);
        tl_rec_evaluation_fini(&ev);
    }
    tl_store_close(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_popularity_and_metrics),
        cmocka_unit_test(test_ease_learns_pairs),
        cmocka_unit_test(test_segment_popularity),
        cmocka_unit_test(test_model_older_than_catalogue),
        cmocka_unit_test(test_registry),
        cmocka_unit_test_setup_teardown(test_registry_trains_and_files, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_models_in_the_store, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_splits_match_the_log, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_evaluate_end_to_end, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_evaluate_on_validation, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
