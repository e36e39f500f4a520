/* The fiber scheduler's own header: what its files (src/scheduler.c,
 * src/sched_*.c) share, and no one else includes. The structures of a
 * fiber, a host and a core, the one state struct, and the small inline
 * pieces of the switch path. */
#ifndef CXLMU_SRC_SCHED_IMPL_H
#define CXLMU_SRC_SCHED_IMPL_H

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <liburing.h>

#include "fiber.h"
#include "pollrule.h"
#include "prim.h"
#include "scheduler.h"
#include "sched_signal.h"

#define MAX_CPUS        1024

/* A poll with nothing else runnable waits at least this long, as libc's
 * short sleep does with the default timer slack; a fiber's futex wait
 * without io_uring looks again this often. */
#define POLL_MIN_NS     50000

enum { OUT_YIELD = 1, OUT_SLEEP, OUT_BLOCK, OUT_FUTEX, OUT_LEAVE };
/* user_data of a core ring's completions that are not a fiber's. */
enum { TAG_NONE, TAG_KICK, TAG_LAST };

struct cxlmu_host;

/* A thread the scheduler runs as a fiber (a user-level thread): its saved
 * contexts (src/fiber.h's cxlmu_fiber_ctx, the fiber's and its parked
 * kernel thread's), where it runs and waits, and its signals. */
struct cxlmu_uthread {
	struct cxlmu_fiber_ctx ctx;     /* the fiber, while it does not run */
	struct cxlmu_fiber_ctx park;    /* its kernel thread, parked */
	struct cxlmu_core *core;
	struct cxlmu_host *host;        /* running it now */
	struct cxlmu_uthread *next;         /* run queue, polls; heap sibling */
	struct cxlmu_uthread *child;        /* sleeper heap */
	struct cxlmu_uthread *hprev;        /* heap: parent or left sibling */
	uint64_t deadline;              /* sleeping: until then */
	int out;                        /* why it switched out */
	_Atomic uint32_t back;          /* 1: its kernel thread takes it back */
	struct cxlmu_fiber_stack parkstack;
	bool busy;                      /* inside a scheduler call */
	bool polling;                   /* asleep in a poll: progress wakes it */
	/* The poll rule's sites (src/pollrule.h), times in TSC ticks. */
	struct cxlmu_poll_sites polls;
	bool progress_woke;             /* its poll sleep ended by progress */
	uint64_t resumed;               /* when it last began to run (TSC) */
	pthread_t thread;
	pid_t tid;                      /* its kernel thread's */
	struct cxlmu_uthread *all_next, **all_prev;  /* every fiber, under all_lock */
	_Atomic bool cancel;            /* pthread_cancel came for it */
	_Atomic bool move;              /* its affinity was set: re-place it */
	enum cxlmu_sched_why why;
	/* Blocked (cxlmu_sched_park, cxlmu_sched_futex_wait): off every
	 * queue until a wake, its deadline or a cancellation. Under the core
	 * lock, but wake. */
	_Atomic int wake;               /* a waker came */
	bool blocked;                   /* parked, not in the ring */
	bool in_heap;                   /* blocked with a deadline */
	bool in_ring;                   /* its futex wait is in the ring */
	bool in_vwait;                  /* on its core's vwait list */
	struct cxlmu_uthread *vnext, **vprev;
	void *fword;                    /* the futex wait asked */
	uint32_t fval;
	bool fshared;
	int fres;                       /* its completion */
	struct __kernel_timespec fts;   /* its deadline, for the ring */
	sigset_t mask;                  /* its signal mask (its kernel thread's
					 * again when it leaves) */
	bool sleeping;                  /* in the sleepers or polls (OUT_SLEEP) */
	/* Signals sent to it (see "Signals"). */
	_Atomic(struct cxlmu_host *) on;        /* the host running it, or NULL */
	_Atomic uint64_t sigpend;       /* bit sig-1: sent, not delivered */
	_Atomic uint32_t poking;        /* senders deciding now */
	_Atomic uint32_t pokes;         /* signals senders sent its host */
	uint32_t pokes_seen;
	bool sig_intr;                  /* a handler ran in its sleep */
	/* Between two slices of a sleep: its host blocks every signal, so
	 * none runs a handler there without ending the sleep (sig_on). */
	bool slicing;
	/* On its core's sigwake list: a sender asked its core to wake it. */
	_Atomic bool sigwake_queued;
	struct cxlmu_uthread *sigwake_next;
	struct cxlmu_sig sig[64];       /* what each pending one came with */
	/* Its kernel thread, parked, takes what the kernel gives that thread
	 * and the fiber's mask lets through, and hands it to the fiber
	 * (sched_park_receive). A poke (sched_park_poke, which also sets
	 * back) makes it look again at back and the mask: park_gen moves on,
	 * and park_sig, the signal its wait takes now (0: it waits on
	 * park_gen), comes from the poker as a poke; park_pokers are pokers
	 * still touching the record. */
	_Atomic uint32_t park_gen;
	_Atomic int park_sig;
	_Atomic uint32_t park_pokers;
	uint64_t park_used;             /* every park_sig it had */
};

struct cxlmu_host {
	struct cxlmu_fiber_ctx ctx;     /* its loop, while a fiber runs */
	struct cxlmu_core *core;
	_Atomic uint32_t word;          /* a spare waits on it */
	struct cxlmu_host *next_spare;
	struct cxlmu_uthread *prev;         /* switched away from, to dispose */
	_Atomic bool stuck;             /* lost the core inside a fiber */
	pid_t tid;
	uint64_t cur;                   /* its signal mask, as last set */
	/* Signals the runtime sent to it, for the fiber it runs, while they
	 * may still be blocked there: only it takes them. */
	_Atomic uint64_t sent;
};

struct cxlmu_core {
	int cpu;
	_Atomic int lock;
	struct cxlmu_uthread *head, *tail;  /* runnable */
	struct cxlmu_uthread *sleepers;     /* pairing heap by deadline */
	struct cxlmu_uthread *polls;        /* sleeping polls, unordered */
	uint64_t poll_min;              /* their earliest deadline */
	_Atomic(struct cxlmu_host *) owner;
	_Atomic uint32_t word;          /* bumped by every push from outside */
	_Atomic int idle;               /* the owner waits on word */
	_Atomic uint64_t switches;
	_Atomic uint64_t progress;      /* when a fiber last did real work (TSC) */
	struct cxlmu_host *spares;      /* under lock */
	_Atomic int stuck;              /* hosts that lost it inside a fiber */
	_Atomic int expect;             /* fibers waiting for a remote completion */
	sigset_t mask;                  /* its hosts' at start, the first fiber's */
	/* Fibers a signal came for, to be woken by the owner (lock-free: a
	 * sender may be a handler that interrupted this core's lock holder). */
	_Atomic(struct cxlmu_uthread *) sigwake;
	/* Futex waits of blocked fibers and the idle host's wait for a kick
	 * go through the core's io_uring (under lock; the owner also waits
	 * in it unlocked). Without io_uring futex waits: ring_ok false, and
	 * with futex_waitv (waitv_ok) the fibers blocked on futex words are
	 * on the vwait list (under lock; nvwait of them), which the idle
	 * owner waits on with its kick word in one futex_waitv. */
	struct io_uring ring;
	bool ring_ok;
	bool waitv_ok;
	struct cxlmu_uthread *vwait;
	unsigned nvwait;
	struct cxlmu_fd ring_own;      /* its descriptor, kept high */
	bool kick_armed;
	uint64_t seen;                  /* the monitor's */
	int ticks;
	pid_t stall_tid;                /* the monitor's: the stalled owner */
	uint64_t stall_cpu;             /* its CPU time at tick 1 */
};

/* The scheduler's file-scope state, all of it (the TLS apart). */
struct cxlmu_sched_state {
	enum cxlmu_sched_mode mode;
	bool configured;                /* cxlmu_sched_init came */
	cxlmu_create_fn create_thread;  /* libc's pthread_create */
	_Atomic(struct cxlmu_core *) cores[MAX_CPUS];
	_Atomic int cores_lock;
	_Atomic int monitor_started;
	/* Probed with the first core (sched_probe): the TSC's rate, io_uring
	 * futex waits, membarrier's private expedited fence. Run lengths and
	 * progress are timed with the TSC: a clock read per switch was a
	 * sixth of a seedpoll request. Deadlines stay in CLOCK_MONOTONIC ns. */
	_Atomic bool probed;
	uint64_t tsc_per_us, work_tsc;
	/* How idle hosts wait for their fibers' futex words (--fiber-wait,
	 * src/sched_block.c): io_uring futex waits (ring_futex), else
	 * futex_waitv (waitv_ok, also where a core's ring cannot be made),
	 * else each such fiber looks again every POLL_MIN_NS. */
	enum cxlmu_fiber_wait fiber_wait;
	bool ring_futex;
	bool waitv_ok;
	bool mb_ok;
	/* Every fiber, under all_lock. */
	struct cxlmu_uthread *all;
	_Atomic int all_lock;
	struct {
		_Atomic uint64_t fibers, handoffs, cores;
	} totals;
	/* Who runs as what (src/sched_why.c): the report's list
	 * (cxlmu_sched_threads), counts by why, and the kernel threads
	 * pinned alone or quiet to each CPU (a thread pinned there next has
	 * company). */
	struct cxlmu_sched_thread records[CXLMU_SCHED_RECORDS];
	_Atomic unsigned nrecords;
	_Atomic uint64_t why_counts[CXLMU_WHY_COUNT];
	_Atomic int kernels[MAX_CPUS];
	/* Under auto, each CPU's pinned threads stay kernel threads until
	 * they show what fibers are for (src/sched_why.c): busy says
	 * they did; gen changes whenever what a pinned kernel thread there
	 * runs as may have changed (busy set, fibers came), so that it
	 * looks again at its next sleep or wait; waits counts their
	 * blocking waits in the window that began at waits_at. */
	struct {
		_Atomic bool busy;
		_Atomic uint32_t gen;
		_Atomic uint32_t waits;
		_Atomic uint64_t waits_at;
	} __attribute__((aligned(64))) cpus[MAX_CPUS];   /* no line shared */
};
extern struct cxlmu_sched_state sched;
/* The fiber running on this thread, or NULL. */
extern CXLMU_TLS struct cxlmu_uthread *sched_self;

#define spin_lock       cxlmu_prim_spin_lock
#define spin_unlock     cxlmu_prim_spin_unlock

/* System calls that never touch errno or anything else in TLS: a parked
 * kernel thread shares its thread control block, errno included, with
 * its fiber running elsewhere, and a switch keeps the fiber's errno.
 * Return the result or -errno (src/prim.h). */
static inline long rawsys(long n, long a, long b, long c, long d)
{
	return cxlmu_prim_raw(n, a, b, c, d, 0, 0);
}

static inline long raw_futex(void *word, int op, uint32_t val)
{
	return rawsys(SYS_futex, (long)word, op | FUTEX_PRIVATE_FLAG, (long)val, 0);
}

static inline uint64_t tsc(void)
{
	return __builtin_ia32_rdtsc();
}

/* ----------------------------------------------------------------------- */
/* Run queue (src/sched_queue.c: the sleeper heap, polls)                    */
/* ----------------------------------------------------------------------- */

static inline void sched_push(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	f->next = NULL;
	if (c->tail)
		c->tail->next = f;
	else
		c->head = f;
	c->tail = f;
}

static inline struct cxlmu_uthread *sched_pop(struct cxlmu_core *c)
{
	struct cxlmu_uthread *f = c->head;

	if (f) {
		c->head = f->next;
		if (!c->head)
			c->tail = NULL;
	}
	return f;
}
/* Sleepers (a pairing heap by deadline) and sleeping polls (a list apart:
 * progress wakes them all at once), a core's; under its lock. */
void sched_add_sleeper(struct cxlmu_core *c, struct cxlmu_uthread *f);
/* Off the core's futex_waitv list (src/sched_block.c). Under the lock. */
static inline void sched_vwait_unlink(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	*f->vprev = f->vnext;
	if (f->vnext)
		f->vnext->vprev = f->vprev;
	c->nvwait--;
	f->in_vwait = false;
}
void sched_heap_remove(struct cxlmu_core *c, struct cxlmu_uthread *f);
uint64_t sched_expire(struct cxlmu_core *c, uint64_t now);
void sched_wake_polls(struct cxlmu_core *c);

/* ----------------------------------------------------------------------- */
/* Signals (src/sched_signal.c, whose head says how they reach a fiber)      */
/* ----------------------------------------------------------------------- */

/* Every signal but glibc's own two (cancellation and set*id), which libc
 * never lets a mask block. */
#define BLOCK_ALL (~((1ull << (32 - 1)) | (1ull << (33 - 1))))

int sched_real_sigmask(int how, const sigset_t *set, sigset_t *old);
void sched_sig_send(pid_t tid, const struct cxlmu_sig *s);
void sched_sig_from(struct cxlmu_sig *s, const siginfo_t *si);
void sched_sig_pend(struct cxlmu_uthread *f, const siginfo_t *si);
uint64_t sched_all_lock_masked(void);
void sched_all_unlock_masked(uint64_t old);
void sched_park_receive(struct cxlmu_uthread *f);
void sched_park_poke(struct cxlmu_uthread *f, bool back);
void sched_sig_deliver(struct cxlmu_uthread *f);
void sched_sig_flush(struct cxlmu_uthread *f);

static inline uint64_t mask_word(const sigset_t *set)
{
	uint64_t w;

	memcpy(&w, set, sizeof(w));
	return w;
}

/* The calling host's signal mask (the kernel's 64 bits), as a fiber's
 * pthread_sigmask sets it: a pending signal it lets through is taken
 * here, as by the thread that unblocks it. */
static inline void host_mask_take(struct cxlmu_host *h, uint64_t m)
{
	if (h->cur != m) {
		bool opens = h->cur & ~m;

		rawsys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&m, 0, sizeof(m));
		h->cur = m;
		/* What it sent itself and now lets through has come in. */
		if (opens)
			atomic_fetch_and_explicit(&h->sent, m, memory_order_relaxed);
	}
}

void sched_host_opening(struct cxlmu_host *h, uint64_t open);

/* The same as the host starts or resumes a fiber: a signal pending for
 * the process is left to the thread the kernel chose for it first. */
static inline void host_mask(struct cxlmu_host *h, uint64_t m)
{
	if (h->cur & ~m)
		sched_host_opening(h, h->cur & ~m);
	host_mask_take(h, m);
}

/* s is sent to h, for the fiber it runs. */
static inline void host_send(struct cxlmu_host *h, const struct cxlmu_sig *s)
{
	atomic_fetch_or_explicit(&h->sent, 1ull << (s->sig - 1), memory_order_seq_cst);
	sched_sig_send(h->tid, s);
}

static inline void sig_fence(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (unlikely(!sched.mb_ok))
		atomic_thread_fence(memory_order_seq_cst);
}

/* Pending signals for f that its mask lets through. */
static inline bool sig_waiting(struct cxlmu_uthread *f)
{
	return atomic_load_explicit(&f->sigpend, memory_order_relaxed) & ~mask_word(&f->mask);
}

/* f runs on f->host from now on: its mask there, and what is pending. */
static inline void sig_on(struct cxlmu_uthread *f)
{
	struct cxlmu_host *h = f->host;

	host_mask(h, unlikely(f->slicing) ? BLOCK_ALL : mask_word(&f->mask));
	atomic_store_explicit(&f->on, h, memory_order_relaxed);
	sig_fence();
	if (unlikely(sig_waiting(f)))
		sched_sig_deliver(f);
}

/* f is about to switch out. */
static inline void sig_off(struct cxlmu_uthread *f)
{
	atomic_store_explicit(&f->on, NULL, memory_order_relaxed);
	sig_fence();
	if (unlikely(atomic_load_explicit(&f->poking, memory_order_acquire) ||
		     atomic_load_explicit(&f->pokes, memory_order_acquire) != f->pokes_seen))
		sched_sig_flush(f);
}
/* f leaves a scheduler call (busy): a signal that came meanwhile was left
 * pending for it (cxlmu_sched_signal's sender, which reads busy after its
 * fence), and is delivered now if no switch did. */
static inline void sched_unbusy(struct cxlmu_uthread *f)
{
	host_mask(f->host, mask_word(&f->mask));
	__atomic_store_n(&f->busy, false, __ATOMIC_RELAXED);
	sig_fence();
	if (unlikely(sig_waiting(f)))
		sched_sig_deliver(f);
}

/* ----------------------------------------------------------------------- */
/* Blocking (src/sched_block.c: the core's io_uring, the lot)                */
/* ----------------------------------------------------------------------- */

/* Completions the owner has not taken: in the queue, or held back by
 * the kernel when the queue was full (they come in by io_uring_enter). */
static inline bool sched_ring_pending(struct cxlmu_core *c)
{
	return c->ring_ok && (io_uring_cq_ready(&c->ring) || io_uring_cq_has_overflow(&c->ring));
}

void sched_reap(struct cxlmu_core *c);
struct io_uring_sqe *sched_ring_sqe(struct cxlmu_core *c, unsigned n);
void sched_ring_block(struct cxlmu_core *c, struct cxlmu_uthread *f);
bool sched_unblock(struct cxlmu_core *c, struct cxlmu_uthread *f);
/* The futex_waitv way (src/sched_block.c). Under the lock: block f on
 * its word, take it off the list, make runnable those whose word moved,
 * and fill v (at least CXLMU_FUTEXV_MAX entries) with the kick word at
 * seen and the first blocked fibers' words (the count filled). */
void sched_vwait_block(struct cxlmu_core *c, struct cxlmu_uthread *f);
void sched_vwait_scan(struct cxlmu_core *c);
unsigned sched_vwait_fill(struct cxlmu_core *c, struct cxlmu_futexv *v, uint32_t seen);
/* Up to max fibers of the list waiting on addr runnable (a wake-up came
 * for the word, which may not have changed); how many. */
unsigned sched_vwait_wake_addr(struct cxlmu_core *c, uintptr_t addr, unsigned max);
void sched_sigwake_drain(struct cxlmu_core *c);
void sched_wake(struct cxlmu_uthread *f);
void sched_lot_after_fork(void);

/* ----------------------------------------------------------------------- */
/* Hosts, cores, the switch (src/scheduler.c)                                */
/* ----------------------------------------------------------------------- */

void sched_probe(void);
void sched_kick(struct cxlmu_core *c);
int sched_add_host(struct cxlmu_core *c);
struct cxlmu_uthread *sched_find(pthread_t t, pid_t tid);
void sched_reached(struct cxlmu_uthread *f, uint64_t now, bool poll);
/* Not inside the scheduler, and not on the parked kernel thread. */
bool sched_can_switch(struct cxlmu_uthread *f);
void sched_out(struct cxlmu_uthread *f, int why);
void *sched_monitor_main(void *arg);     /* src/sched_monitor.c */

/* Who runs as what (src/sched_why.c). */
void sched_record(enum cxlmu_sched_why why, int cpu, pid_t tid);
void sched_why_after_fork(void);

#endif
