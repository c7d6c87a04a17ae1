/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What runs in the VM: the built-in test guest (guests/builtin.c) or a
 * Linux kernel (guests/linux.c).  Each registers a struct guest_ops with
 * GUEST_REGISTER(); vm.c loads the one the configuration names.  What a
 * guest needs of the VMM at run time (ports, status fields, records) it
 * registers as a device (device.h) and a control status (control.h).
 */
#ifndef VMM_GUEST_H
#define VMM_GUEST_H

#include "vmm/config.h"

struct vm;
struct vcpu;
struct boot_linux_image;

struct guest_ops {
	enum vmm_guest_kind kind;
	const char *name;
	/*
	 * Put the guest in guest RAM (@image: a Linux guest's files, read by
	 * boot__read_linux(); NULL for the built-in guest).
	 */
	int (*load)(struct vm *vm, const struct boot_linux_image *image);
	/* Registers and LAPIC of @vcpu at the guest's entry. */
	int (*setup_vcpu)(struct vm *vm, struct vcpu *vcpu);
};

#define GUEST_REGISTER(ops)						\
	static const struct guest_ops *const __guest_##ops		\
	__attribute__((used, section("vmm_guests"), aligned(sizeof(void *)))) = &(ops)

/* The registered guest of @kind, or NULL. */
const struct guest_ops *guest__find(enum vmm_guest_kind kind);

#endif
