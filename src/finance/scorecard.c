/* scorecard.c -- the statistics of a credit scorecard: binning by merging
 * quantile pre-bins (chi-square, minimum share, monotonic bad rate), WOE and
 * IV, logistic regression by Newton steps over LAPACK, AUC and KS.
 *
 * Binning works on an ordered list of pre-bins: quantiles of a numeric
 * feature, or the categories of a categorical one sorted by their bad rate.
 * Adjacent pre-bins merge, cheapest (lowest chi-square) first, until every
 * bin holds at least min_share of the rows, the bad rate is monotonic when
 * asked, no more than max_bins remain and every neighbour pair differs at
 * the chi_merge level. Missing values keep a bin of their own.
 */
#include "finance/finance.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void tl_bin_opts_default(tl_bin_opts_t *o) {
    memset(o, 0, sizeof *o); /* no special codes */
    o->min_share = 0.05;
    o->prebins = 20;
    o->max_bins = 8;
    o->chi_merge = 0;
    o->trend = TL_TREND_AUTO;
}

void tl_binning_fini(tl_binning_t *b) {
    free(b->cut), free(b->cat_bin), free(b->good), free(b->bad), free(b->woe), free(b->special);
    memset(b, 0, sizeof *b);
}

/* ---- merging ------------------------------------------------------------------- */

typedef struct {
    uint32_t n;         /* bins left */
    double *g, *b;      /* goods and bads per bin */
    uint32_t *last;     /* the last pre-bin of each bin */
} bins_t;

static double rate(const bins_t *s, uint32_t k) {
    double t = s->g[k] + s->b[k];
    return t > 0 ? s->b[k] / t : 0;
}

/* Chi-square of bins k and k + 1 against their pooled bad rate. */
static double chi2(const bins_t *s, uint32_t k) {
    double g = s->g[k] + s->g[k + 1], b = s->b[k] + s->b[k + 1], t = g + b, x = 0;
    if (t <= 0 || g <= 0 || b <= 0) return 0;
    for (uint32_t j = k; j <= k + 1; j++) {
        double nj = s->g[j] + s->b[j], eg = nj * g / t, eb = nj * b / t;
        if (eg > 0) x += (s->g[j] - eg) * (s->g[j] - eg) / eg;
        if (eb > 0) x += (s->b[j] - eb) * (s->b[j] - eb) / eb;
    }
    return x;
}

static void merge(bins_t *s, uint32_t k) {
    s->g[k] += s->g[k + 1], s->b[k] += s->b[k + 1], s->last[k] = s->last[k + 1];
    uint32_t rest = s->n - k - 2;
    memmove(s->g + k + 1, s->g + k + 2, rest * sizeof *s->g);
    memmove(s->b + k + 1, s->b + k + 2, rest * sizeof *s->b);
    memmove(s->last + k + 1, s->last + k + 2, rest * sizeof *s->last);
    s->n--;
}

/* The cheapest pair to merge among those ok() allows, or TL_NONE. */
static uint32_t cheapest(const bins_t *s, int (*ok)(const bins_t *, uint32_t, int), int arg) {
    uint32_t best = TL_NONE;
    double bx = INFINITY;
    for (uint32_t k = 0; k + 1 < s->n; k++) {
        if (ok && !ok(s, k, arg)) continue;
        double x = chi2(s, k);
        if (x < bx) bx = x, best = k;
    }
    return best;
}

static int breaks_trend(const bins_t *s, uint32_t k, int dir) {
    return dir > 0 ? rate(s, k + 1) < rate(s, k) : rate(s, k + 1) > rate(s, k);
}

/* The direction of the bad rate over the bins: the sign of its covariance
 * with the bin's position, by rows. */
static int direction(const bins_t *s) {
    double n = 0, mk = 0, mr = 0, c = 0;
    for (uint32_t k = 0; k < s->n; k++) {
        double w = s->g[k] + s->b[k];
        n += w, mk += w * k, mr += w * rate(s, k);
    }
    if (n <= 0) return 1;
    mk /= n, mr /= n;
    for (uint32_t k = 0; k < s->n; k++) c += (s->g[k] + s->b[k]) * (k - mk) * (rate(s, k) - mr);
    return c >= 0 ? 1 : -1;
}

static void merge_all(bins_t *s, const tl_bin_opts_t *o, int dir) {
    double total = 0;
    for (uint32_t k = 0; k < s->n; k++) total += s->g[k] + s->b[k];
    /* every bin at least min_share: a small bin joins its cheaper neighbour */
    for (;;) {
        uint32_t small = TL_NONE;
        double least = INFINITY;
        for (uint32_t k = 0; k < s->n && s->n > 1; k++) {
            double t = s->g[k] + s->b[k];
            if (t < o->min_share * total && t < least) least = t, small = k;
        }
        if (small == TL_NONE) break;
        uint32_t k = small == 0                  ? 0
                     : small == s->n - 1         ? small - 1
                     : chi2(s, small - 1) <= chi2(s, small) ? small - 1
                                                 : small;
        merge(s, k);
    }
    if (dir)
        for (uint32_t k; (k = cheapest(s, breaks_trend, dir)) != TL_NONE;) merge(s, k);
    while (s->n > 1) {
        uint32_t k = cheapest(s, NULL, 0);
        if (s->n <= o->max_bins && chi2(s, k) >= o->chi_merge) break;
        merge(s, k);
    }
}

/* ---- fitting -------------------------------------------------------------------- */

typedef struct {
    double x;
    uint8_t bad;
} vb_t;

typedef struct {
    double r;
    uint32_t c;
} rc_t;

/* Sorts by value through the radix sort, the flags carried along. */
static int sort_vb(vb_t *v, uint32_t n) {
    double *k = malloc((size_t)(n ? n : 1) * sizeof *k);
    uint32_t *f = malloc((size_t)(n ? n : 1) * sizeof *f);
    int rc = k && f ? 0 : TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < n; i++) k[i] = v[i].x, f[i] = v[i].bad;
    if (!rc) rc = tl_sort_f64(k, f, n);
    for (uint32_t i = 0; !rc && i < n; i++) v[i] = (vb_t){k[i], (uint8_t)f[i]};
    free(k), free(f);
    return rc;
}

static int cmp_rc(const void *a, const void *b) {
    const rc_t *x = a, *y = b;
    if (x->r != y->r) return x->r < y->r ? -1 : 1;
    return (x->c > y->c) - (x->c < y->c);
}

/* Fills the WOE and IV from the counts; TL_EINVAL without goods or bads. */
static int finish_woe(tl_binning_t *out) {
    double G = 0, B = 0;
    for (uint32_t k = 0; k < out->nbins; k++) G += out->good[k], B += out->bad[k];
    if (G <= 0 || B <= 0) return TL_EINVAL;
    out->iv = 0;
    for (uint32_t k = 0; k < out->nbins; k++) {
        double pg = (out->good[k] + 0.5) / G, pb = (out->bad[k] + 0.5) / B;
        out->woe[k] = log(pg / pb);
        out->iv += (out->good[k] / G - out->bad[k] / B) * out->woe[k];
    }
    return 0;
}

int tl_bin_fit(const tl_column_t *col, const uint8_t *bad, uint32_t n, const tl_bin_opts_t *o,
               tl_binning_t *out) {
    memset(out, 0, sizeof *out);
    out->categorical = col->categorical;
    out->missing = TL_NONE;
    uint32_t np = 0; /* pre-bins */
    double mg = 0, mb = 0, *sg = NULL, *sb = NULL; /* missing and special goods, bads */
    bins_t s = {0};
    vb_t *v = NULL;
    rc_t *order = NULL;
    int rc = 0;
    if (!col->categorical) {
        v = malloc((size_t)(n ? n : 1) * sizeof *v);
        if (!v) return TL_ENOMEM;
        uint32_t nv = 0;
        out->special = malloc((o->nspecial ? o->nspecial : 1) * sizeof *out->special);
        sg = calloc(o->nspecial ? o->nspecial : 1, sizeof *sg);
        sb = calloc(o->nspecial ? o->nspecial : 1, sizeof *sb);
        if (!out->special || !sg || !sb) {
            rc = TL_ENOMEM;
            goto done;
        }
        for (uint32_t r = 0; r < n; r++) {
            double x = col->num[r];
            uint32_t sp = 0;
            while (sp < o->nspecial && o->special[sp] != x) sp++;
            if (isnan(x)) bad[r] ? mb++ : mg++;
            else if (sp < o->nspecial) bad[r] ? sb[sp]++ : sg[sp]++;
            else v[nv++] = (vb_t){x, bad[r]};
        }
        for (uint32_t sp = 0; sp < o->nspecial; sp++) /* the codes seen keep a bin */
            if (sg[sp] + sb[sp] > 0) {
                out->special[out->nspecial] = o->special[sp];
                sg[out->nspecial] = sg[sp], sb[out->nspecial] = sb[sp], out->nspecial++;
            }
        rc = sort_vb(v, nv);
        if (rc) goto done;
        uint32_t pre = o->prebins ? o->prebins : 1;
        s.g = calloc(pre, sizeof *s.g), s.b = calloc(pre, sizeof *s.b);
        s.last = malloc(pre * sizeof *s.last);
        double *edge = malloc(pre * sizeof *edge);
        if (!s.g || !s.b || !s.last || !edge) {
            free(edge);
            rc = TL_ENOMEM;
            goto done;
        }
        /* pre-bin upper edges at the quantiles, equal edges merged */
        for (uint32_t k = 1; k <= pre && nv; k++) {
            double e = k == pre ? INFINITY : v[(size_t)nv * k / pre - ((size_t)nv * k / pre > 0)].x;
            if (np && e <= edge[np - 1]) continue;
            edge[np++] = e;
        }
        for (uint32_t i = 0, k = 0; i < nv; i++) {
            while (v[i].x > edge[k]) k++;
            v[i].bad ? s.b[k]++ : s.g[k]++;
        }
        for (uint32_t k = 0; k < np; k++) s.last[k] = k;
        s.n = np;
        merge_all(&s, o, o->trend == TL_TREND_NONE ? 0 : o->trend == TL_TREND_ASC ? 1
                                                  : o->trend == TL_TREND_DESC ? -1
                                                                              : direction(&s));
        out->ncuts = s.n ? s.n - 1 : 0;
        out->cut = malloc((out->ncuts ? out->ncuts : 1) * sizeof *out->cut);
        if (!out->cut) rc = TL_ENOMEM;
        for (uint32_t k = 0; !rc && k < out->ncuts; k++) out->cut[k] = edge[s.last[k]];
        free(edge);
    } else {
        uint32_t nc = col->ncat;
        double *cg = calloc(nc ? nc : 1, sizeof *cg), *cb = calloc(nc ? nc : 1, sizeof *cb);
        order = malloc((nc ? nc : 1) * sizeof *order);
        out->ncat = nc;
        out->cat_bin = malloc((nc ? nc : 1) * sizeof *out->cat_bin);
        if (!cg || !cb || !order || !out->cat_bin) {
            free(cg), free(cb);
            rc = TL_ENOMEM;
            goto done;
        }
        for (uint32_t r = 0; r < n; r++) {
            uint32_t c = col->cat[r];
            if (c >= nc) bad[r] ? mb++ : mg++;
            else bad[r] ? cb[c]++ : cg[c]++;
        }
        /* the categories seen, by smoothed bad rate: an ordered list to merge */
        for (uint32_t c = 0; c < nc; c++)
            if (cg[c] + cb[c] > 0) order[np++] = (rc_t){(cb[c] + 0.5) / (cg[c] + cb[c] + 1), c};
        qsort(order, np, sizeof *order, cmp_rc);
        s.g = malloc((np ? np : 1) * sizeof *s.g), s.b = malloc((np ? np : 1) * sizeof *s.b);
        s.last = malloc((np ? np : 1) * sizeof *s.last);
        if (!s.g || !s.b || !s.last) {
            free(cg), free(cb);
            rc = TL_ENOMEM;
            goto done;
        }
        for (uint32_t k = 0; k < np; k++)
            s.g[k] = cg[order[k].c], s.b[k] = cb[order[k].c], s.last[k] = k;
        free(cg), free(cb);
        s.n = np;
        merge_all(&s, o, 1);
        for (uint32_t k = 0, p = 0; k < s.n; k++)
            for (; p <= s.last[k]; p++) out->cat_bin[order[p].c] = k;
    }
    if (rc) goto done;
    out->nregular = s.n;
    out->nbins = s.n + out->nspecial + (mg + mb > 0);
    out->good = malloc((out->nbins ? out->nbins : 1) * sizeof *out->good);
    out->bad = malloc((out->nbins ? out->nbins : 1) * sizeof *out->bad);
    out->woe = malloc((out->nbins ? out->nbins : 1) * sizeof *out->woe);
    if (!out->good || !out->bad || !out->woe) {
        rc = TL_ENOMEM;
        goto done;
    }
    for (uint32_t k = 0; k < s.n; k++) out->good[k] = s.g[k], out->bad[k] = s.b[k];
    for (uint32_t k = 0; k < out->nspecial; k++)
        out->good[s.n + k] = sg[k], out->bad[s.n + k] = sb[k];
    if (mg + mb > 0) {
        out->missing = out->nbins - 1;
        out->good[out->missing] = mg, out->bad[out->missing] = mb;
    }
    rc = finish_woe(out);
    if (!rc && out->categorical) { /* categories never seen: the riskiest bin */
        uint32_t worst = 0;
        for (uint32_t k = 1; k < out->nbins; k++)
            if (out->woe[k] < out->woe[worst]) worst = k;
        uint8_t *seen = calloc(out->ncat ? out->ncat : 1, 1);
        if (!seen) rc = TL_ENOMEM;
        for (uint32_t k = 0; seen && k < np; k++) seen[order[k].c] = 1;
        for (uint32_t c = 0; seen && c < out->ncat; c++)
            if (!seen[c]) out->cat_bin[c] = worst;
        free(seen);
    }
done:
    free(v), free(order), free(s.g), free(s.b), free(s.last), free(sg), free(sb);
    if (rc) tl_binning_fini(out);
    return rc;
}

static uint32_t riskiest(const tl_binning_t *b) {
    uint32_t worst = 0;
    for (uint32_t k = 1; k < b->nbins; k++)
        if (b->woe[k] < b->woe[worst]) worst = k;
    return worst;
}

uint32_t tl_bin_of(const tl_binning_t *b, const tl_column_t *col, uint32_t row) {
    if (b->categorical) {
        uint32_t c = col->cat[row];
        if (c < b->ncat) return b->cat_bin[c];
        return b->missing != TL_NONE ? b->missing : riskiest(b);
    }
    double x = col->num[row];
    if (isnan(x)) return b->missing != TL_NONE ? b->missing : riskiest(b);
    for (uint32_t k = 0; k < b->nspecial; k++)
        if (b->special[k] == x) return b->nregular + k;
    if (!b->nregular) return riskiest(b);
    uint32_t lo = 0, hi = b->ncuts; /* first cut >= x */
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (b->cut[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* ---- logistic regression -------------------------------------------------------- */

/* One half of the rows: their share of the Hessian X'WX (upper half) and of
 * the gradient X'(y - p) at beta. */
typedef struct {
    const double *xi; /* rows x q: [1 x] */
    const uint8_t *y;
    const double *beta;
    double *z, *eta, *h, *g;
    uint32_t rows, q;
    double ll; /* log-likelihood of the half at beta */
    const double *sw; /* row weights (NULL: 1) */
} logit_job_t;

#define LOGIT_INLINE_Q 16 /* up to this many columns one fused pass beats BLAS */

static void *logit_part(void *arg) {
    logit_job_t *j = arg;
    uint32_t q = j->q;
    memset(j->h, 0, (size_t)q * q * sizeof *j->h), memset(j->g, 0, q * sizeof *j->g);
    j->ll = 0;
    if (!j->rows) return NULL;
    if (q <= LOGIT_INLINE_Q) { /* one pass: the row's score, weight, gradient and Hessian */
        double h[LOGIT_INLINE_Q * LOGIT_INLINE_Q] = {0}, g[LOGIT_INLINE_Q] = {0};
        for (uint32_t r = 0; r < j->rows; r++) {
            const double *xr = j->xi + (size_t)r * q;
            double e = 0;
            for (uint32_t k = 0; k < q; k++) e += xr[k] * j->beta[k];
            double ex = exp(-fabs(e)), pr = e >= 0 ? 1 / (1 + ex) : ex / (1 + ex);
            double sw = j->sw ? j->sw[r] : 1;
            double w = sw * pr * (1 - pr), d = sw * (j->y[r] - pr);
            j->ll += sw * (j->y[r] * e - (fmax(e, 0) + log1p(ex)));
            for (uint32_t a = 0; a < q; a++) {
                double wa = w * xr[a];
                g[a] += d * xr[a];
                for (uint32_t b = a; b < q; b++) h[a * q + b] += wa * xr[b];
            }
        }
        memcpy(j->h, h, (size_t)q * q * sizeof *h), memcpy(j->g, g, q * sizeof *g);
        return NULL;
    }
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)j->rows, (int)q, 1.0, j->xi, (int)q, j->beta, 1,
                0.0, j->eta, 1);
    /* z = sqrt(w) [1 x] for the Hessian; eta becomes y - p for the gradient */
    for (uint32_t r = 0; r < j->rows; r++) {
        double e = j->eta[r], ex = exp(-fabs(e)), pr = e >= 0 ? 1 / (1 + ex) : ex / (1 + ex);
        double sw = j->sw ? j->sw[r] : 1, w = sqrt(sw * pr * (1 - pr));
        j->ll += sw * (j->y[r] * e - (fmax(e, 0) + log1p(ex)));
        for (uint32_t k = 0; k < q; k++) j->z[(size_t)r * q + k] = w * j->xi[(size_t)r * q + k];
        j->eta[r] = sw * (j->y[r] - pr);
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)q, (int)j->rows, 1.0, j->z, (int)q,
                0.0, j->h, (int)q);
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)j->rows, (int)q, 1.0, j->xi, (int)q, j->eta, 1,
                0.0, j->g, 1);
    return NULL;
}

int tl_logit_fit(const double *x, uint32_t n, uint32_t p, const uint8_t *y, double l2,
                 double *beta, tl_errbuf_t *eb) {
    return tl_logit_fit_w(x, n, p, y, NULL, l2, beta, eb);
}

int tl_logit_fit_w(const double *x, uint32_t n, uint32_t p, const uint8_t *y, const double *w,
                   double l2, double *beta, tl_errbuf_t *eb) {
    uint32_t q = p + 1, half = n / 2; /* with the intercept; rows split over two cores */
    double *z = malloc((size_t)(n ? n : 1) * q * sizeof *z), *h = malloc(2 * (size_t)q * q * sizeof *h);
    double *g = malloc(4 * (size_t)q * sizeof *g), *eta = malloc((size_t)(n ? n : 1) * sizeof *eta);
    double *xi = malloc((size_t)(n ? n : 1) * q * sizeof *xi);
    if (!z || !h || !g || !eta || !xi) {
        free(z), free(h), free(g), free(eta), free(xi);
        return TL_ENOMEM;
    }
    double ybar = 0;
    for (uint32_t r = 0; r < n; r++) { /* [1 x] */
        xi[(size_t)r * q] = 1;
        memcpy(xi + (size_t)r * q + 1, x + (size_t)r * p, p * sizeof *x);
        ybar += y[r];
    }
    ybar = n ? ybar / n : 0.5;
    memset(beta, 0, q * sizeof *beta);
    if (ybar > 0 && ybar < 1) beta[0] = log(ybar / (1 - ybar)); /* start at the base rate */
    logit_job_t jobs[2] = {{xi, y, beta, z, eta, h, g, half, q, 0, w},
                           {xi + (size_t)half * q, y + half, beta, z + (size_t)half * q, eta + half,
                            h + (size_t)q * q, g + q, n - half, q, 0, w ? w + half : NULL}};
    openblas_set_num_threads(1); /* the two halves are the parallelism */
    int rc = TL_EINVAL;
    double last = INFINITY, best = -INFINITY, *prev = g + 2 * (size_t)q, *step = prev + q;
    for (int it = 0, halvings = 0; it < 200; it++) {
        pthread_t th;
        int threaded = pthread_create(&th, NULL, logit_part, &jobs[1]) == 0;
        logit_part(&jobs[0]);
        if (threaded) pthread_join(th, NULL);
        else logit_part(&jobs[1]);
        double ll = jobs[0].ll + jobs[1].ll, taken = 0;
        for (uint32_t k = 1; k < q; k++) ll -= 0.5 * l2 * beta[k] * beta[k];
        if (!isfinite(ll)) break;
        if (ll < best - 1e-9 * fabs(best)) { /* worse: go half as far from the last point */
            if (++halvings > 40) break;
            for (uint32_t k = 0; k < q; k++) step[k] *= 0.5, beta[k] = prev[k] + step[k];
            continue;
        }
        halvings = 0, best = ll;
        for (uint32_t k = 0; k < q * q; k++) h[k] += h[(size_t)q * q + k];
        for (uint32_t k = 0; k < q; k++) g[k] += g[q + k];
        for (uint32_t k = 1; k < q; k++) h[(size_t)k * q + k] += l2, g[k] -= l2 * beta[k];
        for (uint32_t k = 0; k < q; k++) h[(size_t)k * q + k] += 1e-9; /* separable data */
        if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)q, 1, h, (lapack_int)q, g, 1)) break;
        for (uint32_t k = 0; k < q; k++)
            prev[k] = beta[k], step[k] = g[k], beta[k] += g[k], taken = fmax(taken, fabs(g[k]));
        if (!isfinite(taken)) break;
        /* Newton's error after a step is about the square of the step, once
         * the steps shrink that fast: then 1e-2 leaves ~1e-4 at most */
        if (taken < 1e-6 || (taken < 1e-2 && taken < 0.1 * last)) {
            rc = 0;
            break;
        }
        last = taken;
    }
    if (rc)
        tl_errbuf_set(eb, "logistic regression did not converge (separable data?); raise the "
                          "L2 penalty");
    free(z), free(h), free(g), free(eta), free(xi);
    return rc;
}

/* ---- validation ------------------------------------------------------------------- */

/* Rows sorted by score, ascending (ties by row: the sort is stable). */
static uint32_t *by_score(const double *score, uint32_t n) {
    uint32_t *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    double *k = malloc((size_t)(n ? n : 1) * sizeof *k);
    if (idx && k) {
        for (uint32_t r = 0; r < n; r++) idx[r] = r, k[r] = score[r];
        if (tl_sort_f64(k, idx, n)) free(idx), idx = NULL;
    }
    free(k);
    return idx;
}

double tl_auc(const double *score, const uint8_t *bad, uint32_t n) {
    uint32_t *idx = by_score(score, n);
    if (!idx) return NAN;
    double ng = 0, nb = 0, rank_sum = 0;
    for (uint32_t a = 0; a < n;) {
        uint32_t b = a;
        while (b < n && score[idx[b]] == score[idx[a]]) b++;
        double avg = (a + 1 + b) / 2.0; /* the tied rows share their mean rank */
        for (uint32_t k = a; k < b; k++)
            if (!bad[idx[k]]) rank_sum += avg, ng++;
            else nb++;
        a = b;
    }
    free(idx);
    if (ng == 0 || nb == 0) return NAN;
    return (rank_sum - ng * (ng + 1) / 2) / (ng * nb);
}

double tl_ks(const double *score, const uint8_t *bad, uint32_t n) {
    uint32_t *idx = by_score(score, n);
    if (!idx) return NAN;
    double ng = 0, nb = 0;
    for (uint32_t r = 0; r < n; r++) bad[r] ? nb++ : ng++;
    double cg = 0, cb = 0, ks = 0;
    for (uint32_t a = 0; a < n;) {
        uint32_t b = a;
        while (b < n && score[idx[b]] == score[idx[a]]) b++;
        for (uint32_t k = a; k < b; k++) bad[idx[k]] ? cb++ : cg++;
        if (ng > 0 && nb > 0) ks = fmax(ks, fabs(cb / nb - cg / ng));
        a = b;
    }
    free(idx);
    return ng > 0 && nb > 0 ? ks : NAN;
}
