/* attrib.c -- attribution: from a campaign's exposures and the event log
 * to per-group outcomes, tests, CUPED, ROI and the sample-ratio check.
 *
 * The unit is the person (identity.h): exposures, conversions and
 * feedback of any of its identifiers count as its own. A user's group is that of their first measured
 * exposure (delivered, or held out: "would have sent"); assignment is by
 * hash, so later runs put them in the same group. Their outcome window
 * runs from that first exposure to the last one plus the campaign's
 * attribution window. In it:
 *   converted    at least one conversion event (purchase by default,
 *                loan_apply for offer campaigns)
 *   conversions  conversion events; orders: distinct visits with one
 *   revenue      the amounts of conversion events (price x qty when the
 *                event has no amount)
 *   repeaters    users with two orders or more
 * The pre-period (default 14 days before the first exposure) gives the
 * CUPED covariate: revenue from conversion events then. Unsubscribes and
 * complaints come from feedback recorded against the campaign. */
#include "experiment.h"
#include "identity/identity.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t user;
    int8_t group;          /* index into the report's groups */
    int64_t first, last, first_conv;
    uint32_t conversions, orders, last_session;
    double revenue, pre;
    uint8_t unsub, complaint;
} unit_t;

typedef struct {
    tl_store_t *st;
    const tl_campaign_t *c;
    tl_errbuf_t *eb;
    int64_t window, pre;
    unit_t *units;
    uint64_t nunits;
    uint32_t *unit_of;     /* per person (its first identifier's index); TL_NONE */
    uint32_t nusers;
    tl_identity_t *ident;  /* persons */
    uint8_t conv_type[256];
    double *price;         /* per item, for events without an amount */
    uint32_t nitems;
    uint64_t decisions[TL_DEC__N];
    double sends[TL_CAMPAIGN_MAX_ARMS + 1], cost[TL_CAMPAIGN_MAX_ARMS + 1];
    int64_t first_at, last_at;
} meas_t;

static int price_row(uint32_t item, const tl_item_t *it, void *arg) {
    meas_t *m = arg;
    if (item < m->nitems) m->price[item] = it->price;
    return 0;
}

/* The unit of user u: its person. */
static uint32_t unit_user(const meas_t *m, uint32_t u) {
    return tl_identity_person(m->ident, u);
}

static int event_block(const tl_evblock_t *b, void *arg) {
    meas_t *m = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t u = unit_user(m, b->user[i]);
        if (u >= m->nusers || m->unit_of[u] == TL_NONE || !m->conv_type[b->type[i]]) continue;
        unit_t *x = &m->units[m->unit_of[u]];
        int64_t ts = b->ts[i];
        double amt = b->amount[i];
        if (isnan(amt)) {
            uint32_t it = b->item[i];
            amt = it < m->nitems && !isnan(m->price[it]) ? m->price[it] * (b->qty[i] > 0 ? b->qty[i] : 1) : 0;
        }
        if (ts >= x->first - m->pre && ts < x->first) {
            x->pre += amt;
        } else if (ts >= x->first && ts <= x->last + m->window) {
            x->conversions++;
            x->revenue += amt;
            if (ts < x->first_conv) x->first_conv = ts;
            uint32_t s = b->session[i];
            if (x->orders == 0 || s == 0 || s == TL_NONE || s != x->last_session) x->orders++;
            x->last_session = s;
        }
    }
    return 0;
}

static int fb_row(const tl_feedback_row_t *f, void *arg) {
    meas_t *m = arg;
    uint32_t u = unit_user(m, f->user);
    if (u >= m->nusers || m->unit_of[u] == TL_NONE) return 0;
    unit_t *x = &m->units[m->unit_of[u]];
    if (strcmp(f->kind, "unsubscribe") == 0) x->unsub = 1;
    else if (strcmp(f->kind, "complaint") == 0) x->complaint = 1;
    return 0;
}

/* Group index of an exposure: 0 the hold-out, 1 + arm for the arms. */
static int measure(tl_store_t *st, const tl_campaign_t *c, int64_t window, int64_t pre, meas_t *m,
                   tl_errbuf_t *eb) {
    memset(m, 0, sizeof *m);
    m->st = st, m->c = c, m->eb = eb, m->window = window, m->pre = pre;
    m->first_at = INT64_MAX, m->last_at = INT64_MIN;
    tl_exposure_t *ex = NULL;
    uint64_t nex = 0;
    int rc = tl_campaign_exposures(st, c->id, &ex, &nex, eb);
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
    tl_dict_t *types = users ? tl_store_dict(st, TL_D_TYPE, eb) : NULL;
    tl_dict_t *items = types ? tl_store_dict(st, TL_D_ITEM, eb) : NULL;
    if (!rc && !items) rc = TL_ENOMEM;
    if (!rc) rc = tl_identity_load(st, NULL, &m->ident, eb);
    if (rc) {
        free(ex);
        return rc;
    }
    m->nusers = tl_dict_count(users);
    for (int k = 0; k < c->nconversion; k++) {
        uint32_t t = tl_dict_find(types, c->conversion[k], strlen(c->conversion[k]));
        if (t < 256) m->conv_type[t] = 1;
    }
    m->nitems = tl_dict_count(items);
    if (!(m->unit_of = malloc(((size_t)m->nusers + 1) * sizeof *m->unit_of)) ||
        !(m->units = malloc((nex + 1) * sizeof *m->units)) ||
        !(m->price = malloc(((size_t)m->nitems + 1) * sizeof *m->price)))
        rc = TL_ENOMEM;
    if (!rc) {
        memset(m->unit_of, 0xFF, (size_t)m->nusers * sizeof *m->unit_of);
        for (uint32_t i = 0; i < m->nitems; i++) m->price[i] = NAN;
    }
    for (uint64_t i = 0; !rc && i < nex; i++) {
        const tl_exposure_t *e = &ex[i];
        if (e->decision < TL_DEC__N) m->decisions[e->decision]++;
        int entry = e->decision == TL_EXPO_ENTERED; /* a journey's: its group, no message */
        if (!(TL_DEC_MEASURED(e->decision) || entry) || e->user >= m->nusers) continue;
        int arm = e->arm_chan >> 4, ch = e->arm_chan & 0xF;
        int g = e->decision == TL_DEC_HOLDOUT || (entry && ch == TL_EXPO_HELD) ? 0
                : 1 + (arm < c->narms ? arm : 0);
        if (g > 0 && !entry) {
            m->sends[g] += 1;
            m->cost[g] += ch < TL_DCH__N ? c->cost[ch] : 0;
        }
        if (e->at < m->first_at) m->first_at = e->at;
        if (e->at > m->last_at) m->last_at = e->at;
        uint32_t u = unit_user(m, e->user), k = m->unit_of[u];
        if (k == TL_NONE) {
            k = m->unit_of[u] = (uint32_t)m->nunits++;
            m->units[k] = (unit_t){.user = u, .group = (int8_t)g, .first = e->at, .last = e->at,
                                   .first_conv = INT64_MAX};
        } else {
            unit_t *x = &m->units[k];
            if (e->at < x->first) x->first = e->at;
            if (e->at > x->last) x->last = e->at;
        }
    }
    free(ex);
    if (!rc) rc = tl_store_scan_items(st, price_row, m, eb);
    if (!rc && m->nunits)
        rc = tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_TS | TL_EVC_TYPE | TL_EVC_AMOUNT |
                                       TL_EVC_QTY | TL_EVC_ITEM | TL_EVC_SESSION,
                                   event_block, m, eb);
    if (!rc && m->nunits)
        rc = tl_store_feedback_scan(st, c->id, fb_row, m, eb);
    return rc;
}

static void meas_fini(meas_t *m) {
    free(m->units), free(m->unit_of), free(m->price);
    tl_identity_free(m->ident);
    memset(m, 0, sizeof *m);
}

void tl_experiment_report_fini(tl_experiment_report_t *r) {
    free(r->cum);
    memset(r, 0, sizeof *r);
}

int tl_experiment_report(tl_store_t *st, const tl_campaign_t *c, const tl_report_opts_t *o,
                         tl_experiment_report_t *r, tl_errbuf_t *eb) {
    memset(r, 0, sizeof *r);
    snprintf(r->campaign, sizeof r->campaign, "%s", c->id);
    r->conf = o && o->conf > 0 ? o->conf : 0.95;
    r->correction = o ? o->correction : 0;
    r->window_ms = o && o->window_ms > 0 ? o->window_ms : c->window_ms;
    r->pre_ms = o && o->pre_ms > 0 ? o->pre_ms : c->pre_ms;
    meas_t m;
    int rc = measure(st, c, r->window_ms, r->pre_ms, &m, eb);
    if (rc) {
        meas_fini(&m);
        return rc;
    }
    memcpy(r->decisions, m.decisions, sizeof r->decisions);
    r->first_at = m.nunits ? m.first_at : INT64_MIN;
    r->last_at = m.nunits ? m.last_at : INT64_MIN;
    /* groups: the hold-out (when there is one) and every arm */
    int ng = 1 + c->narms;
    double wsum = 0;
    for (int a = 0; a < c->narms; a++) wsum += c->arms[a].weight;
    for (int g = 0; g < ng; g++) {
        tl_group_stats_t *s = &r->g[g];
        s->arm = g ? g - 1 : TL_GROUP_HOLDOUT;
        snprintf(s->name, sizeof s->name, "%s", g ? c->arms[g - 1].name : "holdout");
        s->share = g ? (1 - c->holdout / 100) * c->arms[g - 1].weight / wsum : c->holdout / 100;
        s->sends = m.sends[g], s->cost = m.cost[g];
    }
    /* sums per group; CUPED's theta over everyone */
    double sy[TL_CAMPAIGN_MAX_ARMS + 1] = {0}, sx[TL_CAMPAIGN_MAX_ARMS + 1] = {0};
    double mx = 0, my = 0;
    for (uint64_t i = 0; i < m.nunits; i++) {
        const unit_t *x = &m.units[i];
        tl_group_stats_t *s = &r->g[x->group];
        s->users++;
        s->converted += x->conversions > 0;
        s->conversions += x->conversions;
        s->orders += x->orders;
        s->repeaters += x->orders >= 2;
        s->unsubscribed += x->unsub, s->complained += x->complaint;
        sy[x->group] += x->revenue, sx[x->group] += x->pre;
        my += x->revenue, mx += x->pre;
    }
    uint64_t n = m.nunits;
    if (n) my /= (double)n, mx /= (double)n;
    double cxy = 0, vxx = 0;
    for (uint64_t i = 0; i < n; i++) {
        const unit_t *x = &m.units[i];
        cxy += (x->pre - mx) * (x->revenue - my), vxx += (x->pre - mx) * (x->pre - mx);
    }
    r->cuped_theta = vxx > 0 ? cxy / vxx : 0;
    for (int g = 0; g < ng; g++) {
        tl_group_stats_t *s = &r->g[g];
        double k = (double)s->users;
        s->revenue = k ? sy[g] / k : NAN;
        s->pre_mean = k ? sx[g] / k : NAN;
    }
    double ssy[TL_CAMPAIGN_MAX_ARMS + 1] = {0}, ssx[TL_CAMPAIGN_MAX_ARMS + 1] = {0},
           sc[TL_CAMPAIGN_MAX_ARMS + 1] = {0}, ssc[TL_CAMPAIGN_MAX_ARMS + 1] = {0};
    for (uint64_t i = 0; i < n; i++) {
        const unit_t *x = &m.units[i];
        const tl_group_stats_t *s = &r->g[x->group];
        double adj = x->revenue - r->cuped_theta * (x->pre - mx);
        ssy[x->group] += (x->revenue - s->revenue) * (x->revenue - s->revenue);
        ssx[x->group] += (x->pre - s->pre_mean) * (x->pre - s->pre_mean);
        sc[x->group] += adj;
    }
    for (int g = 0; g < ng; g++) r->g[g].cuped_mean = r->g[g].users ? sc[g] / (double)r->g[g].users : NAN;
    for (uint64_t i = 0; i < n; i++) {
        const unit_t *x = &m.units[i];
        double adj = x->revenue - r->cuped_theta * (x->pre - mx) - r->g[x->group].cuped_mean;
        ssc[x->group] += adj * adj;
    }
    /* cumulative conversion by day since the first exposure */
    int64_t span = n ? m.last_at - m.first_at + r->window_ms : 0;
    r->ndays = n ? (uint32_t)(span / TL_MS_PER_DAY + 1) : 0;
    if (r->ndays > 400) r->ndays = 400;
    if (r->ndays && !(r->cum = calloc((size_t)ng * r->ndays, sizeof *r->cum))) rc = TL_ENOMEM;
    for (uint64_t i = 0; !rc && i < n; i++) {
        const unit_t *x = &m.units[i];
        if (x->first_conv == INT64_MAX) continue;
        int64_t d = (x->first_conv - m.first_at) / TL_MS_PER_DAY;
        if (d >= 0 && d < r->ndays) r->cum[(size_t)x->group * r->ndays + (size_t)d] += 1;
    }
    for (int g = 0; !rc && g < ng; g++) {
        double run = 0, k = (double)r->g[g].users;
        for (uint32_t d = 0; d < r->ndays; d++) {
            run += r->cum[(size_t)g * r->ndays + d];
            r->cum[(size_t)g * r->ndays + d] = k ? run / k : 0;
        }
    }
    for (int g = 0; g < ng; g++) {
        tl_group_stats_t *s = &r->g[g];
        double k = (double)s->users;
        s->rev_var = k > 1 ? ssy[g] / (k - 1) : NAN;
        s->pre_var = k > 1 ? ssx[g] / (k - 1) : NAN;
        s->cuped_var = k > 1 ? ssc[g] / (k - 1) : NAN;
        s->aov = s->orders ? sy[g] / (double)s->orders : NAN;
        tl_wilson((double)s->converted, k, r->conf, &s->conv_lo, &s->conv_hi);
    }
    /* drop an empty hold-out group when the campaign has none */
    int first = c->holdout > 0 ? 0 : 1;
    if (first) memmove(&r->g[0], &r->g[1], (size_t)c->narms * sizeof r->g[0]), ng--;
    if (first && r->cum) memmove(r->cum, r->cum + r->ndays, (size_t)ng * r->ndays * sizeof *r->cum);
    r->ngroups = ng;
    r->control = ng > 1 ? 0 : -1;
    /* sample ratio */
    double obs[TL_CAMPAIGN_MAX_ARMS + 1], share[TL_CAMPAIGN_MAX_ARMS + 1];
    for (int g = 0; g < ng; g++) obs[g] = (double)r->g[g].users, share[g] = r->g[g].share;
    if (ng > 1 && n) tl_chisquare(obs, share, ng, &r->srm_chi2, &r->srm_p);
    else r->srm_p = 1;
    r->srm_flag = r->srm_p < 0.001;
    /* each group against the control */
    double ps[2 * (TL_CAMPAIGN_MAX_ARMS + 1)], adj[2 * (TL_CAMPAIGN_MAX_ARMS + 1)];
    int np = 0;
    const tl_group_stats_t *ctl = r->control >= 0 ? &r->g[r->control] : NULL;
    for (int g = 0; g < ng && ctl; g++) {
        tl_group_stats_t *s = &r->g[g];
        if (g == r->control || s->users < 2 || ctl->users < 2) continue;
        s->compared = 1;
        tl_prop_test((double)ctl->converted, (double)ctl->users, (double)s->converted,
                     (double)s->users, r->conf, &s->conv);
        tl_welch(ctl->revenue, ctl->rev_var, (double)ctl->users, s->revenue, s->rev_var,
                 (double)s->users, r->conf, &s->rev);
        tl_welch(ctl->cuped_mean, ctl->cuped_var, (double)ctl->users, s->cuped_mean, s->cuped_var,
                 (double)s->users, r->conf, &s->rev_cuped);
        ps[np++] = s->conv.p, ps[np++] = s->rev_cuped.p;
        double k = (double)s->users;
        s->incr_conversions = s->conv.diff * k;
        s->incr_revenue = s->rev_cuped.diff * k;
        s->incr_revenue_lo = s->rev_cuped.lo * k, s->incr_revenue_hi = s->rev_cuped.hi * k;
        double cost = s->cost + c->cost_per_conversion * (double)s->conversions;
        s->cost = cost;
        if (cost > 0) {
            s->roi = (s->incr_revenue * c->margin - cost) / cost;
            s->roi_lo = (s->incr_revenue_lo * c->margin - cost) / cost;
            s->roi_hi = (s->incr_revenue_hi * c->margin - cost) / cost;
        } else {
            s->roi = s->roi_lo = s->roi_hi = NAN;
        }
    }
    if (np) (r->correction ? tl_p_bh : tl_p_holm)(ps, np, adj);
    np = 0;
    for (int g = 0; g < ng; g++)
        if (r->g[g].compared) r->g[g].p_conv_adj = adj[np++], r->g[g].p_rev_adj = adj[np++];
    meas_fini(&m);
    if (rc) tl_experiment_report_fini(r);
    return rc;
}

int tl_experiment_outcomes(tl_store_t *st, const tl_campaign_t *c, tl_outcomes_t *out,
                           tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    meas_t m;
    int rc = measure(st, c, c->window_ms, c->pre_ms, &m, eb);
    uint64_t n = m.nunits;
    if (!rc && (!(out->user = malloc((n + 1) * sizeof *out->user)) ||
                !(out->treated = malloc(n + 1)) || !(out->converted = malloc(n + 1)) ||
                !(out->revenue = malloc((n + 1) * sizeof *out->revenue))))
        rc = TL_ENOMEM;
    for (uint64_t i = 0; !rc && i < n; i++) {
        out->user[i] = m.units[i].user;
        out->treated[i] = m.units[i].group != 0;
        out->converted[i] = m.units[i].conversions > 0;
        out->revenue[i] = m.units[i].revenue;
    }
    out->n = rc ? 0 : n;
    meas_fini(&m);
    if (rc) tl_outcomes_fini(out);
    return rc;
}

void tl_outcomes_fini(tl_outcomes_t *o) {
    free(o->user), free(o->treated), free(o->converted), free(o->revenue);
    memset(o, 0, sizeof *o);
}

/* ---- as JSON ------------------------------------------------------------------------ */

cJSON *tl_json_number(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static void add_iv(cJSON *o, const char *key, double v, double lo, double hi) {
    cJSON *x = cJSON_CreateObject();
    cJSON_AddItemToObject(x, "value", tl_json_number(v));
    cJSON_AddItemToObject(x, "lo", tl_json_number(lo));
    cJSON_AddItemToObject(x, "hi", tl_json_number(hi));
    cJSON_AddItemToObject(o, key, x);
}

cJSON *tl_experiment_report_json(const tl_campaign_t *c, const tl_experiment_report_t *r) {
    cJSON *j = cJSON_CreateObject(), *groups = cJSON_CreateArray(), *d = cJSON_CreateObject();
    char ts[32];
    cJSON_AddStringToObject(j, "campaign", c->id);
    if (r->first_at != INT64_MIN) {
        tl_time_format(r->first_at, ts);
        cJSON_AddStringToObject(j, "first_exposure", ts);
        tl_time_format(r->last_at, ts);
        cJSON_AddStringToObject(j, "last_exposure", ts);
    }
    cJSON_AddNumberToObject(j, "window_days", (double)r->window_ms / TL_MS_PER_DAY);
    cJSON_AddNumberToObject(j, "pre_period_days", (double)r->pre_ms / TL_MS_PER_DAY);
    cJSON_AddNumberToObject(j, "confidence", r->conf);
    cJSON_AddStringToObject(j, "correction", r->correction ? "benjamini-hochberg" : "holm");
    for (int k = 0; k < TL_DEC__N; k++) cJSON_AddNumberToObject(d, tl_decision_name(k), (double)r->decisions[k]);
    cJSON_AddItemToObject(j, "decisions", d);
    cJSON *srm = cJSON_CreateObject();
    cJSON_AddNumberToObject(srm, "chi2", r->srm_chi2);
    cJSON_AddNumberToObject(srm, "p", r->srm_p);
    cJSON_AddBoolToObject(srm, "mismatch", r->srm_flag);
    cJSON_AddItemToObject(j, "sample_ratio", srm);
    cJSON_AddNumberToObject(j, "cuped_theta", r->cuped_theta);
    if (r->control >= 0) cJSON_AddStringToObject(j, "control", r->g[r->control].name);
    for (int g = 0; g < r->ngroups; g++) {
        const tl_group_stats_t *s = &r->g[g];
        cJSON *o = cJSON_CreateObject();
        double n = (double)s->users;
        cJSON_AddStringToObject(o, "group", s->name);
        cJSON_AddNumberToObject(o, "expected_share", s->share);
        cJSON_AddNumberToObject(o, "users", n);
        cJSON_AddNumberToObject(o, "converted", (double)s->converted);
        add_iv(o, "conversion_rate", n ? (double)s->converted / n : NAN, s->conv_lo, s->conv_hi);
        cJSON_AddNumberToObject(o, "conversions", (double)s->conversions);
        cJSON_AddNumberToObject(o, "orders", (double)s->orders);
        cJSON_AddItemToObject(o, "revenue_per_user", tl_json_number(s->revenue));
        cJSON_AddItemToObject(o, "average_order_value", tl_json_number(s->aov));
        cJSON_AddItemToObject(o, "repurchase_rate", tl_json_number(s->converted ? (double)s->repeaters / (double)s->converted : NAN));
        cJSON_AddItemToObject(o, "unsubscribe_rate", tl_json_number(n ? (double)s->unsubscribed / n : NAN));
        cJSON_AddItemToObject(o, "complaint_rate", tl_json_number(n ? (double)s->complained / n : NAN));
        cJSON_AddNumberToObject(o, "sends", s->sends);
        cJSON_AddNumberToObject(o, "cost", s->cost);
        if (s->compared) {
            cJSON *l = cJSON_CreateObject();
            add_iv(l, "conversion_abs", s->conv.diff, s->conv.diff_lo, s->conv.diff_hi);
            add_iv(l, "conversion_rel", s->conv.rel, s->conv.rel_lo, s->conv.rel_hi);
            cJSON_AddNumberToObject(l, "conversion_z", s->conv.z);
            cJSON_AddNumberToObject(l, "conversion_p", s->conv.p);
            cJSON_AddNumberToObject(l, "conversion_p_adjusted", s->p_conv_adj);
            add_iv(l, "revenue_per_user", s->rev.diff, s->rev.lo, s->rev.hi);
            cJSON_AddNumberToObject(l, "revenue_t", s->rev.t);
            cJSON_AddNumberToObject(l, "revenue_df", s->rev.df);
            cJSON_AddNumberToObject(l, "revenue_p", s->rev.p);
            add_iv(l, "revenue_per_user_cuped", s->rev_cuped.diff, s->rev_cuped.lo, s->rev_cuped.hi);
            cJSON_AddNumberToObject(l, "revenue_cuped_p", s->rev_cuped.p);
            cJSON_AddNumberToObject(l, "revenue_p_adjusted", s->p_rev_adj);
            cJSON_AddNumberToObject(l, "incremental_conversions", s->incr_conversions);
            add_iv(l, "incremental_revenue", s->incr_revenue, s->incr_revenue_lo, s->incr_revenue_hi);
            add_iv(l, "roi", s->roi, s->roi_lo, s->roi_hi);
            cJSON_AddItemToObject(o, "lift", l);
        }
        /* the share of the group converted by the end of each day since the first exposure */
        cJSON *cum = cJSON_AddArrayToObject(o, "cumulative_conversion");
        for (uint32_t day = 0; r->cum && day < r->ndays; day++)
            cJSON_AddItemToArray(cum, cJSON_CreateNumber(r->cum[(size_t)g * r->ndays + day]));
        cJSON_AddItemToArray(groups, o);
    }
    cJSON_AddItemToObject(j, "groups", groups);
    return j;
}
