// SPDX-License-Identifier: GPL-2.0
/*
 * A fault at every phase of the live upgrade (upgrade/fault.c): for each
 * injection POINT:ACTION in each mode where it applies, a VMM with the
 * built-in guest is started with VMM_TEST_UPGRADE_FAULT=POINT:ACTION and
 * asked for one live upgrade.  Two outcomes are allowed:
 *
 *   the guest runs on, in the new image, in the old one, or in the old
 *   binary re-executed: its counters advance and its own memory checks
 *   hold (test_read_counters); then the VMM quits;
 *
 *   the VMM process is gone, and the client was told the VM is lost.
 *
 * Either way, after it: no process of the VMM is left (the keeper, the
 * loss watch), KVM has no VM of that pid left (its debugfs directory
 * "PID-FD" is gone) and the module's live-object counters are back where
 * they were: every stash, kept file and kept address space released.
 * Anything else, a half-owned VM or a leak, fails the test.
 *
 * ENOMEM from the module comes from its debugfs knob fail_nth (the test
 * VM's kernel has no failslab): a plain upgrade counts the module's
 * allocations ("none"), then the first, second, middle and last fail.
 *
 * The outcomes make a reST table (Documentation/upgrade-faults.rst.inc,
 * included by Documentation/upgrade.rst): the test fails if the table it
 * made differs from the committed one, so the document cannot drift.
 * CPRSTASH_TEST_LONG (or CPRSTASH_FUZZ_LONG) set to 1: every point x every
 * action x every mode, checked the same way, without the comparison.
 *
 * With MODE, only that mode's rows (cloexec: no module needed, a "host"
 * row; without the module the live counters are not checked).  The
 * committed table is read from next to this program (meson copies it).
 *
 * usage: e2e_upgrade_faults VMM [MODE]
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/upgrade.h"

#define LIVE_PATH	"/sys/kernel/debug/cprstash/live"
#define FAIL_NTH_PATH	"/sys/kernel/debug/cprstash/fail_nth"
/* Not VMM_TEST_UPGRADE_FAULT: the test sets the module's fail_nth. */
#define MODULE_ALLOC	"module-alloc:"
#define NTH_NEVER	1000000
#define KVM_DEBUGFS	"/sys/kernel/debug/kvm"
#define MAX_PIDS	64
#define ROW_FMT		"%-22s %-8s %-44s %s\n"
#define RULE		"====================== ======== " \
			"============================================ " \
			"=========================================\n"

struct fault_case {
	const char *fault;	/* POINT:ACTION, "none" or "module-alloc:WHICH" */
	const char *mode;
	bool disk;		/* the VMM has a --disk */
};

/* The default subset: every point once, each action where it says most. */
static const struct fault_case default_cases[] = {
	{ "after-pause:kill", "adopt", false },
	{ "mid-stash:kill", "adopt", false },
	{ "after-seal:kill", "adopt", false },
	{ "before-exec:kill", "adopt", false },
	{ "incoming:kill", "adopt", false },
	{ "before-adopt:kill", "adopt", false },
	{ "after-adopt:kill", "adopt", false },
	{ "before-resume:kill", "adopt", false },
	{ "after-seal:kill", "rebuild", false },
	{ "before-resume:kill", "rebuild", false },
	{ "after-seal:kill", "cloexec", false },
	{ "before-resume:kill", "cloexec", false },
	{ "before-exec:exit", "adopt", false },
	{ "before-resume:exit", "adopt", false },
	{ "before-resume:exit", "cloexec", false },
	{ "after-seal:expire", "adopt", false },
	{ "after-seal:expire", "rebuild", false },
	{ "after-pause:enomem", "adopt", false },
	{ "mid-stash:enomem", "adopt", false },
	{ "mid-stash:enomem", "cloexec", false },
	{ "after-seal:enomem", "adopt", false },
	{ "before-exec:enomem", "rebuild", false },
	{ "incoming:enomem", "adopt", false },
	{ "uring-setup:enomem", "adopt", false },
	{ "uring-setup:enomem", "cloexec", false },
	{ "disk-uring:enomem", "adopt", true },
	{ "disk-uring:enomem", "cloexec", true },
	{ "before-adopt:enomem", "adopt", false },
	{ "after-adopt:enomem", "adopt", false },
	{ "before-resume:enomem", "rebuild", false },
	/*
	 * ENOMEM from the module (its debugfs fail_nth): "none" counts the
	 * allocations of a plain upgrade, then the first, the second (the
	 * first PRESERVE_FD), the middle one and the last one fail.
	 */
	{ "none", "adopt", false },
	{ "module-alloc:1", "adopt", false },
	{ "module-alloc:2", "adopt", false },
	{ "module-alloc:mid", "adopt", false },
	{ "module-alloc:last", "adopt", false },
	{ "none", "rebuild", false },
	{ "module-alloc:1", "rebuild", false },
	{ "module-alloc:2", "rebuild", false },
	{ "module-alloc:mid", "rebuild", false },
	{ "module-alloc:last", "rebuild", false },
};

static const char *const modes[] = { "adopt", "rebuild", "cloexec" };
static const char *const points[] = {
	"after-pause", "mid-stash", "after-seal", "before-exec", "incoming",
	"uring-setup", "disk-uring", "before-adopt", "after-adopt", "before-resume",
};
static const char *const actions[] = { "kill", "crash", "exit", "enomem", "expire" };

static const char *vmm, *only_mode;
static bool have_module;
/* Module allocations of a plain upgrade, by mode (the "none" rows). */
static long module_allocs[ARRAY_SIZE(modes)];
static char baseline_live[4096];
static pid_t baseline_pids[MAX_PIDS];
static unsigned int nr_baseline_pids;

/* The module's live counters, as text (reading waits for pending frees). */
static void read_live(char *buf, size_t len)
{
	FILE *f = fopen(LIVE_PATH, "r");
	size_t n;

	TEST_ASSERT(f, "%s: %s", LIVE_PATH, strerror(errno));
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static long fail_nth(long set)
{
	FILE *f = fopen(FAIL_NTH_PATH, set >= 0 ? "w" : "r");
	long n = set;

	TEST_ASSERT(f, "%s: %s", FAIL_NTH_PATH, strerror(errno));
	if (set >= 0)
		TEST_ASSERT(fprintf(f, "%ld\n", set) > 0, "write " FAIL_NTH_PATH);
	else
		TEST_ASSERT(fscanf(f, "%ld", &n) == 1, "read " FAIL_NTH_PATH);
	TEST_ASSERT(!fclose(f), "%s: %s", FAIL_NTH_PATH, strerror(errno));
	return n;
}

static int mode_allocs_index(const char *mode)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(modes[i], mode))
			return i;
	return -1;
}

static long *mode_allocs(const char *mode)
{
	int i = mode_allocs_index(mode);

	TEST_ASSERT(i >= 0, "unknown mode %s", mode);
	return &module_allocs[i];
}

/* Which module allocation @c fails: 0 none, NTH_NEVER to count them. */
static long case_nth(const struct fault_case *c)
{
	const char *which = c->fault + strlen(MODULE_ALLOC);
	long n = *mode_allocs(c->mode);

	if (!strcmp(c->fault, "none"))
		return NTH_NEVER;
	if (strncmp(c->fault, MODULE_ALLOC, strlen(MODULE_ALLOC)))
		return 0;
	TEST_ASSERT(n > 2, "%s: count %s's module allocations first", c->fault, c->mode);
	if (!strcmp(which, "mid"))
		return n / 2;
	if (!strcmp(which, "last"))
		return n;
	return atol(which);
}

/* Every process named as the VMM's binary but a zombie (init reaps those). */
static unsigned int vmm_pids(pid_t *pids, unsigned int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned int n = 0;
	char path[300], stat[256], name[32];
	FILE *f;

	/* The kernel's comm: the first 15 bytes of the binary's name. */
	snprintf(name, sizeof(name), "(%.15s)", strrchr(vmm, '/') ? strrchr(vmm, '/') + 1 : vmm);

	TEST_ASSERT(d, "/proc");
	while ((e = readdir(d))) {
		pid_t pid = atoi(e->d_name);
		char *p;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(stat, sizeof(stat), f))
			stat[0] = '\0';
		fclose(f);
		p = strrchr(stat, ')');
		if (strstr(stat, name) && p && p[1] == ' ' && p[2] != 'Z' && n < max)
			pids[n++] = pid;
	}
	closedir(d);
	return n;
}

static bool is_baseline_pid(pid_t pid)
{
	unsigned int i;

	for (i = 0; i < nr_baseline_pids; i++)
		if (baseline_pids[i] == pid)
			return true;
	return false;
}

/* A process of the VMM under test still runs: its pid, else 0. */
static pid_t leftover_process(void)
{
	pid_t pids[MAX_PIDS];
	unsigned int i, n = vmm_pids(pids, MAX_PIDS);

	for (i = 0; i < n; i++)
		if (!is_baseline_pid(pids[i]))
			return pids[i];
	return 0;
}

/* KVM names each VM's debugfs directory "PID-FD" after its creator. */
static bool kvm_has_vm_of(pid_t pid)
{
	DIR *d = opendir(KVM_DEBUGFS);
	struct dirent *e;
	char prefix[32];
	bool found = false;

	if (!d)
		return false;
	snprintf(prefix, sizeof(prefix), "%d-", (int)pid);
	while ((e = readdir(d)))
		found |= !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return found;
}

/* After the VMM @pid is gone: nothing of it may be left, anywhere. */
static void check_all_released(const char *what, pid_t pid)
{
	char live[sizeof(baseline_live)];
	struct test_wait w;
	pid_t left;

	for (test_wait_start(&w); (left = leftover_process()); )
		TEST_ASSERT(test_wait_more(&w), "%s: process %d of the VMM is left", what, left);
	for (test_wait_start(&w); kvm_has_vm_of(pid); )
		TEST_ASSERT(test_wait_more(&w), "%s: KVM still has a VM of pid %d", what, pid);
	for (test_wait_start(&w);
	     have_module && (read_live(live, sizeof(live)), strcmp(live, baseline_live)); )
		TEST_ASSERT(test_wait_more(&w), "%s: the module still holds:\n%s\nbefore:\n%s",
			    what, live, baseline_live);
}

/* The guest runs on in the VMM (pid unchanged): its counters advance. */
static void check_guest_runs(const char *what, int ctl_fd)
{
	unsigned long long c[1], now[1];

	test_read_counters(ctl_fd, 1, c, "running", test_vmm_pid);
	test_wait_counters_above(ctl_fd, 1, c, now, test_vmm_pid);
	printf("ok: %s: the guest runs on (%llu -> %llu)\n", what, c[0], now[0]);
}

static bool json_true(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Where the guest runs after an upgrade that returned @rep. */
static void describe_running(struct json_object *rep, char *outcome, size_t olen,
			     char *reply, size_t rlen)
{
	if (test_ok(rep)) {
		snprintf(outcome, olen, "runs on, new image%s",
			 json_true(rep, "io_uring") ? "" : " (records by pread)");
		snprintf(reply, rlen, "ok, %s mode", test_str(rep, "mode"));
	} else if (json_true(rep, "rolled_back") && !strcmp(test_str(rep, "stage"), "new-image")) {
		snprintf(outcome, olen, "runs on, old binary re-executed");
		snprintf(reply, rlen, "failed at %s, rolled back", test_str(rep, "stage"));
	} else {
		snprintf(outcome, olen, "runs on, old image");
		snprintf(reply, rlen, "failed at %s", test_str(rep, "stage"));
	}
}

/* One VMM, one upgrade with @c's fault; a table row into @row. */
static void run_case(const struct fault_case *c, char *row, size_t len)
{
	char sock[300], log[300], disk[300], what[80], outcome[80], reply[80], *line;
	struct json_object *rep;
	unsigned long long zero[1] = { 0 }, now[1];
	long nth = case_nth(c), left;
	int ctl_fd, status;
	pid_t pid;

	snprintf(what, sizeof(what), "%s in %s mode", c->fault, c->mode);
	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());
	snprintf(log, sizeof(log), "%s/vmm.err", test_tmpdir());
	unlink(sock);
	char *argv[] = { (char *)vmm, "--guest", "builtin", "--cpus", "1", "--mem", "128M",
			 "--control", sock, "--report-ms", "5", NULL, NULL, NULL };
	if (c->disk) {
		snprintf(disk, sizeof(disk), "%s/disk.img", test_tmpdir());
		TEST_ASSERT(!truncate(disk, 0) || errno == ENOENT, "truncate %s", disk);
		test_write_script(disk, "");
		TEST_ASSERT(!truncate(disk, 1 << 20), "truncate %s: %s", disk, strerror(errno));
		argv[11] = "--disk";
		argv[12] = disk;
	}
	if (!nth)
		setenv(UPGRADE_ENV_FAULT, c->fault, 1);
	test_spawn_vmm(argv, NULL, log);
	unsetenv(UPGRADE_ENV_FAULT);
	pid = test_vmm_pid;
	ctl_fd = test_connect(sock);
	test_wait_counters_above(ctl_fd, 1, zero, now, pid);

	if (nth)
		fail_nth(nth);
	status = test_live_upgrade(vmm, sock, c->mode, NULL, NULL, &line, &rep);
	TEST_ASSERT(rep, "%s: no report from the client (exit %d): %s", what, status, line);
	TEST_ASSERT((status == 0) == test_ok(rep), "%s: client exit %d: %s", what, status, line);
	if (json_true(rep, "vm_lost")) {
		/* The loss watch answered: the VMM process ended. */
		status = test_wait(pid);
		test_vmm_pid = 0;
		close(ctl_fd);
		snprintf(outcome, sizeof(outcome), "VM destroyed, nothing kept (VMM %s %d)",
			 status > 128 ? "signal" : "exit", status > 128 ? status - 128 : status);
		snprintf(reply, sizeof(reply), "failed at %s, vm_lost", test_str(rep, "stage"));
		printf("ok: %s: the VMM ended, the client was told: %s\n", what, line);
	} else {
		check_guest_runs(what, ctl_fd);
		describe_running(rep, outcome, sizeof(outcome), reply, sizeof(reply));
		test_quit_vmm(ctl_fd, log);
	}
	check_all_released(what, pid);
	if (nth) {
		/* Read once nothing of the VMM is left: teardown included. */
		left = fail_nth(-1);
		fail_nth(0);
		if (nth == NTH_NEVER) {
			*mode_allocs(c->mode) = NTH_NEVER - left;
			printf("# a plain upgrade in %s mode: %ld module allocations\n",
			       c->mode, NTH_NEVER - left);
		} else {
			TEST_ASSERT(!left, "%s: module allocation %ld never came", what, nth);
		}
	}
	printf("ok: %s: %s; nothing left of the VMM, its VM or its stash\n", what, outcome);
	snprintf(row, len, ROW_FMT, c->fault, c->mode, outcome, reply);
	free(line);
	json_object_put(rep);
}

/* Whether @point:@action in @mode reaches its point at all. */
static bool case_applies(const char *point, const char *action, const char *mode)
{
	char spec[64];
	struct upgrade_fault f;

	if (only_mode && strcmp(mode, only_mode))
		return false;
	snprintf(spec, sizeof(spec), "%s:%s", point, action);
	if (upgrade_fault__parse(spec, &f))
		return false;
	if (!strcmp(mode, "cloexec") && !strcmp(action, "expire"))
		return false;
	return strcmp(mode, "adopt") ? strcmp(point, "before-adopt") && strcmp(point, "after-adopt")
				     : true;
}

static bool long_run(void)
{
	const char *a = getenv("CPRSTASH_TEST_LONG"), *b = getenv("CPRSTASH_FUZZ_LONG");

	return (a && !strcmp(a, "1")) || (b && !strcmp(b, "1"));
}

static char *read_whole(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[65536];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The committed table's rows of @only_mode (and its other lines). */
static void filter_rows(char *table)
{
	char *line = table, *next, *out = table, mode[16];

	for (; *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, "%*s %15s", mode) == 1 && mode_allocs_index(mode) >= 0 &&
		    strcmp(mode, only_mode))
			continue;
		memmove(out, line, next - line);
		out += next - line;
	}
	*out = '\0';
}

static void compare_table(const char *table, const char *committed_path, const char *out)
{
	char *committed = read_whole(committed_path);

	if (committed && only_mode)
		filter_rows(committed);

	if (committed && !strcmp(committed, table)) {
		printf("ok: the outcomes match %s\n", committed_path);
		return;
	}
	printf("--- the table this run made (%s) ---\n%s--- end ---\n", out, table);
	fflush(stdout);		/* before the assertion's stderr */
	TEST_ASSERT(0, "the outcomes differ from %s (%s).  If the change is meant, "
		    "regenerate it: CPRSTASH_TEST_ONLY=e2e-upgrade-faults "
		    "scripts/testvm-tests.sh build/dev, then copy the table printed "
		    "above into Documentation/upgrade-faults.rst.inc",
		    committed_path, committed ? "different" : strerror(errno));
}

static void default_table_path(char *path, size_t len)
{
	static const char name[] = "/upgrade-faults.rst.inc";
	ssize_t n = readlink("/proc/self/exe", path, len - sizeof(name));
	char *slash;

	TEST_ASSERT(n > 0 && (size_t)n < len - sizeof(name), "/proc/self/exe");
	path[n] = '\0';
	slash = strrchr(path, '/');
	memcpy(slash, name, sizeof(name));
}

int main(int argc, char **argv)
{
	static char table[65536];
	char row[300], committed[PATH_MAX], out[300];
	unsigned int i, p, a, m;
	size_t off;
	FILE *f;

	TEST_ASSERT(argc == 2 || argc == 3, "usage: %s VMM [MODE]", argv[0]);
	vmm = argv[1];
	only_mode = argc == 3 ? argv[2] : NULL;
	TEST_ASSERT(!only_mode || mode_allocs_index(only_mode) >= 0, "unknown mode %s", only_mode);
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	have_module = access(LIVE_PATH, R_OK) == 0;
	TEST_REQUIRE(have_module || (only_mode && !strcmp(only_mode, "cloexec")),
		     "no " LIVE_PATH ": the module is only loaded in the test VM (debugfs, root)");
	if (!have_module)
		printf("# no module: its live counters are not checked\n");
	default_table_path(committed, sizeof(committed));
	if (have_module)
		read_live(baseline_live, sizeof(baseline_live));
	nr_baseline_pids = vmm_pids(baseline_pids, MAX_PIDS);

	off = snprintf(table, sizeof(table),
		       ".. Made by vmm/tests/e2e_upgrade_faults.c (row e2e-upgrade-faults):\n"
		       ".. do not edit, the test fails if it differs from what it sees.\n\n"
		       RULE ROW_FMT RULE, "Injection", "Mode", "Outcome", "Client reply");
	if (!long_run()) {
		for (i = 0; i < ARRAY_SIZE(default_cases); i++) {
			if (only_mode && strcmp(default_cases[i].mode, only_mode))
				continue;
			run_case(&default_cases[i], row, sizeof(row));
			off += snprintf(table + off, sizeof(table) - off, "%s", row);
		}
	} else {
		for (p = 0; p < ARRAY_SIZE(points); p++)
			for (a = 0; a < ARRAY_SIZE(actions); a++)
				for (m = 0; m < ARRAY_SIZE(modes); m++) {
					struct fault_case c = { row, modes[m],
								!strcmp(points[p], "disk-uring") };
					char spec[64];

					if (!case_applies(points[p], actions[a], modes[m]))
						continue;
					snprintf(spec, sizeof(spec), "%s:%s", points[p], actions[a]);
					c.fault = spec;
					run_case(&c, row, sizeof(row));
					off += snprintf(table + off, sizeof(table) - off, "%s", row);
				}
		for (m = 0; m < 2 && have_module; m++) {	/* the stash modes: every allocation */
			if (only_mode && strcmp(modes[m], only_mode))
				continue;
			struct fault_case c = { "none", modes[m], false };
			char spec[64];

			run_case(&c, row, sizeof(row));
			off += snprintf(table + off, sizeof(table) - off, "%s", row);
			for (i = 1; i <= module_allocs[m]; i++) {
				snprintf(spec, sizeof(spec), MODULE_ALLOC "%u", i);
				c.fault = spec;
				run_case(&c, row, sizeof(row));
				off += snprintf(table + off, sizeof(table) - off, "%s", row);
			}
		}
	}
	snprintf(table + off, sizeof(table) - off, RULE);

	snprintf(out, sizeof(out), "%s/upgrade-faults.rst.inc", test_tmpdir());
	f = fopen(out, "w");
	TEST_ASSERT(f && fputs(table, f) >= 0 && !fclose(f), "write %s", out);
	if (long_run())
		printf("%s", table);
	else
		compare_table(table, committed, out);
	printf("ok: every fault left the guest running or nothing at all\n");
	test_cleanup();
	return 0;
}
