/* ids.c -- an identifier as an entry of the store's user dictionary: the
 * value itself for the first kind (ids given without a kind, as ever),
 * KIND:VALUE for the others, and for the kinds that are personal data
 * KIND:#PSEUDONYM of the value made canonical, so a phone number or an
 * e-mail address never reaches the dictionary in clear. */
#include "identity.h"

#include <ctype.h>
#include <string.h>

/* The canonical form of a phone number: its digits after '+' and the
 * country code: the same number written with spaces, dashes or
 * parentheses, with "00" for '+', or (with a country) as a national
 * number is one identifier. Without a country, a number without '+' is
 * its digits. */
static int canonical_phone(const char *country, const char *v, size_t n, tl_buf_t *out) {
    tl_buf_t d;
    tl_buf_init(&d);
    int rc = 0, plus = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        char c = v[i];
        if (isdigit((unsigned char)c)) rc = tl_buf_append(&d, &c, 1);
        else if (c == '+' && d.len == 0 && !plus) plus = 1;
        else if (!strchr(" -().", c)) rc = TL_EBADINPUT;
    }
    const char *p = d.data ? d.data : "";
    size_t m = d.len;
    if (!rc && !plus && m > 2 && p[0] == '0' && p[1] == '0') plus = 1, p += 2, m -= 2;
    if (!rc && !plus && *country) { /* a national number: the trunk '0' gives way to the code */
        if (m && p[0] == '0') p++, m--;
        rc = tl_buf_append(out, "+", 1);
        if (!rc) rc = tl_buf_append(out, country, strlen(country));
    } else if (!rc && plus) {
        rc = tl_buf_append(out, "+", 1);
    }
    if (!rc && m < 2) rc = TL_EBADINPUT;
    if (!rc) rc = tl_buf_append(out, p, m);
    tl_buf_fini(&d);
    return rc;
}

/* The canonical form of a personal value: a phone's (canonical_phone), an
 * e-mail address trimmed and in lower case. Other kinds are taken as
 * given, trimmed. */
static int canonical(const tl_id_rules_t *r, const char *kind, const char *v, size_t n,
                     tl_buf_t *out) {
    while (n && isspace((unsigned char)*v)) v++, n--;
    while (n && isspace((unsigned char)v[n - 1])) n--;
    if (strcmp(kind, "phone") == 0) return canonical_phone(r->phone_country, v, n, out);
    for (size_t i = 0; i < n; i++) {
        char c = strcmp(kind, "email") == 0 ? (char)tolower((unsigned char)v[i]) : v[i];
        if (tl_buf_append(out, &c, 1)) return TL_ENOMEM;
    }
    return out->len ? 0 : TL_EBADINPUT;
}

int tl_id_key(tl_store_t *st, const tl_id_rules_t *r, int kind, const char *value, size_t n,
              tl_buf_t *out, tl_errbuf_t *eb) {
    if (kind < 0 || kind >= r->nkinds) {
        tl_errbuf_set(eb, "identifier kind %d of %d", kind, r->nkinds);
        return TL_EINVAL;
    }
    const tl_id_kind_t *k = &r->kinds[kind];
    tl_buf_t v;
    tl_buf_init(&v);
    int rc = canonical(r, k->name, value, n, &v);
    if (rc == TL_EBADINPUT) /* a personal value is not echoed */
        tl_errbuf_set(eb, "\"%.*s\" is not a %s identifier%s",
                      k->personal ? 10 : (int)(n > 64 ? 64 : n), k->personal ? "(withheld)" : value,
                      k->name,
                      strcmp(k->name, "phone") == 0 ? " (digits, with spaces, dashes, "
                                                      "parentheses or a leading '+')" : "");
    if (!rc && kind == 0 && tl_id_kind_of(r, v.data ? v.data : "", v.len) != 0) {
        tl_errbuf_set(eb, "\"%.*s\": an id without a kind cannot begin with a kind's name and "
                      "':'", (int)(v.len > 64 ? 64 : v.len), v.data);
        rc = TL_EBADINPUT;
    }
    if (!rc && kind == 0) {
        rc = tl_buf_append(out, v.data, v.len);
    } else if (!rc && k->personal) {
        char ps[33];
        rc = tl_store_pseudonym(st, v.data, v.len, ps, eb);
        if (!rc) rc = tl_buf_printf(out, "%s:#%s", k->name, ps);
    } else if (!rc) {
        rc = tl_buf_printf(out, "%s:", k->name);
        if (!rc) rc = tl_buf_append(out, v.data, v.len);
    }
    tl_buf_fini(&v);
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory keying an identifier");
    return rc;
}

int tl_id_parse(const tl_id_rules_t *r, int dflt, const char **v, size_t *n) {
    const char *colon = memchr(*v, ':', *n);
    if (colon) {
        size_t kl = (size_t)(colon - *v);
        int k = tl_id_kind_of(r, *v, *n);
        if (k == 0 && (strlen(r->kinds[0].name) != kl || memcmp(r->kinds[0].name, *v, kl) != 0))
            k = -1; /* a ':' inside a member id */
        if (k >= 0) {
            *n -= kl + 1;
            *v = colon + 1;
            return k;
        }
    }
    return dflt;
}

int tl_id_key_written(tl_store_t *st, const tl_id_rules_t *r, int dflt, const char *v, size_t n,
                      tl_buf_t *out, tl_errbuf_t *eb) {
    int kind = tl_id_parse(r, dflt, &v, &n);
    if (kind >= 0) return tl_id_key(st, r, kind, v, n, out, eb);
    if (!n) {
        tl_errbuf_set(eb, "an empty identifier");
        return TL_EBADINPUT;
    }
    return tl_buf_append(out, v, n);
}

int tl_id_kind_of(const tl_id_rules_t *r, const char *key, size_t n) {
    const char *colon = memchr(key, ':', n);
    if (!colon) return 0;
    size_t kl = (size_t)(colon - key);
    for (int k = 1; k < r->nkinds; k++)
        if (strlen(r->kinds[k].name) == kl && memcmp(r->kinds[k].name, key, kl) == 0) return k;
    return 0;
}
