/* profile.c -- the feature engine behind user profiles.
 *
 * Each user has a state (ustate_t plus rows in a few flat arrays) that every
 * event of theirs updates through apply(); finalize() reads the features off
 * a state at an "as of" time into the columns. The batch build streams the
 * event log once to learn the promotion days and which users' events are
 * out of time order, then applies every event (both cores, users split by
 * parity; out-of-order users are sorted and applied afterwards) and
 * finalizes every user. The incremental path calls the same apply() and
 * finalize(), which is why both give the same profile.
 *
 * Visits: an event's session id, or for events without one a gap of more
 * than session_gap_min minutes, starts a new visit. A visit with purchases
 * is one order; carts of items not bought in the same visit are abandoned;
 * views of an item earlier in the visit count as "detail views before
 * purchase".
 */
#include "profile.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

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

static const struct {
    const char *name;
    tl_coltype_t type;
} FIXED[C__FIXED] = {
#define X(id, name, type) {name, TL_COL_##type},
    FIXED_COLUMNS(X)
#undef X
};

static const char *const LIFECYCLE[] = {"prospect", "new", "active", "returning", "dormant",
                                        "churned"};
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
    int owns_state; /* 0 for a loaded snapshot: features only */
};

void tl_profile_opts_default(tl_profile_opts_t *o) {
    o->as_of = INT64_MIN;
    o->half_life_days = 30;
    o->short_half_life_days = 7;
    o->session_gap_min = 30;
    o->threads = 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static int64_t day_of(int64_t ts) { return ts >= 0 ? ts / DAY : -((-ts + DAY - 1) / DAY); }

static tl_dict_t *labels_of(const char *const *names, int n) {
    tl_dict_t *d = tl_dict_new();
    uint32_t idx;
    for (int i = 0; d && i < n; i++)
        if (tl_dict_intern(d, names[i], strlen(names[i]), &idx, NULL)) {
            tl_dict_free(d);
            return NULL;
        }
    return d;
}

static int is_promo(const tl_profiles_t *p, int64_t day) {
    int lo = 0, hi = p->npromo;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (p->promo_days[mid] < day) lo = mid + 1;
        else hi = mid;
    }
    return lo < p->npromo && p->promo_days[lo] == day;
}

static void small_add(wentry_t *t, uint32_t id, float w) {
    int empty = -1, least = 0;
    for (int i = 0; i < SMALL; i++) {
        if (t[i].id == id && t[i].w > 0) {
            t[i].w += w;
            return;
        }
        if (t[i].w <= 0 && empty < 0) empty = i;
        if (t[i].w < t[least].w) least = i;
    }
    /* A full table drops its lightest entry: the heavy ones are what count. */
    int k = empty >= 0 ? empty : least;
    if (empty < 0 && t[least].w > w) return;
    t[k].id = id;
    t[k].w = w;
}

static uint32_t small_top(const wentry_t *t, double *share) {
    double sum = 0, best = 0;
    uint32_t id = TL_NONE;
    for (int i = 0; i < SMALL; i++) {
        if (t[i].w <= 0) continue;
        sum += t[i].w;
        if (t[i].w > best) best = t[i].w, id = t[i].id;
    }
    *share = sum > 0 ? best / sum : NAN;
    return id;
}

/* ---- growing the user arrays ---------------------------------------------------- */

static int grow_users(tl_profiles_t *p, uint32_t need) {
    if (need <= p->cap) {
        if (need > p->n) p->n = need;
        return 0;
    }
    uint32_t nc = p->cap ? p->cap : 1024;
    while (nc < need) nc *= 2;
/* From nothing, calloc: big blocks then come as lazily zeroed pages,
 * touched once instead of twice. */
#define GROW(ptr, per)                                                                      \
    do {                                                                                    \
        size_t sz = (size_t)nc * (per) * sizeof *(ptr);                                     \
        void *np = (ptr) ? realloc((ptr), sz) : calloc(1, sz ? sz : 1);                     \
        if (!np) return TL_ENOMEM;                                                          \
        tl_hint_huge(np, sz);                                                               \
        (ptr) = np;                                                                         \
        if (p->cap)                                                                         \
            memset((ptr) + (size_t)p->cap * (per), 0,                                       \
                   (size_t)(nc - p->cap) * (per) * sizeof *(ptr));                          \
    } while (0)
    GROW(p->st, 1);
    GROW(p->ust, 1);
    GROW(p->aff_long, (size_t)p->ntops);
    GROW(p->aff_short, (size_t)p->ntops);
    GROW(p->hours, 24);
    GROW(p->chan, (size_t)p->nch);
    GROW(p->withdrawn, 1);
    for (int c = 0; c < p->ncols; c++) {
        size_t w = p->cols[c].type == TL_COL_NUM ? sizeof(double) : sizeof(uint32_t);
        void *np = realloc(p->cols[c].data, (size_t)nc * w);
        if (!np) return TL_ENOMEM;
        tl_hint_huge(np, (size_t)nc * w);
        p->cols[c].data = np;
    }
#undef GROW
    for (uint32_t u = p->cap; u < nc; u++) {
        ustatic_t *s = &p->ust[u];
        s->gender = s->city = s->channel = TL_NONE;
        s->registered_at = INT64_MIN;
        p->st[u].visit = TL_NONE;
    }
    p->cap = nc;
    p->n = need;
    return 0;
}

/* ---- the state machine ------------------------------------------------------------ */

/* Counts what a finished visit left: carts not bought, and a coupon used in
 * a visit with an order. Read-only on purpose: finalize() calls it for the
 * visit still open. */
static void visit_tally(const ustate_t *s, uint32_t *abandoned, uint32_t *coupon_order) {
    *abandoned = 0;
    for (int i = 0; i < s->nvitems; i++) *abandoned += s->vitems[i].carted && !s->vitems[i].bought;
    *coupon_order = s->visit_ordered && s->visit_coupon;
}

static vitem_t *visit_item(ustate_t *s, uint32_t item) {
    for (int i = 0; i < s->nvitems; i++)
        if (s->vitems[i].item == item) return &s->vitems[i];
    if (s->nvitems == VISIT_ITEMS) return NULL; /* a very long visit: later items untracked */
    vitem_t *v = &s->vitems[s->nvitems++];
    v->item = item;
    v->views = 0;
    v->carted = v->bought = 0;
    return v;
}

static float type_weight(uint8_t type, float rating) {
    switch (type) {
    case TL_EV_VIEW: case TL_EV_CLICK: return 1;
    case TL_EV_FAV: case TL_EV_REVIEW: case TL_EV_SHARE: return 2;
    case TL_EV_CART: return 3;
    case TL_EV_PURCHASE: return 5;
    case TL_EV_RATE: return isnan(rating) ? 1 : rating * 0.6f; /* 5 stars = a purchase */
    default: return 0;
    }
}

int tl_profile_apply(tl_profiles_t *p, const tl_event_t *ev) {
    int rc = grow_users(p, ev->user + 1);
    if (rc) return rc;
    uint32_t u = ev->user;
    if (p->withdrawn[u]) return 0; /* no profile is kept */
    ustate_t *s = &p->st[u];
    int64_t t = ev->ts, day = day_of(t);
    if (s->nevents == 0) {
        s->first_ts = s->last_ts = t;
        s->last_day = INT64_MIN;
        s->return_ts = INT64_MIN;
        s->aff_t = t;
    } else if (t - s->last_ts >= RETURN_GAP) {
        s->return_ts = t;
    }
    if (day != s->last_day) s->active_days++, s->last_day = day;
    if (t > s->last_ts) s->last_ts = t;
    if (t < s->first_ts) s->first_ts = t;
    s->nevents++;
    int64_t sec = t >= 0 ? t / 1000 : (t - 999) / 1000;
    int hour = (int)(((sec % 86400) + 86400) % 86400 / 3600);
    uint16_t *h = &p->hours[(size_t)u * 24 + hour];
    if (*h < UINT16_MAX) (*h)++;
    if (ev->channel < p->nch) p->chan[(size_t)u * p->nch + ev->channel]++;

    /* the visit */
    uint32_t visit;
    if (ev->session != TL_NONE) {
        visit = ev->session & 0x7fffffffu;
    } else {
        if (s->visit == TL_NONE || !(s->visit & 0x80000000u) ||
            (double)(t - s->visit_last_ts) > p->o.session_gap_min * 60000.0)
            s->visit_seq++;
        visit = 0x80000000u | (s->visit_seq & 0x7fffffffu);
    }
    if (visit != s->visit) {
        if (s->visit != TL_NONE) {
            uint32_t ab, co;
            visit_tally(s, &ab, &co);
            s->cart_abandoned += ab;
            s->coupon_orders += co;
        }
        s->visit = visit;
        s->nvitems = 0;
        s->visit_coupon = s->visit_ordered = 0;
    }
    s->visit_last_ts = t;

    const catalogue_t *c = &p->cat;
    int known = ev->item != TL_NONE && ev->item < c->nitems;
    double price = known ? c->price[ev->item] : NAN;
    double amount = ev->amount;
    if (isnan(amount)) amount = isnan(price) ? 0 : price * ev->qty;
    vitem_t *vi;
    switch (ev->type) {
    case TL_EV_VIEW:
    case TL_EV_CLICK:
        s->views++;
        if (ev->item != TL_NONE && (vi = visit_item(s, ev->item))) vi->views++;
        break;
    case TL_EV_SEARCH: s->searches++; break;
    case TL_EV_CART:
        s->carts++;
        if (ev->item != TL_NONE && (vi = visit_item(s, ev->item))) vi->carted = 1;
        break;
    case TL_EV_FAV: s->favs++; break;
    case TL_EV_COUPON_USE: s->visit_coupon = 1; break;
    case TL_EV_LOAN_APPLY: s->loan_applies++; break;
    case TL_EV_REPAY:
        s->repays++;
        s->repay_amount += isnan(ev->amount) ? 0 : ev->amount;
        break;
    case TL_EV_PURCHASE: {
        s->purchases++;
        /* A purchase in a visit that already had one belongs to that order;
         * the last few order visits are remembered, since two orders may
         * interleave when their lines share a time stamp. */
        uint8_t new_order = 1;
        for (int i = 0; i < 4 && i < (int)s->orders; i++) new_order &= s->order_visits[i] != visit;
        if (new_order) {
            s->order_visits[s->orders % 4] = visit;
            s->orders++;
            if (s->orders == 1 || t < s->first_order_ts) s->first_order_ts = t;
            if (s->orders == 1 || t > s->last_order_ts) s->last_order_ts = t;
            if (is_promo(p, day)) s->promo_orders++;
        } else if (t > s->last_order_ts) {
            s->last_order_ts = t;
        }
        s->visit_ordered = 1;
        s->monetary += amount;
        if (ev->item != TL_NONE && (vi = visit_item(s, ev->item))) {
            s->vbp_sum += vi->views;
            s->vbp_n++;
            if (vi->views <= 1) s->impulsive++;
            vi->bought = 1;
        }
        if (known && !isnan(c->pct[ev->item])) s->price_sum += c->pct[ev->item], s->price_n++;
        if (s->nhist == s->caphist) {
            uint32_t nc = s->caphist ? s->caphist * 2 : 4;
            hist_t *nh = realloc(s->hist, nc * sizeof *nh);
            if (!nh) return TL_ENOMEM;
            s->hist = nh;
            s->caphist = nc;
        }
        s->hist[s->nhist++] = (hist_t){t, amount, new_order};
        break;
    }
    case TL_EV_REFUND:
        s->refunds++;
        s->monetary -= amount;
        if (s->nhist == s->caphist) {
            uint32_t nc = s->caphist ? s->caphist * 2 : 4;
            hist_t *nh = realloc(s->hist, nc * sizeof *nh);
            if (!nh) return TL_ENOMEM;
            s->hist = nh;
            s->caphist = nc;
        }
        s->hist[s->nhist++] = (hist_t){t, -amount, 0};
        break;
    default: break;
    }

    /* affinities: decayed sums kept at time aff_t */
    float w = type_weight(ev->type, ev->rating);
    if (w > 0 && known) {
        int k = c->top[ev->item];
        float *al = &p->aff_long[(size_t)u * p->ntops], *as = &p->aff_short[(size_t)u * p->ntops];
        double tl = p->o.half_life_days * DAY / M_LN2, ts = p->o.short_half_life_days * DAY / M_LN2;
        if (t > s->aff_t) {
            float fl = (float)exp(-(double)(t - s->aff_t) / tl);
            float fs = (float)exp(-(double)(t - s->aff_t) / ts);
            for (int j = 0; j < p->ntops; j++) al[j] *= fl, as[j] *= fs;
            s->aff_t = t;
        }
        if (k != UINT16_MAX) {
            if (t == s->aff_t) {
                al[k] += w;
                as[k] += w;
            } else { /* an event older than the last one */
                al[k] += w * (float)exp(-(double)(s->aff_t - t) / tl);
                as[k] += w * (float)exp(-(double)(s->aff_t - t) / ts);
            }
        }
        if (c->leaf[ev->item] != TL_NONE) small_add(s->leaf, c->leaf[ev->item], w);
        if (c->brand[ev->item] != TL_NONE) small_add(s->brand, c->brand[ev->item], w);
    }
    return 0;
}

/* ---- features ------------------------------------------------------------------ */

#define NUMC(p, c) ((double *)(p)->cols[c].data)
#define U32C(p, c) ((uint32_t *)(p)->cols[c].data)

static double sum_norm(const float *v, int k) {
    double s = 0;
    for (int i = 0; i < k; i++) s += v[i];
    return s;
}

static int year_of(int64_t ts) {
    char b[32];
    tl_time_format(ts, b);
    return atoi(b);
}

/* Reads user u's features at as_of into the columns (all but capacity_tier,
 * which depends on everybody: see refresh_tiers). */
/* Every feature of user u unknown: NaN, 0, no category. */
static void blank(tl_profiles_t *p, uint32_t u) {
    for (int c = 0; c < p->ncols; c++) {
        column_t *col = &p->cols[c];
        if (col->type == TL_COL_NUM) ((double *)col->data)[u] = NAN;
        else ((uint32_t *)col->data)[u] = col->type == TL_COL_CAT ? TL_NONE : 0;
    }
}

static void finalize(tl_profiles_t *p, uint32_t u, int64_t as_of) {
    if (p->withdrawn[u]) {
        blank(p, u);
        return;
    }
    const ustate_t *s = &p->st[u];
    const ustatic_t *us = &p->ust[u];
    const double d = (double)DAY;
    NUMC(p, C_AGE)[u] = us->birth_year ? year_of(as_of) - us->birth_year : NAN;
    U32C(p, C_GENDER)[u] = us->gender;
    U32C(p, C_CITY)[u] = us->city;
    U32C(p, C_SIGNUP_CHANNEL)[u] = us->channel;
    NUMC(p, C_REGISTERED_DAYS)[u] =
        us->registered_at != INT64_MIN ? (double)(as_of - us->registered_at) / d : NAN;
    U32C(p, C_EVENTS)[u] = s->nevents;
    U32C(p, C_ACTIVE_DAYS)[u] = s->active_days;
    NUMC(p, C_FIRST_SEEN_DAYS)[u] = s->nevents ? (double)(as_of - s->first_ts) / d : NAN;
    NUMC(p, C_DAYS_SINCE_ACTIVE)[u] = s->nevents ? (double)(as_of - s->last_ts) / d : NAN;
    NUMC(p, C_DAYS_SINCE_PURCHASE)[u] = s->orders ? (double)(as_of - s->last_order_ts) / d : NAN;
    static const int64_t win[3] = {30, 90, 365};
    uint32_t ow[3] = {0, 0, 0};
    double mw[3] = {0, 0, 0};
    for (uint32_t i = 0; i < s->nhist; i++) {
        const hist_t *h = &s->hist[i];
        for (int w = 0; w < 3; w++)
            if (h->ts <= as_of && h->ts > as_of - win[w] * DAY) ow[w] += h->new_order, mw[w] += h->amount;
    }
    U32C(p, C_ORDERS)[u] = s->orders;
    U32C(p, C_ORDERS_30D)[u] = ow[0];
    U32C(p, C_ORDERS_90D)[u] = ow[1];
    U32C(p, C_ORDERS_365D)[u] = ow[2];
    NUMC(p, C_MONETARY)[u] = s->monetary;
    NUMC(p, C_MONETARY_30D)[u] = mw[0];
    NUMC(p, C_MONETARY_90D)[u] = mw[1];
    NUMC(p, C_MONETARY_365D)[u] = mw[2];
    NUMC(p, C_AOV)[u] = s->orders ? s->monetary / s->orders : NAN;
    NUMC(p, C_PURCHASE_INTERVAL)[u] =
        s->orders > 1 ? (double)(s->last_order_ts - s->first_order_ts) / d / (s->orders - 1) : NAN;
    U32C(p, C_PURCHASES)[u] = s->purchases;
    U32C(p, C_REFUNDS)[u] = s->refunds;
    U32C(p, C_VIEWS)[u] = s->views;
    U32C(p, C_SEARCHES)[u] = s->searches;
    U32C(p, C_CARTS)[u] = s->carts;
    U32C(p, C_FAVS)[u] = s->favs;
    NUMC(p, C_BROWSE_TO_BUY)[u] = s->views ? (double)s->purchases / s->views : NAN;
    uint32_t ab, co;
    visit_tally(s, &ab, &co);
    NUMC(p, C_CART_ABANDON)[u] = s->carts ? fmin(1.0, (double)(s->cart_abandoned + ab) / s->carts) : NAN;
    NUMC(p, C_DVBP)[u] = s->vbp_n ? s->vbp_sum / s->vbp_n : NAN;
    NUMC(p, C_IMPULSIVE)[u] = s->vbp_n ? (double)s->impulsive / s->vbp_n : NAN;
    double coupon = s->orders ? (double)(s->coupon_orders + co) / s->orders : NAN;
    double promo = s->orders ? (double)s->promo_orders / s->orders : NAN;
    double pct = s->price_n ? s->price_sum / s->price_n : NAN;
    NUMC(p, C_COUPON_SHARE)[u] = coupon;
    NUMC(p, C_PROMO_SHARE)[u] = promo;
    NUMC(p, C_PRICE_PCT)[u] = pct;
    /* Price sensitivity: coupons, promotion days and cheapness of what is
     * bought, each 0..1, averaged over what is known. */
    double ps = 0;
    int np = 0;
    if (!isnan(coupon)) ps += coupon, np++;
    if (!isnan(promo)) ps += promo, np++;
    if (!isnan(pct)) ps += 1 - pct, np++;
    NUMC(p, C_PRICE_SENS)[u] = np ? ps / np : NAN;
    const uint16_t *hr = &p->hours[(size_t)u * 24];
    uint32_t bh = TL_NONE, bv = 0;
    for (int i = 0; i < 24; i++)
        if (hr[i] > bv) bv = hr[i], bh = (uint32_t)i;
    U32C(p, C_PREF_HOUR)[u] = bh;
    /* the active-hours histogram in four parts of the day (UTC): shares */
    double part[4] = {0, 0, 0, 0}, all = 0;
    for (int i = 0; i < 24; i++) part[i / 6] += hr[i], all += hr[i];
    NUMC(p, C_ACTIVE_NIGHT)[u] = all > 0 ? part[0] / all : NAN;
    NUMC(p, C_ACTIVE_MORNING)[u] = all > 0 ? part[1] / all : NAN;
    NUMC(p, C_ACTIVE_AFTERNOON)[u] = all > 0 ? part[2] / all : NAN;
    NUMC(p, C_ACTIVE_EVENING)[u] = all > 0 ? part[3] / all : NAN;
    const uint32_t *ch = &p->chan[(size_t)u * p->nch];
    uint32_t bc = TL_NONE, bcv = 0;
    for (int i = 0; i < p->nch; i++)
        if (ch[i] > bcv) bcv = ch[i], bc = (uint32_t)i;
    U32C(p, C_PREF_CHANNEL)[u] = bc;
    const float *al = &p->aff_long[(size_t)u * p->ntops], *as = &p->aff_short[(size_t)u * p->ntops];
    double sl = sum_norm(al, p->ntops), ss = sum_norm(as, p->ntops), best = 0, shift = 0;
    uint32_t top = TL_NONE;
    for (int k = 0; k < p->ntops; k++) {
        double share = sl > 0 ? al[k] / sl : 0;
        NUMC(p, C__FIXED + k)[u] = share;
        if (share > best) best = share, top = (uint32_t)k;
        if (sl > 0 && ss > 0) shift += fabs(as[k] / ss - share);
    }
    U32C(p, C_TOP_CATEGORY)[u] = top;
    NUMC(p, C_TOP_CATEGORY_SHARE)[u] = sl > 0 ? best : NAN;
    NUMC(p, C_SHIFT)[u] = sl > 0 && ss > 0 ? shift / 2 : NAN;
    double share;
    U32C(p, C_TOP_LEAF)[u] = small_top(s->leaf, &share);
    U32C(p, C_TOP_BRAND)[u] = small_top(s->brand, &share);
    NUMC(p, C_BRAND_SHARE)[u] = share;
    uint32_t lc;
    if (!s->nevents) lc = LC_PROSPECT;
    else if (as_of - s->first_ts <= 30 * DAY) lc = LC_NEW;
    else if (as_of - s->last_ts <= 30 * DAY) lc = s->return_ts >= as_of - 30 * DAY ? LC_RETURNING : LC_ACTIVE;
    else if (as_of - s->last_ts <= 90 * DAY) lc = LC_DORMANT;
    else lc = LC_CHURNED;
    U32C(p, C_LIFECYCLE)[u] = lc;
    NUMC(p, C_ON_TIME_RATE)[u] = us->has_credit ? us->on_time_rate : NAN;
    U32C(p, C_LATE)[u] = us->has_credit ? us->late : TL_NONE;
    U32C(p, C_MAX_OVERDUE)[u] = us->has_credit ? us->max_overdue : TL_NONE;
    NUMC(p, C_DEBT)[u] = us->has_credit ? us->debt : NAN;
    U32C(p, C_CREDIT_MONTHS)[u] = us->has_credit ? us->months : TL_NONE;
    U32C(p, C_DEFAULTED)[u] = us->has_credit ? us->defaulted : TL_NONE;
    U32C(p, C_LOAN_APPLIES)[u] = s->loan_applies;
    U32C(p, C_REPAYS)[u] = s->repays;
    NUMC(p, C_REPAY_AMOUNT)[u] = s->repay_amount;
}

static uint32_t tier_of(const tl_profiles_t *p, double m) {
    if (!(m > 0)) return 0;
    uint32_t t = 1;
    for (int i = 0; i < 4; i++) t += m > p->tier_cut[i];
    return t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Capacity tiers: quintiles of 365-day spend among the users who spent. */
static int refresh_tiers(tl_profiles_t *p) {
    const double *m = NUMC(p, C_MONETARY_365D);
    double *v = malloc((size_t)(p->n ? p->n : 1) * sizeof *v);
    if (!v) return TL_ENOMEM;
    uint32_t k = 0;
    for (uint32_t u = 0; u < p->n; u++)
        if (m[u] > 0) v[k++] = m[u];
    qsort(v, k, sizeof *v, cmp_double);
    for (int i = 0; i < 4; i++) p->tier_cut[i] = k ? v[(size_t)k * (i + 1) / 5] : 0;
    free(v);
    for (uint32_t u = 0; u < p->n; u++) U32C(p, C_CAPACITY)[u] = tier_of(p, m[u]);
    return 0;
}

typedef struct {
    tl_profiles_t *p;
    int64_t as_of;
    uint32_t from, to;
} fin_job_t;

static void *fin_thread(void *arg) {
    fin_job_t *j = arg;
    for (uint32_t u = j->from; u < j->to; u++) finalize(j->p, u, j->as_of);
    return NULL;
}

static int nthreads(const tl_profile_opts_t *o) {
    if (o->threads > 0) return o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

int tl_profile_refresh(tl_profiles_t *p, int64_t as_of) {
    p->as_of = as_of;
    int nt = nthreads(&p->o);
    pthread_t th[8];
    fin_job_t jobs[8];
    int started = 0;
    for (int i = 0; i < nt; i++) {
        jobs[i] = (fin_job_t){p, as_of, (uint32_t)((uint64_t)p->n * i / nt),
                              (uint32_t)((uint64_t)p->n * (i + 1) / nt)};
        if (i > 0 && pthread_create(&th[i], NULL, fin_thread, &jobs[i]) == 0) started |= 1 << i;
        else if (i > 0) fin_thread(&jobs[i]);
    }
    fin_thread(&jobs[0]);
    for (int i = 1; i < nt; i++)
        if (started & (1 << i)) pthread_join(th[i], NULL);
    return refresh_tiers(p);
}

int tl_profile_refresh_user(tl_profiles_t *p, uint32_t user, int64_t as_of) {
    if (user >= p->n) return TL_EINVAL;
    finalize(p, user, as_of);
    U32C(p, C_CAPACITY)[user] = tier_of(p, NUMC(p, C_MONETARY_365D)[user]);
    return 0;
}

int tl_profile_erase_user(tl_profiles_t *p, uint32_t u) {
    if (u >= p->n) return 0;
    blank(p, u);
    if (!p->owns_state) return 0;
    /* an empty user from here on: the state of someone never seen */
    free(p->st[u].hist);
    memset(&p->st[u], 0, sizeof p->st[u]);
    p->st[u].visit = TL_NONE;
    ustatic_t *s = &p->ust[u];
    memset(s, 0, sizeof *s);
    s->gender = s->city = s->channel = TL_NONE;
    s->registered_at = INT64_MIN;
    memset(p->aff_long + (size_t)u * p->ntops, 0, (size_t)p->ntops * sizeof *p->aff_long);
    memset(p->aff_short + (size_t)u * p->ntops, 0, (size_t)p->ntops * sizeof *p->aff_short);
    memset(p->hours + (size_t)u * 24, 0, 24 * sizeof *p->hours);
    memset(p->chan + (size_t)u * p->nch, 0, (size_t)p->nch * sizeof *p->chan);
    return tl_profile_refresh_user(p, u, p->as_of);
}

int tl_profile_set_withdrawn(tl_profiles_t *p, uint32_t u, int on) {
    if (u >= p->n && !on) return 0;
    int rc = u >= p->n ? grow_users(p, u + 1) : 0;
    if (rc) return rc;
    p->withdrawn[u] = 0;
    rc = tl_profile_erase_user(p, u); /* withdrawn or given back, the past is not kept */
    p->withdrawn[u] = (uint8_t)(on != 0);
    if (on) blank(p, u);
    return rc;
}

int tl_profile_withdrawn(const tl_profiles_t *p, uint32_t u) { return u < p->n && p->withdrawn[u]; }

uint32_t tl_profile_nwithdrawn(const tl_profiles_t *p) {
    uint32_t k = 0;
    for (uint32_t u = 0; u < p->n; u++) k += p->withdrawn[u];
    return k;
}

/* ---- loading what the profiles need from the store ---------------------------- */

typedef struct {
    tl_profiles_t *p;
    int rc;
} load_ctx_t;

static uint32_t intern_or_none(tl_dict_t *d, const char *s, int *rc) {
    if (!s || !*s) return TL_NONE;
    uint32_t idx;
    int r = tl_dict_intern(d, s, strlen(s), &idx, NULL);
    if (r) *rc = r;
    return r ? TL_NONE : idx;
}

static int item_row(uint32_t i, const tl_item_t *it, void *arg) {
    load_ctx_t *x = arg;
    catalogue_t *cat = &x->p->cat;
    if (i >= cat->nitems) return 0;
    const char *path = it->category;
    if (path && *path) {
        const char *slash = strchr(path, '/');
        size_t tl = slash ? (size_t)(slash - path) : strlen(path);
        uint32_t t;
        if (tl_dict_intern(cat->tops, path, tl, &t, NULL)) return x->rc = TL_ENOMEM;
        cat->top[i] = t < MAX_TOPS ? (uint16_t)t : UINT16_MAX;
        cat->leaf[i] = intern_or_none(cat->leaves, path, &x->rc);
    }
    cat->brand[i] = intern_or_none(cat->brands, it->brand, &x->rc);
    cat->price[i] = (float)it->price;
    return x->rc;
}

static int user_row(uint32_t u, const tl_user_t *r, void *arg) {
    load_ctx_t *x = arg;
    tl_profiles_t *p = x->p;
    if (u >= p->n) return 0;
    ustatic_t *s = &p->ust[u];
    s->gender = r->gender ? tl_dict_find(p->gender_labels, r->gender, strlen(r->gender)) : TL_NONE;
    s->birth_year = r->birth_year;
    s->city = intern_or_none(p->cities, r->city, &x->rc);
    s->channel = r->channel ? tl_dict_find(p->channels, r->channel, strlen(r->channel)) : TL_NONE;
    s->registered_at = r->registered_at;
    return x->rc;
}

static int credit_row(uint32_t u, const tl_credit_t *c, void *arg) {
    load_ctx_t *x = arg;
    if (u >= x->p->n) return 0;
    ustatic_t *s = &x->p->ust[u];
    s->has_credit = 1;
    double on = c->on_time >= 0 ? (double)c->on_time : 0, late = c->late >= 0 ? (double)c->late : 0;
    s->on_time_rate = c->on_time >= 0 && on + late > 0 ? on / (on + late) : NAN;
    s->late = c->late >= 0 ? (uint32_t)c->late : TL_NONE;
    s->max_overdue = c->max_overdue_days >= 0 ? (uint32_t)c->max_overdue_days : TL_NONE;
    s->debt = c->debt;
    s->months = c->history_months >= 0 ? (uint32_t)c->history_months : TL_NONE;
    s->defaulted = c->default_flag >= 0 ? (uint32_t)(c->default_flag != 0) : TL_NONE;
    return 0;
}

typedef struct {
    uint32_t leaf, item;
    float price;
} pitem_t;

static int cmp_pitem(const void *a, const void *b) {
    const pitem_t *x = a, *y = b;
    if (x->leaf != y->leaf) return x->leaf < y->leaf ? -1 : 1;
    return (x->price > y->price) - (x->price < y->price);
}

/* The percentile of each item's price among the items of its category
 * (0 the cheapest, 1 the dearest; ties share their mean rank). */
static int price_percentiles(catalogue_t *c) {
    pitem_t *v = malloc((size_t)(c->nitems ? c->nitems : 1) * sizeof *v);
    if (!v) return TL_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->nitems; i++)
        if (c->leaf[i] != TL_NONE && !isnan(c->price[i])) v[n++] = (pitem_t){c->leaf[i], i, c->price[i]};
    qsort(v, n, sizeof *v, cmp_pitem);
    for (uint32_t a = 0; a < n;) {
        uint32_t b = a;
        while (b < n && v[b].leaf == v[a].leaf) b++;
        for (uint32_t i = a; i < b;) {
            uint32_t j = i;
            while (j < b && v[j].price == v[i].price) j++;
            double rank = (double)(i + j - 1) / 2 - a, span = b - a - 1;
            for (uint32_t k = i; k < j; k++) c->pct[v[k].item] = span > 0 ? (float)(rank / span) : 0.5f;
            i = j;
        }
        a = b;
    }
    free(v);
    return 0;
}

static int add_column(tl_profiles_t *p, const char *name, tl_coltype_t type, tl_dict_t *labels,
                      int own) {
    column_t *nc = realloc(p->cols, (size_t)(p->ncols + 1) * sizeof *nc);
    if (!nc) return TL_ENOMEM;
    p->cols = nc;
    column_t *c = &p->cols[p->ncols];
    memset(c, 0, sizeof *c);
    if (!(c->name = strdup(name))) return TL_ENOMEM;
    c->type = type;
    c->labels = labels;
    c->own_labels = own;
    p->ncols++;
    return 0;
}

int tl_profile_set_column(tl_profiles_t *p, const char *name, tl_coltype_t type, void *data,
                          tl_dict_t *labels) {
    int c = tl_profile_col_find(p, name);
    if (c < 0) {
        int rc = add_column(p, name, type, NULL, 0);
        if (rc) {
            free(data);
            tl_dict_free(labels);
            return rc;
        }
        c = p->ncols - 1;
    } else {
        free(p->cols[c].data);
        if (p->cols[c].own_labels) tl_dict_free(p->cols[c].labels);
    }
    column_t *col = &p->cols[c];
    col->type = type;
    col->data = data;
    col->labels = labels;
    col->own_labels = labels != NULL;
    return 0;
}

void tl_profile_drop_columns(tl_profiles_t *p, const char *prefix) {
    size_t n = strlen(prefix);
    int k = 0;
    for (int c = 0; c < p->ncols; c++) {
        column_t *col = &p->cols[c];
        if (strncmp(col->name, prefix, n) == 0) {
            free(col->name);
            free(col->data);
            if (col->own_labels) tl_dict_free(col->labels);
            continue;
        }
        p->cols[k++] = *col;
    }
    p->ncols = k;
}

static tl_dict_t *labels_for(tl_profiles_t *p, int col) {
    switch (col) {
    case C_GENDER: return p->gender_labels;
    case C_CITY: return p->cities;
    case C_SIGNUP_CHANNEL: case C_PREF_CHANNEL: return p->channels;
    case C_TOP_CATEGORY: return p->cat.tops;
    case C_TOP_LEAF: return p->cat.leaves;
    case C_TOP_BRAND: return p->cat.brands;
    case C_LIFECYCLE: return p->lifecycle_labels;
    case C_DEFAULTED: return p->yesno_labels;
    default: return NULL;
    }
}

/* A profile set over the store's catalogue and users, with empty states. */
static int profiles_new(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                        tl_errbuf_t *eb) {
    *out = NULL;
    tl_profiles_t *p = calloc(1, sizeof *p);
    if (!p) return TL_ENOMEM;
    p->o = *o;
    p->owns_state = 1;
    static const char *const genders[] = {"f", "m", "o"}, *const yesno[] = {"no", "yes"};
    p->gender_labels = labels_of(genders, 3);
    p->lifecycle_labels = labels_of(LIFECYCLE, 6);
    p->yesno_labels = labels_of(yesno, 2);
    p->cities = tl_dict_new();
    p->cat.tops = tl_dict_new();
    p->cat.leaves = tl_dict_new();
    p->cat.brands = tl_dict_new();
    tl_dict_t *items = tl_store_dict(st, TL_D_ITEM, eb), *users = tl_store_dict(st, TL_D_USER, eb);
    tl_dict_t *chans = tl_store_dict(st, TL_D_CHANNEL, eb);
    int rc = 0;
    if (!p->gender_labels || !p->lifecycle_labels || !p->yesno_labels || !p->cities ||
        !p->cat.tops || !p->cat.leaves || !p->cat.brands || !items || !users || !chans)
        rc = TL_ENOMEM;
    /* The channel labels are copied: the profile outlives the store. */
    if (!rc && !(p->channels = tl_dict_new())) rc = TL_ENOMEM;
    for (uint32_t i = 0; !rc && chans && i < tl_dict_count(chans); i++) {
        size_t n;
        const char *s = tl_dict_str(chans, i, &n);
        uint32_t idx;
        rc = tl_dict_intern(p->channels, s, n, &idx, NULL);
    }
    catalogue_t *c = &p->cat;
    if (!rc) {
        c->nitems = tl_dict_count(items);
        size_t n = c->nitems ? c->nitems : 1;
        c->top = malloc(n * sizeof *c->top);
        c->leaf = malloc(n * sizeof *c->leaf);
        c->brand = malloc(n * sizeof *c->brand);
        c->price = malloc(n * sizeof *c->price);
        c->pct = malloc(n * sizeof *c->pct);
        if (!c->top || !c->leaf || !c->brand || !c->price || !c->pct) rc = TL_ENOMEM;
    }
    for (uint32_t i = 0; !rc && i < c->nitems; i++) {
        c->top[i] = UINT16_MAX;
        c->leaf[i] = c->brand[i] = TL_NONE;
        c->price[i] = c->pct[i] = NAN;
    }
    load_ctx_t x = {p, 0};
    if (!rc) rc = tl_store_scan_items(st, item_row, &x, eb);
    if (!rc) rc = price_percentiles(c);
    if (!rc) {
        p->ntops = (int)tl_dict_count(c->tops) < MAX_TOPS ? (int)tl_dict_count(c->tops) : MAX_TOPS;
        p->nch = (int)tl_dict_count(p->channels) < MAX_CH ? (int)tl_dict_count(p->channels) : MAX_CH;
        for (int k = 0; !rc && k < C__FIXED; k++)
            rc = add_column(p, FIXED[k].name, FIXED[k].type, NULL, 0);
        for (int k = 0; !rc && k < C__FIXED; k++) p->cols[k].labels = labels_for(p, k);
        char name[300];
        for (int k = 0; !rc && k < p->ntops; k++) {
            snprintf(name, sizeof name, "affinity_%s", tl_dict_str(c->tops, (uint32_t)k, NULL));
            rc = add_column(p, name, TL_COL_NUM, NULL, 0);
        }
    }
    if (!rc) rc = grow_users(p, tl_dict_count(users));
    if (!rc) rc = tl_store_scan_users(st, user_row, &x, eb);
    if (!rc) rc = tl_store_scan_credit(st, TL_NONE, credit_row, &x, eb);
    /* who withdrew profiling as things stand now, whatever the as-of time */
    if (!rc && p->n) rc = tl_store_consents_withdrawn(st, "profiling", INT64_MAX, p->withdrawn, p->n, eb);
    if (rc) {
        tl_profile_free(p);
        if (!eb->msg[0]) tl_errbuf_set(eb, "cannot prepare profiles: %s", tl_strerror(rc));
        return rc;
    }
    *out = p;
    return 0;
}

void tl_profile_free(tl_profiles_t *p) {
    if (!p) return;
    for (uint32_t u = 0; p->st && u < p->cap; u++) free(p->st[u].hist);
    free(p->st);
    free(p->ust);
    free(p->aff_long);
    free(p->aff_short);
    free(p->hours);
    free(p->chan);
    free(p->withdrawn);
    free(p->promo_days);
    for (int c = 0; c < p->ncols; c++) {
        free(p->cols[c].name);
        free(p->cols[c].data);
        if (p->cols[c].own_labels) tl_dict_free(p->cols[c].labels);
    }
    free(p->cols);
    free(p->cat.top);
    free(p->cat.leaf);
    free(p->cat.brand);
    free(p->cat.price);
    free(p->cat.pct);
    tl_dict_free(p->cat.tops);
    tl_dict_free(p->cat.leaves);
    tl_dict_free(p->cat.brands);
    tl_dict_free(p->cities);
    tl_dict_free(p->channels);
    tl_dict_free(p->gender_labels);
    tl_dict_free(p->lifecycle_labels);
    tl_dict_free(p->yesno_labels);
    free(p);
}

/* ---- the batch build ---------------------------------------------------------- */

typedef struct {
    tl_profiles_t *p;
    int64_t *last_ts;      /* per user, pass 1 */
    uint8_t *disordered;   /* per user */
    int64_t max_ts, first_day;
    uint64_t *per_day;     /* purchases per day from first_day */
    int64_t ndays;
    int rc;
} pass1_t;

/* Makes per_day cover day d. */
static int cover_day(pass1_t *x, int64_t d) {
    if (x->ndays && d >= x->first_day && d < x->first_day + x->ndays) return 0;
    int64_t lo = x->ndays && x->first_day < d ? x->first_day : d;
    int64_t hi = x->ndays && x->first_day + x->ndays > d + 1 ? x->first_day + x->ndays : d + 1;
    uint64_t *nd = calloc((size_t)(hi - lo), sizeof *nd);
    if (!nd) return TL_ENOMEM;
    if (x->ndays) memcpy(nd + (x->first_day - lo), x->per_day, (size_t)x->ndays * sizeof *nd);
    free(x->per_day);
    x->per_day = nd;
    x->first_day = lo;
    x->ndays = hi - lo;
    return 0;
}

static int pass1_block(const tl_evblock_t *b, void *arg) {
    pass1_t *x = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t u = b->user[i];
        int64_t t = b->ts[i];
        if (u >= x->p->n || t > x->p->o.as_of) continue; /* after the profile's time */
        if (t < x->last_ts[u]) x->disordered[u] = 1;
        else x->last_ts[u] = t;
        if (t > x->max_ts) x->max_ts = t;
        if (b->type[i] == TL_EV_PURCHASE) {
            int64_t d = day_of(t);
            if (cover_day(x, d)) return TL_ENOMEM;
            x->per_day[d - x->first_day]++;
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Promotion days: days with more than 3 times the median number of
 * purchases of the days that had any (and at least 20). */
static int find_promo_days(tl_profiles_t *p, const pass1_t *x) {
    uint64_t *v = malloc((size_t)(x->ndays ? x->ndays : 1) * sizeof *v);
    if (!v) return TL_ENOMEM;
    int64_t k = 0;
    for (int64_t d = 0; d < x->ndays; d++)
        if (x->per_day[d]) v[k++] = x->per_day[d];
    qsort(v, (size_t)k, sizeof *v, cmp_u64);
    uint64_t median = k ? v[k / 2] : 0;
    free(v);
    p->npromo = 0;
    for (int64_t d = 0; d < x->ndays; d++)
        if (k >= 7 && x->per_day[d] >= 20 && x->per_day[d] > 3 * median) {
            int64_t *np = realloc(p->promo_days, (size_t)(p->npromo + 1) * sizeof *np);
            if (!np) return TL_ENOMEM;
            p->promo_days = np;
            p->promo_days[p->npromo++] = x->first_day + d;
        }
    return 0;
}

/* The columns the state machine reads; the build decodes no others. */
#define APPLY_COLUMNS                                                                   \
    (TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TS | TL_EVC_TYPE | TL_EVC_CHANNEL | TL_EVC_AMOUNT |   \
     TL_EVC_QTY | TL_EVC_RATING | TL_EVC_SESSION)

static tl_event_t event_at(const tl_evblock_t *b, uint32_t i) {
    tl_event_t e = {.fp = 0, .user = b->user[i], .item = b->item[i], .ts = b->ts[i],
                    .type = b->type[i], .channel = b->channel[i], .qty = b->qty[i],
                    .amount = b->amount[i], .rating = b->rating[i], .lat = NAN, .lon = NAN,
                    .query = TL_NONE, .city = TL_NONE, .session = b->session[i],
                    .campaign = TL_NONE};
    return e;
}

typedef struct {
    tl_profiles_t *p;
    const uint8_t *disordered;
    int part, nparts, rc;
    /* the out-of-order users' events, collected by part 0 */
    tl_event_t *late;
    size_t nlate, caplate;
} pass2_t;

static int pass2_part(pass2_t *x, const tl_evblock_t *b) {
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t u = b->user[i];
        if (u >= x->p->n || b->ts[i] > x->p->o.as_of) continue;
        if (x->disordered[u]) {
            if (x->part != 0) continue;
            if (x->nlate == x->caplate) {
                size_t nc = x->caplate ? x->caplate * 2 : 4096;
                tl_event_t *nl = realloc(x->late, nc * sizeof *nl);
                if (!nl) return TL_ENOMEM;
                x->late = nl;
                x->caplate = nc;
            }
            x->late[x->nlate++] = event_at(b, i);
            continue;
        }
        /* runs of 64 users per part: neighbours share cache lines */
        if ((int)((u >> 6) % (uint32_t)x->nparts) != x->part) continue;
        tl_event_t e = event_at(b, i);
        int rc = tl_profile_apply(x->p, &e);
        if (rc) return rc;
    }
    return 0;
}

/* Pass 2 decodes each block once: the scanning thread hands it to a helper
 * for the other half of the users and waits for it before moving on. */
typedef struct {
    pass2_t part[2];
    int nparts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const tl_evblock_t *cur;
    uint64_t gen, done_gen;
    int quit;
} shared_t;

static void *helper_main(void *arg) {
    shared_t *sh = arg;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        while (sh->gen == seen && !sh->quit) pthread_cond_wait(&sh->cv, &sh->mu);
        if (sh->gen == seen && sh->quit) {
            pthread_mutex_unlock(&sh->mu);
            return NULL;
        }
        seen = sh->gen;
        const tl_evblock_t *b = sh->cur;
        pthread_mutex_unlock(&sh->mu);
        int rc = sh->part[1].rc ? 0 : pass2_part(&sh->part[1], b);
        pthread_mutex_lock(&sh->mu);
        if (rc) sh->part[1].rc = rc;
        sh->done_gen = seen;
        pthread_cond_broadcast(&sh->cv);
        pthread_mutex_unlock(&sh->mu);
    }
}

static int shared_block(const tl_evblock_t *b, void *arg) {
    shared_t *sh = arg;
    if (sh->nparts == 1) return pass2_part(&sh->part[0], b);
    pthread_mutex_lock(&sh->mu);
    sh->cur = b;
    sh->gen++;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    int rc = pass2_part(&sh->part[0], b);
    pthread_mutex_lock(&sh->mu);
    while (sh->done_gen != sh->gen) pthread_cond_wait(&sh->cv, &sh->mu);
    pthread_mutex_unlock(&sh->mu);
    return rc ? rc : sh->part[1].rc;
}

static int cmp_event(const void *a, const void *b) {
    const tl_event_t *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return 0;
}

int tl_profile_build(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                     tl_errbuf_t *eb) {
    tl_profiles_t *p;
    int rc = profiles_new(st, o, &p, eb);
    if (rc) {
        if (!eb->msg[0]) tl_errbuf_set(eb, "profile build failed: %s", tl_strerror(rc));
        return rc;
    }
    /* Events after an explicit as-of time are left out; without one, all. */
    if (p->o.as_of == INT64_MIN) p->o.as_of = INT64_MAX;
    pass1_t x = {p, NULL, NULL, INT64_MIN, 0, NULL, 0, 0};
    x.last_ts = malloc((size_t)(p->n ? p->n : 1) * sizeof *x.last_ts);
    x.disordered = calloc(p->n ? p->n : 1, 1);
    if (!x.last_ts || !x.disordered) rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < p->n; u++) x.last_ts[u] = INT64_MIN;
    if (!rc) rc = tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_TS | TL_EVC_TYPE, pass1_block, &x, eb);
    if (!rc) rc = find_promo_days(p, &x);
    /* Both cores apply events, users split in runs of 64; users whose events
     * are out of time order are gathered and applied sorted afterwards. */
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.nparts = nthreads(o) >= 2 ? 2 : 1;
    for (int i = 0; i < sh.nparts; i++)
        sh.part[i] = (pass2_t){.p = p, .disordered = x.disordered, .part = i, .nparts = sh.nparts};
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    pthread_t th;
    if (rc || (sh.nparts == 2 && pthread_create(&th, NULL, helper_main, &sh) != 0)) {
        sh.nparts = 1; /* no helper runs: nothing to join */
        sh.part[0].nparts = 1;
    }
    if (!rc) rc = tl_store_scan_columns(st, APPLY_COLUMNS, shared_block, &sh, eb);
    if (sh.nparts == 2) {
        pthread_mutex_lock(&sh.mu);
        sh.quit = 1;
        pthread_cond_broadcast(&sh.cv);
        pthread_mutex_unlock(&sh.mu);
        pthread_join(th, NULL);
    }
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.cv);
    pass2_t *late = &sh.part[0];
    if (!rc && late->nlate) {
        qsort(late->late, late->nlate, sizeof *late->late, cmp_event);
        for (size_t i = 0; !rc && i < late->nlate; i++) rc = tl_profile_apply(p, &late->late[i]);
    }
    free(late->late);
    free(x.last_ts);
    free(x.disordered);
    free(x.per_day);
    int64_t as_of = o->as_of != INT64_MIN ? o->as_of : x.max_ts != INT64_MIN ? x.max_ts : tl_store_now(st);
    p->o.as_of = o->as_of;
    if (!rc) rc = tl_profile_refresh(p, as_of);
    if (rc) {
        if (!eb->msg[0]) tl_errbuf_set(eb, "profile build failed: %s", tl_strerror(rc));
        tl_profile_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int tl_profile_new_empty(tl_store_t *st, const tl_profile_opts_t *o, const tl_profiles_t *like,
                         tl_profiles_t **out, tl_errbuf_t *eb) {
    int rc = profiles_new(st, o, out, eb);
    if (rc || !like || !like->npromo) return rc;
    tl_profiles_t *p = *out;
    p->promo_days = malloc((size_t)like->npromo * sizeof *p->promo_days);
    if (!p->promo_days) {
        tl_profile_free(p);
        *out = NULL;
        return TL_ENOMEM;
    }
    memcpy(p->promo_days, like->promo_days, (size_t)like->npromo * sizeof *p->promo_days);
    p->npromo = like->npromo;
    return 0;
}

/* ---- the snapshot ------------------------------------------------------------- */

/* DATA/profiles.tlp: "TLPROF2\0", u32 users, u32 columns, i64 as_of, u32
 * count of the users who withdrew profiling and their indexes (u32), then per
 * column: u16 name length, name, u8 type, u32 label count, the labels each
 * NUL-ended, then the values (users x 8 bytes for numbers, x 4 for counts
 * and categories); last, the XXH3-64 of everything before it. Kept as the
 * store's blob "profiles", so a reader, also after a crash, sees the old
 * snapshot or the new one, and a second writer waits for the first. */
#define SNAP_MAGIC "TLPROF2"

static int put(tl_buf_t *b, const void *p, size_t n) { return tl_buf_append(b, p, n); }

/* Writes p[0..n) to w and into the running checksum. */
static int emit(tl_blobw_t *w, XXH3_state_t *h, const void *p, size_t n, tl_errbuf_t *eb) {
    XXH3_64bits_update(h, p, n);
    return tl_blobw_write(w, p, n, eb);
}

int tl_profile_save(tl_store_t *st, const tl_profiles_t *p, tl_errbuf_t *eb) {
    tl_blobw_t *w;
    int rc = tl_store_blob_create(st, "profiles", &w, eb);
    if (!rc) rc = tl_profile_write(p, w, eb);
    if (rc) tl_blobw_abandon(w);
    return rc ? rc : tl_blobw_close(w, eb);
}

int tl_profile_write(const tl_profiles_t *p, tl_blobw_t *f, tl_errbuf_t *eb) {
    XXH3_state_t *h = XXH3_createState();
    tl_buf_t b; /* the small parts: header, names, labels */
    tl_buf_init(&b);
    int rc = h ? 0 : TL_ENOMEM;
    if (!rc) XXH3_64bits_reset(h);
    uint32_t n = p->n, nc = (uint32_t)p->ncols;
    uint32_t nw = tl_profile_nwithdrawn(p);
    if (!rc && (put(&b, SNAP_MAGIC, 8) || put(&b, &n, 4) || put(&b, &nc, 4) ||
                put(&b, &p->as_of, 8) || put(&b, &nw, 4)))
        rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < n; u++)
        if (p->withdrawn[u]) rc = put(&b, &u, 4);
    /* column data go straight from the arrays: no copy of the whole file */
    for (int c = 0; !rc && c < p->ncols; c++) {
        const column_t *col = &p->cols[c];
        uint16_t len = (uint16_t)strlen(col->name);
        uint8_t type = (uint8_t)col->type;
        uint32_t nl = col->labels ? tl_dict_count(col->labels) : 0;
        if (put(&b, &len, 2) || put(&b, col->name, len) || put(&b, &type, 1) || put(&b, &nl, 4))
            rc = TL_ENOMEM;
        if (!rc && nl) {
            size_t last;
            const char *first = tl_dict_str(col->labels, 0, NULL);
            const char *lastp = tl_dict_str(col->labels, nl - 1, &last);
            rc = put(&b, first, (size_t)(lastp - first) + last + 1);
        }
        if (!rc) rc = emit(f, h, b.data, b.len, eb);
        tl_buf_clear(&b);
        if (!rc) rc = emit(f, h, col->data, (size_t)n * (col->type == TL_COL_NUM ? 8 : 4), eb);
    }
    if (!rc && p->ncols == 0) rc = emit(f, h, b.data, b.len, eb);
    uint64_t digest = rc ? 0 : XXH3_64bits_digest(h);
    if (!rc) rc = tl_blobw_write(f, &digest, 8, eb);
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory writing the profiles");
    XXH3_freeState(h);
    tl_buf_fini(&b);
    return rc;
}

int tl_profile_load(tl_store_t *st, tl_profiles_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    char path[4200];
    tl_blob_view_t v;
    int rc = tl_store_blob_path(st, "profiles", path, sizeof path, eb);
    if (!rc) rc = tl_store_blob_map(st, "profiles", &v, eb);
    if (rc == TL_ENOENT) tl_errbuf_set(eb, "%s: no profiles yet; run `tailor profile build` first", path);
    if (rc) return rc;
    const char *buf = v.data;
    size_t size = v.len;
    if (size <= 32) rc = TL_EIO;
    uint64_t h;
    if (!rc) memcpy(&h, buf + size - 8, 8);
    if (!rc && (memcmp(buf, SNAP_MAGIC, 8) != 0 || h != XXH3_64bits(buf, size - 8)))
        rc = TL_ECORRUPT;
    tl_profiles_t *p = rc ? NULL : calloc(1, sizeof *p);
    if (!rc && !p) rc = TL_ENOMEM;
    const char *r = buf + 8, *end = buf + size - 8;
    uint32_t n = 0, nc = 0;
#define TAKE(dst, len)                                                                      \
    do {                                                                                    \
        if (rc || (size_t)(end - r) < (size_t)(len)) { rc = rc ? rc : TL_ECORRUPT; break; }  \
        memcpy((dst), r, (len));                                                            \
        r += (len);                                                                         \
    } while (0)
    if (!rc) {
        TAKE(&n, 4);
        TAKE(&nc, 4);
        TAKE(&p->as_of, 8);
        p->n = p->cap = n;
        tl_profile_opts_default(&p->o);
        if (!(p->withdrawn = calloc(n ? n : 1, 1))) rc = TL_ENOMEM;
    }
    uint32_t nw = 0;
    TAKE(&nw, 4);
    for (uint32_t i = 0; !rc && i < nw; i++) {
        uint32_t u = 0;
        TAKE(&u, 4);
        if (!rc && u >= n) rc = TL_ECORRUPT;
        if (!rc) p->withdrawn[u] = 1;
    }
    for (uint32_t c = 0; !rc && c < nc; c++) {
        uint16_t len = 0;
        uint8_t type = 0;
        uint32_t nl = 0;
        char name[65536];
        TAKE(&len, 2);
        TAKE(name, len);
        name[rc ? 0 : len] = 0;
        TAKE(&type, 1);
        TAKE(&nl, 4);
        if (rc || type > TL_COL_CAT) {
            rc = rc ? rc : TL_ECORRUPT;
            break;
        }
        tl_dict_t *labels = nl ? tl_dict_new() : NULL;
        if (nl && !labels) rc = TL_ENOMEM;
        for (uint32_t i = 0; !rc && i < nl; i++) {
            const char *z = memchr(r, 0, (size_t)(end - r));
            uint32_t idx;
            if (!z) rc = TL_ECORRUPT;
            else if (tl_dict_intern(labels, r, (size_t)(z - r), &idx, NULL)) rc = TL_ENOMEM;
            else r = z + 1;
        }
        if (!rc) rc = add_column(p, name, (tl_coltype_t)type, labels, 1);
        else tl_dict_free(labels);
        if (rc) break;
        size_t bytes = (size_t)n * (type == TL_COL_NUM ? 8 : 4);
        void *data = malloc(bytes ? bytes : 1);
        if (!data) rc = TL_ENOMEM;
        else p->cols[p->ncols - 1].data = data;
        TAKE(data, bytes);
    }
#undef TAKE
    tl_store_blob_unmap(&v);
    /* The consents in force, not those of the build: a withdrawal made
     * since (over the API, by an import) holds for every reader at once,
     * and a consent given back starts an empty profile. */
    uint8_t *now = rc ? NULL : calloc(n ? n : 1, 1);
    if (!rc && !now) rc = TL_ENOMEM;
    if (!rc && n) rc = tl_store_consents_withdrawn(st, "profiling", INT64_MAX, now, n, eb);
    for (uint32_t u = 0; !rc && u < n; u++)
        if (now[u] != p->withdrawn[u]) rc = tl_profile_set_withdrawn(p, u, now[u]);
    free(now);
    if (rc) {
        tl_profile_free(p);
        if (rc == TL_ECORRUPT)
            tl_errbuf_set(eb, "%s: the profiles file is damaged; run `tailor profile build` again",
                          path);
        else if (!eb->msg[0])
            tl_errbuf_set(eb, "%s: cannot read the profiles: %s", path, tl_strerror(rc));
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- reading -------------------------------------------------------------------- */

uint32_t tl_profile_nusers(const tl_profiles_t *p) { return p->n; }
int64_t tl_profile_as_of(const tl_profiles_t *p) { return p->as_of; }
int tl_profile_ncols(const tl_profiles_t *p) { return p->ncols; }
const char *tl_profile_col_name(const tl_profiles_t *p, int c) { return p->cols[c].name; }
tl_coltype_t tl_profile_col_type(const tl_profiles_t *p, int c) { return p->cols[c].type; }
const void *tl_profile_col_data(const tl_profiles_t *p, int c) { return p->cols[c].data; }

int tl_profile_col_find(const tl_profiles_t *p, const char *name) {
    for (int c = 0; c < p->ncols; c++)
        if (strcmp(p->cols[c].name, name) == 0) return c;
    return -1;
}

const tl_dict_t *tl_profile_col_labels(const tl_profiles_t *p, int c) { return p->cols[c].labels; }

const char *tl_profile_cat_label(const tl_profiles_t *p, int c, uint32_t code) {
    const char *s = p->cols[c].labels && code != TL_NONE ? tl_dict_str(p->cols[c].labels, code, NULL)
                                                         : NULL;
    return s ? s : "";
}

void tl_profile_cell(const tl_profiles_t *p, int c, uint32_t u, char *out, size_t cap) {
    const column_t *col = &p->cols[c];
    out[0] = 0;
    if (u >= p->n) return;
    if (col->type == TL_COL_NUM) {
        double v = ((const double *)col->data)[u];
        if (!isnan(v)) snprintf(out, cap, "%.10g", v);
    } else {
        uint32_t v = ((const uint32_t *)col->data)[u];
        if (v == TL_NONE) return;
        if (col->type == TL_COL_CAT) snprintf(out, cap, "%s", tl_profile_cat_label(p, c, v));
        else snprintf(out, cap, "%u", v);
    }
}

cJSON *tl_profile_user_json(const tl_profiles_t *p, uint32_t user) {
    cJSON *f = cJSON_CreateObject();
    char cell[512];
    for (int col = 0; !tl_profile_withdrawn(p, user) && user < tl_profile_nusers(p) && col < tl_profile_ncols(p); col++) {
        const char *name = tl_profile_col_name(p, col);
        tl_profile_cell(p, col, user, cell, sizeof cell);
        if (!cell[0]) cJSON_AddNullToObject(f, name);
        else if (tl_profile_col_type(p, col) == TL_COL_CAT) cJSON_AddStringToObject(f, name, cell);
        else cJSON_AddNumberToObject(f, name, atof(cell));
    }
    return f;
}
