/* Signals sent to one thread reach that thread, and each thread's signal
 * mask is its own: the same results plain and with every thread a fiber
 * of one CPU (run under `taskset -c 0`, plain and with
 * CXLMU_SCHED=fibers). Each part makes its own threads:
 *   target   4 threads sleep and yield; the main thread sends each
 *            SIGUSR1 20 times with pthread_kill and waits for its handler:
 *            the handler runs in the thread it was sent to (pthread_self,
 *            a __thread counter), never in another
 *   spin     a thread spins on a flag with no call at all; the handler
 *            sent to it sets the flag
 *   sleeps   nanosleep(5 s), sleep(5), usleep(900 ms) and
 *            clock_nanosleep(5 s) end early with EINTR (sleep: the seconds
 *            left) when a handler runs in the thread
 *   mask     a thread blocks SIGUSR2: sent to it, the signal waits
 *            (sigpending shows it) while another thread on the same CPU,
 *            which does not block it, gets its own; unblocked, the handler
 *            runs before pthread_sigmask returns; each sees its own mask
 *   raise    raise of a signal the thread blocks waits for the unblock
 *   queue    pthread_sigqueue's value, code and sender reach an SA_SIGINFO
 *            handler in the thread
 *   read     a thread blocked in read() on a pipe gets EINTR
 *   sigwait  a thread waits in sigwait for a signal sent to it
 *   tgkill   tgkill with the id gettid gave a thread reaches that thread
 *   errors   pthread_kill(t, 0) is 0, a bad signal number EINVAL; a bad
 *            how gives EINVAL from pthread_sigmask and sigprocmask
 *   left     sleep(3) cut short after 1.6 s returns 1, the seconds left
 *            rounded as glibc rounds them
 *   race     thread A blocks and unblocks SIGUSR1 and yields, B yields; the
 *            main thread (on another CPU when there is one) sends SIGUSR1
 *            to A for 300 ms: never a handler in B
 *   nested   SIGALRM every 20 us, whose handler raises SIGUSR2, while two
 *            threads yield, for 300 ms: every raise is handled and the
 *            threads keep yielding (a handler that interrupted the
 *            scheduler must not wait for a lock the scheduler holds)
 *   idle     two threads block SIGTERM and sleep, the main thread blocks
 *            it and waits in sigwait: SIGTERM sent to the process reaches
 *            sigwait (no thread, and so no idle host, takes it)
 *   ppoll    a signal sent to a thread that blocks it is handled by a
 *            ppoll whose mask lets it through, at once (EINTR)
 *   pause    three threads wait for a signal sent to each: in pause(), in
 *            X/Open sigpause(SIGUSR2) and in the old BSD sigpause(0), the
 *            last two blocking SIGUSR2 before: each returns -1 with EINTR
 *            after its handler ran in it
 * Run as `sigfib [PART...]` (no part: all); prints "sigfib: ok" when every
 * check held. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

#define WAIT_NS 3000000000LL    /* longest any handler may take to run */

/* Wait (sleeping) until *v reaches want: false after WAIT_NS. */
static bool wait_for(_Atomic int *v, int want)
{
	for (long long end = t_now_ns() + WAIT_NS; t_now_ns() < end;) {
		if (atomic_load(v) >= want)
			return true;
		usleep(200);
	}
	return atomic_load(v) >= want;
}

static void on(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

/* Each thread's own, and what the handlers saw. */
static __thread volatile int got;                /* handlers run in this thread */
static __thread pthread_t me;
static __thread int idx = -1;
static _Atomic int hits[8];             /* by idx */
static _Atomic int elsewhere;           /* handlers in a thread not meant */
static _Atomic int stop;
static _Atomic int ready;               /* threads that called become() */

static void count(int sig)
{
	(void)sig;
	got++;
	if (idx < 0 || !pthread_equal(t_self_now(), me))
		elsewhere++;
	else
		hits[idx]++;
}

static void become(int i)
{
	me = t_self_now();
	idx = i;
	got = 0;
	ready++;
}

static void reset(void)
{
	for (int i = 0; i < 8; i++)
		hits[i] = 0;
	elsewhere = 0;
	stop = 0;
	ready = 0;
}

/* ----------------------------------------------------------------------- */

static void *napper(void *arg)
{
	become((int)(intptr_t)arg);
	for (int i = 0; !stop; i++) {
		if (i % 2)
			usleep(50);
		else
			sched_yield();
	}
	return (void *)(intptr_t)got;
}

static void part_target(void)
{
	pthread_t t[4];

	reset();
	on(SIGUSR1, count, SA_RESTART);
	for (int i = 0; i < 4; i++)
		t[i] = t_start(napper, (void *)(intptr_t)i);
	T_CHECK(wait_for(&ready, 4), "target: the threads did not start");
	for (int round = 1; round <= 20; round++)
		for (int i = 0; i < 4; i++) {
			T_CHECK(!pthread_kill(t[i], SIGUSR1), "pthread_kill");
			T_CHECK(wait_for(&hits[i], round),
				"target: thread %d: the handler of signal %d sent to it did not run in it (%d did)",
				i, round, (int)hits[i]);
		}
	stop = 1;
	for (int i = 0; i < 4; i++) {
		void *n;
		pthread_join(t[i], &n);
		T_CHECK((intptr_t)n == 20, "target: thread %d counted %ld handlers, want 20",
			i, (long)(intptr_t)n);
	}
	T_CHECK(!elsewhere, "target: %d handlers ran in a thread the signal was not sent to",
		(int)elsewhere);
}

/* ----------------------------------------------------------------------- */

static volatile int spin_flag;
static _Atomic int spinning;

static void set_flag(int sig)
{
	count(sig);
	spin_flag = 1;
}

static void *spinner(void *arg)
{
	(void)arg;
	become(0);
	spinning = 1;
	while (!spin_flag)
		;
	return (void *)(intptr_t)got;
}

static void part_spin(void)
{
	pthread_t t;
	void *n;

	reset();
	spin_flag = 0;
	spinning = 0;
	on(SIGUSR1, set_flag, SA_RESTART);
	t = t_start(spinner, NULL);
	T_CHECK(wait_for(&spinning, 1), "spin: the spinner did not start");
	T_CHECK(!pthread_kill(t, SIGUSR1), "pthread_kill");
	T_CHECK(wait_for(&hits[0], 1), "spin: the handler did not run in the spinning thread");
	spin_flag = 1;
	pthread_join(t, &n);
	T_CHECK((intptr_t)n == 1 && !elsewhere, "spin: %ld handlers in the spinner, %d elsewhere",
		(long)(intptr_t)n, (int)elsewhere);
}

/* ----------------------------------------------------------------------- */

static _Atomic int asleep;

static void *sleeper(void *arg)
{
	int which = (int)(intptr_t)arg;
	long long t0;
	long r = 0, left = 0;
	struct timespec ts = { 5, 0 }, rem = { 0, 0 };

	become(0);
	asleep = 1;
	t0 = t_now_ns();
	switch (which) {
	case 0:
		r = nanosleep(&ts, &rem);
		left = rem.tv_sec;
		break;
	case 1:
		left = sleep(5);
		r = left ? -1 : 0;
		errno = EINTR;
		break;
	case 2:
		r = usleep(900000);
		left = 5;
		break;
	case 3:
		r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem);
		if (r) {
			errno = (int)r;
			r = -1;
		}
		left = rem.tv_sec;
		break;
	}
	T_CHECK(r == -1 && errno == EINTR, "sleeps: sleep %d: returned %ld (%s), want EINTR",
		which, r, strerror(errno));
	T_CHECK(left >= 3, "sleeps: sleep %d: %ld s left, want at least 3", which, left);
	T_CHECK(t_now_ns() - t0 < 700000000LL, "sleeps: sleep %d: ended after %lld ms", which,
		(t_now_ns() - t0) / 1000000);
	return (void *)(intptr_t)got;
}

static void part_sleeps(void)
{
	reset();
	on(SIGUSR1, count, 0);
	for (int which = 0; which < 4; which++) {
		pthread_t t;
		void *n;

		asleep = 0;
		t = t_start(sleeper, (void *)(intptr_t)which);
		T_CHECK(wait_for(&asleep, 1), "sleeps: the sleeper did not start");
		usleep(100000);
		pthread_kill(t, SIGUSR1);
		pthread_join(t, &n);
		T_CHECK((intptr_t)n == 1, "sleeps: sleep %d: %ld handlers ran in the sleeper", which,
			(long)(intptr_t)n);
	}
	T_CHECK(!elsewhere, "sleeps: %d handlers ran elsewhere", (int)elsewhere);
}

/* ----------------------------------------------------------------------- */

static _Atomic int phase;

static bool blocks(int sig)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig) == 1;
}

static bool pending(int sig)
{
	sigset_t p;

	sigpending(&p);
	return sigismember(&p, sig) == 1;
}

static void *masker(void *arg)
{
	sigset_t set;
	int r;

	(void)arg;
	become(0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	T_CHECK(!pthread_sigmask(SIG_BLOCK, &set, NULL), "pthread_sigmask");
	phase = 1;
	while (phase < 2)
		usleep(100);
	/* Sent to us, blocked: it waits, while the other thread gets its own. */
	for (int i = 0; i < 50; i++)
		usleep(1000);
	T_CHECK(got == 0, "mask: a blocked signal's handler ran");
	T_CHECK(pending(SIGUSR2), "mask: the signal sent is not pending");
	T_CHECK(blocks(SIGUSR2), "mask: the blocking thread's mask lost SIGUSR2");
	r = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	T_CHECK(!r && got == 1, "mask: unblocked, %d handlers had run when pthread_sigmask returned", got);
	T_CHECK(!pending(SIGUSR2), "mask: still pending once handled");
	phase = 3;
	return (void *)(intptr_t)got;
}

static void *unmasked(void *arg)
{
	(void)arg;
	become(1);
	/* Until the main thread has seen all its five signals handled here
	 * too (stop), not only until the blocking thread is done: under a
	 * slow emulator five round trips can outlast the other's 50 ms, and
	 * a signal sent after this thread returned would reach no one. */
	while (phase < 3 || !stop) {
		T_CHECK(!blocks(SIGUSR2), "mask: the other thread's mask has SIGUSR2");
		usleep(100);
	}
	return (void *)(intptr_t)got;
}

static void part_mask(void)
{
	pthread_t a, b;
	void *na, *nb;

	reset();
	phase = 0;
	on(SIGUSR2, count, SA_RESTART);
	a = t_start(masker, NULL);
	b = t_start(unmasked, NULL);
	T_CHECK(wait_for(&ready, 2), "mask: the threads did not start");
	while (phase < 1)
		usleep(100);
	pthread_kill(a, SIGUSR2);
	phase = 2;
	for (int i = 1; i <= 5; i++) {
		pthread_kill(b, SIGUSR2);
		T_CHECK(wait_for(&hits[1], i), "mask: the unblocking thread did not get signal %d", i);
	}
	stop = 1;
	pthread_join(a, &na);
	pthread_join(b, &nb);
	T_CHECK((intptr_t)na == 1 && (intptr_t)nb == 5 && !elsewhere,
		"mask: handlers %ld (blocking thread), %ld (other), %d elsewhere; want 1, 5, 0",
		(long)(intptr_t)na, (long)(intptr_t)nb, (int)elsewhere);
}

/* ----------------------------------------------------------------------- */

static void *raiser(void *arg)
{
	sigset_t set;

	(void)arg;
	become(0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	T_CHECK(!raise(SIGUSR2), "raise");
	usleep(2000);
	T_CHECK(got == 0 && pending(SIGUSR2), "raise: blocked: %d handlers ran, pending %d", got,
		pending(SIGUSR2));
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	T_CHECK(got == 1, "raise: unblocked: %d handlers had run", got);
	T_CHECK(!raise(SIGUSR2) && got == 2, "raise: unblocked: %d handlers after raise returned", got);
	return NULL;
}

static void part_raise(void)
{
	reset();
	on(SIGUSR2, count, SA_RESTART);
	pthread_join(t_start(raiser, NULL), NULL);
	T_CHECK(!elsewhere, "raise: %d handlers ran elsewhere", (int)elsewhere);
}

/* ----------------------------------------------------------------------- */

static _Atomic int q_value, q_code, q_pid, q_right;

static void on_queue(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	count(sig);
	q_value = si->si_value.sival_int;
	q_code = si->si_code;
	q_pid = si->si_pid;
	q_right = idx == 0;
}

static void part_queue(void)
{
	struct sigaction sa;
	pthread_t t;

	reset();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_queue;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMIN, &sa, NULL);
	t = t_start(napper, (void *)0);
	T_CHECK(wait_for(&ready, 1), "queue: the thread did not start");
	T_CHECK(!pthread_sigqueue(t, SIGRTMIN, (union sigval){ .sival_int = 4242 }), "pthread_sigqueue");
	T_CHECK(wait_for(&hits[0], 1), "queue: the handler did not run in the thread");
	stop = 1;
	pthread_join(t, NULL);
	T_CHECK(q_value == 4242 && q_code == SI_QUEUE && q_pid == getpid() && q_right,
		"queue: value %d code %d pid %d (want 4242, SI_QUEUE, %d), in the thread %d",
		(int)q_value, (int)q_code, (int)q_pid, (int)getpid(), (int)q_right);
}

/* ----------------------------------------------------------------------- */

static int pipefd[2];

static void *reader(void *arg)
{
	char c;
	ssize_t r;

	(void)arg;
	become(0);
	asleep = 1;
	r = read(pipefd[0], &c, 1);
	T_CHECK(r == -1 && errno == EINTR, "read: returned %zd (%s), want EINTR", r, strerror(errno));
	return (void *)(intptr_t)got;
}

static void part_read(void)
{
	pthread_t t;
	void *n;

	reset();
	asleep = 0;
	on(SIGUSR1, count, 0);
	T_CHECK(!pipe(pipefd), "pipe");
	t = t_start(reader, NULL);
	T_CHECK(wait_for(&asleep, 1), "read: the reader did not start");
	usleep(50000);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, &n);
	T_CHECK((intptr_t)n == 1 && !elsewhere, "read: %ld handlers in the reader, %d elsewhere",
		(long)(intptr_t)n, (int)elsewhere);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* ----------------------------------------------------------------------- */

static void *waiter(void *arg)
{
	sigset_t set;
	int sig = 0, r;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	asleep = 1;
	r = sigwait(&set, &sig);
	T_CHECK(!r && sig == SIGUSR2, "sigwait: returned %d with signal %d", r, sig);
	return NULL;
}

static void part_sigwait(void)
{
	pthread_t t;

	reset();
	asleep = 0;
	t = t_start(waiter, NULL);
	T_CHECK(wait_for(&asleep, 1), "sigwait: the waiter did not start");
	usleep(20000);
	pthread_kill(t, SIGUSR2);
	pthread_join(t, NULL);
}

/* ----------------------------------------------------------------------- */

static _Atomic pid_t tid_seen;

static void *tidder(void *arg)
{
	pid_t tid = gettid();

	(void)arg;
	become(0);
	for (int i = 0; i < 20; i++) {
		usleep(100);
		T_CHECK(gettid() == tid, "tgkill: gettid changed");
	}
	tid_seen = tid;
	while (!stop)
		usleep(50);
	return (void *)(intptr_t)got;
}

static void part_tgkill(void)
{
	pthread_t t;
	void *n;

	reset();
	tid_seen = 0;
	on(SIGUSR1, count, SA_RESTART);
	t = t_start(tidder, NULL);
	for (long long end = t_now_ns() + WAIT_NS; !tid_seen && t_now_ns() < end;)
		usleep(100);
	T_CHECK(tid_seen && tid_seen != gettid(), "tgkill: thread ids %d and %d", (int)tid_seen,
		(int)gettid());
	T_CHECK(!tgkill(getpid(), tid_seen, SIGUSR1), "tgkill: %s", strerror(errno));
	T_CHECK(wait_for(&hits[0], 1), "tgkill: the handler did not run in the thread");
	stop = 1;
	pthread_join(t, &n);
	T_CHECK((intptr_t)n == 1 && !elsewhere, "tgkill: %ld handlers in the thread, %d elsewhere",
		(long)(intptr_t)n, (int)elsewhere);
}

/* ----------------------------------------------------------------------- */

static void *bad_how(void *arg)
{
	sigset_t set, old;

	(void)arg;
	sigemptyset(&set);
	T_CHECK(pthread_sigmask(12345, &set, NULL) == EINVAL, "errors: pthread_sigmask: bad how");
	errno = 0;
	T_CHECK(sigprocmask(12345, &set, NULL) == -1 && errno == EINVAL,
		"errors: sigprocmask: bad how");
	T_CHECK(!pthread_sigmask(12345, NULL, &old), "errors: no set: how is not looked at");
	while (!stop)
		usleep(50);
	return NULL;
}

static void part_errors(void)
{
	pthread_t t;

	reset();
	t = t_start(bad_how, NULL);
	usleep(1000);
	T_CHECK(pthread_kill(t, 0) == 0, "errors: pthread_kill(t, 0)");
	T_CHECK(pthread_kill(t, 999) == EINVAL, "errors: pthread_kill(t, 999)");
	T_CHECK(pthread_kill(t, -1) == EINVAL, "errors: pthread_kill(t, -1)");
	stop = 1;
	pthread_join(t, NULL);
}

/* ----------------------------------------------------------------------- */

static void *left_sleeper(void *arg)
{
	unsigned left;

	(void)arg;
	become(0);
	asleep = 1;
	left = sleep(3);
	T_CHECK(left == 1, "left: sleep(3) cut short after 1.6 s returned %u, want 1", left);
	return NULL;
}

static void part_left(void)
{
	pthread_t t;

	reset();
	asleep = 0;
	on(SIGUSR1, count, 0);
	t = t_start(left_sleeper, NULL);
	T_CHECK(wait_for(&asleep, 1), "left: the sleeper did not start");
	usleep(1600000);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
}

/* ----------------------------------------------------------------------- */

static void *toggler(void *arg)
{
	sigset_t set;

	(void)arg;
	become(0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (!stop) {
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		sched_yield();
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		sched_yield();
	}
	return NULL;
}

static void *yielder(void *arg)
{
	become((int)(intptr_t)arg);
	while (!stop)
		sched_yield();
	return NULL;
}

/* The calling thread onto another CPU than 0, when there is one. */
static void elsewhere_cpu(void)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void back_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void part_race(void)
{
	pthread_t a, b;
	long sent = 0;

	reset();
	on(SIGUSR1, count, SA_RESTART);
	a = t_start(toggler, NULL);
	b = t_start(yielder, (void *)1);
	T_CHECK(wait_for(&ready, 2), "race: the threads did not start");
	elsewhere_cpu();
	for (long long end = t_now_ns() + 300000000LL; t_now_ns() < end; sent++)
		pthread_kill(a, SIGUSR1);
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	back_to_cpu0();
	T_CHECK(hits[0] > 0 && !hits[1] && !elsewhere,
		"race: %ld sent; handlers in A %d, in B %d, elsewhere %d (want some, 0, 0)", sent,
		(int)hits[0], (int)hits[1], (int)elsewhere);
}

/* ----------------------------------------------------------------------- */

static _Atomic long alarms, raised, yields;

static void on_raised(int sig)
{
	(void)sig;
	raised++;
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	raise(SIGUSR2);
}

static void *counting_yielder(void *arg)
{
	(void)arg;
	ready++;
	while (!stop) {
		sched_yield();
		yields++;
	}
	return NULL;
}

static void part_nested(void)
{
	struct itimerval it = { { 0, 20 }, { 0, 20 } }, off = { { 0, 0 }, { 0, 0 } };
	pthread_t a, b;
	sigset_t set;
	long last = -1;

	reset();
	on(SIGALRM, on_alarm, SA_RESTART);
	on(SIGUSR2, on_raised, SA_RESTART);
	a = t_start(counting_yielder, NULL);
	b = t_start(counting_yielder, NULL);
	T_CHECK(wait_for(&ready, 2), "nested: the threads did not start");
	/* The alarms go to the yielding threads, and so to the scheduler. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 6; i++) {
		usleep(50000);
		T_CHECK(yields != last, "nested: no yield for 50 ms (%ld alarms, %ld raises handled)",
			(long)alarms, (long)raised);
		if (yields == last)
			break;
		last = yields;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	T_CHECK(alarms > 0 && alarms == raised, "nested: %ld alarms, %ld raises handled",
		(long)alarms, (long)raised);
}

/* ----------------------------------------------------------------------- */

static void *term_blocker(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	ready++;
	while (!stop)
		usleep(2000);
	return NULL;
}

static void part_idle(void)
{
	pthread_t a, b;
	sigset_t set;
	int sig = 0;

	reset();
	a = t_start(term_blocker, NULL);
	b = t_start(term_blocker, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	T_CHECK(wait_for(&ready, 2), "idle: the threads did not start");
	usleep(20000);
	kill(getpid(), SIGTERM);
	T_CHECK(!sigwait(&set, &sig) && sig == SIGTERM, "idle: sigwait gave %d", sig);
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
}

/* ----------------------------------------------------------------------- */

static _Atomic int sent_one;

static void *ppoller(void *arg)
{
	sigset_t set, none;
	struct pollfd p;
	struct timespec ts = { 2, 0 };
	long long t0;
	int r;

	(void)arg;
	become(0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigemptyset(&none);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	asleep = 1;
	while (!sent_one)
		usleep(1000);
	T_CHECK(pending(SIGUSR1), "ppoll: the signal sent is not pending");
	p.fd = pipefd[0];
	p.events = POLLIN;
	t0 = t_now_ns();
	r = ppoll(&p, 1, &ts, &none);
	T_CHECK(r == -1 && errno == EINTR && got == 1 && t_now_ns() - t0 < 1000000000LL,
		"ppoll: returned %d (%s) after %lld ms with %d handlers; want EINTR at once, 1",
		r, strerror(errno), (t_now_ns() - t0) / 1000000, got);
	return NULL;
}

static void part_ppoll(void)
{
	pthread_t t;

	reset();
	asleep = 0;
	sent_one = 0;
	on(SIGUSR1, count, 0);
	T_CHECK(!pipe(pipefd), "pipe");
	t = t_start(ppoller, NULL);
	T_CHECK(wait_for(&asleep, 1), "ppoll: the thread did not start");
	pthread_kill(t, SIGUSR1);
	usleep(10000);
	sent_one = 1;
	pthread_join(t, NULL);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* ----------------------------------------------------------------------- */

/* glibc's two sigpause functions: the X/Open one takes a signal to let
 * through (what <signal.h> names sigpause), the old BSD one a mask. */
int xsi_sigpause(int sig) __asm__("__xpg_sigpause");
int bsd_sigpause(int mask) __asm__("sigpause");

static _Atomic int paused_done;

static void *pauser(void *arg)
{
	int how = (int)(intptr_t)arg, r, err;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(how ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
	become(how);
	errno = 0;
	r = how == 0 ? pause() : how == 1 ? xsi_sigpause(SIGUSR2) : bsd_sigpause(0);
	err = errno;
	T_CHECK(r == -1 && err == EINTR && got >= 1 && !elsewhere,
		"pause %d: returned %d, errno %d, %d handlers in it, %d elsewhere", how, r, err,
		(int)got, (int)elsewhere);
	paused_done++;
	return NULL;
}

static void part_pause(void)
{
	pthread_t t[3];

	reset();
	paused_done = 0;
	on(SIGUSR1, count, 0);
	on(SIGUSR2, count, 0);
	for (int i = 0; i < 3; i++)
		t[i] = t_start(pauser, (void *)(intptr_t)i);
	T_CHECK(wait_for(&ready, 3), "pause: the threads did not start");
	/* SIGUSR2 waits, blocked, for the sigpause calls; a SIGUSR1 that came
	 * before pause() was called is handled and the next one ends it. */
	pthread_kill(t[1], SIGUSR2);
	pthread_kill(t[2], SIGUSR2);
	for (int i = 0; i < 60 && atomic_load(&paused_done) < 3; i++) {
		usleep(50000);
		if (i % 2 == 0)
			pthread_kill(t[0], SIGUSR1);
	}
	T_CHECK(atomic_load(&paused_done) == 3, "pause: %d of 3 waits returned",
		(int)paused_done);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} parts[] = {
		{ "target", part_target }, { "spin", part_spin }, { "sleeps", part_sleeps },
		{ "mask", part_mask }, { "raise", part_raise }, { "queue", part_queue },
		{ "read", part_read }, { "sigwait", part_sigwait }, { "tgkill", part_tgkill },
		{ "errors", part_errors }, { "left", part_left }, { "race", part_race },
		{ "nested", part_nested }, { "idle", part_idle }, { "ppoll", part_ppoll },
		{ "pause", part_pause },
	};
	size_t n = sizeof(parts) / sizeof(parts[0]);

	for (size_t i = 0; i < n; i++) {
		bool want = argc < 2;
		for (int a = 1; a < argc; a++)
			want |= !strcmp(argv[a], parts[i].name);
		if (want)
			parts[i].run();
	}
	for (int a = 1; a < argc; a++) {
		bool known = false;
		for (size_t i = 0; i < n; i++)
			known |= !strcmp(argv[a], parts[i].name);
		if (!known) {
			fprintf(stderr, "sigfib: no part '%s'\n", argv[a]);
			return 2;
		}
	}
	if (t_failures)
		return 1;
	printf("sigfib: ok\n");
	return 0;
}
