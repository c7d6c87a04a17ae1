// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: keep KVM's static keys from flipping for the whole test-VM run.
 *
 * A static key is flipped by patching the kernel's code while other CPUs
 * run it (text_poke_bp: int3 first, then the new bytes, then the int3
 * handler is retired).  Under multi-threaded TCG that races: QEMU drops its
 * translations of a code page before the guest's store lands, so a vCPU
 * that translates the page in between keeps a stale translation with the
 * int3 in it and traps on it after the patching is over: "Oops: int3" in a
 * KVM function with nothing patched there any more (scripts/testvm.sh has
 * the evidence; scripts/testvm/kvm-churn.c reproduces it).  With the keys
 * held, KVM patches no code however many VMs and vCPUs the tests create and
 * destroy, and multi-threaded TCG stays usable.
 *
 * The keys KVM moves count users and flip only between zero and one, so
 * one user of each, never run and never freed, is enough:
 *   preempt_notifier_key  any VM (the scheduler's key, taken per VM)
 *   apic_sw_disabled      a vCPU with an in-kernel LAPIC, as it is at reset
 *                         (software-disabled, SPIV bit 8 clear)
 *   apic_hw_disabled      the same vCPU, its APIC_BASE enable bit cleared
 *   kvm_has_noapic_vcpu   a vCPU of a VM without an in-kernel irqchip
 *   kvm_xen_enabled       a VM configured as a Xen HVM guest (that second
 *                         VM), when KVM has Xen emulation
 * The selftests flip the last two (adopt_test and kinds_test create vCPUs
 * without an irqchip, adopt_test a Xen VM); the VMM tests would flip the
 * LAPIC keys and the preempt notifiers.  Holding a key set only makes KVM
 * test the per-VM or per-vCPU state (vcpu->arch.apic, apic_base, SPIV, the
 * Xen MSR) instead of assuming it: the same result, a few loads slower.
 *
 * It doubles as the check that KVM works at all: the parent sets this up
 * and exits 0 only once all of it succeeded, leaving a child that holds the
 * fds, so /init can run it in the foreground and report a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE		0x1b
#define MSR_IA32_APICBASE_BSP		(1ULL << 8)
#define APIC_DEFAULT_PHYS_BASE		0xfee00000ULL

static int fail(const char *what)
{
	fprintf(stderr, "kvm-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} apic_base = {
		.hdr.nmsrs = 1,
		.entry.index = MSR_IA32_APICBASE,
		/* xAPIC at its default address, enable bit clear. */
		.entry.data = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_BSP,
	};
	/* The MSR Xen guests use for the hypercall page. */
	struct kvm_xen_hvm_config xen = { .msr = 0x40000200 };
	int kvm, vm, vcpu, version;
	pid_t pid;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "kvm-hold: KVM_GET_API_VERSION: %d (%s)\n",
			version, version < 0 ? strerror(errno) : "unexpected");
		return 1;
	}

	/* In-kernel irqchip: the LAPIC keys (and preempt_notifier_key). */
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		return fail("KVM_CREATE_IRQCHIP");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU (in-kernel LAPIC)");
	if (ioctl(vcpu, KVM_SET_MSRS, &apic_base) != 1)
		return fail("KVM_SET_MSRS (APIC_BASE, disabled)");

	/* No irqchip: kvm_has_noapic_vcpu; a Xen MSR: kvm_xen_enabled. */
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM (no irqchip)");
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU (no irqchip)");
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM) > 0 &&
	    ioctl(vm, KVM_XEN_HVM_CONFIG, &xen))
		return fail("KVM_XEN_HVM_CONFIG");

	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid > 0)
		return 0;

	/* Detach so a test's process-group signal cannot end the hold. */
	setsid();
	for (;;)
		pause();
}
