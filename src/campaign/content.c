/* content.c -- a campaign run with what it needs gathered: the audience
 * (a stored segment's name, or an expression) over the profiles, and the
 * content of each delivery: a recommender's list, or the lending policy's
 * best offer for the user. `campaign run` and the API both run campaigns
 * through here; tl_campaign_run (run.c) decides. */
#include "campaign_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "finance/finance.h"
#include "segment/segment.h"

typedef struct {
    const tl_recsvc_t *rs;
    tl_dict_t *items;
    tl_served_t sv[TL_CAMPAIGN_MAX_ITEMS];
    tl_offers_t *offers;
    tl_offer_t *of;
    const char *kind;  /* offers of this kind only (NULL: any) */
    const char *scene;
    char cat[128], scene_buf[128], kind_buf[128];
} content_t;

static int content_fn(uint32_t user, const tl_arm_t *arm, int64_t at, tl_buf_t *out, void *arg) {
    content_t *x = arg;
    (void)at;
    if (arm->content_type == TL_CONTENT_RECS && x->rs) {
        uint32_t got = tl_recsvc_top(x->rs, user, arm->n, x->sv);
        if (!got) return 1;
        tl_buf_append(out, "{\"type\":\"recommendations\",\"items\":[", 35);
        for (uint32_t i = 0; i < got; i++) {
            size_t len;
            const char *id = tl_dict_str(x->items, x->sv[i].item, &len);
            if (i) tl_buf_append(out, ",", 1);
            tl_buf_json_str(out, id ? id : "", id ? len : 0);
        }
        return tl_buf_append(out, "]}", 2) ? TL_ENOMEM : 0;
    }
    if (arm->content_type == TL_CONTENT_OFFER && x->offers) {
        uint32_t n = tl_offers_for(x->offers, user, x->scene, x->of);
        for (uint32_t i = 0; i < n; i++) {
            const tl_offer_t *f = &x->of[i];
            if (!f->eligible || f->blocked || f->losing || f->error) continue;
            if (x->kind && strcmp(f->kind, x->kind) != 0) continue;
            tl_buf_append(out, "{\"type\":\"offer\",\"product\":", 26);
            tl_buf_json_str(out, f->id, strlen(f->id));
            tl_buf_append(out, ",\"kind\":", 8);
            tl_buf_json_str(out, f->kind, strlen(f->kind));
            tl_buf_append(out, ",\"name\":", 8);
            tl_buf_json_str(out, f->name ? f->name : "", f->name ? strlen(f->name) : 0);
            if (!isnan(f->apr)) tl_buf_printf(out, ",\"apr\":%.4g", f->apr);
            if (f->disclosure) {
                tl_buf_append(out, ",\"disclosure\":", 14);
                tl_buf_json_str(out, f->disclosure, strlen(f->disclosure));
            }
            return tl_buf_append(out, "}", 1) ? TL_ENOMEM : 0;
        }
        return 1;
    }
    return 0;
}

/* The k-th content the campaign sends: its arms', then a journey's send
 * steps' own (NULL after the last). */
static const tl_arm_t *content_at(const tl_campaign_t *c, int k) {
    if (k < c->narms) return &c->arms[k];
    k -= c->narms;
    for (int s = 0; c->journey && s < c->journey->nsteps; s++)
        if (c->journey->steps[s].msg.content && k-- == 0) return &c->journey->steps[s].msg;
    return NULL;
}

/* A string field of the first content of a type, copied to out (NULL
 * when none has it). */
static const char *content_str(const tl_campaign_t *c, int type, const char *key, char *out,
                               size_t cap) {
    const tl_arm_t *a;
    for (int k = 0; (a = content_at(c, k)); k++) {
        if (a->content_type != type) continue;
        cJSON *j = cJSON_Parse(a->content);
        const cJSON *v = cJSON_GetObjectItem(j, key);
        int found = cJSON_IsString(v);
        if (found) snprintf(out, cap, "%s", v->valuestring);
        cJSON_Delete(j);
        if (found) return out;
    }
    return NULL;
}

/* The users for whom cond (a stored segment's name or an expression)
 * holds, one byte per user; `what` names it in errors. */
static int condition(tl_store_t *st, const tl_campaign_t *c, const tl_profiles_t *p, const char *cond,
                     const char *what, uint8_t **mask, tl_errbuf_t *eb) {
    *mask = NULL;
    if (!p) {
        tl_errbuf_set(eb, "campaign %s: its %s needs the profiles (`tailor profile build`)", c->id, what);
        return TL_ENOENT;
    }
    char *expr = NULL;
    int rc = tl_store_segment_get(st, cond, &expr, eb);
    if (rc && rc != TL_ENOENT) return rc;
    const char *src = expr ? expr : cond;
    uint32_t n = tl_profile_nusers(p), size;
    tl_segtable_t *t = NULL;
    tl_expr_err_t err;
    *mask = malloc(n ? n : 1);
    rc = *mask ? tl_segtable_new(p, st, &t) : TL_ENOMEM;
    if (!rc) rc = tl_segment_eval(t, src, *mask, &size, &err);
    if (rc == TL_EBADINPUT) {
        char msg[1024];
        tl_expr_format_error(src, &err, msg, sizeof msg);
        tl_errbuf_set(eb, "campaign %s: the %s is not a valid condition:\n%s", c->id, what, msg);
    }
    tl_segtable_free(t);
    free(expr);
    if (rc) {
        free(*mask);
        *mask = NULL;
    }
    return rc;
}

/* The audience's members (NULL *mask: everybody). */
static int audience(tl_store_t *st, const tl_campaign_t *c, const tl_profiles_t *p, uint8_t **mask,
                    tl_errbuf_t *eb) {
    *mask = NULL;
    if (strcmp(c->audience, "true") == 0) return 0;
    return condition(st, c, p, c->audience, "audience", mask, eb);
}

static int sends_offers(const tl_campaign_t *c) {
    const tl_arm_t *a;
    for (int k = 0; (a = content_at(c, k)); k++)
        if (a->content_type == TL_CONTENT_OFFER) return 1;
    return 0;
}

int tl_campaign_needs_profiles(const tl_campaign_t *c) {
    return strcmp(c->audience, "true") != 0 || sends_offers(c) || (c->journey && c->journey->nconds);
}

int tl_campaign_run_env(tl_store_t *st, const tl_campaign_t *c, const tl_run_env_t *env,
                        tl_run_result_t *res, tl_errbuf_t *eb) {
    int need_recs = 0, need_offers = sends_offers(c);
    const tl_arm_t *a;
    for (int k = 0; (a = content_at(c, k)); k++)
        need_recs |= a->content_type == TL_CONTENT_RECS && !strstr(a->content, "\"items\"");
    if (need_offers && !env->p) {
        tl_errbuf_set(eb, "campaign %s sends offers: they need the profiles (`tailor profile build`)", c->id);
        return TL_ENOENT;
    }
    uint8_t *mask = NULL;
    content_t ct = {0};
    tl_recsvc_t *own = NULL;
    tl_scorecard_t *card = NULL;
    int rc = audience(st, c, env->p, &mask, eb);
    if (!rc && need_recs) {
        char mbuf[128];
        const char *model = content_str(c, TL_CONTENT_RECS, "model", mbuf, sizeof mbuf);
        if (!model) model = tl_model_default(TL_MODEL_FOR_SERVE);
        if (env->rec && env->rec_name && strcmp(env->rec_name, model) == 0) {
            ct.rs = env->rec;
        } else {
            rc = tl_recsvc_open(st, model, &own, eb);
            if (rc == TL_ENOENT || rc == TL_EIO || rc == TL_EINVAL)
                tl_errbuf_set(eb, "campaign %s sends recommendations: train a model first "
                              "(`tailor train --model %s`)", c->id, model);
            ct.rs = own;
        }
    }
    if (!rc && !(ct.items = tl_store_dict(st, TL_D_ITEM, eb))) rc = TL_ENOMEM;
    if (!rc && need_offers) {
        if ((rc = tl_scorecard_get(st, "scorecard", &card, eb)) == TL_ENOENT)
            rc = 0, eb->msg[0] = 0; /* no scorecard: no one has a band */
        const char *cat = content_str(c, TL_CONTENT_OFFER, "category", ct.cat, sizeof ct.cat);
        tl_offer_scene_t scene = {cat, NAN};
        ct.scene = content_str(c, TL_CONTENT_OFFER, "scene", ct.scene_buf, sizeof ct.scene_buf);
        ct.kind = content_str(c, TL_CONTENT_OFFER, "kind", ct.kind_buf, sizeof ct.kind_buf);
        if (!rc) rc = tl_offers_new(st, env->p, card, env->policy, &scene, TL_NONE, &ct.offers, eb);
        if (!rc) rc = tl_offers_scene_check(ct.offers, ct.scene, eb);
        if (!rc && !(ct.of = calloc(tl_offers_nproducts(ct.offers) + 1, sizeof *ct.of))) rc = TL_ENOMEM;
    }
    /* a journey's branch conditions */
    int nconds = c->journey ? c->journey->nconds : 0;
    uint8_t *conds[TL_JOURNEY_MAX_CONDS] = {0};
    for (int k = 0; !rc && k < nconds; k++) {
        char what[64];
        snprintf(what, sizeof what, "journey's branch condition %d", k + 1);
        rc = condition(st, c, env->p, c->journey->conds[k], what, &conds[k], eb);
    }
    tl_run_opts_t o = {.at = env->at, .audience = mask, .nusers = mask ? tl_profile_nusers(env->p) : 0,
                       .content = content_fn, .content_arg = &ct, .dry_run = env->dry_run,
                       .sample = env->sample, .samples = env->samples,
                       .skip_idle = env->skip_idle, .conds = nconds ? (const uint8_t *const *)conds : NULL,
                       .ncond_users = nconds ? tl_profile_nusers(env->p) : 0};
    char *gc = NULL;
    if (!rc && tl_store_config_get(st, "global_control", &gc, eb) == 0 && gc) o.global_control = atof(gc);
    free(gc);
    if (!rc) rc = tl_campaign_run(st, c, &o, res, eb);
    free(ct.of);
    tl_offers_free(ct.offers);
    tl_scorecard_free(card);
    tl_recsvc_free(own);
    free(mask);
    for (int k = 0; k < nconds; k++) free(conds[k]);
    return rc;
}
