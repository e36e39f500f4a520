/* The monitor: one thread, a 1 ms tick; a core whose owner has not
 * switched while work waits, and is stuck in a fiber (blocked in the
 * kernel or computing), gets a second host. */
#include <time.h>

#include "sched_impl.h"

/* The monitor's tick, and how many ticks without a switch make a core
 * stuck. */
#define MONITOR_NS      1000000
#define STUCK_TICKS     2

/* Does c have work its owner cannot get to? Under the lock. */
static bool waiting_work(struct cxlmu_core *c, uint64_t now)
{
	return c->head || (c->sleepers && c->sleepers->deadline <= now) ||
	       (c->polls && c->poll_min <= now) ||
	       sched_ring_pending(c) || atomic_load_explicit(&c->sigwake, memory_order_relaxed);
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

void *sched_monitor_main(void *arg)
{
	(void)arg;
	cxlmu_prim_set_thread_name("cxlmu-monitor");
	for (;;) {
		struct timespec ts = { 0, MONITOR_NS };
		uint64_t now;

		/* Not clock_nanosleep: the program's sleeps are hooked. */
		rawsys(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&ts, 0);
		now = cxlmu_prim_now();
		for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
			struct cxlmu_core *c = atomic_load_explicit(&sched.cores[cpu], memory_order_acquire);
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
			/* A fiber on the vwait list whose word moved is work
			 * too: a waker that goes around the hooks (sem_post, a
			 * raw FUTEX_WAKE) finds no wait in the kernel while the
			 * owner runs fibers, and only a look at the words sees
			 * it (on 6.1, CPython's thread start waited in sem_wait
			 * for the whole of a new thread's busy loop, the loop
			 * it was to stop). An idle owner is kicked to run it. */
			spin_lock(&c->lock);
			bool had = c->head;
			if (c->vwait)
				sched_vwait_scan(c);
			bool moved = !had && c->head;
			work = waiting_work(c, now);
			spin_unlock(&c->lock);
			if (moved)
				sched_kick(c);
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
			if (!sched_add_host(c)) {
				atomic_fetch_add_explicit(&sched.totals.handoffs, 1, memory_order_relaxed);
				if (old && !atomic_exchange_explicit(&old->stuck, true, memory_order_relaxed))
					atomic_fetch_add_explicit(&c->stuck, 1, memory_order_relaxed);
			}
		}
	}
	return NULL;
}
