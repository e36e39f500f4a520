/* The synchronization calls for fibers (--sched=auto and fibers): mutex,
 * condition variable, rwlock, barrier, semaphore, spinlock and once, and
 * the C11 mtx/cnd/call_once. Each chooses between libc's own call and a
 * fiber's wait (src/sync.h, which says how those follow glibc's
 * wake-ups) and gives the result as the call it replaces does. Outside a
 * fiber each call is libc's, unchanged. pthread_mutex_lock and
 * pthread_once are reached from the allocator: they call glibc's aliases
 * (src/libc.h) and look nothing up. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#include <time.h>

#include "libc.h"
#include "sched_wait.h"
#include "scheduler.h"
#include "sync.h"

/* ----------------------------------------------------------------------- */
/* Mutexes                                                                   */
/* ----------------------------------------------------------------------- */

cxlmu_export int pthread_mutex_lock(pthread_mutex_t *m)
{
	struct cxlmu_uthread *f = cxlmu_sched_fiber();
	int saved, r;

	if (likely(!f) || !cxlmu_sync_mutex_ours(m))
		return __pthread_mutex_lock(m);
	saved = errno;
	r = cxlmu_sync_mutex_lock(m, f, CLOCK_REALTIME, NULL);
	errno = saved;
	return -r;
}

static int clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abs,
		     bool clocked)
{
	struct cxlmu_uthread *f = cxlmu_sched_fiber();
	int saved, r;

	cxlmu_libc_resolve();
	if (likely(!f) || !cxlmu_sync_mutex_ours(m))
		return clocked ? cxlmu_libc.pthread_mutex_clocklock(m, clock, abs) :
				 cxlmu_libc.pthread_mutex_timedlock(m, abs);
	saved = errno;
	r = cxlmu_sync_mutex_lock(m, f, clock, abs);
	errno = saved;
	return -r;
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

/* kind: 0 untimed, 1 timed (the condition variable's clock), 2 clocked. */
static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
		     const struct timespec *abs, int kind)
{
	struct cxlmu_uthread *f = cxlmu_sched_fiber_at_wait();
	int saved, r;

	cxlmu_libc_resolve();
	if (likely(f) && !cxlmu_glibc_cond_shared(c)) {
		saved = errno;
		r = cxlmu_sync_cond_wait(c, m, f, clock, abs);
		errno = saved;
		if (r != CXLMU_SYNC_UNFIBERED)
			return -r;
	}
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
	return cond_wait(c, m, cxlmu_glibc_cond_clock(c), abs, 1);
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

/* kind: 0 untimed, 1 timed (CLOCK_REALTIME), 2 clocked. */
static int rwlock(pthread_rwlock_t *l, bool write, clockid_t clock, const struct timespec *abs,
		  int kind)
{
	struct cxlmu_uthread *f = cxlmu_sched_fiber();
	int saved, r;

	cxlmu_libc_resolve();
	if (likely(!f) || cxlmu_glibc_rwlock_shared(l)) {
		switch (kind) {
		case 0:  return write ? __pthread_rwlock_wrlock(l) : __pthread_rwlock_rdlock(l);
		case 1:  return write ? cxlmu_libc.pthread_rwlock_timedwrlock(l, abs) :
					cxlmu_libc.pthread_rwlock_timedrdlock(l, abs);
		default: return write ? cxlmu_libc.pthread_rwlock_clockwrlock(l, clock, abs) :
					cxlmu_libc.pthread_rwlock_clockrdlock(l, clock, abs);
		}
	}
	saved = errno;
	r = cxlmu_sync_rwlock(l, f, write, clock, abs);
	errno = saved;
	return -r;
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
/* Barriers: the runtime's own while fibers are on, else glibc's           */
/* ----------------------------------------------------------------------- */

cxlmu_export int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr,
				      unsigned count)
{
	int pshared = PTHREAD_PROCESS_PRIVATE, r;

	cxlmu_libc_resolve();
	if (!cxlmu_sched_on) {
		r = cxlmu_libc.pthread_barrier_init(b, attr, count);
		if (!r)
			cxlmu_sync_barrier_disown(b);
		return r;
	}
	if (!count || count > INT_MAX)
		return EINVAL;
	if (attr && (r = pthread_barrierattr_getpshared(attr, &pshared)))
		return r;
	cxlmu_sync_barrier_init(b, count, pshared == PTHREAD_PROCESS_SHARED);
	return 0;
}

cxlmu_export int pthread_barrier_wait(pthread_barrier_t *b)
{
	int saved;
	bool serial;

	cxlmu_libc_resolve();
	if (!cxlmu_sync_barrier_ours(b))
		return cxlmu_libc.pthread_barrier_wait(b);
	saved = errno;
	serial = cxlmu_sync_barrier_wait(b);
	errno = saved;
	return serial ? PTHREAD_BARRIER_SERIAL_THREAD : 0;
}

cxlmu_export int pthread_barrier_destroy(pthread_barrier_t *b)
{
	cxlmu_libc_resolve();
	if (!cxlmu_sync_barrier_ours(b))
		return cxlmu_libc.pthread_barrier_destroy(b);
	/* The program's sched_yield: a fiber lets the others run. */
	return -cxlmu_sync_barrier_destroy(b, sched_yield);
}

/* ----------------------------------------------------------------------- */
/* Spinlocks, once                                                           */
/* ----------------------------------------------------------------------- */

cxlmu_export int pthread_spin_lock(pthread_spinlock_t *l)
{
	struct cxlmu_uthread *f = cxlmu_sched_fiber();

	cxlmu_libc_resolve();
	if (likely(!f))
		return cxlmu_libc.pthread_spin_lock(l);
	cxlmu_sync_spin_lock(l);
	return 0;
}

cxlmu_export int pthread_once(pthread_once_t *o, void (*init)(void))
{
	struct cxlmu_uthread *f = cxlmu_sched_fiber();
	int saved, r;

	if (likely(!f))
		return __pthread_once(o, init);
	saved = errno;
	r = cxlmu_sync_once(o);
	errno = saved;
	return r ? __pthread_once(o, init) : 0;
}

/* ----------------------------------------------------------------------- */
/* Semaphores                                                                */
/* ----------------------------------------------------------------------- */

/* kind: 0 untimed, 1 timed (CLOCK_REALTIME), 2 clocked. */
static int sem_wait_any(sem_t *s, clockid_t clock, const struct timespec *abs, int kind)
{
	struct cxlmu_uthread *f = cxlmu_sched_fiber_at_wait();
	int r;

	cxlmu_libc_resolve();
	if (likely(f) && (r = cxlmu_sync_sem_wait(s, clock, abs)) != CXLMU_SYNC_UNFIBERED) {
		if (!r)
			return 0;
		errno = -r;
		return -1;
	}
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
