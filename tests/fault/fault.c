/* fault.c -- the counters and wrappers behind fault.h.
 *
 * libtailor is a static library, so the test executable links its objects
 * with -Wl,--wrap=NAME (tests/fault/CMakeLists.txt): their calls to NAME go
 * to __wrap_NAME here, and __real_NAME is the C library's (or ASan's)
 * function. Only calls from objects linked into the executable are
 * wrapped; the shared libraries' own calls are not, which is why SQLite is
 * hooked through its own configuration instead. cJSON needs nothing here:
 * import gives it libtailor's allocator (tl__json_parse), whose malloc is
 * wrapped.
 *
 * Invariant: while disarmed nothing is counted and nothing fails, so the
 * test's own setup and checks run on the real calls. */
#include "fault.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the counters ------------------------------------------------------------ */

static atomic_int g_armed;
static atomic_int g_fired;
static fault_kind_t g_kind;
static uint64_t g_n;
static atomic_uint_fast64_t g_count[FAULT__N];
static const char *_Atomic g_site;
static int g_verbose;

static const char *const KIND_NAMES[FAULT__N] = {"alloc", "io"};

const char *fault_kind_name(fault_kind_t kind) { return KIND_NAMES[kind]; }

void fault_arm(fault_kind_t kind, uint64_t n) {
    for (int k = 0; k < FAULT__N; k++) atomic_store(&g_count[k], 0);
    g_kind = kind;
    g_n = n;
    atomic_store(&g_fired, 0);
    atomic_store(&g_site, NULL);
    atomic_store(&g_armed, 1);
}

void fault_disarm(void) { atomic_store(&g_armed, 0); }
int fault_fired(void) { return atomic_load(&g_fired); }
const char *fault_site(void) {
    const char *s = atomic_load(&g_site);
    return s ? s : "";
}
uint64_t fault_count(fault_kind_t kind) { return atomic_load(&g_count[kind]); }

/* Counts one call of kind; 1 if it is the one to fail. */
static int tick(fault_kind_t kind, const char *site) {
    if (!atomic_load_explicit(&g_armed, memory_order_relaxed)) return 0;
    uint64_t c = atomic_fetch_add(&g_count[kind], 1) + 1;
    if (kind != g_kind || c != g_n) return 0;
    atomic_store(&g_site, site);
    atomic_store(&g_fired, 1);
    if (g_verbose) {
        void *bt[32];
        int n = backtrace(bt, 32);
        fprintf(stderr, "fault: %s call %llu fails: %s\n", KIND_NAMES[kind], (unsigned long long)c,
                site);
        backtrace_symbols_fd(bt, n, 2);
    }
    return 1;
}

#define FAIL_ALLOC(site) (tick(FAULT_ALLOC, site) ? (errno = ENOMEM, 1) : 0)
#define FAIL_IO(site, e) (tick(FAULT_IO, site) ? (errno = (e), 1) : 0)

/* ---- libtailor's own calls (-Wl,--wrap) ----------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __real_open(const char *path, int flags, ...);
ssize_t __real_read(int fd, void *p, size_t n);
ssize_t __real_pread(int fd, void *p, size_t n, off_t off);
ssize_t __real_write(int fd, const void *p, size_t n);
ssize_t __real_pwrite(int fd, const void *p, size_t n, off_t off);
int __real_fsync(int fd);
int __real_fdatasync(int fd);
int __real_ftruncate(int fd, off_t len);
int __real_rename(const char *from, const char *to);
int __real_stat(const char *path, struct stat *sb);
int __real_fstat(int fd, struct stat *sb);
int __real_mkdir(const char *path, mode_t mode);
int __real_flock(int fd, int op);
FILE *__real_fopen(const char *path, const char *mode);
size_t __real_fread(void *p, size_t size, size_t n, FILE *f);
size_t __real_fwrite(const void *p, size_t size, size_t n, FILE *f);
int __real_fclose(FILE *f);
int __real_fseek(FILE *f, long off, int whence);
long __real_ftell(FILE *f);

void *__wrap_malloc(size_t n) { return FAIL_ALLOC("malloc") ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { return FAIL_ALLOC("calloc") ? NULL : __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { return FAIL_ALLOC("realloc") ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return FAIL_ALLOC("strdup") ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) {
    return FAIL_ALLOC("strndup") ? NULL : __real_strndup(s, n);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    if ((flags & MAP_ANONYMOUS) ? FAIL_ALLOC("mmap(anonymous)") : FAIL_IO("mmap", EIO))
        return MAP_FAILED;
    return __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
    if (tick(FAULT_ALLOC, "pthread_create")) return EAGAIN;
    return __real_pthread_create(t, a, fn, arg);
}

int __wrap_open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (FAIL_IO("open", EIO)) return -1;
    return __real_open(path, flags, mode);
}

ssize_t __wrap_read(int fd, void *p, size_t n) {
    return FAIL_IO("read", EIO) ? -1 : __real_read(fd, p, n);
}
ssize_t __wrap_pread(int fd, void *p, size_t n, off_t off) {
    return FAIL_IO("pread", EIO) ? -1 : __real_pread(fd, p, n, off);
}
ssize_t __wrap_write(int fd, const void *p, size_t n) {
    return FAIL_IO("write", ENOSPC) ? -1 : __real_write(fd, p, n);
}
ssize_t __wrap_pwrite(int fd, const void *p, size_t n, off_t off) {
    return FAIL_IO("pwrite", ENOSPC) ? -1 : __real_pwrite(fd, p, n, off);
}
int __wrap_fsync(int fd) { return FAIL_IO("fsync", EIO) ? -1 : __real_fsync(fd); }
int __wrap_fdatasync(int fd) { return FAIL_IO("fdatasync", EIO) ? -1 : __real_fdatasync(fd); }
int __wrap_ftruncate(int fd, off_t len) {
    return FAIL_IO("ftruncate", EIO) ? -1 : __real_ftruncate(fd, len);
}
int __wrap_rename(const char *from, const char *to) {
    return FAIL_IO("rename", EIO) ? -1 : __real_rename(from, to);
}
int __wrap_stat(const char *path, struct stat *sb) {
    return FAIL_IO("stat", EIO) ? -1 : __real_stat(path, sb);
}
int __wrap_fstat(int fd, struct stat *sb) { return FAIL_IO("fstat", EIO) ? -1 : __real_fstat(fd, sb); }
int __wrap_mkdir(const char *path, mode_t mode) {
    return FAIL_IO("mkdir", EIO) ? -1 : __real_mkdir(path, mode);
}
int __wrap_flock(int fd, int op) { return FAIL_IO("flock", EIO) ? -1 : __real_flock(fd, op); }

FILE *__wrap_fopen(const char *path, const char *mode) {
    return FAIL_IO("fopen", EIO) ? NULL : __real_fopen(path, mode);
}
/* A failed stream call sets the stream's error flag, as glibc does, so
 * callers that ask ferror() see it. */
size_t __wrap_fread(void *p, size_t size, size_t n, FILE *f) {
    if (FAIL_IO("fread", EIO)) {
        f->_flags |= _IO_ERR_SEEN;
        return 0;
    }
    return __real_fread(p, size, n, f);
}
size_t __wrap_fwrite(const void *p, size_t size, size_t n, FILE *f) {
    if (FAIL_IO("fwrite", ENOSPC)) {
        f->_flags |= _IO_ERR_SEEN;
        return 0;
    }
    return __real_fwrite(p, size, n, f);
}
/* The stream is closed either way (as when the final flush fails). */
int __wrap_fclose(FILE *f) {
    int fail = FAIL_IO("fclose", EIO);
    int rc = __real_fclose(f);
    if (fail) {
        errno = EIO;
        return EOF;
    }
    return rc;
}
int __wrap_fseek(FILE *f, long off, int whence) {
    return FAIL_IO("fseek", EIO) ? -1 : __real_fseek(f, off, whence);
}
long __wrap_ftell(FILE *f) { return FAIL_IO("ftell", EIO) ? -1 : __real_ftell(f); }

/* ---- SQLite's allocator --------------------------------------------------------- */

static sqlite3_mem_methods g_mem;

static void *mem_malloc(int n) { return FAIL_ALLOC("sqlite:xMalloc") ? NULL : g_mem.xMalloc(n); }
static void *mem_realloc(void *p, int n) {
    return FAIL_ALLOC("sqlite:xRealloc") ? NULL : g_mem.xRealloc(p, n);
}
static void mem_free(void *p) { g_mem.xFree(p); }
static int mem_size(void *p) { return g_mem.xSize(p); }
static int mem_roundup(int n) { return g_mem.xRoundup(n); }
static int mem_init(void *a) { return g_mem.xInit(a); }
static void mem_shutdown(void *a) { g_mem.xShutdown(a); }

/* ---- SQLite's file I/O: a VFS over "unix" --------------------------------------- */

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* the unix VFS's file, right after this struct */
} ffile_t;

static sqlite3_vfs *g_unix;
static sqlite3_vfs g_vfs;

#define REAL(f) (((ffile_t *)(f))->real)
#define SQL_FAIL(site) tick(FAULT_IO, "sqlite:" site)

static int f_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
    if (SQL_FAIL("xRead")) return SQLITE_IOERR_READ;
    return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
    if (SQL_FAIL("xWrite")) return SQLITE_FULL;
    return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 n) {
    if (SQL_FAIL("xTruncate")) return SQLITE_IOERR_TRUNCATE;
    return REAL(f)->pMethods->xTruncate(REAL(f), n);
}
static int f_sync(sqlite3_file *f, int flags) {
    if (SQL_FAIL("xSync")) return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *n) {
    if (SQL_FAIL("xFileSize")) return SQLITE_IOERR_FSTAT;
    return REAL(f)->pMethods->xFileSize(REAL(f), n);
}
static int f_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int f_reserved(sqlite3_file *f, int *out) {
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int f_control(sqlite3_file *f, int op, void *arg) {
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int f_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int f_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp) {
    if (SQL_FAIL("xShmMap")) return SQLITE_IOERR_SHMMAP;
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int f_shm_lock(sqlite3_file *f, int off, int n, int flags) {
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void f_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods IO = {
    3,         f_close,     f_read,       f_write,       f_truncate,   f_sync,
    f_size,    f_lock,      f_unlock,     f_reserved,    f_control,    f_sector,
    f_devchar, f_shm_map,   f_shm_lock,   f_shm_barrier, f_shm_unmap,  f_fetch,
    f_unfetch,
};

static int v_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out) {
    (void)v;
    ffile_t *ff = (ffile_t *)f;
    ff->real = (sqlite3_file *)(ff + 1);
    ff->real->pMethods = NULL;
    f->pMethods = NULL;
    if (SQL_FAIL("xOpen")) return SQLITE_CANTOPEN;
    int rc = g_unix->xOpen(g_unix, name, ff->real, flags, out);
    /* SQLite calls xClose when pMethods is set, even after a failure */
    if (ff->real->pMethods) f->pMethods = &IO;
    return rc;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync) {
    (void)v;
    if (SQL_FAIL("xDelete")) return SQLITE_IOERR_DELETE;
    return g_unix->xDelete(g_unix, name, sync);
}

/* ---- setup ------------------------------------------------------------------------ */

void fault_init(void) {
    const char *v = getenv("TAILOR_FAULT_VERBOSE");
    g_verbose = v && *v && *v != '0';
    if (g_verbose) {
        void *bt[2];
        backtrace(bt, 2); /* loads libgcc now, not inside the first fault */
    }
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_mem) != SQLITE_OK) abort();
    sqlite3_mem_methods m = {mem_malloc, mem_free, mem_realloc, mem_size,
                             mem_roundup, mem_init, mem_shutdown, NULL};
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK) abort();
    if (sqlite3_initialize() != SQLITE_OK || !(g_unix = sqlite3_vfs_find("unix"))) abort();
    g_vfs = *g_unix; /* the other methods pass straight through */
    g_vfs.zName = "fault";
    g_vfs.szOsFile = (int)sizeof(ffile_t) + g_unix->szOsFile;
    g_vfs.pNext = NULL;
    g_vfs.xOpen = v_open;
    g_vfs.xDelete = v_delete;
    if (sqlite3_vfs_register(&g_vfs, 1) != SQLITE_OK) abort();
}
