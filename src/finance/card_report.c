/* card_report.c -- the scorecard's HTML page for a risk committee: key
 * figures, how goods and bads spread over the score, the KS curve, default
 * rate by band, calibration by decile, stability against a baseline, and
 * every kept feature's bins with their WOE and points. Built from the
 * public scorecard API and the report module's charts; one self-contained
 * file. */
#include "finance/finance.h"
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIST_BINS 20
#define KS_POINTS 50

/* "<= 12", "12 to 24", "> 36", "missing", or a bin's categories. */
static void bin_label(const tl_score_feature_t *f, uint32_t k, char *out, size_t cap) {
    const tl_binning_t *b = f->bin;
    if (k == b->missing) {
        snprintf(out, cap, "missing");
    } else if (!f->categorical && k >= b->nregular) {
        snprintf(out, cap, "code %g", b->special[k - b->nregular]);
    } else if (!f->categorical) {
        if (b->ncuts == 0) snprintf(out, cap, "any value");
        else if (k == 0) snprintf(out, cap, "<= %g", b->cut[0]);
        else if (k == b->ncuts) snprintf(out, cap, "> %g", b->cut[k - 1]);
        else snprintf(out, cap, "%g to %g", b->cut[k - 1], b->cut[k]);
    } else {
        size_t len = 0;
        out[0] = 0;
        for (uint32_t c = 0; c < b->ncat && len + 4 < cap; c++) {
            if (b->cat_bin[c] != k) continue;
            int w = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", f->cats[c]);
            if (w < 0 || (size_t)w >= cap - len) {
                snprintf(out + (cap > 4 ? cap - 4 : 0), 4, "...");
                break;
            }
            len += (size_t)w;
        }
    }
}

static void add_bucket_rows(const tl_score_bucket_t *b, int n, const char *const *labels,
                            char (*cells)[32], const char **ptr, int start) {
    for (int k = 0; k < n; k++) {
        char(*row)[32] = cells + (size_t)(start + k) * 6;
        snprintf(row[0], 32, "%s", labels[k]);
        snprintf(row[1], 32, "%u", b[k].rows);
        snprintf(row[2], 32, "%u", b[k].bads);
        snprintf(row[3], 32, "%.2f %%", b[k].rows ? 100.0 * b[k].bads / b[k].rows : 0);
        snprintf(row[4], 32, "%.2f %%", 100 * b[k].pd);
        snprintf(row[5], 32, "%.0f to %.0f", b[k].lo, b[k].hi);
        for (int c = 0; c < 6; c++) ptr[(start + k) * 6 + c] = row[c];
    }
}

static void bucket_table(tl_report_t *r, const char *first, const tl_score_bucket_t *b, int n,
                         const char *const *labels) {
    char(*cells)[32] = calloc((size_t)(n + 1) * 6, sizeof *cells);
    const char **ptr = calloc((size_t)(n + 1) * 6, sizeof *ptr);
    if (!cells || !ptr) {
        free(cells), free(ptr);
        return;
    }
    const char *head[6] = {first, "rows", "bad", "bad rate", "mean PD", "scores"};
    for (int c = 0; c < 6; c++) ptr[c] = head[c];
    add_bucket_rows(b, n, labels, cells, ptr, 1);
    tl_report_table(r, n + 1, 6, ptr);
    free(cells), free(ptr);
}

/* The champion beside its challenger: the figures of both, and the
 * challenger's calibration against the scorecard's. */
static int challenger_section(tl_report_t *r, const tl_scorecard_t *sc, const tl_boost_t *b, const tl_table_t *t,
                              const tl_table_t *base, tl_errbuf_t *eb) {
    tl_score_compare_t cc;
    int rc = tl_score_compare(sc, b, t, base, &cc, eb);
    if (rc) return rc;
    tl_report_heading(r, "Champion and challenger");
    tl_report_para(r, "The scorecard (champion) beside gradient-boosted trees trained on the same "
                      "columns (challenger), on this population: how each ranks, how its PD is "
                      "calibrated (Brier score: lower is better) and how stable its score is. The "
                      "scorecard stays the model of decisions that must be explained; the gap is "
                      "what that explanation costs.");
    const tl_score_validation_t *v[2] = {&cc.card, &cc.boost};
    double psi[2] = {cc.card_psi, cc.boost_psi};
    const char *who[2] = {"scorecard", "challenger (trees)"};
    char txt[2][6][40];
    const char *cells[3 * 7] = {"model", "AUC", "KS", "Gini", "Brier score", "score PSI", "same band"};
    for (int m = 0; m < 2; m++) {
        snprintf(txt[m][0], 40, "%.4f", v[m]->auc);
        snprintf(txt[m][1], 40, "%.4f", v[m]->ks);
        snprintf(txt[m][2], 40, "%.4f", 2 * v[m]->auc - 1);
        snprintf(txt[m][3], 40, "%.4f", v[m]->brier);
        if (isnan(psi[m])) snprintf(txt[m][4], 40, "n/a (no baseline)");
        else snprintf(txt[m][4], 40, "%.4f (%s)", psi[m], tl_psi_reading(psi[m]));
        snprintf(txt[m][5], 40, "%.1f %% of rows", 100 * cc.agree);
        cells[(m + 1) * 7] = who[m];
        for (int c = 0; c < 6; c++) cells[(m + 1) * 7 + 1 + c] = txt[m][c];
    }
    tl_report_table(r, 3, 7, cells);
    tl_boost_held_out_t held;
    tl_boost_held_out(b, &held);
    if (held.folds) {
        char para[400];
        snprintf(para, sizeof para,
                 "Measured when the challenger was trained, on %u folds held out of its training rows "
                 "(each model trained again on the other folds): AUC %.4f for the scorecard, %.4f for "
                 "the challenger. On rows a model was trained on, trees look better than they are; "
                 "these figures do not flatter either.",
                 held.folds, held.card_auc, held.boost_auc);
        tl_report_para(r, para);
    }
    double dx[10], dy[30];
    for (int k = 0; k < 10; k++) {
        dx[k] = k + 1;
        dy[k] = cc.boost.decile[k].rows ? 100.0 * cc.boost.decile[k].bads / cc.boost.decile[k].rows : NAN;
        dy[10 + k] = 100 * cc.boost.decile[k].pd;
        dy[20 + k] = 100 * cc.card.decile[k].pd;
    }
    const char *cal[3] = {"challenger: observed default rate (%)", "challenger: mean predicted PD (%)",
                          "scorecard: mean predicted PD (%)"};
    tl_report_lines(r, "the challenger's deciles, riskiest tenth first: observed against predicted", 10, dx, 3,
                    dy, cal, "challenger's score decile");
    return 0;
}

/* The candidates the scorecard left out, with what training measured of
 * each: its IV, and the chance its bins arise from noise alone. */
static int left_out_section(tl_report_t *r, const tl_scorecard_t *sc) {
    uint32_t nf = tl_scorecard_nfeatures(sc), n = 0;
    for (uint32_t j = 0; j < nf; j++) {
        tl_score_feature_t f;
        tl_scorecard_feature(sc, j, &f);
        n += !f.kept;
    }
    if (!n) return 0;
    const char **cells = calloc((size_t)(n + 1) * 4, sizeof *cells);
    char(*txt)[2][32] = calloc(n, sizeof *txt);
    if (!cells || !txt) {
        free(cells), free(txt);
        return TL_ENOMEM;
    }
    tl_report_heading(r, "Candidates left out");
    tl_report_para(r, "Columns training considered and left out: an information value below the "
                      "minimum, bins whose association with the outcome could be noise (p, the "
                      "chance of bins this telling by chance alone, at or above the significance "
                      "level), a single bin, or a coefficient of the wrong sign once beside the "
                      "others.");
    cells[0] = "feature", cells[1] = "type", cells[2] = "IV", cells[3] = "p";
    uint32_t row = 0;
    for (uint32_t j = 0; j < nf; j++) {
        tl_score_feature_t f;
        tl_scorecard_feature(sc, j, &f);
        if (f.kept) continue;
        snprintf(txt[row][0], 32, "%.4f", f.iv);
        if (isnan(f.p)) snprintf(txt[row][1], 32, "n/a");
        else snprintf(txt[row][1], 32, "%.3g", f.p);
        const char **c = cells + (size_t)(row + 1) * 4;
        c[0] = f.name, c[1] = f.categorical ? "categorical" : "numeric", c[2] = txt[row][0], c[3] = txt[row][1];
        row++;
    }
    tl_report_table(r, (int)n + 1, 4, cells);
    free(cells), free(txt);
    return 0;
}

int tl_scorecard_report_html(const tl_scorecard_t *sc, const tl_boost_t *challenger, const tl_table_t *t,
                             const tl_table_t *base, const char *path, tl_errbuf_t *eb) {
    tl_score_validation_t v;
    int rc = tl_scorecard_validate(sc, t, &v, eb);
    if (rc) return rc;
    uint32_t nf = tl_scorecard_nfeatures(sc), kept = 0;
    double spsi = NAN, *fpsi = calloc(nf ? nf : 1, sizeof *fpsi);
    double *score = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *score);
    uint32_t *idx = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *idx);
    int8_t *bad = malloc(t->nrows ? t->nrows : 1);
    tl_scorer_t *s = NULL;
    if (!fpsi || !score || !idx || !bad) rc = TL_ENOMEM;
    if (!rc && base) rc = tl_scorecard_psi(sc, base, t, &spsi, fpsi, eb);
    if (!rc) rc = tl_scorer_new(sc, t, &s, eb);
    uint32_t m = 0; /* rows with an outcome, by score */
    for (uint32_t row = 0; !rc && row < t->nrows; row++) {
        tl_score_t res;
        tl_scorer_row(s, row, &res);
        int b = tl_scorer_bad(s, row);
        if (b < 0) continue;
        score[m] = res.score, bad[m] = (int8_t)b, idx[m] = m, m++;
    }
    tl_scorer_free(s);
    if (!rc) rc = tl_sort_f64(score, idx, m);
    tl_report_t *r = rc ? NULL : tl_report_new("Credit scorecard", "how it ranks, how it is "
                                                "calibrated, how stable it is, and what it is made of");
    if (!rc && !r) rc = TL_ENOMEM;
    if (!rc) {
        for (uint32_t j = 0; j < nf; j++) {
            tl_score_feature_t f;
            tl_scorecard_feature(sc, j, &f);
            kept += f.kept;
        }
        char vals[7][32];
        snprintf(vals[0], 32, "%u", v.rows);
        snprintf(vals[1], 32, "%.2f %%", v.rows ? 100.0 * v.bads / v.rows : 0);
        snprintf(vals[2], 32, "%.4f", v.auc);
        snprintf(vals[3], 32, "%.4f", v.ks);
        snprintf(vals[4], 32, "%.4f", 2 * v.auc - 1);
        snprintf(vals[5], 32, "%u of %u", kept, nf);
        snprintf(vals[6], 32, "%.4f (%s)", spsi, tl_psi_reading(spsi));
        const char *labels[7] = {"rows with an outcome", "bad rate", "AUC", "KS", "Gini",
                                 "features kept", "score PSI"};
        const char *vp[7] = {vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6]};
        tl_report_tiles(r, base ? 7 : 6, labels, vp);

        /* goods and bads over the score: shares per equal-width score bin */
        tl_report_heading(r, "Goods and bads over the score");
        double lo = m ? score[0] : 0, hi = m ? score[m - 1] : 1, x[DIST_BINS], y[2 * DIST_BINS] = {0};
        double ng = 0, nb = 0;
        for (uint32_t i = 0; i < m; i++) {
            int k = hi > lo ? (int)((score[i] - lo) / (hi - lo) * DIST_BINS) : 0;
            k = k >= DIST_BINS ? DIST_BINS - 1 : k;
            bad[idx[i]] ? (y[DIST_BINS + k]++, nb++) : (y[k]++, ng++);
        }
        for (int k = 0; k < DIST_BINS; k++) {
            x[k] = lo + (k + 0.5) * (hi - lo) / DIST_BINS;
            y[k] = ng ? 100 * y[k] / ng : 0, y[DIST_BINS + k] = nb ? 100 * y[DIST_BINS + k] / nb : 0;
        }
        const char *gb[2] = {"goods (% of goods)", "bads (% of bads)"};
        tl_report_lines(r, "share of each class per score band: bads should sit low, goods high",
                        DIST_BINS, x, 2, y, gb, "score");

        /* the KS curve: cumulative shares by score */
        double kx[KS_POINTS], ky[2 * KS_POINTS], cg = 0, cb = 0;
        for (int p = 0, i = 0; p < KS_POINTS; p++) {
            uint32_t upto = (uint32_t)((uint64_t)m * (p + 1) / KS_POINTS);
            for (; (uint32_t)i < upto; i++) bad[idx[i]] ? cb++ : cg++;
            kx[p] = upto ? score[upto - 1] : lo;
            ky[p] = nb ? 100 * cb / nb : 0, ky[KS_POINTS + p] = ng ? 100 * cg / ng : 0;
        }
        const char *ks[2] = {"bads below the score (%)", "goods below the score (%)"};
        char cap[96];
        snprintf(cap, sizeof cap, "cumulative shares by score; KS %.3f is their widest gap", v.ks);
        tl_report_lines(r, cap, KS_POINTS, kx, 2, ky, ks, "score");

        tl_report_heading(r, "Default rate by band");
        const char *bandn[TL_NBANDS] = {"A", "B", "C", "D", "E"};
        double rate[TL_NBANDS];
        for (int k = 0; k < TL_NBANDS; k++)
            rate[k] = v.band[k].rows ? 100.0 * v.band[k].bads / v.band[k].rows : NAN;
        tl_report_bars(r, "observed default rate per band", TL_NBANDS, bandn, rate, "%");
        bucket_table(r, "band", v.band, TL_NBANDS, bandn);

        tl_report_heading(r, "Calibration by score decile");
        double dx[10], dy[20];
        const char *decn[10] = {"1 (riskiest)", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
        for (int k = 0; k < 10; k++) {
            dx[k] = k + 1;
            dy[k] = v.decile[k].rows ? 100.0 * v.decile[k].bads / v.decile[k].rows : NAN;
            dy[10 + k] = 100 * v.decile[k].pd;
        }
        const char *cal[2] = {"observed default rate (%)", "mean predicted PD (%)"};
        tl_report_lines(r, "observed against predicted, riskiest tenth first", 10, dx, 2, dy, cal,
                        "score decile");
        bucket_table(r, "decile", v.decile, 10, decn);

        if (base) {
            tl_report_heading(r, "Stability against the baseline");
            tl_report_para(r, "Population stability index of this population against the "
                              "baseline, over each feature's scorecard bins: below 0.10 stable, "
                              "0.10 to 0.25 watch, above 0.25 shifted.");
            const char **cells = calloc((size_t)(kept + 2) * 3, sizeof *cells);
            char(*txt)[32] = calloc((size_t)(kept + 2) * 2, sizeof *txt);
            if (cells && txt) {
                cells[0] = "feature", cells[1] = "PSI", cells[2] = "reading";
                cells[3] = "the score";
                snprintf(txt[0], 32, "%.4f", spsi);
                cells[4] = txt[0], cells[5] = tl_psi_reading(spsi);
                int row = 2;
                for (uint32_t j = 0; j < nf; j++) {
                    tl_score_feature_t f;
                    tl_scorecard_feature(sc, j, &f);
                    if (!f.kept) continue;
                    snprintf(txt[row], 32, "%.4f", fpsi[j]);
                    cells[row * 3] = f.name, cells[row * 3 + 1] = txt[row];
                    cells[row * 3 + 2] = tl_psi_reading(fpsi[j]);
                    row++;
                }
                tl_report_table(r, row, 3, cells);
            }
            free(cells), free(txt);
        }

        if (challenger) rc = challenger_section(r, sc, challenger, t, base, eb);

        tl_report_heading(r, "The scorecard");
        tl_report_para(r, "Each kept feature's bins, ordered as binned, with the rows and bad "
                          "rate training saw, WOE and points; a row's score is the sum of its "
                          "points.");
        for (uint32_t j = 0; j < nf; j++) {
            tl_score_feature_t f;
            tl_scorecard_feature(sc, j, &f);
            if (!f.kept) continue;
            uint32_t nb2 = f.bin->nbins;
            const char **cells = calloc((size_t)(nb2 + 1) * 5, sizeof *cells);
            char(*txt)[128] = calloc((size_t)nb2 * 5, sizeof *txt);
            const char **names = calloc(nb2, sizeof *names);
            double *woe = calloc(nb2, sizeof *woe);
            if (!cells || !txt || !names || !woe) {
                free(cells), free(txt), free(names), free(woe);
                continue;
            }
            const char *head[5] = {"bin", "rows", "bad rate", "WOE", "points"};
            for (int c = 0; c < 5; c++) cells[c] = head[c];
            for (uint32_t k = 0; k < nb2; k++) {
                double rows = f.bin->good[k] + f.bin->bad[k];
                char(*row)[128] = txt + (size_t)k * 5;
                bin_label(&f, k, row[0], sizeof row[0]);
                snprintf(row[1], 128, "%.0f", rows);
                snprintf(row[2], 128, "%.2f %%", rows ? 100 * f.bin->bad[k] / rows : 0);
                snprintf(row[3], 128, "%.3f", f.bin->woe[k]);
                snprintf(row[4], 128, "%.0f", f.points[k]);
                for (int c = 0; c < 5; c++) cells[(k + 1) * 5 + c] = row[c];
                names[k] = row[0], woe[k] = f.bin->woe[k];
            }
            char head2[200];
            snprintf(head2, sizeof head2, "%s (%s, IV %.3f)", f.name,
                     f.categorical ? "categorical" : "numeric", f.iv);
            tl_report_heading(r, head2);
            tl_report_bars(r, "WOE per bin (above zero: fewer bads than average)", (int)nb2, names,
                           woe, "");
            tl_report_table(r, (int)nb2 + 1, 5, cells);
            free(cells), free(txt), free(names), free(woe);
        }
        if (!rc) rc = left_out_section(r, sc);
        if (!rc) rc = tl_report_write(r, path, eb);
    }
    tl_report_free(r);
    free(fpsi), free(score), free(idx), free(bad);
    return rc;
}
