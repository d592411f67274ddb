/* cli.c -- the prologue every command shares: its options parsed, the
 * data directory and its store opened; errors, told once as text or as one
 * JSON object; and the nearest known word to a mistyped command,
 * subcommand or option. */
#include "cli.h"

#include <stdarg.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const optspec_t *find_opt(const optspec_t *o, const char *name, size_t n) {
    for (; o && o->name; o++)
        if (strlen(o->name) == n && memcmp(o->name, name, n) == 0) return o;
    return NULL;
}

/* What a {KEY} in an option's help stands for, written into out from the
 * library's registries: 0, or -1 for a key that is none of these. */
static int help_key(const optspec_t *o, const char *key, size_t n, char *out, size_t cap) {
    static const struct {
        const char *key;
        tl_model_use_t use;
    } USES[] = {{"default:train", TL_MODEL_FOR_TRAIN}, {"default:serve", TL_MODEL_FOR_SERVE},
                {"default:eval", TL_MODEL_FOR_EVAL}, {"default:similar", TL_MODEL_FOR_SIMILAR}};
    const tl_model_param_t *d;
    if (n == 6 && memcmp(key, "models", 6) == 0) {
        tl_model_names(out, cap);
        return 0;
    }
    if (n == 5 && memcmp(key, "param", 5) == 0 && (d = tl_model_param_lookup(o->name))) {
        if (isnan(d->dflt)) snprintf(out, cap, "%s", d->help); /* its help says how the data sets it */
        else snprintf(out, cap, "%s (default %g)", d->help, d->dflt);
        return 0;
    }
    if (n == 6 && memcmp(key, "params", 6) == 0) {
        size_t len = 0;
        out[0] = 0;
        for (uint32_t i = 0; (d = tl_model_param_at(i)) && len < cap; i++)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", d->name);
        return 0;
    }
    for (size_t i = 0; i < sizeof USES / sizeof *USES; i++)
        if (strlen(USES[i].key) == n && memcmp(USES[i].key, key, n) == 0) {
            snprintf(out, cap, "%s", tl_model_default(USES[i].use));
            return 0;
        }
    return -1;
}

/* An option's help with its {KEY}s written in (help_key): the model
 * families, their options and defaults come from the model registry, so
 * the help names a new one by itself. */
static void help_text(const optspec_t *o, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (const char *h = o->help; *h && len + 1 < cap;) {
        const char *end = *h == '{' ? strchr(h, '}') : NULL;
        char v[512];
        if (end && help_key(o, h + 1, (size_t)(end - h - 1), v, sizeof v) == 0) {
            len += (size_t)snprintf(out + len, cap - len, "%s", v);
            h = end + 1;
        } else {
            out[len++] = *h++, out[len] = 0;
        }
    }
    if (len >= cap) out[cap - 1] = 0;
}

void print_help(const command_t *c) {
    printf("usage: tailor [--data DIR] %s\n\n%s\n", c->usage, c->summary);
    if (c->opts && c->opts->name) printf("\noptions:\n");
    for (const optspec_t *o = c->opts; o && o->name; o++) {
        char left[64], help[1024];
        snprintf(left, sizeof left, "--%s%s", o->name, o->takes_value ? " VALUE" : "");
        help_text(o, help, sizeof help);
        printf("  %-22s %s\n", left, help);
    }
    printf("  %-22s %s\n", "--data DIR", "data directory (else $TAILOR_STORE, $TAILOR_DATA, "
           "./tailor-data)");
    printf("  %-22s %s\n", "--store URI", "a PostgreSQL store: postgresql://USER@HOST:PORT/DB");
}

/* The next space-separated word of *s (*n bytes), *s moved past it; NULL
 * at the end. */
static const char *next_word(const char **s, size_t *n) {
    *s += strspn(*s, " ");
    if (!**s) return NULL;
    const char *w = *s;
    *n = strcspn(w, " ");
    *s += *n;
    return w;
}

/* The usage error for an unknown option or subcommand, naming the nearest
 * known one: what is "option" or "subcommand", dashes "--" or "". */
static int die_unknown(const command_t *c, const char *what, const char *dashes, const char *word,
                       size_t n) {
    char w[128];
    snprintf(w, sizeof w, "%.*s", (int)n, word);
    near_t nr;
    near_init(&nr, w);
    if (*dashes) {
        for (const optspec_t *o = c->opts; o && o->name; o++) near_try(&nr, o->name, strlen(o->name));
        near_try(&nr, "data", 4);
        near_try(&nr, "store", 5);
        near_try(&nr, "help", 4);
    } else {
        const char *s = c->subs, *sub;
        size_t k;
        while ((sub = next_word(&s, &k))) near_try(&nr, sub, k);
    }
    int len;
    const char *best = near_best(&nr, &len);
    if (best)
        return die_usage(c, "unknown %s '%s%s'; did you mean '%s%.*s'?", what, dashes, w, dashes,
                         len, best);
    return die_usage(c, "unknown %s '%s%s'", what, dashes, w);
}

/* Returns -1 after printing help, EXIT_USAGE on error, 0 otherwise. */
int parse_args(const command_t *c, int argc, char **argv, args_t *a) {
    memset(a, 0, sizeof *a);
    errors_as_json(c->opts, argc, argv);
    /* The positional arguments are gathered at the front of argv itself:
     * the slot written (npos) is never after the one read (i). */
    a->pos = argv;
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if (only_pos || arg[0] != '-' || arg[1] == 0) {
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(c);
            return -1;
        }
        /* a one-letter option may take one dash: -n 10 */
        int short_opt = arg[1] != '-' && arg[2] == 0 && find_opt(c->opts, arg + 1, 1);
        if (arg[1] != '-' && !short_opt) return die_usage(c, "unknown option %s", arg);
        const char *name = arg + (short_opt ? 1 : 2), *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        const char *val = NULL;
        if ((n == 4 && memcmp(name, "data", 4) == 0) || (n == 5 && memcmp(name, "store", 5) == 0)) {
            val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val) return die_usage(c, "--%.*s needs a data directory or a store's address", (int)n, name);
            a->data = val;
            continue;
        }
        const optspec_t *o = find_opt(c->opts, name, n);
        if (!o) return die_unknown(c, "option", "--", name, n);
        if (o->takes_value) {
            val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val) return die_usage(c, "--%s needs a value", o->name);
        } else if (eq) {
            return die_usage(c, "--%s takes no value", o->name);
        }
        int k = (int)(o - c->opts);
        a->set[k] = 1;
        a->vals[k] = val;
    }
    const char *subs = c->subs;
    if (subs && a->npos) {
        size_t n = strlen(a->pos[0]);
        const char *s = subs, *w;
        size_t k;
        while ((w = next_word(&s, &k)))
            if (k == n && memcmp(w, a->pos[0], n) == 0) return 0;
        return die_unknown(c, "subcommand", "", a->pos[0], n);
    }
    return 0;
}

int cli_run(const command_t *c, int argc, char **argv) {
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    return c->run(c, &a);
}

const char *opt(const command_t *c, const args_t *a, const char *name) {
    const optspec_t *o = find_opt(c->opts, name, strlen(name));
    return o && a->set[o - c->opts] ? (a->vals[o - c->opts] ? a->vals[o - c->opts] : "") : NULL;
}

int opt_u64(const command_t *c, const args_t *a, const char *name, uint64_t def,
                   uint64_t lo, uint64_t hi, uint64_t *out) {
    const char *v = opt(c, a, name);
    *out = def;
    if (!v) return 0;
    int64_t x;
    if (tl_parse_i64(v, strlen(v), &x) || x < (int64_t)lo || (uint64_t)x > hi)
        return die_usage(c, "--%s %s: give a whole number from %llu to %llu", name, v,
                         (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)x;
    return 0;
}

int opt_f64(const command_t *c, const args_t *a, const char *name, double def, double lo,
                   double hi, double *out) {
    const char *v = opt(c, a, name);
    *out = def;
    if (!v) return 0;
    if (tl_parse_f64(v, strlen(v), out) || !(*out >= lo && *out <= hi))
        return die_usage(c, "--%s %s: give a number from %g to %g", name, v, lo, hi);
    return 0;
}

const char *global_data;

const char *data_dir(const args_t *a) {
    if (a->data) return a->data;
    if (global_data) return global_data;
    const char *e = getenv("TAILOR_STORE");
    if (!e || !*e) e = getenv("TAILOR_DATA");
    return e && *e ? e : "./tailor-data";
}

/* The environment, read once: the process's key and clock. */
static struct {
    int read, rc; /* rc: $TAILOR_KEY's parse */
    tl_store_conf_t conf;
    unsigned char key[32];
    tl_errbuf_t eb;
} env;

static void read_env(void) {
    if (env.read) return;
    env.read = 1;
    tl_store_conf_init(&env.conf);
    const char *k = getenv("TAILOR_KEY");
    if (k && *k && (env.rc = tl_store_key_parse(k, env.key, &env.eb)) == 0) env.conf.key = env.key;
    const char *n = getenv("TAILOR_NOW");
    int64_t v;
    if (n && *n && tl_time_parse(n, strlen(n), &v) == 0) env.conf.now = v;
}

int cli_store_conf(const tl_store_conf_t **out, tl_errbuf_t *eb) {
    read_env();
    *out = env.rc ? NULL : &env.conf;
    if (env.rc) *eb = env.eb;
    return env.rc;
}

int cli_store_open(const char *dir, int flags, tl_store_t **st, tl_errbuf_t *eb) {
    const tl_store_conf_t *conf;
    int rc = cli_store_conf(&conf, eb);
    if (rc) {
        *st = NULL;
        return rc;
    }
    return tl_store_open_conf(dir, conf, flags, st, eb);
}

int64_t cli_now(void) {
    read_env();
    return env.conf.now ? env.conf.now : tl_time_now_ms();
}

int cli_key_from_env(void) {
    read_env();
    return env.conf.key != NULL;
}

int open_store(const char *cmd, const args_t *a, int flags, tl_store_t **st, tl_errbuf_t *eb) {
    int rc = cli_store_open(data_dir(a), flags, st, eb);
    return rc ? fail_err(cmd, rc, eb) : 0;
}

void print_json(cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
    }
    cJSON_free(s);
    cJSON_Delete(j);
}


/* ---- errors -------------------------------------------------------------------- */

static bool json_errors;
static cJSON *rejected; /* under --json, the records note_reject() was given */

void errors_as_json(const optspec_t *o, int argc, char **argv) {
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json_errors = true;
            return;
        }
        /* the value of an option is not an option: --where --json */
        const char *name = argv[i] + 2;
        const optspec_t *v = strncmp(argv[i], "--", 2) == 0 && !strchr(name, '=')
                                 ? find_opt(o, name, strlen(name)) : NULL;
        if ((v && v->takes_value) || strcmp(argv[i], "--data") == 0 || strcmp(argv[i], "--store") == 0) i++;
    }
}

/* The error, told once; usage: the command's usage line for usage errors. */
static int report(const char *cmd, int ex, int rc, const char *usage, const char *fmt, va_list ap) {
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (!json_errors) {
        fprintf(stderr, "tailor%s%s: %s\n", cmd ? " " : "", cmd ? cmd : "", msg);
        return ex;
    }
    cJSON *j = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(j, "error");
    if (cmd) cJSON_AddStringToObject(e, "command", cmd);
    cJSON_AddStringToObject(e, "code", rc < 0 ? tl_err_name(rc) : "USAGE");
    cJSON_AddStringToObject(e, "message", msg);
    if (usage) cJSON_AddStringToObject(e, "usage", usage);
    cJSON_AddNumberToObject(e, "exit", ex);
    if (rejected) cJSON_AddItemToObject(e, "rejected", rejected);
    rejected = NULL;
    char *s = cJSON_PrintUnformatted(j);
    /* without memory for the object, the message alone */
    fprintf(stderr, "%s\n", s ? s : msg);
    cJSON_free(s);
    cJSON_Delete(j);
    return ex;
}

int cli_fail(const char *cmd, int ex, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report(cmd, ex, rc, NULL, fmt, ap);
    va_end(ap);
    return ex;
}

int die_usage(const command_t *c, const char *fmt, ...) {
    char usage[1024];
    snprintf(usage, sizeof usage, "tailor %s", c->usage);
    va_list ap;
    va_start(ap, fmt);
    report(c->name, EXIT_USAGE, 0, usage, fmt, ap);
    va_end(ap);
    if (!json_errors) fprintf(stderr, "usage: %s\n(see `tailor %s --help`)\n", usage, c->name);
    return EXIT_USAGE;
}

int fail_err(const char *cmd, int rc, const tl_errbuf_t *eb) {
    return cli_fail(cmd, EXIT_FAIL, rc, "%s", eb->msg[0] ? eb->msg : tl_strerror(rc));
}

void note(const char *fmt, ...) {
    if (json_errors) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void note_reject(uint64_t *shown, uint64_t limit, const char *source, uint64_t line,
                 tl_reason_t reason, const char *msg) {
    if ((*shown)++ >= limit) return;
    if (!json_errors) {
        fprintf(stderr, "%s:%llu: %s: %s\n", source, (unsigned long long)line,
                tl_reason_name(reason), msg);
        return;
    }
    /* kept for an error object; without memory, left out */
    if (!rejected) rejected = cJSON_CreateArray();
    cJSON *r = cJSON_CreateObject();
    if (!r || !cJSON_AddItemToArray(rejected, r)) {
        cJSON_Delete(r);
        return;
    }
    cJSON_AddStringToObject(r, "source", source);
    cJSON_AddNumberToObject(r, "line", (double)line);
    cJSON_AddStringToObject(r, "reason", tl_reason_name(reason));
    cJSON_AddStringToObject(r, "message", msg);
}

/* ---- the nearest word ------------------------------------------------------------ */

/* Edits (insert, delete, replace, swap two neighbours) from a (n bytes)
 * to b (m bytes); only the first 32 bytes of each are compared. */
static int edit_distance(const char *a, size_t n, const char *b, size_t m) {
    int d[33][33];
    if (n > 32) n = 32;
    if (m > 32) m = 32;
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

void near_init(near_t *n, const char *word) {
    memset(n, 0, sizeof *n);
    n->word = word;
    n->best_d = 1 << 30;
}

void near_try(near_t *n, const char *cand, size_t len) {
    size_t wl = strlen(n->word);
    if (wl && wl < len && memcmp(n->word, cand, wl) == 0) {
        n->prefixes++;
        n->prefix = cand;
        n->prefix_len = (int)len;
    }
    int d = edit_distance(cand, len, n->word, wl);
    if (d < n->best_d) {
        n->best_d = d;
        n->best = cand;
        n->best_len = (int)len;
    }
}

const char *near_best(const near_t *n, int *len) {
    /* a slip: up to one edit in four letters, at least one, never all */
    int wl = (int)strlen(n->word), most = wl / 4 > 1 ? wl / 4 : 1;
    if (n->best && n->best_d <= most && n->best_d < wl) {
        *len = n->best_len;
        return n->best;
    }
    if (n->prefixes == 1) {
        *len = n->prefix_len;
        return n->prefix;
    }
    return NULL;
}

int cli_read_opts(const command_t *c, const args_t *a, tl_import_opts_t *o) {
    tl_import_opts_default(o);
    o->preset = opt(c, a, "preset");
    const char *kind = opt(c, a, "kind"), *fmt = opt(c, a, "format");
    if (kind) {
        o->kind = tl_kind_parse(kind);
        if (o->kind == TL_KIND__N) return die_usage(c, "--kind %s: not a kind of record", kind);
    }
    if (fmt) {
        if (strcmp(fmt, "csv") == 0) o->format = TL_FMT_CSV;
        else if (strcmp(fmt, "jsonl") == 0) o->format = TL_FMT_JSONL;
        else return die_usage(c, "--format %s: use csv or jsonl", fmt);
    }
    o->map = opt(c, a, "map");
    o->set = opt(c, a, "set");
    if (o->preset && (kind || fmt || o->map || o->set))
        return die_usage(c, "--preset fixes the kind, format and columns; drop "
                            "--kind/--format/--map/--set");
    o->delimiter = opt(c, a, "delimiter");
    if (o->delimiter && strcmp(o->delimiter, "\\t") == 0) o->delimiter = "\t";
    if (o->delimiter && (strlen(o->delimiter) == 0 || strlen(o->delimiter) > 2))
        return die_usage(c, "--delimiter: one byte, or two equal bytes");
    o->no_header = opt(c, a, "no-header") != NULL;
    o->encoding = opt(c, a, "encoding");
    return 0;
}

const char *cli_read_opt_given(const command_t *c, const args_t *a) {
    static const optspec_t reading[] = {READ_OPTS, {NULL, 0, NULL}};
    for (const optspec_t *o = reading; o->name; o++)
        if (opt(c, a, o->name)) return o->name;
    return NULL;
}
