/* card.c -- the credit scorecard as a product: trained from a table with a
 * target column, every other column a candidate feature (numeric when each
 * of its values reads as a number, else categorical), binned, kept by IV,
 * regressed on WOE, turned into points; applied row by row with a score,
 * a probability of default, a risk band and reason codes; saved as JSON a
 * risk officer can read; cross-validated by stratified folds.
 *
 * Points: factor = PDO / ln 2, offset = base_points - factor ln(base_odds),
 * score = offset + factor ln(odds of good) = offset - factor (b0 + sum bj
 * woe_j); each kept feature's bin k gets round(-factor (bj woe_jk + b0 / p)
 * + offset / p) points, so a row's score is the sum of its points. A
 * feature whose coefficient comes out with the wrong sign (risk falling
 * with WOE's risk) is dropped and the regression run again.
 */
#include "finance/finance.h"
#include "stats/stats.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    int categorical, kept;
    double iv, beta, p; /* p: of the association test (NaN: not known) */
    tl_binning_t bin;
    char **cats;    /* categorical: ncat names, code order */
    double *points; /* kept: per bin */
    double best;    /* kept: the most points of any bin */
} feat_t;

struct tl_scorecard {
    char *target, *bad_value;
    uint32_t nfeat;
    feat_t *f;
    double intercept, factor, offset, base_points, base_odds, pdo;
    double band_pd[TL_NBANDS - 1];
    double rows, bads, auc, ks;
};

void tl_score_opts_default(tl_score_opts_t *o) {
    memset(o, 0, sizeof *o);
    tl_bin_opts_default(&o->bin);
    o->min_iv = 0.02;
    o->alpha = 0.05;
    o->l2 = 0.001;
    o->base_points = 600;
    o->base_odds = 19;
    o->pdo = 50;
    o->band_pd[0] = 0.02, o->band_pd[1] = 0.05, o->band_pd[2] = 0.10, o->band_pd[3] = 0.20;
}

static void feat_fini(feat_t *f) {
    free(f->name);
    for (uint32_t c = 0; f->cats && c < f->bin.ncat; c++) free(f->cats[c]);
    free(f->cats);
    free(f->points);
    tl_binning_fini(&f->bin);
}

void tl_scorecard_free(tl_scorecard_t *sc) {
    if (!sc) return;
    for (uint32_t j = 0; j < sc->nfeat; j++) feat_fini(&sc->f[j]);
    free(sc->f), free(sc->target), free(sc->bad_value);
    free(sc);
}

uint32_t tl_scorecard_nfeatures(const tl_scorecard_t *sc) { return sc->nfeat; }
const char *tl_scorecard_target(const tl_scorecard_t *sc) { return sc->target; }
void tl_scorecard_stats(const tl_scorecard_t *sc, tl_scorecard_stats_t *out) {
    *out = (tl_scorecard_stats_t){sc->rows, sc->bads, sc->auc, sc->ks};
}

void tl_scorecard_feature(const tl_scorecard_t *sc, uint32_t j, tl_score_feature_t *out) {
    const feat_t *f = &sc->f[j];
    *out = (tl_score_feature_t){f->name, f->categorical, f->kept, f->iv, &f->bin,
                                (const char *const *)f->cats, f->kept ? f->points : NULL, f->p};
}

/* ---- reading cells ---------------------------------------------------------------- */

int tl_cell_missing(const char *s) {
    return !*s || strcmp(s, "NA") == 0 || strcmp(s, "N/A") == 0 || strcmp(s, "?") == 0 ||
           strcasecmp(s, "null") == 0 || strcasecmp(s, "nan") == 0;
}
#define is_missing tl_cell_missing

int tl_name_listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && memcmp(p, name, n) == 0) return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* ---- training --------------------------------------------------------------------- */

typedef struct {
    const tl_table_t *t;
    const tl_score_opts_t *o;
    uint32_t *rows; /* the rows used, with an outcome */
    uint8_t *bad;
    uint32_t n;
    tl_errbuf_t *eb;
} fitctx_t;

/* The candidate feature of column c over the rows used: its type, values
 * or codes, and bins. */
static int fit_feature(fitctx_t *x, uint32_t c, feat_t *f) {
    const tl_table_t *t = x->t;
    const char *name = t->name[c];
    int force_cat = tl_name_listed(x->o->categorical, name), force_num = tl_name_listed(x->o->numeric, name);
    int numeric = !force_cat;
    double *num = malloc((size_t)(x->n ? x->n : 1) * sizeof *num);
    uint32_t *code = NULL;
    if (!num || !(f->name = strdup(name))) {
        free(num);
        return TL_ENOMEM;
    }
    for (uint32_t i = 0; numeric && i < x->n; i++) {
        const char *v = tl_table_cell(t, x->rows[i], c);
        if (is_missing(v)) num[i] = NAN;
        else if (tl_parse_f64(v, strlen(v), &num[i])) {
            if (force_num) {
                tl_errbuf_set(x->eb, "column %s, row %u: \"%s\" is not a number (it was given "
                              "with --numeric)", name, x->rows[i] + 1, v);
                free(num);
                return TL_EBADINPUT;
            }
            numeric = 0;
        }
    }
    tl_column_t col = {!numeric, num, NULL, 0};
    tl_dict_t *d = NULL;
    int rc = 0;
    if (!numeric) { /* categories, coded in order of appearance */
        code = malloc((size_t)(x->n ? x->n : 1) * sizeof *code);
        d = tl_dict_new();
        if (!code || !d) rc = TL_ENOMEM;
        for (uint32_t i = 0; !rc && i < x->n; i++) {
            const char *v = tl_table_cell(t, x->rows[i], c);
            code[i] = TL_NONE;
            if (!is_missing(v) && tl_dict_intern(d, v, strlen(v), &code[i], NULL)) rc = TL_ENOMEM;
        }
        col.cat = code, col.ncat = d ? tl_dict_count(d) : 0;
        if (!rc && !(f->cats = calloc(col.ncat ? col.ncat : 1, sizeof *f->cats))) rc = TL_ENOMEM;
        for (uint32_t k = 0; !rc && k < col.ncat; k++) {
            size_t len;
            const char *s = tl_dict_str(d, k, &len);
            if (!(f->cats[k] = strndup(s, len))) rc = TL_ENOMEM;
        }
    }
    f->categorical = !numeric;
    if (!rc) rc = tl_bin_fit(&col, x->bad, x->n, &x->o->bin, &f->bin);
    if (rc == TL_EINVAL) tl_errbuf_set(x->eb, "the target needs both good and bad rows");
    f->bin.ncat = col.ncat; /* the names stay with the codes, even when binning failed */
    free(num), free(code);
    tl_dict_free(d);
    return rc;
}

/* The WOE of every used row for the kept features (n x p, row-major). */
static double *woe_matrix(const fitctx_t *x, const tl_scorecard_t *sc, const uint32_t *cols,
                          uint32_t p, const uint32_t *which) {
    double *w = malloc((size_t)x->n * (p ? p : 1) * sizeof *w);
    if (!w) return NULL;
    for (uint32_t a = 0; a < p; a++) {
        const feat_t *f = &sc->f[which[a]];
        uint32_t c = cols[which[a]];
        for (uint32_t i = 0; i < x->n; i++) {
            const char *v = tl_table_cell(x->t, x->rows[i], c);
            double num = NAN;
            uint32_t code = TL_NONE;
            if (!is_missing(v)) {
                if (f->categorical) {
                    for (uint32_t k = 0; k < f->bin.ncat && code == TL_NONE; k++)
                        if (strcmp(f->cats[k], v) == 0) code = k;
                } else {
                    tl_parse_f64(v, strlen(v), &num);
                }
            }
            tl_column_t one = {f->categorical, &num, &code, f->bin.ncat};
            w[(size_t)i * p + a] = f->bin.woe[tl_bin_of(&f->bin, &one, 0)];
        }
    }
    return w;
}

/* The chance that a feature's bins tell bad from good this well by noise
 * alone: Pearson's chi-square over its bins, its degrees of freedom the
 * choices the binning made them from (a categorical feature grouped by bad
 * rate: every category and missing, not the groups; a number: its bins).
 * On a small sample, bins fitted to noise reach an IV that passes min_iv;
 * this test is what leaves them out. */
static double association_p(const tl_binning_t *b) {
    double g = 0, d = 0;
    for (uint32_t k = 0; k < b->nbins; k++) g += b->good[k], d += b->bad[k];
    double n = g + d, x2 = 0;
    if (!(g > 0 && d > 0)) return 1;
    for (uint32_t k = 0; k < b->nbins; k++) {
        double nk = b->good[k] + b->bad[k];
        if (nk <= 0) continue;
        double eg = nk * g / n, ed = nk * d / n;
        x2 += (b->good[k] - eg) * (b->good[k] - eg) / eg + (b->bad[k] - ed) * (b->bad[k] - ed) / ed;
    }
    double df = b->categorical ? (double)b->ncat + (b->missing != TL_NONE) - 1 : (double)b->nbins - 1;
    return df >= 1 ? tl_chi2_sf(x2, df) : 1;
}

int tl_score_candidates(const tl_table_t *t, const tl_score_opts_t *o, uint32_t *cols, uint32_t *n,
                        tl_errbuf_t *eb) {
    *n = 0;
    uint32_t tc = o->target ? tl_table_column(t, o->target) : TL_NONE;
    uint32_t idc = o->id ? tl_table_column(t, o->id) : TL_NONE;
    const char *badv = o->bad_value ? o->bad_value : "1";
    for (uint32_t c = 0; c < t->ncols; c++) {
        if (c == tc || c == idc || tl_name_listed(o->exclude, t->name[c])) continue;
        char why[320];
        int rc;
        if (o->guard && !tl_name_listed(o->allow, t->name[c]) &&
            (rc = tl_feature_guard(t, c, tc, badv, TL_NONE, why, sizeof why))) {
            if (rc > 0) {
                tl_errbuf_set(eb, "%s; leave it out with --exclude %s (or name an id with --id), "
                              "or keep it with --allow %s", why, t->name[c], t->name[c]);
                rc = TL_EINVAL;
            }
            return rc;
        }
        cols[(*n)++] = c;
    }
    return 0;
}

int tl_score_outcomes(const tl_table_t *t, const tl_score_opts_t *o, const uint8_t *use, uint32_t *rows,
                      uint8_t *bad, uint32_t *n, tl_errbuf_t *eb) {
    *n = 0;
    uint32_t tc = o->target ? tl_table_column(t, o->target) : TL_NONE;
    if (tc == TL_NONE) {
        tl_errbuf_set(eb, "no target column \"%s\"", o->target ? o->target : "");
        return TL_EINVAL;
    }
    const char *badv = o->bad_value ? o->bad_value : "1";
    for (uint32_t r = 0; r < t->nrows; r++) {
        const char *v = tl_table_cell(t, r, tc);
        if ((use && !use[r]) || is_missing(v)) continue;
        rows[*n] = r;
        bad[(*n)++] = strcmp(v, badv) == 0;
    }
    return 0;
}

int tl_scorecard_train_rows(const tl_table_t *t, const tl_score_opts_t *o, const uint8_t *use,
                            tl_scorecard_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    tl_scorecard_t *sc = calloc(1, sizeof *sc);
    fitctx_t x = {t, o, malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *x.rows),
                  malloc(t->nrows ? t->nrows : 1), 0, eb};
    uint32_t *cols = malloc((size_t)(t->ncols ? t->ncols : 1) * sizeof *cols);
    uint32_t *which = malloc((size_t)(t->ncols ? t->ncols : 1) * sizeof *which);
    double *w = NULL, *beta = NULL;
    int rc = sc && x.rows && x.bad && cols && which ? 0 : TL_ENOMEM;
    if (!rc) rc = tl_score_outcomes(t, o, use, x.rows, x.bad, &x.n, eb);
    if (!rc && (!(sc->target = strdup(o->target)) ||
                !(sc->bad_value = strdup(o->bad_value ? o->bad_value : "1"))))
        rc = TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < x.n; i++) sc->bads += x.bad[i];
    if (!rc) sc->rows = x.n;
    if (!rc && !(sc->f = calloc(t->ncols ? t->ncols : 1, sizeof *sc->f))) rc = TL_ENOMEM;
    uint32_t ncand = 0;
    if (!rc) rc = tl_score_candidates(t, o, cols, &ncand, eb);
    for (uint32_t q = 0; !rc && q < ncand; q++) {
        rc = fit_feature(&x, cols[q], &sc->f[sc->nfeat]);
        sc->nfeat++; /* counted even on failure, so that it is freed */
        if (rc) break;
        feat_t *f = &sc->f[sc->nfeat - 1];
        f->iv = f->bin.iv;
        f->p = association_p(&f->bin);
        f->kept = f->iv >= o->min_iv && f->bin.nbins > 1 && (o->alpha >= 1 || f->p < o->alpha);
    }
    /* regress, dropping features whose coefficient has the wrong sign */
    uint32_t p = 0;
    for (int again = 1; !rc && again;) {
        p = 0;
        for (uint32_t j = 0; j < sc->nfeat; j++)
            if (sc->f[j].kept) which[p++] = j;
        if (!p) {
            tl_errbuf_set(eb, "no feature has an information value of at least %g", o->min_iv);
            rc = TL_EINVAL;
            break;
        }
        free(w), free(beta);
        w = woe_matrix(&x, sc, cols, p, which);
        beta = malloc((p + 1) * sizeof *beta);
        if (!w || !beta) {
            rc = TL_ENOMEM;
            break;
        }
        rc = tl_logit_fit(w, x.n, p, x.bad, o->l2, beta, eb);
        again = 0;
        for (uint32_t a = 0; !rc && a < p; a++)
            if (!o->any_sign && beta[a + 1] >= 0) sc->f[which[a]].kept = 0, again = 1;
    }
    if (!rc) {
        sc->base_points = o->base_points, sc->base_odds = o->base_odds, sc->pdo = o->pdo;
        memcpy(sc->band_pd, o->band_pd, sizeof sc->band_pd);
        sc->factor = o->pdo / log(2.0);
        sc->offset = o->base_points - sc->factor * log(o->base_odds);
        sc->intercept = beta[0];
        for (uint32_t a = 0; !rc && a < p; a++) {
            feat_t *f = &sc->f[which[a]];
            f->beta = beta[a + 1];
            f->points = malloc(f->bin.nbins * sizeof *f->points);
            if (!f->points) {
                rc = TL_ENOMEM;
                break;
            }
            f->best = -INFINITY;
            for (uint32_t k = 0; k < f->bin.nbins; k++) {
                f->points[k] = round(-sc->factor * (f->beta * f->bin.woe[k] + beta[0] / p) +
                                     sc->offset / p);
                f->best = fmax(f->best, f->points[k]);
            }
        }
    }
    /* the training rows' scores, for AUC and KS */
    double *score = rc ? NULL : calloc(x.n ? x.n : 1, sizeof *score);
    if (!rc && !score) rc = TL_ENOMEM;
    for (uint32_t a = 0; !rc && a < p; a++)
        for (uint32_t i = 0; i < x.n; i++) {
            const feat_t *f = &sc->f[which[a]];
            double wv = w[(size_t)i * p + a];
            uint32_t k = 0;
            while (k + 1 < f->bin.nbins && f->bin.woe[k] != wv) k++;
            score[i] += f->points[k];
        }
    if (!rc) sc->auc = tl_auc(score, x.bad, x.n), sc->ks = tl_ks(score, x.bad, x.n);
    free(score), free(w), free(beta), free(x.rows), free(x.bad), free(cols), free(which);
    if (rc) {
        tl_scorecard_free(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

int tl_scorecard_train(const tl_table_t *t, const tl_score_opts_t *o, tl_scorecard_t **out,
                       tl_errbuf_t *eb) {
    return tl_scorecard_train_rows(t, o, NULL, out, eb);
}

/* ---- applying -------------------------------------------------------------------- */

struct tl_scorer {
    const tl_scorecard_t *sc;
    const tl_table_t *t;
    uint32_t target;  /* column or TL_NONE */
    uint32_t *col;    /* per feature: the table's column (TL_NONE when not kept) */
    tl_dict_t **cats; /* per categorical kept feature: name -> code */
};

void tl_scorer_free(tl_scorer_t *s) {
    if (!s) return;
    for (uint32_t j = 0; s->cats && j < s->sc->nfeat; j++) tl_dict_free(s->cats[j]);
    free(s->cats), free(s->col), free(s);
}

int tl_scorer_new(const tl_scorecard_t *sc, const tl_table_t *t, tl_scorer_t **out,
                  tl_errbuf_t *eb) {
    tl_scorer_t *s = calloc(1, sizeof *s);
    if (!s) return TL_ENOMEM;
    s->sc = sc, s->t = t, s->target = tl_table_column(t, sc->target);
    s->col = malloc((sc->nfeat ? sc->nfeat : 1) * sizeof *s->col);
    s->cats = calloc(sc->nfeat ? sc->nfeat : 1, sizeof *s->cats);
    int rc = s->col && s->cats ? 0 : TL_ENOMEM;
    for (uint32_t j = 0; !rc && j < sc->nfeat; j++) {
        const feat_t *f = &sc->f[j];
        s->col[j] = TL_NONE;
        if (!f->kept) continue;
        if ((s->col[j] = tl_table_column(t, f->name)) == TL_NONE) {
            tl_errbuf_set(eb, "the scorecard needs a column \"%s\"", f->name);
            rc = TL_EINVAL;
            break;
        }
        if (!f->categorical) continue;
        if (!(s->cats[j] = tl_dict_new())) rc = TL_ENOMEM;
        for (uint32_t k = 0, code; !rc && k < f->bin.ncat; k++)
            if (tl_dict_intern(s->cats[j], f->cats[k], strlen(f->cats[k]), &code, NULL)) rc = TL_ENOMEM;
    }
    if (rc) {
        tl_scorer_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int tl_scorer_bad(const tl_scorer_t *s, uint32_t row) {
    if (s->target == TL_NONE) return -1;
    const char *v = tl_table_cell(s->t, row, s->target);
    return is_missing(v) ? -1 : strcmp(v, s->sc->bad_value) == 0;
}

void tl_scorer_row(const tl_scorer_t *s, uint32_t row, tl_score_t *out) {
    const tl_scorecard_t *sc = s->sc;
    double score = 0, loss[TL_NREASONS];
    for (int k = 0; k < TL_NREASONS; k++) out->reasons[k] = TL_NONE, loss[k] = 0;
    for (uint32_t j = 0; j < sc->nfeat; j++) {
        const feat_t *f = &sc->f[j];
        if (!f->kept) continue;
        const char *v = tl_table_cell(s->t, row, s->col[j]);
        double num = NAN;
        uint32_t code = TL_NONE;
        if (!is_missing(v)) {
            if (f->categorical) code = tl_dict_find(s->cats[j], v, strlen(v));
            else if (tl_parse_f64(v, strlen(v), &num)) num = NAN; /* unreadable: as missing */
        }
        tl_column_t one = {f->categorical, &num, &code, f->bin.ncat};
        double pts = f->points[tl_bin_of(&f->bin, &one, 0)], lost = f->best - pts;
        score += pts;
        /* keep the features that cost the most, largest first */
        for (int k = 0; k < TL_NREASONS; k++) {
            if (!(lost > loss[k])) continue;
            memmove(&loss[k + 1], &loss[k], (TL_NREASONS - 1 - k) * sizeof *loss);
            memmove(&out->reasons[k + 1], &out->reasons[k], (TL_NREASONS - 1 - k) * sizeof *out->reasons);
            loss[k] = lost, out->reasons[k] = j;
            break;
        }
    }
    out->score = score;
    out->pd = 1 / (1 + exp((score - sc->offset) / sc->factor));
    out->band = 0;
    while (out->band < TL_NBANDS - 1 && out->pd >= sc->band_pd[out->band]) out->band++;
}

/* ---- the store's users -------------------------------------------------------------- */

int tl_score_users_table(const tl_profiles_t *p, const tl_dict_t *users, uint32_t first, uint32_t count,
                         tl_table_t *t) {
    memset(t, 0, sizeof *t);
    tl_buf_init(&t->text);
    uint32_t nc = (uint32_t)tl_profile_ncols(p) + 1, n = tl_profile_nusers(p);
    if (n > tl_dict_count(users)) n = tl_dict_count(users);
    n = first < n ? n - first : 0;
    if (n > count) n = count;
    t->ncols = nc, t->nrows = n, t->read = n;
    t->name = calloc(nc, sizeof *t->name);
    t->cell = malloc((size_t)(n ? n : 1) * nc * sizeof *t->cell);
    int rc = t->name && t->cell && (t->name[0] = strdup("user")) ? 0 : TL_ENOMEM;
    for (uint32_t c = 1; !rc && c < nc; c++)
        if (!(t->name[c] = strdup(tl_profile_col_name(p, (int)c - 1)))) rc = TL_ENOMEM;
    char cell[512];
    for (uint32_t u = 0; !rc && u < n; u++) {
        size_t len;
        const char *id = tl_dict_str(users, first + u, &len);
        t->cell[(size_t)u * nc] = t->text.len;
        if (tl_buf_append(&t->text, id, len) || tl_buf_append(&t->text, "", 1)) rc = TL_ENOMEM;
        for (uint32_t c = 1; !rc && c < nc; c++) {
            tl_profile_cell(p, (int)c - 1, first + u, cell, sizeof cell);
            t->cell[(size_t)u * nc + c] = t->text.len;
            if (tl_buf_append(&t->text, cell, strlen(cell) + 1)) rc = TL_ENOMEM;
        }
    }
    if (rc) tl_table_fini(t);
    return rc;
}

int tl_score_user(const tl_scorecard_t *sc, const tl_profiles_t *p, const tl_dict_t *users, uint32_t user,
                  tl_score_t *out, tl_errbuf_t *eb) {
    tl_table_t t;
    int rc = tl_score_users_table(p, users, user, 1, &t);
    if (!rc && t.nrows != 1) rc = TL_ENOENT;
    tl_scorer_t *s = NULL;
    if (!rc) rc = tl_scorer_new(sc, &t, &s, eb);
    if (!rc) tl_scorer_row(s, 0, out);
    tl_scorer_free(s);
    tl_table_fini(&t);
    return rc;
}

/* ---- validation and monitoring ------------------------------------------------------ */

/* The bin of each kept feature for every row, and the scores (arrays of
 * t->nrows; bins nfeat x nrows, may be NULL). */
static int score_all(const tl_scorecard_t *sc, const tl_table_t *t, tl_score_t *res, int8_t *bad,
                     uint32_t *bins, tl_errbuf_t *eb) {
    tl_scorer_t *s;
    int rc = tl_scorer_new(sc, t, &s, eb);
    if (rc) return rc;
    for (uint32_t r = 0; r < t->nrows; r++) {
        tl_scorer_row(s, r, &res[r]);
        if (bad) bad[r] = (int8_t)tl_scorer_bad(s, r);
        for (uint32_t j = 0; bins && j < sc->nfeat; j++) {
            const feat_t *f = &sc->f[j];
            if (!f->kept) continue;
            const char *v = tl_table_cell(t, r, s->col[j]);
            double num = NAN;
            uint32_t code = TL_NONE;
            if (!is_missing(v)) {
                if (f->categorical) code = tl_dict_find(s->cats[j], v, strlen(v));
                else if (tl_parse_f64(v, strlen(v), &num)) num = NAN;
            }
            tl_column_t one = {f->categorical, &num, &code, f->bin.ncat};
            bins[(size_t)j * t->nrows + r] = tl_bin_of(&f->bin, &one, 0);
        }
    }
    tl_scorer_free(s);
    return 0;
}

static void bucket_add(tl_score_bucket_t *b, const tl_score_t *r, int bad) {
    if (b->rows == 0 || r->score < b->lo) b->lo = r->score;
    if (b->rows == 0 || r->score > b->hi) b->hi = r->score;
    b->pd += r->pd; /* a sum until the end */
    b->rows++, b->bads += bad == 1;
}

int tl_scorecard_validate(const tl_scorecard_t *sc, const tl_table_t *t,
                          tl_score_validation_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    if (tl_table_column(t, sc->target) == TL_NONE) {
        tl_errbuf_set(eb, "validation needs the target column \"%s\"", sc->target);
        return TL_EINVAL;
    }
    size_t n = t->nrows ? t->nrows : 1;
    tl_score_t *res = malloc(n * sizeof *res);
    int8_t *bad = malloc(n);
    int rc = res && bad ? 0 : TL_ENOMEM;
    if (!rc) rc = score_all(sc, t, res, bad, NULL, eb);
    if (!rc) rc = tl_score_validation(res, bad, t->nrows, out);
    free(res), free(bad);
    return rc;
}

int tl_score_validation(const tl_score_t *res, const int8_t *bad, uint32_t n, tl_score_validation_t *out) {
    memset(out, 0, sizeof *out);
    double *score = malloc((n ? n : 1) * sizeof *score);
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
    uint8_t *b8 = malloc(n ? n : 1);
    int rc = score && idx && b8 ? 0 : TL_ENOMEM;
    uint32_t m = 0; /* rows with an outcome */
    for (uint32_t r = 0; !rc && r < n; r++)
        if (bad[r] >= 0) idx[m] = r, score[m] = res[r].score, b8[m] = (uint8_t)bad[r], m++;
    double brier = 0;
    if (!rc) {
        out->rows = m;
        for (uint32_t i = 0; i < m; i++) {
            double e = res[idx[i]].pd - b8[i];
            out->bads += b8[i], brier += e * e;
        }
        out->auc = tl_auc(score, b8, m), out->ks = tl_ks(score, b8, m);
        out->brier = m ? brier / m : NAN;
        rc = tl_sort_f64(score, idx, m); /* rows by score, riskiest first */
    }
    for (uint32_t i = 0; !rc && i < m; i++) {
        const tl_score_t *r = &res[idx[i]];
        bucket_add(&out->decile[(uint64_t)i * 10 / m], r, bad[idx[i]]);
        bucket_add(&out->band[r->band], r, bad[idx[i]]);
    }
    for (int k = 0; k < 10; k++) out->decile[k].pd /= out->decile[k].rows ? out->decile[k].rows : 1;
    for (int k = 0; k < TL_NBANDS; k++) out->band[k].pd /= out->band[k].rows ? out->band[k].rows : 1;
    free(score), free(idx), free(b8);
    return rc;
}

int tl_scorecard_psi(const tl_scorecard_t *sc, const tl_table_t *base, const tl_table_t *cur,
                     double *score_psi, double *feature_psi, tl_errbuf_t *eb) {
    const tl_table_t *tab[2] = {base, cur};
    tl_score_t *res[2] = {NULL, NULL};
    uint32_t *bins[2] = {NULL, NULL};
    double *sc_[2] = {NULL, NULL};
    int rc = 0;
    for (int w = 0; !rc && w < 2; w++) {
        size_t n = tab[w]->nrows ? tab[w]->nrows : 1;
        res[w] = malloc(n * sizeof *res[w]);
        bins[w] = malloc(n * (sc->nfeat ? sc->nfeat : 1) * sizeof *bins[w]);
        sc_[w] = malloc(n * sizeof *sc_[w]);
        if (!res[w] || !bins[w] || !sc_[w]) rc = TL_ENOMEM;
        if (!rc) rc = score_all(sc, tab[w], res[w], NULL, bins[w], eb);
        for (uint32_t r = 0; !rc && r < tab[w]->nrows; r++) sc_[w][r] = res[w][r].score;
    }
    if (!rc) *score_psi = tl_psi(sc_[0], base->nrows, sc_[1], cur->nrows, 10);
    for (uint32_t j = 0; !rc && j < sc->nfeat; j++) {
        const feat_t *f = &sc->f[j];
        feature_psi[j] = NAN;
        if (!f->kept) continue;
        double *cnt = calloc(2 * (size_t)f->bin.nbins, sizeof *cnt);
        if (!cnt) {
            rc = TL_ENOMEM;
            break;
        }
        for (int w = 0; w < 2; w++)
            for (uint32_t r = 0; r < tab[w]->nrows; r++)
                cnt[(size_t)w * f->bin.nbins + bins[w][(size_t)j * tab[w]->nrows + r]]++;
        feature_psi[j] = tl_psi_counts(cnt, cnt + f->bin.nbins, f->bin.nbins);
        free(cnt);
    }
    for (int w = 0; w < 2; w++) free(res[w]), free(bins[w]), free(sc_[w]);
    return rc;
}

/* ---- cross-validation ------------------------------------------------------------- */

int tl_scorecard_cv(const tl_table_t *t, const tl_score_opts_t *o, uint32_t folds, uint64_t seed,
                    double *auc, int32_t *fold, tl_errbuf_t *eb) {
    uint32_t tc = o->target ? tl_table_column(t, o->target) : TL_NONE;
    if (tc == TL_NONE || folds < 2) {
        tl_errbuf_set(eb, tc == TL_NONE ? "no target column \"%s\"" : "give 2 folds or more",
                      o->target ? o->target : "");
        return TL_EINVAL;
    }
    int32_t *fo = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *fo);
    uint8_t *use = malloc(t->nrows ? t->nrows : 1), *bad = malloc(t->nrows ? t->nrows : 1);
    double *score = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *score);
    int rc = fo && use && bad && score ? 0 : TL_ENOMEM;
    if (!rc) rc = tl_score_folds(t, o, folds, seed, fo);
    for (uint32_t k = 0; !rc && k < folds; k++) {
        for (uint32_t r = 0; r < t->nrows; r++) use[r] = fo[r] >= 0 && fo[r] != (int32_t)k;
        tl_scorecard_t *sc;
        tl_scorer_t *s = NULL;
        if ((rc = tl_scorecard_train_rows(t, o, use, &sc, eb))) break;
        rc = tl_scorer_new(sc, t, &s, eb);
        uint32_t n = 0;
        for (uint32_t r = 0; !rc && r < t->nrows; r++) {
            if (fo[r] != (int32_t)k) continue;
            tl_score_t res;
            tl_scorer_row(s, r, &res);
            score[n] = res.score, bad[n++] = tl_scorer_bad(s, r) == 1;
        }
        if (!rc) auc[k] = tl_auc(score, bad, n);
        tl_scorer_free(s);
        tl_scorecard_free(sc);
    }
    if (!rc && fold) memcpy(fold, fo, (size_t)t->nrows * sizeof *fo);
    free(fo), free(use), free(bad), free(score);
    return rc;
}

int tl_score_folds(const tl_table_t *t, const tl_score_opts_t *o, uint32_t folds, uint64_t seed, int32_t *fo) {
    uint32_t tc = o->target ? tl_table_column(t, o->target) : TL_NONE;
    const char *badv = o->bad_value ? o->bad_value : "1";
    uint32_t *idx = malloc((size_t)(t->nrows ? t->nrows : 1) * sizeof *idx);
    if (!idx) return TL_ENOMEM;
    /* stratified: goods and bads each shuffled, then dealt round the folds */
    tl_rng_t rng;
    tl_rng_seed(&rng, seed);
    for (int cls = 0; cls < 2; cls++) {
        uint32_t n = 0;
        for (uint32_t r = 0; r < t->nrows; r++) {
            const char *v = tc == TL_NONE ? "" : tl_table_cell(t, r, tc);
            if (cls == 0) fo[r] = -1;
            if (!is_missing(v) && (strcmp(v, badv) == 0) == cls) idx[n++] = r;
        }
        for (uint32_t i = n; i > 1; i--) {
            uint32_t k = tl_rng_below(&rng, i), tmp = idx[i - 1];
            idx[i - 1] = idx[k], idx[k] = tmp;
        }
        for (uint32_t i = 0; i < n; i++) fo[idx[i]] = (int32_t)(i % folds);
    }
    free(idx);
    return 0;
}

/* ---- files ------------------------------------------------------------------------- */

#define CARD_FORMAT "tailor-scorecard"

/* The scorecard as its JSON text (cJSON_free it); NULL when out of memory. */
static char *card_text(const tl_scorecard_t *sc) {
    cJSON *j = cJSON_CreateObject(), *fs = cJSON_AddArrayToObject(j, "features");
    cJSON_AddStringToObject(j, "format", CARD_FORMAT);
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "target", sc->target);
    cJSON_AddStringToObject(j, "bad_value", sc->bad_value);
    cJSON_AddNumberToObject(j, "base_points", sc->base_points);
    cJSON_AddNumberToObject(j, "base_odds", sc->base_odds);
    cJSON_AddNumberToObject(j, "pdo", sc->pdo);
    cJSON_AddNumberToObject(j, "intercept", sc->intercept);
    cJSON_AddItemToObject(j, "band_pd", cJSON_CreateDoubleArray(sc->band_pd, TL_NBANDS - 1));
    cJSON_AddNumberToObject(j, "rows", sc->rows);
    cJSON_AddNumberToObject(j, "bads", sc->bads);
    cJSON_AddNumberToObject(j, "auc", sc->auc);
    cJSON_AddNumberToObject(j, "ks", sc->ks);
    for (uint32_t q = 0; q < sc->nfeat; q++) {
        const feat_t *f = &sc->f[q];
        cJSON *o = cJSON_CreateObject(), *bins = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "name", f->name);
        cJSON_AddStringToObject(o, "type", f->categorical ? "categorical" : "numeric");
        cJSON_AddBoolToObject(o, "kept", f->kept);
        cJSON_AddNumberToObject(o, "iv", f->iv);
        if (isfinite(f->p)) cJSON_AddNumberToObject(o, "p", f->p);
        cJSON_AddNumberToObject(o, "beta", f->beta);
        if (f->bin.missing != TL_NONE) cJSON_AddNumberToObject(o, "missing_bin", f->bin.missing);
        if (f->categorical) {
            cJSON *names = cJSON_AddArrayToObject(o, "categories"), *to = cJSON_AddArrayToObject(o, "category_bins");
            for (uint32_t c = 0; c < f->bin.ncat; c++) {
                cJSON_AddItemToArray(names, cJSON_CreateString(f->cats[c]));
                cJSON_AddItemToArray(to, cJSON_CreateNumber(f->bin.cat_bin[c]));
            }
        } else {
            cJSON_AddItemToObject(o, "cuts", cJSON_CreateDoubleArray(f->bin.cut, (int)f->bin.ncuts));
            if (f->bin.nspecial)
                cJSON_AddItemToObject(o, "specials",
                                      cJSON_CreateDoubleArray(f->bin.special, (int)f->bin.nspecial));
        }
        for (uint32_t k = 0; k < f->bin.nbins; k++) {
            cJSON *b = cJSON_CreateObject();
            cJSON_AddNumberToObject(b, "good", f->bin.good[k]);
            cJSON_AddNumberToObject(b, "bad", f->bin.bad[k]);
            cJSON_AddNumberToObject(b, "woe", f->bin.woe[k]);
            if (f->kept) cJSON_AddNumberToObject(b, "points", f->points[k]);
            cJSON_AddItemToArray(bins, b);
        }
        cJSON_AddItemToObject(o, "bins", bins);
        cJSON_AddItemToArray(fs, o);
    }
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

int tl_scorecard_save(const tl_scorecard_t *sc, const char *path, tl_errbuf_t *eb) {
    char *text = card_text(sc);
    int rc = text ? tl_write_file(path, text, strlen(text)) : TL_ENOMEM;
    if (rc) tl_errbuf_set(eb, "%s: cannot write the scorecard: %s", path, tl_strerror(rc));
    cJSON_free(text);
    return rc;
}

int tl_scorecard_put(tl_store_t *st, const char *name, const tl_scorecard_t *sc, tl_errbuf_t *eb) {
    char blob[256];
    if (tl_store_blob_name(TL_BLOB_SCORECARD, name, blob, sizeof blob)) {
        tl_errbuf_set(eb, "\"%s\" cannot name a scorecard (letters, digits, '_', '-', '.')", name);
        return TL_EINVAL;
    }
    char *text = card_text(sc);
    if (!text) {
        tl_errbuf_set(eb, "%s: out of memory writing the scorecard", blob);
        return TL_ENOMEM;
    }
    tl_blobw_t *w;
    int rc = tl_store_blob_create(st, blob, &w, eb);
    if (!rc && !(rc = tl_blobw_write(w, text, strlen(text), eb))) rc = tl_blobw_write(w, "\n", 1, eb);
    if (rc) tl_blobw_abandon(w);
    else rc = tl_blobw_close(w, eb);
    cJSON_free(text);
    return rc;
}

/* A finite number: cJSON reads 1e999 as infinity, which a card cannot use
 * and tl_scorecard_save could not write back. */
static int is_num(const cJSON *v) { return cJSON_IsNumber(v) && isfinite(v->valuedouble); }

static double num_at(const cJSON *o, const char *key, int *ok) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!is_num(v)) *ok = 0;
    return is_num(v) ? v->valuedouble : 0;
}

/* One feature back from its JSON; 0 if it does not hold together. */
static int load_feature(const cJSON *o, feat_t *f) {
    int ok = 1;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name"),
                *type = cJSON_GetObjectItemCaseSensitive(o, "type"),
                *bins = cJSON_GetObjectItemCaseSensitive(o, "bins");
    if (!cJSON_IsString(name) || !cJSON_IsString(type) || !cJSON_IsArray(bins)) return 0;
    f->name = strdup(name->valuestring);
    f->categorical = strcmp(type->valuestring, "categorical") == 0;
    f->kept = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "kept"));
    f->iv = num_at(o, "iv", &ok), f->beta = num_at(o, "beta", &ok);
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(o, "p"); /* optional: older files have none */
    f->p = cJSON_IsNumber(pv) && pv->valuedouble >= 0 && pv->valuedouble <= 1 ? pv->valuedouble : NAN;
    tl_binning_t *b = &f->bin;
    b->categorical = f->categorical;
    b->nbins = (uint32_t)cJSON_GetArraySize(bins);
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(o, "missing_bin");
    if (!f->name || b->nbins == 0 || b->nbins > 100000) return 0;
    /* the missing bin, when there is one, is the last (compared as a number:
     * casting one out of range to uint32_t is undefined) */
    if (cJSON_IsNumber(mb) && mb->valuedouble != (double)(b->nbins - 1)) return 0;
    b->missing = cJSON_IsNumber(mb) ? b->nbins - 1 : TL_NONE;
    b->good = malloc(b->nbins * sizeof *b->good), b->bad = malloc(b->nbins * sizeof *b->bad);
    b->woe = malloc(b->nbins * sizeof *b->woe);
    if (f->kept) f->points = malloc(b->nbins * sizeof *f->points);
    if (!b->good || !b->bad || !b->woe || (f->kept && !f->points)) return 0;
    f->best = -INFINITY;
    uint32_t k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, bins) {
        b->good[k] = num_at(it, "good", &ok), b->bad[k] = num_at(it, "bad", &ok);
        b->woe[k] = num_at(it, "woe", &ok);
        if (f->kept) f->points[k] = num_at(it, "points", &ok), f->best = fmax(f->best, f->points[k]);
        k++;
    }
    uint32_t valued = b->nbins - (b->missing != TL_NONE);
    if (f->categorical) {
        const cJSON *names = cJSON_GetObjectItemCaseSensitive(o, "categories"),
                    *to = cJSON_GetObjectItemCaseSensitive(o, "category_bins");
        if (!cJSON_IsArray(names) || !cJSON_IsArray(to) ||
            cJSON_GetArraySize(names) != cJSON_GetArraySize(to))
            return 0;
        b->ncat = (uint32_t)cJSON_GetArraySize(names);
        f->cats = calloc(b->ncat ? b->ncat : 1, sizeof *f->cats);
        b->cat_bin = malloc((b->ncat ? b->ncat : 1) * sizeof *b->cat_bin);
        if (!f->cats || !b->cat_bin) return 0;
        for (uint32_t c = 0; c < b->ncat; c++) {
            const cJSON *s = cJSON_GetArrayItem(names, (int)c), *v = cJSON_GetArrayItem(to, (int)c);
            if (!cJSON_IsString(s) || !cJSON_IsNumber(v) || v->valuedouble < 0 ||
                v->valuedouble >= b->nbins || !(f->cats[c] = strdup(s->valuestring)))
                return 0;
            b->cat_bin[c] = (uint32_t)v->valuedouble;
        }
    } else {
        const cJSON *cuts = cJSON_GetObjectItemCaseSensitive(o, "cuts"),
                    *sp = cJSON_GetObjectItemCaseSensitive(o, "specials");
        b->nspecial = cJSON_IsArray(sp) ? (uint32_t)cJSON_GetArraySize(sp) : 0;
        if (!cJSON_IsArray(cuts) || b->nspecial > valued) return 0;
        b->nregular = valued - b->nspecial;
        if ((uint32_t)cJSON_GetArraySize(cuts) + (b->nregular > 0) != b->nregular) return 0;
        b->special = malloc((b->nspecial ? b->nspecial : 1) * sizeof *b->special);
        if (!b->special) return 0;
        for (uint32_t k = 0; k < b->nspecial; k++) {
            const cJSON *v = cJSON_GetArrayItem(sp, (int)k);
            if (!is_num(v)) return 0;
            b->special[k] = v->valuedouble;
        }
        b->ncuts = b->nregular ? b->nregular - 1 : 0;
        b->cut = malloc((b->ncuts ? b->ncuts : 1) * sizeof *b->cut);
        if (!b->cut) return 0;
        for (uint32_t c = 0; c < b->ncuts; c++) {
            const cJSON *v = cJSON_GetArrayItem(cuts, (int)c);
            if (!is_num(v) || (c && v->valuedouble <= b->cut[c - 1])) return 0;
            b->cut[c] = v->valuedouble;
        }
    }
    return ok;
}

/* The scorecard of text[0..len), read from where (for messages). */
static int card_parse(const char *text, size_t len, const char *where, tl_scorecard_t **out,
                      tl_errbuf_t *eb) {
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, CARD_FORMAT) != 0) {
        cJSON_Delete(j);
        tl_errbuf_set(eb, "%s: not a tailor scorecard", where);
        return TL_ECORRUPT;
    }
    tl_scorecard_t *sc = calloc(1, sizeof *sc);
    int ok = sc != NULL;
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(j, "target"),
                *badv = cJSON_GetObjectItemCaseSensitive(j, "bad_value"),
                *bands = cJSON_GetObjectItemCaseSensitive(j, "band_pd"),
                *fs = cJSON_GetObjectItemCaseSensitive(j, "features");
    if (ok) {
        ok = num_at(j, "version", &ok) == 1 && cJSON_IsString(target) && cJSON_IsString(badv) &&
             cJSON_IsArray(bands) && cJSON_GetArraySize(bands) == TL_NBANDS - 1 && cJSON_IsArray(fs);
        sc->base_points = num_at(j, "base_points", &ok), sc->base_odds = num_at(j, "base_odds", &ok);
        sc->pdo = num_at(j, "pdo", &ok), sc->intercept = num_at(j, "intercept", &ok);
        sc->rows = num_at(j, "rows", &ok), sc->bads = num_at(j, "bads", &ok);
        sc->auc = num_at(j, "auc", &ok), sc->ks = num_at(j, "ks", &ok);
        if (!(sc->pdo > 0) || !(sc->base_odds > 0)) ok = 0;
    }
    if (ok) {
        sc->target = strdup(target->valuestring), sc->bad_value = strdup(badv->valuestring);
        for (int k = 0; k < TL_NBANDS - 1; k++) {
            const cJSON *v = cJSON_GetArrayItem(bands, k);
            ok &= is_num(v) && (k == 0 || v->valuedouble > sc->band_pd[k - 1]);
            sc->band_pd[k] = is_num(v) ? v->valuedouble : 0;
        }
        sc->factor = sc->pdo / log(2.0);
        sc->offset = sc->base_points - sc->factor * log(sc->base_odds);
        sc->f = calloc((size_t)cJSON_GetArraySize(fs) + 1, sizeof *sc->f);
        ok = sc->target && sc->bad_value && sc->f;
    }
    const cJSON *it;
    if (ok)
        cJSON_ArrayForEach(it, fs) {
            if (!ok) break;
            ok = load_feature(it, &sc->f[sc->nfeat]);
            sc->nfeat++;
        }
    cJSON_Delete(j);
    if (!ok) {
        tl_scorecard_free(sc);
        tl_errbuf_set(eb, "%s: the scorecard file is damaged; train it again", where);
        return TL_ECORRUPT;
    }
    *out = sc;
    return 0;
}

int tl_scorecard_load(const char *path, tl_scorecard_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    char *text;
    size_t len;
    int rc = tl_read_file(path, &text, &len);
    if (rc == TL_ENOENT)
        tl_errbuf_set(eb, "%s: no such scorecard; train one with `tailor score train`", path);
    if (rc) return rc;
    rc = card_parse(text, len, path, out, eb);
    free(text);
    return rc;
}

int tl_scorecard_get(tl_store_t *st, const char *name, tl_scorecard_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    char blob[256];
    if (tl_store_blob_name(TL_BLOB_SCORECARD, name, blob, sizeof blob)) {
        tl_errbuf_set(eb, "\"%s\" cannot name a scorecard (letters, digits, '_', '-', '.')", name);
        return TL_EINVAL;
    }
    tl_blob_view_t v;
    int rc = tl_store_blob_map(st, blob, &v, eb);
    if (rc == TL_ENOENT)
        tl_errbuf_set(eb, "%s: no scorecard \"%s\" here; train one with `tailor %s train`",
                      tl_store_dir(st), name, strcmp(name, "propensity") == 0 ? "propensity" : "score");
    if (rc) return rc;
    rc = card_parse(v.data, v.len, blob, out, eb);
    tl_store_blob_unmap(&v);
    return rc;
}
