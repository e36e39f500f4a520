/* The synchronization calls for fibers (--sched=fibers): a fiber that has
 * to wait for a mutex, condition variable, rwlock, barrier, semaphore,
 * spinlock or once switches to the core's other fibers instead of
 * blocking its host in the kernel. Outside a fiber each call is libc's,
 * unchanged.
 *
 * The objects stay glibc's, shared with kernel threads, so the waits
 * follow glibc's own wake-ups:
 *   - mutexes, semaphores and once are futex words that glibc wakes on
 *     every path (its internal unlocks included): a fiber waits on the
 *     word in its core's io_uring (cxlmu_sched_futex_wait), after marking
 *     it as glibc's waiters do (a mutex word of 2, a semaphore's waiter
 *     count);
 *   - condition variables and rwlocks have no such word: every signal,
 *     broadcast and unlock comes through these hooks, which also wake the
 *     fibers parked on the object (cxlmu_sched_park);
 *   - barriers made while fibers are on are the runtime's own (a round
 *     counter and a futex word), so kernel threads and fibers can meet at
 *     one.
 * What glibc keeps in its kernel-only kinds (robust, priority-inheriting
 * and -protecting mutexes, elided locks) and process-shared condition
 * variables and rwlocks go to libc: a fiber blocks its host there, and
 * the monitor hands the core's other fibers on (src/scheduler.h).
 *
 * The layouts read here (the mutex word, kind and owner; a condition
 * variable's clock and process-shared bits; the semaphore's value and
 * waiter count; a once's state bits) are glibc's public ABI on x86-64 and
 * unchanged since glibc 2.25; tests/integration/fibers.sh checks each
 * against glibc. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "libc.h"
#include "prim.h"
#include "runtime.h"
#include "sched_wait.h"
#include "scheduler.h"

/* ----------------------------------------------------------------------- */
/* Deadlines                                                                 */
/* ----------------------------------------------------------------------- */

static bool clock_ok(clockid_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

/* The scheduler's deadline for abs on clock: 0, EINVAL (a clock these
 * calls do not take, tv_nsec out of range) or ETIMEDOUT (abs has passed).
 * A CLOCK_REALTIME deadline is taken again after each wait, so that a
 * clock step is followed. */
static int deadline_at(clockid_t clock, const struct timespec *abs, uint64_t *deadline)
{
	if (!clock_ok(clock))
		return EINVAL;
	return -cxlmu_deadline(clock, abs, true, deadline);
}

/* ----------------------------------------------------------------------- */
/* Mutexes                                                                   */
/* ----------------------------------------------------------------------- */

/* glibc's __kind bits. */
#define KIND_TYPE       3
#define KIND_KERNEL     (16 | 32 | 64 | 256)   /* robust, PI, PP, elision */
#define KIND_PSHARED    128

static bool mutex_ours(const pthread_mutex_t *m)
{
	return !(m->__data.__kind & KIND_KERNEL);
}

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

/* A fiber's lock: glibc's trylock, and between tries a wait on the lock
 * word, marked 2 as glibc's own waiters mark it so that the unlock wakes
 * it. Once it got the lock after waiting, the word stays 2: other waiters
 * may sleep on it still. Errors and kinds are glibc's (trylock decides);
 * only EDEADLK for an errorcheck relock is said here, as trylock says
 * EBUSY. abs on clock: a timed lock (0 for none). */
static int fiber_lock(pthread_mutex_t *m, struct cxlmu_fib *f, clockid_t clock,
		      const struct timespec *abs)
{
	_Atomic int *word = (_Atomic int *)&m->__data.__lock;
	bool shared = m->__data.__kind & KIND_PSHARED, waited = false;
	uint64_t deadline = 0;
	int r, v;

	for (;;) {
		r = __pthread_mutex_trylock(m);
		if (r != EBUSY) {
			if (!r && waited)
				atomic_store_explicit(word, 2, memory_order_relaxed);
			return r;
		}
		if ((m->__data.__kind & KIND_TYPE) == PTHREAD_MUTEX_ERRORCHECK_NP &&
		    m->__data.__owner == cxlmu_sched_tid(f))
			return EDEADLK;
		if (abs && (r = deadline_at(clock, abs, &deadline))) {
			if (r == ETIMEDOUT && waited)
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

cxlmu_export int pthread_mutex_lock(pthread_mutex_t *m)
{
	struct cxlmu_fib *f = cxlmu_sched_fiber();
	int saved, r;

	if (likely(!f) || !mutex_ours(m))
		return __pthread_mutex_lock(m);
	saved = errno;
	r = fiber_lock(m, f, CLOCK_REALTIME, NULL);
	errno = saved;
	return r;
}

static int clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abs,
		     bool clocked)
{
	struct cxlmu_fib *f = cxlmu_sched_fiber();
	int saved, r;

	cxlmu_libc_resolve();
	if (likely(!f) || !mutex_ours(m))
		return clocked ? cxlmu_libc.pthread_mutex_clocklock(m, clock, abs) : cxlmu_libc.pthread_mutex_timedlock(m, abs);
	saved = errno;
	r = fiber_lock(m, f, clock, abs);
	errno = saved;
	return r;
}

cxlmu_export int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
	return clocklock(m, CLOCK_REALTIME, abs, false);
}

cxlmu_export int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
					 const struct timespec *abs)
{
	return clocklock(m, clock, abs, true);
}

/* ----------------------------------------------------------------------- */
/* Condition variables                                                       */
/* ----------------------------------------------------------------------- */

/* glibc's __wrefs: bit 0 process-shared, bit 1 CLOCK_MONOTONIC. */
static bool cond_shared(const pthread_cond_t *c)
{
	return c->__data.__wrefs & 1;
}

static clockid_t cond_clock(const pthread_cond_t *c)
{
	return c->__data.__wrefs & 2 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

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

static int relock(pthread_mutex_t *m, struct cxlmu_fib *f)
{
	return mutex_ours(m) ? fiber_lock(m, f, CLOCK_REALTIME, NULL) : __pthread_mutex_lock(m);
}

/* What a fiber's wait returns once a cancellation it has disabled took
 * it back to its kernel thread: libc's own call does the wait. */
#define NOT_A_FIBER (-2)

/* A fiber's wait: parked on c until a signal or broadcast (each comes
 * through the hooks below) or abs on clock. A cancellation point, as
 * glibc's: it acts with the mutex held again, and a signal it took on
 * its way out goes to another waiter (POSIX: a cancelled waiter must not
 * consume one). */
static int fiber_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, struct cxlmu_fib *f,
			   clockid_t clock, const struct timespec *abs)
{
	struct release rel = { m, 0 };
	uint64_t deadline = 0;
	bool woken;
	int r;

	if (abs && (r = deadline_at(clock, abs, &deadline)))
		return r;
	pthread_testcancel();
	if (!cxlmu_sched_self())
		return NOT_A_FIBER;
	woken = cxlmu_sched_park(c, release_mutex, &rel, deadline);
	if (rel.err)
		return rel.err;         /* not the owner: nothing was let go */
	if ((r = relock(m, f)))
		return r;
	if (woken && cxlmu_sched_cancelled(f))
		cxlmu_sched_unpark(c, 1);
	pthread_testcancel();
	if (!woken && abs && deadline_at(clock, abs, &deadline) == ETIMEDOUT)
		return ETIMEDOUT;
	/* Otherwise woken, or a spurious wake-up (a clock step). */
	return 0;
}

static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
		     const struct timespec *abs, int kind)
{
	struct cxlmu_fib *f = cxlmu_sched_fiber();
	int saved, r = NOT_A_FIBER;

	cxlmu_libc_resolve();
	if (likely(f) && !cond_shared(c)) {
		saved = errno;
		r = fiber_cond_wait(c, m, f, clock, abs);
		errno = saved;
	}
	if (r != NOT_A_FIBER)
		return r;
	switch (kind) {
	case 0:  return cxlmu_libc.pthread_cond_wait(c, m);
	case 1:  return cxlmu_libc.pthread_cond_timedwait(c, m, abs);
	default: return cxlmu_libc.pthread_cond_clockwait(c, m, clock, abs);
	}
}

cxlmu_export int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return cond_wait(c, m, CLOCK_REALTIME, NULL, 0);
}

cxlmu_export int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
					const struct timespec *abs)
{
	return cond_wait(c, m, cond_clock(c), abs, 1);
}

cxlmu_export int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
					const struct timespec *abs)
{
	return cond_wait(c, m, clock, abs, 2);
}

/* glibc's signal wakes its own waiters (kernel threads); the fibers parked
 * on c are woken here. Both may wake: a spurious wake-up, which POSIX
 * allows. */
cxlmu_export int pthread_cond_signal(pthread_cond_t *c)
{
	int r;

	cxlmu_libc_resolve();
	r = cxlmu_libc.pthread_cond_signal(c);
	if (cxlmu_sched_on)
		cxlmu_sched_unpark(c, 1);
	return r;
}

cxlmu_export int pthread_cond_broadcast(pthread_cond_t *c)
{
	int r;

	cxlmu_libc_resolve();
	r = cxlmu_libc.pthread_cond_broadcast(c);
	if (cxlmu_sched_on)
		cxlmu_sched_unpark(c, UINT_MAX);
	return r;
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

static int fiber_rwlock(pthread_rwlock_t *l, struct cxlmu_fib *f, bool write, clockid_t clock,
			const struct timespec *abs)
{
	struct rwtry t = { l, write, 0 };
	uint64_t deadline = 0;
	int r;

	for (;;) {
		if (!rw_busy(&t))
			return t.r;
		/* glibc's own answer to a lock its writer asks again. */
		if (l->__data.__cur_writer == cxlmu_sched_tid(f))
			return EDEADLK;
		if (abs && (r = deadline_at(clock, abs, &deadline)))
			return r;
		cxlmu_sched_park(l, rw_busy, &t, deadline);
		if (t.r != EBUSY)
			return t.r;
	}
}

/* kind: 0 untimed, 1 timed (CLOCK_REALTIME), 2 clocked. */
static int rwlock(pthread_rwlock_t *l, bool write, clockid_t clock, const struct timespec *abs,
		  int kind)
{
	struct cxlmu_fib *f = cxlmu_sched_fiber();
	int saved, r;

	cxlmu_libc_resolve();
	if (likely(!f) || l->__data.__shared) {
		switch (kind) {
		case 0:  return write ? __pthread_rwlock_wrlock(l) : __pthread_rwlock_rdlock(l);
		case 1:  return write ? cxlmu_libc.pthread_rwlock_timedwrlock(l, abs) : cxlmu_libc.pthread_rwlock_timedrdlock(l, abs);
		default: return write ? cxlmu_libc.pthread_rwlock_clockwrlock(l, clock, abs) :
					cxlmu_libc.pthread_rwlock_clockrdlock(l, clock, abs);
		}
	}
	saved = errno;
	r = fiber_rwlock(l, f, write, clock, abs);
	errno = saved;
	return r;
}

cxlmu_export int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	return rwlock(l, false, CLOCK_REALTIME, NULL, 0);
}

cxlmu_export int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	return rwlock(l, true, CLOCK_REALTIME, NULL, 0);
}

cxlmu_export int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abs)
{
	return rwlock(l, false, CLOCK_REALTIME, abs, 1);
}

cxlmu_export int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abs)
{
	return rwlock(l, true, CLOCK_REALTIME, abs, 1);
}

cxlmu_export int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clock,
					    const struct timespec *abs)
{
	return rwlock(l, false, clock, abs, 2);
}

cxlmu_export int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clock,
					    const struct timespec *abs)
{
	return rwlock(l, true, clock, abs, 2);
}

cxlmu_export int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	int r = __pthread_rwlock_unlock(l);

	/* All of them try again: readers may all get in. */
	if (cxlmu_sched_on)
		cxlmu_sched_unpark(l, UINT_MAX);
	return r;
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
	uint32_t magic;
};
_Static_assert(sizeof(struct barrier) == sizeof(pthread_barrier_t), "barrier layout");

#define BARRIER_MAGIC 0x63786d62u       /* "cxmb" */

static long futex(_Atomic uint32_t *word, int op, uint32_t val, bool shared)
{
	/* No wrapper of ours (libcxlmu.so exports syscall): -errno, unused. */
	return cxlmu_prim_raw(SYS_futex, (long)word, op | (shared ? 0 : FUTEX_PRIVATE_FLAG),
			      val, 0, 0, 0);
}

cxlmu_export int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr,
				      unsigned count)
{
	struct barrier *o = (struct barrier *)b;
	int pshared = PTHREAD_PROCESS_PRIVATE, r;

	cxlmu_libc_resolve();
	if (!cxlmu_sched_on) {
		r = cxlmu_libc.pthread_barrier_init(b, attr, count);
		if (!r)
			o->magic = 0;
		return r;
	}
	if (!count || count > INT_MAX)
		return EINVAL;
	if (attr && (r = pthread_barrierattr_getpshared(attr, &pshared)))
		return r;
	o->arrived = 0;
	o->gen = 0;
	o->count = count;
	o->shared = pshared == PTHREAD_PROCESS_SHARED;
	o->inside = 0;
	o->magic = BARRIER_MAGIC;
	return 0;
}

cxlmu_export int pthread_barrier_wait(pthread_barrier_t *b)
{
	struct barrier *o = (struct barrier *)b;
	uint32_t g;
	int saved, r = 0;

	cxlmu_libc_resolve();
	if (o->magic != BARRIER_MAGIC)
		return cxlmu_libc.pthread_barrier_wait(b);
	saved = errno;
	atomic_fetch_add(&o->inside, 1);
	/* The round before ours has ended (we got here): gen is ours. */
	g = atomic_load(&o->gen);
	if (atomic_fetch_add(&o->arrived, 1) + 1 == o->count) {
		atomic_store(&o->arrived, 0);
		atomic_store(&o->gen, g + 1);
		futex(&o->gen, FUTEX_WAKE, INT_MAX, o->shared);
		r = PTHREAD_BARRIER_SERIAL_THREAD;
	} else {
		while (atomic_load(&o->gen) == g) {
			struct cxlmu_fib *f = cxlmu_sched_fiber();
			if (f)
				cxlmu_sched_futex_wait(&o->gen, g, o->shared, 0);
			else
				futex(&o->gen, FUTEX_WAIT, g, o->shared);
		}
	}
	atomic_fetch_sub(&o->inside, 1);
	errno = saved;
	return r;
}

cxlmu_export int pthread_barrier_destroy(pthread_barrier_t *b)
{
	struct barrier *o = (struct barrier *)b;

	cxlmu_libc_resolve();
	if (o->magic != BARRIER_MAGIC)
		return cxlmu_libc.pthread_barrier_destroy(b);
	if (atomic_load(&o->arrived))
		return EBUSY;
	/* Those woken by the last round may still be on their way out. */
	while (atomic_load(&o->inside))
		sched_yield();
	o->magic = 0;
	return 0;
}

/* ----------------------------------------------------------------------- */
/* Spinlocks, once                                                           */
/* ----------------------------------------------------------------------- */

/* The holder may be a fiber of this core that switched away: the others
 * run between tries. */
cxlmu_export int pthread_spin_lock(pthread_spinlock_t *l)
{
	struct cxlmu_fib *f = cxlmu_sched_fiber();

	cxlmu_libc_resolve();
	if (likely(!f))
		return cxlmu_libc.pthread_spin_lock(l);
	while (cxlmu_libc.pthread_spin_trylock(l) == EBUSY) {
		__builtin_ia32_pause();
		cxlmu_sched_yield();
	}
	return 0;
}

/* glibc's once word: bit 0 in progress, bit 1 done, the fork generation
 * above. Its initializer wakes every waiter on the word when done. */
#define ONCE_INPROGRESS 1
#define ONCE_DONE       2
#define ONCE_SLICE_NS   10000000
#define ONCE_PATIENCE   100

cxlmu_export int pthread_once(pthread_once_t *o, void (*init)(void))
{
	struct cxlmu_fib *f = cxlmu_sched_fiber();
	_Atomic int *word = (_Atomic int *)o;
	int saved, v;

	if (likely(!f))
		return __pthread_once(o, init);
	saved = errno;
	for (int slices = 0;; slices++) {
		v = atomic_load_explicit(word, memory_order_acquire);
		if (v & ONCE_DONE)
			break;
		/* Not begun, or begun before a fork (the generation tells,
		 * which only glibc knows); or an initializer that takes very
		 * long: glibc's own call decides, and may wait in the kernel. */
		if (!(v & ONCE_INPROGRESS) || slices >= ONCE_PATIENCE) {
			errno = saved;
			return __pthread_once(o, init);
		}
		cxlmu_sched_futex_wait(word, (uint32_t)v, false, cxlmu_prim_now() + ONCE_SLICE_NS);
	}
	errno = saved;
	return 0;
}

/* ----------------------------------------------------------------------- */
/* Semaphores                                                                */
/* ----------------------------------------------------------------------- */

/* glibc's sem_t on 64-bit: the value in the low half of data, the count
 * of waiters in the high half; sem_post wakes the value word when the
 * count is not 0. private: glibc's LLL_PRIVATE (0) or LLL_SHARED
 * (FUTEX_PRIVATE_FLAG, which its futex calls flip: a shared word). */
struct new_sem {
	_Atomic uint64_t data;
	int private;
	int pad;
};
#define SEM_WAITER      ((uint64_t)1 << 32)

static int fiber_sem_wait(sem_t *s, clockid_t clock, const struct timespec *abs)
{
	struct new_sem *ns = (struct new_sem *)s;
	uint64_t deadline = 0;
	int saved = errno;

	if (abs && deadline_at(clock, abs, &deadline) == EINVAL) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		if (!cxlmu_libc.sem_trywait(s)) {
			errno = saved;
			return 0;
		}
		pthread_testcancel();
		if (!cxlmu_sched_self()) {
			errno = saved;
			return NOT_A_FIBER;
		}
		if (abs && deadline_at(clock, abs, &deadline) == ETIMEDOUT) {
			errno = ETIMEDOUT;
			return -1;
		}
		/* Counted among the waiters: sem_post wakes the word. */
		atomic_fetch_add(&ns->data, SEM_WAITER);
		cxlmu_sched_futex_wait((void *)&ns->data, 0, ns->private != 0, deadline);
		atomic_fetch_sub(&ns->data, SEM_WAITER);
	}
}

static int sem_wait_any(sem_t *s, clockid_t clock, const struct timespec *abs, int kind)
{
	struct cxlmu_fib *f = cxlmu_sched_fiber();
	int r;

	cxlmu_libc_resolve();
	if (likely(f) && (r = fiber_sem_wait(s, clock, abs)) != NOT_A_FIBER)
		return r;
	switch (kind) {
	case 0:  return cxlmu_libc.sem_wait(s);
	case 1:  return cxlmu_libc.sem_timedwait(s, abs);
	default: return cxlmu_libc.sem_clockwait(s, clock, abs);
	}
}

cxlmu_export int sem_wait(sem_t *s)
{
	return sem_wait_any(s, CLOCK_REALTIME, NULL, 0);
}

cxlmu_export int sem_timedwait(sem_t *s, const struct timespec *abs)
{
	return sem_wait_any(s, CLOCK_REALTIME, abs, 1);
}

cxlmu_export int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abs)
{
	return sem_wait_any(s, clock, abs, 2);
}

/* ----------------------------------------------------------------------- */
/* C11 threads: glibc's call its internal pthread functions, which no hook  */
/* sees; the hooks above stand for them.                                     */
/* ----------------------------------------------------------------------- */

static int thrd_err(int r)
{
	switch (r) {
	case 0:         return thrd_success;
	case ETIMEDOUT: return thrd_timedout;
	case EBUSY:     return thrd_busy;
	case ENOMEM:    return thrd_nomem;
	default:        return thrd_error;
	}
}

cxlmu_export int mtx_lock(mtx_t *m)
{
	return thrd_err(pthread_mutex_lock((pthread_mutex_t *)m));
}

cxlmu_export int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict abs)
{
	return thrd_err(pthread_mutex_timedlock((pthread_mutex_t *)m, abs));
}

cxlmu_export int cnd_wait(cnd_t *c, mtx_t *m)
{
	return thrd_err(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

cxlmu_export int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
			       const struct timespec *restrict abs)
{
	return thrd_err(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, abs));
}

cxlmu_export int cnd_signal(cnd_t *c)
{
	return thrd_err(pthread_cond_signal((pthread_cond_t *)c));
}

cxlmu_export int cnd_broadcast(cnd_t *c)
{
	return thrd_err(pthread_cond_broadcast((pthread_cond_t *)c));
}

cxlmu_export void call_once(once_flag *flag, void (*fn)(void))
{
	pthread_once((pthread_once_t *)flag, fn);
}
