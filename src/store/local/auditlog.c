/* auditlog.c -- the entries of the audit log: their table and its
 * repository (append, the last entry, scans). What an entry means and how
 * the entries are chained by MACs is privacy/audit.c's; the anchor that
 * counts them is anchor.c's. Entries are only ever appended: nothing here
 * changes or removes one (an erasure keeps them, as they name the user by
 * pseudonym). */
#include "store/local/local_int.h"

#include <stdio.h>

/* mac was added after the table (a writable open of an older directory
 * adds the column: local/sqlite.c). */
const char tl__auditlog_schema[] =
    "CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY, at INTEGER, who TEXT, what TEXT,"
    "  target TEXT, mac TEXT);";

/* In the caller's batch (store.c checks). */
int tl__local_audit_append(tl_store_t *s, const tl_audit_entry_t *e, tl_errbuf_t *eb) {
    sqlite3_stmt *q;
    int rc = tl__local_prepare(s, "INSERT INTO audit(id, at, who, what, target, mac) VALUES "
                                  "(?1, ?2, ?3, ?4, ?5, ?6)", &q, "writing the audit log", eb);
    if (rc) return rc;
    sqlite3_bind_int64(q, 1, e->id);
    sqlite3_bind_int64(q, 2, e->at);
    sqlite3_bind_text(q, 3, e->who, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, e->what, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, e->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, e->mac, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        rc = 0;
    } else if (sqlite3_extended_errcode(tl__lo(s)->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
        tl_errbuf_set(eb, "%s: the audit log has an entry %lld already", s->dir, (long long)e->id);
        rc = TL_EEXIST;
    } else {
        rc = tl__local_sql_fail(s, eb, "writing the audit log");
    }
    sqlite3_finalize(q);
    return rc;
}

typedef struct {
    int64_t *id;
    char *mac;
} last_t;

static int last_row(sqlite3_stmt *q, void *arg) {
    const last_t *l = arg;
    const char *mac = tl__col_text(q, 1);
    *l->id = sqlite3_column_int64(q, 0);
    snprintf(l->mac, 65, "%s", mac ? mac : "");
    return 0;
}

int tl__local_audit_last(tl_store_t *s, int64_t *id, char mac[65], tl_errbuf_t *eb) {
    *id = 0, mac[0] = 0;
    last_t l = {id, mac};
    sqlite3_stmt *q;
    int rc = tl__local_prepare(s, "SELECT id, mac FROM audit ORDER BY id DESC LIMIT 1", &q,
                               "reading the audit log", eb);
    return rc ? (rc == 1 ? 0 : rc) : tl__local_each(s, q, last_row, &l, "reading the audit log", eb);
}

typedef struct {
    tl_audit_fn fn;
    void *arg;
} entries_t;

static const char *or_empty(const char *s) { return s ? s : ""; }

static int entry_row(sqlite3_stmt *q, void *arg) {
    const entries_t *x = arg;
    tl_audit_entry_t e = {.id = sqlite3_column_int64(q, 0), .at = sqlite3_column_int64(q, 1),
                          .who = or_empty(tl__col_text(q, 2)), .what = or_empty(tl__col_text(q, 3)),
                          .target = or_empty(tl__col_text(q, 4)), .mac = or_empty(tl__col_text(q, 5))};
    return x->fn(&e, x->arg);
}

int tl__local_audit_scan(tl_store_t *s, const char *target, tl_audit_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    entries_t x = {fn, arg};
    sqlite3_stmt *q;
    int rc = tl__local_prepare(s, target ? "SELECT id, at, who, what, target, mac FROM audit "
                                           "WHERE target = ?1 ORDER BY id"
                                         : "SELECT id, at, who, what, target, mac FROM audit "
                                           "ORDER BY id", &q, "reading the audit log", eb);
    if (rc) return rc == 1 ? 0 : rc;
    if (target) sqlite3_bind_text(q, 1, target, -1, SQLITE_STATIC);
    return tl__local_each(s, q, entry_row, &x, "reading the audit log", eb);
}
