// SPDX-License-Identifier: GPL-2.0
/*
 * Every way to hold the vmm binary wrong gives one line naming the
 * problem and a non-zero exit, never a crash (ASan/UBSan would turn a
 * crash into an exit status >= 128 or a report on stderr).
 *
 * usage: e2e_errors VMM_BINARY
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static const char *vmm;
static char err_path[300];

static void expect_error(int want_status, const char *want_text, char *const argv[])
{
	test_expect_error(want_status, want_text, argv, err_path);
}

#define VMM(...) ((char *[]){ (char *)vmm, __VA_ARGS__, NULL })

/*
 * Messages carry syslog priorities when asked, and when stderr is the
 * journal: systemd names its stream in JOURNAL_STREAM ("DEV:INO"), here
 * the file the VMM's stderr goes to.
 */
static void expect_plain(char *const argv[])
{
	char *line;

	expect_error(2, "unknown option", argv);
	line = test_read_first_line(err_path);
	TEST_ASSERT(!strncmp(line, "vmm: error: ", 12), "expected no prefix: %s", line);
	free(line);
}

static void expect_log_formats(void)
{
	char env[64];
	struct stat st;

	expect_error(2, "<3>vmm: error: unknown option", VMM("--log", "syslog", "--bogus"));
	expect_error(2, "Z vmm: error: unknown option", VMM("--log", "time", "--bogus"));
	expect_error(2, "--log", VMM("--log", "journal"));
	TEST_ASSERT(!stat(err_path, &st), "stat %s: %s", err_path, strerror(errno));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	expect_error(2, "<3>vmm: error: unknown option", VMM("--bogus"));
	expect_plain(VMM("--log", "plain", "--bogus"));
	setenv("JOURNAL_STREAM", "1:1", 1);
	expect_plain(VMM("--bogus"));
	unsetenv("JOURNAL_STREAM");
}

/* Run the VMM with /dev hidden behind an empty tmpfs: "no /dev/kvm". */
static void expect_no_kvm(void)
{
	char *line;
	int status;
	pid_t pid;

	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (!freopen(err_path, "w", stderr) ||
		    unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", "/dev", "tmpfs", 0, NULL))
			_exit(KSFT_SKIP);
		execl(vmm, vmm, "--guest", "builtin", "--no-stdin", (char *)NULL);
		_exit(127);
	}
	status = test_wait(pid);
	if (status == KSFT_SKIP) {
		printf("skip: cannot hide /dev/kvm (needs CAP_SYS_ADMIN)\n");
		return;
	}
	line = test_read_first_line(err_path);
	TEST_ASSERT(status == 1, "no /dev/kvm: exit status %d (%s)", status, line);
	TEST_ASSERT(strstr(line, "/dev/kvm"), "expected /dev/kvm in: %s", line);
	printf("ok: %s\n", line);
	free(line);
}

int main(int argc, char **argv)
{
	static const char *const options[] = {
		"--kernel", "--initrd", "--cmdline", "--guest", "--report-ms",
		"--mem", "--cpus", "--hugepages", "--control", "--cmd",
		"--serial-log", "--no-stdin", "--verbose", "--help", "--touch-ram",
		"--live-upgrade", "--binary", "--upgrade-mode", "--no-preflight",
		"--upgrade-preflight", "--control-group", "--upgrade-allow",
		"--log", "--version", "--vfio", "--net",
	};
	char help_path[300], junk[300], fake[300], sock[300], cmd[400];
	static char longcmd[3000];
	unsigned int i;
	FILE *f;

	TEST_ASSERT(argc == 2, "usage: %s VMM", argv[0]);
	vmm = argv[1];
	snprintf(err_path, sizeof(err_path), "%s/stderr", test_tmpdir());
	snprintf(help_path, sizeof(help_path), "%s/help", test_tmpdir());
	snprintf(junk, sizeof(junk), "%s/junk-kernel", test_tmpdir());
	snprintf(fake, sizeof(fake), "%s/fake-bzImage", test_tmpdir());
	snprintf(sock, sizeof(sock), "%s/nobody.sock", test_tmpdir());

	/* --help documents every option. */
	TEST_ASSERT(test_wait(test_spawn(VMM("--help"), help_path, NULL)) == 0, "--help");
	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		snprintf(cmd, sizeof(cmd), "grep -q -e '%s' '%s'", options[i], help_path);
		TEST_ASSERT(system(cmd) == 0, "--help does not mention %s", options[i]);
	}

	/* --version: "vmm VERSION" on stdout, exit 0. */
	TEST_ASSERT(test_wait(test_spawn(VMM("--version"), help_path, NULL)) == 0, "--version");
	{
		char *version = test_read_first_line(help_path);

		TEST_ASSERT(!strncmp(version, "vmm ", 4) && version[4],
			    "--version printed: %s", version);
		printf("ok: --version: %s\n", version);
		free(version);
	}

	/* Command line. */
	expect_error(2, "unknown option", VMM("--bogus"));
	expect_error(2, "--mem", VMM("--guest", "builtin", "--mem", "1M"));
	expect_error(2, "malformed size", VMM("--guest", "builtin", "--mem", "12Q"));
	expect_error(2, "not a multiple", VMM("--guest", "builtin", "--mem", "100000K"));
	expect_error(2, "--cpus", VMM("--guest", "builtin", "--cpus", "0"));
	expect_error(2, "--cpus", VMM("--guest", "builtin", "--cpus", "many"));
	expect_error(2, "--guest", VMM("--guest", "windows"));
	expect_error(2, "--kernel", VMM("--mem", "128M"));
	expect_error(2, "--control", VMM("--cmd", "status"));
	expect_error(2, "--control", VMM("--live-upgrade"));
	expect_error(2, "go with --live-upgrade", VMM("--guest", "builtin", "--binary", "/bin/true"));
	expect_error(2, "--upgrade-mode", VMM("--live-upgrade", "--control", sock,
					      "--upgrade-mode", "teleport"));
	expect_error(2, "--touch-ram", VMM("--kernel", "/x", "--touch-ram"));
	expect_error(2, "exclude", VMM("--live-upgrade", "--cmd", "status", "--control", sock));
	expect_error(2, "needs --control", VMM("--guest", "builtin", "--control-group", "0"));
	expect_error(2, "not a client", VMM("--control", sock, "--cmd", "status",
					    "--control-group", "0"));
	expect_error(2, "not an absolute path", VMM("--guest", "builtin", "--upgrade-allow",
						    "bin/vmm"));
	expect_error(2, "not a client", VMM("--live-upgrade", "--control", sock,
					    "--upgrade-allow", "/usr/bin"));
	expect_error(2, "more than 16", VMM("--guest", "builtin",
		"--upgrade-allow", "/1", "--upgrade-allow", "/2", "--upgrade-allow", "/3",
		"--upgrade-allow", "/4", "--upgrade-allow", "/5", "--upgrade-allow", "/6",
		"--upgrade-allow", "/7", "--upgrade-allow", "/8", "--upgrade-allow", "/9",
		"--upgrade-allow", "/10", "--upgrade-allow", "/11", "--upgrade-allow", "/12",
		"--upgrade-allow", "/13", "--upgrade-allow", "/14", "--upgrade-allow", "/15",
		"--upgrade-allow", "/16", "--upgrade-allow", "/17"));

	expect_error(2, "is not tap=NAME or fd=N", VMM("--guest", "builtin", "--net", "user"));
	expect_error(2, "is not tap=NAME or fd=N", VMM("--guest", "builtin", "--net",
						       "tap=t0,mac=01:00:00:00:00:01"));
	expect_error(2, "not a client", VMM("--control", sock, "--cmd", "status",
					    "--net", "tap=t0"));
	expect_error(2, "more than 4", VMM("--guest", "builtin", "--net", "tap=a", "--net", "tap=b",
					   "--net", "tap=c", "--net", "tap=d", "--net", "tap=e"));

	expect_log_formats();

	/* Kernel images. */
	expect_error(1, "/nonexistent/bzImage", VMM("--kernel", "/nonexistent/bzImage"));
	f = fopen(junk, "w");
	TEST_ASSERT(f, "create %s", junk);
	for (i = 0; i < 2000; i++)
		fputs("not a kernel ", f);
	fclose(f);
	expect_error(1, "not a bzImage", VMM("--kernel", junk));
	expect_error(1, "not a regular file", VMM("--kernel", "/dev/null"));
	test_write_fake_bzimage(fake);
	expect_error(1, "/nonexistent/initrd",
		     VMM("--kernel", fake, "--initrd", "/nonexistent/initrd"));
	memset(longcmd, 'x', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = '\0';
	expect_error(1, "command line", VMM("--kernel", fake, "--cmdline", longcmd));

	/* Client mode without a server. */
	expect_error(1, "cannot connect", VMM("--control", sock, "--cmd", "status"));
	expect_error(1, "cannot connect", VMM("--live-upgrade", "--control", sock));

	/* A new image with no upgrade behind it. */
	expect_error(1, "no upgrade in progress", VMM("--incoming"));

	/* The preflight answer: the record format this binary reads. */
	TEST_ASSERT(test_wait(test_spawn(VMM("--upgrade-preflight"), help_path, NULL)) == 0,
		    "--upgrade-preflight");
	{
		char *answer = test_read_first_line(help_path);

		TEST_ASSERT(!strncmp(answer, "vmm-upgrade records=", 20),
			    "--upgrade-preflight answered: %s", answer);
		printf("ok: --upgrade-preflight: %s\n", answer);
		free(answer);
	}

	/* No KVM at all: this machine's own, or /dev hidden where there is one. */
	if (test_have_kvm())
		expect_no_kvm();
	else
		expect_error(1, "/dev/kvm", VMM("--guest", "builtin", "--no-stdin"));

	test_cleanup();
	return 0;
}
