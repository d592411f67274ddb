/* identities.c -- the identifiers the generated world's people carry (app
 * devices, mini-program openids, a phone typed at the store's till), when
 * each is logged in on, and the truth of whose each one is. The model and
 * its invariants are in gen_int.h.
 *
 * Everything is drawn from a stream of its own, when the person is made:
 * how many identifiers of each kind, which device is never linked, which
 * are linked only after a few anonymous uses, and a login time in the
 * period for each linked one. The event writer then reports, in file
 * order, each use and each drawn login; a login is written once, at the
 * first of the two. Per person 24 bytes, per identifier 9. */
#include "gen_int.h"

#include <stdlib.h>
#include <string.h>

#define NONE32 UINT32_MAX
#define DAY_S 86400
#define MAX_DEV 10  /* the default merge rules: devices a person ... */
#define MAX_OID 4   /* ... openids ... */
#define MAX_EXTRA (MAX_DEV + MAX_OID + 1) /* ... and one phone */
#define NEVER_SHARE 0.10  /* devices nobody ever logs in on */
#define LATE_SHARE 0.20   /* devices and openids first used anonymously */
#define SHARED_SHARE 0.01 /* persons who also use a device of their household */
#define M48 ((UINT64_C(1) << 48) - 1)

/* state of an identifier: the first five are flags, the rest counts the
 * anonymous uses left before its login */
enum { ST_NEVER = 1, ST_SHARED = 2, ST_USED = 4, ST_LINKED = 8, ST_TAKEN = 16, ST_PEND = 32 };

typedef struct {
    uint64_t phone;  /* the 11 digits of users.csv */
    uint32_t off;    /* number of slot 1 */
    uint32_t shared; /* in the last device slot: the number of another
                      * person's device, NONE32 none */
    uint8_t ndev, noid, nphone, form;
} person_t;

struct tl__gen_ids {
    person_t *p;
    uint32_t np, maxp;
    double extra; /* mean identifiers a person beyond the member id */
    tl_rng_t r;
    uint64_t salt, dmul, dadd, omul, oadd; /* number -> device id, openid: bijections of 48 bits */
    int64_t start_s;
    uint32_t days;
    uint8_t *st;      /* per identifier: ST_* */
    uint32_t *at;     /* per identifier: login time, seconds from start_s; NONE32 none */
    uint32_t n, cap;  /* identifiers */
    uint32_t *byday;  /* numbers of the identifiers with a login, by day */
    uint32_t *dayoff; /* days + 1 */
    uint64_t links, shared;
};

int tl__gen_ids_new(uint32_t persons, double mean, uint64_t seed, int64_t start_s, uint32_t days,
                    tl__gen_ids_t **out) {
    tl__gen_ids_t *x = calloc(1, sizeof *x);
    if (!x || !(x->p = malloc(((size_t)persons + 1) * sizeof *x->p))) {
        free(x);
        return TL_ENOMEM;
    }
    x->maxp = persons;
    x->extra = mean > 1 ? mean - 1 : 0;
    tl_rng_seed(&x->r, tl_hash64(&seed, sizeof seed, 8));
    x->salt = tl_hash64(&seed, sizeof seed, 9);
    x->dmul = (tl_hash64(&seed, sizeof seed, 10) | 1) & M48;
    x->dadd = tl_hash64(&seed, sizeof seed, 11) & M48;
    x->omul = (tl_hash64(&seed, sizeof seed, 12) | 1) & M48;
    x->oadd = tl_hash64(&seed, sizeof seed, 13) & M48;
    x->start_s = start_s;
    x->days = days;
    *out = x;
    return 0;
}

void tl__gen_ids_free(tl__gen_ids_t *x) {
    if (!x) return;
    free(x->p);
    free(x->st);
    free(x->at);
    free(x->byday);
    free(x->dayoff);
    free(x);
}

static int grow(tl__gen_ids_t *x, uint32_t more) {
    if (x->cap - x->n >= more) return 0;
    uint64_t nc = x->cap ? (uint64_t)x->cap * 2 : 4096;
    while (nc - x->n < more) nc *= 2;
    if (nc > UINT32_MAX - 1) nc = UINT32_MAX - 1;
    if (nc - x->n < more) return TL_ENOMEM;
    uint8_t *st = realloc(x->st, nc);
    if (st) x->st = st;
    uint32_t *at = st ? realloc(x->at, nc * sizeof *at) : NULL;
    if (!at) return TL_ENOMEM;
    x->at = at, x->cap = (uint32_t)nc;
    return 0;
}

/* The device of the household that person i may share: slot 1 of one of
 * the few persons before it, when it is an own device logged in on. */
static uint32_t household_device(tl__gen_ids_t *x, uint32_t i) {
    uint32_t near = i < 16 ? i : 16;
    for (int tries = 0; tries < 4 && near; tries++) {
        const person_t *A = &x->p[i - 1 - tl_rng_below(&x->r, near)];
        uint32_t own = A->ndev - (A->shared != NONE32);
        if (own && !(x->st[A->off] & (ST_NEVER | ST_SHARED))) return A->off;
    }
    return NONE32;
}

int tl__gen_ids_person(tl__gen_ids_t *x, uint32_t i, int pref_chan, uint64_t phone, int64_t reg_s) {
    if (i != x->np || i >= x->maxp) return TL_EINVAL;
    tl_rng_t *r = &x->r;
    person_t *P = &x->p[x->np++];
    memset(P, 0, sizeof *P);
    P->phone = phone;
    P->off = x->n;
    P->shared = NONE32;
    P->form = (uint8_t)tl_rng_below(r, 4);
    /* how many: binomial, mean extra; the first of the usual channel */
    int n = 0, dev = 0, oid = 0, ph = 0;
    double q = x->extra / MAX_EXTRA;
    for (int k = 0; k < MAX_EXTRA; k++) n += tl_rng_uniform(r) < q;
    if (n) {
        if (pref_chan == CH_MINI) oid++;
        else if (pref_chan == CH_STORE) ph++;
        else dev++;
        n--;
    }
    while (n-- > 0) {
        double wd = dev < MAX_DEV ? 3 : 0, wo = oid < MAX_OID ? 1.5 : 0, wp = ph < 1 ? 1.2 : 0;
        double u = tl_rng_uniform(r) * (wd + wo + wp);
        if (u < wd) dev++;
        else if (u < wd + wo) oid++;
        else ph++;
    }
    if (dev && dev < MAX_DEV && tl_rng_uniform(r) < SHARED_SHARE) {
        uint32_t a = household_device(x, i);
        if (a != NONE32) {
            P->shared = a;
            x->st[a] = (uint8_t)((x->st[a] & (ST_PEND - 1)) | ST_SHARED); /* logged in at once */
            dev++;
        }
    }
    P->ndev = (uint8_t)dev, P->noid = (uint8_t)oid, P->nphone = (uint8_t)ph;
    uint32_t total = (uint32_t)(dev + oid + ph);
    if (grow(x, total)) return TL_ENOMEM;
    /* login times: while the person is registered, inside the period */
    int64_t end = x->start_s + (int64_t)x->days * DAY_S;
    int64_t lo = reg_s > x->start_s ? reg_s : x->start_s;
    if (lo >= end) lo = end - 1;
    for (uint32_t s = 1; s <= total; s++) {
        uint32_t k = P->off + s - 1;
        int device = s <= (uint32_t)dev, shared = s == (uint32_t)dev && P->shared != NONE32;
        uint8_t st = 0;
        if (device && !shared && tl_rng_uniform(r) < NEVER_SHARE) st = ST_NEVER;
        else if (s <= (uint32_t)(dev + oid) && !shared && tl_rng_uniform(r) < LATE_SHARE)
            st = (uint8_t)((1 + tl_rng_below(r, 4)) * ST_PEND);
        x->st[k] = st;
        x->at[k] = st & ST_NEVER ? NONE32
                                  : (uint32_t)(lo - x->start_s) + tl_rng_below(r, (uint32_t)(end - lo));
    }
    x->n += total;
    return 0;
}

int tl__gen_ids_ready(tl__gen_ids_t *x) {
    x->dayoff = calloc((size_t)x->days + 1, sizeof *x->dayoff);
    if (!x->dayoff) return TL_ENOMEM;
    uint32_t m = 0;
    for (uint32_t k = 0; k < x->n; k++)
        if (x->at[k] != NONE32) x->dayoff[x->at[k] / DAY_S + 1]++, m++;
    if (!(x->byday = malloc(((size_t)m + 1) * sizeof *x->byday))) return TL_ENOMEM;
    for (uint32_t d = 0; d < x->days; d++) x->dayoff[d + 1] += x->dayoff[d];
    uint32_t *cur = malloc(((size_t)x->days + 1) * sizeof *cur);
    if (!cur) return TL_ENOMEM;
    memcpy(cur, x->dayoff, ((size_t)x->days + 1) * sizeof *cur);
    for (uint32_t k = 0; k < x->n; k++)
        if (x->at[k] != NONE32) x->byday[cur[x->at[k] / DAY_S]++] = k;
    free(cur);
    return 0;
}

/* The person of identifier number k. */
static uint32_t owner_of(const tl__gen_ids_t *x, uint32_t k) {
    uint32_t lo = 0, hi = x->np - 1;
    while (lo < hi) { /* the last person whose off <= k */
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (x->p[mid].off <= k) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

int tl__gen_ids_slot(const tl__gen_ids_t *x, uint32_t person, int chan, uint32_t session) {
    const person_t *P = &x->p[person];
    uint64_t h = tl_hash64(&session, sizeof session, x->salt);
    int primary = (h & 0xFF) < 154; /* 60 %: the device or openid used most */
    switch (chan) {
    case CH_APP:
        if (!P->ndev) return 0;
        return 1 + (primary ? 0 : (int)((h >> 8) % P->ndev));
    case CH_MINI:
        if (!P->noid) return 0;
        return 1 + P->ndev + (primary ? 0 : (int)((h >> 8) % P->noid));
    case CH_STORE: return P->nphone ? 1 + P->ndev + P->noid : 0;
    default: return 0;
    }
}

int tl__gen_ids_chan(const tl__gen_ids_t *x, uint32_t person, int slot) {
    const person_t *P = &x->p[person];
    return slot <= P->ndev ? CH_APP : slot <= P->ndev + P->noid ? CH_MINI : CH_STORE;
}

char *tl__gen_ids_put(const tl__gen_ids_t *x, uint32_t person, int slot, char *p) {
    static const char HEX[] = "0123456789abcdef";
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const person_t *P = &x->p[person];
    uint64_t k = P->off + (uint32_t)slot - 1;
    if (slot <= P->ndev) {
        if (slot == P->ndev && P->shared != NONE32) k = P->shared;
        uint64_t v = (k * x->dmul + x->dadd) & M48;
        memcpy(p, "device:", 7), p += 7;
        for (int i = 11; i >= 0; i--) p[i] = HEX[v & 15], v >>= 4;
        return p + 12;
    }
    if (slot <= P->ndev + P->noid) {
        uint64_t v = (k * x->omul + x->oadd) & M48;
        memcpy(p, "openid:wx_", 10), p += 10;
        for (int i = 7; i >= 0; i--) p[i] = B64[v & 63], v >>= 6;
        return p + 8;
    }
    /* the phone of users.csv, written as a person at a till would: the
     * same digits once the separators are dropped */
    char d[11];
    uint64_t v = P->phone;
    for (int i = 10; i >= 0; i--) d[i] = (char)('0' + v % 10), v /= 10;
    static const char *const FORMS[4] = {"ddd dddd dddd", "ddd-dddd-dddd", "(ddd) dddd dddd",
                                         "ddd.dddd.dddd"};
    memcpy(p, "phone:", 6), p += 6;
    int j = 0;
    for (const char *f = FORMS[P->form]; *f; f++) *p++ = *f == 'd' ? d[j++] : *f;
    return p;
}

int tl__gen_ids_day(const tl__gen_ids_t *x, uint32_t d,
                    int (*fn)(uint32_t person, int slot, uint32_t sec, void *arg), void *arg) {
    if (d >= x->days) return 0;
    for (uint32_t i = x->dayoff[d]; i < x->dayoff[d + 1]; i++) {
        uint32_t k = x->byday[i], person = owner_of(x, k);
        int rc = fn(person, (int)(k - x->p[person].off) + 1, x->at[k] - d * DAY_S, arg);
        if (rc) return rc;
    }
    return 0;
}

/* Slot's login is written now: the household device goes to the first of
 * its two persons to log in on it, and the second login is counted. */
static int link_now(tl__gen_ids_t *x, const person_t *P, int slot, uint8_t *s) {
    *s = (uint8_t)((*s & (ST_PEND - 1)) | ST_USED | ST_LINKED);
    x->links++;
    if (slot == P->ndev && P->shared != NONE32) {
        uint8_t *a = &x->st[P->shared];
        if (*a & ST_LINKED) x->shared++;
        else *a |= ST_TAKEN;
    } else if ((*s & ST_SHARED) && (*s & ST_TAKEN)) {
        x->shared++;
    }
    return 1;
}

int tl__gen_ids_use(tl__gen_ids_t *x, uint32_t person, int slot) {
    const person_t *P = &x->p[person];
    uint8_t *s = &x->st[P->off + (uint32_t)slot - 1];
    *s |= ST_USED;
    if (*s & (ST_LINKED | ST_NEVER)) return 0;
    if (*s >= ST_PEND) {
        *s = (uint8_t)(*s - ST_PEND);
        return 0;
    }
    return link_now(x, P, slot, s);
}

int tl__gen_ids_login(tl__gen_ids_t *x, uint32_t person, int slot) {
    const person_t *P = &x->p[person];
    uint8_t *s = &x->st[P->off + (uint32_t)slot - 1];
    if (*s & (ST_LINKED | ST_NEVER)) return 0;
    return link_now(x, P, slot, s);
}

int tl__gen_ids_each(const tl__gen_ids_t *x, int (*fn)(uint32_t person, int slot, void *arg),
                     void *arg, tl__gen_ids_stats_t *out) {
    tl__gen_ids_stats_t c = {.persons = x->np, .links = x->links, .shared = x->shared};
    for (uint32_t i = 0; i < x->np; i++) {
        const person_t *P = &x->p[i];
        int rc = fn(i, 0, arg);
        if (rc) return rc;
        c.identifiers++;
        int total = P->ndev + P->noid + P->nphone;
        for (int slot = 1; slot <= total; slot++) {
            uint8_t s = x->st[P->off + (uint32_t)slot - 1];
            if (slot == P->ndev && P->shared != NONE32) {
                if (!(x->st[P->shared] & ST_TAKEN)) continue; /* the other person's */
            } else if (!(s & ST_USED) || (s & ST_TAKEN)) {
                continue;
            }
            if ((rc = fn(i, slot, arg))) return rc;
            c.identifiers++;
            c.unlinked += !(s & ST_LINKED);
        }
    }
    if (out) *out = c;
    return 0;
}
