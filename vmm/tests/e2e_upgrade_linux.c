// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux guest across live upgrades: the guest's init prints "SEQ n"
 * every 50 ms on COM1 (vmmtest=sequence).  Boot it, let it count, upgrade
 * the VMM N times in MODE while it counts, let it count on, then check the
 * serial log (one file, kept open across every exec): every number from 0
 * to the last one is there once, in order — no gap, no repeat — and it
 * went on after the last upgrade.  Needs hardware virtualization: skips on
 * the PVM host, where a stock kernel does not boot, and without a kernel.
 *
 * With "disk" the guest has a virtio-blk disk (--disk) and counts only
 * after writing each number to it and reading it back from the device
 * (vmmtest=disksequence): no gap means no request lost or failed across
 * the upgrades.  Before the first upgrade the test puts another file at
 * the disk's path: the new images must go on with the kept file (the
 * guest reads back what it wrote) and never touch the new one.
 *
 * Environment: VMM_TEST_KERNEL, VMM_TEST_INITRD.
 * usage: e2e_upgrade_linux VMM MODE [N [disk]]
 */
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/kvm.h"

#define CONTEXT_LINES	12

/* The console's lines before a broken sequence: what the guest said around it. */
static void show_context(char ring[][512], unsigned int nr)
{
	unsigned int i = nr > CONTEXT_LINES ? nr - CONTEXT_LINES : 0;

	fprintf(stderr, "# ---- the guest's console up to there:\n");
	for (; i < nr; i++)
		fprintf(stderr, "#   %s", ring[i % CONTEXT_LINES]);
	fprintf(stderr, "# ----\n");
}

/*
 * The last "SEQ n" in the log, -1 if none; fails on a gap or repeat.  The
 * guest may be printing: a last line without its newline is not read
 * (the serial port writes the log a byte at a time, and "SEQ 1" of a
 * "SEQ 15" on its way is no jump back).
 */
static long check_sequence(const char *log, bool strict)
{
	static char ring[CONTEXT_LINES][512];
	unsigned int nr = 0;
	long last = -1, n;
	char *buf = NULL, *p;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(log, "r");

	if (!f)
		return -1;
	while ((len = getline(&buf, &cap, f)) > 0 && buf[len - 1] == '\n') {
		snprintf(ring[nr++ % CONTEXT_LINES], sizeof(ring[0]), "%s", buf);
		/* The guest's "DISK-BAD write|read n" lines hold no "SEQ". */
		if (strstr(buf, "DISK-BAD"))
			show_context(ring, nr);
		TEST_ASSERT(!strstr(buf, "DISK-BAD"), "the guest's disk failed: %s", buf);
		p = strstr(buf, "SEQ ");
		if (!p || sscanf(p, "SEQ %ld", &n) != 1)
			continue;
		if (strict && n != last + 1)
			show_context(ring, nr);
		if (strict)
			TEST_ASSERT(n == last + 1, "the guest's sequence jumped from %ld to %ld",
				    last, n);
		last = n;
	}
	free(buf);
	fclose(f);
	return last;
}

/* Until the guest printed past @n (a boot under emulation may take minutes). */
static long wait_seq_above(const char *log, long n)
{
	struct test_wait w;
	long last = -1;

	for (test_wait_start(&w);;) {
		last = check_sequence(log, false);
		if (last > n)
			return last;
		if (waitpid(test_vmm_pid, NULL, WNOHANG) != 0) {
			test_show_tail(log, 25);
			test_show_vmm();
			test_vmm_pid = 0;
			TEST_ASSERT(0, "the VMM exited (its guest's console and its log above)");
		}
		if (!test_wait_more(&w))
			break;
	}
	test_show_tail(log, 25);
	TEST_ASSERT(0, "the guest stopped counting at %ld (its console's last lines above)", last);
	return -1;
}

#define DISK_SIZE	(4 << 20)

static void make_disk(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	TEST_ASSERT(fd >= 0 && !ftruncate(fd, DISK_SIZE), "cannot create %s", path);
	close(fd);
}

/* Whether "BLK-" is anywhere in the file @fd. */
static bool disk_has_blocks(int fd)
{
	static char buf[DISK_SIZE];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	TEST_ASSERT(n == DISK_SIZE, "cannot read a disk image back");
	return memmem(buf, sizeof(buf), "BLK-", 4) != NULL;
}

/* Another file at the disk's path; returns an fd on the disk's own. */
static int replace_disk(const char *disk)
{
	char other[320];
	int fd = open(disk, O_RDONLY);

	TEST_ASSERT(fd >= 0, "cannot open %s", disk);
	snprintf(other, sizeof(other), "%s.new", disk);
	make_disk(other);
	TEST_ASSERT(!rename(other, disk), "cannot put a new file at %s", disk);
	return fd;
}

int main(int argc, char **argv)
{
	const char *kernel = getenv("VMM_TEST_KERNEL");
	const char *initrd = getenv("VMM_TEST_INITRD");
	char log[300], err[300], sock[300], disk[300], *vmm_argv[24], *line;
	bool with_disk;
	int kept_fd = -1, new_fd;
	const char *vmm, *mode;
	struct json_object *rep;
	int n, rounds, round, status, ctl;
	long seq;

	TEST_ASSERT(argc >= 3, "usage: %s VMM MODE [N]", argv[0]);
	vmm = argv[1];
	mode = argv[2];
	rounds = argc > 3 ? atoi(argv[3]) : 5;
	with_disk = argc > 4 && !strcmp(argv[4], "disk");
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	TEST_REQUIRE(!kvm__host_is_pvm(), "PVM backend: a stock Linux kernel cannot boot here");
	TEST_REQUIRE(kernel && *kernel, "VMM_TEST_KERNEL not set");
	if (strcmp(mode, "cloexec") && strcmp(mode, "auto"))
		TEST_REQUIRE(access("/dev/cprstash", F_OK) == 0, "no /dev/cprstash");
	snprintf(log, sizeof(log), "%s/serial.log", test_tmpdir());
	snprintf(err, sizeof(err), "%s/vmm.err", test_tmpdir());
	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());

	snprintf(disk, sizeof(disk), "%s/disk.img", test_tmpdir());

	n = test_linux_argv(vmm_argv, vmm, kernel, initrd, with_disk ?
			    "console=ttyS0 reboot=k panic=-1 oops=panic vmmtest=disksequence" :
			    "console=ttyS0 reboot=k panic=-1 oops=panic vmmtest=sequence", log);
	vmm_argv[n++] = "--control";
	vmm_argv[n++] = sock;
	if (with_disk) {
		make_disk(disk);
		vmm_argv[n++] = "--disk";
		vmm_argv[n++] = disk;
	}
	vmm_argv[n] = NULL;
	test_spawn_vmm(vmm_argv, "/dev/null", err);
	ctl = test_connect(sock);
	seq = wait_seq_above(log, 5);
	if (with_disk)
		kept_fd = replace_disk(disk);

	for (round = 0; round < rounds; round++) {
		status = test_live_upgrade(vmm, sock, mode, NULL, NULL, &line, &rep);
		TEST_ASSERT(status == 0 && rep && test_ok(rep), "upgrade %d: exit %d: %s", round,
			    status, line);
		if (strcmp(mode, "auto"))
			TEST_ASSERT(!strcmp(test_str(rep, "mode"), mode), "upgrade %d: mode %s",
				    round, test_str(rep, "mode"));
		printf("upgrade %d at SEQ %ld: %s\n", round, seq, line);
		free(line);
		json_object_put(rep);
		/* The guest counts on, a few lines, before the next one. */
		seq = wait_seq_above(log, check_sequence(log, true) + 3);
	}
	seq = wait_seq_above(log, seq + 5);

	test_quit_vmm(ctl, err);
	seq = check_sequence(log, true);
	if (with_disk) {
		new_fd = open(disk, O_RDONLY);
		TEST_ASSERT(new_fd >= 0, "cannot open %s", disk);
		TEST_ASSERT(!disk_has_blocks(new_fd),
			    "the file put at the disk's path was written: a new image reopened it");
		TEST_ASSERT(disk_has_blocks(kept_fd), "the guest's blocks are not in its disk");
		close(new_fd);
		close(kept_fd);
		printf("ok: the disk's file was kept, the one put at its path untouched\n");
	}
	printf("ok: %d upgrades in %s mode, the guest printed SEQ 0 to %ld without a gap\n",
	       rounds, mode, seq);
	test_cleanup();
	return 0;
}
