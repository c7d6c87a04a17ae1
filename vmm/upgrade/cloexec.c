// SPDX-License-Identifier: GPL-2.0
/*
 * The cloexec transport: no kernel module, what QEMU's cpr-exec does.
 *
 * Old image: the state stream goes into a memfd; FD_CLOEXEC is cleared on
 * it and on every kept file just before exec, and the new image learns
 * the memfd's number (and the old binary's) from its environment; the
 * other numbers are in the stream's fd table.  The old KVM VM and its
 * vCPUs are kept too, not because the new image uses them (it creates a
 * new VM and restores every register from the records) but so that exec
 * does not destroy them: that takes tens of milliseconds, and is done
 * after the guest resumed instead.
 *
 * New image: one io_uring read of the memfd.  Kept files are used through
 * O_CLOEXEC duplicates, the inherited numbers stay untouched until the
 * guest has resumed, so a failing new image can re-exec the old binary
 * with everything in place.  Then they are closed.
 *
 * The old address space is kept by an mm keeper (keeper.c) until the guest
 * runs and these fds are closed; the old VM then goes with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upgrade.h"

/* Before the pause: the memfd the state stream will be written into. */
static int cloexec__prepare(struct upgrade_out *up)
{
	up->state_fd = memfd_create("vmm-upgrade-state", MFD_CLOEXEC);
	if (up->state_fd < 0)
		return -errno;
	keeper__start(up);
	return 0;
}

static int cloexec__set_flags(int fd, int flags)
{
	return fcntl(fd, F_SETFD, flags) < 0 ? -errno : 0;
}

static int cloexec__preserve(struct upgrade_out *up)
{
	unsigned int i;
	int ret, flags;

	ret = write_full(up->state_fd, up->state.data, up->state.len);
	if (ret)
		return ret;
	/* Last moment: nothing may fork and exec between here and exec. */
	for (i = 0; i < up->nr_fds; i++) {
		ret = i == up->nr_fds / 2 ? upgrade_fault__point("mid-stash") : 0;
		if (ret)
			return ret;
		flags = fcntl(up->fds[i].fd, F_GETFD);
		if (flags < 0)
			return -errno;
		up->fd_flags[i] = flags;
		ret = cloexec__set_flags(up->fds[i].fd, flags & ~FD_CLOEXEC);
		if (ret)
			return ret;
	}
	ret = cloexec__set_flags(up->state_fd, 0);
	if (ret)
		return ret;
	snprintf(up->env[up->nr_env++], sizeof(up->env[0]), UPGRADE_ENV_STATE_FD "=%d",
		 up->state_fd);
	snprintf(up->env[up->nr_env++], sizeof(up->env[0]), UPGRADE_ENV_EXE_FD "=%d",
		 up->exe_fd);
	return 0;
}

static void cloexec__unpreserve(struct upgrade_out *up)
{
	unsigned int i;

	for (i = 0; i < up->nr_fds; i++)
		if (up->fd_flags[i] & FD_CLOEXEC)
			cloexec__set_flags(up->fds[i].fd, up->fd_flags[i]);
	if (up->state_fd >= 0)
		close(up->state_fd);
	up->state_fd = -1;
	up->nr_env = 0;
	keeper__stop(up);
}

static int cloexec__env_fd(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long fd;

	if (!v)
		return -ENOENT;
	fd = strtol(v, &end, 10);
	if (*end || fd < 0 || fd > 65535 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	return fd;
}

static int cloexec__open(struct upgrade_in *in)
{
	in->state_fd = cloexec__env_fd(UPGRADE_ENV_STATE_FD);
	in->exe_fd = cloexec__env_fd(UPGRADE_ENV_EXE_FD);
	if (in->state_fd < 0 || in->exe_fd < 0) {
		pr_err("incoming: no usable %s/%s in the environment",
		       UPGRADE_ENV_STATE_FD, UPGRADE_ENV_EXE_FD);
		return -EBADF;
	}
	return 0;
}

static int cloexec__read(struct upgrade_in *in)
{
	struct record_read r = { .fd = in->state_fd };
	struct stat st;

	if (fstat(in->state_fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size > STATE_MAX_PAYLOAD * 16LL)
		return -EINVAL;
	in->data = malloc(st.st_size);
	if (!in->data)
		return -ENOMEM;
	in->len = st.st_size;
	in->nr_records = 1;
	r.len = st.st_size;
	r.dst = in->data;
	return records__read(&r, 1, &in->used_uring);
}

static int cloexec__get_fd(struct upgrade_in *in, u32 role, u32 index)
{
	unsigned int i;
	int fd;

	for (i = 0; i < in->nr_fds; i++) {
		if (in->fds[i].role != role || in->fds[i].index != index)
			continue;
		fd = fcntl(in->fds[i].fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? -errno : fd;
	}
	return -ENOENT;
}

/* The guest runs: close every inherited number, our hold on the old VM. */
static void cloexec__finish(struct upgrade_in *in)
{
	unsigned int i;

	for (i = 0; i < in->nr_fds; i++) {
		if (in->fds[i].role == STATE_FD_MM_KEEPER)
			continue;
		close(in->fds[i].fd);
	}
	/* Then the old mm may go, and the old VM with it (keeper.c). */
	for (i = 0; i < in->nr_fds; i++)
		if (in->fds[i].role == STATE_FD_MM_KEEPER)
			mm_keeper__release(in->fds[i].fd, in->info.keeper_pid);
	if (in->state_fd >= 0)
		close(in->state_fd);
	in->state_fd = -1;
	in->exe_fd = -1;	/* was in the table */
}

const struct upgrade_transport upgrade_cloexec_transport = {
	.name = "cloexec",
	.prepare = cloexec__prepare,
	.preserve = cloexec__preserve,
	.unpreserve = cloexec__unpreserve,
	.open = cloexec__open,
	.read = cloexec__read,
	.get_fd = cloexec__get_fd,
	.adopt_vm = NULL,
	.finish = cloexec__finish,
};
