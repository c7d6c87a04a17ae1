// SPDX-License-Identifier: GPL-2.0
/*
 * Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * learns its CPUs (one processor entry per vCPU, APIC id = vCPU id), the
 * IOAPIC and the ISA interrupt wiring.  Linux finds the floating pointer
 * by scanning the last KiB of base memory (639K).
 */
#include <errno.h>
#include <string.h>

#include "vmm/kvm.h"
#include "vmm/x86/boot.h"

#define MPC_APIC_VERSION	0x14
#define MPC_IOAPIC_VERSION	0x11

struct mpf_intel {
	char signature[4];		/* "_MP_" */
	u32 physptr;
	u8 length;			/* in 16-byte units */
	u8 specification;
	u8 checksum;
	u8 feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];		/* "PCMP" */
	u16 length;
	u8 spec;
	u8 checksum;
	char oem[8];
	char productid[12];
	u32 oemptr;
	u16 oemsize;
	u16 oemcount;
	u32 lapic;
	u32 reserved;
} __attribute__((packed));

struct mpc_cpu {
	u8 type, apicid, apicver, cpuflag;
	u32 cpufeature, featureflag;
	u32 reserved[2];
} __attribute__((packed));

struct mpc_bus {
	u8 type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	u8 type, apicid, apicver, flags;
	u32 apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	u8 type, irqtype;
	u16 irqflag;
	u8 srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };
#define CPU_ENABLED	1
#define CPU_BSP		2

static u8 mp_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return (u8)-sum;
}

int mptable__write(void *area, u64 gpa, unsigned int nr_cpus)
{
	struct mpf_intel *mpf = (void *)((u8 *)area + BOOT_MP_FLOAT_OFFSET);
	struct mpc_table *mpc = area;
	u8 *p = (u8 *)(mpc + 1);
	u8 ioapic_id = nr_cpus;		/* after the LAPIC ids */
	unsigned int i, entries = 0;

	if (sizeof(*mpc) + nr_cpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	    sizeof(struct mpc_ioapic) + 18 * sizeof(struct mpc_intsrc) >
	    BOOT_MP_FLOAT_OFFSET || nr_cpus > 254)
		return -E2BIG;
	memset(area, 0, BOOT_MP_AREA_SIZE);

	for (i = 0; i < nr_cpus; i++, entries++) {
		struct mpc_cpu *cpu = (void *)p;

		cpu->type = MP_PROCESSOR;
		cpu->apicid = i;
		cpu->apicver = MPC_APIC_VERSION;
		cpu->cpuflag = CPU_ENABLED | (i == 0 ? CPU_BSP : 0);
		cpu->cpufeature = 0x600;	/* family 6 */
		cpu->featureflag = 0x201;	/* FPU, APIC */
		p += sizeof(*cpu);
	}
	*(struct mpc_bus *)p = (struct mpc_bus){ MP_BUS, 0, "ISA   " };
	p += sizeof(struct mpc_bus);
	entries++;
	*(struct mpc_ioapic *)p = (struct mpc_ioapic){
		MP_IOAPIC, ioapic_id, MPC_IOAPIC_VERSION, 1, (u32)IOAPIC_BASE };
	p += sizeof(struct mpc_ioapic);
	entries++;
	/* KVM's default routing wires ISA IRQ n to IOAPIC pin n. */
	for (i = 0; i < 16; i++, entries++) {
		*(struct mpc_intsrc *)p = (struct mpc_intsrc){
			MP_INTSRC, MP_INT, 0, 0, i, ioapic_id, i };
		p += sizeof(struct mpc_intsrc);
	}
	/* Every LAPIC (0xff): LINT0 is the 8259's ExtINT, LINT1 is NMI. */
	*(struct mpc_intsrc *)p = (struct mpc_intsrc){ MP_LINTSRC, MP_EXTINT, 0, 0, 0, 0xff, 0 };
	p += sizeof(struct mpc_intsrc);
	*(struct mpc_intsrc *)p = (struct mpc_intsrc){ MP_LINTSRC, MP_NMI, 0, 0, 0, 0xff, 1 };
	p += sizeof(struct mpc_intsrc);
	entries += 2;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = p - (u8 *)mpc;
	mpc->spec = 4;
	memcpy(mpc->oem, "CPRSTASH", 8);
	memcpy(mpc->productid, "VMM         ", 12);
	mpc->oemcount = entries;
	mpc->lapic = (u32)LAPIC_BASE;
	mpc->checksum = mp_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (u32)gpa;
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
	return 0;
}
