// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: parse the command line and dispatch, nothing else.
 *   vmm --control SOCK --cmd CMD     client mode (client.c)
 *   vmm [--kernel ...|--guest builtin] run a VM (run.c)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"
#include "vmm/control.h"
#include "vmm/guest_mem.h"
#include "vmm/run.h"
#include "vmm/vm.h"

enum {
	OPT_GUEST = 0x100,
	OPT_CMD,
	OPT_HUGEPAGES,
	OPT_SERIAL_LOG,
	OPT_NO_STDIN,
	OPT_REPORT_MS,
};

static const struct option long_options[] = {
	{ "kernel",	required_argument, NULL, 'k' },
	{ "initrd",	required_argument, NULL, 'i' },
	{ "cmdline",	required_argument, NULL, 'a' },
	{ "mem",	required_argument, NULL, 'm' },
	{ "cpus",	required_argument, NULL, 'c' },
	{ "control",	required_argument, NULL, 's' },
	{ "guest",	required_argument, NULL, OPT_GUEST },
	{ "cmd",	required_argument, NULL, OPT_CMD },
	{ "hugepages",	no_argument,	   NULL, OPT_HUGEPAGES },
	{ "serial-log",	required_argument, NULL, OPT_SERIAL_LOG },
	{ "no-stdin",	no_argument,	   NULL, OPT_NO_STDIN },
	{ "report-ms",	required_argument, NULL, OPT_REPORT_MS },
	{ "verbose",	no_argument,	   NULL, 'v' },
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: vmm --kernel BZIMAGE [--initrd FILE] [--cmdline STR] [options]\n"
"       vmm --guest builtin [options]\n"
"       vmm --control SOCK --cmd CMD\n"
"\n"
"Run an x86-64 KVM guest: a Linux bzImage (64-bit boot protocol) or the\n"
"built-in test guest, with the in-kernel irqchip and PIT and a 16550 UART\n"
"on COM1 wired to stdin/stdout.\n"
"\n"
"Guest:\n"
"  -k, --kernel FILE     Linux bzImage to boot\n"
"  -i, --initrd FILE     initramfs to load with it\n"
"  -a, --cmdline STR     kernel command line\n"
"                        (default \"" VMM_DEFAULT_CMDLINE "\")\n"
"      --guest KIND      \"linux\" (default; needs --kernel) or \"builtin\":\n"
"                        the built-in test guest, one counter per vCPU\n"
"      --report-ms N     built-in guest: report on its port every N ms\n"
"                        (default %d)\n"
"\n"
"Machine:\n"
"  -m, --mem SIZE        guest RAM, 64M to 1T, suffixes K/M/G/T (default 256M)\n"
"  -c, --cpus N          vCPUs, 1 to %d (default 1)\n"
"      --hugepages       back guest RAM with 2 MiB hugetlb pages\n"
"\n"
"Console and control:\n"
"  -s, --control SOCK    listen for control commands on this UNIX socket;\n"
"                        with --cmd, the socket to send the command to\n"
"      --cmd CMD         client mode: send CMD (status, pause, resume,\n"
"                        quit, or a raw JSON object) and print the reply\n"
"      --serial-log FILE also write the guest's COM1 output to FILE\n"
"      --no-stdin        do not feed stdin to COM1\n"
"  -v, --verbose         log unclaimed I/O and other details to stderr\n"
"  -h, --help            show this help\n"
"\n"
"Exit status: 0 when the guest powers off or resets or a client sends\n"
"\"quit\", 1 on an error, 2 on a bad command line.  A client exits 0 when\n"
"the reply has \"ok\": true.  Protocol: Documentation/vmm.rst.\n",
		VMM_DEFAULT_REPORT_MS, VM_MAX_VCPUS);
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmm: error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see vmm --help)\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct vmm_config *cfg)
{
	const char *why;
	u64 v;
	int c;

	*cfg = (struct vmm_config){
		.guest = GUEST_LINUX,
		.cmdline = VMM_DEFAULT_CMDLINE,
		.mem_size = 256 * SZ_1M,
		.nr_cpus = 1,
		.serial_stdin = true,
		.report_ms = VMM_DEFAULT_REPORT_MS,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:a:m:c:s:vh", long_options, NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'a': cfg->cmdline = optarg; break;
		case 's': cfg->control_path = optarg; break;
		case OPT_CMD: cfg->cmd = optarg; break;
		case OPT_HUGEPAGES: cfg->hugepages = true; break;
		case OPT_SERIAL_LOG: cfg->serial_log = optarg; break;
		case OPT_NO_STDIN: cfg->serial_stdin = false; break;
		case 'v': vmm_verbose = true; break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'm':
			if (parse_size(optarg, &cfg->mem_size))
				return bad_usage("--mem: malformed size \"%s\"", optarg);
			break;
		case 'c':
			if (parse_size(optarg, &v) || v < 1 || v > VM_MAX_VCPUS)
				return bad_usage("--cpus: \"%s\" is not a vCPU count from 1 to 64",
						 optarg);
			cfg->nr_cpus = v;
			break;
		case OPT_REPORT_MS:
			if (parse_size(optarg, &v) || v < 1 || v > 60000)
				return bad_usage("--report-ms: \"%s\" is not 1 to 60000", optarg);
			cfg->report_ms = v;
			break;
		case OPT_GUEST:
			if (!strcmp(optarg, "builtin"))
				cfg->guest = GUEST_BUILTIN;
			else if (!strcmp(optarg, "linux"))
				cfg->guest = GUEST_LINUX;
			else
				return bad_usage("--guest: unknown guest \"%s\"", optarg);
			break;
		case ':':
			return bad_usage("%s needs an argument", argv[optind - 1]);
		default:
			return bad_usage("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument \"%s\"", argv[optind]);
	if (cfg->cmd) {
		if (!cfg->control_path)
			return bad_usage("%s needs --control SOCK", "--cmd");
		return 0;
	}
	why = guest_mem__check_size(cfg->mem_size, cfg->hugepages);
	if (why)
		return bad_usage("--mem: the size %s", why);
	if (cfg->guest == GUEST_LINUX && !cfg->kernel)
		return bad_usage("%s", "no --kernel given (or use --guest builtin)");
	if (cfg->guest == GUEST_BUILTIN && (cfg->kernel || cfg->initrd))
		return bad_usage("%s", "--guest builtin takes no --kernel or --initrd");
	return 0;
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	int ret;

	ret = parse_args(argc, argv, &cfg);
	if (ret)
		return ret;
	if (cfg.cmd)
		return control__client(cfg.control_path, cfg.cmd);
	return vmm__run(&cfg);
}
