/* blend.c -- EASE and implicit ALS trained on the same matrix, one model:
 * a user's scores are EASE's share times EASE's plus the rest times
 * iALS's, each standardised over the catalogue for that user. Its item
 * relation and explanations are EASE's. */
#include "rec_int.h"

#include <stdlib.h>
#include <string.h>

int tl_rec_train_blend(const tl_csr_t *x, double lambda, double dropout, const tl_ials_opts_t *o,
                       double ease_share, tl_model_t **out, tl_errbuf_t *eb) {
    tl_model_t *m = NULL, *f = NULL;
    int rc = tl_rec_train_ease(x, lambda, dropout, &m, eb);
    if (!rc) rc = tl_rec_train_ials(x, o, &f, eb);
    if (!rc && !(m->share = malloc(sizeof *m->share))) rc = TL_ENOMEM;
    if (rc) {
        tl_model_free(m), tl_model_free(f);
        return rc;
    }
    m->kind = TL_MODEL_BLEND;
    *m->share = ease_share;
    m->xu = f->xu, m->yi = f->yi, m->f = f->f, m->nusers = f->nusers;
    f->xu = f->yi = NULL;
    tl_model_free(f);
    *out = m;
    return 0;
}

int tl__blend_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                    tl_model_t **out, tl_errbuf_t *eb) {
    (void)side;
    return tl_rec_train_blend(x, p->lambda, p->dropout, &p->ials, p->blend, out, eb);
}

static void standardise(float *v, uint32_t n) {
    double mean = 0, var = 0;
    for (uint32_t i = 0; i < n; i++) mean += v[i];
    mean /= n ? n : 1;
    for (uint32_t i = 0; i < n; i++) var += (v[i] - mean) * (v[i] - mean);
    double sd = sqrt(var / (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) v[i] = sd > 0 ? (float)((v[i] - mean) / sd) : 0.0f;
}

void tl__blend_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k) {
    tl__ease_scores(m, x, u, s, k);
    float *t = malloc((size_t)(k ? k : 1) * sizeof *t);
    if (!t) return; /* no room for the blend: EASE alone */
    tl__ials_scores(m, x, u, t, k);
    standardise(s, k);
    standardise(t, k);
    double w = *m->share;
    for (uint32_t i = 0; i < k; i++) s[i] = (float)(w * s[i] + (1 - w) * t[i]);
    free(t);
}

int tl__blend_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS],
                       size_t len[TL__MODEL_SECTIONS]) {
    int k = tl__ease_sections(m, alloc, p, len), f;
    if (k < 0 || (f = tl__ials_sections(m, alloc, p + k, len + k)) < 0) return -1;
    k += f;
    TL__SECTION(m, share, 1);
    return k;
}
