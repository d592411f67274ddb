/* rec.h -- recommendations: the user x item interaction matrix, models
 * trained on it, top-N scoring, serving and offline evaluation.
 *
 * The matrix is built from a range of the event log: explicit ratings
 * (kept as positives when at least min_rating) and implicit events, each
 * type with its weight; repeated interactions of a user with an item add
 * up. Models, each a family in the registry (tl_model_lookup: name,
 * trainer, options with defaults and ranges): popularity, popularity by
 * segment and category taste, EASE (Steck 2019: a closed-form item-item
 * model, B = -P / diag(P) with P = (X'X + lambda I)^-1, through LAPACK),
 * implicit ALS (factors for users and items), item-kNN and a blend of EASE
 * and iALS.
 *
 * Evaluation protocol: the interactions split by time or leave-last-out
 * (tl_rec_split); for every user with test items, the top K of the
 * items the user did not interact with in training are compared with the
 * test items: precision, recall, hit rate, MAP, and NDCG with the ideal DCG
 * over min(K, |test|); catalogue coverage over all lists.
 *
 * The code: matrix.c (the matrix), pop.c, ease.c, ials.c, knn.c, blend.c
 * (one per model family), models.c (the registry, scoring and
 * explanations), serve.c (serving rules), scene.c (scenes), content.c
 * (alike items by content), eval.c (splits, metrics, an evaluation end
 * to end), model_file.c (model files, kept in the store or at a path),
 * service.c (a recommender loaded for serving); rec_int.h
 * holds what they share.
 */
#ifndef TL_REC_H
#define TL_REC_H

#include "store/store.h"

typedef struct {
    uint32_t nusers, nitems;
    uint64_t nnz;
    uint64_t *rowptr; /* nusers + 1 */
    uint32_t *col;    /* item of each entry, ascending within a row */
    float *val;       /* weight of each entry */
} tl_csr_t;

typedef struct {
    float weight[256];    /* per event type; 0 leaves the type out */
    double min_rating;    /* rate events: positive when rating >= this (NaN: every rating) */
    int binary;           /* 1: every kept interaction counts 1 */
    int64_t ts_from, ts_to; /* only events with ts in [ts_from, ts_to) (0, 0: all) */
    int rating_values;    /* 1: a rate event counts its rating (not with binary) */
    double half_life;     /* > 0: an event's weight halves every half_life ms before decay_to */
    int64_t decay_to;
} tl_interact_opts_t;

void tl_interact_opts_default(tl_interact_opts_t *o);

/* The matrix of the events with sequence numbers in [from, to) (to =
 * UINT64_MAX: to the end), sized to the store's users and items. The
 * events of users who withdrew profiling (consent purpose "profiling") are
 * left out: no model learns from them. */
int tl_rec_matrix(tl_store_t *st, uint64_t from, uint64_t to, const tl_interact_opts_t *o,
                  tl_csr_t *out, tl_errbuf_t *eb);
/* Drops from test every (user, item) that train also holds: a model never
 * recommends what the user already had, so such pairs only lower recall. */
void tl_csr_drop_seen(tl_csr_t *test, const tl_csr_t *train);
void tl_csr_fini(tl_csr_t *m);

typedef enum {
    TL_MODEL_POP,
    TL_MODEL_EASE,
    TL_MODEL_IALS,
    TL_MODEL_KNN,
    TL_MODEL_SEGPOP,
    TL_MODEL_BLEND
} tl_model_kind_t;

typedef struct tl_model tl_model_t;

/* Popularity: the sum of each item's interaction strengths (on binary data
 * the users who had it; with a half-life, what is trending). */
int tl_rec_train_pop(const tl_csr_t *x, tl_model_t **out);
/* Popularity by segment and taste: score(u, i) = P(category of i | u) *
 * P(i | its category, u's segment). The user's category mix is their own
 * distinct items shrunk towards the segment's mix, the segment's figures
 * are shrunk towards everybody's, so a user without history gets what
 * their segment (e.g. age band x gender) takes, and a user without a
 * segment what everybody takes. item_cat (codes below ncats, TL_NONE none)
 * and user_group (below ngroups, TL_NONE none) may be NULL. */
int tl_rec_train_segpop(const tl_csr_t *x, const uint32_t *item_cat, uint32_t ncats,
                        const uint32_t *user_group, uint32_t ngroups, tl_model_t **out);
/* 1 if a segment-popularity model knows the user's segment. */
int tl_rec_segpop_group(const tl_model_t *m, uint32_t user);
/* EASE (Steck 2019): B = I - P / diag(P), P = (X'X + L)^-1, zero diagonal.
 * L = lambda I, plus dropout / (1 - dropout) diag(X'X) when dropout > 0:
 * the emphasis of a denoising autoencoder that drops each input with that
 * probability (Steck 2020), which regularises popular items more. */
int tl_rec_train_ease(const tl_csr_t *x, double lambda, double dropout, tl_model_t **out,
                      tl_errbuf_t *eb);

/* Implicit ALS (Hu, Koren, Volinsky 2008): confidence 1 + alpha * r for an
 * observed r, preference 1; each least-squares step solved by a few
 * conjugate-gradient iterations from the current factors (Takacs et al.),
 * the Gram matrix by BLAS, users and items each on both cores. */
typedef struct {
    uint32_t factors, iterations, cg_steps;
    double alpha, reg;
    uint64_t seed;
} tl_ials_opts_t;

void tl_ials_opts_default(tl_ials_opts_t *o);

/* EASE and implicit ALS trained on the same matrix; a user's scores are
 * ease_share times EASE's plus the rest times iALS's, each standardised
 * over the catalogue (mean 0, deviation 1) for that user. */
int tl_rec_train_blend(const tl_csr_t *x, double lambda, double dropout, const tl_ials_opts_t *o,
                       double ease_share, tl_model_t **out, tl_errbuf_t *eb);

/* Item-kNN: cosine similarity of the items' user vectors with shrinkage,
 * sim(i, j) = x_i . x_j / (|x_i| |x_j| + shrink), the k most similar kept
 * per item. A user's score for an item sums its similarities to the items
 * of the user's row. */
int tl_rec_train_knn(const tl_csr_t *x, uint32_t k, double shrink, tl_model_t **out,
                     tl_errbuf_t *eb);
/* The neighbours of an item, most similar first; returns how many. */
uint32_t tl_rec_similar(const tl_model_t *m, uint32_t item, uint32_t n, uint32_t *items,
                        float *sims);

/* The most items one list may hold (recommendations, similar items),
 * for the command line and the API alike. */
#define TL_REC_MAX_N 100
int tl_rec_train_ials(const tl_csr_t *x, const tl_ials_opts_t *o, tl_model_t **out,
                      tl_errbuf_t *eb);
void tl_model_free(tl_model_t *m);
tl_model_kind_t tl_model_kind(const tl_model_t *m);

/* The n best items for a user (those in the user's training row left out),
 * best first; returns how many were written. */
uint32_t tl_rec_topn(const tl_model_t *m, const tl_csr_t *train, uint32_t user, uint32_t n,
                     uint32_t *items, float *scores);

/* For an item recommended to a user, the item of the user's row that
 * explains it best (EASE: the largest weight B[j][item]; iALS: the row item
 * whose factors are closest in angle), or TL_NONE (popularity). */
uint32_t tl_rec_because(const tl_model_t *m, const tl_csr_t *train, uint32_t user, uint32_t item);

/* Model files: a header (magic "TLMODEL1", kind, sizes), the interaction
 * options, the model's arrays, and the XXH3-64 of all of it. A model is
 * kept in the store as the blob "models/NAME" (tl_rec_model_*), or in a
 * file at a given path (tl_model_save/load: written to a temporary file
 * and renamed). Bytes of another kind of content, version or size, or
 * with a wrong checksum, are refused with a message saying which. */
int tl_model_save(const tl_model_t *m, const char *path, tl_errbuf_t *eb);
/* Model NAME (letters, digits, '_', '-') in the store: saved with the blob
 * writer (installed whole, see store.h); the writer filled and not closed,
 * for a batch or a purge to install; loaded (TL_ENOENT, eb saying to
 * train one, when there is none); fn(name, arg) for every model, by name. */
int tl_rec_model_save(tl_store_t *st, const char *name, const tl_model_t *m, tl_errbuf_t *eb);
int tl_rec_model_writer(tl_store_t *st, const char *name, const tl_model_t *m, tl_blobw_t **out,
                        tl_errbuf_t *eb);
int tl_rec_model_load(tl_store_t *st, const char *name, tl_model_t **out, tl_errbuf_t *eb);
typedef int (*tl_rec_model_fn)(const char *name, void *arg);
int tl_rec_model_list(tl_store_t *st, tl_rec_model_fn fn, void *arg, tl_errbuf_t *eb);
/* The interaction options a model was trained with (kept in its file, so
 * serving builds users' rows the same way). */
void tl_model_set_interactions(tl_model_t *m, const tl_interact_opts_t *o);
const tl_interact_opts_t *tl_model_interactions(const tl_model_t *m);
int tl_model_load(const char *path, tl_model_t **out, tl_errbuf_t *eb);
/* Erasure: what the model learnt of user u alone (iALS factors, SEGPOP
 * group) cleared, so the user is served as one the model never saw.
 * Returns 1 if anything changed. */
int tl_model_erase_user(tl_model_t *m, uint32_t u);
uint32_t tl_model_nitems(const tl_model_t *m);

/* Serving: the model's candidates, then business filters and re-ranking.
 *  - a user with no history (cold start) gets popularity;
 *  - items of the user's row are left out, except in repurchase categories;
 *  - include / exclude by category, and a list of excluded items (hidden or
 *    out of stock);
 *  - long-tail boost: each score (scaled to 0..1 over the candidates) gains
 *    tail_boost x (1 - the item's popularity percentile);
 *  - exposure cap: at most head_cap of the list from the most popular
 *    head_share of the catalogue;
 *  - MMR over categories: items are picked one by one by
 *    (1 - diversity) x relevance - diversity x [same category as one picked].
 * item_cat gives each item's category code (TL_NONE: none); NULL disables
 * the category rules. */
/* Items by content, for new items nobody has had yet: similarity in 0..1
 * from the category path (0.6 times the share of levels in common), the
 * brand (0.25 if the same) and the price (0.15 when within a factor of 4,
 * falling with the log ratio). */
typedef struct tl_content tl_content_t;
int tl_rec_content_load(tl_store_t *st, uint32_t nitems, tl_content_t **out, tl_errbuf_t *eb);
void tl_rec_content_free(tl_content_t *c);
/* Finds for every item without interactions in train its most alike items
 * that have some, among the items of the same top-level category. Items
 * from known on (newer than the model that will score them) count as
 * without interactions whatever train holds. */
int tl_rec_content_link(tl_content_t *c, const tl_csr_t *train, uint32_t known);
/* The n items most like item by content (after link: only items with
 * interactions). Returns how many. */
uint32_t tl_rec_content_similar(const tl_content_t *c, uint32_t item, uint32_t n, uint32_t *items,
                                float *sims);
/* Items like item: its neighbours in an item-kNN model (knn may be NULL,
 * or a model of another kind), else, when there is no such model or it has
 * none for the item (nobody had it, or it is newer than the model), the
 * items alike by content (c may be NULL). *by_content says which. */
uint32_t tl_rec_similar_items(const tl_model_t *knn, const tl_content_t *c, uint32_t item, uint32_t n,
                              uint32_t *items, float *sims, int *by_content);

typedef struct {
    const uint32_t *item_cat;
    const uint8_t *include_cat, *exclude_cat, *repurchase_cat; /* indexed by category code */
    uint32_t ncats;
    const uint8_t *exclude_item; /* indexed by item */
    double diversity, tail_boost, head_share, head_cap;
    /* the scene: items on the user's screen (the product shown, the cart,
     * the order just placed). Each candidate's affinity to them is blended
     * in with this weight, and they are not recommended themselves. */
    const uint32_t *context;
    uint32_t ncontext;
    double context_weight;
    /* linked content: a new item scores as the similarity-weighted mean of
     * its alike items with interactions (NULL: new items score 0) */
    const tl_content_t *content;
    /* taken off an item's relevance (0..1) after the candidates are chosen:
     * negative feedback (NULL: none) */
    const float *item_penalty;
} tl_serve_opts_t;

/* Per item, what negative feedback takes off its relevance: 0.3 for each
 * complaint or review rated 2 or less (of 5) against it, at most 0.9
 * (*out has nitems entries; caller frees). */
int tl_rec_feedback_penalty(tl_store_t *st, uint32_t nitems, float **out, tl_errbuf_t *eb);

/* Each item's category cut to its first levels parts of the path
 * ("food/fruit/apples" at 1 is "food"; 0 keeps the whole path) as a code
 * into *names (caller frees both). */
int tl_rec_item_categories(tl_store_t *st, uint32_t nitems, uint32_t levels, uint32_t **cats,
                           tl_dict_t **names, tl_errbuf_t *eb);

typedef struct {
    uint32_t item;
    float score;
    uint32_t because; /* history item behind it, TL_NONE when popularity */
    int cold;         /* 1 if it came from the cold-start fallback */
    int from_context; /* 1 if because is the scene's item it goes with */
    int is_new;       /* 1 if nobody has had it yet: because is the alike item it scored by */
} tl_served_t;

/* The items of a user's scene, latest first (at most max): TL_SCENE_CART
 * the items carted and not bought since, TL_SCENE_PURCHASE the items of the
 * last order (bought within an hour of the last purchase). */
typedef enum { TL_SCENE_CART, TL_SCENE_PURCHASE } tl_scene_t;
int tl_rec_scene_items(tl_store_t *st, uint32_t user, tl_scene_t scene, uint32_t max,
                       uint32_t *items, uint32_t *n, tl_errbuf_t *eb);
/* The same kept up to date for every user (only == TL_NONE) or one, from
 * the events as they come: add each event (others than carts and
 * purchases are passed over), or scan the whole log. A scan reads the
 * persons (identity.h): from then on the events of every identifier of a
 * person make its scenes, asked for by any of them. Readers and the
 * writer need a lock between them. */
typedef struct tl_scenes tl_scenes_t;
int tl_scenes_new(uint32_t only, tl_scenes_t **out);
void tl_scenes_free(tl_scenes_t *s);
int tl_scenes_add(tl_scenes_t *s, uint32_t user, uint32_t item, uint8_t type, int64_t ts);
int tl_scenes_scan(tl_scenes_t *s, tl_store_t *st, tl_errbuf_t *eb);
uint32_t tl_scenes_items(const tl_scenes_t *s, uint32_t user, tl_scene_t scene, uint32_t max,
                         uint32_t *items);

/* A user nothing is known of: served what everybody is (the popularity
 * model's global list), not a segment's. */
#define TL_REC_ANONYMOUS (UINT32_MAX - 1)

/* Fills out (n entries at most) and returns how many. The items served are
 * train's (train->nitems of them: every array of so indexed by item has that
 * many entries), whatever m was trained on: the catalogue may have grown
 * since. Items m does not know are scored through their alike items (linked
 * content), else left out; a user m learnt nothing of (no factors, or no
 * item of their row that m knows) gets the cold start. pop is a popularity
 * model (for cold start and the tail rules; NULL: none). */
uint32_t tl_rec_serve(const tl_model_t *m, const tl_model_t *pop, const tl_csr_t *train,
                      uint32_t user, uint32_t n, const tl_serve_opts_t *so, tl_served_t *out);

#define TL_EVAL_MAX_GROUPS 16

typedef struct {
    uint32_t users;
    double precision, recall, ndcg, map, hit_rate;
} tl_eval_part_t;

/* Beyond accuracy: novelty is the mean -log2 of the share of training
 * users who had a recommended item; intra-list diversity the share of
 * pairs in a list from different categories (needs item_cat); the Gini
 * coefficient of how often each item is recommended (0 even, 1 all on one
 * item). With group (a code per user, TL_NONE none) the accuracy metrics
 * are also given per group, to show gaps between user groups. */
typedef struct {
    uint32_t k;
    const uint32_t *item_cat; /* may be NULL */
    const uint32_t *group;    /* may be NULL */
    uint32_t ngroups;
    const tl_model_t *cold;   /* scores users without training (NULL: popularity) */
    const tl_content_t *content; /* linked content, to score new items (may be NULL) */
} tl_eval_opts_t;

typedef struct {
    uint32_t k, users, cold; /* cold: users without training, given the popular items */
    double precision, recall, ndcg, map, hit_rate, coverage;
    double novelty, diversity, gini;
    tl_eval_part_t group[TL_EVAL_MAX_GROUPS];
} tl_eval_t;

int tl_rec_eval(const tl_model_t *m, const tl_csr_t *train, const tl_csr_t *test,
                const tl_eval_opts_t *o, tl_eval_t *out);

/* Users grouped from the users table: by the stored gender values, by age
 * band in the year of ref_ms (under 25, 25-34, 35-44, 45-54, 55 and over),
 * or by segment: age band x gender (f or m). Users without the attribute
 * get TL_NONE. */
typedef enum { TL_GROUP_GENDER, TL_GROUP_AGE, TL_GROUP_SEGMENT } tl_group_by_t;

typedef struct {
    uint32_t *group; /* per user */
    uint32_t nusers, ngroups;
    char names[TL_EVAL_MAX_GROUPS][32];
} tl_user_groups_t;

int tl_rec_user_groups(tl_store_t *st, uint32_t nusers, tl_group_by_t by, int64_t ref_ms,
                       tl_user_groups_t *out, tl_errbuf_t *eb);
void tl_user_groups_fini(tl_user_groups_t *g);

/* ---- the model registry (models.c) ----------------------------------------------- */

/* Every model option, whatever the family (each reads its own; see
 * tl_model_info_t.params). */
typedef struct {
    double lambda, dropout; /* ease, blend */
    double blend;           /* blend: EASE's share */
    uint32_t neighbours;    /* knn */
    double shrink;          /* knn */
    tl_ials_opts_t ials;    /* ials, blend */
} tl_model_params_t;

/* One option: its name (as on the command line), what it does, its
 * default and valid range (integer: a count, kept whole). */
typedef struct {
    const char *name, *help;
    double dflt, min, max;
    int integer;
    size_t offset; /* where it lives in tl_model_params_t */
} tl_model_param_t;

/* The defaults: every option its value, but EASE's lambda and iALS's
 * alpha NaN, "from the data", which tl_model_params_resolve (called by
 * tl_model_train) sets from the training matrix. */
void tl_model_params_default(tl_model_params_t *p);
void tl_model_params_resolve(tl_model_params_t *p, const tl_csr_t *x);
/* The options, in a fixed order, for help text and errors; NULL past the
 * last. */
const tl_model_param_t *tl_model_param_at(uint32_t i);
const tl_model_param_t *tl_model_param_lookup(const char *name);
/* Sets option name to v: TL_EINVAL (and p unchanged) for an unknown name
 * or a value out of its range. */
int tl_model_params_set(tl_model_params_t *p, const char *name, double v);

/* What a family trains on beside the matrix: each item's top-level
 * category and each user's segment (age band x gender, ages as of ref_ms,
 * the latest event). */
typedef struct {
    tl_user_groups_t groups;
    uint32_t *cats;
    tl_dict_t *catnames;
} tl_rec_side_t;

int tl_rec_side_load(tl_store_t *st, uint32_t nusers, uint32_t nitems, int64_t ref_ms,
                     tl_rec_side_t *out, tl_errbuf_t *eb);
void tl_rec_side_fini(tl_rec_side_t *s);

struct tl_model_ops;
/* A model family: its name, what it is, the options it reads
 * (space-separated), whether it trains on tl_rec_side_t, whether it holds
 * item neighbours (tl_rec_similar). */
typedef struct {
    const char *name;
    tl_model_kind_t kind;
    const char *help;
    const char *params;
    int needs_side;
    int item_neighbours;
    const struct tl_model_ops *ops; /* the family's code (rec_int.h) */
    const char *tune;               /* the grid `train --tune` chooses from (NULL: nothing to
                                     * tune), as --grid takes it: wide, on a log scale, since the
                                     * best values move with the catalogue's size and density */
} tl_model_info_t;

/* The family named name, or NULL (then tl_model_names says which exist). */
const tl_model_info_t *tl_model_lookup(const char *name);
/* The family of a kind (every kind has one). */
const tl_model_info_t *tl_model_info(tl_model_kind_t kind);
/* The families in a fixed order; NULL past the last. */
const tl_model_info_t *tl_model_at(uint32_t i);
/* "pop, segpop, ease, ials, knn or blend" into out (cap bytes). */
void tl_model_names(char *out, size_t cap);

/* The model a use takes when none is named: training, serving and the
 * campaigns' content (ials), offline evaluation (ease), similar items
 * (knn). */
typedef enum { TL_MODEL_FOR_TRAIN, TL_MODEL_FOR_SERVE, TL_MODEL_FOR_EVAL, TL_MODEL_FOR_SIMILAR } tl_model_use_t;
const char *tl_model_default(tl_model_use_t use);

/* Trains a model of family mi on x; side (may be NULL when the family
 * does not need it) from tl_rec_side_load. */
int tl_model_train(const tl_model_info_t *mi, const tl_csr_t *x, const tl_model_params_t *p,
                   const tl_rec_side_t *side, tl_model_t **out, tl_errbuf_t *eb);

/* A model of family mi trained on the store's interactions as ix weighs
 * them (decayed towards the latest event), with the side data the family
 * needs (train.c); info (may be NULL) gets what it was trained on. Not
 * saved: tl_rec_model_save does. */
typedef struct {
    uint32_t users, items;
    uint64_t interactions;
    tl_model_params_t params; /* the options as trained, those from the data resolved */
} tl_rec_trained_t;
int tl_rec_train_store(tl_store_t *st, const tl_model_info_t *mi, const tl_model_params_t *p,
                       tl_interact_opts_t ix, tl_model_t **out, tl_rec_trained_t *info, tl_errbuf_t *eb);

/* ---- evaluation splits (eval.c) -------------------------------------------------- */

/* Every interaction of the log kept by the options (ratings, weights,
 * profiling consent, time window), with its time, in log order: one scan,
 * from which any split is built in memory. */
typedef struct tl_interactions tl_interactions_t;
int tl_rec_interactions_load(tl_store_t *st, const tl_interact_opts_t *o, tl_interactions_t **out,
                             tl_errbuf_t *eb);
void tl_rec_interactions_free(tl_interactions_t *in);
/* The time of the latest event of the log (of any kind, kept or not):
 * what ages, decay and the time split are reckoned from; INT64_MIN for an
 * empty log. */
int64_t tl_rec_interactions_latest(const tl_interactions_t *in);

/* TL_SPLIT_TIME: the interactions of the last test_days days (from cut =
 * latest - test_days days + 1 ms) are the test, the earlier the training,
 * both decayed towards cut. TL_SPLIT_LAST: leave-last-out, each user's
 * latest item (by time, then the larger index) in test when the user has
 * two items or more, decayed towards the latest event. */
typedef enum { TL_SPLIT_TIME, TL_SPLIT_LAST } tl_split_kind_t;
typedef struct {
    tl_split_kind_t kind;
    uint32_t test_days;
} tl_split_opts_t;

/* *cut: the first test time of a time split, 0 for leave-last-out. */
int tl_rec_split(const tl_interactions_t *in, const tl_split_opts_t *so, tl_csr_t *train,
                 tl_csr_t *test, int64_t *cut);

/* An offline evaluation end to end: the interactions split (in memory,
 * or at an event of the log), what every run shares loaded once (the
 * categories, the user groups of `by`, the content that scores new items,
 * popularity by segment for users without history unless the model is
 * popularity), then one model of the family trained and evaluated per set
 * of options (a grid).
 *
 * Choosing among the runs: TL_SELECT_TEST measures every run on the test
 * and the best is the test's (optimistic: the figure chosen on is the one
 * reported). TL_SELECT_VALIDATION carves a validation part out of the
 * training the way the test was made, trains every run on the rest and
 * measures it there, then trains the best run on the whole training and
 * measures it alone on the test. The validation of a time split is the
 * training's last test_days days; of leave-last-out, each user's latest
 * training item; of given files, per user by time: each user's items
 * ordered by their latest interaction, the latest valid_share of them (at
 * least one) held out of users with two items or more, or a share drawn at
 * random when the test file's interactions are no later than the
 * training's (a test drawn from the same time). TL_SELECT_TUNE does the
 * same with every interaction as the training and no test (what `train
 * --tune` chooses with): the last split.test_days days validate when the
 * log spans twice as long, else each user's latest valid_share. */
typedef enum { TL_SELECT_TEST, TL_SELECT_VALIDATION, TL_SELECT_TUNE } tl_rec_select_t;

typedef struct {
    const tl_model_info_t *model;
    const tl_model_params_t *params; /* nruns sets of options: one run each */
    uint32_t nruns;
    tl_interact_opts_t ix;
    tl_split_opts_t split;
    uint64_t train_events;   /* 0: split; else the first train_events events of the log
                              * train, the rest test (a training file then a test file) */
    uint32_t k;
    int by;                  /* -1: no groups; else TL_GROUP_GENDER or TL_GROUP_AGE */
    int new_items;           /* items without training interactions score by their alike items */
    int64_t (*clock)(void);  /* milliseconds, for the runs' times (NULL: no times) */
    tl_rec_select_t select;  /* how the best run is chosen, and which runs meet the test */
    double valid_share;      /* validation: each user's latest share of training items (0: 0.2;
                              * a leave-last-out split holds out the latest item alone) */
} tl_rec_evaluate_opts_t;

typedef struct {
    tl_eval_t ev;            /* on the test (with TL_SELECT_VALIDATION: the best run only) */
    tl_eval_t valid;         /* on the validation part (TL_SELECT_VALIDATION, TL_SELECT_TUNE) */
    int tested;              /* ev was measured */
    double train_s, eval_s;
    tl_model_params_t params; /* its options as trained, those from the data resolved (the last
                               * training's: the whole training's when tested) */
} tl_rec_run_t;

typedef struct {
    uint64_t train_nnz, test_nnz; /* interactions, the test's without those seen in training */
    uint64_t fit_nnz, valid_nnz;  /* the training's parts when a validation was carved */
    int64_t valid_from;           /* a time split's validation: the days before the cut */
    int shuffled;                 /* the test files interleave with the training in time, so
                                   * each user's validation items were drawn at random */
    int64_t cut;                  /* a time split's first test time, else 0 */
    tl_user_groups_t groups;      /* the groups of `by` (none without) */
    tl_rec_run_t *runs;           /* nruns */
    uint32_t best;                /* the run with the highest NDCG where runs are chosen (the
                                   * first of equals) */
} tl_rec_evaluation_t;

int tl_rec_evaluate(tl_store_t *st, const tl_rec_evaluate_opts_t *o, tl_rec_evaluation_t *out,
                    tl_errbuf_t *eb);
void tl_rec_evaluation_fini(tl_rec_evaluation_t *e);
/* Adds a run's figures to the JSON object j (train.c): users, precision,
 * recall, ndcg, map, hit_rate, cold_users, coverage, novelty, diversity,
 * gini, and with groups (g may be NULL) the accuracy of each group. */
struct cJSON;
void tl_eval_json_add(struct cJSON *j, const tl_eval_t *ev, const tl_user_groups_t *g);
/* An evaluation's head as a JSON object: model, split (its name),
 * test_from (a time split's first test time), k, train_interactions,
 * test_interactions; its runs are added to it. */
struct cJSON *tl_rec_evaluation_json(const char *model, const char *split, uint32_t k,
                                     const tl_rec_evaluation_t *ev);

/* ---- a recommender loaded for serving (service.c) ---------------------------- */

/* A model of the store with what serving it needs: every interaction as the model
 * weighs them, popularity by segment and taste for users without history,
 * the content links that score new items, item categories and the
 * negative-feedback penalty; serving options set as `recommend` uses them
 * (head share 10 %, scene weight 0.7). Read-only once open: any number of
 * threads may serve from it. */
typedef struct {
    tl_model_t *m, *popm;
    tl_csr_t x;              /* x.nitems: the catalogue served (every per-item array's size) */
    tl_user_groups_t groups;
    uint32_t *cats;          /* top-level category per item */
    tl_dict_t *catnames;
    tl_content_t *content;
    float *penalty;
    uint8_t *withdrawn;      /* per person of x: profiling withdrawn by one of its
                              * identifiers when opened */
    struct tl_identity *ident; /* the persons when opened: x's rows are theirs */
    tl_dict_t *titles;       /* the catalogue's titles ... */
    uint32_t *title;         /* ... each item's (TL_NONE: none), for the reasons */
    tl_serve_opts_t so;
} tl_recsvc_t;
/* Model name (tl_rec_model_load: TL_ENOENT when there is none). */
int tl_recsvc_open(tl_store_t *st, const char *name, tl_recsvc_t **out, tl_errbuf_t *eb);
/* Whom to serve for user: TL_REC_ANONYMOUS for a user whose person
 * withdrew profiling (non-personalised lists), else the user's person (the
 * row of its first identifier, which holds every identifier's
 * interactions). */
uint32_t tl_recsvc_subject(const tl_recsvc_t *r, uint32_t user);
/* The top n of tl_recsvc_subject(r, user). */
uint32_t tl_recsvc_top(const tl_recsvc_t *r, uint32_t user, uint32_t n, tl_served_t *out);
/* Why a served item is in user's list: kind is "new_like", "interest",
 * "with_cart", "with_purchase" or "with_item" (item the label of the item
 * that brought it: "TITLE (ID)"), or "trending" or "popular" (category the
 * category it is popular in, for a model of category taste; similar: with
 * people like the user rather than everybody; note "no_history" or
 * "not_in_model" for a user the model could not use). who is whom it was
 * served for (tl_recsvc_subject), scene the list's ("home", "cart",
 * "purchase", "item:ID"; NULL: home), items the store's item ids. The
 * strings are the service's or static. */
typedef struct {
    const char *kind, *category, *note;
    char item[540];
    int similar;
} tl_rec_why_t;
void tl_recsvc_why(const tl_recsvc_t *r, const tl_dict_t *items, const tl_served_t *sv, uint32_t user,
                   uint32_t who, const char *scene, tl_rec_why_t *w);
/* The same for people, in English (the command line and the API give the
 * same): "because you showed interest in TITLE (ID)", "new, like ...",
 * "goes with ... in your cart", "popular with people like you (no history
 * yet)" and so on. Writes a string of at most cap - 1 bytes. */
void tl_recsvc_reason(const tl_recsvc_t *r, const tl_dict_t *items, const tl_served_t *sv, uint32_t user,
                      uint32_t who, const char *scene, char *out, size_t cap);
void tl_recsvc_free(tl_recsvc_t *r);
#endif
