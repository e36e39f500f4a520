/* pthread programs that must give the same results whether their threads
 * are kernel threads or fibers (run under `taskset -c 0` with
 * CXLMU_SCHED=fibers, and plain). Run as `fibers MODE`:
 *   identity  8 threads: each keeps a __thread counter, errno, its
 *             pthread_self, its thread id (gettid and syscall(SYS_gettid),
 *             the same, each thread's its own) and a key's value across
 *             200 sleeps and yields;
 *             join values; key destructors run once per thread with the
 *             thread's own value; a detached thread runs to its end
 *   exit      threads end with pthread_exit from a nested call: join gets
 *             the value, cleanup handlers and key destructors run
 *   mainexit  the main thread makes 3 threads and ends with pthread_exit
 *             (a cleanup handler runs); the process ends, status 0, when
 *             the last of them returns, after 20 sleeps each, as glibc
 *             ends it: an atexit handler, run then, prints the ok line
 *   many [N]  N threads (default 10 000) alive at once (64 KiB stacks):
 *             each counts itself in, polls a few times, then sleeps 200 ms
 *             at a time until every thread has been created, and returns
 *             its number
 *   deep      recursion using most of a 1 MiB stack asked in the attributes
 *   spin      one thread spins on a flag (no call at all) that another sets
 *             after sleeping 20 ms; a third counts its sleeps meanwhile
 *   read      one thread blocks in read() on a pipe; another writes to it
 *             after sleeping 20 ms; a third keeps sleeping and counting
 *             (20 ms: longer than a poll may sleep as a fiber, 10 ms, and
 *             than a few ticks of a coarse timer)
 *   pc        producer and consumer over a 4-slot queue with a mutex and
 *             two condition variables, 2000 items; the sum matches
 *   cancel    a thread in a usleep(1) poll loop, and one in sleep(10), are
 *             cancelled: join gives PTHREAD_CANCELED within 2 s; a thread
 *             with cancellation disabled is cancelled while it joins: the
 *             join still completes, and the cancellation acts once enabled
 *   join      timed joins: a deadline far away (LONG_MAX seconds) waits
 *             for the thread, one passed gives ETIMEDOUT while it runs;
 *             joining a detached thread gives EINVAL at once
 *   signals   SIGALRM every millisecond, and SIGUSR2 sent to each thread,
 *             for 300 ms while threads set errno, sleep and yield: each
 *             finds its own errno back every time, though the handler
 *             writes errno; raise and pthread_kill of oneself run the
 *             handler before they return
 *   fork      a thread forks while others poll; the child sleeps, polls
 *             and exits 7; the parent's threads finish
 *   affinity  (2 CPUs or more) a thread widens its affinity to every CPU
 *             and pins itself back to CPU 0, three times, with
 *             pthread_setaffinity_np and sched_setaffinity: each change
 *             shows in sched_getaffinity, and its __thread counter, errno
 *             and pthread_self stay; an empty mask gives EINVAL and
 *             changes nothing; another thread widens a third's affinity,
 *             which that thread sees after its next sleep
 *   abort     a thread calls abort() after a few sleeps while another
 *             sleeps: the program must die of SIGABRT (run by the script,
 *             which checks the status; prints nothing)
 *   alone     (2 CPUs or more; run unpinned) threads pinned by their
 *             attributes: A alone on CPU 1, B on CPU 0, then C on CPU 0
 *             too; each sleeps 300 times on the CPU it was pinned to
 * Prints "<mode>: ok" when every check held. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "common.h"

/* ----------------------------------------------------------------------- */
/* identity                                                                  */
/* ----------------------------------------------------------------------- */

static __thread long counter;
static pthread_key_t key;
static _Atomic int destructed;
static _Atomic long destructed_sum;
static _Atomic int detached_done;

static void key_gone(void *v)
{
	destructed++;
	destructed_sum += (long)(intptr_t)v;
}

static _Atomic pid_t tids[8];

static void *identity_thread(void *arg)
{
	long id = (long)(intptr_t)arg;
	pthread_t me = t_self_now();
	pid_t tid = (pid_t)syscall(SYS_gettid);

	T_CHECK(tid == gettid(), "thread %ld: syscall(SYS_gettid) %d, gettid %d", id, (int)tid,
		(int)gettid());
	tids[id] = tid;

	pthread_setspecific(key, (void *)(intptr_t)(id + 1));
	for (int i = 0; i < 200; i++) {
		counter++;
		errno = (int)id + 1000;
		if (i % 3)
			usleep(1);
		else
			sched_yield();
		T_CHECK(errno == (int)id + 1000, "thread %ld: errno %d after a sleep, want %ld",
			id, errno, id + 1000);
		T_CHECK(pthread_equal(t_self_now(), me), "thread %ld: pthread_self changed", id);
		T_CHECK(syscall(SYS_gettid) == tid && gettid() == tid,
			"thread %ld: its id went from %d to %ld (gettid %d)", id, (int)tid,
			syscall(SYS_gettid), (int)gettid());
		T_CHECK(pthread_getspecific(key) == (void *)(intptr_t)(id + 1),
			"thread %ld: key value %p", id, pthread_getspecific(key));
	}
	T_CHECK(counter == 200, "thread %ld: __thread counter %ld, want 200", id, counter);
	return (void *)(intptr_t)(id * 10);
}

static void *detached_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		usleep(1);
	detached_done = 1;
	return NULL;
}

static void mode_identity(void)
{
	enum { N = 8 };
	pthread_t t[N], d;
	long want = 0;

	T_CHECK(!pthread_key_create(&key, key_gone), "pthread_key_create");
	for (long i = 0; i < N; i++)
		t[i] = t_start(identity_thread, (void *)(intptr_t)i);
	d = t_start(detached_thread, NULL);
	T_CHECK(!pthread_detach(d), "pthread_detach");
	for (long i = 0; i < N; i++) {
		void *ret = NULL;
		T_CHECK(!pthread_join(t[i], &ret), "join %ld", i);
		T_CHECK(ret == (void *)(intptr_t)(i * 10), "thread %ld returned %p", i, ret);
		want += i + 1;
	}
	for (long i = 0; i < N; i++)
		for (long j = 0; j < i; j++)
			T_CHECK(tids[i] != tids[j], "threads %ld and %ld had the same id %d", j, i,
				(int)tids[i]);
	T_CHECK(destructed == N, "key destructor ran %d times, want %d", destructed, N);
	T_CHECK(destructed_sum == want, "key destructors saw %ld, want %ld", destructed_sum, want);
	for (int i = 0; i < 2000 && !detached_done; i++)
		usleep(1000);
	T_CHECK(detached_done, "the detached thread did not finish");
	T_CHECK(counter == 0, "main's __thread counter is %ld, want 0", counter);
}

/* ----------------------------------------------------------------------- */
/* exit                                                                      */
/* ----------------------------------------------------------------------- */

static _Atomic int cleanups;

static void cleanup(void *arg)
{
	(void)arg;
	cleanups++;
}

static void __attribute__((noinline)) leave_from_deep(long id, int depth)
{
	usleep(1);
	if (depth > 0)
		leave_from_deep(id, depth - 1);
	else if (id >= 0)
		pthread_exit((void *)(intptr_t)(id + 100));
}

static void *exit_thread(void *arg)
{
	long id = (long)(intptr_t)arg;

	pthread_setspecific(key, (void *)(intptr_t)(id + 1));
	pthread_cleanup_push(cleanup, NULL);
	for (int i = 0; i < 10; i++)
		usleep(1);
	leave_from_deep(id, 5);
	pthread_cleanup_pop(0);
	return NULL;
}

static void mode_exit(void)
{
	enum { N = 6 };
	pthread_t t[N];

	T_CHECK(!pthread_key_create(&key, key_gone), "pthread_key_create");
	for (long i = 0; i < N; i++)
		t[i] = t_start(exit_thread, (void *)(intptr_t)i);
	for (long i = 0; i < N; i++) {
		void *ret = NULL;
		T_CHECK(!pthread_join(t[i], &ret), "join %ld", i);
		T_CHECK(ret == (void *)(intptr_t)(i + 100), "thread %ld exited with %p", i, ret);
	}
	T_CHECK(cleanups == N, "cleanup handlers ran %d times, want %d", cleanups, N);
	T_CHECK(destructed == N, "key destructor ran %d times, want %d", destructed, N);
}

/* mainexit: nothing after pthread_exit returns to main(), so the checks
 * are made in the atexit handler, which prints the ok line itself. */
static _Atomic int mainexit_done, mainexit_cleanup;

static void *mainexit_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		usleep(1000);
	atomic_fetch_add(&mainexit_done, 1);
	return NULL;
}

static void mainexit_at_exit(void)
{
	if (mainexit_done == 3 && mainexit_cleanup == 1) {
		printf("mainexit: ok\n");
		return;
	}
	fprintf(stderr, "mainexit: %d of 3 threads done, the main thread's cleanup ran %d times\n",
		(int)mainexit_done, (int)mainexit_cleanup);
	_exit(1);
}

static void mainexit_cleanup_fn(void *arg)
{
	(void)arg;
	mainexit_cleanup++;
}

static void mode_mainexit(void)
{
	T_CHECK(!atexit(mainexit_at_exit), "atexit");
	for (int i = 0; i < 3; i++)
		pthread_detach(t_start(mainexit_thread, NULL));
	pthread_cleanup_push(mainexit_cleanup_fn, NULL);
	pthread_exit(NULL);
	pthread_cleanup_pop(0);
}

/* ----------------------------------------------------------------------- */
/* many                                                                      */
/* ----------------------------------------------------------------------- */

static _Atomic int started, all_created;
static int many_n = 10000;

static void *many_thread(void *arg)
{
	started++;
	for (int i = 0; i < 3; i++)
		usleep(1);
	while (!all_created)
		usleep(200000);
	return arg;
}

static void mode_many(void)
{
	pthread_attr_t attr;
	pthread_t *t;
	long sum = 0, want = 0;

	t = calloc((size_t)many_n, sizeof(*t));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 0; i < many_n; i++) {
		int r = pthread_create(&t[i], &attr, many_thread, (void *)(intptr_t)i);
		if (r) {
			fprintf(stderr, "FAIL: pthread_create %ld of %d: %s\n", i, many_n, strerror(r));
			exit(1);
		}
	}
	/* None has returned yet: all are alive at once. */
	all_created = 1;
	for (long i = 0; i < many_n; i++) {
		void *ret;
		T_CHECK(!pthread_join(t[i], &ret), "join %ld", i);
		sum += (long)(intptr_t)ret;
		want += i;
	}
	T_CHECK(sum == want, "join values add up to %ld, want %ld", sum, want);
	pthread_attr_destroy(&attr);
	free(t);
}

/* ----------------------------------------------------------------------- */
/* deep                                                                      */
/* ----------------------------------------------------------------------- */

static long __attribute__((noinline)) recurse(int n)
{
	volatile char pad[1000];

	pad[0] = (char)n;
	if (n % 64 == 0)
		usleep(1);
	return n ? recurse(n - 1) + pad[0] : 0;
}

static void *deep_thread(void *arg)
{
	(void)arg;
	/* About 800 KiB of frames in a 1 MiB stack. */
	return (void *)(intptr_t)recurse(800);
}

static void mode_deep(void)
{
	pthread_attr_t attr;
	pthread_t t[2];
	long want = 0;

	for (int i = 800; i > 0; i--)
		want += (char)i;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	for (int i = 0; i < 2; i++)
		T_CHECK(!pthread_create(&t[i], &attr, deep_thread, NULL), "pthread_create");
	for (int i = 0; i < 2; i++) {
		void *ret;
		T_CHECK(!pthread_join(t[i], &ret), "join");
		T_CHECK((long)(intptr_t)ret == want, "recursion gave %ld, want %ld",
			(long)(intptr_t)ret, want);
	}
	pthread_attr_destroy(&attr);
}

/* ----------------------------------------------------------------------- */
/* spin, read: a fiber that never switches must not stop the others          */
/* ----------------------------------------------------------------------- */

static volatile int flag;
static _Atomic int stop_counting;
static _Atomic long counted, counted_at_block, counted_at_release;
static int pipe_fd[2];

static void *spinner(void *arg)
{
	(void)arg;
	counted_at_block = counted;
	while (!flag)
		__asm__ volatile("" ::: "memory");
	return (void *)1;
}

static void *setter(void *arg)
{
	(void)arg;
	usleep(20000);
	counted_at_release = counted;
	flag = 1;
	return (void *)2;
}

static void *counting(void *arg)
{
	(void)arg;
	while (!stop_counting) {
		usleep(100);
		counted++;
	}
	return (void *)3;
}

static void *reader(void *arg)
{
	char c = 0;

	(void)arg;
	counted_at_block = counted;
	T_CHECK(read(pipe_fd[0], &c, 1) == 1, "read: %s", strerror(errno));
	return (void *)(intptr_t)c;
}

static void *writer(void *arg)
{
	long long t0 = t_now_ns();

	(void)arg;
	usleep(20000);
	T_CHECK(t_now_ns() - t0 >= 20000000, "usleep(20000) returned early");
	counted_at_release = counted;
	T_CHECK(write(pipe_fd[1], "x", 1) == 1, "write: %s", strerror(errno));
	return (void *)2;
}

static void blocked_trio(void *(*blocked)(void *), void *(*freer)(void *), long want0)
{
	pthread_t a, b, c;
	void *ra, *rb, *rc;

	c = t_start(counting, NULL);
	a = t_start(blocked, NULL);
	b = t_start(freer, NULL);
	T_CHECK(!pthread_join(a, &ra), "join the blocked thread");
	T_CHECK(!pthread_join(b, &rb), "join the thread that frees it");
	stop_counting = 1;
	T_CHECK(!pthread_join(c, &rc), "join the counting thread");
	T_CHECK((long)(intptr_t)ra == want0 && rb == (void *)2 && rc == (void *)3,
		"join values %p %p %p", ra, rb, rc);
	T_CHECK(counted_at_release > counted_at_block,
		"the counting thread made no progress while another was blocked (%ld, then %ld)",
		(long)counted_at_block, (long)counted_at_release);
}

static void mode_spin(void)
{
	blocked_trio(spinner, setter, 1);
}

static void mode_read(void)
{
	T_CHECK(!pipe(pipe_fd), "pipe");
	blocked_trio(reader, writer, 'x');
}

/* ----------------------------------------------------------------------- */
/* pc: producer and consumer with a mutex and condition variables            */
/* ----------------------------------------------------------------------- */

enum { SLOTS = 4, ITEMS = 2000 };
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long queue[SLOTS];
static int q_head, q_len;

static void *producer(void *arg)
{
	(void)arg;
	for (long i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&mu);
		while (q_len == SLOTS)
			pthread_cond_wait(&not_full, &mu);
		queue[(q_head + q_len++) % SLOTS] = i;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long sum = 0;

	(void)arg;
	for (long i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&mu);
		while (q_len == 0)
			pthread_cond_wait(&not_empty, &mu);
		sum += queue[q_head];
		q_head = (q_head + 1) % SLOTS;
		q_len--;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&mu);
	}
	return (void *)(intptr_t)sum;
}

static void mode_pc(void)
{
	pthread_t p = t_start(producer, NULL), c = t_start(consumer, NULL);
	void *sum;

	T_CHECK(!pthread_join(p, NULL), "join producer");
	T_CHECK(!pthread_join(c, &sum), "join consumer");
	T_CHECK((long)(intptr_t)sum == (long)ITEMS * (ITEMS + 1) / 2, "consumer summed %ld, want %ld",
		(long)(intptr_t)sum, (long)ITEMS * (ITEMS + 1) / 2);
}

/* ----------------------------------------------------------------------- */
/* cancel, fork                                                              */
/* ----------------------------------------------------------------------- */

static _Atomic int polling;

static void *poller(void *arg)
{
	(void)arg;
	for (;;) {
		polling = 1;
		usleep(1);
	}
	return NULL;
}

static void *long_sleeper(void *arg)
{
	(void)arg;
	polling = 2;
	sleep(10);
	return NULL;
}

static void *short_lived(void *arg)
{
	(void)arg;
	usleep(50000);
	return (void *)7;
}

static _Atomic int joining;

static void *deaf_joiner(void *arg)
{
	void *ret = NULL;
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	joining = 1;
	T_CHECK(!pthread_join(*(pthread_t *)arg, &ret) && ret == (void *)7,
		"join with cancellation disabled gave %p", ret);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
	pthread_testcancel();
	return NULL;
}

static void mode_cancel(void)
{
	pthread_t t = t_start(poller, NULL), s, j;
	void *ret = NULL;
	long long t0;

	while (!polling)
		usleep(10);
	T_CHECK(!pthread_cancel(t), "pthread_cancel");
	T_CHECK(!pthread_join(t, &ret), "join");
	T_CHECK(ret == PTHREAD_CANCELED, "join gave %p, want PTHREAD_CANCELED", ret);

	s = t_start(long_sleeper, NULL);
	while (polling != 2)
		usleep(10);
	usleep(1000);
	t0 = t_now_ns();
	T_CHECK(!pthread_cancel(s), "pthread_cancel");
	T_CHECK(!pthread_join(s, &ret), "join");
	T_CHECK(ret == PTHREAD_CANCELED, "join gave %p, want PTHREAD_CANCELED", ret);
	T_CHECK(t_now_ns() - t0 < 2000000000LL, "cancelling sleep(10) took %lld ms",
		(t_now_ns() - t0) / 1000000);

	s = t_start(short_lived, NULL);
	j = t_start(deaf_joiner, &s);
	while (!joining)
		usleep(10);
	usleep(1000);
	T_CHECK(!pthread_cancel(j), "pthread_cancel");
	T_CHECK(!pthread_join(j, &ret), "join");
	T_CHECK(ret == PTHREAD_CANCELED, "join gave %p, want PTHREAD_CANCELED", ret);
}

/* ----------------------------------------------------------------------- */
/* join                                                                      */
/* ----------------------------------------------------------------------- */

static void mode_join(void)
{
	struct timespec far = { LONG_MAX, 0 }, past = { 0, 0 };
	pthread_t t = t_start(short_lived, NULL), d;
	void *ret = NULL;
	long long t0;

	T_CHECK(pthread_timedjoin_np(t, &ret, &past) == ETIMEDOUT, "timedjoin, passed deadline");
	T_CHECK(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &past) == ETIMEDOUT,
		"clockjoin, passed deadline");
	T_CHECK(!pthread_timedjoin_np(t, &ret, &far) && ret == (void *)7,
		"timedjoin, LONG_MAX: %p", ret);
	d = t_start(long_sleeper, NULL);
	T_CHECK(!pthread_detach(d), "pthread_detach");
	t0 = t_now_ns();
	T_CHECK(pthread_join(d, &ret) == EINVAL, "joining a detached thread did not give EINVAL");
	T_CHECK(t_now_ns() - t0 < 100000000LL, "joining a detached thread took %lld ms",
		(t_now_ns() - t0) / 1000000);
}

/* ----------------------------------------------------------------------- */
/* signals                                                                   */
/* ----------------------------------------------------------------------- */

static _Atomic long alarms;
static __thread volatile long usr1;    /* the handler runs in the thread it is for */
static _Atomic int sig_stop;

static void on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	alarms++;
	errno = 9999;    /* a handler that uses errno, and restores it */
	errno = saved;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void *errno_keeper(void *arg)
{
	long id = (long)(intptr_t)arg, bad = 0;

	for (int n = 1; !sig_stop; n++) {
		/* A new value each time: a stale one written back shows. */
		int want = (int)id * 100000 + n % 50000 + 1;
		errno = want;
		/* A usleep a signal cuts short says EINTR: that is no loss. */
		bad += (id % 2 ? usleep(1) : sched_yield()) == 0 && errno != want;
	}
	T_CHECK(!bad, "thread %ld found another errno %ld times", id, bad);
	for (int i = 0; i < 3; i++) {
		long before = usr1;
		T_CHECK(!raise(SIGUSR1), "raise");
		T_CHECK(usr1 == before + 1, "thread %ld: the handler had not run when raise returned", id);
		before = usr1;
		T_CHECK(!pthread_kill(pthread_self(), SIGUSR1), "pthread_kill");
		T_CHECK(usr1 == before + 1,
			"thread %ld: the handler had not run when pthread_kill returned", id);
	}
	return NULL;
}

static void mode_signals(void)
{
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	pthread_t t[4];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	for (long i = 0; i < 4; i++)
		t[i] = t_start(errno_keeper, (void *)(intptr_t)i);
	setitimer(ITIMER_REAL, &it, NULL);
	/* And signals aimed at each thread, whose handler also uses errno. */
	sa.sa_handler = on_alarm;
	sigaction(SIGUSR2, &sa, NULL);
	for (long long end = t_now_ns() + 300000000LL; t_now_ns() < end;) {
		for (int i = 0; i < 4; i++)
			pthread_kill(t[i], SIGUSR2);
		usleep(1000);
	}
	setitimer(ITIMER_REAL, &off, NULL);
	sig_stop = 1;
	for (int i = 0; i < 4; i++)
		T_CHECK(!pthread_join(t[i], NULL), "join");
	T_CHECK(alarms > 10, "only %ld SIGALRMs were handled", (long)alarms);
}


static void *forker(void *arg)
{
	pid_t pid;
	int st = 0;

	(void)arg;
	for (int i = 0; i < 10; i++)
		usleep(1);
	pid = fork();
	if (pid == 0) {
		long long t0 = t_now_ns();
		for (int i = 0; i < 10; i++)
			usleep(1);
		usleep(3000);
		_exit(t_now_ns() - t0 >= 3000000 ? 7 : 8);
	}
	T_CHECK(pid > 0, "fork: %s", strerror(errno));
	T_CHECK(waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
	T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "child status %#x, want exit 7", st);
	return (void *)5;
}

static void mode_fork(void)
{
	pthread_t a = t_start(forker, NULL), b = t_start(counting, NULL);
	void *r;

	T_CHECK(!pthread_join(a, &r) && r == (void *)5, "join the forking thread");
	stop_counting = 1;
	T_CHECK(!pthread_join(b, &r) && r == (void *)3, "join the counting thread");
}

/* Affinity changes. */
static cpu_set_t cpu0, every_cpu;
static __thread long moves;

static int allowed(void)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	T_CHECK(!sched_getaffinity(0, sizeof(s), &s), "sched_getaffinity: %s", strerror(errno));
	return CPU_COUNT(&s);
}

static void *mover(void *arg)
{
	pthread_t me = pthread_self();
	cpu_set_t none;

	(void)arg;
	for (int round = 0; round < 3; round++) {
		moves++;
		errno = 1000 + round;
		T_CHECK(!pthread_setaffinity_np(me, sizeof(every_cpu), &every_cpu), "widen");
		T_CHECK(errno == 1000 + round, "errno %d after widening, want %d", errno, 1000 + round);
		T_CHECK(allowed() == CPU_COUNT(&every_cpu), "%d CPUs allowed after widening, want %d",
			allowed(), CPU_COUNT(&every_cpu));
		usleep(200);
		T_CHECK(!sched_setaffinity(0, sizeof(cpu0), &cpu0), "pin: %s", strerror(errno));
		T_CHECK(allowed() == 1, "%d CPUs allowed after pinning, want 1", allowed());
		T_CHECK(sched_getcpu() == 0, "on CPU %d after pinning to 0", sched_getcpu());
		usleep(200);
		T_CHECK(pthread_equal(me, pthread_self()), "pthread_self changed with the affinity");
		T_CHECK(moves == round + 1, "__thread counter %ld, want %d", moves, round + 1);
	}
	CPU_ZERO(&none);
	T_CHECK(pthread_setaffinity_np(me, sizeof(none), &none) == EINVAL, "an empty mask: want EINVAL");
	T_CHECK(sched_setaffinity(0, sizeof(none), &none) == -1 && errno == EINVAL,
		"an empty mask: want -1 and EINVAL");
	T_CHECK(allowed() == 1 && sched_getcpu() == 0, "a refused mask changed the affinity");
	return (void *)11;
}

static _Atomic int target_saw, target_began;

static void *target(void *arg)
{
	long long end = t_now_ns() + 2000000000LL;

	(void)arg;
	target_began = 1;
	while (allowed() != CPU_COUNT(&every_cpu) && t_now_ns() < end)
		usleep(100);
	target_saw = allowed();
	return (void *)12;
}

static void mode_affinity(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t mine, all;
	pthread_t a, b, c;
	void *r;

	/* Every CPU the kernel lets this process have (a cpuset may allow
	 * fewer than are online), found and undone with the raw system
	 * call, which no hook sees. */
	CPU_ZERO(&all);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET((int)i, &all);
	syscall(SYS_sched_getaffinity, 0, sizeof(mine), &mine);
	syscall(SYS_sched_setaffinity, 0, sizeof(all), &all);
	CPU_ZERO(&every_cpu);
	syscall(SYS_sched_getaffinity, 0, sizeof(every_cpu), &every_cpu);
	syscall(SYS_sched_setaffinity, 0, sizeof(mine), &mine);
	if (CPU_COUNT(&every_cpu) < 2 || !CPU_ISSET(0, &every_cpu)) {
		printf("affinity: skipped, fewer than two CPUs or no CPU 0\n");
		return;
	}
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	a = t_start(mover, NULL);
	b = t_start(target, NULL);
	c = t_start(counting, NULL);
	while (!target_began)
		usleep(100);
	T_CHECK(!pthread_setaffinity_np(b, sizeof(every_cpu), &every_cpu), "widen another thread");
	T_CHECK(!pthread_join(a, &r) && r == (void *)11, "join the moving thread");
	T_CHECK(!pthread_join(b, &r) && r == (void *)12, "join the target");
	T_CHECK(target_saw == CPU_COUNT(&every_cpu), "the target saw %d CPUs, want %d",
		target_saw, CPU_COUNT(&every_cpu));
	stop_counting = 1;
	T_CHECK(!pthread_join(c, &r) && r == (void *)3, "join the counting thread");
}

static void *aborter(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		usleep(10);
	abort();
}

static void mode_abort(void)
{
	pthread_t a = t_start(counting, NULL), b = t_start(aborter, NULL);

	pthread_join(b, NULL);
	pthread_join(a, NULL);
	printf("abort: abort() returned\n");
	exit(3);
}

static _Atomic int alone_go;

static void *alone_thread(void *arg)
{
	int cpu = (int)(intptr_t)arg;

	while (!alone_go)
		usleep(100);
	for (int i = 0; i < 300; i++) {
		usleep(50);
		T_CHECK(sched_getcpu() == cpu, "on CPU %d, pinned to %d", sched_getcpu(), cpu);
	}
	return arg;
}

static pthread_t start_on(int cpu)
{
	pthread_attr_t attr;
	cpu_set_t s;
	pthread_t t;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(s), &s);
	T_CHECK(!pthread_create(&t, &attr, alone_thread, (void *)(intptr_t)cpu), "create on CPU %d", cpu);
	pthread_attr_destroy(&attr);
	return t;
}

static void mode_alone(void)
{
	pthread_t t[3];
	void *r;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("alone: skipped, one CPU\n");
		return;
	}
	t[0] = start_on(1);
	t[1] = start_on(0);
	usleep(2000);           /* B waits alone on CPU 0 for a while */
	t[2] = start_on(0);
	alone_go = 1;
	for (int i = 0; i < 3; i++)
		T_CHECK(!pthread_join(t[i], &r) && r == (void *)(intptr_t)(i ? 0 : 1), "join %d", i);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} modes[] = {
		{ "identity", mode_identity }, { "exit", mode_exit },
		{ "mainexit", mode_mainexit }, { "many", mode_many },
		{ "deep", mode_deep }, { "spin", mode_spin }, { "read", mode_read },
		{ "pc", mode_pc }, { "cancel", mode_cancel }, { "fork", mode_fork },
		{ "join", mode_join }, { "signals", mode_signals },
		{ "affinity", mode_affinity }, { "alone", mode_alone }, { "abort", mode_abort },
	};

	if (argc == 3 && !strcmp(argv[1], "many"))
		many_n = atoi(argv[2]);
	if ((argc != 2 && !(argc == 3 && !strcmp(argv[1], "many"))) || many_n < 1) {
		fprintf(stderr, "usage: fibers MODE, or fibers many [THREADS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(argv[1], modes[i].name)) {
			modes[i].run();
			return t_done(argv[1]);
		}
	}
	fprintf(stderr, "fibers: no mode '%s'\n", argv[1]);
	return 2;
}
