/* A fiber's sleeps and yields: the poll rule (src/pollrule.h) on the
 * fiber's own sites, a poll that yields while the core makes progress and
 * sleeps as plain would when it is idle (src/sched_wait.h). */
#include "sched_impl.h"
#include "sched_wait.h"

/* A sleeping fiber looks for a cancellation this often. */
#define CANCEL_SLICE_NS 20000000

void cxlmu_sched_yield(void)
{
	struct cxlmu_uthread *f = sched_self;

	f->busy = true;
	sched_reached(f, tsc(), false);
	sched_out(f, OUT_YIELD);
	sched_unbusy(f);
}

static uint64_t sleep_until(struct cxlmu_uthread *f, uint64_t deadline, bool progress)
{
	uint64_t now = cxlmu_prim_now();

	f->busy = true;
	f->sig_intr = false;
	if (progress)
		sched_reached(f, tsc(), false);
	/* In slices, so that a cancellation is seen within one. */
	f->slicing = true;
	do {
		f->deadline = deadline - now > CANCEL_SLICE_NS ? now + CANCEL_SLICE_NS : deadline;
		sched_out(f, OUT_SLEEP);
		now = cxlmu_prim_now();
	} while (now < deadline && !atomic_load_explicit(&f->cancel, memory_order_relaxed) &&
		 !f->sig_intr);
	f->slicing = false;
	sched_unbusy(f);
	return f->sig_intr && now < deadline ? deadline - now : 0;
}

uint64_t cxlmu_sched_sleep_until(uint64_t deadline, bool progress)
{
	struct cxlmu_uthread *f = sched_self;

	/* Not a relative sleep: the next one starts no run (src/pollrule.h). */
	cxlmu_poll_break(&f->polls);
	return sleep_until(f, deadline, progress);
}

uint64_t cxlmu_sched_sleep(uint64_t ns, const void *site)
{
	struct cxlmu_uthread *f = sched_self;
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
	sched_reached(f, start, true);
	cxlmu_poll_begin(s, start);
	seen = atomic_load_explicit(&c->progress, memory_order_relaxed);
	/* Only while another fiber is there to run: a yield that found
	 * nobody would come straight back, and the poller would spin through
	 * its loop (its own work between polls counts as progress), a timeout
	 * counted in such sleeps running out early. Not while a host that
	 * lost the core still runs a fiber on the same CPU: the poll would
	 * spin against it (and the kernel's preemption of it looks like
	 * work). */
	if ((seen >= start || start - seen < plain * sched.tsc_per_us / 1000) &&
	    __atomic_load_n(&c->head, __ATOMIC_RELAXED) &&
	    !atomic_load_explicit(&c->stuck, memory_order_relaxed)) {
		/* Neither woken nor timed out: no trace in the site. */
		sched_out(f, OUT_YIELD);
	} else {
		/* The clock only here: a poll that yields reads none. A poller
		 * whose peer works for milliseconds on another host of the
		 * core (the monitor handed it over) sleeps once, not once per
		 * plain sleep. */
		uint64_t end = cxlmu_poll_stretch(s, start, start + plain * sched.tsc_per_us / 1000,
						  CXLMU_POLL_STRETCH_MAX_NS / 1000 * sched.tsc_per_us);
		f->polling = true;
		f->progress_woke = false;
		f->deadline = cxlmu_prim_now() + (end - start) * 1000 / sched.tsc_per_us;
		sched_out(f, OUT_SLEEP);
		/* Progress woke it (wake_polls), or its time ran out. */
		cxlmu_poll_end(s, f->progress_woke, tsc());
	}
	sched_unbusy(f);
	/* A poll's wait is short: one a signal cut short simply ends. */
	return 0;
}
