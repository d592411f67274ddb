/* campaign.c -- the campaign commands: `campaign create|list|show|pause|
 * resume|run|dnc`, `report campaign`, `feedback import` and `uplift`.
 * Thin: the decisions are src/campaign's, the statistics
 * src/experiment's; this file loads what they need (audience, content
 * from a recommender or the lending policy) and prints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "cli.h"
#include "experiment/experiment.h"
#include "finance/finance.h"

const optspec_t CAMPAIGN_OPTS[] = {
    {"replace", 0, "create: replace the definition of an existing campaign"},
    {"at", 1, "run: the time of the run (default: now)"},
    {"all", 0, "run: every active campaign, highest priority first"},
    {"dry-run", 0, "run: decide and count, send and record nothing"},
    {"channel", 1, "dnc: the channel (default: every channel)"},
    {"reason", 1, "dnc: unsubscribed, bounced, complained or manual (default manual)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

/* ---- content ---------------------------------------------------------------------- */

typedef struct {
    tl_store_t *st;
    recsvc_t *rs;
    tl_dict_t *items, *products;
    tl_served_t sv[50];
    tl_offers_t *offers;
    tl_offer_t *of;
    const char *kind;  /* offers of this kind only (NULL: any) */
    const char *scene;
} content_t;

static int content_fn(uint32_t user, const tl_arm_t *arm, int64_t at, tl_buf_t *out, void *arg) {
    content_t *x = arg;
    (void)at;
    if (arm->content_type == TL_CONTENT_RECS && x->rs) {
        uint32_t got = recsvc_top(x->rs, user, arm->n, x->sv);
        if (!got) return 1;
        tl_buf_append(out, "{\"type\":\"recommendations\",\"items\":[", 35);
        for (uint32_t i = 0; i < got; i++) {
            size_t len;
            const char *id = tl_dict_str(x->items, x->sv[i].item, &len);
            if (i) tl_buf_append(out, ",", 1);
            tl_buf_json_str(out, id ? id : "", id ? len : 0);
        }
        return tl_buf_append(out, "]}", 2) ? TL_ENOMEM : 0;
    }
    if (arm->content_type == TL_CONTENT_OFFER && x->offers) {
        uint32_t n = tl_offers_for(x->offers, user, x->scene, x->of);
        for (uint32_t i = 0; i < n; i++) {
            const tl_offer_t *f = &x->of[i];
            if (!f->eligible || f->blocked || f->losing || f->error) continue;
            if (x->kind && strcmp(f->kind, x->kind) != 0) continue;
            tl_buf_append(out, "{\"type\":\"offer\",\"product\":", 26);
            tl_buf_json_str(out, f->id, strlen(f->id));
            tl_buf_append(out, ",\"kind\":", 8);
            tl_buf_json_str(out, f->kind, strlen(f->kind));
            tl_buf_append(out, ",\"name\":", 8);
            tl_buf_json_str(out, f->name ? f->name : "", f->name ? strlen(f->name) : 0);
            if (!isnan(f->apr)) tl_buf_printf(out, ",\"apr\":%.4g", f->apr);
            if (f->disclosure) {
                tl_buf_append(out, ",\"disclosure\":", 14);
                tl_buf_json_str(out, f->disclosure, strlen(f->disclosure));
            }
            return tl_buf_append(out, "}", 1) ? TL_ENOMEM : 0;
        }
        return 1;
    }
    return 0;
}

static const char *content_str(const tl_campaign_t *c, int type, const char *key) {
    for (int a = 0; a < c->narms; a++) {
        if (c->arms[a].content_type != type) continue;
        cJSON *j = cJSON_Parse(c->arms[a].content);
        const cJSON *v = cJSON_GetObjectItem(j, key);
        static char buf[128];
        const char *r = NULL;
        if (cJSON_IsString(v)) snprintf(buf, sizeof buf, "%s", v->valuestring), r = buf;
        cJSON_Delete(j);
        if (r) return r;
    }
    return NULL;
}

/* ---- run ------------------------------------------------------------------------------ */

static cJSON *run_json(const tl_campaign_t *c, const tl_run_result_t *r) {
    cJSON *j = cJSON_CreateObject(), *d = cJSON_CreateObject(), *arms = cJSON_CreateObject(),
          *ch = cJSON_CreateObject();
    char ts[32];
    tl_time_format(r->at, ts);
    cJSON_AddStringToObject(j, "campaign", c->id);
    cJSON_AddBoolToObject(j, "due", r->due);
    cJSON_AddNumberToObject(j, "run", r->due ? (double)r->run : 0);
    cJSON_AddStringToObject(j, "at", ts);
    if (r->next_due != INT64_MIN) {
        tl_time_format(r->next_due, ts);
        cJSON_AddStringToObject(j, "next_due", ts);
    }
    cJSON_AddNumberToObject(j, "audience", (double)r->audience);
    if (c->trig) cJSON_AddNumberToObject(j, "trigger_events", (double)r->triggers);
    for (int k = 0; k < TL_DEC__N; k++) cJSON_AddNumberToObject(d, tl_decision_name(k), (double)r->counts[k]);
    cJSON_AddItemToObject(j, "decisions", d);
    for (int a = 0; a < c->narms; a++) cJSON_AddNumberToObject(arms, c->arms[a].name, (double)r->by_arm[a]);
    cJSON_AddItemToObject(j, "deliveries_by_arm", arms);
    for (int k = 0; k < c->nchannels; k++)
        cJSON_AddNumberToObject(ch, tl_dchannel_name(c->channels[k]), (double)r->by_channel[c->channels[k]]);
    cJSON_AddItemToObject(j, "deliveries_by_channel", ch);
    cJSON_AddNumberToObject(j, "cost", r->cost);
    return j;
}

static void print_run(const tl_campaign_t *c, const tl_run_result_t *r) {
    char ts[32];
    tl_time_format(r->at, ts);
    if (!r->due) {
        char nx[32] = "never";
        if (r->next_due != INT64_MIN) tl_time_format(r->next_due, nx);
        printf("campaign %s: nothing due at %s (next: %s)\n", c->id, ts, nx);
        return;
    }
    printf("campaign %s run %llu at %s: audience=%llu", c->id, (unsigned long long)r->run, ts,
           (unsigned long long)r->audience);
    if (c->trig) printf(" (from %llu trigger events)", (unsigned long long)r->triggers);
    printf("\n ");
    for (int k = 0; k < TL_DEC__N; k++)
        if (r->counts[k] || k <= TL_DEC_HOLDOUT)
            printf(" %s=%llu", tl_decision_name(k), (unsigned long long)r->counts[k]);
    printf("\n  deliveries by arm:");
    for (int a = 0; a < c->narms; a++) printf(" %s=%llu", c->arms[a].name, (unsigned long long)r->by_arm[a]);
    printf("; by channel:");
    for (int k = 0; k < c->nchannels; k++)
        printf(" %s=%llu", tl_dchannel_name(c->channels[k]), (unsigned long long)r->by_channel[c->channels[k]]);
    if (r->cost > 0) printf("; cost %.2f", r->cost);
    printf("\n");
}

/* One campaign's run, with its audience and content loaded. */
static int run_one(const command_t *cmd, const args_t *a, const char *id, int64_t at, cJSON *all) {
    tl_errbuf_t eb = {{0}};
    segctx_t sx = {0};
    tl_store_t *st = NULL;
    tl_campaign_t c;
    int rc = tl_store_open(data_dir(a), TL_STORE_CREATE, &st, &eb);
    if (!rc) rc = tl_campaign_get(st, id, &c, &eb);
    if (rc) {
        tl_store_close(st);
        return fail_err("campaign run", rc, &eb);
    }
    int need_profiles = strcmp(c.audience, "true") != 0, need_recs = 0, need_offers = 0;
    for (int k = 0; k < c.narms; k++) {
        need_recs |= c.arms[k].content_type == TL_CONTENT_RECS && !strstr(c.arms[k].content, "\"items\"");
        need_offers |= c.arms[k].content_type == TL_CONTENT_OFFER;
    }
    need_profiles |= need_offers;
    uint8_t *mask = NULL;
    uint32_t size = 0;
    int ex = EXIT_OK;
    if (need_profiles) {
        tl_store_close(st);
        st = NULL;
        rc = segctx_open(a, 1, &sx, &eb);
        if (!rc) {
            st = sx.st;
            char *expr = NULL;
            int r2 = tl_store_segment_get(st, c.audience, &expr, &eb);
            if (r2 && r2 != TL_ENOENT) rc = r2;
            if (!rc && strcmp(c.audience, "true") != 0)
                ex = seg_mask(&sx, cmd->name, expr ? expr : c.audience, &mask, &size);
            free(expr);
        }
    }
    content_t ct = {.st = st};
    if (!rc && !ex && need_recs) {
        const char *model = content_str(&c, TL_CONTENT_RECS, "model");
        rc = recsvc_open(st, data_dir(a), model ? model : "ials", &ct.rs, &eb);
        if (rc == TL_ENOENT || rc == TL_EIO)
            tl_errbuf_set(&eb, "campaign %s sends recommendations: train a model first "
                          "(`tailor train --model %s`)", c.id, model ? model : "ials");
    }
    if (!rc && !ex && !(ct.items = tl_store_dict(st, TL_D_ITEM, &eb))) rc = TL_ENOMEM;
    tl_scorecard_t *sc = NULL;
    if (!rc && !ex && need_offers) {
        char card[4300];
        snprintf(card, sizeof card, "%s/models/scorecard.json", data_dir(a));
        if (tl_scorecard_load(card, &sc, &eb) != 0) sc = NULL; /* then no one has a band */
        const char *cat = content_str(&c, TL_CONTENT_OFFER, "category");
        tl_offer_scene_t scene = {cat, NAN};
        ct.scene = content_str(&c, TL_CONTENT_OFFER, "scene");
        ct.kind = content_str(&c, TL_CONTENT_OFFER, "kind");
        rc = tl_offers_new(st, sx.p, sc, NULL, &scene, TL_NONE, &ct.offers, &eb);
        if (!rc && !(ct.of = calloc(tl_offers_nproducts(ct.offers) + 1, sizeof *ct.of))) rc = TL_ENOMEM;
    }
    tl_run_opts_t o = {.at = at, .audience = mask, .nusers = size ? tl_profile_nusers(sx.p) : 0,
                       .content = content_fn, .content_arg = &ct, .dry_run = opt(cmd, a, "dry-run") != NULL};
    if (mask) o.nusers = tl_profile_nusers(sx.p);
    char *gc = NULL;
    if (!rc && !ex && tl_store_config_get(st, "global_control", &gc, &eb) == 0 && gc) o.global_control = atof(gc);
    free(gc);
    tl_run_result_t res;
    if (!rc && !ex) rc = tl_campaign_run(st, &c, &o, &res, &eb);
    if (!rc && !ex) {
        if (all) cJSON_AddItemToArray(all, run_json(&c, &res));
        else if (opt(cmd, a, "json")) print_json(run_json(&c, &res));
        else print_run(&c, &res);
    }
    free(ct.of);
    tl_offers_free(ct.offers);
    tl_scorecard_free(sc);
    recsvc_close(ct.rs);
    free(mask);
    tl_campaign_fini(&c);
    if (sx.st) segctx_close(&sx);
    else tl_store_close(st);
    if (ex) return ex;
    return rc ? fail_err("campaign run", rc, &eb) : EXIT_OK;
}

typedef struct {
    char (*ids)[65];
    int *prio;
    int n, cap;
    tl_store_t *st;
} actives_t;

static int active_row(const tl_campaign_info_t *ci, void *arg) {
    actives_t *x = arg;
    if (strcmp(ci->status, "active") != 0) return 0;
    if (x->n == x->cap) {
        int nc = x->cap ? x->cap * 2 : 16;
        void *a = realloc(x->ids, (size_t)nc * sizeof *x->ids), *b = realloc(x->prio, (size_t)nc * sizeof *x->prio);
        if (a) x->ids = a;
        if (b) x->prio = b;
        if (!a || !b) return TL_ENOMEM;
        x->cap = nc;
    }
    tl_campaign_t c;
    tl_errbuf_t eb;
    x->prio[x->n] = tl_campaign_get(x->st, ci->id, &c, &eb) == 0 ? c.priority : 0;
    tl_campaign_fini(&c);
    snprintf(x->ids[x->n++], 65, "%s", ci->id);
    return 0;
}

static int campaign_run(const command_t *cmd, const args_t *a) {
    int64_t at = tl_time_now_ms();
    const char *ats = opt(cmd, a, "at");
    if (ats && tl_time_parse(ats, strlen(ats), &at)) return die_usage(cmd, "--at %s: not a time", ats);
    if (!opt(cmd, a, "all")) {
        if (a->npos != 2) return die_usage(cmd, "give the campaign's id, or --all");
        return run_one(cmd, a, a->pos[1], at, NULL);
    }
    /* every active campaign, the highest priority first: it takes the caps */
    tl_errbuf_t eb = {{0}};
    actives_t x = {0};
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &x.st, &eb);
    if (!rc) rc = tl_campaign_list(x.st, NULL, active_row, &x, &eb);
    tl_store_close(x.st);
    if (rc) return fail_err("campaign run", rc, &eb);
    for (int i = 1; i < x.n; i++)
        for (int j = i; j > 0 && x.prio[j - 1] < x.prio[j]; j--) {
            char t[65];
            int p = x.prio[j];
            memcpy(t, x.ids[j], 65), memcpy(x.ids[j], x.ids[j - 1], 65), memcpy(x.ids[j - 1], t, 65);
            x.prio[j] = x.prio[j - 1], x.prio[j - 1] = p;
        }
    cJSON *arr = opt(cmd, a, "json") ? cJSON_CreateArray() : NULL;
    int ex = EXIT_OK;
    for (int i = 0; i < x.n && !ex; i++) ex = run_one(cmd, a, x.ids[i], at, arr);
    if (arr && !ex) print_json(arr);
    else cJSON_Delete(arr);
    free(x.ids), free(x.prio);
    return ex;
}

/* ---- create, list, show, pause ------------------------------------------------------------ */

static int list_row(const tl_campaign_info_t *ci, void *arg) {
    cJSON *arr = arg;
    char ts[32] = "";
    if (ci->last_at != INT64_MIN) tl_time_format(ci->last_at, ts);
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", ci->id);
        cJSON_AddStringToObject(o, "name", ci->name);
        cJSON_AddStringToObject(o, "status", ci->status);
        cJSON_AddNumberToObject(o, "runs", (double)ci->runs);
        cJSON_AddNumberToObject(o, "sends", (double)ci->sends);
        cJSON_AddNumberToObject(o, "cost", ci->cost);
        if (*ts) cJSON_AddStringToObject(o, "last_run_at", ts);
        cJSON_AddItemToArray(arr, o);
    } else {
        printf("%-20s %-8s runs=%-4llu sends=%-9llu last=%s  %s\n", ci->id, ci->status,
               (unsigned long long)ci->runs, (unsigned long long)ci->sends, *ts ? ts : "-", ci->name);
    }
    return 0;
}

static int run_row(int n, const char *const *cols, void *arg) {
    cJSON *runs = arg;
    (void)n;
    cJSON *o = cJSON_CreateObject();
    char ts[32] = "";
    if (cols[1]) tl_time_format(atoll(cols[1]), ts);
    cJSON_AddNumberToObject(o, "run", cols[0] ? atof(cols[0]) : 0);
    cJSON_AddStringToObject(o, "at", ts);
    cJSON_AddItemToObject(o, "decisions", cJSON_Parse(cols[2] ? cols[2] : "{}"));
    cJSON_AddItemToArray(runs, o);
    return 0;
}

static int campaign_show(const command_t *cmd, const args_t *a, tl_store_t *st, tl_errbuf_t *eb) {
    tl_campaign_t c;
    int rc = tl_campaign_get(st, a->pos[1], &c, eb);
    if (rc) return rc;
    cJSON *j = cJSON_CreateObject(), *info = cJSON_CreateArray(), *runs = cJSON_CreateArray();
    cJSON_AddItemToObject(j, "definition", cJSON_Parse(c.def));
    rc = tl_campaign_list(st, c.id, list_row, info, eb);
    cJSON *first = cJSON_GetArrayItem(info, 0);
    if (first) cJSON_AddItemToObject(j, "state", cJSON_Duplicate(first, 1));
    cJSON_Delete(info);
    if (!rc) rc = tl_store_queryf(st, eb, run_row, runs, "SELECT run, at, counts FROM campaign_runs "
                                  "WHERE campaign = ?1 ORDER BY run", "t", c.id);
    cJSON_AddItemToObject(j, "runs", runs);
    tl_campaign_fini(&c);
    if (rc) {
        cJSON_Delete(j);
        return rc;
    }
    if (opt(cmd, a, "json")) {
        print_json(j);
    } else {
        char *s = cJSON_Print(j);
        if (s) puts(s);
        cJSON_free(s);
        cJSON_Delete(j);
    }
    return 0;
}

static int campaign_dnc(const command_t *cmd, const args_t *a, tl_store_t *st, tl_errbuf_t *eb) {
    if (a->npos != 2) return die_usage(cmd, "dnc needs a USER");
    const char *ch = opt(cmd, a, "channel") ? opt(cmd, a, "channel") : "*";
    const char *reason = opt(cmd, a, "reason") ? opt(cmd, a, "reason") : "manual";
    static const char *const REASONS[] = {"unsubscribed", "bounced", "complained", "manual"};
    int ok = 0;
    for (int k = 0; k < 4; k++) ok |= strcmp(reason, REASONS[k]) == 0;
    if (!ok) return die_usage(cmd, "--reason %s: use unsubscribed, bounced, complained or manual", reason);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, eb);
    uint32_t u = users ? tl_dict_find(users, a->pos[1], strlen(a->pos[1])) : TL_NONE;
    if (u == TL_NONE) {
        tl_errbuf_set(eb, "no user \"%s\"", a->pos[1]);
        return TL_ENOENT;
    }
    int rc = tl_store_begin(st, eb);
    if (!rc) rc = tl_dnc_put(st, u, ch, reason, tl_time_now_ms(), NULL, eb);
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    if (!rc) printf("%s: do not contact on %s (%s)\n", a->pos[1], strcmp(ch, "*") ? ch : "any channel", reason);
    return rc;
}

int cmd_campaign(int argc, char **argv) {
    const command_t *cmd = command_named("campaign");
    args_t a;
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos < 1) return die_usage(cmd, "give a subcommand: create, list, show, pause, resume, run, dnc");
    const char *sub = a.pos[0];
    if (strcmp(sub, "run") == 0) return campaign_run(cmd, &a);
    int writes = strcmp(sub, "create") == 0 || strcmp(sub, "pause") == 0 ||
                 strcmp(sub, "resume") == 0 || strcmp(sub, "dnc") == 0;
    if (!writes && strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0)
        return die_usage(cmd, "unknown subcommand %s", sub);
    if (strcmp(sub, "list") != 0 && strcmp(sub, "dnc") != 0 && a.npos != 2)
        return die_usage(cmd, "%s needs %s", sub, strcmp(sub, "create") == 0 ? "a FILE" : "a campaign id");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    rc = tl_store_open(data_dir(&a), writes ? TL_STORE_CREATE : TL_STORE_READONLY, &st, &eb);
    if (!rc && strcmp(sub, "create") == 0) {
        char *text = NULL;
        if (tl_read_file(a.pos[1], &text, NULL)) {
            tl_errbuf_set(&eb, "cannot read %s", a.pos[1]);
            rc = TL_EIO;
        }
        tl_campaign_t c;
        if (!rc) rc = tl_campaign_create(st, text, opt(cmd, &a, "replace") != NULL, &c, &eb);
        free(text);
        if (rc == TL_EBADINPUT) {
            fprintf(stderr, "tailor campaign create: %s: %s\n", a.pos[1], eb.msg);
            tl_store_close(st);
            return EXIT_BADINPUT;
        }
        if (!rc) {
            printf("campaign %s (%s): %d arm%s, hold-out %g %%, channels", c.id, c.name, c.narms,
                   c.narms == 1 ? "" : "s", c.holdout);
            for (int k = 0; k < c.nchannels; k++) printf(" %s", tl_dchannel_name(c.channels[k]));
            printf(", %s\n", c.trig ? "triggered" : c.sched == TL_SCHED_NOW ? "on each run" : "scheduled");
            tl_campaign_fini(&c);
        }
    } else if (!rc && strcmp(sub, "list") == 0) {
        cJSON *arr = opt(cmd, &a, "json") ? cJSON_CreateArray() : NULL;
        rc = tl_campaign_list(st, NULL, list_row, arr, &eb);
        if (arr && !rc) print_json(arr);
        else cJSON_Delete(arr);
    } else if (!rc && strcmp(sub, "show") == 0) {
        rc = campaign_show(cmd, &a, st, &eb);
    } else if (!rc && strcmp(sub, "dnc") == 0) {
        rc = campaign_dnc(cmd, &a, st, &eb);
    } else if (!rc) {
        int pause = strcmp(sub, "pause") == 0;
        rc = tl_campaign_set_status(st, a.pos[1], pause ? "paused" : "active", &eb);
        if (!rc) printf("campaign %s is %s\n", a.pos[1], pause ? "paused" : "active");
    }
    tl_store_close(st);
    if (rc == EXIT_USAGE) return rc;
    return rc ? fail_err("campaign", rc, &eb) : EXIT_OK;
}

/* ---- report campaign -------------------------------------------------------------------- */

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static void add_iv(cJSON *o, const char *key, double v, double lo, double hi) {
    cJSON *x = cJSON_CreateObject();
    cJSON_AddItemToObject(x, "value", num_or_null(v));
    cJSON_AddItemToObject(x, "lo", num_or_null(lo));
    cJSON_AddItemToObject(x, "hi", num_or_null(hi));
    cJSON_AddItemToObject(o, key, x);
}

static cJSON *report_json(const tl_campaign_t *c, const tl_campaign_report_t *r) {
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
        cJSON_AddItemToObject(o, "revenue_per_user", num_or_null(s->revenue));
        cJSON_AddItemToObject(o, "average_order_value", num_or_null(s->aov));
        cJSON_AddItemToObject(o, "repurchase_rate", num_or_null(s->converted ? (double)s->repeaters / (double)s->converted : NAN));
        cJSON_AddItemToObject(o, "unsubscribe_rate", num_or_null(n ? (double)s->unsubscribed / n : NAN));
        cJSON_AddItemToObject(o, "complaint_rate", num_or_null(n ? (double)s->complained / n : NAN));
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
        cJSON_AddItemToArray(groups, o);
    }
    cJSON_AddItemToObject(j, "groups", groups);
    return j;
}

static void print_report(const tl_campaign_t *c, const tl_campaign_report_t *r) {
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
        printf("  %-10s %9llu %9llu %6.3f%% [%5.3f,%5.3f] %10.2f %9.2f %7.1f%%\n", s->name,
               (unsigned long long)s->users, (unsigned long long)s->converted,
               n ? 100 * (double)s->converted / n : 0, 100 * s->conv_lo, 100 * s->conv_hi, s->revenue,
               s->aov, s->converted ? 100.0 * (double)s->repeaters / (double)s->converted : 0);
    }
    for (int g = 0; g < r->ngroups; g++) {
        const tl_group_stats_t *s = &r->g[g];
        if (!s->compared) continue;
        printf("\n  %s vs %s:\n", s->name, r->g[r->control].name);
        printf("    conversion  %+.3f pts [%+.3f, %+.3f], relative %+.1f%% [%+.1f%%, %+.1f%%], "
               "z=%.2f p=%.4g (adjusted %.4g)\n", 100 * s->conv.diff, 100 * s->conv.diff_lo,
               100 * s->conv.diff_hi, 100 * s->conv.rel, 100 * s->conv.rel_lo, 100 * s->conv.rel_hi,
               s->conv.z, s->conv.p, s->p_conv_adj);
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

int report_campaign(const command_t *cmd, const args_t *a, const char *id) {
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_campaign_t c;
    tl_campaign_report_t r;
    tl_report_opts_t o = {.conf = 0.95, .correction = opt(cmd, a, "bh") != NULL};
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_campaign_get(st, id, &c, &eb);
    if (!rc) {
        rc = tl_campaign_report(st, &c, &o, &r, &eb);
        if (!rc) {
            if (opt(cmd, a, "json")) print_json(report_json(&c, &r));
            else print_report(&c, &r);
            tl_campaign_report_fini(&r);
        }
        tl_campaign_fini(&c);
    }
    tl_store_close(st);
    return rc ? fail_err("report campaign", rc, &eb) : EXIT_OK;
}

/* ---- feedback ----------------------------------------------------------------------------- */

const optspec_t FEEDBACK_OPTS[] = {{"json", 0, "print the summary as JSON"}, {NULL, 0, NULL}};

static void fb_reject(const char *source, uint64_t line, tl_reason_t reason, const char *msg,
                      void *arg) {
    uint64_t *shown = arg;
    if ((*shown)++ < 10) fprintf(stderr, "%s:%llu: %s: %s\n", source, (unsigned long long)line, tl_reason_name(reason), msg);
}

int cmd_feedback(int argc, char **argv) {
    const command_t *cmd = command_named("feedback");
    args_t a;
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos != 2 || strcmp(a.pos[0], "import") != 0) return die_usage(cmd, "say import FILE");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_feedback_stats_t s;
    uint64_t shown = 0;
    rc = tl_store_open(data_dir(&a), TL_STORE_CREATE, &st, &eb);
    if (!rc) rc = tl_feedback_import(st, a.pos[1], &s, fb_reject, &shown, &eb);
    tl_store_close(st);
    if (rc) return fail_err("feedback import", rc, &eb);
    if (shown > 10) fprintf(stderr, "... and %llu more rejected rows (`tailor quarantine list`)\n",
                            (unsigned long long)(shown - 10));
    if (opt(cmd, &a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "read", (double)s.read);
        cJSON_AddNumberToObject(j, "accepted", (double)s.accepted);
        cJSON_AddNumberToObject(j, "duplicates", (double)s.duplicates);
        cJSON_AddNumberToObject(j, "quarantined", (double)s.rejected);
        cJSON_AddNumberToObject(j, "suppressed", (double)s.suppressed);
        print_json(j);
    } else {
        printf("suppressed=%llu (new do-not-contact entries)\nread=%llu accepted=%llu duplicates=%llu quarantined=%llu\n",
               (unsigned long long)s.suppressed, (unsigned long long)s.read, (unsigned long long)s.accepted,
               (unsigned long long)s.duplicates, (unsigned long long)s.rejected);
    }
    return EXIT_OK;
}
