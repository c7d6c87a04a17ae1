# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2154 # $top, $sweep... are bench-upgrade.sh's
# scripts/bench-upgrade.sh --sweep: live upgrades across guest RAM sizes and
# vCPU counts in the test VM, as CSV, Markdown and PNG.  Sourced by
# bench-upgrade.sh (which parsed the options into $sweep, $sweep_runs,
# $sweep_modes, $sweep_ram, $sweep_vcpus, $quick, $from_log); not run.  Asserts no duration.

BENCH_TAG=bench-upgrade
# shellcheck source-path=SCRIPTDIR source=bench-lib.sh
. scripts/bench-lib.sh

# The report's figures, in the CSV in this order after the point and run.
SWEEP_KEYS=(downtime_us pause_us stash_us exec_us start_us recover_us resume_us
	    parked_us guest_gap_us full_speed_us settle_us)
# The figures the Markdown table gives min / p50 / p99 / max of.
SWEEP_STATS=(downtime_us guest_gap_us full_speed_us)
SWEEP_CSV_HEADER="sweep,point,mem_mib,vcpus,mode,run,$(IFS=,; echo "${SWEEP_KEYS[*]}")"

# The points of sweep $1, one "SWEEP POINT MEM CPUS" line each.
sweep_points() {
	local m c
	if [ "$1" = ram ]; then
		for m in $sweep_ram; do echo "ram $m $m 2"; done
	else
		for c in $sweep_vcpus; do echo "vcpus $c $sweep_vcpus_mem $c"; done
	fi
}

# The shell text run in the test VM: every point of sweeps "$@", each
# announced by a "POINT SWEEP POINT MEM CPUS" line before its REPORT lines.
sweep_vm_command() {
	local s sw p m c
	echo 'rc=0'
	for s; do
		while read -r sw p m c; do
			echo "echo 'POINT $sw $p $m $c'"
			echo "upgrade-series --keep-going $sweep_touch --tag '$sw $p' /build/vmm/vmm $m $c $sweep_runs $sweep_modes || rc=1"
		done < <(sweep_points "$s")
	done
	# shellcheck disable=SC2016 # the test VM's $rc
	echo 'exit $rc'
}

# The REPORT lines of log $1 that belong to sweep $2 as CSV rows (stdout);
# a report the console cut is skipped, a figure a report lacks is empty.
sweep_csv() {
	echo "$SWEEP_CSV_HEADER"
	awk -v want="$2" '
		function mib(s, n, u) {
			n = s + 0; u = toupper(substr(s, length(s)))
			return u == "G" ? n * 1024 : u == "T" ? n * 1048576 : n
		}
		{ sub(/\r$/, "") }
		/^POINT / { sw = $2; pt = $3; mem = mib($4); cpus = $5; next }
		/^REPORT / && sw == want {
			json = $0; sub(/^REPORT [^ ]+ [^ ]+ /, "", json)
			print sw "\t" pt "\t" mem "\t" cpus "\t" $2 "\t" $3 "\t" json
		}' "$1" |
	jq -R -r --args '
		split("\t") as $f | ($f[6] | fromjson? // null) as $r
		| select($r | type == "object")
		| $f[0:6] + [$ARGS.positional[] as $k
			     | $r[$k] | if type == "number" then tostring else "" end]
		| join(",")' "${SWEEP_KEYS[@]}"
}

# The phases the second table gives the p50 of.
SWEEP_PHASES=(pause_us stash_us exec_us start_us recover_us resume_us parked_us settle_us)

# Per point and mode of CSV $1 (in the order met), the counted runs as
# tab-separated: POINT X MODE N, then min p50 p99 max (µs, nearest rank)
# of each key $2..., "-" where no run had the figure.
sweep_stats() {
	local csv=$1
	shift
	jq -R -n -r --args '
		def rank($p): sort | .[([($p * length | ceil) - 1, 0] | max)];
		def four: map(select(. != "") | tonumber)
			  | if length == 0 then ["-", "-", "-", "-"]
			    else [min, rank(0.5), rank(0.99), max] end;
		[inputs | split(",")] | .[0] as $h | .[1:]
		| map(. as $row | reduce range($h | length) as $i ({}; .[$h[$i]] = $row[$i]))
		| map(select(.run != "0")) as $rows
		| reduce ($rows[] | [.point, .mode]) as $k ([]; if index([$k]) then . else . + [$k] end)
		| .[] as [$p, $m]
		| [$rows[] | select(.point == $p and .mode == $m)] as $rs
		| [$p, (if $rs[0].sweep == "ram" then $rs[0].mem_mib else $rs[0].vcpus end),
		   $m, ($rs | length)]
		  + [$ARGS.positional[] as $k | [$rs[] | .[$k]] | four[]]
		| map(tostring) | @tsv' "$@" <"$csv"
}

# µs as ms with one decimal, "-" as is.
sweep_ms() {
	awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.1f\n", v / 1000 }'
}

# The Markdown table of stats $1 (sweep $2's), the p50 of the phases
# (stats $3), then the ratios.
sweep_markdown() {
	local p x m n v i k cells
	echo "| ${2/ram/guest RAM} | mode | n | downtime, ms: min / p50 / p99 / max | guest gap, ms: min / p50 / p99 / max | full speed, ms: min / p50 / p99 / max |"
	echo "|---|---|--:|--:|--:|--:|"
	while IFS=$'\t' read -r p x m n v; do
		read -r -a v <<<"$v"
		cells=
		for i in 0 4 8; do
			cells+=" $(sweep_ms "${v[i]}") / $(sweep_ms "${v[i + 1]}") / $(sweep_ms "${v[i + 2]}") / $(sweep_ms "${v[i + 3]}") |"
		done
		echo "| $p | $m | $n |$cells"
	done <"$1"
	echo
	printf '| %s | mode |' "${2/ram/guest RAM}"
	for k in "${SWEEP_PHASES[@]}"; do printf ' %s |' "${k%_us}"; done
	printf '\n|---|---|%s\n' "$(printf -- '--:|%.0s' "${SWEEP_PHASES[@]}")"
	while IFS=$'\t' read -r p x m n v; do
		read -r -a v <<<"$v"
		cells=
		for i in "${!SWEEP_PHASES[@]}"; do cells+=" $(sweep_ms "${v[i * 4 + 1]}") |"; done
		echo "| $p | $m |$cells"
	done <"$3"
	echo
	echo "The phases in ms, p50 each (they need not add up to the p50 downtime):"
	echo "Documentation/upgrade.rst, \"Report keys\"."
	echo
	echo "n: counted upgrades (after a warm-up), $sweep_touch_note;"
	echo "percentiles by nearest rank."
	echo "$BENCH_VM_NOTE" | tr '\n' ' '
	echo
	echo
	sweep_ratios "$1" "$2" | sed 's/^/    /'
}

# The targets' ratios (p50 downtime) of stats $1, sweep $2: adopt over
# rebuild per point, and adopt's largest over smallest across RAM, or its
# last over first vCPU count.
sweep_ratios() {
	awk -F '\t' -v sweep="$2" '
		function r(a, b) { return (a == "-" || b == "-" || b == 0) ? "n/a" : sprintf("%.2f", a / b) }
		{ key = $1 SUBSEP $3; p50[key] = $6; fs[key] = $14 }
		!($1 in seen) { seen[$1] = 1; pts[++np] = $1 }
		END {
			for (i = 1; i <= np; i++) {
				a = pts[i] SUBSEP "adopt"; b = pts[i] SUBSEP "rebuild"
				printf "%s: adopt/rebuild downtime %s, time to full speed %s\n",
				       pts[i], r(p50[a], p50[b]), r(fs[a], fs[b])
			}
			lo = hi = ""
			for (i = 1; i <= np; i++) {
				v = p50[pts[i] SUBSEP "adopt"]
				if (v == "" || v == "-") continue
				if (lo == "" || v + 0 < lo) lo = v + 0
				if (hi == "" || v + 0 > hi) hi = v + 0
			}
			if (sweep == "ram")
				printf "adopt downtime, largest/smallest p50 over RAM: %s\n", lo == "" ? "n/a" : r(hi, lo)
			else
				printf "adopt downtime, %s/%s vCPUs: %s\n", pts[np], pts[1],
				       r(p50[pts[np] SUBSEP "adopt"], p50[pts[1] SUBSEP "adopt"])
		}' "$1"
}

# The p50 downtime per mode against the point, min to max as error bars:
# stats $1 of sweep $2 into PNG $3; $4: the VMM's version.
sweep_plot() {
	local stats=$1 sw=$2 png=$3 dat=${3%.png}.dat m plot='' idx=0
	: >"$dat"
	for m in $sweep_modes; do
		awk -F '\t' -v m="$m" '$3 == m && $6 != "-" {
			printf "%s %.3f %.3f %.3f\n", $2, $6 / 1000, $5 / 1000, $8 / 1000 }' "$stats" >>"$dat.$m"
		if [ -s "$dat.$m" ]; then
			{ cat "$dat.$m"; printf '\n\n'; } >>"$dat"
			plot+="${plot:+, }\"$dat\" index $idx using 1:2:3:4 with yerrorlines lw 2 pt 7 title \"$m\""
			idx=$((idx + 1))
		fi
		rm -f "$dat.$m"
	done
	[ -n "$plot" ] || return 0
	{
		# shellcheck disable=SC2028 # the \n is gnuplot's
		echo "set title \"live-upgrade downtime, p50 of $sweep_runs after a warm-up (bars: min to max)\\n$(bench_env_label "$4")\""
		if [ "$sw" = ram ]; then
			echo "set xlabel \"guest RAM, MiB, 2 vCPUs; $sweep_touch_note\""
		else
			echo "set xlabel \"vCPUs, $sweep_vcpus_mem of guest RAM; $sweep_touch_note\""
		fi
		# Both axes log: points and modes lie orders of magnitude apart.
		echo 'set logscale x 2; set logscale y 10; set offsets graph 0.05, graph 0.05, 0, 0'
		echo 'set ylabel "downtime, ms"; set grid; set key outside right'
		echo "plot $plot"
	} | bench_plot "$png" 1000,560
}

# What --quick exists for: the files of sweep $1 in $2 are there and well
# formed (columns, numbers, a row per point and mode, a PNG); no timing.
sweep_check() {
	local sw=$1 dir=$2 csv=$2/upgrade-$1.csv bad=0 want
	want=$(($(sweep_points "$sw" | wc -l) * $(wc -w <<<"$sweep_modes")))
	[ "$(head -n 1 "$csv")" = "$SWEEP_CSV_HEADER" ] || { echo "check: $csv: bad header"; bad=1; }
	awk -F , -v nf="$(awk -F , '{ print NF; exit }' <<<"$SWEEP_CSV_HEADER")" -v f="$csv" '
		NR == 1 { next }
		NF != nf { printf "check: %s:%d: %d columns, not %d\n", f, NR, NF, nf; bad = 1; next }
		$3 !~ /^[0-9]+$/ || $4 !~ /^[0-9]+$/ || $6 !~ /^[0-9]+$/ || $7 !~ /^[0-9]+$/ {
			printf "check: %s:%d: mem_mib, vcpus, run or downtime_us not a number\n", f, NR; bad = 1 }
		{ for (i = 8; i <= NF; i++) if ($i !~ /^[0-9]*$/) {
			printf "check: %s:%d: column %d not a number: %s\n", f, NR, i, $i; bad = 1 } }
		$6 != "0" { counted[$2 "," $5] = 1 }
		END { n = 0; for (k in counted) n++
		      if (n != want) { printf "check: %s: %d points x modes counted, not %d\n", f, n, want; bad = 1 }
		      exit bad }' want="$want" "$csv" || bad=1
	[ "$(grep -c '^| [0-9]' "$dir/upgrade-$sw.md")" = $((want * 2)) ] ||
		{ echo "check: $dir/upgrade-$sw.md: not $want rows in each table"; bad=1; }
	[ "$(head -c 4 "$dir/upgrade-$sw.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e47 ] ||
		{ echo "check: $dir/upgrade-$sw.png: not a PNG"; bad=1; }
	[ $bad = 0 ] && echo "check: upgrade-$sw.csv, .md, .png: well formed, $want points x modes"
	return $bad
}

# The CSV, Markdown and PNG of sweep $1 from log $2 into directory $3.
sweep_outputs() {
	local sw=$1 log=$2 dir=$3 stats
	stats=$dir/upgrade-$sw.stats
	sweep_csv "$log" "$sw" >"$dir/upgrade-$sw.csv"
	sweep_stats "$dir/upgrade-$sw.csv" "${SWEEP_STATS[@]}" >"$stats"
	sweep_stats "$dir/upgrade-$sw.csv" "${SWEEP_PHASES[@]}" >"$stats.phases"
	sweep_markdown "$stats" "$sw" "$stats.phases" >"$dir/upgrade-$sw.md"
	echo
	cat "$dir/upgrade-$sw.md"
	echo "csv: $dir/upgrade-$sw.csv"
	# The measured VMM's version, not the tree's: --from-log may come later.
	sweep_plot "$stats" "$sw" "$dir/upgrade-$sw.png" \
		"$(sed -n 's/.*"new_version":"\([^"]*\)".*/\1/p' "$log" | head -n 1)"
	rm -f "$stats" "$stats.phases"
}

sweep_main() {
	local sweeps=("$sweep") dir=build/bench log s max=0 m vm_mib rc=0 failed=0
	# The cheaper sweep first: the other's points come as time allows.
	[ "$sweep" = all ] && sweeps=(vcpus ram)
	sweep_vcpus_mem=256M
	sweep_touch=--touch-ram
	sweep_touch_note="each on a fresh VMM whose guest touched all its RAM"
	if [ -n "$quick" ]; then
		sweep_ram="256M 512M"
		sweep_vcpus="1 2"
		sweep_runs=1
		# Idle guests: quick, and clear of the failures that follow
		# touched ones in the test VM (Documentation/performance.rst).
		sweep_touch=
		sweep_touch_note="one VMM per point and mode, its guest idle (--quick)"
		dir=build/bench/quick
	fi
	log=$dir/upgrade-sweep-$sweep.log
	if [ -z "$from_log" ]; then
		bench_prepare
		mkdir -p "$dir"
		# The test VM holds the largest guest and the VMMs beside it.
		for m in $sweep_ram $sweep_vcpus_mem; do
			m=$(bench_mib "$m")
			[ "$m" -le "$max" ] || max=$m
		done
		vm_mib=$((max + 2048 > 3072 ? max + 2048 : 3072))
		echo "test VM (${vm_mib} MiB): sweep $sweep, modes $sweep_modes, 1 warm-up + $sweep_runs upgrades per point and mode"
		set +e
		scripts/testvm.sh --mem "$vm_mib" --timeout 14400 --kmod kmod/cprstash.ko \
			--file "$top/build/plain/vmm/vmm:/build/vmm/vmm" \
			--file scripts/upgrade-series.sh:/bin/upgrade-series \
			--file "$(command -v jq)" \
			-- "$(sweep_vm_command "${sweeps[@]}")" | tee "$log" |
			grep --line-buffered -v -e '^\[ *[0-9.]*\] ' -e '^REPORT '
		rc=${PIPESTATUS[0]}
		set -e
		if [ "$rc" != 0 ]; then
			echo "bench-upgrade: the test VM run exited $rc (all of it in $log)"
			failed=1
		fi
	fi
	[ -s "$log" ] || { echo "bench-upgrade: no log $log" >&2; return 1; }
	for s in "${sweeps[@]}"; do
		sweep_outputs "$s" "$log" "$dir"
		if [ -n "$quick" ]; then
			sweep_check "$s" "$dir" || failed=1
		fi
	done
	echo
	echo "$BENCH_VM_NOTE"
	return $failed
}
