/* journey.c -- journeys: a campaign whose users go through steps (send,
 * wait, wait for an event, branch on the profile, exit) instead of being
 * sent one message. The definition is the campaign's "journey" object
 * (docs/FORMATS.md, "Journeys"), checked whole: every step named, reached
 * and its targets known, no loop that does not wait.
 *
 * A user enters on the campaign's trigger (its event, category, amount,
 * `unless` and `delay` as a trigger campaign's: the entry's time is the
 * trigger's decision time; a trigger more than `lookback` before the run
 * is too late), or without a trigger when a run finds them in the
 * audience. The arm and the hold-out are drawn at entry and kept: a
 * hold-out user goes through the same steps, each send recorded as a
 * hold-out exposure and nothing delivered, so the journey's lift is
 * measured like a campaign's (attribution takes each user's first
 * exposure).
 *
 * Each user's path is a function of their events and the clock: a step
 * happens at its nominal time (entry; a wait's end; the watched event, or
 * the end of its window), whichever run reaches it first. A run moves
 * every user through the steps whose time has come by the run's time, so
 * runs at any spacing give the same paths; sends are decided when the run
 * reaches them (the same checks as any campaign's: consent, do-not-contact,
 * caps at the delivery time, quiet hours, budget). The goal events
 * (exit_on) end the journey at their time, before any later step.
 *
 * Each user's state (step, arm, hold-out, entry and step times) is kept in
 * the blob journeys/ID, written in the run's batch with its decisions, so
 * a run killed half way leaves the states as they were and the next run
 * makes the same decisions once. The log is read whole at each run: an
 * event that arrives late is seen by the next run (a step already taken
 * stays taken); the blocks of the log that end before the earliest entry
 * a run may take, or the earliest entry of a user on their way, are not
 * read (tl_store_scan_since). */
#include "campaign_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the definition ------------------------------------------------------------------- */

static const tl__field_t JOURNEY_FIELDS[] = {
    {"steps", T_ARR}, {"exit_on", T_ARR | T_STR}, {"reentry", T_STR}, {NULL, 0}};
static const tl__field_t STEP_FIELDS[] = {
    {"id", T_STR}, {"send", T_OBJ}, {"wait", T_STR}, {"wait_for", T_ARR | T_STR},
    {"within", T_STR}, {"then", T_STR}, {"timeout", T_STR}, {"branch", T_ARR}, {"else", T_STR},
    {"exit", T_BOOL}, {"next", T_STR}, {NULL, 0}};
static const tl__field_t SEND_FIELDS[] = {
    {"channel", T_STR}, {"channels", T_ARR}, {"content", T_OBJ}, {"message", T_STR}, {NULL, 0}};
static const tl__field_t BRANCH_FIELDS[] = {{"if", T_STR}, {"next", T_STR}, {NULL, 0}};

void tl__journey_free(struct tl_journey *j) {
    if (!j) return;
    for (int k = 0; k < j->nsteps; k++) free(j->steps[k].msg.content), free(j->steps[k].msg.message);
    for (int k = 0; k < j->nconds; k++) free(j->conds[k]);
    free(j);
}

static int step_ok_id(const char *s) {
    size_t n = strlen(s);
    if (!n || n >= 32 || strcmp(s, "exit") == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || s[i] == '-' || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return 1;
}

/* The step named by field key of step obj (or dflt when absent), in *out. */
static int target(const cJSON *arr, const cJSON *obj, const char *key, int dflt,
                  const char *where, int *out, tl_errbuf_t *eb) {
    const cJSON *v = cJSON_GetObjectItem(obj, key);
    if (!v) return *out = dflt, 0;
    const char *s = v->valuestring;
    if (strcmp(s, "exit") == 0) return *out = TL_JEXIT, 0;
    int k = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) {
        const cJSON *id = cJSON_GetObjectItem(x, "id");
        if (cJSON_IsString(id) && strcmp(id->valuestring, s) == 0) return *out = k, 0;
        k++;
    }
    tl_errbuf_set(eb, "journey: step \"%s\": %s \"%s\" is not a step of the journey (nor \"exit\")",
                  where, key, s);
    return TL_EBADINPUT;
}

/* The bits of the watched events named by v (a type or a list of types). */
static int events_of(struct tl_journey *j, const cJSON *v, const char *where, uint32_t *bits,
                     tl_errbuf_t *eb) {
    *bits = 0;
    const cJSON *x, *one = cJSON_IsString(v) ? v : NULL;
    for (x = one ? one : v ? v->child : NULL; x; x = one ? NULL : x->next) {
        if (!cJSON_IsString(x) || !*x->valuestring || strlen(x->valuestring) >= 32) {
            tl_errbuf_set(eb, "journey: %s: event types are names such as purchase", where);
            return TL_EBADINPUT;
        }
        int k = 0;
        while (k < j->nevents && strcmp(j->events[k], x->valuestring) != 0) k++;
        if (k == j->nevents) {
            if (k == TL_JOURNEY_MAX_EVENTS) {
                tl_errbuf_set(eb, "journey: at most %d event types between wait_for and exit_on",
                              TL_JOURNEY_MAX_EVENTS);
                return TL_EBADINPUT;
            }
            snprintf(j->events[j->nevents++], 32, "%s", x->valuestring);
        }
        *bits |= 1u << k;
    }
    if (!*bits) {
        tl_errbuf_set(eb, "journey: %s: name at least one event type", where);
        return TL_EBADINPUT;
    }
    return 0;
}

static int parse_send(tl__jstep_t *s, const cJSON *o, const tl_campaign_t *c,
                      tl_errbuf_t *eb) {
    char where[64];
    snprintf(where, sizeof where, "journey: step \"%s\": send", s->id);
    int rc = tl__check_fields(o, SEND_FIELDS, where, eb);
    if (rc) return rc;
    const cJSON *one = cJSON_GetObjectItem(o, "channel"), *list = cJSON_GetObjectItem(o, "channels"), *x;
    if (one && list) return tl__bad(eb, "%s: give channel or channels, not both", where);
    for (x = one ? one : list ? list->child : NULL; x; x = one ? NULL : x->next) {
        int ch = cJSON_IsString(x) ? tl_dchannel_find(x->valuestring) : -1;
        if (ch < 0) {
            tl_errbuf_set(eb, "%s: \"%s\" is not push, sms, email, in_app, social or store_coupon", where,
                          cJSON_IsString(x) ? x->valuestring : "?");
            return TL_EBADINPUT;
        }
        for (int k = 0; k < s->nchannels; k++)
            if (s->channels[k] == ch) return tl__bad(eb, "%s: a channel is listed twice", where);
        s->channels[s->nchannels++] = ch;
    }
    if (!s->nchannels) { /* the campaign's */
        memcpy(s->channels, c->channels, sizeof s->channels);
        s->nchannels = c->nchannels;
    }
    snprintf(s->msg.name, sizeof s->msg.name, "%s", s->id);
    s->msg.weight = 1;
    const cJSON *ct = cJSON_GetObjectItem(o, "content");
    const cJSON *m = cJSON_GetObjectItem(o, "message");
    if (ct && (rc = tl__parse_content(ct, &s->msg, where, eb))) return rc;
    if (m && !(s->msg.message = strdup(m->valuestring))) return TL_ENOMEM;
    return 0;
}

/* Refuses a loop of steps that take no time (sends, branches): each
 * user's walk through a run must end. */
static int check_loops(const struct tl_journey *j, tl_errbuf_t *eb) {
    int color[TL_JOURNEY_MAX_STEPS] = {0}, stack[TL_JOURNEY_MAX_STEPS], edge[TL_JOURNEY_MAX_STEPS];
    for (int r = 0; r < j->nsteps; r++) {
        if (color[r]) continue;
        int sp = 0;
        stack[sp] = r, edge[sp] = 0, color[r] = 1;
        while (sp >= 0) {
            const tl__jstep_t *s = &j->steps[stack[sp]];
            int to[10], nto = 0;
            if (s->kind == TL_JSTEP_SEND) to[nto++] = s->next;
            if (s->kind == TL_JSTEP_BRANCH) {
                for (int k = 0; k < s->nbranch; k++) to[nto++] = s->to[k];
                to[nto++] = s->next;
            }
            if (edge[sp] == nto) {
                color[stack[sp--]] = 2;
                continue;
            }
            int t = to[edge[sp]++];
            if (t == TL_JEXIT || color[t] == 2) continue;
            if (color[t] == 1) {
                tl_errbuf_set(eb, "journey: step \"%s\" leads back to itself without a wait between "
                              "(a loop must wait)", j->steps[t].id);
                return TL_EBADINPUT;
            }
            color[t] = 1, stack[++sp] = t, edge[sp] = 0;
        }
    }
    return 0;
}

/* Refuses a step no arm's walk can reach. */
static int check_reached(const struct tl_journey *j, int narms, tl_errbuf_t *eb) {
    uint8_t seen[TL_JOURNEY_MAX_STEPS] = {0};
    int todo[TL_JOURNEY_MAX_STEPS * 12], n = 0;
    for (int a = 0; a < narms; a++) todo[n++] = j->start[a];
    while (n) {
        int k = todo[--n];
        if (k == TL_JEXIT || seen[k]) continue;
        seen[k] = 1;
        const tl__jstep_t *s = &j->steps[k];
        if (s->kind != TL_JSTEP_EXIT) todo[n++] = s->next;
        if (s->kind == TL_JSTEP_WAIT_FOR) todo[n++] = s->then, todo[n++] = s->timeout;
        for (int b = 0; b < s->nbranch; b++) todo[n++] = s->to[b];
    }
    for (int k = 0; k < j->nsteps; k++)
        if (!seen[k]) {
            tl_errbuf_set(eb, "journey: step \"%s\" is never reached (no step leads to it, nor an "
                          "arm's start)", j->steps[k].id);
            return TL_EBADINPUT;
        }
    return 0;
}

static int parse_step(struct tl_journey *j, const cJSON *arr, const cJSON *o, int k,
                      const tl_campaign_t *c, tl_errbuf_t *eb) {
    tl__jstep_t *s = &j->steps[k];
    int follow = k + 1 < cJSON_GetArraySize(arr) ? k + 1 : TL_JEXIT;
    const char *kinds[] = {"send", "wait", "wait_for", "branch", "exit"};
    int nk = 0;
    for (int t = 0; t < 5; t++)
        if (cJSON_GetObjectItem(o, kinds[t])) s->kind = t, nk++;
    if (nk != 1) {
        tl_errbuf_set(eb, "journey: step \"%s\" is one of send, wait, wait_for, branch or exit", s->id);
        return TL_EBADINPUT;
    }
    /* the fields each kind takes besides id */
    static const char *const ALLOWED[] = {"send next", "wait next", "wait_for within then timeout",
                                          "branch else", "exit"};
    const cJSON *f;
    cJSON_ArrayForEach(f, o) {
        const char *a = ALLOWED[s->kind];
        size_t len = strlen(f->string);
        if (strcmp(f->string, "id") == 0) continue;
        const char *p = strstr(a, f->string);
        while (p && !((p == a || p[-1] == ' ') && (p[len] == 0 || p[len] == ' '))) p = strstr(p + 1, f->string);
        if (!p) {
            tl_errbuf_set(eb, "journey: step \"%s\": a %s step has no field \"%s\"", s->id, kinds[s->kind],
                          f->string);
            return TL_EBADINPUT;
        }
    }
    int rc = 0;
    const char *dur = NULL;
    switch (s->kind) {
    case TL_JSTEP_SEND:
        rc = parse_send(s, cJSON_GetObjectItem(o, "send"), c, eb);
        if (!rc) rc = target(arr, o, "next", follow, s->id, &s->next, eb);
        break;
    case TL_JSTEP_WAIT:
        dur = cJSON_GetObjectItem(o, "wait")->valuestring;
        if (tl__parse_duration(dur, &s->dur) || s->dur <= 0) {
            tl_errbuf_set(eb, "journey: step \"%s\": wait is a duration above zero such as 30m, 2h or 1d", s->id);
            return TL_EBADINPUT;
        }
        rc = target(arr, o, "next", follow, s->id, &s->next, eb);
        break;
    case TL_JSTEP_WAIT_FOR: {
        char where[64];
        snprintf(where, sizeof where, "step \"%s\": wait_for", s->id);
        rc = events_of(j, cJSON_GetObjectItem(o, "wait_for"), where, &s->events, eb);
        const cJSON *w = cJSON_GetObjectItem(o, "within");
        if (!rc && (!w || tl__parse_duration(w->valuestring, &s->dur) || s->dur <= 0)) {
            tl_errbuf_set(eb, "journey: step \"%s\": wait_for needs \"within\", a duration above zero "
                          "such as 24h", s->id);
            return TL_EBADINPUT;
        }
        if (!rc) rc = target(arr, o, "then", follow, s->id, &s->then, eb);
        if (!rc) rc = target(arr, o, "timeout", follow, s->id, &s->timeout, eb);
        s->next = s->timeout;
        break;
    }
    case TL_JSTEP_BRANCH: {
        const cJSON *b = cJSON_GetObjectItem(o, "branch"), *x;
        if (cJSON_GetArraySize(b) < 1 || cJSON_GetArraySize(b) > 8) {
            tl_errbuf_set(eb, "journey: step \"%s\": branch is a list of 1 to 8 {\"if\": condition, "
                          "\"next\": step}", s->id);
            return TL_EBADINPUT;
        }
        cJSON_ArrayForEach(x, b) {
            char where[64];
            snprintf(where, sizeof where, "journey: step \"%s\": branch", s->id);
            if (!cJSON_IsObject(x) || (rc = tl__check_fields(x, BRANCH_FIELDS, where, eb))) {
                if (!rc) tl_errbuf_set(eb, "%s: each is {\"if\": condition, \"next\": step}", where);
                return rc ? rc : TL_EBADINPUT;
            }
            const cJSON *cond = cJSON_GetObjectItem(x, "if");
            if (!cond || !*cond->valuestring || !cJSON_GetObjectItem(x, "next")) {
                tl_errbuf_set(eb, "%s: each needs \"if\" (a condition on the profile) and \"next\"", where);
                return TL_EBADINPUT;
            }
            if (j->nconds == TL_JOURNEY_MAX_CONDS)
                return tl__bad(eb, "journey: at most 32 branch conditions%s", "");
            if (!(j->conds[j->nconds] = strdup(cond->valuestring))) return TL_ENOMEM;
            s->cond[s->nbranch] = j->nconds++;
            if ((rc = target(arr, x, "next", TL_JEXIT, s->id, &s->to[s->nbranch], eb))) return rc;
            s->nbranch++;
        }
        rc = target(arr, o, "else", follow, s->id, &s->next, eb);
        break;
    }
    case TL_JSTEP_EXIT:
        if (!cJSON_IsTrue(cJSON_GetObjectItem(o, "exit")))
            return tl__bad(eb, "journey: step \"%s\": exit is true (the user leaves here)", s->id);
        s->next = TL_JEXIT;
        break;
    }
    return rc;
}

int tl__journey_parse(const cJSON *root, tl_campaign_t *c, tl_errbuf_t *eb) {
    const cJSON *jo = cJSON_GetObjectItem(root, "journey");
    int rc = tl__check_fields(jo, JOURNEY_FIELDS, "journey", eb);
    if (rc) return rc;
    if (c->trig == TL_TRIG_CITY)
        return tl__bad(eb, "journey: users enter on an event trigger or the audience; city_change is "
                           "for single messages%s", "");
    if (c->sched != TL_SCHED_NOW)
        return tl__bad(eb, "journey: give no schedule: users enter on the trigger or, without one, "
                           "when a run finds them in the audience%s", "");
    struct tl_journey *j = calloc(1, sizeof *j);
    if (!j) return TL_ENOMEM;
    c->journey = j;
    const cJSON *steps = cJSON_GetObjectItem(jo, "steps"), *x;
    int n = cJSON_GetArraySize(steps);
    if (n < 1 || n > TL_JOURNEY_MAX_STEPS)
        return tl__bad(eb, "journey: \"steps\" is a list of 1 to 32 steps%s", "");
    /* ids first, so steps can name those after them */
    cJSON_ArrayForEach(x, steps) {
        const cJSON *id = cJSON_GetObjectItem(x, "id");
        if (!cJSON_IsObject(x) || !cJSON_IsString(id) || !step_ok_id(id->valuestring))
            return tl__bad(eb, "journey: each step is an object with an \"id\" of 1 to 31 letters, "
                               "digits, '_' or '-' (not \"exit\")%s", "");
        for (int k = 0; k < j->nsteps; k++)
            if (strcmp(j->steps[k].id, id->valuestring) == 0)
                return tl__bad(eb, "journey: two steps are named \"%s\"", id->valuestring);
        snprintf(j->steps[j->nsteps++].id, 32, "%s", id->valuestring);
    }
    int k = 0;
    cJSON_ArrayForEach(x, steps) {
        char where[64];
        snprintf(where, sizeof where, "journey: step \"%s\"", j->steps[k].id);
        if ((rc = tl__check_fields(x, STEP_FIELDS, where, eb))) return rc;
        if ((rc = parse_step(j, steps, x, k++, c, eb))) return rc;
    }
    const cJSON *ex = cJSON_GetObjectItem(jo, "exit_on");
    if (ex && (rc = events_of(j, ex, "exit_on", &j->exit_on, eb))) return rc;
    const cJSON *re = cJSON_GetObjectItem(jo, "reentry");
    j->reentry = -1;
    if (re && strcmp(re->valuestring, "never") != 0 &&
        (tl__parse_duration(re->valuestring, &j->reentry) || j->reentry < 0))
        return tl__bad(eb, "journey: reentry is \"never\" or a duration such as 30d (the time after "
                           "leaving before a user may enter again), not \"%s\"", re->valuestring);
    /* each arm's first step */
    const cJSON *arms = cJSON_GetObjectItem(root, "arms");
    for (int a = 0; a < c->narms; a++) j->start[a] = 0;
    int a = 0;
    cJSON_ArrayForEach(x, arms) {
        if (cJSON_GetObjectItem(x, "start") &&
            (rc = target(steps, x, "start", 0, c->arms[a].name, &j->start[a], eb)))
            return rc;
        if (j->start[a] == TL_JEXIT) return tl__bad(eb, "arms: \"%s\" starts at a step, not at exit", c->arms[a].name);
        a++;
    }
    if ((rc = check_loops(j, eb))) return rc;
    return check_reached(j, c->narms, eb);
}

/* ---- the states ------------------------------------------------------------------------ */

#define JMAGIC "TLJRNY1"
enum { J_HOLD = 1, J_DONE = 2, J_GOAL = 4 };

typedef struct {
    char magic[8];
    int64_t origin;            /* entries before this are not taken */
    uint64_t n;                /* states that follow, by user */
    uint64_t pad;
} jhead_t;

typedef struct {
    uint32_t user;
    uint8_t step, arm, flags, pad;
    int64_t entered;           /* when the user entered */
    int64_t since;             /* when the current step began; when done, when they left */
} jstate_t;
_Static_assert(sizeof(jhead_t) == 32 && sizeof(jstate_t) == 24, "journey states");

static int blob_name(const tl_campaign_t *c, char *out, size_t cap) {
    return tl_store_blob_name(TL_BLOB_JOURNEYS, c->id, out, cap);
}

/* The states kept (none: *n = 0 and origin untouched). */
static int states_read(tl_store_t *st, const tl_campaign_t *c, int64_t *origin, jstate_t **out,
                       size_t *n, tl_errbuf_t *eb) {
    char name[300];
    tl_buf_t b;
    *out = NULL, *n = 0;
    if (blob_name(c, name, sizeof name)) return 0;
    tl_buf_init(&b);
    int rc = tl_store_blob_get(st, name, &b, eb);
    if (rc == TL_ENOENT) return tl_buf_fini(&b), 0;
    jhead_t h;
    if (!rc && (b.len < sizeof h || (memcpy(&h, b.data, sizeof h), memcmp(h.magic, JMAGIC, 8)) ||
                (b.len - sizeof h) / sizeof **out != h.n || (b.len - sizeof h) % sizeof **out)) {
        tl_errbuf_set(eb, "the blob %s is damaged (%zu bytes)", name, b.len);
        rc = TL_ECORRUPT;
    }
    if (!rc) {
        *origin = h.origin, *n = h.n;
        if (!(*out = malloc(h.n * sizeof **out + 1))) rc = TL_ENOMEM;
        else memcpy(*out, b.data + sizeof h, h.n * sizeof **out);
    }
    tl_buf_fini(&b);
    return rc;
}

/* A writer of the states, not yet installed (*w NULL on failure). */
static int states_writer(tl_store_t *st, const tl_campaign_t *c, int64_t origin, const jstate_t *s,
                         size_t n, tl_blobw_t **w, tl_errbuf_t *eb) {
    char name[300];
    *w = NULL;
    if (blob_name(c, name, sizeof name)) {
        tl_errbuf_set(eb, "campaign id \"%s\" is too long for a journey's states", c->id);
        return TL_EINVAL;
    }
    jhead_t h = {JMAGIC, origin, n, 0};
    int rc = tl_store_blob_create(st, name, w, eb);
    if (!rc) rc = tl_blobw_write(*w, &h, sizeof h, eb);
    if (!rc && n) rc = tl_blobw_write(*w, s, n * sizeof *s, eb);
    if (rc) tl_blobw_abandon(*w), *w = NULL;
    return rc;
}

static int states_write(tl__run_t *x, int64_t origin, const jstate_t *s, size_t n) {
    tl_blobw_t *w;
    int rc = states_writer(x->st, x->c, origin, s, n, &w, x->eb);
    return rc ? rc : tl_blobw_close(w, x->eb);
}

/* ---- the events ------------------------------------------------------------------------ */

#define EV_ENTRY (1u << 31)
#define EV_UNLESS (1u << 30)
#define EV_RESET (1u << 29)

typedef struct {
    uint32_t user, bits;
    int64_t ts;
} jev_t;

typedef struct {
    tl__run_t *x;
    uint32_t entry, unless, reset; /* event types (TL_NONE: none) */
    uint32_t watch[TL_JOURNEY_MAX_EVENTS];
    int nwatch;
    const uint8_t *item_ok;      /* the trigger's category (NULL: any item) */
    uint32_t nitems;
    double min_amount;
    uint64_t end;
    int64_t at;
    jev_t *ev;
    size_t n, cap;
} jscan_t;

static int jev_block(const tl_evblock_t *b, void *arg) {
    jscan_t *t = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->first_seq + i >= t->end) return 1;
        uint32_t u = b->user[i], ty = b->type[i], bits = 0;
        int64_t ts = b->ts[i];
        if (ts > t->at || u >= t->x->nall || (u = tl__person(t->x, u)) >= t->x->nusers) continue;
        if (ty == t->entry) {
            uint32_t it = b->item[i];
            if ((!t->item_ok || (it < t->nitems && t->item_ok[it])) &&
                (isnan(t->min_amount) || b->amount[i] >= t->min_amount))
                bits |= EV_ENTRY;
        }
        if (ty == t->unless) bits |= EV_UNLESS;
        if (ty == t->reset) bits |= EV_RESET;
        for (int k = 0; k < t->nwatch; k++)
            if (ty == t->watch[k]) bits |= 1u << k;
        if (!bits) continue;
        if (t->n == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 4096;
            jev_t *ne = realloc(t->ev, nc * sizeof *ne);
            if (!ne) return TL_ENOMEM;
            t->ev = ne, t->cap = nc;
        }
        t->ev[t->n++] = (jev_t){u, bits, ts};
    }
    return 0;
}

static int cmp_jev(const void *a, const void *b) {
    const jev_t *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return ((y->bits & EV_RESET) != 0) - ((x->bits & EV_RESET) != 0); /* a reset at the same time first */
}

/* The events the journey looks at, by user and time, from `since` (the
 * blocks that end before it are not read) to the run's time and the log's
 * row end. */
static int scan_events(tl__run_t *x, int64_t since, uint64_t end, jev_t **out, size_t *n) {
    const tl_campaign_t *c = x->c;
    const struct tl_journey *j = c->journey;
    jscan_t t = {.x = x, .entry = TL_NONE, .unless = TL_NONE, .reset = TL_NONE,
                 .min_amount = c->trig_min_amount,
                 .end = end, .at = x->o->at};
    tl_dict_t *types = tl_store_dict(x->st, TL_D_TYPE, x->eb);
    if (!types) return TL_ENOMEM;
    if (c->trig) {
        t.entry = tl_dict_find(types, c->trig_event, strlen(c->trig_event));
        if (c->trig_unless[0]) t.unless = tl_dict_find(types, c->trig_unless, strlen(c->trig_unless));
        if (c->trig_reset[0]) t.reset = tl_dict_find(types, c->trig_reset, strlen(c->trig_reset));
    }
    for (int k = 0; k < j->nevents; k++) t.watch[k] = tl_dict_find(types, j->events[k], strlen(j->events[k]));
    t.nwatch = j->nevents;
    int rc = 0;
    if (c->trig && c->trig_category[0]) {
        uint8_t *ok;
        rc = tl__items_in(x->st, c->trig_category, &ok, &t.nitems, x->eb);
        t.item_ok = ok;
    }
    uint32_t want = TL_EVC_USER | TL_EVC_TS | TL_EVC_TYPE | TL_EVC_ITEM |
                    (isnan(c->trig_min_amount) ? 0 : TL_EVC_AMOUNT);
    if (!rc && (rc = tl_store_scan_since(x->st, since, want, jev_block, &t, x->eb)) == 1) rc = 0;
    free((void *)t.item_ok);
    if (!rc && t.n) qsort(t.ev, t.n, sizeof *t.ev, cmp_jev);
    if (rc) free(t.ev), t.ev = NULL, t.n = 0;
    *out = t.ev, *n = t.n;
    return rc;
}

/* ---- a user's walk --------------------------------------------------------------------- */

typedef struct {
    tl__run_t *x;
    int64_t origin, at, wake;    /* wake: the first time a state waits for after the run */
    int64_t recent;              /* entries after this only (the run's time less the lookback) */
    uint64_t entered, goals, left, active;
    uint64_t by_step[TL_JOURNEY_MAX_STEPS];
} walk_t;

/* The entry time of the first trigger in ev[0..n) after `after`
 * (INT64_MIN: none so far); the trigger's decision time when it has not come
 * yet goes to wake. */
static int64_t first_entry(walk_t *w, const jev_t *ev, size_t n, int64_t after) {
    const tl_campaign_t *c = w->x->c;
    int64_t within = c->trig_unless[0] ? c->trig_within : 0;
    int64_t lag = within > c->trig_delay ? within : c->trig_delay;
    uint32_t count = 0; /* nth: the user's events of the type since the last reset */
    for (size_t i = 0; i < n; i++) {
        if (ev[i].bits & EV_RESET) count = 0;
        if (!(ev[i].bits & EV_ENTRY)) continue;
        if (c->trig_nth && ++count != c->trig_nth) continue;
        if (ev[i].ts <= after || ev[i].ts < c->start || ev[i].ts >= c->end) continue;
        int cancelled = 0;
        for (size_t k = i + 1; within && k < n && ev[k].ts <= ev[i].ts + within; k++)
            if ((ev[k].bits & EV_UNLESS) && ev[k].ts > ev[i].ts) cancelled = 1;
        if (cancelled) continue;
        int64_t t = ev[i].ts + lag;
        if (t > w->at) { /* a trigger whose time has not come: a later run's */
            if (t < w->wake) w->wake = t;
            return INT64_MIN;
        }
        return t;
    }
    return INT64_MIN;
}

/* The first event in ev[0..n) with a bit of `bits` after t0 (INT64_MAX: none). */
static int64_t first_after(const jev_t *ev, size_t n, uint32_t bits, int64_t t0) {
    for (size_t i = 0; i < n; i++)
        if ((ev[i].bits & bits) && ev[i].ts > t0) return ev[i].ts;
    return INT64_MAX;
}

/* Moves user u (state s, events ev[0..n)) through the steps whose time
 * has come. */
static int walk(walk_t *w, uint32_t u, jstate_t *s, const jev_t *ev, size_t n, int in_audience) {
    tl__run_t *x = w->x;
    const tl_campaign_t *c = x->c;
    const struct tl_journey *j = c->journey;
    int fresh = s->user == TL_NONE;
    /* entry */
    if (fresh || (s->flags & J_DONE)) {
        if (!fresh && j->reentry < 0) return 0;
        int64_t after = fresh ? w->origin : s->since + j->reentry - 1;
        if (!fresh && after < s->entered) after = s->entered;
        if (after < w->origin) after = w->origin;
        if (after < w->recent) after = w->recent; /* an entry more than lookback old: too late */
        if (x->o->audience && !in_audience) return 0;
        int64_t t = c->trig ? first_entry(w, ev, n, after) : w->at;
        if (t == INT64_MIN || (!c->trig && !fresh && w->at <= after)) return 0;
        int arm, hold;
        tl__assign(c, tl_ids_str(&x->users, u, NULL), &arm, &hold);
        *s = (jstate_t){.user = u, .step = (uint8_t)j->start[arm], .arm = (uint8_t)arm,
                        .flags = (uint8_t)(hold ? J_HOLD : 0), .entered = t, .since = t};
        w->entered++;
        tl_exposure_t e = {.user = u, .run = (uint16_t)x->run, .decision = TL_EXPO_ENTERED,
                           .arm_chan = (uint8_t)(arm << 4 | (hold ? TL_EXPO_HELD : 0xF)), .at = t};
        int rc = x->o->dry_run ? 0 : tl_applog_write(x->expo, &e, sizeof e, x->eb);
        if (rc) return rc;
    }
    int64_t goal = j->exit_on ? first_after(ev, n, j->exit_on, s->entered) : INT64_MAX;
    uint32_t sent = 0; /* the send steps taken in this run */
    for (int moves = 0; moves < 4096; moves++) {
        const tl__jstep_t *sp = &j->steps[s->step];
        int64_t t = s->since; /* when this step is over */
        int nx = sp->next;
        if (sp->kind == TL_JSTEP_WAIT) {
            t = s->since + sp->dur;
        } else if (sp->kind == TL_JSTEP_WAIT_FOR) {
            int64_t e = first_after(ev, n, sp->events, s->since);
            if (e <= s->since + sp->dur) t = e, nx = sp->then;
            else t = s->since + sp->dur, nx = sp->timeout;
        }
        if (goal != INT64_MAX && goal <= t && goal <= w->at) { /* the goal reached first */
            s->flags |= J_DONE | J_GOAL, s->since = goal;
            w->goals++;
            return 0;
        }
        if (t > w->at) { /* not yet */
            if (t < w->wake) w->wake = t;
            w->active++;
            return 0;
        }
        if (sp->kind == TL_JSTEP_SEND && (sent & 1u << s->step)) {
            /* a loop brought the user back to a send this run made: the
             * next run sends it (a record is one run, user and step) */
            w->wake = w->at;
            w->active++;
            return 0;
        }
        if (sp->kind == TL_JSTEP_SEND) {
            sent |= 1u << s->step;
            tl__send_t snd = {sp->channels, sp->nchannels, &sp->msg, sp->id,
                              s->arm, (s->flags & J_HOLD) != 0};
            int64_t lag = w->at - t;
            x->res->lag_ms_sum += lag;
            x->res->lag_hist[tl_lag_bucket(lag)]++;
            uint64_t before = x->res->audience;
            int rc = tl__decide(x, u, w->at, &snd);
            if (rc) return rc;
            w->by_step[s->step] += x->res->audience - before;
        } else if (sp->kind == TL_JSTEP_BRANCH) {
            for (int b = 0; b < sp->nbranch; b++) {
                const uint8_t *m = x->o->conds ? x->o->conds[sp->cond[b]] : NULL;
                if (m && u < x->o->ncond_users && m[u]) {
                    nx = sp->to[b];
                    break;
                }
            }
        } else if (sp->kind == TL_JSTEP_EXIT) {
            nx = TL_JEXIT;
        }
        if (nx == TL_JEXIT) {
            s->flags |= J_DONE, s->since = t;
            w->left++;
            return 0;
        }
        s->step = (uint8_t)nx, s->since = t;
    }
    /* a long way through a looping journey: the next run goes on */
    w->wake = w->at;
    w->active++;
    return 0;
}

/* The users' walks: every user with a state or an event (every user of
 * the audience when they enter by it), in user order. */
int tl__journey_run(tl__run_t *x, int64_t origin, uint64_t end) {
    const tl_campaign_t *c = x->c;
    const tl_run_opts_t *o = x->o;
    jstate_t *old = NULL, *neu = NULL;
    size_t nold = 0, nnew = 0;
    jev_t *ev = NULL;
    size_t nev = 0;
    int rc = states_read(x->st, c, &origin, &old, &nold, x->eb);
    /* what the run reads: entries within the lookback, and what the users
     * on their way await since they entered */
    int64_t recent = c->trig ? o->at - c->trig_lookback - 1 : INT64_MIN;
    int64_t since = c->trig_nth ? INT64_MIN : c->trig ? recent : o->at; /* nth: whole histories */
    for (size_t k = 0; k < nold; k++)
        if (!(old[k].flags & J_DONE) && old[k].entered < since) since = old[k].entered;
    if (!rc) rc = scan_events(x, since, end, &ev, &nev);
    if (!rc && !(neu = malloc((nold + x->nusers + 1) * sizeof *neu))) rc = TL_ENOMEM;
    walk_t w = {.x = x, .origin = origin, .at = o->at, .wake = INT64_MAX, .recent = recent};
    size_t i = 0, e = 0;
    uint32_t u = 0;
    while (!rc) {
        /* the next user with something: a state, an event, or the audience */
        uint32_t next = UINT32_MAX;
        if (i < nold) next = old[i].user;
        if (e < nev && ev[e].user < next) next = ev[e].user;
        if (!c->trig) {
            while (u < x->nusers && u < next && (tl__person(x, u) != u || (o->audience && !o->audience[u]))) u++;
            if (u < x->nusers && u < next) next = u;
        }
        if (next == UINT32_MAX || next >= x->nusers) break;
        jstate_t s = {.user = TL_NONE};
        if (i < nold && old[i].user == next) s = old[i++];
        size_t e0 = e;
        while (e < nev && ev[e].user == next) e++;
        u = next + 1;
        if (tl__person(x, next) != next) { /* linked into another person since: kept as it was */
            if (s.user != TL_NONE) neu[nnew++] = s;
            continue;
        }
        int in = !o->audience || (next < o->nusers && o->audience[next]);
        rc = walk(&w, next, &s, ev ? ev + e0 : NULL, e - e0, in);
        if (!rc && s.user != TL_NONE) neu[nnew++] = s;
    }
    for (; !rc && i < nold; i++) neu[nnew++] = old[i]; /* users beyond the audience's length */
    if (!rc) {
        tl_run_result_t *r = x->res;
        r->journey_entered = w.entered, r->journey_goals = w.goals, r->journey_left = w.left;
        r->journey_active = w.active;
        memcpy(r->by_step, w.by_step, sizeof r->by_step);
        int64_t nd = w.wake == INT64_MAX ? INT64_MIN : w.wake;
        if (nd != INT64_MIN && (r->next_due == INT64_MIN || nd < r->next_due)) r->next_due = nd;
        if (!o->dry_run) rc = states_write(x, origin, neu, nnew);
    }
    free(old), free(neu), free(ev);
    return rc;
}

/* ---- where the users are ------------------------------------------------------------- */

int tl_journey_positions(tl_store_t *st, const tl_campaign_t *c, tl_journey_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    if (!c->journey) {
        tl_errbuf_set(eb, "campaign %s is not a journey", c->id);
        return TL_EINVAL;
    }
    int64_t origin = 0;
    jstate_t *s = NULL;
    size_t n = 0;
    tl_ids_t users = {0};
    int rc = states_read(st, c, &origin, &s, &n, eb);
    if (!rc && n) rc = tl_store_ids(st, TL_D_USER, &users, eb);
    for (size_t i = 0; !rc && i < n; i++) {
        const jstate_t *e = &s[i];
        tl_journey_pos_t p = {
            .user = e->user < users.n ? tl_ids_str(&users, e->user, NULL) : "",
            .step = e->flags & J_DONE ? NULL : c->journey->steps[e->step].id,
            .arm = c->arms[e->arm < c->narms ? e->arm : 0].name,
            .holdout = (e->flags & J_HOLD) != 0, .goal = (e->flags & J_GOAL) != 0,
            .entered = e->entered, .since = e->since};
        rc = fn(&p, arg);
    }
    free(s);
    return rc < 0 ? rc : 0;
}

typedef struct {
    const tl_campaign_t *c;
    uint64_t at_step[TL_JOURNEY_MAX_STEPS], by_arm[TL_CAMPAIGN_MAX_ARMS];
    uint64_t users, held, left, goals;
} sum_t;

static int sum_row(const tl_journey_pos_t *p, void *arg) {
    sum_t *m = arg;
    const struct tl_journey *j = m->c->journey;
    m->users++, m->held += p->holdout;
    if (!p->step) {
        if (p->goal) m->goals++;
        else m->left++;
    }
    for (int k = 0; p->step && k < j->nsteps; k++)
        if (strcmp(j->steps[k].id, p->step) == 0) m->at_step[k]++;
    for (int a = 0; a < m->c->narms; a++)
        if (strcmp(m->c->arms[a].name, p->arm) == 0) m->by_arm[a]++;
    return 0;
}

cJSON *tl_journey_json(tl_store_t *st, const tl_campaign_t *c, tl_errbuf_t *eb) {
    static const char *const KIND[] = {"send", "wait", "wait_for", "branch", "exit"};
    sum_t m = {.c = c};
    if (tl_journey_positions(st, c, sum_row, &m, eb)) return NULL;
    cJSON *o = cJSON_CreateObject(), *steps = cJSON_AddArrayToObject(o, "steps");
    cJSON *arms = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "campaign", c->id);
    cJSON_AddNumberToObject(o, "users", (double)m.users);
    cJSON_AddNumberToObject(o, "held_out", (double)m.held);
    cJSON_AddNumberToObject(o, "reached_goal", (double)m.goals);
    cJSON_AddNumberToObject(o, "left", (double)m.left);
    cJSON_AddNumberToObject(o, "on_the_way", (double)(m.users - m.goals - m.left));
    for (int a = 0; a < c->narms; a++) cJSON_AddNumberToObject(arms, c->arms[a].name, (double)m.by_arm[a]);
    cJSON_AddItemToObject(o, "by_arm", arms);
    for (int k = 0; k < c->journey->nsteps; k++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", c->journey->steps[k].id);
        cJSON_AddStringToObject(e, "kind", KIND[c->journey->steps[k].kind]);
        cJSON_AddNumberToObject(e, "users", (double)m.at_step[k]);
        cJSON_AddItemToArray(steps, e);
    }
    return o;
}

/* ---- erasure --------------------------------------------------------------------------- */

typedef struct {
    tl_store_t *st;
    uint32_t user;
    int (*add)(tl_blobw_t *w, void *arg);
    void *arg;
    int n;
    tl_errbuf_t *eb;
} erasectx_t;

static int erase_row(const tl_campaign_info_t *ci, void *arg) {
    erasectx_t *x = arg;
    tl_campaign_t c;
    int rc = tl_campaign_get(x->st, ci->id, &c, x->eb);
    if (rc) return rc;
    int64_t origin = 0;
    jstate_t *s = NULL;
    size_t n = 0, k = 0;
    if (c.journey) rc = states_read(x->st, &c, &origin, &s, &n, x->eb);
    while (k < n && s[k].user != x->user) k++;
    if (!rc && k < n) {
        tl_blobw_t *w;
        memmove(s + k, s + k + 1, (n - k - 1) * sizeof *s);
        rc = states_writer(x->st, &c, origin, s, n - 1, &w, x->eb);
        if (!rc && !(rc = x->add(w, x->arg))) x->n++;
    }
    free(s);
    tl_campaign_fini(&c);
    return rc;
}

int tl_journey_erase_user(tl_store_t *st, uint32_t user, int (*add)(tl_blobw_t *w, void *arg),
                          void *arg, tl_errbuf_t *eb) {
    erasectx_t x = {st, user, add, arg, 0, eb};
    int rc = tl_campaign_list(st, NULL, erase_row, &x, eb);
    return rc ? rc : x.n;
}
