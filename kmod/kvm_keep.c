// SPDX-License-Identifier: GPL-2.0
/*
 * ADOPT_KVM with CPRSTASH_ADOPT_KEEP_MAPPINGS: the VM keeps its guest
 * mappings across the adoption, and SETTLE_KVM later moves KVM's MMU
 * notifier to the new mm without zapping them.
 *
 * The invariant KVM relies on: every page a guest mapping (SPTE, pfn
 * cache) points at is mapped by an mm whose invalidations KVM receives, so
 * that nothing can free or move the page behind KVM's back (reclaim and
 * migration only walk the mms that map a page; a page mapped by none is
 * reclaimed without any notifier call).  How it holds here:
 *
 * ADOPT (kvm->lock, every vcpu->mutex held; the old mm kept by the stash):
 *   KVM's notifier stays registered on the old mm, which still maps every
 *   page KVM maps.  Its ops are replaced by ours (@wrap), which call KVM's
 *   and note each invalidation KVM has begun and not yet ended.  A
 *   forwarder (@fwd) is registered on the new mm and calls KVM's ops too:
 *   every fault after the swap uses current->mm (hva_to_pfn) or kvm->mm
 *   (host_pfn_mapping_level), both the new mm, so what KVM maps from now
 *   on is mapped by the new mm, whose invalidations reach KVM through
 *   @fwd.  No zap.  KVM's invalidation accounting (mmu_invalidate_in_progress,
 *   mn_active_invalidate_count) counts nested and duplicate start/end pairs,
 *   so the same range arriving from both mms is fine.
 *
 * SETTLE (the new image, current->mm == new mm):
 *   1. Map into the new mm every page of guest RAM the page cache holds
 *      (get_user_pages, resident pages only: a hole or a swapped-out page
 *      has no guest mapping, since its removal invalidated KVM).  From then
 *      on every page KVM maps is also mapped by the new mm: anything that
 *      unmaps it there invalidates KVM through @fwd.  A range that cannot be
 *      mapped is zapped in KVM instead.
 *   2. Cut KVM off the old mm: mmu_notifier_unregister() with our release
 *      muted (no zap).  An invalidation of the old mm that KVM saw begin but
 *      will not see end would leave KVM's counters raised for ever (faults
 *      retrying, memslot updates waiting): @wrap noted each one with its
 *      range, and we end them ourselves once unregistering has waited for
 *      every running callback.  Ending early is safe: the page is mapped by
 *      the new mm (step 1) and any unmapping there reaches KVM.
 *   3. Put KVM's own ops back and register its notifier on the new mm, from
 *      a worker (mm_take_all_locks() gives up on a pending signal, and a
 *      worker has none; the new mm has its notifier list already, so
 *      nothing is allocated).  Registering excludes running invalidations.
 *   4. Cut @fwd off the new mm the same way, ending what it began.
 *   5. Drop the old mm (in the background) and the VM file.
 *
 * Teardown without SETTLE (stash end, SEAL, the keep cap): the same from a
 * context that is not the new image, with step 1 replaced by a zap of the
 * whole VM (KVM's own start/end pair), after which KVM maps only what it
 * faults through the new mm.  If the new mm is already gone, its exit
 * called @fwd's release, which zapped the VM as a normal exit would; KVM's
 * notifier is then left unregistered with the grab kvm_destroy_vm() drops.
 *
 * The adoption holds a reference to the VM file, so the VM cannot be
 * destroyed (kvm_destroy_vm() unregisters from kvm->mm, which is not where
 * the notifier is) before the adoption has ended.
 *
 * Lock order: stash->lock is never held here; the adoption is taken off the
 * stash's list under it first.  kvm->slots_lock -> mmap_lock (populate);
 * keep->lock is a leaf spinlock, taken inside notifier callbacks, and
 * nests kvm->mn_invalidate_lock (adopt only).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagevec.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "stash.h"

#if defined(CPRSTASH_ADOPT_SUPPORTED) && \
	IS_ENABLED(CONFIG_KVM_GENERIC_MMU_NOTIFIER) && IS_ENABLED(CONFIG_X86_64)

/* Invalidations one path may have begun in KVM and not yet ended. */
#define KEEP_INFLIGHT	64

/*
 * The invalidations KVM has begun through one path (its own notifier on the
 * old mm, or the forwarder on the new one) and not yet ended: what we must
 * end ourselves when we cut that path.  @unknown counts those begun without
 * a slot (all slots busy) or, on KVM's own path, before @wrap was installed;
 * a path is cut only when it is zero.
 */
struct keep_path {
	const struct mmu_notifier_range *ptr[KEEP_INFLIGHT];
	struct mmu_notifier_range range[KEEP_INFLIGHT];
	long unknown;
};

struct cprstash_kvm_keep {
	struct list_head node;		/* stash->keeps, under stash->lock */
	char name[CPRSTASH_NAME_MAX];	/* of the VM in the stash */
	struct file *vm_file;		/* keeps the VM alive */
	struct kvm *kvm;
	struct mm_struct *old_mm;	/* mmget(); KVM's notifier is on it */
	struct mm_struct *new_mm;	/* mmgrab()bed by @fwd's registration */
	const struct mmu_notifier_ops *kvm_ops;	/* KVM's own */
	struct mmu_notifier_ops wrap;	/* installed as kvm->mmu_notifier.ops */
	struct mmu_notifier fwd;	/* on @new_mm */
	bool mute_release;		/* cutting a path must not zap */

	spinlock_t lock;		/* the paths and @busy */
	unsigned int busy;		/* @wrap callbacks running */
	struct keep_path direct;	/* KVM's own notifier, on @old_mm */
	struct keep_path forward;	/* @fwd, on @new_mm */
};

static struct cprstash_kvm_keep *keep_of_wrap(struct mmu_notifier *mn)
{
	/* Only ever called through kvm->mmu_notifier.ops == &keep->wrap. */
	return container_of(READ_ONCE(mn->ops), struct cprstash_kvm_keep, wrap);
}

static struct cprstash_kvm_keep *keep_of_fwd(struct mmu_notifier *mn)
{
	return container_of(mn, struct cprstash_kvm_keep, fwd);
}

static void keep_path_note_start(struct keep_path *p,
				 const struct mmu_notifier_range *range)
{
	unsigned int i;

	for (i = 0; i < KEEP_INFLIGHT; i++) {
		if (!p->ptr[i]) {
			p->ptr[i] = range;
			p->range[i] = *range;
			return;
		}
	}
	p->unknown++;
}

/*
 * The range struct lives on the invalidating task's stack from start to
 * end: while it is in flight its address names it.
 */
static void keep_path_note_end(struct keep_path *p,
			       const struct mmu_notifier_range *range)
{
	unsigned int i;

	for (i = 0; i < KEEP_INFLIGHT; i++) {
		if (p->ptr[i] == range) {
			p->ptr[i] = NULL;
			return;
		}
	}
	p->unknown--;
}

/* Begin @range in KVM through path @p, noting it first. */
static void keep_start(struct cprstash_kvm_keep *k, struct keep_path *p,
		       const struct mmu_notifier_range *range)
{
	spin_lock(&k->lock);
	k->busy++;
	keep_path_note_start(p, range);
	spin_unlock(&k->lock);

	k->kvm_ops->invalidate_range_start(&k->kvm->mmu_notifier, range);

	spin_lock(&k->lock);
	k->busy--;
	spin_unlock(&k->lock);
}

static void keep_end(struct cprstash_kvm_keep *k, struct keep_path *p,
		     const struct mmu_notifier_range *range)
{
	spin_lock(&k->lock);
	k->busy++;
	keep_path_note_end(p, range);
	spin_unlock(&k->lock);

	k->kvm_ops->invalidate_range_end(&k->kvm->mmu_notifier, range);

	spin_lock(&k->lock);
	k->busy--;
	spin_unlock(&k->lock);
}

/* KVM's own notifier, on the old mm, while the adoption is not settled. */
static int keep_wrap_start(struct mmu_notifier *mn,
			   const struct mmu_notifier_range *range)
{
	struct cprstash_kvm_keep *k = keep_of_wrap(mn);

	keep_start(k, &k->direct, range);
	return 0;
}

static void keep_wrap_end(struct mmu_notifier *mn,
			  const struct mmu_notifier_range *range)
{
	struct cprstash_kvm_keep *k = keep_of_wrap(mn);

	keep_end(k, &k->direct, range);
}

static int keep_wrap_clear_flush_young(struct mmu_notifier *mn,
				       struct mm_struct *mm,
				       unsigned long start, unsigned long end)
{
	struct cprstash_kvm_keep *k = keep_of_wrap(mn);

	return k->kvm_ops->clear_flush_young(mn, mm, start, end);
}

static int keep_wrap_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
				 unsigned long start, unsigned long end)
{
	struct cprstash_kvm_keep *k = keep_of_wrap(mn);

	return k->kvm_ops->clear_young(mn, mm, start, end);
}

static int keep_wrap_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
				unsigned long address)
{
	struct cprstash_kvm_keep *k = keep_of_wrap(mn);

	return k->kvm_ops->test_young(mn, mm, address);
}

static void keep_wrap_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct cprstash_kvm_keep *k = keep_of_wrap(mn);

	if (!READ_ONCE(k->mute_release))
		k->kvm_ops->release(mn, mm);
}

/* The forwarder, on the new mm: KVM's ops on KVM's notifier. */
static int keep_fwd_start(struct mmu_notifier *mn,
			  const struct mmu_notifier_range *range)
{
	struct cprstash_kvm_keep *k = keep_of_fwd(mn);

	keep_start(k, &k->forward, range);
	return 0;
}

static void keep_fwd_end(struct mmu_notifier *mn,
			 const struct mmu_notifier_range *range)
{
	struct cprstash_kvm_keep *k = keep_of_fwd(mn);

	keep_end(k, &k->forward, range);
}

static int keep_fwd_clear_flush_young(struct mmu_notifier *mn,
				      struct mm_struct *mm,
				      unsigned long start, unsigned long end)
{
	struct cprstash_kvm_keep *k = keep_of_fwd(mn);

	return k->kvm_ops->clear_flush_young(&k->kvm->mmu_notifier, mm, start,
					     end);
}

static int keep_fwd_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
				unsigned long start, unsigned long end)
{
	struct cprstash_kvm_keep *k = keep_of_fwd(mn);

	return k->kvm_ops->clear_young(&k->kvm->mmu_notifier, mm, start, end);
}

static int keep_fwd_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long address)
{
	struct cprstash_kvm_keep *k = keep_of_fwd(mn);

	return k->kvm_ops->test_young(&k->kvm->mmu_notifier, mm, address);
}

/* The new image's mm exits before the adoption ended: zap, as exit would. */
static void keep_fwd_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct cprstash_kvm_keep *k = keep_of_fwd(mn);

	if (!READ_ONCE(k->mute_release))
		k->kvm_ops->release(&k->kvm->mmu_notifier, mm);
}

static const struct mmu_notifier_ops keep_fwd_ops = {
	.invalidate_range_start	= keep_fwd_start,
	.invalidate_range_end	= keep_fwd_end,
	.clear_flush_young	= keep_fwd_clear_flush_young,
	.clear_young		= keep_fwd_clear_young,
	.test_young		= keep_fwd_test_young,
	.release		= keep_fwd_release,
};

/*
 * Invalidations KVM began through its own ops before @wrap replaced them
 * end through @wrap, which does not know them: count them as @unknown.
 * Once every callback that read the old ops has returned
 * (mmu_notifier_synchronize()) and none of ours is running, KVM's count of
 * running invalidations is exactly theirs plus those @wrap noted (the
 * forwarder is not registered yet).
 */
static void keep_count_unknown(struct cprstash_kvm_keep *k)
{
	struct kvm *kvm = k->kvm;
	unsigned int i, noted;

	mmu_notifier_synchronize();
	for (;;) {
		spin_lock(&k->lock);
		if (!k->busy)
			break;
		spin_unlock(&k->lock);
		usleep_range(100, 200);
	}
	for (i = 0, noted = 0; i < KEEP_INFLIGHT; i++)
		noted += !!k->direct.ptr[i];
	spin_lock(&kvm->mn_invalidate_lock);
	k->direct.unknown = kvm->mn_active_invalidate_count - noted;
	spin_unlock(&kvm->mn_invalidate_lock);
	spin_unlock(&k->lock);
}

/*
 * ADOPT_KVM with the old mm kept: called with kvm->lock and every
 * vcpu->mutex held, before kvm->mm changes.  KVM's notifier stays on
 * @old; the forwarder joins @new.  Consumes nothing on failure.
 */
struct cprstash_kvm_keep *cprstash_kvm_keep_begin(struct kvm *kvm,
						  struct file *vm_file,
						  const char *name,
						  struct mm_struct *old,
						  struct mm_struct *new)
{
	struct cprstash_kvm_keep *k;
	int ret;

	k = cprstash_alloc(kzalloc(sizeof(*k), GFP_KERNEL_ACCOUNT));
	if (!k)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&k->lock);
	strscpy(k->name, name, sizeof(k->name));
	k->kvm = kvm;
	k->new_mm = new;
	k->kvm_ops = kvm->mmu_notifier.ops;
	k->fwd.ops = &keep_fwd_ops;
	k->wrap = (struct mmu_notifier_ops){
		.invalidate_range_start	= keep_wrap_start,
		.invalidate_range_end	= keep_wrap_end,
		.clear_flush_young	= keep_wrap_clear_flush_young,
		.clear_young		= keep_wrap_clear_young,
		.test_young		= keep_wrap_test_young,
		.release		= keep_wrap_release,
	};

	/* Counted while KVM hears only the old mm. */
	WRITE_ONCE(kvm->mmu_notifier.ops, &k->wrap);
	keep_count_unknown(k);
	/* Registration excludes running invalidations of @new: balanced. */
	ret = mmu_notifier_register(&k->fwd, new);
	if (ret) {
		/* Ends of what @wrap began balance through KVM's own ops. */
		WRITE_ONCE(kvm->mmu_notifier.ops, k->kvm_ops);
		mmu_notifier_synchronize();
		kfree(k);
		return ERR_PTR(ret);
	}
	k->vm_file = get_file(vm_file);
	k->old_mm = old;	/* the caller hands its mmget() over */
	return k;
}

/* End in KVM what path @p began and will never end: it has been cut. */
static void keep_path_end_orphans(struct cprstash_kvm_keep *k,
				  struct keep_path *p)
{
	struct mmu_notifier_range range;
	unsigned int i;
	bool found;

	do {
		found = false;
		spin_lock(&k->lock);
		for (i = 0; i < KEEP_INFLIGHT; i++) {
			if (p->ptr[i]) {
				range = p->range[i];
				p->ptr[i] = NULL;
				found = true;
				break;
			}
		}
		spin_unlock(&k->lock);
		if (found)
			k->kvm_ops->invalidate_range_end(&k->kvm->mmu_notifier,
							 &range);
	} while (found);
}

/*
 * An invalidation we could not note must end on its own before a cut.
 * They take microseconds; should one not end within seconds, say so and
 * cut anyway rather than hang the caller for ever.
 */
#define KEEP_UNKNOWN_WAIT_MS	10000

static void keep_path_wait_unknown(struct cprstash_kvm_keep *k,
				   struct keep_path *p)
{
	unsigned int waited_ms;
	long unknown;

	for (waited_ms = 0; ; waited_ms++) {
		spin_lock(&k->lock);
		unknown = p->unknown;
		spin_unlock(&k->lock);
		if (unknown <= 0)
			return;
		if (WARN_ONCE(waited_ms >= KEEP_UNKNOWN_WAIT_MS,
			      "%ld invalidations of unknown range still running\n",
			      unknown))
			return;
		usleep_range(1000, 2000);
	}
}

/* Unregistering waits for running callbacks; then end the orphans. */
static void keep_cut_direct(struct cprstash_kvm_keep *k)
{
	keep_path_wait_unknown(k, &k->direct);
	mmu_notifier_unregister(&k->kvm->mmu_notifier, k->old_mm);
	keep_path_end_orphans(k, &k->direct);
	WARN_ON_ONCE(k->direct.unknown > 0);
	/* Nobody calls through the notifier until it is registered again. */
	WRITE_ONCE(k->kvm->mmu_notifier.ops, k->kvm_ops);
}

static void keep_cut_forward(struct cprstash_kvm_keep *k)
{
	keep_path_wait_unknown(k, &k->forward);
	mmu_notifier_unregister(&k->fwd, k->new_mm);
	keep_path_end_orphans(k, &k->forward);
	WARN_ON_ONCE(k->forward.unknown > 0);
}

struct keep_register_work {
	struct work_struct work;
	struct cprstash_kvm_keep *keep;
	int ret;
};

static void keep_register_fn(struct work_struct *work)
{
	struct keep_register_work *w = container_of(work,
						    struct keep_register_work,
						    work);

	w->ret = mmu_notifier_register(&w->keep->kvm->mmu_notifier,
				       w->keep->new_mm);
}

/*
 * KVM's notifier joins the new mm (which the caller holds with mmget()).
 * In a worker: mm_take_all_locks() fails on a pending signal, and a
 * worker never has one; the new mm's notifier list exists (the forwarder
 * is on it), so nothing is allocated.  It cannot fail.
 */
static void keep_register_kvm(struct cprstash_kvm_keep *k)
{
	struct keep_register_work w = { .keep = k };

	INIT_WORK_ONSTACK(&w.work, keep_register_fn);
	queue_work(system_unbound_wq, &w.work);
	flush_work(&w.work);
	destroy_work_on_stack(&w.work);
	WARN_ON_ONCE(w.ret);
}

/* KVM's own start/end pair over [@start, @end) of @mm: a zap. */
static void keep_zap(struct cprstash_kvm_keep *k, struct mm_struct *mm,
		     unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP,
				MMU_NOTIFIER_RANGE_BLOCKABLE, mm, start, end);
	k->kvm_ops->invalidate_range_start(&k->kvm->mmu_notifier, &range);
	k->kvm_ops->invalidate_range_end(&k->kvm->mmu_notifier, &range);
}

#define KEEP_GUP_BATCH	128

/* Map [@hva, + @nr pages) into current->mm; the count mapped. */
static unsigned long keep_map_run(unsigned long hva, unsigned long nr,
				  struct page **pages)
{
	unsigned long done = 0;
	long got, i;

	while (done < nr) {
		got = get_user_pages(hva + (done << PAGE_SHIFT),
				     min(nr - done, KEEP_GUP_BATCH), 0, pages);
		if (got <= 0)
			break;
		for (i = 0; i < got; i++)
			put_page(pages[i]);
		done += got;
	}
	return done;
}

/*
 * The resident pages of @vma's file in [@start, @end) of the new mm,
 * mapped; what cannot be mapped is zapped in KVM.  Holes and swapped-out
 * pages are not mapped by KVM (their removal invalidated it) and are left
 * alone: populating them would allocate guest RAM the guest never touched.
 */
static void keep_populate_vma(struct cprstash_kvm_keep *k,
			      struct vm_area_struct *vma, unsigned long start,
			      unsigned long end, struct page **pages)
{
	struct address_space *mapping = vma->vm_file->f_mapping;
	pgoff_t index = linear_page_index(vma, start);
	pgoff_t last = linear_page_index(vma, end - 1);
	struct folio_batch fbatch;
	unsigned long hva, nr;
	pgoff_t first, stop;
	unsigned int i;

	if (!shmem_mapping(mapping)) {
		keep_zap(k, vma->vm_mm, start, end);
		return;
	}
	folio_batch_init(&fbatch);
	while (index <= last && filemap_get_folios(mapping, &index, last,
						   &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++) {
			struct folio *folio = fbatch.folios[i];

			first = max(folio->index, linear_page_index(vma, start));
			stop = min(folio_next_index(folio), last + 1);
			hva = start + ((first - linear_page_index(vma, start))
				       << PAGE_SHIFT);
			nr = stop - first;
			if (keep_map_run(hva, nr, pages) < nr)
				keep_zap(k, vma->vm_mm, hva,
					 hva + (nr << PAGE_SHIFT));
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
}

static void keep_populate_chunk(struct cprstash_kvm_keep *k,
				struct mm_struct *mm, unsigned long start,
				unsigned long end, struct page **pages)
{
	struct vm_area_struct *vma;
	unsigned long stop;

	mmap_assert_locked(mm);
	while (start < end) {
		vma = vma_lookup(mm, start);
		if (!vma) {
			/* Nothing there: KVM maps nothing from the new mm. */
			keep_zap(k, mm, start, end);
			return;
		}
		stop = min(end, vma->vm_end);
		if (vma->vm_file && (vma->vm_flags & VM_MAYSHARE))
			keep_populate_vma(k, vma, start, stop, pages);
		else
			keep_zap(k, mm, start, stop);
		start = stop;
	}
}

/*
 * mmap_lock is taken per 2 MiB: held across guest RAM (seconds per GiB
 * under emulation) it would stall every mmap of the VMM, and behind a
 * waiting writer every fault that needs it, the vCPUs' too.  What was
 * mapped stays covered meanwhile: unmapping it invalidates KVM.
 */
static void keep_populate_range(struct cprstash_kvm_keep *k,
				struct mm_struct *mm, unsigned long start,
				unsigned long end, struct page **pages)
{
	unsigned long stop;

	while (start < end) {
		stop = min(end, ALIGN(start + 1, SZ_2M));
		mmap_read_lock(mm);
		keep_populate_chunk(k, mm, start, stop, pages);
		mmap_read_unlock(mm);
		cond_resched();
		start = stop;
	}
}

/*
 * Step 1 of SETTLE, in the new image: every page KVM may map is mapped by
 * the new mm when this returns.  slots_lock keeps the memslots still.
 */
static void keep_populate(struct cprstash_kvm_keep *k)
{
	struct mm_struct *mm = current->mm;
	struct kvm *kvm = k->kvm;
	struct kvm_memory_slot *slot;
	struct page **pages;
	int as_id, bkt;

	pages = cprstash_alloc(kmalloc_array(KEEP_GUP_BATCH, sizeof(*pages), GFP_KERNEL));
	if (!pages) {
		keep_zap(k, mm, 0, ULONG_MAX);
		return;
	}
	mutex_lock(&kvm->slots_lock);
	for (as_id = 0; as_id < kvm_arch_nr_memslot_as_ids(kvm); as_id++)
		kvm_for_each_memslot(slot, bkt, __kvm_memslots(kvm, as_id))
			keep_populate_range(k, mm, slot->userspace_addr,
					    slot->userspace_addr +
					    (slot->npages << PAGE_SHIFT),
					    pages);
	mutex_unlock(&kvm->slots_lock);
	kfree(pages);
}

static void keep_free(struct cprstash_kvm_keep *k)
{
	mmput_async(k->old_mm);
	fput(k->vm_file);
	kfree(k);
}

/*
 * End the adoption: SETTLE in the new image maps guest RAM first; anywhere
 * else (the stash's end, SEAL, the keep cap) the VM is zapped instead.
 */
void cprstash_kvm_keep_end(struct cprstash_kvm_keep *k)
{
	bool settle = current->mm == k->new_mm;
	bool alive = settle || mmget_not_zero(k->new_mm);

	if (settle)
		keep_populate(k);
	else
		keep_zap(k, k->new_mm, 0, ULONG_MAX);

	WRITE_ONCE(k->mute_release, true);
	keep_cut_direct(k);
	if (alive)
		keep_register_kvm(k);
	else
		mmgrab(k->new_mm);	/* kvm_destroy_vm() drops it */
	keep_cut_forward(k);
	if (alive && !settle)
		mmput(k->new_mm);
	keep_free(k);
}

#else /* !CPRSTASH_ADOPT_SUPPORTED */

struct cprstash_kvm_keep {
	struct list_head node;
	char name[CPRSTASH_NAME_MAX];
};

struct cprstash_kvm_keep *cprstash_kvm_keep_begin(struct kvm *kvm,
						  struct file *vm_file,
						  const char *name,
						  struct mm_struct *old,
						  struct mm_struct *new)
{
	return ERR_PTR(-EOPNOTSUPP);
}

void cprstash_kvm_keep_end(struct cprstash_kvm_keep *k)
{
}

#endif

/* The stash's list of adoptions not yet settled, under stash->lock. */
void cprstash_kvm_keeps_add(struct list_head *keeps,
			    struct cprstash_kvm_keep *k)
{
	list_add_tail(&k->node, keeps);
}

struct cprstash_kvm_keep *cprstash_kvm_keeps_take(struct list_head *keeps,
						  const char *name)
{
	struct cprstash_kvm_keep *k;

	list_for_each_entry(k, keeps, node) {
		if (!strcmp(k->name, name)) {
			list_del_init(&k->node);
			return k;
		}
	}
	return NULL;
}

/* Taken off the stash already: end each one, zapping its VM. */
void cprstash_kvm_keeps_end(struct list_head *keeps)
{
	struct cprstash_kvm_keep *k, *next;

	list_for_each_entry_safe(k, next, keeps, node) {
		list_del_init(&k->node);
		cprstash_kvm_keep_end(k);
	}
}
