// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART on COM1: enough of the chip for Linux's 8250 driver to
 * probe it (scratch register, loopback MSR test, FIFO bits in IIR) and to
 * run it interrupt-driven.  Transmit is instantaneous (THR is always empty,
 * so THRE interrupts come right after each write); receive has a 64-byte
 * FIFO that the main thread fills from stdin.
 *
 * Locking: uart->lock protects the registers; it is taken by vCPU threads
 * (port access) and the main thread (input).  The IRQ line is driven with
 * the lock held so level changes reach KVM in order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/devices.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define UART_RX		0	/* in: receive buffer (DLAB=0) */
#define UART_TX		0	/* out: transmit holding (DLAB=0) */
#define UART_IER	1
#define UART_IIR	2	/* in */
#define UART_FCR	2	/* out */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_RDI	0x01
#define UART_IER_THRI	0x02
#define UART_IIR_NO_INT	0x01
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_FIFO	0xc0
#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLR_RX	0x02
#define UART_LCR_DLAB	0x80
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_DCD	0x80

struct serial8250 {
	struct vm *vm;
	pthread_mutex_t lock;
	struct serial8250_state s;
	int irq_level;
	int out_fd;
	int log_fd;
};

static u8 uart__iir(struct serial8250 *uart)
{
	u8 fifo = (uart->s.fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((uart->s.ier & UART_IER_RDI) && uart->s.rx_count)
		return fifo | UART_IIR_RDI;
	if ((uart->s.ier & UART_IER_THRI) && uart->s.thr_ipending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

/* On a PC, OUT2 gates the UART's interrupt onto the ISA bus. */
static void uart__update_irq(struct serial8250 *uart)
{
	int level = !(uart__iir(uart) & UART_IIR_NO_INT) &&
		    (uart->s.mcr & UART_MCR_OUT2);

	if (level != uart->irq_level) {
		uart->irq_level = level;
		kvm__irq_line(&uart->vm->kvm, SERIAL8250_COM1_IRQ, level);
	}
}

static void uart__push_rx(struct serial8250 *uart, u8 c)
{
	if (uart->s.rx_count < sizeof(uart->s.rx))
		uart->s.rx[uart->s.rx_count++] = c;
}

static u8 uart__pop_rx(struct serial8250 *uart)
{
	u8 c;

	if (!uart->s.rx_count)
		return 0;
	c = uart->s.rx[0];
	memmove(uart->s.rx, uart->s.rx + 1, --uart->s.rx_count);
	return c;
}

static void uart__transmit(struct serial8250 *uart, u8 c)
{
	if (uart->s.mcr & UART_MCR_LOOP) {
		uart__push_rx(uart, c);
		return;
	}
	if (uart->out_fd >= 0)
		write_full(uart->out_fd, &c, 1);
	if (uart->log_fd >= 0)
		write_full(uart->log_fd, &c, 1);
}

static u8 uart__msr(struct serial8250 *uart)
{
	u8 mcr = uart->s.mcr;

	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	return ((mcr & 0x01) << 5) | ((mcr & 0x02) << 3) |
	       ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4);
}

static void uart__write(struct serial8250 *uart, unsigned int reg, u8 v)
{
	bool dlab = uart->s.lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab) {
			uart->s.dll = v;
			break;
		}
		uart__transmit(uart, v);
		uart->s.thr_ipending = 1;
		break;
	case UART_IER:
		if (dlab) {
			uart->s.dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises it at once. */
		if ((v & UART_IER_THRI) && !(uart->s.ier & UART_IER_THRI))
			uart->s.thr_ipending = 1;
		uart->s.ier = v & 0x0f;
		break;
	case UART_FCR:
		if (v & UART_FCR_CLR_RX)
			uart->s.rx_count = 0;
		uart->s.fcr = v & (UART_FCR_ENABLE | 0xc0);
		break;
	case UART_LCR:
		uart->s.lcr = v;
		break;
	case UART_MCR:
		uart->s.mcr = v & 0x1f;
		break;
	case UART_SCR:
		uart->s.scr = v;
		break;
	}
}

static u8 uart__read(struct serial8250 *uart, unsigned int reg)
{
	bool dlab = uart->s.lcr & UART_LCR_DLAB;
	u8 iir;

	switch (reg) {
	case UART_RX:
		return dlab ? uart->s.dll : uart__pop_rx(uart);
	case UART_IER:
		return dlab ? uart->s.dlm : uart->s.ier;
	case UART_IIR:
		iir = uart__iir(uart);
		/* Reading IIR acknowledges a THRE interrupt. */
		if ((iir & 0x0f) == UART_IIR_THRI)
			uart->s.thr_ipending = 0;
		return iir;
	case UART_LCR:
		return uart->s.lcr;
	case UART_MCR:
		return uart->s.mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT |
		       (uart->s.rx_count ? UART_LSR_DR : 0);
	case UART_MSR:
		return uart__msr(uart);
	case UART_SCR:
		return uart->s.scr;
	}
	return 0xff;
}

static void uart__io(void *opaque, struct vcpu *vcpu, u16 port, bool is_write,
		     u8 *data, unsigned int size)
{
	struct serial8250 *uart = opaque;
	unsigned int reg = port - SERIAL8250_COM1_BASE;

	(void)vcpu;
	pthread_mutex_lock(&uart->lock);
	if (is_write) {
		uart__write(uart, reg, data[0]);
	} else {
		memset(data, 0xff, size);
		data[0] = uart__read(uart, reg);
	}
	uart__update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
}

static int serial8250__init(struct vm *vm, struct device_in *in)
{
	struct serial8250 *uart = calloc(1, sizeof(*uart));

	(void)in;
	if (!uart)
		return -ENOMEM;
	uart->vm = vm;
	uart->out_fd = uart->log_fd = -1;
	pthread_mutex_init(&uart->lock, NULL);
	vm->uart = uart;
	return ioport__register(&vm->bus, SERIAL8250_COM1_BASE, 8, uart__io, uart,
				"serial8250");
}

static void serial8250__exit(struct vm *vm)
{
	if (!vm->uart)
		return;
	pthread_mutex_destroy(&vm->uart->lock);
	free(vm->uart);
	vm->uart = NULL;
}

void serial8250__set_output(struct vm *vm, int out_fd, int log_fd)
{
	pthread_mutex_lock(&vm->uart->lock);
	vm->uart->out_fd = out_fd;
	vm->uart->log_fd = log_fd;
	pthread_mutex_unlock(&vm->uart->lock);
}

size_t serial8250__rx_room(struct vm *vm)
{
	size_t room;

	pthread_mutex_lock(&vm->uart->lock);
	room = sizeof(vm->uart->s.rx) - vm->uart->s.rx_count;
	pthread_mutex_unlock(&vm->uart->lock);
	return room;
}

size_t serial8250__receive(struct vm *vm, const u8 *buf, size_t len)
{
	struct serial8250 *uart = vm->uart;
	size_t i;

	pthread_mutex_lock(&uart->lock);
	for (i = 0; i < len && uart->s.rx_count < sizeof(uart->s.rx); i++)
		uart__push_rx(uart, buf[i]);
	uart__update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return i;
}

static void serial8250__save(struct vm *vm, struct state_buf *b)
{
	struct serial8250_state st;

	pthread_mutex_lock(&vm->uart->lock);
	st = vm->uart->s;
	pthread_mutex_unlock(&vm->uart->lock);
	state__put(b, STATE_DEV_SERIAL, 0, &st, sizeof(st));
}

static int serial8250__restore(struct vm *vm, struct device_in *in)
{
	const struct state_rec *rec = device_in__find(in, STATE_DEV_SERIAL, 0);
	struct serial8250 *uart = vm->uart;

	if (!rec)
		return 0;
	pthread_mutex_lock(&uart->lock);
	memcpy(&uart->s, rec->payload, sizeof(uart->s));
	if (uart->s.rx_count > sizeof(uart->s.rx))
		uart->s.rx_count = sizeof(uart->s.rx);
	/* The new VM's line starts low: drive it to match the state. */
	uart->irq_level = 0;
	uart__update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return 0;
}

static const struct device_ops serial8250_ops = {
	.name = "serial8250",
	.order = DEVICE_ORDER_LEGACY,
	.id = 1,
	.init = serial8250__init,
	.exit = serial8250__exit,
	.save = serial8250__save,
	.restore = serial8250__restore,
};
DEVICE_REGISTER(serial8250_ops);
