// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID: KVM's supported leaves, with the per-vCPU topology fields set so
 * the guest finds each vCPU at the APIC id the MP table announces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/x86/cpuid.h"

int cpuid__setup_vcpu(struct kvm *kvm, int vcpu_fd, unsigned int id,
		      unsigned int nr_cpus)
{
	struct kvm_cpuid2 *cpuid;
	unsigned int i;
	size_t size;
	int ret;

	ret = kvm__get_supported_cpuid(kvm);
	if (ret)
		return ret;
	size = sizeof(*kvm->cpuid) + kvm->cpuid->nent * sizeof(kvm->cpuid->entries[0]);
	cpuid = malloc(size);
	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, kvm->cpuid, size);
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC id, [23:16] logical CPUs. */
			e->ebx &= 0x0000ffff;
			e->ebx |= (id << 24) | ((nr_cpus & 0xff) << 16);
			if (nr_cpus > 1)
				e->edx |= 1u << 28;	/* HTT: the count is valid */
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC id of this vCPU. */
			e->edx = id;
			break;
		}
	}
	ret = kvm_ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return ret < 0 ? ret : 0;
}
