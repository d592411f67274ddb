/* train.c -- a model trained on a store's interactions as the options
 * weigh them (decayed towards the latest event when a half-life is set,
 * with the side data a family needs), and an evaluation's figures as
 * JSON: what the command line and the API both give. */
#include "rec.h"

#include <cjson/cJSON.h>

int tl_rec_train_store(tl_store_t *st, const tl_model_info_t *mi, const tl_model_params_t *p,
                       tl_interact_opts_t ix, tl_model_t **out, tl_rec_trained_t *info, tl_errbuf_t *eb) {
    *out = NULL;
    tl_csr_t x = {0};
    tl_rec_side_t sd = {0};
    tl_store_evstats_t es = {0};
    int rc = 0;
    if (ix.half_life > 0 || mi->needs_side) rc = tl_store_event_stats(st, &es, eb);
    ix.decay_to = es.max_ts; /* decay towards the latest event */
    if (!rc) rc = tl_rec_matrix(st, 0, UINT64_MAX, &ix, &x, eb);
    if (!rc && mi->needs_side) rc = tl_rec_side_load(st, x.nusers, x.nitems, es.max_ts, &sd, eb);
    tl_store_evstats_fini(&es);
    if (!rc) rc = tl_model_train(mi, &x, p, &sd, out, eb);
    if (!rc) tl_model_set_interactions(*out, &ix);
    if (info) {
        info->users = x.nusers, info->items = x.nitems, info->interactions = x.nnz;
        info->params = *p;
        tl_model_params_resolve(&info->params, &x);
    }
    tl_rec_side_fini(&sd);
    tl_csr_fini(&x);
    return rc;
}

static void add_part(cJSON *j, const tl_eval_part_t *p) {
    cJSON_AddNumberToObject(j, "users", p->users);
    cJSON_AddNumberToObject(j, "precision", p->precision);
    cJSON_AddNumberToObject(j, "recall", p->recall);
    cJSON_AddNumberToObject(j, "ndcg", p->ndcg);
    cJSON_AddNumberToObject(j, "map", p->map);
    cJSON_AddNumberToObject(j, "hit_rate", p->hit_rate);
}

cJSON *tl_rec_evaluation_json(const char *model, const char *split, uint32_t k, const tl_rec_evaluation_t *ev) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", model);
    cJSON_AddStringToObject(j, "split", split);
    if (ev->cut) {
        char day[32];
        tl_time_format(ev->cut, day);
        cJSON_AddStringToObject(j, "test_from", day);
    }
    cJSON_AddNumberToObject(j, "k", (double)k);
    cJSON_AddNumberToObject(j, "train_interactions", (double)ev->train_nnz);
    cJSON_AddNumberToObject(j, "test_interactions", (double)ev->test_nnz);
    return j;
}

void tl_eval_json_add(cJSON *j, const tl_eval_t *ev, const tl_user_groups_t *g) {
    tl_eval_part_t all = {ev->users, ev->precision, ev->recall, ev->ndcg, ev->map, ev->hit_rate};
    add_part(j, &all);
    cJSON_AddNumberToObject(j, "cold_users", ev->cold);
    cJSON_AddNumberToObject(j, "coverage", ev->coverage);
    cJSON_AddNumberToObject(j, "novelty", ev->novelty);
    cJSON_AddNumberToObject(j, "diversity", ev->diversity);
    cJSON_AddNumberToObject(j, "gini", ev->gini);
    if (g && g->group) {
        cJSON *gs = cJSON_AddObjectToObject(j, "groups");
        for (uint32_t q = 0; q < g->ngroups; q++) add_part(cJSON_AddObjectToObject(gs, g->names[q]), &ev->group[q]);
    }
}
