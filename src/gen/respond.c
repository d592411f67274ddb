/* respond.c -- the generated world's answers to a campaign: which
 * delivered users convert because of it, by the ground truth in
 * truth.json (see gen.h for the model). */
#include "gen.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "store/store.h"

#define MAXCAT 64

typedef struct {
    float taste[MAXCAT];
    float sens, risk, resp[4]; /* push, sms, email, in_app */
    int has;
} utruth_t;

typedef struct {
    int ncat;
    char cats[MAXCAT][32];
    utruth_t *u;               /* per user index */
    uint32_t nusers;
    int *item_cat;             /* per item index: top category, -1 */
    double *price;
    uint32_t nitems;
    uint32_t *by_cat[MAXCAT];  /* items of each top category */
    uint32_t ncat_items[MAXCAT];
    tl_dict_t *users, *items;
} world_t;

static int cat_index(const world_t *w, const char *path) {
    size_t n = strcspn(path, "/");
    for (int c = 0; c < w->ncat; c++)
        if (strlen(w->cats[c]) == n && strncmp(w->cats[c], path, n) == 0) return c;
    return -1;
}

static int load_truth(world_t *w, const char *path, tl_errbuf_t *eb) {
    char *text = NULL;
    if (tl_read_file(path, &text, NULL)) {
        tl_errbuf_set(eb, "cannot read %s (the world's truth.json)", path);
        return TL_EIO;
    }
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *cats = cJSON_GetObjectItem(j, "categories"), *ut = cJSON_GetObjectItem(j, "user_truth"), *x;
    if (!cJSON_IsArray(cats) || !cJSON_IsArray(ut)) {
        cJSON_Delete(j);
        tl_errbuf_set(eb, "%s: not a world's truth.json (no categories or user_truth)", path);
        return TL_EBADINPUT;
    }
    cJSON_ArrayForEach(x, cats) if (cJSON_IsString(x) && w->ncat < MAXCAT)
        snprintf(w->cats[w->ncat++], 32, "%s", x->valuestring);
    static const char *const CH[4] = {"push", "sms", "email", "in_app"};
    cJSON_ArrayForEach(x, ut) {
        const cJSON *id = cJSON_GetObjectItem(x, "user");
        uint32_t u = cJSON_IsString(id) ? tl_dict_find(w->users, id->valuestring, strlen(id->valuestring)) : TL_NONE;
        if (u >= w->nusers) continue;
        utruth_t *t = &w->u[u];
        const cJSON *ta = cJSON_GetObjectItem(x, "tastes"), *r = cJSON_GetObjectItem(x, "channel_response");
        for (int c = 0; c < w->ncat; c++) {
            const cJSON *v = cJSON_GetObjectItem(ta, w->cats[c]);
            t->taste[c] = cJSON_IsNumber(v) ? (float)v->valuedouble : 0;
        }
        for (int m = 0; m < 4; m++) {
            const cJSON *v = cJSON_GetObjectItem(r, CH[m]);
            t->resp[m] = cJSON_IsNumber(v) ? (float)v->valuedouble : 0;
        }
        const cJSON *s = cJSON_GetObjectItem(x, "price_sensitivity"), *k = cJSON_GetObjectItem(x, "risk");
        t->sens = cJSON_IsNumber(s) ? (float)s->valuedouble : 0.5f;
        t->risk = cJSON_IsNumber(k) ? (float)k->valuedouble : 0.1f;
        t->has = 1;
    }
    cJSON_Delete(j);
    return 0;
}

static int item_row(uint32_t item, const tl_item_t *it, void *arg) {
    world_t *w = arg;
    if (item >= w->nitems) return 0;
    w->item_cat[item] = it->category ? cat_index(w, it->category) : -1;
    w->price[item] = it->price;
    return 0;
}

static int load_items(world_t *w, tl_store_t *st, tl_errbuf_t *eb) {
    w->nitems = tl_dict_count(w->items);
    if (!(w->item_cat = malloc(((size_t)w->nitems + 1) * sizeof *w->item_cat)) ||
        !(w->price = malloc(((size_t)w->nitems + 1) * sizeof *w->price)))
        return TL_ENOMEM;
    for (uint32_t i = 0; i < w->nitems; i++) w->item_cat[i] = -1, w->price[i] = NAN;
    int rc = tl_store_scan_items(st, item_row, w, eb);
    for (uint32_t i = 0; !rc && i < w->nitems; i++)
        if (w->item_cat[i] >= 0) w->ncat_items[w->item_cat[i]]++;
    for (int c = 0; !rc && c < w->ncat; c++) {
        if (!(w->by_cat[c] = malloc((w->ncat_items[c] + 1) * sizeof **w->by_cat))) rc = TL_ENOMEM;
        w->ncat_items[c] = 0;
    }
    for (uint32_t i = 0; !rc && i < w->nitems; i++)
        if (w->item_cat[i] >= 0) w->by_cat[w->item_cat[i]][w->ncat_items[w->item_cat[i]]++] = i;
    return rc;
}

static int chan_slot(const char *ch) {
    if (strcmp(ch, "push") == 0) return 0;
    if (strcmp(ch, "sms") == 0) return 1;
    if (strcmp(ch, "email") == 0) return 2;
    return 3; /* in_app, social, store_coupon: seen when the user is on the app or in store */
}

static int best_cat(const utruth_t *t, int ncat) {
    int b = 0;
    for (int c = 1; c < ncat; c++)
        if (t->taste[c] > t->taste[b]) b = c;
    return b;
}

/* The response probability; *item gets what a purchase would be of. */
static double effect_of(const world_t *w, const utruth_t *t, int slot, const char *type,
                        const cJSON *items, double scale, uint32_t *item) {
    double factor;
    int bc = best_cat(t, w->ncat);
    *item = TL_NONE;
    if (strcmp(type, "coupon") == 0) {
        factor = 0.6 + 1.6 * t->sens;
    } else if (strcmp(type, "offer") == 0) {
        factor = 1.2;
    } else {
        double best = -1;
        const cJSON *x;
        cJSON_ArrayForEach(x, items) {
            uint32_t it = cJSON_IsString(x) ? tl_dict_find(w->items, x->valuestring, strlen(x->valuestring)) : TL_NONE;
            int c = it < w->nitems ? w->item_cat[it] : -1;
            if (c >= 0 && t->taste[c] > best) best = t->taste[c], *item = it;
        }
        if (best < 0) best = t->taste[bc];
        factor = 0.4 + 4 * best;
    }
    double p = scale * t->resp[slot] * factor;
    return p > 0.9 ? 0.9 : p;
}

typedef struct {
    world_t *w;
    const tl_respond_opts_t *o;
    FILE *out;
    tl_respond_stats_t *s;
    uint64_t n;
    int slot_count[4], type_count[4];
    tl_errbuf_t *eb;
} respctx_t;

static const char *const TYPES[4] = {"recommendations", "coupon", "offer", "items"};

static int one_line(respctx_t *x, const char *line, size_t len) {
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *camp = cJSON_GetObjectItem(j, "campaign"), *user = cJSON_GetObjectItem(j, "user");
    const cJSON *ch = cJSON_GetObjectItem(j, "channel"), *at = cJSON_GetObjectItem(j, "at");
    const cJSON *content = cJSON_GetObjectItem(j, "content"), *run = cJSON_GetObjectItem(j, "run");
    const cJSON *type = cJSON_GetObjectItem(content, "type");
    int64_t ts;
    if (!cJSON_IsString(camp) || strcmp(camp->valuestring, x->o->campaign) != 0 ||
        !cJSON_IsString(user) || !cJSON_IsString(ch) || !cJSON_IsString(at) ||
        !cJSON_IsString(type) || tl_time_parse(at->valuestring, strlen(at->valuestring), &ts)) {
        cJSON_Delete(j);
        return 0;
    }
    world_t *w = x->w;
    uint32_t u = tl_dict_find(w->users, user->valuestring, strlen(user->valuestring));
    if (u >= w->nusers || !w->u[u].has) {
        cJSON_Delete(j);
        return 0;
    }
    const utruth_t *t = &w->u[u];
    int slot = chan_slot(ch->valuestring);
    uint32_t item;
    double p = effect_of(w, t, slot, type->valuestring, cJSON_GetObjectItem(content, "items"),
                         x->o->effect, &item);
    x->s->deliveries++;
    x->s->mean_effect += p;
    x->slot_count[slot]++;
    for (int k = 0; k < 4; k++) x->type_count[k] += strcmp(type->valuestring, TYPES[k]) == 0;
    /* one generator per delivery: the same answer whatever order they come in */
    char key[160];
    int kl = snprintf(key, sizeof key, "%s|%s|%d", x->o->campaign, user->valuestring,
                      cJSON_IsNumber(run) ? run->valueint : 0);
    tl_rng_t r;
    tl_rng_seed(&r, tl_hash64(key, (size_t)kl, x->o->seed));
    if (tl_rng_uniform(&r) < p) {
        int offer = strcmp(type->valuestring, "offer") == 0;
        if (item == TL_NONE) {
            int c = best_cat(t, w->ncat);
            if (w->ncat_items[c]) item = w->by_cat[c][tl_rng_below(&r, w->ncat_items[c])];
        }
        double amount = offer ? 1000.0 * (1 + tl_rng_below(&r, 8)) : item < w->nitems ? w->price[item] : NAN;
        double delay = tl_rng_exp(&r, slot == 1 || slot == 2 ? 10 * 3600e3 : 3 * 3600e3);
        char when[32], amt[32] = "";
        tl_time_format(ts + 60000 + (int64_t)delay, when);
        if (!isnan(amount)) snprintf(amt, sizeof amt, "%.2f", amount);
        const char *iid = item < w->nitems ? tl_dict_str(w->items, item, NULL) : "";
        uint64_t id = tl_hash64(key, (size_t)kl, x->o->seed ^ 0x72657370);
        fprintf(x->out, "r%016llx,%s,%s,%s,%s,app,%s,%s,,,,,,rs%016llx,%s\n", (unsigned long long)id,
                user->valuestring, iid, offer ? "loan_apply" : "purchase", when, amt, offer ? "" : "1",
                (unsigned long long)id, x->o->campaign);
        x->s->responses++;
    }
    cJSON_Delete(j);
    return 0;
}

int tl_gen_respond(tl_store_t *st, const tl_respond_opts_t *o, const char *events_out,
                   const char *effects_out, tl_respond_stats_t *s, tl_errbuf_t *eb) {
    memset(s, 0, sizeof *s);
    world_t w = {0};
    FILE *out = NULL, *eff = NULL;
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = 0;
    if (!(w.users = tl_store_dict(st, TL_D_USER, eb)) || !(w.items = tl_store_dict(st, TL_D_ITEM, eb)))
        rc = TL_ENOMEM;
    w.nusers = w.users ? tl_dict_count(w.users) : 0;
    if (!rc && !(w.u = calloc((size_t)w.nusers + 1, sizeof *w.u))) rc = TL_ENOMEM;
    if (!rc) rc = load_truth(&w, o->truth, eb);
    if (!rc) rc = load_items(&w, st, eb);
    if (!rc && (!(out = fopen(events_out, "w")) || (effects_out && !(eff = fopen(effects_out, "w"))))) {
        tl_errbuf_set(eb, "cannot write %s", out ? effects_out : events_out);
        rc = TL_EIO;
    }
    if (!rc)
        fputs("event_id,user,item,type,ts,channel,amount,qty,query,rating,city,lat,lon,session,campaign\n", out);
    respctx_t x = {.w = &w, .o = o, .out = out, .s = s, .eb = eb};
    for (int c = 0; !rc && c < TL_DCH__N; c++) {
        char rel[TL_OUTBOX_MAX];
        tl_dchannel_outbox(tl_dchannel_name(c), rel, sizeof rel);
        tl_buf_clear(&b);
        rc = tl_store_applog_read(st, rel, 0, &b, eb);
        for (size_t i = 0; !rc && i < b.len;) {
            const char *nl = memchr(b.data + i, '\n', b.len - i);
            size_t len = nl ? (size_t)(nl - (b.data + i)) : b.len - i;
            rc = one_line(&x, b.data + i, len);
            i += len + 1;
        }
    }
    if (s->deliveries) s->mean_effect /= (double)s->deliveries;
    /* every user's effect on the campaign's main channel and content */
    if (!rc && eff) {
        int slot = 0, type = 0;
        for (int k = 1; k < 4; k++) {
            if (x.slot_count[k] > x.slot_count[slot]) slot = k;
            if (x.type_count[k] > x.type_count[type]) type = k;
        }
        fputs("user,effect\n", eff);
        for (uint32_t u = 0; u < w.nusers; u++) {
            uint32_t item;
            if (!w.u[u].has) continue;
            fprintf(eff, "%s,%.6f\n", tl_dict_str(w.users, u, NULL),
                    effect_of(&w, &w.u[u], slot, TYPES[type], NULL, o->effect, &item));
        }
    }
    if (out && fclose(out) && !rc) rc = TL_EIO;
    if (eff && fclose(eff) && !rc) rc = TL_EIO;
    if (rc == TL_EIO && !eb->msg[0]) tl_errbuf_set(eb, "writing %s failed", events_out);
    tl_buf_fini(&b);
    free(w.u), free(w.item_cat), free(w.price);
    for (int c = 0; c < MAXCAT; c++) free(w.by_cat[c]);
    return rc;
}
