/* store.c -- the public store functions over the back-end table: the
 * handle and its configuration, the batch rule (one writer, a writable
 * store, a batch at a time), the interning of entity ids, and the dispatch
 * of every operation to the back end the store was opened with
 * (store/backend.h; the data directory, tl_store_local, by default). Keys,
 * pseudonyms, erasure and retention are privacy.c's. */
#include "store_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- the handle ------------------------------------------------------------ */

void tl_store_conf_init(tl_store_conf_t *c) { memset(c, 0, sizeof *c); }

int64_t tl_store_now(const tl_store_t *s) { return s->conf.now ? s->conf.now : tl_time_now_ms(); }

const char *tl_store_dir(const tl_store_t *st) { return st->dir; }

void *tl_store_backend_state(const tl_store_t *st) { return st->be_state; }

void tl_store_backend_set_state(tl_store_t *st, void *state) { st->be_state = state; }

/* The built-in event types and channels, interned in a first batch when a
 * writable store has none (a new one): every back end gives them the same
 * ids, TL_EV_* and TL_CH_*. A store that has them is not written to. */
static int intern_builtins(tl_store_t *s, tl_errbuf_t *eb) {
    static const char *const types[] = {
#define XX(c, n) n,
        TL_EVENT_TYPES(XX)
#undef XX
    };
    static const char *const chans[] = {
#define XX(c, n) n,
        TL_CHANNELS(XX)
#undef XX
    };
    tl_dict_t *dt = tl_store_dict(s, TL_D_TYPE, eb);
    tl_dict_t *dc = dt ? tl_store_dict(s, TL_D_CHANNEL, eb) : NULL;
    if (!dt || !dc) return TL_ENOMEM;
    if (tl_dict_count(dt) && tl_dict_count(dc)) return 0;
    uint32_t idx;
    int rc = tl_store_begin(s, eb);
    for (size_t i = 0; !rc && i < sizeof types / sizeof *types; i++)
        rc = tl_dict_intern(dt, types[i], strlen(types[i]), &idx, NULL);
    for (size_t i = 0; !rc && i < sizeof chans / sizeof *chans; i++)
        rc = tl_dict_intern(dc, chans[i], strlen(chans[i]), &idx, NULL);
    if (rc) {
        if (!eb->msg[0]) tl_errbuf_set(eb, "%s: out of memory creating the event types", s->dir);
        tl_store_rollback(s);
        return rc;
    }
    return tl_store_commit(s, eb);
}

const tl_store_backend_t *tl_store_backend_of(const char *where) {
    if (!strncmp(where, "postgresql://", 13) || !strncmp(where, "postgres://", 11))
        return &tl_store_pg;
    char path[4096];
    snprintf(path, sizeof path, "%s/" TL_STORE_SETTINGS, where);
    return access(path, F_OK) == 0 ? &tl_store_pg : &tl_store_local;
}

int tl_store_open(const char *dir, int flags, tl_store_t **out, tl_errbuf_t *eb) {
    return tl_store_open_conf(dir, NULL, flags, out, eb);
}

int tl_store_open_conf(const char *dir, const tl_store_conf_t *conf, int flags, tl_store_t **out,
                       tl_errbuf_t *eb) {
    *out = NULL;
    tl_store_t *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        tl_errbuf_set(eb, "%s: out of memory opening the data directory", dir);
        return TL_ENOMEM;
    }
    if (conf) s->conf = *conf;
    else tl_store_conf_init(&s->conf);
    if (s->conf.key) {
        memcpy(s->given_key, s->conf.key, TL_KEY_BYTES);
        s->conf.key = s->given_key;
    }
    s->be = s->conf.backend ? s->conf.backend : tl_store_backend_of(dir);
    s->readonly = (flags & TL_STORE_READONLY) != 0;
    if (s->be->version != TL_STORE_BACKEND_VERSION) {
        tl_errbuf_set(eb, "%s: store back end %s speaks interface version %d, not %d", dir,
                      s->be->name, s->be->version, TL_STORE_BACKEND_VERSION);
        free(s->dir);
        free(s);
        return TL_EINVAL;
    }
    int rc = s->be->open(s, flags, eb);
    if (!rc && !s->readonly) rc = intern_builtins(s, eb);
    if (!rc && !s->readonly && s->have_key) rc = tl__store_pseudo_load(s, eb);
    if (rc) {
        tl_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tl_store_close(tl_store_t *s) {
    if (!s) return;
    tl_store_rollback(s);
    s->be->close(s);
    sodium_memzero(s->given_key, sizeof s->given_key);
    sodium_memzero(&s->seal, sizeof s->seal);
    sodium_memzero(s->pseudo, sizeof s->pseudo);
    free(s->dir);
    free(s);
}

/* ---- ids by index ------------------------------------------------------------ */

int tl__store_ids_offsets(const tl_buf_t *a, uint64_t n, uint64_t **out) {
    uint64_t *offs = malloc((n + 1) * sizeof *offs);
    if (!(*out = offs)) return TL_ENOMEM;
    uint64_t k = 0;
    for (size_t p = 0; p < a->len && k < n; k++) {
        const char *z = memchr(a->data + p, 0, a->len - p);
        if (!z) break;
        offs[k] = p;
        p = (size_t)(z - a->data) + 1;
    }
    if (k != n || (n && a->len && a->data[a->len - 1] != 0)) {
        free(offs);
        *out = NULL;
        return TL_ECORRUPT;
    }
    offs[n] = a->len;
    return 0;
}

/* ---- batches: one writer, one batch at a time ------------------------------ */

int tl_store_begin(tl_store_t *s, tl_errbuf_t *eb) {
    if (s->readonly) {
        tl_errbuf_set(eb, "the data directory is open read-only");
        return TL_EINVAL;
    }
    if (s->in_batch) {
        tl_errbuf_set(eb, "%s: a batch is open already", s->dir);
        return TL_EINVAL;
    }
    int rc = s->be->begin(s, eb);
    if (!rc) s->in_batch = 1;
    return rc;
}

int tl_store_commit(tl_store_t *s, tl_errbuf_t *eb) {
    if (!s->in_batch) return 0;
    int rc = s->be->commit(s, eb);
    s->in_batch = 0; /* committed, or rolled back by the failed commit */
    return rc;
}

void tl_store_rollback(tl_store_t *s) {
    if (!s->in_batch) return;
    s->be->rollback(s);
    s->in_batch = 0;
}

/* ---- dictionaries ------------------------------------------------------------ */

tl_dict_t *tl_store_dict(tl_store_t *s, tl_dkind_t kind, tl_errbuf_t *eb) {
    return s->be->dict(s, kind, eb);
}

int tl_store_ids(tl_store_t *s, tl_dkind_t kind, tl_ids_t *out, tl_errbuf_t *eb) {
    return s->be->ids(s, kind, out, eb);
}

/* ---- events ------------------------------------------------------------------ */

int tl_store_add_event(tl_store_t *s, const tl_event_t *ev, tl_errbuf_t *eb) {
    return s->be->add_event(s, ev, eb);
}

void tl_store_expect_events(tl_store_t *s, uint64_t n) {
    if (s->be->expect_events) s->be->expect_events(s, n);
}

void tl_store_prefetch_event(const tl_store_t *s, uint64_t fp) {
    if (s->be->prefetch_event) s->be->prefetch_event(s, fp);
}

int tl_store_scan_events(tl_store_t *s, tl_evblock_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->scan(s, 0, TL_EVC_ALL, fn, arg, eb);
}

int tl_store_scan_from(tl_store_t *s, uint64_t from_seq, uint32_t want, tl_evblock_fn fn,
                       void *arg, tl_errbuf_t *eb) {
    return s->be->scan(s, from_seq, want, fn, arg, eb);
}

int tl_store_scan_columns(tl_store_t *s, uint32_t want, tl_evblock_fn fn, void *arg,
                          tl_errbuf_t *eb) {
    return s->be->scan(s, 0, want, fn, arg, eb);
}

int tl_store_scan_since(tl_store_t *s, int64_t min_ts, uint32_t want, tl_evblock_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    want |= TL_EVC_TS; /* what the caller filters by */
    return s->be->scan_since ? s->be->scan_since(s, min_ts, want, fn, arg, eb)
                             : s->be->scan(s, 0, want, fn, arg, eb);
}

uint64_t tl_store_event_count(const tl_store_t *s) { return s->be->event_count(s); }

/* ---- entities: ids interned here, in the caller's batch ------------------------ */

static int intern_id(tl_store_t *s, tl_dkind_t kind, const char *id, uint32_t *idx,
                     tl_errbuf_t *eb) {
    tl_dict_t *d = tl_store_dict(s, kind, eb);
    if (!d) return TL_ENOMEM;
    return tl_dict_intern(d, id, strlen(id), idx, NULL);
}

int tl_store_put_user(tl_store_t *s, const char *id, const tl_user_t *u, tl_errbuf_t *eb) {
    uint32_t idx;
    int rc = intern_id(s, TL_D_USER, id, &idx, eb);
    return rc ? rc : s->be->put_user(s, idx, u, eb);
}

int tl_store_put_item(tl_store_t *s, const char *id, const tl_item_t *it, tl_errbuf_t *eb) {
    uint32_t idx;
    int rc = intern_id(s, TL_D_ITEM, id, &idx, eb);
    return rc ? rc : s->be->put_item(s, idx, it, eb);
}

int tl_store_put_product(tl_store_t *s, const char *id, const tl_product_t *p, tl_errbuf_t *eb) {
    uint32_t idx;
    int rc = intern_id(s, TL_D_PRODUCT, id, &idx, eb);
    return rc ? rc : s->be->put_product(s, idx, p, eb);
}

int tl_store_put_credit(tl_store_t *s, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb) {
    return s->be->put_credit(s, user, c, eb);
}

int tl_store_put_consent(tl_store_t *s, uint32_t user, const char *purpose, int granted,
                         int64_t at, tl_errbuf_t *eb) {
    return s->be->put_consent(s, user, purpose, granted, at, eb);
}

/* ---- entity reads ---------------------------------------------------------------- */

int tl_store_scan_users(tl_store_t *s, tl_user_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->scan_users(s, fn, arg, eb);
}

int tl_store_get_user(tl_store_t *s, uint32_t user, tl_user_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->get_user(s, user, fn, arg, eb);
}

int tl_store_scan_items(tl_store_t *s, tl_item_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->scan_items(s, fn, arg, eb);
}

int tl_store_get_item(tl_store_t *s, uint32_t item, tl_item_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->get_item(s, item, fn, arg, eb);
}

int tl_store_scan_products(tl_store_t *s, tl_product_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->scan_products(s, fn, arg, eb);
}

int tl_store_scan_credit(tl_store_t *s, uint32_t user, tl_credit_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    return s->be->scan_credit(s, user, fn, arg, eb);
}

int tl_store_scan_consents(tl_store_t *s, uint32_t user, tl_consent_fn fn, void *arg,
                           tl_errbuf_t *eb) {
    return s->be->scan_consents(s, user, fn, arg, eb);
}

/* The consent in force is the last of the user's records for the purpose
 * in the scan's order (user, purpose, at, granted). */
typedef struct {
    const char *purpose;
    int found, granted;
    int64_t at;
} latest_t;

static int latest_row(uint32_t user, const char *purpose, int granted, int64_t at, void *arg) {
    (void)user;
    latest_t *x = arg;
    if (strcmp(purpose, x->purpose) != 0) return 0;
    x->found = 1;
    x->granted = granted;
    x->at = at;
    return 0;
}

int tl_store_consent_latest(tl_store_t *s, uint32_t user, const char *purpose, int *granted,
                            int64_t *at, tl_errbuf_t *eb) {
    latest_t x = {purpose, 0, 0, 0};
    int rc = s->be->scan_consents(s, user, latest_row, &x, eb);
    if (rc) return rc;
    if (!x.found) return TL_ENOENT;
    if (granted) *granted = x.granted;
    if (at) *at = x.at;
    return 0;
}

/* The consents in force, for a back end without its own reading: the last
 * record of each (user, purpose) up to `at` in the scan's order decides. */
typedef struct {
    const char *const *purposes;
    int np, withdrawn;
    int64_t at;
    uint8_t *bits;
    uint32_t nusers;
} in_force_t;

static int in_force_row(uint32_t user, const char *purpose, int granted, int64_t at, void *arg) {
    const in_force_t *x = arg;
    if (at > x->at || user >= x->nusers) return 0;
    for (int k = 0; k < x->np; k++)
        if (strcmp(purpose, x->purposes[k]) == 0) {
            if ((granted != 0) != x->withdrawn) x->bits[user] |= (uint8_t)(1u << k);
            else x->bits[user] &= (uint8_t)~(1u << k);
        }
    return 0;
}

static int consents_in_force(tl_store_t *s, const char *const *purposes, int np, int64_t at,
                             int withdrawn, uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb) {
    if (s->be->consents_in_force)
        return s->be->consents_in_force(s, purposes, np, at, withdrawn, bits, nusers, eb);
    memset(bits, 0, nusers);
    in_force_t x = {purposes, np > 8 ? 8 : np, withdrawn, at, bits, nusers};
    return np <= 0 ? 0 : s->be->scan_consents(s, TL_NONE, in_force_row, &x, eb);
}

int tl_store_consents_asof(tl_store_t *s, const char *const *purposes, int np, int64_t at,
                           uint8_t *bits, uint32_t nusers, tl_errbuf_t *eb) {
    return consents_in_force(s, purposes, np, at, 0, bits, nusers, eb);
}

int tl_store_consents_withdrawn(tl_store_t *s, const char *purpose, int64_t at, uint8_t *out,
                                uint32_t nusers, tl_errbuf_t *eb) {
    return consents_in_force(s, &purpose, 1, at, 1, out, nusers, eb);
}

int tl_store_consents_refresh(tl_store_t *s, tl_errbuf_t *eb) {
    return s->be->consents_refresh ? s->be->consents_refresh(s, eb) : 0;
}

int tl_store_user_pii(tl_store_t *s, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb) {
    return s->be->user_pii(s, user, out, eb);
}

/* ---- the quarantine ---------------------------------------------------------------- */

int tl_store_quarantine(tl_store_t *s, const char *source, uint64_t line, const char *reason,
                        const char *message, const char *raw, size_t rawlen, const char *preview,
                        tl_errbuf_t *eb) {
    return s->be->quarantine(s, source, line, reason, message, raw, rawlen, preview, eb);
}

int tl_store_quarantine_scan(tl_store_t *s, const char *reason, int with_raw, tl_qrow_fn fn,
                             void *arg, tl_errbuf_t *eb) {
    return s->be->quarantine_scan(s, reason, with_raw, fn, arg, eb);
}

int tl_store_quarantine_counts(tl_store_t *s, tl_reason_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->quarantine_counts(s, fn, arg, eb);
}

/* ---- settings and segments ----------------------------------------------------- */

int tl_store_config_put(tl_store_t *s, const char *key, const char *value, tl_errbuf_t *eb) {
    return s->be->config_put(s, key, value, eb);
}

int tl_store_config_get(tl_store_t *s, const char *key, char **value, tl_errbuf_t *eb) {
    return s->be->config_get(s, key, value, eb);
}

int tl_store_segment_put(tl_store_t *s, const char *name, const char *expr, tl_errbuf_t *eb) {
    return s->be->segment_put(s, name, expr, eb);
}

int tl_store_segment_get(tl_store_t *s, const char *name, char **expr, tl_errbuf_t *eb) {
    return s->be->segment_get(s, name, expr, eb);
}

int tl_store_segment_delete(tl_store_t *s, const char *name, tl_errbuf_t *eb) {
    return s->be->segment_delete(s, name, eb);
}

int tl_store_segment_list(tl_store_t *s, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->segment_list(s, fn, arg, eb);
}

/* ---- repositories: writes in the caller's batch ------------------------------------ */

static int in_batch(tl_store_t *s, const char *what, tl_errbuf_t *eb) {
    if (s->in_batch) return 0;
    tl_errbuf_set(eb, "%s: %s outside a batch (call tl_store_begin first)", s->dir, what);
    return TL_EINVAL;
}

int tl_store_apikey_put(tl_store_t *s, const tl_apikey_row_t *k, tl_errbuf_t *eb) {
    int rc = in_batch(s, "adding an API key", eb);
    return rc ? rc : s->be->apikey_put(s, k, eb);
}

int tl_store_apikey_delete(tl_store_t *s, const char *id, tl_errbuf_t *eb) {
    int rc = in_batch(s, "removing an API key", eb);
    return rc ? rc : s->be->apikey_delete(s, id, eb);
}

int tl_store_apikey_scan(tl_store_t *s, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->apikey_scan(s, fn, arg, eb);
}

int tl_store_audit_append(tl_store_t *s, const tl_audit_entry_t *e, tl_errbuf_t *eb) {
    int rc = in_batch(s, "an audit entry written", eb);
    return rc ? rc : s->be->audit_append(s, e, eb);
}

int tl_store_audit_last(tl_store_t *s, int64_t *id, char mac[65], tl_errbuf_t *eb) {
    return s->be->audit_last(s, id, mac, eb);
}

int tl_store_audit_scan(tl_store_t *s, const char *target, tl_audit_fn fn, void *arg,
                        tl_errbuf_t *eb) {
    return s->be->audit_scan(s, target, fn, arg, eb);
}

/* ---- campaigns and their runs ------------------------------------------------------- */

int tl_store_campaign_get(tl_store_t *s, const char *id, tl_campaign_row_fn fn, void *arg,
                          tl_errbuf_t *eb) {
    return s->be->campaign_get(s, id, fn, arg, eb);
}

int tl_store_campaign_scan(tl_store_t *s, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->campaign_scan(s, fn, arg, eb);
}

int tl_store_campaign_put(tl_store_t *s, const char *id, const char *def, int64_t created,
                          tl_errbuf_t *eb) {
    return s->be->campaign_put(s, id, def, created, eb);
}

int tl_store_campaign_set_status(tl_store_t *s, const char *id, const char *status,
                                 tl_errbuf_t *eb) {
    return s->be->campaign_set_status(s, id, status, eb);
}

int tl_store_campaign_run_add(tl_store_t *s, const char *id, const tl_campaign_run_row_t *r,
                              uint64_t sends, double cost, tl_errbuf_t *eb) {
    return s->be->campaign_run_add(s, id, r, sends, cost, eb);
}

int tl_store_campaign_runs(tl_store_t *s, const char *id, tl_campaign_run_fn fn, void *arg,
                           tl_errbuf_t *eb) {
    return s->be->campaign_runs(s, id, fn, arg, eb);
}

/* ---- delivery states --------------------------------------------------------------- */

int tl_store_delivery_hold(tl_store_t *s, const char *id, const char *channel, uint64_t offset,
                           int64_t due, tl_errbuf_t *eb) {
    return s->be->delivery_hold(s, id, channel, offset, due, eb);
}

int tl_store_delivery_fail(tl_store_t *s, const char *id, const char *channel, uint64_t offset,
                           long code, int64_t at, int64_t due, tl_errbuf_t *eb) {
    return s->be->delivery_fail(s, id, channel, offset, code, at, due, eb);
}

int tl_store_delivery_done(tl_store_t *s, const char *id, int64_t at, tl_errbuf_t *eb) {
    return s->be->delivery_done(s, id, at, eb);
}

int tl_store_deliveries_held(tl_store_t *s, const char *channel, int64_t due_by, tl_offset_fn fn,
                             void *arg, tl_errbuf_t *eb) {
    return s->be->deliveries_held(s, channel, due_by, fn, arg, eb);
}

/* ---- do-not-contact and feedback: writes in the caller's batch ---------------------- */

int tl_store_link_add(tl_store_t *s, uint32_t a, uint32_t b, int64_t at, const char *source,
                      uint64_t *id, tl_errbuf_t *eb) {
    int rc = in_batch(s, "an identity link added", eb);
    if (rc) return rc;
    if (a == b || a == TL_NONE || b == TL_NONE) {
        tl_errbuf_set(eb, "%s: an identity link joins two different users", s->dir);
        return TL_EINVAL;
    }
    uint64_t ignored;
    return s->be->link_add(s, a < b ? a : b, a < b ? b : a, at, source ? source : "",
                           id ? id : &ignored, eb);
}

int tl_store_link_split(tl_store_t *s, uint64_t id, int64_t at, const char *reason,
                        tl_errbuf_t *eb) {
    int rc = in_batch(s, "an identity link split", eb);
    return rc ? rc : s->be->link_split(s, id, at, reason ? reason : "", eb);
}

int tl_store_link_scan(tl_store_t *s, uint32_t user, tl_link_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->link_scan(s, user, fn, arg, eb);
}

int tl_store_dnc_put(tl_store_t *s, uint32_t user, const char *channel, const char *reason,
                     int64_t at, const char *campaign, tl_errbuf_t *eb) {
    int rc = in_batch(s, "a do-not-contact entry written", eb);
    return rc ? rc : s->be->dnc_put(s, user, channel, reason, at, campaign, eb);
}

int tl_store_dnc_scan(tl_store_t *s, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->dnc_scan(s, at, fn, arg, eb);
}

int tl_store_dnc_of_user(tl_store_t *s, uint32_t user, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->dnc_of_user(s, user, fn, arg, eb);
}

int tl_store_feedback_add(tl_store_t *s, const tl_feedback_row_t *f, tl_errbuf_t *eb) {
    int rc = in_batch(s, "a feedback record written", eb);
    return rc ? rc : s->be->feedback_add(s, f, eb);
}

int tl_store_feedback_scan(tl_store_t *s, const char *campaign, tl_feedback_fn fn, void *arg,
                           tl_errbuf_t *eb) {
    return s->be->feedback_scan(s, campaign, fn, arg, eb);
}

int tl_store_feedback_of_user(tl_store_t *s, uint32_t user, tl_feedback_fn fn, void *arg,
                              tl_errbuf_t *eb) {
    return s->be->feedback_of_user(s, user, fn, arg, eb);
}

int tl_store_feedback_negative(tl_store_t *s, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb) {
    return s->be->feedback_negative(s, fn, arg, eb);
}
