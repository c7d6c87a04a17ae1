// SPDX-License-Identifier: GPL-2.0
/*
 * What a live upgrade may exec (Documentation/upgrade.rst, "What may be
 * exec'd").  Whoever can connect to the control socket can ask for any
 * "binary"; without this the socket would be an exec primitive.  Allowed:
 *
 *   - the VMM's own binary: the path /proc/self/exe had when this image
 *     started (a package upgrade that replaced that file is still allowed);
 *   - each --upgrade-allow FILE, exactly;
 *   - a regular file directly in an --upgrade-allow DIR, when the
 *     directory and the file are owned by root or the VMM's user and
 *     writable by no group or other (only they can have put it there).
 *
 * Every path is compared canonical (realpath()), so a symlink is judged by
 * what it points to, and the canonical path is what gets exec'd: no
 * symlink left on the way that someone could swap between the check and
 * the exec.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade.h"

int upgrade__self_path(char *buf, size_t len)
{
	static const char deleted[] = " (deleted)";
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	size_t l;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* Replaced on disk (a package upgrade): the path holds the new one. */
	l = strlen(buf);
	if (l > sizeof(deleted) - 1 && !strcmp(buf + l - (sizeof(deleted) - 1), deleted))
		buf[l - (sizeof(deleted) - 1)] = '\0';
	return 0;
}

/*
 * @path with every symlink resolved.  A file that does not exist (yet) is
 * its resolved directory plus its name: whether it may be exec'd is still
 * decided, and exec'ing it fails later, the usual way.
 */
static int allow__canonical(const char *path, char *canon, char *err, size_t errlen)
{
	char dir[PATH_MAX], real_dir[PATH_MAX];
	const char *slash, *name;
	struct stat st;
	int ret;

	if (realpath(path, canon))
		return 0;
	if (errno != ENOENT || lstat(path, &st) == 0 || errno != ENOENT)
		goto fail;
	slash = strrchr(path, '/');
	name = slash + 1;
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") ||
	    (size_t)(slash - path) >= sizeof(dir)) {
		errno = ENOENT;
		goto fail;
	}
	memcpy(dir, path, slash - path);
	dir[slash - path] = '\0';
	if (!realpath(slash == path ? "/" : dir, real_dir))
		goto fail;
	if (snprintf(canon, PATH_MAX, "%s/%s", strcmp(real_dir, "/") ? real_dir : "",
		     name) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "cannot resolve %s: %s", path, strerror(-ret));
	return ret;
}

/* Only root or this VMM's user can have written it. */
static const char *allow__untrusted(const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "is owned by neither root nor the VMM's user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "is group or world writable";
	return NULL;
}

/* @canon lies directly in the allowed directory @dir (both canonical). */
static bool allow__in_dir(const char *canon, const char *dir)
{
	const char *slash = strrchr(canon, '/');
	size_t len = slash - canon;

	if (!strcmp(dir, "/"))
		return len == 0;
	return strlen(dir) == len && !strncmp(canon, dir, len);
}

/* @canon in the allowed directory @dir: 0, or -EPERM and why. */
static int allow__dir_rule(const char *canon, const char *dir, char *err, size_t errlen)
{
	const char *why;
	struct stat st;
	int ret;

	if (stat(dir, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot stat the allowed directory %s: %s", dir,
			 strerror(-ret));
		return ret;
	}
	why = allow__untrusted(&st);
	if (why) {
		snprintf(err, errlen, "%s is in the allowed directory %s, but the directory %s",
			 canon, dir, why);
		return -EPERM;
	}
	if (lstat(canon, &st) < 0) {
		if (errno == ENOENT)
			return 0;	/* nothing to exec: exec says so, as usual */
		ret = -errno;
		snprintf(err, errlen, "cannot stat %s: %s", canon, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is in the allowed directory %s, but not a regular file",
			 canon, dir);
		return -EPERM;
	}
	why = allow__untrusted(&st);
	if (why) {
		snprintf(err, errlen, "%s is in the allowed directory %s, but %s", canon, dir,
			 why);
		return -EPERM;
	}
	return 0;
}

/*
 * An --upgrade-allow entry, resolved now rather than at start: an allowed
 * symlink (/usr/bin/vmm -> /opt/vmm/1.2/vmm) may have been re-pointed.
 * One that does not resolve allows nothing.
 */
static bool allow__resolve(const char *path, char *entry, struct stat *st)
{
	return realpath(path, entry) && stat(entry, st) == 0;
}

int upgrade__allowed(const struct upgrade_allow *allow, const char *binary,
		     char *canon, char *err, size_t errlen)
{
	char entry[PATH_MAX];
	struct stat st;
	unsigned int i;
	int ret;

	if (binary[0] != '/') {
		snprintf(err, errlen, "\"binary\" must be an absolute path, not \"%s\"", binary);
		return -EINVAL;
	}
	ret = allow__canonical(binary, canon, err, errlen);
	if (ret)
		return ret;
	if (allow->self && allow->self[0] && !strcmp(canon, allow->self))
		return 0;
	/* Files first: one named exactly needs no directory rule. */
	for (i = 0; i < allow->nr_paths; i++)
		if (allow__resolve(allow->paths[i], entry, &st) && !S_ISDIR(st.st_mode) &&
		    !strcmp(canon, entry))
			return 0;
	for (i = 0; i < allow->nr_paths; i++)
		if (allow__resolve(allow->paths[i], entry, &st) && S_ISDIR(st.st_mode) &&
		    allow__in_dir(canon, entry))
			return allow__dir_rule(canon, entry, err, errlen);
	snprintf(err, errlen, "%s%s%s is not allowed: a live upgrade may exec the VMM's own "
		 "binary (%s) and what --upgrade-allow names%s", binary,
		 strcmp(binary, canon) ? " -> " : "", strcmp(binary, canon) ? canon : "",
		 allow->self && allow->self[0] ? allow->self : "unknown",
		 allow->nr_paths ? "" : " (none here)");
	return -EPERM;
}
