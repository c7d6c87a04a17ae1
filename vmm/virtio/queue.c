// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues (virtio 1.x, 2.7) and feature negotiation: pure logic
 * on guest memory, no KVM, so the unit tests feed it any ring they like.
 *
 * The guest may change a ring while we read it, so every value is read
 * once into a local and checked there: an index, a descriptor's address,
 * length, flags and next.  Memory order: the driver publishes ring entries
 * before avail->idx, so idx is read with acquire; the device publishes
 * used entries before used->idx, so idx is written with release, and the
 * driver's flags are read after a full fence (2.7.7.2).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "vmm/guest_mem.h"
#include "vmm/virtio.h"

static void *virtq__map(const struct virtq *vq, const struct guest_mem *mem, u64 gpa,
			u64 len, u64 align, const char *what, char *why, size_t why_len)
{
	void *p;

	if (gpa % align) {
		snprintf(why, why_len, "%s at 0x%llx is not %llu-byte aligned", what,
			 (unsigned long long)gpa, (unsigned long long)align);
		return NULL;
	}
	p = guest_mem__gpa_to_hva(mem, gpa, len);
	if (!p)
		snprintf(why, why_len, "%s at 0x%llx (%llu bytes, queue size %u) is not in RAM",
			 what, (unsigned long long)gpa, (unsigned long long)len, vq->size);
	return p;
}

int virtq__enable(struct virtq *vq, const struct guest_mem *mem, char *why, size_t len)
{
	u64 n = vq->size;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1))) {
		snprintf(why, len, "queue size %u is not a power of two up to %u", vq->size,
			 VIRTQ_MAX_SIZE);
		return -EINVAL;
	}
	/* The event idx words are included: they are part of the ring's area. */
	vq->desc = virtq__map(vq, mem, vq->desc_gpa, 16 * n, 16, "descriptor table", why, len);
	if (vq->desc)
		vq->avail = virtq__map(vq, mem, vq->avail_gpa, 6 + 2 * n, 2, "avail ring", why,
				       len);
	if (vq->desc && vq->avail)
		vq->used = virtq__map(vq, mem, vq->used_gpa, 6 + 8 * n, 4, "used ring", why, len);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EINVAL;
	}
	vq->mem = mem;
	vq->ready = true;
	return 0;
}

void virtq__reset(struct virtq *vq)
{
	*vq = (struct virtq){ .size = VIRTQ_MAX_SIZE, .msix_vector = VIRTIO_MSI_NO_VECTOR };
}

static int virtq__bad(struct virtq_chain *c, char *why, size_t len, const char *fmt,
		      unsigned int i, const struct vring_desc *d)
{
	char what[96];

	snprintf(what, sizeof(what), fmt, i);
	snprintf(why, len, "chain at head %u: %s (addr 0x%llx len %u flags 0x%x)", c->head,
		 what, (unsigned long long)d->addr, d->len, d->flags);
	return -EBADMSG;
}

/* Walk the chain from @c->head, checking every descriptor. */
static int virtq__walk(struct virtq *vq, struct virtq_chain *c, char *why, size_t len)
{
	struct vring_desc d;
	unsigned int n = 0;
	u16 i = c->head;
	void *p;

	c->nr_out = 0;
	c->nr_in = 0;
	c->in_len = 0;
	for (;;) {
		/* One read of the descriptor: the guest may be rewriting it. */
		memcpy(&d, (void *)&vq->desc[i], sizeof(d));
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (n == VIRTQ_MAX_CHAIN || n == vq->size)
			return virtq__bad(c, why, len, "more than %u descriptors (a loop?)",
					  MIN(VIRTQ_MAX_CHAIN, vq->size), &d);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return virtq__bad(c, why, len, "descriptor %u is indirect (not offered)",
					  i, &d);
		if (!d.len)
			return virtq__bad(c, why, len, "descriptor %u has length 0", i, &d);
		p = guest_mem__gpa_to_hva(vq->mem, d.addr, d.len);
		if (!p)
			return virtq__bad(c, why, len, "descriptor %u is not in RAM", i, &d);
		if (d.flags & VRING_DESC_F_WRITE) {
			c->nr_in++;
			c->in_len += d.len;
		} else if (c->nr_in) {
			return virtq__bad(c, why, len,
					  "descriptor %u is readable after a writable one", i, &d);
		} else {
			c->nr_out++;
		}
		c->bufs[n++] = (struct virtq_buf){ .hva = p, .len = d.len };
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return virtq__bad(c, why, len, "descriptor %u: next is out of range", i,
					  &d);
		i = d.next;
	}
}

int virtq__pop(struct virtq *vq, struct virtq_chain *c, char *why, size_t len)
{
	u16 avail_idx, head;
	int ret;

	if (!vq->ready)
		return 0;
	avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((u16)(avail_idx - vq->last_avail) > vq->size) {
		snprintf(why, len, "avail idx %u is more than %u ahead of %u", avail_idx,
			 vq->size, vq->last_avail);
		return -EIO;
	}
	head = __atomic_load_n(&vq->avail->ring[vq->last_avail % vq->size], __ATOMIC_RELAXED);
	if (head >= vq->size) {
		snprintf(why, len, "avail ring entry %u: head %u is out of range",
			 vq->last_avail % vq->size, head);
		return -EIO;
	}
	vq->last_avail++;
	c->head = head;
	ret = virtq__walk(vq, c, why, len);
	return ret ? ret : 1;
}

void virtq__unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void virtq__push(struct virtq *vq, u16 head, u32 len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->size];

	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	vq->used_idx++;
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq__should_notify(struct virtq *vq)
{
	/* The used idx store before the flags load (2.7.7.2). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

static size_t virtq_chain__copy(const struct virtq_chain *c, bool in, u64 off, u8 *buf,
				size_t len)
{
	unsigned int i = in ? c->nr_out : 0, end = in ? c->nr_out + c->nr_in : c->nr_out;
	size_t done = 0, n;

	for (; i < end && done < len; i++) {
		if (off >= c->bufs[i].len) {
			off -= c->bufs[i].len;
			continue;
		}
		n = MIN(len - done, c->bufs[i].len - off);
		if (in)
			memcpy(c->bufs[i].hva + off, buf + done, n);
		else
			memcpy(buf + done, c->bufs[i].hva + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain__read(const struct virtq_chain *c, u64 off, void *buf, size_t len)
{
	return virtq_chain__copy(c, false, off, buf, len);
}

size_t virtq_chain__write(const struct virtq_chain *c, u64 off, const void *buf, size_t len)
{
	return virtq_chain__copy(c, true, off, (u8 *)buf, len);
}

bool virtio__features_writable(const struct virtio_dev_status *s)
{
	return !(s->status & VIRTIO_CONFIG_S_FEATURES_OK);
}

void virtio__write_features(struct virtio_dev_status *s, unsigned int sel, u32 val)
{
	if (sel > 1 || !virtio__features_writable(s))
		return;
	s->guest_features &= ~(0xffffffffull << (32 * sel));
	s->guest_features |= (u64)val << (32 * sel);
}

u32 virtio__read_features(const struct virtio_dev_status *s, unsigned int sel, bool host)
{
	if (sel > 1)
		return 0;
	return (u32)((host ? s->host_features : s->guest_features) >> (32 * sel));
}

/* The driver's features are acceptable: offered ones only, and modern. */
static bool virtio__features_ok(const struct virtio_dev_status *s)
{
	return !(s->guest_features & ~s->host_features) &&
	       (s->guest_features & (1ull << VIRTIO_F_VERSION_1));
}

u8 virtio__set_status(struct virtio_dev_status *s, u8 val)
{
	if (!val) {
		/* A reset: the transport resets the queues too. */
		s->status = 0;
		s->guest_features = 0;
		return 0;
	}
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(s->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !virtio__features_ok(s))
		val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	/* Status bits are only ever added until a reset (2.1.2). */
	s->status |= val;
	return s->status;
}
