/* dicts.c -- the PostgreSQL back end's dictionaries: each kind kept in
 * runs of tl_dict (the ids of indexes first..first+n-1, NUL-ended, in one
 * bytea: a row per batch, not per id), loaded on first use; the entries
 * other processes committed read at each begin, under the writers' lock,
 * so an index is given once across every process; a batch's new entries
 * written as one run at its commit and forgotten at its rollback. */
#include "store/pg/pg_int.h"

#include <stdlib.h>
#include <string.h>

static int oom(tl_store_t *st, tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "%s: out of memory loading a dictionary", st->dir);
    return TL_ENOMEM;
}

/* Interns the runs of kind from index `from` on into d. */
static int load_runs(tl_store_t *st, tl_dkind_t kind, tl_dict_t *d, uint32_t from,
                     tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "loading a dictionary",
                              "SELECT first, n, ids FROM tl_dict WHERE kind = $1 AND first >= $2"
                              " ORDER BY first", "ii", (int64_t)kind, (int64_t)from);
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int row = 0; !rc && row < PQntuples(r); row++) {
        int64_t first = tl__pg_int(r, row, 0, -1), n = tl__pg_int(r, row, 1, -1);
        size_t len;
        const char *p = tl__pg_bytes(r, row, 2, &len), *end = p + len;
        if (first != (int64_t)tl_dict_count(d)) rc = TL_ECORRUPT;
        for (int64_t i = 0; !rc && i < n; i++) {
            const char *z = memchr(p, 0, (size_t)(end - p));
            uint32_t idx;
            int added = 0;
            if (!z) rc = TL_ECORRUPT;
            else if (tl_dict_intern(d, p, (size_t)(z - p), &idx, &added)) rc = TL_ENOMEM;
            else if (!added) rc = TL_ECORRUPT;
            else p = z + 1;
        }
        if (!rc && p != end) rc = TL_ECORRUPT;
    }
    PQclear(r);
    if (rc == TL_ENOMEM) return oom(st, eb);
    if (rc) tl_errbuf_set(eb, "%s: dictionary %d is inconsistent near index %u", st->dir, (int)kind,
                          tl_dict_count(d));
    return rc;
}

tl_dict_t *tl__pg_dict(tl_store_t *st, tl_dkind_t kind, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (pg->dict[kind]) return pg->dict[kind];
    tl_dict_t *d = tl_dict_new();
    if (!d) {
        oom(st, eb);
        return NULL;
    }
    if (load_runs(st, kind, d, 0, eb)) {
        tl_dict_free(d);
        return NULL;
    }
    pg->dict[kind] = d;
    pg->dict_comm[kind] = tl_dict_count(d);
    return d;
}

int tl__pg_dicts_refresh(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    for (int k = 0; k < TL_D__N; k++) {
        if (!pg->dict[k]) continue;
        int rc = load_runs(st, (tl_dkind_t)k, pg->dict[k], pg->dict_comm[k], eb);
        if (rc) return rc;
        pg->dict_comm[k] = tl_dict_count(pg->dict[k]);
    }
    return 0;
}

int tl__pg_dicts_flush(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    for (int k = 0; k < TL_D__N; k++) {
        tl_dict_t *d = pg->dict[k];
        if (!d || tl_dict_count(d) == pg->dict_comm[k]) continue;
        uint32_t first = pg->dict_comm[k], n = tl_dict_count(d) - first;
        /* consecutive indexes lie back to back, each with its NUL */
        size_t l0, ln;
        const char *p = tl_dict_str(d, first, &l0);
        const char *q = tl_dict_str(d, first + n - 1, &ln);
        int rc = tl__pg_run(st, eb, "writing a dictionary",
                            "INSERT INTO tl_dict VALUES ($1, $2, $3, $4)", "iiib", (int64_t)k,
                            (int64_t)first, (int64_t)n, (const void *)p,
                            (size_t)(q + ln + 1 - p));
        if (rc) return rc;
    }
    return 0;
}

void tl__pg_dicts_end(tl_store_t *st, int ok) {
    tl__pg_t *pg = tl__pg(st);
    for (int k = 0; k < TL_D__N; k++) {
        if (!pg->dict[k]) continue;
        if (ok) {
            pg->dict_comm[k] = tl_dict_count(pg->dict[k]);
        } else if (tl_dict_truncate(pg->dict[k], pg->dict_comm[k])) {
            tl_dict_free(pg->dict[k]); /* loaded again on use */
            pg->dict[k] = NULL;
        }
    }
}

/* The number of ids committed of a kind. */
static int committed_n(tl_store_t *st, tl_dkind_t kind, uint32_t *n, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "counting a dictionary",
                              "SELECT coalesce(max(first + n), 0) FROM tl_dict WHERE kind = $1",
                              "i", (int64_t)kind);
    if (!r) return tl__pg_err(st);
    *n = (uint32_t)tl__pg_int(r, 0, 0, 0);
    PQclear(r);
    return 0;
}

int tl__pg_ids(tl_store_t *st, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    uint32_t now = 0;
    int rc = committed_n(st, kind, &now, eb);
    if (rc) return rc;
    if (!pg->ids_loaded[kind] || pg->ids_n[kind] != now) {
        tl_buf_t *a = &pg->ids_arena[kind];
        tl_buf_clear(a);
        free(pg->ids_offs[kind]);
        pg->ids_offs[kind] = NULL;
        pg->ids_loaded[kind] = 0;
        PGresult *r = tl__pg_exec(st, eb, "loading a dictionary",
                                  "SELECT first, n, ids FROM tl_dict WHERE kind = $1 ORDER BY first",
                                  "i", (int64_t)kind);
        if (!r) return tl__pg_err(st);
        uint64_t n = 0;
        for (int row = 0; !rc && row < PQntuples(r); row++) {
            size_t len;
            const void *p = tl__pg_bytes(r, row, 2, &len);
            if (tl__pg_int(r, row, 0, -1) != (int64_t)n) rc = TL_ECORRUPT;
            n += (uint64_t)tl__pg_int(r, row, 1, 0);
            if (!rc && tl_buf_append(a, p, len)) rc = TL_ENOMEM;
        }
        PQclear(r);
        uint64_t *offs = NULL;
        if (!rc) rc = tl__store_ids_offsets(a, n, &offs);
        if (rc) {
            tl_buf_clear(a);
            if (rc == TL_ENOMEM) return oom(st, eb);
            tl_errbuf_set(eb, "%s: dictionary %d is inconsistent", st->dir, (int)kind);
            return rc;
        }
        pg->ids_offs[kind] = offs, pg->ids_n[kind] = (uint32_t)n, pg->ids_loaded[kind] = 1;
    }
    out->arena = pg->ids_arena[kind].data ? pg->ids_arena[kind].data : "";
    out->offs = pg->ids_offs[kind];
    out->n = pg->ids_n[kind];
    return 0;
}

int tl__pg_dict_forget(tl_store_t *st, tl_dkind_t kind, uint32_t idx, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a dictionary",
                              "SELECT first, n, ids FROM tl_dict WHERE kind = $1 AND first <= $2"
                              " ORDER BY first DESC LIMIT 1 FOR UPDATE", "ii", (int64_t)kind,
                              (int64_t)idx);
    if (!r) return tl__pg_err(st);
    int64_t first = tl__pg_int(r, 0, 0, -1), n = tl__pg_int(r, 0, 1, 0);
    size_t len;
    const void *ids = tl__pg_bytes(r, 0, 2, &len);
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = first < 0 || (int64_t)idx >= first + n ? TL_ECORRUPT
             : tl_buf_append(&b, ids, len) ? TL_ENOMEM : 0;
    PQclear(r);
    char *p = b.data, *end = b.data + b.len;
    for (int64_t i = first; !rc && i < (int64_t)idx; i++) {
        char *z = memchr(p, 0, (size_t)(end - p));
        if (!z) rc = TL_ECORRUPT;
        else p = z + 1;
    }
    if (!rc && p >= end) rc = TL_ECORRUPT;
    if (!rc) {
        tl_dict_forget_bytes(p, strlen(p));
        rc = tl__pg_run(st, eb, "forgetting an id",
                        "UPDATE tl_dict SET ids = $3 WHERE kind = $1 AND first = $2", "iib",
                        (int64_t)kind, first, (const void *)b.data, b.len);
    } else if (rc == TL_ENOMEM) {
        oom(st, eb);
    } else {
        tl_errbuf_set(eb, "%s: dictionary %d has no index %u", st->dir, (int)kind, idx);
    }
    tl_buf_fini(&b);
    return rc;
}

void tl__pg_dict_forget_mem(tl_store_t *st, tl_dkind_t kind, uint32_t idx) {
    tl__pg_t *pg = tl__pg(st);
    if (pg->dict[kind] && idx < tl_dict_count(pg->dict[kind]) &&
        !tl_id_forgotten(tl_dict_str(pg->dict[kind], idx, NULL)) &&
        tl_dict_forget(pg->dict[kind], idx) != 0) {
        tl_dict_free(pg->dict[kind]); /* loaded again on use */
        pg->dict[kind] = NULL;
    }
    if (pg->ids_loaded[kind] && idx < pg->ids_n[kind]) {
        uint64_t *o = pg->ids_offs[kind];
        tl_dict_forget_bytes(pg->ids_arena[kind].data + o[idx], (size_t)(o[idx + 1] - o[idx] - 1));
    }
}

int tl__pg_dicts_forgotten(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (!pg->dict[TL_D_USER] && !pg->ids_loaded[TL_D_USER]) return 0;
    PGresult *r = tl__pg_exec(st, eb, "reading a dictionary",
                              "SELECT first, n, ids FROM tl_dict WHERE kind = $1 AND"
                              " position('\\x1e'::bytea in ids) > 0 ORDER BY first",
                              "i", (int64_t)TL_D_USER);
    if (!r) return tl__pg_err(st);
    for (int row = 0; row < PQntuples(r); row++) {
        int64_t first = tl__pg_int(r, row, 0, 0), n = tl__pg_int(r, row, 1, 0);
        size_t len;
        const char *p = tl__pg_bytes(r, row, 2, &len), *end = p + len;
        for (int64_t i = 0; i < n && p < end; i++) {
            const char *z = memchr(p, 0, (size_t)(end - p));
            if (!z) break;
            if (tl_id_forgotten(p)) tl__pg_dict_forget_mem(st, TL_D_USER, (uint32_t)(first + i));
            p = z + 1;
        }
    }
    PQclear(r);
    return 0;
}

int64_t tl__pg_known(const tl_store_t *st, tl_dkind_t kind) {
    const tl__pg_t *pg = tl__pg(st);
    int64_t n = -1;
    if (pg->dict[kind]) n = pg->in_batch ? tl_dict_count(pg->dict[kind]) : pg->dict_comm[kind];
    if (pg->ids_loaded[kind] && (int64_t)pg->ids_n[kind] > n) n = pg->ids_n[kind];
    return n < 0 ? INT64_MAX : n;
}
