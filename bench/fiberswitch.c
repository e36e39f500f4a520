/* What one fiber switch costs: two contexts hand control back and forth
 * N times with cxlmu_fiber_switch, and with cxlmu_fiber_switch_fs (which
 * also moves the FS base, where the CPU allows it), against the issue's
 * target of 50 ns per switch. The best of several rounds is kept (the
 * machine is shared; a round that got preempted says nothing about the
 * switch). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fiber.h"

static struct cxlmu_fiber_ctx main_ctx, fib_ctx;
static bool use_fs;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void bouncer(void *arg)
{
	(void)arg;
	for (;;) {
		if (use_fs)
			cxlmu_fiber_switch_fs(&fib_ctx, &main_ctx);
		else
			cxlmu_fiber_switch(&fib_ctx, &main_ctx);
	}
}

/* ns per switch (a round trip is two). */
static double measure(bool fs, long n, int rounds)
{
	double best = 1e30;

	use_fs = fs;
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();
		for (long i = 0; i < n; i++) {
			if (fs)
				cxlmu_fiber_switch_fs(&main_ctx, &fib_ctx);
			else
				cxlmu_fiber_switch(&main_ctx, &fib_ctx);
		}
		double ns = (double)(now_ns() - t0) / (double)(2 * n);
		if (ns < best)
			best = ns;
	}
	return best;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	struct cxlmu_fiber_stack st;
	double plain, fs = -1;

	if (n <= 0) {
		fprintf(stderr, "cxlmu-bench-fiberswitch: '%s' is not a positive switch count\n", argv[1]);
		return 2;
	}
	if (cxlmu_fiber_stack_alloc(&st, 64 * 1024, 4096)) {
		fprintf(stderr, "cxlmu-bench-fiberswitch: cannot map a fiber stack\n");
		return 1;
	}
	cxlmu_fiber_make(&fib_ctx, st.stack, st.size, bouncer, NULL);
	plain = measure(false, n, 7);
	if (cxlmu_fiber_fsgsbase()) {
		/* The fiber keeps this thread's own FS base (on glibc x86-64 a
		 * pthread_t is the thread control block it points to): what is
		 * measured is the rdfsbase/wrfsbase pair, not a change of
		 * identity. */
		fib_ctx.fs = (uintptr_t)pthread_self();
		fs = measure(true, n, 7);
	}
	printf("fiber switch, %ld round trips, best of 7 rounds\n", n);
	printf("%-28s %8s %8s\n", "switch", "ns", "target");
	printf("%-28s %8.1f %8s %s\n", "registers, MXCSR, x87 CW", plain, "<=50",
	       plain <= 50 ? "PASS" : "MISS");
	if (fs >= 0)
		printf("%-28s %8.1f %8s %s\n", "the same and the FS base", fs, "<=50",
		       fs <= 50 ? "PASS" : "MISS");
	else
		printf("%-28s %8s (no FSGSBASE here)\n", "the same and the FS base", "-");
	cxlmu_fiber_stack_free(&st);
	return 0;
}
