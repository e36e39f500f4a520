/* The scheduler for thread life cycles (preload/thread.c): what a thread
 * runs as, adopting it as a fiber and giving it back, its affinity, its
 * cancellation (src/scheduler.h). */
#ifndef CXLMU_SRC_SCHED_THREAD_H
#define CXLMU_SRC_SCHED_THREAD_H

#include "scheduler.h"

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
/* Under auto, a pinned kernel thread polls (src/wait.c, when the poll
 * rule fires on it): its CPU's pinned threads become fibers (src/
 * sched_why.c). Nothing for other threads or modes. */
void cxlmu_sched_polled(void);
/* The signals pending for the calling thread itself, not the process
 * (bit sig-1): cxlmu_sched_adopt makes them the fiber's, which its parked
 * kernel thread would otherwise keep out of the fiber's sight. */
uint64_t cxlmu_sched_own_signals(void);
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

/* pthread_cancel for a fiber: noted, and true, when t is one. glibc's own
 * cancellation would unwind the thread on the host running it; the fiber
 * goes back to its kernel thread at its next cancellation point instead
 * (cxlmu_sched_cancelled), and is cancelled there. */
bool cxlmu_sched_mark_cancel(pthread_t t);

/* In a fiber: back to its own kernel thread for good, noted with why
 * (sigwait and sigsuspend wait there, as the kernel's signal delivery
 * expects). */
void cxlmu_sched_unfiber(enum cxlmu_sched_why why);

#endif
