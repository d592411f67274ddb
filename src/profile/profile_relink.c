/* profile_relink.c -- persons that change under profiles kept in memory:
 * after identity links were added or split, the rows of every person
 * whose identifiers changed are made again exactly as a build makes them;
 * a person's profiling consent follows the records of all its
 * identifiers; a person's identifiers are listed.
 *
 * The state machine is not a sum into which two persons' states could be
 * added (visits, orders, decayed affinities and the small tables depend on
 * the order of the events), so a changed person's events are applied
 * again from the event log, in the order the build applies them: log
 * order, or by time (then log order) when they are out of time order. One
 * scan of the log's users finds the blocks that hold the changed persons'
 * events, and only those are decoded whole; the other rows are not
 * touched. */
#include "profile_int.h"

#include "identity/identity.h"

#include <stdlib.h>
#include <string.h>

/* ---- replaying the changed persons' events ------------------------------------ */

/* Rows [lo, hi) of the log. */
typedef struct {
    uint64_t lo, hi;
} range_t;

typedef struct {
    tl_profiles_t *p;
    const uint8_t *mark; /* per identifier below nmark: its person is made again */
    uint32_t nmark;
    int64_t until;       /* events after it are left out, as the build leaves them */
    range_t *r;          /* the blocks holding marked identifiers' events */
    size_t nr, capr;
    uint64_t lo, hi;     /* the range being read */
    tl_event_t *ev;
    size_t n, cap;
} replay_t;

#define STOP 1 /* a scan's callback is done with its range */

/* Pass one reads the users alone: which blocks hold a marked identifier
 * (neighbours joined into one range). */
static int find_blocks(const tl_evblock_t *b, void *arg) {
    replay_t *x = arg;
    uint32_t i = 0;
    while (i < b->n && (b->user[i] >= x->nmark || !x->mark[b->user[i]])) i++;
    if (i == b->n) return 0;
    uint64_t lo = b->first_seq, hi = b->first_seq + b->n;
    if (x->nr && x->r[x->nr - 1].hi == lo) {
        x->r[x->nr - 1].hi = hi;
        return 0;
    }
    if (x->nr == x->capr) {
        size_t nc = x->capr ? x->capr * 2 : 64;
        range_t *nr = realloc(x->r, nc * sizeof *nr);
        if (!nr) return TL_ENOMEM;
        x->r = nr, x->capr = nc;
    }
    x->r[x->nr++] = (range_t){lo, hi};
    return 0;
}

/* Pass two decodes those blocks alone and keeps the marked events, each
 * with its person. */
static int collect(const tl_evblock_t *b, void *arg) {
    replay_t *x = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        uint64_t seq = b->first_seq + i;
        uint32_t u = b->user[i];
        if (seq >= x->hi) return STOP;
        if (seq < x->lo || u >= x->nmark || !x->mark[u] || b->ts[i] > x->until) continue;
        if (x->n == x->cap) {
            size_t nc = x->cap ? x->cap * 2 : 1024;
            tl_event_t *ne = realloc(x->ev, nc * sizeof *ne);
            if (!ne) return TL_ENOMEM;
            x->ev = ne, x->cap = nc;
        }
        x->ev[x->n] = tl__profile_event_at(b, i);
        x->ev[x->n++].user = tl__profile_person(x->p, u);
    }
    return b->first_seq + b->n >= x->hi ? STOP : 0;
}

/* By person, then row in the log: each person's events as the log has them. */
static int cmp_log(const void *a, const void *b) {
    const tl_event_t *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    return (x->fp > y->fp) - (x->fp < y->fp);
}

/* Applies the events of every marked identifier's person again, each
 * person's as the build would: in log order when they are in time order,
 * else sorted by time. */
static int replay(tl_profiles_t *p, tl_store_t *st, const uint8_t *mark, uint32_t nmark,
                  tl_errbuf_t *eb) {
    replay_t x = {.p = p, .mark = mark, .nmark = nmark,
                  .until = p->o.as_of == INT64_MIN ? INT64_MAX : p->o.as_of};
    int rc = tl_store_scan_columns(st, TL_EVC_USER, find_blocks, &x, eb);
    for (size_t k = 0; !rc && k < x.nr; k++) {
        x.lo = x.r[k].lo, x.hi = x.r[k].hi;
        rc = tl_store_scan_from(st, x.lo, TL__PROFILE_APPLY_COLUMNS, collect, &x, eb);
        if (rc == STOP) rc = 0;
    }
    free(x.r);
    if (!rc && x.n) qsort(x.ev, x.n, sizeof *x.ev, cmp_log);
    for (size_t a = 0; !rc && a < x.n;) {
        size_t b = a + 1;
        int disordered = 0;
        int64_t last = x.ev[a].ts;
        for (; b < x.n && x.ev[b].user == x.ev[a].user; b++) {
            if (x.ev[b].ts < last) disordered = 1;
            else last = x.ev[b].ts;
        }
        if (disordered) qsort(x.ev + a, b - a, sizeof *x.ev, tl__profile_cmp_event);
        for (; !rc && a < b; a++) rc = tl_profile_apply(p, &x.ev[a]);
    }
    free(x.ev);
    return rc;
}

/* ---- persons made again --------------------------------------------------------- */

/* Whether identifier u's latest profiling consent withdraws it. */
static int withdrew(tl_store_t *st, uint32_t u, int *out, tl_errbuf_t *eb) {
    int granted = 1;
    int rc = tl_store_consent_latest(st, u, "profiling", &granted, NULL, eb);
    if (rc == TL_ENOENT) {
        eb->msg[0] = 0;
        rc = 0, granted = 1;
    }
    *out = !granted;
    return rc;
}

/* Installs the persons of id over the first nids identifiers. */
static int install(tl_profiles_t *p, const tl_identity_t *id, uint32_t nids) {
    tl_id_stats_t s;
    tl_identity_stats(id, &s);
    uint32_t *canon = NULL;
    if (s.persons < s.identifiers) {
        if (!(canon = malloc((size_t)nids * sizeof *canon))) return TL_ENOMEM;
        memcpy(canon, tl_identity_map(id), (size_t)nids * sizeof *canon);
    }
    free(p->canon);
    p->canon = canon;
    p->ncanon = canon ? nids : 0;
    return 0;
}

/* The rows of the persons that changed, made again (see the header). */
static int remake(tl_profiles_t *p, tl_store_t *st, const uint8_t *mark, uint32_t nids,
                  int64_t as_of, tl_errbuf_t *eb) {
    int rc = 0;
    for (uint32_t u = 0; !rc && u < nids; u++) {
        if (!mark[u]) continue;
        int w;
        rc = withdrew(st, u, &w, eb);
        p->withdrawn[u] = (uint8_t)w;
        tl__profile_reset_row(p, u);
    }
    /* profiling withdrawn on an identifier withdraws it for its person */
    for (uint32_t u = 0; !rc && u < nids; u++)
        if (mark[u] && p->withdrawn[u]) p->withdrawn[tl__profile_person(p, u)] = 1;
    for (uint32_t u = 0; !rc && u < nids; u++)
        if (mark[u]) rc = tl__profile_read_records(p, st, u, eb);
    if (!rc) rc = replay(p, st, mark, nids, eb);
    for (uint32_t u = 0; !rc && u < nids; u++)
        if (mark[u]) rc = tl_profile_refresh_user(p, u, as_of);
    return rc;
}

int tl_profile_relink(tl_profiles_t *p, tl_store_t *st, int64_t as_of, uint32_t *nchanged,
                      tl_errbuf_t *eb) {
    if (nchanged) *nchanged = 0;
    if (!p->owns_state) {
        tl_errbuf_set(eb, "profiles read from a snapshot keep no state to merge: build them");
        return TL_EINVAL;
    }
    tl_id_rules_t rules;
    tl_identity_t *id = NULL;
    int rc = tl_identity_rules_get(st, &rules, eb);
    if (!rc) rc = tl_identity_load(st, &rules, &id, eb);
    if (rc) return rc;
    tl_id_stats_t s;
    tl_identity_stats(id, &s);
    uint32_t nids = s.identifiers;
    const uint32_t *canon = tl_identity_map(id);
    rc = tl__profile_grow(p, nids);
    uint8_t *dirty = rc ? NULL : calloc(nids ? nids : 1, 1), *mark = NULL;
    if (!rc && !dirty) rc = TL_ENOMEM;
    /* a person changed when one of its identifiers moved, in or out */
    uint32_t moved = 0;
    for (uint32_t u = 0; !rc && u < nids; u++) {
        uint32_t was = tl__profile_person(p, u);
        if (was != canon[u]) dirty[was] = dirty[canon[u]] = 1, moved++;
    }
    if (!rc && moved && !(mark = malloc(nids))) rc = TL_ENOMEM;
    uint32_t changed = 0;
    for (uint32_t u = 0; !rc && mark && u < nids; u++) {
        mark[u] = dirty[canon[u]];
        changed += mark[u] && canon[u] == u;
    }
    if (!rc && moved) rc = install(p, id, nids);
    if (!rc && moved) rc = remake(p, st, mark, nids, as_of, eb);
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory merging profiles");
    free(dirty), free(mark);
    tl_identity_free(id);
    if (!rc && nchanged) *nchanged = changed;
    return rc;
}

/* ---- consent and identifiers of a person --------------------------------------- */

int tl_profile_members(const tl_profiles_t *p, uint32_t u, int (*fn)(uint32_t, void *),
                       void *arg) {
    uint32_t c = tl__profile_person(p, u);
    if (!p->canon || c >= p->ncanon) return fn(c, arg);
    for (uint32_t m = c; m < p->ncanon; m++) {
        if (p->canon[m] != c) continue;
        int rc = fn(m, arg);
        if (rc) return rc;
    }
    return 0;
}

typedef struct {
    tl_profiles_t *p;
    tl_store_t *st;
    uint32_t person;
    int any;
    tl_errbuf_t *eb;
} sync_t;

static int sync_member(uint32_t m, void *arg) {
    sync_t *x = arg;
    int w;
    int rc = withdrew(x->st, m, &w, x->eb);
    if (rc) return rc;
    x->any |= w;
    /* another identifier's row keeps its own flag, as a build leaves it */
    if (m != x->person && tl_profile_withdrawn(x->p, m) != w)
        rc = tl_profile_set_withdrawn(x->p, m, w);
    return rc;
}

int tl_profile_sync_withdrawn(tl_profiles_t *p, tl_store_t *st, uint32_t u, tl_errbuf_t *eb) {
    int rc = tl__profile_grow(p, u + 1);
    sync_t x = {p, st, tl__profile_person(p, u), 0, eb};
    if (!rc) rc = tl_profile_members(p, u, sync_member, &x);
    if (!rc && tl_profile_withdrawn(p, x.person) != x.any)
        rc = tl_profile_set_withdrawn(p, x.person, x.any);
    if (rc && !eb->msg[0]) tl_errbuf_set(eb, "profiles: %s", tl_strerror(rc));
    return rc;
}
