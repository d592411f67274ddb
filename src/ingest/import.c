/* import.c -- the import driver: source → rows → canonical records → store.
 *
 * For each source (in the order order.c gives) it picks the format and the
 * kind (from the options, the preset, or the header), maps columns (or JSON
 * keys) onto canonical fields, and hands every row to a row handler: the
 * generic one (import_row.c), or a preset's. A row handler emits one or more canonical records; if all pass
 * validation they are written (the first one decides whether the row counts
 * as accepted or duplicate), otherwise the whole row is quarantined with the
 * first reason. Every row read ends in exactly one of the three counters.
 *
 * Two threads share the work of one source. The parsing thread reads, splits,
 * maps and validates rows into chunks of a few thousand (each chunk owns the
 * text its records point to); the calling thread takes the chunks in order
 * and writes them: interning ids, de-duplicating, appending events and
 * upserting entities. Nothing the parser reads is written while it runs.
 *
 * Batches of batch_rows rows are committed as one unit (see store.h); under
 * --strict the whole run is one batch, rolled back if any row was bad.
 *
 * The parts: import_row.c (rows to records), import_pipe.c (the parsing
 * thread), import_write.c (writing). */
#include "ingest_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

void tl_import_opts_default(tl_import_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->kind = TL_KIND_AUTO;
    o->format = TL_FMT_AUTO;
}

/* ---- header handling ----------------------------------------------------- */

/* Applies --map "field=column,...": column is a header name, #N (1-based),
 * or empty to ignore a column/key. names may be NULL (no header). */
static int apply_map(importer_t *im, const tl_slice_t *names, int ncols, tl_errbuf_t *eb) {
    const char *m = im->o->map;
    if (!m || !*m) return 0;
    while (*m) {
        const char *end = strchr(m, ',');
        size_t len = end ? (size_t)(end - m) : strlen(m);
        const char *eq = memchr(m, '=', len);
        if (!eq) {
            tl_errbuf_set(eb, "--map: \"%.*s\" is not field=column", (int)len, m);
            return TL_EINVAL;
        }
        size_t fl = (size_t)(eq - m), cl = len - fl - 1;
        const char *col = eq + 1;
        int f = tl__field_index(im->kind, m, fl);
        if (f < 0 && !(fl == 1 && m[0] == '-')) {
            tl_errbuf_set(eb, "--map: %.*s is not a field of %s records (see docs/FORMATS.md)",
                          (int)fl, m, tl__kinds[im->kind].name);
            return TL_EINVAL;
        }
        if (im->o->format == TL_FMT_JSONL || im->pf.format == TL_FMT_JSONL) {
            /* field=key, or -=key to ignore a key */
            if (im->njmap < (int)(sizeof im->jmap / sizeof *im->jmap) && cl < 64) {
                memcpy(im->jmap[im->njmap].key, col, cl);
                im->jmap[im->njmap].key[cl] = 0;
                im->jmap[im->njmap].field = f;
                /* The key's own name no longer maps to the field. */
                for (int i = 0; i < im->njmap; i++)
                    if (im->jmap[i].field == f && f >= 0) im->jmap[i].field = -2;
                im->njmap++;
            }
        } else {
            int ci = -1;
            if (cl > 1 && col[0] == '#') {
                int64_t k;
                if (tl_parse_i64(col + 1, cl - 1, &k) != 0 || k < 1) {
                    tl_errbuf_set(eb, "--map %.*s: \"%.*s\" is not a column number; columns "
                                  "count from 1 (#1 is the first)", (int)len, m, (int)cl, col);
                    return TL_EINVAL;
                }
                if (k > ncols) {
                    tl_errbuf_set(eb, "--map %.*s: the file has %d columns", (int)len, m, ncols);
                    return TL_EINVAL;
                }
                ci = (int)k - 1;
            } else if (names) {
                for (int i = 0; i < ncols; i++)
                    if (names[i].n == cl && memcmp(names[i].p, col, cl) == 0) ci = i;
            }
            if (ci < 0) {
                tl_errbuf_set(eb, "--map: column \"%.*s\" is not in the file (%d columns; name "
                              "a header column or use #N, counting from 1)%s", (int)cl, col, ncols,
                              names ? "" : "; a file without a header names columns by #N only");
                return TL_EINVAL;
            }
            for (int i = 0; i < ncols; i++)
                if (f >= 0 && im->colfield[i] == f) im->colfield[i] = -1;
            im->colfield[ci] = f;
        }
        m += len + (end ? 1 : 0);
    }
    return 0;
}

/* Applies --set "field=value,...": each field named takes its value in
 * every record of the source. */
static int apply_set(importer_t *im, tl_errbuf_t *eb) {
    memset(im->konst, 0, sizeof im->konst);
    const char *m = im->o->set;
    while (m && *m) {
        size_t len = strcspn(m, ",");
        const char *eq = memchr(m, '=', len);
        if (!eq || eq == m) {
            tl_errbuf_set(eb, "--set: \"%.*s\" is not field=value", (int)len, m);
            return TL_EINVAL;
        }
        size_t fl = (size_t)(eq - m);
        int f = tl__field_index(im->kind, m, fl);
        if (f < 0) {
            tl_errbuf_set(eb, "--set: %.*s is not a field of %s records (see docs/FORMATS.md)",
                          (int)fl, m, tl__kinds[im->kind].name);
            return TL_EINVAL;
        }
        tl_slice_t v = tl__trim((tl_slice_t){eq + 1, len - fl - 1});
        if (!v.n || !tl_utf8_valid(v.p, v.n)) {
            tl_errbuf_set(eb, "--set %.*s: give the field a value in UTF-8", (int)len, m);
            return TL_EINVAL;
        }
        im->konst[f] = v;
        m += len + (m[len] == ',');
    }
    return 0;
}

/* The field count of the first record of a CSV source (0 when it has
 * none), found by a look ahead; in is rewound. */
static int first_record_fields(tl_input_t *in, const char *delim, int *n,
                               tl_errbuf_t *eb) {
    tl_reader_t rd;
    *n = 0;
    tl__input_look(in);
    int rc = tl__reader_open_input(&rd, in, delim, eb);
    if (!rc) {
        int got = tl__reader_csv(&rd, eb);
        if (got < 0) rc = got;
        else if (got) *n = rd.nf;
    }
    tl__reader_close(&rd);
    int rw = tl__input_rewind(in, eb);
    return rc ? rc : rw;
}

/* Tells the front end of a header column that maps to no field. */
static void warn_ignored(const importer_t *im, tl_slice_t name) {
    if (!im->o->on_warning) return;
    char msg[512];
    snprintf(msg, sizeof msg, "%s: column \"%.*s\" is not a field of %s records; it is ignored "
             "(map it with --map FIELD=%.*s)", im->src->name, (int)name.n, name.p,
             tl__kinds[im->kind].name, (int)name.n, name.p);
    im->o->on_warning(msg, im->o->notify_arg);
}

static int setup_csv_columns(importer_t *im, const char *path, tl_errbuf_t *eb) {
    tl_slice_t names[TL_MAX_FIELDS] = {{NULL, 0}};
    int n = 0;
    if (!im->o->no_header) {
        int rc = tl__read_header(&im->rd, names, &n, &im->kind, eb);
        if (rc <= 0) return rc; /* 0: an empty file */
        for (int i = 0; i < n; i++) {
            im->colfield[i] = tl__field_index(im->kind, names[i].p, names[i].n);
        }
    } else {
        if (im->kind == TL_KIND_AUTO) {
            tl_errbuf_set(eb, "%s: a file without a header needs --kind", path);
            return TL_EINVAL;
        }
        if (im->o->map && *im->o->map) {
            /* only the columns the map names, out of as many as the file has */
            n = im->first_nf;
            for (int i = 0; i < n; i++) im->colfield[i] = -1;
        } else { /* the columns in canonical order */
            n = tl__kinds[im->kind].nfields;
            for (int i = 0; i < n; i++) im->colfield[i] = i;
        }
    }
    im->ncols = n;
    int rc = apply_map(im, im->o->no_header ? NULL : names, n, eb);
    if (rc) return rc;
    if (!im->o->no_header) {
        for (int i = 0; i < n; i++)
            if (im->colfield[i] < 0 && names[i].n) warn_ignored(im, names[i]);
    }
    return 0;
}

static void setup_json_keys(importer_t *im) {
    const tl_kindspec_t *ks = &tl__kinds[im->kind];
    im->njmap = 0;
    for (int i = 0; i < ks->nfields; i++) {
        snprintf(im->jmap[im->njmap].key, sizeof im->jmap[0].key, "%s", ks->fields[i].name);
        im->jmap[im->njmap++].field = i;
    }
}

/* ---- one source ---------------------------------------------------------- */

/* Imports src through in (opened here unless the look at its kind left it
 * open); kind is what that look found (tl__source_order). */
static int import_source(importer_t *im, const tl_source_t *src, tl_input_t *in, tl_kind_t kind,
                         tl_errbuf_t *eb) {
    const tl_import_opts_t *o = im->o;
    const char *path = src->name;
    char real[PATH_MAX];
    im->src = src;
    im->source = src->kind == TL_SOURCE_FILE && realpath(path, real) ? real : path;
    im->file_size = im->rows = im->written = 0;
    memset(&im->pf, 0, sizeof im->pf);
    im->kind = kind;
    im->latin1 = o->encoding && (strcmp(o->encoding, "latin1") == 0 ||
                                 strcmp(o->encoding, "iso-8859-1") == 0);
    if (o->encoding && !im->latin1 && strcmp(o->encoding, "utf-8") != 0 &&
        strcmp(o->encoding, "utf8") != 0) {
        tl_errbuf_set(eb, "--encoding %s: use utf-8 or latin1", o->encoding);
        return TL_EINVAL;
    }
    im->fmt = o->format;
    const char *delim = o->delimiter;
    int rc;
    const char *what;
    if ((rc = tl__source_preset(o, src, in, &im->preset, &what, &im->pf, eb))) {
        tl__input_close(in);
        return rc;
    }
    if (im->preset) {
        im->kind = im->pf.kind;
        im->fmt = im->pf.format;
        delim = im->pf.delimiter;
        im->latin1 = im->pf.latin1;
        if (what && o->on_warning) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s: read as %s by its content (--preset %s)", path, what,
                     im->preset);
            o->on_warning(msg, o->notify_arg);
        }
    } else {
        im->fmt = tl__source_format(o, path);
    }
    im->first_nf = 0;
    if ((!in->open && (rc = tl__input_open(in, src, eb))) ||
        (!im->preset && im->fmt == TL_FMT_CSV && o->no_header && o->map &&
         (rc = first_record_fields(in, delim, &im->first_nf, eb))) ||
        (rc = tl__reader_open_input(&im->rd, in, delim, eb))) {
        tl__reader_close(&im->rd);
        return rc;
    }
    if (im->preset) im->rd.quotes = im->pf.quotes;
    im->file_size = in->size;
    tl__import_progress(im, TL_PROGRESS_START, 0);
    if (im->fmt == TL_FMT_JSONL && !im->preset) {
        if (im->kind == TL_KIND_AUTO) {
            tl_errbuf_set(eb, "%s: cannot tell what this file holds from its first object; name "
                          "the kind with --kind", path);
            rc = TL_EINVAL;
            goto done;
        }
        setup_json_keys(im);
        im->pf.format = TL_FMT_JSONL;
        if ((rc = apply_map(im, NULL, 0, eb))) goto done;
    } else if (!im->preset) {
        if ((rc = setup_csv_columns(im, path, eb))) goto done;
    } else if (im->pf.header) {
        rc = tl__reader_csv(&im->rd, eb);
        if (rc < 0) goto done;
        im->ncols = im->pf.ncols ? im->pf.ncols : im->rd.nf;
    } else {
        im->ncols = im->pf.ncols;
    }
    if (im->kind != TL_KIND_AUTO && (rc = apply_set(im, eb))) goto done;
    rc = tl__import_pump(im, eb);
done:
    tl__import_progress(im, TL_PROGRESS_END, im->rd.bytes);
    im->stats->bytes += im->rd.bytes;
    if (rc && !eb->msg[0])
        tl_errbuf_set(eb, "%s:%llu: %s", path, (unsigned long long)im->rd.line, tl_strerror(rc));
    tl__reader_close(&im->rd);
    tl__input_close(in);
    cJSON_Delete(im->json);
    im->json = NULL;
    return rc;
}

static int register_names(importer_t *im, tl_dkind_t kind, const char *list, tl_errbuf_t *eb) {
    if (!list || !*list) return 0;
    tl_dict_t *d = tl_store_dict(im->st, kind, eb);
    if (!d) return TL_ENOMEM;
    while (*list) {
        const char *end = strchr(list, ',');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        tl_slice_t v = {list, n};
        int ok = n > 0 && n <= 32;
        for (size_t i = 0; ok && i < n; i++)
            ok = (list[i] >= 'a' && list[i] <= 'z') || (list[i] >= '0' && list[i] <= '9') ||
                 list[i] == '_';
        if (!ok) {
            tl_errbuf_set(eb, "\"%.*s\": names of event types and channels are 1-32 lower-case "
                          "letters, digits or _", (int)v.n, v.p);
            return TL_EINVAL;
        }
        uint32_t idx;
        int rc = tl_dict_intern(d, list, n, &idx, NULL);
        if (rc) return rc;
        if (idx >= TL_MAX_TYPES) {
            tl_errbuf_set(eb, "at most %d event types and %d channels can be registered",
                          TL_MAX_TYPES, TL_MAX_TYPES);
            return TL_ERANGE;
        }
        list += n + (end ? 1 : 0);
    }
    return 0;
}

static void importer_free(importer_t *im) {
    for (int i = 0; i < NCHUNKS; i++) {
        if (im->chunks[i]) free(im->chunks[i]->arena.mem);
        free(im->chunks[i]);
    }
    tl_buf_fini(&im->scratch);
    tl_buf_fini(&im->keys);
    free(im->user_cache);
    free(im->item_cache);
    pthread_mutex_destroy(&im->mu);
    pthread_cond_destroy(&im->cv);
    free(im);
}

/* ---- batches, and resuming after a lost connection ---------------------- *
 *
 * A server store whose connection is lost rolls the batch back whole and
 * says so (TL_ELOST; a commit whose outcome it cannot learn is TL_EIO).
 * The run then goes back to its last commit: the counts as they were then,
 * the sources read again from the one the commit fell in, its rows up to
 * the commit passed over, the rest written in a new batch once the store
 * (or a standby promoted in its place) answers. That needs every source
 * from there on to be read again: a pipe or an open descriptor cannot be,
 * and the run stops with the error; running it again imports the rest
 * exactly once, as the fingerprints keep events from doubling. */

#define RESUME_TRIES 3 /* lost connections in a row with no commit between */

/* A batch begun, with what the run needs of the store in it. */
static int batch_open(importer_t *im, tl_errbuf_t *eb) {
    tl_store_t *st = im->st;
    const tl_import_opts_t *o = im->o;
    int rc = tl_store_begin(st, eb);
    if (!rc) rc = register_names(im, TL_D_TYPE, o->extra_types, eb);
    if (!rc) rc = register_names(im, TL_D_CHANNEL, o->extra_channels, eb);
    if (rc) return rc;
    im->vc.now_ms = tl_store_now(st);
    im->vc.types = tl_store_dict(st, TL_D_TYPE, eb);
    im->vc.channels = tl_store_dict(st, TL_D_CHANNEL, eb);
    im->vc.identify = im->vc.types ? tl_dict_find(im->vc.types, "identify", 8) : TL_NONE;
    im->users = tl_store_dict(st, TL_D_USER, eb);
    im->items = tl_store_dict(st, TL_D_ITEM, eb);
    im->queries = tl_store_dict(st, TL_D_QUERY, eb);
    im->cities = tl_store_dict(st, TL_D_CITY, eb);
    im->campaigns = tl_store_dict(st, TL_D_CAMPAIGN, eb);
    if ((im->any_erased = tl_store_erased_any(st, eb)) < 0) return im->any_erased;
    if (!im->vc.types || !im->vc.channels || !im->users || !im->items || !im->queries ||
        !im->cities || !im->campaigns)
        return TL_ENOMEM;
    /* idx TL_NONE marks an empty entry; a rolled-back batch's ids are gone */
    for (int i = 0; i < IDC_SLOTS; i++) im->user_cache->e[i].idx = im->item_cache->e[i].idx = TL_NONE;
    im->in_batch = 0;
    return 0;
}

void tl__import_checkpoint(importer_t *im) {
    im->ck.k = im->k;
    im->ck.rows = im->written;
    im->ck.stats = *im->stats;
    im->ck.src_start = im->src_start;
}

/* Whether a source can be read again from its start. */
static int rereadable(const tl_source_t *src) {
    struct stat sb;
    if (src->kind == TL_SOURCE_MEM) return 1;
    return src->kind == TL_SOURCE_FILE && stat(src->name, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* After a lost connection in the source at place `failed` of the order:
 * the run put back to its last commit and a new batch begun, 0; or the
 * error that stops it. */
static int resume(importer_t *im, const tl_source_t *src, const tl_srckind_t *order, int failed,
                  int *tries, tl_errbuf_t *eb) {
    for (int k = im->ck.k; k <= failed; k++) {
        if (!rereadable(&src[order[k].index])) {
            char why[sizeof eb->msg];
            memcpy(why, eb->msg, sizeof why);
            tl_errbuf_set(eb, "%.400s; %.200s cannot be read again: running the import again "
                          "imports the rest once", why, src[order[k].index].name);
            return TL_ELOST;
        }
    }
    if (++*tries > RESUME_TRIES) return TL_ELOST;
    tl_store_rollback(im->st);
    if (im->o->on_warning) {
        char msg[sizeof eb->msg + 200];
        snprintf(msg, sizeof msg, "%s; going on from row %llu of %s", eb->msg,
                 (unsigned long long)im->ck.rows + 1, src[order[im->ck.k].index].name);
        im->o->on_warning(msg, im->o->notify_arg);
    }
    memset(eb, 0, sizeof *eb);
    *im->stats = im->ck.stats;
    return batch_open(im, eb);
}

/* A line per source of a committed run in the history (informational: a
 * line lost to a crash right after the commit loses no data). */
static void record_history(tl_store_t *st, const tl_source_t *src, int nsrc, const tl_import_stats_t *per) {
    char at[32];
    tl_time_format(tl_store_now(st), at);
    for (int i = 0; i < nsrc; i++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "at", at);
        cJSON_AddStringToObject(j, "source", src[i].name ? src[i].name : "");
        cJSON_AddNumberToObject(j, "read", (double)per[i].read);
        cJSON_AddNumberToObject(j, "accepted", (double)per[i].accepted);
        cJSON_AddNumberToObject(j, "duplicates", (double)per[i].duplicates);
        cJSON_AddNumberToObject(j, "quarantined", (double)per[i].quarantined);
        char *t = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!t) return;
        size_t n = strlen(t);
        t[n] = '\n'; /* over the NUL: a line */
        tl_errbuf_t eb;
        tl_store_blob_append(st, "imports", t, n + 1, &eb);
        cJSON_free(t);
    }
}

int tl_import_history(tl_store_t *st, uint32_t last, int (*fn)(const char *line, size_t len, void *arg),
                      void *arg, tl_errbuf_t *eb) {
    tl_buf_t b;
    tl_buf_init(&b);
    int rc = tl_store_blob_get(st, "imports", &b, eb);
    if (rc == TL_ENOENT) {
        tl_buf_fini(&b);
        return 0;
    }
    /* the start of the last `last` lines */
    size_t from = 0;
    uint32_t seen = 0;
    for (size_t i = b.len; !rc && last && i > 0; i--)
        if (b.data[i - 1] == '\n' && i != b.len && ++seen == last) {
            from = i;
            break;
        }
    for (size_t i = from; !rc && i < b.len;) {
        size_t e = i;
        while (e < b.len && b.data[e] != '\n') e++;
        if (e > i) rc = fn(b.data + i, e - i, arg);
        i = e + 1;
    }
    tl_buf_fini(&b);
    return rc;
}

int tl_import(tl_store_t *st, const tl_source_t *src, int nsrc, const tl_import_opts_t *o,
              tl_import_stats_t *stats, tl_reject_fn on_reject, void *arg, tl_errbuf_t *eb) {
    importer_t *im = calloc(1, sizeof *im);
    if (!im) {
        tl_errbuf_set(eb, "import: out of memory");
        return TL_ENOMEM;
    }
    pthread_mutex_init(&im->mu, NULL);
    pthread_cond_init(&im->cv, NULL);
    im->st = st;
    im->o = o;
    im->on_reject = on_reject;
    im->arg = arg;
    im->batch_rows = o->batch_rows ? o->batch_rows : (1u << 20);
    tl_import_stats_t run = {0};
    im->stats = &run;
    im->user_cache = malloc(sizeof *im->user_cache);
    im->item_cache = malloc(sizeof *im->item_cache);
    int rc = im->user_cache && im->item_cache ? 0 : TL_ENOMEM;
    for (int i = 0; !rc && i < NCHUNKS; i++) {
        im->chunks[i] = malloc(sizeof *im->chunks[i]);
        if (!im->chunks[i] || !(im->chunks[i]->arena.mem = malloc(CHUNK_ARENA))) {
            if (im->chunks[i]) im->chunks[i]->arena.mem = NULL;
            rc = TL_ENOMEM;
        } else {
            im->chunks[i]->arena.cap = CHUNK_ARENA;
        }
    }
    if (!rc && o->preset && o->set && *o->set) {
        tl_errbuf_set(eb, "--set: a preset sets its own fields; use --map and --set without "
                      "--preset");
        rc = TL_EINVAL;
    }
    if (!rc && o->preset && !tl_import_preset_help(o->preset)) {
        tl_errbuf_set(eb, "--preset %s: no such preset (see `tailor import --help`)", o->preset);
        rc = TL_EINVAL;
    }
    im->id_kind = -1;
    if (!rc) rc = tl_identity_rules_get(st, &im->rules, eb);
    if (!rc && o->identity && (im->id_kind = tl_id_kind_find(&im->rules, o->identity)) < 0) {
        char kinds[TL_ID_MAX_KINDS * (TL_ID_KIND_LEN + 2)] = "";
        for (int k = 0; k < im->rules.nkinds; k++)
            snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", k ? ", " : "",
                     im->rules.kinds[k].name);
        tl_errbuf_set(eb, "--identity %.40s: not a kind of identifier (the store's kinds: %s)",
                      o->identity, kinds);
        rc = TL_EINVAL;
    }
    if (!rc) rc = batch_open(im, eb);
    /* lost before a row was read: nothing to go back to, any source will do */
    for (int t = 0; rc == TL_ELOST && t < RESUME_TRIES; t++) {
        tl_store_rollback(st);
        memset(eb, 0, sizeof *eb);
        rc = batch_open(im, eb);
    }
    tl_srckind_t *order = NULL;
    tl_input_t *in = rc ? NULL : calloc(nsrc > 0 ? (size_t)nsrc : 1, sizeof *in);
    tl_import_stats_t *per = rc ? NULL : calloc(nsrc > 0 ? (size_t)nsrc : 1, sizeof *per);
    if (!rc && !per) rc = TL_ENOMEM;
    if (!rc && !in) rc = TL_ENOMEM;
    if (!rc) rc = tl__source_order(o, src, in, nsrc, &order, eb);
    tl__import_checkpoint(im);
    int from = 0, resumed = 0, reported = 0, tries = 0, failed = 0, lost_k = -1;
    uint64_t lost_rows = 0;
    while (!rc) {
        for (int k = from; !rc && k < nsrc; k++) {
            int i = order[k].index;
            int again = resumed && k == from;
            im->k = k;
            im->skip = again ? im->ck.rows : 0;
            im->src_start = again ? im->ck.src_start : run;
            failed = k;
            rc = import_source(im, &src[i], &in[i], order[k].kind, eb);
            if (!rc && k >= reported) { /* this file's share of the run */
                const tl_import_stats_t *b = &im->src_start;
                tl_import_stats_t f = {run.read - b->read, run.accepted - b->accepted,
                                       run.duplicates - b->duplicates, run.quarantined - b->quarantined,
                                       {0}, run.bytes - b->bytes, run.linked - b->linked};
                per[i] = f;
                if (o->on_file) o->on_file(src[i].name, &f, o->on_file_arg);
                reported = k + 1;
            }
        }
        if (!rc && o->strict && run.quarantined) {
            tl_store_rollback(st);
            tl_errbuf_set(eb, "%llu of %llu rows are bad; under --strict nothing was imported",
                          (unsigned long long)run.quarantined, (unsigned long long)run.read);
            rc = TL_EBADINPUT;
            break;
        }
        if (!rc && !(rc = tl_store_commit(st, eb))) break;
        if (rc != TL_ELOST) break;
        if (im->ck.k != lost_k || im->ck.rows != lost_rows) tries = 0; /* a commit since */
        lost_k = im->ck.k, lost_rows = im->ck.rows;
        if ((rc = resume(im, src, order, failed, &tries, eb))) break;
        from = im->ck.k, resumed = 1;
    }
    for (int i = 0; in && i < nsrc; i++) tl__input_close(&in[i]); /* streams left by a failure */
    free(in);
    free(order);
    if (!rc) { /* campaigns read the consents in force off a snapshot */
        rc = tl_store_consents_refresh(st, eb);
        if (!rc && o->history) record_history(st, src, nsrc, per);
    } else {
        tl_store_rollback(st);
    }
    free(per);
    stats->read += run.read;
    stats->accepted += run.accepted;
    stats->duplicates += run.duplicates;
    stats->quarantined += run.quarantined;
    for (int r = 0; r < TL_R__N; r++) stats->by_reason[r] += run.by_reason[r];
    stats->bytes += run.bytes;
    stats->linked += run.linked;
    importer_free(im);
    if (rc && !eb->msg[0]) tl_errbuf_set(eb, "import: %s", tl_strerror(rc));
    return rc;
}
