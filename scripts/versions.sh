# SPDX-License-Identifier: GPL-2.0
# The one place where the Debian kernel that cprstash builds against, boots in
# the test VM and takes its kselftest harness and checkpatch from is pinned.
# Headers, image and source must be the same upload, or the module's vermagic
# and the KVM internals it touches will not match the test VM's kernel.
CPRSTASH_KDEB_VERSION=6.12.107-1~deb12u1
CPRSTASH_KVER=6.12.107+deb12-amd64
CPRSTASH_KDIR=/usr/src/linux-headers-$CPRSTASH_KVER
CPRSTASH_KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
CPRSTASH_CACHE=${CPRSTASH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cprstash}
# The test VM's QEMU: 10.0 from bookworm-backports, not bookworm's 7.2.  Its
# TCG runs the nested suite in about half the time here, and under 7.2 the
# test VM's memory was corrupted now and then in ways no run could place
# (Documentation/upgrade.rst, "Order of teardown").
CPRSTASH_QEMU_SUITE=bookworm-backports
CPRSTASH_QEMU_DEB_VERSION=1:10.0.2+ds-2+deb13u1~bpo12+1
