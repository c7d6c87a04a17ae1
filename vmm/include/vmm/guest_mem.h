/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest RAM: one memfd, mapped once MAP_SHARED, split into guest-physical
 * regions around the 32-bit PCI hole.  Everything the live upgrade needs to
 * keep or re-map guest RAM is in struct guest_mem.
 */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include "vmm/kvm.h"

#define GUEST_MEM_MIN		(64ULL << 20)
#define GUEST_MEM_MAX		(1ULL << 40)
/* RAM above 3 GiB is moved to 4 GiB: the IOAPIC and LAPIC live in between. */
#define GUEST_PCI_HOLE_START	0xc0000000ULL
#define GUEST_HIGH_START	0x100000000ULL

struct guest_mem_region {
	u64 gpa;		/* guest-physical start */
	u64 size;
	u64 offset;		/* offset in the memfd and in the mapping */
};

struct guest_mem {
	int memfd;		/* MFD_CLOEXEC, sealed against shrinking */
	u8 *hva;		/* whole memfd, MAP_SHARED */
	u64 size;		/* bytes of RAM */
	bool hugepages;		/* MFD_HUGETLB, 2 MiB pages */
	unsigned int nr_regions;
	struct guest_mem_region regions[2];
};

/* Check a --mem value: returns NULL if fine, else what is wrong with it. */
const char *guest_mem__check_size(u64 size, bool hugepages);

int guest_mem__create(struct guest_mem *mem, u64 size, bool hugepages);
/*
 * Map an existing guest RAM memfd (the live upgrade's new image), at
 * @fixed_hva if not NULL so KVM memslots keep their addresses.
 */
int guest_mem__adopt(struct guest_mem *mem, int memfd, u64 size,
		     bool hugepages, void *fixed_hva);
void guest_mem__destroy(struct guest_mem *mem);

int guest_mem__register(struct guest_mem *mem, struct kvm *kvm);

/* Host address of [gpa, gpa + len) if it is RAM, else NULL. */
void *guest_mem__gpa_to_hva(const struct guest_mem *mem, u64 gpa, u64 len);

/* End of RAM below the PCI hole (what the e820 map calls low memory). */
u64 guest_mem__low_end(const struct guest_mem *mem);

#endif
