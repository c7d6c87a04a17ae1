/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live upgrade: exec a new VMM binary under a running guest
 * (Documentation/upgrade.rst).  The old image handles the "live-upgrade"
 * control command; the new image starts as "vmm --incoming".
 */
#ifndef VMM_UPGRADE_H
#define VMM_UPGRADE_H

#include "vmm/config.h"
#include "vmm/util.h"

struct json_object;
struct control_request;
struct vmm_run;

/* argv[1] of a new image; nothing else on its command line. */
#define UPGRADE_INCOMING_ARG	"--incoming"
/* First word of the --upgrade-preflight answer. */
#define UPGRADE_PREFLIGHT_TAG	"vmm-upgrade"

enum upgrade_mode {
	UPGRADE_AUTO,		/* adopt if /dev/cprstash works, else cloexec */
	UPGRADE_ADOPT,		/* stash; the new image adopts the KVM VM */
	UPGRADE_REBUILD,	/* stash; the new image re-creates the VM */
	UPGRADE_CLOEXEC,	/* no module: inherited fds + a state memfd */
};

const char *upgrade__mode_name(enum upgrade_mode mode);
int upgrade__parse_mode(const char *name, enum upgrade_mode *mode);

/*
 * The "live-upgrade" command from control client @slot.  On success this
 * image is replaced and the new one replies; otherwise the guest runs on
 * here and the error reply is returned.
 */
struct json_object *upgrade__request(struct vmm_run *run, unsigned int slot,
				     const struct control_request *req,
				     const char *line, size_t len);

/*
 * allow.c: what a live upgrade may exec.  @self: the VMM's own binary, as
 * it was when this image started; @paths: --upgrade-allow, files allowed
 * exactly and directories whose trusted files are allowed.
 */
struct upgrade_allow {
	const char *self;
	const char *const *paths;
	unsigned int nr_paths;
};

/*
 * 0 if @binary may be exec'd, with the path to exec in @canon (PATH_MAX
 * bytes: @binary with every symlink resolved); else -errno and why in @err.
 */
int upgrade__allowed(const struct upgrade_allow *allow, const char *binary,
		     char *canon, char *err, size_t errlen);
/* The running binary's path, " (deleted)" taken off; 0 or -errno. */
int upgrade__self_path(char *buf, size_t len);

/*
 * upgrade/fault.c: a test hook, VMM_TEST_UPGRADE_FAULT=POINT:ACTION in the
 * VMM's environment makes its live upgrades fail at POINT
 * (Documentation/upgrade.rst, "Faults").  An operator never sets it.
 */
#define UPGRADE_ENV_FAULT	"VMM_TEST_UPGRADE_FAULT"

enum upgrade_fault_action {
	UPGRADE_FAULT_NONE,
	UPGRADE_FAULT_KILL,	/* raise(SIGKILL) */
	UPGRADE_FAULT_CRASH,	/* raise(SIGSEGV) */
	UPGRADE_FAULT_EXIT,	/* exit(3) */
	UPGRADE_FAULT_ENOMEM,	/* the step fails with ENOMEM */
	UPGRADE_FAULT_EXPIRE,	/* after-seal: the stash's deadline passes */
};

struct upgrade_fault {
	char point[32];
	enum upgrade_fault_action action;
};

/* "POINT:ACTION" into @f: 0, or -EINVAL (unknown, or not at that point). */
int upgrade_fault__parse(const char *spec, struct upgrade_fault *f);
const char *upgrade_fault__action_name(enum upgrade_fault_action action);
/* 0 unless the environment holds a fault that does not parse (@err says). */
int upgrade_fault__check(char *err, size_t errlen);
/*
 * The upgrade reached @point: 0 to go on; -ENOMEM for the caller to fail
 * as its step would have; kill and exit do not return.
 */
int upgrade_fault__point(const char *point);
/* Whether this process's fault is @action at @point (the caller acts). */
bool upgrade_fault__wants(const char *point, enum upgrade_fault_action action);

/* main(): "vmm --incoming" (a new image), never returns on success. */
int upgrade__incoming(const char *argv0);
/* main(): "vmm --upgrade-preflight". */
int upgrade__preflight_answer(void);
/* main(): "vmm --live-upgrade --control SOCK ...". */
int upgrade__client(const struct vmm_config *cfg);

#endif
