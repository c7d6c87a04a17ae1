// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection in the live upgrade: a test hook
 * (Documentation/upgrade.rst, "Faults").
 *
 *   VMM_TEST_UPGRADE_FAULT=POINT:ACTION
 *
 * makes every live upgrade of a VMM started with it fail at POINT, one
 * named step of the path (the table below), by ACTION: kill (SIGKILL, which
 * nothing in the process can catch), crash (SIGSEGV), exit (exit(3),
 * atexit handlers run), enomem (the step fails with ENOMEM) or expire (the
 * stash's deadline passes before exec).  It is how e2e_upgrade_faults
 * proves that every such fault leaves the guest running or the VM
 * destroyed with nothing kept, and how e2e_upgrade_rollback makes a new
 * image fail; an operator never sets it.
 *
 * It is compiled in: it costs one getenv() per upgrade and cannot be
 * reached through the control socket, only through the environment the
 * VMM was started with, and whoever sets that can kill the VMM anyway.
 * The variable crosses exec into the new image (points there fire too);
 * a rolled-back image does not get it, and a new image that resumed the
 * guest drops it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade.h"

static const char *const fault_action_names[] = {
	[UPGRADE_FAULT_NONE] = "none",
	[UPGRADE_FAULT_KILL] = "kill",
	[UPGRADE_FAULT_CRASH] = "crash",
	[UPGRADE_FAULT_EXIT] = "exit",
	[UPGRADE_FAULT_ENOMEM] = "enomem",
	[UPGRADE_FAULT_EXPIRE] = "expire",
};

#define ACT(a)	(1u << UPGRADE_FAULT_##a)
#define ANY	(ACT(KILL) | ACT(CRASH) | ACT(EXIT) | ACT(ENOMEM))

/* In the order an upgrade reaches them; what each may do. */
static const struct {
	const char *name;
	unsigned int actions;
} fault_points[] = {
	{ "after-pause", ANY },			/* old image: guest paused */
	{ "mid-stash", ANY },			/* stash: half the files preserved */
	{ "after-seal", ANY | ACT(EXPIRE) },	/* everything preserved */
	{ "before-exec", ANY },			/* ENOMEM: as if execve() failed */
	{ "incoming", ANY },			/* new image: transport open */
	{ "uring-setup", ACT(ENOMEM) },		/* io_uring_queue_init() */
	{ "disk-uring", ACT(ENOMEM) },		/* the same, a --disk restored */
	{ "before-adopt", ANY },		/* adopt: before ADOPT_KVM */
	{ "after-adopt", ANY },			/* adopt: the VM is ours */
	{ "before-resume", ANY },		/* VM recovered, vCPUs not started */
};

const char *upgrade_fault__action_name(enum upgrade_fault_action action)
{
	return name_of(fault_action_names, ARRAY_SIZE(fault_action_names), action);
}

int upgrade_fault__parse(const char *spec, struct upgrade_fault *f)
{
	const char *colon = strchr(spec, ':');
	unsigned int i;
	int action;

	if (!colon || (size_t)(colon - spec) >= sizeof(f->point))
		return -EINVAL;
	action = name_index(fault_action_names, ARRAY_SIZE(fault_action_names), colon + 1);
	if (action <= UPGRADE_FAULT_NONE)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(fault_points); i++) {
		if (strncmp(fault_points[i].name, spec, colon - spec) ||
		    fault_points[i].name[colon - spec])
			continue;
		if (!(fault_points[i].actions & (1u << action)))
			return -EINVAL;
		snprintf(f->point, sizeof(f->point), "%s", fault_points[i].name);
		f->action = action;
		return 0;
	}
	return -EINVAL;
}

/* This process's fault, from its environment: read once. */
static const struct upgrade_fault *upgrade_fault__get(void)
{
	static struct upgrade_fault fault;
	static bool read;
	const char *spec;

	if (read)
		return &fault;
	read = true;
	spec = getenv(UPGRADE_ENV_FAULT);
	if (spec && upgrade_fault__parse(spec, &fault)) {
		pr_warn("%s=%s: not POINT:ACTION (Documentation/upgrade.rst): ignored",
			UPGRADE_ENV_FAULT, spec);
		fault.action = UPGRADE_FAULT_NONE;
	}
	return &fault;
}

int upgrade_fault__check(char *err, size_t errlen)
{
	const char *spec = getenv(UPGRADE_ENV_FAULT);
	struct upgrade_fault f;

	if (!spec || !upgrade_fault__parse(spec, &f))
		return 0;
	snprintf(err, errlen, "%s=%s: not POINT:ACTION", UPGRADE_ENV_FAULT, spec);
	return -EINVAL;
}

bool upgrade_fault__wants(const char *point, enum upgrade_fault_action action)
{
	const struct upgrade_fault *f = upgrade_fault__get();

	return f->action == action && !strcmp(f->point, point);
}

int upgrade_fault__point(const char *point)
{
	const struct upgrade_fault *f = upgrade_fault__get();

	if (f->action == UPGRADE_FAULT_NONE || strcmp(f->point, point))
		return 0;
	pr_warn("live upgrade: test fault %s:%s", point, upgrade_fault__action_name(f->action));
	fflush(NULL);
	switch (f->action) {
	case UPGRADE_FAULT_KILL:
		raise(SIGKILL);
		break;
	case UPGRADE_FAULT_CRASH:
		raise(SIGSEGV);
		break;
	case UPGRADE_FAULT_EXIT:
		exit(3);
	case UPGRADE_FAULT_ENOMEM:
		return -ENOMEM;
	default:
		break;	/* expire: the caller does it (upgrade_fault__wants) */
	}
	return 0;
}
