/* time.c -- timestamps as milliseconds since the Unix epoch, UTC.
 *
 * Inputs come in many shapes (ISO-8601 with or without zone, Unix seconds,
 * Unix milliseconds); inside tailor every instant is an int64 of ms. The
 * civil-date arithmetic is Howard Hinnant's days_from_civil, exact over the
 * whole proleptic Gregorian calendar and free of the C library's locale and
 * time-zone state. */
#include "core.h"

#include <sys/time.h>
#include <time.h>

int64_t tl_time_days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int y, unsigned m) {
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Reads exactly k digits at s[*i]. */
static int digits(const char *s, size_t n, size_t *i, int k, int *out) {
    int v = 0;
    for (int j = 0; j < k; j++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9') return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

static int parse_iso(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    int y, mo, d, hh = 0, mi = 0, ss = 0, ms = 0;
    if (digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-') return TL_EBADINPUT;
    if (digits(s, n, &i, 2, &mo) || i >= n || s[i++] != '-') return TL_EBADINPUT;
    if (digits(s, n, &i, 2, &d)) return TL_EBADINPUT;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
        return TL_EBADINPUT;
    int64_t tz_ms = 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != ' ' && s[i] != 't') return TL_EBADINPUT;
        i++;
        if (digits(s, n, &i, 2, &hh) || i >= n || s[i++] != ':') return TL_EBADINPUT;
        if (digits(s, n, &i, 2, &mi)) return TL_EBADINPUT;
        if (i < n && s[i] == ':') {
            i++;
            if (digits(s, n, &i, 2, &ss)) return TL_EBADINPUT;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                i++;
                int k = 0;
                ms = 0;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    if (k < 3) ms = ms * 10 + (s[i] - '0');
                    k++;
                    i++;
                }
                if (k == 0) return TL_EBADINPUT;
                for (; k < 3; k++) ms *= 10;
            }
        }
        if (hh > 23 || mi > 59 || ss > 60) return TL_EBADINPUT;
        if (i < n) {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i++] == '-' ? -1 : 1, th, tm = 0;
                if (digits(s, n, &i, 2, &th)) return TL_EBADINPUT;
                if (i < n && s[i] == ':') i++;
                if (i < n && digits(s, n, &i, 2, &tm)) return TL_EBADINPUT;
                if (th > 14 || tm > 59) return TL_EBADINPUT;
                tz_ms = sign * ((int64_t)th * 3600 + tm * 60) * 1000;
            }
        }
        if (i != n) return TL_EBADINPUT;
    }
    int64_t days = tl_time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = days * TL_MS_PER_DAY + ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + ms - tz_ms;
    return 0;
}

int tl_time_parse(const char *s, size_t n, int64_t *out_ms) {
    if (n == 0 || n > 40) return TL_EBADINPUT;
    if (n >= 10 && s[4] == '-') return parse_iso(s, n, out_ms);
    /* Unix time: integer seconds or ms, or decimal seconds. */
    size_t i = 0, ndig = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    int64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ndig++) {
        if (ndig >= 14) return TL_EBADINPUT; /* a 15th digit */
        v = v * 10 + (s[i] - '0');
    }
    if (ndig == 0) return TL_EBADINPUT;
    if (i == n) {
        if (ndig >= 12) {
            *out_ms = neg ? -v : v;
        } else {
            *out_ms = (neg ? -v : v) * 1000;
        }
        return 0;
    }
    if (s[i] != '.' || ndig > 11) return TL_EBADINPUT;
    i++;
    int64_t frac = 0;
    int k = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++)
        if (k < 3) frac = frac * 10 + (s[i] - '0');
    if (i != n || k == 0) return TL_EBADINPUT;
    for (int j = k; j < 3; j++) frac *= 10;
    int64_t ms = v * 1000 + frac;
    *out_ms = neg ? -ms : ms;
    return 0;
}

void tl_time_format(int64_t ms, char out[32]) {
    int64_t days = ms >= 0 ? ms / TL_MS_PER_DAY : -((-ms + TL_MS_PER_DAY - 1) / TL_MS_PER_DAY);
    int64_t rem = (ms - days * TL_MS_PER_DAY) / 1000;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned hh = (unsigned)(rem / 3600) % 24, mi = (unsigned)(rem / 60 % 60),
             ss = (unsigned)(rem % 60);
    if (y < -9999 || y > 9999) y = y < 0 ? -9999 : 9999;
    snprintf(out, 32, "%04d-%02u-%02uT%02u:%02u:%02uZ", y, m % 100, d % 100, hh, mi, ss);
}

int64_t tl_time_now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int64_t tl_time_mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
