// SPDX-License-Identifier: GPL-2.0
/*
 * PCI and interrupt routing without KVM (pci/, irq.c, mmio.c): every KVM
 * call goes through the irq_kvm_ioctl seam, recorded here.  Config space
 * through 0xcf8/0xcfc, the host bridge and empty slots, BAR sizing,
 * placement, decode and moves, the capability walk, MSI and MSI-X with
 * masking and the PBA, the routes they produce, a mapped BAR with a
 * trapped MSI-X hole, and the irq device's records across a live upgrade
 * into a kept VM and into a new one.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/pci_regs.h>

#include "testlib.h"
#include "vmm/device.h"
#include "vmm/ioport.h"
#include "vmm/kvm.h"
#include "vmm/irq.h"
#include "vmm/mmio.h"
#include "vmm/pci.h"
#include "vmm/state.h"

/* The seam: every KVM ioctl, with what it was given. */
struct call {
	unsigned long cmd;
	struct kvm_irqfd irqfd;
	struct kvm_ioeventfd ioeventfd;
	struct kvm_userspace_memory_region region;
	unsigned int nr_routes;
};

#define MAX_CALLS	256
#define MAX_ROUTES	128
static struct call calls[MAX_CALLS];
static unsigned int nr_calls;
static struct kvm_irq_routing_entry routes[MAX_ROUTES];	/* the last table */
static unsigned int nr_routes;

static int fake_ioctl(int fd, unsigned long cmd, const char *name, void *arg)
{
	struct call *c = &calls[nr_calls];

	(void)fd;
	TEST_ASSERT(nr_calls < MAX_CALLS, "too many KVM calls (%s)", name);
	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	if (cmd == KVM_IRQFD) {
		c->irqfd = *(struct kvm_irqfd *)arg;
	} else if (cmd == KVM_IOEVENTFD) {
		c->ioeventfd = *(struct kvm_ioeventfd *)arg;
	} else if (cmd == KVM_SET_USER_MEMORY_REGION) {
		c->region = *(struct kvm_userspace_memory_region *)arg;
	} else if (cmd == KVM_SET_GSI_ROUTING) {
		const struct kvm_irq_routing *t = arg;

		TEST_ASSERT(t->nr <= MAX_ROUTES, "%u routes", t->nr);
		memcpy(routes, t->entries, t->nr * sizeof(routes[0]));
		nr_routes = c->nr_routes = t->nr;
	} else {
		TEST_ASSERT(0, "unexpected KVM call %s", name);
	}
	nr_calls++;
	return 0;
}

static unsigned int count_calls(unsigned long cmd, unsigned int from)
{
	unsigned int i, n = 0;

	for (i = from; i < nr_calls; i++)
		n += calls[i].cmd == cmd;
	return n;
}

/* The last KVM_IRQFD call from @from on, for GSI @gsi, or NULL. */
static const struct kvm_irqfd *find_irqfd(u32 gsi, unsigned int from)
{
	const struct kvm_irqfd *f = NULL;
	unsigned int i;

	for (i = from; i < nr_calls; i++)
		if (calls[i].cmd == KVM_IRQFD && calls[i].irqfd.gsi == gsi)
			f = &calls[i].irqfd;
	return f;
}

static const struct kvm_irq_routing_entry *find_msi_route(u32 gsi)
{
	unsigned int i;

	for (i = 0; i < nr_routes; i++)
		if (routes[i].gsi == gsi && routes[i].type == KVM_IRQ_ROUTING_MSI)
			return &routes[i];
	return NULL;
}

static struct ioport_bus io;
static struct mmio_bus mmio;
static struct kvm kvm = { .sys_fd = -1, .vm_fd = -1 };
static struct irq_routing *irq;
static struct pci_bus *bus;

/* Config cycles, as a guest makes them through mechanism #1. */
static u32 cfg_read(u8 devfn, unsigned int off, unsigned int size)
{
	u32 addr = 0x80000000u | (u32)devfn << 8 | (off & 0xfc), v = 0;

	ioport__dispatch(&io, NULL, PCI_CONFIG_ADDRESS, true, (u8 *)&addr, 4);
	ioport__dispatch(&io, NULL, PCI_CONFIG_DATA + (off & 3), false, (u8 *)&v, size);
	return v;
}

static void cfg_write(u8 devfn, unsigned int off, unsigned int size, u32 v)
{
	u32 addr = 0x80000000u | (u32)devfn << 8 | (off & 0xfc);

	ioport__dispatch(&io, NULL, PCI_CONFIG_ADDRESS, true, (u8 *)&addr, 4);
	ioport__dispatch(&io, NULL, PCI_CONFIG_DATA + (off & 3), true, (u8 *)&v, size);
}

static u32 raw_read(u32 addr_reg)
{
	u32 v = 0;

	ioport__dispatch(&io, NULL, PCI_CONFIG_ADDRESS, true, (u8 *)&addr_reg, 4);
	ioport__dispatch(&io, NULL, PCI_CONFIG_DATA, false, (u8 *)&v, 4);
	return v;
}

static u32 mmio_read32(u64 gpa, bool *claimed)
{
	u32 v = 0;

	*claimed = mmio__dispatch(&mmio, NULL, gpa, false, (u8 *)&v, 4);
	return v;
}

static bool mmio_write32(u64 gpa, u32 v)
{
	return mmio__dispatch(&mmio, NULL, gpa, true, (u8 *)&v, 4);
}

/* The test function's BAR accesses, as its device model sees them. */
static struct {
	unsigned int n, bar;
	u64 off;
	bool is_write;
} seen;

static void testdev_bar_access(struct pci_function *fn, unsigned int bar, u64 off,
			       bool is_write, u8 *data, unsigned int size)
{
	(void)fn;
	seen.n++;
	seen.bar = bar;
	seen.off = off;
	seen.is_write = is_write;
	if (!is_write)
		memset(data, 0x5a, size);
}

static unsigned int msi_changes;
static struct pci_msi_vector last_vec, last_vec0;

static void testdev_msi_changed(struct pci_function *fn, bool msix, unsigned int vector,
				const struct pci_msi_vector *v)
{
	(void)fn;
	(void)msix;
	msi_changes++;
	last_vec = *v;
	if (vector == 0)
		last_vec0 = *v;
}

static const struct pci_function_ops testdev_ops = {
	.bar_access = testdev_bar_access,
	.msi_changed = testdev_msi_changed,
};

#define TESTDEV_SLOT	3
#define TESTDEV		PCI_DEVFN(TESTDEV_SLOT, 0)

static struct pci_function testdev;

static void setup(void)
{
	irq_kvm_ioctl = fake_ioctl;
	mmio__init(&mmio);
	irq = irq__create(kvm.vm_fd);
	TEST_ASSERT(irq, "irq__create");
	bus = pci_bus__create(&mmio, irq, &kvm);
	TEST_ASSERT(bus, "pci_bus__create");
	TEST_ASSERT(!pci_bus__claim_ports(bus, &io), "ports");
}

static void test_host_bridge_and_empty_slots(void)
{
	TEST_ASSERT(cfg_read(0, PCI_VENDOR_ID, 2) == PCI_HOST_VENDOR &&
		    cfg_read(0, PCI_DEVICE_ID, 2) == PCI_HOST_DEVICE,
		    "host bridge %04x:%04x", cfg_read(0, 0, 2), cfg_read(0, 2, 2));
	TEST_ASSERT(cfg_read(0, PCI_CLASS_REVISION, 4) >> 8 == 0x060000,
		    "host bridge class %#x", cfg_read(0, PCI_CLASS_REVISION, 4));
	TEST_ASSERT(cfg_read(0, PCI_HEADER_TYPE, 1) == 0, "header type");
	TEST_ASSERT(cfg_read(PCI_DEVFN(5, 0), 0, 4) == 0xffffffff, "empty slot 5");
	TEST_ASSERT(cfg_read(PCI_DEVFN(0, 1), 0, 4) == 0xffffffff, "function 1 of slot 0");
	TEST_ASSERT(raw_read(0x80010000) == 0xffffffff, "bus 1");
	TEST_ASSERT(raw_read(0x00000000) == 0xffffffff, "enable bit clear");
	/* Writes to nothing are dropped; the bridge's ID is read-only. */
	cfg_write(PCI_DEVFN(5, 0), PCI_COMMAND, 2, 0xffff);
	cfg_write(0, PCI_VENDOR_ID, 4, 0);
	TEST_ASSERT(cfg_read(0, PCI_VENDOR_ID, 2) == PCI_HOST_VENDOR, "vendor id written");
}

/* An emulated function: trapped BARs of each kind, MSI, MSI-X in BAR2, INTA. */
static void testdev_build(struct pci_function *fn)
{
	pci_function__init(fn, &testdev_ops, NULL, "testdev", 0x1af4, 0x10f0, 0xff0000, 1);
	fn->bars[0] = (struct pci_bar){ .type = PCI_BAR_MEM32, .size = 0x1000 };
	fn->bars[1] = (struct pci_bar){ .type = PCI_BAR_IO, .size = 0x20 };
	fn->bars[2] = (struct pci_bar){ .type = PCI_BAR_MEM64, .size = 0x4000,
					.prefetchable = true };
	TEST_ASSERT(!pci_function__add_msi(fn, 4, 0), "MSI");
	TEST_ASSERT(!pci_function__add_msix(fn, 8, 2, 0, 2, 0x800, 0), "MSI-X");
}

static void testdev_add(void)
{
	unsigned int before = nr_calls;
	const struct kvm_irqfd *f;

	testdev_build(&testdev);
	TEST_ASSERT(!pci_bus__add(bus, &testdev, TESTDEV_SLOT), "pci_bus__add");
	TEST_ASSERT(pci_bus__function(bus, TESTDEV) == &testdev, "function at 00:03.0");

	/* INTA of slot 3, swizzled: IOAPIC pin 16 + (3 + 1 - 1) % 4. */
	f = find_irqfd(19, before);
	TEST_ASSERT(f && (f->flags & KVM_IRQFD_FLAG_RESAMPLE) && f->resamplefd != f->fd,
		    "INTx irqfd on GSI 19 with a resample eventfd");
	TEST_ASSERT(cfg_read(TESTDEV, PCI_INTERRUPT_LINE, 1) == 19 &&
		    cfg_read(TESTDEV, PCI_INTERRUPT_PIN, 1) == 1, "interrupt line/pin");
	TEST_ASSERT(pci_function__intx_assert(&testdev) == 0, "INTx assert");
	TEST_ASSERT(pci_function__intx_resample_fd(&testdev) >= 0, "resample fd");
}

static void test_bars(void)
{
	u32 bar0 = cfg_read(TESTDEV, PCI_BASE_ADDRESS_0, 4);
	u32 bar1 = cfg_read(TESTDEV, PCI_BASE_ADDRESS_1, 4);
	u32 bar2 = cfg_read(TESTDEV, PCI_BASE_ADDRESS_2, 4);
	bool claimed;

	/* Placed like firmware: in the windows, aligned to their size. */
	TEST_ASSERT(bar0 == PCI_MMIO32_START, "BAR0 at %#x", bar0);
	TEST_ASSERT(bar1 == (PCI_IO_START | PCI_BASE_ADDRESS_SPACE_IO), "BAR1 %#x", bar1);
	TEST_ASSERT((bar2 & 0xf) == (PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH) &&
		    (bar2 & ~0xfu) % 0x4000 == 0 && (bar2 & ~0xfu) >= PCI_MMIO32_START,
		    "BAR2 %#x", bar2);
	TEST_ASSERT(cfg_read(TESTDEV, PCI_BASE_ADDRESS_3, 4) == 0, "BAR2's upper half");
	TEST_ASSERT(cfg_read(TESTDEV, PCI_BASE_ADDRESS_4, 4) == 0, "no BAR4");

	/* Sizing: all ones in, the size mask out, the type bits kept. */
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	TEST_ASSERT(cfg_read(TESTDEV, PCI_BASE_ADDRESS_0, 4) == 0xfffff000, "BAR0 sized %#x",
		    cfg_read(TESTDEV, PCI_BASE_ADDRESS_0, 4));
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	TEST_ASSERT(cfg_read(TESTDEV, PCI_BASE_ADDRESS_1, 4) == 0xffffffe1, "BAR1 sized %#x",
		    cfg_read(TESTDEV, PCI_BASE_ADDRESS_1, 4));
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	TEST_ASSERT(cfg_read(TESTDEV, PCI_BASE_ADDRESS_2, 4) == 0xffffc00c &&
		    cfg_read(TESTDEV, PCI_BASE_ADDRESS_3, 4) == 0xffffffff,
		    "BAR2 sized %#x %#x", cfg_read(TESTDEV, PCI_BASE_ADDRESS_2, 4),
		    cfg_read(TESTDEV, PCI_BASE_ADDRESS_3, 4));
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_0, 4, bar0);
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_1, 4, bar1);
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_2, 4, bar2);
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_3, 4, 0);
	TEST_ASSERT(cfg_read(TESTDEV, PCI_ROM_ADDRESS, 4) == 0, "no ROM");

	/* Nothing decoded until the command register says so. */
	mmio_read32(bar0 + 0x10, &claimed);
	TEST_ASSERT(!claimed, "BAR0 decoded with memory decode off");
	cfg_write(TESTDEV, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO |
		  PCI_COMMAND_MASTER);
	TEST_ASSERT(mmio_read32(bar0 + 0x10, &claimed) == 0x5a5a5a5a && claimed &&
		    seen.bar == 0 && seen.off == 0x10 && !seen.is_write, "BAR0 read");
	{
		u8 b = 0;

		ioport__dispatch(&io, NULL, PCI_IO_START + 4, true, &b, 1);
		TEST_ASSERT(seen.bar == 1 && seen.off == 4 && seen.is_write, "BAR1 write");
	}

	/* A guest moving BAR0: the old address is gone, the new one decodes. */
	cfg_write(TESTDEV, PCI_BASE_ADDRESS_0, 4, 0xd0000000);
	mmio_read32(bar0 + 0x10, &claimed);
	TEST_ASSERT(!claimed, "BAR0 still at its old address");
	mmio_read32(0xd0000020, &claimed);
	TEST_ASSERT(claimed && seen.bar == 0 && seen.off == 0x20, "BAR0 at its new address");
	cfg_write(TESTDEV, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	mmio_read32(0xd0000020, &claimed);
	TEST_ASSERT(!claimed, "BAR0 decoded after memory decode off");
	cfg_write(TESTDEV, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO |
		  PCI_COMMAND_MASTER);
}

static void test_capabilities(void)
{
	u8 ids[8], off;
	unsigned int n = 0;

	TEST_ASSERT(cfg_read(TESTDEV, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, "status: caps");
	for (off = (u8)cfg_read(TESTDEV, PCI_CAPABILITY_LIST, 1); off && n < ARRAY_SIZE(ids);
	     off = (u8)cfg_read(TESTDEV, off + PCI_CAP_LIST_NEXT, 1)) {
		TEST_ASSERT(off >= 0x40 && !(off & 3), "capability at %#x", off);
		ids[n++] = (u8)cfg_read(TESTDEV, off, 1);
	}
	TEST_ASSERT(n == 2 && ids[0] == PCI_CAP_ID_MSI && ids[1] == PCI_CAP_ID_MSIX,
		    "%u capabilities: %#x %#x", n, ids[0], ids[1]);
	TEST_ASSERT(!pci_function__cfg_is_virtual(&testdev, PCI_VENDOR_ID) &&
		    pci_function__cfg_is_virtual(&testdev, PCI_BASE_ADDRESS_2) &&
		    pci_function__cfg_is_virtual(&testdev, PCI_COMMAND),
		    "virtual bytes");
}

static u8 find_cap(u8 devfn, u8 id)
{
	u8 off;

	for (off = (u8)cfg_read(devfn, PCI_CAPABILITY_LIST, 1); off;
	     off = (u8)cfg_read(devfn, off + PCI_CAP_LIST_NEXT, 1))
		if (cfg_read(devfn, off, 1) == id)
			return off;
	return 0;
}

static void test_default_routes(void)
{
	unsigned int i, pic = 0, ioapic = 0;

	TEST_ASSERT(nr_routes >= 40, "%u routes pushed", nr_routes);
	for (i = 0; i < nr_routes; i++) {
		const struct kvm_irq_routing_entry *e = &routes[i];

		if (e->type != KVM_IRQ_ROUTING_IRQCHIP)
			continue;
		if (e->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			TEST_ASSERT(e->u.irqchip.pin == e->gsi && e->gsi < 24, "IOAPIC route %u",
				    e->gsi);
			ioapic++;
		} else {
			TEST_ASSERT(e->gsi < 16 && e->u.irqchip.pin == e->gsi % 8 &&
				    e->u.irqchip.irqchip == (e->gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
							     KVM_IRQCHIP_PIC_SLAVE),
				    "PIC route %u", e->gsi);
			pic++;
		}
	}
	TEST_ASSERT(ioapic == 24 && pic == 16, "%u IOAPIC and %u PIC routes", ioapic, pic);
}

static void test_msi(void)
{
	u8 cap = find_cap(TESTDEV, PCI_CAP_ID_MSI);
	unsigned int before = nr_calls, i;
	const struct kvm_irqfd *f;
	u32 gsi[4];

	TEST_ASSERT(cap, "MSI capability");
	TEST_ASSERT((cfg_read(TESTDEV, cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) == 2 << 1,
		    "4 vectors offered");
	cfg_write(TESTDEV, cap + PCI_MSI_ADDRESS_LO, 4, 0xfee01000);
	cfg_write(TESTDEV, cap + PCI_MSI_ADDRESS_HI, 4, 0);
	cfg_write(TESTDEV, cap + PCI_MSI_DATA_64, 2, 0x4021);
	cfg_write(TESTDEV, cap + PCI_MSI_MASK_64, 4, 0x2);
	TEST_ASSERT(nr_calls == before, "KVM called before MSI is on");
	cfg_write(TESTDEV, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | (2 << 4));

	/* One table for the change set, then an irqfd per unmasked vector. */
	TEST_ASSERT(count_calls(KVM_SET_GSI_ROUTING, before) == 1, "%u routing pushes",
		    count_calls(KVM_SET_GSI_ROUTING, before));
	TEST_ASSERT(nr_routes == 40 + 4, "%u routes", nr_routes);
	TEST_ASSERT(count_calls(KVM_IRQFD, before) == 3, "%u irqfds",
		    count_calls(KVM_IRQFD, before));
	test_default_routes();
	for (i = 0; i < 4; i++) {
		const struct kvm_irq_routing_entry *r;

		gsi[i] = 24 + i;
		r = find_msi_route(gsi[i]);
		TEST_ASSERT(r && r->u.msi.address_lo == 0xfee01000 && r->u.msi.address_hi == 0 &&
			    r->u.msi.data == (0x4020 | i), "MSI vector %u's route", i);
	}
	TEST_ASSERT(!find_irqfd(gsi[1], before), "masked vector 1 has an irqfd");
	TEST_ASSERT(msi_changes >= 4, "%u vector notices", msi_changes);

	/* Raised while masked: pending, then delivered at unmask. */
	TEST_ASSERT(pci_function__msi_raise(&testdev, 1) == 0, "raise vector 1");
	TEST_ASSERT(irq__irqfd_pending(irq, PCI_IRQ_TAG(TESTDEV, 2048 + 1)), "vector 1 pending");
	before = nr_calls;
	cfg_write(TESTDEV, cap + PCI_MSI_MASK_64, 4, 0x1);
	f = find_irqfd(gsi[1], before);
	TEST_ASSERT(f && !(f->flags & KVM_IRQFD_FLAG_DEASSIGN), "vector 1 unmasked");
	f = find_irqfd(gsi[0], before);
	TEST_ASSERT(f && (f->flags & KVM_IRQFD_FLAG_DEASSIGN), "vector 0 masked");
	TEST_ASSERT(count_calls(KVM_SET_GSI_ROUTING, before) == 0, "routes pushed for masking");

	/* A new message: one push, no irqfd change. */
	before = nr_calls;
	cfg_write(TESTDEV, cap + PCI_MSI_DATA_64, 2, 0x4031);
	TEST_ASSERT(count_calls(KVM_SET_GSI_ROUTING, before) == 1 &&
		    count_calls(KVM_IRQFD, before) == 0, "data change");
	TEST_ASSERT(find_msi_route(gsi[2])->u.msi.data == 0x4032, "vector 2's new data");

	/* Off: every irqfd deassigned, the routes freed. */
	before = nr_calls;
	cfg_write(TESTDEV, cap + PCI_MSI_FLAGS, 2, 0);
	TEST_ASSERT(count_calls(KVM_IRQFD, before) == 3, "%u deassigns",
		    count_calls(KVM_IRQFD, before));
	TEST_ASSERT(pci_function__msi_raise(&testdev, 0) == -EINVAL, "raise with MSI off");
	TEST_ASSERT(irq__nr_irqfds(irq) == 1 && irq__nr_routes(irq) == 40, "%u irqfds %u routes",
		    irq__nr_irqfds(irq), irq__nr_routes(irq));
}

static u64 msix_table(void)
{
	return cfg_read(TESTDEV, PCI_BASE_ADDRESS_2, 4) & ~0xfull;
}

static void test_msix(void)
{
	u8 cap = find_cap(TESTDEV, PCI_CAP_ID_MSIX);
	u64 table = msix_table(), pba = table + 0x800;
	unsigned int before = nr_calls;
	const struct kvm_irq_routing_entry *r;
	bool claimed;
	u32 gsi0;

	TEST_ASSERT(cap, "MSI-X capability");
	TEST_ASSERT((cfg_read(TESTDEV, cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) == 7 &&
		    cfg_read(TESTDEV, cap + PCI_MSIX_TABLE, 4) == 2 &&
		    cfg_read(TESTDEV, cap + PCI_MSIX_PBA, 4) == (0x800 | 2), "MSI-X registers");
	TEST_ASSERT(mmio_read32(table + PCI_MSIX_ENTRY_VECTOR_CTRL, &claimed) == 1 && claimed,
		    "vector 0 starts masked");
	cfg_write(TESTDEV, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE |
		  PCI_MSIX_FLAGS_MASKALL);
	TEST_ASSERT(count_calls(KVM_SET_GSI_ROUTING, before) == 1 &&
		    count_calls(KVM_IRQFD, before) == 0, "enable, all masked: %u calls",
		    nr_calls - before);
	TEST_ASSERT(irq__nr_routes(irq) == 40 + 8, "%u routes", irq__nr_routes(irq));

	mmio_write32(table + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee00000);
	mmio_write32(table + PCI_MSIX_ENTRY_UPPER_ADDR, 0);
	mmio_write32(table + PCI_MSIX_ENTRY_DATA, 0x41);
	mmio_write32(table + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	gsi0 = last_vec.gsi;
	r = find_msi_route(gsi0);
	TEST_ASSERT(r && r->u.msi.address_lo == 0xfee00000 && r->u.msi.data == 0x41,
		    "vector 0's route (GSI %u)", gsi0);
	TEST_ASSERT(last_vec.enabled && last_vec.masked && last_vec.fd >= 0,
		    "function mask still on");

	before = nr_calls;
	cfg_write(TESTDEV, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	TEST_ASSERT(count_calls(KVM_IRQFD, before) == 1 && find_irqfd(gsi0, before) &&
		    !(find_irqfd(gsi0, before)->flags & KVM_IRQFD_FLAG_DEASSIGN),
		    "function unmasked: vector 0's irqfd assigned");

	/* Masked and raised: the PBA shows it; unmasked: delivered. */
	mmio_write32(table + PCI_MSIX_ENTRY_VECTOR_CTRL, 1);
	TEST_ASSERT(mmio_read32(pba, &claimed) == 0 && claimed, "PBA clear");
	TEST_ASSERT(pci_function__msi_raise(&testdev, 0) == 0, "raise vector 0");
	TEST_ASSERT(mmio_read32(pba, &claimed) == 1, "PBA bit 0 set");
	mmio_write32(pba, 0);
	TEST_ASSERT(mmio_read32(pba, &claimed) == 1, "PBA written");
	before = nr_calls;
	mmio_write32(table + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	TEST_ASSERT(find_irqfd(gsi0, before) &&
		    !(find_irqfd(gsi0, before)->flags & KVM_IRQFD_FLAG_DEASSIGN), "reassigned");
	TEST_ASSERT(mmio_read32(pba, &claimed) == 0, "PBA after unmask");
	/* The rest of BAR2 is the function's. */
	mmio_read32(table + 0x1000, &claimed);
	TEST_ASSERT(claimed && seen.bar == 2 && seen.off == 0x1000, "BAR2 past the PBA");
}

/* A passthrough-style function: BAR0 host memory, MSI-X table in a hole. */
static void test_mapped_bar_with_hole(void)
{
	static struct pci_function vf;
	unsigned int before = nr_calls, i, n = 0;
	void *mem = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u64 base;
	bool claimed;

	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	pci_function__init(&vf, &testdev_ops, NULL, "vf", 0x1234, 0x11e8, 0x00ff00, 0);
	vf.bars[0] = (struct pci_bar){ .type = PCI_BAR_MEM32, .size = 0x4000, .hva = mem,
				       .nr_holes = 1, .holes = { { 0x1000, 0x1000 } } };
	TEST_ASSERT(!pci_function__add_msix(&vf, 4, 0, 0x1000, 0, 0x1800, 0), "MSI-X");
	TEST_ASSERT(!pci_bus__add(bus, &vf, -1), "add");
	TEST_ASSERT(count_calls(KVM_SET_USER_MEMORY_REGION, before) == 0, "mapped before decode");
	base = cfg_read(vf.devfn, PCI_BASE_ADDRESS_0, 4);
	cfg_write(vf.devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	for (i = before; i < nr_calls; i++) {
		const struct kvm_userspace_memory_region *m = &calls[i].region;

		if (calls[i].cmd != KVM_SET_USER_MEMORY_REGION)
			continue;
		TEST_ASSERT(m->slot >= KVM_RAM_SLOTS, "memslot %u", m->slot);
		TEST_ASSERT((n == 0 && m->guest_phys_addr == base && m->memory_size == 0x1000 &&
			     m->userspace_addr == (unsigned long)mem) ||
			    (n == 1 && m->guest_phys_addr == base + 0x2000 &&
			     m->memory_size == 0x2000 &&
			     m->userspace_addr == (unsigned long)mem + 0x2000),
			    "piece %u: %#llx+%#llx", n, (unsigned long long)m->guest_phys_addr,
			    (unsigned long long)m->memory_size);
		n++;
	}
	TEST_ASSERT(n == 2, "%u memslots", n);
	TEST_ASSERT(mmio_read32(base + 0x1000 + PCI_MSIX_ENTRY_VECTOR_CTRL, &claimed) == 1 &&
		    claimed, "MSI-X table in the hole");
	before = nr_calls;
	cfg_write(vf.devfn, PCI_COMMAND, 2, 0);
	TEST_ASSERT(count_calls(KVM_SET_USER_MEMORY_REGION, before) == 2, "unmapped: %u calls %u", count_calls(KVM_SET_USER_MEMORY_REGION, before), nr_calls - before);
	mmio_read32(base + 0x1000, &claimed);
	TEST_ASSERT(!claimed, "hole trapped with decode off");
	pci_bus__remove(bus, &vf);
	TEST_ASSERT(!pci_bus__function(bus, vf.devfn), "removed");
	munmap(mem, 0x4000);
}

static struct test_kept kept;

/*
 * @a and @b are the same eventfd: a write to one is read from the other.
 * They are non-blocking; a count left by an earlier write is drained.
 */
static bool same_eventfd(int a, int b)
{
	eventfd_t v = 0;

	eventfd_read(a, &v);
	return eventfd_write(a, 3) == 0 && eventfd_read(b, &v) == 0 && v == 3;
}

static void irq_round_trip(struct irq_routing *old, const struct state_buf *b, bool kept_vm)
{
	struct device_in in;
	struct irq_routing *new = irq__create(-1);
	unsigned int before = nr_calls;
	int fd_old, fd_new, rs_old, rs_new;
	const struct kvm_irqfd *f;
	u32 gsi;

	TEST_ASSERT(new && !device_in__open(&in, b->data, b->len), "device_in");
	in.kept_vm = kept_vm;
	in.take_fd = test_kept__take;
	in.opaque = &kept;
	TEST_ASSERT(!irq__load(new, &in), "irq__load");
	TEST_ASSERT(nr_calls == before, "irq__load called KVM");
	TEST_ASSERT(!irq__reattach(new), "irq__reattach");
	TEST_ASSERT(irq__nr_routes(new) == irq__nr_routes(old) &&
		    irq__nr_irqfds(new) == 2 && irq__nr_ioeventfds(new) == 2, "counts");
	TEST_ASSERT(!irq__irqfd_get(old, 0x10001, &fd_old, &rs_old) &&
		    !irq__irqfd_get(new, 0x10001, &fd_new, &rs_new) &&
		    same_eventfd(fd_old, fd_new) && same_eventfd(rs_old, rs_new),
		    "INTx-like irqfd's eventfds kept");
	TEST_ASSERT(same_eventfd(irq__ioeventfd_get(old, 0x10003), irq__ioeventfd_get(new, 0x10003)),
		    "ioeventfd kept");
	if (kept_vm) {
		TEST_ASSERT(nr_calls == before, "%u KVM calls into a kept VM", nr_calls - before);
	} else {
		/* One table, the unmasked irqfd (resample), both ioeventfds. */
		TEST_ASSERT(count_calls(KVM_SET_GSI_ROUTING, before) == 1 &&
			    count_calls(KVM_IRQFD, before) == 1 &&
			    count_calls(KVM_IOEVENTFD, before) == 2, "calls into a new VM");
		f = find_irqfd(5, before);
		TEST_ASSERT(f && (int)f->fd == fd_new && (int)f->resamplefd == rs_new &&
			    (f->flags & KVM_IRQFD_FLAG_RESAMPLE), "irqfd on the kept eventfds");
		irq__irqfd_get(new, 0x10002, &fd_new, NULL);
		TEST_ASSERT(!irq__irqfd_get(new, 0x10002, &fd_new, NULL), "masked irqfd kept");
		gsi = 24;
		TEST_ASSERT(find_msi_route(gsi) && find_msi_route(gsi)->u.msi.data == 0x77,
			    "MSI route pushed");
		test_default_routes();
	}
	TEST_ASSERT(!irq__reattach(new) && nr_calls == before + (kept_vm ? 0 : 4),
		    "a second reattach");
	device_in__close(&in);
	irq__destroy(new);
}

static void test_irq_records(void)
{
	struct irq_routing *old = irq__create(-1);
	struct irq_ioevent pio = { .addr = 0xc010, .len = 2, .pio = true, .datamatch = true,
				   .data = 7 };
	struct irq_ioevent mm = { .addr = 0xd0001000, .len = 4 };
	struct state_vm_info info = { .nr_vcpus = 1, .mem_size = 64 << 20 };
	struct state_buf b;
	u32 gsi;

	TEST_ASSERT(old, "irq__create");
	TEST_ASSERT(!irq__msi_route_alloc(old, 0xfee00000, 0x77, &gsi) && gsi == 24, "route");
	TEST_ASSERT(!irq__irqfd_attach(old, 0x10001, 5, IRQ_FD_NEW, IRQ_FD_NEW, false), "irqfd");
	TEST_ASSERT(!irq__irqfd_attach(old, 0x10002, gsi, IRQ_FD_NEW, IRQ_FD_NONE, true),
		    "masked irqfd");
	TEST_ASSERT(irq__irqfd_attach(old, 0x10002, gsi, IRQ_FD_NEW, IRQ_FD_NONE, true) ==
		    -EEXIST, "same tag twice");
	TEST_ASSERT(irq__msi_route_free(old, gsi) == -EBUSY, "route of an irqfd freed");
	TEST_ASSERT(!irq__ioeventfd_add(old, 0x10003, &pio, IRQ_FD_NEW), "PIO ioeventfd");
	TEST_ASSERT(!irq__ioeventfd_add(old, 0x10004, &mm, IRQ_FD_NEW), "MMIO ioeventfd");

	state_buf__init(&b);
	/* A stream opens with the VM's info, which device_in__open() checks. */
	state__put(&b, STATE_VM_INFO, 0, &info, sizeof(info));
	irq__save(old, &b);
	state__put_end(&b);
	TEST_ASSERT(!b.err, "save: %d", b.err);
	test_kept__init(&kept);
	irq__keep_fds(old, &kept.k);
	TEST_ASSERT(kept.nr == 5, "%u files kept", kept.nr);

	irq_round_trip(old, &b, true);
	irq_round_trip(old, &b, false);

	test_kept__close(&kept);
	state_buf__free(&b);
	irq__destroy(old);
}

/*
 * The bus's records into a new image: the function, added again, gets
 * its config space, BAR decode and vectors back, and the routes and
 * irqfds are the ones the irq routing took back: nothing is made anew.
 */
static void pci_round_trip(const struct state_buf *b, bool kept_vm)
{
	static struct pci_function fn;
	struct mmio_bus mmio2;
	struct irq_routing *irq2 = irq__create(-1);
	struct pci_bus *bus2;
	const struct state_rec *rec;
	struct device_in in;
	unsigned int before;
	int fd_old, fd_new;
	u32 v = 0;

	mmio__init(&mmio2);
	bus2 = pci_bus__create(&mmio2, irq2, &kvm);
	TEST_ASSERT(irq2 && bus2 && !device_in__open(&in, b->data, b->len), "new image");
	in.kept_vm = kept_vm;
	in.take_fd = test_kept__take;
	in.opaque = &kept;
	TEST_ASSERT(!irq__load(irq2, &in) && !irq__reattach(irq2), "irq device");
	before = nr_calls;
	testdev_build(&fn);
	TEST_ASSERT(!pci_bus__add(bus2, &fn, TESTDEV_SLOT), "added again");
	rec = device_in__find(&in, STATE_DEV_PCI_FN, TESTDEV);
	msi_changes = 0;
	memset(&last_vec0, 0, sizeof(last_vec0));
	TEST_ASSERT(rec && !pci_bus__restore_fn(bus2, &fn, rec->payload, rec->len), "restore");
	TEST_ASSERT(count_calls(KVM_IRQFD, before) == 0 &&
		    count_calls(KVM_SET_GSI_ROUTING, before) == 0,
		    "vectors made anew: %u calls", nr_calls - before);
	TEST_ASSERT(!memcmp(fn.cfg, testdev.cfg, PCI_CFG_SIZE), "config space");
	TEST_ASSERT(mmio__dispatch(&mmio2, NULL, 0xd0000020, false, (u8 *)&v, 4) && v == 0x5a5a5a5a,
		    "BAR0 where the guest moved it");
	TEST_ASSERT(!irq__irqfd_get(irq, PCI_IRQ_TAG(TESTDEV, 0), &fd_old, NULL) &&
		    !irq__irqfd_get(irq2, PCI_IRQ_TAG(TESTDEV, 0), &fd_new, NULL) &&
		    same_eventfd(fd_old, fd_new), "MSI-X vector 0's eventfd");
	/* A kept passthrough device signals that eventfd already: told so. */
	TEST_ASSERT(msi_changes && last_vec0.restored && last_vec0.enabled &&
		    same_eventfd(last_vec0.fd, fd_old),
		    "restore told vector 0: %u changes, restored %d, enabled %d",
		    msi_changes, last_vec0.restored, last_vec0.enabled);
	TEST_ASSERT(pci_function__msi_raise(&fn, 0) == 0, "raise vector 0");
	TEST_ASSERT(mmio__dispatch(&mmio2, NULL, msix_table() + PCI_MSIX_ENTRY_DATA, false,
				   (u8 *)&v, 4) && v == 0x41, "MSI-X table");
	pci_bus__remove(bus2, &fn);
	pci_bus__destroy(bus2);
	device_in__close(&in);
	irq__destroy(irq2);
	mmio__exit(&mmio2);
}

static void test_pci_records(void)
{
	struct state_vm_info info = { .nr_vcpus = 1, .mem_size = 64 << 20 };
	struct state_buf b;

	state_buf__init(&b);
	state__put(&b, STATE_VM_INFO, 0, &info, sizeof(info));
	irq__save(irq, &b);
	pci_bus__save(bus, &b);
	state__put_end(&b);
	TEST_ASSERT(!b.err, "save: %d", b.err);
	test_kept__init(&kept);
	irq__keep_fds(irq, &kept.k);
	pci_round_trip(&b, true);
	pci_round_trip(&b, false);
	test_kept__close(&kept);
	state_buf__free(&b);
}

int main(void)
{
	setup();
	test_host_bridge_and_empty_slots();
	testdev_add();
	test_bars();
	test_capabilities();
	test_msi();
	test_msix();
	test_mapped_bar_with_hole();
	test_irq_records();
	test_pci_records();
	pci_bus__remove(bus, &testdev);
	pci_bus__destroy(bus);
	irq__destroy(irq);
	mmio__exit(&mmio);
	printf("unit_pci: ok\n");
	return 0;
}
