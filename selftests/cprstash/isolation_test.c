// SPDX-License-Identifier: GPL-2.0
/*
 * isolation_test: a stash is its owner's alone.  Anybody else holding an fd
 * on it - a forked child, a process of another uid - finds nothing there
 * (ENOENT on every command, read and seek), an unrelated process gets its own
 * empty stash, and the device node keeps other users out.  The owner itself,
 * once it has switched to another effective uid, may not open it (EPERM).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_cmds.h"
#include "stash_util.h"

#define FILE_NAME	"owner-file"
#define REC_NAME	"owner-rec"
#define NOBODY		65534

/*
 * The forked child: every command, with an argument that would be valid for
 * the owner, and every way of reading fails with ENOENT.
 */
static int child_finds_nothing(void *arg)
{
	int stash = *(int *)arg;
	struct cprstash_entry entries[4];
	struct stash_cmd_ctx ctx = {
		.fd = STDERR_FILENO,
		.new_name = "child-entry",
		.file = FILE_NAME,
		.entries = entries,
		.nr = ARRAY_SIZE(entries),
	};
	const struct stash_cmd *c;
	union stash_arg a;
	char buf[16];

	for (c = stash_cmds; c->name; c++) {
		stash_cmd_valid(c, &a, &ctx);
		TEST_ASSERT_ERRNO(ENOENT, __stash_ioctl(stash, c->cmd, &a),
				  c->name);
	}
	TEST_ASSERT_ERRNO(ENOENT, pread(stash, buf, sizeof(buf), 0) < 0 ?
			  errno : 0, "pread");
	TEST_ASSERT_ERRNO(ENOENT, read(stash, buf, sizeof(buf)) < 0 ?
			  errno : 0, "read");
	/* Seeking would tell the record size and move the owner's position. */
	TEST_ASSERT_ERRNO(ENOENT, lseek(stash, 0, SEEK_END) < 0 ? errno : 0,
			  "lseek(SEEK_END)");
	TEST_ASSERT_ERRNO(ENOENT, lseek(stash, 3, SEEK_SET) < 0 ? errno : 0,
			  "lseek(SEEK_SET)");
	return 0;
}

/* Only the uid changes: a fresh process would prove nothing about uids. */
static void become_nobody(void)
{
	TEST_ASSERT(!setresgid(NOBODY, NOBODY, NOBODY), "setresgid");
	TEST_ASSERT(!setresuid(NOBODY, NOBODY, NOBODY), "setresuid");
}

static int other_uid_is_kept_out(void *arg)
{
	int stash = *(int *)arg;

	become_nobody();
	TEST_ASSERT_ERRNO(EACCES, __stash_open(O_CLOEXEC) < 0 ? errno : 0,
			  "open(" CPRSTASH_DEVICE ") as uid 65534");
	struct cprstash_list info;

	TEST_ASSERT_ERRNO(ENOENT, __stash_info(stash, &info),
			  "LIST through the inherited fd as uid 65534");
	return 0;
}

FIXTURE(isolation) {
	int stash;
	struct stash_snapshot before;
};

FIXTURE_VARIANT(isolation) {
	bool sealed;
};

FIXTURE_VARIANT_ADD(isolation, open) {
	.sealed = false,
};

FIXTURE_VARIANT_ADD(isolation, sealed) {
	.sealed = true,
};

/* A stash with a file and a record, so there is something to leak. */
FIXTURE_SETUP(isolation)
{
	REQUIRE_STASH();
	self->stash = stash_open();
	stash_preserve_memfd(self->stash, FILE_NAME, 4096, 7);
	stash_put(self->stash, REC_NAME, "secret", 6);
	if (variant->sealed)
		stash_seal(self->stash, 0);
	stash_snapshot(self->stash, &self->before);
}

/* Whatever the others tried, the owner's stash is as it was. */
FIXTURE_TEARDOWN(isolation)
{
	struct stash_snapshot after;

	stash_snapshot(self->stash, &after);
	EXPECT_TRUE(stash_snapshot_equal(&self->before, &after))
		TH_LOG("another process changed the owner's stash");
}

TEST_F(isolation, forked_child_gets_enoent_for_everything)
{
	ASSERT_EQ(0, run_child(child_finds_nothing, &self->stash));
	/* The file position is shared with the child: it must not have moved. */
	EXPECT_EQ(0, lseek(self->stash, 0, SEEK_CUR));
}

static int stranger_post_exec(int argc, char **argv)
{
	int stash = stash_open();

	(void)argc;
	(void)argv;
	stash_assert_fresh(stash, "a new process's stash");
	TEST_ASSERT_ERRNO(ENOENT, __stash_retrieve(stash, FILE_NAME, 0, NULL,
						   NULL),
			  "RETRIEVE_FD of the other process's file");
	return 0;
}

static int exec_stranger(void *arg)
{
	(void)arg;
	exec_stage("stranger", NULL);
	TEST_ASSERT(0, "exec of /proc/self/exe");
	return 1;
}

TEST_F(isolation, unrelated_process_gets_its_own_empty_stash)
{
	ASSERT_EQ(0, run_child(exec_stranger, NULL));
}

TEST_F(isolation, other_uid_is_kept_out)
{
	struct stat st;

	TEST_REQUIRE(!geteuid(), "needs root to switch uids");
	ASSERT_EQ(0, stat(CPRSTASH_DEVICE, &st));
	ASSERT_EQ(0600, st.st_mode & 07777);
	ASSERT_EQ(0, run_child(other_uid_is_kept_out, &self->stash));
}

/*
 * The node is 0600, so an open() as another uid stops at the VFS with
 * EACCES before the module sees it.  To reach the module's own check, open a
 * private node of the same device that the other uid may open.
 */
static char *make_open_node(void)
{
	static char dir[] = "/tmp/cprstash-node.XXXXXX";
	static char node[sizeof(dir) + 16];
	struct stat st;

	TEST_ASSERT(!stat(CPRSTASH_DEVICE, &st), "stat(%s)", CPRSTASH_DEVICE);
	TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	TEST_ASSERT(!chmod(dir, 0755), "chmod");
	snprintf(node, sizeof(node), "%s/cprstash", dir);
	if (mknod(node, S_IFCHR | 0666, st.st_rdev) || chmod(node, 0666)) {
		rmdir(dir);
		return NULL;
	}
	return node;
}

static void remove_node(const char *node)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "%s", node);
	unlink(node);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

TEST_F(isolation, owner_under_another_euid_gets_eperm)
{
	char *node;
	int fd, err;

	TEST_REQUIRE(!geteuid(), "needs root to switch uids");
	node = make_open_node();
	TEST_REQUIRE(node, "cannot make a device node in /tmp");

	ASSERT_EQ(0, seteuid(NOBODY));
	fd = open(node, O_RDWR | O_CLOEXEC);
	err = fd < 0 ? errno : 0;
	/* The stash is not the caller's while it wears another uid. */
	EXPECT_EQ(ENOENT, __stash_info(self->stash,
				       &(struct cprstash_list){}));
	EXPECT_EQ(EACCES, __stash_open(O_CLOEXEC) < 0 ? errno : 0);
	ASSERT_EQ(0, seteuid(0));
	remove_node(node);

	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EPERM, err) TH_LOG("open as euid %d: %s", NOBODY,
				     errno_name(err));
	/* Back under its own uid, the owner has its stash again. */
	EXPECT_EQ(0, __stash_info(self->stash, &(struct cprstash_list){}));
}

static const struct stage stages[] = {
	{ "stranger", stranger_post_exec },
	{ NULL, NULL },
};

STAGE_HARNESS_MAIN(stages)
