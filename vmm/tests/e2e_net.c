// SPDX-License-Identifier: GPL-2.0
/*
 * A Linux guest on a virtio-net device (--net, virtio/net.c): its stock
 * virtio_pci (built in) and virtio_net (the initramfs loads it) bind, the
 * guest (vmmtest=net) gives eth0 10.0.2.15/24 and echoes back every TCP
 * connection to port 5000.  The test, on the tap's side (10.0.2.2/24),
 * streams a counter pattern through it and checks every byte that comes
 * back: frames go both ways, none is lost, repeated or reordered (TCP
 * would mask a loss as a stall, never as a wrong byte; a corrupted frame
 * is dropped by the checksum and retransmitted, so this checks the path
 * works and keeps working, and the bytes are the ones sent).
 *
 *   e2e_net VMM             --net tap=cprtap0 (a persistent tap the test
 *                           made, which the VMM attaches to); a few
 *                           hundred KiB echoed, then quit.
 *   e2e_net VMM MODE N      --net fd=N: a tap the test opened, passed to
 *                           the VMM and closed on its side, so the VMM's
 *                           file is the only one; the stream runs while
 *                           the VMM is live-upgraded N times in MODE (10
 *                           with CPRSTASH_TEST_LONG=1, scripts/test.sh
 *                           --long) and
 *                           must make progress after each, the connection
 *                           never reset.  The tap's ifindex and its
 *                           carrier_changes must not change: the
 *                           interface was never re-created, its link never
 *                           dropped (closing the last file of a tap drops
 *                           its carrier, deletes a non-persistent one).
 * Either way the guest's console must have no transmit timeout and no
 * virtio_net error.
 *
 * Environment: VMM_TEST_KERNEL, VMM_TEST_INITRD.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "testlib.h"
#include "vmm/kvm.h"

#define TAP		"cprtap0"
#define HOST_ADDR	"10.0.2.2/24"
#define GUEST_IP	"10.0.2.15"
#define GUEST_PORT	5000
/* Sent and not yet echoed: below both sides' buffers, so nc never blocks both ways. */
#define WINDOW		(64 << 10)
/* Progress asked for at the start and after each upgrade. */
#define PROGRESS	(128 << 10)

struct stream {
	int fd;
	unsigned long long sent, checked;	/* checked: read under lock */
	bool stop;
	char err[256];
	pthread_mutex_t lock;
};

/* Byte @i of the stream: a little-endian 32-bit counter, one per 4 bytes. */
static unsigned char pattern(unsigned long long i)
{
	return (unsigned char)((u32)(i / 4) >> (8 * (i % 4)));
}

static bool stream__send(struct stream *s)
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

static bool stream__check(struct stream *s)
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

static void *stream__run(void *opaque)
{
	struct stream *s = opaque;
	struct pollfd p = { .fd = s->fd };
	bool ok = true;

	while (ok && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		p.events = POLLIN | (s->sent - s->checked < WINDOW ? POLLOUT : 0);
		/* A wake-up now and then to see stop; not a deadline. */
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & POLLOUT)
			ok = stream__send(s);
		if (ok && p.revents & (POLLIN | POLLERR | POLLHUP))
			ok = stream__check(s);
	}
	return NULL;
}

static unsigned long long stream__checked(struct stream *s)
{
	unsigned long long n;

	pthread_mutex_lock(&s->lock);
	n = s->checked;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The VMM must still run: else its guest's console and its log, and fail. */
static void check_vmm_runs(const char *log)
{
	if (waitpid(test_vmm_pid, NULL, WNOHANG) == 0)
		return;
	test_show_tail(log, 40);
	test_show_vmm();
	test_vmm_pid = 0;
	TEST_ASSERT(0, "the VMM exited (its guest's console and its log above)");
}

/* Until @min bytes came back checked (or the stream failed, or the VMM quit). */
static void stream__wait(struct stream *s, unsigned long long min, const char *log)
{
	struct test_wait w;

	for (test_wait_start(&w); stream__checked(s) < min; ) {
		TEST_ASSERT(!s->err[0], "the TCP stream through the guest failed: %s", s->err);
		check_vmm_runs(log);
		if (!test_wait_more(&w)) {
			test_show_tail(log, 25);
			TEST_ASSERT(0, "the stream stopped at %llu bytes, want %llu",
				    stream__checked(s), min);
		}
	}
}

/* A tap with the virtio-net header, as the VMM wants it: its fd. */
static int tap_open(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR);

	TEST_REQUIRE(fd >= 0, "no /dev/net/tun (the tun module)");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
	TEST_ASSERT(!ioctl(fd, TUNSETIFF, &ifr), "TUNSETIFF %s: %s", TAP, strerror(errno));
	return fd;
}

static void tap_persist(int fd, bool on)
{
	TEST_ASSERT(!ioctl(fd, TUNSETPERSIST, on ? 1 : 0), "TUNSETPERSIST: %s", strerror(errno));
}

static unsigned long long tap_attr(const char *attr)
{
	char path[128], *line;
	unsigned long long v;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", TAP, attr);
	line = test_read_first_line(path);
	v = strtoull(line, NULL, 10);
	free(line);
	return v;
}

static void run(const char *cmd)
{
	TEST_ASSERT(system(cmd) == 0, "%s failed", cmd);
}

static int guest_connect(const char *log)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(GUEST_PORT) };
	struct test_wait w;
	int fd;

	inet_pton(AF_INET, GUEST_IP, &a.sin_addr);
	for (test_wait_start(&w); !test_file_has(log, "NET-UP"); ) {
		check_vmm_runs(log);
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
		check_vmm_runs(log);
		TEST_ASSERT(test_wait_more(&w), "cannot connect to %s:%d: %s", GUEST_IP,
			    GUEST_PORT, strerror(errno));
	}
}

/* No transmit timeout, no virtio_net message, no oops on the guest's console. */
static void check_guest_log(const char *log)
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

int main(int argc, char **argv)
{
	const char *kernel = getenv("VMM_TEST_KERNEL");
	const char *initrd = getenv("VMM_TEST_INITRD");
	char log[300], err[300], sock[300], net_arg[32], *vmm_argv[24], *line;
	unsigned long long ifindex, carrier;
	struct stream s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *vmm, *mode = NULL;
	struct json_object *rep;
	int n, rounds = 0, round, status, ctl, tap;
	pthread_t thread;

	TEST_ASSERT(argc == 2 || argc == 4, "usage: %s VMM [MODE N]", argv[0]);
	vmm = argv[1];
	if (argc == 4) {
		mode = argv[2];
		rounds = atoi(argv[3]);
		if (getenv("CPRSTASH_TEST_LONG") && !strcmp(getenv("CPRSTASH_TEST_LONG"), "1"))
			rounds = MAX(rounds, 10);
	}
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	TEST_REQUIRE(!kvm__host_is_pvm(), "PVM backend: a stock Linux kernel cannot boot here");
	TEST_REQUIRE(kernel && *kernel, "VMM_TEST_KERNEL not set");
	if (mode && strcmp(mode, "cloexec") && strcmp(mode, "auto"))
		TEST_REQUIRE(access("/dev/cprstash", F_OK) == 0, "no /dev/cprstash");
	snprintf(log, sizeof(log), "%s/serial.log", test_tmpdir());
	snprintf(err, sizeof(err), "%s/vmm.err", test_tmpdir());
	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());

	tap = tap_open();
	if (mode) {
		tap_persist(tap, false);	/* one a failed run left */
		snprintf(net_arg, sizeof(net_arg), "fd=%d", tap);
	} else {
		tap_persist(tap, true);
		close(tap);
		snprintf(net_arg, sizeof(net_arg), "tap=%s", TAP);
	}
	run("ip addr flush dev " TAP " && ip addr add " HOST_ADDR " dev " TAP " && ip link set "
	    TAP " up");

	n = test_linux_argv(vmm_argv, vmm, kernel, initrd,
			    "console=ttyS0 reboot=k panic=-1 oops=panic vmmtest=net", log);
	vmm_argv[n++] = "--control";
	vmm_argv[n++] = sock;
	vmm_argv[n++] = "--net";
	vmm_argv[n++] = net_arg;
	vmm_argv[n] = NULL;
	test_spawn_vmm(vmm_argv, "/dev/null", err);
	if (mode)
		close(tap);	/* the VMM's is the only file on the tap now */
	ctl = test_connect(sock);
	s.fd = guest_connect(log);
	ifindex = tap_attr("ifindex");
	carrier = tap_attr("carrier_changes");
	TEST_ASSERT(!pthread_create(&thread, NULL, stream__run, &s), "pthread_create");
	stream__wait(&s, PROGRESS, log);

	for (round = 0; round < rounds; round++) {
		unsigned long long before = stream__checked(&s);

		status = test_live_upgrade(vmm, sock, mode, NULL, NULL, &line, &rep);
		TEST_ASSERT(status == 0 && rep && test_ok(rep), "upgrade %d: exit %d: %s", round,
			    status, line);
		printf("upgrade %d at byte %llu: %s\n", round, before, line);
		free(line);
		json_object_put(rep);
		stream__wait(&s, before + PROGRESS, log);
	}
	__atomic_store_n(&s.stop, true, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	TEST_ASSERT(!s.err[0], "the TCP stream through the guest failed: %s", s.err);
	TEST_ASSERT(tap_attr("ifindex") == ifindex, "%s's ifindex went from %llu to %llu: re-created",
		    TAP, ifindex, tap_attr("ifindex"));
	TEST_ASSERT(tap_attr("carrier_changes") == carrier,
		    "%s's carrier changed %llu times: its link dropped", TAP,
		    tap_attr("carrier_changes") - carrier);
	close(s.fd);
	check_guest_log(log);
	test_quit_vmm(ctl, err);
	TEST_ASSERT(!test_file_has(err, "needs a reset"), "a ring went bad (%s)", err);
	if (!mode) {
		tap = tap_open();
		tap_persist(tap, false);
		close(tap);
	}
	printf("ok: %llu bytes echoed by the guest and checked, %d upgrades%s%s, %s ifindex %llu kept\n",
	       s.checked, rounds, mode ? " in " : "", mode ? mode : "", TAP, ifindex);
	test_cleanup();
	return 0;
}
