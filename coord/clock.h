/*
 * The one place the daemon reads a clock. All durations use CLOCK_BOOTTIME: monotonic, and it
 * keeps counting across a suspend, so a host that slept for a while sees its lease as expired
 * rather than still valid. Pure logic never calls this: it takes the time as an argument.
 */
#ifndef MMC_CLOCK_H
#define MMC_CLOCK_H

#include <stdint.h>

/* Milliseconds since boot (CLOCK_BOOTTIME). */
uint64_t clock_boottime_ms(void);

/* Microseconds since boot (CLOCK_BOOTTIME), for measurements finer than a millisecond. */
uint64_t clock_boottime_us(void);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for display and history only, never
 * for a duration. */
uint64_t clock_wall_ms(void);

#endif /* MMC_CLOCK_H */
