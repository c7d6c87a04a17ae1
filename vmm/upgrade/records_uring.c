// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the upgrade records in the new image: every record in one
 * io_uring submission, one read SQE per record (a pread on the stash fd at
 * the offset LIST gave, or on the cloexec state memfd).  Rings do not
 * survive exec (begin_new_exec() cancels them), so the ring is set up here,
 * after exec, and torn down once the reads are in.
 *
 * If the kernel refuses io_uring (kernel.io_uring_disabled, seccomp), the
 * same reads are done one pread() at a time: slower, never wrong.
 */
#include <errno.h>
#include <liburing.h>
#include <string.h>
#include <unistd.h>

#include "upgrade.h"

static int records__pread(const struct record_read *r)
{
	size_t done = 0;

	while (done < r->len) {
		ssize_t n = pread(r->fd, (u8 *)r->dst + done, r->len - done,
				  r->offset + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

static int records__read_slow(const struct record_read *reads, unsigned int nr)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++) {
		ret = records__pread(&reads[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int records__read(const struct record_read *reads, unsigned int nr, bool *used_uring)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	unsigned int i, entries = 1, done = 0;
	int ret;

	*used_uring = false;
	if (!nr)
		return 0;
	while (entries < nr)
		entries <<= 1;
	ret = upgrade_fault__point("uring-setup");
	if (!ret)
		ret = io_uring_queue_init(entries, &ring, 0);
	if (ret < 0) {
		pr_debug("io_uring unavailable (%s): reading records with pread",
			 strerror(-ret));
		return records__read_slow(reads, nr);
	}
	for (i = 0; i < nr; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, reads[i].fd, reads[i].dst, reads[i].len,
				   reads[i].offset);
		io_uring_sqe_set_data64(sqe, i);
	}
	/* The one submission: every read, then wait for all of them. */
	ret = io_uring_submit_and_wait(&ring, nr);
	if (ret < 0 || (unsigned int)ret != nr) {
		pr_err("io_uring submission of %u record reads failed: %s", nr,
		       ret < 0 ? strerror(-ret) : "short submit");
		io_uring_queue_exit(&ring);
		return ret < 0 ? ret : -EIO;
	}
	*used_uring = true;
	ret = 0;
	while (done < nr) {
		int res;
		u64 idx;

		res = io_uring_wait_cqe(&ring, &cqe);
		if (res < 0) {
			ret = res;
			break;
		}
		idx = io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		done++;
		if (idx >= nr) {
			ret = -EIO;
			continue;
		}
		if (res < 0) {
			pr_err("reading record %llu: %s", (unsigned long long)idx, strerror(-res));
			ret = res;
		} else if ((u32)res != reads[idx].len) {
			/* A short read is legal: finish that one by hand. */
			struct record_read rest = reads[idx];

			rest.dst = (u8 *)rest.dst + res;
			rest.offset += res;
			rest.len -= res;
			if (!ret)
				ret = records__pread(&rest);
		}
	}
	io_uring_queue_exit(&ring);
	return ret;
}
