/* Unit tests of src/server's handlers in process (no sockets): keys and
 * roles, events in and the profile that follows, JSON errors, segments
 * (count() among them, and the rule for their names), offers, a campaign
 * created and run, subject access on the record, JSON bodies with a key
 * twice, identifiers merged into persons by identify calls and aliases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/server.h"
#include "tmpdir.h"

static int call(tl_server_t *s, const char *method, const char *path, const char *query,
                const char *key, const char *body, char *out, size_t cap) {
    tl_http_request_t rq = {.method = method, .path = path, .query = query, .api_key = key,
                            .body = body ? body : "", .body_len = body ? strlen(body) : 0};
    tl_http_response_t rs = {0};
    tl_buf_init(&rs.body);
    tl_server_handle(s, &rq, &rs);
    snprintf(out, cap, "%.*s", (int)rs.body.len, rs.body.data ? rs.body.data : "");
    tl_buf_fini(&rs.body);
    return rs.status;
}

static void test_handlers(void **state) {
    (void)state;
    tl_store_t *st;
    tl_errbuf_t eb;
    char svc[48], ana[48], adm[48], id[16], out[65536];
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_apikey_create(st, "service", "t", svc, id, &eb), 0);
    assert_int_equal(tl_apikey_create(st, "analyst", "t", ana, id, &eb), 0);
    assert_int_equal(tl_apikey_create(st, "admin", "t", adm, id, &eb), 0);
    assert_int_equal(tl_apikey_create(st, "owner", "t", ana + 0, id, &eb) == 0, 0);
    tl_store_close(st);
    tl_server_t *s;
    tl_server_opts_t o = {.data_dir = dir, .max_body = 4096, .store = test_conf()};
    assert_int_equal(tl_server_new(&o, &s, &eb), 0);
    assert_int_equal(call(s, "GET", "/healthz", NULL, NULL, NULL, out, sizeof out), 200);
    assert_int_equal(call(s, "POST", "/v1/events", NULL, NULL, "[]", out, sizeof out), 401);
    assert_int_equal(call(s, "POST", "/v1/events", NULL, ana, "[]", out, sizeof out), 403);
    assert_int_equal(call(s, "POST", "/v1/events", NULL, svc, "[1,", out, sizeof out), 400);
    assert_non_null(strstr(out, "\"code\":\"bad_json\""));
    const char *ev = "[{\"event_id\":\"e1\",\"user\":\"u1\",\"item\":\"i1\",\"type\":\"purchase\","
                     "\"ts\":\"2025-11-30T10:00:00Z\",\"amount\":10},"
                     "{\"event_id\":\"e2\",\"user\":\"u1\",\"type\":\"view\",\"ts\":\"2025-11-30T09:00:00Z\"},"
                     "{\"user\":\"u2\",\"type\":\"view\",\"ts\":\"not a time\"}]";
    assert_int_equal(call(s, "POST", "/v1/events", NULL, svc, ev, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"accepted\":2"));
    assert_non_null(strstr(out, "\"index\":2,\"reason\":\"bad_time\""));
    /* out of time order within the batch: the profile is as a build would make it */
    assert_int_equal(call(s, "GET", "/v1/users/u1/profile", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"orders\":1,"));
    assert_non_null(strstr(out, "\"monetary\":10,"));
    assert_non_null(strstr(out, "\"events\":2,"));
    assert_int_equal(call(s, "GET", "/v1/users/nobody/profile", NULL, ana, NULL, out, sizeof out), 404);
    /* no model yet */
    assert_int_equal(call(s, "GET", "/v1/users/u1/recommendations", "n=3", svc, NULL, out, sizeof out), 503);
    assert_int_equal(call(s, "POST", "/v1/segments", NULL, ana, "{\"name\":\"b\",\"expression\":\"orders >= 1\"}",
                          out, sizeof out), 201);
    assert_non_null(strstr(out, "\"size\":1"));
    assert_int_equal(call(s, "GET", "/v1/segments/b/members", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"members\":[\"u1\"]"));
    /* count() reads the event log */
    assert_int_equal(call(s, "POST", "/v1/segments", NULL, ana,
                          "{\"name\":\"v\",\"expression\":\"count(view, 30d) >= 1\"}", out, sizeof out), 201);
    assert_non_null(strstr(out, "\"size\":1"));
    /* no catalogue: nothing to offer */
    assert_int_equal(call(s, "GET", "/v1/users/u1/offers", "scene=purchase", svc, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"scene\":\"purchase\",\"offers\":[]") || strstr(out, "\"offers\":[]"));
    const char *camp = "{\"id\":\"c\",\"audience\":\"orders >= 1\",\"channels\":[\"push\"],"
                       "\"content\":{\"type\":\"coupon\",\"code\":\"X\"}}";
    assert_int_equal(call(s, "POST", "/v1/campaigns", NULL, ana, camp, out, sizeof out), 201);
    assert_int_equal(call(s, "POST", "/v1/campaigns/c/run", NULL, ana, NULL, out, sizeof out), 403);
    assert_int_equal(call(s, "POST", "/v1/campaigns/c/run", NULL, adm, "{\"dry_run\":true}", out, sizeof out), 200);
    assert_non_null(strstr(out, "\"audience\":1,"));
    assert_int_equal(call(s, "GET", "/v1/campaigns/c/report", "correction=bh", ana, NULL, out, sizeof out), 200);
    assert_int_equal(call(s, "GET", "/v1/campaigns/nope/report", NULL, ana, NULL, out, sizeof out), 404);
    char big[5000];
    memset(big, ' ', sizeof big - 1), big[sizeof big - 1] = 0;
    assert_int_equal(call(s, "POST", "/v1/events", NULL, svc, big, out, sizeof out), 413);
    assert_int_equal(call(s, "GET", "/metrics", NULL, NULL, NULL, out, sizeof out), 200);

    /* what the console reads: the key's role */
    assert_int_equal(call(s, "GET", "/v1/me", NULL, svc, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"role\":\"service\""));
    assert_int_equal(call(s, "GET", "/v1/me", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"role\":\"analyst\""));
    assert_int_equal(call(s, "GET", "/v1/me", NULL, NULL, NULL, out, sizeof out), 401);
    /* activity by local day: at UTC the purchase (10:00) and the view (09:00) of 30 November
     * are one day; fourteen hours east the purchase is 1 December */
    assert_int_equal(call(s, "GET", "/v1/overview", "days=2&to=2025-11-30T12:00:00Z", ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "{\"date\":\"2025-11-30\",\"events\":2,\"users\":1,\"buyers\":1,\"orders\":1,"
                                "\"revenue\":10,\"conversion\":1}"));
    assert_non_null(strstr(out, "{\"date\":\"2025-11-29\",\"events\":0,"));
    assert_int_equal(call(s, "GET", "/v1/overview", "days=2&tz=840&to=2025-11-30T12:00:00Z", ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "{\"date\":\"2025-11-30\",\"events\":1,\"users\":1,\"buyers\":0,"));
    assert_non_null(strstr(out, "{\"date\":\"2025-12-01\",\"events\":1,\"users\":1,\"buyers\":1,\"orders\":1,"));
    assert_non_null(strstr(out, "\"quarantine\":[{\"reason\":\"bad_time\",\"n\":1}]"));
    assert_non_null(strstr(out, "\"campaigns\":[{\"id\":\"c\","));
    assert_int_equal(call(s, "GET", "/v1/overview", "days=0", ana, NULL, out, sizeof out), 400);
    assert_int_equal(call(s, "GET", "/v1/overview", "tz=9999", ana, NULL, out, sizeof out), 400);
    assert_int_equal(call(s, "GET", "/v1/overview", NULL, svc, NULL, out, sizeof out), 403);
    /* a condition checked and counted, kept nowhere */
    assert_int_equal(call(s, "POST", "/v1/segments/size", NULL, ana, "{\"expression\":\"orders >= 1\"}", out, sizeof out), 200);
    assert_non_null(strstr(out, "\"valid\":true"));
    assert_non_null(strstr(out, "\"size\":1,"));
    assert_int_equal(call(s, "POST", "/v1/segments/size", NULL, ana, "{\"expression\":\"orders >= \"}", out, sizeof out), 200);
    assert_non_null(strstr(out, "\"valid\":false"));
    assert_non_null(strstr(out, "\"position\":10"));
    assert_int_equal(call(s, "POST", "/v1/segments/size", NULL, ana, "{\"expr\":\"orders\"}", out, sizeof out), 400);
    /* campaigns listed, read, and a definition checked without being kept */
    assert_int_equal(call(s, "GET", "/v1/campaigns", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "{\"campaigns\":[{\"id\":\"c\",\"name\":\"c\",\"status\":\"active\""));
    assert_int_equal(call(s, "GET", "/v1/campaigns/c", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"kind\":\"on request\",\"definition\":{\"id\":\"c\""));
    assert_int_equal(call(s, "GET", "/v1/campaigns/nope", NULL, ana, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "POST", "/v1/campaigns", "check=true", ana, "{\"id\":\"d\",\"channels\":[\"push\"]} x", out, sizeof out), 200);
    assert_non_null(strstr(out, "\"valid\":false"));
    assert_non_null(strstr(out, "unexpected \\\"x\\\""));
    assert_int_equal(call(s, "POST", "/v1/campaigns", "check=true", ana, camp, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"valid\":true"));
    assert_int_equal(call(s, "GET", "/v1/campaigns", NULL, ana, NULL, out, sizeof out), 200);
    assert_null(strstr(out, "\"id\":\"d\"")); /* checked, not kept */
    /* a person's events, newest first, each read audited */
    assert_int_equal(call(s, "GET", "/v1/users/u1/events", "n=1", ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "{\"user\":\"u1\",\"events\":[{\"ts\":\"2025-11-30T10:00:00Z\",\"type\":\"purchase\""));
    assert_null(strstr(out, "\"view\""));
    assert_int_equal(call(s, "GET", "/v1/users/u1/events", NULL, svc, NULL, out, sizeof out), 403);
    /* a segment's size at past times, a day apart back from the latest event: a day
     * before it, u1 had not bought yet */
    assert_int_equal(call(s, "GET", "/v1/segments/b/history", "points=2&every=1", ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "{\"points\":[{\"at\":\"2025-11-30T00:00:00Z\",\"size\":0,"));
    assert_non_null(strstr(out, "{\"at\":\"2025-12-01T00:00:00Z\",\"size\":1,"));
    assert_int_equal(call(s, "GET", "/v1/segments/nope/history", NULL, ana, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "GET", "/v1/segments/b/history", "points=0", ana, NULL, out, sizeof out), 400);
    /* a person's standing: consents, segments, RFM, no credit band without a scorecard */
    assert_int_equal(call(s, "GET", "/v1/users/u1/summary", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"consents\":[],\"segments\":[\"b\",\"v\"],\"rfm\":{"));
    assert_non_null(strstr(out, "\"credit\":null"));
    assert_int_equal(call(s, "GET", "/v1/users/u1/summary", NULL, svc, NULL, out, sizeof out), 403);
    /* segments together: both hold u1 alone */
    assert_int_equal(call(s, "GET", "/v1/insights/segments", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"overlaps\":{\"segments\":[\"b\",\"v\"],\"sizes\":[1,1],\"pairs\":[[1,1],[1,1]],\"more\":false}"));
    assert_non_null(strstr(out, "\"clusters\":null"));
    /* the data page: no bulk import here, the one bad record of the API with its reason */
    assert_int_equal(call(s, "GET", "/v1/imports", NULL, ana, NULL, out, sizeof out), 200);
    assert_string_equal(out, "{\"imports\":[]}");
    assert_int_equal(call(s, "GET", "/v1/quarantine", "reason=bad_time", ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"counts\":[{\"reason\":\"bad_time\",\"n\":1}],\"records\":[{\"id\":"));
    assert_non_null(strstr(out, "\"reason\":\"bad_time\""));
    assert_int_equal(call(s, "GET", "/v1/quarantine", "reason=bad_id", ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"records\":[]"));
    assert_int_equal(call(s, "GET", "/v1/quarantine", "after=x", ana, NULL, out, sizeof out), 400);
    assert_int_equal(call(s, "GET", "/v1/insights/drift", "days=1", ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"features\":[{\"feature\":"));
    assert_int_equal(call(s, "GET", "/v1/insights/drift", "segment=nope", ana, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "GET", "/v1/models", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"scorecard\":null"));
    assert_non_null(strstr(out, "\"challenger\":null"));
    assert_non_null(strstr(out, "\"stored\":[]"));
    /* evaluations and trainings asked for: checked, then run on a reader of the store */
    assert_int_equal(call(s, "POST", "/v1/models/evaluate", NULL, ana, "{\"model\":\"nope\"}", out, sizeof out), 400);
    assert_int_equal(call(s, "POST", "/v1/models/evaluate", NULL, ana, "{\"by\":\"zodiac\"}", out, sizeof out), 400);
    assert_int_equal(call(s, "POST", "/v1/models/evaluate", NULL, ana, "{\"k\":0}", out, sizeof out), 400);
    assert_int_equal(call(s, "POST", "/v1/models/train", NULL, ana, "{\"model\":\"pop\"}", out, sizeof out), 403);
    assert_int_equal(call(s, "POST", "/v1/models/train", NULL, adm, "{\"model\":\"pop\",\"name\":\"../x\"}", out, sizeof out), 400);
    assert_int_equal(call(s, "POST", "/v1/models/train", NULL, adm, "{\"model\":\"pop\",\"name\":\"p1\"}", out, sizeof out), 200);
    assert_non_null(strstr(out, "\"name\":\"p1\",\"users\":1,\"items\":1,\"interactions\":1,")); /* u1 bought i1 */
    assert_non_null(strstr(out, "\"reloaded\":false"));
    assert_int_equal(call(s, "GET", "/v1/models", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"stored\":[\"p1\"]"));
    /* the console's files, with their type and an ETag that a browser sends back */
    tl_http_request_t rq = {.method = "GET", .path = "/", .body = ""};
    tl_http_response_t rs = {0};
    tl_buf_init(&rs.body);
    tl_server_handle(s, &rq, &rs);
    assert_int_equal(rs.status, 200);
    assert_string_equal(rs.content_type, "text/html; charset=utf-8");
    assert_true(rs.etag[0] == '"' && rs.body.len > 100);
    char etag[24];
    memcpy(etag, rs.etag, sizeof etag);
    rq.if_none_match = etag;
    tl_server_handle(s, &rq, &rs);
    assert_int_equal(rs.status, 304);
    assert_int_equal(rs.body.len, 0);
    tl_buf_fini(&rs.body);
    assert_int_equal(call(s, "GET", "/console/vendor/echarts.min.js", NULL, NULL, NULL, out, sizeof out), 200);
    assert_int_equal(call(s, "GET", "/console/../tailor.db", NULL, NULL, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "POST", "/", NULL, NULL, NULL, out, sizeof out), 405);
    tl_server_free(s);
}

/* A server over a store with the users u1 and u2 (one event each) and an
 * admin key in adm. */
static tl_server_t *two_users(char adm[48]) {
    tl_store_t *st;
    tl_errbuf_t eb;
    char id[16], out[4096];
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_apikey_create(st, "admin", "t", adm, id, &eb), 0);
    tl_store_close(st);
    tl_server_t *s;
    tl_server_opts_t o = {.data_dir = dir, .store = test_conf()};
    assert_int_equal(tl_server_new(&o, &s, &eb), 0);
    assert_int_equal(call(s, "POST", "/v1/events", NULL, adm,
                          "[{\"user\":\"u1\",\"type\":\"view\",\"ts\":\"2025-11-30T10:00:00Z\"},"
                          "{\"user\":\"u2\",\"type\":\"view\",\"ts\":\"2025-11-30T10:00:00Z\"}]",
                          out, sizeof out), 200);
    assert_non_null(strstr(out, "\"accepted\":2"));
    return s;
}

/* Subject access puts each read on the record before answering (the
 * next export lists it, by the key that asked); segment names follow the
 * one rule of the command line. */
static void test_export_and_segment_names(void **state) {
    (void)state;
    char adm[48], out[65536], who[64];
    tl_server_t *s = two_users(adm);
    assert_int_equal(call(s, "GET", "/v1/users/nobody/data", NULL, adm, NULL, out, sizeof out), 404);
    assert_non_null(strstr(out, "\"code\":\"not_found\""));
    assert_int_equal(call(s, "GET", "/v1/users/u1/data", NULL, adm, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"user\":\"u1\""));
    assert_non_null(strstr(out, "\"reads_of_this_data\":[]"));
    assert_int_equal(call(s, "GET", "/v1/users/u1/data", NULL, adm, NULL, out, sizeof out), 200);
    const char *r = strstr(out, "\"reads_of_this_data\":[{");
    assert_non_null(r);
    assert_non_null(strstr(r, "\"what\":\"export data\"}]"));
    snprintf(who, sizeof who, "\"who\":\"%.8s\"", adm + 3); /* a key's id: its first 8 digits after tl_ */
    assert_non_null(strstr(r, who));
    assert_int_equal(call(s, "GET", "/v1/users/u2/data", NULL, adm, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"reads_of_this_data\":[]")); /* another user's reads are not u2's */

    char longest[70], body[256];
    memset(longest, 'a', 65), longest[65] = 0; /* one byte over the rule */
    const char *bad[] = {"", "a b", "a/b", "caf\\u00e9", longest};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(body, sizeof body, "{\"name\":\"%s\",\"expression\":\"true\"}", bad[i]);
        assert_int_equal(call(s, "POST", "/v1/segments", NULL, adm, body, out, sizeof out), 400);
        assert_non_null(strstr(out, "\"code\":\"bad_name\""));
    }
    assert_int_equal(call(s, "GET", "/v1/segments", NULL, adm, NULL, out, sizeof out), 200);
    assert_string_equal(out, "{\"segments\":[]}");
    longest[64] = 0;
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"expression\":\"true\"}", longest);
    assert_int_equal(call(s, "POST", "/v1/segments", NULL, adm, body, out, sizeof out), 201);
    tl_server_free(s);
}

/* An id or a value that decodes to a NUL or another control character is
 * refused before any handler runs: u1%00x must never act on u1. */
/* longer than any query value the server reads */
#define QLEN 2100

static void test_control_characters(void **state) {
    (void)state;
    char adm[48], out[4096];
    tl_server_t *s = two_users(adm);
    static const char *const bad_paths[] = {
        "/v1/users/u1%00x", "/v1/users/u1%00", "/v1/users/u1%0a", "/v1/users/u1%7F", "/v1/users/u1\x01",
        "/v1/users/u1%zz", "/v1/users/u1%4", "/v1/users/u1%",
    };
    for (size_t k = 0; k < sizeof bad_paths / sizeof *bad_paths; k++) {
        assert_int_equal(call(s, "DELETE", bad_paths[k], NULL, adm, NULL, out, sizeof out), 400);
        assert_non_null(strstr(out, "\"code\":\"bad_uri\""));
    }
    assert_int_equal(call(s, "GET", "/v1/users/u1%00x/profile", NULL, adm, NULL, out, sizeof out), 400);
    assert_int_equal(call(s, "PUT", "/v1/users/u1%00x/consents/profiling", NULL, adm, "{\"granted\":false}",
                          out, sizeof out), 400);
    assert_int_equal(call(s, "GET", "/v1/users/u1/offers", "category=a%00b", adm, NULL, out, sizeof out), 400);
    assert_int_equal(call(s, "GET", "/v1/users/u1/offers", "category=a%1fb", adm, NULL, out, sizeof out), 400);
    /* a query value is read whole or refused, never cut short into another:
     * n=000...01 (71 bytes) is n=1, not the n=0 of its first 63 bytes */
    char q[QLEN];
    int k = snprintf(q, sizeof q, "n=");
    for (int i = 0; i < 70; i++) q[k++] = '0';
    snprintf(q + k, sizeof q - (size_t)k, "1");
    assert_int_equal(call(s, "GET", "/v1/users/u1/offers", q, adm, NULL, out, sizeof out), 200);
    k = snprintf(q, sizeof q, "category=");
    memset(q + k, 'a', sizeof q - (size_t)k - 1);
    q[sizeof q - 1] = 0;
    assert_int_equal(call(s, "GET", "/v1/users/u1/offers", q, adm, NULL, out, sizeof out), 400);
    assert_non_null(strstr(out, "longer than 2047 bytes"));
    /* nor in a body: an escaped NUL in an array's element is seen by the importer */
    assert_int_equal(call(s, "POST", "/v1/events", NULL, adm,
                          "[{\"user\":\"u1\\u0000x\",\"type\":\"purchase\",\"amount\":5,\"item\":\"i\",\"ts\":\"2025-11-30T10:00:00Z\"},\n"
                          " {\"user\":\"u1\",\n \"type\":\"view\",\"ts\":\"2025-11-30T11:00:00Z\"} ]",
                          out, sizeof out), 200);
    assert_non_null(strstr(out, "\"accepted\":1"));
    assert_non_null(strstr(out, "\"index\":0,\"reason\":\"bad_utf8\""));
    assert_int_equal(call(s, "POST", "/v1/events", NULL, adm, "[{\"user\":\"u1\"} x", out, sizeof out), 400);
    assert_non_null(strstr(out, "near byte 15"));
    assert_int_equal(call(s, "POST", "/v1/events", NULL, adm, " [ ] ", out, sizeof out), 200);
    assert_non_null(strstr(out, "\"read\":0"));
    /* nobody was touched; escapes that decode cleanly still work */
    assert_int_equal(call(s, "GET", "/v1/users/u1/profile", NULL, adm, NULL, out, sizeof out), 200);
    assert_null(strstr(out, "withdrawn"));
    assert_non_null(strstr(out, "\"orders\":0,"));
    assert_int_equal(call(s, "GET", "/v1/users/%75%31/profile", NULL, adm, NULL, out, sizeof out), 200);
    assert_int_equal(call(s, "DELETE", "/v1/users/u%32", NULL, adm, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"status\":\"erased\""));
    assert_int_equal(call(s, "GET", "/v1/users/u1/profile", NULL, adm, NULL, out, sizeof out), 200);
    tl_server_free(s);
}

/* A JSON body with a key twice, at any depth, is refused whole (400
 * duplicate_key) before anything is written: which of the two values is
 * meant cannot be told. Events keep their per-record reason instead. */
static void test_duplicate_keys(void **state) {
    (void)state;
    char adm[48], out[4096];
    tl_server_t *s = two_users(adm);
    static const struct {
        const char *method, *path, *body;
    } dup[] = {
        {"POST", "/v1/segments", "{\"name\":\"a\",\"name\":\"b\",\"expression\":\"orders >= 0\"}"},
        {"POST", "/v1/segments", "{\"name\":\"a\",\"expression\":\"orders >= 0\",\"expression\":\"orders >= 1\"}"},
        {"PUT", "/v1/users/u1/consents/profiling", "{\"granted\":true,\"granted\":false}"},
        {"POST", "/v1/admin/keys", "{\"role\":\"service\",\"role\":\"admin\"}"},
        {"POST", "/v1/admin/keys", "{\"role\":\"service\",\"name\":\"x\",\"name\":\"y\"}"},
        {"POST", "/v1/campaigns", "{\"id\":\"d\",\"audience\":\"orders >= 0\",\"channels\":[\"push\"],"
                                  "\"content\":{\"type\":\"coupon\",\"code\":\"X\",\"code\":\"Y\"}}"},
        {"POST", "/v1/campaigns", "{\"id\":\"d\",\"id\":\"e\",\"audience\":\"orders >= 0\",\"channels\":[\"push\"],"
                                  "\"content\":{\"type\":\"coupon\",\"code\":\"X\"}}"},
        {"POST", "/v1/feedback", "[{\"user\":\"u1\",\"user\":\"u2\",\"kind\":\"click\",\"campaign\":\"c\"}]"},
    };
    for (size_t k = 0; k < sizeof dup / sizeof *dup; k++) {
        assert_int_equal(call(s, dup[k].method, dup[k].path, NULL, adm, dup[k].body, out, sizeof out), 400);
        assert_non_null(strstr(out, "\"code\":\"duplicate_key\""));
    }
    /* nothing of them was kept */
    assert_int_equal(call(s, "GET", "/v1/segments/a", NULL, adm, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "GET", "/v1/segments/b", NULL, adm, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "GET", "/v1/campaigns/d/report", NULL, adm, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "GET", "/v1/users/u1/profile", NULL, adm, NULL, out, sizeof out), 200);
    assert_null(strstr(out, "withdrawn"));
    /* a run's options too, once the campaign is there */
    assert_int_equal(call(s, "POST", "/v1/campaigns", NULL, adm,
                          "{\"id\":\"d\",\"audience\":\"orders >= 0\",\"channels\":[\"push\"],"
                          "\"content\":{\"type\":\"coupon\",\"code\":\"X\"}}", out, sizeof out), 201);
    assert_int_equal(call(s, "POST", "/v1/campaigns/d/run", NULL, adm, "{\"dry_run\":true,\"dry_run\":false}",
                          out, sizeof out), 400);
    assert_non_null(strstr(out, "\"code\":\"duplicate_key\""));
    /* the same bodies without the second key are taken */
    assert_int_equal(call(s, "POST", "/v1/segments", NULL, adm, "{\"name\":\"a\",\"expression\":\"orders >= 0\"}",
                          out, sizeof out), 201);
    assert_int_equal(call(s, "PUT", "/v1/users/u1/consents/profiling", NULL, adm, "{\"granted\":true}", out,
                          sizeof out), 200);
    /* an event with a key twice is quarantined alone, as by an import */
    assert_int_equal(call(s, "POST", "/v1/events", NULL, adm,
                          "[{\"user\":\"u1\",\"user\":\"u2\",\"type\":\"view\",\"ts\":\"2025-11-30T11:00:00Z\"},"
                          "{\"user\":\"u1\",\"type\":\"view\",\"ts\":\"2025-11-30T12:00:00Z\"}]", out, sizeof out), 200);
    assert_non_null(strstr(out, "\"accepted\":1"));
    assert_non_null(strstr(out, "\"index\":0,\"reason\":\"duplicate_key\""));
    tl_server_free(s);
}

/* One customer across identifiers: an identify call merges a device into
 * a member's person at once, as a build of the store would; any
 * identifier names the person; a rule refuses a second member; events
 * with an alias merge too; personal identifiers never come back in clear;
 * a withdrawn consent on one identifier withdraws the person. */
static void test_identify(void **state) {
    (void)state;
    tl_store_t *st;
    tl_errbuf_t eb;
    char svc[48], ana[48], adm[48], id[16], out[65536];
    assert_int_equal(test_store_open(dir, TL_STORE_CREATE, &st, &eb), 0);
    assert_int_equal(tl_apikey_create(st, "service", "t", svc, id, &eb), 0);
    assert_int_equal(tl_apikey_create(st, "analyst", "t", ana, id, &eb), 0);
    assert_int_equal(tl_apikey_create(st, "admin", "t", adm, id, &eb), 0);
    tl_store_close(st);
    tl_server_t *s;
    tl_server_opts_t o = {.data_dir = dir, .store = test_conf()};
    assert_int_equal(tl_server_new(&o, &s, &eb), 0);
    assert_int_equal(call(s, "POST", "/v1/events", NULL, svc,
                          "[{\"user\":\"u1\",\"item\":\"i1\",\"type\":\"purchase\",\"ts\":\"2025-11-30T10:00:00Z\",\"amount\":10},"
                          "{\"user\":\"u2\",\"item\":\"i1\",\"type\":\"purchase\",\"ts\":\"2025-11-30T12:00:00Z\",\"amount\":4},"
                          "{\"user\":\"device:XYZ\",\"item\":\"i2\",\"type\":\"view\",\"ts\":\"2025-11-29T09:00:00Z\"},"
                          "{\"user\":\"device:XYZ\",\"item\":\"i1\",\"type\":\"view\",\"ts\":\"2025-11-30T09:50:00Z\"}]",
                          out, sizeof out), 200);
    assert_non_null(strstr(out, "\"accepted\":4"));
    /* profiles built at the start over these events: their time and
     * capacity tiers are a build's, as the comparison below needs */
    tl_server_free(s);
    assert_int_equal(tl_server_new(&o, &s, &eb), 0);
    assert_int_equal(call(s, "GET", "/v1/users/device:XYZ", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"person\":\"device:XYZ\",\"identifiers\":[\"device:XYZ\"]"));
    assert_non_null(strstr(out, "\"events\":2,"));
    /* the login: one person, in the member's row (interned first) */
    assert_int_equal(call(s, "POST", "/v1/identify", NULL, ana, "{\"user\":\"u1\",\"alias\":\"device:XYZ\"}",
                          out, sizeof out), 403);
    assert_int_equal(call(s, "POST", "/v1/identify", NULL, svc,
                          "{\"user\":\"member:u1\",\"alias\":\"device:XYZ\",\"at\":\"2025-11-30T09:55:00Z\"}",
                          out, sizeof out), 200);
    assert_string_equal(out, "{\"person\":\"u1\",\"identifiers\":[\"u1\",\"device:XYZ\"],\"linked\":true,"
                             "\"refused\":false}");
    assert_int_equal(call(s, "GET", "/v1/users/device:XYZ", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"user\":\"device:XYZ\""));
    assert_non_null(strstr(out, "\"person\":\"u1\",\"identifiers\":[\"u1\",\"device:XYZ\"]"));
    assert_non_null(strstr(out, "\"events\":3,"));
    assert_non_null(strstr(out, "\"orders\":1,"));
    /* the profile route and the member id answer the same person */
    char person[65536];
    assert_int_equal(call(s, "GET", "/v1/users/u1/profile", NULL, ana, NULL, person, sizeof person), 200);
    assert_non_null(strstr(person, "\"events\":3,"));
    assert_int_equal(call(s, "POST", "/v1/identify", NULL, svc, "{\"user\":\"u1\",\"alias\":\"device:XYZ\"}",
                          out, sizeof out), 200);
    assert_non_null(strstr(out, "\"linked\":false,\"refused\":false"));
    /* a second member onto the person: a member a person, refused */
    assert_int_equal(call(s, "POST", "/v1/identify", NULL, svc, "{\"user\":\"u2\",\"alias\":\"device:XYZ\"}",
                          out, sizeof out), 200);
    assert_non_null(strstr(out, "{\"person\":\"u2\",\"identifiers\":[\"u2\"],\"linked\":true,\"refused\":true,"
                                "\"why\":\""));
    assert_non_null(strstr(out, "member"));
    assert_int_equal(call(s, "GET", "/v1/users/u2", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"events\":1,"));
    /* the person's identities, links with their states: the login in force, the second member refused */
    assert_int_equal(call(s, "GET", "/v1/users/device:XYZ/identity", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "{\"identifier\":\"device:XYZ\",\"person\":\"u1\",\"identifiers\":[{\"id\":\"u1\",\"kind\":\"member\"},"
                                "{\"id\":\"device:XYZ\",\"kind\":\"device\"}],\"links\":["));
    assert_non_null(strstr(out, "\"a\":\"u1\",\"b\":\"device:XYZ\",\"at\":\"2025-11-30T09:55:00Z\",\"source\":\"identify\",\"state\":\"in_force\"}"));
    assert_non_null(strstr(out, "\"source\":\"identify\",\"state\":\"refused\"}"));
    assert_int_equal(call(s, "GET", "/v1/users/device:XYZ/identity", NULL, svc, NULL, out, sizeof out), 403);
    assert_int_equal(call(s, "GET", "/v1/users/nobody/identity", NULL, ana, NULL, out, sizeof out), 404);
    /* an event's alias links as it comes */
    assert_int_equal(call(s, "POST", "/v1/events", NULL, svc,
                          "[{\"user\":\"device:ABC\",\"type\":\"view\",\"ts\":\"2025-11-30T11:00:00Z\"},"
                          "{\"user\":\"u3\",\"type\":\"view\",\"ts\":\"2025-11-30T11:01:00Z\",\"alias\":\"device:ABC\"}]",
                          out, sizeof out), 200);
    assert_non_null(strstr(out, "\"accepted\":2"));
    assert_int_equal(call(s, "GET", "/v1/users/u3", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"person\":\"device:ABC\",\"identifiers\":[\"device:ABC\",\"u3\"]"));
    assert_non_null(strstr(out, "\"events\":2,"));
    /* an identify event: a link, not behaviour */
    assert_int_equal(call(s, "POST", "/v1/events", NULL, svc,
                          "[{\"user\":\"device:DEF\",\"type\":\"view\",\"ts\":\"2025-11-30T10:30:00Z\"},"
                          "{\"user\":\"device:DEF\",\"type\":\"identify\",\"ts\":\"2025-11-30T10:31:00Z\",\"alias\":\"u1\"}]",
                          out, sizeof out), 200);
    assert_non_null(strstr(out, "\"accepted\":2"));
    assert_int_equal(call(s, "GET", "/v1/users/device:DEF", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"person\":\"u1\",\"identifiers\":[\"u1\",\"device:XYZ\",\"device:DEF\"]"));
    assert_non_null(strstr(out, "\"events\":4,"));
    /* a phone: keyed, never in clear, and it names the person */
    assert_int_equal(call(s, "POST", "/v1/identify", NULL, svc,
                          "{\"user\":\"u1\",\"alias\":\"phone:+86 138-0013-8000\"}", out, sizeof out), 200);
    assert_null(strstr(out, "13800138000"));
    assert_non_null(strstr(out, "\"identifiers\":[\"u1\",\"device:XYZ\",\"device:DEF\",\"phone:#"));
    assert_int_equal(call(s, "GET", "/v1/users/phone:(+86)13800138000", NULL, ana, NULL, out, sizeof out), 200);
    assert_null(strstr(out, "13800138000"));
    assert_non_null(strstr(out, "\"person\":\"u1\""));
    assert_int_equal(call(s, "GET", "/v1/users/phone:+8613900000000", NULL, ana, NULL, out, sizeof out), 404);
    assert_null(strstr(out, "13900000000"));
    assert_int_equal(call(s, "GET", "/v1/users/device:nope", NULL, ana, NULL, out, sizeof out), 404);
    /* bodies that are not an identify call */
    static const struct {
        const char *body, *code;
    } bad[] = {
        {"{}", "missing_field"},
        {"{\"user\":\"u1\"}", "missing_field"},
        {"{\"user\":1,\"alias\":\"device:XYZ\"}", "bad_type"},
        {"{\"user\":\"u1\",\"alias\":\"\"}", "bad_type"},
        {"{\"user\":\"u1\",\"alias\":\"device:XYZ\",\"at\":\"yesterday\"}", "bad_type"},
        {"{\"user\":\"u1\",\"alias\":\"device:XYZ\",\"why\":1}", "unknown_field"},
        {"{\"user\":\"u1\",\"alias\":\"u1\"}", "bad_value"},
        {"{\"user\":\"u1\",\"alias\":\"phone:call me\"}", "bad_value"},
        {"[\"u1\"]", "bad_type"},
        {"u1 device:XYZ", "bad_json"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(call(s, "POST", "/v1/identify", NULL, svc, bad[i].body, out, sizeof out), 400);
        char code[64];
        snprintf(code, sizeof code, "\"code\":\"%s\"", bad[i].code);
        if (!strstr(out, code)) fail_msg("%s: %s", bad[i].body, out);
        assert_null(strstr(out, "call me"));
    }
    /* what the live merges made is what a build of the store makes */
    static const char *const who[] = {"/v1/users/device:XYZ", "/v1/users/u2", "/v1/users/u3"};
    char live[3][8192], built[8192];
    for (int i = 0; i < 3; i++)
        assert_int_equal(call(s, "GET", who[i], NULL, ana, NULL, live[i], sizeof live[i]), 200);
    tl_server_free(s);
    assert_int_equal(tl_server_new(&o, &s, &eb), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(call(s, "GET", who[i], NULL, ana, NULL, built, sizeof built), 200);
        assert_string_equal(live[i], built);
    }
    /* profiling withdrawn on the device: the person's profile goes */
    assert_int_equal(call(s, "PUT", "/v1/users/device:XYZ/consents/profiling", NULL, svc, "{\"granted\":false}",
                          out, sizeof out), 200);
    assert_int_equal(call(s, "GET", "/v1/users/u1", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"profiling\":\"withdrawn\",\"features\":{}"));
    assert_int_equal(call(s, "PUT", "/v1/users/u1/consents/profiling", NULL, svc, "{\"granted\":true}",
                          out, sizeof out), 200);
    assert_int_equal(call(s, "GET", "/v1/users/u1", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"profiling\":\"withdrawn\"")); /* the device's record still withdraws it */
    assert_int_equal(call(s, "PUT", "/v1/users/device:XYZ/consents/profiling", NULL, svc, "{\"granted\":true}",
                          out, sizeof out), 200);
    assert_int_equal(call(s, "GET", "/v1/users/u1", NULL, ana, NULL, out, sizeof out), 200);
    assert_null(strstr(out, "\"profiling\":\"withdrawn\""));
    /* one identifier erased: the person goes whole, the others stay */
    assert_int_equal(call(s, "DELETE", "/v1/users/device:XYZ", NULL, adm, NULL, out, sizeof out), 200);
    assert_int_equal(call(s, "GET", "/v1/users/device:DEF", NULL, ana, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "GET", "/v1/users/u1", NULL, ana, NULL, out, sizeof out), 404);
    assert_int_equal(call(s, "GET", "/v1/users/u3", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"person\":\"device:ABC\",\"identifiers\":[\"device:ABC\",\"u3\"]"));
    assert_non_null(strstr(out, "\"events\":2,"));
    assert_int_equal(call(s, "GET", "/v1/users/u2", NULL, ana, NULL, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"events\":1,"));
    tl_server_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handlers, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_export_and_segment_names, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_control_characters, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_keys, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_identify, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
