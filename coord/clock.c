/* Clock readings; see clock.h for why CLOCK_BOOTTIME. */
#include <time.h>

#include "coord/clock.h"

static uint64_t read_clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t clock_boottime_us(void)
{
    return read_clock_us(CLOCK_BOOTTIME);
}

uint64_t clock_boottime_ms(void)
{
    return read_clock_us(CLOCK_BOOTTIME) / 1000u;
}

uint64_t clock_wall_ms(void)
{
    return read_clock_us(CLOCK_REALTIME) / 1000u;
}
