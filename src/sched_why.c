/* Who runs as what: the choice between fiber and kernel thread, the
 * report's records of it, the kernel threads alone on a CPU, and a
 * thread's move when that changes (src/sched_thread.h).
 *
 * Under auto, fibers only where they pay. A thread pinned to a CPU that
 * other threads share stays a kernel thread (quiet: "no-polls") until one
 * of that CPU's pinned threads shows what fibers are for:
 *  - the poll rule fires on it (src/pollrule.h: a run of short sleeps from
 *    one call site), or
 *  - they hand off through the interposed waits (condition variables,
 *    semaphores, joins) at least BUSY_WAITS times within
 *    BUSY_WINDOW_NS: 20 000 a second, where the kernel's wake-up and
 *    switch (a few microseconds each) take a large share of the CPU.
 * From then on the CPU is busy: each of its pinned kernel threads becomes
 * a fiber at its next sleep or wait (cxlmu_sched_settle), and threads
 * made there later start as fibers. A program that never polls keeps
 * plain kernel threads: no runtime thread, descriptor or signal mask.
 * --sched=fibers makes every pinned thread a fiber at once. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "libc.h"
#include "log.h"
#include "prim.h"
#include "sandbox.h"
#include "sched_impl.h"
#include "sched_thread.h"

#define BUSY_WAITS      2000
#define BUSY_WINDOW_NS  100000000u

/* The calling thread's record (-1: none yet; CXLMU_SCHED_RECORDS: only
 * counted), its why, and the CPU it is counted on in sched.kernels
 * (pinned there alone or quiet; -1: none), with the generation of that
 * CPU it last looked at. */
static CXLMU_TLS int my_record = -1;
static CXLMU_TLS int my_why = -1;
static CXLMU_TLS int counted_cpu = -1;
static CXLMU_TLS uint32_t watch_gen;
static CXLMU_TLS bool was_fiber;        /* counted in totals.fibers */

const char *const cxlmu_sched_why_names[CXLMU_WHY_COUNT] = {
	[CXLMU_WHY_SHARED] = "cpu-shared",
	[CXLMU_WHY_PINNED] = "pinned",
	[CXLMU_WHY_UNPINNED] = "not-pinned",
	[CXLMU_WHY_ALONE] = "alone-on-cpu",
	[CXLMU_WHY_QUIET] = "no-polls",
	[CXLMU_WHY_NO_RING] = "no-ring-futex",
	[CXLMU_WHY_FAILED] = "failed",
	[CXLMU_WHY_SIGWAIT] = "waits-for-signals",
	[CXLMU_WHY_SANDBOX] = "seccomp",
};
/* The calling thread is no longer counted as pinned alone or quiet. */
static void drop_alone(void)
{
	if (counted_cpu >= 0) {
		atomic_fetch_sub_explicit(&sched.kernels[counted_cpu], 1, memory_order_relaxed);
		counted_cpu = -1;
	}
}

/* The calling thread (its kernel thread's id: tid) runs as why now. */
void sched_record(enum cxlmu_sched_why why, int cpu, pid_t tid)
{
	drop_alone();
	/* Counted as pinned there, so that choose() sees company. */
	if ((why == CXLMU_WHY_ALONE || why == CXLMU_WHY_QUIET) && cpu >= 0 && cpu < MAX_CPUS) {
		atomic_fetch_add_explicit(&sched.kernels[cpu], 1, memory_order_relaxed);
		counted_cpu = cpu;
		/* One look at its next sleep or wait in any case: what it was
		 * chosen by (maybe in its creator, a while ago) may be old. */
		watch_gen = atomic_load_explicit(&sched.cpus[cpu].gen, memory_order_acquire) - 1;
	}
	if (CXLMU_WHY_FIBER(why) && !was_fiber) {
		was_fiber = true;
		atomic_fetch_add_explicit(&sched.totals.fibers, 1, memory_order_relaxed);
	}
	if (my_why >= 0)
		atomic_fetch_sub_explicit(&sched.why_counts[my_why], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sched.why_counts[why], 1, memory_order_relaxed);
	my_why = (int)why;
	if (my_record < 0) {
		unsigned i = atomic_fetch_add_explicit(&sched.nrecords, 1, memory_order_relaxed);
		my_record = i < CXLMU_SCHED_RECORDS ? (int)i : CXLMU_SCHED_RECORDS;
	}
	if (my_record < CXLMU_SCHED_RECORDS) {
		struct cxlmu_sched_thread *r = &sched.records[my_record];
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
	if (sched.mode == CXLMU_SCHED_FIBERS)
		return CXLMU_WHY_PINNED;
	/* Others pinned there: fibers already, or kernel threads alone
	 * until now (the caller itself is not company). */
	if (!company && !atomic_load_explicit(&sched.cores[cpu], memory_order_acquire) &&
	    atomic_load_explicit(&sched.kernels[cpu], memory_order_relaxed) <= (counted_cpu == cpu))
		return CXLMU_WHY_ALONE;
	if (!atomic_load_explicit(&sched.cpus[cpu].busy, memory_order_acquire) &&
	    !atomic_load_explicit(&sched.cores[cpu], memory_order_acquire))
		return CXLMU_WHY_QUIET;
	sched_probe();
	if (!sched.ring_futex && !sched.waitv_ok)
		return CXLMU_WHY_NO_RING;
	return CXLMU_WHY_SHARED;
}

/* cpu's pinned threads showed what fibers are for: each looks again. */
static void busy(int cpu, const char *what)
{
	if (atomic_exchange_explicit(&sched.cpus[cpu].busy, true, memory_order_acq_rel))
		return;
	atomic_fetch_add_explicit(&sched.cpus[cpu].gen, 1, memory_order_release);
	cxlmu_log_info("CPU %d: its pinned threads become fibers (%s)", cpu, what);
}

/* Whether the calling thread counts for its CPU's rule: quiet, or noted
 * alone there but with company since (a thread pinned there later). */
static bool counts(void)
{
	int cpu = counted_cpu;

	if (likely(cpu < 0) || atomic_load_explicit(&sched.cpus[cpu].busy, memory_order_relaxed))
		return false;
	return my_why == CXLMU_WHY_QUIET ||
	       (my_why == CXLMU_WHY_ALONE &&
		atomic_load_explicit(&sched.kernels[cpu], memory_order_relaxed) > 1);
}

void cxlmu_sched_polled(void)
{
	if (counts())
		busy(counted_cpu, "a pinned thread polls");
}

uint64_t cxlmu_sched_own_signals(void)
{
	char buf[4096], *p;
	uint64_t mask = 0;
	ssize_t n = cxlmu_prim_read_file("/proc/thread-self/status", buf, sizeof(buf));

	/* SigPnd: this thread's own pending signals (ShdPnd: the process's,
	 * which any thread not blocking them takes, a host too). */
	if (n <= 0 || !(p = strstr(buf, "\nSigPnd:")))
		return 0;
	for (p += 8; *p == ' ' || *p == '\t'; p++)
		;
	for (; *p && *p != '\n'; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			break;
		mask = mask << 4 | (uint64_t)d;
	}
	return mask;
}

static void waited(void)
{
	int cpu = counted_cpu;
	uint64_t now, at;

	if (!counts())
		return;
	/* Counted per window; threads racing at its start may lose a few. */
	now = cxlmu_prim_now();
	at = atomic_load_explicit(&sched.cpus[cpu].waits_at, memory_order_relaxed);
	if (now - at >= BUSY_WINDOW_NS) {
		atomic_store_explicit(&sched.cpus[cpu].waits_at, now, memory_order_relaxed);
		atomic_store_explicit(&sched.cpus[cpu].waits, 0, memory_order_relaxed);
	}
	if (atomic_fetch_add_explicit(&sched.cpus[cpu].waits, 1, memory_order_relaxed) + 1 >=
	    BUSY_WAITS)
		busy(cpu, "its pinned threads hand off through waits");
}

void cxlmu_sched_note(enum cxlmu_sched_why why, int cpu)
{
	if (cxlmu_sched_on && !sched_self)
		sched_record(why, cpu, (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0));
}

void cxlmu_sched_alone(int cpu, int delta)
{
	if (cpu >= 0 && cpu < MAX_CPUS)
		atomic_fetch_add_explicit(&sched.kernels[cpu], delta, memory_order_relaxed);
}

void cxlmu_sched_note_alone(int cpu)
{
	if (!cxlmu_sched_on || sched_self || cpu < 0 || cpu >= MAX_CPUS)
		return;
	/* The creator counted it: record() takes that count over. */
	counted_cpu = cpu;
	sched_record(CXLMU_WHY_ALONE, cpu, (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0));
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
	if (sched_self || my_why < 0)
		return;
	cpu = cxlmu_sched_pinned_cpu();
	why = cxlmu_sched_choose(cpu, false);
	if (CXLMU_WHY_FIBER(why))
		cxlmu_sched_adopt(cpu, why);
	else
		cxlmu_sched_note(why, cpu);
}

void cxlmu_sched_at_wait(void)
{
	if (!sched_self)
		waited();
	cxlmu_sched_settle();
}

void cxlmu_sched_settle(void)
{
	static CXLMU_TLS bool settling;
	struct cxlmu_uthread *f = sched_self;

	/* Nothing to do, as for every sleep of an unpinned program. */
	if (likely(f ? !atomic_load_explicit(&f->move, memory_order_relaxed)
		     : counted_cpu < 0 || atomic_load_explicit(&sched.cpus[counted_cpu].gen,
							     memory_order_acquire) == watch_gen) ||
	    settling)
		return;
	settling = true;
	if (!f) {
		/* Alone or quiet on its CPU until fibers came there or it
		 * became busy: chosen again; a fiber once a pending
		 * cancellation has acted here (a sleep is a cancellation
		 * point), never on a host. */
		int cpu = counted_cpu;
		enum cxlmu_sched_why why;

		watch_gen = atomic_load_explicit(&sched.cpus[cpu].gen, memory_order_acquire);
		why = cxlmu_sched_choose(cpu, false);
		if (CXLMU_WHY_FIBER(why)) {
			void (*testcancel)(void) = CXLMU_LIBC(pthread_testcancel);
			if (testcancel)
				testcancel();
			/* Signals pending for it become the fiber's there. */
			cxlmu_sched_adopt(cpu, why);
		} else if ((int)why != my_why) {
			cxlmu_sched_note(why, cpu);
		}
	} else if (sched_can_switch(f)) {
		/* Its kernel thread's new affinity says where it goes now. */
		cxlmu_sched_leave();
		cxlmu_sched_place();
	}
	settling = false;
}

size_t cxlmu_sched_threads(struct cxlmu_sched_thread *out_, size_t max,
			   uint64_t counts[CXLMU_WHY_COUNT])
{
	unsigned n = atomic_load_explicit(&sched.nrecords, memory_order_relaxed);
	size_t k = 0;

	for (int w = 0; w < CXLMU_WHY_COUNT; w++)
		counts[w] = atomic_load_explicit(&sched.why_counts[w], memory_order_relaxed);
	for (unsigned i = 0; i < n && i < CXLMU_SCHED_RECORDS && k < max; i++) {
		pid_t tid = atomic_load_explicit((_Atomic pid_t *)&sched.records[i].tid,
						 memory_order_acquire);
		if (tid) {
			out_[k] = sched.records[i];
			out_[k++].tid = tid;
		}
	}
	return k;
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

void sched_why_after_fork(void)
{
	/* Only the caller is pinned anywhere now. */
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		atomic_store_explicit(&sched.kernels[cpu], 0, memory_order_relaxed);
		/* A new program as far as auto's rule goes. */
		atomic_store_explicit(&sched.cpus[cpu].busy, false, memory_order_relaxed);
		atomic_store_explicit(&sched.cpus[cpu].waits, 0, memory_order_relaxed);
	}
	if (counted_cpu >= 0)
		atomic_store_explicit(&sched.kernels[counted_cpu], 1, memory_order_relaxed);
}
