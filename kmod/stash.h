/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cprstash internals shared by the module's files.
 *
 * main.c	misc device, ioctl dispatch and argument checks, module init
 * stash.c	stash objects: lookup, lifetime, seal/deadline, owner exit
 * entry.c	entries: preserved files, records, LIST, RETRIEVE, read()
 * classify.c	what kind of file a preserved file is
 * kvm_adopt.c	ADOPT_KVM: re-home a stashed KVM VM into the caller's mm
 * kvm_keep.c	ADOPT_KVM keeping the guest's mappings, SETTLE_KVM
 * debugfs.c	/sys/kernel/debug/cprstash/: stashes, live object counters
 */
#ifndef _CPRSTASH_STASH_H
#define _CPRSTASH_STASH_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/cprstash.h>

struct cprstash_kvm_keep;
struct cprstash_kvm_slots;
struct kvm;
struct mm_struct;
struct file;
struct pid;
struct seq_file;

enum stash_state {
	STASH_OPEN = CPRSTASH_STATE_OPEN,
	STASH_SEALED = CPRSTASH_STATE_SEALED,
	STASH_DEAD,		/* unlinked; entries released; fds see ENOENT */
};

/*
 * One per thread group.  References: one held by stash_list while linked,
 * one per open /dev/cprstash file, one per queued work item.  Lock order is
 * documented at the top of stash.c.
 */
struct stash {
	struct list_head node;		/* stash_list, under stash_list_lock */
	struct kref ref;
	struct rcu_head rcu;		/* freed after a grace period */

	struct pid *owner;		/* thread group; fixed at creation */
	const struct cred *cred;	/* creator's; fixed at creation */
	u64 exec_id;			/* self_exec_id of the image last let in */
	bool exec_doomed;		/* an exec changed the credentials */

	struct mutex lock;		/* protects everything below */
	unsigned int nr_fds;		/* open /dev/cprstash files */
	enum stash_state state;		/* written with WRITE_ONCE */
	struct list_head entries;	/* struct stash_entry, in add order */
	unsigned int nr_files;
	unsigned int nr_records;
	u64 record_bytes;		/* end of the record byte space */
	unsigned long deadline;		/* jiffies; meaningful when sealed */
	struct mm_struct *kept_mm;	/* CPRSTASH_SEAL_KEEP_MM: mmget() */
	unsigned long kept_mm_until;	/* jiffies; max_keep_mm_ms from SEAL */
	struct list_head keeps;		/* adoptions not settled (kvm_keep.c) */

	struct delayed_work expire_work;
	struct delayed_work keep_mm_work;	/* lets kept_mm go at its cap */
	struct work_struct exit_work;
	struct wait_queue_entry exit_wait;	/* on owner->wait_pidfd */
};

struct stash_entry {
	struct list_head node;
	char name[CPRSTASH_NAME_MAX];
	u32 type;			/* CPRSTASH_ENTRY_* */
	u32 flags;			/* CPRSTASH_ENTRY_RETRIEVED */
	/* CPRSTASH_ENTRY_FILE */
	struct file *file;
	u32 kind;
	struct mm_struct *vm_mm;	/* KVM VMs: the owner's mm at PRESERVE */
	struct cprstash_kvm_slots *kvm_slots;	/* and its memory then */
	/* CPRSTASH_ENTRY_RECORD */
	void *data;
	u32 len;
	u64 offset;
};

/*
 * Objects the module holds, counted from allocation (or reference taken)
 * to free (or reference dropped), so that a test can prove nothing leaked
 * once every process using the device is gone (debugfs "live").
 */
enum cprstash_live_obj {
	CPRSTASH_LIVE_STASHES,		/* struct stash, until freed */
	CPRSTASH_LIVE_ENTRIES,		/* struct stash_entry */
	CPRSTASH_LIVE_KEPT_MMS,		/* SEAL_KEEP_MM's mmget() */
	CPRSTASH_LIVE_VM_MMS,		/* a KVM VM entry's mmgrab() */
	CPRSTASH_LIVE_KVM_SLOTS,	/* a KVM VM entry's memslot files */
	CPRSTASH_LIVE_OLD_PIDS,		/* ADOPT_KVM's vCPU pids, until put */
	CPRSTASH_NR_LIVE
};

/* stash.c */
int stash_init(void);
void stash_exit(void);
struct stash *stash_open(void);
void stash_close(struct stash *s);
int stash_check_caller(struct stash *s);
int stash_lock(struct stash *s);
int stash_seal(struct stash *s, u32 deadline_ms, u32 flags);
void stash_release_kept_mm(struct stash *s);
struct mm_struct *stash_take_kept_mm(struct stash *s);
int stash_unseal(struct stash *s);
int stash_finish(struct stash *s);
u32 stash_deadline_left_ms(const struct stash *s);
s64 stash_kept_mm_left_ms(const struct stash *s);
void stash_for_each(void (*fn)(struct stash *s, void *arg), void *arg);
void stash_queue_rcu_work(struct rcu_work *rwork);
void stash_drain_deferred(void);

/* entry.c */
int stash_name_check(const char *name);
struct stash_entry *stash_entry_find(struct stash *s, const char *name);
int stash_preserve_fd(struct stash *s, int fd, const char *name,
		      u32 __user *ukind);
int stash_put_record(struct stash *s, const char *name,
		     const void __user *data, u32 len);
struct file *__stash_get_file(struct stash *s, const char *name, u32 *kind);
int stash_retrieve_fd(struct stash *s, const char *name, u32 flags,
		      struct cprstash_retrieve_fd __user *uarg);
int stash_list_entries(struct stash *s, struct cprstash_list *arg);
ssize_t stash_read_iter(struct stash *s, struct kiocb *iocb,
			struct iov_iter *to);
loff_t stash_llseek(struct stash *s, struct file *file, loff_t offset,
		    int whence);
void stash_entries_free(struct list_head *entries);

/* kvm_adopt.c */
int stash_adopt_kvm(struct stash *s, const char *name, u32 flags);
int stash_settle_kvm(struct stash *s, const char *name);
int cprstash_kvm_preserve(struct stash_entry *e, struct file *file);
void cprstash_kvm_slots_free(struct cprstash_kvm_slots *slots);

/* kvm_keep.c */
struct cprstash_kvm_keep *cprstash_kvm_keep_begin(struct kvm *kvm,
						  struct file *vm_file,
						  const char *name,
						  struct mm_struct *old,
						  struct mm_struct *new);
void cprstash_kvm_keep_end(struct cprstash_kvm_keep *keep);
void cprstash_kvm_keeps_add(struct list_head *keeps,
			    struct cprstash_kvm_keep *keep);
struct cprstash_kvm_keep *cprstash_kvm_keeps_take(struct list_head *keeps,
						  const char *name);
void cprstash_kvm_keeps_end(struct list_head *keeps);

/* classify.c */
u32 cprstash_classify(struct file *file);
const char *cprstash_kind_name(u32 kind);

/* main.c */
bool file_is_cprstash(const struct file *file);

/* debugfs.c */
void cprstash_live_inc(enum cprstash_live_obj obj);
void cprstash_live_dec(enum cprstash_live_obj obj);
/* Whether the test knob fail_nth makes this allocation fail. */
bool cprstash_fail_alloc(void);
/* Every allocation of the module: @alloc, unless fail_nth fails it. */
#define cprstash_alloc(alloc)	(cprstash_fail_alloc() ? NULL : (alloc))
void cprstash_debugfs_init(void);
void cprstash_debugfs_exit(void);

#endif /* _CPRSTASH_STASH_H */
