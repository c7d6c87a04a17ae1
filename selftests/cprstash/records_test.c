// SPDX-License-Identifier: GPL-2.0
/*
 * records_test: 200 state records of awkward sizes go into the stash and come
 * back byte-exact: through pread() at the offsets LIST reports, through reads
 * that span records and run off the end, and all at once through a single
 * io_uring submission, before and after an exec of ourselves.
 *
 * Records are laid out one after another from offset 0, each at a multiple
 * of 8 bytes, with padding that reads as zeroes; the checks compare against
 * an image of the byte space built from that rule.
 */
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define NR_RECORDS	200
#define DEADLINE_MS	120000

/* Empty, sub-word, word, page and multi-page records, around each edge. */
static const __u32 sizes[] = {
	0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 100, 4095, 4096, 4097, 100000,
};

static __u32 record_len(int i)
{
	return sizes[i % ARRAY_SIZE(sizes)];
}

static uint32_t record_seed(int i)
{
	return 1000 + i;
}

static void record_name(int i, char name[CPRSTASH_NAME_MAX])
{
	snprintf(name, CPRSTASH_NAME_MAX, "rec-%03d", i);
}

/* Where record @i must start: right after record @i - 1, rounded up to 8. */
static __u64 record_offset(int i)
{
	__u64 off = 0;
	int j;

	for (j = 0; j < i; j++)
		off = ALIGN_UP(off + record_len(j), 8);
	return off;
}

static __u64 records_end(void)
{
	return record_offset(NR_RECORDS - 1) + record_len(NR_RECORDS - 1);
}

static void put_records(int stash)
{
	char name[CPRSTASH_NAME_MAX];
	uint8_t *buf = malloc(100000);
	int i;

	TEST_ASSERT(buf, "malloc");
	for (i = 0; i < NR_RECORDS; i++) {
		record_name(i, name);
		pattern_fill(buf, record_len(i), record_seed(i));
		stash_put(stash, name, buf, record_len(i));
	}
	free(buf);
}

/* The byte space as it must read: records and zero padding. */
static uint8_t *expected_image(__u64 len)
{
	uint8_t *image = calloc(1, len);
	int i;

	TEST_ASSERT(image, "calloc(%llu)", (unsigned long long)len);
	for (i = 0; i < NR_RECORDS; i++)
		pattern_fill(image + record_offset(i), record_len(i),
			     record_seed(i));
	return image;
}

/* LIST names every record, in order, where the layout rule puts it. */
static struct cprstash_entry *check_layout(int stash,
					   struct cprstash_list *info)
{
	struct cprstash_entry *e = stash_entries(stash, info);
	char name[CPRSTASH_NAME_MAX];
	int i;

	TEST_ASSERT(info->nr_entries == NR_RECORDS, "LIST has %u entries",
		    info->nr_entries);
	for (i = 0; i < NR_RECORDS; i++) {
		record_name(i, name);
		TEST_ASSERT(!strcmp(e[i].name, name) &&
			    e[i].type == CPRSTASH_ENTRY_RECORD && !e[i].kind,
			    "entry %d: '%.64s' type %u kind %u", i, e[i].name,
			    e[i].type, e[i].kind);
		TEST_ASSERT(e[i].offset % 8 == 0 &&
			    e[i].offset == record_offset(i) &&
			    e[i].len == record_len(i),
			    "%s at %llu len %llu, expected at %llu len %u",
			    name, (unsigned long long)e[i].offset,
			    (unsigned long long)e[i].len,
			    (unsigned long long)record_offset(i),
			    record_len(i));
	}
	/* Whether the last record's tail padding counts is not specified. */
	TEST_ASSERT(info->record_bytes >= records_end() &&
		    info->record_bytes <= ALIGN_UP(records_end(), 8),
		    "record_bytes %llu, records end at %llu",
		    (unsigned long long)info->record_bytes,
		    (unsigned long long)records_end());
	return e;
}

static void check_range(int stash, const uint8_t *image, __u64 off,
			__u64 len)
{
	uint8_t *buf = malloc(len ? len : 1);
	__u64 i;

	TEST_ASSERT(buf, "malloc");
	stash_read_exact(stash, buf, len, off);
	for (i = 0; i < len; i++)
		TEST_ASSERT(buf[i] == image[off + i],
			    "byte %llu reads %#x, expected %#x",
			    (unsigned long long)(off + i), buf[i],
			    image[off + i]);
	free(buf);
}

/* Each record at its LIST offset, and the padding after it. */
static void check_each_record(int stash, const struct cprstash_entry *e,
			      const uint8_t *image, __u64 record_bytes)
{
	__u64 end;
	int i;

	for (i = 0; i < NR_RECORDS; i++) {
		end = i + 1 < NR_RECORDS ? e[i + 1].offset : record_bytes;
		check_range(stash, image, e[i].offset, end - e[i].offset);
	}
}

/* Every record with one io_uring submission: one SQE per record. */
static void check_io_uring(int stash, const struct cprstash_entry *e)
{
	struct __kernel_timespec bound = { .tv_sec = LIVENESS_MS / 1000 };
	uint8_t *bufs[NR_RECORDS];
	bool done[NR_RECORDS] = { false };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int i, ret;

	TEST_ASSERT(!io_uring_queue_init(256, &ring, 0), "io_uring_queue_init");
	for (i = 0; i < NR_RECORDS; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		bufs[i] = malloc(e[i].len + 1);
		TEST_ASSERT(sqe && bufs[i], "SQE or buffer %d", i);
		io_uring_prep_read(sqe, stash, bufs[i], e[i].len, e[i].offset);
		io_uring_sqe_set_data64(sqe, i);
	}
	ret = io_uring_submit(&ring);
	TEST_ASSERT(ret == NR_RECORDS, "io_uring_submit: %d", ret);

	for (i = 0; i < NR_RECORDS; i++) {
		ret = io_uring_wait_cqe_timeout(&ring, &cqe, &bound);
		TEST_ASSERT(!ret, "CQE %d of %d: %s", i, NR_RECORDS,
			    errno_name(-ret));
		ret = (int)cqe->user_data;
		TEST_ASSERT(ret >= 0 && ret < NR_RECORDS && !done[ret],
			    "CQE for unknown or repeated record %d", ret);
		TEST_ASSERT(cqe->res == (int)e[ret].len,
			    "read of record %d: %d, expected %llu", ret,
			    cqe->res, (unsigned long long)e[ret].len);
		TEST_ASSERT(pattern_mismatch(bufs[ret], e[ret].len,
					     record_seed(ret)) < 0,
			    "record %d read by io_uring differs", ret);
		done[ret] = true;
		io_uring_cqe_seen(&ring, cqe);
	}
	for (i = 0; i < NR_RECORDS; i++)
		free(bufs[i]);
	io_uring_queue_exit(&ring);
}

static const char *io_uring_unavailable(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(8, &ring, 0))
		return "io_uring is not available";
	io_uring_queue_exit(&ring);
	return NULL;
}

FIXTURE(records) {
	int stash;
	struct cprstash_list info;
	struct cprstash_entry *e;
	uint8_t *image;
};

FIXTURE_SETUP(records)
{
	REQUIRE_STASH();
	self->stash = stash_open();
	put_records(self->stash);
	self->e = check_layout(self->stash, &self->info);
	self->image = expected_image(self->info.record_bytes);
}

FIXTURE_TEARDOWN(records)
{
}

TEST_F(records, pread_each_record_and_its_padding)
{
	check_each_record(self->stash, self->e, self->image,
			  self->info.record_bytes);
}

TEST_F(records, reads_span_records)
{
	__u64 from = self->e[10].offset + 3;
	__u64 to = self->e[40].offset + 5;
	uint8_t chunk[3001];
	__u64 pos = 0;
	ssize_t n;

	check_range(self->stash, self->image, from, to - from);
	check_range(self->stash, self->image, 0, self->info.record_bytes);

	/* read() advances the file position like any file's. */
	while ((n = read(self->stash, chunk, sizeof(chunk))) > 0) {
		ASSERT_LE(pos + n, self->info.record_bytes);
		ASSERT_EQ(0, memcmp(chunk, self->image + pos, n));
		pos += n;
	}
	ASSERT_EQ(0, n);
	ASSERT_EQ(self->info.record_bytes, pos);
}

TEST_F(records, reads_stop_at_the_end)
{
	__u64 end = self->info.record_bytes;
	char buf[100];

	EXPECT_EQ(0, pread(self->stash, buf, sizeof(buf), end));
	EXPECT_EQ(0, pread(self->stash, buf, sizeof(buf), end + 12345));
	EXPECT_EQ(10, pread(self->stash, buf, sizeof(buf), end - 10));
	EXPECT_EQ(0, memcmp(buf, self->image + end - 10, 10));
	/* Records are only ever added by PUT_RECORD. */
	EXPECT_EQ(-1, pwrite(self->stash, buf, sizeof(buf), 0));
}

TEST_F(records, one_io_uring_submission)
{
	const char *why = io_uring_unavailable();

	TEST_REQUIRE(!why, "%s", why);
	check_io_uring(self->stash, self->e);
}

/* The new image finds the same records and reads them the same two ways. */
static int records_post_exec(int argc, char **argv)
{
	int stash = stash_open();
	struct cprstash_list info;
	struct cprstash_entry *e;
	uint8_t *image;

	(void)argc;
	(void)argv;
	e = check_layout(stash, &info);
	TEST_ASSERT(info.state == CPRSTASH_STATE_SEALED, "state %u",
		    info.state);
	image = expected_image(info.record_bytes);
	check_each_record(stash, e, image, info.record_bytes);
	/* Rings die with the old image; this one is set up after exec. */
	check_io_uring(stash, e);
	stash_finish(stash);
	free(image);
	free(e);
	return 0;
}

static int records_pre_exec(void *arg)
{
	int stash = stash_open();

	(void)arg;
	put_records(stash);
	stash_seal(stash, DEADLINE_MS);
	exec_stage("records", NULL);
	TEST_ASSERT(0, "exec of /proc/self/exe");
	return 1;
}

TEST_F(records, byte_exact_after_exec)
{
	const char *why = io_uring_unavailable();

	TEST_REQUIRE(!why, "%s", why);
	ASSERT_EQ(0, run_child(records_pre_exec, NULL));
}

static const struct stage stages[] = {
	{ "records", records_post_exec },
	{ NULL, NULL },
};

STAGE_HARNESS_MAIN(stages)
