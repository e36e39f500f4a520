/* Remote calls: agents, their request queues, the callers' waits, and the SPECs of
 * --remote (src/remote.h).
 *
 * A request lives on its caller's stack (a trampoline call) or in the
 * API's handle. Its state word goes from 0 to DONE once; a caller that is
 * about to wait first sets WAIT_FIBER or WAIT_KERNEL in it, and the agent
 * completes with one exchange, so exactly one of them sees the other:
 *
 *	caller				agent
 *	old = fetch_or(state, WAIT)	old = exchange(state, DONE)
 *	old & DONE: done, no wait	old & WAIT: wake, then released = 1
 *
 * A caller that registered waits for released before its request goes
 * away: the agent's last touch (the wake-up, keyed by the request's
 * address) is then over, and no wake-up can reach a later wait on the
 * same stack address. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "got.h"
#include "heap.h"
#include "log.h"
#include "prim.h"
#include "remote.h"
#include "remote_x86_64.h"
#include "sandbox.h"
#include "ring.h"
#include "sched_wait.h"
#include "scheduler.h"
#include "abicheck.h"

#define QUEUE_CELLS  256            /* requests queued per agent */
#define AGENT_SPIN_NS 50000u        /* an idle agent looks this long before it sleeps */
/* A caller looks this long before it waits: a fiber with nothing else to
 * run on its core, longer; a kernel thread, which may share its core with
 * threads the kernel would run meanwhile, briefly. */
#define FIBER_SPIN_NS 30000u
#define KERNEL_SPIN_NS 5000u

enum { DONE = 1, WAIT_FIBER = 2, WAIT_KERNEL = 4 };

struct slot;

struct req {
	_Atomic uint32_t state;
	_Atomic uint32_t released;
	void *fn;
	struct cxlmu_remote_regs *regs;
	struct slot *slot;               /* NULL: an API call */
	int err;                         /* errno: the caller's in, the function's out */
	uint64_t t_submit;
};

struct cell {
	_Atomic uint64_t seq;
	struct req *req;
};

struct agent {
	/* Producers' line. */
	alignas(64) _Atomic uint64_t tail;
	/* The agent's. */
	alignas(64) uint64_t head;
	_Atomic uint32_t bell;           /* bumped to wake a sleeping agent */
	_Atomic uint32_t asleep;
	_Atomic int state;               /* 0 not started, 1 starting, 2 running, -1 failed */
	pid_t tid;
	int node;                        /* its CXL node, -1 on a machine without one */
	bool pinned;
	cpu_set_t cpus;
	/* Counters. */
	alignas(64) _Atomic uint64_t inflight, inflight_max, busy_start, busy_ns;
	_Atomic uint64_t calls, flight_ns, agent_ns, wait_ns, idle_ns;
	struct cell cells[QUEUE_CELLS];
};

struct spec {
	char lib[PATH_MAX];
	char sym[256];
};

struct slot {
	void *target;
	unsigned spec;
	bool refused;
	char name[256];
	_Atomic uint64_t calls, local, agent_ns, wait_ns, switched;
};

void *cxlmu_remote_real_dlsym;
void *cxlmu_remote_real_dlvsym;

static struct spec specs[CXLMU_REMOTE_MAX];
static unsigned nspecs;
static struct slot slots[CXLMU_REMOTE_MAX];
static _Atomic unsigned nslots;
static _Atomic int slots_lock;
static bool slots_full_said;

static struct agent agents[CXLMU_MAX_NODES];
static unsigned nagents;

static CXLMU_TLS bool on_agent;

/* A kernel thread's own io_uring for its waits. */
static CXLMU_TLS struct cxlmu_ring kring;
static CXLMU_TLS int kring_state;      /* 0 untried, 1 live, -1 none */
static pthread_key_t kring_key;
static bool kring_key_ok;

/* ----------------------------------------------------------------------- */
/* The request queue: bounded, many producers, one consumer                 */
/* ----------------------------------------------------------------------- */

static void queue_reset(struct agent *a)
{
	atomic_store_explicit(&a->tail, 0, memory_order_relaxed);
	a->head = 0;
	for (uint64_t i = 0; i < QUEUE_CELLS; i++)
		atomic_store_explicit(&a->cells[i].seq, i, memory_order_relaxed);
}

static bool queue_push(struct agent *a, struct req *r)
{
	uint64_t pos = atomic_load_explicit(&a->tail, memory_order_relaxed);

	for (;;) {
		struct cell *c = &a->cells[pos % QUEUE_CELLS];
		uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - pos);

		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&a->tail, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				c->req = r;
				atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
				return true;
			}
		} else if (dif < 0) {
			return false;            /* full */
		} else {
			pos = atomic_load_explicit(&a->tail, memory_order_relaxed);
		}
	}
}

static struct req *queue_pop(struct agent *a)
{
	struct cell *c = &a->cells[a->head % QUEUE_CELLS];
	struct req *r;

	if (atomic_load_explicit(&c->seq, memory_order_acquire) != a->head + 1)
		return NULL;
	r = c->req;
	atomic_store_explicit(&c->seq, a->head + QUEUE_CELLS, memory_order_release);
	a->head++;
	return r;
}

static bool queue_empty(struct agent *a)
{
	struct cell *c = &a->cells[a->head % QUEUE_CELLS];

	return atomic_load_explicit(&c->seq, memory_order_acquire) != a->head + 1;
}

/* ----------------------------------------------------------------------- */
/* Agents                                                                    */
/* ----------------------------------------------------------------------- */

static void max_store(_Atomic uint64_t *m, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(m, memory_order_relaxed);

	while (v > cur && !atomic_compare_exchange_weak_explicit(m, &cur, v, memory_order_relaxed,
								  memory_order_relaxed))
		;
}

static void complete(struct agent *a, struct req *r, uint64_t start, uint64_t end)
{
	uint32_t old;

	atomic_fetch_add_explicit(&a->agent_ns, end - start, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->flight_ns, end - r->t_submit, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->calls, 1, memory_order_relaxed);
	if (r->slot) {
		atomic_fetch_add_explicit(&r->slot->calls, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&r->slot->agent_ns, end - start, memory_order_relaxed);
	}
	if (atomic_fetch_sub_explicit(&a->inflight, 1, memory_order_relaxed) == 1) {
		/* A caller may have begun a new busy spell meanwhile (its
		 * start after end): then this one's end is lost, not negative. */
		uint64_t bs = atomic_load_explicit(&a->busy_start, memory_order_relaxed);
		if (end > bs)
			atomic_fetch_add_explicit(&a->busy_ns, end - bs, memory_order_relaxed);
	}
	old = atomic_exchange_explicit(&r->state, DONE, memory_order_acq_rel);
	if (!(old & (WAIT_FIBER | WAIT_KERNEL)))
		return;                  /* r may be gone already */
	if (old & WAIT_FIBER)
		cxlmu_sched_unpark(r, 1);
	if (old & WAIT_KERNEL)
		cxlmu_prim_futex_wake(&r->state, 1);
	atomic_store_explicit(&r->released, 1, memory_order_release);
}

static void *agent_main(void *arg)
{
	struct agent *a = arg;
	uint64_t idle_since = 0;
	int err;

	on_agent = true;
	a->tid = (pid_t)cxlmu_prim_raw(SYS_gettid, 0, 0, 0, 0, 0, 0);
	cxlmu_prim_set_thread_name("cxlmu-agent");
	/* The raw call: the exported sched_setaffinity would place a thread
	 * of the program's, which an agent is not. */
	if (a->pinned && (err = (int)cxlmu_prim_raw(SYS_sched_setaffinity, 0, sizeof(a->cpus),
						    (long)&a->cpus, 0, 0, 0)))
		cxlmu_log_warn("cannot pin the remote agent to its CPUs (%s); it runs anywhere",
			       strerrordesc_np(-err));
	atomic_store_explicit(&a->state, 2, memory_order_release);
	for (;;) {
		struct req *r = queue_pop(a);
		uint64_t start, end;
		uint32_t bell;

		if (r) {
			idle_since = 0;
			start = cxlmu_prim_now();
			errno = r->err;
			cxlmu_remote_invoke(r->fn, r->regs);
			r->err = errno;
			end = cxlmu_prim_now();
			complete(a, r, start, end);
			continue;
		}
		if (!idle_since) {
			idle_since = cxlmu_prim_now();
			continue;
		}
		if (cxlmu_prim_now() - idle_since < AGENT_SPIN_NS) {
			for (int i = 0; i < 16; i++)
				__builtin_ia32_pause();
			continue;
		}
		/* Asleep, then a last look: a producer that pushed before it
		 * saw asleep set is seen here (both sides fence). */
		bell = atomic_load_explicit(&a->bell, memory_order_acquire);
		atomic_store_explicit(&a->asleep, 1, memory_order_seq_cst);
		if (queue_empty(a))
			cxlmu_prim_futex_wait(&a->bell, bell, 0);
		atomic_store_explicit(&a->asleep, 0, memory_order_relaxed);
		idle_since = 0;
	}
	return NULL;
}

/* The agent, running; NULL when none can be (the call runs locally). */
static struct agent *agent_get(int node)
{
	struct agent *a = NULL;
	int st, expect = 0;

	/* Under a seccomp filter the call runs in the caller, under it, not
	 * on an agent thread the filter is not on. */
	if (!nagents || cxlmu_sandboxed())
		return NULL;
	if (node < 0) {
		a = &agents[0];
	} else {
		for (unsigned i = 0; i < nagents; i++)
			if (agents[i].node == node)
				a = &agents[i];
		if (!a)
			return NULL;
	}
	st = atomic_load_explicit(&a->state, memory_order_acquire);
	if (likely(st == 2))
		return a;
	if (st == -1)
		return NULL;
	if (atomic_compare_exchange_strong(&a->state, &expect, 1)) {
		int r;
		/* The queue is made here, not at start-up: its cells are
		 * pages that a program without remote calls never needs. */
		queue_reset(a);
		r = cxlmu_sched_spawn(agent_main, a, 0);
		if (r) {
			cxlmu_log_warn("cannot start a remote agent (%s); remote functions run on "
				       "their callers", strerrordesc_np(-r));
			atomic_store(&a->state, -1);
			return NULL;
		}
	}
	/* Started by us or another caller: it runs at once. */
	while ((st = atomic_load_explicit(&a->state, memory_order_acquire)) == 1)
		cxlmu_prim_sched_yield();
	return st == 2 ? a : NULL;
}

static void submit(struct agent *a, struct req *r)
{
	unsigned spins = 0;
	uint64_t n;

	r->t_submit = cxlmu_prim_now();
	n = atomic_fetch_add_explicit(&a->inflight, 1, memory_order_relaxed) + 1;
	if (n == 1)
		atomic_store_explicit(&a->busy_start, r->t_submit, memory_order_relaxed);
	max_store(&a->inflight_max, n);
	while (!queue_push(a, r)) {
		/* Full: let the agent and the other fibers get on. */
		if (cxlmu_sched_fiber())
			cxlmu_sched_yield();
		else
			cxlmu_prim_relax(&spins);
	}
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&a->asleep, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&a->bell, 1, memory_order_release);
		cxlmu_prim_futex_wake(&a->bell, 1);
	}
}

/* ----------------------------------------------------------------------- */
/* Waiting                                                                   */
/* ----------------------------------------------------------------------- */

static void kring_exit(void *arg)
{
	cxlmu_ring_exit(&kring);
	kring_state = 0;
}

static bool kring_ready(void)
{
	const struct cxlmu_ring_caps *caps;

	if (likely(kring_state))
		return kring_state > 0;
	kring_state = -1;
	caps = cxlmu_ring_caps();
	if (!caps->setup_err && caps->futex && !cxlmu_ring_init(&kring, caps, CXLMU_WAIT_FUTEX)) {
		kring_state = 1;
		if (kring_key_ok)
			pthread_setspecific(kring_key, &kring);
	}
	return kring_state > 0;
}

static CXLMU_TLS bool kring_busy;

/* A kernel thread waits while *word == val: in its io_uring (futex wait),
 * or with futex(2) where the kernel has no futex opcodes, and in a signal
 * handler that interrupted a wait of its own thread. 0 or -ETIMEDOUT. */
static int kernel_wait(_Atomic uint32_t *word, uint32_t val, uint64_t deadline)
{
	int r;

	if (!kring_busy && kring_ready()) {
		kring_busy = true;
		r = cxlmu_ring_wait_once(&kring, word, val, deadline);
		kring_busy = false;
		if (r >= 0)
			return r ? 0 : -ETIMEDOUT;
		/* The io_uring failed under us: its exit cancels what it held. */
		cxlmu_ring_exit(&kring);
		kring_state = -1;
	}
	r = cxlmu_prim_futex_wait(word, val, deadline);
	return r == -ETIMEDOUT ? r : 0;
}

static bool pending(void *arg)
{
	struct req *r = arg;

	return !(atomic_load_explicit(&r->state, memory_order_acquire) & DONE);
}

/* Until the request is done. True when a fiber switched away meanwhile;
 * *idle: how long the caller waited with its core given to nobody (a
 * kernel thread's whole wait, a fiber's look before it switched). */
static bool wait_done(struct req *r, uint64_t *idle)
{
	uint64_t t0 = cxlmu_prim_now();
	struct cxlmu_uthread *f = cxlmu_sched_fiber();
	uint64_t until = 0;
	uint32_t old, v;
	unsigned spins = 0;
	bool switched = false;

	/* A round trip to a spinning agent takes a microsecond or two: look
	 * for that long while nothing else could use the core. */
	for (;;) {
		for (int i = 0; i < 32; i++) {
			if (!pending(r)) {
				*idle = cxlmu_prim_now() - t0;
				return false;
			}
			__builtin_ia32_pause();
		}
		if (f && cxlmu_sched_others_ready())
			break;
		if (!until)
			until = cxlmu_prim_now() + (f ? FIBER_SPIN_NS : KERNEL_SPIN_NS);
		else if (cxlmu_prim_now() >= until)
			break;
	}
	old = atomic_fetch_or_explicit(&r->state, f ? WAIT_FIBER : WAIT_KERNEL, memory_order_acq_rel);
	*idle = cxlmu_prim_now() - t0;
	if (old & DONE)
		return false;
	if (f)
		cxlmu_sched_expect(1);
	while (pending(r)) {
		if (f) {
			switched = true;
			if (!cxlmu_sched_park(r, pending, r, 0) && pending(r))
				cxlmu_sched_yield();   /* a cancellation: not ours to act on */
		} else {
			v = atomic_load_explicit(&r->state, memory_order_acquire);
			if (!(v & DONE))
				kernel_wait(&r->state, v, 0);
		}
	}
	if (f)
		cxlmu_sched_expect(-1);
	while (!atomic_load_explicit(&r->released, memory_order_acquire))
		cxlmu_prim_relax(&spins);
	if (!f)
		*idle = cxlmu_prim_now() - t0;
	return switched;
}

/* Until r, sent to a, is done; the callers' side of the counters. */
static void await_counted(struct agent *a, struct req *r)
{
	uint64_t t, idle = 0;
	bool sw = wait_done(r, &idle);

	t = cxlmu_prim_now() - r->t_submit;
	atomic_fetch_add_explicit(&a->wait_ns, t, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->idle_ns, idle, memory_order_relaxed);
	if (r->slot) {
		atomic_fetch_add_explicit(&r->slot->wait_ns, t, memory_order_relaxed);
		if (sw)
			atomic_fetch_add_explicit(&r->slot->switched, 1, memory_order_relaxed);
	}
}

/* From the trampolines. */
void cxlmu_remote_enter(unsigned idx, struct cxlmu_remote_regs *regs)
{
	struct slot *s = &slots[idx];
	int err = errno;
	struct agent *a;
	struct req r;

	if (on_agent || !(a = agent_get(-1))) {
		atomic_fetch_add_explicit(&s->local, 1, memory_order_relaxed);
		errno = err;
		cxlmu_remote_invoke(s->target, regs);
		return;
	}
	r = (struct req){ .fn = s->target, .regs = regs, .slot = s, .err = err };
	submit(a, &r);
	await_counted(a, &r);
	errno = r.err;
}

/* ----------------------------------------------------------------------- */
/* The explicit API                                                          */
/* ----------------------------------------------------------------------- */

struct cxlmu_call {
	struct cxlmu_remote_regs regs;
	struct req r;
	struct agent *a;                 /* NULL: run on the submitter */
	unsigned gen;                    /* fork generation it was sent in */
};

/* Bumped in every forked child: a call sent before the fork is the
 * parent's agent's, and never completes in the child. */
static unsigned fork_gen;

/* A call that no agent will run: run it here, now. */
static void run_here(struct cxlmu_call *c)
{
	errno = c->r.err;
	cxlmu_remote_invoke(c->r.fn, c->r.regs);
	c->r.err = errno;
	atomic_store_explicit(&c->r.state, DONE, memory_order_release);
}

struct cxlmu_call *cxlmu_remote_call_submit(void *(*fn)(void *), void *arg, int node)
{
	struct cxlmu_call *c;
	struct agent *a = NULL;
	bool known = node == -1;
	int err = errno;

	for (unsigned i = 0; i < nagents && !known; i++)
		known = agents[i].node == node;
	if (!fn || node < -1 || !nagents || !known) {
		errno = EINVAL;
		return NULL;
	}
	/* On an agent (fn submitted from a remote function) the call runs
	 * at once: waiting for an agent from an agent could wait for itself. */
	if (!on_agent && !(a = agent_get(node))) {
		errno = EAGAIN;
		return NULL;
	}
	/* The runtime's own heap, not the exported aligned_alloc: */
	if (!(c = cxlmu_heap_alloc(sizeof(*c), 64, true, NULL))) {
		errno = ENOMEM;
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->regs.gpr[0] = (uint64_t)(uintptr_t)arg;
	c->r.fn = (void *)fn;
	c->r.regs = &c->regs;
	c->r.err = err;
	c->a = a;
	c->gen = fork_gen;
	if (a) {
		submit(a, &c->r);
	} else {
		run_here(c);
		errno = err;
	}
	return c;
}

int cxlmu_remote_call_await(struct cxlmu_call *c, void **result)
{
	int err;

	if (!c)
		return -EINVAL;
	if (c->gen != fork_gen && pending(&c->r)) {
		/* Sent in the parent before a fork: the child runs it itself. */
		c->a = NULL;
		run_here(c);
	}
	if (c->a)
		await_counted(c->a, &c->r);
	if (result)
		*result = (void *)(uintptr_t)c->regs.ret_rax;
	err = c->r.err;
	cxlmu_heap_free(c);
	errno = err;
	return 0;
}

int cxlmu_remote_wait_word(_Atomic uint32_t *word, uint32_t val, uint64_t deadline)
{
	int r;

	if (cxlmu_sched_fiber()) {
		r = cxlmu_sched_futex_wait((void *)word, val, false, deadline);
		return r == -ETIMEDOUT ? r : 0;
	}
	if (atomic_load_explicit(word, memory_order_acquire) != val)
		return 0;
	return kernel_wait(word, val, deadline);
}

int cxlmu_remote_wake_word(_Atomic uint32_t *word, int n)
{
	/* Fibers whose host watches words with futex_waitv first: they are
	 * in no kernel wait while their host runs others. */
	int k = (int)cxlmu_sched_wake_word((const void *)word, (unsigned)n);
	int r = k < n ? cxlmu_prim_futex_wake(word, n - k) : 0;

	return k + (r < 0 ? 0 : r);
}

/* ----------------------------------------------------------------------- */
/* SPECs, slots, and the GOT                                                 */
/* ----------------------------------------------------------------------- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* LIBRARY as the SPEC gives it against the file a definition is in. */
static bool lib_matches(const char *lib, const char *path)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *bn = base_name(path);
	size_t n = strlen(lib);

	if (strchr(lib, '/'))
		return !strcmp(lib, path) ||
		       (realpath(lib, a) && realpath(path, b) && !strcmp(a, b));
	return !strcmp(bn, lib) || (!strncmp(bn, lib, n) && !strncmp(bn + n, ".so", 3));
}

static void *tramp(const struct slot *s)
{
	return cxlmu_remote_tramps + 16 * (s - slots);
}

static bool is_ours(const void *p)
{
	return ((const char *)p >= cxlmu_remote_tramps &&
		(const char *)p < cxlmu_remote_tramps + 16 * CXLMU_REMOTE_MAX) ||
	       p == (void *)cxlmu_remote_dlsym_hook || p == (void *)cxlmu_remote_dlvsym_hook;
}

static struct slot *slot_find(const void *target)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_acquire);

	for (unsigned i = 0; i < n; i++)
		if (slots[i].target == target)
			return &slots[i];
	return NULL;
}

/* The verdict on target, read outside every lock: the checks call into
 * ld.so (dladdr, capstone's dlopen), whose lock may be held by a thread
 * that is on its way into ours (a constructor calling dlsym). */
static enum cxlmu_abicheck verdict(void *target, const char **file, char *why, size_t whysize)
{
	static Dl_info self;
	const ElfW(Sym) *sym = NULL;
	Dl_info di;

	if (!self.dli_fbase)
		dladdr((void *)cxlmu_remote_init, &self);
	*file = "";
	if (!dladdr1(target, &di, (void **)&sym, RTLD_DL_SYMENT)) {
		snprintf(why, whysize, "no loaded module holds it");
		return CXLMU_ABI_UNCHECKED;
	}
	*file = di.dli_fname ? di.dli_fname : "";
	if (di.dli_fbase == self.dli_fbase) {
		snprintf(why, whysize, "cxlmu interposes it itself");
		return CXLMU_ABI_UNCHECKED;
	}
	if (!sym || (uintptr_t)di.dli_fbase + sym->st_value != (uintptr_t)target ||
	    ELF64_ST_TYPE(sym->st_info) == STT_GNU_IFUNC) {
		/* dladdr names the nearest exported symbol: not this one. */
		snprintf(why, whysize, "its address %p is not an exported function's own", target);
		return CXLMU_ABI_UNCHECKED;
	}
	return cxlmu_abicheck(target, sym->st_size, why, whysize);
}

/* The slot for spec's definition at target, made (and the function
 * checked) the first time; NULL when refused or no slot is left. */
static struct slot *slot_for(unsigned spec, void *target)
{
	struct slot *s = slot_find(target);
	enum cxlmu_abicheck v;
	const char *file;
	char why[256] = "";
	unsigned n;

	if (s)
		return s->refused ? NULL : s;
	v = verdict(target, &file, why, sizeof(why));
	cxlmu_prim_spin_lock(&slots_lock);
	if ((s = slot_find(target))) {
		cxlmu_prim_spin_unlock(&slots_lock);
		return s->refused ? NULL : s;
	}
	n = atomic_load_explicit(&nslots, memory_order_relaxed);
	if (n == CXLMU_REMOTE_MAX) {
		bool said = slots_full_said;
		slots_full_said = true;
		cxlmu_prim_spin_unlock(&slots_lock);
		if (!said)
			cxlmu_log_warn("--remote: more than %d remote functions; %s in %s and later "
				       "ones run locally", CXLMU_REMOTE_MAX, specs[spec].sym, file);
		return NULL;
	}
	s = &slots[n];
	s->target = target;
	s->spec = spec;
	s->refused = v != CXLMU_ABI_OK;
	snprintf(s->name, sizeof(s->name), "%s (%s)", specs[spec].sym,
		 *file ? base_name(file) : "?");
	atomic_store_explicit(&nslots, n + 1, memory_order_release);
	cxlmu_prim_spin_unlock(&slots_lock);
	if (v == CXLMU_ABI_UNCHECKED)
		cxlmu_log_warn("--remote: %s in %s cannot go to an agent (%s); it runs locally",
			       specs[spec].sym, *file ? file : "?", why);
	else if (v != CXLMU_ABI_OK)
		cxlmu_log_warn("--remote: %s in %s %s (%s), which the remote trampoline "
			       "cannot carry (it carries the registers rdi..r9 and xmm0..7 in, rax, "
			       "rdx, xmm0 and xmm1 out); it runs locally", specs[spec].sym,
			       *file ? file : "?", cxlmu_abicheck_name(v), why);
	else
		cxlmu_log_info("--remote: %s in %s goes to the agent", specs[spec].sym, file);
	return s->refused ? NULL : s;
}

/* The trampoline for a reference to name that binds to target, or NULL. */
static void *tramp_for(const char *name, void *target)
{
	Dl_info di;
	const char *file = NULL;
	struct slot *s;

	if (is_ours(target))
		return NULL;
	for (unsigned i = 0; i < nspecs; i++) {
		if (strcmp(specs[i].sym, name))
			continue;
		if (specs[i].lib[0]) {
			if (!file)
				file = dladdr(target, &di) && di.dli_fname ? di.dli_fname : "";
			if (!lib_matches(specs[i].lib, file))
				continue;
		}
		s = slot_for(i, target);
		return s ? tramp(s) : NULL;
	}
	return NULL;
}

static bool named(const char *name)
{
	for (unsigned i = 0; i < nspecs; i++)
		if (name[0] == specs[i].sym[0] && !strcmp(name, specs[i].sym))
			return true;
	return false;
}

static bool got_wanted(const char *name, void *arg)
{
	return (name[0] == 'd' && (!strcmp(name, "dlsym") || !strcmp(name, "dlvsym"))) ||
	       named(name);
}

static void *got_fn(const char *name, void *cur, const struct cxlmu_got_module *m, void *arg)
{
	void *target;

	if (is_ours(cur))
		return NULL;
	if (!strcmp(name, "dlsym") || !strcmp(name, "dlvsym")) {
		/* libc's own lookups keep libc's. */
		if (!strncmp(base_name(m->path), "libc.so", 7))
			return NULL;
		return name[2] == 's' ? (void *)cxlmu_remote_dlsym_hook :
					(void *)cxlmu_remote_dlvsym_hook;
	}
	/* A lazy slot still leads into the module's own PLT. */
	target = cxlmu_got_in_module(cur, m) ? cxlmu_got_lookup(name, m) : cur;
	return target ? tramp_for(name, target) : NULL;
}

/* Definitions the GOT walk cannot meet: a LIBRARY loaded with
 * RTLD_LOCAL, reached by dlsym only. Checked as soon as it is loaded, so
 * that a refusal is said then. */
static void resolve_specs(void)
{
	for (unsigned i = 0; i < nspecs; i++) {
		void *h, *p;

		if (specs[i].lib[0]) {
			h = dlopen(specs[i].lib, RTLD_LAZY | RTLD_NOLOAD);
			p = h ? dlsym(h, specs[i].sym) : NULL;
			if (h)
				cxlmu_got_unref(h);
		} else {
			p = dlsym(RTLD_DEFAULT, specs[i].sym);
		}
		if (p)
			tramp_for(specs[i].sym, p);
	}
}

static void rescan(void)
{
	cxlmu_got_walk(got_wanted, got_fn, NULL);
	resolve_specs();
}

/* From cxlmu_remote_dlsym_hook, for every dlsym under --remote. */
int cxlmu_remote_dlsym_wanted(const char *name)
{
	int err = errno, r;

	/* dlopen is not hooked (glibc searches the caller's RUNPATH, which
	 * a hook would change); its new modules are seen here instead, at
	 * the first dlsym after it, before their code can be reached. */
	if (cxlmu_got_changed())
		rescan();
	r = name && named(name);
	errno = err;
	return r;
}

void *cxlmu_remote_dlsym(void *h, const char *name)
{
	void *p = ((void *(*)(void *, const char *))cxlmu_remote_real_dlsym)(h, name);
	void *t;

	return p && (t = tramp_for(name, p)) ? t : p;
}

void *cxlmu_remote_dlvsym(void *h, const char *name, const char *version)
{
	void *p = ((void *(*)(void *, const char *, const char *))cxlmu_remote_real_dlvsym)(h, name,
											  version);
	void *t;

	return p && (t = tramp_for(name, p)) ? t : p;
}

/* ----------------------------------------------------------------------- */
/* Set-up                                                                    */
/* ----------------------------------------------------------------------- */

static void agent_place(struct agent *a, int node, const struct cxlmu_config *cfg,
			const struct cxlmu_topology *topo)
{
	a->node = node;
	if (cfg->agent_cpus_set) {
		a->cpus = cfg->agent_cpus;
		a->pinned = true;
		return;
	}
	if (node < 0)
		return;
	/* The CPUs of the nodes nearest to it. */
	{
		unsigned best = 256;
		cpu_set_t set, one;

		for (unsigned m = 0; m < CXLMU_MAX_NODES; m++)
			if ((topo->has_cpu >> m & 1) && topo->node[node].distance[m] &&
			    topo->node[node].distance[m] < best)
				best = topo->node[node].distance[m];
		CPU_ZERO(&set);
		for (unsigned m = 0; m < CXLMU_MAX_NODES; m++)
			if ((topo->has_cpu >> m & 1) && topo->node[node].distance[m] == best &&
			    !cxlmu_parse_cpulist(topo->node[m].cpulist, &one))
				CPU_OR(&set, &set, &one);
		if (CPU_COUNT(&set)) {
			a->cpus = set;
			a->pinned = true;
		}
	}
}

void cxlmu_remote_init(const struct cxlmu_config *cfg, const struct cxlmu_topology *topo)
{
	struct spec *sp;
	int err;

	for (const char *t = cfg->remote; *cfg->remote && t && nspecs < CXLMU_REMOTE_MAX;) {
		struct cxlmu_remote_spec one;

		t = cxlmu_remote_spec_next(t, &one, &err);
		if (err)
			break;
		sp = &specs[nspecs++];
		strcpy(sp->lib, one.lib);
		strcpy(sp->sym, one.sym);
	}
	kring_key_ok = !pthread_key_create(&kring_key, kring_exit);
	for (unsigned n = 0; n < CXLMU_MAX_NODES; n++)
		if (topo->cxl >> n & 1)
			agent_place(&agents[nagents++], (int)n, cfg, topo);
	if (!nagents)
		agent_place(&agents[nagents++], -1, cfg, topo);
	if (!nspecs)
		return;
	cxlmu_remote_real_dlsym = (void *)dlsym;
	cxlmu_remote_real_dlvsym = (void *)dlvsym;
	rescan();
}

void cxlmu_remote_after_fork(void)
{
	/* The child has no agent: each starts again at its first call, with
	 * an empty queue (the parent's requests are the parent's). The
	 * forking thread's io_uring is the parent's too. */
	for (unsigned i = 0; i < nagents; i++) {
		struct agent *a = &agents[i];
		queue_reset(a);
		atomic_store(&a->state, 0);
		atomic_store(&a->asleep, 0);
		atomic_store(&a->inflight, 0);
	}
	atomic_store(&slots_lock, 0);
	fork_gen++;
	cxlmu_got_after_fork();
	if (kring_state > 0)
		cxlmu_ring_exit(&kring);
	kring_state = 0;
}

/* ----------------------------------------------------------------------- */
/* Report                                                                    */
/* ----------------------------------------------------------------------- */

void cxlmu_remote_totals(struct cxlmu_remote_totals *out)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_acquire);

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < nagents; i++) {
		struct agent *a = &agents[i];
		if (atomic_load(&a->state) == 2)
			out->agents++;
		out->calls += atomic_load(&a->calls);
		if (atomic_load(&a->inflight_max) > out->inflight_max)
			out->inflight_max = atomic_load(&a->inflight_max);
		out->busy_ns += atomic_load(&a->busy_ns);
		out->flight_ns += atomic_load(&a->flight_ns);
		out->agent_ns += atomic_load(&a->agent_ns);
		out->wait_ns += atomic_load(&a->wait_ns);
		out->idle_ns += atomic_load(&a->idle_ns);
	}
	for (unsigned i = 0; i < n; i++) {
		if (slots[i].refused)
			out->refused++;
		else
			out->fns++;
	}
}

bool cxlmu_remote_fn(unsigned i, struct cxlmu_remote_fn_stats *out)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_acquire);
	struct slot *s;

	for (unsigned k = 0; k < n; k++) {
		s = &slots[k];
		if (s->refused || i--)
			continue;
		memcpy(out->name, s->name, sizeof(out->name));
		out->calls = atomic_load(&s->calls);
		out->local = atomic_load(&s->local);
		out->agent_ns = atomic_load(&s->agent_ns);
		out->wait_ns = atomic_load(&s->wait_ns);
		out->switched = atomic_load(&s->switched);
		return true;
	}
	return false;
}
