/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What pci/pci.c and pci/msi.c share: the bus and the MSI entry points
 * the config space model calls.
 */
#ifndef VMM_PCI_INTERNAL_H
#define VMM_PCI_INTERNAL_H

#include <linux/pci.h>
#include <linux/pci_regs.h>

#include "vmm/pci.h"

#define PCI_CAP_START			PCI_STD_HEADER_SIZEOF
#define PCI_CLASS_BRIDGE_HOST		0x0600

struct pci_bus {
	pthread_mutex_t lock;		/* config cycles, slots, BAR state */
	struct mmio_bus *mmio;
	struct irq_routing *irq;
	struct kvm *kvm;
	u32 config_address;		/* the 0xcf8 latch */
	struct pci_function host;	/* 00:00.0 */
	struct pci_function *slots[PCI_MAX_SLOTS];
	u64 next_io;			/* placement cursors, per window */
	u64 next_mmio32;
	u64 next_mmio64;
};

/* pci.c: a trapped BAR range's handler (opaque: the function). */
void pci__bar_mmio(void *opaque, struct vcpu *vcpu, u64 addr, bool is_write, u8 *data,
		   unsigned int size);

/* msi.c: config bytes [@off, @off + @size) were written. */
void pci_msi__cfg_written(struct pci_function *fn, unsigned int off, unsigned int size);
/* msi.c: an access to BAR @bar at @off, if it is MSI-X's table or PBA. */
bool pci_msix__access(struct pci_function *fn, unsigned int bar, u64 off, bool is_write,
		      u8 *data, unsigned int size);
/* msi.c: every vector off (function leaving the bus), then freed. */
void pci_msi__disable(struct pci_function *fn);
void pci_msi__free(struct pci_function *fn);
/* msi.c: a function's vectors in its record, and back (device restore). */
struct state_pci_fn;
void pci_msi__save(struct pci_function *fn, struct state_pci_fn *s);
void pci_msi__load(struct pci_function *fn, const struct state_pci_fn *s);
unsigned int pci_msi__nr_msix(const struct pci_function *fn);

#endif
