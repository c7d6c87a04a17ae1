// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/cprstash/stashes: one line per live stash, for the
 * operator asking "what is being held, for whom, and until when".  Fields
 * are read without the stash's lock, which a stuck reader may hold: the
 * line is a snapshot, never a reason to block.
 *
 * /sys/kernel/debug/cprstash/live: "name count" per kind of object the
 * module holds (enum cprstash_live_obj), for tests proving that nothing
 * leaked.  The counters are kept whether or not debugfs exists.
 *
 * /sys/kernel/debug/cprstash/fail_nth: fault injection for tests, since
 * the kernels we run on are built without failslab.  Writing N > 0 makes
 * the Nth allocation of the module from then on fail, whoever makes it,
 * as if memory ran out; the knob is then 0 again, and reading it says
 * whether that allocation came.  0, the default, injects nothing.
 */
#include <linux/debugfs.h>
#include <linux/pid.h>
#include <linux/seq_file.h>
#include <linux/user_namespace.h>

#include "stash.h"

static struct dentry *cprstash_debugfs_dir;

static atomic_long_t cprstash_live[CPRSTASH_NR_LIVE];
static atomic_t cprstash_fail_nth;

static const char *const cprstash_live_names[CPRSTASH_NR_LIVE] = {
	[CPRSTASH_LIVE_STASHES]		= "stashes",
	[CPRSTASH_LIVE_ENTRIES]		= "entries",
	[CPRSTASH_LIVE_KEPT_MMS]	= "kept_mms",
	[CPRSTASH_LIVE_VM_MMS]		= "vm_mms",
	[CPRSTASH_LIVE_KVM_SLOTS]	= "kvm_slots",
	[CPRSTASH_LIVE_OLD_PIDS]	= "old_vcpu_pids",
};

void cprstash_live_inc(enum cprstash_live_obj obj)
{
	atomic_long_inc(&cprstash_live[obj]);
}

void cprstash_live_dec(enum cprstash_live_obj obj)
{
	/* Below zero is a double free in the making: say so once. */
	WARN_ON_ONCE(atomic_long_dec_return(&cprstash_live[obj]) < 0);
}

bool cprstash_fail_alloc(void)
{
	/* 0 after the decrement: this is the Nth; below 0: knob off. */
	return atomic_dec_if_positive(&cprstash_fail_nth) == 0;
}

static const char *stash_state_name(enum stash_state state)
{
	switch (state) {
	case STASH_OPEN:
		return "open";
	case STASH_SEALED:
		return "sealed";
	default:
		return "dead";
	}
}

static void stash_show_one(struct stash *s, void *arg)
{
	unsigned int nr_files = READ_ONCE(s->nr_files);
	unsigned int nr_records = READ_ONCE(s->nr_records);
	s64 kept_ms = stash_kept_mm_left_ms(s);
	struct seq_file *m = arg;

	seq_printf(m, "%-8d %-6u %-7s %-7u %-5u %-7u %-12llu %-11u ",
		   pid_nr(s->owner), from_kuid(&init_user_ns, s->cred->euid),
		   stash_state_name(READ_ONCE(s->state)),
		   nr_files + nr_records, nr_files, nr_records,
		   READ_ONCE(s->record_bytes), stash_deadline_left_ms(s));
	/* "-": no address space kept; else ms until max_keep_mm_ms. */
	if (kept_ms < 0)
		seq_puts(m, "-\n");
	else
		seq_printf(m, "%lld\n", kept_ms);
}

static int stashes_show(struct seq_file *m, void *unused)
{
	seq_puts(m, "pid      uid    state   entries files records record_bytes deadline_ms kept_mm_ms\n");
	stash_for_each(stash_show_one, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stashes);

/*
 * Frees already under way (RCU work, queued work items) are waited for
 * first, so that a reader sees zero once the last user is gone instead of
 * polling for it.  What only a timer will release (a sealed stash's
 * deadline) is still counted: it is still held.
 */
static int live_show(struct seq_file *m, void *unused)
{
	int i;

	stash_drain_deferred();
	for (i = 0; i < CPRSTASH_NR_LIVE; i++)
		seq_printf(m, "%s %ld\n", cprstash_live_names[i],
			   atomic_long_read(&cprstash_live[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(live);

void cprstash_debugfs_init(void)
{
	/* debugfs is a diagnostic: the device works without it. */
	cprstash_debugfs_dir = debugfs_create_dir("cprstash", NULL);
	debugfs_create_file("stashes", 0400, cprstash_debugfs_dir, NULL,
			    &stashes_fops);
	debugfs_create_file("live", 0400, cprstash_debugfs_dir, NULL,
			    &live_fops);
	debugfs_create_atomic_t("fail_nth", 0600, cprstash_debugfs_dir,
				&cprstash_fail_nth);
}

void cprstash_debugfs_exit(void)
{
	debugfs_remove_recursive(cprstash_debugfs_dir);
}
