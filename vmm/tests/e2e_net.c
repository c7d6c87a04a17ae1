// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux guest on a virtio-net device (--net, virtio/net.c): its stock
 * virtio_pci (built in) and virtio_net (the initramfs loads it) bind, the
 * guest (vmmtest=net) gives eth0 10.0.2.15/24 and echoes back every TCP
 * connection to port 5000.  The test, on the tap's side (10.0.2.2/24),
 * streams a counter pattern through it and checks every byte that comes
 * back: frames go both ways, none is lost, repeated or reordered (TCP
 * would mask a loss as a stall, never as a wrong byte; a corrupted frame
 * is dropped by the checksum and retransmitted, so this checks the path
 * works and keeps working, and the bytes are the ones sent).
 *
 *   e2e_net VMM             --net tap=cprtap0 (a persistent tap the test
 *                           made, which the VMM attaches to); a few
 *                           hundred KiB echoed, then quit.
 *   e2e_net VMM MODE N      --net fd=N: a tap the test opened, passed to
 *                           the VMM and closed on its side, so the VMM's
 *                           file is the only one; the stream runs while
 *                           the VMM is live-upgraded N times in MODE (10
 *                           with CPRSTASH_TEST_LONG=1, scripts/test.sh
 *                           --long) and
 *                           must make progress after each, the connection
 *                           never reset.  The tap's ifindex and its
 *                           carrier_changes must not change: the
 *                           interface was never re-created, its link never
 *                           dropped (closing the last file of a tap drops
 *                           its carrier, deletes a non-persistent one).
 * Either way the guest's console must have no transmit timeout and no
 * virtio_net error.
 *
 * Environment: VMM_TEST_KERNEL, VMM_TEST_INITRD.
 */
#include <string.h>
#include <unistd.h>

#include "net_stream.h"
#include "testlib.h"
#include "vmm/kvm.h"

int main(int argc, char **argv)
{
	const char *kernel = getenv("VMM_TEST_KERNEL");
	const char *initrd = getenv("VMM_TEST_INITRD");
	char log[300], err[300], sock[300], net_arg[32], *vmm_argv[24], *line;
	const char *vmm, *mode = NULL;
	struct json_object *rep;
	int n, rounds = 0, round, status, ctl, tap;
	struct net_stream s;

	TEST_ASSERT(argc == 2 || argc == 4, "usage: %s VMM [MODE N]", argv[0]);
	vmm = argv[1];
	if (argc == 4) {
		mode = argv[2];
		rounds = atoi(argv[3]);
		if (getenv("CPRSTASH_TEST_LONG") && !strcmp(getenv("CPRSTASH_TEST_LONG"), "1"))
			rounds = MAX(rounds, 10);
	}
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	TEST_REQUIRE(!kvm__host_is_pvm(), "PVM backend: a stock Linux kernel cannot boot here");
	TEST_REQUIRE(kernel && *kernel, "VMM_TEST_KERNEL not set");
	if (mode && strcmp(mode, "cloexec") && strcmp(mode, "auto"))
		TEST_REQUIRE(access("/dev/cprstash", F_OK) == 0, "no /dev/cprstash");
	snprintf(log, sizeof(log), "%s/serial.log", test_tmpdir());
	snprintf(err, sizeof(err), "%s/vmm.err", test_tmpdir());
	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());

	tap = net_tap__setup(!mode, net_arg, sizeof(net_arg));
	n = test_linux_argv(vmm_argv, vmm, kernel, initrd,
			    "console=ttyS0 reboot=k panic=-1 oops=panic vmmtest=net", log);
	vmm_argv[n++] = "--control";
	vmm_argv[n++] = sock;
	vmm_argv[n++] = "--net";
	vmm_argv[n++] = net_arg;
	vmm_argv[n] = NULL;
	test_spawn_vmm(vmm_argv, "/dev/null", err);
	if (tap >= 0)
		close(tap);	/* the VMM's is the only file on the tap now */
	ctl = test_connect(sock);
	net_stream__start(&s, log, 0);

	for (round = 0; round < rounds; round++) {
		unsigned long long before = net_stream__checked(&s);

		status = test_live_upgrade(vmm, sock, mode, NULL, NULL, &line, &rep);
		TEST_ASSERT(status == 0 && rep && test_ok(rep), "upgrade %d: exit %d: %s", round,
			    status, line);
		printf("upgrade %d at byte %llu: %s\n", round, before, line);
		free(line);
		json_object_put(rep);
		net_stream__progress(&s, before);
	}
	net_stream__finish(&s);
	net_console__check(log);
	test_quit_vmm(ctl, err);
	TEST_ASSERT(!test_file_has(err, "needs a reset"), "a ring went bad (%s)", err);
	if (!mode)
		net_tap__remove();
	printf("ok: %llu bytes echoed by the guest and checked, %d upgrades%s%s, %s ifindex %llu kept\n",
	       s.checked, rounds, mode ? " in " : "", mode ? mode : "", NET_TAP, s.ifindex);
	test_cleanup();
	return 0;
}
