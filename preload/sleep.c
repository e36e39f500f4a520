/* The sleeping and yielding calls: usleep, nanosleep, clock_nanosleep,
 * sleep, thrd_sleep, sched_yield, pthread_yield, thrd_yield, and poll,
 * ppoll, select, pselect called with no descriptors. Each turns its
 * arguments into a duration and asks src/wait.c whether the call is a
 * poll; a poll waits in the runtime, anything else goes to libc's own
 * function, so its exact meaning (EINTR and the time left, TIMER_ABSTIME,
 * cancellation, errno) is libc's. glibc's usleep and sleep call its
 * internal nanosleep, which no hook sees: every entry point has its own.
 * With descriptors, poll, ppoll, select and pselect are libc's, and a
 * fiber's zero-timeout check that found none ready yields
 * (cxlmu_sync_none_ready). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/select.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "libc.h"
#include "prim.h"
#include "runtime.h"
#include "sched_thread.h"
#include "sched_wait.h"
#include "scheduler.h"
#include "sync.h"
#include "wait.h"

#define SITE __builtin_return_address(0)

/* A sleep is where a thread moves to where it now belongs
 * (cxlmu_sched_settle); then the fiber, if it may switch. */
static inline struct cxlmu_uthread *fiber_at_sleep(void)
{
	if (likely(!cxlmu_sched_on))
		return NULL;
	cxlmu_sched_settle();
	return cxlmu_sched_fiber();
}

/* Off until the runtime runs with --sched other than off. */
static inline bool on(void)
{
	if (likely(cxlmu_wait_on))
		return true;
	cxlmu_runtime_ensure();
	return cxlmu_wait_on;
}

/* Seconds and nanoseconds in ns, capped: long sleeps are never polls. */
static uint64_t dur_ns(time_t sec, uint64_t nsec)
{
	return sec >= INT32_MAX ? (uint64_t)INT32_MAX * 1000000000u
		: (uint64_t)sec * 1000000000u + nsec;
}

/* A duration libc would accept, in ns. */
static bool ts_ns(const struct timespec *ts, uint64_t *ns)
{
	if (!ts || ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return false;
	*ns = dur_ns(ts->tv_sec, (uint64_t)ts->tv_nsec);
	return true;
}

/* A poll's wait, a cancellation point like the call it stands for: it is
 * short (at most a millisecond and the timer slack), so a cancellation
 * pending at entry or arriving during it acts when it ends, within the
 * call. 0, or -EINTR with *left. */
static int poll_wait(struct cxlmu_idle *idle, uint64_t *left)
{
	int r;

	if (!idle->w) {
		/* A fiber's, done in nothing_begin. */
		if (!idle->poll)
			return 0;
		*left = idle->asked;
		return -EINTR;
	}
	r = cxlmu_wait_poll(idle, left);
	cxlmu_wait_end(idle);
	pthread_testcancel();
	return r;
}

/* The end of an idle point passed on to libc, which has set errno. */
static void end(struct cxlmu_idle *idle)
{
	int saved = errno;

	cxlmu_wait_end(idle);
	errno = saved;
}

cxlmu_export int nanosleep(const struct timespec *req, struct timespec *rem)
{
	struct cxlmu_idle idle;
	uint64_t ns, left;
	int r;

	if (!on() || !ts_ns(req, &ns))
		return __nanosleep(req, rem);
	if (fiber_at_sleep()) {
		if (!cxlmu_sync_sleep(ns, SITE, &left))
			return 0;
		if (rem)
			cxlmu_ns_timespec(left, rem);
		errno = EINTR;
		return -1;
	}
	if (cxlmu_wait_begin(&idle, CXLMU_IDLE_SLEEP, ns, SITE)) {
		if (!poll_wait(&idle, &left))
			return 0;
		if (rem)
			cxlmu_ns_timespec(left, rem);
		errno = EINTR;
		return -1;
	}
	r = __nanosleep(req, rem);
	end(&idle);
	return r;
}

static bool clock_handled(clockid_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME;
}

cxlmu_export int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
				 struct timespec *rem)
{
	struct cxlmu_idle idle;
	struct timespec now;
	uint64_t ns, left;
	int r;

	if (!on() || !clock_handled(clock) || (flags & ~TIMER_ABSTIME) || !ts_ns(req, &ns))
		return CXLMU_LIBC(clock_nanosleep)(clock, flags, req, rem);
	if (fiber_at_sleep()) {
		if (flags & TIMER_ABSTIME)
			return cxlmu_sync_sleep_abs(clock, req, &left) ? EINTR : 0;
		if (!cxlmu_sync_sleep(ns, SITE, &left))
			return 0;
		if (rem)
			cxlmu_ns_timespec(left, rem);
		return EINTR;
	}
	if (flags & TIMER_ABSTIME) {
		/* A point in time, not a re-check: never a poll. */
		uint64_t at = ns, t = 0;
		clock_gettime(clock, &now);
		ts_ns(&now, &t);
		cxlmu_wait_begin(&idle, CXLMU_IDLE_ABSOLUTE, at > t ? at - t : 0, SITE);
	} else if (cxlmu_wait_begin(&idle, CXLMU_IDLE_SLEEP, ns, SITE)) {
		/* Relative on any of the three clocks: a poll is far shorter than
		 * anything that tells them apart. */
		if (!poll_wait(&idle, &left))
			return 0;
		if (rem)
			cxlmu_ns_timespec(left, rem);
		return EINTR;
	}
	r = CXLMU_LIBC(clock_nanosleep)(clock, flags, req, rem);
	end(&idle);
	return r;
}

cxlmu_export int usleep(useconds_t us)
{
	struct cxlmu_idle idle;
	uint64_t left;
	int r;

	if (!on())
		return CXLMU_LIBC(usleep)(us);
	if (fiber_at_sleep()) {
		if (!cxlmu_sync_sleep((uint64_t)us * 1000u, SITE, &left))
			return 0;
		errno = EINTR;
		return -1;
	}
	if (cxlmu_wait_begin(&idle, CXLMU_IDLE_SLEEP, (uint64_t)us * 1000u, SITE)) {
		if (!poll_wait(&idle, &left))
			return 0;
		errno = EINTR;
		return -1;
	}
	r = CXLMU_LIBC(usleep)(us);
	end(&idle);
	return r;
}

cxlmu_export unsigned sleep(unsigned seconds)
{
	struct cxlmu_idle idle;
	uint64_t left;
	unsigned r;

	if (!on())
		return CXLMU_LIBC(sleep)(seconds);
	if (fiber_at_sleep()) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += seconds;
		/* The seconds not slept, rounded as glibc's sleep rounds them. */
		if (!cxlmu_sync_sleep_abs(CLOCK_MONOTONIC, &until, &left))
			return 0;
		return (unsigned)(left / 1000000000u + (left % 1000000000u >= 500000000u));
	}
	cxlmu_wait_begin(&idle, CXLMU_IDLE_ABSOLUTE, (uint64_t)seconds * 1000000000u, SITE);
	r = CXLMU_LIBC(sleep)(seconds);
	end(&idle);
	return r;
}

cxlmu_export int thrd_sleep(const struct timespec *dur, struct timespec *rem)
{
	struct cxlmu_idle idle;
	uint64_t ns, left;
	int r;

	if (!on() || !ts_ns(dur, &ns))
		return CXLMU_LIBC(thrd_sleep)(dur, rem);
	if (fiber_at_sleep()) {
		if (!cxlmu_sync_sleep(ns, SITE, &left))
			return 0;
		if (rem)
			cxlmu_ns_timespec(left, rem);
		return -1;
	}
	if (cxlmu_wait_begin(&idle, CXLMU_IDLE_SLEEP, ns, SITE)) {
		if (!poll_wait(&idle, &left))
			return 0;
		if (rem)
			cxlmu_ns_timespec(left, rem);
		return -1;
	}
	r = CXLMU_LIBC(thrd_sleep)(dur, rem);
	end(&idle);
	return r;
}

/* ----------------------------------------------------------------------- */
/* Yields                                                                    */
/* ----------------------------------------------------------------------- */

static int yield(void)
{
	struct cxlmu_idle idle;
	int r;

	if (!on())
		return __sched_yield();
	if (cxlmu_sched_fiber()) {
		cxlmu_sched_yield();
		return 0;
	}
	cxlmu_wait_begin(&idle, CXLMU_IDLE_YIELD, 0, NULL);
	r = __sched_yield();
	end(&idle);
	return r;
}

cxlmu_export int sched_yield(void)
{
	return yield();
}

/* Only old binaries bind it (glibc keeps it as a compatibility symbol);
 * an unversioned definition serves their pthread_yield@GLIBC_2.2.5.
 * glibc's pthread.h redirects the name to sched_yield, hence the label. */
cxlmu_export int cxlmu_pthread_yield(void) __asm__("pthread_yield");
cxlmu_export int cxlmu_pthread_yield(void)
{
	return yield();
}

cxlmu_export void thrd_yield(void)
{
	yield();
}

/* ----------------------------------------------------------------------- */
/* poll, ppoll, select, pselect with no descriptors                          */
/* ----------------------------------------------------------------------- */

/* A timed wait on nothing: begin an idle point for ns. A zero timeout
 * returns at once in the kernel too: an idle point that does not sleep. */
static bool nothing_begin(struct cxlmu_idle *idle, uint64_t ns, const void *site)
{
	if (cxlmu_sched_fiber()) {
		/* A fiber's: the core's other fibers run meanwhile. Cut short
		 * by a signal handler: poll is true, asked the time left. */
		idle->w = NULL;
		idle->poll = false;
		if (ns)
			idle->poll = cxlmu_sync_sleep(ns, site, &idle->asked) != 0;
		else
			cxlmu_sched_yield();
		return true;
	}
	if (!ns) {
		cxlmu_wait_begin(idle, CXLMU_IDLE_YIELD, 0, NULL);
		return false;
	}
	return cxlmu_wait_begin(idle, CXLMU_IDLE_SLEEP, ns, site);
}

cxlmu_export int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct cxlmu_idle idle;
	uint64_t left;
	int r;

	if (nfds || timeout < 0 || !on())
		return cxlmu_sync_none_ready(__poll(fds, nfds, timeout), timeout == 0);
	if (nothing_begin(&idle, (uint64_t)timeout * 1000000u, SITE)) {
		if (!poll_wait(&idle, &left))
			return 0;
		errno = EINTR;
		return -1;
	}
	r = __poll(fds, nfds, timeout);
	end(&idle);
	return r;
}

cxlmu_export int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
		       const sigset_t *sigmask)
{
	struct cxlmu_idle idle;
	uint64_t ns, left;
	bool zero;
	int r;

	/* With a signal mask the wait must run under it: libc's business,
	 * on the thread's own kernel thread (signals kept for a fiber are
	 * not on its host). */
	if (sigmask && cxlmu_sched_fiber())
		cxlmu_sched_unfiber(CXLMU_WHY_SIGWAIT);
	if (nfds || sigmask || !on() || !ts_ns(ts, &ns)) {
		zero = ts && !ts->tv_sec && !ts->tv_nsec;
		return cxlmu_sync_none_ready(CXLMU_LIBC(ppoll)(fds, nfds, ts, sigmask), zero);
	}
	if (nothing_begin(&idle, ns, SITE)) {
		if (!poll_wait(&idle, &left))
			return 0;
		errno = EINTR;
		return -1;
	}
	r = CXLMU_LIBC(ppoll)(fds, nfds, ts, sigmask);
	end(&idle);
	return r;
}

static bool no_sets(int nfds, fd_set *r, fd_set *w, fd_set *e)
{
	return nfds == 0 || (!r && !w && !e);
}

static bool tv_ns(const struct timeval *tv, uint64_t *ns)
{
	if (!tv || tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
		return false;
	*ns = dur_ns(tv->tv_sec, (uint64_t)tv->tv_usec * 1000u);
	return true;
}

cxlmu_export int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	struct cxlmu_idle idle;
	uint64_t ns, left;
	bool zero;
	int r;

	if (nfds < 0 || !no_sets(nfds, rd, wr, ex) || !on() || !tv_ns(tv, &ns)) {
		/* Before the call: Linux writes the time left into *tv. */
		zero = tv && !tv->tv_sec && !tv->tv_usec;
		return cxlmu_sync_none_ready(__select(nfds, rd, wr, ex, tv), zero);
	}
	if (nothing_begin(&idle, ns, SITE)) {
		r = poll_wait(&idle, &left);
		/* Linux's select leaves the time not slept in the timeout. */
		tv->tv_sec = (time_t)(r ? left / 1000000000u : 0);
		tv->tv_usec = (suseconds_t)(r ? left % 1000000000u / 1000u : 0);
		if (!r)
			return 0;
		errno = EINTR;
		return -1;
	}
	r = __select(nfds, rd, wr, ex, tv);
	end(&idle);
	return r;
}

cxlmu_export int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
			 const struct timespec *ts, const sigset_t *sigmask)
{
	struct cxlmu_idle idle;
	uint64_t ns, left;
	bool zero;
	int r;

	if (sigmask && cxlmu_sched_fiber())
		cxlmu_sched_unfiber(CXLMU_WHY_SIGWAIT);
	if (nfds < 0 || sigmask || !no_sets(nfds, rd, wr, ex) || !on() || !ts_ns(ts, &ns)) {
		zero = ts && !ts->tv_sec && !ts->tv_nsec;
		return cxlmu_sync_none_ready(CXLMU_LIBC(pselect)(nfds, rd, wr, ex, ts, sigmask),
					      zero);
	}
	if (nothing_begin(&idle, ns, SITE)) {
		if (!poll_wait(&idle, &left))
			return 0;
		errno = EINTR;
		return -1;
	}
	r = CXLMU_LIBC(pselect)(nfds, rd, wr, ex, ts, sigmask);
	end(&idle);
	return r;
}
