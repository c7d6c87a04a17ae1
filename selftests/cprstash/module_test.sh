#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# module_test.sh: cprstash.ko refuses to unload while a stash exists, unloads
# once it is gone, and loads and unloads cleanly many times in a row.  TAP by
# hand.  Leaves the module loaded, as it found it.
#
# Environment:
#   CPRSTASH_KO              the module (default /lib/cprstash/cprstash.ko)
#   CPRSTASH_TEST_DIR        where cleanup_test is (default: this directory);
#                            its "hold" stage keeps a sealed stash for us
#   CPRSTASH_MODULE_CYCLES   insmod/rmmod cycles (default 100)
#
# POSIX sh: the test VM has busybox.

ko=${CPRSTASH_KO:-/lib/cprstash/cprstash.ko}
dir=${CPRSTASH_TEST_DIR:-$(dirname "$0")}
cycles=${CPRSTASH_MODULE_CYCLES:-100}
tests="unload_refused_while_sealed_stash_exists unload_works_after_finish load_unload_cycles"
n=0
failed=0

result() {	# ok|not_ok NAME [why]
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2${3:+ # $3}"
	fi
}

skip_all() {
	for t in $tests; do
		n=$((n + 1))
		echo "ok $n $t # SKIP $1"
	done
	exit 0
}

loaded() {
	[ -d /sys/module/cprstash ]
}

# Unloading may wait for the last stash's release to finish: retry, bounded.
unload() {
	tries=0
	while ! rmmod cprstash 2>/dev/null; do
		tries=$((tries + 1))
		[ $tries -lt 40 ] || return 1
		sleep 0.5
	done
	[ $tries -eq 0 ] || echo "# rmmod needed $tries retries"
}

# Bring the module back for whoever runs after us.
reload() {
	loaded || insmod "$ko" || echo "# could not load $ko again"
}

echo "TAP version 13"
echo "1..3"
[ "$(id -u)" = 0 ] || skip_all "needs root"
loaded || skip_all "cprstash.ko is not loaded"
[ -f "$ko" ] || skip_all "$ko is missing"
[ -x "$dir/cleanup_test" ] || skip_all "no $dir/cleanup_test to hold a stash"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/in" "$tmp/out" || exit 1

# The holder: seals a stash and says "sealed"; on our word it finishes the
# stash and says "finished"; it exits when we close its stdin.
"$dir/cleanup_test" --stage hold <"$tmp/in" >"$tmp/out" &
holder=$!
exec 3>"$tmp/in" 4<"$tmp/out"

read -r said <&4
if [ "$said" != sealed ]; then
	result not_ok unload_refused_while_sealed_stash_exists \
		"the holder said '$said', not 'sealed'"
elif rmmod cprstash 2>/dev/null || ! loaded; then
	result not_ok unload_refused_while_sealed_stash_exists \
		"rmmod succeeded under a sealed stash"
	reload
else
	result ok unload_refused_while_sealed_stash_exists
fi

echo finish >&3
read -r said <&4
exec 3>&-
wait $holder
status=$?
exec 4<&-
if [ "$said" != finished ] || [ $status -ne 0 ]; then
	result not_ok unload_works_after_finish \
		"the holder said '$said' and exited $status"
elif ! unload; then
	result not_ok unload_works_after_finish "rmmod failed after FINISH"
else
	result ok unload_works_after_finish
fi
reload

# Each cycle also opens the device once (in a subshell): a stash is created
# and destroyed before the rmmod.
dmesg_before=$(dmesg | wc -l)
loaded && rmmod cprstash
i=0
why=
while [ $i -lt "$cycles" ]; do
	insmod "$ko" || { why="insmod failed in cycle $i"; break; }
	[ -c /dev/cprstash ] || { why="no /dev/cprstash in cycle $i"; break; }
	(: <>/dev/cprstash) 2>/dev/null ||
		{ why="open of /dev/cprstash failed in cycle $i"; break; }
	unload || { why="rmmod failed in cycle $i"; break; }
	i=$((i + 1))
done
reload
splat=$(dmesg | tail -n +$((dmesg_before + 1)) |
	grep -E 'WARNING|BUG|Oops|general protection|corruption|refcount_t' |
	head -n 1)
if [ -n "$why" ]; then
	result not_ok load_unload_cycles "$why"
elif [ -n "$splat" ]; then
	result not_ok load_unload_cycles "dmesg: $splat"
else
	result ok load_unload_cycles
fi
echo "# $i of $cycles insmod/rmmod cycles"

[ $failed -eq 0 ]
