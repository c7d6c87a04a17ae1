// SPDX-License-Identifier: GPL-2.0
/*
 * The live upgrade's fault hook (upgrade/fault.c), no KVM needed: which
 * POINT:ACTION specs parse (every point, only the actions meaningful
 * there; no prefix of a name, no unknown word), and what a point does
 * with the fault of its process's environment: kill, crash, exit, enomem
 * at that point and nothing anywhere else.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "vmm/upgrade.h"

static void expect_parse(const char *spec, const char *point, enum upgrade_fault_action action)
{
	struct upgrade_fault f;
	int ret = upgrade_fault__parse(spec, &f);

	TEST_ASSERT(ret == 0, "\"%s\": %s", spec, strerror(-ret));
	TEST_ASSERT(!strcmp(f.point, point) && f.action == action, "\"%s\": %s:%s", spec,
		    f.point, upgrade_fault__action_name(f.action));
}

static void expect_refused(const char *spec)
{
	struct upgrade_fault f;

	TEST_ASSERT(upgrade_fault__parse(spec, &f) == -EINVAL, "\"%s\" was accepted", spec);
}

/* In a child that has not read its fault yet: @spec at @point. */
static int child_at(const char *spec, const char *point)
{
	pid_t pid;

	fflush(stdout);	/* the child's exit() must not print it again */
	pid = fork();

	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/*
		 * The crash must end the child as a VMM without a rollback
		 * handler ends: not in a sanitizer's SIGSEGV report.
		 */
		signal(SIGSEGV, SIG_DFL);
		setenv(UPGRADE_ENV_FAULT, spec, 1);
		upgrade_fault__point("after-pause");	/* another point: nothing */
		upgrade_fault__point(point);
		_exit(0);
	}
	return test_wait(pid);
}

int main(void)
{
	char err[200];

	expect_parse("after-pause:kill", "after-pause", UPGRADE_FAULT_KILL);
	expect_parse("mid-stash:exit", "mid-stash", UPGRADE_FAULT_EXIT);
	expect_parse("after-pause:crash", "after-pause", UPGRADE_FAULT_CRASH);
	expect_parse("after-seal:expire", "after-seal", UPGRADE_FAULT_EXPIRE);
	expect_parse("before-exec:enomem", "before-exec", UPGRADE_FAULT_ENOMEM);
	expect_parse("incoming:kill", "incoming", UPGRADE_FAULT_KILL);
	expect_parse("uring-setup:enomem", "uring-setup", UPGRADE_FAULT_ENOMEM);
	expect_parse("disk-uring:enomem", "disk-uring", UPGRADE_FAULT_ENOMEM);
	expect_parse("before-adopt:kill", "before-adopt", UPGRADE_FAULT_KILL);
	expect_parse("after-adopt:exit", "after-adopt", UPGRADE_FAULT_EXIT);
	expect_parse("before-resume:enomem", "before-resume", UPGRADE_FAULT_ENOMEM);
	printf("ok: every point parses\n");

	expect_refused("");
	expect_refused("after-seal");
	expect_refused("after-seal:");
	expect_refused(":kill");
	expect_refused("after:kill");			/* a prefix of a point */
	expect_refused("after-seal-x:kill");
	expect_refused("after-seal:KILL");
	expect_refused("after-seal:none");
	expect_refused("after-seal:kill:exit");
	expect_refused("before-exec:expire");		/* expire is after-seal's */
	expect_refused("uring-setup:kill");		/* uring-setup only fails */
	expect_refused("a-point-name-longer-than-thirty-two-bytes:kill");
	printf("ok: malformed specs refused\n");

	TEST_ASSERT(child_at("before-exec:kill", "before-exec") == 128 + SIGKILL, "kill");
	TEST_ASSERT(child_at("before-exec:exit", "before-exec") == 3, "exit");
	TEST_ASSERT(child_at("before-exec:crash", "before-exec") == 128 + SIGSEGV, "crash");
	TEST_ASSERT(child_at("before-exec:exit", "incoming") == 0, "exit elsewhere");
	TEST_ASSERT(child_at("no-such-point:kill", "before-exec") == 0, "a bad spec acts");
	printf("ok: kill and exit act at their point only\n");

	unsetenv(UPGRADE_ENV_FAULT);
	TEST_ASSERT(upgrade_fault__check(err, sizeof(err)) == 0, "no fault: %s", err);
	setenv(UPGRADE_ENV_FAULT, "after-seal:teleport", 1);
	TEST_ASSERT(upgrade_fault__check(err, sizeof(err)) == -EINVAL &&
		    strstr(err, UPGRADE_ENV_FAULT), "a bad fault is not reported: %s", err);
	setenv(UPGRADE_ENV_FAULT, "after-seal:enomem", 1);
	TEST_ASSERT(upgrade_fault__check(err, sizeof(err)) == 0, "after-seal:enomem: %s", err);
	TEST_ASSERT(upgrade_fault__point("after-pause") == 0, "after-pause failed");
	TEST_ASSERT(upgrade_fault__point("after-seal") == -ENOMEM, "after-seal did not fail");
	TEST_ASSERT(upgrade_fault__wants("after-seal", UPGRADE_FAULT_ENOMEM) &&
		    !upgrade_fault__wants("after-seal", UPGRADE_FAULT_EXPIRE) &&
		    !upgrade_fault__wants("after-pause", UPGRADE_FAULT_ENOMEM), "wants");
	printf("ok: enomem fails its point only\n");
	return 0;
}
