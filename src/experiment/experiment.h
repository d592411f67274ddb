/* experiment.h -- what a campaign earned: statistics for A/B/n tests with a
 * hold-out, attribution of conversions to exposures, ROI, uplift models
 * and the campaign report.
 *
 * The distributions and tests are those of stats/stats.h; a figure
 * undefined at zero counts is NaN, printed "n/a" (tl_fmt_figure) or null.
 */
#ifndef TL_EXPERIMENT_H
#define TL_EXPERIMENT_H
#include "campaign/campaign.h"
#include "stats/stats.h"

/* ---- attribution and the campaign report (attrib.c) ---------------------------- */

#define TL_GROUP_HOLDOUT (-1)

typedef struct {
    char name[32];             /* the arm's name, or "holdout" */
    int arm;                   /* arm index, or TL_GROUP_HOLDOUT */
    double share;              /* expected share of the measured users */
    uint64_t users;            /* reach: users measured */
    uint64_t converted, conversions, orders, repeaters;
    double revenue, rev_var;   /* revenue per user: mean and variance (ddof 1) */
    double aov;                /* revenue / orders */
    double pre_mean, pre_var;  /* pre-period revenue per user */
    double cuped_mean, cuped_var;
    uint64_t unsubscribed, complained;
    double conv_lo, conv_hi;   /* Wilson interval of the conversion rate */
    double sends, cost;
    /* against the control group (the hold-out, else the first arm) */
    int compared;
    tl_prop_test_t conv;
    tl_welch_t rev, rev_cuped;
    double p_conv_adj, p_rev_adj;
    double incr_conversions, incr_revenue, incr_revenue_lo, incr_revenue_hi;
    double roi, roi_lo, roi_hi; /* NaN without cost */
} tl_group_stats_t;

typedef struct {
    char campaign[65];
    int64_t first_at, last_at, window_ms, pre_ms;
    int ngroups;
    tl_group_stats_t g[TL_CAMPAIGN_MAX_ARMS + 1];
    int control;               /* index in g of the control group, -1: none */
    uint64_t decisions[TL_DEC__N];
    double srm_chi2, srm_p;
    int srm_flag;              /* p < 0.001 */
    double cuped_theta;
    int correction;            /* 0 Holm, 1 Benjamini–Hochberg */
    double conf;
    /* cumulative conversions by day since exposure, per group */
    uint32_t ndays;
    double *cum;               /* ngroups x ndays: converted users share */
} tl_experiment_report_t;

typedef struct {
    double conf;               /* default 0.95 */
    int correction;            /* 0 Holm, 1 Benjamini–Hochberg */
    int64_t window_ms, pre_ms; /* 0: the campaign's */
} tl_report_opts_t;

int tl_experiment_report(tl_store_t *st, const tl_campaign_t *c, const tl_report_opts_t *o,
                         tl_experiment_report_t *out, tl_errbuf_t *eb);
void tl_experiment_report_fini(tl_experiment_report_t *r);
/* The report as JSON: decisions, sample ratio, and per group reach,
 * conversion, revenue, rates, the lift against the control with its
 * interval (null where a figure is not defined), and the cumulative share
 * converted by each day since the first exposure. */
struct cJSON *tl_experiment_report_json(const tl_campaign_t *c, const tl_experiment_report_t *r);
/* A number, or null when it is not finite (JSON has no NaN). */
struct cJSON *tl_json_number(double v);

struct tl_qini;
/* The report as an offline HTML page (q: the Qini curve of an uplift
 * model, or NULL). */
int tl_experiment_report_html(const tl_campaign_t *c, const tl_experiment_report_t *r,
                              const struct tl_qini *q, const char *path, tl_errbuf_t *eb);

/* Per-user outcome table of an experiment (the input of uplift models):
 * treatment (1 delivered, 0 hold-out), converted, revenue, for every
 * measured user. */
typedef struct {
    uint32_t *user;
    uint8_t *treated, *converted;
    double *revenue;
    uint64_t n;
} tl_outcomes_t;
int tl_experiment_outcomes(tl_store_t *st, const tl_campaign_t *c, tl_outcomes_t *out,
                           tl_errbuf_t *eb);
void tl_outcomes_fini(tl_outcomes_t *o);

/* ---- uplift (uplift.c) -------------------------------------------------------------- */

/* Who is moved by a treatment: models of uplift(x) = P(y | x, treated) -
 * P(y | x, control) from an experiment's rows.
 *   two-model: a logistic regression on the treated rows and one on the
 *     control rows; uplift = p_treated(x) - p_control(x).
 *   class transformation: z = 1 for treated converters and control
 *     non-converters, rows weighted so both groups weigh the same; then
 *     uplift = 2 P(z | x) - 1 (Jaskowski and Jaroszewicz).
 *   trees: both lines above, then gradient-boosted trees (finance's
 *     tl_gbt_t) of z boosted from one line's log-odds of z, which find the
 *     interactions and thresholds where the effect lives; the line, the
 *     trees' settings and their number chosen by the Qini coefficient on a
 *     quarter of the units held out of training, no trees kept when a line
 *     alone does best.
 * The logistic models' features are standardised (means and deviations
 * kept in the model); missing values count as the mean. */
enum { TL_UPLIFT_TWO_MODEL, TL_UPLIFT_CLASS, TL_UPLIFT_TREES };
#define TL_UPLIFT_MAX_F 32
struct tl_gbt;
typedef struct {
    int method;
    struct tl_gbt *trees; /* TL_UPLIFT_TREES: the trees of z over the line, or NULL (tl_uplift_model_fini
                           * frees them) */
    uint32_t p;
    char names[TL_UPLIFT_MAX_F][64];
    double mean[TL_UPLIFT_MAX_F], sd[TL_UPLIFT_MAX_F];
    double beta_t[TL_UPLIFT_MAX_F + 1], beta_c[TL_UPLIFT_MAX_F + 1];
    double beta_z[TL_UPLIFT_MAX_F + 1]; /* TL_UPLIFT_TREES: the class transformation's line */
    int base;                           /* TL_UPLIFT_TREES: the line the trees start from
                                         * (TL_UPLIFT_TWO_MODEL or TL_UPLIFT_CLASS) */
    uint64_t n_treated, n_control;
    /* measured at training on units held out of it (test_units 0: never,
     * as in files from before the measure was kept; test_qini NaN then) */
    uint64_t test_units;
    double test_qini;
} tl_uplift_model_t;

/* x is n x p row-major (NaN: missing); names p feature names. */
int tl_uplift_fit(const double *x, uint32_t n, uint32_t p, const char *const *names,
                  const uint8_t *treated, const uint8_t *y, int method, double l2,
                  tl_uplift_model_t *m, tl_errbuf_t *eb);
double tl_uplift_predict(const tl_uplift_model_t *m, const double *row);
/* The uplift of n rows of x (n x m->p) into out: one call of the trees. */
int tl_uplift_predict_rows(const tl_uplift_model_t *m, const double *x, uint32_t n, double *out, tl_errbuf_t *eb);
void tl_uplift_model_fini(tl_uplift_model_t *m);
/* The method's name in files and messages: two-model, class-transformation, trees. */
const char *tl_uplift_method_name(int method);
/* save/load: a file the user names (TL_ENOENT: none). put/get: the store's
 * blob "uplift/CAMPAIGN" (the model of the campaign's experiment; "csv"
 * for one trained on a table), get TL_ENOENT when there is none. */
int tl_uplift_save(const tl_uplift_model_t *m, const char *path, tl_errbuf_t *eb);
int tl_uplift_load(const char *path, tl_uplift_model_t *m, tl_errbuf_t *eb);
int tl_uplift_put(tl_store_t *st, const char *campaign, const tl_uplift_model_t *m, tl_errbuf_t *eb);
int tl_uplift_get(tl_store_t *st, const char *campaign, tl_uplift_model_t *m, tl_errbuf_t *eb);
/* What a model is, as JSON: method (two_model, class_transformation),
 * treated and control units trained on, the held-out units and their Qini
 * coefficient (null when not measured), features. */
struct cJSON *tl_uplift_summary_json(const tl_uplift_model_t *m);

/* An experiment as a table (uplift_table.c): one row a unit, with its
 * treatment (1 treated, 0 control) and outcome (1 converted, 0 not) in two
 * columns. A feature is a column of numbers, or a column of text expanded
 * into indicators "COL=LEVEL" (1 where it holds LEVEL), one for every level
 * but the most frequent, at most TL_UPLIFT_MAX_LEVELS; "COL=LEVEL" is also
 * read as named, so a model's names read its features from any table. */
#define TL_UPLIFT_MAX_LEVELS 15
typedef struct {
    const char *treatment, *outcome; /* columns; NULL: not read (applying a model) */
    const char *id;       /* a column naming each unit, never a feature (NULL: none) */
    const char *features; /* comma-separated names; NULL: every other column */
    int guard;            /* refuse features tl_feature_guard finds (training) ... */
    const char *allow;    /* ... but those named here, comma-separated */
} tl_uplift_table_opts_t;

typedef struct {
    uint32_t n, p;
    uint8_t *t, *y; /* NULL when not read */
    double *x;      /* n x p, NaN: missing */
    char names[TL_UPLIFT_MAX_F][64];
} tl_uplift_rows_t;

/* The rows of t (read from where, for messages) as o says; eb names a
 * refused or missing column, a value of treatment or outcome that is not 0
 * or 1 (TL_EBADINPUT), or too many features. */
int tl_uplift_table_rows(const tl_table_t *t, const char *where, const tl_uplift_table_opts_t *o,
                         tl_uplift_rows_t *r, tl_errbuf_t *eb);
void tl_uplift_rows_fini(tl_uplift_rows_t *r);

/* What targeting the top `top` % of n users by their predicted uplift
 * would bring: the sum of their uplifts as incremental conversions, the
 * profit (value x margin each) against the cost of the messages, the ROI.
 * supported is 0 when the model's Qini coefficient on held-out units is
 * not above 0, or was never measured: the figures are then the model's
 * belief, not borne out by data it was not trained on, and why says so
 * for the user. TL_ENOMEM, or 0. */
typedef struct {
    uint32_t users, targeted;
    double min_uplift, incremental, profit, cost, roi; /* roi NaN without cost */
    int supported;
    char why[320];
} tl_uplift_projection_t;
int tl_uplift_project(const tl_uplift_model_t *m, const double *uplift, uint32_t n, double top, double value,
                      double margin, double cost, tl_uplift_projection_t *out);

/* The Qini curve of a ranking (rows sorted by score, highest first): after
 * the top t rows, Q(t) = yT(t) - yC(t) nT(t) / nC(t). The Qini coefficient
 * is the area between Q and the straight line to Q(n) over that of the best
 * possible ranking (treated converters first, control converters last);
 * AUUC the mean over t of the uplift curve (yT/nT - yC/nC)(nT + nC) / n;
 * uplift_at[k] the difference of conversion rates in the top 10(k+1) %. The
 * curve is kept at `points` evenly spaced cut-offs (fractions frac). A
 * figure without the rows to define it is NaN: every one for n = 0, the
 * Qini coefficient when no ranking can beat random, an uplift_at whose top
 * part holds no treated or no control rows. */
typedef struct tl_qini {
    uint32_t points;
    double *frac, *qini, *random; /* points + 1 values, from 0 */
    double qini_coef, auuc;
    double uplift_at[10];
    uint64_t n, n_treated, n_control;
} tl_qini_t;
int tl_qini(const double *score, const uint8_t *treated, const uint8_t *y, uint32_t n,
            uint32_t points, tl_qini_t *out);
void tl_qini_fini(tl_qini_t *q);
#endif
