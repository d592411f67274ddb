/* person.c -- a person as a caller looks at it: the links touching its
 * identifiers with the state each is in, and the rule a link between two
 * persons breaks, from the kinds their identifiers hold (the count
 * truth.c checks every person with).
 *
 * A link's state is read off the resolution, not kept: a split link is
 * split; a link in force whose two ends are in two persons was refused
 * (a join is never undone and persons only grow, so a link refused when
 * it was applied still breaks the rule at the end, and one applied or not
 * needed has its ends in one person). */
#include "identity_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const tl_identity_t *id;
    uint32_t person, member;
    int (*fn)(const tl_link_row_t *, int, void *);
    void *arg;
} links_of_t;

static int one_link(const tl_link_row_t *l, void *arg) {
    links_of_t *x = arg;
    uint32_t other = l->a == x->member ? l->b : l->a;
    uint32_t pa = tl_identity_person(x->id, l->a), pb = tl_identity_person(x->id, l->b);
    /* a link between two members is seen from both: given once */
    if (tl_identity_person(x->id, other) == x->person && other < x->member) return 0;
    int state = l->split_at != INT64_MIN ? TL_ID_LINK_SPLIT
                : pa != pb               ? TL_ID_LINK_REFUSED
                                         : TL_ID_LINK_IN_FORCE;
    return x->fn(l, state, x->arg);
}

typedef struct {
    uint32_t *v;
    size_t n, cap;
} members_t;

static int add_member(uint32_t m, void *arg) {
    members_t *x = arg;
    if (x->n == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 16;
        uint32_t *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv) return TL_ENOMEM;
        x->v = nv, x->cap = nc;
    }
    x->v[x->n++] = m;
    return 0;
}

int tl_identity_links_of(tl_store_t *st, const tl_identity_t *id, uint32_t u,
                         int (*fn)(const tl_link_row_t *l, int state, void *arg), void *arg,
                         tl_errbuf_t *eb) {
    members_t m = {0};
    int rc = tl_identity_members(id, u, add_member, &m);
    links_of_t x = {id, tl_identity_person(id, u), 0, fn, arg};
    for (size_t i = 0; !rc && i < m.n; i++) {
        x.member = m.v[i];
        rc = tl_store_link_scan(st, m.v[i], one_link, &x, eb);
    }
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory listing identity links");
    free(m.v);
    return rc;
}

typedef struct {
    const tl_id_rules_t *r;
    tl_dict_t *d;
    tl__id_counts_t *c;
} count_t;

static int count_kind(uint32_t m, void *arg) {
    count_t *x = arg;
    size_t n = 0;
    const char *k = tl_dict_str(x->d, m, &n);
    x->c->count[tl_id_kind_of(x->r, k, n)]++;
    x->c->total++;
    return 0;
}

void tl__id_count(const tl_id_rules_t *r, tl_dict_t *d, const tl_identity_t *id, uint32_t u,
                  tl__id_counts_t *c) {
    count_t x = {r, d, c};
    tl_identity_members(id, u, count_kind, &x);
}

int tl__id_breaks(const tl_id_rules_t *r, const tl__id_counts_t *c, char *why, size_t n) {
    for (int k = 0; k < r->nkinds; k++) {
        uint32_t max = r->kinds[k].max_per_person;
        if (max && c->count[k] > max) {
            if (n)
                snprintf(why, n, "the person would hold %u identifiers of kind %s, at most %u",
                         c->count[k], r->kinds[k].name, max);
            return 1;
        }
    }
    if (r->max_identifiers && c->total > r->max_identifiers) {
        if (n)
            snprintf(why, n, "the person would hold %u identifiers, at most %u", c->total,
                     r->max_identifiers);
        return 1;
    }
    return 0;
}

int tl_identity_refusal(tl_store_t *st, const tl_id_rules_t *r, const tl_identity_t *id,
                        uint32_t a, uint32_t b, char *why, size_t n, tl_errbuf_t *eb) {
    if (n) why[0] = 0;
    if (tl_identity_person(id, a) == tl_identity_person(id, b)) return 0;
    tl_dict_t *d = tl_store_dict(st, TL_D_USER, eb);
    if (!d) return TL_ENOMEM;
    tl__id_counts_t c = {{0}, 0};
    tl__id_count(r, d, id, a, &c);
    tl__id_count(r, d, id, b, &c);
    return tl__id_breaks(r, &c, why, n);
}

/* ---- a person as JSON -------------------------------------------------------------- */

typedef struct {
    const tl_id_rules_t *r;
    const tl_dict_t *d;
    cJSON *arr;
} pjson_t;

static const char *key_of(const tl_dict_t *d, uint32_t u) {
    const char *k = u < tl_dict_count(d) ? tl_dict_str(d, u, NULL) : NULL;
    return !k || tl_id_forgotten(k) ? "(erased)" : k;
}

static int member_json(uint32_t m, void *arg) {
    pjson_t *x = arg;
    const char *k = key_of(x->d, m);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", k);
    cJSON_AddStringToObject(o, "kind", x->r->kinds[tl_id_kind_of(x->r, k, strlen(k))].name);
    cJSON_AddItemToArray(x->arr, o);
    return 0;
}

static int link_json(const tl_link_row_t *lr, int state, void *arg) {
    static const char *const STATE[] = {"in_force", "refused", "split"};
    pjson_t *x = arg;
    char at[32];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)lr->id);
    cJSON_AddStringToObject(o, "a", key_of(x->d, lr->a));
    cJSON_AddStringToObject(o, "b", key_of(x->d, lr->b));
    tl_time_format(lr->at, at);
    cJSON_AddStringToObject(o, "at", at);
    cJSON_AddStringToObject(o, "source", lr->source);
    cJSON_AddStringToObject(o, "state", STATE[state]);
    if (state == TL_ID_LINK_SPLIT) {
        tl_time_format(lr->split_at, at);
        cJSON_AddStringToObject(o, "split_at", at);
        cJSON_AddStringToObject(o, "reason", lr->split_reason);
    }
    cJSON_AddItemToArray(x->arr, o);
    return 0;
}

int tl_identity_person_json(tl_store_t *st, const tl_id_rules_t *r, const tl_identity_t *id, uint32_t u,
                            cJSON **out, tl_errbuf_t *eb) {
    *out = NULL;
    const tl_dict_t *d = tl_store_dict(st, TL_D_USER, eb);
    if (!d) return TL_ENOMEM;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "identifier", key_of(d, u));
    cJSON_AddStringToObject(j, "person", key_of(d, tl_identity_person(id, u)));
    pjson_t x = {r, d, cJSON_AddArrayToObject(j, "identifiers")};
    int rc = tl_identity_members(id, u, member_json, &x);
    x.arr = cJSON_AddArrayToObject(j, "links");
    if (!rc) rc = tl_identity_links_of(st, id, u, link_json, &x, eb);
    if (rc) cJSON_Delete(j);
    else *out = j;
    return rc;
}
