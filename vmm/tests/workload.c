// SPDX-License-Identifier: GPL-2.0
/*
 * The disk workload's records (workload.h): libc only, since the guest
 * tool is a static program of its own and the host tests link it too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

#define WL_CHUNK_SLOTS	64	/* read 256 KiB at a time */

uint32_t wl_crc32(const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;
	uint32_t crc = ~0u;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* The payload of record @seq: xorshift64 from the seq, so no two alike. */
static void wl_payload(uint8_t *p, size_t len, uint64_t seq)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

static uint32_t wl_record__crc(const struct wl_record *r)
{
	struct wl_record copy = *r;

	copy.crc = 0;
	return wl_crc32(&copy, sizeof(copy));
}

void wl_record__fill(void *slot, uint64_t seq)
{
	struct wl_record *r = slot;

	memset(r, 0, sizeof(*r));
	r->magic = WL_MAGIC;
	r->seq = seq;
	r->len = sizeof(r->payload);
	wl_payload(r->payload, sizeof(r->payload), seq);
	r->crc = wl_record__crc(r);
}

static bool wl_slot__blank(const void *slot)
{
	const uint64_t *w = slot;

	for (size_t i = 0; i < WL_SLOT_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* Magic, length and CRC right: an intact record (of any seq). */
static bool wl_record__intact(const struct wl_record *r)
{
	return r->magic == WL_MAGIC && r->len == sizeof(r->payload) &&
	       r->crc == wl_record__crc(r);
}

enum wl_slot_state wl_slot__check(const void *slot, uint64_t seq)
{
	const struct wl_record *r = slot;
	uint8_t want[sizeof(r->payload)];

	if (wl_slot__blank(slot))
		return WL_SLOT_BLANK;
	if (!wl_record__intact(r))
		return WL_SLOT_CORRUPT;
	if (r->seq != seq)
		return WL_SLOT_MISPLACED;
	/* The CRC holds: a wrong pattern would be a writer's bug. */
	wl_payload(want, sizeof(want), seq);
	return memcmp(want, r->payload, sizeof(want)) ? WL_SLOT_CORRUPT : WL_SLOT_OK;
}

/* A scan's walk over the slots, one at a time. */
struct wl_walk {
	struct wl_scan *res;
	bool torn_ok;
	bool ended;		/* past the last record: blank slots only */
};

static int wl_walk__fail(struct wl_walk *w, const char *fmt, unsigned long long a,
			 unsigned long long b)
{
	snprintf(w->res->why, sizeof(w->res->why), fmt, a, b);
	return -1;
}

static int wl_walk__slot(struct wl_walk *w, const void *slot, uint64_t seq)
{
	enum wl_slot_state st = wl_slot__check(slot, seq);
	const struct wl_record *r = slot;
	uint64_t n = w->res->records;

	if (w->ended) {
		if (st == WL_SLOT_BLANK)
			return 0;
		if (st == WL_SLOT_CORRUPT)
			return wl_walk__fail(w, "slot of record %llu is not blank after the "
					     "last record %llu", seq, n - 1);
		return wl_walk__fail(w, "record %llu is there after record %llu is "
				     "missing", r->seq, n);
	}
	switch (st) {
	case WL_SLOT_OK:
		w->res->records++;
		return 0;
	case WL_SLOT_BLANK:
		w->ended = true;
		return 0;
	case WL_SLOT_CORRUPT:
		if (!w->torn_ok)
			return wl_walk__fail(w, "record %llu is corrupt (%llu intact before it)",
					     seq, n);
		w->res->torn_tail = true;
		w->ended = true;
		return 0;
	case WL_SLOT_MISPLACED:
		break;
	}
	return wl_walk__fail(w, "the slot of record %llu holds record %llu (duplicated or "
			     "misplaced)", seq, r->seq);
}

/* Walk the slots of records 0..@nr - 1, or to the end of @size bytes. */
static int wl_disk__walk(int fd, off_t size, uint64_t nr, struct wl_walk *w)
{
	uint64_t fit = size / WL_SLOT_SIZE ? size / WL_SLOT_SIZE - 1 : 0;
	uint64_t seq = 0;
	uint8_t *buf;
	int ret = 0;

	memset(w->res, 0, sizeof(*w->res));
	if (nr > fit) {
		snprintf(w->res->why, sizeof(w->res->why), "%llu records do not fit in %llu bytes",
			 (unsigned long long)nr, (unsigned long long)size);
		return -1;
	}
	/* Aligned, for an O_DIRECT fd. */
	if (posix_memalign((void **)&buf, WL_SLOT_SIZE, WL_CHUNK_SLOTS * WL_SLOT_SIZE))
		return -ENOMEM;
	while (!ret && seq < nr) {
		size_t n = nr - seq < WL_CHUNK_SLOTS ? nr - seq : WL_CHUNK_SLOTS;
		ssize_t got = pread(fd, buf, n * WL_SLOT_SIZE, (seq + 1) * WL_SLOT_SIZE);

		if (got != (ssize_t)(n * WL_SLOT_SIZE)) {
			ret = got < 0 ? -errno : -EIO;
			snprintf(w->res->why, sizeof(w->res->why), "cannot read record %llu: %s",
				 (unsigned long long)seq, strerror(-ret));
			break;
		}
		for (size_t i = 0; !ret && i < n; i++, seq++)
			ret = wl_walk__slot(w, buf + i * WL_SLOT_SIZE, seq);
	}
	free(buf);
	return ret;
}

int wl_disk__scan(int fd, off_t size, bool torn_ok, struct wl_scan *res)
{
	struct wl_walk w = { .res = res, .torn_ok = torn_ok };
	uint64_t fit = size / WL_SLOT_SIZE ? size / WL_SLOT_SIZE - 1 : 0;

	return wl_disk__walk(fd, size, fit, &w);
}

int wl_disk__verify(int fd, uint64_t upto, struct wl_scan *res)
{
	struct wl_walk w = { .res = res };
	int ret = wl_disk__walk(fd, (upto + 1) * WL_SLOT_SIZE, upto, &w);

	if (!ret && res->records != upto) {
		snprintf(res->why, sizeof(res->why), "record %llu is missing",
			 (unsigned long long)res->records);
		return -1;
	}
	return ret;
}

static int wl_disk__control(int fd, bool write, bool *stop)
{
	uint8_t *buf;
	ssize_t n;

	/* Aligned: the guest's side opens the disk O_DIRECT. */
	buf = aligned_alloc(WL_SLOT_SIZE, WL_SLOT_SIZE);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0, WL_SLOT_SIZE);
	if (write) {
		memcpy(buf, WL_STOP, sizeof(WL_STOP));
		n = pwrite(fd, buf, WL_SLOT_SIZE, 0);
	} else {
		n = pread(fd, buf, WL_SLOT_SIZE, 0);
		*stop = n == WL_SLOT_SIZE && !memcmp(buf, WL_STOP, sizeof(WL_STOP));
	}
	free(buf);
	if (n != WL_SLOT_SIZE)
		return n < 0 ? -errno : -EIO;
	return 0;
}

bool wl_disk__stopped(int fd)
{
	bool stop = false;

	wl_disk__control(fd, false, &stop);
	return stop;
}

int wl_disk__stop(int fd)
{
	return wl_disk__control(fd, true, NULL);
}
