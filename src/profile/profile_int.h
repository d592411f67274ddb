/* profile_int.h -- private declarations of the profile module: the state
 * kept per user, the catalogue, the columns and the profile set, shared by
 * the set itself (profile.c), the state machine and features
 * (profile_apply.c), the batch build (profile_build.c) and the snapshot
 * (profile_snap.c). */
#ifndef TL_PROFILE_INT_H
#define TL_PROFILE_INT_H

#include "profile.h"

#include <string.h>

#define DAY TL_MS_PER_DAY
#define MAX_TOPS 64     /* top-level categories with an affinity column */
#define MAX_CH 32       /* channels with their own counter */
#define SMALL 4         /* entries of the small leaf and brand tables */
#define VISIT_ITEMS 8   /* items remembered within one visit */
#define RETURN_GAP (60 * DAY)

/* ---- the catalogue -------------------------------------------------------- */

typedef struct {
    uint32_t nitems;
    uint16_t *top;   /* top-level category code per item, UINT16_MAX: none */
    uint32_t *leaf;  /* full category path code, TL_NONE: none */
    uint32_t *brand; /* brand code, TL_NONE: none */
    float *price;    /* NaN: unknown */
    float *pct;      /* price percentile within the item's category, NaN: unknown */
    tl_dict_t *tops, *leaves, *brands;
} catalogue_t;

/* ---- per-user state -------------------------------------------------------- */

typedef struct {
    uint32_t id;
    float w;
} wentry_t;

typedef struct {
    int64_t ts;
    double amount; /* negative for refunds */
    uint8_t new_order;
} hist_t;

typedef struct {
    uint32_t item;
    uint16_t views;
    uint8_t carted, bought;
} vitem_t;

typedef struct {
    uint32_t nevents, active_days, views, searches, carts, favs, purchases, refunds, orders;
    uint32_t cart_abandoned, coupon_orders, promo_orders, vbp_n, impulsive, price_n;
    uint32_t loan_applies, repays, nhist, caphist, visit_seq;
    int64_t first_ts, last_ts, last_day, return_ts, first_order_ts, last_order_ts, aff_t;
    uint32_t visit, order_visits[4]; /* the visits of the last orders */
    double monetary, vbp_sum, price_sum, repay_amount;
    hist_t *hist;
    wentry_t leaf[SMALL], brand[SMALL];
    /* the current visit */
    vitem_t vitems[VISIT_ITEMS];
    uint8_t nvitems, visit_coupon, visit_ordered, pad;
    int64_t visit_last_ts;
} ustate_t;

/* ---- columns --------------------------------------------------------------- */

typedef struct {
    char *name;
    tl_coltype_t type;
    void *data; /* double * or uint32_t * */
    /* labels of a CAT column: a dictionary shared with the catalogue or the
     * store, or owned (own_labels) */
    tl_dict_t *labels;
    int own_labels;
} column_t;

/* Fixed columns, in this order; affinity columns follow. */
#define FIXED_COLUMNS(X)                                                                  \
    X(GENDER, "gender", CAT) X(AGE, "age", NUM) X(CITY, "city", CAT)                      \
    X(SIGNUP_CHANNEL, "signup_channel", CAT) X(REGISTERED_DAYS, "registered_days", NUM)    \
    X(EVENTS, "events", COUNT) X(ACTIVE_DAYS, "active_days", COUNT)                       \
    X(FIRST_SEEN_DAYS, "first_seen_days", NUM) X(DAYS_SINCE_ACTIVE, "days_since_active", NUM) \
    X(DAYS_SINCE_PURCHASE, "days_since_purchase", NUM) X(ORDERS, "orders", COUNT)         \
    X(ORDERS_30D, "orders_30d", COUNT) X(ORDERS_90D, "orders_90d", COUNT)                 \
    X(ORDERS_365D, "orders_365d", COUNT) X(MONETARY, "monetary", NUM)                     \
    X(MONETARY_30D, "monetary_30d", NUM) X(MONETARY_90D, "monetary_90d", NUM)             \
    X(MONETARY_365D, "monetary_365d", NUM) X(AOV, "aov", NUM)                             \
    X(PURCHASE_INTERVAL, "purchase_interval_days", NUM) X(PURCHASES, "purchases", COUNT)  \
    X(REFUNDS, "refunds", COUNT) X(VIEWS, "views", COUNT) X(SEARCHES, "searches", COUNT)  \
    X(CARTS, "carts", COUNT) X(FAVS, "favs", COUNT) X(BROWSE_TO_BUY, "browse_to_buy", NUM) \
    X(CART_ABANDON, "cart_abandon_rate", NUM)                                             \
    X(DVBP, "detail_views_before_purchase", NUM) X(IMPULSIVE, "impulsive_share", NUM)     \
    X(COUPON_SHARE, "coupon_share", NUM) X(PROMO_SHARE, "promo_share", NUM)               \
    X(PRICE_PCT, "price_percentile", NUM) X(PRICE_SENS, "price_sensitivity", NUM)         \
    X(PREF_HOUR, "preferred_hour", COUNT) X(PREF_CHANNEL, "preferred_channel", CAT)       \
    X(ACTIVE_NIGHT, "active_night", NUM) X(ACTIVE_MORNING, "active_morning", NUM)         \
    X(ACTIVE_AFTERNOON, "active_afternoon", NUM) X(ACTIVE_EVENING, "active_evening", NUM) \
    X(TOP_CATEGORY, "top_category", CAT) X(TOP_CATEGORY_SHARE, "top_category_share", NUM) \
    X(TOP_LEAF, "top_leaf_category", CAT) X(TOP_BRAND, "top_brand", CAT)                  \
    X(BRAND_SHARE, "brand_share", NUM) X(SHIFT, "category_shift", NUM)                    \
    X(LIFECYCLE, "lifecycle", CAT) X(CAPACITY, "capacity_tier", COUNT)                    \
    X(ON_TIME_RATE, "on_time_rate", NUM) X(LATE, "late_repayments", COUNT)                \
    X(MAX_OVERDUE, "max_overdue_days", COUNT) X(DEBT, "debt", NUM)                        \
    X(CREDIT_MONTHS, "credit_history_months", COUNT) X(DEFAULTED, "defaulted", CAT)       \
    X(LOAN_APPLIES, "loan_applies", COUNT) X(REPAYS, "repayments", COUNT)                 \
    X(REPAY_AMOUNT, "repay_amount", NUM)

enum {
#define X(id, name, type) C_##id,
    FIXED_COLUMNS(X)
#undef X
    C__FIXED
};

enum { LC_PROSPECT, LC_NEW, LC_ACTIVE, LC_RETURNING, LC_DORMANT, LC_CHURNED };

/* ---- the profile set --------------------------------------------------------- */

typedef struct {
    uint32_t gender, city, channel; /* codes; TL_NONE unknown */
    int32_t birth_year;
    int64_t registered_at; /* INT64_MIN unknown */
    /* credit record */
    int has_credit;
    double on_time_rate, debt;
    uint32_t late, max_overdue, months, defaulted;
} ustatic_t;

struct tl_profiles {
    tl_profile_opts_t o;
    int64_t as_of;
    uint32_t n, cap; /* users */
    catalogue_t cat;
    int ntops, nch;
    ustate_t *st;
    ustatic_t *ust;
    float *aff_long, *aff_short; /* n x ntops */
    uint16_t *hours;             /* n x 24 */
    uint32_t *chan;              /* n x nch */
    int64_t *promo_days;         /* sorted day numbers */
    int npromo;
    double tier_cut[4];          /* monetary_365d quintile cuts among buyers */
    int ncols;
    column_t *cols;
    tl_dict_t *cities, *channels; /* labels borrowed from the store */
    tl_dict_t *gender_labels, *lifecycle_labels, *yesno_labels;
    uint8_t *withdrawn; /* per user: profiling withdrawn, no profile kept */
    /* per identifier below ncanon: the row of its person (identity.h),
     * the smallest of the person's identifiers; NULL: each its own */
    uint32_t *canon;
    uint32_t ncanon;
    uint32_t identify; /* the event type that only links identifiers (not applied),
                        * plus one; 0: the store has none */
    int owns_state; /* 0 for a loaded snapshot: features only */
};

/* The day number of a time in ms, rounded down also before 1970. */
static inline int64_t tl__profile_day(int64_t ts) {
    return ts >= 0 ? ts / DAY : -((-ts + DAY - 1) / DAY);
}

/* The row of u's person. */
static inline uint32_t tl__profile_person(const tl_profiles_t *p, uint32_t u) {
    return p->canon && u < p->ncanon ? p->canon[u] : u;
}

/* Makes room for users [0, need), which become the set's users when there
 * are more of them than now (profile.c). */
int tl__profile_grow(tl_profiles_t *p, uint32_t need);

/* Sets the flag of every person one of whose identifiers has it
 * (profiling withdrawn on an identifier withdraws it for its person)
 * (profile_apply.c). */
void tl__profile_fold_flags(const tl_profiles_t *p, uint8_t *flag);

/* A profile set over the store's catalogue and users, with empty states
 * (profile.c). */
int tl__profile_new(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                    tl_errbuf_t *eb);

/* Adds a column without data; it owns labels if own (profile.c). */
int tl__profile_add_column(tl_profiles_t *p, const char *name, tl_coltype_t type,
                           tl_dict_t *labels, int own);

/* The columns of the event log the state machine reads; a replay decodes
 * no others. */
#define TL__PROFILE_APPLY_COLUMNS                                                        \
    (TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TS | TL_EVC_TYPE | TL_EVC_CHANNEL | TL_EVC_AMOUNT |   \
     TL_EVC_QTY | TL_EVC_RATING | TL_EVC_SESSION)

/* Event i of a block as the state machine reads it, fp its row in the log
 * (profile_build.c). */
tl_event_t tl__profile_event_at(const tl_evblock_t *b, uint32_t i);
/* Events by user, then time, then row in the log: the order a person's
 * events out of time order are applied in, whatever the sort
 * (profile_build.c). */
int tl__profile_cmp_event(const void *a, const void *b);

/* Row u's state as a build leaves a row it gave nothing: the state of
 * someone never seen, no user or credit record; the features are not
 * read off it here (profile_apply.c). */
void tl__profile_reset_row(tl_profiles_t *p, uint32_t u);

/* u's user and credit records (when it has them) into the row of its
 * person, as a build reads them (profile.c). */
int tl__profile_read_records(tl_profiles_t *p, tl_store_t *st, uint32_t u, tl_errbuf_t *eb);

/* The threads that finalize users: o->threads, else one per core up to 8
 * (profile_apply.c). */
int tl__profile_nthreads(const tl_profile_opts_t *o);

#endif
