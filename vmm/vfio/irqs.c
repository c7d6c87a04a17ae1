// SPDX-License-Identifier: GPL-2.0
/*
 * A passed-through function's MSI and MSI-X vectors.  The platform
 * (pci/msi.c) emulates the capabilities and gives every vector the guest
 * enables an MSI route and an irqfd; the irqfd's eventfd is what the
 * device signals here (VFIO_DEVICE_SET_IRQS, DATA_EVENTFD), so a device
 * interrupt reaches the guest without an exit to the VMM.  A masked
 * vector keeps its eventfd: the platform has detached the irqfd and the
 * write stays pending until the guest unmasks it.
 *
 * The eventfds belong to the irq routing, which keeps them across a live
 * upgrade, and the kept device fd keeps its triggers: nothing is set again
 * in the new image, which only learns how many vectors the device has
 * enabled (the record) and their eventfds (the restore's notifications),
 * so that a later change touches that vector alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio.h"

static int vfio_irqs__count(struct vfio_pci *d, u32 index, unsigned int *count)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };
	int ret;

	*count = 0;
	if (index >= d->info.num_irqs)
		return 0;
	ret = vfio__ioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &info);
	if (ret < 0) {
		pr_err("vfio %s: VFIO_DEVICE_GET_IRQ_INFO %u failed: %s", d->bdf, index,
		       strerror(-ret));
		return ret;
	}
	*count = info.count;
	return 0;
}

static int vfio_irq__alloc(struct vfio_irq *irq, unsigned int max)
{
	unsigned int i;

	irq->max = max;
	irq->count = 0;
	if (!max)
		return 0;
	irq->fds = malloc(max * sizeof(*irq->fds));
	if (!irq->fds)
		return -ENOMEM;
	for (i = 0; i < max; i++)
		irq->fds[i] = -1;
	return 0;
}

int vfio_irqs__init(struct vfio_pci *d, unsigned int msi_count, unsigned int msix_count)
{
	unsigned int n;
	int ret;

	ret = vfio_irqs__count(d, VFIO_PCI_MSI_IRQ_INDEX, &n);
	if (!ret)
		ret = vfio_irq__alloc(&d->msi, n);
	if (!ret)
		ret = vfio_irqs__count(d, VFIO_PCI_MSIX_IRQ_INDEX, &n);
	if (!ret)
		ret = vfio_irq__alloc(&d->msix, n);
	if (!ret) {
		d->msi.count = MIN(msi_count, d->msi.max);
		d->msix.count = MIN(msix_count, d->msix.max);
	}
	return ret;
}

void vfio_irqs__free(struct vfio_pci *d)
{
	free(d->msi.fds);
	free(d->msix.fds);
	memset(&d->msi, 0, sizeof(d->msi));
	memset(&d->msix, 0, sizeof(d->msix));
}

/* Triggers of vectors [@start, @start + @count): eventfds or -1; 0 disables. */
static int vfio_irqs__set(struct vfio_pci *d, u32 index, unsigned int start, unsigned int count,
			  const s32 *fds)
{
	size_t len = sizeof(struct vfio_irq_set) + count * sizeof(s32);
	struct vfio_irq_set *set = calloc(1, len);
	int ret;

	if (!set)
		return -ENOMEM;
	set->argsz = len;
	set->flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
		     VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = start;
	set->count = count;
	if (count)
		memcpy(set->data, fds, count * sizeof(s32));
	ret = vfio__ioctl(d->fd, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	return ret;
}

/*
 * Give the device vector @vector's trigger.  Within the vectors it has
 * enabled, that vector alone (after a live upgrade the others' eventfds
 * are the device's already, not known here); more vectors mean enabling
 * anew with all of them (MSI cannot grow in place; MSI-X can where
 * vfio-pci allocates dynamically, else it is re-enabled too).
 */
static int vfio_irqs__apply(struct vfio_pci *d, struct vfio_irq *irq, u32 index,
			    unsigned int vector)
{
	unsigned int need = irq->max;
	int ret = -EINVAL;

	while (need && irq->fds[need - 1] < 0)
		need--;
	if (!need) {
		ret = irq->count ? vfio_irqs__set(d, index, 0, 0, NULL) : 0;
		irq->count = 0;
		return ret;
	}
	if (vector < irq->count)
		return vfio_irqs__set(d, index, vector, 1, &irq->fds[vector]);
	if (index == VFIO_PCI_MSIX_IRQ_INDEX && irq->count)
		ret = vfio_irqs__set(d, index, 0, need, irq->fds);
	if (ret < 0 && irq->count)
		vfio_irqs__set(d, index, 0, 0, NULL);
	if (ret < 0)
		ret = vfio_irqs__set(d, index, 0, need, irq->fds);
	irq->count = ret < 0 ? 0 : need;
	return ret;
}

void vfio_irqs__changed(struct vfio_pci *d, bool msix, unsigned int vector,
			const struct pci_msi_vector *v)
{
	struct vfio_irq *irq = msix ? &d->msix : &d->msi;
	u32 index = msix ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
	int ret;

	if (vector >= irq->max)
		return;
	irq->fds[vector] = v->enabled ? v->fd : -1;
	/*
	 * Setting a trigger the device already has is not free: vfio-pci
	 * frees and requests the host interrupt again, and an MSI the device
	 * sends in between is lost (edu's DMA stalled on one).
	 */
	if (v->restored && (vector < irq->count) == v->enabled)
		return;
	ret = vfio_irqs__apply(d, irq, index, vector);
	if (ret < 0)
		pr_err("vfio %s: %s vector %u: VFIO_DEVICE_SET_IRQS failed: %s", d->bdf,
		       msix ? "MSI-X" : "MSI", vector, strerror(-ret));
}
