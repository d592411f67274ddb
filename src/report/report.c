/* report.c -- HTML and SVG writing for reports (see report.h). Charts are
 * plain SVG elements sized in CSS pixels; colours come from one palette so
 * every chart of a report looks alike. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tl_report {
    tl_buf_t b;
    int nchart;
};

static const char *const PALETTE[] = {"#2f6f9f", "#e07b39", "#4c9a61", "#b5485d", "#7d62a8",
                                      "#c9a227", "#3b9c9c", "#8c6d4f"};

static void esc(tl_buf_t *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': tl_buf_append(b, "&lt;", 4); break;
        case '>': tl_buf_append(b, "&gt;", 4); break;
        case '&': tl_buf_append(b, "&amp;", 5); break;
        case '"': tl_buf_append(b, "&quot;", 6); break;
        default: tl_buf_append(b, s, 1);
        }
    }
}

tl_report_t *tl_report_new(const char *title, const char *subtitle) {
    tl_report_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    tl_buf_t *b = &r->b;
    tl_buf_init(b);
    tl_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    esc(b, title);
    tl_buf_printf(b, "</title>\n<style>\n"
                     "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
                     "max-width:980px;color:#222;padding:0 1em}\n"
                     "h1{font-weight:600;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd;"
                     "padding-bottom:.2em;font-weight:600}\n.sub{color:#666}\n"
                     ".tiles{display:flex;flex-wrap:wrap;gap:12px}.tile{border:1px solid #ddd;"
                     "border-radius:6px;padding:10px 16px;min-width:130px}\n"
                     ".tile .v{font-size:1.5em;font-weight:600}.tile .l{color:#666;font-size:.85em}\n"
                     "table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #eee;"
                     "padding:4px 10px;text-align:right}th{background:#f6f6f6}td:first-child,"
                     "th:first-child{text-align:left}\nfigure{margin:1em 0}figcaption{color:#555;"
                     "font-size:.9em;margin-bottom:.3em}svg text{font-size:12px;fill:#333}\n"
                     "</style></head><body>\n<h1>");
    esc(b, title);
    tl_buf_printf(b, "</h1>\n<p class=\"sub\">");
    esc(b, subtitle);
    tl_buf_printf(b, "</p>\n");
    return r;
}

void tl_report_free(tl_report_t *r) {
    if (!r) return;
    tl_buf_fini(&r->b);
    free(r);
}

void tl_report_heading(tl_report_t *r, const char *text) {
    tl_buf_printf(&r->b, "<h2>");
    esc(&r->b, text);
    tl_buf_printf(&r->b, "</h2>\n");
}

void tl_report_para(tl_report_t *r, const char *text) {
    tl_buf_printf(&r->b, "<p>");
    esc(&r->b, text);
    tl_buf_printf(&r->b, "</p>\n");
}

void tl_report_tiles(tl_report_t *r, int n, const char *const *labels, const char *const *values) {
    tl_buf_printf(&r->b, "<div class=\"tiles\">");
    for (int i = 0; i < n; i++) {
        tl_buf_printf(&r->b, "<div class=\"tile\"><div class=\"v\">");
        esc(&r->b, values[i]);
        tl_buf_printf(&r->b, "</div><div class=\"l\">");
        esc(&r->b, labels[i]);
        tl_buf_printf(&r->b, "</div></div>");
    }
    tl_buf_printf(&r->b, "</div>\n");
}

static void fmt_num(char *out, size_t cap, double v) {
    if (!isfinite(v)) snprintf(out, cap, "n/a");
    else if (fabs(v) >= 1e6) snprintf(out, cap, "%.2fM", v / 1e6);
    else if (fabs(v) >= 1e4) snprintf(out, cap, "%.1fk", v / 1e3);
    else if (v == floor(v)) snprintf(out, cap, "%.0f", v);
    else snprintf(out, cap, "%.3g", v);
}

void tl_report_bars(tl_report_t *r, const char *caption, int n, const char *const *labels,
                    const double *values, const char *unit) {
    const int row = 22, left = 190, width = 560;
    /* negative values grow left from a zero line */
    double lo = 0, hi = 0;
    for (int i = 0; i < n; i++) {
        if (values[i] > hi) hi = values[i];
        if (values[i] < lo) lo = values[i];
    }
    double span = hi - lo > 0 ? hi - lo : 1, zero = left + (-lo) / span * width;
    tl_buf_t *b = &r->b;
    tl_buf_printf(b, "<figure><figcaption>");
    esc(b, caption);
    tl_buf_printf(b, "</figcaption><svg width=\"%d\" height=\"%d\" role=\"img\">", left + width + 150,
                  n * row + 6);
    const char *color = PALETTE[r->nchart++ % 8];
    if (lo < 0)
        tl_buf_printf(b, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>", zero,
                      zero, n * row + 6);
    for (int i = 0; i < n; i++) {
        double v = isnan(values[i]) ? 0 : values[i], w = fabs(v) / span * width;
        double x = v < 0 ? zero - w : zero;
        char num[32];
        fmt_num(num, sizeof num, values[i]);
        tl_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, i * row + 16);
        esc(b, labels[i]);
        tl_buf_printf(b, "</text><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                         "<title>", x, i * row + 4, w, row - 6, color);
        esc(b, labels[i]);
        tl_buf_printf(b, ": %s%s%s</title></rect><text x=\"%.1f\" y=\"%d\">%s%s%s</text>", num,
                      unit && *unit ? " " : "", unit ? unit : "", (v < 0 ? zero : x + w) + 6,
                      i * row + 16, num, unit && *unit ? " " : "", unit ? unit : "");
    }
    tl_buf_printf(b, "</svg></figure>\n");
}

void tl_report_intervals(tl_report_t *r, const char *caption, int n, const char *const *labels,
                         const double *value, const double *lo, const double *hi, const char *unit) {
    const int row = 26, left = 190, width = 520;
    double a = 0, z = 0; /* the axis spans zero and every interval */
    for (int i = 0; i < n; i++) {
        if (isfinite(lo[i])) a = fmin(a, lo[i]), z = fmax(z, lo[i]);
        if (isfinite(hi[i])) a = fmin(a, hi[i]), z = fmax(z, hi[i]);
        if (isfinite(value[i])) a = fmin(a, value[i]), z = fmax(z, value[i]);
    }
    double span = z - a > 0 ? z - a : 1;
#define IX(v) (left + ((v) - a) / span * width)
    tl_buf_t *b = &r->b;
    tl_buf_printf(b, "<figure><figcaption>");
    esc(b, caption);
    tl_buf_printf(b, "</figcaption><svg width=\"%d\" height=\"%d\" role=\"img\">", left + width + 220,
                  n * row + 8);
    const char *color = PALETTE[r->nchart++ % 8];
    tl_buf_printf(b, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>", IX(0.0),
                  IX(0.0), n * row + 8);
    for (int i = 0; i < n; i++) {
        int y = i * row + row / 2 + 2;
        char v[32], l[32], h[32];
        fmt_num(v, sizeof v, value[i]), fmt_num(l, sizeof l, lo[i]), fmt_num(h, sizeof h, hi[i]);
        tl_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, y + 5);
        esc(b, labels[i]);
        tl_buf_printf(b, "</text>");
        if (isfinite(lo[i]) && isfinite(hi[i]))
            tl_buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
                             "stroke-width=\"3\"/><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                             "stroke=\"%s\"/><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>",
                          IX(lo[i]), y, IX(hi[i]), y, color, IX(lo[i]), y - 6, IX(lo[i]), y + 6, color,
                          IX(hi[i]), y - 6, IX(hi[i]), y + 6, color);
        if (isfinite(value[i])) {
            tl_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%d\" r=\"5\" fill=\"%s\"><title>", IX(value[i]), y, color);
            esc(b, labels[i]);
            tl_buf_printf(b, ": %s [%s, %s]%s%s</title></circle>", v, l, h, unit && *unit ? " " : "",
                          unit ? unit : "");
        }
        tl_buf_printf(b, "<text x=\"%d\" y=\"%d\">%s [%s, %s]%s%s</text>", left + width + 12, y + 5, v, l,
                      h, unit && *unit ? " " : "", unit ? unit : "");
    }
#undef IX
    tl_buf_printf(b, "</svg></figure>\n");
}

void tl_report_lines(tl_report_t *r, const char *caption, int n, const double *x, int nseries,
                     const double *y, const char *const *names, const char *xlabel) {
    const int left = 56, top = 14, width = 620, height = 240;
    double x0 = INFINITY, x1 = -INFINITY, y0 = 0, y1 = -INFINITY;
    for (int i = 0; i < n; i++) x0 = fmin(x0, x[i]), x1 = fmax(x1, x[i]);
    for (int i = 0; i < n * nseries; i++)
        if (!isnan(y[i])) y0 = fmin(y0, y[i]), y1 = fmax(y1, y[i]);
    if (!(x1 > x0)) x1 = x0 + 1;
    if (!(y1 > y0)) y1 = y0 + 1;
    tl_buf_t *b = &r->b;
    tl_buf_printf(b, "<figure><figcaption>");
    esc(b, caption);
    tl_buf_printf(b, "</figcaption><svg width=\"%d\" height=\"%d\" role=\"img\">", left + width + 250,
                  top + height + 40);
    /* axes with their ends labelled */
    char a[32], c[32];
    tl_buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>"
                     "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>",
                  left, top + height, left + width, top + height, left, top, left, top + height);
    fmt_num(a, sizeof a, x0), fmt_num(c, sizeof c, x1);
    tl_buf_printf(b, "<text x=\"%d\" y=\"%d\">%s</text><text x=\"%d\" y=\"%d\" "
                     "text-anchor=\"end\">%s</text><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
                  left, top + height + 16, a, left + width, top + height + 16, c, left + width / 2,
                  top + height + 32);
    esc(b, xlabel);
    fmt_num(a, sizeof a, y0), fmt_num(c, sizeof c, y1);
    tl_buf_printf(b, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>"
                     "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>",
                  left - 6, top + height, a, left - 6, top + 10, c);
    for (int s = 0; s < nseries; s++) {
        const char *color = PALETTE[(r->nchart + s) % 8];
        tl_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
        for (int i = 0; i < n; i++) {
            double v = y[(size_t)s * n + i];
            if (isnan(v)) continue;
            tl_buf_printf(b, "%.1f,%.1f ", left + (x[i] - x0) / (x1 - x0) * width,
                          top + height - (v - y0) / (y1 - y0) * height);
        }
        tl_buf_printf(b, "\"/><rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                         "<text x=\"%d\" y=\"%d\">", left + width + 14, top + s * 20, color,
                      left + width + 32, top + s * 20 + 11);
        esc(b, names[s]);
        tl_buf_printf(b, "</text>");
    }
    r->nchart += nseries;
    tl_buf_printf(b, "</svg></figure>\n");
}

void tl_report_heatmap(tl_report_t *r, const char *caption, int rows, int cols,
                       const char *const *row_labels, const char *const *col_labels,
                       const double *values) {
    const int cell = 64, left = 60, top = 24;
    double max = 0;
    for (int i = 0; i < rows * cols; i++)
        if (values[i] > max) max = values[i];
    tl_buf_t *b = &r->b;
    tl_buf_printf(b, "<figure><figcaption>");
    esc(b, caption);
    tl_buf_printf(b, "</figcaption><svg width=\"%d\" height=\"%d\" role=\"img\">",
                  left + cols * cell + 10, top + rows * cell + 10);
    for (int c = 0; c < cols; c++) {
        tl_buf_printf(b, "<text x=\"%d\" y=\"16\" text-anchor=\"middle\">", left + c * cell + cell / 2);
        esc(b, col_labels[c]);
        tl_buf_printf(b, "</text>");
    }
    for (int i = 0; i < rows; i++) {
        tl_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8,
                      top + i * cell + cell / 2 + 4);
        esc(b, row_labels[i]);
        tl_buf_printf(b, "</text>");
        for (int c = 0; c < cols; c++) {
            double v = values[i * cols + c], a = max > 0 ? 0.08 + 0.92 * v / max : 0.08;
            char num[32];
            fmt_num(num, sizeof num, v);
            tl_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#2f6f9f\" "
                             "fill-opacity=\"%.3f\" stroke=\"#fff\"/><text x=\"%d\" y=\"%d\" "
                             "text-anchor=\"middle\"%s>%s</text>", left + c * cell, top + i * cell,
                          cell, cell, a, left + c * cell + cell / 2, top + i * cell + cell / 2 + 4,
                          a > 0.55 ? " style=\"fill:#fff\"" : "", num);
        }
    }
    tl_buf_printf(b, "</svg></figure>\n");
}

void tl_report_table(tl_report_t *r, int rows, int cols, const char *const *cells) {
    tl_buf_t *b = &r->b;
    tl_buf_printf(b, "<table>");
    for (int i = 0; i < rows; i++) {
        tl_buf_printf(b, "<tr>");
        for (int c = 0; c < cols; c++) {
            /* numbers line up on the right, words on the left */
            const char *v = cells[i * cols + c];
            int num = v && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'));
            tl_buf_printf(b, i ? (num ? "<td>" : "<td style=\"text-align:left\">") : "<th>");
            esc(b, cells[i * cols + c]);
            tl_buf_printf(b, i ? "</td>" : "</th>");
        }
        tl_buf_printf(b, "</tr>\n");
    }
    tl_buf_printf(b, "</table>\n");
}

int tl_report_write(tl_report_t *r, const char *path, tl_errbuf_t *eb) {
    tl_buf_printf(&r->b, "<p class=\"sub\">Made by tailor.</p>\n</body></html>\n");
    FILE *f = fopen(path, "w");
    int ok = f && fwrite(r->b.data, 1, r->b.len, f) == r->b.len;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        tl_errbuf_set(eb, "%s: cannot write the report", path);
        return TL_EIO;
    }
    return 0;
}
