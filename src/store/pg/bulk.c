/* bulk.c -- the PostgreSQL back end's entities that a batch creates: the
 * records of ids the batch itself interned (users, items, products, and
 * the credit records and consents of such users) cannot be stored yet, so
 * whether a put creates or changes one is known without asking the
 * server. They are kept in the handle, merged there when the same id
 * comes again, and sent by one COPY (text) a table when the batch commits,
 * when many are waiting, or before any other statement (which might read
 * them). A first import of a million users is a few COPYs instead of a
 * million round trips; records of ids stored before take the merging
 * upsert of entities.c. */
#include "store/pg/pg_int.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records kept before they are sent, whatever the batch. */
#define BULK_MAX 50000

enum { B_USERS, B_ITEMS, B_PRODUCTS, B_CREDIT, B_CONSENTS, B__N };

static const struct {
    const char *copy; /* the COPY statement */
    int ncols;        /* values a record, its index first */
    tl_dkind_t kind;  /* the dictionary of its index */
} tables[B__N] = {
    {"COPY tl_users(idx, gender, birth_year, city, occupation, education, registered_at, channel,"
     " attrs, pii) FROM STDIN", 13, TL_D_USER}, /* the last four: personal, sealed as one */
    {"COPY tl_items(idx, title, category, brand, price, attrs) FROM STDIN", 6, TL_D_ITEM},
    {"COPY tl_products(idx, kind, name, term_months, apr, amount_min, amount_max, eligibility,"
     " disclosure) FROM STDIN", 9, TL_D_PRODUCT},
    {"COPY tl_credit(uid, on_time, late, max_overdue_days, debt, income_band, history_months,"
     " default_flag) FROM STDIN", 8, TL_D_USER},
    {"COPY tl_consents(uid, purpose, granted, at) FROM STDIN", 4, TL_D_USER},
};

#define BULK_NV 13

typedef struct {
    char *v[BULK_NV]; /* text of each value, NULL: absent; v[0] the index */
} brec_t;

/* A slot of an index whose record was sent already in this batch: its
 * puts take the upsert. */
#define SENT UINT32_MAX

struct tl__pg_bulk {
    brec_t *r[B__N];
    size_t n[B__N], cap[B__N];
    /* the slot + 1 of a new index's record (0: none, SENT: sent), by
     * index - base; kept through the batch */
    uint32_t *slot[B__N];
    size_t nslot[B__N];
    tl_hset_t consent_keys; /* hashes of the consents kept or sent in the batch */
    int keys_init;
    /* its own buffers: a flush runs before any statement, whose parameters
     * may lie in the handle's scratch buffers */
    tl_buf_t line, pii;
};

static int oom(tl_store_t *st, tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "%s: out of memory", st->dir);
    return TL_ENOMEM;
}

static tl__pg_bulk_t *bulk_of(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    if (!pg->bulk) pg->bulk = calloc(1, sizeof *pg->bulk);
    return pg->bulk;
}

int tl__pg_bulk_new(const tl_store_t *st, tl_dkind_t kind, uint32_t idx) {
    const tl__pg_t *pg = tl__pg(st);
    return pg->in_batch && pg->dict[kind] && idx >= pg->dict_comm[kind] &&
           idx < tl_dict_count(pg->dict[kind]);
}

static void rec_free(brec_t *r) {
    for (int i = 0; i < BULK_NV; i++) free(r->v[i]);
}

/* The records kept forgotten; at the batch's end (end 1) their slots and
 * keys too, else (sent in the batch) their slots marked sent. */
static void drop(tl__pg_bulk_t *b, int end) {
    for (int t = 0; t < B__N; t++) {
        for (size_t i = 0; i < b->n[t]; i++) rec_free(&b->r[t][i]);
        b->n[t] = 0;
        for (size_t k = 0; b->slot[t] && k < b->nslot[t]; k++)
            if (b->slot[t][k]) b->slot[t][k] = end ? 0 : SENT;
    }
    if (end && b->keys_init) tl_hset_fini(&b->consent_keys), b->keys_init = 0;
}

/* ---- values as COPY text ----------------------------------------------------------- */

static char *num_i(int64_t v, int present) {
    if (!present) return NULL;
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return strdup(s);
}

static char *num_d(double v) {
    if (isnan(v)) return NULL;
    char s[40];
    snprintf(s, sizeof s, "%.17g", v);
    return strdup(s);
}

static char *text(const char *s) { return s ? strdup(s) : NULL; }

/* Appends s escaped for COPY's text format (\N for NULL). */
static int put_text(tl_buf_t *b, const char *s) {
    if (!s) return tl_buf_append(b, "\\N", 2);
    for (const char *p = s; *p; p++) {
        const char *e = NULL;
        switch (*p) {
        case '\\': e = "\\\\"; break;
        case '\t': e = "\\t"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        }
        if (e ? tl_buf_append(b, e, 2) : tl_buf_append(b, p, 1)) return TL_ENOMEM;
    }
    return 0;
}

static int put_bytea(tl_buf_t *b, const unsigned char *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (tl_buf_append(b, "\\\\x", 3)) return TL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char h[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        if (tl_buf_append(b, h, 2)) return TL_ENOMEM;
    }
    return 0;
}

/* ---- keeping records ---------------------------------------------------------------- */

/* The record of idx in table t (base: the first index the batch
 * interned): the one kept, or a new one (*fresh 1); NULL with *sent when
 * it went already, NULL alone when out of memory. */
static brec_t *record(tl__pg_bulk_t *b, int t, uint32_t idx, uint32_t base, int *fresh,
                      int *sent) {
    size_t k = idx - base;
    *sent = 0;
    if (k >= b->nslot[t]) {
        size_t nn = b->nslot[t] ? b->nslot[t] : 1024;
        while (nn <= k) nn *= 2;
        uint32_t *s = realloc(b->slot[t], nn * sizeof *s);
        if (!s) return NULL;
        memset(s + b->nslot[t], 0, (nn - b->nslot[t]) * sizeof *s);
        b->slot[t] = s, b->nslot[t] = nn;
    }
    if (b->slot[t][k] == SENT) {
        *sent = 1;
        return NULL;
    }
    *fresh = b->slot[t][k] == 0;
    if (!*fresh) return &b->r[t][b->slot[t][k] - 1];
    if (b->n[t] == b->cap[t]) {
        size_t nc = b->cap[t] ? b->cap[t] * 2 : 1024;
        brec_t *r = realloc(b->r[t], nc * sizeof *r);
        if (!r) return NULL;
        b->r[t] = r, b->cap[t] = nc;
    }
    brec_t *r = &b->r[t][b->n[t]];
    memset(r, 0, sizeof *r);
    b->slot[t][k] = (uint32_t)++b->n[t];
    return r;
}

/* Merges vals (owned; NULL: absent) into the record of idx: 1 when that
 * created or changed it, 0 when not, or an error. */
static int keep(tl_store_t *st, int t, uint32_t idx, char **vals, tl_errbuf_t *eb) {
    tl__pg_bulk_t *b = bulk_of(st);
    int fresh = 0, sent = 0, changed = 0;
    brec_t *r = b ? record(b, t, idx, tl__pg(st)->dict_comm[tables[t].kind], &fresh, &sent) : NULL;
    if (r && fresh && !(r->v[0] = num_i(idx, 1))) {
        b->slot[t][idx - tl__pg(st)->dict_comm[tables[t].kind]] = 0, b->n[t]--;
        r = NULL;
    }
    if (!r) {
        for (int i = 1; i < tables[t].ncols; i++) free(vals[i]);
        return sent ? TL__PG_UPSERT : oom(st, eb);
    }
    changed = fresh;
    for (int i = 1; i < tables[t].ncols; i++) {
        if (!vals[i]) continue;
        if (r->v[i] && !strcmp(r->v[i], vals[i])) {
            free(vals[i]);
            continue;
        }
        free(r->v[i]);
        r->v[i] = vals[i];
        changed = 1;
    }
    if (b->n[t] >= BULK_MAX) {
        int rc = tl__pg_bulk_flush(st, eb);
        if (rc) return rc;
    }
    return changed;
}

int tl__pg_bulk_user(tl_store_t *st, uint32_t user, const tl_user_t *u, tl_errbuf_t *eb) {
    char *v[BULK_NV] = {NULL, text(u->gender), num_i(u->birth_year, u->birth_year != 0),
                        text(u->city), text(u->occupation), text(u->education),
                        num_i(u->registered_at, u->registered_at != INT64_MIN), text(u->channel),
                        text(u->attrs), text(u->name), text(u->phone), text(u->email),
                        text(u->id_number)};
    return keep(st, B_USERS, user, v, eb);
}

int tl__pg_bulk_item(tl_store_t *st, uint32_t item, const tl_item_t *it, tl_errbuf_t *eb) {
    char *v[BULK_NV] = {NULL, text(it->title), text(it->category), text(it->brand),
                        num_d(it->price), text(it->attrs)};
    return keep(st, B_ITEMS, item, v, eb);
}

int tl__pg_bulk_product(tl_store_t *st, uint32_t product, const tl_product_t *p,
                        tl_errbuf_t *eb) {
    char *v[BULK_NV] = {NULL, text(p->kind), text(p->name),
                        num_i(p->term_months, p->term_months >= 0), num_d(p->apr),
                        num_d(p->amount_min), num_d(p->amount_max), text(p->eligibility),
                        text(p->disclosure)};
    return keep(st, B_PRODUCTS, product, v, eb);
}

int tl__pg_bulk_credit(tl_store_t *st, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb) {
    char *v[BULK_NV] = {NULL, num_i(c->on_time, c->on_time >= 0), num_i(c->late, c->late >= 0),
                        num_i(c->max_overdue_days, c->max_overdue_days >= 0), num_d(c->debt),
                        text(c->income_band), num_i(c->history_months, c->history_months >= 0),
                        num_i(c->default_flag, c->default_flag >= 0)};
    return keep(st, B_CREDIT, user, v, eb);
}

int tl__pg_bulk_consent(tl_store_t *st, uint32_t user, const char *purpose, int granted,
                        int64_t at, tl_errbuf_t *eb) {
    tl__pg_bulk_t *b = bulk_of(st);
    if (!b) return oom(st, eb);
    if (!b->keys_init) {
        if (tl_hset_init(&b->consent_keys, 1024)) return oom(st, eb);
        b->keys_init = 1;
    }
    /* the key (user, purpose, at, granted): a record kept already is not
     * added again (a hash seen before is checked against the records) */
    uint64_t h = tl_dict_hash(purpose, strlen(purpose)) ^ ((uint64_t)user * 0x9E3779B97F4A7C15ull) ^
                 ((uint64_t)at * 0xC2B2AE3D27D4EB4Full) ^ (uint64_t)(granted != 0);
    char *v[4] = {num_i(user, 1), text(purpose), num_i(granted != 0, 1), num_i(at, 1)};
    int rc = v[0] && v[1] && v[2] && v[3] ? tl_hset_add(&b->consent_keys, h) : TL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < b->n[B_CONSENTS]; i++) {
        char **w = b->r[B_CONSENTS][i].v;
        if (!strcmp(w[0], v[0]) && !strcmp(w[1], v[1]) && !strcmp(w[2], v[2]) && !strcmp(w[3], v[3])) {
            rc = -1; /* kept already */
            break;
        }
    }
    if (rc == 0) rc = 2; /* seen before and not kept: sent already, or another record */
    if (rc == 1 && b->n[B_CONSENTS] == b->cap[B_CONSENTS]) {
        size_t nc = b->cap[B_CONSENTS] ? b->cap[B_CONSENTS] * 2 : 1024;
        brec_t *r = realloc(b->r[B_CONSENTS], nc * sizeof *r);
        if (r) b->r[B_CONSENTS] = r, b->cap[B_CONSENTS] = nc;
        else rc = TL_ENOMEM;
    }
    if (rc != 1) {
        for (int i = 0; i < 4; i++) free(v[i]);
        return rc == -1 ? 0 : rc == 2 ? TL__PG_UPSERT : oom(st, eb);
    }
    brec_t *r = &b->r[B_CONSENTS][b->n[B_CONSENTS]++];
    memset(r, 0, sizeof *r);
    memcpy(r->v, v, sizeof v);
    if (b->n[B_CONSENTS] >= BULK_MAX) {
        int frc = tl__pg_bulk_flush(st, eb);
        if (frc) return frc;
    }
    return 1;
}

/* ---- sending -------------------------------------------------------------------------- */

/* A user's personal fields (v[9..12]) sealed as one value, as entities.c
 * keeps them: four NUL-ended strings. */
static int put_pii(tl_store_t *st, tl_buf_t *line, tl_buf_t *p, char *const *v) {
    if (!v[9] && !v[10] && !v[11] && !v[12]) return tl_buf_append(line, "\\N", 2);
    tl_buf_clear(p);
    for (int i = 9; i < 13; i++)
        if (tl_buf_append(p, v[i] ? v[i] : "", strlen(v[i] ? v[i] : "") + 1)) return TL_ENOMEM;
    size_t plain = p->len;
    if (tl__seal(&st->seal, p->data, plain, p)) return TL_ENOMEM;
    int rc = put_bytea(line, (const unsigned char *)p->data + plain, p->len - plain);
    tl_buf_clear(p);
    return rc;
}

static int send_table(tl_store_t *st, tl__pg_bulk_t *b, int t, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    PGresult *r = PQexec(pg->conn, tables[t].copy);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = tl__pg_fail(st, eb, "writing entities", r);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    tl_buf_t *line = &b->line;
    tl_buf_clear(line);
    int rc = 0, ncols = t == B_USERS ? 9 : tables[t].ncols;
    for (size_t i = 0; i < b->n[t] && !rc; i++) {
        char *const *v = b->r[t][i].v;
        for (int c = 0; c < ncols && !rc; c++)
            rc = (c && tl_buf_append(line, "\t", 1)) || put_text(line, v[c]) ? TL_ENOMEM : 0;
        if (!rc && t == B_USERS) rc = tl_buf_append(line, "\t", 1) || put_pii(st, line, &b->pii, v) ? TL_ENOMEM : 0;
        if (!rc && tl_buf_append(line, "\n", 1)) rc = TL_ENOMEM;
        if (!rc && (line->len >= (256u << 10) || i + 1 == b->n[t])) {
            if (PQputCopyData(pg->conn, line->data, (int)line->len) != 1)
                rc = tl__pg_fail(st, eb, "writing entities", NULL);
            tl_buf_clear(line);
        }
    }
    if (PQputCopyEnd(pg->conn, rc ? "tailor stopped sending" : NULL) != 1 && !rc)
        rc = tl__pg_fail(st, eb, "writing entities", NULL);
    while ((r = PQgetResult(pg->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc) rc = tl__pg_fail(st, eb, "writing entities", r);
        PQclear(r);
    }
    if (rc == TL_ENOMEM) oom(st, eb);
    return rc;
}

int tl__pg_bulk_flush(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    tl__pg_bulk_t *b = pg->bulk;
    if (!b || pg->bulk_sending) return 0;
    int any = 0;
    for (int t = 0; t < B__N; t++) any |= b->n[t] != 0;
    if (!any) return 0;
    int rc = tl__pg_copy_end(st, eb);
    pg->bulk_sending = 1;
    for (int t = 0; t < B__N && !rc; t++)
        if (b->n[t]) rc = send_table(st, b, t, eb);
    pg->bulk_sending = 0;
    drop(b, 0);
    return rc;
}

void tl__pg_bulk_end(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    if (pg->bulk) drop(pg->bulk, 1);
}

void tl__pg_bulk_free(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    tl__pg_bulk_t *b = pg->bulk;
    if (!b) return;
    drop(b, 1);
    if (b->pii.data) sodium_memzero(b->pii.data, b->pii.cap);
    tl_buf_fini(&b->line);
    tl_buf_fini(&b->pii);
    for (int t = 0; t < B__N; t++) {
        free(b->r[t]);
        free(b->slot[t]);
    }
    free(b);
    pg->bulk = NULL;
}
