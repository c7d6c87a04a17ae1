#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The packages, as an operator gets them: dpkg-buildpackage builds vmm,
# cprstash-dkms and libcprstash-dev from a copy of the tree; they are
# unpacked into a scratch root (dpkg -x), never installed on this host, so
# nothing here changes the host for later tests (DKMS's first build may
# create its signing key, /var/lib/dkms/mok.*, as any DKMS build would).
# Then, in that root:
#   - the files are where Documentation/admin-guide.rst says;
#   - vmm --version runs; the man pages render without a warning and vmm.1
#     names the options vmm --help does (Documentation/man/check.sh);
#   - a program builds against <cprstash.h> and libcprstash via pkg-config;
#   - DKMS builds cprstash.ko from the packaged sources for the pinned
#     kernel, in a scratch DKMS tree, and modprobe finds it by name in a
#     scratch module tree (it cannot be loaded here: the test VM loads its
#     own build);
#   - the unit template passes systemd-analyze verify (its binary and man
#     pages taken from the scratch root), and the udev rule names the node.
# Ends with "packages: N passed, N failed" (scripts/test.sh counts it).
# usage: scripts/test-packages.sh [WORKDIR]   (default build/packages)
set -euo pipefail
top=$(readlink -f "$(dirname "$0")/..")
. "$top/scripts/versions.sh"
work=$(readlink -f "${1:-$top/build/packages}")
version=$(sed -n "s/^  version: '\(.*\)',$/\1/p" "$top/meson.build")

passed=0
failed=0
# check WHAT COMMAND...: one result line, the command's output on failure.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok: $what"
	else
		failed=$((failed + 1))
		echo "FAIL: $what"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/  /'
	fi
}
summary() {
	echo "packages: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}

rm -rf "$work"
mkdir -p "$work/src" "$work/root"
# The tree as git sees it (tracked and new files, nothing ignored): no
# build directory goes into the package build.
git -C "$top" ls-files -co --exclude-standard -z |
	(cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$work/src"

# No debug-symbol package, nothing to test at build time: only what is
# checked here is built.
build_debs() {
	(cd "$work/src" && DEB_BUILD_OPTIONS="noautodbgsym nocheck parallel=$(nproc)" \
		dpkg-buildpackage -b -uc -us) >"$work/build.log" 2>&1 ||
		{ tail -n 30 "$work/build.log"; return 1; }
}
check "dpkg-buildpackage builds the packages" build_debs
debs=("$work/vmm_${version}_amd64.deb" "$work/cprstash-dkms_${version}_all.deb"
      "$work/libcprstash-dev_${version}_amd64.deb")
for deb in "${debs[@]}"; do
	if [ ! -f "$deb" ]; then
		check "$(basename "$deb") was built" false
		summary
		exit 1
	fi
	dpkg -x "$deb" "$work/root"
done
root=$work/root

files_present() {
	local f missing=0
	for f in usr/bin/vmm usr/share/man/man1/vmm.1.gz usr/share/man/man4/cprstash.4.gz \
		 usr/lib/systemd/system/vmm@.service usr/lib/udev/rules.d/60-cprstash.rules \
		 usr/share/doc/cprstash/vmm.rst.gz usr/share/doc/cprstash/examples/vmm.conf.example \
		 usr/include/linux/cprstash.h usr/include/cprstash.h \
		 usr/lib/x86_64-linux-gnu/libcprstash.a \
		 usr/lib/x86_64-linux-gnu/pkgconfig/cprstash.pc \
		 "usr/src/cprstash-$version/dkms.conf" "usr/src/cprstash-$version/Kbuild" \
		 "usr/src/cprstash-$version/kmod/Kbuild" \
		 "usr/src/cprstash-$version/uapi/linux/cprstash.h"; do
		[ -e "$root/$f" ] || { echo "missing: /$f"; missing=1; }
	done
	return $missing
}
check "the files are where admin-guide.rst says" files_present

dkms_hooks() {
	dpkg-deb -e "${debs[1]}" "$work/dkms-control" &&
		grep -q "DKMS_NAME=cprstash" "$work/dkms-control/postinst" &&
		grep -q "DKMS_VERSION=$version" "$work/dkms-control/postinst" &&
		grep -q "^PACKAGE_VERSION=\"$version\"" "$root/usr/src/cprstash-$version/dkms.conf"
}
check "cprstash-dkms registers cprstash/$version with DKMS" dkms_hooks

# Built from a copy without git: the project's version, no commit.
version_runs() {
	local v
	v=$("$root/usr/bin/vmm" --version) && echo "$v" && [ "$v" = "vmm $version" ]
}
check "vmm --version" version_runs
check "the man pages render, vmm.1 lists vmm --help's options" \
	"$top/Documentation/man/check.sh" "$root/usr/bin/vmm" \
	"$root/usr/share/man/man1/vmm.1.gz" "$root/usr/share/man/man4/cprstash.4.gz"

# cprstash.pc names /usr: the sysroot puts the scratch root in front.
lib_builds() {
	local flags
	flags=$(PKG_CONFIG_SYSROOT_DIR=$root \
		PKG_CONFIG_LIBDIR=$root/usr/lib/x86_64-linux-gnu/pkgconfig \
		pkg-config --cflags --libs cprstash) || return 1
	printf '#include <cprstash.h>\nint main(void) { return cprstash_available() ? 0 : 0; }\n' \
		>"$work/uses-lib.c"
	# shellcheck disable=SC2086
	cc -Wall -Werror -isystem "$root/usr/include" -o "$work/uses-lib" "$work/uses-lib.c" $flags &&
		"$work/uses-lib"
}
check "a program builds with pkg-config cprstash" lib_builds

dkms_builds() {
	local ko
	mkdir -p "$work/dkms/tree" "$work/dkms/install"
	dkms build -m cprstash -v "$version" -k "$CPRSTASH_KVER" \
		--sourcetree "$root/usr/src" --dkmstree "$work/dkms/tree" \
		--installtree "$work/dkms/install" || return 1
	ko=$(find "$work/dkms/tree/cprstash/$version/$CPRSTASH_KVER" -name 'cprstash.ko*' | head -n 1)
	[ -n "$ko" ] || { echo "no cprstash.ko in the DKMS tree"; return 1; }
	modinfo -F vermagic "$ko" | grep -q "^$CPRSTASH_KVER " ||
		{ echo "$ko: vermagic $(modinfo -F vermagic "$ko")"; return 1; }
}
check "dkms build of cprstash.ko for $CPRSTASH_KVER" dkms_builds

# What `dkms install` then `modprobe cprstash` do, in a scratch module
# tree: the module where DKMS puts it, depmod, and modprobe finding it by
# name (--show-depends: it loads nothing).  The test VM loads the module.
modprobe_finds() {
	local ko mods=$work/modroot/lib/modules/$CPRSTASH_KVER f out
	ko=$(find "$work/dkms/tree/cprstash/$version/$CPRSTASH_KVER" -name 'cprstash.ko*' | head -n 1)
	[ -n "$ko" ] || return 1
	mkdir -p "$mods/updates/dkms"
	cp "$ko" "$mods/updates/dkms/"
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		cp "/lib/modules/$CPRSTASH_KVER/$f" "$mods/"
	done
	depmod -b "$work/modroot" "$CPRSTASH_KVER" &&
		out=$(modprobe -d "$work/modroot" -S "$CPRSTASH_KVER" --show-depends cprstash) &&
		echo "$out" && [[ $out == "insmod $mods/updates/dkms/cprstash.ko"* ]]
}
check "modprobe cprstash finds the DKMS-built module" modprobe_finds

# verify reads the unit as a file; its binary path points into the root,
# and its man: pages are looked up there.  Any message is a failure:
# systemd-analyze only warns about unknown keys.
unit_verifies() {
	local out
	sed "s|/usr/bin/vmm|$root/usr/bin/vmm|g" "$root/usr/lib/systemd/system/vmm@.service" \
		>"$work/vmm@.service"
	out=$(MANPATH=$root/usr/share/man systemd-analyze verify "$work/vmm@.service" 2>&1) ||
		{ echo "$out"; return 1; }
	[ -z "$out" ] || { echo "$out"; return 1; }
	grep -q '^ExecReload=/usr/bin/vmm --live-upgrade ' "$root/usr/lib/systemd/system/vmm@.service"
}
check "systemd-analyze verify vmm@.service" unit_verifies

udev_rule() {
	grep -qE '^KERNEL=="cprstash", SUBSYSTEM=="misc", GROUP="kvm", MODE="0660"$' \
		"$root/usr/lib/udev/rules.d/60-cprstash.rules"
}
check "the udev rule gives /dev/cprstash 0660 to group kvm" udev_rule

summary
