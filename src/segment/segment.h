/* segment.h -- groups of users: RFM segments, rule segments, tags and
 * clusters over the profile columns. Users who withdrew profiling
 * (tl_profile_withdrawn) are in none of them.
 *
 * RFM scores are quintiles among the users who bought (orders >= 1): the
 * values are sorted ascending, equal values take the position r (from 0) of
 * the first of them, and r of n scores 1 + floor(5 r / n); so all the
 * customers with a single order share the lowest F. Recency is scored the
 * other way round (the most recent fifth gets 5). FM is the mean of F and M
 * rounded half up. The named segments are read off a 5 x 5 grid of R and FM:
 *
 *         FM=1           FM=2                FM=3            FM=4-5
 *   R=5   New            Potential Loyalist  Loyal           Champions
 *   R=4   Promising      Potential Loyalist  Loyal           Champions
 *   R=3   About to Sleep About to Sleep      Need Attention  Loyal
 *   R=2   Lost           Hibernating         At Risk         At Risk
 *   R=1   Lost           Hibernating         At Risk         Can't Lose
 */
#ifndef TL_SEGMENT_H
#define TL_SEGMENT_H

#include "expr/expr.h"
#include "profile/profile.h"

#define TL_RFM_SEGMENTS(XX)                                                    \
    XX(CHAMPIONS, "Champions", "champions") XX(LOYAL, "Loyal", "loyal")           \
    XX(POTENTIAL, "Potential Loyalist", "potential_loyalist") XX(NEW, "New", "new") \
    XX(PROMISING, "Promising", "promising") XX(NEED_ATTENTION, "Need Attention", "need_attention") \
    XX(ABOUT_TO_SLEEP, "About to Sleep", "about_to_sleep") XX(AT_RISK, "At Risk", "at_risk") \
    XX(CANT_LOSE, "Can't Lose", "cant_lose") XX(HIBERNATING, "Hibernating", "hibernating") \
    XX(LOST, "Lost", "lost")

enum {
#define XX(c, s, code) TL_RFM_##c,
    TL_RFM_SEGMENTS(XX)
#undef XX
    TL_RFM__N
};

/* The segment's name for people ("Champions"), and its code for programs
 * ("champions"). */
const char *tl_rfm_name(int segment);
const char *tl_rfm_code(int segment);

typedef struct {
    uint32_t size;
    double recency_days, orders, monetary; /* means over the segment */
} tl_rfm_segment_t;

typedef struct {
    uint32_t customers;        /* users with at least one order */
    tl_rfm_segment_t seg[TL_RFM__N];
    uint32_t grid[5][5];       /* users by R (row 0 = R1) and FM (col 0 = FM1) */
    /* per user: R, F, M scores (0 for non-buyers) and segment (TL_NONE) */
    uint8_t *r, *f, *m;
    uint32_t *segment;
    uint32_t n;
} tl_rfm_t;

/* ---- rule segments ---------------------------------------------------------- */

/* The profile columns as a table for the expression language, with
 * count(type, Nd) computed from the store's event log (st may be NULL:
 * then count() is refused). Valid while p (and st) live. */
typedef struct tl_segtable tl_segtable_t;
int tl_segtable_new(const tl_profiles_t *p, tl_store_t *st, tl_segtable_t **out);
void tl_segtable_free(tl_segtable_t *t);
const tl_expr_table_t *tl_segtable_expr(tl_segtable_t *t);

/* Evaluates a condition over every user: mask[u] = 1 for members (mask has
 * tl_profile_nusers(p) bytes); *size gets the number of members. */
int tl_segment_eval(tl_segtable_t *t, const char *expr, uint8_t *mask, uint32_t *size,
                    tl_expr_err_t *err);

/* The rule for a segment's name, the same wherever one is given (the
 * command line, the API): 1 to TL_SEGMENT_NAME_MAX bytes of ASCII
 * letters, digits, _ and -, so that it is read back as it was written in a
 * URL's path, a shell word, a file name or a report. 0, or TL_EBADINPUT
 * with what is wrong and what to do in eb. */
#define TL_SEGMENT_NAME_MAX 64
int tl_segment_name_check(const char *name, tl_errbuf_t *eb);
/* Keeps the segment `name` defined by expr (which the caller evaluated
 * over the profiles, to refuse a bad one with where it is wrong), after
 * tl_segment_name_check: 1 when the name is new, 0 when it replaced a
 * definition, or an error. Outside batches. */
int tl_segment_define(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb);

/* Sizes of two masks, their intersection and union, and the Jaccard index. */
typedef struct {
    uint32_t a, b, both, either;
    double jaccard;
} tl_overlap_t;
void tl_segment_overlap(const uint8_t *a, const uint8_t *b, uint32_t n, tl_overlap_t *out);

/* ---- tags ---------------------------------------------------------------------- */

/* Tag rules, one per line ('#' starts a comment):
 *   tag careful_buyer = detail_views_before_purchase >= 3      (a yes/no tag)
 *   tag spend = "high" if monetary_365d > 1000                  (a category tag:
 *   tag spend = "low" if true                                    first match wins)
 * Each tag becomes a profile column tag_<name>: counts 0/1 for yes/no tags
 * (has_tag("careful_buyer") reads them), a category for the others. Later
 * rules may use earlier tags. */
typedef struct {
    char name[64];
    uint32_t yes;         /* yes/no tags: members */
    int categorical;
    uint32_t nvalues;
    char values[16][64];  /* category tags: values in rule order, with counts */
    uint32_t counts[16];
} tl_tag_summary_t;

/* Applies the rules to the profiles behind t (adding or replacing the tag
 * columns; old tag columns not in the rules are dropped). On a bad rule
 * returns TL_EBADINPUT with *line (1-based) and err. summary (may be NULL)
 * gets up to cap entries; *ntags the number of tags. */
int tl_tags_apply(tl_segtable_t *t, tl_profiles_t *p, const char *rules, tl_tag_summary_t *summary,
                  int cap, int *ntags, int *line, tl_expr_err_t *err);

/* `tag apply` and `tag list`: rules (NULL: the kept ones, "" when none)
 * applied to the saved profiles, with a summary of up to cap tags. Given
 * rules are then kept (the setting tag_rules) and the snapshot saved with
 * its tag columns, so every later build and read has them; kept ones are
 * only counted. On a bad rule TL_EBADINPUT with *line and err, nothing
 * changed; *rules_out (may be NULL) gets the rules applied (caller frees),
 * to show the bad line. */
int tl_tags_keep(tl_store_t *st, const char *rules, tl_tag_summary_t *summary, int cap, int *ntags,
                 int *line, tl_expr_err_t *err, char **rules_out, tl_errbuf_t *eb);

/* Applies the tag rules kept in the data directory (`tailor tag apply`
 * keeps them under the setting tag_rules) to p; nothing when none are
 * kept. TL_EBADINPUT, said in eb, when they no longer apply to p. */
int tl_tags_apply_stored(tl_store_t *st, tl_profiles_t *p, tl_errbuf_t *eb);

/* ---- building profiles ---------------------------------------------------------- */

/* Every user's profile as the engine keeps it: tl_profile_build, then what
 * the data directory keeps for the profiles applied (the stored tag
 * rules). Every builder (the command line, the server, retention) builds
 * through this, and an incremental update ends with
 * tl_segment_profiles_derive, so no profile lacks them. */
int tl_segment_profiles_build(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                              tl_errbuf_t *eb);
int tl_segment_profiles_derive(tl_store_t *st, tl_profiles_t *p, tl_errbuf_t *eb);

/* ---- clusters ------------------------------------------------------------------- */

/* k-means on n points of d dimensions (row-major x): k-means++ seeding,
 * Lloyd iterations until no point changes cluster or the centres move less
 * than 1e-4 times the mean feature variance (or max_iter), the best of
 * n_init runs by inertia (the sum of squared distances to the centres).
 * labels gets n cluster numbers, centers k x d values. Deterministic for a
 * seed; the assignment step uses both cores. */
typedef struct {
    uint32_t k, n_init, max_iter;
    uint64_t seed;
} tl_kmeans_opts_t;

int tl_kmeans(const double *x, uint32_t n, uint32_t d, const tl_kmeans_opts_t *o, uint32_t *labels,
              double *centers, double *inertia, uint32_t *iterations);

/* The mean silhouette of a clustering over an evenly spaced sample of at
 * most `sample` points, distances taken within the sample (as scikit-learn's
 * silhouette_score with sample_size). */
double tl_silhouette(const double *x, uint32_t n, uint32_t d, const uint32_t *labels, uint32_t k,
                     uint32_t sample);

/* Clusters of users on profile features: users with every feature known,
 * each feature standardised, k-means with k given or (k = 0) the best
 * silhouette of a 2,000-user sample for k = 2..8. The result describes
 * each cluster by its size and the means of its members in the features'
 * own units. */
#define TL_CLUSTER_MAX_K 64
#define TL_CLUSTER_MAX_F 32

typedef struct {
    uint32_t k, users, iterations, size[TL_CLUSTER_MAX_K];
    double inertia, silhouette;
    double mean[TL_CLUSTER_MAX_K][TL_CLUSTER_MAX_F];
    int nf;                                /* the features, in the order of mean's columns */
    char feature[TL_CLUSTER_MAX_F][64];
    int64_t as_of;                         /* the profiles' as-of time */
} tl_clusters_t;

/* TL_EINVAL with *bad set to the index of a feature that is not a number
 * column (or a name of 64 bytes or more), or when fewer than two users
 * have all the features. */
int tl_segment_cluster(const tl_profiles_t *p, const char *const *features, int nf, uint32_t k,
                       uint32_t n_init, uint64_t seed, tl_clusters_t *out, int *bad);
/* The same, and the result kept in the data directory (the setting
 * "clusters", JSON) in place of the one before, for the profile report
 * and later reads (tl_clusters_kept). */
int tl_segment_cluster_keep(tl_store_t *st, const tl_profiles_t *p, const char *const *features,
                            int nf, uint32_t k, uint32_t n_init, uint64_t seed, tl_clusters_t *out,
                            int *bad, tl_errbuf_t *eb);
/* The clustering kept last; TL_ENOENT when there is none. */
int tl_clusters_kept(tl_store_t *st, tl_clusters_t *out, tl_errbuf_t *eb);

/* What sets one cluster apart, for a description in words: its features,
 * the farthest from the mean over every clustered user first, far in
 * units of the spread of the clusters' means (z); ratio is the cluster's
 * mean over the overall one (NaN when that is 0 or of the other sign).
 * Returns how many went to out (at most max). */
typedef struct {
    int feature;           /* index into the clustering's features */
    double mean, overall, z, ratio;
} tl_cluster_trait_t;
int tl_clusters_traits(const tl_clusters_t *c, uint32_t cluster, tl_cluster_trait_t *out, int max);

/* How stored segments overlap: the size of each of n conditions over t
 * (users of the profiles behind it) and of every pair's intersection
 * (pairs[i * n + j]; the diagonal the sizes). On a condition that does
 * not compile TL_EBADINPUT with *bad its index and err. */
int tl_segment_overlaps(tl_segtable_t *t, uint32_t nusers, const char *const *exprs, int n,
                        uint32_t *sizes, uint32_t *pairs, int *bad, tl_expr_err_t *err);

/* The profile report: key figures, lifecycle, top categories, RFM segments
 * and grid, the stored rule segments and the kept clustering (over the
 * features it was made with), as one HTML file. */
int tl_segment_report_html(tl_store_t *st, const tl_profiles_t *p, const char *path,
                           tl_errbuf_t *eb);

/* ---- drift and history (segment_drift.c) ----------------------------------------------------- */

/* Feature drift from profiles p1 (the earlier) to p2: the PSI (10 bins) of
 * every number column of both, or of those named in features
 * (comma-separated; NULL: all), among the users a condition holds at each
 * time (expr; NULL: everybody), the largest first, at most cap into out.
 * A condition that does not compile: TL_EBADINPUT with err. */
typedef struct {
    char name[64];
    double psi;
    const char *reading; /* tl_psi_reading: "stable", "watch" or "shifted" */
} tl_drift_t;
int tl_segment_drift(tl_store_t *st, const tl_profiles_t *p1, const tl_profiles_t *p2, const char *expr,
                     const char *features, tl_drift_t *out, int cap, int *n, tl_expr_err_t *err);
/* As JSON: from and to (the profiles' as-of times), segment (when not
 * NULL), features [{feature, psi, band (the reading)}]. */
struct cJSON *tl_drift_json(const tl_drift_t *d, int n, const tl_profiles_t *p1, const tl_profiles_t *p2,
                            const char *segment);

/* A condition's size at each of n past times: the profiles built as of
 * at[i] (from the events up to it) and the condition over them; users[i]
 * the users kept then. Builds n sets of profiles: for a handful of points.
 * A condition that does not compile: TL_EBADINPUT with err. */
int tl_segment_history(tl_store_t *st, const char *expr, const int64_t *at, int n, uint32_t *size,
                       uint32_t *users, tl_expr_err_t *err, tl_errbuf_t *eb);

/* ---- RFM ---------------------------------------------------------------------- */

/* Scores every user of p. Returns 0, TL_ENOMEM, or TL_EINVAL when p lacks
 * the columns days_since_purchase, orders and monetary. */
int tl_segment_rfm(const tl_profiles_t *p, tl_rfm_t *out);
void tl_rfm_fini(tl_rfm_t *r);
/* As JSON: customers; segments [{name, code, size, share (of the
 * customers), recency_days, orders, monetary (the means)}]; grid, rows R5
 * down to R1, columns FM1 to FM5. */
struct cJSON *tl_rfm_json(const tl_rfm_t *r);

#endif
