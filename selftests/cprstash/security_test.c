// SPDX-License-Identifier: GPL-2.0
/*
 * security_test: a stash never crosses a privilege boundary, and the files
 * it hands out pass the kernel's own fd-receive checks.
 *
 * Credentials: an image exec'd from a setgid binary, from a binary with
 * file capabilities, or from a setuid-root binary run by another user,
 * finds no stash of the image before it: the old stash is destroyed at the
 * exec (a pipe it held is released before the new image touches anything,
 * not at the deadline), its fd inherited across the exec finds nothing
 * (ENOENT) and open() gives a new, empty stash.  Documentation/security.rst.
 *
 * Receive hooks: RETRIEVE_FD goes through security_file_receive(), as
 * SCM_RIGHTS and pidfd_getfd() do; a kprobe's hit count shows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/capability.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define NOBODY		65534
#define PRIV_GID	4242
#define CANARY		"canary"
#define SECRET		"secret"
/* Far beyond an exec under TCG; the test never waits for it. */
#define DEADLINE_MS	120000

/* How the privileged image comes about. */
struct priv_case {
	mode_t mode;		/* of the binary exec'd, owned by root */
	gid_t gid;		/* its group */
	bool file_caps;		/* cap_net_admin+ep */
	bool as_nobody;		/* the pre-exec image drops to uid 65534 */
};

/* Where the copy of ourselves and a device node anyone may open live. */
struct priv_dir {
	char dir[64];
	char bin[80];
	char node[80];
};

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	ssize_t n = 0;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		n = -1;
	return in < 0 || out < 0 || n < 0 ? -1 : 0;
}

/* cap_net_admin+ep, as setcap(8) writes it (revision 2, no rootid). */
static int set_file_caps(const char *path)
{
	struct vfs_cap_data caps = {
		.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
	};

	caps.data[0].permitted = 1u << CAP_NET_ADMIN;
	return setxattr(path, "security.capability", &caps, XATTR_CAPS_SZ_2, 0);
}

/* 0, or a SKIP reason in @why. */
static int make_priv_dir(struct priv_dir *d, const struct priv_case *c,
			 const char **why)
{
	struct stat st;

	snprintf(d->dir, sizeof(d->dir), "/tmp/cprstash-priv.XXXXXX");
	TEST_ASSERT(mkdtemp(d->dir), "mkdtemp");
	TEST_ASSERT(!chmod(d->dir, 0755), "chmod");
	snprintf(d->bin, sizeof(d->bin), "%s/bin", d->dir);
	snprintf(d->node, sizeof(d->node), "%s/cprstash", d->dir);
	TEST_ASSERT(!copy_file("/proc/self/exe", d->bin, 0700), "copy self");
	TEST_ASSERT(!chown(d->bin, 0, c->gid), "chown");
	/* After chown, which clears the set-id bits. */
	TEST_ASSERT(!chmod(d->bin, c->mode), "chmod %o", c->mode);
	if (c->file_caps && set_file_caps(d->bin)) {
		*why = "cannot set security.capability here";
		return -1;
	}
	TEST_ASSERT(!stat(CPRSTASH_DEVICE, &st), "stat");
	if (mknod(d->node, S_IFCHR | 0666, st.st_rdev) || chmod(d->node, 0666)) {
		*why = "cannot make a device node in /tmp";
		return -1;
	}
	return 0;
}

static void remove_priv_dir(struct priv_dir *d)
{
	unlink(d->bin);
	unlink(d->node);
	rmdir(d->dir);
}

struct pre_exec {
	const struct priv_case *c;
	const struct priv_dir *d;
};

/*
 * Fill a stash with a record and a pipe's write end (the canary: our
 * read end sees EOF once the stash releases it), seal it and exec the
 * privileged binary with the stash fd and the read end inherited.
 */
static int priv_pre_exec(void *arg)
{
	const struct pre_exec *p = arg;
	char stash_arg[16], canary_arg[16];
	int stash, canary[2];

	if (p->c->as_nobody) {
		TEST_ASSERT(!setgroups(0, NULL), "setgroups");
		TEST_ASSERT(!setresgid(NOBODY, NOBODY, NOBODY), "setresgid");
		TEST_ASSERT(!setresuid(NOBODY, NOBODY, NOBODY), "setresuid");
	}
	stash = open(p->d->node, O_RDWR);	/* inherited by the new image */
	TEST_ASSERT(stash >= 0, "open(%s): %s", p->d->node, errno_name(errno));
	pipe_cloexec(canary);
	stash_preserve(stash, canary[1], CANARY);
	close(canary[1]);
	fd_set_cloexec(canary[0], false);
	stash_put(stash, SECRET, "planted", 7);
	stash_seal(stash, DEADLINE_MS);

	snprintf(stash_arg, sizeof(stash_arg), "%d", stash);
	snprintf(canary_arg, sizeof(canary_arg), "%d", canary[0]);
	fflush(stdout);
	fflush(stderr);
	execl(p->d->bin, p->d->bin, "--stage", "privileged", stash_arg,
	      canary_arg, p->d->node, (char *)NULL);
	TEST_ASSERT(0, "exec %s: %s", p->d->bin, errno_name(errno));
	return 1;
}

static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	TEST_ASSERT(!syscall(SYS_capget, &hdr, data), "capget");
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* The privileged image: nothing of the old one reaches it. */
static int priv_post_exec(int argc, char **argv)
{
	int old = stage_arg_int(argc, argv, 0);
	int canary = stage_arg_int(argc, argv, 1);
	struct cprstash_list info;
	int stash;

	TEST_ASSERT(argc > 2, "device node argument missing");
	/* Else the kernel ignored the set-id bits or caps: no test. */
	TEST_ASSERT(geteuid() != getuid() || getegid() != getgid() ||
		    (getuid() && has_cap(CAP_NET_ADMIN)),
		    "the exec raised nothing: uid %d euid %d gid %d egid %d",
		    getuid(), geteuid(), getgid(), getegid());

	/* Destroyed at the exec: before this image has touched it. */
	TEST_ASSERT(wait_eof(canary, LIVENESS_MS),
		    "the old stash still holds its files after the exec");
	TEST_ASSERT_ERRNO(ENOENT, __stash_info(old, &info),
			  "LIST through the old stash's inherited fd");

	/* A stash of its own, empty. */
	stash = open(argv[2], O_RDWR | O_CLOEXEC);
	TEST_ASSERT(stash >= 0, "open(%s) after the exec: %s", argv[2],
		    errno_name(errno));
	stash_assert_fresh(stash, "the privileged image's stash");
	TEST_ASSERT_ERRNO(ENOENT, __stash_retrieve(stash, CANARY, 0, NULL,
						   NULL),
			  "RETRIEVE_FD of the old image's file");
	close(stash);
	return 0;
}

static void run_priv_case(struct __test_metadata *_metadata,
			  const struct priv_case *c)
{
	const char *why = NULL;
	struct priv_dir d;
	struct pre_exec p = { c, &d };
	int ret;

	if (stash_unavailable())
		SKIP(return, "%s", stash_unavailable());
	if (geteuid())
		SKIP(return, "needs root to make set-id binaries");
	if (make_priv_dir(&d, c, &why)) {
		remove_priv_dir(&d);
		SKIP(return, "%s", why);
	}
	ret = run_child(priv_pre_exec, &p);
	remove_priv_dir(&d);
	ASSERT_EQ(0, ret);
}

/* Same euid (root): only the egid changes. */
TEST(setgid_exec_gets_no_stash)
{
	static const struct priv_case c = {
		.mode = 02755, .gid = PRIV_GID,
	};

	run_priv_case(_metadata, &c);
}

/* Same uids and gids: only the capabilities change. */
TEST(file_caps_exec_gets_no_stash)
{
	static const struct priv_case c = {
		.mode = 0755, .file_caps = true, .as_nobody = true,
	};

	run_priv_case(_metadata, &c);
}

TEST(setuid_root_exec_gets_no_stash)
{
	static const struct priv_case c = {
		.mode = 04755, .as_nobody = true,
	};

	run_priv_case(_metadata, &c);
}

/* tracefs, mounted if need be; NULL if there is none. */
static const char *tracefs(void)
{
	static const char *const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/kprobe_events", dirs[i]);
		if (!access(path, W_OK))
			return dirs[i];
	}
	mount("tracefs", dirs[0], "tracefs", 0, NULL);
	snprintf(path, sizeof(path), "%s/kprobe_events", dirs[0]);
	return access(path, W_OK) ? NULL : dirs[0];
}

static int write_str(const char *dir, const char *file, const char *s)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return ret;
}

#define PROBE		"cprstash_test_file_receive"

/* Hits of our kprobe so far, from kprobe_profile. */
static long probe_hits(const char *dir)
{
	char path[128], line[256], name[128];
	long hits = -1, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/kprobe_profile", dir);
	f = fopen(path, "r");
	TEST_ASSERT(f, "fopen(%s)", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", name, &n) == 2 &&
		    !strcmp(name, PROBE))
			hits = n;
	fclose(f);
	TEST_ASSERT(hits >= 0, "%s not in %s", PROBE, path);
	return hits;
}

TEST(retrieve_goes_through_file_receive_hook)
{
	const char *dir;
	long before, after;
	int stash, fd;

	REQUIRE_STASH();
	dir = tracefs();
	TEST_REQUIRE(dir, "no tracefs with kprobe_events");
	write_str(dir, "kprobe_events", "-:cprstash_test/" PROBE "\n");
	TEST_REQUIRE(!write_str(dir, "kprobe_events",
				"p:cprstash_test/" PROBE " security_file_receive\n"),
		     "cannot place a kprobe on security_file_receive");
	ASSERT_EQ(0, write_str(dir, "events/cprstash_test/" PROBE "/enable",
			       "1"));

	stash = stash_open();
	stash_preserve_memfd(stash, "ram", 4096, 1);
	before = probe_hits(dir);
	fd = stash_retrieve(stash, "ram", 0, NULL);
	after = probe_hits(dir);
	EXPECT_TRUE(fd_cloexec(fd));
	close(fd);
	fd = stash_retrieve(stash, "ram", CPRSTASH_RETRIEVE_NO_CLOEXEC, NULL);
	EXPECT_FALSE(fd_cloexec(fd));
	close(fd);
	close(stash);

	write_str(dir, "events/cprstash_test/" PROBE "/enable", "0");
	write_str(dir, "kprobe_events", "-:cprstash_test/" PROBE "\n");
	EXPECT_LT(before, after)
		TH_LOG("RETRIEVE_FD did not call security_file_receive()");
}

static const struct stage stages[] = {
	{ "privileged", priv_post_exec },
	{ NULL, NULL },
};

STAGE_HARNESS_MAIN(stages)
