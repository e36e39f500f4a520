/* Signals of fibers: cxlmu_sched_signal, a fiber's own mask, delivery on
 * its host (src/sched_signal.h).
 *
 * The fence protocol. A fiber's kernel thread is parked with every signal
 * blocked. A signal sent to the fiber (cxlmu_sched_signal) goes to the
 * host running it, where its handler runs in the fiber; one sent while it
 * does not run is pending in sigpend and sent to its host when it next
 * runs (sig_on). Which of the two is decided without a lock on the
 * fiber's side: at each switch the fiber writes on and then reads sigpend
 * (switching in) or poking and pokes (switching out); the sender writes
 * sigpend and poking and then reads on, after a membarrier(2) that puts a
 * full fence in every running thread of the process. So a fiber's
 * switches cost two plain stores and loads, and either the sender sees
 * the fiber run (and sends to its host; a fiber switching out then waits
 * for that signal), or the fiber sees the signal pending. Where
 * membarrier is not there (sched.mb_ok false), the fiber's side fences
 * itself. The host's mask is the running fiber's: it changes only at
 * switches between fibers whose masks differ; an idle host blocks every
 * signal. sig_on, sig_off and the mask cache are inline in
 * src/sched_impl.h: they are the switch path.
 *
 * Receivers: signals sent to the process. The kernel gives one to the
 * main thread if it does not block it, else to any thread that does not.
 * A fiber's parked kernel thread stands in for the fiber in that choice:
 * it waits in rt_sigtimedwait for exactly what the fiber's mask lets
 * through, so the kernel picks it where it would have picked the thread,
 * and it hands what it takes to the fiber as a signal sent to it, with
 * its siginfo (a sleep ends with EINTR, the handler runs in the fiber).
 * The same holds for a signal sent to that thread's id from outside. A
 * fiber's mask change, and its leaving, poke the parked thread to look
 * again: a signal of its current set, sent to it with a cookie in
 * si_value, which it drops. */
#include <errno.h>
#include <linux/membarrier.h>

#include "sched_impl.h"
#include "sched_signal.h"
#include "sched_thread.h"

/* The thread's real signal mask, as glibc's pthread_sigmask sets it (its
 * two internal signals, SIGCANCEL and SIGSETXID, never blocked), without
 * the exported pthread_sigmask, which in a fiber would set the fiber's. */
int sched_real_sigmask(int how, const sigset_t *set, sigset_t *old)
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
/* Send s to the thread tid of this process, with its siginfo where the
 * kernel lets it: a thread may give itself any si_code, but another thread
 * only a negative one other than SI_TKILL's; a kill's or the kernel's
 * signal sent on to another thread goes as SI_QUEUE with the same fields. */
void sched_sig_send(pid_t tid, const struct cxlmu_sig *s)
{
	long pid = rawsys(SYS_getpid, 0, 0, 0, 0);
	siginfo_t si;

	if (s->code == SI_TKILL) {
		rawsys(SYS_tgkill, pid, tid, s->sig, 0);
		return;
	}
	memset(&si, 0, sizeof(si));
	si.si_signo = s->sig;
	si.si_code = s->code;
	memcpy((char *)&si + 16, s->fields, sizeof(s->fields));
	if (si.si_code >= 0 && tid != (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0))
		si.si_code = SI_QUEUE;
	rawsys(SYS_rt_tgsigqueueinfo, pid, tid, s->sig, (long)&si);
}

/* What siginfo si says, as a cxlmu_sig. */
void sched_sig_from(struct cxlmu_sig *s, const siginfo_t *si)
{
	s->sig = si->si_signo;
	s->code = si->si_code;
	memcpy(s->fields, (const char *)si + 16, sizeof(s->fields));
}

/* Does the program handle sig (a handler, not a default or ignore)? */
/* sig's disposition now: a handler, SIG_DFL or SIG_IGN (SIG_DFL when the
 * kernel will not say). */
static void *sig_disposition(int sig)
{
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } ka;

	if (rawsys(SYS_rt_sigaction, sig, 0, (long)&ka, sizeof(ka.mask)))
		return (void *)SIG_DFL;
	return ka.handler;
}

static bool sig_handled(int sig)
{
	void *h = sig_disposition(sig);

	return h != (void *)SIG_DFL && h != (void *)SIG_IGN;
}

/* all_lock with every signal blocked: a handler on this thread (raise and
 * pthread_kill, which are async-signal-safe, come here) never finds it
 * held by the code it interrupted. Gives the mask to put back. */
uint64_t sched_all_lock_masked(void)
{
	uint64_t every = BLOCK_ALL, old = 0;

	rawsys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&every, (long)&old, sizeof(every));
	spin_lock(&sched.all_lock);
	return old;
}

void sched_all_unlock_masked(uint64_t old)
{
	spin_unlock(&sched.all_lock);
	rawsys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, sizeof(old));
}

/* f runs, with its mask on its host: what is pending for it and let
 * through is sent to the host, whose handlers run in f before this
 * returns. */
void __attribute__((noinline)) sched_sig_deliver(struct cxlmu_uthread *f)
{
	uint64_t pend;

	while ((pend = atomic_load_explicit(&f->sigpend, memory_order_acquire) &
		       ~mask_word(&f->mask))) {
		int i = __builtin_ctzll(pend);
		uint64_t bit = 1ull << i;
		struct cxlmu_sig s;
		bool mine;

		uint64_t old = sched_all_lock_masked();
		mine = atomic_fetch_and_explicit(&f->sigpend, ~bit, memory_order_acq_rel) & bit;
		s = f->sig[i];
		sched_all_unlock_masked(old);
		if (!mine)
			continue;
		if (sig_handled(s.sig))
			f->sig_intr = true;
		host_send(f->host, &s);
	}
}

/* f was sent a signal to its host while it ran: the signal is there
 * (queued by tgkill before the sender counted it), and a system call's
 * return delivers it, in f, before f switches out. */
void __attribute__((noinline)) sched_sig_flush(struct cxlmu_uthread *f)
{
	unsigned spins = 0;

	while (atomic_load_explicit(&f->poking, memory_order_acquire))
		cxlmu_prim_relax(&spins);
	f->pokes_seen = atomic_load_explicit(&f->pokes, memory_order_acquire);
	rawsys(SYS_getppid, 0, 0, 0, 0);
}
/* A signal came for f, which does not run: its core's owner wakes it
 * (sigwake_drain). No core lock here: the sender may be a handler that
 * interrupted that lock's holder. Under all_lock, which keeps f alive. */
static void sig_wake(struct cxlmu_uthread *f)
{
	struct cxlmu_core *c = f->core;

	/* Seen by dispose() if f is still on its way into a wait. */
	atomic_store_explicit(&f->wake, 1, memory_order_seq_cst);
	if (!atomic_exchange_explicit(&f->sigwake_queued, true, memory_order_acq_rel)) {
		struct cxlmu_uthread *head = atomic_load_explicit(&c->sigwake, memory_order_relaxed);
		do
			f->sigwake_next = head;
		while (!atomic_compare_exchange_weak_explicit(&c->sigwake, &head, f,
							      memory_order_release,
							      memory_order_relaxed));
	}
	sched_kick(c);
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

/* s for f, found under all_lock (old: the mask to put back): to its host
 * now if it runs, pending while its mask blocks it, else pending and f
 * woken. Unlocks. */
static void sig_post(struct cxlmu_uthread *f, const struct cxlmu_sig *s, uint64_t old)
{
	uint64_t bit = 1ull << (s->sig - 1);
	struct cxlmu_host *h, *to = NULL;

	atomic_fetch_add(&f->poking, 1);
	f->sig[s->sig - 1] = *s;
	atomic_fetch_or(&f->sigpend, bit);
	if (sched.mb_ok)
		rawsys(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0, 0);
	else
		atomic_thread_fence(memory_order_seq_cst);
	h = atomic_load_explicit(&f->on, memory_order_relaxed);
	if (mask_word(&f->mask) & bit) {
		/* Pending until it unblocks it (cxlmu_sched_sigmask). */
	} else if (h && __atomic_load_n(&f->busy, __ATOMIC_RELAXED)) {
		/* Inside a scheduler call (between two slices of a sleep):
		 * its next switch or the call's end delivers it, and a sleep
		 * ends with EINTR as plain (sched_unbusy, dispose). */
	} else if (h) {
		if (atomic_fetch_and(&f->sigpend, ~bit) & bit)
			to = h;
	} else {
		sig_wake(f);
	}
	if (!to)
		atomic_fetch_sub(&f->poking, 1);
	sched_all_unlock_masked(old);
	if (to) {
		/* f waits for this (sig_off, cxlmu_sched_sigmask) before it
		 * switches out or changes its mask: h runs f until the signal
		 * is there. */
		host_send(to, s);
		atomic_fetch_add(&f->pokes, 1);
		atomic_fetch_sub(&f->poking, 1);
	}
}

bool cxlmu_sched_signal(pthread_t t, pid_t tid, const struct cxlmu_sig *s, int *err)
{
	struct cxlmu_uthread *f, *me = sched_self;
	uint64_t bit, old;

	if (!atomic_load_explicit(&sched.probed, memory_order_acquire))
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
			sched_sig_send((pid_t)rawsys(SYS_gettid, 0, 0, 0, 0), s);
		}
		return true;
	}
	old = sched_all_lock_masked();
	f = sched_find(t, tid);
	if (!f) {
		sched_all_unlock_masked(old);
		return false;
	}
	if (!sig_number(s->sig, err)) {
		sched_all_unlock_masked(old);
		return true;
	}
	sig_post(f, s, old);
	return true;
}

/* ----------------------------------------------------------------------- */
/* Receivers                                                                 */
/* ----------------------------------------------------------------------- */

/* Would the kernel discard sig sent now (ignored, by SIG_IGN or by a
 * default action that ignores it)? It discards such a signal when it is
 * sent to a thread that does not block it. */
static bool sig_ignored(int sig)
{
	void *h = sig_disposition(sig);

	return h == (void *)SIG_IGN ||
	       (h == (void *)SIG_DFL &&
		(sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH));
}

/* What a fiber's parked kernel thread waits for: what its mask lets
 * through, but glibc's two (its own handlers run there, as today) and
 * what no wait can take. */
static uint64_t park_set(const struct cxlmu_uthread *f)
{
	return ~mask_word(&f->mask) & BLOCK_ALL &
	       ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
}

static bool is_poke(const struct cxlmu_uthread *f, const siginfo_t *si, long pid)
{
	return si->si_code == SI_QUEUE && si->si_pid == pid && si->si_value.sival_ptr == f;
}

/* A signal taken from a kernel thread's queue (its parked thread's, or
 * the thread's own as it becomes a fiber) is f's, pending for it now
 * (leaving: its kernel thread's again, sent there by cxlmu_sched_leave).
 * Under all_lock, as a sender writes f->sig. */
void sched_sig_pend(struct cxlmu_uthread *f, const siginfo_t *si)
{
	uint64_t old = sched_all_lock_masked();

	sched_sig_from(&f->sig[si->si_signo - 1], si);
	atomic_fetch_or_explicit(&f->sigpend, 1ull << (si->si_signo - 1), memory_order_release);
	sched_all_unlock_masked(old);
}

void sched_park_receive(struct cxlmu_uthread *f)
{
	long pid = rawsys(SYS_getpid, 0, 0, 0, 0);
	struct timespec zero = { 0, 0 };
	unsigned spins = 0;
	siginfo_t si;

	/* Nothing here may write TLS: it is the fiber's. */
	for (;;) {
		uint32_t gen = atomic_load_explicit(&f->park_gen, memory_order_seq_cst);
		uint64_t set;
		long r;

		if (atomic_load_explicit(&f->back, memory_order_acquire))
			break;
		set = park_set(f);
		if (!set) {
			atomic_store_explicit(&f->park_sig, 0, memory_order_seq_cst);
			raw_futex(&f->park_gen, FUTEX_WAIT, gen);
			continue;
		}
		/* A poke comes as the highest signal it takes: a real-time
		 * one, which queues, where it can. */
		f->park_used |= 1ull << (63 - __builtin_clzll(set));
		atomic_store_explicit(&f->park_sig, 64 - __builtin_clzll(set), memory_order_seq_cst);
		if (atomic_load_explicit(&f->park_gen, memory_order_seq_cst) != gen)
			continue;
		r = rawsys(SYS_rt_sigtimedwait, (long)&set, (long)&si, 0, 8);
		/* What the kernel would have discarded had the fiber's thread
		 * been there to take it: nothing to hand on (a child's end,
		 * SIGCHLD by default, wakes nothing). */
		if (r <= 0 || is_poke(f, &si, pid) || sig_ignored((int)r))
			continue;
		/* The fiber's: sent to it as if to its thread. */
		struct cxlmu_sig s;
		sched_sig_from(&s, &si);
		sig_post(f, &s, sched_all_lock_masked());
	}
	/* Pokes sent, or on their way: none is left for the program. */
	atomic_store_explicit(&f->park_sig, 0, memory_order_seq_cst);
	while (atomic_load_explicit(&f->park_pokers, memory_order_seq_cst))
		cxlmu_prim_relax(&spins);
	while (f->park_used) {
		uint64_t set = f->park_used;

		if (rawsys(SYS_rt_sigtimedwait, (long)&set, (long)&si, (long)&zero, 8) <= 0)
			break;
		if (!is_poke(f, &si, pid))
			sched_sig_pend(f, &si);
	}
}

/* A host about to let through signals pending for the process. The
 * kernel chose a thread for each as it came (a parked thread, woken for
 * it, or a kernel thread of the program), but the first thread to let it
 * through takes it: the host would, and run its handler in whichever
 * fiber runs next (a kill meant for the main thread ran in the other in 2
 * of 12 guest runs of sched-signals.sh, mostly where both share one CPU
 * and the chosen thread waited for it). So the host lets the chosen one
 * take it first, a turn of the CPU at a time, for at most HANDOVER_NS.
 * What the runtime sent the host itself (h->sent: a fiber's signal that
 * came while the host blocked everything, between two slices of its
 * sleep) is its own and not waited for; what is pending still after
 * HANDOVER_NS (sent to the host from outside, or wanted by no other) it
 * lets through. The rest of the window is the time between the look and
 * the mask change. */
#define HANDOVER_NS 2000000u

void sched_host_opening(struct cxlmu_host *h, uint64_t open)
{
	uint64_t pend = 0, until = 0;

	/* sent is read after the look: a sender marks it before its send,
	 * which the look then sees (the kernel's signal lock orders both). */
	while (!rawsys(SYS_rt_sigpending, (long)&pend, sizeof(pend), 0, 0) &&
	       (pend & open & ~atomic_load_explicit(&h->sent, memory_order_seq_cst))) {
		uint64_t now = cxlmu_prim_now();

		if (!until)
			until = now + HANDOVER_NS;
		else if (now >= until)
			break;
		rawsys(SYS_sched_yield, 0, 0, 0, 0);
	}
}

void sched_park_poke(struct cxlmu_uthread *f, bool back)
{
	int sig;

	/* Counted first: once back is seen, the parked thread waits for the
	 * pokers before its fiber runs again (and may end, freeing f). */
	atomic_fetch_add_explicit(&f->park_pokers, 1, memory_order_seq_cst);
	if (back)
		atomic_store_explicit(&f->back, 1, memory_order_seq_cst);
	atomic_fetch_add_explicit(&f->park_gen, 1, memory_order_seq_cst);
	raw_futex(&f->park_gen, FUTEX_WAKE, 1);
	if ((sig = atomic_load_explicit(&f->park_sig, memory_order_seq_cst))) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		si.si_signo = sig;
		si.si_code = SI_QUEUE;
		si.si_pid = (pid_t)rawsys(SYS_getpid, 0, 0, 0, 0);
		si.si_uid = (uid_t)rawsys(SYS_getuid, 0, 0, 0, 0);
		si.si_value.sival_ptr = f;
		rawsys(SYS_rt_tgsigqueueinfo, si.si_pid, f->tid, sig, (long)&si);
	}
	/* The last touch of f. */
	atomic_fetch_sub_explicit(&f->park_pokers, 1, memory_order_release);
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
	struct cxlmu_uthread *f = sched_self;
	struct cxlmu_host *h = f->host;
	uint64_t real = 0, want = set ? mask_word(set) : 0, next = 0, seen, o, open;
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
	o = sched_all_lock_masked();
	open = park_set(f);
	word_set(&f->mask, next);
	sched_all_unlock_masked(o);
	/* Its parked kernel thread waits for what the new mask lets in. */
	if (park_set(f) != open)
		sched_park_poke(f, false);
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
	host_mask_take(h, next);
	sched_unbusy(f);
	return 0;
}

uint64_t cxlmu_sched_sigpending(void)
{
	struct cxlmu_uthread *f = sched_self;

	return f ? atomic_load_explicit(&f->sigpend, memory_order_relaxed) : 0;
}

void cxlmu_sched_unfiber(enum cxlmu_sched_why why)
{
	if (!sched_self)
		return;
	cxlmu_sched_leave();
	cxlmu_sched_note(why, cxlmu_sched_pinned_cpu());
}
