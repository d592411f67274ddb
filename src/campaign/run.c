/* run.c -- one run of a campaign: who is due (audience, schedule or scene
 * trigger), one decision per user, and the outbox, exposure and contact
 * records, all committed in one store batch.
 *
 * The checks go in this order, each user stopping at the first that fails:
 *   global control group → namespace slice → a channel with consent,
 *   without do-not-contact and with room under the caps → budget →
 *   content → hold-out split → sent (now, or held for quiet hours, or
 *   queued for the caps).
 * Channels are tried in the campaign's order; the first that passes
 * consent, do-not-contact and caps is used. The delivery time comes first
 * (the end of quiet hours for push, SMS and e-mail), and the caps are
 * checked at that time: they count the contacts of every campaign in
 * the side log "contacts", each at its own delivery time, whether it
 * went out already or is scheduled later (calendar days and weeks in local
 * time, ISO weeks from Monday; rolling windows wherever they lie). So every
 * rule holds over the deliveries as they go out, across runs and
 * campaigns. A message over a cap is skipped, or with queue_over_cap moved
 * to the first time outside quiet hours at which every rule allows it.
 *
 * Triggers: an event of the trigger's type (and category) is decided by
 * the first run at or after its decision time, the event's time plus
 * `within` when an `unless` event may cancel it. Events are taken in by
 * arrival: a run reads the log up to its end (the position kept in the
 * blob triggers/ID, committed with the run's decisions), and an event
 * that arrived after a run that had passed its decision time (sent late,
 * or by another process meanwhile) is decided by the next run, unless it
 * is older than the lookback. So runs at increasing times decide each
 * trigger exactly once, whenever it arrives. A user gets at most one
 * message a run, for the latest of their triggers.
 *
 * The user decided for is the person (identity.h): an identifier linked
 * into another's person counts as that person, decided for once under
 * the person's first identifier (whose hash gives the arm and the
 * hold-out, so a later link never moves the person). Caps count the
 * contacts of every identifier of the person, a do-not-contact of any
 * holds, and a purpose is granted only when no identifier withdraws it. */
#include "campaign_int.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GLOBAL_SALT UINT64_C(0x676c6f62616c6374) /* the global control group */
#define CONTACTS_LOG "contacts"

typedef tl__contact_t contact_t;
_Static_assert(sizeof(contact_t) == 16, "contact record");

static uint32_t bucket(uint64_t salt, const char *id) {
    return (uint32_t)(tl_hash64(id, strlen(id), salt) % 10000u);
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* Local day number and minute of the day of a UTC time. */
static int64_t local_day(int64_t ms, int tz) { return floor_div(ms + (int64_t)tz * 60000, TL_MS_PER_DAY); }
static int local_minute(int64_t ms, int tz) {
    int64_t l = ms + (int64_t)tz * 60000;
    return (int)((l - floor_div(l, TL_MS_PER_DAY) * TL_MS_PER_DAY) / 60000);
}
/* ISO week: 1970-01-01 was a Thursday. */
static int64_t local_week(int64_t ms, int tz) { return floor_div(local_day(ms, tz) + 3, 7); }
static int64_t day_start(int64_t day, int tz) { return day * TL_MS_PER_DAY - (int64_t)tz * 60000; }

/* ---- schedule ----------------------------------------------------------------------- */

/* The latest scheduled time at or before `at` (INT64_MIN: none), and the
 * first after it (INT64_MIN: never). */
static void occurrences(const tl_campaign_t *c, int64_t at, int64_t *last, int64_t *next) {
    *last = *next = INT64_MIN;
    switch (c->sched) {
    case TL_SCHED_NOW: *last = at; break;
    case TL_SCHED_ONCE:
        if (c->once_at <= at) *last = c->once_at;
        else *next = c->once_at;
        break;
    case TL_SCHED_DAILY: {
        int64_t t = day_start(local_day(at, c->tz_min), c->tz_min) + (int64_t)c->daily_min * 60000;
        if (t > at) t -= TL_MS_PER_DAY;
        *last = t, *next = t + TL_MS_PER_DAY;
        break;
    }
    case TL_SCHED_DATES:
        for (int k = 0; k < c->ndates; k++) {
            int64_t t = day_start(c->dates[k], c->tz_min) + (int64_t)c->daily_min * 60000;
            if (t <= at && (*last == INT64_MIN || t > *last)) *last = t;
            if (t > at && (*next == INT64_MIN || t < *next)) *next = t;
        }
        break;
    }
}

/* ---- what a run needs to know ---------------------------------------------------------- */

typedef tl__run_t runctx_t;

static int purpose_bit(runctx_t *x, const char *p) {
    if (!p || !*p) return -1;
    for (int k = 0; k < x->npurposes; k++)
        if (strcmp(x->purposes[k], p) == 0) return k;
    x->purposes[x->npurposes] = p;
    return x->npurposes++;
}

/* The person of user u: the index of its first identifier. */
uint32_t tl__person(const runctx_t *x, uint32_t u) {
    return x->ident ? tl_identity_person(x->ident, u) : u;
}

static int dnc_row(const tl_dnc_row_t *d, void *arg) {
    runctx_t *x = arg;
    if (d->user >= x->nall) return 0;
    int ch = strcmp(d->channel, "*") == 0 ? 7 : tl_dchannel_find(d->channel);
    if (ch >= 0) x->dnc[d->user] |= (uint8_t)(1u << ch);
    return 0;
}

typedef struct {
    runctx_t *x;
    tl_dict_t *camps;
} tagctx_t;

static int cmp_contact(const void *a, const void *b) {
    const contact_t *x = a, *y = b;
    return (x->at > y->at) - (x->at < y->at);
}

/* Marks the campaigns that carry each cap's tag. */
static int tag_row(const tl_campaign_row_t *r, void *arg) {
    tagctx_t *t = arg;
    runctx_t *x = t->x;
    uint32_t idx = tl_dict_find(t->camps, r->id, strlen(r->id));
    if (idx == TL_NONE || idx >= x->ncamp) return 0;
    cJSON *def = cJSON_Parse(r->def);
    const cJSON *tags = cJSON_GetObjectItem(def, "tags"), *tag;
    cJSON_ArrayForEach(tag, tags) {
        for (int k = 0; k < x->c->ncaps; k++)
            if (cJSON_IsString(tag) && x->c->caps[k].tag[0] && strcmp(tag->valuestring, x->c->caps[k].tag) == 0)
                x->camp_tags[idx] |= (uint16_t)(1u << k);
    }
    cJSON_Delete(def);
    return 0;
}

/* The contacts log's records in chunks of CHUNK, each chunk's latest
 * delivery time kept in the blob "contacts" (a head of the magic and the
 * chunks' count, then their latest times, i64 little-endian), so a run
 * reads from the first chunk with a delivery in its caps' reach on. A
 * chunk enters the index once whole; a purge of the log removes it. */
#define CHUNK 65536
#define CMAGIC UINT64_C(0x31584449544e4f43) /* "CONTIDX1" */

/* The records of the contacts log that may be delivered after `after`
 * (and others: the caller filters), into b; the index grown by the whole
 * chunks read past it (inside a batch). */
static int read_contacts(runctx_t *x, int64_t after, tl_buf_t *b) {
    tl_buf_t ib;
    tl_buf_init(&ib);
    int rc = tl_store_blob_get(x->st, "contacts", &ib, x->eb);
    uint64_t nidx = 0, from = 0;
    const int64_t *maxes = NULL;
    if (rc == TL_ENOENT) {
        rc = 0, x->eb->msg[0] = 0;
    } else if (!rc && ib.len >= 16 && ((const uint64_t *)(void *)ib.data)[0] == CMAGIC &&
               ib.len == 16 + ((const uint64_t *)(void *)ib.data)[1] * 8) {
        nidx = ((const uint64_t *)(void *)ib.data)[1];
        maxes = (const int64_t *)(void *)(ib.data + 16);
    } /* else damaged: read it all, and index it anew */
    while (from < nidx && maxes[from] <= after) from++;
    if (!rc) rc = tl_store_applog_read(x->st, CONTACTS_LOG, from * CHUNK * sizeof(contact_t), b, x->eb);
    uint64_t total = from * CHUNK + b->len / sizeof(contact_t);
    if (!rc && total < nidx * CHUNK) { /* shorter than indexed: read it all, index it anew */
        tl_buf_clear(b);
        nidx = from = 0;
        total = (rc = tl_store_applog_read(x->st, CONTACTS_LOG, 0, b, x->eb)) ? 0 : b->len / sizeof(contact_t);
    }
    if (!rc && total / CHUNK > nidx && !x->o->dry_run) { /* the run's batch */
        /* the whole chunks past the index, all in b */
        uint64_t grown = total / CHUNK;
        tl_buf_t nb;
        tl_buf_init(&nb);
        uint64_t head[2] = {CMAGIC, grown};
        rc = tl_buf_append(&nb, head, sizeof head) || (nidx && tl_buf_append(&nb, maxes, nidx * 8))
                 ? TL_ENOMEM : 0;
        const contact_t *cs = (const contact_t *)(void *)b->data;
        for (uint64_t k = nidx; !rc && k < grown; k++) {
            int64_t m = INT64_MIN;
            for (uint64_t i = (k - from) * CHUNK; i < (k - from + 1) * CHUNK; i++)
                if (cs[i].at > m) m = cs[i].at;
            if (tl_buf_append(&nb, &m, sizeof m)) rc = TL_ENOMEM;
        }
        if (!rc) rc = tl_store_blob_put(x->st, "contacts", nb.data, nb.len, x->eb);
        tl_buf_fini(&nb);
    }
    tl_buf_fini(&ib);
    return rc;
}

static int load_contacts(runctx_t *x, int64_t at) {
    const tl_campaign_t *c = x->c;
    int64_t reach = 0;
    for (int k = 0; k < c->ncaps; k++) {
        int64_t w = c->caps[k].per == TL_CAP_ROLLING ? c->caps[k].window_ms
                  : c->caps[k].per == TL_CAP_DAY ? 2 * TL_MS_PER_DAY : 8 * TL_MS_PER_DAY;
        if (w > reach) reach = w;
    }
    x->coff = calloc((size_t)x->nall + 1, sizeof *x->coff);
    if (!x->coff) return TL_ENOMEM;
    if (!c->ncaps || c->transactional) return 0;
    /* every delivery is at or after the run's time, so the contacts that can
     * share a window with one are those from a window before it on, however
     * far ahead they are scheduled */
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = read_contacts(x, at - reach, &b);
    size_t n = b.len / sizeof(contact_t), kept = 0;
    const contact_t *all = (const contact_t *)(void *)b.data;
    for (size_t i = 0; !rc && i < n; i++)
        if (all[i].user < x->nall && all[i].at > at - reach) x->coff[tl__person(x, all[i].user) + 1]++, kept++;
    for (uint32_t u = 0; u < x->nall; u++) {
        uint32_t m = x->coff[u + 1];
        if (m > x->nnear) x->nnear = m;
        x->coff[u + 1] += x->coff[u];
    }
    /* room for one user's contacts and, in a journey, those of its sends in
     * this run */
    uint32_t room = x->nnear + (c->journey ? TL_JOURNEY_MAX_STEPS : 0);
    if (!rc && ((kept && !(x->contacts = malloc(kept * sizeof *x->contacts))) ||
                !(x->near = malloc((room + 1) * sizeof *x->near)) ||
                (c->journey && !(x->merged = malloc((room + 1) * sizeof *x->merged)))))
        rc = TL_ENOMEM;
    uint32_t *fill = rc || !kept ? NULL : malloc((size_t)x->nall * sizeof *fill);
    if (!rc && kept && !fill) rc = TL_ENOMEM;
    if (fill) memcpy(fill, x->coff, (size_t)x->nall * sizeof *fill);
    for (size_t i = 0; fill && i < n; i++)
        if (all[i].user < x->nall && all[i].at > at - reach)
            x->contacts[fill[tl__person(x, all[i].user)]++] = all[i];
    free(fill);
    tl_buf_fini(&b);
    if (rc || !kept) return rc;
    /* each user's contacts in time order (runs mostly append in order: an
     * insertion sort is linear on them; a long history gets qsort) */
    for (uint32_t u = 0; u < x->nall; u++) {
        contact_t *cs = x->contacts + x->coff[u];
        uint32_t m = x->coff[u + 1] - x->coff[u];
        if (m > 32) {
            qsort(cs, m, sizeof *cs, cmp_contact);
            continue;
        }
        for (uint32_t i = 1; i < m; i++)
            for (uint32_t j = i; j > 0 && cs[j - 1].at > cs[j].at; j--) {
                contact_t tmp = cs[j];
                cs[j] = cs[j - 1], cs[j - 1] = tmp;
            }
    }
    /* campaign tags for tag caps */
    tl_dict_t *camps = tl_store_dict(x->st, TL_D_CAMPAIGN, x->eb);
    if (!camps) return TL_ENOMEM;
    x->ncamp = tl_dict_count(camps);
    if (!(x->camp_tags = calloc(x->ncamp + 1, sizeof *x->camp_tags))) return TL_ENOMEM;
    tagctx_t t = {x, camps};
    return tl_store_campaign_scan(x->st, tag_row, &t, x->eb);
}

/* When a message on channel ch due at t goes out: at t, or at the end of
 * the quiet hours t falls in (push, SMS and e-mail only). */
static int64_t after_quiet(const tl_campaign_t *c, int ch, int64_t t) {
    int qf = c->quiet_from, qt = c->quiet_to;
    if (qf == qt || !(ch == TL_DCH_PUSH || ch == TL_DCH_SMS || ch == TL_DCH_EMAIL)) return t;
    int m = local_minute(t, c->tz_min);
    if (qf < qt ? (m < qf || m >= qt) : (m < qf && m >= qt)) return t;
    int64_t d = local_day(t, c->tz_min) + (qf > qt && m >= qf ? 1 : 0);
    return day_start(d, c->tz_min) + (int64_t)qt * 60000;
}

/* Whether cap rule k keeps one more message out at t, given the user's
 * contacts cs[0..n) in time order: 0 no; else 1 and *next gets the first
 * time it might not (INT64_MAX: never). A calendar rule counts the
 * contacts of t's local day or week. A rolling rule holds when no window
 * of its length has more than max contacts, wherever the window lies: t is
 * kept out when max contacts together with t span less than the window,
 * and stays out until the first of them is a window behind. */
static int rule_blocks(const runctx_t *x, int k, const contact_t *cs, uint32_t n, int64_t t,
                       int64_t *next) {
    const tl_cap_t *cap = &x->c->caps[k];
    int tz = x->c->tz_min;
    *next = INT64_MAX;
    if (cap->max == 0) return 1;
    uint32_t m = 0;
    int64_t p = cap->per == TL_CAP_DAY ? local_day(t, tz) : local_week(t, tz);
    for (uint32_t i = 0; i < n; i++) {
        const contact_t *e = &cs[i];
        if (cap->channel >= 0 && e->chan != cap->channel) continue;
        if (*cap->tag && !(e->campaign < x->ncamp && (x->camp_tags[e->campaign] >> k & 1))) continue;
        if (cap->per == TL_CAP_ROLLING) {
            if (e->at > t - cap->window_ms && e->at < t + cap->window_ms) x->near[m++] = e->at;
        } else if ((cap->per == TL_CAP_DAY ? local_day(e->at, tz) : local_week(e->at, tz)) == p) {
            m++;
        }
    }
    if (cap->per == TL_CAP_DAY || cap->per == TL_CAP_WEEK) {
        if (m < cap->max) return 0;
        *next = cap->per == TL_CAP_DAY ? day_start(p + 1, tz) : day_start((p + 1) * 7 - 3, tz);
        return 1;
    }
    int blocks = 0;
    for (uint32_t i = 0; i + cap->max <= m; i++) {
        int64_t lo = x->near[i] < t ? x->near[i] : t, hi = x->near[i + cap->max - 1];
        if (hi < t) hi = t;
        if (hi - lo < cap->window_ms) blocks = 1, *next = x->near[i] + cap->window_ms;
    }
    return blocks;
}

/* The first time at or after `when` that a message on channel ch can go
 * out to user u: outside quiet hours, with every cap rule allowing it
 * against every contact already scheduled (sent, held, queued; earlier or
 * later, by any campaign). Without `queue` only the first time outside
 * quiet hours is tried. INT64_MAX: never. The search moves past the span
 * each blocking rule rules out, so it ends after at most a step per
 * contact and rule. */
static int64_t fit(const runctx_t *x, uint32_t u, int ch, int64_t when, int queue) {
    const tl_campaign_t *c = x->c;
    int64_t t = after_quiet(c, ch, when);
    if (c->transactional || !c->ncaps) return t;
    const contact_t *cs = x->contacts ? x->contacts + x->coff[u] : NULL;
    uint32_t n = x->coff[u + 1] - x->coff[u];
    if (x->nown && x->own_user == u) {
        /* a journey's sends to u earlier in this run count too: merged
         * with the stored contacts, in time order */
        uint32_t i = 0, j = 0, m = 0;
        while (i < n || j < x->nown)
            x->merged[m++] = j == x->nown || (i < n && cs[i].at <= x->own[j].at) ? cs[i++] : x->own[j++];
        cs = x->merged, n = m;
    }
    for (;;) {
        int64_t next = t, nk;
        int blocked = 0;
        for (int k = 0; k < c->ncaps; k++)
            if ((c->caps[k].channel < 0 || c->caps[k].channel == ch) && rule_blocks(x, k, cs, n, t, &nk)) {
                blocked = 1;
                if (nk > next) next = nk;
            }
        if (!blocked) return t;
        if (!queue || next == INT64_MAX) return INT64_MAX;
        t = after_quiet(c, ch, next);
    }
}

/* ---- one user ---------------------------------------------------------------------------- */

/* One outbox line, appended piece by piece (this is the loop over every
 * user: no printf). */
/* The outbox line of a delivery, into x->line. */
static int make_line(runctx_t *x, uint32_t u, int arm, int ch, int dec, int64_t when,
                     const tl_arm_t *msg, const char *step) {
    const tl_campaign_t *c = x->c;
    const tl_arm_t *a = &c->arms[arm];
    tl_buf_t *b = &x->line;
    size_t idlen;
    const char *uid = tl_ids_str(&x->users, u, &idlen);
    if (when != x->ts_for) x->ts_for = when, tl_time_format(when, x->ts);
    tl_buf_clear(b);
#define S(lit) tl_buf_append(b, lit, sizeof lit - 1)
#define Z(str) tl_buf_append(b, str, strlen(str))
    S("{\"campaign\":\""), Z(c->id), S("\",\"run\":"), Z(x->runstr), S(",\"user\":");
    tl_buf_json_str(b, uid, idlen);
    S(",\"arm\":"), tl_buf_json_str(b, a->name, strlen(a->name));
    if (step) S(",\"step\":"), tl_buf_json_str(b, step, strlen(step));
    S(",\"channel\":\""), Z(tl_dchannel_name(ch)), S("\",\"at\":\""), Z(x->ts);
    if (dec != TL_DEC_SENT) S("\",\"status\":\""), Z(tl_decision_name(dec));
    S("\",\"content\":");
    if (x->content.len) tl_buf_append(b, x->content.data, x->content.len);
    else Z(msg->content);
    if (msg->message) {
        /* personal fields ({name}) stay placeholders: filled in at delivery */
        S(",\"message\":"), tl_buf_json_str(b, msg->message, strlen(msg->message));
    }
    if (S("}\n")) return TL_ENOMEM;
#undef S
#undef Z
    return 0;
}

static int write_line(runctx_t *x, uint32_t u, int arm, int ch, int dec, int64_t when,
                      const tl_arm_t *msg, const char *step) {
    int rc = make_line(x, u, arm, ch, dec, when, msg, step);
    return rc ? rc : tl_applog_write(x->outbox[ch], x->line.data, x->line.len, x->eb);
}

/* Whether one more send on channel ch goes over the day's budget: the
 * whole of it, or with even pacing the share of it the day's time so far
 * allows (a quarter of an hour ahead, so the day does not start empty). */
static int over_daily(const runctx_t *x, int ch) {
    const tl_campaign_t *c = x->c;
    const tl_run_result_t *res = x->res;
    double share = c->pace_even ? x->day_frac + 1.0 / 96 : 1;
    if (share > 1) share = 1;
    uint64_t sends = x->day_sends + res->counts[TL_DEC_SENT] + res->counts[TL_DEC_QUEUED] +
                     res->counts[TL_DEC_QUIET];
    return (c->daily_sends && (double)sends + 1 > (double)c->daily_sends * share + 1e-9) ||
           (c->daily_cost > 0 && x->day_cost + res->cost + c->cost[ch] > c->daily_cost * share + 1e-9);
}

void tl__assign(const tl_campaign_t *c, const char *uid, int *arm, int *holdout) {
    /* the hold-out split and the arm come from two hashes, so hold-out
     * users have an arm too */
    double total = 0, pick;
    for (int k = 0; k < c->narms; k++) total += c->arms[k].weight;
    pick = bucket(c->salt ^ 0x61726d, uid) / 10000.0 * total;
    int a = 0;
    for (; a + 1 < c->narms && pick >= c->arms[a].weight; a++) pick -= c->arms[a].weight;
    *arm = a;
    *holdout = bucket(c->salt, uid) < (uint32_t)llround(c->holdout * 100);
}

int tl__decide(runctx_t *x, uint32_t u, int64_t when, const tl__send_t *s) {
    const tl_campaign_t *c = x->c;
    const tl_run_opts_t *o = x->o;
    tl_run_result_t *res = x->res;
    const char *uid = tl_ids_str(&x->users, u, NULL);
    const int *chans = s ? s->channels : c->channels;
    int nchans = s ? s->nchannels : c->nchannels;
    int dec = -1, arm = -1, ch = -1;
    int64_t send = when;
    const tl_arm_t *msg = NULL;
    tl_arm_t merged;
    if (!c->transactional && o->global_control > 0 &&
        bucket(GLOBAL_SALT, uid) < (uint32_t)llround(o->global_control * 100))
        dec = TL_DEC_CONTROL;
    else if (c->ns[0]) {
        uint32_t b = bucket(tl_hash64(c->ns, strlen(c->ns), 0x6e73), uid);
        if (b < (uint32_t)llround(c->ns_from * 100) || b >= (uint32_t)llround(c->ns_to * 100))
            dec = TL_DEC_NAMESPACE;
    }
    if (dec < 0) {
        /* the first channel with consent, no do-not-contact and room under
         * the caps when the message would go out (after quiet hours); else,
         * when over-cap messages queue, the channel whose caps make room first */
        int stage = 0; /* 1 consent ok, 2 dnc ok (so capped) */
        int64_t first = INT64_MAX;
        int queue_ch = -1;
        for (int k = 0; k < nchans && ch < 0; k++) {
            int cc = chans[k];
            uint8_t need = (uint8_t)((x->camp_bit >= 0 ? 1u << x->camp_bit : 0) |
                                     (x->chan_bit[cc] >= 0 ? 1u << x->chan_bit[cc] : 0));
            if ((x->cons[u] & need) != need) continue;
            if (stage < 1) stage = 1;
            if (x->dnc && (x->dnc[u] & (1u << cc | 1u << 7))) continue;
            if (stage < 2) stage = 2;
            int64_t t = fit(x, u, cc, when, c->queue_over_cap);
            if (t == after_quiet(c, cc, when)) ch = cc, send = t;
            else if (t < first) first = t, queue_ch = cc;
        }
        if (ch < 0 && queue_ch >= 0) {
            ch = queue_ch, send = first, dec = TL_DEC_QUEUED;
        } else if (ch < 0) {
            dec = stage == 2 ? TL_DEC_CAPPED : stage == 1 ? TL_DEC_DNC : TL_DEC_NO_CONSENT;
        }
    }
    if (ch >= 0 && (dec < 0 || dec == TL_DEC_QUEUED)) {
        uint64_t sends = x->sends_before + res->counts[TL_DEC_SENT] + res->counts[TL_DEC_QUEUED] +
                         res->counts[TL_DEC_QUIET];
        if ((c->max_sends && sends >= c->max_sends) ||
            (c->max_cost > 0 && x->cost_before + res->cost + c->cost[ch] > c->max_cost + 1e-9) ||
            over_daily(x, ch))
            dec = TL_DEC_BUDGET;
    }
    if (ch >= 0 && (dec < 0 || dec == TL_DEC_QUEUED)) {
        /* the arm a user is (or would be) in, and whether held out */
        int hold;
        tl__assign(c, uid, &arm, &hold);
        if (s && s->arm >= 0) arm = s->arm, hold = s->holdout;
        msg = &c->arms[arm];
        if (s && s->msg) { /* a step's own content or message, else the arm's */
            merged = *msg;
            if (s->msg->content)
                merged.content = s->msg->content, merged.content_type = s->msg->content_type, merged.n = s->msg->n;
            if (s->msg->message) merged.message = s->msg->message;
            msg = &merged;
        }
        tl_buf_clear(&x->content);
        int ct = msg->content_type;
        if ((ct == TL_CONTENT_RECS || ct == TL_CONTENT_OFFER) && o->content) {
            int r = o->content(u, msg, send, &x->content, o->content_arg);
            if (r < 0) return r;
            if (r > 0) dec = TL_DEC_NO_CONTENT;
        }
        if (dec < 0 || dec == TL_DEC_QUEUED) {
            if (hold) {
                dec = TL_DEC_HOLDOUT;
            } else if (dec < 0) {
                dec = send == when ? TL_DEC_SENT : TL_DEC_QUIET;
            }
        }
    }
    res->counts[dec]++;
    res->audience++;
    int delivers = TL_DEC_DELIVERS(dec);
    if (delivers) {
        res->by_arm[arm]++;
        res->by_channel[ch]++;
        res->cost += c->cost[ch];
    }
    if (o->dry_run) {
        /* a preview: what the first deliveries would be */
        if (delivers && o->samples && (uint32_t)cJSON_GetArraySize(o->samples) < o->sample) {
            int rc = make_line(x, u, arm, ch, dec, send, msg, s ? s->step : NULL);
            cJSON *line = rc ? NULL : cJSON_ParseWithLength(x->line.data, x->line.len);
            if (!line) return rc ? rc : TL_ENOMEM;
            cJSON_DeleteItemFromObject(line, "run"); /* a dry run takes no number */
            cJSON_AddItemToArray(o->samples, line);
        }
        return 0;
    }
    tl_exposure_t e = {.user = u, .run = (uint16_t)x->run, .decision = (uint8_t)dec,
                       .arm_chan = (uint8_t)(((arm < 0 ? 0xF : arm) << 4) | (ch < 0 ? 0xF : ch)),
                       .at = TL_DEC_MEASURED(dec) ? send : when};
    int rc = tl_applog_write(x->expo, &e, sizeof e, x->eb);
    if (!rc && delivers) {
        contact_t ct = {.user = u, .campaign = x->camp_idx, .chan = (uint8_t)ch, .at = send};
        if (s && x->c->ncaps) { /* a journey may send to u again in this run */
            if (x->own_user != u) x->own_user = u, x->nown = 0;
            uint32_t k = x->nown < TL_JOURNEY_MAX_STEPS ? x->nown++ : x->nown - 1;
            while (k > 0 && x->own[k - 1].at > send) x->own[k] = x->own[k - 1], k--;
            x->own[k] = ct;
        }
        rc = tl_applog_write(x->clog, &ct, sizeof ct, x->eb);
        if (!rc) rc = write_line(x, u, arm, ch, dec, send, msg, s ? s->step : NULL);
    }
    return rc;
}

/* ---- triggers ------------------------------------------------------------------------------ */

typedef struct {
    uint32_t user;
    int64_t ts;
} uev_t;

typedef struct {
    uint32_t user;
    int is_reset;
    int64_t ts;
    uint64_t seq;
} hist_t;

typedef struct {
    runctx_t *x;
    uint32_t type, unless;       /* TL_NONE: none */
    const uint8_t *item_ok;      /* category filter (NULL: any item) */
    uint32_t nitems;
    double min_amount;           /* NAN: any amount */
    int64_t lo, hi, within;      /* decision window (lo, hi] of the events read before */
    int64_t lo_late;             /* (lo_late, hi] for those that arrived since */
    uint64_t read, end;          /* the log's rows read by the last run, and by this one */
    uint64_t late;               /* triggers that arrived after their window had passed */
    int64_t next;                /* the first decision time after hi (INT64_MAX: none) */
    uev_t *trig, *unl;
    size_t ntrig, nunl, ctrig, cunl;
    uint32_t *last_city;         /* city_change */
    uint32_t reset;              /* nth: the type that starts the count again (TL_NONE: none) */
    hist_t *hist;                /* nth: every event of the type, and the resets */
    size_t nhist, chist;
    int err;
} trigscan_t;

static int push_uev(uev_t **a, size_t *n, size_t *cap, uint32_t u, int64_t ts) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
        uev_t *na = realloc(*a, nc * sizeof *na);
        if (!na) return TL_ENOMEM;
        *a = na, *cap = nc;
    }
    (*a)[(*n)++] = (uev_t){u, ts};
    return 0;
}

/* Whether a trigger of decision time d, at row seq of the log, is this
 * run's: read before and due since the last run, or arrived since and
 * due by now (late when the last run had passed it). */
static int trig_due(trigscan_t *t, uint64_t seq, int64_t d) {
    if (d > t->hi) {
        if (d < t->next) t->next = d;
        return 0;
    }
    if (seq < t->read) return d > t->lo;
    if (d <= t->lo_late) return 0;
    t->late += d <= t->lo;
    return 1;
}

static int push_hist(trigscan_t *t, uint32_t u, int is_reset, int64_t ts, uint64_t seq) {
    if (t->nhist == t->chist) {
        size_t nc = t->chist ? t->chist * 2 : 4096;
        hist_t *g = realloc(t->hist, nc * sizeof *g);
        if (!g) return TL_ENOMEM;
        t->hist = g, t->chist = nc;
    }
    t->hist[t->nhist++] = (hist_t){u, is_reset, ts, seq};
    return 0;
}

static int cmp_hist(const void *a, const void *b) {
    const hist_t *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return (x->is_reset < y->is_reset) - (x->is_reset > y->is_reset); /* a reset at the same time first */
}

/* nth: each user's events of the type in time order, counted from the
 * last reset; the n-th of a count is a trigger (due as any other). */
static int nth_triggers(trigscan_t *t) {
    uint32_t nth = t->x->c->trig_nth, count = 0;
    if (t->nhist) qsort(t->hist, t->nhist, sizeof *t->hist, cmp_hist);
    for (size_t i = 0; i < t->nhist; i++) {
        const hist_t *h = &t->hist[i];
        if (i == 0 || h->user != t->hist[i - 1].user) count = 0;
        if (h->is_reset) {
            count = 0;
        } else if (++count == nth && trig_due(t, h->seq, h->ts + t->within) &&
                   push_uev(&t->trig, &t->ntrig, &t->ctrig, h->user, h->ts)) {
            return TL_ENOMEM;
        }
    }
    return 0;
}

static int trig_block(const tl_evblock_t *b, void *arg) {
    trigscan_t *t = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        uint64_t seq = b->first_seq + i;
        if (seq >= t->end) return 1; /* arrived after this run began: the next one's */
        uint32_t u = b->user[i];
        int64_t ts = b->ts[i];
        if (u >= t->x->nall || (u = tl__person(t->x, u)) >= t->x->nusers) continue;
        if (t->last_city) {
            uint32_t city = b->city[i];
            if (city == TL_NONE) continue;
            uint32_t prev = t->last_city[u];
            t->last_city[u] = city;
            if (prev != TL_NONE && prev != city && trig_due(t, seq, ts) &&
                push_uev(&t->trig, &t->ntrig, &t->ctrig, u, ts))
                return TL_ENOMEM;
            continue;
        }
        if (b->type[i] == t->type) {
            uint32_t it = b->item[i];
            if (t->item_ok && (it >= t->nitems || !t->item_ok[it])) continue;
            if (!isnan(t->min_amount) && !(b->amount[i] >= t->min_amount)) continue; /* NaN: none */
            if (t->x->c->trig_nth) {
                if (push_hist(t, u, 0, ts, seq)) return TL_ENOMEM;
            } else if (trig_due(t, seq, ts + t->within) && push_uev(&t->trig, &t->ntrig, &t->ctrig, u, ts)) {
                return TL_ENOMEM;
            }
        } else if (b->type[i] == t->reset && t->reset != TL_NONE) {
            if (push_hist(t, u, 1, ts, seq)) return TL_ENOMEM;
        } else if (b->type[i] == t->unless && ts > t->lo_late - t->within && ts <= t->hi) {
            if (push_uev(&t->unl, &t->nunl, &t->cunl, u, ts)) return TL_ENOMEM;
        }
    }
    return 0;
}

static int cmp_uev(const void *a, const void *b) {
    const uev_t *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

typedef struct {
    const char *cat;
    uint8_t *ok;
    uint32_t n;
} catctx_t;

static int cat_row(uint32_t idx, const tl_item_t *it, void *arg) {
    catctx_t *k = arg;
    const char *cat = it->category;
    size_t len = strlen(k->cat);
    if (idx < k->n && cat && strncmp(cat, k->cat, len) == 0 && (cat[len] == 0 || cat[len] == '/'))
        k->ok[idx] = 1;
    return 0;
}

int tl__items_in(tl_store_t *st, const char *cat, uint8_t **ok, uint32_t *n, tl_errbuf_t *eb) {
    tl_dict_t *items = tl_store_dict(st, TL_D_ITEM, eb);
    *ok = NULL, *n = 0;
    if (!items) return TL_ENOMEM;
    catctx_t k = {cat, NULL, tl_dict_count(items)};
    if (!(k.ok = calloc(k.n + 1, 1))) return TL_ENOMEM;
    int rc = tl_store_scan_items(st, cat_row, &k, eb);
    if (rc) free(k.ok), k.ok = NULL, k.n = 0;
    *ok = k.ok, *n = k.n;
    return rc;
}

/* The users to decide for and when: the latest trigger of each due in
 * this run (the rows of the log up to end; those up to read were read by
 * the last run, which decided up to lo). */
static int trigger_users(runctx_t *x, int64_t lo, int64_t lo_late, uint64_t read, uint64_t end,
                         int64_t hi, uev_t **out, size_t *nout) {
    const tl_campaign_t *c = x->c;
    trigscan_t t = {.x = x, .type = TL_NONE, .unless = TL_NONE, .lo = lo, .hi = hi,
                    .lo_late = lo_late < lo ? lo_late : lo, .read = read, .end = end, .next = INT64_MAX,
                    .within = c->trig_unless[0] ? c->trig_within : 0, .min_amount = c->trig_min_amount};
    uint32_t want = TL_EVC_USER | TL_EVC_TS;
    int rc = 0;
    *out = NULL, *nout = 0;
    if (c->trig == TL_TRIG_CITY) {
        want |= TL_EVC_CITY;
        if (!(t.last_city = malloc((size_t)x->nusers * sizeof *t.last_city))) return TL_ENOMEM;
        memset(t.last_city, 0xFF, (size_t)x->nusers * sizeof *t.last_city);
    } else {
        want |= TL_EVC_TYPE | TL_EVC_ITEM | (isnan(c->trig_min_amount) ? 0 : TL_EVC_AMOUNT);
        tl_dict_t *types = tl_store_dict(x->st, TL_D_TYPE, x->eb);
        if (!types) return TL_ENOMEM;
        t.type = tl_dict_find(types, c->trig_event, strlen(c->trig_event));
        if (c->trig_unless[0]) t.unless = tl_dict_find(types, c->trig_unless, strlen(c->trig_unless));
        t.reset = c->trig_reset[0] ? tl_dict_find(types, c->trig_reset, strlen(c->trig_reset)) : TL_NONE;
        if (t.type == TL_NONE) return 0; /* no such events yet */
        if (c->trig_category[0]) {
            uint8_t *ok;
            rc = tl__items_in(x->st, c->trig_category, &ok, &t.nitems, x->eb);
            t.item_ok = ok;
        }
    }
    /* a trigger whose decision time is at or before both bounds is never
     * due, nor is an `unless` event before the earliest window: the city's
     * triggers and the n-th events need each user's whole history */
    int64_t since = t.lo_late - t.within;
    if (c->trig == TL_TRIG_CITY || c->trig_nth || since < INT64_MIN / 2) since = INT64_MIN;
    if (!rc && (rc = tl_store_scan_since(x->st, since, want, trig_block, &t, x->eb)) == 1) rc = 0;
    if (!rc && c->trig_nth) rc = nth_triggers(&t);
    free(t.hist);
    free((void *)t.item_ok);
    free(t.last_city);
    if (!rc) {
        if (t.ntrig) qsort(t.trig, t.ntrig, sizeof *t.trig, cmp_uev); /* NULL when empty */
        if (t.nunl) qsort(t.unl, t.nunl, sizeof *t.unl, cmp_uev);
        x->res->triggers = t.ntrig;
        x->res->late_triggers = t.late;
        x->res->next_due = t.next == INT64_MAX ? INT64_MIN : t.next;
        size_t j = 0, w = 0;
        for (size_t i = 0; i < t.ntrig; i++) {
            const uev_t *e = &t.trig[i];
            /* cancelled by an `unless` event of the user within the window */
            while (j < t.nunl && (t.unl[j].user < e->user ||
                                  (t.unl[j].user == e->user && t.unl[j].ts <= e->ts)))
                j++;
            if (j < t.nunl && t.unl[j].user == e->user && t.unl[j].ts <= e->ts + t.within) continue;
            if (w && t.trig[w - 1].user == e->user) t.trig[w - 1] = *e; /* the latest wins */
            else t.trig[w++] = *e;
        }
        *out = t.trig, *nout = w;
        t.trig = NULL;
    }
    free(t.trig);
    free(t.unl);
    return rc;
}

/* ---- persons ----------------------------------------------------------------------------------- */

/* Reads the persons; NULL when every identifier is a person of its own. */
static int load_persons(runctx_t *x) {
    int rc = tl_identity_load(x->st, NULL, &x->ident, x->eb);
    tl_id_stats_t s;
    if (!rc) tl_identity_stats(x->ident, &s);
    if (!rc && s.persons == s.identifiers) tl_identity_free(x->ident), x->ident = NULL;
    return rc;
}

/* The consents and do-not-contact of a person, kept in its first
 * identifier's entries: a purpose is granted when one of its identifiers
 * grants it and none withdraws it (the strictest record wins); a
 * do-not-contact of any identifier holds for the person. */
static int fold_persons(runctx_t *x, int64_t at) {
    if (!x->ident) return 0;
    uint8_t *deny = calloc((size_t)x->nall + 1, 1), *w = malloc((size_t)x->nall + 1);
    int rc = deny && w ? 0 : TL_ENOMEM;
    for (int k = 0; !rc && k < x->npurposes; k++) {
        rc = tl_store_consents_withdrawn(x->st, x->purposes[k], at, w, x->nall, x->eb);
        for (uint32_t u = 0; !rc && u < x->nall; u++)
            if (w[u]) deny[tl__person(x, u)] |= (uint8_t)(1u << k);
    }
    for (uint32_t u = 0; !rc && u < x->nall; u++) {
        uint32_t p = tl__person(x, u);
        if (p != u) x->cons[p] |= x->cons[u], x->dnc[p] |= x->dnc[u];
    }
    for (uint32_t u = 0; !rc && u < x->nall; u++)
        if (tl__person(x, u) == u) x->cons[u] &= (uint8_t)~deny[u];
    free(deny), free(w);
    return rc;
}

/* Decides once for each person with an identifier in the audience (every
 * person without one). */
static int decide_audience(runctx_t *x) {
    const tl_run_opts_t *o = x->o;
    uint8_t *due = NULL;
    if (x->ident && o->audience) {
        if (!(due = calloc((size_t)x->nusers + 1, 1))) return TL_ENOMEM;
        for (uint32_t u = 0; u < x->nusers; u++)
            if (o->audience[u]) due[tl__person(x, u)] = 1;
    }
    int rc = 0;
    for (uint32_t u = 0; !rc && u < x->nusers; u++) {
        int in = due ? due[u] : o->audience ? o->audience[u] : tl__person(x, u) == u;
        if (in) rc = tl__decide(x, u, o->at, NULL);
    }
    free(due);
    return rc;
}

/* ---- the run ----------------------------------------------------------------------------------- */

typedef struct {
    char status[16];
    uint64_t runs, sends;
    int64_t last_at;
    double cost;
} state_t;

static int state_row(const tl_campaign_row_t *r, void *arg) {
    state_t *s = arg;
    snprintf(s->status, sizeof s->status, "%s", r->status);
    s->runs = r->runs, s->last_at = r->last_at, s->sends = r->sends, s->cost = r->cost;
    return 0;
}

/* Where a trigger campaign's runs stand (the blob triggers/ID, 40 bytes
 * little-endian as the side logs' records): the log's rows the last run
 * read, the first decision time it left for later (INT64_MIN: none), and
 * the sends and cost of its local day, for the daily budget. */
typedef struct {
    uint64_t read;
    int64_t next;
    int64_t day;               /* the local day of the last run, and what it and */
    uint64_t day_sends;        /* the runs before it that day sent, and cost */
    double day_cost;
} trigpos_t;
_Static_assert(sizeof(trigpos_t) == 40, "trigger position");

/* The position kept, 1; 0 (*out untouched) when no run kept one. */
static int trig_read(tl_store_t *st, const char *id, trigpos_t *out, tl_errbuf_t *eb) {
    char name[300];
    tl_buf_t b;
    if (tl_store_blob_name(TL_BLOB_TRIGGERS, id, name, sizeof name)) return 0; /* id too long: none */
    tl_buf_init(&b);
    int rc = tl_store_blob_get(st, name, &b, eb);
    if (rc == TL_ENOENT) {
        rc = 0;
    } else if (!rc && b.len != sizeof *out) {
        tl_errbuf_set(eb, "the blob %s is damaged (%zu bytes, not %zu)", name, b.len, sizeof *out);
        rc = TL_ECORRUPT;
    } else if (!rc) {
        memcpy(out, b.data, sizeof *out);
        rc = 1;
    }
    tl_buf_fini(&b);
    return rc;
}

static int trig_keep(tl_store_t *st, const char *id, const trigpos_t *p, tl_errbuf_t *eb) {
    char name[300];
    if (tl_store_blob_name(TL_BLOB_TRIGGERS, id, name, sizeof name)) return 0;
    return tl_store_blob_put(st, name, p, sizeof *p, eb);
}

/* use[ch] = 1 for every channel the campaign, or one of its journey's
 * sends, may use. */
static void channels_used(const tl_campaign_t *c, int use[TL_DCH__N]) {
    memset(use, 0, TL_DCH__N * sizeof *use);
    for (int k = 0; k < c->nchannels; k++) use[c->channels[k]] = 1;
    for (int s = 0; c->journey && s < c->journey->nsteps; s++)
        for (int k = 0; c->journey->steps[s].kind == TL_JSTEP_SEND && k < c->journey->steps[s].nchannels; k++)
            use[c->journey->steps[s].channels[k]] = 1;
}

/* The outbox of every channel used, the exposures and the contacts. */
static int open_outputs(runctx_t *x) {
    char name[200];
    int rc = 0, use[TL_DCH__N];
    channels_used(x->c, use);
    for (int ch = 0; !rc && ch < TL_DCH__N; ch++) {
        if (!use[ch]) continue;
        tl_dchannel_outbox(tl_dchannel_name(ch), name, sizeof name);
        rc = tl_store_applog_open(x->st, name, &x->outbox[ch], x->eb);
    }
    snprintf(name, sizeof name, "exposures/%s", x->c->id);
    if (!rc) rc = tl_store_applog_open(x->st, name, &x->expo, x->eb);
    if (!rc) rc = tl_store_applog_open(x->st, CONTACTS_LOG, &x->clog, x->eb);
    return rc;
}

/* The run inside its batch (begun, unless dry): everything it reads,
 * the campaign's state and position first, is read under the writers'
 * lock, so two processes running the campaign at once decide each user
 * and trigger once between them. Commits what it writes; what returns
 * early has written nothing. */
static int run_batch(tl_store_t *st, const tl_campaign_t *c, const tl_run_opts_t *o,
                     tl_run_result_t *res, tl_errbuf_t *eb) {
    res->at = o->at;
    res->dry_run = o->dry_run != 0;
    res->next_due = INT64_MIN;
    runctx_t x = {.st = st, .c = c, .o = o, .eb = eb, .res = res, .camp_bit = -1};
    state_t s = {0};
    int rc = tl_store_campaign_get(st, c->id, state_row, &s, eb);
    if (rc == 0) {
        tl_errbuf_set(eb, "no campaign \"%s\" (create it first: `tailor campaign create FILE`)", c->id);
        return TL_ENOENT;
    }
    if (rc < 0) return rc;
    if (strcmp(s.status, "active") != 0) {
        tl_errbuf_set(eb, "campaign \"%s\" is %s (`tailor campaign resume %s` makes it active)",
                      c->id, s.status, c->id);
        return TL_EINVAL;
    }
    int flows = c->trig || c->journey; /* decides what arrives and what time brings */
    if (flows && s.last_at != INT64_MIN && o->at < s.last_at) {
        tl_errbuf_set(eb, "campaign \"%s\" last ran at a later time; %s run forward in time", c->id,
                      c->journey ? "journeys" : "trigger campaigns");
        return TL_EINVAL;
    }
    x.run = s.runs + 1, x.sends_before = s.sends, x.cost_before = s.cost;
    snprintf(x.runstr, sizeof x.runstr, "%llu", (unsigned long long)x.run);
    x.ts_for = INT64_MIN;
    res->run = o->dry_run ? 0 : x.run;
    /* is anything due? */
    int64_t last, next;
    occurrences(c, o->at, &last, &next);
    res->next_due = next;
    if (o->at < c->start || o->at >= c->end) {
        res->next_due = o->at < c->start ? c->start : INT64_MIN;
        return 0;
    }
    if (!flows && (last == INT64_MIN || (c->sched != TL_SCHED_NOW && s.last_at != INT64_MIN &&
                                           s.last_at >= last)))
        return 0;
    res->due = 1;
    if ((rc = tl_store_ids(st, TL_D_USER, &x.users, eb))) return rc;
    x.nall = x.users.n;
    x.nusers = o->audience ? o->nusers : x.users.n;
    if (x.nusers > x.users.n) x.nusers = x.users.n;
    if ((rc = load_persons(&x))) return rc;
    x.camp_bit = purpose_bit(&x, c->consent);
    int use[TL_DCH__N];
    channels_used(c, use);
    for (int k = 0; k < TL_DCH__N; k++)
        x.chan_bit[k] = use[k] ? purpose_bit(&x, tl_dchannel_purpose(k)) : -1;
    tl_buf_init(&x.line), tl_buf_init(&x.content);
    uev_t *trig = NULL;
    size_t ntrig = 0;
    if (!(x.cons = malloc((size_t)x.nall + 1)) || !(x.dnc = calloc((size_t)x.nall + 1, 1)))
        rc = TL_ENOMEM;
    if (!rc) rc = tl_store_consents_asof(st, x.purposes, x.npurposes, o->at, x.cons, x.nall, eb);
    if (!rc) rc = tl_store_dnc_scan(st, o->at, dnc_row, &x, eb);
    if (!rc) rc = fold_persons(&x, o->at);
    if (!rc) rc = load_contacts(&x, o->at);
    /* the log's rows this run reads; a campaign no run kept a position
     * for has read them all (decided up to its last run, or the lookback) */
    uint64_t end = tl_store_event_count(st), read = end;
    int64_t today = local_day(o->at, c->tz_min);
    trigpos_t pos = {end, INT64_MIN, today, 0, 0};
    if (!rc && flows && (rc = trig_read(st, c->id, &pos, eb)) > 0)
        read = pos.read, rc = 0;
    if (pos.day == today) x.day_sends = pos.day_sends, x.day_cost = pos.day_cost;
    x.day_frac = (double)(o->at - day_start(today, c->tz_min)) / TL_MS_PER_DAY;
    int64_t late = o->at - (c->trig ? c->trig_lookback : 0);
    if (c->start != INT64_MIN && late < c->start) late = c->start;
    if (!rc && c->trig && !c->journey) {
        int64_t lo = s.last_at != INT64_MIN ? s.last_at : late;
        if (c->start != INT64_MIN && lo < c->start) lo = c->start;
        rc = trigger_users(&x, lo, late, read, end, o->at, &trig, &ntrig);
    }
    tl_dict_t *camps = rc ? NULL : tl_store_dict(st, TL_D_CAMPAIGN, eb);
    uint32_t cidx = camps ? tl_dict_find(camps, c->id, strlen(c->id)) : TL_NONE;
    x.camp_idx = (uint16_t)cidx;
    if (!rc && !o->dry_run) rc = open_outputs(&x);
    if (!rc && c->journey) {
        rc = tl__journey_run(&x, late, end);
    } else if (!rc && c->trig) {
        for (size_t i = 0; !rc && i < ntrig; i++) {
            uint32_t u = trig[i].user;
            if (o->audience && !o->audience[u]) continue;
            int64_t when = trig[i].ts + (c->trig_unless[0] && c->trig_within > c->trig_delay
                                             ? c->trig_within : c->trig_delay);
            /* how long after its decision time the trigger was decided */
            int64_t lag = o->at - trig[i].ts - (c->trig_unless[0] ? c->trig_within : 0);
            res->lag_ms_sum += lag;
            res->lag_hist[tl_lag_bucket(lag)]++;
            rc = tl__decide(&x, u, when > o->at ? when : o->at, NULL);
        }
    } else if (!rc) {
        rc = decide_audience(&x);
    }
    /* a trigger run that decided no one records no run, only its position */
    int idle = flows && o->skip_idle && !res->audience;
    if (!rc && !o->dry_run && idle) {
        res->run = 0;
        pos = (trigpos_t){end, res->next_due, today, x.day_sends, x.day_cost};
        rc = trig_keep(st, c->id, &pos, eb);
        if (!rc) rc = tl_store_commit(st, eb);
    } else if (!rc && !o->dry_run) {
        tl_buf_t j;
        tl_buf_init(&j);
        tl_buf_append(&j, "{", 1);
        for (int d = 0; d < TL_DEC__N; d++)
            tl_buf_printf(&j, "%s\"%s\":%llu", d ? "," : "", tl_decision_name(d),
                          (unsigned long long)res->counts[d]);
        if (tl_buf_append(&j, "}", 2)) rc = TL_ENOMEM;
        uint64_t sent = res->counts[TL_DEC_SENT] + res->counts[TL_DEC_QUEUED] + res->counts[TL_DEC_QUIET];
        tl_campaign_run_row_t row = {x.run, o->at, tl_store_now(st), j.data};
        if (!rc) rc = tl_store_campaign_run_add(st, c->id, &row, sent, res->cost, eb);
        pos = (trigpos_t){end, res->next_due, today, x.day_sends + sent, x.day_cost + res->cost};
        if (!rc && flows) rc = trig_keep(st, c->id, &pos, eb);
        tl_buf_fini(&j);
        if (!rc) rc = tl_store_commit(st, eb);
    }
    free(trig);
    free(x.cons), free(x.dnc), free(x.coff), free(x.contacts), free(x.near), free(x.merged), free(x.camp_tags);
    tl_identity_free(x.ident);
    tl_buf_fini(&x.line), tl_buf_fini(&x.content);
    return rc;
}

int tl_campaign_run(tl_store_t *st, const tl_campaign_t *c, const tl_run_opts_t *o,
                    tl_run_result_t *res, tl_errbuf_t *eb) {
    memset(res, 0, sizeof *res);
    int rc = o->dry_run ? 0 : tl_store_begin(st, eb);
    if (!rc) rc = run_batch(st, c, o, res, eb);
    tl_store_rollback(st); /* a batch left open wrote nothing */
    return rc;
}

const double TL_LAG_BOUNDS[TL_LAG_BUCKETS - 1] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600};

int tl_lag_bucket(int64_t ms) {
    int k = 0;
    while (k < TL_LAG_BUCKETS - 1 && (double)ms > TL_LAG_BOUNDS[k] * 1000) k++;
    return k;
}

int tl_campaign_due(tl_store_t *st, const tl_campaign_t *c, int64_t at, tl_due_t *d,
                    tl_errbuf_t *eb) {
    state_t s = {0};
    int64_t *next = &d->next;
    memset(d, 0, sizeof *d);
    *next = INT64_MIN;
    int rc = tl_store_campaign_get(st, c->id, state_row, &s, eb);
    if (rc <= 0) return rc == 0 ? TL_ENOENT : rc;
    int flows = c->trig || c->journey;
    if (strcmp(s.status, "active") != 0 || (c->sched == TL_SCHED_NOW && !flows) || at >= c->end)
        return 0;
    if (at < c->start) {
        *next = c->start;
        return 0;
    }
    if (flows) {
        trigpos_t pos;
        uint64_t n = tl_store_event_count(st);
        if ((rc = trig_read(st, c->id, &pos, eb)) <= 0) { /* never run */
            d->backlog = n;
            return rc < 0 ? rc : 1;
        }
        *next = pos.next;
        d->backlog = n > pos.read ? n - pos.read : 0;
        return d->backlog || (pos.next != INT64_MIN && pos.next <= at);
    }
    int64_t last;
    occurrences(c, at, &last, next);
    return last != INT64_MIN && (s.last_at == INT64_MIN || s.last_at < last);
}

int tl_campaign_exposures(tl_store_t *st, const char *id, tl_exposure_t **out, uint64_t *n,
                          tl_errbuf_t *eb) {
    char name[200];
    tl_buf_t b;
    tl_buf_init(&b);
    snprintf(name, sizeof name, "exposures/%s", id);
    int rc = tl_store_applog_read(st, name, 0, &b, eb);
    *out = rc ? NULL : (tl_exposure_t *)(void *)b.data;
    *n = rc ? 0 : b.len / sizeof(tl_exposure_t);
    if (rc) tl_buf_fini(&b);
    return rc;
}

cJSON *tl_run_result_json(const tl_campaign_t *c, const tl_run_result_t *r) {
    cJSON *j = cJSON_CreateObject(), *d = cJSON_CreateObject(), *arms = cJSON_CreateObject(),
          *ch = cJSON_CreateObject();
    char ts[32];
    tl_time_format(r->at, ts);
    cJSON_AddStringToObject(j, "campaign", c->id);
    cJSON_AddBoolToObject(j, "due", r->due);
    cJSON_AddBoolToObject(j, "dry_run", r->dry_run);
    if (r->dry_run || (r->due && !r->run)) cJSON_AddNullToObject(j, "run"); /* an idle trigger run */
    else cJSON_AddNumberToObject(j, "run", r->due ? (double)r->run : 0);
    cJSON_AddStringToObject(j, "at", ts);
    if (r->next_due != INT64_MIN) {
        tl_time_format(r->next_due, ts);
        cJSON_AddStringToObject(j, "next_due", ts);
    }
    cJSON_AddNumberToObject(j, "audience", (double)r->audience);
    if (c->journey) {
        const struct tl_journey *jo = c->journey;
        cJSON *o = cJSON_AddObjectToObject(j, "journey"), *bs = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "entered", (double)r->journey_entered);
        cJSON_AddNumberToObject(o, "reached_goal", (double)r->journey_goals);
        cJSON_AddNumberToObject(o, "left", (double)r->journey_left);
        cJSON_AddNumberToObject(o, "on_the_way", (double)r->journey_active);
        for (int k = 0; k < jo->nsteps; k++)
            if (jo->steps[k].kind == TL_JSTEP_SEND)
                cJSON_AddNumberToObject(bs, jo->steps[k].id, (double)r->by_step[k]);
        cJSON_AddItemToObject(o, "decisions_by_step", bs);
    } else if (c->trig) {
        cJSON_AddNumberToObject(j, "trigger_events", (double)r->triggers);
        cJSON_AddNumberToObject(j, "late_trigger_events", (double)r->late_triggers);
    }
    for (int k = 0; k < TL_DEC__N; k++) cJSON_AddNumberToObject(d, tl_decision_name(k), (double)r->counts[k]);
    cJSON_AddItemToObject(j, "decisions", d);
    for (int a = 0; a < c->narms; a++) cJSON_AddNumberToObject(arms, c->arms[a].name, (double)r->by_arm[a]);
    cJSON_AddItemToObject(j, "deliveries_by_arm", arms);
    for (int k = 0; k < c->nchannels; k++)
        cJSON_AddNumberToObject(ch, tl_dchannel_name(c->channels[k]), (double)r->by_channel[c->channels[k]]);
    cJSON_AddItemToObject(j, "deliveries_by_channel", ch);
    cJSON_AddNumberToObject(j, "cost", r->cost);
    return j;
}
