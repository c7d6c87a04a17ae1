// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O dispatch.  The table is filled before any vCPU runs and never
 * changes afterwards, so lookups need no lock.
 */
#include <errno.h>
#include <string.h>

#include "vmm/ioport.h"

int ioport__register(struct ioport_bus *bus, u16 base, u16 len, ioport_fn fn,
		     void *opaque, const char *name)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++) {
		struct ioport_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len) {
			pr_err("%s: ports %#x+%u overlap %s", name, base, len, r->name);
			return -EBUSY;
		}
	}
	if (bus->nr == IOPORT_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->nr++] = (struct ioport_range){ base, len, fn, opaque, name };
	return 0;
}

bool ioport__dispatch(struct ioport_bus *bus, struct vcpu *vcpu, u16 port,
		      bool is_write, u8 *data, unsigned int size)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++) {
		struct ioport_range *r = &bus->ranges[i];

		if (port >= r->base && port - r->base < r->len) {
			r->fn(r->opaque, vcpu, port, is_write, data, size);
			return true;
		}
	}
	/* An ISA bus with nothing on it reads as all ones. */
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}
