// SPDX-License-Identifier: GPL-2.0
/*
 * cleanup_test: a stash never outlives its purpose, and when it goes it lets
 * go of every file it held.
 *
 * The probe: the write end of a pipe is preserved and every other copy of it
 * closed, so the read end reports EOF exactly when the stash releases its
 * reference.  Each way a stash ends is tried: its owner exits (sealed or
 * not), its deadline passes, its last fd closes, FINISH.  Waits are bounded
 * by LIVENESS_MS as a liveness guard, never as a timing assertion.
 *
 * The "hold" stage keeps a sealed stash for module_test.sh, which checks
 * that the module cannot be unloaded under it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define PROBE		"probe"
#define SHORT_DEADLINE	300
/* Never reached in a test: only the event under test may end the stash. */
#define LONG_DEADLINE	300000

FIXTURE(cleanup) {
	int probe[2];	/* [1] goes into the stash, [0] watches for EOF */
	int ready[2];	/* owner -> test: "the stash is set up" */
	int go[2];	/* test -> owner: "carry on" */
	int hold[2];	/* test -> non-owner holding the stash fd: "go" */
	pid_t owner;
	bool keep_fd;	/* the owner keeps its stash fd open */
};

FIXTURE_SETUP(cleanup)
{
	REQUIRE_STASH();
	REQUIRE_DEBUGFS();
	pipe_cloexec(self->probe);
	pipe_cloexec(self->ready);
	pipe_cloexec(self->go);
}

FIXTURE_TEARDOWN(cleanup)
{
}

/* Put the probe into @stash and drop every other reference to it. */
static void preserve_probe(int stash, int probe[2], const char *name)
{
	stash_preserve(stash, probe[1], name);
	close(probe[1]);
}

/* The owner's side of the ready/go handshake. */
static void owner_ready_then_wait(FIXTURE_DATA(cleanup) *self)
{
	write_byte(self->ready[1], 'r');
	TEST_ASSERT(read_byte(self->go[0], LIVENESS_MS) == 'g',
		    "the test never said go");
}

/* Fork the owner; keep only the test's ends of the pipes. */
static void start_owner(FIXTURE_DATA(cleanup) *self, int (*fn)(void *))
{
	self->owner = fork_child(fn, self);
	close(self->probe[1]);
	close(self->ready[1]);
	close(self->go[0]);
}

/* In the owner: its stash, holding the probe, which it no longer watches. */
static int owner_stash(FIXTURE_DATA(cleanup) *self)
{
	int stash = stash_open();

	close(self->probe[0]);
	preserve_probe(stash, self->probe, PROBE);
	return stash;
}

static int owner_seals_and_exits(void *arg)
{
	FIXTURE_DATA(cleanup) *self = arg;
	int stash = owner_stash(self);

	stash_seal(stash, LONG_DEADLINE);
	close(stash);
	owner_ready_then_wait(self);
	return 0;
}

TEST_F(cleanup, owner_exit_destroys_sealed_stash)
{
	struct stash_dbg dbg;

	start_owner(self, owner_seals_and_exits);
	ASSERT_EQ('r', read_byte(self->ready[0], LIVENESS_MS));

	/* Sealed and without any fd, the stash still holds the probe. */
	ASSERT_FALSE(is_eof_now(self->probe[0]));
	ASSERT_EQ(1, stash_debugfs_find(self->owner, &dbg));
	EXPECT_STREQ("sealed", dbg.state);
	EXPECT_EQ(1, dbg.files);

	/* Exited is enough: a zombie nobody reaps owns nothing. */
	write_byte(self->go[1], 'g');
	wait_exited_unreaped(self->owner);
	EXPECT_TRUE(wait_eof(self->probe[0], LIVENESS_MS))
		TH_LOG("the probe was not released after the owner exited");
	EXPECT_TRUE(stash_debugfs_wait_gone(self->owner, LIVENESS_MS));
	ASSERT_EQ(0, wait_child(self->owner));
}

/* Holds the stash fd it inherited until the test closes hold[1]. */
static int hold_stash_fd(void *arg)
{
	FIXTURE_DATA(cleanup) *self = arg;

	close(self->hold[1]);
	wait_eof(self->hold[0], LIVENESS_MS);
	return 0;
}

static int owner_exits_leaving_fd_behind(void *arg)
{
	FIXTURE_DATA(cleanup) *self = arg;
	int stash = owner_stash(self);

	fork_child(hold_stash_fd, self);
	close(stash);
	owner_ready_then_wait(self);
	return 0;
}

TEST_F(cleanup, owner_exit_destroys_open_stash_with_fds_left)
{
	pipe_cloexec(self->hold);
	start_owner(self, owner_exits_leaving_fd_behind);
	close(self->hold[0]);
	ASSERT_EQ('r', read_byte(self->ready[0], LIVENESS_MS));
	ASSERT_FALSE(is_eof_now(self->probe[0]));

	write_byte(self->go[1], 'g');
	wait_exited_unreaped(self->owner);
	/* Another process still has the stash fd open, but it is not owner. */
	EXPECT_TRUE(wait_eof(self->probe[0], LIVENESS_MS))
		TH_LOG("an fd held elsewhere kept the exited owner's stash");
	EXPECT_TRUE(stash_debugfs_wait_gone(self->owner, LIVENESS_MS));
	close(self->hold[1]);
	ASSERT_EQ(0, wait_child(self->owner));
}

TEST_F(cleanup, last_close_destroys_open_stash)
{
	int stash = stash_open();
	int dup_fd;

	preserve_probe(stash, self->probe, PROBE);
	dup_fd = dup(stash);
	ASSERT_GE(dup_fd, 0);

	/* Not the last fd: the stash and its probe stay. */
	close(stash);
	EXPECT_FALSE(is_eof_now(self->probe[0]));
	EXPECT_EQ(1, stash_info(dup_fd).nr_entries);

	close(dup_fd);
	EXPECT_TRUE(wait_eof(self->probe[0], LIVENESS_MS))
		TH_LOG("the probe was not released at the last close");
	EXPECT_TRUE(stash_debugfs_wait_gone(getpid(), LIVENESS_MS));
}

TEST_F(cleanup, finish_releases_files_not_retrieved)
{
	int stash = stash_open();
	int kept[2], retrieved;

	pipe_cloexec(kept);
	preserve_probe(stash, self->probe, PROBE);
	preserve_probe(stash, kept, "retrieved");
	retrieved = stash_retrieve(stash, "retrieved", 0, NULL);

	stash_finish(stash);
	EXPECT_TRUE(wait_eof(self->probe[0], LIVENESS_MS))
		TH_LOG("FINISH did not release a file nobody retrieved");
	/* The retrieved one lives on in its new fd, and only there. */
	EXPECT_FALSE(is_eof_now(kept[0]));
	close(retrieved);
	EXPECT_TRUE(wait_eof(kept[0], LIVENESS_MS));
	EXPECT_EQ(0, stash_info(stash).nr_entries);
}

static int owner_outlived_by_deadline(void *arg)
{
	FIXTURE_DATA(cleanup) *self = arg;
	bool keep_fd = self->keep_fd;
	int stash = owner_stash(self);
	struct cprstash_list info;

	stash_seal(stash, SHORT_DEADLINE);
	if (!keep_fd)
		close(stash);
	owner_ready_then_wait(self);

	/* The owner lives on; its stash did not. */
	if (keep_fd)
		TEST_ASSERT_ERRNO(ENOENT, __stash_info(stash, &info),
				  "LIST on the fd of an expired stash");
	stash = stash_open();
	info = stash_info(stash);
	TEST_ASSERT(info.state == CPRSTASH_STATE_OPEN && !info.nr_entries,
		    "open after expiry: state %u, %u entries", info.state,
		    info.nr_entries);
	return 0;
}

static void check_expiry(struct __test_metadata *_metadata,
			 FIXTURE_DATA(cleanup) *self, bool keep_fd)
{
	self->keep_fd = keep_fd;
	start_owner(self, owner_outlived_by_deadline);
	ASSERT_EQ('r', read_byte(self->ready[0], LIVENESS_MS));

	EXPECT_TRUE(wait_eof(self->probe[0], LIVENESS_MS))
		TH_LOG("the probe was not released after the deadline");
	EXPECT_TRUE(stash_debugfs_wait_gone(self->owner, LIVENESS_MS));
	write_byte(self->go[1], 'g');
	ASSERT_EQ(0, wait_child(self->owner));
}

TEST_F(cleanup, deadline_destroys_stash_with_all_fds_closed)
{
	check_expiry(_metadata, self, false);
}

TEST_F(cleanup, deadline_destroys_stash_with_its_fd_open)
{
	check_expiry(_metadata, self, true);
}

/*
 * For module_test.sh: seal a stash holding an eventfd, say "sealed", and on
 * a line from stdin finish it, say "finished", then exit at stdin's EOF.
 */
static int hold_sealed_stash(int argc, char **argv)
{
	int stash = stash_open();
	int efd = eventfd(0, EFD_CLOEXEC);

	(void)argc;
	(void)argv;
	stash_preserve(stash, efd, "held");
	stash_seal(stash, LONG_DEADLINE);
	close(stash);
	printf("sealed\n");
	fflush(stdout);

	TEST_ASSERT(read_byte(STDIN_FILENO, 10 * LIVENESS_MS) > 0,
		    "no word from module_test.sh");
	stash = stash_open();
	stash_finish(stash);
	close(stash);
	printf("finished\n");
	fflush(stdout);

	while (read_byte(STDIN_FILENO, 10 * LIVENESS_MS) > 0)
		;
	return 0;
}

static const struct stage stages[] = {
	{ "hold", hold_sealed_stash },
	{ NULL, NULL },
};

STAGE_HARNESS_MAIN(stages)
