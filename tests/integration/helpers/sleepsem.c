/* The sleeping and yielding calls keep their POSIX meaning whether or not
 * the runtime intercepts them. Run as `sleepsem pre|plain MODE`:
 *   short   every entry point, several durations from distinct call sites
 *           and the 1st and 2nd call of a repeated site, sleeps over 1 ms
 *           repeated, sites taking turns: never shorter than asked, 0 back,
 *           errno untouched; the yields return 0 with errno untouched
 *   eintr   a SIGALRM handler interrupts 200 ms sleeps: -1/EINTR (or the
 *           error number from clock_nanosleep, or the unslept seconds from
 *           sleep), rem positive and below what was asked; infinite
 *           no-descriptor waits; ppoll/pselect apply their signal mask
 *   abstime TIMER_ABSTIME on MONOTONIC, REALTIME, BOOTTIME returns at or
 *           after the target, also repeated from one site
 *   cancel  threads in long sleeps and in a usleep(1) poll loop are
 *           cancelled and join with PTHREAD_CANCELED within 2 s
 *   einval  bad timespecs give EINVAL, also repeated from one site
 *   clocks  clocks the runtime leaves to libc: prints what each call gave,
 *           for the script to compare plain and preloaded runs
 *   fds     poll, ppoll, select, pselect with real descriptors (a pipe)
 *   count   one of each sleep and yield, then prints
 *           "sleeps=S yields=Y asked_ns=A": what the program did, for the
 *           script to compare with the stats report
 *   sites   short sleeps from one helper function, single-threaded: sizes
 *           ten times apart (no poll), a doubling back-off and a run of
 *           equal sleeps (polls from the third on); prints "polls=P", the
 *           polls that rule makes, for the script to compare
 * Except in count, a background thread works and sleeps and yields all
 * along, so a runtime that wrongly ends sleeps on progress would show it. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/time.h>
#include <threads.h>

#include "common.h"
#include "sleep.h"

#define SENTINEL 12345

/* ----------------------------------------------------------------------- */
/* Background progress                                                       */
/* ----------------------------------------------------------------------- */

static atomic_bool bg_stop;
static _Atomic unsigned long bg_rounds;
static pthread_t bg;

/* Work, then yield and poll: each time it reaches a sleep or yield after
 * working, the runtime may wake pollers. Signals go to main, not here. */
static void *progress(void *arg)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&bg_stop)) {
		t_spin_cpu(20 * T_US);
		sched_yield();
		t_spin_cpu(20 * T_US);
		for (int i = 0; i < 4; i++)
			usleep(1);
		atomic_fetch_add(&bg_rounds, 1);
	}
	return NULL;
}

static void bg_start(void)
{
	T_CHECK(!pthread_create(&bg, NULL, progress, NULL), "pthread_create");
	while (atomic_load(&bg_rounds) < 3)
		sched_yield();
}

static void bg_end(void)
{
	atomic_store(&bg_stop, true);
	pthread_join(bg, NULL);
}

/* ----------------------------------------------------------------------- */
/* short: never shorter than asked                                           */
/* ----------------------------------------------------------------------- */

/* One call at its own call site: 0 back, at least ns later, errno kept. */
#define SLEEPS(what, ns, call)							\
	do {									\
		long long t0_ = t_now();					\
		errno = SENTINEL;						\
		long rc_ = (long)(call);					\
		int e_ = errno;							\
		long long d_ = t_now() - t0_;					\
		T_CHECK(rc_ == 0, "%s(%lld ns): returned %ld, errno %d", what,	\
			(long long)(ns), rc_, e_);				\
		T_CHECK(d_ >= (ns), "%s(%lld ns): returned after %lld ns",	\
			what, (long long)(ns), d_);				\
		T_CHECK(e_ == SENTINEL, "%s(%lld ns): errno set to %d on success", \
			what, (long long)(ns), e_);				\
	} while (0)

#define TV(ns) (&(struct timeval){ (time_t)((ns) / T_S), (suseconds_t)((ns) % T_S / 1000) })

/* Each entry point reps times in a row from one call site; ns is a whole
 * number of microseconds. Every expansion makes new call sites. */
#define ALL_SLEEPS(ns, reps)							\
	do {									\
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("usleep", ns, usleep((ns) / 1000));		\
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("nanosleep", ns, nanosleep(T_TS(ns), NULL));	\
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("clock_nanosleep(REALTIME)", ns,		\
			       clock_nanosleep(CLOCK_REALTIME, 0, T_TS(ns), NULL)); \
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("clock_nanosleep(MONOTONIC)", ns,		\
			       clock_nanosleep(CLOCK_MONOTONIC, 0, T_TS(ns), NULL)); \
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("clock_nanosleep(BOOTTIME)", ns,		\
			       clock_nanosleep(CLOCK_BOOTTIME, 0, T_TS(ns), NULL)); \
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("thrd_sleep", ns, thrd_sleep(T_TS(ns), NULL));	\
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("select", ns, select(0, NULL, NULL, NULL, TV(ns))); \
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("pselect", ns, pselect(0, NULL, NULL, NULL, T_TS(ns), NULL)); \
		for (int k_ = 0; k_ < (reps); k_++)				\
			SLEEPS("ppoll", ns, ppoll(NULL, 0, T_TS(ns), NULL));	\
		if ((ns) % T_MS == 0)						\
			for (int k_ = 0; k_ < (reps); k_++)			\
				SLEEPS("poll", ns, poll(NULL, 0, (int)((ns) / T_MS))); \
	} while (0)

static int (*pthread_yield_fn)(void);

static void find_pthread_yield(void)
{
	/* A compat symbol since glibc 2.34: dlsym may not see it unversioned. */
	pthread_yield_fn = (int (*)(void))dlsym(RTLD_DEFAULT, "pthread_yield");
	if (!pthread_yield_fn)
		pthread_yield_fn = (int (*)(void))dlvsym(RTLD_DEFAULT, "pthread_yield", "GLIBC_2.2.5");
	if (!pthread_yield_fn)
		pthread_yield_fn = (int (*)(void))dlvsym(RTLD_DEFAULT, "pthread_yield", "GLIBC_2.17");
	T_CHECK(pthread_yield_fn != NULL, "pthread_yield not found");
}

#define YIELDS(what, call)							\
	do {									\
		errno = SENTINEL;						\
		int rc_ = (call);						\
		int e_ = errno;							\
		T_CHECK(rc_ == 0, "%s: returned %d", what, rc_);		\
		T_CHECK(e_ == SENTINEL, "%s: errno set to %d", what, e_);	\
	} while (0)

static void mode_short(void)
{
	bg_start();
	/* Distinct call sites. */
	ALL_SLEEPS(1 * T_US, 1);
	ALL_SLEEPS(10 * T_US, 1);
	ALL_SLEEPS(100 * T_US, 1);
	ALL_SLEEPS(1 * T_MS, 1);
	ALL_SLEEPS(3 * T_MS, 1);
	ALL_SLEEPS(20 * T_MS, 1);
	/* The 1st and 2nd call of a repeated site are not polls yet. */
	ALL_SLEEPS(1 * T_US, 2);
	ALL_SLEEPS(500 * T_US, 2);
	ALL_SLEEPS(1 * T_MS, 2);
	/* Over 1 ms, repeated from one site: never a poll. */
	for (int i = 0; i < 6; i++)
		SLEEPS("usleep repeated", 1500 * T_US, usleep(1500));
	for (int i = 0; i < 6; i++)
		SLEEPS("nanosleep repeated", 1200 * T_US, nanosleep(T_TS(1200 * T_US), NULL));
	for (int i = 0; i < 6; i++)
		SLEEPS("poll repeated", 2 * T_MS, poll(NULL, 0, 2));
	/* Two sites taking turns, and A A B: never three in a row from one site. */
	for (int i = 0; i < 10; i++) {
		SLEEPS("usleep A of A/B", 200 * T_US, usleep(200));
		SLEEPS("nanosleep B of A/B", 300 * T_US, nanosleep(T_TS(300 * T_US), NULL));
	}
	for (int i = 0; i < 6; i++) {
		for (int k = 0; k < 2; k++)
			SLEEPS("usleep A of AAB", 100 * T_US, usleep(100));
		SLEEPS("clock_nanosleep B of AAB", 1 * T_US,
		       clock_nanosleep(CLOCK_MONOTONIC, 0, T_TS(1 * T_US), NULL));
	}
	SLEEPS("sleep", 1 * T_S, sleep(1));
	SLEEPS("sleep(0)", 0, sleep(0));
	SLEEPS("usleep(0)", 0, usleep(0));
	SLEEPS("nanosleep(0)", 0, nanosleep(T_TS(0), NULL));
	SLEEPS("poll(0)", 0, poll(NULL, 0, 0));
	/* Yields: 0 back, errno kept. */
	find_pthread_yield();
	for (int i = 0; i < 5; i++) {
		YIELDS("sched_yield", sched_yield());
		if (pthread_yield_fn)
			YIELDS("pthread_yield", pthread_yield_fn());
		errno = SENTINEL;
		thrd_yield();
		T_CHECK(errno == SENTINEL, "thrd_yield: errno set to %d", errno);
	}
	bg_end();
}

/* ----------------------------------------------------------------------- */
/* eintr: a signal handler interrupts                                        */
/* ----------------------------------------------------------------------- */

static _Atomic int alarms;

static void on_alarm(int sig)
{
	atomic_fetch_add(&alarms, 1);
}

static void arm(long long ns)
{
	struct itimerval it = { { 0, 0 }, { (time_t)(ns / T_S), (suseconds_t)(ns % T_S / 1000) } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

#define ASKED (200 * T_MS)
#define SIGNAL_AT (20 * T_MS)

/* Runs call with SIGALRM due 20 ms in; leaves rc_, e_, d_ for checks and
 * checks the handler ran exactly once. */
#define INTERRUPTED(what, call, checks)						\
	do {									\
		int a0_ = atomic_load(&alarms);					\
		arm(SIGNAL_AT);							\
		long long t0_ = t_now();					\
		errno = SENTINEL;						\
		long rc_ = (long)(call);					\
		int e_ = errno;							\
		long long d_ = t_now() - t0_;					\
		disarm();							\
		T_CHECK(atomic_load(&alarms) == a0_ + 1, "%s: handler ran %d times, want 1", \
			what, atomic_load(&alarms) - a0_);			\
		checks;								\
		(void)rc_; (void)e_; (void)d_;					\
	} while (0)

#define WANT_EINTR(what)							\
	T_CHECK(rc_ == -1 && e_ == EINTR, "%s: returned %ld errno %d, want -1/EINTR", \
		what, rc_, e_)

/* rem must be what is left: positive, below what was asked, and at least
 * asked minus the time that went by (the sleep cannot have been longer). */
static void check_rem(const char *what, const struct timespec *rem, long long d)
{
	long long r = rem->tv_sec * T_S + rem->tv_nsec;

	T_CHECK(rem->tv_nsec >= 0 && rem->tv_nsec < T_S, "%s: rem.tv_nsec %ld", what, rem->tv_nsec);
	T_CHECK(r > 0 && r < ASKED, "%s: rem %lld ns, want in (0, %lld)", what, r, ASKED);
	T_CHECK(r >= ASKED - d - T_MS, "%s: rem %lld ns, but only %lld of %lld ns went by",
		what, r, d, ASKED);
}

static const struct {
	clockid_t clk;
	const char *name;
} handled_clocks[] = {
	{ CLOCK_REALTIME, "REALTIME" },
	{ CLOCK_MONOTONIC, "MONOTONIC" },
	{ CLOCK_BOOTTIME, "BOOTTIME" },
};

static void mode_eintr(void)
{
	struct sigaction sa;
	struct timespec rem;
	sigset_t alrm, none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;   /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	bg_start();

	memset(&rem, 0, sizeof(rem));
	INTERRUPTED("nanosleep", nanosleep(T_TS(ASKED), &rem), {
		WANT_EINTR("nanosleep");
		check_rem("nanosleep", &rem, d_);
	});
	for (size_t i = 0; i < sizeof(handled_clocks) / sizeof(handled_clocks[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "clock_nanosleep(%s)", handled_clocks[i].name);
		memset(&rem, 0, sizeof(rem));
		INTERRUPTED(what, clock_nanosleep(handled_clocks[i].clk, 0, T_TS(ASKED), &rem), {
			T_CHECK(rc_ == EINTR, "%s: returned %ld, want EINTR", what, rc_);
			T_CHECK(e_ == SENTINEL, "%s: errno set to %d (it returns the error)", what, e_);
			check_rem(what, &rem, d_);
		});
	}
	memset(&rem, 0, sizeof(rem));
	INTERRUPTED("thrd_sleep", thrd_sleep(T_TS(ASKED), &rem), {
		T_CHECK(rc_ == -1, "thrd_sleep: returned %ld, want -1 (interrupted)", rc_);
		check_rem("thrd_sleep", &rem, d_);
	});
	INTERRUPTED("usleep", usleep(ASKED / 1000), WANT_EINTR("usleep"));
	INTERRUPTED("select", select(0, NULL, NULL, NULL, TV(ASKED)), WANT_EINTR("select"));
	INTERRUPTED("pselect", pselect(0, NULL, NULL, NULL, T_TS(ASKED), NULL), WANT_EINTR("pselect"));
	INTERRUPTED("poll", poll(NULL, 0, ASKED / T_MS), WANT_EINTR("poll"));
	INTERRUPTED("ppoll", ppoll(NULL, 0, T_TS(ASKED), NULL), WANT_EINTR("ppoll"));
	/* sleep gives back the unslept seconds: 1 (truncated) or 2 (rounded up). */
	INTERRUPTED("sleep(2)", sleep(2), {
		T_CHECK(rc_ == 1 || rc_ == 2, "sleep(2) interrupted: returned %ld, want 1 or 2", rc_);
		T_CHECK(d_ < 2 * T_S, "sleep(2) interrupted: returned after %lld ns", d_);
	});
	/* Waits with no end at all. */
	INTERRUPTED("poll(NULL, 0, -1)", poll(NULL, 0, -1), WANT_EINTR("poll(NULL, 0, -1)"));
	INTERRUPTED("select with no timeout", select(0, NULL, NULL, NULL, NULL),
		    WANT_EINTR("select with no timeout"));
	INTERRUPTED("ppoll with no timeout", ppoll(NULL, 0, NULL, NULL),
		    WANT_EINTR("ppoll with no timeout"));
	INTERRUPTED("pselect with no timeout", pselect(0, NULL, NULL, NULL, NULL, NULL),
		    WANT_EINTR("pselect with no timeout"));
	/* Absolute: interrupted too, rem left alone. */
	for (size_t i = 0; i < sizeof(handled_clocks) / sizeof(handled_clocks[0]); i++) {
		char what[64];
		long long target = t_now_on(handled_clocks[i].clk) + ASKED;

		snprintf(what, sizeof(what), "clock_nanosleep(%s, TIMER_ABSTIME)", handled_clocks[i].name);
		rem.tv_sec = 77;
		rem.tv_nsec = 77;
		INTERRUPTED(what, clock_nanosleep(handled_clocks[i].clk, TIMER_ABSTIME, T_TS(target), &rem), {
			T_CHECK(rc_ == EINTR, "%s: returned %ld, want EINTR", what, rc_);
			T_CHECK(e_ == SENTINEL, "%s: errno set to %d", what, e_);
			T_CHECK(rem.tv_sec == 77 && rem.tv_nsec == 77, "%s: rem written", what);
		});
	}

	/* ppoll and pselect install their mask for the wait: SIGALRM blocked
	 * outside and let in by the mask interrupts them ... */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigemptyset(&none);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	INTERRUPTED("ppoll letting SIGALRM in", ppoll(NULL, 0, T_TS(ASKED), &none),
		    WANT_EINTR("ppoll letting SIGALRM in"));
	INTERRUPTED("pselect letting SIGALRM in", pselect(0, NULL, NULL, NULL, T_TS(ASKED), &none),
		    WANT_EINTR("pselect letting SIGALRM in"));
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	/* ... and SIGALRM let in outside but blocked by the mask does not:
	 * the wait runs its course, the handler runs once it is over. */
	INTERRUPTED("ppoll blocking SIGALRM", ppoll(NULL, 0, T_TS(ASKED), &alrm), {
		T_CHECK(rc_ == 0, "ppoll blocking SIGALRM: returned %ld errno %d, want 0", rc_, e_);
		T_CHECK(d_ >= ASKED, "ppoll blocking SIGALRM: returned after %lld ns", d_);
	});
	INTERRUPTED("pselect blocking SIGALRM", pselect(0, NULL, NULL, NULL, T_TS(ASKED), &alrm), {
		T_CHECK(rc_ == 0, "pselect blocking SIGALRM: returned %ld errno %d, want 0", rc_, e_);
		T_CHECK(d_ >= ASKED, "pselect blocking SIGALRM: returned after %lld ns", d_);
	});
	bg_end();
}

/* ----------------------------------------------------------------------- */
/* abstime                                                                   */
/* ----------------------------------------------------------------------- */

static void abs_once(clockid_t clk, const char *name, long long ahead)
{
	long long target = t_now_on(clk) + ahead;

	errno = SENTINEL;
	int rc = clock_nanosleep(clk, TIMER_ABSTIME, T_TS(target), NULL);
	int e = errno;
	long long after = t_now_on(clk);
	T_CHECK(rc == 0, "clock_nanosleep(%s, TIMER_ABSTIME, now + %lld ns): returned %d", name, ahead, rc);
	T_CHECK(after >= target, "clock_nanosleep(%s, TIMER_ABSTIME, now + %lld ns): returned %lld ns early",
		name, ahead, target - after);
	T_CHECK(e == SENTINEL, "clock_nanosleep(%s, TIMER_ABSTIME): errno set to %d", name, e);
}

static void mode_abstime(void)
{
	static const long long ahead[] = { 1 * T_US, 100 * T_US, 1 * T_MS, 2 * T_MS, 20 * T_MS };

	bg_start();
	for (size_t c = 0; c < sizeof(handled_clocks) / sizeof(handled_clocks[0]); c++) {
		clockid_t clk = handled_clocks[c].clk;
		const char *name = handled_clocks[c].name;

		for (size_t i = 0; i < sizeof(ahead) / sizeof(ahead[0]); i++)
			abs_once(clk, name, ahead[i]);
		/* Short absolute sleeps repeated from one site are never polls. */
		for (int i = 0; i < 8; i++) {
			long long target = t_now_on(clk) + 200 * T_US;
			int rc = clock_nanosleep(clk, TIMER_ABSTIME, T_TS(target), NULL);
			long long after = t_now_on(clk);
			T_CHECK(rc == 0 && after >= target,
				"repeated clock_nanosleep(%s, TIMER_ABSTIME) #%d: returned %d, %lld ns early",
				name, i + 1, rc, target - after);
		}
		/* A target in the past: at once, 0. */
		for (int i = 0; i < 4; i++) {
			long long target = t_now_on(clk) - T_S;
			int rc = clock_nanosleep(clk, TIMER_ABSTIME, T_TS(target), NULL);
			T_CHECK(rc == 0, "clock_nanosleep(%s, TIMER_ABSTIME, a second ago): returned %d", name, rc);
		}
	}
	bg_end();
}

/* ----------------------------------------------------------------------- */
/* cancel                                                                    */
/* ----------------------------------------------------------------------- */

enum victim {
	V_USLEEP, V_NANOSLEEP, V_CLOCK_NANOSLEEP, V_CLOCK_NANOSLEEP_ABS, V_SLEEP,
	V_THRD_SLEEP, V_POLL, V_POLL_FOREVER, V_PPOLL, V_SELECT, V_SELECT_FOREVER,
	V_PSELECT, V_POLL_LOOP_USLEEP, V_POLL_LOOP_NANOSLEEP, V_POLL_LOOP_SELECT,
	V_COUNT
};

static const char *const victim_names[V_COUNT] = {
	"usleep(10 s)", "nanosleep(10 s)", "clock_nanosleep(MONOTONIC, 10 s)",
	"clock_nanosleep(REALTIME, TIMER_ABSTIME, now + 10 s)", "sleep(10)",
	"thrd_sleep(10 s)", "poll(NULL, 0, 10000)", "poll(NULL, 0, -1)",
	"ppoll(NULL, 0, 10 s)", "select(0, 10 s)", "select(0, no timeout)",
	"pselect(0, 10 s)", "a usleep(1) poll loop", "a nanosleep(1 µs) poll loop",
	"a select(0, 1 µs) poll loop",
};

static _Atomic unsigned long victim_steps;

static void *victim(void *arg)
{
	enum victim v = (enum victim)(uintptr_t)arg;

	atomic_store(&victim_steps, 1);
	switch (v) {
	case V_USLEEP: usleep(10000000); break;
	case V_NANOSLEEP: nanosleep(T_TS(10 * T_S), NULL); break;
	case V_CLOCK_NANOSLEEP: clock_nanosleep(CLOCK_MONOTONIC, 0, T_TS(10 * T_S), NULL); break;
	case V_CLOCK_NANOSLEEP_ABS:
		clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME,
				T_TS(t_now_on(CLOCK_REALTIME) + 10 * T_S), NULL);
		break;
	case V_SLEEP: sleep(10); break;
	case V_THRD_SLEEP: thrd_sleep(T_TS(10 * T_S), NULL); break;
	case V_POLL: poll(NULL, 0, 10000); break;
	case V_POLL_FOREVER: poll(NULL, 0, -1); break;
	case V_PPOLL: ppoll(NULL, 0, T_TS(10 * T_S), NULL); break;
	case V_SELECT: select(0, NULL, NULL, NULL, TV(10 * T_S)); break;
	case V_SELECT_FOREVER: select(0, NULL, NULL, NULL, NULL); break;
	case V_PSELECT: pselect(0, NULL, NULL, NULL, T_TS(10 * T_S), NULL); break;
	case V_POLL_LOOP_USLEEP:
		for (;;) {
			usleep(1);
			atomic_fetch_add(&victim_steps, 1);
		}
	case V_POLL_LOOP_NANOSLEEP:
		for (;;) {
			nanosleep(T_TS(1 * T_US), NULL);
			atomic_fetch_add(&victim_steps, 1);
		}
	case V_POLL_LOOP_SELECT:
		for (;;) {
			select(0, NULL, NULL, NULL, TV(1 * T_US));
			atomic_fetch_add(&victim_steps, 1);
		}
	default: break;
	}
	return (void *)"returned";   /* not cancelled: the join reports it */
}

static void mode_cancel(void)
{
	bg_start();
	for (int v = 0; v < V_COUNT; v++) {
		pthread_t t;
		void *ret = NULL;
		/* Poll loops: cancel once they are well into polling. */
		unsigned long steps = v >= V_POLL_LOOP_USLEEP ? 50 : 1;

		atomic_store(&victim_steps, 0);
		if (pthread_create(&t, NULL, victim, (void *)(uintptr_t)v)) {
			T_CHECK(0, "pthread_create");
			continue;
		}
		while (atomic_load(&victim_steps) < steps)
			sched_yield();
		/* Long enough for the thread to be inside its wait. */
		usleep(50000);
		long long t0 = t_now();
		pthread_cancel(t);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 2;
		int rc = pthread_timedjoin_np(t, &ret, &dl);
		long long d = t_now() - t0;
		if (rc == ETIMEDOUT) {
			T_CHECK(0, "%s: not cancelled within 2 s", victim_names[v]);
			continue;   /* left behind; exit takes it */
		}
		T_CHECK(rc == 0 && ret == PTHREAD_CANCELED,
			"%s: join gave %d, thread %s after %lld ns", victim_names[v], rc,
			ret == PTHREAD_CANCELED ? "cancelled" : (const char *)ret, d);
	}
	bg_end();
}

/* ----------------------------------------------------------------------- */
/* einval                                                                    */
/* ----------------------------------------------------------------------- */

static const struct timespec bad_ts[] = {
	{ 0, -1 }, { 0, 1000000000 }, { -1, 0 }, { 1, 2000000000 },
};

static void mode_einval(void)
{
	bg_start();
	for (size_t b = 0; b < sizeof(bad_ts) / sizeof(bad_ts[0]); b++) {
		const struct timespec *ts = &bad_ts[b];
		long s = (long)ts->tv_sec, ns = ts->tv_nsec;
		/* Five times from each site: a bad call never becomes a poll. */
		for (int i = 0; i < 5; i++) {
			struct timespec rem = { 0, 0 };
			int rc, e;

			errno = SENTINEL;
			rc = nanosleep(ts, &rem);
			e = errno;
			T_CHECK(rc == -1 && e == EINVAL, "nanosleep({%ld, %ld}): returned %d errno %d, want -1/EINVAL",
				s, ns, rc, e);
			for (size_t c = 0; c < sizeof(handled_clocks) / sizeof(handled_clocks[0]); c++) {
				for (int flags = 0; flags <= TIMER_ABSTIME; flags += TIMER_ABSTIME) {
					errno = SENTINEL;
					rc = clock_nanosleep(handled_clocks[c].clk, flags, ts, &rem);
					e = errno;
					T_CHECK(rc == EINVAL && e == SENTINEL,
						"clock_nanosleep(%s, %s, {%ld, %ld}): returned %d errno %d, want EINVAL, errno untouched",
						handled_clocks[c].name, flags ? "TIMER_ABSTIME" : "0", s, ns, rc, e);
				}
			}
			rc = thrd_sleep(ts, &rem);
			T_CHECK(rc < -1, "thrd_sleep({%ld, %ld}): returned %d, want a negative value other than -1",
				s, ns, rc);
			errno = SENTINEL;
			rc = ppoll(NULL, 0, ts, NULL);
			e = errno;
			T_CHECK(rc == -1 && e == EINVAL, "ppoll({%ld, %ld}): returned %d errno %d, want -1/EINVAL",
				s, ns, rc, e);
			errno = SENTINEL;
			rc = pselect(0, NULL, NULL, NULL, ts, NULL);
			e = errno;
			T_CHECK(rc == -1 && e == EINVAL, "pselect({%ld, %ld}): returned %d errno %d, want -1/EINVAL",
				s, ns, rc, e);
		}
	}
	for (int i = 0; i < 5; i++) {
		struct timeval bad[] = { { 0, -1 }, { -1, 0 } };
		for (size_t b = 0; b < 2; b++) {
			errno = SENTINEL;
			int rc = select(0, NULL, NULL, NULL, &bad[b]);
			int e = errno;
			T_CHECK(rc == -1 && e == EINVAL, "select({%ld, %ld}): returned %d errno %d, want -1/EINVAL",
				(long)bad[b].tv_sec, (long)bad[b].tv_usec, rc, e);
		}
	}
	bg_end();
}

/* ----------------------------------------------------------------------- */
/* clocks the runtime does not handle                                        */
/* ----------------------------------------------------------------------- */

static atomic_bool spin_stop;

static void *spinner(void *arg)
{
	while (!atomic_load(&spin_stop))
		t_spin_cpu(T_MS);
	return NULL;
}

/* Prints one line: what the call gave, whether errno moved, whether at
 * least ns went by on clk. Compared between plain and preloaded runs. */
static void clock_case(const char *name, clockid_t clk, int flags, long long ns)
{
	long long t0 = t_now_on(clk), target = flags ? t0 + ns : ns;
	struct timespec rem = { 77, 77 };

	errno = SENTINEL;
	int rc = clock_nanosleep(clk, flags, T_TS(target), &rem);
	int e = errno;
	long long t1 = t_now_on(clk);
	printf("%s: returned %d (%s), errno %s, %s\n", name, rc, rc ? strerror(rc) : "ok",
	       e == SENTINEL ? "untouched" : strerror(e),
	       rc ? "-" : t1 >= t0 + ns ? "long enough" : "SHORT");
}

static void mode_clocks(void)
{
	pthread_t t;
	clockid_t self_cpu, proc_cpu;

	/* Process CPU time must advance for a process CPU clock sleep to end. */
	T_CHECK(!pthread_create(&t, NULL, spinner, NULL), "pthread_create");
	T_CHECK(!pthread_getcpuclockid(pthread_self(), &self_cpu), "pthread_getcpuclockid");
	T_CHECK(!clock_getcpuclockid(getpid(), &proc_cpu), "clock_getcpuclockid");
	for (int i = 0; i < 2; i++) {
		clock_case("CLOCK_PROCESS_CPUTIME_ID 2 ms", CLOCK_PROCESS_CPUTIME_ID, 0, 2 * T_MS);
		clock_case("CLOCK_PROCESS_CPUTIME_ID TIMER_ABSTIME +2 ms", CLOCK_PROCESS_CPUTIME_ID,
			   TIMER_ABSTIME, 2 * T_MS);
		clock_case("CLOCK_THREAD_CPUTIME_ID 1 ms", CLOCK_THREAD_CPUTIME_ID, 0, T_MS);
		clock_case("pthread_getcpuclockid(self) 1 ms", self_cpu, 0, T_MS);
		clock_case("clock_getcpuclockid(getpid()) 2 ms", proc_cpu, 0, 2 * T_MS);
		clock_case("CLOCK_TAI 1 ms", CLOCK_TAI, 0, T_MS);
		clock_case("CLOCK_TAI TIMER_ABSTIME +1 ms", CLOCK_TAI, TIMER_ABSTIME, T_MS);
		clock_case("CLOCK_MONOTONIC_RAW 1 ms", CLOCK_MONOTONIC_RAW, 0, T_MS);
		clock_case("CLOCK_MONOTONIC_COARSE 1 ms", CLOCK_MONOTONIC_COARSE, 0, T_MS);
		clock_case("CLOCK_REALTIME_COARSE 1 ms", CLOCK_REALTIME_COARSE, 0, T_MS);
		clock_case("clock 4242 1 ms", (clockid_t)4242, 0, T_MS);
		clock_case("clock -7 1 ms", (clockid_t)-7, 0, T_MS);
	}
	/* Short sleeps on a CPU clock repeated from one site. */
	for (int i = 0; i < 5; i++)
		clock_case("CLOCK_PROCESS_CPUTIME_ID 100 µs repeated", CLOCK_PROCESS_CPUTIME_ID, 0, 100 * T_US);
	atomic_store(&spin_stop, true);
	pthread_join(t, NULL);
}

/* ----------------------------------------------------------------------- */
/* fds: real descriptors pass through                                        */
/* ----------------------------------------------------------------------- */

static int late_fd;

static void *late_writer(void *arg)
{
	usleep(30000);
	T_CHECK(write(late_fd, "y", 1) == 1, "write to the pipe");
	return NULL;
}

static void mode_fds(void)
{
	int p[2];
	char c;
	fd_set rs;
	pthread_t t;

	bg_start();
	T_CHECK(!pipe(p), "pipe");
	/* Empty: each waits its timeout and says nothing is ready. */
	{
		struct pollfd pf = { p[0], POLLIN, 0 };
		long long t0 = t_now();
		int rc = poll(&pf, 1, 20);
		T_CHECK(rc == 0 && t_now() - t0 >= 20 * T_MS, "poll on an empty pipe: %d after %lld ns", rc,
			t_now() - t0);
		t0 = t_now();
		rc = ppoll(&pf, 1, T_TS(20 * T_MS), NULL);
		T_CHECK(rc == 0 && t_now() - t0 >= 20 * T_MS, "ppoll on an empty pipe: %d", rc);
		FD_ZERO(&rs);
		FD_SET(p[0], &rs);
		t0 = t_now();
		rc = select(p[0] + 1, &rs, NULL, NULL, TV(20 * T_MS));
		T_CHECK(rc == 0 && t_now() - t0 >= 20 * T_MS && !FD_ISSET(p[0], &rs),
			"select on an empty pipe: %d", rc);
		FD_SET(p[0], &rs);
		t0 = t_now();
		rc = pselect(p[0] + 1, &rs, NULL, NULL, T_TS(20 * T_MS), NULL);
		T_CHECK(rc == 0 && t_now() - t0 >= 20 * T_MS, "pselect on an empty pipe: %d", rc);
		/* Repeated short polls on a descriptor: each still looks at it. */
		for (int i = 0; i < 6; i++) {
			pf.revents = 0;
			rc = poll(&pf, 1, 0);
			T_CHECK(rc == 0 && pf.revents == 0, "poll(timeout 0) #%d on an empty pipe: %d", i, rc);
		}
	}
	/* A byte in the pipe: each sees it at once. */
	T_CHECK(write(p[1], "x", 1) == 1, "write");
	for (int i = 0; i < 6; i++) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		int rc = poll(&pf, 1, 5000);
		T_CHECK(rc == 1 && (pf.revents & POLLIN), "poll on a ready pipe (#%d): %d revents %#x", i, rc,
			pf.revents);
		pf.revents = 0;
		rc = ppoll(&pf, 1, T_TS(5 * T_S), NULL);
		T_CHECK(rc == 1 && (pf.revents & POLLIN), "ppoll on a ready pipe: %d revents %#x", rc, pf.revents);
		FD_ZERO(&rs);
		FD_SET(p[0], &rs);
		rc = select(p[0] + 1, &rs, NULL, NULL, TV(5 * T_S));
		T_CHECK(rc == 1 && FD_ISSET(p[0], &rs), "select on a ready pipe: %d", rc);
		FD_SET(p[0], &rs);
		rc = pselect(p[0] + 1, &rs, NULL, NULL, NULL, NULL);
		T_CHECK(rc == 1 && FD_ISSET(p[0], &rs), "pselect on a ready pipe: %d", rc);
		/* The write end is ready for writing. */
		fd_set ws;
		FD_ZERO(&ws);
		FD_SET(p[1], &ws);
		rc = select(p[1] + 1, NULL, &ws, NULL, NULL);
		T_CHECK(rc == 1 && FD_ISSET(p[1], &ws), "select for writing: %d", rc);
	}
	T_CHECK(read(p[0], &c, 1) == 1 && c == 'x', "read");
	/* Written while the caller waits: poll returns when it comes. */
	late_fd = p[1];
	T_CHECK(!pthread_create(&t, NULL, late_writer, NULL), "pthread_create");
	{
		struct pollfd pf = { p[0], POLLIN, 0 };
		long long t0 = t_now();
		int rc = poll(&pf, 1, 10000);
		long long d = t_now() - t0;
		T_CHECK(rc == 1 && (pf.revents & POLLIN), "poll waiting for a writer: %d revents %#x", rc,
			pf.revents);
		T_CHECK(d < 5 * T_S, "poll waiting for a writer: took %lld ns for a write due after 30 ms", d);
	}
	pthread_join(t, NULL);
	T_CHECK(read(p[0], &c, 1) == 1 && c == 'y', "read");
	/* Descriptors in a set but nfds 1 with the set empty: a plain timed wait. */
	FD_ZERO(&rs);
	{
		long long t0 = t_now();
		int rc = select(1, &rs, NULL, NULL, TV(2 * T_MS));
		T_CHECK(rc == 0 && t_now() - t0 >= 2 * T_MS, "select(1, empty set, 2 ms): %d", rc);
	}
	/* A closed descriptor: POLLNVAL from poll, EBADF from select. */
	close(p[1]);
	close(p[0]);
	{
		struct pollfd pf = { p[0], POLLIN, 0 };
		int rc = poll(&pf, 1, 0);
		T_CHECK(rc == 1 && (pf.revents & POLLNVAL), "poll on a closed fd: %d revents %#x", rc, pf.revents);
		FD_ZERO(&rs);
		FD_SET(p[0], &rs);
		errno = 0;
		rc = select(p[0] + 1, &rs, NULL, NULL, TV(T_MS));
		T_CHECK(rc == -1 && errno == EBADF, "select on a closed fd: %d errno %d", rc, errno);
	}
	bg_end();
}

/* ----------------------------------------------------------------------- */
/* count: what the program did, for the stats report                         */
/* ----------------------------------------------------------------------- */

static void mode_count(void)
{
	long long asked = 0;
	int sleeps = 0, yields = 0, p[2];
	struct pollfd pf;
	fd_set rs;

#define COUNTED(ns, call) do { (void)(call); sleeps++; asked += (ns); } while (0)
	T_CHECK(!pipe(p), "pipe");
	pf.fd = p[0];
	pf.events = POLLIN;
	find_pthread_yield();
	COUNTED(10 * T_US, usleep(10));
	COUNTED(20 * T_US, nanosleep(T_TS(20 * T_US), NULL));
	COUNTED(30 * T_US, clock_nanosleep(CLOCK_REALTIME, 0, T_TS(30 * T_US), NULL));
	COUNTED(40 * T_US, clock_nanosleep(CLOCK_MONOTONIC, 0, T_TS(40 * T_US), NULL));
	COUNTED(50 * T_US, clock_nanosleep(CLOCK_BOOTTIME, 0, T_TS(50 * T_US), NULL));
	COUNTED(60 * T_US, thrd_sleep(T_TS(60 * T_US), NULL));
	COUNTED(1 * T_MS, poll(NULL, 0, 1));
	COUNTED(70 * T_US, ppoll(NULL, 0, T_TS(70 * T_US), NULL));
	COUNTED(80 * T_US, select(0, NULL, NULL, NULL, TV(80 * T_US)));
	COUNTED(90 * T_US, pselect(0, NULL, NULL, NULL, T_TS(90 * T_US), NULL));
	COUNTED(1 * T_S, sleep(1));
	/* With descriptors: not sleeps. */
	(void)poll(&pf, 1, 1);
	(void)ppoll(&pf, 1, T_TS(T_MS), NULL);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	(void)select(p[0] + 1, &rs, NULL, NULL, TV(T_MS));
	FD_SET(p[0], &rs);
	(void)pselect(p[0] + 1, &rs, NULL, NULL, T_TS(T_MS), NULL);
	/* Yields. */
	sched_yield();
	yields++;
	if (pthread_yield_fn) {
		pthread_yield_fn();
		yields++;
	}
	thrd_yield();
	yields++;
#undef COUNTED
	printf("sleeps=%d yields=%d asked_ns=%lld\n", sleeps, yields, asked);
}

/* ----------------------------------------------------------------------- */
/* sites: which runs of sleeps from one call site are polls                  */
/* ----------------------------------------------------------------------- */

/* One call site for every sleep, as an out-of-line sleep_for is. */
static __attribute__((noinline)) void nap(long ns)
{
	long long t0 = t_now();
	T_CHECK(nanosleep(T_TS(ns), NULL) == 0, "nanosleep(%ld ns): %s", ns, strerror(errno));
	T_CHECK(t_now() - t0 >= ns, "nanosleep(%ld ns) returned early", ns);
	__asm__ volatile("" ::: "memory");
}

static void mode_sites(void)
{
	int polls = 0;

	/* Each ten times the one before: never a poll. */
	for (long ns = T_US; ns <= T_MS; ns *= 10)
		nap(ns);
	/* Doubling from 1 us: a back-off, a poll from the third sleep on. */
	for (long ns = T_US, k = 1; ns <= 8 * T_US; ns *= 2, k++)
		nap(ns), polls += k >= 3;
	/* 50 us, five times: ten times what came before, so a new run. */
	for (int k = 1; k <= 5; k++)
		nap(50 * T_US), polls += k >= 3;
	/* Over 1 ms: no poll, and the run after it starts afresh. */
	nap(2 * T_MS);
	for (int k = 1; k <= 2; k++)
		nap(50 * T_US);
	printf("polls=%d\n", polls);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} modes[] = {
		{ "short", mode_short }, { "eintr", mode_eintr }, { "abstime", mode_abstime },
		{ "cancel", mode_cancel }, { "einval", mode_einval }, { "clocks", mode_clocks },
		{ "fds", mode_fds }, { "count", mode_count }, { "sites", mode_sites },
	};

	if (argc != 3) {
		fprintf(stderr, "usage: sleepsem pre|plain MODE\n");
		return 2;
	}
	t_require_mode(argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(argv[2], modes[i].name)) {
			modes[i].run();
			if (!strcmp(argv[2], "clocks") || !strcmp(argv[2], "count") ||
			    !strcmp(argv[2], "sites"))
				return t_failures ? 1 : 0;
			return t_done(argv[2]);
		}
	}
	fprintf(stderr, "sleepsem: no mode '%s'\n", argv[2]);
	return 2;
}
