/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Port I/O dispatch: devices claim port ranges; vCPU threads call
 * ioport__dispatch() for every KVM_EXIT_IO.  Handlers run on vCPU threads,
 * concurrently, and do their own locking.
 */
#ifndef VMM_IOPORT_H
#define VMM_IOPORT_H

#include "vmm/util.h"

struct vcpu;

/* @data holds @size bytes, little endian; fill it on a read. */
typedef void (*ioport_fn)(void *opaque, struct vcpu *vcpu, u16 port,
			  bool is_write, u8 *data, unsigned int size);

struct ioport_range {
	u16 base;
	u16 len;
	ioport_fn fn;
	void *opaque;
	const char *name;
};

#define IOPORT_MAX_RANGES 16

struct ioport_bus {
	unsigned int nr;
	struct ioport_range ranges[IOPORT_MAX_RANGES];
};

int ioport__register(struct ioport_bus *bus, u16 base, u16 len, ioport_fn fn,
		     void *opaque, const char *name);
/* Returns false if no device claims @port (reads then see all ones). */
bool ioport__dispatch(struct ioport_bus *bus, struct vcpu *vcpu, u16 port,
		      bool is_write, u8 *data, unsigned int size);

#endif
