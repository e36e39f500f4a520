/* The per-CPU fiber scheduler: hosts, cores, the switch, adopting a
 * thread as a fiber and giving it back, set-up (src/scheduler.h). The
 * other parts: src/sched_queue.c, sched_signal.c, sched_block.c,
 * sched_monitor.c, sched_why.c, sched_sleep.c; what they share,
 * src/sched_impl.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"
#include "libc.h"
#include "log.h"
#include "ring.h"
#include "sandbox.h"
#include "sched_impl.h"
#include "sched_thread.h"
#include "sched_wait.h"

/* The kernel thread's stack while its fiber runs elsewhere: room for the
 * signal handlers that still run there. */
#define PARK_STACK      (64 * 1024)
/* A fiber that ran this long between two polls did work: an empty
 * re-check, switch included, takes under 100 ns here. Kernel threads
 * need CXLMU_WORK_NS; fibers measure their runs exactly. */
#define FIBER_WORK_NS   150
/* A core's ring: futex waits of its blocked fibers, the host's kick wait. */
#define RING_ENTRIES    256

int cxlmu_sched_on;
CXLMU_TLS struct cxlmu_uthread *sched_self;
struct cxlmu_sched_state sched = {
	.tsc_per_us = 1000,
	.work_tsc = 300000,
};

/* Tell the core's owner something changed, if it waits. Every waiter on
 * the word: a host that has just lost the core may still be one. */
void sched_kick(struct cxlmu_core *c)
{
	atomic_fetch_add_explicit(&c->word, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&c->idle, memory_order_seq_cst))
		raw_futex(&c->word, FUTEX_WAKE, INT32_MAX);
}

/* A fiber becomes runnable from outside its host's loop. */
static void push_from_outside(struct cxlmu_core *c, struct cxlmu_uthread *f)
{
	spin_lock(&c->lock);
	sched_push(c, f);
	spin_unlock(&c->lock);
	sched_kick(c);
}
static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	rawsys(SYS_sched_setaffinity, 0, sizeof(set), (long)&set, 0);
}

/* The fiber is back from a run: where it goes next. */
static void dispose(struct cxlmu_core *c, struct cxlmu_host *h, struct cxlmu_uthread *f)
{
	bool owner = atomic_load_explicit(&c->owner, memory_order_acquire) == h;

	switch (f->out) {
	case OUT_YIELD:
		spin_lock(&c->lock);
		sched_push(c, f);
		spin_unlock(&c->lock);
		if (!owner)
			sched_kick(c);
		break;
	case OUT_SLEEP:
		spin_lock(&c->lock);
		if (sig_waiting(f)) {
			/* A signal came on its way out (cxlmu_sched_signal). */
			f->polling = false;
			sched_push(c, f);
		} else {
			sched_add_sleeper(c, f);
			f->sleeping = true;
		}
		spin_unlock(&c->lock);
		if (!owner)
			sched_kick(c);
		break;
	case OUT_BLOCK:
	case OUT_FUTEX:
		spin_lock(&c->lock);
		if (atomic_load_explicit(&f->wake, memory_order_relaxed)) {
			f->fres = 0;
			sched_push(c, f);
		} else if (f->out == OUT_FUTEX && c->ring_ok) {
			sched_ring_block(c, f);
		} else if (f->out == OUT_FUTEX) {
			sched_vwait_block(c, f);
		} else {
			f->blocked = true;
			if (f->deadline) {
				f->in_heap = true;
				sched_add_sleeper(c, f);
			}
		}
		spin_unlock(&c->lock);
		if (!owner)
			sched_kick(c);
		break;
	case OUT_LEAVE:
		sched_park_poke(f, true);
		break;
	}
}

/* The fiber a switch left, once its context is saved: only then may
 * another host take it. Runs on whatever the switch resumed. */
static void finish(struct cxlmu_host *h)
{
	struct cxlmu_uthread *p = h->prev;

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
 * (the word moves on from seen), a completion in the core's ring or, on
 * the futex_waitv way, a blocked fiber's word (v, nv entries filled under
 * the lock; nv 0: none; returns the index of the word woken, else 0 or
 * -errno). Only waits here, unlocked: what goes into the ring is
 * submitted under the lock. */
static int idle_wait(struct cxlmu_core *c, uint32_t seen, uint64_t next,
		     struct cxlmu_futexv *v, unsigned nv)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	uint64_t now;

	if (nv > 1) {
		/* The kick word and the blocked fibers' words (waitv). Those
		 * that did not fit look again soon. */
		if (nv == CXLMU_FUTEXV_MAX) {
			uint64_t soon = cxlmu_prim_now() + POLL_MIN_NS;
			if (!next || soon < next)
				next = soon;
		}
		return cxlmu_prim_futex_waitv(v, nv, next);
	}
	if (!c->ring_ok || !c->kick_armed) {
		cxlmu_prim_futex_wait(&c->word, seen, next);
		return 0;
	}
	if (!next) {
		io_uring_wait_cqe(&c->ring, &cqe);
		return 0;
	}
	now = cxlmu_prim_now();
	if (next <= now)
		return 0;
	ts.tv_sec = (long long)((next - now) / 1000000000u);
	ts.tv_nsec = (long long)((next - now) % 1000000000u);
	io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
	return 0;
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
		struct cxlmu_uthread *f;
		struct cxlmu_futexv v[CXLMU_FUTEXV_MAX];
		unsigned nv = 0;
		uint64_t next;
		uint32_t seen;

		if (atomic_load_explicit(&c->owner, memory_order_acquire) != h) {
			if (atomic_exchange_explicit(&h->stuck, false, memory_order_relaxed))
				atomic_fetch_sub_explicit(&c->stuck, 1, memory_order_relaxed);
			spare(c, h);
			continue;
		}
		/* Idle, it takes no signal: the parked kernel threads of its
		 * fibers take theirs (src/sched_signal.c). */
		host_mask(h, BLOCK_ALL);
		seen = atomic_load_explicit(&c->word, memory_order_seq_cst);
		spin_lock(&c->lock);
		if (unlikely(atomic_load_explicit(&c->sigwake, memory_order_relaxed)))
			sched_sigwake_drain(c);
		if (sched_ring_pending(c))
			sched_reap(c);
		if (c->vwait)
			sched_vwait_scan(c);
		next = c->sleepers || c->polls ? sched_expire(c, cxlmu_prim_now()) : 0;
		f = sched_pop(c);
		if (!f) {
			atomic_store_explicit(&c->idle, 1, memory_order_seq_cst);
			if (c->vwait)
				nv = sched_vwait_fill(c, v, seen);
			if (c->ring_ok && !c->kick_armed) {
				struct io_uring_sqe *sqe = sched_ring_sqe(c, 1);
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
			int woke = idle_wait(c, seen, next, v, nv);

			/* A wake-up for a fiber's word that kept its value: the
			 * fibers waiting on that address look again. */
			if (woke > 0) {
				spin_lock(&c->lock);
				sched_vwait_wake_addr(c, (uintptr_t)v[woke].uaddr, UINT32_MAX);
				spin_unlock(&c->lock);
			}
			if (atomic_load_explicit(&c->owner, memory_order_acquire) == h)
				atomic_store_explicit(&c->idle, 0, memory_order_relaxed);
			continue;
		}
		f->host = h;
		count_switch(c);
		if (mask_word(&f->mask) != h->cur)
			host_mask(h, BLOCK_ALL);
		cxlmu_fiber_switch_fs(&h->ctx, &f->ctx);
		host_mask(h, BLOCK_ALL);
		finish(h);
	}
}

static void *host_main(void *arg)
{
	struct cxlmu_host *h = arg;

	/* The signal mask is the first fiber's (c->mask): the program's
	 * signals are delivered here, in whichever fiber runs (its identity,
	 * its stack); parked kernel threads block them all. */
	char name[16];

	h->tid = (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0);
	h->cur = mask_word(&h->core->mask);
	/* What top -H and /proc show: the CPU whose fibers it runs. */
	snprintf(name, sizeof(name), "cxlmu-host%d", h->core->cpu);
	cxlmu_prim_set_thread_name(name);
	pin_self(h->core->cpu);
	host_loop(h);
	return NULL;
}

/* glibc ends the process when the last thread that pthread_create made,
 * or the main thread, ends (its count, src/glibc_abi.h): a program whose
 * main thread called pthread_exit ends with its last thread. A runtime
 * thread never ends, so it is taken off that count, or such a program
 * would outlive its threads. The creator is still counted unless it is
 * the monitor, whose new host may find that the program's last thread
 * ended meanwhile: then it ends the process, as that thread would have. */
static void uncount(void)
{
	_Atomic unsigned *n = cxlmu_libc.nthreads;

	if (n && atomic_fetch_sub(n, 1) == 1)
		exit(0);
}

/* A runtime thread with the signal mask given (a host's is its core's,
 * whoever makes it; the monitor's and an agent's block every signal) and
 * the stack size given (0: libc's default). 0 or -errno. */
static int start_thread(void *(*fn)(void *), void *arg, const sigset_t *mask, size_t stack)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	pthread_attr_setsigmask_np(&attr, mask);
	r = sched.create_thread(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (!r)
		uncount();
	return -r;
}

/* A host for c: a spare if there is one, else a new thread; it becomes
 * the owner. */
int sched_add_host(struct cxlmu_core *c)
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
	if ((r = start_thread(host_main, h, &c->mask, 256 * 1024))) {
		atomic_store_explicit(&c->owner, prev, memory_order_release);
		cxlmu_prim_munmap(h, sizeof(*h));
	}
	return r;
}
static void calibrate(void)
{
	uint64_t t0 = cxlmu_prim_now(), c0 = tsc(), t1, c1;

	do
		__builtin_ia32_pause();
	while ((t1 = cxlmu_prim_now()) - t0 < 200000);
	c1 = tsc();
	sched.tsc_per_us = (c1 - c0) * 1000 / (t1 - t0);
	if (!sched.tsc_per_us)
		sched.tsc_per_us = 1;
	sched.work_tsc = FIBER_WORK_NS * sched.tsc_per_us / 1000;
}
/* The TSC's rate and the kernel's io_uring futex waits, once. */
void sched_probe(void)
{
	if (atomic_load_explicit(&sched.probed, memory_order_acquire))
		return;
	spin_lock(&sched.cores_lock);
	if (!atomic_load_explicit(&sched.probed, memory_order_relaxed)) {
		calibrate();
		/* --fiber-wait: the way asked where the kernel has it, else
		 * the other. */
		sched.waitv_ok = cxlmu_prim_has_futex_waitv();
		sched.ring_futex = cxlmu_ring_caps()->futex &&
				   (sched.fiber_wait != CXLMU_FIBER_WAIT_WAITV || !sched.waitv_ok);
		cxlmu_log_info("fibers wait for futex words with %s",
			       sched.ring_futex ? "io_uring futex waits (ring)" :
			       sched.waitv_ok ? "futex_waitv (waitv)" :
			       "looks every 50 us (poll: no io_uring futex waits, no futex_waitv)");
		/* Before any fiber runs: sig_fence reads it at every switch. */
		sched.mb_ok = !rawsys(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0, 0);
		atomic_store_explicit(&sched.probed, true, memory_order_release);
	}
	spin_unlock(&sched.cores_lock);
}

static struct cxlmu_core *core_get(int cpu)
{
	struct cxlmu_core *c = atomic_load_explicit(&sched.cores[cpu], memory_order_acquire);
	int r;

	if (c)
		return c;
	sched_probe();
	/* Before the first fiber: no host stalls on them later, and threads
	 * set up from now on look up their counters at set-up (src/heap.c). */
	cxlmu_heap_build_ctl();
	spin_lock(&sched.cores_lock);
	c = atomic_load_explicit(&sched.cores[cpu], memory_order_acquire);
	if (!c) {
		c = cxlmu_prim_mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (cxlmu_prim_failed(c)) {
			c = NULL;
		} else {
			c->cpu = cpu;
			/* The first fiber's mask: the program's signals reach
			 * the hosts, and run in the fiber running there. */
			sched_real_sigmask(SIG_BLOCK, NULL, &c->mask);
			/* Without it, blocked fibers look at their word again
			 * now and then (cxlmu_sched_futex_wait). */
			c->ring_ok = sched.ring_futex && !io_uring_queue_init(RING_ENTRIES, &c->ring, 0);
			/* Also where the ring could not be made. */
			c->waitv_ok = !c->ring_ok && sched.waitv_ok;
			if (c->ring_ok && cxlmu_ring_adopt_fd(&c->ring, &c->ring_own)) {
				io_uring_queue_exit(&c->ring);
				c->ring_ok = false;
			}
			if ((r = sched_add_host(c))) {
				if (c->ring_ok)
					io_uring_queue_exit(&c->ring);
				cxlmu_prim_munmap(c, sizeof(*c));
				c = NULL;
			} else {
				atomic_store_explicit(&sched.cores[cpu], c, memory_order_release);
				atomic_fetch_add_explicit(&sched.totals.cores, 1, memory_order_relaxed);
				/* Its kernel threads look again: they join. */
				atomic_fetch_add_explicit(&sched.cpus[cpu].gen, 1, memory_order_release);
			}
		}
	}
	spin_unlock(&sched.cores_lock);
	if (c && !atomic_exchange(&sched.monitor_started, 1)) {
		sigset_t every;
		sigfillset(&every);
		if (start_thread(sched_monitor_main, NULL, &every, 256 * 1024))
			atomic_store(&sched.monitor_started, 0);
	}
	return c;
}
struct cxlmu_uthread *cxlmu_sched_self(void)
{
	return sched_self;
}

bool sched_can_switch(struct cxlmu_uthread *f)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	/* Not inside the scheduler, and not on the parked kernel thread (a
	 * signal handler there shares the fiber's identity, not its stack). */
	return f && !f->busy &&
	       (sp < (uintptr_t)f->parkstack.base ||
		sp >= (uintptr_t)f->parkstack.base + f->parkstack.len);
}

struct cxlmu_uthread *cxlmu_sched_fiber_now(void)
{
	struct cxlmu_uthread *f = sched_self;

	return sched_can_switch(f) ? f : NULL;
}
/* The fiber t is (or with tid nonzero, whose kernel thread is tid), or
 * NULL. Under all_lock. */
struct cxlmu_uthread *sched_find(pthread_t t, pid_t tid)
{
	struct cxlmu_uthread *f;

	for (f = sched.all; f; f = f->all_next)
		if (tid ? f->tid == tid : pthread_equal(f->thread, t))
			break;
	return f;
}
bool cxlmu_sched_retarget(pthread_t t, pid_t tid)
{
	uint64_t old = sched_all_lock_masked();
	struct cxlmu_uthread *f = sched_find(t, tid);

	if (f)
		atomic_store_explicit(&f->move, true, memory_order_relaxed);
	sched_all_unlock_masked(old);
	return f != NULL;
}
/* The kernel thread's side while its fiber runs elsewhere: hand the fiber
 * to the core, then take the fiber's signals (src/sched_signal.c,
 * "Receivers") until it comes back for good. */
static void park_main(void *arg)
{
	struct cxlmu_uthread *f = arg;
	struct cxlmu_fiber_ctx scratch;

	push_from_outside(f->core, f);
	/* Nothing here may write TLS: it is the fiber's. */
	sched_park_receive(f);
	cxlmu_fiber_switch(&scratch, &f->ctx);
	__builtin_unreachable();
}

/* A signal sent to the thread while it became a fiber (its sender found
 * no fiber yet) waits on this kernel thread, which blocks every signal
 * from now on: it is the fiber's now, pending for it as if sent to it.
 * Before the fiber runs anywhere. */
static void adopt_pending(struct cxlmu_uthread *f)
{
	uint64_t mine = cxlmu_sched_own_signals();
	struct timespec zero = { 0, 0 };

	while (mine) {
		int sig = __builtin_ctzll(mine) + 1;
		sigset_t one;
		siginfo_t si;

		mine &= mine - 1;
		sigemptyset(&one);
		sigaddset(&one, sig);
		/* The thread's own queue goes first (the process's would come
		 * only after it). */
		if (rawsys(SYS_rt_sigtimedwait, (long)&one, (long)&si, (long)&zero, 8) == sig)
			sched_sig_pend(f, &si);
	}
}

int cxlmu_sched_adopt(int cpu, enum cxlmu_sched_why why)
{
	struct cxlmu_fiber_stack st;
	struct cxlmu_uthread *f;
	struct cxlmu_core *c;
	sigset_t every;
	int saved = errno, r;

	if (!cxlmu_sched_on || sched_self || cpu < 0 || cpu >= MAX_CPUS)
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
	f = (struct cxlmu_uthread *)(((uintptr_t)st.stack + st.size - sizeof(*f)) & ~(uintptr_t)63);
	memset(f, 0, sizeof(*f));
	f->parkstack = st;
	f->core = c;
	f->busy = true;
	/* Parked, the kernel thread takes no signal: a handler there would
	 * share the fiber's TLS (errno) while the fiber runs elsewhere. The
	 * program's signals reach the hosts, and run in the fiber there. */
	sigfillset(&every);
	sched_real_sigmask(SIG_BLOCK, &every, &f->mask);
	f->thread = pthread_self();
	f->tid = (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0);
	f->why = why;
	f->ctx.fs = (uintptr_t)f->thread;
	sched_record(why, cpu, f->tid);
	spin_lock(&sched.all_lock);
	f->all_next = sched.all;
	f->all_prev = &sched.all;
	if (sched.all)
		sched.all->all_prev = &f->all_next;
	sched.all = f;
	spin_unlock(&sched.all_lock);
	cxlmu_fiber_make(&f->park, st.stack, (size_t)((uintptr_t)f - (uintptr_t)st.stack),
			 park_main, f);
	adopt_pending(f);
	sched_self = f;
	/* From here on this is the fiber: it resumes on a host. */
	cxlmu_fiber_switch(&f->ctx, &f->park);
	finish(f->host);
	f->resumed = tsc();
	sig_on(f);
	sched_unbusy(f);
	errno = saved;
	return 0;
}

/* A fiber reached an idle point at now: a poll (poll) or anything else.
 * A run of real work since it last began to run, or any idle point but a
 * poll, is progress, and the core's sleeping polls re-check. Before the
 * poll decides how to wait: its own run counts. */
void sched_reached(struct cxlmu_uthread *f, uint64_t now, bool poll)
{
	struct cxlmu_core *c = f->core;

	if (poll && now - f->resumed < sched.work_tsc)
		return;
	atomic_store_explicit(&c->progress, now, memory_order_relaxed);
	if (c->polls) {
		spin_lock(&c->lock);
		sched_wake_polls(c);
		spin_unlock(&c->lock);
		/* From a host that lost the core (its fiber ran long and the
		 * monitor handed the others over): the owner may be idle. */
		if (atomic_load_explicit(&c->owner, memory_order_relaxed) != f->host)
			sched_kick(c);
	}
}

/* Switch away for the reason given; back when scheduled again. The next
 * runnable fiber gets the CPU straight from this one; the host's loop
 * only when there is none, or for the fiber's leaving. A yield with
 * nobody else to run goes on at once. */
void sched_out(struct cxlmu_uthread *f, int why)
{
	struct cxlmu_host *h = f->host;
	struct cxlmu_core *c = f->core;
	struct cxlmu_uthread *next = NULL;

	sig_off(f);
	f->out = why;
	if (why != OUT_LEAVE &&
	    atomic_load_explicit(&c->owner, memory_order_relaxed) == h) {
		spin_lock(&c->lock);
		if (unlikely(atomic_load_explicit(&c->sigwake, memory_order_relaxed)))
			sched_sigwake_drain(c);
		if (sched_ring_pending(c))
			sched_reap(c);
		if (c->vwait)
			sched_vwait_scan(c);
		if (c->sleepers || c->polls)
			sched_expire(c, cxlmu_prim_now());
		next = sched_pop(c);
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
	if ((next ? mask_word(&next->mask) : BLOCK_ALL) != mask_word(&f->mask))
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
	struct cxlmu_uthread *f = sched_self;
	struct cxlmu_fiber_stack st;
	sigset_t mask;
	int saved = errno;

	if (!f)
		return;
	f->busy = true;
	sched_reached(f, tsc(), false);
	sched_out(f, OUT_LEAVE);
	/* On our own kernel thread again: the park stack is no longer in use. */
	sched_self = NULL;
	spin_lock(&sched.all_lock);
	*f->all_prev = f->all_next;
	if (f->all_next)
		f->all_next->all_prev = f->all_prev;
	spin_unlock(&sched.all_lock);
	/* No sender finds it now; one may have queued it to be woken. */
	if (atomic_load_explicit(&f->sigwake_queued, memory_order_acquire)) {
		spin_lock(&f->core->lock);
		sched_sigwake_drain(f->core);
		spin_unlock(&f->core->lock);
	}
	/* What is still pending for it (its mask blocks it, or it came as
	 * it left) is its kernel thread's now: queued there while every
	 * signal is blocked, delivered or kept pending by its mask. */
	for (uint64_t pend = atomic_exchange(&f->sigpend, 0); pend; pend &= pend - 1)
		sched_sig_send(f->tid, &f->sig[__builtin_ctzll(pend)]);
	st = f->parkstack;
	mask = f->mask;
	cxlmu_fiber_stack_free(&st);
	sched_real_sigmask(SIG_SETMASK, &mask, NULL);
	errno = saved;
}
bool cxlmu_sched_mark_cancel(pthread_t t)
{
	uint64_t old = sched_all_lock_masked();
	struct cxlmu_uthread *f = sched_find(t, 0);

	if (f) {
		atomic_store(&f->cancel, true);
		/* A blocked fiber looks at once. */
		sched_wake(f);
	}
	sched_all_unlock_masked(old);
	return f != NULL;
}

pid_t cxlmu_sched_tid(const struct cxlmu_uthread *f)
{
	return f->tid;
}

int cxlmu_sched_cpu(const struct cxlmu_uthread *f)
{
	return f->core->cpu;
}

bool cxlmu_sched_cancelled(const struct cxlmu_uthread *f)
{
	return atomic_load_explicit(&f->cancel, memory_order_relaxed);
}
static void decide(void)
{
	bool was = cxlmu_sched_on;

	cxlmu_sched_on = sched.configured && sched.create_thread && !cxlmu_sched_off_why();
	/* The main thread was there before: it runs alone on its CPU, or
	 * on any, until it makes threads there. Nothing is probed here (the
	 * ring's probe is a system call every pinned program would make at
	 * its start): that waits for the first thread that would be a fiber
	 * (cxlmu_sched_choose). */
	if (cxlmu_sched_on && !was && rawsys(SYS_gettid, 0, 0, 0, 0) == getpid()) {
		int cpu = cxlmu_sched_pinned_cpu();

		cxlmu_sched_note(cpu < 0 ? CXLMU_WHY_UNPINNED : CXLMU_WHY_ALONE, cpu);
	}
}

const char *cxlmu_sched_off_why(void)
{
	if (sched.mode != CXLMU_SCHED_AUTO && sched.mode != CXLMU_SCHED_FIBERS)
		return "mode";
	if (!cxlmu_fiber_fsgsbase())
		return "no-fsgsbase";
	return NULL;
}

const char *cxlmu_sched_fiber_wait_name(void)
{
	if (!atomic_load_explicit(&sched.probed, memory_order_acquire))
		return "none";
	return sched.ring_futex ? "ring" : sched.waitv_ok ? "waitv" : "poll";
}

void cxlmu_sched_init(const struct cxlmu_config *cfg)
{
	sched.mode = cfg->sched;
	sched.fiber_wait = cfg->fiber_wait;
	sched.configured = true;
	decide();
}

int cxlmu_sched_spawn(void *(*fn)(void *), void *arg, size_t stack)
{
	sigset_t every;

	if (!sched.create_thread || cxlmu_sandboxed())
		return -EAGAIN;
	sigfillset(&every);
	return start_thread(fn, arg, &every, stack);
}

void cxlmu_sched_expect(int delta)
{
	struct cxlmu_uthread *f = sched_self;

	if (f)
		atomic_fetch_add_explicit(&f->core->expect, delta, memory_order_relaxed);
}

bool cxlmu_sched_others_ready(void)
{
	struct cxlmu_uthread *f = sched_self;

	/* A racy look is enough: the caller only chooses between spinning a
	 * little and switching. */
	return f && (__atomic_load_n(&f->core->head, __ATOMIC_RELAXED) ||
		     f->core->sleepers || f->core->polls);
}

void cxlmu_sched_set_create(cxlmu_create_fn create)
{
	sched.create_thread = create;
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
		atomic_store_explicit(&sched.cores[cpu], NULL, memory_order_relaxed);
	atomic_store(&sched.monitor_started, 0);
	atomic_store(&sched.cores_lock, 0);
	atomic_store(&sched.all_lock, 0);
	sched.all = NULL;
	sched_self = NULL;
	sched_why_after_fork();
	sched_lot_after_fork();
	/* A new process: its own registration (nothing runs to race it). */
	if (sched.mb_ok)
		sched.mb_ok = !rawsys(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0, 0);
}

void cxlmu_sched_totals(struct cxlmu_sched_totals *out_)
{
	memset(out_, 0, sizeof(*out_));
	out_->fibers = atomic_load_explicit(&sched.totals.fibers, memory_order_relaxed);
	out_->handoffs = atomic_load_explicit(&sched.totals.handoffs, memory_order_relaxed);
	out_->cores = atomic_load_explicit(&sched.totals.cores, memory_order_relaxed);
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		struct cxlmu_core *c = atomic_load_explicit(&sched.cores[cpu], memory_order_acquire);
		if (c)
			out_->switches += atomic_load_explicit(&c->switches, memory_order_relaxed);
	}
}
