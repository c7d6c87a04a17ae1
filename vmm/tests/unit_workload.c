// SPDX-License-Identifier: GPL-2.0
/*
 * The disk workload's checker (workload.c), on a file without a guest: a
 * good run of records passes, and a corrupt, duplicated or missing record,
 * a record after the end, or a torn last slot (unless allowed) fails with
 * the record named.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "workload.h"

#define NR_SLOTS	256
#define NR_RECORDS	100

static int disk_fd;

static void put_record(uint64_t slot_seq, uint64_t seq)
{
	static struct wl_record r;

	wl_record__fill(&r, seq);
	TEST_ASSERT(pwrite(disk_fd, &r, sizeof(r), (slot_seq + 1) * WL_SLOT_SIZE) ==
		    sizeof(r), "cannot write record %llu", (unsigned long long)seq);
}

static void blank_record(uint64_t seq)
{
	static const char zero[WL_SLOT_SIZE];

	TEST_ASSERT(pwrite(disk_fd, zero, sizeof(zero), (seq + 1) * WL_SLOT_SIZE) ==
		    sizeof(zero), "cannot blank record %llu", (unsigned long long)seq);
}

static void flip_byte(uint64_t seq, off_t at)
{
	unsigned char b;
	off_t off = (seq + 1) * WL_SLOT_SIZE + at;

	TEST_ASSERT(pread(disk_fd, &b, 1, off) == 1, "read");
	b ^= 0x40;
	TEST_ASSERT(pwrite(disk_fd, &b, 1, off) == 1, "write");
}

/* A disk with records 0..NR_RECORDS - 1 and nothing else. */
static void fresh_disk(void)
{
	TEST_ASSERT(!ftruncate(disk_fd, 0) && !ftruncate(disk_fd, NR_SLOTS * WL_SLOT_SIZE),
		    "cannot size the disk");
	for (uint64_t s = 0; s < NR_RECORDS; s++)
		put_record(s, s);
}

static void expect_ok(bool torn_ok, uint64_t records, bool torn)
{
	struct wl_scan res;

	TEST_ASSERT(!wl_disk__scan(disk_fd, NR_SLOTS * WL_SLOT_SIZE, torn_ok, &res),
		    "scan failed: %s", res.why);
	TEST_ASSERT(res.records == records && res.torn_tail == torn,
		    "%llu records (torn tail %d), want %llu (%d)",
		    (unsigned long long)res.records, res.torn_tail,
		    (unsigned long long)records, torn);
}

static void expect_bad(bool torn_ok, const char *why)
{
	struct wl_scan res;

	TEST_ASSERT(wl_disk__scan(disk_fd, NR_SLOTS * WL_SLOT_SIZE, torn_ok, &res) == -1,
		    "scan passed, want \"%s\"", why);
	TEST_ASSERT(strstr(res.why, why), "scan said \"%s\", want \"%s\"", res.why, why);
	printf("ok: detected: %s\n", res.why);
}

int main(void)
{
	char path[300];
	struct wl_scan res;

	snprintf(path, sizeof(path), "%s/disk.img", test_tmpdir());
	disk_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(disk_fd >= 0, "cannot create %s", path);

	fresh_disk();
	expect_ok(false, NR_RECORDS, false);
	TEST_ASSERT(!wl_disk__verify(disk_fd, NR_RECORDS, &res), "verify: %s", res.why);
	TEST_ASSERT(wl_disk__verify(disk_fd, NR_RECORDS + 1, &res) == -1 &&
		    strstr(res.why, "record 100 is missing"), "verify past the end: %s", res.why);

	flip_byte(50, 100);			/* in the payload */
	expect_bad(false, "record 50 is corrupt (50 intact before it)");
	expect_bad(true, "record 51 is there after record 50 is missing");

	fresh_disk();
	flip_byte(7, 8);			/* in the seq */
	expect_bad(true, "record 8 is there after record 7 is missing");

	fresh_disk();
	put_record(11, 10);			/* record 10 twice */
	expect_bad(false, "the slot of record 11 holds record 10 (duplicated");

	fresh_disk();
	blank_record(30);
	expect_bad(false, "record 31 is there after record 30 is missing");

	fresh_disk();
	put_record(NR_RECORDS + 5, NR_RECORDS + 5);
	expect_bad(false, "record 105 is there after record 100 is missing");

	/* A power cut: the last write torn, allowed only where asked. */
	fresh_disk();
	flip_byte(NR_RECORDS - 1, 2000);
	expect_bad(false, "record 99 is corrupt");
	expect_ok(true, NR_RECORDS - 1, true);
	flip_byte(NR_RECORDS + 3, 10);		/* garbage further on */
	expect_bad(true, "slot of record 103 is not blank after the last record 98");

	/* The control slot: the host's stop is seen, records untouched. */
	fresh_disk();
	TEST_ASSERT(!wl_disk__stopped(disk_fd), "stopped before the stop");
	TEST_ASSERT(!wl_disk__stop(disk_fd) && wl_disk__stopped(disk_fd), "stop not seen");
	expect_ok(false, NR_RECORDS, false);

	close(disk_fd);
	printf("ok: the workload's checker finds every kind of bad record\n");
	test_cleanup();
	return 0;
}
