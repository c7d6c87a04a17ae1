#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Live upgrades of a running VMM in a row, for scripts/demo.sh and
# scripts/bench-upgrade.sh: runs inside the test VM (busybox sh) or on a
# host with /dev/kvm, and needs jq.  Starts the VMM with the built-in
# guest, then per MODE upgrades it live 1 + RUNS times: the first one
# (cold caches, first exec of the binary in that mode) is a warm-up, shown
# but not counted.  Prints a progress line per upgrade and, for the caller
# to parse, every report as one line
#   REPORT MODE N {json}            (N = 0 is the warm-up)
# Stops at the first failure, printing the client's output and the VMM's
# log, and exits 1 (with --keep-going: goes on with the next MODE, and
# exits 1 at the end).  Asserts no duration.
#
#   --one-vmm     one VMM for all the modes, one after the other (the demo:
#                 one guest runs through every upgrade); default, a fresh
#                 VMM per mode
#   --touch-ram   the guest writes all its RAM once at start; since only
#                 the first upgrade after that finds it all mapped, every
#                 upgrade gets a fresh VMM (implies one VMM per upgrade)
#   --tag NAME    prefix of the progress lines (default: upgrade)
#
# MODE is a --upgrade-mode, or adopt-zap: adopt with --adopt-zap (the
# guest's mappings dropped, as before CPRSTASH_ADOPT_KEEP_MAPPINGS).
#
# usage: upgrade-series.sh [--one-vmm] [--touch-ram] [--keep-going]
#                          [--tag NAME] VMM MEM CPUS RUNS MODE...
set -u

usage() {
	sed -n '/^# usage:/,/^set -u/{ /^set/d; s/^# \{0,1\}//; p; }' "$0" >&2
	exit 2
}

tag=upgrade
one_vmm=
touch=
keep_going=
while [ $# -gt 0 ]; do
	case $1 in
	--one-vmm) one_vmm=1; shift ;;
	--touch-ram) touch=--touch-ram; shift ;;
	--keep-going) keep_going=1; shift ;;
	--tag) [ $# -ge 2 ] || usage; tag=$2; shift 2 ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 5 ] || usage
vmm=$1 mem=$2 cpus=$3 runs=$4
shift 4

# Private: on a host, others may run VMMs and benchmarks at the same time.
tmp=$(mktemp -d /tmp/upgrade-series.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
sock=$tmp/vmm.sock
out=$tmp/upgrade.out
err=$tmp/upgrade.err
log=
pid=

say() {
	echo "$tag: $*"
}

show_log() {
	echo "---- the VMM's log, $log ----"
	cat "$log" 2>/dev/null
	echo "---- end of the VMM's log ----"
}

# Until the VMM process $pid is gone, at most $1 tenths of a second.
wait_gone() {
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt "$1" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! kill -0 "$pid" 2>/dev/null
}

# Quit the VMM politely, else kill it; either way reap it.
vmm_stop() {
	[ -n "$pid" ] || return 0
	"$vmm" --control "$sock" --cmd quit >/dev/null 2>&1
	wait_gone 300 || kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# How long a VMM may take to start, in tenths of a second: a hang guard.
# 120 s; with --touch-ram 30 min (touching takes 20 to 70 s per GiB in the
# test VM, quiet or loaded: 8G at most in the benchmarks).
start_limit=1200
[ -z "$touch" ] || start_limit=18000

# Start a VMM logging to $1; ready once every vCPU's counter moved (with
# --touch-ram, once every vCPU finished its sweep: the counters start
# after it).  Bounded, so that a VMM that hangs is reported, not waited on.
vmm_start() {
	log=$1
	rm -f "$sock"
	# shellcheck disable=SC2086 # $touch is empty or one word
	"$vmm" --guest builtin --cpus "$cpus" --mem "$mem" --report-ms 5 \
		--control "$sock" --no-stdin $touch >"$log" 2>&1 &
	pid=$!
	i=0
	while :; do
		if [ -S "$sock" ] &&
		   "$vmm" --control "$sock" --cmd status 2>/dev/null |
		   jq -e '[.vcpu[].counter] | min > 0' >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			say "FAILED: the VMM exited (status $?) before its control socket answered"
			pid=
			show_log
			return 1
		fi
		i=$((i + 1))
		if [ $i -ge "$start_limit" ]; then
			say "FAILED: the VMM did not answer on $sock within $((start_limit / 10)) s"
			vmm_stop
			show_log
			return 1
		fi
		sleep 0.1
	done
}

# "VMM pid P, upgrades U, guest progress counter C"
progress() {
	"$vmm" --control "$sock" --cmd status 2>/dev/null |
		jq -r '"VMM pid \(.pid), upgrades \(.upgrades), guest progress counter \(.counter)"'
}

# "downtime 12.3 ms, parked n/a, guest gap 14.0 ms, full speed 3.0 ms"
# from report $1, with the reason the VMM gave for a figure it could not
# have.
summary() {
	printf '%s\n' "$1" |
	jq -r '[.downtime_us, .parked_us, .guest_gap_us, .parked_error, .guest_gap_error,
		.full_speed_us, .full_speed_error] | map(. // "") | @tsv' |
	awk -F '\t' '
		function ms(v, why) {
			if (v != "") return sprintf("%.1f ms", v / 1000)
			return why == "" ? "n/a" : "n/a (" why ")"
		}
		{ printf "downtime %s, parked %s, guest gap %s, full speed %s\n",
			 ms($1), ms($2, $4), ms($3, $5), ms($6, $7) }'
}

# One live upgrade in mode $1, the $2-th (0: the warm-up).
upgrade() {
	mode=$1 n=$2
	label="upgrade $((n + 1))/$((runs + 1))"
	[ "$n" = 0 ] && label="$label (warm-up, not counted)"
	# adopt-zap: adopt dropping the guest's mappings (--adopt-zap), to compare
	case $mode in
	adopt-zap) set -- --upgrade-mode adopt --adopt-zap ;;
	*) set -- --upgrade-mode "$mode" ;;
	esac
	"$vmm" --live-upgrade --control "$sock" "$@" >"$out" 2>"$err"
	rc=$?
	if [ $rc != 0 ]; then
		say "FAILED: $mode mode, $label: vmm --live-upgrade exited $rc:"
		cat "$out" "$err"
		if wait_gone 10; then
			wait "$pid"
			say "the VMM is gone (exit status $?)"
			pid=
		fi
		show_log
		return 1
	fi
	report=$(grep '^{' "$out" | tail -n 1)
	echo "REPORT $mode $n $report"
	say "$mode mode: $label: $(summary "$report")"
}

# Every upgrade of mode $1 on the running VMM.
upgrades() {
	n=0
	while [ $n -le "$runs" ]; do
		upgrade "$1" $n || return 1
		n=$((n + 1))
	done
}

# Every upgrade of mode $1, each on a VMM of its own that just touched its RAM.
upgrades_touched() {
	n=0
	while [ $n -le "$runs" ]; do
		say "$1 mode: starting a VM that touches its $mem of RAM"
		vmm_start "$tmp/vmm-$1-$n.log" && upgrade "$1" $n || return 1
		vmm_stop
		n=$((n + 1))
	done
}

fail() {
	vmm_stop
	[ -n "$keep_going" ] || exit 1
	failed=1
}

# Interrupted: no VMM left behind (on a host it would run on).
trap 'vmm_stop; exit 130' INT TERM
failed=0
if [ -n "$one_vmm" ] && [ -z "$touch" ]; then
	say "starting the VM: built-in guest, $cpus vCPUs, $mem"
	vmm_start "$tmp/vmm.log" || exit 1
	say "a VM runs: $(progress)"
	# One guest through every mode: after a failure there is nothing to go on with.
	for mode; do
		upgrades "$mode" || { vmm_stop; exit 1; }
		say "after $mode mode: $(progress)"
	done
	vmm_stop
elif [ -n "$touch" ]; then
	for mode; do
		upgrades_touched "$mode" || fail
	done
else
	for mode; do
		say "$mode mode: starting the VM: built-in guest, $cpus vCPUs, $mem"
		if vmm_start "$tmp/vmm-$mode.log" && upgrades "$mode"; then
			say "after $mode mode: $(progress)"
			vmm_stop
		else
			fail
		fi
	done
fi
exit $failed
