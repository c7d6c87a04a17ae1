// SPDX-License-Identifier: GPL-2.0
/*
 * Reader of /sys/kernel/debug/cprstash/stashes: a header line, then a line
 * per stash ("pid uid state entries files records record_bytes deadline_ms
 * kept_mm_ms"); and of .../live, "name count" per kind of live object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "stash_util.h"

#define DEBUGFS_DIR	"/sys/kernel/debug"
#define STASHES_PATH	DEBUGFS_DIR "/cprstash/stashes"
#define LIVE_PATH	DEBUGFS_DIR "/cprstash/live"
#define DEBUGFS_MAGIC	0x64626720

static bool debugfs_mounted(void)
{
	struct statfs sfs;

	return !statfs(DEBUGFS_DIR, &sfs) && sfs.f_type == DEBUGFS_MAGIC;
}

const char *stash_debugfs_unavailable(void)
{
	/* The test VM may not have mounted it; root can. */
	if (!debugfs_mounted())
		mount("debugfs", DEBUGFS_DIR, "debugfs", 0, NULL);
	if (!debugfs_mounted())
		return "debugfs is not mounted at " DEBUGFS_DIR;
	/*
	 * Mounted but without our file is a module bug, not a missing
	 * feature: let the reader fail loudly.
	 */
	return NULL;
}

/* Calls @fn for each stash line until it returns true; returns that. */
static bool for_each_stash(bool (*fn)(const struct stash_dbg *, void *),
			   void *arg)
{
	FILE *f = fopen(STASHES_PATH, "r");
	char line[256], kept[16];
	struct stash_dbg dbg;
	bool stop = false;
	int n;

	TEST_ASSERT(f, "fopen(%s)", STASHES_PATH);
	while (!stop && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "pid", 3))
			continue;
		memset(&dbg, 0, sizeof(dbg));
		n = sscanf(line, "%d %u %15s %u %u %u %llu %u %15s", &dbg.pid,
			   &dbg.uid, dbg.state, &dbg.entries, &dbg.files,
			   &dbg.records, &dbg.record_bytes, &dbg.deadline_ms,
			   kept);
		TEST_ASSERT(n >= 7, "%s: unparsable line '%s'", STASHES_PATH,
			    line);
		/* Older modules have no kept_mm_ms column. */
		dbg.kept_mm_ms = n == 9 && strcmp(kept, "-") ? atoll(kept) : -1;
		stop = fn(&dbg, arg);
	}
	fclose(f);
	return stop;
}

struct find_arg {
	pid_t pid;
	struct stash_dbg *out;
};

static bool match_pid(const struct stash_dbg *dbg, void *arg)
{
	struct find_arg *find = arg;

	if (dbg->pid != find->pid)
		return false;
	if (find->out)
		*find->out = *dbg;
	return true;
}

int stash_debugfs_find(pid_t pid, struct stash_dbg *dbg)
{
	struct find_arg find = { .pid = pid, .out = dbg };

	return for_each_stash(match_pid, &find);
}

static bool count_one(const struct stash_dbg *dbg, void *arg)
{
	(void)dbg;
	++*(int *)arg;
	return false;
}

int stash_debugfs_count(void)
{
	int n = 0;

	for_each_stash(count_one, &n);
	return n;
}

struct count_uid_arg {
	unsigned int uid;
	int n;
};

static bool count_uid(const struct stash_dbg *dbg, void *arg)
{
	struct count_uid_arg *count = arg;

	if (dbg->uid == count->uid)
		count->n++;
	return false;
}

int stash_debugfs_count_uid(unsigned int uid)
{
	struct count_uid_arg count = { .uid = uid };

	for_each_stash(count_uid, &count);
	return count.n;
}

bool stash_debugfs_wait_gone(pid_t pid, int timeout_ms)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 10) {
		if (!stash_debugfs_find(pid, NULL))
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

int stash_debugfs_live(char *held, size_t len)
{
	FILE *f = fopen(LIVE_PATH, "r");
	char name[64], *p = held;
	int n = 0, lines = 0;
	long count;

	TEST_ASSERT(f, "fopen(%s)", LIVE_PATH);
	*held = '\0';
	while (fscanf(f, "%63s %ld", name, &count) == 2) {
		lines++;
		if (!count)
			continue;
		n++;
		p += snprintf(p, held + len - p, "%s%s=%ld", p == held ? "" : " ",
			      name, count);
		if (p >= held + len)
			p = held + len - 1;
	}
	fclose(f);
	TEST_ASSERT(lines, "%s: no counter in it", LIVE_PATH);
	return n;
}

bool stash_debugfs_wait_live_zero(char *held, size_t len)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited <= LIVENESS_MS; waited += 10) {
		if (!stash_debugfs_live(held, len))
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}
