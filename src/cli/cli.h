/* cli.h -- what the files of the command line share: the command table's
 * entries, option parsing, the data directory, the store opened for a
 * command, error and JSON printing, and the commands of each file. */
#ifndef TL_CLI_H
#define TL_CLI_H
#include <cjson/cJSON.h>

#include "core/core.h"
#include "ingest/ingest.h"
#include "rec/rec.h"
#include "segment/segment.h"
#include "store/store.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_BADINPUT = 3 };

/* ---- option parsing -------------------------------------------------------- */

/* An option. Its help may name what the library's registries hold, which
 * print_help writes in: {models} the model families, {default:train},
 * {default:serve}, {default:eval} and {default:similar} the model each use
 * takes, {param} the help and default of the model option of the same
 * name, {params} the names of every model option. */
typedef struct {
    const char *name; /* without the leading -- */
    int takes_value;
    const char *help;
} optspec_t;

typedef struct {
    const char *data;
    const char *vals[48]; /* one per option of the command */
    int set[48];
    char **pos;
    int npos;
} args_t;

/* A command: run is given its parsed arguments (NULL for help, which
 * takes its words as they are); subs, its subcommands space-separated
 * (NULL when it has none). */
typedef struct command command_t;
struct command {
    const char *name, *usage, *summary;
    const optspec_t *opts;
    int (*run)(const command_t *c, const args_t *a);
    const char *subs;
};

const optspec_t *find_opt(const optspec_t *o, const char *name, size_t n);
void print_help(const command_t *c);
/* Returns -1 after printing help, EXIT_USAGE on error, 0 otherwise.
 * Reorders argv: a->pos is argv, its first a->npos slots the positional
 * arguments in order (option values are kept as pointers in a->vals).
 * A first positional argument that is none of c's subcommands is an
 * error that names the nearest. */
int parse_args(const command_t *c, int argc, char **argv, args_t *a);
/* The prologue of every command: parses argc/argv for c and runs it;
 * returns the exit code (0 after printing help). */
int cli_run(const command_t *c, int argc, char **argv);
/* The value of --name ("" for a flag), or NULL when not given. */
const char *opt(const command_t *c, const args_t *a, const char *name);
int opt_u64(const command_t *c, const args_t *a, const char *name, uint64_t def, uint64_t lo,
            uint64_t hi, uint64_t *out);
int opt_f64(const command_t *c, const args_t *a, const char *name, double def, double lo,
            double hi, double *out);
extern const char *global_data;
const char *data_dir(const args_t *a);
/* How the command line opens stores, from the environment (read once):
 * the data key from $TAILOR_KEY (64 hex digits; else the key file), a
 * fixed "now" from $TAILOR_NOW (any time tl_time_parse reads; else the
 * system clock). store_conf: 0, or $TAILOR_KEY's error with eb told. */
int cli_store_conf(const tl_store_conf_t **out, tl_errbuf_t *eb);
/* tl_store_open with that configuration. */
int cli_store_open(const char *dir, int flags, tl_store_t **st, tl_errbuf_t *eb);
/* "Now" for the command line: $TAILOR_NOW, else the system clock. */
int64_t cli_now(void);
/* Whether the data key comes from $TAILOR_KEY. */
int cli_key_from_env(void);
/* Opens the store of a's data directory (flags of tl_store_open); on
 * failure tells the error as cmd's and returns EXIT_FAIL, else 0. */
int open_store(const char *cmd, const args_t *a, int flags, tl_store_t **st, tl_errbuf_t *eb);

/* ---- reading files: the options import and eval share ------------------------- */

#define READ_OPTS                                                                                  \
    {"preset", 1, "a public data set: movielens, taobao, online-retail, bank-marketing, "            \
                  "german-credit (each file recognised by its content)"},                          \
        {"kind", 1, "users, items, products, credit, consents or events (default: from the header)"}, \
        {"format", 1, "csv or jsonl (default: from the file name)"},                               \
        {"delimiter", 1, "CSV field delimiter: one byte, or two equal bytes such as ::; \\t for tab"}, \
        {"no-header", 0, "the CSV file has no header line (columns in canonical order, or only "   \
                         "those --map names by #N)"},                                              \
        {"map", 1, "field=column,... (column: header name or #N counting from 1; -=column ignores " \
                   "a column)"},                                                                   \
        {"set", 1, "field=value,...: the field takes this value in every record, e.g. type=rate"}, \
        {"encoding", 1, "utf-8 (default) or latin1"}

/* The reading options of READ_OPTS given to c into o (set to the defaults
 * first); 0, or the exit code of a usage error, told. */
int cli_read_opts(const command_t *c, const args_t *a, tl_import_opts_t *o);
/* The name of the first reading option given to c, or NULL. */
const char *cli_read_opt_given(const command_t *c, const args_t *a);

/* ---- errors -------------------------------------------------------------------- *
 * Every error of a command is printed by one of these, once, on stderr:
 * "tailor CMD: MESSAGE", or, when the arguments hold --json, one line
 *   {"error":{"command":CMD,"code":CODE,"message":MESSAGE,"exit":EXIT}}
 * where CODE is the library's error name (ENOENT, EBADINPUT, ELOCKED, ...),
 * or USAGE for a usage error (exit 2). Each returns the exit code. */

/* Errors as JSON from now on if args (options o, values skipped) hold
 * --json before any "--"; with o NULL, if any argument is --json. */
void errors_as_json(const optspec_t *o, int argc, char **argv);
/* A failure with the library's code rc (0: none known) and exit code ex. */
int cli_fail(const char *cmd, int ex, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A usage error of c (exit 2), with its usage line. */
int die_usage(const command_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failure with eb's message (else rc's), exit 1. */
int fail_err(const char *cmd, int rc, const tl_errbuf_t *eb);

/* Notes beside a result, on stderr as text. Under --json stderr holds
 * nothing but the error object: a rejected record goes into it (the first
 * `limit`, as "rejected":[{"source","line","reason","message"}]) when the
 * command then fails, and other notes are left out (the JSON result
 * counts what they tell). */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A rejected record, FILE:LINE: REASON: MESSAGE, told if *shown (counted
 * up) is below limit. */
void note_reject(uint64_t *shown, uint64_t limit, const char *source, uint64_t line,
                 tl_reason_t reason, const char *msg);

/* The nearest of some words to a mistyped one: near_try() each candidate
 * (len bytes), then near_best() gives the nearest if it is near enough to
 * be a slip (a unique prefix, or a few edits away), else NULL. */
typedef struct {
    const char *word, *best;
    int best_len, best_d, prefixes;
    const char *prefix;
    int prefix_len;
} near_t;
void near_init(near_t *n, const char *word);
void near_try(near_t *n, const char *cand, size_t len);
const char *near_best(const near_t *n, int *len);

/* Prints j on one line and frees it. */
void print_json(cJSON *j);
/* main.c: runs a command by name as if it were typed (the demo's steps). */
int run_cmd(const char *name, int argc, char **argv);

/* ---- users (users.c) ----------------------------------------------------------- */

/* The store with its built profiles, for audiences. */
typedef struct {
    tl_store_t *st;
    tl_profiles_t *p;
    tl_segtable_t *t;
    tl_dict_t *users;
} segctx_t;
int segctx_open(const args_t *a, int writable, segctx_t *x, tl_errbuf_t *eb);
void segctx_close(segctx_t *x);
/* The members of a condition (one byte per user); prints what is wrong
 * with a bad one and returns an exit code. */
int seg_mask(segctx_t *x, const char *cmd, const char *expr, uint8_t **mask, uint32_t *size);

/* How an export names users: by id, or (--pseudonymous) by a keyed
 * pseudonym of the recipient's name and the id, so that a recipient can
 * join its own exports but not another's, nor reverse one without the data
 * directory's secret. The caller frees in with tl_buf_fini. */
typedef struct {
    tl_store_t *st;
    int pseudo;
    tl_buf_t in;
    size_t prefix;
    char out[33];
} idmap_t;
/* From c's --pseudonymous and --recipient; an exit code. */
int idmap_init(idmap_t *m, const command_t *c, const args_t *a, tl_store_t *st);
/* The name of a user in the export (NULL on failure, said in eb). */
const char *idmap_name(idmap_t *m, const char *id, size_t *n, tl_errbuf_t *eb);

/* ---- the commands, by file ------------------------------------------------------ */

/* data.c */
extern const optspec_t IMPORT_OPTS[], STATS_OPTS[], QUAR_OPTS[], CHECK_OPTS[];
int cmd_import(const command_t *c, const args_t *a);
int cmd_stats(const command_t *c, const args_t *a);
int cmd_quarantine(const command_t *c, const args_t *a);
int cmd_check(const command_t *c, const args_t *a);

/* gen.c */
extern const optspec_t GEN_OPTS[], DEMO_OPTS[];
int cmd_gen(const command_t *c, const args_t *a);
int cmd_demo(const command_t *c, const args_t *a);

/* profile.c */
extern const optspec_t PROFILE_OPTS[], TAG_OPTS[];
int cmd_profile(const command_t *c, const args_t *a);
int cmd_tag(const command_t *c, const args_t *a);

/* segment.c */
extern const optspec_t SEGMENT_OPTS[];
int cmd_segment(const command_t *c, const args_t *a);

/* rec.c */
extern const optspec_t TRAIN_OPTS[], EVAL_OPTS[], REC_OPTS[];
int cmd_train(const command_t *c, const args_t *a);
int cmd_eval(const command_t *c, const args_t *a);
int cmd_recommend(const command_t *c, const args_t *a);
int cmd_similar(const command_t *c, const args_t *a);

/* score.c: `score` and `propensity` (told apart by c's name), `offers`
 * and `report` */
extern const optspec_t SCORE_OPTS[], OFFERS_OPTS[], REPORT_OPTS[];
int cmd_score(const command_t *c, const args_t *a);
int cmd_offers(const command_t *c, const args_t *a);
int cmd_report(const command_t *c, const args_t *a);

/* privacy.c */
extern const optspec_t EXPORT_USER_OPTS[], ERASE_OPTS[], RETAIN_OPTS[], AUDIT_OPTS[], KEY_OPTS[];
int cmd_export_user(const command_t *c, const args_t *a);
int cmd_erase(const command_t *c, const args_t *a);
int cmd_retain(const command_t *c, const args_t *a);
int cmd_audit(const command_t *c, const args_t *a);
int cmd_key(const command_t *c, const args_t *a);

/* campaign.c */
extern const optspec_t CAMPAIGN_OPTS[], FEEDBACK_OPTS[], STATUS_OPTS[];
int cmd_campaign(const command_t *c, const args_t *a);
/* `status`: where the campaigns and their deliveries stand, from the store */
int cmd_status(const command_t *c, const args_t *a);
int cmd_feedback(const command_t *c, const args_t *a);

/* experiment.c */
extern const optspec_t UPLIFT_OPTS[];
int cmd_uplift(const command_t *c, const args_t *a);
/* `report campaign ID` (options --json, --html, --bh of the report command) */
int report_campaign(const command_t *c, const args_t *a, const char *id);

/* identity.c */
extern const optspec_t IDENTITY_OPTS[];
int cmd_identity(const command_t *c, const args_t *a);

/* serve.c */
extern const optspec_t SERVE_OPTS[], APIKEY_OPTS[];
int cmd_serve(const command_t *c, const args_t *a);
int cmd_apikey(const command_t *c, const args_t *a);
#endif
