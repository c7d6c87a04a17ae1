#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The rows of kvm-tests.list a run takes, one "NAME LIMIT PROG ARGS..." line
# each: what vmm/tests/in-vm.sh runs, and what scripts/testvm-tests.sh
# plans its test-VM boots by.  POSIX sh: the test VM has busybox.
# usage: kvm-rows.sh LIST HOST_ROWS LONG [ONLY]
# HOST_ROWS=1: the "host" rows too (a host without /dev/kvm); LONG=1: the
# "-long" rows too; ONLY: an extended regular expression on the names.
list=$1
host_rows=$2
long=$3
only=${4:-}
while read -r where name limit prog args; do
	case $where in
	vm) ;;
	host) [ "$host_rows" = 1 ] || continue ;;
	vm-long) [ "$long" = 1 ] || continue ;;
	host-long) [ "$host_rows$long" = 11 ] || continue ;;
	*) continue ;;	# comments and blank lines
	esac
	[ -z "$only" ] || echo "$name" | grep -Eq "$only" || continue
	echo "$name $limit $prog $args"
done <"$list"
