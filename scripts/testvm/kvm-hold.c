// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: keep one KVM VM alive for the whole test-VM run.
 *
 * Under multi-threaded TCG the test VM's kernel has oopsed ("Oops: int3")
 * while KVM VMs were created and destroyed repeatedly; the first VM created
 * and the last one destroyed flip KVM's static keys, and that live code
 * patching is what races.  With one VM held open the keys never flip back.
 *
 * It doubles as the check that KVM works at all: the parent creates the VM
 * and exits 0 only once that succeeded, leaving a child that holds the fd,
 * so /init can run it in the foreground and report a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm, vm, version;
	pid_t pid;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvm-hold: open /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "kvm-hold: KVM_GET_API_VERSION: %d (%s)\n",
			version, version < 0 ? strerror(errno) : "unexpected");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "kvm-hold: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}

	/*
	 * One vCPU with an in-kernel, software-disabled LAPIC, never run: it
	 * keeps KVM's LAPIC static keys from flipping (code patching) every
	 * time a test's last such vCPU goes away.
	 */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) || ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
		fprintf(stderr, "kvm-hold: irqchip/vCPU: %s\n", strerror(errno));
		return 1;
	}

	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "kvm-hold: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid > 0)
		return 0;

	/* Detach so a test's process-group signal cannot end the hold. */
	setsid();
	for (;;)
		pause();
}
