// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the split virtqueue (virtio/queue.c), which walks
 * descriptor chains the guest writes: untrusted input.  The input is the
 * guest's RAM (64 KiB, its first bytes also choosing the queue size and
 * the rings' addresses); the target enables the queue and pops until the
 * ring is empty or broken, reading and writing every chain it is given.
 * Every buffer handed out must lie inside guest RAM (checked here, and by
 * ASan: RAM is a buffer of its exact size), and the walk must end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/guest_mem.h"
#include "vmm/virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

#define FUZZ_RAM	0x10000
#define FUZZ_MAX_POPS	512

static void fuzz_check_chain(const struct guest_mem *mem, const struct virtq_chain *c)
{
	static uint8_t scratch[FUZZ_RAM];
	unsigned int i;

	for (i = 0; i < c->nr_out + c->nr_in; i++) {
		const struct virtq_buf *b = &c->bufs[i];

		if (b->hva < mem->hva || b->len > FUZZ_RAM ||
		    b->hva + b->len > mem->hva + FUZZ_RAM)
			abort();	/* a buffer outside guest RAM */
	}
	/* What a device does: read the request, write the answer. */
	virtq_chain__read(c, 0, scratch, sizeof(scratch));
	virtq_chain__write(c, 0, scratch, c->in_len < sizeof(scratch) ? c->in_len
								       : sizeof(scratch));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct guest_mem mem = { .memfd = -1, .size = FUZZ_RAM, .nr_regions = 1 };
	struct virtq vq = { 0 };
	struct virtq_chain c;
	char why[256];
	unsigned int pops;
	int ret;

	if (len < 8)
		return 0;
	mem.hva = calloc(1, FUZZ_RAM);
	if (!mem.hva)
		return 0;
	mem.regions[0] = (struct guest_mem_region){ 0, FUZZ_RAM, 0 };
	memcpy(mem.hva, data, len < FUZZ_RAM ? len : FUZZ_RAM);

	/* Sizes and ring addresses as a driver would program them. */
	vq.size = (uint16_t)(1u << (data[0] % 9));
	vq.desc_gpa = (uint64_t)(data[1] & 0x0f) << 12;
	vq.avail_gpa = ((uint64_t)(data[2] & 0x0f) << 12) + 2 * (data[3] & 1);
	vq.used_gpa = ((uint64_t)(data[4] & 0x0f) << 12) + 4 * (data[5] & 1);
	vq.last_avail = data[6];
	vq.used_idx = data[6];
	if (virtq__enable(&vq, &mem, why, sizeof(why)) == 0) {
		for (pops = 0; pops < FUZZ_MAX_POPS; pops++) {
			ret = virtq__pop(&vq, &c, why, sizeof(why));
			if (ret <= 0 && ret != -EBADMSG)
				break;	/* empty, or the device needs a reset */
			if (ret > 0)
				fuzz_check_chain(&mem, &c);
			virtq__push(&vq, c.head, 0);
			virtq__should_notify(&vq);
		}
	}
	free(mem.hva);
	return 0;
}
