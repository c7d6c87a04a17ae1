// SPDX-License-Identifier: GPL-2.0
/*
 * What a passthrough function's vectors (vfio/irqs.c) ask of the device:
 * VFIO_DEVICE_SET_IRQS is seen through a wrapped vfio__ioctl() (linked
 * with --wrap), so the calls are counted without VFIO.  The point is the
 * restore of a kept device: setting a trigger the device already has
 * makes vfio-pci free and request the host interrupt, and an MSI sent in
 * between is lost, so a restore must set nothing, yet learn each vector's
 * eventfd for a later change.
 */
#include <errno.h>
#include <string.h>

#include "testlib.h"
#include "vmm/util.h"
#include "../vfio/vfio.h"

#define FAKE_DEVICE_FD	1000
#define MSI_MAX		1
#define MSIX_MAX	4

static struct {
	unsigned int n;
	u32 index, start, count;
	s32 fds[MSIX_MAX];
} sets;

int __wrap_vfio__ioctl(int fd, unsigned long cmd, void *arg);

int __wrap_vfio__ioctl(int fd, unsigned long cmd, void *arg)
{
	TEST_ASSERT(fd == FAKE_DEVICE_FD, "ioctl on fd %d", fd);
	if (cmd == VFIO_DEVICE_GET_IRQ_INFO) {
		struct vfio_irq_info *info = arg;

		info->count = info->index == VFIO_PCI_MSI_IRQ_INDEX ? MSI_MAX :
			      info->index == VFIO_PCI_MSIX_IRQ_INDEX ? MSIX_MAX : 0;
		return 0;
	}
	if (cmd == VFIO_DEVICE_SET_IRQS) {
		const struct vfio_irq_set *set = arg;

		TEST_ASSERT(set->count <= MSIX_MAX, "SET_IRQS of %u vectors", set->count);
		sets.n++;
		sets.index = set->index;
		sets.start = set->start;
		sets.count = set->count;
		memcpy(sets.fds, set->data, set->count * sizeof(s32));
		return 0;
	}
	TEST_ASSERT(0, "unexpected ioctl %#lx", cmd);
	return -ENOTTY;
}

static void device_init(struct vfio_pci *d, unsigned int msi_count, unsigned int msix_count)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->bdf, "0000:00:01.0");
	d->fd = FAKE_DEVICE_FD;
	d->info.num_irqs = VFIO_PCI_NUM_IRQS;
	TEST_ASSERT(!vfio_irqs__init(d, msi_count, msix_count), "init");
	memset(&sets, 0, sizeof(sets));
}

static void vector_changed(struct vfio_pci *d, bool msix, unsigned int vector, int fd,
			   bool restored)
{
	struct pci_msi_vector v = { .enabled = fd >= 0, .fd = fd, .restored = restored };

	vfio_irqs__changed(d, msix, vector, &v);
}

/* The guest enables MSI: the device gets the vector's eventfd. */
static void test_guest_enables_msi(void)
{
	struct vfio_pci d;

	device_init(&d, 0, 0);
	vector_changed(&d, false, 0, 10, false);
	TEST_ASSERT(sets.n == 1 && sets.index == VFIO_PCI_MSI_IRQ_INDEX && sets.start == 0 &&
		    sets.count == 1 && sets.fds[0] == 10,
		    "MSI enable: %u calls, index %u, [%u, +%u), fd %d", sets.n, sets.index,
		    sets.start, sets.count, sets.fds[0]);
	vfio_irqs__free(&d);
}

/* A kept device with MSI on: its restore sets nothing. */
static void test_restore_sets_nothing(void)
{
	struct vfio_pci d;

	device_init(&d, 1, 0);
	vector_changed(&d, false, 0, 11, true);
	TEST_ASSERT(sets.n == 0, "restore of an enabled MSI vector: %u SET_IRQS", sets.n);
	vfio_irqs__free(&d);

	device_init(&d, 0, 0);
	vector_changed(&d, false, 0, -1, true);
	TEST_ASSERT(sets.n == 0, "restore of a disabled MSI vector: %u SET_IRQS", sets.n);
	vfio_irqs__free(&d);
}

/*
 * The restore's eventfds are learnt: a vector the guest enables later
 * (MSI-X grows by re-enabling) goes with the kept vectors' eventfds.
 */
static void test_restore_learns_eventfds(void)
{
	struct vfio_pci d;

	device_init(&d, 0, 2);
	vector_changed(&d, true, 0, 20, true);
	vector_changed(&d, true, 1, 21, true);
	TEST_ASSERT(sets.n == 0, "restore of two MSI-X vectors: %u SET_IRQS", sets.n);
	vector_changed(&d, true, 2, 22, false);
	TEST_ASSERT(sets.n == 1 && sets.index == VFIO_PCI_MSIX_IRQ_INDEX && sets.start == 0 &&
		    sets.count == 3 && sets.fds[0] == 20 && sets.fds[1] == 21 &&
		    sets.fds[2] == 22,
		    "MSI-X grown after a restore: %u calls, [%u, +%u), fds %d %d %d", sets.n,
		    sets.start, sets.count, sets.fds[0], sets.fds[1], sets.fds[2]);
	vfio_irqs__free(&d);
}

/* A record that disagrees with the vector (enabled past the count) is applied. */
static void test_restore_beyond_the_record(void)
{
	struct vfio_pci d;

	device_init(&d, 0, 0);
	vector_changed(&d, false, 0, 12, true);
	TEST_ASSERT(sets.n == 1 && sets.count == 1 && sets.fds[0] == 12,
		    "restore of a vector the device does not have: %u calls", sets.n);
	vfio_irqs__free(&d);
}

int main(void)
{
	test_guest_enables_msi();
	test_restore_sets_nothing();
	test_restore_learns_eventfds();
	test_restore_beyond_the_record();
	test_cleanup();
	return 0;
}
