// SPDX-License-Identifier: GPL-2.0
/*
 * limits_test: one user cannot take what every user needs.  A user at
 * max_stashes_per_user gets EUSERS for a new stash while another user
 * still gets one, and re-opening a stash one already has is never refused.
 * An address space kept by SEAL_KEEP_MM is let go after max_keep_mm_ms,
 * while the stash lives on until its own deadline.  Entries are charged to
 * the memory cgroup of the process that adds them.
 *
 * The device node is 0600: processes of other uids open a private node of
 * the same device.  Module parameters are restored by the parent process,
 * whatever happened to the test.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define USER_A		60001
#define USER_B		60002
#define PER_USER	3
/* More than any limit a test sets: a runaway user must stop somewhere. */
#define MAX_HOLDERS	32

FIXTURE(limits) {
	unsigned long max_stashes;
	unsigned long max_stashes_per_user;
	bool has_per_user;
	char dir[64];
	char node[96];
};

/* A private node of the device that every uid may open. */
static void make_open_node(struct __test_metadata *_metadata,
			   FIXTURE_DATA(limits) *self)
{
	struct stat st;

	ASSERT_EQ(0, stat(CPRSTASH_DEVICE, &st));
	strcpy(self->dir, "/tmp/cprstash-limits.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, chmod(self->dir, 0755));
	snprintf(self->node, sizeof(self->node), "%s/cprstash", self->dir);
	ASSERT_EQ(0, mknod(self->node, S_IFCHR | 0666, st.st_rdev));
	ASSERT_EQ(0, chmod(self->node, 0666));
}

FIXTURE_SETUP(limits)
{
	REQUIRE_STASH();
	REQUIRE_DEBUGFS();
	TEST_REQUIRE(!geteuid(), "needs root to switch uids");
	self->max_stashes = stash_param_read("max_stashes");
	/* Absent on a module without the limit: the tests then fail. */
	self->has_per_user = stash_param_exists("max_stashes_per_user");
	if (self->has_per_user)
		self->max_stashes_per_user =
			stash_param_read("max_stashes_per_user");
	make_open_node(_metadata, self);
}

FIXTURE_TEARDOWN_PARENT(limits)
{
	stash_param_write("max_stashes", self->max_stashes);
	if (self->has_per_user)
		stash_param_write("max_stashes_per_user",
				  self->max_stashes_per_user);
	if (self->node[0])
		unlink(self->node);
	if (self->dir[0])
		rmdir(self->dir);
}

/*
 * A process of @uid that opens @node, reports 0 or the errno in *@err, and
 * keeps its stash until @release (the read end of a pipe) reaches EOF.
 */
static pid_t start_holder(const char *node, uid_t uid, int release[2],
			  int *err)
{
	int report[2];
	pid_t pid;

	pipe_cloexec(report);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		char c;
		int fd;

		close(release[1]);
		close(report[0]);
		TEST_ASSERT(!setresgid(uid, uid, uid), "setresgid");
		TEST_ASSERT(!setresuid(uid, uid, uid), "setresuid");
		fd = open(node, O_RDWR | O_CLOEXEC);
		*err = fd < 0 ? errno : 0;
		TEST_ASSERT(write(report[1], err, sizeof(*err)) ==
			    sizeof(*err), "report");
		/* Hold the stash until the test lets go (or dies). */
		while (read(release[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(report[1]);
	TEST_ASSERT(read(report[0], err, sizeof(*err)) == sizeof(*err),
		    "holder %d reported nothing", pid);
	close(report[0]);
	return pid;
}

/*
 * The global limit is set so that user A alone could fill it, and A
 * opens stashes in new processes until refused: it must be stopped by its
 * own limit, with EUSERS, and user B must still get a stash.
 */
TEST_F(limits, user_at_its_limit_does_not_lock_out_others)
{
	pid_t holders[MAX_HOLDERS + 1];
	int release[2], err = 0, started, n, i;

	if (self->has_per_user)
		stash_param_write("max_stashes_per_user", PER_USER);
	stash_param_write("max_stashes", stash_debugfs_count() + PER_USER + 1);
	pipe_cloexec(release);

	for (started = 0; started < MAX_HOLDERS && !err; started++)
		holders[started] = start_holder(self->node, USER_A, release,
						&err);
	n = err ? started - 1 : started;
	EXPECT_EQ(PER_USER, n) TH_LOG("user %d got %d stashes", USER_A, n);
	EXPECT_EQ(EUSERS, err) TH_LOG("user %d refused with %s", USER_A,
				      errno_name(err));
	EXPECT_EQ(PER_USER, stash_debugfs_count_uid(USER_A));

	holders[started++] = start_holder(self->node, USER_B, release, &err);
	EXPECT_EQ(0, err) TH_LOG("user %d locked out: %s", USER_B,
				 errno_name(err));

	close_pair(release);
	for (i = 0; i < started; i++)
		EXPECT_EQ(0, wait_child(holders[i]));
}

static int open_new_stash(void *arg)
{
	(void)arg;
	return __stash_open(O_CLOEXEC) < 0 ? errno : 0;
}

/* Only new stashes count: the exec'd image reopens the old one. */
TEST_F(limits, reopen_at_the_limit_is_allowed)
{
	int stash = stash_open(), fd;

	ASSERT_TRUE(self->has_per_user);
	stash_param_write("max_stashes_per_user", stash_debugfs_count_uid(0));
	EXPECT_EQ(EUSERS, run_child(open_new_stash, NULL));
	fd = __stash_open(O_CLOEXEC);
	EXPECT_LE(0, fd) TH_LOG("owner's re-open: %s", errno_name(errno));
	close(fd);
	close(stash);
}

/* A limit of 0 refuses every new stash, root's too. */
TEST_F(limits, zero_per_user_refuses_new_stashes)
{
	ASSERT_TRUE(self->has_per_user);
	stash_param_write("max_stashes_per_user", 0);
	EXPECT_EQ(EUSERS, run_child(open_new_stash, NULL));
}

#define KEEP_CAP_MS	100
#define DEADLINE_MS	120000
#define REC_NAME	"kept"

FIXTURE(keep_mm) {
	unsigned long max_keep_mm_ms;
	bool has_cap;
};

FIXTURE_SETUP(keep_mm)
{
	REQUIRE_STASH();
	REQUIRE_DEBUGFS();
	/* Absent on a module without the cap: the tests then fail. */
	self->has_cap = stash_param_exists("max_keep_mm_ms");
	if (self->has_cap)
		self->max_keep_mm_ms = stash_param_read("max_keep_mm_ms");
}

FIXTURE_TEARDOWN_PARENT(keep_mm)
{
	if (self->has_cap)
		stash_param_write("max_keep_mm_ms", self->max_keep_mm_ms);
}

/* @pid's stash's kept_mm_ms column (-1: none kept), asserting it exists. */
static long long kept_mm_ms(pid_t pid)
{
	struct stash_dbg dbg;

	TEST_ASSERT(stash_debugfs_find(pid, &dbg), "pid %d has no stash", pid);
	return dbg.kept_mm_ms;
}

/* Bounded wait for @pid's kept address space to be released. */
static bool wait_kept_mm_released(pid_t pid)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited <= LIVENESS_MS; waited += 10) {
		if (kept_mm_ms(pid) < 0)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

/*
 * The new image: the old one's address space goes at the cap, the stash
 * stays sealed with its record until FINISH.
 */
static int stage_after_exec(int argc, char **argv)
{
	struct cprstash_list info;
	int stash;

	(void)argc;
	(void)argv;
	TEST_ASSERT(wait_kept_mm_released(getpid()),
		    "the kept address space outlived max_keep_mm_ms");
	stash = stash_open();
	info = stash_info(stash);
	TEST_ASSERT(info.state == CPRSTASH_STATE_SEALED,
		    "state %u after the kept mm went", info.state);
	TEST_ASSERT(info.nr_entries == 1, "%u entries", info.nr_entries);
	TEST_ASSERT(info.deadline_ms > 0, "the stash's deadline passed");
	stash_finish(stash);
	return 0;
}

static int seal_keep_mm_and_exec(void *arg)
{
	int stash = stash_open();

	(void)arg;
	stash_put(stash, REC_NAME, "x", 1);
	stash_seal_flags(stash, DEADLINE_MS, CPRSTASH_SEAL_KEEP_MM);
	return exec_stage("after_exec", NULL);
}

TEST_F(keep_mm, released_at_cap_while_the_stash_lives_on)
{
	ASSERT_TRUE(self->has_cap);
	stash_param_write("max_keep_mm_ms", KEEP_CAP_MS);
	EXPECT_EQ(0, run_child(seal_keep_mm_and_exec, NULL));
}

/*
 * Below the cap it is kept, and shown; UNSEAL lets it go.  The cap of a
 * later SEAL replaces the one still pending from the first: lowered, it
 * must fire on time, not when the first one would have.
 */
TEST_F(keep_mm, cap_is_rearmed_by_each_seal)
{
	int stash = stash_open();
	long long left;

	ASSERT_TRUE(self->has_cap);
	stash_param_write("max_keep_mm_ms", DEADLINE_MS);
	stash_put(stash, REC_NAME, "x", 1);
	stash_seal_flags(stash, DEADLINE_MS, CPRSTASH_SEAL_KEEP_MM);
	left = kept_mm_ms(getpid());
	EXPECT_LE(0, left);
	EXPECT_GE(DEADLINE_MS, left);
	stash_unseal(stash);
	EXPECT_EQ(-1, kept_mm_ms(getpid()));

	stash_param_write("max_keep_mm_ms", KEEP_CAP_MS);
	stash_seal_flags(stash, DEADLINE_MS, CPRSTASH_SEAL_KEEP_MM);
	EXPECT_TRUE(wait_kept_mm_released(getpid()));
	EXPECT_EQ(CPRSTASH_STATE_SEALED, stash_info(stash).state);
	EXPECT_EQ(1, stash_info(stash).nr_entries);
	stash_finish(stash);
}

#define CGROUP_DIR	"/sys/fs/cgroup"
#define CGROUP2_MAGIC	0x63677270
/*
 * Entries of about 200 bytes each: megabytes, well above what the memcg's
 * per-CPU charge batches (64 pages per CPU) could make up on their own.
 */
#define CHARGED_ENTRIES	8000

FIXTURE(memcg) {
	unsigned long max_entries;
	char cgroup[64];
};

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return !fclose(f) && ok;
}

static long long memcg_current(const char *cgroup)
{
	char path[128];
	long long bytes;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.current", cgroup);
	f = fopen(path, "r");
	TEST_ASSERT(f, "fopen(%s)", path);
	TEST_ASSERT(fscanf(f, "%lld", &bytes) == 1, "parse %s", path);
	fclose(f);
	return bytes;
}

FIXTURE_SETUP(memcg)
{
	struct statfs sfs;

	REQUIRE_STASH();
	TEST_REQUIRE(!geteuid(), "needs root for a memory cgroup");
	if (statfs(CGROUP_DIR, &sfs) || sfs.f_type != CGROUP2_MAGIC)
		mount("cgroup2", CGROUP_DIR, "cgroup2", 0, NULL);
	TEST_REQUIRE(!statfs(CGROUP_DIR, &sfs) && sfs.f_type == CGROUP2_MAGIC,
		     "no cgroup2 at " CGROUP_DIR);
	TEST_REQUIRE(write_file(CGROUP_DIR "/cgroup.subtree_control",
				"+memory"), "no memory controller");
	snprintf(self->cgroup, sizeof(self->cgroup),
		 CGROUP_DIR "/cprstash-limits-%d", getpid());
	ASSERT_EQ(0, mkdir(self->cgroup, 0755));
	self->max_entries = stash_param_read("max_entries");
	stash_param_write("max_entries", CHARGED_ENTRIES + 1);
}

FIXTURE_TEARDOWN_PARENT(memcg)
{
	if (self->max_entries)
		stash_param_write("max_entries", self->max_entries);
	if (self->cgroup[0])
		rmdir(self->cgroup);
}

/* In the cgroup: how much preserving CHARGED_ENTRIES files charged it. */
static int charge_entries(void *arg)
{
	const char *cgroup = arg;
	char path[128], name[32];
	long long before, after;
	int stash, efd, i;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	TEST_ASSERT(write_file(path, "0"), "joining %s", cgroup);
	stash = stash_open();
	efd = eventfd(0, EFD_CLOEXEC);
	TEST_ASSERT(efd >= 0, "eventfd");
	/* Everything but the entries is allocated and faulted in first. */
	stash_preserve(stash, efd, "warm-up");
	before = memcg_current(cgroup);
	for (i = 0; i < CHARGED_ENTRIES - 1; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		stash_preserve(stash, efd, name);
	}
	after = memcg_current(cgroup);
	printf("# %d entries charged %lld bytes\n", CHARGED_ENTRIES - 1,
	       after - before);
	/* The same file every time: only the entries were allocated. */
	return after - before >= (CHARGED_ENTRIES - 1) * 100LL ? 0 : 1;
}

TEST_F(memcg, entries_are_charged_to_the_memcg)
{
	EXPECT_EQ(0, run_child(charge_entries, self->cgroup))
		TH_LOG("the entries were not charged to the cgroup");
}

static const struct stage stages[] = {
	{ "after_exec", stage_after_exec },
	{ NULL, NULL },
};

STAGE_HARNESS_MAIN(stages)
