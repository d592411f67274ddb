/* finance.h -- consumer finance: credit scorecards (binning, WOE and IV,
 * logistic regression on WOE, points with base odds and PDO, validation,
 * reason codes, PSI).
 *
 * Conventions: a row is "bad" (defaulted, the event) when bad[row] is 1.
 * WOE is ln(share of goods / share of bads), so a higher WOE is lower risk,
 * and a higher score is lower risk. Counts in WOE carry 0.5 added to each
 * side so empty bins stay finite.
 */
#ifndef TL_FINANCE_H
#define TL_FINANCE_H

#include <stdint.h>

#include "core/core.h"

/* ---- binning ---------------------------------------------------------------- */

typedef enum { TL_TREND_AUTO, TL_TREND_ASC, TL_TREND_DESC, TL_TREND_NONE } tl_trend_t;

typedef struct {
    double min_share;   /* least share of the rows with a value in a bin (0.05) */
    uint32_t prebins;   /* numeric: quantile bins before merging (20) */
    uint32_t max_bins;  /* most bins besides the missing one (8) */
    double chi_merge;   /* adjacent bins merge while their chi-square is below this
                         * (3.841: not different at 95 %) */
    tl_trend_t trend;   /* numeric: the bad rate must rise (ASC) or fall (DESC)
                         * with the value; AUTO takes the direction of the data */
} tl_bin_opts_t;

void tl_bin_opts_default(tl_bin_opts_t *o);

/* One feature: numeric values (NaN: missing) or categorical codes below
 * ncat (TL_NONE: missing). */
typedef struct {
    int categorical;
    const double *num;
    const uint32_t *cat;
    uint32_t ncat;
} tl_column_t;

/* Bins of one feature. Numeric bin k < ncuts holds x <= cut[k] (the first
 * such k), bin ncuts the rest; categorical codes map through cat_bin. The
 * missing bin, when training had missing values, is the last. A value the
 * training never saw (a missing value then, a new category) goes to the
 * riskiest bin. */
typedef struct {
    int categorical;
    uint32_t nbins, ncuts, ncat;
    double *cut;        /* ncuts ascending */
    uint32_t *cat_bin;  /* ncat entries */
    uint32_t missing;   /* the missing bin or TL_NONE */
    double *good, *bad; /* rows per bin */
    double *woe;
    double iv;
} tl_binning_t;

int tl_bin_fit(const tl_column_t *col, const uint8_t *bad, uint32_t n, const tl_bin_opts_t *o,
               tl_binning_t *out);
uint32_t tl_bin_of(const tl_binning_t *b, const tl_column_t *col, uint32_t row);
void tl_binning_fini(tl_binning_t *b);

/* ---- logistic regression ------------------------------------------------------ */

/* Fits P(y = 1) = 1 / (1 + exp(-(beta[0] + x . beta[1..p]))) by Newton
 * steps (IRLS) solved with LAPACK, L2 penalty l2 on beta[1..p]; x is n x p
 * row-major. Returns TL_EINVAL (with a message) if it does not converge. */
int tl_logit_fit(const double *x, uint32_t n, uint32_t p, const uint8_t *y, double l2,
                 double *beta, tl_errbuf_t *eb);

/* ---- validation ------------------------------------------------------------------ */

/* With scores where higher is lower risk: the AUC (the chance a random good
 * scores above a random bad, ties half) and the KS statistic (the largest
 * gap between the goods' and the bads' cumulative score distributions). */
double tl_auc(const double *score, const uint8_t *bad, uint32_t n);
double tl_ks(const double *score, const uint8_t *bad, uint32_t n);

#endif
