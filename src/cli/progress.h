/* progress.h -- what the command line shows while an import runs: a
 * progress bar and the import's warnings, on stderr. */
#ifndef TL_CLI_PROGRESS_H
#define TL_CLI_PROGRESS_H

#include "ingest/ingest.h"

typedef struct {
    int enabled;              /* stderr is a terminal */
    double start_s, last_s;   /* when the source started, when last drawn */
} progress_t;

/* Points o's callbacks at the bar (state in *bar, which must outlive the
 * import) and at printing the warnings as "tailor: MESSAGE". */
void progress_import(tl_import_opts_t *o, progress_t *bar);

#endif
