/* apikeys.c -- the API keys of the HTTP server: their table and its
 * repository (add, remove, list). The store keeps a key's hash (BLAKE2b,
 * hex), its role, a name and when it was made, never the key itself; the
 * server hashes what a request presents and compares. */
#include "store/local/local_int.h"

const char tl__apikeys_schema[] =
    "CREATE TABLE IF NOT EXISTS api_keys(id TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL,"
    "  name TEXT, created INTEGER) WITHOUT ROWID;";

/* Writes run in the caller's batch (store.c checks), so a key and what
 * goes with it commit together. */
int tl__local_apikey_put(tl_store_t *s, const tl_apikey_row_t *k, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    int rc = tl__local_prepare(s, "INSERT INTO api_keys(id, hash, role, name, created) "
                                       "VALUES (?1, ?2, ?3, ?4, ?5)", &q, "adding an API key", eb);
    if (rc) return rc;
    sqlite3_bind_text(q, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, k->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, k->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, k->name ? k->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, k->created);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        rc = 0;
    } else if (sqlite3_extended_errcode(tl__lo(s)->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
        tl_errbuf_set(eb, "%s: there is an API key %s already; revoke it first", s->dir, k->id);
        rc = TL_EEXIST;
    } else {
        rc = tl__local_sql_fail(s, eb, "adding an API key");
    }
    sqlite3_finalize(q);
    return rc;
}

int tl__local_apikey_delete(tl_store_t *s, const char *id, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    int rc = tl__local_prepare(s, "DELETE FROM api_keys WHERE id = ?1", &q,
                               "removing an API key", eb);
    if (rc) return rc == 1 ? 0 : rc;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q) == SQLITE_DONE ? sqlite3_changes(tl__lo(s)->db) > 0
                                        : tl__local_sql_fail(s, eb, "removing an API key");
    sqlite3_finalize(q);
    return rc;
}

typedef struct {
    tl_apikey_fn fn;
    void *arg;
} keys_t;

static int key_row(sqlite3_stmt *q, void *arg) {
    const keys_t *x = arg;
    const char *name = tl__col_text(q, 3);
    tl_apikey_row_t k = {.id = tl__col_text(q, 0), .hash = tl__col_text(q, 1),
                         .role = tl__col_text(q, 2), .name = name ? name : "",
                         .created = sqlite3_column_int64(q, 4)};
    return x->fn(&k, x->arg);
}

int tl__local_apikey_scan(tl_store_t *s, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb) {
    keys_t x = {fn, arg};
    sqlite3_stmt *q;
    int rc = tl__local_prepare(s, "SELECT id, hash, role, name, created FROM api_keys "
                                  "ORDER BY created, id", &q, "reading API keys", eb);
    return rc ? (rc == 1 ? 0 : rc) : tl__local_each(s, q, key_row, &x, "reading API keys", eb);
}
