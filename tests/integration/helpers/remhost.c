/* Remote calls seen from the caller (tests/integration/remote.sh).
 *
 *   remhost values        every register class, errno; the same output
 *                         with and without --remote
 *   remhost where         whether rf_tid ran on another thread: "remote"
 *                         or "local", and a nested call on the agent
 *   remhost dlsym         the same functions reached through dlsym
 *   remhost late MODULE   a module loaded after start, calling through its
 *                         PLT, and a function reached by dlsym only
 *   remhost stuck         fibers of one CPU go on while one of them waits
 *                         for an agent that is stuck
 *   remhost fork          fork while fibers' calls are in flight
 *   remhost api           cxlmu_remote_submit/await, cxlmu_wait_word/wake_word
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "remfns.h"

static long my_tid(void)
{
	return syscall(SYS_gettid);
}

static int values(void)
{
	struct rf_pair p = rf_pair(5, -7);
	struct rf_dpair d = rf_dpair(1.5, 2.5);
	struct rf_mix m = rf_mix(10, 0.125);
	struct rf_big b = rf_big(-12);
	int r, e;

	printf("add %d\n", rf_add(40, 2));
	printf("scale %.17g\n", rf_scale(1.1, 3.3));
	printf("pair %ld %ld\n", p.a, p.b);
	printf("dpair %.17g %.17g\n", d.x, d.y);
	printf("mix %ld %.17g\n", m.a, m.b);
	printf("big %ld %ld %ld\n", b.a, b.b, b.c);
	printf("fmul %.9g\n", (double)rf_fmul(1.5f, -2.25f));
	printf("mixargs %.17g\n", rf_mixargs(1, 0.5, 3, 0.25f, 5, 1.0 / 3, 7, 0.125, 9));
	printf("eight %.17g\n", rf_eight(1.5, 2, 4, 8, 16.25, 32, 64, 128));
	errno = 0;
	r = rf_fail(ENOENT);
	e = errno;
	printf("fail %d errno %s\n", r, strerror(e));
	errno = EDOM;
	r = rf_keep();
	e = errno;
	printf("keep %d errno %s\n", r, strerror(e));
	printf("sum7 %d\n", rf_sum7(1, 2, 3, 4, 5, 6, 7));
	printf("vsum %d\n", rf_vsum(4, 10, 20, 30, 40));
	printf("ldbl %.3Lf\n", rf_ldbl(1.5L));
	return 0;
}

static int where(void)
{
	long t = rf_tid(), me = my_tid();

	printf("rf_tid %s\n", t == me ? "local" : "remote");
	printf("nested %s\n", rf_nested_tid() == t ? "same" : "other");
	return 0;
}

static int via_dlsym(void)
{
	void *self = dlopen(NULL, RTLD_NOW);
	long (*tid)(void) = (long (*)(void))dlsym(RTLD_DEFAULT, "rf_tid");
	int (*add)(int, int) = (int (*)(int, int))dlsym(self, "rf_add");
	void *next = dlsym(RTLD_NEXT, "rf_tid");

	T_CHECK(tid && add, "dlsym found rf_tid %p, rf_add %p", (void *)tid, (void *)add);
	if (!tid || !add)
		return 1;
	printf("dlsym add %d\n", add(20, 22));
	printf("dlsym rf_tid %s\n", tid() == my_tid() ? "local" : "remote");
	printf("dlsym RTLD_NEXT %s\n", next ? "found" : "none");
	return 0;
}

static int late(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	long (*plt)(void), (*own)(void);

	T_CHECK(h, "dlopen %s: %s", path, dlerror());
	if (!h)
		return 1;
	plt = (long (*)(void))dlsym(h, "late_via_plt");
	own = (long (*)(void))dlsym(h, "late_tid");
	T_CHECK(plt && own, "dlsym late_via_plt %p late_tid %p", (void *)plt, (void *)own);
	if (!plt || !own)
		return 1;
	printf("late plt %s\n", plt() == my_tid() ? "local" : "remote");
	printf("late dlsym %s\n", own() == my_tid() ? "local" : "remote");
	return 0;
}

static void pin0(void)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(0, &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

/* stuck: fiber 0 waits for rf_stuck; fibers 1..3 sleep and work. */
static atomic_int others_done, stuck_back;

static void *stuck_fiber(void *arg)
{
	pin0();
	atomic_store(&stuck_back, rf_stuck() ? 1 : 2);
	return arg;
}

static void *other_fiber(void *arg)
{
	volatile unsigned x = 0;

	pin0();
	for (int i = 0; i < 20; i++) {
		for (int k = 0; k < 100000; k++)
			x += (unsigned)k;
		usleep(1000);
	}
	atomic_fetch_add(&others_done, 1);
	return arg;
}

static int stuck(void)
{
	pthread_t t[4];
	long long until;

	t[0] = t_start(stuck_fiber, NULL);
	usleep(50000);
	for (int i = 1; i < 4; i++)
		t[i] = t_start(other_fiber, NULL);
	until = t_now_ns() + 8000000000LL;
	while (atomic_load(&others_done) < 3 && t_now_ns() < until)
		usleep(1000);
	T_CHECK(atomic_load(&others_done) == 3, "only %d of 3 fibers finished while the agent "
		"was stuck", atomic_load(&others_done));
	T_CHECK(!atomic_load(&stuck_back), "the stuck call came back before its release");
	rf_release();
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	T_CHECK(atomic_load(&stuck_back) == 1, "the stuck call returned %d after its release",
		atomic_load(&stuck_back));
	return 0;
}

/* fork: fibers call rf_add in a loop while the main thread forks. */
static atomic_int calls_made, bad;

static void *adder(void *arg)
{
	long id = (long)arg;

	pin0();
	if (rf_tid() == my_tid())
		atomic_fetch_add(&bad, 1000);   /* the calls must be remote ones */
	for (int i = 0; i < 3000; i++) {
		if (rf_add((int)id, i) != (int)id + i)
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add(&calls_made, 1);
	}
	return NULL;
}

static int forking(void)
{
	pthread_t t[4];
	int st;

	for (long i = 0; i < 4; i++)
		t[i] = t_start(adder, (void *)(i * 1000));
	while (atomic_load(&calls_made) < 500)
		usleep(100);
	for (int k = 0; k < 3; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			/* The child's own agent: a new one, and right. */
			int ok = rf_add(20, 22) == 42 && rf_tid() != my_tid() && rf_add(1, 2) == 3;
			_exit(ok ? 0 : 3);
		}
		T_CHECK(pid > 0, "fork: %s", strerror(errno));
		if (pid > 0) {
			T_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
				"child %d: status %#x", k, st);
		}
		usleep(2000);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	T_CHECK(atomic_load(&bad) == 0, "%d wrong results", atomic_load(&bad));
	T_CHECK(atomic_load(&calls_made) == 12000, "%d calls made", atomic_load(&calls_made));
	return 0;
}

/* api: the explicit calls of cxlmu.h, reached through dlsym. */
typedef struct cxlmu_call cxlmu_call_t;
static cxlmu_call_t *(*submit)(void *(*)(void *), void *, int);
static int (*await_)(cxlmu_call_t *, void **);
static int (*wait_word)(const uint32_t *, uint32_t, const struct timespec *);
static int (*wake_word)(const uint32_t *, int);
static uint32_t word;
static atomic_int api_bad;

static void *twice(void *arg)
{
	errno = ERANGE;
	return (void *)((long)arg * 2 + (my_tid() == (long)getpid() ? 1000000 : 0));
}

static void *slow(void *arg)
{
	usleep(5000);
	return arg;
}

/* On the agent: a call submitted from there runs there, at once. */
static void *outer(void *arg)
{
	cxlmu_call_t *c = submit(twice, arg, -1);
	void *r = NULL;

	if (!c || await_(c, &r))
		return (void *)-1L;
	return (void *)((long)r + 1);
}

static void *waker(void *arg)
{
	usleep(20000);
	__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	wake_word(&word, 1);
	return arg;
}

static void *api_fiber(void *arg)
{
	long id = (long)arg;

	pin0();
	for (long i = 0; i < 200; i++) {
		cxlmu_call_t *c = submit(twice, (void *)(id * 1000 + i), -1);
		void *r = NULL;
		if (!c || await_(c, &r) || (long)r != 2 * (id * 1000 + i))
			atomic_fetch_add(&api_bad, 1);
	}
	return NULL;
}

static int api(void)
{
	struct timespec ts = { 0, 20000000 }, bad_ts = { 0, 1000000000L };
	cxlmu_call_t *c;
	void *r = NULL;
	pthread_t t[4];
	long long t0;
	uint32_t pair[2] = { 0, 0 };
	int e;

	submit = (cxlmu_call_t *(*)(void *(*)(void *), void *, int))dlsym(RTLD_DEFAULT,
									     "cxlmu_remote_submit");
	await_ = (int (*)(cxlmu_call_t *, void **))dlsym(RTLD_DEFAULT, "cxlmu_remote_await");
	wait_word = (int (*)(const uint32_t *, uint32_t, const struct timespec *))
		dlsym(RTLD_DEFAULT, "cxlmu_wait_word");
	wake_word = (int (*)(const uint32_t *, int))dlsym(RTLD_DEFAULT, "cxlmu_wake_word");
	T_CHECK(submit && await_ && wait_word && wake_word, "the remote API is not exported");
	if (!submit || !await_ || !wait_word || !wake_word)
		return 1;
	/* A call: its result, its errno, run on another thread. */
	c = submit(twice, (void *)21, -1);
	T_CHECK(c, "submit: %s", strerror(errno));
	errno = 0;
	T_CHECK(c && await_(c, &r) == 0 && (long)r == 42, "await gave %ld", (long)r);
	e = errno;
	T_CHECK(e == ERANGE, "errno after await %d, want ERANGE", e);
	errno = 0;
	T_CHECK(!submit(twice, NULL, 5) && errno == EINVAL, "node 5: want NULL, EINVAL");
	errno = 0;
	T_CHECK(!submit(NULL, NULL, -1) && errno == EINVAL, "fn NULL: want NULL, EINVAL");
	/* The int-returning calls return -errno and leave errno alone. */
	errno = EDOM;
	e = await_(NULL, &r);
	T_CHECK(e == -EINVAL && errno == EDOM, "await(NULL): %d, errno %d; want -EINVAL, errno kept",
		e, errno);
	/* Waiting for a word: a timeout, a wake, a word already changed. */
	t0 = t_now_ns();
	errno = EDOM;
	e = wait_word(&word, 0, &ts);
	T_CHECK(e == -ETIMEDOUT && errno == EDOM,
		"wait_word: %d, errno %d; want -ETIMEDOUT, errno kept", e, errno);
	T_CHECK(t_now_ns() - t0 >= 20000000, "wait_word timed out after %lld ns",
		t_now_ns() - t0);
	/* Nothing of that wait is left behind: no waiter to wake, and a
	 * kernel thread's next wait (a slow call's) is woken by its own word. */
	T_CHECK(wake_word(&word, 1) == 0, "a timed-out wait still took a wake-up");
	c = submit(slow, (void *)7, -1);
	r = NULL;
	T_CHECK(c && await_(c, &r) == 0 && (long)r == 7, "slow call after a timeout: %ld", (long)r);
	c = submit(outer, (void *)10, -1);
	r = NULL;
	T_CHECK(c && await_(c, &r) == 0 && (long)r == 21, "a call submitted on the agent: %ld",
		(long)r);
	/* Submitted before fork, awaited on both sides. */
	c = submit(slow, (void *)9, -1);
	{
		pid_t pid = fork();
		int st = 0;
		if (pid == 0) {
			r = NULL;
			_exit(c && await_(c, &r) == 0 && (long)r == 9 ? 0 : 3);
		}
		r = NULL;
		T_CHECK(c && await_(c, &r) == 0 && (long)r == 9, "await in the parent: %ld", (long)r);
		T_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
			WEXITSTATUS(st) == 0, "await in the child of a call sent before fork: %#x", st);
	}
	t[0] = t_start(waker, NULL);
	t0 = t_now_ns();
	while (!__atomic_load_n(&word, __ATOMIC_ACQUIRE) && t_now_ns() - t0 < 5000000000LL)
		T_CHECK(wait_word(&word, 0, NULL) == 0, "wait_word: want 0");
	T_CHECK(word == 1, "the word did not change");
	pthread_join(t[0], NULL);
	T_CHECK(wait_word(&word, 0, NULL) == 0, "wait_word on a changed word: want 0");
	errno = EDOM;
	e = wait_word((uint32_t *)((char *)pair + 1), 0, NULL);
	T_CHECK(e == -EINVAL && errno == EDOM, "misaligned word: %d, errno %d; want -EINVAL, errno kept",
		e, errno);
	T_CHECK(wait_word(NULL, 0, NULL) == -EINVAL, "wait_word(NULL): want -EINVAL");
	T_CHECK(wait_word(&word, 1, &bad_ts) == -EINVAL, "tv_nsec 1e9: want -EINVAL");
	errno = EDOM;
	e = wake_word(&word, 0);
	T_CHECK(e == -EINVAL && errno == EDOM, "wake count 0: %d, errno %d; want -EINVAL, errno kept",
		e, errno);
	T_CHECK(wake_word(NULL, 1) == -EINVAL, "wake_word(NULL): want -EINVAL");
	T_CHECK(wake_word(&word, 1) == 0, "wake with no waiter: want 0");
	/* Fibers of one CPU, all submitting and awaiting. */
	for (long i = 0; i < 4; i++)
		t[i] = t_start(api_fiber, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	T_CHECK(atomic_load(&api_bad) == 0, "%d fiber calls went wrong", atomic_load(&api_bad));
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	if (argc >= 2 && !strcmp(argv[1], "values"))
		r = values();
	else if (argc >= 2 && !strcmp(argv[1], "where"))
		r = where();
	else if (argc >= 2 && !strcmp(argv[1], "dlsym"))
		r = via_dlsym();
	else if (argc >= 3 && !strcmp(argv[1], "late"))
		r = late(argv[2]);
	else if (argc >= 2 && !strcmp(argv[1], "stuck"))
		r = stuck();
	else if (argc >= 2 && !strcmp(argv[1], "fork"))
		r = forking();
	else if (argc >= 2 && !strcmp(argv[1], "api"))
		r = api();
	else
		fprintf(stderr, "usage: remhost values|where|dlsym|late MODULE|stuck|fork|api\n");
	fflush(stdout);
	return r ? r : t_failures ? 1 : 0;
}
