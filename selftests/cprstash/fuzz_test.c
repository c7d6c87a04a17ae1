// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_test: random and structure-aware calls on /dev/cprstash from several
 * processes and threads at once, then proof that the kernel took no harm:
 * no WARNING, BUG, Oops, refcount or list corruption in the kernel log,
 * every live-object counter of the module back to zero once the processes
 * are gone, and the module unloads.
 *
 * Each call is an ioctl with its struct mutated (sizes around the known
 * ones, tails, flags, reserved fields, names, fds of every kind, pointers
 * into a guard page), an ioctl with random bytes, a pread or io_uring read
 * at an odd offset, or a life event racing the other threads: closing and
 * reopening the stash, passing stash fds between processes over
 * SCM_RIGHTS, fork (a child that exits while its thread is inside a call),
 * and exec of the whole process (its other threads die mid-call; the new
 * image carries on with what the stash kept).
 *
 *   fuzz_test [--seed N] [--calls N] [--long] [harness options]
 *
 * The seed is printed first: each thread's sequence of calls follows from
 * it, so a failure replays with the same --seed (the interleaving of
 * threads is the scheduler's).  50,000 calls by default, 1,000,000 with
 * --long or CPRSTASH_FUZZ_LONG=1 (scripts/test.sh --long).  Calls are
 * counted across every process in a shared memfd.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_util.h"

#define DEFAULT_CALLS	50000UL
#define LONG_CALLS	1000000UL
#define NR_PROCS	4
#define NR_THREADS	3
#define NR_SLOTS	4	/* stash fds a process juggles */
#define NR_NAMES	12	/* valid names: few, so that they collide */
#define CHILD_CALLS	32	/* a forked child's calls before it exits */
#define PAGE		4096
#define DATA_LEN	(64 * 1024)
#define GUARD_ARG	(PAGE - 256)	/* offset where the arg tail meets the guard */

/* In a memfd shared by every process of the run, exec'd images included. */
struct fuzz_shared {
	atomic_ulong calls;
	unsigned long limit;
	atomic_ulong forks;
	atomic_ulong execs;
	atomic_ulong fd_passes;
	atomic_ulong ok;	/* calls the module accepted */
};

struct fuzz_proc {
	uint64_t seed;
	int id;
	int gen;		/* how many execs this process has been through */
	int shared_fd;
	int mailbox[2];		/* SOCK_DGRAM pair every process shares */
	struct fuzz_shared *sh;
	atomic_int slot[NR_SLOTS];	/* stash fds, -1 when closed */
	int pool[24];		/* fds of every kind, for PRESERVE_FD */
	int nr_pool;
	atomic_int child_budget;	/* forked children: calls left, else -1 */
};

struct fuzz_thread {
	struct fuzz_proc *p;
	pthread_t thread;
	uint64_t rng;
	struct io_uring ring;
	bool have_ring;
	unsigned char *arg_page;	/* followed by a PROT_NONE page */
	unsigned char *data;		/* DATA_LEN bytes, then a guard page */
};

static uint64_t opt_seed;
static unsigned long opt_calls = DEFAULT_CALLS;

/* splitmix64: seeds that differ by one give unrelated streams. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct fuzz_thread *t)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

static uint32_t rnd_below(struct fuzz_thread *t, uint32_t n)
{
	return n ? rnd(t) % n : 0;
}

/* True with probability 1/@n. */
static bool one_in(struct fuzz_thread *t, uint32_t n)
{
	return !rnd_below(t, n);
}

static void *guarded_map(size_t len)
{
	unsigned char *m = mmap(NULL, len + PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(m != MAP_FAILED, "mmap of %zu bytes", len + PAGE);
	TEST_ASSERT(!mprotect(m + len, PAGE, PROT_NONE), "mprotect guard");
	return m;
}

#define PROGRESS_EVERY	100000UL

/*
 * One call of the budget; false once the run has made them all.  A line
 * every PROGRESS_EVERY calls tells a slow run from a stuck one.
 */
static bool fuzz_take_call(struct fuzz_proc *p)
{
	unsigned long n;

	if (atomic_load(&p->child_budget) >= 0 &&
	    atomic_fetch_sub(&p->child_budget, 1) <= 0)
		return false;
	n = atomic_fetch_add(&p->sh->calls, 1);
	if (n && n < p->sh->limit && !(n % PROGRESS_EVERY))
		dprintf(STDOUT_FILENO, "# %lu calls\n", n);
	return n < p->sh->limit;
}

/* ---- argument mutation ------------------------------------------------ */

static const char *const bad_names[] = {
	"", " ", "has space", "tab\there", "\x7f", "\xff\xfe",
	"0123456789012345678901234567890123456789012345678901234567890123",
};

static void fuzz_name(struct fuzz_thread *t, char name[CPRSTASH_NAME_MAX])
{
	memset(name, 0, CPRSTASH_NAME_MAX);
	const char *bad;

	switch (rnd_below(t, 16)) {
	case 0:
		/* No NUL at all: the kernel must not read past the field. */
		memset(name, 'x', CPRSTASH_NAME_MAX);
		break;
	case 1:
		bad = bad_names[rnd_below(t, ARRAY_SIZE(bad_names))];
		memcpy(name, bad, strnlen(bad, CPRSTASH_NAME_MAX));
		break;
	case 2:
		memset(name, 'a' + rnd_below(t, 26), CPRSTASH_NAME_MAX - 1);
		break;
	default:
		snprintf(name, CPRSTASH_NAME_MAX, "n%u", rnd_below(t, NR_NAMES));
	}
}

/* Mostly zero (valid), sometimes a random bit or random bytes. */
static void fuzz_dirty(struct fuzz_thread *t, void *field, size_t len)
{
	unsigned char *b = field;

	memset(b, 0, len);
	if (one_in(t, 12))
		b[rnd_below(t, len)] = 1 << rnd_below(t, 8);
	else if (one_in(t, 40))
		for (size_t i = 0; i < len; i++)
			b[i] = rnd(t);
}

static uint32_t fuzz_flags(struct fuzz_thread *t, uint32_t valid)
{
	if (one_in(t, 10))
		return 1u << rnd_below(t, 32);
	if (one_in(t, 50))
		return rnd(t);
	return valid && one_in(t, 2) ? valid : 0;
}

/*
 * The @size to claim: mostly the struct's, else around the first version,
 * a larger struct (a tail the kernel does not know, zero or not), a page,
 * beyond a page, or anything.
 */
static uint32_t fuzz_size(struct fuzz_thread *t, uint32_t ksize, uint32_t ver0)
{
	switch (rnd_below(t, 20)) {
	case 0: return ver0 - 1;
	case 1: return ver0;
	case 2: return ksize + 8 * (1 + rnd_below(t, 4));
	case 3: return PAGE;
	case 4: return PAGE + 1;
	case 5: return rnd_below(t, 2 * ksize);
	case 6: return rnd(t);
	default: return ksize;
	}
}

/*
 * Place an argument of @ksize bytes claiming @size in the thread's arg
 * page and return where it is.  Normally the claimed bytes are all mapped
 * (a zero tail, or a dirty one); sometimes the struct ends at the guard
 * page so that the claimed tail faults; sometimes the pointer is bad.
 */
static void *fuzz_place(struct fuzz_thread *t, const void *arg, size_t ksize)
{
	uint32_t size = *(const uint32_t *)arg;
	size_t span = size > ksize && size <= PAGE ? size : ksize;
	unsigned char *at;

	switch (rnd_below(t, 30)) {
	case 0:
		return NULL;
	case 1:
		return (void *)(uintptr_t)0xffff888000000000ULL; /* kernel's */
	case 2:
		/* Only part of the struct mapped. */
		at = t->arg_page + PAGE - rnd_below(t, ksize);
		memcpy(at, arg, t->arg_page + PAGE - at);
		return at;
	default:
		at = t->arg_page + PAGE - span;
		memset(t->arg_page, 0, PAGE);
		memcpy(at, arg, ksize);
		if (span > ksize && one_in(t, 4))
			at[ksize + rnd_below(t, span - ksize)] = rnd(t) | 1;
		return at;
	}
}

/* ---- the fds a call can name ------------------------------------------ */

static int fuzz_slot_fd(struct fuzz_thread *t)
{
	return atomic_load(&t->p->slot[rnd_below(t, NR_SLOTS)]);
}

static int fuzz_any_fd(struct fuzz_thread *t)
{
	struct fuzz_proc *p = t->p;

	switch (rnd_below(t, 10)) {
	case 0: return fuzz_slot_fd(t);
	case 1: return rnd_below(t, 2) ? -1 : (int)rnd(t);
	default: return p->nr_pool ? p->pool[rnd_below(t, p->nr_pool)] : -1;
	}
}

static void pool_add(struct fuzz_proc *p, int fd)
{
	if (fd >= 0 && p->nr_pool < (int)ARRAY_SIZE(p->pool))
		p->pool[p->nr_pool++] = fd;
}

/* A VM with a memfd-backed memslot: PRESERVE_FD records it for adoption. */
static void pool_add_kvm(struct fuzz_proc *p)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = 16 * PAGE,
	};
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm, mem;
	void *ram;

	if (kvm < 0)
		return;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	pool_add(p, kvm);
	if (vm < 0)
		return;
	pool_add(p, vm);
	pool_add(p, ioctl(vm, KVM_CREATE_VCPU, 0));
	mem = memfd_create("fuzz-ram", MFD_CLOEXEC);
	if (mem < 0 || ftruncate(mem, region.memory_size))
		return;
	ram = mmap(NULL, region.memory_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED, mem, 0);
	if (ram == MAP_FAILED)
		return;
	region.userspace_addr = (uintptr_t)ram;
	ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
	pool_add(p, mem);
}

/*
 * Everything PRESERVE_FD may be handed, non-blocking so that a stray read
 * never waits: memfd, KVM, eventfd, socket, pipe, /dev/null, a closed fd,
 * /dev/cprstash itself (refused).  Received stash fds and our own slots
 * are named through fuzz_slot_fd().
 */
static void pool_fill(struct fuzz_proc *p)
{
	int fds[2];
	int closed;

	pool_add(p, memfd_with_pattern("fuzz", 3 * PAGE + 5, p->id, MFD_CLOEXEC));
	pool_add(p, eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
			fds)) {
		pool_add(p, fds[0]);
		pool_add(p, fds[1]);
	}
	if (!pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
		pool_add(p, fds[0]);
		pool_add(p, fds[1]);
	}
	pool_add(p, open("/dev/null", O_RDWR | O_CLOEXEC));
	pool_add(p, p->mailbox[0]);
	closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (closed >= 0) {
		close(closed);
		pool_add(p, closed);
	}
	pool_add(p, __stash_open(O_CLOEXEC | O_NONBLOCK));
	pool_add_kvm(p);
}

static void pool_close(struct fuzz_proc *p)
{
	for (int i = 0; i < p->nr_pool; i++)
		if (p->pool[i] != p->mailbox[0])
			close(p->pool[i]);	/* the closed one: EBADF */
	p->nr_pool = 0;
}

/* ---- the calls -------------------------------------------------------- */

/* The return value is only counted: any errno is an answer. */
static void fuzz_count(struct fuzz_thread *t, long ret)
{
	if (!ret)
		atomic_fetch_add(&t->p->sh->ok, 1);
}

static long fuzz_ioctl(struct fuzz_thread *t, unsigned long cmd, void *arg,
		       size_t ksize)
{
	void *at = fuzz_place(t, arg, ksize);
	int fd = one_in(t, 20) ? fuzz_any_fd(t) : fuzz_slot_fd(t);

	return ioctl(fd, cmd, at);
}

static void call_preserve(struct fuzz_thread *t)
{
	struct cprstash_preserve_fd a = { 0 };

	a.size = fuzz_size(t, sizeof(a), CPRSTASH_PRESERVE_FD_SIZE_VER0);
	a.flags = fuzz_flags(t, 0);
	a.fd = fuzz_any_fd(t);
	fuzz_name(t, a.name);
	fuzz_dirty(t, a.reserved, sizeof(a.reserved));
	fuzz_count(t, fuzz_ioctl(t, CPRSTASH_IOC_PRESERVE_FD, &a, sizeof(a)));
}

static void call_put_record(struct fuzz_thread *t)
{
	struct cprstash_put_record a = { 0 };
	uint32_t len = rnd_below(t, 2) ? rnd_below(t, 64) : rnd_below(t, DATA_LEN);

	a.size = fuzz_size(t, sizeof(a), CPRSTASH_PUT_RECORD_SIZE_VER0);
	a.flags = fuzz_flags(t, 0);
	a.len = one_in(t, 30) ? (uint32_t)rnd(t) : len;
	/* Data that runs into the guard page, or no data at all. */
	a.data = (uintptr_t)(one_in(t, 15) ? NULL :
			     t->data + rnd_below(t, DATA_LEN - len + 64));
	fuzz_dirty(t, &a.reserved0, sizeof(a.reserved0));
	fuzz_name(t, a.name);
	fuzz_dirty(t, a.reserved, sizeof(a.reserved));
	fuzz_count(t, fuzz_ioctl(t, CPRSTASH_IOC_PUT_RECORD, &a, sizeof(a)));
}

static const uint32_t list_caps[] = { 0, 1, 2, 3, 7, 64, 1024, 0xffffffff };
static const uint32_t entry_sizes[] = {
	0, CPRSTASH_ENTRY_SIZE_VER0 - 1, CPRSTASH_ENTRY_SIZE_VER0,
	CPRSTASH_ENTRY_SIZE_VER0 + 1, sizeof(struct cprstash_entry) + 8,
	PAGE, PAGE + 1,
};

/* LIST with odd capacities and strides into a buffer that may be short. */
static void call_list(struct fuzz_thread *t)
{
	struct cprstash_list a = { 0 };
	uint32_t cap = list_caps[rnd_below(t, ARRAY_SIZE(list_caps))];
	uint32_t stride = entry_sizes[rnd_below(t, ARRAY_SIZE(entry_sizes))];
	uint64_t need = (uint64_t)cap * stride;

	a.size = fuzz_size(t, sizeof(a), CPRSTASH_LIST_SIZE_VER0);
	a.flags = fuzz_flags(t, 0);
	a.nr_entries = cap;
	a.entry_size = stride;
	/* The array ends at the guard page: a capacity beyond it faults. */
	a.entries = (uintptr_t)(need <= DATA_LEN ? t->data + DATA_LEN - need :
				t->data + rnd_below(t, DATA_LEN));
	if (one_in(t, 20))
		a.entries = 0;
	fuzz_dirty(t, &a.reserved0, sizeof(a.reserved0));
	fuzz_dirty(t, &a.reserved, sizeof(a.reserved));
	fuzz_count(t, fuzz_ioctl(t, CPRSTASH_IOC_LIST, &a, sizeof(a)));
}

/* Deadlines short enough to expire under the other threads' calls. */
static const uint32_t deadlines[] = { 0, 1, 2, 10, 100, 5000, 600001 };

static void call_seal(struct fuzz_thread *t)
{
	struct cprstash_seal a = { 0 };

	a.size = fuzz_size(t, sizeof(a), CPRSTASH_SEAL_SIZE_VER0);
	a.flags = fuzz_flags(t, CPRSTASH_SEAL_KEEP_MM);
	a.deadline_ms = one_in(t, 20) ? (uint32_t)rnd(t) :
			deadlines[rnd_below(t, ARRAY_SIZE(deadlines))];
	fuzz_dirty(t, &a.reserved0, sizeof(a.reserved0));
	fuzz_dirty(t, a.reserved, sizeof(a.reserved));
	fuzz_count(t, fuzz_ioctl(t, CPRSTASH_IOC_SEAL, &a, sizeof(a)));
}

static void call_retrieve(struct fuzz_thread *t)
{
	struct cprstash_retrieve_fd a = { 0 };
	unsigned char *at;
	int fd, got;

	a.size = fuzz_size(t, sizeof(a), CPRSTASH_RETRIEVE_FD_SIZE_VER0);
	a.flags = fuzz_flags(t, CPRSTASH_RETRIEVE_NO_CLOEXEC);
	fuzz_name(t, a.name);
	fuzz_dirty(t, a.reserved, sizeof(a.reserved));
	at = fuzz_place(t, &a, sizeof(a));
	fd = one_in(t, 20) ? fuzz_any_fd(t) : fuzz_slot_fd(t);
	if (ioctl(fd, CPRSTASH_IOC_RETRIEVE_FD, at))
		return;
	fuzz_count(t, 0);
	/* @at may be unaligned: that is part of the test. */
	memcpy(&got, at + offsetof(struct cprstash_retrieve_fd, fd), sizeof(got));
	if (got > 2 && got != fd && fcntl(got, F_GETFD) >= 0)
		close(got);
}

static void call_op(struct fuzz_thread *t, unsigned long cmd)
{
	struct cprstash_op a = { 0 };

	a.size = fuzz_size(t, sizeof(a), CPRSTASH_OP_SIZE_VER0);
	a.flags = fuzz_flags(t, 0);
	fuzz_dirty(t, a.reserved, sizeof(a.reserved));
	fuzz_count(t, fuzz_ioctl(t, cmd, &a, sizeof(a)));
}

static void call_unseal(struct fuzz_thread *t)
{
	call_op(t, CPRSTASH_IOC_UNSEAL);
}

static void call_finish(struct fuzz_thread *t)
{
	call_op(t, CPRSTASH_IOC_FINISH);
}

static void call_adopt(struct fuzz_thread *t)
{
	struct cprstash_adopt_kvm a = { 0 };

	a.size = fuzz_size(t, sizeof(a), CPRSTASH_ADOPT_KVM_SIZE_VER0);
	a.flags = fuzz_flags(t, 0);
	fuzz_name(t, a.name);
	fuzz_dirty(t, a.reserved, sizeof(a.reserved));
	fuzz_count(t, fuzz_ioctl(t, CPRSTASH_IOC_ADOPT_KVM, &a, sizeof(a)));
}

/* Any command number, any direction and size bits, random bytes. */
static void call_raw_ioctl(struct fuzz_thread *t)
{
	unsigned char *at = t->arg_page + rnd_below(t, PAGE);
	unsigned int nr = rnd_below(t, 16);
	unsigned long cmd;

	for (unsigned char *b = at; b < t->arg_page + PAGE; b++)
		*b = rnd(t);
	if (rnd_below(t, 2))	/* a plausible size first */
		*(uint32_t *)t->arg_page = rnd_below(t, 128);
	cmd = one_in(t, 4) ? (unsigned long)rnd(t) :
	      _IOC(rnd_below(t, 4), one_in(t, 8) ? rnd_below(t, 256) :
	      CPRSTASH_IOCTL_MAGIC, nr, rnd_below(t, 1 << 14));
	fuzz_count(t, ioctl(fuzz_slot_fd(t),
			    cmd, one_in(t, 3) ? (void *)t->arg_page : at));
}

static off_t fuzz_offset(struct fuzz_thread *t)
{
	switch (rnd_below(t, 6)) {
	case 0: return -1 - rnd_below(t, 8);
	case 1: return (off_t)(rnd(t) >> 1);
	case 2: return CPRSTASH_RECORD_ALIGN * rnd_below(t, 64);
	default: return rnd_below(t, 4 * DATA_LEN) | 1;	/* odd */
	}
}

static void call_pread(struct fuzz_thread *t)
{
	size_t len = rnd_below(t, 2 * PAGE + 3);
	unsigned char *buf = t->data + DATA_LEN - len;

	/* Sometimes a buffer running into the guard page. */
	if (one_in(t, 10))
		buf += rnd_below(t, 64);
	fuzz_count(t, pread(fuzz_slot_fd(t), buf, len, fuzz_offset(t)) >= 0 ?
		   0 : -1);
	if (one_in(t, 8))
		lseek(fuzz_slot_fd(t), fuzz_offset(t), rnd_below(t, 5));
}

/* Up to four reads in one submission, some forced to io-wq workers. */
static void call_uring_read(struct fuzz_thread *t)
{
	unsigned int n = 1 + rnd_below(t, 4), i;
	struct io_uring_cqe *cqe;

	if (!t->have_ring)
		return call_pread(t);
	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
		size_t len = rnd_below(t, PAGE);

		if (!sqe)
			break;
		io_uring_prep_read(sqe, fuzz_slot_fd(t),
				   t->data + rnd_below(t, DATA_LEN - len), len,
				   fuzz_offset(t));
		if (one_in(t, 3))
			sqe->flags |= IOSQE_ASYNC;
	}
	io_uring_submit(&t->ring);
	while (i-- && !io_uring_wait_cqe(&t->ring, &cqe)) {
		fuzz_count(t, cqe->res >= 0 ? 0 : -1);
		io_uring_cqe_seen(&t->ring, cqe);
	}
}

/* Close a stash fd under the other threads' calls and open another. */
static void call_reopen(struct fuzz_thread *t)
{
	atomic_int *slot = &t->p->slot[rnd_below(t, NR_SLOTS)];
	int old = atomic_exchange(slot, -1);

	if (old >= 0)
		close(old);
	if (!one_in(t, 4))
		atomic_store(slot, __stash_open(O_CLOEXEC | O_NONBLOCK));
}

/* Another process's stash fd (or ours) over SCM_RIGHTS, both ways. */
static void call_pass_fd(struct fuzz_thread *t)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct fuzz_proc *p = t->p;
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	atomic_int *slot;
	int fd, old;

	if (rnd_below(t, 2)) {
		fd = fuzz_slot_fd(t);
		if (fd < 0)
			return;
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		fuzz_count(t, sendmsg(p->mailbox[0], &msg, MSG_DONTWAIT) < 0);
		return;
	}
	if (recvmsg(p->mailbox[1], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
		return;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	atomic_fetch_add(&p->sh->fd_passes, 1);
	slot = &p->slot[rnd_below(t, NR_SLOTS)];
	old = atomic_exchange(slot, fd);
	if (old >= 0)
		close(old);
}

static void fuzz_exec_worker(struct fuzz_proc *p, int budget)
{
	char seed[24], id[12], gen[12], shared[12], mb0[12], mb1[12], left[12];

	snprintf(seed, sizeof(seed), "%" PRIu64, p->seed);
	snprintf(id, sizeof(id), "%d", p->id);
	snprintf(gen, sizeof(gen), "%d", p->gen + 1);
	snprintf(shared, sizeof(shared), "%d", p->shared_fd);
	snprintf(mb0, sizeof(mb0), "%d", p->mailbox[0]);
	snprintf(mb1, sizeof(mb1), "%d", p->mailbox[1]);
	snprintf(left, sizeof(left), "%d", budget);
	exec_stage("worker", seed, id, gen, shared, mb0, mb1, left, NULL);
}

/* exec ourselves, killing the other threads wherever they are. */
static void call_exec(struct fuzz_thread *t)
{
	atomic_fetch_add(&t->p->sh->execs, 1);
	fuzz_exec_worker(t->p, -1);
}

static void fuzz_child(struct fuzz_thread *t) __attribute__((noreturn));

/*
 * A child with the parent's stash fds (not its stash: ENOENT) and a stash
 * of its own.  Its parent's other threads held locks at the fork, so it
 * makes only system calls, then exits or execs into a two-thread worker
 * that exits while its other thread is inside a call.
 */
static void call_fork(struct fuzz_thread *t)
{
	struct fuzz_proc *p = t->p;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return;
	if (!pid)
		fuzz_child(t);
	atomic_fetch_add(&p->sh->forks, 1);
	waitpid(pid, NULL, 0);	/* a crash shows in the kernel log */
}

struct fuzz_call {
	void (*fn)(struct fuzz_thread *t);
	unsigned int weight;
};

static const struct fuzz_call calls[] = {
	{ call_preserve, 120 },
	{ call_put_record, 120 },
	{ call_list, 100 },
	{ call_seal, 50 },
	{ call_retrieve, 80 },
	{ call_unseal, 40 },
	{ call_finish, 30 },
	{ call_adopt, 20 },
	{ call_raw_ioctl, 60 },
	{ call_pread, 60 },
	{ call_uring_read, 30 },
	{ call_reopen, 25 },
	{ call_pass_fd, 25 },
	{ call_fork, 2 },
	{ call_exec, 1 },
};

/* What a forked child may do before it execs: system calls only. */
static const struct fuzz_call child_calls[] = {
	{ call_preserve, 1 },
	{ call_put_record, 1 },
	{ call_list, 1 },
	{ call_seal, 1 },
	{ call_retrieve, 1 },
	{ call_unseal, 1 },
	{ call_finish, 1 },
	{ call_raw_ioctl, 1 },
	{ call_pread, 1 },
	{ call_reopen, 1 },
	{ call_pass_fd, 1 },
};

static void fuzz_pick(struct fuzz_thread *t, const struct fuzz_call *table,
		      size_t n)
{
	unsigned int i, w, total = 0;

	for (i = 0; i < n; i++)
		total += table[i].weight;
	w = rnd_below(t, total);
	for (i = 0; w >= table[i].weight; i++)
		w -= table[i].weight;
	table[i].fn(t);
}

static void fuzz_one(struct fuzz_thread *t)
{
	fuzz_pick(t, calls, ARRAY_SIZE(calls));
}

static void fuzz_child(struct fuzz_thread *t)
{
	struct fuzz_proc *p = t->p;

	atomic_store(&p->slot[0], __stash_open(O_CLOEXEC));
	for (int i = 0; i < CHILD_CALLS && fuzz_take_call(p); i++)
		fuzz_pick(t, child_calls, ARRAY_SIZE(child_calls));
	if (rnd_below(t, 2)) {
		p->seed = mix64(t->rng);
		fuzz_exec_worker(p, CHILD_CALLS);
	}
	_exit(0);
}

static void *fuzz_thread_main(void *arg)
{
	struct fuzz_thread *t = arg;

	while (fuzz_take_call(t->p))
		fuzz_one(t);
	return NULL;
}

/* A thread's state; rings are set up before any thread starts. */
static void fuzz_thread_init(struct fuzz_thread *t, struct fuzz_proc *p,
			     int i)
{
	memset(t, 0, sizeof(*t));
	t->p = p;
	t->rng = mix64(p->seed ^ mix64((uint64_t)p->id << 32 |
				       (uint64_t)p->gen << 16 | i)) | 1;
	t->have_ring = !io_uring_queue_init(8, &t->ring, 0);
	t->arg_page = guarded_map(PAGE);
	t->data = guarded_map(DATA_LEN);
	memset(t->data, 0x5a, DATA_LEN);
}

static void fuzz_thread_fini(struct fuzz_thread *t)
{
	if (t->have_ring)
		io_uring_queue_exit(&t->ring);
	munmap(t->arg_page, 2 * PAGE);
	munmap(t->data, DATA_LEN + PAGE);
}

/* Run @nr_threads threads (this one included) until the budget is spent. */
static void fuzz_proc_run(struct fuzz_proc *p, int nr_threads)
{
	struct fuzz_thread t[NR_THREADS];
	int i;

	for (i = 0; i < nr_threads; i++)
		fuzz_thread_init(&t[i], p, i);
	for (i = 1; i < nr_threads; i++)
		if (pthread_create(&t[i].thread, NULL, fuzz_thread_main, &t[i]))
			t[i].thread = 0;
	fuzz_thread_main(&t[0]);
	/* A forked child leaves mid-call: that is the "exit" race. */
	if (atomic_load(&p->child_budget) != -1)
		_exit(0);
	for (i = 1; i < nr_threads; i++)
		if (t[i].thread)
			pthread_join(t[i].thread, NULL);
	for (i = 0; i < nr_threads; i++)
		fuzz_thread_fini(&t[i]);
}

/* After the budget: release everything and reap what is left. */
static int fuzz_proc_finish(struct fuzz_proc *p)
{
	for (int i = 0; i < NR_SLOTS; i++) {
		int fd = atomic_exchange(&p->slot[i], -1);

		if (fd >= 0)
			close(fd);
	}
	pool_close(p);
	while (wait(NULL) > 0)
		;
	return 0;
}

/*
 * A worker process, first started or exec'd again: open, fuzz, leave.  A
 * forked child's image (@budget calls) runs two threads and exits mid-call.
 */
static int fuzz_worker(struct fuzz_proc *p, int budget)
{
	p->sh = mmap(NULL, sizeof(*p->sh), PROT_READ | PROT_WRITE, MAP_SHARED,
		     p->shared_fd, 0);
	TEST_ASSERT(p->sh != MAP_FAILED, "mmap of the shared counters");
	atomic_init(&p->child_budget, budget);
	for (int i = 0; i < NR_SLOTS; i++)
		atomic_init(&p->slot[i], i < 2 ? __stash_open(O_CLOEXEC) : -1);
	pool_fill(p);
	fuzz_proc_run(p, budget < 0 ? NR_THREADS : 2);
	return fuzz_proc_finish(p);
}

static uint64_t parse_u64(const char *s)
{
	return strtoull(s, NULL, 0);
}

/* --stage worker SEED ID GEN SHARED_FD MAILBOX0 MAILBOX1 BUDGET */
static int stage_worker(int argc, char **argv)
{
	struct fuzz_proc p = { 0 };

	TEST_ASSERT(argc == 7, "worker stage wants 7 arguments, got %d", argc);
	p.seed = parse_u64(argv[0]);
	p.id = atoi(argv[1]);
	p.gen = atoi(argv[2]);
	p.shared_fd = atoi(argv[3]);
	p.mailbox[0] = atoi(argv[4]);
	p.mailbox[1] = atoi(argv[5]);
	return fuzz_worker(&p, atoi(argv[6]));
}

/* ---- the test --------------------------------------------------------- */

/* /dev/kmsg from its end: what the kernel says during the run. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static const char *const splats[] = {
	"WARNING:", "BUG:", "Oops", "refcount_t", "list_add corruption",
	"list_del corruption", "general protection", "KASAN", "UBSAN",
	"kernel BUG",
};

/* The first kernel message since the start that reports a bug, or NULL. */
static char *kmsg_find_splat(int fd, char *rec, size_t len)
{
	ssize_t n;

	for (;;) {
		n = read(fd, rec, len - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n <= 0)
			return NULL;
		rec[n] = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(splats); i++)
			if (strstr(rec, splats[i]))
				return rec;
	}
}

static void fuzz_shared_create(int *fd, struct fuzz_shared **sh)
{
	*fd = memfd_create("fuzz-shared", 0);	/* kept across exec */
	TEST_ASSERT(*fd >= 0 && !ftruncate(*fd, sizeof(**sh)),
		    "memfd for the shared counters");
	*sh = mmap(NULL, sizeof(**sh), PROT_READ | PROT_WRITE, MAP_SHARED,
		   *fd, 0);
	TEST_ASSERT(*sh != MAP_FAILED, "mmap of the shared counters");
}

/* The counters count: one stash and one entry show, and then go. */
TEST(live_counters_follow_a_stash)
{
	char held[256];
	int stash;

	REQUIRE_STASH();
	REQUIRE_DEBUGFS();
	TEST_REQUIRE(stash_debugfs_wait_live_zero(held, sizeof(held)),
		     "objects held before the test: %s", held);
	stash = stash_open();
	stash_put(stash, "rec", "x", 1);
	EXPECT_EQ(2, stash_debugfs_live(held, sizeof(held))) {
		TH_LOG("held: %s", held);
	}
	EXPECT_NE(NULL, strstr(held, "stashes=1"));
	EXPECT_NE(NULL, strstr(held, "entries=1"));
	close(stash);
	EXPECT_TRUE(stash_debugfs_wait_live_zero(held, sizeof(held))) {
		TH_LOG("still held after close: %s", held);
	}
}

static pid_t fuzz_start_worker(int id, int shared_fd, int mailbox[2])
{
	char seed[24], ids[12], shared[12], mb0[12], mb1[12];
	pid_t pid = fork();

	TEST_ASSERT(pid >= 0, "fork");
	if (pid)
		return pid;
	snprintf(seed, sizeof(seed), "%" PRIu64, opt_seed);
	snprintf(ids, sizeof(ids), "%d", id);
	snprintf(shared, sizeof(shared), "%d", shared_fd);
	snprintf(mb0, sizeof(mb0), "%d", mailbox[0]);
	snprintf(mb1, sizeof(mb1), "%d", mailbox[1]);
	exec_stage("worker", seed, ids, "0", shared, mb0, mb1, "-1", NULL);
	_exit(127);
}

/* rmmod, then insmod again from $CPRSTASH_KO (as module_test.sh does). */
static const char *module_reload(void)
{
	const char *ko = getenv("CPRSTASH_KO") ?: "/lib/cprstash/cprstash.ko";
	int fd, tries;

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* Nothing to load it back from: leave it loaded. */
		printf("# no %s: the module is not unloaded\n", ko);
		return NULL;
	}
	/* Module references drop just after the last stash: bounded retry. */
	for (tries = 0; syscall(SYS_delete_module, "cprstash", O_NONBLOCK); tries++) {
		if (tries * 10 > LIVENESS_MS) {
			close(fd);
			return "rmmod cprstash kept failing";
		}
		usleep(10000);
	}
	if (syscall(SYS_finit_module, fd, "", 0)) {
		close(fd);
		return "insmod after rmmod failed";
	}
	close(fd);
	printf("# the module unloaded and loaded again\n");
	return NULL;
}

FIXTURE(fuzz) {
	int kmsg;
	int shared_fd;
	struct fuzz_shared *sh;
	int mailbox[2];
};

FIXTURE_SETUP(fuzz)
{
	char held[256];

	self->kmsg = self->shared_fd = self->mailbox[0] = self->mailbox[1] = -1;
	REQUIRE_STASH();
	REQUIRE_DEBUGFS();
	/* Only objects of this run may be counted at its end. */
	TEST_REQUIRE(stash_debugfs_wait_live_zero(held, sizeof(held)),
		     "objects held before the run: %s", held);
	self->kmsg = kmsg_open_at_end();
	TEST_REQUIRE(self->kmsg >= 0, "cannot read /dev/kmsg");
	fuzz_shared_create(&self->shared_fd, &self->sh);
	self->sh->limit = opt_calls;
	/* Inherited across exec, unlike everything else. */
	TEST_ASSERT(!socketpair(AF_UNIX, SOCK_DGRAM, 0, self->mailbox),
		    "socketpair");
}

FIXTURE_TEARDOWN(fuzz)
{
	close(self->mailbox[0]);
	close(self->mailbox[1]);
	close(self->shared_fd);
	close(self->kmsg);
}

/*
 * The hang guard is far beyond what --long takes in the test VM; no test
 * asserts a duration.
 */
TEST_F_TIMEOUT(fuzz, ioctls_leave_no_trace, 6 * 3600)
{
	struct fuzz_shared *sh = self->sh;
	pid_t pid[NR_PROCS];
	char held[256], rec[1024], *splat;
	const char *reload_err;
	int i, status;

	for (i = 0; i < NR_PROCS; i++)
		pid[i] = fuzz_start_worker(i, self->shared_fd, self->mailbox);
	for (i = 0; i < NR_PROCS; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) {
			TH_LOG("worker %d ended with status %#x", i, status);
		}
	}
	/* Stash fds still in flight go with the sockets. */
	close(self->mailbox[0]);
	close(self->mailbox[1]);
	self->mailbox[0] = self->mailbox[1] = -1;

	printf("# %lu calls (%lu accepted), %lu forks, %lu execs, %lu stash fds passed\n",
	       atomic_load(&sh->calls) < sh->limit ? atomic_load(&sh->calls) :
	       sh->limit, atomic_load(&sh->ok), atomic_load(&sh->forks),
	       atomic_load(&sh->execs), atomic_load(&sh->fd_passes));
	EXPECT_LE(sh->limit, atomic_load(&sh->calls));

	EXPECT_TRUE(stash_debugfs_wait_live_zero(held, sizeof(held))) {
		TH_LOG("leaked: %s", held);
	}
	splat = kmsg_find_splat(self->kmsg, rec, sizeof(rec));
	EXPECT_EQ(NULL, splat) {
		TH_LOG("kernel: %s", splat);
	}
	reload_err = module_reload();
	EXPECT_EQ(NULL, reload_err) {
		TH_LOG("%s", reload_err);
	}
}

static const struct stage stages[] = {
	{ "worker", stage_worker },
	{ NULL, NULL },
};

/* Our options come out of argv; the rest is the harness's. */
static int fuzz_parse_args(int argc, char **argv)
{
	int i, n = 1;

	opt_seed = mix64(time(NULL) ^ (uint64_t)getpid() << 32);
	/* scripts/test.sh --long reaches us through run_tests.sh this way. */
	if (getenv("CPRSTASH_FUZZ_LONG") &&
	    !strcmp(getenv("CPRSTASH_FUZZ_LONG"), "1"))
		opt_calls = LONG_CALLS;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			opt_seed = parse_u64(argv[++i]);
		else if (!strcmp(argv[i], "--calls") && i + 1 < argc)
			opt_calls = parse_u64(argv[++i]);
		else if (!strcmp(argv[i], "--long"))
			opt_calls = LONG_CALLS;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

int main(int argc, char **argv)
{
	int ret = stage_dispatch(stages, argc, argv);

	if (ret >= 0)
		return ret;
	argc = fuzz_parse_args(argc, argv);
	printf("# fuzz_test --seed %" PRIu64 " --calls %lu\n", opt_seed,
	       opt_calls);
	fflush(stdout);
	return test_harness_run(argc, argv);
}
