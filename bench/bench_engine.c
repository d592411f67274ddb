/* bench_engine.c -- in-process timings for the benchmark scripts: the
 * incremental profile update, a segment condition over the built profiles,
 * and k-means on profile features. Loading is not timed.
 *
 *   bench_engine apply DATA - - -              -> events, seconds, events/s
 *   bench_engine expr DATA "CONDITION" REPS    -> best ms, size
 *   bench_engine kmeans DATA a,b,c K N_INIT    -> seconds, inertia, k, rows
 *   bench_engine features DATA a,b,c OUT.csv   -> the standardised rows
 *   bench_engine ials USERS ITEMS NNZ FACTORS  -> nnz, iALS train s, top-10 for
 *       all users s, us per user, EASE train s (a generated binary matrix
 *       with Zipf item popularity; iALS 15 iterations, EASE lambda 400)
 *   bench_engine scorecard TABLE.csv TARGET    -> whole training s, logistic
 *       regression on the kept features' WOE s (best of 3), kept features,
 *       training AUC (the table read is not timed)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "finance/finance.h"
#include "rec/rec.h"
#include "segment/segment.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The scorecard's training, then the regression alone on the WOE of the
 * kept features, as a peer fitting on the same WOE columns would do. */
static int bench_scorecard(const char *path, const char *target) {
    tl_errbuf_t eb = {{0}};
    tl_table_t t;
    tl_table_opts_t to = {NULL, NULL, 0};
    tl_source_t src = tl_source_file(path);
    if (tl_table_read(&src, &to, &t, NULL, NULL, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    tl_score_opts_t o;
    tl_score_opts_default(&o);
    o.target = target;
    tl_scorecard_t *sc;
    double t0 = now();
    if (tl_scorecard_train(&t, &o, &sc, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    double whole = now() - t0;
    uint32_t tc = tl_table_column(&t, target), p = 0, nf = tl_scorecard_nfeatures(sc);
    double *x = malloc((size_t)t.nrows * nf * sizeof *x);
    uint8_t *y = malloc(t.nrows);
    for (uint32_t r = 0; r < t.nrows; r++) y[r] = strcmp(tl_table_cell(&t, r, tc), "1") == 0;
    for (uint32_t j = 0; j < nf; j++) {
        tl_score_feature_t f;
        tl_scorecard_feature(sc, j, &f);
        if (!f.kept || f.categorical) continue;
        uint32_t c = tl_table_column(&t, f.name);
        for (uint32_t r = 0; r < t.nrows; r++) {
            double v = strtod(tl_table_cell(&t, r, c), NULL);
            tl_column_t one = {0, &v, NULL, 0};
            x[(size_t)r * nf + p] = f.bin->woe[tl_bin_of(f.bin, &one, 0)];
        }
        p++;
    }
    for (uint32_t r = 0; r < t.nrows; r++) /* pack rows to p columns */
        memmove(x + (size_t)r * p, x + (size_t)r * nf, p * sizeof *x);
    double best = INFINITY, beta[64];
    for (int rep = 0; rep < 3; rep++) {
        double t1 = now();
        tl_logit_fit(x, t.nrows, p, y, o.l2, beta, &eb);
        double dt = now() - t1;
        best = dt < best ? dt : best;
    }
    tl_scorecard_stats_t st;
    tl_scorecard_stats(sc, &st);
    printf("%.4f %.4f %u %.4f\n", whole, best, p, st.auc);
    free(x), free(y);
    tl_scorecard_free(sc);
    tl_table_fini(&t);
    return 0;
}

static tl_profiles_t *load(const char *dir, tl_store_t **st) {
    tl_errbuf_t eb = {{0}};
    tl_profiles_t *p = NULL;
    if (tl_store_open(dir, TL_STORE_READONLY, st, &eb) || tl_profile_load(*st, &p, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        exit(1);
    }
    return p;
}

/* Standardised rows of users with every feature known. */
static double *matrix(tl_profiles_t *p, const char *feats, uint32_t *rows, int *dims) {
    int cols[32], d = 0;
    char name[128];
    for (const char *f = feats; *f && d < 32;) {
        size_t len = strcspn(f, ",");
        snprintf(name, sizeof name, "%.*s", (int)len, f);
        if ((cols[d++] = tl_profile_col_find(p, name)) < 0) {
            fprintf(stderr, "no column %s\n", name);
            exit(1);
        }
        f += len + (f[len] == ',');
    }
    uint32_t n = tl_profile_nusers(p), m = 0;
    double *x = malloc((size_t)n * d * sizeof *x);
    for (uint32_t u = 0; u < n; u++) {
        int ok = 1;
        for (int j = 0; j < d; j++) {
            const void *data = tl_profile_col_data(p, cols[j]);
            double v = tl_profile_col_type(p, cols[j]) == TL_COL_NUM ? ((const double *)data)[u]
                       : ((const uint32_t *)data)[u] == TL_NONE ? NAN : ((const uint32_t *)data)[u];
            ok &= !isnan(v);
            x[(size_t)m * d + j] = v;
        }
        m += ok;
    }
    for (int j = 0; j < d; j++) {
        double mean = 0, sd = 0;
        for (uint32_t i = 0; i < m; i++) mean += x[(size_t)i * d + j];
        mean /= m;
        for (uint32_t i = 0; i < m; i++) sd += pow(x[(size_t)i * d + j] - mean, 2);
        sd = sqrt(sd / m);
        for (uint32_t i = 0; i < m; i++) x[(size_t)i * d + j] = sd > 0 ? (x[(size_t)i * d + j] - mean) / sd : 0;
    }
    *rows = m;
    *dims = d;
    return x;
}

/* Every stored event, decoded once into memory, then applied one at a time
 * to empty profiles: the rate of the incremental path. */
typedef struct {
    tl_event_t *ev;
    size_t n, cap;
} evs_t;

static int collect(const tl_evblock_t *b, void *arg) {
    evs_t *e = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        if (e->n == e->cap) {
            e->cap = e->cap ? e->cap * 2 : 1 << 20;
            e->ev = realloc(e->ev, e->cap * sizeof *e->ev);
        }
        e->ev[e->n++] = (tl_event_t){.fp = b->fp[i], .user = b->user[i], .item = b->item[i],
                                     .ts = b->ts[i], .type = b->type[i], .channel = b->channel[i],
                                     .qty = b->qty[i], .amount = b->amount[i], .rating = b->rating[i],
                                     .lat = b->lat[i], .lon = b->lon[i], .query = b->query[i],
                                     .city = b->city[i], .session = b->session[i],
                                     .campaign = b->campaign[i]};
    }
    return 0;
}

static int bench_apply(const char *dir) {
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    if (tl_store_open(dir, TL_STORE_READONLY, &st, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    evs_t e = {0};
    tl_store_scan_events(st, collect, &e, &eb);
    tl_profile_opts_t o;
    tl_profile_opts_default(&o);
    tl_profiles_t *p;
    if (tl_profile_new_empty(st, &o, NULL, &p, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    double t0 = now();
    for (size_t i = 0; i < e.n; i++) tl_profile_apply(p, &e.ev[i]);
    double t = now() - t0;
    printf("%zu %.3f %.0f\n", e.n, t, e.n / t);
    tl_profile_free(p);
    free(e.ev);
    tl_store_close(st);
    return 0;
}

/* A users x items binary matrix with about nnz entries, item popularity
 * Zipf(1) and users' row lengths log-normal. */
static void synth(uint32_t nu, uint32_t ni, uint64_t nnz, tl_csr_t *x) {
    tl_rng_t r;
    tl_rng_seed(&r, 42);
    double *cdf = malloc(ni * sizeof *cdf), z = 0;
    for (uint32_t i = 0; i < ni; i++) z += 1.0 / (i + 1), cdf[i] = z;
    uint8_t *seen = calloc(ni, 1);
    memset(x, 0, sizeof *x);
    x->nusers = nu, x->nitems = ni;
    x->rowptr = calloc(nu + 1, sizeof *x->rowptr);
    x->col = malloc(nnz * 2 * sizeof *x->col);
    x->val = malloc(nnz * 2 * sizeof *x->val);
    double mean = (double)nnz / nu;
    for (uint32_t u = 0; u < nu; u++) {
        uint32_t len = (uint32_t)(mean * exp(tl_rng_normal(&r) * 0.8 - 0.32));
        if (len < 5) len = 5;
        if (len > ni / 2) len = ni / 2;
        uint32_t start = (uint32_t)x->nnz;
        while (x->nnz - start < len && x->nnz < nnz * 2) {
            double v = tl_rng_uniform(&r) * z;
            uint32_t lo = 0, hi = ni - 1;
            while (lo < hi) {
                uint32_t mid = (lo + hi) / 2;
                if (cdf[mid] < v) lo = mid + 1;
                else hi = mid;
            }
            if (seen[lo]) continue;
            seen[lo] = 1;
            x->col[x->nnz] = lo, x->val[x->nnz++] = 1;
        }
        for (uint64_t k = start; k < x->nnz; k++) seen[x->col[k]] = 0;
        /* rows sorted by item */
        for (uint64_t a = start + 1; a < x->nnz; a++)
            for (uint64_t b = a; b > start && x->col[b - 1] > x->col[b]; b--) {
                uint32_t t = x->col[b];
                x->col[b] = x->col[b - 1], x->col[b - 1] = t;
            }
        x->rowptr[u + 1] = x->nnz;
    }
    free(cdf);
    free(seen);
}

static int bench_ials(uint32_t nu, uint32_t ni, uint64_t nnz, uint32_t f) {
    tl_csr_t x;
    synth(nu, ni, nnz, &x);
    tl_ials_opts_t o;
    tl_ials_opts_default(&o);
    o.factors = f;
    tl_model_t *m;
    tl_errbuf_t eb = {{0}};
    double t0 = now();
    if (tl_rec_train_ials(&x, &o, &m, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    double t1 = now();
    uint32_t items[10];
    float sc[10];
    for (uint32_t u = 0; u < nu; u++) tl_rec_topn(m, &x, u, 10, items, sc);
    double t2 = now();
    tl_model_free(m);
    double t3 = now();
    if (tl_rec_train_ease(&x, 400, 0, &m, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    double t4 = now();
    printf("%llu %.3f %.3f %.1f %.3f\n", (unsigned long long)x.nnz, t1 - t0, t2 - t1,
           (t2 - t1) / nu * 1e6, t4 - t3);
    tl_model_free(m);
    tl_csr_fini(&x);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "ials") == 0)
        return bench_ials((uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]),
                          (uint64_t)atoll(argv[4]), (uint32_t)atoi(argv[5]));
    if (argc == 4 && strcmp(argv[1], "scorecard") == 0) return bench_scorecard(argv[2], argv[3]);
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: see the top of bench_engine.c\n");
        return 2;
    }
    if (strcmp(argv[1], "apply") == 0) return bench_apply(argv[2]);
    tl_store_t *st;
    tl_profiles_t *p = load(argv[2], &st);
    if (strcmp(argv[1], "expr") == 0) {
        tl_segtable_t *t;
        tl_segtable_new(p, st, &t);
        uint32_t n = tl_profile_nusers(p), size = 0;
        uint8_t *mask = malloc(n);
        double best = INFINITY;
        for (int r = 0; r < atoi(argv[4]); r++) {
            tl_expr_err_t err;
            double t0 = now();
            if (tl_segment_eval(t, argv[3], mask, &size, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            double ms = (now() - t0) * 1000;
            if (ms < best) best = ms;
        }
        printf("%.3f %u\n", best, size);
        free(mask);
        tl_segtable_free(t);
    } else if (strcmp(argv[1], "kmeans") == 0 || strcmp(argv[1], "features") == 0) {
        uint32_t m;
        int d;
        double *x = matrix(p, argv[3], &m, &d);
        if (strcmp(argv[1], "features") == 0) {
            FILE *f = fopen(argv[4], "w");
            for (uint32_t i = 0; i < m; i++)
                for (int j = 0; j < d; j++) fprintf(f, "%.17g%c", x[(size_t)i * d + j], j + 1 < d ? ',' : '\n');
            fclose(f);
        } else {
            tl_kmeans_opts_t o = {(uint32_t)atoi(argv[4]), argc > 5 ? (uint32_t)atoi(argv[5]) : 4, 300, 1};
            uint32_t *labels = malloc(m * sizeof *labels), iters;
            double *centers = malloc((size_t)o.k * d * sizeof *centers), inertia;
            double t0 = now();
            tl_kmeans(x, m, (uint32_t)d, &o, labels, centers, &inertia, &iters);
            printf("%.3f %.6f %u %u\n", now() - t0, inertia, o.k, m);
            free(labels);
            free(centers);
        }
        free(x);
    }
    tl_profile_free(p);
    tl_store_close(st);
    return 0;
}
