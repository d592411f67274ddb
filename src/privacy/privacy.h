/* privacy.h -- what the data subject is owed: everything held about one
 * user, gathered from every place the engine keeps it (subject access).
 *
 * The export is privileged: personal fields come in clear, so callers show
 * it only to whoever may see them and record the read in the audit log. */
#ifndef TL_PRIVACY_H
#define TL_PRIVACY_H

#include "profile/profile.h"
#include "store/store.h"

struct cJSON;

/* Everything held about user as JSON: personal fields, attributes, credit
 * record, consents with their history, do-not-contact entries, feedback,
 * every event, the profile (p may be NULL: then from the stored build, if
 * any), the stored segments the user is in, every campaign decision about
 * the user, and the audit entries of reads of the user's data. Event
 * sessions are kept only as hashes and are not in it. */
int tl_subject_export(tl_store_t *st, const tl_profiles_t *p, uint32_t user, struct cJSON **out,
                      tl_errbuf_t *eb);

#endif
