# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the variables are for the sourcing scripts
# What scripts/demo.sh and the benchmark scripts share; sourced, not run.
# JSON (upgrade reports, upgrade-floor's result) is read with jq only.

# What the test VM is, for titles and notes under tables.
if [ "${CPRSTASH_TESTVM_NPT:-0}" = 1 ]; then
	BENCH_VM_PAGING="nested paging (NPT)"
else
	BENCH_VM_PAGING="shadow paging"
fi
BENCH_VM_ENV="test VM, nested KVM under TCG, $BENCH_VM_PAGING"
BENCH_VM_NOTE="The test VM runs KVM nested under software emulation (QEMU TCG),
its guests on $BENCH_VM_PAGING (scripts/testvm.sh):
every guest exit, page fault and system call is emulated, so absolute
figures are inflated many times over, and noisy on a shared machine:
compare the figures of one run with each other, not with hardware."

# One line for a plot's title: where and when the figures were taken, and
# by which VMM ($1, its version; by default this tree's git revision).
bench_env_label() (
	# shellcheck source-path=SCRIPTDIR source=versions.sh
	. scripts/versions.sh
	rev=${1:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
	echo "$BENCH_VM_ENV, its kernel $CPRSTASH_KVER; host $(uname -r); $(date -u +%F); $rev"
)

# Install and build what a benchmark needs; results go to build/bench.
bench_prepare() {
	echo "${BENCH_TAG:-bench}: installing packages (scripts/setup.sh; nothing to do if all are there)"
	scripts/setup.sh
	bench_step "building the module" scripts/build-kmod.sh
	bench_step "building the VMM and tools" scripts/build-userspace.sh build/plain
	mkdir -p build/bench
}

# Run "$@" quietly, logged to build/log/<first word>.log; on failure show
# the end of the log and exit.  $1 says what it does, for the user.
bench_step() {
	local what=$1 log
	shift
	mkdir -p build/log
	log=build/log/$(basename "$1" .sh).log
	echo "${BENCH_TAG:-bench}: $what"
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log"
		echo "${BENCH_TAG:-bench}: FAILED: $what (all of it in $log)" >&2
		exit 1
	fi
}

# Why the host part is skipped ("" to run it): it needs /dev/kvm, and
# CPRSTASH_TEST_NO_HOST_KVM=1 acts as if there were none.
bench_host_skip_reason() {
	if [ "${CPRSTASH_TEST_NO_HOST_KVM:-0}" = 1 ]; then
		echo "CPRSTASH_TEST_NO_HOST_KVM=1"
	elif [ ! -c /dev/kvm ]; then
		echo "no /dev/kvm"
	fi
}

# SIZE (256M, 1G, 1024) in MiB; a bare number is bytes, as for the vmm.
bench_mib() {
	awk -v s="$1" 'BEGIN {
		n = s + 0; u = toupper(substr(s, length(s)))
		m = u == "K" ? 1 / 1024 : u == "M" ? 1 : u == "G" ? 1024 : u == "T" ? 1048576 : 1 / 1048576
		printf "%d\n", n * m }'
}

# The reports upgrade-series.sh printed ("REPORT MODE N {json}" lines of
# file $1; N = 0 is the warm-up) as one tab-separated row per mode, in the
# order met:  MODE COUNTED  median of each key $2...  warm-up's value of
# each key $2...  in µs, "n/a" where no report has a number for the key
# (parked_us is new; guest_gap_us is null when the guest could not say),
# with a "*" when only some had one (the median is of those).
# A line that is not a whole report (the console can cut one) is skipped.
upgrade_medians() {
	local file=$1
	shift
	jq -R -n -r --args '
		def median: map(select(type == "number")) | sort |
			if length == 0 then null
			elif length % 2 == 1 then .[(length - 1) / 2]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		# "*": fewer counted reports had a number for the key than there are.
		def cell($n): (map(select(type == "number")) | length) as $have
			| median | if type != "number" then "n/a"
				   elif $have < $n then "\(.)*" else . end;
		[inputs
		 | capture("^REPORT (?<mode>[a-z]+) (?<run>[0-9]+) (?<json>\\{.*\\})\\s*$")?
		 | { mode, run: (.run | tonumber), r: (.json | fromjson? // null) }
		 | select(.r != null)]
		| . as $all
		| reduce (.[].mode) as $m ([]; if index([$m]) then . else . + [$m] end)
		| .[] as $m
		| [$all[] | select(.mode == $m)] as $rs
		| [$m, ([$rs[] | select(.run > 0)] | length)]
		  + [$ARGS.positional[] as $k | [$rs[] | select(.run > 0) | .r[$k]]
		     | cell([$rs[] | select(.run > 0)] | length)]
		  + [$ARGS.positional[] as $k | [$rs[] | select(.run == 0) | .r[$k]] | cell(1)]
		| @tsv' "$@" <"$file"
}

# Key $2 of upgrade-floor's result ("FLOOR {json}" line of file $1), in µs;
# "n/a" if there is none.
floor_value() {
	sed -n 's/^FLOOR //p' "$1" | tail -n 1 |
		jq -r --arg k "$2" '.[$k] // "n/a"' 2>/dev/null | grep . || echo n/a
}

# printf-ready milliseconds from µs (or "n/a").
bench_ms() {
	awk -v v="$1" 'BEGIN { if (v == "n/a" || v == "") print "n/a"
			       else printf "%.1f%s\n", v / 1000, v ~ /\*$/ ? "*" : "" }'
}

# A over B as "3.2x", or "n/a".
bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || a == "" || b == "" || b + 0 == 0) print "n/a"
		else printf "%.1fx\n", a / b }'
}

# The per-mode table of a series: medians of downtime, parked span and
# guest gap, and the cold first upgrade apart.  $1: the series' output.
upgrade_table() {
	local row='%-8s %3s   %8s %7s %9s   %8s %7s %9s\n'
	local medians mode n d p g cd cp cg
	medians=$(upgrade_medians "$1" downtime_us parked_us guest_gap_us)
	if [ -z "$medians" ]; then
		echo "(no upgrade report in $1)"
		return 0
	fi
	printf '%-12s   %-26s   %-26s\n' "" "median of the counted, ms" "first upgrade (cold), ms"
	# shellcheck disable=SC2059 # the format is $row
	printf "$row" mode n downtime parked "guest gap" downtime parked "guest gap"
	while IFS=$'\t' read -r mode n d p g cd cp cg; do
		# shellcheck disable=SC2059
		printf "$row" "$mode" "$n" \
			"$(bench_ms "$d")" "$(bench_ms "$p")" "$(bench_ms "$g")" \
			"$(bench_ms "$cd")" "$(bench_ms "$cp")" "$(bench_ms "$cg")"
	done <<<"$medians"
	cat <<-EOF
	n:         upgrades counted (after the warm-up, which is the "first" one)
	downtime:  the VMM's clock: pause begins -> vCPU threads started again
	parked:    the guest's TSC: every vCPU parked -> just before they run again
	guest gap: the longest step any vCPU's own loop saw across the upgrade
	EOF
	if [[ $medians == *'*'* ]]; then
		echo "*:         of the reports that had the figure (n/a: none had it)"
	fi
}

# upgrade-floor's result (file $1, label $2) and each mode's median downtime
# as a multiple of it; adopt keeps its VM, so also over exec alone.
floor_table() {
	local f=$1 floor exec_us vm mode n d x _
	floor=$(floor_value "$f" floor_us)
	exec_us=$(floor_value "$f" exec_us)
	vm=$(floor_value "$f" vm_us)
	if [ "$floor" = n/a ]; then
		printf '\n%s: the floor was not measured (see upgrade-floor above)\n' "$2"
		return 0
	fi
	printf '\n%s: the floor, median of %s runs after a warm-up (ms)\n' "$2" "$(floor_value "$f" runs)"
	printf '  exec of a static binary, guest RAM kept by an mm keeper  %8s\n' "$(bench_ms "$exec_us")"
	printf '  new VM: created, memslot, vCPUs up to their first exit   %8s\n' "$(bench_ms "$vm")"
	printf '  floor (exec + new VM, per run)                          %8s\n' "$(bench_ms "$floor")"
	printf '%-8s %9s %9s %11s\n' mode downtime "x floor" "x exec"
	while IFS=$'\t' read -r mode n d _; do
		x=
		[ "$mode" != adopt ] || x=$(bench_ratio "$d" "$exec_us")
		printf '%-8s %9s %9s %11s\n' "$mode" "$(bench_ms "$d")" "$(bench_ratio "$d" "$floor")" "$x"
	done < <(upgrade_medians "$f" downtime_us)
	echo "(the floor ends when every vCPU ran guest code again, the downtime when the"
	echo " VMM started their threads: a mode can come under 1x; adopt keeps its VM,"
	echo " so exec alone is its floor)"
}

# Render gnuplot commands from stdin into PNG $1 (WIDTHxHEIGHT $2); the
# figures were printed already, so a missing gnuplot only loses the plot.
bench_plot() {
	local png=$1 size=${2:-800,500}

	command -v gnuplot >/dev/null ||
		apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || {
		echo "bench: no gnuplot, no plot"
		return 0
	}
	{ echo "set terminal pngcairo size $size noenhanced"
	  echo "set output \"$png\""
	  cat; } | gnuplot && echo "plot: $png"
}

# The devices' run, for scripts/demo.sh --linux and bench-upgrade.sh
# --linux: a Linux guest writing checksummed records to its virtio disk and
# echoing a TCP stream over virtio-net, upgraded 10 times per mode (the
# e2e-workload rows of vmm/tests/kvm-tests.list, one test-VM boot, build/
# plain); per mode the downtimes and the devices' freeze.  $1: the output
# directory (its testvm-linux.log keeps all the test VM printed), $2: the
# caller's name for messages.  Returns the rows' status.
bench_linux_devices() {
	local rc
	echo "$2: booting the test VM; a Linux guest writes its disk and echoes a TCP stream across 10 upgrades per mode (minutes)"
	set +e
	CPRSTASH_TEST_LONG=1 CPRSTASH_TEST_ONLY='^e2e-workload-' scripts/testvm-tests.sh build/plain 2>&1 |
		sed 's/^# REPORT /REPORT /' | tee "$1/testvm-linux.log" |
		grep --line-buffered -E -e '^(not )?ok ' -e '^# ok:' -e 'assertion failed' -e 'passed,'
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" = 0 ] || { echo "$2: FAILED (all of it in $1/testvm-linux.log)" >&2; return "$rc"; }
	echo
	echo "Live upgrade of a VMM under a Linux guest writing its virtio disk and echoing TCP, 2 vCPUs, 512M"
	echo "($BENCH_VM_ENV):"
	echo
	upgrade_table "$1/testvm-linux.log"
	echo
	echo "freeze: every device's freeze in the pause, the disk's requests in flight drained (ms)"
	upgrade_medians "$1/testvm-linux.log" freeze_us |
		while IFS=$'\t' read -r mode n f cf; do
			printf '%-8s %3s   median %8s   first %8s\n' "$mode" "$n" \
				"$(bench_ms "$f")" "$(bench_ms "$cf")"
		done
	echo
	echo "$BENCH_VM_NOTE"
}
