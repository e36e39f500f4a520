/* What the runtime assumes of glibc's synchronization objects, in one
 * place. A fiber waits on glibc's own objects, shared with kernel
 * threads (src/sync.c), so it reads their words and bits as glibc does.
 * Everything here is glibc's public ABI on x86-64 (the layouts in
 * bits/struct_mutex.h, bits/thread-shared-types.h and nptl's
 * semaphoreP.h and pthread_once.c), unchanged since glibc 2.25 (the new
 * condition variable); built and used with 2.36. tests/integration/
 * fiber-sync.sh uses each kind of object from fibers (on CPUs with
 * FSGSBASE). A glibc that changes one of these needs a change here, and
 * only here.
 *
 *   pthread_mutex_t  __data.__lock   the futex word: 0 free, 1 locked, 2
 *                                    locked and maybe waited for
 *                    __data.__kind   bits 0-1 the type (PTHREAD_MUTEX_*),
 *                                    16 robust, 32 priority-inheriting, 64
 *                                    priority-protecting, 128 process-
 *                                    shared, 256 elision
 *                    __data.__owner  the holder's thread id
 *   pthread_cond_t   __data.__wrefs  bit 0 process-shared, bit 1
 *                                    CLOCK_MONOTONIC (else REALTIME)
 *   pthread_rwlock_t __data.__shared      nonzero: process-shared
 *                    __data.__cur_writer  the writer's thread id
 *   pthread_once_t   an int: bit 0 in progress, bit 1 done, the fork
 *                    generation above; the initializer wakes every waiter
 *                    on the word when done
 *   sem_t            struct cxlmu_glibc_sem below (64-bit: the value in
 *                    the low half of data, the count of waiters in the
 *                    high half; sem_post wakes the value word when the
 *                    count is not 0)
 *   pthread_barrier_t glibc's barrier uses its first 20 bytes and its
 *                    init leaves the rest alone: the runtime's own barrier
 *                    (src/sync.c) keeps a magic in the last 4 bytes.
 *
 * One private symbol: __nptl_nthreads (GLIBC_PRIVATE, exported for
 * libthread_db since before 2.25; src/libc.c looks it up). An unsigned
 * count of the process's threads: 1 at start, one more for each thread
 * pthread_create makes, one less as each ends; the thread that takes it
 * to 0 calls exit(0). That is how a program whose main thread called
 * pthread_exit ends with its last thread. The runtime's own threads never
 * end, so it takes each off the count once made (src/scheduler.c);
 * where libc has no such symbol, such a program outlives its threads
 * only while fibers run. */
#ifndef CXLMU_SRC_GLIBC_ABI_H
#define CXLMU_SRC_GLIBC_ABI_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "internal.h"

/* Mutexes. */
#define CXLMU_GLIBC_MUTEX_TYPE      3
#define CXLMU_GLIBC_MUTEX_KERNEL    (16 | 32 | 64 | 256)  /* robust, PI, PP, elision */
#define CXLMU_GLIBC_MUTEX_PSHARED   128

static inline _Atomic int *cxlmu_glibc_mutex_word(pthread_mutex_t *m)
{
	return (_Atomic int *)&m->__data.__lock;
}

static inline int cxlmu_glibc_mutex_kind(const pthread_mutex_t *m)
{
	return m->__data.__kind;
}

static inline pid_t cxlmu_glibc_mutex_owner(const pthread_mutex_t *m)
{
	return m->__data.__owner;
}

/* Condition variables. */
static inline bool cxlmu_glibc_cond_shared(const pthread_cond_t *c)
{
	return c->__data.__wrefs & 1;
}

static inline clockid_t cxlmu_glibc_cond_clock(const pthread_cond_t *c)
{
	return c->__data.__wrefs & 2 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

/* Read-write locks. */
static inline bool cxlmu_glibc_rwlock_shared(const pthread_rwlock_t *l)
{
	return l->__data.__shared;
}

static inline pid_t cxlmu_glibc_rwlock_writer(const pthread_rwlock_t *l)
{
	return l->__data.__cur_writer;
}

/* Once. */
#define CXLMU_GLIBC_ONCE_INPROGRESS 1
#define CXLMU_GLIBC_ONCE_DONE       2
_Static_assert(sizeof(pthread_once_t) == sizeof(int), "pthread_once_t is glibc's int");

/* Semaphores. private: glibc's LLL_PRIVATE (0) or LLL_SHARED
 * (FUTEX_PRIVATE_FLAG, which its futex calls flip: a shared word). */
struct cxlmu_glibc_sem {
	_Atomic uint64_t data;
	int private;
	int pad;
};
#define CXLMU_GLIBC_SEM_WAITER ((uint64_t)1 << 32)
_Static_assert(sizeof(struct cxlmu_glibc_sem) <= sizeof(sem_t), "sem_t layout");

#endif
