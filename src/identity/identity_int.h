/* identity_int.h -- what the identity module's files share: the kinds a
 * person holds counted, and the rule a count breaks. */
#ifndef TL_IDENTITY_INT_H
#define TL_IDENTITY_INT_H

#include "identity.h"

/* Identifiers of each kind and in all, read off their keys in d. */
typedef struct {
    uint32_t count[TL_ID_MAX_KINDS], total;
} tl__id_counts_t;

/* Adds the identifiers of u's person to c. */
void tl__id_count(const tl_id_rules_t *r, tl_dict_t *d, const tl_identity_t *id, uint32_t u,
                  tl__id_counts_t *c);
/* 1 when c breaks a rule of r, said in why (n bytes; may be 0); else 0. */
int tl__id_breaks(const tl_id_rules_t *r, const tl__id_counts_t *c, char *why, size_t n);

#endif
