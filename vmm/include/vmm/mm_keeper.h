/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mm keeper: a process that keeps this address space alive across
 * execve(), so that exec only drops a reference instead of unmapping all
 * of guest RAM page by page before the new image can start (vmm/mm_keeper.c).
 * Used by the live upgrade (upgrade/keeper.c) and by tools/upgrade-floor.
 */
#ifndef VMM_MM_KEEPER_H
#define VMM_MM_KEEPER_H

#include <sys/types.h>

struct mm_keeper {
	pid_t pid;		/* 0: none */
	int fd;			/* write end of its pipe: closing it ends it */
	void *stack;		/* in this address space */
};

/* Start one: 0, or -errno and @k has no keeper. */
int mm_keeper__start(struct mm_keeper *k);
/* The address space is still ours (exec failed): end the keeper and reap it. */
void mm_keeper__stop(struct mm_keeper *k);
/*
 * New image: close @fd, the keeper exits and the old address space is
 * torn down in its exit; reaped by a detached thread, since that exit may
 * take tens of milliseconds per GiB mapped.
 */
void mm_keeper__release(int fd, pid_t pid);

#endif
