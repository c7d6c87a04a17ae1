// SPDX-License-Identifier: GPL-2.0
/*
 * End to end: the vmm binary runs the built-in guest on /dev/kvm with
 * several vCPUs and is driven over its control socket.
 *   boots -> every vCPU's counter advances -> pause freezes every counter
 *   (status shows each paused vCPU in the guest's code)
 *   -> resume makes them advance again -> bad requests get error replies
 *   while the guest keeps running -> quit ends the VMM with status 0.
 * Throughout: the guest's TSC never stepped back, its memory pattern
 * stayed intact and the host saw no counter regression.
 * Then a one-vCPU VMM whose guest's IDT and code are overwritten from
 * outside: the guest triple-faults, the VMM exits 0 (a reset, as with
 * -no-reboot) and names the tables that changed under the guest.
 *
 * usage: e2e_builtin VMM_BINARY [NR_CPUS [MEM [--hugepages]]]
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/builtin_guest.h"

#define MAX_CPUS 64

static int nr_cpus;

/* Free 2 MiB huge pages in the host's pool. */
static unsigned long free_hugepages(void)
{
	unsigned long n = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %lu", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

static void read_counters(int fd, unsigned long long *c, const char *state)
{
	test_read_counters(fd, nr_cpus, c, state, 0);
}

static void wait_all_above(int fd, const unsigned long long *min, unsigned long long *now)
{
	test_wait_counters_above(fd, nr_cpus, min, now, 0);
}

/* Paused, every vCPU's registers are in "status": each runs the guest's code. */
static void expect_paused_in_code(int fd)
{
	struct json_object *st = test_request(fd, "status");
	unsigned long long rip;
	int i;

	for (i = 0; i < nr_cpus; i++) {
		rip = test_u64(test_vcpu(st, i), "rip");
		TEST_ASSERT(rip >= BG_CODE_GPA && rip < BG_CODE_GPA + BG_CODE_MAX,
			    "vCPU %d paused at rip %#llx, outside the guest's code", i, rip);
	}
	json_object_put(st);
}

/*
 * A guest whose RAM changes under it: a zeroed IDT and int3 all over its
 * code make the next instruction a fault that cannot be delivered.
 */
static void expect_triple_fault_diagnosed(const char *vmm)
{
	char sock[300], log[300];
	unsigned long long before[1], now[1];
	unsigned char *ram;
	struct test_wait w;
	int fd, memfd, status = -1;

	snprintf(sock, sizeof(sock), "%s/fault.sock", test_tmpdir());
	snprintf(log, sizeof(log), "%s/fault.err", test_tmpdir());
	char *vmm_argv[] = { (char *)vmm, "--guest", "builtin", "--cpus", "1",
			     "--mem", "64M", "--control", sock, "--report-ms", "5", NULL };
	test_spawn_vmm(vmm_argv, NULL, log);
	fd = test_connect(sock);
	before[0] = 0;
	test_wait_counters_above(fd, 1, before, now, 0);
	close(fd);

	ram = test_map_guest_ram(test_vmm_pid, 0, BG_TSS_GPA, &memfd);
	memset(ram + BG_IDT_GPA, 0, 0x1000);
	memset(ram + BG_CODE_GPA, 0xcc, BG_CODE_MAX);
	munmap(ram, BG_TSS_GPA);
	close(memfd);

	for (test_wait_start(&w);;) {
		pid_t r = waitpid(test_vmm_pid, &status, WNOHANG);

		if (r == test_vmm_pid)
			break;
		TEST_ASSERT(test_wait_more(&w), "the guest ran on without its IDT and code");
	}
	test_vmm_pid = 0;
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "a triple fault: the VMM exited with status %#x, expected 0", status);
	TEST_ASSERT(test_file_has(log, "triple fault (guest reset)"),
		    "the VMM's log does not name the triple fault");
	TEST_ASSERT(test_file_has(log, "triple fault: its IDT changed under it") &&
		    test_file_has(log, "triple fault: its code changed under it"),
		    "the VMM did not say which tables changed under the guest");
	TEST_ASSERT(!test_file_has(log, "its GDT changed") &&
		    !test_file_has(log, "its page tables changed"),
		    "the VMM named tables that were not changed");
	printf("ok: a triple fault ends the VM, the changed IDT and code are named\n");
}

int main(int argc, char **argv)
{
	unsigned long long zero[MAX_CPUS] = { 0 }, a[MAX_CPUS], b[MAX_CPUS], c[MAX_CPUS];
	const char *mem = argc > 3 ? argv[3] : "128M";
	int hugepages = argc > 4 && !strcmp(argv[4], "--hugepages");
	char sock[300], log[300], cpus[16];
	struct json_object *r, *st;
	int fd, i;

	TEST_ASSERT(argc >= 2, "usage: %s VMM [NR_CPUS [MEM]]", argv[0]);
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	nr_cpus = argc > 2 ? atoi(argv[2]) : 2;
	TEST_ASSERT(nr_cpus >= 1 && nr_cpus <= MAX_CPUS, "bad NR_CPUS");
	if (hugepages)
		TEST_REQUIRE(free_hugepages() * 2 >= (unsigned long)atoi(mem),
			     "not enough free huge pages for --hugepages");
	snprintf(cpus, sizeof(cpus), "%d", nr_cpus);
	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());
	snprintf(log, sizeof(log), "%s/vmm.err", test_tmpdir());

	char *vmm_argv[] = { argv[1], "--guest", "builtin", "--cpus", cpus,
			     "--mem", (char *)mem, "--control", sock,
			     "--report-ms", "5", hugepages ? "--hugepages" : NULL, NULL };
	test_spawn_vmm(vmm_argv, NULL, log);
	fd = test_connect(sock);

	/* Boots: the status describes the machine we asked for. */
	st = test_request(fd, "status");
	TEST_ASSERT(test_ok(st), "status: %s", json_object_to_json_string(st));
	TEST_ASSERT(!strcmp(test_str(st, "guest"), "builtin"), "guest kind");
	TEST_ASSERT((int)test_u64(st, "vcpus") == nr_cpus, "vcpus %llu",
		    test_u64(st, "vcpus"));
	{
		struct json_object *hp;

		TEST_ASSERT(json_object_object_get_ex(st, "hugepages", &hp) &&
			    json_object_get_boolean(hp) == hugepages, "hugepages flag");
	}
	json_object_put(st);

	/* SMP: every vCPU's counter advances, and keeps advancing. */
	wait_all_above(fd, zero, a);
	wait_all_above(fd, a, b);
	printf("running: vCPU 0 counter %llu -> %llu\n", a[0], b[0]);

	/* Pause: nothing moves while paused, however long we look. */
	r = test_request(fd, "pause");
	TEST_ASSERT(test_ok(r) && !strcmp(test_str(r, "state"), "paused"),
		    "pause: %s", json_object_to_json_string(r));
	printf("pause took %llu us\n", test_u64(r, "pause_us"));
	json_object_put(r);
	read_counters(fd, a, "paused");
	expect_paused_in_code(fd);
	test_sleep_ms(100);
	read_counters(fd, b, "paused");
	for (i = 0; i < nr_cpus; i++)
		TEST_ASSERT(a[i] == b[i], "vCPU %d ran while paused: %llu -> %llu",
			    i, a[i], b[i]);

	/* A second pause is harmless. */
	r = test_request(fd, "pause");
	TEST_ASSERT(test_ok(r), "second pause: %s", json_object_to_json_string(r));
	json_object_put(r);

	/* Resume: counters continue from where they stopped (memory kept). */
	r = test_request(fd, "resume");
	TEST_ASSERT(test_ok(r), "resume: %s", json_object_to_json_string(r));
	json_object_put(r);
	wait_all_above(fd, b, c);

	/* Bad requests: error replies, and the guest runs on. */
	r = test_request(fd, "no-such-command");
	TEST_ASSERT(!test_ok(r) && strstr(test_str(r, "error"), "unknown command"),
		    "unknown command: %s", json_object_to_json_string(r));
	json_object_put(r);
	r = test_request_raw(fd, "{\"cmd\": \"status\"");
	TEST_ASSERT(!test_ok(r) && strstr(test_str(r, "error"), "malformed JSON"),
		    "malformed JSON: %s", json_object_to_json_string(r));
	json_object_put(r);
	r = test_request_raw(fd, "[1, 2]");
	TEST_ASSERT(!test_ok(r) && strstr(test_str(r, "error"), "not a JSON object"),
		    "non-object: %s", json_object_to_json_string(r));
	json_object_put(r);
	r = test_request_raw(fd, "{\"cmd\": 42, \"id\": 7}");
	TEST_ASSERT(!test_ok(r) && test_u64(r, "id") == 7,
		    "bad cmd type: %s", json_object_to_json_string(r));
	json_object_put(r);
	wait_all_above(fd, c, a);

	/* Quit: a reply, then a clean exit that removes the socket. */
	test_quit_vmm(fd, log);
	TEST_ASSERT(access(sock, F_OK) != 0, "control socket left behind");
	printf("ok: %d vCPUs, counters advanced, pause/resume/status/quit work\n",
	       nr_cpus);
	/*
	 * PVM delivers a guest's events its own way, not always through the
	 * IDT; the test VM (nested SVM) runs this part on every machine.
	 */
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		printf("the triple fault part is not run on a PVM host (kvm_pvm)\n");
	else if (!hugepages)
		expect_triple_fault_diagnosed(argv[1]);
	test_cleanup();
	return 0;
}
