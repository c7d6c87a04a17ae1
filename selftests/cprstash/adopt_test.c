// SPDX-License-Identifier: GPL-2.0
/*
 * ADOPT_KVM: a KVM VM created by one image keeps running in the next.
 *
 * The guest is a few bytes of real-mode code: it increments a counter in
 * guest RAM and reports it with `out 0x10`.  Before exec the test runs it
 * to its first exit, queues an interrupt whose handler writes a marker,
 * fills guest RAM with a pattern, stashes VM, vCPU and memfd and execs
 * itself.  The new image maps RAM at the same address, adopts the VM and
 * runs on: same registers, the interrupt delivered, the counter going on,
 * the pattern intact — and no vCPU state restored by hand.
 *
 * And what may not be adopted (Documentation/security.rst): guest RAM
 * replaced by other memory at the old addresses, a VM whose old address
 * space still runs it (a vfork child's), a VM with Xen state; while a
 * ROM slot mapped from a read-only fd comes back like RAM.
 *
 * CPRSTASH_ADOPT_KEEP_MAPPINGS: the guest's mappings survive adoption
 * (KVM's pages_4k stat does not fall), and the guest never reads a page its
 * VMM no longer maps: a page replaced in the new image between ADOPT and
 * SETTLE, and pages migrated (soft-offlined) before and after SETTLE, are
 * read back by the guest itself (a probe: mov eax, [ds:0]; out).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "cprstash_harness.h"
#include "cprstash.h"
#include "liveness.h"

#define GUEST_RAM_SIZE		(2u << 20)
#define GUEST_CODE		0x1000
#define GUEST_IRQ_HANDLER	0x1100
#define GUEST_COUNTER		0x2000
#define GUEST_IRQ_MARKER	0x2004
#define GUEST_PATTERN		0x10000
#define GUEST_IRQ_VECTOR	0x80
#define GUEST_IO_PORT		0x10
#define IRQ_MARKER		0xbeef
#define GUEST_PROBE_CODE	0x1200
#define GUEST_PROBE_PORT	0x11
#define GUEST_PROBE_FIRST	0x20000		/* probed pages: below 1 MiB */
#define GUEST_PROBE_END		0xf0000
#define GUEST_REPLACED		0x30000		/* remapped in the new image */
#define REPLACED_VALUE		0x5eed1e55u
#define GUEST_ROM		0x200000	/* just above RAM */
#define GUEST_ROM_SIZE		(64u << 10)
#define ROM_SEED		0x7e57

/* What the pre-exec image tells the post-exec one, as a stash record. */
struct adopt_record {
	uint64_t ram_hva;
	uint64_t pattern_seed;
	uint32_t counter;
	uint32_t cycle;
	uint32_t cycles;
	uint32_t expect_irq;
	int32_t vm_fd;		/* names the VM's KVM debugfs directory */
	uint64_t rom_hva;	/* 0: no ROM slot */
	struct kvm_regs regs;
	int64_t pages_4k;	/* KVM's 4 KiB guest mappings before exec */
	int64_t tlb_flushes;	/* KVM's remote_tlb_flush_requests at exec */
	uint32_t nr_pfns;
	uint64_t pfns[16];	/* of probed guest pages, to soft-offline */
};

struct test_vm {
	int kvm, vm, vcpu, memfd, rom;
	uint8_t *ram, *rom_map;
	struct kvm_run *run;
	size_t run_size;
};

static const uint8_t guest_code[] = {
	0x66, 0xff, 0x06, 0x00, 0x20,	/* 1: inc dword [GUEST_COUNTER] */
	0xe6, GUEST_IO_PORT,		/*    out GUEST_IO_PORT, al     */
	0xeb, 0xf7,			/*    jmp 1b                    */
};

/* Real mode, DS based at the probed page: report its first dword. */
static const uint8_t guest_probe[] = {
	0x66, 0x8b, 0x07,		/* mov eax, [bx] (bx = 0) */
	0xe6, GUEST_PROBE_PORT,		/* out GUEST_PROBE_PORT, al */
	0xf4,				/* hlt */
};

static const uint8_t guest_irq_handler[] = {
	0xc7, 0x06, 0x04, 0x20, 0xef, 0xbe, /* mov word [GUEST_IRQ_MARKER], IRQ_MARKER */
	0xcf,				     /* iret */
};

static bool kvm_available(void)
{
	return access("/dev/kvm", R_OK | W_OK) == 0;
}

/* Outside the harness's TEST bodies (post-exec stages), fail by exit. */
#define STAGE_CHECK(cond, fmt, ...) do {				\
	if (!(cond)) {							\
		printf("# %s:%d: %s: " fmt "\n", __FILE__, __LINE__,	\
		       #cond, ##__VA_ARGS__);				\
		exit(KSFT_FAIL);					\
	}								\
} while (0)

static uint64_t pattern_at(uint64_t seed, size_t i)
{
	return (seed + i) * 0x9e3779b97f4a7c15ull;
}

static void guest_fill_pattern(uint8_t *ram, uint64_t seed)
{
	uint64_t *p = (uint64_t *)(ram + GUEST_PATTERN);

	for (size_t i = 0; i < (GUEST_RAM_SIZE - GUEST_PATTERN) / 8; i++)
		p[i] = pattern_at(seed, i);
}

static size_t guest_pattern_errors(const uint8_t *ram, uint64_t seed)
{
	const uint64_t *p = (const uint64_t *)(ram + GUEST_PATTERN);
	size_t bad = 0;

	for (size_t i = 0; i < (GUEST_RAM_SIZE - GUEST_PATTERN) / 8; i++)
		bad += p[i] != pattern_at(seed, i);
	return bad;
}

static void guest_fill_pattern_at(int fd, uint64_t seed)
{
	uint64_t p[GUEST_ROM_SIZE / 8];

	for (size_t i = 0; i < ARRAY_SIZE(p); i++)
		p[i] = pattern_at(seed, i);
	if (pwrite(fd, p, sizeof(p), 0) != sizeof(p))
		abort();
}

static uint32_t guest_read32(const struct test_vm *t, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, t->ram + gpa, sizeof(v));
	return v;
}

static int vcpu_map_run(struct test_vm *t)
{
	int size = ioctl(t->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (size <= 0)
		return -1;
	t->run_size = size;
	t->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, t->vcpu, 0);
	return t->run == MAP_FAILED ? -1 : 0;
}

static void guest_load(struct test_vm *t)
{
	uint16_t ivt_entry[2] = { GUEST_IRQ_HANDLER, 0 };

	memcpy(t->ram + GUEST_CODE, guest_code, sizeof(guest_code));
	memcpy(t->ram + GUEST_PROBE_CODE, guest_probe, sizeof(guest_probe));
	memcpy(t->ram + GUEST_IRQ_HANDLER, guest_irq_handler,
	       sizeof(guest_irq_handler));
	memcpy(t->ram + GUEST_IRQ_VECTOR * 4, ivt_entry, sizeof(ivt_entry));
}

static int vcpu_reset_real_mode(struct test_vm *t)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = GUEST_CODE,
		.rflags = 0x2,		/* IF clear: only the queued event */
		.rax = 0x1111, .rbx = 0x2222, .rcx = 0x3333, .rdx = 0x4444,
		.rsi = 0x5555, .rdi = 0x6666, .rsp = 0xf000, .rbp = 0x7777,
	};

	if (ioctl(t->vcpu, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ss.base = 0;
	sregs.ss.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	if (ioctl(t->vcpu, KVM_SET_SREGS, &sregs))
		return -1;
	return ioctl(t->vcpu, KVM_SET_REGS, &regs);
}

/* A VM with guest RAM in a memfd at a fixed HVA, one vCPU in real mode. */
static int test_vm_create(struct test_vm *t)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.memory_size = GUEST_RAM_SIZE,
	};

	memset(t, 0, sizeof(*t));
	t->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (t->kvm < 0)
		return -1;
	t->vm = ioctl(t->kvm, KVM_CREATE_VM, 0);
	t->memfd = memfd_create("adopt-guest-ram", MFD_CLOEXEC);
	if (t->vm < 0 || t->memfd < 0 || ftruncate(t->memfd, GUEST_RAM_SIZE))
		return -1;
	t->ram = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, t->memfd, 0);
	if (t->ram == MAP_FAILED)
		return -1;
	region.userspace_addr = (uintptr_t)t->ram;
	if (ioctl(t->vm, KVM_SET_USER_MEMORY_REGION, &region))
		return -1;
	guest_load(t);
	t->vcpu = ioctl(t->vm, KVM_CREATE_VCPU, 0);
	if (t->vcpu < 0 || vcpu_map_run(t))
		return -1;
	return vcpu_reset_real_mode(t);
}

/* Run to the guest's next `out`; the counter it reported, 0 if kicked, or -1. */
static int64_t vcpu_run_to_report(struct test_vm *t)
{
	for (;;) {
		if (ioctl(t->vcpu, KVM_RUN, 0)) {
			if (errno == EINTR)
				return 0;
			printf("# KVM_RUN: %s\n", strerror(errno));
			return -1;
		}
		if (t->run->exit_reason == KVM_EXIT_IO &&
		    t->run->io.port == GUEST_IO_PORT)
			return guest_read32(t, GUEST_COUNTER);
		if (t->run->exit_reason != KVM_EXIT_INTR) {
			printf("# unexpected exit reason %u\n", t->run->exit_reason);
			return -1;
		}
	}
}

/* Leave an interrupt in flight: the adopted VM must deliver it. */
static int vcpu_queue_irq(struct test_vm *t)
{
	struct kvm_vcpu_events events;

	if (ioctl(t->vcpu, KVM_GET_VCPU_EVENTS, &events))
		return -1;
	events.interrupt.injected = 1;
	events.interrupt.nr = GUEST_IRQ_VECTOR;
	events.interrupt.soft = 0;
	events.flags = 0;
	return ioctl(t->vcpu, KVM_SET_VCPU_EVENTS, &events);
}

/*
 * A KVM_MEM_READONLY slot mapped MAP_SHARED from a read-only fd, as a VMM
 * maps firmware: the mapping has VM_MAYSHARE but not VM_SHARED.
 */
static int test_vm_add_rom(struct test_vm *t)
{
	struct kvm_userspace_memory_region region = {
		.slot = 1,
		.flags = KVM_MEM_READONLY,
		.guest_phys_addr = GUEST_ROM,
		.memory_size = GUEST_ROM_SIZE,
	};
	char path[64];
	int rw = memfd_create("adopt-guest-rom", MFD_CLOEXEC);

	if (rw < 0 || ftruncate(rw, GUEST_ROM_SIZE))
		return -1;
	guest_fill_pattern_at(rw, ROM_SEED);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rw);
	t->rom = open(path, O_RDONLY | O_CLOEXEC);
	close(rw);
	if (t->rom < 0)
		return -1;
	t->rom_map = mmap(NULL, GUEST_ROM_SIZE, PROT_READ, MAP_SHARED, t->rom, 0);
	if (t->rom_map == MAP_FAILED)
		return -1;
	region.userspace_addr = (uintptr_t)t->rom_map;
	return ioctl(t->vm, KVM_SET_USER_MEMORY_REGION, &region);
}

static int stash_vm(int stash, struct test_vm *t, const struct adopt_record *rec)
{
	int ret = cprstash_preserve_fd(stash, t->vm, "vm", NULL);

	if (!ret && rec->rom_hva)
		ret = cprstash_preserve_fd(stash, t->rom, "rom", NULL);

	if (!ret)
		ret = cprstash_preserve_fd(stash, t->vcpu, "vcpu0", NULL);
	if (!ret)
		ret = cprstash_preserve_fd(stash, t->memfd, "ram", NULL);
	if (!ret)
		ret = cprstash_put_record(stash, "adopt", rec, sizeof(*rec));
	return ret;
}

static void exec_stage(const char *stage)
{
	execl("/proc/self/exe", "adopt_test", "--stage", stage, (char *)NULL);
	printf("# exec: %s\n", strerror(errno));
	exit(KSFT_FAIL);
}

/* Stash @t with @rec, seal, exec into @stage (never returns). */
static void stash_and_exec(struct test_vm *t, const struct adopt_record *rec,
			   const char *stage)
{
	int stash = cprstash_open(false);

	STAGE_CHECK(stash >= 0, "open: %s", strerror(-stash));
	STAGE_CHECK(!stash_vm(stash, t, rec), "stash");
	/* Odd generations keep the old mm across exec: both paths must adopt. */
	STAGE_CHECK(!cprstash_seal(stash, 30000,
				   rec->cycle % 2 ? CPRSTASH_SEAL_KEEP_MM : 0),
		    "seal");
	exec_stage(stage);
}

static int read_record(int stash, struct adopt_record *rec)
{
	struct cprstash_listing l;
	const struct cprstash_entry *e;
	int ret = cprstash_list(stash, &l);

	if (ret)
		return ret;
	e = cprstash_listing_find(&l, "adopt");
	ret = !e || e->len != sizeof(*rec) ||
	      pread(stash, rec, sizeof(*rec), e->offset) != sizeof(*rec);
	cprstash_listing_free(&l);
	return ret ? -EIO : 0;
}

static int map_ram_at(struct test_vm *t, uint64_t hva)
{
	t->ram = mmap((void *)(uintptr_t)hva, GUEST_RAM_SIZE,
		      PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_FIXED_NOREPLACE, t->memfd, 0);
	return t->ram == (void *)(uintptr_t)hva ? 0 : -1;
}

/* CPRSTASH_ADOPT_KEEP_MAPPINGS for the stages that keep mappings. */
static uint32_t adopt_flags;

static int adopt(int stash)
{
	return cprstash_adopt_kvm_flags(stash, "vm", adopt_flags);
}

/* Post-exec: take the VM back (RAM mapped first unless @map_ram is false). */
static int recover_vm(int stash, struct test_vm *t, struct adopt_record *rec,
		      bool map_ram)
{
	STAGE_CHECK(!read_record(stash, rec), "record");
	t->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	t->vm = cprstash_retrieve_fd(stash, "vm", 0, NULL);
	t->vcpu = cprstash_retrieve_fd(stash, "vcpu0", 0, NULL);
	t->memfd = cprstash_retrieve_fd(stash, "ram", 0, NULL);
	STAGE_CHECK(t->kvm >= 0 && t->vm >= 0 && t->vcpu >= 0 && t->memfd >= 0,
		    "retrieve");
	if (map_ram)
		STAGE_CHECK(!map_ram_at(t, rec->ram_hva), "mmap at %#llx: %s",
			    (unsigned long long)rec->ram_hva, strerror(errno));
	if (rec->rom_hva) {
		t->rom = cprstash_retrieve_fd(stash, "rom", 0, NULL);
		STAGE_CHECK(t->rom >= 0, "retrieve rom");
		t->rom_map = mmap((void *)(uintptr_t)rec->rom_hva,
				  GUEST_ROM_SIZE, PROT_READ,
				  MAP_SHARED | MAP_FIXED_NOREPLACE, t->rom, 0);
		STAGE_CHECK(t->rom_map == (void *)(uintptr_t)rec->rom_hva,
			    "mmap rom: %s", strerror(errno));
	}
	STAGE_CHECK(!vcpu_map_run(t), "mmap kvm_run: %s", strerror(errno));
	return adopt(stash);
}

static void check_adopted_guest(struct test_vm *t, const struct adopt_record *rec)
{
	struct kvm_regs regs;
	int64_t counter;

	STAGE_CHECK(!ioctl(t->vcpu, KVM_GET_REGS, &regs), "KVM_GET_REGS: %s",
		    strerror(errno));
	STAGE_CHECK(!memcmp(&regs, &rec->regs, sizeof(regs)),
		    "registers changed: rip %#llx -> %#llx, rax %#llx -> %#llx",
		    rec->regs.rip, regs.rip, rec->regs.rax, regs.rax);
	STAGE_CHECK(guest_read32(t, GUEST_COUNTER) == rec->counter,
		    "counter in RAM %u, expected %u",
		    guest_read32(t, GUEST_COUNTER), rec->counter);

	counter = vcpu_run_to_report(t);
	STAGE_CHECK(counter == rec->counter + 1, "guest reported %lld, expected %u",
		    (long long)counter, rec->counter + 1);
	if (rec->expect_irq)
		STAGE_CHECK(guest_read32(t, GUEST_IRQ_MARKER) == IRQ_MARKER,
			    "queued interrupt was not delivered (marker %#x)",
			    guest_read32(t, GUEST_IRQ_MARKER));
	STAGE_CHECK(!guest_pattern_errors(t->ram, rec->pattern_seed),
		    "guest RAM pattern corrupted");
}

static int stage_open_stash(void)
{
	int stash = cprstash_open(false);

	STAGE_CHECK(stash >= 0, "open: %s", strerror(-stash));
	return stash;
}

/* A number from the VM's KVM debugfs directory, or -1 without debugfs. */
static long vm_debugfs_read(int vm_fd, const char *file)
{
	char path[128];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/%s",
		 getpid(), vm_fd, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

/* The pid KVM shows for vCPU 0 (0: none yet), or -1 without debugfs. */
static long vcpu0_pid(const struct adopt_record *rec)
{
	return vm_debugfs_read(rec->vm_fd, "vcpu0/pid");
}

/*
 * The first dword of the page at @gpa as the guest reads it, through KVM's
 * mapping of it: the probe runs in real mode with DS based at the page.
 * -1 if the vCPU did not get there.
 */
static int64_t guest_probe_read(struct test_vm *t, uint64_t gpa)
{
	struct kvm_regs regs = { .rip = GUEST_PROBE_CODE, .rflags = 0x2 };
	struct kvm_sregs sregs;

	if (ioctl(t->vcpu, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.ds.base = gpa;
	sregs.ds.selector = gpa >> 4;
	if (ioctl(t->vcpu, KVM_SET_SREGS, &sregs) ||
	    ioctl(t->vcpu, KVM_SET_REGS, &regs) || ioctl(t->vcpu, KVM_RUN, 0))
		return -1;
	if (t->run->exit_reason != KVM_EXIT_IO ||
	    t->run->io.port != GUEST_PROBE_PORT ||
	    ioctl(t->vcpu, KVM_GET_REGS, &regs))
		return -1;
	return (uint32_t)regs.rax;
}

static uint32_t pattern_dword_at(uint64_t seed, uint64_t gpa)
{
	return (uint32_t)pattern_at(seed, (gpa - GUEST_PATTERN) / 8);
}

/* Probed pages whose first dword the guest does not read as @seed's. */
static unsigned int guest_probe_errors(struct test_vm *t, uint64_t seed)
{
	unsigned int bad = 0;
	int64_t v;

	for (uint64_t gpa = GUEST_PROBE_FIRST; gpa < GUEST_PROBE_END;
	     gpa += 4096) {
		v = guest_probe_read(t, gpa);
		if (v == pattern_dword_at(seed, gpa))
			continue;
		if (!bad++)
			printf("# guest reads %#llx at %#llx, its VMM %#x\n",
			       (long long)v, (unsigned long long)gpa,
			       pattern_dword_at(seed, gpa));
	}
	return bad;
}

/* The page frame behind @addr in this mm (root: /proc/self/pagemap), or 0. */
static uint64_t page_pfn(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t entry = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry),
		  (uintptr_t)addr / 4096 * sizeof(entry)) != sizeof(entry))
		entry = 0;
	close(fd);
	return entry >> 63 ? entry & ((1ull << 55) - 1) : 0;
}

/*
 * Move guest pages by soft-offlining them (CONFIG_MEMORY_FAILURE): the
 * kernel migrates each to a new page, invalidating only the mms that map
 * it, and never uses the old page again, which keeps its old contents.
 * How many moved; -1 without the interface.
 */
static int soft_offline_pfns(const uint64_t *pfns, uint32_t nr)
{
	int fd = open("/sys/devices/system/memory/soft_offline_page", O_WRONLY);
	char addr[32];
	int moved = 0;

	if (fd < 0)
		return -1;
	for (uint32_t i = 0; i < nr; i++) {
		int n = snprintf(addr, sizeof(addr), "%#llx",
				 (unsigned long long)pfns[i] * 4096);

		moved += pfns[i] && write(fd, addr, n) == n;
	}
	close(fd);
	return moved;
}

/* Map another memfd's page, holding @value, over guest page @gpa. */
static int replace_guest_page(struct test_vm *t, uint64_t gpa, uint32_t value)
{
	int fd = memfd_create("adopt-replaced", MFD_CLOEXEC);
	void *p;

	if (fd < 0 || ftruncate(fd, 4096) ||
	    pwrite(fd, &value, sizeof(value), 0) != sizeof(value))
		return -1;
	p = mmap(t->ram + gpa, 4096, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	close(fd);
	return p == t->ram + gpa ? 0 : -1;
}

static int restore_guest_page(struct test_vm *t, uint64_t gpa)
{
	void *p = mmap(t->ram + gpa, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, t->memfd, gpa);

	return p == t->ram + gpa ? 0 : -1;
}

/* The pattern of @seed written through the memfd: no page gets mapped. */
static int guest_pwrite_pattern(struct test_vm *t, uint64_t seed)
{
	size_t len = GUEST_RAM_SIZE - GUEST_PATTERN;
	uint64_t *p = malloc(len);
	ssize_t n;

	if (!p)
		return -1;
	for (size_t i = 0; i < len / 8; i++)
		p[i] = pattern_at(seed, i);
	n = pwrite(t->memfd, p, len, GUEST_PATTERN);
	free(p);
	return n == (ssize_t)len ? 0 : -1;
}

/*
 * The guest's mappings survive ADOPT_KVM, and what it reads is always what
 * its VMM has at the guest's addresses:
 * - a page the VMM replaces between ADOPT and SETTLE (only the new mm
 *   unmaps it: the forwarder must pass that on);
 * - guest pages migrated (soft-offlined) before SETTLE, and others after
 *   it: migration invalidates only the mms that map a page, and this image
 *   never touched those pages through its own mapping, so after SETTLE only
 *   its populate has them mapped here: without it KVM would go on mapping
 *   the old pages.
 * After each, the pattern is rewritten with pwrite() (which maps nothing)
 * and the guest must read the new one.  Sealed without SEAL_KEEP_MM (even
 * cycle), there is nothing to keep and nothing to settle.
 */
static int stage_adopt_keep(void)
{
	struct adopt_record rec;
	struct kvm_regs regs;
	struct test_vm t;
	int stash = stage_open_stash();
	int64_t counter;
	int ret, moved;
	bool kept;
	long pages;

	adopt_flags = CPRSTASH_ADOPT_KEEP_MAPPINGS;
	ret = recover_vm(stash, &t, &rec, true);
	STAGE_CHECK(!ret, "ADOPT_KVM keeping mappings: %s", strerror(-ret));
	kept = rec.cycle % 2;
	pages = vm_debugfs_read(rec.vm_fd, "pages_4k");
	printf("# pages_4k: %lld before exec, %ld after adopt\n",
	       (long long)rec.pages_4k, pages);
	if (pages >= 0 && rec.pages_4k > 0 && kept)
		STAGE_CHECK(pages >= rec.pages_4k - rec.pages_4k / 8,
			    "guest mappings dropped: pages_4k %lld before exec, %ld after adopt",
			    (long long)rec.pages_4k, pages);
	if (pages >= 0 && !kept)
		STAGE_CHECK(pages == 0, "pages_4k %ld without a kept mm", pages);

	/* As check_adopted_guest(), without reading RAM through our mapping. */
	STAGE_CHECK(!ioctl(t.vcpu, KVM_GET_REGS, &regs), "KVM_GET_REGS");
	STAGE_CHECK(!memcmp(&regs, &rec.regs, sizeof(regs)), "registers changed");
	counter = vcpu_run_to_report(&t);
	STAGE_CHECK(counter == rec.counter + 1, "guest reported %lld, expected %u",
		    (long long)counter, rec.counter + 1);
	STAGE_CHECK(!guest_probe_errors(&t, rec.pattern_seed),
		    "guest reads other memory than its VMM after adopt");

	STAGE_CHECK(!replace_guest_page(&t, GUEST_REPLACED, REPLACED_VALUE),
		    "replace page: %s", strerror(errno));
	STAGE_CHECK(guest_probe_read(&t, GUEST_REPLACED) == REPLACED_VALUE,
		    "guest reads %#llx in a page its VMM replaced, expected %#x",
		    (long long)guest_probe_read(&t, GUEST_REPLACED),
		    REPLACED_VALUE);
	STAGE_CHECK(!restore_guest_page(&t, GUEST_REPLACED), "restore page: %s",
		    strerror(errno));

	moved = soft_offline_pfns(rec.pfns, rec.nr_pfns / 2);
	printf("# soft-offlined %d guest pages before SETTLE\n", moved);
	STAGE_CHECK(!guest_pwrite_pattern(&t, rec.pattern_seed + 1), "pwrite");
	STAGE_CHECK(!guest_probe_errors(&t, rec.pattern_seed + 1),
		    "stale guest mapping after migration, before SETTLE");

	ret = cprstash_settle_kvm(stash, "vm");
	STAGE_CHECK(ret == (kept ? 0 : -ENOENT), "SETTLE_KVM: %s",
		    strerror(-ret));
	ret = cprstash_settle_kvm(stash, "vm");
	STAGE_CHECK(ret == -ENOENT, "second SETTLE_KVM: %s", strerror(-ret));
	pages = vm_debugfs_read(rec.vm_fd, "pages_4k");
	printf("# pages_4k: %ld after settle\n", pages);
	if (kept && pages >= 0)
		STAGE_CHECK(pages > 0, "SETTLE_KVM dropped the guest's mappings");

	moved = soft_offline_pfns(rec.pfns + rec.nr_pfns / 2,
				  rec.nr_pfns - rec.nr_pfns / 2);
	printf("# soft-offlined %d guest pages after SETTLE\n", moved);
	STAGE_CHECK(!guest_pwrite_pattern(&t, rec.pattern_seed + 2), "pwrite");
	STAGE_CHECK(!guest_probe_errors(&t, rec.pattern_seed + 2),
		    "stale guest mapping after migration, after SETTLE");
	STAGE_CHECK(!cprstash_finish(stash), "finish");
	return KSFT_PASS;
}

/* Adopted keeping mappings, then gone without SETTLE: the stash ends it. */
static int stage_adopt_keep_exit(void)
{
	struct adopt_record rec;
	struct test_vm t;
	int stash = stage_open_stash();
	int ret;

	adopt_flags = CPRSTASH_ADOPT_KEEP_MAPPINGS;
	ret = recover_vm(stash, &t, &rec, true);
	STAGE_CHECK(!ret, "ADOPT_KVM keeping mappings: %s", strerror(-ret));
	check_adopted_guest(&t, &rec);
	return KSFT_PASS;
}

static int stage_adopt(void)
{
	struct adopt_record rec;
	struct test_vm t;
	int stash = stage_open_stash();
	long flushes;
	int ret;

	ret = recover_vm(stash, &t, &rec, true);
	STAGE_CHECK(!ret, "ADOPT_KVM: %s", strerror(-ret));
	/*
	 * exec zapped the VM's mappings without a TLB flush (->release): the
	 * adoption must ask for one before the vCPU runs again.
	 */
	flushes = vm_debugfs_read(rec.vm_fd, "remote_tlb_flush_requests");
	if (flushes >= 0 && rec.tlb_flushes >= 0)
		STAGE_CHECK(flushes > rec.tlb_flushes,
			    "no TLB flush requested by ADOPT_KVM (%ld, %lld at exec)",
			    flushes, (long long)rec.tlb_flushes);
	ret = adopt(stash);
	STAGE_CHECK(ret == -EALREADY, "second ADOPT_KVM: %s", strerror(-ret));
	/*
	 * The vCPU's old thread died at exec: adopt forgets it, so the first
	 * KVM_RUN need not wait for an RCU grace period to replace it.
	 */
	if (vcpu0_pid(&rec) >= 0)
		STAGE_CHECK(vcpu0_pid(&rec) == 0, "vcpu0 pid after adopt: %ld",
			    vcpu0_pid(&rec));
	check_adopted_guest(&t, &rec);
	if (vcpu0_pid(&rec) >= 0)
		STAGE_CHECK(vcpu0_pid(&rec) == gettid(), "vcpu0 pid after run: %ld",
			    vcpu0_pid(&rec));
	STAGE_CHECK(!cprstash_finish(stash), "finish");
	return KSFT_PASS;
}

/* Not mapped: EFAULT and nothing changed; mapped: the same VM adopts. */
static int stage_adopt_unmapped(void)
{
	struct adopt_record rec;
	struct test_vm t;
	int stash = stage_open_stash();
	int ret;

	ret = recover_vm(stash, &t, &rec, false);
	STAGE_CHECK(ret == -EFAULT, "ADOPT_KVM without RAM: %s, expected EFAULT",
		    strerror(-ret));
	STAGE_CHECK(ioctl(t.vcpu, KVM_RUN, 0) && errno == EIO,
		    "KVM_RUN on a refused VM did not fail with EIO");
	STAGE_CHECK(!map_ram_at(&t, rec.ram_hva), "mmap: %s", strerror(errno));
	ret = adopt(stash);
	STAGE_CHECK(!ret, "ADOPT_KVM with RAM: %s", strerror(-ret));
	check_adopted_guest(&t, &rec);
	return KSFT_PASS;
}

/*
 * MAP_SHARED|MAP_ANONYMOUS memory at the old addresses is a shared mapping
 * too, of zeroes: EFAULT, and the guest's own memfd then adopts.
 */
static int stage_adopt_anon_shared(void)
{
	struct adopt_record rec;
	struct test_vm t;
	int stash = stage_open_stash();
	void *p;
	int ret;

	STAGE_CHECK(!read_record(stash, &rec), "record");
	p = mmap((void *)(uintptr_t)rec.ram_hva, GUEST_RAM_SIZE,
		 PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	STAGE_CHECK(p == (void *)(uintptr_t)rec.ram_hva, "mmap: %s",
		    strerror(errno));
	ret = recover_vm(stash, &t, &rec, false);
	STAGE_CHECK(ret == -EFAULT,
		    "ADOPT_KVM over anonymous shared memory: %s, expected EFAULT",
		    strerror(-ret));
	STAGE_CHECK(!munmap(p, GUEST_RAM_SIZE), "munmap");
	STAGE_CHECK(!map_ram_at(&t, rec.ram_hva), "mmap: %s", strerror(errno));
	ret = adopt(stash);
	STAGE_CHECK(!ret, "ADOPT_KVM with the guest's RAM: %s", strerror(-ret));
	check_adopted_guest(&t, &rec);
	return KSFT_PASS;
}

/* A vfork child's new image: the parent's mm still runs the VM. */
static int stage_adopt_clone_vm(void)
{
	struct adopt_record rec;
	struct test_vm t;
	int stash = stage_open_stash();
	int ret;

	ret = recover_vm(stash, &t, &rec, true);
	STAGE_CHECK(ret == -EBUSY,
		    "ADOPT_KVM of a VM its old mm still runs: %s, expected EBUSY",
		    strerror(-ret));
	return KSFT_PASS;
}

/* Many exec -> adopt -> run generations of one VM: nothing may pile up. */
static int stage_adopt_cycle(void)
{
	struct adopt_record rec;
	struct test_vm t;
	int stash = stage_open_stash();
	int ret;

	/*
	 * Kept mms (odd cycles) keep the mappings; one in two of those is
	 * settled, the others end when the stash dies at close().
	 */
	STAGE_CHECK(!read_record(stash, &rec), "record");
	adopt_flags = 0;
	if (rec.cycle % 2 == 1)
		adopt_flags = CPRSTASH_ADOPT_KEEP_MAPPINGS;
	ret = recover_vm(stash, &t, &rec, true);
	STAGE_CHECK(!ret, "cycle %u: ADOPT_KVM: %s", rec.cycle, strerror(-ret));
	check_adopted_guest(&t, &rec);
	STAGE_CHECK(!cprstash_finish(stash), "finish");
	if (rec.cycle % 4 == 1)
		STAGE_CHECK(!cprstash_settle_kvm(stash, "vm"), "cycle %u: settle",
			    rec.cycle);
	close(stash);
	if (++rec.cycle == rec.cycles)
		return KSFT_PASS;

	rec.counter++;
	rec.expect_irq = 0;
	STAGE_CHECK(!ioctl(t.vcpu, KVM_GET_REGS, &rec.regs), "KVM_GET_REGS");
	stash_and_exec(&t, &rec, "adopt_cycle");
	return KSFT_FAIL;
}

/* Start a VM, run it to its first report and prepare the record. */
static void start_vm(struct __test_metadata *_metadata, struct test_vm *t,
		     struct adopt_record *rec)
{
	ASSERT_EQ(0, test_vm_create(t));
	ASSERT_EQ(1, vcpu_run_to_report(t));
	memset(rec, 0, sizeof(*rec));
	rec->ram_hva = (uintptr_t)t->ram;
	rec->vm_fd = t->vm;
	rec->pattern_seed = 0xada0;
	rec->counter = 1;
	guest_fill_pattern(t->ram, rec->pattern_seed);
	ASSERT_EQ(0, ioctl(t->vcpu, KVM_GET_REGS, &rec->regs));
}

#define REQUIRE_ADOPT() do {						\
	if (!cprstash_available())					\
		SKIP(return, "no " CPRSTASH_DEVICE " (module not loaded)"); \
	if (!kvm_available())						\
		SKIP(return, "no /dev/kvm");				\
} while (0)

/*
 * The VM is created in a child so that the exec'ing process is its own,
 * with its own mm: the harness's test process stays out of the way.
 */
static pid_t last_child;

static int in_child(int (*fn)(struct __test_metadata *), struct __test_metadata *m)
{
	int status;
	pid_t pid = fork();

	last_child = pid;

	if (pid == 0)
		exit(fn(m));
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* How a VM is started and which post-exec stage takes it over. */
struct exec_case {
	const char *stage;
	uint32_t cycle;		/* odd: sealed with CPRSTASH_SEAL_KEEP_MM */
	uint32_t cycles;
	bool queue_irq;
	bool rom;		/* with a ROM slot from a read-only fd */
	bool probe;		/* the guest reads its RAM before exec */
};

static const struct exec_case *exec_case;

static int start_and_exec(struct __test_metadata *_metadata)
{
	struct adopt_record rec;
	struct test_vm t;

	start_vm(_metadata, &t, &rec);
	if (exec_case->rom) {
		ASSERT_EQ(0, test_vm_add_rom(&t));
		rec.rom_hva = (uintptr_t)t.rom_map;
	}
	if (exec_case->queue_irq) {
		EXPECT_EQ(0, vcpu_queue_irq(&t));
		rec.expect_irq = 1;
	}
	if (exec_case->probe) {
		struct kvm_sregs sregs;

		ASSERT_EQ(0, ioctl(t.vcpu, KVM_GET_SREGS, &sregs));
		ASSERT_EQ(0, guest_probe_errors(&t, rec.pattern_seed));
		ASSERT_EQ(0, ioctl(t.vcpu, KVM_SET_SREGS, &sregs));
		ASSERT_EQ(0, ioctl(t.vcpu, KVM_SET_REGS, &rec.regs));
		/*
		 * The probes consumed the pending `out`'s completion: run
		 * it again (it reports the same count) to leave the vCPU
		 * as start_vm() did.
		 */
		ASSERT_EQ(rec.counter, vcpu_run_to_report(&t));
		rec.pages_4k = vm_debugfs_read(t.vm, "pages_4k");
		for (uint64_t gpa = GUEST_PROBE_FIRST; gpa < GUEST_PROBE_END &&
		     rec.nr_pfns < ARRAY_SIZE(rec.pfns); gpa += 13 * 4096)
			if (gpa != GUEST_REPLACED)
				rec.pfns[rec.nr_pfns++] = page_pfn(t.ram + gpa);
	}
	rec.cycle = exec_case->cycle;
	rec.cycles = exec_case->cycles;
	rec.tlb_flushes = vm_debugfs_read(t.vm, "remote_tlb_flush_requests");
	stash_and_exec(&t, &rec, exec_case->stage);
	return KSFT_FAIL;
}

static int run_exec_case(struct __test_metadata *m, const struct exec_case *c)
{
	exec_case = c;
	return in_child(start_and_exec, m);
}

TEST(adopt_after_exec_keeps_registers_memory_and_pending_irq)
{
	static const struct exec_case c = { .stage = "adopt", .queue_irq = true };

	REQUIRE_ADOPT();
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
}

/* SEAL_KEEP_MM: the old mm outlives exec; adopt takes the VM from it. */
TEST(adopt_after_exec_from_kept_mm)
{
	static const struct exec_case c = { .stage = "adopt", .cycle = 1 };

	REQUIRE_ADOPT();
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
}

/*
 * KEEP_MAPPINGS: no zap at adopt nor at settle; a page the VMM replaces
 * and pages compaction moves are read by the guest as the VMM has them.
 */
TEST(adopt_keep_mappings_guest_reads_what_its_vmm_maps)
{
	static const struct exec_case c = { .stage = "adopt_keep", .cycle = 1,
					    .probe = true };

	REQUIRE_ADOPT();
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
}

/* Without SEAL_KEEP_MM there is nothing to keep: a plain adoption. */
TEST(adopt_keep_mappings_without_kept_mm)
{
	static const struct exec_case c = { .stage = "adopt_keep",
					    .probe = true };

	REQUIRE_ADOPT();
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
}

static bool kvm_has_vm_of(pid_t pid);

/* The new image exits without SETTLE: the stash's end ends the adoption. */
TEST(adopt_keep_mappings_exit_before_settle)
{
	static const struct exec_case c = { .stage = "adopt_keep_exit",
					    .cycle = 1 };
	bool vm_left = true;

	REQUIRE_ADOPT();
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
	for (int waited_ms = 0; vm_left && waited_ms < LIVENESS_MS; waited_ms += 50) {
		vm_left = kvm_has_vm_of(last_child);
		if (vm_left)
			usleep(50000);
	}
	EXPECT_FALSE(vm_left);
}

TEST(adopt_refused_until_guest_ram_is_mapped)
{
	static const struct exec_case c = { .stage = "adopt_unmapped" };

	REQUIRE_ADOPT();
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
}

/* PRESERVE recorded the ROM's backing with VM_MAYSHARE, not VM_SHARED. */
TEST(adopt_with_rom_slot_mapped_from_read_only_fd)
{
	static const struct exec_case c = { .stage = "adopt", .rom = true };

	REQUIRE_ADOPT();
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
}

TEST(adopt_refused_for_anonymous_shared_memory)
{
	static const struct exec_case c = { .stage = "adopt_anon_shared" };

	REQUIRE_ADOPT();
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
}

/*
 * The VM's creator vfork()s; the child preserves the VM (same mm, so it
 * is the child's to preserve) and execs.  Its new image must not take the
 * VM from the parent, which then still runs its guest.
 */
static int vfork_and_exec(struct __test_metadata *_metadata)
{
	struct adopt_record rec;
	struct test_vm t;
	int status;
	pid_t pid;

	start_vm(_metadata, &t, &rec);
	rec.cycle = exec_case->cycle;
	pid = vfork();
	if (pid == 0)
		stash_and_exec(&t, &rec, "adopt_clone_vm");	/* no return */
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS);
	EXPECT_EQ(rec.counter + 1, vcpu_run_to_report(&t))
		TH_LOG("the parent's VM no longer runs");
	return _metadata->exit_code ? KSFT_FAIL : KSFT_PASS;
}

TEST(adopt_refused_while_vfork_parent_runs)
{
	static const struct exec_case c = { .stage = "adopt_clone_vm" };

	REQUIRE_ADOPT();
	exec_case = &c;
	ASSERT_EQ(KSFT_PASS, in_child(vfork_and_exec, _metadata));
}

/* The child sealed with KEEP_MM: the stash's own reference is not enough. */
TEST(adopt_refused_while_vfork_parent_runs_kept_mm)
{
	static const struct exec_case c = { .stage = "adopt_clone_vm",
					    .cycle = 1 };

	REQUIRE_ADOPT();
	exec_case = &c;
	ASSERT_EQ(KSFT_PASS, in_child(vfork_and_exec, _metadata));
}

/* KVM does not drop Xen's pfn caches at ->release: never kept across exec. */
TEST(preserve_refused_for_xen_vm)
{
	struct kvm_xen_hvm_config xen = { .msr = 0x40000200 };
	struct test_vm t;
	int stash;

	REQUIRE_ADOPT();
	ASSERT_EQ(0, test_vm_create(&t));
	if (ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM) <= 0 ||
	    ioctl(t.vm, KVM_XEN_HVM_CONFIG, &xen))
		SKIP(return, "no KVM Xen emulation");
	stash = cprstash_open(false);
	ASSERT_LE(0, stash);
	EXPECT_EQ(-EOPNOTSUPP, cprstash_preserve_fd(stash, t.vm, "vm", NULL));
	EXPECT_EQ(0, cprstash_preserve_fd(stash, t.vcpu, "vcpu0", NULL));
}

static long slab_active_objects(const char *cache)
{
	char line[512], name[128];
	long active = -1, n;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", name, &n) == 2 && !strcmp(name, cache))
			active = n;
	fclose(f);
	return active;
}

/* KVM names each VM's debugfs directory "<pid>-<vm fd>". */
static bool kvm_has_vm_of(pid_t pid)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "ls /sys/kernel/debug/kvm 2>/dev/null | grep -q '^%d-'", pid);
	return system(cmd) == 0;
}

/*
 * 200 generations, each adopting the VM the previous one stashed, every
 * other one from a kept mm.  Each adoption must drop the previous mm:
 * mm_struct objects must not pile up, and the VM must be gone once the
 * last generation exits.
 */
TEST(adopt_200_cycles_leak_nothing)
{
	static const struct exec_case c = { .stage = "adopt_cycle", .cycles = 200 };
	long mm_before, mm_after;
	bool vm_left = true;

	REQUIRE_ADOPT();
	mm_before = slab_active_objects("mm_struct");
	ASSERT_EQ(KSFT_PASS, run_exec_case(_metadata, &c));
	mm_after = slab_active_objects("mm_struct");
	/* The last generation exited: its VM must go (teardown is deferred). */
	for (int waited_ms = 0; vm_left && waited_ms < LIVENESS_MS; waited_ms += 50) {
		vm_left = kvm_has_vm_of(last_child);
		if (vm_left)
			usleep(50000);
	}
	EXPECT_FALSE(vm_left);
	if (mm_before >= 0 && mm_after >= 0)
		EXPECT_LT(mm_after - mm_before, 50) {
			TH_LOG("mm_struct objects %ld -> %ld over 200 adoptions",
			       mm_before, mm_after);
		}
}

struct running_vcpu {
	struct test_vm *t;
	volatile bool stop;
};

static void *vcpu_spin(void *arg)
{
	struct running_vcpu *r = arg;

	while (!r->stop && vcpu_run_to_report(r->t) > 0)
		;
	return NULL;
}

static void noop_signal(int sig)
{
	(void)sig;
}

/* While a vCPU is in KVM_RUN: EBUSY.  Once it is out: EALREADY (our mm). */
TEST(adopt_refused_while_vcpu_runs)
{
	struct running_vcpu r = { 0 };
	struct test_vm t;
	pthread_t thread;
	int stash, ret = 0;

	REQUIRE_ADOPT();
	ASSERT_EQ(0, test_vm_create(&t));
	stash = cprstash_open(false);
	ASSERT_LE(0, stash);
	ASSERT_EQ(0, cprstash_preserve_fd(stash, t.vm, "vm", NULL));
	signal(SIGUSR1, noop_signal);

	r.t = &t;
	ASSERT_EQ(0, pthread_create(&thread, NULL, vcpu_spin, &r));
	for (int i = 0; i < 1000; i++) {	/* until we catch it inside */
		ret = adopt(stash);
		if (ret == -EBUSY)
			break;
		usleep(1000);
	}
	EXPECT_EQ(-EBUSY, ret);
	r.stop = true;
	t.run->immediate_exit = 1;
	pthread_kill(thread, SIGUSR1);
	pthread_join(thread, NULL);
	EXPECT_EQ(-EALREADY, adopt(stash));
}

/*
 * A VM created by another process is not ours to take, even once we hold
 * its fd (SCM_RIGHTS) and its creator has exited: EPERM, and it stays
 * useless (EIO) to us.
 */
static void adopt_foreign_vm(struct __test_metadata *_metadata,
			     bool creator_exits)
{
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	int sv[2], stash, vm = -1, status;
	struct test_vm t;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

		if (test_vm_create(&t))
			exit(1);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &t.vm, sizeof(int));
		if (sendmsg(sv[1], &msg, 0) != 1)
			exit(1);
		if (!creator_exits)	/* live until the parent is done */
			(void)!read(sv[1], &byte, 1);
		exit(0);
	}
	ASSERT_EQ(1, recvmsg(sv[0], &msg, 0));
	memcpy(&vm, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	if (creator_exits)
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
	stash = cprstash_open(false);
	ASSERT_LE(0, stash);
	ASSERT_EQ(0, cprstash_preserve_fd(stash, vm, "vm", NULL));
	EXPECT_EQ(-EPERM, adopt(stash));
	EXPECT_EQ(-1, ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY));
	EXPECT_EQ(EIO, errno);
	if (!creator_exits) {
		ASSERT_EQ(1, write(sv[0], &byte, 1));
		waitpid(pid, &status, 0);
	}
}

TEST(adopt_refused_for_vm_of_live_process)
{
	REQUIRE_ADOPT();
	adopt_foreign_vm(_metadata, false);
}

TEST(adopt_refused_for_vm_of_dead_process)
{
	REQUIRE_ADOPT();
	adopt_foreign_vm(_metadata, true);
}

/* Only the owner may adopt: through an inherited fd there is no stash. */
TEST(adopt_refused_from_another_process)
{
	struct test_vm t;
	int stash, status;
	pid_t pid;

	REQUIRE_ADOPT();
	ASSERT_EQ(0, test_vm_create(&t));
	stash = cprstash_open(false);
	ASSERT_LE(0, stash);
	ASSERT_EQ(0, cprstash_preserve_fd(stash, t.vm, "vm", NULL));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		exit(adopt(stash) == -ENOENT ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Things that are not a KVM VM are refused with EINVAL, unknown names ENOENT. */
TEST(adopt_refused_for_other_entries)
{
	struct cprstash_adopt_kvm arg = { .size = sizeof(arg), .name = "rec" };
	int stash, memfd;

	if (!cprstash_available())
		SKIP(return, "no " CPRSTASH_DEVICE " (module not loaded)");
	stash = cprstash_open(false);
	ASSERT_LE(0, stash);
	memfd = memfd_create("not-a-vm", MFD_CLOEXEC);
	ASSERT_EQ(0, cprstash_preserve_fd(stash, memfd, "vm", NULL));
	ASSERT_EQ(0, cprstash_put_record(stash, "rec", "x", 1));
	EXPECT_EQ(-EINVAL, adopt(stash));
	EXPECT_EQ(-1, ioctl(stash, CPRSTASH_IOC_ADOPT_KVM, &arg));
	EXPECT_EQ(EINVAL, errno);
	strcpy(arg.name, "nope");
	EXPECT_EQ(-1, ioctl(stash, CPRSTASH_IOC_ADOPT_KVM, &arg));
	EXPECT_EQ(ENOENT, errno);
	arg.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(stash, CPRSTASH_IOC_ADOPT_KVM, &arg));
	EXPECT_EQ(EINVAL, errno);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--stage")) {
		if (!strcmp(argv[2], "adopt"))
			return stage_adopt();
		if (!strcmp(argv[2], "adopt_keep"))
			return stage_adopt_keep();
		if (!strcmp(argv[2], "adopt_keep_exit"))
			return stage_adopt_keep_exit();
		if (!strcmp(argv[2], "adopt_unmapped"))
			return stage_adopt_unmapped();
		if (!strcmp(argv[2], "adopt_cycle"))
			return stage_adopt_cycle();
		if (!strcmp(argv[2], "adopt_anon_shared"))
			return stage_adopt_anon_shared();
		if (!strcmp(argv[2], "adopt_clone_vm"))
			return stage_adopt_clone_vm();
		return KSFT_FAIL;
	}
	return test_harness_run(argc, argv);
}
