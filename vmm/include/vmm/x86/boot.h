/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Linux x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst).
 */
#ifndef VMM_X86_BOOT_H
#define VMM_X86_BOOT_H

#include <asm/bootparam.h>

#include "vmm/util.h"

struct vm;
struct vcpu;
struct guest_mem;

/* Guest-physical layout of what the VMM puts in low memory. */
#define BOOT_GDT_GPA		0x500
#define BOOT_ZERO_PAGE_GPA	0x7000
#define BOOT_PML4_GPA		0x9000
#define BOOT_PDPT_GPA		0xa000
#define BOOT_PD_GPA		0xb000	/* 4 pages: identity map of 4 GiB */
#define BOOT_CMDLINE_GPA	0x20000
#define BOOT_CMDLINE_MAX	0x10000
#define BOOT_STACK_GPA		0x8ff0
#define BOOT_MP_AREA_GPA	0x9f000	/* MP config table, reserved in e820 */
#define BOOT_MP_AREA_SIZE	0x1000	/* ... and the floating pointer at 639K */
#define BOOT_MP_FLOAT_OFFSET	0xc00
#define BOOT_KERNEL_GPA		0x100000

#define BOOT_CS			0x10	/* __BOOT_CS */
#define BOOT_DS			0x18	/* __BOOT_DS */

/*
 * Check a bzImage and copy its setup header into @bp.  Returns NULL, or
 * what is wrong with the image.  @setup_len: where the 64-bit kernel starts.
 */
const char *boot__parse_bzimage(const void *image, size_t len,
				struct boot_params *bp, size_t *setup_len);
/* Fill the zero page fields the loader owns (after boot__parse_bzimage). */
void boot__fill_zero_page(struct boot_params *bp, const struct guest_mem *mem,
			  u64 cmdline_gpa, u64 initrd_gpa, u64 initrd_size);
/* Fill the e820 map for this RAM layout; returns the number of entries. */
unsigned int boot__build_e820(const struct guest_mem *mem, struct boot_e820_entry *e,
			      unsigned int max);
/* Where an initrd of @size goes, or 0 if it does not fit. */
u64 boot__initrd_addr(const struct boot_params *bp, const struct guest_mem *mem,
		      u64 kernel_end, u64 size);

struct kvm_sregs;
/*
 * Flat 4 GiB segments, each at the privilege of its selector's RPL: 64-bit
 * code in CS, writable data in DS, ES, FS, GS and SS.  For the Linux boot
 * and the built-in guest alike.
 */
void boot__flat_segments(struct kvm_sregs *sregs, u16 cs, u16 ds);

/* --kernel, --initrd and --cmdline, read and checked before any VM exists. */
struct boot_linux_image {
	void *kernel;
	size_t kernel_len;
	size_t setup_len;		/* the 64-bit kernel starts here */
	struct boot_params *bp;		/* the image's setup header */
	void *initrd;			/* NULL without --initrd */
	size_t initrd_len;
};

struct vmm_config;
/* One error line naming the file and 0, or -errno: no KVM needed. */
int boot__read_linux(const struct vmm_config *cfg, struct boot_linux_image *img);
void boot__free_linux(struct boot_linux_image *img);
/* guests/linux.c loads it (checking what depends on --mem): guest.h. */

/*
 * x86/mptable.c: an Intel MP 1.4 table for @nr_cpus in @area (guest
 * address @gpa, BOOT_MP_AREA_SIZE bytes): the config table at its start,
 * the floating pointer at BOOT_MP_FLOAT_OFFSET.  0 or -errno.
 */
int mptable__write(void *area, u64 gpa, unsigned int nr_cpus);

#endif
