/* repos.c -- the store in memory: small repositories:
 * settings and segments, API keys, audit entries, campaigns and runs,
 * delivery states and blobs, each a collection of keyed rows. */
#include "store/mem/mem_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- settings and segments ----------------------------------------------------------- */

static int get_text(tl_store_t *st, int coll, const char *key, char **out, tl_errbuf_t *eb) {
    *out = NULL;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[coll];
    int found;
    size_t at = tl__mcoll_find(c, key, &found);
    if (!found) return TL_ENOENT;
    if (!(*out = strdup(c->r[at].v[0].p))) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    return 0;
}

int tl__mem_config_put(tl_store_t *st, const char *key, const char *value, tl_errbuf_t *eb) {
    mval_t v[1] = {tl__mv_s(value)};
    int rc = tl__mcoll_upsert(&tl__mem_cur(tl__mem_of(st))->c[C_CONFIG], key, v, 1, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

int tl__mem_config_get(tl_store_t *st, const char *key, char **value, tl_errbuf_t *eb) {
    return get_text(st, C_CONFIG, key, value, eb);
}

int tl__mem_segment_put(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_SEGMENTS];
    int found;
    tl__mcoll_find(c, name, &found);
    mval_t v[2] = {tl__mv_s(expr), tl__mv_i(tl_store_now(st), 1)};
    int rc = tl__mcoll_upsert(c, name, v, 2, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : !found;
}

int tl__mem_segment_get(tl_store_t *st, const char *name, char **expr, tl_errbuf_t *eb) {
    int rc = get_text(st, C_SEGMENTS, name, expr, eb);
    if (rc == TL_ENOENT) tl_errbuf_set(eb, "no segment \"%s\"", name);
    return rc;
}

int tl__mem_segment_delete(tl_store_t *st, const char *name, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_SEGMENTS];
    int found;
    size_t at = tl__mcoll_find(c, name, &found);
    if (!found) {
        tl_errbuf_set(eb, "no segment \"%s\"", name);
        return TL_ENOENT;
    }
    tl__mcoll_remove(c, at);
    return 0;
}

int tl__mem_segment_list(tl_store_t *st, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_SEGMENTS];
    for (size_t i = 0; i < c->n; i++) {
        int rc = fn(c->r[i].key, c->r[i].v[0].p, c->r[i].v[1].i, arg);
        if (rc) return rc;
    }
    return 0;
}

/* ---- API keys and audit entries ------------------------------------------------------- */

int tl__mem_apikey_put(tl_store_t *st, const tl_apikey_row_t *k, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_APIKEYS];
    int found;
    tl__mcoll_find(c, k->id, &found);
    if (found) {
        tl_errbuf_set(eb, "there is an API key %s already", k->id);
        return TL_EEXIST;
    }
    mval_t v[4] = {tl__mv_s(k->hash), tl__mv_s(k->role), tl__mv_s(k->name ? k->name : ""), tl__mv_i(k->created, 1)};
    int rc = tl__mcoll_upsert(c, k->id, v, 4, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

int tl__mem_apikey_delete(tl_store_t *st, const char *id, tl_errbuf_t *eb) {
    (void)eb;
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_APIKEYS];
    int found;
    size_t at = tl__mcoll_find(c, id, &found);
    if (found) tl__mcoll_remove(c, at);
    return found;
}

static const tl__mrow_t *by_created_rows;
static int by_created(const void *a, const void *b) {
    const tl__mrow_t *x = &by_created_rows[*(const size_t *)a], *y = &by_created_rows[*(const size_t *)b];
    if (x->v[3].i != y->v[3].i) return x->v[3].i < y->v[3].i ? -1 : 1;
    return strcmp(x->key, y->key);
}

int tl__mem_apikey_scan(tl_store_t *st, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_APIKEYS];
    size_t *order = malloc((c->n + 1) * sizeof *order);
    if (!order) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) order[i] = i;
    by_created_rows = c->r;
    qsort(order, c->n, sizeof *order, by_created);
    int rc = 0;
    for (size_t i = 0; i < c->n && !rc; i++) {
        const tl__mrow_t *r = &c->r[order[i]];
        tl_apikey_row_t k = {r->key, r->v[0].p, r->v[1].p, r->v[2].p, r->v[3].i};
        rc = fn(&k, arg);
    }
    free(order);
    return rc;
}

static void audit_key(int64_t id, char out[24]) { snprintf(out, 24, "%020lld", (long long)id); }

int tl__mem_audit_append(tl_store_t *st, const tl_audit_entry_t *e, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_AUDIT];
    char key[24];
    audit_key(e->id, key);
    int found;
    tl__mcoll_find(c, key, &found);
    if (found) {
        tl_errbuf_set(eb, "the audit log has an entry %lld already", (long long)e->id);
        return TL_EEXIST;
    }
    mval_t v[6] = {tl__mv_i(e->id, 1), tl__mv_i(e->at, 1), tl__mv_s(e->who), tl__mv_s(e->what), tl__mv_s(e->target), tl__mv_s(e->mac)};
    int rc = tl__mcoll_upsert(c, key, v, 6, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

int tl__mem_audit_last(tl_store_t *st, int64_t *id, char mac[65], tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_AUDIT];
    *id = 0, mac[0] = 0;
    if (c->n) {
        *id = c->r[c->n - 1].v[0].i;
        snprintf(mac, 65, "%s", tl__mv_str(&c->r[c->n - 1].v[5]) ? c->r[c->n - 1].v[5].p : "");
    }
    return 0;
}

int tl__mem_audit_scan(tl_store_t *st, const char *target, tl_audit_fn fn, void *arg,
                          tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_AUDIT];
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        const char *t = tl__mv_str(&v[4]) ? v[4].p : "";
        if (target && strcmp(t, target) != 0) continue;
        tl_audit_entry_t e = {v[0].i, v[1].i, tl__mv_str(&v[2]) ? v[2].p : "", tl__mv_str(&v[3]) ? v[3].p : "", t,
                              tl__mv_str(&v[5]) ? v[5].p : ""};
        int rc = fn(&e, arg);
        if (rc) return rc;
    }
    return 0;
}

/* ---- campaigns (0: def, 1: status, 2: created, 3: runs, 4: last_at, 5: sends, 6: cost)
 * and runs (0: run, 1: at, 2: started, 3: counts) ------------------------------------------ */

static int campaign_call(const tl__mrow_t *r, tl_campaign_row_fn fn, void *arg) {
    const mval_t *v = r->v;
    tl_campaign_row_t c = {r->key, v[0].p, v[1].p, v[2].i, (uint64_t)v[3].i, tl__mv_int(&v[4], INT64_MIN),
                           (uint64_t)v[5].i, v[6].d};
    return fn(&c, arg);
}

int tl__mem_campaign_get(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg,
                            tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_CAMPAIGNS];
    int found;
    size_t at = tl__mcoll_find(c, id, &found);
    if (!found) return 0;
    int rc = campaign_call(&c->r[at], fn, arg);
    return rc ? rc : 1;
}

int tl__mem_campaign_scan(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_CAMPAIGNS];
    for (size_t i = 0; i < c->n; i++) {
        int rc = campaign_call(&c->r[i], fn, arg);
        if (rc) return rc;
    }
    return 0;
}

int tl__mem_campaign_put(tl_store_t *st, const char *id, const char *def, int64_t created,
                            tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_CAMPAIGNS];
    int found;
    tl__mcoll_find(c, id, &found);
    mval_t v[7] = {tl__mv_s(def), tl__mv_s("active"), tl__mv_i(created, 1), tl__mv_i(0, 1), {0}, tl__mv_i(0, 1), {.t = 2}};
    int rc = tl__mcoll_upsert(c, id, v, found ? 1 : 7, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : !found;
}

int tl__mem_campaign_set_status(tl_store_t *st, const char *id, const char *status,
                                   tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_CAMPAIGNS];
    int found;
    tl__mcoll_find(c, id, &found);
    if (!found) return 0;
    mval_t v[2] = {{0}, tl__mv_s(status)};
    int rc = tl__mcoll_upsert(c, id, v, 2, 0);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 1;
}

static void run_key(const char *id, uint64_t run, char *out, size_t cap) {
    snprintf(out, cap, "%s\001%020llu", id, (unsigned long long)run);
}

int tl__mem_campaign_run_add(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r,
                                uint64_t sends, double cost, tl_errbuf_t *eb) {
    tl__mcoll_t *runs = &tl__mem_cur(tl__mem_of(st))->c[C_RUNS], *c = &tl__mem_cur(tl__mem_of(st))->c[C_CAMPAIGNS];
    char key[256];
    run_key(id, r->run, key, sizeof key);
    int found;
    tl__mcoll_find(runs, key, &found);
    if (found) {
        tl_errbuf_set(eb, "campaign %s has a run %llu already", id, (unsigned long long)r->run);
        return TL_ESQL;
    }
    mval_t v[4] = {tl__mv_i((int64_t)r->run, 1), tl__mv_i(r->at, 1), tl__mv_i(r->started, 1), tl__mv_s(r->counts)};
    int rc = tl__mcoll_upsert(runs, key, v, 4, 1);
    size_t at = tl__mcoll_find(c, id, &found);
    if (rc >= 0 && found) {
        mval_t *cv = c->r[at].v;
        cv[3].i++;
        cv[4] = tl__mv_i(r->at, 1);
        cv[5].i += (int64_t)sends;
        cv[6].d += cost;
    }
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

int tl__mem_campaign_runs(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg,
                             tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_RUNS];
    size_t n = strlen(id);
    for (size_t i = 0; i < c->n; i++) {
        const char *k = c->r[i].key;
        if (strncmp(k, id, n) != 0 || k[n] != '\001') continue;
        const mval_t *v = c->r[i].v;
        tl_campaign_run_row_t r = {(uint64_t)v[0].i, v[1].i, v[2].i, tl__mv_str(&v[3]) ? v[3].p : "{}"};
        int rc = fn(&r, arg);
        if (rc) return rc;
    }
    return 0;
}

/* ---- delivery states (0: channel, 1: offset, 2: status, 3: code, 4: at, 5: due) --------- */

int tl__mem_delivery_hold(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                             int64_t due, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_DELIVERIES];
    int found;
    tl__mcoll_find(c, id, &found);
    if (found) return 0;
    mval_t v[6] = {tl__mv_s(channel), tl__mv_i((int64_t)offset, 1), tl__mv_s("held"), {0}, {0}, tl__mv_i(due, 1)};
    int rc = tl__mcoll_upsert(c, id, v, 6, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc;
}

int tl__mem_delivery_fail(tl_store_t *st, const char *id, const char *channel, uint64_t offset,
                             long code, int64_t at, int64_t due, tl_errbuf_t *eb) {
    mval_t v[6] = {tl__mv_s(channel), tl__mv_i((int64_t)offset, 1), tl__mv_s("failed"), tl__mv_i(code, 1), tl__mv_i(at, 1),
                   tl__mv_i(due, 1)};
    int rc = tl__mcoll_upsert(&tl__mem_cur(tl__mem_of(st))->c[C_DELIVERIES], id, v, 6, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

int tl__mem_delivery_done(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb) {
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_DELIVERIES];
    int found;
    tl__mcoll_find(c, id, &found);
    if (!found) return 0;
    mval_t v[5] = {{0}, {0}, tl__mv_s("delivered"), {0}, tl__mv_i(at, 1)};
    int rc = tl__mcoll_upsert(c, id, v, 5, 0);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

static int by_offset(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int tl__mem_deliveries_held(tl_store_t *st, const char *channel, int64_t due_by,
                               tl_offset_fn fn, void *arg, tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_DELIVERIES];
    uint64_t *offs = malloc((c->n + 1) * sizeof *offs);
    if (!offs) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        const mval_t *v = c->r[i].v;
        if (!strcmp(v[0].p, channel) && !strcmp(v[2].p, "held") && v[5].i <= due_by)
            offs[n++] = (uint64_t)v[1].i;
    }
    qsort(offs, n, sizeof *offs, by_offset);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) rc = fn(offs[i], arg);
    free(offs);
    return rc;
}

/* ---- blobs ------------------------------------------------------------------------------ */

int tl__mem_blob_put(tl_store_t *st, const char *name, const void *p, size_t n,
                        tl_errbuf_t *eb) {
    mval_t v[1] = {{.t = 3, .p = (char *)p, .n = n}};
    int rc = tl__mcoll_upsert(&tl__mem_cur(tl__mem_of(st))->c[C_BLOBS], name, v, 1, 1);
    if (rc < 0) tl_errbuf_set(eb, "out of memory");
    return rc < 0 ? rc : 0;
}

int tl__mem_blob_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb) {
    const tl__mcoll_t *c = &tl__mem_of(st)->comm.c[C_BLOBS];
    int found;
    size_t at = tl__mcoll_find(c, name, &found);
    if (!found) return TL_ENOENT;
    if (tl_buf_append(out, c->r[at].v[0].p, c->r[at].v[0].n)) {
        tl_errbuf_set(eb, "out of memory");
        return TL_ENOMEM;
    }
    return 0;
}

int tl__mem_blob_list(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    (void)eb;
    const tl__mcoll_t *c = &tl__mem_of(st)->comm.c[C_BLOBS];
    for (size_t i = 0; i < c->n; i++) {
        if (strncmp(c->r[i].key, prefix, strlen(prefix)) != 0) continue;
        int rc = fn(c->r[i].key, arg);
        if (rc) return rc;
    }
    return 0;
}

int tl__mem_blob_remove(tl_store_t *st, const char *name, tl_errbuf_t *eb) {
    (void)eb;
    tl__mcoll_t *c = &tl__mem_cur(tl__mem_of(st))->c[C_BLOBS];
    int found;
    size_t at = tl__mcoll_find(c, name, &found);
    if (found) tl__mcoll_remove(c, at);
    return 0;
}
