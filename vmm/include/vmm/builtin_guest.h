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
#define BG_PD_GPA		0xa000	/* 4 x 512 x 2 MiB: 4 GiB, identity (v4) */
#define BG_NR_PDS		4
#define BG_CODE_GPA		0x10000
#define BG_CODE_MAX		0x10000
#define BG_HDR_GPA		0x20000	/* progress header */
#define BG_SLOTS_GPA		0x21000	/* one 64-byte progress slot per vCPU */
#define BG_SLOT_SHIFT		6
#define BG_MARKS_GPA		0x22000	/* one resume-mark entry per vCPU (v3) */
#define BG_MARKS_SHIFT		4	/* 16 bytes each */
#define BG_EDU_GPA		0x23000	/* the edu driver's page (v4) */
#define BG_SPEED_GPA		0x24000	/* vCPU 0's sweep and its buckets (v5) */
#define BG_SPEED_RING_GPA	0x25000	/* the bucket ring (v5) */
#define BG_SPEED_RING_LEN	2048	/* entries, a power of 2: 20 s */
#define BG_SPEED_ENTRY_SHIFT	4	/* 16 bytes each */
#define BG_STACKS_GPA		0x100000 /* per vCPU: ring-0 page, ring-3 page */
#define BG_STACK_STRIDE		0x2000
#define BG_PATTERN_GPA		0x200000 /* checksummed memory pattern */
#define BG_PATTERN_SIZE		0x10000
#define BG_EDU_BUF_GPA		0x300000 /* edu DMA: source page, then target page */
#define BG_PD_HIGH_GPA		0x180000 /* PDs of RAM from 4 GiB, 1 GiB each (v6) */
#define BG_NR_PDS_HIGH		124	/* ... up to BG_MAPPED_END */
#define BG_TOUCH_START		0x400000 /* --touch-ram writes from here */
#define BG_SWEEP_SIZE_MAX	0x1000000 /* vCPU 0 sweeps up to 16 MiB (v5) */
#define BG_SWEEP_STRIDE		0x1000	/* one read per 4 KiB page */
#define BG_BUCKET_MS		10	/* the width of a bucket */
#define BG_HIGH_START		0x100000000 /* RAM above the PCI hole, GUEST_HIGH_START */
#define BG_MAPPED_END		0x2000000000 /* the page tables map 128 GiB */
#define BG_UNCACHED_START	0xc0000000 /* from here on: PCI hole, APIC (UC) */
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
#define BG_HDR_EDU_BAR0		0x50	/* u64 edu's BAR0 address, 0: no edu (v4) */
#define BG_HDR_SWEEP_START	0x58	/* u64 vCPU 0 sweeps from here (v5) */
#define BG_HDR_SWEEP_END	0x60	/* u64 ... to here, 0: no sweep (v5) */
#define BG_HDR_BUCKET		0x68	/* u64 TSC ticks per bucket (v5) */
#define BG_HDR_TOUCH_HIGH_END	0x70	/* u64 ... and from 4 GiB up to here (v6) */

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

/*
 * Time to full speed (v5, Documentation/vmm.rst, "Time to full speed").
 * vCPU 0 reads one word of the next page of [SWEEP_START, SWEEP_END) at
 * every loop iteration, round and round, and counts the pages it read in
 * buckets of BG_HDR_BUCKET TSC ticks: bucket n spans ORIGIN + n * BUCKET
 * to the next.  A bucket that ends goes into the ring at index n modulo
 * BG_SPEED_RING_LEN as { n + 1, pages }, pages written first, then the
 * sequence (x86 keeps stores in order; 0: never written).  Buckets with
 * no iteration in them (the vCPU was parked) have no entry: a reader
 * finds an older sequence there.
 * A page that must be faulted in again (rebuild: a new VM with empty
 * second-level page tables) slows the sweep: the buckets after a resume
 * show how long the guest took to run at full speed again.
 * All fields are u64 the guest writes.
 */
#define BG_SPEED_CURSOR		0x00	/* next page to read */
#define BG_SPEED_ORIGIN		0x08	/* TSC where bucket 0 began */
#define BG_SPEED_INDEX		0x10	/* the bucket being counted */
#define BG_SPEED_PAGES		0x18	/* pages read in it so far */
#define BG_SPEED_END		0x20	/* TSC where it ends */
#define BG_SPEED_SWEEPS		0x28	/* whole passes over the region */
#define BG_SPEED_RESUME_TSC	0x30	/* TSC when vCPU 0 saw the last mark */
#define BG_SPEED_RESUME_SWEEPS	0x38	/* SWEEPS then */
#define BG_SPEED_RESUME_MARK	0x40	/* that mark, written last */
#define BG_SPEED_ENTRY_SEQ	0x00	/* bucket index + 1 */
#define BG_SPEED_ENTRY_PAGES	0x08

/*
 * The edu driver's page (v4), at BG_EDU_GPA: vCPU 0 drives QEMU's edu
 * device when BG_HDR_EDU_BAR0 is set (Documentation/vmm.rst, "The edu
 * driver").  Every field is a u64 the guest writes, except
 * BG_EDU_QUIESCE, which the host writes: nonzero, no new DMA round
 * starts (the running one ends), so the counts settle.
 */
#define BG_EDU_STATE		0x00	/* enum below */
#define BG_EDU_RAISED		0x08	/* interrupts asked of edu (DMA with IRQ) */
#define BG_EDU_RECEIVED		0x10	/* edu interrupts the IDT handler took */
#define BG_EDU_DMA_ROUNDS	0x18	/* RAM -> edu -> RAM rounds verified */
#define BG_EDU_DMA_ERRORS	0x20	/* rounds whose copy differed */
#define BG_EDU_REG_CHECKS	0x28	/* liveness and factorial checks */
#define BG_EDU_REG_ERRORS	0x30	/* checks that read a wrong value */
#define BG_EDU_MARKER		0x38	/* written into edu's buffer at start */
#define BG_EDU_MARKER_CHECKS	0x40	/* times the marker was read back */
#define BG_EDU_MARKER_ERRORS	0x48	/* ... and was not the same */
#define BG_EDU_NO_MASTER	0x50	/* rounds that found bus mastering off */
#define BG_EDU_DMA_PHASE	0x58	/* 0 idle, 1 RAM -> edu, 2 edu -> RAM */
#define BG_EDU_CF8		0x60	/* config address of edu's function */
#define BG_EDU_FACT_N		0x68	/* factorial asked for, 0: none */
#define BG_EDU_FACT_WANT	0x70	/* its expected result */
#define BG_EDU_QUIESCE		0x80	/* written by the host */

#define BG_EDU_OFF		0	/* no edu (header) */
#define BG_EDU_RUNNING		1
#define BG_EDU_NOT_FOUND	2	/* no 1234:11e8 on bus 0 */
#define BG_EDU_NO_MSI		3	/* it has no MSI capability */

/* The edu device (QEMU docs/specs/edu.rst) and how the guest uses it. */
#define EDU_VENDOR_DEVICE	0x11e81234
#define EDU_LIVENESS		0x04
#define EDU_FACTORIAL		0x08
#define EDU_STATUS		0x20
#define EDU_STATUS_COMPUTING	0x01
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_ACK		0x64
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98
#define EDU_DMA_RUN		0x1
#define EDU_DMA_TO_RAM		0x2
#define EDU_DMA_IRQ		0x4
#define EDU_BUF_ADDR		0x40000	/* edu's 4 KiB buffer, device side */
#define BG_EDU_PATTERN_SIZE	0x800	/* the pattern a round copies */
#define BG_EDU_MARKER_OFF	0x800	/* the marker, after it, in both */
#define BG_EDU_VECTOR		0x40	/* edu's MSI vector */
#define BG_SPURIOUS_VECTOR	0xff
#define BG_APIC_GPA		0xfee00000
#define BG_APIC_EOI		0xb0
#define BG_APIC_SVR		0xf0
#define BG_APIC_LVT0		0x350
#define BG_PCI_CONF_ADDR	0xcf8
#define BG_PCI_CONF_DATA	0xcfc

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
#define BG_RFLAGS_IF		0x200	/* vCPU 0 with edu: interrupts on */

#define BG_MAGIC		0x3130474253525043ULL /* "CPRSBG01" in memory */
/* 2: gap log, touch; 3: resume mark; 4: edu; 5: sweep buckets; 6: RAM from 4 GiB */
#define BG_VERSION		6

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

/* The edu driver's page (BG_EDU_*), as the status command shows it. */
struct bg_edu {
	u64 bar0;
	u64 state;
	u64 raised;
	u64 received;
	u64 dma_rounds;
	u64 dma_errors;
	u64 reg_checks;
	u64 reg_errors;
	u64 marker_checks;
	u64 marker_errors;
	u64 no_master;
	u64 dma_phase;
};

struct builtin_guest {
	u32 tsc_khz;
	u64 edu_bar0;		/* found at load (PCI bus), 0: no edu */
	u64 report_interval_ms;
	bool touch_ram;
	u64 high_pd_len;	/* bytes of PDs at BG_PD_HIGH_GPA this RAM needs */
	u64 exceptions;
	void *tables;		/* guest RAM up to the TSSs' end, as taken */
	struct bg_vcpu_host host[BG_MAX_VCPUS];
};

/*
 * vCPU @vcpu_id triple-faulted: log which of the guest's descriptor tables,
 * page tables and code no longer hold what they held when this image took
 * the guest (guest RAM was overwritten), or that none changed (the vCPU's
 * state, or its view of guest RAM through its translations, went wrong).
 */
void builtin_guest__check_tables(struct vm *vm, unsigned int vcpu_id);
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
/* How fast vCPU 0 swept before a resume, and when it did again after. */
struct bg_speed {
	u64 bucket_us;		/* the width of a bucket */
	u64 before_pages_s;	/* pages per second, over 320 ms before the pause */
	u64 after_pages_s;	/* ... over 40 ms from the first whole bucket after */
	bool reached;		/* 4 buckets from one after had >= 90% of before */
	u64 full_speed_us;	/* from the resume to the first of those */
};

/*
 * Time to full speed after the resume that set @mark (builtin_guest.h):
 * 0 when known (@speed, reached or not within the ring), -EAGAIN while it
 * may still come, another -errno when it cannot be had (@why says so).
 */
int builtin_guest__full_speed(struct vm *vm, u64 mark, struct bg_speed *speed,
			      const char **why);
/* Sum of all vCPUs' counters: the "counter" of the status command. */
u64 builtin_guest__counter(struct vm *vm);
/* Re-check the memory pattern from the host: true if intact. */
bool builtin_guest__pattern_ok(struct vm *vm);

#endif /* __ASSEMBLER__ */
#endif
