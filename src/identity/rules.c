/* rules.c -- the merge rules as data: the kinds of identifier, how many of
 * each a person may hold, which are personal data, and the limit of
 * identifiers a person; their defaults and their JSON form. */
#include "identity.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void add_kind(tl_id_rules_t *r, const char *name, uint32_t max, int personal) {
    tl_id_kind_t *k = &r->kinds[r->nkinds++];
    snprintf(k->name, sizeof k->name, "%s", name);
    k->max_per_person = max;
    k->personal = personal;
}

void tl_id_rules_default(tl_id_rules_t *r) {
    memset(r, 0, sizeof *r);
    add_kind(r, "member", 1, 0);
    add_kind(r, "device", 10, 0);
    add_kind(r, "phone", 1, 1);
    add_kind(r, "email", 1, 1);
    add_kind(r, "openid", 4, 0);
    add_kind(r, "card", 2, 0);
    r->max_identifiers = 50;
}

int tl_id_kind_find(const tl_id_rules_t *r, const char *name) {
    for (int k = 0; k < r->nkinds; k++)
        if (strcmp(r->kinds[k].name, name) == 0) return k;
    return -1;
}

static int name_ok(const char *s) {
    size_t n = strlen(s);
    return n >= 1 && n < TL_ID_KIND_LEN &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

/* A count of the rules: a whole number from 0 to 65535 (0: no limit). */
static int count_of(const cJSON *v, const char *what, uint32_t *out, tl_errbuf_t *eb) {
    if (!v) return *out = 0, 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 65535 ||
        v->valuedouble != (double)(uint32_t)v->valuedouble) {
        tl_errbuf_set(eb, "identity rules: %s must be a whole number from 0 (no limit) to 65535",
                      what);
        return TL_EBADINPUT;
    }
    *out = (uint32_t)v->valuedouble;
    return 0;
}

int tl_id_rules_parse(const char *json, tl_id_rules_t *out, tl_errbuf_t *eb) {
    cJSON *j = cJSON_Parse(json);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        tl_errbuf_set(eb, "identity rules: not a JSON object");
        return TL_EBADINPUT;
    }
    tl_id_rules_t r;
    memset(&r, 0, sizeof r);
    int rc = 0;
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(j, "kinds"), *k;
    if (!cJSON_IsArray(kinds) || cJSON_GetArraySize(kinds) < 1) {
        tl_errbuf_set(eb, "identity rules: \"kinds\" must be a non-empty array");
        rc = TL_EBADINPUT;
        kinds = NULL;
    }
    cJSON_ArrayForEach(k, kinds) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(k, "name");
        const cJSON *personal = cJSON_GetObjectItemCaseSensitive(k, "personal");
        uint32_t max = 0;
        if (!cJSON_IsString(name) || !name_ok(name->valuestring)) {
            tl_errbuf_set(eb, "identity rules: each kind needs a \"name\" of 1-%d letters, digits "
                          "or '_'", TL_ID_KIND_LEN - 1);
            rc = TL_EBADINPUT;
        } else if (tl_id_kind_find(&r, name->valuestring) >= 0) {
            tl_errbuf_set(eb, "identity rules: kind \"%s\" given twice", name->valuestring);
            rc = TL_EBADINPUT;
        } else if (r.nkinds == TL_ID_MAX_KINDS) {
            tl_errbuf_set(eb, "identity rules: at most %d kinds", TL_ID_MAX_KINDS);
            rc = TL_EBADINPUT;
        } else if (personal && !cJSON_IsBool(personal)) {
            tl_errbuf_set(eb, "identity rules: \"personal\" of kind \"%s\" must be true or false",
                          name->valuestring);
            rc = TL_EBADINPUT;
        } else {
            rc = count_of(cJSON_GetObjectItemCaseSensitive(k, "max"), "\"max\"", &max, eb);
        }
        if (rc) break;
        add_kind(&r, name->valuestring, max, cJSON_IsTrue(personal));
    }
    if (!rc)
        rc = count_of(cJSON_GetObjectItemCaseSensitive(j, "max_identifiers"),
                      "\"max_identifiers\"", &r.max_identifiers, eb);
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(j, "phone_country");
    if (!rc && cc) {
        const char *s = cJSON_IsString(cc) ? cc->valuestring : NULL;
        size_t len = s ? strlen(s) : 0;
        int ok = s && len <= 3 && strspn(s, "0123456789") == len && (!len || s[0] != '0');
        if (!ok) {
            tl_errbuf_set(eb, "identity rules: \"phone_country\" must be a country calling code "
                          "of 1-3 digits (\"86\"), or \"\" for none");
            rc = TL_EBADINPUT;
        } else {
            memcpy(r.phone_country, s, len + 1);
        }
    }
    cJSON_Delete(j);
    if (!rc) *out = r;
    return rc;
}

char *tl_id_rules_json(const tl_id_rules_t *r) {
    cJSON *j = cJSON_CreateObject(), *kinds = cJSON_AddArrayToObject(j, "kinds");
    int ok = j && kinds;
    for (int k = 0; ok && k < r->nkinds; k++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(kinds, o) &&
             cJSON_AddStringToObject(o, "name", r->kinds[k].name) &&
             cJSON_AddNumberToObject(o, "max", r->kinds[k].max_per_person) &&
             cJSON_AddBoolToObject(o, "personal", r->kinds[k].personal);
    }
    ok = ok && cJSON_AddNumberToObject(j, "max_identifiers", r->max_identifiers) &&
         cJSON_AddStringToObject(j, "phone_country", r->phone_country);
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}
