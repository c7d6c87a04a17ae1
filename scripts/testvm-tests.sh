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
	# Until selftests/run_tests.sh lands: each kselftest binary and the
	# end-to-end demo, TAP results counted here.
	for t in "$builddir"/selftests/cprstash/*_test; do
		[ -x "$t" ] && add "$t" "/selftests/${t##*/}"
	done
	add "$builddir/tools/stash-exec-demo" /bin/stash-exec-demo
	cmd='p=0; f=0
for t in /selftests/*_test; do
	"$t" >/tmp/out 2>&1; cat /tmp/out
	p=$((p + $(grep -c "^ok " /tmp/out))); f=$((f + $(grep -c "^not ok " /tmp/out)))
done
if stash-exec-demo; then p=$((p + 1)); else f=$((f + 1)); fi
echo "$p passed, $f failed"; [ $f = 0 ]'
fi

exec "$top/scripts/testvm.sh" --timeout 900 --kmod "$top/kmod/cprstash.ko" \
	"${files[@]}" -- "$cmd"
