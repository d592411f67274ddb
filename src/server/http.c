/* http.c -- the HTTP front of the server on libmicrohttpd: a pool of
 * threads with epoll, the body gathered up to the size limit, the key from
 * `Authorization: Bearer` or `X-API-Key`, and a clean stop: no new
 * connections, requests in flight finish, then the daemon ends. */
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct tl_http {
    tl_server_t *s;
    struct MHD_Daemon *d;
    atomic_int inflight;
};

typedef struct {
    tl_buf_t body;
    int too_big;
    struct timespec t0;
} req_t;

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Appends key=value (or key) of one query argument to the query being rebuilt. */
static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    tl_buf_t *q = cls;
    (void)kind;
    if (q->len) tl_buf_append(q, "&", 1);
    tl_buf_append(q, key, strlen(key));
    if (value) tl_buf_append(q, "=", 1), tl_buf_append(q, value, strlen(value));
    return MHD_YES;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    tl_http_t *h = cls;
    req_t *r = *con_cls;
    (void)version;
    if (!r) { /* the headers: set up, and count the request as in flight */
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        tl_buf_init(&r->body);
        clock_gettime(CLOCK_MONOTONIC, &r->t0);
        atomic_fetch_add(&h->inflight, 1);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->body.len + *upload_size > (16u << 20) * 4 || tl_buf_append(&r->body, upload, *upload_size))
            r->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key");
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!key && auth && strncmp(auth, "Bearer ", 7) == 0) key = auth + 7;
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    /* libmicrohttpd parses the query into values, left encoded (unescape
     * below): put them back together for the handlers */
    tl_buf_t query;
    tl_buf_init(&query);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &query);
    tl_buf_append(&query, "", 1);
    tl_http_request_t rq = {.method = method, .path = url, .query = query.data, .api_key = key, .if_none_match = inm,
                            .body = r->body.data ? r->body.data : "",
                            .body_len = r->too_big ? SIZE_MAX : r->body.len};
    tl_http_response_t rs = {.status = 500};
    tl_buf_init(&rs.body);
    tl_server_handle(h->s, &rq, &rs);
    tl_buf_fini(&query);
    struct MHD_Response *resp = MHD_create_response_from_buffer(rs.body.len, rs.body.data ? rs.body.data : (char *)"",
                                                                MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok = MHD_NO;
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rs.content_type ? rs.content_type : "application/json");
        if (rs.etag[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, rs.etag);
        for (int k = 0; k + 1 < 8 && rs.headers[k]; k += 2) MHD_add_response_header(resp, rs.headers[k], rs.headers[k + 1]);
        ok = MHD_queue_response(c, (unsigned)rs.status, resp);
        MHD_destroy_response(resp);
    }
    tl_server_observe(h->s, rs.route, rs.status, since(&r->t0));
    tl_buf_fini(&rs.body);
    return ok;
}

/* The handlers decode paths and queries themselves (as an in-process
 * caller hands them over): libmicrohttpd leaves them as sent. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls, (void)c;
    return strlen(s);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
    tl_http_t *h = cls;
    req_t *r = *con_cls;
    (void)c, (void)why;
    if (!r) return;
    tl_buf_fini(&r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&h->inflight, 1);
}

int tl_http_start(tl_server_t *s, const char *addr, uint16_t port, unsigned threads, tl_http_t **out,
                  uint16_t *bound, tl_errbuf_t *eb) {
    *out = NULL;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        tl_errbuf_set(eb, "listen address \"%s\": give an IPv4 address such as 127.0.0.1", addr);
        return TL_EINVAL;
    }
    tl_http_t *h = calloc(1, sizeof *h);
    if (!h) return TL_ENOMEM;
    h->s = s;
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                                MHD_USE_ERROR_LOG,
                            port, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads ? threads : 2),
                            MHD_OPTION_NOTIFY_COMPLETED, completed, h,
                            MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_END);
    if (!h->d) {
        tl_errbuf_set(eb, "cannot listen on %s:%u (in use, or not allowed)", addr, (unsigned)port);
        free(h);
        return TL_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    if (bound) *bound = info ? info->port : port;
    *out = h;
    return 0;
}

void tl_http_stop(tl_http_t *h) {
    if (!h) return;
    /* no new connections; what is being answered finishes */
    MHD_socket fd = MHD_quiesce_daemon(h->d);
    for (int i = 0; i < 3000 && atomic_load(&h->inflight) > 0; i++) usleep(10000);
    MHD_stop_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    free(h);
}
