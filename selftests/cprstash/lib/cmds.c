// SPDX-License-Identifier: GPL-2.0
/*
 * The command table of stash_cmds.h.
 */
#include <string.h>

#include "stash_cmds.h"
#include "stash_util.h"

static void valid_preserve(union stash_arg *arg,
			   const struct stash_cmd_ctx *ctx)
{
	arg->preserve = stash_preserve_arg(ctx->fd, ctx->new_name);
}

static void valid_put(union stash_arg *arg, const struct stash_cmd_ctx *ctx)
{
	static const char data[] = "a record";

	arg->put = stash_record_arg(ctx->new_name, data, sizeof(data));
}

static void valid_list(union stash_arg *arg, const struct stash_cmd_ctx *ctx)
{
	arg->list = stash_list_arg(ctx->entries, ctx->nr);
}

static void valid_seal(union stash_arg *arg, const struct stash_cmd_ctx *ctx)
{
	(void)ctx;
	arg->seal = stash_seal_arg(0);
}

static void valid_retrieve(union stash_arg *arg,
			   const struct stash_cmd_ctx *ctx)
{
	arg->retrieve = stash_retrieve_arg(ctx->file, 0);
}

static void valid_adopt(union stash_arg *arg,
			const struct stash_cmd_ctx *ctx)
{
	arg->adopt = stash_adopt_arg(ctx->new_name);
}

static void valid_op(union stash_arg *arg, const struct stash_cmd_ctx *ctx)
{
	(void)ctx;
	arg->op = stash_op_arg();
}

#define CMD(c)		.name = #c, .cmd = c
#define FIELD(type, member)						\
	{ offsetof(struct type, member), sizeof(((struct type *)0)->member) }
#define RESERVED(type)	FIELD(type, reserved[0]), FIELD(type, reserved[1])
/* Every struct is still at its first version. */
_Static_assert(sizeof(struct cprstash_preserve_fd) ==
	       CPRSTASH_PRESERVE_FD_SIZE_VER0, "preserve_fd");
_Static_assert(sizeof(struct cprstash_put_record) ==
	       CPRSTASH_PUT_RECORD_SIZE_VER0, "put_record");
_Static_assert(sizeof(struct cprstash_seal) == CPRSTASH_SEAL_SIZE_VER0, "seal");
_Static_assert(sizeof(struct cprstash_list) == CPRSTASH_LIST_SIZE_VER0, "list");
_Static_assert(sizeof(struct cprstash_entry) == CPRSTASH_ENTRY_SIZE_VER0,
	       "entry");
_Static_assert(sizeof(struct cprstash_retrieve_fd) ==
	       CPRSTASH_RETRIEVE_FD_SIZE_VER0, "retrieve_fd");
_Static_assert(sizeof(struct cprstash_op) == CPRSTASH_OP_SIZE_VER0, "op");
_Static_assert(sizeof(struct cprstash_adopt_kvm) ==
	       CPRSTASH_ADOPT_KVM_SIZE_VER0, "adopt_kvm");

#define OPEN_ONLY	STASH_STATE_BIT(CPRSTASH_STATE_OPEN)
#define SEALED_ONLY	STASH_STATE_BIT(CPRSTASH_STATE_SEALED)

const struct stash_cmd stash_cmds[] = {
	{
		CMD(CPRSTASH_IOC_PRESERVE_FD),
		.size = sizeof(struct cprstash_preserve_fd),
		.size_ver0 = CPRSTASH_PRESERVE_FD_SIZE_VER0,
		.states = OPEN_ONLY,
		.has_name = true,
		.reserved = { RESERVED(cprstash_preserve_fd) },
		.valid = valid_preserve,
	}, {
		CMD(CPRSTASH_IOC_PUT_RECORD),
		.size = sizeof(struct cprstash_put_record),
		.size_ver0 = CPRSTASH_PUT_RECORD_SIZE_VER0,
		.states = OPEN_ONLY,
		.has_name = true,
		.reserved = { FIELD(cprstash_put_record, reserved0),
			      RESERVED(cprstash_put_record) },
		.valid = valid_put,
	}, {
		CMD(CPRSTASH_IOC_LIST),
		.size = sizeof(struct cprstash_list),
		.size_ver0 = CPRSTASH_LIST_SIZE_VER0,
		.states = STASH_ANY_STATE,
		.reserved = { FIELD(cprstash_list, reserved0),
			      FIELD(cprstash_list, reserved) },
		.valid = valid_list,
	}, {
		CMD(CPRSTASH_IOC_SEAL),
		.size = sizeof(struct cprstash_seal),
		.size_ver0 = CPRSTASH_SEAL_SIZE_VER0,
		.known_flags = CPRSTASH_SEAL_KEEP_MM,
		.states = OPEN_ONLY,
		.reserved = { FIELD(cprstash_seal, reserved0),
			      RESERVED(cprstash_seal) },
		.valid = valid_seal,
	}, {
		CMD(CPRSTASH_IOC_RETRIEVE_FD),
		.size = sizeof(struct cprstash_retrieve_fd),
		.size_ver0 = CPRSTASH_RETRIEVE_FD_SIZE_VER0,
		.known_flags = CPRSTASH_RETRIEVE_NO_CLOEXEC,
		.states = STASH_ANY_STATE,
		.has_name = true,
		.reserved = { RESERVED(cprstash_retrieve_fd) },
		.valid = valid_retrieve,
	}, {
		CMD(CPRSTASH_IOC_UNSEAL),
		.size = sizeof(struct cprstash_op),
		.size_ver0 = CPRSTASH_OP_SIZE_VER0,
		.states = SEALED_ONLY,
		.reserved = { RESERVED(cprstash_op) },
		.valid = valid_op,
	}, {
		CMD(CPRSTASH_IOC_FINISH),
		.size = sizeof(struct cprstash_op),
		.size_ver0 = CPRSTASH_OP_SIZE_VER0,
		.states = STASH_ANY_STATE,
		.reserved = { RESERVED(cprstash_op) },
		.valid = valid_op,
	}, {
		CMD(CPRSTASH_IOC_ADOPT_KVM),
		.size = sizeof(struct cprstash_adopt_kvm),
		.size_ver0 = CPRSTASH_ADOPT_KVM_SIZE_VER0,
		.known_flags = CPRSTASH_ADOPT_KEEP_MAPPINGS,
		.states = STASH_ANY_STATE,
		.has_name = true,
		.reserved = { RESERVED(cprstash_adopt_kvm) },
		.valid = valid_adopt,
	}, {
		CMD(CPRSTASH_IOC_SETTLE_KVM),
		.size = sizeof(struct cprstash_adopt_kvm),
		.size_ver0 = CPRSTASH_ADOPT_KVM_SIZE_VER0,
		.states = STASH_ANY_STATE,
		.has_name = true,
		.reserved = { RESERVED(cprstash_adopt_kvm) },
		.valid = valid_adopt,
	},
	{ .name = NULL },
};

void stash_cmd_valid(const struct stash_cmd *c, union stash_arg *arg,
		     const struct stash_cmd_ctx *ctx)
{
	memset(arg, 0, sizeof(*arg));
	c->valid(arg, ctx);
}

char *stash_arg_name(const struct stash_cmd *c, union stash_arg *arg)
{
	if (c->cmd == CPRSTASH_IOC_PRESERVE_FD)
		return arg->preserve.name;
	if (c->cmd == CPRSTASH_IOC_PUT_RECORD)
		return arg->put.name;
	if (c->cmd == CPRSTASH_IOC_ADOPT_KVM || c->cmd == CPRSTASH_IOC_SETTLE_KVM)
		return arg->adopt.name;
	TEST_ASSERT(c->cmd == CPRSTASH_IOC_RETRIEVE_FD, "%s has no name",
		    c->name);
	return arg->retrieve.name;
}
