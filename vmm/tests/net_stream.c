// SPDX-License-Identifier: GPL-2.0
/*
 * The host's side of the guest's TCP echo: the tap and the checked stream
 * (net_stream.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "net_stream.h"
#include "testlib.h"
#include "vmm/util.h"

#define HOST_ADDR	"10.0.2.2/24"
#define GUEST_IP	"10.0.2.15"
#define GUEST_PORT	5000
/* Sent and not yet echoed: below both sides' buffers, so nc never blocks both ways. */
#define WINDOW		(64 << 10)

/* Byte @i of the stream: a little-endian 32-bit counter, one per 4 bytes. */
static unsigned char pattern(unsigned long long i)
{
	return (unsigned char)((u32)(i / 4) >> (8 * (i % 4)));
}

bool net_tap__available(void)
{
	return access("/dev/net/tun", R_OK | W_OK) == 0;
}

/* NET_TAP with the virtio-net header, as the VMM wants it: its fd. */
static int net_tap__open(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR);

	TEST_REQUIRE(fd >= 0, "no /dev/net/tun (the tun module)");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", NET_TAP);
	TEST_ASSERT(!ioctl(fd, TUNSETIFF, &ifr), "TUNSETIFF %s: %s", NET_TAP, strerror(errno));
	return fd;
}

static void net_tap__persist(int fd, bool on)
{
	TEST_ASSERT(!ioctl(fd, TUNSETPERSIST, on ? 1 : 0), "TUNSETPERSIST %s: %s", NET_TAP,
		    strerror(errno));
}

int net_tap__setup(bool persistent, char *arg, size_t len)
{
	int fd = net_tap__open();

	/* Persistent or not, as asked: a failed run may have left one either way. */
	net_tap__persist(fd, persistent);
	if (persistent) {
		close(fd);
		fd = -1;
		snprintf(arg, len, "tap=%s", NET_TAP);
	} else {
		snprintf(arg, len, "fd=%d", fd);
	}
	TEST_ASSERT(!system("ip addr flush dev " NET_TAP " && ip addr add " HOST_ADDR " dev "
			    NET_TAP " && ip link set " NET_TAP " up"),
		    "cannot give %s the address %s", NET_TAP, HOST_ADDR);
	return fd;
}

void net_tap__remove(void)
{
	int fd = net_tap__open();

	net_tap__persist(fd, false);
	close(fd);
}

static unsigned long long net_tap__attr(const char *attr)
{
	char path[128], *line;
	unsigned long long v;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", NET_TAP, attr);
	line = test_read_first_line(path);
	v = strtoull(line, NULL, 10);
	free(line);
	return v;
}

/* The VMM must still run: else its guest's console and its log, and fail. */
static void net_stream__vmm_runs(const char *log)
{
	if (waitpid(test_vmm_pid, NULL, WNOHANG) == 0)
		return;
	test_show_tail(log, 40);
	test_show_vmm();
	test_vmm_pid = 0;
	TEST_ASSERT(0, "the VMM exited (its guest's console and its log above)");
}

static bool net_stream__send(struct net_stream *s)
{
	unsigned char buf[8192];
	size_t len = MIN(sizeof(buf), WINDOW - (size_t)(s->sent - s->checked)), i;
	ssize_t n;

	for (i = 0; i < len; i++)
		buf[i] = pattern(s->sent + i);
	n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN) {
		snprintf(s->err, sizeof(s->err), "send at byte %llu: %s", s->sent, strerror(errno));
		return false;
	}
	s->sent += n > 0 ? (unsigned long long)n : 0;
	return true;
}

static bool net_stream__check(struct net_stream *s)
{
	unsigned char buf[8192];
	ssize_t n, i;

	n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return true;
	if (n <= 0) {
		snprintf(s->err, sizeof(s->err), "at byte %llu: %s", s->checked,
			 n ? strerror(errno) : "the guest closed the connection");
		return false;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] != pattern(s->checked + i)) {
			snprintf(s->err, sizeof(s->err), "byte %llu came back as 0x%02x, not 0x%02x",
				 s->checked + i, buf[i], pattern(s->checked + i));
			return false;
		}
	}
	pthread_mutex_lock(&s->lock);
	s->checked += n;
	pthread_mutex_unlock(&s->lock);
	return true;
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* Whether to send more: the window has room, and the pace allows it. */
static bool net_stream__may_send(struct net_stream *s)
{
	if (s->sent - s->checked >= WINDOW)
		return false;
	return !s->kib_per_s || s->sent < (now_ms() - s->start_ms) * s->kib_per_s * 1024 / 1000;
}

static void *net_stream__run(void *opaque)
{
	struct net_stream *s = opaque;
	struct pollfd p = { .fd = s->fd };
	bool ok = true;

	while (ok && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		p.events = POLLIN | (net_stream__may_send(s) ? POLLOUT : 0);
		/* A wake-up now and then to see stop; not a deadline. */
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & POLLOUT)
			ok = net_stream__send(s);
		if (ok && p.revents & (POLLIN | POLLERR | POLLHUP))
			ok = net_stream__check(s);
	}
	return NULL;
}

unsigned long long net_stream__checked(struct net_stream *s)
{
	unsigned long long n;

	pthread_mutex_lock(&s->lock);
	n = s->checked;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Until @min bytes came back checked (or the stream failed, or the VMM quit). */
static void net_stream__wait(struct net_stream *s, unsigned long long min)
{
	struct test_wait w;

	for (test_wait_start(&w); net_stream__checked(s) < min; ) {
		TEST_ASSERT(!s->err[0], "the TCP stream through the guest failed: %s", s->err);
		net_stream__vmm_runs(s->log);
		if (!test_wait_more(&w)) {
			test_show_tail(s->log, 25);
			TEST_ASSERT(0, "the stream stopped at %llu bytes, want %llu",
				    net_stream__checked(s), min);
		}
	}
}

void net_stream__progress(struct net_stream *s, unsigned long long before)
{
	net_stream__wait(s, before + NET_PROGRESS);
}

/* Once the guest's console says NET-UP: a connection to its echo. */
static int net_guest__connect(const char *log)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(GUEST_PORT) };
	struct test_wait w;
	int fd;

	inet_pton(AF_INET, GUEST_IP, &a.sin_addr);
	for (test_wait_start(&w); !test_file_has(log, "NET-UP"); ) {
		net_stream__vmm_runs(log);
		if (!test_wait_more(&w)) {
			test_show_tail(log, 40);
			TEST_ASSERT(0, "the guest did not bring eth0 up (its console above)");
		}
	}
	for (test_wait_start(&w);;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		TEST_ASSERT(fd >= 0, "socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		close(fd);
		net_stream__vmm_runs(log);
		TEST_ASSERT(test_wait_more(&w), "cannot connect to %s:%d: %s", GUEST_IP,
			    GUEST_PORT, strerror(errno));
	}
}

void net_stream__start(struct net_stream *s, const char *log, unsigned int kib_per_s)
{
	*s = (struct net_stream){ .log = log, .kib_per_s = kib_per_s,
				  .lock = PTHREAD_MUTEX_INITIALIZER };
	s->start_ms = now_ms();
	s->fd = net_guest__connect(log);
	s->ifindex = net_tap__attr("ifindex");
	s->carrier_changes = net_tap__attr("carrier_changes");
	TEST_ASSERT(!pthread_create(&s->thread, NULL, net_stream__run, s), "pthread_create");
	net_stream__wait(s, NET_PROGRESS);
}

void net_stream__finish(struct net_stream *s)
{
	__atomic_store_n(&s->stop, true, __ATOMIC_RELAXED);
	pthread_join(s->thread, NULL);
	close(s->fd);
	TEST_ASSERT(!s->err[0], "the TCP stream through the guest failed: %s", s->err);
	TEST_ASSERT(net_tap__attr("ifindex") == s->ifindex,
		    "%s's ifindex went from %llu to %llu: re-created", NET_TAP, s->ifindex,
		    net_tap__attr("ifindex"));
	TEST_ASSERT(net_tap__attr("carrier_changes") == s->carrier_changes,
		    "%s's carrier changed %llu times: its link dropped", NET_TAP,
		    net_tap__attr("carrier_changes") - s->carrier_changes);
}

void net_console__check(const char *log)
{
	static const char *const bad[] = {
		"NETDEV WATCHDOG", "transmit queue", "virtio_net", "Kernel panic", "BUG:",
	};
	char cmd[400];
	unsigned int i;

	snprintf(cmd, sizeof(cmd), "grep -E 'virtio|eth0|NETDEV|WARNING|BUG|panic' '%s' |"
		 " sed 's/^/guest| /'", log);
	if (system(cmd))
		printf("(console log %s has none of the usual lines)\n", log);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		TEST_ASSERT(!test_file_has(log, bad[i]), "the guest's console has \"%s\" (%s)",
			    bad[i], log);
}
