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

struct cxlmu_fib;

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

/* Why a thread runs as a fiber or as a kernel thread: the report lists
 * each thread with one. */
enum cxlmu_sched_why {
	CXLMU_WHY_SHARED,       /* fiber: pinned to a CPU other threads share */
	CXLMU_WHY_PINNED,       /* fiber: pinned to one CPU (--sched=fibers) */
	CXLMU_WHY_UNPINNED,     /* kernel: may run on more than one CPU */
	CXLMU_WHY_ALONE,        /* kernel: no other thread on its CPU */
	CXLMU_WHY_NO_RING,      /* kernel: no io_uring futex waits (auto) */
	CXLMU_WHY_FAILED,       /* kernel: no memory or host for the fiber */
	CXLMU_WHY_SIGWAIT,      /* kernel: waited for signals (sigwait) */
	CXLMU_WHY_SANDBOX,      /* kernel: under a seccomp filter (src/sandbox.h) */
	CXLMU_WHY_COUNT
};
#define CXLMU_WHY_FIBER(w) ((w) <= CXLMU_WHY_PINNED)
extern const char *const cxlmu_sched_why_names[CXLMU_WHY_COUNT];

/* The fiber running on this thread, or NULL for a kernel thread. */
struct cxlmu_fib *cxlmu_sched_self(void);

/* The one CPU the calling thread may run on, or -1. */
int cxlmu_sched_pinned_cpu(void);

/* What a thread pinned to cpu (-1: to no one CPU) runs as. company: a
 * thread pinned there is known (the creator of a thread on its own CPU). */
enum cxlmu_sched_why cxlmu_sched_choose(int cpu, bool company);
/* The calling thread runs as a kernel thread for why (pinned to cpu, or
 * -1): noted for the report, and a thread alone on its CPU joins that
 * CPU's fibers at its next wait once there are some. */
void cxlmu_sched_note(enum cxlmu_sched_why why, int cpu);
/* A creator counts a thread it makes alone on cpu (delta 1) before the
 * thread runs, so the next thread made for that CPU sees it, or uncounts
 * it (-1) when the creation failed; the thread itself then notes itself
 * with cxlmu_sched_note_alone. */
void cxlmu_sched_alone(int cpu, int delta);
void cxlmu_sched_note_alone(int cpu);
/* The calling kernel thread ends (a thread the runtime noted). */
void cxlmu_sched_thread_end(void);

/* Make the calling kernel thread a fiber of cpu's scheduler for why:
 * returns once it runs as one (0), or -errno (it stays a kernel thread,
 * noted as failed). */
int cxlmu_sched_adopt(int cpu, enum cxlmu_sched_why why);
/* Back to its own kernel thread, for good (a fiber only; else nothing). */
void cxlmu_sched_leave(void);
/* The calling thread, its affinity just set (it is a kernel thread now,
 * see cxlmu_sched_leave): a fiber of its one CPU or a kernel thread, as
 * cxlmu_sched_choose says. Only for threads the runtime noted as they
 * began (and the main thread); others stay kernel threads. */
void cxlmu_sched_place(void);
/* Another thread's affinity was set: a fiber among them (its pthread_t
 * or, when tid is nonzero, its thread id) moves to where its kernel
 * thread may now run at its next wait. True when it was a fiber. */
bool cxlmu_sched_retarget(pthread_t t, pid_t tid);

/* A signal sent to one thread: what its handler's siginfo says. */
struct cxlmu_sig {
	int sig;
	int code;               /* SI_TKILL, or SI_QUEUE with value */
	pid_t pid;
	uid_t uid;
	union sigval value;
};

/* A signal for the thread t (or, when tid is nonzero, the thread with that
 * id): when it is a fiber, the signal reaches the fiber wherever it runs,
 * and true with *err (0, or EINVAL for a signal number it cannot take).
 * The handler runs in the fiber: at once when it runs or is blocked in the
 * kernel on its host (a read gets EINTR), when it next runs otherwise (a
 * sleep ends early, as a plain sleep would with EINTR). A signal its mask
 * blocks stays pending for it until it unblocks it. False when t is not
 * a fiber: the caller sends it as libc would. One of each signal number
 * is kept pending per fiber, as for standard signals. */
bool cxlmu_sched_signal(pthread_t t, pid_t tid, const struct cxlmu_sig *s, int *err);
/* In a fiber (cxlmu_sched_fiber): its own signal mask, as pthread_sigmask
 * does: 0 or EINVAL; -1 when the call is libc's to make (inside a signal
 * handler, whose mask the kernel restores when it returns). */
int cxlmu_sched_sigmask(int how, const sigset_t *set, sigset_t *old);
/* The signals pending for the calling fiber alone (bit sig-1); 0 for a
 * kernel thread. */
uint64_t cxlmu_sched_sigpending(void);
/* In a fiber: back to its own kernel thread for good, noted with why
 * (sigwait and sigsuspend wait there, as the kernel's signal delivery
 * expects). */
void cxlmu_sched_unfiber(enum cxlmu_sched_why why);

/* pthread_cancel for a fiber: noted, and true, when t is one. glibc's own
 * cancellation would unwind the thread on the host running it; the fiber
 * goes back to its kernel thread at its next cancellation point instead
 * (cxlmu_sched_cancelled), and is cancelled there. */
bool cxlmu_sched_mark_cancel(pthread_t t);
bool cxlmu_sched_cancelled(const struct cxlmu_fib *f);
/* The thread id glibc knows the fiber by (a mutex's owner). */
pid_t cxlmu_sched_tid(const struct cxlmu_fib *f);
/* The CPU whose scheduler runs the fiber. */
int cxlmu_sched_cpu(const struct cxlmu_fib *f);

/* A runtime thread (the remote agents): detached, every signal blocked,
 * made with libc's pthread_create, so it never becomes a fiber; stack 0:
 * libc's default size. 0 or -errno. */
int cxlmu_sched_spawn(void *(*fn)(void *), void *arg, size_t stack);
/* In a fiber: a completion is due soon from another thread (a remote
 * call; +1 before switching away for it, -1 after). While any fiber of a
 * core expects one, its host looks for it for a few tens of microseconds
 * before it sleeps. */
void cxlmu_sched_expect(int delta);
/* In a fiber: whether its core has other fibers runnable or sleeping, so
 * that switching away now lets something run. */
bool cxlmu_sched_others_ready(void);

/* In a fiber: let the core's other runnable fibers run first. */
void cxlmu_sched_yield(void);
/* In a fiber: run the others until the CLOCK_MONOTONIC deadline. progress:
 * the sleep is a sign the fiber did something (a program's sleep; not a
 * join looking again), so the core's sleeping polls re-check. 0, or the
 * ns left when a signal handler ran in it meanwhile: the sleep ended
 * early. */
uint64_t cxlmu_sched_sleep_until(uint64_t deadline, bool progress);
/* In a fiber: a sleep of ns asked from site (return address); a run of
 * alike short sleeps from one site is a poll (as src/wait.h says), which
 * yields while other fibers are runnable and else waits at most until the
 * plain sleep would have ended. Any other sleep lasts at least ns, or
 * ends early when a signal handler ran in the fiber (the ns left). */
uint64_t cxlmu_sched_sleep(uint64_t ns, const void *site);

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

/* cxlmu_sched_fiber with fibers on. */
struct cxlmu_fib *cxlmu_sched_current(void);
/* The same at a sleep (a cancellation point), where first a fiber asked
 * to move (its affinity was set by another thread) moves, and a kernel
 * thread alone on its CPU that has fibers there now joins them. Only
 * there: not in a lock's hook, which malloc and handlers can reach. */
struct cxlmu_fib *cxlmu_sched_settle(void);

/* The calling fiber when it may switch now, else NULL: fibers off, a
 * kernel thread, or inside the scheduler's own part of a call. What the
 * hooks ask before doing a fiber's version of a call. */
static inline struct cxlmu_fib *cxlmu_sched_fiber(void)
{
	if (likely(!cxlmu_sched_on))
		return NULL;
	return cxlmu_sched_current();
}

static inline struct cxlmu_fib *cxlmu_sched_fiber_at_sleep(void)
{
	if (likely(!cxlmu_sched_on))
		return NULL;
	return cxlmu_sched_settle();
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
