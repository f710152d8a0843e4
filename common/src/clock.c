/* clock.c - injectable clock and Europe/Rome legal time without the TZ database. */
#include <stdio.h>
#include <string.h>
#include "pec/clock.h"

/* system_now - the wall clock */
static time_t system_now(void *ctx)
{
    (void)ctx;
    return time(NULL);
}

const struct pec_clock pec_clock_system = { system_now, NULL };

/* pec_clock_now - read an injected clock */
time_t pec_clock_now(const struct pec_clock *clock)
{
    if (clock == NULL || clock->now == NULL)
        return time(NULL);
    return clock->now(clock->ctx);
}

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date */
static long long days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* civil_from_days - inverse of days_from_civil */
static void civil_from_days(long long z, int *y_r, int *m_r, int *d_r)
{
    long long era, doe, yoe, y, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y_r = (int)(y + (*m_r <= 2));
}

/* last_sunday_utc_1am - the instant 01:00 UTC on the last Sunday of month m of year y */
static long long last_sunday_utc_1am(int y, int m)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    long long last = days_from_civil(y, m, mdays[m - 1]);
    long long wday = ((last % 7) + 11) % 7; /* 1970-01-01 was a Thursday (4) */

    return (last - wday) * 86400LL + 3600;
}

/* rome_offset_minutes - +120 during EU summer time, +60 otherwise (rules in force since 1996) */
static int rome_offset_minutes(time_t t)
{
    int y, m, d;

    civil_from_days((long long)t / 86400 - ((long long)t % 86400 < 0), &y, &m, &d);
    if ((long long)t >= last_sunday_utc_1am(y, 3) && (long long)t < last_sunday_utc_1am(y, 10))
        return 120;
    return 60;
}

/* pec_legal_time - convert a UTC instant to Rome legal time */
void pec_legal_time(time_t t, struct pec_legal_time *out)
{
    long long local, days, secs;

    memset(out, 0, sizeof(*out));
    out->offset_min = rome_offset_minutes(t);
    local = (long long)t + out->offset_min * 60LL;
    days = local / 86400 - (local % 86400 < 0);
    secs = local - days * 86400;
    civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(secs / 3600);
    out->min = (int)(secs / 60 % 60);
    out->sec = (int)(secs % 60);
    out->wday = (int)(((days % 7) + 11) % 7);
    snprintf(out->giorno, sizeof(out->giorno), "%02u/%02u/%04u", (unsigned)out->day % 100u,
             (unsigned)out->month % 100u, (unsigned)out->year % 10000u);
    snprintf(out->ora, sizeof(out->ora), "%02u:%02u:%02u", (unsigned)out->hour % 100u, (unsigned)out->min % 100u,
             (unsigned)out->sec % 100u);
    snprintf(out->zona, sizeof(out->zona), "+%02u%02u", (unsigned)out->offset_min / 60u % 100u,
             (unsigned)out->offset_min % 60u);
}

/* pec_rfc5322_date - RFC 5322 date in Rome legal time */
void pec_rfc5322_date(time_t t, char *out, size_t outlen)
{
    static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const mn[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct pec_legal_time lt;

    pec_legal_time(t, &lt);
    snprintf(out, outlen, "%s, %d %s %04d %s %s", wd[lt.wday], lt.day, mn[lt.month - 1], lt.year, lt.ora,
             lt.zona);
}

/* digits - n decimal digits at s, value to *v; 0 when s does not start with exactly that */
static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* pec_legal_time_parse - giorno "dd/mm/yyyy", ora "hh:mm:ss", zona "+hhmm" back to an instant */
int pec_legal_time_parse(const char *giorno, const char *ora, const char *zona, time_t *t_r)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int d, m, y, hh, mm, ss, zh, zm, leap;

    if (strlen(giorno) != 10 || giorno[2] != '/' || giorno[5] != '/' || !digits(giorno, 2, &d) ||
        !digits(giorno + 3, 2, &m) || !digits(giorno + 6, 4, &y))
        return -1;
    if (strlen(ora) != 8 || ora[2] != ':' || ora[5] != ':' || !digits(ora, 2, &hh) || !digits(ora + 3, 2, &mm) ||
        !digits(ora + 6, 2, &ss))
        return -1;
    if (strlen(zona) != 5 || (zona[0] != '+' && zona[0] != '-') || !digits(zona + 1, 2, &zh) ||
        !digits(zona + 3, 2, &zm))
        return -1;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap) || hh > 23 || mm > 59 ||
        ss > 59 || zh > 14 || zm > 59)
        return -1;
    *t_r = (time_t)(days_from_civil(y, m, d) * 86400LL + hh * 3600 + mm * 60 + ss -
                    (zona[0] == '-' ? -1 : 1) * (zh * 3600 + zm * 60));
    return 0;
}
