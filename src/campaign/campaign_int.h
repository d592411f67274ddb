/* campaign_int.h -- what the files of src/campaign share and nothing
 * outside reads: the parsing helpers of definitions (campaign.c), a run's
 * context and its one-user decision (run.c), and the journeys' steps, their
 * parsing and their part of a run (journey.c).
 *
 * Invariants: a journey's step indexes (next, then, timeout, a branch's
 * targets, an arm's start) are below nsteps or TL_JEXIT; every cycle of
 * steps passes a wait of positive length (checked at parse), so one run
 * moves a user a bounded number of steps. */
#ifndef TL_CAMPAIGN_INT_H
#define TL_CAMPAIGN_INT_H

#include "campaign.h"
#include "identity/identity.h"

#include <cjson/cJSON.h>

/* ---- definitions (campaign.c) --------------------------------------------------------- */

typedef struct {
    const char *name;
    int type; /* cJSON type bits allowed */
} tl__field_t;
#define T_STR cJSON_String
#define T_NUM cJSON_Number
#define T_BOOL (cJSON_True | cJSON_False)
#define T_ARR cJSON_Array
#define T_OBJ cJSON_Object

/* Refuses members not in the list, and members of the wrong type. */
int tl__check_fields(const cJSON *obj, const tl__field_t *f, const char *where, tl_errbuf_t *eb);
/* "90s", "30m", "2h", "7d", "1w" (a bare number is seconds), up to a
 * century; -1 if not one. */
int tl__parse_duration(const char *s, int64_t *ms);
/* A content object into a's content, content_type and n. */
int tl__parse_content(const cJSON *j, tl_arm_t *a, const char *where, tl_errbuf_t *eb);
/* TL_EBADINPUT with eb set to fmt with one string. */
int tl__bad(tl_errbuf_t *eb, const char *fmt, const char *field);

/* ---- journeys (journey.c) ------------------------------------------------------------- */

#define TL_JOURNEY_MAX_CONDS 32
#define TL_JOURNEY_MAX_EVENTS 8  /* event types a journey watches (wait_for, exit_on) */
#define TL_JEXIT 255             /* the step index of leaving the journey */

enum { TL_JSTEP_SEND, TL_JSTEP_WAIT, TL_JSTEP_WAIT_FOR, TL_JSTEP_BRANCH, TL_JSTEP_EXIT };

typedef struct {
    char id[32];
    int kind;
    int next;                  /* the step after (send, wait, branch's else); TL_JEXIT */
    /* send: the channels in order of preference, content and message */
    int channels[TL_DCH__N], nchannels;
    tl_arm_t msg;
    /* wait: dur; wait_for: the first of the events (bit k of the journey's
     * events[k]) within dur goes to then, else timeout */
    int64_t dur;
    uint32_t events;
    int then, timeout;
    /* branch: the first condition that holds (conds[cond[k]]) goes to to[k] */
    int cond[8], to[8], nbranch;
} tl__jstep_t;

struct tl_journey {
    tl__jstep_t steps[TL_JOURNEY_MAX_STEPS];
    int nsteps;
    int start[TL_CAMPAIGN_MAX_ARMS];   /* each arm's first step */
    char events[TL_JOURNEY_MAX_EVENTS][32];
    int nevents;
    uint32_t exit_on;                   /* bits of events that end the journey (its goal) */
    int64_t reentry;                    /* after leaving, a new entry this long after; -1: never */
    char *conds[TL_JOURNEY_MAX_CONDS];  /* the branches' conditions (expressions) */
    int nconds;
};

/* Parses root's "journey" (and the arms' "start") into c->journey. */
int tl__journey_parse(const cJSON *root, tl_campaign_t *c, tl_errbuf_t *eb);
void tl__journey_free(struct tl_journey *j);

/* ---- a run (run.c) ------------------------------------------------------------------- */

typedef struct {
    uint32_t user;
    uint16_t campaign; /* TL_D_CAMPAIGN index (low 16 bits) */
    uint8_t chan, pad;
    int64_t at;
} tl__contact_t;

typedef struct {
    tl_store_t *st;
    const tl_campaign_t *c;
    const tl_run_opts_t *o;
    tl_errbuf_t *eb;
    tl_ids_t users;            /* external ids by index */
    uint32_t nusers;           /* users decided for (the audience's length) */
    uint32_t nall;             /* every user: consents, do-not-contact and
                                * contacts of any identifier count */
    tl_identity_t *ident;      /* persons; NULL when none holds two identifiers */
    /* consent: bit k of cons[u] for purposes[k] */
    const char *purposes[8];
    int npurposes;
    int camp_bit;              /* bit of the campaign's purpose, -1: none */
    int chan_bit[TL_DCH__N];   /* bit of each channel's purpose, -1: none */
    uint8_t *cons;
    uint8_t *dnc;              /* bit c: channel c; bit 7: every channel */
    /* contacts in the caps' reach, grouped by user */
    uint32_t *coff;            /* nusers + 1 */
    tl__contact_t *contacts;   /* each user's in time order */
    int64_t *near;             /* room for one user's contacts, for the rolling rules */
    uint32_t nnear;
    /* a journey's sends to one user in this run, in time order, and that
     * user's contacts merged with them */
    tl__contact_t own[TL_JOURNEY_MAX_STEPS], *merged;
    uint32_t nown, own_user;
    uint16_t *camp_tags;       /* per campaign index: bit k when it has caps[k].tag */
    uint32_t ncamp;
    /* outputs */
    tl_applog_t *outbox[TL_DCH__N], *expo, *clog;
    tl_buf_t line, content;
    char ts[32], runstr[24];   /* the last send time formatted, and the run number */
    int64_t ts_for;
    uint16_t camp_idx;
    uint64_t run, sends_before;
    double cost_before;
    uint64_t day_sends;        /* a trigger campaign's sends and cost earlier in the run's local day */
    double day_cost, day_frac; /* ... and how much of that day has passed when it runs */
    tl_run_result_t *res;
} tl__run_t;

/* What one decision sends: the channels, the content and message, the
 * journey step named in the record; the arm and the hold-out given (as
 * assigned when the user entered a journey) or, when -1, by the user's
 * hash. */
typedef struct {
    const int *channels;
    int nchannels;
    const tl_arm_t *msg;       /* its content and message, each NULL: the arm's (NULL: both) */
    const char *step;          /* NULL: no step */
    int arm, holdout;
} tl__send_t;

uint32_t tl__person(const tl__run_t *x, uint32_t u);
/* The items whose category is cat or under it (cat/...): one byte per
 * item index in *ok (caller frees), *n of them. */
int tl__items_in(tl_store_t *st, const char *cat, uint8_t **ok, uint32_t *n, tl_errbuf_t *eb);
/* The arm and hold-out user u falls in. */
void tl__assign(const tl_campaign_t *c, const char *uid, int *arm, int *holdout);
/* Decides for user u at `when` (at or after the run's time): one of
 * TL_DECISIONS, its records written unless dry. */
int tl__decide(tl__run_t *x, uint32_t u, int64_t when, const tl__send_t *s);

/* A journey's part of a run inside the run's batch: the states kept
 * (blob journeys/ID), the log's rows before end (entries by the trigger,
 * or the audience at the run; the events watched), each user moved
 * through the steps whose time has come, each send decided, the states
 * written back (not in a dry run). origin: the earliest entry a first run
 * takes. */
int tl__journey_run(tl__run_t *x, int64_t origin, uint64_t end);

#endif
