// SPDX-License-Identifier: GPL-2.0
/*
 * The new image gets its VM back.
 *
 * adopt:   map guest RAM at the address the old image used (the memslots
 *          name it), ADOPT_KVM, retrieve the vCPU fds and map their
 *          kvm_run again.  Nothing of the VM is restored: registers,
 *          LAPICs, IOAPIC, PIT, kvmclock, pending interrupts and I/O stay
 *          in the kernel.  Only the VMM's device models come from records.
 *          If the module refuses (a kernel it was not tested on, VMX
 *          private memslots, ...) or the address is taken, fall back to
 *          rebuild: the records hold the whole VM state for that.
 * rebuild, cloexec:
 *          map guest RAM anywhere, create a new VM and restore everything
 *          from the records (vm_state__restore()).
 *
 * Kept files are used through fresh fds (transport get_fd()), so a failure
 * here leaves the stash or the inherited fds as they were for a rollback.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "upgrade.h"
#include "vmm/device.h"

static const struct state_mem_layout *recover__layout(struct upgrade_in *in)
{
	struct state_cursor c;
	struct state_rec rec;
	char err[200];

	state_cursor__init(&c, in->data, in->len);
	while (state__next(&c, &rec, err, sizeof(err)) > 0)
		if (rec.type == STATE_MEM_LAYOUT)
			return rec.payload;
	return NULL;
}

/* The kept RAM, at @hva (adopt) or anywhere. */
static int recover__map_ram(struct upgrade_in *in, struct guest_mem *mem,
			    const struct state_mem_layout *layout, void *hva)
{
	int fd = in->tr->get_fd(in, STATE_FD_GUEST_RAM, 0);
	unsigned int i;
	int ret;

	if (fd < 0) {
		pr_err("incoming: no guest RAM: %s", strerror(-fd));
		return fd;
	}
	ret = guest_mem__adopt(mem, fd, layout->size, in->cfg.hugepages, hva);
	if (ret) {
		close(fd);
		mem->memfd = -1;
		return ret;
	}
	/* The layout is computed from the size: it must match the records. */
	if (mem->nr_regions != layout->nr_regions)
		goto mismatch;
	for (i = 0; i < mem->nr_regions; i++)
		if (mem->regions[i].gpa != layout->regions[i].gpa ||
		    mem->regions[i].size != layout->regions[i].size ||
		    mem->regions[i].offset != layout->regions[i].offset)
			goto mismatch;
	return 0;
mismatch:
	pr_err("incoming: this VMM lays guest RAM out differently from the records");
	guest_mem__destroy(mem);
	return -EINVAL;
}

/* ADOPT_KVM and the vCPU fds; on failure nothing is kept and @why says it. */
static int recover__adopt(struct upgrade_in *in, struct vm_parts *parts, int *vcpu_fds)
{
	unsigned int i, n = in->cfg.nr_cpus;
	int ret, fd;

	ret = upgrade_fault__point("before-adopt");
	if (!ret)
		ret = in->tr->adopt_vm(in);
	if (ret) {
		snprintf(in->fallback, sizeof(in->fallback), "ADOPT_KVM: %s", strerror(-ret));
		return ret;
	}
	ret = upgrade_fault__point("after-adopt");
	if (ret) {
		snprintf(in->fallback, sizeof(in->fallback), "test fault after-adopt: %s",
			 strerror(-ret));
		return ret;
	}
	fd = in->tr->get_fd(in, STATE_FD_KVM_VM, 0);
	if (fd < 0)
		goto err;
	parts->vm_fd = fd;
	for (i = 0; i < n; i++) {
		vcpu_fds[i] = in->tr->get_fd(in, STATE_FD_KVM_VCPU, i);
		if (vcpu_fds[i] < 0) {
			fd = vcpu_fds[i];
			while (i--)
				close(vcpu_fds[i]);
			close(parts->vm_fd);
			parts->vm_fd = -1;
			goto err;
		}
	}
	parts->vcpu_fds = vcpu_fds;
	return 0;
err:
	snprintf(in->fallback, sizeof(in->fallback), "retrieving the VM's files: %s",
		 strerror(-fd));
	return fd;
}

static int recover__take_device_fd(struct device_in *dev, u32 index)
{
	struct upgrade_in *in = dev->opaque;

	return in->tr->get_fd(in, STATE_FD_DEVICE, index);
}

int recover__vm(struct upgrade_in *in)
{
	const struct state_mem_layout *layout = recover__layout(in);
	struct vm *vm = &in->run->vm;
	int vcpu_fds[VM_MAX_VCPUS];
	struct guest_mem mem = { .memfd = -1 };
	struct vm_parts parts = { .mem = &mem, .vm_fd = -1 };
	bool adopt = in->mode == UPGRADE_ADOPT && in->tr->adopt_vm;
	struct device_in devices;
	int ret;

	if (!layout)
		return -EINVAL;
	in->done = in->mode;

	/* Map RAM first, before anything else takes address space. */
	ret = recover__map_ram(in, &mem, layout, adopt ? (void *)(uintptr_t)layout->hva : NULL);
	if (ret && adopt) {
		snprintf(in->fallback, sizeof(in->fallback),
			 "guest RAM cannot be mapped at %#llx again: %s",
			 (unsigned long long)layout->hva, strerror(-ret));
		adopt = false;
		ret = recover__map_ram(in, &mem, layout, NULL);
	}
	if (ret)
		return ret;
	ret = device_in__open(&devices, in->data, in->len);
	if (ret) {
		guest_mem__destroy(&mem);
		return ret;
	}
	if (adopt && recover__adopt(in, &parts, vcpu_fds))
		adopt = false;
	if (in->mode == UPGRADE_ADOPT && !adopt) {
		pr_warn("incoming: adopt refused (%s): rebuilding the VM from records",
			in->fallback);
		in->done = UPGRADE_REBUILD;
	}

	/* The MSR list the old image probed: no need to probe again. */
	if (vm_state__msr_index(in->data, in->len, &parts.msr_index, &parts.nr_msrs))
		parts.msr_index = NULL;

	devices.kept_vm = adopt;
	devices.take_fd = recover__take_device_fd;
	devices.opaque = in;
	parts.devices = &devices;

	ret = vm__create_from(vm, &in->cfg, &parts);
	if (ret) {
		pr_err("incoming: cannot build the VM: %s", strerror(-ret));
		goto out;
	}
	if (adopt)
		ret = vm_state__restore_devices(vm, in->data, in->len, &devices);
	else
		ret = vm_state__restore(vm, in->data, in->len, &devices);
	if (ret)
		pr_err("incoming: cannot restore the VM state: %s", strerror(-ret));
out:
	device_in__close(&devices);
	return ret;
}
