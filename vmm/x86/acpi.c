// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest set of ACPI tables that lets a Linux guest power off:
 *
 *   RSDP (0xe0000, found by Linux's scan of the BIOS area)
 *    -> XSDT -> FADT -> FACS
 *                    -> DSDT: Name (\_S5, ...) and the PCI host bridge
 *            -> MADT: a LAPIC per vCPU, the IOAPIC, the SCI's override,
 *                     LINT1 as NMI
 *
 * The FADT is a full (not hardware-reduced) one: Linux then finds the S5
 * sleep type in the DSDT and powers off by writing SLP_TYP | SLP_EN to the
 * PM1a control block, which devices/power.c turns into a VMM exit.  There
 * is no SMI command port, so the guest is in ACPI mode from the start; no
 * PM timer, no GPE blocks.
 *
 * Interrupts keep the MP table's wiring (x86/mptable.c): ISA IRQ n is
 * IOAPIC pin n, as in KVM's default GSI routing, so IRQ 0 gets no
 * override to GSI 2 (that is only right where the VMM re-routes the PIT
 * to pin 2, as QEMU does).  The SCI (IRQ 9) gets an override that makes it
 * level triggered, active high, as on a PIIX4; nothing ever raises it.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmm/kvm.h"
#include "vmm/pci.h"
#include "vmm/x86/acpi.h"

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");
_Static_assert(sizeof(struct acpi_table_header) == 36, "header size");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS size");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT size (ACPI 6.0)");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS size");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT size");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT offset");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT layout");

#define ACPI_OEM_ID		"CPRSTA"
#define ACPI_OEM_TABLE_ID	"CPRSTASH"
#define ACPI_CREATOR_ID		"CPRS"

/*
 * DefinitionBlock body, ACPI 6.0 section 20 (AML grammar):
 *
 *   08              NameOp
 *   5c              RootChar '\'
 *   5f 53 35 5f     NameSeg "_S5_"
 *   12              PackageOp
 *   08              PkgLength: 8 bytes, itself included, to the end
 *   04              NumElements 4
 *   0a 05           BytePrefix 5: SLP_TYPa (PM1a_CNT.SLP_TYP for S5)
 *   0a 05           BytePrefix 5: SLP_TYPb (no PM1b block; unused)
 *   00              ZeroOp: reserved
 *   00              ZeroOp: reserved
 */
const u8 acpi_dsdt_aml[15] = {
	0x08, 0x5c, '_', 'S', '5', '_',
	0x12, 0x08, 0x04,
	0x0a, ACPI_SLP_TYP_S5, 0x0a, ACPI_SLP_TYP_S5,
	0x00, 0x00,
};

/*
 * A PkgLength (ACPI 6.0, 20.2.4) for @len bytes after it: one byte up to
 * 63 in all, else a lead byte with the count of following bytes and the
 * low nibble, then the rest 8 bits a byte.  The encoded length counts the
 * PkgLength itself.  Returns its size; @out gets it if not NULL.
 */
static size_t aml__pkglen(u8 *out, size_t len)
{
	size_t n, total;

	for (n = 1; n <= 4; n++) {
		total = len + n;
		if ((n == 1 && total <= 0x3f) || (n > 1 && total < 1u << (4 + 8 * (n - 1))))
			break;
	}
	if (out) {
		if (n == 1) {
			out[0] = (u8)total;
		} else {
			size_t i;

			out[0] = (u8)(((n - 1) << 6) | (total & 0xf));
			for (i = 1; i < n; i++)
				out[i] = (u8)(total >> (4 + 8 * (i - 1)));
		}
	}
	return n;
}

/* Put @body (@len bytes at @p + room for a PkgLength) after its PkgLength. */
static size_t aml__wrap(u8 *p, size_t len)
{
	size_t n = aml__pkglen(NULL, len);

	memmove(p + n, p, len);
	aml__pkglen(p, len);
	return n + len;
}

static size_t aml__bytes(u8 *p, const void *b, size_t len)
{
	memcpy(p, b, len);
	return len;
}

/*
 * _PRT: INTx pin p (0-3 = INTA-INTD) of slot s is IOAPIC pin
 * 16 + (s + p) % 4, as the PCI bus swizzles them (pci/pci.c), one
 * Package (4) { slot << 16 | 0xffff, pin, Zero, gsi } each.
 */
static size_t aml__prt(u8 *p)
{
	static const u8 name[] = { 0x08, '_', 'P', 'R', 'T', 0x12 };
	size_t n = aml__bytes(p, name, sizeof(name)), body;
	unsigned int slot, pin;
	u8 *pkg = p + n;

	body = 0;
	pkg[body++] = (PCI_MAX_SLOTS - 1) * 4;	/* NumElements */
	for (slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		for (pin = 0; pin < 4; pin++) {
			u32 addr = slot << 16 | 0xffff;
			u8 *e = pkg + body;
			size_t len = 0;

			e[len++] = 0x12;			/* PackageOp */
			e[len++] = 12;				/* PkgLength */
			e[len++] = 4;				/* NumElements */
			e[len++] = 0x0c;			/* DWordPrefix */
			memcpy(&e[len], &addr, 4);
			len += 4;
			e[len++] = 0x0a;			/* BytePrefix */
			e[len++] = (u8)pin;
			e[len++] = 0x00;			/* Zero: a GSI */
			e[len++] = 0x0a;
			e[len++] = (u8)(16 + (slot + pin) % 4);
			body += len;
		}
	}
	return n + aml__wrap(pkg, body);
}

/* An address space descriptor's common head (ACPI 6.0, 6.4.3.5). */
static size_t aml__addr_head(u8 *p, u8 tag, u16 len, u8 type, u8 type_flags)
{
	p[0] = tag;
	memcpy(p + 1, &len, 2);
	p[3] = type;
	p[4] = 0x0c;		/* MinFixed, MaxFixed, positive decode, producer */
	p[5] = type_flags;
	return 6;
}

/* WordBusNumber / WordIO: granularity, min, max, translation, length. */
static size_t aml__word(u8 *p, u8 type, u8 type_flags, u16 min, u16 max)
{
	u16 w[5] = { 0, min, max, 0, (u16)(max - min + 1) };
	size_t n = aml__addr_head(p, 0x88, 13, type, type_flags);

	memcpy(p + n, w, sizeof(w));
	return n + sizeof(w);
}

static size_t aml__dword_mem(u8 *p, u32 min, u32 max)
{
	u32 d[5] = { 0, min, max, 0, max - min + 1 };
	size_t n = aml__addr_head(p, 0x87, 23, 0, 0x01);	/* read-write */

	memcpy(p + n, d, sizeof(d));
	return n + sizeof(d);
}

static size_t aml__qword_mem(u8 *p, u64 min, u64 max)
{
	u64 q[5] = { 0, min, max, 0, max - min + 1 };
	size_t n = aml__addr_head(p, 0x8a, 43, 0, 0x01);

	memcpy(p + n, q, sizeof(q));
	return n + sizeof(q);
}

/*
 * _CRS: the windows the bridge forwards, where pci/pci.c places BARs.
 * Linux takes them as the root bus's resources and refuses BARs outside
 * them; without a _CRS the root bus would have none.
 */
static size_t aml__crs(u8 *p)
{
	static const u8 name[] = { 0x08, '_', 'C', 'R', 'S', 0x11 };
	size_t n = aml__bytes(p, name, sizeof(name)), b = 0;
	u8 *buf = p + n, *d;

	buf[b++] = 0x0a;				/* BufferSize, a byte */
	buf[b++] = 0;
	d = buf + b;
	b += aml__word(buf + b, 2, 0, 0, 0xff);		/* bus numbers */
	b += aml__word(buf + b, 1, 3, 0, PCI_CONFIG_ADDRESS - 1);
	b += aml__word(buf + b, 1, 3, PCI_CONFIG_DATA + 4, 0xffff);
	b += aml__dword_mem(buf + b, (u32)PCI_MMIO32_START, (u32)(PCI_MMIO32_END - 1));
	b += aml__qword_mem(buf + b, PCI_MMIO64_START, PCI_MMIO64_START + PCI_MMIO64_SIZE - 1);
	buf[b++] = 0x79;				/* EndTag, checksum 0 */
	buf[b++] = 0;
	buf[1] = (u8)(buf + b - d);
	return n + aml__wrap(buf, b);
}

/*
 * Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId ("PNP0A03"))
 * Name (_UID, Zero) Name (_CRS, ...) Name (_PRT, ...) } }: Linux with
 * ACPI only scans PCI below a host bridge of the namespace
 * (Documentation/vmm.rst).
 */
size_t acpi__pci_aml(u8 *p)
{
	static const u8 scope[] = { '\\', '_', 'S', 'B', '_' };
	static const u8 dev[] = { 'P', 'C', 'I', '0',
				  0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03,
				  0x08, '_', 'U', 'I', 'D', 0x00 };
	size_t n = 0, d;
	u8 *body;

	p[n++] = 0x10;				/* ScopeOp */
	body = p + n;
	d = aml__bytes(body, scope, sizeof(scope));
	body[d++] = 0x5b;			/* DeviceOp */
	body[d++] = 0x82;
	{
		u8 *devp = body + d;
		size_t dl = aml__bytes(devp, dev, sizeof(dev));

		dl += aml__crs(devp + dl);
		dl += aml__prt(devp + dl);
		d += aml__wrap(devp, dl);
	}
	return n + aml__wrap(body, d);
}

u8 acpi__sum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

static void acpi__header(struct acpi_table_header *h, const char *sig, u32 len, u8 rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->asl_compiler_id, ACPI_CREATOR_ID, 4);
	h->asl_compiler_revision = 1;
	h->checksum = 0;
	h->checksum = (u8)-acpi__sum(h, len);
}

static struct acpi_gas acpi__io(u16 port, u8 len)
{
	return (struct acpi_gas){ .space_id = 1, .bit_width = len * 8,
				  .access_width = len == 1 ? 1 : len == 2 ? 2 : 3,
				  .address = port };
}

static void acpi__write_fadt(struct acpi_fadt *f, u64 gpa)
{
	f->firmware_ctrl = (u32)(gpa + ACPI_FACS_OFFSET);
	f->dsdt = (u32)(gpa + ACPI_DSDT_OFFSET);
	f->sci_int = ACPI_SCI_IRQ;
	f->pm1a_evt_blk = ACPI_PM1A_EVT_PORT;
	f->pm1a_cnt_blk = ACPI_PM1A_CNT_PORT;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->p_lvl2_lat = 101;		/* > 100: no C2 */
	f->p_lvl3_lat = 1001;		/* > 1000: no C3 */
	f->century = 0x32;		/* CMOS century byte, as on a PC */
	f->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042;
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_C1_SUPPORTED | ACPI_FADT_POWER_BUTTON |
		   ACPI_FADT_SLEEP_BUTTON | ACPI_FADT_RESET_REG_SUP;
	/* The reset control register that devices/power.c emulates. */
	f->reset_reg = acpi__io(0xcf9, 1);
	f->reset_value = 0x06;		/* full reset | reset CPU */
	f->fadt_minor_version = 0;
	/*
	 * The 64-bit fields repeat the 32-bit ones (ACPICA checks they agree),
	 * except X_FIRMWARE_CTRL: ACPICA installs the FACS once per non-zero
	 * pointer, so Linux would list it twice.
	 */
	f->x_dsdt = f->dsdt;
	f->x_pm1a_evt_blk = acpi__io(ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN);
	f->x_pm1a_cnt_blk = acpi__io(ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN);
	/* The PM1 event block is read as two 16-bit registers. */
	f->x_pm1a_evt_blk.access_width = 2;
	acpi__header(&f->header, "FACP", sizeof(*f), 6);
}

static size_t acpi__write_madt(struct acpi_madt *m, unsigned int nr_cpus)
{
	u8 *p = (u8 *)(m + 1);
	unsigned int i;

	m->lapic_address = (u32)LAPIC_BASE;
	m->flags = 1;
	for (i = 0; i < nr_cpus; i++) {
		*(struct acpi_madt_lapic *)p = (struct acpi_madt_lapic){
			ACPI_MADT_LAPIC, sizeof(struct acpi_madt_lapic), i, i, 1 };
		p += sizeof(struct acpi_madt_lapic);
	}
	/* Same IOAPIC id as the MP table: after the LAPIC ids. */
	*(struct acpi_madt_ioapic *)p = (struct acpi_madt_ioapic){
		ACPI_MADT_IOAPIC, sizeof(struct acpi_madt_ioapic), nr_cpus, 0,
		(u32)IOAPIC_BASE, 0 };
	p += sizeof(struct acpi_madt_ioapic);
	/* SCI: ISA IRQ 9 -> GSI 9, active high (01), level triggered (11 << 2). */
	*(struct acpi_madt_int_override *)p = (struct acpi_madt_int_override){
		ACPI_MADT_INT_OVERRIDE, sizeof(struct acpi_madt_int_override), 0,
		ACPI_SCI_IRQ, ACPI_SCI_IRQ, 0x000d };
	p += sizeof(struct acpi_madt_int_override);
	/* Every LAPIC's LINT1 is NMI (bus-default polarity and trigger). */
	*(struct acpi_madt_lapic_nmi *)p = (struct acpi_madt_lapic_nmi){
		ACPI_MADT_LAPIC_NMI, sizeof(struct acpi_madt_lapic_nmi), 0xff, 0, 1 };
	p += sizeof(struct acpi_madt_lapic_nmi);
	acpi__header(&m->header, "APIC", p - (u8 *)m, 5);
	return p - (u8 *)m;
}

int acpi__write(void *area, u64 gpa, unsigned int nr_cpus)
{
	u8 *base = area;
	struct acpi_rsdp *rsdp = (void *)(base + ACPI_RSDP_OFFSET);
	struct acpi_facs *facs = (void *)(base + ACPI_FACS_OFFSET);
	struct acpi_table_header *xsdt = (void *)(base + ACPI_XSDT_OFFSET);
	struct acpi_fadt *fadt = (void *)(base + ACPI_FADT_OFFSET);
	struct acpi_table_header *dsdt = (void *)(base + ACPI_DSDT_OFFSET);
	struct acpi_madt *madt = (void *)(base + ACPI_MADT_OFFSET);
	u64 entries[2] = { gpa + ACPI_FADT_OFFSET, gpa + ACPI_MADT_OFFSET };
	size_t aml_len;
	u8 *aml;

	if (!nr_cpus || nr_cpus > 254 ||
	    ACPI_MADT_OFFSET + sizeof(*madt) + nr_cpus * sizeof(struct acpi_madt_lapic) +
	    sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_int_override) +
	    sizeof(struct acpi_madt_lapic_nmi) > ACPI_DSDT_OFFSET || gpa + ACPI_AREA_SIZE > 1ULL << 32)
		return -E2BIG;
	memset(area, 0, ACPI_AREA_SIZE);

	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	aml = (u8 *)(dsdt + 1);
	memcpy(aml, acpi_dsdt_aml, sizeof(acpi_dsdt_aml));
	aml_len = sizeof(acpi_dsdt_aml) + acpi__pci_aml(aml + sizeof(acpi_dsdt_aml));
	acpi__header(dsdt, "DSDT", sizeof(*dsdt) + aml_len, 2);

	acpi__write_fadt(fadt, gpa);
	acpi__write_madt(madt, nr_cpus);

	memcpy((u8 *)(xsdt + 1), entries, sizeof(entries));
	acpi__header(xsdt, "XSDT", sizeof(*xsdt) + sizeof(entries), 1);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = gpa + ACPI_XSDT_OFFSET;
	rsdp->checksum = (u8)-acpi__sum(rsdp, 20);
	rsdp->extended_checksum = (u8)-acpi__sum(rsdp, sizeof(*rsdp));
	return 0;
}
