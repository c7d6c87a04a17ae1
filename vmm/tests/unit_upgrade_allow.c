// SPDX-License-Identifier: GPL-2.0
/*
 * What a live upgrade may exec (upgrade/allow.c), on files made here, no
 * KVM needed: the VMM's own binary; a file named exactly, also through a
 * symlink in the allowance; a trusted file directly in an allowed
 * directory, by any path that resolves there ("..", a symlink pointing in),
 * and a missing one (exec reports it later); refused: a relative path,
 * anything elsewhere, a symlink in the directory pointing out, a file in a
 * subdirectory, a group or world writable file or directory, one owned by
 * someone else (as root only), a FIFO.  An allowed path comes back
 * canonical: that is what gets exec'd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/upgrade.h"

static char top[PATH_MAX / 2];
static struct upgrade_allow allow;

static const char *at(const char *rel)
{
	static char bufs[4][PATH_MAX];
	static unsigned int n;
	char *p = bufs[n++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", top, rel);
	return p;
}

static void make_file(const char *rel, mode_t mode)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	TEST_ASSERT(fd >= 0, "create %s: %s", at(rel), strerror(errno));
	TEST_ASSERT(write(fd, "#!/bin/sh\n", 10) == 10, "write");
	close(fd);
	TEST_ASSERT(chmod(at(rel), mode) == 0, "chmod %s", at(rel));
}

static void make_dir(const char *rel, mode_t mode)
{
	TEST_ASSERT(mkdir(at(rel), 0700) == 0 && chmod(at(rel), mode) == 0, "mkdir %s: %s",
		    at(rel), strerror(errno));
}

static void make_link(const char *rel, const char *target)
{
	TEST_ASSERT(symlink(target, at(rel)) == 0, "symlink %s: %s", at(rel), strerror(errno));
}

/* @binary is allowed, and exec'd as @want (relative to top). */
static void expect_allowed(const char *binary, const char *want)
{
	char canon[PATH_MAX], err[600] = "";
	int ret = upgrade__allowed(&allow, binary, canon, err, sizeof(err));

	TEST_ASSERT(ret == 0, "%s refused: %s", binary, err);
	TEST_ASSERT(!strcmp(canon, at(want)), "%s: would exec %s, expected %s", binary, canon,
		    at(want));
	printf("ok: allowed: %s -> %s\n", binary, canon);
}

static void expect_refused(const char *binary, const char *why)
{
	char canon[PATH_MAX], err[600] = "";
	int ret = upgrade__allowed(&allow, binary, canon, err, sizeof(err));

	TEST_ASSERT(ret < 0, "%s allowed (as %s)", binary, canon);
	TEST_ASSERT(strstr(err, why), "%s: expected \"%s\" in: %s", binary, why, err);
	TEST_ASSERT(!strchr(err, '\n'), "not one line: %s", err);
	printf("ok: refused: %s: %s\n", binary, err);
}

int main(void)
{
	static char self[PATH_MAX], dir[PATH_MAX], link[PATH_MAX], open_dir[PATH_MAX];
	const char *paths[4];
	char at_buf[PATH_MAX];

	TEST_ASSERT(realpath(test_tmpdir(), at_buf) && strlen(at_buf) < sizeof(top), "realpath %s",
		    test_tmpdir());
	strcpy(top, at_buf);
	umask(022);
	make_dir("self", 0755);
	make_file("self/vmm", 0755);
	make_dir("allowed", 0755);
	make_dir("allowed/sub", 0755);
	make_file("allowed/vmm", 0755);
	make_file("allowed/sub/vmm", 0755);
	make_file("allowed/group-writable", 0775);
	make_file("allowed/world-writable", 0757);
	TEST_ASSERT(mkfifo(at("allowed/fifo"), 0600) == 0, "mkfifo");
	make_dir("other", 0755);
	make_file("other/vmm", 0755);
	make_file("other/exact", 0755);
	make_dir("open-dir", 0775);
	make_file("open-dir/vmm", 0755);
	make_link("allowed/points-out", at("other/vmm"));
	make_link("allowed/points-in", "vmm");
	make_link("other/points-in", at("allowed/vmm"));
	make_link("exact-link", at("other/exact"));

	/* Nothing listed: only the VMM's own binary. */
	strcpy(self, at("self/vmm"));
	allow.self = self;
	expect_allowed(at("self/vmm"), "self/vmm");
	expect_allowed(at("self/../self/vmm"), "self/vmm");
	expect_refused(at("allowed/vmm"), "is not allowed");
	expect_refused(at("allowed/vmm"), "(none here)");
	expect_refused("self/vmm", "absolute path");

	/* at() returns one of a few rotating buffers: keep copies. */
	paths[0] = strcpy(dir, at("allowed/"));		/* a directory */
	paths[1] = strcpy(link, at("exact-link"));	/* a file, through a symlink */
	paths[2] = strcpy(open_dir, at("open-dir"));
	paths[3] = "/nonexistent/vmm-allow";	/* allows nothing */
	allow.paths = paths;
	allow.nr_paths = 4;

	expect_allowed(at("self/vmm"), "self/vmm");
	expect_allowed(at("allowed/vmm"), "allowed/vmm");
	expect_allowed(at("other/../allowed/vmm"), "allowed/vmm");
	expect_allowed(at("allowed/points-in"), "allowed/vmm");
	expect_allowed(at("other/points-in"), "allowed/vmm");
	expect_allowed(at("allowed/not-there-yet"), "allowed/not-there-yet");
	expect_allowed(at("other/exact"), "other/exact");
	expect_allowed(at("exact-link"), "other/exact");

	expect_refused(at("other/vmm"), "is not allowed");
	expect_refused(at("allowed/../other/vmm"), "is not allowed");
	expect_refused(at("allowed/points-out"), "-> ");
	expect_refused(at("allowed/sub/vmm"), "is not allowed");
	expect_refused(at("allowed/sub"), "not a regular file");
	expect_refused(at("allowed/fifo"), "not a regular file");
	expect_refused(at("allowed/group-writable"), "group or world writable");
	expect_refused(at("allowed/world-writable"), "group or world writable");
	expect_refused(at("open-dir/vmm"), "the directory is group or world writable");
	expect_refused(at("nowhere/vmm"), "cannot resolve");
	expect_refused("/nonexistent/vmm-allow", "cannot resolve");

	if (geteuid() == 0) {
		TEST_ASSERT(chown(at("allowed/vmm"), 4242, -1) == 0, "chown");
		expect_refused(at("allowed/vmm"), "owned by neither root nor the VMM's user");
		TEST_ASSERT(chown(at("allowed"), 4242, -1) == 0, "chown");
		TEST_ASSERT(chown(at("allowed/vmm"), 0, -1) == 0, "chown");
		expect_refused(at("allowed/vmm"), "the directory is owned by neither");
	} else {
		printf("# not root: cannot make files owned by someone else\n");
	}
	test_cleanup();
	return 0;
}
