/* load.c -- identity over a store: the merge rules kept in its settings
 * ("identity.rules", the defaults until set), and the persons of its users
 * resolved from every identity link it holds, each identifier's kind read
 * off its key in the user dictionary. */
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
    tl_ids_t ids;
    int rc = tl_store_ids(st, TL_D_USER, &ids, eb);
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
