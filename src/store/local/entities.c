/* entities.c -- typed reads of the entity tables: scans of users, items,
 * products, credit and consents, one user's record, the consent in force
 * for a purpose, and the quarantine's counts by reason.
 *
 * The modules above read entities through these, never through SQL: each
 * row comes as the record tl_store_put_* takes (absent fields as NULL,
 * NaN, 0 or -1), so another back end implements the same calls over its
 * own storage. Every scan walks the table in the key order its contract
 * in store.h names; SQLite serves each from its primary key, without a
 * sort. */
#include "store/local/local_int.h"

/* ---- rows ----------------------------------------------------------------- */

int tl__local_rows(tl_store_t *s, const char *sql, uint32_t key, tl__row_fn row, void *arg,
                   const char *what, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    int rc = tl__local_prepare(s, sql, &q, what, eb);
    if (rc) return rc == 1 ? 0 : rc;
    if (key != TL_NONE) sqlite3_bind_int64(q, 1, key);
    return tl__local_each(s, q, row, arg, what, eb);
}

/* One row by key through row(): TL_ENOENT when there is none. */
typedef struct {
    tl__row_fn row;
    void *arg;
    int found;
} one_t;

static int one_row(sqlite3_stmt *q, void *arg) {
    one_t *o = arg;
    o->found = 1;
    return o->row(q, o->arg);
}

static int get_one(tl_store_t *s, const char *sql, uint32_t key, tl__row_fn row, void *arg,
                   const char *what, tl_errbuf_t *eb) {
    one_t o = {row, arg, 0};
    int rc = tl__local_rows(s, sql, key, one_row, &o, what, eb);
    return rc ? rc : o.found ? 0 : TL_ENOENT;
}

/* ---- users -------------------------------------------------------------- */

typedef struct {
    tl_user_fn fn;
    void *arg;
} users_t;

static int user_row(sqlite3_stmt *q, void *arg) {
    const users_t *x = arg;
    tl_user_t u = {.gender = tl__col_text(q, 1), .birth_year = sqlite3_column_int(q, 2),
                   .city = tl__col_text(q, 3), .occupation = tl__col_text(q, 4),
                   .education = tl__col_text(q, 5), .registered_at = tl__col_i64(q, 6, INT64_MIN),
                   .channel = tl__col_text(q, 7),
                   .attrs = sqlite3_column_count(q) > 8 ? tl__col_text(q, 8) : NULL};
    return x->fn((uint32_t)sqlite3_column_int64(q, 0), &u, x->arg);
}

#define USER_COLS "SELECT idx, gender, birth_year, city, occupation, education, registered_at, channel"

int tl__local_scan_users(tl_store_t *s, tl_user_fn fn, void *arg, tl_errbuf_t *eb) {
    users_t x = {fn, arg};
    return tl__local_rows(s, USER_COLS " FROM users ORDER BY idx", TL_NONE, user_row, &x,
                          "reading users", eb);
}

int tl__local_get_user(tl_store_t *s, uint32_t user, tl_user_fn fn, void *arg, tl_errbuf_t *eb) {
    users_t x = {fn, arg};
    return get_one(s, USER_COLS ", attrs FROM users WHERE idx = ?1", user, user_row, &x,
                   "reading a user", eb);
}

/* ---- items and products ------------------------------------------------- */

typedef struct {
    tl_item_fn fn;
    void *arg;
} items_t;

static int item_row(sqlite3_stmt *q, void *arg) {
    const items_t *x = arg;
    tl_item_t it = {.title = tl__col_text(q, 1), .category = tl__col_text(q, 2),
                    .brand = tl__col_text(q, 3), .price = tl__col_real(q, 4),
                    .attrs = sqlite3_column_count(q) > 5 ? tl__col_text(q, 5) : NULL};
    return x->fn((uint32_t)sqlite3_column_int64(q, 0), &it, x->arg);
}

int tl__local_scan_items(tl_store_t *s, tl_item_fn fn, void *arg, tl_errbuf_t *eb) {
    items_t x = {fn, arg};
    return tl__local_rows(s, "SELECT idx, title, category, brand, price FROM items ORDER BY idx",
                          TL_NONE, item_row, &x, "reading items", eb);
}

int tl__local_get_item(tl_store_t *s, uint32_t item, tl_item_fn fn, void *arg, tl_errbuf_t *eb) {
    items_t x = {fn, arg};
    return get_one(s, "SELECT idx, title, category, brand, price, attrs FROM items WHERE idx = ?1",
                   item, item_row, &x, "reading an item", eb);
}

typedef struct {
    tl_product_fn fn;
    void *arg;
} products_t;

static int product_row(sqlite3_stmt *q, void *arg) {
    const products_t *x = arg;
    tl_product_t p = {.kind = tl__col_text(q, 1), .name = tl__col_text(q, 2),
                      .term_months = (int32_t)tl__col_i64(q, 3, -1), .apr = tl__col_real(q, 4),
                      .amount_min = tl__col_real(q, 5), .amount_max = tl__col_real(q, 6),
                      .eligibility = tl__col_text(q, 7), .disclosure = tl__col_text(q, 8)};
    return x->fn((uint32_t)sqlite3_column_int64(q, 0), &p, x->arg);
}

int tl__local_scan_products(tl_store_t *s, tl_product_fn fn, void *arg, tl_errbuf_t *eb) {
    products_t x = {fn, arg};
    return tl__local_rows(s, "SELECT idx, kind, name, term_months, apr, amount_min, amount_max, "
                             "eligibility, disclosure FROM products ORDER BY idx",
                          TL_NONE, product_row, &x, "reading products", eb);
}

/* ---- credit and consents ------------------------------------------------ */

typedef struct {
    tl_credit_fn fn;
    void *arg;
} credit_t;

static int credit_row(sqlite3_stmt *q, void *arg) {
    const credit_t *x = arg;
    tl_credit_t c = {.on_time = tl__col_i64(q, 1, -1), .late = tl__col_i64(q, 2, -1),
                     .max_overdue_days = tl__col_i64(q, 3, -1), .debt = tl__col_real(q, 4),
                     .income_band = tl__col_text(q, 5), .history_months = tl__col_i64(q, 6, -1),
                     .default_flag = (int)tl__col_i64(q, 7, -1)};
    return x->fn((uint32_t)sqlite3_column_int64(q, 0), &c, x->arg);
}

#define CREDIT_COLS "SELECT user, on_time, late, max_overdue_days, debt, income_band, " \
                    "history_months, default_flag FROM credit"

int tl__local_scan_credit(tl_store_t *s, uint32_t user, tl_credit_fn fn, void *arg,
                          tl_errbuf_t *eb) {
    credit_t x = {fn, arg};
    return tl__local_rows(s, user == TL_NONE ? CREDIT_COLS " ORDER BY user"
                                             : CREDIT_COLS " WHERE user = ?1",
                          user, credit_row, &x, "reading credit records", eb);
}

typedef struct {
    tl_consent_fn fn;
    void *arg;
} consents_t;

static int consent_row(sqlite3_stmt *q, void *arg) {
    const consents_t *x = arg;
    return x->fn((uint32_t)sqlite3_column_int64(q, 0), tl__col_text(q, 1),
                 sqlite3_column_int(q, 2) != 0, sqlite3_column_int64(q, 3), x->arg);
}

int tl__local_scan_consents(tl_store_t *s, uint32_t user, tl_consent_fn fn, void *arg,
                            tl_errbuf_t *eb) {
    consents_t x = {fn, arg};
    return tl__local_rows(s, user == TL_NONE ? "SELECT user, purpose, granted, at FROM consents "
                                               "ORDER BY user, purpose, at, granted"
                                             : "SELECT user, purpose, granted, at FROM consents "
                                               "WHERE user = ?1 ORDER BY user, purpose, at, granted",
                          user, consent_row, &x, "reading consents", eb);
}

/* ---- the quarantine ----------------------------------------------------- */

typedef struct {
    tl_reason_fn fn;
    void *arg;
} reasons_t;

static int reason_row(sqlite3_stmt *q, void *arg) {
    const reasons_t *x = arg;
    return x->fn(tl__col_text(q, 0), (uint64_t)sqlite3_column_int64(q, 1), x->arg);
}

int tl__local_quarantine_counts(tl_store_t *s, tl_reason_fn fn, void *arg, tl_errbuf_t *eb) {
    reasons_t x = {fn, arg};
    return tl__local_rows(s, "SELECT reason, count(*) FROM quarantine WHERE reason IS NOT NULL "
                             "GROUP BY reason ORDER BY 2 DESC, 1",
                          TL_NONE, reason_row, &x, "reading the quarantine", eb);
}
