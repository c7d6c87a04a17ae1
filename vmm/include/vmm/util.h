/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by every part of the VMM: messages, sizes, clocks.
 */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define MAX(a, b)		((a) > (b) ? (a) : (b))

#define SZ_1K	0x400ULL
#define SZ_1M	0x100000ULL
#define SZ_2M	0x200000ULL
#define SZ_1G	0x40000000ULL

#define __printf(a, b)	__attribute__((format(printf, a, b)))

/* Every message starts with "vmm: " so a test log says who complained. */
void pr_err(const char *fmt, ...) __printf(1, 2);
void pr_warn(const char *fmt, ...) __printf(1, 2);
void pr_info(const char *fmt, ...) __printf(1, 2);
void pr_debug(const char *fmt, ...) __printf(1, 2);
extern bool vmm_verbose;

/*
 * How messages look (Documentation/vmm.rst, "Logging"): "auto" is
 * "syslog" when stderr is the journal, else "plain"; "syslog" prefixes the
 * priority ("<3>" for errors) for journald; "time" prefixes the UTC time.
 */
enum log_format {
	LOG_FMT_AUTO,
	LOG_FMT_PLAIN,
	LOG_FMT_SYSLOG,
	LOG_FMT_TIME,
};
/* The format named @name, or -1. */
int log__parse_format(const char *name);
void log__set_format(enum log_format format);
/* Messages name upgrade @id until it is set to 0 (no upgrade running). */
void log__set_upgrade_id(u64 id);
/*
 * The line pr_err("%s", @msg) would print now, newline included, for a
 * process that can only write() it later (upgrade/watch.c).
 */
void log__error_line(char *line, size_t len, const char *msg);

/*
 * Parse "64M", "1G", "512k", "4096" into bytes.  Returns -1 on a malformed
 * string or overflow; the caller names the option in its error.
 */
int parse_size(const char *s, u64 *out);

/* Tables of names indexed by an enum: @names[@i], "?" past its end... */
const char *name_of(const char *const *names, size_t n, unsigned int i);
/* ...and the index of @name, -1 if it has none. */
int name_index(const char *const *names, size_t n, const char *name);

/* Monotonic and wall-clock time in nanoseconds. */
u64 now_ns(void);
/* @ticks of a clock running at @khz, in microseconds, without overflow. */
static inline u64 ticks_to_us(u64 ticks, u64 khz)
{
	return ticks / khz * 1000 + ticks % khz * 1000 / khz;
}
u64 realtime_ns(void);

/* Read a whole file (kernel, initrd) into a malloc'ed buffer. */
int read_file(const char *path, void **buf, size_t *len, size_t max_len);

/* write()/read() the whole buffer, retrying on EINTR and short counts. */
int write_full(int fd, const void *buf, size_t len);

#endif
