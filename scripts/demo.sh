#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main job, end to end on a fresh Debian 12 machine: build cprstash.ko
# and the VMM, boot the test VM (nested KVM, module loaded), run a guest
# (the built-in one: 2 vCPUs) and upgrade the running VMM live in each
# mode, adopt, rebuild and cloexec, all on the same VM.  Per mode, one
# warm-up upgrade (cold caches; shown apart) and RUNS counted ones; then a
# table per mode in milliseconds: median downtime, parked span and guest
# gap, and beside it the floor (tools/upgrade-floor: exec of a static
# binary plus a new VM's first guest exit, same RAM and vCPUs).  Exits
# non-zero, with the VMM's log, if the VMM does not start or an upgrade
# fails.  Everything the test VM printed: build/demo/testvm.log.
#
# --linux: instead, a Linux guest with a virtio disk, writing checksummed
# records with an fsync after each and re-reading them, and a virtio-net
# tap, echoing a TCP stream from the test VM meanwhile (the e2e-workload
# rows of vmm/tests/kvm-tests.list: 10 upgrades per mode, the first one
# cold); per mode the table of downtimes, the devices' freeze (the disk's
# requests in flight drained), the records the host found on the disk and
# the stream's bytes checked (--runs and --mem do not apply).
#
# usage: scripts/demo.sh [--runs N (3)] [--mem SIZE (1G)] [--linux] [--help]
set -euo pipefail
self=$(readlink -f "$0")
top=${self%/scripts/*}

usage() {
	sed -n '3,/^# usage:/{ s/^# \{0,1\}//; p; }' "$self"
}
bad_usage() {
	echo "demo: $*" >&2
	sed -n 's/^# usage: /usage: /p' "$self" >&2
	exit 2
}

runs=3
mem=1G
linux=
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--runs) [ $# -ge 2 ] || bad_usage "--runs needs a number"; runs=$2; shift 2 ;;
	--runs=*) runs=${1#*=}; shift ;;
	--mem) [ $# -ge 2 ] || bad_usage "--mem needs a size"; mem=$2; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--linux) linux=1; shift ;;
	*) bad_usage "unknown argument '$1'" ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || bad_usage "--runs wants a whole number from 1, not '$runs'"
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || bad_usage "--mem wants a size like 512M or 1G, not '$mem'"

cd "$top"
BENCH_TAG=demo
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. scripts/bench-lib.sh
out=build/demo
cpus=2
mem_mib=$(bench_mib "$mem")
# Guest RAM is not touched, but the test VM must be able to hold it.
vm_mib=$((mem_mib + 2048 > 3072 ? mem_mib + 2048 : 3072))

echo "demo: installing packages (scripts/setup.sh; nothing to do if all are there)"
scripts/setup.sh
bench_step "building the module (scripts/build-kmod.sh)" scripts/build-kmod.sh
bench_step "building the VMM (scripts/build-userspace.sh build/plain)" \
	scripts/build-userspace.sh build/plain
mkdir -p "$out"

# A Linux guest with its disk and network: the test rows themselves.
if [ -n "$linux" ]; then
	bench_linux_devices "$out" demo
	exit
fi

# What runs inside the test VM: the upgrades, then the floor.
cmd="upgrade-series --one-vmm --tag demo /build/vmm/vmm $mem $cpus $runs adopt rebuild cloexec || exit
echo 'demo: the floor: exec of a static binary + a new VM up to its first guest exit, 1 warm-up + $runs runs'
upgrade-floor --mem $mem --cpus $cpus --runs $runs >/tmp/floor.out 2>&1 ||
	echo \"demo: the floor could not be measured (upgrade-floor exited \$?)\"
grep -v '^{' /tmp/floor.out | sed 's/^/demo:   /'
echo \"FLOOR \$(grep '^{' /tmp/floor.out)\"
true"

last=$(cat "$out/last-run" 2>/dev/null || true)
echo "demo: booting the test VM (nested KVM under TCG, ${last:-a few seconds to boot, minutes for the upgrades})"
set +e
scripts/testvm.sh --mem "$vm_mib" --timeout 1800 --kmod kmod/cprstash.ko \
	--file build/plain/vmm/vmm:/build/vmm/vmm \
	--file scripts/upgrade-series.sh:/bin/upgrade-series \
	--file build/plain/tools/upgrade-floor \
	--file "$(command -v jq)" \
	-- "$cmd" 2>&1 | tee "$out/testvm.log" |
	grep --line-buffered -v -e '^\[ *[0-9.]*\] ' -e '^REPORT ' -e '^FLOOR '
rc=${PIPESTATUS[0]}
set -e

if [ "$rc" != 0 ]; then
	echo "demo: FAILED: the run in the test VM exited $rc (output above; all of it in $out/testvm.log)" >&2
	exit "$rc"
fi
# For the next run's estimate.
sed -n 's/.*(boot to command \([0-9.]*\)s, total \([0-9.]*\)s).*/last time, with --runs '"$runs"': ~\1 s to boot, ~\2 s in all/p' \
	"$out/testvm.log" >"$out/last-run" || true

echo
echo "Live upgrade of a running VMM, $cpus vCPUs, $mem of guest RAM, $runs counted upgrades per mode"
echo "($BENCH_VM_ENV):"
echo
upgrade_table "$out/testvm.log"
floor_table "$out/testvm.log" "$BENCH_VM_ENV, same boot"
echo
echo "$BENCH_VM_NOTE"
echo "Medians of more runs, per phase and with the host: scripts/bench-upgrade.sh"
