// SPDX-License-Identifier: GPL-2.0
/*
 * libcprstash: thin wrappers that fill each ioctl's size, flags and name
 * fields, so no caller repeats that boilerplate or forgets a reserved field.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cprstash.h"

static int cprstash_ioctl(int stash, unsigned long cmd, void *arg)
{
	return ioctl(stash, cmd, arg) < 0 ? -errno : 0;
}

/* Names longer than the uAPI allows are an error, not a silent truncation. */
static int cprstash_copy_name(char dst[CPRSTASH_NAME_MAX], const char *name)
{
	size_t len = strlen(name);

	if (len >= CPRSTASH_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, name, len + 1);
	return 0;
}

int cprstash_open(bool keep_on_exec)
{
	int fd = open(CPRSTASH_DEVICE, O_RDWR | (keep_on_exec ? 0 : O_CLOEXEC));

	return fd < 0 ? -errno : fd;
}

bool cprstash_available(void)
{
	return access(CPRSTASH_DEVICE, F_OK) == 0;
}

int cprstash_preserve_fd(int stash, int fd, const char *name, uint32_t *kind)
{
	struct cprstash_preserve_fd arg = { .size = sizeof(arg), .fd = fd };
	int ret = cprstash_copy_name(arg.name, name);

	if (!ret)
		ret = cprstash_ioctl(stash, CPRSTASH_IOC_PRESERVE_FD, &arg);
	if (!ret && kind)
		*kind = arg.kind;
	return ret;
}

int cprstash_put_record(int stash, const char *name, const void *data,
			uint32_t len)
{
	struct cprstash_put_record arg = {
		.size = sizeof(arg),
		.data = (uintptr_t)data,
		.len = len,
	};
	int ret = cprstash_copy_name(arg.name, name);

	return ret ? ret : cprstash_ioctl(stash, CPRSTASH_IOC_PUT_RECORD, &arg);
}

int cprstash_seal(int stash, uint32_t deadline_ms, uint32_t flags)
{
	struct cprstash_seal arg = {
		.size = sizeof(arg),
		.flags = flags,
		.deadline_ms = deadline_ms,
	};

	return cprstash_ioctl(stash, CPRSTASH_IOC_SEAL, &arg);
}

int cprstash_unseal(int stash)
{
	struct cprstash_op arg = { .size = sizeof(arg) };

	return cprstash_ioctl(stash, CPRSTASH_IOC_UNSEAL, &arg);
}

int cprstash_finish(int stash)
{
	struct cprstash_op arg = { .size = sizeof(arg) };

	return cprstash_ioctl(stash, CPRSTASH_IOC_FINISH, &arg);
}

int cprstash_retrieve_fd(int stash, const char *name, uint32_t flags,
			 uint32_t *kind)
{
	struct cprstash_retrieve_fd arg = { .size = sizeof(arg), .flags = flags };
	int ret = cprstash_copy_name(arg.name, name);

	if (!ret)
		ret = cprstash_ioctl(stash, CPRSTASH_IOC_RETRIEVE_FD, &arg);
	if (ret)
		return ret;
	if (kind)
		*kind = arg.kind;
	return arg.fd;
}

static int cprstash_kvm_cmd(int stash, unsigned long cmd, const char *name,
			    uint32_t flags)
{
	struct cprstash_adopt_kvm arg = { .size = sizeof(arg), .flags = flags };
	int ret = cprstash_copy_name(arg.name, name);

	return ret ? ret : cprstash_ioctl(stash, cmd, &arg);
}

int cprstash_adopt_kvm(int stash, const char *name)
{
	return cprstash_kvm_cmd(stash, CPRSTASH_IOC_ADOPT_KVM, name, 0);
}

int cprstash_adopt_kvm_flags(int stash, const char *name, uint32_t flags)
{
	return cprstash_kvm_cmd(stash, CPRSTASH_IOC_ADOPT_KVM, name, flags);
}

int cprstash_settle_kvm(int stash, const char *name)
{
	return cprstash_kvm_cmd(stash, CPRSTASH_IOC_SETTLE_KVM, name, 0);
}

static int cprstash_list_into(int stash, struct cprstash_list *arg,
			      struct cprstash_entry *entries, uint32_t cap)
{
	*arg = (struct cprstash_list){
		.size = sizeof(*arg),
		.nr_entries = cap,
		.entry_size = sizeof(struct cprstash_entry),
		.entries = (uintptr_t)entries,
	};
	return cprstash_ioctl(stash, CPRSTASH_IOC_LIST, arg);
}

/* Size, then fetch; retry if entries were added in between. */
int cprstash_list(int stash, struct cprstash_listing *out)
{
	struct cprstash_entry *entries = NULL;
	struct cprstash_list arg;
	uint32_t cap = 0;
	int ret;

	for (;;) {
		ret = cprstash_list_into(stash, &arg, entries, cap);
		if (ret || arg.nr_entries <= cap)
			break;
		cap = arg.nr_entries;
		free(entries);
		entries = calloc(cap, sizeof(*entries));
		if (!entries)
			return -ENOMEM;
	}
	if (ret) {
		free(entries);
		return ret;
	}
	*out = (struct cprstash_listing){
		.entries = entries,
		.nr_entries = arg.nr_entries,
		.state = arg.state,
		.deadline_ms = arg.deadline_ms,
		.record_bytes = arg.record_bytes,
		.api_version = arg.api_version,
	};
	return 0;
}

void cprstash_listing_free(struct cprstash_listing *listing)
{
	free(listing->entries);
	listing->entries = NULL;
	listing->nr_entries = 0;
}

const struct cprstash_entry *
cprstash_listing_find(const struct cprstash_listing *listing, const char *name)
{
	for (uint32_t i = 0; i < listing->nr_entries; i++)
		if (!strncmp(listing->entries[i].name, name, CPRSTASH_NAME_MAX))
			return &listing->entries[i];
	return NULL;
}

const char *cprstash_kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[CPRSTASH_KIND_OTHER] = "other",
		[CPRSTASH_KIND_MEMFD] = "memfd",
		[CPRSTASH_KIND_KVM_VM] = "kvm-vm",
		[CPRSTASH_KIND_KVM_VCPU] = "kvm-vcpu",
		[CPRSTASH_KIND_VFIO_CONTAINER] = "vfio-container",
		[CPRSTASH_KIND_VFIO_GROUP] = "vfio-group",
		[CPRSTASH_KIND_VFIO_DEVICE] = "vfio-device",
		[CPRSTASH_KIND_IOMMUFD] = "iommufd",
		[CPRSTASH_KIND_EVENTFD] = "eventfd",
	};

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}
