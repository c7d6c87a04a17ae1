#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Everything that needs the test VM: the cprstash kselftests
# (selftests/run_tests.sh) and the VMM's nested-KVM tests
# (vmm/tests/in-vm.sh), each suite in a test VM of its own, so that a
# kernel failure in one (a panic ends the boot) neither takes the other's
# results with it nor leaves it a damaged kernel to run on.  The VMM rows
# that adopt a VM get a boot each (see vmm_suite below), the others a boot
# per six rows.  Each suite prints "N passed, N failed[, N skipped]"; the
# last line here is their sum.
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
# scripts/test.sh --long (CPRSTASH_TEST_LONG=1, or the older
# CPRSTASH_FUZZ_LONG=1): fuzz_test makes 1,000,000 calls and the long rows
# of kvm-tests.list run, with room for them.
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
add "$top/vmm/tests/kvm-rows.sh" /build/vmm/tests/kvm-rows.sh
add "$top/vmm/tests/kvm-tests.list" /build/vmm/tests/kvm-tests.list
# e2e_upgrade_faults compares its outcomes with the committed table.
add "$top/Documentation/upgrade-faults.rst.inc" /build/vmm/tests/upgrade-faults.rst.inc
add "/boot/vmlinuz-$CPRSTASH_KVER" /boot/vmlinuz
workload=$builddir/vmm/tests/guest_workload
[ -x "$workload" ] || workload=
add "$("$top/scripts/guest-initramfs.sh" ${workload:+"$workload"})" /boot/guest-initramfs.cpio.gz

# Whether a row runs ADOPT_KVM in the test VM: a mode that adopts (auto
# picks adopt where the module is), or a program that tries every mode
# when it is given none.
row_adopts() {	# NAME PROG ARGS...
	local prog=$2 a
	shift 2
	for a; do
		case $a in adopt | adopt-zap | auto | mixed) return 0 ;; esac
	done
	case $prog in
	e2e_upgrade_faults | e2e_upgrade_vfio | e2e_upgrade_allow)
		for a; do
			case $a in rebuild | cloexec) return 1 ;; esac
		done
		return 0 ;;
	esac
	return 1
}

# A VM in the test VM used to find the test VM's memory corrupted, now and
# then, after adoption or without: QEMU's emulated nested paging, which
# the test VM no longer uses (scripts/testvm.sh, kvm_amd.npt=0;
# Documentation/upgrade.rst, "Order of teardown").  The boots stay short
# all the same: the rows that adopt get a boot each, the others share one
# per few rows, so that what one row leaves behind fails that row, not a
# later one.
#
# Rows whose program boots a Linux guest run in a test VM with NPT
# (CPRSTASH_TESTVM_NPT=1): on shadow paging a Linux guest cannot boot in
# the test VM.  QEMU 10.0.2's TCG checks a nested guest's CR3 and CR4
# reads against the CR0-read intercept, which KVM drops once the guest
# has paging on, so the guest reads KVM's shadow root for CR3, its early
# page-fault handler finds CR3 is not its own table and gives up, and it
# halts before its first console line (scripts/nested-fault.sh
# --cr-reads; Documentation/upgrade.rst, "Order of teardown").  The fault
# NPT brings (scripts/testvm.sh) then stays possible in these rows.
npt_of=()	# per suite, 1: NPT
vmm_suite() {	# NAME REGEX NPT
	if [ "$3" = 1 ]; then names+=("$1, on NPT"); else names+=("$1"); fi
	npt_of[${#suites[@]}]=$3
	suites+=("CPRSTASH_TEST_LONG=$long /build/vmm/tests/in-vm.sh /build/vmm $host_rows '$2'")
}
row_boots_linux() {	# PROG
	case $1 in
	e2e_linux | e2e_disk | e2e_net | e2e_upgrade_linux | e2e_workload) return 0 ;;
	esac
	return 1
}
shared=() shared_linux=()
adopting=() adopting_npt=()
while read -r name _ prog args; do
	npt=0
	row_boots_linux "$prog" && npt=1
	# shellcheck disable=SC2086 # the row's words
	if row_adopts "$name" "$prog" $args; then
		adopting+=("$name")
		adopting_npt+=("$npt")
	elif [ "$npt" = 1 ]; then
		shared_linux+=("$name")
	else
		shared+=("$name")
	fi
done < <("$top/vmm/tests/kvm-rows.sh" "$top/vmm/tests/kvm-tests.list" "$host_rows" "$long" "$only")
# The others in boots of a few rows: failures came late in long boots.
rows_per_boot=6
shared_boots() {	# NPT ROW...
	local npt=$1 i re chunk
	shift
	local rows=("$@")
	for ((i = 0; i < ${#rows[@]}; i += rows_per_boot)); do
		chunk=("${rows[@]:i:rows_per_boot}")
		re=$(printf '%s|' "${chunk[@]}")
		vmm_suite "VMM rows ${chunk[0]} .. ${chunk[-1]}" "^(${re%|})\$" "$npt"
	done
}
shared_boots 0 "${shared[@]}"
shared_boots 1 "${shared_linux[@]}"
for i in "${!adopting[@]}"; do
	vmm_suite "VMM row ${adopting[i]}, a boot of its own" "^${adopting[i]}\$" "${adopting_npt[i]}"
done

# Run every suite in its own boot, keep going after a failure, sum the
# closing lines.  A suite whose boot ended without its summary (a guest
# kernel panic, a timeout) counts as one failure.  What each failure
# printed last goes to $failures too, which scripts/test.sh shows again at
# the end of a long log, where CI's excerpt of it can still see it.
failures=$builddir/testvm-failures.log
: >"$failures"
# Appends the lines that tell why suite $1 failed, from its output $2.
keep_failure() {
	{
		echo "---- ${names[$1]}"
		if grep -q '^not ok' "$2"; then
			grep -B 25 '^not ok' "$2"
		else
			tail -n 30 "$2"
		fi
	} | cut -c 1-300 >>"$failures"
}
P=0 F=0 S=0
for i in "${!suites[@]}"; do
	out=$(mktemp)
	set +e
	# 5 GiB: room for a guest with RAM past the PCI hole, all of it touched
	# (e2e-upgrade-adopt-touched-3136M); QEMU only takes what is used.
	CPRSTASH_TESTVM_NPT=${npt_of[i]:-0} \
	"$top/scripts/testvm.sh" --timeout $((3600 + long * 10800)) --mem 5120 \
		--kmod "$top/kmod/cprstash.ko" "${files[@]}" -- "${suites[i]}" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 || true)
	if [ -z "$line" ]; then
		F=$((F + 1))
		echo "testvm-tests: ${names[i]}: gave no summary (exit $rc)"
		keep_failure "$i" "$out"
		rm -f "$out"
		continue
	fi
	echo "testvm-tests: ${names[i]}: $line"
	# shellcheck disable=SC2086 # its words are the counts
	set -- $line
	P=$((P + $1)) F=$((F + $3)) S=$((S + ${5:-0}))
	if [ "$rc" != 0 ] && [ "$3" = 0 ]; then
		F=$((F + 1))
		echo "testvm-tests: ${names[i]}: exit $rc"
	fi
	if [ "$rc" != 0 ] || [ "$3" != 0 ]; then
		keep_failure "$i" "$out"
	fi
	rm -f "$out"
done
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
