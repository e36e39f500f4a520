/* The thread calls fibers need (--sched=auto and fibers): pthread_create
 * makes a thread pinned to one CPU that others share a fiber of that CPU's
 * scheduler (and its pinned creator too), as cxlmu_sched_choose says;
 * pthread_exit and the end of its start routine give the fiber back to
 * its kernel thread, which finishes the thread as glibc expects; joins
 * from a fiber wait by switching, not in the kernel; setting a thread's
 * affinity moves it between fibers and kernel threads. With fibers off,
 * each forwards to libc and nothing else. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "libc.h"
#include "prim.h"
#include "sandbox.h"
#include "runtime.h"
#include "sched_thread.h"
#include "scheduler.h"
#include "sync.h"

/* libc's pthread_create goes to the scheduler (its own threads must not
 * go through the hook): at load, or at the first of these hooks when
 * another library's constructor calls one before ours ran. */
static bool told;

__attribute__((constructor)) static void thread_init(void)
{
	cxlmu_libc_resolve();
	cxlmu_sched_set_create(cxlmu_libc.pthread_create);
	told = true;
}

static inline void ready(void)
{
	if (unlikely(!told))
		thread_init();
}

static inline bool fibers(void)
{
	cxlmu_runtime_ensure();
	/* Under a seccomp filter: no fiber, and no look at affinities. */
	return cxlmu_sched_on && !cxlmu_sandboxed();
}

/* ----------------------------------------------------------------------- */
/* Creation and the end of a thread                                          */
/* ----------------------------------------------------------------------- */

struct start {
	void *(*fn)(void *);
	void *arg;
	int cpu;
	enum cxlmu_sched_why why;
};

static void *fiber_start(void *p)
{
	struct start s = *(struct start *)p;
	void *ret;

	free(p);
	cxlmu_sched_adopt(s.cpu, s.why);
	ret = s.fn(s.arg);
	cxlmu_sched_leave();
	cxlmu_sched_thread_end();
	return ret;
}

/* A kernel thread, noted with why it is one. It may be a fiber by its end
 * (it joined its CPU's fibers, or set its affinity): its own kernel
 * thread finishes it. */
static void *kernel_start(void *p)
{
	struct start s = *(struct start *)p;
	void *ret;

	free(p);
	if (s.why == CXLMU_WHY_ALONE)
		cxlmu_sched_note_alone(s.cpu);
	else
		cxlmu_sched_note(s.why, s.cpu);
	ret = s.fn(s.arg);
	cxlmu_sched_leave();
	cxlmu_sched_thread_end();
	return ret;
}

/* The one CPU a thread made with attr would be pinned to, or -1. */
static int attr_cpu(const pthread_attr_t *attr, int mine)
{
	cpu_set_t set;
	int cpu = -1;

	if (!attr)
		return mine;
	if (pthread_attr_getaffinity_np(attr, sizeof(set), &set))
		return -1;              /* CPUs beyond CPU_SETSIZE: not ours */
	/* No affinity in attr (glibc then gives every CPU): the creator's. */
	if (CPU_COUNT(&set) == 0 || CPU_COUNT(&set) == CPU_SETSIZE)
		return mine;
	if (CPU_COUNT(&set) != 1)
		return -1;
	for (int i = 0; i < CPU_SETSIZE && cpu < 0; i++)
		if (CPU_ISSET(i, &set))
			cpu = i;
	return cpu;
}

cxlmu_export int pthread_create(pthread_t *t, const pthread_attr_t *attr,
				void *(*fn)(void *), void *arg)
{
	struct start *s;
	int saved = errno, mine, cpu, r;

	ready();
	if (!fibers())
		return cxlmu_libc.pthread_create(t, attr, fn, arg);
	mine = cxlmu_sched_pinned_cpu();
	cpu = attr_cpu(attr, mine);
	s = malloc(sizeof(*s));
	if (!s) {
		errno = saved;
		return cxlmu_libc.pthread_create(t, attr, fn, arg);
	}
	s->fn = fn;
	s->arg = arg;
	s->cpu = cpu;
	s->why = cxlmu_sched_choose(cpu, cpu >= 0 && cpu == mine);
	/* A pinned kernel thread that makes a fiber of its own CPU shares
	 * that CPU with it: it becomes a fiber too; one that makes a quiet
	 * kernel thread there is no longer alone. */
	if (CXLMU_WHY_FIBER(s->why) && cpu == mine && !cxlmu_sched_self())
		cxlmu_sched_adopt(cpu, s->why);
	else if (s->why == CXLMU_WHY_QUIET && cpu == mine && !cxlmu_sched_self())
		cxlmu_sched_note(CXLMU_WHY_QUIET, cpu);
	if (s->why == CXLMU_WHY_ALONE)
		cxlmu_sched_alone(cpu, 1);
	r = cxlmu_libc.pthread_create(t, attr, CXLMU_WHY_FIBER(s->why) ? fiber_start : kernel_start, s);
	if (r && s->why == CXLMU_WHY_ALONE)
		cxlmu_sched_alone(cpu, -1);
	if (r)
		free(s);
	errno = saved;
	return r;
}

cxlmu_export __attribute__((noreturn)) void pthread_exit(void *ret)
{
	ready();
	/* Unwinding and the thread's end happen on its own kernel thread. */
	if (cxlmu_sched_self())
		cxlmu_sched_leave();
	if (cxlmu_sched_on)
		cxlmu_sched_thread_end();
	cxlmu_libc.pthread_exit(ret);
	__builtin_unreachable();
}

/* ----------------------------------------------------------------------- */
/* Affinity                                                                  */
/* ----------------------------------------------------------------------- */

/* The calling thread sets its own affinity: libc's call on its own kernel
 * thread (a fiber goes back to it first: the call would set its host's),
 * and then it runs as a fiber of its new CPU or as a kernel thread, as
 * the mode says. A call libc refuses leaves the affinity as it was, and
 * the thread is placed by that. 0 or an errno value. */
static int set_own_affinity(size_t size, const cpu_set_t *set)
{
	int saved = errno, r;

	if (!cxlmu_sched_fiber() && cxlmu_sched_self())
		/* Inside the scheduler's part of a call (a handler): only
		 * its kernel thread's mask changes, as libc does it. */
		return cxlmu_libc.pthread_setaffinity_np(pthread_self(), size, set);
	cxlmu_sched_leave();
	r = cxlmu_libc.pthread_setaffinity_np(pthread_self(), size, set);
	cxlmu_sched_place();
	errno = saved;
	return r;
}

cxlmu_export int pthread_setaffinity_np(pthread_t t, size_t size, const cpu_set_t *set)
{
	int r;

	ready();
	if (!fibers())
		return cxlmu_libc.pthread_setaffinity_np(t, size, set);
	if (pthread_equal(t, pthread_self()))
		return set_own_affinity(size, set);
	/* Another thread: a fiber moves at its next wait. */
	r = cxlmu_libc.pthread_setaffinity_np(t, size, set);
	if (!r)
		cxlmu_sched_retarget(t, 0);
	return r;
}

cxlmu_export int sched_setaffinity(pid_t pid, size_t size, const cpu_set_t *set)
{
	struct cxlmu_uthread *f;
	int r;

	ready();
	if (!fibers())
		return cxlmu_libc.sched_setaffinity(pid, size, set);
	f = cxlmu_sched_self();
	if (pid == 0 || pid == (f ? cxlmu_sched_tid(f) : (pid_t)cxlmu_prim_raw(SYS_gettid, 0, 0, 0, 0, 0, 0))) {
		r = set_own_affinity(size, set);
		if (r) {
			errno = r;
			return -1;
		}
		return 0;
	}
	r = cxlmu_libc.sched_setaffinity(pid, size, set);
	if (!r)
		cxlmu_sched_retarget((pthread_t)0, pid);
	return r;
}

/* C11 threads: glibc's thrd_create, thrd_exit and thrd_join call its
 * internal pthread functions, which no hook sees; with fibers on, they
 * go through the hooks above (a C11 thread's result is its int, as glibc
 * passes it). */
struct c11 {
	thrd_start_t fn;
	void *arg;
};

static void *c11_start(void *p)
{
	struct c11 s = *(struct c11 *)p;

	free(p);
	return (void *)(intptr_t)s.fn(s.arg);
}

cxlmu_export int thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
	struct c11 *s;
	int r;

	ready();
	if (!fibers())
		return cxlmu_libc.thrd_create(t, fn, arg);
	if (!(s = malloc(sizeof(*s))))
		return thrd_nomem;
	s->fn = fn;
	s->arg = arg;
	r = pthread_create((pthread_t *)t, NULL, c11_start, s);
	if (r)
		free(s);
	return !r ? thrd_success : r == ENOMEM ? thrd_nomem : thrd_error;
}

cxlmu_export __attribute__((noreturn)) void thrd_exit(int res)
{
	ready();
	if (cxlmu_sched_self())
		cxlmu_sched_leave();
	if (cxlmu_sched_on)
		cxlmu_sched_thread_end();
	cxlmu_libc.thrd_exit(res);
	__builtin_unreachable();
}

/* ----------------------------------------------------------------------- */
/* Cancellation                                                              */
/* ----------------------------------------------------------------------- */

/* A fiber's cancellation is only noted here, and acted on at its next
 * cancellation point that goes through the runtime, back on its own
 * kernel thread (cxlmu_sync_testcancel): glibc's would end the host. */
cxlmu_export int pthread_cancel(pthread_t t)
{
	ready();
	if (cxlmu_sched_on && cxlmu_sched_mark_cancel(t))
		return 0;
	return cxlmu_libc.pthread_cancel(t);
}

cxlmu_export void pthread_testcancel(void)
{
	ready();
	cxlmu_sync_testcancel();
}

/* ----------------------------------------------------------------------- */
/* Joins: a fiber's waits by switching (cxlmu_sync_join)                    */
/* ----------------------------------------------------------------------- */

/* abs on clock as a CLOCK_MONOTONIC deadline (one passed: now, so the
 * join still tries once); false when libc's own call must answer (a clock
 * it refuses, tv_nsec out of range). */
static bool join_deadline(clockid_t clock, const struct timespec *abs, uint64_t *out)
{
	return abs && (clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC) &&
	       cxlmu_deadline(clock, abs, true, out) != -EINVAL;
}

cxlmu_export int pthread_join(pthread_t t, void **ret)
{
	ready();
	if (cxlmu_sched_fiber_at_wait())
		return -cxlmu_sync_join(t, ret, 0);
	return cxlmu_libc.pthread_join(t, ret);
}

cxlmu_export int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abs)
{
	uint64_t deadline;

	ready();
	if (cxlmu_sched_fiber_at_wait() && join_deadline(CLOCK_REALTIME, abs, &deadline))
		return -cxlmu_sync_join(t, ret, deadline);
	return cxlmu_libc.pthread_timedjoin_np(t, ret, abs);
}

cxlmu_export int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clock,
				      const struct timespec *abs)
{
	uint64_t deadline;

	ready();
	if (cxlmu_sched_fiber_at_wait() && join_deadline(clock, abs, &deadline))
		return -cxlmu_sync_join(t, ret, deadline);
	return cxlmu_libc.pthread_clockjoin_np(t, ret, clock, abs);
}

cxlmu_export int thrd_join(thrd_t t, int *res)
{
	void *ret;
	int r;

	ready();
	if (!cxlmu_sched_fiber_at_wait())
		return cxlmu_libc.thrd_join(t, res);
	r = pthread_join((pthread_t)t, &ret);
	if (!r && res)
		*res = (int)(intptr_t)ret;
	return r ? thrd_error : thrd_success;
}

/* glibc reads the CPU from the rseq area the kernel keeps for each kernel
 * thread: in a fiber that is its parked thread's, stale. A fiber runs on
 * its scheduler's CPU, whichever host runs it. */
cxlmu_export int sched_getcpu(void)
{
	struct cxlmu_uthread *f = cxlmu_sched_on ? cxlmu_sched_self() : NULL;

	if (f)
		return cxlmu_sched_cpu(f);
	ready();
	return cxlmu_libc.sched_getcpu();
}
