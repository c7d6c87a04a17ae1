// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO container: one per VM, every group in it shares one IOMMU
 * address space, which is guest-physical (dma.c).  The legacy container
 * with the type1 IOMMU, whose VFIO_UPDATE_VADDR is what lets a live
 * upgrade keep DMA mappings across exec; /dev/iommu's IOAS has no
 * equivalent in 6.12 (Documentation/vmm.rst).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfio.h"

#define VFIO_CONTAINER_PATH	"/dev/vfio/vfio"
/* Tests only: play a kernel without VFIO_UPDATE_VADDR (e2e_vfio_errors). */
#define VFIO_ENV_TEST_NO_UPDATE_VADDR	"VMM_TEST_NO_UPDATE_VADDR"

int vfio__ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static int vfio_container__check(struct vfio *v, const char *bdf)
{
	int ret;

	ret = ioctl(v->container, VFIO_GET_API_VERSION);
	if (ret != VFIO_API_VERSION) {
		pr_err("vfio %s: " VFIO_CONTAINER_PATH " speaks VFIO API %d, not %d",
		       bdf, ret, VFIO_API_VERSION);
		return -EPROTO;
	}
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		pr_err("vfio %s: no type1v2 IOMMU: the host has no IOMMU (or no vfio_iommu_type1)",
		       bdf);
		return -ENODEV;
	}
	return 0;
}

int vfio_container__open(struct vfio *v, const char *bdf)
{
	int ret;

	v->container = open(VFIO_CONTAINER_PATH, O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		ret = -errno;
		pr_err("vfio %s: cannot open " VFIO_CONTAINER_PATH ": %s%s", bdf,
		       strerror(-ret), ret == -ENOENT ? " (vfio not loaded?)" : "");
		return ret;
	}
	return vfio_container__check(v, bdf);
}

/*
 * After the first group joined: the IOMMU model is chosen for the
 * container, and only then does it answer for VFIO_UPDATE_VADDR (type1
 * says no while an emulated IOMMU group, an mdev, is in it).
 */
int vfio_container__set_iommu(struct vfio *v, const char *bdf)
{
	int ret;

	ret = vfio__ioctl(v->container, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU);
	if (ret < 0) {
		pr_err("vfio %s: VFIO_SET_IOMMU type1v2 failed: %s", bdf, strerror(-ret));
		return ret;
	}
	v->update_vaddr = vfio_container__has_update_vaddr(v);
	return 0;
}

bool vfio_container__has_update_vaddr(struct vfio *v)
{
	if (getenv(VFIO_ENV_TEST_NO_UPDATE_VADDR))
		return false;
	return ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR) > 0;
}

void vfio_container__close(struct vfio *v)
{
	if (v->container >= 0)
		close(v->container);
	v->container = -1;
}
