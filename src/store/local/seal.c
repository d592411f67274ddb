/* seal.c -- the local back end's data key: the key file DATA/key (read,
 * or created with mode 0600 on first use, unless the configuration gives
 * the key), its check at open, and its rotation with every sealed value of
 * the directory. The sealing itself is the store's (store/seal.c). */
#include "store/local/local_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tl__seal_load_key(const char *dir, const unsigned char *given, int create,
                      unsigned char key[TL_KEY_BYTES], tl_errbuf_t *eb) {
    if (!given) return tl__store_key_file(dir, create, key, eb);
    if (sodium_init() < 0) {
        tl_errbuf_set(eb, "libsodium failed to initialise");
        return TL_ECRYPTO;
    }
    memcpy(key, given, TL_KEY_BYTES);
    return 0;
}

/* ---- the key's check and its rotation ------------------------------------------------- */

/* meta `key_check` holds a known text sealed with the key, so a wrong key
 * is told at open, and a rotation cut short is finished or undone. */
static const char CHECK[] = "tailor-key-check";

static int put_meta_blob(tl_store_t *s, const char *key, const void *p, size_t n) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1, &q, NULL) !=
        SQLITE_OK)
        return TL_ESQL;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, p, (int)n, SQLITE_STATIC);
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : TL_ESQL;
    sqlite3_finalize(q);
    return rc;
}

int tl__sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return TL_EIO;
    int rc = fsync(fd) ? TL_EIO : 0;
    close(fd);
    return rc;
}

static int read_key_file(const char *path, unsigned char key[TL_KEY_BYTES]) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return TL_ENOENT;
    ssize_t r = read(fd, key, TL_KEY_BYTES);
    close(fd);
    return r == TL_KEY_BYTES ? 0 : TL_ECORRUPT;
}

int tl__seal_check_key(tl_store_t *s, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    char next[4200];
    snprintf(next, sizeof next, "%s/key.new", s->dir);
    tl_buf_t b, out;
    tl_buf_init(&b), tl_buf_init(&out);
    int rc = tl__local_meta_blob(s, "key_check", &b, eb);
    if (rc == TL_ENOENT && !s->readonly) { /* a directory from before the check: made now */
        rc = tl__seal(&s->seal, CHECK, sizeof CHECK - 1, &out) ? TL_ENOMEM : 0;
        if (!rc && sqlite3_exec(lo->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) rc = TL_ESQL;
        else if (!rc) {
            rc = put_meta_blob(s, "key_check", out.data, out.len);
            if (!rc && sqlite3_exec(lo->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = TL_ESQL;
            if (rc) sqlite3_exec(lo->db, "ROLLBACK", NULL, NULL, NULL);
        }
        if (rc) tl_errbuf_set(eb, "%s/tailor.db: cannot record the key check: %s", s->dir, sqlite3_errmsg(lo->db));
    } else if (rc == TL_ENOENT) {
        rc = 0;
    } else if (rc) {
        /* a failed read: told */
    } else if ((rc = tl__unseal(s->seal.key, b.data, b.len, &out)) == 0) {
        if (!s->readonly) unlink(next); /* a rotation that never committed */
    } else if (rc == TL_ENOMEM) {
        tl_errbuf_set(eb, "%s: out of memory checking the key", s->dir);
    } else {
        rc = 0;
        /* a rotation committed before its new key file took the old one's place */
        unsigned char k[TL_KEY_BYTES];
        tl_buf_clear(&out);
        if (!s->conf.key && read_key_file(next, k) == 0 && tl__unseal(k, b.data, b.len, &out) == 0) {
            memcpy(s->seal.key, k, TL_KEY_BYTES);
            char path[4200];
            snprintf(path, sizeof path, "%s/key", s->dir);
            if (!s->readonly && (rename(next, path) != 0 || tl__sync_dir(s->dir) != 0)) {
                tl_errbuf_set(eb, "%s: cannot put the rotated key in place: %s", next, strerror(errno));
                rc = TL_EIO;
            }
        } else {
            tl_errbuf_set(eb, "%s: this key does not open the data directory (a wrong $TAILOR_KEY, or "
                          "the key file of another one)", s->dir);
            rc = TL_ECRYPTO;
        }
        sodium_memzero(k, sizeof k);
    }
    if (rc == TL_ESQL && !eb->msg[0]) tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(lo->db));
    tl_buf_fini(&b), tl_buf_fini(&out);
    return rc;
}

/* Re-seals the blobs of one column of a table under the new key, a page
 * of rows at a time (read first, then written: a scan does not see the
 * rows it has already changed). */
static int reseal_column(tl_store_t *s, const char *table, const char *key, const char *col,
                         tl_sealer_t *ns, uint64_t *count) {
    enum { PAGE = 1024 };
    char sel[300], upd[200];
    snprintf(sel, sizeof sel, "SELECT %s, %s FROM %s WHERE typeof(%s) = 'blob' AND (?1 IS NULL OR %s > ?1) "
             "ORDER BY %s LIMIT %d", key, col, table, col, key, key, PAGE);
    snprintf(upd, sizeof upd, "UPDATE %s SET %s = ?2 WHERE %s = ?1", table, col, key);
    sqlite3_stmt *q, *w;
    if (sqlite3_prepare_v2(tl__lo(s)->db, sel, -1, &q, NULL) != SQLITE_OK) return TL_ESQL;
    if (sqlite3_prepare_v2(tl__lo(s)->db, upd, -1, &w, NULL) != SQLITE_OK) {
        sqlite3_finalize(q);
        return TL_ESQL;
    }
    sqlite3_value *keys[PAGE], *last = NULL;
    tl_buf_t plain, sealed[PAGE];
    tl_buf_init(&plain);
    for (int i = 0; i < PAGE; i++) tl_buf_init(&sealed[i]);
    int rc = 0, n;
    do {
        n = 0;
        sqlite3_reset(q);
        if (last) sqlite3_bind_value(q, 1, last);
        else sqlite3_bind_null(q, 1);
        while (!rc && n < PAGE && sqlite3_step(q) == SQLITE_ROW) {
            tl_buf_clear(&plain), tl_buf_clear(&sealed[n]);
            if (tl__unseal(s->seal.key, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1), &plain))
                rc = TL_ECRYPTO;
            else if (tl__seal(ns, plain.data, plain.len, &sealed[n]) ||
                     !(keys[n] = sqlite3_value_dup(sqlite3_column_value(q, 0))))
                rc = TL_ENOMEM;
            else
                n++;
        }
        sqlite3_reset(q);
        for (int i = 0; i < n; i++) {
            sqlite3_reset(w);
            sqlite3_bind_value(w, 1, keys[i]);
            sqlite3_bind_blob(w, 2, sealed[i].data, (int)sealed[i].len, SQLITE_STATIC);
            if (!rc && sqlite3_step(w) != SQLITE_DONE) rc = TL_ESQL;
            if (!rc) ++*count;
            sqlite3_value_free(last);
            last = keys[i];
        }
    } while (!rc && n == PAGE);
    sqlite3_value_free(last);
    if (plain.data) sodium_memzero(plain.data, plain.len);
    tl_buf_fini(&plain);
    for (int i = 0; i < PAGE; i++) tl_buf_fini(&sealed[i]);
    sqlite3_finalize(q), sqlite3_finalize(w);
    return rc;
}

int tl__local_rotate_key(tl_store_t *s, tl_rekey_t *rk, tl_rekey_stats_t *out, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    tl_sealer_t *ns = &rk->ns;
    int given = s->conf.key != NULL; /* the key is the caller's to keep, not a file */
    char next[4200], path[4200];
    snprintf(next, sizeof next, "%s/key.new", s->dir);
    snprintf(path, sizeof path, "%s/key", s->dir);
    int rc = 0;
    if (!given) { /* 1. the new key beside the old */
        unlink(next);
        int fd = open(next, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || write(fd, ns->key, TL_KEY_BYTES) != TL_KEY_BYTES || fsync(fd) != 0) rc = TL_EIO;
        if (fd >= 0) close(fd);
        if (!rc) rc = tl__sync_dir(s->dir);
        if (rc) {
            tl_errbuf_set(eb, "%s: cannot write the new key: %s", next, strerror(errno));
            unlink(next);
            goto done;
        }
    }
    /* 2. every sealed value and the check under it, in one transaction */
    if (sqlite3_exec(lo->db, "PRAGMA secure_delete = ON; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = TL_ESQL;
        goto done;
    }
    rc = reseal_column(s, "users", "idx", "pii", ns, &out->users);
    if (!rc) rc = reseal_column(s, "quarantine", "id", "raw", ns, &out->quarantined);
    if (!rc) rc = reseal_column(s, "meta", "key", "value", ns, &out->other);
    if (!rc && sqlite3_exec(lo->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = TL_ESQL;
    if (rc) {
        sqlite3_exec(lo->db, "ROLLBACK", NULL, NULL, NULL);
        if (!given) unlink(next);
        goto done;
    }
    /* 3. the new key file in the old one's place; the old ciphertexts out of the WAL */
    tl_store_rekey_committed(rk);
    if (!given && (rename(next, path) != 0 || tl__sync_dir(s->dir) != 0)) {
        tl_errbuf_set(eb, "%s: cannot put the new key in place (the next open will): %s", next, strerror(errno));
        rc = TL_EIO;
    }
    sqlite3_wal_checkpoint_v2(lo->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
done:
    if (rc == TL_ESQL) tl_errbuf_set(eb, "%s/tailor.db: %s", s->dir, sqlite3_errmsg(lo->db));
    else if (rc == TL_ECRYPTO) tl_errbuf_set(eb, "%s: a sealed value does not open with the current key", s->dir);
    return rc;
}

/* ---- secrets ------------------------------------------------------------------------ */

/* Secrets are blobs in `meta` under their name, sealed: key rotation
 * re-seals them with the rest of the column. */
int tl__local_secret_get(tl_store_t *s, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    return tl__local_meta_blob(s, name, out, eb);
}

int tl__local_secret_add(tl_store_t *s, const char *name, const void *p, size_t n,
                         tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    sqlite3_stmt *w = NULL;
    int rc = 0, own = !s->in_batch; /* its own small transaction unless a batch is open */
    if (sqlite3_prepare_v2(lo->db, "INSERT OR IGNORE INTO meta(key, value) VALUES (?1, ?2)", -1, &w,
                           NULL) != SQLITE_OK)
        rc = TL_ESQL;
    if (!rc) {
        sqlite3_bind_text(w, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(w, 2, p, (int)n, SQLITE_STATIC);
        if (own && sqlite3_exec(lo->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) rc = TL_ESQL;
        if (!rc && sqlite3_step(w) != SQLITE_DONE) rc = TL_ESQL;
        if (!rc && sqlite3_changes(lo->db) == 0) rc = TL_EEXIST;
        if (own && !rc && sqlite3_exec(lo->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = TL_ESQL;
        if (own && rc) sqlite3_exec(lo->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc == TL_ESQL)
        tl_errbuf_set(eb, "%s/tailor.db: cannot keep the secret %s: %s", s->dir, name, sqlite3_errmsg(lo->db));
    sqlite3_finalize(w);
    return rc;
}
