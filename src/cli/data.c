/* data.c -- the commands over the store's records: `import` (files or a
 * public data set, bad rows quarantined with their reason), `stats`,
 * `quarantine list|export` and `check` (every checksum verified). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "identity/identity.h"
#include "progress.h"

/* ---- import ---------------------------------------------------------------- */

const optspec_t IMPORT_OPTS[] = {
    READ_OPTS,
    {"identity", 1, "KIND: the ids of the user (and alias) field are identifiers of this kind "
                    "(device, phone, email, openid, card...) unless written KIND:VALUE"},
    {"link-contacts", 0, "link each users record's member to its phone and e-mail, as "
                         "identifiers of the kinds phone and email"},
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

int cmd_import(const command_t *c, const args_t *a) {
    int rc;
    if (a->npos == 0) return die_usage(c, "give at least one FILE");
    tl_import_opts_t o;
    if ((rc = cli_read_opts(c, a, &o))) return rc;
    o.identity = opt(c, a, "identity");
    o.link_contacts = opt(c, a, "link-contacts") != NULL;
    o.extra_types = opt(c, a, "extra-types");
    o.extra_channels = opt(c, a, "extra-channels");
    o.strict = opt(c, a, "strict") != NULL;
    o.history = 1;
    if ((rc = opt_u64(c, a, "batch", 0, 1, 1u << 30, &o.batch_rows))) return rc;
    int json = opt(c, a, "json") != NULL;

    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    if ((rc = open_store("import", a, TL_STORE_CREATE, &st, &eb))) return rc;
    tl_import_stats_t s = {0};
    reject_ctx_t rj = {o.strict, 0};
    progress_t bar;
    progress_import(&o, &bar);
    tl_source_t *src = calloc((size_t)a->npos, sizeof *src);
    for (int i = 0; src && i < a->npos; i++) src[i] = tl_source_file(a->pos[i]);
    rc = src ? tl_import(st, src, a->npos, &o, &s, on_reject, &rj, &eb) : TL_ENOMEM;
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

const optspec_t STATS_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

typedef struct {
    cJSON *obj;
    uint64_t total;
} reason_ctx_t;

static int reason_row(const char *reason, uint64_t n, void *arg) {
    reason_ctx_t *r = arg;
    cJSON_AddNumberToObject(r->obj, reason, (double)n);
    r->total += n;
    return 0;
}

int cmd_stats(const command_t *c, const args_t *a) {
    int rc;
    int json = opt(c, a, "json") != NULL;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    if ((rc = open_store("stats", a, TL_STORE_READONLY, &st, &eb))) return rc;
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
    rc = tl_store_quarantine_counts(st, reason_row, &rq, &eb);
    cJSON_AddNumberToObject(j, "quarantined", (double)n.quarantined);
    cJSON_AddItemToObject(j, "quarantined_by_reason", rq.obj);
    tl_id_rules_t rules;
    tl_identity_t *id = NULL;
    tl_id_stats_t is = {0};
    if (!rc) rc = tl_identity_rules_get(st, &rules, &eb);
    if (!rc) rc = tl_identity_load(st, &rules, &id, &eb);
    if (!rc) tl_identity_stats(id, &is);
    tl_identity_free(id);
    cJSON *ji = cJSON_AddObjectToObject(j, "identity");
    cJSON_AddNumberToObject(ji, "identifiers", is.identifiers);
    cJSON_AddNumberToObject(ji, "persons", is.persons);
    cJSON_AddNumberToObject(ji, "merges", (double)is.merges);
    cJSON_AddNumberToObject(ji, "refused_merges", (double)is.refused);
    cJSON_AddNumberToObject(ji, "split_links", (double)is.split);
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
    printf("identifiers     %u\npersons         %u\nmerges          %llu\n"
           "refused merges  %llu\nsplit links     %llu\n", is.identifiers, is.persons,
           (unsigned long long)is.merges, (unsigned long long)is.refused,
           (unsigned long long)is.split);
    cJSON_Delete(j);
    return EXIT_OK;
}

/* ---- quarantine ------------------------------------------------------------ */

const optspec_t QUAR_OPTS[] = {
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

int cmd_quarantine(const command_t *c, const args_t *a) {
    int rc;
    if (a->npos != 1 || (strcmp(a->pos[0], "list") != 0 && strcmp(a->pos[0], "export") != 0))
        return die_usage(c, "say list or export");
    qctx_t q = {0};
    q.export = strcmp(a->pos[0], "export") == 0;
    q.json = opt(c, a, "json") != NULL;
    const char *fmt = opt(c, a, "format"), *out = opt(c, a, "out");
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0)
        return die_usage(c, "--format %s: use csv or jsonl", fmt);
    q.csv = fmt && strcmp(fmt, "csv") == 0;
    if ((rc = opt_u64(c, a, "limit", 50, 0, UINT32_MAX, &q.limit))) return rc;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    if ((rc = open_store("quarantine", a, TL_STORE_READONLY, &st, &eb))) return rc;
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
    rc = tl_store_quarantine_scan(st, opt(c, a, "reason"), q.export, q_row, &q, &eb);
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

const optspec_t CHECK_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

int cmd_check(const command_t *c, const args_t *a) {
    int rc;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    if ((rc = open_store("check", a, TL_STORE_READONLY, &st, &eb))) return rc;
    tl_store_check_t ck;
    rc = tl_store_check(st, &ck, &eb);
    tl_store_close(st);
    if (opt(c, a, "json")) {
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
