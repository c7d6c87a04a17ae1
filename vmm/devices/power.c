// SPDX-License-Identifier: GPL-2.0
/*
 * How a PC guest resets itself: the keyboard controller's pulse-reset
 * command (0xfe to port 0x64, Linux "reboot=k") and the reset control
 * register at 0xcf9 ("reboot=pci").  A reset ends the VM and the VMM exits
 * with status 0, like QEMU -no-reboot: the caller decides what comes next.
 *
 * The i8042 reads back as idle (no data, input buffer empty), so Linux's
 * reboot path does not spin waiting for it and its probe finds nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/devices.h"
#include "vmm/vm.h"

#define I8042_DATA		0x60
#define I8042_CMD		0x64
#define I8042_CMD_RESET		0xfe
#define RST_CNT			0xcf9
#define RST_CNT_RST_CPU		0x04

struct power {
	u8 rst_cnt;
};

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

int power__init(struct vm *vm)
{
	int ret;

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
	return ret;
}

void power__exit(struct vm *vm)
{
	free(vm->power);
	vm->power = NULL;
}
