/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The built-in test guest and its guest-physical layout.  The layout is an
 * interface: tests and the live upgrade read the progress page directly
 * from guest RAM (Documentation/vmm.rst, "Built-in guest").  This header is
 * also included by guests/builtin.S, so it holds only #defines there.
 */
#ifndef VMM_BUILTIN_GUEST_H
#define VMM_BUILTIN_GUEST_H

#define BG_GDT_GPA		0x1000
#define BG_IDT_GPA		0x2000
#define BG_TSS_GPA		0x40000	/* one TSS + I/O bitmap per vCPU */
#define BG_TSS_STRIDE		0x400
#define BG_TSS_IOMAP		104	/* I/O bitmap offset in the TSS */
#define BG_TSS_IOMAP_LEN	(0xe00 / 8)	/* covers ports 0 to 0xdff */
#define BG_PML4_GPA		0x8000
#define BG_PDPT_GPA		0x9000
#define BG_PD_GPA		0xa000	/* 512 x 2 MiB: the first GiB, identity */
#define BG_CODE_GPA		0x10000
#define BG_CODE_MAX		0x10000
#define BG_HDR_GPA		0x20000	/* progress header */
#define BG_SLOTS_GPA		0x21000	/* one 64-byte progress slot per vCPU */
#define BG_SLOT_SHIFT		6
#define BG_MARKS_GPA		0x22000	/* one resume-mark entry per vCPU (v3) */
#define BG_MARKS_SHIFT		4	/* 16 bytes each */
#define BG_STACKS_GPA		0x100000 /* per vCPU: ring-0 page, ring-3 page */
#define BG_STACK_STRIDE		0x2000
#define BG_PATTERN_GPA		0x200000 /* checksummed memory pattern */
#define BG_PATTERN_SIZE		0x10000
#define BG_TOUCH_START		0x400000 /* --touch-ram writes from here */
#define BG_MAPPED_END		0x40000000 /* the page tables map the first GiB */
#define BG_MAX_VCPUS		64

/* Progress header fields (offsets from BG_HDR_GPA), written by the VMM. */
#define BG_HDR_MAGIC		0x00	/* BG_MAGIC */
#define BG_HDR_VERSION		0x08	/* u32 BG_VERSION */
#define BG_HDR_NR_VCPUS		0x0c	/* u32 */
#define BG_HDR_INTERVAL		0x10	/* u64 TSC ticks between reports */
#define BG_HDR_PATTERN_GPA	0x18	/* u64 */
#define BG_HDR_PATTERN_SIZE	0x20	/* u64 bytes, multiple of 8 */
#define BG_HDR_PATTERN_SUM	0x28	/* u64 sum of the pattern's u64 words */
#define BG_HDR_TSC_KHZ		0x30	/* u64 guest TSC frequency */
/* 0x38: unused since version 3 */
#define BG_HDR_TOUCH_END	0x40	/* u64 touch RAM up to here at start */
#define BG_HDR_RESUME_MARK	0x48	/* u64 changed while every vCPU is parked (v3) */

/* Progress slot fields (offsets in a vCPU's slot), written by the guest. */
#define BG_SLOT_COUNTER		0x00	/* u64 loop iterations */
#define BG_SLOT_TSC		0x08	/* u64 guest TSC of the last iteration */
#define BG_SLOT_MAX_GAP		0x10	/* u64 longest TSC step seen */
#define BG_SLOT_BACKWARDS	0x18	/* u64 times the TSC went backwards */
#define BG_SLOT_REPORTS		0x20	/* u64 reports sent on BG_PORT_REPORT */
#define BG_SLOT_MEM_CHECKS	0x28	/* u64 pattern checks done */
#define BG_SLOT_MEM_ERRORS	0x30	/* u64 pattern checks that failed */
#define BG_SLOT_START_TSC	0x38	/* u64 guest TSC when the loop started */

/*
 * Resume mark entry of a vCPU (offsets in its entry), written by the guest.
 * The VMM changes BG_HDR_RESUME_MARK while every vCPU is parked, before
 * they run again.  Each loop iteration reads the TSC, then the mark; the
 * first iteration that sees a new mark reads the TSC once more and stores
 * the step from the TSC read before the last check of the old mark: that
 * step began before the vCPU was parked and ended after it ran again, so
 * it spans the whole parked time by construction.  MARK_GAP is written
 * before MARK_SEEN (x86 keeps stores in order): seeing the mark, the VMM
 * reads a complete gap.
 */
#define BG_MARK_SEEN		0x00	/* u64 the last mark this vCPU saw */
#define BG_MARK_GAP		0x08	/* u64 TSC ticks across its change */

/* outl(vcpu id) every report interval, from ring 3 (TSS I/O bitmap). */
#define BG_PORT_REPORT		0x0de0
/* outl(vector) from the ring-0 handler of any exception or interrupt. */
#define BG_PORT_EXCEPTION	0x0de4

#define BG_KERNEL_CS		0x08
#define BG_KERNEL_DS		0x10
#define BG_USER_CS		(0x18 | 3)
#define BG_USER_DS		(0x20 | 3)
#define BG_TSS_SEL(id)		(0x28 + (id) * 16)
#define BG_USER_RFLAGS		0x3002	/* IOPL 3, interrupts off */

#define BG_MAGIC		0x3130474253525043ULL /* "CPRSBG01" in memory */
#define BG_VERSION		3	/* 2: gap log, touch; 3: resume mark */

#ifndef __ASSEMBLER__
#include "vmm/util.h"

struct vm;
struct vcpu;

/* One vCPU's progress as the guest wrote it (struct of the slot). */
struct bg_slot {
	u64 counter;
	u64 tsc;
	u64 max_gap;
	u64 backwards;
	u64 reports;
	u64 mem_checks;
	u64 mem_errors;
	u64 start_tsc;
};

/*
 * What the VMM saw of one vCPU's reports.  A report is an exit of that
 * vCPU, so its slot is still while the VMM reads it: counter and TSC are
 * the pair the guest had at the report.
 */
struct bg_vcpu_host {
	u64 reported;		/* counter at the last report */
	u64 reported_tsc;	/* guest TSC at the last report */
	u64 regressions;	/* reports whose counter or TSC went backwards */
	u64 nr_reports;		/* reports the VMM received */
	u64 last_report_ns;
};

struct builtin_guest {
	u32 tsc_khz;
	u64 report_interval_ms;
	bool touch_ram;
	u64 exceptions;
	struct bg_vcpu_host host[BG_MAX_VCPUS];
};

/* Snapshot of a vCPU's progress slot, read from guest RAM. */
void builtin_guest__read_slot(struct vm *vm, unsigned int id, struct bg_slot *slot);
/*
 * Every vCPU parked: change the resume mark (builtin_guest.h) and return
 * it, or 0 for a guest whose code predates the mark (@why says so).
 */
u64 builtin_guest__mark_resume(struct vm *vm, const char **why);
/*
 * The TSC step vCPU @id saw across the parked span that ended with
 * @mark, in ticks.  False while the vCPU has not run since the resume.
 */
bool builtin_guest__resume_gap(struct vm *vm, unsigned int id, u64 mark, u64 *gap);
/* Sum of all vCPUs' counters: the "counter" of the status command. */
u64 builtin_guest__counter(struct vm *vm);
/* Re-check the memory pattern from the host: true if intact. */
bool builtin_guest__pattern_ok(struct vm *vm);

#endif /* __ASSEMBLER__ */
#endif
