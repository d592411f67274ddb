/* store_mem.c -- a deliberately small second store back end, for the
 * contract tests only: everything in memory, nothing persisted.
 *
 * Keyed records live in sorted arrays of rows (one per collection); a batch
 * works on a copy of the committed data, which commit keeps and rollback
 * drops. Events are one array, the committed ones first; dictionaries are
 * core's, truncated back at rollback. It implements the operations table
 * of store/backend.h and nothing more. */
#include "store/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEM_NV 12 /* values per row at most (a user's) */

typedef struct {
    int t; /* 0 absent, 1 integer, 2 real, 3 bytes (text has its NUL) */
    int64_t i;
    double d;
    char *p;
    size_t n;
} mval_t;

typedef struct {
    char *key;
    mval_t v[MEM_NV];
} mrow_t;

typedef struct {
    mrow_t *r;
    size_t n, cap;
} mcoll_t;

enum {
    C_USERS, C_ITEMS, C_PRODUCTS, C_CREDIT, C_CONSENTS, C_CONFIG, C_SEGMENTS, C_BLOBS, C_APIKEYS,
    C_AUDIT, C_QUARANTINE, C_CAMPAIGNS, C_RUNS, C_DELIVERIES, C__N
};

typedef struct {
    mcoll_t c[C__N];
} mdata_t;

typedef struct {
    mdata_t comm, work; /* work: the batch's copy */
    int in_batch;
    tl_dict_t *dict[TL_D__N];
    uint32_t dict_comm[TL_D__N];
    tl_buf_t ids_arena[TL_D__N];
    uint64_t *ids_offs[TL_D__N];
    tl_event_t *ev;
    uint64_t nev, ncomm, cap;
    tl_hset_t fps;
} mem_t;

static mem_t *M(const tl_store_t *st) { return tl_store_backend_state(st); }
static mdata_t *cur(mem_t *m) { return m->in_batch ? &m->work : &m->comm; }

/* ---- values and rows ----------------------------------------------------------- */

static mval_t vi(int64_t i, int present) { return present ? (mval_t){.t = 1, .i = i} : (mval_t){0}; }
static mval_t vd(double d) { return d == d ? (mval_t){.t = 2, .d = d} : (mval_t){0}; }
static mval_t vs(const char *s) {
    return s ? (mval_t){.t = 3, .p = (char *)s, .n = strlen(s) + 1} : (mval_t){0};
}

static int val_copy(mval_t *dst, const mval_t *src) {
    *dst = *src;
    if (src->t != 3) return 0;
    dst->p = malloc(src->n ? src->n : 1);
    if (!dst->p) return TL_ENOMEM;
    memcpy(dst->p, src->p, src->n);
    return 0;
}

static int val_eq(const mval_t *a, const mval_t *b) {
    if (a->t != b->t) return 0;
    if (a->t == 1) return a->i == b->i;
    if (a->t == 2) return a->d == b->d;
    return a->t == 0 || (a->n == b->n && memcmp(a->p, b->p, a->n) == 0);
}

static void row_free(mrow_t *r) {
    free(r->key);
    for (int i = 0; i < MEM_NV; i++)
        if (r->v[i].t == 3) free(r->v[i].p);
}

static void data_free(mdata_t *d) {
    for (int c = 0; c < C__N; c++) {
        for (size_t i = 0; i < d->c[c].n; i++) row_free(&d->c[c].r[i]);
        free(d->c[c].r);
    }
    memset(d, 0, sizeof *d);
}

static int data_copy(mdata_t *dst, const mdata_t *src) {
    memset(dst, 0, sizeof *dst);
    for (int c = 0; c < C__N; c++) {
        const mcoll_t *s = &src->c[c];
        mcoll_t *d = &dst->c[c];
        if (!s->n) continue;
        if (!(d->r = calloc(s->n, sizeof *d->r))) goto oom;
        d->cap = s->n;
        for (; d->n < s->n; d->n++) {
            mrow_t *r = &d->r[d->n];
            if (!(r->key = strdup(s->r[d->n].key))) goto oom;
            for (int i = 0; i < MEM_NV; i++)
                if (val_copy(&r->v[i], &s->r[d->n].v[i])) goto oom;
        }
    }
    return 0;
oom:
    data_free(dst);
    return TL_ENOMEM;
}

/* The row of key, or where it goes (*found 0). */
static size_t find(const mcoll_t *c, const char *key, int *found) {
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(c->r[mid].key, key);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return lo;
}

/* Merges v[0..nv) into the row of key (absent values keep the stored
 * ones; replace: every value replaced). 1 created or changed, 0 not. */
static int upsert(mcoll_t *c, const char *key, const mval_t *v, int nv, int replace) {
    int found;
    size_t at = find(c, key, &found);
    if (!found) {
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 16;
            mrow_t *n = realloc(c->r, nc * sizeof *n);
            if (!n) return TL_ENOMEM;
            c->r = n;
            c->cap = nc;
        }
        mrow_t r = {0};
        if (!(r.key = strdup(key))) return TL_ENOMEM;
        for (int i = 0; i < nv; i++)
            if (val_copy(&r.v[i], &v[i])) {
                row_free(&r);
                return TL_ENOMEM;
            }
        memmove(&c->r[at + 1], &c->r[at], (c->n - at) * sizeof *c->r);
        c->r[at] = r;
        c->n++;
        return 1;
    }
    mrow_t *r = &c->r[at];
    int changed = 0;
    for (int i = 0; i < nv; i++) {
        if ((!v[i].t && !replace) || val_eq(&r->v[i], &v[i])) continue;
        mval_t nvv;
        if (val_copy(&nvv, &v[i])) return TL_ENOMEM;
        if (r->v[i].t == 3) free(r->v[i].p);
        r->v[i] = nvv;
        changed = 1;
    }
    return changed;
}

static void remove_row(mcoll_t *c, size_t at) {
    row_free(&c->r[at]);
    memmove(&c->r[at], &c->r[at + 1], (c->n - at - 1) * sizeof *c->r);
    c->n--;
}

static void key_u32(uint32_t k, char out[16]) { snprintf(out, 16, "%08x", k); }
static uint32_t u32_key(const char *k) { return (uint32_t)strtoul(k, NULL, 16); }
static const char *S(const mval_t *v) { return v->t == 3 ? v->p : NULL; }
static int64_t I(const mval_t *v, int64_t absent) { return v->t == 1 ? v->i : absent; }
static double D(const mval_t *v) { return v->t == 2 ? v->d : (double)NAN; }

/* ---- lifecycle and batches ------------------------------------------------------ */

static int mem_open(tl_store_t *st, int flags, tl_errbuf_t *eb) {
    (void)flags;
    mem_t *m = calloc(1, sizeof *m);
    if (!m || tl_hset_init(&m->fps, 1024)) {
        free(m);
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    for (int k = 0; k < TL_D__N; k++) tl_buf_init(&m->ids_arena[k]);
    tl_store_backend_set_state(st, m);
    return 0;
}

static void mem_close(tl_store_t *st) {
    mem_t *m = M(st);
    if (!m) return;
    data_free(&m->comm);
    for (int k = 0; k < TL_D__N; k++) {
        tl_dict_free(m->dict[k]);
        tl_buf_fini(&m->ids_arena[k]);
        free(m->ids_offs[k]);
    }
    free(m->ev);
    tl_hset_fini(&m->fps);
    free(m);
}

static int mem_begin(tl_store_t *st, tl_errbuf_t *eb) {
    mem_t *m = M(st);
    if (data_copy(&m->work, &m->comm)) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    m->in_batch = 1;
    return 0;
}

static int mem_commit(tl_store_t *st, tl_errbuf_t *eb) {
    (void)eb;
    mem_t *m = M(st);
    data_free(&m->comm);
    m->comm = m->work;
    memset(&m->work, 0, sizeof m->work);
    m->ncomm = m->nev;
    for (int k = 0; k < TL_D__N; k++)
        if (m->dict[k]) m->dict_comm[k] = tl_dict_count(m->dict[k]);
    m->in_batch = 0;
    return 0;
}

static void mem_rollback(tl_store_t *st) {
    mem_t *m = M(st);
    data_free(&m->work);
    for (uint64_t i = m->ncomm; i < m->nev; i++) tl_hset_del(&m->fps, m->ev[i].fp);
    m->nev = m->ncomm;
    for (int k = 0; k < TL_D__N; k++)
        if (m->dict[k]) (void)tl_dict_truncate(m->dict[k], m->dict_comm[k]);
    m->in_batch = 0;
}

/* ---- dictionaries ------------------------------------------------------------------ */

static tl_dict_t *mem_dict(tl_store_t *st, tl_dkind_t kind, tl_errbuf_t *eb) {
    mem_t *m = M(st);
    if (!m->dict[kind] && !(m->dict[kind] = tl_dict_new())) tl_errbuf_set(eb, "out of memory");
    return m->dict[kind];
}

static int mem_ids(tl_store_t *st, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb) {
    mem_t *m = M(st);
    uint32_t n = m->dict[kind] ? m->dict_comm[kind] : 0;
    tl_buf_t *a = &m->ids_arena[kind];
    tl_buf_clear(a);
    free(m->ids_offs[kind]);
    if (!(m->ids_offs[kind] = malloc((n + 1) * sizeof(uint64_t)))) goto oom;
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        const char *s = tl_dict_str(m->dict[kind], i, &len);
        m->ids_offs[kind][i] = a->len;
        if (tl_buf_append(a, s, len) || tl_buf_append(a, "", 1)) goto oom;
    }
    m->ids_offs[kind][n] = a->len;
    *out = (tl_ids_t){a->data, m->ids_offs[kind], n};
    return 0;
oom:
    tl_errbuf_set(eb, "out of memory");
    return TL_ENOMEM;
}

/* ---- events ----------------------------------------------------------------------- */

static int mem_add_event(tl_store_t *st, const tl_event_t *ev, tl_errbuf_t *eb) {
    mem_t *m = M(st);
    if (m->nev == m->cap) {
        uint64_t nc = m->cap ? m->cap * 2 : 64;
        tl_event_t *n = realloc(m->ev, nc * sizeof *n);
        if (!n) {
            tl_errbuf_set(eb, "out of memory");
            return TL_ENOMEM;
        }
        m->ev = n;
        m->cap = nc;
    }
    int rc = tl_hset_add(&m->fps, ev->fp);
    if (rc <= 0) return rc;
    m->ev[m->nev++] = *ev;
    return 1;
}

#define MEM_BLOCK 4 /* rows per block: small, so scans cross blocks */

static int mem_scan(tl_store_t *st, uint64_t from_seq, uint32_t want, tl_evblock_fn fn, void *arg,
                    tl_errbuf_t *eb) {
    (void)eb;
    mem_t *m = M(st);
    uint64_t fp[MEM_BLOCK];
    uint32_t user[MEM_BLOCK], item[MEM_BLOCK], query[MEM_BLOCK], city[MEM_BLOCK],
        session[MEM_BLOCK], campaign[MEM_BLOCK];
    int64_t ts[MEM_BLOCK];
    uint8_t type[MEM_BLOCK], channel[MEM_BLOCK];
    double amount[MEM_BLOCK];
    int32_t qty[MEM_BLOCK];
    float rating[MEM_BLOCK], lat[MEM_BLOCK], lon[MEM_BLOCK];
    for (uint64_t first = from_seq / MEM_BLOCK * MEM_BLOCK; first < m->ncomm; first += MEM_BLOCK) {
        uint32_t n = (uint32_t)(m->ncomm - first < MEM_BLOCK ? m->ncomm - first : MEM_BLOCK);
        for (uint32_t i = 0; i < n; i++) {
            const tl_event_t *e = &m->ev[first + i];
            fp[i] = e->fp, user[i] = e->user, item[i] = e->item, ts[i] = e->ts;
            type[i] = e->type, channel[i] = e->channel, amount[i] = e->amount, qty[i] = e->qty;
            rating[i] = e->rating, lat[i] = e->lat, lon[i] = e->lon, query[i] = e->query;
            city[i] = e->city, session[i] = e->session, campaign[i] = e->campaign;
        }
#define W(bit, col) ((want & (bit)) ? (col) : NULL)
        tl_evblock_t b = {n, first, W(TL_EVC_FP, fp), W(TL_EVC_USER, user), W(TL_EVC_ITEM, item),
                          W(TL_EVC_TS, ts), W(TL_EVC_TYPE, type), W(TL_EVC_CHANNEL, channel),
                          W(TL_EVC_AMOUNT, amount), W(TL_EVC_QTY, qty),
                          W(TL_EVC_RATING, rating), W(TL_EVC_LAT, lat), W(TL_EVC_LON, lon),
                          W(TL_EVC_QUERY, query), W(TL_EVC_CITY, city),
                          W(TL_EVC_SESSION, session), W(TL_EVC_CAMPAIGN, campaign)};
#undef W
        int rc = fn(&b, arg);
        if (rc) return rc;
    }
    return 0;
}

static uint64_t mem_event_count(const tl_store_t *st) { return M(st)->ncomm; }

/* ---- entities ------------------------------------------------------------------------ */

static int put_row(tl_store_t *st, int coll, uint32_t idx, const mval_t *v, int nv,
                   tl_errbuf_t *eb) {
    char key[16];
    key_u32(idx, key);
    int rc = upsert(&cur(M(st))->c[coll], key, v, nv, 0);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc;
}

static int mem_put_user(tl_store_t *st, uint32_t user, const tl_user_t *u, tl_errbuf_t *eb) {
    mval_t v[MEM_NV] = {vs(u->gender), vi(u->birth_year, u->birth_year != 0), vs(u->city),
                        vs(u->occupation), vs(u->education),
                        vi(u->registered_at, u->registered_at != INT64_MIN), vs(u->channel),
                        vs(u->attrs), vs(u->name), vs(u->phone), vs(u->email), vs(u->id_number)};
    return put_row(st, C_USERS, user, v, MEM_NV, eb);
}

static int mem_put_item(tl_store_t *st, uint32_t item, const tl_item_t *it, tl_errbuf_t *eb) {
    mval_t v[5] = {vs(it->title), vs(it->category), vs(it->brand), vd(it->price), vs(it->attrs)};
    return put_row(st, C_ITEMS, item, v, 5, eb);
}

static int mem_put_product(tl_store_t *st, uint32_t product, const tl_product_t *p,
                           tl_errbuf_t *eb) {
    mval_t v[8] = {vs(p->kind), vs(p->name), vi(p->term_months, p->term_months >= 0),
                   vd(p->apr), vd(p->amount_min), vd(p->amount_max), vs(p->eligibility),
                   vs(p->disclosure)};
    return put_row(st, C_PRODUCTS, product, v, 8, eb);
}

static int mem_put_credit(tl_store_t *st, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb) {
    mval_t v[7] = {vi(c->on_time, c->on_time >= 0), vi(c->late, c->late >= 0),
                   vi(c->max_overdue_days, c->max_overdue_days >= 0), vd(c->debt),
                   vs(c->income_band), vi(c->history_months, c->history_months >= 0),
                   vi(c->default_flag, c->default_flag >= 0)};
    return put_row(st, C_CREDIT, user, v, 7, eb);
}

/* Consent keys sort as (user, purpose, at, granted). */
static void consent_key(uint32_t user, const char *purpose, int64_t at, int granted, char *out,
                        size_t cap) {
    snprintf(out, cap, "%08x\001%s\001%016llx\001%d", user, purpose,
             (unsigned long long)((uint64_t)at ^ (1ull << 63)), granted != 0);
}

static int mem_put_consent(tl_store_t *st, uint32_t user, const char *purpose, int granted,
                           int64_t at, tl_errbuf_t *eb) {
    char key[512];
    consent_key(user, purpose, at, granted, key, sizeof key);
    mval_t v[2] = {vs(purpose), vi(at, 1)};
    int rc = upsert(&cur(M(st))->c[C_CONSENTS], key, v, 2, 0);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc;
}

static int scan_users_from(tl_store_t *st, uint32_t only, tl_user_fn fn, void *arg) {
    const mcoll_t *c = &cur(M(st))->c[C_USERS];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        uint32_t idx = u32_key(c->r[i].key);
        if (only != TL_NONE && idx != only) continue;
        tl_user_t u = {S(&v[0]), S(&v[2]), S(&v[3]), S(&v[4]), S(&v[6]),
                       only != TL_NONE ? S(&v[7]) : NULL, (int32_t)I(&v[1], 0),
                       I(&v[5], INT64_MIN), NULL, NULL, NULL, NULL};
        int rc = fn(idx, &u, arg);
        if (rc || only != TL_NONE) return rc;
    }
    return only != TL_NONE ? TL_ENOENT : 0;
}

static int mem_scan_users(tl_store_t *st, tl_user_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    return scan_users_from(st, TL_NONE, fn, arg);
}

static int mem_get_user(tl_store_t *st, uint32_t user, tl_user_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    (void)eb;
    return scan_users_from(st, user, fn, arg);
}

static int scan_items_from(tl_store_t *st, uint32_t only, tl_item_fn fn, void *arg) {
    const mcoll_t *c = &cur(M(st))->c[C_ITEMS];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        uint32_t idx = u32_key(c->r[i].key);
        if (only != TL_NONE && idx != only) continue;
        tl_item_t it = {S(&v[0]), S(&v[1]), S(&v[2]), only != TL_NONE ? S(&v[4]) : NULL,
                        D(&v[3])};
        int rc = fn(idx, &it, arg);
        if (rc || only != TL_NONE) return rc;
    }
    return only != TL_NONE ? TL_ENOENT : 0;
}

static int mem_scan_items(tl_store_t *st, tl_item_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    return scan_items_from(st, TL_NONE, fn, arg);
}

static int mem_get_item(tl_store_t *st, uint32_t item, tl_item_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    (void)eb;
    return scan_items_from(st, item, fn, arg);
}

static int mem_scan_products(tl_store_t *st, tl_product_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_PRODUCTS];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        tl_product_t p = {S(&v[0]), S(&v[1]), S(&v[6]), S(&v[7]), (int32_t)I(&v[2], -1),
                          D(&v[3]), D(&v[4]), D(&v[5])};
        int rc = fn(u32_key(c->r[i].key), &p, arg);
        if (rc) return rc;
    }
    return 0;
}

static int mem_scan_credit(tl_store_t *st, uint32_t user, tl_credit_fn fn, void *arg,
                           tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_CREDIT];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        uint32_t idx = u32_key(c->r[i].key);
        if (user != TL_NONE && idx != user) continue;
        tl_credit_t cr = {I(&v[0], -1), I(&v[1], -1), I(&v[2], -1), I(&v[5], -1),
                          D(&v[3]), S(&v[4]), (int)I(&v[6], -1)};
        int rc = fn(idx, &cr, arg);
        if (rc) return rc;
    }
    return 0;
}

static int mem_scan_consents(tl_store_t *st, uint32_t user, tl_consent_fn fn, void *arg,
                             tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_CONSENTS];
    for (size_t i = 0; i < c->n; i++) {
        const char *k = c->r[i].key;
        uint32_t idx = u32_key(k);
        if (user != TL_NONE && idx != user) continue;
        int rc = fn(idx, S(&c->r[i].v[0]), k[strlen(k) - 1] == '1', c->r[i].v[1].i, arg);
        if (rc) return rc;
    }
    return 0;
}

static int mem_user_pii(tl_store_t *st, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb) {
    const mcoll_t *c = &cur(M(st))->c[C_USERS];
    char key[16];
    key_u32(user, key);
    int found;
    size_t at = find(c, key, &found);
    for (int i = 8; i < 12; i++) {
        const char *v = found && S(&c->r[at].v[i]) ? c->r[at].v[i].p : "";
        if (tl_buf_append(out, v, strlen(v) + 1)) {
            tl_errbuf_set(eb, "out of memory");
            return TL_ENOMEM;
        }
    }
    return 0;
}

/* ---- the quarantine: rows by id (0: id, 1: at, 2: source, 3: reason, 4: message,
 * 5: line, 6: raw, 7: preview) --------------------------------------------------------- */

static int mem_quarantine(tl_store_t *st, const char *source, uint64_t line, const char *reason,
                          const char *message, const char *raw, size_t rawlen,
                          const char *preview, tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_QUARANTINE];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        if (!strcmp(v[2].p, source) && (uint64_t)v[5].i == line && v[6].n == rawlen &&
            !memcmp(v[6].p, raw, rawlen))
            return 0;
    }
    int64_t id = c->n ? c->r[c->n - 1].v[0].i + 1 : 1;
    char key[24];
    snprintf(key, sizeof key, "%020lld", (long long)id);
    mval_t v[8] = {vi(id, 1), vi(tl_store_now(st), 1), vs(source), vs(reason), vs(message),
                   vi((int64_t)line, 1), {.t = 3, .p = (char *)raw, .n = rawlen}, vs(preview)};
    int rc = upsert(c, key, v, 8, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc;
}

static int mem_quarantine_scan(tl_store_t *st, const char *reason, int with_raw, tl_qrow_fn fn,
                               void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_QUARANTINE];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        if (reason && strcmp(v[3].p, reason) != 0) continue;
        tl_qrow_t q = {v[0].i, v[1].i, v[2].p, v[3].p, S(&v[4]) ? v[4].p : "", (uint64_t)v[5].i,
                       with_raw ? v[6].p : NULL, with_raw ? v[6].n : 0, S(&v[7]) ? v[7].p : ""};
        int rc = fn(&q, arg);
        if (rc) return rc;
    }
    return 0;
}

typedef struct {
    const char *reason;
    uint64_t n;
} mreason_t;

static int by_count(const void *a, const void *b) {
    const mreason_t *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

static int mem_quarantine_counts(tl_store_t *st, tl_reason_fn fn, void *arg, tl_errbuf_t *eb) {
    const mcoll_t *c = &cur(M(st))->c[C_QUARANTINE];
    mreason_t *r = calloc(c->n + 1, sizeof *r);
    if (!r) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    size_t nr = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t j = 0;
        while (j < nr && strcmp(r[j].reason, c->r[i].v[3].p) != 0) j++;
        if (j == nr) r[nr++].reason = c->r[i].v[3].p;
        r[j].n++;
    }
    qsort(r, nr, sizeof *r, by_count);
    int rc = 0;
    for (size_t j = 0; j < nr && !rc; j++) rc = fn(r[j].reason, r[j].n, arg);
    free(r);
    return rc;
}

/* ---- settings and segments ----------------------------------------------------------- */

static int get_text(tl_store_t *st, int coll, const char *key, char **out, tl_errbuf_t *eb) {
    *out = NULL;
    const mcoll_t *c = &cur(M(st))->c[coll];
    int found;
    size_t at = find(c, key, &found);
    if (!found) return TL_ENOENT;
    if (!(*out = strdup(c->r[at].v[0].p))) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    return 0;
}

static int mem_config_put(tl_store_t *st, const char *key, const char *value, tl_errbuf_t *eb) {
    mval_t v[1] = {vs(value)};
    int rc = upsert(&cur(M(st))->c[C_CONFIG], key, v, 1, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

static int mem_config_get(tl_store_t *st, const char *key, char **value, tl_errbuf_t *eb) {
    return get_text(st, C_CONFIG, key, value, eb);
}

static int mem_segment_put(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_SEGMENTS];
    int found;
    find(c, name, &found);
    mval_t v[2] = {vs(expr), vi(tl_store_now(st), 1)};
    int rc = upsert(c, name, v, 2, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : !found;
}

static int mem_segment_get(tl_store_t *st, const char *name, char **expr, tl_errbuf_t *eb) {
    int rc = get_text(st, C_SEGMENTS, name, expr, eb);
    if (rc == TL_ENOENT) tl_errbuf_set(eb, "no segment \"%s\"", name);
    return rc;
}

static int mem_segment_delete(tl_store_t *st, const char *name, tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_SEGMENTS];
    int found;
    size_t at = find(c, name, &found);
    if (!found) {
        tl_errbuf_set(eb, "no segment \"%s\"", name);
        return TL_ENOENT;
    }
    remove_row(c, at);
    return 0;
}

static int mem_segment_list(tl_store_t *st, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_SEGMENTS];
    for (size_t i = 0; i < c->n; i++) {
        int rc = fn(c->r[i].key, c->r[i].v[0].p, c->r[i].v[1].i, arg);
        if (rc) return rc;
    }
    return 0;
}

/* ---- API keys and audit entries ------------------------------------------------------- */

static int mem_apikey_put(tl_store_t *st, const tl_apikey_row_t *k, tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_APIKEYS];
    int found;
    find(c, k->id, &found);
    if (found) {
        tl_errbuf_set(eb, "there is an API key %s already", k->id);
        return TL_EEXIST;
    }
    mval_t v[4] = {vs(k->hash), vs(k->role), vs(k->name ? k->name : ""), vi(k->created, 1)};
    int rc = upsert(c, k->id, v, 4, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

static int mem_apikey_delete(tl_store_t *st, const char *id, tl_errbuf_t *eb) {
    (void)eb;
    mcoll_t *c = &cur(M(st))->c[C_APIKEYS];
    int found;
    size_t at = find(c, id, &found);
    if (found) remove_row(c, at);
    return found;
}

static const mrow_t *by_created_rows;
static int by_created(const void *a, const void *b) {
    const mrow_t *x = &by_created_rows[*(const size_t *)a], *y = &by_created_rows[*(const size_t *)b];
    if (x->v[3].i != y->v[3].i) return x->v[3].i < y->v[3].i ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int mem_apikey_scan(tl_store_t *st, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb) {
    const mcoll_t *c = &cur(M(st))->c[C_APIKEYS];
    size_t *order = malloc((c->n + 1) * sizeof *order);
    if (!order) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) order[i] = i;
    by_created_rows = c->r;
    qsort(order, c->n, sizeof *order, by_created);
    int rc = 0;
    for (size_t i = 0; i < c->n && !rc; i++) {
        const mrow_t *r = &c->r[order[i]];
        tl_apikey_row_t k = {r->key, r->v[0].p, r->v[1].p, r->v[2].p, r->v[3].i};
        rc = fn(&k, arg);
    }
    free(order);
    return rc;
}

static void audit_key(int64_t id, char out[24]) { snprintf(out, 24, "%020lld", (long long)id); }

static int mem_audit_append(tl_store_t *st, const tl_audit_entry_t *e, tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_AUDIT];
    char key[24];
    audit_key(e->id, key);
    int found;
    find(c, key, &found);
    if (found) {
        tl_errbuf_set(eb, "the audit log has an entry %lld already", (long long)e->id);
        return TL_EEXIST;
    }
    mval_t v[6] = {vi(e->id, 1), vi(e->at, 1), vs(e->who), vs(e->what), vs(e->target), vs(e->mac)};
    int rc = upsert(c, key, v, 6, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

static int mem_audit_last(tl_store_t *st, int64_t *id, char mac[65], tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_AUDIT];
    *id = 0, mac[0] = 0;
    if (c->n) {
        *id = c->r[c->n - 1].v[0].i;
        snprintf(mac, 65, "%s", S(&c->r[c->n - 1].v[5]) ? c->r[c->n - 1].v[5].p : "");
    }
    return 0;
}

static int mem_audit_scan(tl_store_t *st, const char *target, tl_audit_fn fn, void *arg,
                          tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_AUDIT];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        const char *t = S(&v[4]) ? v[4].p : "";
        if (target && strcmp(t, target) != 0) continue;
        tl_audit_entry_t e = {v[0].i, v[1].i, S(&v[2]) ? v[2].p : "", S(&v[3]) ? v[3].p : "", t,
                              S(&v[5]) ? v[5].p : ""};
        int rc = fn(&e, arg);
        if (rc) return rc;
    }
    return 0;
}

/* ---- campaigns (0: def, 1: status, 2: created, 3: runs, 4: last_at, 5: sends, 6: cost)
 * and runs (0: run, 1: at, 2: started, 3: counts) ------------------------------------------ */

static int campaign_call(const mrow_t *r, tl_campaign_row_fn fn, void *arg) {
    const mval_t *v = r->v;
    tl_campaign_row_t c = {r->key, v[0].p, v[1].p, v[2].i, (uint64_t)v[3].i, I(&v[4], INT64_MIN),
                           (uint64_t)v[5].i, v[6].d};
    return fn(&c, arg);
}

static int mem_campaign_get(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg,
                            tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_CAMPAIGNS];
    int found;
    size_t at = find(c, id, &found);
    if (!found) return 0;
    int rc = campaign_call(&c->r[at], fn, arg);
    return rc ? rc : 1;
}

static int mem_campaign_scan(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_CAMPAIGNS];
    for (size_t i = 0; i < c->n; i++) {
        int rc = campaign_call(&c->r[i], fn, arg);
        if (rc) return rc;
    }
    return 0;
}

static int mem_campaign_put(tl_store_t *st, const char *id, const char *def, int64_t created,
                            tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_CAMPAIGNS];
    int found;
    find(c, id, &found);
    mval_t v[7] = {vs(def), vs("active"), vi(created, 1), vi(0, 1), {0}, vi(0, 1), {.t = 2}};
    int rc = upsert(c, id, v, found ? 1 : 7, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : !found;
}

static int mem_campaign_set_status(tl_store_t *st, const char *id, const char *status,
                                   tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_CAMPAIGNS];
    int found;
    find(c, id, &found);
    if (!found) return 0;
    mval_t v[2] = {{0}, vs(status)};
    int rc = upsert(c, id, v, 2, 0);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 1;
}

static void run_key(const char *id, uint64_t run, char *out, size_t cap) {
    snprintf(out, cap, "%s\001%020llu", id, (unsigned long long)run);
}

static int mem_campaign_run_add(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r,
                                uint64_t sends, double cost, tl_errbuf_t *eb) {
    mcoll_t *runs = &cur(M(st))->c[C_RUNS], *c = &cur(M(st))->c[C_CAMPAIGNS];
    char key[256];
    run_key(id, r->run, key, sizeof key);
    int found;
    find(runs, key, &found);
    if (found) {
        tl_errbuf_set(eb, "campaign %s has a run %llu already", id, (unsigned long long)r->run);
        return TL_ESQL;
    }
    mval_t v[4] = {vi((int64_t)r->run, 1), vi(r->at, 1), vi(r->started, 1), vs(r->counts)};
    int rc = upsert(runs, key, v, 4, 1);
    size_t at = find(c, id, &found);
    if (rc >= 0 && found) {
        mval_t *cv = c->r[at].v;
        cv[3].i++;
        cv[4] = vi(r->at, 1);
        cv[5].i += (int64_t)sends;
        cv[6].d += cost;
    }
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

static int mem_campaign_runs(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg,
                             tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &cur(M(st))->c[C_RUNS];
    size_t n = strlen(id);
    for (size_t i = 0; i < c->n; i++) {
        const char *k = c->r[i].key;
        if (strncmp(k, id, n) != 0 || k[n] != '\001') continue;
        const mval_t *v = c->r[i].v;
        tl_campaign_run_row_t r = {(uint64_t)v[0].i, v[1].i, v[2].i, S(&v[3]) ? v[3].p : "{}"};
        int rc = fn(&r, arg);
        if (rc) return rc;
    }
    return 0;
}

/* ---- delivery states (0: channel, 1: offset, 2: status, 3: code, 4: at, 5: due) --------- */

static int mem_delivery_hold(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                             int64_t due, tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_DELIVERIES];
    int found;
    find(c, id, &found);
    if (found) return 0;
    mval_t v[6] = {vs(channel), vi((int64_t)offset, 1), vs("held"), {0}, {0}, vi(due, 1)};
    int rc = upsert(c, id, v, 6, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc;
}

static int mem_delivery_fail(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                             long code, int64_t at, int64_t due, tl_errbuf_t *eb) {
    mval_t v[6] = {vs(channel), vi((int64_t)offset, 1), vs("failed"), vi(code, 1), vi(at, 1),
                   vi(due, 1)};
    int rc = upsert(&cur(M(st))->c[C_DELIVERIES], id, v, 6, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

static int mem_delivery_done(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb) {
    mcoll_t *c = &cur(M(st))->c[C_DELIVERIES];
    int found;
    find(c, id, &found);
    if (!found) return 0;
    mval_t v[5] = {{0}, {0}, vs("delivered"), {0}, vi(at, 1)};
    int rc = upsert(c, id, v, 5, 0);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

static int by_offset(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int mem_deliveries_held(tl_store_t *st, const char *channel, int64_t due_by,
                               tl_offset_fn fn, void *arg, tl_errbuf_t *eb) {
    const mcoll_t *c = &cur(M(st))->c[C_DELIVERIES];
    uint64_t *offs = malloc((c->n + 1) * sizeof *offs);
    if (!offs) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        if (!strcmp(v[0].p, channel) && !strcmp(v[2].p, "held") && v[5].i <= due_by)
            offs[n++] = (uint64_t)v[1].i;
    }
    qsort(offs, n, sizeof *offs, by_offset);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) rc = fn(offs[i], arg);
    free(offs);
    return rc;
}

/* ---- blobs ------------------------------------------------------------------------------ */

static int mem_blob_put(tl_store_t *st, const char *name, const void *p, size_t n,
                        tl_errbuf_t *eb) {
    mval_t v[1] = {{.t = 3, .p = (char *)p, .n = n}};
    int rc = upsert(&cur(M(st))->c[C_BLOBS], name, v, 1, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

static int mem_blob_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    const mcoll_t *c = &M(st)->comm.c[C_BLOBS];
    int found;
    size_t at = find(c, name, &found);
    if (!found) return TL_ENOENT;
    if (tl_buf_append(out, c->r[at].v[0].p, c->r[at].v[0].n)) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    return 0;
}

static int mem_blob_list(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    (void)eb;
    const mcoll_t *c = &M(st)->comm.c[C_BLOBS];
    for (size_t i = 0; i < c->n; i++) {
        if (strncmp(c->r[i].key, prefix, strlen(prefix)) != 0) continue;
        int rc = fn(c->r[i].key, arg);
        if (rc) return rc;
    }
    return 0;
}

static int mem_blob_remove(tl_store_t *st, const char *name, tl_errbuf_t *eb) {
    (void)eb;
    mcoll_t *c = &cur(M(st))->c[C_BLOBS];
    int found;
    size_t at = find(c, name, &found);
    if (found) remove_row(c, at);
    return 0;
}

const tl_store_backend_t tl_test_store_mem = {
    .version = TL_STORE_BACKEND_VERSION,
    .name = "memory",
    .open = mem_open,
    .close = mem_close,
    .begin = mem_begin,
    .commit = mem_commit,
    .rollback = mem_rollback,
    .dict = mem_dict,
    .ids = mem_ids,
    .add_event = mem_add_event,
    .scan = mem_scan,
    .event_count = mem_event_count,
    .put_user = mem_put_user,
    .put_item = mem_put_item,
    .put_product = mem_put_product,
    .put_credit = mem_put_credit,
    .put_consent = mem_put_consent,
    .user_pii = mem_user_pii,
    .scan_users = mem_scan_users,
    .get_user = mem_get_user,
    .scan_items = mem_scan_items,
    .get_item = mem_get_item,
    .scan_products = mem_scan_products,
    .scan_credit = mem_scan_credit,
    .scan_consents = mem_scan_consents,
    .quarantine = mem_quarantine,
    .quarantine_scan = mem_quarantine_scan,
    .quarantine_counts = mem_quarantine_counts,
    .config_put = mem_config_put,
    .config_get = mem_config_get,
    .segment_put = mem_segment_put,
    .segment_get = mem_segment_get,
    .segment_delete = mem_segment_delete,
    .segment_list = mem_segment_list,
    .apikey_put = mem_apikey_put,
    .apikey_delete = mem_apikey_delete,
    .apikey_scan = mem_apikey_scan,
    .audit_append = mem_audit_append,
    .audit_last = mem_audit_last,
    .audit_scan = mem_audit_scan,
    .campaign_get = mem_campaign_get,
    .campaign_scan = mem_campaign_scan,
    .campaign_put = mem_campaign_put,
    .campaign_set_status = mem_campaign_set_status,
    .campaign_run_add = mem_campaign_run_add,
    .campaign_runs = mem_campaign_runs,
    .delivery_hold = mem_delivery_hold,
    .delivery_fail = mem_delivery_fail,
    .delivery_done = mem_delivery_done,
    .deliveries_held = mem_deliveries_held,
    .blob_put = mem_blob_put,
    .blob_get = mem_blob_get,
    .blob_list = mem_blob_list,
    .blob_remove = mem_blob_remove,
};
