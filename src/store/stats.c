/* stats.c -- the store's whole-store reads over the back-end table: the
 * counts of `tailor stats` (the back end's), the event totals by type,
 * channel and day (one scan of three columns, the same for every back
 * end), and the check (the back end's own, or every event read back
 * through scan when it has none). */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

int tl_store_counts(tl_store_t *s, tl_store_counts_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    return s->be->counts(s, out, eb);
}

/* ---- event totals ------------------------------------------------------------ */

static int evstats_block(const tl_evblock_t *b, void *arg) {
    tl_store_evstats_t *s = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        s->by_type[b->type[i]]++;
        s->by_channel[b->channel[i]]++;
        int64_t t = b->ts[i];
        if (t < s->min_ts) s->min_ts = t;
        if (t > s->max_ts) s->max_ts = t;
        int64_t day = t >= 0 ? t / TL_MS_PER_DAY : -((-t + TL_MS_PER_DAY - 1) / TL_MS_PER_DAY);
        if (!s->ndays || day < s->first_day || day >= s->first_day + s->ndays) {
            /* the days held widened to take in day */
            int64_t end = s->first_day + s->ndays;
            int64_t lo = s->ndays && s->first_day < day ? s->first_day : day;
            int64_t hi = s->ndays && end > day + 1 ? end : day + 1;
            int64_t nd = hi - lo;
            uint64_t *nb = calloc((size_t)nd, sizeof *nb);
            if (!nb) return TL_ENOMEM;
            if (s->ndays)
                memcpy(nb + (s->first_day - lo), s->by_day, (size_t)s->ndays * sizeof *nb);
            free(s->by_day);
            s->by_day = nb;
            s->first_day = lo;
            s->ndays = nd;
        }
        s->by_day[day - s->first_day]++;
    }
    return 0;
}

int tl_store_event_stats(tl_store_t *s, tl_store_evstats_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    out->min_ts = INT64_MAX;
    out->max_ts = INT64_MIN;
    int rc = s->be->scan(s, 0, TL_EVC_TYPE | TL_EVC_CHANNEL | TL_EVC_TS, evstats_block, out, eb);
    if (rc) tl_store_evstats_fini(out);
    return rc;
}

void tl_store_evstats_fini(tl_store_evstats_t *s) {
    free(s->by_day);
    s->by_day = NULL;
    s->ndays = 0;
}

/* ---- the check ----------------------------------------------------------------- */

int tl__store_check_block(const tl_evblock_t *b, void *arg) {
    tl_store_check_t *c = arg;
    c->blocks++;
    c->events += b->n;
    for (uint32_t i = 0; i < b->n; i++) c->digest += tl_hash64(&b->fp[i], 8, 0);
    return 0;
}

int tl_store_shared(const tl_store_t *s) { return s->be->refresh != NULL; }

int tl_store_refresh(tl_store_t *s, tl_errbuf_t *eb) {
    if (s->in_batch) {
        tl_errbuf_set(eb, "%s: a refresh inside a batch (the batch's begin read everything)", s->dir);
        return TL_EINVAL;
    }
    return s->be->refresh ? s->be->refresh(s, eb) : 0;
}

int tl_store_check(tl_store_t *s, tl_store_check_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    if (s->be->check) return s->be->check(s, out, eb);
    int rc = s->be->scan(s, 0, TL_EVC_FP, tl__store_check_block, out, eb);
    if (rc) return rc;
    uint64_t n = s->be->event_count(s);
    if (out->events != n) {
        tl_errbuf_set(eb, "%s: %llu events read back but %llu recorded as committed", s->dir,
                      (unsigned long long)out->events, (unsigned long long)n);
        return TL_ECORRUPT;
    }
    out->checked = TL_CHECK_EVENTS;
    return 0;
}
