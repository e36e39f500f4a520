/* A fiber's waits, where a kernel thread would block in libc's call: on a
 * mutex, condition variable, rwlock, barrier, semaphore, spinlock or once
 * (--sched=auto and fibers), for a thread to end (a join), for time (a
 * sleep); and the fiber's cancellation point. Each switches to the core's
 * other fibers instead of blocking its host in the kernel.
 *
 * The hooks in preload/sync.c, thread.c and sleep.c decide between these
 * and libc's own calls (a kernel thread, an object glibc keeps in the
 * kernel, a clock or argument libc must judge) and turn the results into
 * each call's contract. The objects stay glibc's, shared with kernel
 * threads (their layouts: src/glibc_abi.h), so the waits follow glibc's
 * own wake-ups:
 *   - mutexes, semaphores and once are futex words that glibc wakes on
 *     every path (its internal unlocks included): a fiber waits on the
 *     word in its core's io_uring (cxlmu_sched_futex_wait), after marking
 *     it as glibc's waiters do (a mutex word of 2, a semaphore's waiter
 *     count);
 *   - condition variables and rwlocks have no such word: every signal,
 *     broadcast and unlock comes through the hooks, which also wake the
 *     fibers parked on the object (cxlmu_sched_park, cxlmu_sched_unpark);
 *   - barriers made while fibers are on are the runtime's own (a round
 *     counter and a futex word), so kernel threads and fibers can meet at
 *     one.
 * What glibc keeps in its kernel-only kinds (robust, priority-inheriting
 * and -protecting mutexes, elided locks) and process-shared condition
 * variables and rwlocks go to libc: a fiber blocks its host there, and
 * the monitor hands the core's other fibers on (src/scheduler.h).
 *
 * Unless said otherwise, f is the calling fiber (cxlmu_sched_fiber), abs
 * an absolute time on clock (NULL: no time limit), and a function returns
 * 0 or -errno, errno unchanged. */
#ifndef CXLMU_SRC_SYNC_H
#define CXLMU_SRC_SYNC_H

#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "glibc_abi.h"
#include "internal.h"
#include "scheduler.h"

struct cxlmu_uthread;

/* What a fiber's wait returns when a cancellation it has disabled took it
 * back to its kernel thread: libc's own call does the wait. */
#define CXLMU_SYNC_UNFIBERED 1

/* A mutex a fiber waits for: not of a kind glibc keeps in the kernel. */
static inline bool cxlmu_sync_mutex_ours(const pthread_mutex_t *m)
{
	return !(cxlmu_glibc_mutex_kind(m) & CXLMU_GLIBC_MUTEX_KERNEL);
}

/* A fiber's lock of a mutex of ours. Errors are glibc's trylock's, and
 * EDEADLK for an errorcheck mutex it holds, EINVAL for a bad abs or
 * clock (only looked at when it must wait, as glibc does), ETIMEDOUT. */
int cxlmu_sync_mutex_lock(pthread_mutex_t *m, struct cxlmu_uthread *f, clockid_t clock,
			  const struct timespec *abs);

/* A fiber's wait on a condition variable that is not process-shared,
 * with m held. A cancellation point. CXLMU_SYNC_UNFIBERED before it
 * waited: libc's call does it. */
int cxlmu_sync_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, struct cxlmu_uthread *f,
			 clockid_t clock, const struct timespec *abs);

/* A fiber's read (write false) or write lock of an rwlock that is not
 * process-shared. */
int cxlmu_sync_rwlock(pthread_rwlock_t *l, struct cxlmu_uthread *f, bool write, clockid_t clock,
		      const struct timespec *abs);

/* The runtime's barrier, in the caller's pthread_barrier_t: made for
 * count (1..INT_MAX) threads, shared: process-shared. */
void cxlmu_sync_barrier_init(pthread_barrier_t *b, unsigned count, bool shared);
/* b was made by glibc's pthread_barrier_init: not the runtime's. */
void cxlmu_sync_barrier_disown(pthread_barrier_t *b);
bool cxlmu_sync_barrier_ours(const pthread_barrier_t *b);
/* Any thread, fiber or not, at the runtime's barrier: true for the one
 * that ended the round (PTHREAD_BARRIER_SERIAL_THREAD). */
bool cxlmu_sync_barrier_wait(pthread_barrier_t *b);
/* -EBUSY while a round is under way; else waits, calling yield, for those
 * the last round woke to leave, and forgets b. */
int cxlmu_sync_barrier_destroy(pthread_barrier_t *b, int (*yield)(void));

/* A fiber's lock of a spinlock: tries, and lets the core's other fibers
 * (the holder may be one) run between tries. */
void cxlmu_sync_spin_lock(pthread_spinlock_t *l);

/* A fiber at a once: 0 once it is done, -EAGAIN when glibc's own call
 * must decide (not begun, begun before a fork, or an initializer that
 * takes very long). */
int cxlmu_sync_once(pthread_once_t *o);

/* A fiber's sem_wait, sem_timedwait or sem_clockwait. A cancellation
 * point. CXLMU_SYNC_UNFIBERED when libc's call must wait. */
int cxlmu_sync_sem_wait(sem_t *s, clockid_t clock, const struct timespec *abs);

/* A fiber's join of t until the CLOCK_MONOTONIC deadline (0: none).
 * glibc's own errors; -ETIMEDOUT. A cancellation point. */
int cxlmu_sync_join(pthread_t t, void **ret, uint64_t deadline);

/* A cancellation point (pthread_testcancel): a fiber's pending
 * cancellation (cxlmu_sched_mark_cancel) acts back on its own kernel
 * thread, glibc's as glibc does. */
void cxlmu_sync_testcancel(void);

/* A check of descriptors with a zero timeout (poll, ppoll, select,
 * pselect, epoll_wait and its variants) returned r; zero: its timeout was
 * zero. When it found none ready, a fiber lets its core's other fibers run
 * before it checks again, as a spinning kernel thread is preempted by the
 * threads it woke (else it would spin until the monitor hands the core
 * on, milliseconds later), and, the call being a cancellation point, acts
 * on a pending cancellation. r is returned, errno kept. */
void cxlmu_sync_spin(void);

static inline int cxlmu_sync_none_ready(int r, bool zero)
{
	if (unlikely(cxlmu_sched_on) && r == 0 && zero)
		cxlmu_sync_spin();
	return r;
}

/* A fiber's relative sleep of ns asked from site (a poll or not: src/
 * scheduler.h). A cancellation point. 0, or -EINTR with *left when a
 * signal handler ran in the fiber. */
int cxlmu_sync_sleep(uint64_t ns, const void *site, uint64_t *left);
/* A fiber's sleep until abs (valid) on clock (one clock_gettime reads):
 * at or after it, never before. As cxlmu_sync_sleep. */
int cxlmu_sync_sleep_abs(clockid_t clock, const struct timespec *abs, uint64_t *left);

#endif
