/* The scheduler for waits (preload/sleep.c, preload/sync.c, src/remote.c):
 * what a fiber does instead of entering the kernel to wait (src/scheduler.h). */
#ifndef CXLMU_SRC_SCHED_WAIT_H
#define CXLMU_SRC_SCHED_WAIT_H

#include "scheduler.h"

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
 * alike short sleeps from one site is a poll (src/pollrule.h), which
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
/* A wake-up of word for fibers whose hosts watch words with futex_waitv
 * (--fiber-wait): those waiting on it become runnable, up to max, even
 * where the word kept its value (a host running fibers has no wait in the
 * kernel for a FUTEX_WAKE to find). How many. */
unsigned cxlmu_sched_wake_word(const void *word, unsigned max);

/* In a fiber: wait on addr, switched away, while still(arg) holds when
 * looked at after registering, until cxlmu_sched_unpark(addr), the
 * deadline (0: none) or a cancellation (a signal handler that runs
 * meanwhile does not end it). True when unparked. For waits
 * whose every waker goes through the runtime (condition variables,
 * rwlocks): nothing in the kernel knows of them. */
bool cxlmu_sched_park(const void *addr, bool (*still)(void *), void *arg, uint64_t deadline);
/* From any thread: wake up to max fibers parked on addr; how many. A
 * load and a fence when there are none. */
unsigned cxlmu_sched_unpark(const void *addr, unsigned max);

#endif
