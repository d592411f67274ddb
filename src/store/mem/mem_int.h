/* mem_int.h -- what the files of the store in memory share: its rows,
 * collections and state, the helpers over them, and the operations the
 * files beside mem.c implement (the table is in mem.c). */
#ifndef TL_STORE_MEM_INT_H
#define TL_STORE_MEM_INT_H

#include "store/backend.h"

#define MEM_NV 12 /* values per row at most (a user's) */

typedef struct {
    int t; /* 0 absent, 1 integer, 2 real, 3 bytes (text has its NUL) */
    int64_t i;
    double d;
    char *p;
    size_t n;
} mval_t;

typedef struct {
    char *key;
    mval_t v[MEM_NV];
} tl__mrow_t;

typedef struct {
    tl__mrow_t *r;
    size_t n, cap;
} tl__mcoll_t;

enum {
    C_USERS, C_ITEMS, C_PRODUCTS, C_CREDIT, C_CONSENTS, C_CONFIG, C_SEGMENTS, C_BLOBS, C_APIKEYS,
    C_AUDIT, C_QUARANTINE, C_CAMPAIGNS, C_RUNS, C_DELIVERIES,
    C_DNC, C_FEEDBACK,            /* reads.c */
    C_LINKS,                      /* links.c */
    C_APPLOGS,                    /* blobs.c */
    C_SECRETS, C_META, C_ERASED,  /* privacy.c */
    C__N
};

typedef struct {
    tl__mcoll_t c[C__N];
} tl__mdata_t;

typedef struct {
    tl__mdata_t comm, work; /* work: the batch's copy */
    int in_batch;
    tl_dict_t *dict[TL_D__N];
    uint32_t dict_comm[TL_D__N];
    tl_buf_t ids_arena[TL_D__N];
    uint64_t *ids_offs[TL_D__N];
    uint32_t ids_n[TL_D__N];   /* the ids of the view, made at generation ids_gen - 1 */
    uint64_t ids_gen[TL_D__N];
    uint64_t gen;              /* commits and purges so far: a view older is read again */
    tl_event_t *ev;
    uint64_t nev, ncomm, cap;
    tl_hset_t fps;
    struct tl__mem_applog *applogs; /* side logs open (blobs.c) */
} tl__mem_t;

/* values and rows (mem.c) */
mval_t tl__mv_i(int64_t i, int present);
mval_t tl__mv_d(double d);
mval_t tl__mv_s(const char *s);
int tl__mv_copy(mval_t *dst, const mval_t *src);
int tl__mv_eq(const mval_t *a, const mval_t *b);
void tl__mrow_free(tl__mrow_t *r);
void tl__mdata_free(tl__mdata_t *d);
int tl__mdata_copy(tl__mdata_t *dst, const tl__mdata_t *src);
size_t tl__mcoll_find(const tl__mcoll_t *c, const char *key, int *found);
int tl__mcoll_upsert(tl__mcoll_t *c, const char *key, const mval_t *v, int nv, int replace);
void tl__mcoll_remove(tl__mcoll_t *c, size_t at);
void tl__mkey_u32(uint32_t k, char out[16]);
uint32_t tl__mkey_to_u32(const char *k);
const char *tl__mv_str(const mval_t *v);
int64_t tl__mv_int(const mval_t *v, int64_t absent);
double tl__mv_real(const mval_t *v);
tl__mem_t *tl__mem_of(const tl_store_t *st);
tl__mdata_t *tl__mem_cur(tl__mem_t *m);

/* repositories (repos.c) */
int tl__mem_config_put(tl_store_t *st, const char *key, const char *value, tl_errbuf_t *eb);
int tl__mem_config_get(tl_store_t *st, const char *key, char **value, tl_errbuf_t *eb);
int tl__mem_segment_put(tl_store_t *st, const char *name, const char *expr, tl_errbuf_t *eb);
int tl__mem_segment_get(tl_store_t *st, const char *name, char **expr, tl_errbuf_t *eb);
int tl__mem_segment_delete(tl_store_t *st, const char *name, tl_errbuf_t *eb);
int tl__mem_segment_list(tl_store_t *st, tl_segdef_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_apikey_put(tl_store_t *st, const tl_apikey_row_t *k, tl_errbuf_t *eb);
int tl__mem_apikey_delete(tl_store_t *st, const char *id, tl_errbuf_t *eb);
int tl__mem_apikey_scan(tl_store_t *st, tl_apikey_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_audit_append(tl_store_t *st, const tl_audit_entry_t *e, tl_errbuf_t *eb);
int tl__mem_audit_last(tl_store_t *st, int64_t *id, char mac[65], tl_errbuf_t *eb);
int tl__mem_audit_scan(tl_store_t *st, const char *target, tl_audit_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_campaign_get(tl_store_t *st, const char *id, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_campaign_scan(tl_store_t *st, tl_campaign_row_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_campaign_put(tl_store_t *st, const char *id, const char *def, int64_t created, tl_errbuf_t *eb);
int tl__mem_campaign_set_status(tl_store_t *st, const char *id, const char *status, tl_errbuf_t *eb);
int tl__mem_campaign_run_add(tl_store_t *st, const char *id, const tl_campaign_run_row_t *r, uint64_t sends, double cost, tl_errbuf_t *eb);
int tl__mem_campaign_runs(tl_store_t *st, const char *id, tl_campaign_run_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_delivery_hold(tl_store_t *st, const char *id, const char *channel, uint64_t offset, int64_t due, tl_errbuf_t *eb);
int tl__mem_delivery_fail(tl_store_t *st, const char *id, const char *channel, uint64_t offset, long code, int64_t at, int64_t due, tl_errbuf_t *eb);
int tl__mem_delivery_done(tl_store_t *st, const char *id, int64_t at, tl_errbuf_t *eb);
int tl__mem_deliveries_held(tl_store_t *st, const char *channel, int64_t due_by, tl_offset_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_blob_put(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb);
int tl__mem_blob_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
int tl__mem_blob_list(tl_store_t *st, const char *prefix, tl_blob_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_blob_remove(tl_store_t *st, const char *name, tl_errbuf_t *eb);

/* do-not-contact, feedback and counts (reads.c) */
int tl__mem_link_add(tl_store_t *st, uint32_t a, uint32_t b, int64_t at, const char *source,
                     uint64_t *id, tl_errbuf_t *eb);
int tl__mem_link_split(tl_store_t *st, uint64_t id, int64_t at, const char *reason,
                       tl_errbuf_t *eb);
int tl__mem_link_scan(tl_store_t *st, uint32_t user, tl_link_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_dnc_put(tl_store_t *st, uint32_t user, const char *channel, const char *reason, int64_t at, const char *campaign, tl_errbuf_t *eb);
int tl__mem_dnc_scan(tl_store_t *st, int64_t at, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_dnc_of_user(tl_store_t *st, uint32_t user, tl_dnc_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_feedback_add(tl_store_t *st, const tl_feedback_row_t *f, tl_errbuf_t *eb);
int tl__mem_feedback_scan(tl_store_t *st, const char *campaign, tl_feedback_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_feedback_of_user(tl_store_t *st, uint32_t user, tl_feedback_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_feedback_negative(tl_store_t *st, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_counts(tl_store_t *st, tl_store_counts_t *out, tl_errbuf_t *eb);
/* blob writers and appends, side logs (blobs.c); commit adds
 * what open logs hold to the batch's copy, rollback and close drop it */
int tl__mem_blob_create(tl_store_t *st, const char *name, tl_blobw_t **out, tl_errbuf_t *eb);
int tl__mem_blobw_write(tl_blobw_t *w, const void *p, size_t n, tl_errbuf_t *eb);
FILE *tl__mem_blobw_stream(tl_blobw_t *w);
int tl__mem_blobw_close(tl_blobw_t *w, tl_errbuf_t *eb);
void tl__mem_blobw_abandon(tl_blobw_t *w);
int tl__mem_blobw_install(tl_blobw_t *w, tl__mcoll_t *blobs);
int tl__mem_blob_append(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb);
int tl__mem_applog_open(tl_store_t *st, const char *name, tl_applog_t **out, tl_errbuf_t *eb);
int tl__mem_applog_write(tl_applog_t *l, const void *p, size_t n, tl_errbuf_t *eb);
int tl__mem_applog_read(tl_store_t *st, const char *name, uint64_t from, tl_buf_t *out,
                    tl_errbuf_t *eb);
int tl__mem_applog_committed(tl_store_t *st, const char *name, uint64_t *len, tl_errbuf_t *eb);
int tl__mem_applog_list(tl_store_t *st, tl_applog_fn fn, void *arg, tl_errbuf_t *eb);
int tl__mem_applogs_commit(tl__mem_t *m);
void tl__mem_applogs_rollback(tl__mem_t *m);
void tl__mem_applogs_close(tl__mem_t *m);
/* keys, pseudonyms, erasure and retention (privacy.c) */
int tl__mem_use_key(tl_store_t *st, tl_errbuf_t *eb);
int tl__mem_secret_get(tl_store_t *st, const char *name, tl_buf_t *out, tl_errbuf_t *eb);
int tl__mem_secret_add(tl_store_t *st, const char *name, const void *p, size_t n, tl_errbuf_t *eb);
int tl__mem_anchor_get(tl_store_t *st, tl_buf_t *out, tl_errbuf_t *eb);
int tl__mem_anchor_put(tl_store_t *st, const char *text, tl_errbuf_t *eb);
int tl__mem_erased(tl_store_t *st, const char *pseudonym, uint32_t *idx, tl_errbuf_t *eb);
int tl__mem_erased_any(tl_store_t *st, tl_errbuf_t *eb);
int tl__mem_purge(tl_store_t *st, const tl_purge_t *p, const char *pseudonym, const char *id, size_t n,
              tl_purge_stats_t *out, tl_errbuf_t *eb);
int tl__mem_rotate_key(tl_store_t *st, tl_rekey_t *rk, tl_rekey_stats_t *out, tl_errbuf_t *eb);

#endif
