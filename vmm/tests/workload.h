/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's disk workload, one record format for both sides: the guest
 * tool (guest_workload.c, static, in the test initramfs) writes and
 * verifies records on its raw virtio disk; the host tests check the disk
 * file with the same code after the guest stopped or the VMM was killed.
 *
 * Layout of the disk, in 4 KiB slots (sector aligned, one O_DIRECT write
 * each): slot 0 is the control slot, written by the host only ("stop");
 * record seq lives in slot seq + 1.  A record is a header and a payload
 * that is a pattern of seq, with a CRC-32 over both: a torn, stale,
 * duplicated or misplaced record is told apart from a good one.
 *
 * The writer appends records 0, 1, 2, ... with an fsync after each and
 * prints "WL disk acked N" once the fsync of record N returned; so after a
 * clean stop the disk holds records 0..N, each in its own slot, and
 * nothing after them; after a power cut it holds at least every acked
 * record, then at most one torn slot (the write in flight), then nothing.
 */
#ifndef VMM_TESTS_WORKLOAD_H
#define VMM_TESTS_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WL_SLOT_SIZE	4096
#define WL_MAGIC	0x314b5344444c5057ull	/* "WPLDDSK1" */
#define WL_STOP		"CPRSTASH-WORKLOAD-STOP"	/* in slot 0: stop writing */

struct wl_record {
	uint64_t magic;
	uint64_t seq;
	uint32_t len;		/* of the payload */
	uint32_t crc;		/* CRC-32 of the header (crc 0) and payload */
	uint8_t payload[WL_SLOT_SIZE - 24];
};

_Static_assert(sizeof(struct wl_record) == WL_SLOT_SIZE, "one record per slot");

enum wl_slot_state {
	WL_SLOT_OK,		/* the record we want, intact */
	WL_SLOT_BLANK,		/* all zero: never written */
	WL_SLOT_CORRUPT,	/* neither: torn or overwritten */
	WL_SLOT_MISPLACED,	/* an intact record, but of another seq */
};

/* The result of a scan of the record slots. */
struct wl_scan {
	uint64_t records;	/* records 0..records - 1 are there, intact */
	bool torn_tail;		/* the slot after them is torn (allowed) */
	char why[160];		/* what is wrong, when the scan failed */
};

uint32_t wl_crc32(const void *buf, size_t len);
/* Record @seq into the slot at @slot (WL_SLOT_SIZE bytes). */
void wl_record__fill(void *slot, uint64_t seq);
/* What the slot of record @seq holds. */
enum wl_slot_state wl_slot__check(const void *slot, uint64_t seq);

/*
 * Check the records of the disk @fd (its @size bytes; O_DIRECT is fine):
 * records 0..N intact, each in its own slot, then blank slots only —
 * with @torn_ok, one corrupt slot is allowed right after record N (a
 * write that a power cut interrupted).  Returns 0, or -1 with @res->why
 * naming the slot and what is wrong with it; -errno if a read failed.
 */
int wl_disk__scan(int fd, off_t size, bool torn_ok, struct wl_scan *res);
/* Only records 0..@upto - 1, as the guest's reader does while writing. */
int wl_disk__verify(int fd, uint64_t upto, struct wl_scan *res);
/* Whether the control slot of @fd says stop; the host's side: wl_disk__stop(). */
bool wl_disk__stopped(int fd);
int wl_disk__stop(int fd);

#endif
