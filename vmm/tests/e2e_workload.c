// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux guest running the disk workload (workload.h, vmmtest=workload):
 * it appends checksummed records to its virtio disk with an fsync after
 * each, prints "WL disk acked N", and re-reads them as it goes.
 *
 *   MODE N     live-upgrade the VMM N times in MODE while the guest
 *              writes; after each upgrade the guest must write on and its
 *              reader re-verify past the records acked before it.  Where
 *              the host has a tun device, the VMM gets a tap too (--net
 *              fd=N) and a TCP stream runs through the guest's echo all
 *              along (net_stream.h): after each upgrade it must have
 *              moved on, and at the end every byte came back in order,
 *              the connection never reset, the tap's ifindex and
 *              carrier_changes the same.  Then
 *              the test writes the stop mark into the disk's control
 *              slot: the guest checks every record, powers off, and the
 *              test checks the disk file — records 0..N each once and
 *              intact, N the last acked, nothing after — and the guest's
 *              console: no I/O error, no virtio timeout or reset, no
 *              transmit timeout.
 *   power-cut  kill -9 the VMM while the guest writes, then check the
 *              disk file and boot a fresh VMM on it whose guest checks it
 *              too (vmmtest=workloadverify): every record acked on the
 *              console is there (the console may lag the acks, never lead
 *              them), at most one torn slot after them.
 *
 * Environment: VMM_TEST_KERNEL, VMM_TEST_INITRD (with guest_workload).
 * usage: e2e_workload VMM MODE N | e2e_workload VMM power-cut
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net_stream.h"
#include "testlib.h"
#include "vmm/kvm.h"
#include "workload.h"

#define DISK_SIZE	(256ll << 20)	/* sparse; room for 65535 records */
/* The TCP stream's pace: enough to see it go on, little of the guest's CPU. */
#define STREAM_KIB_PER_S	64
/*
 * no_timer_check: under nested emulation on a loaded host the guest's
 * boot-time check of its timer IRQ can run out of time and panic.
 */
#define CMDLINE		"console=ttyS0 reboot=k panic=-1 oops=panic no_timer_check vmmtest="

/* What the guest said so far on its console, read as it grows. */
struct wl_console {
	const char *path;
	long offset;		/* of the first line not read yet */
	long long acked;	/* the last "acked N", -1 before any */
	long long verified;	/* the last "verified N" */
	long long done;		/* "done N", -1 before it */
};

static void wl_console__line(struct wl_console *c, const char *line)
{
	const char *p = strstr(line, "WL disk ");
	long long n;

	if (!p)
		return;
	p += strlen("WL disk ");
	TEST_ASSERT(strncmp(p, "BAD", 3), "the guest's workload failed: %s", line);
	if (sscanf(p, "acked %lld", &n) == 1)
		c->acked = n;
	else if (sscanf(p, "verified %lld", &n) == 1)
		c->verified = n;
	else if (sscanf(p, "done %lld", &n) == 1)
		c->done = n;
}

static void wl_console__read(struct wl_console *c)
{
	char line[512];
	FILE *f = fopen(c->path, "r");

	if (!f)
		return;
	fseek(f, c->offset, SEEK_SET);
	/* Whole lines only: the guest may be half way through one. */
	while (fgets(line, sizeof(line), f) && strchr(line, '\n')) {
		wl_console__line(c, line);
		c->offset = ftell(f);
	}
	fclose(f);
}

static void wl_console__init(struct wl_console *c, const char *path)
{
	*c = (struct wl_console){ .path = path, .acked = -1, .verified = -1, .done = -1 };
}

/* Until @ready(c, arg); the VMM must not exit meanwhile. */
static void wl_console__wait(struct wl_console *c, bool (*ready)(struct wl_console *, long long),
			     long long arg, const char *what)
{
	struct test_wait w;
	int status = 0;

	for (test_wait_start(&w);;) {
		wl_console__read(c);
		if (ready(c, arg))
			return;
		if (waitpid(test_vmm_pid, &status, WNOHANG) != 0) {
			test_show_tail(c->path, 25);
			test_vmm_pid = 0;
			TEST_ASSERT(0, "the VMM ended (%s %d) waiting for %s %lld (console above)",
				    WIFSIGNALED(status) ? "signal" : "exit status",
				    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
				    what, arg);
		}
		if (!test_wait_more(&w))
			break;
	}
	test_show_tail(c->path, 25);
	TEST_ASSERT(0, "no %s %lld from the guest (acked %lld, verified %lld)", what, arg,
		    c->acked, c->verified);
}

static bool acked_above(struct wl_console *c, long long n)
{
	return c->acked > n;
}

static bool verified_above(struct wl_console *c, long long n)
{
	return c->verified > n;
}

static bool done(struct wl_console *c, long long n)
{
	return c->done > n;
}

static void make_disk(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	TEST_ASSERT(fd >= 0 && !ftruncate(fd, DISK_SIZE), "cannot create %s", path);
	close(fd);
}

/*
 * Start the VMM (test_vmm_pid) on @disk, its guest doing vmmtest=@what;
 * with @net_arg, on a virtio-net device too (--net @net_arg).
 */
static void spawn_guest(const char *vmm, const char *what, const char *disk, const char *log,
			const char *sock, const char *net_arg)
{
	static char cmdline[128];
	char err[300], *argv[24];
	int n;

	snprintf(cmdline, sizeof(cmdline), CMDLINE "%s", what);
	snprintf(err, sizeof(err), "%s/vmm.err", test_tmpdir());
	n = test_linux_argv(argv, vmm, getenv("VMM_TEST_KERNEL"), getenv("VMM_TEST_INITRD"),
			    cmdline, log);
	argv[n++] = "--disk";
	argv[n++] = (char *)disk;
	if (sock) {
		argv[n++] = "--control";
		argv[n++] = (char *)sock;
	}
	if (net_arg) {
		argv[n++] = "--net";
		argv[n++] = (char *)net_arg;
	}
	argv[n] = NULL;
	test_spawn_vmm(argv, "/dev/null", err);
}

/* The VMM exits 0 when its guest powers off. */
static void wait_poweroff(const char *log)
{
	int status = test_wait(test_vmm_pid);

	test_vmm_pid = 0;
	if (status)
		test_show_tail(log, 25);
	TEST_ASSERT(status == 0, "the VMM exited %d, not 0 at the guest's poweroff", status);
}

/*
 * No I/O error, virtio timeout or reset, warning or hung task in the guest
 * once its workload began: the boot under nested emulation has warnings
 * of its own (the FPU's xstate sizes), nothing to do with the disk.
 */
static void expect_clean_console(const char *log)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd),
		 "awk '/WL disk/ { on = 1 } on' '%s' | grep -E 'I/O error|blk_update_request|"
		 "virtio.*(timeout|timed out|reset)|vda.*(timeout|timed out|reset)|"
		 "blocked for more than|Call Trace|WARNING|BUG' | sed 's/^/guest| /' | grep .",
		 log);
	TEST_ASSERT(system(cmd) != 0, "the guest's console has the errors above");
}

/* The disk file, once no VMM has it open: records 0..N, then nothing (or a torn slot). */
static struct wl_scan check_disk(const char *disk, bool torn_ok)
{
	struct wl_scan res;
	int fd = open(disk, O_RDONLY);

	TEST_ASSERT(fd >= 0, "cannot open %s", disk);
	TEST_ASSERT(!wl_disk__scan(fd, DISK_SIZE, torn_ok, &res), "%s: %s", disk, res.why);
	close(fd);
	return res;
}

static void stop_workload(const char *disk)
{
	int fd = open(disk, O_RDWR);

	TEST_ASSERT(fd >= 0 && !wl_disk__stop(fd), "cannot write the stop mark into %s", disk);
	close(fd);
}

static void upgrades(const char *vmm, const char *mode, int rounds)
{
	char log[300], sock[300], disk[300], net_arg[32], *line;
	bool net = net_tap__available();
	unsigned long long bytes = 0;
	struct json_object *rep;
	struct net_stream s = { 0 };
	struct wl_console c;
	struct wl_scan res;
	int round, status, ctl, tap = -1;
	long long at;

	snprintf(log, sizeof(log), "%s/serial.log", test_tmpdir());
	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());
	snprintf(disk, sizeof(disk), "%s/disk.img", test_tmpdir());
	make_disk(disk);
	wl_console__init(&c, log);
	if (net)
		tap = net_tap__setup(false, net_arg, sizeof(net_arg));
	else
		printf("no /dev/net/tun: the disk workload alone\n");
	spawn_guest(vmm, "workload", disk, log, sock, net ? net_arg : NULL);
	if (tap >= 0)
		close(tap);	/* the VMM's is the only file on the tap now */
	ctl = test_connect(sock);
	if (net)
		net_stream__start(&s, log, STREAM_KIB_PER_S);
	wl_console__wait(&c, acked_above, 10, "acked");

	for (round = 0; round < rounds; round++) {
		wl_console__read(&c);
		at = c.acked;
		bytes = net ? net_stream__checked(&s) : 0;
		status = test_live_upgrade(vmm, sock, mode, NULL, NULL, &line, &rep);
		TEST_ASSERT(status == 0 && rep && test_ok(rep), "upgrade %d: exit %d: %s", round,
			    status, line);
		TEST_ASSERT(!strcmp(test_str(rep, "mode"), mode), "upgrade %d: mode %s", round,
			    test_str(rep, "mode"));
		printf("upgrade %d at record %lld, stream byte %llu, devices frozen in %llu us: %s\n",
		       round, at, bytes, test_u64(rep, "freeze_us"), line);
		/* For scripts/demo.sh --linux: upgrade-series.sh's report line. */
		printf("REPORT %s %d %s\n", mode, round,
		       json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN));
		free(line);
		json_object_put(rep);
		/* The writer goes on, the reader re-reads what was there before. */
		wl_console__wait(&c, acked_above, at + 5, "acked");
		wl_console__wait(&c, verified_above, at, "verified");
		if (net)
			net_stream__progress(&s, bytes);
	}

	if (net) {
		net_stream__finish(&s);
		bytes = s.checked;
	}
	stop_workload(disk);
	wl_console__wait(&c, done, -1, "done");
	wait_poweroff(log);
	wl_console__read(&c);
	TEST_ASSERT(c.done >= 0, "the guest powered off without \"WL disk done\"");
	expect_clean_console(log);
	if (net)
		net_console__check(log);
	res = check_disk(disk, false);
	TEST_ASSERT((long long)res.records == c.done && c.done == c.acked + 1,
		    "%llu records on the disk, the guest acked %lld and verified %lld",
		    (unsigned long long)res.records, c.acked + 1, c.done);
	close(ctl);
	printf("ok: %d upgrades in %s mode under the disk workload; records 0 to %lld on the "
	       "disk, each once and intact; the guest's console clean\n", rounds, mode,
	       c.acked);
	if (net)
		printf("ok: and the TCP stream beside it: %llu bytes echoed in order, never reset, "
		       "%s ifindex %llu and its carrier kept\n", bytes, NET_TAP, s.ifindex);
}

static void power_cut(const char *vmm)
{
	char log[300], log2[300], disk[300];
	struct wl_console c, v;
	struct wl_scan res;

	snprintf(log, sizeof(log), "%s/serial.log", test_tmpdir());
	snprintf(log2, sizeof(log2), "%s/serial-verify.log", test_tmpdir());
	snprintf(disk, sizeof(disk), "%s/disk.img", test_tmpdir());
	make_disk(disk);
	wl_console__init(&c, log);
	spawn_guest(vmm, "workload", disk, log, NULL, NULL);
	wl_console__wait(&c, acked_above, 30, "acked");

	TEST_ASSERT(!kill(test_vmm_pid, SIGKILL), "cannot kill the VMM");
	TEST_ASSERT(test_wait(test_vmm_pid) == 128 + SIGKILL, "the VMM did not die of SIGKILL");
	test_vmm_pid = 0;
	wl_console__read(&c);
	res = check_disk(disk, true);
	TEST_ASSERT((long long)res.records > c.acked,
		    "%llu records on the disk, the guest acked %lld before the kill",
		    (unsigned long long)res.records, c.acked);
	printf("ok: killed at acked record %lld; the disk has records 0 to %llu%s\n", c.acked,
	       (unsigned long long)res.records - 1,
	       res.torn_tail ? " and a torn slot after them" : "");

	/* A fresh VMM on the same file: its guest sees the same records. */
	wl_console__init(&v, log2);
	spawn_guest(vmm, "workloadverify", disk, log2, NULL, NULL);
	wait_poweroff(log2);
	wl_console__read(&v);
	TEST_ASSERT(v.verified == (long long)res.records,
		    "the fresh guest verified %lld records, the file holds %llu", v.verified,
		    (unsigned long long)res.records);
	expect_clean_console(log2);
	printf("ok: a fresh VMM's guest verified the same %lld records\n", v.verified);
}

int main(int argc, char **argv)
{
	const char *kernel = getenv("VMM_TEST_KERNEL");

	TEST_ASSERT(argc == 3 || argc == 4, "usage: %s VMM MODE N | VMM power-cut", argv[0]);
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	TEST_REQUIRE(!kvm__host_is_pvm(), "PVM backend: a stock Linux kernel cannot boot here");
	TEST_REQUIRE(kernel && *kernel, "VMM_TEST_KERNEL not set");
	if (!strcmp(argv[2], "power-cut")) {
		power_cut(argv[1]);
	} else {
		TEST_ASSERT(argc == 4, "usage: %s VMM MODE N", argv[0]);
		if (strcmp(argv[2], "cloexec"))
			TEST_REQUIRE(access("/dev/cprstash", F_OK) == 0, "no /dev/cprstash");
		upgrades(argv[1], argv[2], atoi(argv[3]));
	}
	test_cleanup();
	return 0;
}
