// SPDX-License-Identifier: GPL-2.0
/*
 * exec_test: a memfd crosses execve() in a sealed stash, and what comes out
 * on the other side is the same file, down to the pages.
 *
 * The memfd is created with MFD_CLOEXEC, like a library would, so only the
 * stash can carry it.  A watcher forked before the exec keeps the old image's
 * MAP_SHARED mapping; the new image writes through the retrieved fd and the
 * watcher must see the write in its old mapping.  Each test runs with a
 * stash fd opened O_CLOEXEC, with one that survives the exec, and with the
 * exec done by a thread other than the leader (de_thread() hands it the
 * leader's pid: the thread group, and so the stash, stays the same), and
 * with a stash sealed with CPRSTASH_SEAL_KEEP_MM (the old address space
 * outlives the exec inside the stash, until FINISH).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define RAM_NAME	"guest-ram"
#define RAM_SIZE	(256 * 1024 + 4096)	/* not a power of two */
#define OLD_SEED	1
#define NEW_SEED	2
#define REC_NAME	"vcpu0-regs"
/* Far beyond an exec of ourselves under TCG; the test never waits for it. */
#define DEADLINE_MS	120000

/* Shared by the pre-exec half and the watcher it forks. */
struct subject {
	bool stash_cloexec;
	bool from_thread;
	__u32 seal_flags;
	char *exec_args[4];	/* stage name and up to two arguments */
	int stash;
	int ram;
	void *map;
	int go[2];	/* new image -> watcher: "written" */
	int seen[2];	/* watcher -> test: 'y' if its mapping shows it */
};

static int watch_old_mapping(void *arg)
{
	struct subject *s = arg;
	int c;

	/*
	 * Keep nothing but the mapping: a stash fd here would keep the stash
	 * alive after the new image closes its own.
	 */
	close(s->stash);
	close(s->ram);
	close(s->go[1]);
	close(s->seen[0]);
	c = read_byte(s->go[0], LIVENESS_MS);
	if (c != 'w') {
		fprintf(stderr, "# watcher: new image never wrote (%d)\n", c);
		return 1;
	}
	write_byte(s->seen[1], pattern_mismatch(s->map, RAM_SIZE,
						NEW_SEED) < 0 ? 'y' : 'n');
	return 0;
}

static void open_subject_stash(struct subject *s)
{
	s->stash = __stash_open(s->stash_cloexec ? O_CLOEXEC : 0);
	TEST_ASSERT(s->stash >= 0, "open(%s)", CPRSTASH_DEVICE);
}

/* Runs in the leader or in a thread; returns only by failing. */
static void *exec_now(void *arg)
{
	struct subject *s = arg;

	exec_stage(s->exec_args[0], s->exec_args[1], s->exec_args[2], NULL);
	TEST_ASSERT(0, "exec of /proc/self/exe");
	return NULL;
}

/* Exec the stage with up to two arguments, from the leader or a thread. */
static void exec_subject(struct subject *s, char *stage, char *arg0,
			 char *arg1)
{
	pthread_t thread;

	s->exec_args[0] = stage;
	s->exec_args[1] = arg0;
	s->exec_args[2] = arg1;
	if (!s->from_thread)
		exec_now(s);
	TEST_ASSERT(!pthread_create(&thread, NULL, exec_now, s),
		    "pthread_create");
	/* The exec ends this thread along with all others. */
	pthread_join(thread, NULL);
	TEST_ASSERT(0, "still here after the thread's exec");
}

/* Seal, check LIST agrees, and exec @stage with the fds the stage needs. */
static void seal_and_exec(struct subject *s, char *stage)
{
	struct cprstash_list info;
	char go[16], stash[16];

	stash_seal_flags(s->stash, DEADLINE_MS, s->seal_flags);
	info = stash_info(s->stash);
	TEST_ASSERT(info.state == CPRSTASH_STATE_SEALED, "state %u",
		    info.state);
	TEST_ASSERT(info.deadline_ms > 0 && info.deadline_ms <= DEADLINE_MS,
		    "deadline_ms %u after sealing with %u", info.deadline_ms,
		    DEADLINE_MS);

	fd_set_cloexec(s->go[1], false);
	snprintf(go, sizeof(go), "%d", s->go[1]);
	snprintf(stash, sizeof(stash), "%d", s->stash_cloexec ? -1 : s->stash);
	exec_subject(s, stage, go, stash);
}

static int memfd_pre_exec(void *arg)
{
	struct subject *s = arg;

	open_subject_stash(s);
	s->ram = memfd_with_pattern(RAM_NAME, RAM_SIZE, OLD_SEED, MFD_CLOEXEC);
	s->map = mmap(NULL, RAM_SIZE, PROT_READ, MAP_SHARED, s->ram, 0);
	TEST_ASSERT(s->map != MAP_FAILED, "mmap(memfd)");
	fork_child(watch_old_mapping, s);
	close(s->go[0]);
	close_pair(s->seen);

	TEST_ASSERT(stash_preserve(s->stash, s->ram, RAM_NAME) ==
		    CPRSTASH_KIND_MEMFD, "memfd not classified MEMFD");
	seal_and_exec(s, "memfd");
	return 1;
}

/* A stash fd that survived the exec still reaches the (same) stash. */
static void check_inherited_stash_fd(int fd, __u32 nr_entries)
{
	if (fd < 0)
		return;
	TEST_ASSERT(!fd_cloexec(fd), "inherited stash fd %d has FD_CLOEXEC",
		    fd);
	TEST_ASSERT(stash_info(fd).nr_entries == nr_entries,
		    "inherited stash fd sees %u entries, expected %u",
		    stash_info(fd).nr_entries, nr_entries);
	close(fd);
}

static void check_sealed_ram_entry(int stash)
{
	struct cprstash_list info;
	struct cprstash_entry *e = stash_entries(stash, &info);
	struct stash_dbg dbg;

	TEST_ASSERT(info.state == CPRSTASH_STATE_SEALED && info.nr_entries == 1,
		    "after exec: state %u, %u entries; expected sealed, 1",
		    info.state, info.nr_entries);
	TEST_ASSERT(!strcmp(e[0].name, RAM_NAME) &&
		    e[0].type == CPRSTASH_ENTRY_FILE &&
		    e[0].kind == CPRSTASH_KIND_MEMFD && !e[0].flags,
		    "entry '%.64s' type %u kind %u flags %#x", e[0].name,
		    e[0].type, e[0].kind, e[0].flags);
	free(e);

	TEST_ASSERT(stash_debugfs_find(getpid(), &dbg) == 1,
		    "debugfs has no stash for pid %d after exec", getpid());
	TEST_ASSERT(!strcmp(dbg.state, "sealed") && dbg.entries == 1 &&
		    dbg.files == 1 && !dbg.records,
		    "debugfs: %s, %u entries, %u files, %u records", dbg.state,
		    dbg.entries, dbg.files, dbg.records);
}

static int memfd_post_exec(int argc, char **argv)
{
	int go = stage_arg_int(argc, argv, 0);
	int stash, ram;
	struct stat st;
	__u32 kind;

	check_inherited_stash_fd(stage_arg_int(argc, argv, 1), 1);
	stash = stash_open();
	check_sealed_ram_entry(stash);

	ram = stash_retrieve(stash, RAM_NAME, 0, &kind);
	TEST_ASSERT(kind == CPRSTASH_KIND_MEMFD, "retrieved kind %u", kind);
	TEST_ASSERT(!fstat(ram, &st) && st.st_size == RAM_SIZE,
		    "retrieved memfd is %lld bytes, expected %d",
		    (long long)st.st_size, RAM_SIZE);
	TEST_ASSERT(fd_pattern_mismatch(ram, RAM_SIZE, OLD_SEED) < 0,
		    "retrieved memfd differs from what was preserved");
	TEST_ASSERT(stash_entry(stash, RAM_NAME, CPRSTASH_ENTRY_FILE).flags ==
		    CPRSTASH_ENTRY_RETRIEVED, "entry not marked RETRIEVED");

	/* Same pages: the watcher's pre-exec mapping must show this. */
	fd_write_pattern(ram, RAM_SIZE, NEW_SEED);
	write_byte(go, 'w');
	close(go);

	stash_finish(stash);
	TEST_ASSERT(stash_info(stash).state == CPRSTASH_STATE_OPEN &&
		    !stash_info(stash).nr_entries, "FINISH left entries");
	close(ram);
	close(stash);
	TEST_ASSERT(stash_debugfs_wait_gone(getpid(), LIVENESS_MS),
		    "stash of pid %d still in debugfs after FINISH and close",
		    getpid());
	return 0;
}

static int unsealed_pre_exec(void *arg)
{
	struct subject *s = arg;

	open_subject_stash(s);
	stash_preserve_memfd(s->stash, RAM_NAME, 4096, OLD_SEED);
	stash_put(s->stash, REC_NAME, "regs", 4);

	/* No SEAL: an OPEN stash lives exactly as long as its fds. */
	exec_subject(s, "unsealed", s->stash_cloexec ? "-1" : "keep", NULL);
	return 1;
}

static int unsealed_post_exec(int argc, char **argv)
{
	bool kept = argc > 0 && !strcmp(argv[0], "keep");
	int stash = stash_open();
	struct cprstash_list info = stash_info(stash);

	/* With the O_CLOEXEC fd gone, so is the stash; else it is all there. */
	TEST_ASSERT(info.state == CPRSTASH_STATE_OPEN, "state %u", info.state);
	TEST_ASSERT(info.nr_entries == (kept ? 2 : 0),
		    "stash fd %s exec: %u entries after exec, expected %u",
		    kept ? "kept across" : "closed by", info.nr_entries,
		    kept ? 2 : 0);
	return 0;
}

FIXTURE(exec) {
	struct subject s;
};

FIXTURE_VARIANT(exec) {
	bool stash_cloexec;
	bool from_thread;
	__u32 seal_flags;
};

FIXTURE_VARIANT_ADD(exec, stash_fd_cloexec) {
	.stash_cloexec = true,
};

FIXTURE_VARIANT_ADD(exec, stash_fd_inherited) {
	.stash_cloexec = false,
};

FIXTURE_VARIANT_ADD(exec, exec_from_thread) {
	.stash_cloexec = true,
	.from_thread = true,
};

FIXTURE_VARIANT_ADD(exec, sealed_keep_mm) {
	.stash_cloexec = true,
	.seal_flags = CPRSTASH_SEAL_KEEP_MM,
};

FIXTURE_SETUP(exec)
{
	REQUIRE_STASH();
	REQUIRE_DEBUGFS();
	self->s.stash_cloexec = variant->stash_cloexec;
	self->s.from_thread = variant->from_thread;
	self->s.seal_flags = variant->seal_flags;
	pipe_cloexec(self->s.go);
	pipe_cloexec(self->s.seen);
}

FIXTURE_TEARDOWN(exec)
{
}

TEST_F(exec, memfd_same_pages_after_exec)
{
	pid_t subject = fork_child(memfd_pre_exec, &self->s);

	close_pair(self->s.go);
	close(self->s.seen[1]);
	ASSERT_EQ(0, wait_child(subject));
	EXPECT_EQ('y', read_byte(self->s.seen[0], LIVENESS_MS))
		TH_LOG("the watcher's pre-exec mapping did not show the write");
}

TEST_F(exec, unsealed_stash_lives_as_long_as_its_fds)
{
	close_pair(self->s.seen);
	ASSERT_EQ(0, run_child(unsealed_pre_exec, &self->s));
}

static const struct stage stages[] = {
	{ "memfd", memfd_post_exec },
	{ "unsealed", unsealed_post_exec },
	{ NULL, NULL },
};

STAGE_HARNESS_MAIN(stages)
