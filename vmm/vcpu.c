// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads and the pause/resume protocol.
 *
 * Pausing: the controller sets vm->want = VM_PAUSED and, under vm->lock,
 * run->immediate_exit = 1 on every vCPU, then kicks each thread with
 * VCPU_KICK_SIGNAL.  A thread inside KVM_RUN returns -EINTR (the signal);
 * one about to enter returns -EINTR at once (immediate_exit), so no kick is
 * lost however the two race.  A thread clears immediate_exit only under
 * vm->lock after seeing want == VM_RUNNING.  Before parking, a thread runs
 * KVM_RUN once more with immediate_exit set: KVM then completes a pending
 * port read or write (advancing RIP) without entering the guest, so the
 * registers a state capture reads never point at a half-done instruction.
 *
 * Two condition variables: vm->cond wakes parked vCPUs when want changes,
 * vm->parked_cond wakes the controller when one parks or exits.  With one,
 * every vCPU parking woke all those parked before it: n^2 / 2 wake-ups
 * per pause, in a pause whose length is the guest's downtime.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/builtin_guest.h"
#include "vmm/vm.h"
#include "vmm/x86/cpuid.h"

#define VCPU_KICK_SIGNAL	SIGUSR2

static void vcpu__kick_handler(int sig)
{
	(void)sig;	/* Only here to make KVM_RUN return -EINTR. */
}

static void vcpu__setup_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = vcpu__kick_handler };

	/* No SA_RESTART: the point is to interrupt KVM_RUN. */
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

static void vcpu__install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, vcpu__setup_kick_handler);
}

static int vcpu__map_run(struct vm *vm, struct vcpu *vcpu)
{
	int ret;

	vcpu->run = mmap(NULL, vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		pr_err("mmap of vCPU %u's kvm_run failed: %s", vcpu->id, strerror(errno));
		vcpu->run = NULL;
		return ret;
	}
	return 0;
}

int vcpu__adopt(struct vm *vm, struct vcpu *vcpu, unsigned int id, int fd)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = fd;
	return vcpu__map_run(vm, vcpu);
}

int vcpu__create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	int fd = kvm_ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	int ret;

	if (fd < 0)
		return fd;
	ret = vcpu__adopt(vm, vcpu, id, fd);
	if (ret)
		return ret;
	return cpuid__setup_vcpu(&vm->kvm, vcpu->fd, id, vm->nr_vcpus);
}

void vcpu__destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->kvm.vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

static bool vcpu__handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u8 *data = (u8 *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	u32 i;

	/* String I/O (rep outsb) comes as @count back-to-back items. */
	for (i = 0; i < run->io.count; i++) {
		if (!ioport__dispatch(&vcpu->vm->bus, vcpu, run->io.port, is_write,
				      data, run->io.size))
			pr_debug("vCPU %u: unclaimed port %s %#x", vcpu->id,
				 is_write ? "write" : "read", run->io.port);
		data += run->io.size;
	}
	return true;
}

static bool vcpu__handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (!mmio__dispatch(&vcpu->vm->mmio, vcpu, run->mmio.phys_addr, run->mmio.is_write,
			    run->mmio.data, run->mmio.len))
		pr_debug("vCPU %u: unclaimed MMIO %s %#llx", vcpu->id,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr);
	return true;
}

static void vcpu__dump(struct vcpu *vcpu)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (__kvm_ioctl_quiet(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    __kvm_ioctl_quiet(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	pr_err("vCPU %u: rip %#llx rsp %#llx rflags %#llx cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx cs %#x",
	       vcpu->id, regs.rip, regs.rsp, regs.rflags, sregs.cr0, sregs.cr3,
	       sregs.cr4, sregs.efer, sregs.cs.selector);
}

/* Returns false when the vCPU must stop running. */
static bool vcpu__handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return vcpu__handle_io(vcpu);
	case KVM_EXIT_MMIO:
		return vcpu__handle_mmio(vcpu);
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: what a PC does is reset. */
		if (vm->bg)
			builtin_guest__check_tables(vm, vcpu->id);
		vm__request_exit(vm, VM_EXIT_REBOOT, "vCPU %u: triple fault (guest reset)",
				 vcpu->id);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
			vm__request_exit(vm, VM_EXIT_POWEROFF, "guest powered off");
		else
			vm__request_exit(vm, VM_EXIT_REBOOT, "guest reset (system event %u)",
					 run->system_event.type);
		return false;
	case KVM_EXIT_HLT:
		vm__request_exit(vm, VM_EXIT_POWEROFF, "vCPU %u halted", vcpu->id);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu__dump(vcpu);
		vm__request_exit(vm, VM_EXIT_ERROR, "vCPU %u: KVM_EXIT_FAIL_ENTRY, hardware reason %#llx",
				 vcpu->id, (unsigned long long)
				 run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu__dump(vcpu);
		vm__request_exit(vm, VM_EXIT_ERROR, "vCPU %u: KVM_EXIT_INTERNAL_ERROR, suberror %u",
				 vcpu->id, run->internal.suberror);
		return false;
	default:
		vcpu__dump(vcpu);
		vm__request_exit(vm, VM_EXIT_ERROR, "vCPU %u: unexpected exit reason %u",
				 vcpu->id, run->exit_reason);
		return false;
	}
}

/* Finish a pending I/O exit without entering the guest. */
static void vcpu__complete_io(struct vcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	__kvm_ioctl_quiet(vcpu->fd, KVM_RUN, NULL);
}

/*
 * Park while the VM is paused.  Returns true when the thread must finish.
 * Called and returns with vm->lock not held.
 */
static bool vcpu__wait_runnable(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->lock);
	while (vm->want != VM_RUNNING) {
		if (vm->want == VM_STOPPING) {
			pthread_mutex_unlock(&vm->lock);
			return true;
		}
		if (!vcpu->parked) {
			pthread_mutex_unlock(&vm->lock);
			/*
			 * Only after an exit it handled: KVM_RUN interrupted
			 * by the kick, or not entered yet, has nothing pending,
			 * and the ioctl loads the vCPU for nothing (per vCPU,
			 * in the pause).
			 */
			if (vcpu->exit_handled)
				vcpu__complete_io(vcpu);
			vcpu->exit_handled = false;
			pthread_mutex_lock(&vm->lock);
			vcpu->parked = true;
			vm->nr_parked++;
			pthread_cond_broadcast(&vm->parked_cond);
			continue;
		}
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	if (vcpu->parked) {
		vcpu->parked = false;
		vm->nr_parked--;
	}
	vcpu->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->lock);
	return false;
}

/*
 * vm__start(): the vCPU threads wait for each other.  A thread that ran
 * its guest at once would compete for the CPUs with the one creating the
 * next: with more vCPUs than CPUs, starting them took longer per vCPU the
 * more there were.
 */
void vcpu__hold_start(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->start_held = true;
	pthread_mutex_unlock(&vm->lock);
}

void vcpu__release_start(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->start_held = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static void vcpu__wait_start(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	while (vm->start_held)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

static void *vcpu__thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t kick;
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	/* The kick must get through even if the creating thread blocks it. */
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	vcpu__wait_start(vm);
	while (!vcpu__wait_runnable(vcpu)) {
		vcpu->exit_handled = false;
		ret = __kvm_ioctl_quiet(vcpu->fd, KVM_RUN, NULL);
		if (ret == -EINTR || ret == -EAGAIN)
			continue;
		if (ret < 0) {
			vm__request_exit(vm, VM_EXIT_ERROR, "vCPU %u: KVM_RUN failed: %s",
					 vcpu->id, strerror(-ret));
			break;
		}
		vcpu->exit_handled = true;
		if (!vcpu__handle_exit(vcpu))
			break;
	}

	pthread_mutex_lock(&vm->lock);
	vcpu->exited = true;
	vm->nr_exited++;
	pthread_cond_broadcast(&vm->parked_cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

int vcpu__start(struct vcpu *vcpu)
{
	int ret;

	vcpu__install_kick_handler();
	ret = pthread_create(&vcpu->thread, NULL, vcpu__thread, vcpu);
	if (ret) {
		pr_err("cannot start vCPU %u thread: %s", vcpu->id, strerror(ret));
		return -ret;
	}
	vcpu->thread_started = true;
	return 0;
}

/* vm->lock held: make every vCPU leave KVM_RUN as soon as possible. */
static void vcpu__kick_all_locked(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		vcpu->run->immediate_exit = 1;
		if (vcpu->thread_started && !vcpu->exited)
			pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	}
}

static unsigned int vcpu__nr_threads(struct vm *vm)
{
	unsigned int i, n = 0;

	for (i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].thread_started;
	return n;
}

int vcpu__read_tsc(struct vcpu *vcpu, u64 *tsc)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs = { .hdr.nmsrs = 1, .entry.index = MSR_IA32_TSC };
	int ret = __kvm_ioctl_quiet(vcpu->fd, KVM_GET_MSRS, &msrs);

	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	*tsc = msrs.entry.data;
	return 0;
}

void vcpu__pause_all(struct vm *vm)
{
	unsigned int threads = vcpu__nr_threads(vm);

	pthread_mutex_lock(&vm->lock);
	if (vm->want == VM_RUNNING)
		vm->want = VM_PAUSED;
	vcpu__kick_all_locked(vm);
	while (vm->nr_parked + vm->nr_exited < threads)
		pthread_cond_wait(&vm->parked_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

void vcpu__resume_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->want == VM_PAUSED)
		vm->want = VM_RUNNING;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void vcpu__stop_all(struct vm *vm)
{
	unsigned int i;

	pthread_mutex_lock(&vm->lock);
	vm->want = VM_STOPPING;
	vcpu__kick_all_locked(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		if (vcpu->thread_started) {
			pthread_join(vcpu->thread, NULL);
			vcpu->thread_started = false;
		}
	}
}
