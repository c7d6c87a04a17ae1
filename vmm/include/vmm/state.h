/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM state records: the one format every save/restore path uses (the
 * in-process round trip, and the live upgrade's rebuild and cloexec modes).
 *
 * A state stream is a sequence of records, each a 16-byte header
 *	{ u32 magic "CPRS", u16 version, u16 type, u32 id, u32 len }
 * followed by @len payload bytes padded with zeros to 8 bytes, and closed
 * by a STATE_END record.  @id is the vCPU index for per-vCPU records and
 * 0 otherwise.  Decoding checks every header against the table of known
 * types and sizes before a payload is looked at; a stream with anything
 * unexpected (bad magic, newer version, unknown type, wrong size,
 * truncation, bytes after END, no END) is refused as a whole.
 */
#ifndef VMM_STATE_H
#define VMM_STATE_H

#include "vmm/util.h"

#define STATE_MAGIC		0x53525043	/* "CPRS" in memory */
#define STATE_VERSION		1
#define STATE_MAX_PAYLOAD	(1u << 20)

struct state_rec_hdr {
	u32 magic;
	u16 version;
	u16 type;
	u32 id;
	u32 len;
};

enum state_type {
	STATE_END		= 1,	/* empty, last */
	STATE_VM_INFO		= 2,	/* struct state_vm_info, first */
	STATE_MEM_LAYOUT	= 3,	/* struct state_mem_layout */

	/* Per vCPU (id = vCPU index), KVM's own structs. */
	STATE_VCPU_REGS		= 16,	/* struct kvm_regs */
	STATE_VCPU_SREGS	= 17,	/* struct kvm_sregs */
	STATE_VCPU_FPU		= 18,	/* struct kvm_fpu */
	STATE_VCPU_XSAVE	= 19,	/* struct kvm_xsave, 4 KiB or XSAVE2 size */
	STATE_VCPU_XCRS		= 20,	/* struct kvm_xcrs */
	STATE_VCPU_MSRS		= 21,	/* struct kvm_msrs + nmsrs entries */
	STATE_VCPU_LAPIC	= 22,	/* struct kvm_lapic_state */
	STATE_VCPU_EVENTS	= 23,	/* struct kvm_vcpu_events */
	STATE_VCPU_DEBUGREGS	= 24,	/* struct kvm_debugregs */
	STATE_VCPU_MP_STATE	= 25,	/* struct kvm_mp_state */

	/* VM-wide in-kernel devices. */
	STATE_PIC_MASTER	= 32,	/* struct kvm_irqchip, chip_id 0 */
	STATE_PIC_SLAVE		= 33,	/* struct kvm_irqchip, chip_id 1 */
	STATE_IOAPIC		= 34,	/* struct kvm_irqchip, chip_id 2 */
	STATE_PIT2		= 35,	/* struct kvm_pit_state2 */
	STATE_CLOCK		= 36,	/* struct kvm_clock_data */

	/* The VMM's device models. */
	STATE_DEV_SERIAL	= 48,	/* struct serial8250_state */
	STATE_DEV_RTC		= 49,	/* struct rtc_state */
	STATE_DEV_BUILTIN	= 50,	/* struct state_builtin */
	/* 51-63 and 80-127: further devices, each its own (device.h). */
	STATE_DEV_IRQ_ROUTES	= 80,	/* struct state_irq_route[]: MSI routes */
	STATE_DEV_IRQFD		= 81,	/* id = n: struct state_irqfd */
	STATE_DEV_IOEVENTFD	= 82,	/* id = n: struct state_ioeventfd */
	STATE_DEV_PCI_FN	= 83,	/* id = devfn: struct state_pci_fn */
	STATE_DEV_PCI_BUS	= 84,	/* struct state_pci_bus */
	STATE_DEV_VFIO		= 96,	/* struct state_vfio */
	STATE_DEV_VIRTIO_BLK	= 100,	/* id = --disk index: struct state_virtio_blk */
	STATE_DEV_VIRTIO_NET	= 101,	/* id = --net index: struct state_virtio_net */

	/* Live upgrade: what a new image needs to re-create the VMM. */
	STATE_UPG_INFO		= 64,	/* struct state_upgrade_info */
	STATE_UPG_ARGV		= 65,	/* argv[1..], each NUL-terminated */
	STATE_UPG_REQUEST	= 66,	/* the live-upgrade request line */
	STATE_UPG_FD		= 67,	/* id = n: struct state_upgrade_fd */
	STATE_UPG_CLIENT_BUF	= 68,	/* id = client slot: unread input */
};

struct state_vm_info {
	u32 nr_vcpus;
	u32 guest;		/* enum vmm_guest_kind */
	u64 mem_size;
	u32 tsc_khz;
	u32 flags;		/* STATE_VM_HUGEPAGES */
	u64 saved_realtime_ns;	/* CLOCK_REALTIME when saved: TSC catch-up */
};
#define STATE_VM_HUGEPAGES	1

struct state_mem_layout {
	u64 size;
	u64 hva;		/* where the old image mapped it (adopt) */
	u32 nr_regions;
	u32 pad;
	struct {
		u64 gpa, size, offset;
	} regions[2];
};

struct state_builtin {
	u64 exceptions;
	struct {
		u64 reported, reported_tsc, regressions, nr_reports;
	} host[64];
};

/*
 * VFIO passthrough (vfio/): the devices, in --vfio order, and the DMA
 * ranges mapped, so a new image knows which kept file is which and which
 * host addresses to give back to the IOMMU.
 */
/*
 * A virtio PCI device's transport and queue state (virtio/pci.c), the
 * first member of every virtio device's record.
 */
struct state_virtio_pci {
	u64 host_features;
	u64 guest_features;
	u32 dfselect, gfselect;
	u16 msix_config, queue_select;
	u8 status, isr, config_generation;
	u8 doorbells;			/* the notify ioeventfds are attached */
	u32 nr_queues;
	u32 pad;
	struct {
		u64 desc, avail, used;	/* guest-physical */
		u16 size, msix_vector, last_avail, used_idx;
		u8 ready;
		u8 pad[7];
	} vqs[4];
};

/*
 * A virtio-blk disk (virtio/blk.c).  No request is in flight when it is
 * saved (freeze drained them), so the indices say everything: the new
 * image serves the ring from last_avail.
 */
struct state_virtio_blk {
	struct state_virtio_pci vp;
	u64 capacity;			/* sectors: the kept file must agree */
};

/*
 * A virtio-net device (virtio/net.c).  Nothing is in flight when it is
 * saved (a packet is read or written whole, under the device's lock), so
 * the indices say everything; the tap is a kept file.
 */
struct state_virtio_net {
	struct state_virtio_pci vp;
	u8 mac[6];			/* the kept tap's device must agree */
	u8 pad[2];
};

struct state_vfio {
	u32 nr_devs;
	u32 nr_groups;
	u32 nr_dma;
	u32 pad;
	struct {
		char bdf[16];		/* canonical, NUL-terminated */
		u32 group;		/* IOMMU group number */
		u16 command;		/* config space command register */
		u16 msi_count;		/* MSI vectors enabled in the device */
		u16 msix_count;		/* MSI-X vectors enabled in the device */
		u16 pad[3];
	} devs[8];
	u32 groups[8];			/* IOMMU group numbers, kept fd order */
	struct {
		u64 iova, size;
	} dma[2];
};

/*
 * The interrupt routing (irq.c).  The default IOAPIC/PIC routes are not
 * saved: every table starts with them.  Kept eventfds are the irq device's
 * files @fd_n (and @resample_n, STATE_IRQFD_RESAMPLE).
 */
struct state_irq_route {
	u32 gsi;
	u32 data;
	u64 addr;
};

struct state_irqfd {
	u32 tag;
	u32 gsi;
	u32 flags;		/* STATE_IRQFD_* */
	u16 fd_n;
	u16 resample_n;
};
#define STATE_IRQFD_RESAMPLE	1
#define STATE_IRQFD_MASKED	2	/* not assigned in KVM (masked vector) */

struct state_ioeventfd {
	u32 tag;
	u32 flags;		/* STATE_IOEVENTFD_* */
	u64 addr;
	u64 data;
	u32 len;
	u16 fd_n;
	u16 pad;
};
#define STATE_IOEVENTFD_PIO		1
#define STATE_IOEVENTFD_DATAMATCH	2

/*
 * An emulated PCI function's config space and vector state (pci/): what a
 * new VM needs to decode its BARs and raise its vectors as the guest set
 * them up.
 */
struct state_pci_fn {
	u8 cfg[256];
	/*
	 * The old image's BAR memslots, -1: none.  Nothing reads them (the
	 * freeze deleted them from a kept VM); kept for the record's layout.
	 */
	s32 memslots[6][3];
	u32 msi_gsi[32];	/* MSI vectors' routes, 0: none */
	u32 nr_msix;		/* MSI-X vectors: entries follow in the record */
	u32 pad;
	struct {
		u64 addr;
		u32 data;
		u32 ctrl;	/* vector control (bit 0: masked) */
		u32 gsi;	/* its route, 0: none */
		u32 pad;
	} msix[];
};

/*
 * The upgrade records (upgrade/): timestamps are CLOCK_MONOTONIC in ns,
 * which is system-wide, so the new image subtracts the old image's.
 */
struct state_upgrade_info {
	u64 id;			/* random: names this upgrade in logs and replies */
	u64 generation;		/* upgrades of this VM, this one included */
	u32 mode;		/* enum upgrade_mode the old image chose */
	u32 requested_mode;	/* what the request asked for */
	u32 flags;		/* STATE_UPG_* */
	u32 requester;		/* control client slot that asked */
	u64 t_pause_start;	/* before the pause */
	u64 t_paused;		/* every vCPU parked */
	u64 t_saved;		/* VM state captured */
	u64 t_vm_start;		/* when the VM first started (uptime) */
	s32 keeper_pid;		/* cloexec: the process keeping the old mm */
	u32 freeze_us;		/* devices__freeze() (in-flight I/O drained); 0 if older */
	u8 tty[64];		/* struct termios to put back at exit */
	u64 guest_tsc[64];	/* built-in guest: each vCPU's TSC at the pause */
	u64 parked_tsc;		/* vCPU 0's guest TSC, every vCPU parked */
};
#define STATE_UPG_TTY_RAW	1	/* stdin is a terminal in raw mode */
#define STATE_UPG_ADOPT_ZAP	2	/* adopt drops the guest's mappings */

/* The host bridge's own state: what a config cycle in flight needs. */
struct state_pci_bus {
	u32 config_address;	/* the 0xcf8 latch */
	u32 reserved;
};

/* Which preserved file a STATE_UPG_FD record describes. */
enum state_fd_role {
	STATE_FD_GUEST_RAM	= 1,	/* the guest RAM memfd */
	STATE_FD_KVM_VM		= 2,
	STATE_FD_KVM_VCPU	= 3,	/* index: vCPU */
	STATE_FD_CONTROL_LISTEN	= 4,
	STATE_FD_CONTROL_CLIENT	= 5,	/* index: client slot */
	STATE_FD_SERIAL_LOG	= 6,
	STATE_FD_OLD_EXE	= 7,	/* the old binary, to roll back to */
	STATE_FD_MM_KEEPER	= 8,	/* cloexec: ends the old mm's keeper */
	STATE_FD_LOSS_WATCH	= 9,	/* write end of the loss watch (watch.c) */
	STATE_FD_DEVICE		= 10,	/* index: DEVICE_FD_INDEX() (device.h) */
};

struct state_upgrade_fd {
	u32 role;		/* enum state_fd_role */
	u32 index;
	s32 fd;			/* cloexec mode: its number; stash modes: -1 */
	u32 pad;
};

/* A growing buffer of records. */
struct state_buf {
	u8 *data;
	size_t len;
	size_t cap;
	int err;		/* first error; later puts are ignored */
};

void state_buf__init(struct state_buf *b);
void state_buf__free(struct state_buf *b);
/* Make room for @more bytes past the current length (no fault-in). */
int state_buf__reserve(struct state_buf *b, size_t more);
/* Append a record; errors stick in b->err. */
void state__put(struct state_buf *b, u16 type, u32 id, const void *payload, u32 len);
/*
 * Append a record of @len zeroed bytes and return its payload, to be filled
 * in place before the next put (NULL on error, in b->err).
 */
void *state__put_space(struct state_buf *b, u16 type, u32 id, u32 len);
void state__put_end(struct state_buf *b);

struct state_rec {
	u16 type;
	u32 id;
	u32 len;
	const void *payload;
};

struct state_cursor {
	const u8 *data;
	size_t len;
	size_t off;
	bool done;
};

void state_cursor__init(struct state_cursor *c, const void *data, size_t len);
/*
 * Next record: 1 with @rec filled, 0 after STATE_END, -EINVAL on a
 * malformed stream with @err saying why.
 */
int state__next(struct state_cursor *c, struct state_rec *rec, char *err, size_t errlen);
/* Walk a whole stream; 0 if every record and the framing are valid. */
int state__validate(const void *data, size_t len, char *err, size_t errlen);
const char *state__type_name(u16 type);

/* A validated stream's records, to look them up by type and id. */
struct state_index {
	struct state_rec *recs;
	unsigned int nr;
};

/* Validate @data and index every record: 0, or -errno with @err. */
int state_index__build(struct state_index *ix, const void *data, size_t len,
		       char *err, size_t errlen);
void state_index__free(struct state_index *ix);
const struct state_rec *state_index__find(const struct state_index *ix, u16 type, u32 id);

/* vm_state.c: whole-VM capture and restore through records. */
struct vm;
/* The VM must be paused (or not started). */
int vm_state__save(struct vm *vm, struct state_buf *b);
/*
 * The parts of vm_state__save(), for callers that split the stream (the
 * live upgrade stores each part as its own stash record): vm-info,
 * mem-layout, irqchips, PIT and clock; one vCPU; the device models.  The
 * caller closes the stream with state__put_end().
 */
struct vcpu;
int vm_state__save_machine(struct vm *vm, struct state_buf *b);
int vm_state__save_vcpu(struct vm *vm, struct vcpu *vcpu, struct state_buf *b);
/* The device models' records: devices__save() (device.h). */
/*
 * Restore into a VM created by vm__create() with the same configuration
 * and guest RAM, not yet started.  The guest's TSC is moved forward by the
 * wall-clock time since the save, so guest time keeps pace with the host.
 * The device models restore from the records, or from @in when a live
 * upgrade built them (NULL otherwise).
 */
struct device_in;
int vm_state__restore(struct vm *vm, const void *data, size_t len, struct device_in *in);
/* Only the device models (the VM itself was kept: live upgrade, adopt). */
int vm_state__restore_devices(struct vm *vm, const void *data, size_t len,
			      struct device_in *in);
/* The MSR list of vCPU 0's record: what the saving VMM found readable. */
int vm_state__msr_index(const void *data, size_t len, u32 **index, unsigned int *nr);

#endif
