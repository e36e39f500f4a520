/* The user-space context switch fibers run on (x86-64 System V): the
 * callee-saved registers, the stack pointer, MXCSR and the x87 control
 * word, and, where the CPU and kernel allow user code to write it
 * (AT_HWCAP2 has HWCAP2_FSGSBASE), the FS base, which on glibc is the
 * thread pointer: switching it with the stack gives each fiber its own
 * thread control block, so __thread variables, errno and pthread_self are
 * the fiber's. No system call on the way (swapcontext makes one). */
#ifndef CXLMU_SRC_FIBER_H
#define CXLMU_SRC_FIBER_H

#include "internal.h"

/* A saved context: its stack pointer (everything else is on that stack)
 * and, for the _fs switch, its FS base. */
struct cxlmu_fiber_ctx {
	void *sp;
	uintptr_t fs;
};

/* Save the current context into from and resume to. Returns when some
 * other switch resumes from. The _fs form also saves and loads the FS base:
 * only where cxlmu_fiber_fsgsbase() says so (else SIGILL). Identity changes
 * inside these routines only, never in the middle of C code that touches
 * TLS: compilers cache TLS addresses within a function. */
void cxlmu_fiber_switch(struct cxlmu_fiber_ctx *from, struct cxlmu_fiber_ctx *to);
void cxlmu_fiber_switch_fs(struct cxlmu_fiber_ctx *from, struct cxlmu_fiber_ctx *to);

/* Prepare ctx to run fn(arg) on [stack, stack + size) when first switched
 * to, with the calling context's MXCSR and x87 control word. fn must never
 * return: it ends by switching away for good. */
void cxlmu_fiber_make(struct cxlmu_fiber_ctx *ctx, void *stack, size_t size,
		      void (*fn)(void *), void *arg);
/* Where such a context starts (src/fiber_x86_64.S): calls fn(arg) from
 * the frame cxlmu_fiber_make laid. Never called from C. */
void cxlmu_fiber_start(void);

/* True when user code may write the FS base (wrfsbase). */
bool cxlmu_fiber_fsgsbase(void);

/* A fiber stack: size usable bytes above a guard of PROT_NONE pages, from
 * mmap. Returns 0 or -errno. */
struct cxlmu_fiber_stack {
	void *base;       /* the mapping, guard included */
	size_t len;
	void *stack;      /* lowest usable byte */
	size_t size;
};
int cxlmu_fiber_stack_alloc(struct cxlmu_fiber_stack *st, size_t size, size_t guard);
void cxlmu_fiber_stack_free(struct cxlmu_fiber_stack *st);

#endif
