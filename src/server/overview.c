/* overview.c -- GET /v1/overview: the state of the business at a glance,
 * for the console's first page: events, active users, buyers, purchases,
 * revenue and conversion by local day over the last days (to the latest
 * event, or `to`), the store's totals, the quarantine by reason, and the
 * campaigns by status. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The route holds the store. */
void tl__overview_get(tl_srv_req_t *r) {
    tl_server_t *s = r->s;
    const char *q = r->rq->query;
    char v[QUERY_VALUE_MAX];
    long days = 30, tz = 0;
    int64_t to = s->as_of != INT64_MIN ? s->as_of : tl_store_now(s->st);
    char *end;
    if (tl__request_query(q, "days", v, sizeof v) && ((days = strtol(v, &end, 10)) < 1 || days > 366 || *end)) {
        tl__server_fail(r->rs, 400, "bad_parameter", "days is from 1 to 366");
        return;
    }
    if (tl__request_query(q, "tz", v, sizeof v) && ((tz = strtol(v, &end, 10)) < -840 || tz > 840 || *end || !*v)) {
        tl__server_fail(r->rs, 400, "bad_parameter", "tz is the local offset from UTC in minutes, from -840 to 840");
        return;
    }
    if (tl__request_query(q, "to", v, sizeof v) && tl_time_parse(v, strlen(v), &to)) {
        tl__server_fail(r->rs, 400, "bad_parameter", "to is a time such as 2025-11-30T00:00:00Z");
        return;
    }
    tl_activity_t a;
    tl_errbuf_t eb = {{0}};
    int rc = tl_activity_daily(s->st, to, (int)days, (int)tz, &a, &eb);
    if (rc) {
        tl__server_fail_read(r->rs, rc, eb.msg);
        return;
    }
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "days");
    char ts[32];
    tl_time_format(to, ts);
    cJSON_AddStringToObject(j, "to", ts);
    cJSON_AddNumberToObject(j, "tz", (double)tz);
    for (int d = 0; d < a.ndays; d++) {
        cJSON *o = cJSON_CreateObject();
        tl_time_format(a.day0 + (int64_t)d * 86400000 + (int64_t)tz * 60000, ts);
        ts[10] = 0; /* the local date */
        cJSON_AddStringToObject(o, "date", ts);
        cJSON_AddNumberToObject(o, "events", (double)a.events[d]);
        cJSON_AddNumberToObject(o, "users", (double)a.users[d]);
        cJSON_AddNumberToObject(o, "buyers", (double)a.buyers[d]);
        cJSON_AddNumberToObject(o, "orders", (double)a.orders[d]);
        cJSON_AddNumberToObject(o, "revenue", a.revenue[d]);
        cJSON_AddNumberToObject(o, "conversion", a.users[d] ? (double)a.buyers[d] / (double)a.users[d] : 0);
        cJSON_AddItemToArray(arr, o);
    }
    tl_activity_fini(&a);
    cJSON *tot = cJSON_AddObjectToObject(j, "totals");
    cJSON_AddNumberToObject(tot, "events", (double)tl_store_event_count(s->st));
    pthread_rwlock_rdlock(&s->prof_mu);
    cJSON_AddNumberToObject(tot, "users", tl_profile_nusers(s->prof));
    pthread_rwlock_unlock(&s->prof_mu);
    cJSON *quar = cJSON_AddArrayToObject(j, "quarantine"), *camps = cJSON_AddArrayToObject(j, "campaigns");
    rc = tl_store_quarantine_counts(s->st, tl__data_reason_row, quar, &eb);
    if (!rc) rc = tl_campaign_list(s->st, NULL, tl__campaigns_row, camps, &eb);
    if (rc) {
        cJSON_Delete(j);
        tl__server_fail_read(r->rs, rc, eb.msg);
        return;
    }
    tl__server_json(r->rs, 200, j);
}
