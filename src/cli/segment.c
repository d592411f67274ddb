/* segment.c -- `segment create|list|size|show|export|overlap|delete|rfm|
 * cluster`: rule segments over the built profiles, their sizes, members
 * and overlaps, the RFM segments and k-means clusters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "profile/profile.h"

/* ---- segment ---------------------------------------------------------------- */

const optspec_t SEGMENT_OPTS[] = {
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
    tl_errbuf_t eb = {{0}};
    if (tl_segment_name_check(name, &eb)) return die_usage(c, "%s", eb.msg);
    segctx_t x;
    int rc = segctx_open(a, 1, &x, &eb);
    if (rc) return fail_err("segment create", rc, &eb);
    uint8_t *mask;
    uint32_t size;
    rc = seg_mask(&x, "segment create", where, &mask, &size);
    if (!rc) {
        int r = tl_segment_define(x.st, name, where, &eb);
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
    int rc = open_store("segment rfm", a, TL_STORE_READONLY, &st, &eb);
    if (rc) return rc;
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
        cJSON *j = tl_rfm_json(&r);
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
    rc = cli_store_open(data_dir(a), 0, &st, &eb);
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

int cmd_segment(const command_t *c, const args_t *a) {
    const char *sub = a->npos ? a->pos[0] : "";
    if (a->npos == 1 && strcmp(sub, "rfm") == 0) return segment_rfm(c, a);
    if (a->npos == 1 && strcmp(sub, "list") == 0) return segment_list(c, a);
    if (a->npos == 1 && strcmp(sub, "cluster") == 0) return segment_cluster(c, a);
    if (a->npos == 2 && strcmp(sub, "create") == 0) return segment_create(c, a, a->pos[1]);
    if (a->npos == 2 && strcmp(sub, "size") == 0) return segment_size_show(c, a, a->pos[1], 0);
    if (a->npos == 2 && strcmp(sub, "show") == 0) return segment_size_show(c, a, a->pos[1], 1);
    if (a->npos == 2 && strcmp(sub, "export") == 0) return segment_export(c, a, a->pos[1]);
    if (a->npos == 3 && strcmp(sub, "overlap") == 0) return segment_overlap(c, a, a->pos[1], a->pos[2]);
    if (a->npos == 2 && strcmp(sub, "delete") == 0) {
        tl_errbuf_t eb = {{0}};
        tl_store_t *st;
        int rc = cli_store_open(data_dir(a), 0, &st, &eb);
        if (!rc) rc = tl_store_segment_delete(st, a->pos[1], &eb);
        tl_store_close(st);
        return rc ? fail_err("segment delete", rc, &eb) : EXIT_OK;
    }
    return die_usage(c, "say create NAME --where EXPR, list, size NAME, show NAME, export NAME, "
                        "overlap A B, delete NAME, rfm or cluster");
}
