/* identity.h -- one customer across identifiers: the kinds of identifier
 * a person may carry (device id, member id, hashed phone...), the rules
 * that say which links may merge two persons, and the resolution of links
 * into persons.
 *
 * Identifiers are entries of the store's user dictionary, so each has a
 * dense index. A person is represented by the smallest index among its
 * identifiers (the one interned first): every array indexed by user keeps
 * its shape, and code that groups by person reads canon[u] instead of u.
 *
 * Resolution is a pure function of the identifiers' kinds, the links and
 * the rules: links are applied in time order (then by id), each joining
 * the persons of its two ends unless a rule refuses it: the joined person
 * would hold more identifiers of a kind than the kind allows (a shared
 * tablet logged into by two members: the second login is refused), or more
 * identifiers in all than the rules allow. A link that was split is left
 * out, so resolving again gives back the persons as they were without it,
 * exactly. */
#ifndef TL_IDENTITY_H
#define TL_IDENTITY_H

#include "store/store.h"

#define TL_ID_MAX_KINDS 16
#define TL_ID_KIND_LEN 24

/* A kind of identifier and how many of it one person may hold (0: no
 * limit). personal: its values are personal data (phone, e-mail), kept as
 * keyed hashes and sealed values, never in clear. */
typedef struct {
    char name[TL_ID_KIND_LEN];
    uint32_t max_per_person;
    int personal;
} tl_id_kind_t;

typedef struct {
    tl_id_kind_t kinds[TL_ID_MAX_KINDS];
    int nkinds;
    uint32_t max_identifiers; /* per person, every kind together; 0: no limit */
    char phone_country[8];    /* the country code ("86") of phones written without '+'
                               * (a national number, a leading trunk '0' dropped); "":
                               * taken as written. "00" before a number is '+' always */
} tl_id_rules_t;

/* The rules a new store starts with: member (1 a person), device (10),
 * phone (1, personal), email (1, personal), openid (4), card (2); at
 * most 50 identifiers a person. Kind 0, "member", is the kind of ids
 * given without one. */
void tl_id_rules_default(tl_id_rules_t *r);
/* The index of a kind by name, or -1. */
int tl_id_kind_find(const tl_id_rules_t *r, const char *name);
/* Parses rules from JSON: {"kinds":[{"name":"device","max":10,
 * "personal":false},...],"max_identifiers":50,"phone_country":"86"}
 * (phone_country may be left out); TL_EBADINPUT with eb
 * told when it does not hold (names of 1-23 letters, digits or '_', no
 * name twice, at most TL_ID_MAX_KINDS kinds). */
int tl_id_rules_parse(const char *json, tl_id_rules_t *out, tl_errbuf_t *eb);
/* The rules as that JSON (malloc'd; NULL when out of memory). */
char *tl_id_rules_json(const tl_id_rules_t *r);

/* The user-dictionary entry of identifier `value` (n bytes) of kind
 * `kind`, appended to out: the value itself for kind 0 (ids given without
 * a kind, as ever), KIND:VALUE for the others, KIND:#PSEUDONYM (the
 * store's keyed pseudonym) of the canonical value for a personal kind, so
 * it never reaches the store in clear. Values are trimmed; a phone keeps
 * its digits and a leading '+' (TL_EBADINPUT when it has other
 * characters than spaces, dashes, dots and parentheses, or fewer than two
 * digits), an e-mail address is put in lower case. An empty value, and a
 * kind-0 value that begins with another kind's name and ':', are
 * TL_EBADINPUT; eb never quotes a personal value. */
int tl_id_key(tl_store_t *st, const tl_id_rules_t *r, int kind, const char *value, size_t n,
              tl_buf_t *out, tl_errbuf_t *eb);
/* The kind of a dictionary entry key[0..n): the kind whose name and ':'
 * begin it, 0 when none does. */
int tl_id_kind_of(const tl_id_rules_t *r, const char *key, size_t n);
/* The kind an identifier written *v[0..*n) names, as a source or a caller
 * writes it: a kind's name and ':' before the value ("device:9f2c",
 * "member:u1"), *v and *n then moved past them; otherwise dflt, and -1
 * there means a member id taken as it is written. */
int tl_id_parse(const tl_id_rules_t *r, int dflt, const char **v, size_t *n);
/* The key of an identifier as written (tl_id_parse, then tl_id_key;
 * dflt as there), appended to out. */
int tl_id_key_written(tl_store_t *st, const tl_id_rules_t *r, int dflt, const char *v, size_t n,
                      tl_buf_t *out, tl_errbuf_t *eb);

/* A link between two identifiers (indexes), made at `at` (ms); split: it
 * proved wrong and is left out of the resolution. id orders links made
 * at the same time. */
typedef struct {
    uint64_t id;
    uint32_t a, b;
    int64_t at;
    int split;
} tl_id_link_t;

/* What a resolution found. */
typedef struct {
    uint32_t identifiers; /* identifiers resolved (nids) */
    uint32_t persons;     /* sets they form */
    uint64_t merges;      /* links that joined two persons */
    uint64_t refused;     /* links a rule refused */
    uint64_t split;       /* links left out as split */
} tl_id_stats_t;

typedef struct tl_identity tl_identity_t;

/* Resolves nids identifiers, identifier i of kind kind[i] (an index into
 * r->kinds; kind may be NULL: all of kind 0), through the links (any
 * order; indexes at or beyond nids are refused as bad input). */
int tl_identity_resolve(const tl_id_rules_t *r, const uint8_t *kind, uint32_t nids,
                        const tl_id_link_t *links, size_t nlinks, tl_identity_t **out,
                        tl_errbuf_t *eb);
void tl_identity_free(tl_identity_t *id);

/* The person of identifier u: the smallest index of its set (u itself
 * when u is beyond what was resolved: an identifier seen since). */
uint32_t tl_identity_person(const tl_identity_t *id, uint32_t u);
/* Sets flag[p] of each person p one of whose identifiers u < n has
 * flag[u] set: what holds for one identifier (a withdrawal) holds for its
 * person. */
void tl_identity_fold_flags(const tl_identity_t *id, uint8_t *flag, uint32_t n);
/* canon[u] for every u < nids, owned by id. */
const uint32_t *tl_identity_map(const tl_identity_t *id);
/* Whether link number i of those given was refused (1), applied or not
 * needed (0), or split (-1). */
int tl_identity_link_state(const tl_identity_t *id, size_t i);
/* The identifiers of u's person, smallest first: fn for each until it
 * returns non-zero (returned). */
int tl_identity_members(const tl_identity_t *id, uint32_t u, int (*fn)(uint32_t, void *),
                        void *arg);
void tl_identity_stats(const tl_identity_t *id, tl_id_stats_t *out);

/* ---- over a store (load.c) ------------------------------------------------- */

/* The merge rules the store keeps (the defaults until some are put). */
int tl_identity_rules_get(tl_store_t *st, tl_id_rules_t *out, tl_errbuf_t *eb);
int tl_identity_rules_put(tl_store_t *st, const tl_id_rules_t *r, tl_errbuf_t *eb);
/* The persons of every committed user of st under rules r (NULL: the
 * rules the store keeps), from the store's identity links (a link naming a user committed since the user
 * ids were read waits for the next load). */
int tl_identity_load(tl_store_t *st, const tl_id_rules_t *r, tl_identity_t **out,
                     tl_errbuf_t *eb);

/* The index of an identifier as written (tl_id_parse; a member id when it
 * names no kind; r NULL: under the rules the store keeps): TL_ENOENT, eb told, when the store has none; errors
 * never quote a personal value. */
int tl_identity_find(tl_store_t *st, const tl_id_rules_t *r, const char *written, uint32_t *u,
                     tl_errbuf_t *eb);
/* Links two identifiers as written, each added to the store when new, in
 * the caller's batch, made at `at` by `source` ("identify", "cli"...): 1
 * a new link, 0 the pair had one in force; *id (when given) its id.
 * TL_EBADINPUT when one is not an identifier of its kind, both are one,
 * or one was erased (an erased identifier never comes back). */
int tl_identity_link(tl_store_t *st, const tl_id_rules_t *r, const char *a, const char *b,
                     int64_t at, const char *source, uint64_t *id, tl_errbuf_t *eb);
/* Splits the link in force between two identifiers as written, in the
 * caller's batch: 1 split, TL_ENOENT (eb told) when there is none. */
int tl_identity_split(tl_store_t *st, const tl_id_rules_t *r, const char *a, const char *b,
                      int64_t at, const char *reason, tl_errbuf_t *eb);
/* The identifiers of identifier u's person under the store's rules (*out
 * malloc'd, *n of them): u first, then each linked to one listed before
 * it by a link in force, so that dropping them from the last one on
 * leaves the rest joined to u at every step. */
int tl_identity_person_list(tl_store_t *st, uint32_t u, uint32_t **out, uint32_t *n,
                            tl_errbuf_t *eb);

/* ---- a person as a caller looks at it (person.c) ----------------------------- */

/* The state of a link under a resolution: in force (it joined two
 * persons, or its ends were one already), refused by a rule, split. */
enum { TL_ID_LINK_IN_FORCE, TL_ID_LINK_REFUSED, TL_ID_LINK_SPLIT };

/* The links naming any identifier of u's person under id (resolved from
 * st's links), each once, by member then id: fn(l, state, arg) for each
 * until it returns non-zero (returned). l is borrowed for the call. */
int tl_identity_links_of(tl_store_t *st, const tl_identity_t *id, uint32_t u,
                         int (*fn)(const tl_link_row_t *l, int state, void *arg), void *arg,
                         tl_errbuf_t *eb);
/* u's person as JSON (person.c): identifier (u as the store keys it:
 * personal kinds by keyed pseudonym, "(erased)" when forgotten), person
 * (its first identifier), identifiers [{id, kind}], links [{id, a, b, at,
 * source, state (in_force, refused, split), split_at, reason}]. */
struct cJSON;
int tl_identity_person_json(tl_store_t *st, const tl_id_rules_t *r, const tl_identity_t *id, uint32_t u,
                            struct cJSON **out, tl_errbuf_t *eb);
/* Whether joining the persons of identifiers a and b would break a rule
 * of r: 1, with the rule and the counts said in why (n bytes, never an
 * identifier); 0 when it would not, or they are one person. */
int tl_identity_refusal(tl_store_t *st, const tl_id_rules_t *r, const tl_identity_t *id,
                        uint32_t a, uint32_t b, char *why, size_t n, tl_errbuf_t *eb);

/* ---- against a truth (truth.c) --------------------------------------------------- */

/* How a store's persons agree with a truth. Pairs are of distinct
 * identifiers both the truth and the store hold ("compared"). */
typedef struct {
    uint64_t rows;           /* rows of the truth after its header */
    uint64_t compared;       /* distinct identifiers of the truth the store holds */
    uint64_t missing;        /* rows whose identifier the store does not hold */
    uint64_t repeated;       /* rows naming an identifier (as keyed) and person again */
    uint64_t persons;        /* resolved persons among the compared identifiers */
    uint64_t true_persons;   /* persons of the truth among them */
    uint64_t pairs_resolved; /* pairs one person by the resolution */
    uint64_t pairs_true;     /* pairs one person by the truth */
    uint64_t pairs_both;     /* pairs one person by both */
    double precision;        /* pairs_both / pairs_resolved (1 when there are none) */
    double recall;           /* pairs_both / pairs_true (1 when there are none) */
    uint64_t over_limit;     /* persons of the store breaking a rule: 0 unless broken */
    tl_id_stats_t resolution; /* the store's resolution, every identifier */
} tl_id_eval_t;

/* Compares st's persons under rules r with a truth: the text of a CSV
 * (truth[0..len), RFC 4180 quotes; a header naming the columns
 * `identifier`, an identifier as written (tl_id_parse: a member id when
 * it names no kind), and `person`, any name of the true person). name is
 * what errors call the text (a file name). TL_EBADINPUT, eb told with
 * name:line, for a malformed row, an identifier not of its kind, or one
 * given two persons; errors never quote a personal value. */
int tl_identity_evaluate(tl_store_t *st, const tl_id_rules_t *r, const char *truth, size_t len,
                         const char *name, tl_id_eval_t *out, tl_errbuf_t *eb);

#endif
