#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live-upgrade downtime of the VMM per mode, beside the floor the modes
# chase, each measured in the same run and environment:
#   host:     cloexec (and adopt, rebuild if /dev/cprstash is there), the
#             built-in guest with all its RAM touched; only with /dev/kvm
#             (CPRSTASH_TEST_NO_HOST_KVM=1 skips it as if there were none)
#   test VM:  adopt, rebuild, cloexec (module loaded, nested KVM under TCG)
# Per mode a fresh VMM (2 vCPUs, MEM), one warm-up upgrade, not counted,
# then RUNS counted ones (scripts/upgrade-series.sh); the floor is
# tools/upgrade-floor with the same RAM, vCPUs and touched flag: exec of a
# static binary whose old image had guest RAM mapped (mm keeper) plus a
# new VM up to every vCPU's first guest exit.  Prints the median of every
# phase, every mode's downtime as a multiple of the floor (adopt keeps its
# VM: also over exec alone), and plots the medians of downtime, parked
# span and guest gap per mode to build/bench/upgrade*.png.  Asserts no
# duration; exits non-zero if an upgrade failed.
#
# --touch-ram: the test VM's guest also writes all its RAM at start; only
# the first upgrade after that finds it all mapped, so each upgrade gets a
# fresh VMM (slow in the test VM).  --touch-ram-in-vm is the same.
#
# --sweep ram|vcpus|all: the benchmark an operator reads.  Downtime across
# guest RAM (256M to 8G, 2 vCPUs) and vCPUs (1 to 64, 256M), every mode
# (adopt, rebuild, cloexec, adopt-zap), K (--runs, 3) counted upgrades per
# point and mode after a warm-up, each on a fresh VMM whose guest touched
# all its RAM, in one
# test-VM boot (all: the vCPU sweep, then the RAM sweep).  Writes
# build/bench/upgrade-SWEEP.csv (one row per upgrade, run 0 the warm-up),
# upgrade-SWEEP.md (min / p50 / p99 / max per point and mode, the phases,
# the ratios of the targets) and upgrade-SWEEP.png (downtime per mode, log
# axes); Documentation/performance.rst.
#   --quick       256M and 512M, 1 and 2 vCPUs, one counted run, idle
#                 guests, into build/bench/quick/; then checks that the
#                 files are well formed (the suite's test; no timing)
#   --modes "M.." only these modes (the targets need adopt and rebuild)
#   --ram "SIZE..", --vcpus "N..": other points
#   --from-log    the files again from the last run's log, no test VM
#
# --linux: the run with devices: a Linux guest writing its virtio disk and
# echoing a TCP stream over virtio-net, upgraded 10 times per mode; the
# downtimes and the devices' freeze per mode (as scripts/demo.sh --linux).
#
# usage: scripts/bench-upgrade.sh [RUNS (10)] [MEM (1G)] [--touch-ram]
#        scripts/bench-upgrade.sh --linux
#        scripts/bench-upgrade.sh --sweep ram|vcpus|all [--runs K] [--quick]
#                                 [--modes "MODE..."] [--ram "SIZE..."]
#                                 [--vcpus "N..."] [--from-log]
set -euo pipefail
self=$(readlink -f "$0")
top=${self%/scripts/*}

usage() {
	sed -n '/^# usage:/,/^set -euo/{ /^set/d; s/^# \{0,1\}//; p; }' "$self"
}
runs=10
mem=1G
vm_touch=
sweep=
sweep_runs=3
quick=
from_log=
linux=
sweep_modes="adopt rebuild cloexec adopt-zap"
sweep_ram="256M 512M 1G 2G 4G 8G"
sweep_vcpus="1 4 16 64"
pos=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) sed -n '3,/^set -euo/{ /^set/d; s/^# \{0,1\}//; p; }' "$self"; exit 0 ;;
	--touch-ram | --touch-ram-in-vm) vm_touch=--touch-ram ;;
	--sweep) [ $# -ge 2 ] || { usage >&2; exit 2; }; sweep=$2; shift ;;
	--runs) [ $# -ge 2 ] || { usage >&2; exit 2; }; sweep_runs=$2; shift ;;
	--quick) quick=1 ;;
	--modes) [ $# -ge 2 ] || { usage >&2; exit 2; }; sweep_modes=$2; shift ;;
	--ram) [ $# -ge 2 ] || { usage >&2; exit 2; }; sweep_ram=$2; shift ;;
	--vcpus) [ $# -ge 2 ] || { usage >&2; exit 2; }; sweep_vcpus=$2; shift ;;
	--from-log) from_log=1 ;;
	--linux) linux=1 ;;
	-*) echo "bench-upgrade: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) pos+=("$1") ;;
	esac
	shift
done
if [ -n "$sweep" ]; then
	[[ $sweep =~ ^(ram|vcpus|all)$ ]] || { echo "bench-upgrade: --sweep: '$sweep'" >&2; usage >&2; exit 2; }
	[[ $sweep_runs =~ ^[1-9][0-9]*$ ]] || { echo "bench-upgrade: --runs: '$sweep_runs'" >&2; usage >&2; exit 2; }
	[ ${#pos[@]} = 0 ] || { usage >&2; exit 2; }
	[[ $sweep_modes =~ ^(adopt|adopt-zap|rebuild|cloexec)( (adopt|adopt-zap|rebuild|cloexec))*$ ]] ||
		{ echo "bench-upgrade: --modes: '$sweep_modes'" >&2; usage >&2; exit 2; }
	[[ $sweep_ram =~ ^[1-9][0-9]*[MG]( [1-9][0-9]*[MG])*$ ]] ||
		{ echo "bench-upgrade: --ram: '$sweep_ram'" >&2; usage >&2; exit 2; }
	[[ $sweep_vcpus =~ ^[1-9][0-9]*( [1-9][0-9]*)*$ ]] ||
		{ echo "bench-upgrade: --vcpus: '$sweep_vcpus'" >&2; usage >&2; exit 2; }
	cd "$top"
	# shellcheck source-path=SCRIPTDIR source=bench-sweep.sh
	. scripts/bench-sweep.sh
	sweep_main
	exit
fi
[ -z "$quick$from_log" ] || { echo "bench-upgrade: --quick and --from-log are for --sweep" >&2; exit 2; }
[ ${#pos[@]} -le 2 ] || { usage >&2; exit 2; }
runs=${pos[0]:-$runs}
mem=${pos[1]:-$mem}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench-upgrade: RUNS: '$runs'" >&2; usage >&2; exit 2; }
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || { echo "bench-upgrade: MEM: '$mem'" >&2; usage >&2; exit 2; }

cd "$top"
BENCH_TAG=bench-upgrade
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. scripts/bench-lib.sh
out=build/bench
cpus=2
b=$top/build/plain
mem_mib=$(bench_mib "$mem")
vm_mib=$((mem_mib + 2048 > 3072 ? mem_mib + 2048 : 3072))
bench_prepare
if [ -n "$linux" ]; then
	bench_linux_devices "$out" bench-upgrade
	exit
fi
failed=0

# Per-phase medians of one environment's series (file $1, label $2).
phase_table() {
	local keys=(downtime_us pause_us stash_us exec_us start_us recover_us resume_us
		    parked_us guest_gap_us)
	local k row
	printf '\n%s: median of the counted upgrades per phase (ms); the cold first one apart\n' "$2"
	printf '%-8s %3s' mode n
	for k in "${keys[@]}"; do k=${k%_us}; printf '%10s' "${k/guest_gap/gap}"; done
	printf '   %9s\n' "cold down"
	while IFS=$'\t' read -r -a row; do
		printf '%-8s %3s' "${row[0]}" "${row[1]}"
		for k in "${!keys[@]}"; do printf '%10s' "$(bench_ms "${row[k + 2]}")"; done
		printf '   %9s\n' "$(bench_ms "${row[${#keys[@]} + 2]}")"
	done < <(upgrade_medians "$1" "${keys[@]}")
	echo "(the phases are each a median: they need not add up to the median downtime)"
}

# Grouped bars of the medians of one environment (file $1, PNG $2, label $3).
plot_modes() {
	local f=$1 png=$2 env=$3 dat=${2%.png}.dat floor exec_us lines=
	upgrade_medians "$f" downtime_us parked_us guest_gap_us |
		awk -F '\t' '{ for (i = 3; i <= 5; i++) $i = $i == "n/a" ? "NaN" : $i / 1000
			       print $1, $3, $4, $5 }' >"$dat"
	[ -s "$dat" ] || return 0
	floor=$(floor_value "$f" floor_us)
	exec_us=$(floor_value "$f" exec_us)
	# The floor and exec alone: lines across the bars, named in the key.
	if [ "$floor" != n/a ]; then
		lines=", NaN with lines dt 2 lw 2 lc rgb \"black\" title \"floor: exec + new VM, $(bench_ms "$floor") ms\""
		lines+=", NaN with lines dt 3 lw 2 lc rgb \"gray40\" title \"exec alone, $(bench_ms "$exec_us") ms\""
	fi
	{
		# shellcheck disable=SC2028 # the \n is gnuplot's
		echo "set title \"live upgrade, median of $runs after a warm-up, $mem, $cpus vCPUs\\n$env\""
		echo 'set style data histograms; set style histogram clustered gap 1'
		echo 'set style fill solid 0.8 border -1; set boxwidth 0.9'
		echo 'set ylabel "ms"; set yrange [0:*]; set key below; set grid ytics'
		echo "set xrange [-0.6:$(wc -l <"$dat") - 0.4]"
		if [ -n "$lines" ]; then
			echo "set arrow from graph 0, first $floor / 1000.0 to graph 1, first $floor / 1000.0 nohead back dt 2 lw 2 lc rgb \"black\""
			echo "set arrow from graph 0, first $exec_us / 1000.0 to graph 1, first $exec_us / 1000.0 nohead back dt 3 lw 2 lc rgb \"gray40\""
		fi
		echo "plot \"$dat\" using 2:xtic(1) title \"downtime\", '' using 3 title \"parked\", '' using 4 title \"guest gap\"$lines"
	} | bench_plot "$png" 900,500
}

# The host: the same series and floor, when it has KVM.
host_log=$out/upgrade-host.log
rm -f "$host_log"
reason=$(bench_host_skip_reason)
if [ -n "$reason" ]; then
	echo "host: skipped, $reason"
else
	modes=(cloexec)
	[ -c /dev/cprstash ] && modes=(adopt rebuild cloexec)
	echo "host: ${modes[*]}, 1 warm-up + $runs upgrades each, $mem, $cpus vCPUs, all guest RAM touched"
	{
		scripts/upgrade-series.sh --keep-going --touch-ram --tag host \
			"$b/vmm/vmm" "$mem" "$cpus" "$runs" "${modes[@]}" ||
			echo "host: FAILED: upgrade-series exited $?"
		echo "host: the floor"
		"$b/tools/upgrade-floor" --mem "$mem" --cpus "$cpus" --touch-ram --runs "$runs" \
			>"$out/floor-host.out" 2>&1 || echo "host: upgrade-floor exited $?"
		grep -v '^{' "$out/floor-host.out" | sed 's/^/host:   /'
		echo "FLOOR $(grep '^{' "$out/floor-host.out")"
	} | tee "$host_log" | grep --line-buffered -v -e '^REPORT ' -e '^FLOOR ' || true
	! grep -q '^host: FAILED' "$host_log" || failed=1
fi

echo "test VM: adopt, rebuild, cloexec, 1 warm-up + $runs upgrades each, $mem, $cpus vCPUs${vm_touch:+, all guest RAM touched}"
cmd="upgrade-series --keep-going --tag vm $vm_touch /build/vmm/vmm $mem $cpus $runs adopt rebuild cloexec
rc=\$?
echo 'vm: the floor'
upgrade-floor --mem $mem --cpus $cpus $vm_touch --runs $runs >/tmp/floor.out 2>&1 ||
	echo \"vm: upgrade-floor exited \$?\"
grep -v '^{' /tmp/floor.out | sed 's/^/vm:   /'
echo \"FLOOR \$(grep '^{' /tmp/floor.out)\"
exit \$rc"
vm_log=$out/upgrade-vm.log
set +e
scripts/testvm.sh --mem "$vm_mib" --timeout 3600 --kmod kmod/cprstash.ko \
	--file "$b/vmm/vmm:/build/vmm/vmm" \
	--file scripts/upgrade-series.sh:/bin/upgrade-series \
	--file "$b/tools/upgrade-floor" \
	--file "$(command -v jq)" \
	-- "$cmd" | tee "$vm_log" |
	grep --line-buffered -v -e '^\[ *[0-9.]*\] ' -e '^REPORT ' -e '^FLOOR '
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ]; then
	echo "bench-upgrade: the test VM run exited $rc (all of it in $vm_log)"
	failed=1
fi

if [ -s "$host_log" ]; then
	phase_table "$host_log" "host"
	floor_table "$host_log" "host"
	plot_modes "$host_log" "$out/upgrade-host.png" "host"
fi
phase_table "$vm_log" "$BENCH_VM_ENV"
floor_table "$vm_log" "$BENCH_VM_ENV"
plot_modes "$vm_log" "$out/upgrade.png" "$BENCH_VM_ENV"
echo
echo "$BENCH_VM_NOTE"
echo "reference (anchors.md): QEMU cpr-exec re-creating the VM, 1 GiB touched: 118 ms median (hardware)"
exit "$failed"
