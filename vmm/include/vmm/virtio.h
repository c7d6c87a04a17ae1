/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio 1.x (virtio/): split virtqueues (queue.c), feature negotiation
 * and the device status (queue.c, pure logic), the modern PCI transport
 * (pci.c) and virtio-blk (blk.c).  Documentation/vmm.rst, "virtio".
 *
 * Everything the guest gives is untrusted: a ring's addresses, its
 * indices and every descriptor are checked before use, and a malformed
 * chain is an error for that one request (or, when the ring itself is
 * inconsistent, the device needs a reset), never a crash of the VMM.
 */
#ifndef VMM_VIRTIO_H
#define VMM_VIRTIO_H

#include "vmm/util.h"

struct guest_mem;
struct vring_desc;
struct vring_avail;
struct vring_used;

#define VIRTQ_MAX_SIZE		256	/* the queue size offered */
/* A chain longer than this is malformed: no request of ours needs more. */
#define VIRTQ_MAX_CHAIN		130

/* A split virtqueue, as the driver programmed it through the transport. */
struct virtq {
	u16 size;		/* power of two, <= VIRTQ_MAX_SIZE */
	bool ready;		/* queue_enable written 1 and the rings valid */
	u16 msix_vector;	/* VIRTIO_MSI_NO_VECTOR: none */
	u64 desc_gpa, avail_gpa, used_gpa;

	/* Device side: what the live upgrade saves. */
	u16 last_avail;		/* next avail ring entry to take */
	u16 used_idx;		/* used->idx as the device last wrote it */

	/* Host addresses of the rings (virtq__enable()). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	const struct guest_mem *mem;
};

/* One guest buffer of a chain, in host memory. */
struct virtq_buf {
	u8 *hva;
	u32 len;
};

/* A popped chain: readable buffers first, then writable ones. */
struct virtq_chain {
	u16 head;
	unsigned int nr_out;	/* readable (driver -> device) */
	unsigned int nr_in;	/* writable (device -> driver), after the out ones */
	u64 in_len;		/* bytes the device may write */
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN];
};

/*
 * Check the rings of @vq (size, alignment, inside RAM) and map them:
 * 0, or -EINVAL with the reason in @why.
 */
int virtq__enable(struct virtq *vq, const struct guest_mem *mem, char *why, size_t len);
/* Forget the rings and the indices (a device reset). */
void virtq__reset(struct virtq *vq);

/*
 * The next available chain:
 *	1		a chain in @c
 *	0		the ring is empty
 *	-EBADMSG	the chain at @c->head is malformed (a loop, a buffer
 *			outside RAM, zero length, too many descriptors, a
 *			readable one after a writable one, an indirect
 *			one): the caller completes it as failed
 *	-EIO		the ring itself is inconsistent (a head out of range,
 *			the driver's index more than a ring ahead): the
 *			device needs a reset; nothing was taken
 * On -EBADMSG @why says what was wrong.
 */
int virtq__pop(struct virtq *vq, struct virtq_chain *c, char *why, size_t len);
/* Give back the chain popped last, untouched: the next pop takes it again. */
void virtq__unpop(struct virtq *vq);
/* Give chain @head back with @len bytes written; the driver sees it. */
void virtq__push(struct virtq *vq, u16 head, u32 len);
/* The driver wants an interrupt for what was pushed (no NO_INTERRUPT flag). */
bool virtq__should_notify(struct virtq *vq);

/*
 * Copy between a chain's buffers and a flat buffer: @off bytes into the
 * readable (out) or writable (in) part.  Returns the bytes copied.
 */
size_t virtq_chain__read(const struct virtq_chain *c, u64 off, void *buf, size_t len);
size_t virtq_chain__write(const struct virtq_chain *c, u64 off, const void *buf, size_t len);

/*
 * Feature negotiation (virtio 1.x, 3.1.1): the driver's features must be
 * a subset of the device's and include VIRTIO_F_VERSION_1 (no legacy
 * interface here); a status write that sets FEATURES_OK with anything
 * else is refused (FEATURES_OK stays clear, as the spec says the driver
 * then reads back).
 */
struct virtio_dev_status {
	u64 host_features;	/* offered */
	u64 guest_features;	/* what the driver wrote */
	u8 status;
};
/* Apply a status write of @val; returns the status the driver reads back. */
u8 virtio__set_status(struct virtio_dev_status *s, u8 val);
/* Whether the driver may still write features (before FEATURES_OK). */
bool virtio__features_writable(const struct virtio_dev_status *s);
/* Write 32-bit half @sel (0, 1) of the driver features, if writable. */
void virtio__write_features(struct virtio_dev_status *s, unsigned int sel, u32 val);
u32 virtio__read_features(const struct virtio_dev_status *s, unsigned int sel,
			  bool host);

/*
 * The modern PCI transport (pci.c): one trapped 32-bit memory BAR holding
 * the common, ISR, device-config and notify structures (vendor
 * capabilities in config space point at them) and the MSI-X table and
 * PBA.  A device embeds a struct virtio_pci and fills @ops.
 */
#include <pthread.h>

#include "vmm/pci.h"

#define VIRTIO_PCI_MAX_QUEUES	4

struct virtio_pci;
struct vm;
struct irq_routing;

struct virtio_pci_ops {
	/* A guest access to the device-specific config at @off (lock held). */
	void (*config)(struct virtio_pci *vp, u64 off, bool is_write, u8 *data,
		       unsigned int size);
	/* The driver kicked queue @q (vCPU thread; must not take the lock). */
	void (*notify)(struct virtio_pci *vp, unsigned int q);
	/* Status went to 0: stop using the queues (lock held). */
	void (*reset)(struct virtio_pci *vp);
};

struct virtio_pci {
	struct pci_function fn;
	const struct virtio_pci_ops *ops;
	void *opaque;
	struct irq_routing *irq;
	u16 dev_id;		/* the device's id (device.h): tags its ioeventfds */
	bool doorbells;		/* notify ioeventfds attached (virtio_pci__doorbell_fd()) */
	/* Taken by vCPUs (BAR accesses) and the device's own thread. */
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	struct virtio_dev_status st;
	u32 dfselect, gfselect;
	u16 msix_config;
	u16 queue_select;
	u8 isr;
	u8 config_generation;
	unsigned int nr_queues;
	struct virtq vqs[VIRTIO_PCI_MAX_QUEUES];
};

/*
 * Set @vp up as virtio device @type (VIRTIO_ID_*) with @nr_queues queues
 * offering @features (VIRTIO_F_VERSION_1 is added), PCI class
 * @class_code; then pci__add() puts it on the bus.  0 or -errno.
 */
int virtio_pci__init(struct virtio_pci *vp, struct vm *vm, const char *name, u16 dev_id,
		     u16 type, u32 class_code, unsigned int nr_queues, u64 features,
		     const struct virtio_pci_ops *ops, void *opaque);
/*
 * The ioeventfd of queue @q's doorbell (the irq routing's, borrowed), or
 * -ENOENT before the driver is up: until then doorbells are trapped
 * writes that call ops->notify().  Attached at DRIVER_OK, where the BAR
 * is placed, then ops->notify() is called once per queue so the device
 * starts reading it; kept (and kept across a live upgrade by the irq
 * device) until virtio_pci__doorbells_off().
 */
int virtio_pci__doorbell_fd(struct virtio_pci *vp, unsigned int q);
void virtio_pci__doorbells_off(struct virtio_pci *vp);
/* Interrupt the driver for queue @q (its MSI-X vector); caller holds no lock. */
void virtio_pci__signal_queue(struct virtio_pci *vp, unsigned int q);
/* A ring is inconsistent: set DEVICE_NEEDS_RESET and tell the driver (lock held). */
void virtio_pci__needs_reset(struct virtio_pci *vp, const char *why);

/*
 * The transport's and the queues' state for a live upgrade, the first
 * part of every virtio device's record (state.h); restore checks that the
 * device offers what it did and maps the rings again.  0 or -EINVAL.
 */
struct state_virtio_pci;
void virtio_pci__save(struct virtio_pci *vp, struct state_virtio_pci *st);
int virtio_pci__restore(struct virtio_pci *vp, const struct state_virtio_pci *st);

/* Split a --disk argument into its path and options: 0 or -EINVAL. */
int virtio_blk__parse(const char *arg, char *path, size_t len, bool *readonly);

/* A --net argument: tap=NAME or fd=N, then optionally ,mac=MAC. */
struct virtio_net_opts {
	char ifname[16];		/* IFNAMSIZ */
	int fd;				/* -1: open the tap @ifname */
	u8 mac[6];			/* default 52:54:00:12:34:(0x56 + index) */
};

/* Parse --net argument @arg of device @i: 0 or -EINVAL. */
int virtio_net__parse(const char *arg, unsigned int i, struct virtio_net_opts *o);

/*
 * For the unit tests: a virtio-net device (--net @arg, whose tap=/fd= is
 * ignored) on @fd, a packet socket standing in for a configured tap; the
 * device owns @fd.  NULL on failure.
 */
struct virtio_net;
struct virtio_net *virtio_net__create(struct vm *vm, const char *arg, int fd);
void virtio_net__destroy(struct vm *vm, struct virtio_net *net);
struct virtio_pci *virtio_net__pci(struct virtio_net *net);

#endif
