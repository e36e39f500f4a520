/* pthread synchronization that must give the same results whether the
 * threads are kernel threads or fibers (run under `taskset -c 0` with
 * CXLMU_SCHED=fibers, and plain). Each mode makes the threads wait on
 * each other many times: a holder sleeps inside its critical section, so
 * the others find the object taken. As fibers they must switch there; a
 * fiber that blocked its host in the kernel instead would stall its core
 * until the monitor's hand-off (the test reads `handoffs` in the report).
 * Run as `fibsync MODE`:
 *   mutex    4 threads add to a counter under a normal mutex, sleeping
 *            inside it now and then; a recursive mutex taken 3 times is
 *            busy for another thread until unlocked 3 times; an
 *            errorcheck mutex: EDEADLK relocking, EPERM unlocking another
 *            thread's; timed and clock locks: ETIMEDOUT after their
 *            deadline (not before) while another holds it, EINVAL for a
 *            bad timespec, and success once the holder lets go
 *   cond     a broadcast wakes 5 waiters; timed waits on a CLOCK_REALTIME
 *            and a CLOCK_MONOTONIC condition variable give ETIMEDOUT at
 *            (not before) their deadline; a wait with an errorcheck mutex
 *            not held gives EPERM; the clock wait as well
 *   rwlock   3 readers are inside at once; a writer is always alone; a
 *            writer asking for a read lock gets EDEADLK; a timed write
 *            lock times out while readers hold it
 *   barrier  5 threads through 200 phases: each sees every slot of the
 *            phase written, and exactly one gets the serial value
 *   sem      producer and consumer over two semaphores, 3000 items, the
 *            sum matches; sem_timedwait times out (ETIMEDOUT, at the
 *            deadline), gives EINVAL for a bad timespec, sem_trywait
 *            EAGAIN, errno kept on success
 *   spin     4 threads add under a spinlock, yielding inside it
 *   spinpost the main thread waits in sem_wait; another posts (sem_post, which
 *            wakes it with a futex wake the runtime does not see) and then
 *            spins, with no call, until the waiter has run: the waiter
 *            must get the CPU within 5 s (as fibers: the monitor must
 *            see the moved word and hand the core on)
 *   once     8 threads call pthread_once whose initializer sleeps 20 ms:
 *            it runs once, and every caller returns after it ended
 *   mixed    (needs 2 CPUs) a kernel thread on every CPU consumes what 3
 *            pinned threads produce, over one mutex and condition variable
 *   cancel   a thread cancelled in pthread_cond_wait runs its cleanup
 *            handler with the mutex held; a cancelled waiter does not take
 *            the signal meant for another; a thread cancelled while it
 *            has cancellation disabled then waits (condition, semaphore)
 *            as asked, ETIMEDOUT
 *   crowd    1000 threads meet at a barrier while the main thread polls
 *            with sched_yield until all passed (more waits at once than
 *            the core's io_uring completion queue holds)
 *   c11      C11 threads: thrd_create, mtx, cnd, call_once, thrd_exit,
 *            thrd_join's result
 * Prints "<mode>: ok" when every check held. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <threads.h>
#include <time.h>

#include "common.h"

static long long now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* abs on clock, ms from now. */
static struct timespec in_ms(clockid_t clock, long ms)
{
	long long t = now_ns(clock) + ms * 1000000LL;
	struct timespec ts = { t / 1000000000LL, t % 1000000000LL };

	return ts;
}

static void join_all(pthread_t *t, int n)
{
	for (int i = 0; i < n; i++)
		T_CHECK(!pthread_join(t[i], NULL), "join %d", i);
}

/* A timed call returned r after waiting from t0 for ms on clock. */
static void timed_out(const char *what, int r, clockid_t clock, long long t0, long ms)
{
	long long waited = now_ns(clock) - t0;

	T_CHECK(r == ETIMEDOUT, "%s: %s, want ETIMEDOUT", what, strerror(r));
	T_CHECK(waited >= ms * 1000000LL, "%s: back after %lld us, before its %ld ms", what,
		waited / 1000, ms);
	T_CHECK(waited < (ms + 2000) * 1000000LL, "%s: back after %lld us", what, waited / 1000);
}

/* ----------------------------------------------------------------------- */
/* mutex                                                                     */
/* ----------------------------------------------------------------------- */

#define ADDERS 4
#define ADDS 3000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long total;

static void *adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < ADDS; i++) {
		T_CHECK(!pthread_mutex_lock(&mu), "lock");
		long v = total;
		if (i % 100 == 0)
			usleep(200);    /* the others find it taken */
		total = v + 1;
		T_CHECK(!pthread_mutex_unlock(&mu), "unlock");
	}
	return NULL;
}

static pthread_mutex_t rec, chk, timed = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int step;

static void *rec_other(void *arg)
{
	(void)arg;
	while (step < 1)
		usleep(100);
	T_CHECK(pthread_mutex_trylock(&rec) == EBUSY, "recursive: another thread's trylock");
	T_CHECK(pthread_mutex_unlock(&chk) == EPERM, "errorcheck: unlock by a non-owner");
	step = 2;
	T_CHECK(!pthread_mutex_lock(&rec), "recursive: lock once free");
	T_CHECK(!pthread_mutex_unlock(&rec), "recursive: unlock");
	return NULL;
}

static void *holder(void *arg)
{
	T_CHECK(!pthread_mutex_lock(&timed), "holder: lock");
	step = 10;
	usleep((useconds_t)(intptr_t)arg * 1000);
	T_CHECK(!pthread_mutex_unlock(&timed), "holder: unlock");
	return NULL;
}

static void mode_mutex(void)
{
	pthread_mutexattr_t a;
	pthread_t t[ADDERS + 1];
	struct timespec ts;
	long long t0;

	for (int i = 0; i < ADDERS; i++)
		t[i] = t_start(adder, NULL);
	join_all(t, ADDERS);
	T_CHECK(total == ADDERS * ADDS, "counter %ld, want %d", total, ADDERS * ADDS);

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&rec, &a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&chk, &a);
	t[0] = t_start(rec_other, NULL);
	for (int i = 0; i < 3; i++)
		T_CHECK(!pthread_mutex_lock(&rec), "recursive: lock %d", i);
	T_CHECK(!pthread_mutex_lock(&chk), "errorcheck: lock");
	T_CHECK(pthread_mutex_lock(&chk) == EDEADLK, "errorcheck: relock");
	step = 1;
	while (step < 2)
		usleep(100);
	for (int i = 0; i < 3; i++)
		T_CHECK(!pthread_mutex_unlock(&rec), "recursive: unlock %d", i);
	T_CHECK(!pthread_mutex_unlock(&chk), "errorcheck: unlock");
	join_all(t, 1);

	/* Held for 300 ms by another thread. */
	step = 0;
	t[0] = t_start(holder, (void *)(intptr_t)300);
	while (step < 10)
		usleep(100);
	t0 = now_ns(CLOCK_REALTIME);
	ts = in_ms(CLOCK_REALTIME, 30);
	timed_out("timedlock", pthread_mutex_timedlock(&timed, &ts), CLOCK_REALTIME, t0, 30);
	t0 = now_ns(CLOCK_MONOTONIC);
	ts = in_ms(CLOCK_MONOTONIC, 30);
	timed_out("clocklock", pthread_mutex_clocklock(&timed, CLOCK_MONOTONIC, &ts),
		  CLOCK_MONOTONIC, t0, 30);
	ts.tv_nsec = 1000000000;
	T_CHECK(pthread_mutex_timedlock(&timed, &ts) == EINVAL, "timedlock: bad timespec");
	ts = in_ms(CLOCK_REALTIME, 10000);
	T_CHECK(!pthread_mutex_timedlock(&timed, &ts), "timedlock once the holder lets go");
	T_CHECK(!pthread_mutex_unlock(&timed), "unlock");
	join_all(t, 1);
}

/* ----------------------------------------------------------------------- */
/* cond                                                                      */
/* ----------------------------------------------------------------------- */

#define WAITERS 5

static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go, arrived_n, woke_n;

static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	arrived_n++;
	while (!go)
		T_CHECK(!pthread_cond_wait(&cv, &mu), "cond_wait");
	woke_n++;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void mode_cond(void)
{
	pthread_condattr_t ca;
	pthread_cond_t mono;
	pthread_mutexattr_t a;
	pthread_mutex_t ec;
	pthread_t t[WAITERS];
	struct timespec ts;
	long long t0;
	int n;

	for (int i = 0; i < WAITERS; i++)
		t[i] = t_start(cond_waiter, NULL);
	do {
		usleep(1000);
		pthread_mutex_lock(&mu);
		n = arrived_n;
		pthread_mutex_unlock(&mu);
	} while (n < WAITERS);
	usleep(20000);
	pthread_mutex_lock(&mu);
	T_CHECK(woke_n == 0, "%d woke before the broadcast", woke_n);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	join_all(t, WAITERS);
	T_CHECK(woke_n == WAITERS, "%d of %d woke", woke_n, WAITERS);

	pthread_mutex_lock(&mu);
	t0 = now_ns(CLOCK_REALTIME);
	ts = in_ms(CLOCK_REALTIME, 40);
	timed_out("cond_timedwait (realtime)", pthread_cond_timedwait(&cv, &mu, &ts),
		  CLOCK_REALTIME, t0, 40);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mono, &ca);
	t0 = now_ns(CLOCK_MONOTONIC);
	ts = in_ms(CLOCK_MONOTONIC, 40);
	timed_out("cond_timedwait (monotonic)", pthread_cond_timedwait(&mono, &mu, &ts),
		  CLOCK_MONOTONIC, t0, 40);
	t0 = now_ns(CLOCK_MONOTONIC);
	ts = in_ms(CLOCK_MONOTONIC, 40);
	timed_out("cond_clockwait", pthread_cond_clockwait(&cv, &mu, CLOCK_MONOTONIC, &ts),
		  CLOCK_MONOTONIC, t0, 40);
	/* Still held after each. */
	T_CHECK(pthread_mutex_trylock(&mu) == EBUSY, "the mutex is held after the waits");
	pthread_mutex_unlock(&mu);

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&ec, &a);
	T_CHECK(pthread_cond_wait(&cv, &ec) == EPERM, "cond_wait, mutex not held");
}

/* ----------------------------------------------------------------------- */
/* rwlock                                                                    */
/* ----------------------------------------------------------------------- */

#define READERS 3

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static _Atomic int readers_in, readers_max, writers_in, readers_done;
static long rw_value;

static void *reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		T_CHECK(!pthread_rwlock_rdlock(&rw), "rdlock");
		int in = ++readers_in;
		int m = readers_max;
		while (in > m && !atomic_compare_exchange_weak(&readers_max, &m, in))
			;
		T_CHECK(writers_in == 0, "a reader with a writer inside");
		usleep(i % 10 ? 100 : 3000);
		readers_in--;
		T_CHECK(!pthread_rwlock_unlock(&rw), "unlock");
	}
	readers_done++;
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++) {
		T_CHECK(!pthread_rwlock_wrlock(&rw), "wrlock");
		T_CHECK(++writers_in == 1 && readers_in == 0, "a writer not alone");
		rw_value++;
		if (i % 10 == 0)
			usleep(500);
		writers_in--;
		T_CHECK(!pthread_rwlock_unlock(&rw), "unlock");
		usleep(100);
	}
	return NULL;
}

static void mode_rwlock(void)
{
	pthread_t t[READERS + 1];
	struct timespec ts;
	long long t0;

	T_CHECK(!pthread_rwlock_wrlock(&rw), "wrlock");
	T_CHECK(pthread_rwlock_rdlock(&rw) == EDEADLK, "rdlock by the writer");
	T_CHECK(!pthread_rwlock_unlock(&rw), "unlock");
	for (int i = 0; i < READERS; i++)
		t[i] = t_start(reader, NULL);
	t[READERS] = t_start(writer, NULL);
	/* While readers hold it, a write lock with a deadline times out. */
	while (readers_in == 0 && readers_done < READERS)
		usleep(50);
	if (readers_done < READERS) {
		t0 = now_ns(CLOCK_MONOTONIC);
		ts = in_ms(CLOCK_MONOTONIC, 1);
		int r = pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &ts);
		if (r == 0) {
			writers_in++;
			writers_in--;
			pthread_rwlock_unlock(&rw);
		} else {
			timed_out("clockwrlock", r, CLOCK_MONOTONIC, t0, 1);
		}
	}
	join_all(t, READERS + 1);
	T_CHECK(readers_max >= 2, "at most %d reader(s) inside at once", readers_max);
	T_CHECK(rw_value == 100, "writers counted %ld, want 100", rw_value);
}

/* ----------------------------------------------------------------------- */
/* barrier                                                                   */
/* ----------------------------------------------------------------------- */

#define PARTIES 5
#define PHASES 200

static pthread_barrier_t bar;
static int slot[PHASES][PARTIES];
static _Atomic int serials[PHASES];

static void *party(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (int p = 0; p < PHASES; p++) {
		if ((p + id) % 17 == 0)
			usleep(300);
		slot[p][id] = p + 1;
		int r = pthread_barrier_wait(&bar);
		T_CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD, "barrier_wait: %d", r);
		if (r == PTHREAD_BARRIER_SERIAL_THREAD)
			serials[p]++;
		for (int j = 0; j < PARTIES; j++)
			T_CHECK(slot[p][j] == p + 1, "phase %d: slot %d not written", p, j);
	}
	return NULL;
}

static void mode_barrier(void)
{
	pthread_t t[PARTIES];

	T_CHECK(pthread_barrier_init(&bar, NULL, 0) == EINVAL, "barrier of 0");
	T_CHECK(!pthread_barrier_init(&bar, NULL, PARTIES), "barrier_init");
	for (int i = 0; i < PARTIES; i++)
		t[i] = t_start(party, (void *)(intptr_t)i);
	join_all(t, PARTIES);
	for (int p = 0; p < PHASES; p++)
		T_CHECK(serials[p] == 1, "phase %d: %d serial threads", p, serials[p]);
	T_CHECK(!pthread_barrier_destroy(&bar), "barrier_destroy");
}

/* ----------------------------------------------------------------------- */
/* sem                                                                       */
/* ----------------------------------------------------------------------- */

#define ITEMS 3000

static sem_t filled, empty;
static long ring[4], got_sum;

static void *sem_producer(void *arg)
{
	(void)arg;
	for (long i = 1; i <= ITEMS; i++) {
		T_CHECK(!sem_wait(&empty), "sem_wait empty");
		ring[i % 4] = i;
		T_CHECK(!sem_post(&filled), "sem_post filled");
		if (i % 300 == 0)
			usleep(500);
	}
	return NULL;
}

static void *sem_consumer(void *arg)
{
	(void)arg;
	for (long i = 1; i <= ITEMS; i++) {
		T_CHECK(!sem_wait(&filled), "sem_wait filled");
		got_sum += ring[i % 4];
		T_CHECK(!sem_post(&empty), "sem_post empty");
	}
	return NULL;
}

static sem_t sp_sem;
static _Atomic int sp_waiting, sp_done;

static void *sp_poster(void *arg)
{
	long long end;

	(void)arg;
	while (!sp_waiting)
		sched_yield();
	/* Time for the waiter to be parked in its wait. */
	for (int i = 0; i < 100; i++)
		sched_yield();
	usleep(20000);
	T_CHECK(!sem_post(&sp_sem), "spinpost: sem_post");
	end = now_ns(CLOCK_MONOTONIC) + 5000000000LL;
	while (!sp_done && now_ns(CLOCK_MONOTONIC) < end)
		;
	T_CHECK(sp_done, "spinpost: the waiter did not run within 5 s of the post");
	return NULL;
}

/* The main thread waits itself: no other fiber has a deadline that
 * would make the core switch (and look at the words) meanwhile. */
static void mode_spinpost(void)
{
	pthread_t p;

	T_CHECK(!sem_init(&sp_sem, 0, 0), "sem_init");
	p = t_start(sp_poster, NULL);
	sp_waiting = 1;
	T_CHECK(!sem_wait(&sp_sem), "spinpost: sem_wait");
	sp_done = 1;
	pthread_join(p, NULL);
	sem_destroy(&sp_sem);
}

static void mode_sem(void)
{
	pthread_t t[2];
	struct timespec ts;
	long long t0;
	sem_t s;
	int r;

	sem_init(&filled, 0, 0);
	sem_init(&empty, 0, 4);
	t[0] = t_start(sem_producer, NULL);
	t[1] = t_start(sem_consumer, NULL);
	join_all(t, 2);
	T_CHECK(got_sum == (long)ITEMS * (ITEMS + 1) / 2, "sum %ld", got_sum);

	sem_init(&s, 0, 0);
	errno = 0;
	T_CHECK(sem_trywait(&s) == -1 && errno == EAGAIN, "sem_trywait: errno %d", errno);
	t0 = now_ns(CLOCK_REALTIME);
	ts = in_ms(CLOCK_REALTIME, 30);
	errno = 0;
	r = sem_timedwait(&s, &ts);
	timed_out("sem_timedwait", r == -1 ? errno : 0, CLOCK_REALTIME, t0, 30);
	t0 = now_ns(CLOCK_MONOTONIC);
	ts = in_ms(CLOCK_MONOTONIC, 30);
	errno = 0;
	r = sem_clockwait(&s, CLOCK_MONOTONIC, &ts);
	timed_out("sem_clockwait", r == -1 ? errno : 0, CLOCK_MONOTONIC, t0, 30);
	ts.tv_nsec = -1;
	errno = 0;
	T_CHECK(sem_timedwait(&s, &ts) == -1 && errno == EINVAL, "sem_timedwait: bad timespec");
	sem_post(&s);
	errno = 1234;
	T_CHECK(!sem_wait(&s) && errno == 1234, "sem_wait: errno changed on success");
}

/* ----------------------------------------------------------------------- */
/* spin                                                                      */
/* ----------------------------------------------------------------------- */

static pthread_spinlock_t spin;

static void *spin_adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < ADDS; i++) {
		T_CHECK(!pthread_spin_lock(&spin), "spin_lock");
		long v = total;
		if (i % 100 == 0)
			sched_yield();
		total = v + 1;
		pthread_spin_unlock(&spin);
	}
	return NULL;
}

static void mode_spin(void)
{
	pthread_t t[ADDERS];

	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	for (int i = 0; i < ADDERS; i++)
		t[i] = t_start(spin_adder, NULL);
	join_all(t, ADDERS);
	T_CHECK(total == ADDERS * ADDS, "counter %ld, want %d", total, ADDERS * ADDS);
}

/* ----------------------------------------------------------------------- */
/* once                                                                      */
/* ----------------------------------------------------------------------- */

#define CALLERS 8

static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic int inits, ready;

static void init_slowly(void)
{
	inits++;
	usleep(20000);
	ready = 1;
}

static void *once_caller(void *arg)
{
	(void)arg;
	T_CHECK(!pthread_once(&once, init_slowly), "pthread_once");
	T_CHECK(ready, "pthread_once returned before the initializer ended");
	return NULL;
}

static void mode_once(void)
{
	pthread_t t[CALLERS];

	for (int i = 0; i < CALLERS; i++)
		t[i] = t_start(once_caller, NULL);
	join_all(t, CALLERS);
	T_CHECK(inits == 1, "the initializer ran %d times", inits);
}

/* ----------------------------------------------------------------------- */
/* mixed                                                                     */
/* ----------------------------------------------------------------------- */

static long q[4], q_sum;
static int q_len, q_head, q_done;
static pthread_cond_t q_nonempty = PTHREAD_COND_INITIALIZER, q_nonfull = PTHREAD_COND_INITIALIZER;

static void *q_producer(void *arg)
{
	long base = (long)(intptr_t)arg * ITEMS;

	for (long i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&mu);
		while (q_len == 4)
			pthread_cond_wait(&q_nonfull, &mu);
		q[(q_head + q_len++) % 4] = base + i;
		pthread_cond_signal(&q_nonempty);
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_lock(&mu);
	q_done++;
	pthread_cond_broadcast(&q_nonempty);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *q_consumer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (q_len == 0 && q_done < 3)
			pthread_cond_wait(&q_nonempty, &mu);
		if (q_len == 0)
			break;
		q_sum += q[q_head];
		q_head = (q_head + 1) % 4;
		q_len--;
		pthread_cond_broadcast(&q_nonfull);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void mode_mixed(void)
{
	pthread_attr_t a;
	cpu_set_t every;
	pthread_t t[4];
	long want = 0;

	/* The consumer may run on any CPU: a kernel thread. */
	CPU_ZERO(&every);
	for (int i = 0; i < (int)sysconf(_SC_NPROCESSORS_ONLN) && i < CPU_SETSIZE; i++)
		CPU_SET(i, &every);
	pthread_attr_init(&a);
	pthread_attr_setaffinity_np(&a, sizeof(every), &every);
	T_CHECK(!pthread_create(&t[3], &a, q_consumer, NULL), "create the consumer");
	for (int i = 0; i < 3; i++)
		t[i] = t_start(q_producer, (void *)(intptr_t)i);
	join_all(t, 4);
	for (long p = 0; p < 3; p++)
		want += p * ITEMS * ITEMS + (long)ITEMS * (ITEMS + 1) / 2;
	T_CHECK(q_sum == want, "sum %ld, want %ld", q_sum, want);
}

/* ----------------------------------------------------------------------- */
/* cancel                                                                    */
/* ----------------------------------------------------------------------- */

static pthread_cond_t ccv = PTHREAD_COND_INITIALIZER;
static _Atomic int c_waiting, c_cleaned, c_pred;

static void unlock_mu(void *arg)
{
	(void)arg;
	T_CHECK(pthread_mutex_trylock(&mu) == EBUSY, "cleanup: the mutex is not held");
	c_cleaned++;
	pthread_mutex_unlock(&mu);
}

static void *c_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	pthread_cleanup_push(unlock_mu, NULL);
	c_waiting++;
	while (!c_pred)
		pthread_cond_wait(&ccv, &mu);
	pthread_cleanup_pop(0);
	pthread_mutex_unlock(&mu);
	return (void *)1;
}

static void *deaf_waiter(void *arg)
{
	struct timespec ts;
	sem_t s;
	int r;

	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (!c_pred)
		usleep(100);
	pthread_mutex_lock(&mu);
	ts = in_ms(CLOCK_REALTIME, 20);
	r = pthread_cond_timedwait(&ccv, &mu, &ts);
	T_CHECK(r == ETIMEDOUT, "cancellation disabled: cond_timedwait %s", strerror(r));
	pthread_mutex_unlock(&mu);
	sem_init(&s, 0, 0);
	ts = in_ms(CLOCK_REALTIME, 20);
	errno = 0;
	T_CHECK(sem_timedwait(&s, &ts) == -1 && errno == ETIMEDOUT,
		"cancellation disabled: sem_timedwait, errno %d", errno);
	return (void *)2;
}

static void mode_cancel(void)
{
	pthread_t a, b, d;
	void *ra, *rb;

	/* Two waiters; one is cancelled, then the other is signalled once. */
	a = t_start(c_waiter, NULL);
	b = t_start(c_waiter, NULL);
	while (c_waiting < 2)
		usleep(1000);
	usleep(5000);
	T_CHECK(!pthread_cancel(a), "cancel");
	pthread_mutex_lock(&mu);
	c_pred = 1;
	pthread_cond_signal(&ccv);
	pthread_mutex_unlock(&mu);
	T_CHECK(!pthread_join(a, &ra), "join the cancelled waiter");
	T_CHECK(!pthread_join(b, &rb), "join the other (a lost signal hangs here)");
	T_CHECK(ra == PTHREAD_CANCELED || ra == (void *)1, "cancelled waiter gave %p", ra);
	T_CHECK(rb == (void *)1, "the other waiter gave %p", rb);
	T_CHECK(c_cleaned == (ra == PTHREAD_CANCELED), "cleanup handlers ran %d times", c_cleaned);

	c_pred = 0;
	d = t_start(deaf_waiter, NULL);
	T_CHECK(!pthread_cancel(d), "cancel the deaf waiter");
	c_pred = 1;
	T_CHECK(!pthread_join(d, &ra) && ra == (void *)2, "deaf waiter gave %p", ra);
}

/* ----------------------------------------------------------------------- */
/* crowd                                                                     */
/* ----------------------------------------------------------------------- */

#define CROWD 1000

static pthread_barrier_t crowd_bar;
static _Atomic int crowd_passed;

static void *crowd_member(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&crowd_bar);
	crowd_passed++;
	return NULL;
}

static void mode_crowd(void)
{
	static pthread_t t[CROWD];
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_barrier_init(&crowd_bar, NULL, CROWD);
	for (int i = 0; i < CROWD; i++)
		T_CHECK(!pthread_create(&t[i], &a, crowd_member, NULL), "create %d", i);
	while (crowd_passed < CROWD)
		sched_yield();
	join_all(t, CROWD);
}

/* ----------------------------------------------------------------------- */
/* c11                                                                       */
/* ----------------------------------------------------------------------- */

static mtx_t cm;
static cnd_t cc;
static once_flag c_once = ONCE_FLAG_INIT;
static _Atomic int c_inits;
static int c_turn;

static void c_init(void)
{
	c_inits++;
}

/* Two threads take turns 500 times each; the second ends with thrd_exit. */
static int c_thread(void *arg)
{
	int me = (int)(intptr_t)arg;

	call_once(&c_once, c_init);
	for (int i = 0; i < 500; i++) {
		T_CHECK(mtx_lock(&cm) == thrd_success, "mtx_lock");
		while (c_turn != me)
			T_CHECK(cnd_wait(&cc, &cm) == thrd_success, "cnd_wait");
		c_turn = !me;
		cnd_broadcast(&cc);
		mtx_unlock(&cm);
	}
	if (me)
		thrd_exit(40 + me);
	return 40 + me;
}

static void mode_c11(void)
{
	thrd_t t[2];
	struct timespec ts;
	int res[2] = { 0, 0 };

	mtx_init(&cm, mtx_timed);
	cnd_init(&cc);
	for (int i = 0; i < 2; i++)
		T_CHECK(thrd_create(&t[i], c_thread, (void *)(intptr_t)i) == thrd_success,
			"thrd_create");
	for (int i = 0; i < 2; i++)
		T_CHECK(thrd_join(t[i], &res[i]) == thrd_success, "thrd_join");
	T_CHECK(res[0] == 40 && res[1] == 41, "results %d %d", res[0], res[1]);
	T_CHECK(c_inits == 1, "call_once ran %d times", c_inits);
	mtx_lock(&cm);
	ts = in_ms(CLOCK_REALTIME, 20);
	T_CHECK(cnd_timedwait(&cc, &cm, &ts) == thrd_timedout, "cnd_timedwait");
	mtx_unlock(&cm);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} modes[] = {
		{ "mutex", mode_mutex }, { "cond", mode_cond }, { "rwlock", mode_rwlock },
		{ "barrier", mode_barrier }, { "sem", mode_sem }, { "spin", mode_spin },
		{ "once", mode_once }, { "mixed", mode_mixed }, { "c11", mode_c11 },
		{ "cancel", mode_cancel }, { "crowd", mode_crowd }, { "spinpost", mode_spinpost },
	};

	if (argc != 2) {
		fprintf(stderr, "usage: fibsync MODE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(argv[1], modes[i].name)) {
			modes[i].run();
			return t_done(argv[1]);
		}
	}
	fprintf(stderr, "fibsync: no mode '%s'\n", argv[1]);
	return 2;
}
