/*
 * Tiny check helpers shared by the C harness programs: each CHECK counts a
 * pass or prints the failing expression, and finish() prints the summary
 * line "N passed, N failed" that tests/c_harness.rs looks for.
 */
#ifndef BEOSTAT_HARNESS_H
#define BEOSTAT_HARNESS_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            harness_passed++;                                                    \
        } else {                                                                 \
            harness_failed++;                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                      \
        }                                                                        \
    } while (0)

#define CHECK_LL(actual, expected)                                               \
    do {                                                                         \
        long long a_ = (long long)(actual), e_ = (long long)(expected);          \
        if (a_ == e_) {                                                          \
            harness_passed++;                                                    \
        } else {                                                                 \
            harness_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__,      \
                    __LINE__, #actual, a_, e_);                                  \
        }                                                                        \
    } while (0)

#define CHECK_NEAR(actual, expected)                                             \
    do {                                                                         \
        double a_ = (double)(actual), e_ = (double)(expected);                   \
        if (fabs(a_ - e_) < 1e-5) {                                              \
            harness_passed++;                                                    \
        } else {                                                                 \
            harness_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s is %g, expected %g\n", __FILE__,          \
                    __LINE__, #actual, a_, e_);                                  \
        }                                                                        \
    } while (0)

/* A call that must fail with `err` set to the given errno value. */
#define CHECK_ERRNO(call, failure, expected_errno)                               \
    do {                                                                         \
        errno = 0;                                                               \
        if ((call) == (failure) && errno == (expected_errno)) {                  \
            harness_passed++;                                                    \
        } else {                                                                 \
            harness_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s: expected failure with errno %d, got errno %d (%s)\n", \
                    __FILE__, __LINE__, #call, (expected_errno), errno,          \
                    strerror(errno));                                            \
        }                                                                        \
    } while (0)

static int finish(void)
{
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}

#endif
