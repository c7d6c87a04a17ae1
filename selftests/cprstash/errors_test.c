// SPDX-License-Identifier: GPL-2.0
/*
 * errors_test: every error Documentation/uapi.rst promises, with exactly the
 * errno it names, and after every failure a stash that LIST shows unchanged
 * ("a failed command changes nothing").
 *
 * Argument checks run over the command table of stash_cmds.h: each command
 * gets an otherwise valid argument with one thing broken, in each state the
 * command is allowed in (so that the state can never be the reason).  The
 * limits are set low through the module parameters and restored afterwards.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cprstash_harness.h"
#include "stash_cmds.h"
#include "stash_util.h"

#define FILE_NAME	"file0"
#define REC_NAME	"rec0"
#define REC_LEN		16
#define DEADLINE_MS	120000

/* The first byte of @len at @p that is not @c, or NULL. */
static const void *memchr_not(const void *p, int c, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != (unsigned char)c)
			return b + i;
	return NULL;
}

/* Fails @what unless @err came back and the stash is as it was. */
static void expect_fail_at(struct __test_metadata *_metadata, int stash,
			   int err, int seen,
			   const struct stash_snapshot *before,
			   const char *what)
{
	struct stash_snapshot after;

	stash_snapshot(stash, &after);
	EXPECT_EQ(err, seen)
		TH_LOG("%s: expected %s, got %s", what, errno_name(err),
		       errno_name(seen));
	EXPECT_TRUE(stash_snapshot_equal(before, &after))
		TH_LOG("%s: the failed command changed the stash", what);
	stash_snapshot_free(&after);
}

static void expect_fail(struct __test_metadata *_metadata, int stash,
			int err, unsigned long cmd, void *arg, const char *what)
{
	struct stash_snapshot before;
	int seen;

	stash_snapshot(stash, &before);
	seen = __stash_ioctl(stash, cmd, arg);
	expect_fail_at(_metadata, stash, err, seen, &before, what);
	stash_snapshot_free(&before);
}

FIXTURE(errors) {
	int stash;
	struct cprstash_entry entries[8];
	struct stash_cmd_ctx ctx;
};

/* A stash holding a file and a record; valid arguments refer to them. */
FIXTURE_SETUP(errors)
{
	char rec[REC_LEN] = "sixteen bytes..";

	REQUIRE_STASH();
	self->stash = stash_open();
	stash_preserve_memfd(self->stash, FILE_NAME, 4096, 0);
	stash_put(self->stash, REC_NAME, rec, REC_LEN);

	self->ctx = (struct stash_cmd_ctx){
		.fd = eventfd(0, EFD_CLOEXEC),
		.new_name = "fresh",
		.file = FILE_NAME,
		.entries = self->entries,
		.nr = ARRAY_SIZE(self->entries),
	};
	ASSERT_GE(self->ctx.fd, 0);
}

FIXTURE_TEARDOWN(errors)
{
}

typedef void (*cmd_check_fn)(struct __test_metadata *_metadata,
			     FIXTURE_DATA(errors) *self,
			     const struct stash_cmd *c);

/* @check every command in every state that allows it: open, then sealed. */
static void for_each_cmd(struct __test_metadata *_metadata,
			 FIXTURE_DATA(errors) *self, cmd_check_fn check)
{
	static const __u32 states[] = {
		CPRSTASH_STATE_OPEN, CPRSTASH_STATE_SEALED,
	};
	const struct stash_cmd *c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(states); i++) {
		if (states[i] == CPRSTASH_STATE_SEALED)
			stash_seal(self->stash, DEADLINE_MS);
		for (c = stash_cmds; c->name; c++)
			if (c->states & STASH_STATE_BIT(states[i]))
				check(_metadata, self, c);
	}
}

/* A valid argument of @c that claims each of @sizes fails with @err. */
static void expect_sizes_fail(struct __test_metadata *_metadata,
			      FIXTURE_DATA(errors) *self,
			      const struct stash_cmd *c, const __u32 *sizes,
			      size_t nr, int err)
{
	union stash_arg a;
	char what[96];
	size_t i;

	for (i = 0; i < nr; i++) {
		stash_cmd_valid(c, &a, &self->ctx);
		a.hdr.size = sizes[i];
		snprintf(what, sizeof(what), "%s, size %u", c->name, sizes[i]);
		expect_fail(_metadata, self->stash, err, c->cmd, &a, what);
	}
}

/* Smaller than the struct's first version: EINVAL. */
static void check_small_sizes(struct __test_metadata *_metadata,
			      FIXTURE_DATA(errors) *self,
			      const struct stash_cmd *c)
{
	const __u32 sizes[] = { 0, 4, 8, c->size_ver0 - 1 };

	expect_sizes_fail(_metadata, self, c, sizes, ARRAY_SIZE(sizes), EINVAL);
}

TEST_F(errors, size_below_ver0_is_einval)
{
	for_each_cmd(_metadata, self, check_small_sizes);
}

/*
 * A struct from a newer header is larger; a field this kernel does not
 * know must be zero, or the caller asked for something it cannot do.
 */
static void check_nonzero_tail(struct __test_metadata *_metadata,
			       FIXTURE_DATA(errors) *self,
			       const struct stash_cmd *c)
{
	const struct {
		size_t grow;	/* bytes past the struct we know */
		size_t at;	/* the non-zero one among them */
	} tails[] = { { 1, 0 }, { 8, 0 }, { 8, 7 }, { 200, 199 } };
	union stash_arg a;
	char what[96];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tails); i++) {
		stash_cmd_valid(c, &a, &self->ctx);
		a.hdr.size = c->size + tails[i].grow;
		a.bytes[c->size + tails[i].at] = 0x80;
		snprintf(what, sizeof(what), "%s, size %zu, byte %zu set",
			 c->name, c->size + tails[i].grow,
			 c->size + tails[i].at);
		expect_fail(_metadata, self->stash, E2BIG, c->cmd, &a, what);
	}
}

TEST_F(errors, nonzero_tail_is_e2big)
{
	for_each_cmd(_metadata, self, check_nonzero_tail);
}

/* The kernel reads at most a page of argument, zero or not. */
static void check_huge_sizes(struct __test_metadata *_metadata,
			     FIXTURE_DATA(errors) *self,
			     const struct stash_cmd *c)
{
	const __u32 page = sysconf(_SC_PAGESIZE);
	const __u32 sizes[] = { page + 1, 2 * page, ~0u };

	expect_sizes_fail(_metadata, self, c, sizes, ARRAY_SIZE(sizes), E2BIG);
}

TEST_F(errors, size_above_a_page_is_e2big)
{
	for_each_cmd(_metadata, self, check_huge_sizes);
}

/*
 * ioctl(@cmd) with @arg (@size bytes) sent as a newer binary would: @grow
 * more bytes, all zero, and @size + @grow in the size field.  What the
 * kernel wrote back is copied to @arg.
 */
static int grown_ioctl(int stash, unsigned long cmd, void *arg, size_t size,
		       size_t grow)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *buf = mmap(NULL, page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	TEST_ASSERT(buf != MAP_FAILED, "mmap");
	TEST_ASSERT(size + grow <= (size_t)page, "grown past a page");
	memcpy(buf, arg, size);
	*(__u32 *)buf = size + grow;
	err = __stash_ioctl(stash, cmd, buf);
	memcpy(arg, buf, size);
	munmap(buf, page);
	return err;
}

#define GROW	64

/* Every command works with a larger struct whose tail is zero. */
TEST_F(errors, larger_struct_with_zero_tail_works)
{
	struct cprstash_preserve_fd preserve =
		stash_preserve_arg(self->ctx.fd, "grown-file");
	struct cprstash_put_record put = stash_record_arg("grown-rec", "x", 1);
	struct cprstash_retrieve_fd retrieve =
		stash_retrieve_arg("grown-file", 0);
	struct cprstash_adopt_kvm adopt = stash_adopt_arg("no-such-vm");
	struct cprstash_list list = stash_list_arg(NULL, 0);
	struct cprstash_seal seal = stash_seal_arg(DEADLINE_MS);
	struct cprstash_op op = stash_op_arg();
	int s = self->stash;

	ASSERT_EQ(0, grown_ioctl(s, CPRSTASH_IOC_PRESERVE_FD, &preserve,
				 sizeof(preserve), GROW));
	EXPECT_EQ(CPRSTASH_KIND_EVENTFD, preserve.kind);
	ASSERT_EQ(0, grown_ioctl(s, CPRSTASH_IOC_PUT_RECORD, &put, sizeof(put),
				 GROW));
	ASSERT_EQ(0, grown_ioctl(s, CPRSTASH_IOC_RETRIEVE_FD, &retrieve,
				 sizeof(retrieve), GROW));
	EXPECT_LE(0, retrieve.fd);
	EXPECT_EQ(CPRSTASH_KIND_EVENTFD, retrieve.kind);
	close(retrieve.fd);
	ASSERT_EQ(0, grown_ioctl(s, CPRSTASH_IOC_LIST, &list, sizeof(list),
				 GROW));
	EXPECT_EQ(4, list.nr_entries);
	EXPECT_EQ(REC_LEN + 1, list.record_bytes);
	EXPECT_EQ(CPRSTASH_API_VERSION, list.api_version);
	/* The argument passed; only the name is unknown. */
	EXPECT_EQ(ENOENT, grown_ioctl(s, CPRSTASH_IOC_ADOPT_KVM, &adopt,
				      sizeof(adopt), GROW));
	ASSERT_EQ(0, grown_ioctl(s, CPRSTASH_IOC_SEAL, &seal, sizeof(seal),
				 GROW));
	EXPECT_EQ(CPRSTASH_STATE_SEALED, stash_info(s).state);
	ASSERT_EQ(0, grown_ioctl(s, CPRSTASH_IOC_UNSEAL, &op, sizeof(op),
				 GROW));
	EXPECT_EQ(CPRSTASH_STATE_OPEN, stash_info(s).state);
	ASSERT_EQ(0, grown_ioctl(s, CPRSTASH_IOC_FINISH, &op, sizeof(op),
				 GROW));
	EXPECT_EQ(0, stash_info(s).nr_entries);
}

/* The largest size the kernel takes: a page, every byte we add zero. */
TEST_F(errors, struct_of_a_page_is_accepted)
{
	long page = sysconf(_SC_PAGESIZE);
	struct cprstash_list list = stash_list_arg(NULL, 0);

	ASSERT_EQ(0, grown_ioctl(self->stash, CPRSTASH_IOC_LIST, &list,
				 sizeof(list), page - sizeof(list)));
	EXPECT_EQ(2, list.nr_entries);
	EXPECT_EQ(CPRSTASH_API_VERSION, list.api_version);
}

static void check_flags(struct __test_metadata *_metadata,
			FIXTURE_DATA(errors) *self, const struct stash_cmd *c)
{
	union stash_arg a;
	char what[96];
	int bit;

	for (bit = 0; bit < 32; bit++) {
		if (c->known_flags & (1u << bit))
			continue;
		stash_cmd_valid(c, &a, &self->ctx);
		a.hdr.flags |= 1u << bit;
		snprintf(what, sizeof(what), "%s, flag bit %d", c->name, bit);
		expect_fail(_metadata, self->stash, EINVAL, c->cmd, &a, what);
	}
}

TEST_F(errors, unknown_flag_is_einval)
{
	for_each_cmd(_metadata, self, check_flags);
}

/* Each reserved field, in its lowest and in its highest byte. */
static void check_reserved(struct __test_metadata *_metadata,
			   FIXTURE_DATA(errors) *self,
			   const struct stash_cmd *c)
{
	const struct stash_field *f;
	union stash_arg a;
	char what[96];
	int high;

	for (f = c->reserved; f->len; f++) {
		for (high = 0; high < 2; high++) {
			stash_cmd_valid(c, &a, &self->ctx);
			a.bytes[f->off + (high ? f->len - 1 : 0)] = 0x80;
			snprintf(what, sizeof(what),
				 "%s, %s byte of the reserved field at %zu",
				 c->name, high ? "last" : "first", f->off);
			expect_fail(_metadata, self->stash, EINVAL, c->cmd, &a,
				    what);
		}
	}
}

TEST_F(errors, nonzero_reserved_is_einval)
{
	for_each_cmd(_metadata, self, check_reserved);
}

/* An address @readable bytes before the start of an unmapped page. */
static void *edge_of_mapping(size_t readable)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	TEST_ASSERT(!munmap(p + page, page), "munmap");
	return p + page - readable;
}

static void check_pointers(struct __test_metadata *_metadata,
			   FIXTURE_DATA(errors) *self,
			   const struct stash_cmd *c)
{
	void *straddling = edge_of_mapping(c->size / 2);
	union stash_arg a;
	char what[96];

	snprintf(what, sizeof(what), "%s, NULL argument", c->name);
	expect_fail(_metadata, self->stash, EFAULT, c->cmd, NULL, what);
	snprintf(what, sizeof(what), "%s, argument at address 1", c->name);
	expect_fail(_metadata, self->stash, EFAULT, c->cmd, (void *)1, what);

	/* A valid start, but the kernel cannot read the whole struct. */
	stash_cmd_valid(c, &a, &self->ctx);
	memcpy(straddling, &a, c->size / 2);
	snprintf(what, sizeof(what), "%s, argument across an unmapped page",
		 c->name);
	expect_fail(_metadata, self->stash, EFAULT, c->cmd, straddling, what);
}

TEST_F(errors, bad_argument_pointer_is_efault)
{
	for_each_cmd(_metadata, self, check_pointers);
}

/* A command writing its result into a read-only argument must undo. */
TEST_F(errors, unwritable_result_is_efault_and_undone)
{
	long page = sysconf(_SC_PAGESIZE);
	union stash_arg *a = mmap(NULL, page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds = fd_count(), next_fd = lowest_free_fd();

	ASSERT_NE(MAP_FAILED, a);
	a->preserve = stash_preserve_arg(self->ctx.fd, "fresh");
	ASSERT_EQ(0, mprotect(a, page, PROT_READ));
	expect_fail(_metadata, self->stash, EFAULT, CPRSTASH_IOC_PRESERVE_FD,
		    a, "PRESERVE_FD into a read-only argument");

	ASSERT_EQ(0, mprotect(a, page, PROT_READ | PROT_WRITE));
	a->retrieve = stash_retrieve_arg(FILE_NAME, 0);
	ASSERT_EQ(0, mprotect(a, page, PROT_READ));
	expect_fail(_metadata, self->stash, EFAULT, CPRSTASH_IOC_RETRIEVE_FD,
		    a, "RETRIEVE_FD into a read-only argument");
	EXPECT_EQ(fds, fd_count()) TH_LOG("the failed RETRIEVE_FD left an fd");
	EXPECT_EQ(next_fd, lowest_free_fd())
		TH_LOG("the failed RETRIEVE_FD kept an fd number reserved");

	ASSERT_EQ(0, mprotect(a, page, PROT_READ | PROT_WRITE));
	a->list = stash_list_arg(self->entries, ARRAY_SIZE(self->entries));
	ASSERT_EQ(0, mprotect(a, page, PROT_READ));
	expect_fail(_metadata, self->stash, EFAULT, CPRSTASH_IOC_LIST, a,
		    "LIST into a read-only argument");
}

TEST_F(errors, bad_data_pointers_are_efault)
{
	struct cprstash_put_record put;
	struct cprstash_list list;

	put = stash_record_arg("fresh", (void *)1, 8);
	expect_fail(_metadata, self->stash, EFAULT, CPRSTASH_IOC_PUT_RECORD,
		    &put, "PUT_RECORD of unreadable data");
	put = stash_record_arg("fresh", edge_of_mapping(32), 64);
	expect_fail(_metadata, self->stash, EFAULT, CPRSTASH_IOC_PUT_RECORD,
		    &put, "PUT_RECORD of data running into an unmapped page");
	list = stash_list_arg((void *)1, 2);
	expect_fail(_metadata, self->stash, EFAULT, CPRSTASH_IOC_LIST, &list,
		    "LIST into an unwritable array");
	EXPECT_EQ(-1, pread(self->stash, edge_of_mapping(0), 16, 0));
	EXPECT_EQ(EFAULT, errno);
}

/* Names: ENAMETOOLONG without a NUL, EINVAL when empty or not printable. */
static const struct {
	const char *name;
	int err;
} bad_names[] = {
	{ "0123456789012345678901234567890123456789012345678901234567890123",
	  ENAMETOOLONG },
	{ "", EINVAL },
	{ " ", EINVAL },
	{ "a b", EINVAL },
	{ "tab\there", EINVAL },
	{ "new\nline", EINVAL },
	{ "\x01", EINVAL },
	{ "del\x7f", EINVAL },
	{ "caf\xc3\xa9", EINVAL },
};

static void check_names(struct __test_metadata *_metadata,
			FIXTURE_DATA(errors) *self, const struct stash_cmd *c)
{
	union stash_arg a;
	char *name, what[128];
	size_t i;

	if (!c->has_name)
		return;
	for (i = 0; i < ARRAY_SIZE(bad_names); i++) {
		stash_cmd_valid(c, &a, &self->ctx);
		name = stash_arg_name(c, &a);
		memset(name, 0, CPRSTASH_NAME_MAX);
		memcpy(name, bad_names[i].name,
		       strnlen(bad_names[i].name, CPRSTASH_NAME_MAX));
		snprintf(what, sizeof(what), "%s, name '%.64s'", c->name,
			 bad_names[i].name);
		expect_fail(_metadata, self->stash, bad_names[i].err, c->cmd,
			    &a, what);
	}
}

TEST_F(errors, bad_names)
{
	for_each_cmd(_metadata, self, check_names);
}

TEST_F(errors, longest_name_is_fine)
{
	/* 60 digits and 3 punctuation marks: printable, no space. */
	const char *name = "0123456789012345678901234567890123456789"
			   "01234567890123456789~!?";

	ASSERT_EQ(CPRSTASH_NAME_MAX - 1, strlen(name));
	stash_preserve(self->stash, self->ctx.fd, name);
	EXPECT_EQ(0, stash_entry(self->stash, name, CPRSTASH_ENTRY_FILE).len);
}

/* Files and records share one namespace. */
TEST_F(errors, duplicate_name_is_eexist)
{
	static const char *const names[] = { FILE_NAME, REC_NAME };
	struct cprstash_preserve_fd preserve;
	struct cprstash_put_record put;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		preserve = stash_preserve_arg(self->ctx.fd, names[i]);
		expect_fail(_metadata, self->stash, EEXIST,
			    CPRSTASH_IOC_PRESERVE_FD, &preserve, names[i]);
		put = stash_record_arg(names[i], "x", 1);
		expect_fail(_metadata, self->stash, EEXIST,
			    CPRSTASH_IOC_PUT_RECORD, &put, names[i]);
	}
}

TEST_F(errors, retrieve_unknown_or_record)
{
	struct cprstash_retrieve_fd arg = stash_retrieve_arg("nope", 0);

	expect_fail(_metadata, self->stash, ENOENT, CPRSTASH_IOC_RETRIEVE_FD,
		    &arg, "RETRIEVE_FD of an unknown name");
	arg = stash_retrieve_arg(REC_NAME, 0);
	expect_fail(_metadata, self->stash, EINVAL, CPRSTASH_IOC_RETRIEVE_FD,
		    &arg, "RETRIEVE_FD of a record");
}

TEST_F(errors, preserve_bad_fd_is_ebadf)
{
	int closed = dup(self->ctx.fd);
	const int fds[] = { -1, closed, 1 << 20 };
	struct cprstash_preserve_fd arg;
	char what[64];
	size_t i;

	close(closed);
	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		arg = stash_preserve_arg(fds[i], "fresh");
		snprintf(what, sizeof(what), "PRESERVE_FD of fd %d", fds[i]);
		expect_fail(_metadata, self->stash, EBADF,
			    CPRSTASH_IOC_PRESERVE_FD, &arg, what);
	}
}

/* A stash holding a /dev/cprstash file would keep itself alive. */
TEST_F(errors, preserve_stash_fd_is_einval)
{
	int other = stash_open();
	struct cprstash_preserve_fd arg;

	arg = stash_preserve_arg(self->stash, "fresh");
	expect_fail(_metadata, self->stash, EINVAL, CPRSTASH_IOC_PRESERVE_FD,
		    &arg, "PRESERVE_FD of the stash's own fd");
	arg = stash_preserve_arg(other, "fresh");
	expect_fail(_metadata, self->stash, EINVAL, CPRSTASH_IOC_PRESERVE_FD,
		    &arg, "PRESERVE_FD of another /dev/cprstash fd");
}

TEST_F(errors, unknown_ioctl_is_enotty)
{
	static const struct {
		unsigned long cmd;
		const char *what;
	} cmds[] = {
		{ _IO(CPRSTASH_IOCTL_MAGIC, 0x00), "command 0x00" },
		{ _IOW(CPRSTASH_IOCTL_MAGIC, 0x0a, struct cprstash_op),
		  "command 0x0a, one past the last" },
		{ _IOWR(CPRSTASH_IOCTL_MAGIC, 0x1f, struct cprstash_op),
		  "command 0x1f" },
		{ _IOW(CPRSTASH_IOCTL_MAGIC - 1, 0x07, struct cprstash_op),
		  "FINISH with the neighbouring magic" },
		{ _IOW(CPRSTASH_IOCTL_MAGIC + 1, 0x07, struct cprstash_op),
		  "FINISH with the next magic" },
	};
	struct cprstash_op op = stash_op_arg();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		expect_fail(_metadata, self->stash, ENOTTY, cmds[i].cmd, &op,
			    cmds[i].what);
}

/*
 * The size in the command number is that of the caller's header, and the
 * direction bits carry nothing: only type and number select the command.
 */
TEST_F(errors, only_type_and_number_select_the_command)
{
	struct cprstash_preserve_fd preserve =
		stash_preserve_arg(self->ctx.fd, "renumbered");
	struct cprstash_op op = stash_op_arg();
	unsigned long preserve_nr = _IOC_NR(CPRSTASH_IOC_PRESERVE_FD);
	unsigned long finish_nr = _IOC_NR(CPRSTASH_IOC_FINISH);

	ASSERT_EQ(0, __stash_ioctl(self->stash,
				   _IOWR(CPRSTASH_IOCTL_MAGIC, preserve_nr,
					 struct cprstash_op), &preserve));
	EXPECT_EQ(CPRSTASH_KIND_EVENTFD, preserve.kind);
	stash_entry(self->stash, "renumbered", CPRSTASH_ENTRY_FILE);
	ASSERT_EQ(0, __stash_ioctl(self->stash,
				   _IO(CPRSTASH_IOCTL_MAGIC, finish_nr), &op));
	EXPECT_EQ(0, stash_info(self->stash).nr_entries);
}

/* Whatever the state does not allow is EBUSY, with a valid argument. */
static void check_state(struct __test_metadata *_metadata,
			FIXTURE_DATA(errors) *self, __u32 state)
{
	const struct stash_cmd *c;
	union stash_arg a;

	for (c = stash_cmds; c->name; c++) {
		if (c->states & STASH_STATE_BIT(state))
			continue;
		stash_cmd_valid(c, &a, &self->ctx);
		expect_fail(_metadata, self->stash, EBUSY, c->cmd, &a, c->name);
	}
}

TEST_F(errors, wrong_state_is_ebusy)
{
	check_state(_metadata, self, CPRSTASH_STATE_OPEN);
	stash_seal(self->stash, DEADLINE_MS);
	check_state(_metadata, self, CPRSTASH_STATE_SEALED);
}

TEST_F(errors, list_entry_size_is_checked)
{
	const struct {
		__u32 size;
		int err;
	} sizes[] = {
		{ 0, EINVAL },
		{ CPRSTASH_ENTRY_SIZE_VER0 - 8, EINVAL },
		{ CPRSTASH_ENTRY_SIZE_VER0 - 1, EINVAL },
		{ sysconf(_SC_PAGESIZE) + 1, E2BIG },
		{ ~0u, E2BIG },
	};
	struct cprstash_list arg;
	char what[64];
	size_t i, nr;

	for (nr = 0; nr < 2; nr++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			arg = stash_list_arg(self->entries, nr ?
					     ARRAY_SIZE(self->entries) : 0);
			arg.entry_size = sizes[i].size;
			snprintf(what, sizeof(what), "LIST, entry_size %u%s",
				 sizes[i].size, nr ? "" : ", no entries asked");
			expect_fail(_metadata, self->stash, sizes[i].err,
				    CPRSTASH_IOC_LIST, &arg, what);
		}
	}
}

/*
 * Elements larger than the kernel's struct: it writes what it knows at
 * the start of each and zeroes the rest; elements beyond the stash's
 * entries are not touched.
 */
TEST_F(errors, list_larger_entry_size_zeroes_the_rest)
{
	const size_t known = sizeof(struct cprstash_entry);
	const size_t stride = known + 40;
	unsigned char buf[3 * (sizeof(struct cprstash_entry) + 40)];
	struct cprstash_entry *want, got;
	struct cprstash_list arg, info;
	size_t i;

	want = stash_entries(self->stash, &info);
	ASSERT_EQ(2, info.nr_entries);
	memset(buf, 0xa5, sizeof(buf));
	arg = stash_list_arg((struct cprstash_entry *)buf, 3);
	arg.entry_size = stride;
	ASSERT_EQ(0, __stash_ioctl(self->stash, CPRSTASH_IOC_LIST, &arg));
	ASSERT_EQ(2, arg.nr_entries);
	for (i = 0; i < 2; i++) {
		memcpy(&got, buf + i * stride, known);
		EXPECT_EQ(0, memcmp(&want[i], &got, known))
			TH_LOG("element %zu differs from LIST's", i);
		EXPECT_EQ(NULL, memchr_not(buf + i * stride + known, 0,
					   stride - known))
			TH_LOG("element %zu: the tail is not zeroed", i);
	}
	EXPECT_EQ(NULL, memchr_not(buf + 2 * stride, 0xa5, stride))
		TH_LOG("the element past the stash's entries was written");
	free(want);
}

TEST_F(errors, deadline_above_max_is_einval)
{
	unsigned long max = stash_param_exists("max_deadline") ?
			    stash_param_read("max_deadline") : 600000;
	struct cprstash_seal arg = stash_seal_arg(max + 1);

	expect_fail(_metadata, self->stash, EINVAL, CPRSTASH_IOC_SEAL, &arg,
		    "SEAL beyond max_deadline");
	arg.deadline_ms = ~0u;
	expect_fail(_metadata, self->stash, EINVAL, CPRSTASH_IOC_SEAL, &arg,
		    "SEAL with deadline 0xffffffff");
	/* The maximum itself is allowed. */
	stash_seal(self->stash, max);
	EXPECT_LE(stash_info(self->stash).deadline_ms, max);
}

/* With no fd free below RLIMIT_NOFILE, RETRIEVE_FD is EMFILE. */
TEST_F(errors, retrieve_without_free_fd_is_emfile)
{
	struct cprstash_retrieve_fd arg = stash_retrieve_arg(FILE_NAME, 0);
	struct rlimit saved, full;
	struct stash_snapshot before;
	int lowest_free = lowest_free_fd(), err;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
	full = saved;
	full.rlim_cur = lowest_free;

	stash_snapshot(self->stash, &before);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &full));
	err = __stash_ioctl(self->stash, CPRSTASH_IOC_RETRIEVE_FD, &arg);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &saved));
	expect_fail_at(_metadata, self->stash, EMFILE, err, &before,
		       "RETRIEVE_FD with no free fd");
	stash_snapshot_free(&before);
}

/*
 * Limits: the module parameters are set just above what the stash holds,
 * and restored by the parent process, whatever happened to the test.
 */
FIXTURE(limits) {
	unsigned long max_entries;
	unsigned long max_record_bytes;
	unsigned long max_stashes;
	int stash;
};

FIXTURE_SETUP(limits)
{
	REQUIRE_STASH();
	REQUIRE_DEBUGFS();
	TEST_REQUIRE(stash_param_exists("max_entries") &&
		     stash_param_exists("max_record_bytes") &&
		     stash_param_exists("max_stashes"),
		     "module parameters not writable");
	self->max_entries = stash_param_read("max_entries");
	self->max_record_bytes = stash_param_read("max_record_bytes");
	self->max_stashes = stash_param_read("max_stashes");
	self->stash = stash_open();
	stash_put(self->stash, REC_NAME, "0123456789abcdef", REC_LEN);
}

FIXTURE_TEARDOWN_PARENT(limits)
{
	stash_param_write("max_entries", self->max_entries);
	stash_param_write("max_record_bytes", self->max_record_bytes);
	stash_param_write("max_stashes", self->max_stashes);
}

TEST_F(limits, max_entries_is_enospc)
{
	struct cprstash_preserve_fd preserve;
	struct cprstash_put_record put;

	stash_param_write("max_entries", 2);
	stash_put(self->stash, "second", "2", 1);

	preserve = stash_preserve_arg(STDIN_FILENO, "third");
	expect_fail(_metadata, self->stash, ENOSPC, CPRSTASH_IOC_PRESERVE_FD,
		    &preserve, "PRESERVE_FD beyond max_entries");
	put = stash_record_arg("third", "3", 1);
	expect_fail(_metadata, self->stash, ENOSPC, CPRSTASH_IOC_PUT_RECORD,
		    &put, "PUT_RECORD beyond max_entries");
}

/* A limit lowered below what the stash holds bounds additions only. */
TEST_F(limits, lowered_max_entries_hides_nothing)
{
	struct cprstash_list info;
	struct cprstash_entry *e;

	stash_put(self->stash, "second", "2", 1);
	stash_put(self->stash, "third", "3", 1);
	stash_param_write("max_entries", 1);

	e = stash_entries(self->stash, &info);
	ASSERT_EQ(3, info.nr_entries);
	EXPECT_STREQ(REC_NAME, e[0].name);
	EXPECT_STREQ("second", e[1].name);
	EXPECT_STREQ("third", e[2].name);
	free(e);
}

TEST_F(limits, max_record_bytes_is_e2big)
{
	char data[65] = { 0 };
	struct cprstash_put_record put;

	stash_param_write("max_record_bytes", REC_LEN + 64);
	put = stash_record_arg("too-big", data, 65);
	expect_fail(_metadata, self->stash, E2BIG, CPRSTASH_IOC_PUT_RECORD,
		    &put, "PUT_RECORD past max_record_bytes");
	/* Exactly up to the limit fits; one byte more does not. */
	stash_put(self->stash, "fits", data, 64);
	put = stash_record_arg("one-more", data, 1);
	expect_fail(_metadata, self->stash, E2BIG, CPRSTASH_IOC_PUT_RECORD,
		    &put, "PUT_RECORD of 1 byte at max_record_bytes");
}

static int open_new_stash(void *arg)
{
	(void)arg;
	return __stash_open(O_CLOEXEC) < 0 ? errno : 0;
}

TEST_F(limits, max_stashes_is_emfile_for_new_stashes_only)
{
	int fd;

	stash_param_write("max_stashes", stash_debugfs_count());
	EXPECT_EQ(EMFILE, run_child(open_new_stash, NULL));
	/* Re-opening one's own stash creates none: the exec'd image can. */
	fd = __stash_open(O_CLOEXEC);
	EXPECT_GE(fd, 0) TH_LOG("owner's re-open: %s", errno_name(errno));
}

TEST_HARNESS_MAIN
