/* ials.c -- implicit ALS (Hu, Koren, Volinsky 2008): factors for users and
 * items, each least-squares step solved by a few conjugate-gradient
 * iterations from the current factors (Takacs et al.), the Gram matrix by
 * BLAS, users and items each on both cores. Scores are Y x_u; the item
 * relation is the cosine of item factors. */
#include "rec_int.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void tl_ials_opts_default(tl_ials_opts_t *o) {
    o->factors = 64;
    o->iterations = 15;
    o->cg_steps = 3;
    o->alpha = 5;   /* tuned on MovieLens 100K u1 (docs/BENCHMARKS.md) */
    o->reg = 50;
    o->seed = 1;
}

typedef struct {
    const tl_csr_t *r;    /* rows: the side being solved */
    float *x;             /* that side's factors (rows x f) */
    const float *y;       /* the other side's factors */
    const float *gram;    /* Y'Y (f x f) */
    uint32_t f, from, to, steps, maxrow;
    float alpha, reg;
} cg_job_t;

static float dot(const float *a, const float *b, uint32_t f) { return cblas_sdot((int)f, a, 1, b, 1); }

/* A v for one row whose other-side factors are gathered in yu (n x f) with
 * confidence weights c: (Y'Y + reg I) v + Yu' (c .* (Yu v)). BLAS does the
 * arithmetic; t is scratch of n floats. */
static void apply_a(const cg_job_t *j, const float *yu, const float *c, uint32_t n, const float *v,
                    float *out, float *t) {
    int f = (int)j->f;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, f, f, 1.0f, j->gram, f, v, 1, 0.0f, out, 1);
    cblas_saxpy(f, j->reg, v, 1, out, 1);
    if (!n) return;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, f, 1.0f, yu, f, v, 1, 0.0f, t, 1);
    for (uint32_t k = 0; k < n; k++) t[k] *= c[k];
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, f, 1.0f, yu, f, t, 1, 1.0f, out, 1);
}

static void *cg_part(void *arg) {
    cg_job_t *j = arg;
    uint32_t f = j->f;
    float *res = malloc(4 * (size_t)f * sizeof *res);
    float *yu = malloc(((size_t)j->maxrow + 1) * f * sizeof *yu);
    float *c = malloc(((size_t)j->maxrow + 1) * 2 * sizeof *c);
    if (!res || !yu || !c) {
        free(res), free(yu), free(c);
        return NULL;
    }
    float *p = res + f, *ap = p + f, *b = ap + f, *t = c + j->maxrow + 1;
    for (uint32_t u = j->from; u < j->to; u++) {
        float *x = j->x + (size_t)u * f;
        uint64_t r0 = j->r->rowptr[u];
        uint32_t n = (uint32_t)(j->r->rowptr[u + 1] - r0);
        /* gather the row's other-side factors once for all CG steps */
        for (uint32_t k = 0; k < n; k++) {
            memcpy(yu + (size_t)k * f, j->y + (size_t)j->r->col[r0 + k] * f, f * sizeof *yu);
            c[k] = j->alpha * j->r->val[r0 + k];
        }
        /* b = Yu' (1 + c); the residual b - A x */
        for (uint32_t k = 0; k < n; k++) t[k] = 1 + c[k];
        if (n) cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, (int)f, 1.0f, yu, (int)f, t, 1, 0.0f, b, 1);
        else memset(b, 0, f * sizeof *b);
        apply_a(j, yu, c, n, x, ap, t);
        for (uint32_t a = 0; a < f; a++) res[a] = b[a] - ap[a], p[a] = res[a];
        float rr = dot(res, res, f);
        for (uint32_t it = 0; it < j->steps && rr > 1e-12f; it++) {
            apply_a(j, yu, c, n, p, ap, t);
            float alpha = rr / dot(p, ap, f);
            cblas_saxpy((int)f, alpha, p, 1, x, 1);
            cblas_saxpy((int)f, -alpha, ap, 1, res, 1);
            float rr2 = dot(res, res, f);
            float beta = rr2 / rr;
            for (uint32_t a = 0; a < f; a++) p[a] = res[a] + beta * p[a];
            rr = rr2;
        }
    }
    free(res), free(yu), free(c);
    return NULL;
}

/* One half-step: solve every row of r for x given y, on two threads. */
static int half_step(const tl_csr_t *r, float *x, const float *y, uint32_t ny, uint32_t f,
                     const tl_ials_opts_t *o, float *gram) {
    /* Y'Y by BLAS (upper triangle), mirrored */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)f, (int)ny, 1.0f, y, (int)f, 0.0f,
                gram, (int)f);
    for (uint32_t a = 0; a < f; a++)
        for (uint32_t b = 0; b < a; b++) gram[(size_t)a * f + b] = gram[(size_t)b * f + a];
    uint32_t maxrow = 0;
    for (uint32_t u = 0; u < r->nusers; u++)
        if (r->rowptr[u + 1] - r->rowptr[u] > maxrow) maxrow = (uint32_t)(r->rowptr[u + 1] - r->rowptr[u]);
    /* split by work (entries), not by rows: popular items are long rows */
    uint32_t mid = 0;
    while (mid < r->nusers && r->rowptr[mid] < r->nnz / 2) mid++;
    cg_job_t j[2];
    for (int h = 0; h < 2; h++)
        j[h] = (cg_job_t){r, x, y, gram, f, h ? mid : 0, h ? r->nusers : mid, o->cg_steps, maxrow,
                          (float)o->alpha, (float)o->reg};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, cg_part, &j[1]) == 0;
    cg_part(&j[0]);
    if (threaded) pthread_join(th, NULL);
    else cg_part(&j[1]);
    return 0;
}

int tl_rec_train_ials(const tl_csr_t *x, const tl_ials_opts_t *o, tl_model_t **out,
                      tl_errbuf_t *eb) {
    uint32_t f = o->factors;
    if (f < 1 || f > 1024 || !x->nusers || !x->nitems) {
        tl_errbuf_set(eb, "iALS needs 1 to 1024 factors and a non-empty matrix");
        return TL_EINVAL;
    }
    tl_csr_t xt;
    int rc = tl__csr_transpose(x, &xt);
    if (rc) return rc;
    tl_model_t *m = calloc(1, sizeof *m);
    float *gram = malloc((size_t)f * f * sizeof *gram);
    if (!m || !gram || !(m->xu = malloc((size_t)x->nusers * f * sizeof *m->xu)) ||
        !(m->yi = malloc((size_t)x->nitems * f * sizeof *m->yi))) {
        free(gram);
        tl_model_free(m);
        tl_csr_fini(&xt);
        return TL_ENOMEM;
    }
    m->kind = TL_MODEL_IALS;
    m->nusers = x->nusers, m->nitems = x->nitems, m->f = f;
    /* Our two threads each call BLAS on small vectors: OpenBLAS's own
     * threads on top of them would only fight for the two cores. */
    openblas_set_num_threads(1);
    tl_rng_t r;
    tl_rng_seed(&r, o->seed);
    float scale = 0.1f / sqrtf((float)f);
    for (size_t k = 0; k < (size_t)x->nusers * f; k++) m->xu[k] = (float)tl_rng_normal(&r) * scale;
    for (size_t k = 0; k < (size_t)x->nitems * f; k++) m->yi[k] = (float)tl_rng_normal(&r) * scale;
    for (uint32_t it = 0; it < o->iterations; it++) {
        half_step(x, m->xu, m->yi, x->nitems, f, o, gram);
        half_step(&xt, m->yi, m->xu, x->nusers, f, o, gram);
    }
    free(gram);
    tl_csr_fini(&xt);
    *out = m;
    return 0;
}

int tl__ials_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                   tl_model_t **out, tl_errbuf_t *eb) {
    (void)side;
    return tl_rec_train_ials(x, &p->ials, out, eb);
}

/* s = Y x_u for the first k items (zero for users the model has no
 * factors for). */
void tl__ials_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k) {
    (void)x;
    if (u >= m->nusers || !k) {
        memset(s, 0, k * sizeof *s);
        return;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)k, (int)m->f, 1.0f, m->yi, (int)m->f,
                m->xu + (size_t)u * m->f, 1, 0.0f, s, 1);
}

/* The cosine of the factors of items a and b, none when either is zero. */
static float cosine(const tl_model_t *m, uint32_t a, uint32_t b, float none) {
    const float *fa = m->yi + (size_t)a * m->f, *fb = m->yi + (size_t)b * m->f;
    float na = cblas_snrm2((int)m->f, fa, 1), nb = cblas_snrm2((int)m->f, fb, 1);
    return na > 0 && nb > 0 ? cblas_sdot((int)m->f, fa, 1, fb, 1) / (na * nb) : none;
}

float tl__ials_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i) {
    (void)item_cat;
    return cosine(m, c, i, 0);
}

/* The history item whose factors are closest in angle explains it. */
float tl__ials_because(const tl_model_t *m, float v, uint32_t j, uint32_t item) {
    (void)v;
    return cosine(m, j, item, -INFINITY);
}

int tl__ials_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS], size_t len[TL__MODEL_SECTIONS]) {
    int k = 0;
    TL__SECTION(m, xu, (size_t)m->nusers * m->f);
    TL__SECTION(m, yi, (size_t)m->nitems * m->f);
    return k;
}
