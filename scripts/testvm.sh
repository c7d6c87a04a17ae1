#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run one command inside the cprstash test VM: QEMU/TCG booting the pinned
# Debian kernel with nested KVM and VFIO (edu device behind an emulated
# Intel IOMMU).  QEMU is the one scripts/setup.sh installs (versions.sh:
# 10.0, from bookworm-backports).  The host kernel cannot load modules, so this is where
# cprstash.ko and its selftests run.
#
# usage: scripts/testvm.sh [--timeout SECONDS] [--kmod PATH/cprstash.ko]
#                          [--file HOSTPATH[:GUESTPATH]]... [--log FILE]
#                          [--mem MiB (default 2048)]
#                          -- COMMAND [ARGS...]
#
# One COMMAND word is shell text, run as is (`-- 'cd /bin; ./t; exit 3'`);
# several words are quoted one by one (`-- /bin/t --name 'a b'`).  It runs
# with sh -c in /tmp, stdin /dev/null; a --file below /tmp is still there.
#
# --kmod is loaded (insmod) after KVM and VFIO are up.  --file copies a file
# or a directory to GUESTPATH, by default /bin/<basename>; a GUESTPATH
# ending in / is the directory to put it in.  Every ELF among them brings its
# shared libraries (ldd) and the loader.  The guest's sh is busybox, which
# runs its own applet before a program of the same name found in PATH
# (stat, test, ...): call such a --file by its full path.
#
# Exit status: the command's; 124 when the timeout passed (QEMU is killed)
# or the guest did not reach the command within 600 s of booting; 125 when
# the guest kernel oopsed, panicked, hit a BUG or a WARNING, or the guest
# ended without reporting the command's status, or testvm itself failed;
# 2 on a usage error.
#
# A boot that fails before the command started (no "testvm: ready after"
# line from /init: a panic, an oops, a hang, QEMU gone) is retried once, and
# says so on stderr and in the log; the status is then the second boot's.
# A failure once the command has started is never retried.
#
# QEMU runs multi-threaded TCG, a host thread per vCPU (see the comment at
# the QEMU command line); CPRSTASH_TESTVM_TCG_THREAD=single runs both vCPUs
# in one thread instead: immune to cross-modifying-code races, but nested
# Linux guests barely move.
# CPRSTASH_TESTVM_NPT=1 lets the nested guests use NPT (see kargs below).
# CPRSTASH_TESTVM_KARGS adds words to the guest kernel's command line;
# MODULE.PARAM=VALUE words among them also go to the modules /init loads
# (kvm_amd.vgif=0, for one).
# CPRSTASH_TESTVM_PATCH_TRACE=1 lists the static keys and calls the kernel
# patches while the command runs (scripts/testvm/patch-trace).
#
# The guest exports CPRSTASH_TESTVM=1 and, when edu is bound to vfio-pci,
# CPRSTASH_TESTVM_EDU (its PCI address) and CPRSTASH_TESTVM_VFIO_GROUP.
set -euo pipefail
# Nothing here may wait for input: CI has none, and a terminal's is not ours.
exec </dev/null
self=$(readlink -f "$0")
here=${self%/*}
# shellcheck source-path=SCRIPTDIR source=versions.sh
. "$here/versions.sh"

usage() {
	sed -n '/^# usage:/,/^set -euo/{ /^set/d; s/^# \{0,1\}//; p; }' "$self" >&2
	exit 2
}
bad_usage() {
	echo "testvm: $*" >&2
	exit 2
}
die() {
	echo "testvm: $*" >&2
	exit 125
}

timeout_s=600
mem_mb=2048
kmod=
log=
files=()
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--kmod) [ $# -ge 2 ] || usage; kmod=$2; shift 2 ;;
	--kmod=*) kmod=${1#*=}; shift ;;
	--file) [ $# -ge 2 ] || usage; files+=("$2"); shift 2 ;;
	--file=*) files+=("${1#*=}"); shift ;;
	--log) [ $# -ge 2 ] || usage; log=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || usage; mem_mb=$2; shift 2 ;;
	--log=*) log=${1#*=}; shift ;;
	--) shift; break ;;
	-h | --help) usage ;;
	-*) bad_usage "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || bad_usage "--timeout wants whole seconds, not '$timeout_s'"
tcg_thread=${CPRSTASH_TESTVM_TCG_THREAD:-multi}
case $tcg_thread in
single | multi) ;;
*) bad_usage "CPRSTASH_TESTVM_TCG_THREAD wants single or multi, not '$tcg_thread'" ;;
esac
# Fail now, not after the run, if the log cannot be written.
[ -z "$log" ] || : >"$log" || bad_usage "cannot write --log $log"

kver=$CPRSTASH_KVER
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
for f in "$kernel" "$moddir/modules.dep" /bin/busybox; do
	[ -r "$f" ] || die "$f missing (run scripts/setup.sh)"
done
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (run scripts/setup.sh)"

# Load order, and what kvm-amd needs to run nested guests.  Their own
# dependencies come from modules.dep and are loaded first.  tun: the taps
# of the VMM's virtio-net tests.
modules=(irqbypass kvm ccp "kvm-amd nested=1" vfio vfio_iommu_type1 vfio-pci-core vfio-pci tun)

# The same top-level symlinks as a merged-/usr Debian, in the base and the
# per-run archive alike: the kernel's cpio unpacker replaces a symlink by a
# directory of the same name, so both archives must agree on which is which.
merged_usr() {
	local d
	for d in bin sbin lib lib64; do
		mkdir -p "$1/usr/$d"
		ln -sfn "usr/$d" "$1/$d"
	done
}

# newc with root ownership: the guest has one user.
pack() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
}

# Print "name relpath params" for every module to load, dependencies first,
# each once.  modules.dep lists a module's dependencies so that loading them
# from last to first works, which is what modprobe does.
resolve_modules() {
	declare -A path_of=() deps_of=() done_=()
	local line rel deps name spec params
	while IFS= read -r line; do
		rel=${line%%:*}
		deps=${line#*:}
		name=${rel##*/}
		name=${name%%.ko*}
		path_of[${name//-/_}]=$rel
		deps_of[$rel]=$deps
	done <"$moddir/modules.dep"

	visit() {
		local rel=$1 params=$2 d name
		local -a ds
		[ -z "${done_[$rel]:-}" ] || return 0
		read -ra ds <<<"${deps_of[$rel]}"
		for ((d = ${#ds[@]} - 1; d >= 0; d--)); do
			visit "${ds[d]}" ""
		done
		done_[$rel]=1
		name=${rel##*/}
		echo "${name%%.ko*} ${rel%.xz}${params:+ $params}"
	}
	for spec in "${modules[@]}"; do
		name=${spec%% *}
		params=
		[ "$name" = "$spec" ] || params=${spec#* }
		rel=${path_of[${name//-/_}]:-}
		[ -n "$rel" ] || die "module $name not in $moddir/modules.dep"
		visit "$rel" "$params"
	done
}

build_base() {
	local out=$1 stage=$1/root rel name
	mkdir -p "$stage"
	merged_usr "$stage"
	mkdir -p "$stage"/{dev,proc,sys,tmp,run,root,etc/testvm,"usr/lib/modules/$kver"}
	# The kernel opens /dev/console before /init runs; its built-in
	# initramfs has the node, ours adds it in case that ever changes.
	if [ "$(id -u)" = 0 ]; then
		mknod -m 600 "$stage/dev/console" c 5 1
		mknod -m 666 "$stage/dev/null" c 1 3
	fi
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
	printf 'root:x:0:\n' >"$stage/etc/group"

	cp /bin/busybox "$stage/usr/bin/busybox"
	while IFS= read -r name; do
		[ -e "$stage/$name" ] || [ -L "$stage/$name" ] ||
			ln -s /usr/bin/busybox "$stage/$name"
	done < <(/bin/busybox --list-full)

	install -m 755 "$here/testvm/init" "$stage/init"
	install -m 755 "$here/testvm/patch-trace" "$stage/usr/bin/patch-trace"
	cc -static -O2 -Wall -Wextra -Werror -o "$stage/usr/bin/kvm-hold" \
		"$here/testvm/kvm-hold.c"

	# busybox insmod reads only uncompressed modules.
	resolve_modules >"$stage/etc/testvm/modules"
	while read -r name rel _; do
		mkdir -p "$stage/lib/modules/$kver/${rel%/*}"
		if [ -e "$moddir/$rel.xz" ]; then
			xz -dc "$moddir/$rel.xz" >"$stage/lib/modules/$kver/$rel"
		else
			cp "$moddir/$rel" "$stage/lib/modules/$kver/$rel"
		fi
	done <"$stage/etc/testvm/modules"

	pack "$stage" >"$out/base.cpio"
	rm -rf "$stage"
}

# Everything the base archive is made from: when one changes, rebuild.
base_key() {
	{
		echo "$kver"
		sha256sum "$self" "$here/testvm/init" "$here/testvm/kvm-hold.c" \
			"$here/testvm/patch-trace" \
			/bin/busybox "$moddir/modules.dep" "$kernel"
		cc --version | sed -n 1p
	} | sha256sum | cut -d' ' -f1
}

# One archive per key: checkouts (git worktrees) of different versions
# share the cache and run at the same time, and each must boot its own
# /init and kvm-hold.  Archives nobody used for a day are removed.
cache=$CPRSTASH_CACHE/testvm/$kver
mkdir -p "$cache"
key=$(base_key)
base=$cache/base-$key.cpio
if [ ! -e "$base" ]; then
	# Parallel runs (make -j, two terminals) must not build into each other.
	exec 9>"$cache/.lock"
	flock 9
	if [ ! -e "$base" ]; then
		t0=$EPOCHREALTIME
		rm -rf "$cache/new"
		mkdir -p "$cache/new"
		build_base "$cache/new"
		mv "$cache/new/base.cpio" "$base"
		rm -rf "$cache/new"
		find "$cache" -maxdepth 1 \( -name 'base-*.cpio' -o -name base.cpio \) \
			! -name "${base##*/}" -mtime +0 -delete
		awk -v a="$t0" -v b="$EPOCHREALTIME" -v d="$cache" \
			'BEGIN { printf "testvm: built base initramfs in %s (%.1fs)\n", d, b - a }' >&2
	fi
	exec 9>&-
fi
touch "$base"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/testvm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
extra=$tmp/extra
mkdir -p "$extra/etc/testvm"
merged_usr "$extra"

# Put HOST at GUEST in the per-run archive; directories go whole.
add() {
	local host=$1 guest=$2
	[ -e "$host" ] || bad_usage "$host: no such file"
	case $guest in
	/*) ;;
	*) bad_usage "$guest: guest path must be absolute" ;;
	esac
	case $guest in */) guest=$guest${host##*/} ;; esac
	mkdir -p "$extra$(dirname "$guest")"
	cp -RL --preserve=mode,timestamps "$host" "$extra$guest"
}

[ -z "$kmod" ] || add "$kmod" /lib/cprstash/cprstash.ko
[ "${CPRSTASH_TESTVM_PATCH_TRACE:-0}" = 0 ] || : >"$extra/etc/testvm/patch-trace"
elves=()
for spec in "${files[@]}"; do
	host=${spec%%:*}
	guest=/bin/${host##*/}
	[ "$host" = "$spec" ] || guest=${spec#*:}
	add "$host" "$guest"
	while IFS= read -r -d '' f; do
		[ "$(head -c4 "$f" | tr -d '\0')" = $'\177ELF' ] && elves+=("$f")
	done < <(find -L "$host" -type f -print0)
done

# Shared libraries at the paths ldd resolves on the host, so RPATHs and the
# loader's default directories both find them in the guest.  libgcc_s is
# dlopen()ed by glibc for pthread_cancel and backtrace, so ldd misses it.
if [ ${#elves[@]} -gt 0 ]; then
	libs=$(for f in "${elves[@]}"; do
		out=$(ldd "$f" 2>/dev/null) || continue
		if grep -q 'not found' <<<"$out"; then
			die "$f: $(grep -m1 'not found' <<<"$out" | sed 's/^[[:space:]]*//')"
		fi
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out"
	done | sort -u)
	if [ -n "$libs" ]; then
		# awk reads to the end: an early exit would SIGPIPE ldconfig.
		gcc_s=$(ldconfig -p | awk '/libgcc_s\.so\.1 .*x86-64/ && !p { p = $NF } END { print p }')
		for lib in $libs $gcc_s; do
			mkdir -p "$extra$(dirname "$lib")"
			cp -L "$lib" "$extra$lib"
		done
	fi
fi

# One word is a shell script; several are quoted word by word.
if [ $# -eq 1 ]; then
	printf '%s\n' "$1" >"$extra/etc/testvm/cmd"
else
	for arg; do
		printf "'%s' " "${arg//\'/\'\\\'\'}"
	done >"$extra/etc/testvm/cmd"
	echo >>"$extra/etc/testvm/cmd"
fi

# Concatenated newc archives unpack in order, the later one on top.
cat "$base" >"$tmp/initrd"
pack "$extra" >>"$tmp/initrd"

# -cpu max under TCG is an AMD CPU with SVM, so kvm-amd loads and nests.
#
# thread=multi (MTTCG), and why that is safe.  Under MTTCG this kernel
# oopsed ("Oops: int3") when it patched code that the other vCPU ran: a
# static key flipping, a static call or a kprobe changing.  text_poke_bp()
# puts an int3 on each site, then the new tail bytes, then the new first
# byte, and only then retires its int3 handler; QEMU drops a page's
# translations before a guest store lands rather than after, so a vCPU
# that translates a site in that window keeps a block with the int3 in it
# and traps on it once the handler is gone.  Evidence: with kvm-hold's
# keys released, scripts/testvm/kvm-churn.c oopsed in every boot tried,
# "noapic" (kvm_has_noapic_vcpu) at kvm_wait_lapic_expire+0xa (3 times),
# svm_vcpu_load+0x54, svm_vcpu_put+0xe, kvm_get_cr8+0xa and
# kvm_arch_vcpu_ioctl_run+0x1c2, "vm" (preempt_notifier_key) twice at
# __schedule+0x444; the oops' "Code:" shows the finished bytes (66 90,
# eb 1a) at the address of the int3 it had just executed.  With
# thread=single, 0 of 3 boots.  Traced (patch-trace, see
# the header), a scripts/testvm-tests.sh run flipped kvm_has_noapic_vcpu
# 22 times (adopt_test, kinds_test), kvm_xen_enabled (adopt_test), three
# memcg keys (limits_test), sched_process_exec's key and static call at
# each of module_test's insmod/rmmod (cprstash hooks that tracepoint), and
# armed and optimized a kprobe (security_test); before tsc=reliable the
# clocksource watchdog's verdict also flipped __sched_clock_stable.  So the
# flips are held instead: kvm-hold holds KVM's keys and /init the
# tracepoint and the memcg keys, and with tsc=reliable the run patches
# nothing but security_test's kprobe (a residual risk: its function runs
# on that test's own calls only).  A new flip shows in a patch-trace run.
# thread=single rules out the whole class but nested Linux guests barely
# move under it: e2e_linux (one guest boot) took 13 s with thread=multi and
# had not finished after 640 s with thread=single, the host nearly idle;
# the in-VM suite took 413 s with thread=multi and did not finish within
# its 2400 s with thread=single (kselftests 94 s against 63 s, the nested
# VMM tests unfinished after 2290 s against 342 s), the host loaded.
#
# tsc=reliable: TCG's TSC is the host's (invariant) TSC, but the clocksource
# watchdog compares it with an emulated HPET that lags under load and then
# declares it unstable; KVM would then rebase a vCPU's TSC on every load
# (kvm_arch_vcpu_load), and the guest clock the live-upgrade reports and
# tests read (parked span, guest gap) would stop meaning real time.
# no_timer_check: at boot the kernel gives the PIT 40e9/HZ TSC cycles (76 ms
# of the host's TSC here) to tick 5 times through the interrupt-remapped
# IO-APIC, and panics ("timer doesn't work through Interrupt-remapped
# IO-APIC") when a loaded host did not run the vCPU for long enough.  QEMU's
# PIT works; the check can only fail by timing.
# watchdog_thresh=60, workqueue.watchdog_thresh=120: the soft-lockup (after
# twice the first) and workqueue-lockup reports print "BUG:", which fails
# the run, after 20 s and 30 s by default: a vCPU thread that the host does
# not run, or a teardown emulated slowly, gets there without any bug.  Two
# minutes still report a real hang long before the --timeout.
# -display none, not -nographic: with -nographic SeaBIOS also drives the
# serial port and sends terminal resets (ESC c) that clear the user's screen.
kargs=(
	console=ttyS0 panic=-1 oops=panic quiet intel_iommu=on tsc=reliable
	no_timer_check watchdog_thresh=60 workqueue.watchdog_thresh=120
)
# kvm_amd.npt=0: the nested guests run on KVM's shadow paging, not on the
# nested page tables QEMU's TCG emulates.  With NPT, fresh VMMs whose guest
# touches 1 GiB, one after another with no module loaded and no upgrade,
# corrupt the test VM's memory within one to fourteen VMMs (a guest
# triple-faults with its tables intact, a vCPU thread's stack end is
# overwritten: "corrupted stack end detected inside scheduler"), with the
# test VM on 5-level paging or on 4-level (no5lvl); with shadow paging 25
# in a row ran clean (scripts/nested-fault.sh; Documentation/upgrade.rst,
# "Order of teardown").  CPRSTASH_TESTVM_NPT=1 keeps NPT: for Linux
# guests, which cannot boot on shadow paging here (QEMU checks their CR3
# reads against the CR0-read intercept: scripts/testvm-tests.sh), and to
# try a newer QEMU.
[ "${CPRSTASH_TESTVM_NPT:-0}" = 1 ] || kargs+=(kvm_amd.npt=0)
# CPRSTASH_TESTVM_KARGS: more, for a debugging run (init_on_free=1,
# slub_debug=FZPU, page_poison=1: memory corruption reported sooner).
# shellcheck disable=SC2206 # words, split on purpose
kargs+=(${CPRSTASH_TESTVM_KARGS:-})
# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(
	qemu-system-x86_64 -accel "tcg,thread=$tcg_thread"
	-machine q35 -cpu max -smp 2 -m "$mem_mb"
	-display none -no-reboot -nodefaults -serial stdio
	-kernel "$kernel" -initrd "$tmp/initrd"
	-append "${kargs[*]}"
	-device intel-iommu,intremap=on -device edu
	-pidfile "$tmp/qemu.pid"
)

# Kernel lines only (they carry the printk timestamp), so a test that prints
# "BUG:" itself is not taken for a crash; /init adds what the taint shows.
crash_re='^\[ *[0-9]+\.[0-9]+\] (Kernel panic|Oops|BUG:|kernel BUG at|general protection fault|WARNING: CPU:)'
crash_re+='|testvm: kernel (WARNING|oops) during'
ready_re='testvm: ready after \([0-9.]*\)s'

# A boot takes seconds; this only ends one that hangs (QEMU up, /init never
# reached the command) sooner than the --timeout would, so it can be retried.
boot_guard_s=600
[ "$boot_guard_s" -le "$timeout_s" ] || boot_guard_s=$timeout_s
watch_boot() {
	local i
	for ((i = 0; i < boot_guard_s; i++)); do
		sleep 1
		! grep -q "$ready_re" "$tmp/serial" || return 0
	done
	: >"$tmp/boot-hung"
	if [ -s "$tmp/qemu.pid" ]; then
		kill "$(cat "$tmp/qemu.pid")" 2>/dev/null || true
	fi
}

# One boot, its console to stdout, $tmp/serial and the log.  Sets qemu_rc,
# elapsed, ready (empty if the command never started), boot_hung, crash and
# rc (the command's status, empty without the marker).
# stdin from /dev/null (already, for the whole script): a terminal's would
# be put in raw mode by QEMU.  panic=-1 plus -no-reboot turn a guest panic
# into a QEMU exit; timeout covers a hang, with a KILL if QEMU ignores TERM.
boot() {
	local start watcher
	: >"$tmp/serial"
	rm -f "$tmp/qemu.pid" "$tmp/boot-hung"
	start=$EPOCHREALTIME
	watch_boot &
	watcher=$!
	set +e
	timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 |
		sed -u 's/\r$//' | tee -a "$tmp/serial" ${log:+"$log"}
	qemu_rc=${PIPESTATUS[0]}
	set -e
	kill "$watcher" 2>/dev/null || true
	wait "$watcher" 2>/dev/null || true
	elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	ready=$(sed -n "s/.*$ready_re.*/\\1/p" "$tmp/serial" | head -n1)
	boot_hung=
	[ ! -e "$tmp/boot-hung" ] || boot_hung=1
	crash=$(grep -E -m1 "$crash_re" "$tmp/serial" || true)
	rc=$(grep -o 'CPRSTASH-TESTVM-EXIT=[0-9]*' "$tmp/serial" | tail -n1 | cut -d= -f2 || true)
}

boot
retried=
if [ -z "$ready" ]; then
	if [ -n "$boot_hung" ]; then
		why="no \"testvm: ready after\" line within ${boot_guard_s}s, QEMU stopped"
	elif [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
		why="timed out after ${timeout_s}s"
	elif [ -n "$crash" ]; then
		why=$crash
	else
		why="QEMU exited $qemu_rc"
	fi
	msg="testvm: boot failed before the command started ($why, after ${elapsed}s); retrying once"
	echo "$msg" >&2
	[ -z "$log" ] || echo "$msg" >>"$log"
	boot
	retried=" on the second boot"
fi

summary="boot to command ${ready:-?}s, total ${elapsed}s"
if [ -n "$boot_hung" ]; then
	echo "testvm: FAIL: the guest did not reach the command within ${boot_guard_s}s, QEMU stopped ($summary)$retried" >&2
	exit 124
elif [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
	echo "testvm: FAIL: timed out after ${timeout_s}s, QEMU killed ($summary)$retried" >&2
	exit 124
elif [ -n "$crash" ]; then
	echo "testvm: FAIL: guest kernel failure: $crash ($summary)$retried" >&2
	exit 125
elif [ -z "$rc" ]; then
	echo "testvm: FAIL: no exit marker from the guest, QEMU exited $qemu_rc ($summary)$retried" >&2
	exit 125
fi
echo "testvm: command exited $rc ($summary)$retried" >&2
exit "$rc"
