// SPDX-License-Identifier: GPL-2.0
/*
 * Save the whole VM as records and restore it into a fresh KVM VM in the
 * same process, keeping only guest RAM (the memfd):
 *   run the built-in guest -> pause -> save -> destroy the KVM VM ->
 *   create a new one on the same RAM -> restore -> the registers read back
 *   as saved -> resume -> every vCPU's counter continues from where it
 *   stopped, the guest TSC never went backwards, memory is intact.
 * Then a damaged stream is refused without touching the VM.
 *
 * usage: state_roundtrip [NR_CPUS]
 */
#include <string.h>

#include "testlib.h"
#include "vmm/state.h"
#include "vmm/vm.h"

static struct vm vm_a, vm_b;
static int nr_cpus;

static void wait_counters_above(struct vm *vm, const u64 *min)
{
	struct test_wait w;
	struct bg_slot s;
	int i, behind;

	for (test_wait_start(&w);;) {
		for (behind = 0, i = 0; i < nr_cpus; i++) {
			builtin_guest__read_slot(vm, i, &s);
			behind += s.counter <= min[i] || s.reports == 0;
		}
		if (!behind)
			return;
		TEST_ASSERT(vm->exit_reason == VM_EXIT_NONE, "VM ended: %s", vm->exit_msg);
		TEST_ASSERT(test_wait_more(&w), "%d vCPU counters did not advance", behind);
	}
}

int main(int argc, char **argv)
{
	struct vmm_config cfg = {
		.guest = GUEST_BUILTIN, .mem_size = 128 << 20,
		.nr_cpus = argc > 1 ? atoi(argv[1]) : 2, .report_ms = 5,
	};
	u64 zero[BG_MAX_VCPUS] = { 0 }, saved[BG_MAX_VCPUS];
	struct kvm_regs regs_saved, regs_restored;
	struct guest_mem mem;
	struct state_buf b;
	struct bg_slot s;
	char err[200];
	u64 t0, t1;
	int i, ret;

	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	nr_cpus = cfg.nr_cpus;

	/* A running guest. */
	TEST_ASSERT(vm__create(&vm_a, &cfg, NULL) == 0, "create VM A");
	TEST_ASSERT(vm__load_guest(&vm_a, NULL) == 0, "load guest");
	TEST_ASSERT(vm__start(&vm_a) == 0, "start VM A");
	wait_counters_above(&vm_a, zero);

	/* Pause and capture. */
	t0 = now_ns();
	vm__pause(&vm_a);
	state_buf__init(&b);
	ret = vm_state__save(&vm_a, &b);
	TEST_ASSERT(ret == 0, "save: %d", ret);
	TEST_ASSERT(state__validate(b.data, b.len, err, sizeof(err)) == 0,
		    "saved stream invalid: %s", err);
	for (i = 0; i < nr_cpus; i++) {
		builtin_guest__read_slot(&vm_a, i, &s);
		saved[i] = s.counter;
	}
	TEST_ASSERT(__kvm_ioctl_quiet(vm_a.vcpus[0].fd, KVM_GET_REGS, &regs_saved) == 0,
		    "get regs");

	/* Throw the KVM VM away, keep the RAM. */
	vm__stop(&vm_a);
	vm__release_mem(&vm_a, &mem);
	vm__destroy(&vm_a);

	/* A new KVM VM on the same RAM, state from the records. */
	TEST_ASSERT(vm__create(&vm_b, &cfg, &mem) == 0, "create VM B");
	ret = vm_state__restore(&vm_b, b.data, b.len, NULL);
	TEST_ASSERT(ret == 0, "restore: %d", ret);
	t1 = now_ns();
	TEST_ASSERT(__kvm_ioctl_quiet(vm_b.vcpus[0].fd, KVM_GET_REGS, &regs_restored) == 0,
		    "get regs");
	TEST_ASSERT(!memcmp(&regs_saved, &regs_restored, sizeof(regs_saved)),
		    "vCPU 0 registers differ after restore (rip %#llx vs %#llx)",
		    regs_saved.rip, regs_restored.rip);
	for (i = 0; i < nr_cpus; i++) {
		builtin_guest__read_slot(&vm_b, i, &s);
		TEST_ASSERT(s.counter == saved[i], "vCPU %d counter %llu in RAM, saved %llu",
			    i, (unsigned long long)s.counter, (unsigned long long)saved[i]);
	}
	TEST_ASSERT(builtin_guest__pattern_ok(&vm_b), "memory pattern damaged");

	/* The guest continues where it was. */
	TEST_ASSERT(vm__start(&vm_b) == 0, "start VM B");
	wait_counters_above(&vm_b, saved);
	vm__pause(&vm_b);
	for (i = 0; i < nr_cpus; i++) {
		builtin_guest__read_slot(&vm_b, i, &s);
		TEST_ASSERT(s.backwards == 0, "vCPU %d: TSC went backwards %llu times",
			    i, (unsigned long long)s.backwards);
		TEST_ASSERT(s.mem_errors == 0, "vCPU %d: memory pattern errors", i);
		TEST_ASSERT(vm_b.bg->host[i].regressions == 0,
			    "vCPU %d: counter regressed", i);
		printf("vCPU %d: counter %llu -> %llu, max guest gap %llu us\n", i,
		       (unsigned long long)saved[i], (unsigned long long)s.counter,
		       (unsigned long long)(s.max_gap * 1000 / vm_b.tsc_khz));
	}
	TEST_ASSERT(vm_b.exit_reason == VM_EXIT_NONE, "VM ended: %s", vm_b.exit_msg);
	printf("save+destroy+create+restore took %llu us, %zu bytes of records\n",
	       (unsigned long long)(t1 - t0) / 1000, b.len);

	/* A damaged stream is refused as a whole. */
	b.data[b.len - 16] ^= 0xff;	/* the END record's magic */
	TEST_ASSERT(vm_state__restore(&vm_b, b.data, b.len, NULL) != 0,
		    "restore accepted a damaged stream");
	TEST_ASSERT(vm_state__restore(&vm_b, b.data, 100, NULL) != 0,
		    "restore accepted a truncated stream");

	state_buf__free(&b);
	vm__destroy(&vm_b);
	printf("ok: %d vCPUs restored into a new VM and continued\n", nr_cpus);
	return 0;
}
