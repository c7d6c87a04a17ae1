// SPDX-License-Identifier: GPL-2.0
/*
 * Stash entries: preserved files and state records, one namespace, kept in
 * the order they were added.  Records occupy a byte space read with
 * pread(); each starts at a multiple of CPRSTASH_RECORD_ALIGN.
 *
 * Every command copies user memory outside stash->lock where it can, checks
 * state, limits and names under the lock, and changes nothing on failure.
 * Entries and records are charged to the caller's memory cgroup
 * (GFP_KERNEL_ACCOUNT): what a user keeps in stashes counts against the
 * same memory limit as the rest of its memory.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "stash.h"

static unsigned int max_entries = 1024;
module_param(max_entries, uint, 0644);
MODULE_PARM_DESC(max_entries, "Entries per stash (ENOSPC beyond)");

static unsigned int max_record_bytes = SZ_16M;
module_param(max_record_bytes, uint, 0644);
MODULE_PARM_DESC(max_record_bytes, "Record bytes per stash (E2BIG beyond)");

/* 1..63 printable ASCII characters other than space, NUL-terminated. */
int stash_name_check(const char *name)
{
	size_t i, len = strnlen(name, CPRSTASH_NAME_MAX);

	if (len == CPRSTASH_NAME_MAX)
		return -ENAMETOOLONG;
	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return -EINVAL;
	return 0;
}

struct stash_entry *stash_entry_find(struct stash *s, const char *name)
{
	struct stash_entry *e;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(e, &s->entries, node)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

static struct stash_entry *stash_entry_alloc(u32 type, const char *name)
{
	struct stash_entry *e;

	e = cprstash_alloc(kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT));

	if (!e)
		return NULL;
	cprstash_live_inc(CPRSTASH_LIVE_ENTRIES);
	e->type = type;
	strscpy(e->name, name, sizeof(e->name));
	return e;
}

static void stash_entry_free(struct stash_entry *e)
{
	cprstash_kvm_slots_free(e->kvm_slots);
	if (e->vm_mm) {
		mmdrop(e->vm_mm);
		cprstash_live_dec(CPRSTASH_LIVE_VM_MMS);
	}
	if (e->file)
		fput(e->file);
	kvfree(e->data);
	kfree(e);
	cprstash_live_dec(CPRSTASH_LIVE_ENTRIES);
}

void stash_entries_free(struct list_head *entries)
{
	struct stash_entry *e, *tmp;

	list_for_each_entry_safe(e, tmp, entries, node) {
		list_del(&e->node);
		stash_entry_free(e);
	}
}

static unsigned int stash_nr_entries(const struct stash *s)
{
	return s->nr_files + s->nr_records;
}

/* The checks every new entry passes, under the lock. */
static int stash_may_add(struct stash *s, const char *name)
{
	lockdep_assert_held(&s->lock);
	if (s->state != STASH_OPEN)
		return -EBUSY;
	if (stash_entry_find(s, name))
		return -EEXIST;
	if (stash_nr_entries(s) >= READ_ONCE(max_entries))
		return -ENOSPC;
	return 0;
}

int stash_preserve_fd(struct stash *s, int fd, const char *name,
		      u32 __user *ukind)
{
	struct stash_entry *e;
	struct file *file;
	int ret;

	file = fget(fd);
	if (!file)
		return -EBADF;
	ret = -EINVAL;
	if (file_is_cprstash(file))	/* it would pin its own stash */
		goto out_fput;

	ret = -ENOMEM;
	e = stash_entry_alloc(CPRSTASH_ENTRY_FILE, name);
	if (!e)
		goto out_fput;
	e->kind = cprstash_classify(file);
	if (e->kind == CPRSTASH_KIND_KVM_VM) {
		ret = cprstash_kvm_preserve(e, file);
		if (ret)
			goto out_free;
	}
	/* Report the kind before committing, so the commit cannot fail. */
	ret = -EFAULT;
	if (put_user(e->kind, ukind))
		goto out_free;

	ret = stash_lock(s);
	if (ret)
		goto out_free;
	ret = stash_may_add(s, name);
	if (!ret) {
		e->file = file;
		list_add_tail(&e->node, &s->entries);
		s->nr_files++;
	}
	mutex_unlock(&s->lock);
	if (!ret)
		return 0;
out_free:
	stash_entry_free(e);	/* without its file: not committed */
out_fput:
	fput(file);
	return ret;
}

int stash_put_record(struct stash *s, const char *name,
		     const void __user *data, u32 len)
{
	u32 limit = min_t(u32, READ_ONCE(max_record_bytes), INT_MAX);
	struct stash_entry *e;
	u64 offset;
	int ret;

	if (len > limit)
		return -E2BIG;
	e = stash_entry_alloc(CPRSTASH_ENTRY_RECORD, name);
	if (!e)
		return -ENOMEM;
	e->len = len;
	if (len) {
		ret = -ENOMEM;
		e->data = cprstash_alloc(kvmalloc(len, GFP_KERNEL_ACCOUNT));
		if (!e->data)
			goto out_free;
		ret = -EFAULT;
		if (copy_from_user(e->data, data, len))
			goto out_free;
	}

	ret = stash_lock(s);
	if (ret)
		goto out_free;
	ret = stash_may_add(s, name);
	offset = ALIGN(s->record_bytes, CPRSTASH_RECORD_ALIGN);
	if (!ret && offset + len > limit)
		ret = -E2BIG;
	if (!ret) {
		e->offset = offset;
		WRITE_ONCE(s->record_bytes, offset + len);
		list_add_tail(&e->node, &s->entries);
		s->nr_records++;
	}
	mutex_unlock(&s->lock);
	if (!ret)
		return 0;
out_free:
	stash_entry_free(e);
	return ret;
}

/* A reference to the file preserved as @name, for RETRIEVE and ADOPT. */
struct file *__stash_get_file(struct stash *s, const char *name, u32 *kind)
{
	struct stash_entry *e;

	lockdep_assert_held(&s->lock);
	e = stash_entry_find(s, name);
	if (!e)
		return ERR_PTR(-ENOENT);
	if (e->type != CPRSTASH_ENTRY_FILE)
		return ERR_PTR(-EINVAL);
	*kind = e->kind;
	return get_file(e->file);
}

static struct file *stash_get_file(struct stash *s, const char *name,
				   u32 *kind)
{
	struct file *file;
	int ret;

	ret = stash_lock(s);
	if (ret)
		return ERR_PTR(ret);
	file = __stash_get_file(s, name, kind);
	mutex_unlock(&s->lock);
	return file;
}

/*
 * The entry stays: the stash keeps its reference until FINISH, so a new
 * image that fails before it resumes the guest can still hand it all back.
 *
 * receive_fd() is how SCM_RIGHTS and pidfd_getfd() hand out a file: the
 * LSMs' file_receive hook may refuse it, and a socket is charged to the
 * receiver's cgroup.  It also reports the fd before installing it: an
 * installed fd cannot be taken back, so the kind is reported first.
 */
int stash_retrieve_fd(struct stash *s, const char *name, u32 flags,
		      struct cprstash_retrieve_fd __user *uarg)
{
	struct stash_entry *e;
	struct file *file;
	u32 kind;
	int fd;

	file = stash_get_file(s, name, &kind);
	if (IS_ERR(file))
		return PTR_ERR(file);
	if (put_user(kind, &uarg->kind)) {
		fput(file);
		return -EFAULT;
	}
	fd = receive_fd(file, &uarg->fd, flags & CPRSTASH_RETRIEVE_NO_CLOEXEC ?
			0 : O_CLOEXEC);
	if (fd < 0) {
		fput(file);
		return fd;
	}

	mutex_lock(&s->lock);
	e = stash_entry_find(s, name);
	if (e && e->file == file)
		e->flags |= CPRSTASH_ENTRY_RETRIEVED;
	mutex_unlock(&s->lock);
	fput(file);		/* receive_fd() took the fd table's own */
	return 0;
}

static void stash_entry_to_user(const struct stash_entry *e,
				struct cprstash_entry *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->name, e->name, sizeof(out->name));
	out->type = e->type;
	out->flags = e->flags;
	if (e->type == CPRSTASH_ENTRY_FILE) {
		out->kind = e->kind;
	} else {
		out->offset = e->offset;
		out->len = e->len;
	}
}

/*
 * Each element of the caller's array is @stride bytes (LIST @entry_size):
 * the part of struct cprstash_entry it has room for, then zeroes, so a
 * binary built with a larger struct sees its new fields as "not reported".
 */
static int stash_entries_to_user(void __user *uentries, u32 stride,
				 const struct cprstash_entry *snap,
				 unsigned int n)
{
	size_t known = min_t(size_t, stride, sizeof(*snap));
	unsigned int i;

	BUILD_BUG_ON(sizeof(*snap) < CPRSTASH_ENTRY_SIZE_VER0);
	if (stride == sizeof(*snap))
		return copy_to_user(uentries, snap, n * sizeof(*snap)) ?
		       -EFAULT : 0;
	for (i = 0; i < n; i++, uentries += stride)
		if (copy_to_user(uentries, &snap[i], known) ||
		    clear_user(uentries + known, stride - known))
			return -EFAULT;
	return 0;
}

/*
 * Snapshot under the lock, copy out after: no user fault under the lock.
 * The snapshot is sized by the stash, not by max_entries, which root may
 * have lowered below what the stash holds.
 */
int stash_list_entries(struct stash *s, struct cprstash_list *arg)
{
	void __user *uentries = u64_to_user_ptr(arg->entries);
	struct cprstash_entry *snap = NULL;
	const struct stash_entry *e;
	unsigned int n, cap = 0;
	int ret;

	for (;;) {
		ret = stash_lock(s);
		if (ret)
			goto out;
		if (min(arg->nr_entries, stash_nr_entries(s)) <= cap)
			break;
		cap = min(arg->nr_entries, stash_nr_entries(s));
		mutex_unlock(&s->lock);
		kvfree(snap);
		snap = cprstash_alloc(kvcalloc(cap, sizeof(*snap), GFP_KERNEL_ACCOUNT));
		if (!snap)
			return -ENOMEM;
	}
	n = 0;
	list_for_each_entry(e, &s->entries, node)
		if (n < cap)
			stash_entry_to_user(e, &snap[n++]);
	arg->nr_entries = stash_nr_entries(s);
	arg->state = s->state;
	arg->deadline_ms = stash_deadline_left_ms(s);
	arg->record_bytes = s->record_bytes;
	mutex_unlock(&s->lock);

	if (n)
		ret = stash_entries_to_user(uentries, arg->entry_size, snap, n);
out:
	kvfree(snap);
	return ret;
}

/* Copy record bytes from @pos into @to; padding between records reads 0. */
static size_t stash_copy_records(struct stash *s, u64 pos, struct iov_iter *to)
{
	const struct stash_entry *e;
	size_t done = 0, n, want;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(e, &s->entries, node) {
		if (e->type != CPRSTASH_ENTRY_RECORD ||
		    e->offset + e->len <= pos + done)
			continue;
		if (!iov_iter_count(to))
			break;
		if (e->offset > pos + done) {
			want = min_t(u64, e->offset - (pos + done),
				     iov_iter_count(to));
			n = iov_iter_zero(want, to);
			done += n;
			if (n < want)
				break;
		}
		want = min_t(u64, e->offset + e->len - (pos + done),
			     iov_iter_count(to));
		n = copy_to_iter(e->data + (pos + done - e->offset), want, to);
		done += n;
		if (n < want)		/* fault */
			break;
	}
	return done;
}

/*
 * io_uring first tries every read with IOCB_NOWAIT: answer it inline when
 * the lock is free, so one submission of N reads needs no worker threads.
 */
ssize_t stash_read_iter(struct stash *s, struct kiocb *iocb, struct iov_iter *to)
{
	u64 pos = iocb->ki_pos, end;
	size_t done;
	int ret;

	if (iocb->ki_pos < 0)
		return -EINVAL;
	if (iocb->ki_flags & IOCB_NOWAIT) {
		if (!mutex_trylock(&s->lock))
			return -EAGAIN;
		ret = s->state == STASH_DEAD ? -ENOENT : 0;
		if (ret)
			mutex_unlock(&s->lock);
	} else {
		ret = stash_lock(s);
	}
	if (ret)
		return ret;

	end = s->record_bytes;
	if (pos < end) {
		iov_iter_truncate(to, end - pos);
		done = stash_copy_records(s, pos, to);
	} else {
		done = 0;
	}
	mutex_unlock(&s->lock);

	if (!done && iov_iter_count(to) && pos < end)
		return -EFAULT;
	iocb->ki_pos += done;
	return done;
}

/* SEEK_END is relative to the end of the record byte space. */
loff_t stash_llseek(struct stash *s, struct file *file, loff_t offset,
		    int whence)
{
	return generic_file_llseek_size(file, offset, whence, MAX_LFS_FILESIZE,
					READ_ONCE(s->record_bytes));
}
