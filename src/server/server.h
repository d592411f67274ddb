/* server.h -- the HTTP API: events in; profiles, recommendations, offers,
 * segments, campaigns and subject access out; API keys with roles,
 * Prometheus metrics, reload without stopping and a clean shutdown.
 *
 * The handlers (a file per resource, dispatched by server.c) take a
 * request and fill a response, so they can be driven in-process; http.c
 * puts them behind libmicrohttpd. The server
 * holds one writable store (its calls serialised), the profiles built at
 * start and kept current by every accepted event (a read-write lock), and
 * the recommender, swapped whole by a reload: requests in flight finish on
 * the model they started with, and the swap takes a lock only for the
 * exchange of a pointer.
 */
#ifndef TL_SERVER_H
#define TL_SERVER_H
#include "store/store.h"

typedef struct tl_server tl_server_t;

typedef struct {
    const char *data_dir;
    const char *model;        /* recommender name under DATA/models (NULL: tl_model_default's for serving) */
    size_t max_body;          /* bytes; default 16 MiB */
    const char *policy;       /* the lending policy file (NULL: the built-in one) */
    const tl_store_conf_t *store; /* how every store is opened (key, clock); NULL: defaults */
    int no_scheduler;         /* campaigns run only when asked (POST /v1/scheduler/tick too) */
    unsigned tick_ms;         /* the scheduler's tick; default 250 */
    const char *deliver_url;  /* the gateway the outbox is posted to as records fall due
                               * (NULL: the setting webhook_url; "off": none) */
} tl_server_opts_t;

/* Opens the store, builds the profiles, loads the API keys and the model
 * (a missing model is not an error: recommendations answer 503). */
int tl_server_new(const tl_server_opts_t *o, tl_server_t **out, tl_errbuf_t *eb);
void tl_server_free(tl_server_t *s);

typedef struct {
    const char *method, *path, *query; /* as sent: still percent-encoded; query after '?', or NULL */
    const char *api_key;               /* from Authorization: Bearer or X-API-Key; NULL */
    const char *if_none_match;         /* the If-None-Match header; NULL */
    const char *body;
    size_t body_len;
} tl_http_request_t;

typedef struct {
    int status;
    tl_buf_t body;
    const char *content_type;
    const char *headers[8];            /* more headers: name, value, ...; NULL after the last */
    char etag[24];                     /* sent as ETag when not empty */
    char route[48];                    /* the route template, for metrics */
} tl_http_response_t;

/* Thread-safe. The caller inits and finis rs->body. HEAD is answered as
 * GET, body included: the HTTP front sends the headers alone. */
void tl_server_handle(tl_server_t *s, const tl_http_request_t *rq, tl_http_response_t *rs);

/* Loads the model, the API keys and the identity rules again and swaps them in. */
int tl_server_reload(tl_server_t *s, tl_errbuf_t *eb);

/* Counts a finished request for /metrics. */
void tl_server_observe(tl_server_t *s, const char *route, int status, double seconds);

/* ---- HTTP (http.c) -------------------------------------------------------------- */

/* Serves on addr:port (port 0: any free one, told in *bound) with a pool of
 * threads until tl_http_stop; then stops accepting, lets requests in
 * flight finish and returns. */
typedef struct tl_http tl_http_t;
int tl_http_start(tl_server_t *s, const char *addr, uint16_t port, unsigned threads,
                  tl_http_t **out, uint16_t *bound, tl_errbuf_t *eb);
void tl_http_stop(tl_http_t *h);

/* ---- API keys -------------------------------------------------------------------- */

/* Roles: admin (everything), analyst (reads, segments, reports), service
 * (events, recommendations, offers, feedback, consents). A key is shown
 * once at creation; the store keeps its BLAKE2b hash. */
int tl_apikey_create(tl_store_t *st, const char *role, const char *name, char key[48],
                     char id[16], tl_errbuf_t *eb);
int tl_apikey_revoke(tl_store_t *st, const char *id, tl_errbuf_t *eb);
#endif
