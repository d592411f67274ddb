/* source.c -- sources of bytes (a file, a buffer in memory, a stream) and
 * reading them from their start to their end.
 *
 * The importer looks at a source before reading it, to read entities before
 * the records that name them; it must then read the source again from its
 * start. A regular file is seeked back and memory re-read, but a stream (a
 * descriptor, or a file that is not a regular file: a pipe, /dev/stdin) can
 * be read only once, so what a look ahead reads from it is kept in memory
 * and yielded again before the rest of the stream. */
#include "ingest_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

tl_source_t tl_source_file(const char *path) {
    return (tl_source_t){TL_SOURCE_FILE, path, NULL, 0, -1};
}

tl_source_t tl_source_mem(const char *name, const void *data, size_t len) {
    return (tl_source_t){TL_SOURCE_MEM, name, data ? data : "", data ? len : 0, -1};
}

tl_source_t tl_source_fd(const char *name, int fd) {
    return (tl_source_t){TL_SOURCE_FD, name, NULL, 0, fd};
}

int tl__input_open(tl_input_t *in, const tl_source_t *src, tl_errbuf_t *eb) {
    memset(in, 0, sizeof *in);
    tl_buf_init(&in->ahead);
    in->src = src;
    in->fd = -1;
    if (src->kind == TL_SOURCE_MEM) {
        in->size = src->len;
    } else if (src->kind == TL_SOURCE_FD) {
        in->fd = src->fd;
        in->stream = 1;
    } else {
        if ((in->fd = open(src->name, O_RDONLY)) < 0) {
            int rc = tl_err_from_errno(errno);
            tl_errbuf_set(eb, "%s: cannot open: %s", src->name, strerror(errno));
            return rc;
        }
        in->own_fd = 1;
        struct stat sb;
        if (fstat(in->fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
            in->size = (uint64_t)sb.st_size;
            posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        } else {
            in->stream = 1;
        }
    }
    in->open = 1;
    return 0;
}

ssize_t tl__input_read(tl_input_t *in, char *dst, size_t cap) {
    if (in->fd < 0) {
        size_t n = in->src->len - in->off < cap ? in->src->len - in->off : cap;
        memcpy(dst, in->src->data + in->off, n);
        in->off += n;
        return (ssize_t)n;
    }
    if (in->aheadoff < in->ahead.len) { /* what a look ahead read, again */
        size_t n = in->ahead.len - in->aheadoff < cap ? in->ahead.len - in->aheadoff : cap;
        memcpy(dst, in->ahead.data + in->aheadoff, n);
        in->aheadoff += n;
        if (!in->looking && in->aheadoff == in->ahead.len) tl_buf_fini(&in->ahead), in->aheadoff = 0;
        return (ssize_t)n;
    }
    ssize_t n = read(in->fd, dst, cap);
    if (n > 0 && in->stream && in->looking) {
        if (tl_buf_append(&in->ahead, dst, (size_t)n)) {
            errno = ENOMEM;
            return -1;
        }
        in->aheadoff = in->ahead.len;
    }
    return n;
}

void tl__input_look(tl_input_t *in) { in->looking = 1; }

int tl__input_rewind(tl_input_t *in, tl_errbuf_t *eb) {
    in->looking = 0;
    in->off = 0;
    in->aheadoff = 0;
    if (in->fd >= 0 && !in->stream && lseek(in->fd, 0, SEEK_SET) < 0) {
        int rc = tl_err_from_errno(errno);
        tl_errbuf_set(eb, "%s: cannot read it again from its start: %s", in->src->name,
                      strerror(errno));
        return rc;
    }
    return 0;
}

void tl__input_close(tl_input_t *in) {
    if (in->own_fd && in->fd >= 0) close(in->fd);
    tl_buf_fini(&in->ahead);
    in->fd = -1;
    in->own_fd = in->open = 0;
}

int tl__input_head(tl_input_t *in, const tl_source_t *src, char *buf, size_t cap, size_t *n,
                   tl_errbuf_t *eb) {
    *n = 0;
    int rc = in->open ? 0 : tl__input_open(in, src, eb);
    if (rc) return rc;
    tl__input_look(in);
    while (*n < cap) {
        ssize_t got = tl__input_read(in, buf + *n, cap - *n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            rc = tl_err_from_errno(errno);
            tl_errbuf_set(eb, "%s: cannot read: %s", src->name, strerror(errno));
            break;
        }
        if (got == 0 || memchr(buf + *n, '\n', (size_t)got)) {
            *n += (size_t)got;
            break;
        }
        *n += (size_t)got;
    }
    int rw = tl__input_rewind(in, eb);
    return rc ? rc : rw;
}
