// SPDX-License-Identifier: GPL-2.0
/*
 * stash-exec-demo: the smallest end-to-end use of /dev/cprstash.
 *
 * Before exec: fill a memfd created with MFD_CLOEXEC (so a plain exec would
 * lose it), preserve it and a state record, seal, exec ourselves.  After:
 * list the stash, retrieve the memfd, check every byte, read the record
 * with pread at its listed offset, finish.  Prints what it sees and the
 * exec-to-recovered time; exits non-zero if anything was lost.
 *
 * usage: stash-exec-demo [--mib N] [--no-keep-mm]
 * --no-keep-mm seals without CPRSTASH_SEAL_KEEP_MM, so exec itself tears
 * down the touched mapping: compare the two exec-to-recovered times.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cprstash.h"

struct demo_state {
	uint64_t bytes;
	uint64_t exec_start_ns;
	uint64_t pattern_seed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int die(const char *what, int err)
{
	fprintf(stderr, "stash-exec-demo: %s: %s\n", what, strerror(-err));
	return 1;
}

static uint64_t pattern_at(uint64_t seed, size_t i)
{
	return (seed ^ i) * 0x9e3779b97f4a7c15ull;
}

static void *map_memfd(int fd, uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int before_exec(const char *self, uint64_t bytes, bool keep_mm)
{
	struct demo_state state = { .bytes = bytes, .pattern_seed = 0x5eed };
	uint64_t *mem;
	int stash, memfd, ret;
	uint32_t kind;

	memfd = memfd_create("demo-guest-ram", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, bytes))
		return die("memfd", -errno);
	mem = map_memfd(memfd, bytes);
	if (!mem)
		return die("mmap", -errno);
	for (size_t i = 0; i < bytes / 8; i++)
		mem[i] = pattern_at(state.pattern_seed, i);

	stash = cprstash_open(false);
	if (stash < 0)
		return die(CPRSTASH_DEVICE, stash);
	ret = cprstash_preserve_fd(stash, memfd, "guest-ram", &kind);
	if (ret)
		return die("PRESERVE_FD guest-ram", ret);
	printf("before exec: pid %d preserved guest-ram (%llu MiB touched, kind %s, FD_CLOEXEC set)\n",
	       getpid(), (unsigned long long)bytes >> 20, cprstash_kind_name(kind));

	state.exec_start_ns = now_ns();
	ret = cprstash_put_record(stash, "demo-state", &state, sizeof(state));
	if (!ret)
		ret = cprstash_seal(stash, 5000,
				    keep_mm ? CPRSTASH_SEAL_KEEP_MM : 0);
	if (ret)
		return die("PUT_RECORD/SEAL", ret);
	printf("before exec: sealed with a 5000 ms deadline%s; exec'ing %s\n",
	       keep_mm ? " and KEEP_MM" : "", self);
	fflush(stdout);
	execl(self, self, "--after-exec", (char *)NULL);
	ret = -errno;
	cprstash_unseal(stash);		/* rollback: keep going on this image */
	return die("execve", ret);
}

static int read_state(int stash, const struct cprstash_listing *l,
		      struct demo_state *state)
{
	const struct cprstash_entry *e = cprstash_listing_find(l, "demo-state");

	if (!e || e->len != sizeof(*state))
		return -ENOENT;
	if (pread(stash, state, sizeof(*state), e->offset) != sizeof(*state))
		return -EIO;
	return 0;
}

static int after_exec(void)
{
	struct cprstash_listing listing;
	struct demo_state state;
	uint64_t recovered_ns, *mem;
	size_t bad = 0;
	int stash, memfd, ret;

	stash = cprstash_open(false);
	if (stash < 0)
		return die(CPRSTASH_DEVICE, stash);
	ret = cprstash_list(stash, &listing);
	if (ret)
		return die("LIST", ret);
	printf("after exec:  pid %d found a %s stash with %u entries:\n", getpid(),
	       listing.state == CPRSTASH_STATE_SEALED ? "sealed" : "open",
	       listing.nr_entries);
	for (uint32_t i = 0; i < listing.nr_entries; i++)
		printf("               %-12s %s\n", listing.entries[i].name,
		       listing.entries[i].type == CPRSTASH_ENTRY_FILE ?
		       cprstash_kind_name(listing.entries[i].kind) : "record");

	ret = read_state(stash, &listing, &state);
	cprstash_listing_free(&listing);
	if (ret)
		return die("record demo-state", ret);
	memfd = cprstash_retrieve_fd(stash, "guest-ram", 0, NULL);
	if (memfd < 0)
		return die("RETRIEVE_FD guest-ram", memfd);
	recovered_ns = now_ns();

	mem = map_memfd(memfd, state.bytes);
	if (!mem)
		return die("mmap", -errno);
	for (size_t i = 0; i < state.bytes / 8; i++)
		bad += mem[i] != pattern_at(state.pattern_seed, i);
	ret = cprstash_finish(stash);
	if (ret)
		return die("FINISH", ret);

	printf("after exec:  guest-ram %s (%zu bad words); exec to recovered: %.3f ms\n",
	       bad ? "CORRUPTED" : "intact", bad,
	       (recovered_ns - state.exec_start_ns) / 1e6);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t mib = 64;
	bool keep_mm = true;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--after-exec"))
			return after_exec();
		if (!strcmp(argv[i], "--no-keep-mm"))
			keep_mm = false;
		else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = strtoull(argv[++i], NULL, 0);
		else
			return fprintf(stderr, "usage: %s [--mib N] [--no-keep-mm]\n",
				       argv[0]), 2;
	}
	return before_exec("/proc/self/exe", mib << 20, keep_mm);
}
