/* Remote calls (--remote, and the explicit API of include/cxlmu.h).
 *
 * One agent thread per CXL node, pinned to the CPUs nearest that node,
 * takes requests from a bounded shared-memory queue (many producers, one
 * consumer) and runs them. A caller that is a fiber switches away until
 * the completion comes (its core runs its other fibers meanwhile; the
 * agent's completion unparks it, and an idle core hears of it in its
 * io_uring); a kernel thread waits in its own io_uring on the request's
 * completion word (io_uring futex wait; futex(2) where the kernel has no
 * futex opcodes). Functions named by --remote are reached through the
 * trampolines of src/remote_x86_64.S, which the GOT slots of every module
 * and dlsym answers lead to (src/got.h). */
#ifndef CXLMU_SRC_REMOTE_H
#define CXLMU_SRC_REMOTE_H

#include <stdatomic.h>
#include <stdio.h>

#include "internal.h"
#include "options.h"
#include "topology.h"

/* What the trampoline saves and the agent loads: the argument registers
 * in, the return registers out. The layout is src/remote_x86_64.S's. */
struct cxlmu_remote_regs {
	uint64_t gpr[6];          /* rdi, rsi, rdx, rcx, r8, r9 */
	uint64_t rax;
	uint64_t pad;
	uint64_t xmm[8][2];
	uint64_t ret_rax, ret_rdx;
	uint64_t ret_xmm[2][2];
} __attribute__((aligned(16)));

/* At start, with the configuration and topology: parse the SPECs, place
 * the agents (started at the first call), and rewrite the GOT slots of
 * the modules loaded so far. Messages for refused functions go to the
 * log (stderr). */
void cxlmu_remote_init(const struct cxlmu_config *cfg, const struct cxlmu_topology *topo);
void cxlmu_remote_after_fork(void);

/* Run fn(arg) on the agent of node (-1: the first agent). Returns a
 * handle, or NULL with errno (EINVAL: no agent for node; ENOMEM; EAGAIN:
 * no agent thread could be made). */
struct cxlmu_call;
struct cxlmu_call *cxlmu_remote_call_submit(void *(*fn)(void *), void *arg, int node);
/* Wait for it (a fiber switches away meanwhile), store fn's result, free
 * the handle, and return 0 with errno as fn left it; -EINVAL (errno
 * untouched) when call is NULL. */
int cxlmu_remote_call_await(struct cxlmu_call *call, void **result);

/* The completion-waiting primitive: wait while the 32-bit word holds val,
 * until a wake-up or the CLOCK_MONOTONIC deadline (0: none). A fiber
 * switches away (its core's io_uring holds the futex wait); a kernel
 * thread waits in its own io_uring. 0 (woken, changed, or spuriously),
 * -ETIMEDOUT. */
int cxlmu_remote_wait_word(_Atomic uint32_t *word, uint32_t val, uint64_t deadline);
/* Wake up to n waiters of word; how many were woken. */
int cxlmu_remote_wake_word(_Atomic uint32_t *word, int n);

/* For the report. */
struct cxlmu_remote_fn_stats {
	char name[256];          /* SYMBOL (LIBRARY) */
	uint64_t calls;          /* went to an agent */
	uint64_t local;          /* ran on the caller: from an agent itself, no agent */
	uint64_t agent_ns;       /* time in the function on the agent */
	uint64_t wait_ns;        /* callers' time from submit to resume */
	uint64_t switched;       /* calls during which a fiber switched away */
};
struct cxlmu_remote_totals {
	unsigned agents;         /* agent threads started */
	unsigned fns;            /* remote functions (trampolines in use) */
	unsigned refused;
	uint64_t calls;          /* all calls sent to agents, API included */
	uint64_t inflight_max;
	uint64_t busy_ns;        /* time with at least one call in flight */
	uint64_t flight_ns;      /* sum over calls of submit to completion */
	uint64_t agent_ns;       /* sum over calls of time in the agent */
	uint64_t wait_ns;        /* sum over calls of callers' wait */
	uint64_t idle_ns;        /* the part of it in which the caller's core ran
				  * nothing else (kernel threads: all of it) */
};
void cxlmu_remote_totals(struct cxlmu_remote_totals *out);
/* The i-th remote function; false past the last. */
bool cxlmu_remote_fn(unsigned i, struct cxlmu_remote_fn_stats *out);

#endif
