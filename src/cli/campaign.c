/* campaign.c -- the campaign commands: `campaign create|list|show|pause|
 * resume|run|deliver|dnc|journey` and `feedback import` (a campaign's report and
 * the uplift models are experiment.c's). Thin: the decisions are
 * src/campaign's; this file loads what they need (the profiles, the
 * lending policy) and prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "cli.h"

const optspec_t CAMPAIGN_OPTS[] = {
    {"replace", 0, "create: replace the definition of an existing campaign"},
    {"at", 1, "run: the time of the run (default: now)"},
    {"all", 0, "run: every active campaign, highest priority first"},
    {"due", 0, "run: every active campaign that is due, as the server's scheduler runs them "
               "(what a cron job would run)"},
    {"dry-run", 0, "run: decide and count, send and record nothing"},
    {"channel", 1, "dnc: the channel (default: every channel)"},
    {"reason", 1, "dnc: unsubscribed, bounced, complained or manual (default manual)"},
    {"url", 1, "deliver: the gateway to post records to (default: setting webhook_url)"},
    {"retries", 1, "deliver: retries of a failing post before the pass stops (default 5)"},
    {"now", 1, "deliver: the time records must be due by (default: now)"},
    {"users", 0, "journey: each user's place, one JSON object a line"},
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
    if (c->journey)
        printf(" (journey: %llu entered, %llu reached the goal, %llu left, %llu on the way)",
               (unsigned long long)r->journey_entered, (unsigned long long)r->journey_goals,
               (unsigned long long)r->journey_left, (unsigned long long)r->journey_active);
    else if (c->trig && r->late_triggers)
        printf(" (from %llu trigger events, %llu of them arrived late)", (unsigned long long)r->triggers,
               (unsigned long long)r->late_triggers);
    else if (c->trig) printf(" (from %llu trigger events)", (unsigned long long)r->triggers);
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
    int rc = cli_store_open(data_dir(a), TL_STORE_CREATE, &st, &eb);
    if (!rc) rc = tl_campaign_get(st, id, &c, &eb);
    if (rc) {
        tl_store_close(st);
        return fail_err("campaign run", rc, &eb);
    }
    /* the profiles as last built, when the run needs them and there are any */
    if (tl_campaign_needs_profiles(&c) && tl_profile_load(st, &p, &eb) != 0) p = NULL, eb.msg[0] = 0;
    tl_run_env_t env = {.p = p, .at = at, .dry_run = opt(cmd, a, "dry-run") != NULL};
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

static int give_profiles(void *arg, tl_run_env_t *env) {
    env->p = arg;
    return 0;
}

/* One pass of the scheduler: every due campaign run at `at`. */
static int run_due(const command_t *cmd, const args_t *a, int64_t at) {
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_profiles_t *p = NULL;
    tl_sched_t *s = NULL;
    tl_sched_stats_t t = {0};
    int rc = cli_store_open(data_dir(a), TL_STORE_CREATE, &st, &eb);
    /* the profiles as last built, for audiences, when there are any */
    if (!rc && tl_profile_load(st, &p, &eb) != 0) p = NULL, eb.msg[0] = 0;
    if (!rc) rc = tl_sched_new(&s);
    tl_sched_hooks_t h = {give_profiles, NULL, p};
    if (!rc) rc = tl_sched_tick(s, st, &h, at, &t, &eb);
    cJSON *j = rc ? NULL : tl_sched_json(s);
    const cJSON *c;
    if (j && opt(cmd, a, "json")) {
        print_json(cJSON_Duplicate(j, 1));
    } else if (j) {
        char ts[32];
        tl_time_format(at, ts);
        printf("due at %s: %llu runs, %llu users decided\n", ts, (unsigned long long)t.ran,
               (unsigned long long)t.decided);
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "campaigns")) {
            const cJSON *lr = cJSON_GetObjectItem(c, "last_run"), *nd = cJSON_GetObjectItem(c, "next_due");
            printf("  %s (%s): ", cJSON_GetObjectItem(c, "id")->valuestring,
                   cJSON_GetObjectItem(c, "kind")->valuestring);
            if (cJSON_IsObject(lr))
                printf("run %.0f, %.0f decided", cJSON_GetObjectItem(lr, "run")->valuedouble,
                       cJSON_GetObjectItem(c, "decided")->valuedouble);
            else printf("not due");
            if (cJSON_IsString(nd)) printf("; next %s", nd->valuestring);
            printf("\n");
        }
    }
    /* a campaign that failed is told, and the pass fails */
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "campaigns")) {
        const cJSON *le = cJSON_GetObjectItem(c, "last_error");
        if (cJSON_IsObject(le))
            fprintf(stderr, "tailor campaign run: %s: %s\n", cJSON_GetObjectItem(c, "id")->valuestring,
                    cJSON_GetObjectItem(le, "message")->valuestring);
    }
    cJSON_Delete(j);
    tl_sched_free(s);
    tl_profile_free(p);
    tl_store_close(st);
    if (rc) return fail_err("campaign run", rc, &eb);
    return t.errors ? EXIT_FAIL : EXIT_OK;
}

static int campaign_run(const command_t *cmd, const args_t *a) {
    int64_t at = cli_now();
    const char *ats = opt(cmd, a, "at");
    if (ats && tl_time_parse(ats, strlen(ats), &at)) return die_usage(cmd, "--at %s: not a time", ats);
    if (opt(cmd, a, "due")) {
        if (a->npos != 1 || opt(cmd, a, "all") || opt(cmd, a, "dry-run"))
            return die_usage(cmd, "--due runs every due campaign: no id, --all or --dry-run with it");
        return run_due(cmd, a, at);
    }
    if (!opt(cmd, a, "all")) {
        if (a->npos != 2) return die_usage(cmd, "give the campaign's id, or --all");
        return run_one(cmd, a, a->pos[1], at, NULL);
    }
    /* every active campaign, the highest priority first: it takes the caps */
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    char(*ids)[65] = NULL;
    int n = 0;
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_campaign_actives(st, &ids, &n, &eb);
    tl_store_close(st);
    if (rc) return fail_err("campaign run", rc, &eb);
    cJSON *arr = opt(cmd, a, "json") ? cJSON_CreateArray() : NULL;
    int ex = EXIT_OK;
    for (int i = 0; i < n && !ex; i++) ex = run_one(cmd, a, ids[i], at, arr);
    if (arr && !ex) print_json(arr);
    else cJSON_Delete(arr);
    free(ids);
    return ex;
}

/* ---- status ----------------------------------------------------------------------------- */

const optspec_t STATUS_OPTS[] = {
    {"at", 1, "the time to judge what is due at (default: now)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valuedouble; }

int cmd_status(const command_t *cmd, const args_t *a) {
    int64_t at = cli_now();
    const char *ats = opt(cmd, a, "at");
    if (ats && tl_time_parse(ats, strlen(ats), &at)) return die_usage(cmd, "--at %s: not a time", ats);
    if (a->npos) return die_usage(cmd, "status takes no arguments");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    cJSON *j = rc ? NULL : tl_sched_store_json(st, at, &eb);
    if (!rc && !j) rc = eb.msg[0] ? TL_EIO : TL_ENOMEM;
    tl_store_close(st);
    if (rc) return fail_err("status", rc, &eb);
    if (opt(cmd, a, "json")) {
        print_json(j);
        return EXIT_OK;
    }
    printf("at %s: %.0f events\ncampaigns:\n", str(j, "at"), num(j, "events"));
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "campaigns")) {
        printf("  %s (%s, %s): %.0f runs", str(c, "id"), str(c, "kind"), str(c, "status"), num(c, "runs"));
        if (str(c, "last_run")) printf(", the last at %s", str(c, "last_run"));
        if (cJSON_IsTrue(cJSON_GetObjectItem(c, "due"))) printf("; due now");
        else if (str(c, "next_due")) printf("; next %s", str(c, "next_due"));
        if (num(c, "backlog_events") > 0) printf("; %.0f events not read yet", num(c, "backlog_events"));
        printf("\n");
    }
    printf("delivery:\n");
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "delivery"))
        printf("  %s: %.0f bytes of outbox, %.0f not handed over; %.0f held, %.0f of them due\n",
               str(c, "channel"), num(c, "outbox_bytes"), num(c, "not_handed_over_bytes"), num(c, "held"),
               num(c, "held_due"));
    cJSON_Delete(j);
    return EXIT_OK;
}

/* ---- deliver ---------------------------------------------------------------------------- */

static int campaign_deliver(const command_t *cmd, const args_t *a) {
    tl_deliver_opts_t o = {.channel = -1, .now = cli_now(), .timeout_ms = 10000};
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
    rc = cli_store_open(data_dir(a), 0, &st, &eb);
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
    if (arr) {
        cJSON_AddItemToArray(arr, tl_campaign_info_json(ci));
        return 0;
    }
    if (ci->last_at != INT64_MIN) tl_time_format(ci->last_at, ts);
    printf("%-20s %-8s runs=%-4llu sends=%-9llu last=%s  %s\n", ci->id, ci->status,
           (unsigned long long)ci->runs, (unsigned long long)ci->sends, *ts ? ts : "-", ci->name);
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

static int pos_row(const tl_journey_pos_t *p, void *arg) {
    (void)arg;
    char e[32], t[32];
    tl_time_format(p->entered, e), tl_time_format(p->since, t);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "user", p->user);
    cJSON_AddStringToObject(j, "arm", p->arm);
    cJSON_AddBoolToObject(j, "holdout", p->holdout);
    cJSON_AddStringToObject(j, "entered", e);
    if (p->step) cJSON_AddStringToObject(j, "step", p->step), cJSON_AddStringToObject(j, "since", t);
    else cJSON_AddStringToObject(j, p->goal ? "reached_goal" : "left", t);
    char *line = cJSON_PrintUnformatted(j);
    if (line) puts(line);
    cJSON_free(line);
    cJSON_Delete(j);
    return 0;
}

/* Where a journey's users are: a summary, or each user with --users. */
static int campaign_journey(const command_t *cmd, const args_t *a, tl_store_t *st, tl_errbuf_t *eb) {
    tl_campaign_t c;
    int rc = tl_campaign_get(st, a->pos[1], &c, eb);
    if (rc) return rc;
    if (opt(cmd, a, "users")) {
        rc = tl_journey_positions(st, &c, pos_row, NULL, eb);
    } else {
        cJSON *j = tl_journey_json(st, &c, eb);
        if (!j) rc = TL_EINVAL;
        else if (opt(cmd, a, "json")) print_json(j);
        else {
            printf("journey %s: %d users entered (%d held out), %d reached the goal, %d left, %d on the way\n",
                   c.id, cJSON_GetObjectItem(j, "users")->valueint,
                   cJSON_GetObjectItem(j, "held_out")->valueint,
                   cJSON_GetObjectItem(j, "reached_goal")->valueint,
                   cJSON_GetObjectItem(j, "left")->valueint, cJSON_GetObjectItem(j, "on_the_way")->valueint);
            const cJSON *x;
            cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "steps"))
                printf("  %-20s %-9s %d waiting\n", cJSON_GetObjectItem(x, "id")->valuestring,
                       cJSON_GetObjectItem(x, "kind")->valuestring, cJSON_GetObjectItem(x, "users")->valueint);
            cJSON_Delete(j);
        }
    }
    tl_campaign_fini(&c);
    return rc;
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
    if (!rc) rc = tl_dnc_put(st, u, ch, reason, cli_now(), NULL, eb);
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    if (!rc) printf("%s: do not contact on %s (%s)\n", a->pos[1], strcmp(ch, "*") ? ch : "any channel", reason);
    return rc;
}

int cmd_campaign(const command_t *cmd, const args_t *a) {
    int rc;
    if (a->npos < 1) return die_usage(cmd, "give a subcommand: create, list, show, journey, pause, resume, run, dnc");
    const char *sub = a->pos[0];
    if (strcmp(sub, "run") == 0) return campaign_run(cmd, a);
    if (strcmp(sub, "deliver") == 0) return campaign_deliver(cmd, a);
    int writes = strcmp(sub, "create") == 0 || strcmp(sub, "pause") == 0 ||
                 strcmp(sub, "resume") == 0 || strcmp(sub, "dnc") == 0 || strcmp(sub, "control") == 0;
    if (!writes && strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "journey") != 0)
        return die_usage(cmd, "unknown subcommand %s", sub);
    if (strcmp(sub, "list") != 0 && strcmp(sub, "dnc") != 0 && a->npos != 2)
        return die_usage(cmd, "%s needs %s", sub, strcmp(sub, "create") == 0 ? "a FILE"
                         : strcmp(sub, "control") == 0 ? "a percentage" : "a campaign id");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    rc = cli_store_open(data_dir(a), writes ? TL_STORE_CREATE : TL_STORE_READONLY, &st, &eb);
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
            printf(", %s\n", c.journey ? "a journey" : c.trig ? "triggered" : c.sched == TL_SCHED_NOW ? "on each run" : "scheduled");
            tl_campaign_fini(&c);
        }
    } else if (!rc && strcmp(sub, "list") == 0) {
        cJSON *arr = opt(cmd, a, "json") ? cJSON_CreateArray() : NULL;
        rc = tl_campaign_list(st, NULL, list_row, arr, &eb);
        if (arr && !rc) print_json(arr);
        else cJSON_Delete(arr);
    } else if (!rc && strcmp(sub, "show") == 0) {
        rc = campaign_show(cmd, a, st, &eb);
    } else if (!rc && strcmp(sub, "journey") == 0) {
        rc = campaign_journey(cmd, a, st, &eb);
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
    rc = cli_store_open(data_dir(a), TL_STORE_CREATE, &st, &eb);
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
