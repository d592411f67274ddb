/* segment_drift.c -- profiles at past times: feature drift between two
 * sets of profiles (the same users at two times), the PSI of every number
 * column, overall or among the members of a condition at each time, the
 * largest first; and a condition's size at past times. */
#include "segment.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats.h"

/* The values of a number or count column for the users in mask (NULL:
 * everybody), as doubles. */
static double *column_values(const tl_profiles_t *p, int col, const uint8_t *mask, uint32_t *n) {
    uint32_t total = tl_profile_nusers(p), k = 0;
    double *v = malloc((size_t)(total ? total : 1) * sizeof *v);
    if (!v) return NULL;
    const void *data = tl_profile_col_data(p, col);
    for (uint32_t u = 0; u < total; u++) {
        if (mask && !mask[u]) continue;
        if (tl_profile_col_type(p, col) == TL_COL_NUM) v[k++] = ((const double *)data)[u];
        else v[k++] = ((const uint32_t *)data)[u] == TL_NONE ? NAN : ((const uint32_t *)data)[u];
    }
    *n = k;
    return v;
}

static int by_psi(const void *a, const void *b) {
    double x = ((const tl_drift_t *)a)->psi, y = ((const tl_drift_t *)b)->psi;
    return (x < y) - (x > y);
}

/* Whether name is one of the comma-separated names of list. */
static int listed(const char *list, const char *name) {
    size_t len = strlen(name);
    for (const char *q = list; (q = strstr(q, name)); q += len)
        if ((q == list || q[-1] == ',') && (q[len] == 0 || q[len] == ',')) return 1;
    return 0;
}

int tl_segment_drift(tl_store_t *st, const tl_profiles_t *p1, const tl_profiles_t *p2, const char *expr,
                     const char *features, tl_drift_t *out, int cap, int *n, tl_expr_err_t *err) {
    *n = 0;
    uint8_t *m1 = NULL, *m2 = NULL;
    int rc = 0;
    if (expr) {
        uint32_t s1, s2;
        tl_segtable_t *t1 = NULL, *t2 = NULL;
        m1 = malloc(tl_profile_nusers(p1) + 1), m2 = malloc(tl_profile_nusers(p2) + 1);
        rc = m1 && m2 ? 0 : TL_ENOMEM;
        if (!rc) rc = tl_segtable_new(p1, st, &t1);
        if (!rc) rc = tl_segtable_new(p2, st, &t2);
        if (!rc) rc = tl_segment_eval(t1, expr, m1, &s1, err);
        if (!rc) rc = tl_segment_eval(t2, expr, m2, &s2, err);
        tl_segtable_free(t1), tl_segtable_free(t2);
    }
    for (int col = 0; !rc && col < tl_profile_ncols(p2) && *n < cap; col++) {
        const char *name = tl_profile_col_name(p2, col);
        if (tl_profile_col_type(p2, col) == TL_COL_CAT || (features && !listed(features, name))) continue;
        int c1 = tl_profile_col_find(p1, name);
        if (c1 < 0 || strlen(name) >= sizeof out->name) continue;
        uint32_t n1, n2;
        double *v1 = column_values(p1, c1, m1, &n1), *v2 = column_values(p2, col, m2, &n2);
        if (v1 && v2) {
            tl_drift_t *d = &out[(*n)++];
            snprintf(d->name, sizeof d->name, "%s", name);
            d->psi = tl_psi(v1, n1, v2, n2, 10);
            d->reading = tl_psi_reading(d->psi);
        } else {
            rc = TL_ENOMEM;
        }
        free(v1), free(v2);
    }
    free(m1), free(m2);
    if (!rc) qsort(out, (size_t)*n, sizeof *out, by_psi);
    return rc;
}

cJSON *tl_drift_json(const tl_drift_t *d, int n, const tl_profiles_t *p1, const tl_profiles_t *p2,
                     const char *segment) {
    cJSON *j = cJSON_CreateObject();
    char t1[32], t2[32];
    tl_time_format(tl_profile_as_of(p1), t1);
    tl_time_format(tl_profile_as_of(p2), t2);
    cJSON_AddStringToObject(j, "from", t1);
    cJSON_AddStringToObject(j, "to", t2);
    if (segment) cJSON_AddStringToObject(j, "segment", segment);
    cJSON *arr = cJSON_AddArrayToObject(j, "features");
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "feature", d[i].name);
        cJSON_AddNumberToObject(o, "psi", d[i].psi);
        cJSON_AddStringToObject(o, "band", d[i].reading);
        cJSON_AddItemToArray(arr, o);
    }
    return j;
}

int tl_segment_history(tl_store_t *st, const char *expr, const int64_t *at, int n, uint32_t *size,
                       uint32_t *users, tl_expr_err_t *err, tl_errbuf_t *eb) {
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        tl_profile_opts_t o;
        tl_profile_opts_default(&o);
        o.as_of = at[i];
        tl_profiles_t *p = NULL;
        tl_segtable_t *t = NULL;
        rc = tl_segment_profiles_build(st, &o, &p, eb);
        uint32_t nu = rc ? 0 : tl_profile_nusers(p);
        uint8_t *mask = rc ? NULL : malloc((size_t)nu + 1);
        if (!rc && !mask) rc = TL_ENOMEM;
        if (!rc) rc = tl_segtable_new(p, st, &t);
        if (!rc) rc = tl_segment_eval(t, expr, mask, &size[i], err);
        /* the users a profile existed for then: events up to that time */
        uint32_t k = 0;
        for (uint32_t u = 0; !rc && u < nu; u++) k += tl_profile_kept(p, u) != 0;
        users[i] = k;
        tl_segtable_free(t);
        free(mask);
        tl_profile_free(p);
    }
    return rc;
}
