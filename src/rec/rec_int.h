/* rec_int.h -- what the files of src/rec share and nothing outside reads:
 * the model's layout, the linked content's, the row of each model family
 * in the registry (models.c) with the hooks the scoring, serving and model
 * file code call instead of switching on the kind, and the helpers that
 * several files use (building a matrix from triples, the transpose, top-N
 * selection, scoring new items through their alike items).
 *
 * Invariants: a model's arrays are those its family's sections hook lists
 * for its sizes (nothing else is allocated); row items of a matrix may be
 * beyond a model's nitems (the catalogue grew since training) and every
 * hook checks that before indexing. */
#ifndef TL_REC_INT_H
#define TL_REC_INT_H

#include "rec.h"
#include "identity/identity.h"

#include <math.h>

struct tl_model {
    tl_model_kind_t kind;
    uint32_t nitems, nusers, f;
    double *pop; /* POP: item scores */
    float *b;    /* EASE: nitems x nitems, row-major */
    float *xu, *yi; /* IALS: nusers x f and nitems x f factors */
    uint32_t k;     /* KNN: neighbours per item */
    uint32_t *nbr;  /* KNN: nitems x k neighbour items (TL_NONE pads) */
    float *sim;     /* KNN: their similarities */
    /* SEGPOP (pop holds the global counts too): ncats includes a last
     * "no category" code; row ngroups of pic and pcg is everybody's */
    uint32_t ncats, ngroups;
    uint32_t *icat, *ugroup; /* category of each item, group of each user */
    float *pic;              /* (ngroups + 1) x nitems: P(item | its category, group) */
    float *pcg;              /* (ngroups + 1) x ncats: P(category | group) */
    double *share;           /* BLEND (with b, xu, yi): EASE's share of the score */
    tl_interact_opts_t io;
};

/* The arrays a model file holds, in file order (at most this many). */
#define TL__MODEL_SECTIONS 5

/* One array of a model for its family's sections hook: its length in
 * bytes; with alloc, allocated first (returns -1 when out of memory). */
#define TL__SECTION(m, field, count)                                                               \
    do {                                                                                           \
        len[k] = (size_t)(count) * sizeof *(m)->field;                                             \
        if (alloc && !((m)->field = malloc(len[k] ? len[k] : 1))) return -1;                       \
        p[k++] = (m)->field;                                                                       \
    } while (0)

/* A model family's row in the registry (the public part is
 * tl_model_info_t). */
struct tl_model_ops {
    int (*train)(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                 tl_model_t **out, tl_errbuf_t *eb);
    /* Scores of user u (row of x) for the first k items (k <= nitems). */
    void (*scores)(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k);
    /* How well item i goes with item c (both below nitems, c != i) by the
     * model's own item relation; item_cat may be NULL. */
    float (*affinity)(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i);
    /* How well history item j (weighed v in the user's row) explains item;
     * -INFINITY: not at all. NULL: the family explains nothing (popularity). */
    float (*because)(const tl_model_t *m, float v, uint32_t j, uint32_t item);
    /* The model's arrays in file order; returns how many (see TL__SECTION). */
    int (*sections)(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS],
                    size_t len[TL__MODEL_SECTIONS]);
    /* After a load: 0, or TL_ECORRUPT when a stored code or item is out of range. */
    int (*check)(const tl_model_t *m);
    /* The file header's third size: where it lives in the model and its
     * valid range; the fourth (pad) is ngroups, at most pad_max. */
    size_t head_field;
    uint32_t head_min, head_max, pad_max;
    uint32_t max_items; /* the most items a model of the family may have */
    int popular;        /* scores anybody, history or not: its own cold start */
    int by_factors;     /* knows a user only by their factors */
};

const struct tl_model_ops *tl__model_ops(const tl_model_t *m);

/* The score of an item a model cannot score (it is newer than the model):
 * below every score, and left out of every list. */
#define TL__UNSCORED (-INFINITY)

/* Scores user u's items into s, which has n entries whatever the model's
 * size: items beyond the model get TL__UNSCORED. */
void tl__rec_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t n);
/* 1 if the model can score user u by what it learnt (see models.c). */
int tl__rec_model_knows(const tl_model_t *m, const tl_csr_t *x, uint32_t u);
/* The best n of s (nitems entries), leaving out the items of x's row u,
 * best first; returns how many. */
uint32_t tl__rec_select_top(const float *s, uint32_t nitems, const tl_csr_t *x, uint32_t u, uint32_t n,
                            uint32_t *items, float *scores);

/* The family hooks, each in its family's file. */
int tl__pop_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                  tl_model_t **out, tl_errbuf_t *eb);
int tl__segpop_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                     tl_model_t **out, tl_errbuf_t *eb);
void tl__pop_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k);
void tl__segpop_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k);
float tl__pop_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i);
int tl__pop_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS], size_t len[TL__MODEL_SECTIONS]);
int tl__segpop_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS],
                        size_t len[TL__MODEL_SECTIONS]);
int tl__segpop_check(const tl_model_t *m);

int tl__ease_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                   tl_model_t **out, tl_errbuf_t *eb);
void tl__ease_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k);
float tl__ease_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i);
float tl__ease_because(const tl_model_t *m, float v, uint32_t j, uint32_t item);
int tl__ease_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS], size_t len[TL__MODEL_SECTIONS]);

int tl__ials_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                   tl_model_t **out, tl_errbuf_t *eb);
void tl__ials_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k);
float tl__ials_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i);
float tl__ials_because(const tl_model_t *m, float v, uint32_t j, uint32_t item);
int tl__ials_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS], size_t len[TL__MODEL_SECTIONS]);

int tl__knn_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                  tl_model_t **out, tl_errbuf_t *eb);
void tl__knn_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k);
float tl__knn_affinity(const tl_model_t *m, const uint32_t *item_cat, uint32_t c, uint32_t i);
float tl__knn_because(const tl_model_t *m, float v, uint32_t j, uint32_t item);
int tl__knn_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS], size_t len[TL__MODEL_SECTIONS]);
int tl__knn_check(const tl_model_t *m);

int tl__blend_train(const tl_csr_t *x, const tl_model_params_t *p, const tl_rec_side_t *side,
                    tl_model_t **out, tl_errbuf_t *eb);
void tl__blend_scores(const tl_model_t *m, const tl_csr_t *x, uint32_t u, float *s, uint32_t k);
int tl__blend_sections(tl_model_t *m, int alloc, void *p[TL__MODEL_SECTIONS],
                       size_t len[TL__MODEL_SECTIONS]);

/* ---- matrices (matrix.c) ---- */

/* One interaction: user, item, strength. */
typedef struct {
    uint32_t u, i;
    float w;
} tl__trip_t;

/* tl_rec_matrix under the persons ident, read once by a caller that
 * keeps them (NULL: the store's, read here). */
int tl__rec_matrix_of(tl_store_t *st, uint64_t from, uint64_t to, const tl_interact_opts_t *o,
                      const tl_identity_t *ident, tl_csr_t *out, tl_errbuf_t *eb);
/* The CSR of n triples (sorted here; repeated (user, item) pairs add up,
 * or stay 1 when binary). Frees nothing. */
int tl__csr_from_trips(tl__trip_t *t, size_t n, uint32_t nusers, uint32_t nitems, int binary,
                       tl_csr_t *out);
/* Every kept interaction in log order with its time, its strength before
 * decay (binary not applied either). */
struct tl_interactions {
    tl_interact_opts_t o;
    uint32_t nusers, nitems;
    tl__trip_t *t;
    int64_t *ts;
    size_t n;
    int64_t latest;
};

/* The matrix of the interactions with times in [ts_from, ts_to), decayed
 * towards decay_to: the same as tl_rec_matrix with that window. */
int tl__interactions_matrix(const tl_interactions_t *in, int64_t ts_from, int64_t ts_to,
                            int64_t decay_to, tl_csr_t *out);
/* The same, of the interactions q with sel[q] == want only (sel NULL: all). */
int tl__interactions_select(const tl_interactions_t *in, int64_t ts_from, int64_t ts_to, const uint8_t *sel,
                            uint8_t want, int64_t decay_to, tl_csr_t *out);
/* The interactions of the events with sequence numbers in [from, to). */
int tl__interactions_load_range(tl_store_t *st, const tl_interact_opts_t *o, uint64_t from, uint64_t to,
                                tl_interactions_t **out, tl_errbuf_t *eb);
/* The transpose of a CSR (items x users). */
int tl__csr_transpose(const tl_csr_t *x, tl_csr_t *t);

/* ---- content (content.c) ---- */

#define TL__CONTENT_K 5 /* alike items a new item scores by */

struct tl_content {
    uint32_t n;
    uint32_t *cat[3];   /* codes of the path at 1 and 2 levels and in full */
    uint32_t *brand;    /* code, TL_NONE none */
    double *price;      /* NaN none */
    uint8_t *warm;      /* after link: 1 if the item had interactions */
    uint32_t *nbr;      /* after link: n x TL__CONTENT_K alike warm items (TL_NONE pads) */
    float *sim;
};

/* New items in s (n entries) scored through their alike items; seen (may
 * be NULL) marks the user's own items. */
void tl__content_fill(const tl_content_t *c, float *s, uint32_t n, const uint8_t *seen);

#endif
