/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KVM system and VM file descriptors and the ioctls on them.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <linux/kvm.h>

#include "vmm/util.h"

/* In-kernel IOAPIC and LAPIC addresses (fixed by KVM's irqchip). */
#define IOAPIC_BASE	0xfec00000ULL
#define LAPIC_BASE	0xfee00000ULL
/* Three pages below the IOAPIC that VMX needs for its real-mode TSS. */
#define KVM_TSS_ADDR	0xfffbd000ULL

struct kvm {
	int sys_fd;			/* /dev/kvm */
	int vm_fd;			/* KVM_CREATE_VM */
	int vcpu_mmap_size;		/* size of each vCPU's struct kvm_run */
	int max_vcpus;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID, on demand */
	u32 *msr_index;			/* MSRs that every vCPU can get and set */
	unsigned int nr_msrs;
	u32 xsave_size;			/* KVM_CAP_XSAVE2 size, 0: plain XSAVE */
	bool is_pvm;			/* this host's PVM backend (section 4) */
	u64 memslots_used;		/* kvm__memslot_alloc(), atomic bits */
};

/*
 * Every ioctl goes through these so a failure names the ioctl and errno.
 * They return the ioctl's result or -errno.
 */
int __kvm_ioctl(int fd, unsigned long cmd, const char *name, void *arg);
int __kvm_ioctl_quiet(int fd, unsigned long cmd, void *arg);
#define kvm_ioctl(fd, cmd, arg)	__kvm_ioctl(fd, cmd, #cmd, (void *)(arg))

int kvm__open(struct kvm *kvm);
int kvm__create_vm(struct kvm *kvm);
/*
 * KVM_GET_SUPPORTED_CPUID into kvm->cpuid, once: only needed to create
 * vCPUs, so an adopted VM never pays for it.
 */
int kvm__get_supported_cpuid(struct kvm *kvm);
void kvm__close(struct kvm *kvm);

int kvm__set_memslot(struct kvm *kvm, u32 slot, u64 gpa, u64 size, void *hva);

/*
 * Memslot numbers for what is mapped straight into the guest besides RAM
 * (BARs backed by host memory).  Guest RAM has the first KVM_RAM_SLOTS
 * (guest_mem.c); these come from the next KVM_MAX_SLOTS - KVM_RAM_SLOTS,
 * any thread.  kvm__memslot_alloc() returns a free slot or -ENOSPC;
 * kvm__memslot_reserve() marks one a kept VM still has (adopt), -EBUSY if
 * taken; kvm__memslot_free() only gives the number back: delete the slot
 * (size 0) first.
 */
#define KVM_RAM_SLOTS	2
#define KVM_MAX_SLOTS	64
int kvm__memslot_alloc(struct kvm *kvm);
int kvm__memslot_reserve(struct kvm *kvm, u32 slot);
void kvm__memslot_free(struct kvm *kvm, u32 slot);
int kvm__irq_line(struct kvm *kvm, u32 irq, int level);

/* Learn which MSRs of KVM_GET_MSR_INDEX_LIST this vCPU really has. */
int kvm__probe_msrs(struct kvm *kvm, int vcpu_fd);

/* True on the PVM backend, where hardware-virtualization tests skip. */
bool kvm__host_is_pvm(void);

#endif
