#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The VMM tests that need real hardware virtualization, run inside the test
# VM (nested KVM) by scripts/testvm-tests.sh.  TAP out; last line is
# "N passed, N failed, N skipped".
# usage: in-vm.sh DIR    (DIR holds vmm and tests/; /boot has the guest)
dir=${1:-/build/vmm}
export VMM_TEST_KERNEL=/boot/vmlinuz
export VMM_TEST_INITRD=/boot/guest-initramfs.cpio.gz
pass=0 fail=0 skip=0 n=0

run() {
	name=$1
	shift
	n=$((n + 1))
	"$@" >/tmp/vmm-test.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/vmm-test.out
	case $rc in
	0) echo "ok $n $name"; pass=$((pass + 1)) ;;
	77) echo "ok $n $name # SKIP"; skip=$((skip + 1)) ;;
	*) echo "not ok $n $name (exit $rc)"; fail=$((fail + 1)) ;;
	esac
}

echo "TAP version 13"
run e2e-builtin-2cpu-nested "$dir/tests/e2e_builtin" "$dir/vmm" 2
run state-roundtrip-2cpu-nested "$dir/tests/state_roundtrip" 2
run e2e-linux-2cpu "$dir/tests/e2e_linux" "$dir/vmm"
echo "1..$n"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
