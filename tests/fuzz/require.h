/*
 * REQUIRE for fuzz targets: a broken promise prints where and aborts, which libFuzzer and the
 * replay driver (tests/fuzz/replay.c) both report as a crash.
 */
#ifndef MMC_FUZZ_REQUIRE_H
#define MMC_FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(condition)                                                                         \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #condition);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif /* MMC_FUZZ_REQUIRE_H */
