// SPDX-License-Identifier: GPL-2.0
/*
 * Process, pipe and pattern helpers for the cprstash selftests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

void test_assert_fail(const char *file, int line, const char *expr,
		      const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "# ==== Test Assertion Failure ====\n");
	fprintf(stderr, "#   %s:%d: %s\n", file, line, expr);
	fprintf(stderr, "#   pid=%d errno=%d (%s)\n#   ", getpid(), err,
		errno_name(err));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

const char *errno_name(int err)
{
	const char *name;

	if (!err)
		return "success";
	name = strerrorname_np(err);
	return name ? name : "unknown errno";
}

static uint8_t pattern_byte(size_t i, uint32_t seed)
{
	/* Varies within a word, across pages and between seeds. */
	uint32_t x = (uint32_t)i * 2654435761u ^ (seed + 1) * 40503u;

	return (uint8_t)(x >> 13 ^ i >> 12);
}

void pattern_fill(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

ssize_t pattern_mismatch(const void *buf, size_t len, uint32_t seed)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(i, seed))
			return i;
	return -1;
}

void fd_write_pattern(int fd, size_t len, uint32_t seed)
{
	void *buf = malloc(len ? len : 1);

	TEST_ASSERT(buf, "malloc(%zu)", len);
	pattern_fill(buf, len, seed);
	TEST_ASSERT(pwrite(fd, buf, len, 0) == (ssize_t)len,
		    "pwrite of %zu bytes to fd %d", len, fd);
	free(buf);
}

ssize_t fd_pattern_mismatch(int fd, size_t len, uint32_t seed)
{
	void *buf = malloc(len ? len : 1);
	ssize_t bad;

	TEST_ASSERT(buf, "malloc(%zu)", len);
	TEST_ASSERT(pread(fd, buf, len, 0) == (ssize_t)len,
		    "pread of %zu bytes from fd %d", len, fd);
	bad = pattern_mismatch(buf, len, seed);
	free(buf);
	return bad;
}

int memfd_with_pattern(const char *name, size_t len, uint32_t seed,
		       unsigned int flags)
{
	int fd = memfd_create(name, flags);

	TEST_ASSERT(fd >= 0, "memfd_create(%s)", name);
	TEST_ASSERT(!ftruncate(fd, len), "ftruncate(memfd, %zu)", len);
	fd_write_pattern(fd, len, seed);
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* poll() for @events until @deadline (ms, CLOCK_MONOTONIC); revents or 0. */
static short poll_until(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int ret;

	for (;;) {
		left = deadline - now_ms();
		ret = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (ret > 0)
			return pfd.revents;
		if (ret == 0)
			return 0;
		TEST_ASSERT(errno == EINTR, "poll(fd %d)", fd);
	}
}

bool wait_eof(int fd, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char buf[256];
	ssize_t n;

	/* Whatever was written before the writers left is not our business. */
	while (poll_until(fd, POLLIN, deadline)) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return true;
		TEST_ASSERT(n > 0 || errno == EINTR || errno == EAGAIN,
			    "read(fd %d)", fd);
	}
	return false;
}

bool is_eof_now(int fd)
{
	return wait_eof(fd, 0);
}

int read_byte(int fd, int timeout_ms)
{
	short revents = poll_until(fd, POLLIN, now_ms() + timeout_ms);
	unsigned char c;

	if (!(revents & (POLLIN | POLLHUP)))
		return -1;
	return read(fd, &c, 1) == 1 ? c : -1;
}

void write_byte(int fd, char c)
{
	TEST_ASSERT(write(fd, &c, 1) == 1, "write to fd %d", fd);
}

int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		TEST_ASSERT(errno == EINTR, "waitpid(%d)", pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void wait_exited_unreaped(pid_t pid)
{
	siginfo_t info;

	while (waitid(P_PID, pid, &info, WEXITED | WNOWAIT) < 0)
		TEST_ASSERT(errno == EINTR, "waitid(%d)", pid);
}

pid_t fork_child(int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	/* Whatever sits in stdio buffers must not be printed twice. */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid)
		_exit(fn(arg));
	return pid;
}

int run_child(int (*fn)(void *arg), void *arg)
{
	return wait_child(fork_child(fn, arg));
}

int fd_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	TEST_ASSERT(dir, "opendir(/proc/self/fd)");
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n - 1;	/* the directory's own fd */
}

int lowest_free_fd(void)
{
	int fd = dup(STDERR_FILENO);

	TEST_ASSERT(fd >= 0, "dup");
	close(fd);
	return fd;
}

bool fd_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	TEST_ASSERT(flags >= 0, "fcntl(%d, F_GETFD)", fd);
	return flags & FD_CLOEXEC;
}

void fd_set_cloexec(int fd, bool on)
{
	TEST_ASSERT(!fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0),
		    "fcntl(%d, F_SETFD)", fd);
}

void pipe_cloexec(int fds[2])
{
	TEST_ASSERT(!pipe2(fds, O_CLOEXEC), "pipe2");
}

void close_pair(int fds[2])
{
	close(fds[0]);
	close(fds[1]);
}

int stage_dispatch(const struct stage *stages, int argc, char **argv)
{
	const struct stage *s;

	if (argc < 3 || strcmp(argv[1], "--stage"))
		return -1;
	for (s = stages; s->name; s++)
		if (!strcmp(s->name, argv[2]))
			return s->fn(argc - 3, argv + 3);
	fprintf(stderr, "# unknown stage %s\n", argv[2]);
	return 2;
}

int exec_stage(const char *name, ...)
{
	char *argv[16] = { "/proc/self/exe", "--stage", (char *)name };
	int argc = 3;
	va_list ap;

	va_start(ap, name);
	do {
		TEST_ASSERT(argc < (int)ARRAY_SIZE(argv), "too many arguments");
		argv[argc] = va_arg(ap, char *);
	} while (argv[argc++]);
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	return execv(argv[0], argv);
}

int stage_arg_int(int argc, char **argv, int i)
{
	char *end;
	long v;

	TEST_ASSERT(i < argc, "stage argument %d missing", i);
	v = strtol(argv[i], &end, 0);
	TEST_ASSERT(*argv[i] && !*end, "stage argument '%s'", argv[i]);
	return (int)v;
}
