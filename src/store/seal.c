/* seal.c -- encryption at rest, whatever the back end: the data key of an
 * open store and the sealing of values with it. Where the key comes from
 * (the configuration, or a back end's own such as DATA/key) and where the
 * sealed values are kept is the back end's; the sealing is the same for all,
 * and so is the key file DATA/key of a data directory (the local back end's,
 * and a directory's that names a PostgreSQL store).
 *
 * A sealed blob is a 24-byte nonce followed by the XChaCha20-Poly1305
 * ciphertext and tag (libsodium). The key is 32 bytes (the front ends take
 * it from $TAILOR_KEY, parsed by tl_store_key_parse). The additional data
 * binds blobs to this format so a blob from another system cannot be
 * passed off as ours. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const unsigned char AD[] = "tailor-seal-v1";

int tl_store_key_parse(const char *hex, unsigned char key[TL_KEY_BYTES], tl_errbuf_t *eb) {
    size_t bin_len = 0;
    if (!hex || strlen(hex) != 2 * TL_KEY_BYTES ||
        sodium_hex2bin(key, TL_KEY_BYTES, hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
        bin_len != TL_KEY_BYTES) {
        tl_errbuf_set(eb, "$TAILOR_KEY must be %d hex digits (a 32-byte key)", 2 * TL_KEY_BYTES);
        return TL_EINVAL;
    }
    return 0;
}

int tl_store_backend_use_key(tl_store_t *st, const unsigned char found[TL_KEY_BYTES],
                             tl_errbuf_t *eb) {
    if (sodium_init() < 0) {
        tl_errbuf_set(eb, "libsodium failed to initialise");
        return TL_ECRYPTO;
    }
    const unsigned char *k = st->conf.key ? st->conf.key : found;
    if (!k) return 0;
    memcpy(st->seal.key, k, TL_KEY_BYTES);
    tl__sealer_init(&st->seal);
    st->have_key = 1;
    return 0;
}

void tl__sealer_init(tl_sealer_t *s) {
    randombytes_buf(s->nonce, 16);
    s->counter = 0;
}

int tl__seal(tl_sealer_t *s, const void *p, size_t n, tl_buf_t *out) {
    size_t need = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
                  crypto_aead_xchacha20poly1305_ietf_ABYTES;
    /* p may lie in out itself (the plain text gathered before its seal):
     * found again after the reserve, which may move out's bytes */
    const char *d = out->data;
    size_t in = d && (const char *)p >= d && (const char *)p < d + out->len ? (size_t)((const char *)p - d)
                                                                        : SIZE_MAX;
    if (tl_buf_reserve(out, need)) return TL_ENOMEM;
    if (in != SIZE_MAX) p = out->data + in;
    unsigned char *o = (unsigned char *)out->data + out->len;
    s->counter++;
    memcpy(s->nonce + 16, &s->counter, 8);
    memcpy(o, s->nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(o + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                               &clen, p, n, AD, sizeof AD - 1, NULL, o, s->key);
    out->len += crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
    return 0;
}

int tl__unseal(const unsigned char key[TL_KEY_BYTES], const void *blob, size_t n, tl_buf_t *out) {
    const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (n < nb + crypto_aead_xchacha20poly1305_ietf_ABYTES) return TL_ECRYPTO;
    size_t mlen_max = n - nb - crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (tl_buf_reserve(out, mlen_max)) return TL_ENOMEM;
    unsigned long long mlen = 0;
    const unsigned char *b = blob;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out->data + out->len, &mlen,
                                                   NULL, b + nb, n - nb, AD, sizeof AD - 1, b,
                                                   key) != 0)
        return TL_ECRYPTO;
    out->len += (size_t)mlen;
    out->data[out->len] = 0;
    return 0;
}

int tl__store_key_file(const char *dir, int create, unsigned char key[TL_KEY_BYTES],
                       tl_errbuf_t *eb) {
    if (sodium_init() < 0) {
        tl_errbuf_set(eb, "libsodium failed to initialise");
        return TL_ECRYPTO;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/key", dir);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        ssize_t r = read(fd, key, TL_KEY_BYTES);
        close(fd);
        if (r != TL_KEY_BYTES) {
            tl_errbuf_set(eb, "%s: the key file must hold exactly %d bytes", path, TL_KEY_BYTES);
            return TL_ECORRUPT;
        }
        return 0;
    }
    if (errno != ENOENT || !create) {
        tl_errbuf_set(eb, "%s: cannot read the key: %s (set $TAILOR_KEY or restore the file)",
                      path, strerror(errno));
        return TL_ECRYPTO;
    }
    randombytes_buf(key, TL_KEY_BYTES);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    int rc = 0;
    if (fd < 0 || write(fd, key, TL_KEY_BYTES) != TL_KEY_BYTES || fsync(fd) != 0)
        rc = tl_err_from_errno(errno);
    if (rc) tl_errbuf_set(eb, "%s: cannot create the key file: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    /* nothing is sealed with it yet: a short or unsynced key file goes, or
     * the next open would refuse the directory for it */
    if (rc && fd >= 0) unlink(path);
    return rc;
}
