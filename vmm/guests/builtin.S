/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The built-in test guest.  The VMM copies the bytes between
 * builtin_guest_code_start and builtin_guest_code_end to BG_CODE_GPA; every
 * jump inside is relative and every data address is an absolute constant
 * from builtin_guest.h, so the blob runs wherever the VMM links it.
 *
 * Ring 0 only drops to ring 3: on the PVM host ring-0 code is emulated
 * (about 1 us per instruction) while ring 3 runs natively.  The counter loop
 * runs at ring 3 and reports on a port the TSS I/O bitmap opens to it,
 * without a ring transition.  Any exception lands in a ring-0 stub that reports its vector.
 *
 * Entry: %rdi = vCPU id, %rsi = top of this vCPU's ring-3 stack,
 *        %rsp = top of its ring-0 stack (also TSS.RSP0).
 */
#include "vmm/builtin_guest.h"

	.section .rodata.builtin_guest, "a"
	.code64
	.balign 16
	.globl builtin_guest_code_start
builtin_guest_code_start:
	pushq	$BG_USER_DS
	pushq	%rsi
	pushq	$BG_USER_RFLAGS
	pushq	$BG_USER_CS
	leaq	user_main(%rip), %rax
	pushq	%rax
	iretq

/* Ring 3 from here on. */
user_main:
	movq	%rdi, %rbx
	shlq	$BG_SLOT_SHIFT, %rbx
	addq	$BG_SLOTS_GPA, %rbx		/* %rbx = this vCPU's slot */
	movq	%rdi, %rbp
	shlq	$BG_MARKS_SHIFT, %rbp
	addq	$BG_MARKS_GPA, %rbp		/* %rbp = this vCPU's mark entry */
	movq	BG_HDR_GPA + BG_HDR_INTERVAL, %r12

	/*
	 * --touch-ram: write one word in every page of RAM once, vCPU n
	 * taking pages n, n + nr_vcpus, ..., like a guest that used its
	 * memory (the VMM's page tables then map all of it).
	 */
	movq	%rdi, %rcx
	shlq	$12, %rcx
	addq	$BG_TOUCH_START, %rcx
	movl	BG_HDR_GPA + BG_HDR_NR_VCPUS, %edx
	shlq	$12, %rdx
	jmp	6f
5:	movq	%rcx, (%rcx)
	addq	%rdx, %rcx
6:	cmpq	BG_HDR_GPA + BG_HDR_TOUCH_END, %rcx
	jb	5b

	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	movq	%rax, BG_SLOT_START_TSC(%rbx)
	movq	%rax, %r13			/* %r13 = previous TSC */
	leaq	(%rax, %r12), %r14		/* %r14 = next report */
	movq	%rax, %r15	/* %r15 = TSC read before the last mark check */
	movq	BG_HDR_GPA + BG_HDR_RESUME_MARK, %rcx
	movq	%rcx, BG_MARK_SEEN(%rbp)

loop:
	incq	BG_SLOT_COUNTER(%rbx)
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	movq	%rax, BG_SLOT_TSC(%rbx)
	movq	BG_HDR_GPA + BG_HDR_RESUME_MARK, %rcx
	cmpq	BG_MARK_SEEN(%rbp), %rcx
	jne	resumed
mark_checked:
	movq	%rax, %r15
	cmpq	%r13, %rax
	jb	went_backwards
	movq	%rax, %rcx
	subq	%r13, %rcx
	cmpq	BG_SLOT_MAX_GAP(%rbx), %rcx
	jbe	1f
	movq	%rcx, BG_SLOT_MAX_GAP(%rbx)	/* the guest-visible gap */
1:	movq	%rax, %r13
	cmpq	%r14, %rax
	jb	loop

	/* Report time: check memory, then one port write. */
	leaq	(%rax, %r12), %r14
	call	check_pattern
	incq	BG_SLOT_REPORTS(%rbx)
	movl	%edi, %eax
	movw	$BG_PORT_REPORT, %dx
	outl	%eax, %dx
	/*
	 * Our own report (check and exit) is not a gap the VMM caused:
	 * restart the clock, so max_gap leaves it out.  %r15 stays: a pause
	 * that caught the vCPU in its report is measured from before it.
	 */
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	movq	%rax, %r13
	jmp	loop

went_backwards:
	incq	BG_SLOT_BACKWARDS(%rbx)
	movq	%rax, %r13
	jmp	loop

/*
 * A new resume mark (%rcx): every vCPU was parked since %r15 was read and
 * has run again since the mark was.  A TSC read after the mark ends the
 * step; the gap goes out before the mark (the VMM reads them the other
 * way round).
 */
resumed:
	movq	%rcx, %r8
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	movq	%rax, %rcx
	subq	%r15, %rcx
	movq	%rcx, BG_MARK_GAP(%rbp)
	movq	%r8, BG_MARK_SEEN(%rbp)
	jmp	mark_checked

/* Sum the pattern's u64 words and compare with the header's sum. */
check_pattern:
	movq	BG_HDR_GPA + BG_HDR_PATTERN_GPA, %rsi
	movq	BG_HDR_GPA + BG_HDR_PATTERN_SIZE, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
2:	addq	(%rsi), %rax
	addq	$8, %rsi
	decq	%rcx
	jnz	2b
	incq	BG_SLOT_MEM_CHECKS(%rbx)
	cmpq	BG_HDR_GPA + BG_HDR_PATTERN_SUM, %rax
	je	3f
	incq	BG_SLOT_MEM_ERRORS(%rbx)
3:	ret

/*
 * 256 ring-0 stubs, 16 bytes apart, so the IDT can be filled by arithmetic.
 * Nothing is expected to arrive (interrupts stay off): report and stop.
 */
	.balign 16
	.globl builtin_guest_vectors
builtin_guest_vectors:
	vector = 0
	.rept 256
	.balign 16
	pushq	$vector
	jmp	exception
	vector = vector + 1
	.endr

exception:
	popq	%rax
	movw	$BG_PORT_EXCEPTION, %dx
	outl	%eax, %dx
4:	cli
	hlt
	jmp	4b

	.globl builtin_guest_code_end
builtin_guest_code_end:

	.section .note.GNU-stack, "", @progbits
