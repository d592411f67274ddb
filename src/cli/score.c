/* score.c -- scorecards and offers: `score` and `propensity` (train,
 * apply, report, cv), `offers` (a user's financial offers under the
 * lending policy, and why others are not made) and `report` (the profiles
 * and scorecard pages; a campaign's report is campaign.c's). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "finance/finance.h"
#include "profile/profile.h"

/* ---- report --------------------------------------------------------------------- */

const optspec_t REPORT_OPTS[] = {
    {"html", 1, "write the report to this HTML file"},
    {"model", 1, "scorecard: the scorecard file (default DATA/models/scorecard.json)"},
    {"csv", 1, "scorecard: the population with outcomes, a delimited file"},
    {"preset", 1, "scorecard: german-credit or bank-marketing, the file's layout"},
    {"users", 0, "scorecard: the store's users by their profiles"},
    {"baseline", 1, "scorecard: an earlier population to measure stability against"},
    {"challenger", 0, "scorecard: the challenger beside it (`score train --challenger`)"},
    {"challenger-model", 1, "scorecard: the challenger's file (default: beside --model, or the "
                            "store's)"},
    {"rejects", 1, "scorecard: write every rejected record to this CSV file"},
    {"bh", 0, "campaign: Benjamini-Hochberg instead of Holm over arms x metrics"},
    {"json", 0, "campaign: print as JSON"},
    {NULL, 0, NULL}};

/* ---- score ------------------------------------------------------------------------ */

const optspec_t SCORE_OPTS[] = {
    {"csv", 1, "the table: a delimited file with a header (or --preset)"},
    {"users", 0, "the table: the store's users by their profiles (`profile build` first); "
                 "target defaulted (bad: yes), id user"},
    {"preset", 1, "german-credit or bank-marketing: the file's layout, names and target"},
    {"target", 1, "train, cv: the outcome column"},
    {"bad-value", 1, "train, cv: the target's value for a bad row (default 1; german-credit 2, "
                     "--users and bank-marketing yes)"},
    {"id", 1, "a column naming each row (default: the row number)"},
    {"exclude", 1, "train, cv: columns not to use, comma-separated (--users: repayments and "
                   "repay_amount, which record what followed the credit)"},
    {"allow", 1, "propensity train, cv: columns to use although they look like an id or a "
                 "function of the outcome (refused otherwise), comma-separated"},
    {"categorical", 1, "train, cv: columns to treat as categories, comma-separated"},
    {"numeric", 1, "train, cv: columns that must be numbers, comma-separated"},
    {"min-iv", 1, "train, cv: least information value of a kept feature (default 0.02)"},
    {"alpha", 1, "train, cv: a feature is kept only when its bins' association with the outcome is "
                 "significant at this level (chi-square, counting every category a grouping chose "
                 "from; default 0.05; 1: no test)"},
    {"min-share", 1, "train, cv: least share of rows in a bin (default 0.05)"},
    {"max-bins", 1, "train, cv: most bins of a feature besides missing (default 8)"},
    {"prebins", 1, "train, cv: quantile bins of a number before merging (default 20)"},
    {"special", 1, "train, cv: numeric codes that are not amounts, each its own bin, e.g. 999,-1 "
                   "(bank-marketing: 999, pdays' never contacted)"},
    {"trend", 1, "train, cv: auto, ascending, descending or none (default auto)"},
    {"chi-merge", 1, "train, cv: neighbouring bins merge while their chi-square is below this "
                     "(default 0: every split the other rules allow; 3.841: merge bins not different "
                     "at 95 %)"},
    {"base-points", 1, "train, cv: the score at the base odds (default 600)"},
    {"base-odds", 1, "train, cv: goods per bad at the base points (default 19)"},
    {"pdo", 1, "train, cv: points to double the odds (default 50)"},
    {"bands", 1, "train, cv: upper default-probability % of bands A-D (default 2,5,10,20)"},
    {"out", 1, "train: the scorecard file (default DATA/models/scorecard.json)"},
    {"model", 1, "apply, report: the scorecard file (default DATA/models/scorecard.json)"},
    {"baseline", 1, "report: an earlier population (same layout) to measure stability against"},
    {"html", 1, "report: also write the page `report scorecard --html` writes"},
    {"challenger", 0, "train: also gradient-boosted trees on the same columns, kept beside the "
                      "scorecard (monotone where its bins and the data's own bad rate agree, missing "
                      "values as they are); apply: score with them, reasons from their contributions; "
                      "report, cv: the two side by side"},
    {"challenger-model", 1, "apply, report: the challenger's file (default: beside --model, or the "
                            "store's)"},
    {"trees", 1, "train, cv with --challenger: boosting rounds (default 300)"},
    {"depth", 1, "train, cv with --challenger: most depth of a tree (default 4)"},
    {"eta", 1, "train, cv with --challenger: learning rate (default 0.05)"},
    {"no-monotone", 0, "train, cv with --challenger: leave the trees unconstrained"},
    {"threads", 1, "with --challenger: threads of the trees (default 1; 0: every core)"},
    {"tune", 0, "train, cv with --challenger: first choose the trees' depth and number on 3 "
                "stratified folds of the training rows (cv: of each fold's training rows)"},
    {"folds", 1, "cv: folds (default 5); train with --challenger: also measure both models on this "
                 "many folds held out of the training rows, kept with the challenger"},
    {"seed", 1, "cv, train with --challenger: shuffling and sampling seed (default 0)"},
    {"folds-out", 1, "cv: write each row's fold here (CSV row,fold) for a peer to use"},
    {"rejects", 1, "write every rejected record (line, reason, message) to this CSV file"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

typedef struct {
    FILE *out;
    uint64_t shown;
} table_rejects_t;

static void on_table_reject(const char *source, uint64_t line, tl_reason_t reason,
                            const char *msg, void *arg) {
    table_rejects_t *r = arg;
    note_reject(&r->shown, 20, source, line, reason, msg);
    if (r->out) fprintf(r->out, "%llu,%s,\"%s\"\n", (unsigned long long)line, tl_reason_name(reason), msg);
}

/* Reads --csv with --preset into t, the rejects told and counted; or with
 * --users the store's profiles. */
static int score_table(const command_t *c, const args_t *a, tl_table_t *t, tl_errbuf_t *eb) {
    const char *csv = opt(c, a, "csv"), *rj = opt(c, a, "rejects");
    if (opt(c, a, "users")) {
        if (csv) return die_usage(c, "give --csv FILE or --users, not both");
        tl_store_t *st;
        tl_profiles_t *p = NULL;
        int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
        tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
        if (!rc && !users) rc = TL_ENOMEM;
        if (!rc) rc = tl_profile_load(st, &p, eb);
        if (!rc) rc = tl_score_users_table(p, users, 0, UINT32_MAX, t);
        tl_profile_free(p);
        tl_store_close(st);
        return rc;
    }
    if (!csv) return die_usage(c, "give --csv FILE or --users");
    tl_table_opts_t to = {opt(c, a, "preset"), NULL, 0};
    table_rejects_t r = {NULL, 0};
    if (rj && !(r.out = fopen(rj, "w"))) {
        tl_errbuf_set(eb, "%s: cannot write the rejects", rj);
        return TL_EIO;
    }
    if (r.out) fputs("line,reason,message\n", r.out);
    tl_source_t src = tl_source_file(csv);
    int rc = tl_table_read(&src, &to, t, on_table_reject, &r, eb);
    if (r.out && fclose(r.out) != 0 && !rc) rc = TL_EIO;
    if (!rc && t->rejected)
        note("tailor score: %s: %llu of %llu records rejected%s", csv,
                (unsigned long long)t->rejected, (unsigned long long)t->read,
                rj ? "" : " (see --rejects FILE)");
    return rc;
}

/* `propensity` is the scorecard machinery aimed at a good event (a product
 * taken up): finer bins in any shape, every feature that beats noise, any sign. */
static int is_propensity(const command_t *c) { return strcmp(c->name, "propensity") == 0; }

static int score_opts(const command_t *c, const args_t *a, tl_score_opts_t *o) {
    tl_score_opts_default(o);
    if (is_propensity(c)) {
        o->bin.trend = TL_TREND_NONE, o->bin.prebins = 50, o->bin.max_bins = 20;
        o->bin.min_share = 0.02, o->min_iv = 0, o->any_sign = 1;
    }
    const char *preset = opt(c, a, "preset");
    int gc = preset && strcmp(preset, "german-credit") == 0,
        bank = preset && strcmp(preset, "bank-marketing") == 0;
    int users = opt(c, a, "users") != NULL;
    o->target = opt(c, a, "target") ? opt(c, a, "target")
                : gc                ? "class"
                : bank              ? "y"
                : users             ? "defaulted"
                                    : NULL;
    o->bad_value = opt(c, a, "bad-value") ? opt(c, a, "bad-value")
                   : gc                     ? "2"
                   : bank || users          ? "yes"
                                            : NULL;
    o->id = opt(c, a, "id") ? opt(c, a, "id") : users ? "user" : NULL;
    /* the store's repayment counts record what happened after the credit was
     * granted, defaults included: they would leak the outcome */
    o->exclude = opt(c, a, "exclude") ? opt(c, a, "exclude")
                 : users              ? "repayments,repay_amount"
                 : bank && is_propensity(c) ? "duration" /* known only after the call */
                                      : NULL;
    o->categorical = opt(c, a, "categorical"), o->numeric = opt(c, a, "numeric");
    /* every column is a candidate of a propensity model: those that would
     * leak the outcome are refused rather than kept without a word */
    o->guard = is_propensity(c), o->allow = opt(c, a, "allow");
    uint64_t mb, pb;
    int rc;
    if ((rc = opt_f64(c, a, "min-iv", o->min_iv, 0, 10, &o->min_iv)) ||
        (rc = opt_f64(c, a, "alpha", o->alpha, 1e-12, 1, &o->alpha)) ||
        (rc = opt_f64(c, a, "min-share", o->bin.min_share, 0, 0.5, &o->bin.min_share)) ||
        (rc = opt_f64(c, a, "chi-merge", o->bin.chi_merge, 0, 1e6, &o->bin.chi_merge)) ||
        (rc = opt_u64(c, a, "max-bins", o->bin.max_bins, 2, 100, &mb)) ||
        (rc = opt_u64(c, a, "prebins", o->bin.prebins, 2, 1000, &pb)) ||
        (rc = opt_f64(c, a, "base-points", o->base_points, -1e6, 1e6, &o->base_points)) ||
        (rc = opt_f64(c, a, "base-odds", o->base_odds, 1e-6, 1e6, &o->base_odds)) ||
        (rc = opt_f64(c, a, "pdo", o->pdo, 1e-3, 1e6, &o->pdo)))
        return rc;
    o->bin.max_bins = (uint32_t)mb, o->bin.prebins = (uint32_t)pb;
    static double special[32];
    const char *sp = opt(c, a, "special") ? opt(c, a, "special") : bank ? "999" : NULL;
    for (o->bin.nspecial = 0; sp && *sp;) {
        size_t len = strcspn(sp, ",");
        if (o->bin.nspecial == 32 || tl_parse_f64(sp, len, &special[o->bin.nspecial]))
            return die_usage(c, "--special: give up to 32 numbers, comma-separated");
        o->bin.nspecial++, sp += len + (sp[len] == ',');
    }
    o->bin.special = special;
    if (!o->target) return die_usage(c, "give --target COLUMN");
    const char *tr = opt(c, a, "trend");
    if (tr) {
        static const char *const names[] = {"auto", "ascending", "descending", "none"};
        int k = 0;
        while (k < 4 && strcmp(tr, names[k]) != 0) k++;
        if (k == 4) return die_usage(c, "--trend %s: use auto, ascending, descending or none", tr);
        o->bin.trend = (tl_trend_t)k;
    }
    const char *bands = opt(c, a, "bands");
    for (int k = 0; bands && k < TL_NBANDS - 1; k++) {
        size_t len = strcspn(bands, ",");
        double v;
        if (tl_parse_f64(bands, len, &v) || !(v > 0 && v < 100) ||
            (k && v / 100 <= o->band_pd[k - 1]) || (k < TL_NBANDS - 2) != (bands[len] == ','))
            return die_usage(c, "--bands: give %d rising default percentages, e.g. 2,5,10,20",
                             TL_NBANDS - 1);
        o->band_pd[k] = v / 100;
        bands += len + 1;
    }
    return 0;
}

/* The store's name of the command's scorecard. */
static const char *card_name(const command_t *c) { return is_propensity(c) ? "propensity" : "scorecard"; }

/* The challenger's options from the command line. */
static int boost_opts(const command_t *c, const args_t *a, tl_boost_opts_t *o) {
    tl_boost_opts_default(o);
    uint64_t trees, depth, threads;
    int rc;
    if ((rc = opt_u64(c, a, "trees", o->trees, 1, 100000, &trees)) ||
        (rc = opt_u64(c, a, "depth", o->depth, 1, 20, &depth)) ||
        (rc = opt_u64(c, a, "threads", o->threads, 0, 1024, &threads)) ||
        (rc = opt_f64(c, a, "eta", o->eta, 1e-4, 1, &o->eta)))
        return rc;
    o->trees = (uint32_t)trees, o->depth = (uint32_t)depth, o->threads = (uint32_t)threads;
    o->monotone = !opt(c, a, "no-monotone");
    static const char *const only[] = {"trees", "depth", "eta", "no-monotone", "threads", "tune", "challenger-model"};
    for (size_t k = 0; k < sizeof only / sizeof *only && !opt(c, a, "challenger"); k++)
        if (opt(c, a, only[k])) return die_usage(c, "--%s goes with --challenger", only[k]);
    return 0;
}

/* The challenger's file beside the scorecard's file: card.json gives
 * card.challenger.json. */
static void challenger_path(const char *card, char *out, size_t cap) {
    size_t n = strlen(card);
    if (n > 5 && strcmp(card + n - 5, ".json") == 0) n -= 5;
    snprintf(out, cap, "%.*s.challenger.json", (int)n, card);
}

/* Keeps sc as the store's scorecard of the command, where it went in where
 * (for the message); a data directory without a store yet gets one. */
static int put_scorecard(const command_t *c, const args_t *a, const tl_scorecard_t *sc, const tl_boost_t *b,
                         char *where, char *bwhere, size_t cap, tl_errbuf_t *eb) {
    tl_store_t *st;
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
    if (rc == TL_ENOENT) eb->msg[0] = 0, rc = cli_store_open(data_dir(a), TL_STORE_CREATE, &st, eb);
    if (!rc) rc = tl_scorecard_put(st, card_name(c), sc, eb);
    if (!rc && b) rc = tl_boost_put(st, card_name(c), b, eb);
    char blob[64], bname[64];
    snprintf(bname, sizeof bname, "%s-challenger", card_name(c));
    if (!rc) tl_store_blob_name(TL_BLOB_SCORECARD, card_name(c), blob, sizeof blob);
    if (!rc) rc = tl_store_blob_where(st, blob, where, cap, eb);
    if (!rc && b) tl_store_blob_name(TL_BLOB_SCORECARD, bname, blob, sizeof blob);
    if (!rc && b) rc = tl_store_blob_where(st, blob, bwhere, cap, eb);
    tl_store_close(st);
    return rc;
}

/* The challenger's figures beside the scorecard's, JSON or printed. */
static void challenger_train_out(const tl_boost_t *b, const tl_scorecard_stats_t *card, const char *where, double secs,
                                 double held_secs, cJSON *j) {
    tl_scorecard_stats_t bs;
    tl_boost_stats(b, &bs);
    tl_boost_held_out_t held;
    tl_boost_held_out(b, &held);
    const tl_boost_opts_t *o = tl_boost_opts(b);
    uint32_t mono = tl_boost_nconstrained(b);
    if (j) {
        cJSON *x = cJSON_AddObjectToObject(j, "challenger");
        cJSON_AddStringToObject(x, "model", where);
        cJSON_AddNumberToObject(x, "trees", o->trees);
        cJSON_AddNumberToObject(x, "depth", o->depth);
        cJSON_AddNumberToObject(x, "eta", o->eta);
        cJSON_AddNumberToObject(x, "columns", tl_boost_ncolumns(b));
        cJSON_AddNumberToObject(x, "monotone_columns", mono);
        cJSON_AddNumberToObject(x, "auc", bs.auc);
        cJSON_AddNumberToObject(x, "ks", bs.ks);
        cJSON_AddNumberToObject(x, "seconds", secs);
        cJSON *ho = tl_boost_held_out_json(b);
        if (ho) {
            cJSON_AddNumberToObject(ho, "seconds", held_secs);
            cJSON_AddItemToObject(x, "held_out", ho);
        }
        return;
    }
    printf("challenger: gradient-boosted trees (%u of depth %u, learning rate %g) on %u columns, %u "
           "constrained to the scorecard's trend: %s\n",
           o->trees, o->depth, o->eta, tl_boost_ncolumns(b), mono, where);
    printf("training AUC %.4f  KS %.4f (the scorecard's %.4f, %.4f), in %.2f s\n", bs.auc, bs.ks, card->auc,
           card->ks, secs);
    if (held.folds)
        printf("held out, %u folds of these rows (seed %llu): AUC %.4f, the scorecard's %.4f, in %.2f s\n",
               held.folds, (unsigned long long)held.seed, held.boost_auc, held.card_auc, held_secs);
    else
        printf("compare on rows it has not seen with --folds 5, `score cv --challenger` or `score report "
               "--challenger`\n");
}

static int score_train(const command_t *c, const args_t *a) {
    tl_score_opts_t o;
    tl_boost_opts_t bo;
    uint64_t folds, seed;
    int rc = score_opts(c, a, &o);
    if (rc || (rc = boost_opts(c, a, &bo)) ||
        (rc = opt_u64(c, a, "folds", 0, 2, TL_BOOST_MAX_FOLDS, &folds)) ||
        (rc = opt_u64(c, a, "seed", 0, 0, UINT32_MAX, &seed)))
        return rc;
    if (opt(c, a, "challenger-model")) return die_usage(c, "--challenger-model is for apply and report");
    if ((opt(c, a, "folds") || opt(c, a, "seed")) && !opt(c, a, "challenger"))
        return die_usage(c, "--%s goes with --challenger when training", opt(c, a, "folds") ? "folds" : "seed");
    bo.seed = seed;
    const tl_boost_opts_t base = bo; /* before tuning: each held-out fold tunes again from it */
    tl_errbuf_t eb = {{0}};
    tl_table_t t;
    if ((rc = score_table(c, a, &t, &eb))) return rc > 0 ? rc : fail_err("score", rc, &eb);
    tl_scorecard_t *sc = NULL;
    const char *out = opt(c, a, "out");
    char path[4300];
    snprintf(path, sizeof path, "%s", out ? out : "");
    int64_t t0 = tl_time_mono_ms();
    rc = tl_scorecard_train(&t, &o, &sc, &eb);
    int64_t t1 = tl_time_mono_ms(), t2 = t1;
    tl_boost_t *b = NULL;
    char bpath[4300] = "";
    double tuned_auc = NAN;
    if (!rc && opt(c, a, "tune")) rc = tl_boost_tune(&t, &o, &bo, NULL, 3, 0, &bo, &tuned_auc, &eb);
    int64_t held_ms = 0;
    if (!rc && opt(c, a, "challenger")) {
        rc = tl_boost_train(&t, &o, sc, &bo, &b, &eb);
        t2 = tl_time_mono_ms();
        if (!rc && folds) rc = tl_boost_hold_out(b, &t, &o, &base, opt(c, a, "tune") != NULL, (uint32_t)folds, &eb);
        held_ms = tl_time_mono_ms() - t2;
        if (out) challenger_path(out, bpath, sizeof bpath);
        if (!rc && out) rc = tl_boost_save(b, bpath, &eb);
    }
    if (!rc) rc = out ? tl_scorecard_save(sc, out, &eb) : put_scorecard(c, a, sc, b, path, bpath, sizeof path, &eb);
    if (!rc) {
        uint32_t nf = tl_scorecard_nfeatures(sc);
        cJSON *j = cJSON_CreateObject(), *fs = cJSON_AddArrayToObject(j, "features");
        cJSON_AddStringToObject(j, "scorecard", path);
        cJSON_AddNumberToObject(j, "read", (double)t.read);
        cJSON_AddNumberToObject(j, "rejected", (double)t.rejected);
        for (uint32_t k = 0; k < nf; k++) {
            tl_score_feature_t f;
            tl_scorecard_feature(sc, k, &f);
            cJSON *o2 = cJSON_CreateObject();
            cJSON_AddStringToObject(o2, "name", f.name);
            cJSON_AddStringToObject(o2, "type", f.categorical ? "categorical" : "numeric");
            cJSON_AddNumberToObject(o2, "bins", f.bin->nbins);
            cJSON_AddNumberToObject(o2, "iv", f.iv);
            if (isfinite(f.p)) cJSON_AddNumberToObject(o2, "p", f.p);
            else cJSON_AddNullToObject(o2, "p");
            cJSON_AddBoolToObject(o2, "kept", f.kept);
            if (f.iv > 0.5) cJSON_AddBoolToObject(o2, "suspect", 1);
            cJSON_AddItemToArray(fs, o2);
        }
        tl_scorecard_stats_t st;
        tl_scorecard_stats(sc, &st);
        cJSON_AddNumberToObject(j, "rows", st.rows);
        cJSON_AddNumberToObject(j, "bads", st.bads);
        cJSON_AddNumberToObject(j, "without_outcome", (double)(t.read - t.rejected) - st.rows);
        cJSON_AddNumberToObject(j, "auc", st.auc);
        cJSON_AddNumberToObject(j, "ks", st.ks);
        cJSON_AddNumberToObject(j, "gini", 2 * st.auc - 1);
        cJSON_AddNumberToObject(j, "seconds", (double)(t1 - t0) / 1000);
        if (b && opt(c, a, "json")) challenger_train_out(b, &st, bpath, (double)(t2 - t1) / 1000, (double)held_ms / 1000, j);
        if (b && opt(c, a, "json") && !isnan(tuned_auc))
            cJSON_AddNumberToObject(cJSON_GetObjectItem(j, "challenger"), "tuned_auc", tuned_auc);
        if (opt(c, a, "json")) {
            print_json(j);
        } else {
            printf("%s on %.0f rows (%.0f %s) of %llu read: %llu rejected, %.0f without an "
                   "outcome: %s\n", is_propensity(c) ? "propensity model" : "scorecard", st.rows,
                   st.bads, is_propensity(c) ? "took it up" : "bad", (unsigned long long)t.read,
                   (unsigned long long)t.rejected, (double)(t.read - t.rejected) - st.rows, path);
            printf("%-28s %-12s %5s %8s\n", "feature kept", "type", "bins", "IV");
            uint32_t out = 0;
            for (uint32_t k = 0; k < nf; k++) {
                tl_score_feature_t f;
                tl_scorecard_feature(sc, k, &f);
                if (!f.kept && !(f.iv > 0.5)) {
                    out++;
                    continue;
                }
                printf("%-28s %-12s %5u %8.4f%s%s\n", f.name, f.categorical ? "categorical" : "numeric",
                       f.bin->nbins, f.iv, f.kept ? "" : "  (left out)",
                       f.iv > 0.5 ? "  (IV above 0.5: too good to be true? check it is known "
                                    "before the outcome)" : "");
            }
            if (out)
                printf("%u more candidates left out (IV below %g, an association with the outcome "
                       "not significant at %g, one bin, or a coefficient of the wrong sign; --json lists "
                       "them)\n", out, o.min_iv, o.alpha);
            printf("training AUC %.4f  KS %.4f  Gini %.4f, in %.2f s\n", st.auc, st.ks,
                   2 * st.auc - 1, (double)(t1 - t0) / 1000);
            if (b && !isnan(tuned_auc))
                printf("challenger tuned on 3 stratified folds of these rows: depth %u, %u trees at "
                       "learning rate %g (mean AUC %.4f on the folds held out)\n",
                       bo.depth, bo.trees, bo.eta, tuned_auc);
            if (b) challenger_train_out(b, &st, bpath, (double)(t2 - t1) / 1000, (double)held_ms / 1000, NULL);
            cJSON_Delete(j);
        }
    }
    tl_scorecard_free(sc);
    tl_boost_free(b);
    tl_table_fini(&t);
    return rc ? fail_err("score", rc, &eb) : EXIT_OK;
}

static const char BAND_NAMES[TL_NBANDS + 1] = "ABCDE";

/* The scorecard of --model (default the store's, DATA/models/scorecard.json). */
static int load_scorecard(const command_t *c, const args_t *a, tl_scorecard_t **sc,
                          tl_errbuf_t *eb) {
    if (opt(c, a, "model")) return tl_scorecard_load(opt(c, a, "model"), sc, eb);
    tl_store_t *st;
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
    if (!rc) rc = tl_scorecard_get(st, card_name(c), sc, eb);
    tl_store_close(st);
    return rc;
}

/* The challenger of --challenger-model, else beside --model, else the
 * store's. */
static int load_challenger(const command_t *c, const args_t *a, tl_boost_t **b, tl_errbuf_t *eb) {
    char path[4400];
    if (opt(c, a, "challenger-model")) return tl_boost_load(opt(c, a, "challenger-model"), b, eb);
    if (opt(c, a, "model")) {
        challenger_path(opt(c, a, "model"), path, sizeof path);
        return tl_boost_load(path, b, eb);
    }
    tl_store_t *st;
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
    if (!rc) rc = tl_boost_get(st, card_name(c), b, eb);
    tl_store_close(st);
    return rc;
}

/* A reason's column: the scorecard's feature or the challenger's column. */
static const char *reason_name(const tl_scorecard_t *sc, const tl_boost_t *b, uint32_t k) {
    if (b) return tl_boost_column(b, k);
    tl_score_feature_t f;
    tl_scorecard_feature(sc, k, &f);
    return f.name;
}

static int score_apply(const command_t *c, const args_t *a) {
    tl_errbuf_t eb = {{0}};
    tl_scorecard_t *sc = NULL;
    tl_boost_t *b = NULL;
    tl_boost_opts_t bo;
    int rc = boost_opts(c, a, &bo);
    if (rc) return rc;
    rc = opt(c, a, "challenger") ? load_challenger(c, a, &b, &eb) : load_scorecard(c, a, &sc, &eb);
    if (rc) return fail_err("score", rc, &eb);
    tl_table_t t;
    if ((rc = score_table(c, a, &t, &eb))) {
        tl_scorecard_free(sc);
        tl_boost_free(b);
        return rc > 0 ? rc : fail_err("score", rc, &eb);
    }
    tl_score_t *res = malloc((size_t)(t.nrows ? t.nrows : 1) * sizeof *res);
    tl_scorer_t *s = NULL;
    if (!res) rc = TL_ENOMEM;
    else if (b) rc = tl_boost_score(b, &t, !is_propensity(c), res, NULL, &eb);
    else if (!(rc = tl_scorer_new(sc, &t, &s, &eb)))
        for (uint32_t r = 0; r < t.nrows; r++) tl_scorer_row(s, r, &res[r]);
    const char *idn = opt(c, a, "id") ? opt(c, a, "id") : opt(c, a, "users") ? "user" : NULL;
    uint32_t idc = idn ? tl_table_column(&t, idn) : TL_NONE;
    if (!rc && idn && idc == TL_NONE) {
        tl_errbuf_set(&eb, "--id %s: no such column", idn);
        rc = TL_EINVAL;
    }
    int json = opt(c, a, "json") != NULL;
    if (!rc && json) printf("[");
    for (uint32_t r = 0; !rc && r < t.nrows; r++) {
        const tl_score_t *one = &res[r];
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "%u", r + 1);
        const char *id = idc != TL_NONE ? tl_table_cell(&t, r, idc) : idbuf;
        if (is_propensity(c) && !json) {
            printf("%-12s p %.4f\n", id, one->pd);
        } else if (json) {
            cJSON *o = cJSON_CreateObject(), *rs = NULL;
            cJSON_AddStringToObject(o, "id", id);
            if (is_propensity(c)) { /* the chance of taking it up is all there is to say */
                cJSON_AddNumberToObject(o, "p", one->pd);
            } else {
                rs = cJSON_AddArrayToObject(o, "reasons");
                cJSON_AddNumberToObject(o, "score", one->score);
                cJSON_AddNumberToObject(o, "pd", one->pd);
                char band[2] = {BAND_NAMES[one->band], 0};
                cJSON_AddStringToObject(o, "band", band);
            }
            for (int k = 0; rs && k < TL_NREASONS && one->reasons[k] != TL_NONE; k++)
                cJSON_AddItemToArray(rs, cJSON_CreateString(reason_name(sc, b, one->reasons[k])));
            char *txt = cJSON_PrintUnformatted(o);
            printf("%s%s", r ? "," : "", txt ? txt : "{}");
            free(txt);
            cJSON_Delete(o);
        } else {
            printf("%-12s %6.0f  pd %.4f  band %c", id, one->score, one->pd, BAND_NAMES[one->band]);
            for (int k = 0; k < TL_NREASONS && one->reasons[k] != TL_NONE; k++)
                printf("%s%s", k ? ", " : "  reasons: ", reason_name(sc, b, one->reasons[k]));
            printf("\n");
        }
    }
    if (!rc && json) printf("]\n");
    free(res);
    tl_scorer_free(s);
    tl_table_fini(&t);
    tl_scorecard_free(sc);
    tl_boost_free(b);
    return rc ? fail_err("score", rc, &eb) : EXIT_OK;
}

static cJSON *bucket_json(const tl_score_bucket_t *b) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rows", b->rows);
    cJSON_AddNumberToObject(o, "bads", b->bads);
    cJSON_AddNumberToObject(o, "bad_rate", b->rows ? (double)b->bads / b->rows : 0);
    cJSON_AddNumberToObject(o, "mean_pd", b->pd);
    cJSON_AddNumberToObject(o, "score_min", b->lo);
    cJSON_AddNumberToObject(o, "score_max", b->hi);
    return o;
}

static void print_bucket(const char *label, const tl_score_bucket_t *b) {
    printf("%-8s %7u %6u %9.4f %8.4f %6.0f..%-6.0f\n", label, b->rows, b->bads,
           b->rows ? (double)b->bads / b->rows : 0, b->pd, b->lo, b->hi);
}

/* The population to check (--csv or --users) and, with --baseline, the
 * earlier one in the same layout. */
static int monitor_tables(const command_t *c, const args_t *a, tl_table_t *t, tl_table_t *base,
                          tl_errbuf_t *eb) {
    const char *bpath = opt(c, a, "baseline");
    int rc = score_table(c, a, t, eb);
    if (!rc && bpath) {
        tl_table_opts_t to = {opt(c, a, "preset"), NULL, 0};
        table_rejects_t r = {NULL, 0};
        tl_source_t src = tl_source_file(bpath);
        rc = tl_table_read(&src, &to, base, on_table_reject, &r, eb);
    }
    return rc;
}

static cJSON *validation_json(const tl_score_validation_t *v, double psi) {
    cJSON *j = cJSON_CreateObject(), *dec = cJSON_AddArrayToObject(j, "deciles");
    cJSON_AddNumberToObject(j, "auc", v->auc);
    cJSON_AddNumberToObject(j, "ks", v->ks);
    cJSON_AddNumberToObject(j, "gini", 2 * v->auc - 1);
    cJSON_AddNumberToObject(j, "brier", v->brier);
    if (!isnan(psi)) cJSON_AddNumberToObject(j, "score_psi", psi);
    for (int k = 0; k < 10; k++) cJSON_AddItemToArray(dec, bucket_json(&v->decile[k]));
    return j;
}

/* The scorecard and its challenger side by side, into j or printed. */
static void print_compare(const tl_score_compare_t *cc, cJSON *j) {
    if (j) {
        cJSON *x = cJSON_AddObjectToObject(j, "champion_challenger");
        cJSON_AddItemToObject(x, "scorecard", validation_json(&cc->card, cc->card_psi));
        cJSON_AddItemToObject(x, "challenger", validation_json(&cc->boost, cc->boost_psi));
        cJSON_AddNumberToObject(x, "same_band", cc->agree);
        return;
    }
    printf("\nchampion and challenger on these rows:\n%-12s %8s %8s %8s %8s %10s\n", "model", "AUC", "KS",
           "Gini", "Brier", "score PSI");
    const tl_score_validation_t *v[2] = {&cc->card, &cc->boost};
    double psi[2] = {cc->card_psi, cc->boost_psi};
    for (int m = 0; m < 2; m++) {
        printf("%-12s %8.4f %8.4f %8.4f %8.4f ", m ? "challenger" : "scorecard", v[m]->auc, v[m]->ks,
               2 * v[m]->auc - 1, v[m]->brier);
        if (isnan(psi[m])) printf("%10s\n", "n/a");
        else printf("%10.4f\n", psi[m]);
    }
    printf("calibration by the challenger's deciles (riskiest first): bad rate / mean PD\n  ");
    for (int k = 0; k < 10; k++) {
        const tl_score_bucket_t *d = &cc->boost.decile[k];
        printf("%s%.3f/%.3f", k ? "  " : "", d->rows ? (double)d->bads / d->rows : 0, d->pd);
    }
    printf("\n%.1f %% of rows in the same band under both; the scorecard stays the model of decisions "
           "that must be explained\n", 100 * cc->agree);
}

/* Validation on a table with outcomes, and stability against a baseline. */
static int score_report(const command_t *c, const args_t *a) {
    tl_errbuf_t eb = {{0}};
    tl_scorecard_t *sc = NULL;
    tl_boost_t *b = NULL;
    tl_boost_opts_t bo;
    int rc = boost_opts(c, a, &bo);
    if (rc) return rc;
    rc = load_scorecard(c, a, &sc, &eb);
    if (!rc && opt(c, a, "challenger")) rc = load_challenger(c, a, &b, &eb);
    if (rc) {
        tl_scorecard_free(sc);
        return fail_err("score", rc, &eb);
    }
    tl_table_t t = {0}, base = {0};
    const char *bpath = opt(c, a, "baseline");
    rc = monitor_tables(c, a, &t, &base, &eb);
    tl_score_validation_t v;
    uint32_t nf = tl_scorecard_nfeatures(sc);
    double spsi = NAN, *fpsi = malloc((nf ? nf : 1) * sizeof *fpsi);
    if (!rc && !fpsi) rc = TL_ENOMEM;
    if (!rc) rc = tl_scorecard_validate(sc, &t, &v, &eb);
    if (!rc && bpath) rc = tl_scorecard_psi(sc, &base, &t, &spsi, fpsi, &eb);
    tl_score_compare_t cc;
    if (!rc && b) rc = tl_score_compare(sc, b, &t, bpath ? &base : NULL, &cc, &eb);
    const char *html = opt(c, a, "html");
    if (!rc && html) rc = tl_scorecard_report_html(sc, b, &t, bpath ? &base : NULL, html, &eb);
    if (!rc && opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject(), *dec = cJSON_AddArrayToObject(j, "deciles"),
              *bands = cJSON_AddObjectToObject(j, "bands");
        cJSON_AddNumberToObject(j, "rows", v.rows);
        cJSON_AddNumberToObject(j, "bads", v.bads);
        cJSON_AddNumberToObject(j, "auc", v.auc);
        cJSON_AddNumberToObject(j, "ks", v.ks);
        cJSON_AddNumberToObject(j, "gini", 2 * v.auc - 1);
        for (int k = 0; k < 10; k++) cJSON_AddItemToArray(dec, bucket_json(&v.decile[k]));
        for (int k = 0; k < TL_NBANDS; k++) {
            char name[2] = {BAND_NAMES[k], 0};
            cJSON_AddItemToObject(bands, name, bucket_json(&v.band[k]));
        }
        if (bpath) {
            cJSON *p = cJSON_AddObjectToObject(j, "psi"), *pf = cJSON_AddObjectToObject(p, "features");
            cJSON_AddNumberToObject(p, "score", spsi);
            cJSON_AddStringToObject(p, "reading", tl_psi_reading(spsi));
            for (uint32_t q = 0; q < nf; q++) {
                tl_score_feature_t f;
                tl_scorecard_feature(sc, q, &f);
                if (f.kept) cJSON_AddNumberToObject(pf, f.name, fpsi[q]);
            }
        }
        if (b) print_compare(&cc, j);
        print_json(j);
    } else if (!rc) {
        printf("validation on %u rows with an outcome (%u bad): AUC %.4f  KS %.4f  Gini %.4f\n",
               v.rows, v.bads, v.auc, v.ks, 2 * v.auc - 1);
        printf("\n%-8s %7s %6s %9s %8s %s\n", "decile", "rows", "bads", "bad rate", "mean PD",
               "scores");
        for (int k = 0; k < 10; k++) {
            char label[8];
            snprintf(label, sizeof label, "%d", k + 1);
            print_bucket(label, &v.decile[k]);
        }
        printf("\n%-8s %7s %6s %9s %8s %s\n", "band", "rows", "bads", "bad rate", "mean PD", "scores");
        for (int k = 0; k < TL_NBANDS; k++) {
            char label[2] = {BAND_NAMES[k], 0};
            print_bucket(label, &v.band[k]);
        }
        if (bpath) {
            printf("\nstability against %s: score PSI %.4f (%s)\n", bpath, spsi, tl_psi_reading(spsi));
            for (uint32_t q = 0; q < nf; q++) {
                tl_score_feature_t f;
                tl_scorecard_feature(sc, q, &f);
                if (f.kept) printf("  %-28s %.4f (%s)\n", f.name, fpsi[q], tl_psi_reading(fpsi[q]));
            }
        }
        if (b) print_compare(&cc, NULL);
        if (html) printf("\nwrote %s\n", html);
    }
    free(fpsi);
    tl_table_fini(&t);
    tl_table_fini(&base);
    tl_scorecard_free(sc);
    tl_boost_free(b);
    return rc > 0 ? rc : rc ? fail_err("score", rc, &eb) : EXIT_OK;
}

static int score_cv(const command_t *c, const args_t *a) {
    tl_score_opts_t o;
    tl_boost_opts_t bo;
    int rc = score_opts(c, a, &o);
    uint64_t folds, seed;
    if (rc || (rc = boost_opts(c, a, &bo)) || (rc = opt_u64(c, a, "folds", 5, 2, 100, &folds)) ||
        (rc = opt_u64(c, a, "seed", 0, 0, UINT32_MAX, &seed)))
        return rc;
    int challenger = opt(c, a, "challenger") != NULL;
    if (opt(c, a, "challenger-model")) return die_usage(c, "--challenger-model is for apply and report");
    bo.seed = seed;
    tl_errbuf_t eb = {{0}};
    tl_table_t t;
    if ((rc = score_table(c, a, &t, &eb))) return rc > 0 ? rc : fail_err("score", rc, &eb);
    double auc[100], bauc[100];
    int32_t *fold = malloc((size_t)(t.nrows ? t.nrows : 1) * sizeof *fold);
    if (!fold) rc = TL_ENOMEM;
    int64_t t0 = tl_time_mono_ms();
    tl_boost_opts_t chosen[100];
    int tune = opt(c, a, "tune") != NULL;
    if (!rc && challenger && tune)
        rc = tl_boost_cv_tuned(&t, &o, &bo, (uint32_t)folds, seed, auc, bauc, chosen, &eb);
    else if (!rc && challenger)
        rc = tl_boost_cv(&t, &o, &bo, (uint32_t)folds, seed, auc, bauc, &eb);
    if (!rc) rc = challenger ? tl_score_folds(&t, &o, (uint32_t)folds, seed, fold)
                             : tl_scorecard_cv(&t, &o, (uint32_t)folds, seed, auc, fold, &eb);
    int64_t t1 = tl_time_mono_ms();
    const char *fo = opt(c, a, "folds-out");
    if (!rc && fo) {
        FILE *f = fopen(fo, "w");
        if (!f) {
            tl_errbuf_set(&eb, "%s: cannot write the folds", fo);
            rc = TL_EIO;
        } else {
            fputs("row,fold\n", f);
            for (uint32_t r = 0; r < t.nrows; r++) fprintf(f, "%u,%d\n", r, fold[r]);
            if (fclose(f) != 0) rc = TL_EIO;
        }
    }
    if (!rc) {
        double mean = 0, bmean = 0;
        for (uint64_t k = 0; k < folds; k++) mean += auc[k] / (double)folds, bmean += bauc[k] / (double)folds;
        if (opt(c, a, "json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "folds", (double)folds);
            cJSON_AddNumberToObject(j, "seed", (double)seed);
            cJSON_AddItemToObject(j, "auc_folds", cJSON_CreateDoubleArray(auc, (int)folds));
            cJSON_AddNumberToObject(j, "auc", mean);
            if (challenger) {
                cJSON *x = cJSON_AddObjectToObject(j, "challenger");
                cJSON_AddItemToObject(x, "auc_folds", cJSON_CreateDoubleArray(bauc, (int)folds));
                cJSON_AddNumberToObject(x, "auc", bmean);
                cJSON_AddNumberToObject(x, "trees", bo.trees);
                cJSON_AddNumberToObject(x, "depth", bo.depth);
                cJSON_AddNumberToObject(x, "eta", bo.eta);
                cJSON_AddBoolToObject(x, "monotone", bo.monotone);
                if (tune) {
                    cJSON *arr = cJSON_AddArrayToObject(x, "tuned");
                    for (uint64_t k = 0; k < folds; k++) {
                        cJSON *f = cJSON_CreateObject();
                        cJSON_AddNumberToObject(f, "depth", chosen[k].depth);
                        cJSON_AddNumberToObject(f, "trees", chosen[k].trees);
                        cJSON_AddNumberToObject(f, "eta", chosen[k].eta);
                        cJSON_AddItemToArray(arr, f);
                    }
                }
            }
            cJSON_AddNumberToObject(j, "rows", t.nrows);
            cJSON_AddNumberToObject(j, "rejected", (double)t.rejected);
            cJSON_AddNumberToObject(j, "seconds", (double)(t1 - t0) / 1000);
            print_json(j);
        } else {
            printf("%llu-fold stratified cross-validation (seed %llu) on %u rows:\n",
                   (unsigned long long)folds, (unsigned long long)seed, t.nrows);
            for (uint64_t k = 0; k < folds; k++) {
                printf("  fold %llu: AUC %.4f", (unsigned long long)k + 1, auc[k]);
                if (challenger) printf("  challenger %.4f", bauc[k]);
                if (challenger && tune)
                    printf(" (tuned on its training rows: depth %u, %u trees)", chosen[k].depth, chosen[k].trees);
                printf("\n");
            }
            printf("mean AUC %.4f (Gini %.4f)", mean, 2 * mean - 1);
            if (challenger) printf("; the challenger's %.4f (Gini %.4f)", bmean, 2 * bmean - 1);
            printf(", in %.2f s\n", (double)(t1 - t0) / 1000);
        }
    }
    free(fold);
    tl_table_fini(&t);
    return rc ? fail_err("score", rc, &eb) : EXIT_OK;
}

/* `score` and `propensity`: the same subcommands, told apart by c's name. */
int cmd_score(const command_t *c, const args_t *a) {
    if (a->npos != 1) return die_usage(c, "give train, apply, report or cv");
    if (strcmp(a->pos[0], "train") == 0) return score_train(c, a);
    if (strcmp(a->pos[0], "apply") == 0) return score_apply(c, a);
    if (strcmp(a->pos[0], "cv") == 0) return score_cv(c, a);
    if (strcmp(a->pos[0], "report") == 0) return score_report(c, a);
    return die_usage(c, "%s: give train, apply, report or cv", a->pos[0]);
}

/* ---- offers ------------------------------------------------------------------------- */

const optspec_t OFFERS_OPTS[] = {
    {"scene", 1, "home (default), purchase, travel, promotion or idle: what the policy's scene "
                 "rules look for"},
    {"category", 1, "the scene's category, e.g. electronics or travel (scene_category)"},
    {"amount", 1, "the scene's amount, e.g. the basket just bought (scene_amount)"},
    {"n", 1, "how many offers (default 3)"},
    {"policy", 1, "the lending policy file (default: the built-in one, see --print-policy)"},
    {"print-policy", 0, "print the built-in policy and stop"},
    {"score", 1, "the scorecard for bands and PD (default DATA/models/scorecard.json)"},
    {"explain", 0, "also list the blocked offers with the rule, and the ineligible ones"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

int cmd_offers(const command_t *c, const args_t *a) {
    int rc;
    if (opt(c, a, "print-policy")) {
        fputs(TL_OFFERS_DEFAULT_POLICY, stdout);
        return EXIT_OK;
    }
    if (a->npos != 1) return die_usage(c, "give one USER");
    uint64_t n;
    tl_offer_scene_t scene = {opt(c, a, "category"), NAN};
    if ((rc = opt_u64(c, a, "n", 3, 1, 1000, &n)) ||
        (rc = opt_f64(c, a, "amount", NAN, 0, 1e12, &scene.amount)))
        return rc;
    const char *sname = opt(c, a, "scene") ? opt(c, a, "scene") : "home";
    tl_errbuf_t eb = {{0}};
    char *policy = NULL;
    if (opt(c, a, "policy") && (rc = tl_read_file(opt(c, a, "policy"), &policy, NULL))) {
        tl_errbuf_set(&eb, "%s: cannot read the policy", opt(c, a, "policy"));
        return fail_err("offers", rc, &eb);
    }
    tl_store_t *st = NULL;
    tl_profiles_t *p = NULL;
    tl_scorecard_t *sc = NULL;
    tl_offers_t *o = NULL;
    tl_offer_t *f = NULL;
    rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, &eb);
    uint32_t u = users ? tl_dict_find(users, a->pos[0], strlen(a->pos[0])) : TL_NONE;
    if (!rc && u == TL_NONE) {
        tl_errbuf_set(&eb, "no user \"%s\" in %s", a->pos[0], data_dir(a));
        rc = TL_ENOENT;
    }
    if (!rc) rc = tl_profile_load(st, &p, &eb);
    const char *card = opt(c, a, "score");
    if (!rc && (card ? tl_scorecard_load(card, &sc, &eb) : tl_scorecard_get(st, "scorecard", &sc, &eb))) {
        char where[4300];
        if (card) rc = TL_ENOENT;
        else if (!tl_store_blob_where(st, "scorecards/scorecard", where, sizeof where, &eb))
            fprintf(stderr, "tailor offers: no scorecard (%s): no one has a credit band, so "
                            "credit offers are blocked; train one with `tailor score train --users`\n",
                    where), eb.msg[0] = 0;
    }
    if (!rc) rc = tl_offers_policy(st, p, policy, &o, &eb);
    uint32_t total = 0;
    if (!rc && !(f = calloc(tl_offers_nproducts(o) + 1, sizeof *f))) rc = TL_ENOMEM;
    if (!rc) rc = tl_offers_user(o, st, p, sc, u, sname, &scene, f, &total, &eb);
    if (!rc) {
        cJSON *j = tl_offers_json(a->pos[0], sname, f, total, (uint32_t)n, opt(c, a, "explain") != NULL),
              *arr = cJSON_GetObjectItem(j, "offers"), *ex = cJSON_GetObjectItem(j, "not_offered");
        if (opt(c, a, "json")) {
            print_json(j);
        } else {
            printf("offers for %s (scene %s):\n", a->pos[0], sname);
            cJSON *it;
            int r = 1;
            cJSON_ArrayForEach(it, arr) {
                printf("%2d. %s  %s  (value %.2f%s)\n    %s\n", r++,
                       cJSON_GetObjectItem(it, "product")->valuestring,
                       cJSON_GetObjectItem(it, "name")->valuestring,
                       cJSON_GetObjectItem(it, "expected_value")->valuedouble,
                       cJSON_IsTrue(cJSON_GetObjectItem(it, "scene")) ? ", brought forward by the scene" : "",
                       cJSON_GetObjectItem(it, "disclosure")->valuestring);
                cJSON *in = cJSON_GetObjectItem(it, "interest_on_amount");
                if (in && in->valuedouble > 0)
                    printf("    APR %.1f %%, %.0f months: about %.0f in interest on %.0f borrowed\n",
                           100 * cJSON_GetObjectItem(it, "apr")->valuedouble,
                           cJSON_GetObjectItem(it, "term_months")->valuedouble, in->valuedouble,
                           cJSON_GetObjectItem(it, "amount")->valuedouble);
            }
            if (r == 1) printf("  none\n");
            if (ex) {
                printf("not offered:\n");
                cJSON_ArrayForEach(it, ex) {
                    cJSON *b = cJSON_GetObjectItem(it, "blocked_by"), *ne = cJSON_GetObjectItem(it, "not_eligible"),
                          *lo = cJSON_GetObjectItem(it, "losing");
                    printf("  %s  %s: %s", cJSON_GetObjectItem(it, "product")->valuestring,
                           cJSON_GetObjectItem(it, "name")->valuestring,
                           b ? "blocked: " : ne ? "not eligible: " : "not made: ");
                    if (b) {
                        cJSON *r;
                        int first = 1;
                        cJSON_ArrayForEach(r, b) printf("%s%s", first ? "" : "; ", r->valuestring), first = 0;
                        printf("\n");
                    } else {
                        printf("%s\n", ne ? ne->valuestring : lo->valuestring);
                    }
                }
            }
            cJSON_Delete(j);
        }
    }
    free(f);
    tl_offers_free(o);
    tl_scorecard_free(sc);
    tl_profile_free(p);
    tl_store_close(st);
    free(policy);
    return rc ? fail_err("offers", rc, &eb) : EXIT_OK;
}

static int report_scorecard(const command_t *c, const args_t *a, const char *html) {
    tl_errbuf_t eb = {{0}};
    tl_scorecard_t *sc = NULL;
    tl_boost_t *b = NULL;
    int rc = load_scorecard(c, a, &sc, &eb);
    if (!rc && opt(c, a, "challenger")) rc = load_challenger(c, a, &b, &eb);
    if (rc) {
        tl_scorecard_free(sc);
        return fail_err("report", rc, &eb);
    }
    tl_table_t t = {0}, base = {0};
    const char *bpath = opt(c, a, "baseline");
    rc = monitor_tables(c, a, &t, &base, &eb);
    if (!rc) rc = tl_scorecard_report_html(sc, b, &t, bpath ? &base : NULL, html, &eb);
    tl_table_fini(&t);
    tl_table_fini(&base);
    tl_scorecard_free(sc);
    tl_boost_free(b);
    if (rc > 0) return rc;
    if (rc) return fail_err("report", rc, &eb);
    printf("wrote %s\n", html);
    return EXIT_OK;
}

int cmd_report(const command_t *c, const args_t *a) {
    int rc;
    const char *html = opt(c, a, "html");
    if (a->npos == 2 && strcmp(a->pos[0], "campaign") == 0) return report_campaign(c, a, a->pos[1]);
    if (a->npos != 1 || (strcmp(a->pos[0], "profiles") != 0 && strcmp(a->pos[0], "scorecard") != 0) ||
        !html)
        return die_usage(c, "say profiles --html FILE, scorecard --html FILE or campaign ID");
    if (strcmp(a->pos[0], "scorecard") == 0) return report_scorecard(c, a, html);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    tl_profiles_t *p = NULL;
    rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_profile_load(st, &p, &eb);
    if (!rc) rc = tl_segment_report_html(st, p, html, &eb);
    tl_profile_free(p);
    tl_store_close(st);
    if (rc) return fail_err("report", rc, &eb);
    printf("wrote %s\n", html);
    return EXIT_OK;
}
