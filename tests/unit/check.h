/* check.h - minimal assertions for the unit tests: count failures, print where, exit non-zero. */
#ifndef PEC_TEST_CHECK_H
#define PEC_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                 \
    do {                                                                                            \
        check_count++;                                                                              \
        if (!(cond)) {                                                                              \
            check_failures++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                \
        }                                                                                           \
    } while (0)

#define CHECK_STR(a, b)                                                                             \
    do {                                                                                            \
        const char *check_a_ = (a), *check_b_ = (b);                                                \
        check_count++;                                                                              \
        if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) {              \
            check_failures++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s = \"%s\", expected \"%s\"\n", __FILE__,    \
                    __LINE__, #a, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");  \
        }                                                                                           \
    } while (0)

/* CHECK_DONE - print the tally and give main's return value */
#define CHECK_DONE()                                                                                \
    (printf("%d checks, %d failed\n", check_count, check_failures), check_failures ? 1 : 0)

#endif
