// SPDX-License-Identifier: GPL-2.0
/*
 * The stash transport, for the adopt and rebuild modes (/dev/cprstash,
 * Documentation/cprstash.rst).
 *
 * Old image: every kept file is preserved by name, each part of the state
 * stream ("vm", "vcpu.N", "devices", "upgrade") becomes a record
 * "state:PART", and the stash is sealed.  FD_CLOEXEC does not matter:
 * everything stays O_CLOEXEC.  exec must not tear down the old address
 * space (all the guest RAM this image ever touched) inside the pause: in
 * adopt mode the seal has CPRSTASH_SEAL_KEEP_MM, and the module tears it
 * down in a worker once ADOPT_KVM moved the VM out; in rebuild mode an mm
 * keeper (keeper.c) holds it until the old VM is gone.
 *
 * New image: LIST, then every "state:" record in one io_uring submission
 * at the offsets LIST gives; files are retrieved by name.  Adopt and
 * rebuild differ only in recover.c.  FINISH after the guest resumed drops
 * the stash's references, in rebuild the old VM's; then the keeper goes,
 * and the old VM with the old address space (keeper.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cprstash.h"
#include "upgrade.h"

#define STASH_RECORD_PREFIX	"state:"

/*
 * Every stash command takes the stash's lock interruptibly, and ADOPT_KVM
 * may wait on more; "interrupted" includes io_uring's task work (the ring
 * just used to read the records, torn down asynchronously), which sets
 * TIF_NOTIFY_SIGNAL.  A failed command changes nothing: try it again.
 */
#define stash_retry(call) ({				\
	int __ret;					\
	do {						\
		__ret = (call);				\
	} while (__ret == -EINTR);			\
	__ret;						\
})

static int stash__prepare(struct upgrade_out *up)
{
	int fd = cprstash_open(false);

	if (fd < 0)
		return fd;
	up->stash = fd;
	/* rebuild: the old VM must go before its address space (keeper.c). */
	if (up->mode == UPGRADE_REBUILD)
		keeper__start(up);
	return 0;
}

/* The test fault after-seal:expire: a deadline that passes before exec. */
static u32 stash__deadline_ms(void)
{
	return upgrade_fault__wants("after-seal", UPGRADE_FAULT_EXPIRE) ? 1
									: UPGRADE_SEAL_DEADLINE_MS;
}

/* A stash the module destroyed fails every call with ENOENT. */
static void stash__wait_expired(struct upgrade_out *up)
{
	struct cprstash_listing l;
	unsigned int i;

	for (i = 0; i < 10000; i++) {
		if (cprstash_list(up->stash, &l) == -ENOENT)
			return;
		cprstash_listing_free(&l);
		usleep(1000);
	}
	pr_warn("live upgrade: test fault: the stash outlived its deadline");
}

static int stash__preserve(struct upgrade_out *up)
{
	char name[CPRSTASH_NAME_MAX];
	unsigned int i;
	int ret;

	for (i = 0; i < up->nr_fds; i++) {
		ret = i == up->nr_fds / 2 ? upgrade_fault__point("mid-stash") : 0;
		if (ret)
			return ret;
		upgrade__fd_name(up->fds[i].role, up->fds[i].index, name, sizeof(name));
		ret = stash_retry(cprstash_preserve_fd(up->stash, up->fds[i].fd, name, NULL));
		if (ret) {
			pr_err("live upgrade: preserving %s: %s", name, strerror(-ret));
			return ret;
		}
	}
	for (i = 0; i < up->nr_parts; i++) {
		size_t end = i + 1 < up->nr_parts ? up->parts[i + 1].off : up->state.len;

		snprintf(name, sizeof(name), STASH_RECORD_PREFIX "%s", up->parts[i].name);
		ret = stash_retry(cprstash_put_record(up->stash, name,
						      up->state.data + up->parts[i].off,
						      end - up->parts[i].off));
		if (ret) {
			pr_err("live upgrade: record %s: %s", name, strerror(-ret));
			return ret;
		}
	}
	/* adopt: ADOPT_KVM wants the old mm kept by nobody but the stash. */
	ret = stash_retry(cprstash_seal(up->stash, stash__deadline_ms(),
				       up->keeper.pid > 0 ? 0 : CPRSTASH_SEAL_KEEP_MM));
	if (ret)
		pr_err("live upgrade: sealing the stash: %s", strerror(-ret));
	else if (upgrade_fault__wants("after-seal", UPGRADE_FAULT_EXPIRE))
		stash__wait_expired(up);
	return ret;
}

/* Exec failed: the stash gives everything back, then lets go of it. */
static void stash__unpreserve(struct upgrade_out *up)
{
	keeper__stop(up);
	if (up->stash < 0)
		return;
	stash_retry(cprstash_unseal(up->stash));	/* EBUSY if never sealed */
	stash_retry(cprstash_finish(up->stash));
	close(up->stash);
	up->stash = -1;
}

static int stash__open(struct upgrade_in *in)
{
	int fd;

	in->stash = cprstash_open(false);
	if (in->stash < 0) {
		pr_err("incoming: cannot open %s: %s", CPRSTASH_DEVICE, strerror(-in->stash));
		return in->stash;
	}
	fd = stash_retry(cprstash_retrieve_fd(in->stash, "exe", 0, NULL));
	if (fd < 0) {
		pr_err("incoming: the stash has no old binary: %s", strerror(-fd));
		return fd;
	}
	in->exe_fd = fd;
	return 0;
}

static int stash__cmp_offset(const void *a, const void *b)
{
	const struct record_read *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * The "state:" records laid end to end are the stream (every part is a
 * whole number of 8-byte-aligned state records): each is read straight
 * into its place.
 */
static int stash__read(struct upgrade_in *in)
{
	struct cprstash_listing l;
	struct record_read *reads;
	unsigned int i, n = 0;
	u64 total = 0;
	int ret;

	ret = stash_retry(cprstash_list(in->stash, &l));
	if (ret) {
		pr_err("incoming: LIST: %s", strerror(-ret));
		return ret;
	}
	reads = calloc(l.nr_entries ? l.nr_entries : 1, sizeof(*reads));
	if (!reads) {
		cprstash_listing_free(&l);
		return -ENOMEM;
	}
	for (i = 0; i < l.nr_entries; i++) {
		const struct cprstash_entry *e = &l.entries[i];

		if (e->type != CPRSTASH_ENTRY_RECORD ||
		    strncmp(e->name, STASH_RECORD_PREFIX, strlen(STASH_RECORD_PREFIX)))
			continue;
		reads[n++] = (struct record_read){
			.fd = in->stash, .offset = e->offset, .len = e->len,
		};
		total += e->len;
	}
	cprstash_listing_free(&l);
	qsort(reads, n, sizeof(*reads), stash__cmp_offset);
	ret = -EINVAL;
	if (!n || total > STATE_MAX_PAYLOAD * 16ULL) {
		pr_err("incoming: the stash holds no usable state records");
		goto out;
	}
	in->data = malloc(total);
	if (!in->data) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		u64 at = i ? (u64)((u8 *)reads[i - 1].dst - in->data) + reads[i - 1].len : 0;

		if (reads[i].len % 8) {
			pr_err("incoming: state record at %llu is not whole records",
			       (unsigned long long)reads[i].offset);
			goto out;
		}
		reads[i].dst = in->data + at;
	}
	in->len = total;
	in->nr_records = n;
	ret = records__read(reads, n, &in->used_uring);
out:
	free(reads);
	return ret;
}

static int stash__get_fd(struct upgrade_in *in, u32 role, u32 index)
{
	char name[CPRSTASH_NAME_MAX];

	upgrade__fd_name(role, index, name, sizeof(name));
	return stash_retry(cprstash_retrieve_fd(in->stash, name, 0, NULL));
}

/*
 * adopt keeps the guest's mappings unless the request said "adopt_zap"; a
 * module without CPRSTASH_ADOPT_KEEP_MAPPINGS refuses the flag (EINVAL),
 * and then adopts as before.  It keeps them only from a kept old mm
 * (SEAL_KEEP_MM): SETTLE_KVM then says ENOENT, which is no error.
 */
static int stash__adopt_vm(struct upgrade_in *in)
{
	int ret = -EINVAL;

	if (!(in->info.flags & STATE_UPG_ADOPT_ZAP)) {
		ret = stash_retry(cprstash_adopt_kvm_flags(in->stash, "kvm-vm",
							   CPRSTASH_ADOPT_KEEP_MAPPINGS));
		in->kept_mappings = !ret;
	}
	if (ret == -EINVAL)
		ret = stash_retry(cprstash_adopt_kvm(in->stash, "kvm-vm"));
	return ret;
}

/*
 * The guest runs on: KVM's notifier moves to this mm without dropping a
 * mapping, once the kernel has mapped guest RAM here.  Off the pause; the
 * time it takes is reported as settle_us.  At once after the resume: the
 * module drops the kept mappings at max_keep_mm_ms, and waiting for every
 * vCPU to report its gap first took longer than that with 64 vCPUs on
 * two CPUs.
 */
static void stash__settle(struct upgrade_in *in)
{
	int ret;

	if (!in->kept_mappings)
		return;
	in->t_settle = now_ns();
	ret = stash_retry(cprstash_settle_kvm(in->stash, "kvm-vm"));
	in->t_settled = now_ns();
	if (ret == -ENOENT)
		in->kept_mappings = false;	/* no kept mm: nothing was kept */
	else if (ret)
		pr_warn("incoming: SETTLE_KVM: %s", strerror(-ret));
}

/*
 * FINISH drops the stash's references, the old VM's among them (rebuild);
 * only then may the keeper let the old mm, and the old VM with it, go.
 */
static void stash__finish(struct upgrade_in *in)
{
	int keeper, ret;

	if (in->stash < 0)
		return;
	keeper = stash__get_fd(in, STATE_FD_MM_KEEPER, 0);
	ret = stash_retry(cprstash_finish(in->stash));
	if (ret)
		pr_warn("incoming: FINISH: %s", strerror(-ret));
	close(in->stash);
	in->stash = -1;
	if (keeper >= 0)
		mm_keeper__release(keeper, in->info.keeper_pid);
}

const struct upgrade_transport upgrade_stash_transport = {
	.name = "stash",
	.prepare = stash__prepare,
	.preserve = stash__preserve,
	.unpreserve = stash__unpreserve,
	.open = stash__open,
	.read = stash__read,
	.get_fd = stash__get_fd,
	.adopt_vm = stash__adopt_vm,
	.settle = stash__settle,
	.finish = stash__finish,
};
