#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The VMM tests that need KVM, run inside the test VM (nested KVM) by
# scripts/testvm-tests.sh: the "vm" rows of kvm-tests.list, and its "host"
# rows too when the host had no /dev/kvm to run them (HOST_ROWS=1).
# TAP out; last line is "N passed, N failed, N skipped".
# usage: in-vm.sh DIR [HOST_ROWS [ONLY]]  (DIR holds vmm, tests/ and
#                                  tests/kvm-tests.list; /boot has the guest)
# ONLY: an extended regular expression; only the rows whose name matches.
# CPRSTASH_TEST_LONG=1: the "-long" rows too.
dir=${1:-/build/vmm}
host_rows=${2:-0}
only=${3:-}
long=${CPRSTASH_TEST_LONG:-0}
export VMM_TEST_KERNEL=/boot/vmlinuz
export VMM_TEST_INITRD=/boot/guest-initramfs.cpio.gz
pass=0 fail=0 skip=0 n=0

run() {
	name=$1
	limit=$2
	shift 2
	n=$((n + 1))
	# A hang guard, not a measurement: a test that hangs fails alone
	# instead of taking the whole VM run down with it.  Longer than the
	# tests' own hang guard (testlib.h), which fails with more to say.
	start=$(date +%s)
	timeout -s KILL "$limit" "$@" </dev/null >/tmp/vmm-test.out 2>&1
	rc=$?
	sed 's/^/# /' /tmp/vmm-test.out
	# What each row costs: the default suite has a time budget.
	echo "# $name: $(($(date +%s) - start)) s"
	case $rc in
	0) echo "ok $n $name"; pass=$((pass + 1)) ;;
	77) echo "ok $n $name # SKIP"; skip=$((skip + 1)) ;;
	137) echo "not ok $n $name (killed after ${limit}s: hung?)"; fail=$((fail + 1)) ;;
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

# The hugepages rows want 64 MiB of 2 MiB pages.
echo 32 >/proc/sys/vm/nr_hugepages

echo "TAP version 13"
"$dir/tests/kvm-rows.sh" "$dir/tests/kvm-tests.list" "$host_rows" "$long" "$only" >/tmp/vmm-rows
set -f	# the arguments are words, not patterns
while read -r name limit prog args; do
	argv=
	for a in $args; do
		[ "$a" = @VMM@ ] && a=$dir/vmm
		argv="$argv $a"
	done
	# shellcheck disable=SC2086 # one word per argument, by construction
	run "$name" $((limit * 4 + 600)) "$dir/tests/$prog" $argv
done </tmp/vmm-rows
set +f
"$dir/vmm" --control $anchor_sock --cmd quit >/dev/null 2>&1
wait
echo "1..$n"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
