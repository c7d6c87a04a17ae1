/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wrappers around the /dev/cprstash uAPI (uapi/linux/cprstash.h, semantics in
 * Documentation/uapi.rst).
 *
 * As in the KVM selftests, every command has two forms:
 *   __stash_foo(...)  returns 0 or the errno the ioctl failed with, for tests
 *                     that expect a failure;
 *   stash_foo(...)    must succeed: on failure it aborts naming the ioctl
 *                     and its errno.
 * The stash_*_arg() builders return a valid argument struct that tests may
 * then break one field at a time.
 */
#ifndef SELFTEST_CPRSTASH_STASH_UTIL_H
#define SELFTEST_CPRSTASH_STASH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <linux/cprstash.h>

#include "test_util.h"

/* NULL, or why tests cannot use /dev/cprstash here (a SKIP reason). */
const char *stash_unavailable(void);

/*
 * For test bodies (they need the harness's SKIP()): skip, saying why, when
 * the host lacks what the test needs, rather than fail.
 */
#define TEST_REQUIRE(cond, fmt, ...) do {				\
	if (!(cond))							\
		SKIP(return, fmt, ##__VA_ARGS__);			\
} while (0)

#define REQUIRE_STASH() do {						\
	const char *__why = stash_unavailable();			\
	TEST_REQUIRE(!__why, "%s", __why);				\
} while (0)

#define REQUIRE_DEBUGFS() do {						\
	const char *__why = stash_debugfs_unavailable();		\
	TEST_REQUIRE(!__why, "%s", __why);				\
} while (0)

/* open(CPRSTASH_DEVICE); the fd or -1 with errno set. */
int __stash_open(int flags);
/* The caller's stash, O_CLOEXEC. */
int stash_open(void);

/* 0 or the errno; raw access for tests that build their own arguments. */
int __stash_ioctl(int stash, unsigned long cmd, void *arg);

/* Abort naming @what and the errno unless @err (an errno or 0) is 0. */
#define STASH_MUST(err, what) do {					\
	int __err = (err);						\
	TEST_ASSERT(!__err, "%s failed: %s", what, errno_name(__err));	\
} while (0)

#define stash_ioctl(stash, cmd, arg)					\
	STASH_MUST(__stash_ioctl(stash, cmd, arg), #cmd)

struct cprstash_preserve_fd stash_preserve_arg(int fd, const char *name);
struct cprstash_put_record stash_record_arg(const char *name,
					    const void *data, __u32 len);
struct cprstash_seal stash_seal_arg(__u32 deadline_ms);
struct cprstash_retrieve_fd stash_retrieve_arg(const char *name, __u32 flags);
struct cprstash_list stash_list_arg(struct cprstash_entry *entries, __u32 nr);
struct cprstash_op stash_op_arg(void);
struct cprstash_adopt_kvm stash_adopt_arg(const char *name);

/* @kind may be NULL. */
int __stash_preserve(int stash, int fd, const char *name, __u32 *kind);
int __stash_put(int stash, const char *name, const void *data, __u32 len);
int __stash_seal(int stash, __u32 deadline_ms);
int __stash_retrieve(int stash, const char *name, __u32 flags,
		     int *fd, __u32 *kind);
int __stash_unseal(int stash);
int __stash_finish(int stash);
/* LIST without entries: fills @info (count, state, deadline, bytes). */
int __stash_info(int stash, struct cprstash_list *info);

/* Returns the kind the stash classified @fd as. */
__u32 stash_preserve(int stash, int fd, const char *name);
void stash_put(int stash, const char *name, const void *data, __u32 len);
void stash_seal(int stash, __u32 deadline_ms);
void stash_seal_flags(int stash, __u32 deadline_ms, __u32 flags);
/* Preserve a new memfd of @len bytes holding pattern @seed, as @name. */
void stash_preserve_memfd(int stash, const char *name, size_t len,
			  uint32_t seed);
/* Returns the new fd; @kind may be NULL. */
int stash_retrieve(int stash, const char *name, __u32 flags, __u32 *kind);
void stash_unseal(int stash);
void stash_finish(int stash);
struct cprstash_list stash_info(int stash);
/* @stash is a new one: open, no entry, no record byte; @whose names it. */
void stash_assert_fresh(int stash, const char *whose);

/*
 * The whole LIST: a malloc()ed array of info->nr_entries entries (NULL when
 * empty) and, in @info, the state, deadline and record bytes.
 */
struct cprstash_entry *stash_entries(int stash, struct cprstash_list *info);
const struct cprstash_entry *stash_find(const struct cprstash_entry *entries,
					__u32 nr, const char *name);
/* Look @name up and assert it is an entry of @type. */
struct cprstash_entry stash_entry(int stash, const char *name, __u32 type);

/* LIST output, to prove that a failed command changed nothing. */
struct stash_snapshot {
	struct cprstash_list info;
	struct cprstash_entry *entries;
};

void stash_snapshot(int stash, struct stash_snapshot *snap);
/* Equal in everything but the time left before the deadline. */
bool stash_snapshot_equal(const struct stash_snapshot *a,
			  const struct stash_snapshot *b);
void stash_snapshot_free(struct stash_snapshot *snap);

/* pread exactly @len bytes at @off, asserting the stash returned them all. */
void stash_read_exact(int stash, void *buf, size_t len, off_t off);

/* A line of /sys/kernel/debug/cprstash/stashes. */
struct stash_dbg {
	int pid;
	unsigned int uid;
	char state[16];
	unsigned int entries;
	unsigned int files;
	unsigned int records;
	unsigned long long record_bytes;
	unsigned int deadline_ms;
	long long kept_mm_ms;	/* -1: no address space kept */
};

/* NULL, or why debugfs cannot be read (a SKIP reason); mounts it first. */
const char *stash_debugfs_unavailable(void);
/* 1 and *@dbg filled when @pid has a stash, 0 if not; aborts if unreadable. */
int stash_debugfs_find(pid_t pid, struct stash_dbg *dbg);
/* Stashes in the system. */
int stash_debugfs_count(void);
/* Stashes of effective uid @uid. */
int stash_debugfs_count_uid(unsigned int uid);
/* Wait (bounded) until @pid has no stash line; false on timeout. */
bool stash_debugfs_wait_gone(pid_t pid, int timeout_ms);

/*
 * How many of the module's live-object counters are non-zero; @held gets
 * them as "name=count ...".  The module lets pending frees finish before it
 * answers.
 */
int stash_debugfs_live(char *held, size_t len);
/*
 * Wait (bounded by LIVENESS_MS, a hang guard) until every counter is zero,
 * for frees that run after the last user is gone: io_uring and unix socket
 * teardown hand files back from workers.  False, with @held, if they never
 * got there.
 */
bool stash_debugfs_wait_live_zero(char *held, size_t len);

/* /sys/module/cprstash/parameters/@name. */
bool stash_param_exists(const char *name);
unsigned long stash_param_read(const char *name);
void stash_param_write(const char *name, unsigned long value);

#endif /* SELFTEST_CPRSTASH_STASH_UTIL_H */
