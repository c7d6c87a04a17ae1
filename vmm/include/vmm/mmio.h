/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MMIO dispatch (mmio.c): devices claim guest-physical ranges; vCPU
 * threads call mmio__dispatch() for every KVM_EXIT_MMIO.
 *
 * Unlike the port I/O table, ranges come and go while vCPUs run (a guest
 * moves a BAR or turns memory decode off), so the table is behind a
 * rwlock: dispatch holds it for reading while the handler runs, changes
 * hold it for writing.  A handler therefore must not register, remove or
 * move ranges itself; config-space writes, which do, come through port I/O
 * (0xcf8/0xcfc), never through this bus.
 */
#ifndef VMM_MMIO_H
#define VMM_MMIO_H

#include <pthread.h>

#include "vmm/util.h"

struct vcpu;

/*
 * @addr is the guest-physical address accessed, @data holds @size bytes
 * (1, 2, 4 or 8), little endian; fill it on a read.
 */
typedef void (*mmio_fn)(void *opaque, struct vcpu *vcpu, u64 addr, bool is_write,
			u8 *data, unsigned int size);

/*
 * A claimed range, owned by the device (embedded in its state): the bus
 * only links it.  Fill @fn, @opaque and @name, then mmio__add().
 */
struct mmio_range {
	u64 base;
	u64 len;
	mmio_fn fn;
	void *opaque;
	const char *name;
};

#define MMIO_MAX_RANGES	128

struct mmio_bus {
	pthread_rwlock_t lock;
	unsigned int nr;
	struct mmio_range *ranges[MMIO_MAX_RANGES];
};

void mmio__init(struct mmio_bus *bus);
/* Every range must be gone (their devices exited). */
void mmio__exit(struct mmio_bus *bus);

/*
 * Claim [@base, @base + @len) for @r.  -EBUSY if it overlaps a claimed
 * range, -ENOSPC when the table is full, -EINVAL for an empty range.
 */
int mmio__add(struct mmio_bus *bus, struct mmio_range *r, u64 base, u64 len);
/*
 * Release @r; nothing if it is not on the bus.  Waits for its handlers.
 * Its @len becomes 0 under the lock, so a handler (which holds it for
 * reading) can tell which of its device's ranges are on the bus.
 */
void mmio__remove(struct mmio_bus *bus, struct mmio_range *r);
/*
 * Move @r, on the bus, to @base, atomically for vCPUs: an access sees the
 * old range or the new one.  -EBUSY on overlap (@r is then off the bus),
 * -EINVAL if @r was never added or was removed.
 */
int mmio__move(struct mmio_bus *bus, struct mmio_range *r, u64 base);
/* True if @r is on the bus. */
bool mmio__is_added(struct mmio_bus *bus, const struct mmio_range *r);

/*
 * Run the handler of the range that holds @addr.  Returns false if none
 * does (a read then sees all ones, a write is dropped).
 */
bool mmio__dispatch(struct mmio_bus *bus, struct vcpu *vcpu, u64 addr, bool is_write,
		    u8 *data, unsigned int size);

#endif
