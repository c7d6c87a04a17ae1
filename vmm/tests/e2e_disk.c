// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux guest on a virtio-blk disk (--disk, virtio/): its stock
 * virtio_pci (built in) and virtio_blk (the initramfs loads it) bind to
 * the device; the guest (vmmtest=disk) prints the first 16 bytes of
 * /dev/vda, which the test wrote into the image, writes a string at
 * sector 8 with a flush, reads it back from the device with the page
 * cache dropped, and resets.  The test then finds the string in the
 * image file: the write went through the device, not just the guest's
 * cache.  A second disk, ",readonly", reads but refuses the guest's write
 * and its image stays as it was.
 *
 * Environment: VMM_TEST_KERNEL, VMM_TEST_INITRD (scripts/guest-initramfs.sh).
 * usage: e2e_disk VMM_BINARY
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/kvm.h"

#define DISK_SIZE	(16 << 20)
#define DISK_MARK	"CPRSTASH-DISK-IN"	/* 16 bytes at sector 0 */
#define GUEST_MARK	"GUEST-WROTE-SECTOR-8"

#define RO_MARK		"CPRSTASH-READONL"	/* 16 bytes at sector 0 */

static void make_disk(const char *path, const char *mark)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	TEST_ASSERT(fd >= 0, "cannot create %s", path);
	TEST_ASSERT(!ftruncate(fd, DISK_SIZE), "cannot size %s", path);
	TEST_ASSERT(pwrite(fd, mark, 16, 0) == 16, "cannot write %s", path);
	close(fd);
}

/* The first @len bytes of @path are @want. */
static void expect_image(const char *path, const char *want, size_t len)
{
	char got[32] = "";
	int fd = open(path, O_RDONLY);

	TEST_ASSERT(fd >= 0 && pread(fd, got, len, 0) == (ssize_t)len, "cannot read %s", path);
	close(fd);
	TEST_ASSERT(!memcmp(got, want, len), "%s begins with \"%.*s\", not \"%s\"", path,
		    (int)len, got, want);
}

static void expect_console(const char *log, const char *line)
{
	char cmd[600];

	/* The console's lines end in CR LF. */
	snprintf(cmd, sizeof(cmd), "grep -q -E '^%s\r?$' '%s'", line, log);
	TEST_ASSERT(system(cmd) == 0, "no line \"%s\" on the guest console (see %s)", line,
		    log);
}

int main(int argc, char **argv)
{
	const char *kernel = getenv("VMM_TEST_KERNEL");
	const char *initrd = getenv("VMM_TEST_INITRD");
	char log[300], err[300], disk[300], ro[300], ro_arg[320], cmd[700], got[32] = "";
	char *vmm_argv[20];
	int n, status, fd;

	TEST_ASSERT(argc == 2, "usage: %s VMM", argv[0]);
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	TEST_REQUIRE(!kvm__host_is_pvm(), "PVM backend: a stock Linux kernel cannot boot here");
	TEST_REQUIRE(kernel && *kernel, "VMM_TEST_KERNEL not set");
	snprintf(log, sizeof(log), "%s/serial.log", test_tmpdir());
	snprintf(err, sizeof(err), "%s/vmm.err", test_tmpdir());
	snprintf(disk, sizeof(disk), "%s/disk.img", test_tmpdir());
	snprintf(ro, sizeof(ro), "%s/ro.img", test_tmpdir());
	snprintf(ro_arg, sizeof(ro_arg), "%s,readonly", ro);
	make_disk(disk, DISK_MARK);
	make_disk(ro, RO_MARK);

	n = test_linux_argv(vmm_argv, argv[1], kernel, initrd,
			    "console=ttyS0 reboot=k panic=-1 oops=panic vmmtest=disk", log);
	vmm_argv[n++] = "--disk";
	vmm_argv[n++] = disk;
	vmm_argv[n++] = "--disk";
	vmm_argv[n++] = ro_arg;
	vmm_argv[n] = NULL;
	test_spawn_vmm(vmm_argv, "/dev/null", err);
	status = test_wait(test_vmm_pid);
	test_vmm_pid = 0;
	snprintf(cmd, sizeof(cmd),
		 "grep -E 'virtio|vda|disk-|DISK-|Kernel panic|WARNING|BUG' '%s' |"
		 " sed 's/^/guest| /'",
		 log);
	if (system(cmd))
		printf("(console log %s has none of the usual lines)\n", log);
	expect_console(log, "DISK-DONE");
	TEST_ASSERT(status == 0, "vmm exit status %d", status);
	expect_console(log, "disk-read=" DISK_MARK);
	expect_console(log, "disk-write=ok");
	expect_console(log, "disk-readback=" GUEST_MARK);
	expect_console(log, "ro-read=" RO_MARK);
	expect_console(log, "ro-write=refused");
	expect_image(ro, RO_MARK, 16);

	fd = open(disk, O_RDONLY);
	TEST_ASSERT(fd >= 0 && pread(fd, got, strlen(GUEST_MARK), 8 * 512) ==
		    (ssize_t)strlen(GUEST_MARK), "cannot read %s back", disk);
	close(fd);
	TEST_ASSERT(!strcmp(got, GUEST_MARK), "sector 8 of the image holds \"%s\", not \"%s\"",
		    got, GUEST_MARK);
	printf("ok: the guest read and wrote its virtio-blk disk; the read-only one refused\n");
	test_cleanup();
	return 0;
}
