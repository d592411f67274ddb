/* ease.c -- EASE (Steck 2019): a closed-form item-item model. Training
 * inverts the regularised Gram matrix by LAPACK's Cholesky; the model
 * keeps a dense items x items matrix B, and scoring a user adds the rows
 * of B of the items in the user's training row, so a top-N costs
 * |row| x items operations and no allocation beyond one score vector. */
#include "rec_int.h"

#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

int tl_rec_train_ease(const tl_csr_t *x, double lambda, double dropout, tl_model_t **out,
                      tl_errbuf_t *eb) {
    uint32_t n = x->nitems;
    if (n == 0 || n > 40000) {
        tl_errbuf_set(eb, "EASE needs 1 to 40,000 items (this catalogue has %u)", n);
        return TL_EINVAL;
    }
    double *g = calloc((size_t)n * n, sizeof *g);
    tl_model_t *m = calloc(1, sizeof *m);
    if (!g || !m || !(m->b = malloc((size_t)n * n * sizeof *m->b))) {
        free(g);
        tl_model_free(m);
        return TL_ENOMEM;
    }
    /* G = X'X: for each user, every pair of the row's items (upper half) */
    for (uint32_t u = 0; u < x->nusers; u++)
        for (uint64_t a = x->rowptr[u]; a < x->rowptr[u + 1]; a++) {
            double va = x->val[a];
            double *gr = g + (size_t)x->col[a] * n;
            for (uint64_t c = a; c < x->rowptr[u + 1]; c++) gr[x->col[c]] += va * x->val[c];
        }
    double emph = dropout > 0 && dropout < 1 ? dropout / (1 - dropout) : 0;
    for (uint32_t i = 0; i < n; i++) g[(size_t)i * n + i] += lambda + emph * g[(size_t)i * n + i];
    /* P = G^-1 by Cholesky (G is symmetric positive definite for lambda > 0);
     * LAPACK's upper triangle in row-major is what was filled above */
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, g, (lapack_int)n);
    if (!info) info = LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, g, (lapack_int)n);
    if (info) {
        free(g);
        tl_model_free(m);
        tl_errbuf_set(eb, "EASE: the item Gram matrix is not positive definite (LAPACK info %d); "
                      "raise --lambda", (int)info);
        return TL_EINVAL;
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < i; j++) g[(size_t)i * n + j] = g[(size_t)j * n + i];
    /* B = -P / diag(P) by column, zero diagonal */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
            m->b[(size_t)i * n + j] = i == j ? 0.0f : (float)(-g[(size_t)i * n + j] / g[(size_t)j * n + j]);
    free(g);
    m->kind = TL_MODEL_EASE;
    m->nitems = n;
    *out = m;
    return 0;
}

int tl__ease_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                   tl_model_t **out, tl_errbuf_t *eb) {
    (void)side;
    return tl_rec_train_ease(x, p->lambda, p->dropout, out, eb);
}

/* s = sum of the EASE rows of the user's items (those the model knows),
 * weighted, for the first k items. */
void tl__ease_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k) {
    uint32_t n = m->nitems;
    memset(s, 0, k * sizeof *s);
    if (u >= x->nusers) return;
    for (uint64_t q = x->rowptr[u]; q < x->rowptr[u + 1]; q++) {
        if (x->col[q] >= n) continue; /* newer than the model */
        const float *row = m->b + (size_t)x->col[q] * n;
        float v = x->val[q];
        for (uint32_t i = 0; i < k; i++) s[i] += v * row[i];
    }
}

float tl__ease_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i) {
    (void)item_cat;
    return m->b[(size_t)c * m->nitems + i];
}

/* The largest weight of a history item's row for the item explains it. */
float tl__ease_because(const tl_model_t *m, float v, uint32_t j, uint32_t item) {
    return v * m->b[(size_t)j * m->nitems + item];
}

int tl__ease_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS], size_t len[TL__MODEL_SECTIONS]) {
    int k = 0;
    TL__SECTION(m, b, (size_t)m->nitems * m->nitems);
    return k;
}
