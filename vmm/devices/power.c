// SPDX-License-Identifier: GPL-2.0
/*
 * How a PC guest resets itself: the keyboard controller's pulse-reset
 * command (0xfe to port 0x64, Linux "reboot=k") and the reset control
 * register at 0xcf9 ("reboot=pci").  A reset ends the VM and the VMM exits
 * with status 0, like QEMU -no-reboot: the caller decides what comes next.
 *
 * The i8042 reads back as idle (no data, input buffer empty), so Linux's
 * reboot path does not spin waiting for it and its probe finds nothing.
 *
 * Power-off is ACPI's: the FADT (x86/acpi.c) puts the PM1a event block at
 * 0x600 and the PM1a control block at 0x604.  Writing SLP_EN with the
 * DSDT's \_S5 sleep type to PM1a_CNT ends the VM and the VMM exits 0
 * (reason poweroff).  No PM1 event ever fires: status reads 0 and ignores
 * writes; enable keeps what is written (ACPICA reads it back to check an
 * event got enabled, and logs errors for the global lock and RTC events
 * otherwise); PM1a_CNT reads back with SCI_EN set (ACPI mode).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/devices.h"
#include "vmm/vm.h"
#include "vmm/x86/acpi.h"

#define I8042_DATA		0x60
#define I8042_CMD		0x64
#define I8042_CMD_RESET		0xfe
#define RST_CNT			0xcf9
#define RST_CNT_RST_CPU		0x04

struct power {
	u8 rst_cnt;
	u16 pm1_en;		/* PM1a_EN as written; nothing is raised */
	u16 pm1_cnt;		/* SLP_TYP as last written; SLP_EN reads 0 */
};

/* Bytes [off, off + size) of a 16-bit register: read or merge a write. */
static void power__reg16(u16 *reg, unsigned int off, bool is_write, u8 *data,
			 unsigned int size)
{
	unsigned int i;

	for (i = 0; i < size; i++) {
		if (off + i >= 2) {
			if (!is_write)
				data[i] = 0;
			continue;
		}
		if (is_write)
			*reg = (*reg & ~(0xffu << (8 * (off + i)))) |
			       (u16)(data[i] << (8 * (off + i)));
		else
			data[i] = (u8)(*reg >> (8 * (off + i)));
	}
}

static void power__i8042(void *opaque, struct vcpu *vcpu, u16 port,
			 bool is_write, u8 *data, unsigned int size)
{
	(void)opaque;
	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	if (port == I8042_CMD && data[0] == I8042_CMD_RESET)
		vm__request_exit(vcpu->vm, VM_EXIT_REBOOT,
				 "guest reset through the keyboard controller");
}

static void power__rst_cnt(void *opaque, struct vcpu *vcpu, u16 port,
			   bool is_write, u8 *data, unsigned int size)
{
	struct power *power = opaque;

	(void)port;
	if (!is_write) {
		memset(data, 0, size);
		data[0] = power->rst_cnt;
		return;
	}
	power->rst_cnt = data[0] & ~RST_CNT_RST_CPU;
	if (data[0] & RST_CNT_RST_CPU)
		vm__request_exit(vcpu->vm, VM_EXIT_REBOOT,
				 "guest reset through port 0xcf9");
}

static void power__pm1_evt(void *opaque, struct vcpu *vcpu, u16 port,
			   bool is_write, u8 *data, unsigned int size)
{
	struct power *power = opaque;
	unsigned int off = port - ACPI_PM1A_EVT_PORT;

	(void)vcpu;
	if (off >= 2) {			/* PM1a_EN */
		power__reg16(&power->pm1_en, off - 2, is_write, data, size);
		return;
	}
	if (!is_write)			/* PM1a_STS: no event, ever */
		memset(data, 0, size);
}

static void power__pm1_cnt(void *opaque, struct vcpu *vcpu, u16 port,
			   bool is_write, u8 *data, unsigned int size)
{
	struct power *power = opaque;
	u16 val = power->pm1_cnt | ACPI_PM1_CNT_SCI_EN;

	power__reg16(&val, port - ACPI_PM1A_CNT_PORT, is_write, data, size);
	if (!is_write)
		return;
	power->pm1_cnt = val & ACPI_PM1_CNT_SLP_TYP_MASK;
	if (!(val & ACPI_PM1_CNT_SLP_EN))
		return;
	if ((val & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT == ACPI_SLP_TYP_S5)
		vm__request_exit(vcpu->vm, VM_EXIT_POWEROFF,
				 "guest powered off (ACPI S5 through PM1a_CNT)");
	else
		pr_debug("PM1a_CNT: SLP_EN with sleep type %u ignored (only S5 is offered)",
			 (val & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT);
}

static int power__init(struct vm *vm, struct device_in *in)
{
	int ret;

	(void)in;
	vm->power = calloc(1, sizeof(*vm->power));
	if (!vm->power)
		return -ENOMEM;
	ret = ioport__register(&vm->bus, I8042_DATA, 1, power__i8042, vm->power,
			       "i8042-data");
	if (!ret)
		ret = ioport__register(&vm->bus, I8042_CMD, 1, power__i8042,
				       vm->power, "i8042-cmd");
	if (!ret)
		ret = ioport__register(&vm->bus, RST_CNT, 1, power__rst_cnt,
				       vm->power, "reset-control");
	if (!ret)
		ret = ioport__register(&vm->bus, ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN,
				       power__pm1_evt, vm->power, "acpi-pm1a-evt");
	if (!ret)
		ret = ioport__register(&vm->bus, ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN,
				       power__pm1_cnt, vm->power, "acpi-pm1a-cnt");
	return ret;
}

static void power__exit(struct vm *vm)
{
	free(vm->power);
	vm->power = NULL;
}

static const struct device_ops power_ops = {
	.name = "power",
	.order = DEVICE_ORDER_LEGACY,
	.id = 3,
	.init = power__init,
	.exit = power__exit,
};
DEVICE_REGISTER(power_ops);
