/* audit.c -- the audit log: who read, exported or erased whose data, and
 * when. Append-only, in the store's `audit` table; the user is named by
 * pseudonym (tl_store_pseudonym), so the log outlives an erasure without
 * keeping the id. Each entry carries a MAC (keyed BLAKE2b, tl_store_mac)
 * of the previous entry's MAC and its own fields: changing, inserting or
 * removing an entry anywhere but at the end breaks the chain, and without
 * the data directory's key no one can mend it. The store's anchor of the
 * log (tl_store_audit_anchor), moved in the same transaction as each entry
 * is added, counts the entries and names the last: a cut end or a wiped
 * table no longer matches it. */
#include "privacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The MAC of an entry chained to prev. */
static int entry_mac(tl_store_t *st, const char *prev, int64_t id, int64_t at, const char *who,
                     const char *what, const char *target, char out[65], tl_errbuf_t *eb) {
    tl_buf_t b;
    tl_buf_init(&b);
    char num[64];
    int rc = 0;
    snprintf(num, sizeof num, "%lld\x1f%lld", (long long)id, (long long)at);
    const char *parts[] = {prev ? prev : "", num, who ? who : "", what ? what : "", target ? target : ""};
    for (size_t i = 0; !rc && i < sizeof parts / sizeof *parts; i++)
        if (tl_buf_append(&b, parts[i], strlen(parts[i])) || tl_buf_append(&b, "\x1f", 1)) rc = TL_ENOMEM;
    if (!rc) rc = tl_store_mac(st, b.data, b.len, out, eb);
    tl_buf_fini(&b);
    return rc;
}

int tl_audit_add(tl_store_t *st, const char *who, const char *what, const char *user, tl_errbuf_t *eb) {
    char ps[33] = "", mac[65];
    int rc = user ? tl_store_pseudonym(st, user, strlen(user), ps, eb) : 0;
    if (!rc) rc = tl_store_begin(st, eb);
    if (rc) return rc;
    int64_t last = 0, at = tl_store_now(st);
    char prev[65];
    tl_audit_anchor_t a;
    rc = tl_store_audit_last(st, &last, prev, eb);
    if (!rc) rc = entry_mac(st, prev, last + 1, at, who, what, ps, mac, eb);
    tl_audit_entry_t e = {last + 1, at, who, what, ps, mac};
    if (!rc) rc = tl_store_audit_append(st, &e, eb);
    /* the anchor moves on from what it says, not from what the table
     * holds: entries cut before this one stay missing from its count. One
     * that is gone or does not match its MAC is left so, for the
     * verification to report; the entry is recorded all the same. */
    int arc = rc ? 0 : tl_store_audit_anchor(st, &a, eb);
    if (!rc && arc == 0) {
        a.entries++;
        snprintf(a.head, sizeof a.head, "%s", mac);
        rc = tl_store_audit_anchor_put(st, &a, eb);
    } else if (!rc && arc != TL_ENOENT && arc != TL_ECORRUPT) {
        rc = arc;
    }
    eb->msg[0] = rc ? eb->msg[0] : 0;
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    return rc;
}

typedef struct {
    tl_store_t *st;
    tl_audit_check_t *out;
    char prev[65];
    tl_errbuf_t *eb;
} verify_t;

static int verify_row(const tl_audit_entry_t *e, void *arg) {
    verify_t *v = arg;
    int64_t id = e->id;
    v->out->entries++;
    v->out->last_id = id;
    if (!*e->mac) {
        if (v->out->entries - v->out->unchained == 1) { /* written before entries were chained */
            v->out->unchained++;
            return 0;
        }
        v->out->bad_id = id;
        tl_errbuf_set(v->eb, "audit entry %lld has no MAC but follows chained entries: its MAC was removed",
                      (long long)id);
        return TL_ECORRUPT;
    }
    char mac[65];
    int rc = entry_mac(v->st, v->prev, id, e->at, e->who, e->what, e->target, mac, v->eb);
    if (rc) return rc;
    if (strcmp(mac, e->mac) != 0) {
        v->out->bad_id = id;
        tl_errbuf_set(v->eb, "audit entry %lld does not match its MAC: it, or the one before it, was "
                      "changed, inserted or removed", (long long)id);
        return TL_ECORRUPT;
    }
    snprintf(v->prev, sizeof v->prev, "%s", e->mac);
    return 0;
}

/* The log against its anchor: what is missing, named. */
static int check_anchor(const tl_audit_check_t *k, const tl_audit_anchor_t *a, tl_errbuf_t *eb) {
    long long have = (long long)k->entries, want = (long long)a->entries;
    if (have < want && have == 0)
        tl_errbuf_set(eb, "the audit log is empty but its anchor says %lld entries: all %lld were removed", want,
                      want);
    else if (have < want)
        tl_errbuf_set(eb, "the audit log ends at entry %lld but its anchor says %lld: %lld %s removed from the "
                      "end", (long long)k->last_id, want, want - have, want - have == 1 ? "entry" : "entries");
    else if (have > want)
        tl_errbuf_set(eb, "the audit log holds %lld entries but its anchor says %lld: %lld %s added without "
                      "tailor", have, want, have - want, have - want == 1 ? "entry was" : "entries were");
    else if (strcmp(k->head, a->head) != 0)
        tl_errbuf_set(eb, "the last audit entry (%lld) is not the one its anchor names: entries at the end were "
                      "replaced", (long long)k->last_id);
    else
        return 0;
    return TL_ECORRUPT;
}

int tl_audit_verify(tl_store_t *st, tl_audit_check_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    verify_t v = {st, out, "", eb};
    int rc = tl_store_audit_scan(st, NULL, verify_row, &v, eb);
    if (rc) return rc;
    snprintf(out->head, sizeof out->head, "%s", v.prev);
    rc = tl_store_audit_anchor(st, &out->anchor, eb);
    if (rc == TL_ENOENT) {
        tl_errbuf_set(eb, "the audit log has no anchor, so entries cut from its end or a wiped log cannot be "
                      "told: it was removed, or the data directory comes from an older tailor and was not opened "
                      "for writing since (the next command that writes to it anchors the log as it is then)");
        rc = TL_ECORRUPT;
    }
    if (!rc) rc = check_anchor(out, &out->anchor, eb);
    /* the head older tailors kept as a setting, until an anchor that
     * agreed with it replaced it */
    char *head = NULL;
    if (!rc && tl_store_config_get(st, "audit_head", &head, eb) == 0 && head && strcmp(head, v.prev) != 0) {
        tl_errbuf_set(eb, "the last audit entry is not the head recorded before the log was anchored: entries "
                      "were removed from the end");
        rc = TL_ECORRUPT;
    }
    eb->msg[0] = rc ? eb->msg[0] : 0;
    free(head);
    return rc;
}
