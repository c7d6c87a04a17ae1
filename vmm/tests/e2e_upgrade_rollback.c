// SPDX-License-Identifier: GPL-2.0
/*
 * Live upgrades that must not happen, and leave the guest running:
 *
 *   caught by the preflight, before the guest pauses:
 *     a missing binary, a file that is not executable, an ELF for another
 *     architecture, a script that is not our VMM
 *   exec fails after the pause (--no-preflight), the old image resumes:
 *     the same three broken binaries
 *   the new image fails before it resumes the guest, and re-execs the old
 *     binary, which takes the VM back (VMM_TEST_UPGRADE_FAULT at
 *     before-resume, through a wrapper script): it reports an error, it
 *     crashes (SIGSEGV), it exits
 *   bad requests: an unknown mode, a binary that is not a string
 *
 * After each: the client exits non-zero and says why, the guest's counters
 * advance, and the VMM is the same process with the same guest RAM, the
 * same number of open files and an intact pattern in guest RAM.  Then an
 * upgrade in MODE succeeds.  Last, the one failure nothing can undo: a new
 * image that answers the preflight and then just exits 0.  The guest is
 * lost, and that is never silent: the client's reply and the VMM's log
 * say so (watch.c).
 *
 * usage: e2e_upgrade_rollback VMM MODE     (MODE: adopt, rebuild, cloexec)
 */
#include <dirent.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define NR_CPUS		2
#define PATTERN_SIZE	(256 << 10)

static const char *vmm, *mode, *sock;
static int ctl_fd, fd_count;
static unsigned char *ram, *copy;
static ino_t ram_ino;

static void read_counters(unsigned long long *c)
{
	test_read_counters(ctl_fd, NR_CPUS, c, "running", test_vmm_pid);
}

static void wait_all_above(const unsigned long long *min)
{
	unsigned long long now[NR_CPUS];

	test_wait_counters_above(ctl_fd, NR_CPUS, min, now, test_vmm_pid);
}

/* The guest runs on, on the same VMM, with nothing lost. */
static void check_guest_runs_on(const char *what)
{
	unsigned long long c[NR_CPUS];
	int n;

	read_counters(c);
	wait_all_above(c);
	/* The client's connection closes when the VMM reads its EOF. */
	n = test_wait_fd_count(test_vmm_pid, fd_count);
	TEST_ASSERT(n == fd_count, "%s: %d open files, %d before", what, n, fd_count);
	TEST_ASSERT(test_memfd_inode(test_vmm_pid) == ram_ino, "%s: guest RAM is another memfd", what);
	TEST_ASSERT(!memcmp(ram, copy, PATTERN_SIZE), "%s: guest RAM pattern changed", what);
}

/*
 * One upgrade that must fail at @stage; @rolled_back: the guest was paused
 * (and resumed); @why: expected in the error.
 */
static void expect_failure(const char *what, const char *binary, const char *extra,
			   const char *stage, bool rolled_back, const char *why)
{
	struct json_object *rep, *rb;
	char *line;
	int status;

	status = test_live_upgrade(vmm, sock, mode, binary, extra, &line, &rep);
	TEST_ASSERT(status == 1, "%s: --live-upgrade exit %d (%s)", what, status, line);
	TEST_ASSERT(strstr(line, "FAILED"), "%s: result line: %s", what, line);
	TEST_ASSERT(rep && !test_ok(rep), "%s: report %s", what,
		    rep ? json_object_to_json_string(rep) : "missing");
	TEST_ASSERT(!strcmp(test_str(rep, "stage"), stage), "%s: stage %s, expected %s", what,
		    test_str(rep, "stage"), stage);
	TEST_ASSERT(strstr(test_str(rep, "error"), why), "%s: expected \"%s\" in: %s", what, why,
		    test_str(rep, "error"));
	TEST_ASSERT(json_object_object_get_ex(rep, "rolled_back", &rb) &&
		    json_object_get_boolean(rb) == rolled_back, "%s: rolled_back in %s", what,
		    json_object_to_json_string(rep));
	if (rolled_back)
		test_u64(rep, "downtime_us");
	printf("ok: %s: %s\n", what, line);
	free(line);
	json_object_put(rep);
	check_guest_runs_on(what);
}

/* @binary passes the preflight, then exits 0 instead of taking the VM. */
static void expect_guest_lost(const char *binary, const char *log)
{
	struct json_object *rep, *v;
	char cmd[400], *line;
	int status;

	status = test_live_upgrade(vmm, sock, mode, binary, NULL, &line, &rep);
	TEST_ASSERT(status == 1, "lost guest: --live-upgrade exit %d (%s)", status, line);
	TEST_ASSERT(rep && !test_ok(rep) && !strcmp(test_str(rep, "stage"), "new-image") &&
		    strstr(test_str(rep, "error"), "the VM is lost") &&
		    json_object_object_get_ex(rep, "vm_lost", &v) && json_object_get_boolean(v),
		    "lost guest: the reply does not say so: %s",
		    rep ? json_object_to_json_string(rep) : line);
	printf("ok: lost guest reported to the client: %s\n", line);
	/* The VMM process is that script now: its exit status is the script's. */
	status = test_wait(test_vmm_pid);
	test_vmm_pid = 0;
	snprintf(cmd, sizeof(cmd), "grep -q 'the VM is lost' '%s'", log);
	TEST_ASSERT(system(cmd) == 0, "lost guest: the VMM's log does not say so");
	printf("ok: the VMM process ended (status %d), its log says the VM is lost\n", status);
	free(line);
	json_object_put(rep);
}

static void expect_bad_request(const char *what, const char *req, const char *why)
{
	struct json_object *r = test_request_raw(ctl_fd, req);

	TEST_ASSERT(!test_ok(r) && strstr(test_str(r, "error"), why), "%s: %s", what,
		    json_object_to_json_string(r));
	json_object_put(r);
	printf("ok: %s refused\n", what);
}

/* An x86-64 kernel refuses an AArch64 ELF with ENOEXEC... */
static void write_foreign_elf(const char *path)
{
	unsigned char h[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	FILE *f = fopen(path, "w");

	h[16] = 2;		/* ET_EXEC */
	h[18] = 183;		/* EM_AARCH64 */
	h[20] = 1;		/* EV_CURRENT */
	h[32] = 64;		/* e_phoff */
	h[52] = 64;		/* e_ehsize */
	h[54] = 56;		/* e_phentsize */
	TEST_ASSERT(f && fwrite(h, sizeof(h), 1, f) == 1, "write %s", path);
	fclose(f);
	TEST_ASSERT(chmod(path, 0755) == 0, "chmod %s", path);
}

/* ...unless binfmt_misc hands it to an emulator (then it would run). */
static bool binfmt_misc_handlers(void)
{
	DIR *d = opendir("/proc/sys/fs/binfmt_misc");
	struct dirent *e;
	bool any = false;

	while (d && (e = readdir(d)))
		any |= e->d_name[0] != '.' && strcmp(e->d_name, "register") &&
		       strcmp(e->d_name, "status");
	if (d)
		closedir(d);
	return any;
}

int main(int argc, char **argv)
{
	char path_sock[300], log[300], missing[300], noexec[300], foreign[300], script[300];
	char fail_recover[300], fail_crash[300], fail_exit[300], lost[300], body[600];
	unsigned long long zero[NR_CPUS] = { 0 };
	struct json_object *rep;
	char *line;
	int memfd, status;
	unsigned int i;

	TEST_ASSERT(argc == 3, "usage: %s VMM MODE", argv[0]);
	vmm = argv[1];
	mode = argv[2];
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	if (strcmp(mode, "cloexec"))
		TEST_REQUIRE(access("/dev/cprstash", F_OK) == 0,
			     "no /dev/cprstash: the module is only loaded in the test VM");

	snprintf(path_sock, sizeof(path_sock), "%s/control.sock", test_tmpdir());
	sock = path_sock;
	snprintf(log, sizeof(log), "%s/vmm.err", test_tmpdir());
	snprintf(missing, sizeof(missing), "%s/no-such-vmm", test_tmpdir());
	snprintf(noexec, sizeof(noexec), "%s/not-executable", test_tmpdir());
	snprintf(foreign, sizeof(foreign), "%s/aarch64-elf", test_tmpdir());
	snprintf(script, sizeof(script), "%s/not-a-vmm.sh", test_tmpdir());
	snprintf(fail_recover, sizeof(fail_recover), "%s/fail-recover.sh", test_tmpdir());
	snprintf(fail_crash, sizeof(fail_crash), "%s/fail-crash.sh", test_tmpdir());
	snprintf(fail_exit, sizeof(fail_exit), "%s/fail-exit.sh", test_tmpdir());
	snprintf(lost, sizeof(lost), "%s/preflight-then-exit.sh", test_tmpdir());

	/* The broken binaries. */
	test_write_script(noexec, "exit 0");
	TEST_ASSERT(chmod(noexec, 0644) == 0, "chmod");
	write_foreign_elf(foreign);
	test_write_script(script, "echo hello; exit 0");
	snprintf(body, sizeof(body), "VMM_TEST_UPGRADE_FAULT=before-resume:enomem exec '%s' \"$@\"", vmm);
	test_write_script(fail_recover, body);
	snprintf(body, sizeof(body), "VMM_TEST_UPGRADE_FAULT=before-resume:crash exec '%s' \"$@\"", vmm);
	test_write_script(fail_crash, body);
	snprintf(body, sizeof(body), "VMM_TEST_UPGRADE_FAULT=before-resume:exit exec '%s' \"$@\"", vmm);
	test_write_script(fail_exit, body);
	snprintf(body, sizeof(body),
		 "[ \"$1\" = --upgrade-preflight ] && exec '%s' \"$@\"; exit 0", vmm);
	test_write_script(lost, body);

	/* The broken binaries are in our temporary directory: allow it. */
	char *vmm_argv[] = { (char *)vmm, "--guest", "builtin", "--cpus", "2", "--mem", "256M",
			     "--control", path_sock, "--report-ms", "5",
			     "--upgrade-allow", (char *)test_tmpdir(), NULL };
	test_spawn_vmm(vmm_argv, NULL, log);
	ctl_fd = test_connect(sock);
	wait_all_above(zero);

	ram_ino = test_memfd_inode(test_vmm_pid);
	ram = test_map_guest_ram(test_vmm_pid, 128 << 20, PATTERN_SIZE, &memfd);
	copy = malloc(PATTERN_SIZE);
	for (i = 0; i < PATTERN_SIZE; i++)
		copy[i] = i * 2654435761u >> 13;
	memcpy(ram, copy, PATTERN_SIZE);
	fd_count = test_fd_count(test_vmm_pid);

	/* Caught by the preflight: the guest never stopped. */
	expect_failure("missing binary", missing, NULL, "preflight", false, "No such file");
	expect_failure("non-executable file", noexec, NULL, "preflight", false, "Permission denied");
	expect_failure("foreign ELF", foreign, NULL, "preflight", false, "preflight");
	expect_failure("script that is not a VMM", script, NULL, "preflight", false,
		       "not a VMM");

	/* exec itself fails, after the pause: the old image resumes the guest. */
	expect_failure("missing binary, no preflight", missing, "--no-preflight", "exec", true,
		       "No such file");
	expect_failure("non-executable, no preflight", noexec, "--no-preflight", "exec", true,
		       "Permission denied");
	if (!binfmt_misc_handlers())
		expect_failure("foreign ELF, no preflight", foreign, "--no-preflight", "exec",
			       true, "Exec format error");
	else
		printf("# binfmt_misc has handlers: not exec'ing a foreign ELF unchecked\n");

	/* The new image fails before resuming: the old binary takes the VM back. */
	expect_failure("new image reports an error", fail_recover, NULL, "new-image", true,
		       "test fault before-resume");
	expect_failure("new image crashes", fail_crash, NULL, "new-image", true,
		       "crashed with signal 11");
	expect_failure("new image exits", fail_exit, NULL, "new-image", true,
		       "it exited");

	/* Requests the VMM refuses outright. */
	expect_bad_request("unknown mode", "{\"cmd\":\"live-upgrade\",\"mode\":\"teleport\"}",
			   "\"mode\" must be");
	expect_bad_request("binary not a string", "{\"cmd\":\"live-upgrade\",\"binary\":42}",
			   "\"binary\" must be");
	check_guest_runs_on("bad requests");

	/* And then an upgrade that works. */
	status = test_live_upgrade(vmm, sock, mode, NULL, NULL, &line, &rep);
	TEST_ASSERT(status == 0 && rep && test_ok(rep), "final upgrade: exit %d: %s", status, line);
	TEST_ASSERT(!strcmp(test_str(rep, "mode"), mode), "final upgrade: mode %s",
		    test_str(rep, "mode"));
	printf("ok: then %s\n", line);
	free(line);
	json_object_put(rep);
	check_guest_runs_on("final upgrade");

	expect_guest_lost(lost, log);
	munmap(ram, PATTERN_SIZE);
	close(memfd);
	free(copy);
	printf("ok: every failed upgrade left the guest running (%s mode)\n", mode);
	test_cleanup();
	return 0;
}
