/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the VMM's tests, in the style of KVM selftests: TEST_REQUIRE
 * skips (exit 77, meson's skip code) when the host lacks something,
 * TEST_ASSERT fails with what was expected and what was seen.
 */
#ifndef VMM_TESTLIB_H
#define VMM_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#define KSFT_SKIP 77

#define TEST_ASSERT(cond, fmt, ...) do {					\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: assertion failed: %s\n  " fmt "\n",	\
			__FILE__, __LINE__, #cond, ##__VA_ARGS__);		\
		test_show_vmm();						\
		test_cleanup();							\
		exit(1);							\
	}									\
} while (0)

#define TEST_REQUIRE(cond, why) do {						\
	if (!(cond)) {								\
		printf("SKIP: %s\n", why);					\
		test_cleanup();							\
		exit(KSFT_SKIP);						\
	}									\
} while (0)

/*
 * Every wait in these tests ends when what it waits for happens.  Its only
 * bound is a hang guard, far beyond what a loaded, emulated host takes (10
 * minutes; VMM_TEST_HANG_GUARD_S overrides it): no test asserts a duration.
 *
 *	struct test_wait w;
 *
 *	for (test_wait_start(&w); !done(); )
 *		TEST_ASSERT(test_wait_more(&w), "... did not happen");
 */
struct test_wait {
	unsigned long long deadline_ns;
	unsigned int sleep_ms;
};
void test_wait_start(struct test_wait *w);
/* Sleep a little (1 ms, growing to 50 ms); false once the guard passed. */
bool test_wait_more(struct test_wait *w);

/* Called before a failing or skipping test exits (kills the VMM). */
void test_cleanup(void);
/* On a failure: whether the VMM under test still runs, and its log's end. */
void test_show_vmm(void);

/* /dev/kvm can be opened read-write. */
int test_have_kvm(void);

/* A fresh private directory for sockets and logs. */
const char *test_tmpdir(void);

/* Spawn @argv with stdin from /dev/null; returns the pid. */
pid_t test_spawn(char *const argv[], const char *stdout_path,
		 const char *stderr_path);
/* Wait for @pid; returns its exit status, or 128 + signal. */
int test_wait(pid_t pid);
/* Run @argv to completion, stderr to @stderr_path; returns exit status. */
int test_run(char *const argv[], const char *stderr_path);
/*
 * Run @argv (argv[0]: the VMM) to completion: it must exit @want_status
 * with exactly one line on stderr (kept in @err_path) that contains
 * @want_text.
 */
void test_expect_error(int want_status, const char *want_text, char *const argv[],
		       const char *err_path);
/*
 * Point stderr at a new file @path, until test_stderr_back(): the lines a
 * function of libvmm prints, in process.  Not nested.
 */
void test_stderr_to(const char *path);
void test_stderr_back(void);
/* First line of a file, malloc'ed ("" if empty). */
char *test_read_first_line(const char *path);
/* Number of lines in a file. */
int test_count_lines(const char *path);

/* A control-socket connection to a running VMM. */
int test_connect(const char *sock_path);	/* retries until it listens */
/* Send one raw line, return the parsed reply (json_object_put it). */
struct json_object *test_request_raw(int fd, const char *line);
struct json_object *test_request(int fd, const char *cmd);
/* Shorthand accessors: abort the test if the field is missing. */
int test_ok(struct json_object *reply);
const char *test_str(struct json_object *o, const char *key);
unsigned long long test_u64(struct json_object *o, const char *key);
struct json_object *test_vcpu(struct json_object *status, int id);

void test_sleep_ms(unsigned int ms);

/* Open files of a process (its /proc/PID/fd entries). */
int test_fd_count(pid_t pid);
/* The fd number of @pid's guest RAM memfd, or -1. */
int test_find_memfd(pid_t pid);

/*
 * "VMM --live-upgrade --control SOCK [--upgrade-mode MODE] [--binary BIN]
 * [EXTRA]": returns the client's exit status; *line gets its result line
 * and *report its JSON report (NULL if none).
 */
int test_live_upgrade(const char *vmm, const char *sock, const char *mode,
		      const char *binary, const char *extra, char **line,
		      struct json_object **report);
/*
 * The built-in guest's vCPU counters, from "status": the state must be
 * @state and, unless @pid is 0, the VMM's pid @pid; no vCPU may have seen
 * its TSC step back, its memory pattern change or a counter regress.
 */
void test_read_counters(int fd, int nr_cpus, unsigned long long *c, const char *state,
			pid_t pid);
/*
 * Bounded by a count of polls, not a timing claim: wait until every
 * counter passed @min (none may go below it); the last values in @now.
 */
void test_wait_counters_above(int fd, int nr_cpus, const unsigned long long *min,
			      unsigned long long *now, pid_t pid);
/* "quit", then the VMM must exit 0 (@log: its stderr, for the message). */
void test_quit_vmm(int fd, const char *log);

/* The inode of @pid's guest RAM memfd (fails the test if it has none). */
ino_t test_memfd_inode(pid_t pid);
/* Map @size bytes at @offset of @pid's guest RAM; *memfd: our fd on it. */
unsigned char *test_map_guest_ram(pid_t pid, unsigned long long offset, size_t size,
				  int *memfd);
/* Wait, bounded, for @pid to have @want open files again; returns the count. */
int test_wait_fd_count(pid_t pid, int want);

/* A field of /proc/PID/status in kB ("VmRSS"); 0 when the kernel has none. */
unsigned long long test_proc_status_kb(pid_t pid, const char *field);

/*
 * The objects the module holds, by kind (/sys/kernel/debug/cprstash/live,
 * "name count" per line): false without that file (no module, or no
 * debugfs), nothing read.
 */
#define TEST_MAX_LIVE	16
struct test_live {
	int nr;
	char name[TEST_MAX_LIVE][32];
	long count[TEST_MAX_LIVE];
};
bool test_module_live(struct test_live *l);

/*
 * The command line of a Linux guest with 2 vCPUs and 512M, console on
 * COM1 into @log: "VMM --kernel K [--initrd I] --cmdline C ...".  Returns
 * the number of arguments; argv[n] is NULL, room for more is the caller's.
 */
int test_linux_argv(char **argv, const char *vmm, const char *kernel, const char *initrd,
		    const char *cmdline, const char *log);

/* Write an executable shell script @path with @body after "#!/bin/sh". */
void test_write_script(const char *path, const char *body);

/* Median of @n values (sorts them). */
unsigned long long test_median(unsigned long long *v, int n);

/*
 * A minimal image that passes the bzImage checks (boot protocol 2.15,
 * 64-bit entry, 1 MiB init_size) but whose kernel is a few zero bytes:
 * enough to test the loader, not to boot.
 */
#define FAKE_BZIMAGE_SIZE	8192
void test_fake_bzimage(unsigned char *img);
void test_write_fake_bzimage(const char *path);

/* Print the last @lines lines of a log, to show what a failure looked like. */
void test_show_tail(const char *path, unsigned int lines);
/* Whether a line of the file at @path contains @text. */
bool test_file_has(const char *path, const char *text);

/* The pid of the VMM under test, killed by test_cleanup(). */
extern pid_t test_vmm_pid;
/* Start the VMM under test (test_vmm_pid); its stderr is shown on a failure. */
void test_spawn_vmm(char *const argv[], const char *stdout_path, const char *stderr_path);

/*
 * A live upgrade's table of kept files, in process: hand &t->k to a
 * device's keep_fds(), then test_kept__take (with in->opaque = t) to the
 * device_in a new device is built from.  Each kept file is a dup.
 */
#include "vmm/device.h"

#define TEST_MAX_KEPT	32
struct test_kept {
	struct device_keep k;
	unsigned int nr;
	struct {
		u32 index;
		int fd;
	} files[TEST_MAX_KEPT];
};

void test_kept__init(struct test_kept *t);
int test_kept__take(struct device_in *in, u32 index);
void test_kept__close(struct test_kept *t);

#endif
