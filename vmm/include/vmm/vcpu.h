/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPUs: one thread each, running KVM_RUN and handling its exits, and the
 * pause/resume protocol that parks them all outside KVM_RUN.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>

#include "vmm/kvm.h"

#define MSR_IA32_TSC	0x10

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;		/* also the APIC id */
	int fd;
	struct kvm_run *run;		/* mmap of the vCPU fd */
	pthread_t thread;
	bool thread_started;
	bool exit_handled;		/* its thread's: an exit not re-entered yet */
	/* Protected by vm->lock. */
	bool parked;
	bool exited;
};

int vcpu__create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
/* An existing vCPU fd (kept across exec): map its kvm_run again. */
int vcpu__adopt(struct vm *vm, struct vcpu *vcpu, unsigned int id, int fd);
void vcpu__destroy(struct vcpu *vcpu);
int vcpu__start(struct vcpu *vcpu);
/* The guest's TSC now (its thread parked or not started): 0 or -errno. */
int vcpu__read_tsc(struct vcpu *vcpu, u64 *tsc);

/*
 * The pause protocol, seen from the controlling thread.  vcpu__pause_all()
 * returns once every vCPU thread is parked outside KVM_RUN with any pending
 * I/O completed, so the VM's state can be read or written consistently.
 */
void vcpu__pause_all(struct vm *vm);
void vcpu__resume_all(struct vm *vm);
/* vm__start(): vCPU threads wait until every one of them exists. */
void vcpu__hold_start(struct vm *vm);
void vcpu__release_start(struct vm *vm);
/* Ask every vCPU thread to finish, then join them all. */
void vcpu__stop_all(struct vm *vm);

#endif
