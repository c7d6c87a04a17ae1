/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cprstash: keep files and small state records across execve().
 *
 * A process opens /dev/cprstash and gets an fd on its own stash (one per
 * thread group, created on first open).  It preserves files by name (the
 * stash holds its own reference, so the fd's FD_CLOEXEC flag is irrelevant),
 * puts named state records, and seals the stash with a deadline.  A sealed
 * stash outlives every /dev/cprstash fd, so it survives execve(); the new
 * image opens /dev/cprstash again, lists the entries, retrieves new fds and
 * reads records with pread() at the offsets LIST reports.  FINISH releases
 * everything; UNSEAL hands the stash back to the old image if exec failed.
 *
 * Every argument struct starts with @size and @flags.  Structs only ever
 * grow at their end, and @size says which version the caller was built
 * with: the kernel takes anything from the struct's *_SIZE_VER0 up to a
 * page, as long as the bytes it does not know are zero (E2BIG otherwise).
 * Unknown @flags bits and non-zero reserved fields are rejected (EINVAL).
 * Commands are told apart by type and number only: the size and direction
 * bits of the command are not checked, so a header with larger structs
 * yields commands an older kernel still accepts.  Errors are documented in
 * Documentation/uapi.rst.
 */
#ifndef _UAPI_LINUX_CPRSTASH_H
#define _UAPI_LINUX_CPRSTASH_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define CPRSTASH_DEVICE		"/dev/cprstash"

/*
 * The ABI these definitions describe, as LIST reports it (@api_version).
 * 0 (never released): exact struct sizes and command numbers.  1: the rules
 * above.  A kernel reporting a lower version than the header's may reject
 * larger structs or flags the header defines.
 */
#define CPRSTASH_API_VERSION	1

/* Names: printable ASCII without spaces, NUL-terminated, 1..63 characters. */
#define CPRSTASH_NAME_MAX	64

/* What a preserved file is, as classified at PRESERVE_FD time. */
enum cprstash_file_kind {
	CPRSTASH_KIND_OTHER		= 0,
	CPRSTASH_KIND_MEMFD		= 1,
	CPRSTASH_KIND_KVM_VM		= 2,
	CPRSTASH_KIND_KVM_VCPU		= 3,
	CPRSTASH_KIND_VFIO_CONTAINER	= 4,
	CPRSTASH_KIND_VFIO_GROUP	= 5,
	CPRSTASH_KIND_VFIO_DEVICE	= 6,
	CPRSTASH_KIND_IOMMUFD		= 7,
	CPRSTASH_KIND_EVENTFD		= 8,
};

/* Each record starts at a multiple of this in the pread() byte space. */
#define CPRSTASH_RECORD_ALIGN	8

/* enum cprstash_entry_type: what a LIST entry names. */
#define CPRSTASH_ENTRY_FILE	1
#define CPRSTASH_ENTRY_RECORD	2

/* Stash states, as LIST reports them. */
#define CPRSTASH_STATE_OPEN	1	/* being filled; dies with its last fd */
#define CPRSTASH_STATE_SEALED	2	/* frozen; survives exec until deadline */

/**
 * struct cprstash_preserve_fd - CPRSTASH_IOC_PRESERVE_FD argument
 * @size:	sizeof(struct cprstash_preserve_fd), at least its SIZE_VER0
 * @flags:	must be 0
 * @fd:		file to preserve; the caller may close it afterwards
 * @kind:	out: enum cprstash_file_kind
 * @name:	unique name within the stash
 * @reserved:	must be 0
 */
struct cprstash_preserve_fd {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__u32 kind;
	char name[CPRSTASH_NAME_MAX];
	__u64 reserved[2];
};

/**
 * struct cprstash_put_record - CPRSTASH_IOC_PUT_RECORD argument
 * @size:	sizeof(struct cprstash_put_record), at least its SIZE_VER0
 * @flags:	must be 0
 * @data:	user pointer to @len bytes, copied into the stash
 * @len:	record length in bytes (0 is allowed)
 * @reserved0:	must be 0
 * @name:	unique name within the stash
 * @reserved:	must be 0
 */
struct cprstash_put_record {
	__u32 size;
	__u32 flags;
	__u64 data;
	__u32 len;
	__u32 reserved0;
	char name[CPRSTASH_NAME_MAX];
	__u64 reserved[2];
};

/**
 * struct cprstash_seal - CPRSTASH_IOC_SEAL argument
 * @size:		sizeof(struct cprstash_seal), at least its SIZE_VER0
 * @flags:		0 or CPRSTASH_SEAL_KEEP_MM
 * @deadline_ms:	destroy the stash if neither FINISH nor UNSEAL comes
 *			within this time; 0 selects the module's default
 * @reserved0:		must be 0
 * @reserved:		must be 0
 */
struct cprstash_seal {
	__u32 size;
	__u32 flags;
	__u32 deadline_ms;
	__u32 reserved0;
	__u64 reserved[2];
};

/*
 * Keep the caller's address space alive across exec, until ADOPT_KVM takes
 * a VM from it, UNSEAL, FINISH or the stash's end; then tear it down in the
 * background.  execve() then no longer unmaps guest RAM page by page before
 * the new image can start.
 */
#define CPRSTASH_SEAL_KEEP_MM	_BITUL(0)

/**
 * struct cprstash_entry - one element of the array LIST fills
 * @name:	entry name
 * @type:	CPRSTASH_ENTRY_FILE or CPRSTASH_ENTRY_RECORD
 * @kind:	files: enum cprstash_file_kind; records: 0
 * @offset:	records: pread() offset of the record on the stash fd
 * @len:	records: length in bytes; files: 0
 * @flags:	CPRSTASH_ENTRY_RETRIEVED once RETRIEVE_FD returned it
 * @reserved:	0
 */
struct cprstash_entry {
	char name[CPRSTASH_NAME_MAX];
	__u32 type;
	__u32 kind;
	__u64 offset;
	__u64 len;
	__u32 flags;
	__u32 reserved;
};

#define CPRSTASH_ENTRY_RETRIEVED	_BITUL(0)

/**
 * struct cprstash_list - CPRSTASH_IOC_LIST argument
 * @size:		sizeof(struct cprstash_list), at least its SIZE_VER0
 * @flags:		must be 0
 * @nr_entries:		in: capacity of @entries; out: entries in the stash
 *			(only min(in, out) elements are written)
 * @entry_size:		stride of @entries: at least
 *			CPRSTASH_ENTRY_SIZE_VER0, at most a page; the kernel
 *			writes the struct cprstash_entry it knows at the start
 *			of each element and zeroes the rest of the element
 * @entries:		user pointer to an array of struct cprstash_entry
 * @state:		out: CPRSTASH_STATE_*
 * @deadline_ms:	out: milliseconds left before a sealed stash expires
 * @record_bytes:	out: total bytes of records; pread() beyond is EOF
 * @api_version:	out: CPRSTASH_API_VERSION of the kernel (0 before 1)
 * @reserved0:		must be 0
 * @reserved:		must be 0
 */
struct cprstash_list {
	__u32 size;
	__u32 flags;
	__u32 nr_entries;
	__u32 entry_size;
	__u64 entries;
	__u32 state;
	__u32 deadline_ms;
	__u64 record_bytes;
	__u32 api_version;
	__u32 reserved0;
	__u64 reserved;
};

/**
 * struct cprstash_retrieve_fd - CPRSTASH_IOC_RETRIEVE_FD argument
 * @size:	sizeof(struct cprstash_retrieve_fd), at least its SIZE_VER0
 * @flags:	0 or CPRSTASH_RETRIEVE_NO_CLOEXEC
 * @fd:		out: the new fd (O_CLOEXEC unless asked otherwise)
 * @kind:	out: enum cprstash_file_kind
 * @name:	name of a preserved file
 * @reserved:	must be 0
 *
 * Retrieval does not remove the entry: the stash keeps its reference until
 * FINISH, so a new image that fails can still hand everything back.
 */
struct cprstash_retrieve_fd {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__u32 kind;
	char name[CPRSTASH_NAME_MAX];
	__u64 reserved[2];
};

#define CPRSTASH_RETRIEVE_NO_CLOEXEC	_BITUL(0)

/**
 * struct cprstash_op - argument of the commands that take no other data
 * @size:	sizeof(struct cprstash_op), at least its SIZE_VER0
 * @flags:	must be 0
 * @reserved:	must be 0
 */
struct cprstash_op {
	__u32 size;
	__u32 flags;
	__u64 reserved[2];
};

/**
 * struct cprstash_adopt_kvm - CPRSTASH_IOC_ADOPT_KVM and _SETTLE_KVM argument
 * @size:	sizeof(struct cprstash_adopt_kvm), at least its SIZE_VER0
 * @flags:	ADOPT_KVM: 0 or CPRSTASH_ADOPT_KEEP_MAPPINGS; SETTLE_KVM: 0
 * @name:	name of a preserved CPRSTASH_KIND_KVM_VM file
 * @reserved:	must be 0
 *
 * ADOPT_KVM re-homes the VM into the caller's address space: the VM keeps
 * its vCPUs, registers, irqchip, clock, routing, irqfds and ioeventfds.
 * Guest memory must already be mapped at the same addresses as before exec.
 *
 * SETTLE_KVM ends an adoption made with CPRSTASH_ADOPT_KEEP_MAPPINGS, by
 * the name the VM had in the stash (FINISH does not end it): it maps guest
 * RAM into the caller's page tables and lets the old address space go.
 * ENOENT when there is nothing to settle.
 */
struct cprstash_adopt_kvm {
	__u32 size;
	__u32 flags;
	char name[CPRSTASH_NAME_MAX];
	__u64 reserved[2];
};

/*
 * Keep the guest's mappings: when the VM's old address space was kept
 * (CPRSTASH_SEAL_KEEP_MM), KVM goes on using the translations it had
 * instead of dropping them all and faulting guest RAM in again.  The old
 * address space is kept until SETTLE_KVM (or the stash's end, or
 * max_keep_mm_ms).  Without a kept address space, a plain adoption.
 */
#define CPRSTASH_ADOPT_KEEP_MAPPINGS	_BITUL(0)

/*
 * The first published size of each struct: the smallest @size (and LIST
 * @entry_size) the kernel accepts (EINVAL below).
 */
#define CPRSTASH_PRESERVE_FD_SIZE_VER0	96
#define CPRSTASH_PUT_RECORD_SIZE_VER0	104
#define CPRSTASH_SEAL_SIZE_VER0		32
#define CPRSTASH_LIST_SIZE_VER0		56
#define CPRSTASH_ENTRY_SIZE_VER0	96
#define CPRSTASH_RETRIEVE_FD_SIZE_VER0	96
#define CPRSTASH_OP_SIZE_VER0		24
#define CPRSTASH_ADOPT_KVM_SIZE_VER0	88

/*
 * Only _IOC_TYPE() and _IOC_NR() select the command: the direction and the
 * size encoded here (this header's sizeof, which grows with the struct) are
 * not checked; @size in the struct is what counts.
 */
#define CPRSTASH_IOCTL_MAGIC	0xB9

#define CPRSTASH_IOC_PRESERVE_FD \
	_IOWR(CPRSTASH_IOCTL_MAGIC, 0x01, struct cprstash_preserve_fd)
#define CPRSTASH_IOC_PUT_RECORD \
	_IOW(CPRSTASH_IOCTL_MAGIC, 0x02, struct cprstash_put_record)
#define CPRSTASH_IOC_LIST \
	_IOWR(CPRSTASH_IOCTL_MAGIC, 0x03, struct cprstash_list)
#define CPRSTASH_IOC_SEAL \
	_IOW(CPRSTASH_IOCTL_MAGIC, 0x04, struct cprstash_seal)
#define CPRSTASH_IOC_RETRIEVE_FD \
	_IOWR(CPRSTASH_IOCTL_MAGIC, 0x05, struct cprstash_retrieve_fd)
#define CPRSTASH_IOC_UNSEAL \
	_IOW(CPRSTASH_IOCTL_MAGIC, 0x06, struct cprstash_op)
#define CPRSTASH_IOC_FINISH \
	_IOW(CPRSTASH_IOCTL_MAGIC, 0x07, struct cprstash_op)
#define CPRSTASH_IOC_ADOPT_KVM \
	_IOW(CPRSTASH_IOCTL_MAGIC, 0x08, struct cprstash_adopt_kvm)
#define CPRSTASH_IOC_SETTLE_KVM \
	_IOW(CPRSTASH_IOCTL_MAGIC, 0x09, struct cprstash_adopt_kvm)

#endif /* _UAPI_LINUX_CPRSTASH_H */
