/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The legacy PC devices the VMM emulates in userspace.  (PIC, IOAPIC, PIT
 * and LAPICs are KVM's in-kernel ones.)  Each is a registered device
 * (device.h) that claims its own ports; here are their records' layouts
 * and what the rest of the VMM calls on them.
 */
#ifndef VMM_DEVICES_H
#define VMM_DEVICES_H

#include "vmm/util.h"

struct vm;

/* 16550A UART on COM1 (0x3f8, IRQ 4): devices/serial8250.c */
#define SERIAL8250_COM1_BASE	0x3f8
#define SERIAL8250_COM1_IRQ	4

struct serial8250_state {
	u8 ier, lcr, mcr, scr, dll, dlm, fcr, thr_ipending;
	u8 rx_count;
	u8 rx[64];			/* oldest byte first */
};

/* Where guest output goes: -1 to drop it.  Not owned by the UART. */
void serial8250__set_output(struct vm *vm, int out_fd, int log_fd);
/* Queue input from the host; returns how many bytes were taken. */
size_t serial8250__receive(struct vm *vm, const u8 *buf, size_t len);
/* Room left in the receive FIFO. */
size_t serial8250__rx_room(struct vm *vm);

/*
 * Reset and power ports (i8042 0x60/0x64, 0xcf9, ACPI PM1a event block
 * 0x600 and control block 0x604): devices/power.c
 */

/* MC146818 CMOS real-time clock (0x70/0x71): devices/rtc.c */
struct rtc_state {
	u8 index;
	u8 cmos[128];
};

#endif
