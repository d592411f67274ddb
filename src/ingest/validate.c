/* validate.c -- the canonical fields of each kind and the rules a record
 * must pass before it is stored.
 *
 * Validation is pure: it reads the canonical values of one record and the
 * dictionaries (event types, channels, known users) and produces a typed
 * record or a reason code with a message naming the field and the value. It
 * never writes, so a row whose second record fails leaves no trace of its
 * first. The rules are listed in docs/FORMATS.md; the first rule broken
 * gives the reason: missing required fields, then field by field in schema
 * order, then rules across fields. */
#include "ingest_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const tl_kindspec_t tl__kinds[TL_KIND__N] = {
    [TL_KIND_USERS] = {"users", 13,
                       {{"user", FT_ID, 128}, {"gender", FT_TEXT, 16},
                        {"birth_year", FT_INT, 8}, {"city", FT_TEXT, 64},
                        {"occupation", FT_TEXT, 64}, {"education", FT_TEXT, 64},
                        {"registered_at", FT_TIME, 40}, {"channel", FT_TEXT, 32},
                        {"name", FT_TEXT, 128}, {"phone", FT_TEXT, 32},
                        {"email", FT_TEXT, 128}, {"id_number", FT_TEXT, 64},
                        {"attrs", FT_JSON, 8192}}},
    [TL_KIND_ITEMS] = {"items", 6,
                       {{"item", FT_ID, 128}, {"title", FT_TEXT, 256},
                        {"category", FT_TEXT, 256}, {"brand", FT_TEXT, 64},
                        {"price", FT_NUM, 32}, {"attrs", FT_JSON, 8192}}},
    [TL_KIND_PRODUCTS] = {"products", 9,
                          {{"product", FT_ID, 128}, {"kind", FT_TEXT, 32},
                           {"name", FT_TEXT, 128}, {"term_months", FT_INT, 8},
                           {"apr", FT_NUM, 32}, {"amount_min", FT_NUM, 32},
                           {"amount_max", FT_NUM, 32}, {"eligibility", FT_TEXT, 1024},
                           {"disclosure", FT_TEXT, 1024}}},
    [TL_KIND_CREDIT] = {"credit", 8,
                        {{"user", FT_ID, 128}, {"on_time", FT_INT, 12},
                         {"late", FT_INT, 12}, {"max_overdue_days", FT_INT, 12},
                         {"debt", FT_NUM, 32}, {"income_band", FT_TEXT, 32},
                         {"history_months", FT_INT, 12}, {"default", FT_TEXT, 8}}},
    [TL_KIND_CONSENTS] = {"consents", 4,
                          {{"user", FT_ID, 128}, {"purpose", FT_TEXT, 64},
                           {"status", FT_TEXT, 16}, {"at", FT_TIME, 40}}},
    [TL_KIND_EVENTS] = {"events", 16,
                        {{"event_id", FT_ID, 128}, {"user", FT_ID, 128},
                         {"item", FT_ID, 128}, {"type", FT_TEXT, 32},
                         {"ts", FT_TIME, 40}, {"channel", FT_TEXT, 32},
                         {"amount", FT_NUM, 32}, {"qty", FT_INT, 12},
                         {"query", FT_TEXT, 256}, {"rating", FT_NUM, 32},
                         {"city", FT_TEXT, 64}, {"lat", FT_NUM, 32},
                         {"lon", FT_NUM, 32}, {"session", FT_ID, 128},
                         {"campaign", FT_ID, 128}, {"alias", FT_ID, 128}}},
};

/* Field indexes used below, in schema order. */
enum { U_ID, U_GENDER, U_BIRTH, U_CITY, U_OCC, U_EDU, U_REG, U_CHAN, U_NAME, U_PHONE, U_EMAIL,
       U_IDNUM, U_ATTRS };
enum { I_ID, I_TITLE, I_CAT, I_BRAND, I_PRICE, I_ATTRS };
enum { P_ID, P_KIND, P_NAME, P_TERM, P_APR, P_AMIN, P_AMAX, P_ELIG, P_DISC };
enum { C_ID, C_ONTIME, C_LATE, C_OVERDUE, C_DEBT, C_INCOME, C_HIST, C_DEFAULT };
enum { S_ID, S_PURPOSE, S_STATUS, S_AT };
enum { E_ID, E_USER, E_ITEM, E_TYPE, E_TS, E_CHAN, E_AMOUNT, E_QTY, E_QUERY, E_RATING, E_CITY,
       E_LAT, E_LON, E_SESSION, E_CAMPAIGN, E_ALIAS };

tl_kind_t tl_kind_parse(const char *name) {
    for (int k = 0; k < TL_KIND__N; k++)
        if (strcmp(name, tl__kinds[k].name) == 0) return (tl_kind_t)k;
    /* Singular forms are accepted too. */
    static const char *const sing[TL_KIND__N] = {"user", "item", "product", "credit", "consent",
                                                 "event"};
    for (int k = 0; k < TL_KIND__N; k++)
        if (strcmp(name, sing[k]) == 0) return (tl_kind_t)k;
    return TL_KIND__N;
}

const char *tl_reason_name(tl_reason_t r) {
    static const char *const names[] = {
#define XX(c, s) s,
        TL_REASONS(XX)
#undef XX
    };
    return r >= 0 && r < TL_R__N ? names[r] : "unknown";
}

int tl__field_index(tl_kind_t kind, const char *name, size_t n) {
    const tl_kindspec_t *ks = &tl__kinds[kind];
    for (int i = 0; i < ks->nfields; i++)
        if (strlen(ks->fields[i].name) == n && memcmp(ks->fields[i].name, name, n) == 0) return i;
    return -1;
}

char *tl__arena_dup(tl_arena_t *a, const char *p, size_t n) {
    if (a->len + n + 1 > a->cap) return NULL;
    char *o = a->mem + a->len;
    memcpy(o, p, n);
    o[n] = 0;
    a->len += n + 1;
    return o;
}

/* ---- helpers ------------------------------------------------------------- */

typedef struct {
    tl_vctx_t *vc;
    const tl_canon_t *c;
    char *msg;
    size_t msglen;
} vstate_t;

static int fail(vstate_t *s, tl_reason_t r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(vstate_t *s, tl_reason_t r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, s->msglen, fmt, ap);
    va_end(ap);
    return (int)r + 1;
}

/* A printable, shortened copy of a value for messages. */
static const char *show(const tl_slice_t *v, char *out, size_t cap) {
    size_t n = v->n < cap - 4 ? v->n : cap - 4, j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v->p[i];
        out[j++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (n < v->n) out[j++] = '.', out[j++] = '.', out[j++] = '.';
    out[j] = 0;
    return out;
}

#define FNAME(i) (tl__kinds[s->c->kind].fields[i].name)

static int has(const vstate_t *s, int i) { return s->c->v[i].p != NULL; }

static const char *str(vstate_t *s, int i) {
    if (!has(s, i)) return NULL;
    return tl__arena_dup(s->vc->arena, s->c->v[i].p, s->c->v[i].n);
}

/* Per-field checks shared by all kinds. parsed[] gets numbers and times. */
static int check_fields(vstate_t *s, int64_t *ival, double *dval) {
    const tl_kindspec_t *ks = &tl__kinds[s->c->kind];
    char b[80];
    for (int i = 0; i < ks->nfields; i++) {
        const tl_slice_t *v = &s->c->v[i];
        const tl_field_t *f = &ks->fields[i];
        if (!v->p) continue;
        if (v->n > f->maxlen)
            return fail(s, TL_R_TOO_LONG, "field %s is %zu bytes long, the limit is %u", f->name,
                        v->n, f->maxlen);
        if (!s->c->clean) {
            if (memchr(v->p, 0, v->n))
                return fail(s, TL_R_BAD_UTF8, "field %s holds a NUL byte", f->name);
            if (!tl_utf8_valid(v->p, v->n))
                return fail(s, TL_R_BAD_UTF8, "field %s is not valid UTF-8 (convert the file, or "
                            "use --encoding latin1)", f->name);
        }
        int rc;
        switch (f->type) {
        case FT_ID:
            for (size_t k = 0; !s->c->clean && k < v->n; k++)
                if ((unsigned char)v->p[k] < 0x20 || v->p[k] == 0x7f)
                    return fail(s, TL_R_BAD_ID, "field %s has a control character at byte %zu",
                                f->name, k + 1);
            break;
        case FT_INT:
            rc = tl_parse_i64(v->p, v->n, &ival[i]);
            if (rc)
                return fail(s, TL_R_BAD_NUMBER, "field %s: \"%s\" is not an integer", f->name,
                            show(v, b, sizeof b));
            break;
        case FT_NUM:
            if (tl_parse_f64(v->p, v->n, &dval[i]))
                return fail(s, TL_R_BAD_NUMBER, "field %s: \"%s\" is not a number", f->name,
                            show(v, b, sizeof b));
            break;
        case FT_TIME:
            if (tl_time_parse(v->p, v->n, &ival[i]))
                return fail(s, TL_R_BAD_TIME, "field %s: \"%s\" is not a time (use ISO-8601 such "
                            "as 2024-05-01T08:30:00Z, or Unix seconds)", f->name,
                            show(v, b, sizeof b));
            if (ival[i] < INT64_C(631152000000))
                return fail(s, TL_R_TIME_TOO_OLD, "field %s: %s is before 1990-01-01", f->name,
                            show(v, b, sizeof b));
            if (ival[i] > s->vc->now_ms + TL_MS_PER_DAY)
                return fail(s, TL_R_TIME_FUTURE, "field %s: %s is more than a day in the future",
                            f->name, show(v, b, sizeof b));
            break;
        case FT_JSON: {
            int prc;
            cJSON *j = tl__json_parse(v->p, v->n, NULL, &prc);
            int ok = j && cJSON_IsObject(j);
            const char *dup = ok && !prc ? tl_import_dup_key(j, &prc) : NULL;
            char key[65];
            if (dup) snprintf(key, sizeof key, "%s", dup); /* dup lives in j */
            cJSON_Delete(j);
            if (prc) return prc;
            if (dup)
                return fail(s, TL_R_DUPLICATE_KEY, "field %s: the key \"%s\" appears twice in "
                            "one object", f->name, key);
            if (!ok)
                return fail(s, TL_R_BAD_VALUE, "field %s must be a JSON object", f->name);
            break;
        }
        default: break;
        }
    }
    return 0;
}

static int require(vstate_t *s, int i) {
    if (has(s, i)) return 0;
    return fail(s, TL_R_MISSING_FIELD, "required field %s is missing or empty", FNAME(i));
}

static int ci_eq(const tl_slice_t *v, const char *w) {
    size_t n = strlen(w);
    if (v->n != n) return 0;
    for (size_t i = 0; i < n; i++)
        if ((v->p[i] | 0x20) != w[i]) return 0;
    return 1;
}

static int is_name(const tl_slice_t *v) {
    if (v->n == 0) return 0;
    for (size_t i = 0; i < v->n; i++) {
        char c = v->p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return 1;
}

static int range(vstate_t *s, int i, double v, double lo, double hi) {
    if (v >= lo && v <= hi) return 0;
    return fail(s, TL_R_OUT_OF_RANGE, "field %s: %g is outside %g..%g", FNAME(i), v, lo, hi);
}

static int nonneg_amount(vstate_t *s, int i, double v) {
    if (v >= 0) return 0;
    return fail(s, TL_R_NEGATIVE_AMOUNT, "field %s: %g is negative", FNAME(i), v);
}

/* ---- per kind ------------------------------------------------------------ */

static int v_user(vstate_t *s, const int64_t *iv, tl_rec_t *o) {
    int rc;
    tl_user_t *u = &o->u;
    memset(u, 0, sizeof *u);
    u->registered_at = INT64_MIN;
    if (has(s, U_GENDER)) {
        const tl_slice_t *g = &s->c->v[U_GENDER];
        if (ci_eq(g, "f") || ci_eq(g, "female")) u->gender = "f";
        else if (ci_eq(g, "m") || ci_eq(g, "male")) u->gender = "m";
        else if (ci_eq(g, "o") || ci_eq(g, "other")) u->gender = "o";
        else {
            char b[40];
            return fail(s, TL_R_BAD_VALUE, "field gender: \"%s\" is not f, m or o",
                        show(g, b, sizeof b));
        }
    }
    if (has(s, U_BIRTH)) {
        int64_t y = iv[U_BIRTH];
        char now[32];
        tl_time_format(s->vc->now_ms, now);
        int this_year = atoi(now);
        if ((rc = range(s, U_BIRTH, (double)y, 1900, this_year))) return rc;
        u->birth_year = (int32_t)y;
    }
    if (has(s, U_REG)) u->registered_at = iv[U_REG];
    if (has(s, U_CHAN)) {
        const tl_slice_t *ch = &s->c->v[U_CHAN];
        if (tl_dict_find(s->vc->channels, ch->p, ch->n) == TL_NONE) {
            char b[40];
            return fail(s, TL_R_UNKNOWN_CHANNEL, "field channel: \"%s\" is not a registered "
                        "channel (add it with --extra-channels)", show(ch, b, sizeof b));
        }
    }
    if (has(s, U_EMAIL)) {
        const tl_slice_t *e = &s->c->v[U_EMAIL];
        const char *at = memchr(e->p, '@', e->n);
        if (!at || at == e->p || at == e->p + e->n - 1 ||
            memchr(at + 1, '@', (size_t)(e->p + e->n - at - 1)))
            return fail(s, TL_R_BAD_VALUE, "field email: not an e-mail address (needs one @ "
                        "between a name and a domain)");
    }
    u->city = str(s, U_CITY);
    u->occupation = str(s, U_OCC);
    u->education = str(s, U_EDU);
    u->channel = str(s, U_CHAN);
    u->attrs = str(s, U_ATTRS);
    u->name = str(s, U_NAME);
    u->phone = str(s, U_PHONE);
    u->email = str(s, U_EMAIL);
    u->id_number = str(s, U_IDNUM);
    return 0;
}

static int v_item(vstate_t *s, const double *dv, tl_rec_t *o) {
    tl_item_t *it = &o->it;
    it->price = NAN;
    if (has(s, I_PRICE)) {
        if (dv[I_PRICE] < 0)
            return fail(s, TL_R_NEGATIVE_PRICE, "field price: %g is negative", dv[I_PRICE]);
        it->price = dv[I_PRICE];
    }
    it->title = str(s, I_TITLE);
    it->category = str(s, I_CAT);
    it->brand = str(s, I_BRAND);
    it->attrs = str(s, I_ATTRS);
    return 0;
}

static int v_product(vstate_t *s, const int64_t *iv, const double *dv, tl_rec_t *o) {
    static const char *const kinds[] = {"instalment", "credit_line", "credit_card", "insurance",
                                        "wealth"};
    tl_product_t *p = &o->p;
    int rc;
    if ((rc = require(s, P_KIND))) return rc;
    const tl_slice_t *k = &s->c->v[P_KIND];
    p->kind = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (k->n == strlen(kinds[i]) && memcmp(k->p, kinds[i], k->n) == 0) p->kind = kinds[i];
    if (!p->kind) {
        char b[40];
        return fail(s, TL_R_BAD_VALUE, "field kind: \"%s\" is not one of instalment, "
                    "credit_line, credit_card, insurance, wealth", show(k, b, sizeof b));
    }
    p->term_months = -1;
    p->apr = p->amount_min = p->amount_max = NAN;
    if (has(s, P_TERM)) {
        if ((rc = range(s, P_TERM, (double)iv[P_TERM], 0, 600))) return rc;
        p->term_months = (int32_t)iv[P_TERM];
    }
    if (has(s, P_APR)) {
        if ((rc = range(s, P_APR, dv[P_APR], 0, 1))) return rc;
        p->apr = dv[P_APR];
    }
    if (has(s, P_AMIN)) {
        if ((rc = nonneg_amount(s, P_AMIN, dv[P_AMIN]))) return rc;
        p->amount_min = dv[P_AMIN];
    }
    if (has(s, P_AMAX)) {
        if ((rc = nonneg_amount(s, P_AMAX, dv[P_AMAX]))) return rc;
        p->amount_max = dv[P_AMAX];
    }
    if (!isnan(p->amount_min) && !isnan(p->amount_max) && p->amount_min > p->amount_max)
        return fail(s, TL_R_INCONSISTENT, "amount_min %g is above amount_max %g", p->amount_min,
                    p->amount_max);
    p->name = str(s, P_NAME);
    p->eligibility = str(s, P_ELIG);
    p->disclosure = str(s, P_DISC);
    return 0;
}

static int v_credit(vstate_t *s, const int64_t *iv, const double *dv, tl_rec_t *o) {
    tl_credit_t *c = &o->c;
    int rc;
    static const struct {
        int f;
        double hi;
    } ints[] = {{C_ONTIME, 1e6}, {C_LATE, 1e6}, {C_OVERDUE, 3650}, {C_HIST, 1200}};
    int64_t *dst[] = {&c->on_time, &c->late, &c->max_overdue_days, &c->history_months};
    for (size_t i = 0; i < 4; i++) {
        *dst[i] = -1;
        if (!has(s, ints[i].f)) continue;
        if ((rc = range(s, ints[i].f, (double)iv[ints[i].f], 0, ints[i].hi))) return rc;
        *dst[i] = iv[ints[i].f];
    }
    c->debt = NAN;
    if (has(s, C_DEBT)) {
        if ((rc = nonneg_amount(s, C_DEBT, dv[C_DEBT]))) return rc;
        c->debt = dv[C_DEBT];
    }
    c->default_flag = -1;
    if (has(s, C_DEFAULT)) {
        const tl_slice_t *d = &s->c->v[C_DEFAULT];
        if (ci_eq(d, "1") || ci_eq(d, "true") || ci_eq(d, "yes")) c->default_flag = 1;
        else if (ci_eq(d, "0") || ci_eq(d, "false") || ci_eq(d, "no")) c->default_flag = 0;
        else {
            char b[40];
            return fail(s, TL_R_BAD_VALUE, "field default: \"%s\" is not 0 or 1",
                        show(d, b, sizeof b));
        }
    }
    c->income_band = str(s, C_INCOME);
    return 0;
}

static int v_consent(vstate_t *s, const int64_t *iv, tl_rec_t *o) {
    int rc;
    if ((rc = require(s, S_PURPOSE)) || (rc = require(s, S_STATUS)) || (rc = require(s, S_AT)))
        return rc;
    const tl_slice_t *p = &s->c->v[S_PURPOSE], *st = &s->c->v[S_STATUS];
    char b[80];
    if (!is_name(p))
        return fail(s, TL_R_BAD_VALUE, "field purpose: \"%s\" must be lower-case letters, digits "
                    "and _", show(p, b, sizeof b));
    if (ci_eq(st, "granted")) o->cs.granted = 1;
    else if (ci_eq(st, "revoked")) o->cs.granted = 0;
    else
        return fail(s, TL_R_BAD_VALUE, "field status: \"%s\" is not granted or revoked",
                    show(st, b, sizeof b));
    o->cs.purpose = str(s, S_PURPOSE);
    o->cs.at = iv[S_AT];
    return 0;
}

static uint64_t event_fp(vstate_t *s, const tl_event_t *e) {
    const tl_canon_t *c = s->c;
    if (has(s, E_ID)) return tl_hash64(c->v[E_ID].p, c->v[E_ID].n, 0x6576656e74ULL);
    /* No id: the record's content, normalised, is its identity. */
    uint64_t h = tl_hash64(c->v[E_USER].p, c->v[E_USER].n, 0x636f6e74656e74ULL);
    static const int strf[] = {E_ITEM, E_QUERY, E_CITY, E_SESSION, E_CAMPAIGN};
    for (size_t i = 0; i < sizeof strf / sizeof *strf; i++)
        h = tl_hash64(c->v[strf[i]].p ? c->v[strf[i]].p : "", c->v[strf[i]].n, h + i + 1);
    /* mixed in only when given: events without one keep the fingerprint
     * they always had */
    if (c->v[E_ALIAS].p) h = tl_hash64(c->v[E_ALIAS].p, c->v[E_ALIAS].n, h ^ 0x616c696173ULL);
    struct {
        int64_t ts;
        double amount;
        int32_t qty;
        float rating, lat, lon;
        uint8_t type, channel, pad[2];
    } k;
    memset(&k, 0, sizeof k);
    k.ts = e->ts, k.amount = isnan(e->amount) ? -1 : e->amount, k.qty = e->qty;
    k.rating = isnan(e->rating) ? -1 : e->rating;
    k.lat = isnan(e->lat) ? 999 : e->lat, k.lon = isnan(e->lon) ? 999 : e->lon;
    k.type = e->type, k.channel = e->channel;
    return tl_hash64(&k, sizeof k, h);
}

static int v_event(vstate_t *s, const int64_t *iv, const double *dv, tl_rec_t *o) {
    int rc;
    char b[80];
    tl_event_t *e = &o->e.ev;
    if ((rc = require(s, E_TYPE)) || (rc = require(s, E_TS))) return rc;
    const tl_slice_t *t = &s->c->v[E_TYPE];
    uint32_t type = tl_dict_find(s->vc->types, t->p, t->n);
    if (type == TL_NONE)
        return fail(s, TL_R_UNKNOWN_TYPE, "field type: \"%s\" is not a registered event type "
                    "(add it with --extra-types)", show(t, b, sizeof b));
    e->type = (uint8_t)type;
    e->ts = iv[E_TS];
    e->channel = TL_NO_CHANNEL;
    if (has(s, E_CHAN)) {
        const tl_slice_t *ch = &s->c->v[E_CHAN];
        uint32_t c = tl_dict_find(s->vc->channels, ch->p, ch->n);
        if (c == TL_NONE)
            return fail(s, TL_R_UNKNOWN_CHANNEL, "field channel: \"%s\" is not a registered "
                        "channel (add it with --extra-channels)", show(ch, b, sizeof b));
        e->channel = (uint8_t)c;
    }
    int needs_item = type == TL_EV_CART || type == TL_EV_FAV || type == TL_EV_PURCHASE ||
                     type == TL_EV_REFUND || type == TL_EV_REVIEW || type == TL_EV_RATE;
    int needs_amount = type == TL_EV_REPAY;
    if (needs_item && !has(s, E_ITEM))
        return fail(s, TL_R_MISSING_FIELD, "a %.*s event needs an item", (int)t->n, t->p);
    if (needs_amount && !has(s, E_AMOUNT))
        return fail(s, TL_R_MISSING_FIELD, "a %.*s event needs an amount", (int)t->n, t->p);
    if (type == s->vc->identify && !has(s, E_ALIAS))
        return fail(s, TL_R_MISSING_FIELD, "an identify event needs an alias (the identifier "
                    "it links the user to)");
    if (has(s, E_ALIAS) && has(s, E_USER) && s->c->v[E_ALIAS].n == s->c->v[E_USER].n &&
        memcmp(s->c->v[E_ALIAS].p, s->c->v[E_USER].p, s->c->v[E_USER].n) == 0)
        return fail(s, TL_R_INCONSISTENT, "field alias: the same identifier as the user");
    if (type == TL_EV_SEARCH && !has(s, E_QUERY))
        return fail(s, TL_R_MISSING_FIELD, "a search event needs a query");
    if (type == TL_EV_RATE && !has(s, E_RATING))
        return fail(s, TL_R_MISSING_FIELD, "a rate event needs a rating");
    e->amount = NAN;
    if (has(s, E_AMOUNT)) {
        if ((rc = nonneg_amount(s, E_AMOUNT, dv[E_AMOUNT]))) return rc;
        e->amount = dv[E_AMOUNT];
    }
    e->qty = 1;
    if (has(s, E_QTY)) {
        if ((rc = range(s, E_QTY, (double)iv[E_QTY], 1, 1e6))) return rc;
        e->qty = (int32_t)iv[E_QTY];
    }
    e->rating = NAN;
    if (has(s, E_RATING)) {
        if ((rc = range(s, E_RATING, dv[E_RATING], 0, 10))) return rc;
        e->rating = (float)dv[E_RATING];
    }
    e->lat = e->lon = NAN;
    if (has(s, E_LAT) != has(s, E_LON))
        return fail(s, TL_R_INCONSISTENT, "lat and lon must be given together");
    if (has(s, E_LAT)) {
        if ((rc = range(s, E_LAT, dv[E_LAT], -90, 90)) || (rc = range(s, E_LON, dv[E_LON], -180, 180)))
            return rc;
        e->lat = (float)dv[E_LAT];
        e->lon = (float)dv[E_LON];
    }
    e->fp = event_fp(s, e);
    static const int reff[TL_EREF__N] = {E_USER, E_ITEM, E_QUERY, E_CITY, E_CAMPAIGN, E_ALIAS};
    for (int k = 0; k < TL_EREF__N; k++) {
        tl_ref_t *r = &o->e.ref[k];
        const tl_slice_t *v = &s->c->v[reff[k]];
        r->p = str(s, reff[k]);
        r->n = (uint32_t)v->n;
        r->h = r->p ? tl_dict_hash(v->p, v->n) : 0;
    }
    /* Sessions only group a visit's events: a 32-bit hash of the id serves,
     * and saves a dictionary entry per visit. */
    e->session = TL_NONE;
    if (has(s, E_SESSION)) {
        const tl_slice_t *v = &s->c->v[E_SESSION];
        e->session = (uint32_t)tl_hash64(v->p, v->n, 0x73657373ULL);
        if (e->session == TL_NONE) e->session = 0;
    }
    return 0;
}

int tl__validate(tl_vctx_t *vc, const tl_canon_t *c, tl_rec_t *out, char *msg, size_t msglen) {
    vstate_t s = {vc, c, msg, msglen};
    /* Not zeroed: a slot is read only after its field parsed into it, and
     * this runs for every row. */
    int64_t iv[TL_KIND_MAX_FIELDS];
    double dv[TL_KIND_MAX_FIELDS];
    int rc;
    out->kind = c->kind;
    out->id = NULL;
    /* Field 0 of every kind is its id (the user for credit and consents);
     * for events it is the optional event_id and the user is field 1. */
    if ((rc = require(&s, c->kind == TL_KIND_EVENTS ? E_USER : 0))) return rc;
    if ((rc = check_fields(&s, iv, dv))) return rc;
    if (c->kind != TL_KIND_EVENTS) {
        out->id = str(&s, 0);
        if (!out->id) return fail(&s, TL_R_TOO_LONG, "the record is too large");
    }
    switch (c->kind) {
    case TL_KIND_USERS: rc = v_user(&s, iv, out); break;
    case TL_KIND_ITEMS: rc = v_item(&s, dv, out); break;
    case TL_KIND_PRODUCTS: rc = v_product(&s, iv, dv, out); break;
    case TL_KIND_CREDIT: rc = v_credit(&s, iv, dv, out); break;
    case TL_KIND_CONSENTS: rc = v_consent(&s, iv, out); break;
    case TL_KIND_EVENTS: rc = v_event(&s, iv, dv, out); break;
    default: rc = fail(&s, TL_R_BAD_VALUE, "unknown record kind");
    }
    return rc;
}
