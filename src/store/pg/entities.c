/* entities.c -- the PostgreSQL back end's entities: users (personal
 * fields sealed together, by tailor, before they are sent), items,
 * products, credit records and consents. An upsert is one statement that
 * merges what is given into what is stored (absent fields keep theirs)
 * and changes the row only when a value differs, so the affected count
 * says whether it created or changed the record. Scans go by index in
 * pages and see only the indexes this handle's dictionaries know (rows of
 * users another process added since are for its next read), as every scan
 * of store.h promises in its order. */
#include "store/pg/pg_int.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 50000 /* rows a page (the LIMIT of KEYED) */

static int oom(tl_store_t *st, tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "%s: out of memory", st->dir);
    return TL_ENOMEM;
}

static int affected(tl_store_t *st, tl_errbuf_t *eb, PGresult *r) {
    (void)st, (void)eb;
    if (!r) return tl__pg_err(st);
    int n = tl__pg_affected(r) > 0;
    PQclear(r);
    return n;
}

/* ---- personal fields: four NUL-ended strings sealed in one value ---------------------- */

#define PII_FIELDS 4

/* The sealed value to store for u's personal fields merged into what is
 * stored: *out NULL (n 0) when none are given or nothing changes. */
static int pii_merge(tl_store_t *st, uint32_t user, const tl_user_t *u, const void **out,
                     size_t *n, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    const char *nw[PII_FIELDS] = {u->name, u->phone, u->email, u->id_number};
    *out = NULL, *n = 0;
    if (!nw[0] && !nw[1] && !nw[2] && !nw[3]) return 0;
    const char *cur[PII_FIELDS] = {"", "", "", ""};
    tl_buf_clear(&pg->tmp);
    PGresult *r = tl__pg_exec(st, eb, "reading a user", "SELECT pii FROM tl_users WHERE idx = $1",
                              "u", user);
    if (!r) return tl__pg_err(st);
    size_t len;
    const void *blob = tl__pg_bytes(r, 0, 0, &len);
    int rc = blob ? tl__unseal(st->seal.key, blob, len, &pg->tmp) : 0;
    PQclear(r);
    if (rc == TL_ENOMEM) return oom(st, eb);
    if (rc) {
        tl_errbuf_set(eb, "%s: personal data of a user cannot be decrypted with this key", st->dir);
        return TL_ECRYPTO;
    }
    const char *p = pg->tmp.data, *e = p ? p + pg->tmp.len : p;
    for (int i = 0; blob && i < PII_FIELDS && p < e; i++) {
        cur[i] = p;
        p += strlen(p) + 1;
    }
    tl_buf_clear(&pg->tmp2);
    int changed = 0;
    for (int i = 0; i < PII_FIELDS; i++) {
        const char *f = nw[i] ? nw[i] : cur[i];
        changed |= strcmp(f, cur[i]) != 0;
        if (tl_buf_append(&pg->tmp2, f, strlen(f) + 1)) return oom(st, eb);
    }
    if (!changed) return 0;
    size_t plain = pg->tmp2.len;
    if (tl__seal(&st->seal, pg->tmp2.data, plain, &pg->tmp2)) return oom(st, eb);
    *out = pg->tmp2.data + plain;
    *n = pg->tmp2.len - plain;
    return 0;
}

/* ---- upserts ---------------------------------------------------------------------------- */

int tl__pg_put_user(tl_store_t *st, uint32_t user, const tl_user_t *u, tl_errbuf_t *eb) {
    if (tl__pg_bulk_new(st, TL_D_USER, user)) {
        int rc = tl__pg_bulk_user(st, user, u, eb);
        if (rc != TL__PG_UPSERT) return rc;
    }
    const void *pii;
    size_t npii;
    int rc = pii_merge(st, user, u, &pii, &npii, eb);
    if (rc) return rc;
    return affected(st, eb, tl__pg_exec(
        st, eb, "writing a user",
        "INSERT INTO tl_users AS t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (idx) DO UPDATE SET gender = coalesce(excluded.gender, t.gender),"
        " birth_year = coalesce(excluded.birth_year, t.birth_year),"
        " city = coalesce(excluded.city, t.city),"
        " occupation = coalesce(excluded.occupation, t.occupation),"
        " education = coalesce(excluded.education, t.education),"
        " registered_at = coalesce(excluded.registered_at, t.registered_at),"
        " channel = coalesce(excluded.channel, t.channel), attrs = coalesce(excluded.attrs, t.attrs),"
        " pii = coalesce(excluded.pii, t.pii)"
        " WHERE excluded.pii IS NOT NULL OR (coalesce(excluded.gender, t.gender),"
        " coalesce(excluded.birth_year, t.birth_year), coalesce(excluded.city, t.city),"
        " coalesce(excluded.occupation, t.occupation), coalesce(excluded.education, t.education),"
        " coalesce(excluded.registered_at, t.registered_at), coalesce(excluded.channel, t.channel),"
        " coalesce(excluded.attrs, t.attrs)) IS DISTINCT FROM (t.gender, t.birth_year, t.city,"
        " t.occupation, t.education, t.registered_at, t.channel, t.attrs)",
        "usnsssnssb", user, u->gender, (int64_t)u->birth_year, u->birth_year != 0, u->city,
        u->occupation, u->education, u->registered_at, u->registered_at != INT64_MIN, u->channel,
        u->attrs, pii, npii));
}

int tl__pg_put_item(tl_store_t *st, uint32_t item, const tl_item_t *it, tl_errbuf_t *eb) {
    if (tl__pg_bulk_new(st, TL_D_ITEM, item)) {
        int rc = tl__pg_bulk_item(st, item, it, eb);
        if (rc != TL__PG_UPSERT) return rc;
    }
    return affected(st, eb, tl__pg_exec(
        st, eb, "writing an item",
        "INSERT INTO tl_items AS t VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (idx) DO UPDATE SET title = coalesce(excluded.title, t.title),"
        " category = coalesce(excluded.category, t.category),"
        " brand = coalesce(excluded.brand, t.brand), price = coalesce(excluded.price, t.price),"
        " attrs = coalesce(excluded.attrs, t.attrs)"
        " WHERE (coalesce(excluded.title, t.title), coalesce(excluded.category, t.category),"
        " coalesce(excluded.brand, t.brand), coalesce(excluded.price, t.price),"
        " coalesce(excluded.attrs, t.attrs)) IS DISTINCT FROM"
        " (t.title, t.category, t.brand, t.price, t.attrs)",
        "usssds", item, it->title, it->category, it->brand, it->price, it->attrs));
}

int tl__pg_put_product(tl_store_t *st, uint32_t product, const tl_product_t *p, tl_errbuf_t *eb) {
    if (tl__pg_bulk_new(st, TL_D_PRODUCT, product)) {
        int rc = tl__pg_bulk_product(st, product, p, eb);
        if (rc != TL__PG_UPSERT) return rc;
    }
    return affected(st, eb, tl__pg_exec(
        st, eb, "writing a product",
        "INSERT INTO tl_products AS t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (idx) DO UPDATE SET kind = coalesce(excluded.kind, t.kind),"
        " name = coalesce(excluded.name, t.name),"
        " term_months = coalesce(excluded.term_months, t.term_months),"
        " apr = coalesce(excluded.apr, t.apr), amount_min = coalesce(excluded.amount_min, t.amount_min),"
        " amount_max = coalesce(excluded.amount_max, t.amount_max),"
        " eligibility = coalesce(excluded.eligibility, t.eligibility),"
        " disclosure = coalesce(excluded.disclosure, t.disclosure)"
        " WHERE (coalesce(excluded.kind, t.kind), coalesce(excluded.name, t.name),"
        " coalesce(excluded.term_months, t.term_months), coalesce(excluded.apr, t.apr),"
        " coalesce(excluded.amount_min, t.amount_min), coalesce(excluded.amount_max, t.amount_max),"
        " coalesce(excluded.eligibility, t.eligibility), coalesce(excluded.disclosure, t.disclosure))"
        " IS DISTINCT FROM (t.kind, t.name, t.term_months, t.apr, t.amount_min, t.amount_max,"
        " t.eligibility, t.disclosure)",
        "ussndddss", product, p->kind, p->name, (int64_t)p->term_months, p->term_months >= 0,
        p->apr, p->amount_min, p->amount_max, p->eligibility, p->disclosure));
}

int tl__pg_put_credit(tl_store_t *st, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb) {
    if (tl__pg_bulk_new(st, TL_D_USER, user)) {
        int rc = tl__pg_bulk_credit(st, user, c, eb);
        if (rc != TL__PG_UPSERT) return rc;
    }
    return affected(st, eb, tl__pg_exec(
        st, eb, "writing a credit record",
        "INSERT INTO tl_credit AS t VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (uid) DO UPDATE SET on_time = coalesce(excluded.on_time, t.on_time),"
        " late = coalesce(excluded.late, t.late),"
        " max_overdue_days = coalesce(excluded.max_overdue_days, t.max_overdue_days),"
        " debt = coalesce(excluded.debt, t.debt),"
        " income_band = coalesce(excluded.income_band, t.income_band),"
        " history_months = coalesce(excluded.history_months, t.history_months),"
        " default_flag = coalesce(excluded.default_flag, t.default_flag)"
        " WHERE (coalesce(excluded.on_time, t.on_time), coalesce(excluded.late, t.late),"
        " coalesce(excluded.max_overdue_days, t.max_overdue_days), coalesce(excluded.debt, t.debt),"
        " coalesce(excluded.income_band, t.income_band),"
        " coalesce(excluded.history_months, t.history_months),"
        " coalesce(excluded.default_flag, t.default_flag)) IS DISTINCT FROM (t.on_time, t.late,"
        " t.max_overdue_days, t.debt, t.income_band, t.history_months, t.default_flag)",
        "unnndsnn", user, c->on_time, c->on_time >= 0, c->late, c->late >= 0, c->max_overdue_days,
        c->max_overdue_days >= 0, c->debt, c->income_band, c->history_months,
        c->history_months >= 0, (int64_t)c->default_flag, c->default_flag >= 0));
}

int tl__pg_put_consent(tl_store_t *st, uint32_t user, const char *purpose, int granted,
                       int64_t at, tl_errbuf_t *eb) {
    if (tl__pg_bulk_new(st, TL_D_USER, user)) {
        int rc = tl__pg_bulk_consent(st, user, purpose, granted, at, eb);
        if (rc != TL__PG_UPSERT) return rc;
    }
    return affected(st, eb, tl__pg_exec(st, eb, "writing a consent",
                                        "INSERT INTO tl_consents VALUES ($1, $2, $3, $4)"
                                        " ON CONFLICT DO NOTHING",
                                        "usii", user, purpose, (int64_t)(granted != 0), at));
}

/* ---- reads --------------------------------------------------------------------------------- */

/* A row of a paged read handed to the caller's callback. */
typedef int (*row_fn)(const PGresult *r, int i, void *ctx);

/* Calls row for every row of sql ($1 the first key, $2 the bound; ordered
 * by the key, the first column, PAGE rows at most), page after page, from
 * key `from` up to `bound`; *seen (when given) counts the rows. */
static int paged(tl_store_t *st, const char *what, const char *sql, int64_t from, int64_t bound,
                 row_fn row, void *ctx, uint64_t *seen, tl_errbuf_t *eb) {
    for (;;) {
        PGresult *r = tl__pg_exec(st, eb, what, sql, "ii", from, bound);
        if (!r) return tl__pg_err(st);
        int n = PQntuples(r), rc = 0;
        for (int i = 0; i < n && !rc; i++) rc = row(r, i, ctx);
        if (seen) *seen += (uint64_t)n;
        if (n) from = tl__pg_int(r, n - 1, 0, 0) + 1;
        PQclear(r);
        if (rc || n < PAGE) return rc;
    }
}

#define KEYED(key) " WHERE " key " >= $1 AND " key " < $2 ORDER BY " key " LIMIT 50000"

typedef struct {
    union {
        tl_user_fn user;
        tl_item_fn item;
        tl_credit_fn credit;
    } fn;
    void *arg;
    int with_attrs; /* one record asked for: its attributes too */
} reader_t;

static int user_row(const PGresult *r, int i, void *ctx) {
    reader_t *x = ctx;
    tl_user_t u = {tl__pg_text(r, i, 1), tl__pg_text(r, i, 3), tl__pg_text(r, i, 4),
                   tl__pg_text(r, i, 5), tl__pg_text(r, i, 7),
                   x->with_attrs ? tl__pg_text(r, i, 8) : NULL, (int32_t)tl__pg_int(r, i, 2, 0),
                   tl__pg_int(r, i, 6, INT64_MIN), NULL, NULL, NULL, NULL};
    return x->fn.user((uint32_t)tl__pg_int(r, i, 0, 0), &u, x->arg);
}

static int item_row(const PGresult *r, int i, void *ctx) {
    reader_t *x = ctx;
    tl_item_t it = {tl__pg_text(r, i, 1), tl__pg_text(r, i, 2), tl__pg_text(r, i, 3),
                    x->with_attrs ? tl__pg_text(r, i, 5) : NULL, tl__pg_real(r, i, 4)};
    return x->fn.item((uint32_t)tl__pg_int(r, i, 0, 0), &it, x->arg);
}

static int credit_row(const PGresult *r, int i, void *ctx) {
    reader_t *x = ctx;
    tl_credit_t c = {tl__pg_int(r, i, 1, -1), tl__pg_int(r, i, 2, -1), tl__pg_int(r, i, 3, -1),
                     tl__pg_int(r, i, 6, -1), tl__pg_real(r, i, 4), tl__pg_text(r, i, 5),
                     (int)tl__pg_int(r, i, 7, -1)};
    return x->fn.credit((uint32_t)tl__pg_int(r, i, 0, 0), &c, x->arg);
}

#define USER_SQL                                                                               \
    "SELECT idx, gender, birth_year, city, occupation, education, registered_at, channel, attrs" \
    " FROM tl_users" KEYED("idx")
#define ITEM_SQL "SELECT idx, title, category, brand, price, attrs FROM tl_items" KEYED("idx")

/* One record by its index: TL_ENOENT when there is none. */
static int get_one(tl_store_t *st, const char *what, const char *sql, uint32_t idx, row_fn row,
                   reader_t x, tl_errbuf_t *eb) {
    uint64_t seen = 0;
    x.with_attrs = 1;
    int rc = paged(st, what, sql, idx, (int64_t)idx + 1, row, &x, &seen, eb);
    return rc ? rc : seen ? 0 : TL_ENOENT;
}

int tl__pg_scan_users(tl_store_t *st, tl_user_fn fn, void *arg, tl_errbuf_t *eb) {
    reader_t x = {.fn.user = fn, .arg = arg};
    return paged(st, "reading users", USER_SQL, 0, tl__pg_known(st, TL_D_USER), user_row, &x,
                 NULL, eb);
}

int tl__pg_get_user(tl_store_t *st, uint32_t user, tl_user_fn fn, void *arg, tl_errbuf_t *eb) {
    return get_one(st, "reading a user", USER_SQL, user, user_row,
                   (reader_t){.fn.user = fn, .arg = arg}, eb);
}

int tl__pg_scan_items(tl_store_t *st, tl_item_fn fn, void *arg, tl_errbuf_t *eb) {
    reader_t x = {.fn.item = fn, .arg = arg};
    return paged(st, "reading items", ITEM_SQL, 0, tl__pg_known(st, TL_D_ITEM), item_row, &x,
                 NULL, eb);
}

int tl__pg_get_item(tl_store_t *st, uint32_t item, tl_item_fn fn, void *arg, tl_errbuf_t *eb) {
    return get_one(st, "reading an item", ITEM_SQL, item, item_row,
                   (reader_t){.fn.item = fn, .arg = arg}, eb);
}

int tl__pg_scan_products(tl_store_t *st, tl_product_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading products",
                              "SELECT idx, kind, name, term_months, apr, amount_min, amount_max,"
                              " eligibility, disclosure FROM tl_products WHERE idx < $1 ORDER BY idx",
                              "i", tl__pg_known(st, TL_D_PRODUCT));
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        tl_product_t p = {tl__pg_text(r, i, 1), tl__pg_text(r, i, 2), tl__pg_text(r, i, 7),
                          tl__pg_text(r, i, 8), (int32_t)tl__pg_int(r, i, 3, -1),
                          tl__pg_real(r, i, 4), tl__pg_real(r, i, 5), tl__pg_real(r, i, 6)};
        rc = fn((uint32_t)tl__pg_int(r, i, 0, 0), &p, arg);
    }
    PQclear(r);
    return rc;
}

int tl__pg_scan_credit(tl_store_t *st, uint32_t user, tl_credit_fn fn, void *arg,
                       tl_errbuf_t *eb) {
    reader_t x = {.fn.credit = fn, .arg = arg};
    return paged(st, "reading credit records",
                 "SELECT uid, on_time, late, max_overdue_days, debt, income_band, history_months,"
                 " default_flag FROM tl_credit" KEYED("uid"),
                 user == TL_NONE ? 0 : user,
                 user == TL_NONE ? tl__pg_known(st, TL_D_USER) : (int64_t)user + 1, credit_row, &x,
                 NULL, eb);
}

int tl__pg_scan_consents(tl_store_t *st, uint32_t user, tl_consent_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    int64_t bound = user == TL_NONE ? tl__pg_known(st, TL_D_USER) : (int64_t)user + 1;
    /* pages by user: a user's records come in one page or the next */
    for (int64_t from = user == TL_NONE ? 0 : user; from < bound;) {
        int64_t to = from + PAGE / 4 < bound ? from + PAGE / 4 : bound;
        PGresult *r = tl__pg_exec(st, eb, "reading consents",
                                  "SELECT uid, purpose, granted, at FROM tl_consents"
                                  " WHERE uid >= $1 AND uid < $2"
                                  " ORDER BY uid, purpose COLLATE \"C\", at, granted",
                                  "ii", from, to);
        if (!r) return tl__pg_err(st);
        int rc = 0;
        for (int i = 0; i < PQntuples(r) && !rc; i++)
            rc = fn((uint32_t)tl__pg_int(r, i, 0, 0), tl__pg_text(r, i, 1),
                    (int)tl__pg_int(r, i, 2, 0), tl__pg_int(r, i, 3, 0), arg);
        PQclear(r);
        if (rc) return rc;
        if (user == TL_NONE && to < bound && bound == INT64_MAX) {
            /* no bound known: the next user that has records */
            PGresult *q = tl__pg_exec(st, eb, "reading consents",
                                      "SELECT min(uid) FROM tl_consents WHERE uid >= $1", "i", to);
            if (!q) return tl__pg_err(st);
            int64_t next = tl__pg_int(q, 0, 0, -1);
            PQclear(q);
            if (next < 0) return 0;
            from = next;
        } else {
            from = to;
        }
    }
    return 0;
}

int tl__pg_user_pii(tl_store_t *st, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a user", "SELECT pii FROM tl_users WHERE idx = $1",
                              "u", user);
    if (!r) return tl__pg_err(st);
    size_t len;
    const void *blob = tl__pg_bytes(r, 0, 0, &len);
    int rc = blob ? tl__unseal(st->seal.key, blob, len, out) : 0;
    PQclear(r);
    if (rc == TL_ENOMEM) return oom(st, eb);
    if (rc) {
        tl_errbuf_set(eb, "%s: personal data of a user cannot be decrypted with this key", st->dir);
        return TL_ECRYPTO;
    }
    if (!blob && tl_buf_append(out, "\0\0\0", 4)) return oom(st, eb);
    return 0;
}

int tl__pg_counts(tl_store_t *st, tl_store_counts_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    PGresult *r = tl__pg_exec(
        st, eb, "counting",
        "SELECT (SELECT coalesce(sum(n), 0) FROM tl_dict WHERE kind = $1)"
        " - (SELECT count(*) FROM tl_erased),"
        " (SELECT coalesce(sum(n), 0) FROM tl_dict WHERE kind = $2),"
        " (SELECT count(*) FROM tl_products), (SELECT count(*) FROM tl_credit),"
        " (SELECT count(*) FROM tl_consents), (SELECT count(*) FROM tl_quarantine),"
        " (SELECT n FROM tl_counter WHERE name = 'events')",
        "ii", (int64_t)TL_D_USER, (int64_t)TL_D_ITEM);
    if (!r) return tl__pg_err(st);
    out->users = (uint64_t)tl__pg_int(r, 0, 0, 0);
    out->items = (uint64_t)tl__pg_int(r, 0, 1, 0);
    out->products = (uint64_t)tl__pg_int(r, 0, 2, 0);
    out->credit = (uint64_t)tl__pg_int(r, 0, 3, 0);
    out->consents = (uint64_t)tl__pg_int(r, 0, 4, 0);
    out->quarantined = (uint64_t)tl__pg_int(r, 0, 5, 0);
    out->events = (uint64_t)tl__pg_int(r, 0, 6, 0);
    PQclear(r);
    return 0;
}
