// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-VM capture and restore through state records: every vCPU's
 * registers, FPU/XSAVE, XCRs, MSRs, LAPIC, events, debug registers and MP
 * state; the in-kernel PIC, IOAPIC and PIT; kvmclock; the device models.
 * Guest RAM is not in the stream: it stays in its memfd.
 *
 * Restore order follows what KVM needs: CPUID is set when the vCPU is
 * created; then SREGS before REGS (mode first), XSAVE after FPU (it is the
 * superset), LAPIC before MSRs (the TSC deadline MSR needs the LAPIC mode),
 * MP state and events last.  kvmclock goes in after the vCPUs, so its
 * KVM_CLOCK_REALTIME catch-up counts from the last moment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/devices.h"
#include "vmm/state.h"
#include "vmm/vm.h"


struct vcpu_ioctl {
	u16 type;
	unsigned long get, set;
	const char *get_name, *set_name;
	u32 size;
};

#define VCPU_IOCTL(t, g, s, type_) { t, g, s, #g, #s, sizeof(type_) }

/* Fixed-size per-vCPU state, in restore order (XSAVE and MSRs apart). */
static const struct vcpu_ioctl vcpu_fixed[] = {
	VCPU_IOCTL(STATE_VCPU_SREGS, KVM_GET_SREGS, KVM_SET_SREGS, struct kvm_sregs),
	VCPU_IOCTL(STATE_VCPU_REGS, KVM_GET_REGS, KVM_SET_REGS, struct kvm_regs),
	VCPU_IOCTL(STATE_VCPU_FPU, KVM_GET_FPU, KVM_SET_FPU, struct kvm_fpu),
	VCPU_IOCTL(STATE_VCPU_XCRS, KVM_GET_XCRS, KVM_SET_XCRS, struct kvm_xcrs),
	VCPU_IOCTL(STATE_VCPU_LAPIC, KVM_GET_LAPIC, KVM_SET_LAPIC, struct kvm_lapic_state),
	VCPU_IOCTL(STATE_VCPU_DEBUGREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, struct kvm_debugregs),
	VCPU_IOCTL(STATE_VCPU_EVENTS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, struct kvm_vcpu_events),
	VCPU_IOCTL(STATE_VCPU_MP_STATE, KVM_GET_MP_STATE, KVM_SET_MP_STATE, struct kvm_mp_state),
};

/* ---- save ---- */

/* Probed once, by kvm__open(). */
static u32 vm_state__xsave_size(struct vm *vm)
{
	return vm->kvm.xsave_size ? vm->kvm.xsave_size : sizeof(struct kvm_xsave);
}

/*
 * The guest is paused: XSAVE and the MSRs go straight into their records,
 * no buffer to allocate and copy.  A failed ioctl leaves a record behind,
 * but the caller then throws the whole stream away.
 */
int vm_state__save_vcpu(struct vm *vm, struct vcpu *vcpu, struct state_buf *b)
{
	u32 xsize = vm_state__xsave_size(vm);
	size_t msize = sizeof(struct kvm_msrs) + vm->kvm.nr_msrs * sizeof(struct kvm_msr_entry);
	u8 buf[sizeof(struct kvm_sregs) + sizeof(struct kvm_lapic_state)];
	struct kvm_msrs *msrs;
	void *xsave;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vcpu_fixed); i++) {
		ret = __kvm_ioctl(vcpu->fd, vcpu_fixed[i].get, vcpu_fixed[i].get_name, buf);
		if (ret < 0)
			return ret;
		state__put(b, vcpu_fixed[i].type, vcpu->id, buf, vcpu_fixed[i].size);
	}

	xsave = state__put_space(b, STATE_VCPU_XSAVE, vcpu->id, xsize);
	if (!xsave)
		return 0;	/* b->err says why, as for every put */
	ret = xsize > sizeof(struct kvm_xsave) ?
		kvm_ioctl(vcpu->fd, KVM_GET_XSAVE2, xsave) :
		kvm_ioctl(vcpu->fd, KVM_GET_XSAVE, xsave);
	if (ret < 0)
		return ret;

	msrs = state__put_space(b, STATE_VCPU_MSRS, vcpu->id, msize);
	if (!msrs)
		return 0;
	msrs->nmsrs = vm->kvm.nr_msrs;
	for (i = 0; i < msrs->nmsrs; i++)
		msrs->entries[i].index = vm->kvm.msr_index[i];
	ret = kvm_ioctl(vcpu->fd, KVM_GET_MSRS, msrs);
	if (ret >= 0 && (u32)ret != msrs->nmsrs) {
		pr_err("vCPU %u: KVM_GET_MSRS stopped at MSR %#x", vcpu->id,
		       msrs->entries[ret].index);
		ret = -EIO;
	}
	return ret < 0 ? ret : 0;
}

static int vm_state__save_vm(struct vm *vm, struct state_buf *b)
{
	static const u16 chips[] = { STATE_PIC_MASTER, STATE_PIC_SLAVE, STATE_IOAPIC };
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(chips); i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;	/* KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC */
		ret = kvm_ioctl(vm->kvm.vm_fd, KVM_GET_IRQCHIP, &chip);
		if (ret < 0)
			return ret;
		state__put(b, chips[i], 0, &chip, sizeof(chip));
	}
	ret = kvm_ioctl(vm->kvm.vm_fd, KVM_GET_PIT2, &pit);
	if (ret < 0)
		return ret;
	state__put(b, STATE_PIT2, 0, &pit, sizeof(pit));
	memset(&clock, 0, sizeof(clock));
	ret = kvm_ioctl(vm->kvm.vm_fd, KVM_GET_CLOCK, &clock);
	if (ret < 0)
		return ret;
	state__put(b, STATE_CLOCK, 0, &clock, sizeof(clock));
	return 0;
}

int vm_state__save_machine(struct vm *vm, struct state_buf *b)
{
	struct state_vm_info info = {
		.nr_vcpus = vm->nr_vcpus,
		.guest = vm->cfg->guest,
		.mem_size = vm->mem.size,
		.tsc_khz = vm->tsc_khz,
		.flags = vm->mem.hugepages ? STATE_VM_HUGEPAGES : 0,
		.saved_realtime_ns = realtime_ns(),
	};
	struct state_mem_layout layout = {
		.size = vm->mem.size,
		.hva = (unsigned long)vm->mem.hva,
		.nr_regions = vm->mem.nr_regions,
	};
	unsigned int i;

	for (i = 0; i < vm->mem.nr_regions; i++) {
		layout.regions[i].gpa = vm->mem.regions[i].gpa;
		layout.regions[i].size = vm->mem.regions[i].size;
		layout.regions[i].offset = vm->mem.regions[i].offset;
	}
	state__put(b, STATE_VM_INFO, 0, &info, sizeof(info));
	state__put(b, STATE_MEM_LAYOUT, 0, &layout, sizeof(layout));
	return vm_state__save_vm(vm, b);
}

int vm_state__save(struct vm *vm, struct state_buf *b)
{
	unsigned int i;
	int ret;

	ret = vm_state__save_machine(vm, b);
	for (i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = vm_state__save_vcpu(vm, &vm->vcpus[i], b);
	if (ret)
		return ret;
	devices__save(vm, b);
	state__put_end(b);
	if (b->err)
		pr_err("cannot encode VM state: %s", strerror(-b->err));
	return b->err;
}

/* ---- restore ---- */

static int vm_state__check_info(struct vm *vm, const struct state_vm_info *info,
				const struct state_mem_layout *layout)
{
	if (info->nr_vcpus != vm->nr_vcpus) {
		pr_err("state has %u vCPUs, this VM %u", info->nr_vcpus, vm->nr_vcpus);
		return -EINVAL;
	}
	if (info->mem_size != vm->mem.size || layout->size != vm->mem.size ||
	    layout->nr_regions != vm->mem.nr_regions) {
		pr_err("state has %llu bytes of RAM, this VM %llu",
		       (unsigned long long)info->mem_size, (unsigned long long)vm->mem.size);
		return -EINVAL;
	}
	if (info->guest != (u32)vm->cfg->guest) {
		pr_err("state is of another guest kind");
		return -EINVAL;
	}
	return 0;
}

/* The TSC kept counting in the real world while the VM was saved. */
static void vm_state__advance_tsc(struct kvm_msrs *msrs, const struct state_vm_info *info)
{
	u64 now = realtime_ns(), delta_ns, ticks;
	unsigned int i;

	if (!info->tsc_khz || now <= info->saved_realtime_ns)
		return;
	delta_ns = now - info->saved_realtime_ns;
	ticks = delta_ns / 1000000 * info->tsc_khz + delta_ns % 1000000 * info->tsc_khz / 1000000;
	for (i = 0; i < msrs->nmsrs; i++)
		if (msrs->entries[i].index == MSR_IA32_TSC)
			msrs->entries[i].data += ticks;
}

static int vm_state__set_msrs(struct vcpu *vcpu, const struct state_rec *rec,
			      const struct state_vm_info *info)
{
	struct kvm_msrs *msrs = malloc(rec->len);
	int ret;

	if (!msrs)
		return -ENOMEM;
	memcpy(msrs, rec->payload, rec->len);
	vm_state__advance_tsc(msrs, info);
	ret = kvm_ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (ret >= 0 && (u32)ret != msrs->nmsrs) {
		pr_err("vCPU %u: KVM_SET_MSRS refused MSR %#x", vcpu->id,
		       msrs->entries[ret].index);
		ret = -EIO;
	}
	free(msrs);
	return ret < 0 ? ret : 0;
}

static int vm_state__set_xsave(struct vm *vm, struct vcpu *vcpu, const struct state_rec *rec)
{
	u32 want = vm_state__xsave_size(vm);
	void *xsave;
	int ret;

	if (rec->len > want) {
		pr_err("vCPU %u: XSAVE state of %u bytes, this host takes %u",
		       vcpu->id, rec->len, want);
		return -EINVAL;
	}
	xsave = calloc(1, want);
	if (!xsave)
		return -ENOMEM;
	memcpy(xsave, rec->payload, rec->len);
	ret = kvm_ioctl(vcpu->fd, KVM_SET_XSAVE, xsave);
	free(xsave);
	return ret < 0 ? ret : 0;
}

/* Copy a fixed-size payload into an aligned local before KVM sees it. */
static int vm_state__set_fixed(struct vcpu *vcpu, const struct vcpu_ioctl *io,
			       const struct state_rec *rec)
{
	u8 buf[sizeof(struct kvm_sregs) + sizeof(struct kvm_lapic_state)] __attribute__((aligned(8)));
	int ret;

	memcpy(buf, rec->payload, io->size);
	if (io->type == STATE_VCPU_EVENTS) {
		struct kvm_vcpu_events *ev = (void *)buf;

		ev->flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	}
	ret = __kvm_ioctl(vcpu->fd, io->set, io->set_name, buf);
	return ret < 0 ? ret : 0;
}

struct vm_state_index {
	const struct state_rec *info, *layout, *clock, *pit, *chips[3];
	struct state_index all;
	bool built;		/* @all is ours to free (not a device_in's) */
};

static const struct state_rec *vm_state__find(const struct vm_state_index *ix, u16 type, u32 id)
{
	return state_index__find(&ix->all, type, id);
}

/*
 * Decode the whole stream before touching the VM: all or nothing.  A live
 * upgrade indexed it already for the devices (@in): inside the pause, that
 * index serves here too instead of a second walk and sort.
 */
static int vm_state__index(const void *data, size_t len, struct device_in *in,
			   struct vm_state_index *ix)
{
	char err[200];
	int ret;

	memset(ix, 0, sizeof(*ix));
	if (in && in->ix) {
		ix->all = *in->ix;
	} else {
		ret = state_index__build(&ix->all, data, len, err, sizeof(err));
		if (ret) {
			pr_err("refusing VM state: %s", err);
			return ret;
		}
		ix->built = true;
	}
	ix->info = vm_state__find(ix, STATE_VM_INFO, 0);
	ix->layout = vm_state__find(ix, STATE_MEM_LAYOUT, 0);
	ix->clock = vm_state__find(ix, STATE_CLOCK, 0);
	ix->pit = vm_state__find(ix, STATE_PIT2, 0);
	ix->chips[0] = vm_state__find(ix, STATE_PIC_MASTER, 0);
	ix->chips[1] = vm_state__find(ix, STATE_PIC_SLAVE, 0);
	ix->chips[2] = vm_state__find(ix, STATE_IOAPIC, 0);
	if (!ix->info || !ix->layout || !ix->clock || !ix->pit ||
	    !ix->chips[0] || !ix->chips[1] || !ix->chips[2]) {
		pr_err("refusing VM state: a VM-wide record is missing");
		return -EINVAL;
	}
	return 0;
}

static int vm_state__restore_vcpu(struct vm *vm, struct vcpu *vcpu,
				  const struct vm_state_index *ix,
				  const struct state_vm_info *info)
{
	const struct state_rec *rec;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vcpu_fixed); i++) {
		rec = vm_state__find(ix, vcpu_fixed[i].type, vcpu->id);
		if (!rec) {
			pr_err("refusing VM state: no %s record for vCPU %u",
			       state__type_name(vcpu_fixed[i].type), vcpu->id);
			return -EINVAL;
		}
		/* XSAVE and MSRs slot in after FPU and LAPIC respectively. */
		ret = vm_state__set_fixed(vcpu, &vcpu_fixed[i], rec);
		if (!ret && vcpu_fixed[i].type == STATE_VCPU_FPU) {
			rec = vm_state__find(ix, STATE_VCPU_XSAVE, vcpu->id);
			ret = rec ? vm_state__set_xsave(vm, vcpu, rec) : 0;
		}
		if (!ret && vcpu_fixed[i].type == STATE_VCPU_LAPIC) {
			rec = vm_state__find(ix, STATE_VCPU_MSRS, vcpu->id);
			ret = rec ? vm_state__set_msrs(vcpu, rec, info) : 0;
		}
		if (ret)
			return ret;
	}
	return 0;
}

static void vm_state__index_free(struct vm_state_index *ix)
{
	if (ix->built)
		state_index__free(&ix->all);
}

/* The device models' state, from the same index (@in: kept files too). */
static int vm_state__restore_devices_ix(struct vm *vm, struct vm_state_index *ix,
					struct device_in *in)
{
	struct device_in from_records = { .ix = &ix->all };

	return devices__restore(vm, in && in->ix ? in : &from_records);
}

int vm_state__restore_devices(struct vm *vm, const void *data, size_t len,
			      struct device_in *in)
{
	struct vm_state_index ix;
	int ret;

	ret = vm_state__index(data, len, in, &ix);
	if (!ret)
		ret = vm_state__restore_devices_ix(vm, &ix, in);
	vm_state__index_free(&ix);
	return ret;
}

int vm_state__msr_index(const void *data, size_t len, u32 **index, unsigned int *nr)
{
	struct state_cursor c;
	struct state_rec rec;
	struct kvm_msrs msrs;
	char err[200];
	unsigned int i;

	state_cursor__init(&c, data, len);
	while (state__next(&c, &rec, err, sizeof(err)) > 0) {
		if (rec.type != STATE_VCPU_MSRS || rec.id != 0)
			continue;
		memcpy(&msrs, rec.payload, sizeof(msrs));
		*index = calloc(msrs.nmsrs ? msrs.nmsrs : 1, sizeof(u32));
		if (!*index)
			return -ENOMEM;
		for (i = 0; i < msrs.nmsrs; i++) {
			struct kvm_msr_entry e;

			memcpy(&e, (const u8 *)rec.payload + sizeof(msrs) + i * sizeof(e), sizeof(e));
			(*index)[i] = e.index;
		}
		*nr = msrs.nmsrs;
		return 0;
	}
	return -ENOENT;
}

int vm_state__restore(struct vm *vm, const void *data, size_t len, struct device_in *in)
{
	struct state_vm_info info;
	struct state_mem_layout layout;
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct vm_state_index ix;
	unsigned int i;
	int ret;

	ret = vm_state__index(data, len, in, &ix);
	if (ret)
		goto out;
	memcpy(&info, ix.info->payload, sizeof(info));
	memcpy(&layout, ix.layout->payload, sizeof(layout));
	ret = vm_state__check_info(vm, &info, &layout);
	if (ret)
		goto out;

	for (i = 0; i < 3; i++) {
		memcpy(&chip, ix.chips[i]->payload, sizeof(chip));
		if (chip.chip_id != i) {
			pr_err("refusing VM state: irqchip record %u has chip_id %u", i, chip.chip_id);
			ret = -EINVAL;
			goto out;
		}
		ret = kvm_ioctl(vm->kvm.vm_fd, KVM_SET_IRQCHIP, &chip);
		if (ret < 0)
			goto out;
	}
	memcpy(&pit, ix.pit->payload, sizeof(pit));
	ret = kvm_ioctl(vm->kvm.vm_fd, KVM_SET_PIT2, &pit);
	if (ret < 0)
		goto out;

	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = vm_state__restore_vcpu(vm, &vm->vcpus[i], &ix, &info);
		if (ret)
			goto out;
	}

	memcpy(&clock, ix.clock->payload, sizeof(clock));
	/* Only REALTIME is meaningful on set: KVM adds the time elapsed since. */
	clock.flags &= KVM_CLOCK_REALTIME;
	ret = kvm_ioctl(vm->kvm.vm_fd, KVM_SET_CLOCK, &clock);
	if (ret < 0)
		goto out;
	ret = vm_state__restore_devices_ix(vm, &ix, in);
out:
	vm_state__index_free(&ix);
	return ret;
}
