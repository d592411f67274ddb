/* campaigns.c -- campaigns through the API: created from a definition,
 * run now or at a given time (dry or for real) over the profiles as they
 * are with the loaded recommender, and reported with their statistics. */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "experiment/experiment.h"

/* The routes of campaigns hold the store while their handlers run. */

/* The definition goes to the library as sent, which says where it is
 * wrong (line and column); with ?check=true it is only checked. */
void tl__campaigns_post(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const tl_http_request_t *rq = req->rq;
    tl_http_response_t *rs = req->rs;
    char v[QUERY_VALUE_MAX];
    int replace = tl__request_query(rq->query, "replace", v, sizeof v) && strcmp(v, "true") == 0;
    char *def = malloc(rq->body_len + 1);
    if (!def) {
        tl__server_fail(rs, 500, "internal", "out of memory");
        return;
    }
    memcpy(def, rq->body, rq->body_len);
    def[rq->body_len] = 0;
    tl_campaign_t c;
    tl_errbuf_t eb = {{0}};
    if (tl__request_query(rq->query, "check", v, sizeof v) && strcmp(v, "true") == 0) {
        /* checked as a create would, kept nowhere: valid, or why not (200 either way) */
        int rc = tl_campaign_parse(def, &c, &eb);
        free(def);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "valid", rc == 0);
        if (rc) {
            cJSON_AddStringToObject(o, "message", eb.msg);
        } else {
            cJSON_AddStringToObject(o, "id", c.id);
            cJSON_AddStringToObject(o, "kind", tl_campaign_kind(&c));
            tl_campaign_fini(&c);
        }
        tl__server_json(rs, rc == 0 || rc == TL_EBADINPUT ? 200 : 500, o);
        return;
    }
    int rc = tl_campaign_create(s->st, def, replace, &c, &eb);
    free(def);
    if (rc) {
        tl__server_fail(rs, rc == TL_EBADINPUT ? 400 : rc == TL_EEXIST ? 409 : 500,
                        rc == TL_EBADINPUT ? "bad_definition" : rc == TL_EEXIST ? "exists" : "store", "%s%s", eb.msg,
                        rc == TL_EEXIST ? " (send ?replace=true to replace it)" : "");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c.id);
    cJSON_AddStringToObject(o, "status", "active");
    tl_campaign_fini(&c);
    tl__server_json(rs, replace ? 200 : 201, o);
}

static int get_campaign(tl_server_t *s, const char *id, tl_campaign_t *c, tl_http_response_t *rs) {
    tl_errbuf_t eb = {{0}};
    int rc = tl_campaign_get(s->st, id, c, &eb);
    if (rc) tl__server_fail_read(rs, rc, eb.msg);
    return rc;
}

/* A run now (or at "at"), over the profiles as they are, with the loaded
 * recommender when the campaign uses it. */
void tl__campaigns_run(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const char *id = req->arg[0];
    tl_http_response_t *rs = req->rs;
    tl_run_env_t env = {.at = tl_store_now(s->st), .rec_name = s->model};
    const cJSON *m;
    cJSON_ArrayForEach(m, req->body) {
        int ok = strcmp(m->string, "dry_run") == 0 ? cJSON_IsBool(m)
                 : strcmp(m->string, "at") == 0   ? cJSON_IsString(m) && !tl_time_parse(m->valuestring, strlen(m->valuestring), &env.at)
                                                  : -1;
        if (ok != 1) {
            tl__server_fail(rs, 400, ok ? "unknown_field" : "bad_type",
                            ok ? "unknown field \"%s\" (a run takes at and dry_run)"
                               : "\"%s\": dry_run is true or false, at a time", m->string);
            return;
        }
    }
    env.dry_run = cJSON_IsTrue(cJSON_GetObjectItem(req->body, "dry_run"));
    /* a dry run previews who would receive what: its first deliveries as outbox lines */
    if (env.dry_run) env.sample = 20, env.samples = cJSON_CreateArray();
    recref_t *r = tl__models_acquire(s);
    env.rec = r ? r->def.rec : NULL;
    tl_campaign_t c;
    tl_run_result_t res;
    tl_errbuf_t eb = {{0}};
    if (!get_campaign(s, id, &c, rs)) {
        pthread_rwlock_rdlock(&s->prof_mu);
        env.p = s->prof;
        int rc = tl_campaign_run_env(s->st, &c, &env, &res, &eb);
        pthread_rwlock_unlock(&s->prof_mu);
        if (rc) tl__server_fail(rs, rc == TL_EBADINPUT ? 400 : rc == TL_ENOENT ? 409 : 500,
                                rc == TL_EBADINPUT ? "bad_audience" : rc == TL_ENOENT ? "not_ready" : "internal", "%s", eb.msg);
        else {
            cJSON *j = tl_run_result_json(&c, &res);
            if (env.samples) cJSON_AddItemToObject(j, "sample", env.samples), env.samples = NULL;
            tl__server_json(rs, 200, j);
        }
        tl_campaign_fini(&c);
    }
    cJSON_Delete(env.samples);
    tl__models_release(s, r);
}

void tl__campaigns_report(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const char *id = req->arg[0], *q = req->rq->query;
    tl_http_response_t *rs = req->rs;
    char v[QUERY_VALUE_MAX];
    tl_report_opts_t o = {.conf = 0.95};
    if (tl__request_query(q, "correction", v, sizeof v)) {
        if (strcmp(v, "bh") != 0 && strcmp(v, "holm") != 0) {
            tl__server_fail(rs, 400, "bad_parameter", "correction is holm (the default) or bh");
            return;
        }
        o.correction = strcmp(v, "bh") == 0;
    }
    tl_campaign_t c;
    tl_experiment_report_t r;
    tl_errbuf_t eb = {{0}};
    if (!get_campaign(s, id, &c, rs)) {
        if (tl_experiment_report(s->st, &c, &o, &r, &eb)) {
            tl__server_fail(rs, 500, "internal", "%s", eb.msg);
        } else {
            cJSON *j = tl_experiment_report_json(&c, &r);
            /* the uplift model trained on this campaign's experiment, when there is one */
            tl_uplift_model_t um;
            if (tl_uplift_get(s->st, c.id, &um, &eb) == 0) cJSON_AddItemToObject(j, "uplift", tl_uplift_summary_json(&um));
            tl_uplift_model_fini(&um);
            tl__server_json(rs, 200, j);
            tl_experiment_report_fini(&r);
        }
        tl_campaign_fini(&c);
    }
}

/* GET /v1/campaigns/{id}/journey: where a journey's users are. */
void tl__campaigns_journey(tl_srv_req_t *req) {
    tl_campaign_t c;
    tl_errbuf_t eb = {{0}};
    if (get_campaign(req->s, req->arg[0], &c, req->rs)) return;
    cJSON *j = c.journey ? tl_journey_json(req->s->st, &c, &eb) : NULL;
    if (!c.journey) tl__server_fail(req->rs, 409, "not_a_journey", "campaign %s is not a journey", c.id);
    else if (!j) tl__server_fail_read(req->rs, TL_EIO, eb.msg);
    else tl__server_json(req->rs, 200, j);
    tl_campaign_fini(&c);
}

int tl__campaigns_row(const tl_campaign_info_t *ci, void *arg) {
    cJSON_AddItemToArray(arg, tl_campaign_info_json(ci));
    return 0;
}

/* GET /v1/campaigns: every campaign with its status and totals. */
void tl__campaigns_list(tl_srv_req_t *req) {
    tl_errbuf_t eb = {{0}};
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "campaigns");
    int rc = tl_campaign_list(req->s->st, NULL, tl__campaigns_row, arr, &eb);
    if (rc) {
        cJSON_Delete(j);
        tl__server_fail_read(req->rs, rc, eb.msg);
        return;
    }
    tl__server_json(req->rs, 200, j);
}

/* GET /v1/campaigns/{id}: its status and totals, what starts its
 * decisions, and its definition as stored. */
void tl__campaigns_get(tl_srv_req_t *req) {
    tl_errbuf_t eb = {{0}};
    tl_campaign_t c;
    if (get_campaign(req->s, req->arg[0], &c, req->rs)) return;
    cJSON *j = NULL;
    int rc = tl_campaign_list(req->s->st, c.id, tl__campaigns_row, (j = cJSON_CreateArray()), &eb);
    cJSON *o = rc ? NULL : cJSON_DetachItemFromArray(j, 0);
    cJSON_Delete(j);
    if (!o) {
        tl__server_fail_read(req->rs, rc ? rc : TL_ENOENT, rc ? eb.msg : "the campaign is gone");
    } else {
        cJSON_AddStringToObject(o, "kind", tl_campaign_kind(&c));
        cJSON *def = c.def ? cJSON_Parse(c.def) : NULL;
        if (def) cJSON_AddItemToObject(o, "definition", def);
        tl__server_json(req->rs, 200, o);
    }
    tl_campaign_fini(&c);
}
