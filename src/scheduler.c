/* The per-CPU fiber scheduler: see scheduler.h. */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>

#include "fiber.h"
#include "prim.h"
#include "ring.h"
#include "sandbox.h"
#include "scheduler.h"
#include "wait.h"

#define MAX_CPUS        1024
/* The kernel thread's stack while its fiber runs elsewhere: room for the
 * signal handlers that still run there. */
#define PARK_STACK      (64 * 1024)
/* The monitor's tick, and how many ticks without a switch make a core
 * stuck. */
#define MONITOR_NS      1000000
#define STUCK_TICKS     2
/* A poll with nothing else runnable waits at least this long, as libc's
 * short sleep does with the default timer slack. */
#define POLL_MIN_NS     50000
/* A fiber that ran this long between two polls did work: an empty
 * re-check, switch included, takes under 100 ns here. Kernel threads
 * need CXLMU_WORK_NS; fibers measure their runs exactly. */
#define FIBER_WORK_NS   150
/* Longest a poll waits for progress it expects. */
/* A sleeping fiber looks for a cancellation this often. */
#define CANCEL_SLICE_NS 20000000
/* A core's ring: futex waits of its blocked fibers, the host's kick wait. */
#define RING_ENTRIES    256
/* Address-keyed waits (cxlmu_sched_park). */
#define LOT_BUCKETS     256

enum { OUT_YIELD = 1, OUT_SLEEP, OUT_BLOCK, OUT_FUTEX, OUT_LEAVE };
/* user_data of a core ring's completions that are not a fiber's. */
enum { TAG_NONE, TAG_KICK, TAG_LAST };

struct cxlmu_host;

struct cxlmu_fib {
	struct cxlmu_fiber_ctx ctx;     /* the fiber, while it does not run */
	struct cxlmu_fiber_ctx park;    /* its kernel thread, parked */
	struct cxlmu_core *core;
	struct cxlmu_host *host;        /* running it now */
	struct cxlmu_fib *next;         /* run queue, polls; heap sibling */
	struct cxlmu_fib *child;        /* sleeper heap */
	struct cxlmu_fib *hprev;        /* heap: parent or left sibling */
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
	struct cxlmu_fib *all_next, **all_prev;  /* every fiber, under all_lock */
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
	/* On its core's sigwake list: a sender asked its core to wake it. */
	_Atomic bool sigwake_queued;
	struct cxlmu_fib *sigwake_next;
	struct cxlmu_sig sig[64];       /* what each pending one came with */
};

struct cxlmu_host {
	struct cxlmu_fiber_ctx ctx;     /* its loop, while a fiber runs */
	struct cxlmu_core *core;
	_Atomic uint32_t word;          /* a spare waits on it */
	struct cxlmu_host *next_spare;
	struct cxlmu_fib *prev;         /* switched away from, to dispose */
	_Atomic bool stuck;             /* lost the core inside a fiber */
	pid_t tid;
	uint64_t cur;                   /* its signal mask, as last set */
};

struct cxlmu_core {
	int cpu;
	_Atomic int lock;
	struct cxlmu_fib *head, *tail;  /* runnable */
	struct cxlmu_fib *sleepers;     /* pairing heap by deadline */
	struct cxlmu_fib *polls;        /* sleeping polls, unordered */
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
	/* Signals: for each, how many of its fibers do not block it (under
	 * all_lock); what every one of them blocks, an idle host blocks. */
	uint32_t open[64];
	_Atomic uint64_t idle_mask;
	/* Fibers a signal came for, to be woken by the owner (lock-free: a
	 * sender may be a handler that interrupted this core's lock holder). */
	_Atomic(struct cxlmu_fib *) sigwake;
	/* Futex waits of blocked fibers and the idle host's wait for a kick
	 * go through the core's io_uring (under lock; the owner also waits
	 * in it unlocked). Without io_uring futex waits: ring_ok false. */
	struct io_uring ring;
	bool ring_ok;
	struct cxlmu_fd ring_own;      /* its descriptor, kept high */
	bool kick_armed;
	uint64_t seen;                  /* the monitor's */
	int ticks;
	pid_t stall_tid;                /* the monitor's: the stalled owner */
	uint64_t stall_cpu;             /* its CPU time at tick 1 */
};

int cxlmu_sched_on;
static cxlmu_create_fn create_thread;
static _Atomic(struct cxlmu_core *) cores[MAX_CPUS];
static _Atomic int cores_lock;
static _Atomic int monitor_started;
static CXLMU_TLS struct cxlmu_fib *self_fib;
/* Run lengths and progress are timed with the TSC: a clock read per
 * switch was a sixth of a seedpoll request. Calibrated against
 * CLOCK_MONOTONIC when the first CPU gets a scheduler; deadlines stay in
 * CLOCK_MONOTONIC ns. */
static uint64_t tsc_per_us = 1000, work_tsc = 300000;
static struct cxlmu_fib *all;
static _Atomic int all_lock;
static bool ring_futex;         /* probed with the first core */
static _Atomic bool probed;
static struct {
	_Atomic uint64_t fibers, handoffs, cores;
} totals;
static enum cxlmu_sched_mode mode;
/* The report's list (cxlmu_sched_threads) and counts by why. */
static struct cxlmu_sched_thread records[CXLMU_SCHED_RECORDS];
static _Atomic unsigned nrecords;
static _Atomic uint64_t why_counts[CXLMU_WHY_COUNT];
/* Kernel threads pinned alone to each CPU: a thread pinned there next has
 * company. */
static _Atomic int alone[MAX_CPUS];
/* The calling thread's record (-1: none yet; CXLMU_SCHED_RECORDS: only
 * counted), its why, and the CPU it is alone on (-1: none). */
static CXLMU_TLS int my_record = -1;
static CXLMU_TLS int my_why = -1;
static CXLMU_TLS int alone_cpu = -1;
static CXLMU_TLS bool was_fiber;        /* counted in totals.fibers */

const char *const cxlmu_sched_why_names[CXLMU_WHY_COUNT] = {
	[CXLMU_WHY_SHARED] = "cpu-shared",
	[CXLMU_WHY_PINNED] = "pinned",
	[CXLMU_WHY_UNPINNED] = "not-pinned",
	[CXLMU_WHY_ALONE] = "alone-on-cpu",
	[CXLMU_WHY_NO_RING] = "no-ring-futex",
	[CXLMU_WHY_FAILED] = "failed",
	[CXLMU_WHY_SIGWAIT] = "waits-for-signals",
	[CXLMU_WHY_SANDBOX] = "seccomp",
};

/* ----------------------------------------------------------------------- */
/* Locks and queues                                                          */
/* ----------------------------------------------------------------------- */

#define spin_lock       cxlmu_prim_spin_lock
#define spin_unlock     cxlmu_prim_spin_unlock

static void push(struct cxlmu_core *c, struct cxlmu_fib *f)
{
	f->next = NULL;
	if (c->tail)
		c->tail->next = f;
	else
		c->head = f;
	c->tail = f;
}

static struct cxlmu_fib *pop(struct cxlmu_core *c)
{
	struct cxlmu_fib *f = c->head;

	if (f) {
		c->head = f->next;
		if (!c->head)
			c->tail = NULL;
	}
	return f;
}

/* Sleepers: a pairing heap (insert O(1), earliest out in O(log n)
 * amortized), so 10 000 sleeping fibers cost no more per switch than ten.
 * Sleeping polls are apart, in a list: progress wakes them all at once. */
static struct cxlmu_fib *meld(struct cxlmu_fib *a, struct cxlmu_fib *b)
{
	struct cxlmu_fib *t;

	if (!a)
		return b;
	if (!b)
		return a;
	if (b->deadline < a->deadline) {
		t = a;
		a = b;
		b = t;
	}
	b->next = a->child;
	if (a->child)
		a->child->hprev = b;
	b->hprev = a;
	a->child = b;
	return a;
}

static struct cxlmu_fib *merge_pairs(struct cxlmu_fib *first)
{
	struct cxlmu_fib *pairs = NULL, *r = NULL;

	while (first) {
		struct cxlmu_fib *a = first, *b = a->next;
		first = b ? b->next : NULL;
		a->next = NULL;
		if (b)
			b->next = NULL;
		a = meld(a, b);
		a->next = pairs;
		pairs = a;
	}
	while (pairs) {
		struct cxlmu_fib *n = pairs->next;
		pairs->next = NULL;
		r = meld(r, pairs);
		pairs = n;
	}
	return r;
}

static void add_sleeper(struct cxlmu_core *c, struct cxlmu_fib *f)
{
	if (f->polling) {
		f->next = c->polls;
		c->polls = f;
		if (!c->poll_min || f->deadline < c->poll_min)
			c->poll_min = f->deadline;
		return;
	}
	f->child = NULL;
	f->next = NULL;
	c->sleepers = meld(c->sleepers, f);
}

/* A blocked fiber's deadline no longer counts: out of the heap. */
static void heap_remove(struct cxlmu_core *c, struct cxlmu_fib *f)
{
	if (f == c->sleepers) {
		c->sleepers = merge_pairs(f->child);
	} else {
		if (f->hprev->child == f)
			f->hprev->child = f->next;
		else
			f->hprev->next = f->next;
		if (f->next)
			f->next->hprev = f->hprev;
		c->sleepers = meld(c->sleepers, merge_pairs(f->child));
	}
	f->child = f->next = NULL;
}

/* Sleepers whose time has come join the run queue; the earliest deadline
 * left, or 0. Under the lock. */
static uint64_t expire(struct cxlmu_core *c, uint64_t now)
{
	uint64_t next;

	while (c->sleepers && c->sleepers->deadline <= now) {
		struct cxlmu_fib *f = c->sleepers;
		c->sleepers = merge_pairs(f->child);
		f->child = NULL;
		f->blocked = f->in_heap = f->sleeping = false;
		push(c, f);
	}
	if (c->polls && c->poll_min <= now) {
		struct cxlmu_fib **p = &c->polls;
		c->poll_min = 0;
		while (*p) {
			struct cxlmu_fib *f = *p;
			if (f->deadline <= now) {
				*p = f->next;
				f->polling = f->sleeping = false;
				push(c, f);
			} else {
				if (!c->poll_min || f->deadline < c->poll_min)
					c->poll_min = f->deadline;
				p = &f->next;
			}
		}
	}
	next = c->sleepers ? c->sleepers->deadline : 0;
	if (c->polls && (!next || c->poll_min < next))
		next = c->poll_min;
	return next;
}

/* Progress on the core: its sleeping polls re-check now. Under the lock. */
static void wake_polls(struct cxlmu_core *c)
{
	while (c->polls) {
		struct cxlmu_fib *f = c->polls;
		c->polls = f->next;
		f->polling = f->sleeping = false;
		f->progress_woke = true;
		push(c, f);
	}
	c->poll_min = 0;
}

/* System calls that never touch errno or anything else in TLS: a parked
 * kernel thread shares its thread control block, errno included, with
 * its fiber running elsewhere, and a switch keeps the fiber's errno.
 * Return the result or -errno (src/prim.h). */
static long rawsys(long n, long a, long b, long c, long d)
{
	return cxlmu_prim_raw(n, a, b, c, d, 0, 0);
}

/* The thread's real signal mask, as glibc's pthread_sigmask sets it (its
 * two internal signals, SIGCANCEL and SIGSETXID, never blocked), without
 * the exported pthread_sigmask, which in a fiber would set the fiber's. */
static void nothing(void)
{
}

/* libc's pthread_testcancel (cxlmu_sched_init). */
static void (*libc_testcancel)(void) = nothing;

static int real_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t s;

	if (set && how != SIG_UNBLOCK) {
		s = *set;
		/* Bits 31 and 32: signals 32 and 33 (sigdelset refuses them). */
		s.__val[0] &= ~(3ul << 31);
		set = &s;
	}
	return (int)-rawsys(SYS_rt_sigprocmask, how, (long)set, (long)old, 8);
}

static long raw_futex(void *word, int op, uint32_t val)
{
	return rawsys(SYS_futex, (long)word, op | FUTEX_PRIVATE_FLAG, (long)val, 0);
}

/* Tell the core's owner something changed, if it waits. Every waiter on
 * the word: a host that has just lost the core may still be one. */
static void kick(struct cxlmu_core *c)
{
	atomic_fetch_add_explicit(&c->word, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&c->idle, memory_order_seq_cst))
		raw_futex(&c->word, FUTEX_WAKE, INT32_MAX);
}

/* A fiber becomes runnable from outside its host's loop. */
static void push_from_outside(struct cxlmu_core *c, struct cxlmu_fib *f)
{
	spin_lock(&c->lock);
	push(c, f);
	spin_unlock(&c->lock);
	kick(c);
}

/* ----------------------------------------------------------------------- */
/* Signals                                                                   */
/* ----------------------------------------------------------------------- */

/* A fiber's kernel thread is parked with every signal blocked. A signal
 * sent to the fiber (cxlmu_sched_signal) goes to the host running it,
 * where its handler runs in the fiber; one sent while it does not run is
 * pending in sigpend and sent to its host when it next runs (sig_on).
 * Which of the two is decided without a lock on the fiber's side: at each
 * switch the fiber writes on and then reads sigpend (switching in) or
 * poking and pokes (switching out); the sender writes sigpend and poking
 * and then reads on, after a membarrier(2) that puts a full fence in every
 * running thread of the process. So a fiber's switches cost two plain
 * stores and loads, and either the sender sees the fiber run (and sends
 * to its host; a fiber switching out then waits for that signal), or the
 * fiber sees the signal pending. Where membarrier is not there, the
 * fiber's side fences itself. The host's mask is the running fiber's: it
 * changes only at switches between fibers whose masks differ. */
static bool mb_ok;              /* membarrier's private expedited fence */
/* Every signal but glibc's own two (cancellation and set*id), which libc
 * never lets a mask block. */
#define BLOCK_ALL (~((1ull << (32 - 1)) | (1ull << (33 - 1))))

static inline uint64_t mask_word(const sigset_t *set)
{
	uint64_t w;

	memcpy(&w, set, sizeof(w));
	return w;
}

/* The calling host's signal mask (the kernel's 64 bits). */
static inline void host_mask(struct cxlmu_host *h, uint64_t m)
{
	if (h->cur != m) {
		rawsys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&m, 0, sizeof(m));
		h->cur = m;
	}
}

static inline void sig_fence(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (unlikely(!mb_ok))
		atomic_thread_fence(memory_order_seq_cst);
}

/* Pending signals for f that its mask lets through. */
static inline bool sig_waiting(struct cxlmu_fib *f)
{
	return atomic_load_explicit(&f->sigpend, memory_order_relaxed) & ~mask_word(&f->mask);
}

/* Send s to the thread tid of this process. */
static void sig_send(pid_t tid, const struct cxlmu_sig *s)
{
	long pid = rawsys(SYS_getpid, 0, 0, 0, 0);

	if (s->code == SI_QUEUE) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		si.si_signo = s->sig;
		si.si_code = s->code;
		si.si_pid = s->pid;
		si.si_uid = s->uid;
		si.si_value = s->value;
		rawsys(SYS_rt_tgsigqueueinfo, pid, tid, s->sig, (long)&si);
	} else {
		rawsys(SYS_tgkill, pid, tid, s->sig, 0);
	}
}

/* Does the program handle sig (a handler, not a default or ignore)? */
static bool sig_handled(int sig)
{
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } ka;

	if (rawsys(SYS_rt_sigaction, sig, 0, (long)&ka, sizeof(ka.mask)))
		return false;
	return ka.handler != (void *)SIG_DFL && ka.handler != (void *)SIG_IGN;
}

/* all_lock with every signal blocked: a handler on this thread (raise and
 * pthread_kill, which are async-signal-safe, come here) never finds it
 * held by the code it interrupted. Gives the mask to put back. */
static uint64_t all_lock_masked(void)
{
	uint64_t every = BLOCK_ALL, old = 0;

	rawsys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&every, (long)&old, sizeof(every));
	spin_lock(&all_lock);
	return old;
}

static void all_unlock_masked(uint64_t old)
{
	spin_unlock(&all_lock);
	rawsys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, sizeof(old));
}

/* A fiber of c with mask m comes (delta 1) or goes (-1): what an idle host
 * of c blocks follows. Under all_lock. */
static void mask_count(struct cxlmu_core *c, uint64_t m, int delta)
{
	uint64_t idle = 0;

	for (int i = 0; i < 64; i++) {
		if (!(m & (1ull << i)))
			c->open[i] += (uint32_t)delta;
		if (!c->open[i])
			idle |= 1ull << i;
	}
	atomic_store_explicit(&c->idle_mask, idle & BLOCK_ALL, memory_order_relaxed);
}

/* f runs, with its mask on its host: what is pending for it and let
 * through is sent to the host, whose handlers run in f before this
 * returns. */
static void __attribute__((noinline)) sig_deliver(struct cxlmu_fib *f)
{
	uint64_t pend;

	while ((pend = atomic_load_explicit(&f->sigpend, memory_order_acquire) &
		       ~mask_word(&f->mask))) {
		int i = __builtin_ctzll(pend);
		uint64_t bit = 1ull << i;
		struct cxlmu_sig s;
		bool mine;

		uint64_t old = all_lock_masked();
		mine = atomic_fetch_and_explicit(&f->sigpend, ~bit, memory_order_acq_rel) & bit;
		s = f->sig[i];
		all_unlock_masked(old);
		if (!mine)
			continue;
		if (sig_handled(s.sig))
			f->sig_intr = true;
		sig_send(f->host->tid, &s);
	}
}

/* f was sent a signal to its host while it ran: the signal is there
 * (queued by tgkill before the sender counted it), and a system call's
 * return delivers it, in f, before f switches out. */
static void __attribute__((noinline)) sig_flush(struct cxlmu_fib *f)
{
	unsigned spins = 0;

	while (atomic_load_explicit(&f->poking, memory_order_acquire))
		cxlmu_prim_relax(&spins);
	f->pokes_seen = atomic_load_explicit(&f->pokes, memory_order_acquire);
	rawsys(SYS_getppid, 0, 0, 0, 0);
}

/* f runs on f->host from now on: its mask there, and what is pending. */
static inline void sig_on(struct cxlmu_fib *f)
{
	struct cxlmu_host *h = f->host;

	host_mask(h, mask_word(&f->mask));
	atomic_store_explicit(&f->on, h, memory_order_relaxed);
	sig_fence();
	if (unlikely(sig_waiting(f)))
		sig_deliver(f);
}

/* f is about to switch out. */
static inline void sig_off(struct cxlmu_fib *f)
{
	atomic_store_explicit(&f->on, NULL, memory_order_relaxed);
	sig_fence();
	if (unlikely(atomic_load_explicit(&f->poking, memory_order_acquire) ||
		     atomic_load_explicit(&f->pokes, memory_order_acquire) != f->pokes_seen))
		sig_flush(f);
}

/* ----------------------------------------------------------------------- */
/* The core's ring                                                           */
/* ----------------------------------------------------------------------- */

/* Completions the owner has not taken: in the queue, or held back by
 * the kernel when the queue was full (they come in by io_uring_enter). */
static bool ring_pending(struct cxlmu_core *c)
{
	return c->ring_ok && (io_uring_cq_ready(&c->ring) || io_uring_cq_has_overflow(&c->ring));
}

/* Completions in: each fiber whose futex wait ended is runnable. Under the
 * lock. */
static void reap(struct cxlmu_core *c)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	/* A busy core never idles in the ring: what overflowed comes in
	 * here (a reviewer's 600 fibers in a barrier stopped at 513). */
	if (io_uring_cq_has_overflow(&c->ring))
		io_uring_get_events(&c->ring);

	io_uring_for_each_cqe(&c->ring, head, cqe) {
		n++;
		if (cqe->user_data == TAG_KICK) {
			c->kick_armed = false;
		} else if (cqe->user_data >= TAG_LAST) {
			struct cxlmu_fib *f = (struct cxlmu_fib *)(uintptr_t)cqe->user_data;
			f->fres = cqe->res;
			f->in_ring = false;
			push(c, f);
		}
		/* TAG_NONE: a link timeout's or a cancel's own completion. */
	}
	io_uring_cq_advance(&c->ring, n);
}

/* Room for n requests, submitting what is queued if need be. */
static struct io_uring_sqe *ring_sqe(struct cxlmu_core *c, unsigned n)
{
	if (io_uring_sq_space_left(&c->ring) < n)
		io_uring_submit(&c->ring);
	if (io_uring_sq_space_left(&c->ring) < n)
		return NULL;
	return io_uring_get_sqe(&c->ring);
}

/* A blocked fiber's futex wait goes into the ring: its completion (a wake,
 * the word no longer val, the deadline's link timeout) makes it runnable.
 * The wait is armed at once, so no wake can fall between the fiber's look
 * at the word and the wait: futex(2) semantics. Under the lock. */
static void ring_block(struct cxlmu_core *c, struct cxlmu_fib *f)
{
	struct io_uring_sqe *sqe = ring_sqe(c, f->deadline ? 2 : 1);

	if (!sqe) {
		/* The ring is full: try again after the others ran. */
		f->fres = -EAGAIN;
		push(c, f);
		return;
	}
	cxlmu_ring_prep_futex_wait(sqe, f->fword, f->fval, f->fshared, (uintptr_t)f);
	if (f->deadline) {
		f->fts.tv_sec = (long long)(f->deadline / 1000000000u);
		f->fts.tv_nsec = (long long)(f->deadline % 1000000000u);
		sqe->flags |= IOSQE_IO_LINK;
		sqe = io_uring_get_sqe(&c->ring);
		io_uring_prep_link_timeout(sqe, &f->fts, IORING_TIMEOUT_ABS);
		sqe->user_data = TAG_NONE;
	}
	f->in_ring = true;
	io_uring_submit(&c->ring);
}

/* A ring wait of f ends early (a cancellation). Under the lock. */
static void ring_cancel(struct cxlmu_core *c, struct cxlmu_fib *f)
{
	struct io_uring_sqe *sqe = ring_sqe(c, 1);

	if (sqe) {
		io_uring_prep_cancel64(sqe, (uintptr_t)f, 0);
		sqe->user_data = TAG_NONE;
		io_uring_submit(&c->ring);
	}
}

/* A blocked fiber's wait ends early: runnable now (true), or its futex
 * wait in the ring is cancelled (its completion makes it runnable). Under
 * the lock. */
static bool unblock(struct cxlmu_core *c, struct cxlmu_fib *f)
{
	if (f->blocked) {
		f->blocked = false;
		if (f->in_heap) {
			heap_remove(c, f);
			f->in_heap = false;
		}
		push(c, f);
		return true;
	}
	if (f->in_ring)
		ring_cancel(c, f);
	return false;
}

/* Fibers a signal came for (cxlmu_sched_signal) run soon: a sleep or a
 * wait is cut short (the wait's caller looks again). Under the lock. */
static void sigwake_drain(struct cxlmu_core *c)
{
	struct cxlmu_fib *f = atomic_exchange_explicit(&c->sigwake, NULL, memory_order_acquire);

	while (f) {
		struct cxlmu_fib *next = f->sigwake_next;
		if (f->blocked || f->in_ring) {
			unblock(c, f);
		} else if (f->sleeping) {
			if (f->polling) {
				struct cxlmu_fib **p = &c->polls;
				while (*p != f)
					p = &(*p)->next;
				*p = f->next;
				f->polling = false;
			} else {
				heap_remove(c, f);
			}
			f->sleeping = false;
			push(c, f);
		}
		/* The last touch: a leaving fiber waits for it (leave). */
		atomic_store_explicit(&f->sigwake_queued, false, memory_order_release);
		f = next;
	}
}

/* ----------------------------------------------------------------------- */
/* Hosts                                                                     */
/* ----------------------------------------------------------------------- */

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	rawsys(SYS_sched_setaffinity, 0, sizeof(set), (long)&set, 0);
}

/* The fiber is back from a run: where it goes next. */
static void dispose(struct cxlmu_core *c, struct cxlmu_host *h, struct cxlmu_fib *f)
{
	bool owner = atomic_load_explicit(&c->owner, memory_order_acquire) == h;

	switch (f->out) {
	case OUT_YIELD:
		spin_lock(&c->lock);
		push(c, f);
		spin_unlock(&c->lock);
		if (!owner)
			kick(c);
		break;
	case OUT_SLEEP:
		spin_lock(&c->lock);
		if (sig_waiting(f)) {
			/* A signal came on its way out (cxlmu_sched_signal). */
			f->polling = false;
			push(c, f);
		} else {
			add_sleeper(c, f);
			f->sleeping = true;
		}
		spin_unlock(&c->lock);
		if (!owner)
			kick(c);
		break;
	case OUT_BLOCK:
	case OUT_FUTEX:
		spin_lock(&c->lock);
		if (atomic_load_explicit(&f->wake, memory_order_relaxed)) {
			f->fres = 0;
			push(c, f);
		} else if (f->out == OUT_FUTEX) {
			ring_block(c, f);
		} else {
			f->blocked = true;
			if (f->deadline) {
				f->in_heap = true;
				add_sleeper(c, f);
			}
		}
		spin_unlock(&c->lock);
		if (!owner)
			kick(c);
		break;
	case OUT_LEAVE:
		atomic_store_explicit(&f->back, 1, memory_order_release);
		cxlmu_prim_futex_wake(&f->back, 1);
		break;
	}
}

/* The fiber a switch left, once its context is saved: only then may
 * another host take it. Runs on whatever the switch resumed. */
static void finish(struct cxlmu_host *h)
{
	struct cxlmu_fib *p = h->prev;

	if (p) {
		h->prev = NULL;
		dispose(h->core, h, p);
	}
}

static void count_switch(struct cxlmu_core *c)
{
	/* The owner's count; a second host's may be lost, no matter. */
	atomic_store_explicit(&c->switches,
			      atomic_load_explicit(&c->switches, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* A host that is no longer its core's owner waits to be needed again. */
static void spare(struct cxlmu_core *c, struct cxlmu_host *h)
{
	atomic_store_explicit(&h->word, 0, memory_order_relaxed);
	spin_lock(&c->lock);
	h->next_spare = c->spares;
	c->spares = h;
	spin_unlock(&c->lock);
	while (!atomic_load_explicit(&h->word, memory_order_acquire))
		cxlmu_prim_futex_wait(&h->word, 0, 0);
}

/* The owner with nothing to run: wait for the earliest deadline, a kick
 * (the word moves on from seen) or a completion in the core's ring. Only
 * waits here, unlocked: what goes into the ring is submitted under the
 * lock. */
static void idle_wait(struct cxlmu_core *c, uint32_t seen, uint64_t next)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	uint64_t now;

	if (!c->ring_ok || !c->kick_armed) {
		cxlmu_prim_futex_wait(&c->word, seen, next);
		return;
	}
	if (!next) {
		io_uring_wait_cqe(&c->ring, &cqe);
		return;
	}
	now = cxlmu_prim_now();
	if (next <= now)
		return;
	ts.tv_sec = (long long)((next - now) / 1000000000u);
	ts.tv_nsec = (long long)((next - now) % 1000000000u);
	io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
}

/* A fiber of the core waits for a remote call, whose completion comes
 * within microseconds: look for it (a push from outside bumps the word)
 * before sleeping, which would add the kernel's wake-up to every round
 * trip. True when something came. */
#define EXPECT_SPIN_NS 30000u
static bool expect_spin(struct cxlmu_core *c, uint32_t seen)
{
	uint64_t until = cxlmu_prim_now() + EXPECT_SPIN_NS;

	do {
		for (int i = 0; i < 32; i++) {
			if (atomic_load_explicit(&c->word, memory_order_acquire) != seen ||
			    atomic_load_explicit(&c->sigwake, memory_order_relaxed))
				return true;
			__builtin_ia32_pause();
		}
	} while (cxlmu_prim_now() < until);
	return false;
}

static void host_loop(struct cxlmu_host *h)
{
	struct cxlmu_core *c = h->core;

	for (;;) {
		struct cxlmu_fib *f;
		uint64_t next;
		uint32_t seen;

		if (atomic_load_explicit(&c->owner, memory_order_acquire) != h) {
			if (atomic_exchange_explicit(&h->stuck, false, memory_order_relaxed))
				atomic_fetch_sub_explicit(&c->stuck, 1, memory_order_relaxed);
			spare(c, h);
			continue;
		}
		/* Idle, it takes only what some fiber of the core would. */
		host_mask(h, atomic_load_explicit(&c->idle_mask, memory_order_relaxed));
		seen = atomic_load_explicit(&c->word, memory_order_seq_cst);
		spin_lock(&c->lock);
		if (unlikely(atomic_load_explicit(&c->sigwake, memory_order_relaxed)))
			sigwake_drain(c);
		if (ring_pending(c))
			reap(c);
		next = c->sleepers || c->polls ? expire(c, cxlmu_prim_now()) : 0;
		f = pop(c);
		if (!f) {
			atomic_store_explicit(&c->idle, 1, memory_order_seq_cst);
			if (c->ring_ok && !c->kick_armed) {
				struct io_uring_sqe *sqe = ring_sqe(c, 1);
				if (sqe) {
					cxlmu_ring_prep_futex_wait(sqe, &c->word, seen, false, TAG_KICK);
					c->kick_armed = true;
				}
			}
			if (c->ring_ok && io_uring_sq_ready(&c->ring))
				io_uring_submit(&c->ring);
		}
		spin_unlock(&c->lock);
		if (!f && atomic_load_explicit(&c->expect, memory_order_relaxed) > 0 &&
		    expect_spin(c, seen)) {
			atomic_store_explicit(&c->idle, 0, memory_order_relaxed);
			continue;
		}
		if (!f) {
			idle_wait(c, seen, next);
			if (atomic_load_explicit(&c->owner, memory_order_acquire) == h)
				atomic_store_explicit(&c->idle, 0, memory_order_relaxed);
			continue;
		}
		f->host = h;
		count_switch(c);
		if (mask_word(&f->mask) != h->cur)
			host_mask(h, BLOCK_ALL);
		cxlmu_fiber_switch_fs(&h->ctx, &f->ctx);
		host_mask(h, atomic_load_explicit(&c->idle_mask, memory_order_relaxed));
		finish(h);
	}
}

static void *host_main(void *arg)
{
	struct cxlmu_host *h = arg;

	/* The signal mask is the first fiber's (c->mask): the program's
	 * signals are delivered here, in whichever fiber runs (its identity,
	 * its stack); parked kernel threads block them all. */
	h->tid = (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0);
	h->cur = mask_word(&h->core->mask);
	pin_self(h->core->cpu);
	host_loop(h);
	return NULL;
}

/* A runtime thread with the signal mask given: a host's is its core's
 * (whoever makes it: the monitor blocks everything), the monitor's
 * blocks every signal. */
static int start_thread(void *(*fn)(void *), void *arg, const sigset_t *mask)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setsigmask_np(&attr, mask);
	r = create_thread(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -r;
}

/* A host for c: a spare if there is one, else a new thread; it becomes
 * the owner. */
static int add_host(struct cxlmu_core *c)
{
	struct cxlmu_host *h, *prev;
	int r;

	spin_lock(&c->lock);
	h = c->spares;
	if (h)
		c->spares = h->next_spare;
	spin_unlock(&c->lock);
	if (h) {
		/* Back as the owner: no longer one that lost the core. */
		if (atomic_exchange_explicit(&h->stuck, false, memory_order_relaxed))
			atomic_fetch_sub_explicit(&c->stuck, 1, memory_order_relaxed);
		atomic_store_explicit(&c->owner, h, memory_order_release);
		atomic_store_explicit(&h->word, 1, memory_order_release);
		cxlmu_prim_futex_wake(&h->word, 1);
		return 0;
	}
	h = cxlmu_prim_mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((r = cxlmu_prim_failed(h)))
		return -r;
	h->core = c;
	prev = atomic_exchange_explicit(&c->owner, h, memory_order_acq_rel);
	if ((r = start_thread(host_main, h, &c->mask))) {
		atomic_store_explicit(&c->owner, prev, memory_order_release);
		cxlmu_prim_munmap(h, sizeof(*h));
	}
	return r;
}

/* ----------------------------------------------------------------------- */
/* The monitor                                                               */
/* ----------------------------------------------------------------------- */

/* Does c have work its owner cannot get to? Under the lock. */
static bool waiting_work(struct cxlmu_core *c, uint64_t now)
{
	return c->head || (c->sleepers && c->sleepers->deadline <= now) ||
	       (c->polls && c->poll_min <= now) ||
	       ring_pending(c) || atomic_load_explicit(&c->sigwake, memory_order_relaxed);
}

/* The kernel's state letter for thread tid of this process (R running
 * or waiting for a CPU, S or D blocked, ...), 0 where /proc tells none. */
static char host_state(pid_t tid)
{
	char path[48] = "/proc/self/task/", buf[256], digits[12], *p = path + 16;
	int n = 0;

	do
		digits[n++] = (char)('0' + tid % 10);
	while ((tid /= 10));
	while (n)
		*p++ = digits[--n];
	memcpy(p, "/stat", sizeof("/stat"));
	if (cxlmu_prim_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* CPU time thread tid of this process has used (ns); 0 where unknown.
 * The clock id is the kernel's per-thread CPU clock (glibc builds the
 * same for pthread_getcpuclockid). */
static uint64_t host_cpu_ns(pid_t tid)
{
	clockid_t id = (clockid_t)(((unsigned)~tid << 3) | 4 | 2);
	struct timespec ts;

	if (rawsys(SYS_clock_gettime, id, (long)&ts, 0, 0))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Is c's owner, whose switch count stopped while work waits, stuck in a
 * fiber? It is if it blocked in the kernel, or computed for most of a
 * tick; not if it only waited for a CPU that the rest of the machine
 * held: a second host would wait as well, and the hand-off would be
 * noise. Tick 1 takes the CPU time later ticks compare with. Where /proc
 * tells nothing, two ticks make it stuck, as before. */
static bool stuck(struct cxlmu_core *c)
{
	struct cxlmu_host *h = atomic_load_explicit(&c->owner, memory_order_acquire);
	pid_t tid = h ? atomic_load_explicit((_Atomic pid_t *)&h->tid, memory_order_relaxed) : 0;
	char state;

	if (!tid)                       /* a host not started yet */
		return false;
	if (c->ticks == 1 || c->stall_tid != tid) {
		c->stall_tid = tid;
		c->stall_cpu = host_cpu_ns(tid);
		return false;
	}
	state = host_state(tid);
	if (!state)
		return c->ticks >= STUCK_TICKS;
	if (state != 'R')
		return true;
	return host_cpu_ns(tid) - c->stall_cpu >= MONITOR_NS * 3 / 4;
}

static void *monitor_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, MONITOR_NS };
		uint64_t now;

		/* Not clock_nanosleep: the program's sleeps are hooked. */
		rawsys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&ts, 0);
		now = cxlmu_prim_now();
		for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
			struct cxlmu_core *c = atomic_load_explicit(&cores[cpu], memory_order_acquire);
			uint64_t sw;
			bool work;

			if (!c)
				continue;
			sw = atomic_load_explicit(&c->switches, memory_order_relaxed);
			if (sw != c->seen) {
				c->seen = sw;
				c->ticks = 0;
				continue;
			}
			spin_lock(&c->lock);
			work = waiting_work(c, now);
			spin_unlock(&c->lock);
			if (!work) {
				c->ticks = 0;
				continue;
			}
			++c->ticks;
			if (!stuck(c))
				continue;
			/* Its host is stuck inside a fiber: another takes over. */
			c->ticks = 0;
			struct cxlmu_host *old = atomic_load_explicit(&c->owner, memory_order_acquire);
			if (!add_host(c)) {
				atomic_fetch_add_explicit(&totals.handoffs, 1, memory_order_relaxed);
				if (old && !atomic_exchange_explicit(&old->stuck, true, memory_order_relaxed))
					atomic_fetch_add_explicit(&c->stuck, 1, memory_order_relaxed);
			}
		}
	}
	return NULL;
}

static inline uint64_t tsc(void)
{
	return __builtin_ia32_rdtsc();
}

static void calibrate(void)
{
	uint64_t t0 = cxlmu_prim_now(), c0 = tsc(), t1, c1;

	do
		__builtin_ia32_pause();
	while ((t1 = cxlmu_prim_now()) - t0 < 200000);
	c1 = tsc();
	tsc_per_us = (c1 - c0) * 1000 / (t1 - t0);
	if (!tsc_per_us)
		tsc_per_us = 1;
	work_tsc = FIBER_WORK_NS * tsc_per_us / 1000;
}

/* ----------------------------------------------------------------------- */
/* Cores                                                                     */
/* ----------------------------------------------------------------------- */

/* The TSC's rate and the kernel's io_uring futex waits, once. */
static void probe(void)
{
	if (atomic_load_explicit(&probed, memory_order_acquire))
		return;
	spin_lock(&cores_lock);
	if (!atomic_load_explicit(&probed, memory_order_relaxed)) {
		calibrate();
		ring_futex = cxlmu_ring_caps()->futex;
		/* Before any fiber runs: sig_fence reads it at every switch. */
		mb_ok = !rawsys(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0, 0);
		atomic_store_explicit(&probed, true, memory_order_release);
	}
	spin_unlock(&cores_lock);
}

static struct cxlmu_core *core_get(int cpu)
{
	struct cxlmu_core *c = atomic_load_explicit(&cores[cpu], memory_order_acquire);
	int r;

	if (c)
		return c;
	probe();
	spin_lock(&cores_lock);
	c = atomic_load_explicit(&cores[cpu], memory_order_acquire);
	if (!c) {
		c = cxlmu_prim_mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (cxlmu_prim_failed(c)) {
			c = NULL;
		} else {
			c->cpu = cpu;
			/* The first fiber's mask: the program's signals reach
			 * the hosts, and run in the fiber running there. */
			real_sigmask(SIG_BLOCK, NULL, &c->mask);
			/* Without it, blocked fibers look at their word again
			 * now and then (cxlmu_sched_futex_wait). */
			c->ring_ok = ring_futex && !io_uring_queue_init(RING_ENTRIES, &c->ring, 0);
			if (c->ring_ok && cxlmu_ring_adopt_fd(&c->ring, &c->ring_own)) {
				io_uring_queue_exit(&c->ring);
				c->ring_ok = false;
			}
			if ((r = add_host(c))) {
				if (c->ring_ok)
					io_uring_queue_exit(&c->ring);
				cxlmu_prim_munmap(c, sizeof(*c));
				c = NULL;
			} else {
				atomic_store_explicit(&cores[cpu], c, memory_order_release);
				atomic_fetch_add_explicit(&totals.cores, 1, memory_order_relaxed);
			}
		}
	}
	spin_unlock(&cores_lock);
	if (c && !atomic_exchange(&monitor_started, 1)) {
		sigset_t every;
		sigfillset(&every);
		if (start_thread(monitor_main, NULL, &every))
			atomic_store(&monitor_started, 0);
	}
	return c;
}

/* ----------------------------------------------------------------------- */
/* Fibers                                                                    */
/* ----------------------------------------------------------------------- */

struct cxlmu_fib *cxlmu_sched_self(void)
{
	return self_fib;
}

bool cxlmu_sched_can_switch(struct cxlmu_fib *f)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	/* Not inside the scheduler, and not on the parked kernel thread (a
	 * signal handler there shares the fiber's identity, not its stack). */
	return f && !f->busy &&
	       (sp < (uintptr_t)f->parkstack.base ||
		sp >= (uintptr_t)f->parkstack.base + f->parkstack.len);
}

int cxlmu_sched_pinned_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) || CPU_COUNT(&set) != 1)
		return -1;
	for (int cpu = 0; cpu < MAX_CPUS && cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

/* ----------------------------------------------------------------------- */
/* Who runs as what                                                          */
/* ----------------------------------------------------------------------- */

/* The fiber t is (or with tid nonzero, whose kernel thread is tid), or
 * NULL. Under all_lock. */
static struct cxlmu_fib *find(pthread_t t, pid_t tid)
{
	struct cxlmu_fib *f;

	for (f = all; f; f = f->all_next)
		if (tid ? f->tid == tid : pthread_equal(f->thread, t))
			break;
	return f;
}

/* The calling thread is no longer a kernel thread alone on its CPU. */
static void drop_alone(void)
{
	if (alone_cpu >= 0) {
		atomic_fetch_sub_explicit(&alone[alone_cpu], 1, memory_order_relaxed);
		alone_cpu = -1;
	}
}

/* The calling thread (its kernel thread's id: tid) runs as why now. */
static void record(enum cxlmu_sched_why why, int cpu, pid_t tid)
{
	drop_alone();
	if (why == CXLMU_WHY_ALONE && cpu >= 0 && cpu < MAX_CPUS) {
		atomic_fetch_add_explicit(&alone[cpu], 1, memory_order_relaxed);
		alone_cpu = cpu;
	}
	if (CXLMU_WHY_FIBER(why) && !was_fiber) {
		was_fiber = true;
		atomic_fetch_add_explicit(&totals.fibers, 1, memory_order_relaxed);
	}
	if (my_why >= 0)
		atomic_fetch_sub_explicit(&why_counts[my_why], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&why_counts[why], 1, memory_order_relaxed);
	my_why = (int)why;
	if (my_record < 0) {
		unsigned i = atomic_fetch_add_explicit(&nrecords, 1, memory_order_relaxed);
		my_record = i < CXLMU_SCHED_RECORDS ? (int)i : CXLMU_SCHED_RECORDS;
	}
	if (my_record < CXLMU_SCHED_RECORDS) {
		struct cxlmu_sched_thread *r = &records[my_record];
		r->cpu = cpu;
		r->why = why;
		atomic_store_explicit((_Atomic pid_t *)&r->tid, tid, memory_order_release);
	}
}

enum cxlmu_sched_why cxlmu_sched_choose(int cpu, bool company)
{
	if (cpu < 0 || cpu >= MAX_CPUS)
		return CXLMU_WHY_UNPINNED;
	/* A fiber's system calls would run on a host the filter is not on. */
	if (cxlmu_sandboxed())
		return CXLMU_WHY_SANDBOX;
	if (mode == CXLMU_SCHED_FIBERS)
		return CXLMU_WHY_PINNED;
	probe();
	if (!ring_futex)
		return CXLMU_WHY_NO_RING;
	/* Others pinned there: fibers already, or kernel threads alone
	 * until now (the caller itself is not company). */
	if (company || atomic_load_explicit(&cores[cpu], memory_order_acquire) ||
	    atomic_load_explicit(&alone[cpu], memory_order_relaxed) > (alone_cpu == cpu))
		return CXLMU_WHY_SHARED;
	return CXLMU_WHY_ALONE;
}

void cxlmu_sched_note(enum cxlmu_sched_why why, int cpu)
{
	if (cxlmu_sched_on && !self_fib)
		record(why, cpu, (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0));
}

void cxlmu_sched_alone(int cpu, int delta)
{
	if (cpu >= 0 && cpu < MAX_CPUS)
		atomic_fetch_add_explicit(&alone[cpu], delta, memory_order_relaxed);
}

void cxlmu_sched_note_alone(int cpu)
{
	if (!cxlmu_sched_on || self_fib || cpu < 0 || cpu >= MAX_CPUS)
		return;
	/* The creator counted it: record() takes that count over. */
	alone_cpu = cpu;
	record(CXLMU_WHY_ALONE, cpu, (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0));
}

void cxlmu_sched_thread_end(void)
{
	drop_alone();
}

void cxlmu_sched_place(void)
{
	enum cxlmu_sched_why why;
	int cpu;

	/* Only a thread the runtime noted when it began (or the main
	 * thread): the runtime knows where it ends, and gives the fiber
	 * back there (libc's own threads end where it cannot see). */
	if (self_fib || my_why < 0)
		return;
	cpu = cxlmu_sched_pinned_cpu();
	why = cxlmu_sched_choose(cpu, false);
	if (CXLMU_WHY_FIBER(why))
		cxlmu_sched_adopt(cpu, why);
	else
		cxlmu_sched_note(why, cpu);
}

bool cxlmu_sched_retarget(pthread_t t, pid_t tid)
{
	uint64_t old = all_lock_masked();
	struct cxlmu_fib *f = find(t, tid);

	if (f)
		atomic_store_explicit(&f->move, true, memory_order_relaxed);
	all_unlock_masked(old);
	return f != NULL;
}

struct cxlmu_fib *cxlmu_sched_current(void)
{
	struct cxlmu_fib *f = self_fib;

	return cxlmu_sched_can_switch(f) ? f : NULL;
}

struct cxlmu_fib *cxlmu_sched_settle(void)
{
	static CXLMU_TLS bool settling;
	struct cxlmu_fib *f = self_fib;

	/* Nothing to do, as for every sleep of an unpinned program. */
	if (likely(f ? !atomic_load_explicit(&f->move, memory_order_relaxed)
		     : alone_cpu < 0 || !atomic_load_explicit(&cores[alone_cpu],
							      memory_order_acquire)) ||
	    settling)
		return cxlmu_sched_current();
	settling = true;
	if (!f) {
		/* Alone on its CPU until fibers came there: it joins them,
		 * once a pending cancellation has acted here (a sleep is a
		 * cancellation point), never on a host. */
		libc_testcancel();
		cxlmu_sched_adopt(alone_cpu, CXLMU_WHY_SHARED);
	} else if (cxlmu_sched_can_switch(f)) {
		/* Its kernel thread's new affinity says where it goes now. */
		cxlmu_sched_leave();
		cxlmu_sched_place();
	}
	settling = false;
	return cxlmu_sched_current();
}

size_t cxlmu_sched_threads(struct cxlmu_sched_thread *out_, size_t max,
			   uint64_t counts[CXLMU_WHY_COUNT])
{
	unsigned n = atomic_load_explicit(&nrecords, memory_order_relaxed);
	size_t k = 0;

	for (int w = 0; w < CXLMU_WHY_COUNT; w++)
		counts[w] = atomic_load_explicit(&why_counts[w], memory_order_relaxed);
	for (unsigned i = 0; i < n && i < CXLMU_SCHED_RECORDS && k < max; i++) {
		pid_t tid = atomic_load_explicit((_Atomic pid_t *)&records[i].tid,
						 memory_order_acquire);
		if (tid) {
			out_[k] = records[i];
			out_[k++].tid = tid;
		}
	}
	return k;
}

/* The kernel thread's side while its fiber runs elsewhere: hand the fiber
 * to the core, then wait until it comes back for good. */
static void park_main(void *arg)
{
	struct cxlmu_fib *f = arg;
	struct cxlmu_fiber_ctx scratch;

	push_from_outside(f->core, f);
	/* Nothing here may write TLS: it is the fiber's. */
	while (!atomic_load_explicit(&f->back, memory_order_acquire))
		raw_futex(&f->back, FUTEX_WAIT, 0);
	cxlmu_fiber_switch(&scratch, &f->ctx);
	__builtin_unreachable();
}

int cxlmu_sched_adopt(int cpu, enum cxlmu_sched_why why)
{
	struct cxlmu_fiber_stack st;
	struct cxlmu_fib *f;
	struct cxlmu_core *c;
	sigset_t every;
	int saved = errno, r;

	if (!cxlmu_sched_on || self_fib || cpu < 0 || cpu >= MAX_CPUS)
		return -EINVAL;
	c = core_get(cpu);
	if (!c) {
		cxlmu_sched_note(CXLMU_WHY_FAILED, cpu);
		errno = saved;
		return -EAGAIN;
	}
	if ((r = cxlmu_fiber_stack_alloc(&st, PARK_STACK, 4096))) {
		cxlmu_sched_note(CXLMU_WHY_FAILED, cpu);
		errno = saved;
		return r;
	}
	/* The fiber's record sits at the top of its kernel thread's park
	 * stack: it lives exactly as long as the fiber. */
	f = (struct cxlmu_fib *)(((uintptr_t)st.stack + st.size - sizeof(*f)) & ~(uintptr_t)63);
	memset(f, 0, sizeof(*f));
	f->parkstack = st;
	f->core = c;
	f->busy = true;
	/* Parked, the kernel thread takes no signal: a handler there would
	 * share the fiber's TLS (errno) while the fiber runs elsewhere. The
	 * program's signals reach the hosts, and run in the fiber there. */
	sigfillset(&every);
	real_sigmask(SIG_BLOCK, &every, &f->mask);
	f->thread = pthread_self();
	f->tid = (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0);
	f->why = why;
	f->ctx.fs = (uintptr_t)f->thread;
	record(why, cpu, f->tid);
	spin_lock(&all_lock);
	f->all_next = all;
	f->all_prev = &all;
	if (all)
		all->all_prev = &f->all_next;
	all = f;
	mask_count(c, mask_word(&f->mask), 1);
	spin_unlock(&all_lock);
	cxlmu_fiber_make(&f->park, st.stack, (size_t)((uintptr_t)f - (uintptr_t)st.stack),
			 park_main, f);
	self_fib = f;
	/* From here on this is the fiber: it resumes on a host. */
	cxlmu_fiber_switch(&f->ctx, &f->park);
	finish(f->host);
	f->resumed = tsc();
	sig_on(f);
	f->busy = false;
	errno = saved;
	return 0;
}

/* A fiber reached an idle point at now: a poll (poll) or anything else.
 * A run of real work since it last began to run, or any idle point but a
 * poll, is progress, and the core's sleeping polls re-check. Before the
 * poll decides how to wait: its own run counts. */
static void reached(struct cxlmu_fib *f, uint64_t now, bool poll)
{
	struct cxlmu_core *c = f->core;

	if (poll && now - f->resumed < work_tsc)
		return;
	atomic_store_explicit(&c->progress, now, memory_order_relaxed);
	if (c->polls) {
		spin_lock(&c->lock);
		wake_polls(c);
		spin_unlock(&c->lock);
		/* From a host that lost the core (its fiber ran long and the
		 * monitor handed the others over): the owner may be idle. */
		if (atomic_load_explicit(&c->owner, memory_order_relaxed) != f->host)
			kick(c);
	}
}

/* Switch away for the reason given; back when scheduled again. The next
 * runnable fiber gets the CPU straight from this one; the host's loop
 * only when there is none, or for the fiber's leaving. A yield with
 * nobody else to run goes on at once. */
static void out(struct cxlmu_fib *f, int why)
{
	struct cxlmu_host *h = f->host;
	struct cxlmu_core *c = f->core;
	struct cxlmu_fib *next = NULL;

	sig_off(f);
	f->out = why;
	if (why != OUT_LEAVE &&
	    atomic_load_explicit(&c->owner, memory_order_relaxed) == h) {
		spin_lock(&c->lock);
		if (unlikely(atomic_load_explicit(&c->sigwake, memory_order_relaxed)))
			sigwake_drain(c);
		if (ring_pending(c))
			reap(c);
		if (c->sleepers || c->polls)
			expire(c, cxlmu_prim_now());
		next = pop(c);
		spin_unlock(&c->lock);
		if (!next && why == OUT_YIELD) {
			f->resumed = tsc();
			sig_on(f);
			return;
		}
	}
	h->prev = f;
	/* Nothing is delivered between two masks: the one switched to sets
	 * its own (sig_on, or the host's loop). */
	if ((next ? mask_word(&next->mask) :
		    atomic_load_explicit(&c->idle_mask, memory_order_relaxed)) != mask_word(&f->mask))
		host_mask(h, BLOCK_ALL);
	if (next) {
		next->host = h;
		count_switch(c);
		cxlmu_fiber_switch_fs(&f->ctx, &next->ctx);
	} else {
		cxlmu_fiber_switch_fs(&f->ctx, &h->ctx);
	}
	if (why == OUT_LEAVE)
		return;    /* on its own kernel thread now */
	finish(f->host);
	f->resumed = tsc();
	sig_on(f);
}

void cxlmu_sched_leave(void)
{
	struct cxlmu_fib *f = self_fib;
	struct cxlmu_fiber_stack st;
	sigset_t mask;
	int saved = errno;

	if (!f)
		return;
	f->busy = true;
	reached(f, tsc(), false);
	out(f, OUT_LEAVE);
	/* On our own kernel thread again: the park stack is no longer in use. */
	self_fib = NULL;
	spin_lock(&all_lock);
	*f->all_prev = f->all_next;
	if (f->all_next)
		f->all_next->all_prev = f->all_prev;
	mask_count(f->core, mask_word(&f->mask), -1);
	spin_unlock(&all_lock);
	/* No sender finds it now; one may have queued it to be woken. */
	if (atomic_load_explicit(&f->sigwake_queued, memory_order_acquire)) {
		spin_lock(&f->core->lock);
		sigwake_drain(f->core);
		spin_unlock(&f->core->lock);
	}
	/* What is still pending for it (its mask blocks it, or it came as
	 * it left) is its kernel thread's now: queued there while every
	 * signal is blocked, delivered or kept pending by its mask. */
	for (uint64_t pend = atomic_exchange(&f->sigpend, 0); pend; pend &= pend - 1)
		sig_send(f->tid, &f->sig[__builtin_ctzll(pend)]);
	st = f->parkstack;
	mask = f->mask;
	cxlmu_fiber_stack_free(&st);
	real_sigmask(SIG_SETMASK, &mask, NULL);
	errno = saved;
}

/* A blocked fiber becomes runnable (its wait ends early, or was met). The
 * caller keeps f alive: under the lock of the lot bucket it waits in, or
 * all_lock. */
static void wake(struct cxlmu_fib *f)
{
	struct cxlmu_core *c = f->core;
	bool pushed;

	/* Seen by dispose() if f is still on its way out. */
	atomic_store_explicit(&f->wake, 1, memory_order_seq_cst);
	spin_lock(&c->lock);
	pushed = unblock(c, f);
	spin_unlock(&c->lock);
	if (pushed)
		kick(c);
}

/* A signal came for f, which does not run: its core's owner wakes it
 * (sigwake_drain). No core lock here: the sender may be a handler that
 * interrupted that lock's holder. Under all_lock, which keeps f alive. */
static void sig_wake(struct cxlmu_fib *f)
{
	struct cxlmu_core *c = f->core;

	/* Seen by dispose() if f is still on its way into a wait. */
	atomic_store_explicit(&f->wake, 1, memory_order_seq_cst);
	if (!atomic_exchange_explicit(&f->sigwake_queued, true, memory_order_acq_rel)) {
		struct cxlmu_fib *head = atomic_load_explicit(&c->sigwake, memory_order_relaxed);
		do
			f->sigwake_next = head;
		while (!atomic_compare_exchange_weak_explicit(&c->sigwake, &head, f,
							      memory_order_release,
							      memory_order_relaxed));
	}
	kick(c);
}

/* A signal number a thread can be sent: 1 to 64 but glibc's own two. 0 (a
 * check that the thread is there) is not one, and not an error. */
static bool sig_number(int sig, int *err)
{
	if (sig > 0 && sig < 65 && sig != 32 && sig != 33)
		return true;
	*err = sig ? EINVAL : 0;
	return false;
}

bool cxlmu_sched_signal(pthread_t t, pid_t tid, const struct cxlmu_sig *s, int *err)
{
	struct cxlmu_fib *f, *me = self_fib;
	struct cxlmu_host *h;
	uint64_t bit, old;
	pid_t to = 0;

	if (!atomic_load_explicit(&probed, memory_order_acquire))
		return false;    /* no fiber has been made */
	*err = 0;
	if (me && (tid ? me->tid == tid : pthread_equal(me->thread, t))) {
		/* To itself, maybe from a handler: no lock. Its host now, or
		 * pending while its mask blocks it. */
		if (!sig_number(s->sig, err))
			return true;
		bit = 1ull << (s->sig - 1);
		if (mask_word(&me->mask) & bit) {
			me->sig[s->sig - 1] = *s;
			atomic_fetch_or(&me->sigpend, bit);
		} else {
			sig_send((pid_t)rawsys(SYS_gettid, 0, 0, 0, 0), s);
		}
		return true;
	}
	old = all_lock_masked();
	f = find(t, tid);
	if (!f) {
		all_unlock_masked(old);
		return false;
	}
	if (!sig_number(s->sig, err)) {
		all_unlock_masked(old);
		return true;
	}
	bit = 1ull << (s->sig - 1);
	atomic_fetch_add(&f->poking, 1);
	f->sig[s->sig - 1] = *s;
	atomic_fetch_or(&f->sigpend, bit);
	if (mb_ok)
		rawsys(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0, 0);
	else
		atomic_thread_fence(memory_order_seq_cst);
	h = atomic_load_explicit(&f->on, memory_order_relaxed);
	if (mask_word(&f->mask) & bit) {
		/* Pending until it unblocks it (cxlmu_sched_sigmask). */
	} else if (h) {
		if (atomic_fetch_and(&f->sigpend, ~bit) & bit)
			to = h->tid;
	} else {
		sig_wake(f);
	}
	if (!to)
		atomic_fetch_sub(&f->poking, 1);
	all_unlock_masked(old);
	if (to) {
		/* f waits for this (sig_off, cxlmu_sched_sigmask) before it
		 * switches out or changes its mask: h runs f until the signal
		 * is there. */
		sig_send(to, s);
		atomic_fetch_add(&f->pokes, 1);
		atomic_fetch_sub(&f->poking, 1);
	}
	return true;
}

/* how applied to the mask now with set: the new mask, or false for a bad
 * how. */
static bool mask_apply(int how, uint64_t now, uint64_t set, uint64_t *next)
{
	switch (how) {
	case SIG_BLOCK:
		*next = now | set;
		break;
	case SIG_UNBLOCK:
		*next = now & ~set;
		break;
	case SIG_SETMASK:
		*next = set;
		break;
	default:
		return false;
	}
	/* What libc and the kernel never let a mask block. */
	*next &= BLOCK_ALL & ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
	return true;
}

static void word_set(sigset_t *set, uint64_t w)
{
	sigemptyset(set);
	memcpy(set, &w, sizeof(w));
}

int cxlmu_sched_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	struct cxlmu_fib *f = self_fib;
	struct cxlmu_host *h = f->host;
	uint64_t real = 0, want = set ? mask_word(set) : 0, next = 0, seen, o;
	unsigned spins = 0;

	if (set && !mask_apply(how, 0, 0, &next))
		return EINVAL;
	rawsys(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&real, sizeof(real));
	if (real != h->cur) {
		/* In a handler: the kernel added to the mask, and restores it
		 * when the handler returns. Only the host's mask changes, as
		 * plain; the cache follows what is set. */
		if (old)
			word_set(old, real);
		if (set) {
			mask_apply(how, real, want, &next);
			rawsys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&next, 0, sizeof(next));
			real = next;
		}
		h->cur = real;
		return 0;
	}
	if (old)
		*old = f->mask;
	if (!set)
		return 0;
	mask_apply(how, mask_word(&f->mask), want, &next);
	f->busy = true;
	o = all_lock_masked();
	mask_count(f->core, mask_word(&f->mask), -1);
	mask_count(f->core, next, 1);
	word_set(&f->mask, next);
	all_unlock_masked(o);
	/* A sender that decided under the old mask may still be sending to
	 * the host: once it is done, the signal comes in with the old mask,
	 * before the new one can block it. */
	while (atomic_load_explicit(&f->poking, memory_order_acquire))
		cxlmu_prim_relax(&spins);
	seen = atomic_load_explicit(&f->pokes, memory_order_acquire);
	if (seen != f->pokes_seen) {
		f->pokes_seen = seen;
		rawsys(SYS_getppid, 0, 0, 0, 0);
	}
	host_mask(h, next);
	f->busy = false;
	if (sig_waiting(f))
		sig_deliver(f);
	return 0;
}

uint64_t cxlmu_sched_sigpending(void)
{
	struct cxlmu_fib *f = self_fib;

	return f ? atomic_load_explicit(&f->sigpend, memory_order_relaxed) : 0;
}

void cxlmu_sched_unfiber(enum cxlmu_sched_why why)
{
	if (!self_fib)
		return;
	cxlmu_sched_leave();
	cxlmu_sched_note(why, cxlmu_sched_pinned_cpu());
}

bool cxlmu_sched_mark_cancel(pthread_t t)
{
	uint64_t old = all_lock_masked();
	struct cxlmu_fib *f = find(t, 0);

	if (f) {
		atomic_store(&f->cancel, true);
		/* A blocked fiber looks at once. */
		wake(f);
	}
	all_unlock_masked(old);
	return f != NULL;
}

pid_t cxlmu_sched_tid(const struct cxlmu_fib *f)
{
	return f->tid;
}

int cxlmu_sched_cpu(const struct cxlmu_fib *f)
{
	return f->core->cpu;
}

bool cxlmu_sched_cancelled(const struct cxlmu_fib *f)
{
	return atomic_load_explicit(&f->cancel, memory_order_relaxed);
}

void cxlmu_sched_yield(void)
{
	struct cxlmu_fib *f = self_fib;

	f->busy = true;
	reached(f, tsc(), false);
	out(f, OUT_YIELD);
	f->busy = false;
}

static uint64_t sleep_until(struct cxlmu_fib *f, uint64_t deadline, bool progress)
{
	uint64_t now = cxlmu_prim_now();

	f->busy = true;
	f->sig_intr = false;
	if (progress)
		reached(f, tsc(), false);
	/* In slices, so that a cancellation is seen within one. */
	do {
		f->deadline = deadline - now > CANCEL_SLICE_NS ? now + CANCEL_SLICE_NS : deadline;
		out(f, OUT_SLEEP);
		now = cxlmu_prim_now();
	} while (now < deadline && !atomic_load_explicit(&f->cancel, memory_order_relaxed) &&
		 !f->sig_intr);
	f->busy = false;
	return f->sig_intr && now < deadline ? deadline - now : 0;
}

uint64_t cxlmu_sched_sleep_until(uint64_t deadline, bool progress)
{
	struct cxlmu_fib *f = self_fib;

	/* Not a relative sleep: the next one starts no run (src/pollrule.h). */
	cxlmu_poll_break(&f->polls);
	return sleep_until(f, deadline, progress);
}

uint64_t cxlmu_sched_sleep(uint64_t ns, const void *site)
{
	struct cxlmu_fib *f = self_fib;
	struct cxlmu_core *c = f->core;
	struct cxlmu_poll_site *s = cxlmu_poll_classify(&f->polls, (uintptr_t)site, ns);
	uint64_t start, seen;
	uint64_t plain = ns > POLL_MIN_NS ? ns : POLL_MIN_NS;

	if (!s->poll)
		return sleep_until(f, cxlmu_prim_now() + ns, true);
	/* A poll: while the core makes progress, the poll goes to the back
	 * of the run queue and re-checks after the others ran. A core where
	 * for a plain sleep's time only polls have run is idle: its polls
	 * sleep as the plain sleep would have (stretched by the poll rule
	 * where progress has been waking them), or until progress. */
	start = tsc();
	f->busy = true;
	reached(f, start, true);
	cxlmu_poll_begin(s, start);
	seen = atomic_load_explicit(&c->progress, memory_order_relaxed);
	/* Not while a host that lost the core still runs a fiber on the
	 * same CPU: a poll that found nobody else to run would spin against
	 * it (and the kernel's preemption of it looks like work). */
	if ((seen >= start || start - seen < plain * tsc_per_us / 1000) &&
	    !atomic_load_explicit(&c->stuck, memory_order_relaxed)) {
		/* Neither woken nor timed out: no trace in the site. */
		out(f, OUT_YIELD);
	} else {
		/* The clock only here: a poll that yields reads none. A poller
		 * whose peer works for milliseconds on another host of the
		 * core (the monitor handed it over) sleeps once, not once per
		 * plain sleep. */
		uint64_t end = cxlmu_poll_stretch(s, start, start + plain * tsc_per_us / 1000,
						  CXLMU_POLL_STRETCH_MAX_NS / 1000 * tsc_per_us);
		f->polling = true;
		f->progress_woke = false;
		f->deadline = cxlmu_prim_now() + (end - start) * 1000 / tsc_per_us;
		out(f, OUT_SLEEP);
		/* Progress woke it (wake_polls), or its time ran out. */
		cxlmu_poll_end(s, f->progress_woke, tsc());
	}
	f->busy = false;
	/* A poll's wait is short: one a signal cut short simply ends. */
	return 0;
}

/* ----------------------------------------------------------------------- */
/* Blocking                                                                  */
/* ----------------------------------------------------------------------- */

/* Switch away until woken, the deadline (0: none) or a cancellation;
 * true when a waker came. A wake that came first returns at once. */
static bool block(struct cxlmu_fib *f, int why, uint64_t deadline)
{
	reached(f, tsc(), false);
	if (atomic_exchange_explicit(&f->wake, 0, memory_order_acquire))
		return true;
	f->deadline = deadline;
	f->fres = 0;
	out(f, why);
	return atomic_exchange_explicit(&f->wake, 0, memory_order_acquire);
}

/* The lot: fibers parked by address, in buckets hashed by it. A waiter is
 * a node on its own stack; nothing here allocates. */
struct lot_node {
	const void *addr;
	struct cxlmu_fib *f;
	struct lot_node *next, **pprev;
	bool woken;
};

/* First come, first woken: a bucket is a list with a tail. */
static struct lot_bucket {
	_Atomic int lock;
	_Atomic uint32_t n;
	struct lot_node *head;
	struct lot_node **tail;         /* NULL: &head */
} __attribute__((aligned(64))) lot[LOT_BUCKETS];

static struct lot_bucket *bucket(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	return &lot[((a >> 3) ^ (a >> 11) ^ (a >> 19)) % LOT_BUCKETS];
}

static void lot_unlink(struct lot_bucket *b, struct lot_node *n)
{
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	else
		b->tail = n->pprev;
	atomic_fetch_sub_explicit(&b->n, 1, memory_order_relaxed);
}

bool cxlmu_sched_park(const void *addr, bool (*still)(void *), void *arg, uint64_t deadline)
{
	struct cxlmu_fib *f = self_fib;
	struct lot_bucket *b = bucket(addr);
	struct lot_node n = { .addr = addr, .f = f };
	bool woken;

	f->busy = true;
	spin_lock(&b->lock);
	if (!b->tail)
		b->tail = &b->head;
	n.next = NULL;
	n.pprev = b->tail;
	*b->tail = &n;
	b->tail = &n.next;
	atomic_fetch_add_explicit(&b->n, 1, memory_order_relaxed);
	spin_unlock(&b->lock);
	/* Registered before the look: a waker that changes what still()
	 * sees and then looks at the bucket finds us (unpark's fence). */
	atomic_thread_fence(memory_order_seq_cst);
	if (still(arg))
		block(f, OUT_BLOCK, deadline);
	spin_lock(&b->lock);
	woken = n.woken;
	if (!woken)
		lot_unlink(b, &n);
	spin_unlock(&b->lock);
	/* A waker's wake() is over once its bucket lock is: no stale wake-up
	 * for the next block. */
	atomic_store_explicit(&f->wake, 0, memory_order_relaxed);
	f->busy = false;
	return woken;
}

unsigned cxlmu_sched_unpark(const void *addr, unsigned max)
{
	struct lot_bucket *b = bucket(addr);
	struct lot_node *n, *next;
	unsigned woke = 0;

	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&b->n, memory_order_relaxed))
		return 0;
	spin_lock(&b->lock);
	for (n = b->head; n && woke < max; n = next) {
		next = n->next;
		if (n->addr != addr)
			continue;
		lot_unlink(b, n);
		n->woken = true;
		wake(n->f);
		woke++;
	}
	spin_unlock(&b->lock);
	return woke;
}

int cxlmu_sched_futex_wait(void *word, uint32_t val, bool shared, uint64_t deadline)
{
	struct cxlmu_fib *f = self_fib;
	uint64_t now;
	int r;

	if (atomic_load_explicit((_Atomic uint32_t *)word, memory_order_acquire) != val)
		return -EAGAIN;
	f->busy = true;
	if (f->core->ring_ok) {
		f->fword = word;
		f->fval = val;
		f->fshared = shared;
		block(f, OUT_FUTEX, deadline);
		r = f->fres == -ECANCELED ? -ETIMEDOUT : f->fres;
		/* Cut short before its deadline: by a cancellation, or by a
		 * signal (a wake-up: the caller looks again). */
		if (r == -ETIMEDOUT && (!deadline || cxlmu_prim_now() < deadline))
			r = atomic_load_explicit(&f->cancel, memory_order_relaxed) ? -EINTR : 0;
	} else {
		/* No futex waits in io_uring: look again after the others ran,
		 * or after a short sleep when the core has nothing else. */
		now = cxlmu_prim_now();
		block(f, OUT_BLOCK, !deadline || deadline - now > POLL_MIN_NS ?
			now + POLL_MIN_NS : deadline);
		r = deadline && cxlmu_prim_now() >= deadline ? -ETIMEDOUT : 0;
	}
	f->busy = false;
	return r;
}

/* ----------------------------------------------------------------------- */
/* Set-up, fork, report                                                      */
/* ----------------------------------------------------------------------- */

static bool configured;

static void decide(void)
{
	bool was = cxlmu_sched_on;

	cxlmu_sched_on = configured && create_thread && !cxlmu_sched_off_why();
	/* The main thread was there before: it runs alone on its CPU, or
	 * on any, until it makes threads there. */
	if (cxlmu_sched_on && !was && rawsys(SYS_gettid, 0, 0, 0, 0) == getpid()) {
		int cpu = cxlmu_sched_pinned_cpu();
		cxlmu_sched_note(cpu < 0 ? CXLMU_WHY_UNPINNED : CXLMU_WHY_ALONE, cpu);
	}
}

const char *cxlmu_sched_off_why(void)
{
	if (mode != CXLMU_SCHED_AUTO && mode != CXLMU_SCHED_FIBERS)
		return "mode";
	if (!cxlmu_fiber_fsgsbase())
		return "no-fsgsbase";
	return NULL;
}

void cxlmu_sched_init(const struct cxlmu_config *cfg)
{
	/* libc's own, not the exported one (a fiber's cancellation point). */
	libc_testcancel = (void (*)(void))dlsym(RTLD_NEXT, "pthread_testcancel");
	if (!libc_testcancel)
		libc_testcancel = nothing;
	mode = cfg->sched;
	configured = true;
	decide();
}

int cxlmu_sched_spawn(void *(*fn)(void *), void *arg, size_t stack)
{
	pthread_attr_t attr;
	sigset_t all;
	pthread_t t;
	int r;

	if (!create_thread || cxlmu_sandboxed())
		return -EAGAIN;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	pthread_attr_setsigmask_np(&attr, &all);
	r = create_thread(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -r;
}

void cxlmu_sched_expect(int delta)
{
	struct cxlmu_fib *f = self_fib;

	if (f)
		atomic_fetch_add_explicit(&f->core->expect, delta, memory_order_relaxed);
}

bool cxlmu_sched_others_ready(void)
{
	struct cxlmu_fib *f = self_fib;

	/* A racy look is enough: the caller only chooses between spinning a
	 * little and switching. */
	return f && (__atomic_load_n(&f->core->head, __ATOMIC_RELAXED) ||
		     f->core->sleepers || f->core->polls);
}

void cxlmu_sched_set_create(cxlmu_create_fn create)
{
	create_thread = create;
	decide();
}

void cxlmu_sched_after_fork(void)
{
	/* The child has one thread, the caller: no host, no monitor, no other
	 * fiber. If the caller was a fiber it goes on as the child's kernel
	 * thread, on the fiber's stack and with its identity. The parent's
	 * records are left behind, unmapped never: they cost address space
	 * only. */
	for (int cpu = 0; cpu < MAX_CPUS; cpu++)
		atomic_store_explicit(&cores[cpu], NULL, memory_order_relaxed);
	atomic_store(&monitor_started, 0);
	atomic_store(&cores_lock, 0);
	atomic_store(&all_lock, 0);
	all = NULL;
	self_fib = NULL;
	/* Only the caller is pinned anywhere now. */
	for (int cpu = 0; cpu < MAX_CPUS; cpu++)
		atomic_store_explicit(&alone[cpu], 0, memory_order_relaxed);
	if (alone_cpu >= 0)
		atomic_store_explicit(&alone[alone_cpu], 1, memory_order_relaxed);
	/* Bucket locks a parent thread held; its parked fibers are gone. */
	memset(lot, 0, sizeof(lot));
	/* A new process: its own registration (nothing runs to race it). */
	if (mb_ok)
		mb_ok = !rawsys(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0, 0);
}

void cxlmu_sched_totals(struct cxlmu_sched_totals *out_)
{
	memset(out_, 0, sizeof(*out_));
	out_->fibers = atomic_load_explicit(&totals.fibers, memory_order_relaxed);
	out_->handoffs = atomic_load_explicit(&totals.handoffs, memory_order_relaxed);
	out_->cores = atomic_load_explicit(&totals.cores, memory_order_relaxed);
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		struct cxlmu_core *c = atomic_load_explicit(&cores[cpu], memory_order_acquire);
		if (c)
			out_->switches += atomic_load_explicit(&c->switches, memory_order_relaxed);
	}
}
