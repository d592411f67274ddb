/* fuzz_server.c -- feeds the input, as the body of an HTTP request, to the
 * API's handlers in process (src/server/server.c: tl_server_handle, no
 * sockets), with an admin key, against a data directory made once per
 * process from a small generated world (users, items, products, credit,
 * consents and events imported; the server builds the profiles at start).
 *
 * The first byte chooses the route, the rest is the body:
 *   'e'  POST /v1/events          (JSON array or JSON Lines, through the importer)
 *   's'  POST /v1/segments        (name and expression)
 *   'c'  POST /v1/campaigns       ('C': the same with ?replace=true)
 *   'f'  POST /v1/feedback        (an object or an array of them)
 *   'p'  PUT  /v1/users/u000001/consents/marketing
 * any other byte: one of them by its value modulo 5. State accumulates over
 * a run (accepted events, segments, campaigns), as it does in a server.
 *
 * Checked beyond "no crash": the status is one the API documents and not a
 * 500 (a body must never break the store), and every answer with a body is
 * JSON.
 *
 * The corpus keeps the reproducers of bugs found here (crash-*): an events
 * body that adds nothing, a segment or feedback that is an array, a number
 * too large for an integer. */
#include "fuzz.h"
#include "server/server.h"

#include <cjson/cJSON.h>

static tl_server_t *server;
static char key[48];

static void cleanup(void) { tl_server_free(server); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tl_store_t *st = fuzz_world(30, 20, 10);
    tl_errbuf_t eb = {{0}};
    char id[16];
    fuzz_need(tl_apikey_create(st, "admin", "fuzz", key, id, &eb), "api key", &eb);
    tl_store_close(st);
    char data[300];
    snprintf(data, sizeof data, "%s/data", fuzz_dir());
    tl_server_opts_t o = {.data_dir = data, .max_body = 1u << 20, .store = fuzz_conf()};
    fuzz_need(tl_server_new(&o, &server, &eb), "server", &eb);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!server) LLVMFuzzerInitialize(NULL, NULL);
    if (size == 0) return 0;
    static const struct {
        char tag;
        const char *method, *path;
    } routes[] = {{'e', "POST", "/v1/events"},
                  {'s', "POST", "/v1/segments"},
                  {'c', "POST", "/v1/campaigns"},
                  {'f', "POST", "/v1/feedback"},
                  {'p', "PUT", "/v1/users/u000001/consents/marketing"}};
    int r = data[0] % 5;
    for (int k = 0; k < 5; k++)
        if (data[0] == routes[k].tag) r = k;
    if (data[0] == 'C') r = 2;
    tl_http_request_t rq = {.method = routes[r].method, .path = routes[r].path,
                            .query = data[0] == 'C' ? "replace=true" : NULL, .api_key = key,
                            .body = (const char *)data + 1, .body_len = size - 1};
    tl_http_response_t rs;
    memset(&rs, 0, sizeof rs);
    tl_buf_init(&rs.body);
    tl_server_handle(server, &rq, &rs);
    static const int statuses[] = {200, 201, 204, 400, 404, 409, 413, 503};
    int known = 0;
    for (size_t k = 0; k < sizeof statuses / sizeof *statuses; k++) known |= rs.status == statuses[k];
    if (!known)
        fprintf(stderr, "status %d: %.*s\n", rs.status, (int)rs.body.len,
                rs.body.data ? rs.body.data : "");
    FUZZ_CHECK(known);
    if (rs.status != 204) {
        cJSON *j = cJSON_ParseWithLength(rs.body.data ? rs.body.data : "", rs.body.len);
        FUZZ_CHECK(j != NULL);
        cJSON_Delete(j);
    }
    tl_buf_fini(&rs.body);
    return 0;
}
