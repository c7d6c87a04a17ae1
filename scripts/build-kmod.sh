#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build kmod/cprstash.ko for the pinned kernel with W=1, failing on any
# compiler warning, then run checkpatch --strict on kmod/ and uapi/.
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
. "$top/scripts/versions.sh"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
make -C "$CPRSTASH_KDIR" M="$top" W=1 modules 2>&1 | tee "$log"
if grep -E 'warning:|error:' "$log" >/dev/null; then
	echo "build-kmod: the module build printed warnings (W=1 must be clean)" >&2
	exit 1
fi

ksrc=$("$top/scripts/kernel-source.sh")
if ! perl "$ksrc/scripts/checkpatch.pl" --strict --no-tree --terse -q \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f \
	$(git -C "$top" ls-files -co --exclude-standard 'kmod/*.[ch]' 'uapi/*.h' |
	  sed "s|^|$top/|"); then
	echo "build-kmod: checkpatch --strict found problems" >&2
	exit 1
fi
echo "build-kmod: $top/kmod/cprstash.ko (W=1 clean, checkpatch --strict clean)"
