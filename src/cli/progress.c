/* progress.c -- the progress bar the command line draws on stderr while an
 * import reads its sources ("rows/s, percentage, ETA"), and the import's
 * warnings. The library only reports how far it has got; drawing is the
 * front end's. The bar is drawn only when stderr is a terminal, at most
 * five times a second, and erased when a source is finished. */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw(const tl_import_progress_t *p, void *arg) {
    progress_t *b = arg;
    if (p->phase == TL_PROGRESS_START) {
        b->enabled = isatty(STDERR_FILENO);
        b->start_s = b->last_s = now_s();
        return;
    }
    if (!b->enabled) return;
    if (p->phase == TL_PROGRESS_END) {
        fprintf(stderr, "\r\033[K");
        return;
    }
    double now = now_s();
    if (now - b->last_s < 0.2) return;
    b->last_s = now;
    double secs = now - b->start_s;
    double rate = secs > 0 ? (double)p->rows / secs : 0;
    if (p->total) {
        double frac = (double)p->done / (double)p->total;
        if (frac > 1) frac = 1;
        double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
        int w = 30, fill = (int)(frac * w);
        fprintf(stderr, "\rimporting [%.*s%*s] %5.1f%% %10.0f rows/s ETA %4.0fs ", fill,
                "##############################", w - fill, "", frac * 100, rate, eta);
    } else {
        fprintf(stderr, "\rimporting %llu rows %10.0f rows/s ", (unsigned long long)p->rows, rate);
    }
    fflush(stderr);
}

static void warn(const char *message, void *arg) {
    (void)arg;
    fprintf(stderr, "tailor: %s\n", message);
}

void progress_import(tl_import_opts_t *o, progress_t *bar) {
    bar->enabled = 0;
    o->on_progress = draw;
    o->on_warning = warn;
    o->notify_arg = bar;
}
