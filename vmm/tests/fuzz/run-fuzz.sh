#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run one libFuzzer target for a bounded time over its corpus in the repo;
# any crash, leak, sanitizer report or timeout of one input fails the test.
# New inputs go to a scratch directory, so the run leaves the repo as it
# was: to keep the interesting ones, merge them in by hand
#   TARGET -merge=1 vmm/tests/fuzz/corpus/NAME SCRATCH
#
# usage: run-fuzz.sh TARGET CORPUS_DIR [DICT]
# Environment: CPRSTASH_FUZZ_SECONDS (default 15, or 600 with
# CPRSTASH_FUZZ_LONG=1) is the run's length.  A bound on work, never a
# verdict: no test asserts a duration.
set -eu
target=$1
corpus=$2
dict=${3:+-dict=$3}
if [ "${CPRSTASH_FUZZ_LONG:-0}" = 1 ]; then
	seconds=${CPRSTASH_FUZZ_SECONDS:-600}
else
	seconds=${CPRSTASH_FUZZ_SECONDS:-15}
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# -timeout: an input that takes 10 s is a hang; -rss_limit_mb: a blow-up.
# libFuzzer's own exit status for a crash is 77, which meson reads as a
# skip: -error_exitcode makes it a failure.
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 \
	-print_final_stats=1 $dict "$scratch" "$corpus"
