/* privacy.c -- the commands of the data subject's rights and of the
 * audit trail: `export-user` (subject access), `erase` (erasure), `retain`
 * (the retention cut), `audit` (list, verify the chain) and `key rotate`. */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "privacy/privacy.h"
#include "profile/profile.h"

/* ---- subject access ------------------------------------------------------------------- */

const optspec_t EXPORT_USER_OPTS[] = {{"out", 1, "write to FILE (created 0600) instead of standard output"},
                                             {NULL, 0, NULL}};

int cmd_export_user(const command_t *c, const args_t *a) {
    int rc;
    if (a->npos != 1) return die_usage(c, "give one USER");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    cJSON *j = NULL;
    rc = cli_store_open(data_dir(a), 0, &st, &eb);
    if (!rc) rc = tl_subject_export(st, NULL, a->pos[0], "cli", &j, &eb); /* the read on the record */
    tl_store_close(st);
    const char *out = opt(c, a, "out");
    if (!rc && out) {
        char *txt = cJSON_Print(j);
        int fd = txt ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
        size_t len = txt ? strlen(txt) : 0;
        if (fd < 0 || write(fd, txt, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
            tl_errbuf_set(&eb, "cannot write %s", out);
            rc = TL_EIO;
        }
        if (fd >= 0 && close(fd)) rc = TL_EIO;
        cJSON_free(txt);
        cJSON_Delete(j);
    } else if (!rc) {
        print_json(j);
    }
    return rc ? fail_err("export-user", rc, &eb) : EXIT_OK;
}

/* ---- erasure ------------------------------------------------------------------------------- */

const optspec_t ERASE_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

/* The models an erasure left as they were, for they did not load. */
static void tell_unreadable(const tl_erase_report_t *r) {
    for (const char *l = r->unreadable_why; *l;) {
        size_t n = strcspn(l, "\n");
        fprintf(stderr, "tailor: %.*s\n", (int)n, l);
        l += n + (l[n] == '\n');
    }
}

int cmd_erase(const command_t *c, const args_t *a) {
    int rc;
    if (a->npos != 1) return die_usage(c, "give one USER");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_erase_report_t r;
    memset(&r, 0, sizeof r);
    rc = cli_store_open(data_dir(a), 0, &st, &eb);
    if (!rc) rc = tl_privacy_erase(st, a->pos[0], NULL, "cli", &r, &eb);
    tell_unreadable(&r);
    tl_store_close(st);
    if (rc) return fail_err("erase", rc, &eb);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "tombstone", r.pseudonym);
        cJSON_AddBoolToObject(j, "erased_before", r.again);
        cJSON_AddNumberToObject(j, "identifiers", r.identifiers);
        cJSON_AddNumberToObject(j, "events", (double)r.events);
        cJSON_AddNumberToObject(j, "records", (double)r.rows);
        cJSON_AddNumberToObject(j, "quarantined_rows_emptied", (double)r.quarantined);
        cJSON_AddNumberToObject(j, "campaign_logs_rewritten", r.logs);
        cJSON_AddNumberToObject(j, "profile_snapshots", r.profiles);
        cJSON_AddNumberToObject(j, "models", r.models);
        cJSON_AddNumberToObject(j, "offer_decisions", (double)r.offers);
        cJSON_AddNumberToObject(j, "journeys", r.journeys);
        cJSON_AddBoolToObject(j, "wal_truncated", r.wal_truncated);
        print_json(j);
    } else if (r.again) {
        printf("%s was erased before; derived files checked again (%d profile snapshot, %d models "
               "changed)\n", a->pos[0], r.profiles, r.models);
    } else {
        printf("erased %s (%u identifiers of the person): %llu events, %llu other records, %llu quarantined rows emptied, %d campaign "
               "logs rewritten, %d profile snapshot, %d models, %llu offer decisions; tombstone %s\n",
               a->pos[0], r.identifiers, (unsigned long long)r.events, (unsigned long long)r.rows,
               (unsigned long long)r.quarantined, r.logs, r.profiles, r.models,
               (unsigned long long)r.offers, r.pseudonym);
        if (!r.wal_truncated)
            fprintf(stderr, "tailor erase: another process is reading the data directory; the old pages "
                            "leave the write-ahead log at its next checkpoint\n");
    }
    return EXIT_OK;
}

/* ---- retention --------------------------------------------------------------------------- */

const optspec_t RETAIN_OPTS[] = {{"days", 1, "keep the events of the last N days (required)"},
                                 {"json", 0, "print as JSON"},
                                 {NULL, 0, NULL}};

int cmd_retain(const command_t *c, const args_t *a) {
    int rc;
    uint64_t days;
    if (!opt(c, a, "days")) return die_usage(c, "give --days N");
    if ((rc = opt_u64(c, a, "days", 0, 1, 36500, &days))) return rc;
    int64_t before = cli_now() - (int64_t)days * TL_MS_PER_DAY;
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_purge_stats_t ps = {0};
    int logs = 0, rebuilt = 0;
    rc = cli_store_open(data_dir(a), 0, &st, &eb);
    if (!rc) rc = tl_privacy_retain(st, before, &ps, &logs, &rebuilt, &eb);
    char what[64];
    snprintf(what, sizeof what, "retain %llu days", (unsigned long long)days);
    if (!rc) rc = tl_audit_add(st, "cli", what, NULL, &eb);
    tl_store_close(st);
    if (rc) return fail_err("retain", rc, &eb);
    char cut[32];
    tl_time_format(before, cut);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "before", cut);
        cJSON_AddNumberToObject(j, "events", (double)ps.events);
        cJSON_AddNumberToObject(j, "records", (double)ps.rows);
        cJSON_AddNumberToObject(j, "quarantined", (double)ps.quarantined);
        cJSON_AddNumberToObject(j, "campaign_logs_rewritten", logs);
        cJSON_AddBoolToObject(j, "profiles_rebuilt", rebuilt);
        print_json(j);
    } else {
        printf("dropped what came before %s: %llu events, %llu consent-history and feedback records, "
               "%llu quarantined rows, %d campaign logs rewritten%s\n", cut,
               (unsigned long long)ps.events, (unsigned long long)ps.rows,
               (unsigned long long)ps.quarantined, logs, rebuilt ? "; profiles built again" : "");
        if (ps.events)
            printf("models trained before now still hold what the dropped events taught them: train "
                   "them again (`tailor rec train`)\n");
    }
    return EXIT_OK;
}

/* ---- the audit log ------------------------------------------------------------------------- */

const optspec_t AUDIT_OPTS[] = {{"user", 1, "list: only the entries about this user"},
                                {"json", 0, "print as JSON"},
                                {NULL, 0, NULL}};

static int audit_row(const tl_audit_entry_t *e, void *arg) {
    cJSON *arr = arg;
    char at[32];
    tl_time_format(e->at, at);
    if (!arr) {
        printf("%6lld  %s  %-16s %-16s %s\n", (long long)e->id, at, e->who, e->what,
               *e->target ? e->target : "-");
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)e->id);
    cJSON_AddStringToObject(o, "at", at);
    cJSON_AddStringToObject(o, "who", e->who);
    cJSON_AddStringToObject(o, "what", e->what);
    if (*e->target) cJSON_AddStringToObject(o, "user", e->target);
    cJSON_AddItemToArray(arr, o);
    return 0;
}

int cmd_audit(const command_t *c, const args_t *a) {
    int rc;
    const char *sub = a->npos ? a->pos[0] : "list";
    if (a->npos > 1 || (strcmp(sub, "list") != 0 && strcmp(sub, "verify") != 0))
        return die_usage(c, "give list or verify");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    int json = opt(c, a, "json") != NULL;
    rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc && strcmp(sub, "verify") == 0) {
        tl_audit_check_t k;
        rc = tl_audit_verify(st, &k, &eb);
        if (json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddBoolToObject(j, "ok", rc == 0);
            cJSON_AddNumberToObject(j, "entries", (double)k.entries);
            cJSON_AddNumberToObject(j, "unchained", (double)k.unchained);
            if (k.bad_id) cJSON_AddNumberToObject(j, "first_bad_entry", (double)k.bad_id);
            if (rc) cJSON_AddStringToObject(j, "error", eb.msg);
            cJSON_AddStringToObject(j, "head", k.head);
            if (!rc && k.anchor.upgraded) {
                char at[32];
                tl_time_format(k.anchor.at, at);
                cJSON *an = cJSON_AddObjectToObject(j, "anchored_later");
                cJSON_AddNumberToObject(an, "entries", (double)k.anchor.since);
                cJSON_AddStringToObject(an, "at", at);
            }
            print_json(j);
        } else if (!rc) {
            printf("audit log intact: %llu entries chained%s, as many as its anchor says; head %s\n",
                   (unsigned long long)(k.entries - k.unchained),
                   k.unchained ? " (and older entries from before the chain)" : "", k.head);
            char at[32];
            tl_time_format(k.anchor.at, at);
            if (k.anchor.upgraded)
                printf("note: the log was anchored at %s over its first %lld entries (a data directory from "
                       "before anchors, or one whose anchor was removed): a cut at its end before then cannot be "
                       "told\n", at, (long long)k.anchor.since);
        }
        tl_store_close(st);
        return rc ? fail_err("audit verify", rc, &eb) : EXIT_OK;
    }
    const char *user = opt(c, a, "user");
    char ps[33] = "";
    if (!rc && user) rc = tl_store_pseudonym(st, user, strlen(user), ps, &eb);
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!rc && !json) printf("%6s  %-20s  %-16s %-16s %s\n", "entry", "at", "who", "what", "user (pseudonym)");
    if (!rc) rc = tl_store_audit_scan(st, user ? ps : NULL, audit_row, arr, &eb);
    tl_store_close(st);
    if (rc) {
        cJSON_Delete(arr);
        return fail_err("audit", rc, &eb);
    }
    if (arr) print_json(arr);
    return EXIT_OK;
}

/* ---- the data key ---------------------------------------------------------------------------- */

const optspec_t KEY_OPTS[] = {{"json", 0, "print as JSON"}, {NULL, 0, NULL}};

int cmd_key(const command_t *c, const args_t *a) {
    int rc;
    if (a->npos != 1 || strcmp(a->pos[0], "rotate") != 0) return die_usage(c, "give rotate");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_rekey_stats_t k;
    unsigned char next[32];
    rc = cli_store_open(data_dir(a), 0, &st, &eb);
    /* a key from the environment is the caller's to keep: the new one is given too */
    if (!rc && cli_key_from_env() && tl_store_key_parse(getenv("TAILOR_NEW_KEY"), next, &eb)) {
        tl_errbuf_set(&eb, "the key comes from $TAILOR_KEY: give the new one in $TAILOR_NEW_KEY (%d hex "
                      "digits), then use it as $TAILOR_KEY", 2 * (int)sizeof next);
        rc = TL_EINVAL;
    }
    if (!rc) rc = tl_store_rotate_key(st, cli_key_from_env() ? next : NULL, &k, &eb);
    sodium_memzero(next, sizeof next);
    if (!rc) rc = tl_audit_add(st, "cli", "rotate key", NULL, &eb);
    tl_store_close(st);
    if (rc) return fail_err("key rotate", rc, &eb);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "users", (double)k.users);
        cJSON_AddNumberToObject(j, "quarantined", (double)k.quarantined);
        cJSON_AddNumberToObject(j, "secrets", (double)k.other);
        print_json(j);
    } else {
        printf("key rotated: personal data of %llu users, %llu quarantined rows and %llu secrets sealed "
               "again under the new key%s\n", (unsigned long long)k.users, (unsigned long long)k.quarantined,
               (unsigned long long)k.other, cli_key_from_env() ? " (now use $TAILOR_NEW_KEY as $TAILOR_KEY)" : "");
    }
    return EXIT_OK;
}
