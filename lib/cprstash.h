/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcprstash: the userspace side of /dev/cprstash, one call per ioctl.
 * Every call returns 0 (or a non-negative fd) on success and -errno on
 * failure, and never prints: callers decide what an error means.
 */
#ifndef CPRSTASH_LIB_H
#define CPRSTASH_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/cprstash.h>

struct cprstash_listing {
	struct cprstash_entry *entries;	/* malloc'ed; free with _free() */
	uint32_t nr_entries;
	uint32_t state;			/* CPRSTASH_STATE_* */
	uint32_t deadline_ms;
	uint64_t record_bytes;
	uint32_t api_version;		/* the kernel's CPRSTASH_API_VERSION */
};

/* O_CLOEXEC unless @keep_on_exec: the stash itself survives exec anyway. */
int cprstash_open(bool keep_on_exec);
bool cprstash_available(void);

int cprstash_preserve_fd(int stash, int fd, const char *name, uint32_t *kind);
int cprstash_put_record(int stash, const char *name, const void *data,
			uint32_t len);
/* @flags: 0 or CPRSTASH_SEAL_KEEP_MM (see uapi/linux/cprstash.h). */
int cprstash_seal(int stash, uint32_t deadline_ms, uint32_t flags);
int cprstash_unseal(int stash);
int cprstash_finish(int stash);
/* Returns the new fd; *kind may be NULL. */
int cprstash_retrieve_fd(int stash, const char *name, uint32_t flags,
			 uint32_t *kind);

/* Re-home the preserved KVM VM @name into the caller's address space. */
int cprstash_adopt_kvm(int stash, const char *name);
/* @flags: 0 or CPRSTASH_ADOPT_KEEP_MAPPINGS (see uapi/linux/cprstash.h). */
int cprstash_adopt_kvm_flags(int stash, const char *name, uint32_t flags);
/* End a CPRSTASH_ADOPT_KEEP_MAPPINGS adoption; -ENOENT: none pending. */
int cprstash_settle_kvm(int stash, const char *name);

int cprstash_list(int stash, struct cprstash_listing *out);
void cprstash_listing_free(struct cprstash_listing *listing);
const struct cprstash_entry *
cprstash_listing_find(const struct cprstash_listing *listing, const char *name);

const char *cprstash_kind_name(uint32_t kind);

#endif /* CPRSTASH_LIB_H */
