/* main.c -- the `tailor` command line: the table of commands and the
 * dispatch (help, version, the nearest command to a mistyped one).
 *
 * `tailor [--data DIR] <command> [options]`. The commands, in the files of
 * their family, only parse arguments, call libtailor and print; every
 * piece of logic lives in the library. Output contract: with --json,
 * stdout holds exactly one JSON document; messages go to stderr and say
 * what, where and what to do. Exit codes: 0 success, 1 failure, 2 usage
 * error, 3 bad input under --strict.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* ---- dispatch -------------------------------------------------------------- */

static int cmd_version(const command_t *c, const args_t *a);
static const optspec_t VERSION_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

static const command_t COMMANDS[] = {
    {"import", "import [options] FILE...", "Import users, items, financial products, credit "
     "records, consents or events from CSV or JSON Lines files, or a public data set with "
     "--preset. Bad rows are quarantined with their reason and line; the last line printed is "
     "read=N accepted=N duplicates=N quarantined=N.", IMPORT_OPTS, cmd_import, NULL},
    {"stats", "stats [--json]", "Counts of users, items, events by type, channel and day, "
     "quarantined rows by reason, and identifiers, persons, merges, refused merges and split "
     "links.", STATS_OPTS, cmd_stats, NULL},
    {"quarantine", "quarantine list|export [options]", "List quarantined rows (personal data "
     "masked) or export them with their raw text to fix and re-import.", QUAR_OPTS,
     cmd_quarantine,
     "list export"},
    {"identity", "identity show ID | link A B | split A B [--reason R] | rules [--set FILE] | "
     "evaluate --truth FILE", "One customer across identifiers: show the person behind any "
     "identifier (device:9f2c, u000123, phone:+86 138...) with its identifiers (personal ones "
     "as keyed pseudonyms) and the links in force, split and refused; link two identifiers or "
     "split their link (the merge rules may refuse a link: said); print or --set the merge "
     "rules (JSON); evaluate the persons against a truth (CSV identifier,person): pairwise "
     "precision and recall, persons over a rule's limit.", IDENTITY_OPTS, cmd_identity,
     "show link split rules evaluate"},
    {"check", "check [--json]", "Verify every checksum of the event log and the integrity of "
     "the embedded database.", CHECK_OPTS, cmd_check, NULL},
    {"profile", "profile build|show USER|export|drift [options]", "Build every user's profile from "
     "the events (recency, frequency, monetary, category affinity, price sensitivity, funnel, "
     "active hours, channel, lifecycle, capacity tier, credit), show one user's (personal data "
     "masked), export all as CSV or JSON Lines, or report feature drift (PSI) between two times, "
     "overall or for a segment.", PROFILE_OPTS, cmd_profile,
     "build show export drift"},
    {"tag", "tag apply FILE | list", "Tags from a rule file: `tag careful_buyer = "
     "detail_views_before_purchase >= 3` (yes/no), or `tag spend = \"high\" if monetary_365d > "
     "1000` lines (a category; the first match wins). Applied to the built profiles as tag_NAME "
     "columns, kept, and applied again by every profile build.", TAG_OPTS, cmd_tag,
     "apply list"},
    {"segment", "segment create NAME --where EXPR | list | size NAME | show NAME | export NAME | "
     "overlap A B | delete NAME | rfm | cluster --features a,b [--k K]", "Audiences over the built profiles: rule segments "
     "defined by a condition of the expression language (sizes are counted on the current "
     "profiles), their overlaps (Jaccard), and the standard RFM segments (Champions, Loyal, "
     "Potential Loyalist, New, Promising, Need Attention, About to Sleep, At Risk, Can't Lose, "
     "Hibernating, Lost) from quintile R, F and M scores, and k-means++ clusters on standardised "
     "features (the last clustering is kept for `report profiles`).", SEGMENT_OPTS, cmd_segment,
     "create list size show export overlap delete rfm cluster"},
    {"train", "train [--model M] [--name N] [options]", "Train a "
     "recommender on every interaction in the store (weights per event type; ratings from "
     "--min-rating) and save it as DATA/models/NAME.tlm (versioned, checksummed). segpop is "
     "popularity by segment (age band x gender) and the user's category tastes; it is also what "
     "users without history get from every model.", TRAIN_OPTS, cmd_train, NULL},
    {"recommend", "recommend USER [-n N] [--model NAME] [--scene S] [--json]", "The top items for a user from "
     "a trained model, items the user already interacted with left out, each with the reason.",
     REC_OPTS, cmd_recommend, NULL},
    {"similar", "similar ITEM [--n N] [--model NAME] [--json]", "The items most like ITEM by "
     "an item-kNN model (cosine of who interacted with them, with shrinkage), else (no such "
     "model, or an item it has no neighbours for) by category, brand and price.", REC_OPTS,
     cmd_similar, NULL},
    {"eval", "eval [--split time|last] [--by gender|age] [--model M] [options]\n"
     "       eval --train FILE --test FILE [--preset P] [options]",
     "Offline evaluation of a recommender on DATA split by time (the last --test-days) or "
     "leave-last-out, or on a given train/test pair: precision, recall, NDCG (ideal DCG over "
     "min(K, |test|)), MAP and hit rate at K, catalogue coverage, novelty (mean -log2 share of "
     "users who had an item), intra-list category diversity and the Gini coefficient of "
     "exposure; with --by, accuracy per user group. Training items are left out of both the "
     "candidates and the test; users without training history get the popular items, as "
     "when served.", EVAL_OPTS, cmd_eval, NULL},
    {"score", "score train|apply|report|cv --csv FILE [--preset P] [--target COL] [options]",
     "Credit scorecards: train bins every column (quantile pre-bins merged by chi-square, at "
     "least --min-share a bin, monotonic bad rate; categories grouped by bad rate; missing "
     "values in a bin of their own), keeps features by IV, regresses on WOE and turns it into "
     "points (--base-points at --base-odds, --pdo); apply gives each row its score, probability "
     "of default, band A-E and reason codes, in input order; report validates on a table with "
     "outcomes (AUC, KS, calibration by score decile, default rate per band) and with "
     "--baseline gives the PSI of the score and of every feature; cv gives the AUC of "
     "stratified folds.", SCORE_OPTS, cmd_score,
     "train apply report cv"},
    {"propensity", "propensity train|apply|report|cv --csv FILE [--preset P] --target COL "
     "--bad-value EVENT [options]", "The chance that a user takes up an offer: the scorecard's "
     "binning and logistic regression aimed at the event (--bad-value, e.g. yes), with finer "
     "bins in any shape (50 pre-bins, up to 20 bins of at least 2 %), every feature and any "
     "sign; apply gives each row's p. The bank-marketing preset leaves out duration, which is "
     "known only after the call.", SCORE_OPTS, cmd_score,
     "train apply report cv"},
    {"offers", "offers USER [--scene S] [--category C] [--amount X] [--explain] [--json]",
     "Financial offers for a user: the products whose eligibility holds, with those the scene "
     "brings forward first and then by expected value (take-up x margin x amount - PD x loss x "
     "amount for credit), each with its risk disclosure. The lending policy (--policy FILE; "
     "--print-policy shows the built-in one) blocks credit for band E, high debt to income, an "
     "overdue on record, minors and users without the credit_offers consent; every blocked "
     "offer is logged with its rule in DATA/offers.log and shown by --explain.", OFFERS_OPTS,
     cmd_offers, NULL},
    {"report", "report profiles|scorecard --html FILE [options] | campaign ID [--json]", "Offline HTML pages with "
     "inline SVG charts. profiles: key figures, lifecycle, category tastes, RFM segments and "
     "grid, the stored segments and the kept clustering. scorecard (--csv FILE or --users, with "
     "outcomes; --baseline FILE): goods and bads over the score, KS curve, default rate by "
     "band, calibration by decile, PSI, and every kept feature's bins, WOE and points. campaign: "
     "conversions after exposure per arm and hold-out with Wilson intervals, absolute and "
     "relative lift, z and Welch tests, CUPED, Holm or Benjamini-Hochberg, ROI and the "
     "sample-ratio check.",
     REPORT_OPTS, cmd_report,
     "profiles scorecard campaign"},
    {"campaign", "campaign create FILE | list | show ID | journey ID [--users] | pause ID | resume ID | run ID|--all|--due "
     "[--at TIME] [--dry-run] | deliver --url URL | dnc USER | control PCT", "Campaigns from a JSON definition (audience, content, "
     "channels, arms, hold-out, consent, caps, quiet hours, budget, schedule or trigger; or a "
     "journey of steps: send, wait, wait for an event, branch, exit). journey shows where its "
     "users are. run "
     "decides for every user in the audience, or every trigger event since the last run, one of "
     "sent, holdout, global_control, other_namespace, no_consent, do_not_contact, capped, queued, "
     "quiet_hours, budget, no_content; deliveries go to DATA/outbox/CHANNEL.jsonl and every "
     "decision to the campaign's exposure log. --all runs the active campaigns by priority. deliver "
     "posts the outbox's due records to a gateway (personal fields filled in then), with "
     "retries. control sets the global control group kept out of every campaign.",
     CAMPAIGN_OPTS, cmd_campaign,
     "create list show journey pause resume run deliver dnc control"},
    {"status", "status [--at TIME] [--json]", "Where the campaigns stand, whichever process runs "
     "them: each one's kind, status, runs and last run, whether it is due and when next, the "
     "events a trigger campaign has not read yet; and per channel the outbox not yet handed "
     "to the gateway and the deliveries held.", STATUS_OPTS, cmd_status, NULL},
    {"feedback", "feedback import FILE [--json]", "Complaints, unsubscribes, bounces, survey "
     "scores and review ratings from a CSV file (user, kind, at; optional campaign, channel, "
     "item, score). A complaint, unsubscribe or bounce puts the user on the do-not-contact list "
     "for that channel (or all) at once; reports show complaint and unsubscribe rates per "
     "campaign; complaints and low ratings lower an item in recommendations. Bad rows are "
     "quarantined; the last line is read=N accepted=N duplicates=N quarantined=N.",
     FEEDBACK_OPTS, cmd_feedback,
     "import"},
    {"uplift", "uplift train|apply|report --campaign ID | --csv FILE --treatment COL --outcome COL "
     "[options]", "Who a campaign moves: train fits a two-model or class-transformation uplift "
     "model on an experiment (a campaign's exposures and outcomes with the users' profiles, or "
     "any table with treatment and outcome columns) and measures it on held-out units (Qini "
     "coefficient, AUUC, uplift in the top k %); apply scores every user and projects the "
     "incremental conversions and ROI of targeting the top --top % (with a warning when the "
     "held-out Qini does not back them); report gives the Qini "
     "curve on every unit, and with --effects the agreement with known true effects.",
     UPLIFT_OPTS, cmd_uplift,
     "train apply report"},
    {"serve", "serve [--listen ADDR:PORT] [--threads N] [--model NAME]", "The HTTP API in the "
     "foreground: POST /v1/events; GET /v1/users/ID/profile, /v1/users/ID/recommendations; "
     "segments; /healthz and /metrics (Prometheus). Requests carry an API key (`tailor apikey "
     "create`). SIGHUP reloads the model and the keys; SIGTERM stops accepting, finishes what "
     "is in flight and exits 0.", SERVE_OPTS, cmd_serve, NULL},
    {"apikey", "apikey create --role admin|analyst|service [--name N] | list | revoke ID", "API "
     "keys for the server: created keys are shown once (the store keeps a hash); revoked keys "
     "stop working at the server's next reload.", APIKEY_OPTS, cmd_apikey,
     "create list revoke"},
    {"gen", "gen --out DIR [options] | gen respond --campaign ID --truth FILE --out FILE",
     "Generate a synthetic world (users, items, products, credit, consents, events, and "
     "truth.json with each user's latent tastes, price sensitivity, risk and channel response); "
     "respond: the world's users' answers to a campaign's deliveries, by that truth, as an "
     "events file to import.", GEN_OPTS, cmd_gen,
     "respond"},
    {"demo", "demo [--serve] [options]", "The whole loop on a generated world: import (twice), "
     "check, profiles, segments, recommendations, scorecard, offers, two campaigns answered by "
     "the ground truth and their reports; then an admin key and where the console is; with --serve, "
     "the console and the HTTP API themselves.", DEMO_OPTS, cmd_demo, NULL},
    {"export-user", "export-user USER [--out FILE]",
     "Everything held about one user, for a subject access request: personal fields in clear, "
     "attributes, credit record, consents and their history, do-not-contact entries, feedback, "
     "every event, the profile, the segments the user is in, every campaign decision and the "
     "reads of the user's data (the export itself is added to them); the same for every other "
     "identifier of the user's person, in linked_identifiers.", EXPORT_USER_OPTS,
     cmd_export_user, NULL},
    {"erase", "erase USER", "Erasure of the user's person, every identifier of it: the events, personal fields and attributes, credit "
     "record, consents, do-not-contact entries, feedback, campaign exposures and outbox records, "
     "quarantined rows naming the user, profile, what the models learnt of the user alone, "
     "logged offer decisions and the user's place in journeys, all removed; the old bytes overwritten. A tombstone (a keyed "
     "pseudonym) stays, so importing the same id again is refused (reason erased_user).",
     ERASE_OPTS, cmd_erase, NULL},
    {"retain", "retain --days N", "Retention: events older than N days dropped, with the campaign "
     "records, feedback, quarantined rows and consent history of that age (the consents in "
     "force stay); the profiles are built again.", RETAIN_OPTS, cmd_retain, NULL},
    {"audit", "audit [list [--user ID] | verify]", "The audit log of reads, exports and erasures "
     "of personal data (users by pseudonym); verify walks its hash chain and fails if an entry "
     "was changed, inserted or removed, or the log was cut at its end or wiped (its anchor counts "
     "the entries).", AUDIT_OPTS, cmd_audit,
     "list verify"},
    {"key", "key rotate", "A new data key: every personal value, quarantined row and secret is "
     "sealed again under it in one transaction, and the new key file replaces the old (with "
     "$TAILOR_KEY, the new key comes from $TAILOR_NEW_KEY). Pseudonyms and the audit chain stay "
     "valid.", KEY_OPTS, cmd_key,
     "rotate"},
    {"help", "help [COMMAND]", "Show the commands, or one command's options.", NULL, NULL, NULL},
    {"version", "version [--json]", "Show tailor's version (also `tailor --version`).",
     VERSION_OPTS, cmd_version, NULL},
};

#define NCOMMANDS (sizeof COMMANDS / sizeof *COMMANDS)

static const command_t *command_named(const char *name) {
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0) return &COMMANDS[i];
    return NULL;
}

static void usage_all(FILE *f) {
    fprintf(f, "tailor: a precision-marketing engine\n\nusage: tailor [--data DIR | --store URI] <command> "
            "[options]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].usage);
    fprintf(f, "\nThe store is --data (a data directory) or --store (a PostgreSQL store shared by\n"
            "many processes: postgresql://USER@HOST:PORT/DB, the data key in $TAILOR_KEY), else\n"
            "$TAILOR_STORE, else $TAILOR_DATA, else ./tailor-data.\n"
            "`tailor COMMAND --help` shows a command's options.\n");
}

/* The usage error for a command name not in the table, naming the nearest. */
static int unknown_command(const char *cmd, const char *name) {
    near_t nr;
    near_init(&nr, name);
    for (size_t i = 0; i < NCOMMANDS; i++) near_try(&nr, COMMANDS[i].name, strlen(COMMANDS[i].name));
    int len;
    const char *best = near_best(&nr, &len);
    if (best)
        return cli_fail(cmd, EXIT_USAGE, 0, "unknown command '%s'; did you mean '%.*s'?\n"
                        "(`tailor help` lists the commands)", name, len, best);
    return cli_fail(cmd, EXIT_USAGE, 0, "unknown command '%s'\n(`tailor help` lists the commands)",
                    name);
}

static int cmd_help(int argc, char **argv) {
    if (argc > 0) {
        const command_t *c = command_named(argv[0]);
        if (!c) return unknown_command("help", argv[0]);
        print_help(c);
        return EXIT_OK;
    }
    usage_all(stdout);
    return EXIT_OK;
}

int run_cmd(const char *name, int argc, char **argv) {
    const command_t *c = command_named(name);
    return c->run ? cli_run(c, argc, argv) : cmd_help(argc, argv);
}

static int cmd_version(const command_t *c, const args_t *a) {
    if (a->npos) return die_usage(c, "unexpected %s", a->pos[0]);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "version", tl_version);
        print_json(j);
    } else {
        printf("tailor %s\n", tl_version);
    }
    return EXIT_OK;
}

int main(int argc, char **argv) {
    /* every file tailor makes (the store, the profiles, models, exports)
     * holds its users' data: readable by the owner alone */
    umask(077);
    int i = 1;
    /* --data DIR, or --store with a PostgreSQL connection string (either
     * names any store) */
    size_t w;
    while (i < argc && ((w = 6, !strncmp(argv[i], "--data", 6)) ||
                        (w = 7, !strncmp(argv[i], "--store", 7)))) {
        if (argv[i][w] == '=') {
            global_data = argv[i] + w + 1;
            i++;
        } else if (argv[i][w] == 0 && i + 1 < argc) {
            global_data = argv[i + 1];
            i += 2;
        } else {
            errors_as_json(NULL, argc - i, argv + i);
            return cli_fail(NULL, EXIT_USAGE, 0, "%s needs a data directory or a store's address",
                            w == 6 ? "--data" : "--store");
        }
    }
    if (i >= argc) {
        usage_all(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return cmd_help(0, NULL);
    if (strcmp(argv[i], "--version") == 0) return run_cmd("version", argc - i - 1, argv + i + 1);
    if (!command_named(argv[i])) {
        errors_as_json(NULL, argc - i, argv + i);
        return unknown_command(NULL, argv[i]);
    }
    return run_cmd(argv[i], argc - i - 1, argv + i + 1);
}
