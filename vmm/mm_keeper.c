// SPDX-License-Identifier: GPL-2.0
/*
 * The mm keeper (vmm/mm_keeper.h).
 *
 * execve() drops the old address space, and when that is its last user the
 * kernel unmaps it right there, before the new image runs: for a VMM,
 * every page of guest RAM KVM ever faulted in, about 50 ms per GiB of
 * 4 KiB pages.  So the old image clone()s a process that shares its address
 * space (CLONE_VM, not a thread: exec does not kill it); it closes every fd
 * but one pipe and blocks reading it.  exec then only drops a reference.
 * Closing the pipe's write end (every copy of it) ends the keeper, and the
 * address space is torn down in its exit, off the caller's path.
 *
 * Nothing here calls into the rest of the VMM: tools/upgrade-floor links
 * this file alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/mm_keeper.h"

#define KEEPER_STACK_SIZE	(64 << 10)

/*
 * The keeper runs on the old image's memory without its TLS, and exec
 * replaces that image under it: no libc (not even errno), no sanitizer
 * instrumentation, raw system calls only.
 */
static inline long __attribute__((always_inline))
mm_keeper__syscall3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile ("syscall" : "=a" (ret) : "a" (nr), "D" (a), "S" (b), "d" (c)
		      : "rcx", "r11", "memory");
	return ret;
}

__attribute__((no_sanitize_address, no_sanitize_undefined))
static int mm_keeper__main(void *arg)
{
	long fd = (long)arg;
	char c;

	/* Hold no file: only the address space. */
	if (fd > 0)
		mm_keeper__syscall3(__NR_close_range, 0, fd - 1, 0);
	mm_keeper__syscall3(__NR_close_range, fd + 1, ~0U, 0);
	/* Until every write end is closed (EOF). */
	while (mm_keeper__syscall3(__NR_read, fd, (long)&c, 1) == -EINTR)
		;
	mm_keeper__syscall3(__NR_exit, 0, 0, 0);
	return 0;
}

int mm_keeper__start(struct mm_keeper *k)
{
	int pipefd[2], ret;

	k->pid = 0;
	k->fd = -1;
	k->stack = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	k->stack = mmap(NULL, KEEPER_STACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (k->stack == MAP_FAILED) {
		ret = -errno;
		k->stack = NULL;
		goto fail;
	}
	k->pid = clone(mm_keeper__main, (char *)k->stack + KEEPER_STACK_SIZE,
		       CLONE_VM | SIGCHLD, (void *)(long)pipefd[0]);
	if (k->pid < 0) {
		ret = -errno;
		k->pid = 0;
		munmap(k->stack, KEEPER_STACK_SIZE);
		k->stack = NULL;
		goto fail;
	}
	close(pipefd[0]);
	k->fd = pipefd[1];
	return 0;
fail:
	close(pipefd[0]);
	close(pipefd[1]);
	return ret;
}

struct mm_keeper_reap {
	pid_t pid;
	void *stack;		/* ours to unmap, if the keeper ran in our mm */
};

static void *mm_keeper__reap(void *arg)
{
	struct mm_keeper_reap *r = arg;

	while (waitpid(r->pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	if (r->stack)
		munmap(r->stack, KEEPER_STACK_SIZE);
	free(r);
	return NULL;
}

static void mm_keeper__end(int fd, pid_t pid, void *stack)
{
	struct mm_keeper_reap *r;
	pthread_attr_t attr;
	pthread_t t;

	if (fd >= 0)
		close(fd);
	if (pid <= 0)
		return;
	r = malloc(sizeof(*r));
	if (!r) {
		waitpid(pid, NULL, __WALL);
		return;
	}
	*r = (struct mm_keeper_reap){ pid, stack };
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, mm_keeper__reap, r))
		mm_keeper__reap(r);
	pthread_attr_destroy(&attr);
}

void mm_keeper__release(int fd, pid_t pid)
{
	mm_keeper__end(fd, pid, NULL);
}

void mm_keeper__stop(struct mm_keeper *k)
{
	/* Our address space is still ours: the keeper's exit unmaps nothing. */
	mm_keeper__end(k->fd, k->pid, k->stack);
	k->fd = -1;
	k->pid = 0;
	k->stack = NULL;
}
