/* feedback.c -- what users say back: complaints, unsubscribes, bounces,
 * survey scores and review ratings, from a CSV file (later the API).
 *
 * Columns: user, kind, at (required); campaign, channel, item, score
 * (optional). A complaint, unsubscribe or bounce puts the user on the
 * do-not-contact list at once, for the channel given or for every channel
 * (bounces need the channel); every row is kept in the `feedback` table
 * (reports count complaints and unsubscribes per campaign; recommendations
 * lower items with complaints or low ratings). Bad rows are quarantined
 * with their line and reason; read = accepted + duplicates + rejected. A
 * row already imported from the same file and line is a duplicate. */
#include "campaign.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

typedef struct {
    tl_store_t *st;
    const char *path;
    tl_feedback_stats_t *s;
    tl_reject_fn fn;
    void *arg;
    tl_errbuf_t *eb;
    int err;
} fbctx_t;

static void quarantine(fbctx_t *x, uint64_t line, tl_reason_t why, const char *msg, const char *raw,
                       size_t rawlen) {
    tl_buf_t prev;
    tl_buf_init(&prev);
    tl_mask_text(raw, rawlen, &prev);
    tl_buf_append(&prev, "", 1);
    int rc = tl_store_quarantine(x->st, x->path, line, tl_reason_name(why), msg, raw, rawlen,
                                 prev.data ? prev.data : "", x->eb);
    tl_buf_fini(&prev);
    if (rc < 0 && !x->err) x->err = rc;
    x->s->rejected++;
    if (x->fn) x->fn(x->path, line, why, msg, x->arg);
}

static void on_table_reject(const char *source, uint64_t line, tl_reason_t why, const char *msg,
                            void *arg) {
    fbctx_t *x = arg;
    (void)source;
    quarantine(x, line, why, msg, "", 0);
}

static const char *const KINDS[] = {"complaint", "unsubscribe", "bounce", "survey", "review"};

int tl_feedback_import(tl_store_t *st, const tl_source_t *src, tl_feedback_stats_t *s,
                       tl_reject_fn on_reject, void *arg, tl_errbuf_t *eb) {
    memset(s, 0, sizeof *s);
    fbctx_t x = {st, src->name, s, on_reject, arg, eb, 0};
    tl_table_t t;
    tl_table_opts_t to = {0};
    int rc = tl_store_begin(st, eb);
    if (!rc) rc = tl_table_read(src, &to, &t, on_table_reject, &x, eb);
    if (rc) {
        tl_store_rollback(st);
        return rc;
    }
    static const char *const COLS[] = {"user", "kind", "at", "campaign", "channel", "item", "score"};
    uint32_t col[7];
    for (int k = 0; k < 7; k++) col[k] = tl_table_column(&t, COLS[k]);
    if (col[0] == TL_NONE || col[1] == TL_NONE || col[2] == TL_NONE) {
        tl_errbuf_set(eb, "%s: feedback needs the columns user, kind and at (and may have "
                      "campaign, channel, item, score)", src->name);
        rc = TL_EBADINPUT;
    }
    tl_dict_t *users = rc ? NULL : tl_store_dict(st, TL_D_USER, eb);
    tl_dict_t *items = users ? tl_store_dict(st, TL_D_ITEM, eb) : NULL;
    if (!rc && !items) rc = TL_ENOMEM;
    tl_buf_t raw;
    tl_buf_init(&raw);
    for (uint32_t r = 0; !rc && !x.err && r < t.nrows; r++) {
        const char *v[7];
        for (int k = 0; k < 7; k++) v[k] = col[k] == TL_NONE ? "" : tl_table_cell(&t, r, col[k]);
        tl_buf_clear(&raw);
        for (uint32_t c = 0; c < t.ncols; c++) {
            if (c) tl_buf_append(&raw, ",", 1);
            const char *cell = tl_table_cell(&t, r, c);
            tl_buf_csv_str(&raw, cell, strlen(cell));
        }
        uint64_t line = t.line[r];
        char msg[256];
        uint32_t u = tl_dict_find(users, v[0], strlen(v[0]));
        int kind = -1;
        for (int k = 0; k < 5; k++)
            if (strcmp(v[1], KINDS[k]) == 0) kind = k;
        int64_t at;
        double score = NAN;
        uint32_t item = TL_NONE;
        tl_reason_t why = 0;
        int bad = 1;
        if (!*v[0] || !*v[1] || !*v[2]) {
            why = TL_R_MISSING_FIELD;
            snprintf(msg, sizeof msg, "user, kind and at are required");
        } else if (u == TL_NONE) {
            why = TL_R_UNKNOWN_USER;
            snprintf(msg, sizeof msg, "no user \"%.64s\" in the store", v[0]);
        } else if (kind < 0) {
            why = TL_R_BAD_VALUE;
            snprintf(msg, sizeof msg, "kind \"%.32s\": use complaint, unsubscribe, bounce, survey or review", v[1]);
        } else if (tl_time_parse(v[2], strlen(v[2]), &at)) {
            why = TL_R_BAD_TIME;
            snprintf(msg, sizeof msg, "at \"%.40s\" is not a time", v[2]);
        } else if (*v[4] && tl_dchannel_find(v[4]) < 0) {
            why = TL_R_UNKNOWN_CHANNEL;
            snprintf(msg, sizeof msg, "channel \"%.32s\" is not a delivery channel", v[4]);
        } else if (*v[5] && (item = tl_dict_find(items, v[5], strlen(v[5]))) == TL_NONE) {
            why = TL_R_BAD_ID;
            snprintf(msg, sizeof msg, "no item \"%.64s\" in the catalogue", v[5]);
        } else if (*v[6] && (tl_parse_f64(v[6], strlen(v[6]), &score) || !(score >= 0 && score <= 10))) {
            why = *v[6] && !isnan(score) ? TL_R_OUT_OF_RANGE : TL_R_BAD_NUMBER;
            snprintf(msg, sizeof msg, "score \"%.32s\": a number from 0 to 10", v[6]);
        } else if (kind == 2 && !*v[4]) {
            why = TL_R_MISSING_FIELD;
            snprintf(msg, sizeof msg, "a bounce needs the channel it bounced on");
        } else if ((kind == 3 || kind == 4) && isnan(score)) {
            why = TL_R_MISSING_FIELD;
            snprintf(msg, sizeof msg, "a %s needs a score", KINDS[kind]);
        } else {
            bad = 0;
        }
        if (bad) {
            quarantine(&x, line, why, msg, raw.data, raw.len);
            continue;
        }
        tl_feedback_row_t f = {u, KINDS[kind], *v[3] ? v[3] : NULL, *v[4] ? v[4] : NULL,
                               item, score, at, src->name, line};
        rc = tl_store_feedback_add(st, &f, eb);
        if (rc < 0) break;
        if (!rc) {
            s->duplicates++;
            continue;
        }
        s->accepted++, rc = 0;
        if (kind <= 2) {
            /* the channel was checked above */
            static const char *const REASON[] = {"complained", "unsubscribed", "bounced"};
            rc = tl_store_dnc_put(st, u, *v[4] ? v[4] : "*", REASON[kind], at, *v[3] ? v[3] : NULL, eb);
            if (rc > 0) s->suppressed++, rc = 0;
        }
    }
    s->read = s->accepted + s->duplicates + s->rejected;
    if (!rc) rc = x.err;
    tl_buf_fini(&raw);
    tl_table_fini(&t);
    if (!rc) rc = tl_store_commit(st, eb);
    else tl_store_rollback(st);
    return rc;
}
