/* report.h -- self-contained HTML reports with inline SVG charts: one file,
 * no scripts, no fonts or images from the network, readable offline.
 *
 * A report is built in memory section by section and written at the end.
 * All text passes through HTML escaping. */
#ifndef TL_REPORT_H
#define TL_REPORT_H

#include "core/core.h"

typedef struct tl_report tl_report_t;

tl_report_t *tl_report_new(const char *title, const char *subtitle);
void tl_report_free(tl_report_t *r);

void tl_report_heading(tl_report_t *r, const char *text);
void tl_report_para(tl_report_t *r, const char *text);
/* Key figures shown as tiles: n labels and values (already formatted). */
void tl_report_tiles(tl_report_t *r, int n, const char *const *labels, const char *const *values);
/* A horizontal bar chart of n labelled values (negative ones grow left of
 * a zero line). */
void tl_report_bars(tl_report_t *r, const char *caption, int n, const char *const *labels,
                    const double *values, const char *unit);
/* Each label's value as a dot with its interval [lo, hi] as whiskers, on
 * an axis that shows zero (for lifts that may be negative). */
void tl_report_intervals(tl_report_t *r, const char *caption, int n, const char *const *labels,
                         const double *value, const double *lo, const double *hi, const char *unit);
/* Lines of nseries series over the same n x values (y is nseries x n,
 * NaN skips a point), with a legend of their names. */
void tl_report_lines(tl_report_t *r, const char *caption, int n, const double *x, int nseries,
                     const double *y, const char *const *names, const char *xlabel);
/* A heat map of rows x cols counts (row 0 drawn on top). */
void tl_report_heatmap(tl_report_t *r, const char *caption, int rows, int cols,
                       const char *const *row_labels, const char *const *col_labels,
                       const double *values);
/* A table; cells row-major, rows x cols, the first row is the header. */
void tl_report_table(tl_report_t *r, int rows, int cols, const char *const *cells);

/* Writes the finished page to path (created 0644). */
int tl_report_write(tl_report_t *r, const char *path, tl_errbuf_t *eb);

#endif
