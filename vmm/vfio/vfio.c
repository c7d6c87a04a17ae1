// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO passthrough as a registry entry (device.h): open every --vfio
 * device at a fresh start, keep every file across a live upgrade and
 * take them back in the new image, never closing one in between, so the
 * device is never reset (Documentation/upgrade.rst, "VFIO devices").
 *
 * Kept files, by index: the container, KVM's VFIO device, then each
 * group and each device in the order of the record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "vmm/device.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "vfio.h"

#define VFIO_FD_CONTAINER	0
#define VFIO_FD_KVM_DEV		1
#define VFIO_FD_GROUP(i)	(0x100 + (i))
#define VFIO_FD_DEV(i)		(0x200 + (i))

static const struct device_ops vfio_ops;

_Static_assert(CONFIG_VFIO_MAX <= ARRAY_SIZE(((struct state_vfio *)0)->devs),
	       "struct state_vfio holds every --vfio device");
_Static_assert(ARRAY_SIZE(((struct vfio *)0)->dma) ==
	       ARRAY_SIZE(((struct state_vfio *)0)->dma),
	       "struct state_vfio holds every DMA range");

static struct vfio *vfio__alloc(void)
{
	struct vfio *v = calloc(1, sizeof(*v));
	unsigned int i;

	if (!v)
		return NULL;
	v->container = v->kvm_dev = -1;
	for (i = 0; i < VFIO_MAX_DEVICES; i++) {
		v->groups[i].fd = -1;
		v->devs[i].fd = -1;
	}
	return v;
}

static void vfio__free(struct vm *vm, struct vfio *v)
{
	unsigned int i;

	/* Off the bus first, then devices, their groups, the container. */
	for (i = 0; i < v->nr_devs; i++)
		vfio_pci_fn__remove(vm, &v->devs[i]);
	for (i = 0; i < v->nr_devs; i++)
		vfio_pci__close(&v->devs[i]);
	vfio_group__close_all(v);
	vfio_container__close(v);
	vfio_kvm_dev__close(v);
	free(v);
}

/* The PCI addresses of the config, and the sysfs refusals. */
static int vfio__probe(struct vm *vm, struct vfio *v)
{
	struct vfio_pci *d;
	unsigned int i;
	int ret;

	for (i = 0; i < vm->cfg->nr_vfio; i++) {
		d = &v->devs[i];
		ret = vfio_sysfs__probe(vm->cfg->vfio[i], d->bdf, &d->group_id);
		if (ret)
			return ret;
		v->nr_devs++;
	}
	return 0;
}

static int vfio__open_all(struct vm *vm, struct vfio *v)
{
	unsigned int i;
	int ret;

	ret = vfio__probe(vm, v);
	if (!ret)
		ret = vfio_container__open(v, v->devs[0].bdf);
	for (i = 0; !ret && i < v->nr_devs; i++)
		ret = vfio_group__open(v, v->devs[i].bdf, v->devs[i].group_id);
	for (i = 0; !ret && i < v->nr_devs; i++)
		ret = vfio_pci__open(v, &v->devs[i]);
	if (!ret)
		ret = vfio_dma__map_ram(v, &vm->mem);
	for (i = 0; !ret && i < v->nr_devs; i++)
		ret = vfio_pci__enable_dma(&v->devs[i]);
	if (!ret)
		ret = vfio_kvm_dev__create(v, vm->kvm.vm_fd);
	for (i = 0; !ret && i < v->nr_devs; i++)
		ret = vfio_pci_fn__add(vm, &v->devs[i]);
	for (i = 0; !ret && i < v->nr_devs; i++)
		pr_debug("vfio %s: IOMMU group %u, %u regions, %u irqs, command 0x%04x",
			 v->devs[i].bdf, v->devs[i].group_id, v->devs[i].info.num_regions,
			 v->devs[i].info.num_irqs, v->devs[i].command);
	return ret;
}

/* A kept file back, or -errno after a message naming it. */
static int vfio__take(struct device_in *in, u16 n, const char *what, const char *name)
{
	int fd = device_in__take_fd(in, &vfio_ops, n);

	if (fd < 0)
		pr_err("vfio %s: its %s was not kept: %s", name, what, strerror(-fd));
	return fd;
}

/* The record agrees with this image's --vfio list. */
static int vfio__check_record(struct vm *vm, const struct state_vfio *st)
{
	char bdf[VFIO_BDF_LEN];
	unsigned int i;

	if (st->nr_devs != vm->cfg->nr_vfio || st->nr_groups > st->nr_devs ||
	    st->nr_dma > ARRAY_SIZE(st->dma)) {
		pr_err("vfio: the record has %u devices, %u groups and %u DMA ranges for %u --vfio",
		       st->nr_devs, st->nr_groups, st->nr_dma, vm->cfg->nr_vfio);
		return -EINVAL;
	}
	for (i = 0; i < st->nr_devs; i++) {
		if (vfio__parse_bdf(vm->cfg->vfio[i], bdf) ||
		    strncmp(bdf, st->devs[i].bdf, sizeof(st->devs[i].bdf))) {
			pr_err("vfio: kept device %u is %.16s, not --vfio %s", i,
			       st->devs[i].bdf, vm->cfg->vfio[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int vfio__take_files(struct vfio *v, struct device_in *in, const struct state_vfio *st)
{
	struct vfio_pci *d;
	unsigned int i;
	int ret;

	v->container = vfio__take(in, VFIO_FD_CONTAINER, "container", st->devs[0].bdf);
	if (v->container < 0)
		return v->container;
	for (i = 0; i < st->nr_groups; i++) {
		v->groups[i].id = st->groups[i];
		v->groups[i].fd = vfio__take(in, VFIO_FD_GROUP(i), "group", st->devs[0].bdf);
		if (v->groups[i].fd < 0)
			return v->groups[i].fd;
		v->nr_groups++;
	}
	for (i = 0; i < st->nr_devs; i++) {
		d = &v->devs[i];
		memcpy(d->bdf, st->devs[i].bdf, VFIO_BDF_LEN - 1);
		d->group_id = st->devs[i].group;
		d->command = st->devs[i].command;
		d->kept_msi = st->devs[i].msi_count;
		d->kept_msix = st->devs[i].msix_count;
		d->fd = vfio__take(in, VFIO_FD_DEV(i), "device fd", d->bdf);
		if (d->fd < 0)
			return d->fd;
		v->nr_devs++;
		ret = vfio_pci__check(d);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * KVM's VFIO device: the adopted VM still has it, a new VM needs its own
 * (the old one's fd is closed; it goes with the old VM).
 */
static int vfio__kvm_dev_back(struct vm *vm, struct vfio *v, struct device_in *in)
{
	int fd = vfio__take(in, VFIO_FD_KVM_DEV, "KVM VFIO device", v->devs[0].bdf);

	if (device_in__kept_vm(in)) {
		v->kvm_dev = fd;
		return fd < 0 ? fd : 0;
	}
	if (fd >= 0)
		close(fd);
	return vfio_kvm_dev__create(v, vm->kvm.vm_fd);
}

/* A device that was reset lost its command register (decoding, mastering). */
static void vfio__check_not_reset(struct vfio *v)
{
	struct vfio_pci *d;
	unsigned int i;
	u16 cmd;

	for (i = 0; i < v->nr_devs; i++) {
		d = &v->devs[i];
		if (vfio_pci__config_read(d, PCI_COMMAND, &cmd, sizeof(cmd)))
			continue;
		if (cmd != d->command)
			pr_warn("vfio %s: command register 0x%04x, was 0x%04x: reset across the upgrade?",
				d->bdf, cmd, d->command);
		else
			pr_debug("vfio %s: kept, command 0x%04x", d->bdf, cmd);
	}
}

static int vfio__take_back(struct vm *vm, struct vfio *v, struct device_in *in)
{
	const struct state_rec *rec = device_in__find(in, STATE_DEV_VFIO, 0);
	struct vfio_upgrade_report *r = &v->report;
	const struct state_vfio *st;
	unsigned int i;
	u64 t0 = now_ns(), t1, t2;
	int ret;

	if (!rec) {
		pr_err("vfio: --vfio given but the old image saved no VFIO record");
		return -ENOENT;
	}
	st = rec->payload;
	ret = vfio__check_record(vm, st);
	if (!ret)
		ret = vfio__take_files(v, in, st);
	if (ret)
		return ret;
	v->update_vaddr = vfio_container__has_update_vaddr(v);
	for (i = 0; i < st->nr_dma; i++)
		v->dma[v->nr_dma++] = (struct vfio_dma){
			.iova = st->dma[i].iova,
			.size = st->dma[i].size,
		};
	v->vaddr_invalid = true;
	t1 = now_ns();
	ret = vfio_dma__update_vaddr(v, &vm->mem);
	t2 = now_ns();
	if (!ret)
		ret = vfio__kvm_dev_back(vm, v, in);
	for (i = 0; !ret && i < v->nr_devs; i++)
		ret = vfio_pci_fn__add(vm, &v->devs[i]);
	if (ret)
		return ret;
	vfio__check_not_reset(v);
	v->taken_back = true;
	*r = (struct vfio_upgrade_report){
		.nr_devices = v->nr_devs,
		.kvm_dev_kept = device_in__kept_vm(in),
		.take_back_ns = t1 - t0,
		.update_vaddr_ns = t2 - t1,
		.kvm_dev_ns = now_ns() - t2,
	};
	return 0;
}

bool vfio__upgrade_report(const struct vm *vm, struct vfio_upgrade_report *r)
{
	if (!vm->vfio || !vm->vfio->taken_back)
		return false;
	*r = vm->vfio->report;
	return true;
}

static void vfio__exit(struct vm *vm)
{
	if (!vm->vfio)
		return;
	vfio__free(vm, vm->vfio);
	vm->vfio = NULL;
}

static int vfio__init(struct vm *vm, struct device_in *in)
{
	struct vfio *v;
	int ret;

	if (!vm->cfg->nr_vfio)
		return 0;
	v = vfio__alloc();
	if (!v)
		return -ENOMEM;
	vm->vfio = v;
	ret = in ? vfio__take_back(vm, v, in) : vfio__open_all(vm, v);
	if (ret)
		vfio__exit(vm);
	return ret;
}

static void vfio__save(struct vm *vm, struct state_buf *b)
{
	struct vfio *v = vm->vfio;
	struct state_vfio *st;
	unsigned int i;

	if (!v)
		return;
	st = state__put_space(b, STATE_DEV_VFIO, 0, sizeof(*st));
	if (!st)
		return;
	st->nr_devs = v->nr_devs;
	st->nr_groups = v->nr_groups;
	st->nr_dma = v->nr_dma;
	for (i = 0; i < v->nr_devs; i++) {
		memcpy(st->devs[i].bdf, v->devs[i].bdf, VFIO_BDF_LEN);
		st->devs[i].group = v->devs[i].group_id;
		st->devs[i].command = v->devs[i].command;
		st->devs[i].msi_count = v->devs[i].msi.count;
		st->devs[i].msix_count = v->devs[i].msix.count;
	}
	for (i = 0; i < v->nr_groups; i++)
		st->groups[i] = v->groups[i].id;
	for (i = 0; i < v->nr_dma; i++) {
		st->dma[i].iova = v->dma[i].iova;
		st->dma[i].size = v->dma[i].size;
	}
}

static void vfio__keep_fds(struct vm *vm, struct device_keep *k)
{
	struct vfio *v = vm->vfio;
	unsigned int i;

	if (!v)
		return;
	device_keep__fd(k, &vfio_ops, VFIO_FD_CONTAINER, v->container);
	device_keep__fd(k, &vfio_ops, VFIO_FD_KVM_DEV, v->kvm_dev);
	for (i = 0; i < v->nr_groups; i++)
		device_keep__fd(k, &vfio_ops, VFIO_FD_GROUP(i), v->groups[i].fd);
	for (i = 0; i < v->nr_devs; i++)
		device_keep__fd(k, &vfio_ops, VFIO_FD_DEV(i), v->devs[i].fd);
}

/*
 * Every mode execs, so every mode needs the vaddr update: the kernel
 * must have it, or the upgrade is refused while the guest still runs.
 */
static int vfio__can_upgrade(struct vm *vm, bool keep_vm, char *why, size_t len)
{
	struct vfio *v = vm->vfio;

	(void)keep_vm;
	if (!v)
		return 0;
	/* Asked now: type1 withdraws it while an mdev group is in the container. */
	v->update_vaddr = vfio_container__has_update_vaddr(v);
	if (v->update_vaddr)
		return 0;
	snprintf(why, len,
		 "vfio %s: the IOMMU lacks VFIO_UPDATE_VADDR, so its DMA mappings cannot follow the new image",
		 v->devs[0].bdf);
	return -EOPNOTSUPP;
}

static int vfio__before_exec(struct vm *vm, char *why, size_t len)
{
	struct vfio *v = vm->vfio;
	int ret;

	if (!v)
		return 0;
	ret = vfio_dma__invalidate_vaddr(v);
	if (ret)
		snprintf(why, len, "vfio: invalidating the DMA host addresses failed: %s",
			 strerror(-ret));
	return ret;
}

static void vfio__after_failed_exec(struct vm *vm)
{
	struct vfio *v = vm->vfio;

	if (v && v->vaddr_invalid && vfio_dma__update_vaddr(v, &vm->mem))
		pr_err("vfio: DMA host addresses not restored: the device's DMA may stall");
}

static const struct device_ops vfio_ops = {
	.name = "vfio",
	.order = DEVICE_ORDER_PCI,
	.id = STATE_DEV_VFIO,
	.init = vfio__init,
	.exit = vfio__exit,
	.save = vfio__save,
	.keep_fds = vfio__keep_fds,
	.can_upgrade = vfio__can_upgrade,
	.before_exec = vfio__before_exec,
	.after_failed_exec = vfio__after_failed_exec,
};
DEVICE_REGISTER(vfio_ops);
