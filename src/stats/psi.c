/* psi.c -- the population stability index: how far a distribution moved
 * from a baseline, over the baseline's quantile bins or given bins, and its
 * usual reading. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double tl_psi_counts(const double *ca, const double *cb, uint32_t k) {
    double na = 0, nb = 0, psi = 0;
    for (uint32_t i = 0; i < k; i++) na += ca[i], nb += cb[i];
    for (uint32_t i = 0; i < k; i++) {
        double pa = na ? ca[i] / na : 0, pb = nb ? cb[i] / nb : 0;
        if (pa == 0 && pb == 0) continue;
        pa = pa < 1e-4 ? 1e-4 : pa;
        pb = pb < 1e-4 ? 1e-4 : pb;
        psi += (pb - pa) * log(pb / pa);
    }
    return psi;
}

double tl_psi(const double *a, uint32_t na, const double *b, uint32_t nb, int bins) {
    if (bins < 2) bins = 10;
    if (bins > 50) bins = 50;
    double *s = malloc((size_t)(na ? na : 1) * sizeof *s), cut[50];
    if (!s) return NAN;
    uint32_t k = 0;
    for (uint32_t i = 0; i < na; i++)
        if (!isnan(a[i])) s[k++] = a[i];
    qsort(s, k, sizeof *s, cmp_dbl);
    /* edges at the quantiles of the first population; equal edges merge */
    int ne = 0;
    for (int q = 1; q < bins && k; q++) {
        double e = s[(size_t)k * q / bins];
        if (ne == 0 || e > cut[ne - 1]) cut[ne++] = e;
    }
    free(s);
    double ca[52] = {0}, cb[52] = {0};
    const double *v[2] = {a, b};
    uint32_t n[2] = {na, nb};
    double *cnt[2] = {ca, cb};
    for (int w = 0; w < 2; w++)
        for (uint32_t i = 0; i < n[w]; i++) {
            double x = v[w][i];
            int bin;
            if (isnan(x)) {
                bin = ne + 1; /* unknown values are a bin of their own */
            } else {
                int lo = 0, hi = ne; /* first edge above x */
                while (lo < hi) {
                    int mid = (lo + hi) / 2;
                    if (cut[mid] <= x) lo = mid + 1;
                    else hi = mid;
                }
                bin = lo;
            }
            cnt[w][bin]++;
        }
    return tl_psi_counts(ca, cb, (uint32_t)ne + 2);
}

const char *tl_psi_reading(double psi) {
    return !(psi >= 0.10) ? "stable" : psi <= 0.25 ? "watch" : "shifted";
}
