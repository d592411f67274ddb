/* service.c -- a recommender loaded for serving: the model and everything
 * tl_rec_serve needs beside it, built once and then only read. */
#include "rec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tl_recsvc_free(tl_recsvc_t *r) {
    if (!r) return;
    tl_rec_content_free(r->content);
    free(r->penalty);
    free(r->withdrawn);
    tl_identity_free(r->ident);
    tl_user_groups_fini(&r->groups);
    tl_dict_free(r->titles);
    free(r->title);
    free(r->cats);
    tl_dict_free(r->catnames);
    tl_model_free(r->popm);
    tl_csr_fini(&r->x);
    tl_model_free(r->m);
    free(r);
}

static int title_row(uint32_t i, const tl_item_t *it, void *arg) {
    tl_recsvc_t *r = arg;
    if (i >= r->x.nitems || !it->title || !it->title[0]) return 0;
    return tl_dict_intern(r->titles, it->title, strlen(it->title), &r->title[i], NULL) ? TL_ENOMEM : 0;
}

/* Each item's title, kept in memory: the reasons are written while the
 * store is shared by other threads. */
static int load_titles(tl_store_t *st, tl_recsvc_t *r, tl_errbuf_t *eb) {
    r->titles = tl_dict_new();
    r->title = malloc(((size_t)r->x.nitems + 1) * sizeof *r->title);
    if (!r->titles || !r->title) return TL_ENOMEM;
    for (uint32_t i = 0; i < r->x.nitems; i++) r->title[i] = TL_NONE;
    return tl_store_scan_items(st, title_row, r, eb);
}

int tl_recsvc_open(tl_store_t *st, const char *name, tl_recsvc_t **out, tl_errbuf_t *eb) {
    tl_recsvc_t *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r) return TL_ENOMEM;
    tl_store_evstats_t es = {0};
    int rc = tl_rec_model_load(st, name, &r->m, eb);
    if (!rc) rc = tl_identity_load(st, NULL, &r->ident, eb);
    if (!rc) rc = tl__rec_matrix_of(st, 0, UINT64_MAX, tl_model_interactions(r->m), r->ident, &r->x, eb);
    if (!rc) rc = tl_store_event_stats(st, &es, eb); /* ages are reckoned from the latest event */
    tl_rec_side_t side = {0};
    if (!rc) rc = tl_rec_side_load(st, r->x.nusers, r->x.nitems, es.max_ts, &side, eb);
    tl_store_evstats_fini(&es);
    r->groups = side.groups, r->cats = side.cats, r->catnames = side.catnames;
    if (!rc)
        rc = tl_rec_train_segpop(&r->x, r->cats, r->catnames ? tl_dict_count(r->catnames) : 0,
                                 r->groups.group, r->groups.ngroups, &r->popm);
    /* everything per item is sized for the catalogue as it is now (x), which
     * may have grown since the model was trained */
    if (!rc) rc = tl_rec_content_load(st, r->x.nitems, &r->content, eb);
    if (!rc) rc = tl_rec_content_link(r->content, &r->x, tl_model_nitems(r->m));
    if (!rc) rc = tl_rec_feedback_penalty(st, r->x.nitems, &r->penalty, eb);
    if (!rc && !(r->withdrawn = calloc((size_t)r->x.nusers + 1, 1))) rc = TL_ENOMEM;
    if (!rc) rc = tl_store_consents_withdrawn(st, "profiling", INT64_MAX, r->withdrawn, r->x.nusers, eb);
    if (!rc) tl_identity_fold_flags(r->ident, r->withdrawn, r->x.nusers);
    if (!rc) rc = load_titles(st, r, eb);
    r->so.item_penalty = r->penalty;
    r->so.head_share = 0.10, r->so.head_cap = 1, r->so.context_weight = 0.7;
    r->so.content = r->content;
    if (r->cats) r->so.item_cat = r->cats, r->so.ncats = tl_dict_count(r->catnames);
    if (rc) tl_recsvc_free(r);
    else *out = r;
    return rc;
}

uint32_t tl_recsvc_subject(const tl_recsvc_t *r, uint32_t user) {
    if (user != TL_NONE && user != TL_REC_ANONYMOUS) user = tl_identity_person(r->ident, user);
    return user < r->x.nusers && r->withdrawn[user] ? TL_REC_ANONYMOUS : user;
}

uint32_t tl_recsvc_top(const tl_recsvc_t *r, uint32_t user, uint32_t n, tl_served_t *out) {
    return tl_rec_serve(r->m, r->popm, &r->x, tl_recsvc_subject(r, user), n, &r->so, out);
}

/* "Title (id)" of an item when the catalogue has a title, else its id. */
static void item_label(const tl_recsvc_t *r, const tl_dict_t *items, uint32_t i, char *out, size_t cap) {
    const char *id = tl_dict_str(items, i, NULL);
    const char *title = i < r->x.nitems && r->title[i] != TL_NONE ? tl_dict_str(r->titles, r->title[i], NULL) : NULL;
    if (title) snprintf(out, cap, "%s (%s)", title, id ? id : "?");
    else snprintf(out, cap, "%s", id ? id : "?");
}

void tl_recsvc_why(const tl_recsvc_t *r, const tl_dict_t *items, const tl_served_t *sv, uint32_t user,
                   uint32_t who, const char *scene, tl_rec_why_t *w) {
    memset(w, 0, sizeof *w);
    if (!scene) scene = "home";
    if (sv->because != TL_NONE) {
        item_label(r, items, sv->because, w->item, sizeof w->item);
        w->kind = sv->is_new               ? "new_like"
                  : !sv->from_context      ? "interest"
                  : strcmp(scene, "cart") == 0     ? "with_cart"
                  : strcmp(scene, "purchase") == 0 ? "with_purchase"
                                                   : "with_item";
        return;
    }
    /* popularity: the cold start's, or the model's own */
    const tl_model_t *by = sv->cold ? r->popm : r->m;
    int segpop = r->m->icat != NULL; /* a model of category taste names the category */
    uint32_t cat = r->cats && sv->item < r->x.nitems ? r->cats[sv->item] : TL_NONE;
    w->category = segpop && cat != TL_NONE ? tl_dict_str(r->catnames, cat, NULL) : NULL;
    int history = who < r->x.nusers && r->x.rowptr[who] < r->x.rowptr[who + 1];
    w->kind = tl_model_interactions(by)->half_life > 0 ? "trending" : "popular";
    w->similar = tl_rec_segpop_group(by, who) != 0;
    w->note = who != user || !sv->cold ? NULL : history ? "not_in_model" : "no_history";
}

void tl_recsvc_reason(const tl_recsvc_t *r, const tl_dict_t *items, const tl_served_t *sv, uint32_t user,
                      uint32_t who, const char *scene, char *out, size_t cap) {
    tl_rec_why_t w;
    tl_recsvc_why(r, items, sv, user, who, scene, &w);
    static const char *const ABOUT[][2] = {{"new_like", "new, like %s"},
                                           {"interest", "because you showed interest in %s"},
                                           {"with_cart", "goes with %s in your cart"},
                                           {"with_purchase", "goes with %s, which you bought"},
                                           {"with_item", "goes with %s, which you are looking at"}};
    for (size_t k = 0; k < sizeof ABOUT / sizeof *ABOUT; k++)
        if (strcmp(w.kind, ABOUT[k][0]) == 0) {
            snprintf(out, cap, ABOUT[k][1], w.item);
            return;
        }
    snprintf(out, cap, "%s%s%s with %s%s", w.kind, w.category ? " in " : "", w.category ? w.category : "",
             w.similar ? "people like you" : "everybody",
             !w.note ? "" : strcmp(w.note, "no_history") == 0 ? " (no history yet)" : " (not in the model yet)");
}
