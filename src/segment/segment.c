/* segment.c -- rule segments over the profile columns (through the
 * expression language), their overlaps, and RFM scoring with the named RFM
 * segments (see segment.h for the scoring rule and the grid). */
#include "segment.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tl_rfm_name(int s) {
    static const char *const names[] = {
#define XX(c, n) n,
        TL_RFM_SEGMENTS(XX)
#undef XX
    };
    return s >= 0 && s < TL_RFM__N ? names[s] : "";
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
        if (ord[u] >= 1 && ord[u] != TL_NONE && !isnan(rec[u]) && !tl_profile_withdrawn(p, u))
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
    /* users who withdrew profiling are in no segment */
    uint32_t k = 0;
    for (uint32_t u = 0; u < s->t.nrows; u++) k += mask[u] &= (uint8_t)!tl_profile_withdrawn(s->p, u);
    *size = k;
    return rc;
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

/* ---- tags ------------------------------------------------------------------------ */

#define MAX_TAG_VALUES 16

typedef struct {
    char name[64];
    int categorical, nrules;
    char *value[MAX_TAG_VALUES]; /* category tags: the value of each rule */
    char *expr[MAX_TAG_VALUES];
    int line[MAX_TAG_VALUES], col[MAX_TAG_VALUES];
} tagdef_t;

static void tagdefs_free(tagdef_t *d, int n) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < d[i].nrules; k++) free(d[i].value[k]), free(d[i].expr[k]);
    free(d);
}

static int rule_error(tl_expr_err_t *err, int pos, const char *msg) {
    err->pos = pos;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return TL_EBADINPUT;
}

/* Parses one "tag NAME = ..." line into defs. */
static int parse_rule(const char *l, int lineno, tagdef_t **defs, int *ndefs, tl_expr_err_t *err) {
    const char *p = l;
    while (*p == ' ' || *p == '\t') p++;
    if (strncmp(p, "tag", 3) != 0 || (p[3] != ' ' && p[3] != '\t'))
        return rule_error(err, (int)(p - l), "a rule starts with 'tag NAME ='");
    p += 3;
    while (*p == ' ' || *p == '\t') p++;
    const char *name = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') p++;
    size_t nl = (size_t)(p - name);
    if (!nl || nl >= 64) return rule_error(err, (int)(name - l), "a tag name is 1-63 of a-z, 0-9, _");
    while (*p == ' ' || *p == '\t') p++;
    if (*p != '=') return rule_error(err, (int)(p - l), "expected '=' after the tag name");
    p++;
    while (*p == ' ' || *p == '\t') p++;
    char *value = NULL;
    const char *expr = p;
    if (*p == '"') { /* "VALUE" if EXPR */
        const char *v = p + 1, *e = strchr(v, '"');
        if (!e) return rule_error(err, (int)(p - l), "this value is never closed");
        const char *q = e + 1;
        while (*q == ' ' || *q == '\t') q++;
        if (strncmp(q, "if", 2) != 0 || (q[2] != ' ' && q[2] != '\t'))
            return rule_error(err, (int)(q - l), "a category tag reads: tag NAME = \"VALUE\" if CONDITION");
        value = strndup(v, (size_t)(e - v));
        expr = q + 3;
        if (!value) return TL_ENOMEM;
    }
    tagdef_t *d = NULL;
    for (int i = 0; i < *ndefs; i++)
        if (strlen((*defs)[i].name) == nl && strncmp((*defs)[i].name, name, nl) == 0) d = &(*defs)[i];
    if (!d) {
        tagdef_t *nd = realloc(*defs, (size_t)(*ndefs + 1) * sizeof *nd);
        if (!nd) {
            free(value);
            return TL_ENOMEM;
        }
        *defs = nd;
        d = &nd[(*ndefs)++];
        memset(d, 0, sizeof *d);
        memcpy(d->name, name, nl);
        d->categorical = value != NULL;
    } else if (!d->categorical || !value) {
        free(value);
        return rule_error(err, (int)(name - l), "a yes/no tag has one rule; a category tag has "
                                               "\"VALUE\" if CONDITION on each of its lines");
    }
    if (d->nrules == MAX_TAG_VALUES) {
        free(value);
        return rule_error(err, (int)(name - l), "a category tag has at most 16 values");
    }
    d->value[d->nrules] = value;
    d->expr[d->nrules] = strdup(expr);
    d->line[d->nrules] = lineno;
    d->col[d->nrules] = (int)(expr - l);
    d->nrules++;
    (void)lineno;
    return d->expr[d->nrules - 1] ? 0 : TL_ENOMEM;
}

int tl_tags_apply(tl_segtable_t *t, tl_profiles_t *p, const char *rules, tl_tag_summary_t *summary,
                  int cap, int *ntags, int *line, tl_expr_err_t *err) {
    tagdef_t *defs = NULL;
    int ndefs = 0, rc = 0;
    *line = 0;
    *ntags = 0;
    memset(err, 0, sizeof *err);
    /* parse every line first: a bad file changes nothing */
    const char *s = rules;
    for (int lineno = 1; !rc && *s; lineno++) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char *l = strndup(s, n);
        if (!l) {
            rc = TL_ENOMEM;
            break;
        }
        char *hash = strchr(l, '#');
        if (hash) *hash = 0;
        size_t k = strlen(l);
        while (k && (l[k - 1] == ' ' || l[k - 1] == '\t' || l[k - 1] == '\r')) l[--k] = 0;
        const char *q = l;
        while (*q == ' ' || *q == '\t') q++;
        if (*q) rc = parse_rule(l, lineno, &defs, &ndefs, err);
        if (rc) *line = lineno;
        free(l);
        s += n + (e ? 1 : 0);
    }
    uint32_t n = tl_profile_nusers(p);
    if (!rc) tl_profile_drop_columns(p, "tag_");
    uint8_t *mask = malloc(n ? n : 1);
    if (!rc && !mask) rc = TL_ENOMEM;
    for (int i = 0; !rc && i < ndefs; i++) {
        tagdef_t *d = &defs[i];
        uint32_t *col = malloc((n ? n : 1) * sizeof *col);
        tl_dict_t *labels = d->categorical ? tl_dict_new() : NULL;
        if (!col || (d->categorical && !labels)) {
            free(col);
            tl_dict_free(labels);
            rc = TL_ENOMEM;
            break;
        }
        for (uint32_t u = 0; u < n; u++) col[u] = d->categorical ? TL_NONE : 0;
        tl_tag_summary_t *sm = i < cap && summary ? &summary[i] : NULL;
        if (sm) {
            memset(sm, 0, sizeof *sm);
            snprintf(sm->name, sizeof sm->name, "%s", d->name);
            sm->categorical = d->categorical;
        }
        for (int r = 0; !rc && r < d->nrules; r++) {
            uint32_t size, code = 1, cnt = 0;
            if (d->categorical && tl_dict_intern(labels, d->value[r], strlen(d->value[r]), &code, NULL))
                rc = TL_ENOMEM;
            if (!rc) rc = tl_segment_eval(t, d->expr[r], mask, &size, err);
            if (rc) {
                *line = d->line[r];
                err->pos += d->col[r];
                break;
            }
            for (uint32_t u = 0; u < n; u++)
                if (mask[u] && (!d->categorical || col[u] == TL_NONE)) {
                    if (d->categorical) col[u] = code, cnt++;
                    else col[u] = 1, cnt++;
                }
            if (sm && d->categorical && r < 16) {
                snprintf(sm->values[sm->nvalues], sizeof sm->values[0], "%s", d->value[r]);
                sm->counts[sm->nvalues++] = cnt;
            } else if (sm) {
                sm->yes = cnt;
            }
        }
        char cname[80];
        snprintf(cname, sizeof cname, "tag_%s", d->name);
        if (rc) {
            free(col);
            tl_dict_free(labels);
        } else {
            rc = tl_profile_set_column(p, cname, d->categorical ? TL_COL_CAT : TL_COL_COUNT, col, labels);
        }
        if (!rc) (*ntags)++;
    }
    free(mask);
    tagdefs_free(defs, ndefs);
    return rc;
}

int tl_tags_apply_stored(tl_store_t *st, tl_profiles_t *p, tl_errbuf_t *eb) {
    char *rules = NULL;
    int rc = tl_store_config_get(st, "tag_rules", &rules, eb);
    if (rc == TL_ENOENT) return 0;
    if (rc) return rc;
    tl_segtable_t *t = NULL;
    int ntags = 0, line = 0;
    tl_expr_err_t err;
    rc = tl_segtable_new(p, st, &t);
    if (!rc) rc = tl_tags_apply(t, p, rules, NULL, 0, &ntags, &line, &err);
    tl_segtable_free(t);
    free(rules);
    if (rc == TL_EBADINPUT)
        tl_errbuf_set(eb, "%s: the stored tag rules no longer apply (line %d: %s); run `tailor tag "
                      "apply FILE` again", tl_store_dir(st), line, err.msg);
    else if (rc && !eb->msg[0])
        tl_errbuf_set(eb, "%s: applying the stored tag rules: %s", tl_store_dir(st), tl_strerror(rc));
    return rc;
}

int tl_tags_keep(tl_store_t *st, const char *rules, tl_tag_summary_t *summary, int cap, int *ntags,
                 int *line, tl_expr_err_t *err, char **rules_out, tl_errbuf_t *eb) {
    char *text = NULL;
    tl_profiles_t *p = NULL;
    tl_segtable_t *t = NULL;
    *ntags = *line = 0;
    memset(err, 0, sizeof *err);
    int rc = rules ? ((text = strdup(rules)) ? 0 : TL_ENOMEM) : tl_store_config_get(st, "tag_rules", &text, eb);
    if (rc == TL_ENOENT) {
        eb->msg[0] = 0;
        rc = (text = strdup("")) ? 0 : TL_ENOMEM;
    }
    if (!rc) rc = tl_profile_load(st, &p, eb);
    if (!rc) rc = tl_segtable_new(p, st, &t);
    if (!rc) rc = tl_tags_apply(t, p, text, summary, cap, ntags, line, err);
    if (!rc && rules) rc = tl_store_config_put(st, "tag_rules", text, eb);
    if (!rc && rules) rc = tl_profile_save(st, p, eb);
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory applying the tag rules");
    tl_segtable_free(t);
    tl_profile_free(p);
    if (rules_out) *rules_out = text;
    else free(text);
    return rc;
}

/* ---- building profiles ---------------------------------------------------------------- */

int tl_segment_profiles_derive(tl_store_t *st, tl_profiles_t *p, tl_errbuf_t *eb) {
    return tl_tags_apply_stored(st, p, eb);
}

int tl_segment_profiles_build(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                              tl_errbuf_t *eb) {
    tl_profiles_t *p = NULL;
    int rc = tl_profile_build(st, o, &p, eb);
    if (!rc) rc = tl_segment_profiles_derive(st, p, eb);
    if (rc) {
        tl_profile_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- k-means ------------------------------------------------------------------------ */

/* The assignment step keeps Hamerly's bounds per point: an upper bound on
 * the distance to its own centre and a lower bound on the distance to any
 * other. When the centres move, the bounds are loosened by how far they
 * moved; a point whose upper bound stays below both its lower bound and
 * half the distance from its centre to the nearest other centre cannot
 * change cluster, and costs no distance at all. Most points stop changing
 * after a few iterations, so later iterations are cheap. */
typedef struct {
    const double *x, *c;
    const double *half;  /* per centre: half the distance to the nearest other */
    const double *cc;    /* k x k distances between centres */
    const double *moved; /* per centre: how far it moved in the last update */
    double max_moved;
    uint32_t d, k, from, to;
    uint32_t *labels;
    double *upper, *lower;
    double inertia;
    uint32_t changed;
    int first;
    /* what the moves of this half do to the clusters' sums and counts */
    double *dsum;
    int64_t *dcnt;
} assign_job_t;

static double dist2(const double *p, const double *q, uint32_t d) {
    double s = 0;
    for (uint32_t t = 0; t < d; t++) {
        double v = p[t] - q[t];
        s += v * v;
    }
    return s;
}

static void *assign_part(void *arg) {
    assign_job_t *j = arg;
    j->changed = 0;
    for (uint32_t i = j->from; i < j->to; i++) {
        const double *p = j->x + (size_t)i * j->d;
        uint32_t a = j->labels[i];
        if (!j->first) {
            j->upper[i] += j->moved[a];
            j->lower[i] -= j->max_moved;
            double bound = j->lower[i] > j->half[a] ? j->lower[i] : j->half[a];
            if (j->upper[i] <= bound) continue;
            j->upper[i] = sqrt(dist2(p, j->c + (size_t)a * j->d, j->d));
            if (j->upper[i] <= bound) continue;
        }
        double best = INFINITY, second = INFINITY;
        uint32_t bl = 0;
        if (!j->first) {
            /* start from the own centre (u is exact now) and skip every
             * centre at least 2u away from it: it cannot be nearer */
            best = j->upper[i] * j->upper[i];
            bl = a;
        }
        for (uint32_t c = 0; c < j->k; c++) {
            if (!j->first && (c == a || j->cc[(size_t)a * j->k + c] >= 2 * j->upper[i])) {
                /* still a lower bound on the second nearest */
                if (c != a) {
                    double lb = j->cc[(size_t)a * j->k + c] - j->upper[i];
                    if (lb * lb < second) second = lb * lb;
                }
                continue;
            }
            double s2 = dist2(p, j->c + (size_t)c * j->d, j->d);
            if (s2 < best) second = best, best = s2, bl = c;
            else if (s2 < second) second = s2;
        }
        if (j->first || bl != a) {
            j->changed++;
            if (!j->first) {
                j->dcnt[a]--;
                for (uint32_t t = 0; t < j->d; t++) j->dsum[(size_t)a * j->d + t] -= p[t];
            }
            j->dcnt[bl]++;
            for (uint32_t t = 0; t < j->d; t++) j->dsum[(size_t)bl * j->d + t] += p[t];
        }
        j->labels[i] = bl;
        j->upper[i] = sqrt(best);
        j->lower[i] = sqrt(second);
    }
    return NULL;
}

static void *inertia_part(void *arg) {
    assign_job_t *j = arg;
    j->inertia = 0;
    for (uint32_t i = j->from; i < j->to; i++)
        j->inertia += dist2(j->x + (size_t)i * j->d, j->c + (size_t)j->labels[i] * j->d, j->d);
    return NULL;
}

/* Runs fn over the points on two threads (one for small inputs). */
static void both_halves(assign_job_t j[2], void *(*fn)(void *), uint32_t n) {
    pthread_t th;
    int threaded = n > 20000 && pthread_create(&th, NULL, fn, &j[1]) == 0;
    fn(&j[0]);
    if (threaded) pthread_join(th, NULL);
    else fn(&j[1]);
}

static int kmeans_once(const double *x, uint32_t n, uint32_t d, uint32_t k, uint32_t max_iter,
                       double tol, tl_rng_t *rng, uint32_t *labels, double *c, double *inertia,
                       uint32_t *iters) {
    double *dist = malloc((size_t)n * sizeof *dist), *sum = calloc((size_t)k * d, sizeof *sum);
    if (!dist || !sum) {
        free(dist), free(sum);
        return TL_ENOMEM;
    }
    /* k-means++: each next centre drawn with probability ~ squared distance
     * to the nearest centre so far */
    uint32_t first = tl_rng_below(rng, n);
    memcpy(c, x + (size_t)first * d, d * sizeof *c);
    for (uint32_t i = 0; i < n; i++) {
        double s = 0;
        for (uint32_t t = 0; t < d; t++) s += (x[(size_t)i * d + t] - c[t]) * (x[(size_t)i * d + t] - c[t]);
        dist[i] = s;
    }
    for (uint32_t m = 1; m < k; m++) {
        double total = 0;
        for (uint32_t i = 0; i < n; i++) total += dist[i];
        double r = tl_rng_uniform(rng) * total, acc = 0;
        uint32_t pick = n - 1;
        for (uint32_t i = 0; i < n; i++) {
            acc += dist[i];
            if (acc > r) {
                pick = i;
                break;
            }
        }
        double *cm = c + (size_t)m * d;
        memcpy(cm, x + (size_t)pick * d, d * sizeof *c);
        for (uint32_t i = 0; i < n; i++) {
            double s = 0;
            for (uint32_t t = 0; t < d; t++) s += (x[(size_t)i * d + t] - cm[t]) * (x[(size_t)i * d + t] - cm[t]);
            if (s < dist[i]) dist[i] = s;
        }
    }
    double *upper = malloc((size_t)n * sizeof *upper), *lower = malloc((size_t)n * sizeof *lower);
    double *half = malloc(k * sizeof *half), *moved = calloc(k, sizeof *moved);
    double *cc = malloc((size_t)k * k * sizeof *cc);
    if (!upper || !lower || !half || !moved || !cc) {
        free(cc);
        free(upper), free(lower), free(half), free(moved), free(dist), free(sum);
        return TL_ENOMEM;
    }
    assign_job_t j[2];
    double *dsum = calloc((size_t)2 * k * d, sizeof *dsum);
    int64_t *dcnt = calloc((size_t)2 * k, sizeof *dcnt), *total = calloc(k, sizeof *total);
    if (!dsum || !dcnt || !total) {
        free(dsum), free(dcnt), free(total);
        free(upper), free(lower), free(half), free(moved), free(dist), free(sum);
        return TL_ENOMEM;
    }
    for (int h = 0; h < 2; h++)
        j[h] = (assign_job_t){.x = x, .c = c, .half = half, .cc = cc, .moved = moved, .d = d, .k = k,
                              .from = h ? n / 2 : 0, .to = h ? n : n / 2, .labels = labels,
                              .upper = upper, .lower = lower, .first = 1,
                              .dsum = dsum + (size_t)h * k * d, .dcnt = dcnt + (size_t)h * k};
    uint32_t it = 0;
    double in = 0;
    while (it < max_iter) {
        /* distances between centres, and half of each one's nearest */
        for (uint32_t m = 0; m < k; m++) {
            double best = INFINITY;
            for (uint32_t o = 0; o < k; o++) {
                cc[(size_t)m * k + o] = sqrt(dist2(c + (size_t)m * d, c + (size_t)o * d, d));
                if (o != m && cc[(size_t)m * k + o] < best) best = cc[(size_t)m * k + o];
            }
            half[m] = k > 1 ? best / 2 : INFINITY;
        }
        memset(dsum, 0, (size_t)2 * k * d * sizeof *dsum);
        memset(dcnt, 0, (size_t)2 * k * sizeof *dcnt);
        both_halves(j, assign_part, n);
        uint32_t changed = j[0].changed + j[1].changed;
        j[0].first = j[1].first = 0;
        it++;
        if (!changed) break;
        /* the sums follow the points that moved, not all of them */
        for (uint32_t m = 0; m < k; m++) {
            total[m] += dcnt[m] + dcnt[k + m];
            for (uint32_t t = 0; t < d; t++)
                sum[(size_t)m * d + t] += dsum[(size_t)m * d + t] + dsum[(size_t)(k + m) * d + t];
        }
        double shift = 0, max_moved = 0;
        for (uint32_t m = 0; m < k; m++) {
            moved[m] = 0;
            if (total[m] <= 0) continue; /* an empty cluster keeps its centre */
            double mv = 0;
            for (uint32_t t = 0; t < d; t++) {
                double nv = sum[(size_t)m * d + t] / (double)total[m], dv = nv - c[(size_t)m * d + t];
                mv += dv * dv;
                c[(size_t)m * d + t] = nv;
            }
            shift += mv;
            moved[m] = sqrt(mv);
            if (moved[m] > max_moved) max_moved = moved[m];
        }
        j[0].max_moved = j[1].max_moved = max_moved;
        /* Converged when the centres moved less than tol times the mean
         * variance of the data, as scikit-learn decides; a last assignment
         * makes the labels match the final centres. */
        if (shift <= tol) {
            both_halves(j, assign_part, n);
            break;
        }
    }
    free(dsum), free(dcnt), free(total);
    both_halves(j, inertia_part, n);
    in = j[0].inertia + j[1].inertia;
    free(upper), free(lower), free(half), free(moved), free(cc);
    *inertia = in;
    *iters = it;
    free(dist), free(sum);
    return 0;
}

int tl_kmeans(const double *x, uint32_t n, uint32_t d, const tl_kmeans_opts_t *o, uint32_t *labels,
              double *centers, double *inertia, uint32_t *iterations) {
    uint32_t k = o->k;
    if (!n || !d || k < 1 || k > n) return TL_EINVAL;
    uint32_t *lab = malloc((size_t)n * sizeof *lab);
    double *c = malloc((size_t)k * d * sizeof *c);
    if (!lab || !c) {
        free(lab), free(c);
        return TL_ENOMEM;
    }
    tl_rng_t rng;
    tl_rng_seed(&rng, o->seed);
    *inertia = INFINITY;
    /* tol = 1e-4 times the mean variance of the features */
    double tol = 0;
    for (uint32_t t = 0; t < d; t++) {
        double m = 0, v = 0;
        for (uint32_t i = 0; i < n; i++) m += x[(size_t)i * d + t];
        m /= n;
        for (uint32_t i = 0; i < n; i++) v += (x[(size_t)i * d + t] - m) * (x[(size_t)i * d + t] - m);
        tol += v / n;
    }
    tol = 1e-4 * tol / d;
    int rc = 0;
    for (uint32_t r = 0; !rc && r < (o->n_init ? o->n_init : 1); r++) {
        double in;
        uint32_t it;
        rc = kmeans_once(x, n, d, k, o->max_iter ? o->max_iter : 300, tol, &rng, lab, c, &in, &it);
        if (!rc && in < *inertia) {
            *inertia = in;
            *iterations = it;
            memcpy(labels, lab, (size_t)n * sizeof *lab);
            memcpy(centers, c, (size_t)k * d * sizeof *c);
        }
    }
    free(lab), free(c);
    return rc;
}

double tl_silhouette(const double *x, uint32_t n, uint32_t d, const uint32_t *labels, uint32_t k,
                     uint32_t sample) {
    if (k < 2 || n < 2) return 0;
    uint32_t m = sample && sample < n ? sample : n;
    uint32_t *idx = malloc(m * sizeof *idx), *cnt = calloc(k, sizeof *cnt);
    double *sum = malloc(k * sizeof *sum);
    if (!idx || !cnt || !sum) {
        free(idx), free(cnt), free(sum);
        return NAN;
    }
    /* the sample, and its cluster sizes: every distance stays inside it */
    for (uint32_t s = 0; s < m; s++) idx[s] = (uint32_t)((uint64_t)s * n / m), cnt[labels[idx[s]]]++;
    double total = 0;
    for (uint32_t s = 0; s < m; s++) {
        uint32_t i = idx[s], li = labels[i];
        if (cnt[li] < 2) continue; /* alone in its cluster: scores 0 */
        memset(sum, 0, k * sizeof *sum);
        for (uint32_t r = 0; r < m; r++) {
            uint32_t j = idx[r];
            double s2 = 0;
            for (uint32_t t = 0; t < d; t++) {
                double v = x[(size_t)i * d + t] - x[(size_t)j * d + t];
                s2 += v * v;
            }
            sum[labels[j]] += sqrt(s2);
        }
        double a = sum[li] / (cnt[li] - 1), b = INFINITY;
        for (uint32_t c = 0; c < k; c++)
            if (c != li && cnt[c] && sum[c] / cnt[c] < b) b = sum[c] / cnt[c];
        if (isfinite(b)) total += (b - a) / (a > b ? a : b);
    }
    free(idx), free(cnt), free(sum);
    return total / m;
}

/* ---- clustering profiles ------------------------------------------------------------ */

int tl_segment_cluster(const tl_profiles_t *p, const char *const *features, int nf, uint32_t k,
                       uint32_t n_init, uint64_t seed, tl_clusters_t *out, int *bad) {
    memset(out, 0, sizeof *out);
    *bad = -1;
    if (nf < 1 || nf > TL_CLUSTER_MAX_F || k > TL_CLUSTER_MAX_K) return TL_EINVAL;
    int cols[TL_CLUSTER_MAX_F], d = nf;
    for (int j = 0; j < d; j++) {
        cols[j] = tl_profile_col_find(p, features[j]);
        if (cols[j] < 0 || tl_profile_col_type(p, cols[j]) == TL_COL_CAT ||
            strlen(features[j]) >= sizeof out->feature[j]) {
            *bad = j;
            return TL_EINVAL;
        }
    }
    uint32_t n = tl_profile_nusers(p), m = 0;
    double *x = malloc((size_t)(n ? n : 1) * d * sizeof *x), mean[TL_CLUSTER_MAX_F] = {0},
           sd[TL_CLUSTER_MAX_F] = {0};
    uint32_t *labels = malloc((size_t)(n ? n : 1) * sizeof *labels);
    double *centers = malloc((size_t)TL_CLUSTER_MAX_K * d * sizeof *centers);
    if (!x || !labels || !centers) {
        free(x), free(labels), free(centers);
        return TL_ENOMEM;
    }
    for (uint32_t u = 0; u < n; u++) {
        int ok = !tl_profile_withdrawn(p, u); /* no profile is kept */
        for (int j = 0; j < d && ok; j++) {
            const void *data = tl_profile_col_data(p, cols[j]);
            double v = tl_profile_col_type(p, cols[j]) == TL_COL_NUM ? ((const double *)data)[u]
                       : ((const uint32_t *)data)[u] == TL_NONE ? NAN : ((const uint32_t *)data)[u];
            if (isnan(v)) ok = 0;
            x[(size_t)m * d + j] = v;
        }
        m += ok;
    }
    int rc = m < 2 ? TL_EINVAL : 0;
    for (int j = 0; !rc && j < d; j++) {
        for (uint32_t i = 0; i < m; i++) mean[j] += x[(size_t)i * d + j];
        mean[j] /= m;
        for (uint32_t i = 0; i < m; i++) sd[j] += pow(x[(size_t)i * d + j] - mean[j], 2);
        sd[j] = sqrt(sd[j] / m);
        for (uint32_t i = 0; i < m; i++)
            x[(size_t)i * d + j] = sd[j] > 0 ? (x[(size_t)i * d + j] - mean[j]) / sd[j] : 0;
    }
    double inertia = 0;
    uint32_t iters = 0;
    if (!rc && !k) {
        double best = -2;
        for (uint32_t kk = 2; !rc && kk <= 8 && kk <= m; kk++) {
            tl_kmeans_opts_t o = {kk, n_init, 300, seed};
            rc = tl_kmeans(x, m, (uint32_t)d, &o, labels, centers, &inertia, &iters);
            double sil = rc ? NAN : tl_silhouette(x, m, (uint32_t)d, labels, kk, 2000);
            if (!rc && sil > best) best = sil, k = kk;
        }
    }
    if (!rc && k > m) k = m;
    if (!rc) {
        tl_kmeans_opts_t o = {k, n_init, 300, seed};
        rc = tl_kmeans(x, m, (uint32_t)d, &o, labels, centers, &inertia, &iters);
    }
    if (!rc) {
        out->nf = d;
        for (int j = 0; j < d; j++) snprintf(out->feature[j], sizeof out->feature[j], "%s", features[j]);
        out->as_of = tl_profile_as_of(p);
        out->k = k;
        out->users = m;
        out->inertia = inertia;
        out->iterations = iters;
        out->silhouette = tl_silhouette(x, m, (uint32_t)d, labels, k, 2000);
        /* members' means in the features' own units */
        for (uint32_t i = 0; i < m; i++) {
            out->size[labels[i]]++;
            for (int j = 0; j < d; j++) out->mean[labels[i]][j] += x[(size_t)i * d + j] * sd[j] + mean[j];
        }
        for (uint32_t c = 0; c < k; c++)
            for (int j = 0; j < d; j++) out->mean[c][j] = out->size[c] ? out->mean[c][j] / out->size[c] : NAN;
    }
    free(x), free(labels), free(centers);
    return rc;
}

/* ---- the kept clustering -------------------------------------------------------------- */

/* {"features": [...], "as_of": ms, "k", "users", "iterations", "inertia",
 * "silhouette", "clusters": [{"size", "means": [per feature]}]} */
int tl_segment_cluster_keep(tl_store_t *st, const tl_profiles_t *p, const char *const *features,
                            int nf, uint32_t k, uint32_t n_init, uint64_t seed, tl_clusters_t *out,
                            int *bad, tl_errbuf_t *eb) {
    int rc = tl_segment_cluster(p, features, nf, k, n_init, seed, out, bad);
    if (rc) return rc;
    cJSON *j = cJSON_CreateObject(), *f = cJSON_AddArrayToObject(j, "features");
    cJSON *cl = cJSON_AddArrayToObject(j, "clusters");
    for (int i = 0; f && i < out->nf; i++) cJSON_AddItemToArray(f, cJSON_CreateString(out->feature[i]));
    cJSON_AddNumberToObject(j, "as_of", (double)out->as_of);
    cJSON_AddNumberToObject(j, "k", out->k);
    cJSON_AddNumberToObject(j, "users", out->users);
    cJSON_AddNumberToObject(j, "iterations", out->iterations);
    cJSON_AddNumberToObject(j, "inertia", out->inertia);
    cJSON_AddNumberToObject(j, "silhouette", out->silhouette);
    for (uint32_t c = 0; cl && c < out->k; c++) {
        cJSON *o = cJSON_CreateObject(), *m = cJSON_AddArrayToObject(o, "means");
        cJSON_AddNumberToObject(o, "size", out->size[c]);
        for (int i = 0; m && i < out->nf; i++) cJSON_AddItemToArray(m, cJSON_CreateNumber(out->mean[c][i]));
        cJSON_AddItemToArray(cl, o);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) {
        tl_errbuf_set(eb, "out of memory keeping the clusters");
        return TL_ENOMEM;
    }
    rc = tl_store_config_put(st, "clusters", text, eb);
    cJSON_free(text);
    return rc;
}

static double num_of(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int tl_clusters_kept(tl_store_t *st, tl_clusters_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    int rc = tl_store_config_get(st, "clusters", &text, eb);
    if (rc) return rc;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *f = cJSON_GetObjectItem(j, "features"), *cl = cJSON_GetObjectItem(j, "clusters"), *it;
    int nf = cJSON_GetArraySize(f), k = cJSON_GetArraySize(cl);
    rc = cJSON_IsArray(f) && cJSON_IsArray(cl) && nf >= 1 && nf <= TL_CLUSTER_MAX_F && k >= 1 &&
                 k <= TL_CLUSTER_MAX_K ? 0 : TL_ECORRUPT;
    const cJSON *fs = rc ? NULL : f, *cs = rc ? NULL : cl;
    cJSON_ArrayForEach(it, fs) {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof out->feature[0]) rc = TL_ECORRUPT;
        else snprintf(out->feature[out->nf++], sizeof out->feature[0], "%s", it->valuestring);
    }
    cJSON_ArrayForEach(it, cs) {
        const cJSON *m = cJSON_GetObjectItem(it, "means"), *v;
        double size = num_of(it, "size");
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != nf || !(size >= 0)) {
            rc = TL_ECORRUPT;
            break;
        }
        int i = 0;
        cJSON_ArrayForEach(v, m) out->mean[out->k][i++] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        out->size[out->k++] = (uint32_t)size;
    }
    double users = num_of(j, "users"), iters = num_of(j, "iterations"), as_of = num_of(j, "as_of");
    if (!rc && !(users >= 0 && iters >= 0 && !isnan(as_of))) rc = TL_ECORRUPT;
    if (!rc) {
        out->users = (uint32_t)users, out->iterations = (uint32_t)iters, out->as_of = (int64_t)as_of;
        out->inertia = num_of(j, "inertia"), out->silhouette = num_of(j, "silhouette");
    }
    cJSON_Delete(j);
    if (rc) {
        memset(out, 0, sizeof *out);
        tl_errbuf_set(eb, "%s/tailor.db: the kept clusters are damaged; run `tailor segment cluster` again",
                      tl_store_dir(st));
    }
    return rc;
}
