/* truth.c -- how a store's persons agree with a truth: a CSV of
 * identifiers as written with the true person of each (what the
 * generator writes as identities.truth), read from the caller's text.
 *
 * The measure is pairwise: of the pairs of identifiers the resolution puts
 * in one person, the share the truth does too (precision), and of those
 * the truth puts in one person, the share the resolution does (recall),
 * over the identifiers both know. Pairs are counted per group from a
 * contingency of (resolved person, true person) counts, c(c-1)/2 each, so
 * the cost is a sort of the identifiers, never a walk over pairs. Every
 * person is also checked against the rules (none may break one: the
 * resolution refuses such links). */
#include "identity_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One CSV field (RFC 4180 quotes undone) from *p into f, *p moved past it
 * and its separator: ',' when another field follows, '\n' at the end of a
 * line or of the text, TL_EBADINPUT for a quote left open or text after a
 * closing quote, TL_ENOMEM. */
static int field(const char **p, const char *end, tl_buf_t *f) {
    const char *s = *p;
    int rc = 0;
    tl_buf_clear(f);
    if (s < end && *s == '"') {
        for (s++;; s++) {
            if (s >= end) return TL_EBADINPUT;
            if (*s == '"' && (s + 1 >= end || s[1] != '"')) break;
            if (*s == '"') s++;
            if ((rc = tl_buf_append(f, s, 1))) return rc;
        }
        s++;
    } else {
        const char *e = s;
        while (e < end && *e != ',' && *e != '\n' && *e != '\r') e++;
        if ((rc = tl_buf_append(f, s, (size_t)(e - s)))) return rc;
        s = e;
    }
    if (s < end && *s == ',') {
        *p = s + 1;
        return ',';
    }
    if (s < end && *s == '\r') s++;
    if (s < end && *s != '\n') return TL_EBADINPUT;
    *p = s < end ? s + 1 : s;
    return '\n';
}

static uint64_t pairs(uint64_t c) { return c ? c * (c - 1) / 2 : 0; }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The persons of id holding more identifiers than the rules allow. */
static uint64_t over_limit(const tl_id_rules_t *r, const tl_identity_t *id, tl_dict_t *d,
                           uint32_t nids) {
    const uint32_t *canon = tl_identity_map(id);
    uint64_t over = 0;
    for (uint32_t p = 0; p < nids; p++) {
        if (canon[p] != p) continue;
        tl__id_counts_t c = {{0}, 0};
        tl__id_count(r, d, id, p, &c);
        over += tl__id_breaks(r, &c, NULL, 0);
    }
    return over;
}

/* The rows of the truth: for each identifier the store holds, the index
 * of its true person in *seen (TL_NONE for the others); persons interned
 * in tp. */
static int read_truth(tl_store_t *st, const tl_id_rules_t *r, tl_dict_t *d, const char *text,
                      size_t len, const char *name, uint32_t *seen, tl_dict_t *tp,
                      tl_id_eval_t *out, tl_errbuf_t *eb) {
    const char *p = text, *end = text + len;
    tl_buf_t f, key, idf, pf; /* a field, its key, the identifier and person fields */
    tl_buf_init(&f);
    tl_buf_init(&key);
    tl_buf_init(&idf);
    tl_buf_init(&pf);
    int col_id = -1, col_person = -1, ncols = 0, rc = 0, sep = ',';
    uint64_t line = 1;
    for (int c = 0; sep == ',' && rc >= 0; c++) {
        if ((sep = rc = field(&p, end, &f)) < 0) break;
        if (f.len == 10 && memcmp(f.data, "identifier", 10) == 0) col_id = c;
        if (f.len == 6 && memcmp(f.data, "person", 6) == 0) col_person = c;
        ncols++;
    }
    if (rc == TL_EBADINPUT)
        tl_errbuf_set(eb, "%s:1: a quoted field not closed, or text after its closing quote", name);
    if (rc >= 0 && (col_id < 0 || col_person < 0)) {
        tl_errbuf_set(eb, "%s:1: a truth's header names the columns identifier and person", name);
        rc = TL_EBADINPUT;
    }
    rc = rc < 0 ? rc : 0;
    while (!rc && p < end) {
        line++;
        if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
            p += *p == '\r' ? 2 : 1;
            continue;
        }
        uint32_t c = 0;
        int has_id = 0, has_person = 0;
        for (sep = ','; sep == ',' && !rc; c++) {
            if ((sep = field(&p, end, &f)) < 0) {
                rc = sep;
                break;
            }
            if ((int)c == col_id) {
                tl_buf_clear(&idf);
                rc = tl_buf_append(&idf, f.data, f.len);
                has_id = 1;
            }
            if ((int)c == col_person && f.len) {
                tl_buf_clear(&pf);
                rc = tl_buf_append(&pf, f.data, f.len);
                has_person = 1;
            }
        }
        if (rc == TL_EBADINPUT)
            tl_errbuf_set(eb, "%s:%llu: a quoted field not closed, or text after its closing quote",
                          name, (unsigned long long)line);
        if (!rc && (!has_id || !has_person || c != (uint32_t)ncols)) {
            tl_errbuf_set(eb, "%s:%llu: a row of %d fields with an identifier and a person was "
                          "expected", name, (unsigned long long)line, ncols);
            rc = TL_EBADINPUT;
        }
        tl_buf_clear(&key);
        if (!rc && (rc = tl_id_key_written(st, r, -1, idf.data ? idf.data : "", idf.len, &key,
                                           eb))) {
            tl_errbuf_t why = *eb;
            tl_errbuf_set(eb, "%s:%llu: %s", name, (unsigned long long)line, why.msg);
        }
        if (rc) break;
        out->rows++;
        uint32_t u = tl_dict_find(d, key.data, key.len);
        if (u == TL_NONE) {
            out->missing++;
        } else if (seen[u] == TL_NONE) {
            rc = tl_dict_intern(tp, pf.data, pf.len, &seen[u], NULL);
            out->compared++;
        } else if (seen[u] == tl_dict_find(tp, pf.data, pf.len)) {
            out->repeated++;
        } else {
            tl_errbuf_set(eb, "%s:%llu: an identifier given another person on an earlier line",
                          name, (unsigned long long)line);
            rc = TL_EBADINPUT;
        }
    }
    tl_buf_fini(&f);
    tl_buf_fini(&key);
    tl_buf_fini(&idf);
    tl_buf_fini(&pf);
    return rc;
}

int tl_identity_evaluate(tl_store_t *st, const tl_id_rules_t *r, const char *truth, size_t len,
                         const char *name, tl_id_eval_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    tl_identity_t *id = NULL;
    int rc = tl_identity_load(st, r, &id, eb);
    tl_dict_t *d = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
    if (!rc && !d) rc = TL_ENOMEM;
    if (rc) {
        tl_identity_free(id);
        return rc;
    }
    tl_identity_stats(id, &out->resolution);
    uint32_t n = tl_dict_count(d), nids = out->resolution.identifiers;
    tl_dict_t *tp = tl_dict_new();
    uint32_t *seen = malloc((n ? n : 1) * sizeof *seen), *cnt_p = calloc(n ? n : 1, sizeof *cnt_p);
    uint32_t *cnt_t = NULL;
    uint64_t *cell = NULL;
    if (!tp || !seen || !cnt_p) rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < n; u++) seen[u] = TL_NONE;
    if (!rc) rc = read_truth(st, r, d, truth, len, name, seen, tp, out, eb);
    if (!rc) {
        cnt_t = calloc(tl_dict_count(tp) + 1, sizeof *cnt_t);
        cell = malloc((out->compared + 1) * sizeof *cell);
        if (!cnt_t || !cell) rc = TL_ENOMEM;
    }
    if (!rc) {
        /* the contingency: one (person, true person) key per identifier,
         * sorted so that equal cells are runs */
        size_t k = 0;
        for (uint32_t u = 0; u < n; u++) {
            if (seen[u] == TL_NONE) continue;
            uint32_t p = tl_identity_person(id, u);
            out->persons += cnt_p[p]++ == 0;
            cnt_t[seen[u]]++;
            cell[k++] = (uint64_t)p << 32 | seen[u];
        }
        out->true_persons = tl_dict_count(tp);
        qsort(cell, k, sizeof *cell, cmp_u64);
        for (size_t i = 0, j; i < k; i = j) {
            for (j = i + 1; j < k && cell[j] == cell[i];) j++;
            out->pairs_both += pairs(j - i);
        }
        for (uint32_t p = 0; p < n; p++) out->pairs_resolved += pairs(cnt_p[p]);
        for (uint32_t t = 0; t < out->true_persons; t++) out->pairs_true += pairs(cnt_t[t]);
        double both = (double)out->pairs_both;
        out->precision = out->pairs_resolved ? both / (double)out->pairs_resolved : 1;
        out->recall = out->pairs_true ? both / (double)out->pairs_true : 1;
        out->over_limit = over_limit(r, id, d, nids < n ? nids : n);
    }
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory comparing with %s", name);
    free(seen), free(cnt_p), free(cnt_t), free(cell);
    tl_dict_free(tp);
    tl_identity_free(id);
    return rc;
}
