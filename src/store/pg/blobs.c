/* blobs.c -- the PostgreSQL back end's blobs and side logs.
 *
 * A blob is the rows of tl_blobs under its name, its bytes cut in chunks
 * (a bytea holds less than 1 GB) and read back in chunk order by one
 * statement, so a reader sees one snapshot: the blob whole, old or new.
 * Writing a blob deletes its chunks and inserts the new ones in one
 * transaction that holds the name's own advisory lock, so writers of one
 * name, in any process, follow one another and the one that commits last
 * wins. Outside a batch that transaction is the put's own; inside one the
 * put waits in the handle (a list of pending writes, one per name, the
 * last kept) and tl__pg_blobs_flush applies it in the batch's transaction
 * just before its COMMIT, so reads inside the batch see the committed
 * blob, as the contract says.
 *
 * An append adds a record under the same lock: to the last chunk while it
 * stays small, else as a new chunk, so no append rewrites a large value
 * and concurrent appenders neither interleave nor lose a record. It is not
 * part of a batch: one made inside a batch goes at once through a second
 * connection of the handle, made on first need like the first.
 *
 * A side log is the rows of tl_applog under its name, each a run of bytes
 * at the offset it begins. What is written to an open log waits in the
 * handle; the batch's flush adds it at the committed length, exact since
 * the batch holds the writers' lock; rollback drops it. */
#include "store/pg/pg_int.h"

#include <stdlib.h>
#include <string.h>

/* Bytes per row of a blob or a side log. */
#define CHUNK ((size_t)64 << 20)
/* An append goes into the last chunk while it stays under this. */
#define APPEND_CHUNK ((size_t)1 << 20)
/* The first key of the advisory locks of blob names (pg_advisory_xact_lock
 * of two integers: a key space apart from the writers' lock). */
#define BLOB_LOCK 0x626c6f62 /* "blob" */

/* A blob put (data) or removal (remove) waiting for the batch's commit. */
struct tl__pg_pending {
    tl__pg_pending_t *next;
    char *name;
    int remove;
    size_t n;
    char data[];
};

/* A side log open in this handle: the bytes written since the last commit. */
struct tl__pg_applog {
    struct tl_applog base;
    struct tl__pg_applog *next;
    char *name;
    tl_buf_t buf;
};

static int oom(tl_errbuf_t *eb) {
    tl_errbuf_set(eb, "out of memory");
    return TL_ENOMEM;
}

/* ---- blobs ----------------------------------------------------------------------------- */

/* In the caller's transaction: the name's lock taken, its chunks deleted
 * and, unless remove, p[0..n) inserted (one chunk at least, so an empty
 * blob exists). */
static int replace(tl_store_t *st, const char *name, int remove, const void *p, size_t n,
                   tl_errbuf_t *eb) {
    const char *b = p ? p : "";
    int rc = tl__pg_run(st, eb, "waiting for the blob's lock",
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))", "is",
                        (int64_t)BLOB_LOCK, name);
    if (!rc) rc = tl__pg_run(st, eb, "replacing a blob", "DELETE FROM tl_blobs WHERE name = $1",
                             "s", name);
    for (size_t off = 0, k = 0; !rc && !remove && (off < n || k == 0); off += CHUNK, k++) {
        size_t len = n - off < CHUNK ? n - off : CHUNK;
        rc = tl__pg_run(st, eb, "writing a blob", "INSERT INTO tl_blobs VALUES ($1, $2, $3)",
                        "sib", name, (int64_t)k, b + off, len);
    }
    return rc;
}

int tl__pg_blob_write(tl_store_t *st, const char *name, const void *p, size_t n,
                      tl_errbuf_t *eb) {
    return replace(st, name, 0, p, n, eb);
}

/* At once, durably: a transaction of its own. */
static int replace_now(tl_store_t *st, const char *name, int remove, const void *p, size_t n,
                       tl_errbuf_t *eb) {
    int rc = tl__pg_tx_begin(st, eb);
    if (rc) return rc;
    rc = replace(st, name, remove, p, n, eb);
    if (rc) {
        tl__pg_tx_rollback(st);
        return rc;
    }
    return tl__pg_tx_commit(st, eb);
}

/* In a batch: kept for the flush, in place of a write of the same name. */
static int defer(tl_store_t *st, const char *name, int remove, const void *p, size_t n,
                 tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    tl__pg_pending_t *w = malloc(sizeof *w + n);
    if (!w || !(w->name = strdup(name))) {
        free(w);
        return oom(eb);
    }
    w->remove = remove, w->n = n;
    if (n) memcpy(w->data, p, n);
    tl__pg_pending_t **at = &pg->pending;
    while (*at && strcmp((*at)->name, name) != 0) at = &(*at)->next;
    w->next = *at ? (*at)->next : NULL;
    if (*at) free((*at)->name), free(*at);
    *at = w;
    return 0;
}

int tl__pg_blob_put(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb) {
    return tl__pg(st)->in_batch ? defer(st, name, 0, p, n, eb) : replace_now(st, name, 0, p, n, eb);
}

int tl__pg_blob_remove(tl_store_t *st, const char *name, tl_errbuf_t *eb) {
    return tl__pg(st)->in_batch ? defer(st, name, 1, NULL, 0, eb)
                                : replace_now(st, name, 1, NULL, 0, eb);
}

/* Every row's first cell appended to out, in order; r cleared. */
static int append_rows(PGresult *r, tl_buf_t *out, tl_errbuf_t *eb) {
    int rc = 0;
    size_t n;
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        const void *p = tl__pg_bytes(r, i, 0, &n);
        if (tl_buf_append(out, p, n)) rc = oom(eb);
    }
    PQclear(r);
    return rc;
}

/* The chunks of name from `first` to `last` appended to out; TL_ENOENT
 * when there is none. */
static int get_run(tl_store_t *st, const char *name, int64_t first, int64_t last, tl_buf_t *out,
                   tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a blob",
                              "SELECT data FROM tl_blobs WHERE name = $1"
                              " AND chunk BETWEEN $2 AND $3 ORDER BY chunk",
                              "sii", name, first, last);
    if (!r) return tl__pg_err(st);
    if (!PQntuples(r)) {
        PQclear(r);
        return TL_ENOENT;
    }
    return append_rows(r, out, eb);
}

/* The blob in runs of chunks of CHUNK bytes at most, one statement each,
 * so its bytes are held once and a run at a time twice: in a transaction
 * that sees one snapshot. */
static int get_runs(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a blob",
                              "SELECT chunk, octet_length(data)::bigint FROM tl_blobs"
                              " WHERE name = $1 ORDER BY chunk", "s", name);
    if (!r) return tl__pg_err(st);
    int rows = PQntuples(r), rc = rows ? 0 : TL_ENOENT;
    size_t total = 0;
    for (int i = 0; i < rows; i++) total += (size_t)tl__pg_int(r, i, 1, 0);
    if (!rc && tl_buf_reserve(out, total)) rc = oom(eb);
    for (int i = 0, j; !rc && i < rows; i = j) {
        size_t run = 0;
        for (j = i; j < rows && (j == i || run + (size_t)tl__pg_int(r, j, 1, 0) <= CHUNK); j++)
            run += (size_t)tl__pg_int(r, j, 1, 0);
        rc = get_run(st, name, tl__pg_int(r, i, 0, 0), tl__pg_int(r, j - 1, 0, 0), out, eb);
    }
    PQclear(r);
    return rc;
}

/* Outside a batch: a read-only transaction of one snapshot, the blob read
 * in runs. Inside one, whose transaction sees each statement's own
 * snapshot: one statement. */
int tl__pg_blob_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    if (tl__pg(st)->in_batch) return get_run(st, name, 0, INT32_MAX, out, eb);
    int rc = tl__pg_tx_begin(st, eb);
    if (rc) return rc;
    rc = tl__pg_run(st, eb, "reading a blob",
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", "");
    if (!rc) rc = get_runs(st, name, out, eb);
    if (rc) {
        tl__pg_tx_rollback(st);
        return rc;
    }
    return tl__pg_tx_commit(st, eb);
}

int tl__pg_blob_list(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg,
                     tl_errbuf_t *eb) {
    /* byte order, whatever the database's collation */
    PGresult *r = tl__pg_exec(st, eb, "listing the blobs",
                              "SELECT DISTINCT name COLLATE \"C\" AS name FROM tl_blobs"
                              " WHERE left(name, length($1)) = $1 ORDER BY 1", "s", prefix);
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; !rc && i < PQntuples(r); i++) rc = fn(tl__pg_text(r, i, 0), arg);
    PQclear(r);
    return rc;
}

/* In the caller's transaction, under the name's lock: to the last chunk
 * while it stays under APPEND_CHUNK, else as the next chunk. */
static int append(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb) {
    const char *b = p ? p : "";
    int rc = tl__pg_run(st, eb, "waiting for the blob's lock",
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))", "is",
                        (int64_t)BLOB_LOCK, name);
    if (rc) return rc;
    PGresult *r = tl__pg_exec(st, eb, "appending to a blob",
                              "SELECT chunk, octet_length(data)::bigint FROM tl_blobs"
                              " WHERE name = $1 ORDER BY chunk DESC LIMIT 1", "s", name);
    if (!r) return tl__pg_err(st);
    int64_t last = tl__pg_int(r, 0, 0, -1), len = tl__pg_int(r, 0, 1, 0);
    PQclear(r);
    if (last >= 0 && (size_t)len + n <= APPEND_CHUNK)
        return tl__pg_run(st, eb, "appending to a blob",
                          "UPDATE tl_blobs SET data = data || $3 WHERE name = $1 AND chunk = $2",
                          "sib", name, last, b, n);
    for (size_t off = 0; !rc && (off < n || off == 0); off += CHUNK) {
        size_t k = n - off < CHUNK ? n - off : CHUNK;
        rc = tl__pg_run(st, eb, "appending to a blob", "INSERT INTO tl_blobs VALUES ($1, $2, $3)",
                        "sib", name, ++last, b + off, k);
    }
    return rc;
}

/* In a transaction of its own, committed. */
static int append_now(tl_store_t *st, const char *name, const void *p, size_t n,
                      tl_errbuf_t *eb) {
    int rc = tl__pg_tx_begin(st, eb);
    if (rc) return rc;
    rc = append(st, name, p, n, eb);
    if (rc) {
        tl__pg_tx_rollback(st);
        return rc;
    }
    return tl__pg_tx_commit(st, eb);
}

/* At once, also inside a batch: there on the second connection, which the
 * handle's statements use meanwhile (the batch's state set aside). */
int tl__pg_blob_append(tl_store_t *st, const char *name, const void *p, size_t n,
                       tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    if (!pg->in_batch) return append_now(st, name, p, n, eb);
    if (!pg->aconn && !(pg->aconn = tl__pg_connect_again(st, eb))) return TL_ELOST;
    PGconn *conn = pg->conn;
    int in_tx = pg->in_tx;
    pg->conn = pg->aconn, pg->in_batch = 0, pg->in_tx = 0;
    int rc = append_now(st, name, p, n, eb);
    pg->conn = conn, pg->in_batch = 1, pg->in_tx = in_tx;
    return rc;
}

/* ---- side logs ------------------------------------------------------------------------- */

int tl__pg_applog_open(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    for (struct tl__pg_applog *l = pg->applogs; l; l = l->next)
        if (strcmp(l->name, name) == 0) return *out = &l->base, 0;
    struct tl__pg_applog *l = calloc(1, sizeof *l);
    if (!l || !(l->name = strdup(name))) {
        free(l);
        return oom(eb);
    }
    tl_buf_init(&l->buf);
    l->base.st = st;
    l->next = pg->applogs;
    pg->applogs = l;
    *out = &l->base;
    return 0;
}

int tl__pg_applog_write(tl_applog_t *bl, const void *p, size_t n, tl_errbuf_t *eb) {
    return tl_buf_append(&((struct tl__pg_applog *)bl)->buf, p, n) ? oom(eb) : 0;
}

int tl__pg_applog_read(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                       tl_errbuf_t *eb) {
    /* the rows that end past `from`, the first cut where `from` falls */
    PGresult *r = tl__pg_exec(st, eb, "reading a side log",
                              "SELECT CASE WHEN off < $2"
                              " THEN substring(data from ($2 - off + 1)::int) ELSE data END"
                              " FROM tl_applog"
                              " WHERE name = $1 AND off + octet_length(data) > $2 ORDER BY off",
                              "si", name, (int64_t)from);
    if (!r) return tl__pg_err(st);
    return append_rows(r, out, eb);
}

/* The committed length of name: where its last row ends. */
static int committed(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "reading a side log's length",
                              "SELECT off + octet_length(data) FROM tl_applog WHERE name = $1"
                              " ORDER BY off DESC LIMIT 1", "s", name);
    if (!r) return tl__pg_err(st);
    *len = (uint64_t)tl__pg_int(r, 0, 0, 0);
    PQclear(r);
    return 0;
}

int tl__pg_applog_committed(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb) {
    return committed(st, name, len, eb);
}

int tl__pg_applog_list(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb) {
    PGresult *r = tl__pg_exec(st, eb, "listing the side logs",
                              "SELECT DISTINCT name COLLATE \"C\" AS name FROM tl_applog"
                              " ORDER BY 1", "");
    if (!r) return tl__pg_err(st);
    int rc = 0;
    for (int i = 0; !rc && i < PQntuples(r); i++) rc = fn(tl__pg_text(r, i, 0), arg);
    PQclear(r);
    return rc;
}

/* In the caller's transaction: p[0..n) added to name at offset off, in
 * rows of CHUNK bytes at most (one row at least, so the log is listed). */
static int log_rows(tl_store_t *st, const char *name, uint64_t off, const void *p, size_t n,
                    tl_errbuf_t *eb) {
    const char *b = p ? p : "";
    int rc = 0;
    for (size_t at = 0; !rc && (at < n || at == 0); at += CHUNK) {
        size_t k = n - at < CHUNK ? n - at : CHUNK;
        rc = tl__pg_run(st, eb, "writing a side log", "INSERT INTO tl_applog VALUES ($1, $2, $3)",
                        "sib", name, (int64_t)(off + at), b + at, k);
    }
    return rc;
}

int tl__pg_applog_replace(tl_store_t *st, const char *name, const void *p, size_t n,
                          tl_errbuf_t *eb) {
    int rc = tl__pg_run(st, eb, "replacing a side log", "DELETE FROM tl_applog WHERE name = $1",
                        "s", name);
    return rc ? rc : log_rows(st, name, 0, p, n, eb);
}

/* ---- the batch's end ------------------------------------------------------------------- */

int tl__pg_blobs_flush(tl_store_t *st, tl_errbuf_t *eb) {
    tl__pg_t *pg = tl__pg(st);
    int rc = 0;
    for (tl__pg_pending_t *w = pg->pending; !rc && w; w = w->next)
        rc = replace(st, w->name, w->remove, w->data, w->n, eb);
    for (struct tl__pg_applog *l = pg->applogs; !rc && l; l = l->next) {
        if (!l->buf.len) continue;
        uint64_t off;
        rc = committed(st, l->name, &off, eb);
        if (!rc) rc = log_rows(st, l->name, off, l->buf.data, l->buf.len, eb);
    }
    return rc;
}

static void drop_pending(tl__pg_t *pg) {
    while (pg->pending) {
        tl__pg_pending_t *w = pg->pending;
        pg->pending = w->next;
        free(w->name);
        free(w);
    }
}

void tl__pg_blobs_end(tl_store_t *st, int ok) {
    (void)ok; /* committed or dropped, the handle's copies go */
    tl__pg_t *pg = tl__pg(st);
    drop_pending(pg);
    for (struct tl__pg_applog *l = pg->applogs; l; l = l->next) tl_buf_clear(&l->buf);
    tl__pg_erased_end(st);
}

void tl__pg_blobs_close(tl_store_t *st) {
    tl__pg_t *pg = tl__pg(st);
    if (pg->aconn) PQfinish(pg->aconn);
    pg->aconn = NULL;
    drop_pending(pg);
    tl__pg_erased_end(st);
    while (pg->applogs) {
        struct tl__pg_applog *l = pg->applogs;
        pg->applogs = l->next;
        tl_buf_fini(&l->buf);
        free(l->name);
        free(l);
    }
}
