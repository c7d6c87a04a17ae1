// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-churn: flip KVM's static keys over and over inside the test VM, to
 * reproduce (or rule out) the "Oops: int3" that multi-threaded TCG gives
 * this kernel when it patches its own code.  A diagnostic, not a test: run
 * it by hand with scripts/testvm.sh --file (see the comment in testvm.sh).
 *
 * usage: kvm-churn MODE ITERATIONS
 *   noapic   create a VM without an in-kernel irqchip and one vCPU, close
 *            both: kvm_has_noapic_vcpu goes 0 -> 1 -> 0 (static_branch_inc
 *            and _dec, patched at once)
 *   lapic    the same with an in-kernel irqchip: apic_sw_disabled goes up
 *            at vCPU creation and down (deferred by HZ) at its release
 *   vm       create and close a VM, no vCPU: preempt_notifier_key
 * kvm-hold holds all of these keys (that is its job), so kill it first to
 * see them flip: "kill $(pidof kvm-hold)".  While the calling thread flips
 * on CPU 0, CPU 1 keeps running the code the flips patch: for noapic and
 * lapic a thread running a vCPU of its own through KVM_RUN (in-kernel
 * irqchip, its LAPIC software-enabled so that it holds no key, a real-mode
 * guest looping on an OUT); for vm two processes passing a byte back and
 * forth through pipes, i.e. context switches, which is where the preempt
 * notifiers are called.  Counts, never time, end it.
 *
 * Build and run (see the comment at the QEMU command line in testvm.sh):
 *   cc -static -O2 -pthread -o /tmp/kvm-churn scripts/testvm/kvm-churn.c
 *   scripts/testvm.sh --file /tmp/kvm-churn -- \
 *           'kill $(pidof kvm-hold); kvm-churn noapic 300'
 * With multi-threaded TCG, noapic and vm oopsed ("Oops: int3") in every
 * boot tried (7 and 2); lapic, whose key goes down at most once a second
 * (deferred), did not in 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define APIC_SPIV		0xf0
#define APIC_SPIV_APIC_ENABLED	(1u << 8)

static int kvm;
static atomic_bool stop;
/* Shared with the pipe workers, which are processes. */
static atomic_ulong *runs;

static void die(const char *what)
{
	fprintf(stderr, "kvm-churn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* mov al, 0; out 0x10, al; jmp -6 */
static const unsigned char guest_code[] = { 0xb0, 0x00, 0xe6, 0x10, 0xeb, 0xfa };

static void *kvm_worker(void *arg)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_lapic_state lapic;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct kvm_run *run;
	int vm, vcpu, size;
	uint32_t spiv;
	void *mem;

	(void)arg;
	pin(1);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("worker KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		die("worker KVM_CREATE_IRQCHIP");
	mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("worker mmap");
	memcpy(mem, guest_code, sizeof(guest_code));
	region.memory_size = 0x10000;
	region.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("worker KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("worker KVM_CREATE_VCPU");
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("worker mmap kvm_run");
	/* Software-enable the LAPIC: this vCPU must not hold apic_sw_disabled. */
	if (ioctl(vcpu, KVM_GET_LAPIC, &lapic))
		die("worker KVM_GET_LAPIC");
	memcpy(&spiv, &lapic.regs[APIC_SPIV], sizeof(spiv));
	spiv |= APIC_SPIV_APIC_ENABLED;
	memcpy(&lapic.regs[APIC_SPIV], &spiv, sizeof(spiv));
	if (ioctl(vcpu, KVM_SET_LAPIC, &lapic))
		die("worker KVM_SET_LAPIC");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("worker KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		die("worker KVM_SET_SREGS");
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		die("worker KVM_SET_REGS");

	while (!atomic_load(&stop)) {
		if (ioctl(vcpu, KVM_RUN, 0) && errno != EINTR)
			die("worker KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "kvm-churn: worker exit reason %u\n",
				run->exit_reason);
			exit(1);
		}
		atomic_fetch_add(runs, 1);
	}
	return NULL;
}

/* Two processes on CPU 1 handing a byte back and forth; killed at the end. */
static pid_t pipe_workers(void)
{
	int ab[2], ba[2];
	char c = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid > 0)
		return pid;
	setpgid(0, 0);
	pin(1);
	if (pipe(ab) || pipe(ba))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	for (;;) {
		if (pid == 0) {
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				die("pipe worker");
		} else {
			if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
				die("pipe worker");
			atomic_fetch_add(runs, 1);
		}
	}
}

int main(int argc, char **argv)
{
	pthread_t thread;
	pid_t workers = 0;
	unsigned long i, n;
	const char *mode;

	if (argc != 3) {
		fprintf(stderr, "usage: kvm-churn noapic|lapic|vm ITERATIONS\n");
		return 2;
	}
	mode = argv[1];
	n = strtoul(argv[2], NULL, 0);
	if (strcmp(mode, "noapic") && strcmp(mode, "lapic") && strcmp(mode, "vm")) {
		fprintf(stderr, "kvm-churn: unknown mode %s\n", mode);
		return 2;
	}
	runs = mmap(NULL, sizeof(*runs), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (runs == MAP_FAILED)
		die("mmap");
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm");

	if (!strcmp(mode, "vm"))
		workers = pipe_workers();
	else if (pthread_create(&thread, NULL, kvm_worker, NULL))
		die("pthread_create");
	/* Start flipping only once the worker runs. */
	while (atomic_load(runs) == 0)
		sched_yield();
	pin(0);

	for (i = 0; i < n; i++) {
		int vm = ioctl(kvm, KVM_CREATE_VM, 0), vcpu;

		if (vm < 0)
			die("KVM_CREATE_VM");
		if (!strcmp(mode, "lapic") && ioctl(vm, KVM_CREATE_IRQCHIP, 0))
			die("KVM_CREATE_IRQCHIP");
		if (strcmp(mode, "vm")) {
			vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
			if (vcpu < 0)
				die("KVM_CREATE_VCPU");
			close(vcpu);
		}
		close(vm);
		if ((i + 1) % 100 == 0)
			printf("kvm-churn: %s: %lu of %lu, worker %lu rounds\n",
			       mode, i + 1, n, atomic_load(runs));
	}
	if (workers) {
		kill(-workers, SIGKILL);
		waitpid(workers, NULL, 0);
	} else {
		atomic_store(&stop, 1);
		pthread_join(thread, NULL);
	}
	printf("kvm-churn: %s: %lu iterations done, worker %lu rounds\n", mode,
	       n, atomic_load(runs));
	return 0;
}
