/* subject_rows.c -- one user's do-not-contact and feedback records, read
 * for subject access (privacy/subject.c): typed rows in the order the
 * export lists them. The campaign module owns these tables and writes
 * them; this file only reads what is held about one person. */
#include "store/store_int.h"

typedef struct {
    tl_subject_dnc_fn fn;
    void *arg;
} dnc_t;

static int dnc_row(sqlite3_stmt *q, void *arg) {
    const dnc_t *x = arg;
    tl_subject_dnc_t d = {.channel = tl__col_text(q, 0), .reason = tl__col_text(q, 1),
                          .at = tl__col_i64(q, 2, INT64_MIN), .campaign = tl__col_text(q, 3)};
    return x->fn(&d, x->arg);
}

int tl_store_subject_dnc(tl_store_t *s, uint32_t user, tl_subject_dnc_fn fn, void *arg,
                         tl_errbuf_t *eb) {
    dnc_t x = {fn, arg};
    return tl__store_rows(s, "SELECT channel, reason, at, campaign FROM dnc WHERE user = ?1 "
                             "ORDER BY at",
                          user, dnc_row, &x, "reading do-not-contact records", eb);
}

typedef struct {
    tl_subject_feedback_fn fn;
    void *arg;
} feedback_t;

static int feedback_row(sqlite3_stmt *q, void *arg) {
    const feedback_t *x = arg;
    tl_subject_feedback_t f = {
        .kind = tl__col_text(q, 0), .campaign = tl__col_text(q, 1), .channel = tl__col_text(q, 2),
        .item = (uint32_t)tl__col_i64(q, 3, TL_NONE), .score = tl__col_real(q, 4),
        .at = tl__col_i64(q, 5, INT64_MIN)};
    return x->fn(&f, x->arg);
}

int tl_store_subject_feedback(tl_store_t *s, uint32_t user, tl_subject_feedback_fn fn, void *arg,
                              tl_errbuf_t *eb) {
    feedback_t x = {fn, arg};
    return tl__store_rows(s, "SELECT kind, campaign, channel, item, score, at FROM feedback "
                             "WHERE user = ?1 ORDER BY at, id",
                          user, feedback_row, &x, "reading feedback", eb);
}
