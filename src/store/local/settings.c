/* settings.c -- the local back end's settings (the `config` table: tag
 * rules and the like) and named segments (the `segments` table). */
#include "store/local/local_int.h"

#include <stdlib.h>
#include <string.h>

static int one_shot(tl_store_t *s, const char *sql, const char *a, const char *b, int64_t c,
                    tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, sql, -1, &q, NULL) != SQLITE_OK) return tl__local_sql_fail(s, eb, "preparing a write");
    sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_int64(q, 3, c);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : tl__local_sql_fail(s, eb, "writing");
    sqlite3_finalize(q);
    return rc;
}

int tl__local_config_put(tl_store_t *s, const char *key, const char *value, tl_errbuf_t *eb) {
    return one_shot(s, "INSERT OR REPLACE INTO config(key, value) VALUES (?1, ?2)", key, value,
                    INT64_MIN, eb);
}

int tl__local_config_get(tl_store_t *s, const char *key, char **value, tl_errbuf_t *eb) {
    *value = NULL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "SELECT value FROM config WHERE key = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return tl__local_missing_table(s) ? TL_ENOENT : tl__local_sql_fail(s, eb, "reading settings");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        *value = v ? strdup(v) : NULL;
        rc = *value ? 0 : TL_ENOMEM;
    } else {
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? TL_ENOENT : tl__local_sql_fail(s, eb, "reading settings");
    }
    sqlite3_finalize(q);
    return rc;
}

int tl__local_segment_put(tl_store_t *s, const char *name, const char *expr, tl_errbuf_t *eb) {
    char *old = NULL;
    int rc = tl__local_segment_get(s, name, &old, eb);
    if (rc && rc != TL_ENOENT) return rc;
    free(old);
    int is_new = rc == TL_ENOENT;
    rc = one_shot(s, "INSERT OR REPLACE INTO segments(name, expr, created) VALUES (?1, ?2, ?3)",
                  name, expr, tl_store_now(s), eb);
    return rc ? rc : is_new;
}

int tl__local_segment_get(tl_store_t *s, const char *name, char **expr, tl_errbuf_t *eb) {
    *expr = NULL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "SELECT expr FROM segments WHERE name = ?1", -1, &q, NULL) !=
        SQLITE_OK) {
        if (!tl__local_missing_table(s)) return tl__local_sql_fail(s, eb, "reading segments");
        tl_errbuf_set(eb, "no segment \"%s\" (see `tailor segment list`)", name);
        return TL_ENOENT;
    }
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        *expr = v ? strdup(v) : NULL;
        rc = *expr ? 0 : TL_ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? TL_ENOENT : tl__local_sql_fail(s, eb, "reading segments");
    }
    sqlite3_finalize(q);
    if (rc == TL_ENOENT)
        tl_errbuf_set(eb, "no segment \"%s\" (see `tailor segment list`)", name);
    return rc;
}

int tl__local_segment_delete(tl_store_t *s, const char *name, tl_errbuf_t *eb) {
    int rc = one_shot(s, "DELETE FROM segments WHERE name = ?1", name, NULL, 0, eb);
    if (!rc && sqlite3_changes(tl__lo(s)->db) == 0) {
        tl_errbuf_set(eb, "no segment \"%s\"", name);
        return TL_ENOENT;
    }
    return rc;
}

int tl__local_segment_list(tl_store_t *s, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "SELECT name, expr, created FROM segments ORDER BY name", -1,
                           &q, NULL) != SQLITE_OK)
        return tl__local_missing_table(s) ? 0 : tl__local_sql_fail(s, eb, "reading segments");
    int rc = 0, step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(q)) == SQLITE_ROW)
        rc = fn((const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
                sqlite3_column_int64(q, 2), arg);
    if (!rc && step != SQLITE_DONE) rc = tl__local_sql_fail(s, eb, "reading segments");
    sqlite3_finalize(q);
    return rc;
}
