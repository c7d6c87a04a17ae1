// SPDX-License-Identifier: GPL-2.0
/*
 * upgrade-floor: the least an exec-based live upgrade of a KVM VMM can
 * cost on this machine, measured with nothing else in the way.
 *
 * Every upgrade mode pays for one execve() whose old image had guest RAM
 * mapped; the modes that re-create the VM (rebuild, cloexec) also pay for
 * a new VM whose vCPUs run again.  This tool does only that:
 *
 *   old image   maps a memfd of guest RAM (MAP_SHARED, every page touched
 *               or not, as the VMM's --touch-ram), starts an mm keeper
 *               like the VMM's (vmm/upgrade/keeper.c) so that exec does
 *               not tear the mapping down, and execs itself (static);
 *   new image   KVM_CREATE_VM + in-kernel irqchip, maps the same memfd,
 *               one memslot over it, N vCPUs each on its own thread
 *               running a one-instruction real-mode guest ("out") until
 *               its first exit.
 *
 *   exec_us   execve() -> the new image's main()          (every mode)
 *   vm_us     main() -> the last vCPU's first guest exit
 *   floor_us  exec_us + vm_us of one run                  (rebuild, cloexec)
 *
 * One warm-up run (cold caches, first VM of the process tree), printed
 * apart, then the median of RUNS.  CLOCK_MONOTONIC is system-wide, so the
 * old image's exec time and the new image's clock share one time line.
 * The last line is the result as one JSON object.  Exits 77 (skip) when
 * /dev/kvm cannot be opened.
 *
 * --no-keeper execs without the keeper, to see what it saves: exec then
 * unmaps all of the old image's guest-RAM mapping itself.
 *
 * usage: upgrade-floor [--mem SIZE (1G)] [--cpus N (2)] [--touch-ram]
 *                      [--runs N (5)] [--no-keeper]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/mm_keeper.h"

#define MAX_CPUS		64
#define MAX_RUNS		1000
#define PAGE_SIZE		4096
/* Where the VMM puts it; only VMX without unrestricted guest needs one. */
#define TSS_ADDR		0xfffbd000UL
#define GUEST_PORT		0xf4
#define SKIP_EXIT		77

/* What the new image measured, sent to the driver through a pipe. */
struct floor_result {
	uint64_t exec_ns;	/* execve() -> main() */
	uint64_t create_ns;	/* main() -> VM and irqchip created */
	uint64_t memslot_ns;	/* -> guest RAM mapped, memslot set */
	uint64_t vcpus_ns;	/* -> the last vCPU's first exit */
};

struct floor_cfg {
	uint64_t mem;
	unsigned int cpus;
	unsigned int runs;
	bool touch;
	bool no_keeper;
};

/* Taken first thing in main(): the new image's start. */
static uint64_t t_main;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int fail(const char *what)
{
	fprintf(stderr, "upgrade-floor: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t vm_ns(const struct floor_result *r)
{
	return r->create_ns + r->memslot_ns + r->vcpus_ns;
}

static uint64_t floor_ns(const struct floor_result *r)
{
	return r->exec_ns + vm_ns(r);
}

/* ---- the old image ------------------------------------------------------ */

/* "out %al, $GUEST_PORT" at guest physical 0, where every vCPU starts. */
static void put_guest_code(uint8_t *ram)
{
	ram[0] = 0xe6;
	ram[1] = GUEST_PORT;
}

/* Write every page once, like the built-in guest's --touch-ram sweep. */
static void touch_ram(volatile uint8_t *ram, uint64_t bytes)
{
	for (uint64_t off = 0; off < bytes; off += PAGE_SIZE)
		ram[off] = 1;
}

/* Child of the driver: become the old image, then exec the new one. */
static int old_image(const struct floor_cfg *cfg, int memfd, int result_fd)
{
	char a_memfd[16], a_mem[24], a_cpus[16], a_keeper[16], a_pid[16], a_res[16], a_t[24];
	struct mm_keeper keeper = { .fd = -1 };
	uint8_t *ram;

	ram = mmap(NULL, cfg->mem, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED)
		return fail("mmap guest RAM");
	if (cfg->touch)
		touch_ram(ram, cfg->mem);
	put_guest_code(ram);
	/* Not inherited by exec's own teardown: the keeper holds the old mm. */
	if (!cfg->no_keeper && mm_keeper__start(&keeper))
		return fail("mm keeper");
	if (keeper.fd >= 0 && fcntl(keeper.fd, F_SETFD, 0) < 0)
		return fail("mm keeper fd");

	snprintf(a_memfd, sizeof(a_memfd), "%d", memfd);
	snprintf(a_mem, sizeof(a_mem), "%llu", (unsigned long long)cfg->mem);
	snprintf(a_cpus, sizeof(a_cpus), "%u", cfg->cpus);
	snprintf(a_keeper, sizeof(a_keeper), "%d", keeper.fd);
	snprintf(a_pid, sizeof(a_pid), "%d", (int)keeper.pid);
	snprintf(a_res, sizeof(a_res), "%d", result_fd);
	/* Last, right before the exec: what exec_us starts from. */
	snprintf(a_t, sizeof(a_t), "%llu", (unsigned long long)now_ns());
	execl("/proc/self/exe", "upgrade-floor", "--new-image", a_memfd, a_mem, a_cpus,
	      a_keeper, a_pid, a_res, a_t, (char *)NULL);
	return fail("execve /proc/self/exe");
}

/* ---- the new image ------------------------------------------------------ */

struct floor_vcpu {
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	uint64_t t_exit;
	int err;
};

/* Real mode at guest physical 0; the APs runnable without INIT/SIPI. */
static int vcpu_setup(int fd, unsigned int id)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct kvm_regs regs = { .rip = 0, .rflags = 0x2 };
	struct kvm_sregs sregs;

	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(fd, KVM_SET_REGS, &regs) < 0)
		return -1;
	/* With the in-kernel irqchip an AP would wait for a SIPI. */
	if (id && ioctl(fd, KVM_SET_MP_STATE, &mp) < 0)
		return -1;
	return 0;
}

/* Until the guest's first exit to us: its "out". */
static void *vcpu_thread(void *arg)
{
	struct floor_vcpu *v = arg;

	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			v->err = errno;
			break;
		}
		v->t_exit = now_ns();
		if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != GUEST_PORT)
			v->err = EPROTO;
		break;
	}
	return NULL;
}

/* Create every vCPU on this thread, then run each on its own, as the VMM. */
static int run_vcpus(int vm, int run_size, unsigned int cpus, struct floor_vcpu *v,
		     uint64_t *t_last)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < cpus; i++) {
		v[i].fd = ioctl(vm, KVM_CREATE_VCPU, (unsigned long)i);
		if (v[i].fd < 0)
			return fail("KVM_CREATE_VCPU");
		v[i].run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v[i].fd, 0);
		if (v[i].run == MAP_FAILED)
			return fail("mmap kvm_run");
		if (vcpu_setup(v[i].fd, i))
			return fail("vCPU registers");
	}
	for (i = 0; i < cpus; i++) {
		errno = pthread_create(&v[i].thread, NULL, vcpu_thread, &v[i]);
		if (errno)
			return fail("pthread_create");
	}
	*t_last = 0;
	for (i = 0; i < cpus; i++) {
		pthread_join(v[i].thread, NULL);
		if (v[i].err) {
			errno = v[i].err;
			ret = fail("vCPU's first KVM_RUN");
		}
		if (v[i].t_exit > *t_last)
			*t_last = v[i].t_exit;
	}
	return ret;
}

/*
 * The VM a rebuild or cloexec upgrade needs before its guest runs again:
 * the in-kernel irqchip (the VMM has one; without it each vCPU flips a
 * KVM static key, and code patching under TCG has oopsed the test VM).
 */
static int new_vm(int *kvm, int *vm)
{
	*kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (*kvm < 0)
		return fail("/dev/kvm");
	*vm = ioctl(*kvm, KVM_CREATE_VM, 0);
	if (*vm < 0)
		return fail("KVM_CREATE_VM");
	ioctl(*vm, KVM_SET_TSS_ADDR, TSS_ADDR);		/* ignored but on VMX */
	if (ioctl(*vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	return 0;
}

static int set_memslot(int vm, int memfd, uint64_t bytes)
{
	struct kvm_userspace_memory_region region = { .memory_size = bytes };
	void *ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);

	if (ram == MAP_FAILED)
		return fail("mmap guest RAM");
	region.userspace_addr = (unsigned long)ram;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	return 0;
}

/*
 * After the guest ran: the old address space goes in the keeper's exit,
 * off the measured path.  Wait for it, so that the next run does not
 * overlap the teardown of this one's.
 */
static void keeper_release(int keeper_fd, pid_t keeper)
{
	if (keeper_fd < 0)
		return;
	close(keeper_fd);
	while (waitpid(keeper, NULL, __WALL) < 0 && errno == EINTR)
		;
}

/* argv: --new-image MEMFD BYTES CPUS KEEPER_FD KEEPER_PID RESULT_FD T_EXEC */
static int new_image(char **argv)
{
	struct floor_vcpu vcpus[MAX_CPUS] = { 0 };
	struct floor_result r = { 0 };
	int memfd = atoi(argv[2]), keeper_fd = atoi(argv[5]), result_fd = atoi(argv[7]);
	uint64_t bytes = strtoull(argv[3], NULL, 0), t_exec = strtoull(argv[8], NULL, 0);
	unsigned int cpus = atoi(argv[4]);
	uint64_t t_created, t_slot, t_last = 0;
	int kvm = -1, vm = -1, run_size, ret = 1;

	r.exec_ns = t_main - t_exec;
	if (new_vm(&kvm, &vm))
		goto out;
	t_created = now_ns();
	if (set_memslot(vm, memfd, bytes))
		goto out;
	t_slot = now_ns();
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0) {
		fail("KVM_GET_VCPU_MMAP_SIZE");
		goto out;
	}
	if (run_vcpus(vm, run_size, cpus, vcpus, &t_last))
		goto out;
	r.create_ns = t_created - t_main;
	r.memslot_ns = t_slot - t_created;
	r.vcpus_ns = t_last - t_slot;
	if (write(result_fd, &r, sizeof(r)) != sizeof(r)) {
		fail("result pipe");
		goto out;
	}
	ret = 0;
out:
	/* Our own VM goes at exit; the old address space goes first, as in the VMM. */
	keeper_release(keeper_fd, atoi(argv[6]));
	return ret;
}

/* ---- the driver --------------------------------------------------------- */

/* One upgrade's worth: fork the old image, read what its new image sent. */
static int one_run(const struct floor_cfg *cfg, int memfd, struct floor_result *r)
{
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd) < 0)
		return fail("pipe");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		close(pipefd[0]);
		_exit(old_image(cfg, memfd, pipefd[1]));
	}
	close(pipefd[1]);
	n = read(pipefd[0], r, sizeof(*r));
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(*r) || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "upgrade-floor: a run failed (see above)\n");
		return 1;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median of one field over the runs, in µs. */
static uint64_t median_us(const struct floor_result *r, unsigned int n,
			  uint64_t (*field)(const struct floor_result *))
{
	static uint64_t v[MAX_RUNS];
	unsigned int i;

	for (i = 0; i < n; i++)
		v[i] = field(&r[i]);
	qsort(v, n, sizeof(v[0]), cmp_u64);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000;
}

static uint64_t f_exec(const struct floor_result *r) { return r->exec_ns; }
static uint64_t f_create(const struct floor_result *r) { return r->create_ns; }
static uint64_t f_memslot(const struct floor_result *r) { return r->memslot_ns; }
static uint64_t f_vcpus(const struct floor_result *r) { return r->vcpus_ns; }

static void print_run(const char *name, const struct floor_result *r)
{
	printf("%-8s exec %6llu us  vm %6llu us (create %llu, memslot %llu, vCPUs %llu)  floor %6llu us\n",
	       name, (unsigned long long)r->exec_ns / 1000, (unsigned long long)vm_ns(r) / 1000,
	       (unsigned long long)r->create_ns / 1000, (unsigned long long)r->memslot_ns / 1000,
	       (unsigned long long)r->vcpus_ns / 1000, (unsigned long long)floor_ns(r) / 1000);
}

/* Human-readable medians, then the same as one JSON line. */
static void print_summary(const struct floor_cfg *cfg, const struct floor_result *warm,
			  const struct floor_result *r)
{
	unsigned int n = cfg->runs;
	unsigned long long exec = median_us(r, n, f_exec), vm = median_us(r, n, vm_ns),
			   fl = median_us(r, n, floor_ns);

	printf("median of %u: exec_us %llu vm_us %llu floor_us %llu\n", n, exec, vm, fl);
	printf("{\"mem_bytes\":%llu,\"cpus\":%u,\"touched\":%s,\"keeper\":%s,\"runs\":%u,"
	       "\"exec_us\":%llu,\"vm_us\":%llu,\"floor_us\":%llu,"
	       "\"create_us\":%llu,\"memslot_us\":%llu,\"vcpus_us\":%llu,"
	       "\"warmup\":{\"exec_us\":%llu,\"vm_us\":%llu,\"floor_us\":%llu}}\n",
	       (unsigned long long)cfg->mem, cfg->cpus, cfg->touch ? "true" : "false",
	       cfg->no_keeper ? "false" : "true", n,
	       exec, vm, fl, (unsigned long long)median_us(r, n, f_create),
	       (unsigned long long)median_us(r, n, f_memslot),
	       (unsigned long long)median_us(r, n, f_vcpus),
	       (unsigned long long)warm->exec_ns / 1000, (unsigned long long)vm_ns(warm) / 1000,
	       (unsigned long long)floor_ns(warm) / 1000);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);
	int shift = 0;

	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end || !v || v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: upgrade-floor [--mem SIZE (1G)] [--cpus N (2)] [--touch-ram] "
		"[--runs N (5)] [--no-keeper]\n");
	return status;
}

static int parse_args(int argc, char **argv, struct floor_cfg *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--touch-ram")) {
			cfg->touch = true;
		} else if (!strcmp(argv[i], "--no-keeper")) {
			cfg->no_keeper = true;
		} else if (!strcmp(argv[i], "--mem") && next) {
			if (parse_size(argv[++i], &cfg->mem) || cfg->mem % PAGE_SIZE)
				return -1;
		} else if (!strcmp(argv[i], "--cpus") && next) {
			cfg->cpus = atoi(argv[++i]);
			if (cfg->cpus < 1 || cfg->cpus > MAX_CPUS)
				return -1;
		} else if (!strcmp(argv[i], "--runs") && next) {
			cfg->runs = atoi(argv[++i]);
			if (cfg->runs < 1 || cfg->runs >= MAX_RUNS)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

static int driver(const struct floor_cfg *cfg)
{
	static struct floor_result r[MAX_RUNS];
	struct floor_result warm;
	int memfd, kvm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "upgrade-floor: skipped, /dev/kvm: %s\n", strerror(errno));
		return SKIP_EXIT;
	}
	close(kvm);
	/* Without MFD_CLOEXEC: it crosses every exec, as the VMM's does. */
	memfd = memfd_create("floor-guest-ram", 0);
	if (memfd < 0 || ftruncate(memfd, cfg->mem))
		return fail("memfd");
	printf("upgrade-floor: %llu MiB memfd%s, %u vCPU%s, %s; 1 warm-up + %u runs\n",
	       (unsigned long long)cfg->mem >> 20, cfg->touch ? ", every page touched" : "",
	       cfg->cpus, cfg->cpus > 1 ? "s" : "", cfg->no_keeper ? "NO mm keeper" : "mm keeper",
	       cfg->runs);
	fflush(stdout);
	if (one_run(cfg, memfd, &warm))
		return 1;
	print_run("warm-up", &warm);
	for (unsigned int i = 0; i < cfg->runs; i++) {
		char name[16];

		if (one_run(cfg, memfd, &r[i]))
			return 1;
		snprintf(name, sizeof(name), "run %u", i + 1);
		print_run(name, &r[i]);
	}
	print_summary(cfg, &warm, r);
	return 0;
}

int main(int argc, char **argv)
{
	struct floor_cfg cfg = { .mem = 1ULL << 30, .cpus = 2, .runs = 5 };

	t_main = now_ns();
	if (argc == 9 && !strcmp(argv[1], "--new-image"))
		return new_image(argv);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout, 0);
	if (parse_args(argc, argv, &cfg))
		return usage(stderr, 2);
	/* Output goes to a pipe in the benchmarks: keep the runs' order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return driver(&cfg);
}
