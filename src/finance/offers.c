/* offers.c -- financial offers: which of the product catalogue a user may
 * be offered, which a scene brings forward, which the lending policy blocks
 * and why, ranked by expected value, each with its risk disclosure.
 *
 * Everything that decides is data. The products (the store's `products`
 * table) carry their eligibility as an expression; the policy (text, see
 * TL_OFFERS_DEFAULT_POLICY) says which kinds are credit, which rules block
 * credit, which conditions make a scene bring kinds forward, and the
 * margins, take-up rates and losses the ranking uses. Expressions run over
 * the users' profiles plus columns added here: credit_band and pd (the
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
    uint8_t *mask; /* users it holds for */
} rule_t;

typedef struct {
    char *name, *expr;
    char kinds[MAX_KINDS][32];
    int nkinds;
    uint8_t *mask;
} scene_t;

typedef struct {
    char name[32];
    double takeup, margin;
    int credit;
} kind_t;

typedef struct {
    char *id, *kind, *name, *eligibility, *disclosure;
    double term, apr, lo, hi;
    uint8_t *mask; /* eligible users */
    char *error;   /* the eligibility expression does not compile */
} product_t;

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
    uint32_t nprod, nusers;
    double *pd; /* per user, NaN without a score */
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

void tl_offers_free(tl_offers_t *o) {
    if (!o) return;
    for (int i = 0; i < o->nblock; i++) free(o->block[i].reason), free(o->block[i].expr), free(o->block[i].mask);
    for (int i = 0; i < o->nscene; i++) free(o->scene[i].name), free(o->scene[i].expr), free(o->scene[i].mask);
    for (uint32_t p = 0; p < o->nprod; p++) {
        product_t *q = &o->prod[p];
        free(q->id), free(q->kind), free(q->name), free(q->eligibility), free(q->disclosure);
        free(q->mask), free(q->error);
    }
    free(o->prod), free(o->pd);
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

typedef struct {
    tl_offers_t *o;
    uint32_t *band;      /* income band code per user */
    double *debt;
    tl_dict_t *labels;
} creditctx_t;

static int credit_row(int n, const char *const *c, void *arg) {
    creditctx_t *x = arg;
    if (n != 3 || !c[0]) return 0;
    uint32_t u = (uint32_t)strtoul(c[0], NULL, 10);
    if (u >= x->o->nusers) return 0;
    if (c[1] && *c[1] && tl_dict_intern(x->labels, c[1], strlen(c[1]), &x->band[u], NULL))
        return TL_ENOMEM;
    if (c[2] && *c[2]) x->debt[u] = strtod(c[2], NULL);
    return 0;
}

typedef struct {
    tl_offers_t *o;
    tl_profiles_t *p;
    tl_dict_t *purposes;
    uint32_t **cols; /* per purpose, per user: 1 granted, 0 not */
    int64_t **at;
    int rc;
} consentctx_t;

static int consent_row(int n, const char *const *c, void *arg) {
    consentctx_t *x = arg;
    if (n != 4 || !c[0] || !c[1]) return 0;
    uint32_t u = (uint32_t)strtoul(c[0], NULL, 10), k;
    int added = 0;
    if (u >= x->o->nusers) return 0;
    if (tl_dict_intern(x->purposes, c[1], strlen(c[1]), &k, &added)) return x->rc = TL_ENOMEM;
    if (added) {
        uint32_t **nc = realloc(x->cols, (k + 1) * sizeof *nc);
        int64_t **na = nc ? realloc(x->at, (k + 1) * sizeof *na) : NULL;
        if (nc) x->cols = nc;
        if (na) x->at = na;
        if (!nc || !na || !(x->cols[k] = calloc(x->o->nusers, sizeof **x->cols)) ||
            !(x->at[k] = malloc(x->o->nusers * sizeof **x->at)))
            return x->rc = TL_ENOMEM;
        for (uint32_t i = 0; i < x->o->nusers; i++) x->at[k][i] = INT64_MIN;
    }
    int64_t at = c[3] ? strtoll(c[3], NULL, 10) : 0;
    if (at >= x->at[k][u]) x->at[k][u] = at, x->cols[k][u] = c[2] && atoi(c[2]) != 0;
    return 0;
}

static int add_columns(tl_offers_t *o, tl_store_t *st, tl_profiles_t *p, const tl_scorecard_t *sc,
                       const tl_dict_t *users, const tl_offer_scene_t *scene, uint32_t user,
                       tl_errbuf_t *eb) {
    uint32_t n = o->nusers;
    int rc = 0;
    /* the score: PD and band of everybody */
    uint32_t *band = malloc(n * sizeof *band);
    tl_dict_t *bands = tl_dict_new();
    o->pd = malloc(n * sizeof *o->pd);
    if (!band || !bands || !o->pd) {
        free(band), tl_dict_free(bands);
        return TL_ENOMEM;
    }
    for (uint32_t u = 0; u < n; u++) band[u] = TL_NONE, o->pd[u] = NAN;
    static const char *const BANDS[TL_NBANDS] = {"A", "B", "C", "D", "E"};
    for (int k = 0; k < TL_NBANDS && !rc; k++) {
        uint32_t code;
        rc = tl_dict_intern(bands, BANDS[k], 1, &code, NULL);
    }
    if (!rc && sc) {
        tl_table_t t;
        tl_scorer_t *s = NULL;
        rc = tl_score_users_table(p, users, &t);
        if (!rc) rc = tl_scorer_new(sc, &t, &s, eb);
        for (uint32_t u = 0; !rc && u < t.nrows && u < n; u++) {
            tl_score_t res;
            tl_scorer_row(s, u, &res);
            o->pd[u] = res.pd, band[u] = (uint32_t)res.band;
        }
        tl_scorer_free(s);
        tl_table_fini(&t);
    }
    if (rc) {
        free(band), tl_dict_free(bands);
        return rc;
    }
    /* set_column owns what it is given, also when it fails */
    double *pd = malloc(n * sizeof *pd);
    if (pd) memcpy(pd, o->pd, n * sizeof *pd);
    rc = tl_profile_set_column(p, "credit_band", TL_COL_CAT, band, bands);
    if (!rc) rc = pd ? tl_profile_set_column(p, "pd", TL_COL_NUM, pd, NULL) : TL_ENOMEM;
    else free(pd);
    /* income band and debt ratio from the credit records */
    creditctx_t cx = {o, malloc(n * sizeof(uint32_t)), malloc(n * sizeof(double)), tl_dict_new()};
    if (!rc && (!cx.band || !cx.debt || !cx.labels)) rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < n; u++) cx.band[u] = TL_NONE, cx.debt[u] = NAN;
    if (!rc) rc = tl_store_query(st, "SELECT user, income_band, debt FROM credit", credit_row, &cx, eb);
    double *ratio = rc ? NULL : malloc(n * sizeof *ratio);
    if (!rc && !ratio) rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < n; u++) {
        ratio[u] = NAN;
        const char *b = cx.band[u] != TL_NONE ? tl_dict_str(cx.labels, cx.band[u], NULL) : NULL;
        for (int k = 0; b && k < o->nincome; k++)
            if (strcmp(o->income_band[k], b) == 0 && o->income[k] > 0)
                ratio[u] = (isnan(cx.debt[u]) ? 0 : cx.debt[u]) / o->income[k];
    }
    if (!rc) {
        rc = tl_profile_set_column(p, "income_band", TL_COL_CAT, cx.band, cx.labels);
        cx.band = NULL, cx.labels = NULL;
    }
    if (!rc) rc = tl_profile_set_column(p, "debt_ratio", TL_COL_NUM, ratio, NULL), ratio = NULL;
    free(cx.band), free(cx.debt), free(ratio);
    tl_dict_free(cx.labels);
    /* consents, the latest record of each purpose */
    consentctx_t kx = {o, p, tl_dict_new(), NULL, NULL, 0};
    if (!rc && !kx.purposes) rc = TL_ENOMEM;
    if (!rc) rc = tl_store_query(st, "SELECT user, purpose, granted, at FROM consents", consent_row, &kx, eb);
    if (!rc) rc = kx.rc;
    uint32_t np = kx.purposes ? tl_dict_count(kx.purposes) : 0;
    for (uint32_t k = 0; k < np; k++) {
        char name[96];
        snprintf(name, sizeof name, "consent_%s", tl_dict_str(kx.purposes, k, NULL));
        if (!rc) rc = tl_profile_set_column(p, name, TL_COL_COUNT, kx.cols[k], NULL);
        else free(kx.cols[k]);
        free(kx.at[k]);
    }
    if (!rc && tl_dict_find(kx.purposes, "credit_offers", 13) == TL_NONE) { /* none recorded */
        uint32_t *none = calloc(n, sizeof *none);
        rc = none ? tl_profile_set_column(p, "consent_credit_offers", TL_COL_COUNT, none, NULL) : TL_ENOMEM;
    }
    free(kx.cols), free(kx.at);
    tl_dict_free(kx.purposes);
    /* what just happened, for the caller's user only */
    double *amount = rc ? NULL : malloc(n * sizeof *amount);
    uint32_t *cat = rc ? NULL : malloc(n * sizeof *cat);
    tl_dict_t *cats = rc ? NULL : tl_dict_new();
    if (!rc && (!amount || !cat || !cats)) rc = TL_ENOMEM;
    for (uint32_t u = 0; !rc && u < n; u++) amount[u] = NAN, cat[u] = TL_NONE;
    if (!rc && scene && user < n) {
        amount[user] = scene->amount;
        if (scene->category && *scene->category)
            rc = tl_dict_intern(cats, scene->category, strlen(scene->category), &cat[user], NULL);
    }
    if (!rc) rc = tl_profile_set_column(p, "scene_amount", TL_COL_NUM, amount, NULL), amount = NULL;
    if (!rc) rc = tl_profile_set_column(p, "scene_category", TL_COL_CAT, cat, cats), cat = NULL, cats = NULL;
    free(amount), free(cat);
    tl_dict_free(cats);
    return rc;
}

/* ---- evaluation ----------------------------------------------------------------------- */

typedef struct {
    tl_offers_t *o;
    tl_dict_t *ids;
    int rc;
} prodctx_t;

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static int product_row(int n, const char *const *c, void *arg) {
    prodctx_t *x = arg;
    if (n != 9 || !c[0]) return 0;
    tl_offers_t *o = x->o;
    product_t *np = realloc(o->prod, (o->nprod + 1) * sizeof *np);
    if (!np) return x->rc = TL_ENOMEM;
    o->prod = np;
    product_t *q = &o->prod[o->nprod++];
    memset(q, 0, sizeof *q);
    uint32_t idx = (uint32_t)strtoul(c[0], NULL, 10);
    const char *id = idx < tl_dict_count(x->ids) ? tl_dict_str(x->ids, idx, NULL) : c[0];
    q->id = dup_or_empty(id), q->kind = dup_or_empty(c[1]), q->name = dup_or_empty(c[2]);
    q->eligibility = dup_or_empty(c[7]), q->disclosure = dup_or_empty(c[8]);
    q->term = c[3] ? strtod(c[3], NULL) : 0, q->apr = c[4] ? strtod(c[4], NULL) : 0;
    q->lo = c[5] ? strtod(c[5], NULL) : 0, q->hi = c[6] ? strtod(c[6], NULL) : 0;
    if (!q->id || !q->kind || !q->name || !q->eligibility || !q->disclosure) return x->rc = TL_ENOMEM;
    return 0;
}

/* Runs expr over every user into *mask; a message in *error when it does
 * not compile (the mask is then all 0). */
static int run_expr(tl_segtable_t *t, const char *expr, uint32_t n, uint8_t **mask, char **error) {
    *mask = calloc(n ? n : 1, 1);
    if (!*mask) return TL_ENOMEM;
    if (!*expr) {
        memset(*mask, 1, n);
        return 0;
    }
    tl_expr_err_t err;
    uint32_t size;
    int rc = tl_segment_eval(t, expr, *mask, &size, &err);
    if (rc == TL_ENOMEM) return rc;
    if (rc) {
        memset(*mask, 0, n);
        char msg[600];
        tl_expr_format_error(expr, &err, msg, sizeof msg);
        if (error && !(*error = strdup(msg))) return TL_ENOMEM;
        return TL_EBADINPUT;
    }
    return 0;
}

int tl_offers_new(tl_store_t *st, tl_profiles_t *p, const tl_scorecard_t *sc, const char *policy,
                  const tl_offer_scene_t *scene, uint32_t user, tl_offers_t **out,
                  tl_errbuf_t *eb) {
    *out = NULL;
    tl_offers_t *o = calloc(1, sizeof *o);
    if (!o) return TL_ENOMEM;
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, eb), *ids = tl_store_dict(st, TL_D_PRODUCT, eb);
    o->nusers = tl_profile_nusers(p);
    int rc = users && ids ? parse_policy(o, policy ? policy : TL_OFFERS_DEFAULT_POLICY, eb)
                          : TL_ENOMEM;
    if (!rc) rc = add_columns(o, st, p, sc, users, scene, user, eb);
    prodctx_t px = {o, ids, 0};
    if (!rc) rc = tl_store_query(st, "SELECT idx, kind, name, term_months, apr, amount_min, "
                                     "amount_max, eligibility, disclosure FROM products ORDER BY idx",
                                 product_row, &px, eb);
    if (!rc) rc = px.rc;
    tl_segtable_t *t = NULL;
    if (!rc) rc = tl_segtable_new(p, st, &t);
    for (uint32_t q = 0; !rc && q < o->nprod; q++) {
        rc = run_expr(t, o->prod[q].eligibility, o->nusers, &o->prod[q].mask, &o->prod[q].error);
        if (rc == TL_EBADINPUT) rc = 0; /* the product is offered to nobody; explain says why */
    }
    char *err = NULL;
    for (int k = 0; !rc && k < o->nblock + o->nscene; k++) {
        int blk = k < o->nblock;
        const char *expr = blk ? o->block[k].expr : o->scene[k - o->nblock].expr;
        uint8_t **mask = blk ? &o->block[k].mask : &o->scene[k - o->nblock].mask;
        rc = run_expr(t, expr, o->nusers, mask, &err);
        if (rc == TL_EBADINPUT) {
            tl_errbuf_set(eb, "policy %s \"%s\": %s", blk ? "block" : "scene",
                          blk ? o->block[k].reason : o->scene[k - o->nblock].name, err);
            free(err);
        }
    }
    tl_segtable_free(t);
    if (rc) {
        tl_offers_free(o);
        return rc;
    }
    *out = o;
    return 0;
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

uint32_t tl_offers_for(const tl_offers_t *o, uint32_t user, const char *scene, tl_offer_t *out) {
    if (user >= o->nusers) return 0;
    double pd = o->pd[user];
    for (uint32_t q = 0; q < o->nprod; q++) {
        const product_t *pr = &o->prod[q];
        tl_offer_t *f = &out[q];
        memset(f, 0, sizeof *f);
        f->product = q, f->id = pr->id, f->kind = pr->kind, f->name = pr->name;
        f->disclosure = pr->disclosure, f->apr = pr->apr, f->term = pr->term;
        f->eligibility = pr->eligibility;
        f->eligible = pr->mask[user], f->error = pr->error;
        f->amount = pr->lo > 0 && pr->hi > 0 ? sqrt(pr->lo * pr->hi) : pr->hi;
        const kind_t *k = kind_find(o, pr->kind);
        f->credit = k && k->credit;
        f->interest = f->credit && pr->apr > 0 && pr->term > 0 ? f->amount * pr->apr * pr->term / 12 : 0;
        for (int s = 0; scene && s < o->nscene; s++) {
            const scene_t *sc = &o->scene[s];
            if (strcmp(sc->name, scene) != 0 || !sc->mask[user]) continue;
            for (int i = 0; i < sc->nkinds; i++) f->scene |= strcmp(sc->kinds[i], pr->kind) == 0;
        }
        for (int b = 0; f->credit && b < o->nblock; b++)
            if (o->block[b].mask[user] && f->nblocks < 8) f->blocks[f->nblocks++] = o->block[b].reason;
        f->blocked = f->nblocks ? f->blocks[0] : NULL;
        f->takeup = (k ? k->takeup : 0) * (f->scene ? o->boost : 1);
        f->value = f->takeup * f->amount *
                   ((k ? k->margin : 0) - (f->credit ? (isnan(pd) ? 1 : pd) * o->loss : 0));
        f->losing = f->value < 0;
    }
    qsort(out, o->nprod, sizeof *out, cmp_offer);
    return o->nprod;
}
