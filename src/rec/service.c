/* service.c -- a recommender loaded for serving: the model and everything
 * tl_rec_serve needs beside it, built once and then only read. */
#include "rec.h"

#include <stdlib.h>
#include <string.h>

void tl_recsvc_free(tl_recsvc_t *r) {
    if (!r) return;
    tl_rec_content_free(r->content);
    free(r->penalty);
    free(r->withdrawn);
    tl_user_groups_fini(&r->groups);
    free(r->cats);
    tl_dict_free(r->catnames);
    tl_model_free(r->popm);
    tl_csr_fini(&r->x);
    tl_model_free(r->m);
    free(r);
}

int tl_recsvc_open(tl_store_t *st, const char *path, tl_recsvc_t **out, tl_errbuf_t *eb) {
    tl_recsvc_t *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) return TL_ENOMEM;
    tl_store_evstats_t es = {0};
    int rc = tl_model_load(path, &r->m, eb);
    if (!rc) rc = tl_rec_matrix(st, 0, UINT64_MAX, tl_model_interactions(r->m), &r->x, eb);
    if (!rc) rc = tl_store_event_stats(st, &es, eb); /* ages are reckoned from the latest event */
    if (!rc) rc = tl_rec_user_groups(st, r->x.nusers, TL_GROUP_SEGMENT, es.max_ts, &r->groups, eb);
    tl_store_evstats_fini(&es);
    if (!rc) rc = tl_rec_item_categories(st, r->x.nitems, 1, &r->cats, &r->catnames, eb);
    if (!rc)
        rc = tl_rec_train_segpop(&r->x, r->cats, r->catnames ? tl_dict_count(r->catnames) : 0,
                                 r->groups.group, r->groups.ngroups, &r->popm);
    if (!rc) rc = tl_rec_content_load(st, tl_model_nitems(r->m), &r->content, eb);
    if (!rc) rc = tl_rec_content_link(r->content, &r->x);
    if (!rc) rc = tl_rec_feedback_penalty(st, tl_model_nitems(r->m), &r->penalty, eb);
    if (!rc && !(r->withdrawn = calloc((size_t)r->x.nusers + 1, 1))) rc = TL_ENOMEM;
    if (!rc) rc = tl_store_consents_withdrawn(st, "profiling", INT64_MAX, r->withdrawn, r->x.nusers, eb);
    r->so.item_penalty = r->penalty;
    r->so.head_share = 0.10, r->so.head_cap = 1, r->so.context_weight = 0.7;
    r->so.content = r->content;
    if (r->cats) r->so.item_cat = r->cats, r->so.ncats = tl_dict_count(r->catnames);
    if (rc) tl_recsvc_free(r);
    else *out = r;
    return rc;
}

uint32_t tl_recsvc_subject(const tl_recsvc_t *r, uint32_t user) {
    return user < r->x.nusers && r->withdrawn[user] ? TL_REC_ANONYMOUS : user;
}

uint32_t tl_recsvc_top(const tl_recsvc_t *r, uint32_t user, uint32_t n, tl_served_t *out) {
    return tl_rec_serve(r->m, r->popm, &r->x, tl_recsvc_subject(r, user), n, &r->so, out);
}
