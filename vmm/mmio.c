// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO dispatch.  Ranges move while vCPUs run (BARs), so the table is
 * behind a rwlock: vCPU threads read it, BAR changes write it.  The table
 * is a short array of the devices' own ranges: a guest has a few dozen.
 */
#include <errno.h>
#include <string.h>

#include "vmm/mmio.h"

void mmio__init(struct mmio_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_rwlock_init(&bus->lock, NULL);
}

void mmio__exit(struct mmio_bus *bus)
{
	if (bus->nr)
		pr_warn("MMIO bus destroyed with %u ranges claimed", bus->nr);
	pthread_rwlock_destroy(&bus->lock);
}

static int mmio__find(struct mmio_bus *bus, const struct mmio_range *r)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++)
		if (bus->ranges[i] == r)
			return (int)i;
	return -1;
}

static void mmio__unlink(struct mmio_bus *bus, const struct mmio_range *r)
{
	int i = mmio__find(bus, r);

	if (i >= 0)
		bus->ranges[i] = bus->ranges[--bus->nr];
}

/* Link @r at @base, the table write-locked and @r off it. */
static int mmio__link(struct mmio_bus *bus, struct mmio_range *r, u64 base)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++) {
		const struct mmio_range *o = bus->ranges[i];

		if (base < o->base + o->len && o->base < base + r->len) {
			pr_err("%s: MMIO %#llx+%#llx overlaps %s at %#llx", r->name,
			       (unsigned long long)base, (unsigned long long)r->len,
			       o->name, (unsigned long long)o->base);
			return -EBUSY;
		}
	}
	if (bus->nr == MMIO_MAX_RANGES) {
		pr_err("%s: no room for MMIO range (%u claimed)", r->name, bus->nr);
		return -ENOSPC;
	}
	r->base = base;
	bus->ranges[bus->nr++] = r;
	return 0;
}

int mmio__add(struct mmio_bus *bus, struct mmio_range *r, u64 base, u64 len)
{
	int ret;

	if (!len || base + len < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	mmio__unlink(bus, r);
	r->len = len;
	ret = mmio__link(bus, r, base);
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

void mmio__remove(struct mmio_bus *bus, struct mmio_range *r)
{
	pthread_rwlock_wrlock(&bus->lock);
	mmio__unlink(bus, r);
	r->len = 0;
	pthread_rwlock_unlock(&bus->lock);
}

int mmio__move(struct mmio_bus *bus, struct mmio_range *r, u64 base)
{
	int ret;

	if (!r->len || base + r->len < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	mmio__unlink(bus, r);
	ret = mmio__link(bus, r, base);
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool mmio__is_added(struct mmio_bus *bus, const struct mmio_range *r)
{
	bool ret;

	pthread_rwlock_rdlock(&bus->lock);
	ret = mmio__find(bus, r) >= 0;
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool mmio__dispatch(struct mmio_bus *bus, struct vcpu *vcpu, u64 addr, bool is_write,
		    u8 *data, unsigned int size)
{
	unsigned int i;

	pthread_rwlock_rdlock(&bus->lock);
	for (i = 0; i < bus->nr; i++) {
		struct mmio_range *r = bus->ranges[i];

		if (addr >= r->base && addr - r->base < r->len) {
			r->fn(r->opaque, vcpu, addr, is_write, data, size);
			pthread_rwlock_unlock(&bus->lock);
			return true;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	/* Nothing decodes it: reads float high, like an open bus. */
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}
