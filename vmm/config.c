// SPDX-License-Identifier: GPL-2.0
/*
 * The command line: options, their checks and --help.  Used by main() and
 * by a live upgrade's new image, which parses the argv the old image
 * recorded, so both agree on what the VMM was asked to run.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vmm/config.h"
#include "vmm/guest_mem.h"
#include "vmm/vfio.h"
#include "vmm/virtio.h"
#include "vmm/version.h"
#include "vmm/vm.h"

enum {
	OPT_GUEST = 0x100,
	OPT_CMD,
	OPT_HUGEPAGES,
	OPT_SERIAL_LOG,
	OPT_NO_STDIN,
	OPT_REPORT_MS,
	OPT_TOUCH_RAM,
	OPT_LIVE_UPGRADE,
	OPT_BINARY,
	OPT_UPGRADE_MODE,
	OPT_NO_PREFLIGHT,
	OPT_ADOPT_ZAP,
	OPT_UPGRADE_PREFLIGHT,
	OPT_CONTROL_GROUP,
	OPT_UPGRADE_ALLOW,
	OPT_VFIO,
	OPT_DISK,
	OPT_NET,
	OPT_LOG,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{ "kernel",	required_argument, NULL, 'k' },
	{ "initrd",	required_argument, NULL, 'i' },
	{ "cmdline",	required_argument, NULL, 'a' },
	{ "mem",	required_argument, NULL, 'm' },
	{ "cpus",	required_argument, NULL, 'c' },
	{ "control",	required_argument, NULL, 's' },
	{ "control-group", required_argument, NULL, OPT_CONTROL_GROUP },
	{ "guest",	required_argument, NULL, OPT_GUEST },
	{ "cmd",	required_argument, NULL, OPT_CMD },
	{ "hugepages",	no_argument,	   NULL, OPT_HUGEPAGES },
	{ "serial-log",	required_argument, NULL, OPT_SERIAL_LOG },
	{ "no-stdin",	no_argument,	   NULL, OPT_NO_STDIN },
	{ "report-ms",	required_argument, NULL, OPT_REPORT_MS },
	{ "touch-ram",	no_argument,	   NULL, OPT_TOUCH_RAM },
	{ "live-upgrade", no_argument,	   NULL, OPT_LIVE_UPGRADE },
	{ "binary",	required_argument, NULL, OPT_BINARY },
	{ "upgrade-mode", required_argument, NULL, OPT_UPGRADE_MODE },
	{ "no-preflight", no_argument,	   NULL, OPT_NO_PREFLIGHT },
	{ "adopt-zap",	no_argument,	   NULL, OPT_ADOPT_ZAP },
	{ "upgrade-preflight", no_argument, NULL, OPT_UPGRADE_PREFLIGHT },
	{ "upgrade-allow", required_argument, NULL, OPT_UPGRADE_ALLOW },
	{ "vfio",	required_argument, NULL, OPT_VFIO },
	{ "disk",	required_argument, NULL, OPT_DISK },
	{ "net",	required_argument, NULL, OPT_NET },
	{ "log",	required_argument, NULL, OPT_LOG },
	{ "verbose",	no_argument,	   NULL, 'v' },
	{ "version",	no_argument,	   NULL, OPT_VERSION },
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: vmm --kernel BZIMAGE [--initrd FILE] [--cmdline STR] [options]\n"
"       vmm --guest builtin [options]\n"
"       vmm --control SOCK --cmd CMD\n"
"       vmm --live-upgrade --control SOCK [--binary NEW] [--upgrade-mode M]\n"
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
"      --touch-ram       built-in guest: write every page of its RAM (up to\n"
"                        128 GiB) once at start, like a guest that used it\n"
"\n"
"Machine:\n"
"  -m, --mem SIZE        guest RAM, 64M to 1T, suffixes K/M/G/T (default 256M)\n"
"  -c, --cpus N          vCPUs, 1 to %d (default 1)\n"
"      --hugepages       back guest RAM with 2 MiB hugetlb pages\n"
"      --vfio BDF        pass the host PCI function BDF (0000:00:04.0) through:\n"
"                        bound to vfio-pci, in a viable IOMMU group that\n"
"                        this user may open; all guest RAM is mapped for\n"
"                        its DMA (RLIMIT_MEMLOCK).  Repeatable, up to %d\n"
"      --disk FILE[,readonly]  a raw disk image as a virtio-blk PCI device\n"
"                        (write-back: the guest's flush is an fdatasync).\n"
"                        Repeatable, up to " CONFIG_DISK_MAX_STR "\n"
"      --net tap=NAME[,mac=MAC]  a virtio-net PCI device on the tap NAME\n"
"                        (attached to, or created); kept across a live upgrade\n"
"      --net fd=N[,mac=MAC]  the same on a tap a manager opened (with\n"
"                        IFF_VNET_HDR and IFF_NO_PI) and passed as fd N.\n"
"                        Repeatable, up to " CONFIG_NET_MAX_STR "\n"
"\n"
"Console and control:\n"
"  -s, --control SOCK    listen for control commands on this UNIX socket;\n"
"                        with --cmd or --live-upgrade, the socket to talk to.\n"
"                        Created mode 0600 whatever the umask: whoever can\n"
"                        connect can pause, quit and upgrade the VMM\n"
"      --control-group GROUP  make the socket mode 0660, group GROUP (a\n"
"                        name in /etc/group or a number; the VMM's user\n"
"                        must be in it)\n"
"      --cmd CMD         client mode: send CMD (status, pause, resume,\n"
"                        quit, last-upgrade, or a raw JSON object) and\n"
"                        print the reply\n"
"      --serial-log FILE also write the guest's COM1 output to FILE\n"
"      --no-stdin        do not feed stdin to COM1\n"
"  -v, --verbose         log unclaimed I/O and other details to stderr\n"
"      --log FORMAT      how messages on stderr look: auto (default: syslog\n"
"                        when stderr is the journal, else plain), plain,\n"
"                        syslog (\"<3>\" priority prefixes) or time (UTC\n"
"                        time prefixes)\n"
"      --version         print the version and exit\n"
"  -h, --help            show this help\n"
"\n"
"Live upgrade (Documentation/upgrade.rst):\n"
"      --live-upgrade    client mode: make the VMM on --control exec NEW and\n"
"                        keep the guest running; prints a result line and a\n"
"                        JSON report with the downtime of each phase\n"
"      --binary NEW      the VMM binary to upgrade to (default: the running\n"
"                        VMM's own path)\n"
"      --upgrade-mode M  auto (default: adopt if /dev/cprstash exists, else\n"
"                        cloexec), adopt, rebuild or cloexec\n"
"      --no-preflight    do not run NEW --upgrade-preflight before pausing\n"
"      --adopt-zap       adopt drops the guest's mappings, as before\n"
"                        CPRSTASH_ADOPT_KEEP_MAPPINGS (for comparison)\n"
"      --upgrade-preflight  print the upgrade record format this binary\n"
"                        reads and exit 0 (what the preflight runs)\n"
"      --upgrade-allow PATH  the VMM: a live upgrade may exec PATH (a file),\n"
"                        or a file directly in PATH (a directory) if it and\n"
"                        the directory are owned by root or the VMM's user\n"
"                        and not group or world writable; repeatable, up to\n"
"                        %d.  Always allowed: the VMM's own binary\n"
"\n"
"Exit status: 0 when the guest powers off or resets or a client sends\n"
"\"quit\", 1 on an error, 2 on a bad command line.  A client exits 0 when\n"
"the reply has \"ok\": true (for --live-upgrade: the upgrade happened).\n"
"Protocol: Documentation/vmm.rst.\n",
		VMM_DEFAULT_REPORT_MS, VM_MAX_VCPUS, CONFIG_VFIO_MAX,
		CONFIG_UPGRADE_ALLOW_MAX);
}

static int bad_usage(const char *fmt, const char *arg)
{
	char msg[300];

	/* Through pr_err(): a bad ExecStart= line reaches the journal as an error. */
	snprintf(msg, sizeof(msg), fmt, arg);
	pr_err("%s (see vmm --help)", msg);
	return 2;
}

static int config__check(struct vmm_config *cfg)
{
	const char *why;

	if (cfg->upgrade_preflight)
		return 0;
	if (cfg->live_upgrade || cfg->cmd) {
		if (!cfg->control_path)
			return bad_usage("%s needs --control SOCK",
					 cfg->cmd ? "--cmd" : "--live-upgrade");
		if (cfg->live_upgrade && cfg->cmd)
			return bad_usage("%s", "--cmd and --live-upgrade exclude each other");
		if (cfg->control_group)
			return bad_usage("%s", "--control-group is for the VMM's own socket, not a client");
		if (cfg->nr_upgrade_allow)
			return bad_usage("%s", "--upgrade-allow is for the VMM, not a client");
		if (cfg->nr_vfio)
			return bad_usage("%s", "--vfio is for the VMM, not a client");
		if (cfg->nr_disks)
			return bad_usage("%s", "--disk is for the VMM, not a client");
		if (cfg->nr_nets)
			return bad_usage("%s", "--net is for the VMM, not a client");
		return 0;
	}
	if (cfg->control_group && !cfg->control_path)
		return bad_usage("%s", "--control-group needs --control SOCK");
	if (cfg->upgrade_binary || cfg->upgrade_mode || cfg->no_preflight ||
	    cfg->adopt_zap)
		return bad_usage("%s", "--binary, --upgrade-mode, --no-preflight and --adopt-zap go with --live-upgrade");
	why = guest_mem__check_size(cfg->mem_size, cfg->hugepages);
	if (why)
		return bad_usage("--mem: the size %s", why);
	if (cfg->guest == GUEST_LINUX && !cfg->kernel)
		return bad_usage("%s", "no --kernel given (or use --guest builtin)");
	if (cfg->guest == GUEST_BUILTIN && (cfg->kernel || cfg->initrd))
		return bad_usage("%s", "--guest builtin takes no --kernel or --initrd");
	if (cfg->touch_ram && cfg->guest != GUEST_BUILTIN)
		return bad_usage("%s", "--touch-ram is for --guest builtin");
	return 0;
}

/* A well-formed PCI address, not given twice; whether it exists is run.c's. */
static int config__add_vfio(struct vmm_config *cfg, const char *arg)
{
	char bdf[VFIO_BDF_LEN], other[VFIO_BDF_LEN];
	unsigned int i;

	if (vfio__parse_bdf(arg, bdf))
		return bad_usage("--vfio: \"%s\" is not a PCI address DDDD:BB:DD.F", arg);
	for (i = 0; i < cfg->nr_vfio; i++) {
		vfio__parse_bdf(cfg->vfio[i], other);
		if (!strcmp(bdf, other))
			return bad_usage("--vfio: %s is given twice", bdf);
	}
	if (cfg->nr_vfio == CONFIG_VFIO_MAX)
		return bad_usage("--vfio: more than %s devices", CONFIG_VFIO_MAX_STR);
	cfg->vfio[cfg->nr_vfio++] = arg;
	return 0;
}

/* A well-formed --disk; whether the file opens is virtio/blk.c's. */
static int config__add_disk(struct vmm_config *cfg, const char *arg)
{
	char path[4096];
	bool ro;

	if (virtio_blk__parse(arg, path, sizeof(path), &ro))
		return bad_usage("--disk: \"%s\" is not FILE or FILE,readonly", arg);
	if (cfg->nr_disks == CONFIG_DISK_MAX)
		return bad_usage("--disk: more than %s disks", CONFIG_DISK_MAX_STR);
	cfg->disks[cfg->nr_disks++] = arg;
	return 0;
}

/* A well-formed --net; whether the tap opens is virtio/net.c's. */
static int config__add_net(struct vmm_config *cfg, const char *arg)
{
	struct virtio_net_opts o;

	if (virtio_net__parse(arg, cfg->nr_nets, &o))
		return bad_usage("--net: \"%s\" is not tap=NAME or fd=N, then ,mac=MAC", arg);
	if (cfg->nr_nets == CONFIG_NET_MAX)
		return bad_usage("--net: more than %s devices", CONFIG_NET_MAX_STR);
	cfg->nets[cfg->nr_nets++] = arg;
	return 0;
}

int config__parse(int argc, char **argv, struct vmm_config *cfg)
{
	u64 v;
	int c, ret;

	*cfg = (struct vmm_config){
		.guest = GUEST_LINUX,
		.cmdline = VMM_DEFAULT_CMDLINE,
		.mem_size = 256 * SZ_1M,
		.nr_cpus = 1,
		.serial_stdin = true,
		.report_ms = VMM_DEFAULT_REPORT_MS,
	};
	opterr = 0;
	optind = 0;	/* full re-initialization: this may run twice */
	while ((c = getopt_long(argc, argv, ":k:i:a:m:c:s:vh", long_options, NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'a': cfg->cmdline = optarg; break;
		case 's': cfg->control_path = optarg; break;
		case OPT_CONTROL_GROUP: cfg->control_group = optarg; break;
		case OPT_UPGRADE_ALLOW:
			if (optarg[0] != '/')
				return bad_usage("--upgrade-allow: \"%s\" is not an absolute path",
						 optarg);
			if (cfg->nr_upgrade_allow == CONFIG_UPGRADE_ALLOW_MAX)
				return bad_usage("--upgrade-allow: more than %s",
						 CONFIG_UPGRADE_ALLOW_MAX_STR);
			cfg->upgrade_allow[cfg->nr_upgrade_allow++] = optarg;
			break;
		case OPT_VFIO:
			ret = config__add_vfio(cfg, optarg);
			if (ret)
				return ret;
			break;
		case OPT_DISK:
			ret = config__add_disk(cfg, optarg);
			if (ret)
				return ret;
			break;
		case OPT_NET:
			ret = config__add_net(cfg, optarg);
			if (ret)
				return ret;
			break;
		case OPT_CMD: cfg->cmd = optarg; break;
		case OPT_HUGEPAGES: cfg->hugepages = true; break;
		case OPT_SERIAL_LOG: cfg->serial_log = optarg; break;
		case OPT_NO_STDIN: cfg->serial_stdin = false; break;
		case OPT_TOUCH_RAM: cfg->touch_ram = true; break;
		case OPT_LIVE_UPGRADE: cfg->live_upgrade = true; break;
		case OPT_BINARY: cfg->upgrade_binary = optarg; break;
		case OPT_NO_PREFLIGHT: cfg->no_preflight = true; break;
		case OPT_ADOPT_ZAP: cfg->adopt_zap = true; break;
		case OPT_UPGRADE_PREFLIGHT: cfg->upgrade_preflight = true; break;
		case 'v': vmm_verbose = true; break;
		case OPT_LOG:
			ret = log__parse_format(optarg);
			if (ret < 0)
				return bad_usage("--log: \"%s\" is not auto, plain, syslog or time",
						 optarg);
			log__set_format(ret);
			break;
		case OPT_VERSION:
			printf("vmm %s\n", vmm_version);
			return CONFIG_HELP;
		case 'h':
			usage(stdout);
			return CONFIG_HELP;
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
		case OPT_UPGRADE_MODE:
			if (strcmp(optarg, "auto") && strcmp(optarg, "adopt") &&
			    strcmp(optarg, "rebuild") && strcmp(optarg, "cloexec"))
				return bad_usage("--upgrade-mode: \"%s\" is not auto, adopt, rebuild or cloexec",
						 optarg);
			cfg->upgrade_mode = optarg;
			break;
		case ':':
			return bad_usage("%s needs an argument", argv[optind - 1]);
		default:
			return bad_usage("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument \"%s\"", argv[optind]);
	return config__check(cfg);
}
