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

# Under multi-threaded TCG this kernel can oops ("Oops: int3") when KVM
# patches a static key.  kvm-hold keeps one VM, but LAPIC keys count vCPUs:
# apic_sw_disabled flips whenever the last vCPU with a software-disabled
# LAPIC goes or the first one comes, which Linux guests and live upgrades
# that re-create vCPUs do all the time.  A paused built-in guest (it never
# enables its LAPIC) holds one such vCPU for the whole run.
anchor_sock=/tmp/vmm-anchor.sock
"$dir/vmm" --guest builtin --mem 64M --control $anchor_sock >/dev/null 2>&1 &
for i in $(seq 100); do
	"$dir/vmm" --control $anchor_sock --cmd pause >/dev/null 2>&1 && break
	sleep 0.1
done

echo "TAP version 13"
run e2e-builtin-2cpu-nested "$dir/tests/e2e_builtin" "$dir/vmm" 2
run state-roundtrip-2cpu-nested "$dir/tests/state_roundtrip" 2
run e2e-linux-2cpu "$dir/tests/e2e_linux" "$dir/vmm"
run e2e-linux-poweroff "$dir/tests/e2e_linux" "$dir/vmm" poweroff
# Live upgrade in every mode (Documentation/upgrade.rst); adopt and rebuild
# need /dev/cprstash, which only this machine has.
for mode in adopt rebuild cloexec; do
	run e2e-upgrade-$mode-10x-1G "$dir/tests/e2e_upgrade" "$dir/vmm" $mode 10 1G 2
done
run e2e-upgrade-auto "$dir/tests/e2e_upgrade" "$dir/vmm" auto 3 256M 1
for mode in adopt rebuild cloexec; do
	run e2e-upgrade-rollback-$mode "$dir/tests/e2e_upgrade_rollback" "$dir/vmm" $mode
done
for mode in adopt rebuild cloexec; do
	run e2e-upgrade-linux-$mode "$dir/tests/e2e_upgrade_linux" "$dir/vmm" $mode 5
done
"$dir/vmm" --control $anchor_sock --cmd quit >/dev/null 2>&1
wait
echo "1..$n"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
