// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's interrupt routing (irq.h): the GSI routing table, irqfds and
 * ioeventfds, and the device that saves them and brings them across a
 * live upgrade (Documentation/vmm.rst, "PCI and interrupt routing").
 *
 * One mutex guards everything here; it is the innermost lock of the VMM
 * (pci.h), so nothing is called with it held but the KVM seam.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/device.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/state.h"
#include "vmm/vm.h"

irq_kvm_ioctl_fn irq_kvm_ioctl = __kvm_ioctl;
#define irq__ioctl(irq, cmd, arg)	irq_kvm_ioctl((irq)->vm_fd, cmd, #cmd, arg)

/* The default table has 16 PIC routes besides the 24 IOAPIC ones. */
#define IRQ_NR_DEFAULT_ROUTES	(IRQ_GSI_IOAPIC_PINS + IRQ_GSI_PIC_PINS)

struct irq_msi_route {
	bool used;
	u32 data;
	u64 addr;
};

struct irq_irqfd {
	u32 tag;
	u32 gsi;
	int fd;
	int resample_fd;	/* -1: none */
	bool masked;		/* not assigned in KVM */
};

struct irq_ioeventfd {
	u32 tag;
	struct irq_ioevent ev;
	int fd;
};

struct irq_routing {
	pthread_mutex_t lock;
	int vm_fd;
	bool dirty;		/* routes changed since the last commit */
	bool reattach;		/* loaded for a new VM: irq__reattach() due */
	unsigned int nr_msi;
	struct irq_msi_route msi[IRQ_MAX_GSI];	/* by GSI; below IRQ_GSI_MSI_FIRST unused */
	unsigned int nr_irqfds;
	struct irq_irqfd *irqfds;
	unsigned int nr_ioeventfds;
	struct irq_ioeventfd *ioeventfds;
};

struct irq_routing *irq__create(int vm_fd)
{
	struct irq_routing *irq = calloc(1, sizeof(*irq));

	if (!irq)
		return NULL;
	pthread_mutex_init(&irq->lock, NULL);
	irq->vm_fd = vm_fd;
	return irq;
}

void irq__destroy(struct irq_routing *irq)
{
	unsigned int i;

	if (!irq)
		return;
	for (i = 0; i < irq->nr_irqfds; i++) {
		close(irq->irqfds[i].fd);
		if (irq->irqfds[i].resample_fd >= 0)
			close(irq->irqfds[i].resample_fd);
	}
	for (i = 0; i < irq->nr_ioeventfds; i++)
		close(irq->ioeventfds[i].fd);
	free(irq->irqfds);
	free(irq->ioeventfds);
	pthread_mutex_destroy(&irq->lock);
	free(irq);
}

/* KVM's own default: arch/x86/kvm/irq_comm.c, kvm_setup_default_irq_routing(). */
static unsigned int irq__default_routes(struct kvm_irq_routing_entry *e)
{
	unsigned int gsi, n = 0;

	for (gsi = 0; gsi < IRQ_GSI_IOAPIC_PINS; gsi++) {
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e[n++].u.irqchip.pin = gsi;
		if (gsi >= IRQ_GSI_PIC_PINS)
			continue;
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		e[n++].u.irqchip.pin = gsi % 8;
	}
	return n;
}

static int irq__push(struct irq_routing *irq)
{
	struct kvm_irq_routing *table;
	struct kvm_irq_routing_entry *e;
	unsigned int gsi, n;
	int ret;

	table = calloc(1, sizeof(*table) +
		       (IRQ_NR_DEFAULT_ROUTES + irq->nr_msi) * sizeof(table->entries[0]));
	if (!table)
		return -ENOMEM;
	e = table->entries;
	n = irq__default_routes(e);
	for (gsi = IRQ_GSI_MSI_FIRST; gsi < IRQ_MAX_GSI; gsi++) {
		const struct irq_msi_route *r = &irq->msi[gsi];

		if (!r->used)
			continue;
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_MSI;
		e[n].u.msi.address_lo = (u32)r->addr;
		e[n].u.msi.address_hi = (u32)(r->addr >> 32);
		e[n++].u.msi.data = r->data;
	}
	table->nr = n;
	ret = irq__ioctl(irq, KVM_SET_GSI_ROUTING, table);
	free(table);
	if (ret < 0)
		return ret;
	irq->dirty = false;
	return 0;
}

static int irq__commit_locked(struct irq_routing *irq)
{
	return irq->dirty ? irq__push(irq) : 0;
}

int irq__commit(struct irq_routing *irq)
{
	int ret;

	pthread_mutex_lock(&irq->lock);
	ret = irq__commit_locked(irq);
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

int irq__msi_route_alloc(struct irq_routing *irq, u64 addr, u32 data, u32 *gsi)
{
	u32 i;

	pthread_mutex_lock(&irq->lock);
	for (i = IRQ_GSI_MSI_FIRST; i < IRQ_MAX_GSI; i++) {
		if (!irq->msi[i].used)
			break;
	}
	if (i == IRQ_MAX_GSI) {
		pthread_mutex_unlock(&irq->lock);
		pr_err("no free GSI for an MSI route (%u in use)", irq->nr_msi);
		return -ENOSPC;
	}
	irq->msi[i] = (struct irq_msi_route){ .used = true, .addr = addr, .data = data };
	irq->nr_msi++;
	irq->dirty = true;
	*gsi = i;
	pthread_mutex_unlock(&irq->lock);
	return 0;
}

static bool irq__is_msi_gsi(struct irq_routing *irq, u32 gsi)
{
	return gsi >= IRQ_GSI_MSI_FIRST && gsi < IRQ_MAX_GSI && irq->msi[gsi].used;
}

int irq__msi_route_update(struct irq_routing *irq, u32 gsi, u64 addr, u32 data)
{
	struct irq_msi_route *r;

	pthread_mutex_lock(&irq->lock);
	if (!irq__is_msi_gsi(irq, gsi)) {
		pthread_mutex_unlock(&irq->lock);
		return -ENOENT;
	}
	r = &irq->msi[gsi];
	if (r->addr != addr || r->data != data) {
		r->addr = addr;
		r->data = data;
		irq->dirty = true;
	}
	pthread_mutex_unlock(&irq->lock);
	return 0;
}

static struct irq_irqfd *irq__find_irqfd(struct irq_routing *irq, u32 tag)
{
	unsigned int i;

	for (i = 0; i < irq->nr_irqfds; i++)
		if (irq->irqfds[i].tag == tag)
			return &irq->irqfds[i];
	return NULL;
}

int irq__msi_route_free(struct irq_routing *irq, u32 gsi)
{
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&irq->lock);
	if (!irq__is_msi_gsi(irq, gsi)) {
		ret = -ENOENT;
		goto out;
	}
	for (i = 0; i < irq->nr_irqfds; i++) {
		if (irq->irqfds[i].gsi == gsi) {
			ret = -EBUSY;
			goto out;
		}
	}
	irq->msi[gsi].used = false;
	irq->nr_msi--;
	irq->dirty = true;
out:
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

/* An eventfd of our own: a dup() of @fd, or a new one for IRQ_FD_NEW. */
static int irq__own_fd(int fd)
{
	int ret;

	if (fd == IRQ_FD_NEW)
		ret = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	else
		ret = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (ret < 0) {
		ret = -errno;
		pr_err("cannot get an eventfd for an irqfd: %s", strerror(errno));
	}
	return ret;
}

static int irq__irqfd_assign(struct irq_routing *irq, const struct irq_irqfd *f, bool assign)
{
	struct kvm_irqfd args = { .fd = (u32)f->fd, .gsi = f->gsi };

	if (!assign) {
		args.flags = KVM_IRQFD_FLAG_DEASSIGN;
	} else if (f->resample_fd >= 0) {
		args.flags = KVM_IRQFD_FLAG_RESAMPLE;
		args.resamplefd = (u32)f->resample_fd;
	}
	return irq__ioctl(irq, KVM_IRQFD, &args);
}

/*
 * Assign a (new or unmasked) irqfd: its route must be in KVM first, since
 * a write already pending is delivered at once through it.
 */
static int irq__irqfd_activate(struct irq_routing *irq, struct irq_irqfd *f)
{
	int ret = irq__commit_locked(irq);

	if (!ret)
		ret = irq__irqfd_assign(irq, f, true);
	if (!ret)
		f->masked = false;
	return ret;
}

static void irq__irqfd_close(struct irq_irqfd *f)
{
	close(f->fd);
	if (f->resample_fd >= 0)
		close(f->resample_fd);
}

static int irq__irqfd_insert(struct irq_routing *irq, const struct irq_irqfd *f)
{
	struct irq_irqfd *a;

	a = realloc(irq->irqfds, (irq->nr_irqfds + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	irq->irqfds = a;
	a[irq->nr_irqfds++] = *f;
	return 0;
}

int irq__irqfd_attach(struct irq_routing *irq, u32 tag, u32 gsi, int fd, int resample_fd,
		      bool masked)
{
	struct irq_irqfd f = { .tag = tag, .gsi = gsi, .fd = -1, .resample_fd = -1,
			       .masked = true };
	int ret;

	if (gsi >= IRQ_MAX_GSI)
		return -EINVAL;
	pthread_mutex_lock(&irq->lock);
	ret = -EEXIST;
	if (irq__find_irqfd(irq, tag))
		goto out;
	f.fd = ret = irq__own_fd(fd);
	if (ret < 0)
		goto out;
	if (resample_fd != IRQ_FD_NONE) {
		f.resample_fd = ret = irq__own_fd(resample_fd);
		if (ret < 0)
			goto out;
	}
	ret = masked ? 0 : irq__irqfd_activate(irq, &f);
	if (ret)
		goto out;
	ret = irq__irqfd_insert(irq, &f);
	if (ret && !f.masked)
		irq__irqfd_assign(irq, &f, false);
out:
	if (ret && f.fd >= 0)
		irq__irqfd_close(&f);
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

int irq__irqfd_mask(struct irq_routing *irq, u32 tag, bool masked)
{
	struct irq_irqfd *f;
	int ret = 0;

	pthread_mutex_lock(&irq->lock);
	f = irq__find_irqfd(irq, tag);
	if (!f) {
		ret = -ENOENT;
	} else if (masked && !f->masked) {
		ret = irq__irqfd_assign(irq, f, false);
		if (!ret)
			f->masked = true;
	} else if (!masked && f->masked) {
		ret = irq__irqfd_activate(irq, f);
	}
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

bool irq__irqfd_pending(struct irq_routing *irq, u32 tag)
{
	struct irq_irqfd *f;
	bool ret = false;

	pthread_mutex_lock(&irq->lock);
	f = irq__find_irqfd(irq, tag);
	if (f && f->masked) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };

		ret = poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
	}
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

int irq__irqfd_detach(struct irq_routing *irq, u32 tag)
{
	struct irq_irqfd *f;
	int ret = 0;

	pthread_mutex_lock(&irq->lock);
	f = irq__find_irqfd(irq, tag);
	if (!f) {
		ret = -ENOENT;
		goto out;
	}
	if (!f->masked)
		ret = irq__irqfd_assign(irq, f, false);
	irq__irqfd_close(f);
	*f = irq->irqfds[--irq->nr_irqfds];
out:
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

int irq__irqfd_get(struct irq_routing *irq, u32 tag, int *fd, int *resample_fd)
{
	struct irq_irqfd *f;

	pthread_mutex_lock(&irq->lock);
	f = irq__find_irqfd(irq, tag);
	if (f) {
		*fd = f->fd;
		if (resample_fd)
			*resample_fd = f->resample_fd;
	}
	pthread_mutex_unlock(&irq->lock);
	return f ? 0 : -ENOENT;
}

static struct irq_ioeventfd *irq__find_ioeventfd(struct irq_routing *irq, u32 tag)
{
	unsigned int i;

	for (i = 0; i < irq->nr_ioeventfds; i++)
		if (irq->ioeventfds[i].tag == tag)
			return &irq->ioeventfds[i];
	return NULL;
}

static int irq__ioeventfd_assign(struct irq_routing *irq, const struct irq_ioeventfd *e,
				 bool assign)
{
	struct kvm_ioeventfd args = {
		.datamatch = e->ev.data,
		.addr = e->ev.addr,
		.len = e->ev.len,
		.fd = e->fd,
	};

	if (e->ev.pio)
		args.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (e->ev.datamatch)
		args.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (!assign)
		args.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return irq__ioctl(irq, KVM_IOEVENTFD, &args);
}

int irq__ioeventfd_add(struct irq_routing *irq, u32 tag, const struct irq_ioevent *ev,
		       int fd)
{
	struct irq_ioeventfd e = { .tag = tag, .ev = *ev, .fd = -1 }, *a;
	int ret;

	pthread_mutex_lock(&irq->lock);
	ret = -EEXIST;
	if (irq__find_ioeventfd(irq, tag))
		goto out;
	e.fd = ret = irq__own_fd(fd);
	if (ret < 0)
		goto out;
	ret = irq__ioeventfd_assign(irq, &e, true);
	if (ret)
		goto out;
	a = realloc(irq->ioeventfds, (irq->nr_ioeventfds + 1) * sizeof(*a));
	if (!a) {
		irq__ioeventfd_assign(irq, &e, false);
		ret = -ENOMEM;
		goto out;
	}
	irq->ioeventfds = a;
	a[irq->nr_ioeventfds++] = e;
out:
	if (ret && e.fd >= 0)
		close(e.fd);
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

int irq__ioeventfd_del(struct irq_routing *irq, u32 tag)
{
	struct irq_ioeventfd *e;
	int ret;

	pthread_mutex_lock(&irq->lock);
	e = irq__find_ioeventfd(irq, tag);
	if (!e) {
		ret = -ENOENT;
	} else {
		ret = irq__ioeventfd_assign(irq, e, false);
		close(e->fd);
		*e = irq->ioeventfds[--irq->nr_ioeventfds];
	}
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

int irq__ioeventfd_get(struct irq_routing *irq, u32 tag)
{
	struct irq_ioeventfd *e;
	int ret;

	pthread_mutex_lock(&irq->lock);
	e = irq__find_ioeventfd(irq, tag);
	ret = e ? e->fd : -ENOENT;
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

unsigned int irq__nr_routes(struct irq_routing *irq)
{
	unsigned int n;

	pthread_mutex_lock(&irq->lock);
	n = IRQ_NR_DEFAULT_ROUTES + irq->nr_msi;
	pthread_mutex_unlock(&irq->lock);
	return n;
}

unsigned int irq__nr_irqfds(struct irq_routing *irq)
{
	unsigned int n;

	pthread_mutex_lock(&irq->lock);
	n = irq->nr_irqfds;
	pthread_mutex_unlock(&irq->lock);
	return n;
}

unsigned int irq__nr_ioeventfds(struct irq_routing *irq)
{
	unsigned int n;

	pthread_mutex_lock(&irq->lock);
	n = irq->nr_ioeventfds;
	pthread_mutex_unlock(&irq->lock);
	return n;
}

/*
 * The device.  Its kept files are numbered in one walk, irqfds (eventfd,
 * then resample eventfd) before ioeventfds, which save() and keep_fds()
 * both take with the VM paused, so the numbers in the records are the
 * files kept.
 */
static const struct device_ops irq_device;

typedef void (*irq_fd_fn)(void *opaque, u16 n, int fd);

static void irq__walk_fds(struct irq_routing *irq, irq_fd_fn fn, void *opaque)
{
	unsigned int i;
	u16 n = 0;

	for (i = 0; i < irq->nr_irqfds; i++) {
		fn(opaque, n++, irq->irqfds[i].fd);
		if (irq->irqfds[i].resample_fd >= 0)
			fn(opaque, n++, irq->irqfds[i].resample_fd);
	}
	for (i = 0; i < irq->nr_ioeventfds; i++)
		fn(opaque, n++, irq->ioeventfds[i].fd);
}

static void irq__save_routes(struct irq_routing *irq, struct state_buf *b)
{
	struct state_irq_route *r;
	unsigned int gsi, n = 0;

	if (!irq->nr_msi)
		return;
	r = state__put_space(b, STATE_DEV_IRQ_ROUTES, 0, irq->nr_msi * sizeof(*r));
	if (!r)
		return;
	for (gsi = IRQ_GSI_MSI_FIRST; gsi < IRQ_MAX_GSI; gsi++) {
		if (irq->msi[gsi].used)
			r[n++] = (struct state_irq_route){ .gsi = gsi, .addr = irq->msi[gsi].addr,
							   .data = irq->msi[gsi].data };
	}
}

void irq__save(struct irq_routing *irq, struct state_buf *b)
{
	unsigned int i;
	u16 n = 0;

	pthread_mutex_lock(&irq->lock);
	irq__save_routes(irq, b);
	for (i = 0; i < irq->nr_irqfds; i++) {
		const struct irq_irqfd *f = &irq->irqfds[i];
		struct state_irqfd s = { .tag = f->tag, .gsi = f->gsi, .fd_n = n++ };

		if (f->resample_fd >= 0) {
			s.flags |= STATE_IRQFD_RESAMPLE;
			s.resample_n = n++;
		}
		if (f->masked)
			s.flags |= STATE_IRQFD_MASKED;
		state__put(b, STATE_DEV_IRQFD, i, &s, sizeof(s));
	}
	for (i = 0; i < irq->nr_ioeventfds; i++) {
		const struct irq_ioeventfd *e = &irq->ioeventfds[i];
		struct state_ioeventfd s = { .tag = e->tag, .addr = e->ev.addr,
					     .data = e->ev.data, .len = e->ev.len,
					     .fd_n = n++ };

		if (e->ev.pio)
			s.flags |= STATE_IOEVENTFD_PIO;
		if (e->ev.datamatch)
			s.flags |= STATE_IOEVENTFD_DATAMATCH;
		state__put(b, STATE_DEV_IOEVENTFD, i, &s, sizeof(s));
	}
	pthread_mutex_unlock(&irq->lock);
}

static void irq__keep_one(void *opaque, u16 n, int fd)
{
	device_keep__fd(opaque, &irq_device, n, fd);
}

static int irq__load_routes(struct irq_routing *irq, struct device_in *in)
{
	const struct state_rec *rec = device_in__find(in, STATE_DEV_IRQ_ROUTES, 0);
	const struct state_irq_route *r;
	unsigned int i;

	if (!rec)
		return 0;
	r = rec->payload;
	for (i = 0; i < rec->len / sizeof(*r); i++) {
		if (r[i].gsi < IRQ_GSI_MSI_FIRST || r[i].gsi >= IRQ_MAX_GSI ||
		    irq->msi[r[i].gsi].used) {
			pr_err("irq: saved MSI route GSI %u is out of range or twice", r[i].gsi);
			return -EINVAL;
		}
		irq->msi[r[i].gsi] = (struct irq_msi_route){ .used = true, .addr = r[i].addr,
							     .data = r[i].data };
		irq->nr_msi++;
	}
	return 0;
}

/* The irqfds, their files taken back; nothing is asked of KVM. */
static int irq__load_irqfds(struct irq_routing *irq, struct device_in *in)
{
	const struct state_rec *rec;
	u32 i;
	int ret;

	for (i = 0; (rec = device_in__find(in, STATE_DEV_IRQFD, i)); i++) {
		const struct state_irqfd *s = rec->payload;
		struct irq_irqfd f = { .tag = s->tag, .gsi = s->gsi, .resample_fd = -1,
				       .masked = s->flags & STATE_IRQFD_MASKED };

		if (s->gsi >= IRQ_MAX_GSI || irq__find_irqfd(irq, s->tag)) {
			pr_err("irq: saved irqfd %#x (GSI %u) is invalid or twice", s->tag, s->gsi);
			return -EINVAL;
		}
		f.fd = ret = device_in__take_fd(in, &irq_device, s->fd_n);
		if (ret >= 0 && (s->flags & STATE_IRQFD_RESAMPLE)) {
			f.resample_fd = ret = device_in__take_fd(in, &irq_device, s->resample_n);
			if (ret < 0)
				close(f.fd);
		}
		if (ret < 0) {
			pr_err("irq: irqfd %#x: its eventfd was not kept", s->tag);
			return ret;
		}
		ret = irq__irqfd_insert(irq, &f);
		if (ret) {
			irq__irqfd_close(&f);
			return ret;
		}
	}
	return 0;
}

static int irq__load_ioeventfds(struct irq_routing *irq, struct device_in *in)
{
	const struct state_rec *rec;
	struct irq_ioeventfd *a;
	u32 i;
	int ret;

	for (i = 0; (rec = device_in__find(in, STATE_DEV_IOEVENTFD, i)); i++) {
		const struct state_ioeventfd *s = rec->payload;
		struct irq_ioeventfd e = {
			.tag = s->tag,
			.ev = { .addr = s->addr, .len = s->len, .data = s->data,
				.pio = s->flags & STATE_IOEVENTFD_PIO,
				.datamatch = s->flags & STATE_IOEVENTFD_DATAMATCH },
		};

		if (irq__find_ioeventfd(irq, s->tag)) {
			pr_err("irq: saved ioeventfd %#x twice", s->tag);
			return -EINVAL;
		}
		e.fd = ret = device_in__take_fd(in, &irq_device, s->fd_n);
		if (ret < 0) {
			pr_err("irq: ioeventfd %#x: its eventfd was not kept", s->tag);
			return ret;
		}
		a = realloc(irq->ioeventfds, (irq->nr_ioeventfds + 1) * sizeof(*a));
		if (!a) {
			close(e.fd);
			return -ENOMEM;
		}
		irq->ioeventfds = a;
		a[irq->nr_ioeventfds++] = e;
	}
	return 0;
}

/*
 * A kept VM (adopt) still has the table, irqfds and ioeventfds: only the
 * eventfds come back, so writes keep flowing straight into KVM.  A new VM
 * needs them all again, on the same eventfds: irq__reattach().
 */
int irq__load(struct irq_routing *irq, struct device_in *in)
{
	int ret;

	pthread_mutex_lock(&irq->lock);
	ret = irq__load_routes(irq, in);
	if (!ret)
		ret = irq__load_irqfds(irq, in);
	if (!ret)
		ret = irq__load_ioeventfds(irq, in);
	irq->reattach = !ret && !device_in__kept_vm(in);
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

/*
 * After the VM's own state (LAPICs, IOAPIC) is restored, before any vCPU
 * runs: an interrupt injected earlier would be overwritten by that state.
 * A write made during the switch is delivered here, as KVM checks the
 * eventfd when an irqfd is assigned.
 */
int irq__reattach(struct irq_routing *irq)
{
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&irq->lock);
	if (!irq->reattach)
		goto out;
	irq->reattach = false;
	ret = irq__push(irq);
	for (i = 0; !ret && i < irq->nr_irqfds; i++)
		if (!irq->irqfds[i].masked)
			ret = irq__irqfd_assign(irq, &irq->irqfds[i], true);
	for (i = 0; !ret && i < irq->nr_ioeventfds; i++)
		ret = irq__ioeventfd_assign(irq, &irq->ioeventfds[i], true);
out:
	pthread_mutex_unlock(&irq->lock);
	return ret;
}

static int irq_dev__init(struct vm *vm, struct device_in *in)
{
	int ret;

	vm->irq = irq__create(vm->kvm.vm_fd);
	if (!vm->irq)
		return -ENOMEM;
	ret = in ? irq__load(vm->irq, in) : 0;
	if (ret) {
		irq__destroy(vm->irq);
		vm->irq = NULL;
	}
	return ret;
}

static int irq_dev__restore(struct vm *vm, struct device_in *in)
{
	(void)in;
	return irq__reattach(vm->irq);
}

static void irq_dev__exit(struct vm *vm)
{
	irq__destroy(vm->irq);
	vm->irq = NULL;
}

static void irq_dev__save(struct vm *vm, struct state_buf *b)
{
	irq__save(vm->irq, b);
}

void irq__keep_fds(struct irq_routing *irq, struct device_keep *k)
{
	pthread_mutex_lock(&irq->lock);
	irq__walk_fds(irq, irq__keep_one, k);
	pthread_mutex_unlock(&irq->lock);
}

static void irq_dev__keep_fds(struct vm *vm, struct device_keep *k)
{
	irq__keep_fds(vm->irq, k);
}

static const struct device_ops irq_device = {
	.name = "irq",
	.order = DEVICE_ORDER_PLATFORM,
	.id = IRQ_DEVICE_ID,
	.init = irq_dev__init,
	.exit = irq_dev__exit,
	.restore = irq_dev__restore,
	.save = irq_dev__save,
	.keep_fds = irq_dev__keep_fds,
};
DEVICE_REGISTER(irq_device);
