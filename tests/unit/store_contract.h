/* store_contract.h -- what the store's contract tests share: a store of
 * the back end under test (the test's state) in the test's directory or,
 * for PostgreSQL, database; batches that must succeed, lookups, and
 * EACH(test), which runs a test against the local back end, the one in
 * memory (src/store/mem/) and the PostgreSQL one (src/store/pg/).
 *
 * The PostgreSQL tests need a server: $TAILOR_TEST_PG, a connection URI
 * (ctest starts one, scripts/pg.sh); each test gets a database of its own,
 * made in setup and dropped in teardown. Without the variable they are
 * skipped, with a message. */
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
#include <libpq-fe.h>
#include <unistd.h>

#include "store/backend.h"

#include "tmpdir.h"

/* ---- PostgreSQL: a database per test ---------------------------------------------------- */

/* The data key of the PostgreSQL stores (the back end has no key file). */
static const unsigned char pg_key[32] = {0x74, 0x61, 0x69, 0x6c, 0x6f, 0x72, 0x2d, 0x74,
                                         0x65, 0x73, 0x74, 0x2d, 0x6b, 0x65, 0x79};
/* The databases the running test made: its own, then those of its other
 * stores (contract_where); none when the server is not given. */
static char pg_dbs[4][64];
static int pg_ndbs;

/* $TAILOR_TEST_PG with its database replaced by db, in out: 0, or -1 when
 * out is too short. */
static inline int pg_uri(const char *db, char *out, size_t cap) {
    const char *base = getenv("TAILOR_TEST_PG"), *host = strstr(base, "://");
    host = host ? host + 3 : base;
    const char *end = host + strcspn(host, "/?"), *query = strchr(end, '?');
    int n = snprintf(out, cap, "%.*s/%s%s", (int)(end - base), base, db, query ? query : "");
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Runs sql on the server's own database: 0, or -1 with the error printed. */
static inline int pg_admin(const char *sql) {
    PGconn *c = PQconnectdb(getenv("TAILOR_TEST_PG"));
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

/* A fresh database for a store of the running test, its URI in out. */
static inline int pg_new_db(const char *suffix, char *out, size_t cap) {
    static int n;
    if (pg_ndbs == 4) return -1;
    char sql[128], *db = pg_dbs[pg_ndbs];
    int len = snprintf(db, 64, "tl_test_%ld_%d%s", (long)getpid(), n++, suffix);
    if (len < 0 || len >= 64) return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %.64s", db);
    if (pg_admin(sql)) return -1;
    pg_ndbs++;
    return pg_uri(db, out, cap);
}

/* Without a server, the PostgreSQL variant of a test is skipped. */
static inline void pg_required(void) {
    static int told;
    if (pg_ndbs) return;
    if (!told++)
        fprintf(stderr, "TAILOR_TEST_PG is not set: the PostgreSQL back end's contract tests "
                        "are skipped (ctest runs them against a server of its own)\n");
    skip();
}

/* Where another store of the test lives, named sub: a directory in the
 * test's, or a database of its own. */
static inline void contract_where(void **state, const char *sub, char *out, size_t cap) {
    if (*state != &tl_store_pg) {
        snprintf(out, cap, "%s/%s", dir, sub);
        return;
    }
    pg_required();
    char suffix[40];
    snprintf(suffix, sizeof suffix, "_%s", sub);
    assert_int_equal(pg_new_db(suffix, out, cap), 0);
}

static int contract_setup(void **state) {
    if (*state != &tl_store_pg) return tmpdir_setup(state);
    pg_ndbs = 0;
    dir[0] = 0;
    return getenv("TAILOR_TEST_PG") ? pg_new_db("", dir, sizeof dir) : 0;
}

static int contract_teardown(void **state) {
    if (*state != &tl_store_pg) return tmpdir_teardown(state);
    int rc = 0;
    for (int i = 0; i < pg_ndbs; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %.64s WITH (FORCE)", pg_dbs[i]);
        rc |= pg_admin(sql);
    }
    pg_ndbs = 0;
    return rc;
}

/* The configuration of the back end under test (PostgreSQL: with the key). */
static inline tl_store_conf_t contract_conf(void **state) {
    tl_store_conf_t c = *test_conf();
    c.backend = *state;
    if (*state == &tl_store_pg) {
        pg_required();
        c.key = pg_key;
    }
    return c;
}

/* ---- stores, batches, lookups ------------------------------------------------------------- */

static inline tl_store_t *open_be(void **state) {
    tl_store_conf_t c = contract_conf(state);
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

#define EACH(f)                                                                              \
    cmocka_unit_test_prestate_setup_teardown(f, contract_setup, contract_teardown,           \
                                             (void *)&tl_store_local),                       \
        cmocka_unit_test_prestate_setup_teardown(f, contract_setup, contract_teardown,       \
                                                 (void *)&tl_store_memory),                  \
        cmocka_unit_test_prestate_setup_teardown(f, contract_setup, contract_teardown,       \
                                                 (void *)&tl_store_pg)

#endif
