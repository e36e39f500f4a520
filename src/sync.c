/* A fiber's waits where a kernel thread would block in libc's call:
 * synchronization objects, joins, sleeps, and the cancellation point
 * (src/sync.h says how each follows glibc's own wake-ups). The main
 * functions are cxlmu_sync_mutex_lock, cxlmu_sync_cond_wait and
 * cxlmu_sync_sem_wait; glibc's layouts are read through src/glibc_abi.h,
 * libc's own functions called through src/libc.h. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "deadline.h"
#include "libc.h"
#include "prim.h"
#include "sched_thread.h"
#include "sched_wait.h"
#include "scheduler.h"
#include "sync.h"

/* ----------------------------------------------------------------------- */
/* Deadlines                                                                 */
/* ----------------------------------------------------------------------- */

static bool clock_ok(clockid_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

/* The scheduler's deadline for abs on clock: 0, -EINVAL (a clock these
 * calls do not take, tv_nsec out of range) or -ETIMEDOUT (abs has
 * passed). A CLOCK_REALTIME deadline is taken again after each wait, so
 * that a clock step is followed. */
static int deadline_at(clockid_t clock, const struct timespec *abs, uint64_t *deadline)
{
	if (!clock_ok(clock))
		return -EINVAL;
	return cxlmu_deadline(clock, abs, true, deadline);
}

/* ----------------------------------------------------------------------- */
/* Mutexes                                                                   */
/* ----------------------------------------------------------------------- */

/* A waiter that gives up (its deadline passed) may have taken the wake
 * an unlock meant for the others: as glibc's waiters do, it leaves the
 * word at 2 for the holder's unlock to wake them, or, the lock being
 * free, wakes one itself. */
static void pass_on(_Atomic int *word, bool shared)
{
	int v = 1;

	if (!atomic_compare_exchange_strong(word, &v, 2) && v == 0)
		cxlmu_prim_raw(SYS_futex, (long)word, FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG),
			       1, 0, 0, 0);
}

/* glibc's trylock, and between tries a wait on the lock word, marked 2 as
 * glibc's own waiters mark it so that the unlock wakes it. Once it got the
 * lock after waiting, the word stays 2: other waiters may sleep on it
 * still. Errors and kinds are glibc's (trylock decides); only EDEADLK for
 * an errorcheck relock is said here, as trylock says EBUSY. */
int cxlmu_sync_mutex_lock(pthread_mutex_t *m, struct cxlmu_uthread *f, clockid_t clock,
			  const struct timespec *abs)
{
	_Atomic int *word = cxlmu_glibc_mutex_word(m);
	bool shared = cxlmu_glibc_mutex_kind(m) & CXLMU_GLIBC_MUTEX_PSHARED, waited = false;
	uint64_t deadline = 0;
	int r, v;

	for (;;) {
		r = __pthread_mutex_trylock(m);
		if (r != EBUSY) {
			if (!r && waited)
				atomic_store_explicit(word, 2, memory_order_relaxed);
			return -r;
		}
		if ((cxlmu_glibc_mutex_kind(m) & CXLMU_GLIBC_MUTEX_TYPE) == PTHREAD_MUTEX_ERRORCHECK_NP &&
		    cxlmu_glibc_mutex_owner(m) == cxlmu_sched_tid(f))
			return -EDEADLK;
		if (abs && (r = deadline_at(clock, abs, &deadline))) {
			if (r == -ETIMEDOUT && waited)
				pass_on(word, shared);
			return r;
		}
		v = atomic_load_explicit(word, memory_order_relaxed);
		if (v == 0 || (v == 1 && !atomic_compare_exchange_strong(word, &v, 2)))
			continue;
		cxlmu_sched_futex_wait(word, 2, shared, deadline);
		waited = true;
	}
}

/* ----------------------------------------------------------------------- */
/* Condition variables                                                       */
/* ----------------------------------------------------------------------- */

struct release {
	pthread_mutex_t *m;
	int err;
};

/* Parked on the condition variable, the waiter lets the mutex go: a
 * signal that follows the unlock finds it parked. */
static bool release_mutex(void *p)
{
	struct release *r = p;

	r->err = __pthread_mutex_unlock(r->m);
	return !r->err;
}

static int relock(pthread_mutex_t *m, struct cxlmu_uthread *f)
{
	return cxlmu_sync_mutex_ours(m) ? cxlmu_sync_mutex_lock(m, f, CLOCK_REALTIME, NULL)
		: -__pthread_mutex_lock(m);
}

/* Parked on c until a signal or broadcast (each comes through the hooks)
 * or abs on clock. A cancellation point, as glibc's: it acts with the
 * mutex held again, and a signal it took on its way out goes to another
 * waiter (POSIX: a cancelled waiter must not consume one). */
int cxlmu_sync_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, struct cxlmu_uthread *f,
			 clockid_t clock, const struct timespec *abs)
{
	struct release rel = { m, 0 };
	uint64_t deadline = 0;
	bool woken;
	int r;

	if (abs && (r = deadline_at(clock, abs, &deadline)))
		return r;
	cxlmu_sync_testcancel();
	if (!cxlmu_sched_self())
		return CXLMU_SYNC_UNFIBERED;
	woken = cxlmu_sched_park(c, release_mutex, &rel, deadline);
	if (rel.err)
		return -rel.err;        /* not the owner: nothing was let go */
	if ((r = relock(m, f)))
		return r;
	if (woken && cxlmu_sched_cancelled(f))
		cxlmu_sched_unpark(c, 1);
	cxlmu_sync_testcancel();
	if (!woken && abs && deadline_at(clock, abs, &deadline) == -ETIMEDOUT)
		return -ETIMEDOUT;
	/* Otherwise woken, or a spurious wake-up (a clock step). */
	return 0;
}

/* ----------------------------------------------------------------------- */
/* Read-write locks                                                          */
/* ----------------------------------------------------------------------- */

struct rwtry {
	pthread_rwlock_t *l;
	bool write;
	int r;
};

/* Still busy after another try? Parked first, so that an unlock after
 * this try wakes us. */
static bool rw_busy(void *p)
{
	struct rwtry *t = p;

	t->r = t->write ? __pthread_rwlock_trywrlock(t->l) : __pthread_rwlock_tryrdlock(t->l);
	return t->r == EBUSY;
}

int cxlmu_sync_rwlock(pthread_rwlock_t *l, struct cxlmu_uthread *f, bool write, clockid_t clock,
		      const struct timespec *abs)
{
	struct rwtry t = { l, write, 0 };
	uint64_t deadline = 0;
	int r;

	for (;;) {
		if (!rw_busy(&t))
			return -t.r;
		/* glibc's own answer to a lock its writer asks again. */
		if (cxlmu_glibc_rwlock_writer(l) == cxlmu_sched_tid(f))
			return -EDEADLK;
		if (abs && (r = deadline_at(clock, abs, &deadline)))
			return r;
		cxlmu_sched_park(l, rw_busy, &t, deadline);
		if (t.r != EBUSY)
			return -t.r;
	}
}

/* ----------------------------------------------------------------------- */
/* Barriers                                                                  */
/* ----------------------------------------------------------------------- */

/* The runtime's barrier, in the caller's pthread_barrier_t: made by
 * pthread_barrier_init while fibers are on, and known by its magic. The
 * round ends when count threads arrived: the last bumps gen and wakes
 * everyone waiting on it (a futex wake, which reaches kernel threads in
 * futex(2) and fibers in their cores' rings alike). */
struct barrier {
	_Atomic uint32_t arrived;
	_Atomic uint32_t gen;
	uint32_t count;
	uint32_t shared;
	_Atomic uint32_t inside;        /* in pthread_barrier_wait now */
	uint32_t pad[2];
	uint32_t magic;                 /* past what glibc's barrier uses */
};
_Static_assert(sizeof(struct barrier) == sizeof(pthread_barrier_t), "barrier layout");

#define BARRIER_MAGIC 0x63786d62u       /* "cxmb" */

static long futex(_Atomic uint32_t *word, int op, uint32_t val, bool shared)
{
	/* No wrapper of ours (libcxlmu.so exports syscall): -errno, unused. */
	return cxlmu_prim_raw(SYS_futex, (long)word, op | (shared ? 0 : FUTEX_PRIVATE_FLAG),
			      val, 0, 0, 0);
}

void cxlmu_sync_barrier_init(pthread_barrier_t *b, unsigned count, bool shared)
{
	struct barrier *o = (struct barrier *)b;

	o->arrived = 0;
	o->gen = 0;
	o->count = count;
	o->shared = shared;
	o->inside = 0;
	o->magic = BARRIER_MAGIC;
}

void cxlmu_sync_barrier_disown(pthread_barrier_t *b)
{
	((struct barrier *)b)->magic = 0;
}

bool cxlmu_sync_barrier_ours(const pthread_barrier_t *b)
{
	return ((const struct barrier *)b)->magic == BARRIER_MAGIC;
}

bool cxlmu_sync_barrier_wait(pthread_barrier_t *b)
{
	struct barrier *o = (struct barrier *)b;
	bool serial = false;
	uint32_t g;

	atomic_fetch_add(&o->inside, 1);
	/* The round before ours has ended (we got here): gen is ours. */
	g = atomic_load(&o->gen);
	if (atomic_fetch_add(&o->arrived, 1) + 1 == o->count) {
		atomic_store(&o->arrived, 0);
		atomic_store(&o->gen, g + 1);
		futex(&o->gen, FUTEX_WAKE, INT_MAX, o->shared);
		serial = true;
	} else {
		while (atomic_load(&o->gen) == g) {
			struct cxlmu_uthread *f = cxlmu_sched_fiber();
			if (f)
				cxlmu_sched_futex_wait(&o->gen, g, o->shared, 0);
			else
				futex(&o->gen, FUTEX_WAIT, g, o->shared);
		}
	}
	atomic_fetch_sub(&o->inside, 1);
	return serial;
}

int cxlmu_sync_barrier_destroy(pthread_barrier_t *b, int (*yield)(void))
{
	struct barrier *o = (struct barrier *)b;

	if (atomic_load(&o->arrived))
		return -EBUSY;
	/* Those woken by the last round may still be on their way out. */
	while (atomic_load(&o->inside))
		yield();
	o->magic = 0;
	return 0;
}

/* ----------------------------------------------------------------------- */
/* Spinlocks, once                                                           */
/* ----------------------------------------------------------------------- */

/* The holder may be a fiber of this core that switched away: the others
 * run between tries. */
void cxlmu_sync_spin_lock(pthread_spinlock_t *l)
{
	cxlmu_libc_resolve();
	while (cxlmu_libc.pthread_spin_trylock(l) == EBUSY) {
		__builtin_ia32_pause();
		cxlmu_sched_yield();
	}
}

/* A wait on the once word lasts at most a slice; after that many slices
 * glibc's call waits. */
#define ONCE_SLICE_NS   10000000
#define ONCE_PATIENCE   100

int cxlmu_sync_once(pthread_once_t *o)
{
	_Atomic int *word = (_Atomic int *)o;
	int v;

	for (int slices = 0;; slices++) {
		v = atomic_load_explicit(word, memory_order_acquire);
		if (v & CXLMU_GLIBC_ONCE_DONE)
			return 0;
		/* Not begun, or begun before a fork (the generation tells,
		 * which only glibc knows); or an initializer that takes very
		 * long: glibc's own call decides, and may wait in the kernel. */
		if (!(v & CXLMU_GLIBC_ONCE_INPROGRESS) || slices >= ONCE_PATIENCE)
			return -EAGAIN;
		cxlmu_sched_futex_wait(word, (uint32_t)v, false, cxlmu_prim_now() + ONCE_SLICE_NS);
	}
}

/* ----------------------------------------------------------------------- */
/* Semaphores                                                                */
/* ----------------------------------------------------------------------- */

int cxlmu_sync_sem_wait(sem_t *s, clockid_t clock, const struct timespec *abs)
{
	struct cxlmu_glibc_sem *ns = (struct cxlmu_glibc_sem *)s;
	uint64_t deadline = 0;
	int saved = errno;

	cxlmu_libc_resolve();
	if (abs && deadline_at(clock, abs, &deadline) == -EINVAL)
		return -EINVAL;
	for (;;) {
		/* sem_trywait sets errno when it fails. */
		if (!cxlmu_libc.sem_trywait(s)) {
			errno = saved;
			return 0;
		}
		cxlmu_sync_testcancel();
		if (!cxlmu_sched_self()) {
			errno = saved;
			return CXLMU_SYNC_UNFIBERED;
		}
		if (abs && deadline_at(clock, abs, &deadline) == -ETIMEDOUT) {
			errno = saved;
			return -ETIMEDOUT;
		}
		/* Counted among the waiters: sem_post wakes the word. */
		atomic_fetch_add(&ns->data, CXLMU_GLIBC_SEM_WAITER);
		cxlmu_sched_futex_wait((void *)&ns->data, 0, ns->private != 0, deadline);
		atomic_fetch_sub(&ns->data, CXLMU_GLIBC_SEM_WAITER);
	}
}

/* ----------------------------------------------------------------------- */
/* Cancellation                                                              */
/* ----------------------------------------------------------------------- */

/* glibc acts on a cancellation by unwinding the thread and ending its
 * kernel thread: in a fiber that would be the host. So a fiber's
 * cancellation is only noted (cxlmu_sched_mark_cancel), and acted on
 * here, at the fiber's next cancellation point that goes through the
 * runtime (its sleeps, yields, joins, pthread_testcancel), back on its
 * own kernel thread. */
void cxlmu_sync_testcancel(void)
{
	struct cxlmu_uthread *f;

	cxlmu_libc_resolve();
	f = cxlmu_sched_fiber();
	if (f && cxlmu_sched_cancelled(f)) {
		int saved = errno;
		cxlmu_sched_leave();
		cxlmu_libc.pthread_cancel(pthread_self());
		errno = saved;
	}
	cxlmu_libc.pthread_testcancel();
}

void cxlmu_sync_spin(void)
{
	int saved = errno;

	if (cxlmu_sched_fiber()) {
		cxlmu_sched_yield();
		cxlmu_sync_testcancel();
	}
	errno = saved;
}

/* ----------------------------------------------------------------------- */
/* Joins                                                                     */
/* ----------------------------------------------------------------------- */

/* Try, and let the core's other fibers run in between, until the thread
 * has ended or the deadline has passed. */
int cxlmu_sync_join(pthread_t t, void **ret, uint64_t deadline)
{
	static const struct timespec past = { 0, 0 };
	uint64_t pause = 20000;
	struct timespec ts;
	int r;

	cxlmu_libc_resolve();
	for (;;) {
		/* glibc's own checks (EDEADLK, EINVAL for a detached or joined
		 * thread, ESRCH) with a deadline already passed: ETIMEDOUT
		 * while the thread runs, and then it is joinable again. */
		r = cxlmu_libc.pthread_clockjoin_np ?
			cxlmu_libc.pthread_clockjoin_np(t, ret, CLOCK_MONOTONIC, &past) :
			cxlmu_libc.pthread_tryjoin_np(t, ret) == EBUSY ? ETIMEDOUT :
			cxlmu_libc.pthread_join(t, ret);
		if (r != ETIMEDOUT)
			return -r;
		uint64_t now = cxlmu_prim_now();
		if (deadline && now >= deadline)
			return -ETIMEDOUT;
		uint64_t until = now + pause;
		if (deadline && until > deadline)
			until = deadline;
		cxlmu_sched_sleep_until(until, false);
		cxlmu_sync_testcancel();
		if (!cxlmu_sched_self()) {
			/* A cancellation it has disabled took it back to its
			 * kernel thread: wait there. */
			if (!deadline)
				return -cxlmu_libc.pthread_join(t, ret);
			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = cxlmu_prim_now();
			uint64_t left = deadline > now ? deadline - now : 0;
			ts.tv_sec += (time_t)(left / 1000000000u);
			ts.tv_nsec += (long)(left % 1000000000u);
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			return -cxlmu_libc.pthread_clockjoin_np(t, ret, CLOCK_MONOTONIC, &ts);
		}
		if (pause < 1000000)
			pause *= 2;
	}
}

/* ----------------------------------------------------------------------- */
/* Sleeps                                                                    */
/* ----------------------------------------------------------------------- */

int cxlmu_sync_sleep(uint64_t ns, const void *site, uint64_t *left)
{
	struct timespec ts;

	if ((*left = cxlmu_sched_sleep(ns, site))) {
		cxlmu_sync_testcancel();
		return -EINTR;
	}
	cxlmu_sync_testcancel();
	if (unlikely(!cxlmu_sched_self())) {
		/* A cancellation it has disabled cut the sleep short and took
		 * it back to its kernel thread: libc sleeps it again, whole
		 * (longer than asked is allowed; a clock read per poll for the
		 * exact rest is not worth it). */
		cxlmu_ns_timespec(ns, &ts);
		while (__nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	return 0;
}

int cxlmu_sync_sleep_abs(clockid_t clock, const struct timespec *abs, uint64_t *left)
{
	uint64_t deadline;

	/* Converted again after each wait: a CLOCK_REALTIME step is
	 * followed. */
	while (!cxlmu_deadline(clock, abs, true, &deadline)) {
		if (cxlmu_sched_cancelled(cxlmu_sched_self()))
			goto unfibered;
		if ((*left = cxlmu_sched_sleep_until(deadline, true))) {
			cxlmu_sync_testcancel();
			return -EINTR;
		}
	}
	return 0;
unfibered:
	cxlmu_sync_testcancel();
	/* Cancellation disabled: back on its kernel thread, the rest is
	 * libc's. */
	cxlmu_libc_resolve();
	while (cxlmu_libc.clock_nanosleep(clock, TIMER_ABSTIME, abs, NULL) == EINTR)
		;
	return 0;
}
