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

/* A growing buffer of records. */
struct state_buf {
	u8 *data;
	size_t len;
	size_t cap;
	int err;		/* first error; later puts are ignored */
};

void state_buf__init(struct state_buf *b);
void state_buf__free(struct state_buf *b);
/* Append a record; errors stick in b->err. */
void state__put(struct state_buf *b, u16 type, u32 id, const void *payload, u32 len);
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

/* vm_state.c: whole-VM capture and restore through records. */
struct vm;
/* The VM must be paused (or not started). */
int vm_state__save(struct vm *vm, struct state_buf *b);
/*
 * Restore into a VM created by vm__create() with the same configuration
 * and guest RAM, not yet started.  The guest's TSC is moved forward by the
 * wall-clock time since the save, so guest time keeps pace with the host.
 */
int vm_state__restore(struct vm *vm, const void *data, size_t len);

#endif
