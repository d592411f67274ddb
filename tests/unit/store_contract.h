/* store_contract.h -- what the store's contract tests share: a store of
 * the back end under test (the test's state) in the test's directory,
 * batches that must succeed, lookups, and BOTH(test), which runs a test
 * against the local back end and the one in memory (src/store/mem/). */
#ifndef TL_TEST_STORE_CONTRACT_H
#define TL_TEST_STORE_CONTRACT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include <cmocka.h>

#include "store/backend.h"

#include "tmpdir.h"

static inline tl_store_t *open_be(void **state) {
    tl_store_conf_t c = *test_conf();
    c.backend = *state;
    tl_store_t *st = NULL;
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_open_conf(dir, &c, TL_STORE_CREATE, &st, &eb);
    if (rc) fprintf(stderr, "open: %s\n", eb.msg);
    assert_int_equal(rc, 0);
    return st;
}

static inline void begin(tl_store_t *st) {
    tl_errbuf_t eb = {{0}};
    assert_int_equal(tl_store_begin(st, &eb), 0);
}

static inline void commit(tl_store_t *st) {
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_commit(st, &eb);
    if (rc) fprintf(stderr, "commit: %s\n", eb.msg);
    assert_int_equal(rc, 0);
}

static inline uint32_t find_id(tl_store_t *st, tl_dkind_t k, const char *id) {
    tl_errbuf_t eb = {{0}};
    tl_dict_t *d = tl_store_dict(st, k, &eb);
    assert_non_null(d);
    return tl_dict_find(d, id, strlen(id));
}

/* a view by user at ts, its fingerprint fp */
static inline tl_event_t ev(uint64_t fp, uint32_t user, int64_t ts) {
    return (tl_event_t){.fp = fp, .user = user, .item = TL_NONE, .ts = ts, .type = TL_EV_VIEW,
                        .channel = TL_CH_APP, .qty = 1, .amount = NAN, .rating = NAN,
                        .lat = NAN, .lon = NAN, .query = TL_NONE, .city = TL_NONE,
                        .session = TL_NONE, .campaign = TL_NONE};
}

/* names seen by a scan, in order */
typedef struct {
    int n;
    char names[8][64];
} names_t;

static inline int blob_seen(const char *name, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%s", name);
    return 0;
}

static inline void assert_blob(tl_store_t *st, const char *name, const char *want) {
    tl_buf_t b;
    tl_buf_init(&b);
    tl_errbuf_t eb = {{0}};
    int rc = tl_store_blob_get(st, name, &b, &eb);
    if (!want) {
        assert_int_equal(rc, TL_ENOENT);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(b.data, want, b.len);
    }
    tl_buf_fini(&b);
}

/* what scans saw, for the tests to look at */
typedef struct {
    int n;
    uint32_t idx[8];
    char city[8][16], gender[8][16], attrs[8][32];
    int32_t birth[8];
} users_seen_t;

static inline int user_seen(uint32_t user, const tl_user_t *u, void *arg) {
    users_seen_t *s = arg;
    s->idx[s->n] = user;
    snprintf(s->city[s->n], 16, "%s", u->city ? u->city : "-");
    snprintf(s->gender[s->n], 16, "%s", u->gender ? u->gender : "-");
    snprintf(s->attrs[s->n], 32, "%s", u->attrs ? u->attrs : "-");
    s->birth[s->n] = u->birth_year;
    assert_null(u->name);
    s->n++;
    return 0;
}

typedef struct {
    int n;
    char seen[8][32];
} consents_seen_t;

static inline int consent_seen(uint32_t user, const char *purpose, int granted, int64_t at, void *arg) {
    consents_seen_t *s = arg;
    snprintf(s->seen[s->n++], 32, "%u %s %d %lld", user, purpose, granted, (long long)at);
    return 0;
}

typedef struct {
    uint64_t from;
    int n;
    uint32_t user[32];
    int64_t ts[32];
    int first_ok, cols_ok;
    uint64_t next;
} evseen_t;

static inline int ev_seen(const tl_evblock_t *b, void *arg) {
    evseen_t *s = arg;
    if (!s->n && b->first_seq > s->from) s->first_ok = 0;
    if (!b->user || !b->ts) s->cols_ok = 0;
    if (b->first_seq > s->next) s->first_ok = 0; /* no rows skipped */
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->first_seq + i < s->from) continue;
        s->user[s->n] = b->user[i];
        s->ts[s->n] = b->ts[i];
        s->n++;
    }
    s->next = b->first_seq + b->n;
    return 0;
}

static inline int qrow_seen(const tl_qrow_t *q, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%s:%llu %s %.*s|%s", q->source, (unsigned long long)q->line,
             q->reason, (int)q->rawlen, q->raw ? q->raw : "", q->preview);
    return 0;
}

static inline int offset_seen(uint64_t offset, void *arg) {
    names_t *s = arg;
    snprintf(s->names[s->n++], 64, "%llu", (unsigned long long)offset);
    return 0;
}

#define BOTH(f)                                                                              \
    cmocka_unit_test_prestate_setup_teardown(f, tmpdir_setup, tmpdir_teardown,               \
                                             (void *)&tl_store_local),                       \
        cmocka_unit_test_prestate_setup_teardown(f, tmpdir_setup, tmpdir_teardown,           \
                                                 (void *)&tl_store_memory)

#endif
