/* reader.c -- streaming CSV and line readers.
 *
 * A source (a file, a buffer in memory or a stream, see source.c) is read
 * through one buffer of 4 MiB; a record must fit in
 * TL_MAX_RECORD bytes, so memory does not grow with the file. A CSV record
 * without quotes is split in place (the common, fast case); a record with
 * quotes goes through a small state machine (RFC 4180: "" is a quote inside
 * a quoted field, and quoted fields may hold delimiters and newlines) that
 * writes unquoted text into a side buffer, leaving the raw record intact for
 * the quarantine. A quote that never closes within the record limit makes
 * only its first line bad, and reading goes on at the next line.
 *
 * Lines end in LF or CRLF (the CR is dropped), or, in a file whose first
 * buffer holds CRs and no LF at all, in a lone CR (classic Mac OS text):
 * the choice is made once per file, so a CR inside a line of an LF file
 * stays text as before. */
#include "ingest_int.h"

#include <errno.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>

#define BUF_SIZE (4u << 20)

/* Sets up a zeroed reader whose input r->in is open. */
static int reader_init(tl_reader_t *r, const char *delim, tl_errbuf_t *eb) {
    r->path = r->in->src->name;
    r->next_line = 1;
    r->err = -1;
    r->quotes = 1;
    tl_buf_init(&r->unq);
    r->cap = BUF_SIZE;
    r->buf = malloc(r->cap + 64); /* slack for 16-byte loads past the end */
    /* The unquoting buffer exists from the start: an empty quoted field
     * points into it even when nothing was ever unquoted. */
    if (!r->buf || tl_buf_reserve(&r->unq, 256)) return TL_ENOMEM;
    const char *d = delim && *delim ? delim : ",";
    r->dlen = strlen(d) >= 2 ? 2 : 1;
    memcpy(r->delim, d, (size_t)r->dlen);
    if (r->dlen == 2 && d[0] != d[1]) {
        tl_errbuf_set(eb, "delimiter \"%s\": use one byte, or two equal bytes such as \"::\"", d);
        return TL_EINVAL;
    }
    return 0;
}

int tl__reader_open_input(tl_reader_t *r, tl_input_t *in, const char *delim, tl_errbuf_t *eb) {
    memset(r, 0, sizeof *r);
    r->in = in;
    return reader_init(r, delim, eb);
}

int tl__reader_open(tl_reader_t *r, const tl_source_t *src, const char *delim, tl_errbuf_t *eb) {
    memset(r, 0, sizeof *r);
    r->in = &r->own;
    int rc = tl__input_open(&r->own, src, eb);
    return rc ? rc : reader_init(r, delim, eb);
}

void tl__reader_close(tl_reader_t *r) {
    if (r->in == &r->own) tl__input_close(&r->own);
    free(r->buf);
    tl_buf_fini(&r->unq);
    r->in = NULL;
    r->buf = NULL;
}

/* Moves the unread bytes to the front and reads more. Returns the number of
 * bytes added (0 at end of file) or a negative error. */
static ssize_t fill(tl_reader_t *r, tl_errbuf_t *eb) {
    if (r->eof) return 0;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->end -= r->pos;
        r->pos = 0;
    }
    ssize_t total = 0;
    while (r->end < r->cap) {
        ssize_t n = tl__input_read(r->in, r->buf + r->end, r->cap - r->end);
        if (n < 0) {
            if (errno == EINTR) continue;
            int rc = tl_err_from_errno(errno);
            tl_errbuf_set(eb, "%s: read error: %s", r->path, strerror(errno));
            return rc;
        }
        if (n == 0) {
            r->eof = 1;
            break;
        }
        r->end += (size_t)n;
        total += n;
        if (total >= (ssize_t)(r->cap / 4)) break;
    }
    return total;
}

/* Finds the end of the physical line starting at r->pos; sets *len to its
 * length without the newline and *adv to the bytes to consume. Returns 1,
 * 0 at end of file, or a negative error. A line longer than the record
 * limit is returned cut at the limit with r->err = TL_R_TOO_LONG, and the
 * rest of it is skipped. */
static int next_line(tl_reader_t *r, size_t *len, size_t *adv, tl_errbuf_t *eb) {
    for (;;) {
        const char *s = r->buf + r->pos;
        size_t avail = r->end - r->pos;
        if (!r->eol && avail) /* the first fill: up to 1 MiB, or the whole file */
            r->eol = memchr(s, '\n', avail) || !memchr(s, '\r', avail) ? '\n' : '\r';
        const char *nl = r->eol ? memchr(s, r->eol, avail) : NULL;
        if (nl && (size_t)(nl - s) <= TL_MAX_RECORD) {
            *len = (size_t)(nl - s);
            *adv = *len + 1;
            return 1;
        }
        if (nl) {
            /* A whole overlong line in the buffer: report it with its first
             * 64 KiB (valid until the next call), skip it. */
            r->err = TL_R_TOO_LONG;
            r->raw = s;
            r->rawlen = 65536;
            *len = 0;
            *adv = 0;
            r->pos += (size_t)(nl - s) + 1;
            r->bytes += (size_t)(nl - s) + 1;
            return 1;
        }
        if (avail > TL_MAX_RECORD) {
            /* Overlong line: report the first part, skip to the newline. */
            *len = TL_MAX_RECORD;
            r->err = TL_R_TOO_LONG;
            size_t skip = avail;
            for (;;) {
                r->pos += skip;
                r->bytes += skip;
                ssize_t got = fill(r, eb);
                if (got < 0) return (int)got;
                s = r->buf + r->pos;
                nl = memchr(s, r->eol, r->end - r->pos);
                if (nl || r->end == r->pos) break;
                skip = r->end - r->pos;
            }
            /* The record text is gone from the buffer; point raw at a note. */
            r->raw = "(line longer than 1 MiB; first bytes not kept)";
            r->rawlen = strlen(r->raw);
            size_t rest = nl ? (size_t)(nl - s) + 1 : r->end - r->pos;
            r->pos += rest;
            r->bytes += rest;
            *adv = 0;
            return 1;
        }
        if (r->eof) {
            if (avail == 0) return 0;
            *len = avail;
            *adv = avail;
            return 1;
        }
        ssize_t got = fill(r, eb);
        if (got < 0) return (int)got;
    }
}

static void strip_cr(tl_reader_t *r) {
    if (r->rawlen && r->raw[r->rawlen - 1] == '\r') r->rawlen--;
}

int tl__reader_line(tl_reader_t *r, tl_errbuf_t *eb) {
    for (;;) {
        size_t len, adv;
        r->err = -1;
        r->nf = 0;
        int rc = next_line(r, &len, &adv, eb);
        if (rc <= 0) return rc;
        r->line = r->next_line++;
        if (adv == 0) return 1; /* overlong, already consumed */
        r->raw = r->buf + r->pos;
        r->rawlen = len;
        r->pos += adv;
        r->bytes += adv;
        strip_cr(r);
        if (r->rawlen == 0) continue;
        return 1;
    }
}

static inline void add_field(tl_reader_t *r, int *nf, const char *p, size_t n) {
    if (*nf < TL_MAX_FIELDS) {
        r->f[*nf].p = p;
        r->f[*nf].n = n;
        (*nf)++;
    } else {
        r->too_many = 1;
    }
}

/* Splits a line without quotes, and notes whether it is clean: printable
 * ASCII only (no DEL), so validation may skip its UTF-8 and control-character
 * checks. SSE2 (present on every x86-64) looks at 16 bytes at a time; the
 * buffer has slack after its end, so a block may run past the line. */
static void split_plain(tl_reader_t *r) {
    const char *p = r->raw;
    size_t n = r->rawlen, start = 0;
    char d = r->delim[0];
    int nf = 0, dirty = 0;
    r->too_many = 0;
#if defined(__SSE2__)
    const __m128i vd = _mm_set1_epi8(d), v20 = _mm_set1_epi8(0x20), v7f = _mm_set1_epi8(0x7f);
    for (size_t i = 0; i < n; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(p + i));
        unsigned md = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, vd));
        /* below 0x20 (as signed bytes: also 0x80 and up) or DEL */
        unsigned mc = (unsigned)_mm_movemask_epi8(
                          _mm_or_si128(_mm_cmplt_epi8(b, v20), _mm_cmpeq_epi8(b, v7f))) & ~md;
        if (n - i < 16) {
            unsigned keep = (1u << (n - i)) - 1;
            md &= keep;
            mc &= keep;
        }
        dirty |= mc != 0;
        while (md) {
            size_t pos = i + (size_t)__builtin_ctz(md);
            md &= md - 1;
            if (r->dlen == 2) {
                /* Two-byte delimiters: a pair, consumed as one. */
                if (pos < start || pos + 1 >= n || p[pos + 1] != d) continue;
                if (pos + 1 - i < 16) md &= ~(1u << (pos + 1 - i));
            }
            add_field(r, &nf, p + start, pos - start);
            start = pos + (size_t)r->dlen;
        }
    }
#else
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == (unsigned char)d && (r->dlen == 1 || (i + 1 < n && p[i + 1] == d))) {
            add_field(r, &nf, p + start, i - start);
            i += (size_t)r->dlen - 1;
            start = i + 1;
        } else if (c < 0x20 || c >= 0x7f) {
            dirty = 1;
        }
    }
#endif
    add_field(r, &nf, p + start, n - start);
    r->nf = nf;
    r->clean = !dirty;
}

/* Parses a record with quotes starting at r->pos. Returns 1 when a full
 * record was parsed (r->raw/rawlen set, fields resolved), 0 when the quote
 * never closes within the limits, or a negative error. */
static int split_quoted(tl_reader_t *r, tl_errbuf_t *eb, uint64_t *lines) {
    typedef struct {
        size_t off, len;
        int quoted;
    } fld_t;
    static const size_t MAXF = TL_MAX_FIELDS;
    fld_t flds[TL_MAX_FIELDS];
    int nf = 0, too_many = 0;
    tl_buf_clear(&r->unq);
    size_t i = 0; /* offset from r->pos */
    size_t fstart = 0;
    int inq = 0, wasq = 0, ended_nl = 0;
    size_t ustart = 0;
    *lines = 0;
    char d = r->delim[0];
    for (;;) {
        if (r->pos + i >= r->end) {
            if (r->eof) {
                if (inq) return 0;
                break;
            }
            if (i > TL_MAX_RECORD) return 0;
            ssize_t got = fill(r, eb);
            if (got < 0) return (int)got;
            continue;
        }
        char c = r->buf[r->pos + i];
        if (inq) {
            if (c == '"') {
                if (r->pos + i + 1 >= r->end && !r->eof) {
                    ssize_t got = fill(r, eb);
                    if (got < 0) return (int)got;
                    continue;
                }
                if (r->pos + i + 1 < r->end && r->buf[r->pos + i + 1] == '"') {
                    if (tl_buf_append(&r->unq, "\"", 1)) return TL_ENOMEM;
                    i += 2;
                    continue;
                }
                inq = 0;
                i++;
                continue;
            }
            if (c == r->eol) (*lines)++;
            if (i > TL_MAX_RECORD) return 0;
            if (tl_buf_append(&r->unq, &c, 1)) return TL_ENOMEM;
            i++;
            continue;
        }
        int is_delim = c == d && (r->dlen == 1 || (r->pos + i + 1 < r->end &&
                                                   r->buf[r->pos + i + 1] == d));
        if (is_delim || c == r->eol) {
            size_t fend = i;
            if (c == '\n' && fend > fstart && r->buf[r->pos + fend - 1] == '\r') fend--;
            if ((size_t)nf < MAXF) {
                if (wasq) {
                    flds[nf].off = ustart;
                    flds[nf].len = r->unq.len - ustart;
                    flds[nf].quoted = 1;
                } else {
                    flds[nf].off = fstart;
                    flds[nf].len = fend - fstart;
                    flds[nf].quoted = 0;
                }
                nf++;
            } else {
                too_many = 1;
            }
            if (c == r->eol) {
                i++;
                ended_nl = 1;
                break;
            }
            i += (size_t)r->dlen;
            fstart = i;
            wasq = 0;
            continue;
        }
        if (c == '"' && i == fstart) {
            inq = 1;
            wasq = 1;
            ustart = r->unq.len;
            i++;
            continue;
        }
        if (wasq) {
            /* Text after a closing quote ("ab"c): keep it, as spreadsheets do. */
            if (c != '\r' && tl_buf_append(&r->unq, &c, 1)) return TL_ENOMEM;
        }
        i++;
    }
    /* The final field when the record ends at end of file without newline. */
    size_t reclen = i;
    if (!ended_nl) {
        size_t fend = i;
        if (fend > fstart && r->buf[r->pos + fend - 1] == '\r') fend--;
        if ((size_t)nf < MAXF) {
            flds[nf].off = wasq ? ustart : fstart;
            flds[nf].len = wasq ? r->unq.len - ustart : fend - fstart;
            flds[nf].quoted = wasq;
            nf++;
        } else {
            too_many = 1;
        }
    }
    r->raw = r->buf + r->pos;
    r->rawlen = reclen;
    if (r->rawlen && r->raw[r->rawlen - 1] == r->eol) r->rawlen--;
    strip_cr(r);
    for (int k = 0; k < nf; k++) {
        r->f[k].p = flds[k].quoted ? r->unq.data + flds[k].off : r->raw + flds[k].off;
        r->f[k].n = flds[k].len;
    }
    r->nf = nf;
    r->too_many = too_many;
    r->clean = 0;
    r->pos += reclen;
    r->bytes += reclen;
    return 1;
}

int tl__reader_csv(tl_reader_t *r, tl_errbuf_t *eb) {
    for (;;) {
        size_t len, adv;
        r->err = -1;
        r->nf = 0;
        r->too_many = 0;
        r->clean = 0;
        int rc = next_line(r, &len, &adv, eb);
        if (rc <= 0) return rc;
        if (adv == 0) {
            r->line = r->next_line++;
            return 1; /* overlong line, consumed; r->err says so */
        }
        const char *s = r->buf + r->pos;
        if (len == 0 || (len == 1 && s[0] == '\r')) {
            r->pos += adv;
            r->bytes += adv;
            r->next_line++;
            continue;
        }
        r->line = r->next_line;
        if (!r->quotes || !memchr(s, '"', len)) {
            r->raw = s;
            r->rawlen = len;
            r->pos += adv;
            r->bytes += adv;
            r->next_line++;
            strip_cr(r);
            split_plain(r);
            return 1;
        }
        uint64_t lines;
        rc = split_quoted(r, eb, &lines);
        if (rc < 0) return rc;
        if (rc == 1) {
            r->next_line += lines + 1;
            return 1;
        }
        /* The quote never closed: the first physical line is the bad record.
         * split_quoted may have refilled the buffer, so find the line again. */
        if ((rc = next_line(r, &len, &adv, eb)) <= 0) return rc < 0 ? rc : 0;
        r->raw = r->buf + r->pos;
        r->rawlen = len;
        r->pos += adv;
        r->bytes += adv;
        r->next_line++;
        strip_cr(r);
        r->err = TL_R_UNTERMINATED_QUOTE;
        return 1;
    }
}
