/* cli.c -- option parsing and printing shared by the commands. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const optspec_t *find_opt(const optspec_t *o, const char *name, size_t n) {
    for (; o && o->name; o++)
        if (strlen(o->name) == n && memcmp(o->name, name, n) == 0) return o;
    return NULL;
}

int die_usage(const command_t *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tailor %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: tailor %s\n(see `tailor %s --help`)\n", c->usage, c->name);
    return EXIT_USAGE;
}

void print_help(const command_t *c) {
    printf("usage: tailor [--data DIR] %s\n\n%s\n", c->usage, c->summary);
    if (c->opts && c->opts->name) printf("\noptions:\n");
    for (const optspec_t *o = c->opts; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", o->name, o->takes_value ? " VALUE" : "");
        printf("  %-22s %s\n", left, o->help);
    }
    printf("  %-22s %s\n", "--data DIR", "data directory (else $TAILOR_DATA, else ./tailor-data)");
}

/* Returns -1 after printing help, EXIT_USAGE on error, 0 otherwise. */
int parse_args(const command_t *c, int argc, char **argv, args_t *a) {
    memset(a, 0, sizeof *a);
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
        if (n == 4 && memcmp(name, "data", 4) == 0) {
            val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val) return die_usage(c, "--data needs a directory");
            a->data = val;
            continue;
        }
        const optspec_t *o = find_opt(c->opts, name, n);
        if (!o) return die_usage(c, "unknown option --%.*s", (int)n, name);
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
    return 0;
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
    const char *e = getenv("TAILOR_DATA");
    return e && *e ? e : "./tailor-data";
}

int fail_err(const char *cmd, int rc, const tl_errbuf_t *eb) {
    fprintf(stderr, "tailor %s: %s\n", cmd, eb->msg[0] ? eb->msg : tl_strerror(rc));
    return EXIT_FAIL;
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

