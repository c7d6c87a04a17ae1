// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio spec 5.2) over a raw file: --disk FILE[,readonly].
 *
 * One request queue.  Requests are served with io_uring in a thread of
 * the disk's own: a doorbell (the notify write, in a vCPU thread) only
 * signals the thread's kick eventfd, so a vCPU never waits for the disk,
 * and the thread keeps up to a ring's worth of reads and writes in flight
 * and completes each in the used ring as its CQE arrives, in any order.
 * The kick and stop eventfds, and the doorbell's ioeventfd once the
 * transport has one (virtio_pci__doorbell_fd()), are read through the
 * same ring, so the thread sleeps in one place (io_uring_wait_cqe()).
 *
 * Write-back: a write is complete once the host page cache has it; the
 * guest's FLUSH is an IORING_OP_FSYNC with IORING_FSYNC_DATASYNC
 * (fdatasync), after which every write completed before it is on the
 * disk.  We offer VIRTIO_BLK_F_FLUSH, so Linux sends a flush for every
 * fsync() and journal commit.
 *
 * Live upgrade: requests in flight are completed before the pause ends
 * (freeze stops taking new ones and waits for those in flight, bounded by
 * BLK_DRAIN_MAX_S), so the records need only the ring indices and nothing
 * can be lost, repeated or completed twice: the new image serves the ring
 * from last_avail, on the same kept file (never reopened).  Carrying them
 * instead would mean re-issuing I/O whose buffers the old image's ring
 * already owns, with a different result possible for a read that raced
 * a write.
 *
 * A malformed request (a bad chain, no room for the status byte, a
 * sector range past the end, a length not a multiple of 512) completes
 * with VIRTIO_BLK_S_IOERR if it has a status byte, else with 0 bytes
 * used; a ring the driver broke marks the device as needing a reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "vmm/device.h"
#include "vmm/state.h"
#include "vmm/upgrade.h"
#include "vmm/virtio.h"
#include "vmm/vm.h"

#define BLK_SECTOR		512
#define BLK_SEG_MAX		(VIRTQ_MAX_CHAIN - 2)	/* header and status */
#define BLK_URING_DEPTH		(VIRTQ_MAX_SIZE + 2)
#define BLK_TAG_KICK		(~0ull)
#define BLK_TAG_STOP		(~0ull - 1)
#define BLK_TAG_DOORBELL	(~0ull - 2)
#define VIRTIO_BLK_DEVICE_ID	32
/* A hang guard for the drain at a live upgrade: a disk stuck that long is broken. */
#define BLK_DRAIN_MAX_S		10
#define BLK_PCI_CLASS		0x010000	/* mass storage, SCSI, as QEMU has it */

/* A request in flight, indexed by its chain's head (unique while in flight). */
struct blk_req {
	bool busy;
	u8 *status;		/* the chain's last byte */
	u32 used;		/* bytes written to the guest on success */
	u32 bytes;		/* what the read or write must transfer */
	unsigned int nr_iov;
	struct iovec iov[BLK_SEG_MAX];
};

struct virtio_blk {
	struct virtio_pci vp;
	char name[32];
	int fd;
	bool readonly;
	u64 capacity;		/* in sectors */
	int kick_fd, stop_fd;
	u64 kick_buf, stop_buf, doorbell_buf;
	bool doorbell_armed;	/* a read is queued on the doorbell ioeventfd */
	struct io_uring ring;
	bool ring_up, thread_up;
	pthread_t thread;
	unsigned int nr_inflight;
	/* A live upgrade: take no new request; drained signalled at 0 in flight. */
	bool frozen;
	pthread_cond_t drained;
	struct blk_req reqs[VIRTQ_MAX_SIZE];
};

struct virtio_blks {
	unsigned int nr;
	struct virtio_blk *disks[CONFIG_DISK_MAX];
};

static const struct device_ops virtio_blk_ops;

int virtio_blk__parse(const char *arg, char *path, size_t len, bool *readonly)
{
	const char *comma = strrchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);

	*readonly = false;
	if (comma) {
		if (strcmp(comma + 1, "readonly"))
			return -EINVAL;
		*readonly = true;
	}
	if (!n || n >= len)
		return -EINVAL;
	memcpy(path, arg, n);
	path[n] = 0;
	return 0;
}

static void blk__config(struct virtio_pci *vp, u64 off, bool is_write, u8 *data,
			unsigned int size)
{
	struct virtio_blk *blk = vp->opaque;
	struct virtio_blk_config c = {
		.capacity = blk->capacity,
		.seg_max = BLK_SEG_MAX,
		.blk_size = BLK_SECTOR,
	};

	memset(data, 0, is_write ? 0 : size);
	if (is_write || off >= sizeof(c) || size > sizeof(c) - off)
		return;	/* nothing in it is writable (no CONFIG_WCE) */
	memcpy(data, (u8 *)&c + off, size);
}

static struct io_uring_sqe *blk__sqe(struct virtio_blk *blk)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&blk->ring);

	if (!sqe) {
		io_uring_submit(&blk->ring);
		sqe = io_uring_get_sqe(&blk->ring);
	}
	return sqe;
}

/* Complete request @head with @status (the device's lock held). */
static void blk__complete(struct virtio_blk *blk, u16 head, u8 status, u32 used)
{
	struct blk_req *r = &blk->reqs[head];
	struct virtq *vq = &blk->vp.vqs[0];

	if (r->status) {
		*r->status = status;
		used++;
	}
	r->busy = false;
	/* A reset while it was in flight: the ring is gone, nothing to push. */
	if (vq->ready)
		virtq__push(vq, head, status == VIRTIO_BLK_S_OK ? used : (r->status ? 1 : 0));
}

/* The data buffers of @c as iovecs: the out part after @skip bytes, or the in part. */
static int blk__iovecs(struct blk_req *r, const struct virtq_chain *c, bool in, u64 *bytes)
{
	unsigned int i = in ? c->nr_out : 0, end = in ? c->nr_out + c->nr_in : c->nr_out;
	u64 skip = in ? 0 : sizeof(struct virtio_blk_outhdr), left = in ? c->in_len - 1 : ~0ull;
	u64 n;

	r->nr_iov = 0;
	*bytes = 0;
	for (; i < end && left; i++) {
		if (skip >= c->bufs[i].len) {
			skip -= c->bufs[i].len;
			continue;
		}
		n = MIN(c->bufs[i].len - skip, left);
		if (r->nr_iov == BLK_SEG_MAX)
			return -EINVAL;
		r->iov[r->nr_iov++] = (struct iovec){ c->bufs[i].hva + skip, n };
		*bytes += n;
		left -= n;
		skip = 0;
	}
	return 0;
}

/* Start request @c: 0 if it is in flight, else the status to complete it with. */
static int blk__start(struct virtio_blk *blk, const struct virtq_chain *c)
{
	struct blk_req *r = &blk->reqs[c->head];
	struct virtio_blk_outhdr h;
	struct io_uring_sqe *sqe;
	u64 bytes = 0;
	bool in;

	if (!r->status || virtq_chain__read(c, 0, &h, sizeof(h)) != sizeof(h))
		return VIRTIO_BLK_S_IOERR;
	in = h.type == VIRTIO_BLK_T_IN;
	if (h.type == VIRTIO_BLK_T_IN || h.type == VIRTIO_BLK_T_OUT) {
		if (blk__iovecs(r, c, in, &bytes) || bytes % BLK_SECTOR ||
		    h.sector > blk->capacity || bytes / BLK_SECTOR > blk->capacity - h.sector)
			return VIRTIO_BLK_S_IOERR;
		if (!in && blk->readonly)
			return VIRTIO_BLK_S_IOERR;
	} else if (h.type != VIRTIO_BLK_T_FLUSH) {
		return VIRTIO_BLK_S_UNSUPP;
	}
	sqe = blk__sqe(blk);
	if (!sqe)
		return VIRTIO_BLK_S_IOERR;
	if (h.type == VIRTIO_BLK_T_FLUSH)
		io_uring_prep_fsync(sqe, blk->fd, IORING_FSYNC_DATASYNC);
	else if (in)
		io_uring_prep_readv(sqe, blk->fd, r->iov, r->nr_iov, h.sector * BLK_SECTOR);
	else
		io_uring_prep_writev(sqe, blk->fd, r->iov, r->nr_iov, h.sector * BLK_SECTOR);
	io_uring_sqe_set_data64(sqe, c->head);
	r->used = in ? (u32)bytes : 0;
	r->bytes = (u32)bytes;
	r->busy = true;
	blk->nr_inflight++;
	return 0;
}

/* Take every available request (the device's lock held). */
static void blk__process(struct virtio_blk *blk)
{
	struct virtq *vq = &blk->vp.vqs[0];
	struct virtq_chain c;
	struct virtq_buf *last;
	char why[160];
	int ret, status;

	while (!blk->frozen && (ret = virtq__pop(vq, &c, why, sizeof(why))) != 0) {
		if (ret == -EIO) {
			virtio_pci__needs_reset(&blk->vp, why);
			vq->ready = false;
			break;
		}
		/* A driver bug: the one in flight keeps its head. */
		if (blk->reqs[c.head].busy) {
			pr_debug("%s: head %u offered while in flight", blk->name, c.head);
			continue;
		}
		/* The status byte: the chain's last, in a writable buffer. */
		blk->reqs[c.head].status = NULL;
		if (ret == 1 && c.nr_in) {
			last = &c.bufs[c.nr_out + c.nr_in - 1];
			blk->reqs[c.head].status = last->hva + last->len - 1;
		}
		if (ret == -EBADMSG) {
			pr_debug("%s: %s", blk->name, why);
			blk__complete(blk, c.head, VIRTIO_BLK_S_IOERR, 0);
			continue;
		}
		status = blk__start(blk, &c);
		if (status)
			blk__complete(blk, c.head, (u8)status, 0);
	}
	io_uring_submit(&blk->ring);
}

static void blk__arm(struct virtio_blk *blk, int fd, u64 *buf, u64 tag)
{
	struct io_uring_sqe *sqe = blk__sqe(blk);

	io_uring_prep_read(sqe, fd, buf, sizeof(*buf), 0);
	io_uring_sqe_set_data64(sqe, tag);
}

/* Read the doorbell's ioeventfd too, once the transport attached it. */
static void blk__arm_doorbell(struct virtio_blk *blk)
{
	int fd;

	if (blk->doorbell_armed)
		return;
	fd = virtio_pci__doorbell_fd(&blk->vp, 0);
	if (fd < 0)
		return;
	blk__arm(blk, fd, &blk->doorbell_buf, BLK_TAG_DOORBELL);
	blk->doorbell_armed = true;
}

/* One CQE: returns false when the thread is to stop. */
static bool blk__cqe(struct virtio_blk *blk, const struct io_uring_cqe *cqe, bool *signal)
{
	u64 tag = cqe->user_data;
	struct blk_req *r;

	if (tag == BLK_TAG_STOP)
		return false;
	if (tag == BLK_TAG_KICK || tag == BLK_TAG_DOORBELL) {
		if (tag == BLK_TAG_KICK)
			blk__arm(blk, blk->kick_fd, &blk->kick_buf, BLK_TAG_KICK);
		else
			blk->doorbell_armed = false;
		blk__arm_doorbell(blk);
		blk__process(blk);
		*signal = true;
		return true;
	}
	if (tag >= VIRTQ_MAX_SIZE || !blk->reqs[tag].busy)
		return true;
	r = &blk->reqs[tag];
	if (!--blk->nr_inflight)
		pthread_cond_broadcast(&blk->drained);
	if (cqe->res < 0)
		pr_debug("%s: request %llu: %s", blk->name, (unsigned long long)tag,
			 strerror(-cqe->res));
	/* A short read or write is an error too: the range was checked. */
	blk__complete(blk, (u16)tag, cqe->res < 0 || (u32)cqe->res != r->bytes ?
		      VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, r->used);
	*signal = true;
	return true;
}

static void *blk__thread(void *opaque)
{
	struct virtio_blk *blk = opaque;
	struct io_uring_cqe *cqe;
	bool run = true, signal;
	unsigned int head, n;

	while (run) {
		if (io_uring_wait_cqe(&blk->ring, &cqe))
			continue;
		signal = false;
		n = 0;
		pthread_mutex_lock(&blk->vp.lock);
		io_uring_for_each_cqe(&blk->ring, head, cqe) {
			run = run && blk__cqe(blk, cqe, &signal);
			n++;
		}
		io_uring_cq_advance(&blk->ring, n);
		io_uring_submit(&blk->ring);
		signal = signal && blk->vp.vqs[0].ready && virtq__should_notify(&blk->vp.vqs[0]);
		pthread_mutex_unlock(&blk->vp.lock);
		if (signal)
			virtio_pci__signal_queue(&blk->vp, 0);
	}
	return NULL;
}

static void blk__notify(struct virtio_pci *vp, unsigned int q)
{
	struct virtio_blk *blk = vp->opaque;
	u64 one = 1;

	(void)q;
	if (write(blk->kick_fd, &one, sizeof(one)) != sizeof(one))
		pr_debug("%s: kick lost: %s", blk->name, strerror(errno));
}

static void blk__reset(struct virtio_pci *vp)
{
	struct virtio_blk *blk = vp->opaque;

	/*
	 * Requests in flight still write guest memory when they complete:
	 * their chains are dropped then (blk__complete() sees the queue gone).
	 */
	if (blk->nr_inflight)
		pr_debug("%s: reset with %u requests in flight", blk->name, blk->nr_inflight);
}

static const struct virtio_pci_ops blk_vp_ops = {
	.config = blk__config,
	.notify = blk__notify,
	.reset = blk__reset,
};

/*
 * Open the disk, or after a live upgrade take the file the old image kept
 * (a file replaced at @arg's path since must not be picked up).
 */
static int blk__open(struct virtio_blk *blk, const char *arg, struct device_in *in,
		     unsigned int i)
{
	char path[4096];
	struct stat st;

	if (virtio_blk__parse(arg, path, sizeof(path), &blk->readonly)) {
		pr_err("disk %s: not FILE or FILE,readonly", arg);
		return -EINVAL;
	}
	if (in) {
		blk->fd = device_in__take_fd(in, &virtio_blk_ops, (u16)i);
		if (blk->fd < 0)
			return blk->fd;
	} else {
		blk->fd = open(path, (blk->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	}
	if (blk->fd < 0 || fstat(blk->fd, &st)) {
		pr_err("disk %s: cannot open it: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_size % BLK_SECTOR)
		pr_warn("disk %s: its last %lld bytes are not a whole sector: not seen", path,
			(long long)(st.st_size % BLK_SECTOR));
	blk->capacity = (u64)st.st_size / BLK_SECTOR;
	return 0;
}

/* @incoming: a new image restoring the disk (a live upgrade's test fault). */
static int blk__start_thread(struct virtio_blk *blk, bool incoming)
{
	int ret;

	blk->kick_fd = eventfd(0, EFD_CLOEXEC);
	blk->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (blk->kick_fd < 0 || blk->stop_fd < 0) {
		pr_err("%s: eventfd: %s", blk->name, strerror(errno));
		return -errno;
	}
	ret = incoming ? upgrade_fault__point("disk-uring") : 0;
	if (!ret)
		ret = io_uring_queue_init(BLK_URING_DEPTH, &blk->ring, 0);
	if (ret) {
		pr_err("%s: io_uring_queue_init: %s", blk->name, strerror(-ret));
		return ret;
	}
	blk->ring_up = true;
	blk__arm(blk, blk->kick_fd, &blk->kick_buf, BLK_TAG_KICK);
	blk__arm(blk, blk->stop_fd, &blk->stop_buf, BLK_TAG_STOP);
	io_uring_submit(&blk->ring);
	ret = -pthread_create(&blk->thread, NULL, blk__thread, blk);
	if (ret) {
		pr_err("%s: cannot start its thread: %s", blk->name, strerror(-ret));
		return ret;
	}
	blk->thread_up = true;
	return 0;
}

static void blk__destroy(struct vm *vm, struct virtio_blk *blk)
{
	u64 one = 1;

	if (blk->thread_up) {
		if (write(blk->stop_fd, &one, sizeof(one)) != sizeof(one))
			pr_warn("%s: cannot stop its thread: %s", blk->name, strerror(errno));
		pthread_join(blk->thread, NULL);
	}
	/* Waits for what is still in flight before guest memory goes. */
	if (blk->ring_up)
		io_uring_queue_exit(&blk->ring);
	virtio_pci__doorbells_off(&blk->vp);
	pci__remove(vm, &blk->vp.fn);
	pthread_mutex_destroy(&blk->vp.lock);
	pthread_cond_destroy(&blk->drained);
	if (blk->kick_fd >= 0)
		close(blk->kick_fd);
	if (blk->stop_fd >= 0)
		close(blk->stop_fd);
	if (blk->fd >= 0)
		close(blk->fd);
	free(blk);
}

static int blk__create(struct vm *vm, unsigned int i, struct device_in *in,
		       struct virtio_blk **out)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	u64 features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		       (1ull << VIRTIO_BLK_F_FLUSH);
	int ret;

	if (!blk)
		return -ENOMEM;
	blk->fd = blk->kick_fd = blk->stop_fd = -1;
	snprintf(blk->name, sizeof(blk->name), "virtio-blk%u", i);
	pthread_cond_init(&blk->drained, NULL);
	ret = blk__open(blk, vm->cfg->disks[i], in, i);
	if (blk->readonly)
		features |= 1ull << VIRTIO_BLK_F_RO;
	if (!ret)
		ret = virtio_pci__init(&blk->vp, vm, blk->name, VIRTIO_BLK_DEVICE_ID,
				       VIRTIO_ID_BLOCK, BLK_PCI_CLASS, 1, features, &blk_vp_ops,
				       blk);
	if (!ret)
		ret = blk__start_thread(blk, in != NULL);
	if (!ret) {
		ret = pci__add(vm, &blk->vp.fn, -1);
		if (ret)
			pr_err("%s: cannot put it on the PCI bus: %s", blk->name, strerror(-ret));
	}
	if (ret) {
		blk__destroy(vm, blk);
		return ret;
	}
	*out = blk;
	return 0;
}

static void virtio_blk__exit(struct vm *vm)
{
	struct virtio_blks *b = vm->virtio_blk;
	unsigned int i;

	if (!b)
		return;
	for (i = b->nr; i-- > 0;)
		blk__destroy(vm, b->disks[i]);
	free(b);
	vm->virtio_blk = NULL;
}

static int virtio_blk__init(struct vm *vm, struct device_in *in)
{
	struct virtio_blks *b;
	int ret = 0;

	if (!vm->cfg->nr_disks)
		return 0;
	if (!vm->pci) {
		pr_err("virtio-blk: --disk needs the PCI bus");
		return -ENODEV;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	vm->virtio_blk = b;
	for (; b->nr < vm->cfg->nr_disks && !ret; b->nr += !ret)
		ret = blk__create(vm, b->nr, in, &b->disks[b->nr]);
	if (ret)
		virtio_blk__exit(vm);
	return ret;
}

static void blk__save(struct virtio_blk *blk, unsigned int i, struct state_buf *b)
{
	struct state_virtio_blk *st;

	st = state__put_space(b, STATE_DEV_VIRTIO_BLK, i, sizeof(*st));
	if (!st)
		return;
	virtio_pci__save(&blk->vp, &st->vp);
	st->capacity = blk->capacity;
}

static void virtio_blk__save(struct vm *vm, struct state_buf *b)
{
	struct virtio_blks *d = vm->virtio_blk;
	unsigned int i;

	for (i = 0; d && i < d->nr; i++)
		blk__save(d->disks[i], i, b);
}

static int blk__restore(struct virtio_blk *blk, const struct state_virtio_blk *st)
{
	int ret;

	if (st->capacity != blk->capacity) {
		pr_err("%s: saved as another disk (%llu sectors)", blk->name,
		       (unsigned long long)st->capacity);
		return -EINVAL;
	}
	ret = virtio_pci__restore(&blk->vp, &st->vp);
	/* What the driver offered while the old image was frozen. */
	if (!ret)
		blk__notify(&blk->vp, 0);
	return ret;
}

static int virtio_blk__restore(struct vm *vm, struct device_in *in)
{
	struct virtio_blks *d = vm->virtio_blk;
	const struct state_rec *rec;
	unsigned int i;
	int ret;

	for (i = 0; d && i < d->nr; i++) {
		rec = device_in__find(in, STATE_DEV_VIRTIO_BLK, i);
		if (!rec) {
			pr_err("%s: no saved state for it", d->disks[i]->name);
			return -EINVAL;
		}
		ret = blk__restore(d->disks[i], rec->payload);
		if (ret)
			return ret;
	}
	return 0;
}

static void virtio_blk__keep_fds(struct vm *vm, struct device_keep *k)
{
	struct virtio_blks *d = vm->virtio_blk;
	unsigned int i;

	for (i = 0; d && i < d->nr; i++)
		device_keep__fd(k, &virtio_blk_ops, (u16)i, d->disks[i]->fd);
}

/* Take no new request and wait for those in flight: 0, or -ETIMEDOUT. */
static int blk__drain(struct virtio_blk *blk, unsigned int *drained)
{
	struct timespec deadline;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += BLK_DRAIN_MAX_S;
	pthread_mutex_lock(&blk->vp.lock);
	blk->frozen = true;
	*drained = blk->nr_inflight;
	while (blk->nr_inflight && !ret)
		ret = -pthread_cond_timedwait(&blk->drained, &blk->vp.lock, &deadline);
	pthread_mutex_unlock(&blk->vp.lock);
	return ret;
}

static void blk__thaw(struct virtio_blk *blk)
{
	pthread_mutex_lock(&blk->vp.lock);
	blk->frozen = false;
	pthread_mutex_unlock(&blk->vp.lock);
	blk__notify(&blk->vp, 0);
}

static void virtio_blk__thaw(struct vm *vm)
{
	struct virtio_blks *d = vm->virtio_blk;
	unsigned int i;

	for (i = 0; d && i < d->nr; i++)
		blk__thaw(d->disks[i]);
}

static int virtio_blk__freeze(struct vm *vm, bool keep_vm, char *why, size_t len)
{
	struct virtio_blks *d = vm->virtio_blk;
	unsigned int i, n = 0;
	u64 start = now_ns();
	int ret = 0;

	(void)keep_vm;
	for (i = 0; d && i < d->nr && !ret; i++) {
		ret = blk__drain(d->disks[i], &n);
		if (ret)
			snprintf(why, len, "%s: %u requests still in flight after %d s",
				 d->disks[i]->name, d->disks[i]->nr_inflight, BLK_DRAIN_MAX_S);
		else if (n)
			pr_info("%s: %u requests in flight completed in %llu us", d->disks[i]->name,
				n, (unsigned long long)(now_ns() - start) / 1000);
	}
	if (ret)
		virtio_blk__thaw(vm);
	return ret;
}

static int virtio_blk__check_config(const struct vmm_config *cfg)
{
	char path[4096];
	unsigned int i;
	bool ro;

	for (i = 0; i < cfg->nr_disks; i++) {
		virtio_blk__parse(cfg->disks[i], path, sizeof(path), &ro);
		if (access(path, ro ? R_OK : R_OK | W_OK)) {
			pr_err("disk %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static const struct device_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.order = DEVICE_ORDER_PCI,
	.id = VIRTIO_BLK_DEVICE_ID,
	.check_config = virtio_blk__check_config,
	.init = virtio_blk__init,
	.exit = virtio_blk__exit,
	.restore = virtio_blk__restore,
	.save = virtio_blk__save,
	.keep_fds = virtio_blk__keep_fds,
	.freeze = virtio_blk__freeze,
	.thaw = virtio_blk__thaw,
};
DEVICE_REGISTER(virtio_blk_ops);
