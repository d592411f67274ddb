/* profile.h -- user profiles (用户画像): one column per feature, one row per
 * user, computed from the event log and the entities.
 *
 * A profile is built by running each user's events, in time order, through
 * one state machine (tl_profile_apply) and then reading the features off the
 * state at an "as of" time (the latest event by default). The batch build
 * and the incremental update share that state machine, so feeding the same
 * events one at a time gives the same profile as a build.
 *
 * Columns are of three types: numbers (double), counts (uint32) and
 * categories (uint32 codes into a label list; TL_NONE = unknown). Their names
 * are what `tailor profile show` and `profile export` print and what the
 * expression language refers to. The catalogue decides some of them: there
 * is one `affinity_<category>` column per top-level category.
 */
#ifndef TL_PROFILE_H
#define TL_PROFILE_H

#include "store/store.h"

typedef enum { TL_COL_NUM, TL_COL_COUNT, TL_COL_CAT } tl_coltype_t;

typedef struct tl_profiles tl_profiles_t;

typedef struct {
    int64_t as_of;            /* ms; INT64_MIN: the latest event. Events after it are left out */
    double half_life_days;    /* category and brand affinity, default 30 */
    double short_half_life_days; /* the "recent" side of the shift score, default 7 */
    double session_gap_min;   /* events without a session id: a new visit after this gap, default 30 */
    int threads;              /* 0: one per core */
} tl_profile_opts_t;

void tl_profile_opts_default(tl_profile_opts_t *o);

/* Builds every user's profile from the store. */
int tl_profile_build(tl_store_t *st, const tl_profile_opts_t *o, tl_profiles_t **out,
                     tl_errbuf_t *eb);
void tl_profile_free(tl_profiles_t *p);

/* Incremental use: an empty profile set over the store's catalogue (with
 * the same options and promotion days as p_like, if given), events applied
 * one at a time in each user's time order, then features refreshed. */
int tl_profile_new_empty(tl_store_t *st, const tl_profile_opts_t *o, const tl_profiles_t *p_like,
                         tl_profiles_t **out, tl_errbuf_t *eb);
int tl_profile_apply(tl_profiles_t *p, const tl_event_t *ev);
/* Recomputes the feature columns of every user (or one user) at as_of. */
int tl_profile_refresh(tl_profiles_t *p, int64_t as_of);
int tl_profile_refresh_user(tl_profiles_t *p, uint32_t user, int64_t as_of);

/* Erasure: every feature of user u unknown (NaN, 0, no category), and,
 * for a set built from events, the user's state emptied, as if never
 * seen. The index stays (other users' do not move). */
int tl_profile_erase_user(tl_profiles_t *p, uint32_t u);

/* Profiling withdrawn (the latest consent record for the purpose
 * "profiling" withdraws it; a build reads them off the store): no profile
 * is kept for the user. Every feature is unknown, the state is emptied,
 * later events are not applied, and segments, tags, RFM and clusters leave
 * the user out. Given back (on = 0), the profile starts again from the
 * next event; the next build brings back the past. */
int tl_profile_set_withdrawn(tl_profiles_t *p, uint32_t u, int on);
int tl_profile_withdrawn(const tl_profiles_t *p, uint32_t u);
uint32_t tl_profile_nwithdrawn(const tl_profiles_t *p);

/* Persons (identity.h): a build reads the store's identity links, and the
 * events, user record and credit record of every identifier of a person
 * make one profile, in the row of the person's first identifier. The
 * other rows of the person stay empty; their identifiers are merged, and
 * segments, tags, RFM and clusters leave them out. Profiling withdrawn on
 * any identifier of a person withdraws it for the person. */
/* The row of u's person (u itself when it is its person's first). */
uint32_t tl_profile_person(const tl_profiles_t *p, uint32_t u);
/* 1 when row u holds a profile: its person's first identifier, profiling
 * not withdrawn. */
int tl_profile_kept(const tl_profiles_t *p, uint32_t u);
/* Identifiers merged into another's person. */
uint32_t tl_profile_nmerged(const tl_profiles_t *p);
/* The identifiers of u's person, smallest first (u alone when it is
 * merged with none): fn for each until it returns non-zero (returned). */
int tl_profile_members(const tl_profiles_t *p, uint32_t u, int (*fn)(uint32_t, void *),
                       void *arg);

/* Live merges: after identity links were added or split in st (by an
 * identify call, an import of events with aliases), the persons resolved
 * again from the store's links, and the rows of every person that gained
 * or lost an identifier made again exactly as tl_profile_build makes them
 * from the same store: the state emptied, profiling withdrawn when any
 * identifier's latest consent withdraws it, the user and credit records
 * of its identifiers, its events applied again from the event log (one
 * scan), features read at as_of. Rows of persons that did not change are
 * not touched, and capacity tiers keep the cuts of the last full refresh,
 * as every incremental update does. *nchanged (may be NULL): the persons
 * made again. A set loaded from a snapshot has no state: TL_EINVAL. */
int tl_profile_relink(tl_profiles_t *p, tl_store_t *st, int64_t as_of, uint32_t *nchanged,
                      tl_errbuf_t *eb);
/* After a profiling consent record for identifier u: every identifier of
 * its person keeps the flag its latest record gives, and the person is
 * withdrawn when one of them withdrew (tl_profile_set_withdrawn: a change
 * drops the person's profile, given back it starts again from the next
 * event). */
int tl_profile_sync_withdrawn(tl_profiles_t *p, tl_store_t *st, uint32_t u, tl_errbuf_t *eb);

/* Adds a column computed elsewhere (tags), or replaces the one of that
 * name. Takes ownership of data (nusers values: double for NUM, uint32_t
 * otherwise) and of labels (CAT; may be NULL otherwise), also on failure. */
int tl_profile_set_column(tl_profiles_t *p, const char *name, tl_coltype_t type, void *data,
                          tl_dict_t *labels);
/* Removes every column whose name starts with prefix. */
void tl_profile_drop_columns(tl_profiles_t *p, const char *prefix);

/* Snapshot in the store's blob "profiles", DATA/profiles.tlp (features only; see docs/FORMATS.md).
 * Load honours the consents in force, not those of the build: a user who
 * has withdrawn profiling since is withdrawn (no features) in what it
 * gives, one who gave it back has an empty profile until the next build. */
int tl_profile_save(tl_store_t *st, const tl_profiles_t *p, tl_errbuf_t *eb);
int tl_profile_load(tl_store_t *st, tl_profiles_t **out, tl_errbuf_t *eb);
/* The snapshot written to w (not closed): for a caller that installs it
 * with other changes at once (a purge, a batch). */
int tl_profile_write(const tl_profiles_t *p, tl_blobw_t *w, tl_errbuf_t *eb);

/* ---- reading -------------------------------------------------------------- */

uint32_t tl_profile_nusers(const tl_profiles_t *p);
int64_t tl_profile_as_of(const tl_profiles_t *p);
int tl_profile_ncols(const tl_profiles_t *p);
const char *tl_profile_col_name(const tl_profiles_t *p, int col);
tl_coltype_t tl_profile_col_type(const tl_profiles_t *p, int col);
/* The column index of a name, or -1. */
int tl_profile_col_find(const tl_profiles_t *p, const char *name);
/* Column data: NUM → const double *, COUNT and CAT → const uint32_t *. */
const void *tl_profile_col_data(const tl_profiles_t *p, int col);
/* The labels of a CAT column (NULL for other types). */
const tl_dict_t *tl_profile_col_labels(const tl_profiles_t *p, int col);
/* The label of a category code of a CAT column ("" for TL_NONE). */
const char *tl_profile_cat_label(const tl_profiles_t *p, int col, uint32_t code);

/* Formats one cell as text (numbers with up to 10 significant digits,
 * categories as their label, unknown as an empty string). */
void tl_profile_cell(const tl_profiles_t *p, int col, uint32_t user, char *out, size_t cap);

/* The features of a user's person as a JSON object: numbers, labels, null when
 * unknown (an empty object for a user the profiles do not have, or who
 * withdrew profiling). */
struct cJSON;
struct cJSON *tl_profile_user_json(const tl_profiles_t *p, uint32_t user);

/* ---- activity by day (activity.c) ---------------------------------------------- */

/* What the log holds for each of ndays local days ending with the day of
 * `to` (ms), days cut at local midnight tz_min minutes east of UTC:
 * events, distinct identifiers with an event, distinct buyers, purchases
 * and revenue (the purchases' amounts less the refunds'). */
typedef struct {
    int64_t day0;           /* local midnight of the first day, as ms since the epoch (UTC) */
    int ndays, tz_min;
    uint64_t *events, *users, *buyers, *orders;
    double *revenue;
} tl_activity_t;
int tl_activity_daily(tl_store_t *st, int64_t to, int ndays, int tz_min, tl_activity_t *out,
                      tl_errbuf_t *eb);
void tl_activity_fini(tl_activity_t *a);

#endif
