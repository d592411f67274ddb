/* tmpdir.h -- a fresh temporary directory per test, for the unit tests that
 * touch files: `dir` holds its path between setup and teardown; and the
 * stores the tests open, on a clock fixed at TEST_NOW. Included by one test
 * file each (it defines static state). */
#ifndef TL_TEST_TMPDIR_H
#define TL_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

static char dir[256];

/* 2025-12-01T00:00:00Z: "now" for every store a test opens. */
#define TEST_NOW INT64_C(1764547200000)

/* The configuration of the tests' stores: the key file, the fixed clock. */
static inline const tl_store_conf_t *test_conf(void) {
    static tl_store_conf_t c;
    tl_store_conf_init(&c);
    c.now = TEST_NOW;
    return &c;
}

/* tl_store_open with test_conf(). */
static inline int test_store_open(const char *d, int flags, tl_store_t **st, tl_errbuf_t *eb) {
    return tl_store_open_conf(d, test_conf(), flags, st, eb);
}

static int tmpdir_setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tailor-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int tmpdir_teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

#endif
