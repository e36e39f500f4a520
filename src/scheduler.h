/* The per-CPU fiber scheduler (--sched=fibers). A thread pinned to one CPU
 * becomes a fiber of that CPU's scheduler: its kernel thread parks, and a
 * host thread pinned to the CPU runs the fibers one after another, each
 * with its own stack and thread control block (the FS base is switched
 * with the stack, src/fiber.h), so __thread variables, errno, pthread_self
 * and keys stay the thread's. Sleeps and yields in a fiber switch to the
 * next runnable fiber instead of entering the kernel; when none is
 * runnable the host waits for the earliest deadline or a new fiber. A
 * fiber ends where it began: its own kernel thread takes it back and
 * finishes the thread as glibc expects (return value, key destructors,
 * pthread_exit's unwinding). A monitor thread gives a core whose host has
 * not switched for a few milliseconds (a fiber blocked in the kernel or
 * spinning) a second host, so its other fibers go on. */
#ifndef CXLMU_SRC_SCHEDULER_H
#define CXLMU_SRC_SCHEDULER_H

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

#include "internal.h"
#include "options.h"

struct cxlmu_fib;

typedef int (*cxlmu_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* With the runtime's configuration, and libc's pthread_create (the
 * runtime's own threads must not go through the hook), in either order:
 * fibers are on once both came and wrfsbase is usable. */
void cxlmu_sched_init(const struct cxlmu_config *cfg);
void cxlmu_sched_set_create(cxlmu_create_fn create);
void cxlmu_sched_after_fork(void);

/* Nonzero once fibers may be made (--sched=fibers and wrfsbase usable). */
extern int cxlmu_sched_on;

/* The fiber running on this thread, or NULL for a kernel thread. */
struct cxlmu_fib *cxlmu_sched_self(void);

/* The one CPU the calling thread may run on, or -1. */
int cxlmu_sched_pinned_cpu(void);

/* Make the calling kernel thread a fiber of cpu's scheduler: returns once
 * it runs as one (0), or -errno (it stays a kernel thread). */
int cxlmu_sched_adopt(int cpu);
/* Back to its own kernel thread, for good (a fiber only; else nothing). */
void cxlmu_sched_leave(void);

/* pthread_cancel for a fiber: noted, and true, when t is one. glibc's own
 * cancellation would unwind the thread on the host running it; the fiber
 * goes back to its kernel thread at its next cancellation point instead
 * (cxlmu_sched_cancelled), and is cancelled there. */
bool cxlmu_sched_mark_cancel(pthread_t t);
bool cxlmu_sched_cancelled(const struct cxlmu_fib *f);
/* The thread id glibc knows the fiber by (a mutex's owner). */
pid_t cxlmu_sched_tid(const struct cxlmu_fib *f);

/* In a fiber: let the core's other runnable fibers run first. */
void cxlmu_sched_yield(void);
/* In a fiber: run the others until the CLOCK_MONOTONIC deadline. */
void cxlmu_sched_sleep_until(uint64_t deadline);
/* In a fiber: a sleep of ns asked from site (return address); a run of
 * alike short sleeps from one site is a poll (as src/wait.h says), which
 * yields while other fibers are runnable and else waits at most until the
 * plain sleep would have ended. Any other sleep lasts at least ns. */
void cxlmu_sched_sleep(uint64_t ns, const void *site);

/* In a fiber: wait, switched away, until the 32-bit word no longer holds
 * val or a FUTEX_WAKE comes for it from any thread (glibc's own unlocks
 * included), until the CLOCK_MONOTONIC deadline (0: none), or until a
 * cancellation. shared: a process-shared word (no FUTEX2_PRIVATE). The
 * wait is a futex wait in the core's io_uring. Returns 0 (woken, or
 * looked at again: the caller re-checks), -EAGAIN (the word was not val),
 * -ETIMEDOUT or -EINTR (cancelled). */
int cxlmu_sched_futex_wait(void *word, uint32_t val, bool shared, uint64_t deadline);

/* In a fiber: wait on addr, switched away, while still(arg) holds when
 * looked at after registering, until cxlmu_sched_unpark(addr), the
 * deadline (0: none) or a cancellation. True when unparked. For waits
 * whose every waker goes through the runtime (condition variables,
 * rwlocks): nothing in the kernel knows of them. */
bool cxlmu_sched_park(const void *addr, bool (*still)(void *), void *arg, uint64_t deadline);
/* From any thread: wake up to max fibers parked on addr; how many. A
 * load and a fence when there are none. */
unsigned cxlmu_sched_unpark(const void *addr, unsigned max);

/* False inside the scheduler's own part of a call (a signal handler that
 * interrupted it): the caller must not switch, only do what a kernel thread
 * does. */
bool cxlmu_sched_can_switch(struct cxlmu_fib *f);

/* The calling fiber when it may switch now, else NULL: fibers off, a
 * kernel thread, or inside the scheduler's own part of a call. What the
 * hooks ask before doing a fiber's version of a call. */
static inline struct cxlmu_fib *cxlmu_sched_fiber(void)
{
	struct cxlmu_fib *f;

	if (likely(!cxlmu_sched_on))
		return NULL;
	f = cxlmu_sched_self();
	return cxlmu_sched_can_switch(f) ? f : NULL;
}

struct cxlmu_sched_totals {
	uint64_t fibers;       /* threads that ran as fibers */
	uint64_t switches;     /* fiber switches */
	uint64_t cores;        /* CPUs with a scheduler */
	uint64_t handoffs;     /* times the monitor gave a core another host */
};
void cxlmu_sched_totals(struct cxlmu_sched_totals *out);

#endif
