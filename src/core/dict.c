/* dict.c -- dense id dictionaries and fingerprint sets.
 *
 * tl_dict_t maps external string ids to dense uint32 indexes, handed out in
 * order of first appearance, so every other module can keep per-user and
 * per-item data in plain arrays. Strings live back to back in one arena
 * (offs[i] is where string i starts, offs[n] the end); the hash table holds
 * (hash, index) pairs so a miss rarely touches the strings.
 *
 * tl_hset_t is the set of 64-bit event fingerprints used for de-duplication.
 * Both tables use linear probing and grow at 70 % load. */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

/* Large tables are probed at random, so most lookups would miss the TLB on
 * 4 KiB pages: tables of 2 MiB and more are mapped with transparent huge
 * pages where the kernel allows it. Memory comes zeroed. */
#define BIG (2u << 20)

static void *table_alloc(size_t n) {
    if (n < BIG) return calloc(1, n);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

static void table_free(void *p, size_t n) {
    if (!p) return;
    if (n < BIG) free(p);
    else munmap(p, n);
}

uint64_t tl_hash64(const void *p, size_t n, uint64_t seed) {
    return XXH3_64bits_withSeed(p, n, seed);
}

/* ---- fingerprint set ---------------------------------------------------- */

/* The set is sized exactly (not to a power of two) for a load of at most
 * 80 %: a key's home slot is the high half of its (mixed) value times the
 * capacity, and probing wraps at the end. */
#define HSET_LOAD_NUM 4
#define HSET_LOAD_DEN 5

static inline size_t home_of(uint64_t k, size_t cap) {
    return (size_t)(((unsigned __int128)(k * 0x9E3779B97F4A7C15ULL) * cap) >> 64);
}

static size_t cap_for(size_t n) { return n * HSET_LOAD_DEN / HSET_LOAD_NUM + 64; }

int tl_hset_init(tl_hset_t *s, size_t expect) {
    s->cap = cap_for(expect);
    s->count = 0;
    s->slots = table_alloc(s->cap * sizeof *s->slots);
    return s->slots ? 0 : TL_ENOMEM;
}

void tl_hset_fini(tl_hset_t *s) {
    table_free(s->slots, s->cap * sizeof *s->slots);
    s->slots = NULL;
    s->cap = s->count = 0;
}

static int hset_resize(tl_hset_t *s, size_t ncap) {
    uint64_t *ns = table_alloc(ncap * sizeof *ns);
    if (!ns) return TL_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t k = s->slots[i];
        if (!k) continue;
        size_t j = home_of(k, ncap);
        while (ns[j]) j = j + 1 == ncap ? 0 : j + 1;
        ns[j] = k;
    }
    table_free(s->slots, s->cap * sizeof *s->slots);
    s->slots = ns;
    s->cap = ncap;
    return 0;
}

int tl_hset_reserve(tl_hset_t *s, size_t n) {
    size_t need = cap_for(n);
    /* at least double: many small reservations (an import per API request)
     * must not each copy the whole set */
    if (need <= s->cap) return 0;
    return hset_resize(s, need > s->cap * 2 ? need : s->cap * 2);
}

void tl_hset_prefetch(const tl_hset_t *s, uint64_t key) {
    if (s->cap) __builtin_prefetch(&s->slots[home_of(key ? key : 1, s->cap)]);
}

int tl_hset_add(tl_hset_t *s, uint64_t key) {
    if (!key) key = 1;
    if ((s->count + 1) * HSET_LOAD_DEN > s->cap * HSET_LOAD_NUM) {
        int rc = hset_resize(s, s->cap * 2);
        if (rc) return rc;
    }
    size_t j = home_of(key, s->cap);
    for (;;) {
        uint64_t k = s->slots[j];
        if (k == key) return 0;
        if (!k) break;
        j = j + 1 == s->cap ? 0 : j + 1;
    }
    s->slots[j] = key;
    s->count++;
    return 1;
}

int tl_hset_has(const tl_hset_t *s, uint64_t key) {
    if (!key) key = 1;
    if (!s->cap) return 0;
    size_t j = home_of(key, s->cap);
    for (;;) {
        uint64_t k = s->slots[j];
        if (k == key) return 1;
        if (!k) return 0;
        j = j + 1 == s->cap ? 0 : j + 1;
    }
}

void tl_hset_del(tl_hset_t *s, uint64_t key) {
    if (!key) key = 1;
    if (!s->cap) return;
    size_t cap = s->cap, j = home_of(key, cap);
    while (s->slots[j] != key) {
        if (!s->slots[j]) return;
        j = j + 1 == cap ? 0 : j + 1;
    }
    /* Backward-shift deletion keeps probe chains intact without tombstones. */
    size_t hole = j;
    for (;;) {
        j = j + 1 == cap ? 0 : j + 1;
        uint64_t k = s->slots[j];
        if (!k) break;
        size_t home = home_of(k, cap);
        /* k may move into the hole if its home is not in (hole, j]. */
        size_t dist_home = (j + cap - home) % cap, dist_hole = (j + cap - hole) % cap;
        if (dist_home >= dist_hole) {
            s->slots[hole] = k;
            hole = j;
        }
    }
    s->slots[hole] = 0;
    s->count--;
}

/* ---- dictionary ---------------------------------------------------------- */

typedef struct {
    uint32_t hash; /* upper 32 bits of the string's hash */
    uint32_t idx;  /* TL_NONE: empty slot */
    uint64_t off;  /* where the string starts in the arena: one miss less */
} dslot_t;

struct tl_dict {
    char *arena;
    size_t alen, acap;
    uint64_t *offs; /* n + 1 entries */
    uint32_t n, ncap;
    dslot_t *tab;
    size_t tcap; /* power of two */
};

#define DICT_SEED 0x7461696c6f72ULL /* "tailor" */

uint64_t tl_dict_hash(const char *s, size_t n) { return tl_hash64(s, n, DICT_SEED); }

tl_dict_t *tl_dict_new(void) {
    tl_dict_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->ncap = 64;
    d->offs = malloc((d->ncap + 1) * sizeof *d->offs);
    d->tcap = 128;
    d->tab = table_alloc(d->tcap * sizeof *d->tab);
    d->acap = 1024;
    d->arena = malloc(d->acap);
    if (!d->offs || !d->tab || !d->arena) {
        tl_dict_free(d);
        return NULL;
    }
    memset(d->tab, 0xff, d->tcap * sizeof *d->tab);
    d->offs[0] = 0;
    return d;
}

void tl_dict_free(tl_dict_t *d) {
    if (!d) return;
    free(d->arena);
    free(d->offs);
    table_free(d->tab, d->tcap * sizeof *d->tab);
    free(d);
}

uint32_t tl_dict_count(const tl_dict_t *d) { return d->n; }

const char *tl_dict_str(const tl_dict_t *d, uint32_t idx, size_t *n) {
    if (idx >= d->n) return NULL;
    if (n) *n = d->offs[idx + 1] - d->offs[idx] - 1;
    return d->arena + d->offs[idx];
}

static int dict_rehash(tl_dict_t *d, size_t ncap) {
    dslot_t *nt = table_alloc(ncap * sizeof *nt);
    if (!nt) return TL_ENOMEM;
    memset(nt, 0xff, ncap * sizeof *nt);
    for (uint32_t i = 0; i < d->n; i++) {
        const char *s = d->arena + d->offs[i];
        size_t len = d->offs[i + 1] - d->offs[i] - 1;
        if (len && s[0] == TL_DICT_FORGOTTEN) continue; /* holds its index, never found */
        uint64_t h = tl_dict_hash(s, len);
        size_t j = (size_t)h & (ncap - 1);
        while (nt[j].idx != TL_NONE) j = (j + 1) & (ncap - 1);
        nt[j].hash = (uint32_t)(h >> 32);
        nt[j].idx = i;
        nt[j].off = d->offs[i];
    }
    table_free(d->tab, d->tcap * sizeof *d->tab);
    d->tab = nt;
    d->tcap = ncap;
    return 0;
}

int tl_dict_reserve(tl_dict_t *d, uint32_t n, size_t bytes) {
    size_t t = d->tcap;
    while ((size_t)n * 10 > t * 7) t *= 2;
    if (t != d->tcap && dict_rehash(d, t)) return TL_ENOMEM;
    if (n + 1 > d->ncap) {
        uint64_t *no = realloc(d->offs, ((size_t)n + 2) * sizeof *no);
        if (!no) return TL_ENOMEM;
        d->offs = no, d->ncap = n + 1;
    }
    if (bytes > d->acap) {
        char *na = realloc(d->arena, bytes);
        if (!na) return TL_ENOMEM;
        d->arena = na, d->acap = bytes;
    }
    return 0;
}

/* Strings in the arena end with a NUL and hold none inside (the importer
 * refuses NUL bytes), so comparing n bytes and the terminator is equality. */
static uint32_t dict_lookup(const tl_dict_t *d, const char *s, size_t n, uint64_t h,
                            size_t *slot) {
    size_t j = (size_t)h & (d->tcap - 1);
    uint32_t hh = (uint32_t)(h >> 32);
    for (;;) {
        const dslot_t *e = &d->tab[j];
        if (e->idx == TL_NONE) break;
        if (e->hash == hh) {
            const char *a = d->arena + e->off;
            if (memcmp(a, s, n) == 0 && a[n] == 0) {
                *slot = j;
                return e->idx;
            }
        }
        j = (j + 1) & (d->tcap - 1);
    }
    *slot = j;
    return TL_NONE;
}

void tl_dict_prefetch(const tl_dict_t *d, uint64_t h) {
    __builtin_prefetch(&d->tab[(size_t)h & (d->tcap - 1)]);
}

void tl_dict_prefetch_str(const tl_dict_t *d, uint64_t h) {
    const dslot_t *e = &d->tab[(size_t)h & (d->tcap - 1)];
    if (e->idx != TL_NONE && e->hash == (uint32_t)(h >> 32)) __builtin_prefetch(d->arena + e->off);
}

uint32_t tl_dict_find(const tl_dict_t *d, const char *s, size_t n) {
    size_t slot;
    return dict_lookup(d, s, n, tl_dict_hash(s, n), &slot);
}

int tl_dict_intern(tl_dict_t *d, const char *s, size_t n, uint32_t *out, int *added) {
    return tl_dict_intern_h(d, s, n, tl_dict_hash(s, n), out, added);
}

int tl_dict_intern_h(tl_dict_t *d, const char *s, size_t n, uint64_t h, uint32_t *out,
                     int *added) {
    size_t slot = 0;
    int forgotten = n && s[0] == TL_DICT_FORGOTTEN;
    uint32_t idx = forgotten ? TL_NONE : dict_lookup(d, s, n, h, &slot);
    if (added) *added = 0;
    if (idx != TL_NONE) {
        *out = idx;
        return 0;
    }
    if (d->n == TL_NONE - 1) return TL_ERANGE;
    if ((size_t)(d->n + 1) * 10 > d->tcap * 7) {
        if (dict_rehash(d, d->tcap * 2)) return TL_ENOMEM;
        if (!forgotten) dict_lookup(d, s, n, h, &slot);
    }
    if (d->n + 1 >= d->ncap) {
        uint32_t nc = d->ncap * 2;
        uint64_t *no = realloc(d->offs, ((size_t)nc + 1) * sizeof *no);
        if (!no) return TL_ENOMEM;
        d->offs = no;
        d->ncap = nc;
    }
    if (d->alen + n + 1 > d->acap) {
        size_t nc = d->acap * 2;
        while (nc < d->alen + n + 1) nc *= 2;
        char *na = realloc(d->arena, nc);
        if (!na) return TL_ENOMEM;
        d->arena = na;
        d->acap = nc;
    }
    memcpy(d->arena + d->alen, s, n);
    d->arena[d->alen + n] = 0;
    if (!forgotten) d->tab[slot].off = d->alen;
    d->alen += n + 1;
    idx = d->n++;
    d->offs[d->n] = d->alen;
    if (!forgotten) {
        d->tab[slot].hash = (uint32_t)(h >> 32);
        d->tab[slot].idx = idx;
    }
    *out = idx;
    if (added) *added = 1;
    return 0;
}

void tl_dict_forget_bytes(char *s, size_t n) {
    if (n) memset(s, TL_DICT_FORGOTTEN, n);
}

int tl_dict_forget(tl_dict_t *d, uint32_t idx) {
    if (idx >= d->n) return TL_EINVAL;
    char *s = d->arena + d->offs[idx];
    size_t len = d->offs[idx + 1] - d->offs[idx] - 1;
    if (!len || s[0] == TL_DICT_FORGOTTEN) return 0;
    tl_dict_forget_bytes(s, len);
    return dict_rehash(d, d->tcap); /* drops its slot; erasures are rare */
}

int tl_dict_truncate(tl_dict_t *d, uint32_t n) {
    if (n >= d->n) return 0;
    uint32_t old_n = d->n;
    d->n = n;
    /* Rebuilding the table is simpler than deleting entry by entry and only
     * happens when a batch fails to commit. */
    int rc = dict_rehash(d, d->tcap);
    if (rc) {
        d->n = old_n;
        return rc;
    }
    d->alen = d->offs[n];
    return 0;
}
