/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI (pci/pci.c, pci/msi.c): one host bridge with configuration
 * mechanism #1 (ports 0xcf8/0xcfc), bus 0, 32 slots, the bridge itself at
 * 00:00.0 (Documentation/vmm.rst, "PCI and interrupt routing").
 *
 * A function (emulated, or passed through by VFIO) is a struct
 * pci_function its owner embeds and fills: identity in its config space
 * (pci_function__init()), BARs, capabilities, and hooks.  pci.c keeps an
 * emulated config space for it and does what firmware and the chipset do:
 * places the BARs in the PCI hole, maps or traps them while the command
 * register enables decode, moves them when the guest writes a new base,
 * and emulates the MSI and MSI-X capabilities, each vector becoming an
 * MSI route and an irqfd (irq.h).
 *
 * Address map (all decided here, like firmware would):
 *	I/O BARs			0xc000 - 0xffff
 *	32-bit memory BARs		0xc0000000 - 0xfebfffff (below the IOAPIC)
 *	64-bit memory BARs		PCI_MMIO64_START up, PCI_MMIO64_SIZE
 *
 * Locks, in order: the bus's config lock (config cycles, adding and
 * removing functions, BAR moves) -> the MMIO bus lock -> a function's
 * MSI lock (vector state; MSI-X table accesses take it directly from MMIO
 * dispatch) -> the irq routing's lock.  Hooks are called as each says.
 */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <pthread.h>

#include "vmm/mmio.h"
#include "vmm/util.h"

struct vm;
struct vcpu;
struct irq_routing;
struct kvm;
struct pci_bus;
struct pci_function;

#define PCI_CONFIG_ADDRESS	0xcf8
#define PCI_CONFIG_DATA		0xcfc
#define PCI_CFG_SIZE		256	/* mechanism #1 reaches 256 bytes */
#define PCI_MAX_SLOTS		32
#define PCI_NR_BARS		6
#ifndef PCI_DEVFN	/* as <linux/pci.h> has it */
#define PCI_DEVFN(slot, fn)	((((slot) & 0x1f) << 3) | ((fn) & 0x07))
#endif

#define PCI_IO_START		0xc000
#define PCI_IO_END		0x10000
#define PCI_MMIO32_START	0xc0000000ULL	/* GUEST_PCI_HOLE_START */
#define PCI_MMIO32_END		0xfec00000ULL	/* IOAPIC_BASE */
#define PCI_MMIO64_START	0x8000000000ULL	/* 512 GiB: above any RAM */
#define PCI_MMIO64_SIZE		0x8000000000ULL

/* The host bridge's identity (00:00.0): an Intel 440FX-like bridge. */
#define PCI_HOST_VENDOR		0x8086
#define PCI_HOST_DEVICE		0x1237

/*
 * irqfd tags (irq.h) of PCI vectors: bit 31 set, so they never meet
 * IRQ_TAG() of a device with an id below 0x8000.
 */
#define PCI_IRQ_TAG(devfn, vector)	(0x80000000u | ((u32)(devfn) << 12) | (vector))
#define PCI_IRQ_VECTOR_INTX		0xfff

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,		/* takes the next BAR slot too */
};

/* A trapped range inside a mapped BAR, e.g. VFIO's MSI-X table. */
struct pci_bar_hole {
	u64 offset;		/* page-aligned, in the BAR */
	u64 len;		/* page-aligned */
};
#define PCI_BAR_MAX_HOLES	2

struct pci_bar {
	/* Filled by the owner before pci__add(). */
	enum pci_bar_type type;
	bool prefetchable;
	u64 size;		/* a power of two: >= 4 (I/O), >= 16 (memory) */
	/*
	 * Host memory to map with a KVM memslot while decoded (memory BARs,
	 * page-aligned size), or NULL: every access is trapped and goes to
	 * ops->bar_access() (or to MSI-X emulation if the table is here).
	 */
	void *hva;
	unsigned int nr_holes;
	struct pci_bar_hole holes[PCI_BAR_MAX_HOLES];

	/* pci.c's: where the BAR is and how it is decoded now. */
	u64 addr;		/* base the guest (or placement) programmed */
	bool decoded;		/* mapped or trapped at @addr */
	int memslots[PCI_BAR_MAX_HOLES + 1];	/* -1: none */
	struct mmio_range traps[PCI_BAR_MAX_HOLES + 1];
};

/* One MSI or MSI-X vector as the hooks see it. */
struct pci_msi_vector {
	bool enabled;		/* MSI/MSI-X on and this vector in use */
	bool masked;		/* by its mask bit or the function mask */
	u64 addr;
	u32 data;
	u32 gsi;		/* its MSI route (enabled only) */
	/*
	 * The eventfd that raises it (enabled only): the irq routing's, so a
	 * passthrough function hands it to VFIO_DEVICE_SET_IRQS, an emulated
	 * one writes it (pci_function__msi_raise()).  While the vector is
	 * masked its irqfd is detached and a write stays pending in the
	 * eventfd (the PBA bit), delivered when it is unmasked.
	 */
	int fd;
	/*
	 * Told at a live upgrade's restore, not by the guest: a kept device
	 * already signals @fd (the irq routing keeps its eventfds), so the
	 * function learns it and sets nothing.
	 */
	bool restored;
};

struct pci_function_ops {
	/*
	 * A guest config read/write of @size (1, 2, 4) bytes at @off.  NULL:
	 * the emulated model alone (pci_function__cfg_read/write()).  A
	 * passthrough function calls those for every byte that
	 * pci_function__cfg_is_virtual() names and reads/writes its device
	 * for the rest; a command register write goes to both (decode is
	 * the model's, bus master and the rest the device's).  Called with
	 * the bus's config lock held.
	 */
	u32 (*cfg_read)(struct pci_function *fn, unsigned int off, unsigned int size);
	void (*cfg_write)(struct pci_function *fn, unsigned int off, unsigned int size,
			  u32 val);
	/*
	 * An access to a trapped BAR (or a hole of a mapped one) that is not
	 * the MSI-X table or PBA: @off from the BAR's start.  vCPU thread, no
	 * PCI lock held; the function does its own locking.
	 */
	void (*bar_access)(struct pci_function *fn, unsigned int bar, u64 off, bool is_write,
			   u8 *data, unsigned int size);
	/*
	 * MSI or MSI-X vector @vector changed (enabled, disabled, masked,
	 * unmasked, or a new message) after pci.c updated its route and irqfd.
	 * Optional.  Called with the function's MSI lock held: it must not
	 * call back into pci_function__*().
	 */
	void (*msi_changed)(struct pci_function *fn, bool msix, unsigned int vector,
			    const struct pci_msi_vector *v);
};

struct pci_msi;
struct pci_msix;

struct pci_function {
	/* Filled by the owner (pci_function__init() and the BARs). */
	const struct pci_function_ops *ops;
	void *opaque;
	const char *name;
	struct pci_bar bars[PCI_NR_BARS];

	/* pci.c's. */
	struct pci_bus *bus;
	u8 devfn;
	u8 cfg[PCI_CFG_SIZE];	/* the emulated config space */
	u8 wmask[PCI_CFG_SIZE];	/* bits a guest write may change */
	u8 virt[PCI_CFG_SIZE];	/* bytes pci.c emulates (cfg_is_virtual) */
	u8 next_cap;		/* where pci_function__add_cap() puts the next */
	u32 intx_gsi;		/* IOAPIC pin of INTx, 0: none */
	pthread_mutex_t msi_lock;
	struct pci_msi *msi;
	struct pci_msix *msix;
};

/*
 * A function with this identity: type-0 header, status "capabilities
 * list" once one is added, @class_code the 24-bit class/subclass/prog-if,
 * @intx_pin 0 (none) or 1-4 (INTA-INTD).
 */
void pci_function__init(struct pci_function *fn, const struct pci_function_ops *ops,
			void *opaque, const char *name, u16 vendor, u16 device,
			u32 class_code, u8 intx_pin);

/*
 * Append capability @id of @len bytes (header included) to the list:
 * returns its offset, or -ENOSPC.  Its body is the function's to fill in
 * fn->cfg (and fn->wmask for guest-writable bits).
 */
int pci_function__add_cap(struct pci_function *fn, u8 id, u8 len);
/*
 * MSI with @nr_vectors (1-32, a power of two), 64-bit addresses and
 * per-vector masking.  @at: 0 appends a new capability; else the
 * capability already in fn->cfg at @at (a passthrough device's copy) is
 * emulated in place.  0 or -errno.
 */
int pci_function__add_msi(struct pci_function *fn, unsigned int nr_vectors, u8 at);
/*
 * MSI-X with @nr_vectors (1-2048), its table at @table_off in BAR
 * @table_bar and PBA at @pba_off in BAR @pba_bar, both trapped and
 * emulated here (in a mapped BAR they must lie in holes).  @at as for
 * pci_function__add_msi().  0 or -errno.
 */
int pci_function__add_msix(struct pci_function *fn, unsigned int nr_vectors,
			   unsigned int table_bar, u32 table_off,
			   unsigned int pba_bar, u32 pba_off, u8 at);

/* The emulated model's config access (what NULL cfg hooks mean). */
u32 pci_function__cfg_read(struct pci_function *fn, unsigned int off, unsigned int size);
void pci_function__cfg_write(struct pci_function *fn, unsigned int off, unsigned int size,
			     u32 val);
/*
 * True if config byte @off is pci.c's to emulate even for a passthrough
 * function: the BARs, the expansion ROM BAR, the command register's decode
 * bits, interrupt line/pin, and the MSI and MSI-X capabilities' bodies.
 */
bool pci_function__cfg_is_virtual(const struct pci_function *fn, unsigned int off);

/*
 * Emulated functions: raise MSI/MSI-X vector @vector (-EINVAL if it is
 * not enabled; a masked vector becomes pending), or assert INTx, level:
 * KVM deasserts it at the guest's EOI and signals the resample eventfd
 * (pci_function__intx_resample_fd()); assert again if still pending.
 */
int pci_function__msi_raise(struct pci_function *fn, unsigned int vector);
int pci_function__intx_assert(struct pci_function *fn);
int pci_function__intx_resample_fd(struct pci_function *fn);
/* The INTx trigger eventfd (a passthrough function gives it to VFIO), or -ENOENT. */
int pci_function__intx_fd(struct pci_function *fn);

/*
 * Put @fn on @vm's bus at @slot (1-31; -1: the first free), place its
 * BARs, connect INTx.  Config space is then the guest's: the BARs are
 * decoded once it sets the command register's decode bits.  0 or -errno
 * (-EBUSY: slot taken, -ENOSPC: no slot or no room for a BAR).
 */
int pci__add(struct vm *vm, struct pci_function *fn, int slot);
/*
 * Unmap, untrap, disconnect and take @fn off the bus, and free what
 * pci_function__init() and __add_msi()/__add_msix() set up: call it also
 * when pci__add() failed or never ran.
 */
void pci__remove(struct vm *vm, struct pci_function *fn);

/*
 * The bus alone, for unit tests and the device: created with the MMIO bus,
 * irq routing and KVM VM (memslots) it uses; the device claims its ports
 * on the VM's I/O bus.  Its KVM calls go through irq_kvm_ioctl (irq.h).
 * NULL on -ENOMEM.
 */
struct pci_bus *pci_bus__create(struct mmio_bus *mmio, struct irq_routing *irq,
				struct kvm *kvm);
void pci_bus__destroy(struct pci_bus *bus);
/* Port I/O of the bus: 0xcf8, 0xcfc-0xcff and the I/O BAR window. */
void pci_bus__io(void *opaque, struct vcpu *vcpu, u16 port, bool is_write, u8 *data,
		 unsigned int size);
/* Claim those ports on @io (the device does, on the VM's). */
struct ioport_bus;
int pci_bus__claim_ports(struct pci_bus *bus, struct ioport_bus *io);
int pci_bus__add(struct pci_bus *bus, struct pci_function *fn, int slot);
void pci_bus__remove(struct pci_bus *bus, struct pci_function *fn);
/* The function at @devfn, or NULL. */
struct pci_function *pci_bus__function(struct pci_bus *bus, u8 devfn);
/* Append a STATE_DEV_PCI_FN record per function (the device's save). */
struct state_buf;
void pci_bus__save(struct pci_bus *bus, struct state_buf *b);
/*
 * Put saved state @s (@len bytes, a STATE_DEV_PCI_FN record) back into
 * @fn, on the bus again after a live upgrade: config space, BAR decode,
 * vectors (whose routes and irqfds the irq routing already has, and
 * whose eventfds a kept device already signals: msi_changed() is told
 * with @restored set).  A kept VM has no BAR memslot of the old image
 * (the bus's freeze() deleted them): the BARs are mapped anew.
 */
struct state_pci_fn;
int pci_bus__restore_fn(struct pci_bus *bus, struct pci_function *fn,
			const struct state_pci_fn *s, u32 len);

/* The bus's device id (device.h): the irq routing is IRQ_DEVICE_ID. */
#define PCI_DEVICE_ID_BUS	17

#endif
