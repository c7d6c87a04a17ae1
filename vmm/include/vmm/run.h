/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A running VMM: the VM, its control socket and console, and the main
 * loop.  run.c builds one from the command line; a live upgrade's new
 * image (upgrade/) builds one from the old image's records and files and
 * then enters the same loop.
 */
#ifndef VMM_RUN_H
#define VMM_RUN_H

#include <limits.h>
#include <termios.h>

#include "vmm/config.h"
#include "vmm/control.h"
#include "vmm/vm.h"

struct vmm_run {
	const struct vmm_config *cfg;
	struct vm vm;
	struct control ctl;
	int signal_fd;
	int log_fd;			/* --serial-log, or -1 */
	bool stdin_open;
	bool tty_raw;			/* stdin is a terminal we put in raw mode */
	bool escape;
	struct termios saved_tty;	/* what to put back at exit */

	/* What a live upgrade records to re-create this VMM. */
	int argc;
	char **argv;
	u64 generation;			/* live upgrades this VM went through */
	/*
	 * This image's binary when it started ("" if unknown): what a live
	 * upgrade execs by default, and always may (upgrade/allow.c).
	 */
	char self_path[PATH_MAX];
};

/* Run a VM until it ends; returns the process exit status. */
int vmm__run(const struct vmm_config *cfg, int argc, char **argv);

/* The pieces vmm__run() is made of, for the live upgrade's new image. */
struct vmm_run *run__alloc(const struct vmm_config *cfg, int argc, char **argv);
int run__setup_signals(struct vmm_run *run);
/* Serial output and input; a log_fd already set (kept across exec) stays. */
int run__setup_console(struct vmm_run *run);
/* The main loop until the VM ends, then teardown; returns the exit status. */
int run__loop(struct vmm_run *run);
void run__free(struct vmm_run *run);

#endif
