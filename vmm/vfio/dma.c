// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM for the device: every RAM region mapped in the container at
 * IOVA = guest-physical, so a guest driver programs guest-physical
 * addresses without any IOMMU of its own.  type1 pins the pages and
 * charges them to this process's locked memory (RLIMIT_MEMLOCK, unless it
 * has CAP_IPC_LOCK).
 *
 * Across a live upgrade's exec the mappings stay (the container is kept
 * and the pages stay pinned, so DMA goes on), but the host addresses type1
 * recorded belong to the old address space.  So, as QEMU's cpr does:
 * VFIO_DMA_UNMAP_FLAG_VADDR before exec forgets them (type1 blocks any
 * use of a vaddr until it is back), VFIO_DMA_MAP_FLAG_VADDR in the new
 * image gives the new ones, where the same memfd is mapped; on that call
 * 6.12's type1 moves the locked-memory charge to the new image's mm
 * (vfio_change_dma_owner()).
 */
#include <errno.h>
#include <string.h>

#include "vfio.h"

static int vfio_dma__map(struct vfio *v, u64 iova, u64 size, u64 vaddr, u32 flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};

	return vfio__ioctl(v->container, VFIO_IOMMU_MAP_DMA, &map);
}

static int vfio_dma__unmap(struct vfio *v, u64 iova, u64 size, u32 flags)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = size,
	};

	return vfio__ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

int vfio_dma__map_ram(struct vfio *v, const struct guest_mem *mem)
{
	const struct guest_mem_region *r;
	unsigned int i;
	int ret;

	for (i = 0; i < mem->nr_regions; i++) {
		r = &mem->regions[i];
		ret = vfio_dma__map(v, r->gpa, r->size, (u64)(uintptr_t)(mem->hva + r->offset),
				    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
		if (ret < 0) {
			pr_err("vfio: mapping guest RAM 0x%llx-0x%llx for DMA failed: %s%s",
			       (unsigned long long)r->gpa,
			       (unsigned long long)(r->gpa + r->size - 1), strerror(-ret),
			       ret == -ENOMEM ? " (RLIMIT_MEMLOCK too low?)" : "");
			return ret;
		}
		v->dma[v->nr_dma++] = (struct vfio_dma){
			.iova = r->gpa,
			.size = r->size,
			.vaddr = (u64)(uintptr_t)(mem->hva + r->offset),
		};
	}
	return 0;
}

/* Put back the host addresses of dma[0..@n) after a failed invalidation. */
static void vfio_dma__revalidate(struct vfio *v, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = vfio_dma__map(v, v->dma[i].iova, v->dma[i].size, v->dma[i].vaddr,
				    VFIO_DMA_MAP_FLAG_VADDR);
		if (ret < 0)
			pr_err("vfio: DMA at 0x%llx keeps an invalid host address: %s",
			       (unsigned long long)v->dma[i].iova, strerror(-ret));
	}
}

int vfio_dma__invalidate_vaddr(struct vfio *v)
{
	unsigned int i;
	int ret;

	if (v->vaddr_invalid)
		return 0;
	for (i = 0; i < v->nr_dma; i++) {
		ret = vfio_dma__unmap(v, v->dma[i].iova, v->dma[i].size,
				      VFIO_DMA_UNMAP_FLAG_VADDR);
		if (ret < 0) {
			pr_err("vfio: VFIO_DMA_UNMAP_FLAG_VADDR at 0x%llx failed: %s",
			       (unsigned long long)v->dma[i].iova, strerror(-ret));
			vfio_dma__revalidate(v, i);
			return ret;
		}
	}
	v->vaddr_invalid = true;
	return 0;
}

/*
 * The host addresses of this image (@mem): after exec, and in the old
 * image after a failed one.  A range whose vaddr is valid already was
 * updated by a new image that failed and rolled back to this one: type1
 * only updates an invalid vaddr, so it is invalidated first.
 */
int vfio_dma__update_vaddr(struct vfio *v, const struct guest_mem *mem)
{
	struct vfio_dma *d;
	unsigned int i;
	int ret;

	for (i = 0; i < v->nr_dma; i++) {
		d = &v->dma[i];
		d->vaddr = (u64)(uintptr_t)guest_mem__gpa_to_hva(mem, d->iova, d->size);
		if (!d->vaddr) {
			pr_err("vfio: DMA range 0x%llx+0x%llx is not guest RAM here",
			       (unsigned long long)d->iova, (unsigned long long)d->size);
			return -EINVAL;
		}
		ret = vfio_dma__map(v, d->iova, d->size, d->vaddr, VFIO_DMA_MAP_FLAG_VADDR);
		if (ret == -EINVAL) {
			ret = vfio_dma__unmap(v, d->iova, d->size, VFIO_DMA_UNMAP_FLAG_VADDR);
			if (!ret)
				ret = vfio_dma__map(v, d->iova, d->size, d->vaddr,
						    VFIO_DMA_MAP_FLAG_VADDR);
		}
		if (ret < 0) {
			pr_err("vfio: VFIO_DMA_MAP_FLAG_VADDR at 0x%llx failed: %s%s",
			       (unsigned long long)d->iova, strerror(-ret),
			       ret == -ENOMEM ? " (RLIMIT_MEMLOCK of this image too low?)" : "");
			return ret;
		}
	}
	v->vaddr_invalid = false;
	return 0;
}
