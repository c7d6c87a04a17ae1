#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Everything that needs the test VM, in one boot: the cprstash kselftests
# (selftests/run_tests.sh) and the VMM's nested-KVM tests
# (vmm/tests/in-vm.sh).  Each suite prints "N passed, N failed[, N skipped]";
# the last line here is their sum.
# usage: scripts/testvm-tests.sh [--host-kvm-tests] BUILDDIR
# --host-kvm-tests: also run the "host" rows of vmm/tests/kvm-tests.list
# (for a host without /dev/kvm, so that the suite covers the same ground).
# CPRSTASH_TEST_ONLY=REGEX (a developer's loop, not the suite): only the
# kvm-tests.list rows whose name matches, and no kselftests.
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
host_rows=0
[ "${1:-}" = --host-kvm-tests ] && { host_rows=1; shift; }
builddir=$(readlink -f "$1")
. "$top/scripts/versions.sh"

files=()
add() { files+=(--file "$1:$2"); }
suites=()
names=()

only=${CPRSTASH_TEST_ONLY:-}
case $only in *\'*) echo "testvm-tests: CPRSTASH_TEST_ONLY may not hold a quote" >&2; exit 2 ;; esac

# kselftests: the binaries and scripts meson put in one directory.
for t in "$builddir"/selftests/cprstash/*; do
	[ -f "$t" ] && [ -x "$t" ] && add "$t" "/selftests/cprstash/${t##*/}"
done
# scripts/test.sh --long: fuzz_test makes 1,000,000 calls, with room for it,
# and the VMM tests run their long variants (CPRSTASH_TEST_LONG, the general
# name; CPRSTASH_FUZZ_LONG, the old one, still works).
long=${CPRSTASH_TEST_LONG:-${CPRSTASH_FUZZ_LONG:-0}}
[ "$long" = 1 ] || long=0
if [ -z "$only" ]; then
	names+=(kselftests)
	suites+=("CPRSTASH_FUZZ_LONG=$long CPRSTASH_TEST_TIMEOUT=$((3600 + long * 10800)) /selftests/cprstash/run_tests.sh /selftests/cprstash")
fi

# VMM under nested KVM, with the pinned kernel as its Linux guest.
add "$builddir/vmm/vmm" /build/vmm/vmm
for t in "$builddir"/vmm/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] && add "$t" "/build/vmm/tests/${t##*/}"
done
add "$top/vmm/tests/in-vm.sh" /build/vmm/tests/in-vm.sh
add "$top/vmm/tests/kvm-tests.list" /build/vmm/tests/kvm-tests.list
add "/boot/vmlinuz-$CPRSTASH_KVER" /boot/vmlinuz
add "$("$top/scripts/guest-initramfs.sh")" /boot/guest-initramfs.cpio.gz
if [ "$host_rows" = 1 ]; then
	names+=("VMM tests (kvm-tests.list, host and vm rows)")
else
	names+=("VMM tests (kvm-tests.list, vm rows)")
fi
suites+=("CPRSTASH_TEST_LONG=$long /build/vmm/tests/in-vm.sh /build/vmm $host_rows '$only'")

# Run every suite, keep going after a failure, sum the closing lines.
cmd='P=0; F=0; S=0'
for i in "${!suites[@]}"; do
	cmd+="
( ${suites[i]} ) >/tmp/suite.out 2>&1; rc=\$?; cat /tmp/suite.out
line=\$(grep -E '^[0-9]+ passed, [0-9]+ failed' /tmp/suite.out | tail -n 1)
if [ -z \"\$line\" ]; then F=\$((F + 1)); echo \"testvm-tests: ${names[i]}: gave no summary (exit \$rc)\"; else
echo \"testvm-tests: ${names[i]}: \$line\"
set -- \$line; P=\$((P + \$1)); F=\$((F + \$3)); S=\$((S + \${5:-0}))
[ \$rc = 0 ] || [ \$3 != 0 ] || { F=\$((F + 1)); echo \"testvm-tests: ${names[i]}: exit \$rc\"; }; fi"
done
cmd+='
echo "$P passed, $F failed, $S skipped"; [ $F = 0 ]'

exec "$top/scripts/testvm.sh" --timeout $((3600 + long * 10800)) --mem 3072 --kmod "$top/kmod/cprstash.ko" \
	"${files[@]}" -- "$cmd"
