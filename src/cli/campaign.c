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

const optspec_t CAMPAIGN_OPTS[] = {
    {"replace", 0, "create: replace the definition of an existing campaign"},
    {"at", 1, "run: the time of the run (default: now)"},
    {"all", 0, "run: every active campaign, highest priority first"},
    {"dry-run", 0, "run: decide and count, send and record nothing"},
    {"channel", 1, "dnc: the channel (default: every channel)"},
    {"reason", 1, "dnc: unsubscribed, bounced, complained or manual (default manual)"},
    {"url", 1, "deliver: the gateway to post records to (default: setting webhook_url)"},
    {"retries", 1, "deliver: retries of a failing post before the pass stops (default 5)"},
    {"now", 1, "deliver: the time records must be due by (default: now)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

/* ---- run ------------------------------------------------------------------------------ */

static void print_run(const tl_campaign_t *c, const tl_run_result_t *r) {
    char ts[32];
    tl_time_format(r->at, ts);
    if (!r->due) {
        char nx[32] = "never";
        if (r->next_due != INT64_MIN) tl_time_format(r->next_due, nx);
        printf("campaign %s%s: nothing due at %s (next: %s)\n", c->id, r->dry_run ? " (dry run)" : "", ts, nx);
        return;
    }
    if (r->dry_run) printf("campaign %s dry run at %s, nothing sent or recorded: audience=%llu", c->id, ts,
                           (unsigned long long)r->audience);
    else printf("campaign %s run %llu at %s: audience=%llu", c->id, (unsigned long long)r->run, ts,
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
    tl_store_t *st = NULL;
    tl_profiles_t *p = NULL;
    tl_campaign_t c;
    int rc = tl_store_open(data_dir(a), TL_STORE_CREATE, &st, &eb);
    if (!rc) rc = tl_campaign_get(st, id, &c, &eb);
    if (rc) {
        tl_store_close(st);
        return fail_err("campaign run", rc, &eb);
    }
    /* the profiles as last built, when the run needs them and there are any */
    if (tl_campaign_needs_profiles(&c) && tl_profile_load(st, &p, &eb) != 0) p = NULL, eb.msg[0] = 0;
    tl_run_env_t env = {.dir = data_dir(a), .p = p, .at = at, .dry_run = opt(cmd, a, "dry-run") != NULL};
    tl_run_result_t res;
    rc = tl_campaign_run_env(st, &c, &env, &res, &eb);
    if (!rc) {
        if (all) cJSON_AddItemToArray(all, tl_run_result_json(&c, &res));
        else if (opt(cmd, a, "json")) print_json(tl_run_result_json(&c, &res));
        else print_run(&c, &res);
    }
    tl_campaign_fini(&c);
    tl_profile_free(p);
    tl_store_close(st);
    if (rc == TL_EBADINPUT) return cli_fail("campaign", EXIT_USAGE, rc, "%s", eb.msg);
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

/* ---- deliver ---------------------------------------------------------------------------- */

static int campaign_deliver(const command_t *cmd, const args_t *a) {
    tl_deliver_opts_t o = {.channel = -1, .now = tl_time_now_ms(), .timeout_ms = 10000};
    const char *ch = opt(cmd, a, "channel"), *now = opt(cmd, a, "now");
    uint64_t retries;
    int rc = opt_u64(cmd, a, "retries", 5, 0, 100, &retries);
    if (rc) return rc;
    o.retries = (uint32_t)retries;
    if (ch && (o.channel = tl_dchannel_find(ch)) < 0) return die_usage(cmd, "--channel %s: not a delivery channel", ch);
    if (now && tl_time_parse(now, strlen(now), &o.now)) return die_usage(cmd, "--now %s: not a time", now);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    char *url = NULL;
    rc = tl_store_open(data_dir(a), 0, &st, &eb);
    if (!rc && !opt(cmd, a, "url") && tl_store_config_get(st, "webhook_url", &url, &eb) != 0) {
        tl_store_close(st);
        return die_usage(cmd, "give --url, or set webhook_url");
    }
    o.url = opt(cmd, a, "url") ? opt(cmd, a, "url") : url;
    tl_deliver_stats_t s = {0};
    if (!rc) rc = tl_campaign_deliver(st, &o, &s, &eb);
    tl_store_close(st);
    free(url);
    if (opt(cmd, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "posted", (double)s.posted);
        cJSON_AddNumberToObject(j, "held", (double)s.held);
        cJSON_AddNumberToObject(j, "failed", (double)s.failed);
        cJSON_AddNumberToObject(j, "retries", (double)s.retries);
        cJSON_AddBoolToObject(j, "complete", rc == 0);
        print_json(j);
    } else {
        printf("posted=%llu held=%llu (not due yet) failed=%llu retries=%llu\n", (unsigned long long)s.posted,
               (unsigned long long)s.held, (unsigned long long)s.failed, (unsigned long long)s.retries);
    }
    return rc ? fail_err("campaign deliver", rc, &eb) : EXIT_OK;
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

static int run_row(const tl_campaign_run_row_t *r, void *arg) {
    cJSON *runs = arg;
    cJSON *o = cJSON_CreateObject();
    char ts[32];
    tl_time_format(r->at, ts);
    cJSON_AddNumberToObject(o, "run", (double)r->run);
    cJSON_AddStringToObject(o, "at", ts);
    cJSON_AddItemToObject(o, "decisions", cJSON_Parse(r->counts));
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
    if (!rc) rc = tl_store_campaign_runs(st, c.id, run_row, runs, eb);
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

int cmd_campaign(const command_t *cmd, const args_t *a) {
    int rc;
    if (a->npos < 1) return die_usage(cmd, "give a subcommand: create, list, show, pause, resume, run, dnc");
    const char *sub = a->pos[0];
    if (strcmp(sub, "run") == 0) return campaign_run(cmd, a);
    if (strcmp(sub, "deliver") == 0) return campaign_deliver(cmd, a);
    int writes = strcmp(sub, "create") == 0 || strcmp(sub, "pause") == 0 ||
                 strcmp(sub, "resume") == 0 || strcmp(sub, "dnc") == 0 || strcmp(sub, "control") == 0;
    if (!writes && strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0)
        return die_usage(cmd, "unknown subcommand %s", sub);
    if (strcmp(sub, "list") != 0 && strcmp(sub, "dnc") != 0 && a->npos != 2)
        return die_usage(cmd, "%s needs %s", sub, strcmp(sub, "create") == 0 ? "a FILE"
                         : strcmp(sub, "control") == 0 ? "a percentage" : "a campaign id");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    rc = tl_store_open(data_dir(a), writes ? TL_STORE_CREATE : TL_STORE_READONLY, &st, &eb);
    if (!rc && strcmp(sub, "create") == 0) {
        char *text = NULL;
        if (tl_read_file(a->pos[1], &text, NULL)) {
            tl_errbuf_set(&eb, "cannot read %s", a->pos[1]);
            rc = TL_EIO;
        }
        tl_campaign_t c;
        if (!rc) rc = tl_campaign_create(st, text, opt(cmd, a, "replace") != NULL, &c, &eb);
        free(text);
        if (rc == TL_EBADINPUT) {
            tl_store_close(st);
            return cli_fail("campaign create", EXIT_USAGE, rc, "%s: %s", a->pos[1], eb.msg);
        }
        if (!rc) {
            printf("campaign %s (%s): %d arm%s, hold-out %g %%, channels", c.id, c.name, c.narms,
                   c.narms == 1 ? "" : "s", c.holdout);
            for (int k = 0; k < c.nchannels; k++) printf(" %s", tl_dchannel_name(c.channels[k]));
            printf(", %s\n", c.trig ? "triggered" : c.sched == TL_SCHED_NOW ? "on each run" : "scheduled");
            tl_campaign_fini(&c);
        }
    } else if (!rc && strcmp(sub, "list") == 0) {
        cJSON *arr = opt(cmd, a, "json") ? cJSON_CreateArray() : NULL;
        rc = tl_campaign_list(st, NULL, list_row, arr, &eb);
        if (arr && !rc) print_json(arr);
        else cJSON_Delete(arr);
    } else if (!rc && strcmp(sub, "show") == 0) {
        rc = campaign_show(cmd, a, st, &eb);
    } else if (!rc && strcmp(sub, "dnc") == 0) {
        rc = campaign_dnc(cmd, a, st, &eb);
    } else if (!rc && strcmp(sub, "control") == 0) {
        /* the global control group: kept out of every campaign */
        double pct;
        if (tl_parse_f64(a->pos[1], strlen(a->pos[1]), &pct) || !(pct >= 0 && pct < 50)) {
            tl_store_close(st);
            return die_usage(cmd, "control %s: give a percentage from 0 to below 50", a->pos[1]);
        }
        rc = tl_store_begin(st, &eb);
        if (!rc) rc = tl_store_config_put(st, "global_control", a->pos[1], &eb);
        if (!rc) rc = tl_store_commit(st, &eb);
        else tl_store_rollback(st);
        if (!rc) printf("global control group: %g %% of users, kept out of every campaign\n", pct);
    } else if (!rc) {
        int pause = strcmp(sub, "pause") == 0;
        rc = tl_campaign_set_status(st, a->pos[1], pause ? "paused" : "active", &eb);
        if (!rc) printf("campaign %s is %s\n", a->pos[1], pause ? "paused" : "active");
    }
    tl_store_close(st);
    if (rc == EXIT_USAGE) return rc;
    return rc ? fail_err("campaign", rc, &eb) : EXIT_OK;
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

/* ---- feedback ----------------------------------------------------------------------------- */

const optspec_t FEEDBACK_OPTS[] = {{"json", 0, "print the summary as JSON"}, {NULL, 0, NULL}};

static void fb_reject(const char *source, uint64_t line, tl_reason_t reason, const char *msg,
                      void *arg) {
    note_reject(arg, 10, source, line, reason, msg);
}

int cmd_feedback(const command_t *cmd, const args_t *a) {
    int rc;
    if (a->npos != 2 || strcmp(a->pos[0], "import") != 0) return die_usage(cmd, "say import FILE");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_feedback_stats_t s;
    uint64_t shown = 0;
    rc = tl_store_open(data_dir(a), TL_STORE_CREATE, &st, &eb);
    tl_source_t src = tl_source_file(a->pos[1]);
    if (!rc) rc = tl_feedback_import(st, &src, &s, fb_reject, &shown, &eb);
    tl_store_close(st);
    if (rc) return fail_err("feedback import", rc, &eb);
    if (shown > 10) note("... and %llu more rejected rows (`tailor quarantine list`)",
                            (unsigned long long)(shown - 10));
    if (opt(cmd, a, "json")) {
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

/* ---- uplift ------------------------------------------------------------------------------- */

const optspec_t UPLIFT_OPTS[] = {
    {"campaign", 1, "the experiment: a campaign's exposures and outcomes, users described by their profiles"},
    {"csv", 1, "the experiment as a table instead: one row a unit, with --treatment and --outcome columns"},
    {"treatment", 1, "csv: the treatment column (1 treated, 0 control)"},
    {"outcome", 1, "csv: the outcome column (1 converted, 0 not)"},
    {"method", 1, "train: two-model (default) or class (class transformation)"},
    {"features", 1, "the features, comma-separated (default: a set of profile columns; csv: every other numeric column)"},
    {"model", 1, "the model file (default DATA/models/uplift-CAMPAIGN.json)"},
    {"test-share", 1, "train: share of units held out to measure the model (default 0.3)"},
    {"top", 1, "apply: target this percentage with the highest uplift (default 20)"},
    {"value", 1, "apply: value of one conversion (default 100)"},
    {"cost", 1, "apply: cost of one message (default 0.05)"},
    {"margin", 1, "apply: share of the value that is profit (default the campaign's, else 0.3)"},
    {"effects", 1, "report: true effects per user (CSV user,effect, from `gen respond --effects`)"},
    {"out", 1, "apply: write every user's uplift here (CSV user,uplift)"},
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

static int load_rows(const command_t *cmd, const args_t *a, const char *features, xrows_t *r,
                     uint32_t **users_out, tl_errbuf_t *eb) {
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
    if (!tc || !oc) {
        tl_errbuf_set(eb, "--csv needs --treatment COL and --outcome COL");
        return TL_EINVAL;
    }
    tl_table_opts_t to = {0};
    tl_source_t src = tl_source_file(csv);
    if ((rc = tl_table_read(&src, &to, &r->table, NULL, NULL, eb))) return rc;
    tl_table_t *t = &r->table;
    uint32_t ct = tl_table_column(t, tc), co = tl_table_column(t, oc);
    if (ct == TL_NONE || co == TL_NONE) {
        tl_errbuf_set(eb, "%s: no column \"%s\"", csv, ct == TL_NONE ? tc : oc);
        return TL_EINVAL;
    }
    if (features) {
        rc = split_names(features, r, eb);
    } else {
        for (uint32_t c = 0; !rc && c < t->ncols && r->p < TL_UPLIFT_MAX_F; c++) {
            double v;
            const char *first = t->nrows ? tl_table_cell(t, 0, c) : "";
            if (c != ct && c != co && !tl_parse_f64(first, strlen(first), &v) && !(r->names[r->p++] = strdup(t->name[c])))
                rc = TL_ENOMEM;
        }
    }
    r->n = t->nrows;
    if (!rc && (!(r->id = malloc((r->n + 1) * sizeof *r->id)) || !(r->t = malloc(r->n + 1)) ||
                !(r->y = malloc(r->n + 1)) || !(r->x = malloc(((size_t)r->n + 1) * (r->p + 1) * sizeof *r->x))))
        rc = TL_ENOMEM;
    uint32_t cols[TL_UPLIFT_MAX_F];
    for (uint32_t k = 0; !rc && k < r->p; k++)
        if ((cols[k] = tl_table_column(t, r->names[k])) == TL_NONE) {
            tl_errbuf_set(eb, "%s: no column \"%s\"", csv, r->names[k]);
            rc = TL_EINVAL;
        }
    for (uint32_t i = 0; !rc && i < r->n; i++) {
        const char *tv = tl_table_cell(t, i, ct), *ov = tl_table_cell(t, i, co);
        if ((strcmp(tv, "0") && strcmp(tv, "1")) || (strcmp(ov, "0") && strcmp(ov, "1"))) {
            tl_errbuf_set(eb, "%s:%llu: treatment and outcome must be 0 or 1", csv, (unsigned long long)t->line[i]);
            rc = TL_EBADINPUT;
            break;
        }
        r->t[i] = tv[0] == '1', r->y[i] = ov[0] == '1';
        r->id[i] = NULL;
        for (uint32_t k = 0; k < r->p; k++) {
            const char *v = tl_table_cell(t, i, cols[k]);
            double d;
            r->x[(size_t)i * r->p + k] = *v && !tl_parse_f64(v, strlen(v), &d) ? d : NAN;
        }
    }
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
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
    if (rc == TL_ENOENT) eb->msg[0] = 0, rc = tl_store_open(data_dir(a), TL_STORE_CREATE, &st, eb);
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
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
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
    cJSON_AddNumberToObject(j, "auuc", q->auuc);
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

static void print_qini(const char *what, const tl_qini_t *q) {
    printf("%s: %llu units (%llu treated, %llu control): Qini coefficient %.3f, AUUC %.4f\n  uplift in the top",
           what, (unsigned long long)q->n, (unsigned long long)q->n_treated, (unsigned long long)q->n_control,
           q->qini_coef, q->auuc);
    for (int k = 0; k < 10; k += k < 2 ? 1 : 2)
        printf(" %d%%: %+.2f pts%s", 10 * (k + 1), 100 * q->uplift_at[k], k < 8 ? "," : "\n");
}

static int uplift_train(const command_t *cmd, const args_t *a, tl_errbuf_t *eb) {
    xrows_t r;
    const char *meth = opt(cmd, a, "method") ? opt(cmd, a, "method") : "two-model";
    int method = strcmp(meth, "class") == 0 ? TL_UPLIFT_CLASS : TL_UPLIFT_TWO_MODEL;
    if (strcmp(meth, "class") != 0 && strcmp(meth, "two-model") != 0)
        return die_usage(cmd, "--method %s: use two-model or class", meth);
    double share;
    int rc = opt_f64(cmd, a, "test-share", 0.3, 0, 0.9, &share);
    if (rc) return rc;
    rc = load_rows(cmd, a, opt(cmd, a, "features"), &r, NULL, eb);
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
    tl_uplift_model_t m;
    if (!rc) rc = tl_uplift_fit(x2, ntr, r.p, (const char *const *)r.names, t2, y2, method, 1.0, &m, eb);
    /* measured on the held-out units, and the measure kept with the model */
    tl_qini_t q = {0};
    uint32_t nte = 0;
    for (uint32_t i = 0; !rc && i < r.n; i++) {
        if (!test[i]) continue;
        x2[nte] = tl_uplift_predict(&m, r.x + (size_t)i * r.p);
        t2[nte] = r.t[i], y2[nte] = r.y[i], nte++;
    }
    if (!rc && nte) rc = tl_qini(x2, t2, y2, nte, 100, &q);
    m.test_units = nte, m.test_qini = nte ? q.qini_coef : NAN;
    char path[4300];
    if (!rc) rc = uplift_put(cmd, a, &m, path, sizeof path, eb);
    if (!rc) {
        if (opt(cmd, a, "json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "model", path);
            cJSON_AddStringToObject(j, "method", method == TL_UPLIFT_CLASS ? "class-transformation" : "two-model");
            cJSON_AddNumberToObject(j, "train_units", ntr);
            cJSON_AddItemToObject(j, "test", qini_json(&q));
            print_json(j);
        } else {
            printf("trained %s uplift on %u units (%u features), saved %s\n",
                   method == TL_UPLIFT_CLASS ? "class-transformation" : "two-model", ntr, r.p, path);
            print_qini("held-out units", &q);
        }
    }
    tl_qini_fini(&q);
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
    rc = load_rows(cmd, a, feats, &r, NULL, eb);
    double *s = rc ? NULL : malloc(((size_t)r.n + 1) * sizeof *s);
    if (!rc && !s) rc = TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < r.n; i++) s[i] = tl_uplift_predict(&m, r.x + (size_t)i * r.p);
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
            if (eff)
                printf("  against the true effects: correlation %.3f; the top 20 %% by predicted uplift have a "
                       "true effect of %.4f against %.4f on average\n", corr, top_true, all_true);
        }
    }
    tl_qini_fini(&q);
    free(s);
    xrows_fini(&r);
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
    /* every user with a profile */
    segctx_t sx;
    if ((rc = segctx_open(a, 0, &sx, eb))) return rc;
    const char *camp = opt(cmd, a, "campaign");
    if (camp) {
        tl_campaign_t c;
        if (tl_campaign_get(sx.st, camp, &c, eb) == 0) margin = c.margin;
        tl_campaign_fini(&c);
    }
    if ((rc = opt_f64(cmd, a, "margin", margin, 0, 1, &margin))) {
        segctx_close(&sx);
        return rc;
    }
    uint32_t n = tl_profile_nusers(sx.p);
    uint32_t *users = malloc(((size_t)n + 1) * sizeof *users);
    double *x = malloc(((size_t)n + 1) * (m.p + 1) * sizeof *x), *s = malloc(((size_t)n + 1) * sizeof *s);
    if (!users || !x || !s) rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < n; u++) users[u] = u;
    for (uint32_t k = 0; !rc && k < m.p; k++) rc = profile_feature(sx.p, m.names[k], users, n, x + k, m.p, eb);
    for (uint32_t u = 0; !rc && u < n; u++) s[u] = tl_uplift_predict(&m, x + (size_t)u * m.p);
    const char *out = opt(cmd, a, "out");
    FILE *f = !rc && out ? fopen(out, "w") : NULL;
    if (!rc && out && !f) {
        tl_errbuf_set(eb, "cannot write %s", out);
        rc = TL_EIO;
    }
    if (f) {
        fputs("user,uplift\n", f);
        for (uint32_t u = 0; u < n; u++) fprintf(f, "%s,%.6f\n", tl_dict_str(sx.users, u, NULL), s[u]);
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
    segctx_close(&sx);
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
    if (rc) return rc;
    rc = tl_experiment_outcomes(sx.st, c, &o, eb);
    double *x = rc ? NULL : malloc((o.n + 1) * (m.p + 1) * sizeof *x), *s = rc ? NULL : malloc((o.n + 1) * sizeof *s);
    if (!rc && (!x || !s)) rc = TL_ENOMEM;
    for (uint32_t k = 0; !rc && k < m.p; k++)
        rc = profile_feature(sx.p, m.names[k], o.user, (uint32_t)o.n, x + k, m.p, eb);
    for (uint64_t i = 0; !rc && i < o.n; i++) s[i] = tl_uplift_predict(&m, x + i * m.p);
    if (!rc) rc = tl_qini(s, o.treated, o.converted, (uint32_t)o.n, 100, q);
    free(x), free(s);
    tl_outcomes_fini(&o);
    segctx_close(&sx);
    return rc;
}

int report_campaign(const command_t *cmd, const args_t *a, const char *id) {
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_campaign_t c;
    tl_experiment_report_t r;
    tl_report_opts_t o = {.conf = 0.95, .correction = opt(cmd, a, "bh") != NULL};
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
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

