#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configure (once) and build the userspace tree into BUILDDIR.
# usage: scripts/build-userspace.sh BUILDDIR [meson options...]
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
builddir=$1
shift
if [ -f "$builddir/build.ninja" ]; then
	meson configure "$builddir" "$@" >/dev/null
else
	meson setup "$builddir" "$top" "$@"
fi
meson compile -C "$builddir"
