/* profile.c -- `profile build|show|export|drift` and `tag apply|list`:
 * every user's profile built from the events, one shown (personal data
 * masked), all exported, features compared between two times (PSI), and
 * the tag rules kept and applied to the profiles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "privacy/privacy.h"
#include "profile/profile.h"
#include "stats/stats.h"

/* ---- profile ----------------------------------------------------------------- */

const optspec_t PROFILE_OPTS[] = {
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
    int rc = open_store("profile build", a, TL_STORE_READONLY, &st, &eb);
    if (rc) return rc;
    tl_profiles_t *p = NULL;
    int64_t t0 = tl_time_mono_ms();
    rc = tl_segment_profiles_build(st, &o, &p, &eb);
    int64_t t1 = tl_time_mono_ms();
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
    int rc = open_store("profile show", a, TL_STORE_READONLY, &st, &eb);
    if (rc) return rc;
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
    if (cli_store_open(data_dir(a), TL_STORE_READONLY, &st2, &eb) == 0 &&
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

static int profile_export(const command_t *c, const args_t *a) {
    const char *fmt = opt(c, a, "format"), *out = opt(c, a, "out");
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0)
        return die_usage(c, "--format %s: use csv or jsonl", fmt);
    int jsonl = fmt && strcmp(fmt, "jsonl") == 0;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st;
    int rc = open_store("profile export", a, TL_STORE_READONLY, &st, &eb);
    if (rc) return rc;
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
    /* users erased, users who withdrew profiling and identifiers merged into
     * another's person have no profile of their own */
    for (uint32_t u = 0; !rc && u < tl_profile_nusers(p) && u < tl_dict_count(users); u++) {
        size_t n;
        const char *id = tl_dict_str(users, u, &n);
        if (tl_id_forgotten(id) || !tl_profile_kept(p, u)) continue;
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
    int rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_segment_profiles_build(st, &o1, &p1, &eb);
    if (!rc) rc = tl_segment_profiles_build(st, &o2, &p2, &eb);
    char *expr = NULL;
    if (!rc && seg) rc = tl_store_segment_get(st, seg, &expr, &eb);
    tl_drift_t d[256];
    int nd = 0;
    tl_expr_err_t err;
    if (!rc) rc = tl_segment_drift(st, p1, p2, expr, feats, d, 256, &nd, &err);
    if (rc == TL_EBADINPUT) tl_errbuf_set(&eb, "segment %s: %s", seg, err.msg);
    tl_store_close(st);
    int json = opt(c, a, "json") != NULL;
    char t1s[32], t2s[32];
    if (!rc) {
        tl_time_format(tl_profile_as_of(p1), t1s);
        tl_time_format(tl_profile_as_of(p2), t2s);
    }
    if (!rc && json) {
        print_json(tl_drift_json(d, nd, p1, p2, seg));
    } else if (!rc) {
        printf("feature drift (PSI) from %s to %s%s%s\n\n", t1s, t2s, seg ? ", segment " : "", seg ? seg : "");
        for (int i = 0; i < nd; i++)
            printf("  %-30s %8.4f  %s\n", d[i].name, d[i].psi, d[i].reading);
    }
    free(expr);
    tl_profile_free(p1);
    tl_profile_free(p2);
    return rc ? fail_err("profile drift", rc, &eb) : EXIT_OK;
}

int cmd_profile(const command_t *c, const args_t *a) {
    if (a->npos >= 1 && strcmp(a->pos[0], "build") == 0 && a->npos == 1) return profile_build(c, a);
    if (a->npos == 2 && strcmp(a->pos[0], "show") == 0) return profile_show(c, a, a->pos[1]);
    if (a->npos == 1 && strcmp(a->pos[0], "export") == 0) return profile_export(c, a);
    if (a->npos == 1 && strcmp(a->pos[0], "drift") == 0) return profile_drift(c, a);
    return die_usage(c, "say build, show USER, export or drift");
}

/* ---- tag ---------------------------------------------------------------------- */

const optspec_t TAG_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

int cmd_tag(const command_t *c, const args_t *a) {
    int rc;
    int apply = a->npos == 2 && strcmp(a->pos[0], "apply") == 0;
    if (!apply && !(a->npos == 1 && strcmp(a->pos[0], "list") == 0))
        return die_usage(c, "say apply FILE or list");
    tl_errbuf_t eb = {{0}};
    char *rules = NULL;
    if (apply && (rc = tl_read_file(a->pos[1], &rules, NULL))) {
        return cli_fail("tag apply", EXIT_FAIL, rc, "%s: cannot read the file", a->pos[1]);
    }
    tl_store_t *st;
    tl_tag_summary_t sum[64];
    int ntags = 0, line = 0;
    tl_expr_err_t err;
    char *applied = NULL;
    rc = cli_store_open(data_dir(a), apply ? 0 : TL_STORE_READONLY, &st, &eb);
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
                 apply ? a->pos[1] : "stored rules", line, msg);
        rc = -1;
    }
    tl_store_close(st);
    free(rules);
    if (rc == -1) return EXIT_USAGE;
    if (rc) return fail_err("tag", rc, &eb);
    if (opt(c, a, "json")) {
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
