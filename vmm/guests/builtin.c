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

#include "vmm/builtin_guest.h"
#include "vmm/control.h"
#include "vmm/device.h"
#include "vmm/guest.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "vmm/x86/boot.h"

extern const u8 builtin_guest_code_start[];
extern const u8 builtin_guest_vectors[];
extern const u8 builtin_guest_code_end[];

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_PS		(1ULL << 7)

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
	free(vm->bg);
	vm->bg = NULL;
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

	if (!vm->bg || !rec)
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
		/* 64-bit TSS descriptor, type 0xb (busy: TR is loaded). */
		desc[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			  (0xbULL << 40) | (1ULL << 47) |
			  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
		desc[1] = base >> 32;
	}
}

static void bg_write_idt(struct vm *vm)
{
	u64 *idt = bg_ptr(vm, BG_IDT_GPA, 0x1000);
	u64 stubs = BG_CODE_GPA + (builtin_guest_vectors - builtin_guest_code_start);
	unsigned int v;

	for (v = 0; v < 256; v++) {
		u64 handler = stubs + 16 * v;

		/* 64-bit interrupt gate, DPL 0, present, kernel CS. */
		idt[2 * v] = (handler & 0xffff) | ((u64)BG_KERNEL_CS << 16) |
			     (0x8eULL << 40) | (((handler >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = handler >> 32;
	}
}

static void bg_write_page_tables(struct vm *vm)
{
	u64 *pml4 = bg_ptr(vm, BG_PML4_GPA, 0x1000);
	u64 *pdpt = bg_ptr(vm, BG_PDPT_GPA, 0x1000);
	u64 *pd = bg_ptr(vm, BG_PD_GPA, 0x1000);
	unsigned int i;

	/* User-accessible: the counter loop runs at ring 3. */
	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = BG_PDPT_GPA | PTE_P | PTE_RW | PTE_US;
	pdpt[0] = BG_PD_GPA | PTE_P | PTE_RW | PTE_US;
	for (i = 0; i < 512; i++)
		pd[i] = ((u64)i * SZ_2M) | PTE_P | PTE_RW | PTE_US | PTE_PS;
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

	if (code_len > BG_CODE_MAX || !pattern || !hdr) {
		pr_err("built-in guest does not fit in guest RAM");
		return -EINVAL;
	}
	bg_write_gdt_and_tss(vm);
	bg_write_idt(vm);
	bg_write_page_tables(vm);
	memcpy(bg_ptr(vm, BG_CODE_GPA, code_len), builtin_guest_code_start, code_len);
	memset(bg_ptr(vm, BG_SLOTS_GPA, 0x1000), 0, 0x1000);
	memset(bg_ptr(vm, BG_MARKS_GPA, BG_MAX_VCPUS << BG_MARKS_SHIFT), 0,
	       BG_MAX_VCPUS << BG_MARKS_SHIFT);

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
	v64 = bg->touch_ram ? MIN(guest_mem__low_end(&vm->mem), BG_MAPPED_END) : 0;
	memcpy(hdr + BG_HDR_TOUCH_END, &v64, 8);
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
		json_object_array_add(arr, o);
	}
	json_object_object_add(reply, "counter", json_object_new_uint64(sum));
	json_object_object_add(reply, "tsc_khz", json_object_new_uint64(khz));
	json_object_object_add(reply, "vcpu", arr);
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
