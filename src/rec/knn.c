/* knn.c -- item-kNN: cosine similarity of the items' user vectors with
 * shrinkage, the k most similar kept per item (computed on both cores);
 * a user's score for an item sums its similarities to the items of the
 * user's row. Its neighbours are also the similar items of a product
 * page (with the alike items by content when it has none). */
#include "rec_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const tl_csr_t *x, *xt;
    const double *norm;
    tl_model_t *m;
    double shrink;
    uint32_t from, to;
    int rc;
} knn_job_t;

static void *knn_part(void *arg) {
    knn_job_t *j = arg;
    uint32_t n = j->x->nitems, k = j->m->k;
    float *acc = calloc(n ? n : 1, sizeof *acc);
    uint32_t *touched = malloc((n ? n : 1) * sizeof *touched);
    if (!acc || !touched) {
        free(acc), free(touched);
        j->rc = TL_ENOMEM;
        return NULL;
    }
    for (uint32_t i = j->from; i < j->to; i++) {
        uint32_t nt = 0;
        /* co-occurrence of i with every item, through i's users */
        for (uint64_t a = j->xt->rowptr[i]; a < j->xt->rowptr[i + 1]; a++) {
            uint32_t u = j->xt->col[a];
            float vi = j->xt->val[a];
            for (uint64_t b = j->x->rowptr[u]; b < j->x->rowptr[u + 1]; b++) {
                uint32_t t = j->x->col[b];
                if (t == i) continue;
                if (acc[t] == 0) touched[nt++] = t;
                acc[t] += vi * j->x->val[b];
            }
        }
        uint32_t *nb = j->m->nbr + (size_t)i * k;
        float *sm = j->m->sim + (size_t)i * k;
        uint32_t got = 0;
        for (uint32_t q = 0; q < nt; q++) {
            uint32_t t = touched[q];
            float v = (float)(acc[t] / (j->norm[i] * j->norm[t] + j->shrink));
            acc[t] = 0;
            if (got == k && v <= sm[k - 1]) continue;
            uint32_t p = got < k ? got++ : k - 1;
            while (p > 0 && (sm[p - 1] < v || (sm[p - 1] == v && nb[p - 1] > t))) {
                sm[p] = sm[p - 1], nb[p] = nb[p - 1];
                p--;
            }
            sm[p] = v, nb[p] = t;
        }
        for (uint32_t q = got; q < k; q++) nb[q] = TL_NONE, sm[q] = 0;
    }
    free(acc), free(touched);
    return NULL;
}

int tl_rec_train_knn(const tl_csr_t *x, uint32_t k, double shrink, tl_model_t **out,
                     tl_errbuf_t *eb) {
    if (k < 1 || k > 1000 || !x->nitems) {
        tl_errbuf_set(eb, "item-kNN needs 1 to 1000 neighbours and a non-empty catalogue");
        return TL_EINVAL;
    }
    tl_csr_t xt;
    int rc = tl__csr_transpose(x, &xt);
    if (rc) return rc;
    tl_model_t *m = calloc(1, sizeof *m);
    double *norm = calloc(x->nitems, sizeof *norm);
    if (!m || !norm || !(m->nbr = malloc((size_t)x->nitems * k * sizeof *m->nbr)) ||
        !(m->sim = malloc((size_t)x->nitems * k * sizeof *m->sim))) {
        free(norm);
        tl_model_free(m);
        tl_csr_fini(&xt);
        return TL_ENOMEM;
    }
    for (uint64_t q = 0; q < x->nnz; q++) norm[x->col[q]] += (double)x->val[q] * x->val[q];
    for (uint32_t i = 0; i < x->nitems; i++) norm[i] = sqrt(norm[i]);
    m->kind = TL_MODEL_KNN;
    m->nitems = x->nitems;
    m->nusers = x->nusers;
    m->k = k;
    /* split the items by work: long columns cost more */
    uint32_t mid = 0;
    while (mid < xt.nusers && xt.rowptr[mid] < xt.nnz / 2) mid++;
    knn_job_t j[2] = {{x, &xt, norm, m, shrink, 0, mid, 0}, {x, &xt, norm, m, shrink, mid, x->nitems, 0}};
    pthread_t th;
    int threaded = pthread_create(&th, NULL, knn_part, &j[1]) == 0;
    knn_part(&j[0]);
    if (threaded) pthread_join(th, NULL);
    else knn_part(&j[1]);
    free(norm);
    tl_csr_fini(&xt);
    rc = j[0].rc ? j[0].rc : j[1].rc;
    if (rc) {
        tl_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

uint32_t tl_rec_similar(const tl_model_t *m, uint32_t item, uint32_t n, uint32_t *items,
                        float *sims) {
    if (!m->nbr || item >= m->nitems) return 0;
    uint32_t got = 0;
    for (uint32_t t = 0; t < m->k && got < n && m->nbr[(size_t)item * m->k + t] != TL_NONE; t++) {
        items[got] = m->nbr[(size_t)item * m->k + t];
        sims[got++] = m->sim[(size_t)item * m->k + t];
    }
    return got;
}

uint32_t tl_rec_similar_items(const tl_model_t *knn, const tl_content_t *c, uint32_t item, uint32_t n,
                              uint32_t *items, float *sims, int *by_content) {
    uint32_t got = knn ? tl_rec_similar(knn, item, n, items, sims) : 0;
    *by_content = !got && c;
    return *by_content ? tl_rec_content_similar(c, item, n, items, sims) : got;
}

int tl__knn_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                  tl_model_t **out, tl_errbuf_t *eb) {
    (void)side;
    return tl_rec_train_knn(x, p->neighbours, p->shrink, out, eb);
}

void tl__knn_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k) {
    memset(s, 0, k * sizeof *s);
    if (u >= x->nusers) return;
    for (uint64_t q = x->rowptr[u]; q < x->rowptr[u + 1]; q++) {
        uint32_t j = x->col[q];
        if (j >= m->nitems) continue;
        const uint32_t *nb = m->nbr + (size_t)j * m->k;
        const float *sm = m->sim + (size_t)j * m->k;
        for (uint32_t t = 0; t < m->k && nb[t] != TL_NONE; t++)
            if (nb[t] < k) s[nb[t]] += x->val[q] * sm[t];
    }
}

/* The similarity of i among c's neighbours, or none. */
static float neighbour_sim(const tl_model_t *m, uint32_t c, uint32_t i, float none) {
    for (uint32_t t = 0; t < m->k && m->nbr[(size_t)c * m->k + t] != TL_NONE; t++)
        if (m->nbr[(size_t)c * m->k + t] == i) return m->sim[(size_t)c * m->k + t];
    return none;
}

float tl__knn_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i) {
    (void)item_cat;
    return neighbour_sim(m, c, i, 0);
}

/* The history item the item is most similar to among its neighbours. */
float tl__knn_because(const tl_model_t *m, float v, uint32_t j, uint32_t item) {
    (void)v;
    return neighbour_sim(m, j, item, -INFINITY);
}

int tl__knn_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS], size_t len[TL__MODEL_SECTIONS]) {
    int k = 0;
    TL__SECTION(m, nbr, (size_t)m->nitems * m->k);
    TL__SECTION(m, sim, (size_t)m->nitems * m->k);
    return k;
}

/* The neighbours index the items (TL_NONE pads): a loaded model's must. */
int tl__knn_check(const tl_model_t *m) {
    for (size_t i = 0; i < (size_t)m->nitems * m->k; i++)
        if (m->nbr[i] >= m->nitems && m->nbr[i] != TL_NONE) return TL_ECORRUPT;
    return 0;
}
