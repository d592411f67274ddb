/* anchor.c -- the local back end's anchor of the audit log: how many
 * entries the log holds and the MAC of its last (the head), with a MAC of
 * its own under the directory's MAC key (the text and its MAC are
 * store/privacy.c's), kept in `meta` under `audit_anchor`.
 *
 * The entries' chain (privacy/audit.c) shows an entry changed, inserted or
 * removed anywhere but at the end; everything in the database can be read,
 * so without an anchor a cut at the end, or a wiped table, only needs the
 * recorded head rewritten to the new last MAC. The anchor cannot be
 * rewritten without the key, so a log shorter than its anchor, or ending
 * elsewhere, is told. An entry and the anchor that counts it commit in one
 * transaction.
 *
 * A writable open makes the anchor when there is none: with a new data
 * directory (`upgraded` 0), or, for a log that existed without one (a
 * directory from before anchors, or one whose anchor was removed), over
 * the log as it is then (`upgraded` 1, with the count and time), which
 * the verification reports, since a cut made before then cannot be told.
 * Putting back an older copy of the whole database is not told either:
 * that needs the head compared with a copy kept elsewhere.
 *
 * Text, not a sealed blob: key rotation keeps the MAC key, so it keeps
 * the anchor as it is. */
#include "store/local/local_int.h"

#include <stdio.h>
#include <string.h>

int tl__local_anchor_get(tl_store_t *s, tl_buf_t *out, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(lo->db, "SELECT value FROM meta WHERE key = 'audit_anchor'", -1, &q, NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s/tailor.db: reading the audit log's anchor: %s", s->dir, sqlite3_errmsg(lo->db));
        return TL_ESQL;
    }
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        rc = tl_buf_append(out, t ? (const char *)t : "", t ? strlen((const char *)t) : 0) ? TL_ENOMEM : 0;
        if (rc) tl_errbuf_set(eb, "%s: out of memory reading the audit log's anchor", s->dir);
    } else if (rc == SQLITE_DONE) {
        rc = TL_ENOENT;
    } else {
        tl_errbuf_set(eb, "%s/tailor.db: reading the audit log's anchor: %s", s->dir, sqlite3_errmsg(lo->db));
        rc = TL_ESQL;
    }
    sqlite3_finalize(q);
    return rc;
}

int tl__local_anchor_put(tl_store_t *s, const char *text, tl_errbuf_t *eb) {
    sqlite3_stmt *w;
    int rc;
    if (sqlite3_prepare_v2(tl__lo(s)->db, "INSERT OR REPLACE INTO meta(key, value) VALUES ('audit_anchor', ?1)", -1, &w,
                           NULL) != SQLITE_OK)
        rc = TL_ESQL;
    else {
        sqlite3_bind_text(w, 1, text, -1, SQLITE_STATIC);
        rc = sqlite3_step(w) == SQLITE_DONE ? 0 : TL_ESQL;
        sqlite3_finalize(w);
    }
    if (rc) tl_errbuf_set(eb, "%s/tailor.db: cannot record the audit log's anchor: %s", s->dir, sqlite3_errmsg(tl__lo(s)->db));
    return rc;
}

int tl__local_anchor_make(tl_store_t *s, int created, tl_errbuf_t *eb) {
    tl__local_t *lo = tl__lo(s);
    tl_audit_anchor_t a;
    int rc = tl_store_audit_anchor(s, &a, eb);
    if (rc != TL_ENOENT) {
        /* one that does not match its MAC stays, for the verification to report */
        if (rc == TL_ECORRUPT) eb->msg[0] = 0, rc = 0;
        return rc;
    }
    memset(&a, 0, sizeof a);
    if (sqlite3_exec(lo->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        tl_errbuf_set(eb, "%s/tailor.db: cannot anchor the audit log: %s", s->dir, sqlite3_errmsg(lo->db));
        return TL_ESQL;
    }
    /* the head is the last chained entry's MAC (entries from before the
     * chain have none), as the verification computes it */
    sqlite3_stmt *q;
    rc = sqlite3_prepare_v2(lo->db, "SELECT (SELECT count(*) FROM audit), (SELECT mac FROM audit WHERE "
                            "mac IS NOT NULL AND mac <> '' ORDER BY id DESC LIMIT 1)", -1, &q, NULL) == SQLITE_OK
             ? 0 : TL_ESQL;
    if (!rc) {
        if (sqlite3_step(q) == SQLITE_ROW) {
            const unsigned char *h = sqlite3_column_text(q, 1);
            a.entries = sqlite3_column_int64(q, 0);
            snprintf(a.head, sizeof a.head, "%s", h ? (const char *)h : "");
        } else {
            rc = TL_ESQL;
        }
        sqlite3_finalize(q);
    }
    a.since = a.entries;
    a.upgraded = !created;
    a.at = tl_store_now(s);
    char text[TL__ANCHOR_TEXT];
    if (rc) tl_errbuf_set(eb, "%s/tailor.db: cannot anchor the audit log: %s", s->dir, sqlite3_errmsg(lo->db));
    else if (!(rc = tl__store_anchor_text(s, &a, text, eb))) rc = tl__local_anchor_put(s, text, eb);
    /* the head older tailors recorded as a setting goes when it agrees;
     * one that does not is kept, for the verification to report */
    if (!rc && sqlite3_prepare_v2(lo->db, "DELETE FROM config WHERE key = 'audit_head' AND value = ?1", -1, &q,
                                  NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, a.head, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE) rc = TL_ESQL;
        sqlite3_finalize(q);
    } else if (!rc) {
        rc = TL_ESQL;
    }
    if (!rc && sqlite3_exec(lo->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = TL_ESQL;
    if (rc == TL_ESQL && !eb->msg[0])
        tl_errbuf_set(eb, "%s/tailor.db: cannot anchor the audit log: %s", s->dir, sqlite3_errmsg(lo->db));
    if (rc) sqlite3_exec(lo->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
