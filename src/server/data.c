/* data.c -- what came in and how good it is: the import history, the
 * quarantine (counts by reason, and the records of a reason with personal
 * data masked, in pages), and feature drift between the live profiles and
 * those of some days before (PSI, overall or in a segment, built on a
 * reader of the store). */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment/segment.h"

static int history_line(const char *line, size_t len, void *arg) {
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (o) cJSON_AddItemToArray(arg, o);
    return 0;
}

/* GET /v1/imports?n=: the latest bulk imports, a record per source, the
 * newest last. The route holds the store. */
void tl__data_imports(tl_srv_req_t *r) {
    long n;
    if (tl__request_n(r, 100, 10000, &n)) return;
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "imports");
    tl_errbuf_t eb = {{0}};
    int rc = tl_import_history(r->s->st, (uint32_t)n, history_line, arr, &eb);
    if (rc) {
        cJSON_Delete(j);
        tl__server_fail_read(r->rs, rc, eb.msg);
        return;
    }
    tl__server_json(r->rs, 200, j);
}

typedef struct {
    cJSON *arr;
    int64_t after;
    long n, left;
    int64_t last;
    int more;
} qpage_t;

static int qrow(const tl_qrow_t *q, void *arg) {
    qpage_t *x = arg;
    if (q->id <= x->after) return 0;
    if (!x->left) {
        x->more = 1;
        return 1; /* one past the page: there is more */
    }
    cJSON *o = cJSON_CreateObject();
    char at[32];
    tl_time_format(q->at, at);
    cJSON_AddNumberToObject(o, "id", (double)q->id);
    cJSON_AddStringToObject(o, "at", at);
    cJSON_AddStringToObject(o, "source", q->source ? q->source : "");
    cJSON_AddNumberToObject(o, "line", (double)q->line);
    cJSON_AddStringToObject(o, "reason", q->reason ? q->reason : "");
    cJSON_AddStringToObject(o, "message", q->message ? q->message : "");
    cJSON_AddStringToObject(o, "preview", q->preview ? q->preview : ""); /* personal data masked */
    cJSON_AddItemToArray(x->arr, o);
    x->left--, x->last = q->id;
    return 0;
}

int tl__data_reason_row(const char *reason, uint64_t n, void *arg) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddItemToArray(arg, o);
    return 0;
}

/* GET /v1/quarantine?reason=&n=&after=: the counts by reason, and a page of
 * the records (of one reason, or all), oldest first, each with where it
 * came from, why, and a preview with personal data masked; next_after
 * names the page after. The route holds the store. */
void tl__data_quarantine(tl_srv_req_t *r) {
    const char *q = r->rq->query;
    char reason[QUERY_VALUE_MAX], v[QUERY_VALUE_MAX];
    qpage_t x = {.after = -1};
    if (tl__request_n(r, 50, 1000, &x.n)) return;
    x.left = x.n;
    char *end;
    if (tl__request_query(q, "after", v, sizeof v) && ((x.after = strtoll(v, &end, 10)) < 0 || *end || !*v)) {
        tl__server_fail(r->rs, 400, "bad_parameter", "after is the id of a record, a number");
        return;
    }
    const char *rs = tl__request_query(q, "reason", reason, sizeof reason);
    cJSON *j = cJSON_CreateObject();
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_quarantine_counts(r->s->st, tl__data_reason_row, cJSON_AddArrayToObject(j, "counts"), &eb);
    x.arr = cJSON_AddArrayToObject(j, "records");
    if (!rc) rc = tl_store_quarantine_scan(r->s->st, rs, 0, qrow, &x, &eb);
    if (rc == 1) rc = 0;
    if (rc) {
        cJSON_Delete(j);
        tl__server_fail_read(r->rs, rc, eb.msg);
        return;
    }
    if (x.more) cJSON_AddNumberToObject(j, "next_after", (double)x.last);
    tl__server_json(r->rs, 200, j);
}

/* GET /v1/insights/drift?days=&segment=: the PSI of every number feature
 * between the profiles of `days` (default 30) before the latest event and
 * the live ones, overall or among a stored segment's members at each
 * time, the largest first. The earlier profiles are built from the log on
 * a reader of the store, the requests served meanwhile. */
#define MAX_DRIFT 256

void tl__data_drift(tl_srv_req_t *r) {
    tl_server_t *s = r->s;
    const char *q = r->rq->query;
    char v[QUERY_VALUE_MAX], seg[QUERY_VALUE_MAX];
    long days = 30;
    char *end;
    if (tl__request_query(q, "days", v, sizeof v) && ((days = strtol(v, &end, 10)) < 1 || days > 3650 || *end)) {
        tl__server_fail(r->rs, 400, "bad_parameter", "days is from 1 to 3650");
        return;
    }
    const char *sn = tl__request_query(q, "segment", seg, sizeof seg);
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    char *expr = NULL;
    tl_profiles_t *before = NULL;
    tl_drift_t *d = malloc(MAX_DRIFT * sizeof *d);
    int nd = 0, rc = d ? tl__server_reader(s, &st, &eb) : TL_ENOMEM;
    if (!rc && sn) rc = tl_store_segment_get(st, sn, &expr, &eb);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    pthread_rwlock_rdlock(&s->prof_mu);
    o.as_of = s->as_of - (int64_t)days * 86400000;
    pthread_rwlock_unlock(&s->prof_mu);
    if (!rc) rc = tl_segment_profiles_build(st, &o, &before, &eb);
    tl_expr_err_t err;
    cJSON *j = NULL;
    pthread_rwlock_rdlock(&s->prof_mu);
    if (!rc) rc = tl_segment_drift(st, before, s->prof, expr, NULL, d, MAX_DRIFT, &nd, &err);
    if (!rc) j = tl_drift_json(d, nd, before, s->prof, sn);
    pthread_rwlock_unlock(&s->prof_mu);
    tl_profile_free(before);
    tl_store_close(st);
    free(expr), free(d);
    if (rc == TL_EBADINPUT) tl__server_fail(r->rs, 500, "bad_expression", "segment %s no longer compiles: %s", sn, err.msg);
    else if (rc) tl__server_fail_read(r->rs, rc, eb.msg[0] ? eb.msg : tl_strerror(rc));
    else tl__server_json(r->rs, 200, j);
}
