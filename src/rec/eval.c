/* eval.c -- offline evaluation: the train / test splits (by time and
 * leave-last-out, built in memory from the interactions of one scan), and
 * the metrics of a model's top K against the test items on two cores
 * (precision, recall, NDCG, MAP, hit rate, coverage, novelty, intra-list
 * diversity, exposure Gini, per user group); and an evaluation end to end
 * (tl_rec_evaluate), so every front end splits and measures alike. */
#include "rec_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const tl_model_t *m;
    const tl_csr_t *train, *test;
    const tl_eval_opts_t *o;
    const double *logpop; /* -log2 share of training users per item */
    const float *pop;     /* training users per item: the cold-start scores */
    uint32_t k, from, to, cold;
    tl_eval_part_t all, group[TL_EVAL_MAX_GROUPS];
    double novelty, diversity;
    uint32_t lists;
    uint32_t *shown; /* times each item was recommended */
} evjob_t;

static void add_part(tl_eval_part_t *p, double prec, double rec, double ndcg, double map, int hit) {
    p->users++;
    p->precision += prec, p->recall += rec, p->ndcg += ndcg, p->map += map, p->hit_rate += hit;
}

static void *eval_part(void *arg) {
    evjob_t *j = arg;
    uint32_t n = j->m->nitems;
    float *s = malloc((size_t)(n ? n : 1) * sizeof *s), *top_s = malloc(j->k * sizeof *top_s);
    uint8_t *seen = j->o->content ? calloc(n ? n : 1, 1) : NULL;
    uint32_t *top = malloc(j->k * sizeof *top);
    if (!s || !top_s || !top || (j->o->content && !seen)) goto done;
    for (uint32_t u = j->from; u < j->to; u++) {
        uint64_t a = j->test->rowptr[u], b = j->test->rowptr[u + 1];
        if (a == b) continue;
        if (j->train->rowptr[u] == j->train->rowptr[u + 1]) {
            /* no history: the popular items, as served */
            if (j->o->cold && j->o->cold->nitems == n) tl__rec_scores(j->o->cold, j->train, u, s, n);
            else memcpy(s, j->pop, n * sizeof *s);
            j->cold++;
        } else {
            tl__rec_scores(j->m, j->train, u, s, n);
        }
        if (seen && !tl__model_ops(j->m)->popular) { /* the user's training items, for new items */
            for (uint64_t q = j->train->rowptr[u]; q < j->train->rowptr[u + 1]; q++)
                if (j->train->col[q] < n) seen[j->train->col[q]] = 1;
            tl__content_fill(j->o->content, s, n, seen);
            for (uint64_t q = j->train->rowptr[u]; q < j->train->rowptr[u + 1]; q++)
                if (j->train->col[q] < n) seen[j->train->col[q]] = 0;
        }
        uint32_t got = tl__rec_select_top(s, n, j->train, u, j->k, top, top_s);
        uint32_t hits = 0, ntest = (uint32_t)(b - a);
        double dcg = 0, ap = 0, nov = 0;
        for (uint32_t r = 0; r < got; r++) {
            j->shown[top[r]]++;
            nov += j->logpop[top[r]];
            /* test rows are sorted: binary search */
            uint64_t lo = a, hi = b;
            while (lo < hi) {
                uint64_t mid = (lo + hi) / 2;
                if (j->test->col[mid] < top[r]) lo = mid + 1;
                else hi = mid;
            }
            if (lo < b && j->test->col[lo] == top[r]) {
                hits++;
                dcg += 1.0 / log2(r + 2.0);
                ap += (double)hits / (r + 1);
            }
        }
        if (got) {
            j->novelty += nov / got;
            if (j->o->item_cat && got > 1) {
                uint32_t diff = 0, pairs = 0;
                for (uint32_t x = 0; x < got; x++)
                    for (uint32_t y = x + 1; y < got; y++, pairs++)
                        diff += j->o->item_cat[top[x]] != j->o->item_cat[top[y]];
                j->diversity += (double)diff / pairs;
            }
            j->lists++;
        }
        uint32_t cut = ntest < j->k ? ntest : j->k;
        double idcg = 0;
        for (uint32_t r = 0; r < cut; r++) idcg += 1.0 / log2(r + 2.0);
        double prec = (double)hits / j->k, rec = (double)hits / ntest, nd = dcg / idcg,
               mp = ap / cut;
        add_part(&j->all, prec, rec, nd, mp, hits > 0);
        uint32_t g = j->o->group ? j->o->group[u] : TL_NONE;
        if (g != TL_NONE && g < j->o->ngroups && g < TL_EVAL_MAX_GROUPS)
            add_part(&j->group[g], prec, rec, nd, mp, hits > 0);
    }
done:
    free(s), free(top_s), free(top), free(seen);
    return NULL;
}

static void finish_part(tl_eval_part_t *out, const tl_eval_part_t *a, const tl_eval_part_t *b) {
    out->users = a->users + b->users;
    if (!out->users) return;
    out->precision = (a->precision + b->precision) / out->users;
    out->recall = (a->recall + b->recall) / out->users;
    out->ndcg = (a->ndcg + b->ndcg) / out->users;
    out->map = (a->map + b->map) / out->users;
    out->hit_rate = (a->hit_rate + b->hit_rate) / out->users;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int tl_rec_eval(const tl_model_t *m, const tl_csr_t *train, const tl_csr_t *test,
                const tl_eval_opts_t *o, tl_eval_t *out) {
    memset(out, 0, sizeof *out);
    uint32_t k = o->k, ni = m->nitems ? m->nitems : 1;
    if (!k || test->nusers > train->nusers || m->nitems < train->nitems) return TL_EINVAL;
    /* one "shown" table per thread, merged at the end */
    uint32_t *shown = calloc(2 * (size_t)ni, sizeof *shown);
    double *logpop = malloc(ni * sizeof *logpop);
    float *pop = calloc(ni, sizeof *pop);
    if (!shown || !logpop || !pop) {
        free(shown), free(logpop), free(pop);
        return TL_ENOMEM;
    }
    uint32_t trained = 0;
    for (uint32_t u = 0; u < train->nusers; u++) trained += train->rowptr[u + 1] > train->rowptr[u];
    for (uint64_t q = 0; q < train->nnz; q++) pop[train->col[q]] += 1;
    for (uint32_t i = 0; i < ni; i++)
        logpop[i] = -log2((pop[i] + 1) / ((double)trained + 1)); /* +1: unseen items finite */
    evjob_t j[2];
    for (int h = 0; h < 2; h++) {
        memset(&j[h], 0, sizeof j[h]);
        j[h].m = m, j[h].train = train, j[h].test = test, j[h].o = o, j[h].logpop = logpop, j[h].pop = pop;
        j[h].k = k, j[h].shown = shown + (size_t)h * ni;
        j[h].from = h ? test->nusers / 2 : 0, j[h].to = h ? test->nusers : test->nusers / 2;
    }
    pthread_t th;
    int threaded = pthread_create(&th, NULL, eval_part, &j[1]) == 0;
    eval_part(&j[0]);
    if (threaded) pthread_join(th, NULL);
    else eval_part(&j[1]);
    tl_eval_part_t all;
    finish_part(&all, &j[0].all, &j[1].all);
    out->k = k, out->users = all.users, out->cold = j[0].cold + j[1].cold;
    out->precision = all.precision, out->recall = all.recall, out->ndcg = all.ndcg;
    out->map = all.map, out->hit_rate = all.hit_rate;
    for (uint32_t g = 0; g < o->ngroups && g < TL_EVAL_MAX_GROUPS; g++)
        finish_part(&out->group[g], &j[0].group[g], &j[1].group[g]);
    uint32_t lists = j[0].lists + j[1].lists;
    if (lists) {
        out->novelty = (j[0].novelty + j[1].novelty) / lists;
        out->diversity = (j[0].diversity + j[1].diversity) / lists;
    }
    /* coverage and the Gini coefficient of exposure over the catalogue */
    uint32_t c = 0;
    double total = 0, weighted = 0;
    for (uint32_t i = 0; i < ni; i++) {
        shown[i] += shown[ni + i];
        c += shown[i] > 0;
        total += shown[i];
    }
    qsort(shown, ni, sizeof *shown, cmp_u32);
    for (uint32_t i = 0; i < ni; i++) weighted += (double)(i + 1) * shown[i];
    out->coverage = (double)c / ni;
    out->gini = total > 0 ? (2 * weighted) / (ni * total) - (ni + 1.0) / ni : 0;
    free(shown), free(logpop), free(pop);
    return 0;
}

void tl_csr_drop_seen(tl_csr_t *test, const tl_csr_t *train) {
    uint64_t w = 0;
    for (uint32_t u = 0; u < test->nusers; u++) {
        uint64_t a = test->rowptr[u], b = test->rowptr[u + 1];
        uint64_t p = u < train->nusers ? train->rowptr[u] : 0,
                 pe = u < train->nusers ? train->rowptr[u + 1] : 0;
        test->rowptr[u] = w;
        for (uint64_t q = a; q < b; q++) { /* both rows ascend: one merge pass */
            while (p < pe && train->col[p] < test->col[q]) p++;
            if (p < pe && train->col[p] == test->col[q]) continue;
            test->col[w] = test->col[q], test->val[w++] = test->val[q];
        }
    }
    test->rowptr[test->nusers] = w;
    test->nnz = w;
}

/* ---- splits ---------------------------------------------------------------------------- */

/* Leave-last-out from the whole matrix: each user's last item (TL_NONE:
 * none) to test when the row has two items or more. */
static int split_last(const tl_csr_t *all, const uint32_t *last_item, tl_csr_t *train, tl_csr_t *test) {
    train->nusers = test->nusers = all->nusers;
    train->nitems = test->nitems = all->nitems;
    train->rowptr = calloc((size_t)all->nusers + 1, sizeof *train->rowptr);
    test->rowptr = calloc((size_t)all->nusers + 1, sizeof *test->rowptr);
    train->col = malloc((all->nnz ? all->nnz : 1) * sizeof *train->col);
    train->val = malloc((all->nnz ? all->nnz : 1) * sizeof *train->val);
    test->col = malloc((size_t)(all->nusers ? all->nusers : 1) * sizeof *test->col);
    test->val = malloc((size_t)(all->nusers ? all->nusers : 1) * sizeof *test->val);
    if (!train->rowptr || !test->rowptr || !train->col || !train->val || !test->col || !test->val)
        return TL_ENOMEM;
    for (uint32_t u = 0; u < all->nusers; u++) {
        uint64_t a = all->rowptr[u], b = all->rowptr[u + 1];
        int split = b - a >= 2 && last_item[u] != TL_NONE;
        for (uint64_t q = a; q < b; q++) {
            if (split && all->col[q] == last_item[u]) {
                test->col[test->nnz] = all->col[q], test->val[test->nnz++] = all->val[q];
            } else {
                train->col[train->nnz] = all->col[q], train->val[train->nnz++] = all->val[q];
            }
        }
        train->rowptr[u + 1] = train->nnz;
        test->rowptr[u + 1] = test->nnz;
    }
    return 0;
}

/* Each user's latest interaction: by time, then the larger item. */
static void keep_last(int64_t *last_ts, uint32_t *last_item, uint32_t u, uint32_t i, int64_t ts) {
    if (ts > last_ts[u] || (ts == last_ts[u] && i > last_item[u])) last_ts[u] = ts, last_item[u] = i;
}

/* Per user, TL_NONE and the earliest time. */
static int last_arrays(uint32_t nusers, int64_t **ts, uint32_t **item) {
    *ts = malloc((size_t)(nusers ? nusers : 1) * sizeof **ts);
    *item = malloc((size_t)(nusers ? nusers : 1) * sizeof **item);
    if (!*ts || !*item) return TL_ENOMEM;
    for (uint32_t u = 0; u < nusers; u++) (*ts)[u] = INT64_MIN, (*item)[u] = TL_NONE;
    return 0;
}

int tl_rec_split(const tl_interactions_t *in, const tl_split_opts_t *so, tl_csr_t *train,
                 tl_csr_t *test, int64_t *cut) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    *cut = 0;
    int rc;
    if (so->kind == TL_SPLIT_TIME) {
        int64_t span = (int64_t)so->test_days * 86400000;
        int64_t c = in->latest > INT64_MIN + span ? in->latest - span + 1 : INT64_MIN + 1;
        rc = tl__interactions_matrix(in, INT64_MIN, c, c, train);
        if (!rc) rc = tl__interactions_matrix(in, c, INT64_MAX, c, test);
        if (!rc) *cut = c;
    } else {
        tl_csr_t all;
        int64_t *last_ts = NULL;
        uint32_t *last_item = NULL;
        rc = tl__interactions_matrix(in, 0, 0, in->latest, &all);
        if (!rc) {
            rc = last_arrays(in->nusers, &last_ts, &last_item);
            for (size_t q = 0; !rc && q < in->n; q++)
                keep_last(last_ts, last_item, in->t[q].u, in->t[q].i, in->ts[q]);
            if (!rc) rc = split_last(&all, last_item, train, test);
            tl_csr_fini(&all);
        }
        free(last_ts), free(last_item);
    }
    if (rc) tl_csr_fini(train), tl_csr_fini(test);
    return rc;
}

/* ---- a validation part carved from the training ------------------------------------- */

typedef struct {
    uint32_t u, i;
    int64_t ts;
    size_t q;
} ixrow_t;

static int cmp_ixrow(const void *a, const void *b) {
    const ixrow_t *x = a, *y = b;
    if (x->u != y->u) return x->u < y->u ? -1 : 1;
    if (x->i != y->i) return x->i < y->i ? -1 : 1;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

/* A user's item with the time of its latest interaction and its rows. */
typedef struct {
    uint32_t i;
    int64_t ts;
    size_t a, b;
} useritem_t;

static int cmp_useritem(const void *a, const void *b) {
    const useritem_t *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static int in_row(const tl_csr_t *x, uint32_t u, uint32_t i) {
    if (u >= x->nusers) return 0;
    uint64_t lo = x->rowptr[u], hi = x->rowptr[u + 1];
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (x->col[mid] < i) lo = mid + 1;
        else hi = mid;
    }
    return lo < x->rowptr[u + 1] && x->col[lo] == i;
}

/* Marks each interaction of the training (a pair of train's, before cut)
 * 1 to fit or 2 to validate, the rest 0: per user, the items ordered by
 * their latest interaction (then by index), the latest share of them (at
 * least one; share 0: one) validate when the user has two items or more.
 * shuffled: the items ordered by a fixed hash of the pair instead, a share
 * drawn at random (a test that is no later than the training). */
static int carve_validation(const tl_interactions_t *in, const tl_csr_t *train, int64_t cut, double share,
                            int shuffled, uint8_t *mark) {
    ixrow_t *r = malloc((in->n ? in->n : 1) * sizeof *r);
    useritem_t *ui = NULL;
    size_t n = 0, cap = 0;
    if (!r) return TL_ENOMEM;
    memset(mark, 0, in->n);
    for (size_t q = 0; q < in->n; q++)
        if (in->ts[q] < cut && in_row(train, in->t[q].u, in->t[q].i))
            r[n++] = (ixrow_t){in->t[q].u, in->t[q].i, in->ts[q], q};
    if (n) qsort(r, n, sizeof *r, cmp_ixrow);
    for (size_t a = 0; a < n;) {
        size_t b = a, m = 0;
        while (b < n && r[b].u == r[a].u) b++;
        for (size_t x = a; x < b;) { /* the user's items, each with its latest time */
            size_t y = x;
            while (y < b && r[y].i == r[x].i) y++;
            if (m == cap) {
                useritem_t *g = realloc(ui, (cap = cap ? 2 * cap : 64) * sizeof *ui);
                if (!g) {
                    free(r), free(ui);
                    return TL_ENOMEM;
                }
                ui = g;
            }
            int64_t key = r[y - 1].ts;
            if (shuffled) {
                uint32_t pair[2] = {r[x].u, r[x].i};
                key = (int64_t)(tl_hash64(pair, sizeof pair, 0x7a11) >> 1);
            }
            ui[m++] = (useritem_t){r[x].i, key, x, y};
            x = y;
        }
        qsort(ui, m, sizeof *ui, cmp_useritem);
        size_t hold = share > 0 ? (size_t)(share * (double)m) : 1;
        if (hold < 1) hold = 1;
        if (m < 2) hold = 0;
        if (hold >= m) hold = m - 1;
        for (size_t k = 0; k < m; k++)
            for (size_t x = ui[k].a; x < ui[k].b; x++) mark[r[x].q] = k + hold >= m ? 2 : 1;
        a = b;
    }
    free(r), free(ui);
    return 0;
}

/* ---- an evaluation end to end ------------------------------------------------------ */

/* The train and test matrices: split in memory from one scan, or at an
 * event of the log (the test empty when tuning); *latest the latest
 * event's time; *in (when in is given) the interactions of the training
 * with their times, *train_before the time the training ends before,
 * *interleaved whether test interactions come before the training's
 * latest (a given test file drawn from the same time). */
static int eval_split(tl_store_t *st, const tl_rec_evaluate_opts_t *o, tl_csr_t *tr, tl_csr_t *te,
                      int64_t *cut, int64_t *latest, tl_interactions_t **in, int64_t *train_before,
                      int *interleaved, tl_errbuf_t *eb) {
    *cut = 0;
    *train_before = INT64_MAX;
    *interleaved = 0;
    if (o->train_events) {
        tl_store_evstats_t es = {0};
        int rc = tl_store_event_stats(st, &es, eb);
        *latest = es.max_ts;
        tl_store_evstats_fini(&es);
        tl_interact_opts_t ix = o->ix;
        ix.decay_to = *latest;
        if (!rc) rc = tl_rec_matrix(st, 0, o->train_events, &ix, tr, eb);
        if (!rc) rc = tl_rec_matrix(st, o->train_events, UINT64_MAX, &ix, te, eb);
        tl_interactions_t *later = NULL;
        if (!rc && in) rc = tl__interactions_load_range(st, &o->ix, 0, o->train_events, in, eb);
        if (!rc && in) rc = tl__interactions_load_range(st, &o->ix, o->train_events, UINT64_MAX, &later, eb);
        int64_t train_last = INT64_MIN;
        for (size_t q = 0; !rc && in && q < (*in)->n; q++)
            if ((*in)->ts[q] > train_last) train_last = (*in)->ts[q];
        for (size_t q = 0; later && q < later->n && !*interleaved; q++) *interleaved = later->ts[q] < train_last;
        tl_rec_interactions_free(later);
        return rc;
    }
    tl_interactions_t *all;
    int rc = tl_rec_interactions_load(st, &o->ix, &all, eb);
    if (rc) return rc;
    *latest = tl_rec_interactions_latest(all);
    if (o->select == TL_SELECT_TUNE) {
        rc = tl__interactions_matrix(all, 0, 0, *latest, tr);
        if (!rc) rc = tl__csr_from_trips(NULL, 0, all->nusers, all->nitems, 0, te);
        /* the last test_days validate when the log spans twice as long */
        int64_t earliest = *latest, span = (int64_t)o->split.test_days * 86400000;
        for (size_t q = 0; q < all->n; q++)
            if (all->ts[q] < earliest) earliest = all->ts[q];
        if (span > 0 && all->n && *latest - earliest >= 2 * span) *train_before = *latest + 1;
    } else {
        rc = tl_rec_split(all, &o->split, tr, te, cut);
        if (o->split.kind == TL_SPLIT_TIME) *train_before = *cut;
    }
    if (!rc && in) *in = all, all = NULL;
    tl_rec_interactions_free(all);
    return rc;
}

static double seconds(const tl_rec_evaluate_opts_t *o, int64_t from, int64_t to) {
    return o->clock ? (double)(to - from) / 1000 : 0;
}

/* What every run of an evaluation shares. */
typedef struct {
    const tl_rec_evaluate_opts_t *o;
    const tl_rec_side_t *side;
    tl_content_t *content;
    const uint32_t *cats;
    const tl_user_groups_t *groups;
} runctx_t;

/* Run r trained on tr and measured on te into *ev; cold users served by
 * popularity by segment trained on tr, unless popularity is measured. */
static int run_one(const runctx_t *x, uint32_t r, const tl_csr_t *tr, const tl_csr_t *te, tl_model_t *coldm,
                   tl_eval_t *ev, tl_rec_run_t *times, tl_errbuf_t *eb) {
    const tl_rec_evaluate_opts_t *o = x->o;
    tl_eval_opts_t eo = {o->k, x->cats, x->groups->group, x->groups->ngroups, coldm, x->content};
    tl_model_t *m = NULL;
    int64_t t0 = o->clock ? o->clock() : 0;
    int rc = tl_model_train(o->model, tr, &o->params[r], x->side, &m, eb);
    int64_t t1 = o->clock ? o->clock() : 0;
    if (!rc) rc = tl_rec_eval(m, tr, te, &eo, ev);
    if (times) {
        times->train_s = seconds(o, t0, t1), times->eval_s = seconds(o, t1, o->clock ? o->clock() : 0);
        times->params = o->params[r];
        tl_model_params_resolve(&times->params, tr);
    }
    tl_model_free(m);
    return rc;
}

/* Every run trained on tr and measured on te (into valid: runs' valid,
 * else their ev), the best chosen by NDCG there. */
static int run_all(const runctx_t *x, const tl_csr_t *tr, const tl_csr_t *te, int valid,
                   tl_rec_evaluation_t *out, tl_errbuf_t *eb) {
    const tl_rec_evaluate_opts_t *o = x->o;
    tl_model_t *coldm = NULL;
    int rc = 0;
    if (o->model->kind != TL_MODEL_POP)
        rc = tl_model_train(tl_model_info(TL_MODEL_SEGPOP), tr, &o->params[0], x->side, &coldm, eb);
    if (!rc && x->content) rc = tl_rec_content_link(x->content, tr, tr->nitems);
    for (uint32_t r = 0; !rc && r < o->nruns; r++) {
        tl_rec_run_t *run = &out->runs[r];
        rc = run_one(x, r, tr, te, coldm, valid ? &run->valid : &run->ev, run, eb);
        run->tested = !valid;
        const tl_eval_t *e = valid ? &run->valid : &run->ev, *b = valid ? &out->runs[out->best].valid
                                                                        : &out->runs[out->best].ev;
        if (!rc && e->ndcg > b->ndcg) out->best = r;
    }
    tl_model_free(coldm);
    return rc;
}

/* The validation part carved from the training tr of in, each run
 * measured there; the best then trained on tr and measured on te. */
static int run_validated(const runctx_t *x, const tl_interactions_t *in, int64_t train_before, int shuffled,
                         int64_t decay_to, const tl_csr_t *tr, const tl_csr_t *te, tl_rec_evaluation_t *out,
                         tl_errbuf_t *eb) {
    const tl_rec_evaluate_opts_t *o = x->o;
    uint8_t *mark = malloc(in->n ? in->n : 1);
    tl_csr_t fit = {0}, valid = {0};
    double share = o->split.kind == TL_SPLIT_LAST && !o->train_events && o->select != TL_SELECT_TUNE
                       ? 0
                   : o->valid_share > 0 ? o->valid_share
                                        : 0.2;
    int rc = mark ? 0 : TL_ENOMEM;
    if (!rc && train_before != INT64_MAX) {
        /* a time split: the training's last test_days days validate, as the test's do */
        int64_t span = (int64_t)o->split.test_days * 86400000, vcut = train_before - span;
        for (size_t q = 0; q < in->n; q++)
            mark[q] = in->ts[q] >= train_before || !in_row(tr, in->t[q].u, in->t[q].i) ? 0
                      : in->ts[q] < vcut                                               ? 1
                                                                                       : 2;
        decay_to = vcut;
        out->valid_from = vcut;
    } else if (!rc) {
        rc = carve_validation(in, tr, train_before, share, shuffled, mark);
    }
    if (!rc) rc = tl__interactions_select(in, 0, 0, mark, 1, decay_to, &fit);
    if (!rc) rc = tl__interactions_select(in, 0, 0, mark, 2, decay_to, &valid);
    if (!rc) {
        tl_csr_drop_seen(&valid, &fit);
        out->fit_nnz = fit.nnz, out->valid_nnz = valid.nnz;
        rc = run_all(x, &fit, &valid, 1, out, eb);
    }
    free(mark);
    tl_csr_fini(&fit), tl_csr_fini(&valid);
    if (rc || o->select == TL_SELECT_TUNE) return rc;
    tl_model_t *coldm = NULL;
    if (o->model->kind != TL_MODEL_POP)
        rc = tl_model_train(tl_model_info(TL_MODEL_SEGPOP), tr, &o->params[0], x->side, &coldm, eb);
    if (!rc && x->content) rc = tl_rec_content_link(x->content, tr, tr->nitems);
    tl_rec_run_t *best = &out->runs[out->best];
    double fit_s = best->train_s, fit_eval_s = best->eval_s;
    if (!rc) rc = run_one(x, out->best, tr, te, coldm, &best->ev, best, eb);
    best->tested = !rc;
    best->train_s += fit_s, best->eval_s += fit_eval_s;
    tl_model_free(coldm);
    return rc;
}

int tl_rec_evaluate(tl_store_t *st, const tl_rec_evaluate_opts_t *o, tl_rec_evaluation_t *out,
                    tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    if (!(out->runs = calloc(o->nruns ? o->nruns : 1, sizeof *out->runs))) return TL_ENOMEM;
    tl_csr_t xtr = {0}, xte = {0};
    int64_t latest = 0, train_before = INT64_MAX;
    uint32_t *cats = NULL;
    tl_dict_t *catnames = NULL;
    tl_rec_side_t side = {0};
    tl_content_t *content = NULL;
    tl_interactions_t *in = NULL;
    int validate = o->select != TL_SELECT_TEST, interleaved = 0;
    int rc = eval_split(st, o, &xtr, &xte, &out->cut, &latest, validate ? &in : NULL, &train_before,
                        &interleaved, eb);
    if (!rc) tl_csr_drop_seen(&xte, &xtr);
    if (!rc && o->by >= 0)
        rc = tl_rec_user_groups(st, xtr.nusers, (tl_group_by_t)o->by, latest, &out->groups, eb);
    if (!rc) rc = tl_rec_item_categories(st, xtr.nitems, 0, &cats, &catnames, eb);
    if (!rc) rc = tl_rec_side_load(st, xtr.nusers, xtr.nitems, latest, &side, eb);
    if (!rc && o->new_items) rc = tl_rec_content_load(st, xtr.nitems, &content, eb);
    runctx_t x = {o, &side, content, cats, &out->groups};
    /* the training's decay: towards the cut of a time split, else the latest event */
    int64_t decay_to = train_before != INT64_MAX ? train_before : latest;
    out->shuffled = interleaved;
    if (!rc && validate) rc = run_validated(&x, in, train_before, interleaved, decay_to, &xtr, &xte, out, eb);
    else if (!rc) rc = run_all(&x, &xtr, &xte, 0, out, eb);
    out->train_nnz = xtr.nnz, out->test_nnz = xte.nnz;
    tl_rec_interactions_free(in);
    tl_rec_content_free(content);
    tl_rec_side_fini(&side);
    free(cats);
    tl_dict_free(catnames);
    tl_csr_fini(&xtr);
    tl_csr_fini(&xte);
    if (rc) tl_rec_evaluation_fini(out);
    return rc;
}

void tl_rec_evaluation_fini(tl_rec_evaluation_t *e) {
    tl_user_groups_fini(&e->groups);
    free(e->runs);
    memset(e, 0, sizeof *e);
}
