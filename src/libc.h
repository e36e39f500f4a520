/* libc's own functions behind the names libcxlmu.so exports. Those names
 * are the runtime's hooks (preload/): a hook that forwards to libc, and
 * src/ code that needs libc's behaviour, call libc's function found here,
 * never the exported name, which would be the hook again. Two ways to
 * find one, and this file is the only place that does:
 *   - glibc's exported __ aliases, declared below: bound by the linker,
 *     no lookup, so usable from the allocator and before anything ran
 *     (jemalloc's mutexes lock through pthread_mutex_lock, and the
 *     runtime starts at the first malloc, before any constructor);
 *   - the rest by dlsym(RTLD_NEXT) into the table cxlmu_libc, all at
 *     once: at load (a constructor), or at the first hook that needs one
 *     when another library's constructor calls it before ours ran
 *     (cxlmu_libc_resolve). dlsym may allocate, so no path the allocator
 *     reaches may resolve: those use the aliases.
 * dlsym gives each name's default version (a new sem_t, a new
 * pthread_cond_t), the one the hooks are declared for. */
#ifndef CXLMU_SRC_LIBC_H
#define CXLMU_SRC_LIBC_H

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* glibc's aliases, which no hook shadows. */
extern int __nanosleep(const struct timespec *req, struct timespec *rem);
extern int __poll(struct pollfd *fds, nfds_t nfds, int timeout);
extern int __select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv);
extern int __sched_yield(void);
extern int __pthread_mutex_lock(pthread_mutex_t *m);
extern int __pthread_mutex_trylock(pthread_mutex_t *m);
extern int __pthread_mutex_unlock(pthread_mutex_t *m);
extern int __pthread_rwlock_rdlock(pthread_rwlock_t *l);
extern int __pthread_rwlock_wrlock(pthread_rwlock_t *l);
extern int __pthread_rwlock_tryrdlock(pthread_rwlock_t *l);
extern int __pthread_rwlock_trywrlock(pthread_rwlock_t *l);
extern int __pthread_rwlock_unlock(pthread_rwlock_t *l);
extern int __pthread_once(pthread_once_t *o, void (*init)(void));

/* The table: X(name, return type, parameter types), one row per function
 * looked up by name. */
#define CXLMU_LIBC_FUNCTIONS(X) \
	/* dlfcn */ \
	X(dlclose, int, (void *)) \
	/* sleeps and waits on nothing (preload/sleep.c) */ \
	X(clock_nanosleep, int, (clockid_t, int, const struct timespec *, struct timespec *)) \
	X(usleep, int, (useconds_t)) \
	X(sleep, unsigned, (unsigned)) \
	X(thrd_sleep, int, (const struct timespec *, struct timespec *)) \
	X(ppoll, int, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *)) \
	X(pselect, int, (int, fd_set *, fd_set *, fd_set *, const struct timespec *, \
			 const sigset_t *)) \
	/* synchronization (preload/sync.c) */ \
	X(pthread_mutex_timedlock, int, (pthread_mutex_t *, const struct timespec *)) \
	X(pthread_mutex_clocklock, int, (pthread_mutex_t *, clockid_t, const struct timespec *)) \
	X(pthread_cond_wait, int, (pthread_cond_t *, pthread_mutex_t *)) \
	X(pthread_cond_timedwait, int, (pthread_cond_t *, pthread_mutex_t *, \
					const struct timespec *)) \
	X(pthread_cond_clockwait, int, (pthread_cond_t *, pthread_mutex_t *, clockid_t, \
					const struct timespec *)) \
	X(pthread_cond_signal, int, (pthread_cond_t *)) \
	X(pthread_cond_broadcast, int, (pthread_cond_t *)) \
	X(pthread_rwlock_timedrdlock, int, (pthread_rwlock_t *, const struct timespec *)) \
	X(pthread_rwlock_timedwrlock, int, (pthread_rwlock_t *, const struct timespec *)) \
	X(pthread_rwlock_clockrdlock, int, (pthread_rwlock_t *, clockid_t, \
					    const struct timespec *)) \
	X(pthread_rwlock_clockwrlock, int, (pthread_rwlock_t *, clockid_t, \
					    const struct timespec *)) \
	X(pthread_barrier_init, int, (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned)) \
	X(pthread_barrier_wait, int, (pthread_barrier_t *)) \
	X(pthread_barrier_destroy, int, (pthread_barrier_t *)) \
	X(pthread_spin_lock, int, (pthread_spinlock_t *)) \
	X(pthread_spin_trylock, int, (pthread_spinlock_t *)) \
	X(sem_wait, int, (sem_t *)) \
	X(sem_trywait, int, (sem_t *)) \
	X(sem_timedwait, int, (sem_t *, const struct timespec *)) \
	X(sem_clockwait, int, (sem_t *, clockid_t, const struct timespec *)) \
	/* threads (preload/thread.c) */ \
	X(pthread_create, int, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *)) \
	X(pthread_exit, void, (void *)) \
	X(pthread_join, int, (pthread_t, void **)) \
	X(pthread_tryjoin_np, int, (pthread_t, void **)) \
	X(pthread_timedjoin_np, int, (pthread_t, void **, const struct timespec *)) \
	X(pthread_clockjoin_np, int, (pthread_t, void **, clockid_t, const struct timespec *)) \
	X(pthread_cancel, int, (pthread_t)) \
	X(pthread_testcancel, void, (void)) \
	X(thrd_create, int, (thrd_t *, thrd_start_t, void *)) \
	X(thrd_exit, void, (int)) \
	X(thrd_join, int, (thrd_t, int *)) \
	X(pthread_setaffinity_np, int, (pthread_t, size_t, const cpu_set_t *)) \
	X(sched_setaffinity, int, (pid_t, size_t, const cpu_set_t *)) \
	X(sched_getcpu, int, (void)) \
	/* signals (preload/signal.c) */ \
	X(raise, int, (int)) \
	X(pthread_kill, int, (pthread_t, int)) \
	X(pthread_sigqueue, int, (pthread_t, int, const union sigval)) \
	X(tgkill, int, (pid_t, pid_t, int)) \
	X(gettid, pid_t, (void)) \
	X(pthread_sigmask, int, (int, const sigset_t *, sigset_t *)) \
	X(sigprocmask, int, (int, const sigset_t *, sigset_t *)) \
	X(sigpending, int, (sigset_t *)) \
	X(sigwait, int, (const sigset_t *, int *)) \
	X(sigwaitinfo, int, (const sigset_t *, siginfo_t *)) \
	X(sigtimedwait, int, (const sigset_t *, siginfo_t *, const struct timespec *)) \
	X(sigsuspend, int, (const sigset_t *)) \
	X(pause, int, (void)) \
	X(__sigpause, int, (int, int)) \
	X(__xpg_sigpause, int, (int)) \
	X(epoll_wait, int, (int, struct epoll_event *, int, int)) \
	X(epoll_pwait, int, (int, struct epoll_event *, int, int, const sigset_t *)) \
	X(epoll_pwait2, int, (int, struct epoll_event *, int, const struct timespec *, \
			      const sigset_t *))

struct cxlmu_libc {
#define CXLMU_LIBC_FIELD(name, ret, params) ret (*name) params;
	CXLMU_LIBC_FUNCTIONS(CXLMU_LIBC_FIELD)
#undef CXLMU_LIBC_FIELD
	/* glibc's count of the threads that end the process when the last
	 * one ends (src/glibc_abi.h); NULL where libc has none. */
	_Atomic unsigned *nthreads;
	_Atomic bool ready;     /* every field looked up (NULL: libc lacks it) */
};
extern struct cxlmu_libc cxlmu_libc;

/* Look every function up (again: concurrent calls store the same values). */
void cxlmu_libc_init(void);

/* Before reading cxlmu_libc: a hook may run before the constructor. */
static inline void cxlmu_libc_resolve(void)
{
	if (unlikely(!atomic_load_explicit(&cxlmu_libc.ready, memory_order_acquire)))
		cxlmu_libc_init();
}

/* libc's function name, looked up if nothing has looked yet. */
#define CXLMU_LIBC(name) (cxlmu_libc_resolve(), cxlmu_libc.name)

#endif
