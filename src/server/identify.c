/* identify.c -- one customer across identifiers through the API:
 * POST /v1/identify links two identifiers (a login, an app that learnt who
 * its user is) in a committed batch, and the profiles in memory follow the
 * merge at once, as a build of the store would make them; the person
 * behind an identifier as the answers show it: the key of its first
 * identifier and the keys of all (personal kinds as their keyed
 * pseudonyms, never in clear). */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

#include "segment/segment.h"

int tl__identify_withdrawn(tl_server_t *s) {
    uint32_t n = tl_profile_nusers(s->prof);
    if (n > s->nwithdrawn) {
        uint8_t *w = realloc(s->withdrawn, (size_t)n + 1);
        if (!w) return TL_ENOMEM;
        s->withdrawn = w, s->nwithdrawn = n;
    }
    for (uint32_t u = 0; u < s->nwithdrawn; u++)
        s->withdrawn[u] = (uint8_t)tl_profile_withdrawn(s->prof, u);
    return 0;
}

int tl__scenes_reload(tl_server_t *s, tl_errbuf_t *eb) {
    tl_scenes_t *sc = NULL;
    int rc = tl_scenes_new(TL_NONE, &sc);
    if (!rc) rc = tl_scenes_scan(sc, s->st, eb);
    if (!rc) tl_scenes_free(s->scenes), s->scenes = sc;
    else tl_scenes_free(sc);
    return rc;
}

int tl__identify_follow(tl_server_t *s, tl_errbuf_t *eb) {
    uint32_t changed = 0;
    int rc = tl_profile_relink(s->prof, s->st, s->as_of, &changed, eb);
    if (!rc && changed) rc = tl_segment_profiles_derive(s->st, s->prof, eb);
    if (!rc && changed) rc = tl__scenes_reload(s, eb); /* a person's scenes are its identifiers' */
    if (!rc) rc = tl__identify_withdrawn(s);
    if (rc && !eb->msg[0]) tl_errbuf_set(eb, "profiles: %s", tl_strerror(rc));
    return rc;
}

typedef struct {
    tl_dict_t *users;
    cJSON *arr;
} members_t;

static int add_member(uint32_t m, void *arg) {
    members_t *x = arg;
    const char *k = tl_dict_str(x->users, m, NULL);
    cJSON *v = cJSON_CreateString(k ? k : "");
    if (!v) return TL_ENOMEM;
    cJSON_AddItemToArray(x->arr, v);
    return 0;
}

void tl__identify_person_json(tl_server_t *s, uint32_t u, cJSON *j) {
    tl_errbuf_t eb;
    members_t x = {tl_store_dict(s->st, TL_D_USER, &eb), cJSON_CreateArray()};
    uint32_t c = tl_profile_person(s->prof, u);
    const char *k = x.users ? tl_dict_str(x.users, c, NULL) : NULL;
    cJSON_AddStringToObject(j, "person", k ? k : "");
    if (x.users) tl_profile_members(s->prof, u, add_member, &x);
    cJSON_AddItemToObject(j, "identifiers", x.arr);
}

/* The identifier a body's field names: a non-empty string. */
static const char *field_id(const cJSON *body, const char *name, tl_http_response_t *rs) {
    const cJSON *v = cJSON_GetObjectItem(body, name);
    if (!v) {
        tl__server_fail(rs, 400, "missing_field", "\"%s\" is missing: an identify call links \"user\" "
                        "and \"alias\", identifiers as written (KIND:VALUE, or a member id)", name);
        return NULL;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0]) {
        tl__server_fail(rs, 400, "bad_type", "\"%s\" must be a non-empty string: an identifier as "
                        "written (KIND:VALUE, or a member id)", name);
        return NULL;
    }
    return v->valuestring;
}

void tl__identify_post(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    tl_http_response_t *rs = req->rs;
    const char *user = field_id(req->body, "user", rs);
    const char *alias = user ? field_id(req->body, "alias", rs) : NULL;
    if (!alias) return;
    const cJSON *at = cJSON_GetObjectItem(req->body, "at");
    int64_t t = tl_store_now(s->st);
    if (at && (!cJSON_IsString(at) || tl_time_parse(at->valuestring, strlen(at->valuestring), &t))) {
        tl__server_fail(rs, 400, "bad_type", "\"at\", when given, is a time such as \"2025-11-30T10:00:00Z\"");
        return;
    }
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_begin(s->st, &eb), linked = 0;
    if (!rc) {
        rc = tl_identity_link(s->st, &s->rules, user, alias, t, "identify", NULL, &eb);
        linked = rc == 1;
        if (rc >= 0) rc = tl_store_commit(s->st, &eb);
        else tl_store_rollback(s->st);
    }
    cJSON *j = NULL;
    if (!rc) {
        pthread_rwlock_wrlock(&s->prof_mu);
        rc = tl__identify_follow(s, &eb);
        uint32_t a = TL_NONE, b = TL_NONE;
        if (!rc) rc = tl_identity_find(s->st, &s->rules, user, &a, &eb);
        if (!rc) rc = tl_identity_find(s->st, &s->rules, alias, &b, &eb);
        /* the link is in force: its two ends are apart only when a rule refused it */
        int refused = !rc && tl_profile_person(s->prof, a) != tl_profile_person(s->prof, b);
        char why[200] = "";
        tl_identity_t *id = NULL;
        if (refused) rc = tl_identity_load(s->st, &s->rules, &id, &eb);
        if (refused && !rc) {
            int broke = tl_identity_refusal(s->st, &s->rules, id, a, b, why, sizeof why, &eb);
            if (broke < 0) rc = broke;
        }
        tl_identity_free(id);
        if (!rc) {
            j = cJSON_CreateObject();
            tl__identify_person_json(s, a, j);
            cJSON_AddBoolToObject(j, "linked", linked);
            cJSON_AddBoolToObject(j, "refused", refused);
            if (why[0]) cJSON_AddStringToObject(j, "why", why);
        }
        pthread_rwlock_unlock(&s->prof_mu);
    }
    pthread_rwlock_unlock(&s->st_rw);
    if (rc == TL_EBADINPUT) tl__server_fail(rs, 400, "bad_value", "%s", eb.msg);
    else if (rc) tl__server_fail_write(rs, rc, "store", eb.msg[0] ? eb.msg : tl_strerror(rc));
    else tl__server_json(rs, 200, j);
}

/* GET /v1/users/{id}/identity: the person of an identifier with each of
 * its identifiers (personal kinds by keyed pseudonym) and every link
 * touching them, in force, refused by a rule or split, with who made it
 * and when. The identity graph is resolved on a reader of the store, the
 * requests served meanwhile; the route audits the read. */
void tl__identify_get(tl_srv_req_t *r) {
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_id_rules_t rules;
    tl_identity_t *id = NULL;
    uint32_t u = 0;
    cJSON *j = NULL;
    int rc = tl__server_reader(r->s, &st, &eb);
    if (!rc) rc = tl_identity_rules_get(st, &rules, &eb);
    if (!rc) rc = tl_identity_load(st, &rules, &id, &eb);
    if (!rc) rc = tl_identity_find(st, &rules, r->arg[0], &u, &eb);
    if (!rc) rc = tl_identity_person_json(st, &rules, id, u, &j, &eb);
    tl_identity_free(id);
    tl_store_close(st);
    if (rc) tl__server_fail_read(r->rs, rc, eb.msg[0] ? eb.msg : tl_strerror(rc));
    else tl__server_json(r->rs, 200, j);
}
