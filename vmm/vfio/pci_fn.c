// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's view of a passed-through device: a function on the VM's
 * PCI bus (pci.h).  The platform emulates what must not reach the device
 * (BARs, the command register's decode bits, interrupt line and pin, the
 * MSI and MSI-X capabilities); every other config byte is the device's,
 * read and written through VFIO's config region.
 *
 * BARs: a memory BAR whose region VFIO lets us mmap is mapped into guest
 * memslots, with the MSI-X table and PBA pages left as trapped holes (the
 * platform emulates them); other BARs, and I/O BARs, are trapped and
 * forwarded to the region with pread()/pwrite().
 *
 * INTx is not forwarded: the function has no interrupt pin, so a guest
 * driver uses MSI or MSI-X.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "vmm/vm.h"
#include "vfio.h"

#define VFIO_PAGE	4096ULL
/* A capability list is at most this long: stops a looping list. */
#define VFIO_MAX_CAPS	48

static struct vfio_pci *vfio_pci_fn__dev(struct pci_function *fn)
{
	return fn->opaque;
}

static u32 vfio_pci_fn__cfg_read(struct pci_function *fn, unsigned int off, unsigned int size)
{
	struct vfio_pci *d = vfio_pci_fn__dev(fn);
	u32 val = 0;
	unsigned int i;

	if (vfio_pci__config_read(d, off, &val, size))
		val = ~0u;
	for (i = 0; i < size; i++) {
		if (!pci_function__cfg_is_virtual(fn, off + i))
			continue;
		val &= ~(0xffu << (8 * i));
		val |= pci_function__cfg_read(fn, off + i, 1) << (8 * i);
	}
	return val;
}

static void vfio_pci_fn__cfg_write(struct pci_function *fn, unsigned int off, unsigned int size,
				   u32 val)
{
	struct vfio_pci *d = vfio_pci_fn__dev(fn);
	unsigned int i, nr_virt = 0;
	u8 b;

	for (i = 0; i < size; i++)
		nr_virt += pci_function__cfg_is_virtual(fn, off + i);
	/* Whole registers at once: a BAR must not move a byte at a time. */
	if (nr_virt == size) {
		pci_function__cfg_write(fn, off, size, val);
		return;
	}
	if (!nr_virt) {
		vfio_pci__config_write(d, off, &val, size);
		return;
	}
	for (i = 0; i < size; i++) {
		b = (u8)(val >> (8 * i));
		if (pci_function__cfg_is_virtual(fn, off + i))
			pci_function__cfg_write(fn, off + i, 1, b);
		else
			vfio_pci__config_write(d, off + i, &b, 1);
	}
}

static void vfio_pci_fn__bar_access(struct pci_function *fn, unsigned int bar, u64 off,
				    bool is_write, u8 *data, unsigned int size)
{
	struct vfio_pci *d = vfio_pci_fn__dev(fn);
	off_t at = (off_t)(d->bars[bar].offset + off);
	ssize_t n;

	n = is_write ? pwrite(d->fd, data, size, at) : pread(d->fd, data, size, at);
	if (n != (ssize_t)size) {
		if (!is_write)
			memset(data, 0xff, size);
		pr_debug("vfio %s: BAR %u %s at 0x%llx failed", d->bdf, bar,
			 is_write ? "write" : "read", (unsigned long long)off);
	}
}

static void vfio_pci_fn__msi_changed(struct pci_function *fn, bool msix, unsigned int vector,
				     const struct pci_msi_vector *v)
{
	vfio_irqs__changed(vfio_pci_fn__dev(fn), msix, vector, v);
}

static const struct pci_function_ops vfio_pci_fn_ops = {
	.cfg_read = vfio_pci_fn__cfg_read,
	.cfg_write = vfio_pci_fn__cfg_write,
	.bar_access = vfio_pci_fn__bar_access,
	.msi_changed = vfio_pci_fn__msi_changed,
};

static int vfio_pci_fn__region(struct vfio_pci *d, unsigned int i, struct vfio_bar *b)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };
	int ret;

	ret = vfio__ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &ri);
	if (ret < 0) {
		pr_err("vfio %s: VFIO_DEVICE_GET_REGION_INFO of BAR %u failed: %s", d->bdf, i,
		       strerror(-ret));
		return ret;
	}
	b->size = ri.size;
	b->offset = ri.offset;
	b->flags = ri.flags;
	return 0;
}

/* The BAR's kind, from the device's own BAR register. */
static void vfio_pci_fn__bar_type(const u8 *cfg, unsigned int i, struct pci_bar *bar)
{
	u32 reg;

	memcpy(&reg, &cfg[PCI_BASE_ADDRESS_0 + 4 * i], 4);
	if (reg & PCI_BASE_ADDRESS_SPACE_IO) {
		bar->type = PCI_BAR_IO;
		return;
	}
	bar->type = (reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64 ?
		    PCI_BAR_MEM64 : PCI_BAR_MEM32;
	bar->prefetchable = reg & PCI_BASE_ADDRESS_MEM_PREFETCH;
}

/* Map the region if VFIO allows it; else the BAR stays trapped. */
static void vfio_pci_fn__map_bar(struct vfio_pci *d, unsigned int i)
{
	struct vfio_bar *b = &d->bars[i];
	struct pci_bar *bar = &d->fn.bars[i];
	int prot = 0;
	void *p;

	if (bar->type == PCI_BAR_IO || !(b->flags & VFIO_REGION_INFO_FLAG_MMAP) ||
	    b->size % VFIO_PAGE)
		return;
	if (b->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (b->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;
	p = mmap(NULL, b->size, prot, MAP_SHARED, d->fd, (off_t)b->offset);
	if (p == MAP_FAILED) {
		pr_debug("vfio %s: BAR %u not mmap'ed (%s): trapped", d->bdf, i,
			 strerror(errno));
		return;
	}
	b->map = p;
	bar->hva = p;
}

static int vfio_pci_fn__setup_bars(struct vfio_pci *d, const u8 *cfg)
{
	struct vfio_bar *b;
	unsigned int i;
	int ret;

	for (i = 0; i < PCI_NR_BARS; i++) {
		b = &d->bars[i];
		ret = vfio_pci_fn__region(d, VFIO_PCI_BAR0_REGION_INDEX + i, b);
		if (ret)
			return ret;
		if (!b->size)
			continue;
		vfio_pci_fn__bar_type(cfg, i, &d->fn.bars[i]);
		d->fn.bars[i].size = b->size;
		vfio_pci_fn__map_bar(d, i);
		if (d->fn.bars[i].type == PCI_BAR_MEM64)
			i++;	/* its upper half */
	}
	return 0;
}

/* Leave [off, off + len) of mapped BAR @i as a trapped hole (MSI-X). */
static int vfio_pci_fn__add_hole(struct vfio_pci *d, unsigned int i, u64 off, u64 len)
{
	struct pci_bar *bar = &d->fn.bars[i];
	u64 start = ALIGN_DOWN(off, VFIO_PAGE), end = ALIGN_UP(off + len, VFIO_PAGE);
	struct pci_bar_hole *h;

	if (!bar->hva)
		return 0;
	if (bar->nr_holes) {
		h = &bar->holes[bar->nr_holes - 1];
		if (start <= h->offset + h->len && end >= h->offset) {
			end = MAX(end, h->offset + h->len);
			h->offset = MIN(start, h->offset);
			h->len = end - h->offset;
			return 0;
		}
	}
	if (bar->nr_holes == PCI_BAR_MAX_HOLES) {
		pr_err("vfio %s: BAR %u needs more than %d trapped holes", d->bdf, i,
		       PCI_BAR_MAX_HOLES);
		return -ENOSPC;
	}
	bar->holes[bar->nr_holes++] = (struct pci_bar_hole){ .offset = start, .len = end - start };
	return 0;
}

static int vfio_pci_fn__add_msix(struct vfio_pci *d, const u8 *cfg, u8 at)
{
	u32 table, pba;
	u16 ctrl;
	unsigned int nr;
	int ret;

	memcpy(&ctrl, &cfg[at + PCI_MSIX_FLAGS], 2);
	memcpy(&table, &cfg[at + PCI_MSIX_TABLE], 4);
	memcpy(&pba, &cfg[at + PCI_MSIX_PBA], 4);
	nr = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
	ret = vfio_pci_fn__add_hole(d, table & PCI_MSIX_TABLE_BIR,
				    table & PCI_MSIX_TABLE_OFFSET, nr * PCI_MSIX_ENTRY_SIZE);
	if (!ret)
		ret = vfio_pci_fn__add_hole(d, pba & PCI_MSIX_PBA_BIR, pba & PCI_MSIX_PBA_OFFSET,
					    ALIGN_UP(nr, 64u) / 8);
	if (!ret)
		ret = pci_function__add_msix(&d->fn, nr, table & PCI_MSIX_TABLE_BIR,
					     table & PCI_MSIX_TABLE_OFFSET,
					     pba & PCI_MSIX_PBA_BIR, pba & PCI_MSIX_PBA_OFFSET, at);
	return ret;
}

/*
 * The device's capability list, as it is, with MSI and MSI-X emulated in
 * place; the other capabilities stay the device's.
 */
static int vfio_pci_fn__setup_caps(struct vfio_pci *d, const u8 *cfg)
{
	unsigned int n = 0;
	u8 at = cfg[PCI_CAPABILITY_LIST] & ~3;
	u16 ctrl;
	int ret = 0;

	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	memcpy(&d->fn.cfg[PCI_STD_HEADER_SIZEOF], &cfg[PCI_STD_HEADER_SIZEOF],
	       PCI_CFG_SIZE - PCI_STD_HEADER_SIZEOF);
	d->fn.cfg[PCI_CAPABILITY_LIST] = cfg[PCI_CAPABILITY_LIST];
	d->fn.cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	for (; !ret && at >= PCI_STD_HEADER_SIZEOF && n++ < VFIO_MAX_CAPS; at = cfg[at + 1] & ~3) {
		switch (cfg[at]) {
		case PCI_CAP_ID_MSI:
			memcpy(&ctrl, &cfg[at + PCI_MSI_FLAGS], 2);
			ret = pci_function__add_msi(&d->fn,
				1u << ((ctrl & PCI_MSI_FLAGS_QMASK) >> 1), at);
			break;
		case PCI_CAP_ID_MSIX:
			ret = vfio_pci_fn__add_msix(d, cfg, at);
			break;
		}
	}
	return ret;
}

static void vfio_pci_fn__unmap_bars(struct vfio_pci *d)
{
	unsigned int i;

	for (i = 0; i < PCI_NR_BARS; i++) {
		if (d->bars[i].map)
			munmap(d->bars[i].map, d->bars[i].size);
		d->bars[i].map = NULL;
	}
}

int vfio_pci_fn__add(struct vm *vm, struct vfio_pci *d)
{
	u8 cfg[PCI_CFG_SIZE];
	u16 vendor, device;
	u32 class_code = 0;
	int ret;

	if (!vm->pci)
		return 0;
	ret = vfio_pci__config_read(d, 0, cfg, sizeof(cfg));
	if (ret)
		return ret;
	memcpy(&vendor, &cfg[PCI_VENDOR_ID], 2);
	memcpy(&device, &cfg[PCI_DEVICE_ID], 2);
	memcpy(&class_code, &cfg[PCI_CLASS_PROG], 3);
	pci_function__init(&d->fn, &vfio_pci_fn_ops, d, d->bdf, vendor, device, class_code, 0);
	d->on_bus = true;	/* from here vfio_pci_fn__remove() undoes it */
	ret = vfio_pci_fn__setup_bars(d, cfg);
	if (!ret)
		ret = vfio_pci_fn__setup_caps(d, cfg);
	if (!ret)
		ret = vfio_irqs__init(d, d->kept_msi, d->kept_msix);
	if (!ret)
		ret = pci__add(vm, &d->fn, -1);
	if (ret)
		pr_err("vfio %s: cannot put it on the PCI bus: %s", d->bdf, strerror(-ret));
	return ret;
}

void vfio_pci_fn__remove(struct vm *vm, struct vfio_pci *d)
{
	if (!d->on_bus)
		return;
	/* Also frees the MSI state of a function that never made it onto the bus. */
	pci__remove(vm, &d->fn);
	d->on_bus = false;
	vfio_irqs__free(d);
	vfio_pci_fn__unmap_bars(d);
}
