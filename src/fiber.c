/* Fiber contexts and stacks (the switch itself is src/fiber_x86_64.S). */
#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "fiber.h"
#include "prim.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

void cxlmu_fiber_make(struct cxlmu_fiber_ctx *ctx, void *stack, size_t size,
		      void (*fn)(void *), void *arg)
{
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	/* The switch frame, laid so that after its ret the stack pointer is
	 * 16-byte aligned (cxlmu_fiber_start then calls fn as the ABI wants);
	 * 16 bytes above it stay free, an end for unwinders. */
	uint64_t *f = (uint64_t *)(top - 16 - 64);
	uint32_t mxcsr;
	uint16_t fcw;

	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(fcw));
	memset(f, 0, 64 + 16);
	f[0] = (uint64_t)mxcsr | (uint64_t)fcw << 32;
	f[1] = 0;                        /* r15 */
	f[2] = 0;                        /* r14 */
	f[3] = 0;                        /* r13 */
	f[4] = (uint64_t)(uintptr_t)arg; /* r12 */
	f[5] = (uint64_t)(uintptr_t)fn;  /* rbx */
	f[6] = 0;                        /* rbp: the end of the frame chain */
	f[7] = (uint64_t)(uintptr_t)cxlmu_fiber_start;
	ctx->sp = f;
	ctx->fs = 0;
}

bool cxlmu_fiber_fsgsbase(void)
{
	return (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
}

int cxlmu_fiber_stack_alloc(struct cxlmu_fiber_stack *st, size_t size, size_t guard)
{
	size_t page = cxlmu_prim_page_size();
	void *p;
	int r;

	size = (size + page - 1) & ~(page - 1);
	guard = (guard + page - 1) & ~(page - 1);
	if (!size || size + guard < size)
		return -EINVAL;
	p = cxlmu_prim_mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if ((r = cxlmu_prim_failed(p)))
		return -r;
	/* The guard is below: stacks grow down into it. */
	if (guard && (r = cxlmu_prim_mprotect(p, guard, PROT_NONE))) {
		cxlmu_prim_munmap(p, size + guard);
		return r;
	}
	st->base = p;
	st->len = size + guard;
	st->stack = (char *)p + guard;
	st->size = size;
	return 0;
}

void cxlmu_fiber_stack_free(struct cxlmu_fiber_stack *st)
{
	if (st->base)
		cxlmu_prim_munmap(st->base, st->len);
	st->base = NULL;
}
