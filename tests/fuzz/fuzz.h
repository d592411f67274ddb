/* fuzz.h -- what the fuzz targets share: the input as a file (readers and
 * loaders take paths), a scratch directory per process removed at exit, a
 * small generated world imported into a data directory, and a check that
 * aborts (so libFuzzer, or the replay driver under ASan, reports it) when an
 * invariant of the code under test does not hold. Included by one target
 * each; every helper is static inline so a target may leave some unused.
 *
 * The fuzz targets are test code: they keep their state in globals, made
 * once per process, which the library itself never does. */
#ifndef TL_FUZZ_H
#define TL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gen/gen.h"
#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The invariants of the code under test: a failure is a bug to fix. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Setup that must work for the target to mean anything. */
static inline void fuzz_need(int rc, const char *what, const tl_errbuf_t *eb) {
    if (rc == 0) return;
    fprintf(stderr, "fuzz setup: %s: %s (%s)\n", what, tl_strerror(rc), eb ? eb->msg : "");
    abort();
}

/* The input as a file, for APIs that take a path: an anonymous memory file
 * rewritten for each input, so nothing is left behind when a run crashes.
 * The path stays valid for the process. */
static inline const char *fuzz_input_path(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("tailor-fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz input file");
        abort();
    }
    return path;
}

static char fuzz_dir_path[256];

static inline void fuzz_dir_remove(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_path);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir_path);
}

/* A scratch directory for this process, removed at exit. */
static inline const char *fuzz_dir(void) {
    if (!fuzz_dir_path[0]) {
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "/tmp/tailor-fuzz-XXXXXX");
        if (!mkdtemp(fuzz_dir_path)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* The configuration of the fuzzed stores: "now" fixed at 2025-12-01. */
static inline const tl_store_conf_t *fuzz_conf(void) {
    static tl_store_conf_t c;
    tl_store_conf_init(&c);
    c.now = INT64_C(1764547200000);
    return &c;
}

/* A generated world of a few users (seed fixed, "now" fixed to the day
 * after it ends) imported into DIR/data; returns the open store. */
static inline tl_store_t *fuzz_world(uint32_t users, uint32_t items, uint32_t days) {
    char out[300], data[300];
    snprintf(out, sizeof out, "%s/world", fuzz_dir());
    snprintf(data, sizeof data, "%s/data", fuzz_dir());
    tl_gen_opts_t g;
    tl_gen_opts_default(&g);
    g.users = users, g.items = items, g.days = days, g.seed = 7;
    tl_errbuf_t eb = {{0}};
    fuzz_need(tl_gen_run(&g, out, NULL, &eb), "gen", &eb);
    tl_store_t *st;
    fuzz_need(tl_store_open_conf(data, fuzz_conf(), TL_STORE_CREATE, &st, &eb), "store open", &eb);
    static const char *const names[] = {"users.csv", "items.csv", "products.csv", "credit.csv",
                                        "consents.csv", "events.csv"};
    char paths[6][400];
    tl_source_t files[6];
    for (int i = 0; i < 6; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", out, names[i]);
        files[i] = tl_source_file(paths[i]);
    }
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s;
    memset(&s, 0, sizeof s);
    fuzz_need(tl_import(st, files, 6, &o, &s, NULL, NULL, &eb), "import", &eb);
    return st;
}

#endif
