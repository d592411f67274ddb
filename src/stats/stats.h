/* stats.h -- statistics shared by the modules above: distributions, the
 * tests and intervals of experiment reports, and the population stability
 * index of drift checks and scorecards.
 *
 * The statistics follow scipy.stats and statsmodels to 1e-9 (tests compare
 * them against vectors computed with them): two-sided tests, 95 % intervals
 * unless told otherwise; a figure undefined at zero counts is NaN.
 */
#ifndef TL_STATS_H
#define TL_STATS_H
#include <stdint.h>

/* ---- distributions (stats.c) ------------------------------------------------ */

double tl_norm_cdf(double z);
double tl_norm_sf(double z);
double tl_norm_ppf(double p);
/* Student's t with df degrees of freedom (df > 0, not necessarily whole). */
double tl_t_cdf(double t, double df);
double tl_t_sf(double t, double df);
double tl_t_ppf(double p, double df);
/* The survival function of chi-square with k degrees of freedom. */
double tl_chi2_sf(double x, double k);
/* The regularized incomplete beta I_x(a, b) and upper gamma Q(a, x). */
double tl_betainc(double a, double b, double x);
double tl_gammaincc(double a, double x);

/* ---- tests ---------------------------------------------------------------------- */

/* Wilson score interval of k successes in n at confidence conf. */
void tl_wilson(double k, double n, double conf, double *lo, double *hi);

/* Two proportions, b against a (treatment b, control a): the difference
 * pb - pa with Newcombe's hybrid score interval (method 10, from Wilson
 * intervals), the relative lift pb/pa - 1 with the Miettinen–Nurminen
 * score interval of the ratio, and the z-test with the pooled proportion
 * (two-sided p; 0 and 1 when no one or everyone converted). Both
 * intervals behave at zero counts; what is undefined there is NaN (the
 * lift when the control has no conversions, with rel_hi +inf; the lift's
 * interval when neither group has any). Checked against statsmodels. */
typedef struct {
    double pa, pb, diff, diff_lo, diff_hi, rel, rel_lo, rel_hi, z, p;
} tl_prop_test_t;
void tl_prop_test(double ka, double na, double kb, double nb, double conf, tl_prop_test_t *out);

/* Welch's t-test of mean b against mean a from summary statistics
 * (variances with ddof 1): t, the Welch–Satterthwaite df, two-sided p, and
 * the interval of the difference of means. */
typedef struct {
    double diff, lo, hi, t, df, p, rel, rel_lo, rel_hi;
} tl_welch_t;
void tl_welch(double ma, double va, double na, double mb, double vb, double nb, double conf,
              tl_welch_t *out);

/* Pearson's chi-square goodness of fit of observed counts against expected
 * shares (normalised to the observed total): statistic and p (k - 1 df). */
void tl_chisquare(const double *obs, const double *share, int k, double *chi2, double *p);

/* Adjusted p-values for m tests: Holm's step-down or Benjamini–Hochberg. */
void tl_p_holm(const double *p, int m, double *adj);
void tl_p_bh(const double *p, int m, double *adj);

/* ---- population stability (psi.c) -------------------------------------------- */

/* The population stability index of b against a: bins at the quantiles of
 * a (equal edges merge; NaN values form a bin of their own), proportions
 * floored at 0.0001, PSI = sum (pb - pa) ln(pb / pa). The usual reading:
 * below 0.10 stable, 0.10 to 0.25 watch, above 0.25 shifted (tl_psi_reading). */
double tl_psi(const double *a, uint32_t na, const double *b, uint32_t nb, int bins);
/* The same over given bins: ca and cb count each population per bin. */
double tl_psi_counts(const double *ca, const double *cb, uint32_t k);

/* The reading of a PSI: "stable", "watch" or "shifted" (also for NaN:
 * "stable", nothing measured). */
const char *tl_psi_reading(double psi);

#endif
