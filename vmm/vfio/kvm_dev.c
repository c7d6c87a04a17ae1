// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's VFIO pseudo-device: tells KVM which VFIO groups the VM uses, so
 * it can let the guest control cache coherency (non-coherent DMA) and
 * take part in the groups' lifetime.  A VM has at most one (a second
 * KVM_CREATE_DEVICE fails with EBUSY) and it lives as long as the VM: an
 * adopted VM keeps its own, so the new image takes the old fd back; a
 * new VM (rebuild, cloexec) gets a new one.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmm/kvm.h"
#include "vfio.h"

/* KVM_DEV_VFIO_FILE(_ADD) since 6.6; the same numbers as the group names. */
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE	KVM_DEV_VFIO_GROUP
#define KVM_DEV_VFIO_FILE_ADD	KVM_DEV_VFIO_GROUP_ADD
#endif

static int vfio_kvm_dev__add_group(struct vfio *v, struct vfio_group *g)
{
	s32 fd = g->fd;
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE,
		.attr = KVM_DEV_VFIO_FILE_ADD,
		.addr = (u64)(uintptr_t)&fd,
	};
	int ret;

	ret = vfio__ioctl(v->kvm_dev, KVM_SET_DEVICE_ATTR, &attr);
	if (ret < 0)
		pr_err("vfio: adding IOMMU group %u to KVM's VFIO device failed: %s",
		       g->id, strerror(-ret));
	return ret;
}

int vfio_kvm_dev__create(struct vfio *v, int vm_fd)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	unsigned int i;
	int ret;

	ret = vfio__ioctl(vm_fd, KVM_CREATE_DEVICE, &cd);
	if (ret < 0) {
		pr_err("vfio: KVM_CREATE_DEVICE KVM_DEV_TYPE_VFIO failed: %s", strerror(-ret));
		return ret;
	}
	v->kvm_dev = cd.fd;
	for (i = 0; i < v->nr_groups; i++) {
		ret = vfio_kvm_dev__add_group(v, &v->groups[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void vfio_kvm_dev__close(struct vfio *v)
{
	if (v->kvm_dev >= 0)
		close(v->kvm_dev);
	v->kvm_dev = -1;
}
