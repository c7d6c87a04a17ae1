#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# All of cprstash's tests, from a fresh Debian 12 machine:
#   1. install packages (scripts/setup.sh)
#   2. build the module with W=1 and run checkpatch --strict
#   3. build userspace with ASan+UBSan and run the host tests (meson test)
#   4. build the packages, unpack them into a scratch root and check them
#      (scripts/test-packages.sh: files, man pages, DKMS build, unit)
#   5. boot the test VM and run the kselftests (and in-VM VMM tests) there
#   6. the benchmark's quick sweep in the test VM (scripts/bench-upgrade.sh)
# Tests that need KVM (vmm/tests/kvm-tests.list, "host" rows) run on the
# host when it has /dev/kvm and in the test VM when it has not, so both
# kinds of machine run the same tests.  CPRSTASH_TEST_NO_HOST_KVM=1 acts as
# on a machine without /dev/kvm, so both paths can be tried anywhere.
# Prints what ran where, then one closing line "N passed, N failed,
# N skipped", and exits non-zero on any failure.  --long
# (CPRSTASH_TEST_LONG=1; CPRSTASH_FUZZ_LONG=1 is the older name) fuzzes
# longer (1,000,000 ioctl calls in selftests/cprstash/fuzz_test, 10 minutes
# per libFuzzer target), injects every fault of e2e_upgrade_faults and runs
# the "-long" rows of vmm/tests/kvm-tests.list (the 1,000-upgrade soaks).
# CPRSTASH_TEST_SKIP_VM=1 skips steps 5 and 6 (quick local runs; the KVM
# tests then run only on a host with /dev/kvm).
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
cd "$top"
if [ "${1:-}" = --long ]; then
	export CPRSTASH_TEST_LONG=1
	shift
fi
# Either name turns it on, for every script below.
[ "${CPRSTASH_TEST_LONG:-${CPRSTASH_FUZZ_LONG:-0}}" = 1 ] &&
	export CPRSTASH_TEST_LONG=1 CPRSTASH_FUZZ_LONG=1
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

# /dev/kvm that this user can open, unless told to act as if there were none.
host_has_kvm() {
	[ "${CPRSTASH_TEST_NO_HOST_KVM:-0}" != 1 ] && [ -c /dev/kvm ] &&
		[ -r /dev/kvm ] && [ -w /dev/kvm ]
}
if host_has_kvm; then
	host_where="host (/dev/kvm)"
	host_suites=()
	vm_args=()
else
	host_where="host (no /dev/kvm${CPRSTASH_TEST_NO_HOST_KVM:+, CPRSTASH_TEST_NO_HOST_KVM=1})"
	host_suites=(--no-suite kvm --no-suite kvm-long)
	vm_args=(--host-kvm-tests)
fi
nr_kvm_rows=$(grep -c '^host ' vmm/tests/kvm-tests.list)

step "userspace: ASan+UBSan build, $host_where tests"
scripts/build-userspace.sh build/asan -Db_sanitize=address,undefined
host_log=build/asan/host-tests.log
# The --hugepages test needs 64 MiB of free 2 MiB pages: reserve them for
# the run (root only; the test skips without them) and give them back.
hp=/proc/sys/vm/nr_hugepages
hp_old=$(cat "$hp" 2>/dev/null || echo)
[ -n "$hp_old" ] && [ -w "$hp" ] && echo $((hp_old + 32)) >"$hp" 2>/dev/null || true
set +e
# The "long" setup has the kvm-long suite (vmm/tests/meson.build).
[ "${CPRSTASH_TEST_LONG:-0}" = 1 ] && host_suites+=(--setup long)
meson test -C build/asan --print-errorlogs --timeout-multiplier 4 "${host_suites[@]}" 2>&1 | tee "$host_log"
host_rc=${PIPESTATUS[0]}
set -e
[ -n "$hp_old" ] && [ -w "$hp" ] && echo "$hp_old" >"$hp" 2>/dev/null || true
# meson prints "Ok: N", "Fail: N", "Skipped: N" etc. in its summary.
meson_count() {
	local n
	n=$(sed -n "s/^$1: *\([0-9][0-9]*\) *$/\1/p" "$host_log" | tail -n 1)
	echo "${n:-0}"
}
h_passed=$(($(meson_count Ok) + $(meson_count "Expected Fail")))
h_failed=$(($(meson_count Fail) + $(meson_count "Unexpected Pass") + $(meson_count Timeout)))
h_skipped=$(meson_count Skipped)
passed=$((passed + h_passed))
failed=$((failed + h_failed))
skipped=$((skipped + h_skipped))
if [ "$host_rc" != 0 ]; then
	echo "test: host tests failed (meson test exit $host_rc)"
	[ "$h_failed" != 0 ] || failed=$((failed + 1))
fi

where=("$host_where: $h_passed passed, $h_failed failed, $h_skipped skipped")
if [ ${#vm_args[@]} -gt 0 ]; then
	where+=("  ($nr_kvm_rows KVM tests moved to the test VM: the host cannot run them)")
fi

step "packages: dpkg-buildpackage, unpacked into a scratch root, DKMS build, unit check"
mkdir -p build
pkg_log=build/test-packages.log
set +e
scripts/test-packages.sh 2>&1 | tee "$pkg_log"
pkg_rc=${PIPESTATUS[0]}
set -e
p0=$passed f0=$failed
count_summary "$pkg_log" || failed=$((failed + 1))
[ "$pkg_rc" = 0 ] || [ "$failed" != "$f0" ] || failed=$((failed + 1))
where+=("host, packages (scratch root, nothing installed): $((passed - p0)) passed, $((failed - f0)) failed")

if [ "${CPRSTASH_TEST_SKIP_VM:-0}" != 1 ]; then
	step "test VM: kselftests and VMM tests under nested KVM"
	scripts/build-userspace.sh build/plain
	vm_log=build/plain/testvm.log
	vm_failures=build/plain/testvm-failures.log
	set +e
	scripts/testvm-tests.sh "${vm_args[@]}" build/plain 2>&1 | tee "$vm_log"
	vm_rc=${PIPESTATUS[0]}
	set -e
	p0=$passed f0=$failed s0=$skipped
	if ! count_summary "$vm_log"; then
		echo "test: the test VM reported no summary (exit $vm_rc)"
		failed=$((failed + 1))
	elif [ "$vm_rc" != 0 ]; then
		# A guest kernel panic (testvm exit 125) ends the VM after a
		# suite's clean summary: the run failed even if no test did.
		echo "test: test VM run failed (exit $vm_rc)"
		[ "$failed" != "$f0" ] || failed=$((failed + 1))
	fi
	where+=("test VM (nested KVM, TCG): $((passed - p0)) passed, $((failed - f0)) failed, $((skipped - s0)) skipped")
	while IFS= read -r line; do
		where+=("  $line")
	done < <(grep -E '^testvm-tests: .*: ([0-9]+ passed|gave no summary|exit [0-9]+)' "$vm_log" || true)
elif [ ${#vm_args[@]} -gt 0 ]; then
	where+=("  CPRSTASH_TEST_SKIP_VM=1: the $nr_kvm_rows KVM tests did not run anywhere")
fi

# The benchmark must not rot: its smallest sweep, its files checked, no timing.
if [ "${CPRSTASH_TEST_SKIP_VM:-0}" != 1 ]; then
	step "test VM: scripts/bench-upgrade.sh --sweep all --quick (CSV, Markdown, PNG checked)"
	if scripts/bench-upgrade.sh --sweep all --quick 2>&1 | tee build/bench-quick.log; then
		passed=$((passed + 1)) bench=passed
	else
		failed=$((failed + 1)) bench=failed
	fi
	where+=("test VM, the benchmark's quick sweep: 1 $bench")
fi

# The test VM's failures, again: the log above them is long.
if [ -n "${vm_failures:-}" ] && [ -s "$vm_failures" ]; then
	echo
	echo "what the failed test VM suites printed last ($vm_failures, first 120 lines):"
	head -n 120 "$vm_failures"
fi

echo
echo "what ran where:"
printf '  %s\n' "${where[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$host_rc" = 0 ] && [ "$pkg_rc" = 0 ] && [ "${vm_rc:-0}" = 0 ]
