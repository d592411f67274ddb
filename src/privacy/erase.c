/* erase.c -- erasure of one user and retention of old records, across
 * every place the engine keeps data: the store (events, entities, consents,
 * feedback, do-not-contact, quarantined rows, dictionary; see
 * store/purge.c), the campaigns' side logs, and the derived files (the
 * profile snapshot, the recommender models, the log of blocked offers,
 * the journeys' states).
 *
 * The derived files are written first, as the store's blobs, and the
 * store's purge installs them in the same commit as the rest: a crash
 * leaves the erasure all done or all undone. Erasing the same id again
 * finds its tombstone and the index it had, and rewrites the derived files
 * once more, each on its own. Each erasure is recorded in the audit log
 * here, by whoever asked, so no front end can leave one unrecorded. A
 * retention cut rebuilds the profile snapshot after its purge (it is made
 * of the events that remain). */
#include "privacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "campaign/campaign.h"
#include "identity/identity.h"
#include "rec/rec.h"
#include "segment/segment.h"

/* The derived blobs an erasure rewrites, written before the purge so
 * that they are installed with it, all at once. */
typedef struct {
    tl_blobw_t **w;
    int n, cap;
} blobset_t;

static int set_add(blobset_t *b, tl_blobw_t *w) {
    if (b->n == b->cap) {
        tl_blobw_t **g = realloc(b->w, (size_t)(b->cap = b->cap ? b->cap * 2 : 8) * sizeof *g);
        if (!g) {
            tl_blobw_abandon(w);
            return TL_ENOMEM;
        }
        b->w = g;
    }
    b->w[b->n++] = w;
    return 0;
}

/* The log of blocked offers without the lines that hold pattern (the
 * user's pseudonym as logged), into set when a line goes. Returns how
 * many went, or an error. */
static int purge_offers_log(tl_store_t *st, const char *pattern, blobset_t *set, tl_errbuf_t *eb) {
    tl_blob_view_t v;
    int rc = tl_store_blob_map(st, "offers", &v, eb);
    if (rc) return rc == TL_ENOENT ? 0 : rc;
    const char *p = v.data, *end = p + v.len;
    size_t pl = strlen(pattern);
    int dropped = 0;
    tl_blobw_t *w = NULL;
    for (int pass = 0; !rc && pass < 2; pass++) { /* count, then write what stays */
        if (pass == 1 && !dropped) break;
        if (pass == 1) rc = tl_store_blob_create(st, "offers", &w, eb);
        for (const char *l = p; !rc && l < end;) {
            const char *nl = memchr(l, '\n', (size_t)(end - l));
            size_t len = nl ? (size_t)(nl - l) + 1 : (size_t)(end - l);
            int hit = memmem(l, len, pattern, pl) != NULL;
            if (pass == 0) dropped += hit;
            else if (!hit) rc = tl_blobw_write(w, l, len, eb);
            l += len;
        }
    }
    tl_store_blob_unmap(&v);
    if (rc) tl_blobw_abandon(w);
    else if (w) rc = set_add(set, w);
    return rc ? rc : dropped;
}

typedef struct {
    tl_store_t *st;
    uint32_t u;
    tl_erase_report_t *r;
    blobset_t *set;
    tl_errbuf_t *eb;
} modelctx_t;

/* A model that does not load, told in r (the lines that fit). */
static void add_unreadable(tl_erase_report_t *r, const char *why) {
    size_t len = strlen(r->unreadable_why), n = strlen(why);
    r->unreadable++;
    if (len + n + 2 <= sizeof r->unreadable_why)
        memcpy(r->unreadable_why + len, why, n), memcpy(r->unreadable_why + len + n, "\n", 2);
}

/* One model with the user cleared, into the set when it held the user. */
static int purge_model(const char *name, void *arg) {
    modelctx_t *x = arg;
    tl_model_t *m = NULL;
    if (tl_rec_model_load(x->st, name, &m, x->eb) != 0) {
        /* a file that does not load serves nobody: left as it is, and told */
        add_unreadable(x->r, x->eb->msg);
        x->eb->msg[0] = 0;
        return 0;
    }
    int rc = 0;
    if (tl_model_erase_user(m, x->u)) {
        tl_blobw_t *w;
        rc = tl_rec_model_writer(x->st, name, m, &w, x->eb);
        if (!rc) rc = set_add(x->set, w);
        if (!rc) x->r->models++;
    }
    tl_model_free(m);
    return rc;
}

static int add_blob(tl_blobw_t *w, void *arg) { return set_add(arg, w); }

/* The profile snapshot, if there is one, with the user's features
 * unknown, into set. */
static int purge_snapshot(tl_store_t *st, uint32_t u, blobset_t *set, tl_errbuf_t *eb) {
    tl_profiles_t *q = NULL;
    int rc = tl_profile_load(st, &q, eb);
    if (rc == TL_ENOENT) {
        eb->msg[0] = 0;
        return 0;
    }
    tl_blobw_t *w = NULL;
    if (!rc) rc = tl_profile_erase_user(q, u);
    if (!rc) rc = tl_store_blob_create(st, "profiles", &w, eb);
    if (!rc && (rc = tl_profile_write(q, w, eb)) != 0) tl_blobw_abandon(w);
    if (!rc) rc = set_add(set, w);
    tl_profile_free(q);
    return rc ? rc : 1;
}

/* The derived blobs without user u (pseudonym ps): the snapshot, the
 * models, the log of blocked offers, the journeys' states, counted in r. */
static int purge_derived(tl_store_t *st, uint32_t u, const char *ps, blobset_t *set,
                         tl_erase_report_t *r, tl_errbuf_t *eb) {
    int snap = purge_snapshot(st, u, set, eb);
    if (snap < 0) return snap;
    r->profiles = snap;
    modelctx_t mx = {st, u, r, set, eb};
    int rc = tl_rec_model_list(st, purge_model, &mx, eb);
    if (rc) return rc;
    char pat[64];
    snprintf(pat, sizeof pat, "\"user\":\"%s\"", ps);
    int n = purge_offers_log(st, pat, set, eb);
    if (n < 0) return n;
    r->offers = (uint64_t)n;
    n = tl_journey_erase_user(st, u, add_blob, set, eb);
    if (n < 0) return n;
    r->journeys = n;
    return 0;
}

/* Erases one identifier: key, its dictionary entry, at index u (again:
 * erased before, only the derived blobs checked). Quarantined rows are
 * searched for the key and, for a kind that is not personal, for the
 * value alone, as a source may write it without the kind. */
static int erase_one(tl_store_t *st, const tl_id_rules_t *rules, const char *key, uint32_t u,
                     int again, tl_profiles_t *p, const char *who, tl_erase_report_t *r,
                     tl_errbuf_t *eb) {
    const char *value = key;
    int kind = tl_id_kind_of(rules, key, strlen(key));
    if (kind > 0 && !rules->kinds[kind].personal) value = key + strlen(rules->kinds[kind].name) + 1;
    int rc = tl_store_pseudonym(st, key, strlen(key), r->pseudonym, eb);
    if (rc) return rc;
    r->user = u, r->again = again;
    /* the derived blobs first, installed with the purge (or, erasing again,
     * each on its own) */
    blobset_t set = {0};
    rc = purge_derived(st, u, r->pseudonym, &set, r, eb);
    if (!rc && !again) {
        /* what may name the user in a quarantined raw row */
        tl_buf_t pii;
        tl_buf_init(&pii);
        const char *terms[6] = {key};
        int nt = 1;
        if (value != key) terms[nt++] = value;
        rc = tl_store_user_pii(st, u, &pii, eb);
        for (size_t off = 0, k = 0; !rc && off < pii.len && k < 4; k++) {
            const char *v = pii.data + off;
            if (k > 0 && *v) terms[nt++] = v; /* not the name: common names would match strangers */
            off += strlen(v) + 1;
        }
        tl_campaign_purge_t logs = {0};
        if (!rc) rc = tl_campaign_purge_logs(st, u, key, INT64_MIN, &logs, eb);
        if (!rc && logs.index) rc = set_add(&set, logs.index); /* the set's now */
        logs.index = NULL;
        tl_purge_stats_t ps = {0};
        if (!rc) {
            tl_purge_t pu = {.user = u, .before = INT64_MIN, .terms = terms, .nterms = nt,
                             .logs = logs.logs, .nlogs = logs.n, .blobs = set.w, .nblobs = set.n};
            rc = tl_store_purge(st, &pu, &ps, eb);
            set.n = 0; /* the purge's now */
        }
        r->events = ps.events, r->rows = ps.rows, r->quarantined = ps.quarantined;
        r->logs = logs.n, r->wal_truncated = ps.wal_truncated;
        tl_campaign_purge_free(&logs);
        if (pii.data) sodium_memzero(pii.data, pii.len);
        tl_buf_fini(&pii);
    }
    int i = 0;
    for (; !rc && i < set.n; i++) rc = tl_blobw_close(set.w[i], eb);
    for (; i < set.n; i++) tl_blobw_abandon(set.w[i]); /* a failed close freed its own */
    free(set.w);
    if (!rc && p) rc = tl_profile_erase_user(p, u);
    if (!rc) rc = tl_audit_add(st, who, "erase", key, eb);
    return rc;
}

/* r with one more identifier's erasure in it. */
static void report_add(tl_erase_report_t *r, const tl_erase_report_t *o) {
    r->events += o->events, r->rows += o->rows, r->quarantined += o->quarantined;
    r->offers += o->offers, r->logs += o->logs, r->profiles |= o->profiles;
    r->journeys += o->journeys;
    r->models += o->models, r->wal_truncated = o->wal_truncated; /* the last purge's */
    r->unreadable += o->unreadable;
    size_t len = strlen(r->unreadable_why);
    snprintf(r->unreadable_why + len, sizeof r->unreadable_why - len, "%s", o->unreadable_why);
}

/* The other identifiers of u's person, erased from the last listed on,
 * so that a crash between two leaves the rest linked to u and erasing
 * u again finds them. */
static int erase_linked(tl_store_t *st, const tl_id_rules_t *rules, uint32_t u, tl_profiles_t *p,
                        const char *who, tl_erase_report_t *r, tl_errbuf_t *eb) {
    uint32_t *m = NULL, n = 0;
    tl_ids_t ids;
    int rc = tl_identity_person_list(st, u, &m, &n, eb);
    if (!rc) rc = tl_store_ids(st, TL_D_USER, &ids, eb);
    for (uint32_t i = n; !rc && i-- > 1;) {
        size_t len;
        const char *k = tl_ids_str(&ids, m[i], &len);
        char key[512];
        if (len >= sizeof key) continue; /* no such identifier is ever made */
        memcpy(key, k, len + 1); /* the ids may move with the purge */
        tl_erase_report_t o;
        memset(&o, 0, sizeof o);
        rc = erase_one(st, rules, key, m[i], 0, p, who, &o, eb);
        if (!rc) report_add(r, &o), r->identifiers++;
        if (!rc) rc = tl_store_ids(st, TL_D_USER, &ids, eb);
    }
    free(m);
    return rc;
}

int tl_privacy_erase(tl_store_t *st, const char *id, tl_profiles_t *p, const char *who,
                     tl_erase_report_t *r, tl_errbuf_t *eb) {
    memset(r, 0, sizeof *r);
    tl_id_rules_t rules;
    tl_buf_t key;
    tl_buf_init(&key);
    int rc = tl_identity_rules_get(st, &rules, eb);
    if (!rc) rc = tl_id_key_written(st, &rules, -1, id, strlen(id), &key, eb);
    if (!rc && tl_buf_append(&key, "", 1)) rc = TL_ENOMEM;
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
    if (!rc && !users) rc = TL_ENOMEM;
    uint32_t u = TL_NONE;
    int again = 0;
    if (!rc && (u = tl_dict_find(users, key.data, key.len - 1)) == TL_NONE) {
        rc = tl_store_erased(st, key.data, key.len - 1, &u, eb);
        if (rc == 0) {
            tl_errbuf_set(eb, "no user \"%s\" in this data directory", id);
            rc = TL_ENOENT;
        }
        if (rc == 1) again = 1, rc = 0;
    }
    if (!rc && !again) rc = erase_linked(st, &rules, u, p, who, r, eb);
    if (!rc) {
        tl_erase_report_t o;
        memset(&o, 0, sizeof o);
        rc = erase_one(st, &rules, key.data, u, again, p, who, &o, eb);
        report_add(r, &o);
        memcpy(r->pseudonym, o.pseudonym, sizeof r->pseudonym);
        r->user = o.user, r->again = o.again, r->identifiers++;
    }
    tl_buf_fini(&key);
    return rc;
}

int tl_privacy_retain(tl_store_t *st, int64_t before, tl_purge_stats_t *out, int *logs,
                      int *rebuilt, tl_errbuf_t *eb) {
    tl_campaign_purge_t cl = {0};
    *rebuilt = 0;
    int rc = tl_campaign_purge_logs(st, TL_NONE, NULL, before, &cl, eb);
    if (!rc) {
        tl_purge_t pu = {.user = TL_NONE, .before = before, .logs = cl.logs, .nlogs = cl.n,
                         .blobs = &cl.index, .nblobs = cl.index ? 1 : 0};
        rc = tl_store_purge(st, &pu, out, eb);
        cl.index = NULL; /* the purge's */
    }
    *logs = cl.n;
    tl_campaign_purge_free(&cl);
    /* the profiles described the dropped events too: built again */
    tl_blob_view_t snap;
    int had = rc ? 0 : tl_store_blob_map(st, "profiles", &snap, eb);
    if (had == 0) tl_store_blob_unmap(&snap);
    if (!rc && had != TL_ENOENT) rc = had;
    if (!rc && out->events && had == 0) {
        tl_profile_opts_t o;
        tl_profile_opts_default(&o);
        tl_profiles_t *p = NULL;
        rc = tl_segment_profiles_build(st, &o, &p, eb);
        if (!rc) rc = tl_profile_save(st, p, eb);
        tl_profile_free(p);
        *rebuilt = !rc;
    }
    return rc;
}
