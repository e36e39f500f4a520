/* libremote.so: the "remote library" of issue 6's bench, which
 * cxlmu-bench-remote (bench/remote.c) dlopens and calls in a loop, and
 * whose functions `cxlmu-run --remote=...` sends to an agent thread.
 *
 *   int remote(int n, int *a, int *out)
 *       the seed's signature: n units of work over a, starting from *out;
 *       writes the result to *out and returns it
 *   int remote_empty(int n, int *a, int *out)
 *       returns 0 at once, touching nothing: one remote round trip
 *   long remote_chase(const long *next, long start, long steps)
 *       follows next[] steps hops from start and returns where it ends
 *
 * No libc calls, no thread-local state: each function reads its arguments
 * and the memory they point to, nothing else, so it can run on any thread.
 *
 * bench/remote.c includes this file with LIBREMOTE_CODE_ONLY defined, for
 * the units of work alone: the program's local work between calls and the
 * reference that checks the results are the same code as the remote
 * functions, so a unit costs the same on both sides.
 */

/* The array a unit reads: 4096 ints, 16 KiB, so it stays in the L1 or L2
 * cache of whichever CPU runs the unit and a unit costs its arithmetic. */
#define REMOTE_ARRAY_INTS 4096

/* Dependent steps in one unit of work. */
#define REMOTE_UNIT_STEPS 64

/* n units of a dependent hash over a, from x: each step's load address
 * depends on the step before, so neither the compiler nor the CPU can
 * overlap them, and the time is proportional to n. */
static inline unsigned remote_work_units(const int *a, int n, unsigned x)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < REMOTE_UNIT_STEPS; j++) {
			x ^= (unsigned)a[x & (REMOTE_ARRAY_INTS - 1)];
			x *= 0x9e3779b1u;
			x ^= x >> 15;
		}
	}
	return x;
}

/* steps hops along next[] from start: one cache miss a hop once next[] is
 * larger than the caches. */
static inline long remote_chase_hops(const long *next, long start, long steps)
{
	long p = start;

	while (steps-- > 0)
		p = next[p];
	return p;
}

#ifndef LIBREMOTE_CODE_ONLY

#define EXPORT __attribute__((visibility("default")))

EXPORT int remote(int n, int *a, int *out);
EXPORT int remote_empty(int n, int *a, int *out);
EXPORT long remote_chase(const long *next, long start, long steps);

int remote(int n, int *a, int *out)
{
	unsigned x = remote_work_units(a, n, (unsigned)*out);

	*out = (int)x;
	return (int)x;
}

int remote_empty(int n, int *a, int *out)
{
	return 0;
}

long remote_chase(const long *next, long start, long steps)
{
	return remote_chase_hops(next, start, steps);
}

#endif
