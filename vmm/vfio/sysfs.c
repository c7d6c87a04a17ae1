// SPDX-License-Identifier: GPL-2.0
/*
 * The host's view of a PCI function, from sysfs: does it exist, which
 * driver has it, which IOMMU group is it in, is that group viable.  These
 * are the questions whose answers make the clear refusals
 * (Documentation/vmm.rst): VFIO's own ioctls only say ENOENT, EPERM or
 * "not viable" without naming the device in the way.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vfio.h"

/*
 * Where sysfs is: "/sys", or the fake tree of a unit test.  A function,
 * not an environment variable, so that nothing outside the program can
 * point the VMM at a forged tree.
 */
static const char *vfio_sysfs_root = "/sys";

int vfio__parse_bdf(const char *s, char out[VFIO_BDF_LEN])
{
	unsigned int dom = 0, bus, dev, fn;
	const char *short_form = s + 5;	/* past "DDDD:" */

	if (strlen(s) == VFIO_BDF_LEN - 1) {
		if (sscanf(s, "%4x:%2x:%2x.%1u", &dom, &bus, &dev, &fn) != 4)
			return -EINVAL;
	} else if (strlen(s) == VFIO_BDF_LEN - 6) {
		short_form = s;
		if (sscanf(s, "%2x:%2x.%1u", &bus, &dev, &fn) != 3)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, VFIO_BDF_LEN, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
	/* sscanf() takes signs, spaces and short fields: only the exact form. */
	if (strcasecmp(short_form, out + 5) || (short_form != s && strncasecmp(s, out, 5)))
		return -EINVAL;
	return 0;
}

/*
 * The root is at most half of PATH_MAX, so that a path under it (a PCI
 * address, a group number, a directory entry and a link name) always fits
 * in a PATH_MAX buffer: the formatting below cannot truncate.
 */
int vfio_sysfs__set_root(const char *root)
{
	if (root && strlen(root) >= PATH_MAX / 2)
		return -ENAMETOOLONG;
	vfio_sysfs_root = root ? root : "/sys";
	return 0;
}

/* The last component of the symlink @path's target, in @name. */
static int vfio_sysfs__link_name(const char *path, char *name, size_t len)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(name, base);
	return 0;
}

/* The target of bus/pci/devices/@bdf/@link, its last component. */
static int vfio_sysfs__pci_link(const char *bdf, const char *link, char *name, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", vfio_sysfs_root, bdf, link);
	return vfio_sysfs__link_name(path, name, len);
}

static int vfio_sysfs__check_exists(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", vfio_sysfs_root, bdf);
	if (access(path, F_OK) == 0)
		return 0;
	pr_err("vfio %s: no such PCI device on this host (%s: %s)", bdf, path,
	       strerror(errno));
	return -ENODEV;
}

static int vfio_sysfs__check_driver(const char *bdf)
{
	char drv[64];
	int ret;

	ret = vfio_sysfs__pci_link(bdf, "driver", drv, sizeof(drv));
	if (ret == -ENOENT) {
		pr_err("vfio %s: not bound to vfio-pci (no driver): bind it first", bdf);
		return -ENODEV;
	}
	if (ret) {
		pr_err("vfio %s: cannot read its driver: %s", bdf, strerror(-ret));
		return ret;
	}
	if (strcmp(drv, "vfio-pci")) {
		pr_err("vfio %s: not bound to vfio-pci (its driver is %s)", bdf, drv);
		return -ENODEV;
	}
	return 0;
}

static int vfio_sysfs__group_id(const char *bdf, unsigned int *id)
{
	char name[32], *end;
	unsigned long v;
	int ret;

	ret = vfio_sysfs__pci_link(bdf, "iommu_group", name, sizeof(name));
	if (ret == -ENOENT) {
		pr_err("vfio %s: no IOMMU group: the host has no IOMMU enabled for it", bdf);
		return -ENODEV;
	}
	if (ret) {
		pr_err("vfio %s: cannot read its IOMMU group: %s", bdf, strerror(-ret));
		return ret;
	}
	v = strtoul(name, &end, 10);
	if (!name[0] || *end || v > INT_MAX) {
		pr_err("vfio %s: unexpected IOMMU group \"%s\"", bdf, name);
		return -EINVAL;
	}
	*id = v;
	return 0;
}

static bool vfio_sysfs__ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * The kernel's rule (6.12, VFIO_GROUP_GET_STATUS in drivers/vfio/group.c):
 * a group is viable while no driver of its devices has claimed their DMA
 * (iommu_group_dma_owner_claimed()), and a driver that sets
 * driver_managed_dma claims nothing.  sysfs does not show that flag: these
 * are the PCI drivers that set it, vfio-pci and its variant drivers
 * (mlx5_vfio_pci, xe-vfio-pci, ...), pci-stub, and pcieport, the port
 * services of a bridge.  A driver not listed is refused here, and the
 * kernel's check stays behind this one (group.c).
 */
static bool vfio_sysfs__driver_leaves_dma(const char *drv)
{
	return !strcmp(drv, "pci-stub") || !strcmp(drv, "pcieport") ||
	       vfio_sysfs__ends_with(drv, "vfio-pci") ||
	       vfio_sysfs__ends_with(drv, "_vfio_pci");
}

/* Device @dev of IOMMU group @group, on behalf of --vfio @bdf: viable? */
static int vfio_sysfs__check_member(const char *bdf, unsigned int group, const char *dev)
{
	char path[PATH_MAX], drv[64];
	int ret;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%u/devices/%s/driver",
		 vfio_sysfs_root, group, dev);
	ret = vfio_sysfs__link_name(path, drv, sizeof(drv));
	if (ret == -ENOENT)
		return 0;
	if (ret) {
		pr_err("vfio %s: cannot read the driver of %s in IOMMU group %u: %s", bdf, dev,
		       group, strerror(-ret));
		return ret;
	}
	if (vfio_sysfs__driver_leaves_dma(drv))
		return 0;
	pr_err("vfio %s: IOMMU group %u is not viable: %s in it is bound to %s (every device of the group must be bound to vfio-pci or to no driver)",
	       bdf, group, dev, drv);
	return -EBUSY;
}

/* Every device of IOMMU group @group bound to vfio-pci or to no driver. */
static int vfio_sysfs__check_viable(const char *bdf, unsigned int group)
{
	char path[PATH_MAX];
	struct dirent *e;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%u/devices", vfio_sysfs_root, group);
	d = opendir(path);
	if (!d) {
		ret = -errno;
		pr_err("vfio %s: cannot list IOMMU group %u (%s): %s", bdf, group, path,
		       strerror(-ret));
		return ret;
	}
	while (!ret && (errno = 0, e = readdir(d)))
		if (e->d_name[0] != '.')
			ret = vfio_sysfs__check_member(bdf, group, e->d_name);
	if (!ret && errno) {
		ret = -errno;
		pr_err("vfio %s: cannot list IOMMU group %u (%s): %s", bdf, group, path,
		       strerror(-ret));
	}
	closedir(d);
	return ret;
}

int vfio_sysfs__probe(const char *arg, char bdf[VFIO_BDF_LEN], unsigned int *group)
{
	int ret;

	ret = vfio__parse_bdf(arg, bdf);
	if (ret) {
		pr_err("vfio \"%s\": not a PCI address", arg);
		return ret;
	}
	ret = vfio_sysfs__check_exists(bdf);
	if (!ret)
		ret = vfio_sysfs__check_driver(bdf);
	if (!ret)
		ret = vfio_sysfs__group_id(bdf, group);
	if (!ret)
		ret = vfio_sysfs__check_viable(bdf, *group);
	return ret;
}

int vfio__check_config(const struct vmm_config *cfg)
{
	char bdf[VFIO_BDF_LEN];
	unsigned int i, group;
	int ret;

	for (i = 0; i < cfg->nr_vfio; i++) {
		ret = vfio_sysfs__probe(cfg->vfio[i], bdf, &group);
		if (ret)
			return ret;
	}
	return 0;
}
