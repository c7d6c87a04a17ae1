#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# All of cprstash's tests, from a fresh Debian 12 machine:
#   1. install packages (scripts/setup.sh)
#   2. build the module with W=1 and run checkpatch --strict
#   3. build userspace with ASan+UBSan and run the host tests (meson test)
#   4. boot the test VM and run the kselftests (and in-VM VMM tests) there
# Prints one closing line "N passed, N failed" and exits non-zero on any
# failure.  CPRSTASH_TEST_SKIP_VM=1 skips step 4 (for quick local runs).
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
cd "$top"
. scripts/versions.sh

step() { printf '\n==== %s\n' "$*"; }

step "setup"
scripts/setup.sh

step "module: W=1 build and checkpatch --strict"
scripts/build-kmod.sh

passed=0
failed=0
skipped=0
# Adds the counts of a "N passed, N failed[, N skipped]" line from $1.
count_summary() {
	local line
	line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	[ -n "$line" ] || return 1
	line=${line#*: }
	set -- $line
	passed=$((passed + $1))
	failed=$((failed + $3))
	case $line in *skipped*) skipped=$((skipped + $5)) ;; esac
}

step "userspace: ASan+UBSan build, host tests"
scripts/build-userspace.sh build/asan -Db_sanitize=address,undefined
host_log=build/asan/host-tests.log
# The --hugepages test needs 64 MiB of free 2 MiB pages: reserve them for
# the run (root only; the test skips without them) and give them back.
hp=/proc/sys/vm/nr_hugepages
hp_old=$(cat "$hp" 2>/dev/null || echo)
[ -n "$hp_old" ] && [ -w "$hp" ] && echo $((hp_old + 32)) >"$hp" 2>/dev/null || true
set +e
meson test -C build/asan --print-errorlogs 2>&1 | tee "$host_log"
host_rc=${PIPESTATUS[0]}
set -e
[ -n "$hp_old" ] && [ -w "$hp" ] && echo "$hp_old" >"$hp" 2>/dev/null || true
# meson prints "Ok: N", "Fail: N", "Skipped: N" etc. in its summary.
meson_count() {
	local n
	n=$(sed -n "s/^$1: *\([0-9][0-9]*\) *$/\1/p" "$host_log" | tail -n 1)
	echo "${n:-0}"
}
passed=$((passed + $(meson_count Ok) + $(meson_count "Expected Fail")))
failed=$((failed + $(meson_count Fail) + $(meson_count "Unexpected Pass") + $(meson_count Timeout)))
skipped=$((skipped + $(meson_count Skipped)))
[ "$host_rc" = 0 ] || echo "test: host tests failed (meson test exit $host_rc)"

if [ "${CPRSTASH_TEST_SKIP_VM:-0}" != 1 ]; then
	step "test VM: kselftests and VMM tests under nested KVM"
	scripts/build-userspace.sh build/plain
	vm_log=build/plain/testvm.log
	set +e
	scripts/testvm-tests.sh build/plain 2>&1 | tee "$vm_log"
	vm_rc=${PIPESTATUS[0]}
	set -e
	if ! count_summary "$vm_log"; then
		echo "test: the test VM reported no summary (exit $vm_rc)"
		failed=$((failed + 1))
	elif [ "$vm_rc" != 0 ]; then
		echo "test: test VM run failed (exit $vm_rc)"
		grep -q 'failed' "$vm_log" || failed=$((failed + 1))
	fi
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$host_rc" = 0 ] && [ "${vm_rc:-0}" = 0 ]
