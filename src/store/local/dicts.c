/* dicts.c -- the local back end's dictionaries: each kind loaded from its
 * runs in the `dict` table on first use (the whole table of ids, for
 * interning), or as ids by index only (tl_store_ids). New entries are
 * written by the batch's commit (sqlite.c). */
#include "store/local/local_int.h"

#include <stdlib.h>
#include <string.h>

tl_dict_t *tl__local_dict(tl_store_t *s, tl_dkind_t kind, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    if (lo->dict[kind]) return lo->dict[kind];
    tl_dict_t *d = tl_dict_new();
    if (!d) {
        tl_errbuf_set(eb, "out of memory loading a dictionary");
        return NULL;
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(lo->db, "SELECT coalesce(sum(n), 0), coalesce(sum(length(ids)), 0) FROM dict "
                           "WHERE kind = ?1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int(q, 1, (int)kind);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int64(q, 0) > 0 &&
            tl_dict_reserve(d, (uint32_t)sqlite3_column_int64(q, 0), (size_t)sqlite3_column_int64(q, 1) + 1)) {
            sqlite3_finalize(q);
            tl_errbuf_set(eb, "out of memory loading a dictionary");
            tl_dict_free(d);
            return NULL;
        }
        sqlite3_finalize(q);
    }
    if (sqlite3_prepare_v2(lo->db, "SELECT first, n, ids FROM dict WHERE kind = ?1 ORDER BY first",
                           -1, &q, NULL) != SQLITE_OK) {
        tl__local_sql_fail(s, eb, "loading a dictionary");
        tl_dict_free(d);
        return NULL;
    }
    sqlite3_bind_int(q, 1, (int)kind);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t first = sqlite3_column_int64(q, 0), n = sqlite3_column_int64(q, 1);
        const char *p = sqlite3_column_blob(q, 2);
        int bytes = sqlite3_column_bytes(q, 2);
        if (!p && bytes) { /* out of memory reading the row */
            rc = SQLITE_NOMEM;
            break;
        }
        const char *end = p + bytes;
        int ok = first == (int64_t)tl_dict_count(d) && p, irc = 0;
        for (int64_t i = 0; ok && i < n; i++) {
            const char *z = memchr(p, 0, (size_t)(end - p));
            uint32_t idx;
            int added;
            ok = z && (irc = tl_dict_intern(d, p, (size_t)(z - p), &idx, &added)) == 0 && added;
            if (ok) p = z + 1;
        }
        if (irc == TL_ENOMEM) {
            tl_errbuf_set(eb, "%s: out of memory loading dictionary %d", s->dir, (int)kind);
            rc = SQLITE_CORRUPT; /* told already */
            break;
        }
        if (!ok || p != end) {
            tl_errbuf_set(eb, "%s/tailor.db: dictionary %d is inconsistent near index %lld", s->dir,
                          (int)kind, (long long)first);
            rc = SQLITE_CORRUPT;
            break;
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        if (rc != SQLITE_CORRUPT) tl__local_sql_fail(s, eb, "loading a dictionary");
        tl_dict_free(d);
        return NULL;
    }
    lo->dict[kind] = d;
    lo->dict_committed[kind] = tl_dict_count(d);
    return d;
}

int tl__local_ids(tl_store_t *s, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    if (lo->ids_loaded[kind] && lo->dict[kind] && lo->dict_committed[kind] != lo->ids_n[kind]) {
        /* this handle committed new ids since: read them again */
        free(lo->ids_offs[kind]);
        lo->ids_offs[kind] = NULL;
        tl_buf_clear(&lo->ids_arena[kind]);
        lo->ids_loaded[kind] = 0;
    }
    if (!lo->ids_loaded[kind]) {
        tl_buf_t *a = &lo->ids_arena[kind];
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(lo->db, "SELECT first, n, ids FROM dict WHERE kind = ?1 ORDER BY first",
                               -1, &q, NULL) != SQLITE_OK)
            return tl__local_sql_fail(s, eb, "loading a dictionary");
        sqlite3_bind_int(q, 1, (int)kind);
        int step, rc = 0;
        uint64_t n = 0;
        while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW) {
            if (sqlite3_column_int64(q, 0) != (int64_t)n) rc = TL_ECORRUPT;
            n += (uint64_t)sqlite3_column_int64(q, 1);
            const void *ids = sqlite3_column_blob(q, 2);
            size_t len = (size_t)sqlite3_column_bytes(q, 2);
            if (!rc && ((!ids && len) || tl_buf_append(a, ids, len))) rc = TL_ENOMEM;
        }
        sqlite3_finalize(q);
        if (!rc && step != SQLITE_DONE) rc = tl__local_sql_fail(s, eb, "loading a dictionary");
        uint64_t *offs = NULL;
        if (!rc) rc = tl__store_ids_offsets(a, n, &offs);
        if (rc) {
            tl_buf_clear(a);
            if (rc == TL_ECORRUPT)
                tl_errbuf_set(eb, "%s/tailor.db: dictionary %d is inconsistent", s->dir, (int)kind);
            else if (rc == TL_ENOMEM)
                tl_errbuf_set(eb, "%s: out of memory loading dictionary %d", s->dir, (int)kind);
            return rc;
        }
        lo->ids_offs[kind] = offs, lo->ids_n[kind] = (uint32_t)n, lo->ids_loaded[kind] = 1;
    }
    out->arena = lo->ids_arena[kind].data ? lo->ids_arena[kind].data : "";
    out->offs = lo->ids_offs[kind];
    out->n = lo->ids_n[kind];
    return 0;
}
