/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMM_X86_CPUID_H
#define VMM_X86_CPUID_H

#include "vmm/kvm.h"

/* Give a vCPU KVM's supported CPUID with its own APIC id filled in. */
int cpuid__setup_vcpu(struct kvm *kvm, int vcpu_fd, unsigned int id,
		      unsigned int nr_cpus);

#endif
