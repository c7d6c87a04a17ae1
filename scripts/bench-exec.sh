#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# How much of an exec-based upgrade is spent tearing down the old image's
# guest-RAM mapping, and what CPRSTASH_SEAL_KEEP_MM saves: in the test VM,
# tools/stash-exec-demo touches N MiB of memfd "guest RAM", stashes it and
# execs itself, with and without KEEP_MM; it reports exec -> recovered.
# Prints the median of RUNS per size, the ratio, and writes a plot.
# usage: scripts/bench-exec.sh [RUNS (3)] [SIZES_MIB ("256 512 1024 2048")]
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
cd "$top"
runs=${1:-3}
sizes=${2:-"256 512 1024 2048"}
out=build/bench

. scripts/bench-lib.sh
bench_prepare

cmd="for mib in $sizes; do for i in \$(seq $runs); do
  for mode in keep-mm no-keep-mm; do
    flag=; [ \$mode = no-keep-mm ] && flag=--no-keep-mm
    ms=\$(stash-exec-demo --mib \$mib \$flag | sed -n 's/.*exec to recovered: \([0-9.]*\) ms/\1/p')
    echo \"BENCH \$mib \$mode \$ms\"
  done
done; done"
scripts/testvm.sh --mem 4096 --timeout 1800 --kmod kmod/cprstash.ko \
	--file build/plain/tools/stash-exec-demo:/bin/stash-exec-demo \
	-- "$cmd" | tee "$out/exec.log" | grep '^BENCH' >"$out/exec.raw"

# Median per size and mode, then one row per size.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '\n%-10s %18s %18s %8s\n' "guest MiB" "exec, KEEP_MM (ms)" "plain exec (ms)" "ratio"
: >"$out/exec.dat"
for mib in $sizes; do
	keep=$(awk -v m="$mib" '$2 == m && $3 == "keep-mm" { print $4 }' "$out/exec.raw" | median)
	plain=$(awk -v m="$mib" '$2 == m && $3 == "no-keep-mm" { print $4 }' "$out/exec.raw" | median)
	printf '%-10s %18.1f %18.1f %7.1fx\n' "$mib" "$keep" "$plain" \
		"$(awk -v a="$plain" -v b="$keep" 'BEGIN { print a / b }')"
	echo "$mib $keep $plain" >>"$out/exec.dat"
done
echo "(median of $runs runs each, one test-VM boot; TCG-emulated, so compare ratios, not absolutes)"

bench_plot "$out/exec.png" 800,500 <<-PLOT
	set title "exec -> state recovered, guest RAM touched (test VM)"
	set xlabel "guest RAM touched (MiB)"; set ylabel "ms"; set key left top
	plot "$out/exec.dat" using 1:3 with linespoints title "plain exec (teardown in exec)", \
	     "$out/exec.dat" using 1:2 with linespoints title "SEAL_KEEP_MM (teardown in background)"
	PLOT
