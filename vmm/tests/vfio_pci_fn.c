// SPDX-License-Identifier: GPL-2.0
/*
 * A passed-through device as a PCI function, in process, on the VM's PCI
 * bus, driven the way a guest would (the test plays the guest): config
 * cycles through 0xcf8/0xcfc see the device's identity and the emulated
 * BAR, memory decode maps BAR 0 (edu's registers answer through the
 * mapping), and enabling MSI gives the device the platform's eventfd:
 * an interrupt edu raises arrives at the host as vfio-msi.
 *
 * usage: vfio_pci_fn   (in the test VM: $CPRSTASH_TESTVM_EDU is QEMU's
 *                       edu, bound to vfio-pci)
 */
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "testlib.h"
#include "vmm/config.h"
#include "vmm/pci.h"
#include "vmm/vm.h"
#include "../vfio/vfio.h"

#define EDU_ID			0x11e81234	/* device << 16 | vendor */
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04		/* reads back inverted */
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64

static struct pci_bus *bus;
static u8 devfn;

static void cfg_select(unsigned int reg)
{
	u32 a = 0x80000000u | ((u32)devfn << 8) | (reg & 0xfc);

	pci_bus__io(bus, NULL, PCI_CONFIG_ADDRESS, true, (u8 *)&a, 4);
}

static u32 cfg_read(unsigned int reg, unsigned int size)
{
	u32 v = 0;

	cfg_select(reg);
	pci_bus__io(bus, NULL, PCI_CONFIG_DATA + (reg & 3), false, (u8 *)&v, size);
	return v;
}

static void cfg_write(unsigned int reg, unsigned int size, u32 v)
{
	cfg_select(reg);
	pci_bus__io(bus, NULL, PCI_CONFIG_DATA + (reg & 3), true, (u8 *)&v, size);
}

/* The host's count of vfio-msi interrupts of @bdf, -1 if it has none. */
static long host_msi_count(const char *bdf)
{
	char line[512], cmd[128], *tok, *save;
	long total = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "grep 'vfio-msi.*%s' /proc/interrupts", bdf);
	f = popen(cmd, "r");
	TEST_ASSERT(f, "popen");
	while (fgets(line, sizeof(line), f)) {
		/* "IRQ:  count  count ... chip name": the counts end at a non-number. */
		tok = strtok_r(line, " \t\n", &save);
		for (total = 0; (tok = strtok_r(NULL, " \t\n", &save)) &&
				strspn(tok, "0123456789") == strlen(tok); )
			total += strtol(tok, NULL, 10);
	}
	pclose(f);
	return total;
}

static u8 find_cap(u8 id)
{
	u8 at = cfg_read(PCI_CAPABILITY_LIST, 1) & ~3;
	unsigned int n;

	for (n = 0; at >= 0x40 && n < 48; n++, at = cfg_read(at + 1, 1) & ~3)
		if (cfg_read(at, 1) == id)
			return at;
	return 0;
}

static void test_config_and_bar(struct vfio_pci *d)
{
	volatile u32 *regs;
	u32 bar0, size;

	TEST_ASSERT(cfg_read(PCI_VENDOR_ID, 4) == EDU_ID, "IDs %#x, expected edu's %#x",
		    cfg_read(PCI_VENDOR_ID, 4), EDU_ID);
	bar0 = cfg_read(PCI_BASE_ADDRESS_0, 4);
	cfg_write(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	size = ~(cfg_read(PCI_BASE_ADDRESS_0, 4) & (u32)PCI_BASE_ADDRESS_MEM_MASK) + 1;
	cfg_write(PCI_BASE_ADDRESS_0, 4, bar0);
	TEST_ASSERT(size == d->bars[0].size, "BAR 0 sizes as %#x, VFIO says %#llx", size,
		    (unsigned long long)d->bars[0].size);
	printf("ok: %s is 00:%02x.0 of the bus, edu, BAR 0 at %#x, %#x bytes\n", d->bdf,
	       devfn >> 3, bar0 & (u32)PCI_BASE_ADDRESS_MEM_MASK, size);

	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	TEST_ASSERT(d->fn.bars[0].decoded, "memory decode on, BAR 0 not decoded");
	TEST_ASSERT(d->bars[0].map, "BAR 0 was not mmap'ed (trapped)");
	regs = d->bars[0].map;
	TEST_ASSERT((regs[EDU_REG_ID / 4] & 0xff) == 0xed, "edu ID register %#x",
		    regs[EDU_REG_ID / 4]);
	regs[EDU_REG_LIVENESS / 4] = 0x12345678;
	TEST_ASSERT(regs[EDU_REG_LIVENESS / 4] == ~0x12345678u, "liveness %#x",
		    regs[EDU_REG_LIVENESS / 4]);
	printf("ok: BAR 0 mapped into a memslot: ID %#x, liveness inverted\n",
	       regs[EDU_REG_ID / 4]);
}

static void test_msi(struct vfio_pci *d)
{
	volatile u32 *regs = d->bars[0].map;
	u8 cap = find_cap(PCI_CAP_ID_MSI);
	struct test_wait w;
	u16 ctrl;
	long before;

	TEST_ASSERT(cap, "edu shows no MSI capability");
	ctrl = cfg_read(cap + PCI_MSI_FLAGS, 2);
	TEST_ASSERT(host_msi_count(d->bdf) < 0, "vfio-msi before MSI is enabled");
	cfg_write(cap + PCI_MSI_ADDRESS_LO, 4, 0xfee00000);
	if (ctrl & PCI_MSI_FLAGS_64BIT) {
		cfg_write(cap + PCI_MSI_ADDRESS_HI, 4, 0);
		cfg_write(cap + PCI_MSI_DATA_64, 2, 0x30);
	} else {
		cfg_write(cap + PCI_MSI_DATA_32, 2, 0x30);
	}
	cfg_write(cap + PCI_MSI_FLAGS, 2, ctrl | PCI_MSI_FLAGS_ENABLE);
	before = host_msi_count(d->bdf);
	TEST_ASSERT(before >= 0, "MSI enabled, but the host has no vfio-msi for %s", d->bdf);
	regs[EDU_REG_IRQ_RAISE / 4] = 1;
	for (test_wait_start(&w); host_msi_count(d->bdf) <= before; )
		TEST_ASSERT(test_wait_more(&w), "edu raised its interrupt, vfio-msi stays at %ld",
			    before);
	regs[EDU_REG_IRQ_ACK / 4] = 1;
	printf("ok: MSI: edu's interrupt reached the host's vfio-msi (%ld -> %ld)\n", before,
	       host_msi_count(d->bdf));
	cfg_write(cap + PCI_MSI_FLAGS, 2, ctrl & ~PCI_MSI_FLAGS_ENABLE);
	TEST_ASSERT(host_msi_count(d->bdf) < 0, "MSI disabled, vfio-msi still there");
	printf("ok: MSI disabled: vfio-msi gone\n");
}

int main(void)
{
	const char *edu = getenv("CPRSTASH_TESTVM_EDU");
	char *argv[] = { "vmm", "--guest", "builtin", "--mem", "64M", "--no-stdin",
			 "--vfio", (char *)edu, NULL };
	struct vmm_config cfg;
	struct vfio_pci *d;
	struct vm vm;

	TEST_REQUIRE(edu, "no device bound to vfio-pci (not the test VM)");
	TEST_REQUIRE(test_have_kvm(), "no /dev/kvm");
	TEST_ASSERT(config__parse(ARRAY_SIZE(argv) - 1, argv, &cfg) == 0, "config");
	TEST_ASSERT(vm__create(&vm, &cfg, NULL) == 0, "vm__create with --vfio %s", edu);
	TEST_ASSERT(vm.vfio && vm.vfio->nr_devs == 1, "no VFIO device");
	TEST_ASSERT(vm.pci, "the VM has no PCI bus");
	bus = vm.pci;
	d = &vm.vfio->devs[0];
	TEST_ASSERT(d->on_bus, "%s is not on the PCI bus", d->bdf);
	devfn = d->fn.devfn;

	test_config_and_bar(d);
	test_msi(d);

	vm__destroy(&vm);
	test_cleanup();
	return 0;
}
