/* gen.c -- `gen` (a synthetic world with known ground truth, or its
 * users' answers to a campaign's deliveries) and `demo` (the whole loop on
 * such a world, each step the command a user would type). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "finance/finance.h"
#include "gen/gen.h"
#include "profile/profile.h"
#include "server/server.h"

/* ---- gen ------------------------------------------------------------------- */

const optspec_t GEN_OPTS[] = {
    {"users", 1, "number of users (default 1000)"},
    {"items", 1, "number of items (default 500)"},
    {"days", 1, "length of the period in days (default 30)"},
    {"seed", 1, "random seed (default 42)"},
    {"end", 1, "end of the period, ISO-8601 (default 2025-11-30)"},
    {"dirty", 1, "share of dirty rows, 0..0.5 (default 0.02)"},
    {"identifiers", 1, "mean identifiers a person (devices, openids, phone), 1..10; writes "
                       "identities.truth (default 0: member ids only)"},
    {"out", 1, "output directory (required); respond: the events file to write"},
    {"campaign", 1, "respond: the campaign whose deliveries the users answer"},
    {"truth", 1, "respond: the world's truth.json"},
    {"effects", 1, "respond: also write every user's true effect (CSV user,effect) here"},
    {"effect", 1, "respond: scale of the response probabilities (default 1)"},
    {"json", 0, "print the counts as JSON"},
    {NULL, 0, NULL}};

static int gen_opts(const command_t *c, const args_t *a, tl_gen_opts_t *g) {
    tl_gen_opts_default(g);
    uint64_t v;
    int rc;
    if ((rc = opt_u64(c, a, "users", g->users, 1, 50000000, &v))) return rc;
    g->users = (uint32_t)v;
    if ((rc = opt_u64(c, a, "items", g->items, 1, 10000000, &v))) return rc;
    g->items = (uint32_t)v;
    if ((rc = opt_u64(c, a, "days", g->days, 1, 3650, &v))) return rc;
    g->days = (uint32_t)v;
    if ((rc = opt_u64(c, a, "seed", g->seed, 0, UINT64_MAX >> 1, &v))) return rc;
    g->seed = v;
    const char *end = opt(c, a, "end"), *dirty = opt(c, a, "dirty");
    if (end && tl_time_parse(end, strlen(end), &g->end_ms))
        return die_usage(c, "--end %s: not a time", end);
    if (dirty && (tl_parse_f64(dirty, strlen(dirty), &g->dirty_rate) || g->dirty_rate < 0 ||
                  g->dirty_rate > 0.5))
        return die_usage(c, "--dirty %s: give a share from 0 to 0.5", dirty);
    const char *ids = opt(c, a, "identifiers");
    if (ids && (tl_parse_f64(ids, strlen(ids), &g->identifiers) ||
                !(g->identifiers == 0 || (g->identifiers >= 1 && g->identifiers <= 10))))
        return die_usage(c, "--identifiers %s: give a mean from 1 to 10, or 0 for none", ids);
    return 0;
}

/* The users' answers to a campaign's deliveries, as an events file. */
static int gen_respond(const command_t *c, const args_t *a, const char *out) {
    tl_respond_opts_t o = {.truth = opt(c, a, "truth"), .campaign = opt(c, a, "campaign")};
    if (!o.truth || !o.campaign) return die_usage(c, "respond needs --campaign ID and --truth FILE");
    uint64_t seed;
    int rc;
    if ((rc = opt_u64(c, a, "seed", 42, 0, UINT64_MAX >> 1, &seed)) ||
        (rc = opt_f64(c, a, "effect", 1, 0, 100, &o.effect)))
        return rc;
    o.seed = seed;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_respond_stats_t s;
    rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_gen_respond(st, &o, out, opt(c, a, "effects"), &s, &eb);
    tl_store_close(st);
    if (rc) return fail_err("gen respond", rc, &eb);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "deliveries", (double)s.deliveries);
        cJSON_AddNumberToObject(j, "responses", (double)s.responses);
        cJSON_AddNumberToObject(j, "mean_effect", s.mean_effect);
        print_json(j);
    } else {
        printf("wrote %s: %llu responses to %llu deliveries of %s (true mean effect %.4f)\n", out,
               (unsigned long long)s.responses, (unsigned long long)s.deliveries, o.campaign,
               s.mean_effect);
    }
    return EXIT_OK;
}

int cmd_gen(const command_t *c, const args_t *a) {
    int rc;
    const char *out = opt(c, a, "out");
    if (!out) return die_usage(c, "--out is required");
    if (a->npos == 1 && strcmp(a->pos[0], "respond") == 0) return gen_respond(c, a, out);
    if (a->npos) return die_usage(c, "unexpected %s (generate with --out DIR, or say respond)", a->pos[0]);
    tl_gen_opts_t g;
    if ((rc = gen_opts(c, a, &g))) return rc;
    tl_gen_stats_t s;
    tl_errbuf_t eb = {{0}};
    if ((rc = tl_gen_run(&g, out, &s, &eb))) return fail_err("gen", rc, &eb);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "users", (double)s.users);
        cJSON_AddNumberToObject(j, "items", (double)s.items);
        cJSON_AddNumberToObject(j, "products", (double)s.products);
        cJSON_AddNumberToObject(j, "credit", (double)s.credit);
        cJSON_AddNumberToObject(j, "consents", (double)s.consents);
        cJSON_AddNumberToObject(j, "events", (double)s.events);
        cJSON_AddNumberToObject(j, "dirty", (double)s.dirty);
        print_json(j);
    } else {
        printf("wrote %s: users=%llu items=%llu products=%llu credit=%llu consents=%llu "
               "events=%llu dirty=%llu\n", out, (unsigned long long)s.users,
               (unsigned long long)s.items, (unsigned long long)s.products,
               (unsigned long long)s.credit, (unsigned long long)s.consents,
               (unsigned long long)s.events, (unsigned long long)s.dirty);
    }
    return EXIT_OK;
}

/* ---- demo ------------------------------------------------------------------ */

const optspec_t DEMO_OPTS[] = {
    {"users", 1, "number of users (default 20000)"},
    {"items", 1, "number of items (default 3000)"},
    {"days", 1, "length of the period in days (default 60)"},
    {"seed", 1, "random seed (default 42)"},
    {"serve", 0, "then leave the console and the HTTP API running on 127.0.0.1:8080 (SIGTERM or Ctrl-C stops it)"},
    {NULL, 0, NULL}};

/* Two users with offers and one whose credit the policy blocks, the first
 * such in the store (names into out; "" when there is none). */
static int demo_offer_users(const char *dir, char out[3][64]) {
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_profiles_t *p = NULL;
    tl_scorecard_t *sc = NULL;
    tl_offers_t *o = NULL;
    tl_offer_t *f = NULL;
    memset(out, 0, 3 * sizeof *out);
    int rc = cli_store_open(dir, TL_STORE_READONLY, &st, &eb);
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, &eb);
    if (!rc && !users) rc = TL_ENOMEM;
    if (!rc) rc = tl_profile_load(st, &p, &eb);
    if (!rc) rc = tl_scorecard_get(st, "scorecard", &sc, &eb);
    tl_offer_scene_t none = {NULL, NAN};
    if (!rc) rc = tl_offers_new(st, p, sc, NULL, &none, TL_NONE, &o, &eb);
    if (!rc && !(f = calloc(tl_offers_nproducts(o) + 1, sizeof *f))) rc = TL_ENOMEM;
    int got = 0, blocked = 0;
    for (uint32_t u = 0; !rc && u < tl_dict_count(users) && (got < 2 || !blocked); u++) {
        uint32_t n = tl_offers_for(o, u, NULL, f);
        int offers = 0, blocks = 0;
        for (uint32_t i = 0; i < n; i++) {
            offers += f[i].eligible && !f[i].blocked && !f[i].losing;
            blocks += f[i].eligible && f[i].blocked != NULL;
        }
        int k = offers && !blocks && got < 2 ? got++ : blocks && !blocked ? (blocked = 1, 2) : -1;
        if (k >= 0) snprintf(out[k], sizeof out[k], "%s", tl_dict_str(users, u, NULL));
    }
    free(f);
    tl_offers_free(o);
    tl_scorecard_free(sc);
    tl_profile_free(p);
    tl_store_close(st);
    return rc ? fail_err("demo", rc, &eb) : 0;
}

/* The campaigns of the demo: definitions written beside the world. */
static const char DEMO_CART[] =
    "{\"id\":\"cart-reminder\",\"name\":\"abandoned cart reminder\",\"channels\":[\"push\",\"in_app\"],\n"
    " \"trigger\":{\"event\":\"cart\",\"unless\":\"purchase\",\"within\":\"2h\",\"lookback\":\"4h\"},\n"
    " \"content\":{\"type\":\"recommendations\",\"n\":3},\n"
    " \"arms\":[{\"name\":\"recs\",\"weight\":1},\n"
    "          {\"name\":\"coupon\",\"weight\":1,\"content\":{\"type\":\"coupon\",\"code\":\"CART10\",\"value\":10}}],\n"
    " \"holdout\":20,\"consent\":\"marketing_push\",\"tags\":[\"retention\"],\n"
    " \"caps\":[{\"channel\":\"push\",\"max\":1,\"per\":\"day\"},{\"max\":3,\"per\":\"week\"}],\n"
    " \"budget\":{\"cost\":{\"push\":0.01,\"in_app\":0.002},\"cost_per_conversion\":2},\n"
    " \"attribution\":{\"window\":\"3d\"}}\n";
static const char DEMO_OFFER[] =
    "{\"id\":\"credit-offer\",\"name\":\"instalments for active buyers\",\n"
    " \"audience\":\"orders_90d >= 1 and age >= 22\",\"channels\":[\"sms\",\"push\"],\n"
    " \"content\":{\"type\":\"offer\"},\n"
    " \"arms\":[{\"name\":\"best\",\"weight\":1},\n"
    "          {\"name\":\"instalment\",\"weight\":1,\"content\":{\"type\":\"offer\",\"kind\":\"instalment\"}}],\n"
    " \"holdout\":15,\"consent\":\"credit_offers\",\"schedule\":{\"once\":\"2025-11-23T10:00:00+08:00\"},\n"
    " \"caps\":[{\"max\":3,\"per\":\"week\"}],\"margin\":0.05,\n"
    " \"budget\":{\"cost\":{\"sms\":0.05,\"push\":0.01}},\"attribution\":{\"window\":\"5d\"}}\n";

/* Runs the two campaigns, lets the world's users answer by its ground
 * truth, imports the answers and reports what each campaign earned. */
static int demo_campaigns(const char *world) {
    static const char *const ids[2] = {"cart-reminder", "credit-offer"};
    const char *defs[2] = {DEMO_CART, DEMO_OFFER};
    char path[2][4200], truth[4200], resp[2][4200];
    int rc;
    snprintf(truth, sizeof truth, "%s/truth.json", world);
    printf("\n== 14. campaigns: an abandoned-cart reminder (recommendations against a coupon, "
           "20 %% hold-out), checked every 4 hours from 16 to 22 November\n");
    fflush(stdout);
    for (int k = 0; k < 2; k++) {
        snprintf(path[k], sizeof path[k], "%s/%s.json", world, ids[k]);
        snprintf(resp[k], sizeof resp[k], "%s/%s-responses.csv", world, ids[k]);
        FILE *f = fopen(path[k], "w");
        if (!f || fputs(defs[k], f) < 0 || fclose(f)) {
            return cli_fail("demo", EXIT_FAIL, TL_EIO, "cannot write %s", path[k]);
        }
        char *cargv[] = {"create", path[k], "--replace"};
        if ((rc = run_cmd("campaign", 3, cargv))) return rc;
    }
    for (int d = 16; d <= 22; d++)
        for (int h = 1; h < 24; h += 4) {
            char at[32];
            snprintf(at, sizeof at, "2025-11-%02dT%02d:00:00+08:00", d, h);
            char *rargv[] = {"run", "cart-reminder", "--at", at};
            if ((rc = run_cmd("campaign", 4, rargv))) return rc;
        }
    printf("\n== 15. a financial offer to active buyers (the best offer against an instalment "
           "plan, 15 %% hold-out, credit_offers consent), scheduled once\n");
    fflush(stdout);
    char *oargv[] = {"run", "credit-offer", "--at", "2025-11-23T10:00:00+08:00"};
    if ((rc = run_cmd("campaign", 4, oargv))) return rc;
    printf("\n== 16. the users answer as the ground truth says; their answers are imported\n");
    fflush(stdout);
    for (int k = 0; k < 2; k++) {
        char *gargv[] = {"respond", "--campaign", (char *)ids[k], "--truth", truth, "--out", resp[k]};
        char *iargv[] = {resp[k]};
        if ((rc = run_cmd("gen", 7, gargv)) || (rc = run_cmd("import", 1, iargv))) return rc;
    }
    for (int k = 0; k < 2; k++) {
        printf("\n== %d. what the %s campaign earned\n", 17 + k, ids[k]);
        fflush(stdout);
        char *pargv[] = {"campaign", (char *)ids[k]};
        if ((rc = run_cmd("report", 2, pargv))) return rc;
    }
    char html[4300];
    snprintf(html, sizeof html, "%s/cart-reminder.html", world);
    printf("\n== 19. the cart campaign's report as a page, with its charts\n");
    fflush(stdout);
    char *hargv[] = {"campaign", "cart-reminder", "--html", html};
    if ((rc = run_cmd("report", 4, hargv))) return rc;
    return EXIT_OK;
}

int cmd_demo(const command_t *c, const args_t *a) {
    int rc;
    const char *dir = data_dir(a);
    char world[4096];
    snprintf(world, sizeof world, "%s-world", dir);
    const char *u = opt(c, a, "users"), *i = opt(c, a, "items"), *d = opt(c, a, "days"),
               *s = opt(c, a, "seed");
    char *gargv[] = {"--users", (char *)(u ? u : "20000"), "--items", (char *)(i ? i : "3000"),
                     "--days", (char *)(d ? d : "60"), "--seed", (char *)(s ? s : "42"),
                     "--out", world};
    printf("== 1. generating a world with known ground truth in %s\n", world);
    fflush(stdout);
    if ((rc = run_cmd("gen", 10, gargv))) return rc;
    static const char *const files[] = {"users.csv", "items.csv", "products.csv", "credit.csv",
                                        "consents.csv", "events.csv"};
    char paths[6][4200];
    char *iargv[7];
    for (int k = 0; k < 6; k++) {
        snprintf(paths[k], sizeof paths[k], "%s/%s", world, files[k]);
        iargv[k] = paths[k];
    }
    printf("\n== 2. importing it into %s (bad rows are quarantined, not dropped)\n", dir);
    fflush(stdout);
    global_data = dir;
    if ((rc = run_cmd("import", 6, iargv))) return rc;
    printf("\n== 3. importing it again: everything is a duplicate\n");
    fflush(stdout);
    if ((rc = run_cmd("import", 6, iargv))) return rc;
    printf("\n== 4. what the store holds\n");
    fflush(stdout);
    if ((rc = run_cmd("stats", 0, NULL))) return rc;
    printf("\n== 5. a few quarantined rows (personal data masked)\n");
    fflush(stdout);
    char *qargv[] = {"list", "--limit", "5"};
    if ((rc = run_cmd("quarantine", 3, qargv))) return rc;
    printf("\n== 6. verifying every checksum\n");
    fflush(stdout);
    if ((rc = run_cmd("check", 0, NULL))) return rc;
    printf("\n== 7. building every user's profile\n");
    fflush(stdout);
    char *pargv[] = {"build"};
    if ((rc = run_cmd("profile", 1, pargv))) return rc;
    printf("\n== 8. RFM segments\n");
    fflush(stdout);
    char *sargv[] = {"rfm"};
    if ((rc = run_cmd("segment", 1, sargv))) return rc;
    printf("\n== 9. clusters of buyers by spend, orders, recency and price sensitivity\n");
    fflush(stdout);
    char *cargv[] = {"cluster", "--features",
                     "monetary_365d,orders,days_since_purchase,price_sensitivity"};
    if ((rc = run_cmd("segment", 3, cargv))) return rc;
    printf("\n== 10. training implicit ALS and recommending for a few users\n");
    fflush(stdout);
    char *targv[] = {"--model", (char *)tl_model_default(TL_MODEL_FOR_TRAIN)};
    if ((rc = run_cmd("train", 2, targv))) return rc;
    static const char *const who[] = {"u000001", "u000002", "u000003"};
    for (int i = 0; i < 3; i++) {
        char *rargv[] = {(char *)who[i], "--n", "5"};
        if ((rc = run_cmd("recommend", 3, rargv))) return rc;
    }
    printf("\n== 11. evaluating on the last 7 days: popularity, popularity by segment and "
           "taste (by age), implicit ALS\n");
    fflush(stdout);
    static const tl_model_kind_t models[] = {TL_MODEL_POP, TL_MODEL_SEGPOP, TL_MODEL_IALS};
    for (int i = 0; i < 3; i++) {
        char *eargv[] = {"--split", "time", "--test-days", "7", "--model",
                         (char *)tl_model_info(models[i])->name,
                         "--by", "age"};
        if ((rc = run_cmd("eval", i == 1 ? 8 : 6, eargv))) return rc;
    }
    printf("\n== 12. a credit scorecard on the users' profiles, checked by decile and band\n");
    fflush(stdout);
    char *strain[] = {"train", "--users"}, *sreport[] = {"report", "--users"};
    if ((rc = run_cmd("score", 2, strain)) || (rc = run_cmd("score", 2, sreport))) return rc;
    printf("\n== 13. financial offers: two users, then one the lending policy turns down, "
           "and why\n");
    fflush(stdout);
    char shown[3][64];
    if ((rc = demo_offer_users(dir, shown))) return rc;
    for (int k = 0; k < 3; k++) {
        char *oargv[] = {shown[k], "--explain"};
        if (shown[k][0] && (rc = run_cmd("offers", k == 2 ? 2 : 1, oargv))) return rc;
    }
    if ((rc = demo_campaigns(world))) return rc;
    /* the console and the API on the demo data, with a key to sign in with */
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    char key[48], id[16];
    rc = cli_store_open(dir, 0, &st, &eb);
    if (!rc) rc = tl_apikey_create(st, "admin", "demo", key, id, &eb);
    tl_store_close(st);
    if (rc) return fail_err("demo", rc, &eb);
    int serving = opt(c, a, "serve") != NULL;
    printf("\n== 20. the console and the HTTP API on this data\n");
    if (!serving) printf("  start them:  tailor --data %s serve --listen 127.0.0.1:8080\n", dir);
    printf("  console:     http://127.0.0.1:8080/\n"
           "  sign in with this admin key (shown once): %s\n"
           "  the API, for example:\n"
           "  curl -H 'Authorization: Bearer %s' 'http://127.0.0.1:8080/v1/users/u000001/recommendations?n=5'\n"
           "  curl -H 'Authorization: Bearer %s' --data-binary '[{\"user\":\"u000001\",\"item\":\"i00001\","
           "\"type\":\"purchase\",\"ts\":\"2025-11-30T10:00:00Z\",\"amount\":99}]' http://127.0.0.1:8080/v1/events\n",
           key, key, key);
    fflush(stdout);
    if (!serving) return EXIT_OK;
    char *vargv[] = {"--listen", "127.0.0.1:8080"};
    return run_cmd("serve", 2, vargv);
}
