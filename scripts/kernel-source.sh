#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Extract the few files cprstash takes from linux-source-6.12 (the kselftest
# harness and checkpatch) into the cache, once per pinned upload, and print
# the directory.  They are used where they are, never copied into the repo.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
. "$here/versions.sh"

dir=$CPRSTASH_CACHE/linux-source-${CPRSTASH_KDEB_VERSION//\~/_}
members=(
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

if [ ! -f "$dir/.complete" ]; then
	[ -f "$CPRSTASH_KSRC_TARBALL" ] || {
		echo "kernel-source: $CPRSTASH_KSRC_TARBALL missing (run scripts/setup.sh)" >&2
		exit 1
	}
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	tar -xJf "$CPRSTASH_KSRC_TARBALL" -C "$dir.tmp" --strip-components=1 \
		"${members[@]/#/linux-source-6.12/}"
	touch "$dir.tmp/.complete"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
echo "$dir"
