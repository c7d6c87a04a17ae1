// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio 1.x PCI transport (virtio spec 4.1), modern only: device id
 * 0x1040 + type, revision 1, so the guest's virtio_pci binds with no
 * legacy interface.  BAR 0 is a trapped 32-bit memory BAR:
 *
 *	0x0000	common configuration (struct virtio_pci_common_cfg)
 *	0x1000	ISR status
 *	0x2000	device-specific configuration (the device's ops->config)
 *	0x3000	notifications, queue n at n * VIRTIO_NOTIFY_MULT
 *	0x4000	MSI-X table (pci/msi.c emulates it)
 *	0x5000	MSI-X PBA
 *
 * Doorbells: trapped writes until the driver sets DRIVER_OK, then an
 * ioeventfd per queue at its notify address (2-byte writes, as Linux's
 * vp_notify() makes), so a kick costs the vCPU no exit to the VMM.  A
 * guest that moves the BAR afterwards is served by the trapped path at
 * the new address.
 *
 * Interrupts are MSI-X only, one vector for config changes and one per
 * queue, raised through the vector's irqfd (pci_function__msi_raise()).
 * No INTx pin: every virtio driver of Linux uses MSI-X when there is one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "vmm/irq.h"
#include "vmm/state.h"
#include "vmm/virtio.h"
#include "vmm/vm.h"

#define VIRTIO_BAR		0
#define VIRTIO_BAR_SIZE		0x8000
#define VIRTIO_COMMON_OFF	0x0000
#define VIRTIO_ISR_OFF		0x1000
#define VIRTIO_DEVICE_OFF	0x2000
#define VIRTIO_NOTIFY_OFF	0x3000
#define VIRTIO_MSIX_TABLE_OFF	0x4000
#define VIRTIO_MSIX_PBA_OFF	0x5000
#define VIRTIO_REGION_SIZE	0x1000
#define VIRTIO_NOTIFY_MULT	4
#define VIRTIO_PCI_VENDOR	0x1af4	/* Red Hat, as the spec assigns */
#define VIRTIO_PCI_DEVICE_BASE	0x1040
#define VIRTIO_ISR_QUEUE	0x1	/* the ISR bits (4.1.4.5) */
#define VIRTIO_ISR_CONFIG	0x2

static struct virtq *virtio_pci__selected(struct virtio_pci *vp)
{
	return vp->queue_select < vp->nr_queues ? &vp->vqs[vp->queue_select] : NULL;
}

static void virtio_pci__reset(struct virtio_pci *vp)
{
	unsigned int i;

	vp->ops->reset(vp);
	for (i = 0; i < vp->nr_queues; i++)
		virtq__reset(&vp->vqs[i]);
	vp->dfselect = 0;
	vp->gfselect = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->queue_select = 0;
	vp->isr = 0;
}

void virtio_pci__needs_reset(struct virtio_pci *vp, const char *why)
{
	pr_warn("%s: device needs a reset: %s", vp->fn.name, why);
	vp->st.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	vp->isr |= VIRTIO_ISR_CONFIG;
	if (vp->msix_config != VIRTIO_MSI_NO_VECTOR)
		pci_function__msi_raise(&vp->fn, vp->msix_config);
}

static u64 virtio_pci__common_read(struct virtio_pci *vp, unsigned int off)
{
	struct virtq *vq = virtio_pci__selected(vp);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:	return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return virtio__read_features(&vp->st, vp->dfselect, true);
	case VIRTIO_PCI_COMMON_GFSELECT:	return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return virtio__read_features(&vp->st, vp->gfselect, false);
	case VIRTIO_PCI_COMMON_MSIX:		return vp->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ:		return vp->nr_queues;
	case VIRTIO_PCI_COMMON_STATUS:		return vp->st.status;
	case VIRTIO_PCI_COMMON_CFGGENERATION:	return vp->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:	return vp->queue_select;
	}
	if (!vq)
		return 0;	/* a queue that does not exist has size 0 */
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:		return vq->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:		return vq->msix_vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE:	return vq->ready;
	case VIRTIO_PCI_COMMON_Q_NOFF:		return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO:	return (u32)vq->desc_gpa;
	case VIRTIO_PCI_COMMON_Q_DESCHI:	return vq->desc_gpa >> 32;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:	return (u32)vq->avail_gpa;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:	return vq->avail_gpa >> 32;
	case VIRTIO_PCI_COMMON_Q_USEDLO:	return (u32)vq->used_gpa;
	case VIRTIO_PCI_COMMON_Q_USEDHI:	return vq->used_gpa >> 32;
	}
	return 0;
}

static void virtio_pci__set_half(u64 *v, bool hi, u32 val)
{
	*v = hi ? (*v & 0xffffffffull) | ((u64)val << 32) : (*v & ~0xffffffffull) | val;
}

static void virtio_pci__queue_enable(struct virtio_pci *vp, struct virtq *vq)
{
	char why[160];

	if (vq->ready)
		return;
	if (virtq__enable(vq, vp->mem, why, sizeof(why)))
		virtio_pci__needs_reset(vp, why);
}

static u32 virtio_pci__doorbell_tag(struct virtio_pci *vp, unsigned int q)
{
	return IRQ_TAG(vp->dev_id, vp->fn.devfn * VIRTIO_PCI_MAX_QUEUES + q);
}

int virtio_pci__doorbell_fd(struct virtio_pci *vp, unsigned int q)
{
	if (!vp->doorbells)
		return -ENOENT;
	return irq__ioeventfd_get(vp->irq, virtio_pci__doorbell_tag(vp, q));
}

void virtio_pci__doorbells_off(struct virtio_pci *vp)
{
	unsigned int q;

	for (q = 0; vp->doorbells && q < vp->nr_queues; q++)
		irq__ioeventfd_del(vp->irq, virtio_pci__doorbell_tag(vp, q));
	vp->doorbells = false;
}

/* Once, where the BAR is now; a failure leaves the trapped doorbells. */
static void virtio_pci__doorbells_on(struct virtio_pci *vp)
{
	const struct pci_bar *bar = &vp->fn.bars[VIRTIO_BAR];
	struct irq_ioevent ev = { .len = 2 };
	unsigned int q;
	int ret = 0;

	if (vp->doorbells || !bar->decoded)
		return;
	for (q = 0; q < vp->nr_queues && !ret; q++) {
		ev.addr = bar->addr + VIRTIO_NOTIFY_OFF + q * VIRTIO_NOTIFY_MULT;
		ret = irq__ioeventfd_add(vp->irq, virtio_pci__doorbell_tag(vp, q), &ev,
					 IRQ_FD_NEW);
	}
	vp->doorbells = true;
	if (ret) {
		pr_warn("%s: doorbells stay trapped, no ioeventfd: %s", vp->fn.name,
			strerror(-ret));
		virtio_pci__doorbells_off(vp);
		return;
	}
	for (q = 0; q < vp->nr_queues; q++)
		vp->ops->notify(vp, q);
}

static void virtio_pci__status_write(struct virtio_pci *vp, u8 val)
{
	if (!val) {
		virtio_pci__reset(vp);
		virtio__set_status(&vp->st, 0);
		return;
	}
	if (virtio__set_status(&vp->st, val) & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_pci__doorbells_on(vp);
}

static void virtio_pci__queue_write(struct virtio_pci *vp, unsigned int off, u32 val)
{
	struct virtq *vq = virtio_pci__selected(vp);

	/* The rings are fixed once the queue is enabled (4.1.4.3.2). */
	if (!vq || (vq->ready && off != VIRTIO_PCI_COMMON_Q_MSIX))
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		vq->size = (u16)val;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		vq->msix_vector = val < 1 + vp->nr_queues ? (u16)val : VIRTIO_MSI_NO_VECTOR;
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (val == 1)
			virtio_pci__queue_enable(vp, vq);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		virtio_pci__set_half(&vq->desc_gpa, off == VIRTIO_PCI_COMMON_Q_DESCHI, val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		virtio_pci__set_half(&vq->avail_gpa, off == VIRTIO_PCI_COMMON_Q_AVAILHI, val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		virtio_pci__set_half(&vq->used_gpa, off == VIRTIO_PCI_COMMON_Q_USEDHI, val);
		break;
	}
}

static void virtio_pci__common_write(struct virtio_pci *vp, unsigned int off, u32 val)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GF:
		virtio__write_features(&vp->st, vp->gfselect, val);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->msix_config = val < 1 + vp->nr_queues ? (u16)val : VIRTIO_MSI_NO_VECTOR;
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_pci__status_write(vp, (u8)val);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = (u16)val;
		break;
	default:
		virtio_pci__queue_write(vp, off, val);
	}
}

static void virtio_pci__bar_access(struct pci_function *fn, unsigned int bar, u64 off,
				   bool is_write, u8 *data, unsigned int size)
{
	struct virtio_pci *vp = container_of(fn, struct virtio_pci, fn);
	u64 val = 0;

	(void)bar;
	if (off >= VIRTIO_NOTIFY_OFF && off < VIRTIO_NOTIFY_OFF + VIRTIO_REGION_SIZE) {
		if (is_write && (off - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT < vp->nr_queues)
			vp->ops->notify(vp, (off - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT);
		else if (!is_write)
			memset(data, 0, size);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (off < VIRTIO_COMMON_OFF + sizeof(struct virtio_pci_common_cfg)) {
		if (is_write) {
			memcpy(&val, data, MIN(size, 4u));
			virtio_pci__common_write(vp, off, (u32)val);
		} else {
			val = virtio_pci__common_read(vp, off);
			memcpy(data, &val, size);
		}
	} else if (off == VIRTIO_ISR_OFF && !is_write) {
		/* Reading the ISR clears it (4.1.4.5). */
		memset(data, 0, size);
		data[0] = vp->isr;
		vp->isr = 0;
	} else if (off >= VIRTIO_DEVICE_OFF && off < VIRTIO_DEVICE_OFF + VIRTIO_REGION_SIZE) {
		vp->ops->config(vp, off - VIRTIO_DEVICE_OFF, is_write, data, size);
	} else if (!is_write) {
		memset(data, 0, size);
	}
	pthread_mutex_unlock(&vp->lock);
}

static const struct pci_function_ops virtio_pci_fn_ops = {
	.bar_access = virtio_pci__bar_access,
};

void virtio_pci__signal_queue(struct virtio_pci *vp, unsigned int q)
{
	u16 vector;

	pthread_mutex_lock(&vp->lock);
	vector = vp->vqs[q].msix_vector;
	vp->isr |= VIRTIO_ISR_QUEUE;
	pthread_mutex_unlock(&vp->lock);
	if (vector != VIRTIO_MSI_NO_VECTOR)
		pci_function__msi_raise(&vp->fn, vector);
}

static int virtio_pci__add_cap(struct virtio_pci *vp, u8 type, u32 off, u32 len, u8 cap_len)
{
	struct pci_function *fn = &vp->fn;
	int at = pci_function__add_cap(fn, PCI_CAP_ID_VNDR, cap_len);

	if (at < 0)
		return at;
	fn->cfg[at + VIRTIO_PCI_CAP_LEN] = cap_len;
	fn->cfg[at + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	fn->cfg[at + VIRTIO_PCI_CAP_BAR] = VIRTIO_BAR;
	memcpy(&fn->cfg[at + VIRTIO_PCI_CAP_OFFSET], &off, 4);
	memcpy(&fn->cfg[at + VIRTIO_PCI_CAP_LENGTH], &len, 4);
	return at;
}

static int virtio_pci__add_caps(struct virtio_pci *vp)
{
	u32 mult = VIRTIO_NOTIFY_MULT;
	int at;

	at = virtio_pci__add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_COMMON_OFF,
				 sizeof(struct virtio_pci_common_cfg),
				 sizeof(struct virtio_pci_cap));
	if (at >= 0)
		at = virtio_pci__add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_ISR_OFF, 1,
					 sizeof(struct virtio_pci_cap));
	if (at >= 0)
		at = virtio_pci__add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_DEVICE_OFF,
					 VIRTIO_REGION_SIZE, sizeof(struct virtio_pci_cap));
	if (at >= 0)
		at = virtio_pci__add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_NOTIFY_OFF,
					 VIRTIO_NOTIFY_MULT * vp->nr_queues,
					 sizeof(struct virtio_pci_notify_cap));
	if (at < 0)
		return at;
	memcpy(&vp->fn.cfg[at + sizeof(struct virtio_pci_cap)], &mult, 4);
	return pci_function__add_msix(&vp->fn, 1 + vp->nr_queues, VIRTIO_BAR,
				      VIRTIO_MSIX_TABLE_OFF, VIRTIO_BAR, VIRTIO_MSIX_PBA_OFF, 0);
}

int virtio_pci__init(struct virtio_pci *vp, struct vm *vm, const char *name, u16 dev_id,
		     u16 type, u32 class_code, unsigned int nr_queues, u64 features,
		     const struct virtio_pci_ops *ops, void *opaque)
{
	unsigned int i;
	u16 sub = type;
	int ret;

	if (nr_queues > VIRTIO_PCI_MAX_QUEUES)
		return -EINVAL;
	pci_function__init(&vp->fn, &virtio_pci_fn_ops, vp, name, VIRTIO_PCI_VENDOR,
			   VIRTIO_PCI_DEVICE_BASE + type, class_code, 0);
	vp->fn.cfg[PCI_REVISION_ID] = 1;
	memcpy(&vp->fn.cfg[PCI_SUBSYSTEM_VENDOR_ID], &(u16){ VIRTIO_PCI_VENDOR }, 2);
	memcpy(&vp->fn.cfg[PCI_SUBSYSTEM_ID], &sub, 2);
	vp->fn.bars[VIRTIO_BAR] = (struct pci_bar){ .type = PCI_BAR_MEM32,
						    .size = VIRTIO_BAR_SIZE };
	vp->ops = ops;
	vp->opaque = opaque;
	vp->mem = &vm->mem;
	vp->irq = vm->irq;
	vp->dev_id = dev_id;
	vp->nr_queues = nr_queues;
	vp->st.host_features = features | (1ull << VIRTIO_F_VERSION_1);
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < nr_queues; i++)
		virtq__reset(&vp->vqs[i]);
	pthread_mutex_init(&vp->lock, NULL);
	ret = virtio_pci__add_caps(vp);
	if (ret < 0)
		pr_err("%s: cannot set up its virtio capabilities: %s", name, strerror(-ret));
	return ret < 0 ? ret : 0;
}

_Static_assert(ARRAY_SIZE(((struct state_virtio_pci *)0)->vqs) == VIRTIO_PCI_MAX_QUEUES,
	       "struct state_virtio_pci holds every queue");

void virtio_pci__save(struct virtio_pci *vp, struct state_virtio_pci *st)
{
	unsigned int q;

	pthread_mutex_lock(&vp->lock);
	st->host_features = vp->st.host_features;
	st->guest_features = vp->st.guest_features;
	st->dfselect = vp->dfselect;
	st->gfselect = vp->gfselect;
	st->msix_config = vp->msix_config;
	st->queue_select = vp->queue_select;
	st->status = vp->st.status;
	st->isr = vp->isr;
	st->config_generation = vp->config_generation;
	st->doorbells = vp->doorbells;
	st->nr_queues = vp->nr_queues;
	for (q = 0; q < vp->nr_queues; q++) {
		const struct virtq *vq = &vp->vqs[q];

		st->vqs[q].desc = vq->desc_gpa;
		st->vqs[q].avail = vq->avail_gpa;
		st->vqs[q].used = vq->used_gpa;
		st->vqs[q].size = vq->size;
		st->vqs[q].msix_vector = vq->msix_vector;
		st->vqs[q].last_avail = vq->last_avail;
		st->vqs[q].used_idx = vq->used_idx;
		st->vqs[q].ready = vq->ready;
	}
	pthread_mutex_unlock(&vp->lock);
}

int virtio_pci__restore(struct virtio_pci *vp, const struct state_virtio_pci *st)
{
	char why[160];
	unsigned int q;
	int ret = 0;

	if (st->host_features != vp->st.host_features || st->nr_queues != vp->nr_queues) {
		pr_err("%s: saved as another device (features 0x%llx, %u queues)", vp->fn.name,
		       (unsigned long long)st->host_features, st->nr_queues);
		return -EINVAL;
	}
	pthread_mutex_lock(&vp->lock);
	vp->st.guest_features = st->guest_features;
	vp->st.status = st->status;
	vp->dfselect = st->dfselect;
	vp->gfselect = st->gfselect;
	vp->msix_config = st->msix_config;
	vp->queue_select = st->queue_select;
	vp->isr = st->isr;
	vp->config_generation = st->config_generation;
	/* The irq device brought the ioeventfds back by tag. */
	vp->doorbells = st->doorbells;
	for (q = 0; q < vp->nr_queues && !ret; q++) {
		struct virtq *vq = &vp->vqs[q];

		vq->desc_gpa = st->vqs[q].desc;
		vq->avail_gpa = st->vqs[q].avail;
		vq->used_gpa = st->vqs[q].used;
		vq->size = st->vqs[q].size;
		vq->msix_vector = st->vqs[q].msix_vector;
		vq->last_avail = st->vqs[q].last_avail;
		vq->used_idx = st->vqs[q].used_idx;
		/* The rings again, in this image's mapping of guest RAM. */
		if (st->vqs[q].ready && virtq__enable(vq, vp->mem, why, sizeof(why))) {
			pr_err("%s: queue %u cannot be restored: %s", vp->fn.name, q, why);
			ret = -EINVAL;
		}
	}
	pthread_mutex_unlock(&vp->lock);
	return ret;
}
