/* resolve.c -- links into persons: a union-find over the identifiers whose
 * roots count what each person holds of every kind, the links applied in
 * time order and refused when the joined person would break a rule. */
#include "identity.h"

#include <stdlib.h>
#include <string.h>

struct tl_identity {
    uint32_t n;
    uint32_t *canon;   /* smallest index of each identifier's set */
    uint32_t *next;    /* the members of a set, a ring in index order by canon */
    int8_t *state;     /* per link given: 1 refused, 0 applied or not needed, -1 split */
    size_t nlinks;
    tl_id_stats_t stats;
};

typedef struct {
    uint32_t *parent, *size, *min;
    uint16_t *count; /* n x nk: identifiers of each kind, valid at roots */
    int nk;
} uf_t;

static uint32_t find(uf_t *u, uint32_t x) {
    uint32_t r = x;
    while (u->parent[r] != r) r = u->parent[r];
    while (u->parent[x] != r) {
        uint32_t nx = u->parent[x];
        u->parent[x] = r;
        x = nx;
    }
    return r;
}

/* 1 when joining roots a and b keeps every rule. */
static int allowed(const uf_t *u, const tl_id_rules_t *r, uint32_t a, uint32_t b) {
    if (r->max_identifiers && u->size[a] + u->size[b] > r->max_identifiers) return 0;
    for (int k = 0; k < u->nk; k++) {
        uint32_t max = r->kinds[k].max_per_person;
        if (max && (uint32_t)u->count[(size_t)a * u->nk + k] + u->count[(size_t)b * u->nk + k] > max)
            return 0;
    }
    return 1;
}

static void join(uf_t *u, uint32_t a, uint32_t b) {
    if (u->size[a] < u->size[b]) {
        uint32_t t = a;
        a = b, b = t;
    }
    u->parent[b] = a;
    u->size[a] += u->size[b];
    if (u->min[b] < u->min[a]) u->min[a] = u->min[b];
    for (int k = 0; k < u->nk; k++) {
        uint32_t c = (uint32_t)u->count[(size_t)a * u->nk + k] + u->count[(size_t)b * u->nk + k];
        u->count[(size_t)a * u->nk + k] = c > UINT16_MAX ? UINT16_MAX : (uint16_t)c;
    }
}

/* The order links are applied in: time, then id. */
typedef struct {
    int64_t at;
    uint64_t id;
    size_t i;
} order_t;

static int cmp_order(const void *pa, const void *pb) {
    const order_t *x = pa, *y = pb;
    if (x->at != y->at) return x->at < y->at ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static void uf_fini(uf_t *u) {
    free(u->parent), free(u->size), free(u->min), free(u->count);
}

int tl_identity_resolve(const tl_id_rules_t *r, const uint8_t *kind, uint32_t nids,
                        const tl_id_link_t *links, size_t nlinks, tl_identity_t **out,
                        tl_errbuf_t *eb) {
    *out = NULL;
    for (size_t i = 0; i < nlinks; i++)
        if (links[i].a >= nids || links[i].b >= nids) {
            tl_errbuf_set(eb, "identity link %llu names identifier %u of %u",
                          (unsigned long long)links[i].id,
                          links[i].a >= nids ? links[i].a : links[i].b, nids);
            return TL_EBADINPUT;
        }
    for (uint32_t i = 0; kind && i < nids; i++)
        if (kind[i] >= r->nkinds) {
            tl_errbuf_set(eb, "identifier %u has kind %u of %d", i, kind[i], r->nkinds);
            return TL_EBADINPUT;
        }
    size_t n = nids ? nids : 1;
    uf_t u = {.nk = r->nkinds > 0 ? r->nkinds : 1};
    tl_identity_t *id = calloc(1, sizeof *id);
    order_t *ord = malloc((nlinks ? nlinks : 1) * sizeof *ord);
    u.parent = malloc(n * sizeof *u.parent);
    u.size = malloc(n * sizeof *u.size);
    u.min = malloc(n * sizeof *u.min);
    u.count = calloc(n * (size_t)u.nk, sizeof *u.count);
    if (id) {
        id->canon = malloc(n * sizeof *id->canon);
        id->next = malloc(n * sizeof *id->next);
        id->state = calloc(nlinks ? nlinks : 1, 1);
    }
    if (!id || !ord || !u.parent || !u.size || !u.min || !u.count || !id->canon || !id->next ||
        !id->state) {
        free(ord), uf_fini(&u), tl_identity_free(id);
        return TL_ENOMEM;
    }
    id->n = nids;
    id->nlinks = nlinks;
    for (uint32_t i = 0; i < nids; i++) {
        u.parent[i] = u.min[i] = i;
        u.size[i] = 1;
        u.count[(size_t)i * u.nk + (kind ? kind[i] : 0)] = 1;
    }
    size_t no = 0;
    for (size_t i = 0; i < nlinks; i++) {
        if (links[i].split) {
            id->state[i] = -1;
            id->stats.split++;
            continue;
        }
        ord[no++] = (order_t){links[i].at, links[i].id, i};
    }
    qsort(ord, no, sizeof *ord, cmp_order);
    for (size_t k = 0; k < no; k++) {
        const tl_id_link_t *l = &links[ord[k].i];
        uint32_t a = find(&u, l->a), b = find(&u, l->b);
        if (a == b) continue;
        if (!allowed(&u, r, a, b)) {
            id->state[ord[k].i] = 1;
            id->stats.refused++;
            continue;
        }
        join(&u, a, b);
        id->stats.merges++;
    }
    /* canon, and each set's members as a ring in index order: the last
     * member seen of each root links on to the next */
    uint32_t *last = u.size; /* reused: sizes are not needed any more */
    for (uint32_t i = 0; i < nids; i++) last[i] = UINT32_MAX;
    for (uint32_t i = 0; i < nids; i++) {
        uint32_t root = find(&u, i);
        id->canon[i] = u.min[root];
        if (id->canon[i] == i) id->stats.persons++;
        uint32_t c = id->canon[i];
        if (last[c] != UINT32_MAX) id->next[last[c]] = i;
        last[c] = i;
        id->next[i] = c; /* closes the ring until a later member extends it */
    }
    id->stats.identifiers = nids;
    free(ord);
    uf_fini(&u);
    *out = id;
    return 0;
}

void tl_identity_free(tl_identity_t *id) {
    if (!id) return;
    free(id->canon), free(id->next), free(id->state);
    free(id);
}

uint32_t tl_identity_person(const tl_identity_t *id, uint32_t u) {
    return u < id->n ? id->canon[u] : u;
}

void tl_identity_fold_flags(const tl_identity_t *id, uint8_t *flag, uint32_t n) {
    for (uint32_t u = 0; u < n && u < id->n; u++)
        if (flag[u]) flag[id->canon[u]] = 1;
}

const uint32_t *tl_identity_map(const tl_identity_t *id) { return id->canon; }

int tl_identity_link_state(const tl_identity_t *id, size_t i) {
    return i < id->nlinks ? id->state[i] : 0;
}

int tl_identity_members(const tl_identity_t *id, uint32_t u, int (*fn)(uint32_t, void *),
                        void *arg) {
    if (u >= id->n) return fn(u, arg);
    uint32_t c = id->canon[u], m = c;
    do {
        int rc = fn(m, arg);
        if (rc) return rc;
        m = id->next[m];
    } while (m != c);
    return 0;
}

void tl_identity_stats(const tl_identity_t *id, tl_id_stats_t *out) { *out = id->stats; }
