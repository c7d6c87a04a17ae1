// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/cprstash/stashes: one line per live stash, for the
 * operator asking "what is being held, for whom, and until when".  Fields
 * are read without the stash's lock, which a stuck reader may hold: the
 * line is a snapshot, never a reason to block.
 */
#include <linux/debugfs.h>
#include <linux/pid.h>
#include <linux/seq_file.h>
#include <linux/user_namespace.h>

#include "stash.h"

static struct dentry *cprstash_debugfs_dir;

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

void cprstash_debugfs_init(void)
{
	/* debugfs is a diagnostic: the device works without it. */
	cprstash_debugfs_dir = debugfs_create_dir("cprstash", NULL);
	debugfs_create_file("stashes", 0400, cprstash_debugfs_dir, NULL,
			    &stashes_fops);
}

void cprstash_debugfs_exit(void)
{
	debugfs_remove_recursive(cprstash_debugfs_dir);
}
