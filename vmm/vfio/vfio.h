/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside VFIO passthrough (Documentation/vmm.rst, "VFIO passthrough").
 *
 *   sysfs.c      the PCI address: exists, bound to vfio-pci, its group
 *   container.c  /dev/vfio/vfio: API version, type1 IOMMU, extensions
 *   group.c      /dev/vfio/N: permission, viability, into the container
 *   device.c     the device fd, its info and config space
 *   dma.c        guest RAM mapped for DMA at IOVA = guest-physical, and
 *                the host addresses moved across a live upgrade's exec
 *   kvm_dev.c    KVM's VFIO pseudo-device (one per VM)
 *   vfio.c       the registry entry: create, keep, take back, destroy
 *
 * Every fd here is opened O_CLOEXEC: only a live upgrade keeps them, by
 * the device's keep_fds(), never by accident.
 */
#ifndef VMM_VFIO_PRIV_H
#define VMM_VFIO_PRIV_H

#include <linux/vfio.h>

#include "vmm/config.h"
#include "vmm/guest_mem.h"
#include "vmm/vfio.h"

#define VFIO_MAX_DEVICES	CONFIG_VFIO_MAX

struct vfio_group {
	unsigned int id;	/* /dev/vfio/<id> */
	int fd;
};

struct vfio_pci {
	char bdf[VFIO_BDF_LEN];
	unsigned int group_id;
	int fd;
	struct vfio_device_info info;
	u16 command;		/* config space command register, as set */
};

/* One guest RAM region as the IOMMU maps it. */
struct vfio_dma {
	u64 iova;		/* guest-physical */
	u64 size;
	u64 vaddr;		/* where this image has it mapped */
};

struct vfio {
	int container;		/* /dev/vfio/vfio */
	int kvm_dev;		/* KVM_DEV_TYPE_VFIO on this VM */
	bool update_vaddr;	/* the IOMMU has VFIO_UPDATE_VADDR */
	bool vaddr_invalid;	/* between before_exec and the new image */
	unsigned int nr_groups;
	struct vfio_group groups[VFIO_MAX_DEVICES];
	unsigned int nr_devs;
	struct vfio_pci devs[VFIO_MAX_DEVICES];
	unsigned int nr_dma;
	struct vfio_dma dma[ARRAY_SIZE(((struct guest_mem *)0)->regions)];
	bool taken_back;	/* built from a live upgrade's kept files */
	struct vfio_upgrade_report report;
};

/* ioctl() retried on EINTR: the result or -errno, nothing printed. */
int vfio__ioctl(int fd, unsigned long cmd, void *arg);

/*
 * sysfs.c: the host's view of --vfio @arg: its canonical address, that it
 * exists and is bound to vfio-pci, its IOMMU group.  -errno after one line.
 */
int vfio_sysfs__probe(const char *arg, char bdf[VFIO_BDF_LEN], unsigned int *group);

/* container.c */
int vfio_container__open(struct vfio *v, const char *bdf);
int vfio_container__set_iommu(struct vfio *v, const char *bdf);
bool vfio_container__has_update_vaddr(struct vfio *v);
void vfio_container__close(struct vfio *v);

/* group.c: open each device's group once, into the container. */
int vfio_group__open(struct vfio *v, const char *bdf, unsigned int id);
struct vfio_group *vfio_group__find(struct vfio *v, unsigned int id);
void vfio_group__close_all(struct vfio *v);

/* device.c */
int vfio_pci__open(struct vfio *v, struct vfio_pci *d);
int vfio_pci__check(struct vfio_pci *d);
int vfio_pci__config_read(struct vfio_pci *d, u32 off, void *buf, u32 len);
int vfio_pci__config_write(struct vfio_pci *d, u32 off, const void *buf, u32 len);
int vfio_pci__enable_dma(struct vfio_pci *d);
void vfio_pci__close(struct vfio_pci *d);

/* dma.c */
int vfio_dma__map_ram(struct vfio *v, const struct guest_mem *mem);
int vfio_dma__invalidate_vaddr(struct vfio *v);
int vfio_dma__update_vaddr(struct vfio *v, const struct guest_mem *mem);

/* kvm_dev.c */
int vfio_kvm_dev__create(struct vfio *v, int vm_fd);
void vfio_kvm_dev__close(struct vfio *v);

#endif
