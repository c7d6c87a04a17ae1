// SPDX-License-Identifier: GPL-2.0
/*
 * Live upgrade end to end: the vmm binary runs the built-in guest on
 * /dev/kvm and is upgraded N times in a row in one mode, through
 * "vmm --live-upgrade".  After every upgrade:
 *   - it happened, in the mode asked for, with a report that has the
 *     downtime, each phase, the parked span and the gap the guest itself
 *     saw, which is never shorter than the parked span (both on the
 *     guest's clock; when the guest could not measure, the report says
 *     why and the checks below still hold);
 *   - the VMM is the same process, with the same guest RAM memfd (same
 *     inode) and the same number of open files;
 *   - every vCPU's counter did not go backwards and keeps advancing, the
 *     guest's TSC never stepped back and its own memory checksum holds;
 *   - a pattern this test wrote into guest RAM through the memfd is intact;
 *   - --touch-ram: every page the guest wrote (below the PCI hole and from
 *     4 GiB) holds what it wrote, once it started and after the upgrades;
 *   - a control connection opened before the first upgrade still works;
 *   - adopt kept the guest's mappings (kept_mappings, with settle_us), and
 *     did not with --adopt-zap;
 *   - past a warm-up of SOAK_WARMUP upgrades (the soak: long series), the
 *     module holds no more objects of any kind than after the warm-up
 *     (debugfs "live"), and at the end the VMM's RSS and its locked memory
 *     (VmLck + VmPin) grew by no more than a fixed slack over the
 *     warm-up's (mixed: the first sample in the same mode after the
 *     warm-up); first, after-warm-up and last printed (with "own": VmRSS
 *     less the guest RAM the VMM maps);
 *   - the report has the time to full speed (full_speed_us) or says why
 *     not, with a speed before the pause above 0 whenever it has one, and
 *     at least one upgrade of the run measured it.
 * Prints the median of every phase (no assertion on any duration).
 *
 * usage: e2e_upgrade VMM MODE N [MEM [CPUS [--touch-ram] [--hugepages]
 *                                          [--no-sweep-wait]]]]
 *        --no-sweep-wait: upgrade without waiting for vCPU 0 to sweep its
 *        RAM twice, and do not require a time to full speed (64 vCPUs on
 *        two emulated CPUs leave vCPU 0 too little time for it)
 *        MODE: auto, adopt, rebuild, cloexec, adopt-zap (adopt with
 *        --adopt-zap) or mixed (adopt, rebuild, cloexec, round-robin)
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/builtin_guest.h"
#include "vmm/guest_mem.h"

#define MAX_CPUS	64
#define MAX_ROUNDS	1000
#define PATTERN_SIZE	(2 << 20)	/* a whole huge page with --hugepages */

/*
 * The first upgrades fill caches (the allocator's arenas, json-c's, the
 * module's slabs): growth is judged against the state after them.
 */
#define SOAK_WARMUP	5
/*
 * The slack on the VMM's RSS.  Each exec starts the image's own memory
 * afresh, so what could grow from one upgrade to the next is what the
 * image is handed or maps again: guest RAM mapped twice, state records
 * that pile up.  Between rounds VmRSS varies by a few pages (what a round
 * allocated, which guest pages KVM faulted in through this image).
 */
#define SOAK_RSS_SLACK_KB	(2 * 1024)
/* Nothing locks memory without VFIO: any growth would be a page or more. */
#define SOAK_LOCKED_SLACK_KB	0

static const char *const mixed_modes[] = { "adopt", "rebuild", "cloexec" };
#define NR_MIXED	ARRAY_SIZE(mixed_modes)

static const char *const phases[] = {
	"downtime_us", "pause_us", "stash_us", "exec_us", "start_us",
	"recover_us", "resume_us", "parked_us", "guest_gap_us", "full_speed_us",
};
#define NR_PHASES	(sizeof(phases) / sizeof(phases[0]))
#define PHASE_PARKED	(NR_PHASES - 3)
#define PHASE_GUEST_GAP	(NR_PHASES - 2)
#define PHASE_FULL_SPEED (NR_PHASES - 1)

static int nr_cpus;
static unsigned long long samples[NR_PHASES][MAX_ROUNDS];
static int nr_samples[NR_PHASES];
static int gaps_unmeasured, parked_unmeasured;

static void read_counters(int fd, unsigned long long *c, pid_t pid)
{
	test_read_counters(fd, nr_cpus, c, "running", pid);
}

static void wait_all_above(int fd, const unsigned long long *min,
			   unsigned long long *now, pid_t pid)
{
	test_wait_counters_above(fd, nr_cpus, min, now, pid);
}

/* adopt keeps the guest's mappings, and says how long SETTLE_KVM took. */
static void check_kept_mappings(struct json_object *rep, bool want, int round)
{
	struct json_object *v;
	bool kept = json_object_object_get_ex(rep, "kept_mappings", &v) &&
		    json_object_get_boolean(v);

	TEST_ASSERT(kept == want, "round %d: kept_mappings %d, wanted %d", round,
		    kept, want);
	if (kept)
		TEST_ASSERT(json_object_object_get_ex(rep, "settle_us", &v) &&
			    json_object_is_type(v, json_type_int),
			    "round %d: kept mappings but no settle_us", round);
}

/*
 * The guest cannot run while every vCPU is parked: each vCPU's own gap
 * spans the parked span.  Both are guest TSC ticks converted with one
 * frequency, so the comparison is exact, whatever the load.
 */
static void check_guest_gap(struct json_object *rep, int round)
{
	unsigned long long parked = 0;
	struct json_object *v, *arr;
	int i;

	if (json_object_object_get_ex(rep, "parked_us", &v) && !v) {
		TEST_ASSERT(json_object_object_get_ex(rep, "parked_error", &v) &&
			    json_object_is_type(v, json_type_string),
			    "round %d: no parked span and no reason: %s", round,
			    json_object_to_json_string(rep));
		printf("round %d: the parked span was not measured: %s\n", round,
		       json_object_get_string(v));
		parked_unmeasured++;
	} else {
		parked = test_u64(rep, "parked_us");
		samples[PHASE_PARKED][nr_samples[PHASE_PARKED]++] = parked;
	}
	if (!json_object_object_get_ex(rep, "guest_gap_us", &v) || !v) {
		TEST_ASSERT(json_object_object_get_ex(rep, "guest_gap_error", &v) &&
			    json_object_is_type(v, json_type_string),
			    "round %d: no guest gap and no reason: %s", round,
			    json_object_to_json_string(rep));
		printf("round %d: the guest's gap was not measured: %s\n", round,
		       json_object_get_string(v));
		gaps_unmeasured++;
		return;
	}
	samples[PHASE_GUEST_GAP][nr_samples[PHASE_GUEST_GAP]++] = test_u64(rep, "guest_gap_us");
	TEST_ASSERT(json_object_object_get_ex(rep, "guest_gap_us_vcpu", &arr) &&
		    json_object_array_length(arr) == (size_t)nr_cpus,
		    "round %d: no gap per vCPU: %s", round, json_object_to_json_string(rep));
	for (i = 0; i < nr_cpus; i++) {
		unsigned long long gap = json_object_get_uint64(json_object_array_get_idx(arr, i));

		TEST_ASSERT(gap >= parked,
			    "round %d: vCPU %d saw a gap of %llu us, shorter than the %llu us "
			    "every vCPU was parked: %s", round, i, gap, parked,
			    json_object_to_json_string(rep));
	}
}

/* What the VMM and the module hold, sampled after an upgrade. */
struct soak_sample {
	int fds;
	unsigned long long rss_kb, own_kb, locked_kb;
	bool have_live;
	struct test_live live;
};

static void soak_sample(struct soak_sample *s, pid_t pid, int fds)
{
	s->fds = fds;
	s->rss_kb = test_proc_status_kb(pid, "VmRSS");
	/* Guest RAM the VMM (or KVM, for it) faulted in is shared memory. */
	s->own_kb = s->rss_kb - test_proc_status_kb(pid, "RssShmem");
	s->locked_kb = test_proc_status_kb(pid, "VmLck") + test_proc_status_kb(pid, "VmPin");
	s->have_live = test_module_live(&s->live);
}

static void soak_print(const char *when, const struct soak_sample *s)
{
	int i;

	printf("soak %s: %d open files, VmRSS %llu kB (own %llu kB), locked %llu kB, module:",
	       when, s->fds, s->rss_kb, s->own_kb, s->locked_kb);
	if (!s->have_live)
		printf(" not loaded");
	for (i = 0; i < s->live.nr; i++)
		printf(" %s=%ld", s->live.name[i], s->live.count[i]);
	printf("\n");
}

/* The kinds of object the module holds more of in @now than in @base. */
static int soak_live_grown(const struct soak_sample *base, const struct soak_sample *now)
{
	int i, grown = 0;

	for (i = 0; i < base->live.nr && i < now->live.nr; i++)
		grown += now->live.count[i] > base->live.count[i];
	return grown;
}

/*
 * The old image's address space and its keeper may still be on their way
 * out when the new image replies: wait, bounded, for the module to hold
 * no more than after the warm-up, then it must not.
 */
static void soak_check_live(const struct soak_sample *base, struct soak_sample *now,
			    pid_t pid, int round)
{
	struct test_wait w;

	if (!base->have_live)
		return;
	for (test_wait_start(&w); soak_live_grown(base, now); soak_sample(now, pid, now->fds))
		if (!test_wait_more(&w))
			break;
	if (soak_live_grown(base, now)) {
		soak_print("after the warm-up", base);
		soak_print("now", now);
	}
	TEST_ASSERT(!soak_live_grown(base, now),
		    "round %d: the module holds more objects than after the warm-up (above)",
		    round);
}

static void soak_check_end(const struct soak_sample *base, const struct soak_sample *last)
{
	TEST_ASSERT(last->rss_kb <= base->rss_kb + SOAK_RSS_SLACK_KB,
		    "the VMM's RSS grew from %llu kB after the warm-up to %llu kB",
		    base->rss_kb, last->rss_kb);
	TEST_ASSERT(last->locked_kb <= base->locked_kb + SOAK_LOCKED_SLACK_KB,
		    "the VMM's locked memory grew from %llu kB after the warm-up to %llu kB",
		    base->locked_kb, last->locked_kb);
}

/*
 * Time to full speed (Documentation/vmm.rst): a figure, or null and why.
 * Not its size: only that the guest's speed before the pause was seen.
 */
static void check_full_speed(struct json_object *rep, int round)
{
	struct json_object *v;

	if (json_object_object_get_ex(rep, "full_speed_us", &v) && !v) {
		TEST_ASSERT(json_object_object_get_ex(rep, "full_speed_error", &v) &&
			    json_object_is_type(v, json_type_string),
			    "round %d: no time to full speed and no reason: %s", round,
			    json_object_to_json_string(rep));
		printf("round %d: the time to full speed was not measured: %s\n", round,
		       json_object_get_string(v));
		return;
	}
	TEST_ASSERT(json_object_is_type(v, json_type_int) &&
		    test_u64(rep, "speed_before_pages_s") > 0,
		    "round %d: time to full speed without a speed before it: %s", round,
		    json_object_to_json_string(rep));
	samples[PHASE_FULL_SPEED][nr_samples[PHASE_FULL_SPEED]++] =
		test_u64(rep, "full_speed_us");
}

/* The speed before a pause is that of a sweep over RAM already mapped. */
static void wait_swept_twice(int fd)
{
	struct json_object *st = NULL;
	struct test_wait w;

	for (test_wait_start(&w);;) {
		json_object_put(st);
		st = test_request(fd, "status");
		if (test_u64(st, "sweeps") >= 2)
			break;
		TEST_ASSERT(test_wait_more(&w), "vCPU 0 did not sweep its RAM twice: %s",
			    json_object_to_json_string(st));
	}
	json_object_put(st);
}

static void check_report(struct json_object *rep, const char *want_mode, pid_t pid,
			 int round)
{
	struct json_object *v;
	unsigned int p;

	TEST_ASSERT(test_ok(rep), "round %d: %s", round, json_object_to_json_string(rep));
	TEST_ASSERT(!strcmp(test_str(rep, "mode"), want_mode), "round %d: mode %s, wanted %s",
		    round, test_str(rep, "mode"), want_mode);
	TEST_ASSERT(!json_object_object_get_ex(rep, "fallback", &v),
		    "round %d: fell back: %s", round, json_object_to_json_string(rep));
	TEST_ASSERT((pid_t)test_u64(rep, "pid") == pid, "round %d: pid", round);
	TEST_ASSERT((int)test_u64(rep, "generation") == round + 1, "round %d: generation %llu",
		    round, test_u64(rep, "generation"));
	for (p = 0; p < PHASE_PARKED; p++)
		samples[p][nr_samples[p]++] = test_u64(rep, phases[p]);
	TEST_ASSERT(test_u64(rep, "downtime_us") >= test_u64(rep, "pause_us"),
		    "round %d: the downtime does not include the pause", round);
	/* The same binary each round: the same version before and after. */
	TEST_ASSERT(test_str(rep, "old_version")[0] &&
		    !strcmp(test_str(rep, "old_version"), test_str(rep, "new_version")),
		    "round %d: versions %s -> %s", round, test_str(rep, "old_version"),
		    test_str(rep, "new_version"));
	check_guest_gap(rep, round);
	check_full_speed(rep, round);
}

/*
 * After the fact: "last-upgrade" gives the report again, "status" the
 * version now running, and the VMM's log named the upgrade (the old
 * image's line before its exec, so it is there before the reply).
 */
static void check_after_the_fact(int fd, struct json_object *rep, const char *log, int round)
{
	struct json_object *last, *st, *report;
	char text[80];

	last = test_request(fd, "last-upgrade");
	TEST_ASSERT(test_ok(last) && json_object_object_get_ex(last, "report", &report) &&
		    report && !strcmp(test_str(report, "upgrade_id"), test_str(rep, "upgrade_id")),
		    "round %d: last-upgrade: %s", round, json_object_to_json_string(last));
	st = test_request(fd, "status");
	TEST_ASSERT(!strcmp(test_str(st, "version"), test_str(rep, "new_version")),
		    "round %d: status version %s, the report's %s", round,
		    test_str(st, "version"), test_str(rep, "new_version"));
	snprintf(text, sizeof(text), "vmm: upgrade %s: live upgrade: ", test_str(rep, "upgrade_id"));
	TEST_ASSERT(test_file_has(log, text), "round %d: no \"%s\" in the VMM's log", round, text);
	json_object_put(last);
	json_object_put(st);
}

/*
 * --touch-ram: every page of guest RAM from BG_TOUCH_START holds its own
 * guest-physical address in its first word (builtin.S), below the PCI
 * hole and from 4 GiB alike, except the @skip bytes at memfd offset
 * @skip_off (the test's pattern).  A page the guest never reached, or one
 * lost since, holds something else.
 */
static void check_touched(pid_t pid, unsigned long long mem_bytes,
			  unsigned long long skip_off, unsigned long long skip,
			  const char *when)
{
	unsigned long long low = mem_bytes < GUEST_PCI_HOLE_START ? mem_bytes
							      : GUEST_PCI_HOLE_START;
	unsigned long long off, gpa, pages = 0, high = 0, bad = 0, first_bad = 0;
	unsigned char *ram;
	int memfd;

	ram = test_map_guest_ram(pid, 0, mem_bytes, &memfd);
	for (off = BG_TOUCH_START; off < mem_bytes; off += 4096) {
		unsigned long long word;

		if (off >= skip_off && off < skip_off + skip)
			continue;
		gpa = off < low ? off : off - low + GUEST_HIGH_START;
		memcpy(&word, ram + off, sizeof(word));
		pages++;
		high += gpa >= GUEST_HIGH_START;
		if (word != gpa && !bad++)
			first_bad = gpa;
	}
	munmap(ram, mem_bytes);
	close(memfd);
	TEST_ASSERT(!bad, "%s: %llu of %llu pages do not hold the address the guest wrote, the first at GPA %#llx",
		    when, bad, pages, first_bad);
	printf("%s: all %llu touched pages hold their address, %llu of them from 4 GiB\n",
	       when, pages, high);
}

int main(int argc, char **argv)
{
	unsigned long long zero[MAX_CPUS] = { 0 }, a[MAX_CPUS], b[MAX_CPUS];
	/* mixed: one baseline per mode; they map and hold different things. */
	struct soak_sample first, warm[NR_MIXED], last;
	bool have_warm[NR_MIXED] = { false };
	int slot;
	const char *vmm, *mode, *want_mode, *mem;
	bool touch = false, huge = false, sweep_wait = true, mixed;
	char sock[300], log[300], cpus[16];
	unsigned char *ram, *copy;
	int rounds, round, fd, memfd, fd_count, status;
	bool zap;
	unsigned long long mem_bytes;
	unsigned int p, i;
	ino_t ino;

	TEST_ASSERT(argc >= 4, "usage: %s VMM MODE N [MEM [CPUS [--touch-ram] [--hugepages] "
		    "[--no-sweep-wait]]]]", argv[0]);
	vmm = argv[1];
	mode = argv[2];
	zap = !strcmp(mode, "adopt-zap");
	if (zap)
		mode = "adopt";
	mixed = !strcmp(mode, "mixed");
	rounds = atoi(argv[3]);
	mem = argc > 4 ? argv[4] : "1G";
	nr_cpus = argc > 5 ? atoi(argv[5]) : 2;
	for (i = 6; i < (unsigned int)argc; i++) {
		touch |= !strcmp(argv[i], "--touch-ram");
		huge |= !strcmp(argv[i], "--hugepages");
		sweep_wait &= !!strcmp(argv[i], "--no-sweep-wait");
	}
	TEST_ASSERT(rounds >= 1 && rounds <= MAX_ROUNDS, "N from 1 to %d", MAX_ROUNDS);
	TEST_ASSERT(nr_cpus >= 1 && nr_cpus <= MAX_CPUS, "bad CPUS");
	TEST_REQUIRE(test_have_kvm(), "/dev/kvm not available");
	if (!strcmp(mode, "adopt") || !strcmp(mode, "rebuild") || mixed)
		TEST_REQUIRE(access("/dev/cprstash", F_OK) == 0,
			     "no /dev/cprstash: the module is only loaded in the test VM");
	want_mode = strcmp(mode, "auto") ? mode
		    : access("/dev/cprstash", F_OK) == 0 ? "adopt" : "cloexec";

	snprintf(cpus, sizeof(cpus), "%d", nr_cpus);
	snprintf(sock, sizeof(sock), "%s/control.sock", test_tmpdir());
	snprintf(log, sizeof(log), "%s/vmm.err", test_tmpdir());
	char *vmm_argv[] = { (char *)vmm, "--guest", "builtin", "--cpus", cpus,
			     "--mem", (char *)mem, "--control", sock, "--report-ms", "5",
			     NULL, NULL, NULL };
	i = 11;
	if (touch)
		vmm_argv[i++] = "--touch-ram";
	if (huge)
		vmm_argv[i++] = "--hugepages";
	test_spawn_vmm(vmm_argv, NULL, log);
	fd = test_connect(sock);
	wait_all_above(fd, zero, a, test_vmm_pid);
	wait_all_above(fd, a, b, test_vmm_pid);
	if (sweep_wait)
		wait_swept_twice(fd);

	/* A pattern in guest RAM the guest never touches, written from here. */
	{
		struct json_object *st = test_request(fd, "status");

		mem_bytes = test_u64(st, "mem_bytes");
		json_object_put(st);
	}
	if (touch)
		check_touched(test_vmm_pid, mem_bytes, 0, 0, "at start");
	ino = test_memfd_inode(test_vmm_pid);
	ram = test_map_guest_ram(test_vmm_pid, (mem_bytes / 2) & ~(PATTERN_SIZE - 1ULL),
				 PATTERN_SIZE, &memfd);
	copy = malloc(PATTERN_SIZE);
	srand(getpid());
	for (i = 0; i < PATTERN_SIZE; i++)
		copy[i] = rand();
	memcpy(ram, copy, PATTERN_SIZE);
	fd_count = test_fd_count(test_vmm_pid);
	printf("VMM pid %d, %d open files, guest RAM memfd inode %lu\n", (int)test_vmm_pid,
	       fd_count, (unsigned long)ino);

	for (round = 0; round < rounds; round++) {
		const char *round_mode = mixed ? mixed_modes[round % NR_MIXED] : mode;
		const char *want = mixed ? round_mode : want_mode;
		struct json_object *rep;
		char *line;
		int n;

		read_counters(fd, a, test_vmm_pid);
		status = test_live_upgrade(vmm, sock, round_mode, NULL,
					   zap ? "--adopt-zap" : NULL, &line, &rep);
		TEST_ASSERT(status == 0 && rep, "round %d: --live-upgrade exit %d: %s (%s)",
			    round, status, line, rep ? json_object_to_json_string(rep) : "no report");
		TEST_ASSERT(!strncmp(line, "live-upgrade: ok", 16), "round %d: %s", round, line);
		check_report(rep, want, test_vmm_pid, round);
		check_kept_mappings(rep, !strcmp(want, "adopt") && !zap, round);
		check_after_the_fact(fd, rep, log, round);
		printf("round %d: %s\n", round, line);
		free(line);
		json_object_put(rep);

		/* The connection from before the upgrades, served by the new image. */
		wait_all_above(fd, a, b, test_vmm_pid);
		/* The client's connection closes when the VMM reads its EOF. */
		n = test_wait_fd_count(test_vmm_pid, fd_count);
		TEST_ASSERT(n == fd_count, "round %d: %d open files, %d before", round, n, fd_count);
		TEST_ASSERT(test_memfd_inode(test_vmm_pid) == ino,
			    "round %d: guest RAM is another memfd", round);
		TEST_ASSERT(!memcmp(ram, copy, PATTERN_SIZE),
			    "round %d: the pattern in guest RAM changed", round);

		soak_sample(&last, test_vmm_pid, n);
		if (!round)
			first = last;
		slot = mixed ? round % NR_MIXED : 0;
		if (have_warm[slot]) {
			soak_check_live(&warm[slot], &last, test_vmm_pid, round);
		} else if (round >= SOAK_WARMUP - 1) {
			warm[slot] = last;
			have_warm[slot] = true;
		}
	}
	if (touch)
		check_touched(test_vmm_pid, mem_bytes, (mem_bytes / 2) & ~(PATTERN_SIZE - 1ULL),
			      PATTERN_SIZE, "after the upgrades");
	soak_print("after the first upgrade", &first);
	slot = mixed ? (rounds - 1) % NR_MIXED : 0;
	if (rounds > SOAK_WARMUP + 2 && have_warm[slot]) {
		soak_print("after the warm-up", &warm[slot]);
		soak_print("after the last upgrade", &last);
		soak_check_end(&warm[slot], &last);
		printf("ok: nothing grew in %d upgrades after a warm-up of %d\n",
		       rounds - SOAK_WARMUP, SOAK_WARMUP);
	}

	/*
	 * Requests pipelined behind a live-upgrade on one connection: the new
	 * image answers the upgrade, then the next request, in order.
	 */
	{
		char req[256], buf[65536], *nl;
		struct json_object *r1, *r2;
		size_t len = 0;
		ssize_t got;

		snprintf(req, sizeof(req),
			 "{\"cmd\":\"live-upgrade\",\"mode\":\"%s\",\"id\":\"pipelined\"}\n"
			 "{\"cmd\":\"status\",\"id\":\"after\"}\n",
			 mixed ? mixed_modes[rounds % NR_MIXED] : mode);
		TEST_ASSERT(write(fd, req, strlen(req)) == (ssize_t)strlen(req), "write");
		while (!(nl = memchr(buf, '\n', len)) || !memchr(nl + 1, '\n', len - (nl + 1 - buf))) {
			got = read(fd, buf + len, sizeof(buf) - 1 - len);
			TEST_ASSERT(got > 0, "connection closed after %zu bytes", len);
			len += got;
		}
		*nl = '\0';
		r1 = json_tokener_parse(buf);
		r2 = json_tokener_parse(nl + 1);
		TEST_ASSERT(r1 && test_ok(r1) && !strcmp(test_str(r1, "id"), "pipelined"),
			    "pipelined upgrade: %s", buf);
		TEST_ASSERT(r2 && test_ok(r2) && !strcmp(test_str(r2, "id"), "after") &&
			    test_u64(r2, "upgrades") == (unsigned long long)rounds + 1,
			    "request after the upgrade: %s", nl + 1);
		printf("ok: a request pipelined behind the upgrade was answered after it\n");
		json_object_put(r1);
		json_object_put(r2);
	}

	if (mixed)
		want_mode = mode;
	printf("median of %d upgrades, mode %s, %s RAM%s, %d vCPUs%s:", rounds, want_mode, mem,
	       huge ? " in 2 MiB pages" : "", nr_cpus, touch ? ", all RAM touched" : "");
	for (p = 0; p < NR_PHASES; p++)
		if (nr_samples[p])
			printf(" %s %llu", phases[p], test_median(samples[p], nr_samples[p]));
	printf("\n");
	if (gaps_unmeasured || parked_unmeasured)
		printf("not measured (reasons above): the guest's gap in %d, the parked span in %d "
		       "of %d upgrades\n", gaps_unmeasured, parked_unmeasured, rounds);

	TEST_ASSERT(!sweep_wait || nr_samples[PHASE_FULL_SPEED] > 0,
		    "no upgrade of %d measured the time to full speed", rounds);
	test_quit_vmm(fd, log);
	TEST_ASSERT(access(sock, F_OK) != 0, "control socket left behind");
	munmap(ram, PATTERN_SIZE);
	close(memfd);
	free(copy);
	printf("ok: %d live upgrades in %s mode, the guest ran on through all\n", rounds, want_mode);
	test_cleanup();
	return 0;
}
