// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI host bridge (configuration mechanism #1, bus 0) and the config
 * space model of its functions: type-0 header, BARs placed like firmware
 * would and decoded as the command register says, the capability list.
 * MSI and MSI-X are pci/msi.c's.  Lock order: pci.h.
 *
 * The emulated config space is a byte array with a mask of the bits a
 * guest may write, as in QEMU: sizing a BAR needs no special case, since
 * the bits below its size are never writable, so writing all ones reads
 * back the size mask.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/device.h"
#include "vmm/guest_mem.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/pci.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "pci_internal.h"

/* Bits of CONFIG_ADDRESS (0xcf8). */
#define CFG_ENABLE		0x80000000u
#define CFG_BUS(a)		(((a) >> 16) & 0xff)
#define CFG_DEVFN(a)		(((a) >> 8) & 0xff)
#define CFG_REG(a)		((a) & 0xfc)

/* The INTx pins of slot @slot, swizzled onto IOAPIC pins 16-19 (_PRT). */
#define PCI_INTX_GSI(slot, pin)	(16 + (((slot) + (pin) - 1) & 3))

static u64 pci__cfg_get(const struct pci_function *fn, unsigned int off, unsigned int size)
{
	u64 v = 0;

	memcpy(&v, &fn->cfg[off], size);
	return v;
}

static void pci__cfg_put(u8 *space, unsigned int off, unsigned int size, u64 v)
{
	memcpy(&space[off], &v, size);
}

void pci_function__init(struct pci_function *fn, const struct pci_function_ops *ops,
			void *opaque, const char *name, u16 vendor, u16 device,
			u32 class_code, u8 intx_pin)
{
	memset(fn, 0, sizeof(*fn));
	fn->ops = ops;
	fn->opaque = opaque;
	fn->name = name;
	pthread_mutex_init(&fn->msi_lock, NULL);
	pci__cfg_put(fn->cfg, PCI_VENDOR_ID, 2, vendor);
	pci__cfg_put(fn->cfg, PCI_DEVICE_ID, 2, device);
	pci__cfg_put(fn->cfg, PCI_CLASS_PROG, 3, class_code);
	fn->cfg[PCI_INTERRUPT_PIN] = intx_pin;
	pci__cfg_put(fn->wmask, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		     PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
		     PCI_COMMAND_INTX_DISABLE);
	fn->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	fn->wmask[PCI_LATENCY_TIMER] = 0xff;
	fn->wmask[PCI_INTERRUPT_LINE] = 0xff;
	memset(&fn->virt[PCI_COMMAND], 1, 2);
	memset(&fn->virt[PCI_BASE_ADDRESS_0], 1, 4 * PCI_NR_BARS);
	memset(&fn->virt[PCI_ROM_ADDRESS], 1, 4);
	memset(&fn->virt[PCI_INTERRUPT_LINE], 1, 2);
	fn->next_cap = PCI_CAP_START;
}

int pci_function__add_cap(struct pci_function *fn, u8 id, u8 len)
{
	unsigned int off = ALIGN_UP((unsigned int)fn->next_cap, 4u);
	u8 *link = &fn->cfg[PCI_CAPABILITY_LIST];

	if (len < 2 || off + len > PCI_CFG_SIZE) {
		pr_err("%s: no room for capability %#x of %u bytes", fn->name, id, len);
		return -ENOSPC;
	}
	/* Appended at the end of the list, so it reads in the order added. */
	while (*link)
		link = &fn->cfg[*link + 1];
	*link = (u8)off;
	fn->cfg[off] = id;
	fn->cfg[off + 1] = 0;
	fn->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	fn->next_cap = (u8)MIN(off + len, 0xffu);
	return (int)off;
}

bool pci_function__cfg_is_virtual(const struct pci_function *fn, unsigned int off)
{
	return off < PCI_CFG_SIZE && fn->virt[off];
}

static bool pci_bar__is_mem(const struct pci_bar *bar)
{
	return bar->type == PCI_BAR_MEM32 || bar->type == PCI_BAR_MEM64;
}

/* The base address BAR @i's registers hold now. */
static u64 pci__bar_reg_addr(const struct pci_function *fn, unsigned int i)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;
	const struct pci_bar *bar = &fn->bars[i];
	u64 v = pci__cfg_get(fn, off, 4);

	if (bar->type == PCI_BAR_IO)
		return v & PCI_BASE_ADDRESS_IO_MASK;
	if (bar->type == PCI_BAR_MEM64)
		v |= pci__cfg_get(fn, off + 4, 4) << 32;
	return v & PCI_BASE_ADDRESS_MEM_MASK;
}

static bool pci__bar_should_decode(const struct pci_function *fn, unsigned int i, u64 addr)
{
	const struct pci_bar *bar = &fn->bars[i];
	u16 cmd = (u16)pci__cfg_get(fn, PCI_COMMAND, 2);

	if (bar->type == PCI_BAR_NONE || !addr)
		return false;
	if (bar->type == PCI_BAR_IO)
		return (cmd & PCI_COMMAND_IO) && addr >= PCI_IO_START &&
		       addr + bar->size <= PCI_IO_END;
	/* Mid-sizing (all ones written) is no address: never decode it. */
	return (cmd & PCI_COMMAND_MEMORY) && addr + bar->size > addr &&
	       addr + bar->size <= (bar->type == PCI_BAR_MEM32 ? PCI_MMIO32_END :
				    PCI_MMIO64_START + PCI_MMIO64_SIZE);
}

/*
 * A mapped BAR is pieces of memslot between its holes: @i-th piece of
 * [start, end) in the BAR, false past the last one.
 */
static bool pci_bar__piece(const struct pci_bar *bar, unsigned int i, u64 *start, u64 *end)
{
	u64 from = i ? bar->holes[i - 1].offset + bar->holes[i - 1].len : 0;

	if (i > bar->nr_holes)
		return false;
	*start = from;
	*end = i < bar->nr_holes ? bar->holes[i].offset : bar->size;
	return true;
}

static int pci__set_memslot(struct pci_bus *bus, u32 slot, u64 gpa, u64 size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (unsigned long)hva,
	};

	return irq_kvm_ioctl(bus->kvm->vm_fd, KVM_SET_USER_MEMORY_REGION,
			     "KVM_SET_USER_MEMORY_REGION", &r);
}

static void pci__bar_unmap(struct pci_bus *bus, struct pci_function *fn, unsigned int i)
{
	struct pci_bar *bar = &fn->bars[i];
	unsigned int j;

	for (j = 0; j < ARRAY_SIZE(bar->traps); j++)
		mmio__remove(bus->mmio, &bar->traps[j]);
	for (j = 0; j < ARRAY_SIZE(bar->memslots); j++) {
		if (bar->memslots[j] < 0)
			continue;
		pci__set_memslot(bus, (u32)bar->memslots[j], 0, 0, NULL);
		kvm__memslot_free(bus->kvm, (u32)bar->memslots[j]);
		bar->memslots[j] = -1;
	}
	bar->decoded = false;
}

static int pci__bar_trap(struct pci_bus *bus, struct pci_function *fn, unsigned int i,
			 unsigned int t, u64 gpa, u64 len)
{
	struct mmio_range *r = &fn->bars[i].traps[t];

	r->fn = pci__bar_mmio;
	r->opaque = fn;
	r->name = fn->name;
	return mmio__add(bus->mmio, r, gpa, len);
}

static int pci__bar_map_piece(struct pci_bus *bus, struct pci_bar *bar, unsigned int j,
			      u64 start, u64 end)
{
	int ret, slot;

	slot = kvm__memslot_alloc(bus->kvm);
	if (slot < 0)
		return slot;
	bar->memslots[j] = slot;
	ret = pci__set_memslot(bus, (u32)slot, bar->addr + start, end - start,
			       (u8 *)bar->hva + start);
	return ret;
}

/* Decode BAR @i at bar->addr: trapped, or memslots around trapped holes. */
static int pci__bar_map(struct pci_bus *bus, struct pci_function *fn, unsigned int i)
{
	struct pci_bar *bar = &fn->bars[i];
	u64 start, end;
	unsigned int j;
	int ret = 0;

	bar->decoded = true;
	if (bar->type == PCI_BAR_IO)
		return 0;	/* found by pci__io_bar() */
	if (!bar->hva)
		return pci__bar_trap(bus, fn, i, 0, bar->addr, bar->size);
	for (j = 0; !ret && pci_bar__piece(bar, j, &start, &end); j++) {
		if (end > start)
			ret = pci__bar_map_piece(bus, bar, j, start, end);
	}
	for (j = 0; !ret && j < bar->nr_holes; j++)
		ret = pci__bar_trap(bus, fn, i, j + 1, bar->addr + bar->holes[j].offset,
				    bar->holes[j].len);
	return ret;
}

/*
 * Bring BAR @i in line with its registers and the command register:
 * called after every write that may have moved or (un)decoded it.
 */
static void pci__bar_update(struct pci_bus *bus, struct pci_function *fn, unsigned int i)
{
	struct pci_bar *bar = &fn->bars[i];
	u64 addr = pci__bar_reg_addr(fn, i);
	bool decode = pci__bar_should_decode(fn, i, addr);

	if (bar->decoded == decode && (!decode || bar->addr == addr))
		return;
	if (bar->decoded)
		pci__bar_unmap(bus, fn, i);
	bar->addr = addr;
	if (decode && pci__bar_map(bus, fn, i)) {
		pr_warn("%s: BAR %u not decoded at %#llx", fn->name, i,
			(unsigned long long)addr);
		pci__bar_unmap(bus, fn, i);
	}
}

static void pci__bars_update(struct pci_function *fn)
{
	unsigned int i;

	if (!fn->bus)
		return;
	for (i = 0; i < PCI_NR_BARS; i++)
		pci__bar_update(fn->bus, fn, i);
}

u32 pci_function__cfg_read(struct pci_function *fn, unsigned int off, unsigned int size)
{
	if (off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off)
		return ~0u;
	return (u32)pci__cfg_get(fn, off, size);
}

void pci_function__cfg_write(struct pci_function *fn, unsigned int off, unsigned int size,
			     u32 val)
{
	unsigned int i;

	if (off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off)
		return;
	for (i = 0; i < size; i++) {
		u8 m = fn->wmask[off + i], b = (u8)(val >> (8 * i));

		fn->cfg[off + i] = (fn->cfg[off + i] & ~m) | (b & m);
	}
	/* What the bytes written change beyond themselves. */
	if (off < PCI_COMMAND + 2 && off + size > PCI_COMMAND)
		pci__bars_update(fn);
	else if (off < PCI_BASE_ADDRESS_5 + 4 && off + size > PCI_BASE_ADDRESS_0)
		pci__bars_update(fn);
	pci_msi__cfg_written(fn, off, size);
}

/* The type-0 BAR registers of a function's declared BARs, placed at @addr. */
static void pci__bar_init_regs(struct pci_function *fn, unsigned int i, u64 addr)
{
	const struct pci_bar *bar = &fn->bars[i];
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;
	u32 flags = 0;
	u64 mask = ~(bar->size - 1);

	if (bar->type == PCI_BAR_IO) {
		flags = PCI_BASE_ADDRESS_SPACE_IO;
		mask &= PCI_BASE_ADDRESS_IO_MASK;
	} else {
		if (bar->type == PCI_BAR_MEM64)
			flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;
		if (bar->prefetchable)
			flags |= PCI_BASE_ADDRESS_MEM_PREFETCH;
		mask &= PCI_BASE_ADDRESS_MEM_MASK;
	}
	pci__cfg_put(fn->cfg, off, 4, (u32)addr | flags);
	pci__cfg_put(fn->wmask, off, 4, (u32)mask);
	if (bar->type == PCI_BAR_MEM64) {
		pci__cfg_put(fn->cfg, off + 4, 4, addr >> 32);
		pci__cfg_put(fn->wmask, off + 4, 4, mask >> 32);
	}
}

static int pci__bar_check(const struct pci_function *fn, unsigned int i)
{
	const struct pci_bar *bar = &fn->bars[i];
	u64 min = bar->type == PCI_BAR_IO ? 4 : 16;
	unsigned int j;

	if (bar->type == PCI_BAR_NONE)
		return 0;
	if (bar->size < min || (bar->size & (bar->size - 1)) ||
	    (bar->type == PCI_BAR_MEM64 && i == PCI_NR_BARS - 1) ||
	    (bar->type == PCI_BAR_IO && bar->size > 256) ||
	    (bar->type == PCI_BAR_MEM32 && bar->size > SZ_1G) ||
	    (bar->hva && (!pci_bar__is_mem(bar) || bar->size % 4096)) ||
	    bar->nr_holes > (bar->hva ? PCI_BAR_MAX_HOLES : 0))
		goto bad;
	for (j = 0; j < bar->nr_holes; j++) {
		const struct pci_bar_hole *h = &bar->holes[j];

		if (h->offset % 4096 || h->len % 4096 || !h->len || h->offset + h->len > bar->size ||
		    (j && h->offset < bar->holes[j - 1].offset + bar->holes[j - 1].len))
			goto bad;
	}
	return 0;
bad:
	pr_err("%s: BAR %u (type %d, size %#llx, %u holes) is not valid", fn->name, i,
	       bar->type, (unsigned long long)bar->size, bar->nr_holes);
	return -EINVAL;
}

/*
 * Firmware's placement: each BAR at the next address its size aligns in
 * its window; a 64-bit BAR that no longer fits below 4 GiB goes high.
 */
static int pci__bar_place(struct pci_bus *bus, struct pci_function *fn, unsigned int i)
{
	const struct pci_bar *bar = &fn->bars[i];
	u64 addr;

	switch (bar->type) {
	case PCI_BAR_IO:
		addr = ALIGN_UP(bus->next_io, bar->size);
		if (addr + bar->size > PCI_IO_END)
			goto full;
		bus->next_io = addr + bar->size;
		break;
	case PCI_BAR_MEM32:
	case PCI_BAR_MEM64:
		addr = ALIGN_UP(bus->next_mmio32, bar->size);
		if (addr + bar->size <= PCI_MMIO32_END) {
			bus->next_mmio32 = addr + bar->size;
			break;
		}
		if (bar->type == PCI_BAR_MEM32)
			goto full;
		addr = ALIGN_UP(bus->next_mmio64, bar->size);
		if (addr + bar->size > PCI_MMIO64_START + PCI_MMIO64_SIZE)
			goto full;
		bus->next_mmio64 = addr + bar->size;
		break;
	default:
		return 0;
	}
	pci__bar_init_regs(fn, i, addr);
	return 0;
full:
	pr_err("%s: no room for BAR %u (%#llx bytes)", fn->name, i,
	       (unsigned long long)bar->size);
	return -ENOSPC;
}

/* pci.c's part of the BARs: the owner filled theirs by assignment. */
static void pci__bars_reset(struct pci_function *fn)
{
	unsigned int i, j;

	for (i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *bar = &fn->bars[i];

		bar->addr = 0;
		bar->decoded = false;
		for (j = 0; j < ARRAY_SIZE(bar->memslots); j++)
			bar->memslots[j] = -1;
		memset(bar->traps, 0, sizeof(bar->traps));
	}
}

static int pci__place_bars(struct pci_bus *bus, struct pci_function *fn)
{
	unsigned int i;
	int ret;

	pci__bars_reset(fn);
	for (i = 0; i < PCI_NR_BARS; i++) {
		ret = pci__bar_check(fn, i);
		if (!ret)
			ret = pci__bar_place(bus, fn, i);
		if (ret)
			return ret;
		if (fn->bars[i].type == PCI_BAR_MEM64)
			i++;
	}
	return 0;
}

static int pci__intx_connect(struct pci_bus *bus, struct pci_function *fn)
{
	u8 pin = fn->cfg[PCI_INTERRUPT_PIN];
	u32 gsi, tag;
	int ret, fd;

	if (!pin)
		return 0;
	if (pin > 4) {
		pr_err("%s: interrupt pin %u is not INTA-INTD", fn->name, pin);
		return -EINVAL;
	}
	gsi = PCI_INTX_GSI(PCI_SLOT(fn->devfn), pin);
	tag = PCI_IRQ_TAG(fn->devfn, PCI_IRQ_VECTOR_INTX);
	/* After a live upgrade the irq routing took it back already. */
	ret = irq__irqfd_get(bus->irq, tag, &fd, NULL) ? -ENOENT : 0;
	if (ret)
		ret = irq__irqfd_attach(bus->irq, tag, gsi, IRQ_FD_NEW, IRQ_FD_NEW, false);
	if (ret)
		return ret;
	fn->intx_gsi = gsi;
	fn->cfg[PCI_INTERRUPT_LINE] = (u8)gsi;
	return 0;
}

static void pci__intx_disconnect(struct pci_bus *bus, struct pci_function *fn)
{
	if (fn->intx_gsi)
		irq__irqfd_detach(bus->irq, PCI_IRQ_TAG(fn->devfn, PCI_IRQ_VECTOR_INTX));
	fn->intx_gsi = 0;
}

static int pci__free_slot(struct pci_bus *bus, int slot)
{
	if (slot >= 0) {
		if (slot < 1 || slot >= PCI_MAX_SLOTS)
			return -EINVAL;
		return bus->slots[slot] ? -EBUSY : slot;
	}
	for (slot = 1; slot < PCI_MAX_SLOTS; slot++)
		if (!bus->slots[slot])
			return slot;
	return -ENOSPC;
}

int pci_bus__add(struct pci_bus *bus, struct pci_function *fn, int slot)
{
	int ret;

	pthread_mutex_lock(&bus->lock);
	ret = slot = pci__free_slot(bus, slot);
	if (ret < 0) {
		pr_err("%s: no PCI slot (%s)", fn->name, strerror(-ret));
		goto out;
	}
	fn->devfn = PCI_DEVFN(slot, 0);
	ret = pci__place_bars(bus, fn);
	if (!ret)
		ret = pci__intx_connect(bus, fn);
	if (ret)
		goto out;
	fn->bus = bus;
	bus->slots[slot] = fn;
	pr_debug("%s at 00:%02x.0", fn->name, slot);
out:
	pthread_mutex_unlock(&bus->lock);
	return ret < 0 ? ret : 0;
}

void pci_bus__remove(struct pci_bus *bus, struct pci_function *fn)
{
	unsigned int i;

	pthread_mutex_lock(&bus->lock);
	if (fn->bus == bus) {
		for (i = 0; i < PCI_NR_BARS; i++)
			if (fn->bars[i].decoded)
				pci__bar_unmap(bus, fn, i);
		pci_msi__disable(fn);
		pci__intx_disconnect(bus, fn);
		bus->slots[PCI_SLOT(fn->devfn)] = NULL;
		fn->bus = NULL;
	}
	pthread_mutex_unlock(&bus->lock);
	pci_msi__free(fn);
	pthread_mutex_destroy(&fn->msi_lock);
}

struct pci_function *pci_bus__function(struct pci_bus *bus, u8 devfn)
{
	struct pci_function *fn;

	pthread_mutex_lock(&bus->lock);
	fn = PCI_FUNC(devfn) ? NULL : bus->slots[PCI_SLOT(devfn)];
	pthread_mutex_unlock(&bus->lock);
	return fn;
}

/* The function CONFIG_ADDRESS selects, or NULL (reads see all ones). */
static struct pci_function *pci__selected(struct pci_bus *bus)
{
	u32 a = bus->config_address;

	if (!(a & CFG_ENABLE) || CFG_BUS(a) || PCI_FUNC(CFG_DEVFN(a)))
		return NULL;
	return bus->slots[PCI_SLOT(CFG_DEVFN(a))];
}

static void pci__config_data(struct pci_bus *bus, u16 port, bool is_write, u8 *data,
			     unsigned int size)
{
	unsigned int off = CFG_REG(bus->config_address) + (port - PCI_CONFIG_DATA);
	struct pci_function *fn = pci__selected(bus);
	u32 v = 0;

	if (off + size > CFG_REG(bus->config_address) + 4)
		fn = NULL;	/* crosses the dword: no such cycle */
	if (is_write) {
		if (!fn)
			return;
		memcpy(&v, data, size);
		if (fn->ops && fn->ops->cfg_write)
			fn->ops->cfg_write(fn, off, size, v);
		else
			pci_function__cfg_write(fn, off, size, v);
		return;
	}
	if (!fn)
		v = ~0u;
	else if (fn->ops && fn->ops->cfg_read)
		v = fn->ops->cfg_read(fn, off, size);
	else
		v = pci_function__cfg_read(fn, off, size);
	memcpy(data, &v, size);
}

/* The function and decoded I/O BAR @port falls in, or NULL. */
static struct pci_function *pci__io_bar(struct pci_bus *bus, u16 port, unsigned int *bar)
{
	unsigned int s, i;

	for (s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_function *fn = bus->slots[s];

		for (i = 0; fn && i < PCI_NR_BARS; i++) {
			const struct pci_bar *b = &fn->bars[i];

			if (b->type == PCI_BAR_IO && b->decoded && port >= b->addr &&
			    port - b->addr < b->size) {
				*bar = i;
				return fn;
			}
		}
	}
	return NULL;
}

static void pci__io_window(struct pci_bus *bus, struct vcpu *vcpu, u16 port, bool is_write,
			   u8 *data, unsigned int size)
{
	struct pci_function *fn;
	unsigned int bar = 0;
	u64 base = 0;

	(void)vcpu;
	pthread_mutex_lock(&bus->lock);
	fn = pci__io_bar(bus, port, &bar);
	if (fn)
		base = fn->bars[bar].addr;
	pthread_mutex_unlock(&bus->lock);
	/* The function's handler runs unlocked, as MMIO ones do. */
	if (fn && fn->ops && fn->ops->bar_access)
		fn->ops->bar_access(fn, bar, port - base, is_write, data, size);
	else if (!is_write)
		memset(data, 0xff, size);
}

void pci_bus__io(void *opaque, struct vcpu *vcpu, u16 port, bool is_write, u8 *data,
		 unsigned int size)
{
	struct pci_bus *bus = opaque;

	if (port >= PCI_IO_START) {
		pci__io_window(bus, vcpu, port, is_write, data, size);
		return;
	}
	pthread_mutex_lock(&bus->lock);
	if (port == PCI_CONFIG_ADDRESS && size == 4) {
		if (is_write)
			memcpy(&bus->config_address, data, 4);
		else
			memcpy(data, &bus->config_address, 4);
	} else if (port >= PCI_CONFIG_DATA && port < PCI_CONFIG_DATA + 4) {
		pci__config_data(bus, port, is_write, data, size);
	} else if (!is_write) {
		memset(data, 0xff, size);	/* not a mechanism #1 cycle */
	}
	pthread_mutex_unlock(&bus->lock);
}

/*
 * A trapped BAR range (opaque: the function): MSI-X's table or PBA, else
 * the function's.  The MMIO bus lock is held for reading, under which the
 * traps' base and len are stable (0 len: not on the bus).
 */
void pci__bar_mmio(void *opaque, struct vcpu *vcpu, u64 addr, bool is_write, u8 *data,
		   unsigned int size)
{
	struct pci_function *fn = opaque;
	unsigned int i, t;

	(void)vcpu;
	for (i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &fn->bars[i];

		for (t = 0; t < ARRAY_SIZE(b->traps); t++) {
			const struct mmio_range *r = &b->traps[t];
			u64 off;

			if (!r->len || addr < r->base || addr - r->base >= r->len)
				continue;
			off = (t ? b->holes[t - 1].offset : 0) + (addr - r->base);
			if (pci_msix__access(fn, i, off, is_write, data, size))
				return;
			if (fn->ops && fn->ops->bar_access) {
				fn->ops->bar_access(fn, i, off, is_write, data, size);
				return;
			}
			goto unclaimed;
		}
	}
unclaimed:
	if (!is_write)
		memset(data, 0xff, size);
}

static void pci__host_bridge_init(struct pci_bus *bus)
{
	struct pci_function *host = &bus->host;

	pci_function__init(host, NULL, NULL, "pci-host", PCI_HOST_VENDOR, PCI_HOST_DEVICE,
			   PCI_CLASS_BRIDGE_HOST << 8, 0);
	host->bus = bus;
	host->devfn = PCI_DEVFN(0, 0);
	bus->slots[0] = host;
}

struct pci_bus *pci_bus__create(struct mmio_bus *mmio, struct irq_routing *irq,
				struct kvm *kvm)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	pthread_mutex_init(&bus->lock, NULL);
	bus->mmio = mmio;
	bus->irq = irq;
	bus->kvm = kvm;
	bus->next_io = PCI_IO_START;
	bus->next_mmio32 = PCI_MMIO32_START;
	bus->next_mmio64 = PCI_MMIO64_START;
	pci__host_bridge_init(bus);
	return bus;
}

void pci_bus__destroy(struct pci_bus *bus)
{
	unsigned int s;

	if (!bus)
		return;
	for (s = 1; s < PCI_MAX_SLOTS; s++)
		if (bus->slots[s])
			pr_warn("PCI bus destroyed with %s on it", bus->slots[s]->name);
	pthread_mutex_destroy(&bus->host.msi_lock);
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

int pci_bus__claim_ports(struct pci_bus *bus, struct ioport_bus *io)
{
	int ret;

	/* 0xcf9 between them is the reset control register (power.c). */
	ret = ioport__register(io, PCI_CONFIG_ADDRESS, 1, pci_bus__io, bus, "pci-config-address");
	if (!ret)
		ret = ioport__register(io, PCI_CONFIG_DATA, 4, pci_bus__io, bus, "pci-config-data");
	if (!ret)
		ret = ioport__register(io, PCI_IO_START, PCI_IO_END - PCI_IO_START, pci_bus__io,
				       bus, "pci-io");
	return ret;
}

int pci__add(struct vm *vm, struct pci_function *fn, int slot)
{
	if (!vm->pci)
		return -ENODEV;
	return pci_bus__add(vm->pci, fn, slot);
}

void pci__remove(struct vm *vm, struct pci_function *fn)
{
	if (vm->pci) {
		pci_bus__remove(vm->pci, fn);
		return;
	}
	pci_msi__free(fn);
	pthread_mutex_destroy(&fn->msi_lock);
}

/*
 * The device: the bus and its ports.  Functions are devices of their own
 * (DEVICE_ORDER_PCI); the bus saves their config space and vectors, and
 * puts them back in restore(), by then every function is on the bus again
 * and the irq routing has its routes and irqfds (it is restored first).
 */
static const struct device_ops pci_device;

static int pci_dev__init(struct vm *vm, struct device_in *in)
{
	(void)in;
	vm->pci = pci_bus__create(&vm->mmio, vm->irq, &vm->kvm);
	if (!vm->pci)
		return -ENOMEM;
	return pci_bus__claim_ports(vm->pci, &vm->bus);
}

static void pci_dev__exit(struct vm *vm)
{
	pci_bus__destroy(vm->pci);
	vm->pci = NULL;
}

static void pci__save_fn(struct pci_bus *bus, struct pci_function *fn, struct state_buf *b)
{
	unsigned int nr_msix = pci_msi__nr_msix(fn), i, j;
	struct state_pci_fn *s;

	s = state__put_space(b, STATE_DEV_PCI_FN, fn->devfn,
			     sizeof(*s) + nr_msix * sizeof(s->msix[0]));
	if (!s)
		return;
	pthread_mutex_lock(&bus->lock);
	memcpy(s->cfg, fn->cfg, sizeof(s->cfg));
	for (i = 0; i < PCI_NR_BARS; i++)
		for (j = 0; j < ARRAY_SIZE(s->memslots[i]); j++)
			s->memslots[i][j] = fn->bars[i].memslots[j];
	pthread_mutex_unlock(&bus->lock);
	s->nr_msix = nr_msix;
	pci_msi__save(fn, s);
}

void pci_bus__save(struct pci_bus *bus, struct state_buf *b)
{
	struct state_pci_bus sb = { 0 };
	unsigned int slot;

	/* A guest may be between its 0xcf8 and 0xcfc accesses. */
	pthread_mutex_lock(&bus->lock);
	sb.config_address = bus->config_address;
	pthread_mutex_unlock(&bus->lock);
	state__put(b, STATE_DEV_PCI_BUS, 0, &sb, sizeof(sb));

	for (slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		struct pci_function *fn = pci_bus__function(bus, PCI_DEVFN(slot, 0));

		if (fn)
			pci__save_fn(bus, fn, b);
	}
}

static void pci_dev__save(struct vm *vm, struct state_buf *b)
{
	pci_bus__save(vm->pci, b);
}

int pci_bus__restore_fn(struct pci_bus *bus, struct pci_function *fn,
			const struct state_pci_fn *s, u32 len)
{
	if (len != sizeof(*s) + pci_msi__nr_msix(fn) * sizeof(s->msix[0]) ||
	    memcmp(s->cfg, fn->cfg, 4) || s->cfg[PCI_INTERRUPT_PIN] != fn->cfg[PCI_INTERRUPT_PIN]) {
		pr_err("%s: saved PCI function %02x.%x is another device", fn->name,
		       PCI_SLOT(fn->devfn), PCI_FUNC(fn->devfn));
		return -EINVAL;
	}
	pthread_mutex_lock(&bus->lock);
	memcpy(fn->cfg, s->cfg, sizeof(fn->cfg));
	pci__bars_update(fn);
	pthread_mutex_unlock(&bus->lock);
	pci_msi__load(fn, s);
	return 0;
}

static int pci_dev__restore(struct vm *vm, struct device_in *in)
{
	const struct state_rec *rec;
	unsigned int slot;
	int ret;

	rec = device_in__find(in, STATE_DEV_PCI_BUS, 0);
	if (rec) {
		struct state_pci_bus sb;

		memcpy(&sb, rec->payload, sizeof(sb));
		pthread_mutex_lock(&vm->pci->lock);
		vm->pci->config_address = sb.config_address;
		pthread_mutex_unlock(&vm->pci->lock);
	}

	for (slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		struct pci_function *fn = pci_bus__function(vm->pci, PCI_DEVFN(slot, 0));

		rec = device_in__find(in, STATE_DEV_PCI_FN, PCI_DEVFN(slot, 0));
		if (!rec && !fn)
			continue;
		if (!rec || !fn) {
			pr_err("PCI slot %u: %s", slot, fn ? "no saved state for it" :
			       "saved, but no device there now");
			return -EINVAL;
		}
		ret = pci_bus__restore_fn(vm->pci, fn, rec->payload, rec->len);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Set (@on) or delete every memslot of the mapped BARs, the slots staying
 * allocated: the old image's BAR memslots map its own mmaps of the
 * device, which the new image does not have at ADOPT_KVM (the module
 * refuses a VM whose memslots the caller's mm does not back).  The new
 * image maps the BARs again at restore, into slots of its own choosing.
 */
static int pci__set_bar_memslots(struct pci_bus *bus, bool on)
{
	unsigned int slot, i, j;
	u64 start, end;
	int ret = 0;

	for (slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		struct pci_function *fn = bus->slots[slot];

		for (i = 0; fn && i < PCI_NR_BARS; i++) {
			struct pci_bar *bar = &fn->bars[i];

			for (j = 0; j < ARRAY_SIZE(bar->memslots); j++) {
				if (bar->memslots[j] < 0 || !pci_bar__piece(bar, j, &start, &end))
					continue;
				ret = pci__set_memslot(bus, (u32)bar->memslots[j],
						       on ? bar->addr + start : 0,
						       on ? end - start : 0,
						       on ? (u8 *)bar->hva + start : NULL);
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}

static int pci_dev__freeze(struct vm *vm, bool keep_vm, char *why, size_t len)
{
	int ret;

	if (!keep_vm)
		return 0;
	pthread_mutex_lock(&vm->pci->lock);
	ret = pci__set_bar_memslots(vm->pci, false);
	if (ret)
		pci__set_bar_memslots(vm->pci, true);
	pthread_mutex_unlock(&vm->pci->lock);
	if (ret)
		snprintf(why, len, "pci: cannot take the BAR memslots off the VM: %s",
			 strerror(-ret));
	return ret;
}

/* Harmless for a VM not kept: the slots are set as they already are. */
static void pci_dev__thaw(struct vm *vm)
{
	pthread_mutex_lock(&vm->pci->lock);
	if (pci__set_bar_memslots(vm->pci, true))
		pr_err("pci: a BAR memslot could not be restored: its accesses trap");
	pthread_mutex_unlock(&vm->pci->lock);
}

static const struct device_ops pci_device = {
	.name = "pci",
	.order = DEVICE_ORDER_PLATFORM,
	.id = PCI_DEVICE_ID_BUS,
	.init = pci_dev__init,
	.exit = pci_dev__exit,
	.restore = pci_dev__restore,
	.save = pci_dev__save,
	.freeze = pci_dev__freeze,
	.thaw = pci_dev__thaw,
};
DEVICE_REGISTER(pci_device);
