/* segment.c -- rule segments over the profile columns (through the
 * expression language), the rule for their names and their keeping, their
 * overlaps, and RFM scoring with the named RFM segments (see segment.h
 * for the scoring rule and the grid). Tags from rule files are in
 * segment_tags.c, k-means clusters in segment_cluster.c. */
#include "segment.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tl_rfm_name(int s) {
    static const char *const names[] = {
#define XX(c, n, code) n,
        TL_RFM_SEGMENTS(XX)
#undef XX
    };
    return s >= 0 && s < TL_RFM__N ? names[s] : "";
}

cJSON *tl_rfm_json(const tl_rfm_t *r) {
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "segments");
    cJSON_AddNumberToObject(j, "customers", r->customers);
    for (int s = 0; s < TL_RFM__N; s++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", tl_rfm_name(s));
        cJSON_AddStringToObject(o, "code", tl_rfm_code(s));
        cJSON_AddNumberToObject(o, "size", r->seg[s].size);
        cJSON_AddNumberToObject(o, "share", r->customers ? (double)r->seg[s].size / r->customers : 0);
        cJSON_AddNumberToObject(o, "recency_days", r->seg[s].recency_days);
        cJSON_AddNumberToObject(o, "orders", r->seg[s].orders);
        cJSON_AddNumberToObject(o, "monetary", r->seg[s].monetary);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON *grid = cJSON_AddArrayToObject(j, "grid");
    for (int i = 4; i >= 0; i--) {
        cJSON *row = cJSON_CreateArray();
        for (int k = 0; k < 5; k++) cJSON_AddItemToArray(row, cJSON_CreateNumber(r->grid[i][k]));
        cJSON_AddItemToArray(grid, row);
    }
    return j;
}

const char *tl_rfm_code(int s) {
    static const char *const codes[] = {
#define XX(c, n, code) code,
        TL_RFM_SEGMENTS(XX)
#undef XX
    };
    return s >= 0 && s < TL_RFM__N ? codes[s] : "";
}

/* GRID[R-1][FM-1] */
static const uint8_t GRID[5][5] = {
    {TL_RFM_LOST, TL_RFM_HIBERNATING, TL_RFM_AT_RISK, TL_RFM_CANT_LOSE, TL_RFM_CANT_LOSE},
    {TL_RFM_LOST, TL_RFM_HIBERNATING, TL_RFM_AT_RISK, TL_RFM_AT_RISK, TL_RFM_AT_RISK},
    {TL_RFM_ABOUT_TO_SLEEP, TL_RFM_ABOUT_TO_SLEEP, TL_RFM_NEED_ATTENTION, TL_RFM_LOYAL, TL_RFM_LOYAL},
    {TL_RFM_PROMISING, TL_RFM_POTENTIAL, TL_RFM_LOYAL, TL_RFM_CHAMPIONS, TL_RFM_CHAMPIONS},
    {TL_RFM_NEW, TL_RFM_POTENTIAL, TL_RFM_LOYAL, TL_RFM_CHAMPIONS, TL_RFM_CHAMPIONS},
};

typedef struct {
    double v;
    uint32_t u;
} kv_t;

static int cmp_kv(const void *a, const void *b) {
    const kv_t *x = a, *y = b;
    return (x->v > y->v) - (x->v < y->v);
}

/* Quintile scores of v over the users in kv[0..n) (filled with their
 * values), written to score[user]. */
static void quintiles(kv_t *kv, uint32_t n, uint8_t *score, int reverse) {
    qsort(kv, n, sizeof *kv, cmp_kv);
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && kv[j].v == kv[i].v) j++;
        int s = 1 + (int)((5.0 * i) / n); /* ties take the rank of the first of them */
        if (s > 5) s = 5;
        for (uint32_t k = i; k < j; k++) score[kv[k].u] = (uint8_t)(reverse ? 6 - s : s);
        i = j;
    }
}

int tl_segment_rfm(const tl_profiles_t *p, tl_rfm_t *out) {
    memset(out, 0, sizeof *out);
    int cr = tl_profile_col_find(p, "days_since_purchase"), cf = tl_profile_col_find(p, "orders"),
        cm = tl_profile_col_find(p, "monetary");
    if (cr < 0 || cf < 0 || cm < 0) return TL_EINVAL;
    const double *rec = tl_profile_col_data(p, cr), *mon = tl_profile_col_data(p, cm);
    const uint32_t *ord = tl_profile_col_data(p, cf);
    uint32_t n = tl_profile_nusers(p), k = 0;
    out->n = n;
    out->r = calloc(n ? n : 1, 1);
    out->f = calloc(n ? n : 1, 1);
    out->m = calloc(n ? n : 1, 1);
    out->segment = malloc((n ? n : 1) * sizeof *out->segment);
    kv_t *kv = malloc((n ? n : 1) * sizeof *kv);
    if (!out->r || !out->f || !out->m || !out->segment || !kv) {
        free(kv);
        tl_rfm_fini(out);
        return TL_ENOMEM;
    }
    for (uint32_t u = 0; u < n; u++) out->segment[u] = TL_NONE;
    for (uint32_t u = 0; u < n; u++)
        if (ord[u] >= 1 && ord[u] != TL_NONE && !isnan(rec[u]) && tl_profile_kept(p, u))
            kv[k++] = (kv_t){rec[u], u};
    out->customers = k;
    quintiles(kv, k, out->r, 1);
    for (uint32_t i = 0; i < k; i++) kv[i].v = ord[kv[i].u];
    quintiles(kv, k, out->f, 0);
    for (uint32_t i = 0; i < k; i++) kv[i].v = mon[kv[i].u];
    quintiles(kv, k, out->m, 0);
    for (uint32_t i = 0; i < k; i++) {
        uint32_t u = kv[i].u;
        int fm = (out->f[u] + out->m[u] + 1) / 2; /* the mean, rounded half up */
        int s = GRID[out->r[u] - 1][fm - 1];
        out->segment[u] = (uint32_t)s;
        out->grid[out->r[u] - 1][fm - 1]++;
        tl_rfm_segment_t *g = &out->seg[s];
        g->size++;
        g->recency_days += rec[u];
        g->orders += ord[u];
        g->monetary += mon[u];
    }
    for (int s = 0; s < TL_RFM__N; s++) {
        tl_rfm_segment_t *g = &out->seg[s];
        if (g->size) g->recency_days /= g->size, g->orders /= g->size, g->monetary /= g->size;
    }
    free(kv);
    return 0;
}

void tl_rfm_fini(tl_rfm_t *r) {
    free(r->r);
    free(r->f);
    free(r->m);
    free(r->segment);
    memset(r, 0, sizeof *r);
}

/* ---- rule segments ------------------------------------------------------------ */

struct tl_segtable {
    const tl_profiles_t *p;
    tl_store_t *st;
    tl_expr_table_t t;
    uint32_t **counts; /* columns made by count() */
    int ncounts;
};

static int seg_lookup(void *ctx, const char *name, tl_expr_col_t *out) {
    tl_segtable_t *s = ctx;
    int c = tl_profile_col_find(s->p, name);
    if (c < 0) return TL_ENOENT;
    memset(out, 0, sizeof *out);
    tl_coltype_t type = tl_profile_col_type(s->p, c);
    const void *data = tl_profile_col_data(s->p, c);
    if (type == TL_COL_NUM) {
        out->type = TL_EXPR_NUM;
        out->num = data;
    } else if (type == TL_COL_CAT) {
        out->type = TL_EXPR_CAT;
        out->u32 = data;
        out->labels = tl_profile_col_labels(s->p, c);
    } else {
        /* counts are numbers; the counts of yes/no tags are conditions */
        out->type = strncmp(name, "tag_", 4) == 0 ? TL_EXPR_BOOL : TL_EXPR_NUM;
        out->u32 = data;
    }
    return 0;
}

typedef struct {
    uint32_t *col, n;
    uint8_t type;
    int64_t from, to;
} count_ctx_t;

static int count_block(const tl_evblock_t *b, void *arg) {
    count_ctx_t *c = arg;
    for (uint32_t i = 0; i < b->n; i++)
        if (b->type[i] == c->type && b->ts[i] > c->from && b->ts[i] <= c->to && b->user[i] < c->n)
            c->col[b->user[i]]++;
    return 0;
}

/* count(type, days): events of the type per user in the days before the
 * profiles' time, from one scan of the log. */
static int seg_count(void *ctx, const char *type, double days, tl_expr_col_t *out) {
    tl_segtable_t *s = ctx;
    if (!s->st) return TL_EINVAL;
    tl_errbuf_t eb = {{0}};
    tl_dict_t *types = tl_store_dict(s->st, TL_D_TYPE, &eb);
    if (!types) return TL_ENOMEM;
    uint32_t t = tl_dict_find(types, type, strlen(type));
    if (t == TL_NONE) return TL_ENOENT;
    uint32_t n = tl_profile_nusers(s->p);
    uint32_t **nc = realloc(s->counts, (size_t)(s->ncounts + 1) * sizeof *nc);
    if (!nc) return TL_ENOMEM;
    s->counts = nc;
    uint32_t *col = calloc(n ? n : 1, sizeof *col);
    if (!col) return TL_ENOMEM;
    s->counts[s->ncounts++] = col;
    int64_t to = tl_profile_as_of(s->p);
    count_ctx_t c = {col, n, (uint8_t)t, to - (int64_t)(days * (double)TL_MS_PER_DAY), to};
    int rc = tl_store_scan_columns(s->st, TL_EVC_USER | TL_EVC_TS | TL_EVC_TYPE, count_block, &c, &eb);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    out->type = TL_EXPR_NUM;
    out->u32 = col;
    return 0;
}

int tl_segtable_new(const tl_profiles_t *p, tl_store_t *st, tl_segtable_t **out) {
    tl_segtable_t *s = calloc(1, sizeof *s);
    if (!s) return TL_ENOMEM;
    s->p = p;
    s->st = st;
    s->t.nrows = tl_profile_nusers(p);
    s->t.ctx = s;
    s->t.lookup = seg_lookup;
    s->t.count = st ? seg_count : NULL;
    *out = s;
    return 0;
}

void tl_segtable_free(tl_segtable_t *s) {
    if (!s) return;
    for (int i = 0; i < s->ncounts; i++) free(s->counts[i]);
    free(s->counts);
    free(s);
}

const tl_expr_table_t *tl_segtable_expr(tl_segtable_t *s) { return &s->t; }

int tl_segment_eval(tl_segtable_t *s, const char *src, uint8_t *mask, uint32_t *size,
                    tl_expr_err_t *err) {
    tl_expr_t *e;
    int rc = tl_expr_compile(src, &s->t, &e, err);
    if (rc) return rc;
    if (tl_expr_type(e) != TL_EXPR_BOOL) {
        tl_expr_free(e);
        err->pos = 0;
        snprintf(err->msg, sizeof err->msg, "a segment needs a condition (a comparison), not a number");
        return TL_EBADINPUT;
    }
    rc = tl_expr_eval_bool(e, mask);
    tl_expr_free(e);
    /* users who withdrew profiling, and identifiers merged into another's
     * person, are in no segment */
    uint32_t k = 0;
    for (uint32_t u = 0; u < s->t.nrows; u++) k += mask[u] &= (uint8_t)tl_profile_kept(s->p, u);
    *size = k;
    return rc;
}

int tl_segment_overlaps(tl_segtable_t *t, uint32_t nusers, const char *const *exprs, int n,
                        uint32_t *sizes, uint32_t *pairs, int *bad, tl_expr_err_t *err) {
    size_t words = (size_t)nusers / 64 + 1;
    uint8_t *mask = malloc((size_t)nusers + 1);
    uint64_t *bits = calloc((size_t)(n ? n : 1) * words, 8);
    int rc = mask && bits ? 0 : TL_ENOMEM;
    for (int i = 0; !rc && i < n; i++) {
        rc = tl_segment_eval(t, exprs[i], mask, &sizes[i], err);
        if (rc == TL_EBADINPUT) *bad = i;
        for (uint32_t u = 0; !rc && u < nusers; u++)
            if (mask[u]) bits[(size_t)i * words + u / 64] |= 1ULL << (u % 64);
    }
    for (int i = 0; !rc && i < n; i++)
        for (int j = i; j < n; j++) {
            uint64_t k = 0;
            for (size_t w = 0; w < words; w++)
                k += (uint64_t)__builtin_popcountll(bits[(size_t)i * words + w] & bits[(size_t)j * words + w]);
            pairs[i * n + j] = pairs[j * n + i] = (uint32_t)k;
        }
    free(mask), free(bits);
    return rc;
}

int tl_segment_name_check(const char *name, tl_errbuf_t *eb) {
    size_t n = strlen(name);
    int ok = n >= 1 && n <= TL_SEGMENT_NAME_MAX;
    for (const char *q = name; ok && *q; q++)
        ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
             *q == '_' || *q == '-';
    if (ok) return 0;
    /* the name is not repeated: it may hold anything */
    tl_errbuf_set(eb, "segment names are 1 to %d letters, digits, _ and -", TL_SEGMENT_NAME_MAX);
    return TL_EBADINPUT;
}

int tl_segment_define(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb) {
    int rc = tl_segment_name_check(name, eb);
    return rc ? rc : tl_store_segment_put(st, name, expr, eb);
}

void tl_segment_overlap(const uint8_t *a, const uint8_t *b, uint32_t n, tl_overlap_t *o) {
    memset(o, 0, sizeof *o);
    for (uint32_t u = 0; u < n; u++) {
        o->a += a[u];
        o->b += b[u];
        o->both += a[u] & b[u];
        o->either += a[u] | b[u];
    }
    o->jaccard = o->either ? (double)o->both / o->either : 0;
}
