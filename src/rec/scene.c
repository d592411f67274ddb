/* scene.c -- the items of a user's scene (the open cart, the last order),
 * kept up to date per user from the events as they come or found by one
 * scan of the log; serving blends them in. */
#include "rec_int.h"

#include <stdlib.h>
#include <string.h>

/* Per user with carts or purchases: each item's latest cart and purchase
 * times, and the latest purchase. */
typedef struct {
    uint32_t n, cap;
    uint32_t *item;
    int64_t *cart, *buy;
    int64_t last_buy;
} usc_t;

struct tl_scenes {
    usc_t **u;      /* by person; NULL: none yet */
    uint32_t nu;
    uint32_t only;  /* TL_NONE, or the one person followed */
    tl_identity_t *ident; /* the persons, as the last scan found them */
};

/* The person of user u (its first identifier). */
static uint32_t person(const tl_scenes_t *s, uint32_t u) {
    return s->ident && u != TL_NONE ? tl_identity_person(s->ident, u) : u;
}

int tl_scenes_new(uint32_t only, tl_scenes_t **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return TL_ENOMEM;
    (*out)->only = only;
    return 0;
}

void tl_scenes_free(tl_scenes_t *s) {
    if (!s) return;
    for (uint32_t u = 0; u < s->nu; u++)
        if (s->u[u]) free(s->u[u]->item), free(s->u[u]->cart), free(s->u[u]->buy), free(s->u[u]);
    free(s->u);
    tl_identity_free(s->ident);
    free(s);
}

int tl_scenes_add(tl_scenes_t *s, uint32_t user, uint32_t item, uint8_t type, int64_t ts) {
    int cart = type == TL_EV_CART, buy = type == TL_EV_PURCHASE;
    user = person(s, user);
    if ((!cart && !buy) || item == TL_NONE || user == TL_NONE || (s->only != TL_NONE && user != s->only)) return 0;
    uint32_t slot = s->only != TL_NONE ? 0 : user;
    if (slot >= s->nu) {
        uint32_t nn = slot + 1 > 2 * s->nu ? slot + 1 : 2 * s->nu;
        usc_t **nu = realloc(s->u, nn * sizeof *nu);
        if (!nu) return TL_ENOMEM;
        memset(nu + s->nu, 0, (nn - s->nu) * sizeof *nu);
        s->u = nu, s->nu = nn;
    }
    usc_t *c = s->u[slot];
    if (!c) {
        if (!(c = s->u[slot] = calloc(1, sizeof *c))) return TL_ENOMEM;
        c->last_buy = INT64_MIN;
    }
    uint32_t q = 0;
    while (q < c->n && c->item[q] != item) q++;
    if (q == c->n) {
        if (c->n == c->cap) {
            uint32_t nc = c->cap ? 2 * c->cap : 4;
            uint32_t *it = realloc(c->item, nc * sizeof *it);
            if (it) c->item = it;
            int64_t *ca = it ? realloc(c->cart, nc * sizeof *ca) : NULL;
            if (ca) c->cart = ca;
            int64_t *bu = ca ? realloc(c->buy, nc * sizeof *bu) : NULL;
            if (!bu) return TL_ENOMEM;
            c->buy = bu, c->cap = nc;
        }
        c->item[q] = item, c->cart[q] = c->buy[q] = INT64_MIN, c->n++;
    }
    int64_t *t = cart ? &c->cart[q] : &c->buy[q];
    if (ts > *t) *t = ts;
    if (buy && ts > c->last_buy) c->last_buy = ts;
    return 0;
}

static int scenes_block(const tl_evblock_t *b, void *arg) {
    int rc = 0;
    for (uint32_t k = 0; k < b->n && !rc; k++) rc = tl_scenes_add(arg, b->user[k], b->item[k], b->type[k], b->ts[k]);
    return rc;
}

int tl_scenes_scan(tl_scenes_t *s, tl_store_t *st, tl_errbuf_t *eb) {
    tl_identity_free(s->ident), s->ident = NULL;
    int rc = tl_identity_load(st, NULL, &s->ident, eb);
    if (rc) return rc;
    s->only = person(s, s->only);
    return tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_ITEM | TL_EVC_TYPE | TL_EVC_TS, scenes_block, s, eb);
}

uint32_t tl_scenes_items(const tl_scenes_t *s, uint32_t user, tl_scene_t scene, uint32_t max,
                         uint32_t *items) {
    user = person(s, user);
    uint32_t slot = s->only != TL_NONE ? (user == s->only ? 0 : TL_NONE) : user;
    const usc_t *c = slot < s->nu ? s->u[slot] : NULL;
    uint32_t n = 0;
    /* the scene's items, latest first, by selection (a user's list is short) */
    while (c && n < max) {
        uint32_t best = TL_NONE;
        int64_t bt = INT64_MIN;
        for (uint32_t q = 0; q < c->n; q++) {
            int taken = 0;
            for (uint32_t k = 0; k < n && !taken; k++) taken = items[k] == c->item[q];
            int64_t t = taken                   ? INT64_MIN
                        : scene == TL_SCENE_CART ? (c->cart[q] > c->buy[q] ? c->cart[q] : INT64_MIN)
                        : c->buy[q] != INT64_MIN && c->buy[q] >= c->last_buy - 3600000 ? c->buy[q]
                                                                                        : INT64_MIN;
            if (t > bt) bt = t, best = q;
        }
        if (best == TL_NONE) break;
        items[n++] = c->item[best];
    }
    return n;
}

int tl_rec_scene_items(tl_store_t *st, uint32_t user, tl_scene_t scene, uint32_t max,
                       uint32_t *items, uint32_t *n, tl_errbuf_t *eb) {
    tl_scenes_t *s;
    *n = 0;
    int rc = tl_scenes_new(user, &s);
    if (!rc) rc = tl_scenes_scan(s, st, eb);
    if (!rc) *n = tl_scenes_items(s, user, scene, max, items);
    tl_scenes_free(s);
    return rc;
}
