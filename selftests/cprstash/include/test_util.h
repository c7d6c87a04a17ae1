/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers every cprstash selftest needs that have nothing to do with the
 * stash itself: assertions usable in any process (forked children and
 * exec'd stages cannot use the harness's ASSERT_*), byte patterns, bounded
 * waits and the "--stage" protocol for tests that exec themselves.
 *
 * This header must not include kselftest_harness.h: the harness defines
 * functions and may only be included by the test's own translation unit.
 */
#ifndef SELFTEST_CPRSTASH_TEST_UTIL_H
#define SELFTEST_CPRSTASH_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "liveness.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define ALIGN_UP(x, a)	(((x) + (a) - 1) / (a) * (a))

void __attribute__((noreturn, format(printf, 4, 5)))
test_assert_fail(const char *file, int line, const char *expr,
		 const char *fmt, ...);

/*
 * Like the KVM selftests' TEST_ASSERT(): print what was expected, what was
 * seen and errno, then abort().  Works in forked children and exec'd stages,
 * where the harness's ASSERT_* would longjmp into the wrong process.
 */
#define TEST_ASSERT(cond, fmt, ...) do {				\
	if (!(cond))							\
		test_assert_fail(__FILE__, __LINE__, #cond,		\
				 fmt, ##__VA_ARGS__);			\
} while (0)

#define TEST_ASSERT_ERRNO(expected, seen, what) do {			\
	int __e = (expected), __s = (seen);				\
	TEST_ASSERT(__e == __s, "%s: expected %s, got %s", (what),	\
		    errno_name(__e), errno_name(__s));			\
} while (0)

/* "EINVAL" rather than "Invalid argument": the spec speaks in names. */
const char *errno_name(int err);

/* Deterministic bytes that differ per offset and per seed. */
void pattern_fill(void *buf, size_t len, uint32_t seed);
/* Offset of the first byte that differs from the pattern, or -1. */
ssize_t pattern_mismatch(const void *buf, size_t len, uint32_t seed);
/* A memfd of @len bytes holding pattern @seed. */
int memfd_with_pattern(const char *name, size_t len, uint32_t seed,
		       unsigned int flags);
/* pread all of @fd's first @len bytes; -1 if it matches pattern @seed. */
ssize_t fd_pattern_mismatch(int fd, size_t len, uint32_t seed);
/* pwrite pattern @seed over the first @len bytes of @fd. */
void fd_write_pattern(int fd, size_t len, uint32_t seed);

/*
 * Bounded waits.  Each returns false when @timeout_ms passed first; the
 * caller turns that into a failure with its own message.
 */
bool wait_eof(int fd, int timeout_ms);		/* all writers are gone */
bool is_eof_now(int fd);			/* same, without waiting */
int read_byte(int fd, int timeout_ms);		/* byte, or -1 */
void write_byte(int fd, char c);

/* Exit code of @pid, or 128 + signal number, like a shell's $?. */
int wait_child(pid_t pid);
/* Wait until @pid has exited, but leave the zombie unreaped. */
void wait_exited_unreaped(pid_t pid);
/* fork(); the child runs fn(arg) and _exit()s with its return value. */
pid_t fork_child(int (*fn)(void *arg), void *arg);
/* fork_child() and wait for it. */
int run_child(int (*fn)(void *arg), void *arg);

/* Open descriptors of this process. */
int fd_count(void);
/*
 * The fd the next open() would get.  Also catches an fd that was reserved
 * but never installed, which /proc/self/fd does not list.
 */
int lowest_free_fd(void);
/* FD_CLOEXEC of @fd, asserting @fd is open. */
bool fd_cloexec(int fd);
void fd_set_cloexec(int fd, bool on);

/* A pipe with O_CLOEXEC on both ends; fds[0] reads, fds[1] writes. */
void pipe_cloexec(int fds[2]);
void close_pair(int fds[2]);

/*
 * Tests that exec themselves: main() first offers argv to stage_dispatch(),
 * which runs the named stage of the test when the process was started as
 * "/proc/self/exe --stage NAME ARGS..." and returns its exit code, or
 * returns -1 so main() runs the harness.  A stage gets only ARGS.
 */
struct stage {
	const char *name;
	int (*fn)(int argc, char **argv);
};

int stage_dispatch(const struct stage *stages, int argc, char **argv);
/* execv() self as the stage @name with NULL-terminated string arguments. */
int exec_stage(const char *name, ...) __attribute__((sentinel));
/* ARGS[@i] as an int, asserting it is one. */
int stage_arg_int(int argc, char **argv, int i);

/* main() of a test that execs itself (expanded after the harness). */
#define STAGE_HARNESS_MAIN(stages)					\
	int main(int argc, char **argv)					\
	{								\
		int ret = stage_dispatch(stages, argc, argv);		\
									\
		return ret >= 0 ? ret : test_harness_run(argc, argv);	\
	}

#endif /* SELFTEST_CPRSTASH_TEST_UTIL_H */
