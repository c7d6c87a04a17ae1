// SPDX-License-Identifier: GPL-2.0
/*
 * A passed-through PCI function: its VFIO device fd, what the device
 * says it has, and its config space through VFIO's config region.
 *
 * The device fd is what must never be closed across a live upgrade:
 * vfio-pci disables the function and tries to reset it on the last close,
 * and a new open resets it again.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "vfio.h"

int vfio_pci__open(struct vfio *v, struct vfio_pci *d)
{
	struct vfio_group *g = vfio_group__find(v, d->group_id);
	int fd;

	fd = vfio__ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (fd < 0) {
		pr_err("vfio %s: VFIO_GROUP_GET_DEVICE_FD failed: %s%s", d->bdf,
		       strerror(-fd), fd == -EBUSY ? " (already open)" : "");
		return fd;
	}
	d->fd = fd;
	return vfio_pci__check(d);
}

/* What a device fd is: also checked on one taken back from an old image. */
int vfio_pci__check(struct vfio_pci *d)
{
	int ret;

	d->info = (struct vfio_device_info){ .argsz = sizeof(d->info) };
	ret = vfio__ioctl(d->fd, VFIO_DEVICE_GET_INFO, &d->info);
	if (ret < 0) {
		pr_err("vfio %s: VFIO_DEVICE_GET_INFO failed: %s", d->bdf, strerror(-ret));
		return ret;
	}
	if (!(d->info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    d->info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		pr_err("vfio %s: not a vfio-pci device (flags 0x%x, %u regions)", d->bdf,
		       d->info.flags, d->info.num_regions);
		return -ENODEV;
	}
	return 0;
}

/* vfio-pci puts region N at offset N << 40 of the device fd. */
static off_t vfio_pci__config_offset(u32 off)
{
	return ((off_t)VFIO_PCI_CONFIG_REGION_INDEX << 40) + off;
}

int vfio_pci__config_read(struct vfio_pci *d, u32 off, void *buf, u32 len)
{
	ssize_t n = pread(d->fd, buf, len, vfio_pci__config_offset(off));

	if (n == (ssize_t)len)
		return 0;
	pr_err("vfio %s: config space read at 0x%x failed: %s", d->bdf, off,
	       n < 0 ? strerror(errno) : "short read");
	return n < 0 ? -errno : -EIO;
}

int vfio_pci__config_write(struct vfio_pci *d, u32 off, const void *buf, u32 len)
{
	ssize_t n = pwrite(d->fd, buf, len, vfio_pci__config_offset(off));

	if (n == (ssize_t)len)
		return 0;
	pr_err("vfio %s: config space write at 0x%x failed: %s", d->bdf, off,
	       n < 0 ? strerror(errno) : "short write");
	return n < 0 ? -errno : -EIO;
}

/*
 * Let the device reach guest RAM: memory decoding and bus mastering on.
 * Until the guest sees a config space of its own (the PCI function, over
 * the PCI platform), the VMM owns the command register; its value is
 * recorded, so a new image can tell the device was not reset.
 */
int vfio_pci__enable_dma(struct vfio_pci *d)
{
	u16 cmd;
	int ret;

	ret = vfio_pci__config_read(d, PCI_COMMAND, &cmd, sizeof(cmd));
	if (ret)
		return ret;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	ret = vfio_pci__config_write(d, PCI_COMMAND, &cmd, sizeof(cmd));
	if (!ret)
		ret = vfio_pci__config_read(d, PCI_COMMAND, &d->command, sizeof(d->command));
	return ret;
}

void vfio_pci__close(struct vfio_pci *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}
