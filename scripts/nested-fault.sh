#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Reproduce the test VM's nested-virtualization fault without cprstash:
# boot the test VM (no module), then start N fresh VMMs one after another,
# each with a built-in guest touching all of its RAM (scripts/testvm/
# touch-loop), and print how each fared.  With the nested guests on NPT
# (--npt) the test VM's memory got corrupted within 1 to 14 VMMs of 1 GiB
# on 2026-12-02; with shadow paging, the test VM's default, none did in 25
# (Documentation/upgrade.rst, "Order of teardown").  Exits non-zero when
# a VMM failed or the test VM's kernel did.
# --cr-reads: the other fault, which keeps Linux guests off shadow paging:
# run a Linux guest for a minute and count KVM's CR-read exits
# (scripts/testvm/cr-read-exits).  QEMU 10.0.2 checks a nested guest's CR3
# and CR4 reads against the CR0-read intercept, so none reaches KVM as a
# CR3 or CR4 read and a Linux guest halts in early boot.  Exits 1 while
# that is so.
# usage: scripts/nested-fault.sh [--npt] [BUILDDIR (build/dev)] [N (25)] [MEM (1G)]
#        scripts/nested-fault.sh [--npt] --cr-reads [BUILDDIR (build/dev)]
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
npt=0 cr_reads=0
[ "${1:-}" = --npt ] && { npt=1; shift; }
[ "${1:-}" = --cr-reads ] && { cr_reads=1; shift; }
builddir=$(readlink -f "${1:-$top/build/dev}")
n=${2:-25}
mem=${3:-1G}
[ -x "$builddir/vmm/vmm" ] || { echo "nested-fault: no $builddir/vmm/vmm (scripts/build-userspace.sh)" >&2; exit 2; }
if [ "$cr_reads" = 1 ]; then
	# shellcheck source-path=SCRIPTDIR source=versions.sh
	. "$top/scripts/versions.sh"
	CPRSTASH_TESTVM_NPT=$npt exec "$top/scripts/testvm.sh" --timeout 300 \
		--file "$builddir/vmm/vmm:/build/vmm/vmm" \
		--file "/boot/vmlinuz-$CPRSTASH_KVER:/boot/vmlinuz" \
		--file "$("$top/scripts/guest-initramfs.sh"):/boot/guest-initramfs.cpio.gz" \
		--file "$top/scripts/testvm/cr-read-exits:/bin/cr-read-exits" \
		-- "cr-read-exits /build/vmm/vmm /boot/vmlinuz /boot/guest-initramfs.cpio.gz 60"
fi
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "nested-fault: N must be a count, not '$n'" >&2; exit 2; }
CPRSTASH_TESTVM_NPT=$npt exec "$top/scripts/testvm.sh" --timeout $((600 + n * 300)) --mem 3072 \
	--file "$builddir/vmm/vmm:/build/vmm/vmm" \
	--file "$top/scripts/testvm/touch-loop:/bin/touch-loop" \
	-- "grep -H . /sys/module/kvm_amd/parameters/npt /sys/module/kvm/parameters/tdp_mmu; touch-loop /build/vmm/vmm $n $mem 2"
