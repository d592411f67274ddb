/* privacy.h -- what the data subject is owed: everything held about one
 * user, gathered from every place the engine keeps it (subject access),
 * erasure of all of it, and the retention cut of old records.
 *
 * The export is privileged: personal fields come in clear, so callers show
 * it only to whoever may see them and record the read in the audit log. */
#ifndef TL_PRIVACY_H
#define TL_PRIVACY_H

#include "profile/profile.h"
#include "store/store.h"

struct cJSON;

/* Subject access, as every front end gives it: everything held about the
 * user named id (an identifier as written, identity.h) as JSON, and in
 * its "linked_identifiers" the same of every other identifier of its
 * person (personal fields, attributes, credit record,
 * consents with their history, do-not-contact entries, feedback, every
 * event, the profile (p may be NULL: then from the stored build, if any),
 * the stored segments the user is in, every campaign decision about the
 * user, and the audit entries of reads of the user's data), with the read
 * on the record: `who` exporting the user's data is added to the audit
 * log once the document is gathered (so it lists the reads before this
 * one), and the document is handed out only if that entry is recorded.
 * Event sessions are kept only as hashes and are not in it. TL_ENOENT,
 * with nothing recorded, for an id not in the store. The store must be
 * writable. */
int tl_subject_export(tl_store_t *st, const tl_profiles_t *p, const char *id, const char *who,
                      struct cJSON **out, tl_errbuf_t *eb);

/* The latest `limit` events of the identifiers users[] (a person's), newest
 * first, as subject_export writes them (with "user" when there are more
 * identifiers than one). */
int tl_subject_events(tl_store_t *st, const uint32_t *users, int nusers, int limit,
                      struct cJSON **out, tl_errbuf_t *eb);

/* Appends to arr every consent record of the identifier user, by time
 * then purpose: {purpose, granted, at}. */
int tl_subject_consents(tl_store_t *st, uint32_t user, struct cJSON *arr, tl_errbuf_t *eb);
/* Appends to arr the name of every stored segment whose condition holds
 * for row user of p (a condition that no longer compiles holds nobody).
 * The store must be writable when a condition counts events. */
int tl_subject_segments(tl_store_t *st, const tl_profiles_t *p, uint32_t user, struct cJSON *arr,
                        tl_errbuf_t *eb);

/* ---- the audit log (audit.c) --------------------------------------------------- */

/* Records that `who` did `what` to the data of user (an id, kept as its
 * pseudonym; NULL: no user), chained to the entry before. Its own batch. */
int tl_audit_add(tl_store_t *st, const char *who, const char *what, const char *user,
                 tl_errbuf_t *eb);

typedef struct {
    uint64_t entries, unchained; /* unchained: written before the chain existed */
    int64_t last_id;             /* the last entry's id, or 0 */
    int64_t bad_id;              /* the first entry that fails, or 0 */
    char head[65];               /* the last entry's MAC */
    tl_audit_anchor_t anchor;    /* the store's anchor of the log, when readable */
} tl_audit_check_t;
/* Walks the chain and compares its end with the anchor: TL_ECORRUPT, with
 * eb naming the entry or what is missing, if an entry was changed,
 * inserted or removed, the log was cut at its end or wiped, or the anchor
 * is gone or was changed. anchor.upgraded: the log was anchored over
 * anchor.since entries at anchor.at, and a cut before then cannot be told. */
int tl_audit_verify(tl_store_t *st, tl_audit_check_t *out, tl_errbuf_t *eb);

/* ---- erasure and retention (erase.c) ------------------------------------------- */

typedef struct {
    char pseudonym[33]; /* the tombstone's, for the audit log */
    uint32_t user;      /* the index the user had */
    int again;          /* erased before: only the derived files were checked */
    uint32_t identifiers; /* the person's identifiers erased (the one named too) */
    uint64_t events, rows, quarantined, offers;
    int logs, profiles, models, wal_truncated;
    int journeys;               /* journeys whose state of the user was dropped */
    int unreadable;             /* models that did not load: left as they were */
    char unreadable_why[1024];  /* why, a line each (the lines that fit) */
} tl_erase_report_t;

/* Erases user id, an identifier as written (identity.h), and every
 * identifier of its person, each as follows: events, personal fields and attributes, credit,
 * consents, do-not-contact, feedback, delivery states, quarantined rows
 * naming the user (emptied), campaign exposures and contacts (dropped) and
 * outbox lines (blanked), the profile in p (may be NULL) and in the
 * snapshot, what the models learnt of the user alone, the logged
 * offer decisions, and the user's place in journeys. Leaves a tombstone (a keyed pseudonym) so a re-import
 * of the same id is refused, and records in the audit log that `who`
 * erased the user (erasing again is recorded too). TL_ENOENT for an id
 * never seen, with nothing recorded. */
int tl_privacy_erase(tl_store_t *st, const char *id, tl_profiles_t *p, const char *who,
                     tl_erase_report_t *r, tl_errbuf_t *eb);

/* Retention: events before `before` and the records derived from them
 * (campaign exposures, contacts and outbox lines, feedback, quarantined
 * rows, the consent history but for the consents in force) dropped. The
 * profile snapshot, when there is one and events went, is built again
 * from what is left (*rebuilt = 1); the models are the caller's to train
 * again. */
int tl_privacy_retain(tl_store_t *st, int64_t before, tl_purge_stats_t *out, int *logs,
                      int *rebuilt, tl_errbuf_t *eb);

#endif
