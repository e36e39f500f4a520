/* Sleeping and yielding calls as idle points (kernel threads; fibers come
 * with the scheduler). A short sleep issued again and again from one call
 * site is a poll: it waits in the thread's io_uring (src/ring.c) and ends
 * early when another thread of the program makes progress. Every other
 * sleep is the caller's to pass on to libc unchanged. */
#ifndef CXLMU_SRC_WAIT_H
#define CXLMU_SRC_WAIT_H

#include "internal.h"
#include "options.h"
#include "pollrule.h"

/* A thread that ran this long between two idle points made progress. */
#define CXLMU_WORK_NS       1000u

enum cxlmu_idle_kind {
	CXLMU_IDLE_SLEEP,      /* relative: may be a poll */
	CXLMU_IDLE_ABSOLUTE,   /* TIMER_ABSTIME, sleep(): never a poll */
	CXLMU_IDLE_YIELD,
};

struct cxlmu_waiter;

/* One idle point, on the hook's stack. */
struct cxlmu_idle {
	struct cxlmu_waiter *w;   /* NULL: not tracked (no slot) */
	uint64_t start;           /* CLOCK_MONOTONIC at entry */
	uint64_t asked;           /* duration asked, ns */
	enum cxlmu_idle_kind kind;
	uint32_t val;             /* wake word when the poll began */
	struct cxlmu_poll_site *site; /* the call site's record, for sleeps */
	bool poll;
};

/* Nonzero once the runtime runs with --sched other than off. */
extern int cxlmu_wait_on;
/* A seccomp filter goes in (src/sandbox.h): sleeps go to libc from now
 * on. Returns what cxlmu_wait_on was, for cxlmu_wait_unsandbox when the
 * filter did not go in after all. */
int cxlmu_wait_sandbox(void);
void cxlmu_wait_unsandbox(int was);

void cxlmu_wait_init(const struct cxlmu_config *cfg);
void cxlmu_wait_after_fork(void);

/* An idle point begins: counted, and pollers are woken when this thread
 * made progress since its previous one. True when the sleep is a poll the
 * runtime waits for itself (cxlmu_wait_poll), false when the caller passes
 * it on to libc. Either way cxlmu_wait_end follows. errno is kept. */
bool cxlmu_wait_begin(struct cxlmu_idle *idle, enum cxlmu_idle_kind kind,
		      uint64_t ns, const void *site);
/* Wait for a poll until its time is up or a wake-up comes: 0, or -EINTR
 * when a signal handler ran (*left: what remained of the time asked).
 * Must follow a cxlmu_wait_begin that returned true: the poll is already
 * registered as waiting. */
int cxlmu_wait_poll(struct cxlmu_idle *idle, uint64_t *left);
void cxlmu_wait_end(struct cxlmu_idle *idle);

struct cxlmu_wait_totals {
	uint64_t sleeps;         /* intercepted sleep calls */
	uint64_t yields;         /* intercepted yields */
	uint64_t polls;          /* sleeps that were polls */
	uint64_t early;          /* polls ended by a wake-up */
	uint64_t wakeups;        /* wake-ups sent */
	uint64_t asked_ns;       /* time the sleeps asked for */
	uint64_t slept_ns;       /* time they took */
	uint64_t threads;        /* threads that had an idle point */
};
void cxlmu_wait_totals(struct cxlmu_wait_totals *out);
/* "futex", "msg_ring", "eventfd", "syscall"; "none" before any poll. */
const char *cxlmu_wait_path_name(void);
const char *cxlmu_wait_sched_name(void);

#endif
