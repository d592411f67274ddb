/* profile_build.c -- the batch build of the profiles from the event log.
 *
 * The build streams the event log once to learn the promotion days and
 * which users' events are out of time order, then applies every event
 * (both cores, users split by parity; out-of-order users are sorted and
 * applied afterwards) and finalizes every user, through the same state
 * machine as the incremental path (profile_apply.c).
 */
#include "profile_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- the batch build ---------------------------------------------------------- */

typedef struct {
    tl_profiles_t *p;
    int64_t *last_ts;      /* per user, pass 1 */
    uint8_t *disordered;   /* per user */
    int64_t max_ts, first_day;
    uint64_t *per_day;     /* purchases per day from first_day */
    int64_t ndays;
    int rc;
} pass1_t;

/* Makes per_day cover day d. */
static int cover_day(pass1_t *x, int64_t d) {
    if (x->ndays && d >= x->first_day && d < x->first_day + x->ndays) return 0;
    int64_t lo = x->ndays && x->first_day < d ? x->first_day : d;
    int64_t hi = x->ndays && x->first_day + x->ndays > d + 1 ? x->first_day + x->ndays : d + 1;
    uint64_t *nd = calloc((size_t)(hi - lo), sizeof *nd);
    if (!nd) return TL_ENOMEM;
    if (x->ndays) memcpy(nd + (x->first_day - lo), x->per_day, (size_t)x->ndays * sizeof *nd);
    free(x->per_day);
    x->per_day = nd;
    x->first_day = lo;
    x->ndays = hi - lo;
    return 0;
}

static int pass1_block(const tl_evblock_t *b, void *arg) {
    pass1_t *x = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t u = tl__profile_person(x->p, b->user[i]);
        int64_t t = b->ts[i];
        if (u >= x->p->n || t > x->p->o.as_of) continue; /* after the profile's time */
        if (t < x->last_ts[u]) x->disordered[u] = 1;
        else x->last_ts[u] = t;
        if (t > x->max_ts) x->max_ts = t;
        if (b->type[i] == TL_EV_PURCHASE) {
            int64_t d = tl__profile_day(t);
            if (cover_day(x, d)) return TL_ENOMEM;
            x->per_day[d - x->first_day]++;
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Promotion days: days with more than 3 times the median number of
 * purchases of the days that had any (and at least 20). */
static int find_promo_days(tl_profiles_t *p, const pass1_t *x) {
    uint64_t *v = malloc((size_t)(x->ndays ? x->ndays : 1) * sizeof *v);
    if (!v) return TL_ENOMEM;
    int64_t k = 0;
    for (int64_t d = 0; d < x->ndays; d++)
        if (x->per_day[d]) v[k++] = x->per_day[d];
    qsort(v, (size_t)k, sizeof *v, cmp_u64);
    uint64_t median = k ? v[k / 2] : 0;
    free(v);
    p->npromo = 0;
    for (int64_t d = 0; d < x->ndays; d++)
        if (k >= 7 && x->per_day[d] >= 20 && x->per_day[d] > 3 * median) {
            int64_t *np = realloc(p->promo_days, (size_t)(p->npromo + 1) * sizeof *np);
            if (!np) return TL_ENOMEM;
            p->promo_days = np;
            p->promo_days[p->npromo++] = x->first_day + d;
        }
    return 0;
}

tl_event_t tl__profile_event_at(const tl_evblock_t *b, uint32_t i) {
    tl_event_t e = {.fp = b->first_seq + i, .user = b->user[i], .item = b->item[i], .ts = b->ts[i],
                    .type = b->type[i], .channel = b->channel[i], .qty = b->qty[i],
                    .amount = b->amount[i], .rating = b->rating[i], .lat = NAN, .lon = NAN,
                    .query = TL_NONE, .city = TL_NONE, .session = b->session[i],
                    .campaign = TL_NONE};
    return e;
}

typedef struct {
    tl_profiles_t *p;
    const uint8_t *disordered;
    int part, nparts, rc;
    /* the out-of-order users' events, collected by part 0 */
    tl_event_t *late;
    size_t nlate, caplate;
} pass2_t;

static int pass2_part(pass2_t *x, const tl_evblock_t *b) {
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t u = tl__profile_person(x->p, b->user[i]);
        if (u >= x->p->n || b->ts[i] > x->p->o.as_of) continue;
        if (x->disordered[u]) {
            if (x->part != 0) continue;
            if (x->nlate == x->caplate) {
                size_t nc = x->caplate ? x->caplate * 2 : 4096;
                tl_event_t *nl = realloc(x->late, nc * sizeof *nl);
                if (!nl) return TL_ENOMEM;
                x->late = nl;
                x->caplate = nc;
            }
            x->late[x->nlate] = tl__profile_event_at(b, i);
            x->late[x->nlate++].user = u; /* sorted by person */
            continue;
        }
        /* runs of 64 users per part: neighbours share cache lines */
        if ((int)((u >> 6) % (uint32_t)x->nparts) != x->part) continue;
        tl_event_t e = tl__profile_event_at(b, i);
        int rc = tl_profile_apply(x->p, &e);
        if (rc) return rc;
    }
    return 0;
}

/* Pass 2 decodes each block once: the scanning thread hands it to a helper
 * for the other half of the users and waits for it before moving on. */
typedef struct {
    pass2_t part[2];
    int nparts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const tl_evblock_t *cur;
    uint64_t gen, done_gen;
    int quit;
} shared_t;

static void *helper_main(void *arg) {
    shared_t *sh = arg;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        while (sh->gen == seen && !sh->quit) pthread_cond_wait(&sh->cv, &sh->mu);
        if (sh->gen == seen && sh->quit) {
            pthread_mutex_unlock(&sh->mu);
            return NULL;
        }
        seen = sh->gen;
        const tl_evblock_t *b = sh->cur;
        pthread_mutex_unlock(&sh->mu);
        int rc = sh->part[1].rc ? 0 : pass2_part(&sh->part[1], b);
        pthread_mutex_lock(&sh->mu);
        if (rc) sh->part[1].rc = rc;
        sh->done_gen = seen;
        pthread_cond_broadcast(&sh->cv);
        pthread_mutex_unlock(&sh->mu);
    }
}

static int shared_block(const tl_evblock_t *b, void *arg) {
    shared_t *sh = arg;
    if (sh->nparts == 1) return pass2_part(&sh->part[0], b);
    pthread_mutex_lock(&sh->mu);
    sh->cur = b;
    sh->gen++;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    int rc = pass2_part(&sh->part[0], b);
    pthread_mutex_lock(&sh->mu);
    while (sh->done_gen != sh->gen) pthread_cond_wait(&sh->cv, &sh->mu);
    pthread_mutex_unlock(&sh->mu);
    return rc ? rc : sh->part[1].rc;
}

int tl__profile_cmp_event(const void *a, const void *b) {
    const tl_event_t *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return (x->fp > y->fp) - (x->fp < y->fp);
}

int tl_profile_build(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                     tl_errbuf_t *eb) {
    tl_profiles_t *p;
    int rc = tl__profile_new(st, o, &p, eb);
    if (rc) {
        if (!eb->msg[0]) tl_errbuf_set(eb, "profile build failed: %s", tl_strerror(rc));
        return rc;
    }
    /* Events after an explicit as-of time are left out; without one, all. */
    if (p->o.as_of == INT64_MIN) p->o.as_of = INT64_MAX;
    pass1_t x = {p, NULL, NULL, INT64_MIN, 0, NULL, 0, 0};
    x.last_ts = malloc((size_t)(p->n ? p->n : 1) * sizeof *x.last_ts);
    x.disordered = calloc(p->n ? p->n : 1, 1);
    if (!x.last_ts || !x.disordered) rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < p->n; u++) x.last_ts[u] = INT64_MIN;
    if (!rc) rc = tl_store_scan_columns(st, TL_EVC_USER | TL_EVC_TS | TL_EVC_TYPE, pass1_block, &x, eb);
    if (!rc) rc = find_promo_days(p, &x);
    /* Both cores apply events, users split in runs of 64; users whose events
     * are out of time order are gathered and applied sorted afterwards. */
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.nparts = tl__profile_nthreads(o) >= 2 ? 2 : 1;
    for (int i = 0; i < sh.nparts; i++)
        sh.part[i] = (pass2_t){.p = p, .disordered = x.disordered, .part = i, .nparts = sh.nparts};
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    pthread_t th;
    if (rc || (sh.nparts == 2 && pthread_create(&th, NULL, helper_main, &sh) != 0)) {
        sh.nparts = 1; /* no helper runs: nothing to join */
        sh.part[0].nparts = 1;
    }
    if (!rc) rc = tl_store_scan_columns(st, TL__PROFILE_APPLY_COLUMNS, shared_block, &sh, eb);
    if (sh.nparts == 2) {
        pthread_mutex_lock(&sh.mu);
        sh.quit = 1;
        pthread_cond_broadcast(&sh.cv);
        pthread_mutex_unlock(&sh.mu);
        pthread_join(th, NULL);
    }
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.cv);
    pass2_t *late = &sh.part[0];
    if (!rc && late->nlate) {
        qsort(late->late, late->nlate, sizeof *late->late, tl__profile_cmp_event);
        for (size_t i = 0; !rc && i < late->nlate; i++) rc = tl_profile_apply(p, &late->late[i]);
    }
    free(late->late);
    free(x.last_ts);
    free(x.disordered);
    free(x.per_day);
    int64_t as_of = o->as_of != INT64_MIN ? o->as_of : x.max_ts != INT64_MIN ? x.max_ts : tl_store_now(st);
    p->o.as_of = o->as_of;
    if (!rc) rc = tl_profile_refresh(p, as_of);
    if (rc) {
        if (!eb->msg[0]) tl_errbuf_set(eb, "profile build failed: %s", tl_strerror(rc));
        tl_profile_free(p);
        return rc;
    }
    *out = p;
    return 0;
}
