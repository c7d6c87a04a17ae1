// SPDX-License-Identifier: GPL-2.0
/*
 * The interrupt routing (irq.c) against real KVM, what unit_pci's seam
 * cannot show: KVM takes our table (the default routes and MSI routes),
 * a level irqfd with a resample eventfd raises its IOAPIC pin, ioeventfds
 * for PIO and MMIO are accepted and deassigned, and the live upgrade's
 * promise for a new VM: a write made while no irqfd was assigned (during
 * the switch) is delivered when irq__reattach() assigns it, on the same
 * eventfd.  No vCPU runs: the IOAPIC's IRR tells what was raised.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/device.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/state.h"

#define INTX_GSI	19
#define TAG_INTX	IRQ_TAG(100, 1)
#define TAG_MSI		IRQ_TAG(100, 2)
#define TAG_PIO		IRQ_TAG(100, 3)
#define TAG_MMIO	IRQ_TAG(100, 4)

/* Where the test is, for a log that ends in a hang. */
static void step(const char *what)
{
	printf("# %s\n", what);
	fflush(stdout);
}

static void vm_create(struct kvm *kvm)
{
	TEST_ASSERT(!kvm__open(kvm), "kvm__open");
	TEST_ASSERT(!kvm__create_vm(kvm), "kvm__create_vm");
}

static u32 ioapic_irr(struct kvm *kvm)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	TEST_ASSERT(kvm_ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &chip) == 0, "KVM_GET_IRQCHIP");
	return chip.chip.ioapic.irr;
}

/* irqfds inject from a work item: wait, bounded by the hang guard. */
static void wait_irr(struct kvm *kvm, u32 bit, const char *what)
{
	struct test_wait w;

	for (test_wait_start(&w); !(ioapic_irr(kvm) & bit);)
		TEST_ASSERT(test_wait_more(&w), "%s: IOAPIC IRR %#x", what, ioapic_irr(kvm));
}

static struct test_kept kept;

int main(void)
{
	struct irq_ioevent pio = { .addr = 0xc010, .len = 2, .pio = true, .datamatch = true,
				   .data = 7 };
	struct irq_ioevent mmio = { .addr = 0xc0001000, .len = 4 };
	struct state_vm_info info = { .nr_vcpus = 1, .mem_size = 64 << 20 };
	struct kvm kvm, kvm2;
	struct irq_routing *irq, *irq2;
	struct device_in in;
	struct state_buf b;
	int fd, resample;
	u32 gsi;

	TEST_REQUIRE(test_have_kvm(), "no usable /dev/kvm");
	vm_create(&kvm);
	irq = irq__create(kvm.vm_fd);
	TEST_ASSERT(irq, "irq__create");

	step("routes");
	/* KVM takes the table: defaults and an MSI route, in one push. */
	TEST_ASSERT(!irq__msi_route_alloc(irq, 0xfee00000, 0x4041, &gsi), "route");
	TEST_ASSERT(!irq__commit(irq), "KVM_SET_GSI_ROUTING refused our table");
	TEST_ASSERT(!irq__irqfd_attach(irq, TAG_MSI, gsi, IRQ_FD_NEW, IRQ_FD_NONE, true),
		    "masked MSI irqfd");
	TEST_ASSERT(!irq__irqfd_mask(irq, TAG_MSI, false) && !irq__irqfd_mask(irq, TAG_MSI, true),
		    "MSI irqfd unmasked and masked again");

	step("INTx irqfd");
	/* Level INTx: the trigger raises the pin, KVM has the resample fd. */
	TEST_ASSERT(!irq__irqfd_attach(irq, TAG_INTX, INTX_GSI, IRQ_FD_NEW, IRQ_FD_NEW, false),
		    "INTx irqfd with resample");
	TEST_ASSERT(!irq__irqfd_get(irq, TAG_INTX, &fd, &resample) && resample >= 0, "fds");
	TEST_ASSERT(!(ioapic_irr(&kvm) & (1u << INTX_GSI)), "pin %u raised early", INTX_GSI);
	TEST_ASSERT(eventfd_write(fd, 1) == 0, "trigger");
	wait_irr(&kvm, 1u << INTX_GSI, "INTx irqfd");

	step("ioeventfds");
	TEST_ASSERT(!irq__ioeventfd_add(irq, TAG_PIO, &pio, IRQ_FD_NEW), "PIO ioeventfd");
	TEST_ASSERT(!irq__ioeventfd_add(irq, TAG_MMIO, &mmio, IRQ_FD_NEW), "MMIO ioeventfd");
	TEST_ASSERT(irq__ioeventfd_add(irq, TAG_MMIO, &mmio, IRQ_FD_NEW) == -EEXIST, "twice");

	/* Saved and kept as a live upgrade does, with the VM paused. */
	state_buf__init(&b);
	state__put(&b, STATE_VM_INFO, 0, &info, sizeof(info));
	irq__save(irq, &b);
	state__put_end(&b);
	TEST_ASSERT(!b.err, "save");
	test_kept__init(&kept);
	irq__keep_fds(irq, &kept.k);

	/* The old image is gone, and its VM with its irqfds (rebuild, cloexec). */
	irq__destroy(irq);
	kvm__close(&kvm);

	step("a new VM");
	vm_create(&kvm2);
	irq2 = irq__create(kvm2.vm_fd);
	TEST_ASSERT(irq2 && !device_in__open(&in, b.data, b.len), "new image");
	in.take_fd = test_kept__take;
	in.opaque = &kept;
	TEST_ASSERT(!irq__load(irq2, &in), "irq__load");
	/* The device raises its line during the switch: no irqfd is assigned. */
	TEST_ASSERT(!irq__irqfd_get(irq2, TAG_INTX, &fd, NULL) && eventfd_write(fd, 1) == 0,
		    "trigger during the switch");
	test_sleep_ms(100);
	TEST_ASSERT(!(ioapic_irr(&kvm2) & (1u << INTX_GSI)), "raised before reattach");
	TEST_ASSERT(!irq__reattach(irq2), "irq__reattach into a new VM");
	wait_irr(&kvm2, 1u << INTX_GSI, "the write made during the switch");
	TEST_ASSERT(irq__nr_irqfds(irq2) == 2 && irq__nr_ioeventfds(irq2) == 2, "counts");

	step("undo");
	/* Everything can be undone in KVM: each was really assigned. */
	TEST_ASSERT(!irq__ioeventfd_del(irq2, TAG_PIO) && !irq__ioeventfd_del(irq2, TAG_MMIO),
		    "ioeventfds deassigned");
	TEST_ASSERT(!irq__irqfd_detach(irq2, TAG_INTX) && !irq__irqfd_detach(irq2, TAG_MSI),
		    "irqfds detached");
	TEST_ASSERT(!irq__msi_route_free(irq2, gsi) && !irq__commit(irq2), "route freed");

	device_in__close(&in);
	irq__destroy(irq2);
	kvm__close(&kvm2);
	test_kept__close(&kept);
	state_buf__free(&b);
	printf("ok: routes, irqfds and ioeventfds in KVM, and across a new VM\n");
	return 0;
}
