// SPDX-License-Identifier: GPL-2.0
/*
 * --vfio refusals: each one line naming the device and the cause, a
 * non-zero exit, nothing left behind (Documentation/vmm.rst, "VFIO
 * passthrough").
 *
 * usage: e2e_vfio_errors VMM            anywhere: the command line and
 *                                       what sysfs tells, before /dev/kvm
 *        e2e_vfio_errors VMM testvm     the test VM ($CPRSTASH_TESTVM_EDU
 *                                       bound to vfio-pci, root): no
 *                                       permission, a group in use, a
 *                                       live upgrade on a kernel without
 *                                       VFIO_UPDATE_VADDR
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "testlib.h"

static const char *vmm;
static char err_path[300];

#define VMM(...) ((char *[]){ (char *)vmm, __VA_ARGS__, NULL })

static void expect_error(int want_status, const char *want_text, char *const argv[])
{
	test_expect_error(want_status, want_text, argv, err_path);
}

/*
 * A refusal once the VM exists: exit 1, the first line names the device
 * and the cause; the only other line allowed is the registry's own
 * ("device vfio: cannot create it: ..."), which it prints for every
 * device whose init fails.
 */
static void expect_refusal(int status, const char *edu, const char *want_text)
{
	char *line = test_read_first_line(err_path);
	int lines = test_count_lines(err_path);
	char cmd[400];

	TEST_ASSERT(status == 1, "exit status %d, expected 1 (%s)", status, line);
	TEST_ASSERT(strstr(line, edu) && strstr(line, want_text),
		    "expected %s and \"%s\" in: %s", edu, want_text, line);
	snprintf(cmd, sizeof(cmd), "sed 1d '%s' | grep -qv '^vmm: error: device vfio: cannot create it'",
		 err_path);
	TEST_ASSERT(lines <= 2 && system(cmd) != 0, "more on stderr than the refusal:\n%s", line);
	printf("ok: %s\n", line);
	free(line);
}

/* @bdf is bound to another driver than vfio-pci, or to none. */
static bool pci_not_vfio_pci(const char *bdf)
{
	char path[300], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT;
	target[n] = '\0';
	base = strrchr(target, '/');
	return strcmp(base ? base + 1 : target, "vfio-pci") != 0;
}

/* A PCI function of this machine not bound to vfio-pci, or NULL. */
static char *pci_not_vfio(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char *found = NULL;

	while (d && !found && (e = readdir(d)))
		if (e->d_name[0] != '.' && pci_not_vfio_pci(e->d_name))
			found = strdup(e->d_name);
	if (d)
		closedir(d);
	return found;
}

static void test_command_line(void)
{
	expect_error(2, "not a PCI address", VMM("--guest", "builtin", "--vfio", "00:04"));
	expect_error(2, "not a PCI address", VMM("--guest", "builtin", "--vfio", "0000:00:20.0"));
	expect_error(2, "not a PCI address", VMM("--guest", "builtin", "--vfio", "0000:00:04.8"));
	expect_error(2, "not a PCI address", VMM("--guest", "builtin", "--vfio", "+000:00:04.0"));
	expect_error(2, "given twice", VMM("--guest", "builtin", "--vfio", "00:04.0",
					   "--vfio", "0000:00:04.0"));
	expect_error(2, "more than 8", VMM("--guest", "builtin",
		"--vfio", "00:01.0", "--vfio", "00:02.0", "--vfio", "00:03.0",
		"--vfio", "00:04.0", "--vfio", "00:05.0", "--vfio", "00:06.0",
		"--vfio", "00:07.0", "--vfio", "00:08.0", "--vfio", "00:09.0"));
	expect_error(2, "not a client", VMM("--control", "/nonexistent.sock", "--cmd", "status",
					    "--vfio", "00:04.0"));
}

/* sysfs answers these: no /dev/kvm or /dev/vfio needed. */
static void test_sysfs(void)
{
	char *bdf;

	expect_error(1, "vfio abcd:ef:1f.7: no such PCI device",
		     VMM("--guest", "builtin", "--no-stdin", "--vfio", "abcd:ef:1f.7"));
	bdf = pci_not_vfio();
	if (!bdf) {
		printf("skip: every PCI function here is bound to vfio-pci\n");
		return;
	}
	expect_error(1, "not bound to vfio-pci",
		     VMM("--guest", "builtin", "--no-stdin", "--vfio", bdf));
	free(bdf);
}

/*
 * Root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (dropped from the
 * bounding set, so exec does not give them back): file modes bind it, so
 * a group node of mode 0 is a group this user may not open, while
 * /dev/kvm (root's, 0600) still opens.
 */
static int run_without_dac(char *const argv[])
{
	pid_t pid;
	int fd;

	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 2) < 0 || getuid() != 0 ||
		    prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) ||
		    prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0))
			_exit(KSFT_SKIP);
		execv(argv[0], argv);
		_exit(127);
	}
	return test_wait(pid);
}

static char group_path[64];
static mode_t group_mode;

static void restore_group_mode(void)
{
	if (group_path[0] && chmod(group_path, group_mode))
		fprintf(stderr, "chmod %s back to %o: %s\n", group_path, group_mode,
			strerror(errno));
}

static void test_no_permission(const char *edu, const char *group)
{
	struct stat st;
	char want[64];
	int status;

	snprintf(group_path, sizeof(group_path), "/dev/vfio/%s", group);
	TEST_ASSERT(stat(group_path, &st) == 0, "stat %s: %s", group_path, strerror(errno));
	group_mode = st.st_mode & 07777;
	TEST_REQUIRE(chmod(group_path, 0) == 0, "cannot chmod the VFIO group (needs root)");
	atexit(restore_group_mode);
	status = run_without_dac(VMM("--guest", "builtin", "--no-stdin", "--mem", "64M",
				     "--vfio", (char *)edu));
	restore_group_mode();
	group_path[0] = '\0';
	TEST_REQUIRE(status != KSFT_SKIP, "cannot drop CAP_DAC_OVERRIDE (needs root)");
	snprintf(want, sizeof(want), "no permission to open /dev/vfio/%s", group);
	expect_refusal(status, edu, want);
}

/* A second VMM for a device the first one holds. */
static void test_group_in_use(const char *edu, const char *group)
{
	char sock[300], log[300], want[64];
	int fd;

	snprintf(sock, sizeof(sock), "%s/first.sock", test_tmpdir());
	snprintf(log, sizeof(log), "%s/first.log", test_tmpdir());
	test_spawn_vmm(VMM("--guest", "builtin", "--no-stdin", "--mem", "64M",
			       "--control", sock, "--vfio", (char *)edu), "/dev/null", log);
	fd = test_connect(sock);
	snprintf(want, sizeof(want), "/dev/vfio/%s is in use", group);
	expect_refusal(test_run(VMM("--guest", "builtin", "--no-stdin", "--mem", "64M",
				    "--vfio", (char *)edu), err_path), edu, want);
	test_quit_vmm(fd, log);
}

/*
 * An IOMMU without VFIO_UPDATE_VADDR (played by VMM_TEST_NO_UPDATE_VADDR):
 * the upgrade is refused before the pause, with the reason, and the VMM
 * runs on with its device.
 */
static void test_no_update_vaddr(const char *edu)
{
	char sock[300], log[300], *line;
	struct json_object *report, *o;
	int fd, status;

	snprintf(sock, sizeof(sock), "%s/novaddr.sock", test_tmpdir());
	snprintf(log, sizeof(log), "%s/novaddr.log", test_tmpdir());
	TEST_ASSERT(setenv("VMM_TEST_NO_UPDATE_VADDR", "1", 1) == 0, "setenv");
	test_spawn_vmm(VMM("--guest", "builtin", "--no-stdin", "--mem", "64M",
			   "--control", sock, "--vfio", (char *)edu), "/dev/null", log);
	unsetenv("VMM_TEST_NO_UPDATE_VADDR");
	fd = test_connect(sock);
	status = test_live_upgrade(vmm, sock, "cloexec", NULL, NULL, &line, &report);
	TEST_ASSERT(status != 0, "the upgrade happened: %s", line);
	TEST_ASSERT(strstr(line, "VFIO_UPDATE_VADDR") && strstr(line, edu),
		    "expected VFIO_UPDATE_VADDR and %s in: %s", edu, line);
	TEST_ASSERT(report && !strcmp(test_str(report, "stage"), "prepare"),
		    "not refused while preparing: %s", line);
	TEST_ASSERT(json_object_object_get_ex(report, "rolled_back", &o) &&
		    !json_object_get_boolean(o), "the guest was paused: %s",
		    json_object_to_json_string(report));
	printf("ok: %s\n", line);
	json_object_put(report);
	free(line);
	test_quit_vmm(fd, log);
}

int main(int argc, char **argv)
{
	const char *edu, *group;

	TEST_ASSERT(argc == 2 || (argc == 3 && !strcmp(argv[2], "testvm")),
		    "usage: %s VMM [testvm]", argv[0]);
	vmm = argv[1];
	snprintf(err_path, sizeof(err_path), "%s/stderr", test_tmpdir());
	if (argc == 2) {
		test_command_line();
		test_sysfs();
		test_cleanup();
		return 0;
	}
	edu = getenv("CPRSTASH_TESTVM_EDU");
	group = getenv("CPRSTASH_TESTVM_VFIO_GROUP");
	TEST_REQUIRE(edu && group, "no device bound to vfio-pci (not the test VM)");
	TEST_REQUIRE(test_have_kvm(), "no /dev/kvm");
	test_no_permission(edu, group);
	test_group_in_use(edu, group);
	test_no_update_vaddr(edu);
	test_cleanup();
	return 0;
}
