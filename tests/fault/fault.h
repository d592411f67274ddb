/* fault.h -- fault injection for the tests in tests/fault: the n-th call to
 * the allocator, or the n-th call of file I/O, fails.
 *
 * What is counted (fault.c):
 *  - allocation: malloc, calloc, realloc, strdup, strndup, anonymous mmap
 *    and pthread_create called from libtailor's own objects (the test is
 *    linked with -Wl,--wrap=... for each), among them cJSON's (libtailor
 *    hands it its allocator), and SQLite's (through SQLITE_CONFIG_MALLOC);
 *  - I/O: open, read, pread, write, pwrite, fsync, fdatasync, ftruncate,
 *    rename, stat, fstat, mkdir, flock, file-backed mmap, fopen, fread,
 *    fwrite, fclose, fseek, ftell from libtailor's objects, and SQLite's
 *    file I/O through a VFS registered as the default over "unix" (open,
 *    read, write, truncate, sync, file size, delete, shared-memory map).
 *
 * A failing allocation returns NULL (errno ENOMEM; pthread_create EAGAIN).
 * A failing I/O call returns its error value with errno ENOSPC for writes
 * and EIO otherwise (fread and fwrite also set the stream's error flag, as
 * a real error would; fclose closes the stream and then reports EIO);
 * SQLite's get SQLITE_FULL for writes and the SQLITE_IOERR_* code of the
 * call otherwise. The fault is transient: only the n-th call fails, the
 * ones after it succeed, as after a transient ENOMEM or EIO.
 *
 * Counters are atomic: the importer and the profile build run two threads,
 * so which call is the n-th may differ between runs when both threads
 * allocate; the number of calls does not.
 *
 * Set TAILOR_FAULT_VERBOSE=1 to print a backtrace of every injected fault. */
#ifndef TL_TEST_FAULT_H
#define TL_TEST_FAULT_H

#include <stdint.h>

typedef enum { FAULT_ALLOC, FAULT_IO, FAULT__N } fault_kind_t;

/* Installs SQLite's counting allocator and VFS. Call it
 * first, before anything opens a store (SQLite must not be initialised). */
void fault_init(void);
/* Starts counting from 0; the n-th call of kind fails (n = 0: none fails,
 * only counting). */
void fault_arm(fault_kind_t kind, uint64_t n);
void fault_disarm(void);
/* 1 if the armed fault fired. */
int fault_fired(void);
/* The name of the call that failed ("malloc", "sqlite:xWrite", ...). */
const char *fault_site(void);
/* Calls of kind counted since fault_arm. */
uint64_t fault_count(fault_kind_t kind);
const char *fault_kind_name(fault_kind_t kind);

#endif
