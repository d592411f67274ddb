/* core.h -- the bottom layer of tailor: errors, dense ids, time, hashing,
 * growable buffers and a deterministic random generator.
 *
 * Conventions (they hold for every module of libtailor):
 *  - Public names are tl_<module>_<verb>[_<noun>]; types end in _t; internal
 *    non-static helpers are tl__name; macros are TL_NAME.
 *  - A fallible function returns int: 0 on success, a negative TL_E* code on
 *    failure. Results go through out-parameters. Library code never aborts on
 *    allocation failure: it returns TL_ENOMEM.
 *  - x_new()/x_free() allocate and release (x_free(NULL) is a no-op);
 *    x_init()/x_fini() work on caller-owned storage.
 *  - No global state and no environment: every function takes the context
 *    it works on. The data key and a fixed "now" come from the caller (the
 *    store's configuration, tl_store_conf_t); the front ends read them from
 *    $TAILOR_KEY and $TAILOR_NOW.
 *  - Strings passed in are borrowed unless the comment above a function says
 *    the callee takes ownership.
 *
 * This module depends on nothing but libc and xxHash.
 */
#ifndef TL_CORE_H
#define TL_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The release, "MAJOR.MINOR.PATCH": project(VERSION) of CMakeLists.txt. */
extern const char tl_version[];

/* ---- errors ------------------------------------------------------------ */

#define TL_ERRNO_MAP(XX)                                                       \
    XX(ENOMEM, "out of memory")                                                \
    XX(EIO, "input/output error")                                              \
    XX(ENOSPC, "no space left on device")                                      \
    XX(EINVAL, "invalid argument")                                             \
    XX(ENOENT, "no such file or object")                                       \
    XX(EEXIST, "already exists")                                               \
    XX(ECORRUPT, "data is corrupt")                                            \
    XX(EVERSION, "unsupported format version")                                 \
    XX(EBADINPUT, "bad input")                                                 \
    XX(ELOCKED, "data directory is in use by another process")                 \
    XX(ESQL, "embedded database error")                                        \
    XX(ECRYPTO, "encryption error")                                            \
    XX(ERANGE, "value out of range")                                           \
    XX(EINTR, "interrupted")                                                   \
    XX(ELOST, "the connection to the store was lost")

enum {
    TL_OK = 0,
#define XX(code, _) TL_##code,
    TL__ERR_BASE = -1000,
    TL_ERRNO_MAP(XX)
#undef XX
    TL__ERR_END
};

/* A short English description of an error code; never NULL. */
const char *tl_strerror(int err);
/* The symbolic name of an error code ("ENOMEM"); never NULL. */
const char *tl_err_name(int err);
/* Map an errno value (ENOSPC, EIO, ...) to a TL_E* code. */
int tl_err_from_errno(int e);
/* The code of a failed write or sync with errno e: TL_ENOSPC when the disk
 * (or the quota) is full, so that the cause reaches the user, else TL_EIO. */
int tl_err_write(int e);

/* A message buffer that functions fill in to say what went wrong and where.
 * Functions that take one write a full sentence into it on failure. */
typedef struct {
    char msg[512];
} tl_errbuf_t;

void tl_errbuf_set(tl_errbuf_t *eb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- growable byte buffer ---------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} tl_buf_t;

/* Reads a whole file into a NUL-terminated string (*out, caller frees;
 * *len its length when len is given). 0, TL_ENOENT, TL_EIO or TL_ENOMEM. */
int tl_read_file(const char *path, char **out, size_t *len);
/* Writes data and a newline to path.tmp, then renames it over path, so
 * path holds the old text or the new whole. 0 or TL_EIO. */
int tl_write_file(const char *path, const void *data, size_t len);
void tl_buf_init(tl_buf_t *b);
void tl_buf_fini(tl_buf_t *b);
int tl_buf_reserve(tl_buf_t *b, size_t extra);
int tl_buf_append(tl_buf_t *b, const void *p, size_t n);
int tl_buf_printf(tl_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quoted, escaped). */
int tl_buf_json_str(tl_buf_t *b, const char *s, size_t n);
/* Appends s as one CSV field: as it is, or quoted with inner quotes doubled
 * when it holds a comma, a quote or a line break (RFC 4180). */
int tl_buf_csv_str(tl_buf_t *b, const char *s, size_t n);
static inline void tl_buf_clear(tl_buf_t *b) { b->len = 0; }

/* ---- hashing ----------------------------------------------------------- */

uint64_t tl_hash64(const void *p, size_t n, uint64_t seed);

/* A set of 64-bit fingerprints (open addressing, linear probing, at most
 * 80 % full, about 10 bytes a key). The key 0 is stored as 1, so
 * fingerprints are never 0 inside. */
typedef struct {
    uint64_t *slots;
    size_t cap, count;
} tl_hset_t;

int tl_hset_init(tl_hset_t *s, size_t expect);
/* Grows the set once so that n keys fit without further growth. */
int tl_hset_reserve(tl_hset_t *s, size_t n);
void tl_hset_fini(tl_hset_t *s);
/* Returns 1 if the key was added, 0 if it was present, TL_ENOMEM. */
int tl_hset_add(tl_hset_t *s, uint64_t key);
int tl_hset_has(const tl_hset_t *s, uint64_t key);
/* Removes a key (used to roll back a batch that failed to commit). */
void tl_hset_del(tl_hset_t *s, uint64_t key);
/* Hints the CPU to load the key's slot: call it a few keys ahead. */
void tl_hset_prefetch(const tl_hset_t *s, uint64_t key);

/* ---- dense id dictionary ----------------------------------------------- */

/* Maps external string ids to dense uint32 indexes 0..n-1 in order of first
 * appearance, and back. Strings are copied into the dictionary. */
typedef struct tl_dict tl_dict_t;

#define TL_NONE UINT32_MAX /* "no index": absent optional reference */

tl_dict_t *tl_dict_new(void);
void tl_dict_free(tl_dict_t *d);
/* Finds s; if absent adds it. *out gets the index, *added whether it was new.
 * Returns 0 or TL_ENOMEM. */
int tl_dict_intern(tl_dict_t *d, const char *s, size_t n, uint32_t *out,
                   int *added);
/* The same with the string's hash already computed by tl_dict_hash (so a
 * parsing thread can hash and a writing thread intern). */
int tl_dict_intern_h(tl_dict_t *d, const char *s, size_t n, uint64_t h, uint32_t *out,
                     int *added);
uint64_t tl_dict_hash(const char *s, size_t n);
/* Makes room for n strings of `bytes` bytes in all (NULs included), so
 * loading a known number of ids does not grow the table step by step. */
int tl_dict_reserve(tl_dict_t *d, uint32_t n, size_t bytes);
/* Prefetching for batch lookups: first the slot of a hash, then (a few
 * lookups later, once the slot is in cache) the string it points to. */
void tl_dict_prefetch(const tl_dict_t *d, uint64_t h);
void tl_dict_prefetch_str(const tl_dict_t *d, uint64_t h);
/* The index of s or TL_NONE. */
uint32_t tl_dict_find(const tl_dict_t *d, const char *s, size_t n);
/* The string of an index (NUL-terminated, valid until the next intern);
 * *n gets its length when n is not NULL. The strings of consecutive indexes
 * lie back to back in memory, each followed by its NUL. */
const char *tl_dict_str(const tl_dict_t *d, uint32_t idx, size_t *n);
uint32_t tl_dict_count(const tl_dict_t *d);
/* Erasure: an id whose bytes are all replaced by TL_DICT_FORGOTTEN (a
 * control character, which no imported id may hold) keeps its index but is
 * never found; forget overwrites the string of idx in place (its length,
 * and so every other string's place, unchanged). Interning such a string
 * (loading a dictionary) always adds it. Returns 0, TL_EINVAL, TL_ENOMEM. */
#define TL_DICT_FORGOTTEN '\x1e'
int tl_dict_forget(tl_dict_t *d, uint32_t idx);
void tl_dict_forget_bytes(char *s, size_t n);
static inline int tl_id_forgotten(const char *s) { return s && s[0] == TL_DICT_FORGOTTEN; }
/* Forgets every index >= n (rolls back a batch that did not commit).
 * Returns 0 or TL_ENOMEM (then the dictionary is unchanged). */
int tl_dict_truncate(tl_dict_t *d, uint32_t n);

/* ---- time -------------------------------------------------------------- */

/* Parses a timestamp into milliseconds since the Unix epoch (UTC).
 * Accepts ISO-8601 dates and date-times ("2024-05-01", "2024-05-01T08:30",
 * "2024-05-01 08:30:15.250+08:00", trailing "Z"), and plain Unix times:
 * integers of up to 11 digits are seconds, 12 to 14 digits milliseconds,
 * decimals are seconds with a fraction. Returns 0 or TL_EBADINPUT. */
int tl_time_parse(const char *s, size_t n, int64_t *out_ms);
/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t tl_time_days_from_civil(int y, unsigned m, unsigned d);
/* Formats ms as "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with NUL). */
void tl_time_format(int64_t ms, char out[32]);
/* The system clock in ms. A fixed "now" (reproducible runs, tests) is the
 * caller's to pass: the store's configuration carries one (tl_store_now). */
int64_t tl_time_now_ms(void);
/* A monotonic clock in ms, for durations: never the fixed "now". */
int64_t tl_time_mono_ms(void);

#define TL_MS_PER_DAY INT64_C(86400000)

/* ---- numbers ------------------------------------------------------------ */

/* v formatted by f (a printf format of one double), or "n/a" when v is not
 * finite (a figure undefined at zero counts, such as a lift over a control
 * without conversions), so every report says the same. Returns out. */
const char *tl_fmt_figure(char *out, size_t cap, const char *f, double v);

/* Strict parsers: the whole of s[0..n) must be the number (no spaces). */
int tl_parse_i64(const char *s, size_t n, int64_t *out);
int tl_parse_f64(const char *s, size_t n, double *out);
/* Sorts key[0..n) ascending (no NaN) and moves val along, stably: an LSD
 * radix sort of the keys' bits, linear in n. TL_ENOMEM without room for the
 * copies. */
int tl_sort_f64(double *key, uint32_t *val, size_t n);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int tl_utf8_valid(const char *s, size_t n);

/* Masks personal data inside free text for display: e-mail addresses keep
 * their first letter and domain (a***@example.com), runs of 7 or more digits
 * keep their first 3 and last 4 (138****1234), and ID-card-like runs (digits
 * ending in X) likewise. Appends the result to out. */
int tl_mask_text(const char *s, size_t n, tl_buf_t *out);
/* Masks one personal value: an e-mail keeps its first letter and domain,
 * a value of mostly digits its first 3 and last 4 characters, anything else
 * (a name) its first character followed by "**". Appends to out. */
int tl_mask_value(const char *s, size_t n, tl_buf_t *out);

/* ---- deterministic random numbers (xoshiro256**) ------------------------ */

typedef struct {
    uint64_t s[4];
} tl_rng_t;

void tl_rng_seed(tl_rng_t *r, uint64_t seed);
uint64_t tl_rng_next(tl_rng_t *r);
double tl_rng_uniform(tl_rng_t *r);           /* [0, 1) */
uint32_t tl_rng_below(tl_rng_t *r, uint32_t n); /* [0, n) */
double tl_rng_normal(tl_rng_t *r);            /* mean 0, sd 1 */
double tl_rng_exp(tl_rng_t *r, double mean);

/* Asks the kernel to back the 2 MiB-aligned interior of a large block with
 * huge pages (fewer page faults and TLB misses when it is filled). A hint:
 * it may do nothing. Call it before the block is first written. */
void tl_hint_huge(void *p, size_t n);

#endif
