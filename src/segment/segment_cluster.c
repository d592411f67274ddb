/* segment_cluster.c -- k-means++ clusters (Hamerly's bounds, on two
 * cores) with the silhouette, clusters of profiles over chosen feature
 * columns, and the clustering kept in the store for the report. */
#include "segment.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- k-means ------------------------------------------------------------------------ */

/* The assignment step keeps Hamerly's bounds per point: an upper bound on
 * the distance to its own centre and a lower bound on the distance to any
 * other. When the centres move, the bounds are loosened by how far they
 * moved; a point whose upper bound stays below both its lower bound and
 * half the distance from its centre to the nearest other centre cannot
 * change cluster, and costs no distance at all. Most points stop changing
 * after a few iterations, so later iterations are cheap. */
typedef struct {
    const double *x, *c;
    const double *half;  /* per centre: half the distance to the nearest other */
    const double *cc;    /* k x k distances between centres */
    const double *moved; /* per centre: how far it moved in the last update */
    double max_moved;
    uint32_t d, k, from, to;
    uint32_t *labels;
    double *upper, *lower;
    double inertia;
    uint32_t changed;
    int first;
    /* what the moves of this half do to the clusters' sums and counts */
    double *dsum;
    int64_t *dcnt;
} assign_job_t;

static double dist2(const double *p, const double *q, uint32_t d) {
    double s = 0;
    for (uint32_t t = 0; t < d; t++) {
        double v = p[t] - q[t];
        s += v * v;
    }
    return s;
}

static void *assign_part(void *arg) {
    assign_job_t *j = arg;
    j->changed = 0;
    for (uint32_t i = j->from; i < j->to; i++) {
        const double *p = j->x + (size_t)i * j->d;
        uint32_t a = j->labels[i];
        if (!j->first) {
            j->upper[i] += j->moved[a];
            j->lower[i] -= j->max_moved;
            double bound = j->lower[i] > j->half[a] ? j->lower[i] : j->half[a];
            if (j->upper[i] <= bound) continue;
            j->upper[i] = sqrt(dist2(p, j->c + (size_t)a * j->d, j->d));
            if (j->upper[i] <= bound) continue;
        }
        double best = INFINITY, second = INFINITY;
        uint32_t bl = 0;
        if (!j->first) {
            /* start from the own centre (u is exact now) and skip every
             * centre at least 2u away from it: it cannot be nearer */
            best = j->upper[i] * j->upper[i];
            bl = a;
        }
        for (uint32_t c = 0; c < j->k; c++) {
            if (!j->first && (c == a || j->cc[(size_t)a * j->k + c] >= 2 * j->upper[i])) {
                /* still a lower bound on the second nearest */
                if (c != a) {
                    double lb = j->cc[(size_t)a * j->k + c] - j->upper[i];
                    if (lb * lb < second) second = lb * lb;
                }
                continue;
            }
            double s2 = dist2(p, j->c + (size_t)c * j->d, j->d);
            if (s2 < best) second = best, best = s2, bl = c;
            else if (s2 < second) second = s2;
        }
        if (j->first || bl != a) {
            j->changed++;
            if (!j->first) {
                j->dcnt[a]--;
                for (uint32_t t = 0; t < j->d; t++) j->dsum[(size_t)a * j->d + t] -= p[t];
            }
            j->dcnt[bl]++;
            for (uint32_t t = 0; t < j->d; t++) j->dsum[(size_t)bl * j->d + t] += p[t];
        }
        j->labels[i] = bl;
        j->upper[i] = sqrt(best);
        j->lower[i] = sqrt(second);
    }
    return NULL;
}

static void *inertia_part(void *arg) {
    assign_job_t *j = arg;
    j->inertia = 0;
    for (uint32_t i = j->from; i < j->to; i++)
        j->inertia += dist2(j->x + (size_t)i * j->d, j->c + (size_t)j->labels[i] * j->d, j->d);
    return NULL;
}

/* Runs fn over the points on two threads (one for small inputs). */
static void both_halves(assign_job_t j[2], void *(*fn)(void *), uint32_t n) {
    pthread_t th;
    int threaded = n > 20000 && pthread_create(&th, NULL, fn, &j[1]) == 0;
    fn(&j[0]);
    if (threaded) pthread_join(th, NULL);
    else fn(&j[1]);
}

static int kmeans_once(const double *x, uint32_t n, uint32_t d, uint32_t k, uint32_t max_iter,
                       double tol, tl_rng_t *rng, uint32_t *labels, double *c, double *inertia,
                       uint32_t *iters) {
    double *dist = malloc((size_t)n * sizeof *dist), *sum = calloc((size_t)k * d, sizeof *sum);
    if (!dist || !sum) {
        free(dist), free(sum);
        return TL_ENOMEM;
    }
    /* k-means++: each next centre drawn with probability ~ squared distance
     * to the nearest centre so far */
    uint32_t first = tl_rng_below(rng, n);
    memcpy(c, x + (size_t)first * d, d * sizeof *c);
    for (uint32_t i = 0; i < n; i++) {
        double s = 0;
        for (uint32_t t = 0; t < d; t++) s += (x[(size_t)i * d + t] - c[t]) * (x[(size_t)i * d + t] - c[t]);
        dist[i] = s;
    }
    for (uint32_t m = 1; m < k; m++) {
        double total = 0;
        for (uint32_t i = 0; i < n; i++) total += dist[i];
        double r = tl_rng_uniform(rng) * total, acc = 0;
        uint32_t pick = n - 1;
        for (uint32_t i = 0; i < n; i++) {
            acc += dist[i];
            if (acc > r) {
                pick = i;
                break;
            }
        }
        double *cm = c + (size_t)m * d;
        memcpy(cm, x + (size_t)pick * d, d * sizeof *c);
        for (uint32_t i = 0; i < n; i++) {
            double s = 0;
            for (uint32_t t = 0; t < d; t++) s += (x[(size_t)i * d + t] - cm[t]) * (x[(size_t)i * d + t] - cm[t]);
            if (s < dist[i]) dist[i] = s;
        }
    }
    double *upper = malloc((size_t)n * sizeof *upper), *lower = malloc((size_t)n * sizeof *lower);
    double *half = malloc(k * sizeof *half), *moved = calloc(k, sizeof *moved);
    double *cc = malloc((size_t)k * k * sizeof *cc);
    if (!upper || !lower || !half || !moved || !cc) {
        free(cc);
        free(upper), free(lower), free(half), free(moved), free(dist), free(sum);
        return TL_ENOMEM;
    }
    assign_job_t j[2];
    double *dsum = calloc((size_t)2 * k * d, sizeof *dsum);
    int64_t *dcnt = calloc((size_t)2 * k, sizeof *dcnt), *total = calloc(k, sizeof *total);
    if (!dsum || !dcnt || !total) {
        free(dsum), free(dcnt), free(total);
        free(upper), free(lower), free(half), free(moved), free(dist), free(sum);
        return TL_ENOMEM;
    }
    for (int h = 0; h < 2; h++)
        j[h] = (assign_job_t){.x = x, .c = c, .half = half, .cc = cc, .moved = moved, .d = d, .k = k,
                              .from = h ? n / 2 : 0, .to = h ? n : n / 2, .labels = labels,
                              .upper = upper, .lower = lower, .first = 1,
                              .dsum = dsum + (size_t)h * k * d, .dcnt = dcnt + (size_t)h * k};
    uint32_t it = 0;
    double in = 0;
    while (it < max_iter) {
        /* distances between centres, and half of each one's nearest */
        for (uint32_t m = 0; m < k; m++) {
            double best = INFINITY;
            for (uint32_t o = 0; o < k; o++) {
                cc[(size_t)m * k + o] = sqrt(dist2(c + (size_t)m * d, c + (size_t)o * d, d));
                if (o != m && cc[(size_t)m * k + o] < best) best = cc[(size_t)m * k + o];
            }
            half[m] = k > 1 ? best / 2 : INFINITY;
        }
        memset(dsum, 0, (size_t)2 * k * d * sizeof *dsum);
        memset(dcnt, 0, (size_t)2 * k * sizeof *dcnt);
        both_halves(j, assign_part, n);
        uint32_t changed = j[0].changed + j[1].changed;
        j[0].first = j[1].first = 0;
        it++;
        if (!changed) break;
        /* the sums follow the points that moved, not all of them */
        for (uint32_t m = 0; m < k; m++) {
            total[m] += dcnt[m] + dcnt[k + m];
            for (uint32_t t = 0; t < d; t++)
                sum[(size_t)m * d + t] += dsum[(size_t)m * d + t] + dsum[(size_t)(k + m) * d + t];
        }
        double shift = 0, max_moved = 0;
        for (uint32_t m = 0; m < k; m++) {
            moved[m] = 0;
            if (total[m] <= 0) continue; /* an empty cluster keeps its centre */
            double mv = 0;
            for (uint32_t t = 0; t < d; t++) {
                double nv = sum[(size_t)m * d + t] / (double)total[m], dv = nv - c[(size_t)m * d + t];
                mv += dv * dv;
                c[(size_t)m * d + t] = nv;
            }
            shift += mv;
            moved[m] = sqrt(mv);
            if (moved[m] > max_moved) max_moved = moved[m];
        }
        j[0].max_moved = j[1].max_moved = max_moved;
        /* Converged when the centres moved less than tol times the mean
         * variance of the data, as scikit-learn decides; a last assignment
         * makes the labels match the final centres. */
        if (shift <= tol) {
            both_halves(j, assign_part, n);
            break;
        }
    }
    free(dsum), free(dcnt), free(total);
    both_halves(j, inertia_part, n);
    in = j[0].inertia + j[1].inertia;
    free(upper), free(lower), free(half), free(moved), free(cc);
    *inertia = in;
    *iters = it;
    free(dist), free(sum);
    return 0;
}

int tl_kmeans(const double *x, uint32_t n, uint32_t d, const tl_kmeans_opts_t *o, uint32_t *labels,
              double *centers, double *inertia, uint32_t *iterations) {
    uint32_t k = o->k;
    if (!n || !d || k < 1 || k > n) return TL_EINVAL;
    uint32_t *lab = malloc((size_t)n * sizeof *lab);
    double *c = malloc((size_t)k * d * sizeof *c);
    if (!lab || !c) {
        free(lab), free(c);
        return TL_ENOMEM;
    }
    tl_rng_t rng;
    tl_rng_seed(&rng, o->seed);
    *inertia = INFINITY;
    /* tol = 1e-4 times the mean variance of the features */
    double tol = 0;
    for (uint32_t t = 0; t < d; t++) {
        double m = 0, v = 0;
        for (uint32_t i = 0; i < n; i++) m += x[(size_t)i * d + t];
        m /= n;
        for (uint32_t i = 0; i < n; i++) v += (x[(size_t)i * d + t] - m) * (x[(size_t)i * d + t] - m);
        tol += v / n;
    }
    tol = 1e-4 * tol / d;
    int rc = 0;
    for (uint32_t r = 0; !rc && r < (o->n_init ? o->n_init : 1); r++) {
        double in;
        uint32_t it;
        rc = kmeans_once(x, n, d, k, o->max_iter ? o->max_iter : 300, tol, &rng, lab, c, &in, &it);
        if (!rc && in < *inertia) {
            *inertia = in;
            *iterations = it;
            memcpy(labels, lab, (size_t)n * sizeof *lab);
            memcpy(centers, c, (size_t)k * d * sizeof *c);
        }
    }
    free(lab), free(c);
    return rc;
}

double tl_silhouette(const double *x, uint32_t n, uint32_t d, const uint32_t *labels, uint32_t k,
                     uint32_t sample) {
    if (k < 2 || n < 2) return 0;
    uint32_t m = sample && sample < n ? sample : n;
    uint32_t *idx = malloc(m * sizeof *idx), *cnt = calloc(k, sizeof *cnt);
    double *sum = malloc(k * sizeof *sum);
    if (!idx || !cnt || !sum) {
        free(idx), free(cnt), free(sum);
        return NAN;
    }
    /* the sample, and its cluster sizes: every distance stays inside it */
    for (uint32_t s = 0; s < m; s++) idx[s] = (uint32_t)((uint64_t)s * n / m), cnt[labels[idx[s]]]++;
    double total = 0;
    for (uint32_t s = 0; s < m; s++) {
        uint32_t i = idx[s], li = labels[i];
        if (cnt[li] < 2) continue; /* alone in its cluster: scores 0 */
        memset(sum, 0, k * sizeof *sum);
        for (uint32_t r = 0; r < m; r++) {
            uint32_t j = idx[r];
            double s2 = 0;
            for (uint32_t t = 0; t < d; t++) {
                double v = x[(size_t)i * d + t] - x[(size_t)j * d + t];
                s2 += v * v;
            }
            sum[labels[j]] += sqrt(s2);
        }
        double a = sum[li] / (cnt[li] - 1), b = INFINITY;
        for (uint32_t c = 0; c < k; c++)
            if (c != li && cnt[c] && sum[c] / cnt[c] < b) b = sum[c] / cnt[c];
        if (isfinite(b)) total += (b - a) / (a > b ? a : b);
    }
    free(idx), free(cnt), free(sum);
    return total / m;
}

/* ---- clustering profiles ------------------------------------------------------------ */

int tl_segment_cluster(const tl_profiles_t *p, const char *const *features, int nf, uint32_t k,
                       uint32_t n_init, uint64_t seed, tl_clusters_t *out, int *bad) {
    memset(out, 0, sizeof *out);
    *bad = -1;
    if (nf < 1 || nf > TL_CLUSTER_MAX_F || k > TL_CLUSTER_MAX_K) return TL_EINVAL;
    int cols[TL_CLUSTER_MAX_F], d = nf;
    for (int j = 0; j < d; j++) {
        cols[j] = tl_profile_col_find(p, features[j]);
        if (cols[j] < 0 || tl_profile_col_type(p, cols[j]) == TL_COL_CAT ||
            strlen(features[j]) >= sizeof out->feature[j]) {
            *bad = j;
            return TL_EINVAL;
        }
    }
    uint32_t n = tl_profile_nusers(p), m = 0;
    double *x = malloc((size_t)(n ? n : 1) * d * sizeof *x), mean[TL_CLUSTER_MAX_F] = {0},
           sd[TL_CLUSTER_MAX_F] = {0};
    uint32_t *labels = malloc((size_t)(n ? n : 1) * sizeof *labels);
    double *centers = malloc((size_t)TL_CLUSTER_MAX_K * d * sizeof *centers);
    if (!x || !labels || !centers) {
        free(x), free(labels), free(centers);
        return TL_ENOMEM;
    }
    for (uint32_t u = 0; u < n; u++) {
        int ok = tl_profile_kept(p, u); /* no profile is kept here */
        for (int j = 0; j < d && ok; j++) {
            const void *data = tl_profile_col_data(p, cols[j]);
            double v = tl_profile_col_type(p, cols[j]) == TL_COL_NUM ? ((const double *)data)[u]
                       : ((const uint32_t *)data)[u] == TL_NONE ? NAN : ((const uint32_t *)data)[u];
            if (isnan(v)) ok = 0;
            x[(size_t)m * d + j] = v;
        }
        m += ok;
    }
    int rc = m < 2 ? TL_EINVAL : 0;
    for (int j = 0; !rc && j < d; j++) {
        for (uint32_t i = 0; i < m; i++) mean[j] += x[(size_t)i * d + j];
        mean[j] /= m;
        for (uint32_t i = 0; i < m; i++) sd[j] += pow(x[(size_t)i * d + j] - mean[j], 2);
        sd[j] = sqrt(sd[j] / m);
        for (uint32_t i = 0; i < m; i++)
            x[(size_t)i * d + j] = sd[j] > 0 ? (x[(size_t)i * d + j] - mean[j]) / sd[j] : 0;
    }
    double inertia = 0;
    uint32_t iters = 0;
    if (!rc && !k) {
        double best = -2;
        for (uint32_t kk = 2; !rc && kk <= 8 && kk <= m; kk++) {
            tl_kmeans_opts_t o = {kk, n_init, 300, seed};
            rc = tl_kmeans(x, m, (uint32_t)d, &o, labels, centers, &inertia, &iters);
            double sil = rc ? NAN : tl_silhouette(x, m, (uint32_t)d, labels, kk, 2000);
            if (!rc && sil > best) best = sil, k = kk;
        }
    }
    if (!rc && k > m) k = m;
    if (!rc) {
        tl_kmeans_opts_t o = {k, n_init, 300, seed};
        rc = tl_kmeans(x, m, (uint32_t)d, &o, labels, centers, &inertia, &iters);
    }
    if (!rc) {
        out->nf = d;
        for (int j = 0; j < d; j++) snprintf(out->feature[j], sizeof out->feature[j], "%s", features[j]);
        out->as_of = tl_profile_as_of(p);
        out->k = k;
        out->users = m;
        out->inertia = inertia;
        out->iterations = iters;
        out->silhouette = tl_silhouette(x, m, (uint32_t)d, labels, k, 2000);
        /* members' means in the features' own units */
        for (uint32_t i = 0; i < m; i++) {
            out->size[labels[i]]++;
            for (int j = 0; j < d; j++) out->mean[labels[i]][j] += x[(size_t)i * d + j] * sd[j] + mean[j];
        }
        for (uint32_t c = 0; c < k; c++)
            for (int j = 0; j < d; j++) out->mean[c][j] = out->size[c] ? out->mean[c][j] / out->size[c] : NAN;
    }
    free(x), free(labels), free(centers);
    return rc;
}

/* ---- the kept clustering -------------------------------------------------------------- */

/* {"features": [...], "as_of": ms, "k", "users", "iterations", "inertia",
 * "silhouette", "clusters": [{"size", "means": [per feature]}]} */
int tl_segment_cluster_keep(tl_store_t *st, const tl_profiles_t *p, const char *const *features,
                            int nf, uint32_t k, uint32_t n_init, uint64_t seed, tl_clusters_t *out,
                            int *bad, tl_errbuf_t *eb) {
    int rc = tl_segment_cluster(p, features, nf, k, n_init, seed, out, bad);
    if (rc) return rc;
    cJSON *j = cJSON_CreateObject(), *f = cJSON_AddArrayToObject(j, "features");
    cJSON *cl = cJSON_AddArrayToObject(j, "clusters");
    for (int i = 0; f && i < out->nf; i++) cJSON_AddItemToArray(f, cJSON_CreateString(out->feature[i]));
    cJSON_AddNumberToObject(j, "as_of", (double)out->as_of);
    cJSON_AddNumberToObject(j, "k", out->k);
    cJSON_AddNumberToObject(j, "users", out->users);
    cJSON_AddNumberToObject(j, "iterations", out->iterations);
    cJSON_AddNumberToObject(j, "inertia", out->inertia);
    cJSON_AddNumberToObject(j, "silhouette", out->silhouette);
    for (uint32_t c = 0; cl && c < out->k; c++) {
        cJSON *o = cJSON_CreateObject(), *m = cJSON_AddArrayToObject(o, "means");
        cJSON_AddNumberToObject(o, "size", out->size[c]);
        for (int i = 0; m && i < out->nf; i++) cJSON_AddItemToArray(m, cJSON_CreateNumber(out->mean[c][i]));
        cJSON_AddItemToArray(cl, o);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) {
        tl_errbuf_set(eb, "out of memory keeping the clusters");
        return TL_ENOMEM;
    }
    rc = tl_store_config_put(st, "clusters", text, eb);
    cJSON_free(text);
    return rc;
}

static double num_of(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int tl_clusters_kept(tl_store_t *st, tl_clusters_t *out, tl_errbuf_t *eb) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    int rc = tl_store_config_get(st, "clusters", &text, eb);
    if (rc) return rc;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *f = cJSON_GetObjectItem(j, "features"), *cl = cJSON_GetObjectItem(j, "clusters"), *it;
    int nf = cJSON_GetArraySize(f), k = cJSON_GetArraySize(cl);
    rc = cJSON_IsArray(f) && cJSON_IsArray(cl) && nf >= 1 && nf <= TL_CLUSTER_MAX_F && k >= 1 &&
                 k <= TL_CLUSTER_MAX_K ? 0 : TL_ECORRUPT;
    const cJSON *fs = rc ? NULL : f, *cs = rc ? NULL : cl;
    cJSON_ArrayForEach(it, fs) {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof out->feature[0]) rc = TL_ECORRUPT;
        else snprintf(out->feature[out->nf++], sizeof out->feature[0], "%s", it->valuestring);
    }
    cJSON_ArrayForEach(it, cs) {
        const cJSON *m = cJSON_GetObjectItem(it, "means"), *v;
        double size = num_of(it, "size");
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != nf || !(size >= 0)) {
            rc = TL_ECORRUPT;
            break;
        }
        int i = 0;
        cJSON_ArrayForEach(v, m) out->mean[out->k][i++] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        out->size[out->k++] = (uint32_t)size;
    }
    double users = num_of(j, "users"), iters = num_of(j, "iterations"), as_of = num_of(j, "as_of");
    if (!rc && !(users >= 0 && iters >= 0 && !isnan(as_of))) rc = TL_ECORRUPT;
    if (!rc) {
        out->users = (uint32_t)users, out->iterations = (uint32_t)iters, out->as_of = (int64_t)as_of;
        out->inertia = num_of(j, "inertia"), out->silhouette = num_of(j, "silhouette");
    }
    cJSON_Delete(j);
    if (rc) {
        memset(out, 0, sizeof *out);
        tl_errbuf_set(eb, "%s/tailor.db: the kept clusters are damaged; run `tailor segment cluster` again",
                      tl_store_dir(st));
    }
    return rc;
}

/* ---- what sets a cluster apart ------------------------------------------------------- */

typedef struct {
    double key;
    tl_cluster_trait_t t;
} ranked_t;

static int by_distance(const void *a, const void *b) {
    const ranked_t *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? 1 : -1;
    return x->t.feature - y->t.feature; /* ties in the clustering's order */
}

int tl_clusters_traits(const tl_clusters_t *c, uint32_t cluster, tl_cluster_trait_t *out, int max) {
    if (cluster >= c->k || max <= 0) return 0;
    ranked_t r[TL_CLUSTER_MAX_F];
    int n = 0;
    for (int f = 0; f < c->nf; f++) {
        /* the mean over every clustered user, and the spread of the clusters' means around it */
        double w = 0, all = 0, var = 0;
        for (uint32_t k = 0; k < c->k; k++)
            if (!isnan(c->mean[k][f])) w += c->size[k], all += c->size[k] * c->mean[k][f];
        if (!(w > 0)) continue;
        all /= w;
        for (uint32_t k = 0; k < c->k; k++)
            if (!isnan(c->mean[k][f])) var += c->size[k] * (c->mean[k][f] - all) * (c->mean[k][f] - all);
        double sd = sqrt(var / w), m = c->mean[cluster][f];
        if (isnan(m) || !(sd > 0)) continue;
        r[n].t = (tl_cluster_trait_t){.feature = f, .mean = m, .overall = all, .z = (m - all) / sd,
                                      .ratio = all != 0 && (m / all) > 0 ? m / all : NAN};
        r[n].key = fabs(r[n].t.z);
        n++;
    }
    qsort(r, (size_t)n, sizeof *r, by_distance);
    if (n > max) n = max;
    for (int i = 0; i < n; i++) out[i] = r[i].t;
    return n;
}
