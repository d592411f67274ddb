/* tmpdir.h -- a fresh temporary directory per test, for the unit tests that
 * touch files: `dir` holds its path between setup and teardown. Included by
 * one test file each (it defines static state). */
#ifndef TL_TEST_TMPDIR_H
#define TL_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char dir[256];

static int tmpdir_setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tailor-test-XXXXXX");
    setenv("TAILOR_NOW", "2025-12-01T00:00:00Z", 1);
    return mkdtemp(dir) ? 0 : -1;
}

static int tmpdir_teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

#endif
