/* err.c -- the error list of libtailor and the message buffer.
 *
 * Every fallible function returns 0 or one negative code from TL_ERRNO_MAP;
 * these helpers turn a code into words for the person reading stderr. */
#include "core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

const char *tl_strerror(int err) {
    switch (err) {
    case TL_OK: return "success";
#define XX(code, text) case TL_##code: return text;
        TL_ERRNO_MAP(XX)
#undef XX
    default: return "unknown error";
    }
}

const char *tl_err_name(int err) {
    switch (err) {
    case TL_OK: return "OK";
#define XX(code, _) case TL_##code: return #code;
        TL_ERRNO_MAP(XX)
#undef XX
    default: return "EUNKNOWN";
    }
}

int tl_err_from_errno(int e) {
    switch (e) {
    case ENOMEM: return TL_ENOMEM;
    case ENOSPC:
    case EDQUOT: return TL_ENOSPC;
    case ENOENT: return TL_ENOENT;
    case EEXIST: return TL_EEXIST;
    case EINVAL: return TL_EINVAL;
    case EINTR: return TL_EINTR;
    case EWOULDBLOCK: return TL_ELOCKED;
    default: return TL_EIO;
    }
}

void tl_errbuf_set(tl_errbuf_t *eb, const char *fmt, ...) {
    if (!eb) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    va_end(ap);
}

int tl_err_write(int e) { return e == ENOSPC || e == EDQUOT ? TL_ENOSPC : TL_EIO; }
