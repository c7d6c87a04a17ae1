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

#define CONFIG_UPGRADE_ALLOW_MAX	16
#define CONFIG_UPGRADE_ALLOW_MAX_STR	"16"
#define CONFIG_VFIO_MAX			8
#define CONFIG_VFIO_MAX_STR		"8"
#define CONFIG_DISK_MAX			4
#define CONFIG_DISK_MAX_STR		"4"
#define CONFIG_NET_MAX			4
#define CONFIG_NET_MAX_STR		"4"

struct vmm_config {
	enum vmm_guest_kind guest;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	u64 mem_size;
	unsigned int nr_cpus;
	bool hugepages;
	const char *control_path;	/* listening socket, or client target */
	const char *control_group;	/* its group: mode 0660, else 0600 */
	const char *cmd;		/* client mode: command to send */
	const char *serial_log;		/* copy of the guest's COM1 output */
	bool serial_stdin;		/* feed stdin to COM1 */
	u64 report_ms;			/* built-in guest report interval */
	bool touch_ram;			/* built-in guest touches all RAM */

	/* Live upgrade client (vmm --live-upgrade) and its helpers. */
	bool live_upgrade;		/* client: ask the VMM to upgrade */
	const char *upgrade_binary;	/* --binary: the new VMM */
	const char *upgrade_mode;	/* --upgrade-mode: auto, adopt, ... */
	bool no_preflight;		/* --no-preflight */
	bool adopt_zap;			/* --adopt-zap */
	bool upgrade_preflight;		/* --upgrade-preflight: answer it */

	/* --upgrade-allow: what a live upgrade may exec besides this binary. */
	const char *upgrade_allow[CONFIG_UPGRADE_ALLOW_MAX];
	unsigned int nr_upgrade_allow;

	/* --vfio: host PCI functions to pass through (vfio/). */
	const char *vfio[CONFIG_VFIO_MAX];
	unsigned int nr_vfio;

	/* --disk FILE[,readonly]: raw disk images, virtio-blk (virtio/blk.c). */
	const char *disks[CONFIG_DISK_MAX];
	unsigned int nr_disks;

	/* --net tap=NAME|fd=N[,mac=MAC]: virtio-net (virtio/net.c). */
	const char *nets[CONFIG_NET_MAX];
	unsigned int nr_nets;
};

/*
 * config.c: parse a command line.  0, CONFIG_HELP (--help or --version
 * answered: exit 0), or 2 on bad usage.
 */
#define CONFIG_HELP	-1
int config__parse(int argc, char **argv, struct vmm_config *cfg);

#define VMM_DEFAULT_CMDLINE	"console=ttyS0 reboot=k panic=-1"
#define VMM_DEFAULT_REPORT_MS	10

#endif
