/* segment_tags.c -- tags from rule files: each rule writes a `tag_<name>`
 * category column into the profiles; the rules kept in the store are
 * applied after every profile build (tl_segment_profiles_build). */
#include "segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tags ------------------------------------------------------------------------ */

#define MAX_TAG_VALUES 16

typedef struct {
    char name[64];
    int categorical, nrules;
    char *value[MAX_TAG_VALUES]; /* category tags: the value of each rule */
    char *expr[MAX_TAG_VALUES];
    int line[MAX_TAG_VALUES], col[MAX_TAG_VALUES];
} tagdef_t;

static void tagdefs_free(tagdef_t *d, int n) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < d[i].nrules; k++) free(d[i].value[k]), free(d[i].expr[k]);
    free(d);
}

static int rule_error(tl_expr_err_t *err, int pos, const char *msg) {
    err->pos = pos;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return TL_EBADINPUT;
}

/* Parses one "tag NAME = ..." line into defs. */
static int parse_rule(const char *l, int lineno, tagdef_t **defs, int *ndefs, tl_expr_err_t *err) {
    const char *p = l;
    while (*p == ' ' || *p == '\t') p++;
    if (strncmp(p, "tag", 3) != 0 || (p[3] != ' ' && p[3] != '\t'))
        return rule_error(err, (int)(p - l), "a rule starts with 'tag NAME ='");
    p += 3;
    while (*p == ' ' || *p == '\t') p++;
    const char *name = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') p++;
    size_t nl = (size_t)(p - name);
    if (!nl || nl >= 64) return rule_error(err, (int)(name - l), "a tag name is 1-63 of a-z, 0-9, _");
    while (*p == ' ' || *p == '\t') p++;
    if (*p != '=') return rule_error(err, (int)(p - l), "expected '=' after the tag name");
    p++;
    while (*p == ' ' || *p == '\t') p++;
    char *value = NULL;
    const char *expr = p;
    if (*p == '"') { /* "VALUE" if EXPR */
        const char *v = p + 1, *e = strchr(v, '"');
        if (!e) return rule_error(err, (int)(p - l), "this value is never closed");
        const char *q = e + 1;
        while (*q == ' ' || *q == '\t') q++;
        if (strncmp(q, "if", 2) != 0 || (q[2] != ' ' && q[2] != '\t'))
            return rule_error(err, (int)(q - l), "a category tag reads: tag NAME = \"VALUE\" if CONDITION");
        value = strndup(v, (size_t)(e - v));
        expr = q + 3;
        if (!value) return TL_ENOMEM;
    }
    tagdef_t *d = NULL;
    for (int i = 0; i < *ndefs; i++)
        if (strlen((*defs)[i].name) == nl && strncmp((*defs)[i].name, name, nl) == 0) d = &(*defs)[i];
    if (!d) {
        tagdef_t *nd = realloc(*defs, (size_t)(*ndefs + 1) * sizeof *nd);
        if (!nd) {
            free(value);
            return TL_ENOMEM;
        }
        *defs = nd;
        d = &nd[(*ndefs)++];
        memset(d, 0, sizeof *d);
        memcpy(d->name, name, nl);
        d->categorical = value != NULL;
    } else if (!d->categorical || !value) {
        free(value);
        return rule_error(err, (int)(name - l), "a yes/no tag has one rule; a category tag has "
                                               "\"VALUE\" if CONDITION on each of its lines");
    }
    if (d->nrules == MAX_TAG_VALUES) {
        free(value);
        return rule_error(err, (int)(name - l), "a category tag has at most 16 values");
    }
    d->value[d->nrules] = value;
    d->expr[d->nrules] = strdup(expr);
    d->line[d->nrules] = lineno;
    d->col[d->nrules] = (int)(expr - l);
    d->nrules++;
    (void)lineno;
    return d->expr[d->nrules - 1] ? 0 : TL_ENOMEM;
}

int tl_tags_apply(tl_segtable_t *t, tl_profiles_t *p, const char *rules, tl_tag_summary_t *summary,
                  int cap, int *ntags, int *line, tl_expr_err_t *err) {
    tagdef_t *defs = NULL;
    int ndefs = 0, rc = 0;
    *line = 0;
    *ntags = 0;
    memset(err, 0, sizeof *err);
    /* parse every line first: a bad file changes nothing */
    const char *s = rules;
    for (int lineno = 1; !rc && *s; lineno++) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char *l = strndup(s, n);
        if (!l) {
            rc = TL_ENOMEM;
            break;
        }
        char *hash = strchr(l, '#');
        if (hash) *hash = 0;
        size_t k = strlen(l);
        while (k && (l[k - 1] == ' ' || l[k - 1] == '\t' || l[k - 1] == '\r')) l[--k] = 0;
        const char *q = l;
        while (*q == ' ' || *q == '\t') q++;
        if (*q) rc = parse_rule(l, lineno, &defs, &ndefs, err);
        if (rc) *line = lineno;
        free(l);
        s += n + (e ? 1 : 0);
    }
    uint32_t n = tl_profile_nusers(p);
    if (!rc) tl_profile_drop_columns(p, "tag_");
    uint8_t *mask = malloc(n ? n : 1);
    if (!rc && !mask) rc = TL_ENOMEM;
    for (int i = 0; !rc && i < ndefs; i++) {
        tagdef_t *d = &defs[i];
        uint32_t *col = malloc((n ? n : 1) * sizeof *col);
        tl_dict_t *labels = d->categorical ? tl_dict_new() : NULL;
        if (!col || (d->categorical && !labels)) {
            free(col);
            tl_dict_free(labels);
            rc = TL_ENOMEM;
            break;
        }
        for (uint32_t u = 0; u < n; u++) col[u] = d->categorical ? TL_NONE : 0;
        tl_tag_summary_t *sm = i < cap && summary ? &summary[i] : NULL;
        if (sm) {
            memset(sm, 0, sizeof *sm);
            snprintf(sm->name, sizeof sm->name, "%s", d->name);
            sm->categorical = d->categorical;
        }
        for (int r = 0; !rc && r < d->nrules; r++) {
            uint32_t size, code = 1, cnt = 0;
            if (d->categorical && tl_dict_intern(labels, d->value[r], strlen(d->value[r]), &code, NULL))
                rc = TL_ENOMEM;
            if (!rc) rc = tl_segment_eval(t, d->expr[r], mask, &size, err);
            if (rc) {
                *line = d->line[r];
                err->pos += d->col[r];
                break;
            }
            for (uint32_t u = 0; u < n; u++)
                if (mask[u] && (!d->categorical || col[u] == TL_NONE)) {
                    if (d->categorical) col[u] = code, cnt++;
                    else col[u] = 1, cnt++;
                }
            if (sm && d->categorical && r < 16) {
                snprintf(sm->values[sm->nvalues], sizeof sm->values[0], "%s", d->value[r]);
                sm->counts[sm->nvalues++] = cnt;
            } else if (sm) {
                sm->yes = cnt;
            }
        }
        char cname[80];
        snprintf(cname, sizeof cname, "tag_%s", d->name);
        if (rc) {
            free(col);
            tl_dict_free(labels);
        } else {
            rc = tl_profile_set_column(p, cname, d->categorical ? TL_COL_CAT : TL_COL_COUNT, col, labels);
        }
        if (!rc) (*ntags)++;
    }
    free(mask);
    tagdefs_free(defs, ndefs);
    return rc;
}

int tl_tags_apply_stored(tl_store_t *st, tl_profiles_t *p, tl_errbuf_t *eb) {
    char *rules = NULL;
    int rc = tl_store_config_get(st, "tag_rules", &rules, eb);
    if (rc == TL_ENOENT) return 0;
    if (rc) return rc;
    tl_segtable_t *t = NULL;
    int ntags = 0, line = 0;
    tl_expr_err_t err;
    rc = tl_segtable_new(p, st, &t);
    if (!rc) rc = tl_tags_apply(t, p, rules, NULL, 0, &ntags, &line, &err);
    tl_segtable_free(t);
    free(rules);
    if (rc == TL_EBADINPUT)
        tl_errbuf_set(eb, "%s: the stored tag rules no longer apply (line %d: %s); run `tailor tag "
                      "apply FILE` again", tl_store_dir(st), line, err.msg);
    else if (rc && !eb->msg[0])
        tl_errbuf_set(eb, "%s: applying the stored tag rules: %s", tl_store_dir(st), tl_strerror(rc));
    return rc;
}

int tl_tags_keep(tl_store_t *st, const char *rules, tl_tag_summary_t *summary, int cap, int *ntags,
                 int *line, tl_expr_err_t *err, char **rules_out, tl_errbuf_t *eb) {
    char *text = NULL;
    tl_profiles_t *p = NULL;
    tl_segtable_t *t = NULL;
    *ntags = *line = 0;
    memset(err, 0, sizeof *err);
    int rc = rules ? ((text = strdup(rules)) ? 0 : TL_ENOMEM) : tl_store_config_get(st, "tag_rules", &text, eb);
    if (rc == TL_ENOENT) {
        eb->msg[0] = 0;
        rc = (text = strdup("")) ? 0 : TL_ENOMEM;
    }
    if (!rc) rc = tl_profile_load(st, &p, eb);
    if (!rc) rc = tl_segtable_new(p, st, &t);
    if (!rc) rc = tl_tags_apply(t, p, text, summary, cap, ntags, line, err);
    if (!rc && rules) rc = tl_store_config_put(st, "tag_rules", text, eb);
    if (!rc && rules) rc = tl_profile_save(st, p, eb);
    if (rc == TL_ENOMEM && !eb->msg[0]) tl_errbuf_set(eb, "out of memory applying the tag rules");
    tl_segtable_free(t);
    tl_profile_free(p);
    if (rules_out) *rules_out = text;
    else free(text);
    return rc;
}

/* ---- building profiles ---------------------------------------------------------------- */

int tl_segment_profiles_derive(tl_store_t *st, tl_profiles_t *p, tl_errbuf_t *eb) {
    return tl_tags_apply_stored(st, p, eb);
}

int tl_segment_profiles_build(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                              tl_errbuf_t *eb) {
    tl_profiles_t *p = NULL;
    int rc = tl_profile_build(st, o, &p, eb);
    if (!rc) rc = tl_segment_profiles_derive(st, p, eb);
    if (rc) {
        tl_profile_free(p);
        return rc;
    }
    *out = p;
    return 0;
}
