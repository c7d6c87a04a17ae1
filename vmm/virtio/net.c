// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio spec 5.1) on a tap: --net tap=NAME[,mac=M] opens
 * (or attaches to) the tap NAME, --net fd=N[,mac=M] uses a tap a manager
 * opened and gave us.  Either way the tap must carry the virtio-net
 * header (IFF_VNET_HDR): it is set to 12 bytes (struct virtio_net_hdr_v1,
 * with num_buffers), so a guest buffer is read from or written to the
 * tap as it is, header first, with no copy.
 *
 * Two queues, rx (0) and tx (1); no control queue, no multiqueue, no
 * offloads (TUNSETOFFLOAD 0: the tap hands us whole, checksummed frames
 * and takes only such; the guest's stock driver then uses small rx
 * buffers of one frame each).
 *
 * One thread per device polls the tap, the doorbells (the trapped ones
 * through a kick eventfd, then the ioeventfds) and a stop eventfd.  tx
 * writes every chain the driver offers to the tap and completes it; rx
 * reads a frame from the tap into each buffer the driver posted.  When rx
 * has no buffer left the tap is not polled until the driver kicks rx, so
 * the thread never spins and frames wait in the tap's own queue (dropped
 * there, as with any tap, when it overflows).
 *
 * Live upgrade: a frame is read or written whole under the device's lock,
 * so once freeze holds the lock nothing is in flight: the records are the
 * ring indices, and no buffer can be completed twice or lost.  The tap is
 * a kept file: the interface is never re-created, its link never drops;
 * frames that arrive during the pause wait in the tap's queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "vmm/config.h"
#include "vmm/device.h"
#include "vmm/state.h"
#include "vmm/virtio.h"
#include "vmm/vm.h"

#define NET_RXQ			0
#define NET_TXQ			1
#define NET_NR_QUEUES		2
#define NET_HDR_LEN		((int)sizeof(struct virtio_net_hdr_v1))
#define VIRTIO_NET_DEVICE_ID	33
#define NET_PCI_CLASS		0x020000	/* network, Ethernet */
#define NET_FEATURES		((1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS))
/* stop, kick, two doorbells, the tap */
#define NET_POLL_MAX		5

struct virtio_net {
	struct virtio_pci vp;
	char name[32];
	int tap_fd;
	u8 mac[6];
	int kick_fd, stop_fd;
	bool thread_up;
	pthread_t thread;
	/* A live upgrade: touch neither the rings nor the tap. */
	bool frozen;
	/* rx has no buffer: the tap is not polled until the driver kicks. */
	bool rx_starved;
	struct virtq_chain chain;	/* the one being served (lock held) */
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

struct virtio_nets {
	unsigned int nr;
	struct virtio_net *nets[CONFIG_NET_MAX];
};

static const struct device_ops virtio_net_ops;

static int net__parse_mac(const char *s, u8 mac[6])
{
	unsigned int b[6], i;
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (u8)b[i];
	/* A unicast address: bit 0 of the first byte is the group bit. */
	return mac[0] & 1 ? -EINVAL : 0;
}

int virtio_net__parse(const char *arg, unsigned int i, struct virtio_net_opts *o)
{
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);
	char *end;
	long fd;

	*o = (struct virtio_net_opts){
		.fd = -1,
		/* QEMU's prefix, as its default addresses have it. */
		.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, (u8)(0x56 + i) },
	};
	if (!strncmp(arg, "tap=", 4)) {
		if (n == 4 || n - 4 >= sizeof(o->ifname))
			return -EINVAL;
		memcpy(o->ifname, arg + 4, n - 4);
		o->ifname[n - 4] = 0;
	} else if (!strncmp(arg, "fd=", 3)) {
		errno = 0;
		fd = strtol(arg + 3, &end, 10);
		if (errno || end != arg + n || end == arg + 3 || fd < 0 || fd > INT32_MAX)
			return -EINVAL;
		o->fd = (int)fd;
	} else {
		return -EINVAL;
	}
	if (!comma)
		return 0;
	if (strncmp(comma + 1, "mac=", 4))
		return -EINVAL;
	return net__parse_mac(comma + 5, o->mac);
}

static void net__config(struct virtio_pci *vp, u64 off, bool is_write, u8 *data,
			unsigned int size)
{
	struct virtio_net *net = vp->opaque;
	struct virtio_net_config c = {
		.status = VIRTIO_NET_S_LINK_UP,
		/* Only read with VIRTIO_NET_F_MQ, which we lack: one pair. */
		.max_virtqueue_pairs = 1,
	};

	memcpy(c.mac, net->mac, sizeof(c.mac));
	memset(data, 0, is_write ? 0 : size);
	/* Nothing in it is writable without VIRTIO_NET_F_CTRL_MAC_ADDR. */
	if (is_write || off >= sizeof(c) || size > sizeof(c) - off)
		return;
	memcpy(data, (u8 *)&c + off, size);
}

/* The chain's readable or writable buffers as iovecs; returns how many. */
static int net__iovecs(struct virtio_net *net, const struct virtq_chain *c, bool in,
		       size_t *bytes)
{
	unsigned int i = in ? c->nr_out : 0, end = in ? c->nr_out + c->nr_in : c->nr_out;
	int n = 0;

	*bytes = 0;
	for (; i < end; i++, n++) {
		net->iov[n] = (struct iovec){ c->bufs[i].hva, c->bufs[i].len };
		*bytes += c->bufs[i].len;
	}
	return n;
}

/* Send every chain tx offers; true if the driver is to be interrupted. */
static bool net__tx(struct virtio_net *net)
{
	struct virtq *vq = &net->vp.vqs[NET_TXQ];
	struct virtq_chain *c = &net->chain;
	bool pushed = false;
	char why[160];
	size_t bytes;
	int ret, n;

	while (!net->frozen && (ret = virtq__pop(vq, c, why, sizeof(why))) != 0) {
		if (ret == -EIO) {
			virtio_pci__needs_reset(&net->vp, why);
			vq->ready = false;
			return false;
		}
		if (ret == -EBADMSG) {
			pr_debug("%s: tx: %s", net->name, why);
		} else {
			n = net__iovecs(net, c, false, &bytes);
			/* A frame the tap refuses is dropped, as a wire would. */
			if (bytes <= NET_HDR_LEN || c->nr_in)
				pr_debug("%s: tx: chain %u is no frame", net->name, c->head);
			else if (writev(net->tap_fd, net->iov, n) < 0)
				pr_debug("%s: tx: %s", net->name, strerror(errno));
		}
		virtq__push(vq, c->head, 0);
		pushed = true;
	}
	return pushed && vq->ready && virtq__should_notify(vq);
}

/* Read one frame into @c: the bytes written, 0 for a bad chain, or -errno. */
static ssize_t net__rx_one(struct virtio_net *net, const struct virtq_chain *c)
{
	const u16 one = 1;
	size_t bytes;
	ssize_t got;
	int n;

	n = net__iovecs(net, c, true, &bytes);
	if (c->nr_out || bytes < (size_t)NET_HDR_LEN) {
		pr_debug("%s: rx: chain %u has no room for a frame", net->name, c->head);
		return 0;
	}
	got = readv(net->tap_fd, net->iov, n);
	if (got < 0)
		return -errno;
	/* Too short to be a frame, or cut (more than the buffer): dropped. */
	if (got <= NET_HDR_LEN || (size_t)got > bytes)
		return 0;
	/* The tap leaves num_buffers alone; one buffer holds the frame. */
	virtq_chain__write(c, offsetof(struct virtio_net_hdr_v1, num_buffers), &one,
			   sizeof(one));
	return got;
}

/* Fill the buffers rx offers from the tap; true if the driver is to be interrupted. */
static bool net__rx(struct virtio_net *net)
{
	struct virtq *vq = &net->vp.vqs[NET_RXQ];
	struct virtq_chain *c = &net->chain;
	bool pushed = false;
	char why[160];
	ssize_t got;
	int ret;

	while (!net->frozen && !net->rx_starved && vq->ready) {
		ret = virtq__pop(vq, c, why, sizeof(why));
		if (!ret) {
			net->rx_starved = true;
			break;
		}
		if (ret == -EIO) {
			virtio_pci__needs_reset(&net->vp, why);
			vq->ready = false;
			return false;
		}
		got = ret == 1 ? net__rx_one(net, c) : 0;
		if (got < 0) {
			/* Nothing to read (or the tap failed): the buffer stays the driver's. */
			virtq__unpop(vq);
			if (got != -EAGAIN) {
				pr_warn("%s: rx: %s", net->name, strerror((int)-got));
				net->rx_starved = true;
			}
			break;
		}
		virtq__push(vq, c->head, (u32)got);
		pushed = true;
	}
	return pushed && vq->ready && virtq__should_notify(vq);
}

static void net__add_poll(struct pollfd *pfd, unsigned int *n, int fd)
{
	if (fd >= 0)
		pfd[(*n)++] = (struct pollfd){ .fd = fd, .events = POLLIN };
}

/* What the thread waits for now (lock held); the stop eventfd first. */
static unsigned int net__poll_set(struct virtio_net *net, struct pollfd *pfd)
{
	unsigned int n = 0, q;

	net__add_poll(pfd, &n, net->stop_fd);
	net__add_poll(pfd, &n, net->kick_fd);
	if (net->frozen)
		return n;
	for (q = 0; q < NET_NR_QUEUES; q++)
		net__add_poll(pfd, &n, virtio_pci__doorbell_fd(&net->vp, q));
	if (net->vp.vqs[NET_RXQ].ready && !net->rx_starved)
		net__add_poll(pfd, &n, net->tap_fd);
	return n;
}

static void *net__thread(void *opaque)
{
	struct virtio_net *net = opaque;
	struct pollfd pfd[NET_POLL_MAX];
	bool signal_rx, signal_tx;
	unsigned int n, i;
	u64 count;

	for (;;) {
		pthread_mutex_lock(&net->vp.lock);
		n = net__poll_set(net, pfd);
		pthread_mutex_unlock(&net->vp.lock);
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("%s: poll: %s", net->name, strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		pthread_mutex_lock(&net->vp.lock);
		/* The eventfds: a kick of either queue may have posted rx buffers. */
		for (i = 1; i < n; i++) {
			if (pfd[i].fd == net->tap_fd || !pfd[i].revents)
				continue;
			if (read(pfd[i].fd, &count, sizeof(count)) == sizeof(count))
				net->rx_starved = false;
		}
		signal_tx = net__tx(net);
		signal_rx = net__rx(net);
		pthread_mutex_unlock(&net->vp.lock);
		if (signal_tx)
			virtio_pci__signal_queue(&net->vp, NET_TXQ);
		if (signal_rx)
			virtio_pci__signal_queue(&net->vp, NET_RXQ);
	}
	return NULL;
}

static void net__kick(struct virtio_net *net)
{
	u64 one = 1;

	if (write(net->kick_fd, &one, sizeof(one)) != sizeof(one))
		pr_debug("%s: kick lost: %s", net->name, strerror(errno));
}

static void net__notify(struct virtio_pci *vp, unsigned int q)
{
	(void)q;
	net__kick(vp->opaque);
}

static void net__reset(struct virtio_pci *vp)
{
	struct virtio_net *net = vp->opaque;

	/* The queues go: poll the tap again once rx is set up anew. */
	net->rx_starved = false;
}

static const struct virtio_pci_ops net_vp_ops = {
	.config = net__config,
	.notify = net__notify,
	.reset = net__reset,
};

/*
 * The tap as we use it: a tap (not tun) with the virtio-net header and
 * no packet information, the header 12 bytes, no offloads, reads that
 * never block, and not inherited by what the VMM execs (a live upgrade
 * keeps it its own way).
 */
static int net__tap_setup(struct virtio_net *net, const char *what)
{
	int hdr = NET_HDR_LEN, flags;
	struct ifreq ifr = { 0 };

	if (ioctl(net->tap_fd, TUNGETIFF, &ifr)) {
		pr_err("%s: %s is no tap: TUNGETIFF: %s", net->name, what, strerror(errno));
		return -errno;
	}
	if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) !=
	    (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) {
		pr_err("%s: %s (%s) is not a tap with IFF_NO_PI and IFF_VNET_HDR (flags 0x%x)",
		       net->name, what, ifr.ifr_name, ifr.ifr_flags);
		return -EINVAL;
	}
	if (ioctl(net->tap_fd, TUNSETVNETHDRSZ, &hdr) || ioctl(net->tap_fd, TUNSETOFFLOAD, 0)) {
		pr_err("%s: %s (%s): cannot set its header and offloads: %s", net->name, what,
		       ifr.ifr_name, strerror(errno));
		return -errno;
	}
	flags = fcntl(net->tap_fd, F_GETFL);
	if (flags < 0 || fcntl(net->tap_fd, F_SETFL, flags | O_NONBLOCK) ||
	    fcntl(net->tap_fd, F_SETFD, FD_CLOEXEC)) {
		pr_err("%s: %s: fcntl: %s", net->name, what, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Attach to (or create) the tap @ifname. */
static int net__tap_open(struct virtio_net *net, const char *ifname)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };

	net->tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (net->tap_fd < 0) {
		pr_err("%s: tap %s: /dev/net/tun: %s", net->name, ifname, strerror(errno));
		return -errno;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(net->tap_fd, TUNSETIFF, &ifr)) {
		pr_err("%s: tap %s: TUNSETIFF: %s", net->name, ifname, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * The tap: after a live upgrade the file the old image kept (the same
 * interface, never re-created); else the one --net names.
 */
static int net__open(struct virtio_net *net, const struct virtio_net_opts *o,
		     struct device_in *in, unsigned int i)
{
	char what[32];
	int ret;

	if (in) {
		net->tap_fd = device_in__take_fd(in, &virtio_net_ops, (u16)i);
		if (net->tap_fd < 0)
			pr_err("%s: no tap kept by the old image: %s", net->name,
			       strerror(-net->tap_fd));
		return net->tap_fd < 0 ? net->tap_fd : 0;
	}
	if (o->fd >= 0) {
		/* Ours from now on (net__tap_setup() makes it close-on-exec). */
		net->tap_fd = o->fd;
		snprintf(what, sizeof(what), "fd %d", o->fd);
	} else {
		ret = net__tap_open(net, o->ifname);
		if (ret)
			return ret;
		snprintf(what, sizeof(what), "tap %s", o->ifname);
	}
	return net__tap_setup(net, what);
}

static int net__start_thread(struct virtio_net *net)
{
	int ret;

	net->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	net->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (net->kick_fd < 0 || net->stop_fd < 0) {
		pr_err("%s: eventfd: %s", net->name, strerror(errno));
		return -errno;
	}
	ret = -pthread_create(&net->thread, NULL, net__thread, net);
	if (ret) {
		pr_err("%s: cannot start its thread: %s", net->name, strerror(-ret));
		return ret;
	}
	net->thread_up = true;
	return 0;
}

void virtio_net__destroy(struct vm *vm, struct virtio_net *net)
{
	u64 one = 1;

	if (net->thread_up) {
		if (write(net->stop_fd, &one, sizeof(one)) != sizeof(one))
			pr_warn("%s: cannot stop its thread: %s", net->name, strerror(errno));
		pthread_join(net->thread, NULL);
	}
	virtio_pci__doorbells_off(&net->vp);
	pci__remove(vm, &net->vp.fn);
	pthread_mutex_destroy(&net->vp.lock);
	if (net->kick_fd >= 0)
		close(net->kick_fd);
	if (net->stop_fd >= 0)
		close(net->stop_fd);
	if (net->tap_fd >= 0)
		close(net->tap_fd);
	free(net);
}

/* Device @i on the tap --net names, or (@in) the kept one, or @fd if >= 0. */
static int net__create(struct vm *vm, unsigned int i, const char *arg, struct device_in *in,
		       int fd, struct virtio_net **out)
{
	struct virtio_net *net = calloc(1, sizeof(*net));
	struct virtio_net_opts o;
	int ret = 0;

	if (!net)
		return -ENOMEM;
	net->tap_fd = net->kick_fd = net->stop_fd = -1;
	snprintf(net->name, sizeof(net->name), "virtio-net%u", i);
	if (virtio_net__parse(arg, i, &o)) {
		pr_err("%s: --net %s: not tap=NAME or fd=N, then ,mac=MAC", net->name, arg);
		free(net);
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	memcpy(net->mac, o.mac, sizeof(net->mac));
	if (fd >= 0)
		net->tap_fd = fd;
	else
		ret = net__open(net, &o, in, i);
	if (!ret)
		ret = virtio_pci__init(&net->vp, vm, net->name, VIRTIO_NET_DEVICE_ID,
				       VIRTIO_ID_NET, NET_PCI_CLASS, NET_NR_QUEUES, NET_FEATURES,
				       &net_vp_ops, net);
	if (!ret)
		ret = net__start_thread(net);
	if (!ret) {
		ret = pci__add(vm, &net->vp.fn, -1);
		if (ret)
			pr_err("%s: cannot put it on the PCI bus: %s", net->name, strerror(-ret));
	}
	if (ret) {
		virtio_net__destroy(vm, net);
		return ret;
	}
	*out = net;
	return 0;
}

struct virtio_net *virtio_net__create(struct vm *vm, const char *arg, int fd)
{
	struct virtio_net *net;

	return net__create(vm, 0, arg, NULL, fd, &net) ? NULL : net;
}

struct virtio_pci *virtio_net__pci(struct virtio_net *net)
{
	return &net->vp;
}

static void virtio_net__exit(struct vm *vm)
{
	struct virtio_nets *d = vm->virtio_net;
	unsigned int i;

	if (!d)
		return;
	for (i = d->nr; i-- > 0;)
		virtio_net__destroy(vm, d->nets[i]);
	free(d);
	vm->virtio_net = NULL;
}

static int virtio_net__init(struct vm *vm, struct device_in *in)
{
	struct virtio_nets *d;
	int ret = 0;

	if (!vm->cfg->nr_nets)
		return 0;
	if (!vm->pci) {
		pr_err("virtio-net: --net needs the PCI bus");
		return -ENODEV;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	vm->virtio_net = d;
	for (; d->nr < vm->cfg->nr_nets && !ret; d->nr += !ret)
		ret = net__create(vm, d->nr, vm->cfg->nets[d->nr], in, -1, &d->nets[d->nr]);
	if (ret)
		virtio_net__exit(vm);
	return ret;
}

static void virtio_net__save(struct vm *vm, struct state_buf *b)
{
	struct virtio_nets *d = vm->virtio_net;
	struct state_virtio_net *st;
	unsigned int i;

	for (i = 0; d && i < d->nr; i++) {
		st = state__put_space(b, STATE_DEV_VIRTIO_NET, i, sizeof(*st));
		if (!st)
			return;
		virtio_pci__save(&d->nets[i]->vp, &st->vp);
		memcpy(st->mac, d->nets[i]->mac, sizeof(st->mac));
	}
}

static int virtio_net__restore(struct vm *vm, struct device_in *in)
{
	struct virtio_nets *d = vm->virtio_net;
	const struct state_virtio_net *st;
	const struct state_rec *rec;
	struct virtio_net *net;
	unsigned int i;
	int ret;

	for (i = 0; d && i < d->nr; i++) {
		net = d->nets[i];
		rec = device_in__find(in, STATE_DEV_VIRTIO_NET, i);
		if (!rec) {
			pr_err("%s: no saved state for it", net->name);
			return -EINVAL;
		}
		st = rec->payload;
		if (memcmp(st->mac, net->mac, sizeof(net->mac))) {
			pr_err("%s: saved with another MAC address", net->name);
			return -EINVAL;
		}
		ret = virtio_pci__restore(&net->vp, &st->vp);
		if (ret)
			return ret;
		/* What the driver offered, and the tap received, during the pause. */
		net__kick(net);
	}
	return 0;
}

static void virtio_net__keep_fds(struct vm *vm, struct device_keep *k)
{
	struct virtio_nets *d = vm->virtio_net;
	unsigned int i;

	for (i = 0; d && i < d->nr; i++)
		device_keep__fd(k, &virtio_net_ops, (u16)i, d->nets[i]->tap_fd);
}

static void virtio_net__set_frozen(struct vm *vm, bool frozen)
{
	struct virtio_nets *d = vm->virtio_net;
	unsigned int i;

	for (i = 0; d && i < d->nr; i++) {
		pthread_mutex_lock(&d->nets[i]->vp.lock);
		d->nets[i]->frozen = frozen;
		pthread_mutex_unlock(&d->nets[i]->vp.lock);
		/* The thread waits for what it must now wait for. */
		net__kick(d->nets[i]);
	}
}

static void virtio_net__thaw(struct vm *vm)
{
	virtio_net__set_frozen(vm, false);
}

/*
 * Nothing is ever in flight outside the lock: once it is taken here the
 * rings and the tap are left alone, and nothing needs completing.
 */
static int virtio_net__freeze(struct vm *vm, bool keep_vm, char *why, size_t len)
{
	(void)keep_vm;
	(void)why;
	(void)len;
	virtio_net__set_frozen(vm, true);
	return 0;
}

static const struct device_ops virtio_net_ops = {
	.name = "virtio-net",
	.order = DEVICE_ORDER_PCI,
	.id = VIRTIO_NET_DEVICE_ID,
	.init = virtio_net__init,
	.exit = virtio_net__exit,
	.restore = virtio_net__restore,
	.save = virtio_net__save,
	.keep_fds = virtio_net__keep_fds,
	.freeze = virtio_net__freeze,
	.thaw = virtio_net__thaw,
};
DEVICE_REGISTER(virtio_net_ops);
