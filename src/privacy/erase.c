/* erase.c -- erasure of one user and retention of old records, across
 * every place the engine keeps data: the store (events, entities, consents,
 * feedback, do-not-contact, quarantined rows, dictionary; see
 * store/purge.c), the campaigns' side logs, and the derived files (the
 * profile snapshot, the recommender models, the log of blocked offers).
 *
 * The store's part is atomic and comes first; the derived files follow.
 * If a crash comes between, erasing the same id again finds its tombstone
 * and the index it had, and finishes the derived files. */
#include "privacy.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "campaign/campaign.h"
#include "rec/rec.h"
#include "segment/segment.h"

/* Rewrites DATA/offers.log without the lines that hold pattern (the
 * user's pseudonym as logged). Returns how many went, or an error. */
static int purge_offers_log(tl_store_t *st, const char *pattern, tl_errbuf_t *eb) {
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/offers.log", tl_store_dir(st));
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? 0 : TL_EIO;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *o = fopen(tmp, "w");
    int dropped = 0, rc = o ? 0 : TL_EIO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (!rc && (n = getline(&line, &cap, f)) > 0) {
        if (strstr(line, pattern)) dropped++;
        else if (fwrite(line, 1, (size_t)n, o) != (size_t)n) rc = TL_EIO;
    }
    free(line);
    fclose(f);
    if (o && (fflush(o) != 0 || fsync(fileno(o)) != 0)) rc = TL_EIO;
    if (o && fclose(o) != 0) rc = TL_EIO;
    if (!rc && dropped && rename(tmp, path) != 0) rc = TL_EIO;
    if (rc || !dropped) unlink(tmp);
    if (rc) tl_errbuf_set(eb, "%s: cannot rewrite: %s", path, strerror(errno));
    return rc ? rc : dropped;
}

/* The model files under DATA/models with the user cleared. */
static int purge_models(tl_store_t *st, uint32_t u, int *changed, tl_errbuf_t *eb) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/models", tl_store_dir(st));
    DIR *d = opendir(dir);
    if (!d) return 0;
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".tlm") != 0) continue;
        char path[4500];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        tl_model_t *m = NULL;
        if (tl_model_load(path, &m, eb) != 0) {
            /* a file that does not load serves nobody; say so and go on */
            fprintf(stderr, "tailor: %s\n", eb->msg);
            eb->msg[0] = 0;
            continue;
        }
        if (tl_model_erase_user(m, u)) {
            rc = tl_model_save(m, path, eb);
            if (!rc) ++*changed;
        }
        tl_model_free(m);
    }
    closedir(d);
    return rc;
}

/* The profile snapshot, if there is one, with the user's features unknown. */
static int purge_snapshot(tl_store_t *st, uint32_t u, tl_errbuf_t *eb) {
    tl_profiles_t *q = NULL;
    int rc = tl_profile_load(st, &q, eb);
    if (rc == TL_ENOENT) {
        eb->msg[0] = 0;
        return 0;
    }
    if (!rc) rc = tl_profile_erase_user(q, u);
    if (!rc) rc = tl_profile_save(st, q, eb);
    tl_profile_free(q);
    return rc ? rc : 1;
}

int tl_privacy_erase(tl_store_t *st, const char *id, tl_profiles_t *p, tl_erase_report_t *r,
                     tl_errbuf_t *eb) {
    memset(r, 0, sizeof *r);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, eb);
    if (!users) return TL_ENOMEM;
    size_t idlen = strlen(id);
    uint32_t u = tl_dict_find(users, id, idlen);
    int rc = tl_store_pseudonym(st, id, idlen, r->pseudonym, eb);
    if (!rc && u == TL_NONE) {
        rc = tl_store_erased(st, id, idlen, &u, eb);
        if (rc == 0) {
            tl_errbuf_set(eb, "no user \"%s\" in this data directory", id);
            return TL_ENOENT;
        }
        if (rc == 1) r->again = 1, rc = 0;
    }
    if (rc) return rc;
    r->user = u;
    if (!r->again) {
        /* what may name the user in a quarantined raw row */
        tl_buf_t pii;
        tl_buf_init(&pii);
        const char *terms[5] = {id};
        int nt = 1;
        rc = tl_store_user_pii(st, u, &pii, eb);
        for (size_t off = 0, k = 0; !rc && off < pii.len && k < 4; k++) {
            const char *v = pii.data + off;
            if (k > 0 && *v) terms[nt++] = v; /* not the name: common names would match strangers */
            off += strlen(v) + 1;
        }
        tl_campaign_purge_t logs = {0};
        if (!rc) rc = tl_campaign_purge_logs(st, u, id, INT64_MIN, &logs, eb);
        tl_purge_stats_t ps = {0};
        if (!rc) {
            tl_purge_t pu = {.user = u, .before = INT64_MIN, .terms = terms, .nterms = nt,
                             .logs = logs.logs, .nlogs = logs.n};
            rc = tl_store_purge(st, &pu, &ps, eb);
        }
        r->events = ps.events, r->rows = ps.rows, r->quarantined = ps.quarantined;
        r->logs = logs.n, r->wal_truncated = ps.wal_truncated;
        tl_campaign_purge_free(&logs);
        if (pii.data) sodium_memzero(pii.data, pii.len);
        tl_buf_fini(&pii);
        if (rc) return rc;
    }
    if (p) rc = tl_profile_erase_user(p, u);
    int snap = rc ? rc : purge_snapshot(st, u, eb);
    if (snap < 0) return snap;
    r->profiles = snap;
    if ((rc = purge_models(st, u, &r->models, eb))) return rc;
    char pat[64];
    snprintf(pat, sizeof pat, "\"user\":\"%s\"", r->pseudonym);
    int n = purge_offers_log(st, pat, eb);
    if (n < 0) return n;
    r->offers = (uint64_t)n;
    return 0;
}

int tl_privacy_retain(tl_store_t *st, int64_t before, tl_purge_stats_t *out, int *logs,
                      int *rebuilt, tl_errbuf_t *eb) {
    tl_campaign_purge_t cl = {0};
    *rebuilt = 0;
    int rc = tl_campaign_purge_logs(st, TL_NONE, NULL, before, &cl, eb);
    if (!rc) {
        tl_purge_t pu = {.user = TL_NONE, .before = before, .logs = cl.logs, .nlogs = cl.n};
        rc = tl_store_purge(st, &pu, out, eb);
    }
    *logs = cl.n;
    tl_campaign_purge_free(&cl);
    /* the profiles described the dropped events too: built again */
    char snap[4200];
    snprintf(snap, sizeof snap, "%s/profiles.tlp", tl_store_dir(st));
    if (!rc && out->events && access(snap, F_OK) == 0) {
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
