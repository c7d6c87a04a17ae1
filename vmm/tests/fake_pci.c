// SPDX-License-Identifier: GPL-2.0
/*
 * A VM with a PCI bus and no KVM for unit tests (fake_pci.h).
 */
#include <stdlib.h>

#include <linux/pci_regs.h>

#include "fake_pci.h"
#include "testlib.h"
#include "vmm/ioport.h"
#include "vmm/irq.h"
#include "vmm/pci.h"
#include "vmm/vm.h"

static struct ioport_bus io;
static struct vm vm;
static struct kvm kvm = { .sys_fd = -1, .vm_fd = -1 };

static int fake_pci__ioctl(int fd, unsigned long cmd, const char *name, void *arg)
{
	(void)fd;
	(void)cmd;
	(void)name;
	(void)arg;
	return 0;
}

struct vm *fake_pci__setup(u64 ram_size)
{
	irq_kvm_ioctl = fake_pci__ioctl;
	mmio__init(&vm.mmio);
	vm.mem.hva = calloc(1, ram_size);
	TEST_ASSERT(vm.mem.hva, "no memory for %llu bytes of RAM", (unsigned long long)ram_size);
	vm.mem.size = ram_size;
	vm.mem.nr_regions = 1;
	vm.mem.regions[0] = (struct guest_mem_region){ .gpa = 0, .size = ram_size };
	vm.irq = irq__create(kvm.vm_fd);
	TEST_ASSERT(vm.irq, "irq__create");
	vm.pci = pci_bus__create(&vm.mmio, vm.irq, &kvm);
	TEST_ASSERT(vm.pci && !pci_bus__claim_ports(vm.pci, &io), "pci_bus__create");
	return &vm;
}

void fake_pci__teardown(void)
{
	pci_bus__destroy(vm.pci);
	irq__destroy(vm.irq);
	mmio__exit(&vm.mmio);
	free(vm.mem.hva);
}

static void fake_pci__select(u8 devfn, unsigned int off)
{
	u32 addr = 0x80000000u | (u32)devfn << 8 | (off & 0xfc);

	ioport__dispatch(&io, NULL, PCI_CONFIG_ADDRESS, true, (u8 *)&addr, 4);
}

u32 fake_pci__cfg_read(u8 devfn, unsigned int off, unsigned int size)
{
	u32 v = 0;

	fake_pci__select(devfn, off);
	ioport__dispatch(&io, NULL, PCI_CONFIG_DATA + (off & 3), false, (u8 *)&v, size);
	return v;
}

void fake_pci__cfg_write(u8 devfn, unsigned int off, unsigned int size, u32 v)
{
	fake_pci__select(devfn, off);
	ioport__dispatch(&io, NULL, PCI_CONFIG_DATA + (off & 3), true, (u8 *)&v, size);
}

u64 fake_pci__enable_bar(u8 devfn, unsigned int bar)
{
	u64 addr = fake_pci__cfg_read(devfn, PCI_BASE_ADDRESS_0 + 4 * bar, 4) &
		   PCI_BASE_ADDRESS_MEM_MASK;

	fake_pci__cfg_write(devfn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return addr;
}

u32 fake_pci__mmio_read(u64 addr, unsigned int size)
{
	u32 v = 0;

	TEST_ASSERT(mmio__dispatch(&vm.mmio, NULL, addr, false, (u8 *)&v, size),
		    "0x%llx is not decoded", (unsigned long long)addr);
	return v;
}

void fake_pci__mmio_write(u64 addr, unsigned int size, u32 v)
{
	TEST_ASSERT(mmio__dispatch(&vm.mmio, NULL, addr, true, (u8 *)&v, size),
		    "0x%llx is not decoded", (unsigned long long)addr);
}
