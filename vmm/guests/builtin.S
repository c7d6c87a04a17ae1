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
	movl	$BG_USER_RFLAGS, %eax
	testq	%rdi, %rdi
	jnz	1f
	cmpq	$0, BG_HDR_GPA + BG_HDR_EDU_BAR0
	je	1f
	/*
	 * vCPU 0 takes edu's MSI: software-enable its local APIC (the
	 * spurious vector has a handler), mask LINT0 so no 8259 interrupt
	 * comes in, and let interrupts in at ring 3.
	 */
	movl	$BG_APIC_GPA, %edx
	movl	$(0x100 | BG_SPURIOUS_VECTOR), BG_APIC_SVR(%rdx)
	movl	$0x10000, BG_APIC_LVT0(%rdx)
	orl	$BG_RFLAGS_IF, %eax
1:	pushq	$BG_USER_DS
	pushq	%rsi
	pushq	%rax
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
	testq	%rdi, %rdi
	jnz	7f
	call	edu_init
7:

	/*
	 * --touch-ram: write one word in every page of RAM once, vCPU n
	 * taking pages n, n + nr_vcpus, ..., like a guest that used its
	 * memory (the VMM's page tables then map all of it): below the PCI
	 * hole, then from 4 GiB (version 6).
	 */
	movl	BG_HDR_GPA + BG_HDR_NR_VCPUS, %edx
	shlq	$12, %rdx
	movq	%rdi, %rcx
	shlq	$12, %rcx
	addq	$BG_TOUCH_START, %rcx
	jmp	6f
5:	movq	%rcx, (%rcx)
	addq	%rdx, %rcx
6:	cmpq	BG_HDR_GPA + BG_HDR_TOUCH_END, %rcx
	jb	5b
	movq	%rdi, %rcx
	shlq	$12, %rcx
	movabsq	$BG_HIGH_START, %rax
	addq	%rax, %rcx
	jmp	6f
5:	movq	%rcx, (%rcx)
	addq	%rdx, %rcx
6:	cmpq	BG_HDR_GPA + BG_HDR_TOUCH_HIGH_END, %rcx
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
	testq	%rdi, %rdi
	jnz	loop
	call	sweep_init

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
	testq	%rdi, %rdi
	jnz	1f
	call	sweep_step
1:	cmpq	%r13, %rax
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
	testq	%rdi, %rdi
	jnz	8f
	call	edu_tick
8:	incq	BG_SLOT_REPORTS(%rbx)
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
	testq	%rdi, %rdi
	jnz	mark_checked
	/* vCPU 0: where the resume falls in its buckets, the mark last. */
	movq	%rax, BG_SPEED_GPA + BG_SPEED_RESUME_TSC
	movq	BG_SPEED_GPA + BG_SPEED_SWEEPS, %rcx
	movq	%rcx, BG_SPEED_GPA + BG_SPEED_RESUME_SWEEPS
	movq	%r8, BG_SPEED_GPA + BG_SPEED_RESUME_MARK
	jmp	mark_checked

/*
 * vCPU 0's sweep (builtin_guest.h, "Time to full speed").  %rax: the TSC
 * now, kept; uses %rcx, %rdx and %r8.
 */
sweep_init:
	movq	BG_HDR_GPA + BG_HDR_SWEEP_START, %rcx
	movq	%rcx, BG_SPEED_GPA + BG_SPEED_CURSOR
	movq	%rax, BG_SPEED_GPA + BG_SPEED_ORIGIN
	movq	%rax, %rcx
	addq	BG_HDR_GPA + BG_HDR_BUCKET, %rcx
	movq	%rcx, BG_SPEED_GPA + BG_SPEED_END
	ret

sweep_step:
	movq	BG_HDR_GPA + BG_HDR_SWEEP_END, %rdx
	testq	%rdx, %rdx
	jz	9f
	movq	BG_SPEED_GPA + BG_SPEED_CURSOR, %rcx
	movq	(%rcx), %r8			/* the read that may fault */
	addq	$BG_SWEEP_STRIDE, %rcx
	cmpq	%rdx, %rcx
	jb	1f
	movq	BG_HDR_GPA + BG_HDR_SWEEP_START, %rcx
	incq	BG_SPEED_GPA + BG_SPEED_SWEEPS
1:	movq	%rcx, BG_SPEED_GPA + BG_SPEED_CURSOR
	incq	BG_SPEED_GPA + BG_SPEED_PAGES
	cmpq	BG_SPEED_GPA + BG_SPEED_END, %rax
	jb	9f
	/* The bucket ended: into the ring, then count the one %rax is in. */
	movq	BG_SPEED_GPA + BG_SPEED_INDEX, %rcx
	movl	%ecx, %edx
	andl	$(BG_SPEED_RING_LEN - 1), %edx
	shll	$BG_SPEED_ENTRY_SHIFT, %edx
	movq	BG_SPEED_GPA + BG_SPEED_PAGES, %r8
	movq	%r8, BG_SPEED_RING_GPA + BG_SPEED_ENTRY_PAGES(%rdx)
	incq	%rcx
	movq	%rcx, BG_SPEED_RING_GPA + BG_SPEED_ENTRY_SEQ(%rdx)
	movq	$0, BG_SPEED_GPA + BG_SPEED_PAGES
	/* A parked span may have skipped buckets: divide, rarely. */
	movq	%rax, %r8
	subq	BG_SPEED_GPA + BG_SPEED_ORIGIN, %rax
	xorl	%edx, %edx
	divq	BG_HDR_GPA + BG_HDR_BUCKET
	movq	%rax, BG_SPEED_GPA + BG_SPEED_INDEX
	incq	%rax
	mulq	BG_HDR_GPA + BG_HDR_BUCKET
	addq	BG_SPEED_GPA + BG_SPEED_ORIGIN, %rax
	movq	%rax, BG_SPEED_GPA + BG_SPEED_END
	movq	%r8, %rax
9:	ret

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
 * The edu driver (vCPU 0, ring 3; Documentation/vmm.rst, "The edu driver").
 * Its state lives in the page at BG_EDU_GPA, so it is the same after a
 * live upgrade; these functions keep %rdi and the loop's registers and
 * may use %rax, %rcx, %rdx, %rsi and %r8 to %r11.
 */

/* %eax: a config address on bus 0; returns the dword there in %eax. */
pci_read:
	movw	$BG_PCI_CONF_ADDR, %dx
	outl	%eax, %dx
	movw	$BG_PCI_CONF_DATA, %dx
	inl	%dx, %eax
	ret

/* %eax: a config address on bus 0, %ecx: the dword to write there. */
pci_write:
	movw	$BG_PCI_CONF_ADDR, %dx
	outl	%eax, %dx
	movl	%ecx, %eax
	movw	$BG_PCI_CONF_DATA, %dx
	outl	%eax, %dx
	ret

/*
 * Once, when the VMM gave edu's BAR0: find edu on bus 0, point its MSI at
 * vCPU 0's local APIC, turn on memory decoding and bus mastering, and put
 * a marker after the first round's pattern, so that round writes it into
 * edu's buffer and every later one reads it back.
 */
edu_init:
	cmpq	$0, BG_HDR_GPA + BG_HDR_EDU_BAR0
	je	9f
	movl	$0x80000000, %r8d		/* bus 0, slot 0, function 0 */
1:	movl	%r8d, %eax
	call	pci_read
	cmpl	$EDU_VENDOR_DEVICE, %eax
	je	2f
	addl	$0x800, %r8d			/* next slot */
	cmpl	$0x80010000, %r8d
	jb	1b
	movq	$BG_EDU_NOT_FOUND, BG_EDU_GPA + BG_EDU_STATE
	ret
2:	movq	%r8, BG_EDU_GPA + BG_EDU_CF8
	leal	0x34(%r8), %eax			/* capabilities pointer */
	call	pci_read
	movzbl	%al, %ecx
	movl	$48, %r9d			/* a looping list ends too */
3:	andl	$0xfc, %ecx
	jz	4f
	leal	(%r8, %rcx), %eax
	call	pci_read
	cmpb	$0x05, %al			/* MSI */
	je	5f
	movzbl	%ah, %ecx
	decl	%r9d
	jnz	3b
4:	movq	$BG_EDU_NO_MSI, BG_EDU_GPA + BG_EDU_STATE
	ret
5:	leal	(%r8, %rcx), %r10d		/* %r10d: the capability */
	movl	%eax, %r11d			/* its id, next, control */
	leal	4(%r10), %eax
	movl	$BG_APIC_GPA, %ecx		/* APIC id 0, physical */
	call	pci_write
	leal	8(%r10), %eax
	testl	$(0x80 << 16), %r11d		/* 64-bit address */
	jz	6f
	xorl	%ecx, %ecx
	call	pci_write
	leal	12(%r10), %eax
6:	movl	$BG_EDU_VECTOR, %ecx		/* fixed, edge */
	call	pci_write
	movl	%r11d, %ecx
	andl	$~(0x70 << 16), %ecx		/* one vector */
	orl	$(0x01 << 16), %ecx		/* MSI enable */
	movl	%r10d, %eax
	call	pci_write
	leal	4(%r8), %eax			/* command */
	call	pci_read
	movzwl	%ax, %ecx			/* status: write 0, clears nothing */
	orl	$0x406, %ecx			/* memory, bus master, INTx off */
	leal	4(%r8), %eax
	call	pci_write
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	orq	$1, %rax			/* never 0 */
	movq	%rax, BG_EDU_GPA + BG_EDU_MARKER
	movq	%rax, BG_EDU_BUF_GPA + BG_EDU_MARKER_OFF
	movq	$BG_EDU_RUNNING, BG_EDU_GPA + BG_EDU_STATE
9:	ret

/* At every report of vCPU 0: a step of each edu exercise, none waits. */
edu_tick:
	cmpq	$BG_EDU_RUNNING, BG_EDU_GPA + BG_EDU_STATE
	jne	1f
	movq	BG_HDR_GPA + BG_HDR_EDU_BAR0, %rsi
	call	edu_check_liveness
	call	edu_check_factorial
	call	edu_dma_step
1:	ret

/* edu keeps the complement of what was written to its liveness register. */
edu_check_liveness:
	movl	BG_EDU_GPA + BG_EDU_REG_CHECKS, %eax
	movl	%eax, EDU_LIVENESS(%rsi)
	movl	EDU_LIVENESS(%rsi), %ecx
	notl	%ecx
	incq	BG_EDU_GPA + BG_EDU_REG_CHECKS
	cmpl	%eax, %ecx
	je	1f
	incq	BG_EDU_GPA + BG_EDU_REG_ERRORS
1:	ret

/*
 * edu computes a factorial in a thread: check the one asked for at an
 * earlier report once edu is done, then ask for the next, n from 1 to 12
 * (12! still fits in the 32-bit register).
 */
edu_check_factorial:
	cmpq	$0, BG_EDU_GPA + BG_EDU_FACT_N
	je	2f
	testl	$EDU_STATUS_COMPUTING, EDU_STATUS(%rsi)
	jnz	4f
	movl	EDU_FACTORIAL(%rsi), %eax
	incq	BG_EDU_GPA + BG_EDU_REG_CHECKS
	cmpq	BG_EDU_GPA + BG_EDU_FACT_WANT, %rax
	je	2f
	incq	BG_EDU_GPA + BG_EDU_REG_ERRORS
2:	movq	BG_EDU_GPA + BG_EDU_REG_CHECKS, %rax
	xorl	%edx, %edx
	movl	$12, %ecx
	divq	%rcx
	leal	1(%rdx), %ecx			/* n */
	movl	$1, %eax
	movl	$1, %edx
3:	imull	%edx, %eax
	incl	%edx
	cmpl	%ecx, %edx
	jbe	3b
	movq	%rax, BG_EDU_GPA + BG_EDU_FACT_WANT
	movq	%rcx, BG_EDU_GPA + BG_EDU_FACT_N
	movl	%ecx, EDU_FACTORIAL(%rsi)
4:	ret

/*
 * A DMA round: a pattern RAM -> edu, then edu -> RAM (next page), each
 * with an interrupt (edu copies 100 ms after the command).  An interrupt
 * is only asked for once the last one arrived, so raised - received is 0
 * or 1 and a lost or doubled one shows: a lost one stops the rounds.
 */
edu_dma_step:
	movq	BG_EDU_GPA + BG_EDU_DMA_PHASE, %r8
	testq	%r8, %r8
	jz	edu_dma_start
	testl	$EDU_DMA_RUN, EDU_DMA_CMD(%rsi)
	jnz	1f				/* still copying */
	movq	BG_EDU_GPA + BG_EDU_RECEIVED, %rcx
	cmpq	BG_EDU_GPA + BG_EDU_RAISED, %rcx
	jne	1f				/* its interrupt is not in yet */
	cmpq	$1, %r8
	je	edu_dma_back
	call	edu_dma_verify
	movq	$0, BG_EDU_GPA + BG_EDU_DMA_PHASE
1:	ret

edu_dma_start:
	cmpq	$0, BG_EDU_GPA + BG_EDU_QUIESCE
	jne	3f
	/* The pattern changes every round: a stale copy cannot pass. */
	movq	BG_EDU_GPA + BG_EDU_DMA_ROUNDS, %r9
	shlq	$32, %r9
	movabsq	$0x9e3779b97f4a7c15, %r10
	movl	$BG_EDU_BUF_GPA, %r11d
	xorl	%ecx, %ecx
1:	leaq	(%r9, %rcx), %rax
	imulq	%r10, %rax
	movq	%rax, (%r11, %rcx, 8)
	incl	%ecx
	cmpl	$BG_EDU_PATTERN_SIZE / 8, %ecx
	jb	1b
	movl	$BG_EDU_BUF_GPA, EDU_DMA_SRC(%rsi)
	movl	$EDU_BUF_ADDR, EDU_DMA_DST(%rsi)
	movl	$BG_EDU_PATTERN_SIZE, %eax
	cmpq	$0, BG_EDU_GPA + BG_EDU_DMA_ROUNDS
	jne	2f
	addl	$8, %eax			/* the first round: the marker too */
2:	movl	%eax, EDU_DMA_COUNT(%rsi)
	incq	BG_EDU_GPA + BG_EDU_RAISED
	movq	$1, BG_EDU_GPA + BG_EDU_DMA_PHASE
	movl	$(EDU_DMA_RUN | EDU_DMA_IRQ), EDU_DMA_CMD(%rsi)
3:	ret

edu_dma_back:
	movl	$BG_EDU_BUF_GPA + 0x1000, %r11d
	xorl	%ecx, %ecx
1:	movq	$0, (%r11, %rcx, 8)		/* what edu does not write stays 0 */
	incl	%ecx
	cmpl	$BG_EDU_PATTERN_SIZE / 8 + 1, %ecx
	jb	1b
	movl	$EDU_BUF_ADDR, EDU_DMA_SRC(%rsi)
	movl	%r11d, EDU_DMA_DST(%rsi)
	movl	$BG_EDU_PATTERN_SIZE + 8, EDU_DMA_COUNT(%rsi)
	incq	BG_EDU_GPA + BG_EDU_RAISED
	movq	$2, BG_EDU_GPA + BG_EDU_DMA_PHASE
	movl	$(EDU_DMA_RUN | EDU_DMA_TO_RAM | EDU_DMA_IRQ), EDU_DMA_CMD(%rsi)
	ret

/* The round is back: compare, check the marker and the command register. */
edu_dma_verify:
	movl	$BG_EDU_BUF_GPA, %r11d
	xorl	%ecx, %ecx
1:	movq	(%r11, %rcx, 8), %rax
	cmpq	0x1000(%r11, %rcx, 8), %rax
	jne	2f
	incl	%ecx
	cmpl	$BG_EDU_PATTERN_SIZE / 8, %ecx
	jb	1b
	jmp	3f
2:	incq	BG_EDU_GPA + BG_EDU_DMA_ERRORS
3:	incq	BG_EDU_GPA + BG_EDU_DMA_ROUNDS
	incq	BG_EDU_GPA + BG_EDU_MARKER_CHECKS
	movq	0x1000 + BG_EDU_MARKER_OFF(%r11), %rax
	cmpq	BG_EDU_GPA + BG_EDU_MARKER, %rax
	je	4f
	incq	BG_EDU_GPA + BG_EDU_MARKER_ERRORS
4:	movq	BG_EDU_GPA + BG_EDU_CF8, %rax
	addl	$4, %eax
	call	pci_read
	testl	$0x4, %eax			/* bus master */
	jnz	5f
	incq	BG_EDU_GPA + BG_EDU_NO_MASTER
5:	ret

/*
 * edu's MSI, ring 0, from ring 3 on TSS.RSP0 (vCPU 0 only).  Acknowledge
 * what edu raised, count it, end the interrupt at the local APIC.
 */
	.globl builtin_guest_edu_irq
builtin_guest_edu_irq:
	pushq	%rax
	pushq	%rdx
	movq	BG_HDR_GPA + BG_HDR_EDU_BAR0, %rdx
	movl	EDU_IRQ_STATUS(%rdx), %eax
	movl	%eax, EDU_IRQ_ACK(%rdx)
	incq	BG_EDU_GPA + BG_EDU_RECEIVED
	movl	$BG_APIC_GPA, %edx
	movl	$0, BG_APIC_EOI(%rdx)
	popq	%rdx
	popq	%rax
	iretq

/* The local APIC's spurious vector: nothing to end. */
	.globl builtin_guest_spurious
builtin_guest_spurious:
	iretq

/*
 * 256 ring-0 stubs, 16 bytes apart, so the IDT can be filled by arithmetic.
 * Nothing is expected to arrive (interrupts stay off, except edu's MSI
 * and the spurious vector with edu, which have their own): report and stop.
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
