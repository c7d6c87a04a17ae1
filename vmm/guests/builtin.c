// SPDX-License-Identifier: GPL-2.0
/*
 * The built-in test guest, host side: lay out its page tables, descriptor
 * tables and code in guest RAM, point every vCPU at its entry, and receive
 * its reports.  The guest itself is builtin_guest.S.
 *
 * What it proves: each vCPU's counter in guest RAM only grows (the guest
 * runs), its TSC never steps back (time never went backwards), and a
 * checksummed pattern stays intact (memory was kept).  The largest TSC step
 * a vCPU ever saw is the guest-visible gap a pause or upgrade caused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <linux/pci_regs.h>

#include "vmm/builtin_guest.h"
#include "vmm/control.h"
#include "vmm/device.h"
#include "vmm/guest.h"
#include "vmm/pci.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "vmm/x86/boot.h"

extern const u8 builtin_guest_code_start[];
extern const u8 builtin_guest_vectors[];
extern const u8 builtin_guest_edu_irq[];
extern const u8 builtin_guest_spurious[];
extern const u8 builtin_guest_code_end[];

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_PWT		(1ULL << 3)
#define PTE_PCD		(1ULL << 4)
#define PTE_A		(1ULL << 5)
#define PTE_D		(1ULL << 6)
#define PTE_PS		(1ULL << 7)
#define DESC_ACCESSED	(1ULL << 40)

#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXMMEXCPT	(1ULL << 10)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

/* Flat 64-bit descriptors: code DPL0, data DPL0, code DPL3, data DPL3. */
static const u64 bg_gdt[] = {
	0,
	0x00af9a000000ffffULL,
	0x00cf92000000ffffULL,
	0x00affa000000ffffULL,
	0x00cff2000000ffffULL,
};

static void *bg_ptr(struct vm *vm, u64 gpa, u64 len)
{
	return guest_mem__gpa_to_hva(&vm->mem, gpa, len);
}

static void bg_report(void *opaque, struct vcpu *vcpu, u16 port, bool is_write,
		      u8 *data, unsigned int size)
{
	struct builtin_guest *bg = opaque;
	struct bg_vcpu_host *h;
	struct bg_slot slot;

	(void)port;
	if (!is_write || size != 4) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	/* Only this vCPU's thread writes its host entry. */
	h = &bg->host[vcpu->id];
	builtin_guest__read_slot(vcpu->vm, vcpu->id, &slot);
	if (slot.counter < h->reported || slot.tsc < h->reported_tsc)
		__atomic_add_fetch(&h->regressions, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h->reported, slot.counter, __ATOMIC_RELAXED);
	__atomic_store_n(&h->reported_tsc, slot.tsc, __ATOMIC_RELAXED);
	__atomic_store_n(&h->last_report_ns, now_ns(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->nr_reports, 1, __ATOMIC_RELAXED);
}

/* The CPU pushed [error code,] RIP, CS, RFLAGS, RSP, SS: show them. */
static void bg_dump_frame(struct vcpu *vcpu, u32 vector)
{
	struct kvm_regs regs;
	const u64 *f;

	if (__kvm_ioctl_quiet(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return;
	f = guest_mem__gpa_to_hva(&vcpu->vm->mem, regs.rsp, 6 * 8);
	if (f)
		pr_err("built-in guest: vCPU %u vector %u frame %#llx %#llx %#llx %#llx %#llx %#llx",
		       vcpu->id, vector, (unsigned long long)f[0], (unsigned long long)f[1],
		       (unsigned long long)f[2], (unsigned long long)f[3],
		       (unsigned long long)f[4], (unsigned long long)f[5]);
}

static void bg_exception(void *opaque, struct vcpu *vcpu, u16 port,
			 bool is_write, u8 *data, unsigned int size)
{
	struct builtin_guest *bg = opaque;
	u32 vector = 0;

	(void)port;
	if (!is_write) {
		memset(data, 0xff, size);
		return;
	}
	memcpy(&vector, data, MIN(size, sizeof(vector)));
	__atomic_add_fetch(&bg->exceptions, 1, __ATOMIC_RELAXED);
	bg_dump_frame(vcpu, vector);
	vm__request_exit(vcpu->vm, VM_EXIT_ERROR,
			 "built-in guest: vCPU %u took exception/interrupt vector %u",
			 vcpu->id, vector);
}

static int builtin_guest__init(struct vm *vm, struct device_in *in)
{
	struct builtin_guest *bg;
	int ret;

	(void)in;
	if (vm->cfg->guest != GUEST_BUILTIN)
		return 0;
	bg = calloc(1, sizeof(*bg));
	if (!bg)
		return -ENOMEM;
	bg->report_interval_ms = vm->cfg->report_ms ? vm->cfg->report_ms : 1;
	bg->touch_ram = vm->cfg->touch_ram;
	bg->tsc_khz = vm->tsc_khz;
	if (!bg->tsc_khz) {
		pr_warn("KVM_GET_TSC_KHZ unavailable, assuming a 1 GHz TSC");
		bg->tsc_khz = 1000000;
	}
	vm->bg = bg;
	ret = ioport__register(&vm->bus, BG_PORT_REPORT, 4, bg_report, bg,
			       "builtin-report");
	if (!ret)
		ret = ioport__register(&vm->bus, BG_PORT_EXCEPTION, 4, bg_exception,
				       bg, "builtin-exception");
	return ret;
}

static void builtin_guest__exit(struct vm *vm)
{
	if (vm->bg)
		free(vm->bg->tables);
	free(vm->bg);
	vm->bg = NULL;
}

/*
 * The guest's tables: written once by the VMM, never by the guest's code.
 * The CPU sets accessed (and dirty) bits in them: @cpu_bits of each u64.
 */
static const struct bg_table {
	const char *name;
	u64 gpa, len, cpu_bits;
} bg_tables[] = {
	{ "GDT", BG_GDT_GPA, 0x1000, DESC_ACCESSED },
	{ "IDT", BG_IDT_GPA, 0x1000, 0 },
	{ "page tables", BG_PML4_GPA, (2 + BG_NR_PDS) * 0x1000, PTE_A | PTE_D },
	{ "code", BG_CODE_GPA, BG_CODE_MAX, 0 },
	{ "TSSs", BG_TSS_GPA, BG_MAX_VCPUS * BG_TSS_STRIDE, 0 },
	/* len 0: as long as this VM's RAM from 4 GiB needs (high_pd_len). */
	{ "page tables from 4 GiB", BG_PD_HIGH_GPA, 0, PTE_A | PTE_D },
};

#define BG_TABLES_END	(BG_PD_HIGH_GPA + BG_NR_PDS_HIGH * 0x1000)

_Static_assert(BG_HIGH_START == GUEST_HIGH_START, "the guest's RAM from 4 GiB");

/* RAM from 4 GiB the page tables map: all of it, up to BG_MAPPED_END. */
static u64 bg_high_mapped(const struct vm *vm)
{
	u64 low = guest_mem__low_end(&vm->mem);

	if (vm->mem.size <= low)
		return 0;
	return MIN(vm->mem.size - low, BG_MAPPED_END - BG_HIGH_START);
}

static u64 bg_table_len(const struct vm *vm, const struct bg_table *tb)
{
	return tb->len ?: vm->bg->high_pd_len;
}

/*
 * Keep a copy of the tables as this image found them (load or restore).
 * A restore runs in the upgrade's pause: copy the tables only, not the
 * progress pages between them.
 */
static void bg_keep_tables(struct vm *vm)
{
	const u8 *ram = bg_ptr(vm, 0, BG_TABLES_END);
	unsigned int t;
	u8 *kept;

	free(vm->bg->tables);
	vm->bg->tables = NULL;
	kept = ram ? malloc(BG_TABLES_END) : NULL;
	if (!kept)
		return;
	vm->bg->high_pd_len = DIV_ROUND_UP(bg_high_mapped(vm), SZ_1G) * 0x1000;
	for (t = 0; t < ARRAY_SIZE(bg_tables); t++)
		memcpy(kept + bg_tables[t].gpa, ram + bg_tables[t].gpa,
		       bg_table_len(vm, &bg_tables[t]));
	vm->bg->tables = kept;
}

void builtin_guest__check_tables(struct vm *vm, unsigned int vcpu_id)
{
	const u64 *ram = bg_ptr(vm, 0, BG_TABLES_END);
	const u64 *kept = vm->bg->tables;
	unsigned int t, changed = 0;
	struct bg_slot slot;
	u64 i;

	if (!ram || !kept)
		return;
	builtin_guest__read_slot(vm, vcpu_id, &slot);
	for (t = 0; t < ARRAY_SIZE(bg_tables); t++) {
		const struct bg_table *tb = &bg_tables[t];
		u64 first = 0, words = 0;

		for (i = tb->gpa / 8; i < (tb->gpa + bg_table_len(vm, tb)) / 8; i++) {
			if ((ram[i] ^ kept[i]) & ~tb->cpu_bits) {
				if (!words++)
					first = i;
			}
		}
		if (!words)
			continue;
		changed++;
		pr_err("built-in guest: vCPU %u's triple fault: its %s changed under it: %llu words, the first at GPA %#llx holds %#llx, was %#llx",
		       vcpu_id, tb->name, (unsigned long long)words,
		       (unsigned long long)first * 8, (unsigned long long)ram[first],
		       (unsigned long long)kept[first]);
	}
	/* Unchanged tables point at the CPU state, not at guest RAM. */
	if (!changed)
		pr_err("built-in guest: vCPU %u's triple fault: GDT, IDT, TSSs, page tables and code hold what they held when this image took the guest; the vCPU's loop had run %llu times",
		       vcpu_id, (unsigned long long)slot.counter);
}

/* What the VMM counted of the guest's reports: the guest keeps the rest. */
static void builtin_guest__save(struct vm *vm, struct state_buf *b)
{
	struct state_builtin sb;
	unsigned int i;

	if (!vm->bg)
		return;
	memset(&sb, 0, sizeof(sb));
	sb.exceptions = __atomic_load_n(&vm->bg->exceptions, __ATOMIC_RELAXED);
	for (i = 0; i < vm->nr_vcpus; i++) {
		sb.host[i].reported = vm->bg->host[i].reported;
		sb.host[i].reported_tsc = vm->bg->host[i].reported_tsc;
		sb.host[i].regressions = vm->bg->host[i].regressions;
		sb.host[i].nr_reports = vm->bg->host[i].nr_reports;
	}
	state__put(b, STATE_DEV_BUILTIN, 0, &sb, sizeof(sb));
}

static int builtin_guest__restore(struct vm *vm, struct device_in *in)
{
	const struct state_rec *rec = device_in__find(in, STATE_DEV_BUILTIN, 0);
	struct state_builtin sb;
	unsigned int i;

	if (!vm->bg)
		return 0;
	bg_keep_tables(vm);
	if (!rec)
		return 0;
	memcpy(&sb, rec->payload, sizeof(sb));
	vm->bg->exceptions = sb.exceptions;
	for (i = 0; i < vm->nr_vcpus; i++) {
		vm->bg->host[i].reported = sb.host[i].reported;
		vm->bg->host[i].reported_tsc = sb.host[i].reported_tsc;
		vm->bg->host[i].regressions = sb.host[i].regressions;
		vm->bg->host[i].nr_reports = sb.host[i].nr_reports;
	}
	return 0;
}

static const struct device_ops builtin_guest_ops = {
	.name = "builtin-guest",
	.order = DEVICE_ORDER_GUEST,
	.id = 4,
	.init = builtin_guest__init,
	.exit = builtin_guest__exit,
	.save = builtin_guest__save,
	.restore = builtin_guest__restore,
};
DEVICE_REGISTER(builtin_guest_ops);

static void bg_write_gdt_and_tss(struct vm *vm)
{
	u64 *gdt = bg_ptr(vm, BG_GDT_GPA, 0x1000);
	unsigned int i;

	memcpy(gdt, bg_gdt, sizeof(bg_gdt));
	for (i = 0; i < vm->nr_vcpus; i++) {
		u64 base = BG_TSS_GPA + (u64)i * BG_TSS_STRIDE;
		u8 *tss = bg_ptr(vm, base, BG_TSS_STRIDE);
		u64 rsp0 = BG_STACKS_GPA + (u64)i * BG_STACK_STRIDE + 0x1000;
		u64 *desc = &gdt[BG_TSS_SEL(i) / 8];
		u64 limit = BG_TSS_IOMAP + BG_TSS_IOMAP_LEN;	/* + 0xff byte */
		u16 iomap = BG_TSS_IOMAP;

		memset(tss, 0, BG_TSS_STRIDE);
		memcpy(tss + 4, &rsp0, sizeof(rsp0));	/* RSP0 */
		memcpy(tss + 102, &iomap, sizeof(iomap));
		/*
		 * Ring 3 may use the two report ports and nothing else.  IOPL 3
		 * would be simpler, but PVM's emulated IRETQ does not pass it on.
		 */
		memset(tss + BG_TSS_IOMAP, 0xff, BG_TSS_IOMAP_LEN + 1);
		tss[BG_TSS_IOMAP + BG_PORT_REPORT / 8] &= ~(0xf << (BG_PORT_REPORT % 8));
		/* vCPU 0's edu driver reaches config space from ring 3. */
		if (i == 0 && vm->bg->edu_bar0)
			tss[BG_TSS_IOMAP + BG_PCI_CONF_ADDR / 8] = 0;
		/* 64-bit TSS descriptor, type 0xb (busy: TR is loaded). */
		desc[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			  (0xbULL << 40) | (1ULL << 47) |
			  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
		desc[1] = base >> 32;
	}
}

/* Vector @v to @code in the blob: 64-bit interrupt gate, DPL 0, kernel CS. */
static void bg_idt_set(u64 *idt, unsigned int v, const u8 *code)
{
	u64 handler = BG_CODE_GPA + (code - builtin_guest_code_start);

	idt[2 * v] = (handler & 0xffff) | ((u64)BG_KERNEL_CS << 16) |
		     (0x8eULL << 40) | (((handler >> 16) & 0xffff) << 48);
	idt[2 * v + 1] = handler >> 32;
}

static void bg_write_idt(struct vm *vm)
{
	u64 *idt = bg_ptr(vm, BG_IDT_GPA, 0x1000);
	unsigned int v;

	for (v = 0; v < 256; v++)
		bg_idt_set(idt, v, builtin_guest_vectors + 16 * v);
	if (vm->bg->edu_bar0) {
		bg_idt_set(idt, BG_EDU_VECTOR, builtin_guest_edu_irq);
		bg_idt_set(idt, BG_SPURIOUS_VECTOR, builtin_guest_spurious);
	}
}

/*
 * The first 4 GiB identity-mapped with 2 MiB pages: RAM below the PCI hole,
 * and the hole itself (edu's BAR0, the local APIC) uncached (PCD | PWT: PAT
 * entry 3, UC), as MMIO must be.  Then the RAM from 4 GiB, identity-mapped
 * with 2 MiB pages too (not 1 GiB ones: the guest's CPUID may lack them),
 * so that --touch-ram reaches all of a large guest's RAM.
 */
static void bg_write_page_tables(struct vm *vm)
{
	u64 high = bg_high_mapped(vm);
	u64 *pml4 = bg_ptr(vm, BG_PML4_GPA, 0x1000);
	u64 *pdpt = bg_ptr(vm, BG_PDPT_GPA, 0x1000);
	u64 *pd = bg_ptr(vm, BG_PD_GPA, BG_NR_PDS * 0x1000);
	u64 *pd_high = bg_ptr(vm, BG_PD_HIGH_GPA, BG_NR_PDS_HIGH * 0x1000);
	unsigned int i;

	/* User-accessible: the counter loop runs at ring 3. */
	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = BG_PDPT_GPA | PTE_P | PTE_RW | PTE_US;
	for (i = 0; i < BG_NR_PDS; i++)
		pdpt[i] = (BG_PD_GPA + i * 0x1000) | PTE_P | PTE_RW | PTE_US;
	for (i = 0; i < BG_NR_PDS * 512; i++) {
		u64 gpa = (u64)i * SZ_2M;

		pd[i] = gpa | PTE_P | PTE_RW | PTE_US | PTE_PS;
		if (gpa >= BG_UNCACHED_START)
			pd[i] |= PTE_PCD | PTE_PWT;
	}
	for (i = 0; i < DIV_ROUND_UP(high, SZ_1G); i++)
		pdpt[BG_NR_PDS + i] = (BG_PD_HIGH_GPA + i * 0x1000) | PTE_P | PTE_RW | PTE_US;
	memset(pd_high, 0, DIV_ROUND_UP(high, SZ_1G) * 0x1000);
	for (i = 0; i < DIV_ROUND_UP(high, SZ_2M); i++)
		pd_high[i] = (BG_HIGH_START + (u64)i * SZ_2M) | PTE_P | PTE_RW | PTE_US | PTE_PS;
}

/* A fixed xorshift sequence: any lost or stale page changes the sum. */
static u64 bg_fill_pattern(u64 *p, size_t words)
{
	u64 x = 0x9e3779b97f4a7c15ULL, sum = 0;
	size_t i;

	for (i = 0; i < words; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
		sum += x;
	}
	return sum;
}

/*
 * QEMU's edu device on the PCI bus (passed through with --vfio): the
 * address the PCI code placed its BAR0 at, 0 if there is none.  Devices
 * are all created before the guest is loaded, and no vCPU runs yet.
 */
static u64 bg_find_edu(struct vm *vm)
{
	const struct pci_bar *bar;
	unsigned int slot;
	u64 addr;
	u32 id;

	for (slot = 0; vm->pci && slot < PCI_MAX_SLOTS; slot++) {
		struct pci_function *fn = pci_bus__function(vm->pci, PCI_DEVFN(slot, 0));

		if (!fn)
			continue;
		memcpy(&id, fn->cfg, sizeof(id));
		if (id != EDU_VENDOR_DEVICE)
			continue;
		bar = &fn->bars[0];
		/*
		 * Where the PCI code placed it, as the guest reads it from the
		 * BAR (bar->addr is only set once decoding is on).  The guest's
		 * page tables map MMIO, uncached, below 4 GiB only.
		 */
		memcpy(&addr, &fn->cfg[PCI_BASE_ADDRESS_0], sizeof(addr));
		addr &= bar->type == PCI_BAR_MEM64 ? ~0xfULL : 0xfffffff0ULL;
		if ((bar->type == PCI_BAR_MEM32 || bar->type == PCI_BAR_MEM64) && addr &&
		    addr + bar->size <= BG_HIGH_START)
			return addr;
		pr_warn("built-in guest: edu at 00:%02x.0 has no memory BAR0 below 4 GiB, not driven",
			slot);
	}
	return 0;
}

/*
 * vCPU 0's sweep: RAM from BG_TOUCH_START, at most BG_SWEEP_SIZE_MAX of it
 * (a working set, not all of a large guest's memory), read only: the
 * guest never writes there, tests put their own patterns in it.
 */
static void bg_write_sweep(struct vm *vm, u8 *hdr)
{
	u64 end = MIN(guest_mem__low_end(&vm->mem), BG_TOUCH_START + BG_SWEEP_SIZE_MAX);
	u64 start = BG_TOUCH_START, bucket;

	if (end < start + BG_SWEEP_STRIDE)
		start = end = 0;
	bucket = (u64)vm->bg->tsc_khz * BG_BUCKET_MS;
	memcpy(hdr + BG_HDR_SWEEP_START, &start, 8);
	memcpy(hdr + BG_HDR_SWEEP_END, &end, 8);
	memcpy(hdr + BG_HDR_BUCKET, &bucket, 8);
}

/* Page tables, descriptor tables, code and header into guest RAM. */
static int builtin_guest__load(struct vm *vm, const struct boot_linux_image *image)
{
	(void)image;
	size_t code_len = builtin_guest_code_end - builtin_guest_code_start;
	u64 *pattern = bg_ptr(vm, BG_PATTERN_GPA, BG_PATTERN_SIZE);
	u8 *hdr = bg_ptr(vm, BG_HDR_GPA, 0x1000);
	struct builtin_guest *bg = vm->bg;
	u64 v64;
	u32 v32;

	if (code_len > BG_CODE_MAX || !pattern || !hdr ||
	    !bg_ptr(vm, BG_EDU_BUF_GPA, 0x2000)) {
		pr_err("built-in guest does not fit in guest RAM");
		return -EINVAL;
	}
	bg->edu_bar0 = bg_find_edu(vm);
	if (bg->edu_bar0)
		pr_info("built-in guest: drives edu at BAR0 %#llx",
			(unsigned long long)bg->edu_bar0);
	bg_write_gdt_and_tss(vm);
	bg_write_idt(vm);
	bg_write_page_tables(vm);
	memcpy(bg_ptr(vm, BG_CODE_GPA, code_len), builtin_guest_code_start, code_len);
	memset(bg_ptr(vm, BG_SLOTS_GPA, 0x1000), 0, 0x1000);
	memset(bg_ptr(vm, BG_MARKS_GPA, BG_MAX_VCPUS << BG_MARKS_SHIFT), 0,
	       BG_MAX_VCPUS << BG_MARKS_SHIFT);
	memset(bg_ptr(vm, BG_EDU_GPA, 0x1000), 0, 0x1000);
	memset(bg_ptr(vm, BG_SPEED_GPA, 0x1000), 0, 0x1000);
	memset(bg_ptr(vm, BG_SPEED_RING_GPA, BG_SPEED_RING_LEN << BG_SPEED_ENTRY_SHIFT), 0,
	       BG_SPEED_RING_LEN << BG_SPEED_ENTRY_SHIFT);

	memset(hdr, 0, 0x1000);
	v64 = BG_MAGIC;
	memcpy(hdr + BG_HDR_MAGIC, &v64, 8);
	v32 = BG_VERSION;
	memcpy(hdr + BG_HDR_VERSION, &v32, 4);
	v32 = vm->nr_vcpus;
	memcpy(hdr + BG_HDR_NR_VCPUS, &v32, 4);
	v64 = (u64)bg->tsc_khz * bg->report_interval_ms;
	memcpy(hdr + BG_HDR_INTERVAL, &v64, 8);
	v64 = BG_PATTERN_GPA;
	memcpy(hdr + BG_HDR_PATTERN_GPA, &v64, 8);
	v64 = BG_PATTERN_SIZE;
	memcpy(hdr + BG_HDR_PATTERN_SIZE, &v64, 8);
	v64 = bg_fill_pattern(pattern, BG_PATTERN_SIZE / 8);
	memcpy(hdr + BG_HDR_PATTERN_SUM, &v64, 8);
	v64 = bg->tsc_khz;
	memcpy(hdr + BG_HDR_TSC_KHZ, &v64, 8);
	v64 = bg->touch_ram ? guest_mem__low_end(&vm->mem) : 0;
	memcpy(hdr + BG_HDR_TOUCH_END, &v64, 8);
	v64 = bg->touch_ram && bg_high_mapped(vm) ? BG_HIGH_START + bg_high_mapped(vm) : 0;
	memcpy(hdr + BG_HDR_TOUCH_HIGH_END, &v64, 8);
	memcpy(hdr + BG_HDR_EDU_BAR0, &bg->edu_bar0, 8);
	bg_write_sweep(vm, hdr);
	bg_keep_tables(vm);
	return 0;
}

static int builtin_guest__setup_vcpu(struct vm *vm, struct vcpu *vcpu)
{
	u64 stack = BG_STACKS_GPA + (u64)vcpu->id * BG_STACK_STRIDE;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret;

	(void)vm;
	ret = kvm_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);
	if (ret < 0)
		return ret;
	boot__flat_segments(&sregs, BG_KERNEL_CS, BG_KERNEL_DS);
	sregs.tr = (struct kvm_segment){
		.base = BG_TSS_GPA + (u64)vcpu->id * BG_TSS_STRIDE,
		.limit = BG_TSS_IOMAP + BG_TSS_IOMAP_LEN,
		.selector = BG_TSS_SEL(vcpu->id), .type = 0xb, .present = 1,
	};
	sregs.gdt.base = BG_GDT_GPA;
	sregs.gdt.limit = BG_TSS_SEL(BG_MAX_VCPUS) - 1;
	sregs.idt.base = BG_IDT_GPA;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = BG_PML4_GPA;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	ret = kvm_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs);
	if (ret < 0)
		return ret;

	memset(&regs, 0, sizeof(regs));
	regs.rip = BG_CODE_GPA;
	regs.rsp = stack + 0x1000;		/* ring 0 */
	regs.rsi = stack + 0x2000;		/* ring 3 */
	regs.rdi = vcpu->id;
	regs.rflags = 0x2;
	ret = kvm_ioctl(vcpu->fd, KVM_SET_REGS, &regs);
	if (ret < 0)
		return ret;
	/* With the in-kernel irqchip, APs would otherwise wait for a SIPI. */
	ret = kvm_ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
	return ret < 0 ? ret : 0;
}

void builtin_guest__read_slot(struct vm *vm, unsigned int id, struct bg_slot *slot)
{
	const u64 *p = bg_ptr(vm, BG_SLOTS_GPA + ((u64)id << BG_SLOT_SHIFT),
			      sizeof(*slot));

	/* The guest writes these while we read: one atomic load per field. */
	slot->counter = __atomic_load_n(&p[BG_SLOT_COUNTER / 8], __ATOMIC_RELAXED);
	slot->tsc = __atomic_load_n(&p[BG_SLOT_TSC / 8], __ATOMIC_RELAXED);
	slot->max_gap = __atomic_load_n(&p[BG_SLOT_MAX_GAP / 8], __ATOMIC_RELAXED);
	slot->backwards = __atomic_load_n(&p[BG_SLOT_BACKWARDS / 8], __ATOMIC_RELAXED);
	slot->reports = __atomic_load_n(&p[BG_SLOT_REPORTS / 8], __ATOMIC_RELAXED);
	slot->mem_checks = __atomic_load_n(&p[BG_SLOT_MEM_CHECKS / 8], __ATOMIC_RELAXED);
	slot->mem_errors = __atomic_load_n(&p[BG_SLOT_MEM_ERRORS / 8], __ATOMIC_RELAXED);
	slot->start_tsc = __atomic_load_n(&p[BG_SLOT_START_TSC / 8], __ATOMIC_RELAXED);
}

u64 builtin_guest__mark_resume(struct vm *vm, const char **why)
{
	const u32 *version = bg_ptr(vm, BG_HDR_GPA + BG_HDR_VERSION, 4);
	u64 *mark = bg_ptr(vm, BG_HDR_GPA + BG_HDR_RESUME_MARK, 8);
	u64 next;

	/* The guest's code came with the image that loaded it. */
	if (*version < 3) {
		*why = "the built-in guest was loaded by a VMM without the resume mark";
		return 0;
	}
	next = *mark + 1;
	__atomic_store_n(mark, next, __ATOMIC_RELEASE);
	return next;
}

bool builtin_guest__resume_gap(struct vm *vm, unsigned int id, u64 mark, u64 *gap)
{
	const u64 *e = bg_ptr(vm, BG_MARKS_GPA + ((u64)id << BG_MARKS_SHIFT),
			      1 << BG_MARKS_SHIFT);

	if (__atomic_load_n(&e[BG_MARK_SEEN / 8], __ATOMIC_ACQUIRE) != mark)
		return false;
	*gap = __atomic_load_n(&e[BG_MARK_GAP / 8], __ATOMIC_RELAXED);
	return true;
}

/*
 * Windows of buckets the speeds are summed over: a vCPU thread that is not
 * scheduled for a bucket or two (a loaded host, emulation) must not make
 * the speed before 0 or the speed after full.
 */
#define BG_SPEED_BEFORE		32	/* 320 ms before the pause */
#define BG_SPEED_AFTER		4	/* 40 ms, from a bucket after the resume */

/*
 * Pages vCPU 0 read in bucket @n, 0 if it has no entry (the vCPU did not
 * run in it), -ESTALE if a later bucket took its place in the ring.
 */
static s64 bg_bucket_pages(struct vm *vm, u64 n)
{
	const u64 *e = bg_ptr(vm, BG_SPEED_RING_GPA +
			      ((n & (BG_SPEED_RING_LEN - 1)) << BG_SPEED_ENTRY_SHIFT),
			      1 << BG_SPEED_ENTRY_SHIFT);
	u64 seq = __atomic_load_n(&e[BG_SPEED_ENTRY_SEQ / 8], __ATOMIC_ACQUIRE);
	u64 pages = __atomic_load_n(&e[BG_SPEED_ENTRY_PAGES / 8], __ATOMIC_RELAXED);

	/* Read again: the guest may have moved on to this slot meanwhile. */
	if (seq != __atomic_load_n(&e[BG_SPEED_ENTRY_SEQ / 8], __ATOMIC_ACQUIRE) ||
	    seq > n + 1)
		return -ESTALE;
	return seq == n + 1 ? (s64)pages : 0;
}

/* Pages read in buckets [@n, @n + @nr): the sum, or -ESTALE. */
static s64 bg_window_pages(struct vm *vm, u64 n, unsigned int nr)
{
	s64 sum = 0, pages;

	while (nr--) {
		pages = bg_bucket_pages(vm, n++);
		if (pages < 0)
			return pages;
		sum += pages;
	}
	return sum;
}

static u64 bg_pages_s(s64 pages, unsigned int buckets, u64 bucket_us)
{
	return (u64)pages * 1000000 / (buckets * MAX(bucket_us, 1));
}

int builtin_guest__full_speed(struct vm *vm, u64 mark, struct bg_speed *speed,
			      const char **why)
{
	const u32 *version = bg_ptr(vm, BG_HDR_GPA + BG_HDR_VERSION, 4);
	const u64 *hdr = bg_ptr(vm, BG_HDR_GPA, 0x1000);
	const u64 *sp = bg_ptr(vm, BG_SPEED_GPA, 0x1000);
	u64 bucket, origin, resume, gap, pause, first, n, cur, khz = vm->bg->tsc_khz;
	s64 before, pages;

	/* The guest's code came with the image that loaded it. */
	if (*version < 5 || !hdr[BG_HDR_SWEEP_END / 8]) {
		*why = *version < 5 ? "the built-in guest was loaded by a VMM without the sweep"
				    : "guest RAM too small for the sweep";
		return -EOPNOTSUPP;
	}
	if (__atomic_load_n(&sp[BG_SPEED_RESUME_MARK / 8], __ATOMIC_ACQUIRE) != mark ||
	    !builtin_guest__resume_gap(vm, 0, mark, &gap))
		return -EAGAIN;
	if (!sp[BG_SPEED_RESUME_SWEEPS / 8]) {
		*why = "vCPU 0 had not swept its RAM once before the pause";
		return -EINPROGRESS;
	}
	bucket = hdr[BG_HDR_BUCKET / 8];
	origin = sp[BG_SPEED_ORIGIN / 8];
	resume = sp[BG_SPEED_RESUME_TSC / 8];
	/* vCPU 0's gap began at its last TSC read before it was parked. */
	pause = resume >= origin + gap ? (resume - gap - origin) / bucket : 0;
	if (pause < BG_SPEED_BEFORE) {
		*why = "vCPU 0 had not swept for long enough before the pause";
		return -EINPROGRESS;
	}
	first = (resume - origin) / bucket + 1;	/* the first whole bucket after */
	speed->bucket_us = ticks_to_us(bucket, khz);
	before = bg_window_pages(vm, pause - BG_SPEED_BEFORE, BG_SPEED_BEFORE);
	if (before <= 0) {
		*why = before ? "the buckets before the pause were overwritten (a long pause)"
			      : "vCPU 0 made no progress before the pause";
		return before ? before : -EIO;
	}
	speed->before_pages_s = bg_pages_s(before, BG_SPEED_BEFORE, speed->bucket_us);
	speed->after_pages_s = 0;
	speed->reached = false;
	cur = __atomic_load_n(&sp[BG_SPEED_INDEX / 8], __ATOMIC_RELAXED);
	for (n = first; n + BG_SPEED_AFTER <= cur; n++) {
		pages = bg_window_pages(vm, n, BG_SPEED_AFTER);
		if (pages < 0) {
			*why = "the buckets after the resume were overwritten";
			return pages;
		}
		if (n == first)
			speed->after_pages_s = bg_pages_s(pages, BG_SPEED_AFTER, speed->bucket_us);
		if (pages * BG_SPEED_BEFORE * 10 >= before * BG_SPEED_AFTER * 9) {
			speed->reached = true;
			speed->full_speed_us = ticks_to_us(origin + n * bucket - resume, khz);
			return 0;
		}
	}
	/* Not yet: wait as long as the ring keeps the buckets before. */
	return cur + BG_SPEED_BEFORE + 2 < pause + BG_SPEED_RING_LEN ? -EAGAIN : 0;
}

u64 builtin_guest__counter(struct vm *vm)
{
	struct bg_slot slot;
	unsigned int i;
	u64 sum = 0;

	for (i = 0; i < vm->nr_vcpus; i++) {
		builtin_guest__read_slot(vm, i, &slot);
		sum += slot.counter;
	}
	return sum;
}

bool builtin_guest__pattern_ok(struct vm *vm)
{
	const u64 *p = bg_ptr(vm, BG_PATTERN_GPA, BG_PATTERN_SIZE);
	const u64 *want = bg_ptr(vm, BG_HDR_GPA + BG_HDR_PATTERN_SUM, 8);
	u64 sum = 0;
	size_t i;

	for (i = 0; i < BG_PATTERN_SIZE / 8; i++)
		sum += p[i];
	return sum == *want;
}


/* The edu driver's counts, false if the guest was given no edu. */
static bool builtin_guest__read_edu(struct vm *vm, struct bg_edu *edu)
{
	const u64 *bar0 = bg_ptr(vm, BG_HDR_GPA + BG_HDR_EDU_BAR0, 8);
	const u64 *p = bg_ptr(vm, BG_EDU_GPA, 0x1000);

	/* The header as loaded: a guest older than version 4 has 0 there. */
	if (!*bar0)
		return false;
	edu->bar0 = *bar0;
	edu->state = __atomic_load_n(&p[BG_EDU_STATE / 8], __ATOMIC_RELAXED);
	edu->raised = __atomic_load_n(&p[BG_EDU_RAISED / 8], __ATOMIC_RELAXED);
	edu->received = __atomic_load_n(&p[BG_EDU_RECEIVED / 8], __ATOMIC_RELAXED);
	edu->dma_rounds = __atomic_load_n(&p[BG_EDU_DMA_ROUNDS / 8], __ATOMIC_RELAXED);
	edu->dma_errors = __atomic_load_n(&p[BG_EDU_DMA_ERRORS / 8], __ATOMIC_RELAXED);
	edu->reg_checks = __atomic_load_n(&p[BG_EDU_REG_CHECKS / 8], __ATOMIC_RELAXED);
	edu->reg_errors = __atomic_load_n(&p[BG_EDU_REG_ERRORS / 8], __ATOMIC_RELAXED);
	edu->marker_checks = __atomic_load_n(&p[BG_EDU_MARKER_CHECKS / 8], __ATOMIC_RELAXED);
	edu->marker_errors = __atomic_load_n(&p[BG_EDU_MARKER_ERRORS / 8], __ATOMIC_RELAXED);
	edu->no_master = __atomic_load_n(&p[BG_EDU_NO_MASTER / 8], __ATOMIC_RELAXED);
	edu->dma_phase = __atomic_load_n(&p[BG_EDU_DMA_PHASE / 8], __ATOMIC_RELAXED);
	return true;
}

/* The built-in guest's edu driver (builtin_guest.h), when it has one. */
static void builtin_guest__edu_status(struct vm *vm, struct json_object *reply)
{
	static const char *const states[] = {
		[BG_EDU_OFF] = "off", [BG_EDU_RUNNING] = "running",
		[BG_EDU_NOT_FOUND] = "not-found", [BG_EDU_NO_MSI] = "no-msi",
	};
	struct json_object *o;
	struct bg_edu e;

	if (!builtin_guest__read_edu(vm, &e))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "bar0", json_object_new_uint64(e.bar0));
	json_object_object_add(o, "state", json_object_new_string(
		e.state < ARRAY_SIZE(states) ? states[e.state] : "?"));
	json_object_object_add(o, "raised", json_object_new_uint64(e.raised));
	json_object_object_add(o, "received", json_object_new_uint64(e.received));
	json_object_object_add(o, "dma_rounds", json_object_new_uint64(e.dma_rounds));
	json_object_object_add(o, "dma_errors", json_object_new_uint64(e.dma_errors));
	json_object_object_add(o, "dma_phase", json_object_new_uint64(e.dma_phase));
	json_object_object_add(o, "reg_checks", json_object_new_uint64(e.reg_checks));
	json_object_object_add(o, "reg_errors", json_object_new_uint64(e.reg_errors));
	json_object_object_add(o, "marker_checks", json_object_new_uint64(e.marker_checks));
	json_object_object_add(o, "marker_errors", json_object_new_uint64(e.marker_errors));
	json_object_object_add(o, "no_master", json_object_new_uint64(e.no_master));
	json_object_object_add(reply, "edu", o);
}

/*
 * A paused vCPU's registers: where a vCPU whose counter stopped is.  Its
 * thread is parked outside KVM_RUN, so the vCPU fd answers at once.
 */
static void bg_status_regs(struct vcpu *vcpu, struct json_object *o)
{
	struct kvm_regs regs;

	if (__kvm_ioctl_quiet(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return;
	json_object_object_add(o, "rip", json_object_new_uint64(regs.rip));
	json_object_object_add(o, "rsp", json_object_new_uint64(regs.rsp));
	json_object_object_add(o, "rflags", json_object_new_uint64(regs.rflags));
}

static void builtin_guest__status(struct control *ctl, struct json_object *reply)
{
	struct vm *vm = ctl->vm;
	struct json_object *arr;
	u64 khz, sum = 0;
	unsigned int i;

	if (!vm->bg)
		return;
	khz = vm->bg->tsc_khz;
	arr = json_object_new_array();
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct bg_vcpu_host *h = &vm->bg->host[i];
		struct json_object *o = json_object_new_object();
		struct bg_slot s;

		builtin_guest__read_slot(vm, i, &s);
		sum += s.counter;
		json_object_object_add(o, "id", json_object_new_int(i));
		json_object_object_add(o, "counter", json_object_new_uint64(s.counter));
		json_object_object_add(o, "tsc", json_object_new_uint64(s.tsc));
		json_object_object_add(o, "max_gap_us",
				       json_object_new_uint64(s.max_gap * 1000 / khz));
		json_object_object_add(o, "backwards", json_object_new_uint64(s.backwards));
		json_object_object_add(o, "reports", json_object_new_uint64(s.reports));
		json_object_object_add(o, "mem_checks", json_object_new_uint64(s.mem_checks));
		json_object_object_add(o, "mem_errors", json_object_new_uint64(s.mem_errors));
		json_object_object_add(o, "host_reports", json_object_new_uint64(
			__atomic_load_n(&h->nr_reports, __ATOMIC_RELAXED)));
		json_object_object_add(o, "regressions", json_object_new_uint64(
			__atomic_load_n(&h->regressions, __ATOMIC_RELAXED)));
		if (vm__is_paused(vm))
			bg_status_regs(&vm->vcpus[i], o);
		json_object_array_add(arr, o);
	}
	json_object_object_add(reply, "counter", json_object_new_uint64(sum));
	json_object_object_add(reply, "tsc_khz", json_object_new_uint64(khz));
	/* vCPU 0's passes over its sweep region (v5), 0 for an older guest. */
	json_object_object_add(reply, "sweeps", json_object_new_uint64(
		*(const u32 *)bg_ptr(vm, BG_HDR_GPA + BG_HDR_VERSION, 4) < 5 ? 0 :
		__atomic_load_n((const u64 *)bg_ptr(vm, BG_SPEED_GPA + BG_SPEED_SWEEPS, 8),
				__ATOMIC_RELAXED)));
	json_object_object_add(reply, "vcpu", arr);
	builtin_guest__edu_status(vm, reply);
}

static const struct control_status builtin_guest_status = { builtin_guest__status };
CONTROL_STATUS(builtin_guest_status);

static const struct guest_ops builtin_guest = {
	.kind = GUEST_BUILTIN,
	.name = "builtin",
	.load = builtin_guest__load,
	.setup_vcpu = builtin_guest__setup_vcpu,
};
GUEST_REGISTER(builtin_guest);
