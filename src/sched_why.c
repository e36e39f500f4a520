/* Who runs as what: the choice between fiber and kernel thread, the
 * report's records of it, the kernel threads alone on a CPU, and a
 * thread's move when that changes (src/sched_thread.h). */
#include <sched.h>

#include "libc.h"
#include "sandbox.h"
#include "sched_impl.h"
#include "sched_thread.h"

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
/* The calling thread is no longer a kernel thread alone on its CPU. */
static void drop_alone(void)
{
	if (alone_cpu >= 0) {
		atomic_fetch_sub_explicit(&sched.alone[alone_cpu], 1, memory_order_relaxed);
		alone_cpu = -1;
	}
}

/* The calling thread (its kernel thread's id: tid) runs as why now. */
void sched_record(enum cxlmu_sched_why why, int cpu, pid_t tid)
{
	drop_alone();
	if (why == CXLMU_WHY_ALONE && cpu >= 0 && cpu < MAX_CPUS) {
		atomic_fetch_add_explicit(&sched.alone[cpu], 1, memory_order_relaxed);
		alone_cpu = cpu;
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
	sched_probe();
	if (!sched.ring_futex)
		return CXLMU_WHY_NO_RING;
	/* Others pinned there: fibers already, or kernel threads alone
	 * until now (the caller itself is not company). */
	if (company || atomic_load_explicit(&sched.cores[cpu], memory_order_acquire) ||
	    atomic_load_explicit(&sched.alone[cpu], memory_order_relaxed) > (alone_cpu == cpu))
		return CXLMU_WHY_SHARED;
	return CXLMU_WHY_ALONE;
}

void cxlmu_sched_note(enum cxlmu_sched_why why, int cpu)
{
	if (cxlmu_sched_on && !sched_self)
		sched_record(why, cpu, (pid_t)rawsys(SYS_gettid, 0, 0, 0, 0));
}

void cxlmu_sched_alone(int cpu, int delta)
{
	if (cpu >= 0 && cpu < MAX_CPUS)
		atomic_fetch_add_explicit(&sched.alone[cpu], delta, memory_order_relaxed);
}

void cxlmu_sched_note_alone(int cpu)
{
	if (!cxlmu_sched_on || sched_self || cpu < 0 || cpu >= MAX_CPUS)
		return;
	/* The creator counted it: record() takes that count over. */
	alone_cpu = cpu;
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

void cxlmu_sched_settle(void)
{
	static CXLMU_TLS bool settling;
	struct cxlmu_uthread *f = sched_self;

	/* Nothing to do, as for every sleep of an unpinned program. */
	if (likely(f ? !atomic_load_explicit(&f->move, memory_order_relaxed)
		     : alone_cpu < 0 || !atomic_load_explicit(&sched.cores[alone_cpu],
							      memory_order_acquire)) ||
	    settling)
		return;
	settling = true;
	if (!f) {
		/* Alone on its CPU until fibers came there: it joins them,
		 * once a pending cancellation has acted here (a sleep is a
		 * cancellation point), never on a host. */
		void (*testcancel)(void) = CXLMU_LIBC(pthread_testcancel);
		if (testcancel)
			testcancel();
		cxlmu_sched_adopt(alone_cpu, CXLMU_WHY_SHARED);
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
	for (int cpu = 0; cpu < MAX_CPUS; cpu++)
		atomic_store_explicit(&sched.alone[cpu], 0, memory_order_relaxed);
	if (alone_cpu >= 0)
		atomic_store_explicit(&sched.alone[alone_cpu], 1, memory_order_relaxed);
}
