/* rows.c -- the local back end's rows of entities (users with their
 * personal fields sealed, items, products, credit records: merged with what
 * is stored, a field left out keeps its value), consents and the quarantine
 * (each row once, its raw text sealed, with its source and line). */
#include "sqlite_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- entities ------------------------------------------------------------ */

/* A column value for the merge-upsert below. */
typedef struct {
    int t; /* 0 = absent, else SQLITE_INTEGER / SQLITE_FLOAT / SQLITE_TEXT / SQLITE_BLOB */
    int64_t i;
    double d;
    const void *p;
    size_t n;
} val_t;

static val_t v_text(const char *s) {
    val_t v = {0};
    if (s) v.t = SQLITE_TEXT, v.p = s, v.n = strlen(s);
    return v;
}
static val_t v_int(int64_t i, int present) {
    val_t v = {0};
    if (present) v.t = SQLITE_INTEGER, v.i = i;
    return v;
}
static val_t v_real(double d) {
    val_t v = {0};
    if (!isnan(d)) v.t = SQLITE_FLOAT, v.d = d;
    return v;
}

/* The value of column c of the current row; 0, or -1 when SQLite ran out
 * of memory making it (text and blobs may be copied on the way). */
static int col_val(sqlite3_stmt *q, int c, val_t *v) {
    *v = (val_t){0};
    switch (sqlite3_column_type(q, c)) {
    case SQLITE_INTEGER: v->t = SQLITE_INTEGER, v->i = sqlite3_column_int64(q, c); break;
    case SQLITE_FLOAT: v->t = SQLITE_FLOAT, v->d = sqlite3_column_double(q, c); break;
    case SQLITE_TEXT:
        v->t = SQLITE_TEXT, v->p = sqlite3_column_text(q, c), v->n = (size_t)sqlite3_column_bytes(q, c);
        if (!v->p) return -1; /* text is never NULL, even empty */
        break;
    case SQLITE_BLOB:
        v->t = SQLITE_BLOB, v->p = sqlite3_column_blob(q, c), v->n = (size_t)sqlite3_column_bytes(q, c);
        if (!v->p && v->n) return -1;
        break;
    default: break;
    }
    return 0;
}

static int val_eq(const val_t *a, const val_t *b) {
    if (a->t != b->t) return 0;
    switch (a->t) {
    case 0: return 1;
    case SQLITE_INTEGER: return a->i == b->i;
    case SQLITE_FLOAT: return a->d == b->d;
    default: return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
    }
}

/* Text and blobs are copied (they may point into the row of the get
 * statement, reset before the write), so binding can run out of memory. */
static int bind_val(sqlite3_stmt *q, int pos, const val_t *v) {
    switch (v->t) {
    case SQLITE_INTEGER: return sqlite3_bind_int64(q, pos, v->i);
    case SQLITE_FLOAT: return sqlite3_bind_double(q, pos, v->d);
    case SQLITE_TEXT: return sqlite3_bind_text(q, pos, v->p, (int)v->n, SQLITE_TRANSIENT);
    case SQLITE_BLOB: return sqlite3_bind_blob(q, pos, v->p, (int)v->n, SQLITE_TRANSIENT);
    default: return sqlite3_bind_null(q, pos);
    }
}

/* Loads the stored row of key with get, merges v[] over it (absent values
 * keep the stored ones), and writes the result with put when it differs.
 * Returns 1 if written, 0 if nothing changed. */
static int merge_upsert(tl_store_t *s, int get, int put, int64_t key, val_t *v, int n,
                        tl_errbuf_t *eb) {
    int brc = tl__local_batch_alive(s, eb);
    if (brc) return brc;
    sqlite3_stmt *g = tl__local_stmt(s, get), *p = tl__local_stmt(s, put);
    if (!g || !p) return tl__local_sql_fail(s, eb, "preparing an entity statement");
    sqlite3_bind_int64(g, 1, key);
    int rc = sqlite3_step(g);
    int exists = rc == SQLITE_ROW, changed = !exists;
    if (!exists && rc != SQLITE_DONE) return tl__local_sql_fail(s, eb, "reading an entity");
    brc = SQLITE_OK;
    for (int c = 0; c < n && brc == SQLITE_OK; c++) {
        val_t old = {0};
        if (exists && col_val(g, c, &old)) {
            brc = SQLITE_NOMEM;
            break;
        }
        if (v[c].t == 0) v[c] = old;
        else if (!val_eq(&v[c], &old)) changed = 1;
        brc = bind_val(p, c + 1, &v[c]);
    }
    if (brc == SQLITE_OK) brc = sqlite3_bind_int64(p, 10, key);
    sqlite3_reset(g);
    if (brc != SQLITE_OK) {
        if (brc == SQLITE_NOMEM) {
            tl_errbuf_set(eb, "%s/tailor.db: out of memory reading an entity", s->dir);
            return TL_ENOMEM;
        }
        return tl__local_sql_fail(s, eb, "binding an entity");
    }
    if (!changed) return 0;
    if (sqlite3_step(p) != SQLITE_DONE) return tl__local_sql_fail(s, eb, "writing an entity");
    return 1;
}

/* Personal fields are sealed together as four NUL-terminated strings. */
#define PII_FIELDS 4

static int put_pii(tl_store_t *s, sqlite3_int64 idx, const tl_user_t *u, val_t *out,
                   tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    const char *nw[PII_FIELDS] = {u->name, u->phone, u->email, u->id_number};
    int any = 0;
    for (int i = 0; i < PII_FIELDS; i++) any |= nw[i] != NULL;
    *out = (val_t){0};
    if (!any) return 0;
    /* Current plaintext, if any. */
    const char *cur[PII_FIELDS] = {"", "", "", ""};
    tl_buf_clear(&lo->tmp);
    sqlite3_stmt *g = tl__local_stmt(s, S_USER_GET);
    if (!g) return tl__local_sql_fail(s, eb, "preparing user read");
    sqlite3_bind_int64(g, 1, idx);
    int rc = sqlite3_step(g);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_reset(g);
        return tl__local_sql_fail(s, eb, "reading a user");
    }
    if (rc == SQLITE_ROW && sqlite3_column_type(g, 8) == SQLITE_BLOB) {
        val_t blob;
        if (col_val(g, 8, &blob)) {
            sqlite3_reset(g);
            tl_errbuf_set(eb, "%s/tailor.db: out of memory reading a user", s->dir);
            return TL_ENOMEM;
        }
        int urc = tl__unseal(s->seal.key, blob.p, blob.n, &lo->tmp);
        if (urc == TL_ENOMEM) {
            sqlite3_reset(g);
            tl_errbuf_set(eb, "%s: out of memory reading a user", s->dir);
            return TL_ENOMEM;
        }
        if (urc != 0) {
            sqlite3_reset(g);
            tl_errbuf_set(eb, "%s: personal data of a user cannot be decrypted with this key",
                          s->dir);
            return TL_ECRYPTO;
        }
        const char *p = lo->tmp.data, *e = lo->tmp.data + lo->tmp.len;
        for (int i = 0; i < PII_FIELDS && p < e; i++) {
            cur[i] = p;
            p += strlen(p) + 1;
        }
    }
    sqlite3_reset(g);
    tl_buf_clear(&lo->tmp2);
    int changed = 0;
    for (int i = 0; i < PII_FIELDS; i++) {
        const char *f = nw[i] ? nw[i] : cur[i];
        if (strcmp(f, cur[i]) != 0) changed = 1;
        if (tl_buf_append(&lo->tmp2, f, strlen(f) + 1)) return TL_ENOMEM;
    }
    if (!changed) return 0; /* absent: merge keeps the stored blob */
    size_t plain = lo->tmp2.len;
    if (tl__seal(&s->seal, lo->tmp2.data, plain, &lo->tmp2)) return TL_ENOMEM;
    out->t = SQLITE_BLOB;
    out->p = lo->tmp2.data + plain;
    out->n = lo->tmp2.len - plain;
    return 0;
}

int tl__loc_put_user(tl_store_t *s, uint32_t idx, const tl_user_t *u, tl_errbuf_t *eb) {
    val_t v[9] = {v_text(u->gender), v_int(u->birth_year, u->birth_year != 0), v_text(u->city),
                  v_text(u->occupation), v_text(u->education),
                  v_int(u->registered_at, u->registered_at != INT64_MIN), v_text(u->channel),
                  v_text(u->attrs)};
    int rc = put_pii(s, idx, u, &v[8], eb);
    if (rc) return rc;
    return merge_upsert(s, S_USER_GET, S_USER_PUT, idx, v, 9, eb);
}

int tl__loc_put_item(tl_store_t *s, uint32_t idx, const tl_item_t *it, tl_errbuf_t *eb) {
    val_t v[5] = {v_text(it->title), v_text(it->category), v_text(it->brand), v_real(it->price),
                  v_text(it->attrs)};
    return merge_upsert(s, S_ITEM_GET, S_ITEM_PUT, idx, v, 5, eb);
}

int tl__loc_put_product(tl_store_t *s, uint32_t idx, const tl_product_t *p, tl_errbuf_t *eb) {
    val_t v[8] = {v_text(p->kind), v_text(p->name), v_int(p->term_months, p->term_months >= 0),
                  v_real(p->apr), v_real(p->amount_min), v_real(p->amount_max),
                  v_text(p->eligibility), v_text(p->disclosure)};
    return merge_upsert(s, S_PROD_GET, S_PROD_PUT, idx, v, 8, eb);
}

int tl__loc_put_credit(tl_store_t *s, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb) {
    val_t v[7] = {v_int(c->on_time, c->on_time >= 0), v_int(c->late, c->late >= 0),
                  v_int(c->max_overdue_days, c->max_overdue_days >= 0), v_real(c->debt),
                  v_text(c->income_band), v_int(c->history_months, c->history_months >= 0),
                  v_int(c->default_flag, c->default_flag >= 0)};
    return merge_upsert(s, S_CRED_GET, S_CRED_PUT, user, v, 7, eb);
}

int tl__loc_put_consent(tl_store_t *s, uint32_t user, const char *purpose, int granted,
                           int64_t at, tl_errbuf_t *eb) {
    int rc = tl__local_batch_alive(s, eb);
    if (rc) return rc;
    sqlite3_stmt *q = tl__local_stmt(s, S_CONSENT);
    if (!q) return tl__local_sql_fail(s, eb, "preparing consent insert");
    sqlite3_bind_int64(q, 1, user);
    sqlite3_bind_text(q, 2, purpose, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, granted != 0);
    sqlite3_bind_int64(q, 4, at);
    if (sqlite3_step(q) != SQLITE_DONE) return tl__local_sql_fail(s, eb, "writing a consent");
    int added = sqlite3_changes(tl__lo(s)->db) > 0;
    tl__lo(s)->consents_dirty |= added;
    return added;
}

/* The id of a source file's path in the sources table, added if new; the
 * last one is remembered, since rows come file by file. */
static int source_id(tl_store_t *s, const char *path, int64_t *out, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    if (lo->last_source && strcmp(lo->last_source, path) == 0) {
        *out = lo->last_source_id;
        return 0;
    }
    sqlite3_stmt *q = tl__local_stmt(s, S_SOURCE_GET);
    if (!q) return tl__local_sql_fail(s, eb, "preparing a source lookup");
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return tl__local_sql_fail(s, eb, "looking up a source");
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(q, 0);
    } else {
        q = tl__local_stmt(s, S_SOURCE_ADD);
        if (!q) return tl__local_sql_fail(s, eb, "preparing a source insert");
        sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE) return tl__local_sql_fail(s, eb, "adding a source");
        *out = sqlite3_last_insert_rowid(lo->db);
    }
    char *copy = strdup(path);
    if (!copy) return TL_ENOMEM;
    free(lo->last_source);
    lo->last_source = copy;
    lo->last_source_id = *out;
    lo->qfps_loaded = 0;
    return 0;
}

/* Loads the fingerprints of the rows already quarantined from a source. */
static int load_qfps(tl_store_t *s, int64_t src, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    tl_hset_fini(&lo->qfps);
    if (tl_hset_init(&lo->qfps, 1024)) return TL_ENOMEM;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(lo->db, "SELECT fp FROM quarantine WHERE source = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return tl__local_sql_fail(s, eb, "reading the quarantine");
    sqlite3_bind_int64(q, 1, src);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        if (tl_hset_add(&lo->qfps, (uint64_t)sqlite3_column_int64(q, 0)) < 0) {
            sqlite3_finalize(q);
            return TL_ENOMEM;
        }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return tl__local_sql_fail(s, eb, "reading the quarantine");
    lo->qfps_loaded = 1;
    return 0;
}

int tl__loc_quarantine(tl_store_t *s, const char *source, uint64_t line, const char *reason,
                          const char *message, const char *raw, size_t rawlen,
                          const char *preview, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    int64_t src = 0;
    int rc = tl__local_batch_alive(s, eb);
    if (!rc) rc = source_id(s, source, &src, eb);
    if (rc) return rc;
    if (!lo->qfps_loaded && (rc = load_qfps(s, src, eb))) return rc;
    uint64_t fp = tl_hash64(raw, rawlen, line);
    rc = tl_hset_add(&lo->qfps, fp);
    if (rc <= 0) return rc; /* 0: this row is quarantined already */
    sqlite3_stmt *q = tl__local_stmt(s, S_QUAR);
    if (!q) return tl__local_sql_fail(s, eb, "preparing quarantine insert");
    tl_buf_clear(&lo->tmp);
    if (tl__seal(&s->seal, raw, rawlen, &lo->tmp)) return TL_ENOMEM;
    sqlite3_bind_int64(q, 1, src);
    sqlite3_bind_int64(q, 2, (int64_t)line);
    sqlite3_bind_int64(q, 3, (int64_t)fp);
    sqlite3_bind_text(q, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, message, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 6, lo->tmp.data, (int)lo->tmp.len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 7, tl_store_now(s));
    sqlite3_bind_text(q, 8, preview, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) return tl__local_sql_fail(s, eb, "writing the quarantine");
    return 1;
}

/* ---- reading ------------------------------------------------------------- */

int tl__loc_user_pii(tl_store_t *s, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "SELECT pii FROM users WHERE idx = ?1", -1, &q, NULL) != SQLITE_OK)
        return tl__local_sql_fail(s, eb, "reading a user");
    sqlite3_bind_int64(q, 1, user);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_BLOB) {
        val_t blob;
        rc = col_val(q, 0, &blob) ? TL_ENOMEM
             : !s->have_key       ? TL_ECRYPTO
                                  : tl__unseal(s->seal.key, blob.p, blob.n, out);
        if (rc == TL_ENOMEM)
            tl_errbuf_set(eb, "%s: out of memory reading personal data", s->dir);
        else if (rc)
            tl_errbuf_set(eb, "%s: personal data cannot be decrypted: the key is missing or wrong",
                          s->dir);
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        rc = tl_buf_append(out, "\0\0\0\0", 4);
    } else {
        rc = tl__local_sql_fail(s, eb, "reading a user");
    }
    sqlite3_finalize(q);
    return rc;
}

