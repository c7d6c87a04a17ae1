// SPDX-License-Identifier: GPL-2.0
/*
 * The mm keeper: keeps the old image's address space alive across exec,
 * from userspace, for the modes that do not use CPRSTASH_SEAL_KEEP_MM.
 *
 * execve() drops the old address space, and when that is its last user the
 * kernel unmaps it right there, before the new image runs: for a VMM,
 * every page of guest RAM KVM ever faulted in, about 50 ms per GiB of
 * 4 KiB pages.  So before the pause the old image clone()s a process that
 * shares its address space (CLONE_VM, not a thread: exec does not kill
 * it); it closes every fd but one pipe and blocks reading it.  exec then
 * only drops a reference.  Once the guest runs, the new image drops its
 * own references to the old KVM VM, then closes the pipe's write end: the
 * keeper exits, the address space is torn down in its exit, off the pause,
 * and the old VM goes with it (each vCPU's kvm_run mapping holds it).
 *
 * That is the order of a VMM that exits.  The other order, the address
 * space torn down while the new image still holds the old VM and destroys
 * it later, is what a plain exec (or FINISH of a SEAL_KEEP_MM stash, which
 * releases the address space before the files) does; in the nested test
 * VM, with a 1 GiB guest whose RAM was all mapped, it was followed by
 * memory corruption in later VMs.  With this order, never.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "upgrade.h"

#define KEEPER_STACK_SIZE	(64 << 10)

/*
 * The keeper runs on the old image's memory without its TLS: no libc (not
 * even errno), no sanitizer instrumentation, raw system calls only.
 */
static inline long __attribute__((always_inline))
keeper__syscall3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile ("syscall" : "=a" (ret) : "a" (nr), "D" (a), "S" (b), "d" (c)
		      : "rcx", "r11", "memory");
	return ret;
}

__attribute__((no_sanitize_address, no_sanitize_undefined))
static int keeper__main(void *arg)
{
	long fd = (long)arg;
	char c;

	if (fd > 0)
		keeper__syscall3(__NR_close_range, 0, fd - 1, 0);
	keeper__syscall3(__NR_close_range, fd + 1, ~0U, 0);
	/* Until every write end is closed (EOF). */
	while (keeper__syscall3(__NR_read, fd, (long)&c, 1) == -EINTR)
		;
	keeper__syscall3(__NR_exit, 0, 0, 0);
	return 0;
}

struct keeper_reap {
	pid_t pid;
	void *stack;		/* ours to unmap, if the keeper ran in our mm */
};

static void *keeper__reap(void *arg)
{
	struct keeper_reap *r = arg;

	while (waitpid(r->pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	if (r->stack)
		munmap(r->stack, KEEPER_STACK_SIZE);
	free(r);
	return NULL;
}

/*
 * End the keeper (it exits at EOF) and reap it on a thread of its own,
 * since its exit may be the teardown of a whole address space.
 */
static void keeper__end(int keeper_fd, pid_t pid, void *stack)
{
	struct keeper_reap *r;
	pthread_attr_t attr;
	pthread_t t;

	if (keeper_fd >= 0)
		close(keeper_fd);
	if (pid <= 0)
		return;
	r = malloc(sizeof(*r));
	if (!r) {
		waitpid(pid, NULL, __WALL);
		return;
	}
	*r = (struct keeper_reap){ pid, stack };
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, keeper__reap, r))
		keeper__reap(r);
	pthread_attr_destroy(&attr);
}

void keeper__release(int keeper_fd, pid_t pid)
{
	keeper__end(keeper_fd, pid, NULL);
}

void keeper__stop(struct upgrade_out *up)
{
	/* Our address space is still ours: the keeper's exit unmaps nothing. */
	keeper__end(up->keeper_fd, up->keeper_pid, up->keeper_stack);
	up->keeper_fd = -1;
	up->keeper_pid = 0;
	up->keeper_stack = NULL;
}

/* Not fatal if it fails: exec then tears the old address space down. */
void keeper__start(struct upgrade_out *up)
{
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		pr_warn("live upgrade: no mm keeper (pipe: %s)", strerror(errno));
		return;
	}
	up->keeper_stack = mmap(NULL, KEEPER_STACK_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (up->keeper_stack == MAP_FAILED) {
		up->keeper_stack = NULL;
		goto fail;
	}
	up->keeper_pid = clone(keeper__main, (u8 *)up->keeper_stack + KEEPER_STACK_SIZE,
			       CLONE_VM | SIGCHLD, (void *)(long)pipefd[0]);
	if (up->keeper_pid < 0)
		goto fail;
	close(pipefd[0]);
	up->keeper_fd = pipefd[1];
	up->info.keeper_pid = up->keeper_pid;
	return;
fail:
	pr_warn("live upgrade: no mm keeper (%s): exec will unmap guest RAM", strerror(errno));
	close(pipefd[0]);
	close(pipefd[1]);
	if (up->keeper_stack)
		munmap(up->keeper_stack, KEEPER_STACK_SIZE);
	up->keeper_stack = NULL;
	up->keeper_pid = 0;
}
