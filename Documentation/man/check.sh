#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The man pages render without a groff warning, and vmm.1's OPTIONS name
# exactly the long options `vmm --help` lists (both come from different
# files: config.c and Documentation/vmm.rst; this keeps them in step).
# usage: check.sh VMM MANPAGE...
set -euo pipefail
vmm=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for page in "$@"; do
	# Wide lines: nothing is hyphenated; the C locale: plain ASCII dashes.
	if ! LC_ALL=C MANWIDTH=1000 man -l "$page" >"$tmp/page" 2>"$tmp/err"; then
		echo "check: man -l $page failed"
		fail=1
	fi
	if [ -s "$tmp/err" ]; then
		echo "check: man -l $page warned:"
		cat "$tmp/err"
		fail=1
	fi
	[ -s "$tmp/page" ] || { echo "check: $page renders empty"; fail=1; }
	case $page in
	*/vmm.1)
		sed -n '/^OPTIONS/,/^EXIT STATUS/p' "$tmp/page" >"$tmp/section"
		grep -oE -- '--[a-z][a-z-]*[a-z]' "$tmp/section" | sort -u >"$tmp/man-opts"
		"$vmm" --help | grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u >"$tmp/help-opts"
		[ -s "$tmp/help-opts" ] || { echo "check: vmm --help names no option"; fail=1; }
		if ! diff -u --label 'vmm --help' --label "$page OPTIONS" \
			"$tmp/help-opts" "$tmp/man-opts"; then
			echo "check: vmm --help and $page list different options"
			fail=1
		fi
		;;
	esac
	[ $fail = 0 ] && echo "ok: $page"
done
exit $fail
