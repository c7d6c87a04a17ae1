#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where an adopt-mode live upgrade's pause goes, per vCPU count: in one
# test-VM boot, scripts/testvm/pause-profile for each COUNT in turn (a VMM
# with the built-in guest and COUNT vCPUs, 256M, one upgrade traced with
# ftrace: per vCPU thread, kick to first run, to the KVM_RUN exit, to the
# park; per CPU, the window's context switches and use).  Prints each
# count's summary line, then a table, one row per count.  Backs or refutes
# Documentation/performance.rst, "vCPU count": pause_us growing faster than
# the count because the test VM's 2 CPUs run the N vCPU threads in turns.
#
# The test VM's two CPUs are QEMU threads on this host: another load on the
# host preempts them, and the trace inside counts that time as on a CPU.
# So this also reads, on the host, how much CPU QEMU's threads got from
# each count's "ready" line to its "upgraded" line, and how long they
# waited for one while runnable (/proc/PID/task/*/schedstat), and prints
# it with the host's load average.
#
# Columns: pause and downtime from the report; runq (kick to first on a
# CPU) and oncpu (CPU time from first run to park) as median/max over the
# threads, oncpu_sum their total; window (first kick to last park, from
# the trace); cpuN: context switches in the window and the share of it
# spent running vCPU threads; host: the CPU QEMU's threads got, in % of
# 2 CPUs / the share of their runnable time they waited for a host CPU.  Asserts no duration; exits non-zero when the test VM, a VMM
# or an upgrade failed.
# usage: scripts/pause-profile.sh [BUILDDIR (build/dev)] [COUNTS... (1 16 64)]
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
builddir=$(readlink -f "${1:-$top/build/dev}")
[ $# -gt 0 ] && shift
counts=${*:-1 16 64}
case "$counts" in *[!0-9\ ]*) echo "pause-profile: COUNTS are numbers" >&2; exit 2 ;; esac
[ -x "$builddir/vmm/vmm" ] ||
	{ echo "pause-profile: no $builddir/vmm/vmm (scripts/build-userspace.sh)" >&2; exit 2; }
[ -e "$top/kmod/cprstash.ko" ] ||
	{ echo "pause-profile: no kmod/cprstash.ko (scripts/build-kmod.sh)" >&2; exit 2; }
jq=$(command -v jq) || { echo "pause-profile: jq missing" >&2; exit 2; }

cmd='rc=0'
for n in $counts; do
	cmd+="; pause-profile /build/vmm/vmm $n || rc=1"
done
cmd+='; exit $rc'

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pause-profile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# testvm.sh's own directory (and QEMU's pidfile) under ours, to find QEMU.
qemu_pid() {
	local f
	for f in "$tmp"/testvm.*/qemu.pid; do
		[ -s "$f" ] && cat "$f" && return 0
	done
	return 1
}
# "RUN WAIT": nanoseconds QEMU's threads (its 2 vCPUs nearly all) spent
# on a host CPU and runnable waiting for one.
qemu_ns() {
	local t run wait sr=0 sw=0
	for t in /proc/"$1"/task/*; do
		read -r run wait _ <"$t/schedstat" 2>/dev/null || continue
		sr=$((sr + run)) sw=$((sw + wait))
	done
	echo "$sr $sw"
}
now_ns() {
	local t=$EPOCHREALTIME
	echo $(( ${t%.*} * 1000000000 + 10#${t#*.} * 1000 ))
}

# Pass the console through; between a count's "ready" and "upgraded"
# lines, measure QEMU's threads.
watch_console() {
	# Never fail: the console must flow whatever happens here.
	set +e
	local line pid='' t0='' r0 w0 t1 r1 w1 n
	while IFS= read -r line; do
		printf '%s\n' "$line"
		printf '%s\n' "$line" >>"$tmp/out"
		case $line in
		*"pause-profile: N="*": ready after"*)
			pid=$(qemu_pid) || pid=
			[ -z "$pid" ] || { t0=$(now_ns); read -r r0 w0 < <(qemu_ns "$pid"); }
			;;
		*"pause-profile: N="*": upgraded:"*)
			[ -n "$pid" ] && [ -n "$t0" ] || continue
			t1=$(now_ns); read -r r1 w1 < <(qemu_ns "$pid")
			n=${line#*N=}; n=${n%%:*}
			awk -v n="$n" -v dr=$((r1 - r0)) -v dw=$((w1 - w0)) -v dt=$((t1 - t0)) \
			    -v load="$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" 'BEGIN {
				printf "host: N=%s share=%.0f%% waited=%.0f%% over=%.1fs load=%s (QEMU'"'"'s threads from ready to upgraded: CPU in %% of 2 host CPUs; runnable time spent waiting for one)\n",
					n, 100 * dr / (2 * dt), dr + dw ? 100 * dw / (dr + dw) : 0, dt / 1e9, load }' | tee -a "$tmp/out"
			t0=
			;;
		esac
	done
}

echo "pause-profile: host load before: $(uptime)"
set +e
TMPDIR=$tmp "$top/scripts/testvm.sh" --mem 3072 --timeout 3600 --kmod "$top/kmod/cprstash.ko" \
	--file "$builddir/vmm/vmm:/build/vmm/vmm" \
	--file "$top/scripts/testvm/pause-profile:/bin/pause-profile" \
	--file "$jq" -- "$cmd" | watch_console
rc=${PIPESTATUS[0]}
set -e
echo "pause-profile: host load after: $(uptime)"

echo
tr -d '\r' <"$tmp/out" | grep -a -E '^(pause-profile: N=[0-9]+ pause_us=|host: N=)' | awk '
	function v(k,   i) {
		for (i = 2; i <= NF; i++)
			if (index($i, k "=") == 1) return substr($i, length(k) + 2)
		return "-"
	}
	function cpu(c,   s, a) {
		s = v("cpu" c)
		if (s == "-") return "-"
		split(s, a, ",")
		sub(/^cs:/, "", a[1]); sub(/^vcpu:/, "", a[2])
		return a[1] "/" a[2]
	}
	/^host:/ { n = $2; sub(/^N=/, "", n); host[n] = v("share") "/" v("waited"); next }
	{ n = $2; sub(/^N=/, "", n); order[++rows] = n; line[n] = $0 }
	END {
		f = "%5s %8s %11s %7s %13s %13s %10s %9s %9s %9s %9s\n"
		printf f, "vCPUs", "pause_us", "downtime_us", "threads", "runq med/max", \
			"oncpu med/max", "oncpu_sum", "window_us", "cpu0 cs/v", "cpu1 cs/v", "host"
		for (r = 1; r <= rows; r++) {
			n = order[r]; $0 = line[n]
			printf f, n, v("pause_us"), v("downtime_us"), v("threads"), \
				v("runq_med_us") "/" v("runq_max_us"), v("oncpu_med_us") "/" v("oncpu_max_us"), \
				v("oncpu_sum_us"), v("window_us"), cpu(0), cpu(1), (n in host) ? host[n] : "-"
		}
	}'
exit "$rc"
