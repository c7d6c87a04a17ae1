// SPDX-License-Identifier: GPL-2.0
/*
 * ADOPT_KVM: re-home a stashed KVM VM into the caller's mm.
 *
 * A VM is bound to the mm that created it (kvm->mm, and the MMU notifier
 * registered on it); every VM and vCPU ioctl from another mm fails with
 * EIO.  After execve() the old mm is torn down: its notifier's ->release
 * zapped every guest mapping, and the VM is useless to the new image.
 * Adoption moves kvm->mm and the notifier to the caller's mm, so the new
 * image keeps the VM with all of its vCPU, irqchip, clock and routing state.
 *
 * This touches KVM internals (struct kvm, struct kvm_vcpu, memslots), so it
 * is built only for kernels it was reviewed and tested on; elsewhere it
 * returns EOPNOTSUPP.  What it relies on, for Linux 6.12:
 *
 * - kvm->mm is read without locks by every VM, vCPU and device ioctl, to
 *   refuse callers from another mm.  Before the swap all of them fail (the
 *   old mm has no threads, the caller is not yet kvm->mm); after it, only
 *   the caller's mm passes.  Ioctls already inside KVM hold kvm->lock or a
 *   vcpu->mutex: we take kvm->lock and try every vcpu->mutex, and refuse
 *   (EBUSY) if one is held, which is also "a vCPU is in KVM_RUN".
 * - Only a VM that was bound to the stash owner's mm when it was preserved
 *   may be adopted: a VM fd received from another process stays useless.
 *   The old mm is torn down (its notifier released, guest mappings zapped)
 *   or still held by this stash (CPRSTASH_SEAL_KEEP_MM): unregistering then
 *   calls ->release, and the kept mm is torn down in the background once
 *   the VM has left it.
 * - Guest perf counters are perf events of the dead vCPU threads: VMs
 *   using them are refused (EOPNOTSUPP).
 * - vcpu->pid names a dead thread: cleared, so the first KVM_RUN does not
 *   wait for an RCU grace period to replace it.
 * - Async page-fault work reads vcpu->kvm->mm when it runs: we flush every
 *   queued item before the old mm can be dropped.  The items stay
 *   allocated while we hold the vcpu->mutex (only the vCPU frees them).
 * - gfn_to_pfn caches (kvmclock's pv_time) are not invalidated by
 *   ->release: we run KVM's own invalidate_range_start/end over the whole
 *   address space once the notifier is on the new mm.
 * - ->release zaps without flushing TLBs (no vCPU is to run again): we
 *   request a flush before the adopted vCPUs' first entry.
 * - Private memslots (APIC access page, TSS, identity map) live at HVAs of
 *   the old mm and kvm_arch_destroy_vm() unmaps them in current->mm when it
 *   equals kvm->mm: VMs that have them are refused (EOPNOTSUPP), as are
 *   VMs with Xen emulation configured (its workers kthread_use_mm(kvm->mm)).
 * - Every user memslot's HVA range must be mapped in the caller's mm by the
 *   same file, at the same offset, as at PRESERVE_FD (EFAULT otherwise), so
 *   that the first fault after adoption finds the guest's own memory.
 * - The old mm must have no task left (EBUSY otherwise): a CLONE_VM child
 *   must not take the VM from a parent that still runs it.
 * - With CPRSTASH_ADOPT_KEEP_MAPPINGS and the old mm kept, none of the
 *   notifier moves below happens here: kvm_keep.c keeps the guest's
 *   mappings and moves the notifier later, at SETTLE_KVM.
 *
 * Lock order (stash->lock, then KVM's own, Documentation/virt/kvm/locking.rst):
 *   stash->lock -> kvm->lock -> vcpu->mutex -> kvm->slots_lock -> mmap_lock
 * Keeping the mappings adds (kvm_keep.c): vcpu->mutex -> mmap_lock (the
 * forwarder's registration) and keep->lock -> kvm->mn_invalidate_lock;
 * SETTLE_KVM takes kvm->slots_lock -> mmap_lock without stash->lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/mm.h>

#include "stash.h"

/* kmod/Kbuild defines CPRSTASH_ADOPT_SUPPORTED for the tested kernels. */
#if defined(CPRSTASH_ADOPT_SUPPORTED) && \
	IS_ENABLED(CONFIG_KVM_GENERIC_MMU_NOTIFIER) && IS_ENABLED(CONFIG_X86_64)

static struct kvm *kvm_from_file(struct file *file)
{
	bool (*is_kvm)(struct file *file) = symbol_get(file_is_kvm);
	bool ret;

	if (!is_kvm)
		return NULL;
	ret = is_kvm(file);
	symbol_put(file_is_kvm);
	return ret ? file->private_data : NULL;
}

static void kvm_adopt_unlock_vcpus(struct kvm *kvm, unsigned long nr_locked)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		if (i >= nr_locked)
			break;
		mutex_unlock(&vcpu->mutex);
	}
}

/* A held vcpu->mutex means an ioctl (KVM_RUN, say) is inside the vCPU. */
static int kvm_adopt_lock_vcpus(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		if (!mutex_trylock(&vcpu->mutex)) {
			kvm_adopt_unlock_vcpus(kvm, i);
			return -EBUSY;
		}
	}
	return 0;
}

/*
 * What each user memslot's memory was at PRESERVE_FD, so that ADOPT_KVM can
 * demand exactly that memory at the same addresses.
 */
struct kvm_adopt_slot {
	struct file *file;	/* NULL: not one shared file mapping */
	pgoff_t pgoff;		/* of the slot's first page in @file */
	unsigned long hva;
	unsigned long npages;
	int as_id;
	int id;
};

struct cprstash_kvm_slots {
	unsigned int nr;
	struct kvm_adopt_slot slot[];
};

/*
 * The file whose pages back [@start, @start + @npages pages) in @mm, and
 * the offset of the first, if one shared mapping of one file, contiguous in
 * it, covers the range; NULL otherwise.  VM_MAYSHARE, not VM_SHARED: a
 * shared mapping of a read-only fd (a ROM slot) has only the former.  The
 * file is compared by inode: the new image may map it from another open.
 */
static struct file *kvm_adopt_backing(struct mm_struct *mm, unsigned long start,
				      unsigned long npages, pgoff_t *pgoff)
{
	unsigned long end = start + (npages << PAGE_SHIFT);
	struct vm_area_struct *vma, *prev = NULL;

	mmap_assert_locked(mm);
	while (start < end) {
		vma = vma_lookup(mm, start);
		if (!vma || !vma->vm_file || !(vma->vm_flags & VM_MAYSHARE))
			return NULL;
		if (!prev)
			*pgoff = vma->vm_pgoff +
				 ((start - vma->vm_start) >> PAGE_SHIFT);
		else if (file_inode(vma->vm_file) != file_inode(prev->vm_file) ||
			 vma->vm_pgoff != prev->vm_pgoff + vma_pages(prev))
			return NULL;
		prev = vma;
		start = vma->vm_end;
	}
	return prev ? prev->vm_file : NULL;
}

static unsigned int kvm_adopt_nr_slots(struct kvm *kvm)
{
	struct kvm_memory_slot *slot;
	unsigned int nr = 0;
	int as_id, bkt;

	lockdep_assert_held(&kvm->slots_lock);
	for (as_id = 0; as_id < kvm_arch_nr_memslot_as_ids(kvm); as_id++)
		kvm_for_each_memslot(slot, bkt, __kvm_memslots(kvm, as_id))
			nr++;
	return nr;
}

void cprstash_kvm_slots_free(struct cprstash_kvm_slots *slots)
{
	unsigned int i;

	if (!slots)
		return;
	for (i = 0; i < slots->nr; i++)
		if (slots->slot[i].file)
			fput(slots->slot[i].file);
	kvfree(slots);
	cprstash_live_dec(CPRSTASH_LIVE_KVM_SLOTS);
}

/* At PRESERVE_FD, in the mm the VM is bound to. */
static struct cprstash_kvm_slots *kvm_adopt_record_slots(struct kvm *kvm,
							 struct mm_struct *mm)
{
	struct cprstash_kvm_slots *slots;
	struct kvm_memory_slot *slot;
	struct kvm_adopt_slot *rec;
	struct file *file;
	int as_id, bkt;

	mutex_lock(&kvm->slots_lock);
	slots = cprstash_alloc(kvzalloc(struct_size(slots, slot, kvm_adopt_nr_slots(kvm)),
					GFP_KERNEL_ACCOUNT));
	if (!slots)
		goto out;
	mmap_read_lock(mm);
	for (as_id = 0; as_id < kvm_arch_nr_memslot_as_ids(kvm); as_id++) {
		kvm_for_each_memslot(slot, bkt, __kvm_memslots(kvm, as_id)) {
			rec = &slots->slot[slots->nr++];
			rec->as_id = as_id;
			rec->id = slot->id;
			rec->hva = slot->userspace_addr;
			rec->npages = slot->npages;
			file = kvm_adopt_backing(mm, rec->hva, rec->npages,
						 &rec->pgoff);
			if (file)
				rec->file = get_file(file);
		}
	}
	mmap_read_unlock(mm);
out:
	mutex_unlock(&kvm->slots_lock);
	return slots;
}

static const struct kvm_adopt_slot *
kvm_adopt_find_slot(const struct cprstash_kvm_slots *slots, int as_id,
		    const struct kvm_memory_slot *slot)
{
	unsigned int i;

	for (i = 0; i < slots->nr; i++) {
		const struct kvm_adopt_slot *rec = &slots->slot[i];

		if (rec->as_id == as_id && rec->id == slot->id &&
		    rec->hva == slot->userspace_addr &&
		    rec->npages == slot->npages)
			return rec;
	}
	return NULL;
}

/*
 * Guest RAM must come back as it was at PRESERVE_FD: the same pages of the
 * same file at the same addresses.  Anything else - a fresh anonymous or
 * MAP_SHARED|MAP_ANONYMOUS region, another file, another offset - would
 * silently give the guest other memory than its own.
 */
static bool kvm_adopt_slot_ok(struct mm_struct *mm,
			      const struct kvm_adopt_slot *rec)
{
	struct file *file;
	pgoff_t pgoff;

	if (!rec || !rec->file)
		return false;
	file = kvm_adopt_backing(mm, rec->hva, rec->npages, &pgoff);
	return file && file_inode(file) == file_inode(rec->file) &&
	       pgoff == rec->pgoff;
}

/*
 * Memslots cannot change: every VM ioctl fails while kvm->mm is dead, and
 * kvm_adopt_check() made sure no task is left in it.
 */
static int kvm_adopt_check_memslots(struct kvm *kvm, struct mm_struct *mm,
				    const struct cprstash_kvm_slots *slots)
{
	struct kvm_memory_slot *slot;
	int as_id, bkt, ret = 0;

	mutex_lock(&kvm->slots_lock);
	mmap_read_lock(mm);
	if (!slots || kvm_adopt_nr_slots(kvm) != slots->nr) {
		ret = -EFAULT;
		goto out;
	}
	for (as_id = 0; as_id < kvm_arch_nr_memslot_as_ids(kvm); as_id++) {
		kvm_for_each_memslot(slot, bkt, __kvm_memslots(kvm, as_id)) {
			if (slot->id >= KVM_USER_MEM_SLOTS) {
				ret = -EOPNOTSUPP;
				goto out;
			}
			if (!kvm_adopt_slot_ok(mm, kvm_adopt_find_slot(slots,
								       as_id,
								       slot))) {
				ret = -EFAULT;
				goto out;
			}
		}
	}
out:
	mmap_read_unlock(mm);
	mutex_unlock(&kvm->slots_lock);
	return ret;
}

/*
 * Xen emulation keeps guest pages through gfn_to_pfn caches (shared info,
 * vcpu_info, time info, runstate) and runs a timer per vCPU.  KVM does not
 * invalidate those caches when the mm's notifier is released: a VM kept
 * across exec would go on writing, from the timer, into pages the old mm
 * has freed.  The vCPU attributes may be set without KVM_XEN_HVM_CONFIG.
 */
static bool kvm_adopt_xen_configured(struct kvm *kvm)
{
#ifdef CONFIG_KVM_XEN
	struct kvm_vcpu *vcpu;
	unsigned long i;

	if (kvm->arch.xen_hvm_config.msr || kvm->arch.xen_hvm_config.flags ||
	    READ_ONCE(kvm->arch.xen.shinfo_cache.active) ||
	    !idr_is_empty(&kvm->arch.xen.evtchn_ports))
		return true;
	kvm_for_each_vcpu(i, vcpu, kvm) {
		struct kvm_vcpu_xen *xen = &vcpu->arch.xen;

		if (READ_ONCE(xen->vcpu_info_cache.active) ||
		    READ_ONCE(xen->vcpu_time_info_cache.active) ||
		    READ_ONCE(xen->runstate_cache.active) ||
		    READ_ONCE(xen->runstate2_cache.active) ||
		    READ_ONCE(xen->timer_virq) || READ_ONCE(xen->upcall_vector))
			return true;
	}
#endif
	return false;
}

/*
 * Guest perf counters are perf events bound to the vCPU threads, which
 * died at exec: KVM would go on "resuming" dead events and the guest's
 * counters (its NMI watchdog) would silently stop.
 */
static bool kvm_adopt_pmu_in_use(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;
	unsigned int c;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		struct kvm_pmu *pmu = &vcpu->arch.pmu;

		for (c = 0; c < pmu->nr_arch_gp_counters; c++)
			if (pmu->gp_counters[c].perf_event)
				return true;
		for (c = 0; c < pmu->nr_arch_fixed_counters; c++)
			if (pmu->fixed_counters[c].perf_event)
				return true;
	}
	return false;
}

/*
 * @e->vm_mm is the mm the VM had when its owner preserved it: only a VM that
 * belonged to this stash's owner before exec may be adopted.  A VM fd
 * received from another process, dead or alive, stays useless.
 *
 * That mm must also be dead but for the reference the stash keeps (@kept,
 * CPRSTASH_SEAL_KEEP_MM): a vfork() or CLONE_VM child that preserved the
 * VM and exec'd shares it with a parent that still runs the VM, and the
 * parent's ioctls that take only slots_lock (KVM_SET_USER_MEMORY_REGION)
 * would race with the memslot check.  With no task left in the old mm no
 * ioctl can pass KVM's kvm->mm check, and mm_users never rises again:
 * nobody can reach a kept mm but the stash.
 */
static int kvm_adopt_check(struct kvm *kvm, struct mm_struct *mm,
			   const struct stash_entry *e, struct mm_struct *kept)
{
	struct mm_struct *vm_mm = e->vm_mm;

	if (kvm->vm_dead)
		return -EIO;
	if (kvm->mm == mm)
		return -EALREADY;
	if (kvm->mm != vm_mm)
		return -EPERM;
	if (atomic_read(&vm_mm->mm_users) > (vm_mm == kept ? 1 : 0))
		return -EBUSY;
	if (kvm_adopt_pmu_in_use(kvm))
		return -EOPNOTSUPP;
	if (kvm_adopt_xen_configured(kvm))
		return -EOPNOTSUPP;
	return kvm_adopt_check_memslots(kvm, mm, e->kvm_slots);
}

static void kvm_adopt_flush_async_pf(struct kvm *kvm)
{
#ifdef CONFIG_KVM_ASYNC_PF
	struct kvm_async_pf *apf;
	struct kvm_vcpu *vcpu;
	unsigned long i;

	kvm_for_each_vcpu(i, vcpu, kvm)
		list_for_each_entry(apf, &vcpu->async_pf.queue, queue)
			flush_work(&apf->work);
#endif
}

/* Drop every cached translation, pfn caches included, the way munmap would. */
static void kvm_adopt_invalidate_all(struct kvm *kvm, struct mm_struct *mm)
{
	const struct mmu_notifier_ops *ops = kvm->mmu_notifier.ops;
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP,
				MMU_NOTIFIER_RANGE_BLOCKABLE, mm, 0, ULONG_MAX);
	ops->invalidate_range_start(&kvm->mmu_notifier, &range);
	ops->invalidate_range_end(&kvm->mmu_notifier, &range);
}

static int kvm_adopt_swap_mm(struct kvm *kvm, struct mm_struct *mm)
{
	struct mm_struct *old = kvm->mm;
	int ret;

	kvm_adopt_flush_async_pf(kvm);

	/*
	 * A torn-down mm released the notifier at exit_mmap(): this only drops
	 * the registration's mmgrab.  A kept mm calls ->release here, which
	 * zaps the VM's mappings as exit_mmap() would have.
	 */
	mmu_notifier_unregister(&kvm->mmu_notifier, old);
	ret = mmu_notifier_register(&kvm->mmu_notifier, mm);
	if (ret) {
		/*
		 * Put things back as they were: kvm_destroy_vm() unregisters
		 * from kvm->mm and drops the grab the registration held.
		 */
		mmgrab(old);
		return ret;
	}

	kvm_adopt_invalidate_all(kvm, mm);
	/*
	 * ->release zapped every mapping without a TLB flush: KVM takes it
	 * that no vCPU can run again (kvm_tdp_mmu_zap_all()), and the zap
	 * above finds nothing left to flush for.  Adopted vCPUs do run again,
	 * maybe on the CPU and ASID they last used, whose TLB may still hold
	 * translations through page tables the zap freed.  Flush at their
	 * next entry, as any zap does.
	 */
	kvm_flush_remote_tlbs(kvm);
	mmgrab(mm);
	WRITE_ONCE(kvm->mm, mm);
	mmdrop(old);
	return 0;
}

/* The pids of the vCPU threads that died at exec, dropped after a grace period. */
struct kvm_adopt_old_pids {
	struct rcu_work rwork;
	unsigned int nr;
	struct pid *pids[];
};

static void kvm_adopt_put_old_pids(struct work_struct *work)
{
	struct kvm_adopt_old_pids *old = container_of(to_rcu_work(work),
						      struct kvm_adopt_old_pids,
						      rwork);

	while (old->nr)
		put_pid(old->pids[--old->nr]);
	kfree(old);
	cprstash_live_dec(CPRSTASH_LIVE_OLD_PIDS);
}

/*
 * KVM_RUN from a thread other than the last one to run a vCPU replaces
 * vcpu->pid and then waits for an RCU grace period, inside the ioctl,
 * with the guest stopped: after exec every vCPU would pay that on its first
 * run.  Those threads are gone, so clear vcpu->pid now (NULL is what a new
 * vCPU has) and drop the old pids after a grace period, in the background.
 * Without memory for that, KVM_RUN does it the slow way.
 */
static void kvm_adopt_forget_vcpu_pids(struct kvm *kvm)
{
	struct kvm_adopt_old_pids *old;
	struct kvm_vcpu *vcpu;
	struct pid *pid;
	unsigned long i;

	old = cprstash_alloc(kzalloc(struct_size(old, pids, atomic_read(&kvm->online_vcpus)),
				     GFP_KERNEL));
	if (!old)
		return;
	cprstash_live_inc(CPRSTASH_LIVE_OLD_PIDS);
	kvm_for_each_vcpu(i, vcpu, kvm) {
		pid = rcu_dereference_protected(vcpu->pid,
						lockdep_is_held(&vcpu->mutex));
		if (!pid)
			continue;
		RCU_INIT_POINTER(vcpu->pid, NULL);
		old->pids[old->nr++] = pid;
	}
	INIT_RCU_WORK(&old->rwork, kvm_adopt_put_old_pids);
	stash_queue_rcu_work(&old->rwork);
}

/*
 * Keep the guest's mappings: KVM's notifier stays on the kept old mm,
 * which the adoption now holds; only kvm->mm moves.
 */
static int kvm_adopt_keep(struct kvm *kvm, const struct stash_entry *e,
			  struct mm_struct *mm, struct cprstash_kvm_keep **keep)
{
	struct mm_struct *old = kvm->mm;
	struct cprstash_kvm_keep *k;

	kvm_adopt_flush_async_pf(kvm);
	k = cprstash_kvm_keep_begin(kvm, e->file, e->name, old, mm);
	if (IS_ERR(k))
		return PTR_ERR(k);
	mmgrab(mm);
	WRITE_ONCE(kvm->mm, mm);
	mmdrop(old);
	*keep = k;
	return 0;
}

static int kvm_adopt(struct kvm *kvm, const struct stash_entry *e,
		     struct mm_struct *kept, u32 flags,
		     struct cprstash_kvm_keep **keep)
{
	struct mm_struct *mm = current->mm;
	int ret;

	if (mutex_lock_killable(&kvm->lock))
		return -EINTR;
	ret = kvm_adopt_lock_vcpus(kvm);
	if (ret)
		goto out_unlock;
	ret = kvm_adopt_check(kvm, mm, e, kept);
	if (!ret && (flags & CPRSTASH_ADOPT_KEEP_MAPPINGS) && kept &&
	    e->vm_mm == kept)
		ret = kvm_adopt_keep(kvm, e, mm, keep);
	else if (!ret)
		ret = kvm_adopt_swap_mm(kvm, mm);
	if (!ret)
		kvm_adopt_forget_vcpu_pids(kvm);
	kvm_adopt_unlock_vcpus(kvm, ULONG_MAX);
out_unlock:
	mutex_unlock(&kvm->lock);
	return ret;
}

static int kvm_adopt_file(const struct stash_entry *e, struct mm_struct *kept,
			  u32 flags, struct cprstash_kvm_keep **keep)
{
	struct kvm *kvm = kvm_from_file(e->file);

	return kvm ? kvm_adopt(kvm, e, kept, flags, keep) : -EINVAL;
}

/*
 * PRESERVE_FD of a KVM VM: a VM with Xen state is refused (it would write
 * into freed pages once kept across exec); a VM bound to the caller's mm is
 * recorded as adoptable.  kvm->lock keeps the Xen state still while we look.
 */
int cprstash_kvm_preserve(struct stash_entry *e, struct file *file)
{
	struct kvm *kvm = kvm_from_file(file);
	int ret = 0;

	if (!kvm)
		return 0;
	if (mutex_lock_killable(&kvm->lock))
		return -EINTR;
	if (kvm_adopt_xen_configured(kvm))
		ret = -EOPNOTSUPP;
	mutex_unlock(&kvm->lock);
	if (ret || READ_ONCE(kvm->mm) != current->mm)
		return ret;
	e->kvm_slots = kvm_adopt_record_slots(kvm, current->mm);
	if (!e->kvm_slots)
		return -ENOMEM;
	cprstash_live_inc(CPRSTASH_LIVE_KVM_SLOTS);
	/* Ours to adopt after exec; pinned so the pointer stays unique. */
	e->vm_mm = current->mm;
	mmgrab(e->vm_mm);
	cprstash_live_inc(CPRSTASH_LIVE_VM_MMS);
	return 0;
}

#else /* !CPRSTASH_ADOPT_SUPPORTED */

static int kvm_adopt_file(const struct stash_entry *e, struct mm_struct *kept,
			  u32 flags, struct cprstash_kvm_keep **keep)
{
	return -EOPNOTSUPP;
}

void cprstash_kvm_slots_free(struct cprstash_kvm_slots *slots)
{
}

int cprstash_kvm_preserve(struct stash_entry *e, struct file *file)
{
	return 0;
}

#endif

/*
 * Under stash->lock, so that the entry and the kept mm stay put; once the
 * VM has left the kept mm, that mm has done its job.  An adoption that
 * keeps the mappings takes the kept mm over until it is settled.
 */
int stash_adopt_kvm(struct stash *s, const char *name, u32 flags)
{
	struct cprstash_kvm_keep *keep = NULL;
	struct stash_entry *e;
	int ret;

	ret = stash_lock(s);
	if (ret)
		return ret;
	e = stash_entry_find(s, name);
	if (!e)
		ret = -ENOENT;
	else if (e->type != CPRSTASH_ENTRY_FILE ||
		 e->kind != CPRSTASH_KIND_KVM_VM)
		ret = -EINVAL;
	else
		ret = kvm_adopt_file(e, s->kept_mm, flags, &keep);
	if (!ret && keep) {
		stash_take_kept_mm(s);	/* @keep holds its reference */
		cprstash_kvm_keeps_add(&s->keeps, keep);
	} else if (!ret && e->vm_mm == s->kept_mm) {
		stash_release_kept_mm(s);
	}
	mutex_unlock(&s->lock);
	return ret;
}

/* SETTLE_KVM: the adoption is ended outside stash->lock. */
int stash_settle_kvm(struct stash *s, const char *name)
{
	struct cprstash_kvm_keep *keep;
	int ret;

	ret = stash_lock(s);
	if (ret)
		return ret;
	keep = cprstash_kvm_keeps_take(&s->keeps, name);
	mutex_unlock(&s->lock);
	if (!keep)
		return -ENOENT;
	cprstash_kvm_keep_end(keep);
	return 0;
}
