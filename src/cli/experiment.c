/* experiment.c -- the experiment commands: `report campaign` (the
 * measured effect of a campaign's arms against its hold-out, with the Qini
 * curve of its uplift model) and `uplift train|report|apply` (models of
 * who is moved by a message, kept in the store as uplift/CAMPAIGN).
 * Thin: the statistics are src/experiment's; this file gathers the rows
 * they need from the profiles or a table, and prints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "cli.h"
#include "experiment/experiment.h"

/* ---- uplift ------------------------------------------------------------------------------- */

const optspec_t UPLIFT_OPTS[] = {
    {"campaign", 1, "the experiment: a campaign's exposures and outcomes, users described by their profiles"},
    {"csv", 1, "the experiment as a table instead: one row a unit, with --treatment and --outcome columns"},
    {"treatment", 1, "csv: the treatment column (1 treated, 0 control)"},
    {"id", 1, "csv: a column naming each unit, never a feature (default: the row number)"},
    {"allow", 1, "csv, train: columns to use although they look like an id, a function of the "
                 "outcome or recorded after treatment (refused otherwise), comma-separated"},
    {"outcome", 1, "csv: the outcome column (1 converted, 0 not)"},
    {"method", 1, "train: two-model (default), class (class transformation) or trees (gradient-"
                  "boosted trees from the better of the two, chosen on folds of the training units)"},
    {"features", 1, "the features, comma-separated (default: a set of profile columns; csv: every other "
                     "column, text expanded into COL=LEVEL indicators)"},
    {"model", 1, "the model file (default DATA/models/uplift-CAMPAIGN.json)"},
    {"test-share", 1, "train: share of units held out to measure the model (default 0.3)"},
    {"top", 1, "apply: target this percentage with the highest uplift (default 20)"},
    {"value", 1, "apply: value of one conversion (default 100)"},
    {"cost", 1, "apply: cost of one message (default 0.05)"},
    {"margin", 1, "apply: share of the value that is profit (default the campaign's, else 0.3)"},
    {"effects", 1, "report: true effects per user (CSV user,effect, from `gen respond --effects`)"},
    {"out", 1, "apply: write every user's uplift here (CSV user,uplift; csv: id or row,uplift)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

static const char *const UPLIFT_FEATURES =
    "age,orders_90d,monetary_90d,days_since_active,price_sensitivity,browse_to_buy,coupon_share,"
    "promo_share,active_evening,cart_abandon_rate,events";

/* The experiment's rows: unit ids, treatment, outcome and features. */
typedef struct {
    uint32_t n, p;
    char **id;               /* borrowed from the store's dictionary, or the table */
    uint8_t *t, *y;
    double *x;               /* n x p */
    char *names[TL_UPLIFT_MAX_F];
    tl_table_t table;
    segctx_t sx;
} xrows_t;

static void xrows_fini(xrows_t *r) {
    free(r->id), free(r->t), free(r->y), free(r->x);
    for (uint32_t k = 0; k < r->p; k++) free(r->names[k]);
    tl_table_fini(&r->table);
    if (r->sx.st) segctx_close(&r->sx);
    memset(r, 0, sizeof *r);
}

static int split_names(const char *list, xrows_t *r, tl_errbuf_t *eb) {
    for (const char *q = list; *q;) {
        size_t len = strcspn(q, ",");
        if (r->p == TL_UPLIFT_MAX_F) {
            tl_errbuf_set(eb, "at most %d features", TL_UPLIFT_MAX_F);
            return TL_EINVAL;
        }
        if (len && !(r->names[r->p++] = strndup(q, len))) return TL_ENOMEM;
        q += len + (q[len] == ',');
    }
    return 0;
}

/* A profile column as numbers for the given users. */
static int profile_feature(const tl_profiles_t *p, const char *name, const uint32_t *users,
                           uint32_t n, double *x, uint32_t stride, tl_errbuf_t *eb) {
    int col = tl_profile_col_find(p, name);
    if (col < 0 || tl_profile_col_type(p, col) == TL_COL_CAT) {
        tl_errbuf_set(eb, "feature \"%s\" is not a number column of the profiles", name);
        return TL_EINVAL;
    }
    const void *d = tl_profile_col_data(p, col);
    uint32_t nu = tl_profile_nusers(p);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t u = users[i];
        double v = u >= nu ? NAN : tl_profile_col_type(p, col) == TL_COL_NUM ? ((const double *)d)[u]
                 : ((const uint32_t *)d)[u] == TL_NONE ? NAN : (double)((const uint32_t *)d)[u];
        x[(size_t)i * stride] = v;
    }
    return 0;
}

/* What the rows are read for: training (features checked by the guard),
 * a report (treatment and outcome), applying a model (neither). */
enum { ROWS_TRAIN, ROWS_REPORT, ROWS_APPLY };

static int load_rows(const command_t *cmd, const args_t *a, const char *features, int mode,
                     xrows_t *r, uint32_t **users_out, tl_errbuf_t *eb) {
    memset(r, 0, sizeof *r);
    const char *camp = opt(cmd, a, "campaign"), *csv = opt(cmd, a, "csv");
    int rc;
    if (!!camp == !!csv) {
        tl_errbuf_set(eb, "give --campaign ID or --csv FILE");
        return TL_EINVAL;
    }
    if (camp) {
        if ((rc = segctx_open(a, 0, &r->sx, eb))) return rc;
        tl_campaign_t c;
        tl_outcomes_t o;
        if ((rc = tl_campaign_get(r->sx.st, camp, &c, eb))) return rc;
        rc = tl_experiment_outcomes(r->sx.st, &c, &o, eb);
        tl_campaign_fini(&c);
        if (rc) return rc;
        if (!rc) rc = split_names(features ? features : UPLIFT_FEATURES, r, eb);
        r->n = (uint32_t)o.n;
        if (!rc && (!(r->id = malloc((r->n + 1) * sizeof *r->id)) || !(r->t = malloc(r->n + 1)) ||
                    !(r->y = malloc(r->n + 1)) || !(r->x = malloc(((size_t)r->n + 1) * (r->p + 1) * sizeof *r->x))))
            rc = TL_ENOMEM;
        for (uint32_t i = 0; !rc && i < r->n; i++) {
            r->id[i] = (char *)tl_dict_str(r->sx.users, o.user[i], NULL);
            r->t[i] = o.treated[i], r->y[i] = o.converted[i];
        }
        for (uint32_t k = 0; !rc && k < r->p; k++)
            rc = profile_feature(r->sx.p, r->names[k], o.user, r->n, r->x + k, r->p, eb);
        if (!rc && users_out) {
            *users_out = o.user;
            o.user = NULL;
        }
        tl_outcomes_fini(&o);
        return rc;
    }
    const char *tc = opt(cmd, a, "treatment"), *oc = opt(cmd, a, "outcome");
    if (mode != ROWS_APPLY && (!tc || !oc)) {
        tl_errbuf_set(eb, "--csv needs --treatment COL and --outcome COL");
        return TL_EINVAL;
    }
    tl_table_opts_t to = {0};
    tl_source_t src = tl_source_file(csv);
    if ((rc = tl_table_read(&src, &to, &r->table, NULL, NULL, eb))) return rc;
    tl_uplift_table_opts_t uo = {mode == ROWS_APPLY ? NULL : tc, mode == ROWS_APPLY ? NULL : oc,
                                 opt(cmd, a, "id"), features, mode == ROWS_TRAIN, opt(cmd, a, "allow")};
    tl_uplift_rows_t ur;
    if ((rc = tl_uplift_table_rows(&r->table, csv, &uo, &ur, eb))) return rc;
    r->n = ur.n, r->p = ur.p, r->t = ur.t, r->y = ur.y, r->x = ur.x;
    uint32_t ci = uo.id ? tl_table_column(&r->table, uo.id) : TL_NONE;
    if (!(r->id = malloc((r->n + 1) * sizeof *r->id))) rc = TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < r->n; i++)
        r->id[i] = ci == TL_NONE ? NULL : (char *)tl_table_cell(&r->table, i, ci);
    for (uint32_t k = 0; !rc && k < r->p; k++)
        if (!(r->names[k] = strdup(ur.names[k]))) rc = TL_ENOMEM;
    return rc;
}

/* The store's name of the command's uplift model: the campaign's, or "csv". */
static const char *uplift_name(const command_t *cmd, const args_t *a) {
    const char *camp = opt(cmd, a, "campaign");
    return camp ? camp : "csv";
}

/* Where the store keeps the model of name, for messages, in where. */
static int uplift_where(tl_store_t *st, const char *name, char *where, size_t cap, tl_errbuf_t *eb) {
    char blob[256];
    int rc = tl_store_blob_name(TL_BLOB_UPLIFT, name, blob, sizeof blob);
    return rc ? rc : tl_store_blob_where(st, blob, where, cap, eb);
}

/* Saves m in --model, else as the store's (a data directory without a
 * store yet gets one); where it went in where. */
static int uplift_put(const command_t *cmd, const args_t *a, const tl_uplift_model_t *m, char *where,
                      size_t cap, tl_errbuf_t *eb) {
    const char *path = opt(cmd, a, "model");
    if (path) {
        snprintf(where, cap, "%s", path);
        return tl_uplift_save(m, path, eb);
    }
    tl_store_t *st;
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
    if (rc == TL_ENOENT) eb->msg[0] = 0, rc = cli_store_open(data_dir(a), TL_STORE_CREATE, &st, eb);
    if (!rc) rc = tl_uplift_put(st, uplift_name(cmd, a), m, eb);
    if (!rc) rc = uplift_where(st, uplift_name(cmd, a), where, cap, eb);
    tl_store_close(st);
    return rc;
}

/* The model of --model, else the store's; where it is in where. */
static int uplift_get(const command_t *cmd, const args_t *a, tl_uplift_model_t *m, char *where,
                      size_t cap, tl_errbuf_t *eb) {
    const char *path = opt(cmd, a, "model");
    if (path) {
        snprintf(where, cap, "%s", path);
        return tl_uplift_load(path, m, eb);
    }
    tl_store_t *st;
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
    if (!rc) rc = tl_uplift_get(st, uplift_name(cmd, a), m, eb);
    if (!rc) rc = uplift_where(st, uplift_name(cmd, a), where, cap, eb);
    tl_store_close(st);
    return rc;
}

static cJSON *qini_json(const tl_qini_t *q) {
    cJSON *j = cJSON_CreateObject(), *curve = cJSON_CreateArray(), *at = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "units", (double)q->n);
    cJSON_AddNumberToObject(j, "treated", (double)q->n_treated);
    cJSON_AddNumberToObject(j, "control", (double)q->n_control);
    cJSON_AddItemToObject(j, "qini_coefficient", tl_json_number(q->qini_coef));
    cJSON_AddItemToObject(j, "auuc", tl_json_number(q->auuc));
    for (int k = 0; k < 10; k++) {
        char key[16];
        snprintf(key, sizeof key, "%d%%", 10 * (k + 1));
        cJSON_AddItemToObject(at, key, tl_json_number(q->uplift_at[k]));
    }
    cJSON_AddItemToObject(j, "uplift_at", at);
    for (uint32_t i = 0; i <= q->points; i += q->points / 20 ? q->points / 20 : 1) {
        cJSON *pt = cJSON_CreateArray();
        cJSON_AddItemToArray(pt, cJSON_CreateNumber(q->frac[i]));
        cJSON_AddItemToArray(pt, cJSON_CreateNumber(q->qini[i]));
        cJSON_AddItemToArray(curve, pt);
    }
    cJSON_AddItemToObject(j, "qini_curve", curve);
    return j;
}

/* Figures that are undefined (no units, a group without units in the top
 * part) print as n/a. */
static void print_qini(const char *what, const tl_qini_t *q) {
    char qc[32], au[32], up[32];
    printf("%s: %llu units (%llu treated, %llu control): Qini coefficient %s, AUUC %s\n  uplift in the top",
           what, (unsigned long long)q->n, (unsigned long long)q->n_treated, (unsigned long long)q->n_control,
           tl_fmt_figure(qc, sizeof qc, "%.3f", q->qini_coef), tl_fmt_figure(au, sizeof au, "%.4f", q->auuc));
    for (int k = 0; k < 10; k += k < 2 ? 1 : 2)
        printf(" %d%%: %s%s", 10 * (k + 1), tl_fmt_figure(up, sizeof up, "%+.2f pts", 100 * q->uplift_at[k]),
               k < 8 ? "," : "\n");
}

static int uplift_train(const command_t *cmd, const args_t *a, tl_errbuf_t *eb) {
    xrows_t r;
    const char *meth = opt(cmd, a, "method") ? opt(cmd, a, "method") : "two-model";
    int method = strcmp(meth, "class") == 0 ? TL_UPLIFT_CLASS : strcmp(meth, "trees") == 0 ? TL_UPLIFT_TREES
                                                                                          : TL_UPLIFT_TWO_MODEL;
    if (strcmp(meth, "class") != 0 && strcmp(meth, "two-model") != 0 && strcmp(meth, "trees") != 0)
        return die_usage(cmd, "--method %s: use two-model, class or trees", meth);
    double share;
    int rc = opt_f64(cmd, a, "test-share", 0.3, 0, 0.9, &share);
    if (rc) return rc;
    rc = load_rows(cmd, a, opt(cmd, a, "features"), ROWS_TRAIN, &r, NULL, eb);
    /* a unit is in the test part by a hash of its id (or row): stable */
    uint8_t *test = rc ? NULL : malloc(r.n + 1);
    double *x2 = rc ? NULL : malloc(((size_t)r.n + 1) * (r.p + 1) * sizeof *x2);
    uint8_t *t2 = rc ? NULL : malloc(r.n + 1), *y2 = rc ? NULL : malloc(r.n + 1);
    if (!rc && (!test || !x2 || !t2 || !y2)) rc = TL_ENOMEM;
    uint32_t ntr = 0;
    for (uint32_t i = 0; !rc && i < r.n; i++) {
        char buf[24];
        const char *id = r.id[i] ? r.id[i] : (snprintf(buf, sizeof buf, "%u", i), buf);
        test[i] = (double)(tl_hash64(id, strlen(id), 0x75706c) % 10000) < share * 10000;
        if (test[i]) continue;
        memcpy(x2 + (size_t)ntr * r.p, r.x + (size_t)i * r.p, r.p * sizeof *x2);
        t2[ntr] = r.t[i], y2[ntr] = r.y[i], ntr++;
    }
    tl_uplift_model_t m = {0};
    if (!rc) rc = tl_uplift_fit(x2, ntr, r.p, (const char *const *)r.names, t2, y2, method, 1.0, &m, eb);
    /* measured on the held-out units, and the measure kept with the model */
    tl_qini_t q = {0};
    uint32_t nte = 0;
    for (uint32_t i = 0; !rc && i < r.n; i++) {
        if (!test[i]) continue;
        memmove(x2 + (size_t)nte * r.p, r.x + (size_t)i * r.p, r.p * sizeof *x2);
        t2[nte] = r.t[i], y2[nte] = r.y[i], nte++;
    }
    if (!rc) rc = tl_uplift_predict_rows(&m, x2, nte, x2, eb); /* row i read before score i is written */
    if (!rc) rc = tl_qini(x2, t2, y2, nte, 100, &q); /* undefined figures without units */
    m.test_units = nte, m.test_qini = q.qini_coef;
    char path[4300];
    if (!rc) rc = uplift_put(cmd, a, &m, path, sizeof path, eb);
    if (!rc) {
        if (opt(cmd, a, "json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "model", path);
            cJSON_AddStringToObject(j, "method", tl_uplift_method_name(method));
            cJSON_AddNumberToObject(j, "train_units", ntr);
            cJSON_AddItemToObject(j, "test", qini_json(&q));
            print_json(j);
        } else {
            printf("trained %s uplift on %u units (%u features), saved %s\n",
                   tl_uplift_method_name(method), ntr, r.p, path);
            print_qini("held-out units", &q);
        }
    }
    tl_qini_fini(&q);
    tl_uplift_model_fini(&m);
    free(test), free(x2), free(t2), free(y2);
    xrows_fini(&r);
    return rc;
}

static int uplift_report(const command_t *cmd, const args_t *a, tl_errbuf_t *eb) {
    char path[4300];
    tl_uplift_model_t m;
    int rc = uplift_get(cmd, a, &m, path, sizeof path, eb);
    if (rc) return rc;
    char feats[TL_UPLIFT_MAX_F * 65] = "";
    for (uint32_t k = 0; k < m.p; k++) strcat(strcat(feats, k ? "," : ""), m.names[k]);
    xrows_t r;
    rc = load_rows(cmd, a, feats, ROWS_REPORT, &r, NULL, eb);
    double *s = rc ? NULL : malloc(((size_t)r.n + 1) * sizeof *s);
    if (!rc && !s) rc = TL_ENOMEM;
    if (!rc) rc = tl_uplift_predict_rows(&m, r.x, r.n, s, eb);
    tl_qini_t q = {0};
    if (!rc) rc = tl_qini(s, r.t, r.y, r.n, 100, &q);
    /* against the true effects of a generated world */
    double corr = NAN, top_true = NAN, all_true = NAN;
    const char *eff = opt(cmd, a, "effects");
    if (!rc && eff && r.id && r.sx.users) {
        tl_table_t et;
        tl_table_opts_t to = {0};
        tl_source_t src = tl_source_file(eff);
        rc = tl_table_read(&src, &to, &et, NULL, NULL, eb);
        uint32_t cu = rc ? TL_NONE : tl_table_column(&et, "user"), ce = rc ? TL_NONE : tl_table_column(&et, "effect");
        double *truth = rc ? NULL : malloc(((size_t)tl_dict_count(r.sx.users) + 1) * sizeof *truth);
        for (uint32_t u = 0; truth && u < tl_dict_count(r.sx.users); u++) truth[u] = NAN;
        for (uint32_t i = 0; truth && cu != TL_NONE && ce != TL_NONE && i < et.nrows; i++) {
            const char *id = tl_table_cell(&et, i, cu);
            uint32_t u = tl_dict_find(r.sx.users, id, strlen(id));
            if (u != TL_NONE) truth[u] = atof(tl_table_cell(&et, i, ce));
        }
        /* Pearson correlation over the units, and the true effect in the top 20 % */
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, k = 0;
        double *pairs = truth ? malloc(((size_t)r.n + 1) * 2 * sizeof *pairs) : NULL;
        uint32_t np = 0;
        for (uint32_t i = 0; pairs && i < r.n; i++) {
            uint32_t u = tl_dict_find(r.sx.users, r.id[i], strlen(r.id[i]));
            double tv = u != TL_NONE ? truth[u] : NAN;
            if (isnan(tv)) continue;
            sx += s[i], sy += tv, sxx += s[i] * s[i], syy += tv * tv, sxy += s[i] * tv, k++;
            pairs[2 * np] = s[i], pairs[2 * np + 1] = tv, np++;
        }
        if (k > 2) corr = (k * sxy - sx * sy) / sqrt((k * sxx - sx * sx) * (k * syy - sy * sy));
        if (np) {
            /* the mean true effect of the 20 % with the highest predicted uplift */
            double *ps = malloc((size_t)np * sizeof *ps);
            for (uint32_t i = 0; ps && i < np; i++) ps[i] = pairs[2 * i];
            if (ps) {
                uint32_t *idx = malloc((size_t)np * sizeof *idx);
                if (idx) {
                    for (uint32_t i = 0; i < np; i++) idx[i] = i;
                    tl_sort_f64(ps, idx, np);
                    uint32_t top = np / 5 ? np / 5 : 1;
                    double t = 0;
                    for (uint32_t i = np - top; i < np; i++) t += pairs[2 * idx[i] + 1];
                    top_true = t / top, all_true = sy / k;
                }
                free(idx);
            }
            free(ps);
        }
        free(pairs), free(truth);
        tl_table_fini(&et);
    }
    if (!rc) {
        if (opt(cmd, a, "json")) {
            cJSON *j = qini_json(&q);
            cJSON_AddStringToObject(j, "model", path);
            if (eff) {
                cJSON_AddItemToObject(j, "true_effect_correlation", tl_json_number(corr));
                cJSON_AddItemToObject(j, "true_effect_top20", tl_json_number(top_true));
                cJSON_AddItemToObject(j, "true_effect_all", tl_json_number(all_true));
            }
            print_json(j);
        } else {
            print_qini(path, &q);
            char f1[32], f2[32], f3[32];
            if (eff)
                printf("  against the true effects: correlation %s; the top 20 %% by predicted uplift have a "
                       "true effect of %s against %s on average\n", tl_fmt_figure(f1, sizeof f1, "%.3f", corr),
                       tl_fmt_figure(f2, sizeof f2, "%.4f", top_true), tl_fmt_figure(f3, sizeof f3, "%.4f", all_true));
        }
    }
    tl_qini_fini(&q);
    free(s);
    xrows_fini(&r);
    tl_uplift_model_fini(&m);
    return rc;
}

static int uplift_apply(const command_t *cmd, const args_t *a, tl_errbuf_t *eb) {
    char path[4300];
    tl_uplift_model_t m;
    double top, value, cost, margin = 0.3;
    int rc;
    if ((rc = opt_f64(cmd, a, "top", 20, 0.1, 100, &top)) || (rc = opt_f64(cmd, a, "value", 100, 0, 1e9, &value)) ||
        (rc = opt_f64(cmd, a, "cost", 0.05, 0, 1e9, &cost)))
        return rc;
    if ((rc = uplift_get(cmd, a, &m, path, sizeof path, eb))) return rc;
    const char *camp = opt(cmd, a, "campaign"), *csv = opt(cmd, a, "csv");
    segctx_t sx = {0};
    xrows_t r = {0};
    uint32_t n = 0, *users = NULL;
    double *x = NULL;
    if (csv) { /* every row of the table: no store needed */
        char feats[TL_UPLIFT_MAX_F * 65] = "";
        for (uint32_t k = 0; k < m.p; k++) strcat(strcat(feats, k ? "," : ""), m.names[k]);
        if (camp) {
            tl_uplift_model_fini(&m);
            return die_usage(cmd, "apply: give --campaign ID or --csv FILE, not both");
        }
        if ((rc = load_rows(cmd, a, feats, ROWS_APPLY, &r, NULL, eb))) {
            xrows_fini(&r);
            tl_uplift_model_fini(&m);
            return rc;
        }
        n = r.n;
    } else { /* every user with a profile */
        if ((rc = segctx_open(a, 0, &sx, eb))) {
            tl_uplift_model_fini(&m);
            return rc;
        }
        if (camp) {
            tl_campaign_t c;
            if (tl_campaign_get(sx.st, camp, &c, eb) == 0) margin = c.margin;
            tl_campaign_fini(&c);
        }
        n = tl_profile_nusers(sx.p);
        users = malloc(((size_t)n + 1) * sizeof *users);
        x = malloc(((size_t)n + 1) * (m.p + 1) * sizeof *x);
        if (!users || !x) rc = TL_ENOMEM;
        for (uint32_t u = 0; !rc && u < n; u++) users[u] = u;
        for (uint32_t k = 0; !rc && k < m.p; k++) rc = profile_feature(sx.p, m.names[k], users, n, x + k, m.p, eb);
    }
    double *s = malloc(((size_t)n + 1) * sizeof *s);
    if (!rc && !s) rc = TL_ENOMEM;
    if (!rc) rc = opt_f64(cmd, a, "margin", margin, 0, 1, &margin);
    const double *rows = csv ? r.x : x;
    if (!rc) rc = tl_uplift_predict_rows(&m, rows, n, s, eb);
    const char *out = opt(cmd, a, "out");
    FILE *f = !rc && out ? fopen(out, "w") : NULL;
    if (!rc && out && !f) {
        tl_errbuf_set(eb, "cannot write %s", out);
        rc = TL_EIO;
    }
    if (f) {
        fputs(csv ? (r.id && opt(cmd, a, "id") ? "id,uplift\n" : "row,uplift\n") : "user,uplift\n", f);
        for (uint32_t u = 0; u < n; u++) {
            if (!csv) fprintf(f, "%s,", tl_dict_str(sx.users, u, NULL));
            else if (r.id[u]) fprintf(f, "%s,", r.id[u]);
            else fprintf(f, "%u,", u + 1);
            fprintf(f, "%.6f\n", s[u]);
        }
        if (fclose(f)) rc = TL_EIO;
    }
    tl_uplift_projection_t pr;
    if (!rc) rc = tl_uplift_project(&m, s, n, top, value, margin, cost, &pr);
    if (!rc) {
        if (opt(cmd, a, "json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "users", pr.users);
            cJSON_AddNumberToObject(j, "targeted", pr.targeted);
            cJSON_AddNumberToObject(j, "min_uplift_targeted", pr.min_uplift);
            cJSON_AddNumberToObject(j, "incremental_conversions", pr.incremental);
            cJSON_AddNumberToObject(j, "incremental_profit", pr.profit);
            cJSON_AddNumberToObject(j, "cost", pr.cost);
            cJSON_AddItemToObject(j, "roi", tl_json_number(pr.roi));
            cJSON_AddItemToObject(j, "held_out_qini", tl_json_number(m.test_units ? m.test_qini : NAN));
            cJSON_AddBoolToObject(j, "supported_by_held_out", pr.supported);
            if (!pr.supported) cJSON_AddStringToObject(j, "warning", pr.why);
            print_json(j);
        } else {
            char roi[32];
            if (!pr.supported) printf("WARNING: %s\n", pr.why);
            printf("targeting the top %g %% by uplift: %u of %u users (uplift >= %.4f)\n"
                   "  projected%s: %.1f incremental conversions, profit %.0f (value %g x margin %g), cost %.0f, ROI %s\n",
                   top, pr.targeted, pr.users, pr.min_uplift, pr.supported ? "" : " (not supported by held-out data)",
                   pr.incremental, pr.profit, value, margin, pr.cost, tl_fmt_figure(roi, sizeof roi, "%+.0f%%", 100 * pr.roi));
        }
    }
    free(users), free(x), free(s);
    if (sx.st) segctx_close(&sx);
    xrows_fini(&r);
    tl_uplift_model_fini(&m);
    return rc;
}

int cmd_uplift(const command_t *cmd, const args_t *a) {
    int rc;
    if (a->npos != 1) return die_usage(cmd, "say train, apply or report");
    tl_errbuf_t eb = {{0}};
    if (strcmp(a->pos[0], "train") == 0) rc = uplift_train(cmd, a, &eb);
    else if (strcmp(a->pos[0], "report") == 0) rc = uplift_report(cmd, a, &eb);
    else if (strcmp(a->pos[0], "apply") == 0) rc = uplift_apply(cmd, a, &eb);
    else return die_usage(cmd, "unknown subcommand %s", a->pos[0]);
    if (rc > 0) return rc; /* a usage error, already told */
    return rc ? fail_err("uplift", rc, &eb) : EXIT_OK;
}

/* ---- report campaign -------------------------------------------------------------------- */

static void print_report(const tl_campaign_t *c, const tl_experiment_report_t *r) {
    char a[32] = "-", b[32] = "-";
    if (r->first_at != INT64_MIN) tl_time_format(r->first_at, a), tl_time_format(r->last_at, b);
    printf("campaign %s (%s): exposures %s .. %s, conversions (%s", c->id, c->name, a, b, c->conversion[0]);
    for (int k = 1; k < c->nconversion; k++) printf(", %s", c->conversion[k]);
    printf(") within %.3g days\n  decisions:", (double)r->window_ms / TL_MS_PER_DAY);
    for (int k = 0; k < TL_DEC__N; k++)
        if (r->decisions[k]) printf(" %s=%llu", tl_decision_name(k), (unsigned long long)r->decisions[k]);
    printf("\n\n  %-10s %9s %9s %-19s %10s %9s %8s\n", "group", "users", "converted", "rate (95% interval)",
           "rev/user", "AOV", "repeat");
    for (int g = 0; g < r->ngroups; g++) {
        const tl_group_stats_t *s = &r->g[g];
        double n = (double)s->users;
        char aov[32], rep[32];
        printf("  %-10s %9llu %9llu %6.3f%% [%5.3f,%5.3f] %10.2f %9s %8s\n", s->name,
               (unsigned long long)s->users, (unsigned long long)s->converted,
               n ? 100 * (double)s->converted / n : 0, 100 * s->conv_lo, 100 * s->conv_hi, s->revenue,
               tl_fmt_figure(aov, sizeof aov, "%.2f", s->aov),
               tl_fmt_figure(rep, sizeof rep, "%.1f%%", s->converted ? 100.0 * (double)s->repeaters /
                                                                           (double)s->converted : NAN));
    }
    for (int g = 0; g < r->ngroups; g++) {
        const tl_group_stats_t *s = &r->g[g];
        if (!s->compared) continue;
        printf("\n  %s vs %s:\n", s->name, r->g[r->control].name);
        char rel[3][32];
        printf("    conversion  %+.3f pts [%+.3f, %+.3f], relative %s [%s, %s], z=%.2f p=%.4g (adjusted %.4g)\n",
               100 * s->conv.diff, 100 * s->conv.diff_lo, 100 * s->conv.diff_hi,
               tl_fmt_figure(rel[0], 32, "%+.1f%%", 100 * s->conv.rel),
               tl_fmt_figure(rel[1], 32, "%+.1f%%", 100 * s->conv.rel_lo),
               tl_fmt_figure(rel[2], 32, "%+.1f%%", 100 * s->conv.rel_hi), s->conv.z, s->conv.p, s->p_conv_adj);
        printf("    revenue/user %+.2f [%+.2f, %+.2f] Welch t=%.2f p=%.4g; CUPED %+.2f [%+.2f, %+.2f] "
               "p=%.4g (adjusted %.4g)\n", s->rev.diff, s->rev.lo, s->rev.hi, s->rev.t, s->rev.p,
               s->rev_cuped.diff, s->rev_cuped.lo, s->rev_cuped.hi, s->rev_cuped.p, s->p_rev_adj);
        printf("    incremental: %.1f conversions, revenue %.0f [%.0f, %.0f]", s->incr_conversions,
               s->incr_revenue, s->incr_revenue_lo, s->incr_revenue_hi);
        if (isfinite(s->roi))
            printf("; cost %.2f, ROI %+.0f%% [%+.0f%%, %+.0f%%] at margin %.0f%%", s->cost, 100 * s->roi,
                   100 * s->roi_lo, 100 * s->roi_hi, 100 * c->margin);
        printf("\n");
    }
    printf("\n  sample ratio: chi2=%.3f p=%.4g%s; CUPED theta %.4f; %s correction over arms x metrics\n",
           r->srm_chi2, r->srm_p, r->srm_flag ? "  MISMATCH: the split is not what was set, do not trust the lift" : " (ok)",
           r->cuped_theta, r->correction ? "Benjamini-Hochberg" : "Holm");
}

/* The Qini curve of the campaign's uplift model (the store's, read from st)
 * over its measured users; 1 when there is no model. */
static int campaign_qini(const args_t *a, tl_store_t *st, const tl_campaign_t *c, tl_qini_t *q,
                         tl_errbuf_t *eb) {
    tl_uplift_model_t m;
    int rc = tl_uplift_get(st, c->id, &m, eb);
    if (rc == TL_ENOENT) eb->msg[0] = 0;
    if (rc) return rc == TL_ENOENT ? 1 : rc;
    segctx_t sx;
    tl_outcomes_t o = {0};
    rc = segctx_open(a, 0, &sx, eb);
    if (rc) {
        tl_uplift_model_fini(&m);
        return rc;
    }
    rc = tl_experiment_outcomes(sx.st, c, &o, eb);
    double *x = rc ? NULL : malloc((o.n + 1) * (m.p + 1) * sizeof *x), *s = rc ? NULL : malloc((o.n + 1) * sizeof *s);
    if (!rc && (!x || !s)) rc = TL_ENOMEM;
    for (uint32_t k = 0; !rc && k < m.p; k++)
        rc = profile_feature(sx.p, m.names[k], o.user, (uint32_t)o.n, x + k, m.p, eb);
    if (!rc) rc = tl_uplift_predict_rows(&m, x, (uint32_t)o.n, s, eb);
    if (!rc) rc = tl_qini(s, o.treated, o.converted, (uint32_t)o.n, 100, q);
    free(x), free(s);
    tl_outcomes_fini(&o);
    segctx_close(&sx);
    tl_uplift_model_fini(&m);
    return rc;
}

int report_campaign(const command_t *cmd, const args_t *a, const char *id) {
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_campaign_t c;
    tl_experiment_report_t r;
    tl_report_opts_t o = {.conf = 0.95, .correction = opt(cmd, a, "bh") != NULL};
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_campaign_get(st, id, &c, &eb);
    if (!rc) {
        rc = tl_experiment_report(st, &c, &o, &r, &eb);
        const char *html = opt(cmd, a, "html");
        if (!rc && html) {
            tl_qini_t q = {0};
            int qr = campaign_qini(a, st, &c, &q, &eb);
            if (qr < 0) rc = qr;
            if (!rc) rc = tl_experiment_report_html(&c, &r, qr == 0 ? &q : NULL, html, &eb);
            tl_qini_fini(&q);
            if (!rc && !opt(cmd, a, "json")) printf("wrote %s\n", html);
        }
        if (!rc) {
            if (opt(cmd, a, "json")) print_json(tl_experiment_report_json(&c, &r));
            else if (!html) print_report(&c, &r);
        }
        if (!rc) tl_experiment_report_fini(&r);
        tl_campaign_fini(&c);
    }
    tl_store_close(st);
    return rc ? fail_err("report campaign", rc, &eb) : EXIT_OK;
}
