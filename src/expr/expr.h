/* expr.h -- the expression language of tags, segments, campaign audiences
 * and offer eligibility.
 *
 *   monetary_90d > 500 and affinity("electronics") > 0.3
 *   city in ("Shanghai", "Beijing") and not has_tag("complained")
 *   count(purchase, 30d) >= 2 or lifecycle == "returning"
 *
 * Grammar (lowest precedence first):
 *   expr    := and ("or" and)*
 *   and     := not ("and" not)*
 *   not     := "not" not | cmp
 *   cmp     := sum [op sum | ["not"] "in" "(" literal ("," literal)* ")" | "is" ["not"] "null"]
 *              op is one of == = != <> < <= > >=
 *   sum     := prod (("+" | "-") prod)*
 *   prod    := unary (("*" | "/" | "%") unary)*
 *   unary   := "-" unary | atom
 *   atom    := number | string | true | false | null | name | name "(" args ")" | "(" expr ")"
 * Numbers may carry a day suffix (30d) inside count(). Strings use double or
 * single quotes. Names are the columns of the table the expression runs
 * over (for profiles: the names `tailor profile show` prints).
 *
 * Functions: affinity("cat") (the column affinity_cat), has_tag("t") (the
 * tag t), count(type, Nd) (events of a type in the N days before the
 * profile's time), abs(x), min(a, b), max(a, b), log(x), coalesce(x, y).
 *
 * Unknown values (null) make comparisons false, arithmetic null, and
 * "x is null" true. An expression is compiled once and evaluated over all
 * rows a block at a time, column by column.
 */
#ifndef TL_EXPR_H
#define TL_EXPR_H

#include "core/core.h"

typedef enum { TL_EXPR_NUM, TL_EXPR_BOOL, TL_EXPR_CAT } tl_expr_type_t;

/* A column the expression reads. NUM: num (NaN = null); COUNT-like values
 * come as u32 with TL_NONE = null and are read as numbers; CAT: u32 codes
 * with labels; BOOL: bytes 0/1 in b, or u32 (non-zero and not TL_NONE is
 * true). */
typedef struct {
    tl_expr_type_t type;
    const double *num;
    const uint32_t *u32;
    const uint8_t *b;
    const tl_dict_t *labels; /* CAT */
} tl_expr_col_t;

/* What an expression runs over. lookup fills *out for a column name and
 * returns 0, or TL_ENOENT. count (may be NULL) makes the column of
 * count(type, days): it returns 0, TL_ENOENT for an unknown type, or an
 * error; the column must stay valid while the expression lives. */
typedef struct {
    uint32_t nrows;
    void *ctx;
    int (*lookup)(void *ctx, const char *name, tl_expr_col_t *out);
    int (*count)(void *ctx, const char *type, double days, tl_expr_col_t *out);
} tl_expr_table_t;

typedef struct {
    int pos;        /* byte offset of the problem in the source */
    char msg[256];  /* what was wrong and what was expected */
} tl_expr_err_t;

typedef struct tl_expr tl_expr_t;

/* Compiles src over table t. On failure returns TL_EBADINPUT (or
 * TL_ENOMEM) and fills err. */
int tl_expr_compile(const char *src, const tl_expr_table_t *t, tl_expr_t **out,
                    tl_expr_err_t *err);
void tl_expr_free(tl_expr_t *e);
tl_expr_type_t tl_expr_type(const tl_expr_t *e);

/* Evaluates a boolean expression: out[i] = 1 where row i matches. */
int tl_expr_eval_bool(tl_expr_t *e, uint8_t *out);
/* Evaluates a numeric expression (NaN = null). */
int tl_expr_eval_num(tl_expr_t *e, double *out);

/* Writes "src\n   ^ message" for people into out: of a long src, only the
 * 40 characters either side of the error, marked "..." where cut. */
void tl_expr_format_error(const char *src, const tl_expr_err_t *err, char *out, size_t cap);

#endif
