#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# How much of an exec-based upgrade is spent tearing down the old image's
# guest-RAM mapping, and what CPRSTASH_SEAL_KEEP_MM saves: in the test VM,
# tools/stash-exec-demo touches N MiB of memfd "guest RAM", stashes it and
# execs itself, with and without KEEP_MM; it reports exec -> recovered.
# Per size, one warm-up run of each (not counted: the first exec of a size
# pays for cold caches and would bend the line), then RUNS runs of each,
# interleaved.  Prints the medians per size, the ratio, and plots them to
# build/bench/exec.png.  Only the test VM has /dev/cprstash, so the host
# is not measured; no /dev/kvm is needed anywhere.  Asserts no duration.
#
# usage: scripts/bench-exec.sh [RUNS (3)] [SIZES_MIB ("256 512 1024 2048")]
set -euo pipefail
self=$(readlink -f "$0")
top=${self%/scripts/*}

usage() {
	sed -n 's/^# usage: /usage: /p' "$self"
}
case ${1:-} in
-h | --help) sed -n '3,/^# usage:/{ s/^# \{0,1\}//; p; }' "$self"; exit 0 ;;
-*) echo "bench-exec: unknown option $1" >&2; usage >&2; exit 2 ;;
esac
[ $# -le 2 ] || { usage >&2; exit 2; }
runs=${1:-3}
sizes=${2:-"256 512 1024 2048"}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench-exec: RUNS: '$runs'" >&2; usage >&2; exit 2; }
[[ $sizes =~ ^[1-9][0-9]*( +[1-9][0-9]*)*$ ]] ||
	{ echo "bench-exec: SIZES_MIB: '$sizes'" >&2; usage >&2; exit 2; }

cd "$top"
BENCH_TAG=bench-exec
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. scripts/bench-lib.sh
out=build/bench
max=0
for mib in $sizes; do [ "$mib" -le "$max" ] || max=$mib; done
vm_mib=$((max + 2048 > 4096 ? max + 2048 : 4096))
bench_prepare

echo "host: not measured, stash-exec-demo needs /dev/cprstash (only in the test VM)"
echo "test VM: sizes $sizes MiB, 1 warm-up + $runs runs each, with and without KEEP_MM"
# "BENCH MiB MODE RUN MS" per run (RUN 0: the warm-up); a failed run prints
# its output and makes the whole command fail, after the others.
cmd="rc=0
for mib in $sizes; do
  for i in \$(seq 0 $runs); do
    line=
    for mode in keep-mm no-keep-mm; do
      flag=; [ \$mode = no-keep-mm ] && flag=--no-keep-mm
      if stash-exec-demo --mib \$mib \$flag >/tmp/exec.out 2>&1; then
        ms=\$(sed -n 's/.*exec to recovered: \([0-9.]*\) ms/\1/p' /tmp/exec.out)
        echo \"BENCH \$mib \$mode \$i \$ms\"
        line=\"\$line, \$mode \$ms ms\"
      else
        echo \"vm: FAILED: stash-exec-demo --mib \$mib \$flag:\"
        cat /tmp/exec.out
        rc=1
      fi
    done
    run=\"run \$i/$runs\"; [ \$i = 0 ] && run='warm-up (not counted)'
    echo \"vm: \$mib MiB, \$run:\${line#,}\"
  done
done
exit \$rc"
failed=0
set +e
scripts/testvm.sh --mem "$vm_mib" --timeout 3600 --kmod kmod/cprstash.ko \
	--file build/plain/tools/stash-exec-demo:/bin/stash-exec-demo \
	-- "$cmd" | tee "$out/exec.log" |
	grep --line-buffered -v -e '^\[ *[0-9.]*\] ' -e '^BENCH '
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ]; then
	echo "bench-exec: the test VM run exited $rc (all of it in $out/exec.log)"
	failed=1
fi
grep '^BENCH ' "$out/exec.log" >"$out/exec.raw" || true

# Median of the numbers on stdin, "n/a" if none.
median() {
	sort -n | awk '$1 != "" { v[++n] = $1 }
		END { if (!n) print "n/a"; else print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'
}
# The runs of size $1 and mode $2: "counted" ones or the "warm-up".
runs_of() {
	awk -v m="$1" -v k="$2" -v w="$3" \
		'$2 == m && $3 == k && (w == "warm-up" ? $4 == 0 : $4 > 0) { print $5 }' "$out/exec.raw"
}

fmt() { [ "$1" = n/a ] && echo n/a || printf '%.1f\n' "$1"; }
printf '\nexec -> state recovered, all guest RAM touched (%s): median of %s runs, ms\n' \
	"$BENCH_VM_ENV" "$runs"
printf '%-10s %10s %11s %8s   %-10s %10s %11s\n' "guest MiB" KEEP_MM "plain exec" ratio \
	"| warm-up:" KEEP_MM "plain exec"
: >"$out/exec.dat"
for mib in $sizes; do
	keep=$(runs_of "$mib" keep-mm counted | median)
	plain=$(runs_of "$mib" no-keep-mm counted | median)
	wkeep=$(runs_of "$mib" keep-mm warm-up | median)
	wplain=$(runs_of "$mib" no-keep-mm warm-up | median)
	printf '%-10s %10s %11s %8s   %-10s %10s %11s\n' "$mib" "$(fmt "$keep")" "$(fmt "$plain")" \
		"$(bench_ratio "$plain" "$keep")" "|" "$(fmt "$wkeep")" "$(fmt "$wplain")"
	echo "$mib ${keep/n\/a/NaN} ${plain/n\/a/NaN}" >>"$out/exec.dat"
done
echo "(ratio: plain over KEEP_MM; the warm-up runs are shown, not counted)"
echo
echo "$BENCH_VM_NOTE"

bench_plot "$out/exec.png" 900,500 <<-PLOT
	set title "exec -> state recovered, guest RAM touched, median of $runs after a warm-up\n$BENCH_VM_ENV"
	set xlabel "guest RAM touched (MiB)"; set ylabel "ms"; set key below
	set xrange [0:*]; set yrange [0:*]; set grid
	plot "$out/exec.dat" using 1:3 with linespoints lw 2 title "plain exec (teardown in exec)", \
	     "$out/exec.dat" using 1:2 with linespoints lw 2 title "SEAL_KEEP_MM (teardown in background)"
	PLOT
exit "$failed"
