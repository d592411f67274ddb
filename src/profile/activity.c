/* activity.c -- a store's activity by local day: events, active users,
 * buyers, purchases and revenue over the last days, read from the blocks
 * that reach the period only. Active users and buyers are distinct per
 * day: a bit per identifier and day, for the days asked (at most a year). */
#include "profile.h"

#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

typedef struct {
    tl_activity_t *a;
    int64_t from, until;  /* [from, until) in ms */
    uint64_t *seen, *bought; /* ndays rows of words bits each */
    size_t words;         /* per day: bits for users 0 .. words*64-1 */
} acc_t;

/* Makes room for user u in every day's row of bits. */
static int grow(acc_t *c, uint32_t u) {
    size_t need = (size_t)u / 64 + 1;
    if (need <= c->words) return 0;
    size_t words = c->words ? c->words : 1024;
    while (words < need) words *= 2;
    size_t n = (size_t)c->a->ndays;
    uint64_t *s = calloc(n * words, 8), *b = calloc(n * words, 8);
    if (!s || !b) {
        free(s), free(b);
        return TL_ENOMEM;
    }
    for (size_t d = 0; d < n && c->words; d++) {
        memcpy(s + d * words, c->seen + d * c->words, c->words * 8);
        memcpy(b + d * words, c->bought + d * c->words, c->words * 8);
    }
    free(c->seen), free(c->bought);
    c->seen = s, c->bought = b, c->words = words;
    return 0;
}

static int day_block(const tl_evblock_t *b, void *arg) {
    acc_t *c = arg;
    tl_activity_t *a = c->a;
    for (uint32_t i = 0; i < b->n; i++) {
        int64_t t = b->ts[i];
        if (t < c->from || t >= c->until) continue;
        size_t d = (size_t)((t - c->from) / DAY_MS);
        uint32_t u = b->user[i];
        if (grow(c, u)) return TL_ENOMEM;
        uint64_t bit = 1ULL << (u % 64);
        uint64_t *w = &c->seen[d * c->words + u / 64];
        a->events[d]++;
        if (!(*w & bit)) *w |= bit, a->users[d]++;
        if (b->type[i] == TL_EV_PURCHASE) {
            double amt = b->amount[i] == b->amount[i] ? b->amount[i] : 0; /* NaN: no amount */
            a->orders[d]++;
            a->revenue[d] += amt;
            w = &c->bought[d * c->words + u / 64];
            if (!(*w & bit)) *w |= bit, a->buyers[d]++;
        } else if (b->type[i] == TL_EV_REFUND && b->amount[i] == b->amount[i]) {
            a->revenue[d] -= b->amount[i];
        }
    }
    return 0;
}

int tl_activity_daily(tl_store_t *st, int64_t to, int ndays, int tz_min, tl_activity_t *out,
                      tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    if (ndays < 1 || ndays > 366 || tz_min < -14 * 60 || tz_min > 14 * 60) {
        tl_errbuf_set(eb, "activity: from 1 to 366 days, at an offset within 14 hours of UTC");
        return TL_EINVAL;
    }
    /* the local midnight that ends the day of `to`, then ndays back */
    int64_t off = (int64_t)tz_min * 60000, local = to + off;
    int64_t end = (local >= 0 ? local / DAY_MS : (local - DAY_MS + 1) / DAY_MS) * DAY_MS + DAY_MS - off;
    out->ndays = ndays, out->tz_min = tz_min;
    out->day0 = end - (int64_t)ndays * DAY_MS;
    out->events = calloc((size_t)ndays, 8), out->users = calloc((size_t)ndays, 8);
    out->buyers = calloc((size_t)ndays, 8), out->orders = calloc((size_t)ndays, 8);
    out->revenue = calloc((size_t)ndays, sizeof(double));
    if (!out->events || !out->users || !out->buyers || !out->orders || !out->revenue) {
        tl_activity_fini(out);
        return TL_ENOMEM;
    }
    acc_t c = {.a = out, .from = out->day0, .until = end};
    int rc = tl_store_scan_since(st, out->day0, TL_EVC_USER | TL_EVC_TS | TL_EVC_TYPE | TL_EVC_AMOUNT,
                                 day_block, &c, eb);
    free(c.seen), free(c.bought);
    if (rc == TL_ENOMEM) tl_errbuf_set(eb, "activity: out of memory");
    if (rc) tl_activity_fini(out);
    return rc;
}

void tl_activity_fini(tl_activity_t *a) {
    free(a->events), free(a->users), free(a->buyers), free(a->orders), free(a->revenue);
    memset(a, 0, sizeof *a);
}
