// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kvm and the VM fd: open, capabilities, VM creation with the in-kernel
 * irqchip and PIT, memory slots and interrupt lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/kvm.h"

#define KVM_MAX_CPUID_ENTRIES	256

int __kvm_ioctl_quiet(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR && cmd != KVM_RUN);
	return ret < 0 ? -errno : ret;
}

int __kvm_ioctl(int fd, unsigned long cmd, const char *name, void *arg)
{
	int ret = __kvm_ioctl_quiet(fd, cmd, arg);

	if (ret < 0)
		pr_err("%s failed: %s", name, strerror(-ret));
	return ret;
}

bool kvm__host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static int kvm__check_caps(struct kvm *kvm)
{
	static const struct { int cap; const char *name; } required[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK" },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(required); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, required[i].cap) <= 0) {
			pr_err("/dev/kvm lacks %s", required[i].name);
			return -ENOTSUP;
		}
	}
	ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	kvm->max_vcpus = ret > 0 ? ret : 1;
	ret = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	kvm->xsave_size = ret > (int)sizeof(struct kvm_xsave) ? (u32)ret : 0;
	return 0;
}

int kvm__get_supported_cpuid(struct kvm *kvm)
{
	struct kvm_cpuid2 *cpuid;

	if (kvm->cpuid)
		return 0;

	cpuid = calloc(1, sizeof(*cpuid) +
		       KVM_MAX_CPUID_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = KVM_MAX_CPUID_ENTRIES;
	if (kvm_ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		free(cpuid);
		return -EIO;
	}
	kvm->cpuid = cpuid;
	return 0;
}

int kvm__open(struct kvm *kvm)
{
	int ret;

	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		ret = -errno;
		pr_err("cannot open /dev/kvm: %s", strerror(errno));
		return ret;
	}
	ret = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		pr_err("/dev/kvm API version %d, expected %d", ret, KVM_API_VERSION);
		ret = -ENOTSUP;
		goto err;
	}
	ret = kvm__check_caps(kvm);
	if (ret)
		goto err;
	kvm->vcpu_mmap_size = kvm_ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size < 0) {
		ret = kvm->vcpu_mmap_size;
		goto err;
	}
	kvm->is_pvm = kvm__host_is_pvm();
	return 0;
err:
	kvm__close(kvm);
	return ret;
}

/*
 * The in-kernel irqchip (PIC + IOAPIC + LAPICs) must exist before the first
 * vCPU; the PIT is created after it because it injects through it.
 */
int kvm__create_vm(struct kvm *kvm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	int ret;

	ret = kvm_ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (ret < 0)
		return ret;
	kvm->vm_fd = ret;

	/* Only VMX uses this; elsewhere it is accepted and ignored. */
	if (__kvm_ioctl_quiet(kvm->vm_fd, KVM_SET_TSS_ADDR, (void *)KVM_TSS_ADDR) < 0)
		pr_debug("KVM_SET_TSS_ADDR not accepted, continuing");

	ret = kvm_ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0);
	if (ret < 0)
		return ret;
	ret = kvm_ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit);
	if (ret < 0)
		return ret;
	return 0;
}

void kvm__close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->cpuid);
	free(kvm->msr_index);
	kvm->vm_fd = kvm->sys_fd = -1;
	kvm->cpuid = NULL;
	kvm->msr_index = NULL;
}

int kvm__set_memslot(struct kvm *kvm, u32 slot, u64 gpa, u64 size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (unsigned long)hva,
	};

	return kvm_ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

int kvm__irq_line(struct kvm *kvm, u32 irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return kvm_ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l);
}

/*
 * KVM_GET_MSR_INDEX_LIST lists every MSR KVM knows, including ones this CPU
 * model lacks (reading them fails).  Keep the ones a vCPU can read, so state
 * capture is one KVM_GET_MSRS and restore one KVM_SET_MSRS.
 */
int kvm__probe_msrs(struct kvm *kvm, int vcpu_fd)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} one;
	unsigned int i;
	int ret;

	if (kvm->msr_index)
		return 0;
	ret = __kvm_ioctl_quiet(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe);
	if (ret < 0 && ret != -E2BIG) {
		pr_err("KVM_GET_MSR_INDEX_LIST failed: %s", strerror(-ret));
		return ret;
	}
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(u32));
	kvm->msr_index = calloc(probe.nmsrs ? probe.nmsrs : 1, sizeof(u32));
	if (!list || !kvm->msr_index) {
		free(list);
		return -ENOMEM;
	}
	list->nmsrs = probe.nmsrs;
	ret = kvm_ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, list);
	if (ret < 0) {
		free(list);
		return ret;
	}
	for (i = 0; i < list->nmsrs; i++) {
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.entry.index = list->indices[i];
		if (__kvm_ioctl_quiet(vcpu_fd, KVM_GET_MSRS, &one) == 1)
			kvm->msr_index[kvm->nr_msrs++] = list->indices[i];
	}
	pr_debug("%u of %u MSRs in the index list are readable",
		 kvm->nr_msrs, list->nmsrs);
	free(list);
	return 0;
}

/* Slot numbers as bits of kvm->memslots_used; RAM's are never handed out. */
int kvm__memslot_alloc(struct kvm *kvm)
{
	u64 used = __atomic_load_n(&kvm->memslots_used, __ATOMIC_RELAXED);
	u32 slot;

	for (slot = KVM_RAM_SLOTS; slot < KVM_MAX_SLOTS; slot++) {
		if (used & (1ULL << slot))
			continue;
		used = __atomic_fetch_or(&kvm->memslots_used, 1ULL << slot, __ATOMIC_ACQ_REL);
		if (!(used & (1ULL << slot)))
			return (int)slot;
	}
	pr_err("no free KVM memslot (%u used)", KVM_MAX_SLOTS);
	return -ENOSPC;
}

int kvm__memslot_reserve(struct kvm *kvm, u32 slot)
{
	if (slot < KVM_RAM_SLOTS || slot >= KVM_MAX_SLOTS)
		return -EINVAL;
	if (__atomic_fetch_or(&kvm->memslots_used, 1ULL << slot, __ATOMIC_ACQ_REL) &
	    (1ULL << slot))
		return -EBUSY;
	return 0;
}

void kvm__memslot_free(struct kvm *kvm, u32 slot)
{
	if (slot >= KVM_RAM_SLOTS && slot < KVM_MAX_SLOTS)
		__atomic_fetch_and(&kvm->memslots_used, ~(1ULL << slot), __ATOMIC_ACQ_REL);
}
