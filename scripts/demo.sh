#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main job, end to end on a fresh Debian 12 machine: build cprstash.ko,
# boot the test VM, load the module and show state surviving execve() of
# a process, with the measured exec-to-recovered time.
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
cd "$top"
scripts/setup.sh
scripts/build-kmod.sh >/dev/null
scripts/build-userspace.sh build/plain >/dev/null
exec scripts/testvm.sh --timeout 300 --kmod kmod/cprstash.ko \
	--file build/plain/tools/stash-exec-demo:/bin/stash-exec-demo \
	-- 'stash-exec-demo && echo && echo "debugfs after FINISH and close:" && cat /sys/kernel/debug/cprstash/stashes'
