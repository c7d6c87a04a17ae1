// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's life: create (KVM VM, RAM, vCPUs, devices), load a guest,
 * start, pause/resume, stop, destroy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/guest.h"
#include "vmm/vm.h"

static int vm__create_vcpus(struct vm *vm, struct vm_parts *parts)
{
	unsigned int i;
	int ret;

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (parts && parts->vcpu_fds) {
			ret = vcpu__adopt(vm, &vm->vcpus[i], i, parts->vcpu_fds[i]);
			parts->vcpu_fds[i] = -1;
		} else {
			ret = vcpu__create(vm, &vm->vcpus[i], i);
		}
		if (ret)
			return ret;
	}
	/* Same CPUID on every vCPU, so vCPU 0 tells which MSRs exist. */
	if (parts && parts->msr_index) {
		vm->kvm.msr_index = parts->msr_index;
		vm->kvm.nr_msrs = parts->nr_msrs;
		parts->msr_index = NULL;
	}
	ret = kvm__probe_msrs(&vm->kvm, vm->vcpus[0].fd);
	if (ret)
		return ret;
	ret = __kvm_ioctl_quiet(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, NULL);
	vm->tsc_khz = ret > 0 ? ret : 0;
	return 0;
}

/* Whatever of @parts was not taken over is closed or freed here. */
static void vm__drop_parts(const struct vmm_config *cfg, struct vm_parts *parts)
{
	unsigned int i;

	if (!parts)
		return;
	if (parts->mem && parts->mem->memfd >= 0)
		guest_mem__destroy(parts->mem);
	if (parts->vm_fd >= 0) {
		close(parts->vm_fd);
		parts->vm_fd = -1;
	}
	for (i = 0; parts->vcpu_fds && i < MIN(cfg->nr_cpus, VM_MAX_VCPUS); i++) {
		if (parts->vcpu_fds[i] >= 0)
			close(parts->vcpu_fds[i]);
		parts->vcpu_fds[i] = -1;
	}
	free(parts->msr_index);
	parts->msr_index = NULL;
}

static int vm__build(struct vm *vm, const struct vmm_config *cfg, struct vm_parts *parts)
{
	bool keep_vm = parts && parts->vm_fd >= 0;
	int ret;

	if (parts && !keep_vm)
		parts->vcpu_fds = NULL;	/* vCPUs only come with their VM */

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	vm->mem.memfd = -1;
	vm->event_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_cond_init(&vm->parked_cond, NULL);
	mmio__init(&vm->mmio);
	vm->want = VM_RUNNING;

	if (cfg->nr_cpus < 1 || cfg->nr_cpus > VM_MAX_VCPUS) {
		pr_err("--cpus %u is out of range (1 to %u)", cfg->nr_cpus, VM_MAX_VCPUS);
		return -EINVAL;
	}
	vm->nr_vcpus = cfg->nr_cpus;
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->event_fd < 0)
		return -errno;

	ret = kvm__open(&vm->kvm);
	if (ret)
		return ret;
	if (vm->nr_vcpus > (unsigned int)vm->kvm.max_vcpus) {
		pr_err("--cpus %u exceeds KVM's limit of %d", vm->nr_vcpus,
		       vm->kvm.max_vcpus);
		return -EINVAL;
	}
	if (keep_vm) {
		vm->kvm.vm_fd = parts->vm_fd;
		parts->vm_fd = -1;
	} else {
		ret = kvm__create_vm(&vm->kvm);
		if (ret)
			return ret;
	}
	if (parts && parts->mem) {
		vm->mem = *parts->mem;
		parts->mem->memfd = -1;
		parts->mem->hva = NULL;
	} else {
		ret = guest_mem__create(&vm->mem, cfg->mem_size, cfg->hugepages);
		if (ret)
			return ret;
	}
	/* A kept VM has its memslots, at the addresses RAM is mapped at. */
	if (!keep_vm) {
		ret = guest_mem__register(&vm->mem, &vm->kvm);
		if (ret)
			return ret;
	}
	ret = vm__create_vcpus(vm, parts);
	if (ret)
		return ret;
	return devices__init(vm, parts ? parts->devices : NULL);
}

int vm__create_from(struct vm *vm, const struct vmm_config *cfg, struct vm_parts *parts)
{
	int ret = vm__build(vm, cfg, parts);

	vm__drop_parts(cfg, parts);
	return ret;
}

int vm__create(struct vm *vm, const struct vmm_config *cfg, struct guest_mem *mem)
{
	struct vm_parts parts = { .mem = mem, .vm_fd = -1 };

	return vm__create_from(vm, cfg, &parts);
}

extern const struct guest_ops *const __start_vmm_guests[];
extern const struct guest_ops *const __stop_vmm_guests[];

const struct guest_ops *guest__find(enum vmm_guest_kind kind)
{
	const struct guest_ops *const *p;

	for (p = __start_vmm_guests; p < __stop_vmm_guests; p++)
		if ((*p)->kind == kind)
			return *p;
	return NULL;
}

int vm__load_guest(struct vm *vm, const struct boot_linux_image *linux_image)
{
	const struct guest_ops *guest = guest__find(vm->cfg->guest);
	unsigned int i;
	int ret;

	if (!guest) {
		pr_err("no guest model of kind %d in this VMM", vm->cfg->guest);
		return -ENOSYS;
	}
	ret = guest->load(vm, linux_image);
	for (i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = guest->setup_vcpu(vm, &vm->vcpus[i]);
	return ret;
}

int vm__start(struct vm *vm)
{
	unsigned int i;
	int ret = 0;

	vm->start_ns = now_ns();
	vcpu__hold_start(vm);
	for (i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = vcpu__start(&vm->vcpus[i]);
	vcpu__release_start(vm);
	return ret;
}

void vm__pause(struct vm *vm)
{
	u64 t0 = now_ns();

	vcpu__pause_all(vm);
	vm->paused_ns = now_ns();
	vm->last_pause_ns = vm->paused_ns - t0;
}

void vm__resume(struct vm *vm)
{
	vcpu__resume_all(vm);
}

bool vm__is_paused(struct vm *vm)
{
	bool paused;

	pthread_mutex_lock(&vm->lock);
	paused = vm->want == VM_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	return paused;
}

void vm__stop(struct vm *vm)
{
	if (vm->vcpus)
		vcpu__stop_all(vm);
}

void vm__release_mem(struct vm *vm, struct guest_mem *out)
{
	*out = vm->mem;
	vm->mem.memfd = -1;
	vm->mem.hva = NULL;
}

void vm__destroy(struct vm *vm)
{
	unsigned int i;

	if (!vm->cfg)
		return;		/* vm__create() never ran */
	vm__stop(vm);
	devices__exit(vm);
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu__destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	guest_mem__destroy(&vm->mem);
	kvm__close(&vm->kvm);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	vm->event_fd = -1;
	mmio__exit(&vm->mmio);
	pthread_cond_destroy(&vm->cond);
	pthread_cond_destroy(&vm->parked_cond);
	pthread_mutex_destroy(&vm->lock);
}

bool vm__is_ending(struct vm *vm, char *why, size_t len)
{
	bool ending;

	pthread_mutex_lock(&vm->lock);
	ending = vm->exit_reason != VM_EXIT_NONE;
	if (ending)
		snprintf(why, len, "%s", vm->exit_msg);
	pthread_mutex_unlock(&vm->lock);
	return ending;
}

void vm__request_exit(struct vm *vm, enum vm_exit_reason reason,
		      const char *fmt, ...)
{
	u64 one = 1;
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (vm->exit_reason == VM_EXIT_NONE) {
		vm->exit_reason = reason;
		va_start(ap, fmt);
		vsnprintf(vm->exit_msg, sizeof(vm->exit_msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->lock);
	if (write(vm->event_fd, &one, sizeof(one)) < 0)
		pr_debug("eventfd write failed: %s", strerror(errno));
}
