/* pop.c -- the popularity family: popularity (each item's summed
 * interaction strengths; with a half-life, what is trending) and
 * popularity by segment and category taste, which is also every model's
 * cold start. Both score anybody, history or not. Also the user groups
 * (gender, age band, segment) and the side data segment popularity trains
 * on. */
#include "rec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tl_rec_train_pop(const tl_csr_t *x, tl_model_t **out) {
    tl_model_t *m = calloc(1, sizeof *m);
    if (!m || !(m->pop = calloc(x->nitems ? x->nitems : 1, sizeof *m->pop))) {
        tl_model_free(m);
        return TL_ENOMEM;
    }
    m->kind = TL_MODEL_POP;
    m->nitems = x->nitems;
    for (uint64_t k = 0; k < x->nnz; k++) m->pop[x->col[k]] += x->val[k];
    *out = m;
    return 0;
}

int tl__pop_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                  tl_model_t **out, tl_errbuf_t *eb) {
    (void)p, (void)side, (void)eb;
    return tl_rec_train_pop(x, out);
}

void tl__pop_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k) {
    (void)x, (void)u;
    for (uint32_t i = 0; i < k; i++) s[i] = (float)m->pop[i];
}

/* Popularity models have no item relation: sharing a category is all
 * (segment popularity's own categories, else item_cat). */
float tl__pop_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i) {
    const uint32_t *cat = m->icat ? m->icat : item_cat;
    return cat && cat[c] == cat[i] && (!m->icat || cat[c] + 1 < m->ncats) && cat[c] != TL_NONE ? 1.0f
                                                                                              : 0.0f;
}

int tl__pop_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS], size_t len[TL__MODEL_SECTIONS]) {
    int k = 0;
    TL__SECTION(m, pop, m->nitems);
    return k;
}

/* ---- popularity by segment and taste ---------------------------------------------- */

#define SEGPOP_USER_PRIOR 20.0 /* pseudo-items of the segment's category mix in a user's mix */
#define SEGPOP_SEG_PRIOR 10.0 /* pseudo-users of everybody's choices in a segment's */

int tl_rec_train_segpop(const tl_csr_t *x, const uint32_t *item_cat, uint32_t ncats,
                        const uint32_t *user_group, uint32_t ngroups, tl_model_t **out) {
    uint32_t n = x->nitems, nc = ncats + 1, G = ngroups;
    tl_model_t *m = calloc(1, sizeof *m);
    double *ngi = calloc((size_t)(G + 1) * (n ? n : 1), sizeof *ngi); /* users per group, item */
    double *ngc = calloc((size_t)(G + 1) * nc, sizeof *ngc);          /* ... per group, category */
    double *ng = calloc(G + 1, sizeof *ng);                          /* interactions per group */
    if (!m || !ngi || !ngc || !ng || !(m->pop = calloc(n ? n : 1, sizeof *m->pop)) ||
        !(m->icat = malloc((n ? n : 1) * sizeof *m->icat)) ||
        !(m->ugroup = malloc((x->nusers ? x->nusers : 1) * sizeof *m->ugroup)) ||
        !(m->pic = malloc((size_t)(G + 1) * (n ? n : 1) * sizeof *m->pic)) ||
        !(m->pcg = malloc((size_t)(G + 1) * nc * sizeof *m->pcg))) {
        free(ngi), free(ngc), free(ng);
        tl_model_free(m);
        return TL_ENOMEM;
    }
    m->kind = TL_MODEL_SEGPOP;
    m->nitems = n, m->nusers = x->nusers, m->ncats = nc, m->ngroups = G;
    for (uint32_t i = 0; i < n; i++)
        m->icat[i] = item_cat && item_cat[i] < ncats ? item_cat[i] : ncats;
    for (uint32_t u = 0; u < x->nusers; u++) {
        uint32_t g = user_group && user_group[u] < G ? user_group[u] : G;
        m->ugroup[u] = g;
        for (uint64_t q = x->rowptr[u]; q < x->rowptr[u + 1]; q++) {
            uint32_t i = x->col[q], c = m->icat[i];
            double v = x->val[q];
            m->pop[i] += v, ngi[(size_t)G * n + i] += v, ngc[(size_t)G * nc + c] += v, ng[G] += v;
            if (g < G) ngi[(size_t)g * n + i] += v, ngc[(size_t)g * nc + c] += v, ng[g] += v;
        }
    }
    /* everybody's row first: P(c) and P(i | c); then each group's, shrunk
     * towards them by SEGPOP_SEG_PRIOR pseudo-users of the mean strength
     * (so weights and decay do not change how far) */
    const double *all_c = ngc + (size_t)G * nc;
    double kappa = SEGPOP_SEG_PRIOR * (x->nnz ? ng[G] / (double)x->nnz : 1);
    float *pc = m->pcg + (size_t)G * nc, *pi = m->pic + (size_t)G * n;
    for (uint32_t c = 0; c < nc; c++) pc[c] = ng[G] > 0 ? (float)(all_c[c] / ng[G]) : 1.0f / nc;
    for (uint32_t i = 0; i < n; i++) {
        double nci = all_c[m->icat[i]];
        pi[i] = nci > 0 ? (float)(m->pop[i] / nci) : 0.0f;
    }
    for (uint32_t g = 0; g < G; g++) {
        for (uint32_t c = 0; c < nc; c++)
            m->pcg[(size_t)g * nc + c] =
                (float)((ngc[(size_t)g * nc + c] + kappa * pc[c]) / (ng[g] + kappa));
        for (uint32_t i = 0; i < n; i++)
            m->pic[(size_t)g * n + i] = (float)((ngi[(size_t)g * n + i] + kappa * pi[i]) /
                                                (ngc[(size_t)g * nc + m->icat[i]] + kappa));
    }
    free(ngi), free(ngc), free(ng);
    *out = m;
    return 0;
}

int tl__segpop_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                     tl_model_t **out, tl_errbuf_t *eb) {
    (void)p, (void)eb;
    return tl_rec_train_segpop(x, side ? side->cats : NULL,
                               side && side->catnames ? tl_dict_count(side->catnames) : 0,
                               side ? side->groups.group : NULL, side ? side->groups.ngroups : 0, out);
}

/* P(category | user): the user's own mix of distinct items, shrunk towards
 * the segment's by SEGPOP_USER_PRIOR pseudo-items, times P(item | category,
 * segment), for the first k items (k <= the model's). Users unknown to the
 * model are everybody's. */
void tl__segpop_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k) {
    uint32_t n = m->nitems, nc = m->ncats, g = u < m->nusers ? m->ugroup[u] : m->ngroups;
    const float *pc = m->pcg + (size_t)g * nc, *pi = m->pic + (size_t)g * n;
    double *w = calloc(nc, sizeof *w), nu = 0;
    if (!w) { /* no room for the user's mix: the segment's alone */
        for (uint32_t i = 0; i < k; i++) s[i] = pc[m->icat[i]] * pi[i];
        return;
    }
    if (u < x->nusers)
        for (uint64_t q = x->rowptr[u]; q < x->rowptr[u + 1]; q++)
            if (x->col[q] < n) w[m->icat[x->col[q]]] += 1, nu += 1;
    for (uint32_t c = 0; c < nc; c++) w[c] = (w[c] + SEGPOP_USER_PRIOR * pc[c]) / (nu + SEGPOP_USER_PRIOR);
    for (uint32_t i = 0; i < k; i++) s[i] = (float)w[m->icat[i]] * pi[i];
    free(w);
}

int tl_rec_segpop_group(const tl_model_t *m, uint32_t user) {
    return m->ugroup && user < m->nusers && m->ugroup[user] < m->ngroups;
}

int tl__segpop_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS],
                        size_t len[TL__MODEL_SECTIONS]) {
    size_t ni = m->nitems;
    int k = 0;
    TL__SECTION(m, pop, ni);
    TL__SECTION(m, icat, ni);
    TL__SECTION(m, ugroup, m->nusers);
    TL__SECTION(m, pic, (m->ngroups + 1) * ni);
    TL__SECTION(m, pcg, (m->ngroups + 1) * (size_t)m->ncats);
    return k;
}

/* The codes index the tables: a loaded model's must be in range. */
int tl__segpop_check(const tl_model_t *m) {
    for (uint32_t i = 0; i < m->nitems; i++)
        if (m->icat[i] >= m->ncats) return TL_ECORRUPT;
    for (uint32_t u = 0; u < m->nusers; u++)
        if (m->ugroup[u] > m->ngroups) return TL_ECORRUPT;
    return 0;
}

/* ---- user groups ----------------------------------------------------------------------- */

static const char *const AGE_BANDS[] = {"under 25", "25-34", "35-44", "45-54", "55 and over"};

typedef struct {
    tl_user_groups_t *g;
    tl_group_by_t by;
    int year;          /* ages are in this year */
    tl_dict_t *values; /* by value: the distinct values met, in order met */
} groupctx_t;

static int age_band(int year, int born) {
    if (born <= 0) return -1;
    int age = year - born;
    return age < 25 ? 0 : age < 35 ? 1 : age < 45 ? 2 : age < 55 ? 3 : 4;
}

static int group_row(uint32_t u, const tl_user_t *usr, void *arg) {
    groupctx_t *x = arg;
    tl_user_groups_t *g = x->g;
    if (u >= g->nusers) return 0;
    const char *gender = usr->gender && *usr->gender ? usr->gender : NULL;
    int band = age_band(x->year, usr->birth_year);
    if (x->by == TL_GROUP_AGE) {
        if (band >= 0) g->group[u] = (uint32_t)band;
    } else if (x->by == TL_GROUP_SEGMENT) {
        int sex = !gender ? -1 : (*gender | 0x20) == 'f' || (*gender | 0x20) == 'w' ? 0
                                 : (*gender | 0x20) == 'm' ? 1 : -1;
        if (band >= 0 && sex >= 0) g->group[u] = (uint32_t)(band * 2 + sex);
    } else if (gender) {
        if (tl_dict_intern(x->values, gender, strlen(gender), &g->group[u], NULL)) return TL_ENOMEM;
    }
    return 0;
}

static int by_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Groups by value: the first TL_EVAL_MAX_GROUPS values in byte order
 * (more values than groups: the rest unmarked), users renumbered from
 * the order met to that order. */
static int name_values(groupctx_t *x) {
    tl_user_groups_t *g = x->g;
    uint32_t n = tl_dict_count(x->values);
    const char **v = malloc((size_t)(n ? n : 1) * sizeof *v);
    uint32_t *to = malloc((size_t)(n ? n : 1) * sizeof *to);
    if (!v || !to) {
        free(v), free(to);
        return TL_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) v[i] = tl_dict_str(x->values, i, NULL);
    qsort(v, n, sizeof *v, by_str);
    for (uint32_t i = 0; i < n; i++) to[i] = TL_NONE;
    for (uint32_t k = 0; k < n && k < TL_EVAL_MAX_GROUPS; k++) {
        snprintf(g->names[k], sizeof g->names[k], "%s", v[k]);
        to[tl_dict_find(x->values, v[k], strlen(v[k]))] = k;
        g->ngroups++;
    }
    for (uint32_t u = 0; u < g->nusers; u++)
        if (g->group[u] != TL_NONE) g->group[u] = to[g->group[u]];
    free(v), free(to);
    return 0;
}

int tl_rec_user_groups(tl_store_t *st, uint32_t nusers, tl_group_by_t by, int64_t ref_ms,
                       tl_user_groups_t *g, tl_errbuf_t *eb) {
    memset(g, 0, sizeof *g);
    g->nusers = nusers;
    g->group = malloc((size_t)(nusers ? nusers : 1) * sizeof *g->group);
    if (!g->group) return TL_ENOMEM;
    for (uint32_t u = 0; u < nusers; u++) g->group[u] = TL_NONE;
    char day[32];
    tl_time_format(ref_ms, day);
    groupctx_t x = {g, by, atoi(day), NULL};
    if (by == TL_GROUP_AGE) {
        g->ngroups = 5;
        for (int k = 0; k < 5; k++) snprintf(g->names[k], sizeof g->names[k], "%s", AGE_BANDS[k]);
    } else if (by == TL_GROUP_SEGMENT) {
        g->ngroups = 10;
        for (int k = 0; k < 10; k++)
            snprintf(g->names[k], sizeof g->names[k], "%s %s", k % 2 ? "m" : "f", AGE_BANDS[k / 2]);
    }
    int rc = 0;
    if (by != TL_GROUP_AGE && by != TL_GROUP_SEGMENT && !(x.values = tl_dict_new())) rc = TL_ENOMEM;
    if (!rc) rc = tl_store_scan_users(st, group_row, &x, eb);
    if (!rc && x.values) rc = name_values(&x);
    if (rc == TL_ENOMEM) tl_errbuf_set(eb, "out of memory grouping the users");
    tl_dict_free(x.values);
    if (rc) tl_user_groups_fini(g);
    return rc;
}

void tl_user_groups_fini(tl_user_groups_t *g) {
    free(g->group);
    g->group = NULL;
}

int tl_rec_side_load(tl_store_t *st, uint32_t nusers, uint32_t nitems, int64_t ref_ms,
                     tl_rec_side_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    int rc = tl_rec_user_groups(st, nusers, TL_GROUP_SEGMENT, ref_ms, &out->groups, eb);
    if (!rc) rc = tl_rec_item_categories(st, nitems, 1, &out->cats, &out->catnames, eb);
    if (rc) tl_rec_side_fini(out);
    return rc;
}

void tl_rec_side_fini(tl_rec_side_t *s) {
    tl_user_groups_fini(&s->groups);
    free(s->cats);
    tl_dict_free(s->catnames);
    s->cats = NULL, s->catnames = NULL;
}
