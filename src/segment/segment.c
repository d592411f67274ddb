/* segment.c -- RFM scoring and the named RFM segments (see segment.h for
 * the scoring rule and the grid). */
#include "segment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tl_rfm_name(int s) {
    static const char *const names[] = {
#define XX(c, n) n,
        TL_RFM_SEGMENTS(XX)
#undef XX
    };
    return s >= 0 && s < TL_RFM__N ? names[s] : "";
}

/* GRID[R-1][FM-1] */
static const uint8_t GRID[5][5] = {
    {TL_RFM_LOST, TL_RFM_HIBERNATING, TL_RFM_AT_RISK, TL_RFM_CANT_LOSE, TL_RFM_CANT_LOSE},
    {TL_RFM_LOST, TL_RFM_HIBERNATING, TL_RFM_AT_RISK, TL_RFM_AT_RISK, TL_RFM_AT_RISK},
    {TL_RFM_ABOUT_TO_SLEEP, TL_RFM_ABOUT_TO_SLEEP, TL_RFM_NEED_ATTENTION, TL_RFM_LOYAL, TL_RFM_LOYAL},
    {TL_RFM_PROMISING, TL_RFM_POTENTIAL, TL_RFM_LOYAL, TL_RFM_CHAMPIONS, TL_RFM_CHAMPIONS},
    {TL_RFM_NEW, TL_RFM_POTENTIAL, TL_RFM_LOYAL, TL_RFM_CHAMPIONS, TL_RFM_CHAMPIONS},
};

typedef struct {
    double v;
    uint32_t u;
} kv_t;

static int cmp_kv(const void *a, const void *b) {
    const kv_t *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

/* Quintile scores of v over the users in kv[0..n) (filled with their
 * values), written to score[user]. */
static void quintiles(kv_t *kv, uint32_t n, uint8_t *score, int reverse) {
    qsort(kv, n, sizeof *kv, cmp_kv);
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && kv[j].v == kv[i].v) j++;
        int s = 1 + (int)((5.0 * i) / n); /* ties take the rank of the first of them */
        if (s > 5) s = 5;
        for (uint32_t k = i; k < j; k++) score[kv[k].u] = (uint8_t)(reverse ? 6 - s : s);
        i = j;
    }
}

int tl_segment_rfm(const tl_profiles_t *p, tl_rfm_t *out) {
    memset(out, 0, sizeof *out);
    int cr = tl_profile_col_find(p, "days_since_purchase"), cf = tl_profile_col_find(p, "orders"),
        cm = tl_profile_col_find(p, "monetary");
    if (cr < 0 || cf < 0 || cm < 0) return TL_EINVAL;
    const double *rec = tl_profile_col_data(p, cr), *mon = tl_profile_col_data(p, cm);
    const uint32_t *ord = tl_profile_col_data(p, cf);
    uint32_t n = tl_profile_nusers(p), k = 0;
    out->n = n;
    out->r = calloc(n ? n : 1, 1);
    out->f = calloc(n ? n : 1, 1);
    out->m = calloc(n ? n : 1, 1);
    out->segment = malloc((n ? n : 1) * sizeof *out->segment);
    kv_t *kv = malloc((n ? n : 1) * sizeof *kv);
    if (!out->r || !out->f || !out->m || !out->segment || !kv) {
        free(kv);
        tl_rfm_fini(out);
        return TL_ENOMEM;
    }
    for (uint32_t u = 0; u < n; u++) out->segment[u] = TL_NONE;
    for (uint32_t u = 0; u < n; u++)
        if (ord[u] >= 1 && ord[u] != TL_NONE && !isnan(rec[u])) kv[k++] = (kv_t){rec[u], u};
    out->customers = k;
    quintiles(kv, k, out->r, 1);
    for (uint32_t i = 0; i < k; i++) kv[i].v = ord[kv[i].u];
    quintiles(kv, k, out->f, 0);
    for (uint32_t i = 0; i < k; i++) kv[i].v = mon[kv[i].u];
    quintiles(kv, k, out->m, 0);
    for (uint32_t i = 0; i < k; i++) {
        uint32_t u = kv[i].u;
        int fm = (out->f[u] + out->m[u] + 1) / 2; /* the mean, rounded half up */
        int s = GRID[out->r[u] - 1][fm - 1];
        out->segment[u] = (uint32_t)s;
        out->grid[out->r[u] - 1][fm - 1]++;
        tl_rfm_segment_t *g = &out->seg[s];
        g->size++;
        g->recency_days += rec[u];
        g->orders += ord[u];
        g->monetary += mon[u];
    }
    for (int s = 0; s < TL_RFM__N; s++) {
        tl_rfm_segment_t *g = &out->seg[s];
        if (g->size) g->recency_days /= g->size, g->orders /= g->size, g->monetary /= g->size;
    }
    free(kv);
    return 0;
}

void tl_rfm_fini(tl_rfm_t *r) {
    free(r->r);
    free(r->f);
    free(r->m);
    free(r->segment);
    memset(r, 0, sizeof *r);
}
