/* Can a function be called through the remote trampoline? The trampoline
 * (src/remote_x86_64.S) carries the six integer and eight vector argument
 * registers and the rax:rdx and xmm0:xmm1 return registers of the x86-64
 * System V ABI, and nothing else. A function that reads arguments from the
 * stack (a seventh integer argument, a ninth vector one, a struct or long
 * double passed in memory), a variadic one, or one that returns in the x87
 * registers (long double) cannot be carried. Binaries have no types, so
 * this reads the function's machine code with capstone (loaded with
 * dlopen, only when --remote is used) and looks for the signs: accesses
 * above the return address on the entry stack, %al read before it is
 * written (the variadic prologue), x87 instructions. */
#ifndef CXLMU_SRC_ABICHECK_H
#define CXLMU_SRC_ABICHECK_H

#include <stddef.h>

enum cxlmu_abicheck {
	CXLMU_ABI_OK = 0,        /* nothing the trampoline cannot carry */
	CXLMU_ABI_STACK_ARGS,    /* reads or takes the address of stack arguments */
	CXLMU_ABI_VARIADIC,      /* reads %al at entry: a variadic prologue */
	CXLMU_ABI_X87,           /* uses the x87 registers (long double) */
	CXLMU_ABI_UNCHECKED,     /* cannot be read: no size, too large, undecodable,
				  * or capstone missing */
};

/* Check the size bytes of code at code (the function's entry; size is
 * its ELF symbol's st_size, and all of it must be readable). Reads at most
 * 64 KiB: a larger function is CXLMU_ABI_UNCHECKED. why (may be NULL) gets
 * what was missing on CXLMU_ABI_UNCHECKED, the instruction that gave the
 * verdict away on a refusal ("+0x7: mov ecx, dword ptr [rsp + 8]"), and ""
 * on CXLMU_ABI_OK. The first call loads capstone (dlopen); its tables come
 * from mmap, but dlopen and capstone itself use the program's malloc: call
 * outside hooks. Thread-safe. */
enum cxlmu_abicheck cxlmu_abicheck(const void *code, size_t size, char *why, size_t whysize);

/* A short phrase for a verdict, to follow a function's name in messages:
 * "takes arguments on the stack", "is variadic", ... */
const char *cxlmu_abicheck_name(enum cxlmu_abicheck v);

#endif
