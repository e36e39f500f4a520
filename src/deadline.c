/* Timeouts as the runtime's CLOCK_MONOTONIC deadlines (src/deadline.h):
 * the main function is cxlmu_deadline. */
#include <errno.h>
#include <time.h>

#include "deadline.h"
#include "prim.h"

#define NS 1000000000L

int cxlmu_deadline(clockid_t clock, const struct timespec *ts, bool absolute, uint64_t *out)
{
	struct timespec now;
	uint64_t base, left;
	int64_t sec;
	long nsec;

	if (ts->tv_nsec < 0 || ts->tv_nsec >= NS)
		return -EINVAL;
	if (absolute) {
		/* The caller's clock first, then ours: the time between the
		 * two reads counts as spent. */
		if (clock_gettime(clock, &now))
			return -EINVAL;
		base = cxlmu_prim_now();
		if (__builtin_sub_overflow((int64_t)ts->tv_sec, (int64_t)now.tv_sec, &sec))
			sec = ts->tv_sec < 0 ? INT64_MIN : INT64_MAX;
		nsec = ts->tv_nsec - now.tv_nsec;      /* in (-1e9, 1e9) */
		if (sec < 0 || (sec == 0 && nsec <= 0)) {
			*out = base;
			return -ETIMEDOUT;
		}
		if (nsec < 0) {                         /* sec >= 1 here */
			sec--;
			nsec += NS;
		}
	} else {
		if (ts->tv_sec < 0)
			return -EINVAL;
		base = cxlmu_prim_now();
		sec = ts->tv_sec;
		nsec = ts->tv_nsec;
	}
	if (__builtin_mul_overflow((uint64_t)sec, (uint64_t)NS, &left) ||
	    __builtin_add_overflow(left, (uint64_t)nsec, &left) ||
	    __builtin_add_overflow(left, base, out))
		*out = UINT64_MAX;
	return 0;
}
