// SPDX-License-Identifier: GPL-2.0
/*
 * Stash objects: one per thread group, found by the group's struct pid.
 *
 * Lifetime.  A stash is linked on stash_list from creation until it dies;
 * the list holds one reference, each open file one, each queued work item
 * one.  It dies (stash_unlink(): state DEAD, entries released, list
 * reference dropped) exactly once, for one of:
 *   - its last /dev/cprstash file is closed while it is OPEN;
 *   - its SEAL deadline passes (expire_work);
 *   - its owner thread group exits (exit_work, queued from a wait entry on
 *     the owner's pid->wait_pidfd, which exit_notify() wakes: no polling).
 * Each stash holds a module reference, so the module cannot be unloaded
 * while any stash exists.
 *
 * Locks, never nested in each other:
 *   stash_list_lock	stash_list and nr_stashes; held briefly, and never
 *			while waiting for a stash->lock, because a stash->lock
 *			may be held long (a read() faulting on user memory,
 *			ADOPT_KVM) and must stall no other stash's open/close
 *   stash->lock	state, entries, counters, nr_fds, deadline, kept_mm
 *			and its cap;
 *			ADOPT_KVM takes kvm->lock and KVM's locks under it
 *   pid->wait_pidfd.lock	add/remove_wait_queue(); the wake callback
 *			runs under it and only queues work
 *
 * Credentials.  A stash belongs to its creator's credentials as well as to
 * its thread group (stash_cred_same()).  When an exec changed them, the new
 * image must not see what the old one left, and nobody else will ever use
 * it: it is destroyed at the exec, from a probe on the sched_process_exec
 * tracepoint, which runs where it may not sleep and only queues exit_work.
 * Should the tracepoint be missing, the new image's first contact with the
 * stash (open(), any command, read, seek) destroys it; it is unreachable
 * until then.  The probe finds stashes without stash_list_lock: the list is
 * RCU-protected and stashes are freed after a grace period.
 * A stash leaves service in two steps: under stash->lock it becomes DEAD
 * and gives up its entries (stash_unlink()), then under stash_list_lock it
 * leaves the list (stash_unlist()).  Lookups skip DEAD stashes, and open()
 * rechecks under stash->lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/security.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/tracepoint.h>

#include "stash.h"

static unsigned int max_stashes = 256;
module_param(max_stashes, uint, 0644);
MODULE_PARM_DESC(max_stashes, "Stashes system-wide (open() fails with EMFILE)");

/*
 * One user holding every stash would lock all other VMMs out of upgrades.
 * Keyed by the creator's euid, the identity a stash is bound to (as
 * inotify's max_user_instances is); a kuid, so that uids of different user
 * namespaces are different users.
 */
static unsigned int max_stashes_per_user = 64;
module_param(max_stashes_per_user, uint, 0644);
MODULE_PARM_DESC(max_stashes_per_user,
		 "Stashes per effective uid (open() fails with EUSERS)");

static unsigned int default_deadline = 10000;
module_param(default_deadline, uint, 0644);
MODULE_PARM_DESC(default_deadline, "Deadline in ms when SEAL passes 0");

static unsigned int max_deadline = 600000;
module_param(max_deadline, uint, 0644);
MODULE_PARM_DESC(max_deadline, "Longest SEAL deadline in ms (EINVAL beyond)");

/*
 * A kept mm has no task: the OOM killer cannot pick it, and after exec it
 * is charged to nobody's running image.  ADOPT_KVM needs it for
 * milliseconds, so bound it well below what a deadline may be: at the cap
 * it is released while the stash lives on.
 */
static unsigned int max_keep_mm_ms = 10000;
module_param(max_keep_mm_ms, uint, 0644);
MODULE_PARM_DESC(max_keep_mm_ms,
		 "Longest time in ms a SEAL_KEEP_MM address space is kept");

static DEFINE_MUTEX(stash_list_lock);
static LIST_HEAD(stash_list);
static unsigned int nr_stashes;
static struct workqueue_struct *stash_wq;

static void stash_release(struct kref *ref)
{
	struct stash *s = container_of(ref, struct stash, ref);

	WARN_ON_ONCE(!list_empty(&s->entries));
	put_pid(s->owner);
	put_cred(s->cred);
	mutex_destroy(&s->lock);
	kfree_rcu(s, rcu);	/* the exec probe may be looking at it */
	cprstash_live_dec(CPRSTASH_LIVE_STASHES);
	/*
	 * Last: this may run in a work item of stash_wq, and module exit
	 * destroys stash_wq, which waits for that item to return.
	 */
	module_put(THIS_MODULE);
}

static void stash_put(struct stash *s)
{
	kref_put(&s->ref, stash_release);
}

static bool stash_owner_alive(struct stash *s)
{
	struct task_struct *task = get_pid_task(s->owner, PIDTYPE_TGID);
	bool alive;

	if (!task)
		return false;
	alive = atomic_read(&task->signal->live) > 0;
	put_task_struct(task);
	return alive;
}

struct mm_struct *stash_take_kept_mm(struct stash *s)
{
	struct mm_struct *mm = s->kept_mm;

	lockdep_assert_held(&s->lock);
	WRITE_ONCE(s->kept_mm, NULL);	/* debugfs reads it unlocked */
	if (mm)				/* every caller mmput_async()s it */
		cprstash_live_dec(CPRSTASH_LIVE_KEPT_MMS);
	return mm;
}

/*
 * Adoptions not settled first (each holds its VM and its old mm), then
 * files, then the kept mm: a VM that still has a file should not outlive
 * the teardown of the address space it was bound to by more than it must.
 */
static void stash_release_contents(struct list_head *keeps,
				   struct list_head *doomed,
				   struct mm_struct *kept)
{
	cprstash_kvm_keeps_end(keeps);
	stash_entries_free(doomed);
	if (kept)
		mmput_async(kept);
}

/*
 * Take @s out of service.  The caller then hands @doomed to stash_bury()
 * outside the lock, because releasing a file may take long (a KVM VM tears
 * down its MMU).
 */
static void stash_unlink(struct stash *s, struct list_head *doomed,
			 struct list_head *keeps)
{
	lockdep_assert_held(&s->lock);

	WRITE_ONCE(s->state, STASH_DEAD);
	list_splice_init(&s->entries, doomed);
	list_splice_init(&s->keeps, keeps);
}

static void stash_bury(struct stash *s, struct list_head *doomed,
		       struct list_head *keeps, struct mm_struct *kept,
		       unsigned int nr_files, const char *why)
{
	mutex_lock(&stash_list_lock);
	list_del_rcu(&s->node);
	nr_stashes--;
	mutex_unlock(&stash_list_lock);

	if (nr_files)
		pr_info("stash of pid %d destroyed (%s): released %u files\n",
			pid_nr(s->owner), why, nr_files);

	stash_release_contents(keeps, doomed, kept);
	remove_wait_queue(&s->owner->wait_pidfd, &s->exit_wait);
	if (cancel_delayed_work(&s->expire_work))
		stash_put(s);
	if (cancel_delayed_work(&s->keep_mm_work))
		stash_put(s);
	if (cancel_work(&s->exit_work))
		stash_put(s);
	stash_put(s);		/* stash_list's reference */
}

/* Destroy @s unless it is dead already or @still_wanted says otherwise. */
static void stash_kill(struct stash *s, bool (*still_wanted)(struct stash *),
		       const char *why)
{
	struct mm_struct *kept = NULL;
	LIST_HEAD(doomed);
	LIST_HEAD(keeps);
	unsigned int nr_files = 0;
	bool killed = false;

	mutex_lock(&s->lock);
	if (s->state != STASH_DEAD && !still_wanted(s)) {
		nr_files = s->nr_files;
		stash_unlink(s, &doomed, &keeps);
		kept = stash_take_kept_mm(s);
		killed = true;
	}
	mutex_unlock(&s->lock);

	if (killed)
		stash_bury(s, &doomed, &keeps, kept, nr_files, why);
}

/* Deadline work may race with UNSEAL or a new SEAL: decide under the lock. */
static bool stash_before_deadline(struct stash *s)
{
	return s->state != STASH_SEALED || time_before(jiffies, s->deadline);
}

static void stash_expire_work(struct work_struct *work)
{
	struct stash *s = container_of(to_delayed_work(work), struct stash,
				       expire_work);

	stash_kill(s, stash_before_deadline, "deadline passed");
	stash_put(s);
}

/*
 * The cap of a kept mm.  UNSEAL, FINISH and ADOPT_KVM let it go without
 * cancelling this: it then finds none, or a newer one not yet due.  An
 * adoption keeping the guest's mappings holds the kept mm until settled:
 * at the cap it is ended as if by the stash's end.
 */
static void stash_keep_mm_work(struct work_struct *work)
{
	struct stash *s = container_of(to_delayed_work(work), struct stash,
				       keep_mm_work);
	struct mm_struct *mm = NULL;
	LIST_HEAD(keeps);

	mutex_lock(&s->lock);
	if (time_after_eq(jiffies, s->kept_mm_until)) {
		mm = stash_take_kept_mm(s);
		list_splice_init(&s->keeps, &keeps);
	}
	mutex_unlock(&s->lock);

	if (!list_empty(&keeps))
		pr_info("stash of pid %d: adoption not settled within max_keep_mm_ms: mappings dropped\n",
			pid_nr(s->owner));
	cprstash_kvm_keeps_end(&keeps);

	if (mm) {
		pr_info("stash of pid %d: kept address space released (max_keep_mm_ms)\n",
			pid_nr(s->owner));
		mmput_async(mm);
	}
	stash_put(s);
}

/* For stash_kill(): a stash nobody may use any more. */
static bool stash_unwanted(struct stash *s)
{
	return false;
}

/* Also queued by stash_exec_probe(), after an exec changed the credentials. */
static void stash_exit_work(struct work_struct *work)
{
	struct stash *s = container_of(work, struct stash, exit_work);

	if (READ_ONCE(s->exec_doomed))
		stash_kill(s, stash_unwanted, "credentials changed");
	else
		stash_kill(s, stash_owner_alive, "owner exited");
	stash_put(s);
}

/* Queue @work holding a reference for it; never the last put (list holds one). */
static void stash_queue_exit_work(struct stash *s)
{
	kref_get(&s->ref);
	if (!queue_work(stash_wq, &s->exit_work))
		stash_put(s);
}

/*
 * Runs under the owner's wait_pidfd lock, in the exiting task.  The queue
 * is also woken when the leader's pid is detached: exit_work checks.
 */
static int stash_owner_woke(struct wait_queue_entry *wait, unsigned int mode,
			    int sync, void *key)
{
	stash_queue_exit_work(container_of(wait, struct stash, exit_wait));
	return 0;
}

/* A dying stash may still be listed: it is nobody's any more. */
static struct stash *stash_find(struct pid *tgid)
{
	struct stash *s;

	lockdep_assert_held(&stash_list_lock);
	list_for_each_entry(s, &stash_list, node)
		if (s->owner == tgid && READ_ONCE(s->state) != STASH_DEAD)
			return s;
	return NULL;
}

/*
 * Stashes on the list created under @euid, dying ones included as in
 * nr_stashes: they still hold their files.  The walk is bounded by
 * max_stashes and runs only when a stash is created.
 */
static unsigned int stash_count_user(kuid_t euid)
{
	unsigned int n = 0;
	struct stash *s;

	lockdep_assert_held(&stash_list_lock);
	list_for_each_entry(s, &stash_list, node)
		if (uid_eq(s->cred->euid, euid))
			n++;
	return n;
}

static struct stash *stash_create(struct pid *tgid)
{
	struct stash *s;

	lockdep_assert_held(&stash_list_lock);
	/* The user's own limit first: it names what the caller can change. */
	if (stash_count_user(current_euid()) >=
	    READ_ONCE(max_stashes_per_user))
		return ERR_PTR(-EUSERS);
	if (nr_stashes >= READ_ONCE(max_stashes))
		return ERR_PTR(-EMFILE);
	/* Charged to the opener's memcg, as is everything the stash holds. */
	s = cprstash_alloc(kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT));
	if (!s)
		return ERR_PTR(-ENOMEM);
	cprstash_live_inc(CPRSTASH_LIVE_STASHES);

	kref_init(&s->ref);		/* stash_list's reference */
	kref_get(&s->ref);		/* the opening file's */
	s->nr_fds = 1;
	s->owner = get_pid(tgid);
	s->cred = get_cred(current_cred());
	s->exec_id = current->self_exec_id;
	mutex_init(&s->lock);
	s->state = STASH_OPEN;
	INIT_LIST_HEAD(&s->entries);
	INIT_LIST_HEAD(&s->keeps);
	INIT_DELAYED_WORK(&s->expire_work, stash_expire_work);
	INIT_DELAYED_WORK(&s->keep_mm_work, stash_keep_mm_work);
	INIT_WORK(&s->exit_work, stash_exit_work);
	init_waitqueue_func_entry(&s->exit_wait, stash_owner_woke);
	__module_get(THIS_MODULE);

	list_add_rcu(&s->node, &stash_list);
	nr_stashes++;

	add_wait_queue(&tgid->wait_pidfd, &s->exit_wait);
	/* An io_uring worker may open while its group exits: recheck. */
	if (!stash_owner_alive(s))
		stash_queue_exit_work(s);
	return s;
}

/* Count one more file on @s, unless it died since it was looked up. */
static int stash_add_fd(struct stash *s)
{
	if (mutex_lock_killable(&s->lock))
		return -EINTR;
	if (s->state == STASH_DEAD) {
		mutex_unlock(&s->lock);
		return -ENOENT;
	}
	s->nr_fds++;
	mutex_unlock(&s->lock);
	return 0;
}

static bool stash_groups_same(const struct group_info *a,
			      const struct group_info *b)
{
	int i;

	if (a == b)
		return true;
	if (a->ngroups != b->ngroups)
		return false;
	for (i = 0; i < a->ngroups; i++)	/* both sorted */
		if (!gid_eq(a->gid[i], b->gid[i]))
			return false;
	return true;
}

/*
 * Everything an exec may change to raise privilege: ids (a setuid or
 * setgid binary), capabilities (file capabilities), securebits, the user
 * namespace and the LSM label (a domain transition).  Any difference
 * counts, so that no raise is missed for lack of knowing it was one.
 */
static bool stash_cred_same(const struct cred *a, const struct cred *b)
{
	u32 secid_a, secid_b;

	if (a == b)
		return true;
	if (!uid_eq(a->uid, b->uid) || !uid_eq(a->euid, b->euid) ||
	    !uid_eq(a->suid, b->suid) || !uid_eq(a->fsuid, b->fsuid) ||
	    !gid_eq(a->gid, b->gid) || !gid_eq(a->egid, b->egid) ||
	    !gid_eq(a->sgid, b->sgid) || !gid_eq(a->fsgid, b->fsgid))
		return false;
	if (a->cap_inheritable.val != b->cap_inheritable.val ||
	    a->cap_permitted.val != b->cap_permitted.val ||
	    a->cap_effective.val != b->cap_effective.val ||
	    a->cap_bset.val != b->cap_bset.val ||
	    a->cap_ambient.val != b->cap_ambient.val ||
	    a->securebits != b->securebits || a->user_ns != b->user_ns)
		return false;
	if (!stash_groups_same(a->group_info, b->group_info))
		return false;
	security_cred_getsecid(a, &secid_a);
	security_cred_getsecid(b, &secid_b);
	return secid_a == secid_b;
}

/*
 * Is the caller, already known to be of the owning thread group, let in?
 * 0 if so.  Otherwise -EPERM when the image that holds the stash merely
 * wears other credentials for now (seteuid()), -ESTALE when an exec changed
 * them since: the stash must then die.  Each exec bumps self_exec_id, and
 * every thread of an image has the same.
 */
static int stash_cred_check(struct stash *s)
{
	u64 exec_id = current->self_exec_id;

	if (READ_ONCE(s->exec_doomed))
		return -ESTALE;
	if (stash_cred_same(s->cred, current_cred())) {
		if (READ_ONCE(s->exec_id) != exec_id)
			WRITE_ONCE(s->exec_id, exec_id);
		return 0;
	}
	return READ_ONCE(s->exec_id) == exec_id ? -EPERM : -ESTALE;
}

/*
 * sched_process_exec: @p is current, its new credentials committed.  No
 * sleeping here, so the stash is only marked and its exit_work queued; the
 * work item kills it.  The reference is taken only if the stash still has
 * one: it may be on its way out, and RCU keeps its memory meanwhile.
 */
static void stash_exec_probe(void *data, struct task_struct *p, pid_t old_pid,
			     struct linux_binprm *bprm)
{
	struct pid *tgid = task_tgid(p);
	struct stash *s;

	rcu_read_lock();
	list_for_each_entry_rcu(s, &stash_list, node) {
		if (s->owner != tgid || READ_ONCE(s->state) == STASH_DEAD ||
		    stash_cred_same(s->cred, current_cred()) ||
		    !kref_get_unless_zero(&s->ref))
			continue;
		WRITE_ONCE(s->exec_doomed, true);
		if (!queue_work(stash_wq, &s->exit_work))
			stash_put(s);
	}
	rcu_read_unlock();
}

static struct tracepoint *stash_exec_tp;

static void stash_find_exec_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exec"))
		stash_exec_tp = tp;
}

/* Without the tracepoint, first contact after the exec still destroys. */
static void stash_exec_hook_init(void)
{
	for_each_kernel_tracepoint(stash_find_exec_tp, NULL);
	if (stash_exec_tp &&
	    tracepoint_probe_register(stash_exec_tp, stash_exec_probe, NULL))
		stash_exec_tp = NULL;
	if (!stash_exec_tp)
		pr_warn("no sched_process_exec tracepoint: a stash whose owner's exec changed its credentials dies at first use\n");
}

static void stash_exec_hook_exit(void)
{
	if (!stash_exec_tp)
		return;
	tracepoint_probe_unregister(stash_exec_tp, stash_exec_probe, NULL);
	tracepoint_synchronize_unregister();
}

/* open(): the caller's stash, created on first use, with a reference. */
struct stash *stash_open(void)
{
	struct pid *tgid = task_tgid(current);
	struct stash *s;
	int ret;

	do {
		mutex_lock(&stash_list_lock);
		s = stash_find(tgid);
		if (!s) {
			s = stash_create(tgid);	/* with its first file counted */
			mutex_unlock(&stash_list_lock);
			return s;
		}
		kref_get(&s->ref);
		mutex_unlock(&stash_list_lock);

		ret = stash_cred_check(s);
		if (ret == -ESTALE) {
			/* This image gets a new, empty stash of its own. */
			stash_kill(s, stash_unwanted, "credentials changed");
			ret = -ENOENT;
		}
		if (!ret)
			ret = stash_add_fd(s);
		if (ret)
			stash_put(s);
	} while (ret == -ENOENT);	/* died meanwhile: find skips it now */
	return ret ? ERR_PTR(ret) : s;
}

/* release(): an OPEN stash dies with its last file, a SEALED one lives on. */
void stash_close(struct stash *s)
{
	LIST_HEAD(doomed);
	LIST_HEAD(keeps);
	bool killed = false;

	mutex_lock(&s->lock);
	if (!--s->nr_fds && s->state == STASH_OPEN) {
		/* OPEN: no mm kept, but adoptions may be unsettled */
		stash_unlink(s, &doomed, &keeps);
		killed = true;
	}
	mutex_unlock(&s->lock);

	if (killed)
		stash_bury(s, &doomed, &keeps, NULL, 0, "last file closed");
	stash_put(s);
}

/*
 * Only the owning thread group, under the creator's credentials, may use a
 * stash; to anybody else (a forked child holding an inherited fd, say) it
 * does not exist.  There is deliberately no CAP_SYS_ADMIN bypass: a
 * setuid-root image must not inherit files and records an unprivileged one
 * prepared.  An image whose exec changed the credentials destroys it here.
 */
int stash_check_caller(struct stash *s)
{
	if (task_tgid(current) != s->owner)
		return -ENOENT;
	switch (stash_cred_check(s)) {
	case 0:
		return 0;
	case -ESTALE:
		stash_kill(s, stash_unwanted, "credentials changed");
		return -ENOENT;
	default:
		return -ENOENT;
	}
}

/* Lock @s for a command; fails if interrupted or if @s has died. */
int stash_lock(struct stash *s)
{
	if (mutex_lock_interruptible(&s->lock))
		return -EINTR;
	if (s->state == STASH_DEAD) {
		mutex_unlock(&s->lock);
		return -ENOENT;
	}
	return 0;
}

/*
 * The old image's address space, kept across exec by SEAL_KEEP_MM, goes
 * away in a worker: tearing down the page tables of a large guest mapping
 * takes tens of milliseconds per GiB, which must not be spent in a pause.
 */
void stash_release_kept_mm(struct stash *s)
{
	struct mm_struct *mm = stash_take_kept_mm(s);

	if (mm)
		mmput_async(mm);
}

/* Keep the caller's mm, and arm its cap, which a stale run may hold. */
static void stash_keep_mm(struct stash *s)
{
	unsigned long delay = msecs_to_jiffies(READ_ONCE(max_keep_mm_ms));

	lockdep_assert_held(&s->lock);
	mmget(current->mm);
	cprstash_live_inc(CPRSTASH_LIVE_KEPT_MMS);
	WRITE_ONCE(s->kept_mm, current->mm);
	WRITE_ONCE(s->kept_mm_until, jiffies + delay);
	kref_get(&s->ref);
	if (mod_delayed_work(stash_wq, &s->keep_mm_work, delay))
		stash_put(s);	/* was pending: that run's reference serves */
}

/*
 * An adoption keeping the guest's mappings holds the mm of the image
 * before: it must end before this image can exec in turn.  SETTLE_KVM
 * would have done it; doing it here costs the caller the populate.
 */
static int stash_settle_all(struct stash *s)
{
	LIST_HEAD(keeps);
	int ret = stash_lock(s);

	if (ret)
		return ret;
	list_splice_init(&s->keeps, &keeps);
	mutex_unlock(&s->lock);
	cprstash_kvm_keeps_end(&keeps);
	return 0;
}

int stash_seal(struct stash *s, u32 deadline_ms, u32 flags)
{
	int ret;

	if (!deadline_ms)
		deadline_ms = READ_ONCE(default_deadline);
	if (deadline_ms > READ_ONCE(max_deadline))
		return -EINVAL;

	ret = stash_settle_all(s);
	if (ret)
		return ret;
	ret = stash_lock(s);
	if (ret)
		return ret;
	if (s->state != STASH_OPEN || !list_empty(&s->keeps)) {
		ret = -EBUSY;
	} else {
		WRITE_ONCE(s->state, STASH_SEALED);
		WRITE_ONCE(s->deadline, jiffies + msecs_to_jiffies(deadline_ms));
		if (flags & CPRSTASH_SEAL_KEEP_MM)
			stash_keep_mm(s);
		kref_get(&s->ref);
		if (!queue_delayed_work(stash_wq, &s->expire_work,
					msecs_to_jiffies(deadline_ms)))
			stash_put(s);	/* a stale run is pending; it rechecks */
	}
	mutex_unlock(&s->lock);
	return ret;
}

static void stash_cancel_deadline(struct stash *s)
{
	lockdep_assert_held(&s->lock);
	/* The caller holds a file reference: this put is never the last. */
	if (cancel_delayed_work(&s->expire_work))
		stash_put(s);
}

int stash_unseal(struct stash *s)
{
	int ret = stash_lock(s);

	if (ret)
		return ret;
	if (s->state != STASH_SEALED) {
		ret = -EBUSY;
	} else {
		stash_cancel_deadline(s);
		stash_release_kept_mm(s);
		WRITE_ONCE(s->state, STASH_OPEN);
	}
	mutex_unlock(&s->lock);
	return ret;
}

int stash_finish(struct stash *s)
{
	struct mm_struct *kept;
	LIST_HEAD(doomed);
	LIST_HEAD(keeps);	/* stays empty: adoptions outlive FINISH */
	int ret = stash_lock(s);

	if (ret)
		return ret;
	if (s->state == STASH_SEALED)
		stash_cancel_deadline(s);
	kept = stash_take_kept_mm(s);
	WRITE_ONCE(s->state, STASH_OPEN);
	list_splice_init(&s->entries, &doomed);
	s->nr_files = 0;
	s->nr_records = 0;
	WRITE_ONCE(s->record_bytes, 0);
	mutex_unlock(&s->lock);

	stash_release_contents(&keeps, &doomed, kept);
	return 0;
}

/* Exact under stash->lock; a snapshot without it (debugfs). */
u32 stash_deadline_left_ms(const struct stash *s)
{
	unsigned long deadline = READ_ONCE(s->deadline);

	if (READ_ONCE(s->state) != STASH_SEALED ||
	    time_after_eq(jiffies, deadline))
		return 0;
	return jiffies_to_msecs(deadline - jiffies);
}

/* Milliseconds until a kept mm is released at its cap; -1: none kept. */
s64 stash_kept_mm_left_ms(const struct stash *s)
{
	unsigned long until = READ_ONCE(s->kept_mm_until);

	if (!READ_ONCE(s->kept_mm))
		return -1;
	if (time_after_eq(jiffies, until))
		return 0;
	return jiffies_to_msecs(until - jiffies);
}

/* For debugfs: @fn runs for each listed stash under stash_list_lock. */
void stash_for_each(void (*fn)(struct stash *s, void *arg), void *arg)
{
	struct stash *s;

	mutex_lock(&stash_list_lock);
	list_for_each_entry(s, &stash_list, node)
		fn(s, arg);
	mutex_unlock(&stash_list_lock);
}

/* Deferred work of ours outside any stash (kvm_adopt.c). */
void stash_queue_rcu_work(struct rcu_work *rwork)
{
	queue_rcu_work(stash_wq, rwork);
}

/*
 * For a reader of the live counters: let the frees already on their way
 * finish first.  RCU work waits for its grace period before it is even
 * queued (rcu_barrier()), then runs in stash_wq.  Delayed work whose timer
 * has not fired (a deadline) is not waited for: its stash is still live.
 */
void stash_drain_deferred(void)
{
	rcu_barrier();
	flush_workqueue(stash_wq);
}

int stash_init(void)
{
	stash_wq = alloc_workqueue("cprstash", WQ_UNBOUND, 0);
	if (!stash_wq)
		return -ENOMEM;
	stash_exec_hook_init();
	return 0;
}

/*
 * No stash can exist here: each holds a module reference.  RCU work may
 * still wait for its grace period before it is even queued: wait for
 * those callbacks, then drain the queue.
 */
void stash_exit(void)
{
	stash_exec_hook_exit();
	rcu_barrier();
	destroy_workqueue(stash_wq);
}
