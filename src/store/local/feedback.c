/* feedback.c -- the repository of feedback records (table `feedback`), as
 * promised in campaigns.h: complaints, unsubscribes, bounces, surveys and
 * reviews, each kept once per (source, line) so a re-import adds nothing. */
#include "store/local/local_int.h"

#include <math.h>
#include <stdlib.h>

const char tl__feedback_schema[] =
    "CREATE TABLE IF NOT EXISTS feedback(id INTEGER PRIMARY KEY, user INTEGER, kind TEXT,"
    "  campaign TEXT, channel TEXT, item INTEGER, score REAL, at INTEGER, source TEXT,"
    "  line INTEGER, UNIQUE(source, line));";

int tl__local_feedback_add(tl_store_t *st, const tl_feedback_row_t *f, tl_errbuf_t *eb) {
    /* an absent item is stored as -1, an absent score (NaN) as NULL */
    int rc = tl__local_exec(st, eb, "INSERT OR IGNORE INTO feedback(user, kind, campaign, channel, item, "
                            "score, at, source, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                            "itttiditi", (int64_t)f->user, f->kind, f->campaign, f->channel,
                            f->item == TL_NONE ? (int64_t)-1 : (int64_t)f->item, f->score, f->at,
                            f->source, (int64_t)f->line);
    return rc ? rc : tl__local_changes(st) > 0;
}

typedef struct {
    tl_feedback_fn fn;
    void *arg;
} fbctx_t;

static int feedback_row(int n, const char *const *c, void *arg) {
    const fbctx_t *x = arg;
    (void)n;
    int64_t u = c[0] ? atoll(c[0]) : -1, item = c[4] ? atoll(c[4]) : -1;
    if (u < 0 || u > UINT32_MAX) return 0;
    tl_feedback_row_t f = {.user = (uint32_t)u, .kind = c[1] ? c[1] : "", .campaign = c[2],
                           .channel = c[3],
                           .item = item >= 0 && item < TL_NONE ? (uint32_t)item : TL_NONE,
                           .score = c[5] ? atof(c[5]) : NAN, .at = c[6] ? atoll(c[6]) : 0,
                           .source = c[7], .line = c[8] ? strtoull(c[8], NULL, 10) : 0};
    return x->fn(&f, x->arg);
}

#define FEEDBACK_COLS "SELECT user, kind, campaign, channel, item, score, at, source, line FROM feedback "

int tl__local_feedback_scan(tl_store_t *st, const char *campaign, tl_feedback_fn fn, void *arg,
                           tl_errbuf_t *eb) {
    fbctx_t x = {fn, arg};
    return tl__local_queryf(st, eb, feedback_row, &x, FEEDBACK_COLS "WHERE campaign = ?1 ORDER BY id",
                            "t", campaign);
}

int tl__local_feedback_of_user(tl_store_t *st, uint32_t user, tl_feedback_fn fn, void *arg,
                              tl_errbuf_t *eb) {
    fbctx_t x = {fn, arg};
    return tl__local_queryf(st, eb, feedback_row, &x, FEEDBACK_COLS "WHERE user = ?1 ORDER BY at, id",
                            "i", (int64_t)user);
}

typedef struct {
    tl_item_count_fn fn;
    void *arg;
} negctx_t;

static int negative_row(int n, const char *const *c, void *arg) {
    const negctx_t *x = arg;
    (void)n;
    int64_t item = c[0] ? atoll(c[0]) : -1;
    if (item < 0 || item >= TL_NONE) return 0;
    return x->fn((uint32_t)item, c[1] ? strtoull(c[1], NULL, 10) : 0, x->arg);
}

int tl__local_feedback_negative(tl_store_t *st, tl_item_count_fn fn, void *arg, tl_errbuf_t *eb) {
    negctx_t x = {fn, arg};
    return tl__local_queryf(st, eb, negative_row, &x, "SELECT item, count(*) FROM feedback WHERE item >= 0 "
                            "AND (kind = 'complaint' OR (kind = 'review' AND score <= 2)) "
                            "GROUP BY item ORDER BY item", "");
}

int tl__feedback_purge(tl_store_t *st, uint32_t user, int64_t before, uint64_t *rows,
                       tl_errbuf_t *eb) {
    int rc = 0;
    if (user != TL_NONE) {
        rc = tl__local_exec(st, eb, "DELETE FROM feedback WHERE user = ?1", "i", (int64_t)user);
        if (!rc) *rows += (uint64_t)tl__local_changes(st);
    }
    if (!rc && before != INT64_MIN) {
        rc = tl__local_exec(st, eb, "DELETE FROM feedback WHERE at < ?1", "i", before);
        if (!rc) *rows += (uint64_t)tl__local_changes(st);
    }
    return rc;
}
