/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside VFIO passthrough (Documentation/vmm.rst, "VFIO passthrough").
 *
 *   sysfs.c      the PCI address: exists, bound to vfio-pci, its group,
 *                the group viable
 *   container.c  /dev/vfio/vfio: API version, type1 IOMMU, extensions
 *   group.c      /dev/vfio/N: permission, viability, into the container
 *   device.c     the device fd, its info and config space
 *   dma.c        guest RAM mapped for DMA at IOVA = guest-physical, and
 *                the host addresses moved across a live upgrade's exec
 *   kvm_dev.c    KVM's VFIO pseudo-device (one per VM)
 *   pci_fn.c     the guest's view: a PCI function on the platform (pci.h)
 *                with the device's config space virtualised, its BARs
 *                mmap'ed into memslots where VFIO allows it, else trapped
 *   irqs.c       MSI and MSI-X vectors: the platform's irqfd eventfds
 *                given to the device with VFIO_DEVICE_SET_IRQS
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
#include "vmm/pci.h"
#include "vmm/vfio.h"

#define VFIO_MAX_DEVICES	CONFIG_VFIO_MAX

struct vm;

struct vfio_group {
	unsigned int id;	/* /dev/vfio/<id> */
	int fd;
};

/* A BAR as VFIO has it: its region of the device fd, and our mapping. */
struct vfio_bar {
	u64 size;
	u64 offset;		/* of the region in the device fd */
	u32 flags;		/* VFIO_REGION_INFO_FLAG_* */
	void *map;		/* mmap of the whole region, or NULL: trapped */
};

/* The vectors of one VFIO irq index (MSI or MSI-X) as given to the device. */
struct vfio_irq {
	unsigned int count;	/* vectors enabled in the device, 0: off */
	unsigned int max;	/* what the device has */
	s32 *fds;		/* [max]: each vector's eventfd, -1: none */
};

struct vfio_pci {
	char bdf[VFIO_BDF_LEN];
	unsigned int group_id;
	int fd;
	struct vfio_device_info info;
	u16 command;		/* config space command register, as set */
	u16 kept_msi, kept_msix;	/* vectors enabled, from the record */

	/* The guest's view (pci_fn.c, irqs.c), when the VM has a PCI bus. */
	struct pci_function fn;
	bool on_bus;
	struct vfio_bar bars[PCI_NR_BARS];
	struct vfio_irq msi, msix;
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
	bool vaddr_invalid;	/* between freeze and the new image */
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
 * exists and is bound to vfio-pci, its IOMMU group, every device of the
 * group bound to vfio-pci or to no driver.  -errno after one line.
 */
int vfio_sysfs__probe(const char *arg, char bdf[VFIO_BDF_LEN], unsigned int *group);
/*
 * Read sysfs under @root instead of /sys (NULL: /sys again).  For unit
 * tests, which build a fake tree; -ENAMETOOLONG if @root is too long.
 */
int vfio_sysfs__set_root(const char *root);

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

/* pci_fn.c: put @d on the VM's PCI bus (nothing if it has none). */
int vfio_pci_fn__add(struct vm *vm, struct vfio_pci *d);
void vfio_pci_fn__remove(struct vm *vm, struct vfio_pci *d);

/* irqs.c: vector @vector of MSI (@msix false) or MSI-X changed to @v. */
void vfio_irqs__changed(struct vfio_pci *d, bool msix, unsigned int vector,
			const struct pci_msi_vector *v);
/* @msi_count, @msix_count: vectors the device has enabled (a live upgrade's). */
int vfio_irqs__init(struct vfio_pci *d, unsigned int msi_count, unsigned int msix_count);
void vfio_irqs__free(struct vfio_pci *d);

/* kvm_dev.c */
int vfio_kvm_dev__create(struct vfio *v, int vm_fd);
void vfio_kvm_dev__close(struct vfio *v);

#endif
