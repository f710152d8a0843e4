/* test_clock.c - Rome legal time: known instants, the 2024 DST edges, RFC 5322 dates, parse round trip. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "pec/clock.h"

#define SPRING_2024 1711846800 /* 2024-03-31 01:00:00 UTC: Rome goes from +0100 to +0200 */
#define AUTUMN_2024 1729990800 /* 2024-10-27 01:00:00 UTC: Rome goes from +0200 to +0100 */

/* expect - pec_legal_time(t) prints as giorno/ora/zona with that offset */
static void expect(time_t t, const char *giorno, const char *ora, const char *zona, int offset_min)
{
    struct pec_legal_time lt;

    pec_legal_time(t, &lt);
    CHECK_STR(lt.giorno, giorno);
    CHECK_STR(lt.ora, ora);
    CHECK_STR(lt.zona, zona);
    CHECK(lt.offset_min == offset_min);
}

/* test_known_instants - the Aruba 2014 receipt time and a summer instant */
static void test_known_instants(void)
{
    struct pec_legal_time lt;

    expect(1415985992, "14/11/2014", "18:26:32", "+0100", 60); /* 2014-11-14T17:26:32Z */
    pec_legal_time(1415985992, &lt);
    CHECK(lt.year == 2014 && lt.month == 11 && lt.day == 14);
    CHECK(lt.hour == 18 && lt.min == 26 && lt.sec == 32);
    CHECK(lt.wday == 5); /* a Friday */
    expect(1721037600, "15/07/2024", "12:00:00", "+0200", 120); /* 2024-07-15T10:00:00Z */
    expect(1348233398, "21/09/2012", "15:16:38", "+0200", 120); /* the Postecom 2012 sample */
    /* Rome reaches midnight and the new year an hour ahead of UTC. */
    expect(1704067199, "01/01/2024", "00:59:59", "+0100", 60); /* 2023-12-31T23:59:59Z */
    expect(1704063599, "31/12/2023", "23:59:59", "+0100", 60); /* 2023-12-31T22:59:59Z */
}

/* test_dst_edges_2024 - one second before, at and after each switch */
static void test_dst_edges_2024(void)
{
    expect(SPRING_2024 - 1, "31/03/2024", "01:59:59", "+0100", 60);
    expect(SPRING_2024, "31/03/2024", "03:00:00", "+0200", 120);
    expect(SPRING_2024 + 1, "31/03/2024", "03:00:01", "+0200", 120);
    expect(AUTUMN_2024 - 1, "27/10/2024", "02:59:59", "+0200", 120);
    expect(AUTUMN_2024, "27/10/2024", "02:00:00", "+0100", 60);
    expect(AUTUMN_2024 + 1, "27/10/2024", "02:00:01", "+0100", 60);
}

/* test_rfc5322 - the Date header form of the same instant */
static void test_rfc5322(void)
{
    char buf[40];

    pec_rfc5322_date(1415985992, buf, sizeof(buf));
    CHECK_STR(buf, "Fri, 14 Nov 2014 18:26:32 +0100");
    pec_rfc5322_date(1721037600, buf, sizeof(buf));
    CHECK_STR(buf, "Mon, 15 Jul 2024 12:00:00 +0200");
}

/* roundtrip - legal time printed and parsed back gives the same instant, also in the repeated
 * autumn hour, which only the zona tells apart */
static void roundtrip(time_t t)
{
    struct pec_legal_time lt;
    time_t back = -1;

    pec_legal_time(t, &lt);
    CHECK(pec_legal_time_parse(lt.giorno, lt.ora, lt.zona, &back) == 0);
    if (back != t)
        fprintf(stderr, "round trip of %lld gave %lld (%s %s %s)\n", (long long)t, (long long)back, lt.giorno,
                lt.ora, lt.zona);
    CHECK(back == t);
}

/* test_parse - round trip over the DST edges and a spread of years, and garbage refused */
static void test_parse(void)
{
    static const char *const bad[][3] = {
        { "", "18:26:32", "+0100" },           { "garbage", "18:26:32", "+0100" },
        { "14/11/2014", "", "+0100" },         { "14/11/2014", "18:26:32", "" },
        { "14-11-2014", "18:26:32", "+0100" }, { "14/13/2014", "18:26:32", "+0100" },
        { "00/11/2014", "18:26:32", "+0100" }, { "32/11/2014", "18:26:32", "+0100" },
        { "14/11/2014", "24:00:00", "+0100" }, { "14/11/2014", "18:60:00", "+0100" },
        { "14/11/2014", "18.26.32", "+0100" }, { "14/11/2014", "18:26:32", "0100" },
        { "14/11/2014", "18:26:32", "*0100" }, { "14/11/2014", "18:26:32", "+01:00" },
        { "14/11/2014x", "18:26:32", "+0100" }, { "14/11/2014", "18:26:32 ", "+0100" },
        { "14/11/2014", "18:26:32", "+0100x" },
        /* signs, blanks and impossible dates that a sscanf-based reader would let through */
        { "14/11/2014", "-1:00:00", "+0100" },  { "14/11/2014", "18:-5:00", "+0100" },
        { "14/11/2014", "18:26:32", "+-100" },  { "14/11/-014", "18:26:32", "+0100" },
        { " 1/ 1/2014", "18:26:32", "+0100" },  { "31/02/2024", "18:26:32", "+0100" },
        { "29/02/2023", "18:26:32", "+0100" },
    };
    time_t t;
    long long s;
    size_t i;

    CHECK(pec_legal_time_parse("14/11/2014", "18:26:32", "+0100", &t) == 0 && t == 1415985992);
    CHECK(pec_legal_time_parse("14/11/2014", "19:26:32", "+0200", &t) == 0 && t == 1415985992);
    CHECK(pec_legal_time_parse("14/11/2014", "17:26:32", "-0000", &t) == 0 && t == 1415985992);
    for (s = -3; s <= 3; s++) {
        roundtrip((time_t)(SPRING_2024 + s));
        roundtrip((time_t)(AUTUMN_2024 + s));
        roundtrip((time_t)(AUTUMN_2024 - 3600 + s)); /* first pass through 02:00 local */
    }
    for (s = 0; s < 366 * 86400LL; s += 3571) /* every ~hour of 2024, a prime step to vary minutes */
        roundtrip((time_t)(1704067200 + s));
    for (s = 946684800; s < 4102444800LL; s += 86400 * 97 + 12345) /* 2000..2100 */
        roundtrip((time_t)s);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t = 12345;
        if (pec_legal_time_parse(bad[i][0], bad[i][1], bad[i][2], &t) != -1)
            fprintf(stderr, "accepted bad time \"%s\" \"%s\" \"%s\"\n", bad[i][0], bad[i][1], bad[i][2]);
        CHECK(pec_legal_time_parse(bad[i][0], bad[i][1], bad[i][2], &t) == -1);
    }
}

/* fixed_now - an injected clock stuck at *ctx */
static time_t fixed_now(void *ctx)
{
    return *(const time_t *)ctx;
}

/* test_clock_now - injection and fallback */
static void test_clock_now(void)
{
    time_t fixed = 1415985992, before = time(NULL);
    struct pec_clock c = { fixed_now, &fixed };

    CHECK(pec_clock_now(&c) == 1415985992);
    CHECK(pec_clock_now(NULL) >= before);
    CHECK(pec_clock_now(&pec_clock_system) >= before);
}

int main(void)
{
    test_known_instants();
    test_dst_edges_2024();
    test_rfc5322();
    test_parse();
    test_clock_now();
    return CHECK_DONE();
}
