/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A VM with guest RAM, irq routing and a PCI bus but no KVM (every KVM
 * call accepted by a fake), for the unit tests of PCI devices: config
 * space through the 0xcf8/0xcfc ports, BARs through the MMIO bus, as a
 * guest reaches them.
 */
#ifndef VMM_TESTS_FAKE_PCI_H
#define VMM_TESTS_FAKE_PCI_H

#include "vmm/util.h"

struct vm;

/* The fake VM with @ram_size bytes of RAM at guest-physical 0. */
struct vm *fake_pci__setup(u64 ram_size);
void fake_pci__teardown(void);

u32 fake_pci__cfg_read(u8 devfn, unsigned int off, unsigned int size);
void fake_pci__cfg_write(u8 devfn, unsigned int off, unsigned int size, u32 v);
/* BAR @bar of @devfn: its address, memory decoding and bus mastering on. */
u64 fake_pci__enable_bar(u8 devfn, unsigned int bar);
/* An access at @addr must reach a device (the test fails otherwise). */
u32 fake_pci__mmio_read(u64 addr, unsigned int size);
void fake_pci__mmio_write(u64 addr, unsigned int size, u32 v);

#endif
