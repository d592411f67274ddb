/* preset.c -- mappings of public data sets onto tailor's canonical records.
 *
 * Each preset knows the files of one data set by their content (the name
 * only a hint, see LAYOUTS), their delimiter, encoding and columns, and turns each row into canonical records with the
 * same validation as any other input. Where a data set lacks a field tailor
 * has, the field stays absent; where it has more, the rest goes into the
 * record's JSON attributes, so nothing of the source is thrown away.
 *
 *  movielens      MovieLens 100K/1M: ratings → rate events; users; movies → items
 *  taobao         Alibaba UserBehavior: pv/cart/fav/buy → view/cart/fav/purchase
 *  online-retail  UCI Online Retail: invoice lines → purchase/refund + items + users
 *  bank-marketing UCI Bank Marketing: clients → users with campaign attributes
 *  german-credit  UCI Statlog German Credit: applicants → users + credit records */
#include "ingest_int.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const PRESETS[] = {"movielens", "taobao", "online-retail", "bank-marketing",
                                      "german-credit", NULL};

static const char *const PRESET_HELP[] = {
    ("MovieLens 100K/1M: u.data, u*.base, u*.test, ratings.dat (ratings), u.user, users.dat, "
     "u.item, movies.dat"),
    "Taobao UserBehavior (user,item,category,behavior,unix_ts; no header)",
    "UCI Online Retail (;-separated, CRLF, two dates formats; C invoices are refunds)",
    "UCI Bank Marketing (bank-additional-full.csv: clients with campaign attributes)",
    "UCI Statlog German Credit (german.data: applicants with credit outcome)",
};

const char *const *tl_import_presets(void) { return PRESETS; }

const char *tl_import_preset_help(const char *name) {
    for (int i = 0; PRESETS[i]; i++)
        if (strcmp(PRESETS[i], name) == 0) return PRESET_HELP[i];
    return NULL;
}

static tl_slice_t sl(const char *s) { return tl_sl(s); }

/* Appends "key": value to a JSON object being built in b (value as string
 * or, when num is set and it parses as a number, as a number). */
static void jattr(tl_buf_t *b, const char *key, tl_slice_t v, int num) {
    if (!v.p) return;
    tl_buf_append(b, b->len ? "," : "{", 1);
    tl_buf_json_str(b, key, strlen(key));
    tl_buf_append(b, ":", 1);
    double d;
    if (num && tl_parse_f64(v.p, v.n, &d) == 0) tl_buf_append(b, v.p, v.n);
    else tl_buf_json_str(b, v.p, v.n);
}

static tl_slice_t jclose(tl_rowctx_t *rc, tl_buf_t *b) {
    if (!b->len) return (tl_slice_t){NULL, 0};
    tl_buf_append(b, "}", 1);
    return tl__rowfmt(rc, "%s", b->data);
}

static tl_canon_t canon(tl_kind_t k) {
    tl_canon_t c;
    tl_canon_init(&c, k);
    return c;
}

/* ---- MovieLens ------------------------------------------------------------ */

static const char *const ML_GENRES[19] = {
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western"};

/* MovieLens 1M occupation codes (users.dat). */
static const char *const ML1M_OCC[21] = {
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer"};

static int ml_rating(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    /* MovieLens ratings are stars from 0.5 (newer sets) or 1 to 5. */
    double stars;
    if (c[2].p && tl_parse_f64(c[2].p, c[2].n, &stars) == 0 && (stars < 0.5 || stars > 5)) {
        tl__row_reject(rc, TL_R_OUT_OF_RANGE, "rating %g is outside MovieLens' 0.5..5 stars",
                       stars);
        return 0;
    }
    tl_canon_t e = canon(TL_KIND_EVENTS);
    e.v[1] = c[0];           /* user */
    e.v[2] = c[1];           /* item */
    e.v[3] = sl("rate");     /* type */
    e.v[4] = c[3];           /* ts */
    e.v[5] = sl("web");      /* channel */
    e.v[9] = c[2];           /* rating */
    return tl__emit(rc, &e);
}

/* The 100K data were collected from September 1997 to April 1998. */
#define ML100K_YEAR 1998

static int ml_user100k(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    tl_canon_t u = canon(TL_KIND_USERS);
    u.v[0] = c[0];
    int64_t age;
    if (c[1].p && tl_parse_i64(c[1].p, c[1].n, &age) == 0)
        u.v[2] = tl__rowfmt(rc, "%lld", (long long)(ML100K_YEAR - age));
    else
        u.v[2] = c[1]; /* fails as a number, with its text in the message */
    u.v[1] = c[2];
    u.v[4] = c[3];
    tl_buf_t *b = tl__row_buf(rc);
    jattr(b, "age", c[1], 1);
    jattr(b, "zip", c[4], 0);
    u.v[12] = jclose(rc, b);
    return tl__emit(rc, &u);
}

static int ml_user1m(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    tl_canon_t u = canon(TL_KIND_USERS);
    u.v[0] = c[0];
    u.v[1] = c[1];
    int64_t occ;
    if (c[3].p && tl_parse_i64(c[3].p, c[3].n, &occ) == 0 && occ >= 0 && occ <= 20)
        u.v[4] = sl(ML1M_OCC[occ]);
    tl_buf_t *b = tl__row_buf(rc);
    jattr(b, "age_band", c[2], 1);
    jattr(b, "occupation_code", c[3], 1);
    jattr(b, "zip", c[4], 0);
    u.v[12] = jclose(rc, b);
    return tl__emit(rc, &u);
}

/* Builds the item of a movie from its title and genre names. */
static int ml_movie(tl_rowctx_t *rc, tl_slice_t id, tl_slice_t title, const char **genres, int ng,
                    tl_slice_t release) {
    tl_canon_t it = canon(TL_KIND_ITEMS);
    it.v[0] = id;
    it.v[1] = title;
    it.v[2] = tl__rowfmt(rc, "movies/%s", ng ? genres[0] : "unknown");
    tl_buf_t *b = tl__row_buf(rc);
    tl_buf_append(b, "{\"genres\":[", 11);
    for (int i = 0; i < ng; i++) {
        if (i) tl_buf_append(b, ",", 1);
        tl_buf_json_str(b, genres[i], strlen(genres[i]));
    }
    tl_buf_append(b, "]", 1);
    if (release.p) {
        tl_buf_append(b, ",\"release\":", 11);
        tl_buf_json_str(b, release.p, release.n);
    }
    tl_buf_append(b, "}", 1);
    it.v[5] = tl__rowfmt(rc, "%s", b->data);
    return tl__emit(rc, &it);
}

static int ml_item100k(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    const char *g[19];
    int ng = 0;
    for (int i = 0; i < 19; i++)
        if (c[5 + i].p && c[5 + i].n == 1 && c[5 + i].p[0] == '1') g[ng++] = ML_GENRES[i];
    return ml_movie(rc, c[0], c[1], g, ng, c[2]);
}

static int ml_item1m(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    const char *g[19];
    char *names[19];
    int ng = 0;
    tl_slice_t gs = c[2];
    while (gs.p && gs.n && ng < 19) {
        const char *bar = memchr(gs.p, '|', gs.n);
        size_t len = bar ? (size_t)(bar - gs.p) : gs.n;
        tl_slice_t one = tl__rowfmt(rc, "%.*s", (int)len, gs.p);
        names[ng] = (char *)one.p;
        if (names[ng]) g[ng] = names[ng], ng++;
        if (!bar) break;
        gs.p += len + 1;
        gs.n -= len + 1;
    }
    return ml_movie(rc, c[0], c[1], g, ng, (tl_slice_t){NULL, 0});
}

/* ---- Taobao UserBehavior -------------------------------------------------- */

static int taobao_row(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    static const struct {
        const char *from, *to;
    } beh[] = {{"pv", "view"}, {"cart", "cart"}, {"fav", "fav"}, {"buy", "purchase"}};
    tl_canon_t e = canon(TL_KIND_EVENTS);
    e.v[1] = c[0];
    e.v[2] = c[1];
    e.v[3] = c[3]; /* unknown behaviours fail as unknown types, with their name */
    for (size_t i = 0; i < 4; i++)
        if (c[3].p && c[3].n == strlen(beh[i].from) && memcmp(c[3].p, beh[i].from, c[3].n) == 0)
            e.v[3] = sl(beh[i].to);
    e.v[4] = c[4];
    e.v[5] = sl("app");
    int rc_ = tl__emit(rc, &e);
    if (rc_ || !c[1].p) return rc_;
    tl_canon_t it = canon(TL_KIND_ITEMS);
    it.v[0] = c[1];
    if (c[2].p) it.v[2] = tl__rowfmt(rc, "taobao/%.*s", (int)c[2].n, c[2].p);
    return tl__emit(rc, &it);
}

/* ---- UCI Online Retail ---------------------------------------------------- */

/* "12/06/2010 10:08" or "2/20/11 11:39" (month/day/year) → ISO-8601. A value
 * in neither shape is passed on as it is, to fail as a bad time. */
static tl_slice_t retail_time(tl_rowctx_t *rc, tl_slice_t v) {
    if (!v.p) return v;
    int mo, d, y, h, mi, used = 0;
    char tmp[40];
    if (v.n >= sizeof tmp) return v;
    memcpy(tmp, v.p, v.n);
    tmp[v.n] = 0;
    if (sscanf(tmp, "%d/%d/%d %d:%d%n", &mo, &d, &y, &h, &mi, &used) != 5 || (size_t)used != v.n)
        return v;
    if (y < 100) y += 2000;
    return tl__rowfmt(rc, "%04d-%02d-%02dT%02d:%02d:00", y, mo, d, h, mi);
}

enum { OR_ROW = 1, OR_INVOICE, OR_STOCK, OR_DESC, OR_QTY, OR_DATE, OR_PRICE, OR_CUSTOMER,
       OR_COUNTRY };

static int retail_row(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    tl_slice_t cust = c[OR_CUSTOMER];
    if (cust.p && cust.n == 2 && memcmp(cust.p, "NA", 2) == 0) cust.p = NULL, cust.n = 0;
    if (cust.p && cust.n > 2 && memcmp(cust.p + cust.n - 2, ".0", 2) == 0) cust.n -= 2;
    int cancel = c[OR_INVOICE].p && (c[OR_INVOICE].p[0] == 'C' || c[OR_INVOICE].p[0] == 'c');
    tl_canon_t e = canon(TL_KIND_EVENTS);
    e.v[0] = tl__rowfmt(rc, "retail-%.*s", (int)c[OR_ROW].n, c[OR_ROW].p ? c[OR_ROW].p : "");
    if (!c[OR_ROW].p) e.v[0].p = NULL, e.v[0].n = 0;
    e.v[1] = cust;
    e.v[2] = c[OR_STOCK];
    e.v[3] = sl(cancel ? "refund" : "purchase");
    e.v[4] = retail_time(rc, c[OR_DATE]);
    e.v[5] = sl("web");
    e.v[13] = c[OR_INVOICE]; /* the invoice is the session */
    int64_t q;
    double price;
    if (c[OR_QTY].p && tl_parse_i64(c[OR_QTY].p, c[OR_QTY].n, &q) == 0) {
        /* A cancellation carries a negative quantity: the refund is of |q|. */
        if (cancel && q < 0) q = -q;
        e.v[7] = tl__rowfmt(rc, "%lld", (long long)q);
        if (c[OR_PRICE].p && tl_parse_f64(c[OR_PRICE].p, c[OR_PRICE].n, &price) == 0 && price >= 0)
            e.v[6] = tl__rowfmt(rc, "%.2f", (double)q * price);
    } else {
        e.v[7] = c[OR_QTY];
    }
    int r = tl__emit(rc, &e);
    if (r) return r;
    tl_canon_t it = canon(TL_KIND_ITEMS);
    it.v[0] = c[OR_STOCK];
    it.v[1] = c[OR_DESC];
    it.v[2] = sl("retail");
    it.v[4] = c[OR_PRICE];
    if ((r = tl__emit(rc, &it))) return r;
    if (!cust.p) return 0;
    tl_canon_t u = canon(TL_KIND_USERS);
    u.v[0] = cust;
    tl_buf_t *b = tl__row_buf(rc);
    jattr(b, "country", c[OR_COUNTRY], 0);
    u.v[12] = jclose(rc, b);
    return tl__emit(rc, &u);
}

/* ---- UCI Bank Marketing --------------------------------------------------- */

static const char *const BANK_COLS[21] = {
    "age", "job", "marital", "education", "default", "housing", "loan", "contact", "month",
    "day_of_week", "duration", "campaign", "pdays", "previous", "poutcome", "emp.var.rate",
    "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed", "y"};

/* The calls took place from May 2008 to November 2010. */
#define BANK_YEAR 2009

static int bank_row(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    tl_canon_t u = canon(TL_KIND_USERS);
    u.v[0] = tl__rowfmt(rc, "bank-%llu", (unsigned long long)tl__row_line(rc));
    int64_t age;
    if (c[0].p && tl_parse_i64(c[0].p, c[0].n, &age) == 0)
        u.v[2] = tl__rowfmt(rc, "%lld", (long long)(BANK_YEAR - age));
    else
        u.v[2] = c[0];
    if (c[1].p && strncmp(c[1].p, "unknown", c[1].n) != 0) u.v[4] = c[1];
    if (c[3].p && strncmp(c[3].p, "unknown", c[3].n) != 0) u.v[5] = c[3];
    u.v[7] = sl("phone");
    tl_buf_t *b = tl__row_buf(rc);
    for (int i = 0; i < 21; i++) jattr(b, BANK_COLS[i], c[i], 1);
    u.v[12] = jclose(rc, b);
    return tl__emit(rc, &u);
}

/* ---- UCI Statlog German Credit -------------------------------------------- */

static const char *const GC_COLS[21] = {
    "checking_status", "duration_months", "credit_history", "purpose", "credit_amount",
    "savings", "employment_since", "installment_rate", "personal_status_sex", "other_debtors",
    "residence_since", "property", "age", "other_installment_plans", "housing",
    "existing_credits", "job", "num_dependents", "telephone", "foreign_worker", "class"};

/* The data set was published in 1994. */
#define GC_YEAR 1994

static int gc_row(tl_rowctx_t *rc, const tl_slice_t *c, int n) {
    (void)n;
    tl_canon_t u = canon(TL_KIND_USERS);
    tl_slice_t id = tl__rowfmt(rc, "gc-%llu", (unsigned long long)tl__row_line(rc));
    u.v[0] = id;
    tl_slice_t ps = c[8]; /* A91/A93/A94 male, A92/A95 female */
    if (ps.p && ps.n == 3 && ps.p[0] == 'A' && ps.p[1] == '9')
        u.v[1] = sl(ps.p[2] == '2' || ps.p[2] == '5' ? "f" : "m");
    int64_t age;
    if (c[12].p && tl_parse_i64(c[12].p, c[12].n, &age) == 0)
        u.v[2] = tl__rowfmt(rc, "%lld", (long long)(GC_YEAR - age));
    else
        u.v[2] = c[12];
    tl_buf_t *b = tl__row_buf(rc);
    for (int i = 0; i < 21; i++) jattr(b, GC_COLS[i], c[i], 1);
    u.v[12] = jclose(rc, b);
    int r = tl__emit(rc, &u);
    if (r) return r;
    tl_canon_t cr = canon(TL_KIND_CREDIT);
    cr.v[0] = id;
    cr.v[4] = c[4]; /* the credit amount is the debt taken on */
    /* class 1 = good, 2 = bad (defaulted) */
    if (c[20].p && c[20].n == 1 && (c[20].p[0] == '1' || c[20].p[0] == '2'))
        cr.v[7] = sl(c[20].p[0] == '2' ? "1" : "0");
    else
        cr.v[7] = c[20];
    return tl__emit(rc, &cr);
}

/* ---- dispatch -------------------------------------------------------------- */

int tl__preset_table(const char *preset, const char **delim, int *quotes, int *header,
                     const char *const **names, int *ncols, tl_errbuf_t *eb) {
    if (strcmp(preset, "german-credit") == 0) {
        *delim = " ", *quotes = 0, *header = 0, *names = GC_COLS, *ncols = 21;
        return 0;
    }
    if (strcmp(preset, "bank-marketing") == 0) {
        *delim = ";", *quotes = 1, *header = 1, *names = NULL, *ncols = 21;
        return 0;
    }
    tl_errbuf_set(eb, "--preset %s: tables know german-credit and bank-marketing", preset);
    return TL_EINVAL;
}

/* ---- the files of each preset, told by their content ------------------------------
 * A layout is one kind of file of a data set: its delimiter, field count and
 * the shape of each value of a record (shape: one letter a field, NULL for
 * a file with a header line, which is only read when its preset is named):
 *   i  an integer        n  a number         t  any text
 *   g  M or F            b  0 or 1           a  A and digits (a UCI code)
 *   B  pv, cart, fav or buy (Taobao's behaviours)
 * The first record of a file decides which layout it has; its name (names:
 * glob patterns) only decides between layouts the record fits alike, or
 * when it fits none (an empty file, a first row that is bad). */

typedef struct {
    const char *preset, *what, *names, *shape;
    tl_presetfile_t pf;
} layout_t;

#define CSVF(kind, delim, header, latin1, quotes, ncols, row) \
    {kind, TL_FMT_CSV, delim, header, latin1, quotes, ncols, row}

static const layout_t LAYOUTS[] = {
    {"movielens", "MovieLens ratings (u.data)", "u.data u*.base u*.test", "iini",
     CSVF(TL_KIND_EVENTS, "\t", 0, 0, 0, 4, ml_rating)},
    {"movielens", "MovieLens ratings (ratings.dat)", "ratings.dat", "iini",
     CSVF(TL_KIND_EVENTS, "::", 0, 0, 0, 4, ml_rating)},
    {"movielens", "MovieLens users (u.user)", "u.user", "iigtt",
     CSVF(TL_KIND_USERS, "|", 0, 0, 0, 5, ml_user100k)},
    {"movielens", "MovieLens users (users.dat)", "users.dat", "igiit",
     CSVF(TL_KIND_USERS, "::", 0, 0, 0, 5, ml_user1m)},
    {"movielens", "MovieLens movies (u.item)", "u.item", "itttt" "bbbbbbbbbbbbbbbbbbb",
     CSVF(TL_KIND_ITEMS, "|", 0, 1, 0, 24, ml_item100k)},
    {"movielens", "MovieLens movies (movies.dat)", "movies.dat", "itt",
     CSVF(TL_KIND_ITEMS, "::", 0, 1, 0, 3, ml_item1m)},
    {"taobao", "Taobao UserBehavior", NULL, "iiiBi",
     CSVF(TL_KIND_EVENTS, ",", 0, 0, 1, 5, taobao_row)},
    {"online-retail", "UCI Online Retail", NULL, NULL,
     CSVF(TL_KIND_EVENTS, ";", 1, 0, 1, 10, retail_row)},
    {"bank-marketing", "UCI Bank Marketing", NULL, NULL,
     CSVF(TL_KIND_USERS, ";", 1, 0, 1, 21, bank_row)},
    {"german-credit", "UCI German Credit", NULL, "aiaaiaaiaaiaiaaiaiaai",
     CSVF(TL_KIND_USERS, " ", 0, 0, 0, 21, gc_row)},
};
#define NLAYOUTS (sizeof LAYOUTS / sizeof *LAYOUTS)

static int fits(char shape, const char *p, size_t n) {
    double d;
    int64_t k;
    switch (shape) {
    case 'i': return tl_parse_i64(p, n, &k) == 0;
    case 'n': return tl_parse_f64(p, n, &d) == 0;
    case 'g': return n == 1 && strchr("MFmf", p[0]);
    case 'b': return n == 1 && (p[0] == '0' || p[0] == '1');
    case 'a':
        if (n < 2 || p[0] != 'A') return 0;
        for (size_t i = 1; i < n; i++)
            if (p[i] < '0' || p[i] > '9') return 0;
        return 1;
    case 'B':
        return (n == 2 && memcmp(p, "pv", 2) == 0) ||
               (n == 3 && (memcmp(p, "fav", 3) == 0 || memcmp(p, "buy", 3) == 0)) ||
               (n == 4 && memcmp(p, "cart", 4) == 0);
    default: return 1;
    }
}

/* Whether the first line of a file, head[0..n), has layout l. */
static int layout_fits(const layout_t *l, const char *head, size_t n) {
    if (!l->shape) return 0;
    size_t end = 0;
    while (end < n && head[end] != '\n' && head[end] != '\r') end++;
    if (end == n && n >= TL__PRESET_HEAD) return 0; /* no whole line to judge */
    size_t dl = strlen(l->pf.delimiter), nf = strlen(l->shape);
    const char *p = head, *stop = head + end;
    for (size_t f = 0; f < nf; f++) {
        const char *q = p;
        while (q < stop && !(q + dl <= stop && memcmp(q, l->pf.delimiter, dl) == 0)) q++;
        if ((f + 1 < nf) != (q < stop)) return 0; /* too few or too many fields */
        if (!fits(l->shape[f], p, (size_t)(q - p))) return 0;
        p = q + dl;
    }
    return 1;
}

static int name_fits(const layout_t *l, const char *path) {
    if (!l->names || !path) return 0;
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char pat[32];
    for (const char *w = l->names; *w;) {
        size_t len = strcspn(w, " ");
        snprintf(pat, sizeof pat, "%.*s", (int)len, w);
        if (fnmatch(pat, b, 0) == 0) return 1;
        w += len + (w[len] == ' ');
    }
    return 0;
}

/* "A, B or C" of the layouts in idx[0..n) into out. */
static void list_layouts(const int *idx, int n, int with_preset, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len < cap; i++) {
        const layout_t *l = &LAYOUTS[idx[i]];
        len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                                l->what, with_preset ? " (--preset " : "",
                                with_preset ? l->preset : "", with_preset ? ")" : "");
    }
}

int tl__preset_file(const char *preset, const char *path, const char *head, size_t n,
                    tl_presetfile_t *pf, tl_errbuf_t *eb) {
    memset(pf, 0, sizeof *pf);
    int idx[NLAYOUTS], nl = 0, byname = -1;
    for (size_t i = 0; i < NLAYOUTS; i++)
        if (strcmp(LAYOUTS[i].preset, preset) == 0) idx[nl++] = (int)i;
    if (!nl) {
        tl_errbuf_set(eb, "--preset %s: no such preset (see `tailor import --help`)", preset);
        return TL_EINVAL;
    }
    if (nl == 1) { /* a data set of one file: it is that file */
        *pf = LAYOUTS[idx[0]].pf;
        return 0;
    }
    int fit[NLAYOUTS], nfit = 0;
    for (int i = 0; i < nl; i++) {
        if (layout_fits(&LAYOUTS[idx[i]], head, n)) fit[nfit++] = idx[i];
        if (byname < 0 && name_fits(&LAYOUTS[idx[i]], path)) byname = idx[i];
    }
    int pick = nfit == 1 ? fit[0] : -1;
    for (int i = 0; pick < 0 && i < nfit; i++)
        if (fit[i] == byname) pick = byname;
    if (pick < 0 && !nfit) pick = byname;
    if (pick >= 0) {
        *pf = LAYOUTS[pick].pf;
        return 0;
    }
    char names[512];
    if (nfit) {
        list_layouts(fit, nfit, 0, names, sizeof names);
        tl_errbuf_set(eb, "%s: its first line fits %s alike; name the file as the data set does "
                      "(%s) to tell them apart", path, names, LAYOUTS[fit[0]].names);
    } else {
        list_layouts(idx, nl, 0, names, sizeof names);
        tl_errbuf_set(eb, "%s: not a file of the %s preset: its first line is none of %s", path,
                      preset, names);
    }
    return TL_EINVAL;
}

int tl__preset_detect(const char *path, const char *head, size_t n, const char **preset,
                      const char **what, tl_errbuf_t *eb) {
    int fit[NLAYOUTS], nfit = 0, npresets = 0;
    for (size_t i = 0; i < NLAYOUTS; i++) {
        if (!layout_fits(&LAYOUTS[i], head, n)) continue;
        int seen = 0;
        for (int k = 0; k < nfit; k++) seen |= strcmp(LAYOUTS[fit[k]].preset, LAYOUTS[i].preset) == 0;
        npresets += !seen;
        fit[nfit++] = (int)i;
    }
    *preset = *what = NULL;
    if (npresets > 1) {
        char names[512];
        list_layouts(fit, nfit, 1, names, sizeof names);
        tl_errbuf_set(eb, "%s: its first line fits %s; say which with --preset", path, names);
        return TL_EINVAL;
    }
    if (!nfit) return 0;
    *preset = LAYOUTS[fit[0]].preset;
    *what = LAYOUTS[fit[0]].what;
    return 1;
}
