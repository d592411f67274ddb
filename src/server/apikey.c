/* apikey.c -- API keys: made (shown once; the store keeps the BLAKE2b hash
 * of the key, its role and name), revoked, loaded into the server, and a
 * key sent with a request looked up for its role and id. */
#include "server_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROLE_NAMES[] = {"admin", "analyst", "service"};

static void key_hash(const char *key, unsigned char out[32]) {
    crypto_generichash(out, 32, (const unsigned char *)key, strlen(key), NULL, 0);
}

int tl_apikey_create(tl_store_t *st, const char *role, const char *name, char key[48], char id[16],
                     tl_errbuf_t *eb) {
    int r = -1;
    for (int k = 0; k < 3; k++)
        if (strcmp(role, ROLE_NAMES[k]) == 0) r = k;
    if (r < 0) {
        tl_errbuf_set(eb, "role \"%s\": use admin, analyst or service", role);
        return TL_EINVAL;
    }
    unsigned char raw[20], h[32];
    randombytes_buf(raw, sizeof raw);
    char hex[41];
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(key, 48, "tl_%s", hex);
    snprintf(id, 16, "%.8s", hex); /* the first 8 digits name the key */
    key_hash(key, h);
    char hhex[65];
    sodium_bin2hex(hhex, sizeof hhex, h, sizeof h);
    int rc = tl_store_begin(st, eb);
    if (!rc)
        rc = tl_store_apikey_put(st, &(tl_apikey_row_t){id, hhex, role, name ? name : "",
                                                         tl_store_now(st)}, eb);
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    sodium_memzero(raw, sizeof raw);
    return rc;
}

int tl_apikey_revoke(tl_store_t *st, const char *id, tl_errbuf_t *eb) {
    int rc = tl_store_begin(st, eb);
    int changed = rc ? 0 : tl_store_apikey_delete(st, id, eb);
    if (changed < 0) rc = changed, changed = 0;
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    if (!rc && !changed) {
        tl_errbuf_set(eb, "no API key %s", id);
        rc = TL_ENOENT;
    }
    return rc;
}

typedef struct {
    apikey_t *k;
    int n, cap;
} keylist_t;

static int key_row(const tl_apikey_row_t *r, void *arg) {
    keylist_t *l = arg;
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 16;
        apikey_t *k = realloc(l->k, (size_t)nc * sizeof *k);
        if (!k) return TL_ENOMEM;
        l->k = k, l->cap = nc;
    }
    apikey_t *k = &l->k[l->n];
    memset(k, 0, sizeof *k);
    size_t got = 0;
    if (sodium_hex2bin(k->hash, 32, r->hash, strlen(r->hash), NULL, &got, NULL) || got != 32) return 0;
    snprintf(k->id, sizeof k->id, "%s", r->id);
    for (int i = 0; i < 3; i++)
        if (strcmp(r->role, ROLE_NAMES[i]) == 0) k->role = 1 << i;
    if (k->role) l->n++;
    return 0;
}

int tl__apikey_load(tl_server_t *s, tl_errbuf_t *eb) {
    keylist_t l = {0};
    pthread_rwlock_wrlock(&s->st_rw);
    int rc = tl_store_apikey_scan(s->st, key_row, &l, eb);
    pthread_rwlock_unlock(&s->st_rw);
    if (rc) {
        free(l.k);
        return rc;
    }
    pthread_rwlock_wrlock(&s->key_mu);
    apikey_t *old = s->keys;
    s->keys = l.k, s->nkeys = l.n;
    pthread_rwlock_unlock(&s->key_mu);
    free(old);
    return 0;
}

int tl__apikey_role(tl_server_t *s, const char *key, char id[16]) {
    if (!key) return 0;
    unsigned char h[32];
    key_hash(key, h);
    int role = 0;
    pthread_rwlock_rdlock(&s->key_mu);
    for (int k = 0; k < s->nkeys; k++)
        if (sodium_memcmp(h, s->keys[k].hash, 32) == 0) {
            role = s->keys[k].role;
            memcpy(id, s->keys[k].id, 16);
        }
    pthread_rwlock_unlock(&s->key_mu);
    return role;
}

/* GET /v1/me: the role of the key sent, so that a client (the console)
 * shows what the key may use. */
void tl__apikey_me(tl_srv_req_t *r) {
    char id[16] = "";
    int role = tl__apikey_role(r->s, r->rq->api_key, id);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "key", id);
    for (int k = 0; k < 3; k++)
        if (role == 1 << k) cJSON_AddStringToObject(j, "role", ROLE_NAMES[k]);
    tl__server_json(r->rs, 200, j);
}
