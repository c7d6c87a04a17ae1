// SPDX-License-Identifier: GPL-2.0
/*
 * Encoding and strict decoding of state records (format: state.h).
 * Pure data handling: no KVM, no I/O, so it is unit-tested with hostile
 * input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "vmm/devices.h"
#include "vmm/state.h"

#define STATE_ALIGN	8

struct state_type_info {
	u16 type;
	const char *name;
	u32 size;		/* exact payload size, or 0: checked by @check */
	bool indexed;		/* @id is a vCPU or other index; else 0 */
	int (*check)(const struct state_rec *rec);
};

static int state__check_msrs(const struct state_rec *rec)
{
	struct kvm_msrs msrs;

	if (rec->len < sizeof(msrs))
		return -1;
	memcpy(&msrs, rec->payload, sizeof(msrs));
	if (msrs.nmsrs > (STATE_MAX_PAYLOAD - sizeof(msrs)) / sizeof(msrs.entries[0]))
		return -1;
	return rec->len == sizeof(msrs) + msrs.nmsrs * sizeof(msrs.entries[0]) ? 0 : -1;
}

static int state__check_xsave(const struct state_rec *rec)
{
	/* 4 KiB legacy layout, or the larger XSAVE2 size in 4-byte words. */
	return rec->len >= sizeof(struct kvm_xsave) && rec->len % 4 == 0 ? 0 : -1;
}

/* NUL-separated strings: the last byte must end the last string. */
static int state__check_strings(const struct state_rec *rec)
{
	return rec->len && rec->len <= 65536 &&
	       ((const char *)rec->payload)[rec->len - 1] == '\0' ? 0 : -1;
}

static int state__check_request(const struct state_rec *rec)
{
	return rec->len && rec->len <= 4096 ? 0 : -1;
}

static int state__check_client_buf(const struct state_rec *rec)
{
	return rec->len <= 4096 ? 0 : -1;
}

static int state__check_irq_routes(const struct state_rec *rec)
{
	return rec->len % sizeof(struct state_irq_route) == 0 &&
	       rec->len / sizeof(struct state_irq_route) <= 4096 ? 0 : -1;
}

static int state__check_pci_fn(const struct state_rec *rec)
{
	struct state_pci_fn fn;

	if (rec->len < sizeof(fn))
		return -1;
	memcpy(&fn, rec->payload, sizeof(fn));
	if (fn.nr_msix > 2048)
		return -1;
	return rec->len == sizeof(fn) + fn.nr_msix * sizeof(fn.msix[0]) ? 0 : -1;
}

static const struct state_type_info state_types[] = {
	{ STATE_END, "end", 0, false, NULL },
	{ STATE_VM_INFO, "vm-info", sizeof(struct state_vm_info), false, NULL },
	{ STATE_MEM_LAYOUT, "mem-layout", sizeof(struct state_mem_layout), false, NULL },
	{ STATE_VCPU_REGS, "vcpu-regs", sizeof(struct kvm_regs), true, NULL },
	{ STATE_VCPU_SREGS, "vcpu-sregs", sizeof(struct kvm_sregs), true, NULL },
	{ STATE_VCPU_FPU, "vcpu-fpu", sizeof(struct kvm_fpu), true, NULL },
	{ STATE_VCPU_XSAVE, "vcpu-xsave", 0, true, state__check_xsave },
	{ STATE_VCPU_XCRS, "vcpu-xcrs", sizeof(struct kvm_xcrs), true, NULL },
	{ STATE_VCPU_MSRS, "vcpu-msrs", 0, true, state__check_msrs },
	{ STATE_VCPU_LAPIC, "vcpu-lapic", sizeof(struct kvm_lapic_state), true, NULL },
	{ STATE_VCPU_EVENTS, "vcpu-events", sizeof(struct kvm_vcpu_events), true, NULL },
	{ STATE_VCPU_DEBUGREGS, "vcpu-debugregs", sizeof(struct kvm_debugregs), true, NULL },
	{ STATE_VCPU_MP_STATE, "vcpu-mp-state", sizeof(struct kvm_mp_state), true, NULL },
	{ STATE_PIC_MASTER, "pic-master", sizeof(struct kvm_irqchip), false, NULL },
	{ STATE_PIC_SLAVE, "pic-slave", sizeof(struct kvm_irqchip), false, NULL },
	{ STATE_IOAPIC, "ioapic", sizeof(struct kvm_irqchip), false, NULL },
	{ STATE_PIT2, "pit2", sizeof(struct kvm_pit_state2), false, NULL },
	{ STATE_CLOCK, "clock", sizeof(struct kvm_clock_data), false, NULL },
	{ STATE_DEV_SERIAL, "dev-serial8250", sizeof(struct serial8250_state), false, NULL },
	{ STATE_DEV_RTC, "dev-rtc", sizeof(struct rtc_state), false, NULL },
	{ STATE_DEV_BUILTIN, "dev-builtin-guest", sizeof(struct state_builtin), false, NULL },
	{ STATE_DEV_IRQ_ROUTES, "dev-irq-routes", 0, false, state__check_irq_routes },
	{ STATE_DEV_IRQFD, "dev-irqfd", sizeof(struct state_irqfd), true, NULL },
	{ STATE_DEV_IOEVENTFD, "dev-ioeventfd", sizeof(struct state_ioeventfd), true, NULL },
	{ STATE_DEV_PCI_FN, "dev-pci-fn", 0, true, state__check_pci_fn },
	{ STATE_DEV_PCI_BUS, "dev-pci-bus", sizeof(struct state_pci_bus), false, NULL },
	{ STATE_DEV_VFIO, "dev-vfio", sizeof(struct state_vfio), false, NULL },
	{ STATE_DEV_VIRTIO_BLK, "dev-virtio-blk", sizeof(struct state_virtio_blk), true, NULL },
	{ STATE_DEV_VIRTIO_NET, "dev-virtio-net", sizeof(struct state_virtio_net), true, NULL },
	{ STATE_UPG_INFO, "upgrade-info", sizeof(struct state_upgrade_info), false, NULL },
	{ STATE_UPG_ARGV, "upgrade-argv", 0, false, state__check_strings },
	{ STATE_UPG_REQUEST, "upgrade-request", 0, false, state__check_request },
	{ STATE_UPG_FD, "upgrade-fd", sizeof(struct state_upgrade_fd), true, NULL },
	{ STATE_UPG_CLIENT_BUF, "upgrade-client-buf", 0, true, state__check_client_buf },
};

static const struct state_type_info *state__type_info(u16 type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(state_types); i++)
		if (state_types[i].type == type)
			return &state_types[i];
	return NULL;
}

const char *state__type_name(u16 type)
{
	const struct state_type_info *t = state__type_info(type);

	return t ? t->name : "unknown";
}

void state_buf__init(struct state_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void state_buf__free(struct state_buf *b)
{
	free(b->data);
	state_buf__init(b);
}

int state_buf__reserve(struct state_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	u8 *p;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

void *state__put_space(struct state_buf *b, u16 type, u32 id, u32 len)
{
	struct state_rec_hdr hdr = {
		.magic = STATE_MAGIC, .version = STATE_VERSION,
		.type = type, .id = id, .len = len,
	};
	size_t padded = ALIGN_UP((size_t)len, STATE_ALIGN);
	u8 *payload;

	if (b->err)
		return NULL;
	if (len > STATE_MAX_PAYLOAD) {
		b->err = -E2BIG;
		return NULL;
	}
	if (state_buf__reserve(b, sizeof(hdr) + padded)) {
		b->err = -ENOMEM;
		return NULL;
	}
	memcpy(b->data + b->len, &hdr, sizeof(hdr));
	payload = b->data + b->len + sizeof(hdr);
	memset(payload, 0, padded);
	b->len += sizeof(hdr) + padded;
	return payload;
}

void state__put(struct state_buf *b, u16 type, u32 id, const void *payload, u32 len)
{
	void *p = state__put_space(b, type, id, len);

	if (p && len)
		memcpy(p, payload, len);
}

void state__put_end(struct state_buf *b)
{
	state__put(b, STATE_END, 0, NULL, 0);
}

void state_cursor__init(struct state_cursor *c, const void *data, size_t len)
{
	c->data = data;
	c->len = len;
	c->off = 0;
	c->done = false;
}

#define state__fail(err, errlen, ...) \
	({ snprintf(err, errlen, __VA_ARGS__); -EINVAL; })

int state__next(struct state_cursor *c, struct state_rec *rec, char *err, size_t errlen)
{
	const struct state_type_info *t;
	struct state_rec_hdr hdr;
	size_t left, padded;

	if (c->done)
		return 0;
	left = c->len - c->off;
	if (left < sizeof(hdr))
		return state__fail(err, errlen, "truncated: %zu bytes where a record header was expected at offset %zu",
				   left, c->off);
	memcpy(&hdr, c->data + c->off, sizeof(hdr));
	if (hdr.magic != STATE_MAGIC)
		return state__fail(err, errlen, "bad record magic %#x at offset %zu",
				   hdr.magic, c->off);
	if (hdr.version != STATE_VERSION)
		return state__fail(err, errlen, "record version %u at offset %zu, this VMM reads version %u",
				   hdr.version, c->off, STATE_VERSION);
	t = state__type_info(hdr.type);
	if (!t)
		return state__fail(err, errlen, "unknown record type %u at offset %zu",
				   hdr.type, c->off);
	if (hdr.len > STATE_MAX_PAYLOAD)
		return state__fail(err, errlen, "%s record claims %u bytes", t->name, hdr.len);
	padded = ALIGN_UP((size_t)hdr.len, STATE_ALIGN);
	if (padded > left - sizeof(hdr))
		return state__fail(err, errlen, "truncated %s record at offset %zu: %u bytes claimed, %zu present",
				   t->name, c->off, hdr.len, left - sizeof(hdr));
	if (!t->indexed && hdr.id != 0)
		return state__fail(err, errlen, "%s record with id %u (must be 0)", t->name, hdr.id);

	rec->type = hdr.type;
	rec->id = hdr.id;
	rec->len = hdr.len;
	rec->payload = c->data + c->off + sizeof(hdr);
	if (t->size ? hdr.len != t->size : (t->check ? t->check(rec) : hdr.len != 0))
		return state__fail(err, errlen, "%s record has a bad size (%u bytes)",
				   t->name, hdr.len);
	c->off += sizeof(hdr) + padded;
	if (hdr.type == STATE_END) {
		if (c->off != c->len)
			return state__fail(err, errlen, "%zu bytes after the end record",
					   c->len - c->off);
		c->done = true;
		return 0;
	}
	return 1;
}

static int state_index__add(struct state_index *ix, unsigned int *cap,
			   const struct state_rec *rec)
{
	struct state_rec *p;

	if (ix->nr == *cap) {
		p = reallocarray(ix->recs, *cap ? 2 * *cap : 64, sizeof(*p));
		if (!p)
			return -ENOMEM;
		ix->recs = p;
		*cap = *cap ? 2 * *cap : 64;
	}
	ix->recs[ix->nr++] = *rec;
	return 0;
}

/* One walk over a whole stream; every record into @ix if it is not NULL. */
static int state__walk(const void *data, size_t len, struct state_index *ix,
		       char *err, size_t errlen)
{
	struct state_cursor c;
	struct state_rec rec;
	unsigned int cap = 0;
	int ret, n = 0;

	state_cursor__init(&c, data, len);
	while ((ret = state__next(&c, &rec, err, errlen)) > 0) {
		if (n++ == 0 && rec.type != STATE_VM_INFO)
			return state__fail(err, errlen, "stream starts with %s, not vm-info",
					   state__type_name(rec.type));
		if (ix && state_index__add(ix, &cap, &rec)) {
			snprintf(err, errlen, "out of memory indexing %d records", n);
			return -ENOMEM;
		}
	}
	if (ret == 0 && n == 0)
		return state__fail(err, errlen, "empty stream");
	return ret;
}

int state__validate(const void *data, size_t len, char *err, size_t errlen)
{
	return state__walk(data, len, NULL, err, errlen);
}

static int state_index__cmp(const void *a, const void *b)
{
	const struct state_rec *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * No writer puts a type and id twice; a stream that does (found by
 * fuzz-state-records) would restore whichever copy the unstable sort put
 * where bsearch() looks: refuse it.  @ix is sorted.
 */
static int state_index__check_unique(struct state_index *ix, char *err, size_t errlen)
{
	const struct state_rec *r;
	unsigned int i;

	for (i = 1; i < ix->nr; i++) {
		r = &ix->recs[i];
		if (!state_index__cmp(r - 1, r)) {
			snprintf(err, errlen, "%s record with id %u twice",
				 state__type_name(r->type), r->id);
			state_index__free(ix);
			return -EINVAL;
		}
	}
	return 0;
}

int state_index__build(struct state_index *ix, const void *data, size_t len,
		       char *err, size_t errlen)
{
	int ret;

	memset(ix, 0, sizeof(*ix));
	ret = state__walk(data, len, ix, err, errlen);
	if (ret) {
		state_index__free(ix);
		return ret;
	}
	/* Sorted, so that a lookup per vCPU record stays cheap at 64 vCPUs. */
	qsort(ix->recs, ix->nr, sizeof(*ix->recs), state_index__cmp);
	return state_index__check_unique(ix, err, errlen);
}

void state_index__free(struct state_index *ix)
{
	free(ix->recs);
	ix->recs = NULL;
	ix->nr = 0;
}

const struct state_rec *state_index__find(const struct state_index *ix, u16 type, u32 id)
{
	struct state_rec key = { .type = type, .id = id };

	if (!ix->nr)
		return NULL;
	return bsearch(&key, ix->recs, ix->nr, sizeof(*ix->recs), state_index__cmp);
}
