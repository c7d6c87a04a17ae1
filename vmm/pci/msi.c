// SPDX-License-Identifier: GPL-2.0
/*
 * MSI and MSI-X capability emulation.  Each vector the guest enables is
 * an MSI route (its address/data) and an irqfd on an eventfd of the irq
 * routing; masking a vector deassigns its irqfd, so a write meanwhile
 * stays pending in the eventfd (its PBA bit) and is delivered at unmask.
 *
 * A change set (a config write, an MSI-X table write) is applied in two
 * steps: every route first, pushed with one KVM_SET_GSI_ROUTING, then the
 * irqfds, so an irqfd is never assigned before its route exists.  All
 * under the function's msi_lock (pci.h for the lock order).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/irq.h"
#include "vmm/state.h"
#include "pci_internal.h"

#define PCI_MSI_CAP_LEN		24u	/* 64-bit, per-vector masking */
#define PCI_MSIX_CAP_LEN	12u
#define PCI_MSI_MAX_VECTORS	32
#define PCI_MSIX_MAX_VECTORS	2048
/* irqfd tags: MSI-X vector n is n, MSI vector n is past MSI-X's. */
#define PCI_MSI_TAG_BASE	PCI_MSIX_MAX_VECTORS

struct pci_vec {
	bool on;		/* its route and irqfd exist */
	bool masked;
	u64 addr;
	u32 data;
	u32 gsi;
};

struct pci_msi {
	u8 cap;
	bool is64;
	bool maskable;
	unsigned int nr;
	struct pci_vec vec[PCI_MSI_MAX_VECTORS];
};

struct pci_msix {
	u8 cap;
	unsigned int nr;
	unsigned int table_bar, pba_bar;
	u32 table_off, pba_off;
	u8 *table;		/* the guest's table, nr entries of 16 bytes */
	struct pci_vec *vec;
};

static u32 cfg32(const struct pci_function *fn, unsigned int off)
{
	u32 v;

	memcpy(&v, &fn->cfg[off], 4);
	return v;
}

static u16 cfg16(const struct pci_function *fn, unsigned int off)
{
	u16 v;

	memcpy(&v, &fn->cfg[off], 2);
	return v;
}

static void put(u8 *space, unsigned int off, unsigned int size, u32 v)
{
	memcpy(&space[off], &v, size);
}

static u32 pci_msi__tag(const struct pci_function *fn, bool msix, unsigned int i)
{
	return PCI_IRQ_TAG(fn->devfn, msix ? i : PCI_MSI_TAG_BASE + i);
}

/* Where the MSI data and mask registers are: they move with 64-bit addresses. */
static unsigned int pci_msi__data_off(const struct pci_msi *msi)
{
	return msi->cap + (msi->is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
}

static unsigned int pci_msi__mask_off(const struct pci_msi *msi)
{
	return msi->cap + (msi->is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned int pci_msi__cap_len(const struct pci_msi *msi)
{
	return pci_msi__mask_off(msi) - msi->cap + (msi->maskable ? 8 : 0);
}

/* What the guest's registers ask of MSI vector @i. */
static void pci_msi__want(const struct pci_function *fn, unsigned int i, struct pci_vec *w)
{
	const struct pci_msi *msi = fn->msi;
	u16 ctrl = cfg16(fn, msi->cap + PCI_MSI_FLAGS);
	unsigned int nr = 1u << ((ctrl & PCI_MSI_FLAGS_QSIZE) >> 4);
	u32 data = cfg16(fn, pci_msi__data_off(msi));

	nr = MIN(nr, msi->nr);
	memset(w, 0, sizeof(*w));
	w->on = (ctrl & PCI_MSI_FLAGS_ENABLE) && i < nr;
	w->addr = cfg32(fn, msi->cap + PCI_MSI_ADDRESS_LO);
	if (msi->is64)
		w->addr |= (u64)cfg32(fn, msi->cap + PCI_MSI_ADDRESS_HI) << 32;
	/* Multiple messages: the vector number in the data's low bits. */
	w->data = (data & ~(nr - 1)) | i;
	w->masked = msi->maskable && (cfg32(fn, pci_msi__mask_off(msi)) & (1u << i));
}

static void pci_msix__want(const struct pci_function *fn, unsigned int i, struct pci_vec *w)
{
	const struct pci_msix *msix = fn->msix;
	u16 ctrl = cfg16(fn, msix->cap + PCI_MSIX_FLAGS);
	const u8 *e = &msix->table[i * PCI_MSIX_ENTRY_SIZE];
	u32 lo, hi, data, vctrl;

	memcpy(&lo, e + PCI_MSIX_ENTRY_LOWER_ADDR, 4);
	memcpy(&hi, e + PCI_MSIX_ENTRY_UPPER_ADDR, 4);
	memcpy(&data, e + PCI_MSIX_ENTRY_DATA, 4);
	memcpy(&vctrl, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4);
	w->on = ctrl & PCI_MSIX_FLAGS_ENABLE;
	w->addr = lo | (u64)hi << 32;
	w->data = data;
	w->masked = (ctrl & PCI_MSIX_FLAGS_MASKALL) || (vctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
	w->gsi = 0;
}

static void pci_msi__notify(struct pci_function *fn, bool msix, unsigned int i,
			    const struct pci_vec *v, struct irq_routing *irq, bool restored)
{
	struct pci_msi_vector mv = { .enabled = v->on, .masked = v->masked,
				     .addr = v->addr, .data = v->data, .gsi = v->gsi,
				     .fd = -1, .restored = restored };

	if (!fn->ops || !fn->ops->msi_changed)
		return;
	if (v->on)
		irq__irqfd_get(irq, pci_msi__tag(fn, msix, i), &mv.fd, NULL);
	fn->ops->msi_changed(fn, msix, i, &mv);
}

/* Step one: the route of vector @i as @w wants it (not pushed yet). */
static int pci_msi__route(struct irq_routing *irq, struct pci_vec *v, const struct pci_vec *w)
{
	if (!w->on || (v->on && v->addr == w->addr && v->data == w->data))
		return 0;
	if (v->on)
		return irq__msi_route_update(irq, v->gsi, w->addr, w->data);
	return irq__msi_route_alloc(irq, w->addr, w->data, &v->gsi);
}

/* Step two: the irqfd, once the routes are in KVM. */
static int pci_msi__irqfd(struct irq_routing *irq, u32 tag, struct pci_vec *v,
			  const struct pci_vec *w, bool had_route)
{
	int ret = 0;

	if (w->on && !v->on)
		ret = irq__irqfd_attach(irq, tag, v->gsi, IRQ_FD_NEW, IRQ_FD_NONE, w->masked);
	else if (w->on && v->masked != w->masked)
		ret = irq__irqfd_mask(irq, tag, w->masked);
	else if (!w->on && v->on) {
		irq__irqfd_detach(irq, tag);
		/* The freed route goes to KVM with the next change set. */
		irq__msi_route_free(irq, v->gsi);
		v->gsi = 0;
	}
	if (ret && !had_route && w->on) {
		irq__msi_route_free(irq, v->gsi);
		v->gsi = 0;
		return ret;
	}
	if (!ret) {
		v->on = w->on;
		v->masked = w->masked;
		v->addr = w->addr;
		v->data = w->data;
	}
	return ret;
}

/* Bring vectors [@first, @first + @n) in line with the registers. */
static void pci_msi__sync(struct pci_function *fn, bool msix, unsigned int first,
			  unsigned int n)
{
	struct pci_vec *vecs = msix ? fn->msix->vec : fn->msi->vec;
	struct irq_routing *irq;
	struct pci_vec w[64];
	bool had[64], changed[64];
	unsigned int i, done, batch;
	int ret;

	if (!fn->bus)
		return;
	irq = fn->bus->irq;
	/* In batches of 64 vectors: one KVM_SET_GSI_ROUTING each. */
	for (done = 0; done < n; done += batch) {
		batch = MIN(n - done, (unsigned int)ARRAY_SIZE(w));

		for (i = 0; i < batch; i++) {
			struct pci_vec *v = &vecs[first + done + i];

			if (msix)
				pci_msix__want(fn, first + done + i, &w[i]);
			else
				pci_msi__want(fn, first + done + i, &w[i]);
			had[i] = v->on;
			changed[i] = v->on != w[i].on || (w[i].on && (v->masked != w[i].masked ||
				     v->addr != w[i].addr || v->data != w[i].data));
			if (changed[i] && pci_msi__route(irq, v, &w[i])) {
				pr_warn("%s: vector %u: no route", fn->name, first + done + i);
				changed[i] = false;
			}
		}
		if (irq__commit(irq))
			pr_warn("%s: MSI routes not pushed to KVM", fn->name);
		for (i = 0; i < batch; i++) {
			unsigned int vec = first + done + i;

			if (!changed[i])
				continue;
			ret = pci_msi__irqfd(irq, pci_msi__tag(fn, msix, vec), &vecs[vec], &w[i],
					     had[i]);
			if (ret)
				pr_warn("%s: vector %u: irqfd: %s", fn->name, vec, strerror(-ret));
			else
				pci_msi__notify(fn, msix, vec, &vecs[vec], irq, false);
		}
	}
}

void pci_msi__cfg_written(struct pci_function *fn, unsigned int off, unsigned int size)
{
	pthread_mutex_lock(&fn->msi_lock);
	if (fn->msi && off < fn->msi->cap + pci_msi__cap_len(fn->msi) &&
	    off + size > fn->msi->cap)
		pci_msi__sync(fn, false, 0, fn->msi->nr);
	if (fn->msix && off < fn->msix->cap + PCI_MSIX_CAP_LEN && off + size > fn->msix->cap)
		pci_msi__sync(fn, true, 0, fn->msix->nr);
	pthread_mutex_unlock(&fn->msi_lock);
}

int pci_function__add_msi(struct pci_function *fn, unsigned int nr_vectors, u8 at)
{
	struct pci_msi *msi;
	unsigned int log2 = 0;
	u16 ctrl;
	int off;

	if (!nr_vectors || nr_vectors > PCI_MSI_MAX_VECTORS || (nr_vectors & (nr_vectors - 1)) ||
	    fn->msi) {
		pr_err("%s: MSI with %u vectors is not valid", fn->name, nr_vectors);
		return -EINVAL;
	}
	while ((1u << log2) < nr_vectors)
		log2++;
	off = at ? at : pci_function__add_cap(fn, PCI_CAP_ID_MSI, PCI_MSI_CAP_LEN);
	if (off < 0)
		return off;
	msi = calloc(1, sizeof(*msi));
	if (!msi)
		return -ENOMEM;
	msi->cap = (u8)off;
	if (!at)
		put(fn->cfg, off + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT |
		    (log2 << 1));
	/* A passthrough device's capability keeps its own layout. */
	ctrl = cfg16(fn, off + PCI_MSI_FLAGS);
	msi->is64 = ctrl & PCI_MSI_FLAGS_64BIT;
	msi->maskable = ctrl & PCI_MSI_FLAGS_MASKBIT;
	msi->nr = MIN(nr_vectors, 1u << ((ctrl & PCI_MSI_FLAGS_QMASK) >> 1));
	put(fn->wmask, off + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	put(fn->wmask, off + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
	if (msi->is64)
		put(fn->wmask, off + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
	put(fn->wmask, pci_msi__data_off(msi), 2, 0xffff);
	if (msi->maskable)
		put(fn->wmask, pci_msi__mask_off(msi), 4,
		    msi->nr == 32 ? 0xffffffff : (1u << msi->nr) - 1);
	memset(&fn->virt[off + 2], 1, pci_msi__cap_len(msi) - 2);
	fn->msi = msi;
	return 0;
}

int pci_function__add_msix(struct pci_function *fn, unsigned int nr_vectors,
			   unsigned int table_bar, u32 table_off,
			   unsigned int pba_bar, u32 pba_off, u8 at)
{
	struct pci_msix *msix;
	unsigned int i;
	int off;

	if (!nr_vectors || nr_vectors > PCI_MSIX_MAX_VECTORS || table_bar >= PCI_NR_BARS ||
	    pba_bar >= PCI_NR_BARS || (table_off | pba_off) & 7 || fn->msix) {
		pr_err("%s: MSI-X with %u vectors (table BAR %u, PBA BAR %u) is not valid",
		       fn->name, nr_vectors, table_bar, pba_bar);
		return -EINVAL;
	}
	off = at ? at : pci_function__add_cap(fn, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_LEN);
	if (off < 0)
		return off;
	msix = calloc(1, sizeof(*msix));
	if (msix) {
		msix->table = calloc(nr_vectors, PCI_MSIX_ENTRY_SIZE);
		msix->vec = calloc(nr_vectors, sizeof(*msix->vec));
	}
	if (!msix || !msix->table || !msix->vec) {
		if (msix) {
			free(msix->table);
			free(msix->vec);
		}
		free(msix);
		return -ENOMEM;
	}
	msix->cap = (u8)off;
	msix->nr = nr_vectors;
	msix->table_bar = table_bar;
	msix->table_off = table_off;
	msix->pba_bar = pba_bar;
	msix->pba_off = pba_off;
	/* Every vector starts masked (PCI spec, MSI-X table). */
	for (i = 0; i < nr_vectors; i++)
		put(msix->table, i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
		    PCI_MSIX_ENTRY_CTRL_MASKBIT);
	put(fn->cfg, off + PCI_MSIX_FLAGS, 2, nr_vectors - 1);
	put(fn->cfg, off + PCI_MSIX_TABLE, 4, table_off | table_bar);
	put(fn->cfg, off + PCI_MSIX_PBA, 4, pba_off | pba_bar);
	put(fn->wmask, off + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	memset(&fn->virt[off + 2], 1, PCI_MSIX_CAP_LEN - 2);
	fn->msix = msix;
	return 0;
}

static u64 pci_msix__pba_len(const struct pci_msix *msix)
{
	return ALIGN_UP((u64)msix->nr, 64) / 8;
}

/* PBA bit @i: a masked vector whose eventfd was written meanwhile. */
static bool pci_msix__pending(struct pci_function *fn, unsigned int i)
{
	const struct pci_vec *v = &fn->msix->vec[i];

	return v->on && v->masked && fn->bus &&
	       irq__irqfd_pending(fn->bus->irq, pci_msi__tag(fn, true, i));
}

static void pci_msix__pba_read(struct pci_function *fn, u64 rel, u8 *data, unsigned int size)
{
	unsigned int i, bit;

	memset(data, 0, size);
	for (i = 0; i < size; i++) {
		for (bit = 0; bit < 8; bit++) {
			u64 vec = (rel + i) * 8 + bit;

			if (vec < fn->msix->nr && pci_msix__pending(fn, (unsigned int)vec))
				data[i] |= 1u << bit;
		}
	}
}

bool pci_msix__access(struct pci_function *fn, unsigned int bar, u64 off, bool is_write,
		      u8 *data, unsigned int size)
{
	struct pci_msix *msix = fn->msix;
	u64 table_len, rel;

	if (!msix)
		return false;
	table_len = (u64)msix->nr * PCI_MSIX_ENTRY_SIZE;
	pthread_mutex_lock(&fn->msi_lock);
	if (bar == msix->table_bar && off >= msix->table_off && off - msix->table_off < table_len) {
		rel = off - msix->table_off;
		size = (unsigned int)MIN((u64)size, table_len - rel);
		if (!is_write) {
			memcpy(data, &msix->table[rel], size);
		} else {
			memcpy(&msix->table[rel], data, size);
			pci_msi__sync(fn, true, (unsigned int)(rel / PCI_MSIX_ENTRY_SIZE),
				      (unsigned int)((rel + size - 1) / PCI_MSIX_ENTRY_SIZE -
						     rel / PCI_MSIX_ENTRY_SIZE + 1));
		}
	} else if (bar == msix->pba_bar && off >= msix->pba_off &&
		   off - msix->pba_off < pci_msix__pba_len(msix)) {
		/* The PBA is read-only: writes are dropped. */
		if (!is_write)
			pci_msix__pba_read(fn, off - msix->pba_off, data, size);
	} else {
		pthread_mutex_unlock(&fn->msi_lock);
		return false;
	}
	pthread_mutex_unlock(&fn->msi_lock);
	return true;
}

/* The vectors raised now: MSI-X's if it is on, else MSI's. */
static struct pci_vec *pci_msi__active(struct pci_function *fn, bool *msix, unsigned int *nr)
{
	if (fn->msix && (cfg16(fn, fn->msix->cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE)) {
		*msix = true;
		*nr = fn->msix->nr;
		return fn->msix->vec;
	}
	if (fn->msi) {
		*msix = false;
		*nr = fn->msi->nr;
		return fn->msi->vec;
	}
	return NULL;
}

static int pci__signal(int fd)
{
	u64 one = 1;

	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

int pci_function__msi_raise(struct pci_function *fn, unsigned int vector)
{
	struct pci_vec *vecs;
	unsigned int nr = 0;
	bool msix = false;
	int ret = -EINVAL, fd;

	pthread_mutex_lock(&fn->msi_lock);
	vecs = pci_msi__active(fn, &msix, &nr);
	if (vecs && vector < nr && vecs[vector].on && fn->bus &&
	    !irq__irqfd_get(fn->bus->irq, pci_msi__tag(fn, msix, vector), &fd, NULL))
		ret = pci__signal(fd);
	pthread_mutex_unlock(&fn->msi_lock);
	return ret;
}

static int pci__intx_fds(struct pci_function *fn, int *fd, int *resample_fd)
{
	if (!fn->bus || !fn->intx_gsi)
		return -ENOENT;
	return irq__irqfd_get(fn->bus->irq, PCI_IRQ_TAG(fn->devfn, PCI_IRQ_VECTOR_INTX), fd,
			      resample_fd);
}

int pci_function__intx_assert(struct pci_function *fn)
{
	int fd, ret = pci__intx_fds(fn, &fd, NULL);

	return ret ? ret : pci__signal(fd);
}

int pci_function__intx_fd(struct pci_function *fn)
{
	int fd, ret = pci__intx_fds(fn, &fd, NULL);

	return ret ? ret : fd;
}

int pci_function__intx_resample_fd(struct pci_function *fn)
{
	int fd, resample_fd, ret = pci__intx_fds(fn, &fd, &resample_fd);

	return ret ? ret : resample_fd;
}

static void pci_msi__all_off(struct pci_function *fn, bool msix, struct pci_vec *vecs,
			     unsigned int nr)
{
	struct pci_vec off = { .on = false };
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (!vecs[i].on)
			continue;
		pci_msi__irqfd(fn->bus->irq, pci_msi__tag(fn, msix, i), &vecs[i], &off, true);
		pci_msi__notify(fn, msix, i, &vecs[i], fn->bus->irq, false);
	}
}

void pci_msi__disable(struct pci_function *fn)
{
	pthread_mutex_lock(&fn->msi_lock);
	if (fn->bus && fn->msi)
		pci_msi__all_off(fn, false, fn->msi->vec, fn->msi->nr);
	if (fn->bus && fn->msix)
		pci_msi__all_off(fn, true, fn->msix->vec, fn->msix->nr);
	pthread_mutex_unlock(&fn->msi_lock);
}

void pci_msi__free(struct pci_function *fn)
{
	free(fn->msi);
	if (fn->msix) {
		free(fn->msix->table);
		free(fn->msix->vec);
	}
	free(fn->msix);
	fn->msi = NULL;
	fn->msix = NULL;
}

/* Record @s of a function: its vectors' routes and the MSI-X table. */
void pci_msi__save(struct pci_function *fn, struct state_pci_fn *s)
{
	unsigned int i;

	pthread_mutex_lock(&fn->msi_lock);
	for (i = 0; fn->msi && i < fn->msi->nr; i++)
		s->msi_gsi[i] = fn->msi->vec[i].on ? fn->msi->vec[i].gsi : 0;
	for (i = 0; fn->msix && i < fn->msix->nr; i++) {
		memcpy(&s->msix[i].addr, &fn->msix->table[i * PCI_MSIX_ENTRY_SIZE], 8);
		memcpy(&s->msix[i].data, &fn->msix->table[i * PCI_MSIX_ENTRY_SIZE +
							 PCI_MSIX_ENTRY_DATA], 4);
		memcpy(&s->msix[i].ctrl, &fn->msix->table[i * PCI_MSIX_ENTRY_SIZE +
							 PCI_MSIX_ENTRY_VECTOR_CTRL], 4);
		s->msix[i].gsi = fn->msix->vec[i].on ? fn->msix->vec[i].gsi : 0;
	}
	pthread_mutex_unlock(&fn->msi_lock);
}

unsigned int pci_msi__nr_msix(const struct pci_function *fn)
{
	return fn->msix ? fn->msix->nr : 0;
}

/*
 * A vector the old image had on: its route and irqfd are the irq
 * routing's already (taken back, and re-assigned in a new VM), so only
 * our view of it comes back; pci_msi__sync() then finds nothing to do.
 */
static void pci_msi__adopt(struct pci_function *fn, bool msix, unsigned int i, u32 gsi,
			   struct pci_vec *v)
{
	int fd;

	if (!gsi || irq__irqfd_get(fn->bus->irq, pci_msi__tag(fn, msix, i), &fd, NULL))
		return;
	if (msix)
		pci_msix__want(fn, i, v);
	else
		pci_msi__want(fn, i, v);
	v->on = true;
	v->gsi = gsi;
}

void pci_msi__load(struct pci_function *fn, const struct state_pci_fn *s)
{
	unsigned int i;

	pthread_mutex_lock(&fn->msi_lock);
	for (i = 0; fn->msi && i < fn->msi->nr; i++)
		pci_msi__adopt(fn, false, i, s->msi_gsi[i], &fn->msi->vec[i]);
	for (i = 0; fn->msix && i < fn->msix->nr; i++) {
		u8 *e = &fn->msix->table[i * PCI_MSIX_ENTRY_SIZE];

		memcpy(e, &s->msix[i].addr, 8);
		memcpy(e + PCI_MSIX_ENTRY_DATA, &s->msix[i].data, 4);
		memcpy(e + PCI_MSIX_ENTRY_VECTOR_CTRL, &s->msix[i].ctrl, 4);
		pci_msi__adopt(fn, true, i, s->msix[i].gsi, &fn->msix->vec[i]);
	}
	if (fn->msi)
		pci_msi__sync(fn, false, 0, fn->msi->nr);
	if (fn->msix)
		pci_msi__sync(fn, true, 0, fn->msix->nr);
	for (i = 0; fn->msi && i < fn->msi->nr; i++)
		pci_msi__notify(fn, false, i, &fn->msi->vec[i], fn->bus->irq, true);
	for (i = 0; fn->msix && i < fn->msix->nr; i++)
		pci_msi__notify(fn, true, i, &fn->msix->vec[i], fn->bus->irq, true);
	pthread_mutex_unlock(&fn->msi_lock);
}
