// SPDX-License-Identifier: GPL-2.0
/*
 * The host's view of a PCI function, from sysfs: does it exist, which
 * driver has it, which IOMMU group is it in.  These are the questions
 * whose answers make the clear refusals (Documentation/vmm.rst): VFIO's
 * own ioctls only say ENOENT or EPERM.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vfio.h"

#define PCI_SYSFS	"/sys/bus/pci/devices"

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

/* The target of /sys/bus/pci/devices/@bdf/@link, its last component. */
static int vfio_sysfs__link_name(const char *bdf, const char *link, char *name, size_t len)
{
	char path[128], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), PCI_SYSFS "/%s/%s", bdf, link);
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

static int vfio_sysfs__check_exists(const char *bdf)
{
	char path[128];

	snprintf(path, sizeof(path), PCI_SYSFS "/%s", bdf);
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

	ret = vfio_sysfs__link_name(bdf, "driver", drv, sizeof(drv));
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

	ret = vfio_sysfs__link_name(bdf, "iommu_group", name, sizeof(name));
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
