// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net without KVM (virtio/net.c on the fake PCI bus of fake_pci.c):
 * --net parsing, the PCI identity, feature negotiation (what is offered,
 * a set with an unoffered feature refused), the config space (MAC, link
 * status, max queue pairs), and frames both ways through the rings with a
 * SOCK_SEQPACKET socket standing in for the tap: tx writes a chain to it,
 * rx reads a frame into a posted buffer, and a frame that arrives while
 * rx has no buffer waits for one (nothing dropped, nothing spun on).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "fake_pci.h"
#include "testlib.h"
#include "vmm/pci.h"
#include "vmm/virtio.h"
#include "vmm/vm.h"

#define RAM_SIZE	(1u << 20)
#define QSIZE		16
#define RXQ		0
#define TXQ		1
#define HDR		12
#define BUF_GPA		0x40000
#define BUF_LEN		2048

static struct vm *vm;
static struct virtio_net *net;
static u8 devfn;
static u64 bar0;
static int peer;		/* our end of the "tap" */
static u16 avail_idx[2];

static const u64 ring_gpa[2] = { 0x10000, 0x20000 };	/* desc; avail +0x1000, used +0x2000 */

static void *gpa(u64 a)
{
	return (u8 *)vm->mem.hva + a;
}

static struct vring_desc *desc(unsigned int q, unsigned int i)
{
	return (struct vring_desc *)gpa(ring_gpa[q]) + i;
}

static struct vring_avail *avail(unsigned int q)
{
	return gpa(ring_gpa[q] + 0x1000);
}

static struct vring_used *used(unsigned int q)
{
	return gpa(ring_gpa[q] + 0x2000);
}

static u32 bar_read(u64 off, unsigned int size)
{
	return fake_pci__mmio_read(bar0 + off, size);
}

static void bar_write(u64 off, unsigned int size, u32 v)
{
	fake_pci__mmio_write(bar0 + off, size, v);
}

static void test_parse(void)
{
	struct virtio_net_opts o;

	TEST_ASSERT(!virtio_net__parse("tap=cprtap0", 1, &o) && !strcmp(o.ifname, "cprtap0") &&
		    o.fd == -1 && o.mac[5] == 0x57, "tap=cprtap0: ifname %s fd %d mac[5] 0x%x",
		    o.ifname, o.fd, o.mac[5]);
	TEST_ASSERT(!virtio_net__parse("fd=7,mac=02:00:00:aa:bb:cc", 0, &o) && o.fd == 7 &&
		    o.mac[0] == 2 && o.mac[5] == 0xcc, "fd=7,mac=...: fd %d", o.fd);
	TEST_ASSERT(virtio_net__parse("tap=", 0, &o) == -EINVAL, "an empty tap name");
	TEST_ASSERT(virtio_net__parse("tap=a-name-far-too-long", 0, &o) == -EINVAL,
		    "a name longer than IFNAMSIZ");
	TEST_ASSERT(virtio_net__parse("fd=x", 0, &o) == -EINVAL, "fd=x");
	TEST_ASSERT(virtio_net__parse("fd=3,mac=01:00:00:00:00:01", 0, &o) == -EINVAL,
		    "a multicast MAC");
	TEST_ASSERT(virtio_net__parse("fd=3,mac=02:00:00:00:00", 0, &o) == -EINVAL,
		    "a short MAC");
	TEST_ASSERT(virtio_net__parse("tap=x,foo", 0, &o) == -EINVAL, "an unknown option");
	TEST_ASSERT(virtio_net__parse("user", 0, &o) == -EINVAL, "neither tap= nor fd=");
}

static void setup(void)
{
	int sv[2];

	vm = fake_pci__setup(RAM_SIZE);
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair");
	TEST_ASSERT(!fcntl(sv[0], F_SETFL, O_NONBLOCK), "O_NONBLOCK");
	peer = sv[1];
	net = virtio_net__create(vm, "fd=0,mac=02:00:00:aa:bb:cc", sv[0]);
	TEST_ASSERT(net, "virtio_net__create");
	devfn = virtio_net__pci(net)->fn.devfn;
	bar0 = fake_pci__enable_bar(devfn, 0);
}

static void test_identity(void)
{
	TEST_ASSERT(fake_pci__cfg_read(devfn, PCI_VENDOR_ID, 2) == 0x1af4 &&
		    fake_pci__cfg_read(devfn, PCI_DEVICE_ID, 2) == 0x1041,
		    "id %04x:%04x", fake_pci__cfg_read(devfn, PCI_VENDOR_ID, 2),
		    fake_pci__cfg_read(devfn, PCI_DEVICE_ID, 2));
	TEST_ASSERT(fake_pci__cfg_read(devfn, PCI_CLASS_REVISION, 4) >> 8 == 0x020000,
		    "class 0x%06x (network, Ethernet)",
		    fake_pci__cfg_read(devfn, PCI_CLASS_REVISION, 4) >> 8);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_NUMQ, 2) == 2, "num_queues %u (rx, tx)",
		    bar_read(VIRTIO_PCI_COMMON_NUMQ, 2));
}

static void test_negotiation(void)
{
	u8 acked = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	u32 want = 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS;

	bar_write(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_DF, 4) == want,
		    "features 0-31: 0x%x, want MAC and STATUS only (no offloads)",
		    bar_read(VIRTIO_PCI_COMMON_DF, 4));
	bar_write(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_DF, 4) == 1, "VERSION_1 not offered");

	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, acked);
	bar_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	bar_write(VIRTIO_PCI_COMMON_GF, 4, 1);
	bar_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	bar_write(VIRTIO_PCI_COMMON_GF, 4, want | 1u << VIRTIO_NET_F_MRG_RXBUF);
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, acked | VIRTIO_CONFIG_S_FEATURES_OK);
	TEST_ASSERT(!(bar_read(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK),
		    "MRG_RXBUF, which is not offered, accepted");
	bar_write(VIRTIO_PCI_COMMON_GF, 4, want);
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, acked | VIRTIO_CONFIG_S_FEATURES_OK);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK,
		    "MAC, STATUS and VERSION_1 refused");
}

static void test_config(void)
{
	const u8 mac[6] = { 0x02, 0, 0, 0xaa, 0xbb, 0xcc };
	unsigned int i;

	for (i = 0; i < 6; i++)
		TEST_ASSERT(bar_read(0x2000 + i, 1) == mac[i], "mac[%u] 0x%x", i,
			    bar_read(0x2000 + i, 1));
	TEST_ASSERT(bar_read(0x2000 + offsetof(struct virtio_net_config, status), 2) ==
		    VIRTIO_NET_S_LINK_UP, "status 0x%x, want the link up",
		    bar_read(0x2000 + offsetof(struct virtio_net_config, status), 2));
	TEST_ASSERT(bar_read(0x2000 + offsetof(struct virtio_net_config, max_virtqueue_pairs),
			     2) == 1, "max_virtqueue_pairs %u",
		    bar_read(0x2000 + offsetof(struct virtio_net_config, max_virtqueue_pairs),
			     2));
	bar_write(0x2000, 1, 0xfe);
	TEST_ASSERT(bar_read(0x2000, 1) == 0x02, "the MAC is writable");
}

static void set_queue(unsigned int q)
{
	bar_write(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	bar_write(VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
	bar_write(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (u32)ring_gpa[q]);
	bar_write(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (u32)ring_gpa[q] + 0x1000);
	bar_write(VIRTIO_PCI_COMMON_Q_USEDLO, 4, (u32)ring_gpa[q] + 0x2000);
	bar_write(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1 + q);
	bar_write(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	TEST_ASSERT(bar_read(VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 1, "queue %u not enabled", q);
}

/* Offer a one-buffer chain at descriptor @i on queue @q and ring its doorbell. */
static void offer(unsigned int q, u16 i, u64 addr, u32 len, bool writable)
{
	*desc(q, i) = (struct vring_desc){ .addr = addr, .len = len,
					   .flags = writable ? VRING_DESC_F_WRITE : 0 };
	avail(q)->ring[avail_idx[q] % QSIZE] = i;
	__atomic_store_n(&avail(q)->idx, ++avail_idx[q], __ATOMIC_RELEASE);
	bar_write(0x3000 + 4 * q, 2, q);
}

static void wait_used(unsigned int q, u16 idx)
{
	struct test_wait w;

	for (test_wait_start(&w); __atomic_load_n(&used(q)->idx, __ATOMIC_ACQUIRE) != idx; )
		TEST_ASSERT(test_wait_more(&w), "queue %u: used idx %u, want %u", q,
			    used(q)->idx, idx);
}

static void frame(u8 *buf, size_t len, u8 seed)
{
	size_t i;

	memset(buf, 0, HDR);
	for (i = HDR; i < len; i++)
		buf[i] = (u8)(seed + i);
}

static void test_tx(void)
{
	u8 want[HDR + 60], got[BUF_LEN];
	ssize_t n;

	frame(want, sizeof(want), 1);
	memcpy(gpa(BUF_GPA), want, sizeof(want));
	offer(TXQ, 0, BUF_GPA, sizeof(want), false);
	wait_used(TXQ, 1);
	n = recv(peer, got, sizeof(got), MSG_DONTWAIT);
	TEST_ASSERT(n == (ssize_t)sizeof(want) && !memcmp(got, want, sizeof(want)),
		    "tx: the tap got %zd bytes, want the %zu of the chain", n, sizeof(want));
	TEST_ASSERT(used(TXQ)->ring[0].id == 0, "tx: used id %u", used(TXQ)->ring[0].id);
}

static void check_rx(unsigned int slot, u64 buf, const u8 *want, size_t len)
{
	struct virtio_net_hdr_v1 *h = gpa(buf);

	TEST_ASSERT(used(RXQ)->ring[slot].len == len, "rx: used len %u, want %zu",
		    used(RXQ)->ring[slot].len, len);
	TEST_ASSERT(!memcmp((u8 *)gpa(buf) + HDR, want + HDR, len - HDR),
		    "rx: the frame in the guest's buffer differs from the one sent");
	TEST_ASSERT(h->num_buffers == 1, "rx: num_buffers %u, want 1", h->num_buffers);
}

static void test_rx(void)
{
	u8 f1[HDR + 100], f2[HDR + 1500];

	frame(f1, sizeof(f1), 7);
	TEST_ASSERT(send(peer, f1, sizeof(f1), 0) == (ssize_t)sizeof(f1), "send");
	offer(RXQ, 0, BUF_GPA + BUF_LEN, BUF_LEN, true);
	wait_used(RXQ, 1);
	check_rx(0, BUF_GPA + BUF_LEN, f1, sizeof(f1));

	/* No buffer: the frame waits in the "tap" until the driver posts one. */
	frame(f2, sizeof(f2), 9);
	TEST_ASSERT(send(peer, f2, sizeof(f2), 0) == (ssize_t)sizeof(f2), "send");
	test_sleep_ms(50);
	TEST_ASSERT(used(RXQ)->idx == 1, "rx: a frame completed with no buffer posted");
	offer(RXQ, 1, BUF_GPA + 2 * BUF_LEN, BUF_LEN, true);
	wait_used(RXQ, 2);
	check_rx(1, BUF_GPA + 2 * BUF_LEN, f2, sizeof(f2));
	TEST_ASSERT(used(RXQ)->ring[1].id == 1, "rx: used id %u", used(RXQ)->ring[1].id);
}

int main(void)
{
	test_parse();
	setup();
	test_identity();
	test_negotiation();
	test_config();
	set_queue(RXQ);
	set_queue(TXQ);
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
		  VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		  VIRTIO_CONFIG_S_DRIVER_OK);
	test_tx();
	test_rx();
	virtio_net__destroy(vm, net);
	close(peer);
	fake_pci__teardown();
	printf("unit_virtio_net: ok\n");
	return 0;
}
