/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal ACPI tables for a Linux guest (ACPI 6.0 layouts): RSDP -> XSDT ->
 * FADT (with FACS and DSDT) and MADT.  Enough for Linux to find its CPUs
 * and to power off through the PM1a control block (x86/acpi.c).  The
 * power management ports themselves are devices/power.c.
 */
#ifndef VMM_X86_ACPI_H
#define VMM_X86_ACPI_H

#include "vmm/util.h"

/*
 * Where the tables go: the BIOS area, where Linux's RSDP scan
 * (0xe0000-0xfffff, 16-byte steps) finds the RSDP at its start.
 */
#define ACPI_AREA_GPA		0xe0000
#define ACPI_AREA_SIZE		0x2000
#define ACPI_RSDP_OFFSET	0x000
#define ACPI_FACS_OFFSET	0x040	/* 64-byte aligned */
#define ACPI_XSDT_OFFSET	0x080
#define ACPI_FADT_OFFSET	0x100
#define ACPI_MADT_OFFSET	0x240	/* up to 254 CPUs: below 0xc00 */
#define ACPI_DSDT_OFFSET	0x1000	/* 4 KiB for its AML */

/* PM1a event block (status, enable: 16 bits each) and control block. */
#define ACPI_PM1A_EVT_PORT	0x600
#define ACPI_PM1_EVT_LEN	4
#define ACPI_PM1A_CNT_PORT	0x604
#define ACPI_PM1_CNT_LEN	2
#define ACPI_SCI_IRQ		9

/* PM1 control register bits. */
#define ACPI_PM1_CNT_SCI_EN	(1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT	10
#define ACPI_PM1_CNT_SLP_TYP_MASK	(7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN	(1u << 13)
/* The SLP_TYP value the DSDT's \_S5 package gives for soft-off. */
#define ACPI_SLP_TYP_S5		5

/* ACPI 6.0 5.2.5.3: 36 bytes, revision 2. */
struct acpi_rsdp {
	char signature[8];		/* "RSD PTR " */
	u8 checksum;			/* first 20 bytes */
	char oem_id[6];
	u8 revision;
	u32 rsdt_address;
	u32 length;
	u64 xsdt_address;
	u8 extended_checksum;		/* all 36 bytes */
	u8 reserved[3];
} __attribute__((packed));

struct acpi_table_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;			/* the whole table sums to 0 */
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	char asl_compiler_id[4];
	u32 asl_compiler_revision;
} __attribute__((packed));

/* ACPI 6.0 5.2.3.2 */
struct acpi_gas {
	u8 space_id;			/* 0 memory, 1 system I/O */
	u8 bit_width;
	u8 bit_offset;
	u8 access_width;		/* 1 byte, 2 word, 3 dword, 4 qword */
	u64 address;
} __attribute__((packed));

/* ACPI 6.0 5.2.9: 276 bytes, revision 6. */
struct acpi_fadt {
	struct acpi_table_header header;
	u32 firmware_ctrl;		/* FACS */
	u32 dsdt;
	u8 reserved0;
	u8 preferred_pm_profile;
	u16 sci_int;
	u32 smi_cmd;			/* 0: always in ACPI mode */
	u8 acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	u32 pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	u32 pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	u8 pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	u8 gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	u16 p_lvl2_lat, p_lvl3_lat;
	u16 flush_size, flush_stride;
	u8 duty_offset, duty_width, day_alrm, mon_alrm, century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 fadt_minor_version;
	u64 x_firmware_ctrl;
	u64 x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	u64 hypervisor_vendor_id;
} __attribute__((packed));

/* FADT flags and IA-PC boot architecture flags used here. */
#define ACPI_FADT_WBINVD		(1u << 0)
#define ACPI_FADT_C1_SUPPORTED		(1u << 2)
#define ACPI_FADT_POWER_BUTTON		(1u << 4)	/* no fixed power button */
#define ACPI_FADT_SLEEP_BUTTON		(1u << 5)	/* no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP		(1u << 10)
#define ACPI_IAPC_LEGACY_DEVICES	(1u << 0)
#define ACPI_IAPC_8042			(1u << 1)

/* ACPI 6.0 5.2.10: 64 bytes, no checksum, 64-byte aligned. */
struct acpi_facs {
	char signature[4];		/* "FACS" */
	u32 length;
	u32 hardware_signature;
	u32 firmware_waking_vector;
	u32 global_lock;
	u32 flags;
	u64 x_firmware_waking_vector;
	u8 version;
	u8 reserved0[3];
	u32 ospm_flags;
	u8 reserved1[24];
} __attribute__((packed));

/* ACPI 6.0 5.2.12 */
struct acpi_madt {
	struct acpi_table_header header;
	u32 lapic_address;
	u32 flags;			/* 1: PCAT_COMPAT, dual 8259s */
} __attribute__((packed));

enum {
	ACPI_MADT_LAPIC = 0,
	ACPI_MADT_IOAPIC = 1,
	ACPI_MADT_INT_OVERRIDE = 2,
	ACPI_MADT_LAPIC_NMI = 4,
};

struct acpi_madt_lapic {
	u8 type, length;		/* 0, 8 */
	u8 processor_uid;
	u8 apic_id;
	u32 flags;			/* 1: enabled */
} __attribute__((packed));

struct acpi_madt_ioapic {
	u8 type, length;		/* 1, 12 */
	u8 ioapic_id;
	u8 reserved;
	u32 address;
	u32 gsi_base;
} __attribute__((packed));

struct acpi_madt_int_override {
	u8 type, length;		/* 2, 10 */
	u8 bus;				/* 0: ISA */
	u8 source;
	u32 gsi;
	u16 flags;			/* MPS INTI flags */
} __attribute__((packed));

struct acpi_madt_lapic_nmi {
	u8 type, length;		/* 4, 6 */
	u8 processor_uid;		/* 0xff: all processors */
	u16 flags;
	u8 lint;
} __attribute__((packed));

/* The DSDT's AML: Name (\_S5, Package (4) { 5, 5, 0, 0 }), then... */
extern const u8 acpi_dsdt_aml[15];
/* ...\_SB.PCI0, the host bridge with its _PRT, written at @p: its size. */
size_t acpi__pci_aml(u8 *p);

/* Sum of @len bytes, 0 for a table with a correct checksum. */
u8 acpi__sum(const void *p, size_t len);

/*
 * Write the tables for @nr_cpus (at most 254) into @area, ACPI_AREA_SIZE
 * bytes that the guest sees at @gpa.  0 or -errno.
 */
int acpi__write(void *area, u64 gpa, unsigned int nr_cpus);

#endif
