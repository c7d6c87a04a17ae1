// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/cprstash ioctl wrappers: argument builders, the "__" forms that return
 * the errno, the asserting forms, and LIST in its useful shapes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stash_util.h"

const char *stash_unavailable(void)
{
	if (access(CPRSTASH_DEVICE, F_OK))
		return CPRSTASH_DEVICE " is absent (cprstash.ko not loaded)";
	if (access(CPRSTASH_DEVICE, R_OK | W_OK))
		return CPRSTASH_DEVICE " is not accessible (not root?)";
	return NULL;
}

int __stash_open(int flags)
{
	return open(CPRSTASH_DEVICE, O_RDWR | flags);
}

int stash_open(void)
{
	int fd = __stash_open(O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open(%s): %s", CPRSTASH_DEVICE,
		    errno_name(errno));
	return fd;
}

int __stash_ioctl(int stash, unsigned long cmd, void *arg)
{
	return ioctl(stash, cmd, arg) ? errno : 0;
}

/*
 * Names are copied without a terminator when they fill the array, so tests
 * can hand over a 64-byte name with no NUL.
 */
static void set_name(char dst[CPRSTASH_NAME_MAX], const char *name)
{
	memcpy(dst, name, strnlen(name, CPRSTASH_NAME_MAX));
}

struct cprstash_preserve_fd stash_preserve_arg(int fd, const char *name)
{
	struct cprstash_preserve_fd arg = {
		.size = sizeof(arg),
		.fd = fd,
	};

	set_name(arg.name, name);
	return arg;
}

struct cprstash_put_record stash_record_arg(const char *name,
					    const void *data, __u32 len)
{
	struct cprstash_put_record arg = {
		.size = sizeof(arg),
		.data = (__u64)(unsigned long)data,
		.len = len,
	};

	set_name(arg.name, name);
	return arg;
}

struct cprstash_seal stash_seal_arg(__u32 deadline_ms)
{
	return (struct cprstash_seal){
		.size = sizeof(struct cprstash_seal),
		.deadline_ms = deadline_ms,
	};
}

struct cprstash_retrieve_fd stash_retrieve_arg(const char *name, __u32 flags)
{
	struct cprstash_retrieve_fd arg = {
		.size = sizeof(arg),
		.flags = flags,
		.fd = -1,
	};

	set_name(arg.name, name);
	return arg;
}

struct cprstash_list stash_list_arg(struct cprstash_entry *entries, __u32 nr)
{
	return (struct cprstash_list){
		.size = sizeof(struct cprstash_list),
		.nr_entries = nr,
		.entry_size = sizeof(struct cprstash_entry),
		.entries = (__u64)(unsigned long)entries,
	};
}

struct cprstash_adopt_kvm stash_adopt_arg(const char *name)
{
	struct cprstash_adopt_kvm arg = { .size = sizeof(arg) };

	set_name(arg.name, name);
	return arg;
}

struct cprstash_op stash_op_arg(void)
{
	return (struct cprstash_op){ .size = sizeof(struct cprstash_op) };
}

int __stash_preserve(int stash, int fd, const char *name, __u32 *kind)
{
	struct cprstash_preserve_fd arg = stash_preserve_arg(fd, name);
	int err = __stash_ioctl(stash, CPRSTASH_IOC_PRESERVE_FD, &arg);

	if (!err && kind)
		*kind = arg.kind;
	return err;
}

int __stash_put(int stash, const char *name, const void *data, __u32 len)
{
	struct cprstash_put_record arg = stash_record_arg(name, data, len);

	return __stash_ioctl(stash, CPRSTASH_IOC_PUT_RECORD, &arg);
}

int __stash_seal(int stash, __u32 deadline_ms)
{
	struct cprstash_seal arg = stash_seal_arg(deadline_ms);

	return __stash_ioctl(stash, CPRSTASH_IOC_SEAL, &arg);
}

int __stash_retrieve(int stash, const char *name, __u32 flags,
		     int *fd, __u32 *kind)
{
	struct cprstash_retrieve_fd arg = stash_retrieve_arg(name, flags);
	int err = __stash_ioctl(stash, CPRSTASH_IOC_RETRIEVE_FD, &arg);

	if (!err && fd)
		*fd = arg.fd;
	if (!err && kind)
		*kind = arg.kind;
	return err;
}

int __stash_unseal(int stash)
{
	struct cprstash_op arg = stash_op_arg();

	return __stash_ioctl(stash, CPRSTASH_IOC_UNSEAL, &arg);
}

int __stash_finish(int stash)
{
	struct cprstash_op arg = stash_op_arg();

	return __stash_ioctl(stash, CPRSTASH_IOC_FINISH, &arg);
}

int __stash_info(int stash, struct cprstash_list *info)
{
	*info = stash_list_arg(NULL, 0);
	return __stash_ioctl(stash, CPRSTASH_IOC_LIST, info);
}

__u32 stash_preserve(int stash, int fd, const char *name)
{
	__u32 kind;

	STASH_MUST(__stash_preserve(stash, fd, name, &kind),
		   "CPRSTASH_IOC_PRESERVE_FD");
	return kind;
}

void stash_preserve_memfd(int stash, const char *name, size_t len,
			  uint32_t seed)
{
	int fd = memfd_with_pattern(name, len, seed, MFD_CLOEXEC);

	TEST_ASSERT(stash_preserve(stash, fd, name) == CPRSTASH_KIND_MEMFD,
		    "memfd '%s' not classified MEMFD", name);
	close(fd);
}

void stash_put(int stash, const char *name, const void *data, __u32 len)
{
	STASH_MUST(__stash_put(stash, name, data, len),
		   "CPRSTASH_IOC_PUT_RECORD");
}

void stash_seal_flags(int stash, __u32 deadline_ms, __u32 flags)
{
	struct cprstash_seal arg = stash_seal_arg(deadline_ms);

	arg.flags = flags;
	stash_ioctl(stash, CPRSTASH_IOC_SEAL, &arg);
}

void stash_seal(int stash, __u32 deadline_ms)
{
	stash_seal_flags(stash, deadline_ms, 0);
}

int stash_retrieve(int stash, const char *name, __u32 flags, __u32 *kind)
{
	int fd;

	STASH_MUST(__stash_retrieve(stash, name, flags, &fd, kind),
		   "CPRSTASH_IOC_RETRIEVE_FD");
	return fd;
}

void stash_unseal(int stash)
{
	STASH_MUST(__stash_unseal(stash), "CPRSTASH_IOC_UNSEAL");
}

void stash_finish(int stash)
{
	STASH_MUST(__stash_finish(stash), "CPRSTASH_IOC_FINISH");
}

struct cprstash_list stash_info(int stash)
{
	struct cprstash_list info;

	STASH_MUST(__stash_info(stash, &info), "CPRSTASH_IOC_LIST");
	return info;
}

void stash_assert_fresh(int stash, const char *whose)
{
	struct cprstash_list info = stash_info(stash);

	TEST_ASSERT(info.state == CPRSTASH_STATE_OPEN && !info.nr_entries &&
		    !info.record_bytes, "%s: state %u, %u entries, %llu bytes",
		    whose, info.state, info.nr_entries,
		    (unsigned long long)info.record_bytes);
}

struct cprstash_entry *stash_entries(int stash, struct cprstash_list *info)
{
	struct cprstash_entry *entries = NULL;
	__u32 cap = stash_info(stash).nr_entries;

	/* Another thread may add entries between the two calls: retry. */
	for (;;) {
		free(entries);
		entries = cap ? calloc(cap, sizeof(*entries)) : NULL;
		TEST_ASSERT(!cap || entries, "calloc(%u entries)", cap);
		*info = stash_list_arg(entries, cap);
		stash_ioctl(stash, CPRSTASH_IOC_LIST, info);
		if (info->nr_entries <= cap)
			return entries;
		cap = info->nr_entries;
	}
}

const struct cprstash_entry *stash_find(const struct cprstash_entry *entries,
					__u32 nr, const char *name)
{
	__u32 i;

	for (i = 0; i < nr; i++)
		if (!strncmp(entries[i].name, name, CPRSTASH_NAME_MAX))
			return &entries[i];
	return NULL;
}

struct cprstash_entry stash_entry(int stash, const char *name, __u32 type)
{
	struct cprstash_list info;
	struct cprstash_entry *entries = stash_entries(stash, &info);
	const struct cprstash_entry *e = stash_find(entries, info.nr_entries,
						    name);
	struct cprstash_entry copy;

	TEST_ASSERT(e, "LIST has no entry '%s' (%u entries)", name,
		    info.nr_entries);
	TEST_ASSERT(e->type == type, "entry '%s': type %u, expected %u",
		    name, e->type, type);
	copy = *e;
	free(entries);
	return copy;
}

void stash_snapshot(int stash, struct stash_snapshot *snap)
{
	snap->entries = stash_entries(stash, &snap->info);
}

bool stash_snapshot_equal(const struct stash_snapshot *a,
			  const struct stash_snapshot *b)
{
	if (a->info.nr_entries != b->info.nr_entries ||
	    a->info.state != b->info.state ||
	    a->info.record_bytes != b->info.record_bytes)
		return false;
	return !a->info.nr_entries ||
	       !memcmp(a->entries, b->entries,
		       a->info.nr_entries * sizeof(*a->entries));
}

void stash_snapshot_free(struct stash_snapshot *snap)
{
	free(snap->entries);
	snap->entries = NULL;
}

void stash_read_exact(int stash, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(stash, buf, len, off);

	TEST_ASSERT(n == (ssize_t)len, "pread(stash, %zu, %lld) returned %zd",
		    len, (long long)off, n);
}
