/* report_html.c -- the campaign report as an offline HTML page: key
 * figures, the decision breakdown, each group's conversion rate with its
 * Wilson interval, each arm's lift with its interval, cumulative
 * conversions over time, the metrics table, ROI and (with an uplift model)
 * the Qini curve. */
#include "experiment.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/report.h"

int tl_experiment_report_html(const tl_campaign_t *c, const tl_experiment_report_t *r,
                              const tl_qini_t *q, const char *path, tl_errbuf_t *eb) {
    char sub[256], a[32] = "-", b[32] = "-";
    if (r->first_at != INT64_MIN) tl_time_format(r->first_at, a), tl_time_format(r->last_at, b);
    snprintf(sub, sizeof sub, "exposures %s to %s; conversions (%s) within %.3g days; %s", a, b,
             c->conversion[0], (double)r->window_ms / TL_MS_PER_DAY,
             r->srm_flag ? "SAMPLE RATIO MISMATCH" : "sample ratio as set");
    char title[320];
    snprintf(title, sizeof title, "Campaign %s: %s", c->id, c->name);
    tl_report_t *rep = tl_report_new(title, sub);
    if (!rep) return TL_ENOMEM;
    /* key figures */
    uint64_t users = 0, delivered = 0;
    double cost = 0, incr = 0;
    for (int g = 0; g < r->ngroups; g++) {
        users += r->g[g].users;
        cost += r->g[g].cost;
        if (r->g[g].compared) incr += r->g[g].incr_revenue;
    }
    for (int d = 0; d < TL_DEC__N; d++) delivered += TL_DEC_DELIVERS(d) ? r->decisions[d] : 0;
    char v[6][48];
    snprintf(v[0], 48, "%llu", (unsigned long long)users);
    snprintf(v[1], 48, "%llu", (unsigned long long)delivered);
    tl_fmt_figure(v[2], 48, "%.2f", cost);
    tl_fmt_figure(v[3], 48, "%.0f", incr);
    snprintf(v[4], 48, "%.3g (p %.3g)", r->srm_chi2, r->srm_p);
    snprintf(v[5], 48, "%s", r->correction ? "Benjamini-Hochberg" : "Holm");
    const char *tl[6] = {"users measured", "deliveries", "cost", "incremental revenue (CUPED)",
                         "sample-ratio chi-square", "correction"};
    const char *tv[6] = {v[0], v[1], v[2], v[3], v[4], v[5]};
    tl_report_tiles(rep, 6, tl, tv);
    if (r->srm_flag)
        tl_report_para(rep, "The groups are not in the proportions the campaign set (p < 0.001): "
                            "something kept users out of some groups unevenly. Do not trust the lifts "
                            "until the cause is found.");
    /* decisions */
    const char *dl[TL_DEC__N];
    double dv[TL_DEC__N];
    int nd = 0;
    for (int d = 0; d < TL_DEC__N; d++)
        if (r->decisions[d]) dl[nd] = tl_decision_name(d), dv[nd++] = (double)r->decisions[d];
    tl_report_heading(rep, "Decisions");
    tl_report_bars(rep, "every decision of every run, by reason", nd, dl, dv, "");
    /* conversion per group */
    const char *gl[TL_CAMPAIGN_MAX_ARMS + 1];
    double gv[TL_CAMPAIGN_MAX_ARMS + 1], glo[TL_CAMPAIGN_MAX_ARMS + 1], ghi[TL_CAMPAIGN_MAX_ARMS + 1];
    for (int g = 0; g < r->ngroups; g++) {
        const tl_group_stats_t *s = &r->g[g];
        gl[g] = s->name;
        gv[g] = s->users ? 100.0 * (double)s->converted / (double)s->users : NAN;
        glo[g] = 100 * s->conv_lo, ghi[g] = 100 * s->conv_hi;
    }
    tl_report_heading(rep, "Conversion");
    tl_report_intervals(rep, "conversion rate by group, with 95 % Wilson intervals", r->ngroups, gl, gv,
                        glo, ghi, "%");
    int nl = 0;
    const char *ll[TL_CAMPAIGN_MAX_ARMS];
    double lv[TL_CAMPAIGN_MAX_ARMS], llo[TL_CAMPAIGN_MAX_ARMS], lhi[TL_CAMPAIGN_MAX_ARMS];
    double rv[TL_CAMPAIGN_MAX_ARMS], rlo[TL_CAMPAIGN_MAX_ARMS], rhi[TL_CAMPAIGN_MAX_ARMS];
    double ov[TL_CAMPAIGN_MAX_ARMS], olo[TL_CAMPAIGN_MAX_ARMS], ohi[TL_CAMPAIGN_MAX_ARMS];
    for (int g = 0; g < r->ngroups; g++) {
        const tl_group_stats_t *s = &r->g[g];
        if (!s->compared) continue;
        ll[nl] = s->name;
        lv[nl] = 100 * s->conv.diff, llo[nl] = 100 * s->conv.diff_lo, lhi[nl] = 100 * s->conv.diff_hi;
        rv[nl] = s->rev_cuped.diff, rlo[nl] = s->rev_cuped.lo, rhi[nl] = s->rev_cuped.hi;
        ov[nl] = 100 * s->roi, olo[nl] = 100 * s->roi_lo, ohi[nl] = 100 * s->roi_hi;
        nl++;
    }
    if (nl) {
        char cap[160];
        snprintf(cap, sizeof cap, "lift in conversion against %s (percentage points, 95 %% interval)",
                 r->g[r->control].name);
        tl_report_intervals(rep, cap, nl, ll, lv, llo, lhi, "pts");
        snprintf(cap, sizeof cap, "revenue per user against %s, CUPED-adjusted (95 %% interval)",
                 r->g[r->control].name);
        tl_report_intervals(rep, cap, nl, ll, rv, rlo, rhi, "");
        int roi = 0;
        for (int k = 0; k < nl; k++) roi |= isfinite(ov[k]);
        if (roi) {
            snprintf(cap, sizeof cap, "ROI: (incremental revenue x margin %.0f %% - cost) / cost", 100 * c->margin);
            tl_report_intervals(rep, cap, nl, ll, ov, olo, ohi, "%");
        }
    }
    /* over time */
    if (r->ndays > 1) {
        double x[400];
        for (uint32_t d = 0; d < r->ndays; d++) x[d] = d + 1;
        double y[(TL_CAMPAIGN_MAX_ARMS + 1) * 400];
        for (int g = 0; g < r->ngroups; g++)
            for (uint32_t d = 0; d < r->ndays; d++) y[(size_t)g * r->ndays + d] = 100 * r->cum[(size_t)g * r->ndays + d];
        tl_report_lines(rep, "cumulative share of users converted (%), by day since the first exposure",
                        (int)r->ndays, x, r->ngroups, y, gl, "days");
    }
    /* the table */
    enum { COLS = 9 };
    char cells[(TL_CAMPAIGN_MAX_ARMS + 2) * COLS][48];
    const char *cp[(TL_CAMPAIGN_MAX_ARMS + 2) * COLS];
    static const char *const HEAD[COLS] = {"group", "users", "converted", "rate", "revenue / user",
                                           "AOV", "repurchase", "complaints", "unsubscribes"};
    for (int k = 0; k < COLS; k++) snprintf(cells[k], 48, "%s", HEAD[k]);
    for (int g = 0; g < r->ngroups; g++) {
        const tl_group_stats_t *s = &r->g[g];
        char (*row)[48] = &cells[(g + 1) * COLS];
        double n = (double)s->users;
        snprintf(row[0], 48, "%s", s->name);
        snprintf(row[1], 48, "%llu", (unsigned long long)s->users);
        snprintf(row[2], 48, "%llu", (unsigned long long)s->converted);
        tl_fmt_figure(row[3], 48, "%.3f %%", n ? 100 * (double)s->converted / n : NAN);
        tl_fmt_figure(row[4], 48, "%.2f", s->revenue);
        tl_fmt_figure(row[5], 48, "%.2f", s->aov);
        tl_fmt_figure(row[6], 48, "%.1f %%", s->converted ? 100.0 * (double)s->repeaters / (double)s->converted : NAN);
        tl_fmt_figure(row[7], 48, "%.3f %%", n ? 100 * (double)s->complained / n : NAN);
        tl_fmt_figure(row[8], 48, "%.3f %%", n ? 100 * (double)s->unsubscribed / n : NAN);
    }
    for (int k = 0; k < (r->ngroups + 1) * COLS; k++) cp[k] = cells[k];
    tl_report_heading(rep, "Metrics by group");
    tl_report_table(rep, r->ngroups + 1, COLS, cp);
    /* tests */
    if (nl) {
        enum { TC = 7 };
        char tc[(TL_CAMPAIGN_MAX_ARMS + 1) * TC][48];
        const char *tp[(TL_CAMPAIGN_MAX_ARMS + 1) * TC];
        static const char *const TH[TC] = {"arm", "relative lift (95 % interval)", "z (conversion)", "p",
                                           "p adjusted", "Welch t (revenue)", "p adjusted (CUPED)"};
        for (int k = 0; k < TC; k++) snprintf(tc[k], 48, "%s", TH[k]);
        int row = 1;
        for (int g = 0; g < r->ngroups; g++) {
            const tl_group_stats_t *s = &r->g[g];
            if (!s->compared) continue;
            char (*t)[48] = &tc[row++ * TC];
            char rv[3][16];
            snprintf(t[0], 48, "%s", s->name);
            snprintf(t[1], 48, "%s [%s, %s]", tl_fmt_figure(rv[0], 16, "%+.1f %%", 100 * s->conv.rel),
                     tl_fmt_figure(rv[1], 16, "%+.1f %%", 100 * s->conv.rel_lo),
                     tl_fmt_figure(rv[2], 16, "%+.1f %%", 100 * s->conv.rel_hi));
            tl_fmt_figure(t[2], 48, "%.3f", s->conv.z);
            tl_fmt_figure(t[3], 48, "%.3g", s->conv.p);
            tl_fmt_figure(t[4], 48, "%.3g", s->p_conv_adj);
            tl_fmt_figure(t[5], 48, "%.3f", s->rev.t);
            tl_fmt_figure(t[6], 48, "%.3g", s->p_rev_adj);
        }
        for (int k = 0; k < row * TC; k++) tp[k] = tc[k];
        tl_report_heading(rep, "Tests");
        tl_report_table(rep, row, TC, tp);
    }
    if (q && q->points) {
        const char *names[2] = {"uplift model", "random targeting"};
        double y[2 * 1001];
        uint32_t n = q->points + 1 > 1001 ? 1001 : q->points + 1;
        double x[1001];
        for (uint32_t i = 0; i < n; i++) x[i] = 100 * q->frac[i], y[i] = q->qini[i], y[n + i] = q->random[i];
        char cap[160];
        snprintf(cap, sizeof cap, "Qini curve: incremental conversions by share targeted (coefficient %.3f, AUUC %.4f)",
                 q->qini_coef, q->auuc);
        tl_report_heading(rep, "Uplift");
        tl_report_lines(rep, cap, (int)n, x, 2, y, names, "% of users targeted, highest uplift first");
    }
    int rc = tl_report_write(rep, path, eb);
    tl_report_free(rep);
    return rc;
}
