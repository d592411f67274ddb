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
#include <time.h>
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
        tl_boost_free(r->challenger);
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
    if (!rc && r->card) {
        /* the challenger decides nothing: one that cannot be read is named, not fatal */
        tl_errbuf_t ceb = {{0}};
        int crc = tl_boost_get(st, "scorecard", &r->challenger, &ceb);
        if (crc && crc != TL_ENOENT) snprintf(r->challenger_err, sizeof r->challenger_err, "%s", ceb.msg);
    }
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

/* The challenger beside the scorecard: how both did on its training rows
 * and, when measured, on folds held out of them; its shape; or why it
 * could not be read. */
static void challenger_json(cJSON *j, const recref_t *ref) {
    if (ref->challenger_err[0]) {
        cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "challenger"), "error", ref->challenger_err);
        return;
    }
    if (!ref->challenger) {
        cJSON_AddNullToObject(j, "challenger");
        return;
    }
    const tl_boost_t *b = ref->challenger;
    const tl_boost_opts_t *o = tl_boost_opts(b);
    tl_scorecard_stats_t st;
    tl_boost_stats(b, &st);
    cJSON *c = cJSON_AddObjectToObject(j, "challenger");
    cJSON_AddNumberToObject(c, "rows", st.rows);
    cJSON_AddNumberToObject(c, "bads", st.bads);
    cJSON_AddItemToObject(c, "auc", tl_json_number(st.auc));
    cJSON_AddItemToObject(c, "ks", tl_json_number(st.ks));
    cJSON_AddNumberToObject(c, "trees", o->trees);
    cJSON_AddNumberToObject(c, "depth", o->depth);
    cJSON_AddNumberToObject(c, "eta", o->eta);
    cJSON_AddNumberToObject(c, "columns", tl_boost_ncolumns(b));
    cJSON_AddNumberToObject(c, "constrained", tl_boost_nconstrained(b));
    cJSON *ho = tl_boost_held_out_json(b); /* its AUCs checked from 0 to 1 when read */
    cJSON_AddItemToObject(c, "held_out", ho ? ho : cJSON_CreateNull());
}

/* GET /v1/models: the recommenders the store holds, the one served and
 * when it was loaded (with the family, users and items it knows), the
 * credit scorecard in force with how it did on its training (rows, bads,
 * AUC, KS) and its features by information value, and its challenger
 * (null without one). The route holds the store. */
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
        challenger_json(j, ref);
    } else {
        cJSON_AddNullToObject(j, "scorecard");
        cJSON_AddNullToObject(j, "challenger");
    }
    tl__models_release(s, ref);
    tl__server_json(r->rs, 200, j);
}

/* The family the body names (dflt when it names none), or NULL with 400 answered. */
static const tl_model_info_t *model_of(tl_srv_req_t *r, const char *dflt) {
    const cJSON *m = cJSON_GetObjectItem(r->body, "model");
    const tl_model_info_t *mi = tl_model_lookup(cJSON_IsString(m) ? m->valuestring : dflt);
    if (!mi) {
        char names[256];
        tl_model_names(names, sizeof names);
        tl__server_fail(r->rs, 400, "bad_parameter", "model: use %s", names);
    }
    return mi;
}

/* A whole number field of the body from lo to hi (dflt when absent): 0, or
 * -1 with 400 answered. */
static int int_of(tl_srv_req_t *r, const char *name, long dflt, long lo, long hi, long *out) {
    const cJSON *v = cJSON_GetObjectItem(r->body, name);
    *out = dflt;
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble || v->valuedouble < lo ||
        v->valuedouble > hi) {
        tl__server_fail(r->rs, 400, "bad_parameter", "%s is a whole number from %ld to %ld", name, lo, hi);
        return -1;
    }
    *out = (long)v->valuedouble;
    return 0;
}

/* POST /v1/models/evaluate {model, by, test_days, k}: an offline
 * evaluation on the store as it is (the last test_days days held out, as
 * `tailor eval --split time`): accuracy at k, coverage, novelty,
 * diversity, Gini, and with by (gender or age) the accuracy of each group,
 * to show the gaps between them. Reads through a reader of its own. */
void tl__models_evaluate(tl_srv_req_t *r) {
    const tl_model_info_t *mi = model_of(r, tl_model_default(TL_MODEL_FOR_EVAL));
    long days, k;
    if (!mi || int_of(r, "test_days", 7, 1, 3650, &days) || int_of(r, "k", 10, 1, 1000, &k)) return;
    const cJSON *by = cJSON_GetObjectItem(r->body, "by");
    int group = -1;
    if (by && !cJSON_IsNull(by)) {
        const char *b = cJSON_IsString(by) ? by->valuestring : "";
        if (strcmp(b, "gender") != 0 && strcmp(b, "age") != 0) {
            tl__server_fail(r->rs, 400, "bad_parameter", "by is gender or age");
            return;
        }
        group = strcmp(b, "age") == 0 ? TL_GROUP_AGE : TL_GROUP_GENDER;
    }
    tl_model_params_t p;
    tl_model_params_default(&p);
    tl_rec_evaluate_opts_t eo = {.model = mi, .params = &p, .nruns = 1, .split = {TL_SPLIT_TIME, (uint32_t)days},
                                 .k = (uint32_t)k, .by = group, .new_items = 1, .clock = tl_time_mono_ms};
    tl_interact_opts_default(&eo.ix);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_rec_evaluation_t ev = {0};
    int rc = tl__server_reader(r->s, &st, &eb);
    if (!rc) rc = tl_rec_evaluate(st, &eo, &ev, &eb);
    tl_store_close(st);
    if (rc) {
        tl__server_fail(r->rs, rc == TL_EINVAL || rc == TL_EBADINPUT ? 409 : 500, "cannot_evaluate", "%s",
                        eb.msg[0] ? eb.msg : tl_strerror(rc));
        return;
    }
    cJSON *j = tl_rec_evaluation_json(mi->name, "time", (uint32_t)k, &ev);
    tl_eval_json_add(j, &ev.runs[0].ev, &ev.groups);
    cJSON_AddNumberToObject(j, "train_seconds", ev.runs[0].train_s);
    tl_rec_evaluation_fini(&ev);
    tl__server_json(r->rs, 200, j);
}

/* POST /v1/models/train {model, name}: a model trained on the store as it
 * is (read through a reader of its own, the requests served meanwhile),
 * kept under name (default: the family's), and the models loaded again
 * when it is the one served. */
void tl__models_train(tl_srv_req_t *r) {
    tl_server_t *s = r->s;
    const tl_model_info_t *mi = model_of(r, tl_model_default(TL_MODEL_FOR_TRAIN));
    if (!mi) return;
    const cJSON *nm = cJSON_GetObjectItem(r->body, "name");
    const char *name = cJSON_IsString(nm) ? nm->valuestring : mi->name;
    int ok = *name && strlen(name) <= 64;
    for (const char *q = name; *q; q++)
        ok &= (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-';
    if (!ok) {
        tl__server_fail(r->rs, 400, "bad_parameter", "name: up to 64 lower-case letters, digits, _ and -");
        return;
    }
    tl_model_params_t p;
    tl_model_params_default(&p);
    tl_interact_opts_t ix;
    tl_interact_opts_default(&ix);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    tl_model_t *m = NULL;
    tl_rec_trained_t info = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = tl__server_reader(s, &st, &eb);
    if (!rc) rc = tl_rec_train_store(st, mi, &p, ix, &m, &info, &eb);
    tl_store_close(st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!rc) {
        pthread_rwlock_wrlock(&s->st_rw);
        rc = tl_rec_model_save(s->st, name, m, &eb);
        pthread_rwlock_unlock(&s->st_rw);
    }
    tl_model_free(m);
    int served = strcmp(name, s->model) == 0;
    if (!rc && served) rc = tl_server_reload(s, &eb);
    if (rc) {
        tl__server_fail_write(r->rs, rc, "cannot_train", eb.msg[0] ? eb.msg : tl_strerror(rc));
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", mi->name);
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddNumberToObject(j, "users", info.users);
    cJSON_AddNumberToObject(j, "items", info.items);
    cJSON_AddNumberToObject(j, "interactions", (double)info.interactions);
    cJSON_AddNumberToObject(j, "seconds", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    cJSON_AddBoolToObject(j, "reloaded", served);
    tl__server_json(r->rs, 200, j);
}
