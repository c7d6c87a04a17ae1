// SPDX-License-Identifier: GPL-2.0
/*
 * The ACPI tables without a VM (x86/acpi.c): the RSDP where Linux's scan
 * finds it, every checksum, the XSDT's pointers, the FADT's PM1a blocks,
 * SCI and DSDT, the DSDT's \_S5 AML byte for byte, and a MADT entry per
 * CPU for 1 to 254 CPUs; 255 CPUs refused.
 */
#include <stddef.h>
#include <string.h>

#include "testlib.h"
#include "vmm/kvm.h"
#include "vmm/pci.h"
#include "vmm/x86/acpi.h"
#include "vmm/x86/boot.h"

static u8 area[ACPI_AREA_SIZE];

/* The table at guest address @gpa, checked: inside the area, checksum 0. */
static const void *table(u64 gpa, const char *sig)
{
	const struct acpi_table_header *h;

	TEST_ASSERT(gpa >= ACPI_AREA_GPA && gpa + sizeof(*h) <= ACPI_AREA_GPA + ACPI_AREA_SIZE,
		    "%s at %#llx, outside the area", sig, (unsigned long long)gpa);
	h = (const void *)(area + (gpa - ACPI_AREA_GPA));
	TEST_ASSERT(!memcmp(h->signature, sig, 4), "signature %.4s, expected %s",
		    h->signature, sig);
	TEST_ASSERT(gpa + h->length <= ACPI_AREA_GPA + ACPI_AREA_SIZE, "%s overruns the area", sig);
	TEST_ASSERT(acpi__sum(h, h->length) == 0, "%s checksum", sig);
	TEST_ASSERT(!memcmp(h->oem_id, "CPRSTA", 6), "%s OEM id", sig);
	return h;
}

/* An AML PkgLength at @p: the length it encodes, its own size in *@n. */
static size_t pkglen(const u8 *p, size_t *n)
{
	size_t len, i;

	*n = 1 + (p[0] >> 6);
	if (*n == 1)
		return p[0] & 0x3f;
	len = p[0] & 0xf;
	for (i = 1; i < *n; i++)
		len |= (size_t)p[i] << (4 + 8 * (i - 1));
	return len;
}

/*
 * _CRS, a buffer of address space descriptors: buses 0-255, I/O around
 * 0xcf8-0xcff, the 32-bit and 64-bit BAR windows of pci.h, an end tag.
 * Returns its size.
 */
static size_t check_crs(const u8 *p)
{
	static const u8 name[] = { 0x08, '_', 'C', 'R', 'S', 0x11 };
	static const u8 bus[] = { 0x88, 13, 0, 2, 0x0c, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 1 };
	const u8 *d;
	size_t n, len;
	u32 min, max;
	u64 min64;

	TEST_ASSERT(!memcmp(p, name, sizeof(name)), "_CRS");
	len = pkglen(p + sizeof(name), &n);
	d = p + sizeof(name) + n;
	TEST_ASSERT(d[0] == 0x0a && d[1] == len - n - 2, "_CRS buffer size %u", d[1]);
	d += 2;
	TEST_ASSERT(!memcmp(d, bus, sizeof(bus)), "bus numbers 0-255");
	d += 16;
	TEST_ASSERT(d[0] == 0x88 && d[3] == 1 && d[10] == 0xf7 && d[11] == 0x0c, "I/O below 0xcf8");
	d += 16;
	TEST_ASSERT(d[0] == 0x88 && d[3] == 1 && d[8] == 0x00 && d[9] == 0x0d, "I/O from 0xd00");
	d += 16;
	memcpy(&min, d + 10, 4);
	memcpy(&max, d + 14, 4);
	TEST_ASSERT(d[0] == 0x87 && d[3] == 0 && min == PCI_MMIO32_START &&
		    max == PCI_MMIO32_END - 1, "32-bit window %#x-%#x", min, max);
	d += 26;
	memcpy(&min64, d + 14, 8);
	TEST_ASSERT(d[0] == 0x8a && min64 == PCI_MMIO64_START, "64-bit window");
	d += 46;
	TEST_ASSERT(d[0] == 0x79 && d + 2 == p + sizeof(name) + len, "end tag");
	return sizeof(name) + len;
}

/*
 * Scope (\_SB) { Device (PCI0) { _HID PNP0A03, _UID 0, _CRS, _PRT } }: every
 * PkgLength spans to the end, and the _PRT routes INTx pin p of slot s to
 * GSI 16 + (s + p) % 4 for slots 1-31, as pci/pci.c wires them.
 */
static void check_pci_aml(const u8 *p, size_t len)
{
	static const u8 hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	static const u8 prt[] = { 0x08, '_', 'P', 'R', 'T', 0x12 };
	size_t n, off, i;
	unsigned int slot, pin;

	TEST_ASSERT(p[0] == 0x10 && pkglen(p + 1, &n) == len - 1, "scope length");
	off = 1 + n;
	TEST_ASSERT(!memcmp(p + off, "\\_SB_", 5), "scope \\_SB");
	off += 5;
	TEST_ASSERT(p[off] == 0x5b && p[off + 1] == 0x82 &&
		    pkglen(p + off + 2, &n) == len - off - 2, "device length");
	off += 2 + n;
	TEST_ASSERT(!memcmp(p + off, "PCI0", 4) && !memcmp(p + off + 4, hid, sizeof(hid)),
		    "PCI0 is a PNP0A03");
	off += 4 + sizeof(hid) + 6;	/* Name (_UID, Zero) */
	off += check_crs(p + off);
	TEST_ASSERT(!memcmp(p + off, prt, sizeof(prt)), "_PRT");
	off += sizeof(prt);
	TEST_ASSERT(pkglen(p + off, &n) == len - off, "_PRT length");
	off += n;
	TEST_ASSERT(p[off++] == 31 * 4, "%u _PRT entries", p[off - 1]);
	for (slot = 1; slot < 32; slot++) {
		for (pin = 0; pin < 4; pin++) {
			const u8 want[] = { 0x12, 12, 4, 0x0c, 0xff, 0xff, (u8)slot, 0,
					    0x0a, (u8)pin, 0x00, 0x0a, (u8)(16 + (slot + pin) % 4) };

			for (i = 0; i < sizeof(want); i++)
				TEST_ASSERT(p[off + i] == want[i], "_PRT slot %u pin %u byte %zu",
					    slot, pin, i);
			off += sizeof(want);
		}
	}
	TEST_ASSERT(off == len, "%zu bytes after the _PRT", len - off);
}

static void check_gas(const struct acpi_gas *g, u16 port, u8 bytes, const char *what)
{
	TEST_ASSERT(g->space_id == 1 && g->address == port && g->bit_width == bytes * 8 &&
		    g->bit_offset == 0, "%s: space %u address %#llx width %u", what,
		    g->space_id, (unsigned long long)g->address, g->bit_width);
}

static void test_tables(unsigned int cpus)
{
	const struct acpi_rsdp *rsdp = (const void *)area;
	const struct acpi_table_header *xsdt, *dsdt;
	const struct acpi_fadt *fadt;
	const struct acpi_madt *madt;
	const struct acpi_facs *facs;
	unsigned int lapics = 0, ioapics = 0, overrides = 0, nmis = 0;
	u64 ptr[2];
	const u8 *p, *end;

	memset(area, 0xa5, sizeof(area));
	TEST_ASSERT(acpi__write(area, ACPI_AREA_GPA, cpus) == 0, "%u cpus", cpus);

	/* RSDP: 16-byte aligned in 0xe0000..0xfffff, both checksums. */
	TEST_ASSERT((ACPI_AREA_GPA + ACPI_RSDP_OFFSET) % 16 == 0 &&
		    ACPI_AREA_GPA + ACPI_RSDP_OFFSET >= 0xe0000 &&
		    ACPI_AREA_GPA + ACPI_AREA_SIZE <= 0x100000, "RSDP outside Linux's scan");
	TEST_ASSERT(ACPI_AREA_GPA >= 0xa0000 && ACPI_AREA_GPA < BOOT_KERNEL_GPA,
		    "tables not in the legacy hole (e820 would call them RAM)");
	TEST_ASSERT(!memcmp(rsdp->signature, "RSD PTR ", 8), "RSDP signature");
	TEST_ASSERT(acpi__sum(rsdp, 20) == 0, "RSDP checksum (20 bytes)");
	TEST_ASSERT(rsdp->revision == 2 && rsdp->length == 36 && acpi__sum(rsdp, 36) == 0,
		    "RSDP 2.0 extended checksum");

	/* XSDT: FADT and MADT. */
	xsdt = table(rsdp->xsdt_address, "XSDT");
	TEST_ASSERT(xsdt->length == 36 + 16, "XSDT length %u", xsdt->length);
	memcpy(ptr, xsdt + 1, sizeof(ptr));
	fadt = table(ptr[0], "FACP");
	madt = table(ptr[1], "APIC");

	/* FADT: ACPI 6.0 size, not hardware reduced, PM1a blocks, SCI 9. */
	TEST_ASSERT(fadt->header.length == 276 && fadt->header.revision == 6, "FADT v%u, %u bytes",
		    fadt->header.revision, fadt->header.length);
	TEST_ASSERT(!(fadt->flags & (1u << 20)), "FADT is hardware reduced");
	TEST_ASSERT(fadt->sci_int == 9 && fadt->smi_cmd == 0, "SCI %u, SMI_CMD %#x",
		    fadt->sci_int, fadt->smi_cmd);
	TEST_ASSERT(fadt->pm1a_evt_blk == ACPI_PM1A_EVT_PORT && fadt->pm1_evt_len == 4 &&
		    fadt->pm1a_cnt_blk == ACPI_PM1A_CNT_PORT && fadt->pm1_cnt_len == 2,
		    "PM1a blocks %#x/%u %#x/%u", fadt->pm1a_evt_blk, fadt->pm1_evt_len,
		    fadt->pm1a_cnt_blk, fadt->pm1_cnt_len);
	TEST_ASSERT(!fadt->pm1b_evt_blk && !fadt->pm1b_cnt_blk && !fadt->pm_tmr_blk &&
		    !fadt->gpe0_blk && !fadt->gpe1_blk, "unexpected FADT blocks");
	check_gas(&fadt->x_pm1a_evt_blk, ACPI_PM1A_EVT_PORT, 4, "X_PM1a_EVT_BLK");
	check_gas(&fadt->x_pm1a_cnt_blk, ACPI_PM1A_CNT_PORT, 2, "X_PM1a_CNT_BLK");
	check_gas(&fadt->reset_reg, 0xcf9, 1, "RESET_REG");
	TEST_ASSERT(fadt->reset_value == 6 && (fadt->flags & ACPI_FADT_RESET_REG_SUP),
		    "reset register value %#x", fadt->reset_value);
	TEST_ASSERT(fadt->dsdt == fadt->x_dsdt, "32- and 64-bit DSDT pointers disagree");
	TEST_ASSERT(fadt->firmware_ctrl && !fadt->x_firmware_ctrl,
		    "FACS pointer: one of FIRMWARE_CTRL, X_FIRMWARE_CTRL");

	/* FACS: 64-byte aligned, no checksum. */
	TEST_ASSERT(fadt->firmware_ctrl % 64 == 0, "FACS at %#x not 64-byte aligned",
		    fadt->firmware_ctrl);
	facs = (const void *)(area + (fadt->firmware_ctrl - ACPI_AREA_GPA));
	TEST_ASSERT(!memcmp(facs->signature, "FACS", 4) && facs->length == 64, "FACS");

	/* DSDT: Name (\_S5, Package (4) { 5, 5, 0, 0 }), then \_SB.PCI0. */
	dsdt = table(fadt->dsdt, "DSDT");
	{
		static const u8 aml[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
					  0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };

		TEST_ASSERT(dsdt->length > 36 + sizeof(aml) && dsdt->revision == 2,
			    "DSDT length %u", dsdt->length);
		TEST_ASSERT(!memcmp(dsdt + 1, aml, sizeof(aml)), "DSDT AML");
		/* PkgLength counts itself and everything after it. */
		TEST_ASSERT(aml[7] == sizeof(aml) - 7, "package length");
		TEST_ASSERT(aml[10] == ACPI_SLP_TYP_S5, "SLP_TYP");
		check_pci_aml((const u8 *)(dsdt + 1) + sizeof(aml),
			      dsdt->length - 36 - sizeof(aml));
	}

	/* MADT: a LAPIC per CPU (APIC id = UID = index), IOAPIC, SCI override, NMI. */
	TEST_ASSERT(madt->lapic_address == LAPIC_BASE && madt->flags == 1, "MADT header");
	p = (const u8 *)(madt + 1);
	end = (const u8 *)madt + madt->header.length;
	while (p < end) {
		TEST_ASSERT(p[1] >= 2 && p + p[1] <= end, "MADT entry length %u", p[1]);
		switch (p[0]) {
		case ACPI_MADT_LAPIC: {
			const struct acpi_madt_lapic *l = (const void *)p;

			TEST_ASSERT(l->length == 8 && l->apic_id == lapics &&
				    l->processor_uid == lapics && l->flags == 1,
				    "LAPIC entry %u: id %u", lapics, l->apic_id);
			lapics++;
			break;
		}
		case ACPI_MADT_IOAPIC: {
			const struct acpi_madt_ioapic *io = (const void *)p;

			TEST_ASSERT(io->length == 12 && io->address == IOAPIC_BASE &&
				    io->gsi_base == 0 && io->ioapic_id == cpus, "IOAPIC entry");
			ioapics++;
			break;
		}
		case ACPI_MADT_INT_OVERRIDE: {
			const struct acpi_madt_int_override *o = (const void *)p;

			/* IRQ 0 stays on pin 0: KVM's default routing. */
			TEST_ASSERT(o->length == 10 && o->bus == 0 && o->source == 9 &&
				    o->gsi == 9 && o->flags == 0xd, "override of IRQ %u", o->source);
			overrides++;
			break;
		}
		case ACPI_MADT_LAPIC_NMI:
			TEST_ASSERT(p[1] == 6 && p[2] == 0xff && p[5] == 1, "LAPIC NMI entry");
			nmis++;
			break;
		default:
			TEST_ASSERT(0, "MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	TEST_ASSERT(lapics == cpus && ioapics == 1 && overrides == 1 && nmis == 1,
		    "MADT: %u LAPICs, %u IOAPICs, %u overrides, %u NMIs",
		    lapics, ioapics, overrides, nmis);

	/* No two tables overlap. */
	TEST_ASSERT(ACPI_FACS_OFFSET >= 36 && ACPI_XSDT_OFFSET >= ACPI_FACS_OFFSET + 64 &&
		    ACPI_FADT_OFFSET >= ACPI_XSDT_OFFSET + xsdt->length &&
		    ACPI_MADT_OFFSET >= ACPI_FADT_OFFSET + fadt->header.length &&
		    ACPI_DSDT_OFFSET >= ACPI_MADT_OFFSET + madt->header.length &&
		    ACPI_DSDT_OFFSET + dsdt->length <= ACPI_AREA_SIZE, "tables overlap");
}

int main(void)
{
	unsigned int cpus[] = { 1, 2, 4, 64, 254 }, i;

	for (i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++)
		test_tables(cpus[i]);
	printf("ok: ACPI tables for 1 to 254 CPUs\n");
	TEST_ASSERT(acpi__write(area, ACPI_AREA_GPA, 255) != 0, "255 CPUs accepted");
	TEST_ASSERT(acpi__write(area, ACPI_AREA_GPA, 0) != 0, "0 CPUs accepted");
	printf("ok: 0 and 255 CPUs refused\n");
	return 0;
}
