// SPDX-License-Identifier: GPL-2.0
/*
 * The module's limits, /sys/module/cprstash/parameters/: read, set, restore.
 */
#include <stdio.h>
#include <unistd.h>

#include "stash_util.h"

#define PARAMS_DIR	"/sys/module/cprstash/parameters/"

static void param_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, PARAMS_DIR "%s", name);
}

bool stash_param_exists(const char *name)
{
	char path[128];

	param_path(path, sizeof(path), name);
	return !access(path, R_OK | W_OK);
}

unsigned long stash_param_read(const char *name)
{
	unsigned long value;
	char path[128];
	FILE *f;

	param_path(path, sizeof(path), name);
	f = fopen(path, "r");
	TEST_ASSERT(f, "fopen(%s)", path);
	TEST_ASSERT(fscanf(f, "%lu", &value) == 1, "parse %s", path);
	fclose(f);
	return value;
}

void stash_param_write(const char *name, unsigned long value)
{
	char path[128];
	FILE *f;

	param_path(path, sizeof(path), name);
	f = fopen(path, "w");
	TEST_ASSERT(f, "fopen(%s)", path);
	fprintf(f, "%lu\n", value);
	/* The kernel's verdict on the value arrives with the flush. */
	TEST_ASSERT(!fclose(f), "write %lu to %s", value, path);
}
