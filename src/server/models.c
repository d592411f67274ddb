/* models.c -- the recommender the server serves: the default model, the
 * others asked for by name (loaded at the first ask), the item kNN and the
 * content similarity, the offers policy and the scorecard, loaded together
 * and swapped whole by a reload (requests in flight finish on what they
 * started with: a reference count), and every user's top list kept once
 * computed, filled in the background after a load. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiment/experiment.h"

recref_t *tl__models_acquire(tl_server_t *s) {
    pthread_mutex_lock(&s->ref_mu);
    recref_t *r = s->rec;
    if (r) r->refs++;
    pthread_mutex_unlock(&s->ref_mu);
    return r;
}

void tl__models_release(tl_server_t *s, recref_t *r) {
    if (!r) return;
    pthread_mutex_lock(&s->ref_mu);
    int last = --r->refs == 0;
    pthread_mutex_unlock(&s->ref_mu);
    if (last) {
        free(r->def.cache);
        tl_recsvc_free(r->def.rec);
        for (int k = 0; k < atomic_load(&r->nother); k++) {
            free(r->other[k]->cache);
            tl_recsvc_free(r->other[k]->rec);
            free(r->other[k]);
        }
        pthread_mutex_destroy(&r->other_mu);
        tl_model_free(r->knn);
        tl_rec_content_free(r->content);
        tl_offers_free(r->offers);
        tl_scorecard_free(r->card);
        free(r);
    }
}

typedef struct {
    tl_server_t *s;
    recref_t *r;
} filljob_t;

/* Fills every user's cached list in the background, so requests find
 * them ready: the "precomputed candidates" the request path reads. */
static void *fill_cache(void *arg) {
    filljob_t *j = arg;
    tl_served_t out[CACHE_N];
    for (uint32_t u = 0; u < j->r->def.ncache && !atomic_load(&j->r->stop); u++) tl__models_top(&j->r->def, u, CACHE_N, out);
    tl__models_release(j->s, j->r);
    free(j);
    return NULL;
}

int tl__models_load(tl_server_t *s, tl_errbuf_t *eb) {
    recref_t *r = calloc(1, sizeof *r);
    if (!r) return TL_ENOMEM;
    pthread_mutex_init(&r->other_mu, NULL);
    snprintf(r->def.name, sizeof r->def.name, "%s", s->model);
    /* a second connection: loading reads the log without holding the server's store */
    tl_store_t *st = NULL;
    int rc = tl_store_open_conf(s->dir, &s->conf, TL_STORE_READONLY, &st, eb);
    tl_dict_t *items = rc ? NULL : tl_store_dict(st, TL_D_ITEM, eb);
    if (!rc && !items) rc = TL_ENOMEM;
    /* without the default model (or the item-kNN one) the server still starts */
    if (!rc && (rc = tl_recsvc_open(st, s->model, &r->def.rec, eb)) == TL_ENOENT) rc = 0, eb->msg[0] = 0;
    if (!rc && r->def.rec && r->def.rec->x.nusers) {
        r->def.ncache = r->def.rec->x.nusers;
        if (!(r->def.cache = calloc(r->def.ncache, sizeof *r->def.cache))) rc = TL_ENOMEM;
    }
    if (!rc && (rc = tl_rec_model_load(st, tl_model_default(TL_MODEL_FOR_SIMILAR), &r->knn, eb)) == TL_ENOENT)
        rc = 0, eb->msg[0] = 0;
    if (!rc && r->knn && tl_model_kind(r->knn) != TL_MODEL_KNN) tl_model_free(r->knn), r->knn = NULL;
    if (!rc) rc = tl_rec_content_load(st, tl_dict_count(items), &r->content, eb);
    char *policy = NULL;
    if (!rc && (rc = tl_scorecard_get(st, "scorecard", &r->card, eb)) == TL_ENOENT)
        rc = 0, eb->msg[0] = 0; /* none: no one has a credit band */
    if (!rc && s->policy && tl_read_file(s->policy, &policy, NULL)) {
        tl_errbuf_set(eb, "%s: cannot read the lending policy", s->policy);
        rc = TL_EIO;
    }
    if (!rc) {
        pthread_rwlock_rdlock(&s->prof_mu);
        rc = tl_offers_policy(st, s->prof, policy, &r->offers, eb);
        pthread_rwlock_unlock(&s->prof_mu);
    }
    free(policy);
    tl_store_close(st);
    if (rc) {
        r->refs = 1;
        tl__models_release(s, r);
        return rc;
    }
    r->refs = 1, r->loaded = tl_store_now(s->st);
    pthread_mutex_lock(&s->ref_mu);
    recref_t *old = s->rec;
    s->rec = r;
    filljob_t *j = r->def.cache ? malloc(sizeof *j) : NULL;
    if (j) r->refs++, j->s = s, j->r = r; /* the filler's reference */
    pthread_mutex_unlock(&s->ref_mu);
    if (j) {
        if (pthread_create(&r->filler, NULL, fill_cache, j) == 0) {
            pthread_detach(r->filler);
        } else {
            tl__models_release(s, r);
            free(j);
        }
    }
    if (old) atomic_store(&old->stop, 1);
    tl__models_release(s, old);
    return 0;
}

int tl_server_reload(tl_server_t *s, tl_errbuf_t *eb) {
    int rc = tl__models_load(s, eb);
    if (!rc) rc = tl__apikey_load(s, eb);
    if (!rc) {
        tl_id_rules_t r;
        pthread_rwlock_wrlock(&s->st_rw);
        rc = tl_identity_rules_get(s->st, &r, eb);
        if (!rc) s->rules = r;
        pthread_rwlock_unlock(&s->st_rw);
    }
    if (!rc) atomic_fetch_add(&s->reloads, 1);
    return rc;
}


uint32_t tl__models_top(msvc_t *r, uint32_t u, uint32_t n, tl_served_t *out) {
    topcache_t *c = u < r->ncache && n <= CACHE_N ? &r->cache[u] : NULL;
    if (c) {
        unsigned s0 = atomic_load_explicit(&c->seq, memory_order_acquire);
        if (!(s0 & 1) && c->n) {
            uint32_t got = c->n < n ? c->n : n;
            for (uint32_t i = 0; i < got; i++)
                out[i] = (tl_served_t){c->item[i], c->score[i], c->because[i], c->how[i] & 1, c->how[i] >> 1 & 1,
                                       c->how[i] >> 2 & 1};
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&c->seq, memory_order_relaxed) == s0) return got;
        }
    }
    tl_served_t all[CACHE_N];
    if (!c) return tl_recsvc_top(r->rec, u, n, out);
    uint32_t got = tl_recsvc_top(r->rec, u, CACHE_N, all);
    /* keep it, unless another writer has the entry */
    unsigned s0 = atomic_load(&c->seq);
    if (!(s0 & 1) && atomic_compare_exchange_strong(&c->seq, &s0, s0 + 1)) {
        for (uint32_t i = 0; i < got; i++) {
            c->item[i] = all[i].item, c->score[i] = all[i].score, c->because[i] = all[i].because;
            c->how[i] = (uint8_t)((all[i].cold != 0) | (all[i].from_context != 0) << 1 | (all[i].is_new != 0) << 2);
        }
        if (!c->n) atomic_fetch_add(&r->cached, 1);
        c->n = got;
        atomic_store_explicit(&c->seq, s0 + 2, memory_order_release);
    }
    uint32_t k = got < n ? got : n;
    memcpy(out, all, k * sizeof *out);
    return k;
}

/* Requests that find the model loaded take no lock. */
msvc_t *tl__models_find(tl_server_t *s, recref_t *r, const char *name, int *status, tl_errbuf_t *eb) {
    *status = 404;
    if (!name || strcmp(name, r->def.name) == 0) {
        *status = 503;
        if (!r->def.rec) tl_errbuf_set(eb, "no recommender is loaded (train one: `tailor train --model %s`)", r->def.name);
        return r->def.rec ? &r->def : NULL;
    }
    size_t len = strlen(name);
    int ok = len > 0 && len < sizeof r->def.name;
    for (size_t i = 0; ok && i < len; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-';
    if (!ok) {
        tl_errbuf_set(eb, "model \"%s\": lower-case letters, digits, _ and -", name);
        *status = 400;
        return NULL;
    }
    for (int k = 0; k < atomic_load(&r->nother); k++)
        if (strcmp(r->other[k]->name, name) == 0) return r->other[k];
    pthread_mutex_lock(&r->other_mu);
    msvc_t *m = NULL;
    int n = atomic_load(&r->nother);
    for (int k = 0; k < n && !m; k++)
        if (strcmp(r->other[k]->name, name) == 0) m = r->other[k];
    if (!m && n == MAX_MODELS) {
        tl_errbuf_set(eb, "at most %d models besides %s are served at once", MAX_MODELS, r->def.name);
        *status = 503;
    } else if (!m) {
        tl_store_t *st = NULL;
        m = calloc(1, sizeof *m);
        int rc = m ? tl_store_open_conf(s->dir, &s->conf, TL_STORE_READONLY, &st, eb) : TL_ENOMEM;
        if (!rc) rc = tl_recsvc_open(st, name, &m->rec, eb);
        tl_store_close(st);
        if (!rc && (m->ncache = m->rec->x.nusers) && !(m->cache = calloc(m->ncache, sizeof *m->cache))) rc = TL_ENOMEM;
        if (rc) {
            if (m) tl_recsvc_free(m->rec), free(m->cache), free(m);
            m = NULL;
            *status = rc == TL_ENOENT ? 404 : 500;
            if (rc == TL_ENOENT)
                tl_errbuf_set(eb, "no model \"%s\" (train one: `tailor train --model %s`)", name, name);
        } else {
            snprintf(m->name, sizeof m->name, "%s", name);
            r->other[n] = m;
            atomic_store(&r->nother, n + 1);
        }
    }
    pthread_mutex_unlock(&r->other_mu);
    return m;
}

/* ---- the models page ----------------------------------------------------------------- */

static int model_name(const char *name, void *arg) {
    cJSON_AddItemToArray(arg, cJSON_CreateString(name + strlen("models/")));
    return 0;
}

/* GET /v1/models: the recommenders the store holds, the one served and
 * when it was loaded (with the family, users and items it knows), and the
 * credit scorecard in force with how it did on its training (rows, bads,
 * AUC, KS) and its features by information value. The route holds the
 * store. */
void tl__models_get(tl_srv_req_t *r) {
    tl_server_t *s = r->s;
    cJSON *j = cJSON_CreateObject(), *names = cJSON_AddArrayToObject(j, "stored");
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_blob_list(s->st, "models/", model_name, names, &eb);
    if (rc) {
        cJSON_Delete(j);
        tl__server_fail_read(r->rs, rc, eb.msg);
        return;
    }
    recref_t *ref = tl__models_acquire(s);
    cJSON *srv = cJSON_AddObjectToObject(j, "served");
    cJSON_AddStringToObject(srv, "name", s->model);
    if (ref && ref->def.rec) {
        char at[32];
        tl_time_format(ref->loaded, at);
        cJSON_AddStringToObject(srv, "loaded", at);
        cJSON_AddStringToObject(srv, "family", tl_model_info(tl_model_kind(ref->def.rec->m))->name);
        cJSON_AddNumberToObject(srv, "users", ref->def.rec->x.nusers);
        cJSON_AddNumberToObject(srv, "items", ref->def.rec->x.nitems);
        cJSON_AddNumberToObject(srv, "interactions", (double)ref->def.rec->x.rowptr[ref->def.rec->x.nusers]);
    }
    if (ref && ref->card) {
        tl_scorecard_stats_t st;
        tl_scorecard_stats(ref->card, &st);
        cJSON *c = cJSON_AddObjectToObject(j, "scorecard"), *fs = cJSON_AddArrayToObject(c, "features");
        cJSON_AddStringToObject(c, "target", tl_scorecard_target(ref->card));
        cJSON_AddNumberToObject(c, "rows", st.rows);
        cJSON_AddNumberToObject(c, "bads", st.bads);
        cJSON_AddItemToObject(c, "auc", tl_json_number(st.auc));
        cJSON_AddItemToObject(c, "ks", tl_json_number(st.ks));
        for (uint32_t k = 0; k < tl_scorecard_nfeatures(ref->card); k++) {
            tl_score_feature_t f;
            tl_scorecard_feature(ref->card, k, &f);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "feature", f.name);
            cJSON_AddItemToObject(o, "iv", tl_json_number(f.iv));
            cJSON_AddBoolToObject(o, "kept", f.kept);
            cJSON_AddItemToArray(fs, o);
        }
    } else {
        cJSON_AddNullToObject(j, "scorecard");
    }
    tl__models_release(s, ref);
    tl__server_json(r->rs, 200, j);
}
