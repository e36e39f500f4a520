/* Idle points of kernel threads: poll detection, the registry of waiting
 * pollers, progress wake-ups, and the poll wait itself (an adaptive spin
 * where another CPU can run the waker, then the thread's io_uring or the
 * futex fallback). Entry points: cxlmu_wait_begin, cxlmu_wait_poll,
 * cxlmu_wait_end, called by preload/sleep.c around every sleeping and
 * yielding call.
 *
 * The wake protocol. Each thread owns a slot with a wake word and a state.
 * A poller reads the word, publishes SPINNING (and its bit in the
 * registry), spins a while watching the state, then moves to SLEEPING and
 * waits on its channel with the word's old value. A waker turns SPINNING
 * or SLEEPING into WOKEN with a compare-and-swap (so one waker per wait),
 * bumps the word, and only for SLEEPING makes the system call that the
 * channel needs. A futex wait armed with the old value cannot miss the bump:
 * the kernel compares the word when it queues the wait. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"
#include "prim.h"
#include "ring.h"
#include "sandbox.h"
#include "sched_thread.h"
#include "wait.h"

#define SLOTS          4096
/* A thread that ran this long since its previous idle point made progress. */
/* A thread woken by a wake-up that goes idle again at once passes the
 * wake-up on (it probably consumed something and produced the answer), but
 * a chain of such hops with no real work in between stops here: two pollers
 * waiting for nothing cannot keep waking each other. */
#define HOP_MAX        16
/* Pollers woken per progress (one per hop). */
#define WAKE_MAX       2
#define SPIN_MAX_NS    20000
#define SPIN_INIT_NS   5000
/* A yield that returns sooner than this found nobody else to run. */
#define YIELD_ALONE_NS 1500
#define YIELD_ALONE_TRIES 4
/* Polls that may yield without being woken before one sleeps instead. */
#define YIELD_CREDIT   16
/* Idle back-off: after this many empty polls in a row at a site, a poll
 * waits this fraction longer than the plain sleep would. */
#define IDLE_STREAK    8
#define IDLE_NUM       5
#define IDLE_DEN       4
/* How often (polls) a thread re-reads its CPU affinity. */
#define AFFINITY_EVERY 256

enum { ST_FREE, ST_RUNNING, ST_SPINNING, ST_SLEEPING, ST_WOKEN, ST_EXITING };
enum { END_NONE, END_OTHER, END_TIMEOUT, END_WOKEN };

/* Counters: written by the owner only, read by the report at any time. */
struct counters {
	_Atomic uint64_t sleeps, yields, polls, early, wakeups, asked_ns, slept_ns;
};

struct cxlmu_waiter {
	/* What wakers touch: one cache line. */
	alignas(64) _Atomic uint32_t word;
	_Atomic int state;
	_Atomic int cpu;
	_Atomic int hop_in;          /* hop count of the wake-up that came */
	_Atomic int waker_cpu;       /* CPU it came from */
	_Atomic uint64_t woken_at;   /* when the waker sent it */
	_Atomic int ring_fd;         /* msg_ring path: the target */
	struct cxlmu_fd efd, efd_w;  /* eventfd path: its wake-up pipe */
	_Atomic int inflight;        /* wakers between reading state and done */
	_Atomic int path;            /* enum cxlmu_wait_path, never AUTO */

	/* The owner's. */
	alignas(64) struct cxlmu_ring ring;
	struct cxlmu_poll_sites sites; /* the poll rule's (src/pollrule.h) */
	uint64_t last_return;        /* end of the previous idle point */
	uint64_t slack;              /* the thread's timer slack, as it was */
	uint64_t spin_ns;
	unsigned polls_left;         /* until the next affinity check */
	bool multi_cpu;
	bool used;                   /* had an idle point (for "threads") */
	bool slack_lowered;          /* timer slack set to 1 ns (fallback) */
	uint8_t yield_credit;        /* polls that may still yield first */
	int cpu_now;                 /* CPU at this idle point, as a waker */
	uint64_t late_ns;            /* how late timed-out polls return */
	uint64_t idle_at;            /* when the current idle point began */
	uint8_t last_end, hop;
	struct counters c;
};

int cxlmu_wait_on;
static enum cxlmu_sched_mode g_sched;
static enum cxlmu_wait_path g_want, g_path;
static struct cxlmu_ring_caps g_caps;
static _Atomic int g_once;
static pthread_key_t g_key;
static bool g_key_ok;

static struct cxlmu_waiter slots[SLOTS];
static _Atomic uint64_t waiting[SLOTS / 64];   /* bit: slot is SPINNING or SLEEPING */
static _Atomic unsigned slots_hi;              /* slots ever used */
static struct counters retired;                /* of threads gone */
static _Atomic uint64_t retired_threads;

static CXLMU_TLS struct cxlmu_waiter *self;
/* While the runtime does its own part of an idle point (not while libc
 * sleeps), the frame address of the hook's entry; 0 otherwise. */
static CXLMU_TLS uintptr_t hook_frame;

static void registry(struct cxlmu_waiter *w, bool on);

/* Descriptors the wait paths hold (msg_ring: a ring each; eventfd: a
 * pipe's two ends each), at most a quarter of RLIMIT_NOFILE: the program's own
 * descriptors come first. A thread over the budget uses the syscall path. */
static _Atomic int g_fds;
static int g_fd_budget;

static bool fd_take(int n)
{
	if (atomic_fetch_add_explicit(&g_fds, n, memory_order_relaxed) + n <= g_fd_budget)
		return true;
	atomic_fetch_sub_explicit(&g_fds, n, memory_order_relaxed);
	return false;
}

static void fd_release(int n)
{
	atomic_fetch_sub_explicit(&g_fds, n, memory_order_relaxed);
}

static const char *const path_names[] = { CXLMU_WAIT_PATH_NAMES };

/* The owner's relaxed increment: no read-modify-write needed. */
static inline void bump(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* A thread's counts join those of the threads gone (exit, or a fork that
 * left it behind). */
static void retire(struct cxlmu_waiter *w)
{
	_Atomic uint64_t *f = &w->c.sleeps, *t = &retired.sleeps;

	for (size_t i = 0; i < sizeof(w->c) / sizeof(*f); i++)
		atomic_fetch_add_explicit(&t[i], atomic_exchange_explicit(&f[i], 0,
			memory_order_relaxed), memory_order_relaxed);
	atomic_fetch_add_explicit(&retired_threads, w->used, memory_order_relaxed);
}

/* ----------------------------------------------------------------------- */
/* Set-up: the path, once per process; a slot, once per thread               */
/* ----------------------------------------------------------------------- */

static bool path_offered(enum cxlmu_wait_path p)
{
	switch (p) {
	case CXLMU_WAIT_FUTEX:    return g_caps.futex && g_caps.timeout;
	case CXLMU_WAIT_MSG_RING: return g_caps.msg_ring && g_caps.timeout;
	case CXLMU_WAIT_EVENTFD:  return g_caps.read && g_caps.timeout;
	default:                  return true;
	}
}

static void choose_path(void)
{
	enum cxlmu_wait_path p = g_want == CXLMU_WAIT_AUTO ? CXLMU_WAIT_FUTEX : g_want;

	if (p == CXLMU_WAIT_SYSCALL) {
		g_path = p;
		cxlmu_log_info("wait: poll waits use plain system calls (syscall path, as asked)");
		return;
	}
	g_caps = *cxlmu_ring_caps();
	if (g_caps.setup_err) {
		g_path = CXLMU_WAIT_SYSCALL;
		cxlmu_log_info("wait: io_uring is not available (%s); poll waits use plain "
			       "system calls (syscall path) with timer slack 1 ns",
			       strerrordesc_np(-g_caps.setup_err));
		return;
	}
	while (!path_offered(p))
		p++;
	g_path = p;
	if (g_want != CXLMU_WAIT_AUTO && p != g_want)
		cxlmu_log_info("wait: io_uring %s is not supported by this kernel; poll waits "
			       "use the %s path", path_names[g_want], path_names[p]);
	else
		cxlmu_log_info("wait: poll waits use the io_uring %s path", path_names[p]);
}

static void drop_ring(struct cxlmu_waiter *w)
{
	/* Wakers aim their messages at ring_fd: withdraw it first, then let a
	 * waker that read it before (it counts itself in inflight before it
	 * looks) finish, so that no message goes to the number once closed. */
	atomic_store(&w->ring_fd, -1);
	while (atomic_load(&w->inflight))
		cxlmu_prim_sched_yield();
	if (cxlmu_ring_fd(&w->ring) >= 0)
		fd_release(1);
	cxlmu_ring_exit(&w->ring);
}

static void drop_fds(struct cxlmu_waiter *w)
{
	/* Under a seccomp filter the descriptors stay: closing them (and
	 * liburing's unregistering) are calls the plain program never makes. */
	if (cxlmu_sandboxed())
		return;
	drop_ring(w);
	if (w->efd.fd >= 0) {
		cxlmu_prim_fd_close(&w->efd);
		fd_release(1);
	}
	if (w->efd_w.fd >= 0) {
		cxlmu_prim_fd_close(&w->efd_w);
		fd_release(1);
	}
}

static void efd_setup(struct cxlmu_waiter *w)
{
	if (atomic_load_explicit(&w->path, memory_order_relaxed) != CXLMU_WAIT_EVENTFD)
		return;
	if (fd_take(2) && cxlmu_prim_wake_pipe(&w->efd, &w->efd_w) < 0)
		fd_release(2);
	if (w->efd.fd < 0)
		atomic_store_explicit(&w->path, CXLMU_WAIT_SYSCALL, memory_order_relaxed);
}

static void thread_exit(void *arg)
{
	struct cxlmu_waiter *w = arg;

	retire(w);
	/* No waker may be between its state check and its system call on our
	 * descriptors when they close (see wake()), and no new thread may take
	 * the slot before they are closed. */
	atomic_store(&w->state, ST_EXITING);
	registry(w, false);
	while (atomic_load(&w->inflight))
		cxlmu_prim_sched_yield();
	drop_fds(w);
	self = NULL;
	atomic_store_explicit(&w->state, ST_FREE, memory_order_release);
}

static void global_init(void)
{
	struct rlimit rl;

	g_fd_budget = 1 << 20;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		g_fd_budget = (int)(rl.rlim_cur / 4);
	choose_path();
}

static void slot_setup(struct cxlmu_waiter *w)
{
	long slack = cxlmu_prim_timerslack();

	memset(&w->ring, 0, sizeof(w->ring));
	memset(&w->sites, 0, sizeof(w->sites));
	w->last_return = 0;
	w->last_end = END_NONE;
	w->hop = 0;
	w->used = false;
	w->slack_lowered = false;
	/* A poll returns no later than plain would: at the time asked plus the
	 * thread's slack, which is what the kernel's own sleep allows itself. */
	w->slack = slack > 0 ? (uint64_t)slack : 0;
	w->spin_ns = SPIN_INIT_NS;
	w->late_ns = 0;
	w->yield_credit = YIELD_CREDIT;
	atomic_store_explicit(&w->waker_cpu, -1, memory_order_relaxed);
	w->polls_left = 0;
	atomic_store_explicit(&w->ring_fd, -1, memory_order_relaxed);
	atomic_store_explicit(&w->path, g_path, memory_order_relaxed);
	w->efd = w->efd_w = CXLMU_FD_NONE;
	efd_setup(w);
}

static struct cxlmu_waiter *slot_get(void)
{
	if (likely(self))
		return self;
	cxlmu_prim_once(&g_once, global_init);
	for (unsigned i = 0; i < SLOTS; i++) {
		struct cxlmu_waiter *w = &slots[i];
		int free = ST_FREE;

		if (atomic_load_explicit(&w->state, memory_order_relaxed) != ST_FREE ||
		    !atomic_compare_exchange_strong(&w->state, &free, ST_RUNNING))
			continue;
		slot_setup(w);
		for (unsigned hi = atomic_load(&slots_hi); hi <= i;)
			atomic_compare_exchange_weak(&slots_hi, &hi, i + 1);
		self = w;
		if (g_key_ok)
			pthread_setspecific(g_key, w);
		return w;
	}
	return NULL;
}

void cxlmu_wait_init(const struct cxlmu_config *cfg)
{
	g_sched = cfg->sched;
	g_want = cfg->wait;
	g_path = CXLMU_WAIT_AUTO;
	/* Made now, early, so its index is low and setspecific never has to
	 * allocate the key's second-level block. */
	g_key_ok = !pthread_key_create(&g_key, thread_exit);
	cxlmu_wait_on = g_sched != CXLMU_SCHED_OFF;
}

int cxlmu_wait_sandbox(void)
{
	int was = cxlmu_wait_on;

	/* Sleeps go to libc from the next call on; a poll under way sleeps
	 * to its deadline as the plain call would (poll_wait). */
	cxlmu_wait_on = 0;
	return was;
}

void cxlmu_wait_unsandbox(int was)
{
	cxlmu_wait_on = was;
}

void cxlmu_wait_after_fork(void)
{
	unsigned hi = atomic_load(&slots_hi);

	/* Only the forking thread lives on. Every ring and eventfd, its own
	 * too, is shared with the parent: close our copies (the thread makes
	 * new ones); the counts of the other threads are history. */
	for (unsigned i = 0; i < hi; i++) {
		struct cxlmu_waiter *w = &slots[i];
		if (atomic_load_explicit(&w->state, memory_order_relaxed) == ST_FREE)
			continue;
		atomic_store_explicit(&w->inflight, 0, memory_order_relaxed);
		drop_fds(w);
		if (w == self) {
			atomic_store_explicit(&w->state, ST_RUNNING, memory_order_relaxed);
			w->ring.armed = false;
			efd_setup(w);
			continue;
		}
		retire(w);
		atomic_store_explicit(&w->state, ST_FREE, memory_order_relaxed);
	}
	for (unsigned i = 0; i < SLOTS / 64; i++)
		atomic_store_explicit(&waiting[i], 0, memory_order_relaxed);
}

/* ----------------------------------------------------------------------- */
/* Waking                                                                    */
/* ----------------------------------------------------------------------- */

static bool ring_ready(struct cxlmu_waiter *w)
{
	enum cxlmu_wait_path p = atomic_load_explicit(&w->path, memory_order_relaxed);

	if (w->ring.live || p == CXLMU_WAIT_SYSCALL)
		return w->ring.live;
	if (cxlmu_sandboxed())
		goto none;
	/* A ring on the msg_ring path keeps its descriptor (wakers aim at it);
	 * elsewhere it has none once registered. */
	if (p == CXLMU_WAIT_MSG_RING && !fd_take(1))
		goto none;
	if (cxlmu_ring_init(&w->ring, &g_caps, p)) {
		if (p == CXLMU_WAIT_MSG_RING)
			fd_release(1);
		goto none;
	}
	if (p != CXLMU_WAIT_MSG_RING && cxlmu_ring_fd(&w->ring) >= 0 && !fd_take(1)) {
		/* Registration failed, the descriptor stayed, over budget. */
		cxlmu_ring_exit(&w->ring);
		goto none;
	}
	atomic_store_explicit(&w->ring_fd, cxlmu_ring_fd(&w->ring), memory_order_release);
	return true;
none:
	/* No ring for this thread (descriptors or locked memory ran out): it
	 * waits with plain system calls instead. */
	atomic_store_explicit(&w->path, CXLMU_WAIT_SYSCALL, memory_order_relaxed);
	return false;
}

static bool wake(struct cxlmu_waiter *me, struct cxlmu_waiter *w, int hop)
{
	int st = atomic_load_explicit(&w->state, memory_order_acquire);
	int fd;

	/* Retried while the poller only moves from spinning to sleeping. What
	 * the poller reads after WOKEN is written before: a waker that then
	 * loses the race may overwrite it, which costs only accuracy. */
	do {
		if (st != ST_SPINNING && st != ST_SLEEPING)
			return false;
		atomic_store_explicit(&w->hop_in, hop, memory_order_relaxed);
		atomic_store_explicit(&w->waker_cpu, me->cpu_now, memory_order_relaxed);
		atomic_store_explicit(&w->woken_at, me->idle_at, memory_order_relaxed);
	} while (!atomic_compare_exchange_strong(&w->state, &st, ST_WOKEN));
	atomic_fetch_add_explicit(&w->word, 1, memory_order_release);
	if (st == ST_SPINNING)
		return true;
	/* The poller may wake by its deadline and exit before the system call
	 * below: its exit waits for inflight to drop before closing the
	 * descriptor we are about to use. The count goes up before the state
	 * is read again (both seq_cst, as in the exit path). */
	atomic_fetch_add(&w->inflight, 1);
	st = atomic_load(&w->state);
	if (st == ST_EXITING || st == ST_FREE) {
		atomic_fetch_sub(&w->inflight, 1);
		return true;
	}
	switch (atomic_load_explicit(&w->path, memory_order_relaxed)) {
	case CXLMU_WAIT_EVENTFD:
		cxlmu_prim_wake_pipe_signal(&w->efd_w);
		break;
	case CXLMU_WAIT_MSG_RING:
		fd = atomic_load_explicit(&w->ring_fd, memory_order_acquire);
		/* Not into a ring of the program's that took the number. */
		if (fd >= 0 && cxlmu_prim_fd_same(&w->ring.own) && ring_ready(me))
			cxlmu_ring_message(&me->ring, fd);
		break;
	default:
		/* The io_uring futex wait and the futex(2) fallback alike. */
		cxlmu_prim_futex_wake(&w->word, 1);
		break;
	}
	atomic_fetch_sub_explicit(&w->inflight, 1, memory_order_release);
	return true;
}

/* Wake up to WAKE_MAX waiting pollers (one when passing a wake-up on),
 * those on this CPU first: there the wake-up hands the CPU over as this
 * thread goes idle, elsewhere it costs an interrupt. */
static bool any_waiting(void)
{
	unsigned words = (atomic_load_explicit(&slots_hi, memory_order_relaxed) + 63) / 64;

	for (unsigned i = 0; i < words; i++)
		if (atomic_load_explicit(&waiting[i], memory_order_relaxed))
			return true;
	return false;
}

static void wake_pollers(struct cxlmu_waiter *me, int hop)
{
	unsigned words = (atomic_load_explicit(&slots_hi, memory_order_relaxed) + 63) / 64;
	unsigned max = hop ? 1 : WAKE_MAX, n = 0;
	uint64_t bits[SLOTS / 64];
	bool any = false;
	int cpu;

	for (unsigned i = 0; i < words; i++) {
		bits[i] = atomic_load_explicit(&waiting[i], memory_order_acquire);
		any |= bits[i] != 0;
	}
	if (!any)
		return;
	cpu = me->cpu_now = cxlmu_prim_getcpu();
	for (int pass = 0; pass < 2 && n < max; pass++) {
		for (unsigned i = 0; i < words && n < max; i++) {
			for (uint64_t b = bits[i]; b && n < max; b &= b - 1) {
				unsigned k = i * 64 + (unsigned)__builtin_ctzll(b);
				struct cxlmu_waiter *w = &slots[k];
				if (w == me)
					continue;
				if (pass == 0 && atomic_load_explicit(&w->cpu, memory_order_relaxed) != cpu)
					continue;
				if (wake(me, w, hop)) {
					bits[i] &= ~(1ull << (k % 64));
					n++;
				}
			}
		}
	}
	bump(&me->c.wakeups, n);
}

/* ----------------------------------------------------------------------- */
/* Idle points                                                               */
/* ----------------------------------------------------------------------- */

static void registry(struct cxlmu_waiter *w, bool on)
{
	size_t k = (size_t)(w - slots);
	uint64_t bit = 1ull << (k % 64);

	if (on)
		atomic_fetch_or_explicit(&waiting[k / 64], bit, memory_order_seq_cst);
	else
		atomic_fetch_and_explicit(&waiting[k / 64], ~bit, memory_order_relaxed);
}

/* A hook found hook_frame set but no deeper frame than the hook that set
 * it: that hook was left by siglongjmp from a signal handler. Undo what it
 * left behind. */
static void recover(void)
{
	struct cxlmu_waiter *w = self;

	hook_frame = 0;
	if (!w)
		return;
	atomic_store(&w->state, ST_RUNNING);
	registry(w, false);
}

bool cxlmu_wait_begin(struct cxlmu_idle *idle, enum cxlmu_idle_kind kind,
		      uint64_t ns, const void *site)
{
	uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
	struct cxlmu_waiter *w;
	uint64_t now;
	bool poll = false;

	idle->w = NULL;
	idle->site = NULL;
	idle->kind = kind;
	idle->asked = ns;
	idle->poll = false;
	/* A signal handler's sleep while this thread is inside the runtime's
	 * part of an idle point (its set-up, its registry, its ring with a
	 * submission half prepared) goes to libc, untracked. */
	if (hook_frame) {
		if (frame < hook_frame)
			return false;
		recover();
	}
	hook_frame = frame;
	w = slot_get();
	if (!w) {
		hook_frame = 0;
		return false;
	}
	idle->w = w;
	w->used = true;
	if (kind == CXLMU_IDLE_YIELD && !any_waiting()) {
		/* Nobody to wake: a yield costs a count. Its time is unknown, so
		 * the next idle point counts as after progress (a wake-up then
		 * costs a look at the registry). */
		bump(&w->c.yields, 1);
		w->last_return = 0;
		hook_frame = 0;
		idle->w = NULL;
		return false;
	}
	now = cxlmu_prim_now();
	idle->start = w->idle_at = now;
	if (kind == CXLMU_IDLE_YIELD) {
		bump(&w->c.yields, 1);
	} else {
		bump(&w->c.sleeps, 1);
		bump(&w->c.asked_ns, ns);
		if (kind == CXLMU_IDLE_SLEEP) {
			struct cxlmu_poll_site *s = cxlmu_poll_classify(&w->sites, (uintptr_t)site, ns);
			idle->site = s;
			poll = s->poll;
			if (poll)
				cxlmu_sched_polled();
		} else {
			cxlmu_poll_break(&w->sites);
		}
	}
	if (poll) {
		/* Waiting starts before the wake-ups go out: on one CPU the
		 * thread woken takes the CPU at once, and when it makes progress
		 * before this thread gets it back, it must find this one
		 * registered. The word is read before the state says we wait: a
		 * waker that sees the state bumps it after, and a futex wait on
		 * the old value then fails at once. */
		idle->val = atomic_load_explicit(&w->word, memory_order_acquire);
		atomic_store_explicit(&w->cpu, cxlmu_prim_getcpu(), memory_order_relaxed);
		atomic_store_explicit(&w->state, ST_SPINNING, memory_order_seq_cst);
		registry(w, true);
	}
	/* Progress: real work since the previous idle point (or none before),
	 * or a wake-up just received and passed on, within the hop bound. */
	if (!w->last_return || now - w->last_return >= CXLMU_WORK_NS)
		wake_pollers(w, 0);
	else if (w->last_end == END_WOKEN && w->hop + 1 < HOP_MAX)
		wake_pollers(w, w->hop + 1);
	idle->poll = poll;
	/* libc's own sleep runs outside: a handler may sleep in it. */
	if (!poll)
		hook_frame = 0;
	return poll;
}

/* Spin while a wake-up is likely to come soon from another CPU: cheaper
 * than an interrupt and a wake from idle there. Returns true when woken. */
static bool spin(struct cxlmu_waiter *w, uint64_t until)
{
	for (;;) {
		for (int i = 0; i < 64; i++) {
			if (atomic_load_explicit(&w->state, memory_order_acquire) != ST_SPINNING)
				return true;
			__builtin_ia32_pause();
		}
		if (cxlmu_prim_now() >= until)
			return false;
	}
}

/* Wait on the thread's channel; 1 woken, 0 deadline, -EINTR. */
static int channel_wait_once(struct cxlmu_waiter *w, uint32_t val, uint64_t deadline)
{
	int r;

	if (ring_ready(w)) {
		enum cxlmu_wait_path p = atomic_load_explicit(&w->path, memory_order_relaxed);
		/* The program closed or reused the wake-up pipe's number: a
		 * read armed on it would read the program's file. An armed
		 * read holds its file already: checked only before arming. */
		if (p == CXLMU_WAIT_EVENTFD && !w->ring.armed && !cxlmu_prim_fd_still(&w->efd)) {
			fd_release(1);   /* forgotten: it counts no more */
			r = -EBADF;
		} else {
			r = cxlmu_ring_wait(&w->ring, p, &w->word, val, w->efd.fd, deadline);
		}
		if (r >= 0 || r == -EINTR)
			return r;
		/* The ring failed under us: this thread goes on without it. */
		drop_ring(w);
		atomic_store_explicit(&w->path, CXLMU_WAIT_SYSCALL, memory_order_relaxed);
	}
	if (!w->slack_lowered) {
		/* The fallback sleeps on a kernel timer: no slack beyond ours. */
		cxlmu_prim_set_timerslack(1);
		w->slack_lowered = true;
	}
	r = cxlmu_prim_futex_wait(&w->word, val, deadline);
	if (r == -ETIMEDOUT)
		return 0;
	if (r == -EINTR)
		return r;
	return atomic_load_explicit(&w->word, memory_order_relaxed) != val ? 1 : 0;
}

static int channel_wait(struct cxlmu_waiter *w, uint32_t val, uint64_t deadline)
{
	for (;;) {
		int r = channel_wait_once(w, val, deadline);
		/* A wake-up meant for an earlier poll (it came after that one
		 * had timed out) leaves this poll SLEEPING: wait on, on the
		 * word as it is now. */
		if (r != 1 || atomic_load_explicit(&w->state, memory_order_acquire) != ST_SLEEPING)
			return r;
		if (cxlmu_prim_now() >= deadline)
			return 0;
		val = atomic_load_explicit(&w->word, memory_order_acquire);
	}
}

/* Yield to the threads that share this CPU: the waker, if it is here,
 * gets the CPU at once and hands it back with the wake-up, with no timer
 * and no system call on either side beyond the yields. Returns 1 woken;
 * 2 not woken but another thread ran meanwhile (the poll ends, so that the
 * program re-checks what it waits for, as a sched_yield loop would); 0
 * nobody else wanted the CPU (the poll sleeps). */
static int yield_wait(struct cxlmu_waiter *w)
{
	for (int alone = 0; alone < YIELD_ALONE_TRIES; alone++) {
		uint64_t t = cxlmu_prim_now();
		cxlmu_prim_sched_yield();
		if (atomic_load_explicit(&w->state, memory_order_acquire) != ST_SPINNING)
			return 1;
		/* The scheduler may pick the yielding thread again while the
		 * one it just woke is not yet eligible: a few tries. */
		if (cxlmu_prim_now() - t >= YIELD_ALONE_NS)
			return 2;
	}
	return 0;
}

/* When a poll gives up waiting for a wake-up. Never before the time asked;
 * otherwise when libc's own sleep returned from this site (measured on its
 * first, exact sleeps), less our own lateness past a deadline: a poll
 * nobody wakes comes back as often as the plain program's does, no more.
 * One that has come back empty IDLE_STREAK times in a row waits IDLE_NUM/
 * IDLE_DEN of that, so idle pollers cost less CPU than plain ones. And
 * where wake-ups have been coming, later: the poll rule's stretch. */
static uint64_t poll_deadline(struct cxlmu_waiter *w, struct cxlmu_poll_site *s,
			      struct cxlmu_idle *idle)
{
	uint64_t target = s->plain_ns ? s->plain_ns : idle->asked + w->slack + w->late_ns;
	uint64_t period, at;

	if (s->timeouts >= IDLE_STREAK)
		target = target * IDLE_NUM / IDLE_DEN;
	period = target > w->late_ns ? target - w->late_ns : 0;
	at = idle->start + (period > idle->asked ? period : idle->asked);
	return cxlmu_poll_stretch(s, idle->start, at, CXLMU_POLL_STRETCH_MAX_NS);
}

int cxlmu_wait_poll(struct cxlmu_idle *idle, uint64_t *left)
{
	struct cxlmu_waiter *w = idle->w;
	struct cxlmu_poll_site *site = idle->site;
	uint64_t due = idle->start + idle->asked;
	uint64_t deadline;
	uint64_t t0, t1;
	int st, r = 0, y = 0;
	bool woken = false, here, sandboxed;

	bump(&w->c.polls, 1);
	cxlmu_poll_begin(site, idle->start);
	deadline = poll_deadline(w, site, idle);
	/* A filter went in meanwhile (another thread's, with TSYNC): only
	 * the sleep the plain call would have made, to the same deadline. */
	sandboxed = cxlmu_sandboxed();
	if (!sandboxed && !w->polls_left--) {
		int n = cxlmu_prim_cpus_allowed();
		w->multi_cpu = n > 1;
		w->polls_left = AFFINITY_EVERY;
	}
	/* Where the last wake-up came from says how to wait for the next:
	 * spin for one from another CPU, yield for one from this CPU. Both
	 * only while wake-ups keep coming; a poll that timed out sleeps. */
	here = atomic_load_explicit(&w->waker_cpu, memory_order_relaxed) ==
		atomic_load_explicit(&w->cpu, memory_order_relaxed);
	/* Not idle->start: the wake-ups sent since (system calls) must not
	 * eat into the spin. */
	t0 = cxlmu_prim_now();
	if (!sandboxed && w->multi_cpu && w->spin_ns && !here)
		woken = spin(w, t0 + w->spin_ns < deadline ? t0 + w->spin_ns : deadline);
	if (!sandboxed && !woken && w->yield_credit && here)
		y = yield_wait(w);
	st = ST_SPINNING;
	if (!woken && !y && atomic_compare_exchange_strong(&w->state, &st, ST_SLEEPING))
		r = sandboxed ? cxlmu_prim_sleep_until(deadline) : channel_wait(w, idle->val, deadline);
	st = atomic_exchange_explicit(&w->state, ST_RUNNING, memory_order_acq_rel);
	registry(w, false);
	woken = st == ST_WOKEN;
	t1 = cxlmu_prim_now();

	/* Spin next time about twice as long as a wake-up from another CPU
	 * took to be sent (by the waker's clock: how long we slept after it
	 * does not count), when that is short; halve it when none came. */
	if (woken && atomic_load_explicit(&w->waker_cpu, memory_order_relaxed) ==
	    atomic_load_explicit(&w->cpu, memory_order_relaxed)) {
		/* From this CPU: spinning would not have helped. */
	} else if (woken) {
		uint64_t at = atomic_load_explicit(&w->woken_at, memory_order_relaxed);
		uint64_t took = at > t0 ? at - t0 : 0;
		if (took <= SPIN_MAX_NS) {
			uint64_t want = 2 * took + 1000;
			w->spin_ns = (3 * w->spin_ns + (want < SPIN_MAX_NS ? want : SPIN_MAX_NS)) / 4;
		} else {
			w->spin_ns /= 2;
		}
	} else {
		w->spin_ns /= 2;
	}
	/* Yielding goes on while it brings wake-ups; a poll that yields and
	 * comes back empty uses up credit, so pollers that only yield to each
	 * other soon sleep instead. */
	if (woken)
		w->yield_credit = YIELD_CREDIT;
	else if (w->yield_credit)
		w->yield_credit--;
	if (y == 2 && !woken) {
		/* Returned to re-check, not timed out: no trace in the site. */
		w->last_end = END_OTHER;
		w->hop = 0;
		return 0;
	}
	if (!woken && t1 >= deadline) {
		/* One preemption must not make every later poll short. */
		uint64_t late = t1 - deadline < w->slack ? t1 - deadline : w->slack;
		w->late_ns = w->late_ns ? (7 * w->late_ns + late) / 8 : late;
	}
	cxlmu_poll_end(site, woken, t1);
	if (woken) {
		bump(&w->c.early, 1);
		w->hop = (uint8_t)atomic_load_explicit(&w->hop_in, memory_order_relaxed);
	} else {
		w->hop = 0;
	}
	w->last_end = woken ? END_WOKEN : END_TIMEOUT;
	if (r == -EINTR && !woken) {
		*left = due > t1 ? due - t1 : 0;
		w->last_end = END_OTHER;
		return -EINTR;
	}
	return 0;
}

void cxlmu_wait_end(struct cxlmu_idle *idle)
{
	struct cxlmu_waiter *w = idle->w;
	uint64_t now;

	if (!w)
		return;
	now = cxlmu_prim_now();
	if (!idle->poll) {
		w->last_end = END_OTHER;
		w->hop = 0;
	}
	if (idle->kind != CXLMU_IDLE_YIELD)
		bump(&w->c.slept_ns, now - idle->start);
	if (!idle->poll && idle->site && idle->asked <= CXLMU_POLL_MAX_NS &&
	    now - idle->start >= idle->asked) {
		/* An exact short sleep at a site that may become a poll: how long
		 * libc took, for the poll's deadline. A preemption must not make
		 * later polls long: at most the timer slack twice and 100 us. */
		uint64_t took = now - idle->start;
		uint64_t most = idle->asked + 2 * w->slack + 100000;
		cxlmu_poll_plain(idle->site, took < most ? took : most);
	}
	w->last_return = now;
	if (idle->poll)
		hook_frame = 0;
}

/* ----------------------------------------------------------------------- */
/* Report                                                                    */
/* ----------------------------------------------------------------------- */

static void add_counters(struct cxlmu_wait_totals *out, const struct counters *c)
{
	out->sleeps += atomic_load_explicit(&c->sleeps, memory_order_relaxed);
	out->yields += atomic_load_explicit(&c->yields, memory_order_relaxed);
	out->polls += atomic_load_explicit(&c->polls, memory_order_relaxed);
	out->early += atomic_load_explicit(&c->early, memory_order_relaxed);
	out->wakeups += atomic_load_explicit(&c->wakeups, memory_order_relaxed);
	out->asked_ns += atomic_load_explicit(&c->asked_ns, memory_order_relaxed);
	out->slept_ns += atomic_load_explicit(&c->slept_ns, memory_order_relaxed);
}

void cxlmu_wait_totals(struct cxlmu_wait_totals *out)
{
	unsigned hi = atomic_load(&slots_hi);

	memset(out, 0, sizeof(*out));
	add_counters(out, &retired);
	out->threads = atomic_load_explicit(&retired_threads, memory_order_relaxed);
	for (unsigned i = 0; i < hi; i++) {
		if (atomic_load_explicit(&slots[i].state, memory_order_acquire) == ST_FREE)
			continue;
		add_counters(out, &slots[i].c);
		out->threads += slots[i].used;
	}
}

const char *cxlmu_wait_path_name(void)
{
	return g_path == CXLMU_WAIT_AUTO ? "none" : path_names[g_path];
}

const char *cxlmu_wait_sched_name(void)
{
	static const char *const names[] = {
		[CXLMU_SCHED_OFF] = "off", [CXLMU_SCHED_THREADS] = "threads",
		[CXLMU_SCHED_AUTO] = "auto", [CXLMU_SCHED_FIBERS] = "fibers",
	};

	return names[g_sched];
}
