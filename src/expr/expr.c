/* expr.c -- lexer, recursive-descent parser, type checker and block-wise
 * evaluator of the expression language (grammar in expr.h).
 *
 * The parser builds a tree whose nodes each own a buffer of one block of
 * values (BLOCK rows); evaluation walks the tree once per block, so a
 * three-clause segment over a million users touches each input column once
 * and keeps its temporaries in cache. Category comparisons are resolved to
 * integer codes at compile time. */
#include "expr.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 4096
#define MAX_ARGS 4
/* Limits on what one expression may ask for: the parser recurses once per
 * level of nesting (parentheses, arguments, prefix operators), and every
 * node owns a block of values (about 36 KiB), so a long text must not be
 * able to exhaust the stack or the memory of a server. */
#define MAX_DEPTH 128
#define MAX_NODES 2000
#define MAX_DAYS 36500 /* the longest window of count() */

typedef enum {
    N_COL, N_NUM, N_STR, N_BOOL, N_NULL, N_NEG, N_ARITH, N_CMP, N_IN, N_ISNULL, N_AND, N_OR,
    N_NOT, N_FUNC
} ntype_t;

enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum { F_ABS, F_MIN, F_MAX, F_LOG, F_COALESCE };

typedef struct node node_t;
struct node {
    ntype_t kind;
    tl_expr_type_t type;
    int pos, op, negate, nkids;
    node_t *kid[MAX_ARGS];
    tl_expr_col_t col;   /* N_COL */
    double num;          /* N_NUM, N_BOOL */
    char *str;           /* N_STR */
    double *set;         /* N_IN over numbers, sorted */
    uint8_t *codes;      /* N_IN over a category: codes[c] = 1 if c is in the set */
    uint32_t nset, ncodes;
    uint32_t code;       /* N_CMP of a category with a string */
    /* one block of results */
    double *vn;
    uint8_t *vb;
    uint32_t *vc;
};

struct tl_expr {
    node_t *root;
    uint32_t nrows;
};

/* ---- lexer ------------------------------------------------------------------- */

typedef enum { T_END, T_NUM, T_STR, T_NAME, T_OP, T_LP, T_RP, T_COMMA } ttype_t;

typedef struct {
    const char *src;
    size_t pos;
    ttype_t t;
    size_t tpos, tlen;
    double num;
    int days; /* the number had a "d" suffix */
    char buf[512];
    const tl_expr_table_t *table;
    tl_expr_err_t *err;
    int failed;
    int depth, nodes;
} parser_t;

static void perr(parser_t *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void perr(parser_t *p, size_t pos, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = 1;
    p->err->pos = (int)pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
}

static void next(parser_t *p) {
    const char *s = p->src;
    while (isspace((unsigned char)s[p->pos])) p->pos++;
    p->tpos = p->pos;
    char c = s[p->pos];
    p->days = 0;
    if (!c) {
        p->t = T_END;
        p->tlen = 0;
        return;
    }
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)s[p->pos + 1]))) {
        char *end;
        p->num = strtod(s + p->pos, &end);
        p->pos = (size_t)(end - s);
        if (s[p->pos] == 'd' && !isalnum((unsigned char)s[p->pos + 1]) && s[p->pos + 1] != '_')
            p->days = 1, p->pos++;
        p->t = T_NUM;
    } else if (c == '"' || c == '\'') {
        size_t i = p->pos + 1, k = 0;
        while (s[i] && s[i] != c) {
            if (s[i] == '\\' && s[i + 1]) i++;
            if (k + 1 < sizeof p->buf) p->buf[k++] = s[i];
            i++;
        }
        if (!s[i]) {
            perr(p, p->pos, "this string is never closed: add a %c", c);
            p->t = T_END;
            return;
        }
        p->buf[k] = 0;
        p->pos = i + 1;
        p->t = T_STR;
    } else if (isalpha((unsigned char)c) || c == '_') {
        size_t i = p->pos, k = 0;
        while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.') {
            if (k + 1 < sizeof p->buf) p->buf[k++] = (char)tolower((unsigned char)s[i]);
            i++;
        }
        p->buf[k] = 0;
        p->pos = i;
        p->t = T_NAME;
    } else if (c == '(') {
        p->t = T_LP, p->pos++;
    } else if (c == ')') {
        p->t = T_RP, p->pos++;
    } else if (c == ',') {
        p->t = T_COMMA, p->pos++;
    } else {
        static const char *const ops[] = {"==", "!=", "<>", "<=", ">=", "=", "<", ">",
                                          "+",  "-",  "*",  "/",  "%"};
        p->t = T_END;
        for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
            size_t n = strlen(ops[i]);
            if (strncmp(s + p->pos, ops[i], n) == 0) {
                memcpy(p->buf, ops[i], n + 1);
                p->pos += n;
                p->t = T_OP;
                break;
            }
        }
        if (p->t == T_END) perr(p, p->pos, "unexpected character '%c'", c);
    }
    p->tlen = p->pos - p->tpos;
}

static int is_word(const parser_t *p, const char *w) { return p->t == T_NAME && strcmp(p->buf, w) == 0; }
static int is_op(const parser_t *p, const char *o) { return p->t == T_OP && strcmp(p->buf, o) == 0; }

static const char *tok_desc(const parser_t *p) {
    switch (p->t) {
    case T_END: return "the end of the expression";
    case T_NUM: return "a number";
    case T_STR: return "a string";
    case T_NAME: return "a name";
    case T_OP: return "an operator";
    case T_LP: return "'('";
    case T_RP: return "')'";
    default: return "','";
    }
}

/* ---- nodes ------------------------------------------------------------------- */

static node_t *mk(parser_t *p, ntype_t k, tl_expr_type_t t, size_t pos) {
    if (++p->nodes > MAX_NODES) {
        perr(p, pos, "the expression is too long: at most %d values and operators", MAX_NODES);
        return NULL;
    }
    node_t *n = calloc(1, sizeof *n);
    if (!n) {
        perr(p, pos, "out of memory");
        return NULL;
    }
    n->kind = k;
    n->type = t;
    n->pos = (int)pos;
    return n;
}

static void node_free(node_t *n) {
    if (!n) return;
    for (int i = 0; i < n->nkids; i++) node_free(n->kid[i]);
    free(n->str);
    free(n->set);
    free(n->codes);
    free(n->vn);
    free(n->vb);
    free(n->vc);
    free(n);
}

static node_t *add_kid(node_t *n, node_t *k) {
    n->kid[n->nkids++] = k;
    return n;
}

static const char *type_name(tl_expr_type_t t) {
    return t == TL_EXPR_NUM ? "a number" : t == TL_EXPR_BOOL ? "a condition" : "a category";
}

static node_t *parse_or(parser_t *p);

static node_t *want_type(parser_t *p, node_t *n, tl_expr_type_t t, const char *where) {
    if (!n) return NULL;
    if (n->kind == N_NULL) return n;
    if (n->type == t || (t == TL_EXPR_NUM && n->type == TL_EXPR_BOOL)) return n;
    perr(p, (size_t)n->pos, "%s needs %s here, not %s", where, type_name(t), type_name(n->type));
    node_free(n);
    return NULL;
}

static node_t *column(parser_t *p, const char *name, size_t pos) {
    tl_expr_col_t c;
    if (!p->table->lookup || p->table->lookup(p->table->ctx, name, &c) != 0) {
        perr(p, pos, "no column \"%s\" (see `tailor profile show USER` for the names)", name);
        return NULL;
    }
    node_t *n = mk(p, N_COL, c.type, pos);
    if (n) n->col = c;
    return n;
}

static node_t *call(parser_t *p, const char *fname, size_t pos) {
    next(p); /* '(' */
    node_t *args[MAX_ARGS] = {0};
    int nargs = 0;
    char sarg[2][sizeof p->buf] = {"", ""};
    size_t argpos[MAX_ARGS] = {0};
    double days = NAN;
    int string_fn = strcmp(fname, "affinity") == 0 || strcmp(fname, "has_tag") == 0;
    int count_fn = strcmp(fname, "count") == 0;
    while (!p->failed && p->t != T_RP) {
        if (nargs == MAX_ARGS) {
            perr(p, p->tpos, "too many arguments to %s()", fname);
            break;
        }
        argpos[nargs] = p->tpos;
        if ((string_fn || (count_fn && nargs == 0)) && (p->t == T_STR || p->t == T_NAME)) {
            snprintf(sarg[nargs < 2 ? nargs : 1], sizeof sarg[0], "%s", p->buf);
            nargs++;
            next(p);
        } else if (count_fn && nargs == 1 && p->t == T_NUM) {
            days = p->num;
            nargs++;
            next(p);
        } else {
            args[nargs++] = parse_or(p);
        }
        if (p->t == T_COMMA) next(p);
        else if (p->t != T_RP && !p->failed)
            perr(p, p->tpos, "expected ',' or ')' in the arguments of %s(), found %s", fname,
                 tok_desc(p));
    }
    node_t *n = NULL;
    if (!p->failed) next(p); /* ')' */
    if (p->failed) goto done;
    if (string_fn) {
        if (nargs != 1 || !sarg[0][0]) {
            perr(p, pos, "%s() takes one name in quotes, e.g. %s(\"%s\")", fname, fname,
                 strcmp(fname, "affinity") == 0 ? "electronics" : "careful_buyer");
            goto done;
        }
        char col[sizeof sarg[0] + 16];
        snprintf(col, sizeof col, "%s_%s", strcmp(fname, "affinity") == 0 ? "affinity" : "tag",
                 sarg[0]);
        n = column(p, col, argpos[0]);
        if (!n && strcmp(fname, "affinity") == 0) {
            p->err->msg[0] = 0, p->failed = 0;
            perr(p, argpos[0], "no category \"%s\" in the catalogue", sarg[0]);
        } else if (!n) {
            p->err->msg[0] = 0, p->failed = 0;
            perr(p, argpos[0], "no tag \"%s\" (tags come from `tailor tag apply`)", sarg[0]);
        }
        goto done;
    }
    if (count_fn) {
        if (nargs != 2 || isnan(days) || !sarg[0][0]) {
            perr(p, pos, "count() takes an event type and a window, e.g. count(purchase, 30d)");
            goto done;
        }
        if (!(days <= MAX_DAYS)) { /* tables turn the window into milliseconds */
            perr(p, argpos[1], "count(): the window is at most %d days", MAX_DAYS);
            goto done;
        }
        tl_expr_col_t c;
        int rc = p->table->count ? p->table->count(p->table->ctx, sarg[0], days, &c) : TL_ENOENT;
        if (rc == TL_ENOENT) {
            perr(p, argpos[0], "no event type \"%s\"", sarg[0]);
            goto done;
        }
        if (rc) {
            perr(p, pos, "count(%s, %gd): %s", sarg[0], days, tl_strerror(rc));
            goto done;
        }
        if ((n = mk(p, N_COL, c.type, pos))) n->col = c;
        goto done;
    }
    static const struct {
        const char *name;
        int f, nargs;
    } fns[] = {{"abs", F_ABS, 1}, {"min", F_MIN, 2}, {"max", F_MAX, 2}, {"log", F_LOG, 1},
               {"coalesce", F_COALESCE, 2}};
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        if (strcmp(fname, fns[i].name) != 0) continue;
        if (nargs != fns[i].nargs) {
            perr(p, pos, "%s() takes %d argument%s", fname, fns[i].nargs, fns[i].nargs > 1 ? "s" : "");
            goto done;
        }
        n = mk(p, N_FUNC, TL_EXPR_NUM, pos);
        if (!n) goto done;
        n->op = fns[i].f;
        for (int k = 0; k < nargs; k++) {
            add_kid(n, want_type(p, args[k], TL_EXPR_NUM, fname));
            args[k] = NULL;
        }
        if (p->failed) node_free(n), n = NULL;
        goto done;
    }
    perr(p, pos, "no function %s() (there are affinity, has_tag, count, abs, min, max, log, "
         "coalesce)", fname);
done:
    for (int k = 0; k < MAX_ARGS; k++) node_free(args[k]);
    return p->failed ? (node_free(n), NULL) : n;
}

static node_t *parse_atom(parser_t *p) {
    size_t pos = p->tpos;
    node_t *n = NULL;
    if (p->t == T_NUM) {
        if (p->days) {
            perr(p, pos, "a day count such as 30d belongs inside count()");
            return NULL;
        }
        if ((n = mk(p, N_NUM, TL_EXPR_NUM, pos))) n->num = p->num;
        next(p);
    } else if (p->t == T_STR) {
        if ((n = mk(p, N_STR, TL_EXPR_CAT, pos)) && !(n->str = strdup(p->buf))) {
            node_free(n);
            perr(p, pos, "out of memory");
            return NULL;
        }
        next(p);
    } else if (p->t == T_LP) {
        next(p);
        n = parse_or(p);
        if (!p->failed && p->t != T_RP) perr(p, p->tpos, "expected ')', found %s", tok_desc(p));
        if (!p->failed) next(p);
    } else if (p->t == T_NAME && (is_word(p, "and") || is_word(p, "or") || is_word(p, "in") ||
                                  is_word(p, "is") || is_word(p, "not"))) {
        perr(p, pos, "expected a value (a number, a string, a column or '('), found '%s'", p->buf);
    } else if (p->t == T_NAME) {
        char name[512];
        snprintf(name, sizeof name, "%s", p->buf);
        next(p);
        if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0) {
            if ((n = mk(p, N_BOOL, TL_EXPR_BOOL, pos))) n->num = name[0] == 't';
        } else if (strcmp(name, "null") == 0) {
            n = mk(p, N_NULL, TL_EXPR_NUM, pos);
        } else if (p->t == T_LP) {
            n = call(p, name, pos);
        } else {
            n = column(p, name, pos);
        }
    } else {
        perr(p, pos, "expected a value (a number, a string, a column or '('), found %s", tok_desc(p));
    }
    if (p->failed) node_free(n), n = NULL;
    return n;
}

/* One level deeper into the expression: 0 (with the error) past MAX_DEPTH.
 * The caller goes back up (p->depth--) when it returns. */
static int deeper(parser_t *p, size_t pos) {
    if (p->depth < MAX_DEPTH) return ++p->depth;
    perr(p, pos, "the expression nests more than %d levels deep", MAX_DEPTH);
    return 0;
}

/* A prefix operator (the current token) applied to what sub parses. */
static node_t *prefix(parser_t *p, node_t *(*sub)(parser_t *), ntype_t kind, tl_expr_type_t t,
                      const char *what) {
    size_t pos = p->tpos;
    if (!deeper(p, pos)) return NULL;
    next(p);
    node_t *k = want_type(p, sub(p), t, what);
    p->depth--;
    if (!k) return NULL;
    node_t *n = mk(p, kind, t, pos);
    return n ? add_kid(n, k) : (node_free(k), NULL);
}

static node_t *parse_unary(parser_t *p) {
    return is_op(p, "-") ? prefix(p, parse_unary, N_NEG, TL_EXPR_NUM, "'-'") : parse_atom(p);
}

static node_t *binary(parser_t *p, node_t *a, node_t *b, ntype_t kind, tl_expr_type_t t, int op,
                      size_t pos) {
    if (!a || !b) {
        node_free(a);
        node_free(b);
        return NULL;
    }
    node_t *n = mk(p, kind, t, pos);
    if (!n) {
        node_free(a);
        node_free(b);
        return NULL;
    }
    n->op = op;
    add_kid(n, a);
    return add_kid(n, b);
}

static node_t *parse_prod(parser_t *p) {
    node_t *n = parse_unary(p);
    while (n && (is_op(p, "*") || is_op(p, "/") || is_op(p, "%"))) {
        int op = p->buf[0];
        size_t pos = p->tpos;
        next(p);
        n = want_type(p, n, TL_EXPR_NUM, "arithmetic");
        node_t *b = want_type(p, parse_unary(p), TL_EXPR_NUM, "arithmetic");
        n = binary(p, n, b, N_ARITH, TL_EXPR_NUM, op, pos);
    }
    return n;
}

static node_t *parse_sum(parser_t *p) {
    node_t *n = parse_prod(p);
    while (n && (is_op(p, "+") || is_op(p, "-"))) {
        int op = p->buf[0];
        size_t pos = p->tpos;
        next(p);
        n = want_type(p, n, TL_EXPR_NUM, "arithmetic");
        node_t *b = want_type(p, parse_prod(p), TL_EXPR_NUM, "arithmetic");
        n = binary(p, n, b, N_ARITH, TL_EXPR_NUM, op, pos);
    }
    return n;
}

static int cat_code(const node_t *catcol, const char *label) {
    const tl_dict_t *d = catcol->col.labels;
    uint32_t c = d ? tl_dict_find(d, label, strlen(label)) : TL_NONE;
    return c == TL_NONE ? -1 : (int)c;
}

static node_t *parse_cmp(parser_t *p) {
    node_t *a = parse_sum(p);
    if (!a) return NULL;
    size_t pos = p->tpos;
    static const struct {
        const char *s;
        int op;
    } ops[] = {{"==", OP_EQ}, {"=", OP_EQ}, {"!=", OP_NE}, {"<>", OP_NE}, {"<", OP_LT},
               {"<=", OP_LE}, {">", OP_GT}, {">=", OP_GE}};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        if (!is_op(p, ops[i].s)) continue;
        int op = ops[i].op;
        next(p);
        node_t *b = parse_sum(p);
        if (!b) {
            node_free(a);
            return NULL;
        }
        if (a->type == TL_EXPR_CAT || b->type == TL_EXPR_CAT) {
            /* a category column against a string, in either order */
            node_t *col = a->kind == N_COL ? a : b, *str = a->kind == N_STR ? a : b;
            if (col->kind == N_COL && col->type != TL_EXPR_CAT && str->kind == N_STR) {
                /* a string against a number or a condition: no codes to compare */
                perr(p, (size_t)str->pos, "a comparison needs %s here, not a string",
                     type_name(col->type));
                node_free(a);
                node_free(b);
                return NULL;
            }
            if (col->kind != N_COL || str->kind != N_STR || (op != OP_EQ && op != OP_NE)) {
                perr(p, pos, "a category compares with == or != to a string, e.g. city == \"Shanghai\"");
                node_free(a);
                node_free(b);
                return NULL;
            }
            node_t *n = binary(p, a, b, N_CMP, TL_EXPR_BOOL, op, pos);
            if (n) {
                int c = cat_code(col, str->str);
                n->code = c < 0 ? TL_NONE - 1 : (uint32_t)c; /* a label nobody has */
                n->negate = a->kind == N_STR; /* the column is the second operand */
            }
            return n;
        }
        a = want_type(p, a, TL_EXPR_NUM, "a comparison");
        b = want_type(p, b, TL_EXPR_NUM, "a comparison");
        return binary(p, a, b, N_CMP, TL_EXPR_BOOL, op, pos);
    }
    int neg = 0;
    if (is_word(p, "not")) { /* only "x not in (...)" has 'not' here */
        size_t at = p->tpos;
        next(p);
        if (!is_word(p, "in")) {
            perr(p, at, "expected 'in' after 'not' here");
            node_free(a);
            return NULL;
        }
        neg = 1;
    }
    if (is_word(p, "in")) {
        next(p);
        if (p->t != T_LP) {
            perr(p, p->tpos, "expected '(' after 'in', found %s", tok_desc(p));
            node_free(a);
            return NULL;
        }
        node_t *n = mk(p, N_IN, TL_EXPR_BOOL, pos);
        if (!n) {
            node_free(a);
            return NULL;
        }
        add_kid(n, a);
        n->negate = neg;
        int cat = a->type == TL_EXPR_CAT;
        if (cat && a->kind != N_COL) {
            perr(p, (size_t)a->pos, "'in' needs a column on its left");
            node_free(n);
            return NULL;
        }
        if (cat) {
            n->ncodes = a->col.labels ? tl_dict_count(a->col.labels) : 0;
            n->codes = calloc(n->ncodes + 1, 1);
        }
        do {
            next(p);
            if (cat && p->t == T_STR) {
                int c = cat_code(a, p->buf);
                if (c >= 0 && n->codes) n->codes[c] = 1;
            } else if (!cat && p->t == T_NUM && !p->days) {
                double *ns = realloc(n->set, (n->nset + 1) * sizeof *ns);
                if (!ns) break;
                n->set = ns;
                n->set[n->nset++] = p->num;
            } else {
                perr(p, p->tpos, "expected %s in the list, found %s",
                     cat ? "a string" : "a number", tok_desc(p));
                break;
            }
            next(p);
        } while (p->t == T_COMMA);
        if (!p->failed && p->t != T_RP) perr(p, p->tpos, "expected ',' or ')' in the list, found %s", tok_desc(p));
        if (p->failed || (cat && !n->codes)) {
            if (!p->failed) perr(p, pos, "out of memory");
            node_free(n);
            return NULL;
        }
        next(p);
        return n;
    }
    if (is_word(p, "is")) {
        if (a->kind == N_STR) { /* a string has no per-row values to test */
            perr(p, (size_t)a->pos, "'is null' needs a column or a value on its left, not a string");
            node_free(a);
            return NULL;
        }
        next(p);
        int negate = 0;
        if (is_word(p, "not")) negate = 1, next(p);
        if (!is_word(p, "null")) {
            perr(p, p->tpos, "expected 'null' after 'is', found %s", tok_desc(p));
            node_free(a);
            return NULL;
        }
        next(p);
        node_t *n = mk(p, N_ISNULL, TL_EXPR_BOOL, pos);
        if (!n) {
            node_free(a);
            return NULL;
        }
        n->negate = negate;
        return add_kid(n, a);
    }
    return a;
}

static node_t *parse_not(parser_t *p) {
    return is_word(p, "not") ? prefix(p, parse_not, N_NOT, TL_EXPR_BOOL, "'not'") : parse_cmp(p);
}

static node_t *parse_and(parser_t *p) {
    node_t *n = parse_not(p);
    while (n && is_word(p, "and")) {
        size_t pos = p->tpos;
        next(p);
        n = want_type(p, n, TL_EXPR_BOOL, "'and'");
        node_t *b = want_type(p, parse_not(p), TL_EXPR_BOOL, "'and'");
        n = binary(p, n, b, N_AND, TL_EXPR_BOOL, 0, pos);
    }
    return n;
}

static node_t *parse_or(parser_t *p) {
    if (!deeper(p, p->tpos)) return NULL;
    node_t *n = parse_and(p);
    while (n && is_word(p, "or")) {
        size_t pos = p->tpos;
        next(p);
        n = want_type(p, n, TL_EXPR_BOOL, "'or'");
        node_t *b = want_type(p, parse_and(p), TL_EXPR_BOOL, "'or'");
        n = binary(p, n, b, N_OR, TL_EXPR_BOOL, 0, pos);
    }
    p->depth--;
    return n;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Allocates the block buffers and sorts the number sets. */
static int prepare(node_t *n) {
    for (int i = 0; i < n->nkids; i++)
        if (prepare(n->kid[i])) return TL_ENOMEM;
    if (n->set) qsort(n->set, n->nset, sizeof *n->set, cmp_d);
    if (n->kind == N_STR) return 0;
    if (n->type == TL_EXPR_CAT) n->vc = malloc(BLOCK * sizeof *n->vc);
    else n->vn = malloc(BLOCK * sizeof *n->vn);
    n->vb = malloc(BLOCK);
    return (n->vn || n->vc) && n->vb ? 0 : TL_ENOMEM;
}

int tl_expr_compile(const char *src, const tl_expr_table_t *t, tl_expr_t **out,
                    tl_expr_err_t *err) {
    *out = NULL;
    memset(err, 0, sizeof *err);
    parser_t p = {.src = src, .table = t, .err = err};
    next(&p);
    node_t *root = p.failed ? NULL : parse_or(&p);
    if (root && !p.failed && p.t != T_END)
        perr(&p, p.tpos, "expected 'and', 'or' or the end, found %s", tok_desc(&p));
    if (root && !p.failed && root->type == TL_EXPR_CAT)
        perr(&p, 0, "a category alone is not a condition: compare it, e.g. city == \"Shanghai\"");
    if (p.failed || !root) {
        node_free(root);
        if (!p.failed) perr(&p, 0, "empty expression");
        return TL_EBADINPUT;
    }
    tl_expr_t *e = calloc(1, sizeof *e);
    if (!e || prepare(root)) {
        free(e);
        node_free(root);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return TL_ENOMEM;
    }
    e->root = root;
    e->nrows = t->nrows;
    *out = e;
    return 0;
}

void tl_expr_free(tl_expr_t *e) {
    if (!e) return;
    node_free(e->root);
    free(e);
}

tl_expr_type_t tl_expr_type(const tl_expr_t *e) { return e->root->type; }

/* ---- evaluation ------------------------------------------------------------- */

/* Fills n's buffer for rows [r, r + len): vn for numbers (NaN = null), vb
 * for conditions, vc for categories. Booleans used as numbers also get vn. */
static void eval(node_t *n, uint32_t r, uint32_t len) {
    for (int i = 0; i < n->nkids; i++) eval(n->kid[i], r, len);
    node_t *a = n->nkids > 0 ? n->kid[0] : NULL, *b = n->nkids > 1 ? n->kid[1] : NULL;
    double *vn = n->vn;
    uint8_t *vb = n->vb;
    switch (n->kind) {
    case N_COL:
        if (n->type == TL_EXPR_CAT) {
            memcpy(n->vc, n->col.u32 + r, len * sizeof *n->vc);
        } else if (n->type == TL_EXPR_BOOL) {
            if (n->col.b) {
                memcpy(vb, n->col.b + r, len);
            } else {
                const uint32_t *u = n->col.u32 + r;
                for (uint32_t i = 0; i < len; i++) vb[i] = u[i] != 0 && u[i] != TL_NONE;
            }
            for (uint32_t i = 0; i < len; i++) vn[i] = vb[i];
        } else if (n->col.num) {
            memcpy(vn, n->col.num + r, len * sizeof *vn);
        } else {
            const uint32_t *u = n->col.u32 + r;
            for (uint32_t i = 0; i < len; i++) vn[i] = u[i] == TL_NONE ? NAN : (double)u[i];
        }
        break;
    case N_NUM:
        for (uint32_t i = 0; i < len; i++) vn[i] = n->num;
        break;
    case N_NULL: /* as a condition, unknown is false */
        for (uint32_t i = 0; i < len; i++) vn[i] = NAN;
        memset(vb, 0, len);
        break;
    case N_BOOL:
        memset(vb, n->num != 0, len);
        for (uint32_t i = 0; i < len; i++) vn[i] = n->num;
        break;
    case N_NEG:
        for (uint32_t i = 0; i < len; i++) vn[i] = -a->vn[i];
        break;
    case N_ARITH: {
        const double *x = a->vn, *y = b->vn;
        switch (n->op) {
        case '+': for (uint32_t i = 0; i < len; i++) vn[i] = x[i] + y[i]; break;
        case '-': for (uint32_t i = 0; i < len; i++) vn[i] = x[i] - y[i]; break;
        case '*': for (uint32_t i = 0; i < len; i++) vn[i] = x[i] * y[i]; break;
        case '/': for (uint32_t i = 0; i < len; i++) vn[i] = y[i] != 0 ? x[i] / y[i] : NAN; break;
        default: for (uint32_t i = 0; i < len; i++) vn[i] = y[i] != 0 ? fmod(x[i], y[i]) : NAN;
        }
        break;
    }
    case N_CMP:
        if (a->type == TL_EXPR_CAT || b->type == TL_EXPR_CAT) {
            const uint32_t *c = (a->kind == N_COL ? a : b)->vc;
            uint32_t code = n->code;
            if (n->op == OP_EQ)
                for (uint32_t i = 0; i < len; i++) vb[i] = c[i] == code;
            else
                for (uint32_t i = 0; i < len; i++) vb[i] = c[i] != code && c[i] != TL_NONE;
        } else {
            const double *x = a->vn, *y = b->vn;
            /* comparisons with NaN are false, as null comparisons should be */
            switch (n->op) {
            case OP_EQ: for (uint32_t i = 0; i < len; i++) vb[i] = x[i] == y[i]; break;
            case OP_NE: for (uint32_t i = 0; i < len; i++) vb[i] = x[i] != y[i] && x[i] == x[i] && y[i] == y[i]; break;
            case OP_LT: for (uint32_t i = 0; i < len; i++) vb[i] = x[i] < y[i]; break;
            case OP_LE: for (uint32_t i = 0; i < len; i++) vb[i] = x[i] <= y[i]; break;
            case OP_GT: for (uint32_t i = 0; i < len; i++) vb[i] = x[i] > y[i]; break;
            default: for (uint32_t i = 0; i < len; i++) vb[i] = x[i] >= y[i]; break;
            }
        }
        break;
    case N_IN:
        if (a->type == TL_EXPR_CAT) {
            for (uint32_t i = 0; i < len; i++) {
                uint32_t c = a->vc[i];
                int in = c < n->ncodes && n->codes[c];
                vb[i] = (uint8_t)(c == TL_NONE ? 0 : n->negate ? !in : in);
            }
        } else {
            for (uint32_t i = 0; i < len; i++) {
                double x = a->vn[i];
                int in = bsearch(&x, n->set, n->nset, sizeof *n->set, cmp_d) != NULL;
                vb[i] = (uint8_t)(x != x ? 0 : n->negate ? !in : in);
            }
        }
        break;
    case N_ISNULL:
        for (uint32_t i = 0; i < len; i++) {
            int null = a->type == TL_EXPR_CAT ? a->vc[i] == TL_NONE : a->vn[i] != a->vn[i];
            vb[i] = (uint8_t)(n->negate ? !null : null);
        }
        break;
    case N_AND:
        for (uint32_t i = 0; i < len; i++) vb[i] = a->vb[i] & b->vb[i];
        break;
    case N_OR:
        for (uint32_t i = 0; i < len; i++) vb[i] = a->vb[i] | b->vb[i];
        break;
    case N_NOT:
        for (uint32_t i = 0; i < len; i++) vb[i] = !a->vb[i];
        break;
    case N_FUNC:
        for (uint32_t i = 0; i < len; i++) {
            double x = a->vn[i], y = b ? b->vn[i] : 0;
            switch (n->op) {
            case F_ABS: vn[i] = fabs(x); break;
            case F_MIN: vn[i] = x < y ? x : y; break; /* null if either is */
            case F_MAX: vn[i] = x > y ? x : y; break;
            case F_LOG: vn[i] = x > 0 ? log(x) : NAN; break;
            default: vn[i] = x == x ? x : y; break;
            }
            if ((n->op == F_MIN || n->op == F_MAX) && (x != x || y != y)) vn[i] = NAN;
        }
        break;
    default: break;
    }
    if (n->type == TL_EXPR_BOOL && vn)
        for (uint32_t i = 0; i < len; i++) vn[i] = vb[i];
}

int tl_expr_eval_bool(tl_expr_t *e, uint8_t *out) {
    if (e->root->type != TL_EXPR_BOOL) return TL_EINVAL;
    for (uint32_t r = 0; r < e->nrows; r += BLOCK) {
        uint32_t len = e->nrows - r < BLOCK ? e->nrows - r : BLOCK;
        eval(e->root, r, len);
        memcpy(out + r, e->root->vb, len);
    }
    return 0;
}

int tl_expr_eval_num(tl_expr_t *e, double *out) {
    if (e->root->type == TL_EXPR_CAT) return TL_EINVAL;
    for (uint32_t r = 0; r < e->nrows; r += BLOCK) {
        uint32_t len = e->nrows - r < BLOCK ? e->nrows - r : BLOCK;
        eval(e->root, r, len);
        memcpy(out + r, e->root->vn, len * sizeof *out);
    }
    return 0;
}

/* An expression may be long (a request body of kilobytes): the message
 * quotes EXCERPT characters either side of the error, on one line (white
 * space shown as blanks), with the caret under the error. */
#define EXCERPT 40

void tl_expr_format_error(const char *src, const tl_expr_err_t *err, char *out, size_t cap) {
    size_t n = strlen(src), pos = err->pos < 0 ? 0 : (size_t)err->pos > n ? n : (size_t)err->pos;
    size_t from = pos > EXCERPT ? pos - EXCERPT : 0, to = n - pos > EXCERPT ? pos + EXCERPT : n;
    while (from > 0 && ((unsigned char)src[from] & 0xC0) == 0x80) from--; /* whole UTF-8 characters */
    while (to < n && ((unsigned char)src[to] & 0xC0) == 0x80) to++;
    char line[4 * EXCERPT + 16];
    size_t k = 0;
    int col = from ? 3 : 0; /* the caret's column, in characters */
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)src[i];
        line[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        if (i < pos && (c & 0xC0) != 0x80) col++;
    }
    line[k] = 0;
    snprintf(out, cap, "%s%s%s\n%*s^ %s", from ? "..." : "", line, to < n ? "..." : "", col, "", err->msg);
}
