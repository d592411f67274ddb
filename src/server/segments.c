/* segments.c -- segments through the API: listed, defined (the expression
 * evaluated over the current profiles before it is kept, so a bad one is
 * refused with where it is wrong), and read with their size and members
 * in pages of 1,000. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
