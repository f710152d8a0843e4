/* clock.h - injectable clock and Italian legal time.
 *
 * Every event has one time reference (DM 2/11/2005 art. 9): the same instant goes into the Date header,
 * daticert <data> and the CMS signingTime.  Legal time is Europe/Rome, computed here without the TZ
 * database or process-global state (EU rule: summer time from the last Sunday of March 01:00 UTC to the
 * last Sunday of October 01:00 UTC).
 */
#ifndef PEC_CLOCK_H
#define PEC_CLOCK_H

#include <time.h>

struct pec_clock {
    time_t (*now)(void *ctx);
    void *ctx;
};

/* pec_clock_system - the real wall clock */
extern const struct pec_clock pec_clock_system;

/* pec_clock_now - read an injected clock (system clock when clock is NULL) */
time_t pec_clock_now(const struct pec_clock *clock);

/* Italian legal time of one instant, ready to print. */
struct pec_legal_time {
    int year, month, day, hour, min, sec; /* local (Rome) time */
    int offset_min;                        /* +60 or +120 */
    int wday;                              /* 0 = Sunday */
    char giorno[11];                       /* "dd/mm/yyyy" */
    char ora[9];                           /* "hh:mm:ss" */
    char zona[6];                          /* "+0100" / "+0200" */
};

/* pec_legal_time - convert a UTC instant to Rome legal time */
void pec_legal_time(time_t t, struct pec_legal_time *out);

/* pec_rfc5322_date - "Fri, 14 Nov 2014 18:26:32 +0100" in Rome legal time; out needs 40 bytes */
void pec_rfc5322_date(time_t t, char *out, size_t outlen);

/* pec_legal_time_parse - inverse of giorno/ora/zona, for daticert reading; -1 on bad syntax */
int pec_legal_time_parse(const char *giorno, const char *ora, const char *zona, time_t *t_r);

#endif
