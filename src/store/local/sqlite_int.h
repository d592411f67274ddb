/* sqlite_int.h -- what the files of the local back end's SQLite side share:
 * the prepared statements by number, the batch check and the row writers
 * that the operations table of sqlite.c names. */
#ifndef TL_STORE_SQLITE_INT_H
#define TL_STORE_SQLITE_INT_H

#include "store/local/local_int.h"

/* The statements prepared once per open (SQL[] in sqlite.c). */
enum {
    S_DICT_INS,
    S_META_SET,
    S_USER_GET,
    S_USER_PUT,
    S_ITEM_GET,
    S_ITEM_PUT,
    S_PROD_GET,
    S_PROD_PUT,
    S_CRED_GET,
    S_CRED_PUT,
    S_CONSENT,
    S_QUAR,
    S_SOURCE_GET,
    S_SOURCE_ADD,
    S__N
};

/* Statement which, prepared on first use, reset and unbound. NULL when
 * SQLite cannot prepare it. */
sqlite3_stmt *tl__local_stmt(tl_store_t *s, int which);
/* 0, or an error when SQLite rolled the open batch back by itself. */
int tl__local_batch_alive(tl_store_t *s, tl_errbuf_t *eb);

/* rows.c: the operations that write and read rows of entities, consents
 * and the quarantine. */
int tl__loc_put_user(tl_store_t *s, uint32_t idx, const tl_user_t *u, tl_errbuf_t *eb);
int tl__loc_put_item(tl_store_t *s, uint32_t idx, const tl_item_t *it, tl_errbuf_t *eb);
int tl__loc_put_product(tl_store_t *s, uint32_t idx, const tl_product_t *p, tl_errbuf_t *eb);
int tl__loc_put_credit(tl_store_t *s, uint32_t user, const tl_credit_t *c, tl_errbuf_t *eb);
int tl__loc_put_consent(tl_store_t *s, uint32_t user, const char *purpose, int granted,
                        int64_t at, tl_errbuf_t *eb);
int tl__loc_quarantine(tl_store_t *s, const char *source, uint64_t line, const char *reason,
                       const char *message, const char *raw, size_t rawlen,
                       const char *preview, tl_errbuf_t *eb);
int tl__loc_user_pii(tl_store_t *s, uint32_t user, tl_buf_t *out, tl_errbuf_t *eb);

#endif
