/* store_int.h -- private declarations shared by the store's dispatcher
 * (store.c, blobs.c, privacy.c, seal.c, stats.c) and the back ends that
 * live in the library: the store handle, the sealing every back end
 * shares, the name rules and the check's sum. A back end's own parts stay
 * in its directory (local/local_int.h, mem/mem_int.h). */
#ifndef TL_STORE_INT_H
#define TL_STORE_INT_H

#include "store/backend.h"

/* ---- names (blobs.c) ------------------------------------------------------ */

/* 1 when s may end a blob's or a side log's name: letters, digits, '_',
 * '-' and '.' (not first), 1 to 200 bytes. */
int tl__store_name_ok(const char *s);
/* 1 when name is a side log's (store.h). */
int tl__store_applog_name_ok(const char *name);

/* ---- writers of a back end without its own (blobs.c) ------------------------ */

/* For a back end that leaves the writer ops NULL and installs writers
 * itself (its purge): the name and bytes of w, its stream closed; they
 * stay w's until tl_blobw_abandon frees it. TL_ENOMEM when its writes
 * failed. */
int tl__store_blobw_bytes(tl_blobw_t *w, const char **name, const void **p, size_t *n);

/* ---- sealing (seal.c) ----------------------------------------------------- */

#define TL_KEY_BYTES 32

/* The key and the nonce source of one open store. Nonces are 16 random
 * bytes drawn once per process followed by a 64-bit counter: unique for
 * the key without a system call per sealed value. */
typedef struct {
    unsigned char key[TL_KEY_BYTES];
    unsigned char nonce[24];
    uint64_t counter;
} tl_sealer_t;

void tl__sealer_init(tl_sealer_t *s);
/* Appends nonce || ciphertext of p[0..n) to out. */
int tl__seal(tl_sealer_t *s, const void *p, size_t n, tl_buf_t *out);
int tl__unseal(const unsigned char key[TL_KEY_BYTES], const void *blob, size_t n, tl_buf_t *out);
/* The key file DIR/key: read, or with create made (mode 0600, random) when
 * there is none. TL_ECRYPTO when it cannot be read, TL_ECORRUPT when it is
 * not a key. */
int tl__store_key_file(const char *dir, int create, unsigned char key[TL_KEY_BYTES],
                       tl_errbuf_t *eb);

/* A key rotation under way: the new key's sealer, and whether the values
 * re-sealed under it are committed (then the store uses it). */
struct tl_rekey {
    tl_sealer_t ns;
    int committed;
};

/* ---- keys and pseudonyms (privacy.c) -------------------------------------- */

/* The anchor as the text a back end keeps, with its MAC. */
#define TL__ANCHOR_TEXT 400
int tl__store_anchor_text(tl_store_t *s, const tl_audit_anchor_t *a, char out[TL__ANCHOR_TEXT],
                          tl_errbuf_t *eb);
/* Loads the pseudonym secret, making it the first time. */
int tl__store_pseudo_load(tl_store_t *s, tl_errbuf_t *eb);

/* ---- ids by index (store.c) ------------------------------------------------ */

/* The offsets of the n NUL-ended ids that lie back to back in arena, and
 * the arena's end after them (n + 1 values, caller frees): what tl_ids_t
 * points at. 0, TL_ENOMEM, or TL_ECORRUPT when the arena holds other
 * than n ids. */
int tl__store_ids_offsets(const tl_buf_t *arena, uint64_t n, uint64_t **out);

/* ---- the check (stats.c) -------------------------------------------------- */

/* Adds a block's rows to a check's blocks, events and digest: the sum
 * every back end's check computes. */
int tl__store_check_block(const tl_evblock_t *b, void *arg);

/* ---- the store handle ----------------------------------------------------- */

/* Set by tl_store_open_conf, whatever the back end; what a back end keeps
 * of its own hangs off be_state. */
struct tl_store {
    const tl_store_backend_t *be;
    void *be_state; /* tl_store_backend_set_state */
    char *dir;
    tl_store_conf_t conf; /* conf.key, when given, points at given_key */
    unsigned char given_key[TL_KEY_BYTES];
    int readonly, in_batch;
    tl_sealer_t seal; /* the data key (seal.c) */
    int have_key;
    unsigned char pseudo[TL_KEY_BYTES]; /* the pseudonym secret (privacy.c) */
    int pseudo_loaded;
};

#endif
