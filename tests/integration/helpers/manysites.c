/* Allocations from thousands of distinct call stacks, for secure-files.sh:
 * with CXLMU_SAMPLE_BYTES=1 their profile is far larger than a pipe's
 * 64 KiB buffer.
 *   manysites [N]   N allocations (default 4096, at most 4096), allocation
 *                   i made by leaf() at the end of a chain of four step
 *                   functions picked by the base-8 digits of i, so each
 *                   i has its own stack; all freed at the end
 * Prints "manysites: N blocks" on stdout and exits 0, with or without the
 * preload. Every call is followed by an asm barrier, so none is a tail
 * call and each chain really is on the stack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define MAXN 4096u

typedef void *(*step_fn)(unsigned code, unsigned depth);
static step_fn steps[8];

static NOINLINE void *leaf(unsigned code)
{
	char *p = malloc(16 + code % 200);

	if (p)
		memset(p, (int)(code & 0xff), 16);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

#define STEP(k)								\
	static NOINLINE void *step##k(unsigned code, unsigned depth)	\
	{								\
		void *p = depth ? steps[code % 8](code / 8, depth - 1)	\
				: leaf(code + k);			\
		__asm__ volatile("" : : "r"(p) : "memory");		\
		return p;						\
	}
STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)

int main(int argc, char **argv)
{
	static void *block[MAXN];
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : MAXN;

	if (n > MAXN)
		n = MAXN;
	steps[0] = step0; steps[1] = step1; steps[2] = step2; steps[3] = step3;
	steps[4] = step4; steps[5] = step5; steps[6] = step6; steps[7] = step7;
	for (unsigned i = 0; i < n; i++) {
		block[i] = steps[i % 8](i / 8, 3);
		if (!block[i]) {
			fprintf(stderr, "manysites: malloc failed\n");
			return 1;
		}
	}
	for (unsigned i = 0; i < n; i++)
		free(block[i]);
	printf("manysites: %u blocks\n", n);
	return 0;
}
