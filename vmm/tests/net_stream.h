/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's side of the guest's TCP echo (vmmtest=net, or beside the disk
 * workload): a tap the VMM gets with --net, and a stream of a counter
 * pattern sent to the guest's "nc -ll -p 5000 -e cat" and checked byte by
 * byte as it comes back, in a thread, while the test upgrades the VMM.
 * Used by e2e_net and e2e_workload.
 *
 * TCP masks a lost frame as a stall, never as a wrong byte, and a corrupt
 * one is dropped by the checksum and sent again: so the stream checks that
 * the path works and keeps working, and that the bytes are the ones sent.
 * The tap's ifindex and carrier_changes, taken when the stream starts and
 * compared when it stops, say the interface was never re-created and its
 * link never dropped (closing the last file of a tap drops its carrier
 * and deletes a non-persistent one).
 */
#ifndef VMM_TESTS_NET_STREAM_H
#define VMM_TESTS_NET_STREAM_H

#include <pthread.h>
#include <stdbool.h>

#define NET_TAP		"cprtap0"
/* Progress asked for at the start and after each upgrade. */
#define NET_PROGRESS	(128 << 10)

struct net_stream {
	int fd;				/* the TCP connection to the guest */
	const char *log;		/* the guest's console */
	unsigned long long sent;
	unsigned long long checked;	/* read under lock */
	unsigned long long ifindex, carrier_changes;	/* of the tap, at the start */
	/*
	 * At most this many KiB a second, 0 for as fast as it goes: beside
	 * the disk workload, a stream at full speed through a guest under
	 * nested emulation takes its vCPUs from the disk writer.
	 */
	unsigned int kib_per_s;
	unsigned long long start_ms;
	bool stop;
	char err[256];
	pthread_mutex_t lock;
	pthread_t thread;
};

/* Whether this host can make a tap (the tun module). */
bool net_tap__available(void);
/*
 * NET_TAP, with the virtio-net header, 10.0.2.2/24 and up, for the VMM's
 * "--net @arg": with @persistent, "tap=NET_TAP" and the tap stays when
 * its last file closes, returns -1; else "fd=N" for the returned fd,
 * which the test closes once the VMM runs, so the VMM's file is the only
 * one.
 */
int net_tap__setup(bool persistent, char *arg, size_t len);
/* Delete the persistent NET_TAP. */
void net_tap__remove(void);

/*
 * Once the guest's console (@log) says NET-UP: connect to its echo,
 * start the stream and wait for NET_PROGRESS bytes checked.
 */
void net_stream__start(struct net_stream *s, const char *log, unsigned int kib_per_s);
unsigned long long net_stream__checked(struct net_stream *s);
/* Until NET_PROGRESS bytes more than @before came back checked. */
void net_stream__progress(struct net_stream *s, unsigned long long before);
/*
 * Stop the stream and close the connection: it must not have failed or
 * been reset, the tap's ifindex and carrier_changes not have changed.
 */
void net_stream__finish(struct net_stream *s);

/* No transmit timeout, no virtio_net message, no oops on the console. */
void net_console__check(const char *log);

#endif
