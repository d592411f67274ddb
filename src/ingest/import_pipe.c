/* import_pipe.c -- the parsing thread of an import and the queue of chunks
 * it hands to the writer: rows read, split, mapped and validated into
 * chunks that own their text, with masked previews of rejected rows. */
#include "ingest_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- the parsing thread -------------------------------------------------- */

/* Takes a free chunk from the queue (waiting for the writer if all are in
 * use); NULL when the writer asked to stop. */
static chunk_t *take_free(importer_t *im) {
    pthread_mutex_lock(&im->mu);
    while (im->count == NCHUNKS && !im->stop) pthread_cond_wait(&im->cv, &im->mu);
    chunk_t *ck = im->stop ? NULL : im->chunks[(im->head + im->count) % NCHUNKS];
    pthread_mutex_unlock(&im->mu);
    if (ck) {
        ck->nrows = ck->nrecs = 0;
        ck->arena.len = 0;
        ck->last = ck->err = 0;
        ck->eb.msg[0] = 0;
    }
    return ck;
}

static void publish(importer_t *im) {
    pthread_mutex_lock(&im->mu);
    im->count++;
    pthread_cond_broadcast(&im->cv);
    pthread_mutex_unlock(&im->mu);
}

static int is_pii_field(int f) {
    static const char *const pii[] = {"name", "phone", "email", "id_number"};
    if (f < 0) return 0;
    for (size_t i = 0; i < sizeof pii / sizeof *pii; i++)
        if (strcmp(tl__kinds[TL_KIND_USERS].fields[f].name, pii[i]) == 0) return 1;
    return 0;
}

/* A display copy of the current record with personal data masked: the
 * personal fields of a user record by position (all fields when the row
 * does not line up with the header), and anything that looks like a phone,
 * an ID number or an e-mail elsewhere. */
static int make_preview(importer_t *im, tl_buf_t *b) {
    tl_reader_t *rd = &im->rd;
    tl_buf_clear(b);
    int users = im->kind == TL_KIND_USERS && !im->preset;
    if (!users || rd->err >= 0) return tl_mask_text(rd->raw, rd->rawlen, b);
    int rc = 0;
    if (im->fmt == TL_FMT_JSONL) {
        cJSON *j = tl__json_parse(rd->raw, rd->rawlen, NULL, &rc);
        if (rc) return rc;
        if (!j || !cJSON_IsObject(j)) {
            rc = tl_buf_printf(b, "(not a JSON object, %zu bytes)", rd->rawlen);
        } else {
            for (cJSON *it = j->child; !rc && it; it = it->next) {
                int f = tl__json_field(im, it->string);
                if (!is_pii_field(f) || !cJSON_IsString(it)) continue;
                tl_buf_t m;
                tl_buf_init(&m);
                rc = tl_mask_value(it->valuestring, strlen(it->valuestring), &m);
                /* the value must not stay unmasked */
                if (!rc && !cJSON_SetValuestring(it, m.data ? m.data : "")) rc = TL_ENOMEM;
                tl_buf_fini(&m);
            }
            char *txt = rc ? NULL : cJSON_PrintUnformatted(j);
            if (!rc) rc = txt ? tl_mask_text(txt, strlen(txt), b) : TL_ENOMEM;
            cJSON_free(txt);
        }
        cJSON_Delete(j);
        return rc;
    }
    int aligned = rd->nf == im->ncols && !rd->too_many;
    for (int i = 0; !rc && i < rd->nf; i++) {
        if (i && (rc = tl_buf_append(b, rd->delim, (size_t)rd->dlen))) break;
        tl_slice_t v = rd->f[i];
        int quote = memchr(v.p, '"', v.n) || memchr(v.p, rd->delim[0], v.n) ||
                    memchr(v.p, '\n', v.n);
        size_t start = b->len;
        if (!aligned || is_pii_field(im->colfield[i])) rc = tl_mask_value(v.p, v.n, b);
        else rc = tl_mask_text(v.p, v.n, b);
        if (!rc && quote) {
            /* Re-quote what the mask left, doubling inner quotes. */
            tl_buf_t q;
            tl_buf_init(&q);
            rc = tl_buf_append(&q, "\"", 1);
            for (size_t k = start; !rc && k < b->len; k++) {
                if (b->data[k] == '"') rc = tl_buf_append(&q, "\"", 1);
                if (!rc) rc = tl_buf_append(&q, &b->data[k], 1);
            }
            if (!rc) rc = tl_buf_append(&q, "\"", 1);
            b->len = start;
            if (!rc) rc = tl_buf_append(b, q.data, q.len);
            tl_buf_fini(&q);
        }
    }
    return rc;
}

static const char *arena_copy(chunk_t *ck, const char *p, size_t n) {
    const char *c = tl__arena_dup(&ck->arena, p, n);
    return c ? c : "";
}

/* Parses one record of the reader into the current chunk. */
static int parse_row(importer_t *im, chunk_t *ck) {
    tl_rowctx_t row;
    row.im = im;
    row.recs = &ck->recs[ck->nrecs];
    row.nrec = 0;
    row.rejected = 0;
    int rc = 0;
    tl_reader_t *rd = &im->rd;
    if (rd->err >= 0) {
        tl__row_reject(&row, (tl_reason_t)rd->err, rd->err == TL_R_TOO_LONG
                                                       ? "the line is longer than 1 MiB"
                                                       : "a quoted field is never closed");
    } else if (im->fmt == TL_FMT_JSONL) {
        rc = tl__jsonl_row(&row, rd->raw, rd->rawlen);
    } else if (rd->too_many || rd->nf != im->ncols) {
        tl__row_reject(&row, TL_R_FIELD_COUNT, "%s%d fields, expected %d",
                       rd->too_many ? "more than " : "", rd->nf, im->ncols);
    } else {
        tl_slice_t cols[TL_MAX_FIELDS];
        memcpy(cols, rd->f, sizeof cols[0] * (size_t)rd->nf);
        tl__prepare_cols(im, cols, rd->nf);
        rc = im->preset ? im->pf.row(&row, cols, rd->nf)
                           : tl__generic_csv_row(&row, cols, rd->nf);
    }
    if (rc) return rc;
    row_t *r = &ck->rows[ck->nrows++];
    r->line = rd->line;
    r->rec0 = ck->nrecs;
    r->reason = -1;
    r->raw = r->msg = NULL;
    r->rawlen = 0;
    if (!row.rejected && row.nrec == 0)
        tl__row_reject(&row, TL_R_MISSING_FIELD, "the row holds no record");
    /* kept when the writer may still reject the row: a credit record or a
     * consent naming an unknown user, an identifier not of its kind's form */
    int keep_raw = row.rejected;
    for (int i = 0; i < row.nrec && !keep_raw; i++)
        keep_raw = row.recs[i].kind == TL_KIND_CREDIT || row.recs[i].kind == TL_KIND_CONSENTS ||
                   tl__rec_keyed(im, &row.recs[i]);
    if (keep_raw) {
        r->raw = arena_copy(ck, rd->raw, rd->rawlen);
        r->rawlen = strlen(r->raw) == rd->rawlen ? rd->rawlen : strlen(r->raw);
    }
    r->preview = NULL;
    if (keep_raw) {
        if ((rc = make_preview(im, &im->scratch))) {
            ck->nrows--; /* the writer must not see the row half made */
            return rc;
        }
        r->preview = arena_copy(ck, im->scratch.data ? im->scratch.data : "", im->scratch.len);
    }
    if (row.rejected) {
        r->reason = (int16_t)row.reason;
        r->msg = arena_copy(ck, row.msg, strlen(row.msg));
        r->nrec = 0;
    } else {
        r->nrec = (uint8_t)row.nrec;
        ck->nrecs += (uint32_t)row.nrec;
    }
    return 0;
}

static void *parser_main(void *arg) {
    importer_t *im = arg;
    chunk_t *ck = take_free(im);
    while (ck) {
        im->cur = ck;
        im->vc.arena = &ck->arena;
        int rc = 0, eof = 0;
        while (ck->nrows < CHUNK_ROWS && ck->nrecs + MAX_RECS <= CHUNK_RECS &&
               ck->arena.cap - ck->arena.len >= ROW_RESERVE) {
            rc = im->fmt == TL_FMT_JSONL ? tl__reader_line(&im->rd, &ck->eb)
                                         : tl__reader_csv(&im->rd, &ck->eb);
            if (rc == 0) eof = 1;
            if (rc <= 0) break;
            if ((rc = parse_row(im, ck))) break;
        }
        ck->bytes = im->rd.bytes;
        if (rc < 0) ck->err = rc;
        ck->last = eof || rc < 0;
        int last = ck->last;
        publish(im);
        ck = last ? NULL : take_free(im);
    }
    return NULL;
}

/* Tells the front end how far the source being read has got. */
void tl__import_progress(const importer_t *im, tl_progress_phase_t phase, uint64_t done) {
    if (!im->o->on_progress) return;
    tl_import_progress_t p = {phase, im->src->name, done, im->file_size, im->rows};
    im->o->on_progress(&p, im->o->notify_arg);
}

/* Runs the parser thread over the open reader and writes what it yields. */
int tl__import_pump(importer_t *im, tl_errbuf_t *eb) {
    im->head = im->count = im->stop = 0;
    pthread_t th;
    if (pthread_create(&th, NULL, parser_main, im) != 0) {
        tl_errbuf_set(eb, "cannot start the parsing thread");
        return TL_ENOMEM;
    }
    int rc = 0, done = 0;
    while (!done) {
        pthread_mutex_lock(&im->mu);
        while (im->count == 0) pthread_cond_wait(&im->cv, &im->mu);
        chunk_t *ck = im->chunks[im->head];
        pthread_mutex_unlock(&im->mu);
        if (im->rows == 0 && ck->bytes && im->kind == TL_KIND_EVENTS) {
            /* Size the de-duplication set once, from the rows per byte of
             * the first chunk. */
            double est = (double)im->file_size * ck->nrows / (double)ck->bytes;
            tl_store_expect_events(im->st, (uint64_t)(est * 1.05) + 1024);
        }
        rc = tl__write_chunk(im, ck, eb);
        if (!rc && ck->err) {
            rc = ck->err;
            memcpy(eb, &ck->eb, sizeof *eb);
        }
        done = ck->last || rc;
        im->rows += ck->nrows;
        tl__import_progress(im, TL_PROGRESS_ROWS, ck->bytes);
        pthread_mutex_lock(&im->mu);
        im->head = (im->head + 1) % NCHUNKS;
        im->count--;
        if (rc) im->stop = 1;
        pthread_cond_broadcast(&im->cv);
        pthread_mutex_unlock(&im->mu);
    }
    pthread_join(th, NULL);
    return rc;
}
