/* segments.c -- segments through the API: listed, defined (the expression
 * evaluated over the current profiles before it is kept, so a bad one is
 * refused with where it is wrong), and read with their size and members
 * in pages of 1,000. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/experiment.h"
#include "segment/segment.h"

typedef struct {
    cJSON *arr;
} seglist_t;

static int seg_row(const char *name, const char *expr, int64_t created, void *arg) {
    seglist_t *l = arg;
    (void)created;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "expression", expr);
    cJSON_AddItemToArray(l->arr, o);
    return 0;
}

void tl__segments_list(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    tl_http_response_t *rs = req->rs;
    seglist_t l = {cJSON_CreateArray()};
    tl_errbuf_t eb;
    int rc = tl_store_segment_list(s->st, seg_row, &l, &eb); /* the route holds the store */
    if (rc) {
        cJSON_Delete(l.arr);
        tl__server_fail(rs, 500, "store", "%s", eb.msg);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "segments", l.arr);
    tl__server_json(rs, 200, j);
}

/* The members of a condition over the current profiles. count() scans the
 * event log, which only one thread may do at a time: such an expression
 * takes the store. A bad expression is answered 400, or with check set
 * 200 and valid false (a check's answer, not a failed request). */
static int eval_segment(tl_server_t *s, const char *expr, uint8_t **mask, uint32_t *size, int check,
                        tl_http_response_t *rs) {
    int scans = strstr(expr, "count") != NULL;
    if (scans) pthread_rwlock_wrlock(&s->st_rw); /* the store before the profiles, as everywhere */
    pthread_rwlock_rdlock(&s->prof_mu);
    uint32_t n = tl_profile_nusers(s->prof);
    *mask = malloc(n + 1);
    tl_segtable_t *t = NULL;
    tl_expr_err_t err;
    int rc = *mask ? tl_segtable_new(s->prof, scans ? s->st : NULL, &t) : TL_ENOMEM;
    if (!rc) rc = tl_segment_eval(t, expr, *mask, size, &err);
    tl_segtable_free(t);
    pthread_rwlock_unlock(&s->prof_mu);
    if (scans) pthread_rwlock_unlock(&s->st_rw);
    if (rc == TL_EBADINPUT) {
        /* the message shows where, under the expression; position says it to a program */
        char msg[1024];
        tl_expr_format_error(expr, &err, msg, sizeof msg);
        cJSON *j = cJSON_CreateObject();
        if (check) cJSON_AddBoolToObject(j, "valid", 0);
        else cJSON_AddNumberToObject(j, "status", 400);
        cJSON_AddStringToObject(j, "code", "bad_expression");
        cJSON_AddStringToObject(j, "message", msg);
        cJSON_AddNumberToObject(j, "position", err.pos);
        cJSON_AddStringToObject(j, "problem", err.msg);
        tl__server_json(rs, check ? 200 : 400, j);
    } else if (rc) {
        tl__server_fail(rs, 500, "internal", "%s", tl_strerror(rc));
    }
    if (rc) {
        free(*mask);
        *mask = NULL;
    }
    return rc;
}

void tl__segments_post(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    tl_http_response_t *rs = req->rs;
    const cJSON *j = req->body;
    const cJSON *name = cJSON_GetObjectItem(j, "name"), *expr = cJSON_GetObjectItem(j, "expression");
    if (!cJSON_IsString(name) || !cJSON_IsString(expr)) {
        tl__server_fail(rs, 400, "bad_type", "a segment needs \"name\" and \"expression\" as strings");
        return;
    }
    tl_errbuf_t eb;
    if (tl_segment_name_check(name->valuestring, &eb)) {
        tl__server_fail(rs, 400, "bad_name", "%s", eb.msg);
        return;
    }
    uint8_t *mask;
    uint32_t size;
    if (eval_segment(s, expr->valuestring, &mask, &size, 0, rs)) return;
    free(mask);
    pthread_rwlock_wrlock(&s->st_rw);
    int isnew = tl_segment_define(s->st, name->valuestring, expr->valuestring, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    int rc = isnew < 0 ? isnew : 0;
    if (rc) {
        tl__server_fail_write(rs, rc, "store", eb.msg);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name->valuestring);
    cJSON_AddStringToObject(o, "expression", expr->valuestring);
    cJSON_AddNumberToObject(o, "size", size);
    tl__server_json(rs, isnew ? 201 : 200, o);
}

/* A segment as defined, its size over the current profiles and, with
 * members, a page of them. */
static void get_segment(tl_server_t *s, const char *name, int members, const char *q,
                        tl_http_response_t *rs) {
    char *expr = NULL;
    tl_errbuf_t eb;
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_segment_get(s->st, name, &expr, &eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        tl__server_fail_read(rs, rc, eb.msg);
        return;
    }
    uint8_t *mask;
    uint32_t size;
    if (eval_segment(s, expr, &mask, &size, 0, rs)) {
        free(expr);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "expression", expr);
    cJSON_AddNumberToObject(j, "size", size);
    if (members) {
        /* pages of 1,000 members; the cursor is the index to start after */
        char v[QUERY_VALUE_MAX];
        long long from = tl__request_query(q, "cursor", v, sizeof v) ? atoll(v) : -1;
        cJSON *arr = cJSON_AddArrayToObject(j, "members");
        tl_ids_t ids;
        pthread_rwlock_wrlock(&s->st_rw);
        int irc = tl_store_ids(s->st, TL_D_USER, &ids, &eb);
        uint32_t n = 0, u, last = TL_NONE;
        for (u = from < 0 ? 0 : (uint32_t)from + 1; !irc && u < ids.n && n < 1000; u++)
            if (mask[u]) cJSON_AddItemToArray(arr, cJSON_CreateString(tl_ids_str(&ids, u, NULL))), n++, last = u;
        int more = 0;
        for (; !irc && u < ids.n && !more; u++) more = mask[u];
        pthread_rwlock_unlock(&s->st_rw);
        if (more && last != TL_NONE) {
            snprintf(v, sizeof v, "%u", last);
            cJSON_AddStringToObject(j, "next_cursor", v);
        }
    }
    free(mask), free(expr);
    tl__server_json(rs, 200, j);
}

void tl__segments_get(tl_srv_req_t *req) {
    get_segment(req->s, req->arg[0], 0, req->rq->query, req->rs);
}

void tl__segments_members(tl_srv_req_t *req) {
    get_segment(req->s, req->arg[0], 1, req->rq->query, req->rs);
}

/* POST /v1/segments/size {"expression": ...}: whether a condition is
 * right and how many users it holds now, without keeping it: a builder
 * asks as its user types. A bad expression is answered (200) with valid
 * false, where it is wrong and why. */
void tl__segments_size(tl_srv_req_t *req) {
    const cJSON *expr = cJSON_GetObjectItem(req->body, "expression");
    if (!cJSON_IsString(expr)) {
        tl__server_fail(req->rs, 400, "bad_type", "the body needs \"expression\" as a string");
        return;
    }
    uint8_t *mask;
    uint32_t size;
    if (eval_segment(req->s, expr->valuestring, &mask, &size, 1, req->rs)) return;
    free(mask);
    pthread_rwlock_rdlock(&req->s->prof_mu);
    uint32_t n = tl_profile_nusers(req->s->prof);
    pthread_rwlock_unlock(&req->s->prof_mu);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "valid", 1);
    cJSON_AddStringToObject(o, "expression", expr->valuestring);
    cJSON_AddNumberToObject(o, "size", size);
    cJSON_AddNumberToObject(o, "users", n);
    tl__server_json(req->rs, 200, o);
}

/* ---- insights ------------------------------------------------------------------------------ */

#define MAX_OVERLAP 16

typedef struct {
    char *name[MAX_OVERLAP], *expr[MAX_OVERLAP];
    int n, more;
} stored_t;

static int stored_row(const char *name, const char *expr, int64_t created, void *arg) {
    stored_t *x = arg;
    (void)created;
    if (x->n == MAX_OVERLAP) {
        x->more = 1;
        return 0;
    }
    x->name[x->n] = strdup(name), x->expr[x->n] = strdup(expr);
    return x->name[x->n] && x->expr[x->n++] ? 0 : TL_ENOMEM;
}

static cJSON *rfm_json(const tl_profiles_t *p) {
    tl_rfm_t r = {0};
    if (tl_segment_rfm(p, &r)) return cJSON_CreateNull();
    cJSON *j = tl_rfm_json(&r);
    tl_rfm_fini(&r);
    return j;
}

static cJSON *clusters_json(tl_store_t *st) {
    static tl_clusters_t c; /* large: callers hold the store exclusively, one at a time */
    tl_errbuf_t eb;
    if (tl_clusters_kept(st, &c, &eb)) return cJSON_CreateNull();
    cJSON *j = cJSON_CreateObject(), *fs = cJSON_AddArrayToObject(j, "features"), *cl = cJSON_AddArrayToObject(j, "clusters");
    for (int f = 0; f < c.nf; f++) cJSON_AddItemToArray(fs, cJSON_CreateString(c.feature[f]));
    cJSON_AddNumberToObject(j, "users", c.users);
    cJSON_AddItemToObject(j, "silhouette", tl_json_number(c.silhouette));
    char ts[32];
    tl_time_format(c.as_of, ts);
    cJSON_AddStringToObject(j, "as_of", ts);
    for (uint32_t k = 0; k < c.k; k++) {
        cJSON *o = cJSON_CreateObject(), *m = cJSON_AddArrayToObject(o, "means"), *tr = cJSON_AddArrayToObject(o, "traits");
        cJSON_AddNumberToObject(o, "size", c.size[k]);
        for (int f = 0; f < c.nf; f++) cJSON_AddItemToArray(m, tl_json_number(c.mean[k][f]));
        tl_cluster_trait_t t[TL_CLUSTER_MAX_F];
        int n = tl_clusters_traits(&c, k, t, 3);
        for (int i = 0; i < n; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "feature", c.feature[t[i].feature]);
            cJSON_AddItemToObject(x, "mean", tl_json_number(t[i].mean));
            cJSON_AddItemToObject(x, "overall", tl_json_number(t[i].overall));
            cJSON_AddItemToObject(x, "z", tl_json_number(t[i].z));
            cJSON_AddItemToObject(x, "ratio", tl_json_number(t[i].ratio));
            cJSON_AddItemToArray(tr, x);
        }
        cJSON_AddItemToArray(cl, o);
    }
    return j;
}

/* GET /v1/insights/segments: the RFM segments and grid, the clustering
 * kept (each cluster with what sets it apart), and how the stored segments
 * (the first 16) overlap, over the live profiles. The route holds the
 * store (conditions may count events). */
void tl__segments_insights(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    stored_t x;
    memset(&x, 0, sizeof x);
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_segment_list(s->st, stored_row, &x, &eb);
    cJSON *j = cJSON_CreateObject();
    pthread_rwlock_rdlock(&s->prof_mu);
    uint32_t n = tl_profile_nusers(s->prof);
    cJSON_AddNumberToObject(j, "users", n);
    cJSON_AddItemToObject(j, "rfm", rfm_json(s->prof));
    cJSON_AddItemToObject(j, "clusters", clusters_json(s->st));
    uint32_t sizes[MAX_OVERLAP], pairs[MAX_OVERLAP * MAX_OVERLAP];
    tl_segtable_t *t = NULL;
    int bad = -1;
    tl_expr_err_t err;
    if (!rc) rc = tl_segtable_new(s->prof, s->st, &t);
    if (!rc) rc = tl_segment_overlaps(t, n, (const char *const *)x.expr, x.n, sizes, pairs, &bad, &err);
    tl_segtable_free(t);
    pthread_rwlock_unlock(&s->prof_mu);
    if (rc == TL_EBADINPUT) {
        cJSON_Delete(j);
        tl__server_fail(req->rs, 500, "bad_expression", "the stored segment %s no longer compiles: %s", x.name[bad], err.msg);
    } else if (rc) {
        cJSON_Delete(j);
        tl__server_fail_read(req->rs, rc, eb.msg[0] ? eb.msg : tl_strerror(rc));
    } else {
        cJSON *ov = cJSON_AddObjectToObject(j, "overlaps"), *names = cJSON_AddArrayToObject(ov, "segments");
        cJSON *sz = cJSON_AddArrayToObject(ov, "sizes"), *m = cJSON_AddArrayToObject(ov, "pairs");
        for (int i = 0; i < x.n; i++) {
            cJSON_AddItemToArray(names, cJSON_CreateString(x.name[i]));
            cJSON_AddItemToArray(sz, cJSON_CreateNumber(sizes[i]));
            cJSON *row = cJSON_CreateArray();
            for (int k = 0; k < x.n; k++) cJSON_AddItemToArray(row, cJSON_CreateNumber(pairs[i * x.n + k]));
            cJSON_AddItemToArray(m, row);
        }
        cJSON_AddBoolToObject(ov, "more", x.more);
        tl__server_json(req->rs, 200, j);
    }
    for (int i = 0; i < x.n; i++) free(x.name[i]), free(x.expr[i]);
}

/* GET /v1/segments/{name}/history?points=&every=: the segment's size at
 * points times (default 6), every `every` days (default 7) back from the
 * latest event, the profiles of each time built from the events up to it
 * on a reader of the store (the requests served meanwhile). */
void tl__segments_history(tl_srv_req_t *req) {
    tl_server_t *s = req->s;
    const char *q = req->rq->query;
    char v[QUERY_VALUE_MAX];
    long points = 6, every = 7;
    char *end;
    if (tl__request_query(q, "points", v, sizeof v) && ((points = strtol(v, &end, 10)) < 1 || points > 24 || *end)) {
        tl__server_fail(req->rs, 400, "bad_parameter", "points is from 1 to 24");
        return;
    }
    if (tl__request_query(q, "every", v, sizeof v) && ((every = strtol(v, &end, 10)) < 1 || every > 365 || *end)) {
        tl__server_fail(req->rs, 400, "bad_parameter", "every is a number of days from 1 to 365");
        return;
    }
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    char *expr = NULL;
    int rc = tl__server_reader(s, &st, &eb);
    if (!rc) rc = tl_store_segment_get(st, req->arg[0], &expr, &eb);
    int64_t at[24];
    uint32_t size[24], users[24];
    tl_expr_err_t err;
    pthread_rwlock_rdlock(&s->prof_mu);
    int64_t latest = s->as_of;
    pthread_rwlock_unlock(&s->prof_mu);
    for (long i = 0; i < points; i++) at[i] = latest - (points - 1 - i) * every * 86400000LL;
    if (!rc) rc = tl_segment_history(st, expr, at, (int)points, size, users, &err, &eb);
    tl_store_close(st);
    if (rc == TL_EBADINPUT) {
        tl__server_fail(req->rs, 500, "bad_expression", "segment %s no longer compiles: %s", req->arg[0], err.msg);
    } else if (rc) {
        tl__server_fail_read(req->rs, rc, eb.msg[0] ? eb.msg : tl_strerror(rc));
    } else {
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "points");
        cJSON_AddStringToObject(j, "name", req->arg[0]);
        cJSON_AddStringToObject(j, "expression", expr);
        for (long i = 0; i < points; i++) {
            cJSON *o = cJSON_CreateObject();
            char ts[32];
            tl_time_format(at[i], ts);
            cJSON_AddStringToObject(o, "at", ts);
            cJSON_AddNumberToObject(o, "size", size[i]);
            cJSON_AddNumberToObject(o, "users", users[i]);
            cJSON_AddItemToArray(arr, o);
        }
        tl__server_json(req->rs, 200, j);
    }
    free(expr);
}
