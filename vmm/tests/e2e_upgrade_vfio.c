// SPDX-License-Identifier: GPL-2.0
/*
 * A passed-through device across live upgrades: the built-in guest drives
 * QEMU's edu device (vmm --vfio $CPRSTASH_TESTVM_EDU; the test VM binds
 * edu to vfio-pci) while the VMM is upgraded N times in each mode, adopt,
 * rebuild, then cloexec.  After every upgrade:
 *   - the guest's DMA rounds (RAM -> edu -> RAM, an interrupt for each
 *     copy) go on and every copy came back intact;
 *   - the marker the guest wrote into edu's buffer at start is still
 *     there, edu's liveness and factorial registers answer right, and bus
 *     mastering is on, as the guest sees it and in the real device's
 *     config space (sysfs);
 *   - no interrupt came twice: the guest only asks for one once the last
 *     one arrived, so received is raised or raised - 1, never more.
 * In each mode, one interrupt is raised by edu while the VMM is paused: the
 * test pauses the VM while a DMA with its interrupt is in flight, waits
 * until the host took edu's MSI (/proc/interrupts, vfio-msi), checks the
 * guest has not, resumes, and the guest gets it exactly once.  At the end,
 * with no new round started, raised == received == MSIs the host took.
 * Prints the downtime median per mode (no assertion on any duration).
 *
 * usage: e2e_upgrade_vfio VMM [N [MODE...]]
 *        N upgrades per mode (default 10), in each MODE (default: adopt,
 *        rebuild, cloexec)
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/builtin_guest.h"

#define MAX_ROUNDS	100

#define MAX_MODES	3

static const char *default_modes[MAX_MODES] = { "adopt", "rebuild", "cloexec" };

struct edu {
	unsigned long long raised, received, dma_rounds, dma_errors, dma_phase;
	unsigned long long reg_checks, reg_errors, marker_checks, marker_errors;
	unsigned long long no_master;
};

static const char *bdf;
static volatile unsigned long long *edu_page;	/* guest RAM, BG_EDU_GPA */
/* MSIs the host took minus interrupts the guest raised, with none in flight. */
static long long msi_base = -1;

/* The edu driver's counts from "status"; the guest must have found edu. */
static void read_edu(int fd, const char *state, struct edu *e)
{
	struct json_object *st = test_request(fd, "status"), *o;

	TEST_ASSERT(test_ok(st) && !strcmp(test_str(st, "state"), state),
		    "status, state %s: %s", state, json_object_to_json_string(st));
	TEST_ASSERT(json_object_object_get_ex(st, "edu", &o),
		    "the built-in guest was given no edu: %s", json_object_to_json_string(st));
	TEST_ASSERT(!strcmp(test_str(o, "state"), "running"),
		    "the guest's edu driver is not running: %s", json_object_to_json_string(o));
	e->raised = test_u64(o, "raised");
	e->received = test_u64(o, "received");
	e->dma_rounds = test_u64(o, "dma_rounds");
	e->dma_errors = test_u64(o, "dma_errors");
	e->dma_phase = test_u64(o, "dma_phase");
	e->reg_checks = test_u64(o, "reg_checks");
	e->reg_errors = test_u64(o, "reg_errors");
	e->marker_checks = test_u64(o, "marker_checks");
	e->marker_errors = test_u64(o, "marker_errors");
	e->no_master = test_u64(o, "no_master");
	json_object_put(st);
}

/* What must hold at any time: nothing wrong seen, no interrupt twice. */
static void check_edu(const struct edu *e, const char *when)
{
	TEST_ASSERT(!e->dma_errors, "%s: %llu DMA rounds came back changed", when,
		    e->dma_errors);
	TEST_ASSERT(!e->marker_errors,
		    "%s: the marker written into edu at start changed (%llu of %llu checks)",
		    when, e->marker_errors, e->marker_checks);
	TEST_ASSERT(!e->reg_errors, "%s: %llu of %llu register checks read a wrong value",
		    when, e->reg_errors, e->reg_checks);
	TEST_ASSERT(!e->no_master, "%s: the guest found bus mastering off %llu times",
		    when, e->no_master);
	TEST_ASSERT(e->received <= e->raised && e->received + 1 >= e->raised,
		    "%s: %llu interrupts received for %llu raised", when, e->received,
		    e->raised);
}

/* Bus mastering in the real device's command register. */
static bool sysfs_bus_master(void)
{
	unsigned char cmd[2];
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	f = fopen(path, "r");
	TEST_ASSERT(f, "open %s", path);
	TEST_ASSERT(fseek(f, 4, SEEK_SET) == 0 && fread(cmd, 1, 2, f) == 2, "read %s", path);
	fclose(f);
	return cmd[0] & 0x4;
}

/* MSIs the host took from edu: its vfio-msi line(s) in /proc/interrupts. */
static unsigned long long host_msis(void)
{
	unsigned long long sum = 0;
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/interrupts", "r");

	TEST_ASSERT(f, "open /proc/interrupts");
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *end;

		if (!p || !strstr(line, "vfio-msi") || !strstr(line, bdf))
			continue;
		found = true;
		for (p++; ; p = end) {
			unsigned long long n = strtoull(p, &end, 10);

			if (end == p)
				break;
			sum += n;
		}
	}
	fclose(f);
	TEST_ASSERT(found, "no vfio-msi interrupt of %s in /proc/interrupts", bdf);
	return sum;
}

/*
 * Stop starting DMA rounds and wait for the last one to end with its
 * interrupt in: then raised == received, and the host took as many MSIs.
 */
static void wait_quiet(int fd, struct edu *e)
{
	struct test_wait w;

	edu_page[BG_EDU_QUIESCE / 8] = 1;
	for (test_wait_start(&w); ; ) {
		read_edu(fd, "running", e);
		check_edu(e, "quiescing");
		if (!e->dma_phase && e->raised == e->received)
			break;
		TEST_ASSERT(test_wait_more(&w), "edu did not go quiet: %llu raised, %llu received, "
			    "DMA phase %llu", e->raised, e->received, e->dma_phase);
	}
}

/* MSIs the host took from edu, or -1 before the base was measured. */
static long long msis_taken(void)
{
	return msi_base < 0 ? -1 : (long long)host_msis() - msi_base;
}

/*
 * Stuck rounds say where an interrupt went: with raised - received = 1
 * and as many MSIs taken by the host as raised, the host got it and the
 * guest never did.
 */
static void wait_rounds_above(int fd, unsigned long long min, struct edu *e)
{
	struct test_wait w;

	for (test_wait_start(&w); ; ) {
		read_edu(fd, "running", e);
		check_edu(e, "running");
		if (e->dma_rounds > min)
			return;
		TEST_ASSERT(test_wait_more(&w), "no DMA round past %llu: %llu raised, %llu received, "
			    "%lld MSIs taken by the host, DMA phase %llu", min, e->raised,
			    e->received, msis_taken(), e->dma_phase);
	}
}

static void request(int fd, const char *cmd)
{
	struct json_object *r = test_request(fd, cmd);

	TEST_ASSERT(test_ok(r), "%s: %s", cmd, json_object_to_json_string(r));
	json_object_put(r);
}

/*
 * An interrupt edu raises while the VMM is paused is delivered after the
 * resume, once.  Pause while a DMA with its interrupt is in flight (the
 * guest has not received it when its vCPUs park; else resume and try the
 * next): edu raises it 100 ms after the command whether the VM runs or
 * not, the host takes the MSI while the guest cannot, and the guest gets
 * it after the resume.  Under emulation the pause itself may take longer
 * than 100 ms, so the MSI may already be in when the test looks: it still
 * came while the guest could not take it.
 */
static void check_paused_interrupt(int fd, const char *mode)
{
	struct test_wait w;
	struct edu e, p;
	bool seen_paused;

	for (test_wait_start(&w); ; ) {
		read_edu(fd, "running", &e);
		if (e.raised == e.received + 1) {
			request(fd, "pause");
			read_edu(fd, "paused", &p);
			if (p.raised == p.received + 1)
				break;
			request(fd, "resume");
		}
		TEST_ASSERT(test_wait_more(&w), "%s: never paused with an interrupt in flight", mode);
	}
	seen_paused = msis_taken() < (long long)p.raised;
	for (test_wait_start(&w); msis_taken() < (long long)p.raised; )
		TEST_ASSERT(test_wait_more(&w), "%s: edu raised no MSI while the VM was paused",
			    mode);
	read_edu(fd, "paused", &e);
	TEST_ASSERT(e.received == p.received, "%s: the guest took an interrupt while paused",
		    mode);
	request(fd, "resume");
	for (test_wait_start(&w); ; ) {
		read_edu(fd, "running", &e);
		check_edu(&e, mode);
		if (e.received > p.received)
			break;
		TEST_ASSERT(test_wait_more(&w), "%s: the interrupt raised while paused never came "
			    "(%lld MSIs taken by the host, %llu raised, %llu received)", mode,
			    msis_taken(), e.raised, e.received);
	}
	printf("%s: an interrupt edu raised while the VM was paused came once after the resume "
	       "(its MSI %s)\n", mode, seen_paused ? "seen arriving during the pause"
						 : "already in when the pause was done");
}

int main(int argc, char **argv)
{
	static unsigned long long downtime[MAX_MODES][MAX_ROUNDS];
	const char **modes = default_modes;
	unsigned int nr_modes = MAX_MODES;
	unsigned long long zero[2] = { 0 }, a[2], b[2];
	const char *vmm;
	char sock[300], log[300];
	struct edu e, before;
	unsigned int m;
	int rounds, round, memfd;
	pid_t pid;

	TEST_ASSERT(argc >= 2, "usage: %s VMM [N [MODE...]]", argv[0]);
	vmm = argv[1];
	rounds = argc > 2 ? atoi(argv[2]) : 10;
	TEST_ASSERT(rounds >= 1 && rounds <= MAX_ROUNDS, "N from 1 to %d", MAX_ROUNDS);
	if (argc > 3) {
		modes = (const char **)&argv[3];
		nr_modes = argc - 3;
		TEST_ASSERT(nr_modes <= MAX_MODES, "at most %d modes", MAX_MODES);
	}
	bdf = getenv("CPRSTASH_TESTVM_EDU");
	TEST_REQUIRE(bdf && *bdf, "no CPRSTASH_TESTVM_EDU: edu is bound to vfio-pci in the "
		     "test VM only");
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	TEST_REQUIRE(access("/dev/cprstash", F_OK) == 0,
		     "no /dev/cprstash: adopt and rebuild need the module");

	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());
	snprintf(log, sizeof(log), "%s/vmm.err", test_tmpdir());
	char *vmm_argv[] = { (char *)vmm, "--guest", "builtin", "--cpus", "2", "--mem", "256M",
			     "--control", sock, "--report-ms", "5", "--vfio", (char *)bdf, NULL };
	test_spawn_vmm(vmm_argv, NULL, log);
	pid = test_vmm_pid;
	int fd = test_connect(sock);

	test_wait_counters_above(fd, 2, zero, a, pid);
	edu_page = (volatile unsigned long long *)test_map_guest_ram(pid, BG_EDU_GPA, 4096,
								     &memfd);
	wait_rounds_above(fd, 1, &e);
	TEST_ASSERT(sysfs_bus_master(), "bus mastering is off in %s's config space", bdf);
	printf("edu %s: %llu DMA rounds, %llu register checks before the first upgrade\n",
	       bdf, e.dma_rounds, e.reg_checks);

	wait_quiet(fd, &e);
	msi_base = (long long)host_msis() - (long long)e.raised;
	TEST_ASSERT(msi_base >= 0, "the host took %lld MSIs for %llu raised",
		    msi_base + (long long)e.raised, e.raised);
	edu_page[BG_EDU_QUIESCE / 8] = 0;

	for (m = 0; m < nr_modes; m++) {
		for (round = 0; round < rounds; round++) {
			struct json_object *rep;
			char *line, when[64];
			int status;

			snprintf(when, sizeof(when), "%s, upgrade %d", modes[m], round);
			read_edu(fd, "running", &before);
			test_read_counters(fd, 2, a, "running", pid);
			status = test_live_upgrade(vmm, sock, modes[m], NULL, NULL, &line, &rep);
			TEST_ASSERT(status == 0 && rep && test_ok(rep),
				    "%s: --live-upgrade exit %d: %s (%s)", when, status, line,
				    rep ? json_object_to_json_string(rep) : "no report");
			TEST_ASSERT(!strcmp(test_str(rep, "mode"), modes[m]), "%s: mode %s", when,
				    test_str(rep, "mode"));
			TEST_ASSERT((pid_t)test_u64(rep, "pid") == pid, "%s: pid", when);
			downtime[m][round] = test_u64(rep, "downtime_us");
			free(line);
			json_object_put(rep);

			test_wait_counters_above(fd, 2, a, b, pid);
			wait_rounds_above(fd, before.dma_rounds, &e);
			TEST_ASSERT(e.marker_checks > before.marker_checks,
				    "%s: the marker was not read back", when);
			TEST_ASSERT(e.reg_checks > before.reg_checks,
				    "%s: no register check since", when);
			TEST_ASSERT(sysfs_bus_master(), "%s: bus mastering is off in %s's config space",
				    when, bdf);
		}
		check_paused_interrupt(fd, modes[m]);
	}

	wait_quiet(fd, &e);
	check_edu(&e, "at the end");
	TEST_ASSERT(msis_taken() == (long long)e.raised,
		    "the host took %lld MSIs from edu for %llu the guest raised",
		    msis_taken(), e.raised);
	printf("%llu interrupts raised, %llu received, as many MSIs taken by the host; "
	       "%llu DMA rounds, %llu register checks, %llu marker checks\n", e.raised,
	       e.received, e.dma_rounds, e.reg_checks, e.marker_checks);
	for (m = 0; m < nr_modes; m++)
		printf("%s: median downtime %llu us over %d upgrades\n", modes[m],
		       test_median(downtime[m], rounds), rounds);

	munmap((void *)edu_page, 4096);
	close(memfd);
	test_quit_vmm(fd, log);
	printf("ok: %d live upgrades per mode with edu passed through\n", rounds);
	test_cleanup();
	return 0;
}
