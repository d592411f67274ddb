/* subject.c -- subject access: everything held about one user, from the
 * users, credit, consents, do-not-contact, feedback and audit tables, the
 * event log, the profiles, the stored segments and the campaigns'
 * exposure logs, as one JSON document. */
#include "privacy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "campaign/campaign.h"
#include "segment/segment.h"

/* ---- table rows --------------------------------------------------------------------- */

/* Rows of a query as objects: names[k] is column k's key, kinds[k] how to
 * read it: t text, n number, b yes/no, j JSON text, T time in ms, I an
 * item index. */
typedef struct {
    cJSON *arr;
    const char *const *names;
    const char *kinds;
    const tl_dict_t *items;
} rows_t;

static int row_json(int n, const char *const *c, void *arg) {
    rows_t *x = arg;
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < n && x->kinds[k]; k++) {
        if (!c[k] || !*c[k]) continue;
        char ts[32];
        switch (x->kinds[k]) {
        case 'n': cJSON_AddNumberToObject(o, x->names[k], strtod(c[k], NULL)); break;
        case 'b': cJSON_AddBoolToObject(o, x->names[k], atoi(c[k]) != 0); break;
        case 'j': {
            cJSON *v = cJSON_Parse(c[k]);
            cJSON_AddItemToObject(o, x->names[k], v ? v : cJSON_CreateString(c[k]));
            break;
        }
        case 'T':
            tl_time_format(strtoll(c[k], NULL, 10), ts);
            cJSON_AddStringToObject(o, x->names[k], ts);
            break;
        case 'I': {
            uint32_t it = (uint32_t)strtoul(c[k], NULL, 10);
            const char *id = x->items && it < tl_dict_count(x->items) ? tl_dict_str(x->items, it, NULL) : NULL;
            if (id) cJSON_AddStringToObject(o, x->names[k], id);
            break;
        }
        default: cJSON_AddStringToObject(o, x->names[k], c[k]);
        }
    }
    cJSON_AddItemToArray(x->arr, o);
    return 0;
}

static int rows(tl_store_t *st, cJSON *arr, const char *sql, const char *const *names, const char *kinds,
                uint32_t user, tl_errbuf_t *eb) {
    rows_t x = {arr, names, kinds, tl_store_dict(st, TL_D_ITEM, eb)};
    return tl_store_queryf(st, eb, row_json, &x, sql, "i", (int64_t)user);
}

/* ---- events -------------------------------------------------------------------------- */

typedef struct {
    uint32_t user;
    cJSON *arr;
    tl_dict_t *d[TL_D__N];
} evctx_t;

static void add_dict(cJSON *o, const char *key, const tl_dict_t *d, uint32_t v) {
    const char *s = v != TL_NONE && d && v < tl_dict_count(d) ? tl_dict_str(d, v, NULL) : NULL;
    if (s) cJSON_AddStringToObject(o, key, s);
}

static int event_block(const tl_evblock_t *b, void *arg) {
    evctx_t *x = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->user[i] != x->user) continue;
        cJSON *o = cJSON_CreateObject();
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
        cJSON_AddStringToObject(o, "at", ts);
        cJSON_AddItemToArray(x->arr, o);
    }
    free(e);
    if (have) tl_campaign_fini(&c);
    return 0;
}

/* ---- the export ------------------------------------------------------------------------ */

int tl_subject_export(tl_store_t *st, const tl_profiles_t *p, uint32_t user, cJSON **out,
                      tl_errbuf_t *eb) {
    *out = NULL;
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, eb);
    const char *id = users && user < tl_dict_count(users) ? tl_dict_str(users, user, NULL) : NULL;
    if (!id) {
        tl_errbuf_set(eb, "no user with index %u", user);
        return TL_ENOENT;
    }
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

    static const char *const UCOLS[] = {"gender", "birth_year", "city", "occupation", "education",
                                        "registered_at", "channel", "attributes"};
    cJSON *tmp = cJSON_CreateArray();
    if (!rc) rc = rows(st, tmp, "SELECT gender, birth_year, city, occupation, education, registered_at, "
                                "channel, attrs FROM users WHERE idx = ?1", UCOLS, "tntttTtj", user, eb);
    cJSON *first = cJSON_DetachItemFromArray(tmp, 0);
    cJSON_AddItemToObject(j, "attributes", first ? first : cJSON_CreateObject());
    cJSON_Delete(tmp);

    static const char *const CCOLS[] = {"on_time", "late", "max_overdue_days", "debt", "income_band",
                                        "history_months", "defaulted"};
    tmp = cJSON_CreateArray();
    if (!rc) rc = rows(st, tmp, "SELECT on_time, late, max_overdue_days, debt, income_band, history_months, "
                                "default_flag FROM credit WHERE user = ?1", CCOLS, "nnnntnn", user, eb);
    first = cJSON_DetachItemFromArray(tmp, 0);
    cJSON_AddItemToObject(j, "credit", first ? first : cJSON_CreateNull());
    cJSON_Delete(tmp);

    static const char *const KCOLS[] = {"purpose", "granted", "at"};
    static const char *const DCOLS[] = {"channel", "reason", "at", "campaign"};
    static const char *const FCOLS[] = {"kind", "campaign", "channel", "item", "score", "at"};
    static const char *const ACOLS[] = {"at", "who", "what"};
    if (!rc) rc = rows(st, cJSON_AddArrayToObject(j, "consents"), "SELECT purpose, granted, at FROM consents "
                       "WHERE user = ?1 ORDER BY at, purpose", KCOLS, "tbT", user, eb);
    if (!rc) rc = rows(st, cJSON_AddArrayToObject(j, "do_not_contact"), "SELECT channel, reason, at, campaign "
                       "FROM dnc WHERE user = ?1 ORDER BY at", DCOLS, "ttTt", user, eb);
    if (!rc) rc = rows(st, cJSON_AddArrayToObject(j, "feedback"), "SELECT kind, campaign, channel, item, score, at "
                       "FROM feedback WHERE user = ?1 ORDER BY at, id", FCOLS, "tttInT", user, eb);

    /* every event, in log order */
    evctx_t ev = {user, cJSON_AddArrayToObject(j, "events"), {0}};
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
    segctx_t sx = {NULL, p, user, NULL, cJSON_AddArrayToObject(j, "segments")};
    if (!rc && p && user < tl_profile_nusers(p)) {
        sx.mask = malloc(tl_profile_nusers(p));
        rc = sx.mask ? tl_segtable_new(p, st, &sx.t) : TL_ENOMEM;
        if (!rc) rc = tl_store_segment_list(st, segment_row, &sx, eb);
        tl_segtable_free(sx.t);
        free(sx.mask);
    }
    tl_profile_free(own);

    campctx_t cx = {st, user, cJSON_AddArrayToObject(j, "campaign_decisions"), 0, eb};
    if (!rc) rc = tl_campaign_list(st, NULL, campaign_row, &cx, eb);
    if (!rc) rc = cx.rc;
    tmp = cJSON_AddArrayToObject(j, "reads_of_this_data");
    char ps[33];
    if (!rc) rc = tl_store_pseudonym(st, id, strlen(id), ps, eb);
    if (!rc) {
        rows_t x = {tmp, ACOLS, "Ttt", NULL};
        rc = tl_store_queryf(st, eb, row_json, &x, "SELECT at, who, what FROM audit WHERE target = ?1 ORDER BY id",
                             "t", ps);
    }
    if (rc) cJSON_Delete(j);
    else *out = j;
    return rc;
}
