// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU groups: /dev/vfio/N, opened once per group however many of its
 * devices are passed through, checked viable (every device of the group
 * bound to vfio-pci or to no driver) and put in the container.  sysfs.c
 * already refused a group it sees as not viable, naming the device in the
 * way; VFIO_GROUP_GET_STATUS here is the kernel's word, the backstop for
 * a driver bound between the two looks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vfio.h"

struct vfio_group *vfio_group__find(struct vfio *v, unsigned int id)
{
	unsigned int i;

	for (i = 0; i < v->nr_groups; i++)
		if (v->groups[i].id == id)
			return &v->groups[i];
	return NULL;
}

/* vfio's enable_unsafe_noiommu_mode names the group noiommu-N instead. */
static bool vfio_group__is_noiommu(unsigned int id)
{
	char path[40];

	snprintf(path, sizeof(path), "/dev/vfio/noiommu-%u", id);
	return access(path, F_OK) == 0;
}

static int vfio_group__open_fd(const char *bdf, unsigned int id)
{
	char path[32];
	int fd, err;

	snprintf(path, sizeof(path), "/dev/vfio/%u", id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	err = errno;
	if (err == EACCES || err == EPERM)
		pr_err("vfio %s: no permission to open %s (IOMMU group %u)", bdf, path, id);
	else if (err == EBUSY)
		pr_err("vfio %s: %s is in use by another process", bdf, path);
	else if (err == ENOENT && vfio_group__is_noiommu(id))
		pr_err("vfio %s: no IOMMU: group %u is VFIO's unsafe no-IOMMU mode", bdf, id);
	else
		pr_err("vfio %s: cannot open %s: %s", bdf, path, strerror(err));
	return -err;
}

static int vfio_group__check_viable(int fd, const char *bdf, unsigned int id)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int ret;

	ret = vfio__ioctl(fd, VFIO_GROUP_GET_STATUS, &st);
	if (ret < 0) {
		pr_err("vfio %s: VFIO_GROUP_GET_STATUS on group %u failed: %s", bdf, id,
		       strerror(-ret));
		return ret;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		pr_err("vfio %s: IOMMU group %u is not viable: every device in it must be bound to vfio-pci or to no driver",
		       bdf, id);
		return -EBUSY;
	}
	return 0;
}

int vfio_group__open(struct vfio *v, const char *bdf, unsigned int id)
{
	int fd, ret;

	if (vfio_group__find(v, id))
		return 0;
	fd = vfio_group__open_fd(bdf, id);
	if (fd < 0)
		return fd;
	ret = vfio_group__check_viable(fd, bdf, id);
	if (!ret) {
		ret = vfio__ioctl(fd, VFIO_GROUP_SET_CONTAINER, &v->container);
		if (ret < 0)
			pr_err("vfio %s: VFIO_GROUP_SET_CONTAINER of group %u failed: %s",
			       bdf, id, strerror(-ret));
	}
	if (ret < 0) {
		close(fd);
		return ret;
	}
	v->groups[v->nr_groups++] = (struct vfio_group){ .id = id, .fd = fd };
	/* The IOMMU model is set once, when the container has its first group. */
	if (v->nr_groups == 1)
		return vfio_container__set_iommu(v, bdf);
	return 0;
}

void vfio_group__close_all(struct vfio *v)
{
	unsigned int i;

	for (i = 0; i < v->nr_groups; i++)
		if (v->groups[i].fd >= 0)
			close(v->groups[i].fd);
	v->nr_groups = 0;
}
