/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The commands as a table, for tests that must try something on every
 * one of them: each row builds a valid argument, says which states accept the
 * command, which flags it knows and where its reserved fields are.  A test
 * breaks one thing at a time and checks the errno.
 */
#ifndef SELFTEST_CPRSTASH_STASH_CMDS_H
#define SELFTEST_CPRSTASH_STASH_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/cprstash.h>

/* Any argument, with room to claim a larger size than the struct has. */
union stash_arg {
	struct {
		__u32 size;
		__u32 flags;
	} hdr;
	struct cprstash_preserve_fd preserve;
	struct cprstash_put_record put;
	struct cprstash_list list;
	struct cprstash_seal seal;
	struct cprstash_retrieve_fd retrieve;
	struct cprstash_op op;
	struct cprstash_adopt_kvm adopt;
	unsigned char bytes[512];
};

/* What a valid argument refers to. */
struct stash_cmd_ctx {
	int fd;			/* PRESERVE_FD: a file to preserve */
	const char *new_name;	/* PRESERVE_FD, PUT_RECORD: an unused name;
				 * ADOPT_KVM asks for it too, so that only an
				 * argument error can be EINVAL (else ENOENT)
				 */
	const char *file;	/* RETRIEVE_FD: a preserved file's name */
	struct cprstash_entry *entries;	/* LIST: room for @nr entries */
	__u32 nr;
};

struct stash_field {
	size_t off;
	size_t len;
};

#define STASH_STATE_BIT(state)	(1u << (state))
#define STASH_ANY_STATE		(STASH_STATE_BIT(CPRSTASH_STATE_OPEN) | \
				 STASH_STATE_BIT(CPRSTASH_STATE_SEALED))

struct stash_cmd {
	const char *name;
	unsigned long cmd;
	size_t size;			/* this header's sizeof */
	size_t size_ver0;		/* the smallest the kernel takes */
	__u32 known_flags;
	__u32 states;			/* STASH_STATE_BIT()s it runs in */
	bool has_name;			/* validates a name field */
	struct stash_field reserved[4];	/* len 0 ends the list */
	void (*valid)(union stash_arg *arg, const struct stash_cmd_ctx *ctx);
};

/* Terminated by a row with a NULL name. */
extern const struct stash_cmd stash_cmds[];

void stash_cmd_valid(const struct stash_cmd *c, union stash_arg *arg,
		     const struct stash_cmd_ctx *ctx);
/* The name field of @arg (commands with has_name only). */
char *stash_arg_name(const struct stash_cmd *c, union stash_arg *arg);

#endif /* SELFTEST_CPRSTASH_STASH_CMDS_H */
