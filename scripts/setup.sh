#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install everything cprstash needs from Debian's archive, pinned to one
# kernel upload.  Idempotent: a machine that has it all returns at once.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
. "$here/versions.sh"

packages=(
	"linux-headers-$CPRSTASH_KVER=$CPRSTASH_KDEB_VERSION"
	"linux-image-$CPRSTASH_KVER=$CPRSTASH_KDEB_VERSION"
	"linux-source-6.12=$CPRSTASH_KDEB_VERSION"
	build-essential pkg-config meson ninja-build
	liburing-dev libjson-c-dev
	kmod cpio xz-utils busybox-static
	# the test VM's, from backports (versions.sh says why)
	"qemu-system-x86=$CPRSTASH_QEMU_DEB_VERSION"
	jq	# the demo and benchmarks read the VMM's JSON reports with it
	# man pages (built from Documentation/ and checked with man -l), and
	# the packages and DKMS build that scripts/test-packages.sh checks
	python3-docutils man-db groff-base
	dpkg-dev debhelper dkms dh-dkms
	clang	# libFuzzer targets (vmm/tests/fuzz): -fsanitize=fuzzer
)

missing() {
	local p name want have
	for p in "${packages[@]}"; do
		name=${p%%=*}
		want=${p#*=}
		have=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$name" 2>/dev/null || true)
		case $have in
		ii*) [ "$name" = "$p" ] || [ "${have#ii }" = "$want" ] || [ "${have:3}" = "$want" ] || echo "$p" ;;
		*) echo "$p" ;;
		esac
	done
}

todo=$(missing)
[ -z "$todo" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "setup: missing packages and not root: $todo" >&2
	exit 1
fi
echo "setup: installing:" $todo
export DEBIAN_FRONTEND=noninteractive

# Debian's own suite, from the mirror this machine already uses.
backports_source() {
	local list=/etc/apt/sources.list.d/cprstash-backports.sources uri
	apt-cache policy 2>/dev/null | grep -q " $CPRSTASH_QEMU_SUITE/main " && return
	uri=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	: "${uri:=http://deb.debian.org/debian}"
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$uri" "$CPRSTASH_QEMU_SUITE" >"$list"
}
backports_source
apt-get update -q
# QEMU and what it needs from the same suite; nothing else from there.
qemu=
rest=
for p in $todo; do
	case $p in qemu-system-x86=*) qemu=$p ;; *) rest+=" $p" ;; esac
done
# shellcheck disable=SC2086
[ -z "$rest" ] || apt-get install -y -q --no-install-recommends $rest
[ -z "$qemu" ] || apt-get install -y -q --no-install-recommends -t "$CPRSTASH_QEMU_SUITE" "$qemu"
