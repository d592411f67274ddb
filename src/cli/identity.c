/* identity.c -- `identity show|link|split|rules|evaluate`: the person
 * behind any identifier with its identifiers and links, links made and
 * split by hand (each in a batch of its own, with what the resolution then
 * did), the merge rules, and the persons measured against a truth.
 * Identifiers are printed as the store keys them: personal kinds as their
 * keyed pseudonym, never in clear. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "identity/identity.h"

const optspec_t IDENTITY_OPTS[] = {
    {"reason", 1, "split: why the link proved wrong (kept with it)"},
    {"set", 1, "rules: replace the merge rules with those of this JSON file"},
    {"truth", 1, "evaluate: a CSV of identifier,person (the generator's identities.truth)"},
    {"json", 0, "print as JSON (rules: always)"},
    {NULL, 0, NULL}};


/* The store's key of identifier u, or "(erased)". */
static const char *key_of(tl_dict_t *d, uint32_t u) {
    const char *k = u < tl_dict_count(d) ? tl_dict_str(d, u, NULL) : NULL;
    return !k || tl_id_forgotten(k) ? "(erased)" : k;
}

/* A store opened with its rules and its persons resolved. */
typedef struct {
    tl_store_t *st;
    tl_id_rules_t r;
    tl_identity_t *id;
    tl_dict_t *d;
} idctx_t;

static void idctx_close(idctx_t *x) {
    tl_identity_free(x->id);
    tl_store_close(x->st);
}

static int idctx_open(const args_t *a, int flags, idctx_t *x, tl_errbuf_t *eb) {
    memset(x, 0, sizeof *x);
    int rc = cli_store_open(data_dir(a), flags, &x->st, eb);
    if (!rc) rc = tl_identity_rules_get(x->st, &x->r, eb);
    if (!rc) rc = tl_identity_load(x->st, &x->r, &x->id, eb);
    if (!rc && !(x->d = tl_store_dict(x->st, TL_D_USER, eb))) rc = TL_ENOMEM;
    return rc;
}

/* Resolves again after a commit. */
static int idctx_reload(idctx_t *x, tl_errbuf_t *eb) {
    tl_identity_free(x->id);
    x->id = NULL;
    int rc = tl_identity_load(x->st, &x->r, &x->id, eb);
    if (!rc && !(x->d = tl_store_dict(x->st, TL_D_USER, eb))) rc = TL_ENOMEM;
    return rc;
}

/* ---- show ------------------------------------------------------------------------ */

static int identity_show(const command_t *c, const args_t *a, const char *written) {
    tl_errbuf_t eb = {{0}};
    idctx_t x;
    uint32_t u = 0;
    cJSON *j = NULL;
    int rc = idctx_open(a, TL_STORE_READONLY, &x, &eb);
    if (!rc) rc = tl_identity_find(x.st, &x.r, written, &u, &eb);
    if (!rc) rc = tl_identity_person_json(x.st, &x.r, x.id, u, &j, &eb);
    idctx_close(&x);
    if (rc) return fail_err("identity show", rc, &eb);
    if (opt(c, a, "json")) {
        print_json(j);
        return EXIT_OK;
    }
    const cJSON *ids = cJSON_GetObjectItem(j, "identifiers"), *links = cJSON_GetObjectItem(j, "links"), *o;
    int n = cJSON_GetArraySize(ids);
    printf("%s is person %s, %d identifier%s:\n", cJSON_GetObjectItem(j, "identifier")->valuestring,
           cJSON_GetObjectItem(j, "person")->valuestring, n, n == 1 ? "" : "s");
#define STR(o, k) (cJSON_GetObjectItem(o, k) ? cJSON_GetObjectItem(o, k)->valuestring : "")
    cJSON_ArrayForEach(o, ids) printf("  %-44s %s\n", STR(o, "id"), STR(o, "kind"));
    printf("links:\n");
    cJSON_ArrayForEach(o, links) {
        const char *state = STR(o, "state"), *reason = STR(o, "reason");
        printf("  #%-6.0f %s -- %s  %s by %s: %s", cJSON_GetObjectItem(o, "id")->valuedouble, STR(o, "a"), STR(o, "b"),
               STR(o, "at"), *STR(o, "source") ? STR(o, "source") : "-", state);
        if (strcmp(state, "split") == 0) printf(" at %s%s%s", STR(o, "split_at"), *reason ? ": " : "", reason);
        putchar('\n');
    }
#undef STR
    cJSON_Delete(j);
    return EXIT_OK;
}

/* ---- link and split ---------------------------------------------------------------- */

/* Both identifiers found (0), else 1 when one is new, or an error. */
static int find_both(idctx_t *x, const char *a, const char *b, uint32_t *ua, uint32_t *ub,
                     tl_errbuf_t *eb) {
    int rc = tl_identity_find(x->st, &x->r, a, ua, eb);
    if (!rc) rc = tl_identity_find(x->st, &x->r, b, ub, eb);
    if (rc == TL_ENOENT) {
        eb->msg[0] = 0;
        return 1;
    }
    return rc;
}

static int identity_link(const command_t *c, const args_t *a, const char *wa, const char *wb) {
    tl_errbuf_t eb = {{0}};
    idctx_t x;
    uint32_t ua = 0, ub = 0;
    uint64_t lid = 0;
    int before = 0, added = 0;
    char why[160] = "";
    int rc = idctx_open(a, 0, &x, &eb);
    int known = rc ? rc : find_both(&x, wa, wb, &ua, &ub, &eb);
    if (known < 0) rc = known;
    if (!rc && known == 0) before = tl_identity_person(x.id, ua) == tl_identity_person(x.id, ub);
    if (!rc) rc = tl_store_begin(x.st, &eb);
    if (!rc) {
        added = rc = tl_identity_link(x.st, &x.r, wa, wb, tl_store_now(x.st), "cli", &lid, &eb);
        if (rc >= 0) rc = tl_store_commit(x.st, &eb);
        else tl_store_rollback(x.st);
    }
    if (!rc) rc = idctx_reload(&x, &eb);
    if (!rc) rc = find_both(&x, wa, wb, &ua, &ub, &eb) ? TL_ENOENT : 0;
    int refused = rc ? 0 : tl_identity_refusal(x.st, &x.r, x.id, ua, ub, why, sizeof why, &eb);
    if (refused < 0) rc = refused;
    if (rc) {
        idctx_close(&x);
        return fail_err("identity link", rc, &eb);
    }
    uint32_t pa = tl_identity_person(x.id, ua), pb = tl_identity_person(x.id, ub);
    const char *outcome = pa != pb ? "refused" : before ? "one_person_already" : "joined";
    const char *ka = key_of(x.d, ua), *kb = key_of(x.d, ub);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "link", (double)lid);
        cJSON_AddBoolToObject(j, "new", added == 1);
        cJSON_AddStringToObject(j, "a", ka);
        cJSON_AddStringToObject(j, "b", kb);
        cJSON_AddStringToObject(j, "outcome", outcome);
        cJSON_AddStringToObject(j, "person", key_of(x.d, pa));
        if (pa != pb) {
            cJSON_AddStringToObject(j, "person_b", key_of(x.d, pb));
            if (refused) cJSON_AddStringToObject(j, "rule", why);
        }
        print_json(j);
    } else {
        printf("%s #%llu: %s -- %s", added == 1 ? "new link" : "already linked",
               (unsigned long long)lid, ka, kb);
        if (pa != pb)
            printf(", refused by the rules (%s): %s stays person %s, %s person %s\n",
                   refused ? why : "a rule", ka, key_of(x.d, pa), kb, key_of(x.d, pb));
        else
            printf(", %s person %s\n", before ? "one" : "now one", key_of(x.d, pa));
    }
    idctx_close(&x);
    return EXIT_OK;
}

static int identity_split(const command_t *c, const args_t *a, const char *wa, const char *wb) {
    tl_errbuf_t eb = {{0}};
    idctx_t x;
    uint32_t ua = 0, ub = 0;
    const char *reason = opt(c, a, "reason");
    int rc = idctx_open(a, 0, &x, &eb);
    if (!rc) rc = tl_store_begin(x.st, &eb);
    if (!rc) {
        rc = tl_identity_split(x.st, &x.r, wa, wb, tl_store_now(x.st), reason ? reason : "", &eb);
        if (rc >= 0) rc = tl_store_commit(x.st, &eb);
        else tl_store_rollback(x.st);
    }
    if (!rc) rc = idctx_reload(&x, &eb);
    if (!rc) rc = find_both(&x, wa, wb, &ua, &ub, &eb) ? TL_ENOENT : 0;
    if (rc) {
        idctx_close(&x);
        return fail_err("identity split", rc, &eb);
    }
    uint32_t pa = tl_identity_person(x.id, ua), pb = tl_identity_person(x.id, ub);
    const char *ka = key_of(x.d, ua), *kb = key_of(x.d, ub);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "a", ka);
        cJSON_AddStringToObject(j, "b", kb);
        cJSON_AddStringToObject(j, "person_a", key_of(x.d, pa));
        cJSON_AddStringToObject(j, "person_b", key_of(x.d, pb));
        cJSON_AddBoolToObject(j, "one_person", pa == pb);
        print_json(j);
    } else if (pa == pb) {
        printf("split %s -- %s; other links keep them one person %s\n", ka, kb, key_of(x.d, pa));
    } else {
        printf("split %s -- %s: %s is person %s, %s person %s\n", ka, kb, ka, key_of(x.d, pa), kb,
               key_of(x.d, pb));
    }
    idctx_close(&x);
    return EXIT_OK;
}

/* ---- rules ------------------------------------------------------------------------ */

static int identity_rules(const command_t *c, const args_t *a) {
    tl_errbuf_t eb = {{0}};
    const char *file = opt(c, a, "set");
    char *text = NULL;
    tl_id_rules_t r;
    int rc;
    if (file && (rc = tl_read_file(file, &text, NULL)))
        return cli_fail("identity rules", EXIT_FAIL, rc, "%s: cannot read the file", file);
    if (file && (rc = tl_id_rules_parse(text, &r, &eb))) {
        free(text);
        return cli_fail("identity rules", EXIT_USAGE, rc, "%s: %s", file, eb.msg);
    }
    free(text);
    tl_store_t *st;
    rc = cli_store_open(data_dir(a), file ? 0 : TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = file ? tl_identity_rules_put(st, &r, &eb) : tl_identity_rules_get(st, &r, &eb);
    tl_store_close(st);
    if (rc) return fail_err("identity rules", rc, &eb);
    /* the rules' JSON either way: the form --set takes */
    char *js = tl_id_rules_json(&r);
    if (!js) return cli_fail("identity rules", EXIT_FAIL, TL_ENOMEM, "%s", tl_strerror(TL_ENOMEM));
    puts(js);
    free(js);
    if (file) note("the persons follow the new rules from now on; build the profiles again");
    return EXIT_OK;
}

/* ---- evaluate ---------------------------------------------------------------------- */

static int identity_evaluate(const command_t *c, const args_t *a) {
    const char *file = opt(c, a, "truth");
    if (!file) return die_usage(c, "evaluate needs --truth FILE");
    tl_errbuf_t eb = {{0}};
    char *text = NULL;
    size_t len = 0;
    int rc = tl_read_file(file, &text, &len);
    if (rc) return cli_fail("identity evaluate", EXIT_FAIL, rc, "%s: cannot read the file", file);
    tl_store_t *st;
    tl_id_rules_t r;
    tl_id_eval_t e;
    rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
    if (!rc) rc = tl_identity_rules_get(st, &r, &eb);
    if (!rc) rc = tl_identity_evaluate(st, &r, text, len, file, &e, &eb);
    tl_store_close(st);
    free(text);
    if (rc) return fail_err("identity evaluate", rc, &eb);
    if (opt(c, a, "json")) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "precision", e.precision);
        cJSON_AddNumberToObject(j, "recall", e.recall);
        cJSON_AddNumberToObject(j, "rows", (double)e.rows);
        cJSON_AddNumberToObject(j, "compared", (double)e.compared);
        cJSON_AddNumberToObject(j, "missing", (double)e.missing);
        cJSON_AddNumberToObject(j, "repeated", (double)e.repeated);
        cJSON_AddNumberToObject(j, "persons", (double)e.persons);
        cJSON_AddNumberToObject(j, "true_persons", (double)e.true_persons);
        cJSON_AddNumberToObject(j, "pairs_resolved", (double)e.pairs_resolved);
        cJSON_AddNumberToObject(j, "pairs_true", (double)e.pairs_true);
        cJSON_AddNumberToObject(j, "pairs_both", (double)e.pairs_both);
        cJSON_AddNumberToObject(j, "over_limit", (double)e.over_limit);
        cJSON *s = cJSON_AddObjectToObject(j, "resolution");
        cJSON_AddNumberToObject(s, "identifiers", e.resolution.identifiers);
        cJSON_AddNumberToObject(s, "persons", e.resolution.persons);
        cJSON_AddNumberToObject(s, "merges", (double)e.resolution.merges);
        cJSON_AddNumberToObject(s, "refused", (double)e.resolution.refused);
        cJSON_AddNumberToObject(s, "split", (double)e.resolution.split);
        print_json(j);
        return EXIT_OK;
    }
    printf("precision  %.4f  (%llu of %llu pairs joined by the links are one true person)\n"
           "recall     %.4f  (%llu of %llu pairs of one true person are joined)\n"
           "compared   %llu identifiers: %llu persons resolved, %llu true persons\n"
           "missing    %llu identifiers of the truth not in the store\n"
           "over limit %llu persons\n",
           e.precision, (unsigned long long)e.pairs_both, (unsigned long long)e.pairs_resolved,
           e.recall, (unsigned long long)e.pairs_both, (unsigned long long)e.pairs_true,
           (unsigned long long)e.compared, (unsigned long long)e.persons,
           (unsigned long long)e.true_persons, (unsigned long long)e.missing,
           (unsigned long long)e.over_limit);
    return EXIT_OK;
}

int cmd_identity(const command_t *c, const args_t *a) {
    const char *sub = a->npos ? a->pos[0] : "";
    if (a->npos == 2 && strcmp(sub, "show") == 0) return identity_show(c, a, a->pos[1]);
    if (a->npos == 3 && strcmp(sub, "link") == 0) return identity_link(c, a, a->pos[1], a->pos[2]);
    if (a->npos == 3 && strcmp(sub, "split") == 0)
        return identity_split(c, a, a->pos[1], a->pos[2]);
    if (a->npos == 1 && strcmp(sub, "rules") == 0) return identity_rules(c, a);
    if (a->npos == 1 && strcmp(sub, "evaluate") == 0) return identity_evaluate(c, a);
    return die_usage(c, "say show ID, link A B, split A B, rules or evaluate --truth FILE");
}
