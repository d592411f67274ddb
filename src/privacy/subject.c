/* subject.c -- subject access: everything held about one user, from the
 * users, credit, consents, do-not-contact, feedback and audit tables, the
 * event log, the profiles, the stored segments and the campaigns'
 * exposure logs, as one JSON document. */
#include "privacy.h"
#include "identity/identity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "campaign/campaign.h"
#include "segment/segment.h"

/* ---- table rows --------------------------------------------------------------------- */

/* The fields of a record that are there: empty text, NaN and the numbers
 * that stand for "absent" are left out. */
static void add_text(cJSON *o, const char *key, const char *v) {
    if (v && *v) cJSON_AddStringToObject(o, key, v);
}

static void add_num(cJSON *o, const char *key, double v) {
    if (!isnan(v)) cJSON_AddNumberToObject(o, key, v);
}

static void add_time(cJSON *o, const char *key, int64_t ms) {
    char ts[32];
    if (ms == INT64_MIN) return;
    tl_time_format(ms, ts);
    cJSON_AddStringToObject(o, key, ts);
}

/* -1 stands for absent in a credit record */
static double count_or_nan(int64_t v) { return v >= 0 ? (double)v : NAN; }

static int user_row(uint32_t user, const tl_user_t *u, void *arg) {
    cJSON *o = arg;
    (void)user;
    add_text(o, "gender", u->gender);
    add_num(o, "birth_year", u->birth_year ? (double)u->birth_year : NAN);
    add_text(o, "city", u->city);
    add_text(o, "occupation", u->occupation);
    add_text(o, "education", u->education);
    add_time(o, "registered_at", u->registered_at);
    add_text(o, "channel", u->channel);
    if (u->attrs && *u->attrs) {
        cJSON *v = cJSON_Parse(u->attrs);
        cJSON_AddItemToObject(o, "attributes", v ? v : cJSON_CreateString(u->attrs));
    }
    return 0;
}

static int credit_row(uint32_t user, const tl_credit_t *c, void *arg) {
    cJSON *o = cJSON_CreateObject();
    (void)user;
    add_num(o, "on_time", count_or_nan(c->on_time));
    add_num(o, "late", count_or_nan(c->late));
    add_num(o, "max_overdue_days", count_or_nan(c->max_overdue_days));
    add_num(o, "debt", c->debt);
    add_text(o, "income_band", c->income_band);
    add_num(o, "history_months", count_or_nan(c->history_months));
    add_num(o, "defaulted", c->default_flag >= 0 ? (double)c->default_flag : NAN);
    *(cJSON **)arg = o;
    return 0;
}

/* The consent records, listed by time then purpose. */
typedef struct {
    char *purpose;
    int granted;
    int64_t at;
} consent_t;

typedef struct {
    consent_t *v;
    size_t n, cap;
} consents_t;

static int consent_row(uint32_t user, const char *purpose, int granted, int64_t at, void *arg) {
    consents_t *x = arg;
    (void)user;
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 8;
        consent_t *v = realloc(x->v, nc * sizeof *v);
        if (!v) return TL_ENOMEM;
        x->v = v, x->cap = nc;
    }
    if (!(x->v[x->n].purpose = strdup(purpose ? purpose : ""))) return TL_ENOMEM;
    x->v[x->n].granted = granted, x->v[x->n++].at = at;
    return 0;
}

static int cmp_consent(const void *a, const void *b) {
    const consent_t *x = a, *y = b;
    if (x->at != y->at) return x->at < y->at ? -1 : 1;
    int c = strcmp(x->purpose, y->purpose);
    return c ? c : x->granted - y->granted;
}

int tl_subject_consents(tl_store_t *st, uint32_t user, cJSON *arr, tl_errbuf_t *eb) {
    consents_t x = {0};
    int rc = tl_store_scan_consents(st, user, consent_row, &x, eb);
    if (!rc && x.n) qsort(x.v, x.n, sizeof *x.v, cmp_consent);
    for (size_t i = 0; i < x.n; i++) {
        cJSON *o = cJSON_CreateObject();
        add_text(o, "purpose", x.v[i].purpose);
        cJSON_AddBoolToObject(o, "granted", x.v[i].granted);
        add_time(o, "at", x.v[i].at);
        cJSON_AddItemToArray(arr, o);
        free(x.v[i].purpose);
    }
    free(x.v);
    return rc;
}

static int dnc_row(const tl_dnc_row_t *d, void *arg) {
    cJSON *o = cJSON_CreateObject();
    add_text(o, "channel", d->channel);
    add_text(o, "reason", d->reason);
    add_time(o, "at", d->at);
    add_text(o, "campaign", d->campaign);
    cJSON_AddItemToArray(arg, o);
    return 0;
}

typedef struct {
    cJSON *arr;
    const tl_dict_t *items;
} fbctx_t;

static int feedback_row(const tl_feedback_row_t *f, void *arg) {
    fbctx_t *x = arg;
    cJSON *o = cJSON_CreateObject();
    add_text(o, "kind", f->kind);
    add_text(o, "campaign", f->campaign);
    add_text(o, "channel", f->channel);
    if (x->items && f->item < tl_dict_count(x->items))
        cJSON_AddStringToObject(o, "item", tl_dict_str(x->items, f->item, NULL));
    add_num(o, "score", f->score);
    add_time(o, "at", f->at);
    cJSON_AddItemToArray(x->arr, o);
    return 0;
}

static int audit_row(const tl_audit_entry_t *e, void *arg) {
    cJSON *o = cJSON_CreateObject();
    add_time(o, "at", e->at);
    add_text(o, "who", e->who);
    add_text(o, "what", e->what);
    cJSON_AddItemToArray(arg, o);
    return 0;
}

/* ---- events -------------------------------------------------------------------------- */

typedef struct {
    const uint32_t *users;  /* the identifiers whose events are gathered */
    int nusers;
    cJSON *arr;
    tl_dict_t *d[TL_D__N];
} evctx_t;

static int wanted(const evctx_t *x, uint32_t u) {
    for (int k = 0; k < x->nusers; k++)
        if (x->users[k] == u) return 1;
    return 0;
}

static void add_dict(cJSON *o, const char *key, const tl_dict_t *d, uint32_t v) {
    const char *s = v != TL_NONE && d && v < tl_dict_count(d) ? tl_dict_str(d, v, NULL) : NULL;
    if (s) cJSON_AddStringToObject(o, key, s);
}

static int event_block(const tl_evblock_t *b, void *arg) {
    evctx_t *x = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        if (!wanted(x, b->user[i])) continue;
        cJSON *o = cJSON_CreateObject();
        if (x->nusers > 1) add_dict(o, "user", x->d[TL_D_USER], b->user[i]);
        char ts[32];
        tl_time_format(b->ts[i], ts);
        cJSON_AddStringToObject(o, "ts", ts);
        add_dict(o, "type", x->d[TL_D_TYPE], b->type[i]);
        add_dict(o, "item", x->d[TL_D_ITEM], b->item[i]);
        if (b->channel[i] != TL_NO_CHANNEL) add_dict(o, "channel", x->d[TL_D_CHANNEL], b->channel[i]);
        if (b->qty[i] != 1) cJSON_AddNumberToObject(o, "qty", b->qty[i]);
        if (!isnan(b->amount[i])) cJSON_AddNumberToObject(o, "amount", b->amount[i]);
        if (!isnan(b->rating[i])) cJSON_AddNumberToObject(o, "rating", b->rating[i]);
        if (!isnan(b->lat[i])) cJSON_AddNumberToObject(o, "lat", b->lat[i]);
        if (!isnan(b->lon[i])) cJSON_AddNumberToObject(o, "lon", b->lon[i]);
        add_dict(o, "city", x->d[TL_D_CITY], b->city[i]);
        add_dict(o, "query", x->d[TL_D_QUERY], b->query[i]);
        add_dict(o, "campaign", x->d[TL_D_CAMPAIGN], b->campaign[i]);
        cJSON_AddItemToArray(x->arr, o);
    }
    return 0;
}

static int newest_first(const void *a, const void *b) {
    const char *x = cJSON_GetObjectItem(*(cJSON *const *)a, "ts")->valuestring;
    const char *y = cJSON_GetObjectItem(*(cJSON *const *)b, "ts")->valuestring;
    return strcmp(y, x); /* the same format throughout (UTC, ms): the text orders as the time */
}

int tl_subject_events(tl_store_t *st, const uint32_t *users, int nusers, int limit, cJSON **out,
                      tl_errbuf_t *eb) {
    *out = NULL;
    evctx_t ev = {users, nusers, cJSON_CreateArray(), {0}};
    int rc = ev.arr ? 0 : TL_ENOMEM;
    for (int k = 0; !rc && k < TL_D__N; k++)
        if (!(ev.d[k] = tl_store_dict(st, (tl_dkind_t)k, eb))) rc = TL_ENOMEM;
    if (!rc) rc = tl_store_scan_events(st, event_block, &ev, eb);
    int n = rc ? 0 : cJSON_GetArraySize(ev.arr);
    cJSON **all = n ? malloc((size_t)n * sizeof *all) : NULL;
    if (n && !all) rc = TL_ENOMEM;
    if (rc) {
        cJSON_Delete(ev.arr);
        return rc;
    }
    for (int k = n - 1; k >= 0; k--) all[k] = cJSON_DetachItemFromArray(ev.arr, k);
    qsort(all, (size_t)n, sizeof *all, newest_first);
    for (int k = 0; k < n; k++)
        if (k < limit) cJSON_AddItemToArray(ev.arr, all[k]);
        else cJSON_Delete(all[k]);
    free(all);
    *out = ev.arr;
    return 0;
}

/* ---- segments and campaigns ------------------------------------------------------------ */

typedef struct {
    tl_segtable_t *t;
    const tl_profiles_t *p;
    uint32_t user;
    uint8_t *mask;
    cJSON *arr;
} segctx_t;

static int segment_row(const char *name, const char *expr, int64_t created, void *arg) {
    segctx_t *x = arg;
    (void)created;
    uint32_t size;
    tl_expr_err_t err;
    /* a definition that no longer compiles holds nobody */
    if (tl_segment_eval(x->t, expr, x->mask, &size, &err) == 0 && x->mask[x->user])
        cJSON_AddItemToArray(x->arr, cJSON_CreateString(name));
    return 0;
}

int tl_subject_segments(tl_store_t *st, const tl_profiles_t *p, uint32_t user, cJSON *arr, tl_errbuf_t *eb) {
    if (user >= tl_profile_nusers(p)) return 0;
    segctx_t sx = {NULL, p, user, malloc(tl_profile_nusers(p)), arr};
    int rc = sx.mask ? tl_segtable_new(p, st, &sx.t) : TL_ENOMEM;
    if (!rc) rc = tl_store_segment_list(st, segment_row, &sx, eb);
    tl_segtable_free(sx.t);
    free(sx.mask);
    return rc;
}

typedef struct {
    tl_store_t *st;
    uint32_t user;
    cJSON *arr;
    int rc;
    tl_errbuf_t *eb;
} campctx_t;

static int campaign_row(const tl_campaign_info_t *ci, void *arg) {
    campctx_t *x = arg;
    tl_exposure_t *e = NULL;
    uint64_t n = 0;
    tl_campaign_t c;
    int have = tl_campaign_get(x->st, ci->id, &c, x->eb) == 0;
    if ((x->rc = tl_campaign_exposures(x->st, ci->id, &e, &n, x->eb))) {
        if (have) tl_campaign_fini(&c);
        return x->rc;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (e[i].user != x->user) continue;
        cJSON *o = cJSON_CreateObject();
        char ts[32];
        tl_time_format(e[i].at, ts);
        cJSON_AddStringToObject(o, "campaign", ci->id);
        cJSON_AddNumberToObject(o, "run", e[i].run);
        cJSON_AddStringToObject(o, "decision", tl_decision_name(e[i].decision));
        int arm = e[i].arm_chan >> 4, ch = e[i].arm_chan & 0xF;
        if (have && arm < c.narms) cJSON_AddStringToObject(o, "arm", c.arms[arm].name);
        if (ch < TL_DCH__N) cJSON_AddStringToObject(o, "channel", tl_dchannel_name(ch));
        if (e[i].decision == TL_EXPO_ENTERED) cJSON_AddBoolToObject(o, "holdout", ch == TL_EXPO_HELD);
        cJSON_AddStringToObject(o, "at", ts);
        cJSON_AddItemToArray(x->arr, o);
    }
    free(e);
    if (have) tl_campaign_fini(&c);
    return 0;
}

/* ---- the export ------------------------------------------------------------------------ */

/* Everything held about user (whose id is id) as JSON. */
static int gather(tl_store_t *st, const tl_profiles_t *p, uint32_t user, const char *id, cJSON **out,
                  tl_errbuf_t *eb) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "user", id);
    /* personal fields, in clear */
    tl_buf_t pii;
    tl_buf_init(&pii);
    int rc = tl_store_user_pii(st, user, &pii, eb);
    cJSON *per = cJSON_AddObjectToObject(j, "personal");
    static const char *const PII[] = {"name", "phone", "email", "id_number"};
    const char *f = pii.data;
    for (int i = 0; !rc && f && i < 4; i++) {
        if (*f) cJSON_AddStringToObject(per, PII[i], f);
        f += strlen(f) + 1;
    }
    if (pii.data) sodium_memzero(pii.data, pii.cap);
    tl_buf_fini(&pii);

    cJSON *attrs = cJSON_AddObjectToObject(j, "attributes");
    if (!rc && (rc = tl_store_get_user(st, user, user_row, attrs, eb)) == TL_ENOENT) rc = 0;
    cJSON *credit = NULL;
    if (!rc) rc = tl_store_scan_credit(st, user, credit_row, &credit, eb);
    cJSON_AddItemToObject(j, "credit", credit ? credit : cJSON_CreateNull());
    if (!rc) rc = tl_subject_consents(st, user, cJSON_AddArrayToObject(j, "consents"), eb);
    if (!rc) rc = tl_store_dnc_of_user(st, user, dnc_row, cJSON_AddArrayToObject(j, "do_not_contact"), eb);
    fbctx_t fb = {cJSON_AddArrayToObject(j, "feedback"), tl_store_dict(st, TL_D_ITEM, eb)};
    if (!rc) rc = tl_store_feedback_of_user(st, user, feedback_row, &fb, eb);

    /* every event, in log order */
    evctx_t ev = {&user, 1, cJSON_AddArrayToObject(j, "events"), {0}};
    for (int k = 0; !rc && k < TL_D__N; k++)
        if (!(ev.d[k] = tl_store_dict(st, (tl_dkind_t)k, eb))) rc = TL_ENOMEM;
    if (!rc) rc = tl_store_scan_events(st, event_block, &ev, eb);

    /* the profile and the segments it puts the user in */
    tl_profiles_t *own = NULL;
    if (!rc && !p) {
        if (tl_profile_load(st, &own, eb) == 0) p = own;
        else eb->msg[0] = 0; /* none built: no profile */
    }
    cJSON_AddItemToObject(j, "profile", p ? tl_profile_user_json(p, user) : cJSON_CreateNull());
    cJSON *segs = cJSON_AddArrayToObject(j, "segments");
    if (!rc && p) rc = tl_subject_segments(st, p, user, segs, eb);
    tl_profile_free(own);

    campctx_t cx = {st, user, cJSON_AddArrayToObject(j, "campaign_decisions"), 0, eb};
    if (!rc) rc = tl_campaign_list(st, NULL, campaign_row, &cx, eb);
    if (!rc) rc = cx.rc;
    cJSON *reads = cJSON_AddArrayToObject(j, "reads_of_this_data");
    char ps[33];
    if (!rc) rc = tl_store_pseudonym(st, id, strlen(id), ps, eb);
    if (!rc) rc = tl_store_audit_scan(st, ps, audit_row, reads, eb);
    if (rc) cJSON_Delete(j);
    else *out = j;
    return rc;
}

/* gather() of identifier u, named as the store keeps it (a personal one
 * by its pseudonym). */
static int gather_key(tl_store_t *st, const tl_profiles_t *p, uint32_t u, cJSON **out,
                      tl_errbuf_t *eb) {
    tl_ids_t ids;
    size_t len = 0;
    int rc = tl_store_ids(st, TL_D_USER, &ids, eb);
    const char *k = rc ? NULL : tl_ids_str(&ids, u, &len);
    char *key = k ? strndup(k, len) : NULL;
    if (!rc && !key) rc = TL_ENOMEM;
    if (!rc) rc = gather(st, p, u, key, out, eb);
    free(key);
    return rc;
}

/* The person's other identifiers (the list of tl_identity_person_list
 * after u), each with what is held under it, in arr. */
static int gather_linked(tl_store_t *st, const tl_profiles_t *p, uint32_t u, cJSON *arr,
                         tl_errbuf_t *eb) {
    uint32_t *m = NULL, n = 0;
    int rc = tl_identity_person_list(st, u, &m, &n, eb);
    for (uint32_t i = 1; !rc && i < n; i++) {
        cJSON *doc = NULL;
        rc = gather_key(st, p, m[i], &doc, eb);
        if (!rc) cJSON_AddItemToArray(arr, doc);
    }
    free(m);
    return rc;
}

int tl_subject_export(tl_store_t *st, const tl_profiles_t *p, const char *id, const char *who,
                      cJSON **out, tl_errbuf_t *eb) {
    *out = NULL;
    uint32_t user = TL_NONE;
    cJSON *j = NULL;
    int rc = tl_identity_find(st, NULL, id, &user, eb);
    if (!rc) rc = gather_key(st, p, user, &j, eb);
    if (!rc) rc = gather_linked(st, p, user, cJSON_AddArrayToObject(j, "linked_identifiers"), eb);
    /* the read recorded under the identifier as the store keeps it */
    const char *key = rc ? NULL : cJSON_GetStringValue(cJSON_GetObjectItem(j, "user"));
    if (!rc) rc = tl_audit_add(st, who, "export data", key, eb);
    if (rc) cJSON_Delete(j);
    else *out = j;
    return rc;
}
