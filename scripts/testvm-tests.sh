#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Everything that needs the test VM, in one boot: the cprstash kselftests
# (selftests/run_tests.sh) and the VMM's nested-KVM tests
# (vmm/tests/in-vm.sh).  Each suite prints "N passed, N failed[, N skipped]";
# the last line here is their sum.
# usage: scripts/testvm-tests.sh BUILDDIR
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
builddir=$(readlink -f "$1")
. "$top/scripts/versions.sh"

files=()
add() { files+=(--file "$1:$2"); }
suites=()

# kselftests: the binaries and scripts meson put in one directory.
if [ -x "$top/selftests/run_tests.sh" ]; then
	for t in "$builddir"/selftests/cprstash/*; do
		[ -f "$t" ] && [ -x "$t" ] && add "$t" "/selftests/cprstash/${t##*/}"
	done
	suites+=("/selftests/cprstash/run_tests.sh /selftests/cprstash")
else
	for t in "$builddir"/selftests/cprstash/*_test; do
		[ -x "$t" ] && add "$t" "/selftests/${t##*/}"
	done
	suites+=('p=0; f=0; for t in /selftests/*_test; do "$t" >/tmp/out 2>&1; cat /tmp/out;
p=$((p + $(grep -c "^ok " /tmp/out))); f=$((f + $(grep -c "^not ok " /tmp/out))); done;
echo "$p passed, $f failed"; [ $f = 0 ]')
fi

# VMM under nested KVM, with the pinned kernel as its Linux guest.
add "$builddir/vmm/vmm" /build/vmm/vmm
for t in "$builddir"/vmm/tests/*; do
	[ -f "$t" ] && [ -x "$t" ] && add "$t" "/build/vmm/tests/${t##*/}"
done
add "$top/vmm/tests/in-vm.sh" /build/vmm/tests/in-vm.sh
add "/boot/vmlinuz-$CPRSTASH_KVER" /boot/vmlinuz
add "$("$top/scripts/guest-initramfs.sh")" /boot/guest-initramfs.cpio.gz
suites+=("/build/vmm/tests/in-vm.sh /build/vmm")

# Run every suite, keep going after a failure, sum the closing lines.
cmd='P=0; F=0; S=0'
for s in "${suites[@]}"; do
	cmd+="
( $s ) >/tmp/suite.out 2>&1; rc=\$?; cat /tmp/suite.out
line=\$(grep -E '^[0-9]+ passed, [0-9]+ failed' /tmp/suite.out | tail -n 1)
if [ -z \"\$line\" ]; then F=\$((F + 1)); echo \"testvm-tests: suite gave no summary (exit \$rc)\"; else
set -- \$line; P=\$((P + \$1)); F=\$((F + \$3)); S=\$((S + \${5:-0}))
[ \$rc = 0 ] || [ \$3 != 0 ] || { F=\$((F + 1)); echo \"testvm-tests: suite exit \$rc\"; }; fi"
done
cmd+='
echo "$P passed, $F failed, $S skipped"; [ $F = 0 ]'

exec "$top/scripts/testvm.sh" --timeout 1200 --kmod "$top/kmod/cprstash.ko" \
	"${files[@]}" -- "$cmd"
