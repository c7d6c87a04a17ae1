// SPDX-License-Identifier: GPL-2.0
/*
 * State records: what is encoded decodes to the same records, and every
 * kind of damaged stream is refused with a reason (and never read out of
 * bounds: run under ASan).
 */
#include <errno.h>
#include <string.h>

#include <linux/kvm.h>

#include "testlib.h"
#include "vmm/state.h"

static char err[256];

static void build_stream(struct state_buf *b)
{
	struct state_vm_info info = { .nr_vcpus = 2, .mem_size = 64 << 20 };
	struct kvm_regs regs = { .rip = 0x1234, .rax = 42 };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} msrs = { .hdr.nmsrs = 3, .e = { { .index = 0x10, .data = 7 } } };

	state_buf__init(b);
	state__put(b, STATE_VM_INFO, 0, &info, sizeof(info));
	state__put(b, STATE_VCPU_REGS, 0, &regs, sizeof(regs));
	regs.rip = 0x5678;
	state__put(b, STATE_VCPU_REGS, 1, &regs, sizeof(regs));
	state__put(b, STATE_VCPU_MSRS, 1, &msrs, sizeof(msrs));
	state__put_end(b);
	TEST_ASSERT(b->err == 0, "encode: %d", b->err);
}

static void expect_invalid(const void *data, size_t len, const char *why)
{
	int ret = state__validate(data, len, err, sizeof(err));

	TEST_ASSERT(ret == -22, "%s: accepted (ret %d)", why, ret);
	printf("ok: %s refused: %s\n", why, err);
}

/* Patch a header field of the @n-th record of a copy of the stream. */
static u8 *patched(const struct state_buf *b, int n, size_t field, const void *val, size_t vlen)
{
	u8 *copy = malloc(b->len);
	size_t off = 0;
	int i;

	memcpy(copy, b->data, b->len);
	for (i = 0; i < n; i++) {
		struct state_rec_hdr h;

		memcpy(&h, copy + off, sizeof(h));
		off += sizeof(h) + ALIGN_UP((size_t)h.len, 8);
	}
	memcpy(copy + off + field, val, vlen);
	return copy;
}

/* A header field of one record, set to a value the decoder must refuse. */
struct bad_field {
	int rec;		/* the n-th record of build_stream()'s */
	size_t field;		/* offset in the header */
	size_t width;		/* 2 or 4 bytes */
	u32 val;
	const char *why;
};

static const struct bad_field bad_fields[] = {
	{ 1, 0, 4, 0xdeadbeef, "bad magic" },
	{ 1, 4, 2, STATE_VERSION + 1, "newer version" },
	{ 1, 6, 2, 999, "unknown type" },
	{ 0, 8, 4, 5, "VM-wide record with a vCPU id" },
	{ 1, 12, 4, sizeof(struct kvm_regs) - 8, "fixed-size record with a wrong size" },
	{ 1, 12, 4, 0xfffffff0, "huge length" },
	/* nmsrs that does not match the record's length */
	{ 3, 16, 4, 1000, "MSR count mismatch" },
};

static void expect_patched_invalid(const struct state_buf *b, const struct bad_field *f)
{
	u16 v16 = f->val;
	u8 *p = patched(b, f->rec, f->field, f->width == 2 ? (void *)&v16 : (void *)&f->val,
			f->width);

	expect_invalid(p, b->len, f->why);
	free(p);
}

/* vm-info, then one record that must make the stream invalid. */
static void expect_invalid_record(const struct state_vm_info *info, u16 type, u32 id,
				  const void *payload, u32 len, const char *why)
{
	struct state_buf b;

	state_buf__init(&b);
	state__put(&b, STATE_VM_INFO, 0, info, sizeof(*info));
	state__put(&b, type, id, payload, len);
	state__put_end(&b);
	expect_invalid(b.data, b.len, why);
	state_buf__free(&b);
}

/* The live upgrade's records: well-formed ones pass, bad ones are refused. */
static void check_upgrade_records(void)
{
	struct state_vm_info info = { .nr_vcpus = 1, .mem_size = 64 << 20 };
	struct state_upgrade_info up = { .id = 7, .generation = 1 };
	struct state_upgrade_fd fd = { .role = STATE_FD_KVM_VCPU, .index = 0, .fd = 9 };
	static const char argv[] = "--guest\0builtin\0";
	static const char req[] = "{\"cmd\":\"live-upgrade\"}";
	static char big[5000];
	struct state_buf b;

	state_buf__init(&b);
	state__put(&b, STATE_VM_INFO, 0, &info, sizeof(info));
	state__put(&b, STATE_UPG_INFO, 0, &up, sizeof(up));
	state__put(&b, STATE_UPG_ARGV, 0, argv, sizeof(argv) - 1);
	state__put(&b, STATE_UPG_REQUEST, 0, req, strlen(req));
	state__put(&b, STATE_UPG_FD, 3, &fd, sizeof(fd));
	state__put(&b, STATE_UPG_CLIENT_BUF, 2, "{\"cmd\"", 7);
	state__put_end(&b);
	TEST_ASSERT(state__validate(b.data, b.len, err, sizeof(err)) == 0,
		    "upgrade records: %s", err);
	state_buf__free(&b);

	expect_invalid_record(&info, STATE_UPG_ARGV, 0, "--guest", 7,	/* no final NUL */
			      "argv without its final NUL");
	expect_invalid_record(&info, STATE_UPG_REQUEST, 0, big, sizeof(big),
			      "request longer than a control line");
	expect_invalid_record(&info, STATE_UPG_INFO, 1, &up, sizeof(up),
			      "upgrade-info with an index");
}

/*
 * The index refuses a type and id twice (fuzz-state-records found such a
 * stream restoring whichever copy bsearch() met); once each is fine.
 */
static void check_index_duplicates(void)
{
	struct state_vm_info info = { .nr_vcpus = 1 };
	struct kvm_regs regs = { 0 };
	struct state_index ix;
	struct state_buf b;

	state_buf__init(&b);
	state__put(&b, STATE_VM_INFO, 0, &info, sizeof(info));
	state__put(&b, STATE_VCPU_REGS, 0, &regs, sizeof(regs));
	state__put(&b, STATE_VCPU_REGS, 1, &regs, sizeof(regs));
	state__put_end(&b);
	TEST_ASSERT(state_index__build(&ix, b.data, b.len, err, sizeof(err)) == 0,
		    "distinct ids refused: %s", err);
	TEST_ASSERT(ix.nr == 3 && state_index__find(&ix, STATE_VCPU_REGS, 1),
		    "index of distinct ids");
	state_index__free(&ix);
	state_buf__free(&b);

	state__put(&b, STATE_VM_INFO, 0, &info, sizeof(info));
	state__put(&b, STATE_VCPU_REGS, 0, &regs, sizeof(regs));
	regs.rip = 1;
	state__put(&b, STATE_VCPU_REGS, 0, &regs, sizeof(regs));
	state__put_end(&b);
	TEST_ASSERT(state_index__build(&ix, b.data, b.len, err, sizeof(err)) == -EINVAL,
		    "a record twice was indexed");
	TEST_ASSERT(strstr(err, "twice") && !ix.recs, "refusal: '%s'", err);
	state_buf__free(&b);
}

int main(void)
{
	struct state_cursor c;
	struct state_rec rec;
	struct kvm_regs regs;
	struct state_buf b;
	u8 *p, *big;
	size_t i;
	int n, ret;

	build_stream(&b);

	/* Round trip: the same records, in order, with their payloads. */
	TEST_ASSERT(state__validate(b.data, b.len, err, sizeof(err)) == 0, "valid: %s", err);
	state_cursor__init(&c, b.data, b.len);
	for (n = 0; (ret = state__next(&c, &rec, err, sizeof(err))) > 0; n++) {
		if (n == 2) {
			TEST_ASSERT(rec.type == STATE_VCPU_REGS && rec.id == 1 &&
				    rec.len == sizeof(regs), "third record %u/%u/%u",
				    rec.type, rec.id, rec.len);
			memcpy(&regs, rec.payload, sizeof(regs));
			TEST_ASSERT(regs.rip == 0x5678 && regs.rax == 42, "payload");
		}
	}
	TEST_ASSERT(ret == 0 && n == 4, "decoded %d records, ret %d", n, ret);
	TEST_ASSERT(b.len % 8 == 0, "records are 8-byte aligned");

	/* Framing. */
	expect_invalid(b.data, 0, "empty stream");
	expect_invalid(b.data, 7, "truncated header");
	expect_invalid(b.data, b.len - 16, "missing end record");
	expect_invalid(b.data, 40, "truncated payload");
	big = malloc(b.len + 8);
	memcpy(big, b.data, b.len);
	memset(big + b.len, 0, 8);
	expect_invalid(big, b.len + 8, "bytes after the end record");
	free(big);

	/* Header fields. */
	for (i = 0; i < ARRAY_SIZE(bad_fields); i++)
		expect_patched_invalid(&b, &bad_fields[i]);
	{
		struct state_buf nb;

		state_buf__init(&nb);
		state__put(&nb, STATE_VCPU_REGS, 0, &regs, sizeof(regs));
		state__put_end(&nb);
		expect_invalid(nb.data, nb.len, "stream not starting with vm-info");
		state_buf__free(&nb);
	}

	/* Any single flipped byte: refused or still well-formed, never a crash. */
	for (i = 0; i < b.len; i++) {
		p = malloc(b.len);
		memcpy(p, b.data, b.len);
		p[i] ^= 0x5a;
		state__validate(p, b.len, err, sizeof(err));
		free(p);
	}
	/* Every truncation is refused. */
	for (i = 0; i < b.len; i++) {
		p = malloc(i ? i : 1);
		memcpy(p, b.data, i);
		TEST_ASSERT(state__validate(p, i, err, sizeof(err)) != 0,
			    "truncation to %zu bytes accepted", i);
		free(p);
	}

	check_upgrade_records();
	check_index_duplicates();

	/* Oversized payloads are refused at encode time. */
	state__put(&b, STATE_VCPU_XSAVE, 0, b.data, STATE_MAX_PAYLOAD + 1);
	TEST_ASSERT(b.err != 0, "oversized record accepted");
	state_buf__free(&b);
	printf("ok: state records\n");
	return 0;
}
