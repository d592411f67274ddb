/* links.c -- the store in memory: identity links, rows keyed by their id
 * (zero-padded, so key order is id order); 0: a, 1: b, 2: at, 3: source,
 * 4: split_at (absent while in force), 5: split_reason. */
#include "store/mem/mem_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tl__mem_link_add(tl_store_t *st, uint32_t a, uint32_t b, int64_t at, const char *source,
                     uint64_t *id, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_LINKS];
    for (size_t i = 0; i < c->n; i++)
        if (c->r[i].v[0].i == a && c->r[i].v[1].i == b && c->r[i].v[4].t == 0) {
            *id = strtoull(c->r[i].key, NULL, 10);
            return 0;
        }
    uint64_t next = c->n ? strtoull(c->r[c->n - 1].key, NULL, 10) + 1 : 1;
    char key[24];
    snprintf(key, sizeof key, "%020llu", (unsigned long long)next);
    mval_t v[6] = {tl__mv_i(a, 1), tl__mv_i(b, 1), tl__mv_i(at, 1), tl__mv_s(source),
                   tl__mv_i(0, 0), tl__mv_i(0, 0)};
    if (tl__mcoll_upsert(c, key, v, 6, 1) < 0) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    *id = next;
    return 1;
}

int tl__mem_link_split(tl_store_t *st, uint64_t id, int64_t at, const char *reason,
                       tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_LINKS];
    char key[24];
    snprintf(key, sizeof key, "%020llu", (unsigned long long)id);
    int found;
    size_t i = tl__mcoll_find(c, key, &found);
    if (!found) {
        tl_errbuf_set(eb, "no identity link %llu", (unsigned long long)id);
        return TL_ENOENT;
    }
    if (c->r[i].v[4].t) return 0;
    mval_t v[6];
    for (int k = 0; k < 4; k++) v[k] = c->r[i].v[k];
    v[4] = tl__mv_i(at, 1);
    v[5] = tl__mv_s(reason);
    if (tl__mcoll_upsert(c, key, v, 6, 1) < 0) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    return 1;
}

int tl__mem_link_scan(tl_store_t *st, uint32_t user, tl_link_fn fn, void *arg,
                      tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_LINKS];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        if (user != TL_NONE && v[0].i != user && v[1].i != user) continue;
        tl_link_row_t l = {strtoull(c->r[i].key, NULL, 10), (uint32_t)v[0].i, (uint32_t)v[1].i,
                           v[2].i, tl__mv_str(&v[3]) ? v[3].p : "",
                           tl__mv_int(&v[4], INT64_MIN), tl__mv_str(&v[5])};
        int rc = fn(&l, arg);
        if (rc) return rc;
    }
    return 0;
}
