/* content.c -- items by content, for new items nobody has had yet: each
 * item's category path, brand and price from the catalogue, a similarity
 * in 0..1 from them, the alike items with interactions linked to each new
 * item, and the score a new item takes from its alike items. Also each
 * item's category cut to its first levels. */
#include "rec_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    tl_content_t *c;
    tl_dict_t *brands;
    int rc;
} brandctx_t;

static int brand_row(uint32_t i, const tl_item_t *it, void *arg) {
    brandctx_t *x = arg;
    if (i >= x->c->n) return 0;
    if (it->brand && *it->brand &&
        tl_dict_intern(x->brands, it->brand, strlen(it->brand), &x->c->brand[i], NULL))
        return x->rc = TL_ENOMEM;
    x->c->price[i] = it->price;
    return 0;
}

void tl_rec_content_free(tl_content_t *c) {
    if (!c) return;
    for (int l = 0; l < 3; l++) free(c->cat[l]);
    free(c->brand), free(c->price), free(c->warm), free(c->nbr), free(c->sim);
    free(c);
}

int tl_rec_content_load(tl_store_t *st, uint32_t nitems, tl_content_t **out, tl_errbuf_t *eb) {
    tl_content_t *c = calloc(1, sizeof *c);
    size_t n = nitems ? nitems : 1;
    if (!c) return TL_ENOMEM;
    c->n = nitems;
    c->brand = malloc(n * sizeof *c->brand);
    c->price = malloc(n * sizeof *c->price);
    brandctx_t x = {c, tl_dict_new(), 0};
    int rc = c->brand && c->price && x.brands ? 0 : TL_ENOMEM;
    for (uint32_t i = 0; !rc && i < nitems; i++) c->brand[i] = TL_NONE, c->price[i] = NAN;
    static const uint32_t levels[3] = {1, 2, 0};
    for (int l = 0; !rc && l < 3; l++) {
        tl_dict_t *names = NULL;
        rc = tl_rec_item_categories(st, nitems, levels[l], &c->cat[l], &names, eb);
        tl_dict_free(names);
    }
    if (!rc) rc = tl_store_scan_items(st, brand_row, &x, eb);
    if (!rc) rc = x.rc;
    tl_dict_free(x.brands);
    if (rc) {
        tl_rec_content_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static float content_sim(const tl_content_t *c, uint32_t a, uint32_t b) {
    float s = 0;
    if (c->cat[0][a] != TL_NONE && c->cat[0][a] == c->cat[0][b])
        s += c->cat[2][a] == c->cat[2][b] ? 0.6f : c->cat[1][a] == c->cat[1][b] ? 0.4f : 0.2f;
    if (c->brand[a] != TL_NONE && c->brand[a] == c->brand[b]) s += 0.25f;
    double pa = c->price[a], pb = c->price[b];
    if (pa > 0 && pb > 0) {
        double r = fabs(log(pa / pb)) / log(4.0);
        if (r < 1) s += (float)(0.15 * (1 - r));
    }
    return s;
}

uint32_t tl_rec_content_similar(const tl_content_t *c, uint32_t item, uint32_t n, uint32_t *items,
                                float *sims) {
    if (item >= c->n || !n) return 0;
    uint32_t got = 0;
    for (uint32_t j = 0; j < c->n; j++) {
        if (j == item || (c->warm && !c->warm[j])) continue;
        float v = content_sim(c, item, j);
        if (v <= 0 || (got == n && v <= sims[n - 1])) continue;
        uint32_t p = got < n ? got++ : n - 1;
        while (p > 0 && sims[p - 1] < v) sims[p] = sims[p - 1], items[p] = items[p - 1], p--;
        sims[p] = v, items[p] = j;
    }
    return got;
}

int tl_rec_content_link(tl_content_t *c, const tl_csr_t *train, uint32_t known) {
    free(c->warm), free(c->nbr), free(c->sim);
    size_t n = c->n ? c->n : 1;
    c->warm = calloc(n, 1);
    c->nbr = malloc(n * TL__CONTENT_K * sizeof *c->nbr);
    c->sim = malloc(n * TL__CONTENT_K * sizeof *c->sim);
    if (!c->warm || !c->nbr || !c->sim) return TL_ENOMEM;
    for (uint64_t q = 0; q < train->nnz; q++)
        if (train->col[q] < c->n && train->col[q] < known) c->warm[train->col[q]] = 1;
    for (size_t k = 0; k < n * TL__CONTENT_K; k++) c->nbr[k] = TL_NONE, c->sim[k] = 0;
    for (uint32_t i = 0; i < c->n; i++)
        if (!c->warm[i] && c->cat[0][i] != TL_NONE)
            tl_rec_content_similar(c, i, TL__CONTENT_K, c->nbr + (size_t)i * TL__CONTENT_K,
                                   c->sim + (size_t)i * TL__CONTENT_K);
    return 0;
}

/* New items score as the similarity-weighted mean of their alike items,
 * times the mean similarity (weak likeness, weak score); an alike item the
 * user already had (seen, may be NULL) counts as the best score of the
 * rest, since having it is the strongest sign. */
void tl__content_fill(const tl_content_t *c, float *s, uint32_t n, const uint8_t *seen) {
    if (!c || !c->nbr) return;
    float best = -INFINITY;
    for (uint32_t i = 0; i < n; i++)
        if (!(seen && seen[i]) && (i >= c->n || c->warm[i]) && s[i] > best) best = s[i];
    for (uint32_t i = 0; i < n && i < c->n; i++) {
        if (c->warm[i]) continue;
        double num = 0, den = 0;
        uint32_t k = 0;
        for (; k < TL__CONTENT_K; k++) {
            uint32_t j = c->nbr[(size_t)i * TL__CONTENT_K + k];
            if (j == TL_NONE || j >= n) break;
            float w = c->sim[(size_t)i * TL__CONTENT_K + k];
            num += w * (seen && seen[j] && best > -INFINITY ? best : s[j]), den += w;
        }
        if (den > 0) s[i] = (float)(num / den * (den / k)); /* weak likeness, weak score */
    }
}

typedef struct {
    uint32_t *cats, n, levels;
    tl_dict_t *names;
    int rc;
} catctx_t;

static int cat_row(uint32_t i, const tl_item_t *it, void *arg) {
    catctx_t *x = arg;
    const char *const c[2] = {NULL, it->category};
    uint32_t code;
    if (!c[1] || !*c[1] || i >= x->n) return 0;
    size_t len = 0;
    for (uint32_t l = 0; c[1][len] && (!x->levels || l < x->levels); l++) {
        if (l) len++; /* the '/' before this level */
        len += strcspn(c[1] + len, "/");
    }
    if (tl_dict_intern(x->names, c[1], len, &code, NULL)) return x->rc = TL_ENOMEM;
    x->cats[i] = code;
    return 0;
}

int tl_rec_item_categories(tl_store_t *st, uint32_t nitems, uint32_t levels, uint32_t **cats,
                           tl_dict_t **names, tl_errbuf_t *eb) {
    catctx_t x = {malloc((size_t)(nitems ? nitems : 1) * sizeof *x.cats), nitems, levels,
                  tl_dict_new(), 0};
    if (!x.cats || !x.names) {
        free(x.cats);
        tl_dict_free(x.names);
        return TL_ENOMEM;
    }
    for (uint32_t i = 0; i < nitems; i++) x.cats[i] = TL_NONE;
    int rc = tl_store_scan_items(st, cat_row, &x, eb);
    if (!rc) rc = x.rc;
    if (rc) {
        free(x.cats);
        tl_dict_free(x.names);
        return rc;
    }
    *cats = x.cats;
    *names = x.names;
    return 0;
}
