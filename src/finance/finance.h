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
#include "ingest/ingest.h"
#include "profile/profile.h"
#include "stats/stats.h"

/* ---- binning ---------------------------------------------------------------- */

typedef enum { TL_TREND_AUTO, TL_TREND_ASC, TL_TREND_DESC, TL_TREND_NONE } tl_trend_t;

typedef struct {
    double min_share;   /* least share of the rows with a value in a bin (0.05) */
    uint32_t prebins;   /* numeric: quantile bins before merging (20) */
    uint32_t max_bins;  /* most bins besides the missing one (8) */
    double chi_merge;   /* adjacent bins merge while their chi-square is below this
                         * (0: only max_bins, min_share and the trend merge; 3.841
                         * merges bins not different at 95 %) */
    tl_trend_t trend;   /* numeric: the bad rate must rise (ASC) or fall (DESC)
                         * with the value; AUTO takes the direction of the data */
    const double *special; /* numeric codes that are not amounts (999: never
                            * contacted), each a bin of its own when seen */
    uint32_t nspecial;
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
 * such k), bin ncuts the rest (when there are values besides the special
 * ones: nregular bins); then one bin per special code seen; categorical
 * codes map through cat_bin. The missing bin, when training had missing
 * values, is the last. A value the training never saw (a missing value
 * then, a new category, a number without regular bins) goes to the
 * riskiest bin. */
typedef struct {
    int categorical;
    uint32_t nbins, ncuts, ncat, nregular, nspecial;
    double *cut;        /* ncuts ascending */
    double *special;    /* nspecial codes, bins nregular .. nregular + nspecial - 1 */
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
/* The same with a weight per row (w may be NULL). */
int tl_logit_fit_w(const double *x, uint32_t n, uint32_t p, const uint8_t *y, const double *w,
                   double l2, double *beta, tl_errbuf_t *eb);

/* ---- validation ------------------------------------------------------------------ */

/* With scores where higher is lower risk: the AUC (the chance a random good
 * scores above a random bad, ties half) and the KS statistic (the largest
 * gap between the goods' and the bads' cumulative score distributions). */
double tl_auc(const double *score, const uint8_t *bad, uint32_t n);
double tl_ks(const double *score, const uint8_t *bad, uint32_t n);

/* ---- features that must not be features (guard.c) ----------------------------- */

/* Whether column col of t must be kept out of a model's features: an
 * identifier, a function of the outcome (the column outcome, whose value
 * yes is one outcome and any other value the other; TL_NONE: no check), or
 * recorded after the treatment (the column treatment of 1 and 0; TL_NONE:
 * no check). 1 with why (cap bytes) naming the column and the reason, 0
 * when it may be a feature, or TL_ENOMEM. */
int tl_feature_guard(const tl_table_t *t, uint32_t col, uint32_t outcome, const char *yes,
                     uint32_t treatment, char *why, size_t cap);

/* ---- scorecards ---------------------------------------------------------------- */

/* Risk bands A to E by probability of default: A below band_pd[0], B below
 * band_pd[1], ..., E from band_pd[3] up. */
#define TL_NBANDS 5

typedef struct {
    tl_bin_opts_t bin;
    double min_iv;            /* features with less IV are left out (0.02) */
    double alpha;             /* features whose bins' association with the outcome is not significant at
                               * this level are left out (0.05; 1: no test) */
    double l2;                /* L2 penalty of the regression (0.001) */
    double base_points;       /* the score at base_odds (600) */
    double base_odds;         /* goods per bad at base_points (19) */
    double pdo;               /* points to double the odds (50) */
    double band_pd[TL_NBANDS - 1]; /* 0.02, 0.05, 0.10, 0.20 */
    const char *target;       /* the column of the outcome */
    const char *bad_value;    /* its value for a bad row (NULL: "1") */
    const char *id;           /* an id column, not a feature (NULL: none) */
    const char *exclude;      /* comma-separated columns not to use */
    const char *categorical;  /* comma-separated columns to treat as categories */
    const char *numeric;      /* comma-separated columns that must be numbers */
    int guard;                /* refuse columns tl_feature_guard finds, unless allowed */
    const char *allow;        /* comma-separated columns the guard lets through */
    int any_sign;             /* keep features whose coefficient has the wrong sign */
} tl_score_opts_t;

void tl_score_opts_default(tl_score_opts_t *o);

typedef struct tl_scorecard tl_scorecard_t;

/* One candidate feature of the training, kept or not. */
typedef struct {
    const char *name;
    int categorical, kept;
    double iv;
    const tl_binning_t *bin;
    const char *const *cats; /* categorical: the name of each code */
    const double *points;    /* kept: the rounded points of each bin */
    double p;                /* the chance of bins this telling from noise (NaN: not known) */
} tl_score_feature_t;

/* Trains on every row of t. Rows whose target is missing or neither the bad
 * value nor another value are counted as skipped; rows only need the
 * target, missing feature values have their bins. */
int tl_scorecard_train(const tl_table_t *t, const tl_score_opts_t *o, tl_scorecard_t **out,
                       tl_errbuf_t *eb);
/* The same on the rows r with use[r] (NULL: all). */
int tl_scorecard_train_rows(const tl_table_t *t, const tl_score_opts_t *o, const uint8_t *use,
                            tl_scorecard_t **out, tl_errbuf_t *eb);
/* The rows of t with an outcome (use[r]: only those; NULL: all) into
 * rows, each one's outcome into bad (1 bad), *n how many: t->nrows
 * entries each. TL_EINVAL when t has no target column. */
int tl_score_outcomes(const tl_table_t *t, const tl_score_opts_t *o, const uint8_t *use, uint32_t *rows,
                      uint8_t *bad, uint32_t *n, tl_errbuf_t *eb);
/* The candidate feature columns of t under o, in table order, into cols
 * (t->ncols entries): every column but the target, the id and the
 * excluded ones; with o->guard, a column tl_feature_guard finds and
 * o->allow does not name is an error naming it. */
int tl_score_candidates(const tl_table_t *t, const tl_score_opts_t *o, uint32_t *cols, uint32_t *n,
                        tl_errbuf_t *eb);
/* A cell that holds no value: empty, NA, N/A, ?, null or nan. */
int tl_cell_missing(const char *s);
/* 1 if name is in the comma-separated list (NULL: none). */
int tl_name_listed(const char *list, const char *name);
void tl_scorecard_free(tl_scorecard_t *sc);
uint32_t tl_scorecard_nfeatures(const tl_scorecard_t *sc); /* candidates */
void tl_scorecard_feature(const tl_scorecard_t *sc, uint32_t j, tl_score_feature_t *out);
const char *tl_scorecard_target(const tl_scorecard_t *sc);
/* What the training saw: rows with an outcome, bads, and the AUC and KS of
 * the rounded scores on them. */
typedef struct {
    double rows, bads, auc, ks;
} tl_scorecard_stats_t;
void tl_scorecard_stats(const tl_scorecard_t *sc, tl_scorecard_stats_t *out);

/* The result of one row. reasons are candidate feature indexes, the ones
 * costing the most points against their best bin first (TL_NONE pads). */
#define TL_NREASONS 4
typedef struct {
    double score, pd;
    int band; /* 0 = A */
    uint32_t reasons[TL_NREASONS];
} tl_score_t;

/* Binds the scorecard to a table's columns by name: TL_EINVAL (with the
 * missing column's name) when a kept feature has no column. */
typedef struct tl_scorer tl_scorer_t;
int tl_scorer_new(const tl_scorecard_t *sc, const tl_table_t *t, tl_scorer_t **out,
                  tl_errbuf_t *eb);
void tl_scorer_free(tl_scorer_t *s);
void tl_scorer_row(const tl_scorer_t *s, uint32_t row, tl_score_t *out);
/* The row's outcome: 1 bad, 0 good, -1 missing or no target column. */
int tl_scorer_bad(const tl_scorer_t *s, uint32_t row);

/* The users' profiles as a table: a "user" column with each id, then every
 * profile column as text (empty when unknown), so the store's users can be
 * scored and trained on like any file (target "defaulted", bad "yes").
 * Rows of users first .. first + n - 1 (n UINT32_MAX: to the last). */
int tl_score_users_table(const tl_profiles_t *p, const tl_dict_t *users, uint32_t first, uint32_t n,
                         tl_table_t *out);

/* The score of row user of p (a user of the dictionary users): score, PD,
 * band and reasons. TL_ENOENT when p has no such row. */
int tl_score_user(const tl_scorecard_t *sc, const tl_profiles_t *p, const tl_dict_t *users, uint32_t user,
                  tl_score_t *out, tl_errbuf_t *eb);

/* ---- validation and monitoring ---------------------------------------------------- */

typedef struct {
    uint32_t rows, bads; /* rows with an outcome, and bad ones */
    double lo, hi;       /* the scores it spans */
    double pd;           /* mean predicted probability of default */
} tl_score_bucket_t;

typedef struct {
    uint32_t rows, bads;
    double auc, ks;
    double brier;                 /* mean squared error of the PD against the outcome */
    tl_score_bucket_t decile[10]; /* by score, riskiest tenth first */
    tl_score_bucket_t band[TL_NBANDS];
} tl_score_validation_t;

/* The same figures of any model's results: res[r] of row r with outcome
 * bad[r] (1 bad, 0 good, -1 none: left out). */
int tl_score_validation(const tl_score_t *res, const int8_t *bad, uint32_t n, tl_score_validation_t *out);

/* Scores every row of t (which must have the target column) and sums up
 * how well the card ranks and how well its PD is calibrated. */
int tl_scorecard_validate(const tl_scorecard_t *sc, const tl_table_t *t,
                          tl_score_validation_t *out, tl_errbuf_t *eb);

/* Population stability of cur against base: of the score (10 bins at the
 * base's deciles) and of each kept feature over its scorecard bins
 * (feature_psi[j] NaN for features left out). Below 0.10 stable, 0.10 to
 * 0.25 watch, above 0.25 shifted. */
int tl_scorecard_psi(const tl_scorecard_t *sc, const tl_table_t *base, const tl_table_t *cur,
                     double *score_psi, double *feature_psi, tl_errbuf_t *eb);

/* An offline HTML page of the scorecard on t (with outcomes): key figures,
 * goods and bads over the score, the KS curve, default rate by band,
 * calibration by decile, PSI against base (may be NULL), each kept
 * feature's bins with WOE and points, and with a challenger (may be NULL)
 * the two side by side (tl_score_compare's figures, both calibrations). */
struct tl_boost;
int tl_scorecard_report_html(const tl_scorecard_t *sc, const struct tl_boost *challenger, const tl_table_t *t,
                             const tl_table_t *base, const char *path, tl_errbuf_t *eb);

/* ---- the challenger: gradient-boosted trees (boost.c) ----------------------------------- */

/* Beside the scorecard, never in its place: trees learn what bins and a
 * line cannot (interactions, outliers, missing values routed by the
 * trees), and the comparison tells a risk team what the scorecard's
 * explainability costs. */
typedef struct {
    uint32_t trees;      /* boosting rounds (300) */
    uint32_t depth;      /* most depth of a tree (4) */
    double eta;          /* learning rate (0.05) */
    double subsample;    /* share of rows each tree sees (0.8) */
    double colsample;    /* share of features each tree sees (0.8) */
    double min_child;    /* least hessian in a leaf (1) */
    double lambda;       /* L2 penalty on leaf weights (1) */
    int monotone;        /* numeric columns the champion binned with a monotonic bad rate are
                          * constrained the same way (1) */
    uint32_t threads;    /* threads of xgboost (1; 0: every core) */
    uint64_t seed;
} tl_boost_opts_t;

void tl_boost_opts_default(tl_boost_opts_t *o);

/* Trees on a plain matrix (gbt.c): x n x p row-major (NaN missing),
 * label 0 or 1, weight (may be NULL) per row, margin (may be NULL) each
 * row's log-odds the trees start from (the same given to predict),
 * monotone (may be NULL) per feature +1, -1 or 0, honoured when
 * o->monotone. predict: each row's
 * probability, with contrib (may be NULL) each row's p + 1 contributions
 * to the log-odds (the bias last; free it). text: xgboost's JSON (free
 * it); parse checks it has p features. */
typedef struct tl_gbt tl_gbt_t;
int tl_gbt_fit(const float *x, uint32_t n, uint32_t p, const float *label, const float *weight, const float *margin,
               const tl_boost_opts_t *o, const int8_t *monotone, tl_gbt_t **out, tl_errbuf_t *eb);
int tl_gbt_predict(const tl_gbt_t *g, const float *x, uint32_t n, double *prob, float **contrib, tl_errbuf_t *eb);
/* The same from the margins (may be NULL) with the first rounds trees
 * alone (0: all). */
int tl_gbt_predict_rounds(const tl_gbt_t *g, const float *x, uint32_t n, const float *margin, uint32_t rounds,
                          double *prob, float **contrib, tl_errbuf_t *eb);
char *tl_gbt_text(const tl_gbt_t *g, tl_errbuf_t *eb);
int tl_gbt_parse(const char *text, uint32_t p, uint32_t threads, tl_gbt_t **out, tl_errbuf_t *eb);
uint32_t tl_gbt_nfeatures(const tl_gbt_t *g);
void tl_gbt_free(tl_gbt_t *g);

typedef struct tl_boost tl_boost_t;
#define TL_BOOST_MAX_FOLDS 100

/* Trains on the rows of t with an outcome (use[r]: only those; NULL: all)
 * over the scorecard options' candidate columns (target, bad value, id,
 * exclude, categorical, numeric, guard), on its points scale and bands.
 * card (may be NULL) gives the monotone constraints. */
int tl_boost_train(const tl_table_t *t, const tl_score_opts_t *so, const tl_scorecard_t *card,
                   const tl_boost_opts_t *o, tl_boost_t **out, tl_errbuf_t *eb);
int tl_boost_train_rows(const tl_table_t *t, const tl_score_opts_t *so, const tl_scorecard_t *card,
                        const tl_boost_opts_t *o, const uint8_t *use, tl_boost_t **out, tl_errbuf_t *eb);
void tl_boost_free(tl_boost_t *b);
/* Its input columns (reasons index them), how many are constrained to a
 * direction, options and training figures. */
uint32_t tl_boost_ncolumns(const tl_boost_t *b);
const char *tl_boost_column(const tl_boost_t *b, uint32_t j);
uint32_t tl_boost_nconstrained(const tl_boost_t *b);
const tl_boost_opts_t *tl_boost_opts(const tl_boost_t *b);
void tl_boost_stats(const tl_boost_t *b, tl_scorecard_stats_t *out);

/* Every row of t (bound by column names: a missing one is an error):
 * res[r] its PD, score on the scorecard's scale, band and, with reasons,
 * reasons (the columns whose contributions raise the risk most: TreeSHAP,
 * by far the dearest part); bad (may be NULL) each row's outcome as
 * tl_scorer_bad gives it. */
int tl_boost_score(const tl_boost_t *b, const tl_table_t *t, int reasons, tl_score_t *res, int8_t *bad,
                   tl_errbuf_t *eb);
int tl_boost_validate(const tl_boost_t *b, const tl_table_t *t, tl_score_validation_t *out, tl_errbuf_t *eb);
/* The stability of its score from base to cur (10 bins at base's deciles). */
int tl_boost_psi(const tl_boost_t *b, const tl_table_t *base, const tl_table_t *cur, double *psi, tl_errbuf_t *eb);
/* The folds of tl_scorecard_cv (same seed, same folds): on each, the
 * scorecard and the challenger (constrained by that fold's scorecard)
 * trained on the rest and their AUCs on it. */
int tl_boost_cv(const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *o, uint32_t folds,
                uint64_t seed, double *card_auc, double *boost_auc, tl_errbuf_t *eb);
/* The same with the trees tuned (tl_boost_tune, 3 folds) on each fold's
 * training rows alone, the options chosen for fold k in chosen[k]. */
int tl_boost_cv_tuned(const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *o, uint32_t folds,
                      uint64_t seed, double *card_auc, double *boost_auc, tl_boost_opts_t *chosen, tl_errbuf_t *eb);
/* Chooses the trees' depth and number on the rows of use (NULL: all)
 * without looking past them: stratified folds of those rows (seed), on
 * each a scorecard (for the constraints) and trees of every depth of the
 * grid trained on the others, their AUC on it measured after each number
 * of rounds of the grid; chosen gets base with the depth, rounds and
 * learning rate of the best mean AUC (*auc). */
int tl_boost_tune(const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *base, const uint8_t *use,
                  uint32_t folds, uint64_t seed, tl_boost_opts_t *chosen, double *auc, tl_errbuf_t *eb);
/* How the scorecard and the challenger did on folds held out of the rows
 * the challenger was trained on: the whole training (the trees tuned
 * again on each fold's rows when it was tuned) repeated on each fold's
 * other rows, the mean AUCs kept with the model (folds 0: not measured). */
typedef struct {
    uint32_t folds;
    uint64_t seed;
    double card_auc, boost_auc;
} tl_boost_held_out_t;
/* Measures them on t (the table b was trained on) with folds folds of
 * b's seed, from base (the options before any tuning; tune: tuned on each
 * fold), and keeps them in b. */
int tl_boost_hold_out(tl_boost_t *b, const tl_table_t *t, const tl_score_opts_t *so, const tl_boost_opts_t *base,
                      int tune, uint32_t folds, tl_errbuf_t *eb);
void tl_boost_held_out(const tl_boost_t *b, tl_boost_held_out_t *out);
/* The same as JSON ({folds, seed, scorecard_auc, challenger_auc}; the
 * file's, the command line's and the API's), NULL when not measured. */
struct cJSON *tl_boost_held_out_json(const tl_boost_t *b);
/* As JSON (the trees in xgboost's own JSON within it): a file the user
 * names, or the store's blob "scorecards/NAME-challenger". */
int tl_boost_save(const tl_boost_t *b, const char *path, tl_errbuf_t *eb);
int tl_boost_load(const char *path, tl_boost_t **out, tl_errbuf_t *eb);
int tl_boost_put(tl_store_t *st, const char *name, const tl_boost_t *b, tl_errbuf_t *eb);
int tl_boost_get(tl_store_t *st, const char *name, tl_boost_t **out, tl_errbuf_t *eb);

/* The champion scorecard and its challenger on the same population t
 * (with outcomes): each one's validation (AUC, KS, Brier score,
 * calibration by decile and band), each score's PSI against base (may be
 * NULL: NaN), and the share of rows both put in the same band. */
typedef struct {
    tl_score_validation_t card, boost;
    double card_psi, boost_psi;
    double agree;
} tl_score_compare_t;
int tl_score_compare(const tl_scorecard_t *sc, const tl_boost_t *b, const tl_table_t *t, const tl_table_t *base,
                     tl_score_compare_t *out, tl_errbuf_t *eb);

/* ---- financial offers (offers.c) ---------------------------------------------------- */

/* The policy used when none is given: its lines show the format. */
extern const char TL_OFFERS_DEFAULT_POLICY[];

/* What just happened, for the scene rules (scene_category, scene_amount). */
typedef struct {
    const char *category;
    double amount; /* NaN: none */
} tl_offer_scene_t;

typedef struct tl_offers tl_offers_t;

/* Reads the catalogue, parses the policy (NULL: the default) and evaluates
 * every eligibility, block and scene over all users. The expressions read
 * the profiles and the policy's columns: credit_band and pd from sc (which
 * may be NULL: then no one has a band), income_band and debt_ratio,
 * consent_<purpose> (1 when the latest record grants it, 0 also for a
 * purpose nobody has a record of), scene_category and scene_amount (for
 * user only). A product whose eligibility does not compile is offered to
 * nobody (its error is kept); a policy rule that does not compile is an
 * error. */
int tl_offers_new(tl_store_t *st, const tl_profiles_t *p, const tl_scorecard_t *sc,
                  const char *policy, const tl_offer_scene_t *scene, uint32_t user,
                  tl_offers_t **out, tl_errbuf_t *eb);
/* The catalogue and the policy alone, checked over p, for one user at a
 * time with tl_offers_user. */
int tl_offers_policy(tl_store_t *st, const tl_profiles_t *p, const char *policy,
                     tl_offers_t **out, tl_errbuf_t *eb);
void tl_offers_free(tl_offers_t *o);
uint32_t tl_offers_nproducts(const tl_offers_t *o);

typedef struct {
    uint32_t product;
    const char *id, *kind, *name, *disclosure; /* borrowed from the catalogue */
    const char *eligibility;
    double apr, term, amount;                  /* amount: the typical one */
    double interest;                           /* credit: simple interest on amount over the term */
    double takeup, value;                      /* expected value of making the offer */
    int eligible, credit, scene;               /* scene: brought forward by it */
    int losing;                                /* expected loss above the margin: not made */
    const char *blocked;                       /* the first policy rule that blocks it, or NULL */
    const char *blocks[8];                     /* every rule that blocks it (the first 8) */
    int nblocks;
    const char *error;                         /* the eligibility does not compile */
} tl_offer_t;

/* 0 when scene names one of the policy's scenes, or is "home" or NULL (no
 * scene); else TL_EINVAL, eb listing the valid ones. */
int tl_offers_scene_check(const tl_offers_t *o, const char *scene, tl_errbuf_t *eb);

/* Every product for user, in order: offerable (the scene's first, then by
 * expected value), blocked, not eligible, losing. out needs
 * tl_offers_nproducts() entries; returns how many. scene may be NULL. */
uint32_t tl_offers_for(const tl_offers_t *o, uint32_t user, const char *scene, tl_offer_t *out);
/* One user's offers from the profiles and records as they are now (the
 * expressions run over that user alone; a read of st), in the order of
 * tl_offers_for; *n is how many. o is only read: threads may share it.
 * Every blocked offer is kept with its rules in DATA/offers.log (JSON
 * Lines), the user named by pseudonym (tl_store_pseudonym). TL_EINVAL for
 * a scene the policy does not have (tl_offers_scene_check). */
int tl_offers_user(const tl_offers_t *o, tl_store_t *st, const tl_profiles_t *p,
                   const tl_scorecard_t *sc, uint32_t user, const char *scene,
                   const tl_offer_scene_t *ctx, tl_offer_t *out, uint32_t *n, tl_errbuf_t *eb);

/* The offers as JSON: {"user", "scene", "offers": the first n offerable,
 * "not_offered" (with explain): the blocked, ineligible and losing ones
 * with why}. */
struct cJSON *tl_offers_json(const char *user, const char *scene, const tl_offer_t *f,
                             uint32_t total, uint32_t n, int explain);

/* Saves as JSON (auditable: bins, WOE, points, cut-offs); load checks it.
 * save/load: a file the user names (TL_ENOENT: none). put/get: the store's
 * blob "scorecards/NAME" ("scorecard", "propensity"; docs/FORMATS.md),
 * get TL_ENOENT when there is none; put outside a batch is in force at once. */
int tl_scorecard_save(const tl_scorecard_t *sc, const char *path, tl_errbuf_t *eb);
int tl_scorecard_load(const char *path, tl_scorecard_t **out, tl_errbuf_t *eb);
int tl_scorecard_put(tl_store_t *st, const char *name, const tl_scorecard_t *sc, tl_errbuf_t *eb);
int tl_scorecard_get(tl_store_t *st, const char *name, tl_scorecard_t **out, tl_errbuf_t *eb);

/* Stratified k-fold cross-validation with the rows shuffled by seed: the
 * AUC of the score on each held-out fold (auc[folds]) and the fold of each
 * row (fold may be NULL; -1 for rows without an outcome). */
int tl_scorecard_cv(const tl_table_t *t, const tl_score_opts_t *o, uint32_t folds, uint64_t seed,
                    double *auc, int32_t *fold, tl_errbuf_t *eb);
/* Those folds: fo[r] of each row (-1 without an outcome). */
int tl_score_folds(const tl_table_t *t, const tl_score_opts_t *o, uint32_t folds, uint64_t seed, int32_t *fo);

#endif
