// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: dispatch on what the command line asks for, nothing else.
 *   vmm --incoming                   a live upgrade's new image (upgrade/)
 *   vmm --upgrade-preflight          answer an upgrade's preflight
 *   vmm --live-upgrade --control S   upgrade client (upgrade/client.c)
 *   vmm --control SOCK --cmd CMD     client mode (client.c)
 *   vmm [--kernel ...|--guest builtin] run a VM (run.c)
 */
#include <string.h>

#include "vmm/config.h"
#include "vmm/control.h"
#include "vmm/run.h"
#include "vmm/upgrade.h"

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	int ret;

	/* First: a new image times its start from here. */
	if (argc == 2 && !strcmp(argv[1], UPGRADE_INCOMING_ARG))
		return upgrade__incoming(argv[0]);

	ret = config__parse(argc, argv, &cfg);
	if (ret)
		return ret == CONFIG_HELP ? 0 : ret;
	if (cfg.upgrade_preflight)
		return upgrade__preflight_answer();
	if (cfg.live_upgrade)
		return upgrade__client(&cfg);
	if (cfg.cmd)
		return control__client(cfg.control_path, cfg.cmd);
	return vmm__run(&cfg, argc, argv);
}
