#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The vCPU-count sweep of Documentation/performance.rst, "vCPU count": in
# one test-VM boot, e2e_upgrade in adopt (and rebuild, for comparison)
# with 1, 4, 16 and 64 vCPUs; prints each run's medians line.
# usage: scripts/vcpu-sweep.sh BUILDDIR [ROUNDS (default 5)] [COUNTS...]
# CPRSTASH_SWEEP_MODES="adopt" runs only those modes.
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
builddir=$(readlink -f "$1")
rounds=${2:-5}
shift $(($# > 1 ? 2 : 1))
counts=${*:-1 4 16 64}
case "$rounds $counts" in *[!0-9\ ]*) echo "vcpu-sweep: numbers only" >&2; exit 2 ;; esac

cmd=''
modes=${CPRSTASH_SWEEP_MODES:-adopt rebuild}
case "$modes" in *[!a-z\ ]*) echo "vcpu-sweep: modes are words" >&2; exit 2 ;; esac
for mode in $modes; do
	for n in $counts; do
		cmd+="/bin/e2e_upgrade /bin/vmm $mode $rounds 256M $n --no-sweep-wait | grep -E '^(median|not measured|round [0-9]+: the)' || echo 'vcpu-sweep: $mode $n vCPUs failed';
"
	done
done
exec "$top/scripts/testvm.sh" --timeout 5400 --mem 3072 --kmod "$top/kmod/cprstash.ko" \
	--file "$builddir/vmm/vmm:/bin/vmm" \
	--file "$builddir/vmm/tests/e2e_upgrade:/bin/e2e_upgrade" -- "$cmd"
