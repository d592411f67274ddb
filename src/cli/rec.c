/* rec.c -- the recommender commands: `train` (a model saved under
 * DATA/models), `eval` (offline evaluation on a split of DATA or on a
 * given pair of files, one model or a grid of options), `recommend` (a
 * user's top items for a scene) and `similar` (the items alike). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "identity/identity.h"
#include "progress.h"

/* ---- train / eval ---------------------------------------------------------------- */

/* The model and interaction options train and eval share. */
typedef struct {
    const char *kind;
    const tl_model_info_t *mi;
    tl_model_params_t p;
    tl_interact_opts_t ix;
} modelspec_t;

static int parse_modelspec(const command_t *c, const args_t *a, tl_model_use_t use, modelspec_t *ms) {
    int rc;
    ms->kind = opt(c, a, "model") ? opt(c, a, "model") : tl_model_default(use);
    if (!(ms->mi = tl_model_lookup(ms->kind))) {
        char names[256];
        tl_model_names(names, sizeof names);
        return die_usage(c, "--model %s: use %s", ms->kind, names);
    }
    tl_model_params_default(&ms->p);
    tl_interact_opts_default(&ms->ix);
    const tl_model_param_t *d;
    for (uint32_t i = 0; (d = tl_model_param_at(i)); i++) {
        double v;
        uint64_t u;
        if (d->integer)
            rc = opt_u64(c, a, d->name, (uint64_t)d->dflt, (uint64_t)d->min, (uint64_t)d->max, &u),
            v = (double)u;
        else
            rc = opt_f64(c, a, d->name, d->dflt, d->min, d->max, &v);
        if (rc) return rc;
        tl_model_params_set(&ms->p, d->name, v);
    }
    if ((rc = opt_f64(c, a, "min-rating", NAN, -1e12, 1e12, &ms->ix.min_rating)) ||
        (rc = opt_f64(c, a, "half-life", 0, 0, 36500, &ms->ix.half_life)))
        return rc;
    ms->ix.half_life *= 86400000.0; /* days to ms */
    static const char *const types[] = {
#define XX(c, name) name,
        TL_EVENT_TYPES(XX)
#undef XX
    };
    for (const char *w = opt(c, a, "weights"); w && *w;) {
        size_t len = strcspn(w, ","), eq = strcspn(w, "=");
        int t = 0;
        while (t < TL_EV__BUILTIN && (strlen(types[t]) != eq || memcmp(types[t], w, eq) != 0)) t++;
        double v;
        if (eq >= len || t == TL_EV__BUILTIN || tl_parse_f64(w + eq + 1, len - eq - 1, &v) ||
            v < 0 || v > 1e6)
            return die_usage(c, "--weights: give TYPE=WEIGHT,... with built-in event types "
                                "(view, click, cart, fav, purchase, review, rate, ...) and weights "
                                "of 0 or more, e.g. view=1,cart=4,purchase=8");
        ms->ix.weight[t] = (float)v;
        w += len + (w[len] == ',');
    }
    ms->ix.rating_values = opt(c, a, "rating-values") != NULL;
    return 0;
}

#define MODEL_OPTS                                                                                 \
    {"model", 1, "{models} (default {default:train}; {default:eval} for eval)"},                   \
        {"lambda", 1, "{param}"}, {"dropout", 1, "{param}"}, {"blend", 1, "{param}"},              \
        {"neighbours", 1, "{param}"}, {"shrink", 1, "{param}"}, {"factors", 1, "{param}"},         \
        {"iterations", 1, "{param}"}, {"alpha", 1, "{param}"}, {"reg", 1, "{param}"},              \
        {"min-rating", 1, "ratings count as positives from this value (default: every rating)"},   \
        {"rating-values", 0, "train on the rating values as strengths (default: 1 per rating)"}, \
        {"weights", 1, "strength per event type, e.g. view=1,cart=3,purchase=5 (the defaults with "  \
                       "click 1, fav 2, review 2, rate 1)"},                                        \
        {"half-life", 1, "days over which an event's strength halves (default: no decay; with "     \
                         "pop: trending items)"}

const optspec_t EVAL_OPTS[] = {
    MODEL_OPTS,
    {"split", 1, "on DATA: time (the last --test-days are the test) or last (each user's latest "
                 "item)"},
    {"test-days", 1, "time split: days at the end held out (default 7)"},
    {"by", 1, "also give the accuracy per user group: gender or age"},
    {"no-new-items", 0, "leave items without training interactions at score 0 (default: they "
                        "score by their alike items' scores)"},
    {"grid", 1, "train and evaluate every combination, e.g. 'lambda=200,400,800' or "
                "'alpha=2,5 reg=20,50' (options: {params}); chosen on a validation part of the "
                "training, the test measured for the chosen one alone"},
    {"select-on", 1, "with --grid: validation (default) or test (every combination measured on "
                     "the test and the best of them taken: an optimistic figure)"},
    {"valid-share", 1, "validation: each user's latest share of training items held out (default "
                       "0.2; leave-last-out holds out the latest item)"},
    {"train", 1, "instead of DATA: the training file (read with the options below, as import "
                 "reads it)"},
    {"test", 1, "with --train: the test file"},
    READ_OPTS,
    {"k", 1, "list length (default 10)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

/* The store an evaluation reads: DATA, split by time or leave-last-out,
 * or a given pair of files imported into one store in memory (so users and
 * items share their indexes; the training events come first in its log,
 * and split it). */
typedef struct {
    tl_store_t *st;
    const char *split;
} evsrc_t;

static int eval_source(const command_t *c, const args_t *a, evsrc_t *e, tl_rec_evaluate_opts_t *eo,
                       tl_errbuf_t *eb) {
    const char *train = opt(c, a, "train"), *test = opt(c, a, "test");
    uint64_t days;
    int rc = opt_u64(c, a, "test-days", 7, 1, 36500, &days);
    if (rc) return rc;
    if (train || test) {
        if (!train || !test) return die_usage(c, "give both --train FILE and --test FILE");
        tl_import_opts_t o;
        if ((rc = cli_read_opts(c, a, &o))) return rc;
        const tl_store_conf_t *given;
        if ((rc = cli_store_conf(&given, eb))) return rc;
        tl_store_conf_t conf = *given;
        conf.backend = &tl_store_memory;
        tl_import_stats_t s1 = {0}, s2 = {0};
        tl_source_t f1 = tl_source_file(train), f2 = tl_source_file(test);
        progress_t bar;
        progress_import(&o, &bar);
        e->split = "files";
        rc = tl_store_open_conf("the files evaluated", &conf, TL_STORE_CREATE, &e->st, eb);
        if (!rc) rc = tl_import(e->st, &f1, 1, &o, &s1, NULL, NULL, eb);
        eo->train_events = rc ? 0 : tl_store_event_count(e->st);
        if (!rc) rc = tl_import(e->st, &f2, 1, &o, &s2, NULL, NULL, eb);
        return rc;
    }
    const char *reading = cli_read_opt_given(c, a);
    if (reading)
        return die_usage(c, "--%s reads --train and --test files; DATA is read as it is", reading);
    e->split = opt(c, a, "split") ? opt(c, a, "split") : "time";
    if (strcmp(e->split, "time") != 0 && strcmp(e->split, "last") != 0)
        return die_usage(c, "--split %s: use time or last", e->split);
    eo->split.kind = strcmp(e->split, "last") == 0 ? TL_SPLIT_LAST : TL_SPLIT_TIME;
    eo->split.test_days = (uint32_t)days;
    return cli_store_open(data_dir(a), TL_STORE_READONLY, &e->st, eb);
}

/* --grid: up to 4 model options, each with up to 16 values, every
 * combination trained and evaluated on the same split. */
#define GRID_PARAMS 4
#define GRID_VALUES 16

typedef struct {
    uint32_t np, nv[GRID_PARAMS];
    char name[GRID_PARAMS][16];
    double v[GRID_PARAMS][GRID_VALUES];
} grid_t;

static int parse_grid(const command_t *c, const char *spec, const modelspec_t *ms, grid_t *g) {
    memset(g, 0, sizeof *g);
    const char *p = spec;
    while (*p) {
        p += strspn(p, " ;");
        if (!*p) break;
        size_t n = strcspn(p, "="), end = strcspn(p, " ;");
        if (n >= end || n == 0 || n >= sizeof g->name[0])
            return die_usage(c, "--grid: give NAME=V1,V2,... separated by spaces, e.g. "
                                "'lambda=200,400 alpha=2,5'");
        if (g->np == GRID_PARAMS) return die_usage(c, "--grid: at most %d options", GRID_PARAMS);
        uint32_t q = g->np++;
        memcpy(g->name[q], p, n);
        const char *v = p + n + 1, *stop = p + end;
        while (v < stop) {
            size_t len = strcspn(v, ",; ");
            if (len > (size_t)(stop - v)) len = (size_t)(stop - v);
            tl_model_params_t probe = ms->p;
            if (g->nv[q] == GRID_VALUES)
                return die_usage(c, "--grid %s: at most %d values", g->name[q], GRID_VALUES);
            if (tl_parse_f64(v, len, &g->v[q][g->nv[q]]) ||
                tl_model_params_set(&probe, g->name[q], g->v[q][g->nv[q]])) {
                char names[256] = "";
                const tl_model_param_t *d;
                for (uint32_t i = 0; (d = tl_model_param_at(i)); i++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                             !i ? "" : tl_model_param_at(i + 1) ? ", " : " or ", d->name);
                return die_usage(c, "--grid: %s=%.*s: use %s with a value in range", g->name[q], (int)len,
                                 v, names);
            }
            g->nv[q]++;
            v += len + (v + len < stop);
        }
        if (!g->nv[q]) return die_usage(c, "--grid %s: no values", g->name[q]);
        p = stop;
    }
    return 0;
}


/* The runs of a grid: each one's grid values (*param) and options (*runp,
 * p with them set); one run of p without a grid. 0: out of memory. */
static uint32_t grid_runs(const grid_t *gr, const tl_model_params_t *p, double (**param)[GRID_PARAMS],
                          tl_model_params_t **runp) {
    uint32_t nruns = 1;
    for (uint32_t q = 0; q < gr->np; q++) nruns *= gr->nv[q];
    *param = calloc(nruns, sizeof **param);
    *runp = calloc(nruns, sizeof **runp);
    if (!*param || !*runp) {
        free(*param), free(*runp);
        return 0;
    }
    for (uint32_t r = 0; r < nruns; r++) {
        (*runp)[r] = *p;
        for (uint32_t q = 0, rest = r; q < gr->np; rest /= gr->nv[q], q++) {
            (*param)[r][q] = gr->v[q][rest % gr->nv[q]];
            tl_model_params_set(&(*runp)[r], gr->name[q], (*param)[r][q]);
        }
    }
    return nruns;
}

/* The options the data set (EASE's lambda, iALS's alpha) as trained,
 * for the families that read them. */
static void add_resolved(cJSON *j, const tl_model_info_t *mi, const tl_model_params_t *p) {
    if (strstr(mi->params, "lambda")) cJSON_AddNumberToObject(j, "lambda", p->lambda);
    if (strstr(mi->params, "alpha")) cJSON_AddNumberToObject(j, "alpha", p->ials.alpha);
}

/* How an evaluation's validation part was carved, in words. */
static const char *validation_kind(const tl_rec_evaluation_t *ev, const char *split) {
    return ev->valid_from                          ? "last days"
           : split && strcmp(split, "last") == 0 ? "latest item"
           : ev->shuffled                          ? "random share"
                                                   : "latest share";
}

/* A run's figures: on the test where it was measured, and on the
 * validation part under "validation" where one was carved. */
static void add_run_json(cJSON *j, const tl_rec_run_t *r, const double *param, const grid_t *gr,
                         const tl_user_groups_t *g, int validated) {
    for (uint32_t q = 0; q < gr->np; q++) cJSON_AddNumberToObject(j, gr->name[q], param[q]);
    if (r->tested) tl_eval_json_add(j, &r->ev, g);
    if (validated) tl_eval_json_add(cJSON_AddObjectToObject(j, "validation"), &r->valid, NULL);
    cJSON_AddNumberToObject(j, "train_seconds", r->train_s);
    cJSON_AddNumberToObject(j, "eval_seconds", r->eval_s);
}

static void print_run(const tl_rec_run_t *r, const double *param, const grid_t *gr,
                      const tl_user_groups_t *g, int validated) {
    const tl_eval_t *ev = validated ? &r->valid : &r->ev;
    if (gr->np) {
        for (uint32_t q = 0; q < gr->np; q++) printf("  %s=%-8g", gr->name[q], param[q]);
        printf(" ndcg %.4f  recall %.4f  hit rate %.4f  coverage %.4f  gini %.4f  %.2f s\n",
               ev->ndcg, ev->recall, ev->hit_rate, ev->coverage, ev->gini, r->train_s);
        return;
    }
    printf("  ndcg %.4f  precision %.4f  recall %.4f  map %.4f  hit rate %.4f\n"
           "  coverage %.4f  novelty %.2f bits  diversity %.4f  gini %.4f\n",
           ev->ndcg, ev->precision, ev->recall, ev->map, ev->hit_rate, ev->coverage, ev->novelty,
           ev->diversity, ev->gini);
    for (uint32_t q = 0; g->group && q < g->ngroups; q++)
        printf("  %-12s %6u users  ndcg %.4f  recall %.4f  hit rate %.4f\n", g->names[q],
               ev->group[q].users, ev->group[q].ndcg, ev->group[q].recall, ev->group[q].hit_rate);
    printf("  trained in %.2f s, evaluated in %.2f s\n", r->train_s, r->eval_s);
}

/* Offline evaluation: accuracy at K, how much of the catalogue the lists
 * reach and how evenly, optionally the gaps between user groups, for one
 * model or a grid of options. */
int cmd_eval(const command_t *c, const args_t *a) {
    int rc;
    modelspec_t ms;
    grid_t gr = {0};
    uint64_t k;
    double share;
    const char *by = opt(c, a, "by"), *grid = opt(c, a, "grid"), *sel = opt(c, a, "select-on");
    if ((rc = parse_modelspec(c, a, TL_MODEL_FOR_EVAL, &ms)) ||
        (rc = opt_u64(c, a, "k", 10, 1, 1000, &k)) ||
        (rc = opt_f64(c, a, "valid-share", 0.2, 0.01, 0.9, &share)) ||
        (grid && (rc = parse_grid(c, grid, &ms, &gr))))
        return rc;
    if (by && strcmp(by, "gender") != 0 && strcmp(by, "age") != 0)
        return die_usage(c, "--by %s: use gender or age", by);
    if (sel && !grid) return die_usage(c, "--select-on chooses among the runs of --grid");
    if (sel && strcmp(sel, "validation") != 0 && strcmp(sel, "test") != 0)
        return die_usage(c, "--select-on %s: use validation or test", sel);
    int validated = grid && !(sel && strcmp(sel, "test") == 0);
    tl_errbuf_t eb = {{0}};
    double(*param)[GRID_PARAMS];
    tl_model_params_t *runp;
    uint32_t nruns = grid_runs(&gr, &ms.p, &param, &runp);
    if (!nruns) return fail_err("eval", TL_ENOMEM, &eb);
    tl_rec_evaluate_opts_t eo = {ms.mi, runp, nruns, ms.ix, {TL_SPLIT_TIME, 7}, 0, (uint32_t)k,
                                 !by ? -1 : strcmp(by, "age") == 0 ? TL_GROUP_AGE : TL_GROUP_GENDER,
                                 !opt(c, a, "no-new-items"), tl_time_mono_ms,
                                 validated ? TL_SELECT_VALIDATION : TL_SELECT_TEST, share};
    evsrc_t e = {0};
    tl_rec_evaluation_t ev = {0};
    rc = eval_source(c, a, &e, &eo, &eb);
    if (rc > 0) {
        free(param), free(runp);
        return rc; /* a usage error, already told */
    }
    if (!rc) rc = tl_rec_evaluate(e.st, &eo, &ev, &eb);
    tl_store_close(e.st);
    const tl_user_groups_t *g = &ev.groups;
    if (!rc && opt(c, a, "json")) {
        cJSON *j = tl_rec_evaluation_json(ms.kind, e.split, (uint32_t)k, &ev);
        if (!grid) add_resolved(j, ms.mi, &ev.runs[0].params);
        if (grid) {
            cJSON *arr = cJSON_AddArrayToObject(j, "runs");
            for (uint32_t r = 0; r < nruns; r++) {
                cJSON *o = cJSON_CreateObject();
                add_run_json(o, &ev.runs[r], param[r], &gr, g, validated);
                cJSON_AddItemToArray(arr, o);
            }
            cJSON_AddNumberToObject(j, "best", ev.best);
            cJSON_AddStringToObject(j, "selected_on", validated ? "validation" : "test");
            if (validated) {
                cJSON_AddNumberToObject(j, "fit_interactions", (double)ev.fit_nnz);
                cJSON_AddNumberToObject(j, "validation_interactions", (double)ev.valid_nnz);
                cJSON_AddStringToObject(j, "validation_items", validation_kind(&ev, e.split));
                if (ev.valid_from) {
                    char from[32];
                    tl_time_format(ev.valid_from, from);
                    cJSON_AddStringToObject(j, "validation_from", from);
                }
                cJSON *t = cJSON_AddObjectToObject(j, "test");
                for (uint32_t q = 0; q < gr.np; q++) cJSON_AddNumberToObject(t, gr.name[q], param[ev.best][q]);
                tl_eval_json_add(t, &ev.runs[ev.best].ev, g);
            }
        } else {
            add_run_json(j, &ev.runs[0], param[0], &gr, g, 0);
        }
        print_json(j);
    } else if (!rc) {
        const tl_rec_run_t *b = &ev.runs[ev.best];
        printf("%s on %u users with test items, %u of them without history (%s split; train "
               "%llu, test %llu interactions), top %llu:\n",
               ms.kind, b->ev.users, b->ev.cold, e.split, (unsigned long long)ev.train_nnz,
               (unsigned long long)ev.test_nnz, (unsigned long long)k);
        char from[32] = "";
        if (ev.valid_from) tl_time_format(ev.valid_from, from);
        if (validated && ev.valid_from)
            printf("on a validation part of the training (its last %u days, from %s; fit %llu, "
                   "validation %llu interactions):\n",
                   eo.split.test_days, from, (unsigned long long)ev.fit_nnz, (unsigned long long)ev.valid_nnz);
        else if (validated && strcmp(e.split, "last") == 0)
            printf("on a validation part of the training (each user's latest item; fit %llu, "
                   "validation %llu interactions):\n",
                   (unsigned long long)ev.fit_nnz, (unsigned long long)ev.valid_nnz);
        else if (validated)
            printf("on a validation part of the training (each user's %s %g %% of items; fit "
                   "%llu, validation %llu interactions):\n",
                   ev.shuffled ? "random" : "latest", share * 100, (unsigned long long)ev.fit_nnz,
                   (unsigned long long)ev.valid_nnz);
        for (uint32_t r = 0; r < nruns; r++) print_run(&ev.runs[r], param[r], &gr, g, validated);
        if (grid) {
            printf("best by ndcg on the %s:", validated ? "validation" : "test (optimistic)");
            for (uint32_t q = 0; q < gr.np; q++) printf(" --%s %g", gr.name[q], param[ev.best][q]);
            if (validated) {
                printf("; on the test, trained on the whole training:\n");
                print_run(b, param[ev.best], &(grid_t){0}, g, 0);
            } else {
                printf(" (ndcg %.4f)\n", b->ev.ndcg);
            }
        }
    }
    tl_rec_evaluation_fini(&ev);
    free(param), free(runp);
    return rc ? fail_err("eval", rc, &eb) : EXIT_OK;
}

const optspec_t TRAIN_OPTS[] = {
    MODEL_OPTS,
    {"name", 1, "the model's name in DATA/models (default: the model kind)"},
    {"tune", 0, "choose the options first: every combination of --grid (default: the family's "
                "own grid) trained on all but the log's last --valid-days and measured on those by "
                "NDCG@10; the best is trained on everything"},
    {"grid", 1, "with --tune: the combinations, e.g. 'lambda=200,400,800'"},
    {"valid-days", 1, "with --tune: the last days of the log validate (default 7)"},
    {"valid-share", 1, "with --tune, when the log spans less than twice --valid-days: each user's "
                       "latest share of items validates instead (default 0.2)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

/* --tune: the options of the grid's best run on a validation part of the
 * store's interactions set in ms->p; its grid values and figures into j
 * (JSON) or printed. */
static int train_tune(const command_t *c, const args_t *a, tl_store_t *st, modelspec_t *ms, cJSON *j,
                      tl_errbuf_t *eb) {
    const char *spec = opt(c, a, "grid") ? opt(c, a, "grid") : ms->mi->tune;
    grid_t gr;
    double share;
    uint64_t days;
    int rc = opt_f64(c, a, "valid-share", 0.2, 0.01, 0.9, &share);
    if (rc || (rc = opt_u64(c, a, "valid-days", 7, 1, 36500, &days))) return rc;
    if (!spec) return die_usage(c, "--tune: %s has no options to tune", ms->kind);
    if ((rc = parse_grid(c, spec, ms, &gr))) return rc;
    double(*param)[GRID_PARAMS];
    tl_model_params_t *runp;
    uint32_t nruns = grid_runs(&gr, &ms->p, &param, &runp);
    if (!nruns) return TL_ENOMEM;
    tl_rec_evaluate_opts_t eo = {ms->mi, runp, nruns, ms->ix, {TL_SPLIT_TIME, (uint32_t)days}, 0, 10, -1, 1,
                                 tl_time_mono_ms, TL_SELECT_TUNE, share};
    tl_rec_evaluation_t ev = {0};
    rc = tl_rec_evaluate(st, &eo, &ev, eb);
    if (!rc) {
        const tl_rec_run_t *b = &ev.runs[ev.best];
        ms->p = runp[ev.best];
        if (j) {
            cJSON *t = cJSON_AddObjectToObject(j, "tuned");
            for (uint32_t q = 0; q < gr.np; q++) cJSON_AddNumberToObject(t, gr.name[q], param[ev.best][q]);
            cJSON_AddNumberToObject(t, "runs", nruns);
            cJSON_AddNumberToObject(t, "fit_interactions", (double)ev.fit_nnz);
            cJSON_AddNumberToObject(t, "validation_interactions", (double)ev.valid_nnz);
            cJSON_AddStringToObject(t, "validation_items", validation_kind(&ev, NULL));
            tl_eval_json_add(cJSON_AddObjectToObject(t, "validation"), &b->valid, NULL);
        } else {
            char what[64];
            if (ev.valid_from) snprintf(what, sizeof what, "the last %llu days", (unsigned long long)days);
            else snprintf(what, sizeof what, "each user's latest %g %% of items", share * 100);
            printf("tuned on %u combinations, %s held out (%llu interactions): best", nruns, what,
                   (unsigned long long)ev.valid_nnz);
            for (uint32_t q = 0; q < gr.np; q++) printf(" --%s %g", gr.name[q], param[ev.best][q]);
            printf(" (validation ndcg %.4f, recall %.4f)\n", b->valid.ndcg, b->valid.recall);
        }
    }
    tl_rec_evaluation_fini(&ev);
    free(param), free(runp);
    return rc;
}

int cmd_train(const command_t *c, const args_t *a) {
    int rc;
    modelspec_t ms;
    if ((rc = parse_modelspec(c, a, TL_MODEL_FOR_TRAIN, &ms))) return rc;
    const char *name = opt(c, a, "name") ? opt(c, a, "name") : ms.kind;
    for (const char *q = name; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-'))
            return die_usage(c, "--name: lower-case letters, digits, _ and -");
    static const char *const with_tune[] = {"grid", "valid-share", "valid-days"};
    for (size_t q = 0; q < 3 && !opt(c, a, "tune"); q++)
        if (opt(c, a, with_tune[q])) return die_usage(c, "--%s goes with --tune", with_tune[q]);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    cJSON *j = opt(c, a, "json") ? cJSON_CreateObject() : NULL;
    if (!rc && opt(c, a, "tune") && (rc = train_tune(c, a, st, &ms, j, &eb)) > 0) {
        tl_store_close(st);
        cJSON_Delete(j);
        return rc; /* a usage error, already told */
    }
    tl_model_t *m = NULL;
    tl_rec_trained_t x = {0};
    int64_t t0 = tl_time_mono_ms(), t1 = t0;
    if (!rc) {
        rc = tl_rec_train_store(st, ms.mi, &ms.p, ms.ix, &m, &x, &eb);
        t1 = tl_time_mono_ms();
    }
    char blob[256], path[4300];
    if (!rc) rc = tl_rec_model_save(st, name, m, &eb);
    if (!rc) rc = tl_store_blob_name(TL_BLOB_MODEL, name, blob, sizeof blob);
    if (!rc) rc = tl_store_blob_where(st, blob, path, sizeof path, &eb);
    tl_store_close(st);
    if (!rc && j) {
        cJSON_AddStringToObject(j, "model", ms.kind);
        cJSON_AddStringToObject(j, "name", name);
        cJSON_AddNumberToObject(j, "users", x.users);
        cJSON_AddNumberToObject(j, "items", x.items);
        cJSON_AddNumberToObject(j, "interactions", (double)x.interactions);
        add_resolved(j, ms.mi, &x.params);
        cJSON_AddNumberToObject(j, "seconds", (double)(t1 - t0) / 1000);
        print_json(j);
        j = NULL;
    } else if (!rc) {
        printf("trained %s (%s) on %u users x %u items, %llu interactions, in %.2f s: %s\n", name,
               ms.kind, x.users, x.items, (unsigned long long)x.interactions, (double)(t1 - t0) / 1000,
               path);
    }
    tl_model_free(m);
    cJSON_Delete(j);
    return rc ? fail_err("train", rc, &eb) : EXIT_OK;
}

const optspec_t REC_OPTS[] = {
    {"n", 1, "how many items (default 10)"},
    {"diversity", 1, "recommend: 0..1, weight of category diversity (MMR; default 0)"},
    {"tail-boost", 1, "recommend: added to scaled scores times 1 - popularity (default 0)"},
    {"head-cap", 1, "recommend: most share of the list from the top 10 % most popular (default 1)"},
    {"category", 1, "recommend: only these top-level categories, comma-separated"},
    {"exclude-category", 1, "recommend: not these top-level categories"},
    {"repurchase", 1, "recommend: categories whose items may be recommended again"},
    {"exclude", 1, "recommend: items never to show (hidden, out of stock), comma-separated"},
    {"scene", 1, "recommend: home (default), item:ID (a product page), cart (the open cart) or "
                 "purchase (just after an order: other categories)"},
    {"scene-weight", 1, "recommend: 0..1, weight of the scene's items against the user's tastes "
                        "(default 0.7)"},
    {"model", 1, "the model's name (default {default:serve}; {default:similar} for similar)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

static int title_row(uint32_t item, const tl_item_t *it, void *arg) {
    (void)item;
    if (it->title) snprintf(arg, 256, "%s", it->title);
    return 0;
}

/* "Title (id)" of an item when the catalogue has a title, else its id. */
static void item_label(tl_store_t *st, tl_dict_t *items, uint32_t idx, char *out, size_t cap) {
    char title[256] = "";
    tl_errbuf_t eb = {{0}};
    tl_store_get_item(st, idx, title_row, title, &eb);
    const char *id = tl_dict_str(items, idx, NULL);
    if (title[0]) snprintf(out, cap, "%s (%s)", title, id ? id : "?");
    else snprintf(out, cap, "%s", id ? id : "?");
}

int cmd_recommend(const command_t *c, const args_t *a) {
    int rc;
    if (a->npos != 1) return die_usage(c, "give one USER");
    uint64_t n;
    if ((rc = opt_u64(c, a, "n", 10, 1, TL_REC_MAX_N, &n))) return rc;
    const char *name = opt(c, a, "model") ? opt(c, a, "model") : tl_model_default(TL_MODEL_FOR_SERVE);
    tl_serve_opts_t so = {0};
    so.head_share = 0.10, so.head_cap = 1;
    const char *scene = opt(c, a, "scene") ? opt(c, a, "scene") : "home";
    if (strcmp(scene, "home") != 0 && strcmp(scene, "cart") != 0 &&
        strcmp(scene, "purchase") != 0 && strncmp(scene, "item:", 5) != 0)
        return die_usage(c, "--scene %s: use home, item:ID, cart or purchase", scene);
    if ((rc = opt_f64(c, a, "scene-weight", 0.7, 0, 1, &so.context_weight)) ||
        (rc = opt_f64(c, a, "diversity", 0, 0, 1, &so.diversity)) ||
        (rc = opt_f64(c, a, "tail-boost", 0, 0, 1e6, &so.tail_boost)) ||
        (rc = opt_f64(c, a, "head-cap", 1, 0, 1, &so.head_cap)))
        return rc;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_recsvc_t *rs = NULL;
    rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_recsvc_open(st, name, &rs, &eb);
    tl_model_t *m = rs ? rs->m : NULL;
    tl_dict_t *items = rc ? NULL : tl_store_dict(st, TL_D_ITEM, &eb);
    uint32_t u = TL_NONE;
    if (!rc) rc = tl_identity_find(st, NULL, a->pos[0], &u, &eb);
    /* a user who withdrew profiling is served what anybody is: the item on
     * screen still counts, the cart and past orders do not */
    uint32_t who = rs && u != TL_NONE ? tl_recsvc_subject(rs, u) : u;
    uint32_t ctx[8], nctx = 0;
    if (!rc && strncmp(scene, "item:", 5) == 0) {
        ctx[0] = tl_dict_find(items, scene + 5, strlen(scene + 5));
        if (ctx[0] == TL_NONE || ctx[0] >= rs->x.nitems) {
            tl_errbuf_set(&eb, "--scene %s: no such item in the catalogue", scene);
            rc = TL_ENOENT;
        }
        nctx = 1;
    } else if (!rc && strcmp(scene, "home") != 0 && who != TL_REC_ANONYMOUS) {
        rc = tl_rec_scene_items(st, u, strcmp(scene, "cart") == 0 ? TL_SCENE_CART : TL_SCENE_PURCHASE,
                                8, ctx, &nctx, &eb);
    }
    so.context = ctx, so.ncontext = nctx;
    const uint32_t *cats = rs ? rs->cats : NULL;
    const tl_dict_t *catnames = rs ? rs->catnames : NULL;
    uint8_t *inc = NULL, *exc = NULL, *rep = NULL, *exi = NULL;
    if (!rc) {
        so.item_cat = cats;
        so.ncats = tl_dict_count(catnames);
        const char *lists[3] = {opt(c, a, "category"), opt(c, a, "exclude-category"),
                                opt(c, a, "repurchase")};
        uint8_t **masks[3] = {&inc, &exc, &rep};
        for (int l = 0; l < 3 && !rc; l++) {
            if (!lists[l]) continue;
            *masks[l] = calloc(so.ncats + 1, 1);
            for (const char *q = lists[l]; *q && *masks[l];) {
                size_t len = strcspn(q, ",");
                uint32_t code = tl_dict_find(catnames, q, len);
                if (code == TL_NONE) {
                    tl_errbuf_set(&eb, "no category \"%.*s\" in the catalogue", (int)len, q);
                    rc = TL_EINVAL;
                    break;
                }
                (*masks[l])[code] = 1;
                q += len + (q[len] == ',');
            }
        }
        /* after an order: not more of what was just bought, unless it is bought again */
        if (!rc && strcmp(scene, "purchase") == 0 && nctx) {
            if (!exc) exc = calloc(so.ncats + 1, 1);
            for (uint32_t q = 0; exc && q < nctx; q++) {
                uint32_t cat = ctx[q] < rs->x.nitems ? cats[ctx[q]] : TL_NONE;
                if (cat != TL_NONE && !(rep && rep[cat])) exc[cat] = 1;
            }
        }
        so.include_cat = inc, so.exclude_cat = exc, so.repurchase_cat = rep;
        const char *ex = opt(c, a, "exclude");
        if (ex && (exi = calloc(rs->x.nitems + 1, 1))) {
            for (const char *q = ex; *q;) {
                size_t len = strcspn(q, ",");
                uint32_t it = tl_dict_find(items, q, len);
                if (it != TL_NONE && it < rs->x.nitems) exi[it] = 1;
                q += len + (q[len] == ',');
            }
            so.exclude_item = exi;
        }
    }
    tl_model_t *popm = rs ? rs->popm : NULL;
    so.content = rs ? rs->content : NULL;
    so.item_penalty = rs ? rs->penalty : NULL;
    tl_served_t *sv = malloc(n * sizeof *sv);
    uint32_t got = 0;
    if (!rc && !sv) rc = TL_ENOMEM;
    if (!rc) got = tl_rec_serve(m, popm, &rs->x, who, (uint32_t)n, &so, sv);
    if (!rc) {
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "items");
        cJSON_AddStringToObject(j, "user", a->pos[0]);
        cJSON_AddStringToObject(j, "model", name);
        cJSON_AddStringToObject(j, "scene", scene);
        cJSON_AddBoolToObject(j, "personalised", who != TL_REC_ANONYMOUS);
        cJSON *si = cJSON_AddArrayToObject(j, "scene_items");
        for (uint32_t q = 0; q < nctx; q++) {
            const char *id = tl_dict_str(items, ctx[q], NULL);
            cJSON_AddItemToArray(si, cJSON_CreateString(id ? id : ""));
        }
        for (uint32_t i = 0; i < got; i++) {
            cJSON *o = cJSON_CreateObject();
            const char *id = tl_dict_str(items, sv[i].item, NULL);
            cJSON_AddStringToObject(o, "item", id ? id : "");
            cJSON_AddNumberToObject(o, "score", sv[i].score);
            char reason[600];
            tl_recsvc_reason(rs, items, &sv[i], u, who, scene, reason, sizeof reason);
            cJSON_AddStringToObject(o, "reason", reason);
            if (cats && cats[sv[i].item] != TL_NONE)
                cJSON_AddStringToObject(o, "category", tl_dict_str(catnames, cats[sv[i].item], NULL));
            cJSON_AddItemToArray(arr, o);
        }
        if (opt(c, a, "json")) {
            print_json(j);
        } else {
            printf("top %u for %s (%s%s):\n", got, a->pos[0], name,
                   who != TL_REC_ANONYMOUS ? "" : "; not personalised: profiling withdrawn");
            cJSON *it;
            int r = 1;
            cJSON_ArrayForEach(it, arr)
                printf("%3d. %-16s %8.4f  %s\n", r++, cJSON_GetObjectItem(it, "item")->valuestring,
                       cJSON_GetObjectItem(it, "score")->valuedouble,
                       cJSON_GetObjectItem(it, "reason")->valuestring);
            cJSON_Delete(j);
        }
    }
    free(sv);
    free(inc), free(exc), free(rep), free(exi);
    tl_recsvc_free(rs);
    tl_store_close(st);
    return rc ? fail_err("recommend", rc, &eb) : EXIT_OK;
}

int cmd_similar(const command_t *c, const args_t *a) {
    int rc;
    if (a->npos != 1) return die_usage(c, "give one ITEM");
    uint64_t n;
    if ((rc = opt_u64(c, a, "n", 10, 1, TL_REC_MAX_N, &n))) return rc;
    const char *name = opt(c, a, "model") ? opt(c, a, "model") : tl_model_default(TL_MODEL_FOR_SIMILAR);
    tl_errbuf_t eb = {{0}};
    tl_model_t *m = NULL;
    tl_store_t *st = NULL;
    rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_rec_model_load(st, name, &m, &eb);
    /* without the default item-kNN model the items are alike by content */
    if (rc == TL_ENOENT && !opt(c, a, "model")) rc = 0, eb.msg[0] = 0;
    if (!rc && m && tl_model_kind(m) != TL_MODEL_KNN) {
        tl_errbuf_set(&eb, "%s is not an item-kNN model: train one with `tailor train --model knn`", name);
        rc = TL_EINVAL;
    }
    tl_dict_t *items = rc ? NULL : tl_store_dict(st, TL_D_ITEM, &eb);
    uint32_t it = items ? tl_dict_find(items, a->pos[0], strlen(a->pos[0])) : TL_NONE;
    if (!rc && it == TL_NONE) {
        tl_errbuf_set(&eb, "no item \"%s\" in %s", a->pos[0], data_dir(a));
        rc = TL_ENOENT;
    }
    uint32_t *nb = malloc(n * sizeof *nb), got = 0;
    float *sim = malloc(n * sizeof *sim);
    if (!rc && (!nb || !sim)) rc = TL_ENOMEM;
    tl_content_t *content = NULL;
    int by_content = 0;
    if (!rc) rc = tl_rec_content_load(st, tl_dict_count(items), &content, &eb);
    if (!rc) got = tl_rec_similar_items(m, content, it, (uint32_t)n, nb, sim, &by_content);
    tl_rec_content_free(content);
    if (!rc) {
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "items");
        cJSON_AddStringToObject(j, "item", a->pos[0]);
        cJSON_AddStringToObject(j, "by", by_content ? "content" : "interactions");
        char label[540];
        for (uint32_t i = 0; i < got; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "item", tl_dict_str(items, nb[i], NULL));
            cJSON_AddNumberToObject(o, "similarity", sim[i]);
            item_label(st, items, nb[i], label, sizeof label);
            cJSON_AddStringToObject(o, "label", label);
            cJSON_AddItemToArray(arr, o);
        }
        if (opt(c, a, "json")) {
            print_json(j);
        } else {
            item_label(st, items, it, label, sizeof label);
            printf("items like %s:\n", label);
            cJSON *o;
            int r = 1;
            cJSON_ArrayForEach(o, arr)
                printf("%3d. %.4f  %s\n", r++, cJSON_GetObjectItem(o, "similarity")->valuedouble,
                       cJSON_GetObjectItem(o, "label")->valuestring);
            cJSON_Delete(j);
        }
    }
    free(nb);
    free(sim);
    tl_model_free(m);
    tl_store_close(st);
    return rc ? fail_err("similar", rc, &eb) : EXIT_OK;
}
