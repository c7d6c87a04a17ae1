/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the command line asked for.
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include "vmm/util.h"

enum vmm_guest_kind {
	GUEST_LINUX,
	GUEST_BUILTIN,
};

struct vmm_config {
	enum vmm_guest_kind guest;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	u64 mem_size;
	unsigned int nr_cpus;
	bool hugepages;
	const char *control_path;	/* listening socket, or client target */
	const char *cmd;		/* client mode: command to send */
	const char *serial_log;		/* copy of the guest's COM1 output */
	bool serial_stdin;		/* feed stdin to COM1 */
	u64 report_ms;			/* built-in guest report interval */
};

#define VMM_DEFAULT_CMDLINE	"console=ttyS0 reboot=k panic=-1"
#define VMM_DEFAULT_REPORT_MS	10

#endif
