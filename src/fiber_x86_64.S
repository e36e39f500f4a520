/* cxlmu_fiber_switch and cxlmu_fiber_switch_fs (src/fiber.h), x86-64 System V.
 *
 * The frame a switch leaves on the stack it leaves, from the saved stack
 * pointer up: MXCSR (4 bytes), x87 control word (2, padded to 4), r15, r14,
 * r13, r12, rbx, rbp, the return address. cxlmu_fiber_make builds the same
 * frame on a new stack with fiber_start as its return address. Caller-saved
 * registers need no saving: the switch is a call. */
	.text

	/* Push the frame described above; then rsp is the context's sp. */
	.macro SAVE_FRAME
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	.endm

	/* Pop it from the new stack and return into the context resumed. */
	.macro RESTORE_FRAME
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.endm

	.globl	cxlmu_fiber_switch
	.hidden	cxlmu_fiber_switch
	.type	cxlmu_fiber_switch, @function
	.p2align 4
cxlmu_fiber_switch:
	.cfi_startproc
	SAVE_FRAME
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	RESTORE_FRAME
	.cfi_endproc
	.size	cxlmu_fiber_switch, .-cxlmu_fiber_switch

	/* The same, with the FS base saved in from->fs and loaded from to->fs
	 * (offset 8 of struct cxlmu_fiber_ctx). */
	.globl	cxlmu_fiber_switch_fs
	.hidden	cxlmu_fiber_switch_fs
	.type	cxlmu_fiber_switch_fs, @function
	.p2align 4
cxlmu_fiber_switch_fs:
	.cfi_startproc
	SAVE_FRAME
	rdfsbase %rax
	movq	%rax, 8(%rdi)
	movq	%rsp, (%rdi)
	movq	8(%rsi), %rax
	wrfsbase %rax
	movq	(%rsi), %rsp
	RESTORE_FRAME
	.cfi_endproc
	.size	cxlmu_fiber_switch_fs, .-cxlmu_fiber_switch_fs

	/* A new fiber's first return lands here with fn in rbx and its
	 * argument in r12 (from the frame cxlmu_fiber_make built) and the
	 * stack 16-byte aligned, as before a call. fn never returns. */
	.globl	cxlmu_fiber_start
	.hidden	cxlmu_fiber_start
	.type	cxlmu_fiber_start, @function
	.p2align 4
cxlmu_fiber_start:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r12, %rdi
	callq	*%rbx
	ud2
	.cfi_endproc
	.size	cxlmu_fiber_start, .-cxlmu_fiber_start

	.section .note.GNU-stack, "", @progbits
