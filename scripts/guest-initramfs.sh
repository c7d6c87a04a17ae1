#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the tiny initramfs of the Linux guest the VMM boots in tests:
# busybox-static, scripts/guest/init, the virtio_blk and virtio_net modules
# (with virtio_net's failover and net_failover) of the pinned kernel
# (uncompressed: busybox insmod reads no .xz; virtio_pci is built in), and
# the static workload tool GUEST_WORKLOAD if given (from the build:
# vmm/tests/guest_workload).  Cached; prints its path.
# usage: scripts/guest-initramfs.sh [GUEST_WORKLOAD]
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
. "$here/versions.sh"

kmods=/lib/modules/$CPRSTASH_KVER/kernel
blk_ko=$kmods/drivers/block/virtio_blk.ko.xz
# In load order: virtio_net needs net_failover, which needs failover.
net_kos=("$kmods/net/core/failover.ko.xz" "$kmods/drivers/net/net_failover.ko.xz"
	 "$kmods/drivers/net/virtio_net.ko.xz")
workload=${1:-}
key=$(cat "$here/guest/init" /bin/busybox "$blk_ko" "${net_kos[@]}" ${workload:+"$workload"} |
	sha256sum | cut -c1-16)
out=$CPRSTASH_CACHE/guest-initramfs-$key.cpio.gz
if [ ! -f "$out" ]; then
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage"/{bin,proc,sys,dev}
	cp /bin/busybox "$stage/bin/busybox"
	for applet in sh mount cat echo nproc usleep reboot insmod dd sync head sleep ip nc; do
		ln -s busybox "$stage/bin/$applet"
	done
	install -m 0755 "$here/guest/init" "$stage/init"
	xz -dc "$blk_ko" >"$stage/virtio_blk.ko"
	for ko in "${net_kos[@]}"; do
		name=${ko##*/}
		xz -dc "$ko" >"$stage/${name%.xz}"
	done
	[ -z "$workload" ] || install -m 0755 "$workload" "$stage/bin/guest_workload"
	mkdir -p "$CPRSTASH_CACHE"
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
	mv "$out.tmp" "$out"
fi
echo "$out"
