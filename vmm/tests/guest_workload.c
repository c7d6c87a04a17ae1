// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's side of the disk workload (workload.h), a static program in
 * the test initramfs (scripts/guest-initramfs.sh) that scripts/guest/init
 * starts with vmmtest=workload.  Every line it prints on the console
 * starts with "WL disk ", so other workloads can run beside it:
 *
 *   disk DEV         a writer appends records 0, 1, ... to the raw device
 *                    (O_DIRECT, fsync after each) and prints "acked N" when
 *                    the fsync of record N returned; a reader process
 *                    re-reads and verifies records 0..acked every second.
 *                    Until the host writes the stop mark in slot 0: then a
 *                    last full check, "done N", exit 0 if all is well.
 *   disk-verify DEV  check the whole device as after a power cut
 *                    (wl_disk__scan, a torn slot after the last record
 *                    allowed) and print "verified N".
 *
 * Any failure prints "WL disk BAD ..." and exits 1: the host tests fail
 * on that line.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workload.h"

#define WL_STOP_EVERY	16	/* records between two looks at the control slot */

/* What the writer tells the reader, in a shared mapping. */
struct wl_shared {
	volatile uint64_t acked;	/* records 0..acked - 1 are on the disk */
	volatile int stop;
};

static void wl_bad(const char *what, uint64_t seq, int err)
{
	printf("WL disk BAD %s at record %llu: %s\n", what, (unsigned long long)seq,
	       strerror(err));
	exit(1);
}

/* The device, or a file (to try the tool on a host). */
static int wl_open(const char *dev, off_t *size)
{
	uint64_t bytes;
	struct stat st;
	int fd = open(dev, O_RDWR | O_DIRECT);

	if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode))
		bytes = st.st_size;
	else if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &bytes))
		fd = -1;
	if (fd < 0) {
		printf("WL disk BAD cannot open %s: %s\n", dev, strerror(errno));
		exit(1);
	}
	*size = bytes;
	return fd;
}

/* Re-read what the writer has acked, each second, until told to stop. */
static int wl_reader(const char *dev, struct wl_shared *sh)
{
	struct wl_scan res;
	off_t size;
	int fd = wl_open(dev, &size);

	for (;;) {
		int stop = sh->stop;	/* before reading acked: the last pass sees all */
		uint64_t upto = sh->acked;

		if (wl_disk__verify(fd, upto, &res)) {
			printf("WL disk BAD reader: %s\n", res.why);
			return 1;
		}
		if (stop) {
			printf("WL disk done %llu\n", (unsigned long long)upto);
			return 0;
		}
		printf("WL disk verified %llu\n", (unsigned long long)upto);
		sleep(1);
	}
}

static void wl_write_record(int fd, void *buf, uint64_t seq)
{
	ssize_t n;

	wl_record__fill(buf, seq);
	n = pwrite(fd, buf, WL_SLOT_SIZE, (off_t)(seq + 1) * WL_SLOT_SIZE);
	if (n != WL_SLOT_SIZE)
		wl_bad("write", seq, n < 0 ? errno : EIO);
	if (fsync(fd))
		wl_bad("fsync", seq, errno);
}

/* Append records until the host says stop (or the disk is full). */
static void wl_writer(int fd, off_t size, struct wl_shared *sh)
{
	uint64_t fit = size / WL_SLOT_SIZE - 1, seq = 0;
	void *buf;

	if (posix_memalign(&buf, WL_SLOT_SIZE, WL_SLOT_SIZE))
		wl_bad("allocate", 0, ENOMEM);
	while (!(seq % WL_STOP_EVERY == 0 && wl_disk__stopped(fd))) {
		if (seq == fit) {
			/* Full: only wait for the stop now. */
			printf("WL disk full at %llu\n", (unsigned long long)seq);
			while (!wl_disk__stopped(fd))
				sleep(1);
			break;
		}
		wl_write_record(fd, buf, seq);
		sh->acked = ++seq;
		printf("WL disk acked %llu\n", (unsigned long long)seq - 1);
	}
	free(buf);
}

static int wl_disk(const char *dev)
{
	struct wl_shared *sh;
	int fd, status;
	off_t size;
	pid_t reader;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		wl_bad("mmap", 0, errno);
	fd = wl_open(dev, &size);
	reader = fork();
	if (reader < 0)
		wl_bad("fork", 0, errno);
	if (!reader) {
		/* Not left behind by a writer that failed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		exit(wl_reader(dev, sh));
	}
	wl_writer(fd, size, sh);
	sh->stop = 1;
	if (waitpid(reader, &status, 0) != reader || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return 1;
	return 0;
}

static int wl_disk_verify(const char *dev)
{
	struct wl_scan res;
	off_t size;
	int fd = wl_open(dev, &size);

	if (wl_disk__scan(fd, size, true, &res)) {
		printf("WL disk BAD verify: %s\n", res.why);
		return 1;
	}
	printf("WL disk verified %llu%s\n", (unsigned long long)res.records,
	       res.torn_tail ? " (a torn slot after them)" : "");
	return 0;
}

int main(int argc, char **argv)
{
	/* Lines whole and in order on the console, among the kernel's. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "disk"))
		return wl_disk(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "disk-verify"))
		return wl_disk_verify(argv[2]);
	fprintf(stderr, "usage: %s disk|disk-verify DEV\n", argv[0]);
	return 2;
}
