/* gen_int.h -- private declarations of the generator: the channels, and the
 * identifiers its people carry (identities.c), which the event writer of
 * gen.c puts in the events' user and alias fields.
 *
 * A person is a member (user index i, id "u" + i + 1, kind member) and
 * carries extra identifiers in slots 1..n: its app devices first, then its
 * mini-program openids, then its phone. Slot 0 is the member id itself.
 * Identifiers are numbered densely over all persons (a person's slot s is
 * number off + s - 1), so every per-identifier array is O(identifiers).
 *
 * Each linked identifier is logged in exactly once (an identify event: user
 * the member id, alias the identifier): at its first use in time order,
 * after a few anonymous uses for some, or, if it is not used by then, at a
 * time drawn when the person is made (so every linked identifier appears
 * in the period). About one device in ten is never linked: it appears only
 * when used, anonymously. A household device (about 1 %) is in the slots
 * of two persons; both log in on it and it belongs to the first. */
#ifndef TL_GEN_INT_H
#define TL_GEN_INT_H

#include "gen.h"

enum { CH_WEB, CH_APP, CH_STORE, CH_SOCIAL, CH_MINI, NCHAN };

typedef struct tl__gen_ids tl__gen_ids_t;

typedef struct {
    uint64_t persons;     /* members: every valid users.csv row */
    uint64_t identifiers; /* rows of identities.truth */
    uint64_t links;       /* identify events written */
    uint64_t unlinked;    /* identifiers that appear but were never logged in */
    uint64_t shared;      /* devices two persons logged in on (one refused login each) */
} tl__gen_ids_stats_t;

/* An empty set for `persons` people, over `days` days from start_s; mean:
 * identifiers a person (1 .. 10), drawn from a stream of its own for seed.
 * TL_ENOMEM. */
int tl__gen_ids_new(uint32_t persons, double mean, uint64_t seed, int64_t start_s, uint32_t days,
                    tl__gen_ids_t **out);
void tl__gen_ids_free(tl__gen_ids_t *x);
/* Draws the identifiers of person i (called for i = 0, 1, ... in order):
 * pref_chan is the person's usual channel, phone the 11-digit number of
 * users.csv, reg_s when the person registered. TL_ENOMEM. */
int tl__gen_ids_person(tl__gen_ids_t *x, uint32_t i, int pref_chan, uint64_t phone, int64_t reg_s);
/* Files the drawn logins by day, once every person is drawn. TL_ENOMEM. */
int tl__gen_ids_ready(tl__gen_ids_t *x);

/* The slot a session of person on chan shows (0: the member id). */
int tl__gen_ids_slot(const tl__gen_ids_t *x, uint32_t person, int chan, uint32_t session);
/* The channel a login on slot happens in. */
int tl__gen_ids_chan(const tl__gen_ids_t *x, uint32_t person, int slot);
/* Writes the identifier in slot (> 0) at p as it appears in the files
 * (at most 40 bytes); returns the end. */
char *tl__gen_ids_put(const tl__gen_ids_t *x, uint32_t person, int slot, char *p);
/* fn for each login drawn in day d (sec: seconds into the day), until fn
 * returns non-zero (returned). */
int tl__gen_ids_day(const tl__gen_ids_t *x, uint32_t d,
                    int (*fn)(uint32_t person, int slot, uint32_t sec, void *arg), void *arg);

/* Called in file order. use: a valid event shows slot; 1 when the login
 * must be written just before it. login: a drawn login comes up; 1 when it
 * must be written (0: the identifier was logged in on before). */
int tl__gen_ids_use(tl__gen_ids_t *x, uint32_t person, int slot);
int tl__gen_ids_login(tl__gen_ids_t *x, uint32_t person, int slot);

/* fn(person, slot) for every identifier that appeared, with its true
 * person: each person's member id (slot 0) first, then the slots whose
 * identifier is the person's (tl__gen_ids_put writes it); the counts to out.
 * Stops at fn's non-zero (returned). */
int tl__gen_ids_each(const tl__gen_ids_t *x, int (*fn)(uint32_t person, int slot, void *arg),
                     void *arg, tl__gen_ids_stats_t *out);

#endif
