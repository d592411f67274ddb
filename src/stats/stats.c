/* stats.c -- the distributions and tests behind experiment reports.
 *
 * The regularized incomplete beta function is evaluated by its continued
 * fraction (modified Lentz), on the side of the symmetry relation where it
 * converges fast; the upper incomplete gamma function by its series below
 * a + 1 and its continued fraction above. Quantiles of the normal come
 * from Acklam's rational approximation refined by a Halley step on erfc;
 * those of Student's t by Newton steps on the CDF from the normal's,
 * guarded by bisection. Each is accurate to about 1e-13 relative, well
 * within the 1e-9 the tests ask of them against scipy.stats. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double tl_norm_cdf(double z) { return 0.5 * erfc(-z / M_SQRT2); }
double tl_norm_sf(double z) { return 0.5 * erfc(z / M_SQRT2); }

double tl_norm_ppf(double p) {
    if (!(p > 0 && p < 1)) return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double x, q, r;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - 0.02425) {
        q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* Halley refinement, twice */
    for (int k = 0; k < 2; k++) {
        double e = (p < 0.5 ? tl_norm_cdf(x) - p : -(tl_norm_sf(x) - (1 - p)));
        double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
        x = x - u / (1 + x * u / 2);
    }
    return x;
}

/* Continued fraction for I_x(a, b) (Lentz). */
static double betacf(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

double tl_betainc(double a, double b, double x) {
    if (!(x > 0)) return x == 0 ? 0 : NAN;
    if (!(x < 1)) return x == 1 ? 1 : NAN;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * betacf(a, b, x) / a;
    return 1 - exp(lbt) * betacf(b, a, 1 - x) / b;
}

double tl_gammaincc(double a, double x) {
    if (!(x > 0)) return x == 0 ? 1 : NAN;
    double lg = a * log(x) - x - lgamma(a);
    if (x < a + 1) {
        double sum = 1 / a, del = sum, ap = a;
        for (int n = 0; n < 100000; n++) {
            ap += 1, del *= x / ap, sum += del;
            if (fabs(del) < fabs(sum) * 1e-17) break;
        }
        return 1 - sum * exp(lg);
    }
    const double tiny = 1e-300;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < 100000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return exp(lg) * h;
}

double tl_t_sf(double t, double df) {
    if (isnan(t) || !(df > 0)) return NAN;
    if (isinf(t)) return t > 0 ? 0 : 1;
    double x = df / (df + t * t);
    /* P(T > |t|) = I_x(df/2, 1/2) / 2 */
    double tail = 0.5 * tl_betainc(df / 2, 0.5, x);
    return t > 0 ? tail : 1 - tail;
}

double tl_t_cdf(double t, double df) { return tl_t_sf(-t, df); }

double tl_t_ppf(double p, double df) {
    if (!(p > 0 && p < 1)) return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    if (p == 0.5) return 0;
    /* solve in the tail nearer p, by symmetry */
    double q = p < 0.5 ? p : 1 - p;
    double x = -tl_norm_ppf(q); /* a start: t is heavier-tailed, so x is too small */
    double lo = 0, hi = x;
    while (tl_t_sf(hi, df) > q) hi = hi * 2 + 1;
    x = hi;
    for (int k = 0; k < 200; k++) {
        double f = tl_t_sf(x, df) - q;
        if (f > 0) lo = x;
        else hi = x;
        /* density of t */
        double dens = exp(lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * M_PI) -
                          (df + 1) / 2 * log1p(x * x / df));
        double nx = x + f / dens;
        if (!(nx > lo && nx < hi)) nx = (lo + hi) / 2;
        if (fabs(nx - x) <= 1e-15 * fabs(nx)) {
            x = nx;
            break;
        }
        x = nx;
    }
    return p < 0.5 ? -x : x;
}

double tl_chi2_sf(double x, double k) {
    if (!(k > 0)) return NAN;
    if (x <= 0) return 1;
    return tl_gammaincc(k / 2, x / 2);
}

void tl_wilson(double k, double n, double conf, double *lo, double *hi) {
    if (!(n > 0)) {
        *lo = *hi = NAN;
        return;
    }
    double z = tl_norm_ppf(1 - (1 - conf) / 2), p = k / n, z2 = z * z;
    double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    double half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = centre - half, *hi = centre + half;
}

/* The Miettinen–Nurminen score statistic of the ratio theta = p1 / p0
 * (x1 of n1 against x0 of n0): p1 - theta p0 over its standard error
 * under the restricted maximum-likelihood proportions, with the variance
 * corrected by n / (n - 1). Decreasing in theta; 0 where the difference
 * and its variance both vanish (everyone converted, at theta 1). */
static double mn_ratio_z(double x1, double n1, double x0, double n0, double theta) {
    double n = n1 + n0, x = x1 + x0;
    double a = n * theta, b = -(n1 * theta + x1 + n0 + x0 * theta), disc = b * b - 4 * a * x;
    /* the smaller root of a p^2 + b p + x, in the form without cancellation */
    double q0 = 2 * x / (-b + sqrt(disc > 0 ? disc : 0)), q1 = theta * q0;
    double var = (q1 * (1 - q1) / n1 + theta * theta * q0 * (1 - q0) / n0) * n / (n - 1);
    double d = x1 / n1 - theta * x0 / n0;
    if (!(var > 0)) return d == 0 ? 0 : copysign(INFINITY, d);
    return d / sqrt(var);
}

/* The theta where mn_ratio_z equals target, searched in log theta from
 * start outwards, then by bisection: 0 or +inf when the statistic never
 * gets there (a group without conversions). */
static double mn_ratio_root(double x1, double n1, double x0, double n0, double start, double target) {
    int below = mn_ratio_z(x1, n1, x0, n0, exp(start)) < target, dir = below ? -1 : 1;
    double near = start, far, step = 0.5;
    for (;;) { /* a bracket: the side of target changes between near and far */
        far = start + dir * step;
        if (fabs(far) > 300) return dir < 0 ? 0 : INFINITY;
        if ((mn_ratio_z(x1, n1, x0, n0, exp(far)) < target) != below) break;
        near = far, step *= 2;
    }
    for (int k = 0; k < 200 && fabs(far - near) > 1e-15 * fmax(1, fabs(far)); k++) {
        double mid = (near + far) / 2;
        if ((mn_ratio_z(x1, n1, x0, n0, exp(mid)) < target) == below) near = mid;
        else far = mid;
    }
    return exp((near + far) / 2);
}

void tl_prop_test(double ka, double na, double kb, double nb, double conf, tl_prop_test_t *o) {
    memset(o, 0, sizeof *o);
    double z = tl_norm_ppf(1 - (1 - conf) / 2);
    o->pa = na > 0 ? ka / na : NAN;
    o->pb = nb > 0 ? kb / nb : NAN;
    o->diff = o->pb - o->pa;
    /* Newcombe's hybrid score interval (his method 10) from the two Wilson
     * intervals: it stays inside [-1, 1] and does not shrink to a point
     * when a group has no conversions, as the Wald interval does */
    double la, ha, lb, hb;
    tl_wilson(ka, na, conf, &la, &ha);
    tl_wilson(kb, nb, conf, &lb, &hb);
    o->diff_lo = o->diff - sqrt((o->pb - lb) * (o->pb - lb) + (ha - o->pa) * (ha - o->pa));
    o->diff_hi = o->diff + sqrt((hb - o->pb) * (hb - o->pb) + (o->pa - la) * (o->pa - la));
    double pool = (ka + kb) / (na + nb), sep = sqrt(pool * (1 - pool) * (1 / na + 1 / nb));
    o->z = sep > 0 ? o->diff / sep : 0;
    o->p = sep > 0 ? 2 * tl_norm_sf(fabs(o->z)) : 1;
    /* relative lift: the Miettinen–Nurminen score interval of the ratio,
     * open above when the control has no conversions (the lift itself is
     * then undefined) and from -100 % when the arm has none; undefined
     * when neither has */
    o->rel = o->pa > 0 ? o->pb / o->pa - 1 : NAN;
    o->rel_lo = o->rel_hi = NAN;
    if (na > 0 && nb > 0 && ka + kb > 0) {
        /* from the estimate with half a conversion added to each group:
         * finite whatever the counts */
        double start = log((kb + 0.5) / (nb + 1)) - log((ka + 0.5) / (na + 1));
        o->rel_lo = mn_ratio_root(kb, nb, ka, na, start, z) - 1;
        o->rel_hi = mn_ratio_root(kb, nb, ka, na, start, -z) - 1;
    }
}

void tl_welch(double ma, double va, double na, double mb, double vb, double nb, double conf,
              tl_welch_t *o) {
    memset(o, 0, sizeof *o);
    o->diff = mb - ma;
    double sa = va / na, sb = vb / nb, se = sqrt(sa + sb);
    o->df = (sa + sb) * (sa + sb) / (sa * sa / (na - 1) + sb * sb / (nb - 1));
    if (!(se > 0)) {
        o->t = 0, o->p = 1, o->lo = o->hi = o->diff, o->df = na + nb - 2;
    } else {
        o->t = o->diff / se;
        o->p = 2 * tl_t_sf(fabs(o->t), o->df);
        double q = tl_t_ppf(1 - (1 - conf) / 2, o->df);
        o->lo = o->diff - q * se, o->hi = o->diff + q * se;
    }
    o->rel = ma != 0 ? o->diff / ma : NAN;
    o->rel_lo = ma != 0 ? o->lo / ma : NAN;
    o->rel_hi = ma != 0 ? o->hi / ma : NAN;
}

void tl_chisquare(const double *obs, const double *share, int k, double *chi2, double *p) {
    double n = 0, s = 0, x = 0;
    for (int i = 0; i < k; i++) n += obs[i], s += share[i];
    for (int i = 0; i < k; i++) {
        double e = n * share[i] / s;
        if (e > 0) x += (obs[i] - e) * (obs[i] - e) / e;
    }
    *chi2 = x;
    *p = k > 1 ? tl_chi2_sf(x, k - 1) : 1;
}

typedef struct {
    double p;
    int i;
} pidx_t;

static int cmp_p(const void *a, const void *b) {
    const pidx_t *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p ? 1 : x->i - y->i;
}

static pidx_t *sorted(const double *p, int m) {
    pidx_t *s = malloc((size_t)(m > 0 ? m : 1) * sizeof *s);
    if (!s) return NULL;
    for (int i = 0; i < m; i++) s[i] = (pidx_t){p[i], i};
    qsort(s, (size_t)m, sizeof *s, cmp_p);
    return s;
}

void tl_p_holm(const double *p, int m, double *adj) {
    pidx_t *s = sorted(p, m);
    if (!s) {
        for (int i = 0; i < m; i++) adj[i] = fmin(1, p[i] * m); /* Bonferroni: never smaller */
        return;
    }
    double run = 0;
    for (int r = 0; r < m; r++) {
        double v = fmin(1, (m - r) * s[r].p);
        if (v > run) run = v;
        adj[s[r].i] = run;
    }
    free(s);
}

void tl_p_bh(const double *p, int m, double *adj) {
    pidx_t *s = sorted(p, m);
    if (!s) {
        for (int i = 0; i < m; i++) adj[i] = fmin(1, p[i] * m);
        return;
    }
    double run = 1;
    for (int r = m - 1; r >= 0; r--) {
        double v = fmin(1, s[r].p * m / (r + 1));
        if (v < run) run = v;
        adj[s[r].i] = run;
    }
    free(s);
}
