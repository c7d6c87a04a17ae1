/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM's interrupt routing (irq.c): the GSI routing table, kept here and
 * pushed to KVM with KVM_SET_GSI_ROUTING, and the irqfds and ioeventfds
 * that connect eventfds to GSIs and to guest addresses
 * (Documentation/vmm.rst, "PCI and interrupt routing").
 *
 * GSIs 0-23 are KVM's default routes (the PIC's 16 inputs and the IOAPIC's
 * 24 pins, as kvm_setup_default_irq_routing() installs them): setting a
 * table replaces KVM's, so ours always starts with them.  MSI routes get
 * GSIs from IRQ_GSI_MSI_FIRST up.
 *
 * Route changes are batched: irq__msi_route_*() only edit the table, and
 * irq__commit() pushes it with one KVM_SET_GSI_ROUTING if anything changed.
 *
 * Every irqfd and ioeventfd has a tag chosen by its owner (IRQ_TAG():
 * device id and a number of its own), unique in the VM.  The eventfds are
 * the routing's own (it dup()s what it is given), so they are saved and
 * kept across a live upgrade here, and the owner finds them again by tag in
 * the new image (irq__irqfd_get(), irq__ioeventfd_get()).
 *
 * Every call takes the routing's lock: vCPU threads (MSI-X table writes)
 * and the main thread may call concurrently.
 */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

#include "vmm/util.h"

struct vm;

#define IRQ_GSI_IOAPIC_PINS	24	/* GSIs 0-23: the IOAPIC's pins */
#define IRQ_GSI_PIC_PINS	16	/* GSIs 0-15 also drive the PIC */
#define IRQ_GSI_MSI_FIRST	24	/* first GSI given to an MSI route */
#define IRQ_MAX_GSI		1024	/* below KVM_MAX_IRQ_ROUTES (4096) */

/* An owner's tag for an irqfd or ioeventfd: its device id, its number. */
#define IRQ_TAG(dev_id, n)	(((u32)(dev_id) << 16) | (u16)(n))

/* irq__irqfd_attach(): @fd/@resample_fd values besides a real eventfd. */
#define IRQ_FD_NEW		(-1)	/* the routing creates the eventfd */
#define IRQ_FD_NONE		(-2)	/* no resample eventfd (edge, MSI) */

/*
 * The seam every KVM call of irq.c goes through: an ioctl on the VM fd
 * @fd, named @name for the error message.  It is __kvm_ioctl() unless a
 * unit test replaces it (to record the calls and run without /dev/kvm).
 * Returns the ioctl's result or -errno.
 */
typedef int (*irq_kvm_ioctl_fn)(int fd, unsigned long cmd, const char *name, void *arg);
extern irq_kvm_ioctl_fn irq_kvm_ioctl;

struct irq_routing;

/*
 * The routing of VM @vm_fd, with only the default routes.  Nothing is
 * pushed to KVM (a new VM already has them).  NULL on -ENOMEM.
 */
struct irq_routing *irq__create(int vm_fd);
/*
 * Free the table and close every eventfd.  irqfds and ioeventfds are not
 * deassigned one by one: the VM goes away with them (or, at a live
 * upgrade, the new image took them over).
 */
void irq__destroy(struct irq_routing *irq);

/*
 * A new MSI route to @addr (the MSI address, 64 bits) / @data: its GSI in
 * *@gsi.  Not pushed until irq__commit().  -ENOSPC when no GSI is left.
 */
int irq__msi_route_alloc(struct irq_routing *irq, u64 addr, u32 data, u32 *gsi);
/* Change the message of MSI route @gsi (a vector reprogrammed). */
int irq__msi_route_update(struct irq_routing *irq, u32 gsi, u64 addr, u32 data);
/* Drop MSI route @gsi; its irqfds must be detached first (-EBUSY). */
int irq__msi_route_free(struct irq_routing *irq, u32 gsi);
/*
 * Push the table with one KVM_SET_GSI_ROUTING if it changed since the last
 * commit; 0 if there was nothing to do.
 */
int irq__commit(struct irq_routing *irq);

/*
 * KVM_IRQFD: a write to eventfd @fd raises GSI @gsi.  @fd is dup()ed (the
 * caller keeps its own), or IRQ_FD_NEW for one the routing creates.
 * @resample_fd (level INTx through the IOAPIC): IRQ_FD_NONE, IRQ_FD_NEW,
 * or an eventfd (dup()ed) that KVM signals when the guest EOIs the line;
 * the line is then deasserted, and whoever raised it raises it again if
 * it is still pending.  @masked: kept but not assigned in KVM yet (see
 * irq__irqfd_mask()).  -EEXIST if @tag is attached.
 */
int irq__irqfd_attach(struct irq_routing *irq, u32 tag, u32 gsi, int fd, int resample_fd,
		      bool masked);
/*
 * Mask (deassign in KVM, keep the eventfds) or unmask (assign again) irqfd
 * @tag.  A write while masked stays pending in the eventfd and is
 * delivered at unmask: KVM checks the eventfd when an irqfd is assigned.
 */
int irq__irqfd_mask(struct irq_routing *irq, u32 tag, bool masked);
/* True if irqfd @tag is masked with a write pending (an MSI-X PBA bit). */
bool irq__irqfd_pending(struct irq_routing *irq, u32 tag);
/* Deassign irqfd @tag and close the routing's eventfds; -ENOENT if none. */
int irq__irqfd_detach(struct irq_routing *irq, u32 tag);
/*
 * The eventfds of irqfd @tag (the routing's: borrowed, valid until it is
 * detached), @resample_fd may be NULL (-1 if it has none).  0, or -ENOENT.
 */
int irq__irqfd_get(struct irq_routing *irq, u32 tag, int *fd, int *resample_fd);

/* An ioeventfd: a guest write to @addr signals an eventfd, no exit. */
struct irq_ioevent {
	u64 addr;		/* port (@pio) or guest-physical address */
	u32 len;		/* 1, 2, 4 or 8; 0: any length (MMIO only) */
	bool pio;
	bool datamatch;		/* only writes of @data */
	u64 data;
};

/*
 * KVM_IOEVENTFD for @ev, signalling @fd (dup()ed) or IRQ_FD_NEW.
 * -EEXIST if @tag is in use.
 */
int irq__ioeventfd_add(struct irq_routing *irq, u32 tag, const struct irq_ioevent *ev,
		       int fd);
/* Deassign ioeventfd @tag and close the routing's eventfd; -ENOENT if none. */
int irq__ioeventfd_del(struct irq_routing *irq, u32 tag);
/* The eventfd of ioeventfd @tag (borrowed), or -ENOENT. */
int irq__ioeventfd_get(struct irq_routing *irq, u32 tag);

/* Counts, for tests and the status reply. */
unsigned int irq__nr_routes(struct irq_routing *irq);
unsigned int irq__nr_irqfds(struct irq_routing *irq);
unsigned int irq__nr_ioeventfds(struct irq_routing *irq);

/*
 * The device (DEVICE_ORDER_PLATFORM, registered in irq.c) puts the routing
 * in vm->irq; every later device uses it from there.  Its parts, for tests:
 * irq__save() appends the records; after a live upgrade, irq__load()
 * (device init) takes the table and the kept eventfds back without a KVM
 * call, and irq__reattach() (device restore, after the VM's own state)
 * pushes the table and assigns every irqfd and ioeventfd again if the VM
 * is a new one (not device_in__kept_vm()).
 */
#define IRQ_DEVICE_ID		16
struct state_buf;
struct device_in;
struct device_keep;
void irq__save(struct irq_routing *irq, struct state_buf *b);
void irq__keep_fds(struct irq_routing *irq, struct device_keep *k);
int irq__load(struct irq_routing *irq, struct device_in *in);
int irq__reattach(struct irq_routing *irq);

#endif
