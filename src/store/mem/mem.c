/* mem.c -- the store in memory (tl_store_memory): a small second back end,
 * nothing persisted. The contract tests run against it beside the local
 * one, and an evaluation of given files reads them through it (no
 * temporary directory).
 *
 * Keyed records live in sorted arrays of rows (one per collection); a batch
 * works on a copy of the committed data, which commit keeps and rollback
 * drops. Events are one array, the committed ones first; dictionaries are
 * core's, truncated back at rollback. It implements the operations table
 * of store/backend.h and nothing more. */
#include "store/mem/mem_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tl__mem_t *tl__mem_of(const tl_store_t *st) { return tl_store_backend_state(st); }
tl__mdata_t *tl__mem_cur(tl__mem_t *m) { return m->in_batch ? &m->work : &m->comm; }

/* ---- values and rows ----------------------------------------------------------- */

mval_t tl__mv_i(int64_t i, int present) { return present ? (mval_t){.t = 1, .i = i} : (mval_t){0}; }
mval_t tl__mv_d(double d) { return d == d ? (mval_t){.t = 2, .d = d} : (mval_t){0}; }
mval_t tl__mv_s(const char *s) {
    return s ? (mval_t){.t = 3, .p = (char *)s, .n = strlen(s) + 1} : (mval_t){0};
}

int tl__mv_copy(mval_t *dst, const mval_t *src) {
    *dst = *src;
    if (src->t != 3) return 0;
    dst->p = malloc(src->n ? src->n : 1);
    if (!dst->p) return TL_ENOMEM;
    memcpy(dst->p, src->p, src->n);
    return 0;
}

int tl__mv_eq(const mval_t *a, const mval_t *b) {
    if (a->t != b->t) return 0;
    if (a->t == 1) return a->i == b->i;
    if (a->t == 2) return a->d == b->d;
    return a->t == 0 || (a->n == b->n && memcmp(a->p, b->p, a->n) == 0);
}

void tl__mrow_free(tl__mrow_t *r) {
    free(r->key);
    for (int i = 0; i < MEM_NV; i++)
        if (r->v[i].t == 3) free(r->v[i].p);
}

void tl__mdata_free(tl__mdata_t *d) {
    for (int c = 0; c < C__N; c++) {
        for (size_t i = 0; i < d->c[c].n; i++) tl__mrow_free(&d->c[c].r[i]);
        free(d->c[c].r);
    }
    memset(d, 0, sizeof *d);
}

int tl__mdata_copy(tl__mdata_t *dst, const tl__mdata_t *src) {
    memset(dst, 0, sizeof *dst);
    for (int c = 0; c < C__N; c++) {
        const tl__mcoll_t *s = &src->c[c];
        tl__mcoll_t *d = &dst->c[c];
        if (!s->n) continue;
        if (!(d->r = calloc(s->n, sizeof *d->r))) goto oom;
        d->cap = s->n;
        for (; d->n < s->n; d->n++) {
            tl__mrow_t *r = &d->r[d->n];
            if (!(r->key = strdup(s->r[d->n].key))) goto oom;
            for (int i = 0; i < MEM_NV; i++)
                if (tl__mv_copy(&r->v[i], &s->r[d->n].v[i])) goto oom;
        }
    }
    return 0;
oom:
    tl__mdata_free(dst);
    return TL_ENOMEM;
}

/* The row of key, or where it goes (*found 0). */
size_t tl__mcoll_find(const tl__mcoll_t *c, const char *key, int *found) {
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
int tl__mcoll_upsert(tl__mcoll_t *c, const char *key, const mval_t *v, int nv, int replace) {
    int found;
    size_t at = tl__mcoll_find(c, key, &found);
    if (!found) {
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 16;
            tl__mrow_t *n = realloc(c->r, nc * sizeof *n);
            if (!n) return TL_ENOMEM;
            c->r = n;
            c->cap = nc;
        }
        tl__mrow_t r = {0};
        if (!(r.key = strdup(key))) return TL_ENOMEM;
        for (int i = 0; i < nv; i++)
            if (tl__mv_copy(&r.v[i], &v[i])) {
                tl__mrow_free(&r);
                return TL_ENOMEM;
            }
        memmove(&c->r[at + 1], &c->r[at], (c->n - at) * sizeof *c->r);
        c->r[at] = r;
        c->n++;
        return 1;
    }
    tl__mrow_t *r = &c->r[at];
    int changed = 0;
    for (int i = 0; i < nv; i++) {
        if ((!v[i].t && !replace) || tl__mv_eq(&r->v[i], &v[i])) continue;
        mval_t nvv;
        if (tl__mv_copy(&nvv, &v[i])) return TL_ENOMEM;
        if (r->v[i].t == 3) free(r->v[i].p);
        r->v[i] = nvv;
        changed = 1;
    }
    return changed;
}

void tl__mcoll_remove(tl__mcoll_t *c, size_t at) {
    tl__mrow_free(&c->r[at]);
    memmove(&c->r[at], &c->r[at + 1], (c->n - at - 1) * sizeof *c->r);
    c->n--;
}

void tl__mkey_u32(uint32_t k, char out[16]) { snprintf(out, 16, "%08x", k); }
uint32_t tl__mkey_to_u32(const char *k) { return (uint32_t)strtoul(k, NULL, 16); }
const char *tl__mv_str(const mval_t *v) { return v->t == 3 ? v->p : NULL; }
int64_t tl__mv_int(const mval_t *v, int64_t absent) { return v->t == 1 ? v->i : absent; }
double tl__mv_real(const mval_t *v) { return v->t == 2 ? v->d : (double)NAN; }

/* ---- lifecycle and batches ------------------------------------------------------ */

static int tl__mem_open(tl_store_t *st, int flags, tl_errbuf_t *eb) {
    (void)flags;
    tl__mem_t *m = calloc(1, sizeof *m);
    if (!m || tl_hset_init(&m->fps, 1024)) {
        free(m);
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    for (int k = 0; k < TL_D__N; k++) tl_buf_init(&m->ids_arena[k]);
    tl_store_backend_set_state(st, m);
    return tl__mem_use_key(st, eb);
}

static void tl__mem_close(tl_store_t *st) {
    tl__mem_t *m = tl__mem_of(st);
    if (!m) return;
    tl__mem_applogs_close(m);
    tl__mdata_free(&m->comm);
    for (int k = 0; k < TL_D__N; k++) {
        tl_dict_free(m->dict[k]);
        tl_buf_fini(&m->ids_arena[k]);
        free(m->ids_offs[k]);
    }
    free(m->ev);
    tl_hset_fini(&m->fps);
    free(m);
}

static int tl__mem_begin(tl_store_t *st, tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
    if (tl__mdata_copy(&m->work, &m->comm)) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    m->in_batch = 1;
    return 0;
}

static void tl__mem_rollback(tl_store_t *st);

static int tl__mem_commit(tl_store_t *st, tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
    if (tl__mem_applogs_commit(m)) {
        tl__mem_rollback(st);
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    tl__mdata_free(&m->comm);
    m->comm = m->work;
    memset(&m->work, 0, sizeof m->work);
    m->ncomm = m->nev;
    for (int k = 0; k < TL_D__N; k++)
        if (m->dict[k]) m->dict_comm[k] = tl_dict_count(m->dict[k]);
    m->in_batch = 0;
    m->gen++;
    return 0;
}

static void tl__mem_rollback(tl_store_t *st) {
    tl__mem_t *m = tl__mem_of(st);
    tl__mdata_free(&m->work);
    tl__mem_applogs_rollback(m);
    for (uint64_t i = m->ncomm; i < m->nev; i++) tl_hset_del(&m->fps, m->ev[i].fp);
    m->nev = m->ncomm;
    for (int k = 0; k < TL_D__N; k++)
        if (m->dict[k]) (void)tl_dict_truncate(m->dict[k], m->dict_comm[k]);
    m->in_batch = 0;
}

/* ---- dictionaries ------------------------------------------------------------------ */

static tl_dict_t *tl__mem_dict(tl_store_t *st, tl_dkind_t kind, tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
    if (!m->dict[kind] && !(m->dict[kind] = tl_dict_new())) tl_errbuf_set(eb, "out of memory");
    return m->dict[kind];
}

static int tl__mem_ids(tl_store_t *st, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
    uint32_t n = m->dict[kind] ? m->dict_comm[kind] : 0;
    if (m->ids_offs[kind] && m->ids_gen[kind] == m->gen + 1) { /* nothing committed since: the same view */
        *out = (tl_ids_t){m->ids_arena[kind].data, m->ids_offs[kind], m->ids_n[kind]};
        return 0;
    }
    tl_buf_t *a = &m->ids_arena[kind];
    m->ids_gen[kind] = 0; /* no view until this one is whole */
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
    m->ids_n[kind] = n, m->ids_gen[kind] = m->gen + 1;
    *out = (tl_ids_t){a->data, m->ids_offs[kind], n};
    return 0;
oom:
    tl_errbuf_set(eb, "out of memory");
    return TL_ENOMEM;
}

/* ---- events ----------------------------------------------------------------------- */

static int tl__mem_add_event(tl_store_t *st, const tl_event_t *ev, tl_errbuf_t *eb) {
    tl__mem_t *m = tl__mem_of(st);
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

static int tl__mem_scan(tl_store_t *st, uint64_t from_seq, uint32_t want, tl_evblock_fn fn, void *arg,
                    tl_errbuf_t *eb) {
    (void)eb;
    tl__mem_t *m = tl__mem_of(st);
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

static uint64_t tl__mem_event_count(const tl_store_t *st) { return tl__mem_of(st)->ncomm; }

/* ---- entities ------------------------------------------------------------------------ */

static int put_row(tl_store_t *st, int coll, uint32_t idx, const mval_t *v, int nv,
                   tl_errbuf_t *eb) {
    char key[16];
    tl__mkey_u32(idx, key);
    int rc = tl__mcoll_upsert(&tl__mem_cur(tl__mem_of(st))->c[coll], key, v, nv, 0);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc;
}

static int tl__mem_put_user(tl_store_t *st, uint32_t user, const tl_user_t *u, tl_errbuf_t *eb) {
    mval_t v[MEM_NV] = {tl__mv_s(u->gender), tl__mv_i(u->birth_year, u->birth_year != 0), tl__mv_s(u->city),
                        tl__mv_s(u->occupation), tl__mv_s(u->education),
                        tl__mv_i(u->registered_at, u->registered_at != INT64_MIN), tl__mv_s(u->channel),
                        tl__mv_s(u->attrs), tl__mv_s(u->name), tl__mv_s(u->phone), tl__mv_s(u->email), tl__mv_s(u->id_number)};
    return put_row(st, C_USERS, user, v, MEM_NV, eb);
}

static int tl__mem_put_item(tl_store_t *st, uint32_t item, const tl_item_t *it, tl_errbuf_t *eb) {
    mval_t v[5] = {tl__mv_s(it->title), tl__mv_s(it->category), tl__mv_s(it->brand), tl__mv_d(it->price), tl__mv_s(it->attrs)};
    return put_row(st, C_ITEMS, item, v, 5, eb);
}

static int tl__mem_put_product(tl_store_t *st, uint32_t product, const tl_product_t *p,
                           tl_errbuf_t *eb) {
    mval_t v[8] = {tl__mv_s(p->kind), tl__mv_s(p->name), tl__mv_i(p->term_months, p->term_months >= 0),
                   tl__mv_d(p->apr), tl__mv_d(p->amount_min), tl__mv_d(p->amount_max), tl__mv_s(p->eligibility),
                   tl__mv_s(p->disclosure)};
    return put_row(st, C_PRODUCTS, product, v, 8, eb);
}

static int tl__mem_put_credit(tl_store_t *st, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb) {
    mval_t v[7] = {tl__mv_i(c->on_time, c->on_time >= 0), tl__mv_i(c->late, c->late >= 0),
                   tl__mv_i(c->max_overdue_days, c->max_overdue_days >= 0), tl__mv_d(c->debt),
                   tl__mv_s(c->income_band), tl__mv_i(c->history_months, c->history_months >= 0),
                   tl__mv_i(c->default_flag, c->default_flag >= 0)};
    return put_row(st, C_CREDIT, user, v, 7, eb);
}

/* Consent keys sort as (user, purpose, at, granted). */
static void consent_key(uint32_t user, const char *purpose, int64_t at, int granted, char *out,
                        size_t cap) {
    snprintf(out, cap, "%08x\001%s\001%016llx\001%d", user, purpose,
             (unsigned long long)((uint64_t)at ^ (1ull << 63)), granted != 0);
}

static int tl__mem_put_consent(tl_store_t *st, uint32_t user, const char *purpose, int granted,
                           int64_t at, tl_errbuf_t *eb) {
    char key[512];
    consent_key(user, purpose, at, granted, key, sizeof key);
    mval_t v[2] = {tl__mv_s(purpose), tl__mv_i(at, 1)};
    int rc = tl__mcoll_upsert(&tl__mem_cur(tl__mem_of(st))->c[C_CONSENTS], key, v, 2, 0);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc;
}

static int scan_users_from(tl_store_t *st, uint32_t only, tl_user_fn fn, void *arg) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_USERS];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        uint32_t idx = tl__mkey_to_u32(c->r[i].key);
        if (only != TL_NONE && idx != only) continue;
        tl_user_t u = {tl__mv_str(&v[0]), tl__mv_str(&v[2]), tl__mv_str(&v[3]), tl__mv_str(&v[4]), tl__mv_str(&v[6]),
                       only != TL_NONE ? tl__mv_str(&v[7]) : NULL, (int32_t)tl__mv_int(&v[1], 0),
                       tl__mv_int(&v[5], INT64_MIN), NULL, NULL, NULL, NULL};
        int rc = fn(idx, &u, arg);
        if (rc || only != TL_NONE) return rc;
    }
    return only != TL_NONE ? TL_ENOENT : 0;
}

static int tl__mem_scan_users(tl_store_t *st, tl_user_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    return scan_users_from(st, TL_NONE, fn, arg);
}

static int tl__mem_get_user(tl_store_t *st, uint32_t user, tl_user_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    (void)eb;
    return scan_users_from(st, user, fn, arg);
}

static int scan_items_from(tl_store_t *st, uint32_t only, tl_item_fn fn, void *arg) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_ITEMS];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        uint32_t idx = tl__mkey_to_u32(c->r[i].key);
        if (only != TL_NONE && idx != only) continue;
        tl_item_t it = {tl__mv_str(&v[0]), tl__mv_str(&v[1]), tl__mv_str(&v[2]), only != TL_NONE ? tl__mv_str(&v[4]) : NULL,
                        tl__mv_real(&v[3])};
        int rc = fn(idx, &it, arg);
        if (rc || only != TL_NONE) return rc;
    }
    return only != TL_NONE ? TL_ENOENT : 0;
}

static int tl__mem_scan_items(tl_store_t *st, tl_item_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    return scan_items_from(st, TL_NONE, fn, arg);
}

static int tl__mem_get_item(tl_store_t *st, uint32_t item, tl_item_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    (void)eb;
    return scan_items_from(st, item, fn, arg);
}

static int tl__mem_scan_products(tl_store_t *st, tl_product_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_PRODUCTS];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        tl_product_t p = {tl__mv_str(&v[0]), tl__mv_str(&v[1]), tl__mv_str(&v[6]), tl__mv_str(&v[7]), (int32_t)tl__mv_int(&v[2], -1),
                          tl__mv_real(&v[3]), tl__mv_real(&v[4]), tl__mv_real(&v[5])};
        int rc = fn(tl__mkey_to_u32(c->r[i].key), &p, arg);
        if (rc) return rc;
    }
    return 0;
}

static int tl__mem_scan_credit(tl_store_t *st, uint32_t user, tl_credit_fn fn, void *arg,
                           tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_CREDIT];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        uint32_t idx = tl__mkey_to_u32(c->r[i].key);
        if (user != TL_NONE && idx != user) continue;
        tl_credit_t cr = {tl__mv_int(&v[0], -1), tl__mv_int(&v[1], -1), tl__mv_int(&v[2], -1), tl__mv_int(&v[5], -1),
                          tl__mv_real(&v[3]), tl__mv_str(&v[4]), (int)tl__mv_int(&v[6], -1)};
        int rc = fn(idx, &cr, arg);
        if (rc) return rc;
    }
    return 0;
}

static int tl__mem_scan_consents(tl_store_t *st, uint32_t user, tl_consent_fn fn, void *arg,
                             tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_CONSENTS];
    for (size_t i = 0; i < c->n; i++) {
        const char *k = c->r[i].key;
        uint32_t idx = tl__mkey_to_u32(k);
        if (user != TL_NONE && idx != user) continue;
        int rc = fn(idx, tl__mv_str(&c->r[i].v[0]), k[strlen(k) - 1] == '1', c->r[i].v[1].i, arg);
        if (rc) return rc;
    }
    return 0;
}

static int tl__mem_user_pii(tl_store_t *st, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_USERS];
    char key[16];
    tl__mkey_u32(user, key);
    int found;
    size_t at = tl__mcoll_find(c, key, &found);
    for (int i = 8; i < 12; i++) {
        const char *v = found && tl__mv_str(&c->r[at].v[i]) ? c->r[at].v[i].p : "";
        if (tl_buf_append(out, v, strlen(v) + 1)) {
            tl_errbuf_set(eb, "out of memory");
            return TL_ENOMEM;
        }
    }
    return 0;
}

/* ---- the quarantine: rows by id (0: id, 1: at, 2: source, 3: reason, 4: message,
 * 5: line, 6: raw, 7: preview) --------------------------------------------------------- */

static int tl__mem_quarantine(tl_store_t *st, const char *source, uint64_t line, const char *reason,
                          const char *message, const char *raw, size_t rawlen,
                          const char *preview, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_QUARANTINE];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        if (!strcmp(v[2].p, source) && (uint64_t)v[5].i == line && v[6].n == rawlen &&
            !memcmp(v[6].p, raw, rawlen))
            return 0;
    }
    int64_t id = c->n ? c->r[c->n - 1].v[0].i + 1 : 1;
    char key[24];
    snprintf(key, sizeof key, "%020lld", (long long)id);
    mval_t v[8] = {tl__mv_i(id, 1), tl__mv_i(tl_store_now(st), 1), tl__mv_s(source), tl__mv_s(reason), tl__mv_s(message),
                   tl__mv_i((int64_t)line, 1), {.t = 3, .p = (char *)raw, .n = rawlen}, tl__mv_s(preview)};
    int rc = tl__mcoll_upsert(c, key, v, 8, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc;
}

static int tl__mem_quarantine_scan(tl_store_t *st, const char *reason, int with_raw, tl_qrow_fn fn,
                               void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_QUARANTINE];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        if (reason && strcmp(v[3].p, reason) != 0) continue;
        tl_qrow_t q = {v[0].i, v[1].i, v[2].p, v[3].p, tl__mv_str(&v[4]) ? v[4].p : "", (uint64_t)v[5].i,
                       with_raw ? v[6].p : NULL, with_raw ? v[6].n : 0, tl__mv_str(&v[7]) ? v[7].p : ""};
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

static int tl__mem_quarantine_counts(tl_store_t *st, tl_reason_fn fn, void *arg, tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_QUARANTINE];
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


const tl_store_backend_t tl_store_memory = {
    .version = TL_STORE_BACKEND_VERSION,
    .name = "memory",
    .open = tl__mem_open,
    .close = tl__mem_close,
    .begin = tl__mem_begin,
    .commit = tl__mem_commit,
    .rollback = tl__mem_rollback,
    .dict = tl__mem_dict,
    .ids = tl__mem_ids,
    .add_event = tl__mem_add_event,
    .scan = tl__mem_scan,
    .event_count = tl__mem_event_count,
    .put_user = tl__mem_put_user,
    .put_item = tl__mem_put_item,
    .put_product = tl__mem_put_product,
    .put_credit = tl__mem_put_credit,
    .put_consent = tl__mem_put_consent,
    .user_pii = tl__mem_user_pii,
    .scan_users = tl__mem_scan_users,
    .get_user = tl__mem_get_user,
    .scan_items = tl__mem_scan_items,
    .get_item = tl__mem_get_item,
    .scan_products = tl__mem_scan_products,
    .scan_credit = tl__mem_scan_credit,
    .scan_consents = tl__mem_scan_consents,
    .quarantine = tl__mem_quarantine,
    .quarantine_scan = tl__mem_quarantine_scan,
    .quarantine_counts = tl__mem_quarantine_counts,
    .config_put = tl__mem_config_put,
    .config_get = tl__mem_config_get,
    .segment_put = tl__mem_segment_put,
    .segment_get = tl__mem_segment_get,
    .segment_delete = tl__mem_segment_delete,
    .segment_list = tl__mem_segment_list,
    .apikey_put = tl__mem_apikey_put,
    .apikey_delete = tl__mem_apikey_delete,
    .apikey_scan = tl__mem_apikey_scan,
    .audit_append = tl__mem_audit_append,
    .audit_last = tl__mem_audit_last,
    .audit_scan = tl__mem_audit_scan,
    .campaign_get = tl__mem_campaign_get,
    .campaign_scan = tl__mem_campaign_scan,
    .campaign_put = tl__mem_campaign_put,
    .campaign_set_status = tl__mem_campaign_set_status,
    .campaign_run_add = tl__mem_campaign_run_add,
    .campaign_runs = tl__mem_campaign_runs,
    .delivery_hold = tl__mem_delivery_hold,
    .delivery_fail = tl__mem_delivery_fail,
    .delivery_done = tl__mem_delivery_done,
    .deliveries_held = tl__mem_deliveries_held,
    .blob_put = tl__mem_blob_put,
    .blob_get = tl__mem_blob_get,
    .blob_list = tl__mem_blob_list,
    .blob_remove = tl__mem_blob_remove,
    /* repositories and reads (no check: the store reads the events back) */
    .link_add = tl__mem_link_add,
    .link_split = tl__mem_link_split,
    .link_scan = tl__mem_link_scan,
    .dnc_put = tl__mem_dnc_put,
    .dnc_scan = tl__mem_dnc_scan,
    .dnc_of_user = tl__mem_dnc_of_user,
    .feedback_add = tl__mem_feedback_add,
    .feedback_scan = tl__mem_feedback_scan,
    .feedback_of_user = tl__mem_feedback_of_user,
    .feedback_negative = tl__mem_feedback_negative,
    .counts = tl__mem_counts,
    /* blobs and side logs: writers, maps, appends; the side logs (maps and
     * where: the store's fallbacks) */
    .blob_create = tl__mem_blob_create,
    .blobw_write = tl__mem_blobw_write,
    .blobw_stream = tl__mem_blobw_stream,
    .blobw_close = tl__mem_blobw_close,
    .blobw_abandon = tl__mem_blobw_abandon,
    .blob_append = tl__mem_blob_append,
    .applog_open = tl__mem_applog_open,
    .applog_write = tl__mem_applog_write,
    .applog_read = tl__mem_applog_read,
    .applog_committed = tl__mem_applog_committed,
    .applog_list = tl__mem_applog_list,
    /* keys, pseudonyms, erasure and retention */
    .secret_get = tl__mem_secret_get,
    .secret_add = tl__mem_secret_add,
    .anchor_get = tl__mem_anchor_get,
    .anchor_put = tl__mem_anchor_put,
    .erased = tl__mem_erased,
    .erased_any = tl__mem_erased_any,
    .purge = tl__mem_purge,
    .rotate_key = tl__mem_rotate_key,
};
