/* Timeouts as the runtime's deadlines. The scheduler and the waits take a
 * CLOCK_MONOTONIC time in ns (cxlmu_prim_now); the calls the runtime
 * stands in for take a struct timespec, absolute on a clock or relative.
 * This is the one conversion between them, with its edge cases: tv_nsec
 * out of range, a time already passed, a time too far to hold in 64 bits
 * of ns. Which clocks a call accepts is the call's own contract: the
 * caller checks that. */
#ifndef CXLMU_SRC_DEADLINE_H
#define CXLMU_SRC_DEADLINE_H

#include <time.h>

#include "internal.h"

/* ts as a deadline in *out. absolute: ts is a point in time on clock (any
 * clock clock_gettime reads), else a duration from now (clock unused).
 * Returns
 *   0           *out is the deadline (for a duration of 0: now);
 *   -ETIMEDOUT  an absolute ts at or before now on clock: *out is now, so
 *               a caller that tries once more still has a deadline;
 *   -EINVAL     tv_nsec outside [0, 1e9), a negative duration, or a clock
 *               clock_gettime refuses; *out untouched.
 * A deadline beyond what 64 bits of ns hold is UINT64_MAX (never). A
 * CLOCK_REALTIME deadline is as the clock stood at the call: a caller
 * that must follow a clock step converts again after each wait. */
int cxlmu_deadline(clockid_t clock, const struct timespec *ts, bool absolute, uint64_t *out);

/* ns (a duration or a time) as a struct timespec. */
static inline void cxlmu_ns_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

#endif
