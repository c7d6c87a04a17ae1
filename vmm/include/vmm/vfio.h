/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO passthrough of host PCI functions (vmm --vfio BDF): what the rest
 * of the VMM sees of vmm/vfio/.  The device itself is a registry entry
 * (device.h); this is only what the command line and the report need.
 * Documentation/vmm.rst, "VFIO passthrough".
 */
#ifndef VMM_VFIO_H
#define VMM_VFIO_H

#include "vmm/util.h"

struct vm;
struct vmm_config;

/* "0000:00:04.0" and its NUL. */
#define VFIO_BDF_LEN		13

/*
 * Parse a PCI address, "DDDD:BB:DD.F" or "BB:DD.F" (domain 0), into its
 * canonical form @out.  0, or -EINVAL if it is not one.
 */
int vfio__parse_bdf(const char *s, char out[VFIO_BDF_LEN]);

/*
 * Before /dev/kvm is opened: every --vfio address names a PCI function
 * that this host has, bound to vfio-pci, in an IOMMU group (sysfs only,
 * nothing is opened).  0, or -errno after one line naming the device.
 */
int vfio__check_config(const struct vmm_config *cfg);

/* What a live upgrade's new image did with the VM's VFIO devices. */
struct vfio_upgrade_report {
	unsigned int nr_devices;
	bool kvm_dev_kept;	/* KVM's VFIO device adopted, not re-created */
	u64 take_back_ns;	/* kept files checked, back in the VMM */
	u64 update_vaddr_ns;	/* VFIO_DMA_MAP_FLAG_VADDR of every range */
	u64 kvm_dev_ns;		/* KVM's VFIO device taken back or re-created */
};

/* False if the VM has no VFIO device or was not taken over from a live upgrade. */
bool vfio__upgrade_report(const struct vm *vm, struct vfio_upgrade_report *r);

#endif
