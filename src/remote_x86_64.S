/* The remote trampolines and the agent's call, x86-64 System V (src/remote.h).
 *
 * A trampoline stands in for one remote function in the GOT slots and
 * dlsym answers that used to lead to it. It saves the argument registers
 * (rdi, rsi, rdx, rcx, r8, r9, rax for a variadic caller's vector count,
 * xmm0-7) into a struct cxlmu_remote_regs on its own stack, calls
 * cxlmu_remote_enter(index, regs), which has the function run on an agent
 * and fills in the return registers, and returns with rax, rdx, xmm0 and
 * xmm1 as the function left them. Callee-saved registers are the C
 * function's to keep. The stack arguments of the caller are not carried:
 * src/abicheck.c refuses functions that read them.
 *
 * cxlmu_remote_invoke(fn, regs) is the other end, on the agent: it loads
 * the registers, calls fn and stores what it returned. */
#define REGS_SIZE	240	/* sizeof(struct cxlmu_remote_regs) */
#define R_RAX		48
#define R_XMM		64
#define R_RET_RAX	192
#define R_RET_RDX	200
#define R_RET_XMM0	208
#define R_RET_XMM1	224
#define TRAMP_MAX	64	/* CXLMU_REMOTE_MAX */

	.text

	/* 64 entries of 16 bytes: entry i at cxlmu_remote_tramps + 16 * i. */
	.p2align 4
	.globl	cxlmu_remote_tramps
	.hidden	cxlmu_remote_tramps
	.type	cxlmu_remote_tramps, @function
cxlmu_remote_tramps:
	.cfi_startproc
	.set	i, 0
	.rept	TRAMP_MAX
	.p2align 4
	endbr64
	movl	$i, %r11d
	jmp	remote_common
	.set	i, i + 1
	.endr
	.cfi_endproc
	.size	cxlmu_remote_tramps, .-cxlmu_remote_tramps

	.p2align 4
	.type	remote_common, @function
remote_common:
	.cfi_startproc
	/* Entered with rsp = 8 mod 16: 248 bytes make it 16-aligned for the
	 * call; the vector stores are unaligned ones all the same, so a
	 * caller whose stack breaks the ABI's alignment is not the one that
	 * faults here. */
	subq	$REGS_SIZE + 8, %rsp
	.cfi_adjust_cfa_offset REGS_SIZE + 8
	movq	%rdi, 0(%rsp)
	movq	%rsi, 8(%rsp)
	movq	%rdx, 16(%rsp)
	movq	%rcx, 24(%rsp)
	movq	%r8, 32(%rsp)
	movq	%r9, 40(%rsp)
	movq	%rax, R_RAX(%rsp)
	movups	%xmm0, R_XMM + 0(%rsp)
	movups	%xmm1, R_XMM + 16(%rsp)
	movups	%xmm2, R_XMM + 32(%rsp)
	movups	%xmm3, R_XMM + 48(%rsp)
	movups	%xmm4, R_XMM + 64(%rsp)
	movups	%xmm5, R_XMM + 80(%rsp)
	movups	%xmm6, R_XMM + 96(%rsp)
	movups	%xmm7, R_XMM + 112(%rsp)
	movl	%r11d, %edi
	movq	%rsp, %rsi
	call	cxlmu_remote_enter
	movq	R_RET_RAX(%rsp), %rax
	movq	R_RET_RDX(%rsp), %rdx
	movups	R_RET_XMM0(%rsp), %xmm0
	movups	R_RET_XMM1(%rsp), %xmm1
	addq	$REGS_SIZE + 8, %rsp
	.cfi_adjust_cfa_offset -(REGS_SIZE + 8)
	ret
	.cfi_endproc
	.size	remote_common, .-remote_common

	/* void cxlmu_remote_invoke(void *fn, struct cxlmu_remote_regs *regs) */
	.p2align 4
	.globl	cxlmu_remote_invoke
	.hidden	cxlmu_remote_invoke
	.type	cxlmu_remote_invoke, @function
cxlmu_remote_invoke:
	.cfi_startproc
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbx, 0
	movq	%rsi, %rbx
	movq	%rdi, %r11
	movaps	R_XMM + 0(%rbx), %xmm0
	movaps	R_XMM + 16(%rbx), %xmm1
	movaps	R_XMM + 32(%rbx), %xmm2
	movaps	R_XMM + 48(%rbx), %xmm3
	movaps	R_XMM + 64(%rbx), %xmm4
	movaps	R_XMM + 80(%rbx), %xmm5
	movaps	R_XMM + 96(%rbx), %xmm6
	movaps	R_XMM + 112(%rbx), %xmm7
	movq	0(%rbx), %rdi
	movq	8(%rbx), %rsi
	movq	16(%rbx), %rdx
	movq	24(%rbx), %rcx
	movq	32(%rbx), %r8
	movq	40(%rbx), %r9
	movq	R_RAX(%rbx), %rax
	call	*%r11
	movq	%rax, R_RET_RAX(%rbx)
	movq	%rdx, R_RET_RDX(%rbx)
	movaps	%xmm0, R_RET_XMM0(%rbx)
	movaps	%xmm1, R_RET_XMM1(%rbx)
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbx
	ret
	.cfi_endproc
	.size	cxlmu_remote_invoke, .-cxlmu_remote_invoke

	/* The dlsym and dlvsym that modules' GOT slots lead to under --remote.
	 * RTLD_NEXT, and a name no SPEC names, go on to libc's with the
	 * caller's return address untouched (a tail jump), so the lookup keeps
	 * the caller's scope (RTLD_NEXT is relative to the caller: answered
	 * from here it would be relative to the runtime, and a wrapper library
	 * would find itself). A name a SPEC names, with any other handle, is
	 * looked up in C, where a remote function's address is answered with
	 * its trampoline. */
	.p2align 4
	.globl	cxlmu_remote_dlsym_hook
	.hidden	cxlmu_remote_dlsym_hook
	.type	cxlmu_remote_dlsym_hook, @function
cxlmu_remote_dlsym_hook:
	.cfi_startproc
	endbr64
	cmpq	$-1, %rdi		/* RTLD_NEXT: only libc knows the caller */
	je	1f
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	pushq	%rsi
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	movq	%rsi, %rdi
	call	cxlmu_remote_dlsym_wanted
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%rsi
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	testl	%eax, %eax
	jnz	cxlmu_remote_dlsym
1:	jmp	*cxlmu_remote_real_dlsym(%rip)
	.cfi_endproc
	.size	cxlmu_remote_dlsym_hook, .-cxlmu_remote_dlsym_hook

	.p2align 4
	.globl	cxlmu_remote_dlvsym_hook
	.hidden	cxlmu_remote_dlvsym_hook
	.type	cxlmu_remote_dlvsym_hook, @function
cxlmu_remote_dlvsym_hook:
	.cfi_startproc
	endbr64
	cmpq	$-1, %rdi
	je	1f
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	pushq	%rsi
	.cfi_adjust_cfa_offset 8
	pushq	%rdx
	.cfi_adjust_cfa_offset 8
	movq	%rsi, %rdi
	call	cxlmu_remote_dlsym_wanted
	popq	%rdx
	.cfi_adjust_cfa_offset -8
	popq	%rsi
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	testl	%eax, %eax
	jnz	cxlmu_remote_dlvsym
1:	jmp	*cxlmu_remote_real_dlvsym(%rip)
	.cfi_endproc
	.size	cxlmu_remote_dlvsym_hook, .-cxlmu_remote_dlvsym_hook

	.section .note.GNU-stack, "", @progbits
