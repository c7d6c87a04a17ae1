// SPDX-License-Identifier: GPL-2.0
/*
 * Test helpers: processes, temp dirs and a control-socket client.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

extern char **environ;

pid_t test_vmm_pid;
static char test_vmm_log[300];
static char tmpdir[256];

/*
 * A test that writes to a connection the VMM closed must say which call
 * failed (EPIPE through TEST_ASSERT), not die of SIGPIPE without a word.
 */
__attribute__((constructor)) static void test_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

static void test_rm_tmpdir(void)
{
	char cmd[300];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	tmpdir[0] = '\0';
}

void test_spawn_vmm(char *const argv[], const char *stdout_path, const char *stderr_path)
{
	snprintf(test_vmm_log, sizeof(test_vmm_log), "%s", stderr_path ? stderr_path : "");
	test_vmm_pid = test_spawn(argv, stdout_path, stderr_path);
}

void test_show_vmm(void)
{
	int status;

	/* Its log even when the caller reaped it: why it ended is there. */
	if (test_vmm_pid > 0 && waitpid(test_vmm_pid, &status, WNOHANG) == test_vmm_pid) {
		test_vmm_pid = 0;
		fprintf(stderr, "  the VMM had ended: %s %d\n",
			WIFSIGNALED(status) ? "signal" : "exit status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	if (test_vmm_log[0])
		test_show_tail(test_vmm_log, 15);
}

void test_cleanup(void)
{
	if (test_vmm_pid > 0) {
		kill(test_vmm_pid, SIGKILL);
		waitpid(test_vmm_pid, NULL, 0);
		test_vmm_pid = 0;
	}
	test_rm_tmpdir();
}

int test_have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/vmm-test.XXXXXX");
		TEST_ASSERT(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
		atexit(test_rm_tmpdir);
	}
	return tmpdir;
}

pid_t test_spawn(char *const argv[], const char *stdout_path,
		 const char *stderr_path)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	pid_t pid;
	int ret;

	/* What runs under test gets SIGPIPE as it would anywhere else. */
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (stdout_path)
		posix_spawn_file_actions_addopen(&fa, 1, stdout_path,
						 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (stderr_path)
		posix_spawn_file_actions_addopen(&fa, 2, stderr_path,
						 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ret = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	TEST_ASSERT(ret == 0, "spawn %s: %s", argv[0], strerror(ret));
	return pid;
}

int test_wait(pid_t pid)
{
	int status;

	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int test_run(char *const argv[], const char *stderr_path)
{
	return test_wait(test_spawn(argv, "/dev/null", stderr_path));
}

void test_expect_error(int want_status, const char *want_text, char *const argv[],
		       const char *err_path)
{
	int status = test_run(argv, err_path);
	char *line = test_read_first_line(err_path);
	int lines = test_count_lines(err_path);

	TEST_ASSERT(status == want_status, "%s %s: exit status %d, expected %d (%s)",
		    argv[1], argv[2] ? argv[2] : "", status, want_status, line);
	TEST_ASSERT(lines == 1, "%s: expected one line on stderr, got %d", argv[1], lines);
	TEST_ASSERT(strstr(line, want_text), "expected \"%s\" in: %s", want_text, line);
	printf("ok: %s\n", line);
	free(line);
}

static int test_saved_stderr = -1;

void test_stderr_to(const char *path)
{
	fflush(stderr);
	test_saved_stderr = dup(STDERR_FILENO);
	TEST_ASSERT(test_saved_stderr >= 0 && freopen(path, "w", stderr),
		    "redirect stderr to %s: %s", path, strerror(errno));
}

void test_stderr_back(void)
{
	fflush(stderr);
	TEST_ASSERT(dup2(test_saved_stderr, STDERR_FILENO) == STDERR_FILENO,
		    "restore stderr: %s", strerror(errno));
	close(test_saved_stderr);
	test_saved_stderr = -1;
}

char *test_read_first_line(const char *path)
{
	char buf[4096] = "";
	FILE *f = fopen(path, "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

int test_count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

void test_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#define TEST_HANG_GUARD_S	600

static unsigned long long test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void test_wait_start(struct test_wait *w)
{
	const char *env = getenv("VMM_TEST_HANG_GUARD_S");
	unsigned long long s = env && atoi(env) > 0 ? atoi(env) : TEST_HANG_GUARD_S;

	w->deadline_ns = test_now_ns() + s * 1000000000ULL;
	w->sleep_ms = 1;
}

bool test_wait_more(struct test_wait *w)
{
	if (test_now_ns() >= w->deadline_ns)
		return false;
	test_sleep_ms(w->sleep_ms);
	w->sleep_ms = w->sleep_ms < 50 ? w->sleep_ms * 2 : 50;
	return true;
}

int test_connect(const char *sock_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct test_wait w;
	int fd;

	strncpy(addr.sun_path, sock_path, sizeof(addr.sun_path) - 1);
	/* Readiness, not timing: the VMM listens once the VM is built. */
	for (test_wait_start(&w);;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		close(fd);
		if (test_vmm_pid > 0 && waitpid(test_vmm_pid, NULL, WNOHANG) == test_vmm_pid) {
			test_vmm_pid = 0;
			TEST_ASSERT(0, "the VMM exited before listening on %s", sock_path);
		}
		TEST_ASSERT(test_wait_more(&w), "nobody listens on %s", sock_path);
	}
}

struct json_object *test_request_raw(int fd, const char *line)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	static char buf[65536];
	size_t len = 0;
	struct json_object *reply;

	TEST_ASSERT(write(fd, line, strlen(line)) == (ssize_t)strlen(line) &&
		    write(fd, "\n", 1) == 1, "send %s: %s", line, strerror(errno));
	for (;;) {
		ssize_t n;

		TEST_ASSERT(poll(&pfd, 1, TEST_HANG_GUARD_S * 1000) == 1, "no reply to %s", line);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		TEST_ASSERT(n > 0, "connection closed waiting for the reply to %s", line);
		len += n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len))
			break;
	}
	TEST_ASSERT(buf[len - 1] == '\n' && strchr(buf, '\n') == buf + len - 1,
		    "expected exactly one reply line to %s, got: %s", line, buf);
	reply = json_tokener_parse(buf);
	TEST_ASSERT(reply, "reply to %s is not JSON: %s", line, buf);
	return reply;
}

struct json_object *test_request(int fd, const char *cmd)
{
	char line[256];

	snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}", cmd);
	return test_request_raw(fd, line);
}

int test_ok(struct json_object *reply)
{
	struct json_object *ok;

	TEST_ASSERT(json_object_object_get_ex(reply, "ok", &ok),
		    "reply without \"ok\": %s", json_object_to_json_string(reply));
	return json_object_get_boolean(ok);
}

const char *test_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	TEST_ASSERT(json_object_object_get_ex(o, key, &v) &&
		    json_object_is_type(v, json_type_string),
		    "no string \"%s\" in %s", key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

unsigned long long test_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	TEST_ASSERT(json_object_object_get_ex(o, key, &v) &&
		    json_object_is_type(v, json_type_int),
		    "no integer \"%s\" in %s", key, json_object_to_json_string(o));
	return json_object_get_uint64(v);
}

struct json_object *test_vcpu(struct json_object *status, int id)
{
	struct json_object *arr;

	TEST_ASSERT(json_object_object_get_ex(status, "vcpu", &arr) &&
		    (int)json_object_array_length(arr) > id,
		    "no vcpu[%d] in %s", id, json_object_to_json_string(status));
	return json_object_array_get_idx(arr, id);
}

void test_fake_bzimage(unsigned char *img)
{
	memset(img, 0, FAKE_BZIMAGE_SIZE);
	img[0x1f1] = 1;				/* setup_sects */
	img[0x1fe] = 0x55;			/* boot_flag */
	img[0x1ff] = 0xaa;
	img[0x201] = 0x66;			/* header ends at 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f;			/* version 2.15 */
	img[0x207] = 0x02;
	img[0x211] = 0x01;			/* loadflags: LOADED_HIGH */
	img[0x22c] = 0xff;			/* initrd_addr_max 0x7fffffff */
	img[0x22d] = 0xff;
	img[0x22e] = 0xff;
	img[0x22f] = 0x7f;
	img[0x236] = 0x03;			/* xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	img[0x238] = 0xff;			/* cmdline_size 2047 */
	img[0x239] = 0x07;
	img[0x262] = 0x10;			/* init_size 1 MiB */
}

void test_write_fake_bzimage(const char *path)
{
	static unsigned char img[FAKE_BZIMAGE_SIZE];
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f, "create %s", path);
	test_fake_bzimage(img);
	TEST_ASSERT(fwrite(img, sizeof(img), 1, f) == 1, "write %s", path);
	fclose(f);
}

int test_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	TEST_ASSERT(d, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int test_find_memfd(pid_t pid)
{
	char path[64], target[300];
	struct dirent *e;
	int fd = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	TEST_ASSERT(d, "opendir %s: %s", path, strerror(errno));
	while (fd < 0 && (e = readdir(d))) {
		char link[400];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "memfd:vmm-guest-ram"))
			fd = atoi(e->d_name);
	}
	closedir(d);
	return fd;
}

int test_live_upgrade(const char *vmm, const char *sock, const char *mode,
		      const char *binary, const char *extra, char **line,
		      struct json_object **report)
{
	char out[300], err[300], *argv[12];
	int n = 0, status;
	FILE *f;
	static char buf[65536];

	snprintf(out, sizeof(out), "%s/upgrade.out", test_tmpdir());
	snprintf(err, sizeof(err), "%s/upgrade.err", test_tmpdir());
	argv[n++] = (char *)vmm;
	argv[n++] = "--live-upgrade";
	argv[n++] = "--control";
	argv[n++] = (char *)sock;
	if (mode) {
		argv[n++] = "--upgrade-mode";
		argv[n++] = (char *)mode;
	}
	if (binary) {
		argv[n++] = "--binary";
		argv[n++] = (char *)binary;
	}
	if (extra)
		argv[n++] = (char *)extra;
	argv[n] = NULL;
	status = test_wait(test_spawn(argv, out, err));

	*line = NULL;
	*report = NULL;
	f = fopen(out, "r");
	TEST_ASSERT(f, "no output from --live-upgrade");
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		*line = strdup(buf);
		if (fgets(buf, sizeof(buf), f))
			*report = json_tokener_parse(buf);
	}
	fclose(f);
	if (!*line)
		*line = strdup("");
	return status;
}

void test_write_script(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f, "create %s: %s", path, strerror(errno));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	TEST_ASSERT(chmod(path, 0755) == 0, "chmod %s", path);
}

static int test_cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

unsigned long long test_median(unsigned long long *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, n, sizeof(*v), test_cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void test_read_counters(int fd, int nr_cpus, unsigned long long *c, const char *state,
			pid_t pid)
{
	struct json_object *st = test_request(fd, "status");
	int i;

	TEST_ASSERT(test_ok(st), "status failed: %s", json_object_to_json_string(st));
	TEST_ASSERT(!strcmp(test_str(st, "state"), state), "expected state %s, got %s",
		    state, test_str(st, "state"));
	if (pid)
		TEST_ASSERT((pid_t)test_u64(st, "pid") == pid, "the VMM's pid changed to %llu",
			    test_u64(st, "pid"));
	for (i = 0; i < nr_cpus; i++) {
		struct json_object *v = test_vcpu(st, i);

		c[i] = test_u64(v, "counter");
		TEST_ASSERT(test_u64(v, "backwards") == 0,
			    "vCPU %d saw its TSC go backwards: %s", i, json_object_to_json_string(v));
		TEST_ASSERT(test_u64(v, "mem_errors") == 0,
			    "vCPU %d found its memory pattern corrupted: %s", i,
			    json_object_to_json_string(v));
		TEST_ASSERT(test_u64(v, "regressions") == 0,
			    "vCPU %d reported a counter lower than before: %s", i,
			    json_object_to_json_string(v));
	}
	json_object_put(st);
}

/*
 * Where the vCPUs whose counter stayed at @min are: pause the VM, print
 * their registers from "status" (the VM stays paused; the test fails).
 */
static void show_stalled_vcpus(int fd, int nr_cpus, const unsigned long long *min)
{
	struct json_object *r = test_request(fd, "pause"), *st, *v;
	int i;

	json_object_put(r);
	st = test_request(fd, "status");
	for (i = 0; i < nr_cpus; i++) {
		v = test_vcpu(st, i);
		if (v && test_u64(v, "counter") == min[i])
			fprintf(stderr, "vCPU %d stalled, paused: %s\n", i,
				json_object_to_json_string(v));
	}
	json_object_put(st);
}

void test_wait_counters_above(int fd, int nr_cpus, const unsigned long long *min,
			      unsigned long long *now, pid_t pid)
{
	struct test_wait w;
	int i, behind;

	for (test_wait_start(&w);;) {
		test_read_counters(fd, nr_cpus, now, "running", pid);
		for (behind = 0, i = 0; i < nr_cpus; i++) {
			TEST_ASSERT(now[i] >= min[i], "vCPU %d counter went back: %llu -> %llu",
				    i, min[i], now[i]);
			behind += now[i] == min[i];
		}
		if (!behind)
			return;
		if (!test_wait_more(&w)) {
			fprintf(stderr, "%d vCPU counters did not advance:\n", behind);
			show_stalled_vcpus(fd, nr_cpus, min);
			TEST_ASSERT(0, "%d vCPU counters did not advance", behind);
		}
	}
}

void test_quit_vmm(int fd, const char *log)
{
	struct json_object *r = test_request(fd, "quit");
	int status;

	TEST_ASSERT(test_ok(r), "quit: %s", json_object_to_json_string(r));
	json_object_put(r);
	close(fd);
	status = test_wait(test_vmm_pid);
	test_vmm_pid = 0;
	TEST_ASSERT(status == 0, "vmm exit status %d (log %s)", status, log);
}

/* /proc/PID/fd/N of @pid's guest RAM memfd. */
static void test_memfd_path(pid_t pid, char *path, size_t len)
{
	int n = test_find_memfd(pid);

	TEST_ASSERT(n >= 0, "the VMM has no guest RAM memfd");
	snprintf(path, len, "/proc/%d/fd/%d", (int)pid, n);
}

ino_t test_memfd_inode(pid_t pid)
{
	char path[64];
	struct stat st;

	test_memfd_path(pid, path, sizeof(path));
	TEST_ASSERT(stat(path, &st) == 0, "stat %s", path);
	return st.st_ino;
}

unsigned char *test_map_guest_ram(pid_t pid, unsigned long long offset, size_t size,
				  int *memfd)
{
	char path[64];
	void *p;

	test_memfd_path(pid, path, sizeof(path));
	*memfd = open(path, O_RDWR | O_CLOEXEC);
	TEST_ASSERT(*memfd >= 0, "open %s", path);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *memfd, offset);
	TEST_ASSERT(p != MAP_FAILED, "mmap guest RAM");
	return p;
}

int test_wait_fd_count(pid_t pid, int want)
{
	struct test_wait w;
	int n;

	for (test_wait_start(&w); (n = test_fd_count(pid)) != want; )
		if (!test_wait_more(&w))
			break;
	return n;
}

unsigned long long test_proc_status_kb(pid_t pid, const char *field)
{
	unsigned long long kb = 0;
	size_t len = strlen(field);
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	TEST_ASSERT(f, "fopen %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			kb = strtoull(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

bool test_module_live(struct test_live *l)
{
	FILE *f = fopen("/sys/kernel/debug/cprstash/live", "r");

	l->nr = 0;
	if (!f)
		return false;
	while (l->nr < TEST_MAX_LIVE &&
	       fscanf(f, "%31s %ld", l->name[l->nr], &l->count[l->nr]) == 2)
		l->nr++;
	fclose(f);
	TEST_ASSERT(l->nr, "/sys/kernel/debug/cprstash/live: no counter in it");
	return true;
}

int test_linux_argv(char **argv, const char *vmm, const char *kernel, const char *initrd,
		    const char *cmdline, const char *log)
{
	int n = 0;

	argv[n++] = (char *)vmm;
	argv[n++] = "--kernel";
	argv[n++] = (char *)kernel;
	if (initrd && *initrd) {
		argv[n++] = "--initrd";
		argv[n++] = (char *)initrd;
	}
	argv[n++] = "--cmdline";
	argv[n++] = (char *)cmdline;
	argv[n++] = "--cpus";
	argv[n++] = "2";
	argv[n++] = "--mem";
	argv[n++] = "512M";
	argv[n++] = "--no-stdin";
	argv[n++] = "--serial-log";
	argv[n++] = (char *)log;
	argv[n] = NULL;
	return n;
}

void test_show_tail(const char *path, unsigned int lines)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "echo '---- %s, last %u lines:'; tail -n %u '%s'; echo '----'",
		 path, lines, lines, path);
	fflush(stdout);
	if (system(cmd))
		printf("(cannot show %s)\n", path);
}

bool test_file_has(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) >= 0)
		found = strstr(line, text);
	free(line);
	fclose(f);
	return found;
}

static void test_kept__add(struct device_keep *k, u32 index, int fd)
{
	struct test_kept *t = container_of(k, struct test_kept, k);

	TEST_ASSERT(t->nr < TEST_MAX_KEPT, "more than %d kept files", TEST_MAX_KEPT);
	t->files[t->nr].index = index;
	t->files[t->nr++].fd = dup(fd);
}

void test_kept__init(struct test_kept *t)
{
	memset(t, 0, sizeof(*t));
	t->k.add = test_kept__add;
}

int test_kept__take(struct device_in *in, u32 index)
{
	struct test_kept *t = in->opaque;
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->files[i].index == index)
			return dup(t->files[i].fd);
	return -ENOENT;
}

void test_kept__close(struct test_kept *t)
{
	while (t->nr)
		close(t->files[--t->nr].fd);
}
