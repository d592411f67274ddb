/* campaign.c -- campaign definitions: parsing and checking the JSON
 * document, storing it, listing, pausing; the do-not-contact list.
 *
 * Every optional field has a default (docs/FORMATS.md), so the smallest
 * useful campaign is an id, an audience and a channel. A definition is
 * checked whole before it is stored: a typo in a field name, a weight of
 * zero or a cap without a limit is refused with the field's name rather
 * than discovered at the first run. */
#include "campaign_int.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const DCH_NAMES[] = {
#define X(c, s, p) s,
    TL_DCHANNELS(X)
#undef X
};
static const char *const DCH_PURPOSES[] = {
#define X(c, s, p) p,
    TL_DCHANNELS(X)
#undef X
};
static const char *const DEC_NAMES[] = {
#define X(c, s) s,
    TL_DECISIONS(X)
#undef X
};

const char *tl_dchannel_name(int ch) { return ch >= 0 && ch < TL_DCH__N ? DCH_NAMES[ch] : ""; }
void tl_dchannel_outbox(const char *name, char *out, size_t cap) {
    snprintf(out, cap, "outbox/%s", name);
}
const char *tl_dchannel_purpose(int ch) { return ch >= 0 && ch < TL_DCH__N ? DCH_PURPOSES[ch] : NULL; }
const char *tl_decision_name(int d) {
    return d >= 0 && d < TL_DEC__N ? DEC_NAMES[d] : d == TL_EXPO_ENTERED ? "journey_entered" : "";
}

int tl_dchannel_find(const char *name) {
    for (int c = 0; c < TL_DCH__N; c++)
        if (strcmp(DCH_NAMES[c], name) == 0) return c;
    return -1;
}

/* ---- parsing ------------------------------------------------------------------ */

int tl__bad(tl_errbuf_t *eb, const char *fmt, const char *field) {
    tl_errbuf_set(eb, fmt, field);
    return TL_EBADINPUT;
}

/* "90s", "30m", "2h", "7d", "1w" (a bare number is seconds), up to a
 * century. */
int tl__parse_duration(const char *s, int64_t *ms) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) return -1;
    double unit = 1000;
    switch (*end) {
    case 0: case 's': break;
    case 'm': unit = 60e3; break;
    case 'h': unit = 3600e3; break;
    case 'd': unit = 86400e3; break;
    case 'w': unit = 7 * 86400e3; break;
    default: return -1;
    }
    if (*end && end[1]) return -1;
    if (!(v * unit <= 100 * 365.25 * 86400e3)) return -1; /* a century at most: times stay in range */
    *ms = (int64_t)llround(v * unit);
    return 0;
}

/* "HH:MM" → minutes after midnight. */
static int parse_clock(const char *s, int *min) {
    int h, m;
    char extra;
    if (sscanf(s, "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
        (h == 24 && m))
        return -1;
    *min = h * 60 + m;
    return 0;
}

/* "+08:00", "-05:30", "Z", "UTC" → minutes. */
static int parse_tz(const char *s, int *min) {
    if (strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0) return *min = 0, 0;
    int h, m = 0;
    char sign, extra;
    if (sscanf(s, "%c%d:%d%c", &sign, &h, &m, &extra) < 2 || (sign != '+' && sign != '-') ||
        h > 14 || m > 59)
        return -1;
    *min = (sign == '-' ? -1 : 1) * (h * 60 + m);
    return 0;
}

static const char *str_of(const cJSON *j) { return cJSON_IsString(j) ? j->valuestring : NULL; }

/* Refuses members not in the list, and members of the wrong type. */
int tl__check_fields(const cJSON *obj, const tl__field_t *f, const char *where, tl_errbuf_t *eb) {
    const cJSON *m;
    cJSON_ArrayForEach(m, obj) {
        const tl__field_t *k = f;
        while (k->name && strcmp(k->name, m->string) != 0) k++;
        if (!k->name) {
            tl_errbuf_set(eb, "%s: unknown field \"%s\"", where, m->string);
            return TL_EBADINPUT;
        }
        if (!(m->type & k->type)) {
            tl_errbuf_set(eb, "%s: field \"%s\" has the wrong type (%s expected)", where, m->string,
                          k->type & cJSON_String ? "a string" : k->type & cJSON_Number ? "a number"
                          : k->type & cJSON_Array ? "a list" : k->type & cJSON_Object ? "an object"
                          : "true or false");
            return TL_EBADINPUT;
        }
    }
    return 0;
}

static const tl__field_t CAMPAIGN_FIELDS[] = {
    {"id", T_STR}, {"name", T_STR}, {"audience", T_STR}, {"channels", T_ARR},
    {"content", T_OBJ}, {"message", T_STR}, {"arms", T_ARR}, {"holdout", T_NUM},
    {"consent", T_STR | cJSON_NULL}, {"caps", T_ARR}, {"tags", T_ARR},
    {"transactional", T_BOOL}, {"queue_over_cap", T_BOOL},
    {"quiet_hours", T_OBJ | cJSON_False}, {"timezone", T_STR}, {"salt", T_STR},
    {"namespace", T_OBJ}, {"priority", T_NUM}, {"start", T_STR}, {"end", T_STR},
    {"budget", T_OBJ}, {"schedule", T_OBJ}, {"trigger", T_OBJ}, {"attribution", T_OBJ},
    {"margin", T_NUM}, {"journey", T_OBJ}, {NULL, 0}};
static const tl__field_t CONTENT_FIELDS[] = {
    {"type", T_STR}, {"n", T_NUM}, {"model", T_STR}, {"scene", T_STR}, {"code", T_STR},
    {"value", T_NUM}, {"min_spend", T_NUM}, {"items", T_ARR}, {"kind", T_STR},
    {"category", T_STR}, {NULL, 0}};
static const tl__field_t ARM_FIELDS[] = {
    {"name", T_STR}, {"weight", T_NUM}, {"content", T_OBJ}, {"message", T_STR},
    {"start", T_STR}, {NULL, 0}};
static const tl__field_t CAP_FIELDS[] = {
    {"channel", T_STR}, {"tag", T_STR}, {"max", T_NUM}, {"per", T_STR}, {"window", T_STR},
    {NULL, 0}};
static const tl__field_t BUDGET_FIELDS[] = {
    {"max_sends", T_NUM}, {"max_cost", T_NUM}, {"cost", T_OBJ}, {"cost_per_conversion", T_NUM},
    {"daily_sends", T_NUM}, {"daily_cost", T_NUM}, {"pacing", T_STR}, {NULL, 0}};
static const tl__field_t SCHED_FIELDS[] = {
    {"once", T_STR}, {"daily", T_STR}, {"dates", T_ARR}, {"at", T_STR}, {NULL, 0}};
static const tl__field_t TRIG_FIELDS[] = {
    {"event", T_STR}, {"category", T_STR}, {"unless", T_STR}, {"within", T_STR},
    {"delay", T_STR}, {"lookback", T_STR}, {"min_amount", T_NUM}, {"nth", T_NUM},
    {"reset", T_STR}, {NULL, 0}};
static const tl__field_t ATTR_FIELDS[] = {
    {"window", T_STR}, {"conversion", T_ARR | T_STR}, {"pre_period", T_STR}, {NULL, 0}};
static const tl__field_t QUIET_FIELDS[] = {{"from", T_STR}, {"to", T_STR}, {NULL, 0}};
static const tl__field_t NS_FIELDS[] = {{"name", T_STR}, {"from", T_NUM}, {"to", T_NUM}, {NULL, 0}};

static int valid_id(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return 0;
    return 1;
}

int tl__parse_content(const cJSON *j, tl_arm_t *a, const char *where, tl_errbuf_t *eb) {
    int rc = tl__check_fields(j, CONTENT_FIELDS, where, eb);
    if (rc) return rc;
    const char *type = str_of(cJSON_GetObjectItem(j, "type"));
    if (!type) return tl__bad(eb, "%s: \"type\" is required (recommendations, offer, coupon or items)", where);
    static const char *const TYPES[] = {"recommendations", "offer", "coupon", "items"};
    a->content_type = -1;
    for (int t = 0; t < 4; t++)
        if (strcmp(type, TYPES[t]) == 0) a->content_type = t;
    if (a->content_type < 0)
        return tl__bad(eb, "%s: type must be recommendations, offer, coupon or items", where);
    const cJSON *n = cJSON_GetObjectItem(j, "n");
    a->n = a->content_type == TL_CONTENT_RECS ? 3 : 1;
    if (n) {
        if (!(n->valuedouble >= 1 && n->valuedouble <= TL_CAMPAIGN_MAX_ITEMS) || n->valuedouble != floor(n->valuedouble))
            return tl__bad(eb, "%s: n must be a whole number from 1 to 50", where);
        a->n = (uint32_t)n->valuedouble;
    }
    if (a->content_type == TL_CONTENT_COUPON && !cJSON_GetObjectItem(j, "code"))
        return tl__bad(eb, "%s: a coupon needs a \"code\"", where);
    if (a->content_type == TL_CONTENT_ITEMS) {
        const cJSON *it = cJSON_GetObjectItem(j, "items"), *x;
        if (!it || cJSON_GetArraySize(it) == 0) return tl__bad(eb, "%s: items needs a list of item ids", where);
        cJSON_ArrayForEach(x, it) if (!cJSON_IsString(x)) return tl__bad(eb, "%s: items are item ids (strings)", where);
    }
    free(a->content);
    a->content = cJSON_PrintUnformatted(j);
    return a->content ? 0 : TL_ENOMEM;
}

static int parse_cap(const cJSON *j, tl_cap_t *cap, tl_errbuf_t *eb) {
    int rc = tl__check_fields(j, CAP_FIELDS, "caps", eb);
    if (rc) return rc;
    const char *ch = str_of(cJSON_GetObjectItem(j, "channel"));
    cap->channel = -1;
    if (ch && strcmp(ch, "any") != 0 && strcmp(ch, "*") != 0 && (cap->channel = tl_dchannel_find(ch)) < 0) {
        tl_errbuf_set(eb, "caps: unknown channel \"%s\" (push, sms, email, in_app, social, "
                      "store_coupon or any)", ch);
        return TL_EBADINPUT;
    }
    const char *tag = str_of(cJSON_GetObjectItem(j, "tag"));
    snprintf(cap->tag, sizeof cap->tag, "%s", tag ? tag : "");
    const cJSON *max = cJSON_GetObjectItem(j, "max");
    if (!max || !(max->valuedouble >= 0) || max->valuedouble != floor(max->valuedouble) ||
        max->valuedouble > 1e6)
        return tl__bad(eb, "caps: \"max\" must be a whole number of messages%s", "");
    cap->max = (uint32_t)max->valuedouble;
    const char *per = str_of(cJSON_GetObjectItem(j, "per"));
    const char *win = str_of(cJSON_GetObjectItem(j, "window"));
    if (!per && !win) return tl__bad(eb, "caps: give \"per\" (day, week, or a window such as 6h, 7d)%s", "");
    if (per && strcmp(per, "day") == 0) cap->per = TL_CAP_DAY;
    else if (per && strcmp(per, "week") == 0) cap->per = TL_CAP_WEEK;
    else {
        cap->per = TL_CAP_ROLLING;
        const char *w = win ? win : per;
        if (tl__parse_duration(w, &cap->window_ms) || cap->window_ms < 60000 ||
            cap->window_ms > 30 * TL_MS_PER_DAY) {
            tl_errbuf_set(eb, "caps: \"%s\" is not day, week or a window from 1m to 30d", w);
            return TL_EBADINPUT;
        }
    }
    return 0;
}

static int parse_time_field(const cJSON *root, const char *name, int64_t dflt, int64_t *out,
                            tl_errbuf_t *eb) {
    const char *s = str_of(cJSON_GetObjectItem(root, name));
    *out = dflt;
    if (s && tl_time_parse(s, strlen(s), out)) {
        tl_errbuf_set(eb, "\"%s\": \"%s\" is not a time (2026-11-11T09:00+08:00)", name, s);
        return TL_EBADINPUT;
    }
    return 0;
}

static int parse_schedule(const cJSON *j, tl_campaign_t *c, tl_errbuf_t *eb) {
    int rc = tl__check_fields(j, SCHED_FIELDS, "schedule", eb);
    if (rc) return rc;
    const char *once = str_of(cJSON_GetObjectItem(j, "once"));
    const char *daily = str_of(cJSON_GetObjectItem(j, "daily"));
    const cJSON *dates = cJSON_GetObjectItem(j, "dates");
    if (!!once + !!daily + !!dates != 1)
        return tl__bad(eb, "schedule: give one of once (a time), daily (HH:MM) or dates (with at)%s", "");
    if (once) {
        c->sched = TL_SCHED_ONCE;
        if (tl_time_parse(once, strlen(once), &c->once_at))
            return tl__bad(eb, "schedule: once: \"%s\" is not a time", once);
    } else if (daily) {
        c->sched = TL_SCHED_DAILY;
        if (parse_clock(daily, &c->daily_min)) return tl__bad(eb, "schedule: daily: \"%s\" is not HH:MM", daily);
    } else {
        c->sched = TL_SCHED_DATES;
        const char *at = str_of(cJSON_GetObjectItem(j, "at"));
        c->daily_min = 9 * 60;
        if (at && parse_clock(at, &c->daily_min)) return tl__bad(eb, "schedule: at: \"%s\" is not HH:MM", at);
        const cJSON *d;
        cJSON_ArrayForEach(d, dates) {
            int y;
            unsigned mo, da;
            char extra;
            if (!cJSON_IsString(d) || sscanf(d->valuestring, "%d-%u-%u%c", &y, &mo, &da, &extra) != 3 ||
                mo < 1 || mo > 12 || da < 1 || da > 31)
                return tl__bad(eb, "schedule: dates are YYYY-MM-DD (e.g. promotion days)%s", "");
            if (c->ndates == 32) return tl__bad(eb, "schedule: at most 32 dates%s", "");
            c->dates[c->ndates++] = tl_time_days_from_civil(y, mo, da);
        }
        if (!c->ndates) return tl__bad(eb, "schedule: dates is empty%s", "");
    }
    return 0;
}

static int parse_trigger(const cJSON *j, tl_campaign_t *c, tl_errbuf_t *eb) {
    int rc = tl__check_fields(j, TRIG_FIELDS, "trigger", eb);
    if (rc) return rc;
    const char *ev = str_of(cJSON_GetObjectItem(j, "event"));
    if (!ev || !*ev || strlen(ev) >= sizeof c->trig_event)
        return tl__bad(eb, "trigger: \"event\" is required (an event type such as cart, or city_change)%s", "");
    c->trig = strcmp(ev, "city_change") == 0 ? TL_TRIG_CITY : TL_TRIG_EVENT;
    snprintf(c->trig_event, sizeof c->trig_event, "%s", ev);
    const char *un = str_of(cJSON_GetObjectItem(j, "unless"));
    const char *cat = str_of(cJSON_GetObjectItem(j, "category"));
    snprintf(c->trig_unless, sizeof c->trig_unless, "%s", un ? un : "");
    snprintf(c->trig_category, sizeof c->trig_category, "%s", cat ? cat : "");
    static const char *const DUR[] = {"within", "delay", "lookback"};
    int64_t *dst[] = {&c->trig_within, &c->trig_delay, &c->trig_lookback};
    const int64_t dflt[] = {un ? 2 * 3600000 : 0, 0, TL_MS_PER_DAY};
    for (int k = 0; k < 3; k++) {
        const char *s = str_of(cJSON_GetObjectItem(j, DUR[k]));
        *dst[k] = dflt[k];
        if (s && tl__parse_duration(s, dst[k]))
            return tl__bad(eb, "trigger: \"%s\" is not a duration such as 10m, 2h or 1d", s);
    }
    if (c->trig_within > 0 && !un) return tl__bad(eb, "trigger: \"within\" needs \"unless\" (the event that cancels)%s", "");
    const cJSON *ma = cJSON_GetObjectItem(j, "min_amount");
    c->trig_min_amount = ma ? ma->valuedouble : NAN;
    const cJSON *nth = cJSON_GetObjectItem(j, "nth");
    const char *reset = str_of(cJSON_GetObjectItem(j, "reset"));
    if (nth && (c->trig == TL_TRIG_CITY || !(nth->valuedouble >= 1 && nth->valuedouble <= 1000) ||
                nth->valuedouble != floor(nth->valuedouble)))
        return tl__bad(eb, "trigger: \"nth\" is a whole number from 1 to 1000: the user's n-th event of "
                           "the type (1: the first purchase)%s", "");
    if (reset && (!nth || !*reset || strlen(reset) >= sizeof c->trig_reset))
        return tl__bad(eb, "trigger: \"reset\" names the event type that starts the count of \"nth\" "
                           "again (a missed repayment ends a streak), and needs \"nth\"%s", "");
    c->trig_nth = nth ? (uint32_t)nth->valuedouble : 0;
    snprintf(c->trig_reset, sizeof c->trig_reset, "%s", reset ? reset : "");
    if (ma && (c->trig == TL_TRIG_CITY || !(ma->valuedouble >= 0) || !isfinite(ma->valuedouble)))
        return tl__bad(eb, "trigger: \"min_amount\" is an amount of 0 or more, for an event that has one "
                       "(a purchase of at least so much)%s", "");
    return 0;
}

int tl_campaign_parse(const char *json, tl_campaign_t *c, tl_errbuf_t *eb) {
    memset(c, 0, sizeof *c);
    const char *stop = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &stop, 0);
    /* text after the definition's end is a mistake too (a paste cut short,
     * or two definitions in one): not left unread */
    const char *rest = root && stop ? stop + strspn(stop, " \t\r\n") : NULL;
    if (rest && *rest) {
        cJSON_Delete(root);
        root = NULL;
        stop = rest;
    }
    if (!root) {
        /* cJSON stops where the text stops being JSON: say where, and show
         * what is there up to the end of its line */
        size_t off = stop ? (size_t)(stop - json) : 0, line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (json[i] == '\n') line++, col = 1;
            else col++;
        }
        size_t show = stop ? strcspn(stop, "\r\n") : 0;
        if (!*json)
            tl_errbuf_set(eb, "not valid JSON: the text is empty");
        else if (!stop || !*stop)
            tl_errbuf_set(eb, "not valid JSON: the text ends at line %zu, column %zu, before the "
                          "JSON is complete (a brace, bracket or string is not closed)", line, col);
        else
            tl_errbuf_set(eb, "not valid JSON at line %zu, column %zu (byte %zu): unexpected "
                          "\"%.*s\"", line, col, off + 1, show < 24 ? (int)show : 24, stop);
        return TL_EBADINPUT;
    }
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        rc = tl__bad(eb, "a campaign is a JSON object%s", "");
        goto out;
    }
    if ((rc = tl__check_fields(root, CAMPAIGN_FIELDS, "campaign", eb))) goto out;
    const char *id = str_of(cJSON_GetObjectItem(root, "id"));
    if (!id || !valid_id(id)) {
        rc = tl__bad(eb, "\"id\" is required: 1 to 64 letters, digits, '-', '_' or '.'%s", "");
        goto out;
    }
    snprintf(c->id, sizeof c->id, "%s", id);
    const char *name = str_of(cJSON_GetObjectItem(root, "name"));
    snprintf(c->name, sizeof c->name, "%s", name ? name : id);
    const char *aud = str_of(cJSON_GetObjectItem(root, "audience"));
    if (!(c->audience = strdup(aud && *aud ? aud : "true"))) {
        rc = TL_ENOMEM;
        goto out;
    }
    /* channels, in order of preference */
    const cJSON *chs = cJSON_GetObjectItem(root, "channels"), *x;
    cJSON_ArrayForEach(x, chs) {
        int ch = cJSON_IsString(x) ? tl_dchannel_find(x->valuestring) : -1;
        if (ch < 0) {
            rc = tl__bad(eb, "channels: \"%s\" is not push, sms, email, in_app, social or store_coupon",
                     cJSON_IsString(x) ? x->valuestring : "?");
            goto out;
        }
        for (int k = 0; k < c->nchannels; k++)
            if (c->channels[k] == ch) {
                rc = tl__bad(eb, "channels: \"%s\" is listed twice", x->valuestring);
                goto out;
            }
        c->channels[c->nchannels++] = ch;
    }
    if (!c->nchannels) {
        rc = tl__bad(eb, "\"channels\" is required: a list such as [\"push\", \"sms\"]%s", "");
        goto out;
    }
    /* content and arms */
    tl_arm_t base = {.weight = 1, .content_type = TL_CONTENT_RECS, .n = 3};
    const cJSON *content = cJSON_GetObjectItem(root, "content");
    if (content) rc = tl__parse_content(content, &base, "content", eb);
    else base.content = strdup("{\"type\":\"recommendations\",\"n\":3}");
    if (!rc && !base.content) rc = TL_ENOMEM;
    const char *msg = str_of(cJSON_GetObjectItem(root, "message"));
    if (!rc && msg && !(base.message = strdup(msg))) rc = TL_ENOMEM;
    const cJSON *arms = cJSON_GetObjectItem(root, "arms");
    if (!rc && arms && cJSON_GetArraySize(arms) > TL_CAMPAIGN_MAX_ARMS)
        rc = tl__bad(eb, "arms: at most 15%s", "");
    cJSON_ArrayForEach(x, arms) {
        if (rc) break;
        tl_arm_t *a = &c->arms[c->narms++];
        if (!cJSON_IsObject(x)) {
            rc = tl__bad(eb, "arms: each arm is an object with a name and a weight%s", "");
            break;
        }
        if ((rc = tl__check_fields(x, ARM_FIELDS, "arms", eb))) break;
        const char *an = str_of(cJSON_GetObjectItem(x, "name"));
        if (!an || !*an || strlen(an) >= sizeof a->name) {
            rc = tl__bad(eb, "arms: each arm needs a name of 1 to 31 characters%s", "");
            break;
        }
        for (int k = 0; k + 1 < c->narms; k++)
            if (strcmp(c->arms[k].name, an) == 0) rc = tl__bad(eb, "arms: two arms are named \"%s\"", an);
        snprintf(a->name, sizeof a->name, "%s", an);
        const cJSON *w = cJSON_GetObjectItem(x, "weight");
        a->weight = w ? w->valuedouble : 1;
        if (!rc && !(a->weight > 0 && a->weight <= 1e6)) rc = tl__bad(eb, "arms: the weight of \"%s\" must be above 0", an);
        const cJSON *ac = cJSON_GetObjectItem(x, "content");
        a->content_type = base.content_type, a->n = base.n;
        if (!rc && ac) rc = tl__parse_content(ac, a, "arms: content", eb);
        else if (!rc && !(a->content = strdup(base.content))) rc = TL_ENOMEM;
        const char *am = str_of(cJSON_GetObjectItem(x, "message"));
        if (!am) am = base.message;
        if (!rc && am && !(a->message = strdup(am))) rc = TL_ENOMEM;
    }
    if (!rc && c->narms == 0) {
        snprintf(base.name, sizeof base.name, "A");
        c->arms[c->narms++] = base;
        base.content = base.message = NULL;
    }
    free(base.content), free(base.message);
    if (rc) goto out;
    const cJSON *h = cJSON_GetObjectItem(root, "holdout");
    c->holdout = h ? h->valuedouble : 0;
    if (!(c->holdout >= 0 && c->holdout < 100)) {
        rc = tl__bad(eb, "holdout: a percentage from 0 to below 100%s", "");
        goto out;
    }
    const char *cons = str_of(cJSON_GetObjectItem(root, "consent"));
    snprintf(c->consent, sizeof c->consent, "%s", cons ? cons : "");
    const cJSON *caps = cJSON_GetObjectItem(root, "caps");
    if (cJSON_GetArraySize(caps) > TL_CAMPAIGN_MAX_CAPS) {
        rc = tl__bad(eb, "caps: at most 16 rules%s", "");
        goto out;
    }
    cJSON_ArrayForEach(x, caps) {
        if (!cJSON_IsObject(x)) {
            rc = tl__bad(eb, "caps: each rule is an object such as {\"channel\":\"push\",\"max\":1,\"per\":\"day\"}%s", "");
            goto out;
        }
        if ((rc = parse_cap(x, &c->caps[c->ncaps++], eb))) goto out;
    }
    const cJSON *tags = cJSON_GetObjectItem(root, "tags");
    cJSON_ArrayForEach(x, tags) {
        if (!cJSON_IsString(x) || !*x->valuestring || strlen(x->valuestring) >= 32 || c->ntags == 4) {
            rc = tl__bad(eb, "tags: up to 4 names of 1 to 31 characters%s", "");
            goto out;
        }
        snprintf(c->tags[c->ntags++], 32, "%s", x->valuestring);
    }
    c->transactional = cJSON_IsTrue(cJSON_GetObjectItem(root, "transactional"));
    c->queue_over_cap = cJSON_IsTrue(cJSON_GetObjectItem(root, "queue_over_cap"));
    const cJSON *q = cJSON_GetObjectItem(root, "quiet_hours");
    c->quiet_from = 22 * 60, c->quiet_to = 8 * 60;
    if (cJSON_IsFalse(q) || c->transactional) c->quiet_from = c->quiet_to = 0;
    if (cJSON_IsObject(q)) {
        const char *f = str_of(cJSON_GetObjectItem(q, "from")), *t = str_of(cJSON_GetObjectItem(q, "to"));
        if ((rc = tl__check_fields(q, QUIET_FIELDS, "quiet_hours", eb))) goto out;
        if (!f || !t || parse_clock(f, &c->quiet_from) || parse_clock(t, &c->quiet_to)) {
            rc = tl__bad(eb, "quiet_hours: give from and to as HH:MM, e.g. {\"from\":\"22:00\",\"to\":\"08:00\"}%s", "");
            goto out;
        }
    }
    const char *tz = str_of(cJSON_GetObjectItem(root, "timezone"));
    c->tz_min = 8 * 60;
    if (tz && parse_tz(tz, &c->tz_min)) {
        rc = tl__bad(eb, "timezone: \"%s\" is not an offset such as +08:00", tz);
        goto out;
    }
    const char *salt = str_of(cJSON_GetObjectItem(root, "salt"));
    c->salt = tl_hash64(salt ? salt : c->id, strlen(salt ? salt : c->id), 0x5a17);
    const cJSON *ns = cJSON_GetObjectItem(root, "namespace");
    c->ns_from = 0, c->ns_to = 100;
    if (ns) {
        if ((rc = tl__check_fields(ns, NS_FIELDS, "namespace", eb))) goto out;
        const char *nn = str_of(cJSON_GetObjectItem(ns, "name"));
        const cJSON *f = cJSON_GetObjectItem(ns, "from"), *t = cJSON_GetObjectItem(ns, "to");
        if (!nn || !*nn || strlen(nn) >= sizeof c->ns || !f || !t ||
            !(f->valuedouble >= 0 && f->valuedouble < t->valuedouble && t->valuedouble <= 100)) {
            rc = tl__bad(eb, "namespace: give name, and from < to in percent, e.g. "
                     "{\"name\":\"spring\",\"from\":0,\"to\":50}%s", "");
            goto out;
        }
        snprintf(c->ns, sizeof c->ns, "%s", nn);
        c->ns_from = f->valuedouble, c->ns_to = t->valuedouble;
    }
    const cJSON *pr = cJSON_GetObjectItem(root, "priority");
    c->priority = pr ? (int)pr->valuedouble : 0;
    if ((rc = parse_time_field(root, "start", INT64_MIN, &c->start, eb)) ||
        (rc = parse_time_field(root, "end", INT64_MAX, &c->end, eb)))
        goto out;
    if (c->end <= c->start) {
        rc = tl__bad(eb, "end is not after start%s", "");
        goto out;
    }
    const cJSON *b = cJSON_GetObjectItem(root, "budget");
    c->margin = 0.3;
    if (b) {
        if ((rc = tl__check_fields(b, BUDGET_FIELDS, "budget", eb))) goto out;
        const cJSON *ms = cJSON_GetObjectItem(b, "max_sends"), *mc = cJSON_GetObjectItem(b, "max_cost");
        const cJSON *cpc = cJSON_GetObjectItem(b, "cost_per_conversion");
        if ((ms && !(ms->valuedouble >= 1)) || (mc && !(mc->valuedouble > 0)) ||
            (cpc && !(cpc->valuedouble >= 0))) {
            rc = tl__bad(eb, "budget: max_sends, max_cost and cost_per_conversion must be positive%s", "");
            goto out;
        }
        c->max_sends = ms ? (uint64_t)ms->valuedouble : 0;
        c->max_cost = mc ? mc->valuedouble : 0;
        c->cost_per_conversion = cpc ? cpc->valuedouble : 0;
        const cJSON *cost = cJSON_GetObjectItem(b, "cost");
        cJSON_ArrayForEach(x, cost) {
            int ch = tl_dchannel_find(x->string);
            if (ch < 0 || !cJSON_IsNumber(x) || !(x->valuedouble >= 0)) {
                rc = tl__bad(eb, "budget: cost: \"%s\" needs a channel name and a cost per send of 0 or more", x->string);
                goto out;
            }
            c->cost[ch] = x->valuedouble;
        }
        const cJSON *ds = cJSON_GetObjectItem(b, "daily_sends"), *dc = cJSON_GetObjectItem(b, "daily_cost");
        const char *pace = str_of(cJSON_GetObjectItem(b, "pacing"));
        if ((ds && !(ds->valuedouble >= 1)) || (dc && !(dc->valuedouble > 0))) {
            rc = tl__bad(eb, "budget: daily_sends and daily_cost must be positive%s", "");
            goto out;
        }
        if (pace && strcmp(pace, "even") != 0 && strcmp(pace, "asap") != 0) {
            rc = tl__bad(eb, "budget: pacing is even (the daily budget spread over the day) or asap, not \"%s\"", pace);
            goto out;
        }
        c->daily_sends = ds ? (uint64_t)ds->valuedouble : 0;
        c->daily_cost = dc ? dc->valuedouble : 0;
        c->pace_even = !pace || strcmp(pace, "even") == 0;
    }
    const cJSON *mg = cJSON_GetObjectItem(root, "margin");
    if (mg) c->margin = mg->valuedouble;
    if (!(c->margin > 0 && c->margin <= 1)) {
        rc = tl__bad(eb, "margin: the share of revenue that is profit, above 0 and at most 1%s", "");
        goto out;
    }
    const cJSON *sch = cJSON_GetObjectItem(root, "schedule"), *trg = cJSON_GetObjectItem(root, "trigger");
    if (sch && trg) {
        rc = tl__bad(eb, "give a schedule or a trigger, not both%s", "");
        goto out;
    }
    if (sch && (rc = parse_schedule(sch, c, eb))) goto out;
    if (trg && (rc = parse_trigger(trg, c, eb))) goto out;
    if (cJSON_GetObjectItem(root, "journey") && (rc = tl__journey_parse(root, c, eb))) goto out;
    if (!c->journey) {
        const cJSON *a;
        cJSON_ArrayForEach(a, arms) if (cJSON_GetObjectItem(a, "start")) {
            rc = tl__bad(eb, "arms: \"start\" names a journey's step; this campaign has no journey%s", "");
            goto out;
        }
    }
    if ((c->daily_sends || c->daily_cost > 0) && !c->trig && !c->journey) {
        rc = tl__bad(eb, "budget: daily_sends and daily_cost are for trigger campaigns (a scheduled one "
                     "sends once an occurrence: max_sends bounds it)%s", "");
        goto out;
    }
    const cJSON *at = cJSON_GetObjectItem(root, "attribution");
    c->window_ms = 7 * TL_MS_PER_DAY, c->pre_ms = 14 * TL_MS_PER_DAY;
    int offer = c->arms[0].content_type == TL_CONTENT_OFFER;
    snprintf(c->conversion[0], 32, "%s", offer ? "loan_apply" : "purchase");
    c->nconversion = 1;
    if (at) {
        if ((rc = tl__check_fields(at, ATTR_FIELDS, "attribution", eb))) goto out;
        const char *w = str_of(cJSON_GetObjectItem(at, "window"));
        const char *pp = str_of(cJSON_GetObjectItem(at, "pre_period"));
        if ((w && (tl__parse_duration(w, &c->window_ms) || c->window_ms <= 0)) ||
            (pp && tl__parse_duration(pp, &c->pre_ms))) {
            rc = tl__bad(eb, "attribution: window and pre_period are durations such as 7d%s", "");
            goto out;
        }
        const cJSON *cv = cJSON_GetObjectItem(at, "conversion");
        if (cv) {
            c->nconversion = 0;
            if (cJSON_IsString(cv)) snprintf(c->conversion[c->nconversion++], 32, "%s", cv->valuestring);
            const cJSON *list = cJSON_IsArray(cv) ? cv : NULL;
            cJSON_ArrayForEach(x, list) {
                if (!cJSON_IsString(x) || c->nconversion == 4) {
                    rc = tl__bad(eb, "attribution: conversion is up to 4 event types%s", "");
                    goto out;
                }
                snprintf(c->conversion[c->nconversion++], 32, "%s", x->valuestring);
            }
            if (!c->nconversion) {
                rc = tl__bad(eb, "attribution: conversion is empty%s", "");
                goto out;
            }
        }
    }
    if (!(c->def = cJSON_PrintUnformatted(root))) rc = TL_ENOMEM;
out:
    cJSON_Delete(root);
    if (rc) tl_campaign_fini(c);
    return rc;
}

const char *tl_campaign_kind(const tl_campaign_t *c) {
    return c->journey ? "journey" : c->trig ? "trigger" : c->sched != TL_SCHED_NOW ? "schedule" : "on request";
}

void tl_campaign_fini(tl_campaign_t *c) {
    for (int a = 0; a < c->narms; a++) free(c->arms[a].content), free(c->arms[a].message);
    free(c->audience);
    free(c->def);
    tl__journey_free(c->journey);
    memset(c, 0, sizeof *c);
}

/* ---- storage ------------------------------------------------------------------------ */

static int def_row(const tl_campaign_row_t *r, void *arg) {
    return (*(char **)arg = strdup(r->def)) ? 0 : TL_ENOMEM;
}

static int no_campaign(tl_errbuf_t *eb, const char *id) {
    tl_errbuf_set(eb, "no campaign \"%s\" (see `tailor campaign list`)", id);
    return TL_ENOENT;
}

int tl_campaign_get(tl_store_t *st, const char *id, tl_campaign_t *c, tl_errbuf_t *eb) {
    char *def = NULL;
    memset(c, 0, sizeof *c);
    int rc = tl_store_campaign_get(st, id, def_row, &def, eb);
    if (rc == 0) rc = no_campaign(eb, id);
    if (rc == 1) {
        rc = tl_campaign_parse(def, c, eb);
        if (rc == TL_EBADINPUT) rc = TL_ECORRUPT;
    }
    free(def);
    return rc;
}

static int found_row(const tl_campaign_row_t *r, void *arg) {
    (void)r, (void)arg;
    return 0;
}

int tl_campaign_create(tl_store_t *st, const char *json, int replace, tl_campaign_t *out,
                       tl_errbuf_t *eb) {
    int rc = tl_campaign_parse(json, out, eb);
    if (rc) return rc;
    rc = tl_store_campaign_get(st, out->id, found_row, NULL, eb);
    if (rc == 1 && !replace) {
        tl_errbuf_set(eb, "campaign \"%s\" exists; give --replace to change its definition "
                      "(its runs and exposures are kept)", out->id);
        rc = TL_EEXIST;
    }
    if (rc >= 0) rc = tl_store_begin(st, eb);
    if (!rc) rc = tl_store_campaign_put(st, out->id, out->def, tl_store_now(st), eb);
    if (rc > 0) rc = 0;
    /* the dictionary index of the id is what the contact log records */
    tl_dict_t *d = rc ? NULL : tl_store_dict(st, TL_D_CAMPAIGN, eb);
    if (!rc && !d) rc = TL_ENOMEM;
    uint32_t idx;
    if (!rc) rc = tl_dict_intern(d, out->id, strlen(out->id), &idx, NULL);
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    if (rc) tl_campaign_fini(out);
    return rc;
}

typedef struct {
    tl_campaign_fn fn;
    void *arg;
} listctx_t;

static int list_row(const tl_campaign_row_t *r, void *arg) {
    listctx_t *x = arg;
    tl_campaign_info_t ci = {.id = r->id, .status = r->status, .created = r->created,
                             .runs = r->runs, .last_at = r->last_at, .sends = r->sends,
                             .cost = r->cost};
    /* the name is in the definition */
    cJSON *d = cJSON_Parse(r->def);
    const char *name = d ? str_of(cJSON_GetObjectItem(d, "name")) : NULL;
    ci.name = name ? name : r->id;
    int rc = x->fn(&ci, x->arg);
    cJSON_Delete(d);
    return rc;
}

int tl_campaign_list(tl_store_t *st, const char *id, tl_campaign_fn fn, void *arg,
                     tl_errbuf_t *eb) {
    listctx_t x = {fn, arg};
    if (!id) return tl_store_campaign_scan(st, list_row, &x, eb);
    int rc = tl_store_campaign_get(st, id, list_row, &x, eb);
    return rc > 0 ? 0 : rc;
}

cJSON *tl_campaign_info_json(const tl_campaign_info_t *ci) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", ci->id);
    cJSON_AddStringToObject(o, "name", ci->name);
    cJSON_AddStringToObject(o, "status", ci->status);
    cJSON_AddNumberToObject(o, "runs", (double)ci->runs);
    cJSON_AddNumberToObject(o, "sends", (double)ci->sends);
    cJSON_AddNumberToObject(o, "cost", ci->cost);
    char ts[32];
    if (ci->last_at != INT64_MIN) {
        tl_time_format(ci->last_at, ts);
        cJSON_AddStringToObject(o, "last_run_at", ts);
    }
    return o;
}

typedef struct {
    tl_store_t *st;
    char (*ids)[65];
    int *prio;
    int n, cap;
} actives_t;

static int active_row(const tl_campaign_info_t *ci, void *arg) {
    actives_t *x = arg;
    if (strcmp(ci->status, "active") != 0) return 0;
    if (x->n == x->cap) {
        int nc = x->cap ? x->cap * 2 : 16;
        void *a = realloc(x->ids, (size_t)nc * sizeof *x->ids), *b = realloc(x->prio, (size_t)nc * sizeof *x->prio);
        if (a) x->ids = a;
        if (b) x->prio = b;
        if (!a || !b) return TL_ENOMEM;
        x->cap = nc;
    }
    tl_campaign_t c;
    tl_errbuf_t eb;
    x->prio[x->n] = tl_campaign_get(x->st, ci->id, &c, &eb) == 0 ? c.priority : 0;
    tl_campaign_fini(&c);
    snprintf(x->ids[x->n++], 65, "%s", ci->id);
    return 0;
}

int tl_campaign_actives(tl_store_t *st, char (**ids)[65], int *n, tl_errbuf_t *eb) {
    actives_t x = {.st = st};
    int rc = tl_campaign_list(st, NULL, active_row, &x, eb);
    /* the highest priority first, ties in the store's order (by id) */
    for (int i = 1; !rc && i < x.n; i++)
        for (int j = i; j > 0 && x.prio[j - 1] < x.prio[j]; j--) {
            char t[65];
            int p = x.prio[j];
            memcpy(t, x.ids[j], 65), memcpy(x.ids[j], x.ids[j - 1], 65), memcpy(x.ids[j - 1], t, 65);
            x.prio[j] = x.prio[j - 1], x.prio[j - 1] = p;
        }
    free(x.prio);
    if (rc) free(x.ids), x.ids = NULL, x.n = 0;
    *ids = x.ids, *n = x.n;
    return rc;
}

int tl_campaign_set_status(tl_store_t *st, const char *id, const char *status, tl_errbuf_t *eb) {
    int rc = tl_store_begin(st, eb);
    if (!rc) rc = tl_store_campaign_set_status(st, id, status, eb);
    if (rc == 0) rc = no_campaign(eb, id);
    if (rc == 1) return tl_store_commit(st, eb);
    tl_store_rollback(st);
    return rc;
}

/* ---- do-not-contact ------------------------------------------------------------------- */

int tl_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason, int64_t at,
               const char *campaign, tl_errbuf_t *eb) {
    if (strcmp(channel, "*") != 0 && tl_dchannel_find(channel) < 0) {
        tl_errbuf_set(eb, "do-not-contact: unknown channel \"%s\"", channel);
        return TL_EINVAL;
    }
    /* an existing entry for all channels, or an earlier one, stays */
    int rc = tl_store_dnc_put(st, user, channel, reason, at, campaign, eb);
    return rc > 0 ? 0 : rc;
}

/* ---- erasure and retention ------------------------------------------------------------ */

typedef struct {
    tl_store_t *st;
    uint32_t user;
    const char *uid;
    int64_t before;
    tl_campaign_purge_t *out;
    tl_buf_t pat; /* ,"user":"<uid>", as run.c writes it */
    tl_errbuf_t *eb;
} purgectx_t;

static const char ERASED_LINE[] = "{\"erased\":true}";

int tl_campaign_line_erased(const char *line, size_t len) {
    return len >= sizeof ERASED_LINE - 1 && memcmp(line, ERASED_LINE, sizeof ERASED_LINE - 1) == 0;
}

/* Blanks line [a, b) (b at its newline) in place. */
static void blank_line(char *a, char *b) {
    size_t n = (size_t)(b - a), k = sizeof ERASED_LINE - 1;
    if (n < k) k = 0;
    memcpy(a, ERASED_LINE, k);
    memset(a + k, ' ', n - k);
}

/* The send time of an outbox line ("at":"...") or INT64_MIN. */
static int64_t line_at(const char *a, const char *b) {
    static const char key[] = "\"at\":\"";
    const char *p = memmem(a, (size_t)(b - a), key, sizeof key - 1);
    if (!p) return INT64_MIN;
    p += sizeof key - 1;
    const char *q = memchr(p, '"', (size_t)(b - p));
    int64_t t;
    return q && tl_time_parse(p, (size_t)(q - p), &t) == 0 ? t : INT64_MIN;
}

static int purge_outbox(purgectx_t *x, tl_buf_t *b) {
    int changed = 0;
    for (char *a = b->data, *end = b->data + b->len; a < end;) {
        char *nl = memchr(a, '\n', (size_t)(end - a));
        char *e = nl ? nl : end;
        if (!tl_campaign_line_erased(a, (size_t)(e - a))) {
            int hit = x->pat.len && memmem(a, (size_t)(e - a), x->pat.data, x->pat.len) != NULL;
            if (!hit && x->before != INT64_MIN) {
                int64_t t = line_at(a, e);
                hit = t != INT64_MIN && t < x->before;
            }
            if (hit) blank_line(a, e), changed = 1;
        }
        a = e + 1;
    }
    return changed;
}

/* Exposure and contact records: 16 bytes, the user first, the time at 8. */
static int purge_records(purgectx_t *x, tl_buf_t *b) {
    size_t w = 0, n = b->len / 16;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        int64_t at;
        memcpy(&u, b->data + i * 16, 4);
        memcpy(&at, b->data + i * 16 + 8, 8);
        if (u == x->user || at < x->before) continue;
        if (w != i) memmove(b->data + w * 16, b->data + i * 16, 16);
        w++;
    }
    int changed = w != n;
    b->len = w * 16;
    return changed;
}

static int purge_log(const char *name, void *arg) {
    purgectx_t *x = arg;
    int outbox = strncmp(name, "outbox/", 7) == 0;
    int records = strncmp(name, "exposures/", 10) == 0 || strcmp(name, "contacts") == 0;
    if (!outbox && !records) return 0;
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = tl_store_applog_read(x->st, name, 0, &b, x->eb);
    int changed = !rc && (outbox ? purge_outbox(x, &b) : purge_records(x, &b));
    if (!rc && changed) {
        tl_logswap_t *nl = realloc(x->out->logs, (size_t)(x->out->n + 1) * sizeof *nl);
        char *copy = nl ? strdup(name) : NULL;
        if (nl) x->out->logs = nl;
        if (!copy) rc = TL_ENOMEM;
        else {
            nl[x->out->n++] = (tl_logswap_t){copy, b.data, b.len};
            /* the records move: the index of the contacts log goes (read whole, made anew) */
            if (strcmp(name, "contacts") == 0 && !x->out->index)
                return tl_store_blob_create(x->st, "contacts", &x->out->index, x->eb);
            return 0; /* the buffer now belongs to the list */
        }
    }
    tl_buf_fini(&b);
    return rc;
}

int tl_campaign_purge_logs(tl_store_t *st, uint32_t user, const char *uid, int64_t before,
                           tl_campaign_purge_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    purgectx_t x = {st, user, uid, before, out, {0}, eb};
    tl_buf_init(&x.pat);
    int rc = 0;
    if (uid && (tl_buf_append(&x.pat, ",\"user\":", 8) || tl_buf_json_str(&x.pat, uid, strlen(uid)) ||
                tl_buf_append(&x.pat, ",", 1)))
        rc = TL_ENOMEM;
    if (!rc) rc = tl_store_applog_list(st, purge_log, &x, eb);
    tl_buf_fini(&x.pat);
    if (rc) tl_campaign_purge_free(out);
    return rc;
}

void tl_campaign_purge_free(tl_campaign_purge_t *p) {
    tl_blobw_abandon(p->index);
    for (int i = 0; i < p->n; i++) {
        free((char *)p->logs[i].name);
        free((void *)p->logs[i].data);
    }
    free(p->logs);
    memset(p, 0, sizeof *p);
}
