/* request.c -- reading a request: paths and query values percent-decoded
 * (a request whose path or query does not decode cleanly is refused whole,
 * before any handler runs), path patterns matched, and the one check of a
 * JSON body every handler that reads one goes through: JSON of the kind the
 * route takes, no key twice in one object at any depth, only the fields
 * the route knows. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The byte of the escape %XY at s[i] (i + 2 < n), or -1 when it is not one. */
static int pct_byte(const char *s, size_t n, size_t i) {
    int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* Percent-decodes s[0..n) into out (cap > 0); '+' is a space in a query.
 * s has passed tl__request_uri_fault. */
static void pct_decode(const char *s, size_t n, int plus, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        int b = s[i] == '%' ? pct_byte(s, n, i) : -1;
        if (b >= 0) {
            out[o++] = (char)b;
            i += 2;
        } else {
            out[o++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = 0;
}

/* Where s does not percent-decode cleanly, or NULL: every '%' must start
 * two hex digits, and no byte, as sent or decoded, may be a control
 * character. A NUL would end a decoded id early and name someone else
 * (u1%00x is not u1), so such a request is refused whole, for every route. */
const char *tl__request_uri_fault(const char *s) {
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && (c = pct_byte(s, n, i)) < 0) return "a '%' not followed by two hex digits";
        if (s[i] == '%') i += 2;
        if (c < 0x20 || c == 0x7f) return "a control character (such as %00)";
    }
    return NULL;
}

/* Where a query (past tl__request_uri_fault) holds a value too long to read whole, or
 * NULL. */
const char *tl__request_query_fault(const char *q) {
    size_t n = 0; /* decoded bytes of the value being read */
    for (const char *p = q; p && *p; p++) {
        if (*p == '&') {
            n = 0;
            continue;
        }
        if (*p == '%') p += 2;
        if (++n >= QUERY_VALUE_MAX) return "a value longer than 2047 bytes";
    }
    return NULL;
}

const char *tl__request_query(const char *q, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            pct_decode(p + nl + 1, (size_t)(end - p) - nl - 1, 1, out, cap);
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

int tl__request_match(const char *pattern, const char *path, char args[2][256]) {
    int na = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t len = strcspn(path, "/");
            if (!len || len >= 256 || na == 2) return 0;
            pct_decode(path, len, 0, args[na], 256); /* ids are sent percent-encoded */
            na++, pattern += 2, path += len;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return !*pattern && !*path;
}

/* Answers a body that is not what the route takes: JSON of the wrong kind
 * is told apart from text that is not JSON when b asks for it. */
static void body_fault(tl_srv_req_t *r, const tl_srv_body_t *b, int parsed, const char *end) {
    long at = end ? (long)(end - r->rq->body) : 0L;
    if (!(b->flags & BODY_TYPE_APART))
        tl__server_fail(r->rs, 400, "bad_json", "the body is not %s (near byte %ld)", b->what, at);
    else if (!parsed)
        tl__server_fail(r->rs, 400, "bad_json", "the body is not JSON (near byte %ld)", at);
    else
        tl__server_fail(r->rs, 400, "bad_type", "the body must be %s", b->what);
}

int tl__request_body(tl_srv_req_t *r, const tl_srv_body_t *b) {
    const tl_http_request_t *rq = r->rq;
    r->body = NULL;
    if ((b->flags & BODY_OPTIONAL) && !rq->body_len) return 0;
    const char *end = NULL;
    int rc = 0;
    cJSON *j = cJSON_ParseWithLengthOpts(rq->body, rq->body_len, &end, 0), *m;
    if (!j && (b->flags & BODY_LIBRARY_PARSES)) return 0;
    int kind_ok = ((b->flags & BODY_OBJECT) && cJSON_IsObject(j)) || ((b->flags & BODY_ARRAY) && cJSON_IsArray(j));
    if (!kind_ok && !(b->flags & BODY_LIBRARY_PARSES)) {
        body_fault(r, b, j != NULL, end);
        cJSON_Delete(j);
        return -1;
    }
    /* cJSON keeps both members of a key sent twice, and a reader would
     * take one of them without a word */
    const char *dup = tl_import_dup_key(j, &rc);
    if (dup || rc) {
        if (rc) tl__server_fail(r->rs, 500, "internal", "out of memory");
        else tl__server_fail(r->rs, 400, "duplicate_key", "the key \"%.64s\" appears twice in one object of the body: "
                             "send each key once", dup);
        cJSON_Delete(j);
        return -1;
    }
    if (b->flags & BODY_LIBRARY_PARSES) {
        cJSON_Delete(j);
        return 0;
    }
    if (b->fields)
        cJSON_ArrayForEach(m, j) {
            const char *const *f = b->fields;
            while (*f && strcmp(*f, m->string) != 0) f++;
            if (!*f) {
                tl__server_fail(r->rs, 400, "unknown_field", "unknown field \"%s\" (%s)", m->string, b->has);
                cJSON_Delete(j);
                return -1;
            }
        }
    r->body = j;
    return 0;
}

int tl__request_n(tl_srv_req_t *r, long def, long max, long *n) {
    char v[QUERY_VALUE_MAX];
    *n = tl__request_query(r->rq->query, "n", v, sizeof v) ? strtol(v, NULL, 10) : def;
    if (*n >= 1 && *n <= max) return 0;
    tl__server_fail(r->rs, 400, "bad_parameter", "n must be from 1 to %ld", max);
    return -1;
}
