/* profile_apply.c -- the state machine behind user profiles and the
 * features read off it.
 *
 * Each user has a state (ustate_t plus rows in a few flat arrays) that every
 * event of theirs updates through tl_profile_apply(); finalize() reads the
 * features off a state at an "as of" time into the columns. The batch build
 * (profile_build.c) and the incremental path call the same apply() and
 * finalize(), which is why both give the same profile.
 *
 * Visits: an event's session id, or for events without one a gap of more
 * than session_gap_min minutes, starts a new visit. A visit with purchases
 * is one order; carts of items not bought in the same visit are abandoned;
 * views of an item earlier in the visit count as "detail views before
 * purchase".
 */
#include "profile_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------ */

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
    if (ev->type + 1u == p->identify) return 0; /* a link, not behaviour */
    int rc = tl__profile_grow(p, ev->user + 1);
    if (rc) return rc;
    uint32_t u = tl__profile_person(p, ev->user);
    if (p->withdrawn[u]) return 0; /* no profile is kept */
    ustate_t *s = &p->st[u];
    int64_t t = ev->ts, day = tl__profile_day(t);
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

int tl__profile_nthreads(const tl_profile_opts_t *o) {
    if (o->threads > 0) return o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

int tl_profile_refresh(tl_profiles_t *p, int64_t as_of) {
    p->as_of = as_of;
    int nt = tl__profile_nthreads(&p->o);
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

void tl__profile_reset_row(tl_profiles_t *p, uint32_t u) {
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
}

int tl_profile_erase_user(tl_profiles_t *p, uint32_t u) {
    if (u >= p->n) return 0;
    blank(p, u);
    if (!p->owns_state) return 0;
    tl__profile_reset_row(p, u); /* an empty user from here on: the state of someone never seen */
    return tl_profile_refresh_user(p, u, p->as_of);
}

int tl_profile_set_withdrawn(tl_profiles_t *p, uint32_t u, int on) {
    if (u >= p->n && !on) return 0;
    int rc = u >= p->n ? tl__profile_grow(p, u + 1) : 0;
    if (rc) return rc;
    p->withdrawn[u] = 0;
    rc = tl_profile_erase_user(p, u); /* withdrawn or given back, the past is not kept */
    p->withdrawn[u] = (uint8_t)(on != 0);
    if (on) blank(p, u);
    return rc;
}

int tl_profile_withdrawn(const tl_profiles_t *p, uint32_t u) { return u < p->n && p->withdrawn[u]; }

uint32_t tl_profile_person(const tl_profiles_t *p, uint32_t u) { return tl__profile_person(p, u); }

void tl__profile_fold_flags(const tl_profiles_t *p, uint8_t *flag) {
    for (uint32_t u = 0; p->canon && u < p->ncanon && u < p->n; u++)
        if (flag[u] && p->canon[u] != u) flag[p->canon[u]] = 1;
}

int tl_profile_kept(const tl_profiles_t *p, uint32_t u) {
    return u < p->n && !p->withdrawn[u] && tl__profile_person(p, u) == u;
}

uint32_t tl_profile_nmerged(const tl_profiles_t *p) {
    uint32_t k = 0;
    for (uint32_t u = 0; p->canon && u < p->ncanon; u++) k += p->canon[u] != u;
    return k;
}

uint32_t tl_profile_nwithdrawn(const tl_profiles_t *p) {
    uint32_t k = 0;
    for (uint32_t u = 0; u < p->n; u++) k += p->withdrawn[u];
    return k;
}
