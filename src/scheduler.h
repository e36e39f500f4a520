/* The per-CPU fiber scheduler (--sched=auto and fibers). A thread pinned
 * to one CPU that other threads share (with auto; to any one CPU with
 * fibers) becomes a fiber of that CPU's scheduler: its kernel thread
 * parks, and a
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

/* Its clients include what they use of it, beside this one:
 *   src/sched_thread.h  threads: adopt, leave, place, cancel (preload/thread.c)
 *   src/sched_signal.h  signals and masks of fibers (preload/signal.c)
 *   src/sched_wait.h    what a fiber's waits do: sleep, yield, block (the waits)
 * and src/sched_impl.h is the scheduler's own, for its files only. */

/* A thread run as a fiber (src/sched_impl.h); opaque to the clients. */
struct cxlmu_uthread;

typedef int (*cxlmu_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* With the runtime's configuration, and libc's pthread_create (the
 * runtime's own threads must not go through the hook), in either order:
 * fibers are on once both came and wrfsbase is usable. */
void cxlmu_sched_init(const struct cxlmu_config *cfg);
void cxlmu_sched_set_create(cxlmu_create_fn create);
void cxlmu_sched_after_fork(void);

/* Nonzero once fibers may be made (--sched=auto or fibers, and wrfsbase
 * usable). */
extern int cxlmu_sched_on;
/* Why fibers are off for the whole program ("mode", "no-fsgsbase"), or
 * NULL when they are on. */
const char *cxlmu_sched_off_why(void);
/* How fiber hosts wait for their fibers' futex words (--fiber-wait):
 * "ring", "waitv", "poll" (neither: they look again), or "none" while no
 * thread has been about to become a fiber. */
const char *cxlmu_sched_fiber_wait_name(void);

/* Why a thread runs as a fiber or as a kernel thread: the report lists
 * each thread with one. */
enum cxlmu_sched_why {
	CXLMU_WHY_SHARED,       /* fiber: pinned to a CPU other threads share */
	CXLMU_WHY_PINNED,       /* fiber: pinned to one CPU (--sched=fibers) */
	CXLMU_WHY_UNPINNED,     /* kernel: may run on more than one CPU */
	CXLMU_WHY_ALONE,        /* kernel: no other thread on its CPU */
	CXLMU_WHY_QUIET,        /* kernel: its CPU's threads neither poll nor
				 * hand off often (auto; src/sched_why.c) */
	CXLMU_WHY_NO_RING,      /* kernel: no io_uring futex waits (auto) */
	CXLMU_WHY_FAILED,       /* kernel: no memory or host for the fiber */
	CXLMU_WHY_SIGWAIT,      /* kernel: waited for signals (sigwait) */
	CXLMU_WHY_SANDBOX,      /* kernel: under a seccomp filter (src/sandbox.h) */
	CXLMU_WHY_COUNT
};
#define CXLMU_WHY_FIBER(w) ((w) <= CXLMU_WHY_PINNED)
extern const char *const cxlmu_sched_why_names[CXLMU_WHY_COUNT];

/* The fiber running on this thread, or NULL for a kernel thread. */
struct cxlmu_uthread *cxlmu_sched_self(void);

/* A fiber's own: whether pthread_cancel came for it (it is cancelled
 * at its next cancellation point, on its own kernel thread), the thread id
 * glibc knows it by (a mutex's owner), the CPU whose scheduler runs it. */
bool cxlmu_sched_cancelled(const struct cxlmu_uthread *f);
pid_t cxlmu_sched_tid(const struct cxlmu_uthread *f);
int cxlmu_sched_cpu(const struct cxlmu_uthread *f);

/* A runtime thread (the remote agents): detached, every signal blocked,
 * made with libc's pthread_create, so it never becomes a fiber; stack 0:
 * libc's default size. 0 or -errno. */
int cxlmu_sched_spawn(void *(*fn)(void *), void *arg, size_t stack);
/* The two questions a hook asks. cxlmu_sched_self: the fiber this thread
 * runs as, or NULL for a kernel thread. cxlmu_sched_fiber: the same when
 * it may switch now, else NULL: fibers off, a kernel thread, or inside
 * the scheduler's own part of a call (a signal handler that interrupted
 * it, or one running on the parked kernel thread), where the caller does
 * what a kernel thread does. */
struct cxlmu_uthread *cxlmu_sched_self(void);
struct cxlmu_uthread *cxlmu_sched_fiber_now(void);  /* cxlmu_sched_fiber's body */

static inline struct cxlmu_uthread *cxlmu_sched_fiber(void)
{
	if (likely(!cxlmu_sched_on))
		return NULL;
	return cxlmu_sched_fiber_now();
}

/* At a sleep (a cancellation point), before asking cxlmu_sched_fiber: a
 * fiber asked to move (its affinity was set by another thread) moves, and
 * a pinned kernel thread whose CPU changed (fibers came, or it became
 * busy) is placed again, a fiber if auto's rule says so. Only there: not
 * in a lock's hook, which malloc and handlers reach. */
void cxlmu_sched_settle(void);
/* At a blocking wait that is a cancellation point as settling is
 * (condition variable, semaphore, join; not a barrier), before asking
 * cxlmu_sched_fiber: a pinned kernel thread's wait counts for auto's rule
 * (src/sched_why.c), then it settles as at a sleep. */
void cxlmu_sched_at_wait(void);

static inline struct cxlmu_uthread *cxlmu_sched_fiber_at_wait(void)
{
	if (likely(!cxlmu_sched_on))
		return NULL;
	cxlmu_sched_at_wait();
	return cxlmu_sched_fiber_now();
}

struct cxlmu_sched_totals {
	uint64_t fibers;       /* threads that ran as fibers */
	uint64_t switches;     /* fiber switches */
	uint64_t cores;        /* CPUs with a scheduler */
	uint64_t handoffs;     /* times the monitor gave a core another host */
};
void cxlmu_sched_totals(struct cxlmu_sched_totals *out);

/* The report's list: up to CXLMU_SCHED_RECORDS threads as the runtime
 * last saw each (a thread id is written once it ran), and how many
 * threads ran last as each why, listed or not. */
#define CXLMU_SCHED_RECORDS 256
struct cxlmu_sched_thread {
	pid_t tid;
	int cpu;                /* -1: not pinned to one */
	enum cxlmu_sched_why why;
};
size_t cxlmu_sched_threads(struct cxlmu_sched_thread *out, size_t max,
			   uint64_t counts[CXLMU_WHY_COUNT]);

#endif
