/* main.c -- the `tailor` command line.
 *
 * `tailor [--data DIR] <command> [options]`. This file only parses
 * arguments, calls libtailor and prints; every piece of logic lives in the
 * library. Output contract: with --json, stdout holds exactly one JSON
 * document; messages go to stderr and say what, where and what to do.
 * Exit codes: 0 success, 1 failure, 2 usage error, 3 bad input under --strict.
 */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "server/server.h"
#include "core/core.h"
#include "finance/finance.h"
#include "privacy/privacy.h"
#include "gen/gen.h"
#include "ingest/ingest.h"
#include "profile/profile.h"
#include "rec/rec.h"
#include "segment/segment.h"
#include "store/store.h"

/* ---- import ---------------------------------------------------------------- */

static const optspec_t IMPORT_OPTS[] = {
    {"preset", 1, "a public data set: movielens, taobao, online-retail, bank-marketing, german-credit"},
    {"kind", 1, "users, items, products, credit, consents or events (default: from the header)"},
    {"format", 1, "csv or jsonl (default: from the file name)"},
    {"delimiter", 1, "CSV field delimiter: one byte, or two equal bytes such as ::; \\t for tab"},
    {"no-header", 0, "the CSV file has no header line (columns in canonical order, or --map #N)"},
    {"map", 1, "field=column,... (column: header name or #N; -=column ignores a column)"},
    {"encoding", 1, "utf-8 (default) or latin1"},
    {"extra-types", 1, "register more event types, comma-separated"},
    {"extra-channels", 1, "register more channels, comma-separated"},
    {"strict", 0, "all or nothing: exit 3 and import nothing if any row is bad"},
    {"batch", 1, "rows per durable commit (default 1048576)"},
    {"json", 0, "print the summary as JSON"},
    {NULL, 0, NULL}};

typedef struct {
    int strict;
    uint64_t shown;
} reject_ctx_t;

static void on_reject(const char *source, uint64_t line, tl_reason_t reason, const char *msg,
                      void *arg) {
    reject_ctx_t *r = arg;
    if (r->strict) note_reject(&r->shown, 20, source, line, reason, msg);
}

static int cmd_import(int argc, char **argv);

/* ---- commands table (defined below) ----------------------------------------- */



static int cmd_import(int argc, char **argv) {
    const command_t *c = command_named("import");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos == 0) return die_usage(c, "give at least one FILE");
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    o.preset = opt(c, &a, "preset");
    const char *kind = opt(c, &a, "kind"), *fmt = opt(c, &a, "format");
    if (kind) {
        o.kind = tl_kind_parse(kind);
        if (o.kind == TL_KIND__N) return die_usage(c, "--kind %s: not a kind of record", kind);
    }
    if (fmt) {
        if (strcmp(fmt, "csv") == 0) o.format = TL_FMT_CSV;
        else if (strcmp(fmt, "jsonl") == 0) o.format = TL_FMT_JSONL;
        else return die_usage(c, "--format %s: use csv or jsonl", fmt);
    }
    if (o.preset && (kind || fmt || opt(c, &a, "map")))
        return die_usage(c, "--preset fixes the kind, format and columns; drop --kind/--format/--map");
    o.delimiter = opt(c, &a, "delimiter");
    if (o.delimiter && strcmp(o.delimiter, "\\t") == 0) o.delimiter = "\t";
    if (o.delimiter && (strlen(o.delimiter) == 0 || strlen(o.delimiter) > 2))
        return die_usage(c, "--delimiter: one byte, or two equal bytes");
    o.no_header = opt(c, &a, "no-header") != NULL;
    o.map = opt(c, &a, "map");
    o.encoding = opt(c, &a, "encoding");
    o.extra_types = opt(c, &a, "extra-types");
    o.extra_channels = opt(c, &a, "extra-channels");
    o.strict = opt(c, &a, "strict") != NULL;
    if ((rc = opt_u64(c, &a, "batch", 0, 1, 1u << 30, &o.batch_rows))) return rc;
    int json = opt(c, &a, "json") != NULL;

    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    const char *dir = data_dir(&a);
    if ((rc = tl_store_open(dir, TL_STORE_CREATE, &st, &eb))) return fail_err("import", rc, &eb);
    tl_import_stats_t s = {0};
    reject_ctx_t rj = {o.strict, 0};
    progress_t bar;
    progress_import(&o, &bar);
    tl_source_t *src = calloc((size_t)a.npos, sizeof *src);
    for (int i = 0; src && i < a.npos; i++) src[i] = tl_source_file(a.pos[i]);
    rc = src ? tl_import(st, src, a.npos, &o, &s, on_reject, &rj, &eb) : TL_ENOMEM;
    free(src);
    tl_store_close(st);
    if (rc && rc != TL_EBADINPUT) {
        return cli_fail("import", rc == TL_EINVAL ? EXIT_USAGE : EXIT_FAIL, rc, "%s",
                        eb.msg[0] ? eb.msg : tl_strerror(rc));
    }
    if (rj.shown > 20) note("... and %llu more bad rows", (unsigned long long)(rj.shown - 20));
    if (json) {
        cJSON *j = cJSON_CreateObject(), *br = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "read", (double)s.read);
        cJSON_AddNumberToObject(j, "accepted", (double)s.accepted);
        cJSON_AddNumberToObject(j, "duplicates", (double)s.duplicates);
        cJSON_AddNumberToObject(j, "quarantined", (double)s.quarantined);
        for (int r = 0; r < TL_R__N; r++)
            if (s.by_reason[r]) cJSON_AddNumberToObject(br, tl_reason_name((tl_reason_t)r), (double)s.by_reason[r]);
        cJSON_AddItemToObject(j, "by_reason", br);
        cJSON_AddBoolToObject(j, "committed", rc == 0);
        print_json(j);
    } else {
        for (int r = 0; r < TL_R__N; r++)
            if (s.by_reason[r])
                printf("quarantined %-20s %llu\n", tl_reason_name((tl_reason_t)r),
                       (unsigned long long)s.by_reason[r]);
        printf("read=%llu accepted=%llu duplicates=%llu quarantined=%llu\n",
               (unsigned long long)s.read, (unsigned long long)s.accepted,
               (unsigned long long)s.duplicates, (unsigned long long)s.quarantined);
    }
    if (rc == TL_EBADINPUT) {
        return cli_fail("import", EXIT_BADINPUT, rc, "%s", eb.msg);
    }
    return EXIT_OK;
}

/* ---- stats ----------------------------------------------------------------- */

static const optspec_t STATS_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

typedef struct {
    cJSON *obj;
    uint64_t total;
} reason_ctx_t;

static int reason_row(int n, const char *const *cols, void *arg) {
    reason_ctx_t *r = arg;
    if (n == 2 && cols[0] && cols[1]) {
        cJSON_AddNumberToObject(r->obj, cols[0], atof(cols[1]));
        r->total += strtoull(cols[1], NULL, 10);
    }
    return 0;
}

static int cmd_stats(int argc, char **argv) {
    const command_t *c = command_named("stats");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    int json = opt(c, &a, "json") != NULL;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    if ((rc = tl_store_open(data_dir(&a), TL_STORE_READONLY, &st, &eb))) return fail_err("stats", rc, &eb);
    tl_store_counts_t n;
    tl_store_evstats_t ev;
    rc = tl_store_counts(st, &n, &eb);
    if (!rc) rc = tl_store_event_stats(st, &ev, &eb);
    tl_dict_t *types = rc ? NULL : tl_store_dict(st, TL_D_TYPE, &eb);
    tl_dict_t *chans = rc ? NULL : tl_store_dict(st, TL_D_CHANNEL, &eb);
    if (!rc && (!types || !chans)) rc = TL_ENOMEM;
    if (rc) {
        tl_store_close(st);
        return fail_err("stats", rc, &eb);
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "users", (double)n.users);
    cJSON_AddNumberToObject(j, "items", (double)n.items);
    cJSON_AddNumberToObject(j, "products", (double)n.products);
    cJSON_AddNumberToObject(j, "credit_records", (double)n.credit);
    cJSON_AddNumberToObject(j, "consents", (double)n.consents);
    cJSON_AddNumberToObject(j, "events", (double)n.events);
    cJSON *bt = cJSON_AddObjectToObject(j, "events_by_type");
    for (uint32_t t = 0; t < tl_dict_count(types) && t < 256; t++)
        if (ev.by_type[t]) cJSON_AddNumberToObject(bt, tl_dict_str(types, t, NULL), (double)ev.by_type[t]);
    cJSON *bc = cJSON_AddObjectToObject(j, "events_by_channel");
    for (uint32_t t = 0; t < 256; t++)
        if (ev.by_channel[t])
            cJSON_AddNumberToObject(bc, t == TL_NO_CHANNEL ? "none" : tl_dict_str(chans, t, NULL),
                                    (double)ev.by_channel[t]);
    cJSON *bd = cJSON_AddObjectToObject(j, "events_by_day");
    for (int64_t d = 0; d < ev.ndays; d++) {
        if (!ev.by_day[d]) continue;
        char day[32];
        tl_time_format((ev.first_day + d) * TL_MS_PER_DAY, day);
        day[10] = 0;
        cJSON_AddNumberToObject(bd, day, (double)ev.by_day[d]);
    }
    reason_ctx_t rq = {cJSON_CreateObject(), 0};
    rc = tl_store_query(st, "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC",
                        reason_row, &rq, &eb);
    cJSON_AddNumberToObject(j, "quarantined", (double)n.quarantined);
    cJSON_AddItemToObject(j, "quarantined_by_reason", rq.obj);
    tl_store_evstats_fini(&ev);
    tl_store_close(st);
    if (rc) {
        cJSON_Delete(j);
        return fail_err("stats", rc, &eb);
    }
    if (json) {
        print_json(j);
        return EXIT_OK;
    }
    printf("users           %llu\nitems           %llu\nproducts        %llu\n"
           "credit records  %llu\nconsents        %llu\nevents          %llu\n",
           (unsigned long long)n.users, (unsigned long long)n.items,
           (unsigned long long)n.products, (unsigned long long)n.credit,
           (unsigned long long)n.consents, (unsigned long long)n.events);
    const char *titles[] = {"events by type", "events by channel"};
    cJSON *groups[] = {bt, bc};
    for (int g = 0; g < 2; g++) {
        printf("%s:\n", titles[g]);
        for (cJSON *it = groups[g]->child; it; it = it->next)
            printf("  %-16s %12.0f\n", it->string, it->valuedouble);
    }
    int ndays = cJSON_GetArraySize(bd);
    if (ndays) {
        printf("events by day: %d days from %s to %s", ndays, bd->child->string,
               cJSON_GetArrayItem(bd, ndays - 1)->string);
        double mx = 0;
        const char *mxd = "";
        for (cJSON *it = bd->child; it; it = it->next)
            if (it->valuedouble > mx) mx = it->valuedouble, mxd = it->string;
        printf(", busiest %s (%.0f)\n", mxd, mx);
    }
    printf("quarantined     %llu\n", (unsigned long long)n.quarantined);
    for (cJSON *it = rq.obj->child; it; it = it->next)
        printf("  %-20s %8.0f\n", it->string, it->valuedouble);
    cJSON_Delete(j);
    return EXIT_OK;
}

/* ---- quarantine ------------------------------------------------------------ */

static const optspec_t QUAR_OPTS[] = {
    {"reason", 1, "only rows with this reason code"},
    {"limit", 1, "list at most N rows (default 50)"},
    {"format", 1, "export format: jsonl (default) or csv"},
    {"out", 1, "export to this file (created 0600) instead of stdout"},
    {"json", 0, "list as JSON"},
    {NULL, 0, NULL}};

typedef struct {
    int json, csv, export;
    uint64_t limit, n;
    FILE *out;
    cJSON *arr;
    tl_buf_t b;
} qctx_t;

static int q_row(const tl_qrow_t *q, void *arg) {
    qctx_t *c = arg;
    if (!c->export && c->n >= c->limit) {
        c->n++;
        return 0;
    }
    c->n++;
    tl_buf_clear(&c->b);
    if (c->export) {
        if (c->csv) {
            fprintf(c->out, "%lld,", (long long)q->id);
            tl_buf_csv_str(&c->b, q->source, strlen(q->source));
            tl_buf_printf(&c->b, ",%llu,%s,", (unsigned long long)q->line, q->reason);
            tl_buf_csv_str(&c->b, q->message, strlen(q->message));
            tl_buf_append(&c->b, ",", 1);
            tl_buf_csv_str(&c->b, q->raw, q->rawlen);
            tl_buf_append(&c->b, "\n", 1);
            fwrite(c->b.data, 1, c->b.len, c->out);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)q->id);
            cJSON_AddStringToObject(o, "source", q->source);
            cJSON_AddNumberToObject(o, "line", (double)q->line);
            cJSON_AddStringToObject(o, "reason", q->reason);
            cJSON_AddStringToObject(o, "message", q->message);
            tl_buf_append(&c->b, q->raw, q->rawlen);
            cJSON_AddStringToObject(o, "raw", tl_utf8_valid(q->raw, q->rawlen) ? c->b.data : "(not UTF-8)");
            char *s = cJSON_PrintUnformatted(o);
            fprintf(c->out, "%s\n", s ? s : "{}");
            cJSON_free(s);
            cJSON_Delete(o);
        }
        return ferror(c->out) ? TL_EIO : 0;
    }
    /* Listing is for people: it shows the preview, personal data masked. */
    tl_buf_append(&c->b, q->preview, strlen(q->preview));
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "source", q->source);
        cJSON_AddNumberToObject(o, "line", (double)q->line);
        cJSON_AddStringToObject(o, "reason", q->reason);
        cJSON_AddStringToObject(o, "message", q->message);
        cJSON_AddStringToObject(o, "raw", tl_utf8_valid(c->b.data, c->b.len) ? c->b.data : "(not UTF-8)");
        cJSON_AddItemToArray(c->arr, o);
    } else {
        printf("%s:%llu: %s: %s\n    %.*s\n", q->source, (unsigned long long)q->line, q->reason,
               q->message, (int)(c->b.len > 200 ? 200 : c->b.len), c->b.data);
    }
    return 0;
}

static int cmd_quarantine(int argc, char **argv) {
    const command_t *c = command_named("quarantine");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos != 1 || (strcmp(a.pos[0], "list") != 0 && strcmp(a.pos[0], "export") != 0))
        return die_usage(c, "say list or export");
    qctx_t q = {0};
    q.export = strcmp(a.pos[0], "export") == 0;
    q.json = opt(c, &a, "json") != NULL;
    const char *fmt = opt(c, &a, "format"), *out = opt(c, &a, "out");
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0)
        return die_usage(c, "--format %s: use csv or jsonl", fmt);
    q.csv = fmt && strcmp(fmt, "csv") == 0;
    if ((rc = opt_u64(c, &a, "limit", 50, 0, UINT32_MAX, &q.limit))) return rc;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    if ((rc = tl_store_open(data_dir(&a), TL_STORE_READONLY, &st, &eb))) return fail_err("quarantine", rc, &eb);
    q.out = stdout;
    if (q.export && out) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        q.out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!q.out) {
            tl_store_close(st);
            return cli_fail("quarantine", EXIT_FAIL, TL_EIO, "%s: cannot create the file", out);
        }
    }
    if (q.export && q.csv) fprintf(q.out, "id,source,line,reason,message,raw\n");
    q.arr = cJSON_CreateArray();
    rc = tl_store_quarantine_scan(st, opt(c, &a, "reason"), q.export, q_row, &q, &eb);
    tl_store_close(st);
    if (q.out != stdout && fclose(q.out) != 0 && !rc) rc = TL_EIO;
    tl_buf_fini(&q.b);
    if (rc) {
        cJSON_Delete(q.arr);
        return fail_err("quarantine", rc, &eb);
    }
    if (!q.export && q.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "total", (double)q.n);
        cJSON_AddItemToObject(j, "rows", q.arr);
        print_json(j);
        return EXIT_OK;
    }
    cJSON_Delete(q.arr);
    if (!q.export && q.n > q.limit)
        printf("... %llu more (use --limit, or export them)\n", (unsigned long long)(q.n - q.limit));
    if (!q.export) printf("%llu quarantined rows\n", (unsigned long long)q.n);
    return EXIT_OK;
}

/* ---- check ----------------------------------------------------------------- */

static const optspec_t CHECK_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

static int cmd_check(int argc, char **argv) {
    const command_t *c = command_named("check");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    if ((rc = tl_store_open(data_dir(&a), TL_STORE_READONLY, &st, &eb))) return fail_err("check", rc, &eb);
    tl_store_check_t ck;
    rc = tl_store_check(st, &ck, &eb);
    tl_store_close(st);
    if (opt(c, &a, "json")) {
        cJSON *j = cJSON_CreateObject();
        char digest[32];
        snprintf(digest, sizeof digest, "%016llx", (unsigned long long)ck.digest);
        cJSON_AddBoolToObject(j, "ok", rc == 0);
        cJSON_AddNumberToObject(j, "blocks", (double)ck.blocks);
        cJSON_AddNumberToObject(j, "events", (double)ck.events);
        cJSON_AddStringToObject(j, "events_digest", digest);
        if (rc) cJSON_AddStringToObject(j, "error", eb.msg);
        print_json(j);
        return rc ? fail_err("check", rc, &eb) : EXIT_OK;
    }
    if (rc) return fail_err("check", rc, &eb);
    printf("ok: %llu blocks, %llu events, all checksums match (digest %016llx)\n",
           (unsigned long long)ck.blocks, (unsigned long long)ck.events,
           (unsigned long long)ck.digest);
    return EXIT_OK;
}

/* ---- gen ------------------------------------------------------------------- */

static const optspec_t GEN_OPTS[] = {
    {"users", 1, "number of users (default 1000)"},
    {"items", 1, "number of items (default 500)"},
    {"days", 1, "length of the period in days (default 30)"},
    {"seed", 1, "random seed (default 42)"},
    {"end", 1, "end of the period, ISO-8601 (default 2025-11-30)"},
    {"dirty", 1, "share of dirty rows, 0..0.5 (default 0.02)"},
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
    rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
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

static int cmd_gen(int argc, char **argv) {
    const command_t *c = command_named("gen");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    const char *out = opt(c, &a, "out");
    if (!out) return die_usage(c, "--out is required");
    if (a.npos == 1 && strcmp(a.pos[0], "respond") == 0) return gen_respond(c, &a, out);
    if (a.npos) return die_usage(c, "unexpected %s (generate with --out DIR, or say respond)", a.pos[0]);
    tl_gen_opts_t g;
    if ((rc = gen_opts(c, &a, &g))) return rc;
    tl_gen_stats_t s;
    tl_errbuf_t eb = {{0}};
    if ((rc = tl_gen_run(&g, out, &s, &eb))) return fail_err("gen", rc, &eb);
    if (opt(c, &a, "json")) {
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

static const optspec_t DEMO_OPTS[] = {
    {"users", 1, "number of users (default 20000)"},
    {"items", 1, "number of items (default 3000)"},
    {"days", 1, "length of the period in days (default 60)"},
    {"seed", 1, "random seed (default 42)"},
    {"serve", 0, "then leave the HTTP API running on 127.0.0.1:8080 (SIGTERM or Ctrl-C stops it)"},
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
    char card[4300];
    snprintf(card, sizeof card, "%s/models/scorecard.json", dir);
    memset(out, 0, 3 * sizeof *out);
    int rc = tl_store_open(dir, TL_STORE_READONLY, &st, &eb);
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, &eb);
    if (!rc && !users) rc = TL_ENOMEM;
    if (!rc) rc = tl_profile_load(st, &p, &eb);
    if (!rc) rc = tl_scorecard_load(card, &sc, &eb);
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

static int cmd_demo(int argc, char **argv) {
    const command_t *c = command_named("demo");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    const char *dir = data_dir(&a);
    char world[4096];
    snprintf(world, sizeof world, "%s-world", dir);
    const char *u = opt(c, &a, "users"), *i = opt(c, &a, "items"), *d = opt(c, &a, "days"),
               *s = opt(c, &a, "seed");
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
    char *targv[] = {"--model", "ials"};
    if ((rc = run_cmd("train", 2, targv))) return rc;
    static const char *const who[] = {"u000001", "u000002", "u000003"};
    for (int i = 0; i < 3; i++) {
        char *rargv[] = {(char *)who[i], "--n", "5"};
        if ((rc = run_cmd("recommend", 3, rargv))) return rc;
    }
    printf("\n== 11. evaluating on the last 7 days: popularity, popularity by segment and "
           "taste (by age), implicit ALS\n");
    fflush(stdout);
    static const char *const models[] = {"pop", "segpop", "ials"};
    for (int i = 0; i < 3; i++) {
        char *eargv[] = {"--split", "time", "--test-days", "7", "--model", (char *)models[i],
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
    if ((rc = demo_campaigns(world)) || !opt(c, &a, "serve")) return rc;
    /* the API on the demo data, with a key to try it */
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    char key[48], id[16];
    rc = tl_store_open(dir, 0, &st, &eb);
    if (!rc) rc = tl_apikey_create(st, "admin", "demo", key, id, &eb);
    tl_store_close(st);
    if (rc) return fail_err("demo", rc, &eb);
    printf("\n== 20. the HTTP API on this data, with an admin key; try:\n"
           "  curl -H 'Authorization: Bearer %s' 'http://127.0.0.1:8080/v1/users/u000001/recommendations?n=5'\n"
           "  curl -H 'Authorization: Bearer %s' http://127.0.0.1:8080/v1/users/u000001/profile\n"
           "  curl -H 'Authorization: Bearer %s' --data-binary '[{\"user\":\"u000001\",\"item\":\"i00001\","
           "\"type\":\"purchase\",\"ts\":\"2025-11-30T10:00:00Z\",\"amount\":99}]' http://127.0.0.1:8080/v1/events\n",
           key, key, key);
    fflush(stdout);
    char *vargv[] = {"--listen", "127.0.0.1:8080"};
    return run_cmd("serve", 2, vargv);
}

/* ---- profile ----------------------------------------------------------------- */

static const optspec_t PROFILE_OPTS[] = {
    {"as-of", 1, "build: the time the profiles describe (default: the latest event)"},
    {"half-life", 1, "build: half-life of category affinity in days (default 30)"},
    {"format", 1, "export: csv (default) or jsonl"},
    {"out", 1, "export: write to this file instead of stdout"},
    {"pseudonymous", 0, "export: name users by keyed pseudonym, not by id (for third parties)"},
    {"recipient", 1, "export: with --pseudonymous, whom for: each recipient's pseudonyms differ"},
    {"from", 1, "drift: the earlier time (profiles of the events up to it)"},
    {"to", 1, "drift: the later time (default: the latest event)"},
    {"segment", 1, "drift: only the members of this segment (in each period)"},
    {"features", 1, "drift: these columns (default: every number column)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

static int profile_build(const command_t *c, const args_t *a) {
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    const char *asof = opt(c, a, "as-of"), *hl = opt(c, a, "half-life");
    if (asof && tl_time_parse(asof, strlen(asof), &o.as_of))
        return die_usage(c, "--as-of %s: not a time", asof);
    if (hl && (tl_parse_f64(hl, strlen(hl), &o.half_life_days) || !(o.half_life_days > 0)))
        return die_usage(c, "--half-life %s: give a number of days above 0", hl);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (rc) return fail_err("profile build", rc, &eb);
    tl_profiles_t *p = NULL;
    int64_t t0 = tl_time_now_ms();
    rc = tl_segment_profiles_build(st, &o, &p, &eb);
    int64_t t1 = tl_time_now_ms();
    if (!rc) rc = tl_profile_save(st, p, &eb);
    tl_store_close(st);
    if (rc) {
        tl_profile_free(p);
        return fail_err("profile build", rc, &eb);
    }
    char asof_s[32];
    tl_time_format(tl_profile_as_of(p), asof_s);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "users", tl_profile_nusers(p));
        cJSON_AddNumberToObject(j, "features", tl_profile_ncols(p));
        cJSON_AddStringToObject(j, "as_of", asof_s);
        cJSON_AddNumberToObject(j, "seconds", (double)(t1 - t0) / 1000.0);
        print_json(j);
    } else {
        printf("built %u profiles with %d features as of %s in %.2f s\n", tl_profile_nusers(p),
               tl_profile_ncols(p), asof_s, (double)(t1 - t0) / 1000.0);
    }
    tl_profile_free(p);
    return EXIT_OK;
}

typedef struct {
    const tl_profiles_t *p;
    tl_segtable_t *t;
    uint32_t user;
    cJSON *arr;
} showseg_t;

static int showseg_row(const char *name, const char *expr, int64_t created, void *arg) {
    showseg_t *s = arg;
    (void)created;
    uint32_t n = tl_profile_nusers(s->p), size;
    uint8_t *mask = malloc(n ? n : 1);
    tl_expr_err_t err;
    if (mask && tl_segment_eval(s->t, expr, mask, &size, &err) == 0 && mask[s->user])
        cJSON_AddItemToArray(s->arr, cJSON_CreateString(name));
    free(mask);
    return 0;
}

static int profile_show(const command_t *c, const args_t *a, const char *user) {
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (rc) return fail_err("profile show", rc, &eb);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    uint32_t u = users ? tl_dict_find(users, user, strlen(user)) : TL_NONE;
    tl_profiles_t *p = NULL;
    if (u == TL_NONE) {
        tl_store_close(st);
        return cli_fail("profile show", EXIT_FAIL, TL_ENOENT, "no user \"%s\" in %s", user,
                        data_dir(a));
    }
    tl_buf_t pii, masked;
    tl_buf_init(&pii);
    tl_buf_init(&masked);
    rc = tl_store_user_pii(st, u, &pii, &eb);
    if (!rc) rc = tl_profile_load(st, &p, &eb);
    tl_store_close(st);
    if (rc) {
        tl_buf_fini(&pii);
        return fail_err("profile show", rc, &eb);
    }
    /* Personal fields, masked: this output is for people. */
    static const char *const pii_names[] = {"name", "phone", "email", "id_number"};
    const char *f = pii.data;
    size_t off[4];
    for (int i = 0; i < 4; i++) {
        off[i] = masked.len;
        tl_mask_value(f, strlen(f), &masked);
        tl_buf_append(&masked, "", 1);
        f += strlen(f) + 1;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "user", user);
    for (int i = 0; i < 4; i++)
        if (masked.data[off[i]]) cJSON_AddStringToObject(j, pii_names[i], masked.data + off[i]);
    char asof_s[32], cell[512];
    tl_time_format(tl_profile_as_of(p), asof_s);
    cJSON_AddStringToObject(j, "as_of", asof_s);
    /* the stored segments this user is in */
    cJSON *segs = cJSON_AddArrayToObject(j, "segments");
    showseg_t ss = {p, NULL, u, segs};
    tl_store_t *st2 = NULL;
    if (tl_store_open(data_dir(a), TL_STORE_READONLY, &st2, &eb) == 0 &&
        tl_segtable_new(p, st2, &ss.t) == 0)
        tl_store_segment_list(st2, showseg_row, &ss, &eb);
    tl_segtable_free(ss.t);
    tl_store_close(st2);
    int withdrawn = tl_profile_withdrawn(p, u);
    if (withdrawn) cJSON_AddStringToObject(j, "profiling", "withdrawn");
    cJSON_AddItemToObject(j, "features", tl_profile_user_json(p, u));
    if (opt(c, a, "json")) {
        print_json(j);
    } else {
        printf("user %s (profile as of %s)\n", user, asof_s);
        for (int i = 0; i < 4; i++)
            if (masked.data[off[i]]) printf("  %-30s %s\n", pii_names[i], masked.data + off[i]);
        if (withdrawn) printf("  %-30s %s\n", "profiling", "withdrawn: no profile is kept");
        for (int col = 0; !withdrawn && col < tl_profile_ncols(p); col++) {
            tl_profile_cell(p, col, u, cell, sizeof cell);
            printf("  %-30s %s\n", tl_profile_col_name(p, col), cell[0] ? cell : "-");
        }
        printf("  %-30s", "segments");
        cJSON *it;
        cJSON_ArrayForEach(it, segs) printf(" %s", it->valuestring);
        printf("%s\n", cJSON_GetArraySize(segs) ? "" : " -");
        cJSON_Delete(j);
    }
    tl_buf_fini(&pii);
    tl_buf_fini(&masked);
    tl_profile_free(p);
    return EXIT_OK;
}

/* How an export names users: by id, or (--pseudonymous) by a keyed
 * pseudonym of the recipient's name and the id, so that a recipient can
 * join its own exports but not another's, nor reverse one without the data
 * directory's secret. */
typedef struct {
    tl_store_t *st;
    int pseudo;
    tl_buf_t in;
    size_t prefix;
    char out[33];
} idmap_t;

static int idmap_init(idmap_t *m, const command_t *c, const args_t *a, tl_store_t *st) {
    const char *who = opt(c, a, "recipient");
    memset(m, 0, sizeof *m);
    m->st = st;
    m->pseudo = opt(c, a, "pseudonymous") != NULL;
    tl_buf_init(&m->in);
    if (who && !m->pseudo) return die_usage(c, "--recipient goes with --pseudonymous");
    if (tl_buf_append(&m->in, "export:", 7) || (who && tl_buf_append(&m->in, who, strlen(who))) ||
        tl_buf_append(&m->in, "", 1))
        return cli_fail(c->name, EXIT_FAIL, TL_ENOMEM, "%s", tl_strerror(TL_ENOMEM));
    m->prefix = m->in.len;
    return EXIT_OK;
}

/* The name of a user in the export (NULL on failure, said in eb). */
static const char *idmap_name(idmap_t *m, const char *id, size_t *n, tl_errbuf_t *eb) {
    if (!m->pseudo) return id;
    m->in.len = m->prefix;
    if (tl_buf_append(&m->in, id, *n) || tl_store_pseudonym(m->st, m->in.data, m->in.len, m->out, eb))
        return NULL;
    *n = 32;
    return m->out;
}

static int profile_export(const command_t *c, const args_t *a) {
    const char *fmt = opt(c, a, "format"), *out = opt(c, a, "out");
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0)
        return die_usage(c, "--format %s: use csv or jsonl", fmt);
    int jsonl = fmt && strcmp(fmt, "jsonl") == 0;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (rc) return fail_err("profile export", rc, &eb);
    tl_profiles_t *p = NULL;
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb);
    rc = users ? tl_profile_load(st, &p, &eb) : TL_ENOMEM;
    if (rc) {
        tl_store_close(st);
        return fail_err("profile export", rc, &eb);
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        tl_store_close(st);
        tl_profile_free(p);
        return cli_fail("profile export", EXIT_FAIL, TL_EIO, "%s: cannot create the file", out);
    }
    static char iobuf[1 << 20];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    int nc = tl_profile_ncols(p);
    tl_buf_t b;
    tl_buf_init(&b);
    char cell[512];
    idmap_t im;
    rc = idmap_init(&im, c, a, st);
    if (!jsonl) {
        fputs("user", f);
        for (int col = 0; col < nc; col++) fprintf(f, ",%s", tl_profile_col_name(p, col));
        fputc('\n', f);
    }
    /* users erased, and users who withdrew profiling, have no profile */
    for (uint32_t u = 0; !rc && u < tl_profile_nusers(p) && u < tl_dict_count(users); u++) {
        size_t n;
        const char *id = tl_dict_str(users, u, &n);
        if (tl_id_forgotten(id) || tl_profile_withdrawn(p, u)) continue;
        if (!(id = idmap_name(&im, id, &n, &eb))) {
            rc = EXIT_FAIL;
            break;
        }
        tl_buf_clear(&b);
        if (jsonl) {
            tl_buf_append(&b, "{\"user\":", 8);
            tl_buf_json_str(&b, id, n);
        } else {
            tl_buf_csv_str(&b, id, n);
        }
        for (int col = 0; col < nc; col++) {
            tl_profile_cell(p, col, u, cell, sizeof cell);
            int cat = tl_profile_col_type(p, col) == TL_COL_CAT;
            if (jsonl) {
                tl_buf_append(&b, ",", 1);
                const char *name = tl_profile_col_name(p, col);
                tl_buf_json_str(&b, name, strlen(name));
                tl_buf_append(&b, ":", 1);
                if (!cell[0]) tl_buf_append(&b, "null", 4);
                else if (cat) tl_buf_json_str(&b, cell, strlen(cell));
                else tl_buf_append(&b, cell, strlen(cell));
            } else {
                tl_buf_append(&b, ",", 1);
                tl_buf_csv_str(&b, cell, strlen(cell));
            }
        }
        tl_buf_append(&b, jsonl ? "}\n" : "\n", jsonl ? 2 : 1);
        fwrite(b.data, 1, b.len, f);
    }
    tl_buf_fini(&b);
    tl_buf_fini(&im.in);
    int werr = ferror(f) || fflush(f) != 0;
    if (f != stdout && fclose(f) != 0) werr = 1;
    tl_store_close(st);
    tl_profile_free(p);
    if (rc) {
        if (out) unlink(out);
        if (eb.msg[0]) cli_fail("profile export", rc, TL_EINVAL, "%s", eb.msg);
        return rc;
    }
    if (werr) {
        return cli_fail("profile export", EXIT_FAIL, TL_EIO, "write error");
    }
    return EXIT_OK;
}

typedef struct {
    const char *name;
    double psi;
} drift_t;

static int cmp_drift(const void *a, const void *b) {
    double x = ((const drift_t *)a)->psi, y = ((const drift_t *)b)->psi;
    return (x < y) - (x > y);
}

/* The values of a number or count column for the users in mask (NULL:
 * everybody), as doubles. */
static double *column_values(const tl_profiles_t *p, int col, const uint8_t *mask, uint32_t *n) {
    uint32_t total = tl_profile_nusers(p), k = 0;
    double *v = malloc((size_t)(total ? total : 1) * sizeof *v);
    if (!v) return NULL;
    const void *data = tl_profile_col_data(p, col);
    for (uint32_t u = 0; u < total; u++) {
        if (mask && !mask[u]) continue;
        if (tl_profile_col_type(p, col) == TL_COL_NUM) v[k++] = ((const double *)data)[u];
        else v[k++] = ((const uint32_t *)data)[u] == TL_NONE ? NAN : ((const uint32_t *)data)[u];
    }
    *n = k;
    return v;
}

/* Feature drift between two times: profiles as of each, and the PSI of
 * every number column among the users (or a segment's members). */
static int profile_drift(const command_t *c, const args_t *a) {
    const char *from = opt(c, a, "from"), *to = opt(c, a, "to"), *seg = opt(c, a, "segment");
    const char *feats = opt(c, a, "features");
    tl_profile_opts_t o1, o2;
    tl_profile_opts_default(&o1);
    tl_profile_opts_default(&o2);
    if (!from || tl_time_parse(from, strlen(from), &o1.as_of))
        return die_usage(c, "drift needs --from TIME (ISO-8601)");
    if (to && tl_time_parse(to, strlen(to), &o2.as_of)) return die_usage(c, "--to %s: not a time", to);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    tl_profiles_t *p1 = NULL, *p2 = NULL;
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_segment_profiles_build(st, &o1, &p1, &eb);
    if (!rc) rc = tl_segment_profiles_build(st, &o2, &p2, &eb);
    uint8_t *m1 = NULL, *m2 = NULL;
    char *expr = NULL;
    if (!rc && seg) {
        uint32_t s1, s2;
        tl_segtable_t *t1 = NULL, *t2 = NULL;
        tl_expr_err_t err;
        rc = tl_store_segment_get(st, seg, &expr, &eb);
        if (!rc) {
            m1 = malloc(tl_profile_nusers(p1) + 1);
            m2 = malloc(tl_profile_nusers(p2) + 1);
            rc = m1 && m2 ? 0 : TL_ENOMEM;
        }
        if (!rc) rc = tl_segtable_new(p1, st, &t1);
        if (!rc) rc = tl_segtable_new(p2, st, &t2);
        if (!rc) rc = tl_segment_eval(t1, expr, m1, &s1, &err);
        if (!rc) rc = tl_segment_eval(t2, expr, m2, &s2, &err);
        if (rc == TL_EBADINPUT) tl_errbuf_set(&eb, "segment %s: %s", seg, err.msg);
        tl_segtable_free(t1);
        tl_segtable_free(t2);
    }
    tl_store_close(st);
    drift_t d[256];
    int nd = 0;
    for (int col = 0; !rc && col < tl_profile_ncols(p2) && nd < 256; col++) {
        const char *name = tl_profile_col_name(p2, col);
        if (tl_profile_col_type(p2, col) == TL_COL_CAT) continue;
        if (feats) {
            const char *hit = strstr(feats, name);
            size_t len = strlen(name);
            if (!hit || (hit != feats && hit[-1] != ',') || (hit[len] && hit[len] != ',')) continue;
        }
        int c1 = tl_profile_col_find(p1, name);
        if (c1 < 0) continue;
        uint32_t n1, n2;
        double *v1 = column_values(p1, c1, m1, &n1), *v2 = column_values(p2, col, m2, &n2);
        if (v1 && v2) d[nd++] = (drift_t){name, tl_psi(v1, n1, v2, n2, 10)};
        free(v1);
        free(v2);
    }
    qsort(d, (size_t)nd, sizeof *d, cmp_drift);
    int json = opt(c, a, "json") != NULL;
    char t1s[32], t2s[32];
    if (!rc) {
        tl_time_format(tl_profile_as_of(p1), t1s);
        tl_time_format(tl_profile_as_of(p2), t2s);
    }
    if (!rc && json) {
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "features");
        cJSON_AddStringToObject(j, "from", t1s);
        cJSON_AddStringToObject(j, "to", t2s);
        if (seg) cJSON_AddStringToObject(j, "segment", seg);
        for (int i = 0; i < nd; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "feature", d[i].name);
            cJSON_AddNumberToObject(o, "psi", d[i].psi);
            cJSON_AddStringToObject(o, "band", d[i].psi < 0.10 ? "stable" : d[i].psi <= 0.25 ? "watch" : "shift");
            cJSON_AddItemToArray(arr, o);
        }
        print_json(j);
    } else if (!rc) {
        printf("feature drift (PSI) from %s to %s%s%s\n\n", t1s, t2s, seg ? ", segment " : "", seg ? seg : "");
        for (int i = 0; i < nd; i++)
            printf("  %-30s %8.4f  %s\n", d[i].name, d[i].psi,
                   d[i].psi < 0.10 ? "stable" : d[i].psi <= 0.25 ? "watch" : "SHIFT");
    }
    free(m1);
    free(m2);
    free(expr);
    tl_profile_free(p1);
    tl_profile_free(p2);
    return rc ? fail_err("profile drift", rc, &eb) : EXIT_OK;
}

static int cmd_profile(int argc, char **argv) {
    const command_t *c = command_named("profile");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos >= 1 && strcmp(a.pos[0], "build") == 0 && a.npos == 1) return profile_build(c, &a);
    if (a.npos == 2 && strcmp(a.pos[0], "show") == 0) return profile_show(c, &a, a.pos[1]);
    if (a.npos == 1 && strcmp(a.pos[0], "export") == 0) return profile_export(c, &a);
    if (a.npos == 1 && strcmp(a.pos[0], "drift") == 0) return profile_drift(c, &a);
    return die_usage(c, "say build, show USER, export or drift");
}

/* ---- segment ---------------------------------------------------------------- */

static const optspec_t SEGMENT_OPTS[] = {
    {"where", 1, "create: the condition, e.g. 'monetary_90d > 500 and affinity(\"electronics\") > 0.3'"},
    {"features", 1, "cluster: profile columns, comma-separated (numbers and counts)"},
    {"k", 1, "cluster: the number of clusters (default: the best silhouette for 2..8)"},
    {"n-init", 1, "cluster: k-means++ runs, the best kept (default 4)"},
    {"seed", 1, "cluster: random seed (default 1)"},
    {"format", 1, "export: csv (default) or jsonl"},
    {"out", 1, "export: write to this file instead of stdout"},
    {"pseudonymous", 0, "export: name users by keyed pseudonym, not by id (for third parties)"},
    {"recipient", 1, "export: with --pseudonymous, whom for: each recipient's pseudonyms differ"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

/* What the rule-segment commands share: the store, the profiles and the
 * table the expressions run over. */

void segctx_close(segctx_t *x) {
    tl_segtable_free(x->t);
    tl_profile_free(x->p);
    tl_store_close(x->st);
}

int segctx_open(const args_t *a, int writable, segctx_t *x, tl_errbuf_t *eb) {
    memset(x, 0, sizeof *x);
    int rc = tl_store_open(data_dir(a), writable ? 0 : TL_STORE_READONLY, &x->st, eb);
    if (!rc) rc = tl_profile_load(x->st, &x->p, eb);
    if (!rc) rc = tl_segtable_new(x->p, x->st, &x->t);
    if (!rc && !(x->users = tl_store_dict(x->st, TL_D_USER, eb))) rc = TL_ENOMEM;
    if (rc) segctx_close(x);
    return rc;
}

/* Evaluates an expression into a fresh mask; prints the error with a caret. */
int seg_mask(segctx_t *x, const char *cmd, const char *expr, uint8_t **mask, uint32_t *size) {
    uint32_t n = tl_profile_nusers(x->p);
    *mask = malloc(n ? n : 1);
    if (!*mask) return cli_fail(cmd, EXIT_FAIL, TL_ENOMEM, "%s", tl_strerror(TL_ENOMEM));
    tl_expr_err_t err;
    int rc = tl_segment_eval(x->t, expr, *mask, size, &err);
    if (rc) {
        char msg[2048];
        tl_expr_format_error(expr, &err, msg, sizeof msg);
        free(*mask);
        *mask = NULL;
        return cli_fail(cmd, rc == TL_EBADINPUT ? EXIT_USAGE : EXIT_FAIL, rc,
                        "the condition is not valid:\n%s", msg);
    }
    return EXIT_OK;
}

static int named_mask(segctx_t *x, const char *cmd, const char *name, uint8_t **mask,
                      uint32_t *size, char **expr) {
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_segment_get(x->st, name, expr, &eb);
    if (rc) return fail_err(cmd, rc, &eb);
    rc = seg_mask(x, cmd, *expr, mask, size);
    if (rc) {
        free(*expr);
        *expr = NULL;
    }
    return rc;
}

static int segment_create(const command_t *c, const args_t *a, const char *name) {
    const char *where = opt(c, a, "where");
    if (!where) return die_usage(c, "create needs --where EXPR");
    for (const char *q = name; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '_' || *q == '-'))
            return die_usage(c, "segment names are letters, digits, _ and -");
    segctx_t x;
    tl_errbuf_t eb = {{0}};
    int rc = segctx_open(a, 1, &x, &eb);
    if (rc) return fail_err("segment create", rc, &eb);
    uint8_t *mask;
    uint32_t size;
    rc = seg_mask(&x, "segment create", where, &mask, &size);
    if (!rc) {
        int r = tl_store_segment_put(x.st, name, where, &eb);
        if (r < 0) rc = fail_err("segment create", r, &eb);
        else if (opt(c, a, "json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "name", name);
            cJSON_AddStringToObject(j, "where", where);
            cJSON_AddNumberToObject(j, "size", size);
            cJSON_AddBoolToObject(j, "replaced", r == 0);
            print_json(j);
        } else {
            printf("%s segment %s: %u users\n", r ? "created" : "replaced", name, size);
        }
        free(mask);
    }
    segctx_close(&x);
    return rc;
}

typedef struct {
    segctx_t *x;
    cJSON *arr;
    int json;
} seglist_t;

static int seglist_row(const char *name, const char *expr, int64_t created, void *arg) {
    seglist_t *l = arg;
    (void)created;
    uint8_t *mask;
    uint32_t size = 0;
    int bad = seg_mask(l->x, "segment list", expr, &mask, &size);
    free(bad ? NULL : mask);
    if (l->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "where", expr);
        if (bad) cJSON_AddNullToObject(o, "size");
        else cJSON_AddNumberToObject(o, "size", size);
        cJSON_AddItemToArray(l->arr, o);
    } else {
        char sz[16];
        snprintf(sz, sizeof sz, "%u", size);
        printf("%-24s %10s  %s\n", name, bad ? "invalid" : sz, expr);
    }
    return 0;
}

static int segment_list(const command_t *c, const args_t *a) {
    segctx_t x;
    tl_errbuf_t eb = {{0}};
    int rc = segctx_open(a, 0, &x, &eb);
    if (rc) return fail_err("segment list", rc, &eb);
    seglist_t l = {&x, cJSON_CreateArray(), opt(c, a, "json") != NULL};
    rc = tl_store_segment_list(x.st, seglist_row, &l, &eb);
    segctx_close(&x);
    if (rc) {
        cJSON_Delete(l.arr);
        return fail_err("segment list", rc, &eb);
    }
    if (l.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "segments", l.arr);
        print_json(j);
    } else {
        cJSON_Delete(l.arr);
    }
    return EXIT_OK;
}

static int segment_size_show(const command_t *c, const args_t *a, const char *name, int show) {
    segctx_t x;
    tl_errbuf_t eb = {{0}};
    int rc = segctx_open(a, 0, &x, &eb);
    if (rc) return fail_err(show ? "segment show" : "segment size", rc, &eb);
    uint8_t *mask;
    uint32_t size;
    char *expr;
    rc = named_mask(&x, show ? "segment show" : "segment size", name, &mask, &size, &expr);
    if (rc) {
        segctx_close(&x);
        return rc;
    }
    uint32_t n = tl_profile_nusers(x.p);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", name);
        cJSON_AddNumberToObject(j, "size", size);
        if (show) {
            cJSON_AddStringToObject(j, "where", expr);
            cJSON_AddNumberToObject(j, "users", n);
            cJSON_AddNumberToObject(j, "share", n ? (double)size / n : 0);
            /* the segment against everybody on a few telling features */
            static const char *const feats[] = {"monetary_365d", "orders", "days_since_purchase",
                                                "price_sensitivity", "age"};
            cJSON *means = cJSON_AddObjectToObject(j, "means");
            for (size_t f = 0; f < sizeof feats / sizeof *feats; f++) {
                int col = tl_profile_col_find(x.p, feats[f]);
                if (col < 0 || tl_profile_col_type(x.p, col) == TL_COL_CAT) continue;
                double sm = 0, sa = 0;
                uint32_t km = 0, ka = 0;
                for (uint32_t u = 0; u < n; u++) {
                    char cell[64];
                    tl_profile_cell(x.p, col, u, cell, sizeof cell);
                    if (!cell[0]) continue;
                    double v = atof(cell);
                    sa += v, ka++;
                    if (mask[u]) sm += v, km++;
                }
                cJSON *o = cJSON_AddObjectToObject(means, feats[f]);
                if (km) cJSON_AddNumberToObject(o, "segment", sm / km);
                else cJSON_AddNullToObject(o, "segment");
                if (ka) cJSON_AddNumberToObject(o, "all", sa / ka);
                else cJSON_AddNullToObject(o, "all");
            }
        }
        print_json(j);
    } else if (show) {
        printf("segment %s\n  where  %s\n  size   %u of %u users (%.1f%%)\n", name, expr, size, n,
               n ? 100.0 * size / n : 0);
    } else {
        printf("%u\n", size);
    }
    free(mask);
    free(expr);
    segctx_close(&x);
    return EXIT_OK;
}

static int segment_export(const command_t *c, const args_t *a, const char *name) {
    const char *fmt = opt(c, a, "format"), *out = opt(c, a, "out");
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0)
        return die_usage(c, "--format %s: use csv or jsonl", fmt);
    int jsonl = fmt && strcmp(fmt, "jsonl") == 0;
    segctx_t x;
    tl_errbuf_t eb = {{0}};
    int rc = segctx_open(a, 0, &x, &eb);
    if (rc) return fail_err("segment export", rc, &eb);
    uint8_t *mask;
    uint32_t size;
    char *expr;
    rc = named_mask(&x, "segment export", name, &mask, &size, &expr);
    if (rc) {
        segctx_close(&x);
        return rc;
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        rc = cli_fail("segment export", EXIT_FAIL, TL_EIO, "%s: cannot create the file", out);
    } else {
        tl_buf_t b;
        tl_buf_init(&b);
        idmap_t im;
        rc = idmap_init(&im, c, a, x.st);
        if (!jsonl && !rc) fputs("user\n", f);
        for (uint32_t u = 0; !rc && u < tl_profile_nusers(x.p) && u < tl_dict_count(x.users); u++) {
            if (!mask[u]) continue;
            size_t n;
            const char *id = tl_dict_str(x.users, u, &n);
            if (tl_id_forgotten(id)) continue;
            if (!(id = idmap_name(&im, id, &n, &eb))) {
                rc = cli_fail("segment export", EXIT_FAIL, TL_EINVAL, "%s", eb.msg);
                break;
            }
            tl_buf_clear(&b);
            if (jsonl) {
                tl_buf_append(&b, "{\"user\":", 8);
                tl_buf_json_str(&b, id, n);
                tl_buf_append(&b, "}\n", 2);
            } else {
                tl_buf_csv_str(&b, id, n);
                tl_buf_append(&b, "\n", 1);
            }
            fwrite(b.data, 1, b.len, f);
        }
        tl_buf_fini(&b);
        tl_buf_fini(&im.in);
        int werr = ferror(f) || fflush(f) != 0;
        if (f != stdout && fclose(f) != 0) werr = 1;
        if (werr && !rc) rc = cli_fail("segment export", EXIT_FAIL, TL_EIO, "write error");
        if (rc && out) unlink(out);
    }
    free(mask);
    free(expr);
    segctx_close(&x);
    return rc;
}

static int segment_overlap(const command_t *c, const args_t *a, const char *na, const char *nb) {
    segctx_t x;
    tl_errbuf_t eb = {{0}};
    int rc = segctx_open(a, 0, &x, &eb);
    if (rc) return fail_err("segment overlap", rc, &eb);
    uint8_t *ma = NULL, *mb = NULL;
    uint32_t sa, sb;
    char *ea = NULL, *ebx = NULL;
    rc = named_mask(&x, "segment overlap", na, &ma, &sa, &ea);
    if (!rc) rc = named_mask(&x, "segment overlap", nb, &mb, &sb, &ebx);
    if (!rc) {
        tl_overlap_t o;
        tl_segment_overlap(ma, mb, tl_profile_nusers(x.p), &o);
        if (opt(c, a, "json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "a", na);
            cJSON_AddStringToObject(j, "b", nb);
            cJSON_AddNumberToObject(j, "size_a", o.a);
            cJSON_AddNumberToObject(j, "size_b", o.b);
            cJSON_AddNumberToObject(j, "both", o.both);
            cJSON_AddNumberToObject(j, "either", o.either);
            cJSON_AddNumberToObject(j, "jaccard", o.jaccard);
            print_json(j);
        } else {
            printf("%s: %u\n%s: %u\nboth: %u\neither: %u\njaccard: %.4f\n", na, o.a, nb, o.b,
                   o.both, o.either, o.jaccard);
        }
    }
    free(ma);
    free(mb);
    free(ea);
    free(ebx);
    segctx_close(&x);
    return rc;
}

static int segment_rfm(const command_t *c, const args_t *a) {
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (rc) return fail_err("segment rfm", rc, &eb);
    tl_profiles_t *p = NULL;
    rc = tl_profile_load(st, &p, &eb);
    tl_store_close(st);
    if (rc) return fail_err("segment rfm", rc, &eb);
    tl_rfm_t r;
    rc = tl_segment_rfm(p, &r);
    tl_profile_free(p);
    if (rc) {
        return cli_fail("segment rfm", EXIT_FAIL, rc, "%s", tl_strerror(rc));
    }
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "segments");
        cJSON_AddNumberToObject(j, "customers", r.customers);
        for (int s = 0; s < TL_RFM__N; s++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", tl_rfm_name(s));
            cJSON_AddNumberToObject(o, "size", r.seg[s].size);
            cJSON_AddNumberToObject(o, "share", r.customers ? (double)r.seg[s].size / r.customers : 0);
            cJSON_AddNumberToObject(o, "recency_days", r.seg[s].recency_days);
            cJSON_AddNumberToObject(o, "orders", r.seg[s].orders);
            cJSON_AddNumberToObject(o, "monetary", r.seg[s].monetary);
            cJSON_AddItemToArray(arr, o);
        }
        cJSON *grid = cJSON_AddArrayToObject(j, "grid");
        for (int i = 4; i >= 0; i--) {
            cJSON *row = cJSON_CreateArray();
            for (int k = 0; k < 5; k++) cJSON_AddItemToArray(row, cJSON_CreateNumber(r.grid[i][k]));
            cJSON_AddItemToArray(grid, row);
        }
        print_json(j);
    } else {
        printf("RFM segments of %u customers (users with at least one order)\n\n", r.customers);
        printf("%-20s %9s %7s %12s %8s %12s\n", "segment", "customers", "share", "recency days",
               "orders", "monetary");
        for (int s = 0; s < TL_RFM__N; s++)
            printf("%-20s %9u %6.1f%% %12.1f %8.2f %12.2f\n", tl_rfm_name(s), r.seg[s].size,
                   r.customers ? 100.0 * r.seg[s].size / r.customers : 0, r.seg[s].recency_days,
                   r.seg[s].orders, r.seg[s].monetary);
        printf("\ncustomers by R (rows, 5 = most recent) and FM (columns, 1..5)\n");
        for (int i = 4; i >= 0; i--) {
            printf("  R%d", i + 1);
            for (int k = 0; k < 5; k++) printf(" %8u", r.grid[i][k]);
            printf("\n");
        }
    }
    tl_rfm_fini(&r);
    return EXIT_OK;
}

static int segment_cluster(const command_t *c, const args_t *a) {
    const char *feats = opt(c, a, "features");
    if (!feats) return die_usage(c, "cluster needs --features a,b,c");
    uint64_t k = 0, n_init, seed;
    int rc;
    if ((rc = opt_u64(c, a, "k", 0, 1, TL_CLUSTER_MAX_K, &k)) ||
        (rc = opt_u64(c, a, "n-init", 4, 1, 100, &n_init)) ||
        (rc = opt_u64(c, a, "seed", 1, 0, UINT32_MAX, &seed)))
        return rc;
    char names[TL_CLUSTER_MAX_F][128];
    const char *fp[TL_CLUSTER_MAX_F];
    int d = 0;
    for (const char *f = feats; *f && d < TL_CLUSTER_MAX_F; d++) {
        size_t len = strcspn(f, ",");
        snprintf(names[d], sizeof names[d], "%.*s", (int)len, f);
        fp[d] = names[d];
        f += len + (f[len] == ',');
    }
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    tl_profiles_t *p = NULL;
    rc = tl_store_open(data_dir(a), 0, &st, &eb);
    if (!rc) rc = tl_profile_load(st, &p, &eb);
    if (rc) {
        tl_store_close(st);
        return fail_err("segment cluster", rc, &eb);
    }
    static tl_clusters_t cl;
    int bad;
    rc = tl_segment_cluster_keep(st, p, fp, d, (uint32_t)k, (uint32_t)n_init, seed, &cl, &bad, &eb);
    tl_store_close(st);
    tl_profile_free(p);
    if (rc == TL_EINVAL && bad >= 0)
        return die_usage(c, "--features: \"%s\" is not a number column of the profiles", names[bad]);
    if (rc == TL_EINVAL) {
        return cli_fail("segment cluster", EXIT_FAIL, rc,
                        "fewer than two users have all these features");
    }
    if (rc) return fail_err("segment cluster", rc, &eb);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "clusters");
        cJSON_AddNumberToObject(j, "k", cl.k);
        cJSON_AddNumberToObject(j, "users", cl.users);
        cJSON_AddNumberToObject(j, "inertia", cl.inertia);
        cJSON_AddNumberToObject(j, "silhouette", cl.silhouette);
        cJSON_AddNumberToObject(j, "iterations", cl.iterations);
        for (uint32_t i = 0; i < cl.k; i++) {
            cJSON *o = cJSON_CreateObject(), *means = cJSON_AddObjectToObject(o, "means");
            cJSON_AddNumberToObject(o, "cluster", i);
            cJSON_AddNumberToObject(o, "size", cl.size[i]);
            for (int f = 0; f < d; f++) cJSON_AddNumberToObject(means, names[f], cl.mean[i][f]);
            cJSON_AddItemToArray(arr, o);
        }
        print_json(j);
        return EXIT_OK;
    }
    printf("k-means on %u users with all of %d features: k=%u, silhouette %.3f, inertia %.1f "
           "(standardised)\n\n%-8s %9s", cl.users, d, cl.k, cl.silhouette, cl.inertia, "cluster", "users");
    for (int f = 0; f < d; f++) printf(" %16.16s", names[f]);
    printf("\n");
    for (uint32_t i = 0; i < cl.k; i++) {
        printf("%-8u %9u", i, cl.size[i]);
        for (int f = 0; f < d; f++) printf(" %16.4g", cl.mean[i][f]);
        printf("\n");
    }
    return EXIT_OK;
}

static int cmd_segment(int argc, char **argv) {
    const command_t *c = command_named("segment");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    const char *sub = a.npos ? a.pos[0] : "";
    if (a.npos == 1 && strcmp(sub, "rfm") == 0) return segment_rfm(c, &a);
    if (a.npos == 1 && strcmp(sub, "list") == 0) return segment_list(c, &a);
    if (a.npos == 1 && strcmp(sub, "cluster") == 0) return segment_cluster(c, &a);
    if (a.npos == 2 && strcmp(sub, "create") == 0) return segment_create(c, &a, a.pos[1]);
    if (a.npos == 2 && strcmp(sub, "size") == 0) return segment_size_show(c, &a, a.pos[1], 0);
    if (a.npos == 2 && strcmp(sub, "show") == 0) return segment_size_show(c, &a, a.pos[1], 1);
    if (a.npos == 2 && strcmp(sub, "export") == 0) return segment_export(c, &a, a.pos[1]);
    if (a.npos == 3 && strcmp(sub, "overlap") == 0) return segment_overlap(c, &a, a.pos[1], a.pos[2]);
    if (a.npos == 2 && strcmp(sub, "delete") == 0) {
        tl_errbuf_t eb = {{0}};
        tl_store_t *st;
        int rc = tl_store_open(data_dir(&a), 0, &st, &eb);
        if (!rc) rc = tl_store_segment_delete(st, a.pos[1], &eb);
        tl_store_close(st);
        return rc ? fail_err("segment delete", rc, &eb) : EXIT_OK;
    }
    return die_usage(c, "say create NAME --where EXPR, list, size NAME, show NAME, export NAME, "
                        "overlap A B, delete NAME, rfm or cluster");
}

/* ---- tag ---------------------------------------------------------------------- */

static const optspec_t TAG_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

static int cmd_tag(int argc, char **argv) {
    const command_t *c = command_named("tag");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    int apply = a.npos == 2 && strcmp(a.pos[0], "apply") == 0;
    if (!apply && !(a.npos == 1 && strcmp(a.pos[0], "list") == 0))
        return die_usage(c, "say apply FILE or list");
    tl_errbuf_t eb = {{0}};
    char *rules = NULL;
    if (apply && (rc = tl_read_file(a.pos[1], &rules, NULL))) {
        return cli_fail("tag apply", EXIT_FAIL, rc, "%s: cannot read the file", a.pos[1]);
    }
    tl_store_t *st;
    tl_tag_summary_t sum[64];
    int ntags = 0, line = 0;
    tl_expr_err_t err;
    char *applied = NULL;
    rc = tl_store_open(data_dir(&a), apply ? 0 : TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_tags_keep(st, rules, sum, 64, &ntags, &line, &err, &applied, &eb);
    free(rules);
    rules = applied;
    if (rc == TL_EBADINPUT) {
        /* show the rule with a caret under the problem */
        const char *l = rules;
        for (int i = 1; i < line && l; i++) l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL;
        char text[1024] = "";
        if (l) snprintf(text, sizeof text, "%.*s", (int)strcspn(l, "\n"), l);
        char msg[2048];
        tl_expr_format_error(text, &err, msg, sizeof msg);
        cli_fail("tag", EXIT_USAGE, rc, "%s:%d: the rule is not valid:\n%s",
                 apply ? a.pos[1] : "stored rules", line, msg);
        rc = -1;
    }
    tl_store_close(st);
    free(rules);
    if (rc == -1) return EXIT_USAGE;
    if (rc) return fail_err("tag", rc, &eb);
    if (opt(c, &a, "json")) {
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "tags");
        for (int i = 0; i < ntags && i < 64; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", sum[i].name);
            if (sum[i].categorical) {
                cJSON *v = cJSON_AddObjectToObject(o, "values");
                for (uint32_t k = 0; k < sum[i].nvalues; k++)
                    cJSON_AddNumberToObject(v, sum[i].values[k], sum[i].counts[k]);
            } else {
                cJSON_AddNumberToObject(o, "users", sum[i].yes);
            }
            cJSON_AddItemToArray(arr, o);
        }
        print_json(j);
        return EXIT_OK;
    }
    for (int i = 0; i < ntags && i < 64; i++) {
        if (!sum[i].categorical) {
            printf("%-24s %u users\n", sum[i].name, sum[i].yes);
            continue;
        }
        printf("%-24s", sum[i].name);
        for (uint32_t k = 0; k < sum[i].nvalues; k++)
            printf(" %s=%u", sum[i].values[k], sum[i].counts[k]);
        printf("\n");
    }
    if (!ntags) printf("no tags\n");
    return EXIT_OK;
}

/* ---- train / eval ---------------------------------------------------------------- */

/* The model and interaction options train and eval share. */
typedef struct {
    const char *kind;
    double lambda, dropout, shrink, blend;
    uint64_t neighbours;
    tl_ials_opts_t ials;
    tl_interact_opts_t ix;
} modelspec_t;

static int parse_modelspec(const command_t *c, const args_t *a, const char *dflt, modelspec_t *ms) {
    int rc;
    ms->kind = opt(c, a, "model") ? opt(c, a, "model") : dflt;
    if (strcmp(ms->kind, "pop") != 0 && strcmp(ms->kind, "segpop") != 0 &&
        strcmp(ms->kind, "ease") != 0 && strcmp(ms->kind, "ials") != 0 &&
        strcmp(ms->kind, "knn") != 0 && strcmp(ms->kind, "blend") != 0)
        return die_usage(c, "--model %s: use pop, segpop, ease, ials, knn or blend", ms->kind);
    tl_ials_opts_default(&ms->ials);
    tl_interact_opts_default(&ms->ix);
    uint64_t fac, its;
    if ((rc = opt_u64(c, a, "neighbours", 100, 1, 1000, &ms->neighbours)) ||
        (rc = opt_u64(c, a, "factors", ms->ials.factors, 1, 1024, &fac)) ||
        (rc = opt_u64(c, a, "iterations", ms->ials.iterations, 1, 1000, &its)) ||
        (rc = opt_f64(c, a, "shrink", 10, 0, 1e9, &ms->shrink)) ||
        (rc = opt_f64(c, a, "lambda", 400, 1e-6, 1e12, &ms->lambda)) ||
        (rc = opt_f64(c, a, "dropout", 0, 0, 0.99, &ms->dropout)) ||
        (rc = opt_f64(c, a, "blend", 0.5, 0, 1, &ms->blend)) ||
        (rc = opt_f64(c, a, "alpha", ms->ials.alpha, 0, 1e9, &ms->ials.alpha)) ||
        (rc = opt_f64(c, a, "reg", ms->ials.reg, 0, 1e12, &ms->ials.reg)) ||
        (rc = opt_f64(c, a, "min-rating", NAN, -1e12, 1e12, &ms->ix.min_rating)) ||
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
    ms->ials.factors = (uint32_t)fac, ms->ials.iterations = (uint32_t)its;
    ms->ix.rating_values = opt(c, a, "rating-values") != NULL;
    return 0;
}

/* What popularity by segment needs from the store: each item's top-level
 * category and each user's segment (age band x gender, ages as of the
 * latest event). */
typedef struct {
    tl_user_groups_t g;
    uint32_t *cats;
    tl_dict_t *catnames;
} side_t;

/* The time of the latest event (what ages and decay are reckoned from). */
static int latest_event(tl_store_t *st, int64_t *ms, tl_errbuf_t *eb) {
    tl_store_evstats_t es = {0};
    int rc = tl_store_event_stats(st, &es, eb);
    *ms = es.max_ts;
    tl_store_evstats_fini(&es);
    return rc;
}

static int load_side(tl_store_t *st, uint32_t nusers, uint32_t nitems, int64_t latest,
                     side_t *sd, tl_errbuf_t *eb) {
    memset(sd, 0, sizeof *sd);
    int rc = tl_rec_user_groups(st, nusers, TL_GROUP_SEGMENT, latest, &sd->g, eb);
    if (!rc) rc = tl_rec_item_categories(st, nitems, 1, &sd->cats, &sd->catnames, eb);
    return rc;
}

static void side_fini(side_t *sd) {
    tl_user_groups_fini(&sd->g);
    free(sd->cats);
    tl_dict_free(sd->catnames);
}

static int train_segpop(const tl_csr_t *x, const side_t *sd, tl_model_t **m) {
    return tl_rec_train_segpop(x, sd->cats, sd->catnames ? tl_dict_count(sd->catnames) : 0,
                               sd->g.group, sd->g.ngroups, m);
}

static void model_path(const char *dir, const char *name, char *out, size_t cap);

int recsvc_open(tl_store_t *st, const char *dir, const char *name, tl_recsvc_t **out,
                tl_errbuf_t *eb) {
    char path[4300];
    model_path(dir, name, path, sizeof path);
    return tl_recsvc_open(st, path, out, eb);
}

static int train_model(const modelspec_t *ms, const tl_csr_t *x, const side_t *sd,
                       tl_model_t **m, tl_errbuf_t *eb) {
    if (strcmp(ms->kind, "pop") == 0) return tl_rec_train_pop(x, m);
    if (strcmp(ms->kind, "segpop") == 0) return train_segpop(x, sd, m);
    if (strcmp(ms->kind, "ials") == 0) return tl_rec_train_ials(x, &ms->ials, m, eb);
    if (strcmp(ms->kind, "knn") == 0)
        return tl_rec_train_knn(x, (uint32_t)ms->neighbours, ms->shrink, m, eb);
    if (strcmp(ms->kind, "blend") == 0)
        return tl_rec_train_blend(x, ms->lambda, ms->dropout, &ms->ials, ms->blend, m, eb);
    return tl_rec_train_ease(x, ms->lambda, ms->dropout, m, eb);
}

#define MODEL_OPTS                                                                                 \
    {"model", 1, "pop, segpop, ease, ials, knn or blend (default ials; ease for eval)"},          \
        {"lambda", 1, "ease: L2 regularisation (default 400)"},                                    \
        {"dropout", 1, "ease: 0..0.99, denoising emphasis on popular items (default 0)"},          \
        {"blend", 1, "blend: EASE's share of the standardised scores, the rest iALS's (default 0.5)"}, \
        {"neighbours", 1, "knn: neighbours kept per item (default 100)"},                          \
        {"shrink", 1, "knn: similarity shrinkage (default 10)"},                                   \
        {"factors", 1, "ials: latent factors (default 64)"},                                       \
        {"iterations", 1, "ials: alternating iterations (default 15)"},                            \
        {"alpha", 1, "ials: confidence weight of an interaction (default 5)"},                     \
        {"reg", 1, "ials: L2 regularisation (default 50)"},                                        \
        {"min-rating", 1, "ratings count as positives from this value (default: every rating)"},   \
        {"rating-values", 0, "train on the rating values as strengths (default: 1 per rating)"}, \
        {"weights", 1, "strength per event type, e.g. view=1,cart=3,purchase=5 (the defaults with "  \
                       "click 1, fav 2, review 2, rate 1)"},                                        \
        {"half-life", 1, "days over which an event's strength halves (default: no decay; with "     \
                         "pop: trending items)"}

static const optspec_t EVAL_OPTS[] = {
    MODEL_OPTS,
    {"split", 1, "on DATA: time (the last --test-days are the test) or last (each user's latest "
                 "item)"},
    {"test-days", 1, "time split: days at the end held out (default 7)"},
    {"by", 1, "also give the accuracy per user group: gender or age"},
    {"no-new-items", 0, "leave items without training interactions at score 0 (default: they "
                        "score by their alike items' scores)"},
    {"grid", 1, "train and evaluate every combination, e.g. 'lambda=200,400,800' or "
                "'alpha=2,5 reg=20,50' (options: lambda dropout blend alpha reg factors "
                "iterations neighbours shrink)"},
    {"train", 1, "instead of DATA: the training file (with --preset or its format's options)"},
    {"test", 1, "with --train: the test file"},
    {"preset", 1, "the preset both files are read with, e.g. movielens"},
    {"k", 1, "list length (default 10)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* The train and test matrices of an evaluation: from DATA split by time or
 * leave-last-out, or from a given pair of files imported into one temporary
 * store (so users and items share their indexes; the training events come
 * first in its log). The store stays open for the groups and categories. */
typedef struct {
    tl_store_t *st;
    char tmp[32];
    const char *split;
    int64_t cut, max_ts;
} evsrc_t;

static int eval_matrices(const command_t *c, const args_t *a, const modelspec_t *ms, evsrc_t *e,
                         tl_csr_t *tr, tl_csr_t *te, tl_errbuf_t *eb) {
    const char *train = opt(c, a, "train"), *test = opt(c, a, "test");
    uint64_t days;
    int rc = opt_u64(c, a, "test-days", 7, 1, 36500, &days);
    if (rc) return rc;
    if (train || test) {
        if (!train || !test) return die_usage(c, "give both --train FILE and --test FILE");
        snprintf(e->tmp, sizeof e->tmp, "/tmp/tailor-eval-XXXXXX");
        if (!mkdtemp(e->tmp)) {
            tl_errbuf_set(eb, "cannot make a temporary directory in /tmp");
            e->tmp[0] = 0;
            return TL_EIO;
        }
        char path[sizeof e->tmp + 8];
        snprintf(path, sizeof path, "%s/data", e->tmp);
        tl_import_opts_t o;
        tl_import_opts_default(&o);
        o.preset = opt(c, a, "preset");
        tl_import_stats_t s1 = {0}, s2 = {0};
        tl_source_t f1 = tl_source_file(train), f2 = tl_source_file(test);
        progress_t bar;
        progress_import(&o, &bar);
        e->split = "files";
        rc = tl_store_open(path, TL_STORE_CREATE, &e->st, eb);
        if (!rc) rc = tl_import(e->st, &f1, 1, &o, &s1, NULL, NULL, eb);
        uint64_t ntrain = rc ? 0 : tl_store_event_count(e->st);
        if (!rc) rc = tl_import(e->st, &f2, 1, &o, &s2, NULL, NULL, eb);
        if (!rc) rc = latest_event(e->st, &e->max_ts, eb);
        tl_interact_opts_t ix = ms->ix;
        ix.decay_to = e->max_ts;
        if (!rc) rc = tl_rec_matrix(e->st, 0, ntrain, &ix, tr, eb);
        if (!rc) rc = tl_rec_matrix(e->st, ntrain, UINT64_MAX, &ix, te, eb);
        return rc;
    }
    e->split = opt(c, a, "split") ? opt(c, a, "split") : "time";
    if (strcmp(e->split, "time") != 0 && strcmp(e->split, "last") != 0)
        return die_usage(c, "--split %s: use time or last", e->split);
    rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &e->st, eb);
    if (!rc) rc = latest_event(e->st, &e->max_ts, eb);
    if (rc) return rc;
    tl_interact_opts_t o = ms->ix;
    o.decay_to = e->max_ts;
    if (strcmp(e->split, "last") == 0) return tl_rec_matrix_last(e->st, &o, tr, te, eb);
    e->cut = e->max_ts - (int64_t)days * 86400000 + 1;
    o.ts_from = INT64_MIN, o.ts_to = e->cut, o.decay_to = e->cut;
    rc = tl_rec_matrix(e->st, 0, UINT64_MAX, &o, tr, eb);
    o.ts_from = e->cut, o.ts_to = INT64_MAX;
    if (!rc) rc = tl_rec_matrix(e->st, 0, UINT64_MAX, &o, te, eb);
    return rc;
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

static int set_param(modelspec_t *ms, const char *name, double v) {
    if (strcmp(name, "lambda") == 0 && v > 0) ms->lambda = v;
    else if (strcmp(name, "dropout") == 0 && v >= 0 && v <= 0.99) ms->dropout = v;
    else if (strcmp(name, "blend") == 0 && v >= 0 && v <= 1) ms->blend = v;
    else if (strcmp(name, "alpha") == 0 && v >= 0) ms->ials.alpha = v;
    else if (strcmp(name, "reg") == 0 && v >= 0) ms->ials.reg = v;
    else if (strcmp(name, "shrink") == 0 && v >= 0) ms->shrink = v;
    else if (strcmp(name, "factors") == 0 && v >= 1 && v <= 1024) ms->ials.factors = (uint32_t)v;
    else if (strcmp(name, "iterations") == 0 && v >= 1 && v <= 1000) ms->ials.iterations = (uint32_t)v;
    else if (strcmp(name, "neighbours") == 0 && v >= 1 && v <= 1000) ms->neighbours = (uint64_t)v;
    else return -1;
    return 0;
}

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
            modelspec_t probe = *ms;
            if (g->nv[q] == GRID_VALUES)
                return die_usage(c, "--grid %s: at most %d values", g->name[q], GRID_VALUES);
            if (tl_parse_f64(v, len, &g->v[q][g->nv[q]]) ||
                set_param(&probe, g->name[q], g->v[q][g->nv[q]]))
                return die_usage(c, "--grid: %s=%.*s: use lambda, dropout, blend, alpha, reg, factors, "
                                    "iterations, neighbours or shrink with a value in range",
                                 g->name[q], (int)len, v);
            g->nv[q]++;
            v += len + (v + len < stop);
        }
        if (!g->nv[q]) return die_usage(c, "--grid %s: no values", g->name[q]);
        p = stop;
    }
    return 0;
}

typedef struct {
    double param[GRID_PARAMS];
    tl_eval_t ev;
    double train_s, eval_s;
} evrun_t;

static void add_part_json(cJSON *j, const tl_eval_part_t *p) {
    cJSON_AddNumberToObject(j, "users", p->users);
    cJSON_AddNumberToObject(j, "precision", p->precision);
    cJSON_AddNumberToObject(j, "recall", p->recall);
    cJSON_AddNumberToObject(j, "ndcg", p->ndcg);
    cJSON_AddNumberToObject(j, "map", p->map);
    cJSON_AddNumberToObject(j, "hit_rate", p->hit_rate);
}

static void add_run_json(cJSON *j, const evrun_t *r, const grid_t *gr, const tl_user_groups_t *g) {
    for (uint32_t q = 0; q < gr->np; q++) cJSON_AddNumberToObject(j, gr->name[q], r->param[q]);
    const tl_eval_t *ev = &r->ev;
    tl_eval_part_t all = {ev->users, ev->precision, ev->recall, ev->ndcg, ev->map, ev->hit_rate};
    add_part_json(j, &all);
    cJSON_AddNumberToObject(j, "cold_users", ev->cold);
    cJSON_AddNumberToObject(j, "coverage", ev->coverage);
    cJSON_AddNumberToObject(j, "novelty", ev->novelty);
    cJSON_AddNumberToObject(j, "diversity", ev->diversity);
    cJSON_AddNumberToObject(j, "gini", ev->gini);
    if (g->group) {
        cJSON *gs = cJSON_AddObjectToObject(j, "groups");
        for (uint32_t q = 0; q < g->ngroups; q++)
            add_part_json(cJSON_AddObjectToObject(gs, g->names[q]), &ev->group[q]);
    }
    cJSON_AddNumberToObject(j, "train_seconds", r->train_s);
    cJSON_AddNumberToObject(j, "eval_seconds", r->eval_s);
}

static void print_run(const evrun_t *r, const grid_t *gr, const tl_user_groups_t *g) {
    const tl_eval_t *ev = &r->ev;
    if (gr->np) {
        for (uint32_t q = 0; q < gr->np; q++) printf("  %s=%-8g", gr->name[q], r->param[q]);
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
static int cmd_eval(int argc, char **argv) {
    const command_t *c = command_named("eval");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    modelspec_t ms;
    grid_t gr = {0};
    uint64_t k;
    const char *by = opt(c, &a, "by"), *grid = opt(c, &a, "grid");
    if ((rc = parse_modelspec(c, &a, "ease", &ms)) || (rc = opt_u64(c, &a, "k", 10, 1, 1000, &k)) ||
        (grid && (rc = parse_grid(c, grid, &ms, &gr))))
        return rc;
    if (by && strcmp(by, "gender") != 0 && strcmp(by, "age") != 0)
        return die_usage(c, "--by %s: use gender or age", by);
    uint32_t nruns = 1;
    for (uint32_t q = 0; q < gr.np; q++) nruns *= gr.nv[q];
    tl_errbuf_t eb = {{0}};
    evsrc_t e = {0};
    tl_csr_t xtr = {0}, xte = {0};
    tl_user_groups_t g = {0};
    uint32_t *cats = NULL;
    tl_dict_t *catnames = NULL;
    evrun_t *runs = calloc(nruns, sizeof *runs);
    if (!runs) return fail_err("eval", TL_ENOMEM, &eb);
    rc = eval_matrices(c, &a, &ms, &e, &xtr, &xte, &eb);
    if (rc > 0) {
        free(runs);
        return rc; /* a usage error, already told */
    }
    if (!rc) tl_csr_drop_seen(&xte, &xtr);
    if (!rc && by)
        rc = tl_rec_user_groups(e.st, xtr.nusers, strcmp(by, "age") == 0 ? TL_GROUP_AGE : TL_GROUP_GENDER,
                                e.max_ts, &g, &eb);
    if (!rc) rc = tl_rec_item_categories(e.st, xtr.nitems, 0, &cats, &catnames, &eb);
    side_t sd = {0};
    tl_model_t *coldm = NULL;
    tl_content_t *content = NULL;
    if (!rc) rc = load_side(e.st, xtr.nusers, xtr.nitems, e.max_ts, &sd, &eb);
    if (!rc && !opt(c, &a, "no-new-items")) rc = tl_rec_content_load(e.st, xtr.nitems, &content, &eb);
    if (!rc && content) rc = tl_rec_content_link(content, &xtr, xtr.nitems);
    if (!rc && strcmp(ms.kind, "pop") != 0) rc = train_segpop(&xtr, &sd, &coldm);
    tl_store_close(e.st);
    if (e.tmp[0]) nftw(e.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tl_eval_opts_t eo = {(uint32_t)k, cats, g.group, g.ngroups, coldm, content};
    uint32_t best = 0;
    for (uint32_t r = 0; !rc && r < nruns; r++) {
        modelspec_t run = ms;
        for (uint32_t q = 0, rest = r; q < gr.np; rest /= gr.nv[q], q++) {
            runs[r].param[q] = gr.v[q][rest % gr.nv[q]];
            set_param(&run, gr.name[q], runs[r].param[q]);
        }
        tl_model_t *m = NULL;
        int64_t t0 = tl_time_now_ms();
        rc = train_model(&run, &xtr, &sd, &m, &eb);
        int64_t t1 = tl_time_now_ms();
        if (!rc) rc = tl_rec_eval(m, &xtr, &xte, &eo, &runs[r].ev);
        runs[r].train_s = (double)(t1 - t0) / 1000;
        runs[r].eval_s = (double)(tl_time_now_ms() - t1) / 1000;
        tl_model_free(m);
        if (!rc && runs[r].ev.ndcg > runs[best].ev.ndcg) best = r;
    }
    if (!rc && opt(c, &a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", ms.kind);
        if (strcmp(ms.kind, "ease") == 0 && !grid) cJSON_AddNumberToObject(j, "lambda", ms.lambda);
        cJSON_AddStringToObject(j, "split", e.split);
        if (e.cut) {
            char day[32];
            tl_time_format(e.cut, day);
            cJSON_AddStringToObject(j, "test_from", day);
        }
        cJSON_AddNumberToObject(j, "k", (double)k);
        cJSON_AddNumberToObject(j, "train_interactions", (double)xtr.nnz);
        cJSON_AddNumberToObject(j, "test_interactions", (double)xte.nnz);
        if (grid) {
            cJSON *arr = cJSON_AddArrayToObject(j, "runs");
            for (uint32_t r = 0; r < nruns; r++) {
                cJSON *o = cJSON_CreateObject();
                add_run_json(o, &runs[r], &gr, &g);
                cJSON_AddItemToArray(arr, o);
            }
            cJSON_AddNumberToObject(j, "best", best);
        } else {
            add_run_json(j, &runs[0], &gr, &g);
        }
        print_json(j);
    } else if (!rc) {
        printf("%s on %u users with test items, %u of them without history (%s split; train "
               "%llu, test %llu interactions), top %llu:\n",
               ms.kind, runs[0].ev.users, runs[0].ev.cold, e.split, (unsigned long long)xtr.nnz,
               (unsigned long long)xte.nnz, (unsigned long long)k);
        for (uint32_t r = 0; r < nruns; r++) print_run(&runs[r], &gr, &g);
        if (grid) {
            printf("best by ndcg:");
            for (uint32_t q = 0; q < gr.np; q++) printf(" --%s %g", gr.name[q], runs[best].param[q]);
            printf(" (ndcg %.4f)\n", runs[best].ev.ndcg);
        }
    }
    free(runs);
    tl_rec_content_free(content);
    tl_model_free(coldm);
    side_fini(&sd);
    tl_user_groups_fini(&g);
    free(cats);
    tl_dict_free(catnames);
    tl_csr_fini(&xtr);
    tl_csr_fini(&xte);
    return rc ? fail_err("eval", rc, &eb) : EXIT_OK;
}

static const optspec_t TRAIN_OPTS[] = {
    MODEL_OPTS,
    {"name", 1, "the model's name in DATA/models (default: the model kind)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

static void model_path(const char *dir, const char *name, char *out, size_t cap) {
    snprintf(out, cap, "%s/models/%s.tlm", dir, name);
}

static int cmd_train(int argc, char **argv) {
    const command_t *c = command_named("train");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    modelspec_t ms;
    if ((rc = parse_modelspec(c, &a, "ials", &ms))) return rc;
    const char *name = opt(c, &a, "name") ? opt(c, &a, "name") : ms.kind;
    for (const char *q = name; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-'))
            return die_usage(c, "--name: lower-case letters, digits, _ and -");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    rc = tl_store_open(data_dir(&a), TL_STORE_READONLY, &st, &eb);
    tl_csr_t x = {0};
    tl_model_t *m = NULL;
    int64_t t0 = tl_time_now_ms(), t1 = t0;
    side_t sd = {0};
    int segpop = strcmp(ms.kind, "segpop") == 0;
    int64_t latest = 0;
    if (!rc && (ms.ix.half_life > 0 || segpop)) rc = latest_event(st, &latest, &eb);
    ms.ix.decay_to = latest; /* decay towards the latest event */
    if (!rc) rc = tl_rec_matrix(st, 0, UINT64_MAX, &ms.ix, &x, &eb);
    if (!rc && segpop) rc = load_side(st, x.nusers, x.nitems, latest, &sd, &eb);
    if (!rc) {
        t0 = tl_time_now_ms();
        rc = train_model(&ms, &x, &sd, &m, &eb);
        t1 = tl_time_now_ms();
    }
    char path[4300];
    if (!rc) {
        tl_model_set_interactions(m, &ms.ix);
        snprintf(path, sizeof path, "%s/models", data_dir(&a));
        mkdir(path, 0700);
        model_path(data_dir(&a), name, path, sizeof path);
        rc = tl_model_save(m, path, &eb);
    }
    tl_store_close(st);
    if (!rc && opt(c, &a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", ms.kind);
        cJSON_AddStringToObject(j, "name", name);
        cJSON_AddNumberToObject(j, "users", x.nusers);
        cJSON_AddNumberToObject(j, "items", x.nitems);
        cJSON_AddNumberToObject(j, "interactions", (double)x.nnz);
        cJSON_AddNumberToObject(j, "seconds", (double)(t1 - t0) / 1000);
        print_json(j);
    } else if (!rc) {
        printf("trained %s (%s) on %u users x %u items, %llu interactions, in %.2f s: %s\n", name,
               ms.kind, x.nusers, x.nitems, (unsigned long long)x.nnz, (double)(t1 - t0) / 1000,
               path);
    }
    side_fini(&sd);
    tl_model_free(m);
    tl_csr_fini(&x);
    return rc ? fail_err("train", rc, &eb) : EXIT_OK;
}

static const optspec_t REC_OPTS[] = {
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
    {"model", 1, "the model's name (default ials; knn for similar)"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

static int title_row(int n, const char *const *cols, void *arg) {
    if (n == 1 && cols[0]) snprintf(arg, 256, "%s", cols[0]);
    return 0;
}

/* "Title (id)" of an item when the catalogue has a title, else its id. */
static void item_label(tl_store_t *st, tl_dict_t *items, uint32_t idx, char *out, size_t cap) {
    char sql[96], title[256] = "";
    tl_errbuf_t eb = {{0}};
    snprintf(sql, sizeof sql, "SELECT title FROM items WHERE idx = %u", idx);
    tl_store_query(st, sql, title_row, title, &eb);
    const char *id = tl_dict_str(items, idx, NULL);
    if (title[0]) snprintf(out, cap, "%s (%s)", title, id ? id : "?");
    else snprintf(out, cap, "%s", id ? id : "?");
}

static int cmd_recommend(int argc, char **argv) {
    const command_t *c = command_named("recommend");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos != 1) return die_usage(c, "give one USER");
    uint64_t n;
    if ((rc = opt_u64(c, &a, "n", 10, 1, TL_REC_MAX_N, &n))) return rc;
    const char *name = opt(c, &a, "model") ? opt(c, &a, "model") : "ials";
    tl_serve_opts_t so = {0};
    so.head_share = 0.10, so.head_cap = 1;
    const char *scene = opt(c, &a, "scene") ? opt(c, &a, "scene") : "home";
    if (strcmp(scene, "home") != 0 && strcmp(scene, "cart") != 0 &&
        strcmp(scene, "purchase") != 0 && strncmp(scene, "item:", 5) != 0)
        return die_usage(c, "--scene %s: use home, item:ID, cart or purchase", scene);
    if ((rc = opt_f64(c, &a, "scene-weight", 0.7, 0, 1, &so.context_weight)) ||
        (rc = opt_f64(c, &a, "diversity", 0, 0, 1, &so.diversity)) ||
        (rc = opt_f64(c, &a, "tail-boost", 0, 0, 1e6, &so.tail_boost)) ||
        (rc = opt_f64(c, &a, "head-cap", 1, 0, 1, &so.head_cap)))
        return rc;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_recsvc_t *rs = NULL;
    rc = tl_store_open(data_dir(&a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = recsvc_open(st, data_dir(&a), name, &rs, &eb);
    tl_model_t *m = rs ? rs->m : NULL;
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, &eb);
    tl_dict_t *items = rc ? NULL : tl_store_dict(st, TL_D_ITEM, &eb);
    uint32_t u = users ? tl_dict_find(users, a.pos[0], strlen(a.pos[0])) : TL_NONE;
    if (!rc && u == TL_NONE) {
        tl_errbuf_set(&eb, "no user \"%s\" in %s", a.pos[0], data_dir(&a));
        rc = TL_ENOENT;
    }
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
    } else if (!rc && strcmp(scene, "home") != 0 && who == u) {
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
        const char *lists[3] = {opt(c, &a, "category"), opt(c, &a, "exclude-category"),
                                opt(c, &a, "repurchase")};
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
        const char *ex = opt(c, &a, "exclude");
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
        cJSON_AddStringToObject(j, "user", a.pos[0]);
        cJSON_AddStringToObject(j, "model", name);
        cJSON_AddStringToObject(j, "scene", scene);
        cJSON_AddBoolToObject(j, "personalised", who == u);
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
        if (opt(c, &a, "json")) {
            print_json(j);
        } else {
            printf("top %u for %s (%s%s):\n", got, a.pos[0], name,
                   who == u ? "" : "; not personalised: profiling withdrawn");
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

static int cmd_similar(int argc, char **argv) {
    const command_t *c = command_named("similar");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos != 1) return die_usage(c, "give one ITEM");
    uint64_t n;
    if ((rc = opt_u64(c, &a, "n", 10, 1, TL_REC_MAX_N, &n))) return rc;
    const char *name = opt(c, &a, "model") ? opt(c, &a, "model") : "knn";
    tl_errbuf_t eb = {{0}};
    char path[4300];
    model_path(data_dir(&a), name, path, sizeof path);
    tl_model_t *m = NULL;
    tl_store_t *st = NULL;
    /* without the default item-kNN model the items are alike by content */
    if (opt(c, &a, "model") || access(path, F_OK) == 0) rc = tl_model_load(path, &m, &eb);
    if (!rc && m && tl_model_kind(m) != TL_MODEL_KNN) {
        tl_errbuf_set(&eb, "%s is not an item-kNN model: train one with `tailor train --model knn`", name);
        rc = TL_EINVAL;
    }
    if (!rc) rc = tl_store_open(data_dir(&a), TL_STORE_READONLY, &st, &eb);
    tl_dict_t *items = rc ? NULL : tl_store_dict(st, TL_D_ITEM, &eb);
    uint32_t it = items ? tl_dict_find(items, a.pos[0], strlen(a.pos[0])) : TL_NONE;
    if (!rc && it == TL_NONE) {
        tl_errbuf_set(&eb, "no item \"%s\" in %s", a.pos[0], data_dir(&a));
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
        cJSON_AddStringToObject(j, "item", a.pos[0]);
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
        if (opt(c, &a, "json")) {
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

/* ---- report --------------------------------------------------------------------- */

static const optspec_t REPORT_OPTS[] = {
    {"html", 1, "write the report to this HTML file"},
    {"model", 1, "scorecard: the scorecard file (default DATA/models/scorecard.json)"},
    {"csv", 1, "scorecard: the population with outcomes, a delimited file"},
    {"preset", 1, "scorecard: german-credit or bank-marketing, the file's layout"},
    {"users", 0, "scorecard: the store's users by their profiles"},
    {"baseline", 1, "scorecard: an earlier population to measure stability against"},
    {"rejects", 1, "scorecard: write every rejected record to this CSV file"},
    {"bh", 0, "campaign: Benjamini-Hochberg instead of Holm over arms x metrics"},
    {"json", 0, "campaign: print as JSON"},
    {NULL, 0, NULL}};

/* ---- score ------------------------------------------------------------------------ */

static const optspec_t SCORE_OPTS[] = {
    {"csv", 1, "the table: a delimited file with a header (or --preset)"},
    {"users", 0, "the table: the store's users by their profiles (`profile build` first); "
                 "target defaulted (bad: yes), id user"},
    {"preset", 1, "german-credit or bank-marketing: the file's layout, names and target"},
    {"target", 1, "train, cv: the outcome column"},
    {"bad-value", 1, "train, cv: the target's value for a bad row (default 1; german-credit 2, "
                     "--users and bank-marketing yes)"},
    {"id", 1, "a column naming each row (default: the row number)"},
    {"exclude", 1, "train, cv: columns not to use, comma-separated (--users: repayments and "
                   "repay_amount, which record what followed the credit)"},
    {"categorical", 1, "train, cv: columns to treat as categories, comma-separated"},
    {"numeric", 1, "train, cv: columns that must be numbers, comma-separated"},
    {"min-iv", 1, "train, cv: least information value of a kept feature (default 0.02)"},
    {"min-share", 1, "train, cv: least share of rows in a bin (default 0.05)"},
    {"max-bins", 1, "train, cv: most bins of a feature besides missing (default 8)"},
    {"prebins", 1, "train, cv: quantile bins of a number before merging (default 20)"},
    {"special", 1, "train, cv: numeric codes that are not amounts, each its own bin, e.g. 999,-1 "
                   "(bank-marketing: 999, pdays' never contacted)"},
    {"trend", 1, "train, cv: auto, ascending, descending or none (default auto)"},
    {"chi-merge", 1, "train, cv: neighbouring bins merge while their chi-square is below this "
                     "(default 0: every split the other rules allow; 3.841: merge bins not different "
                     "at 95 %)"},
    {"base-points", 1, "train, cv: the score at the base odds (default 600)"},
    {"base-odds", 1, "train, cv: goods per bad at the base points (default 19)"},
    {"pdo", 1, "train, cv: points to double the odds (default 50)"},
    {"bands", 1, "train, cv: upper default-probability % of bands A-D (default 2,5,10,20)"},
    {"out", 1, "train: the scorecard file (default DATA/models/scorecard.json)"},
    {"model", 1, "apply, report: the scorecard file (default DATA/models/scorecard.json)"},
    {"baseline", 1, "report: an earlier population (same layout) to measure stability against"},
    {"folds", 1, "cv: folds (default 5)"},
    {"seed", 1, "cv: shuffling seed (default 0)"},
    {"folds-out", 1, "cv: write each row's fold here (CSV row,fold) for a peer to use"},
    {"rejects", 1, "write every rejected record (line, reason, message) to this CSV file"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

typedef struct {
    FILE *out;
    uint64_t shown;
} table_rejects_t;

static void on_table_reject(const char *source, uint64_t line, tl_reason_t reason,
                            const char *msg, void *arg) {
    table_rejects_t *r = arg;
    note_reject(&r->shown, 20, source, line, reason, msg);
    if (r->out) fprintf(r->out, "%llu,%s,\"%s\"\n", (unsigned long long)line, tl_reason_name(reason), msg);
}

/* Reads --csv with --preset into t, the rejects told and counted; or with
 * --users the store's profiles. */
static int score_table(const command_t *c, const args_t *a, tl_table_t *t, tl_errbuf_t *eb) {
    const char *csv = opt(c, a, "csv"), *rj = opt(c, a, "rejects");
    if (opt(c, a, "users")) {
        if (csv) return die_usage(c, "give --csv FILE or --users, not both");
        tl_store_t *st;
        tl_profiles_t *p = NULL;
        int rc = tl_store_open(data_dir(a), TL_STORE_READONLY, &st, eb);
        tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
        if (!rc && !users) rc = TL_ENOMEM;
        if (!rc) rc = tl_profile_load(st, &p, eb);
        if (!rc) rc = tl_score_users_table(p, users, 0, UINT32_MAX, t);
        tl_profile_free(p);
        tl_store_close(st);
        return rc;
    }
    if (!csv) return die_usage(c, "give --csv FILE or --users");
    tl_table_opts_t to = {opt(c, a, "preset"), NULL, 0};
    table_rejects_t r = {NULL, 0};
    if (rj && !(r.out = fopen(rj, "w"))) {
        tl_errbuf_set(eb, "%s: cannot write the rejects", rj);
        return TL_EIO;
    }
    if (r.out) fputs("line,reason,message\n", r.out);
    tl_source_t src = tl_source_file(csv);
    int rc = tl_table_read(&src, &to, t, on_table_reject, &r, eb);
    if (r.out && fclose(r.out) != 0 && !rc) rc = TL_EIO;
    if (!rc && t->rejected)
        note("tailor score: %s: %llu of %llu records rejected%s", csv,
                (unsigned long long)t->rejected, (unsigned long long)t->read,
                rj ? "" : " (see --rejects FILE)");
    return rc;
}

/* `propensity` is the scorecard machinery aimed at a good event (a product
 * taken up): finer bins in any shape, every feature, any sign. */
static int is_propensity(const command_t *c) { return strcmp(c->name, "propensity") == 0; }

static int score_opts(const command_t *c, const args_t *a, tl_score_opts_t *o) {
    tl_score_opts_default(o);
    if (is_propensity(c)) {
        o->bin.trend = TL_TREND_NONE, o->bin.prebins = 50, o->bin.max_bins = 20;
        o->bin.min_share = 0.02, o->min_iv = 0, o->any_sign = 1;
    }
    const char *preset = opt(c, a, "preset");
    int gc = preset && strcmp(preset, "german-credit") == 0,
        bank = preset && strcmp(preset, "bank-marketing") == 0;
    int users = opt(c, a, "users") != NULL;
    o->target = opt(c, a, "target") ? opt(c, a, "target")
                : gc                ? "class"
                : bank              ? "y"
                : users             ? "defaulted"
                                    : NULL;
    o->bad_value = opt(c, a, "bad-value") ? opt(c, a, "bad-value")
                   : gc                     ? "2"
                   : bank || users          ? "yes"
                                            : NULL;
    o->id = opt(c, a, "id") ? opt(c, a, "id") : users ? "user" : NULL;
    /* the store's repayment counts record what happened after the credit was
     * granted, defaults included: they would leak the outcome */
    o->exclude = opt(c, a, "exclude") ? opt(c, a, "exclude")
                 : users              ? "repayments,repay_amount"
                 : bank && is_propensity(c) ? "duration" /* known only after the call */
                                      : NULL;
    o->categorical = opt(c, a, "categorical"), o->numeric = opt(c, a, "numeric");
    uint64_t mb, pb;
    int rc;
    if ((rc = opt_f64(c, a, "min-iv", o->min_iv, 0, 10, &o->min_iv)) ||
        (rc = opt_f64(c, a, "min-share", o->bin.min_share, 0, 0.5, &o->bin.min_share)) ||
        (rc = opt_f64(c, a, "chi-merge", o->bin.chi_merge, 0, 1e6, &o->bin.chi_merge)) ||
        (rc = opt_u64(c, a, "max-bins", o->bin.max_bins, 2, 100, &mb)) ||
        (rc = opt_u64(c, a, "prebins", o->bin.prebins, 2, 1000, &pb)) ||
        (rc = opt_f64(c, a, "base-points", o->base_points, -1e6, 1e6, &o->base_points)) ||
        (rc = opt_f64(c, a, "base-odds", o->base_odds, 1e-6, 1e6, &o->base_odds)) ||
        (rc = opt_f64(c, a, "pdo", o->pdo, 1e-3, 1e6, &o->pdo)))
        return rc;
    o->bin.max_bins = (uint32_t)mb, o->bin.prebins = (uint32_t)pb;
    static double special[32];
    const char *sp = opt(c, a, "special") ? opt(c, a, "special") : bank ? "999" : NULL;
    for (o->bin.nspecial = 0; sp && *sp;) {
        size_t len = strcspn(sp, ",");
        if (o->bin.nspecial == 32 || tl_parse_f64(sp, len, &special[o->bin.nspecial]))
            return die_usage(c, "--special: give up to 32 numbers, comma-separated");
        o->bin.nspecial++, sp += len + (sp[len] == ',');
    }
    o->bin.special = special;
    if (!o->target) return die_usage(c, "give --target COLUMN");
    const char *tr = opt(c, a, "trend");
    if (tr) {
        static const char *const names[] = {"auto", "ascending", "descending", "none"};
        int k = 0;
        while (k < 4 && strcmp(tr, names[k]) != 0) k++;
        if (k == 4) return die_usage(c, "--trend %s: use auto, ascending, descending or none", tr);
        o->bin.trend = (tl_trend_t)k;
    }
    const char *bands = opt(c, a, "bands");
    for (int k = 0; bands && k < TL_NBANDS - 1; k++) {
        size_t len = strcspn(bands, ",");
        double v;
        if (tl_parse_f64(bands, len, &v) || !(v > 0 && v < 100) ||
            (k && v / 100 <= o->band_pd[k - 1]) || (k < TL_NBANDS - 2) != (bands[len] == ','))
            return die_usage(c, "--bands: give %d rising default percentages, e.g. 2,5,10,20",
                             TL_NBANDS - 1);
        o->band_pd[k] = v / 100;
        bands += len + 1;
    }
    return 0;
}

static void scorecard_path(const command_t *c, const args_t *a, const char *given, char *out,
                           size_t cap) {
    if (given) snprintf(out, cap, "%s", given);
    else snprintf(out, cap, "%s/models/%s.json", data_dir(a), is_propensity(c) ? "propensity" : "scorecard");
}

static int score_train(const command_t *c, const args_t *a) {
    tl_score_opts_t o;
    int rc = score_opts(c, a, &o);
    if (rc) return rc;
    tl_errbuf_t eb = {{0}};
    tl_table_t t;
    if ((rc = score_table(c, a, &t, &eb))) return rc > 0 ? rc : fail_err("score", rc, &eb);
    tl_scorecard_t *sc = NULL;
    char path[4300];
    scorecard_path(c, a, opt(c, a, "out"), path, sizeof path);
    if (!opt(c, a, "out")) {
        char dir[4300];
        snprintf(dir, sizeof dir, "%s/models", data_dir(a));
        mkdir(data_dir(a), 0700), mkdir(dir, 0700);
    }
    int64_t t0 = tl_time_now_ms();
    rc = tl_scorecard_train(&t, &o, &sc, &eb);
    int64_t t1 = tl_time_now_ms();
    if (!rc) rc = tl_scorecard_save(sc, path, &eb);
    if (!rc) {
        uint32_t nf = tl_scorecard_nfeatures(sc);
        cJSON *j = cJSON_CreateObject(), *fs = cJSON_AddArrayToObject(j, "features");
        cJSON_AddStringToObject(j, "scorecard", path);
        cJSON_AddNumberToObject(j, "read", (double)t.read);
        cJSON_AddNumberToObject(j, "rejected", (double)t.rejected);
        for (uint32_t k = 0; k < nf; k++) {
            tl_score_feature_t f;
            tl_scorecard_feature(sc, k, &f);
            cJSON *o2 = cJSON_CreateObject();
            cJSON_AddStringToObject(o2, "name", f.name);
            cJSON_AddStringToObject(o2, "type", f.categorical ? "categorical" : "numeric");
            cJSON_AddNumberToObject(o2, "bins", f.bin->nbins);
            cJSON_AddNumberToObject(o2, "iv", f.iv);
            cJSON_AddBoolToObject(o2, "kept", f.kept);
            if (f.iv > 0.5) cJSON_AddBoolToObject(o2, "suspect", 1);
            cJSON_AddItemToArray(fs, o2);
        }
        tl_scorecard_stats_t st;
        tl_scorecard_stats(sc, &st);
        cJSON_AddNumberToObject(j, "rows", st.rows);
        cJSON_AddNumberToObject(j, "bads", st.bads);
        cJSON_AddNumberToObject(j, "without_outcome", (double)(t.read - t.rejected) - st.rows);
        cJSON_AddNumberToObject(j, "auc", st.auc);
        cJSON_AddNumberToObject(j, "ks", st.ks);
        cJSON_AddNumberToObject(j, "gini", 2 * st.auc - 1);
        cJSON_AddNumberToObject(j, "seconds", (double)(t1 - t0) / 1000);
        if (opt(c, a, "json")) {
            print_json(j);
        } else {
            printf("%s on %.0f rows (%.0f %s) of %llu read: %llu rejected, %.0f without an "
                   "outcome: %s\n", is_propensity(c) ? "propensity model" : "scorecard", st.rows,
                   st.bads, is_propensity(c) ? "took it up" : "bad", (unsigned long long)t.read,
                   (unsigned long long)t.rejected, (double)(t.read - t.rejected) - st.rows, path);
            printf("%-28s %-12s %5s %8s\n", "feature kept", "type", "bins", "IV");
            uint32_t out = 0;
            for (uint32_t k = 0; k < nf; k++) {
                tl_score_feature_t f;
                tl_scorecard_feature(sc, k, &f);
                if (!f.kept && !(f.iv > 0.5)) {
                    out++;
                    continue;
                }
                printf("%-28s %-12s %5u %8.4f%s%s\n", f.name, f.categorical ? "categorical" : "numeric",
                       f.bin->nbins, f.iv, f.kept ? "" : "  (left out)",
                       f.iv > 0.5 ? "  (IV above 0.5: too good to be true? check it is known "
                                    "before the outcome)" : "");
            }
            if (out)
                printf("%u more candidates left out (IV below %g, one bin, or a coefficient of the "
                       "wrong sign; --json lists them)\n", out, o.min_iv);
            printf("training AUC %.4f  KS %.4f  Gini %.4f, in %.2f s\n", st.auc, st.ks,
                   2 * st.auc - 1, (double)(t1 - t0) / 1000);
            cJSON_Delete(j);
        }
    }
    tl_scorecard_free(sc);
    tl_table_fini(&t);
    return rc ? fail_err("score", rc, &eb) : EXIT_OK;
}

static const char BAND_NAMES[TL_NBANDS + 1] = "ABCDE";

/* The scorecard of --model (default DATA/models/scorecard.json). */
static int load_scorecard(const command_t *c, const args_t *a, tl_scorecard_t **sc,
                          tl_errbuf_t *eb) {
    char path[4300];
    scorecard_path(c, a, opt(c, a, "model"), path, sizeof path);
    return tl_scorecard_load(path, sc, eb);
}

static int score_apply(const command_t *c, const args_t *a) {
    tl_errbuf_t eb = {{0}};
    tl_scorecard_t *sc = NULL;
    int rc = load_scorecard(c, a, &sc, &eb);
    if (rc) return fail_err("score", rc, &eb);
    tl_table_t t;
    if ((rc = score_table(c, a, &t, &eb))) {
        tl_scorecard_free(sc);
        return rc > 0 ? rc : fail_err("score", rc, &eb);
    }
    tl_scorer_t *s = NULL;
    rc = tl_scorer_new(sc, &t, &s, &eb);
    const char *idn = opt(c, a, "id") ? opt(c, a, "id") : opt(c, a, "users") ? "user" : NULL;
    uint32_t idc = idn ? tl_table_column(&t, idn) : TL_NONE;
    if (!rc && idn && idc == TL_NONE) {
        tl_errbuf_set(&eb, "--id %s: no such column", idn);
        rc = TL_EINVAL;
    }
    int json = opt(c, a, "json") != NULL;
    if (!rc && json) printf("[");
    for (uint32_t r = 0; !rc && r < t.nrows; r++) {
        tl_score_t res;
        tl_scorer_row(s, r, &res);
        char idbuf[32];
        snprintf(idbuf, sizeof idbuf, "%u", r + 1);
        const char *id = idc != TL_NONE ? tl_table_cell(&t, r, idc) : idbuf;
        if (is_propensity(c) && !json) {
            printf("%-12s p %.4f\n", id, res.pd);
        } else if (json) {
            cJSON *o = cJSON_CreateObject(), *rs = NULL;
            cJSON_AddStringToObject(o, "id", id);
            if (is_propensity(c)) { /* the chance of taking it up is all there is to say */
                cJSON_AddNumberToObject(o, "p", res.pd);
            } else {
                rs = cJSON_AddArrayToObject(o, "reasons");
                cJSON_AddNumberToObject(o, "score", res.score);
                cJSON_AddNumberToObject(o, "pd", res.pd);
                char band[2] = {BAND_NAMES[res.band], 0};
                cJSON_AddStringToObject(o, "band", band);
            }
            for (int k = 0; rs && k < TL_NREASONS && res.reasons[k] != TL_NONE; k++) {
                tl_score_feature_t f;
                tl_scorecard_feature(sc, res.reasons[k], &f);
                cJSON_AddItemToArray(rs, cJSON_CreateString(f.name));
            }
            char *txt = cJSON_PrintUnformatted(o);
            printf("%s%s", r ? "," : "", txt ? txt : "{}");
            free(txt);
            cJSON_Delete(o);
        } else {
            printf("%-12s %6.0f  pd %.4f  band %c", id, res.score, res.pd, BAND_NAMES[res.band]);
            for (int k = 0; k < TL_NREASONS && res.reasons[k] != TL_NONE; k++) {
                tl_score_feature_t f;
                tl_scorecard_feature(sc, res.reasons[k], &f);
                printf("%s%s", k ? ", " : "  reasons: ", f.name);
            }
            printf("\n");
        }
    }
    if (!rc && json) printf("]\n");
    tl_scorer_free(s);
    tl_table_fini(&t);
    tl_scorecard_free(sc);
    return rc ? fail_err("score", rc, &eb) : EXIT_OK;
}

static cJSON *bucket_json(const tl_score_bucket_t *b) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rows", b->rows);
    cJSON_AddNumberToObject(o, "bads", b->bads);
    cJSON_AddNumberToObject(o, "bad_rate", b->rows ? (double)b->bads / b->rows : 0);
    cJSON_AddNumberToObject(o, "mean_pd", b->pd);
    cJSON_AddNumberToObject(o, "score_min", b->lo);
    cJSON_AddNumberToObject(o, "score_max", b->hi);
    return o;
}

static void print_bucket(const char *label, const tl_score_bucket_t *b) {
    printf("%-8s %7u %6u %9.4f %8.4f %6.0f..%-6.0f\n", label, b->rows, b->bads,
           b->rows ? (double)b->bads / b->rows : 0, b->pd, b->lo, b->hi);
}

/* The population to check (--csv or --users) and, with --baseline, the
 * earlier one in the same layout. */
static int monitor_tables(const command_t *c, const args_t *a, tl_table_t *t, tl_table_t *base,
                          tl_errbuf_t *eb) {
    const char *bpath = opt(c, a, "baseline");
    int rc = score_table(c, a, t, eb);
    if (!rc && bpath) {
        tl_table_opts_t to = {opt(c, a, "preset"), NULL, 0};
        table_rejects_t r = {NULL, 0};
        tl_source_t src = tl_source_file(bpath);
        rc = tl_table_read(&src, &to, base, on_table_reject, &r, eb);
    }
    return rc;
}

/* Validation on a table with outcomes, and stability against a baseline. */
static int score_report(const command_t *c, const args_t *a) {
    tl_errbuf_t eb = {{0}};
    tl_scorecard_t *sc = NULL;
    int rc = load_scorecard(c, a, &sc, &eb);
    if (rc) return fail_err("score", rc, &eb);
    tl_table_t t = {0}, base = {0};
    const char *bpath = opt(c, a, "baseline");
    rc = monitor_tables(c, a, &t, &base, &eb);
    tl_score_validation_t v;
    uint32_t nf = tl_scorecard_nfeatures(sc);
    double spsi = NAN, *fpsi = malloc((nf ? nf : 1) * sizeof *fpsi);
    if (!rc && !fpsi) rc = TL_ENOMEM;
    if (!rc) rc = tl_scorecard_validate(sc, &t, &v, &eb);
    if (!rc && bpath) rc = tl_scorecard_psi(sc, &base, &t, &spsi, fpsi, &eb);
    if (!rc && opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject(), *dec = cJSON_AddArrayToObject(j, "deciles"),
              *bands = cJSON_AddObjectToObject(j, "bands");
        cJSON_AddNumberToObject(j, "rows", v.rows);
        cJSON_AddNumberToObject(j, "bads", v.bads);
        cJSON_AddNumberToObject(j, "auc", v.auc);
        cJSON_AddNumberToObject(j, "ks", v.ks);
        cJSON_AddNumberToObject(j, "gini", 2 * v.auc - 1);
        for (int k = 0; k < 10; k++) cJSON_AddItemToArray(dec, bucket_json(&v.decile[k]));
        for (int k = 0; k < TL_NBANDS; k++) {
            char name[2] = {BAND_NAMES[k], 0};
            cJSON_AddItemToObject(bands, name, bucket_json(&v.band[k]));
        }
        if (bpath) {
            cJSON *p = cJSON_AddObjectToObject(j, "psi"), *pf = cJSON_AddObjectToObject(p, "features");
            cJSON_AddNumberToObject(p, "score", spsi);
            cJSON_AddStringToObject(p, "reading", tl_psi_reading(spsi));
            for (uint32_t q = 0; q < nf; q++) {
                tl_score_feature_t f;
                tl_scorecard_feature(sc, q, &f);
                if (f.kept) cJSON_AddNumberToObject(pf, f.name, fpsi[q]);
            }
        }
        print_json(j);
    } else if (!rc) {
        printf("validation on %u rows with an outcome (%u bad): AUC %.4f  KS %.4f  Gini %.4f\n",
               v.rows, v.bads, v.auc, v.ks, 2 * v.auc - 1);
        printf("\n%-8s %7s %6s %9s %8s %s\n", "decile", "rows", "bads", "bad rate", "mean PD",
               "scores");
        for (int k = 0; k < 10; k++) {
            char label[8];
            snprintf(label, sizeof label, "%d", k + 1);
            print_bucket(label, &v.decile[k]);
        }
        printf("\n%-8s %7s %6s %9s %8s %s\n", "band", "rows", "bads", "bad rate", "mean PD", "scores");
        for (int k = 0; k < TL_NBANDS; k++) {
            char label[2] = {BAND_NAMES[k], 0};
            print_bucket(label, &v.band[k]);
        }
        if (bpath) {
            printf("\nstability against %s: score PSI %.4f (%s)\n", bpath, spsi, tl_psi_reading(spsi));
            for (uint32_t q = 0; q < nf; q++) {
                tl_score_feature_t f;
                tl_scorecard_feature(sc, q, &f);
                if (f.kept) printf("  %-28s %.4f (%s)\n", f.name, fpsi[q], tl_psi_reading(fpsi[q]));
            }
        }
    }
    free(fpsi);
    tl_table_fini(&t);
    tl_table_fini(&base);
    tl_scorecard_free(sc);
    return rc > 0 ? rc : rc ? fail_err("score", rc, &eb) : EXIT_OK;
}

static int score_cv(const command_t *c, const args_t *a) {
    tl_score_opts_t o;
    int rc = score_opts(c, a, &o);
    uint64_t folds, seed;
    if (rc || (rc = opt_u64(c, a, "folds", 5, 2, 100, &folds)) ||
        (rc = opt_u64(c, a, "seed", 0, 0, UINT32_MAX, &seed)))
        return rc;
    tl_errbuf_t eb = {{0}};
    tl_table_t t;
    if ((rc = score_table(c, a, &t, &eb))) return rc > 0 ? rc : fail_err("score", rc, &eb);
    double auc[100];
    int32_t *fold = malloc((size_t)(t.nrows ? t.nrows : 1) * sizeof *fold);
    if (!fold) rc = TL_ENOMEM;
    int64_t t0 = tl_time_now_ms();
    if (!rc) rc = tl_scorecard_cv(&t, &o, (uint32_t)folds, seed, auc, fold, &eb);
    int64_t t1 = tl_time_now_ms();
    const char *fo = opt(c, a, "folds-out");
    if (!rc && fo) {
        FILE *f = fopen(fo, "w");
        if (!f) {
            tl_errbuf_set(&eb, "%s: cannot write the folds", fo);
            rc = TL_EIO;
        } else {
            fputs("row,fold\n", f);
            for (uint32_t r = 0; r < t.nrows; r++) fprintf(f, "%u,%d\n", r, fold[r]);
            if (fclose(f) != 0) rc = TL_EIO;
        }
    }
    if (!rc) {
        double mean = 0;
        for (uint64_t k = 0; k < folds; k++) mean += auc[k] / (double)folds;
        if (opt(c, a, "json")) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "folds", (double)folds);
            cJSON_AddNumberToObject(j, "seed", (double)seed);
            cJSON_AddItemToObject(j, "auc_folds", cJSON_CreateDoubleArray(auc, (int)folds));
            cJSON_AddNumberToObject(j, "auc", mean);
            cJSON_AddNumberToObject(j, "rows", t.nrows);
            cJSON_AddNumberToObject(j, "rejected", (double)t.rejected);
            cJSON_AddNumberToObject(j, "seconds", (double)(t1 - t0) / 1000);
            print_json(j);
        } else {
            printf("%llu-fold stratified cross-validation (seed %llu) on %u rows:\n",
                   (unsigned long long)folds, (unsigned long long)seed, t.nrows);
            for (uint64_t k = 0; k < folds; k++) printf("  fold %llu: AUC %.4f\n", (unsigned long long)k + 1, auc[k]);
            printf("mean AUC %.4f (Gini %.4f), in %.2f s\n", mean, 2 * mean - 1, (double)(t1 - t0) / 1000);
        }
    }
    free(fold);
    tl_table_fini(&t);
    return rc ? fail_err("score", rc, &eb) : EXIT_OK;
}

static int run_score(const command_t *c, int argc, char **argv) {
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos != 1) return die_usage(c, "give train, apply, report or cv");
    if (strcmp(a.pos[0], "train") == 0) return score_train(c, &a);
    if (strcmp(a.pos[0], "apply") == 0) return score_apply(c, &a);
    if (strcmp(a.pos[0], "cv") == 0) return score_cv(c, &a);
    if (strcmp(a.pos[0], "report") == 0) return score_report(c, &a);
    return die_usage(c, "%s: give train, apply, report or cv", a.pos[0]);
}

static int cmd_score(int argc, char **argv) { return run_score(command_named("score"), argc, argv); }
static int cmd_propensity(int argc, char **argv) {
    return run_score(command_named("propensity"), argc, argv);
}

/* ---- offers ------------------------------------------------------------------------- */

static const optspec_t OFFERS_OPTS[] = {
    {"scene", 1, "home (default), purchase, travel, promotion or idle: what the policy's scene "
                 "rules look for"},
    {"category", 1, "the scene's category, e.g. electronics or travel (scene_category)"},
    {"amount", 1, "the scene's amount, e.g. the basket just bought (scene_amount)"},
    {"n", 1, "how many offers (default 3)"},
    {"policy", 1, "the lending policy file (default: the built-in one, see --print-policy)"},
    {"print-policy", 0, "print the built-in policy and stop"},
    {"score", 1, "the scorecard for bands and PD (default DATA/models/scorecard.json)"},
    {"explain", 0, "also list the blocked offers with the rule, and the ineligible ones"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

static int cmd_offers(int argc, char **argv) {
    const command_t *c = command_named("offers");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (opt(c, &a, "print-policy")) {
        fputs(TL_OFFERS_DEFAULT_POLICY, stdout);
        return EXIT_OK;
    }
    if (a.npos != 1) return die_usage(c, "give one USER");
    uint64_t n;
    tl_offer_scene_t scene = {opt(c, &a, "category"), NAN};
    if ((rc = opt_u64(c, &a, "n", 3, 1, 1000, &n)) ||
        (rc = opt_f64(c, &a, "amount", NAN, 0, 1e12, &scene.amount)))
        return rc;
    const char *sname = opt(c, &a, "scene") ? opt(c, &a, "scene") : "home";
    tl_errbuf_t eb = {{0}};
    char *policy = NULL;
    if (opt(c, &a, "policy") && (rc = tl_read_file(opt(c, &a, "policy"), &policy, NULL))) {
        tl_errbuf_set(&eb, "%s: cannot read the policy", opt(c, &a, "policy"));
        return fail_err("offers", rc, &eb);
    }
    tl_store_t *st = NULL;
    tl_profiles_t *p = NULL;
    tl_scorecard_t *sc = NULL;
    tl_offers_t *o = NULL;
    tl_offer_t *f = NULL;
    rc = tl_store_open(data_dir(&a), TL_STORE_READONLY, &st, &eb);
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, &eb);
    uint32_t u = users ? tl_dict_find(users, a.pos[0], strlen(a.pos[0])) : TL_NONE;
    if (!rc && u == TL_NONE) {
        tl_errbuf_set(&eb, "no user \"%s\" in %s", a.pos[0], data_dir(&a));
        rc = TL_ENOENT;
    }
    if (!rc) rc = tl_profile_load(st, &p, &eb);
    char card[4300];
    if (opt(c, &a, "score")) snprintf(card, sizeof card, "%s", opt(c, &a, "score"));
    else snprintf(card, sizeof card, "%s/models/scorecard.json", data_dir(&a));
    if (!rc && tl_scorecard_load(card, &sc, &eb) != 0) {
        if (opt(c, &a, "score")) rc = TL_ENOENT;
        else fprintf(stderr, "tailor offers: no scorecard (%s): no one has a credit band, so "
                             "credit offers are blocked; train one with `tailor score train --users`\n",
                     card), eb.msg[0] = 0;
    }
    if (!rc) rc = tl_offers_policy(st, p, policy, &o, &eb);
    uint32_t total = 0;
    if (!rc && !(f = calloc(tl_offers_nproducts(o) + 1, sizeof *f))) rc = TL_ENOMEM;
    if (!rc) rc = tl_offers_user(o, st, p, sc, u, sname, &scene, f, &total, &eb);
    if (!rc) {
        cJSON *j = tl_offers_json(a.pos[0], sname, f, total, (uint32_t)n, opt(c, &a, "explain") != NULL),
              *arr = cJSON_GetObjectItem(j, "offers"), *ex = cJSON_GetObjectItem(j, "not_offered");
        if (opt(c, &a, "json")) {
            print_json(j);
        } else {
            printf("offers for %s (scene %s):\n", a.pos[0], sname);
            cJSON *it;
            int r = 1;
            cJSON_ArrayForEach(it, arr) {
                printf("%2d. %s  %s  (value %.2f%s)\n    %s\n", r++,
                       cJSON_GetObjectItem(it, "product")->valuestring,
                       cJSON_GetObjectItem(it, "name")->valuestring,
                       cJSON_GetObjectItem(it, "expected_value")->valuedouble,
                       cJSON_IsTrue(cJSON_GetObjectItem(it, "scene")) ? ", brought forward by the scene" : "",
                       cJSON_GetObjectItem(it, "disclosure")->valuestring);
                cJSON *in = cJSON_GetObjectItem(it, "interest_on_amount");
                if (in && in->valuedouble > 0)
                    printf("    APR %.1f %%, %.0f months: about %.0f in interest on %.0f borrowed\n",
                           100 * cJSON_GetObjectItem(it, "apr")->valuedouble,
                           cJSON_GetObjectItem(it, "term_months")->valuedouble, in->valuedouble,
                           cJSON_GetObjectItem(it, "amount")->valuedouble);
            }
            if (r == 1) printf("  none\n");
            if (ex) {
                printf("not offered:\n");
                cJSON_ArrayForEach(it, ex) {
                    cJSON *b = cJSON_GetObjectItem(it, "blocked_by"), *ne = cJSON_GetObjectItem(it, "not_eligible"),
                          *lo = cJSON_GetObjectItem(it, "losing");
                    printf("  %s  %s: %s", cJSON_GetObjectItem(it, "product")->valuestring,
                           cJSON_GetObjectItem(it, "name")->valuestring,
                           b ? "blocked: " : ne ? "not eligible: " : "not made: ");
                    if (b) {
                        cJSON *r;
                        int first = 1;
                        cJSON_ArrayForEach(r, b) printf("%s%s", first ? "" : "; ", r->valuestring), first = 0;
                        printf("\n");
                    } else {
                        printf("%s\n", ne ? ne->valuestring : lo->valuestring);
                    }
                }
            }
            cJSON_Delete(j);
        }
    }
    free(f);
    tl_offers_free(o);
    tl_scorecard_free(sc);
    tl_profile_free(p);
    tl_store_close(st);
    free(policy);
    return rc ? fail_err("offers", rc, &eb) : EXIT_OK;
}

static int report_scorecard(const command_t *c, const args_t *a, const char *html) {
    tl_errbuf_t eb = {{0}};
    tl_scorecard_t *sc = NULL;
    int rc = load_scorecard(c, a, &sc, &eb);
    if (rc) return fail_err("report", rc, &eb);
    tl_table_t t = {0}, base = {0};
    const char *bpath = opt(c, a, "baseline");
    rc = monitor_tables(c, a, &t, &base, &eb);
    if (!rc) rc = tl_scorecard_report_html(sc, &t, bpath ? &base : NULL, html, &eb);
    tl_table_fini(&t);
    tl_table_fini(&base);
    tl_scorecard_free(sc);
    if (rc > 0) return rc;
    if (rc) return fail_err("report", rc, &eb);
    printf("wrote %s\n", html);
    return EXIT_OK;
}

static int cmd_report(int argc, char **argv) {
    const command_t *c = command_named("report");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    const char *html = opt(c, &a, "html");
    if (a.npos == 2 && strcmp(a.pos[0], "campaign") == 0) return report_campaign(c, &a, a.pos[1]);
    if (a.npos != 1 || (strcmp(a.pos[0], "profiles") != 0 && strcmp(a.pos[0], "scorecard") != 0) ||
        !html)
        return die_usage(c, "say profiles --html FILE, scorecard --html FILE or campaign ID");
    if (strcmp(a.pos[0], "scorecard") == 0) return report_scorecard(c, &a, html);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    tl_profiles_t *p = NULL;
    rc = tl_store_open(data_dir(&a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_profile_load(st, &p, &eb);
    if (!rc) rc = tl_segment_report_html(st, p, html, &eb);
    tl_profile_free(p);
    tl_store_close(st);
    if (rc) return fail_err("report", rc, &eb);
    printf("wrote %s\n", html);
    return EXIT_OK;
}

/* ---- dispatch -------------------------------------------------------------- */

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static const optspec_t VERSION_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

static const command_t COMMANDS[] = {
    {"import", "import [options] FILE...", "Import users, items, financial products, credit "
     "records, consents or events from CSV or JSON Lines files, or a public data set with "
     "--preset. Bad rows are quarantined with their reason and line; the last line printed is "
     "read=N accepted=N duplicates=N quarantined=N.", IMPORT_OPTS, cmd_import},
    {"stats", "stats [--json]", "Counts of users, items, events by type, channel and day, and "
     "quarantined rows by reason.", STATS_OPTS, cmd_stats},
    {"quarantine", "quarantine list|export [options]", "List quarantined rows (personal data "
     "masked) or export them with their raw text to fix and re-import.", QUAR_OPTS,
     cmd_quarantine},
    {"check", "check [--json]", "Verify every checksum of the event log and the integrity of "
     "the embedded database.", CHECK_OPTS, cmd_check},
    {"profile", "profile build|show USER|export|drift [options]", "Build every user's profile from "
     "the events (recency, frequency, monetary, category affinity, price sensitivity, funnel, "
     "active hours, channel, lifecycle, capacity tier, credit), show one user's (personal data "
     "masked), export all as CSV or JSON Lines, or report feature drift (PSI) between two times, "
     "overall or for a segment.", PROFILE_OPTS, cmd_profile},
    {"tag", "tag apply FILE | list", "Tags from a rule file: `tag careful_buyer = "
     "detail_views_before_purchase >= 3` (yes/no), or `tag spend = \"high\" if monetary_365d > "
     "1000` lines (a category; the first match wins). Applied to the built profiles as tag_NAME "
     "columns, kept, and applied again by every profile build.", TAG_OPTS, cmd_tag},
    {"segment", "segment create NAME --where EXPR | list | size NAME | show NAME | export NAME | "
     "overlap A B | delete NAME | rfm | cluster --features a,b [--k K]", "Audiences over the built profiles: rule segments "
     "defined by a condition of the expression language (sizes are counted on the current "
     "profiles), their overlaps (Jaccard), and the standard RFM segments (Champions, Loyal, "
     "Potential Loyalist, New, Promising, Need Attention, About to Sleep, At Risk, Can't Lose, "
     "Hibernating, Lost) from quintile R, F and M scores, and k-means++ clusters on standardised "
     "features (the last clustering is kept for `report profiles`).", SEGMENT_OPTS, cmd_segment},
    {"train", "train [--model pop|segpop|ease|ials|knn] [--name N] [options]", "Train a "
     "recommender on every interaction in the store (weights per event type; ratings from "
     "--min-rating) and save it as DATA/models/NAME.tlm (versioned, checksummed). segpop is "
     "popularity by segment (age band x gender) and the user's category tastes; it is also what "
     "users without history get from every model.", TRAIN_OPTS, cmd_train},
    {"recommend", "recommend USER [-n N] [--model NAME] [--scene S] [--json]", "The top items for a user from "
     "a trained model, items the user already interacted with left out, each with the reason.",
     REC_OPTS, cmd_recommend},
    {"similar", "similar ITEM [--n N] [--model NAME] [--json]", "The items most like ITEM by "
     "an item-kNN model (cosine of who interacted with them, with shrinkage), else (no such "
     "model, or an item it has no neighbours for) by category, brand and price.", REC_OPTS,
     cmd_similar},
    {"eval", "eval [--split time|last] [--by gender|age] [--model M] [options]\n"
     "       eval --train FILE --test FILE [--preset P] [options]",
     "Offline evaluation of a recommender on DATA split by time (the last --test-days) or "
     "leave-last-out, or on a given train/test pair: precision, recall, NDCG (ideal DCG over "
     "min(K, |test|)), MAP and hit rate at K, catalogue coverage, novelty (mean -log2 share of "
     "users who had an item), intra-list category diversity and the Gini coefficient of "
     "exposure; with --by, accuracy per user group. Training items are left out of both the "
     "candidates and the test; users without training history get the popular items, as "
     "when served.", EVAL_OPTS, cmd_eval},
    {"score", "score train|apply|report|cv --csv FILE [--preset P] [--target COL] [options]",
     "Credit scorecards: train bins every column (quantile pre-bins merged by chi-square, at "
     "least --min-share a bin, monotonic bad rate; categories grouped by bad rate; missing "
     "values in a bin of their own), keeps features by IV, regresses on WOE and turns it into "
     "points (--base-points at --base-odds, --pdo); apply gives each row its score, probability "
     "of default, band A-E and reason codes, in input order; report validates on a table with "
     "outcomes (AUC, KS, calibration by score decile, default rate per band) and with "
     "--baseline gives the PSI of the score and of every feature; cv gives the AUC of "
     "stratified folds.", SCORE_OPTS, cmd_score},
    {"propensity", "propensity train|apply|report|cv --csv FILE [--preset P] --target COL "
     "--bad-value EVENT [options]", "The chance that a user takes up an offer: the scorecard's "
     "binning and logistic regression aimed at the event (--bad-value, e.g. yes), with finer "
     "bins in any shape (50 pre-bins, up to 20 bins of at least 2 %), every feature and any "
     "sign; apply gives each row's p. The bank-marketing preset leaves out duration, which is "
     "known only after the call.", SCORE_OPTS, cmd_propensity},
    {"offers", "offers USER [--scene S] [--category C] [--amount X] [--explain] [--json]",
     "Financial offers for a user: the products whose eligibility holds, with those the scene "
     "brings forward first and then by expected value (take-up x margin x amount - PD x loss x "
     "amount for credit), each with its risk disclosure. The lending policy (--policy FILE; "
     "--print-policy shows the built-in one) blocks credit for band E, high debt to income, an "
     "overdue on record, minors and users without the credit_offers consent; every blocked "
     "offer is logged with its rule in DATA/offers.log and shown by --explain.", OFFERS_OPTS,
     cmd_offers},
    {"report", "report profiles|scorecard --html FILE [options] | campaign ID [--json]", "Offline HTML pages with "
     "inline SVG charts. profiles: key figures, lifecycle, category tastes, RFM segments and "
     "grid, the stored segments and the kept clustering. scorecard (--csv FILE or --users, with "
     "outcomes; --baseline FILE): goods and bads over the score, KS curve, default rate by "
     "band, calibration by decile, PSI, and every kept feature's bins, WOE and points. campaign: "
     "conversions after exposure per arm and hold-out with Wilson intervals, absolute and "
     "relative lift, z and Welch tests, CUPED, Holm or Benjamini-Hochberg, ROI and the "
     "sample-ratio check.",
     REPORT_OPTS, cmd_report},
    {"campaign", "campaign create FILE | list | show ID | pause ID | resume ID | run ID|--all "
     "[--at TIME] [--dry-run] | deliver --url URL | dnc USER | control PCT", "Campaigns from a JSON definition (audience, content, "
     "channels, arms, hold-out, consent, caps, quiet hours, budget, schedule or trigger). run "
     "decides for every user in the audience, or every trigger event since the last run, one of "
     "sent, holdout, global_control, other_namespace, no_consent, do_not_contact, capped, queued, "
     "quiet_hours, budget, no_content; deliveries go to DATA/outbox/CHANNEL.jsonl and every "
     "decision to the campaign's exposure log. --all runs the active campaigns by priority. deliver "
     "posts the outbox's due records to a gateway (personal fields filled in then), with "
     "retries. control sets the global control group kept out of every campaign.",
     CAMPAIGN_OPTS, cmd_campaign},
    {"feedback", "feedback import FILE [--json]", "Complaints, unsubscribes, bounces, survey "
     "scores and review ratings from a CSV file (user, kind, at; optional campaign, channel, "
     "item, score). A complaint, unsubscribe or bounce puts the user on the do-not-contact list "
     "for that channel (or all) at once; reports show complaint and unsubscribe rates per "
     "campaign; complaints and low ratings lower an item in recommendations. Bad rows are "
     "quarantined; the last line is read=N accepted=N duplicates=N quarantined=N.",
     FEEDBACK_OPTS, cmd_feedback},
    {"uplift", "uplift train|apply|report --campaign ID | --csv FILE --treatment COL --outcome COL "
     "[options]", "Who a campaign moves: train fits a two-model or class-transformation uplift "
     "model on an experiment (a campaign's exposures and outcomes with the users' profiles, or "
     "any table with treatment and outcome columns) and measures it on held-out units (Qini "
     "coefficient, AUUC, uplift in the top k %); apply scores every user and projects the "
     "incremental conversions and ROI of targeting the top --top % (with a warning when the "
     "held-out Qini does not back them); report gives the Qini "
     "curve on every unit, and with --effects the agreement with known true effects.",
     UPLIFT_OPTS, cmd_uplift},
    {"serve", "serve [--listen ADDR:PORT] [--threads N] [--model NAME]", "The HTTP API in the "
     "foreground: POST /v1/events; GET /v1/users/ID/profile, /v1/users/ID/recommendations; "
     "segments; /healthz and /metrics (Prometheus). Requests carry an API key (`tailor apikey "
     "create`). SIGHUP reloads the model and the keys; SIGTERM stops accepting, finishes what "
     "is in flight and exits 0.", SERVE_OPTS, cmd_serve},
    {"apikey", "apikey create --role admin|analyst|service [--name N] | list | revoke ID", "API "
     "keys for the server: created keys are shown once (the store keeps a hash); revoked keys "
     "stop working at the server's next reload.", APIKEY_OPTS, cmd_apikey},
    {"gen", "gen --out DIR [options] | gen respond --campaign ID --truth FILE --out FILE",
     "Generate a synthetic world (users, items, products, credit, consents, events, and "
     "truth.json with each user's latent tastes, price sensitivity, risk and channel response); "
     "respond: the world's users' answers to a campaign's deliveries, by that truth, as an "
     "events file to import.", GEN_OPTS, cmd_gen},
    {"demo", "demo [--serve] [options]", "The whole loop on a generated world: import (twice), "
     "check, profiles, segments, recommendations, scorecard, offers, two campaigns answered by "
     "the ground truth and their reports; with --serve, then the HTTP API.", DEMO_OPTS, cmd_demo},
    {"export-user", "export-user USER [--out FILE]",
     "Everything held about one user, for a subject access request: personal fields in clear, "
     "attributes, credit record, consents and their history, do-not-contact entries, feedback, "
     "every event, the profile, the segments the user is in, every campaign decision and the "
     "reads of the user's data (the export itself is added to them).", EXPORT_USER_OPTS,
     cmd_export_user},
    {"erase", "erase USER", "Erasure: the user's events, personal fields and attributes, credit "
     "record, consents, do-not-contact entries, feedback, campaign exposures and outbox records, "
     "quarantined rows naming the user, profile, what the models learnt of the user alone and "
     "logged offer decisions, all removed; the old bytes overwritten. A tombstone (a keyed "
     "pseudonym) stays, so importing the same id again is refused (reason erased_user).",
     ERASE_OPTS, cmd_erase},
    {"retain", "retain --days N", "Retention: events older than N days dropped, with the campaign "
     "records, feedback, quarantined rows and consent history of that age (the consents in "
     "force stay); the profiles are built again.", RETAIN_OPTS, cmd_retain},
    {"audit", "audit [list [--user ID] | verify]", "The audit log of reads, exports and erasures "
     "of personal data (users by pseudonym); verify walks its hash chain and fails if an entry "
     "was changed, inserted or removed, or the log was cut at its end or wiped (its anchor counts "
     "the entries).", AUDIT_OPTS, cmd_audit},
    {"key", "key rotate", "A new data key: every personal value, quarantined row and secret is "
     "sealed again under it in one transaction, and the new key file replaces the old (with "
     "$TAILOR_KEY, the new key comes from $TAILOR_NEW_KEY). Pseudonyms and the audit chain stay "
     "valid.", KEY_OPTS, cmd_key},
    {"help", "help [COMMAND]", "Show the commands, or one command's options.", NULL, cmd_help},
    {"version", "version [--json]", "Show tailor's version (also `tailor --version`).",
     VERSION_OPTS, cmd_version},
};

#define NCOMMANDS (sizeof COMMANDS / sizeof *COMMANDS)

/* The subcommands of the commands that have them, for parse_args. */
static const struct {
    const char *cmd, *subs;
} SUBCOMMANDS[] = {
    {"quarantine", "list export"},
    {"profile", "build show export drift"},
    {"tag", "apply list"},
    {"segment", "create list size show export overlap delete rfm cluster"},
    {"score", "train apply report cv"},
    {"propensity", "train apply report cv"},
    {"report", "profiles scorecard campaign"},
    {"campaign", "create list show pause resume run deliver dnc control"},
    {"feedback", "import"},
    {"uplift", "train apply report"},
    {"apikey", "create list revoke"},
    {"gen", "respond"},
    {"audit", "list verify"},
    {"key", "rotate"},
};

const char *command_subs(const char *name) {
    for (size_t i = 0; i < sizeof SUBCOMMANDS / sizeof *SUBCOMMANDS; i++)
        if (strcmp(SUBCOMMANDS[i].cmd, name) == 0) return SUBCOMMANDS[i].subs;
    return NULL;
}

const command_t *command_named(const char *name) {
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0) return &COMMANDS[i];
    return NULL;
}

int run_cmd(const char *name, int argc, char **argv) {
    return command_named(name)->run(argc, argv);
}

static void usage_all(FILE *f) {
    fprintf(f, "tailor: a precision-marketing engine\n\nusage: tailor [--data DIR] <command> "
            "[options]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].usage);
    fprintf(f, "\nThe data directory is --data, else $TAILOR_DATA, else ./tailor-data.\n"
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

static int cmd_version(int argc, char **argv) {
    const command_t *c = command_named("version");
    args_t a;
    int rc = parse_args(c, argc, argv, &a);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (a.npos) return die_usage(c, "unexpected %s", a.pos[0]);
    if (opt(c, &a, "json")) {
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
    while (i < argc && strncmp(argv[i], "--data", 6) == 0) {
        if (argv[i][6] == '=') {
            global_data = argv[i] + 7;
            i++;
        } else if (argv[i][6] == 0 && i + 1 < argc) {
            global_data = argv[i + 1];
            i += 2;
        } else {
            errors_as_json(NULL, argc - i, argv + i);
            return cli_fail(NULL, EXIT_USAGE, 0, "--data needs a directory");
        }
    }
    if (i >= argc) {
        usage_all(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return cmd_help(0, NULL);
    if (strcmp(argv[i], "--version") == 0) return cmd_version(argc - i - 1, argv + i + 1);
    const command_t *c = command_named(argv[i]);
    if (!c) {
        errors_as_json(NULL, argc - i, argv + i);
        return unknown_command(NULL, argv[i]);
    }
    return c->run(argc - i - 1, argv + i + 1);
}
