// SPDX-License-Identifier: GPL-2.0
/*
 * Boot a Linux guest with 2 vCPUs through the 64-bit boot protocol and
 * wait for the initramfs to print a marker on COM1 and reset the machine
 * (the VMM then exits 0).  With "poweroff" the guest (vmmtest=poweroff)
 * powers off instead, through ACPI S5, and the VMM must say so when it
 * exits 0; the guest's console must show no ACPI error.
 * Needs hardware virtualization: on the PVM host
 * a stock kernel cannot boot (design.md section 4), so it skips there, and
 * it skips when no kernel is given.
 *
 * Environment: VMM_TEST_KERNEL, VMM_TEST_INITRD (optional),
 *              VMM_TEST_MARKER (default "VMM-LINUX-BOOT-OK").
 * usage: e2e_linux VMM_BINARY [poweroff]
 */
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/kvm.h"

int main(int argc, char **argv)
{
	const char *kernel = getenv("VMM_TEST_KERNEL");
	const char *initrd = getenv("VMM_TEST_INITRD");
	const char *marker = getenv("VMM_TEST_MARKER");
	char log[300], err[300], cmd[600];
	char *vmm_argv[16];
	bool poweroff;
	int status;

	TEST_ASSERT(argc == 2 || (argc == 3 && !strcmp(argv[2], "poweroff")),
		    "usage: %s VMM [poweroff]", argv[0]);
	poweroff = argc == 3;
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	TEST_REQUIRE(!kvm__host_is_pvm(), "PVM backend: a stock Linux kernel cannot boot here");
	TEST_REQUIRE(kernel && *kernel, "VMM_TEST_KERNEL not set");
	if (!marker)
		marker = "VMM-LINUX-BOOT-OK";
	snprintf(log, sizeof(log), "%s/serial.log", test_tmpdir());
	snprintf(err, sizeof(err), "%s/vmm.err", test_tmpdir());

	test_linux_argv(vmm_argv, argv[1], kernel, initrd,
			poweroff ? "console=ttyS0 reboot=k panic=-1 oops=panic vmmtest=poweroff"
				 : "console=ttyS0 reboot=k panic=-1 oops=panic", log);

	/* The guest ends the run itself (reset after the marker). */
	test_spawn_vmm(vmm_argv, "/dev/null", err);
	status = test_wait(test_vmm_pid);
	test_vmm_pid = 0;
	/*
	 * What a reader of the test log wants to see of the guest's console,
	 * prefixed so that a harness watching this machine's own kernel log
	 * does not take the guest's lines for its own.
	 */
	snprintf(cmd, sizeof(cmd),
		 "grep -E 'Linux version|smp: Brought up|guest-nproc|Kernel panic|WARNING|BUG|serial8250|ACPI|%s' '%s' | sed 's/^/guest| /'",
		 marker, log);
	if (system(cmd))
		printf("(console log %s has none of the usual lines)\n", log);
	snprintf(cmd, sizeof(cmd), "grep -q -e '%s' '%s'", marker, log);
	TEST_ASSERT(system(cmd) == 0, "no \"%s\" on the guest console (vmm status %d; see %s)",
		    marker, status, log);
	TEST_ASSERT(status == 0, "vmm exit status %d", status);
	/* The guest must see both vCPUs: its init prints nproc. */
	snprintf(cmd, sizeof(cmd), "grep -q 'guest-nproc=2' '%s'", log);
	TEST_ASSERT(system(cmd) == 0, "the guest did not report 2 CPUs (nproc)");
	/* ACPICA's own complaints about the tables or the PM1 registers. */
	snprintf(cmd, sizeof(cmd), "grep -q -E 'ACPI (BIOS )?Error|ACPI Exception' '%s'", log);
	TEST_ASSERT(system(cmd) != 0, "ACPI errors on the guest console (see %s)", log);
	if (poweroff) {
		snprintf(cmd, sizeof(cmd), "grep -q 'powered off (ACPI S5' '%s'", err);
		TEST_ASSERT(system(cmd) == 0, "the VMM did not exit for an ACPI power-off (see %s)",
			    err);
		printf("ok: the guest powered off through ACPI S5\n");
	}
	printf("ok: Linux booted to \"%s\"\n", marker);
	test_cleanup();
	return 0;
}
