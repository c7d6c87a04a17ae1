// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio PCI transport without KVM (virtio/pci.c on pci/, irq.c and
 * mmio.c; every KVM call accepted by a fake): the identity and the vendor
 * capabilities a guest's virtio_pci looks for, the common configuration
 * through the BAR (features, the status handshake with a refused and an
 * accepted feature set, queue setup with rings in and out of RAM), the
 * doorbell, the device's own configuration, and a reset.
 */
#include <errno.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "fake_pci.h"
#include "testlib.h"
#include "vmm/irq.h"
#include "vmm/pci.h"
#include "vmm/virtio.h"
#include "vmm/vm.h"

#define RAM_SIZE	(1u << 20)
#define SLOT		3
#define DEVFN		PCI_DEVFN(SLOT, 0)
#define TEST_FEATURE	(1ull << 5)

static struct vm *vm;
static struct virtio_pci vp;
static u64 bar0;
static unsigned int nr_notify, last_queue, nr_reset;

static void test_config(struct virtio_pci *v, u64 off, bool is_write, u8 *data,
			unsigned int size)
{
	(void)v;
	if (!is_write)
		memset(data, (int)(0x10 + off), size);
}

static void test_notify(struct virtio_pci *v, unsigned int q)
{
	(void)v;
	nr_notify++;
	last_queue = q;
}

static void test_reset(struct virtio_pci *v)
{
	(void)v;
	nr_reset++;
}

static const struct virtio_pci_ops test_ops = {
	.config = test_config,
	.notify = test_notify,
	.reset = test_reset,
};

static u32 cfg_read(unsigned int off, unsigned int size)
{
	return fake_pci__cfg_read(DEVFN, off, size);
}

static u32 bar_read(u64 off, unsigned int size)
{
	return fake_pci__mmio_read(bar0 + off, size);
}

static void bar_write(u64 off, unsigned int size, u32 v)
{
	fake_pci__mmio_write(bar0 + off, size, v);
}

static void setup(void)
{
	vm = fake_pci__setup(RAM_SIZE);
	TEST_ASSERT(!virtio_pci__init(&vp, vm, "virtio-test", 40, 2, 0x010000, 1, TEST_FEATURE,
				      &test_ops, NULL), "virtio_pci__init");
	TEST_ASSERT(!pci_bus__add(vm->pci, &vp.fn, SLOT), "pci_bus__add");
	bar0 = fake_pci__enable_bar(DEVFN, 0);
}

/* What virtio_pci_modern_probe() checks, and the capabilities it walks. */
static void test_identity(void)
{
	unsigned int at, n = 0, seen = 0, type;
	bool msix = false;

	TEST_ASSERT(cfg_read(PCI_VENDOR_ID, 2) == 0x1af4 && cfg_read(PCI_DEVICE_ID, 2) == 0x1042,
		    "id %04x:%04x", cfg_read(PCI_VENDOR_ID, 2), cfg_read(PCI_DEVICE_ID, 2));
	TEST_ASSERT(cfg_read(PCI_REVISION_ID, 1) == 1, "revision %u (modern wants >= 1)",
		    cfg_read(PCI_REVISION_ID, 1));
	TEST_ASSERT(cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, "no capability list");
	TEST_ASSERT(bar0 >= PCI_MMIO32_START && bar0 < PCI_MMIO32_END, "BAR 0 at 0x%llx",
		    (unsigned long long)bar0);
	for (at = cfg_read(PCI_CAPABILITY_LIST, 1); at && n < 16; at = cfg_read(at + 1, 1), n++) {
		if (cfg_read(at, 1) == PCI_CAP_ID_MSIX) {
			msix = true;
			TEST_ASSERT((cfg_read(at + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) == 1,
				    "MSI-X: 2 vectors (config and one queue)");
			continue;
		}
		if (cfg_read(at, 1) != PCI_CAP_ID_VNDR)
			continue;
		type = cfg_read(at + VIRTIO_PCI_CAP_CFG_TYPE, 1);
		TEST_ASSERT(cfg_read(at + VIRTIO_PCI_CAP_BAR, 1) == 0, "cap type %u not in BAR 0",
			    type);
		TEST_ASSERT(cfg_read(at + VIRTIO_PCI_CAP_LEN, 1) >= sizeof(struct virtio_pci_cap),
			    "cap type %u: length %u", type, cfg_read(at + VIRTIO_PCI_CAP_LEN, 1));
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			TEST_ASSERT(cfg_read(at + sizeof(struct virtio_pci_cap), 4) == 4,
				    "notify_off_multiplier %u",
				    cfg_read(at + sizeof(struct virtio_pci_cap), 4));
		seen |= 1u << type;
	}
	TEST_ASSERT(seen == (1u << VIRTIO_PCI_CAP_COMMON_CFG | 1u << VIRTIO_PCI_CAP_NOTIFY_CFG |
			     1u << VIRTIO_PCI_CAP_ISR_CFG | 1u << VIRTIO_PCI_CAP_DEVICE_CFG),
		    "vendor capabilities seen: 0x%x", seen);
	TEST_ASSERT(msix, "no MSI-X capability");
}

static void test_negotiation(void)
{
	u8 acked = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_NUMQ, 2) == 1, "num_queues");
	bar_write(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_DF, 4) == (u32)TEST_FEATURE, "features 0-31: 0x%x",
		    bar_read(VIRTIO_PCI_COMMON_DF, 4));
	bar_write(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_DF, 4) == 1, "VERSION_1 not offered");

	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, acked);
	bar_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	bar_write(VIRTIO_PCI_COMMON_GF, 4, (u32)TEST_FEATURE);
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, acked | VIRTIO_CONFIG_S_FEATURES_OK);
	TEST_ASSERT(!(bar_read(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK),
		    "a legacy driver's features (no VERSION_1) accepted");
	bar_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	bar_write(VIRTIO_PCI_COMMON_GF, 4, 1);
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, acked | VIRTIO_CONFIG_S_FEATURES_OK);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK,
		    "good features refused");
}

static void set_queue(u64 desc, u64 avail, u64 used)
{
	bar_write(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	bar_write(VIRTIO_PCI_COMMON_Q_SIZE, 2, 16);
	bar_write(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (u32)desc);
	bar_write(VIRTIO_PCI_COMMON_Q_DESCHI, 4, desc >> 32);
	bar_write(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (u32)avail);
	bar_write(VIRTIO_PCI_COMMON_Q_AVAILHI, 4, avail >> 32);
	bar_write(VIRTIO_PCI_COMMON_Q_USEDLO, 4, (u32)used);
	bar_write(VIRTIO_PCI_COMMON_Q_USEDHI, 4, used >> 32);
	bar_write(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	bar_write(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static void test_queue(void)
{
	bar_write(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_Q_SIZE, 2) == 0, "queue 1 does not exist");
	bar_write(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_Q_SIZE, 2) == VIRTQ_MAX_SIZE, "queue 0 size %u",
		    bar_read(VIRTIO_PCI_COMMON_Q_SIZE, 2));

	/* Rings past the end of RAM: not enabled, the device needs a reset. */
	set_queue(RAM_SIZE, 0x2000, 0x3000);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 0, "a ring out of RAM enabled");
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET,
		    "no NEEDS_RESET for a ring out of RAM");

	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	TEST_ASSERT(nr_reset == 1 && bar_read(VIRTIO_PCI_COMMON_STATUS, 1) == 0,
		    "reset: %u calls, status 0x%x", nr_reset,
		    bar_read(VIRTIO_PCI_COMMON_STATUS, 1));
	set_queue(0x1000, 0x2000, 0x3000);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 1 && vp.vqs[0].ready,
		    "a good ring not enabled");
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_Q_DESCLO, 4) == 0x1000 &&
		    bar_read(VIRTIO_PCI_COMMON_Q_MSIX, 2) == 1, "queue registers read back");
	/* Fixed once enabled (4.1.4.3.2). */
	bar_write(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x5000);
	TEST_ASSERT(vp.vqs[0].desc_gpa == 0x1000, "an enabled ring moved");

	bar_write(0x3000, 2, 0);
	TEST_ASSERT(nr_notify == 1 && last_queue == 0, "doorbell of queue 0: %u", nr_notify);
	bar_write(0x3000 + 4, 2, 0);
	TEST_ASSERT(nr_notify == 1, "a doorbell of a queue that does not exist");

	/* DRIVER_OK: the doorbell becomes an ioeventfd, and the device hears of it. */
	TEST_ASSERT(virtio_pci__doorbell_fd(&vp, 0) == -ENOENT, "an ioeventfd before DRIVER_OK");
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		  VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	TEST_ASSERT(irq__nr_ioeventfds(vm->irq) == 1 && virtio_pci__doorbell_fd(&vp, 0) >= 0,
		    "DRIVER_OK: %u ioeventfds", irq__nr_ioeventfds(vm->irq));
	TEST_ASSERT(nr_notify == 2 && last_queue == 0, "the device was not told of its doorbell");

	TEST_ASSERT(bar_read(0x2000 + 4, 1) == 0x14, "device config at 4 reads 0x%x",
		    bar_read(0x2000 + 4, 1));

	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	TEST_ASSERT(nr_reset == 2 && !vp.vqs[0].ready &&
		    bar_read(VIRTIO_PCI_COMMON_Q_SIZE, 2) == VIRTQ_MAX_SIZE,
		    "a reset left the queue as it was");
}

int main(void)
{
	setup();
	test_identity();
	test_negotiation();
	test_queue();
	virtio_pci__doorbells_off(&vp);
	TEST_ASSERT(irq__nr_ioeventfds(vm->irq) == 0, "an ioeventfd left");
	pci_bus__remove(vm->pci, &vp.fn);
	pthread_mutex_destroy(&vp.lock);
	fake_pci__teardown();
	printf("unit_virtio_pci: ok\n");
	return 0;
}
