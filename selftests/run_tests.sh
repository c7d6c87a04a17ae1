#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the cprstash selftests and print TAP: a line per test program, its own
# TAP output indented as comments, and at the end, over all test cases,
#   N passed, N failed, N skipped
# Exits non-zero when anything failed.  This is what the test VM runs.
#
# usage: run_tests.sh [DIR [TEST...]]
#   DIR    where the *_test programs and module_test.sh are (default:
#          $CPRSTASH_TEST_DIR, else this script's directory, else
#          ./cprstash beside it, as in a meson build directory)
#   TEST   run only these (e.g. exec_test module_test.sh); default: every
#          *_test, then module_test.sh, which reloads the module, last
# Environment: CPRSTASH_TEST_TIMEOUT per program in seconds (default 3600, a hang guard);
# CPRSTASH_KO and CPRSTASH_MODULE_CYCLES are passed on to module_test.sh.
#
# POSIX sh: the test VM has busybox.

here=$(dirname "$0")
dir=${1:-${CPRSTASH_TEST_DIR:-$here}}
[ $# -gt 0 ] && shift
if ! ls "$dir"/*_test >/dev/null 2>&1 && [ -d "$dir/cprstash" ]; then
	dir=$dir/cprstash
fi
export CPRSTASH_TEST_DIR="$dir"
limit=${CPRSTASH_TEST_TIMEOUT:-3600}

if [ $# -gt 0 ]; then
	progs="$*"
else
	progs=
	for p in "$dir"/*_test; do
		[ -x "$p" ] && progs="$progs ${p##*/}"
	done
	[ -f "$dir/module_test.sh" ] && progs="$progs module_test.sh"
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# One program, bounded if timeout(1) exists; scripts run with sh.
run_prog() {
	case $1 in
	*.sh) set -- sh "$dir/$1" ;;
	*) set -- "$dir/$1" ;;
	esac
	if command -v timeout >/dev/null 2>&1; then
		timeout "$limit" "$@"
	else
		"$@"
	fi
}

# shellcheck disable=SC2086 # one word per program
set -- $progs
echo "TAP version 13"
echo "1..$#"
echo "# kernel $(uname -r); cprstash $(
	[ -d /sys/module/cprstash ] && echo loaded || echo 'not loaded')"

n=0
passed=0
failed=0
skipped=0
for prog in "$@"; do
	n=$((n + 1))
	echo "# selftests: cprstash: $prog"
	# Stream the program's output as it comes; keep a copy to count.
	{ run_prog "$prog" 2>&1; echo $? >"$tmp/rc"; } | tee "$tmp/out" |
		sed 's/^/# /'
	rc=$(cat "$tmp/rc")

	# Its test cases: ok / not ok / ok ... # SKIP, against its plan.
	read -r p f s plan <<-EOF
	$(awk '
		/^ok / { if (/# SKIP/) s++; else p++ }
		/^not ok / { f++ }
		/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0 }
		END { printf "%d %d %d %d\n", p, f, s, plan }' "$tmp/out")
	EOF
	missing=$((plan - p - f - s))
	[ $missing -gt 0 ] || missing=0
	# A crash or a non-zero exit with no failed case is one more failure.
	if [ "$rc" != 0 ] && [ $((f + missing)) -eq 0 ]; then
		missing=1
	fi
	passed=$((passed + p))
	failed=$((failed + f + missing))
	skipped=$((skipped + s))

	if [ $((f + missing)) -gt 0 ]; then
		echo "not ok $n selftests: cprstash: $prog # exit=$rc"
	elif [ "$p" -eq 0 ] && [ "$s" -gt 0 ]; then
		echo "ok $n selftests: cprstash: $prog # SKIP"
	else
		echo "ok $n selftests: cprstash: $prog"
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
