// SPDX-License-Identifier: GPL-2.0
/*
 * Messages, size parsing, clocks and whole-file I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "vmm/util.h"

bool vmm_verbose;

static enum log_format log_format = LOG_FMT_AUTO;
static u64 log_upgrade_id;

static const char *const log_format_names[] = {
	[LOG_FMT_AUTO] = "auto",
	[LOG_FMT_PLAIN] = "plain",
	[LOG_FMT_SYSLOG] = "syslog",
	[LOG_FMT_TIME] = "time",
};

int log__parse_format(const char *name)
{
	return name_index(log_format_names, ARRAY_SIZE(log_format_names), name);
}

/*
 * systemd sets JOURNAL_STREAM to "DEV:INO" of the stream it connected to
 * stdout/stderr: stderr is the journal only if it still is that stream (a
 * child of a service may have had its stderr redirected since).
 */
static bool log__stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log__set_format(enum log_format format)
{
	if (format == LOG_FMT_AUTO)
		format = log__stderr_is_journal() ? LOG_FMT_SYSLOG : LOG_FMT_PLAIN;
	log_format = format;
}

void log__set_upgrade_id(u64 id)
{
	/* vCPU threads log too: one aligned store, no lock. */
	__atomic_store_n(&log_upgrade_id, id, __ATOMIC_RELAXED);
}

/* "2026-12-01T23:55:01.123456Z ": a plain stderr log has no other clock. */
static void log__time(char *buf, size_t len)
{
	u64 ns = realtime_ns();
	time_t sec = ns / 1000000000ULL;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06lluZ ", (ns % 1000000000ULL) / 1000);
}

/*
 * The line for @msg, newline included.  @prio: the syslog priority
 * (LOG_ERR is 3) that journald reads from a "<N>" prefix; @level: the
 * same for a reader.
 */
static void log__compose(char *line, size_t len, int prio, const char *level,
			 const char *msg)
{
	u64 id = __atomic_load_n(&log_upgrade_id, __ATOMIC_RELAXED);
	char head[48] = "", upg[40] = "";

	if (log_format == LOG_FMT_AUTO)
		log__set_format(LOG_FMT_AUTO);
	if (id)
		snprintf(upg, sizeof(upg), "upgrade %016llx: ", (unsigned long long)id);
	if (log_format == LOG_FMT_SYSLOG)
		snprintf(head, sizeof(head), "<%d>", prio);
	else if (log_format == LOG_FMT_TIME)
		log__time(head, sizeof(head));
	snprintf(line, len, "%svmm: %s%s%s\n", head, upg, level, msg);
}

void log__error_line(char *line, size_t len, const char *msg)
{
	log__compose(line, len, LOG_ERR, "error: ", msg);
}

static void vpr(int prio, const char *level, const char *fmt, va_list ap)
{
	char buf[1024], line[1200];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log__compose(line, sizeof(line), prio, level, buf);
	/* One write per message so lines from vCPU threads never interleave. */
	fputs(line, stderr);
}

/* pr_err() and friends: @cond says whether the message is wanted. */
#define DEFINE_PR(name, prio, level, cond)		\
void name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	if (!(cond))					\
		return;					\
	va_start(ap, fmt);				\
	vpr(prio, level, fmt, ap);			\
	va_end(ap);					\
}

DEFINE_PR(pr_err, LOG_ERR, "error: ", true)
DEFINE_PR(pr_warn, LOG_WARNING, "warning: ", true)
DEFINE_PR(pr_info, LOG_INFO, "", true)
DEFINE_PR(pr_debug, LOG_DEBUG, "debug: ", vmm_verbose)

const char *name_of(const char *const *names, size_t n, unsigned int i)
{
	return i < n && names[i] ? names[i] : "?";
}

int name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(name, names[i]))
			return i;
	return -1;
}

int parse_size(const char *s, u64 *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case '\0': break;
	default: return -1;
	}
	/* Accept "64MiB"/"64MB" as well as "64M". */
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end)
		return -1;
	if (shift && v > (~0ULL >> shift))
		return -1;
	*out = (u64)v << shift;
	return 0;
}

static u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

u64 now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

u64 realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int read_file(const char *path, void **bufp, size_t *lenp, size_t max_len)
{
	struct stat st;
	size_t done = 0;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((u64)st.st_size > max_len) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			free(buf);
			close(fd);
			return err;
		}
		done += n;
	}
	close(fd);
	*bufp = buf;
	*lenp = done;
	return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}
