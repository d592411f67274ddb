/* profile.c -- the profile set: its users, its columns and the catalogue it
 * reads from the store, created empty, grown, freed and read.
 *
 * The features that fill the columns come from the state machine
 * (profile_apply.c), run over the event log by the batch build
 * (profile_build.c); a set can also come from a snapshot (profile_snap.c).
 */
#include "profile_int.h"

#include "identity/identity.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    tl_coltype_t type;
} FIXED[C__FIXED] = {
#define X(id, name, type) {name, TL_COL_##type},
    FIXED_COLUMNS(X)
#undef X
};

static const char *const LIFECYCLE[] = {"prospect", "new", "active", "returning", "dormant",
                                        "churned"};

void tl_profile_opts_default(tl_profile_opts_t *o) {
    o->as_of = INT64_MIN;
    o->half_life_days = 30;
    o->short_half_life_days = 7;
    o->session_gap_min = 30;
    o->threads = 0;
}

static tl_dict_t *labels_of(const char *const *names, int n) {
    tl_dict_t *d = tl_dict_new();
    uint32_t idx;
    for (int i = 0; d && i < n; i++)
        if (tl_dict_intern(d, names[i], strlen(names[i]), &idx, NULL)) {
            tl_dict_free(d);
            return NULL;
        }
    return d;
}

/* ---- growing the user arrays ---------------------------------------------------- */

int tl__profile_grow(tl_profiles_t *p, uint32_t need) {
    if (need <= p->cap) {
        if (need > p->n) p->n = need;
        return 0;
    }
    uint32_t nc = p->cap ? p->cap : 1024;
    while (nc < need) nc *= 2;
/* From nothing, calloc: big blocks then come as lazily zeroed pages,
 * touched once instead of twice. */
#define GROW(ptr, per)                                                                      \
    do {                                                                                    \
        size_t sz = (size_t)nc * (per) * sizeof *(ptr);                                     \
        void *np = (ptr) ? realloc((ptr), sz) : calloc(1, sz ? sz : 1);                     \
        if (!np) return TL_ENOMEM;                                                          \
        tl_hint_huge(np, sz);                                                               \
        (ptr) = np;                                                                         \
        if (p->cap)                                                                         \
            memset((ptr) + (size_t)p->cap * (per), 0,                                       \
                   (size_t)(nc - p->cap) * (per) * sizeof *(ptr));                          \
    } while (0)
    GROW(p->st, 1);
    GROW(p->ust, 1);
    GROW(p->aff_long, (size_t)p->ntops);
    GROW(p->aff_short, (size_t)p->ntops);
    GROW(p->hours, 24);
    GROW(p->chan, (size_t)p->nch);
    GROW(p->withdrawn, 1);
    for (int c = 0; c < p->ncols; c++) {
        size_t w = p->cols[c].type == TL_COL_NUM ? sizeof(double) : sizeof(uint32_t);
        void *np = realloc(p->cols[c].data, (size_t)nc * w);
        if (!np) return TL_ENOMEM;
        tl_hint_huge(np, (size_t)nc * w);
        p->cols[c].data = np;
    }
#undef GROW
    for (uint32_t u = p->cap; u < nc; u++) {
        ustatic_t *s = &p->ust[u];
        s->gender = s->city = s->channel = TL_NONE;
        s->registered_at = INT64_MIN;
        p->st[u].visit = TL_NONE;
    }
    p->cap = nc;
    p->n = need;
    return 0;
}

/* ---- loading what the profiles need from the store ---------------------------- */

typedef struct {
    tl_profiles_t *p;
    int rc;
} load_ctx_t;

static uint32_t intern_or_none(tl_dict_t *d, const char *s, int *rc) {
    if (!s || !*s) return TL_NONE;
    uint32_t idx;
    int r = tl_dict_intern(d, s, strlen(s), &idx, NULL);
    if (r) *rc = r;
    return r ? TL_NONE : idx;
}

static int item_row(uint32_t i, const tl_item_t *it, void *arg) {
    load_ctx_t *x = arg;
    catalogue_t *cat = &x->p->cat;
    if (i >= cat->nitems) return 0;
    const char *path = it->category;
    if (path && *path) {
        const char *slash = strchr(path, '/');
        size_t tl = slash ? (size_t)(slash - path) : strlen(path);
        uint32_t t;
        if (tl_dict_intern(cat->tops, path, tl, &t, NULL)) return x->rc = TL_ENOMEM;
        cat->top[i] = t < MAX_TOPS ? (uint16_t)t : UINT16_MAX;
        cat->leaf[i] = intern_or_none(cat->leaves, path, &x->rc);
    }
    cat->brand[i] = intern_or_none(cat->brands, it->brand, &x->rc);
    cat->price[i] = (float)it->price;
    return x->rc;
}

static int user_row(uint32_t u, const tl_user_t *r, void *arg) {
    load_ctx_t *x = arg;
    tl_profiles_t *p = x->p;
    if (u >= p->n) return 0;
    ustatic_t *s = &p->ust[tl__profile_person(p, u)];
    s->gender = r->gender ? tl_dict_find(p->gender_labels, r->gender, strlen(r->gender)) : TL_NONE;
    s->birth_year = r->birth_year;
    s->city = intern_or_none(p->cities, r->city, &x->rc);
    s->channel = r->channel ? tl_dict_find(p->channels, r->channel, strlen(r->channel)) : TL_NONE;
    s->registered_at = r->registered_at;
    return x->rc;
}

static int credit_row(uint32_t u, const tl_credit_t *c, void *arg) {
    load_ctx_t *x = arg;
    if (u >= x->p->n) return 0;
    ustatic_t *s = &x->p->ust[tl__profile_person(x->p, u)];
    s->has_credit = 1;
    double on = c->on_time >= 0 ? (double)c->on_time : 0, late = c->late >= 0 ? (double)c->late : 0;
    s->on_time_rate = c->on_time >= 0 && on + late > 0 ? on / (on + late) : NAN;
    s->late = c->late >= 0 ? (uint32_t)c->late : TL_NONE;
    s->max_overdue = c->max_overdue_days >= 0 ? (uint32_t)c->max_overdue_days : TL_NONE;
    s->debt = c->debt;
    s->months = c->history_months >= 0 ? (uint32_t)c->history_months : TL_NONE;
    s->defaulted = c->default_flag >= 0 ? (uint32_t)(c->default_flag != 0) : TL_NONE;
    return 0;
}

int tl__profile_read_records(tl_profiles_t *p, tl_store_t *st, uint32_t u, tl_errbuf_t *eb) {
    load_ctx_t x = {p, 0};
    int rc = tl_store_get_user(st, u, user_row, &x, eb);
    if (rc == TL_ENOENT) {
        eb->msg[0] = 0;
        rc = 0;
    }
    return rc ? rc : tl_store_scan_credit(st, u, credit_row, &x, eb);
}

typedef struct {
    uint32_t leaf, item;
    float price;
} pitem_t;

static int cmp_pitem(const void *a, const void *b) {
    const pitem_t *x = a, *y = b;
    if (x->leaf != y->leaf) return x->leaf < y->leaf ? -1 : 1;
    return (x->price > y->price) - (x->price < y->price);
}

/* The percentile of each item's price among the items of its category
 * (0 the cheapest, 1 the dearest; ties share their mean rank). */
static int price_percentiles(catalogue_t *c) {
    pitem_t *v = malloc((size_t)(c->nitems ? c->nitems : 1) * sizeof *v);
    if (!v) return TL_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->nitems; i++)
        if (c->leaf[i] != TL_NONE && !isnan(c->price[i])) v[n++] = (pitem_t){c->leaf[i], i, c->price[i]};
    qsort(v, n, sizeof *v, cmp_pitem);
    for (uint32_t a = 0; a < n;) {
        uint32_t b = a;
        while (b < n && v[b].leaf == v[a].leaf) b++;
        for (uint32_t i = a; i < b;) {
            uint32_t j = i;
            while (j < b && v[j].price == v[i].price) j++;
            double rank = (double)(i + j - 1) / 2 - a, span = b - a - 1;
            for (uint32_t k = i; k < j; k++) c->pct[v[k].item] = span > 0 ? (float)(rank / span) : 0.5f;
            i = j;
        }
        a = b;
    }
    free(v);
    return 0;
}

int tl__profile_add_column(tl_profiles_t *p, const char *name, tl_coltype_t type,
                           tl_dict_t *labels, int own) {
    column_t *nc = realloc(p->cols, (size_t)(p->ncols + 1) * sizeof *nc);
    if (!nc) return TL_ENOMEM;
    p->cols = nc;
    column_t *c = &p->cols[p->ncols];
    memset(c, 0, sizeof *c);
    if (!(c->name = strdup(name))) return TL_ENOMEM;
    c->type = type;
    c->labels = labels;
    c->own_labels = own;
    p->ncols++;
    return 0;
}

int tl_profile_set_column(tl_profiles_t *p, const char *name, tl_coltype_t type, void *data,
                          tl_dict_t *labels) {
    int c = tl_profile_col_find(p, name);
    if (c < 0) {
        int rc = tl__profile_add_column(p, name, type, NULL, 0);
        if (rc) {
            free(data);
            tl_dict_free(labels);
            return rc;
        }
        c = p->ncols - 1;
    } else {
        free(p->cols[c].data);
        if (p->cols[c].own_labels) tl_dict_free(p->cols[c].labels);
    }
    column_t *col = &p->cols[c];
    col->type = type;
    col->data = data;
    col->labels = labels;
    col->own_labels = labels != NULL;
    return 0;
}

void tl_profile_drop_columns(tl_profiles_t *p, const char *prefix) {
    size_t n = strlen(prefix);
    int k = 0;
    for (int c = 0; c < p->ncols; c++) {
        column_t *col = &p->cols[c];
        if (strncmp(col->name, prefix, n) == 0) {
            free(col->name);
            free(col->data);
            if (col->own_labels) tl_dict_free(col->labels);
            continue;
        }
        p->cols[k++] = *col;
    }
    p->ncols = k;
}

static tl_dict_t *labels_for(tl_profiles_t *p, int col) {
    switch (col) {
    case C_GENDER: return p->gender_labels;
    case C_CITY: return p->cities;
    case C_SIGNUP_CHANNEL: case C_PREF_CHANNEL: return p->channels;
    case C_TOP_CATEGORY: return p->cat.tops;
    case C_TOP_LEAF: return p->cat.leaves;
    case C_TOP_BRAND: return p->cat.brands;
    case C_LIFECYCLE: return p->lifecycle_labels;
    case C_DEFAULTED: return p->yesno_labels;
    default: return NULL;
    }
}

/* The persons of the store's users (p->canon stays NULL when no link
 * joins two of them), and the type of the events that only link. */
static int load_persons(tl_profiles_t *p, tl_store_t *st, tl_errbuf_t *eb) {
    tl_dict_t *types = tl_store_dict(st, TL_D_TYPE, eb);
    if (!types) return TL_ENOMEM;
    uint32_t t = tl_dict_find(types, "identify", 8);
    p->identify = t == TL_NONE ? 0 : t + 1;
    tl_id_rules_t rules;
    tl_identity_t *id = NULL;
    int rc = tl_identity_rules_get(st, &rules, eb);
    if (!rc) rc = tl_identity_load(st, &rules, &id, eb);
    tl_id_stats_t s = {0};
    if (!rc) tl_identity_stats(id, &s);
    if (!rc && s.persons < s.identifiers) {
        size_t n = s.identifiers;
        if (!(p->canon = malloc(n * sizeof *p->canon))) rc = TL_ENOMEM;
        else memcpy(p->canon, tl_identity_map(id), n * sizeof *p->canon);
        p->ncanon = s.identifiers;
    }
    tl_identity_free(id);
    return rc;
}

/* A profile set over the store's catalogue and users, with empty states. */
int tl__profile_new(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                    tl_errbuf_t *eb) {
    *out = NULL;
    tl_profiles_t *p = calloc(1, sizeof *p);
    if (!p) return TL_ENOMEM;
    p->o = *o;
    p->owns_state = 1;
    static const char *const genders[] = {"f", "m", "o"}, *const yesno[] = {"no", "yes"};
    p->gender_labels = labels_of(genders, 3);
    p->lifecycle_labels = labels_of(LIFECYCLE, 6);
    p->yesno_labels = labels_of(yesno, 2);
    p->cities = tl_dict_new();
    p->cat.tops = tl_dict_new();
    p->cat.leaves = tl_dict_new();
    p->cat.brands = tl_dict_new();
    tl_dict_t *items = tl_store_dict(st, TL_D_ITEM, eb), *users = tl_store_dict(st, TL_D_USER, eb);
    tl_dict_t *chans = tl_store_dict(st, TL_D_CHANNEL, eb);
    int rc = 0;
    if (!p->gender_labels || !p->lifecycle_labels || !p->yesno_labels || !p->cities ||
        !p->cat.tops || !p->cat.leaves || !p->cat.brands || !items || !users || !chans)
        rc = TL_ENOMEM;
    /* The channel labels are copied: the profile outlives the store. */
    if (!rc && !(p->channels = tl_dict_new())) rc = TL_ENOMEM;
    for (uint32_t i = 0; !rc && chans && i < tl_dict_count(chans); i++) {
        size_t n;
        const char *s = tl_dict_str(chans, i, &n);
        uint32_t idx;
        rc = tl_dict_intern(p->channels, s, n, &idx, NULL);
    }
    catalogue_t *c = &p->cat;
    if (!rc) {
        c->nitems = tl_dict_count(items);
        size_t n = c->nitems ? c->nitems : 1;
        c->top = malloc(n * sizeof *c->top);
        c->leaf = malloc(n * sizeof *c->leaf);
        c->brand = malloc(n * sizeof *c->brand);
        c->price = malloc(n * sizeof *c->price);
        c->pct = malloc(n * sizeof *c->pct);
        if (!c->top || !c->leaf || !c->brand || !c->price || !c->pct) rc = TL_ENOMEM;
    }
    for (uint32_t i = 0; !rc && i < c->nitems; i++) {
        c->top[i] = UINT16_MAX;
        c->leaf[i] = c->brand[i] = TL_NONE;
        c->price[i] = c->pct[i] = NAN;
    }
    load_ctx_t x = {p, 0};
    if (!rc) rc = tl_store_scan_items(st, item_row, &x, eb);
    if (!rc) rc = price_percentiles(c);
    if (!rc) {
        p->ntops = (int)tl_dict_count(c->tops) < MAX_TOPS ? (int)tl_dict_count(c->tops) : MAX_TOPS;
        p->nch = (int)tl_dict_count(p->channels) < MAX_CH ? (int)tl_dict_count(p->channels) : MAX_CH;
        for (int k = 0; !rc && k < C__FIXED; k++)
            rc = tl__profile_add_column(p, FIXED[k].name, FIXED[k].type, NULL, 0);
        for (int k = 0; !rc && k < C__FIXED; k++) p->cols[k].labels = labels_for(p, k);
        char name[300];
        for (int k = 0; !rc && k < p->ntops; k++) {
            snprintf(name, sizeof name, "affinity_%s", tl_dict_str(c->tops, (uint32_t)k, NULL));
            rc = tl__profile_add_column(p, name, TL_COL_NUM, NULL, 0);
        }
    }
    if (!rc) rc = tl__profile_grow(p, tl_dict_count(users));
    if (!rc) rc = load_persons(p, st, eb);
    if (!rc) rc = tl_store_scan_users(st, user_row, &x, eb);
    if (!rc) rc = tl_store_scan_credit(st, TL_NONE, credit_row, &x, eb);
    /* who withdrew profiling as things stand now, whatever the as-of time */
    if (!rc && p->n) rc = tl_store_consents_withdrawn(st, "profiling", INT64_MAX, p->withdrawn, p->n, eb);
    if (!rc) tl__profile_fold_flags(p, p->withdrawn);
    if (rc) {
        tl_profile_free(p);
        if (!eb->msg[0]) tl_errbuf_set(eb, "cannot prepare profiles: %s", tl_strerror(rc));
        return rc;
    }
    *out = p;
    return 0;
}

void tl_profile_free(tl_profiles_t *p) {
    if (!p) return;
    for (uint32_t u = 0; p->st && u < p->cap; u++) free(p->st[u].hist);
    free(p->st);
    free(p->ust);
    free(p->aff_long);
    free(p->aff_short);
    free(p->hours);
    free(p->chan);
    free(p->withdrawn);
    free(p->canon);
    free(p->promo_days);
    for (int c = 0; c < p->ncols; c++) {
        free(p->cols[c].name);
        free(p->cols[c].data);
        if (p->cols[c].own_labels) tl_dict_free(p->cols[c].labels);
    }
    free(p->cols);
    free(p->cat.top);
    free(p->cat.leaf);
    free(p->cat.brand);
    free(p->cat.price);
    free(p->cat.pct);
    tl_dict_free(p->cat.tops);
    tl_dict_free(p->cat.leaves);
    tl_dict_free(p->cat.brands);
    tl_dict_free(p->cities);
    tl_dict_free(p->channels);
    tl_dict_free(p->gender_labels);
    tl_dict_free(p->lifecycle_labels);
    tl_dict_free(p->yesno_labels);
    free(p);
}

int tl_profile_new_empty(tl_store_t *st, const tl_profile_opts_t *o, const tl_profiles_t *like,
                         tl_profiles_t **out, tl_errbuf_t *eb) {
    int rc = tl__profile_new(st, o, out, eb);
    if (rc || !like || !like->npromo) return rc;
    tl_profiles_t *p = *out;
    p->promo_days = malloc((size_t)like->npromo * sizeof *p->promo_days);
    if (!p->promo_days) {
        tl_profile_free(p);
        *out = NULL;
        return TL_ENOMEM;
    }
    memcpy(p->promo_days, like->promo_days, (size_t)like->npromo * sizeof *p->promo_days);
    p->npromo = like->npromo;
    return 0;
}

/* ---- reading -------------------------------------------------------------------- */

uint32_t tl_profile_nusers(const tl_profiles_t *p) { return p->n; }
int64_t tl_profile_as_of(const tl_profiles_t *p) { return p->as_of; }
int tl_profile_ncols(const tl_profiles_t *p) { return p->ncols; }
const char *tl_profile_col_name(const tl_profiles_t *p, int c) { return p->cols[c].name; }
tl_coltype_t tl_profile_col_type(const tl_profiles_t *p, int c) { return p->cols[c].type; }
const void *tl_profile_col_data(const tl_profiles_t *p, int c) { return p->cols[c].data; }

int tl_profile_col_find(const tl_profiles_t *p, const char *name) {
    for (int c = 0; c < p->ncols; c++)
        if (strcmp(p->cols[c].name, name) == 0) return c;
    return -1;
}

const tl_dict_t *tl_profile_col_labels(const tl_profiles_t *p, int c) { return p->cols[c].labels; }

const char *tl_profile_cat_label(const tl_profiles_t *p, int c, uint32_t code) {
    const char *s = p->cols[c].labels && code != TL_NONE ? tl_dict_str(p->cols[c].labels, code, NULL)
                                                         : NULL;
    return s ? s : "";
}

void tl_profile_cell(const tl_profiles_t *p, int c, uint32_t u, char *out, size_t cap) {
    const column_t *col = &p->cols[c];
    out[0] = 0;
    if (u >= p->n) return;
    if (col->type == TL_COL_NUM) {
        double v = ((const double *)col->data)[u];
        if (!isnan(v)) snprintf(out, cap, "%.10g", v);
    } else {
        uint32_t v = ((const uint32_t *)col->data)[u];
        if (v == TL_NONE) return;
        if (col->type == TL_COL_CAT) snprintf(out, cap, "%s", tl_profile_cat_label(p, c, v));
        else snprintf(out, cap, "%u", v);
    }
}

cJSON *tl_profile_user_json(const tl_profiles_t *p, uint32_t user) {
    cJSON *f = cJSON_CreateObject();
    char cell[512];
    user = tl__profile_person(p, user);
    for (int col = 0; !tl_profile_withdrawn(p, user) && user < tl_profile_nusers(p) && col < tl_profile_ncols(p); col++) {
        const char *name = tl_profile_col_name(p, col);
        tl_profile_cell(p, col, user, cell, sizeof cell);
        if (!cell[0]) cJSON_AddNullToObject(f, name);
        else if (tl_profile_col_type(p, col) == TL_COL_CAT) cJSON_AddStringToObject(f, name, cell);
        else cJSON_AddNumberToObject(f, name, atof(cell));
    }
    return f;
}
