// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux x86 boot protocol, 64-bit entry point
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"):
 * the protected-mode kernel is copied to 1 MiB, a zero page (struct
 * boot_params) carries the image's setup header, the command line, the
 * initrd and an e820 map; the BSP starts in long mode at load address +
 * 0x200 with %rsi pointing at the zero page, on identity-mapped page
 * tables covering the kernel, zero page, command line and initrd.
 * The APs stay in wait-for-SIPI: Linux starts them through the LAPIC.
 * The guest finds its CPUs in the ACPI MADT (x86/acpi.c) or, without
 * ACPI, in the MP table (x86/mptable.c); both are written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/guest.h"
#include "vmm/vm.h"
#include "vmm/x86/acpi.h"
#include "vmm/x86/boot.h"

#define SETUP_HDR_OFFSET	0x1f1
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG_MAGIC		0xaa55
#define E820_TYPE_RAM		1
#define E820_TYPE_RESERVED	2
#define BOOT_MIN_VERSION	0x020c		/* 2.12: xloadflags */
#define KERNEL_MAX_SIZE		(512ULL << 20)

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

/* GDT the boot protocol expects: __BOOT_CS at 0x10, __BOOT_DS at 0x18. */
static const u64 boot_gdt[] = {
	0,
	0,
	0x00af9b000000ffffULL,	/* 64-bit code, accessed */
	0x00cf93000000ffffULL,	/* data, accessed */
};

const char *boot__parse_bzimage(const void *image, size_t len,
				struct boot_params *bp, size_t *setup_len)
{
	const u8 *img = image;
	struct setup_header *hdr = &bp->hdr;
	size_t hdr_end, sects;

	memset(bp, 0, sizeof(*bp));
	if (len < 0x1000)
		return "not a bzImage (too small)";
	/* The header's length is encoded in its first jump instruction. */
	hdr_end = 0x202 + img[0x201];
	if (hdr_end > SETUP_HDR_OFFSET + sizeof(*hdr))
		hdr_end = SETUP_HDR_OFFSET + sizeof(*hdr);
	memcpy(hdr, img + SETUP_HDR_OFFSET, hdr_end - SETUP_HDR_OFFSET);
	if (hdr->header != HDRS_MAGIC || hdr->boot_flag != BOOT_FLAG_MAGIC)
		return "not a bzImage (no HdrS signature)";
	if (hdr->version < BOOT_MIN_VERSION)
		return "boot protocol older than 2.12 (no 64-bit entry)";
	if (!(hdr->xloadflags & XLF_KERNEL_64))
		return "no 64-bit entry point (XLF_KERNEL_64 clear)";
	if (!(hdr->loadflags & LOADED_HIGH))
		return "not a bzImage (zImage loads low)";
	sects = hdr->setup_sects ? hdr->setup_sects : 4;
	*setup_len = (sects + 1) * 512;
	if (*setup_len >= len)
		return "truncated (no protected-mode kernel after the setup code)";
	return NULL;
}

unsigned int boot__build_e820(const struct guest_mem *mem, struct boot_e820_entry *e,
			      unsigned int max)
{
	u64 low_end = guest_mem__low_end(mem);
	unsigned int n = 0, i;

	if (max < 4)
		return 0;
	/* Base memory up to the MP table, which is reserved. */
	e[n++] = (struct boot_e820_entry){ 0, BOOT_MP_AREA_GPA, E820_TYPE_RAM };
	e[n++] = (struct boot_e820_entry){ BOOT_MP_AREA_GPA, 0xa0000 - BOOT_MP_AREA_GPA,
					   E820_TYPE_RESERVED };
	/* 640K to 1M is the legacy VGA/ROM hole: not listed. */
	e[n++] = (struct boot_e820_entry){ BOOT_KERNEL_GPA, low_end - BOOT_KERNEL_GPA,
					   E820_TYPE_RAM };
	for (i = 1; i < mem->nr_regions && n < max; i++)
		e[n++] = (struct boot_e820_entry){ mem->regions[i].gpa,
						   mem->regions[i].size, E820_TYPE_RAM };
	return n;
}

u64 boot__initrd_addr(const struct boot_params *bp, const struct guest_mem *mem,
		      u64 kernel_end, u64 size)
{
	/* Highest page-aligned spot below initrd_addr_max and low RAM's end. */
	u64 top = MIN(guest_mem__low_end(mem), (u64)bp->hdr.initrd_addr_max + 1);
	u64 addr;

	if (!size || size > top)
		return 0;
	addr = ALIGN_DOWN(top - size, 0x1000);
	return addr >= kernel_end ? addr : 0;
}

void boot__fill_zero_page(struct boot_params *bp, const struct guest_mem *mem,
			  u64 cmdline_gpa, u64 initrd_gpa, u64 initrd_size)
{
	struct setup_header *hdr = &bp->hdr;

	hdr->type_of_loader = 0xff;		/* undefined loader */
	hdr->loadflags |= CAN_USE_HEAP;
	hdr->heap_end_ptr = 0xfe00;
	hdr->vid_mode = 0xffff;			/* "normal" */
	hdr->cmd_line_ptr = (u32)cmdline_gpa;
	bp->ext_cmd_line_ptr = (u32)(cmdline_gpa >> 32);
	hdr->ramdisk_image = (u32)initrd_gpa;
	hdr->ramdisk_size = (u32)initrd_size;
	bp->ext_ramdisk_image = (u32)(initrd_gpa >> 32);
	bp->ext_ramdisk_size = (u32)(initrd_size >> 32);
	bp->e820_entries = boot__build_e820(mem, bp->e820_table,
					    E820_MAX_ENTRIES_ZEROPAGE);
}

static void boot__write_page_tables(struct vm *vm)
{
	u64 *pml4 = guest_mem__gpa_to_hva(&vm->mem, BOOT_PML4_GPA, 0x1000);
	u64 *pdpt = guest_mem__gpa_to_hva(&vm->mem, BOOT_PDPT_GPA, 0x1000);
	u64 *pd = guest_mem__gpa_to_hva(&vm->mem, BOOT_PD_GPA, 4 * 0x1000);
	unsigned int i;

	/* 4 GiB identity-mapped with 2 MiB pages: all of low RAM. */
	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = BOOT_PDPT_GPA | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_GPA + i * 0x1000) | PTE_P | PTE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((u64)i * SZ_2M) | PTE_P | PTE_RW | PTE_PS;
	memcpy(guest_mem__gpa_to_hva(&vm->mem, BOOT_GDT_GPA, sizeof(boot_gdt)),
	       boot_gdt, sizeof(boot_gdt));
}

/* The initrd goes as high as the image allows below the end of low RAM. */
static int boot__place_initrd(struct vm *vm, const struct boot_linux_image *img,
			      u64 kernel_end, u64 *gpa)
{
	*gpa = 0;
	if (!img->initrd)
		return 0;
	*gpa = boot__initrd_addr(img->bp, &vm->mem, kernel_end, img->initrd_len);
	if (!*gpa) {
		pr_err("initrd %s (%zu bytes) does not fit below %#x with the kernel; use more --mem",
		       vm->cfg->initrd, img->initrd_len, img->bp->hdr.initrd_addr_max);
		return -ENOMEM;
	}
	memcpy(guest_mem__gpa_to_hva(&vm->mem, *gpa, img->initrd_len), img->initrd,
	       img->initrd_len);
	return 0;
}

static int boot__check_cmdline(const char *cmdline, const struct boot_params *bp)
{
	size_t len = strlen(cmdline) + 1;
	size_t max = bp->hdr.cmdline_size ? bp->hdr.cmdline_size + 1 : 256;

	if (len > max || len > BOOT_CMDLINE_MAX) {
		pr_err("kernel command line is %zu bytes, this kernel takes at most %zu",
		       len - 1, MIN(max, (size_t)BOOT_CMDLINE_MAX) - 1);
		return -E2BIG;
	}
	return 0;
}

void boot__free_linux(struct boot_linux_image *img)
{
	free(img->kernel);
	free(img->initrd);
	free(img->bp);
	memset(img, 0, sizeof(*img));
}

int boot__read_linux(const struct vmm_config *cfg, struct boot_linux_image *img)
{
	const char *why;
	int ret;

	memset(img, 0, sizeof(*img));
	ret = read_file(cfg->kernel, &img->kernel, &img->kernel_len, KERNEL_MAX_SIZE);
	if (ret) {
		pr_err("cannot load kernel %s: %s", cfg->kernel,
		       ret == -EINVAL ? "not a regular file" : strerror(-ret));
		return ret;
	}
	img->bp = calloc(1, sizeof(*img->bp));
	if (!img->bp) {
		boot__free_linux(img);
		return -ENOMEM;
	}
	why = boot__parse_bzimage(img->kernel, img->kernel_len, img->bp, &img->setup_len);
	if (why) {
		pr_err("kernel %s: %s", cfg->kernel, why);
		boot__free_linux(img);
		return -EINVAL;
	}
	ret = boot__check_cmdline(cfg->cmdline, img->bp);
	if (!ret && cfg->initrd) {
		ret = read_file(cfg->initrd, &img->initrd, &img->initrd_len, cfg->mem_size);
		if (ret)
			pr_err("cannot load initrd %s: %s", cfg->initrd,
			       ret == -EFBIG ? "larger than guest RAM" : strerror(-ret));
	}
	if (ret)
		boot__free_linux(img);
	return ret;
}

static int boot__load_linux(struct vm *vm, const struct boot_linux_image *img)
{
	const char *cmdline = vm->cfg->cmdline;
	size_t kernel_len = img->kernel_len - img->setup_len;
	struct boot_params bp = *img->bp;
	u64 kernel_end, initrd_gpa;
	int ret;

	/* The decompressor works in place: it needs init_size bytes at 1M. */
	kernel_end = BOOT_KERNEL_GPA + MAX((u64)bp.hdr.init_size, (u64)kernel_len);
	kernel_end = ALIGN_UP(kernel_end, 0x1000);
	if (kernel_end > guest_mem__low_end(&vm->mem)) {
		pr_err("kernel %s needs %llu MiB of RAM to decompress; use more --mem",
		       vm->cfg->kernel, (unsigned long long)(kernel_end >> 20) + 1);
		return -EINVAL;
	}
	memcpy(guest_mem__gpa_to_hva(&vm->mem, BOOT_KERNEL_GPA, kernel_len),
	       (u8 *)img->kernel + img->setup_len, kernel_len);

	ret = boot__place_initrd(vm, img, kernel_end, &initrd_gpa);
	if (ret)
		return ret;
	memcpy(guest_mem__gpa_to_hva(&vm->mem, BOOT_CMDLINE_GPA, strlen(cmdline) + 1),
	       cmdline, strlen(cmdline) + 1);
	ret = mptable__write(guest_mem__gpa_to_hva(&vm->mem, BOOT_MP_AREA_GPA,
						   BOOT_MP_AREA_SIZE),
			     BOOT_MP_AREA_GPA, vm->nr_vcpus);
	if (!ret)
		ret = acpi__write(guest_mem__gpa_to_hva(&vm->mem, ACPI_AREA_GPA, ACPI_AREA_SIZE),
				  ACPI_AREA_GPA, vm->nr_vcpus);
	if (ret)
		return ret;
	boot__fill_zero_page(&bp, &vm->mem, BOOT_CMDLINE_GPA, initrd_gpa, img->initrd_len);
	/* Boot protocol 2.14: saves Linux the scan (older kernels ignore it). */
	bp.acpi_rsdp_addr = ACPI_AREA_GPA + ACPI_RSDP_OFFSET;
	memcpy(guest_mem__gpa_to_hva(&vm->mem, BOOT_ZERO_PAGE_GPA, sizeof(bp)), &bp, sizeof(bp));
	boot__write_page_tables(vm);
	pr_debug("kernel %s: protocol %#x, %zu bytes at %#llx, init_size %#x, initrd %#llx+%zu",
		 vm->cfg->kernel, bp.hdr.version, kernel_len, (unsigned long long)BOOT_KERNEL_GPA,
		 bp.hdr.init_size, (unsigned long long)initrd_gpa, img->initrd_len);
	return 0;
}

static void boot__flat_segment(struct kvm_segment *s, u16 sel, bool code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = code ? 0xb : 0x3, .present = 1, .dpl = sel & 3,
		.db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

void boot__flat_segments(struct kvm_sregs *sregs, u16 cs, u16 ds)
{
	boot__flat_segment(&sregs->cs, cs, true);
	boot__flat_segment(&sregs->ds, ds, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
}

/* LINT0 as ExtINT (the 8259's output) and LINT1 as NMI, as a BIOS leaves them. */
static int boot__setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	u32 lvt;
	int ret;

	ret = kvm_ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic);
	if (ret < 0)
		return ret;
	memcpy(&lvt, &lapic.regs[0x350], 4);
	lvt = (lvt & ~0x1e700u) | 0x700;	/* unmasked, ExtINT */
	memcpy(&lapic.regs[0x350], &lvt, 4);
	memcpy(&lvt, &lapic.regs[0x360], 4);
	lvt = (lvt & ~0x1e700u) | 0x400;	/* unmasked, NMI */
	memcpy(&lapic.regs[0x360], &lvt, 4);
	ret = kvm_ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic);
	return ret < 0 ? ret : 0;
}

static int boot__setup_vcpu(struct vm *vm, struct vcpu *vcpu)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret;

	(void)vm;
	ret = boot__setup_lapic(vcpu);
	if (ret || vcpu->id != 0)
		return ret;		/* APs wait for INIT/SIPI from Linux */

	ret = kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);
	if (ret < 0)
		return ret;
	boot__flat_segments(&sregs, BOOT_CS, BOOT_DS);
	sregs.gdt.base = BOOT_GDT_GPA;
	sregs.gdt.limit = sizeof(boot_gdt) - 1;
	sregs.cr0 = 0x80000033;		/* PG | NE | ET | MP | PE */
	sregs.cr3 = BOOT_PML4_GPA;
	sregs.cr4 = 0x20;		/* PAE */
	sregs.efer = 0x500;		/* LMA | LME */
	ret = kvm_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs);
	if (ret < 0)
		return ret;
	ret = kvm_ioctl(vcpu->fd, KVM_SET_FPU, &fpu);
	if (ret < 0)
		return ret;

	memset(&regs, 0, sizeof(regs));
	regs.rip = BOOT_KERNEL_GPA + 0x200;	/* startup_64 */
	regs.rsi = BOOT_ZERO_PAGE_GPA;
	regs.rsp = regs.rbp = BOOT_STACK_GPA;
	regs.rflags = 0x2;			/* interrupts off */
	ret = kvm_ioctl(vcpu->fd, KVM_SET_REGS, &regs);
	return ret < 0 ? ret : 0;
}

static const struct guest_ops linux_guest = {
	.kind = GUEST_LINUX,
	.name = "linux",
	.load = boot__load_linux,
	.setup_vcpu = boot__setup_vcpu,
};
GUEST_REGISTER(linux_guest);
