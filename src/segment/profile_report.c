/* profile_report.c -- `tailor report profiles`: the profiles at a glance as
 * one offline HTML page (key figures, lifecycle, top categories, RFM
 * segments and grid, stored rule segments, the clustering `segment
 * cluster` kept). Everything shown is computed here from the profile
 * columns with the segment module's own functions, or read as the command
 * line kept it, so the page agrees with the command line. */
#include "report/report.h"
#include "segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Users per label of a category column, largest first (at most max). */
static int by_label(const tl_profiles_t *p, const char *col, const char **labels, double *counts,
                    int max) {
    int c = tl_profile_col_find(p, col);
    if (c < 0) return 0;
    const tl_dict_t *d = tl_profile_col_labels(p, c);
    uint32_t nl = d ? tl_dict_count(d) : 0;
    double *cnt = calloc(nl + 1, sizeof *cnt);
    if (!cnt) return 0;
    const uint32_t *v = tl_profile_col_data(p, c);
    for (uint32_t u = 0; u < tl_profile_nusers(p); u++)
        if (v[u] != TL_NONE && v[u] < nl) cnt[v[u]]++;
    int n = 0;
    for (int taken = 0; taken < max; taken++) { /* selection by size: few labels */
        double best = 0;
        uint32_t bi = TL_NONE;
        for (uint32_t i = 0; i < nl; i++)
            if (cnt[i] > best) best = cnt[i], bi = i;
        if (bi == TL_NONE) break;
        labels[n] = tl_profile_cat_label(p, c, bi);
        counts[n++] = best;
        cnt[bi] = -1;
    }
    free(cnt);
    return n;
}

typedef struct {
    tl_report_t *r;
    tl_segtable_t *t;
    uint32_t n;
    const char *names[64];
    char *copies[64];
    double sizes[64];
    char *exprs[64];
    int k;
} segs_t;

static int seg_row(const char *name, const char *expr, int64_t created, void *arg) {
    segs_t *s = arg;
    (void)created;
    if (s->k == 64) return 0;
    uint8_t *mask = malloc(s->n ? s->n : 1);
    uint32_t size = 0;
    tl_expr_err_t err;
    int ok = mask && tl_segment_eval(s->t, expr, mask, &size, &err) == 0;
    free(mask);
    s->copies[s->k] = strdup(name);
    s->exprs[s->k] = strdup(expr);
    s->names[s->k] = s->copies[s->k] ? s->copies[s->k] : "";
    s->sizes[s->k] = ok ? size : NAN;
    s->k++;
    return 0;
}

int tl_segment_report_html(tl_store_t *st, const tl_profiles_t *p, const char *path,
                           tl_errbuf_t *eb) {
    char asof[32], sub[160];
    tl_time_format(tl_profile_as_of(p), asof);
    snprintf(sub, sizeof sub, "Profiles as of %s", asof);
    tl_report_t *r = tl_report_new("tailor: user profiles", sub);
    if (!r) return TL_ENOMEM;
    uint32_t n = tl_profile_nusers(p);
    int ce = tl_profile_col_find(p, "events"), co = tl_profile_col_find(p, "orders"),
        cm = tl_profile_col_find(p, "monetary");
    double events = 0, buyers = 0, money = 0;
    for (uint32_t u = 0; u < n; u++) {
        uint32_t ev = ((const uint32_t *)tl_profile_col_data(p, ce))[u];
        uint32_t od = ((const uint32_t *)tl_profile_col_data(p, co))[u];
        events += ev == TL_NONE ? 0 : ev;
        buyers += od != TL_NONE && od > 0;
        double mv = ((const double *)tl_profile_col_data(p, cm))[u];
        money += isnan(mv) ? 0 : mv;
    }
    char v[4][32];
    snprintf(v[0], 32, "%u", n);
    snprintf(v[1], 32, "%.0f", buyers);
    snprintf(v[2], 32, "%.0f", events);
    snprintf(v[3], 32, "%.2f", money);
    const char *tl[] = {"users", "customers (1+ order)", "events", "revenue less refunds"};
    const char *tv[] = {v[0], v[1], v[2], v[3]};
    tl_report_tiles(r, 4, tl, tv);

    const char *labels[64];
    double counts[64];
    int k = by_label(p, "lifecycle", labels, counts, 8);
    tl_report_heading(r, "Lifecycle");
    tl_report_bars(r, "Users by lifecycle stage", k, labels, counts, "users");
    k = by_label(p, "top_category", labels, counts, 20);
    tl_report_heading(r, "Category tastes");
    tl_report_bars(r, "Users by the category they lean to most (time-decayed affinity)", k, labels,
                   counts, "users");

    tl_rfm_t rfm;
    int rc = tl_segment_rfm(p, &rfm);
    if (!rc) {
        tl_report_heading(r, "RFM segments");
        char para[200];
        snprintf(para, sizeof para, "%u customers scored by quintiles of recency, frequency and "
                 "monetary value.", rfm.customers);
        tl_report_para(r, para);
        const char *names[TL_RFM__N];
        double sizes[TL_RFM__N], grid[25];
        for (int s = 0; s < TL_RFM__N; s++) names[s] = tl_rfm_name(s), sizes[s] = rfm.seg[s].size;
        tl_report_bars(r, "Customers per segment", TL_RFM__N, names, sizes, "customers");
        for (int i = 0; i < 5; i++)
            for (int c = 0; c < 5; c++) grid[i * 5 + c] = rfm.grid[4 - i][c];
        const char *rl[] = {"R5", "R4", "R3", "R2", "R1"}, *cl[] = {"FM1", "FM2", "FM3", "FM4", "FM5"};
        tl_report_heatmap(r, "Customers by recency score (rows) and frequency-monetary score (columns)",
                          5, 5, rl, cl, grid);
        tl_rfm_fini(&rfm);
    }

    segs_t sg = {.r = r, .n = n};
    if (!rc) rc = tl_segtable_new(p, st, &sg.t);
    if (!rc) rc = tl_store_segment_list(st, seg_row, &sg, eb);
    if (!rc && sg.k) {
        tl_report_heading(r, "Segments");
        tl_report_bars(r, "Members of each stored segment", sg.k, sg.names, sg.sizes, "users");
        const char **cells = calloc((size_t)(sg.k + 1) * 3, sizeof *cells);
        char (*sz)[32] = calloc((size_t)sg.k, sizeof *sz);
        if (cells && sz) {
            cells[0] = "segment", cells[1] = "condition", cells[2] = "members";
            for (int i = 0; i < sg.k; i++) {
                snprintf(sz[i], 32, isnan(sg.sizes[i]) ? "invalid" : "%.0f", sg.sizes[i]);
                cells[(i + 1) * 3] = sg.names[i];
                cells[(i + 1) * 3 + 1] = sg.exprs[i] ? sg.exprs[i] : "";
                cells[(i + 1) * 3 + 2] = sz[i];
            }
            tl_report_table(r, sg.k + 1, 3, cells);
        }
        free(cells);
        free(sz);
    }
    for (int i = 0; i < sg.k; i++) free(sg.copies[i]), free(sg.exprs[i]);
    tl_segtable_free(sg.t);

    /* the clustering kept by `segment cluster`, over the features it used */
    static tl_clusters_t cl;
    int kept = rc ? rc : tl_clusters_kept(st, &cl, eb);
    if (kept == TL_ENOENT) eb->msg[0] = 0;
    if (!rc && (kept == 0 || kept == TL_ENOENT)) {
        tl_report_heading(r, "Clusters");
        char para[1024], asof_c[32];
        if (kept == TL_ENOENT) {
            tl_report_para(r, "None kept: `tailor segment cluster --features a,b,...` clusters the users "
                              "and keeps the result for this page.");
        } else {
            tl_time_format(cl.as_of, asof_c);
            int len = snprintf(para, sizeof para, "k-means on %u users over", cl.users);
            for (int f = 0; f < cl.nf && len < (int)sizeof para; f++)
                len += snprintf(para + len, sizeof para - (size_t)len, "%s %s", f ? "," : "", cl.feature[f]);
            if (len < (int)sizeof para)
                snprintf(para + len, sizeof para - (size_t)len, " (standardised), on the profiles as of "
                         "%s; k = %u, silhouette %.3f.", asof_c, cl.k, cl.silhouette);
            tl_report_para(r, para);
        }
        uint32_t nk = kept ? 0 : cl.k;
        int ncol = 2 + cl.nf;
        const char *cn[TL_CLUSTER_MAX_K];
        char names[TL_CLUSTER_MAX_K][24];
        double sizes[TL_CLUSTER_MAX_K];
        for (uint32_t i = 0; i < nk; i++) {
            snprintf(names[i], sizeof names[i], "cluster %u", i);
            cn[i] = names[i];
            sizes[i] = cl.size[i];
        }
        const char **cells = nk ? calloc((size_t)(nk + 1) * (size_t)ncol, sizeof *cells) : NULL;
        char (*txt)[32] = nk ? calloc((size_t)(nk + 1) * (size_t)ncol, sizeof *txt) : NULL;
        if (nk) tl_report_bars(r, "Users per cluster", (int)nk, cn, sizes, "users");
        if (cells && txt) {
            cells[0] = "cluster", cells[1] = "users";
            for (int f = 0; f < cl.nf; f++) cells[2 + f] = cl.feature[f];
            for (uint32_t i = 0; i < nk; i++) {
                char (*row)[32] = &txt[(size_t)(i + 1) * (size_t)ncol];
                snprintf(row[0], 32, "%u", i);
                snprintf(row[1], 32, "%u", cl.size[i]);
                for (int f = 0; f < cl.nf; f++) snprintf(row[2 + f], 32, "%.3g", cl.mean[i][f]);
                for (int c = 0; c < ncol; c++) cells[(size_t)(i + 1) * (size_t)ncol + (size_t)c] = row[c];
            }
            tl_report_table(r, (int)nk + 1, ncol, cells);
        }
        free(cells);
        free(txt);
    } else if (!rc) {
        rc = kept;
    }
    if (!rc) rc = tl_report_write(r, path, eb);
    tl_report_free(r);
    return rc;
}
