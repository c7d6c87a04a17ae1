#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live-upgrade downtime of the VMM, per mode, measured in one run each:
#   host:     cloexec (no module here), built-in guest, all RAM touched
#   test VM:  adopt, rebuild, cloexec (module loaded, nested KVM)
# Each cell is the median over RUNS upgrades of the phase the VMM timed
# with CLOCK_MONOTONIC; "guest" is the gap the built-in guest measured on
# its own clock.  The test VM is TCG-emulated: compare modes within a
# column set (ratios), not with the host.  Writes build/bench/upgrade.png.
# usage: scripts/bench-upgrade.sh [RUNS (10)] [MEM (1G)] [--touch-ram-in-vm]
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
cd "$top"
. scripts/versions.sh
runs=${1:-10}
mem=${2:-1G}
vm_touch=
[ "${3:-}" = --touch-ram-in-vm ] && vm_touch=--touch-ram
out=build/bench

. scripts/bench-lib.sh
bench_prepare
b=build/plain/vmm

echo "host: cloexec, $runs upgrades, $mem, 2 vCPUs, all guest RAM touched"
"$b/tests/e2e_upgrade" "$b/vmm" cloexec "$runs" "$mem" 2 --touch-ram |
	grep '^median of' | sed 's/^/HOST /' | tee "$out/upgrade.raw"

echo "test VM: adopt, rebuild, cloexec, $runs upgrades each, $mem, 2 vCPUs"
cmd="for m in adopt rebuild cloexec; do
  /build/vmm/tests/e2e_upgrade /build/vmm/vmm \$m $runs $mem 2 $vm_touch >/tmp/bench.out 2>&1 ||
    { echo \"BENCH-FAILED \$m (exit \$?):\"; tail -n 5 /tmp/bench.out; }
  grep '^median of' /tmp/bench.out | sed 's/^/VM /'
done"
scripts/testvm.sh --mem 3072 --timeout 1800 --kmod kmod/cprstash.ko \
	--file "$b/vmm:/build/vmm/vmm" \
	--file "$b/tests/e2e_upgrade:/build/vmm/tests/e2e_upgrade" \
	-- "$cmd" >"$out/upgrade-vm.log" || echo "bench: the test VM run failed (see $out/upgrade-vm.log)"
grep -A5 '^BENCH-FAILED' "$out/upgrade-vm.log" || true
grep '^VM median of' "$out/upgrade-vm.log" | tee -a "$out/upgrade.raw"

# "median of N upgrades, mode M, ...: downtime_us A pause_us B ..." -> table
phases="downtime pause stash exec start recover resume guest_gap"
printf '\n%-16s' "where, mode"
for p in $phases; do printf '%10s' "$p"; done
printf '   (ms, median)\n'
: >"$out/upgrade.dat"
while read -r where _ _ _ _ _ mode rest; do
	mode=${mode%,}
	printf '%-16s' "$where $mode"
	row="\"$where $mode\""
	for p in $phases; do
		us=$(sed -n "s/.* ${p}_us \([0-9]*\).*/\1/p" <<<"$rest")
		printf '%10.1f' "$(awk -v u="$us" 'BEGIN { print u / 1000 }')"
		row+=" $us"
	done
	echo
	echo "$row" >>"$out/upgrade.dat"
done <"$out/upgrade.raw"

vm_ratio() { # downtime of mode $1 over mode $2, test VM
	awk -v a="\"VM $1\"" -v b="\"VM $2\"" '
		$1 " " $2 == a { x = $3 } $1 " " $2 == b { y = $3 }
		END { if (x && y) printf "%.2f", y / x; else print "?" }' "$out/upgrade.dat"
}
echo
echo "test VM: cloexec/adopt downtime $(vm_ratio adopt cloexec)x, rebuild/adopt $(vm_ratio adopt rebuild)x"
echo "reference (anchors.md): QEMU cpr-exec re-creating the VM, 1 GiB touched: 118 ms median"

bench_plot "$out/upgrade.png" 900,500 <<-PLOT
	set title "live-upgrade downtime by phase (median of $runs, $mem, 2 vCPUs)"
	set style data histograms; set style histogram rowstacked
	set style fill solid 0.8 border -1; set boxwidth 0.6
	set ylabel "ms"; set key outside right; set xtics rotate by -20
	plot for [c=3:8] "$out/upgrade.dat" using (column(c)/1000.0):xtic(1) \
		title word("pause stash exec start recover resume", c - 2)
	PLOT
