// SPDX-License-Identifier: GPL-2.0
/*
 * MC146818 CMOS clock at 0x70/0x71: the host's UTC time in BCD, 24-hour,
 * never "update in progress", so Linux reads the wall clock at boot
 * without spinning.  The other CMOS bytes are plain storage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/device.h"
#include "vmm/devices.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define RTC_INDEX	0x70
#define RTC_DATA	0x71
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32

struct rtc {
	pthread_mutex_t lock;
	struct rtc_state s;
};

static u8 bcd(int v)
{
	return (u8)(((v / 10) << 4) | (v % 10));
}

static u8 rtc__read_time(unsigned int reg)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (reg) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case RTC_CENTURY: return bcd((tm.tm_year + 1900) / 100);
	}
	return 0;
}

static void rtc__io(void *opaque, struct vcpu *vcpu, u16 port, bool is_write,
		    u8 *data, unsigned int size)
{
	struct rtc *rtc = opaque;
	unsigned int reg;

	(void)vcpu;
	pthread_mutex_lock(&rtc->lock);
	reg = rtc->s.index & 0x7f;	/* bit 7 is the NMI mask */
	if (port == RTC_INDEX) {
		if (is_write)
			rtc->s.index = data[0];
		else
			memset(data, 0xff, size);
	} else if (is_write) {
		if (reg != RTC_REG_C && reg != RTC_REG_D)
			rtc->s.cmos[reg] = data[0];
	} else {
		memset(data, 0xff, size);
		switch (reg) {
		case 0x00: case 0x02: case 0x04: case 0x06:
		case 0x07: case 0x08: case 0x09: case RTC_CENTURY:
			data[0] = rtc__read_time(reg);
			break;
		case RTC_REG_A:
			data[0] = 0x26;		/* 32.768 kHz, 1024 Hz, no UIP */
			break;
		case RTC_REG_B:
			data[0] = 0x02;		/* 24-hour, BCD, no interrupts */
			break;
		case RTC_REG_C:
			data[0] = 0;
			break;
		case RTC_REG_D:
			data[0] = 0x80;		/* battery good */
			break;
		default:
			data[0] = rtc->s.cmos[reg];
		}
	}
	pthread_mutex_unlock(&rtc->lock);
}

static int rtc__init(struct vm *vm, struct device_in *in)
{
	(void)in;
	vm->rtc = calloc(1, sizeof(*vm->rtc));
	if (!vm->rtc)
		return -ENOMEM;
	pthread_mutex_init(&vm->rtc->lock, NULL);
	return ioport__register(&vm->bus, RTC_INDEX, 2, rtc__io, vm->rtc, "rtc");
}

static void rtc__exit(struct vm *vm)
{
	if (!vm->rtc)
		return;
	pthread_mutex_destroy(&vm->rtc->lock);
	free(vm->rtc);
	vm->rtc = NULL;
}

static void rtc__save(struct vm *vm, struct state_buf *b)
{
	struct rtc_state st;

	pthread_mutex_lock(&vm->rtc->lock);
	st = vm->rtc->s;
	pthread_mutex_unlock(&vm->rtc->lock);
	state__put(b, STATE_DEV_RTC, 0, &st, sizeof(st));
}

static int rtc__restore(struct vm *vm, struct device_in *in)
{
	const struct state_rec *rec = device_in__find(in, STATE_DEV_RTC, 0);

	if (!rec)
		return 0;
	pthread_mutex_lock(&vm->rtc->lock);
	memcpy(&vm->rtc->s, rec->payload, sizeof(vm->rtc->s));
	pthread_mutex_unlock(&vm->rtc->lock);
	return 0;
}

static const struct device_ops rtc_ops = {
	.name = "rtc",
	.order = DEVICE_ORDER_LEGACY,
	.id = 2,
	.init = rtc__init,
	.exit = rtc__exit,
	.save = rtc__save,
	.restore = rtc__restore,
};
DEVICE_REGISTER(rtc_ops);
