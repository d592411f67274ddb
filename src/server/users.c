/* users.c -- what the API answers about one user (and the items served to
 * them), named by any of the person's identifiers as written: the profile
 * of the person (personal fields masked, every read audited; with its
 * identifiers at /v1/users/ID), recommendations of the person (by model,
 * by scene, filtered), similar items, financial offers, consents (one
 * identifier's record; a withdrawn profiling consent drops the person's
 * profile at once), subject access and erasure. */
#include "server_int.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/privacy.h"
#include "segment/segment.h"

typedef struct {
    tl_store_t *st;
    tl_buf_t *pii;
    tl_errbuf_t *eb;
} pii_t;

static int pii_of(uint32_t m, void *arg) {
    pii_t *x = arg;
    int rc = tl_store_user_pii(x->st, m, x->pii, x->eb);
    if (rc) return rc;
    for (size_t i = 0; x->pii->data && i < x->pii->len; i++)
        if (x->pii->data[i]) return 1; /* found */
    tl_buf_clear(x->pii);
    return 0;
}

/* The personal fields of u's person, masked, into j: those of the first
 * of its identifiers that has any. */
static int add_pii(tl_server_t *s, uint32_t u, cJSON *j, tl_errbuf_t *eb) {
    tl_buf_t pii, masked;
    tl_buf_init(&pii), tl_buf_init(&masked);
    pii_t x = {s->st, &pii, eb};
    pthread_rwlock_rdlock(&s->prof_mu);
    int rc = tl_profile_members(s->prof, u, pii_of, &x);
    pthread_rwlock_unlock(&s->prof_mu);
    if (rc == 1) rc = 0;
    static const char *const PII[] = {"name", "phone", "email", "id_number"};
    const char *f = pii.data;
    for (int i = 0; !rc && f && pii.len && i < 4; i++) {
        tl_buf_clear(&masked);
        tl_mask_value(f, strlen(f), &masked);
        tl_buf_append(&masked, "", 1);
        if (*f) cJSON_AddStringToObject(j, PII[i], masked.data);
        f += strlen(f) + 1;
    }
    sodium_memzero(pii.data, pii.cap);
    tl_buf_fini(&pii), tl_buf_fini(&masked);
    return rc;
}

/* The profile of the person of the identifier the path names, personal
 * fields masked; with_person: its identifiers too (the route has the
 * store held and audits the read). */
static void answer_profile(tl_srv_req_t *req, int with_person) {
    tl_server_t *s = req->s;
    uint32_t u = req->user;
    tl_errbuf_t eb = {{0}};
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "user", req->user_key);
    int rc = add_pii(s, u, j, &eb);
    pthread_rwlock_rdlock(&s->prof_mu);
    if (with_person) tl__identify_person_json(s, u, j);
    char asof[32];
    tl_time_format(s->as_of, asof);
    cJSON_AddStringToObject(j, "as_of", asof);
    if (tl_profile_withdrawn(s->prof, tl_profile_person(s->prof, u)))
        cJSON_AddStringToObject(j, "profiling", "withdrawn");
    cJSON_AddItemToObject(j, "features", tl_profile_user_json(s->prof, u));
    pthread_rwlock_unlock(&s->prof_mu);
    if (rc) {
        cJSON_Delete(j);
        tl__server_fail(req->rs, 500, "store", "%s", eb.msg);
        return;
    }
    tl__server_json(req->rs, 200, j);
}

void tl__users_profile(tl_srv_req_t *req) { answer_profile(req, 0); }

void tl__users_person(tl_srv_req_t *req) { answer_profile(req, 1); }

typedef struct {
    uint32_t ids[64];
    int n;
} members_t;

static int member_of(uint32_t m, void *arg) {
    members_t *x = arg;
    if (x->n < 64) x->ids[x->n++] = m;
    return 0;
}

/* GET /v1/users/{id}/events?n=: the person's latest events, newest first,
 * for a timeline (the route has the store held and audits the read). */
void tl__users_events(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    long n;
    if (tl__request_n(req, 50, 1000, &n)) return;
    members_t m = {.n = 0};
    pthread_rwlock_rdlock(&s->prof_mu);
    if (req->user < tl_profile_nusers(s->prof)) tl_profile_members(s->prof, req->user, member_of, &m);
    pthread_rwlock_unlock(&s->prof_mu);
    if (!m.n) m.ids[m.n++] = req->user; /* not in the profiles yet: its own events */
    cJSON *ev = NULL;
    tl_errbuf_t eb = {{0}};
    int rc = tl_subject_events(s->st, m.ids, m.n, (int)n, &ev, &eb);
    if (rc) {
        tl__server_fail_read(req->rs, rc, eb.msg[0] ? eb.msg : tl_strerror(rc));
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "user", req->user_key);
    cJSON_AddItemToObject(j, "events", ev);
    tl__server_json(req->rs, 200, j);
}

static int summary_member(uint32_t m, void *arg) {
    void **x = arg; /* the server, the array of consents, the error buffer */
    tl_server_t *s = x[0];
    cJSON *arr = x[1], *mine = cJSON_CreateArray(), *c;
    int rc = tl_subject_consents(s->st, m, mine, x[2]);
    const tl_dict_t *users = tl_store_dict(s->st, TL_D_USER, x[2]);
    const char *id = users ? tl_dict_str(users, m, NULL) : NULL;
    cJSON_ArrayForEach(c, mine) cJSON_AddStringToObject(c, "user", id ? id : "");
    while (cJSON_GetArraySize(mine)) cJSON_AddItemToArray(arr, cJSON_DetachItemFromArray(mine, 0));
    cJSON_Delete(mine);
    return rc;
}

/* GET /v1/users/{id}/summary: what a marketer reads about a person beside
 * the profile: the consent records of each of its identifiers, the stored
 * segments it is in, its RFM scores and segment, and its credit band with
 * the reasons (with a scorecard loaded). The route has the store held and
 * audits the read. */
void tl__users_summary(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    tl_errbuf_t eb = {{0}};
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "user", req->user_key);
    recref_t *r = tl__models_acquire(s);
    pthread_rwlock_rdlock(&s->prof_mu);
    uint32_t row = tl_profile_person(s->prof, req->user);
    void *x[3] = {s, cJSON_AddArrayToObject(j, "consents"), &eb};
    int rc = tl_profile_members(s->prof, req->user, summary_member, x);
    if (!rc) rc = tl_subject_segments(s->st, s->prof, row, cJSON_AddArrayToObject(j, "segments"), &eb);
    tl_rfm_t rfm = {0};
    if (!rc && row < tl_profile_nusers(s->prof) && tl_segment_rfm(s->prof, &rfm) == 0 && row < rfm.n) {
        cJSON *o = cJSON_AddObjectToObject(j, "rfm");
        cJSON_AddNumberToObject(o, "r", rfm.r[row]);
        cJSON_AddNumberToObject(o, "f", rfm.f[row]);
        cJSON_AddNumberToObject(o, "m", rfm.m[row]);
        if (rfm.segment[row] != TL_NONE) cJSON_AddStringToObject(o, "segment", tl_rfm_code((int)rfm.segment[row]));
    } else {
        cJSON_AddNullToObject(j, "rfm");
    }
    tl_rfm_fini(&rfm);
    tl_score_t sc;
    const tl_dict_t *users = tl_store_dict(s->st, TL_D_USER, &eb);
    if (!rc && r && r->card && users && tl_score_user(r->card, s->prof, users, row, &sc, &eb) == 0) {
        static const char BANDS[] = "ABCDE";
        cJSON *o = cJSON_AddObjectToObject(j, "credit");
        char band[2] = {BANDS[sc.band], 0};
        cJSON_AddStringToObject(o, "band", band);
        cJSON_AddNumberToObject(o, "pd", sc.pd);
        cJSON_AddNumberToObject(o, "score", sc.score);
        cJSON *why = cJSON_AddArrayToObject(o, "reasons");
        for (int k = 0; k < TL_NREASONS && sc.reasons[k] != TL_NONE; k++) {
            tl_score_feature_t f;
            tl_scorecard_feature(r->card, sc.reasons[k], &f);
            cJSON_AddItemToArray(why, cJSON_CreateString(f.name));
        }
    } else {
        cJSON_AddNullToObject(j, "credit");
    }
    pthread_rwlock_unlock(&s->prof_mu);
    tl__models_release(s, r);
    if (rc) {
        cJSON_Delete(j);
        tl__server_fail_read(req->rs, rc, eb.msg[0] ? eb.msg : tl_strerror(rc));
        return;
    }
    tl__server_json(req->rs, 200, j);
}

/* Subject access: everything held about the user, personal fields in
 * clear (admin only; the route has the store held). The export records
 * the read in the audit log and fails, handing nothing out, if it cannot. */
void tl__users_data(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    cJSON *j = NULL;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_rdlock(&s->prof_mu);
    int rc = tl_subject_export(s->st, s->prof, req->arg[0], req->who, &j, &eb);
    pthread_rwlock_unlock(&s->prof_mu);
    const char *msg = eb.msg[0] ? eb.msg : tl_strerror(rc);
    if (rc == TL_ENOENT) {
        tl__server_fail(req->rs, 404, "not_found", "%s", msg);
        return;
    }
    if (rc) {
        tl__server_fail_write(req->rs, rc, "internal", msg);
        return;
    }
    tl__server_json(req->rs, 200, j);
}

/* Erasure (admin only, audited): the user out of the store, the profiles
 * and the scenes at once; the models are loaded again so that no served
 * list comes from what they knew of the user. Requests wait while the
 * store is rewritten. */
void tl__users_erase(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const char *id = req->arg[0];
    const char *who = req->who;
    tl_http_response_t *rs = req->rs;
    tl_erase_report_t r;
    tl_errbuf_t eb = {{0}};
    pthread_rwlock_wrlock(&s->st_rw);
    pthread_rwlock_wrlock(&s->prof_mu);
    int rc = tl_privacy_erase(s->st, id, s->prof, who, &r, &eb);
    if (!rc) {
        /* every committed event was applied; the erased ones are gone */
        s->applied = tl_store_event_count(s->st);
        /* and so are the erased identifiers' links: the persons follow */
        rc = tl__identify_follow(s, &eb);
    }
    if (!rc) rc = tl__scenes_reload(s, &eb);
    pthread_rwlock_unlock(&s->prof_mu);
    pthread_rwlock_unlock(&s->st_rw);
    if (!rc) rc = tl__models_load(s, &eb);
    if (rc == TL_ENOENT) {
        tl__server_fail(rs, 404, "not_found", "no user \"%s\"", id);
        return;
    }
    if (rc) {
        tl__server_fail_write(rs, rc, "internal", eb.msg[0] ? eb.msg : tl_strerror(rc));
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", r.again ? "erased before" : "erased");
    cJSON_AddStringToObject(j, "tombstone", r.pseudonym);
    cJSON_AddNumberToObject(j, "events", (double)r.events);
    cJSON_AddNumberToObject(j, "records", (double)r.rows);
    cJSON_AddNumberToObject(j, "quarantined_rows_emptied", (double)r.quarantined);
    cJSON_AddNumberToObject(j, "models", r.models);
    tl__server_json(rs, 200, j);
}

/* The hot path: one shared lock for the ids, the list from the cache, the
 * answer written straight into the buffer. A filter or a scene serves the
 * list for this request alone. */
void tl__users_recommendations(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const char *id = req->arg[0];
    const char *q = req->rq->query;
    tl_http_response_t *rs = req->rs;
    char mname[QUERY_VALUE_MAX], scene[QUERY_VALUE_MAX], cats[QUERY_VALUE_MAX], excl[QUERY_VALUE_MAX];
    long n;
    if (tl__request_n(req, 10, TL_REC_MAX_N, &n)) return;
    const char *sq = tl__request_query(q, "scene", scene, sizeof scene);
    if (sq && strcmp(sq, "home") == 0) sq = NULL;
    if (sq && strcmp(sq, "cart") != 0 && strcmp(sq, "purchase") != 0 && strncmp(sq, "item:", 5) != 0) {
        tl__server_fail(rs, 400, "bad_parameter", "scene is home, cart, purchase or item:ID");
        return;
    }
    recref_t *r = tl__models_acquire(s);
    tl_errbuf_t eb = {{0}};
    int status = 503;
    msvc_t *m = r ? tl__models_find(s, r, tl__request_query(q, "model", mname, sizeof mname), &status, &eb) : NULL;
    if (!m) {
        tl__models_release(s, r);
        tl__server_fail(rs, status, status == 404 ? "not_found" : status == 400 ? "bad_parameter" : "no_model", "%s",
                        eb.msg[0] ? eb.msg : "no recommender is loaded");
        return;
    }
    const tl_recsvc_t *rec = m->rec;
    pthread_rwlock_rdlock(&s->st_rw);
    tl_dict_t *items = tl_store_dict(s->st, TL_D_ITEM, &eb);
    uint32_t u = TL_NONE;
    if (tl_identity_find(s->st, &s->rules, id, &u, &eb)) u = TL_NONE;
    /* whom to serve: the identifier's person (the links only change with
     * st_rw held exclusively); nobody in particular for an unknown user or
     * a person who withdrew profiling (the item on screen still counts,
     * the cart does not) */
    uint32_t pu = u == TL_NONE ? TL_NONE : tl_profile_person(s->prof, u);
    uint32_t who = pu == TL_NONE || (pu < s->nwithdrawn && s->withdrawn[pu]) ? TL_REC_ANONYMOUS
                                                                             : tl_recsvc_subject(rec, pu);
    tl_served_t sv[TL_REC_MAX_N];
    uint32_t got = 0;
    const char *cq = tl__request_query(q, "category", cats, sizeof cats), *xq = tl__request_query(q, "exclude", excl, sizeof excl);
    if (cq || xq || sq) {
        tl_serve_opts_t so = rec->so;
        uint32_t ncats = rec->catnames ? tl_dict_count(rec->catnames) : 0, ni = rec->x.nitems;
        uint8_t *inc = cq ? calloc(ncats + 1, 1) : NULL, *exi = xq ? calloc(ni + 1, 1) : NULL;
        const char *bad = NULL;
        int bad_item = 0;
        for (const char *c = cq; inc && *c && !bad;) {
            size_t len = strcspn(c, ",");
            uint32_t code = rec->catnames ? tl_dict_find(rec->catnames, c, len) : TL_NONE;
            if (code == TL_NONE) bad = c;
            else inc[code] = 1;
            c += len + (c[len] == ',');
        }
        for (const char *c = xq; exi && *c;) {
            size_t len = strcspn(c, ",");
            uint32_t it = items ? tl_dict_find(items, c, len) : TL_NONE;
            if (it < ni) exi[it] = 1;
            c += len + (c[len] == ',');
        }
        /* the scene: the item on screen, the cart, the order just placed */
        uint32_t ctx[8], nctx = 0;
        if (sq && sq[0] == 'i') {
            ctx[0] = items ? tl_dict_find(items, sq + 5, strlen(sq + 5)) : TL_NONE;
            bad_item = ctx[0] == TL_NONE;
            nctx = 1;
        } else if (sq && who != TL_REC_ANONYMOUS) {
            pthread_rwlock_rdlock(&s->prof_mu);
            nctx = tl_scenes_items(s->scenes, u, sq[0] == 'c' ? TL_SCENE_CART : TL_SCENE_PURCHASE, 8, ctx);
            pthread_rwlock_unlock(&s->prof_mu);
        }
        uint32_t k = 0;
        for (uint32_t i = 0; i < nctx; i++) /* items newer than the model are not in it */
            if (ctx[i] < ni) ctx[k++] = ctx[i];
        so.context = ctx, so.ncontext = k;
        if (!bad && !bad_item && (!cq || inc) && (!xq || exi)) {
            so.include_cat = inc, so.exclude_item = exi;
            got = tl_rec_serve(rec->m, rec->popm, &rec->x, who, (uint32_t)n, &so, sv);
        }
        free(inc), free(exi);
        if (bad || bad_item || (cq && !inc) || (xq && !exi)) {
            pthread_rwlock_unlock(&s->st_rw);
            tl__models_release(s, r);
            if (bad) tl__server_fail(rs, 400, "bad_parameter", "category: no top-level category \"%.*s\"", (int)strcspn(bad, ","), bad);
            else if (bad_item) tl__server_fail(rs, 404, "not_found", "scene: no item \"%s\"", sq + 5);
            else tl__server_fail(rs, 500, "internal", "out of memory");
            return;
        }
    } else {
        got = tl__models_top(m, who, (uint32_t)n, sv);
    }
    tl_buf_t *b = &rs->body;
    tl_buf_clear(b);
    tl_buf_append(b, "{\"user\":", 8);
    tl_buf_json_str(b, id, strlen(id));
    tl_buf_append(b, ",\"model\":", 9);
    tl_buf_json_str(b, m->name, strlen(m->name));
    if (who == TL_REC_ANONYMOUS) tl_buf_append(b, ",\"personalised\":false", 21);
    if (sq) {
        tl_buf_append(b, ",\"scene\":", 9);
        tl_buf_json_str(b, sq, strlen(sq));
    }
    tl_buf_append(b, ",\"items\":[", 10);
    for (uint32_t i = 0; i < got && items; i++) {
        size_t len;
        const char *iid = tl_dict_str(items, sv[i].item, &len);
        tl_buf_append(b, i ? ",{\"item\":" : "{\"item\":", i ? 9 : 8);
        tl_buf_json_str(b, iid ? iid : "", iid ? len : 0);
        tl_buf_printf(b, ",\"score\":%.6g", sv[i].score);
        uint32_t cat = rec->cats ? rec->cats[sv[i].item] : TL_NONE;
        if (cat != TL_NONE) {
            const char *cn = tl_dict_str(rec->catnames, cat, &len);
            tl_buf_append(b, ",\"category\":", 12);
            tl_buf_json_str(b, cn, len);
        }
        if (sq && sv[i].from_context && sv[i].because != TL_NONE) {
            const char *bid = tl_dict_str(items, sv[i].because, &len);
            tl_buf_append(b, ",\"because\":", 11);
            tl_buf_json_str(b, bid ? bid : "", bid ? len : 0);
        }
        char reason[600];
        tl_recsvc_reason(rec, items, &sv[i], pu, who, sq, reason, sizeof reason);
        tl_buf_append(b, ",\"reason\":", 10);
        tl_buf_json_str(b, reason, strlen(reason));
        /* the same as parts, for a client that words it in its own language */
        tl_rec_why_t w;
        tl_recsvc_why(rec, items, &sv[i], pu, who, sq, &w);
        tl_buf_printf(b, ",\"why\":{\"kind\":\"%s\"", w.kind);
        if (w.item[0]) {
            tl_buf_append(b, ",\"item\":", 8);
            tl_buf_json_str(b, w.item, strlen(w.item));
        } else {
            tl_buf_printf(b, ",\"who\":\"%s\"", w.similar ? "similar" : "everybody");
        }
        if (w.category) {
            tl_buf_append(b, ",\"category\":", 12);
            tl_buf_json_str(b, w.category, strlen(w.category));
        }
        if (w.note) tl_buf_printf(b, ",\"note\":\"%s\"", w.note);
        tl_buf_append(b, "}}", 2);
    }
    pthread_rwlock_unlock(&s->st_rw);
    tl__models_release(s, r);
    tl_buf_append(b, "]}", 2);
    rs->status = 200;
    rs->content_type = "application/json";
}

void tl__users_similar(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const char *id = req->arg[0];
    tl_http_response_t *rs = req->rs;
    long n;
    if (tl__request_n(req, 10, TL_REC_MAX_N, &n)) return;
    tl_errbuf_t eb;
    pthread_rwlock_rdlock(&s->st_rw);
    tl_dict_t *items = tl_store_dict(s->st, TL_D_ITEM, &eb);
    uint32_t it = items ? tl_dict_find(items, id, strlen(id)) : TL_NONE;
    pthread_rwlock_unlock(&s->st_rw);
    if (it == TL_NONE) {
        tl__server_fail(rs, 404, "not_found", "no item \"%s\"", id);
        return;
    }
    recref_t *r = tl__models_acquire(s);
    uint32_t nb[TL_REC_MAX_N], got = 0;
    float sim[TL_REC_MAX_N];
    int by_content = 0;
    if (r) got = tl_rec_similar_items(r->knn, r->content, it, (uint32_t)n, nb, sim, &by_content);
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "items");
    cJSON_AddStringToObject(j, "item", id);
    cJSON_AddStringToObject(j, "by", by_content ? "content" : "interactions");
    pthread_rwlock_rdlock(&s->st_rw);
    for (uint32_t i = 0; i < got; i++) {
        cJSON *o = cJSON_CreateObject();
        const char *iid = tl_dict_str(items, nb[i], NULL);
        cJSON_AddStringToObject(o, "item", iid ? iid : "");
        cJSON_AddNumberToObject(o, "similarity", sim[i]);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_rwlock_unlock(&s->st_rw);
    tl__models_release(s, r);
    tl__server_json(rs, 200, j);
}

/* A user's financial offers, from the profile and records as they are now. */
void tl__users_offers(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const char *id = req->arg[0];
    const char *q = req->rq->query;
    tl_http_response_t *rs = req->rs;
    char v[QUERY_VALUE_MAX], scene[QUERY_VALUE_MAX], cat[QUERY_VALUE_MAX];
    long n;
    if (tl__request_n(req, 3, 100, &n)) return;
    tl_offer_scene_t ctx = {tl__request_query(q, "category", cat, sizeof cat), NAN};
    const char *sn = tl__request_query(q, "scene", scene, sizeof scene) ? scene : "home";
    int explain = tl__request_query(q, "explain", v, sizeof v) && strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
    char *end = NULL;
    if (tl__request_query(q, "amount", v, sizeof v)) ctx.amount = strtod(v, &end);
    if (end && (*end || !(ctx.amount >= 0))) {
        tl__server_fail(rs, 400, "bad_parameter", "amount must be a number of at least 0");
        return;
    }
    tl_errbuf_t eb = {{0}};
    uint32_t u = tl__server_user(s, id, NULL, &eb);
    if (u == TL_NONE) {
        tl__server_fail(rs, 404, "not_found", "%s", eb.msg);
        return;
    }
    eb.msg[0] = 0;
    recref_t *r = tl__models_acquire(s);
    tl_offer_t *f = r ? calloc(tl_offers_nproducts(r->offers) + 1, sizeof *f) : NULL;
    uint32_t total = 0;
    int rc = f ? 0 : TL_ENOMEM;
    if (!rc) {
        pthread_rwlock_wrlock(&s->st_rw);
        pthread_rwlock_rdlock(&s->prof_mu);
        /* the person's offers: its profile and records, in the row of its first identifier */
        rc = tl_offers_user(r->offers, s->st, s->prof, r->card, tl_profile_person(s->prof, u), sn, &ctx, f,
                            &total, &eb);
        pthread_rwlock_unlock(&s->prof_mu);
        pthread_rwlock_unlock(&s->st_rw);
    }
    if (rc == TL_EINVAL) {
        tl__server_fail(rs, 400, "bad_parameter", "%s", eb.msg);
    } else if (rc) {
        tl__server_fail(rs, 500, "internal", "%s", eb.msg[0] ? eb.msg : tl_strerror(rc));
    } else {
        tl__server_json(rs, 200, tl_offers_json(id, sn, f, total, (uint32_t)n, explain));
    }
    free(f);
    tl__models_release(s, r);
}

/* ---- consents ----------------------------------------------------------------------------- */

/* After a profiling consent record of identifier u: its person is
 * withdrawn when the latest record of one of its identifiers withdraws it,
 * the profile dropped and recommendations not personalised; given back,
 * the profile starts again (personalised lists once the models are loaded
 * anew). The caller holds st_rw exclusively. */
static int set_profiling(tl_server_t *s, uint32_t u, tl_errbuf_t *eb) {
    pthread_rwlock_wrlock(&s->prof_mu);
    int rc = tl_profile_sync_withdrawn(s->prof, s->st, u, eb);
    if (!rc && tl__identify_withdrawn(s)) {
        tl_errbuf_set(eb, "out of memory");
        rc = TL_ENOMEM;
    }
    pthread_rwlock_unlock(&s->prof_mu);
    return rc;
}

void tl__users_consent(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const char *user = req->arg[0], *purpose = req->arg[1];
    tl_http_response_t *rs = req->rs;
    const cJSON *j = req->body;
    const cJSON *g = cJSON_GetObjectItem(j, "granted"), *at = cJSON_GetObjectItem(j, "at");
    int64_t t = tl_store_now(s->st);
    if (!cJSON_IsBool(g) || (at && (!cJSON_IsString(at) || tl_time_parse(at->valuestring, strlen(at->valuestring), &t)))) {
        tl__server_fail(rs, 400, "bad_type", "\"granted\" is true or false; \"at\", when given, a time");
        return;
    }
    size_t plen = strlen(purpose);
    int okp = plen > 0 && plen < 64;
    for (size_t i = 0; okp && i < plen; i++) okp = (purpose[i] >= 'a' && purpose[i] <= 'z') || purpose[i] == '_';
    tl_errbuf_t eb = {{0}};
    char key[256];
    uint32_t u = okp ? tl__server_user(s, user, key, &eb) : TL_NONE;
    if (!okp || u == TL_NONE) {
        if (okp) tl__server_fail(rs, 404, "not_found", "%s", eb.msg);
        else tl__server_fail(rs, 400, "bad_value", "purpose \"%s\": lower-case letters and _", purpose);
        return;
    }
    eb.msg[0] = 0;
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_begin(s->st, &eb);
    if (!rc) rc = tl_store_put_consent(s->st, u, purpose, cJSON_IsTrue(g), t, &eb) < 0 ? TL_ESQL : 0;
    if (!rc) rc = tl_store_commit(s->st, &eb);
    else tl_store_rollback(s->st);
    if (!rc && strcmp(purpose, "profiling") == 0) rc = set_profiling(s, u, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        tl__server_fail_write(rs, rc, "store", eb.msg);
        return;
    }
    char ts[32];
    tl_time_format(t, ts);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", key);
    cJSON_AddStringToObject(o, "purpose", purpose);
    cJSON_AddBoolToObject(o, "granted", cJSON_IsTrue(g));
    cJSON_AddStringToObject(o, "at", ts);
    tl__server_json(rs, 200, o);
}
