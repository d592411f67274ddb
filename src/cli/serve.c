/* serve.c -- `tailor serve` and `tailor apikey`: the HTTP API in the
 * foreground until SIGTERM (or SIGINT), SIGHUP reloading the model and
 * the keys; API keys created (shown once), listed and revoked. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "server/server.h"

const optspec_t SERVE_OPTS[] = {
    {"listen", 1, "ADDR:PORT to listen on (default 127.0.0.1:8080; port 0: any free one)"},
    {"threads", 1, "threads answering requests (default 2)"},
    {"model", 1, "the recommender under DATA/models (default {default:serve})"},
    {"max-body", 1, "largest request body in bytes (default 16777216)"},
    {"policy", 1, "the lending policy file for offers (default: the built-in one; read again on reload)"},
    {"tick", 1, "the campaigns' scheduler: milliseconds between its passes (default 250), or off: "
                "campaigns run only when asked"},
    {"deliver", 1, "the gateway URL the outbox is posted to as records fall due (default: the "
                   "setting webhook_url), or off"},
    {NULL, 0, NULL}};

const optspec_t APIKEY_OPTS[] = {
    {"role", 1, "create: admin, analyst or service"},
    {"name", 1, "create: what the key is for"},
    {"json", 0, "print as JSON"},
    {NULL, 0, NULL}};

int cmd_serve(const command_t *c, const args_t *a) {
    int rc;
    const char *listen = opt(c, a, "listen") ? opt(c, a, "listen") : "127.0.0.1:8080";
    char addr[64];
    const char *colon = strrchr(listen, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : -1;
    if (!colon || (size_t)(colon - listen) >= sizeof addr || port < 0 || port > 65535)
        return die_usage(c, "--listen %s: give ADDR:PORT, e.g. 127.0.0.1:8080", listen);
    snprintf(addr, sizeof addr, "%.*s", (int)(colon - listen), listen);
    uint64_t threads, max_body, tick = 0;
    const char *tk = opt(c, a, "tick");
    int no_sched = tk && strcmp(tk, "off") == 0;
    if ((rc = opt_u64(c, a, "threads", 2, 1, 256, &threads)) ||
        (rc = opt_u64(c, a, "max-body", 16u << 20, 1024, 1u << 30, &max_body)) ||
        (!no_sched && (rc = opt_u64(c, a, "tick", 250, 10, 3600000, &tick))))
        return rc;
    /* signals are taken by this thread alone, with sigwait */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM), sigaddset(&set, SIGINT), sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    tl_errbuf_t eb = {{0}};
    tl_server_opts_t so = {.data_dir = data_dir(a), .model = opt(c, a, "model"), .max_body = max_body,
                            .policy = opt(c, a, "policy"), .no_scheduler = no_sched,
                            .tick_ms = (unsigned)tick, .deliver_url = opt(c, a, "deliver")};
    if ((rc = cli_store_conf(&so.store, &eb))) return fail_err("serve", rc, &eb);
    tl_server_t *s = NULL;
    tl_http_t *h = NULL;
    uint16_t bound = 0;
    rc = tl_server_new(&so, &s, &eb);
    if (!rc) rc = tl_http_start(s, addr, (uint16_t)port, (unsigned)threads, &h, &bound, &eb);
    if (rc) {
        tl_server_free(s);
        return fail_err("serve", rc, &eb);
    }
    printf("listening on http://%s:%u\n", addr, (unsigned)bound);
    fflush(stdout);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig)) continue;
        if (sig == SIGHUP) {
            tl_errbuf_t re = {{0}};
            if (tl_server_reload(s, &re)) fprintf(stderr, "tailor serve: reload failed: %s\n", re.msg);
            else fprintf(stderr, "tailor serve: reloaded the model and the API keys\n");
            continue;
        }
        break;
    }
    tl_http_stop(h);
    tl_server_free(s);
    fprintf(stderr, "tailor serve: stopped\n");
    return EXIT_OK;
}

static int key_row(const tl_apikey_row_t *k, void *arg) {
    cJSON *arr = arg;
    char ts[32];
    tl_time_format(k->created, ts);
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", k->id);
        cJSON_AddStringToObject(o, "role", k->role);
        cJSON_AddStringToObject(o, "name", k->name);
        cJSON_AddStringToObject(o, "created", ts);
        cJSON_AddItemToArray(arr, o);
    } else {
        printf("%-10s %-8s %s  %s\n", k->id, k->role, ts, k->name);
    }
    return 0;
}

int cmd_apikey(const command_t *c, const args_t *a) {
    int rc;
    if (a->npos < 1) return die_usage(c, "say create, list or revoke");
    tl_errbuf_t eb = {{0}};
    tl_store_t *st = NULL;
    const char *sub = a->pos[0];
    if (strcmp(sub, "create") == 0) {
        const char *role = opt(c, a, "role");
        if (!role) return die_usage(c, "create needs --role admin|analyst|service");
        char key[48], id[16];
        rc = cli_store_open(data_dir(a), TL_STORE_CREATE, &st, &eb);
        if (!rc) rc = tl_apikey_create(st, role, opt(c, a, "name"), key, id, &eb);
        if (!rc) {
            if (opt(c, a, "json")) {
                cJSON *j = cJSON_CreateObject();
                cJSON_AddStringToObject(j, "id", id);
                cJSON_AddStringToObject(j, "role", role);
                cJSON_AddStringToObject(j, "key", key);
                print_json(j);
            } else {
                printf("%s\n", key);
                fprintf(stderr, "API key %s (%s): shown this once; the store keeps only its hash\n", id, role);
            }
        }
    } else if (strcmp(sub, "list") == 0) {
        cJSON *arr = opt(c, a, "json") ? cJSON_CreateArray() : NULL;
        rc = cli_store_open(data_dir(a), TL_STORE_READONLY, &st, &eb);
        if (!rc) rc = tl_store_apikey_scan(st, key_row, arr, &eb);
        if (arr && !rc) print_json(arr);
        else cJSON_Delete(arr);
    } else if (strcmp(sub, "revoke") == 0 && a->npos == 2) {
        rc = cli_store_open(data_dir(a), 0, &st, &eb);
        if (!rc) rc = tl_apikey_revoke(st, a->pos[1], &eb);
        if (!rc) printf("revoked %s (a running server drops it at its next reload)\n", a->pos[1]);
    } else {
        return die_usage(c, "say create --role R, list, or revoke ID");
    }
    tl_store_close(st);
    return rc ? fail_err("apikey", rc, &eb) : EXIT_OK;
}
