// SPDX-License-Identifier: GPL-2.0
/*
 * rollback_test: the exec fails, and the old image takes everything back.
 *
 * A VMM that sealed its stash and then could not exec the new binary must be
 * able to carry on as if nothing happened: UNSEAL returns the stash, open,
 * with every file and record as it was, and cancels the deadline (as FINISH
 * does, checked here too).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define RAM_SIZE	(64 * 1024)
#define RAM_SEED	3
#define REC_LEN		1000
#define REC_SEED	4
/* Far beyond any test: only UNSEAL may end the sealed state. */
#define DEADLINE_MS	120000
#define SHORT_DEADLINE	1000

FIXTURE(rollback) {
	int stash;
	struct stash_snapshot sealed;
};

/* Preserve a memfd and an eventfd, put a record, seal: ready for exec. */
FIXTURE_SETUP(rollback)
{
	char rec[REC_LEN];
	int efd;

	REQUIRE_STASH();
	self->stash = stash_open();
	stash_preserve_memfd(self->stash, "ram", RAM_SIZE, RAM_SEED);
	efd = eventfd(5, EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	stash_preserve(self->stash, efd, "irq");
	close(efd);
	pattern_fill(rec, sizeof(rec), REC_SEED);
	stash_put(self->stash, "device-state", rec, sizeof(rec));
	stash_seal(self->stash, DEADLINE_MS);
	stash_snapshot(self->stash, &self->sealed);
}

FIXTURE_TEARDOWN(rollback)
{
}

static void exec_missing_binary(struct __test_metadata *_metadata)
{
	char *argv[] = { "cprstash-no-such-binary", NULL };

	ASSERT_EQ(-1, execv("/nonexistent/cprstash-no-such-binary", argv));
	ASSERT_EQ(ENOENT, errno);
}

TEST_F(rollback, unseal_after_failed_exec_returns_everything)
{
	struct cprstash_list info;
	struct cprstash_entry rec, *e;
	char buf[REC_LEN];
	int ram;

	exec_missing_binary(_metadata);
	stash_unseal(self->stash);

	/* The same entries, in the same order, now open. */
	e = stash_entries(self->stash, &info);
	ASSERT_EQ(CPRSTASH_STATE_OPEN, info.state);
	ASSERT_EQ(self->sealed.info.nr_entries, info.nr_entries);
	EXPECT_EQ(0, memcmp(self->sealed.entries, e,
			    info.nr_entries * sizeof(*e)));
	free(e);

	ram = stash_retrieve(self->stash, "ram", 0, NULL);
	EXPECT_EQ(-1, fd_pattern_mismatch(ram, RAM_SIZE, RAM_SEED));
	rec = stash_entry(self->stash, "device-state", CPRSTASH_ENTRY_RECORD);
	stash_read_exact(self->stash, buf, REC_LEN, rec.offset);
	EXPECT_EQ(-1, pattern_mismatch(buf, REC_LEN, REC_SEED));

	/* Open again: the old image may add to it and seal anew. */
	stash_put(self->stash, "after-rollback", "x", 1);
	stash_seal(self->stash, 0);
	stash_finish(self->stash);
}

TEST_F(rollback, unseal_twice_is_ebusy)
{
	struct stash_snapshot after;

	exec_missing_binary(_metadata);
	stash_unseal(self->stash);
	stash_snapshot(self->stash, &after);
	EXPECT_EQ(EBUSY, __stash_unseal(self->stash));
	stash_snapshot(self->stash, &self->sealed);
	EXPECT_TRUE(stash_snapshot_equal(&after, &self->sealed));
}

/*
 * UNSEAL and FINISH cancel the deadline: long after it would have fired,
 * the stash is still there.  Waiting can only reveal a missed cancel; if
 * this machine is so slow that the deadline fired before @end_seal, there is
 * nothing to test.  A stash of its own, so no earlier deadline is pending.
 */
static void check_deadline_cancelled(struct __test_metadata *_metadata,
				     int (*end_seal)(int stash),
				     __u32 nr_entries_after)
{
	const struct timespec past_deadline = {
		.tv_sec = 3 * SHORT_DEADLINE / 1000,
	};
	struct cprstash_list info;
	int stash, err;

	REQUIRE_STASH();
	stash = stash_open();
	stash_put(stash, "device-state", "x", 1);
	stash_seal(stash, SHORT_DEADLINE);
	err = end_seal(stash);
	TEST_REQUIRE(err != ENOENT, "the %d ms deadline fired first",
		     SHORT_DEADLINE);
	ASSERT_EQ(0, err);

	nanosleep(&past_deadline, NULL);
	ASSERT_EQ(0, __stash_info(stash, &info));
	EXPECT_EQ(CPRSTASH_STATE_OPEN, info.state);
	EXPECT_EQ(nr_entries_after, info.nr_entries);
}

TEST(unseal_cancels_the_deadline)
{
	check_deadline_cancelled(_metadata, __stash_unseal, 1);
}

TEST(finish_cancels_the_deadline)
{
	check_deadline_cancelled(_metadata, __stash_finish, 0);
}

TEST_HARNESS_MAIN
