/* Unit tests of src/ingest: CSV splitting (quotes, CRLF, CR-only line ends,
 * embedded newlines, two-byte delimiters, unterminated quotes), JSON Lines
 * (duplicate keys), validation reasons, multi-record rows, the counting
 * invariant, idempotent re-import, the order sources are read in,
 * sources (a file, memory, a pipe) read alike, headerless files mapped by
 * #N with constants, and presets telling files by their content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest/ingest.h"
#include "store/store.h"

#include "tmpdir.h"

static const char *write_file(const char *name, const char *text, size_t n) {
    static char path[8][400];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 400, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
    return p;
}

typedef struct {
    int n;
    uint64_t line[64];
    tl_reason_t reason[64];
} rejects_t;

static void on_reject(const char *src, uint64_t line, tl_reason_t r, const char *msg, void *arg) {
    (void)src, (void)msg;
    rejects_t *rj = arg;
    if (rj->n < 64) rj->line[rj->n] = line, rj->reason[rj->n] = r;
    rj->n++;
}

static int run_import(const char *file, const tl_import_opts_t *o, tl_import_stats_t *s,
                      rejects_t *rj) {
    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    memset(s, 0, sizeof *s);
    if (rj) memset(rj, 0, sizeof *rj);
    tl_source_t src = tl_source_file(file);
    int rc = tl_import(st, &src, 1, o, s, on_reject, rj, &eb);
    if (rc && rc != TL_EBADINPUT) fprintf(stderr, "import: %s\n", eb.msg);
    tl_store_close(st);
    assert_int_equal(s->read, s->accepted + s->duplicates + s->quarantined);
    return rc;
}

#define HDR "event_id,user,item,type,ts,channel,amount,qty,query,rating,city,lat,lon,session,campaign\n"

static void test_csv_shapes(void **state) {
    (void)state;
    const char text[] =
        HDR
        "e1,u1,i1,view,2025-11-01T10:00:00Z,app,,,,,,,,s1,\r\n"            /* 2 CRLF */
        "\n"                                                                 /* 3 blank */
        "e2,u1,i1,search,2025-11-01T10:01:00Z,app,,,\"red, shoes\",,,,,s1,\n" /* 4 quoted , */
        "e3,u1,i2,search,2025-11-01T10:02:00Z,app,,,\"two\nlines\",,,,,s1,\n" /* 5-6 newline */
        "e4,u2,i2,search,2025-11-01T10:03:00Z,app,,,\"say \"\"hi\"\"\",,,,,,\n" /* 7 "" */
        "e5,u2,i2,view,2025-11-01T10:04:00Z,app\n"                            /* 8 too few */
        "e6,u2,i2,view,2025-11-01T10:04:00Z,app,,,,,,,,,,,\n"                /* 9 too many */
        "e7,u2,i2,search,2025-11-01T10:05:00Z,app,,,\"never closed,,,,,,\n"  /* 10 quote */
        "e8,u3,i3,view,2025-11-01T10:06:00Z,web,,,,,,,,,"; /* 11 no final newline */
    const char *f = write_file("shapes.csv", text, sizeof text - 1);
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(f, &o, &s, &rj), 0);
    assert_int_equal(s.read, 8);
    assert_int_equal(s.accepted, 5);
    assert_int_equal(s.quarantined, 3);
    assert_int_equal(rj.line[0], 8);
    assert_int_equal(rj.reason[0], TL_R_FIELD_COUNT);
    assert_int_equal(rj.line[1], 9);
    assert_int_equal(rj.reason[1], TL_R_FIELD_COUNT);
    assert_int_equal(rj.line[2], 10);
    assert_int_equal(rj.reason[2], TL_R_UNTERMINATED_QUOTE);
    /* Re-import: the good rows are duplicates. */
    assert_int_equal(run_import(f, &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 0);
    assert_int_equal(s.duplicates, 5);
    assert_int_equal(s.quarantined, 3);
}

static void test_reasons(void **state) {
    (void)state;
    static const struct {
        const char *row;
        tl_reason_t reason;
    } cases[] = {
        {"x1,u1,i1,view,2025-13-01,app,,,,,,,,,", TL_R_BAD_TIME},
        {"x2,u1,i1,view,1989-12-31,app,,,,,,,,,", TL_R_TIME_TOO_OLD},
        {"x3,u1,i1,view,2025-12-03,app,,,,,,,,,", TL_R_TIME_FUTURE},
        {"x4,u1,i1,teleport,2025-11-01,app,,,,,,,,,", TL_R_UNKNOWN_TYPE},
        {"x5,u1,i1,view,2025-11-01,fax,,,,,,,,,", TL_R_UNKNOWN_CHANNEL},
        {"x6,u1,i1,purchase,2025-11-01,app,-5,,,,,,,,", TL_R_NEGATIVE_AMOUNT},
        {"x7,u1,i1,purchase,2025-11-01,app,12x,,,,,,,,", TL_R_BAD_NUMBER},
        {"x8,u1,i1,purchase,2025-11-01,app,5,0,,,,,,,", TL_R_OUT_OF_RANGE},
        {"x9,u1,i1,rate,2025-11-01,app,,,,11,,,,,", TL_R_OUT_OF_RANGE},
        {"x10,u1,i1,view,2025-11-01,app,,,,,,31.2,,,", TL_R_INCONSISTENT},
        {"x11,,i1,view,2025-11-01,app,,,,,,,,,", TL_R_MISSING_FIELD},
        {"x12,u1,,purchase,2025-11-01,app,5,,,,,,,,", TL_R_MISSING_FIELD},
        {"x13,u1,i1,search,2025-11-01,app,,,,,,,,,", TL_R_MISSING_FIELD},
        {"x14,u1,i1,view,2025-11-01,app,,,,,Shangh\xff,,,,", TL_R_BAD_UTF8},
        {"x15,u\x01,i1,view,2025-11-01,app,,,,,,,,,", TL_R_BAD_ID},
        {"x16,u1,i1,repay,2025-11-01,app,,,,,,,,,", TL_R_MISSING_FIELD},
        {"x17,u1,i1,view,2025-11-01,app,,,,,,91,10,,", TL_R_OUT_OF_RANGE},
    };
    tl_buf_t b;
    tl_buf_init(&b);
    tl_buf_append(&b, HDR, strlen(HDR));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        tl_buf_printf(&b, "%s\n", cases[i].row);
    tl_buf_printf(&b, "ok1,u1,i1,view,2025-11-01,app,,,,,,,,,\n");
    const char *f = write_file("reasons.csv", b.data, b.len);
    tl_buf_fini(&b);
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(f, &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 1);
    assert_int_equal(s.quarantined, sizeof cases / sizeof *cases);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (rj.reason[i] != cases[i].reason)
            fail_msg("row %zu (%s): got %s, want %s", i, cases[i].row,
                     tl_reason_name(rj.reason[i]), tl_reason_name(cases[i].reason));
        assert_int_equal(rj.line[i], i + 2);
    }
    /* Under --strict a bad file imports nothing and says so. */
    o.strict = 1;
    assert_int_equal(run_import(f, &o, &s, &rj), TL_EBADINPUT);
}

static void test_jsonl(void **state) {
    (void)state;
    const char text[] =
        "{\"user\":\"u1\",\"item\":\"i1\",\"type\":\"view\",\"ts\":1761991200}\n"
        "{\"user\":\"u1\",\"item\":\"i1\",\"type\":\"purchase\",\"ts\":\"2025-11-01T10:00:00Z\","
        "\"amount\":19.9,\"qty\":2}\n"
        "{\"user\":\"u1\",\"type\":\"view\",\"ts\":1761991200,\"color\":\"red\"}\n" /* unknown */
        "{\"user\":\"u1\",\"type\":\"view\",\"ts\":[1]}\n"                        /* bad type */
        "{\"user\":\"u1\",\"type\":\"view\",\n"                                    /* bad json */
        "[1,2,3]\n"                                                                /* bad json */
        "{\"user\":\"u2\",\"item\":null,\"type\":\"view\",\"ts\":1761991200}\n";
    const char *f = write_file("events.jsonl", text, sizeof text - 1);
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    o.kind = TL_KIND_EVENTS;
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(f, &o, &s, &rj), 0);
    assert_int_equal(s.read, 7);
    assert_int_equal(s.accepted, 3);
    assert_int_equal(rj.reason[0], TL_R_UNKNOWN_FIELD);
    assert_int_equal(rj.reason[1], TL_R_BAD_TYPE);
    assert_int_equal(rj.reason[2], TL_R_BAD_JSON);
    assert_int_equal(rj.reason[3], TL_R_BAD_JSON);
    /* Events without ids are identified by content: the same row again is a
     * duplicate, through CSV or JSON alike. */
    const char csv[] = "user,item,type,ts\nu1,i1,view,2025-11-01T10:00:00Z\n";
    f = write_file("same.csv", csv, sizeof csv - 1);
    tl_import_opts_default(&o);
    assert_int_equal(run_import(f, &o, &s, &rj), 0);
    assert_int_equal(s.duplicates, 1);
}

static void test_entities_and_unknown_user(void **state) {
    (void)state;
    const char users[] =
        "user,gender,birth_year,city,email,phone\n"
        "u1,F,1995,Shanghai,a@example.com,13800001111\n"
        "u2,robot,1990,Beijing,,\n"            /* bad gender */
        "u3,m,1800,Beijing,,\n"                /* out of range year */
        "u4,m,1990,Beijing,not-an-email,\n";   /* bad email */
    const char consents[] = "user,purpose,status,at\n"
                            "u1,marketing_push,granted,2025-01-01\n"
                            "u9,marketing_push,granted,2025-01-01\n" /* unknown user */
                            "u1,marketing_push,maybe,2025-01-01\n";  /* bad status */
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(write_file("users.csv", users, sizeof users - 1), &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 1);
    assert_int_equal(rj.reason[0], TL_R_BAD_VALUE);
    assert_int_equal(rj.reason[1], TL_R_OUT_OF_RANGE);
    assert_int_equal(rj.reason[2], TL_R_BAD_VALUE);
    assert_int_equal(run_import(write_file("consents.csv", consents, sizeof consents - 1), &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 1);
    assert_int_equal(rj.reason[0], TL_R_UNKNOWN_USER);
    assert_int_equal(rj.line[0], 3);
    assert_int_equal(rj.reason[1], TL_R_BAD_VALUE);
}

static void test_map_and_delimiters(void **state) {
    (void)state;
    const char text[] = "uid::pid::kind::when\n7::42::view::1761991200\n8::43::cart::1761991200\n";
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    o.kind = TL_KIND_EVENTS;
    o.delimiter = "::";
    o.map = "user=uid,item=pid,type=kind,ts=#4";
    tl_import_stats_t s;
    assert_int_equal(run_import(write_file("m.csv", text, sizeof text - 1), &o, &s, NULL), 0);
    assert_int_equal(s.accepted, 2);
    /* A mapping to a column that is not there is a usage error. */
    o.map = "user=nope";
    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_source_t src = tl_source_file(write_file("m2.csv", text, sizeof text - 1));
    assert_int_equal(tl_import(st, &src, 1, &o, &s, NULL, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "nope"));
    tl_store_close(st);
}

static void test_extra_types(void **state) {
    (void)state;
    const char text[] = HDR "e1,u1,i1,wishlist,2025-11-01,kiosk,,,,,,,,,\n";
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s;
    rejects_t rj;
    const char *f = write_file("x.csv", text, sizeof text - 1);
    assert_int_equal(run_import(f, &o, &s, &rj), 0);
    assert_int_equal(rj.reason[0], TL_R_UNKNOWN_TYPE);
    o.extra_types = "wishlist";
    o.extra_channels = "kiosk";
    assert_int_equal(run_import(f, &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 1);
}

static void test_long_line(void **state) {
    (void)state;
    size_t n = (1u << 20) + 100;
    char *text = malloc(n + 200);
    int h = snprintf(text, n, "%s", HDR);
    memset(text + h, 'q', n - (size_t)h);
    memcpy(text + n - 1, "\n", 1);
    const char tail[] = "e2,u1,i1,view,2025-11-01,app,,,,,,,,,\n";
    memcpy(text + n, tail, sizeof tail - 1);
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(write_file("long.csv", text, n + sizeof tail - 1), &o, &s, &rj), 0);
    free(text);
    assert_int_equal(s.read, 2);
    assert_int_equal(s.accepted, 1);
    assert_int_equal(rj.reason[0], TL_R_TOO_LONG);
    assert_int_equal(rj.line[0], 2);
}

/* The MovieLens 1M layout ("::" separators, Latin-1 titles, genre lists),
 * which the shared data sets do not include. */
static void test_movielens_1m(void **state) {
    (void)state;
    const char users[] = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::99::55117\n";
    const char movies[] = "1::Toy Story (1995)::Animation|Children's|Comedy\n"
                          "2::Am\xe9lie (2001)::Comedy|Romance\n";
    const char ratings[] = "1::1::5::978300760\n1::2::3::978302109\n2::1::9::978301968\n"
                           "2::2::4\n";
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    o.preset = "movielens";
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(write_file("users.dat", users, sizeof users - 1), &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 3);
    assert_int_equal(run_import(write_file("movies.dat", movies, sizeof movies - 1), &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 2); /* the Latin-1 title converts to UTF-8 */
    assert_int_equal(run_import(write_file("ratings.dat", ratings, sizeof ratings - 1), &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 2);
    assert_int_equal(s.quarantined, 2);
    assert_int_equal(rj.reason[0], TL_R_OUT_OF_RANGE); /* 9 stars of 5 */
    assert_int_equal(rj.reason[1], TL_R_FIELD_COUNT);
    /* An unknown file name under the preset is refused with its name. */
    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_source_t src = tl_source_file(write_file("tags.dat", "x", 1));
    assert_int_equal(tl_import(st, &src, 1, &o, &s, NULL, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "tags.dat"));
    tl_store_close(st);
}

/* A headerless file of any column count read by --map #N, with a constant
 * for a field the file lacks (--set), and the errors of bad mappings. */
static void test_headerless_map_and_set(void **state) {
    (void)state;
    const char text[] = "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978300000\n"
                        "2::1193::4\n";
    const char *path = write_file("ratings.txt", text, sizeof text - 1);
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    o.kind = TL_KIND_EVENTS;
    o.no_header = 1;
    o.delimiter = "::";
    o.map = "user=#1,item=#2,rating=#3,ts=#4";
    o.set = "type=rate,channel=web";
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(path, &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 3);
    assert_int_equal(s.quarantined, 1); /* its own count, 4 fields, is what every row needs */
    assert_int_equal(rj.reason[0], TL_R_FIELD_COUNT);
    /* without the constant, the required type is missing */
    o.set = NULL;
    assert_int_equal(run_import(write_file("ratings2.txt", text, sizeof text - 1), &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 0);
    assert_int_equal(rj.reason[0], TL_R_MISSING_FIELD);

    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_source_t src = tl_source_file(path);
    o.map = "user=#0,item=#2,ts=#4";
    assert_int_equal(tl_import(st, &src, 1, &o, &s, NULL, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "columns count from 1"));
    o.map = "user=#1,item=#5,ts=#4";
    eb.msg[0] = 0;
    assert_int_equal(tl_import(st, &src, 1, &o, &s, NULL, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "has 4 columns"));
    o.map = "user=#1,item=#2,ts=#4";
    o.set = "colour=red";
    eb.msg[0] = 0;
    assert_int_equal(tl_import(st, &src, 1, &o, &s, NULL, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "colour is not a field"));
    o.set = "type";
    eb.msg[0] = 0;
    assert_int_equal(tl_import(st, &src, 1, &o, &s, NULL, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "not field=value"));
    tl_store_close(st);
}

static void keep_warning(const char *msg, void *arg) {
    snprintf(arg, 512, "%s", msg);
}

/* Presets tell a file by its first line; the name is only a hint. */
static void test_presets_by_content(void **state) {
    (void)state;
    const char ratings[] = "1::1193::5::978300760\n1::661::3::978302109\n";
    const char users100k[] = "1|24|M|technician|85711\n2|53|F|other|94043\n";
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    o.preset = "movielens";
    tl_import_stats_t s;
    assert_int_equal(run_import(write_file("my-ratings.txt", ratings, sizeof ratings - 1), &o, &s, NULL), 0);
    assert_int_equal(s.accepted, 2);
    /* a misleading name: the content decides */
    assert_int_equal(run_import(write_file("users.dat", users100k, sizeof users100k - 1), &o, &s, NULL), 0);
    assert_int_equal(s.read, 2); /* read as u.user: users.dat's layout would refuse both */
    assert_int_equal(s.quarantined, 0);
    /* without --preset, a file with a preset's layout is read with it, and told */
    char told[512] = "";
    tl_import_opts_default(&o);
    o.on_warning = keep_warning, o.notify_arg = told;
    const char more[] = "3::1193::5::978300760\n3::661::3::978302109\n";
    assert_int_equal(run_import(write_file("export.txt", more, sizeof more - 1), &o, &s, NULL), 0);
    assert_int_equal(s.accepted, 2);
    assert_non_null(strstr(told, "--preset movielens"));
    /* a file of no layout under the preset is refused, naming what it could be */
    o.on_warning = NULL;
    o.preset = "movielens";
    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_source_t src = tl_source_file(write_file("r.csv", "a,b\n1,2\n", 8));
    assert_int_equal(tl_import(st, &src, 1, &o, &s, NULL, NULL, &eb), TL_EINVAL);
    assert_non_null(strstr(eb.msg, "MovieLens ratings (u.data)"));
    tl_store_close(st);
}

typedef struct {
    int n, bad_source;
    const char *want; /* the source every reject must name */
} srcs_t;

static void on_reject_src(const char *src, uint64_t line, tl_reason_t r, const char *msg, void *arg) {
    (void)line, (void)r, (void)msg;
    srcs_t *x = arg;
    x->n++;
    x->bad_source += strcmp(src, x->want) != 0;
}

/* Buffers in memory import exactly as files with those bytes would: the
 * name picks the format and the kind, rejects name the buffer as given,
 * and a buffer larger than the reader's window is read whole. */
static void test_buffers(void **state) {
    (void)state;
    const char jsonl[] =
        "{\"user\":\"u1\",\"item\":\"i1\",\"type\":\"view\",\"ts\":1761991200}\n"
        "{\"user\":\"u1\",\"type\":\"view\",\"ts\":1761991200,\"color\":\"red\"}\n"
        "{\"user\":\"u1\",\"type\":\"view\",\n"
        "{\"user\":\"u2\",\"item\":null,\"type\":\"view\",\"ts\":1761991200}\n";
    tl_buf_t big;
    tl_buf_init(&big);
    assert_int_equal(tl_buf_append(&big, "user,item,type,ts\n", 18), 0);
    for (int i = 0; i < 160000; i++)
        assert_int_equal(tl_buf_printf(&big, "u%d,i%d,view,2025-11-01T10:%02d:%02dZ\n", i % 997, i % 89,
                                       i / 60 % 60, i % 60), 0);
    assert_int_equal(tl_buf_append(&big, "u1,i1,fly,2025-11-01T10:00:00Z\n", 31), 0);
    assert_true(big.len > (5u << 20));
    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_source_t in[] = {tl_source_mem("request 1.jsonl", jsonl, sizeof jsonl - 1),
                        tl_source_mem("request 2.csv", big.data, big.len)};
    tl_import_stats_t s = {0};
    srcs_t x = {.want = "request 1.jsonl"};
    assert_int_equal(tl_import(st, in, 1, &o, &s, on_reject_src, &x, &eb), 0);
    assert_int_equal(s.read, 4);
    assert_int_equal(s.accepted, 2);
    assert_int_equal(s.by_reason[TL_R_UNKNOWN_FIELD], 1);
    assert_int_equal(s.by_reason[TL_R_BAD_JSON], 1);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.bad_source, 0);
    memset(&s, 0, sizeof s);
    x = (srcs_t){.want = "request 2.csv"};
    assert_int_equal(tl_import(st, in + 1, 1, &o, &s, on_reject_src, &x, &eb), 0);
    assert_int_equal(s.read, 160001);
    assert_int_equal(s.quarantined, 1);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.bad_source, 0);
    assert_int_equal(s.accepted + s.duplicates, 160000);
    tl_store_close(st);
    /* the same bytes from a file give the same counts */
    const char *f = write_file("same.jsonl", jsonl, sizeof jsonl - 1);
    tl_import_stats_t fs;
    snprintf(data, sizeof data, "%s/data2", dir);
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    memset(&fs, 0, sizeof fs);
    tl_source_t file = tl_source_file(f);
    assert_int_equal(tl_import(st, &file, 1, &o, &fs, NULL, NULL, &eb), 0);
    assert_int_equal(fs.read, 4);
    assert_int_equal(fs.accepted, 2);
    assert_int_equal(fs.bytes, sizeof jsonl - 1);
    tl_store_close(st);
    tl_buf_fini(&big);
}

/* Classic Mac OS text: lines end in a lone CR. A CR inside quotes is text,
 * and files with LF or CRLF ends (mixed) read as before. */
static void test_cr_line_ends(void **state) {
    (void)state;
    const char users[] = "user,gender,birth_year\r"
                         "u1,f,1980\r"
                         "\r"                          /* 3 blank */
                         "u2,m,\"19\r90\"\r"            /* 4-5: a CR inside quotes */
                         "u3,x,1990\r"                 /* 6 bad gender */
                         "u4,m,1991";                  /* 7 no final CR */
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(write_file("mac.csv", users, sizeof users - 1), &o, &s, &rj), 0);
    assert_int_equal(s.read, 4);
    assert_int_equal(s.accepted, 2);
    assert_int_equal(s.quarantined, 2);
    assert_int_equal(rj.line[0], 4);
    assert_int_equal(rj.reason[0], TL_R_BAD_NUMBER); /* "19<CR>90" */
    assert_int_equal(rj.line[1], 6);
    assert_int_equal(rj.reason[1], TL_R_BAD_VALUE);
    const char jsonl[] = "{\"user\":\"j1\",\"gender\":\"f\"}\r{\"user\":\"j2\"}\r";
    assert_int_equal(run_import(write_file("mac.jsonl", jsonl, sizeof jsonl - 1), &o, &s, &rj), 0);
    assert_int_equal(s.read, 2);
    assert_int_equal(s.accepted, 2);
    const char mixed[] = "user,gender\r\nm1,f\r\nm2,m\nm3,\"o\"\r\n";
    assert_int_equal(run_import(write_file("mixed.csv", mixed, sizeof mixed - 1), &o, &s, &rj), 0);
    assert_int_equal(s.read, 3);
    assert_int_equal(s.accepted, 3);
    /* the statistics commands read tables through the same reader */
    tl_table_t t;
    tl_table_opts_t to = {0};
    tl_errbuf_t eb = {{0}};
    const char table[] = "a,b\r1,2\r3,4\r";
    tl_source_t ts = tl_source_file(write_file("mac_t.csv", table, sizeof table - 1));
    assert_int_equal(tl_table_read(&ts, &to, &t, NULL, NULL, &eb), 0);
    assert_int_equal(t.ncols, 2);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(tl_table_cell(&t, 1, 1), "4");
    tl_table_fini(&t);
}

/* A key twice in one object: which value is meant cannot be told. */
static void test_duplicate_keys(void **state) {
    (void)state;
    tl_buf_t b;
    tl_buf_init(&b);
    tl_buf_printf(&b, "{\"user\":\"d1\",\"gender\":\"f\",\"user\":\"d2\"}\n" /* 1 */
                      "{\"user\":\"d3\",\"attrs\":{\"a\":{\"x\":1,\"x\":2}}}\n" /* 2 nested */
                      "{\"user\":\"d4\",\"gender\":\"m\",\"attrs\":{\"tier\":1}}\n");
    /* 3, 4: attrs with 40 keys (sorted, not compared pairwise), the last
     * one repeating the first or not */
    for (int dup = 1; dup >= 0; dup--) {
        tl_buf_printf(&b, "{\"user\":\"w%d\",\"attrs\":{", dup);
        for (int k = 0; k < 40; k++) tl_buf_printf(&b, "\"k%d\":%d,", k, k);
        tl_buf_printf(&b, "\"k%d\":0}}\n", dup ? 0 : 40);
    }
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s;
    rejects_t rj;
    assert_int_equal(run_import(write_file("dup.jsonl", b.data, b.len), &o, &s, &rj), 0);
    tl_buf_fini(&b);
    assert_int_equal(s.read, 5);
    assert_int_equal(s.accepted, 2);
    assert_int_equal(s.quarantined, 3);
    const uint64_t lines[] = {1, 2, 4};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rj.line[i], lines[i]);
        assert_int_equal(rj.reason[i], TL_R_DUPLICATE_KEY);
    }
    /* the JSON of a CSV cell too */
    const char items[] = "item,title,attrs\n"
                         "i1,a,\"{\"\"color\"\":\"\"red\"\",\"\"color\"\":\"\"blue\"\"}\"\n"
                         "i2,b,\"{\"\"color\"\":\"\"red\"\"}\"\n";
    assert_int_equal(run_import(write_file("dup.csv", items, sizeof items - 1), &o, &s, &rj), 0);
    assert_int_equal(s.accepted, 1);
    assert_int_equal(rj.line[0], 2);
    assert_int_equal(rj.reason[0], TL_R_DUPLICATE_KEY);
    assert_string_equal(tl_reason_name(TL_R_DUPLICATE_KEY), "duplicate_key");
}

/* One command reads users before the consents and credit records that name
 * them, whatever order the files are given in. */
static void test_file_order(void **state) {
    (void)state;
    const char users[] = "user,gender\nu1,f\nu2,m\n";
    const char consents[] = "user,purpose,status,at\nu1,profiling,granted,2025-01-01\n"
                            "u2,marketing_push,granted,2025-01-01\nu9,profiling,granted,2025-01-01\n";
    const char credit[] = "{\"user\":\"u2\",\"on_time\":3}\n";
    tl_source_t files[] = {tl_source_file(write_file("o_consents.csv", consents, sizeof consents - 1)),
                           tl_source_file(write_file("o_credit.jsonl", credit, sizeof credit - 1)),
                           tl_source_file(write_file("o_users.csv", users, sizeof users - 1))};
    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    tl_import_stats_t s = {0};
    rejects_t rj = {0};
    assert_int_equal(tl_import(st, files, 3, &o, &s, on_reject, &rj, &eb), 0);
    tl_store_close(st);
    assert_int_equal(s.read, 6);
    assert_int_equal(s.accepted, 5);
    assert_int_equal(s.quarantined, 1); /* u9 alone is unknown */
    assert_int_equal(rj.reason[0], TL_R_UNKNOWN_USER);
    assert_int_equal(rj.line[0], 4);
}

/* ---- sources: a file, memory and a stream read alike ---------------------- */

/* Forks a writer of text[0..n) into a pipe; returns the read end. */
static int pipe_writer(const char *text, size_t n, pid_t *pid) {
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    *pid = fork();
    assert_true(*pid >= 0);
    if (*pid == 0) {
        close(fd[0]);
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd[1], text + off, n - off);
            if (w <= 0) _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fd[1]);
    return fd[0];
}

static void reap(pid_t pid) {
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int add_position(const tl_qrow_t *q, void *arg) {
    tl_buf_t *b = arg;
    return tl_buf_printf(b, "%s:%llu %s\n", q->source, (unsigned long long)q->line, q->reason);
}

typedef struct {
    int warnings, starts, ends;
    char warning[512];
} notes_t;

static void on_warning(const char *message, void *arg) {
    notes_t *n = arg;
    if (!n->warnings++) snprintf(n->warning, sizeof n->warning, "%s", message);
}

static void on_progress(const tl_import_progress_t *p, void *arg) {
    notes_t *n = arg;
    n->starts += p->phase == TL_PROGRESS_START;
    n->ends += p->phase == TL_PROGRESS_END;
}

/* Imports {consents, users} into a fresh store, the users given as src,
 * named first; returns the quarantine as "source:line reason" lines. */
static void import_pair(const char *tag, const tl_source_t *users, const char *consents_path,
                        tl_import_stats_t *s, notes_t *n, tl_buf_t *positions) {
    char data[300];
    snprintf(data, sizeof data, "%s/data-%s", dir, tag);
    tl_store_t *st;
    tl_errbuf_t eb = {{0}};
    assert_int_equal(test_store_open(data, TL_STORE_CREATE, &st, &eb), 0);
    tl_import_opts_t o;
    tl_import_opts_default(&o);
    o.on_warning = on_warning, o.on_progress = on_progress, o.notify_arg = n;
    tl_source_t src[] = {tl_source_file(consents_path), *users};
    memset(s, 0, sizeof *s);
    memset(n, 0, sizeof *n);
    int rc = tl_import(st, src, 2, &o, s, NULL, NULL, &eb);
    if (rc) fprintf(stderr, "%s: %s\n", tag, eb.msg);
    assert_int_equal(rc, 0);
    tl_buf_init(positions);
    assert_int_equal(tl_store_quarantine_scan(st, NULL, 0, add_position, positions, &eb), 0);
    tl_store_close(st);
}

/* The same users read from a file, from memory, from a pipe given as a
 * descriptor and from a pipe given by its path: the same counts, the same
 * quarantine positions under the source's name, the same warning. The
 * users come after the consents that name them, so the kind of the pipe
 * must be found by looking at its header (kept and read again) for them to
 * be read first; they are larger than the reader's window, so the rest of
 * the pipe is read after what the look kept. */
static void test_sources(void **state) {
    (void)state;
    tl_buf_t users;
    tl_buf_init(&users);
    assert_int_equal(tl_buf_printf(&users, "user,gender,birth_year,shoe_size\n"), 0);
    for (int i = 0; i < 300000; i++)
        assert_int_equal(tl_buf_printf(&users, i == 7 ? "u%d,x,1980,42\n" : "u%d,f,1980,42\n", i), 0);
    assert_true(users.len > (5u << 20));
    const char consents[] = "user,purpose,status,at\nu1,profiling,granted,2025-01-01\n"
                            "nobody,profiling,granted,2025-01-01\n";
    const char *cpath = write_file("s_consents.csv", consents, sizeof consents - 1);
    char upath[PATH_MAX];
    assert_non_null(realpath(write_file("s_users.csv", users.data, users.len), upath));
    tl_import_stats_t s[4];
    notes_t n[4];
    tl_buf_t pos[4];
    tl_source_t file = tl_source_file(upath), mem = tl_source_mem(upath, users.data, users.len);
    import_pair("file", &file, cpath, &s[0], &n[0], &pos[0]);
    import_pair("mem", &mem, cpath, &s[1], &n[1], &pos[1]);
    pid_t pid;
    int fd = pipe_writer(users.data, users.len, &pid);
    tl_source_t stream = tl_source_fd(upath, fd);
    import_pair("fd", &stream, cpath, &s[2], &n[2], &pos[2]);
    close(fd);
    reap(pid);
    fd = pipe_writer(users.data, users.len, &pid);
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", fd);
    tl_source_t piped = tl_source_file(fdpath);
    import_pair("fdpath", &piped, cpath, &s[3], &n[3], &pos[3]);
    close(fd);
    reap(pid);
    assert_int_equal(s[0].read, 300002);
    assert_int_equal(s[0].quarantined, 2); /* u7's gender, and nobody */
    assert_int_equal(s[0].by_reason[TL_R_UNKNOWN_USER], 1);
    assert_int_equal(s[0].bytes, users.len + sizeof consents - 1);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s:9 bad_value\n", upath);
    assert_non_null(strstr(pos[0].data, want));
    assert_non_null(strstr(n[0].warning, "s_users.csv: column \"shoe_size\" is not a field of users"));
    assert_int_equal(n[0].warnings, 1);
    assert_int_equal(n[0].starts, 2);
    assert_int_equal(n[0].ends, 2);
    for (int k = 1; k < 4; k++) {
        assert_memory_equal(&s[k], &s[0], sizeof s[0]);
        if (k < 3) assert_string_equal(pos[k].data, pos[0].data);
        assert_int_equal(n[k].warnings, 1);
        assert_int_equal(n[k].starts, 2);
        assert_int_equal(n[k].ends, 2);
    }
    /* a pipe by its path is named by it (it has no canonical path) */
    snprintf(want, sizeof want, "%s:9 bad_value\n", fdpath);
    assert_non_null(strstr(pos[3].data, want));
    assert_non_null(strstr(n[3].warning, fdpath));
    for (int k = 0; k < 4; k++) tl_buf_fini(&pos[k]);
    tl_buf_fini(&users);
}

/* A table reads from memory and from a stream as from a file: the
 * delimiter is found by a look at the first line, kept for a stream. */
static void test_table_sources(void **state) {
    (void)state;
    const char text[] = "a;b;c\n1;2;3\n4;5\n6;7;8\n";
    tl_table_opts_t to = {0};
    tl_errbuf_t eb = {{0}};
    pid_t pid;
    int fd = pipe_writer(text, sizeof text - 1, &pid);
    tl_source_t src[] = {tl_source_file(write_file("t.csv", text, sizeof text - 1)),
                         tl_source_mem("t.csv", text, sizeof text - 1), tl_source_fd("t.csv", fd)};
    for (int k = 0; k < 3; k++) {
        tl_table_t t;
        rejects_t rj = {0};
        assert_int_equal(tl_table_read(&src[k], &to, &t, on_reject, &rj, &eb), 0);
        assert_int_equal(t.ncols, 3);
        assert_int_equal(t.nrows, 2);
        assert_int_equal(t.rejected, 1);
        assert_int_equal(rj.line[0], 3);
        assert_string_equal(tl_table_cell(&t, 1, 2), "8");
        tl_table_fini(&t);
    }
    close(fd);
    reap(pid);
    tl_source_t none = tl_source_file("/nonexistent/t.csv");
    tl_table_t t;
    assert_int_not_equal(tl_table_read(&none, &to, &t, NULL, NULL, &eb), 0);
    assert_non_null(strstr(eb.msg, "/nonexistent/t.csv: cannot open"));
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)
    const struct CMUnitTest tests[] = {
        T(test_csv_shapes), T(test_reasons),          T(test_jsonl),
        T(test_entities_and_unknown_user),            T(test_map_and_delimiters),
        T(test_extra_types), T(test_long_line),    T(test_movielens_1m),
        T(test_buffers),
        T(test_cr_line_ends), T(test_duplicate_keys), T(test_file_order),
        T(test_sources), T(test_table_sources), T(test_headerless_map_and_set),
        T(test_presets_by_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
