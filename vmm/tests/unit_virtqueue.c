// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues and feature negotiation without KVM (virtio/queue.c):
 * a ring in a fake guest RAM, chains built by hand, good and malformed
 * (a loop, a buffer out of RAM or across its end, zero length, too many
 * descriptors, next out of range, readable after writable, indirect), a
 * ring whose indices are out of range, the used ring and notification,
 * and what a status write does with the features the driver chose.
 */
#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "testlib.h"
#include "vmm/guest_mem.h"
#include "vmm/virtio.h"

#define RAM_SIZE	(1u << 20)
#define QSIZE		16
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define DATA_GPA	0x10000

static struct guest_mem mem;
static struct virtq vq;
static struct virtq_chain chain;
static char why[256];

static void *gpa(u64 a)
{
	return mem.hva + a;
}

static struct vring_desc *desc(unsigned int i)
{
	return (struct vring_desc *)gpa(DESC_GPA) + i;
}

static struct vring_avail *avail(void)
{
	return gpa(AVAIL_GPA);
}

static struct vring_used *used(void)
{
	return gpa(USED_GPA);
}

static void set_desc(unsigned int i, u64 addr, u32 len, u16 flags, u16 next)
{
	*desc(i) = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

/* Offer chain @head to the device. */
static void offer(u16 head)
{
	avail()->ring[avail()->idx % QSIZE] = head;
	avail()->idx++;
}

static void setup(void)
{
	memset(mem.hva, 0, RAM_SIZE);
	virtq__reset(&vq);
	vq.size = QSIZE;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	TEST_ASSERT(!virtq__enable(&vq, &mem, why, sizeof(why)), "enable: %s", why);
}

static int pop(void)
{
	why[0] = 0;
	return virtq__pop(&vq, &chain, why, sizeof(why));
}

static void test_enable(void)
{
	virtq__reset(&vq);
	vq.size = 12;
	TEST_ASSERT(virtq__enable(&vq, &mem, why, sizeof(why)) == -EINVAL,
		    "size 12 (not a power of two) accepted");
	vq.size = 512;
	TEST_ASSERT(virtq__enable(&vq, &mem, why, sizeof(why)) == -EINVAL,
		    "size 512 (more than offered) accepted");
	vq.size = QSIZE;
	vq.desc_gpa = DESC_GPA + 8;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	TEST_ASSERT(virtq__enable(&vq, &mem, why, sizeof(why)) == -EINVAL && !vq.ready,
		    "misaligned descriptor table accepted");
	vq.desc_gpa = DESC_GPA;
	vq.used_gpa = RAM_SIZE - 8;
	TEST_ASSERT(virtq__enable(&vq, &mem, why, sizeof(why)) == -EINVAL && !vq.ready,
		    "used ring across the end of RAM accepted");
	TEST_ASSERT(strstr(why, "used ring"), "the reason names the ring: %s", why);
	vq.used_gpa = USED_GPA;
	TEST_ASSERT(!virtq__enable(&vq, &mem, why, sizeof(why)) && vq.ready, "enable: %s", why);
}

/* A blk-like request: header out, data in, status in. */
static void test_good_chain(void)
{
	u8 hdr[16], status = 0;

	setup();
	TEST_ASSERT(pop() == 0, "an empty ring gave a chain");
	memset(gpa(DATA_GPA), 0xab, 16);
	set_desc(3, DATA_GPA, 16, VRING_DESC_F_NEXT, 7);
	set_desc(7, DATA_GPA + 0x1000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(1, DATA_GPA + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	offer(3);
	TEST_ASSERT(pop() == 1, "a good chain: %s", why);
	TEST_ASSERT(chain.head == 3 && chain.nr_out == 1 && chain.nr_in == 2 &&
		    chain.in_len == 513, "head %u out %u in %u in_len %llu", chain.head,
		    chain.nr_out, chain.nr_in, (unsigned long long)chain.in_len);
	TEST_ASSERT(virtq_chain__read(&chain, 0, hdr, sizeof(hdr)) == 16 && hdr[15] == 0xab,
		    "reading the header");
	status = 7;
	TEST_ASSERT(virtq_chain__write(&chain, 512, &status, 1) == 1 &&
		    *(u8 *)gpa(DATA_GPA + 0x2000) == 7, "the status byte lands in the last buffer");
	TEST_ASSERT(virtq_chain__write(&chain, 513, &status, 1) == 0, "wrote past the chain");
	TEST_ASSERT(pop() == 0, "one chain offered, two taken");

	virtq__push(&vq, 3, 513);
	TEST_ASSERT(used()->idx == 1 && used()->ring[0].id == 3 && used()->ring[0].len == 513,
		    "used idx %u id %u len %u", used()->idx, used()->ring[0].id,
		    used()->ring[0].len);
	TEST_ASSERT(virtq__should_notify(&vq), "no notification wanted without the flag");
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	TEST_ASSERT(!virtq__should_notify(&vq), "notified despite NO_INTERRUPT");
}

/* Indices wrap at 2^16, not at the queue size. */
static void test_wrap(void)
{
	unsigned int i;

	setup();
	avail()->idx = 0xfffe;
	vq.last_avail = 0xfffe;
	vq.used_idx = 0xfffe;
	used()->idx = 0xfffe;
	set_desc(0, DATA_GPA, 8, 0, 0);
	for (i = 0; i < 4; i++)
		offer(0);
	for (i = 0; i < 4; i++) {
		TEST_ASSERT(pop() == 1, "chain %u across the wrap: %s", i, why);
		virtq__push(&vq, chain.head, 0);
	}
	TEST_ASSERT(pop() == 0 && vq.last_avail == 2 && used()->idx == 2,
		    "last_avail %u used idx %u", vq.last_avail, used()->idx);
}

static void expect_bad(const char *what, const char *reason)
{
	int ret = pop();

	TEST_ASSERT(ret == -EBADMSG, "%s: pop returned %d (%s)", what, ret, why);
	TEST_ASSERT(strstr(why, reason), "%s: the reason \"%s\" lacks \"%s\"", what, why,
		    reason);
	TEST_ASSERT(chain.head < QSIZE, "%s: head %u to fail is out of range", what,
		    chain.head);
	/* The bad chain was taken: the next one is served. */
	set_desc(15, DATA_GPA, 4, 0, 0);
	offer(15);
	TEST_ASSERT(pop() == 1 && chain.head == 15, "after %s the next chain is not served: %s",
		    what, why);
}

static void test_malformed(void)
{
	unsigned int i;

	setup();
	set_desc(0, DATA_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(1, DATA_GPA, 8, VRING_DESC_F_NEXT, 0);
	offer(0);
	expect_bad("a loop of two", "descriptors");

	set_desc(2, DATA_GPA, 8, VRING_DESC_F_NEXT, 2);
	offer(2);
	expect_bad("a descriptor pointing at itself", "descriptors");

	set_desc(0, RAM_SIZE - 4, 8, 0, 0);
	offer(0);
	expect_bad("a buffer across the end of RAM", "not in RAM");

	set_desc(0, 0xfffffffffffff000ull, 0x2000, 0, 0);
	offer(0);
	expect_bad("a buffer whose end overflows", "not in RAM");

	set_desc(0, DATA_GPA, 0, 0, 0);
	offer(0);
	expect_bad("a zero-length buffer", "length 0");

	set_desc(0, DATA_GPA, 8, VRING_DESC_F_NEXT, QSIZE);
	offer(0);
	expect_bad("next out of range", "out of range");

	set_desc(0, DATA_GPA, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(1, DATA_GPA, 8, 0, 0);
	offer(0);
	expect_bad("readable after writable", "readable after");

	set_desc(0, DATA_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	expect_bad("an indirect descriptor", "indirect");

	/* All QSIZE descriptors in one chain, no loop: the most a ring can hold. */
	for (i = 0; i < QSIZE; i++)
		set_desc(i, DATA_GPA, 1, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	offer(0);
	TEST_ASSERT(pop() == 1 && chain.nr_out == QSIZE, "a full-ring chain: %s", why);
}

/* More descriptors than VIRTQ_MAX_CHAIN in a ring big enough to hold them. */
static void test_too_long(void)
{
	unsigned int i, n = VIRTQ_MAX_SIZE;

	setup();
	virtq__reset(&vq);
	vq.size = n;
	vq.desc_gpa = 0x40000;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	TEST_ASSERT(!virtq__enable(&vq, &mem, why, sizeof(why)), "enable: %s", why);
	for (i = 0; i < n; i++)
		((struct vring_desc *)gpa(0x40000))[i] = (struct vring_desc){
			.addr = DATA_GPA, .len = 1, .flags = VRING_DESC_F_NEXT, .next = i + 1 };
	((struct vring_desc *)gpa(0x40000))[n - 1].flags = 0;
	avail()->ring[0] = 0;
	avail()->idx = 1;
	TEST_ASSERT(pop() == -EBADMSG && strstr(why, "more than"),
		    "a chain of %u descriptors (limit %u): %s", n, VIRTQ_MAX_CHAIN, why);
}

static void test_broken_ring(void)
{
	setup();
	avail()->ring[0] = QSIZE;
	avail()->idx = 1;
	TEST_ASSERT(pop() == -EIO && vq.last_avail == 0, "a head out of range: %s", why);

	setup();
	avail()->idx = QSIZE + 1;
	TEST_ASSERT(pop() == -EIO && vq.last_avail == 0, "avail idx a ring ahead: %s", why);
}

static void test_features(void)
{
	struct virtio_dev_status s = {
		.host_features = (1ull << VIRTIO_F_VERSION_1) | (1ull << 5),
	};
	u8 acked = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	TEST_ASSERT(virtio__read_features(&s, 1, true) == 1, "VERSION_1 is offered in word 1");
	TEST_ASSERT(virtio__read_features(&s, 2, true) == 0, "word 2 is not zero");
	virtio__set_status(&s, acked);
	/* Legacy: no VERSION_1. */
	virtio__write_features(&s, 0, 1u << 5);
	TEST_ASSERT(!(virtio__set_status(&s, acked | VIRTIO_CONFIG_S_FEATURES_OK) &
		      VIRTIO_CONFIG_S_FEATURES_OK), "features without VERSION_1 accepted");
	/* Something not offered. */
	virtio__write_features(&s, 0, 1u << 6);
	virtio__write_features(&s, 1, 1);
	TEST_ASSERT(!(virtio__set_status(&s, acked | VIRTIO_CONFIG_S_FEATURES_OK) &
		      VIRTIO_CONFIG_S_FEATURES_OK), "a feature not offered accepted");
	virtio__write_features(&s, 0, 1u << 5);
	TEST_ASSERT(virtio__set_status(&s, acked | VIRTIO_CONFIG_S_FEATURES_OK) &
		    VIRTIO_CONFIG_S_FEATURES_OK, "good features refused");
	/* Frozen once accepted. */
	virtio__write_features(&s, 0, 0);
	TEST_ASSERT(s.guest_features == ((1ull << VIRTIO_F_VERSION_1) | (1ull << 5)),
		    "features changed after FEATURES_OK: 0x%llx",
		    (unsigned long long)s.guest_features);
	TEST_ASSERT(virtio__set_status(&s, VIRTIO_CONFIG_S_DRIVER_OK) ==
		    (acked | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK),
		    "status bits are not kept");
	TEST_ASSERT(virtio__set_status(&s, 0) == 0 && !s.guest_features, "reset");
}

int main(void)
{
	mem.hva = calloc(1, RAM_SIZE);
	TEST_ASSERT(mem.hva, "no memory");
	mem.size = RAM_SIZE;
	mem.nr_regions = 1;
	mem.regions[0] = (struct guest_mem_region){ .gpa = 0, .size = RAM_SIZE };

	test_enable();
	test_good_chain();
	test_wrap();
	test_malformed();
	test_too_long();
	test_broken_ring();
	test_features();
	free(mem.hva);
	printf("unit_virtqueue: ok\n");
	return 0;
}
