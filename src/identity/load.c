/* load.c -- identity over a store: the merge rules kept in its settings
 * ("identity.rules", the defaults until set), the persons of its users
 * resolved from every identity link it holds (each identifier's kind read
 * off its key in the user dictionary), and identifiers as a caller writes
 * them found, linked and split. */
#include "identity.h"

#include <stdlib.h>
#include <string.h>

#define RULES_KEY "identity.rules"

int tl_identity_rules_get(tl_store_t *st, tl_id_rules_t *out, tl_errbuf_t *eb) {
    char *js = NULL;
    int rc = tl_store_config_get(st, RULES_KEY, &js, eb);
    if (rc == TL_ENOENT) {
        eb->msg[0] = 0;
        tl_id_rules_default(out);
        return 0;
    }
    if (!rc) rc = tl_id_rules_parse(js, out, eb);
    free(js);
    return rc;
}

int tl_identity_rules_put(tl_store_t *st, const tl_id_rules_t *r, tl_errbuf_t *eb) {
    char *js = tl_id_rules_json(r);
    if (!js) {
        tl_errbuf_set(eb, "out of memory writing the identity rules");
        return TL_ENOMEM;
    }
    int rc = tl_store_config_put(st, RULES_KEY, js, eb);
    free(js);
    return rc;
}

typedef struct {
    tl_id_link_t *v;
    size_t n, cap;
    uint32_t nids;
} links_t;

static int add_link(const tl_link_row_t *l, void *arg) {
    links_t *x = arg;
    if (l->a >= x->nids || l->b >= x->nids) return 0; /* a user committed since the ids were read */
    if (x->n == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 1024;
        tl_id_link_t *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv) return TL_ENOMEM;
        x->v = nv, x->cap = nc;
    }
    x->v[x->n++] = (tl_id_link_t){l->id, l->a, l->b, l->at, l->split_at != INT64_MIN};
    return 0;
}

int tl_identity_load(tl_store_t *st, const tl_id_rules_t *r, tl_identity_t **out,
                     tl_errbuf_t *eb) {
    *out = NULL;
    tl_id_rules_t kept;
    tl_ids_t ids;
    int rc = r ? 0 : tl_identity_rules_get(st, &kept, eb);
    if (!r) r = &kept;
    if (!rc) rc = tl_store_ids(st, TL_D_USER, &ids, eb);
    if (rc) return rc;
    uint8_t *kind = malloc(ids.n ? ids.n : 1);
    links_t l = {.nids = ids.n};
    if (!kind) rc = TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < ids.n; i++) {
        size_t n;
        const char *k = tl_ids_str(&ids, i, &n);
        kind[i] = (uint8_t)tl_id_kind_of(r, k, n);
    }
    if (!rc) rc = tl_store_link_scan(st, TL_NONE, add_link, &l, eb);
    if (!rc) rc = tl_identity_resolve(r, kind, ids.n, l.v, l.n, out, eb);
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory resolving identities");
    free(kind);
    free(l.v);
    return rc;
}

/* The key of an identifier as written, in *key (NUL-ended). */
static int key_of(tl_store_t *st, const tl_id_rules_t *r, const char *written, tl_buf_t *key,
                  tl_errbuf_t *eb) {
    int rc = tl_id_key_written(st, r, -1, written, strlen(written), key, eb);
    if (!rc) rc = tl_buf_append(key, "", 1);
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory keying an identifier");
    return rc;
}

/* The identifier as it may be shown: personal kinds withheld. */
static const char *shown(const tl_id_rules_t *r, const char *written) {
    const char *v = written;
    size_t n = strlen(written);
    int k = tl_id_parse(r, -1, &v, &n);
    return k > 0 && r->kinds[k].personal ? "(a personal identifier)" : written;
}

int tl_identity_find(tl_store_t *st, const tl_id_rules_t *r, const char *written, uint32_t *u,
                     tl_errbuf_t *eb) {
    tl_id_rules_t kept;
    tl_buf_t key;
    tl_buf_init(&key);
    int rc = r ? 0 : tl_identity_rules_get(st, &kept, eb);
    if (!r) r = &kept;
    if (!rc) rc = key_of(st, r, written, &key, eb);
    tl_dict_t *d = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
    if (!rc && !d) rc = TL_ENOMEM;
    if (!rc) {
        *u = tl_dict_find(d, key.data, key.len - 1);
        if (*u == TL_NONE) {
            tl_errbuf_set(eb, "no identifier %.80s", shown(r, written));
            rc = TL_ENOENT;
        }
    }
    tl_buf_fini(&key);
    return rc;
}

/* The index of an identifier as written, interned when new; an erased
 * one is refused. */
static int intern_written(tl_store_t *st, const tl_id_rules_t *r, const char *written,
                          uint32_t *u, tl_errbuf_t *eb) {
    tl_buf_t key;
    tl_buf_init(&key);
    int rc = key_of(st, r, written, &key, eb);
    tl_dict_t *d = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
    if (!rc && !d) rc = TL_ENOMEM;
    if (!rc && (*u = tl_dict_find(d, key.data, key.len - 1)) == TL_NONE) {
        rc = tl_store_erased(st, key.data, key.len - 1, NULL, eb);
        if (rc == 1) {
            tl_errbuf_set(eb, "%.80s was erased; it is not taken again", shown(r, written));
            rc = TL_EBADINPUT;
        }
        if (!rc) rc = tl_dict_intern(d, key.data, key.len - 1, u, NULL);
    }
    tl_buf_fini(&key);
    return rc;
}

int tl_identity_link(tl_store_t *st, const tl_id_rules_t *r, const char *a, const char *b,
                     int64_t at, const char *source, uint64_t *id, tl_errbuf_t *eb) {
    uint32_t ua = 0, ub = 0;
    int rc = intern_written(st, r, a, &ua, eb);
    if (!rc) rc = intern_written(st, r, b, &ub, eb);
    if (!rc && ua == ub) {
        tl_errbuf_set(eb, "%.80s and %.80s are one identifier", shown(r, a), shown(r, b));
        rc = TL_EBADINPUT;
    }
    return rc ? rc : tl_store_link_add(st, ua, ub, at, source, id, eb);
}

typedef struct {
    uint32_t other;
    uint64_t id;
} pair_t;

static int in_force(const tl_link_row_t *l, void *arg) {
    pair_t *x = arg;
    if (l->split_at == INT64_MIN && (l->a == x->other || l->b == x->other)) x->id = l->id;
    return 0;
}

int tl_identity_split(tl_store_t *st, const tl_id_rules_t *r, const char *a, const char *b,
                      int64_t at, const char *reason, tl_errbuf_t *eb) {
    uint32_t ua = 0, ub = 0;
    int rc = tl_identity_find(st, r, a, &ua, eb);
    if (!rc) rc = tl_identity_find(st, r, b, &ub, eb);
    pair_t x = {ub, 0};
    if (!rc) rc = tl_store_link_scan(st, ua, in_force, &x, eb);
    if (!rc && !x.id) {
        tl_errbuf_set(eb, "%.80s and %.80s have no link in force", shown(r, a), shown(r, b));
        rc = TL_ENOENT;
    }
    return rc ? rc : tl_store_link_split(st, x.id, at, reason, eb);
}

/* ---- the identifiers of one person, in link order ---------------------------------- */

typedef struct {
    uint32_t *v, n;
    uint8_t *state; /* per identifier: 1 of the person, 2 listed */
    uint32_t nids;
} plist_t;

static int reach(const tl_link_row_t *l, void *arg) {
    plist_t *x = arg;
    if (l->split_at != INT64_MIN) return 0;
    for (int e = 0; e < 2; e++) {
        uint32_t v = e ? l->b : l->a;
        if (v < x->nids && x->state[v] == 1) x->state[v] = 2, x->v[x->n++] = v;
    }
    return 0;
}

static int mark_member(uint32_t v, void *arg) {
    plist_t *x = arg;
    if (v < x->nids) x->state[v] = 1;
    return 0;
}

int tl_identity_person_list(tl_store_t *st, uint32_t u, uint32_t **out, uint32_t *n,
                            tl_errbuf_t *eb) {
    *out = NULL, *n = 0;
    tl_identity_t *id = NULL;
    tl_id_stats_t s = {0};
    int rc = tl_identity_load(st, NULL, &id, eb);
    if (!rc) tl_identity_stats(id, &s);
    plist_t x = {.nids = s.identifiers};
    if (!rc && u >= x.nids) {
        tl_errbuf_set(eb, "no identifier %u", u);
        rc = TL_ENOENT;
    }
    if (!rc && (!(x.state = calloc(x.nids, 1)) || !(x.v = malloc((size_t)x.nids * sizeof *x.v))))
        rc = TL_ENOMEM;
    if (!rc) {
        tl_identity_members(id, u, mark_member, &x);
        x.state[u] = 2, x.v[x.n++] = u;
        /* breadth first over the links in force, among the person's own */
        for (uint32_t i = 0; !rc && i < x.n; i++) rc = tl_store_link_scan(st, x.v[i], reach, &x, eb);
        for (uint32_t v = 0; !rc && v < x.nids; v++) /* joined by no link in force: none, */
            if (x.state[v] == 1) x.state[v] = 2, x.v[x.n++] = v; /* but listed all the same */
    }
    tl_identity_free(id);
    free(x.state);
    if (rc) free(x.v);
    else *out = x.v, *n = x.n;
    return rc;
}
