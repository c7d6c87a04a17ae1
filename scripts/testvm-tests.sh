#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run everything that needs the test VM: the cprstash kselftests (which
# insmod/rmmod the module themselves) and, once built, the VMM's in-VM tests.
# usage: scripts/testvm-tests.sh BUILDDIR
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
builddir=$(readlink -f "$1")

files=()
add() { files+=(--file "$1:$2"); }

if [ -x "$top/selftests/run_tests.sh" ]; then
	for t in "$builddir"/selftests/cprstash/*_test; do
		[ -x "$t" ] && add "$t" "/selftests/${t##*/}"
	done
	add "$top/selftests/run_tests.sh" /selftests/run_tests.sh
	for s in "$top"/selftests/cprstash/*.sh; do
		[ -f "$s" ] && add "$s" "/selftests/${s##*/}"
	done
	cmd='/selftests/run_tests.sh /selftests'
else
	# Until the kselftests land: the end-to-end stash-across-exec check.
	add "$builddir/tools/stash-exec-demo" /bin/stash-exec-demo
	cmd='if stash-exec-demo; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; exit 1; fi'
fi

exec "$top/scripts/testvm.sh" --timeout 900 --kmod "$top/kmod/cprstash.ko" \
	"${files[@]}" -- "$cmd"
