/* schema.c -- the PostgreSQL back end's tables and their forward
 * migrations: a list of steps, each taking the schema from one version to
 * the next, applied in order by the first writable open that finds the
 * database behind (under the writers' lock, each step in the transaction
 * that records its version). A database newer than this build is refused.
 *
 * Names: every table begins with tl_; a user index is `uid` (`user` is a
 * keyword). Events live in tl_events, partitioned by month of their time
 * (events.c makes the partitions), with the fingerprint unique within its
 * time: the fingerprint covers the time, so no two partitions can hold one
 * event (and events come roughly in time order, so the index on (ts, fp)
 * grows at its end). seq has a BRIN index: a partition's rows lie in seq
 * order, so block ranges are tight, and the index costs next to nothing
 * to keep where a b-tree would cost a third of an import. Personal fields, raw rows and secrets are bytea sealed by tailor;
 * the quarantine's texts are bytea too, as a rejected row's bytes may be
 * anything (a text column takes valid UTF-8 only). */
#include "store/pg/pg_int.h"

static const char *const steps[] = {
    /* 1: the first schema */
    "CREATE TABLE tl_meta(key text PRIMARY KEY, value bytea);"
    "CREATE TABLE tl_counter(name text PRIMARY KEY, n bigint NOT NULL);"
    "INSERT INTO tl_counter VALUES ('events', 0);"
    /* a dictionary in runs: ids first..first+n-1, each NUL-ended, one bytea */
    "CREATE TABLE tl_dict(kind smallint, first integer, n integer NOT NULL, ids bytea NOT NULL,"
    "  PRIMARY KEY(kind, first));"
    "CREATE TABLE tl_events(seq bigint NOT NULL, fp bigint NOT NULL, ts bigint NOT NULL,"
    "  uid integer NOT NULL, item integer, type smallint NOT NULL, channel smallint, qty integer,"
    "  amount float8, rating float4, lat float4, lon float4, query integer, city integer,"
    "  session integer, campaign integer) PARTITION BY RANGE (ts);"
    "CREATE UNIQUE INDEX tl_events_fp ON tl_events(ts, fp);"
    "CREATE INDEX tl_events_seq ON tl_events USING brin(seq)"
    "  WITH (pages_per_range = 16, autosummarize = on);"
    "CREATE TABLE tl_users(idx integer PRIMARY KEY, gender text, birth_year integer, city text,"
    "  occupation text, education text, registered_at bigint, channel text, attrs text, pii bytea);"
    "CREATE TABLE tl_items(idx integer PRIMARY KEY, title text, category text, brand text,"
    "  price float8, attrs text);"
    "CREATE TABLE tl_products(idx integer PRIMARY KEY, kind text, name text, term_months integer,"
    "  apr float8, amount_min float8, amount_max float8, eligibility text, disclosure text);"
    "CREATE TABLE tl_credit(uid integer PRIMARY KEY, on_time bigint, late bigint,"
    "  max_overdue_days bigint, debt float8, income_band text, history_months bigint,"
    "  default_flag smallint);"
    "CREATE TABLE tl_consents(uid integer, purpose text, granted smallint, at bigint,"
    "  PRIMARY KEY(uid, purpose, at, granted));"
    "CREATE TABLE tl_config(key text PRIMARY KEY, value text);"
    "CREATE TABLE tl_segments(name text PRIMARY KEY, expr text NOT NULL, created bigint);"
    /* raw rows sealed; rawmac a keyed MAC of (line, raw), so a re-import
     * finds its rows without the raw text in clear */
    "CREATE TABLE tl_quarantine(id bigserial PRIMARY KEY, source bytea NOT NULL,"
    "  line bigint NOT NULL, rawmac bytea NOT NULL, reason text NOT NULL, message bytea,"
    "  raw bytea, at bigint, preview bytea, UNIQUE(source, line, rawmac));"
    "CREATE INDEX tl_quarantine_reason ON tl_quarantine(reason);"
    "CREATE TABLE tl_api_keys(id text PRIMARY KEY, hash text NOT NULL, role text NOT NULL,"
    "  name text, created bigint);"
    "CREATE TABLE tl_audit(id bigint PRIMARY KEY, at bigint, who text, what text, target text,"
    "  mac text);"
    "CREATE INDEX tl_audit_target ON tl_audit(target);"
    "CREATE TABLE tl_campaigns(id text PRIMARY KEY, def text NOT NULL, status text NOT NULL,"
    "  created bigint, runs integer NOT NULL DEFAULT 0, last_at bigint,"
    "  event_seq bigint NOT NULL DEFAULT 0, sends bigint NOT NULL DEFAULT 0,"
    "  cost float8 NOT NULL DEFAULT 0);"
    "CREATE TABLE tl_campaign_runs(campaign text, run integer, at bigint, started bigint,"
    "  counts text, PRIMARY KEY(campaign, run));"
    "CREATE TABLE tl_deliveries(id text PRIMARY KEY, channel text, \"offset\" bigint, status text,"
    "  code integer, attempts integer, at bigint, due bigint);"
    "CREATE TABLE tl_dnc(uid integer, channel text, reason text, at bigint, campaign text,"
    "  PRIMARY KEY(uid, channel));"
    "CREATE TABLE tl_feedback(id bigserial PRIMARY KEY, uid integer, kind text, campaign text,"
    "  channel text, item integer, score float8, at bigint, source text, line bigint,"
    "  UNIQUE(source, line));"
    "CREATE INDEX tl_feedback_uid ON tl_feedback(uid);"
    "CREATE TABLE tl_idlinks(id bigserial PRIMARY KEY, a integer NOT NULL, b integer NOT NULL,"
    "  at bigint NOT NULL, source text NOT NULL, split_at bigint, split_reason text);"
    "CREATE UNIQUE INDEX tl_idlinks_pair ON tl_idlinks(a, b) WHERE split_at IS NULL;"
    "CREATE INDEX tl_idlinks_b ON tl_idlinks(b);"
    /* blobs in chunks (a bytea holds 1 GB at most; a profile snapshot may
     * be larger) */
    "CREATE TABLE tl_blobs(name text, chunk integer, data bytea NOT NULL,"
    "  PRIMARY KEY(name, chunk));"
    /* side logs: each commit's bytes a row at the offset they begin */
    "CREATE TABLE tl_applog(name text, off bigint, data bytea NOT NULL, PRIMARY KEY(name, off));"
    "CREATE TABLE tl_secrets(name text PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE tl_erased(hash text PRIMARY KEY, idx integer, at bigint);",
};

int tl__pg_schema_version(void) { return (int)(sizeof steps / sizeof *steps); }

int tl__pg_schema_read(tl_store_t *st, int *v, tl_errbuf_t *eb) {
    *v = 0;
    PGresult *r = tl__pg_exec(st, eb, "reading the schema version",
                              "SELECT to_regclass('tl_schema') IS NOT NULL", "");
    if (!r) return tl__pg_err(st);
    int found = (int)tl__pg_int(r, 0, 0, 0);
    PQclear(r);
    if (!found) return 0;
    r = tl__pg_exec(st, eb, "reading the schema version", "SELECT max(version) FROM tl_schema", "");
    if (!r) return tl__pg_err(st);
    *v = (int)tl__pg_int(r, 0, 0, 0);
    PQclear(r);
    return 0;
}

int tl__pg_migrate(tl_store_t *st, tl_errbuf_t *eb) {
    int v, rc = tl__pg_schema_read(st, &v, eb);
    if (rc) return rc;
    if (v == tl__pg_schema_version()) return 0;
    if (v > tl__pg_schema_version()) {
        tl_errbuf_set(eb, "%s: the store's schema is version %d, newer than this tailor's %d: "
                      "upgrade tailor", st->dir, v, tl__pg_schema_version());
        return TL_EINVAL;
    }
    if ((rc = tl__pg_tx_begin(st, eb))) return rc;
    /* another process may have migrated while this one waited for the lock */
    rc = tl__pg_run(st, eb, "taking the writers' lock", "SELECT pg_advisory_xact_lock($1)", "i",
                    (int64_t)TL_PG_WRITER_LOCK);
    if (!rc) rc = tl__pg_run(st, eb, "making the schema table",
                             "CREATE TABLE IF NOT EXISTS tl_schema(version integer PRIMARY KEY,"
                             " at bigint NOT NULL)", "");
    if (!rc) rc = tl__pg_schema_read(st, &v, eb);
    for (; !rc && v < tl__pg_schema_version(); v++) {
        char what[64];
        snprintf(what, sizeof what, "migrating the schema to version %d", v + 1);
        rc = tl__pg_run(st, eb, what, steps[v], "");
        if (!rc) rc = tl__pg_run(st, eb, what, "INSERT INTO tl_schema VALUES ($1, $2)", "ii",
                                 (int64_t)v + 1, tl_store_now(st));
    }
    if (rc) {
        tl__pg_tx_rollback(st);
        return rc;
    }
    return tl__pg_tx_commit(st, eb);
}
