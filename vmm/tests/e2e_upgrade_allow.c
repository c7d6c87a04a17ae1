// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket is not an exec primitive (Documentation/security.rst,
 * "The control socket"), end to end on the built-in guest:
 *
 *   started under umask 000, the VMM's socket is 0600;
 *   with all 8 connection slots held by idle clients, an upgrade request
 *   still gets in (the idlest client is closed, told why);
 *   an upgrade to a copy of the VMM outside the allowance, to a symlink in
 *   the allowed directory that points out of it, and to a group-writable
 *   copy in it, is refused at stage "request": nothing paused, the guest
 *   runs on;
 *   a copy in the --upgrade-allow directory is accepted, and the new image
 *   keeps the allowance (it parses the same recorded command line): it
 *   refuses the outside copy too, upgrades to itself by default, and back
 *   to the original binary, allowed by exact path;
 *   clients held across those upgrades still work; with every slot held
 *   again, a new connection's "quit" is served.
 *
 * usage: e2e_upgrade_allow VMM
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define NR_IDLE		7	/* with ctl_fd: every slot */

static const char *vmm;
static char sock[300];
static int ctl_fd;

static void copy_file(const char *from, const char *to, mode_t mode)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	ssize_t n;

	TEST_ASSERT(in >= 0 && out >= 0, "copy %s to %s: %s", from, to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		TEST_ASSERT(write(out, buf, n) == n, "write %s: %s", to, strerror(errno));
	TEST_ASSERT(n == 0, "read %s: %s", from, strerror(errno));
	close(in);
	close(out);
	TEST_ASSERT(chmod(to, mode) == 0, "chmod %s", to);
}

/* The guest runs on, on the same VMM process. */
static void check_guest_runs_on(const char *what)
{
	unsigned long long c[1], now[1];

	test_read_counters(ctl_fd, 1, c, "running", test_vmm_pid);
	test_wait_counters_above(ctl_fd, 1, c, now, test_vmm_pid);
	printf("ok: %s: the guest runs on (counter %llu)\n", what, now[0]);
}

static void expect_refused(const char *what, const char *binary, const char *why)
{
	struct json_object *rep, *rb;
	char *line;
	int status;

	status = test_live_upgrade(vmm, sock, NULL, binary, NULL, &line, &rep);
	TEST_ASSERT(status == 1 && rep && !test_ok(rep), "%s: --live-upgrade exit %d: %s", what,
		    status, line);
	TEST_ASSERT(!strcmp(test_str(rep, "stage"), "request"), "%s: stage %s, expected request",
		    what, test_str(rep, "stage"));
	TEST_ASSERT(strstr(test_str(rep, "error"), why), "%s: expected \"%s\" in: %s", what, why,
		    test_str(rep, "error"));
	TEST_ASSERT(json_object_object_get_ex(rep, "rolled_back", &rb) &&
		    !json_object_get_boolean(rb), "%s: the guest was paused: %s", what,
		    json_object_to_json_string(rep));
	printf("ok: %s refused: %s\n", what, test_str(rep, "error"));
	free(line);
	json_object_put(rep);
	check_guest_runs_on(what);
}

/* An upgrade to @binary (NULL: the default) that must work; it runs @want. */
static void expect_upgrade(const char *what, const char *binary, const char *want)
{
	struct json_object *rep;
	char exe[64], target[PATH_MAX];
	char *line;
	ssize_t n;
	int status;

	status = test_live_upgrade(vmm, sock, NULL, binary, NULL, &line, &rep);
	TEST_ASSERT(status == 0 && rep && test_ok(rep), "%s: --live-upgrade exit %d: %s", what,
		    status, line);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)test_vmm_pid);
	n = readlink(exe, target, sizeof(target) - 1);
	TEST_ASSERT(n > 0, "readlink %s: %s", exe, strerror(errno));
	target[n] = '\0';
	TEST_ASSERT(!strcmp(target, want), "%s: the VMM runs %s, expected %s", what, target, want);
	printf("ok: %s: %s\n", what, line);
	free(line);
	json_object_put(rep);
	check_guest_runs_on(what);
}

/* @fd's next line: the VMM closed it to make room, and said why. */
static void expect_evicted(int fd, const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[512];
	ssize_t n;

	TEST_ASSERT(poll(&pfd, 1, 60000) == 1, "%s: the idlest client was not closed", what);
	n = read(fd, buf, sizeof(buf) - 1);
	TEST_ASSERT(n > 0, "%s: the idlest client was closed without a word", what);
	buf[n] = '\0';
	TEST_ASSERT(strstr(buf, "idle the longest"), "%s: the idlest client got: %s", what, buf);
	printf("ok: %s: the idlest client was closed: %s", what, buf);
}

static void status_ok(int fd, const char *what)
{
	struct json_object *r = test_request(fd, "status");

	TEST_ASSERT(test_ok(r), "%s: %s", what, json_object_to_json_string(r));
	json_object_put(r);
}

/* --control-group: the socket is 0660 and the group's. */
static void check_control_group(const char *log)
{
	struct group *gr = getgrgid(getegid());
	char num[32], *group = num;
	struct stat st;
	mode_t old;

	snprintf(num, sizeof(num), "%u", (unsigned int)getegid());
	if (gr)
		group = gr->gr_name;
	char *vmm_argv[] = { (char *)vmm, "--guest", "builtin", "--mem", "64M",
			     "--control", sock, "--control-group", group, NULL };
	old = umask(0);
	test_spawn_vmm(vmm_argv, NULL, log);
	umask(old);
	ctl_fd = test_connect(sock);
	TEST_ASSERT(stat(sock, &st) == 0 && (st.st_mode & 07777) == 0660 &&
		    st.st_gid == getegid(), "--control-group %s: mode %o group %u", group,
		    st.st_mode & 07777, (unsigned int)st.st_gid);
	printf("ok: --control-group %s: the control socket is 0660, group %u\n", group,
	       (unsigned int)st.st_gid);
	test_quit_vmm(ctl_fd, log);
}

int main(int argc, char **argv)
{
	char allowed[300], other[300], inside[300], outside[300], link[300], writable[300];
	char log[300], self[PATH_MAX];
	unsigned long long zero[1] = { 0 }, now[1];
	int idle[NR_IDLE], last, status;
	struct json_object *r;
	struct stat st;
	mode_t old;
	unsigned int i;

	TEST_ASSERT(argc == 2, "usage: %s VMM", argv[0]);
	vmm = argv[1];
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	TEST_ASSERT(realpath(vmm, self), "realpath %s", vmm);

	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());
	snprintf(log, sizeof(log), "%s/vmm.err", test_tmpdir());
	snprintf(allowed, sizeof(allowed), "%s/allowed", test_tmpdir());
	snprintf(other, sizeof(other), "%s/other", test_tmpdir());
	snprintf(inside, sizeof(inside), "%s/allowed/vmm-copy", test_tmpdir());
	snprintf(outside, sizeof(outside), "%s/other/vmm-copy", test_tmpdir());
	snprintf(link, sizeof(link), "%s/allowed/points-out", test_tmpdir());
	snprintf(writable, sizeof(writable), "%s/allowed/group-writable", test_tmpdir());
	TEST_ASSERT(mkdir(allowed, 0755) == 0 && mkdir(other, 0755) == 0, "mkdir");
	TEST_ASSERT(chmod(allowed, 0755) == 0, "chmod %s", allowed);
	copy_file(vmm, inside, 0755);
	copy_file(vmm, outside, 0755);
	copy_file(vmm, writable, 0775);
	TEST_ASSERT(symlink(outside, link) == 0, "symlink %s", link);

	/* The socket is the VMM user's only, whatever the umask. */
	char *vmm_argv[] = { (char *)vmm, "--guest", "builtin", "--mem", "128M",
			     "--control", sock, "--report-ms", "5",
			     "--upgrade-allow", allowed, "--upgrade-allow", self, NULL };
	old = umask(0);
	test_spawn_vmm(vmm_argv, NULL, log);
	umask(old);
	ctl_fd = test_connect(sock);
	TEST_ASSERT(stat(sock, &st) == 0 && (st.st_mode & 07777) == 0600,
		    "umask 000: the socket is mode %o, expected 600", st.st_mode & 07777);
	printf("ok: umask 000: the control socket is 0600\n");
	test_wait_counters_above(ctl_fd, 1, zero, now, test_vmm_pid);

	/* Every slot held: ctl_fd and seven idle clients, ctl_fd used last. */
	for (i = 0; i < NR_IDLE; i++) {
		idle[i] = test_connect(sock);
		status_ok(idle[i], "an idle client");
	}
	status_ok(ctl_fd, "ctl_fd");

	/* Refused before anything is paused; the requests still got in. */
	expect_refused("a copy of the VMM outside the allowance", outside, "is not allowed");
	expect_evicted(idle[0], "every slot held, an upgrade request");
	expect_refused("a symlink in the allowed directory pointing out", link, "-> ");
	expect_refused("a group-writable copy in the allowed directory", writable,
		       "group or world writable");

	/* Allowed, and the new image keeps the allowance. */
	expect_upgrade("a copy in the allowed directory", inside, inside);
	expect_refused("after an upgrade, the copy outside", outside, "is not allowed");
	expect_upgrade("after an upgrade, the default binary", NULL, inside);
	expect_upgrade("back to the original binary, allowed exactly", self, self);

	/* The idle clients came along through every exec. */
	for (i = 1; i < NR_IDLE; i++)
		status_ok(idle[i], "an idle client after the upgrades");
	printf("ok: %d idle clients kept their connections through 3 upgrades\n", NR_IDLE - 1);

	/* Every slot held again; a new connection's "quit" is served. */
	idle[0] = test_connect(sock);
	status_ok(idle[0], "an idle client");
	last = test_connect(sock);
	r = test_request(last, "quit");
	TEST_ASSERT(test_ok(r), "quit with every slot held: %s", json_object_to_json_string(r));
	json_object_put(r);
	status = test_wait(test_vmm_pid);
	test_vmm_pid = 0;
	TEST_ASSERT(status == 0, "the VMM exited %d after quit (log %s)", status, log);
	printf("ok: every slot held, a new client's quit was served\n");
	for (i = 0; i < NR_IDLE; i++)
		close(idle[i]);
	close(last);
	close(ctl_fd);

	check_control_group(log);
	test_cleanup();
	return 0;
}
