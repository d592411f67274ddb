/* util.c -- small helpers every module needs: growable buffers, strict
 * number parsing, UTF-8 validation, a seeded random generator (so the
 * generator and the A/B assignment are reproducible across machines). */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- buffers ------------------------------------------------------------ */

void tl_buf_init(tl_buf_t *b) { b->data = NULL, b->len = b->cap = 0; }

void tl_buf_fini(tl_buf_t *b) {
    free(b->data);
    tl_buf_init(b);
}

int tl_buf_reserve(tl_buf_t *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + extra + 1) nc *= 2;
    char *nd = realloc(b->data, nc);
    if (!nd) return TL_ENOMEM;
    b->data = nd;
    b->cap = nc;
    return 0;
}

int tl_buf_append(tl_buf_t *b, const void *p, size_t n) {
    if (tl_buf_reserve(b, n)) return TL_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int tl_buf_printf(tl_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return TL_EINVAL;
    if (tl_buf_reserve(b, (size_t)n)) return TL_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int tl_buf_json_str(tl_buf_t *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (tl_buf_reserve(b, n * 6 + 2)) return TL_ENOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\', *o++ = 'n';
        } else if (c == '\r') {
            *o++ = '\\', *o++ = 'r';
        } else if (c == '\t') {
            *o++ = '\\', *o++ = 't';
        } else if (c < 0x20) {
            *o++ = '\\', *o++ = 'u', *o++ = '0', *o++ = '0';
            *o++ = hex[c >> 4], *o++ = hex[c & 15];
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
    return 0;
}

int tl_buf_csv_str(tl_buf_t *b, const char *s, size_t n) {
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) return tl_buf_append(b, s, n);
    if (tl_buf_reserve(b, 2 * n + 2)) return TL_ENOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') *o++ = '"';
        *o++ = s[i];
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
    return 0;
}

/* ---- numbers ------------------------------------------------------------ */

const char *tl_fmt_figure(char *out, size_t cap, const char *f, double v) {
    if (isfinite(v)) snprintf(out, cap, f, v);
    else snprintf(out, cap, "n/a");
    return out;
}

int tl_parse_i64(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    int neg = 0;
    if (n == 0) return TL_EBADINPUT;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (n == 1) return TL_EBADINPUT;
    }
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9) return TL_EBADINPUT;
        if (v > (UINT64_C(9223372036854775807) - d) / 10) return TL_ERANGE;
        v = v * 10 + d;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int tl_read_file(const char *path, char **out, size_t *len) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return TL_ENOENT;
    tl_buf_t b;
    tl_buf_init(&b);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0) rc = tl_buf_append(&b, chunk, n);
    if (!rc && ferror(f)) rc = TL_EIO;
    fclose(f);
    if (!rc) rc = tl_buf_append(&b, "", 1); /* the terminating NUL */
    if (rc) {
        tl_buf_fini(&b);
        return rc;
    }
    if (len) *len = b.len - 1;
    *out = b.data;
    return 0;
}

int tl_write_file(const char *path, const void *data, size_t len) {
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) return TL_EINVAL;
    FILE *f = fopen(tmp, "wb");
    if (!f) return TL_EIO;
    int rc = fwrite(data, 1, len, f) == len && fputc('\n', f) != EOF ? 0 : TL_EIO;
    if (fclose(f) != 0) rc = TL_EIO;
    if (!rc && rename(tmp, path) != 0) rc = TL_EIO;
    if (rc) remove(tmp);
    return rc;
}

/* IEEE doubles as unsigned integers in the same order: flip every bit of a
 * negative number, only the sign bit of a positive one. */
static inline uint64_t f64_key(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u & (1ULL << 63) ? ~u : u | (1ULL << 63);
}

int tl_sort_f64(double *key, uint32_t *val, size_t n) {
    if (n < 2) return 0;
    uint64_t *k = malloc(2 * n * sizeof *k);
    uint32_t *v = malloc(2 * n * sizeof *v);
    if (!k || !v) {
        free(k), free(v);
        return TL_ENOMEM;
    }
    uint64_t *ka = k, *kb = k + n;
    uint32_t *va = v, *vb = v + n;
    for (size_t i = 0; i < n; i++) ka[i] = f64_key(key[i]), va[i] = val ? val[i] : 0;
    for (int shift = 0; shift < 64; shift += 11) { /* six passes of 11 bits */
        size_t count[2049] = {0};
        for (size_t i = 0; i < n; i++) count[((ka[i] >> shift) & 0x7FF) + 1]++;
        if (count[((ka[0] >> shift) & 0x7FF) + 1] == n) continue; /* all alike here */
        for (size_t b = 1; b <= 2048; b++) count[b] += count[b - 1];
        for (size_t i = 0; i < n; i++) {
            size_t p = count[(ka[i] >> shift) & 0x7FF]++;
            kb[p] = ka[i], vb[p] = va[i];
        }
        uint64_t *tk = ka;
        ka = kb, kb = tk;
        uint32_t *tv = va;
        va = vb, vb = tv;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t u = ka[i] & (1ULL << 63) ? ka[i] & ~(1ULL << 63) : ~ka[i];
        memcpy(&key[i], &u, sizeof u);
        if (val) val[i] = va[i];
    }
    free(k), free(v);
    return 0;
}

int tl_parse_f64(const char *s, size_t n, double *out) {
    char tmp[64];
    if (n == 0 || n >= sizeof tmp) return TL_EBADINPUT;
    /* Fast path for plain decimals ("12.50", "-3", "7"), the common case. */
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') neg = s[i++] == '-';
    uint64_t ip = 0, fp = 0, scale = 1;
    size_t nd = 0, nf = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && nd < 15) ip = ip * 10 + (uint64_t)(s[i++] - '0'), nd++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9' && nf < 9)
            fp = fp * 10 + (uint64_t)(s[i++] - '0'), nf++, scale *= 10;
    }
    if (i == n && (nd || nf)) {
        double v = (double)ip + (double)fp / (double)scale;
        *out = neg ? -v : v;
        return 0;
    }
    /* Anything else (exponents, long mantissas) goes through strtod. */
    memcpy(tmp, s, n);
    tmp[n] = 0;
    if (tmp[0] == ' ' || tmp[0] == '\t') return TL_EBADINPUT;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + n || errno == ERANGE || !isfinite(v)) return TL_EBADINPUT;
    /* strtod also takes "inf", "nan" and hex floats: refuse those. */
    for (size_t k = 0; k < n; k++)
        if ((tmp[k] | 0x20) == 'x' || (tmp[k] | 0x20) == 'n' || (tmp[k] | 0x20) == 'i')
            return TL_EBADINPUT;
    *out = v;
    return 0;
}

int tl_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* Skip ASCII eight bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned min;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) k = 1, min = 0x80, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) k = 2, min = 0x800, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) k = 3, min = 0x10000, cp = c & 0x07;
        else return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k + 1;
    }
    return 1;
}

/* ---- masking ------------------------------------------------------------ */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_email_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
           c == '_' || c == '-' || c == '+' || c == '%';
}

int tl_mask_text(const char *s, size_t n, tl_buf_t *out) {
    size_t i = 0, lit = 0; /* s[lit..i) is pending literal text */
    while (i < n) {
        if (s[i] == '@' && i > 0 && is_email_char(s[i - 1])) {
            /* Walk back over the local part already queued as literal. */
            size_t st = i;
            while (st > lit && is_email_char(s[st - 1])) st--;
            size_t de = i + 1;
            while (de < n && is_email_char(s[de])) de++;
            if (de > i + 1 && st < i) {
                if (tl_buf_append(out, s + lit, st - lit) || tl_buf_append(out, s + st, 1) ||
                    tl_buf_append(out, "***", 3) || tl_buf_append(out, s + i, de - i))
                    return TL_ENOMEM;
                i = lit = de;
                continue;
            }
        }
        if (is_digit(s[i])) {
            size_t e = i;
            while (e < n && is_digit(s[e])) e++;
            if (e < n && (s[e] == 'X' || s[e] == 'x') && e - i >= 14) e++;
            size_t len = e - i;
            if (len >= 7) {
                if (tl_buf_append(out, s + lit, i - lit) || tl_buf_append(out, s + i, 3))
                    return TL_ENOMEM;
                for (size_t k = 0; k < len - 7; k++)
                    if (tl_buf_append(out, "*", 1)) return TL_ENOMEM;
                if (tl_buf_append(out, s + e - 4, 4)) return TL_ENOMEM;
                i = lit = e;
                continue;
            }
            i = e;
            continue;
        }
        i++;
    }
    return tl_buf_append(out, s + lit, n - lit);
}

int tl_mask_value(const char *s, size_t n, tl_buf_t *out) {
    if (n == 0) return 0;
    const char *at = memchr(s, '@', n);
    if (at && at > s) {
        if (tl_buf_append(out, s, 1) || tl_buf_append(out, "***", 3)) return TL_ENOMEM;
        return tl_buf_append(out, at, n - (size_t)(at - s));
    }
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) digits += is_digit(s[i]);
    if (n >= 8 && digits * 2 >= n) {
        if (tl_buf_append(out, s, 3)) return TL_ENOMEM;
        for (size_t i = 7; i < n; i++)
            if (tl_buf_append(out, "*", 1)) return TL_ENOMEM;
        return tl_buf_append(out, s + n - 4, 4);
    }
    /* The first character, whole even if it is several UTF-8 bytes. */
    size_t k = 1;
    while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80) k++;
    if (tl_buf_append(out, s, k)) return TL_ENOMEM;
    return tl_buf_append(out, "**", 2);
}

/* ---- random numbers ----------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void tl_rng_seed(tl_rng_t *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tl_rng_next(tl_rng_t *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tl_rng_uniform(tl_rng_t *r) { return (double)(tl_rng_next(r) >> 11) * 0x1.0p-53; }

uint32_t tl_rng_below(tl_rng_t *r, uint32_t n) {
    return n ? (uint32_t)(((tl_rng_next(r) >> 32) * (uint64_t)n) >> 32) : 0;
}

double tl_rng_normal(tl_rng_t *r) {
    double u1 = tl_rng_uniform(r), u2 = tl_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double tl_rng_exp(tl_rng_t *r, double mean) {
    return -mean * log(1.0 - tl_rng_uniform(r));
}

void tl_hint_huge(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + n) & ~(huge - 1);
    if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}
