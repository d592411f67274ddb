/* offers.c -- financial offers: which of the product catalogue a user may
 * be offered, which a scene brings forward, which the lending policy blocks
 * and why, ranked by expected value, each with its risk disclosure.
 *
 * Everything that decides is data. The products (the store's `products`
 * table) carry their eligibility as an expression; the policy (text, see
 * TL_OFFERS_DEFAULT_POLICY) says which kinds are credit, which rules block
 * credit, which conditions make a scene bring kinds forward, and the
 * margins, take-up rates and losses the ranking uses. Expressions run over
 * the users' profiles (only read) and this file's own columns, looked up
 * first: credit_band and pd (the
 * scorecard), income_band and debt_ratio (the credit records and the
 * policy's income per band), consent_<purpose> (1 when the latest record
 * grants it), and scene_category / scene_amount (what the caller says just
 * happened).
 *
 * Expected value of an offer = take-up x amount x (margin - pd x loss given
 * default), the loss only for credit: take-up is the kind's base rate (times
 * the scene boost when its scene fires), amount the product's typical
 * amount (the geometric mean of its limits). An offer whose expected loss
 * exceeds its margin is not made.
 */
#include "finance/finance.h"

#include "segment/segment.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char TL_OFFERS_DEFAULT_POLICY[] =
    "# tailor lending policy: one rule a line; expressions over the profile\n"
    "credit instalment,credit_line,credit_card\n"
    "block \"band E: no new credit\" when credit_band == \"E\"\n"
    "block \"no credit score\" when credit_band is null\n"
    "block \"debt above half of income\" when debt_ratio > 0.5\n"
    "block \"an overdue of 30 days or more on record\" when max_overdue_days >= 30\n"
    "block \"under 18\" when age < 18 or age is null\n"
    "block \"no consent to credit offers\" when consent_credit_offers != 1\n"
    "scene purchase instalment when scene_category == \"electronics\" or scene_amount >= 2000\n"
    "scene travel insurance,credit_card when scene_category == \"travel\"\n"
    "scene promotion credit_line when credit_band in (\"A\", \"B\")\n"
    "scene idle wealth when monetary_90d < 100 and (income_band == \"mid\" or income_band == \"high\")\n"
    "income low 36000\nincome mid 96000\nincome high 240000\n"
    "takeup instalment 0.04\ntakeup credit_line 0.03\ntakeup credit_card 0.02\n"
    "takeup insurance 0.05\ntakeup wealth 0.02\n"
    "margin instalment 0.04\nmargin credit_line 0.08\nmargin credit_card 0.06\n"
    "margin insurance 0.30\nmargin wealth 0.01\n"
    "loss 0.6\n"
    "boost 4\n";

#define MAX_RULES 64
#define MAX_KINDS 16

typedef struct {
    char *reason, *expr;
} rule_t;

typedef struct {
    char *name, *expr;
    char kinds[MAX_KINDS][32];
    int nkinds;
} scene_t;

typedef struct {
    char name[32];
    double takeup, margin;
    int credit;
} kind_t;

typedef struct {
    char *id, *kind, *name, *eligibility, *disclosure;
    double term, apr, lo, hi;
    char *error;   /* the eligibility expression does not compile */
} product_t;

/* What the expressions gave over some rows (every user, or one): a byte
 * per row for each product's eligibility, block and scene. */
typedef struct {
    uint32_t nrows;
    uint8_t **elig, **blk, **scn;
    double *pd; /* NaN without a score */
} masks_t;

struct tl_offers {
    rule_t block[MAX_RULES];
    scene_t scene[MAX_RULES];
    kind_t kind[MAX_KINDS];
    int nblock, nscene, nkind;
    double loss, boost;
    char income_band[8][32];
    double income[8];
    int nincome;
    product_t *prod;
    uint32_t nprod;
    masks_t all; /* tl_offers_new: over every user */
};

static const kind_t *kind_find(const tl_offers_t *o, const char *name) {
    for (int k = 0; k < o->nkind; k++)
        if (strcmp(o->kind[k].name, name) == 0) return &o->kind[k];
    return NULL;
}

/* The kind of that name, added when new (NULL when the table is full). */
static kind_t *kind_named(tl_offers_t *o, const char *name) {
    const kind_t *found = kind_find(o, name);
    if (found) return &o->kind[found - o->kind];
    if (o->nkind == MAX_KINDS) return NULL;
    kind_t *k = &o->kind[o->nkind++];
    snprintf(k->name, sizeof k->name, "%s", name);
    return k;
}

static void masks_fini(const tl_offers_t *o, masks_t *m) {
    for (uint32_t q = 0; m->elig && q < o->nprod; q++) free(m->elig[q]);
    for (int k = 0; m->blk && k < o->nblock; k++) free(m->blk[k]);
    for (int k = 0; m->scn && k < o->nscene; k++) free(m->scn[k]);
    free(m->elig), free(m->blk), free(m->scn), free(m->pd);
    memset(m, 0, sizeof *m);
}

void tl_offers_free(tl_offers_t *o) {
    if (!o) return;
    masks_fini(o, &o->all);
    for (int i = 0; i < o->nblock; i++) free(o->block[i].reason), free(o->block[i].expr);
    for (int i = 0; i < o->nscene; i++) free(o->scene[i].name), free(o->scene[i].expr);
    for (uint32_t p = 0; p < o->nprod; p++) {
        product_t *q = &o->prod[p];
        free(q->id), free(q->kind), free(q->name), free(q->eligibility), free(q->disclosure);
        free(q->error);
    }
    free(o->prod);
    free(o);
}

/* ---- the policy ------------------------------------------------------------------ */

static int policy_error(tl_errbuf_t *eb, int line, const char *what) {
    tl_errbuf_set(eb, "policy line %d: %s", line, what);
    return TL_EBADINPUT;
}

static int parse_policy(tl_offers_t *o, const char *text, tl_errbuf_t *eb) {
    int line = 0;
    o->loss = 0.6, o->boost = 1;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        char buf[1024];
        line++;
        if (len >= sizeof buf) return policy_error(eb, line, "too long");
        memcpy(buf, p, len), buf[len] = 0;
        p += len + (p[len] == '\n');
        char *s = buf + strspn(buf, " \t");
        if (!*s || *s == '#') continue;
        char word[16] = {0};
        int n = 0;
        if (sscanf(s, "%15s %n", word, &n) != 1) continue;
        char *rest = s + n;
        if (strcmp(word, "credit") == 0) {
            for (char *k = strtok(rest, ", \t"); k; k = strtok(NULL, ", \t")) {
                kind_t *kd = kind_named(o, k);
                if (!kd) return policy_error(eb, line, "too many kinds");
                kd->credit = 1;
            }
        } else if (strcmp(word, "block") == 0 || strcmp(word, "scene") == 0) {
            char *w = strstr(rest, " when ");
            if (!w) return policy_error(eb, line, "give ... when EXPRESSION");
            *w = 0;
            char *expr = w + 6;
            if (word[0] == 'b') {
                if (o->nblock == MAX_RULES) return policy_error(eb, line, "too many blocks");
                char *q1 = strchr(rest, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
                if (!q1 || !q2) return policy_error(eb, line, "give block \"REASON\" when EXPRESSION");
                *q2 = 0;
                rule_t *r = &o->block[o->nblock++];
                r->reason = strdup(q1 + 1), r->expr = strdup(expr);
                if (!r->reason || !r->expr) return TL_ENOMEM;
            } else {
                if (o->nscene == MAX_RULES) return policy_error(eb, line, "too many scenes");
                char name[32], kinds[256];
                if (sscanf(rest, "%31s %255s", name, kinds) != 2)
                    return policy_error(eb, line, "give scene NAME KIND[,KIND] when EXPRESSION");
                scene_t *sc = &o->scene[o->nscene++];
                sc->name = strdup(name), sc->expr = strdup(expr);
                if (!sc->name || !sc->expr) return TL_ENOMEM;
                for (char *k = strtok(kinds, ","); k && sc->nkinds < MAX_KINDS; k = strtok(NULL, ","))
                    snprintf(sc->kinds[sc->nkinds++], 32, "%s", k);
            }
        } else if (strcmp(word, "income") == 0 || strcmp(word, "takeup") == 0 ||
                   strcmp(word, "margin") == 0) {
            char name[32];
            double v;
            if (sscanf(rest, "%31s %lf", name, &v) != 2 || !(v >= 0))
                return policy_error(eb, line, "give NAME and a number of at least 0");
            if (word[0] == 'i') {
                if (o->nincome == 8) return policy_error(eb, line, "too many income bands");
                snprintf(o->income_band[o->nincome], sizeof o->income_band[0], "%s", name);
                o->income[o->nincome++] = v;
            } else {
                kind_t *kd = kind_named(o, name);
                if (!kd) return policy_error(eb, line, "too many kinds");
                if (word[0] == 't') kd->takeup = v;
                else kd->margin = v;
            }
        } else if (strcmp(word, "loss") == 0 || strcmp(word, "boost") == 0) {
            double v;
            if (sscanf(rest, "%lf", &v) != 1 || !(v >= 0)) return policy_error(eb, line, "give a number");
            if (word[0] == 'l') o->loss = v;
            else o->boost = v;
        } else {
            return policy_error(eb, line, "start with credit, block, scene, income, takeup, "
                                          "margin, loss or boost");
        }
    }
    return 0;
}

/* ---- the columns the policy reads -------------------------------------------------- */

/* The policy's own columns over rows row0 .. row0 + n - 1 of the profiles
 * (every user, or one), and an expression table that reads them first and
 * the profiles' columns, shifted to row0, after. */
typedef struct {
    const tl_expr_table_t *inner;
    uint32_t row0, n;
    uint32_t *band, *income, *scene_cat;
    double *pd, *debt, *debt_ratio, *scene_amount;
    tl_dict_t *bands, *incomes, *scene_cats, *purposes;
    uint32_t **consent; /* per purpose and row: 1 when the latest record grants it */
    int64_t **consent_at;
    uint32_t *zeros;    /* a purpose nobody has a record of */
    tl_expr_table_t t;
    int rc;
} cols_t;

static void shift(tl_expr_col_t *c, uint32_t row0) {
    if (c->num) c->num += row0;
    if (c->u32) c->u32 += row0;
    if (c->b) c->b += row0;
}

static int cols_lookup(void *ctx, const char *name, tl_expr_col_t *out) {
    cols_t *c = ctx;
    memset(out, 0, sizeof *out);
    if (strcmp(name, "credit_band") == 0) out->type = TL_EXPR_CAT, out->u32 = c->band, out->labels = c->bands;
    else if (strcmp(name, "income_band") == 0) out->type = TL_EXPR_CAT, out->u32 = c->income, out->labels = c->incomes;
    else if (strcmp(name, "scene_category") == 0) out->type = TL_EXPR_CAT, out->u32 = c->scene_cat, out->labels = c->scene_cats;
    else if (strcmp(name, "pd") == 0) out->type = TL_EXPR_NUM, out->num = c->pd;
    else if (strcmp(name, "debt_ratio") == 0) out->type = TL_EXPR_NUM, out->num = c->debt_ratio;
    else if (strcmp(name, "scene_amount") == 0) out->type = TL_EXPR_NUM, out->num = c->scene_amount;
    else if (strncmp(name, "consent_", 8) == 0) {
        uint32_t k = tl_dict_find(c->purposes, name + 8, strlen(name + 8));
        out->type = TL_EXPR_NUM, out->u32 = k == TL_NONE ? c->zeros : c->consent[k];
    } else {
        int rc = c->inner->lookup(c->inner->ctx, name, out);
        if (!rc) shift(out, c->row0);
        return rc;
    }
    return 0;
}

static int cols_count(void *ctx, const char *type, double days, tl_expr_col_t *out) {
    cols_t *c = ctx;
    int rc = c->inner->count(c->inner->ctx, type, days, out);
    if (!rc) shift(out, c->row0);
    return rc;
}

static void cols_fini(cols_t *c) {
    uint32_t np = c->purposes ? tl_dict_count(c->purposes) : 0;
    for (uint32_t k = 0; k < np; k++) free(c->consent[k]), free(c->consent_at[k]);
    free(c->consent), free(c->consent_at), free(c->zeros);
    free(c->band), free(c->income), free(c->scene_cat);
    free(c->pd), free(c->debt), free(c->debt_ratio), free(c->scene_amount);
    tl_dict_free(c->bands), tl_dict_free(c->incomes), tl_dict_free(c->scene_cats), tl_dict_free(c->purposes);
}

static int credit_row(uint32_t user, const tl_credit_t *r, void *arg) {
    cols_t *c = arg;
    uint32_t u = user - c->row0;
    if (u >= c->n) return 0;
    const char *band = r->income_band;
    if (band && *band && tl_dict_intern(c->incomes, band, strlen(band), &c->income[u], NULL))
        return TL_ENOMEM;
    if (!isnan(r->debt)) c->debt[u] = r->debt;
    return 0;
}

static int consent_row(uint32_t user, const char *purpose, int granted, int64_t at, void *arg) {
    cols_t *c = arg;
    uint32_t u = user - c->row0, k;
    int added = 0;
    if (u >= c->n || !purpose) return 0;
    if (tl_dict_intern(c->purposes, purpose, strlen(purpose), &k, &added)) return c->rc = TL_ENOMEM;
    if (added) {
        uint32_t **nc = realloc(c->consent, (k + 1) * sizeof *nc);
        if (nc) c->consent = nc;
        int64_t **na = nc ? realloc(c->consent_at, (k + 1) * sizeof *na) : NULL;
        if (na) c->consent_at = na;
        if (!nc || !na) return c->rc = TL_ENOMEM;
        c->consent[k] = calloc(c->n, sizeof **c->consent);
        c->consent_at[k] = malloc(c->n * sizeof **c->consent_at);
        if (!c->consent[k] || !c->consent_at[k]) return c->rc = TL_ENOMEM;
        for (uint32_t i = 0; i < c->n; i++) c->consent_at[k][i] = INT64_MIN;
    }
    if (at >= c->consent_at[k][u]) c->consent_at[k][u] = at, c->consent[k][u] = granted != 0;
    return 0;
}

/* Fills the columns of rows row0 .. row0 + n - 1: band and PD from sc (NULL:
 * nobody has one), income band and debt ratio from the credit records,
 * consents, and the scene for `user` (when among the rows). */
static int cols_fill(cols_t *c, const tl_offers_t *o, tl_store_t *st, const tl_profiles_t *p,
                     const tl_dict_t *users, const tl_scorecard_t *sc, const tl_offer_scene_t *scene,
                     uint32_t user, tl_errbuf_t *eb) {
    uint32_t n = c->n ? c->n : 1;
    c->band = malloc(n * sizeof *c->band), c->income = malloc(n * sizeof *c->income);
    c->scene_cat = malloc(n * sizeof *c->scene_cat), c->zeros = calloc(n, sizeof *c->zeros);
    c->pd = malloc(n * sizeof *c->pd), c->debt = malloc(n * sizeof *c->debt);
    c->debt_ratio = malloc(n * sizeof *c->debt_ratio), c->scene_amount = malloc(n * sizeof *c->scene_amount);
    c->bands = tl_dict_new(), c->incomes = tl_dict_new(), c->scene_cats = tl_dict_new(), c->purposes = tl_dict_new();
    if (!c->band || !c->income || !c->scene_cat || !c->zeros || !c->pd || !c->debt || !c->debt_ratio ||
        !c->scene_amount || !c->bands || !c->incomes || !c->scene_cats || !c->purposes)
        return TL_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        c->band[i] = c->income[i] = c->scene_cat[i] = TL_NONE;
        c->pd[i] = c->debt[i] = c->debt_ratio[i] = c->scene_amount[i] = NAN;
    }
    static const char *const BANDS[TL_NBANDS] = {"A", "B", "C", "D", "E"};
    int rc = 0;
    uint32_t code;
    for (int k = 0; k < TL_NBANDS && !rc; k++) rc = tl_dict_intern(c->bands, BANDS[k], 1, &code, NULL);
    if (!rc && sc && c->n) {
        tl_table_t t;
        tl_scorer_t *s = NULL;
        rc = tl_score_users_table(p, users, c->row0, c->n, &t);
        if (!rc) {
            rc = tl_scorer_new(sc, &t, &s, eb);
            for (uint32_t r = 0; !rc && r < t.nrows; r++) {
                tl_score_t res;
                tl_scorer_row(s, r, &res);
                c->pd[r] = res.pd, c->band[r] = (uint32_t)res.band;
            }
            tl_scorer_free(s);
            tl_table_fini(&t);
        }
    }
    /* one user's rows by key; every user's by a scan of the table */
    uint32_t one = c->n == 1 ? c->row0 : TL_NONE;
    if (!rc) rc = tl_store_scan_credit(st, one, credit_row, c, eb);
    for (uint32_t i = 0; !rc && i < c->n; i++) {
        const char *b = c->income[i] != TL_NONE ? tl_dict_str(c->incomes, c->income[i], NULL) : NULL;
        for (int k = 0; b && k < o->nincome; k++)
            if (strcmp(o->income_band[k], b) == 0 && o->income[k] > 0)
                c->debt_ratio[i] = (isnan(c->debt[i]) ? 0 : c->debt[i]) / o->income[k];
    }
    if (!rc) rc = tl_store_scan_consents(st, one, consent_row, c, eb);
    if (!rc) rc = c->rc;
    if (!rc && scene && user - c->row0 < c->n) {
        c->scene_amount[user - c->row0] = scene->amount;
        if (scene->category && *scene->category)
            rc = tl_dict_intern(c->scene_cats, scene->category, strlen(scene->category),
                                &c->scene_cat[user - c->row0], NULL);
    }
    return rc;
}

/* ---- evaluation ----------------------------------------------------------------------- */

typedef struct {
    tl_offers_t *o;
    tl_dict_t *ids;
    int rc;
} prodctx_t;

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static double or_zero(double v) { return isnan(v) ? 0 : v; }

static int product_row(uint32_t idx, const tl_product_t *r, void *arg) {
    prodctx_t *x = arg;
    tl_offers_t *o = x->o;
    product_t *np = realloc(o->prod, (o->nprod + 1) * sizeof *np);
    if (!np) return x->rc = TL_ENOMEM;
    o->prod = np;
    product_t *q = &o->prod[o->nprod++];
    memset(q, 0, sizeof *q);
    char num[16];
    snprintf(num, sizeof num, "%u", idx);
    const char *id = idx < tl_dict_count(x->ids) ? tl_dict_str(x->ids, idx, NULL) : num;
    q->id = dup_or_empty(id), q->kind = dup_or_empty(r->kind), q->name = dup_or_empty(r->name);
    q->eligibility = dup_or_empty(r->eligibility), q->disclosure = dup_or_empty(r->disclosure);
    q->term = r->term_months >= 0 ? r->term_months : 0, q->apr = or_zero(r->apr);
    q->lo = or_zero(r->amount_min), q->hi = or_zero(r->amount_max);
    if (!q->id || !q->kind || !q->name || !q->eligibility || !q->disclosure) return x->rc = TL_ENOMEM;
    return 0;
}

/* Runs a condition over the rows of t into *mask (all rows when expr is
 * empty); a message in *error when it does not compile (the mask is then
 * all 0 and TL_EBADINPUT returned). */
static int run_expr(const tl_expr_table_t *t, const char *expr, uint8_t **mask, char **error) {
    uint32_t n = t->nrows;
    *mask = calloc(n ? n : 1, 1);
    if (!*mask) return TL_ENOMEM;
    if (!*expr) {
        memset(*mask, 1, n);
        return 0;
    }
    tl_expr_err_t err;
    tl_expr_t *e = NULL;
    int rc = tl_expr_compile(expr, t, &e, &err);
    if (!rc && tl_expr_type(e) != TL_EXPR_BOOL) {
        err.pos = 0;
        snprintf(err.msg, sizeof err.msg, "a condition (a comparison) is needed, not a number");
        rc = TL_EBADINPUT;
    }
    if (!rc) rc = tl_expr_eval_bool(e, *mask);
    tl_expr_free(e);
    if (rc == TL_EBADINPUT) {
        char msg[600];
        tl_expr_format_error(expr, &err, msg, sizeof msg);
        if (error && !(*error = strdup(msg))) return TL_ENOMEM;
    }
    return rc;
}

/* Every eligibility, block and scene over the rows of c into m. A product
 * whose eligibility does not compile is eligible nowhere (its message in
 * errors[product] when errors is given; without, a product that did not
 * compile before is not tried); a rule that does not compile is an error. */
static int evaluate(const tl_offers_t *o, cols_t *c, char **errors, masks_t *m, tl_errbuf_t *eb) {
    m->nrows = c->n;
    m->elig = calloc(o->nprod + 1, sizeof *m->elig);
    m->blk = calloc((size_t)o->nblock + 1, sizeof *m->blk);
    m->scn = calloc((size_t)o->nscene + 1, sizeof *m->scn);
    m->pd = malloc((c->n ? c->n : 1) * sizeof *m->pd);
    if (!m->elig || !m->blk || !m->scn || !m->pd) return TL_ENOMEM;
    memcpy(m->pd, c->pd, c->n * sizeof *m->pd);
    int rc = 0;
    for (uint32_t q = 0; !rc && q < o->nprod; q++) {
        const product_t *pr = &o->prod[q];
        if (pr->error && !errors) {
            if (!(m->elig[q] = calloc(c->n ? c->n : 1, 1))) rc = TL_ENOMEM;
            continue;
        }
        rc = run_expr(&c->t, pr->eligibility, &m->elig[q], errors ? &errors[q] : NULL);
        if (rc == TL_EBADINPUT) rc = 0; /* the product is offered to nobody; explain says why */
    }
    for (int k = 0; !rc && k < o->nblock + o->nscene; k++) {
        int blk = k < o->nblock;
        char *err = NULL;
        rc = run_expr(&c->t, blk ? o->block[k].expr : o->scene[k - o->nblock].expr,
                      blk ? &m->blk[k] : &m->scn[k - o->nblock], &err);
        if (rc == TL_EBADINPUT)
            tl_errbuf_set(eb, "policy %s \"%s\": %s", blk ? "block" : "scene",
                          blk ? o->block[k].reason : o->scene[k - o->nblock].name, err);
        free(err);
    }
    return rc;
}

/* The columns of rows row0 .. row0 + n - 1 over the profiles, then every
 * expression over them. */
static int evaluate_rows(const tl_offers_t *o, tl_store_t *st, const tl_profiles_t *p,
                         const tl_scorecard_t *sc, uint32_t row0, uint32_t n,
                         const tl_offer_scene_t *scene, uint32_t user, char **errors, masks_t *m,
                         tl_errbuf_t *eb) {
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, eb);
    if (!users) return TL_ENOMEM;
    tl_segtable_t *seg = NULL;
    int rc = tl_segtable_new(p, st, &seg);
    if (rc) return rc;
    const tl_expr_table_t *inner = tl_segtable_expr(seg);
    cols_t c = {.inner = inner, .row0 = row0, .n = n};
    c.t = (tl_expr_table_t){.nrows = n, .ctx = &c, .lookup = cols_lookup, .count = inner->count ? cols_count : NULL};
    rc = cols_fill(&c, o, st, p, users, sc, scene, user, eb);
    if (!rc) rc = evaluate(o, &c, errors, m, eb);
    cols_fini(&c);
    tl_segtable_free(seg);
    return rc;
}

static int load_policy(tl_store_t *st, const char *policy, tl_offers_t **out, tl_errbuf_t *eb) {
    *out = NULL;
    tl_offers_t *o = calloc(1, sizeof *o);
    if (!o) return TL_ENOMEM;
    tl_dict_t *ids = tl_store_dict(st, TL_D_PRODUCT, eb);
    int rc = ids ? parse_policy(o, policy ? policy : TL_OFFERS_DEFAULT_POLICY, eb) : TL_ENOMEM;
    prodctx_t px = {o, ids, 0};
    if (!rc) rc = tl_store_scan_products(st, product_row, &px, eb);
    if (!rc) rc = px.rc;
    if (rc) tl_offers_free(o);
    else *out = o;
    return rc;
}

/* Evaluates rows row0 .. row0 + n - 1 into m, keeping in o the messages
 * of the products that do not compile. */
static int evaluate_keep(tl_offers_t *o, tl_store_t *st, const tl_profiles_t *p, const tl_scorecard_t *sc,
                         uint32_t row0, uint32_t n, const tl_offer_scene_t *scene, uint32_t user, masks_t *m,
                         tl_errbuf_t *eb) {
    char **errors = calloc(o->nprod + 1, sizeof *errors);
    if (!errors) return TL_ENOMEM;
    int rc = evaluate_rows(o, st, p, sc, row0, n, scene, user, errors, m, eb);
    for (uint32_t q = 0; q < o->nprod; q++) {
        free(o->prod[q].error);
        o->prod[q].error = errors[q];
    }
    free(errors);
    return rc;
}

int tl_offers_new(tl_store_t *st, const tl_profiles_t *p, const tl_scorecard_t *sc, const char *policy,
                  const tl_offer_scene_t *scene, uint32_t user, tl_offers_t **out,
                  tl_errbuf_t *eb) {
    int rc = load_policy(st, policy, out, eb);
    if (!rc) rc = evaluate_keep(*out, st, p, sc, 0, tl_profile_nusers(p), scene, user, &(*out)->all, eb);
    if (rc) {
        tl_offers_free(*out);
        *out = NULL;
    }
    return rc;
}

int tl_offers_policy(tl_store_t *st, const tl_profiles_t *p, const char *policy, tl_offers_t **out,
                     tl_errbuf_t *eb) {
    int rc = load_policy(st, policy, out, eb);
    /* compiled once over the first user: the messages of products that do
     * not compile, and a policy rule that does not is an error now */
    masks_t m = {0};
    if (!rc && tl_profile_nusers(p)) rc = evaluate_keep(*out, st, p, NULL, 0, 1, NULL, TL_NONE, &m, eb);
    if (*out) masks_fini(*out, &m);
    if (rc) {
        tl_offers_free(*out);
        *out = NULL;
    }
    return rc;
}

uint32_t tl_offers_nproducts(const tl_offers_t *o) { return o->nprod; }

static int cmp_offer(const void *a, const void *b) {
    const tl_offer_t *x = a, *y = b;
    /* offerable first (scene before not), then blocked, then not eligible; by value */
    int rx = x->blocked ? 2 : !x->eligible ? 3 : x->losing ? 4 : !x->scene,
        ry = y->blocked ? 2 : !y->eligible ? 3 : y->losing ? 4 : !y->scene;
    if (rx != ry) return rx - ry;
    return (x->value < y->value) - (x->value > y->value);
}

/* The offers of row r of m, ranked into out. */
static uint32_t rank(const tl_offers_t *o, const masks_t *m, uint32_t r, const char *scene, tl_offer_t *out) {
    if (r >= m->nrows) return 0;
    double pd = m->pd[r];
    for (uint32_t q = 0; q < o->nprod; q++) {
        const product_t *pr = &o->prod[q];
        tl_offer_t *f = &out[q];
        memset(f, 0, sizeof *f);
        f->product = q, f->id = pr->id, f->kind = pr->kind, f->name = pr->name;
        f->disclosure = pr->disclosure, f->apr = pr->apr, f->term = pr->term;
        f->eligibility = pr->eligibility;
        f->eligible = m->elig[q][r], f->error = pr->error;
        f->amount = pr->lo > 0 && pr->hi > 0 ? sqrt(pr->lo * pr->hi) : pr->hi;
        const kind_t *k = kind_find(o, pr->kind);
        f->credit = k && k->credit;
        f->interest = f->credit && pr->apr > 0 && pr->term > 0 ? f->amount * pr->apr * pr->term / 12 : 0;
        for (int s = 0; scene && s < o->nscene; s++) {
            const scene_t *sc = &o->scene[s];
            if (strcmp(sc->name, scene) != 0 || !m->scn[s][r]) continue;
            for (int i = 0; i < sc->nkinds; i++) f->scene |= strcmp(sc->kinds[i], pr->kind) == 0;
        }
        for (int b = 0; f->credit && b < o->nblock; b++)
            if (m->blk[b][r] && f->nblocks < 8) f->blocks[f->nblocks++] = o->block[b].reason;
        f->blocked = f->nblocks ? f->blocks[0] : NULL;
        f->takeup = (k ? k->takeup : 0) * (f->scene ? o->boost : 1);
        f->value = f->takeup * f->amount *
                   ((k ? k->margin : 0) - (f->credit ? (isnan(pd) ? 1 : pd) * o->loss : 0));
        f->losing = f->value < 0;
    }
    qsort(out, o->nprod, sizeof *out, cmp_offer);
    return o->nprod;
}

int tl_offers_scene_check(const tl_offers_t *o, const char *scene, tl_errbuf_t *eb) {
    if (!scene || strcmp(scene, "home") == 0) return 0;
    for (int s = 0; s < o->nscene; s++)
        if (strcmp(o->scene[s].name, scene) == 0) return 0;
    char names[1024] = "home";
    size_t len = strlen(names);
    for (int s = 0; s < o->nscene; s++) {
        int seen = 0; /* a scene may have several rules */
        for (int t = 0; t < s; t++) seen |= strcmp(o->scene[t].name, o->scene[s].name) == 0;
        if (!seen && len < sizeof names)
            len += (size_t)snprintf(names + len, sizeof names - len, ", %s", o->scene[s].name);
    }
    tl_errbuf_set(eb, "scene \"%s\" is not one of the lending policy's: %s", scene, names);
    return TL_EINVAL;
}

uint32_t tl_offers_for(const tl_offers_t *o, uint32_t user, const char *scene, tl_offer_t *out) {
    return rank(o, &o->all, user, scene, out);
}

/* Keeps every blocked offer of f with its rules in the store's log blob
 * "offers" (DATA/offers.log, JSON Lines), the user named by pseudonym
 * (tl_store_pseudonym). */
static void log_blocked(tl_store_t *st, const char *user, const tl_offer_t *f, uint32_t n) {
    char ps[33];
    tl_errbuf_t eb = {{0}};
    if (tl_store_pseudonym(st, user, strlen(user), ps, &eb) != 0) return;
    tl_buf_t b;
    tl_buf_init(&b);
    char at[32];
    tl_time_format(tl_store_now(st), at);
    for (uint32_t i = 0; i < n; i++) {
        if (!f[i].blocked) continue;
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "at", at);
        cJSON_AddStringToObject(j, "user", ps);
        cJSON_AddStringToObject(j, "product", f[i].id);
        cJSON *r = cJSON_AddArrayToObject(j, "blocked_by");
        for (int k = 0; k < f[i].nblocks; k++) cJSON_AddItemToArray(r, cJSON_CreateString(f[i].blocks[k]));
        char *txt = cJSON_PrintUnformatted(j);
        if (txt) tl_buf_append(&b, txt, strlen(txt)), tl_buf_append(&b, "\n", 1);
        cJSON_free(txt);
        cJSON_Delete(j);
    }
    /* one record: lines of concurrent callers do not interleave; a log
     * that cannot be written does not hold the offers back */
    tl_store_blob_append(st, "offers", b.data, b.len, &eb);
    tl_buf_fini(&b);
}

int tl_offers_user(const tl_offers_t *o, tl_store_t *st, const tl_profiles_t *p, const tl_scorecard_t *sc,
                   uint32_t user, const char *scene, const tl_offer_scene_t *ctx, tl_offer_t *out,
                   uint32_t *n, tl_errbuf_t *eb) {
    *n = 0;
    int rc = tl_offers_scene_check(o, scene, eb);
    if (rc || user >= tl_profile_nusers(p)) return rc;
    masks_t m = {0};
    rc = evaluate_rows(o, st, p, sc, user, 1, ctx, user, NULL, &m, eb);
    if (!rc) *n = rank(o, &m, 0, scene, out);
    masks_fini(o, &m);
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
    const char *id = users ? tl_dict_str(users, user, NULL) : NULL;
    if (id) log_blocked(st, id, out, *n);
    return rc;
}

/* ---- output ------------------------------------------------------------------------------ */

static cJSON *offer_json(const tl_offer_t *f) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "product", f->id);
    cJSON_AddStringToObject(o, "kind", f->kind);
    cJSON_AddStringToObject(o, "name", f->name);
    cJSON_AddNumberToObject(o, "expected_value", f->value);
    cJSON_AddNumberToObject(o, "takeup", f->takeup);
    cJSON_AddNumberToObject(o, "amount", f->amount);
    cJSON_AddNumberToObject(o, "apr", f->apr);
    cJSON_AddNumberToObject(o, "term_months", f->term);
    cJSON_AddBoolToObject(o, "scene", f->scene);
    cJSON_AddStringToObject(o, "disclosure", f->disclosure);
    if (f->credit) cJSON_AddNumberToObject(o, "interest_on_amount", f->interest);
    if (f->blocked) {
        cJSON *b = cJSON_AddArrayToObject(o, "blocked_by");
        for (int k = 0; k < f->nblocks; k++) cJSON_AddItemToArray(b, cJSON_CreateString(f->blocks[k]));
    }
    if (!f->eligible) cJSON_AddStringToObject(o, "not_eligible", f->error ? f->error : f->eligibility);
    else if (f->losing) cJSON_AddStringToObject(o, "losing", "the expected loss exceeds the margin");
    return o;
}

cJSON *tl_offers_json(const char *user, const char *scene, const tl_offer_t *f, uint32_t total,
                      uint32_t n, int explain) {
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "offers"), *ex = NULL;
    cJSON_AddStringToObject(j, "user", user);
    cJSON_AddStringToObject(j, "scene", scene);
    if (explain) ex = cJSON_AddArrayToObject(j, "not_offered");
    uint32_t shown = 0;
    for (uint32_t i = 0; i < total; i++) {
        int offerable = f[i].eligible && !f[i].blocked && !f[i].losing;
        if (offerable && shown < n) cJSON_AddItemToArray(arr, offer_json(&f[i])), shown++;
        else if (!offerable && ex) cJSON_AddItemToArray(ex, offer_json(&f[i]));
    }
    return j;
}

