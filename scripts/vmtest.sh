#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh: build mmprobe and its selftests for a Debian kernel, boot that
# kernel in QEMU with the module loaded, and print the guest's KTAP.
#
# Exit codes:
#   0  every test passed or skipped
#   1  a test failed (or, with "--", the command exited non-zero)
#   2  usage error, or preparing the kernel, build root or build failed
#   3  the guest did not boot to the first KTAP line, or mmprobe did not load
#   4  timeout: a test program, or the whole guest
#   5  kernel splat (WARN, BUG, Oops, lockdep, hung task, KASAN, ...) or
#      a taint bit other than O and E, or the guest died before the end
# When several apply, the highest wins.

set -ue
set -o pipefail

EXIT_OK=0
EXIT_FAIL=1
EXIT_PREP=2
EXIT_BOOT=3
EXIT_TIMEOUT=4
EXIT_SPLAT=5

. "$(dirname "$0")/lib.sh"

KERNEL=7.3
TESTS=""
FILES=()
VERBOSE=0
REPORT=0
KERNEL_DIR=""
CMD=()
VM_TIMEOUT=${MMPROBE_VM_TIMEOUT:-1800}
# 1 GiB hugetlb pages reserved at boot, where the CPU has them: a second one
# can rarely be had at run time (make check-upstream asks for 2).
HUGEPAGES_1G=${MMPROBE_VM_HUGEPAGES_1G:-1}
# -L: a background load (selftests/mmprobe-loadgen) while the suite runs.
LOAD=${MMPROBE_LOAD:-0}
# -i: after the suite, the installed kselftest tree, run by the series' own
# run_kselftest.sh (MMPROBE_KSFT_TESTS: its COLLECTION:TEST list, else all).
KSFT=0
KSFT_TESTS=${MMPROBE_KSFT_TESTS:-}
# -D: mmprobe built and installed by dkms in the build root, and modprobe.
DKMS=0

usage()
{
	cat <<EOF
Usage: $0 [-k KERNEL] [-K DIR] [-t NAME]... [-f PATH]... [-v] [-R] [-L] [-i] [-D] [-T SECONDS] [-- CMD...]

  -k KERNEL   kernel series to boot: $MMPROBE_KERNELS_ALL (default $KERNEL)
  -K DIR      boot the kernel that scripts/debug-kernel.sh built (of series
              KERNEL) in DIR instead of Debian's
  -t NAME     run only this test program (repeatable)
  -f PATH     copy a host file into the guest's working directory (repeatable)
  -v          stream the guest console to stderr
  -T SECONDS  timeout for the whole guest (default $VM_TIMEOUT)
  -R          after the suite, print the behaviour report (selftests/report)
  -L          run a background load (THP faults, O_DIRECT reads, fork storms)
              in the guest while the suite runs (or MMPROBE_LOAD=1)
  -i          after the suite, run the installed kselftest tree (make -C
              selftests install) with run_kselftest.sh
  -D          build and install mmprobe with dkms in the build root; the
              guest loads that module with modprobe (with -i, the tree has
              no mmprobe.ko and its programs load it by name)
  -- CMD...   run CMD in the guest with mmprobe loaded, instead of the suite

Cache: \$MMPROBE_CACHE (default \$HOME/.cache/mmprobe).
EOF
	exit "$EXIT_PREP"
}

while getopts "k:K:t:f:vRLiDT:h" opt; do
	case "$opt" in
	k) KERNEL=$OPTARG ;;
	K) KERNEL_DIR=$OPTARG ;;
	t) TESTS="$TESTS $OPTARG" ;;
	f) FILES+=("$OPTARG") ;;
	v) VERBOSE=1 ;;
	R) REPORT=1 ;;
	L) LOAD=1 ;;
	i) KSFT=1 ;;
	D) DKMS=1 ;;
	T) VM_TIMEOUT=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] && CMD=("$@")
for f in "${FILES[@]+"${FILES[@]}"}"; do
	[ -f "$f" ] || die "-f $f: no such file"
done
[ "$(id -u)" -eq 0 ] || die "vmtest.sh needs root (debootstrap, chroot)"

SUITE=$(series_suite "$KERNEL")
need_host_tools

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-vm.XXXXXX")
QEMU_PID=""
OUT=""
TAIL_PID=""
cleanup()
{
	[ -n "$TAIL_PID" ] && kill "$TAIL_PID" 2>/dev/null
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
	rm -rf "$WORK"
	build_clean "${OUT:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT=$(prepare_root "$SUITE")
if [ -n "$KERNEL_DIR" ]; then
	# Laid out like kernel-<release>; its build tree is the root's headers.
	RELEASE=$(cat "$KERNEL_DIR/release" 2>/dev/null) ||
		die "-K $KERNEL_DIR: not a kernel of scripts/debug-kernel.sh"
	[ -e "$ROOT/usr/src/linux-headers-$RELEASE/Makefile" ] ||
		die "-K $KERNEL_DIR: no build tree for $RELEASE in the $SUITE root"
else
RELEASE=$(resolve_release "$KERNEL" "$ROOT")
if [ -z "$RELEASE" ]; then
	RELEASE=$(cat "$MMPROBE_CACHE/release-$KERNEL" 2>/dev/null) ||
		die "no Debian kernel of series $KERNEL found in the $SUITE archive"
	log "could not resolve $KERNEL, using the cached $RELEASE"
fi
echo "$RELEASE" >"$MMPROBE_CACHE/release-$KERNEL"
fetch_kernel "$RELEASE" "$ROOT"
fi
SRC=$(fetch_source "$KERNEL" "$ROOT")
log "building mmprobe for $RELEASE"
OUT=$(build_in_root "$RELEASE" "$ROOT" "$SRC")
KDIR=${KERNEL_DIR:-$MMPROBE_CACHE/kernel-$RELEASE}
DKMS_KO=""
if [ "$DKMS" -eq 1 ]; then
	log "building and installing mmprobe with dkms for $RELEASE"
	DKMS_KO=$(dkms_build "$RELEASE" "$ROOT")
fi
if [ "$KSFT" -eq 1 ]; then
	if [ "$DKMS" -eq 1 ]; then
		ksft_install "$RELEASE" "$ROOT" "$OUT" ""
	else
		ksft_install "$RELEASE" "$ROOT" "$OUT" "${OUT#"$ROOT"}/tree/mmprobe.ko"
	fi
fi

# Test programs: every TEST_GEN_PROGS of the selftests Makefile, or -t.
if [ -z "$TESTS" ]; then
	TESTS=$(in_root "$ROOT" make -s -C "${OUT#"$ROOT"}/tree/selftests" KSFT_DIR=/ emit_tests |
		sed 's/^mmprobe://' | tr '\n' ' ')
fi
TIMEOUT=$(sed -n 's/^timeout=//p' "$MMPROBE_TOP/selftests/settings")

# The initramfs: busybox, the libraries the programs need, the kernel
# modules for zram and ext4, the kernel's config, mmprobe.ko and the selftests.
INITRD=$WORK/initrd
mkdir -p "$INITRD"/{bin,mmprobe,boot,lib/modules}
cp "$ROOT/bin/busybox" "$INITRD/bin/busybox"
cp "$MMPROBE_TOP/scripts/guest-init.sh" "$INITRD/init"
cp "$MMPROBE_TOP/scripts/guest-setup.sh" "$INITRD/guest-setup.sh"
chmod 755 "$INITRD/init"
cp "$OUT/tree/mmprobe.ko" "$INITRD/mmprobe/"
cp "$OUT"/selftests/* "$MMPROBE_TOP/selftests/settings" "$INITRD/mmprobe/"
rm -f "$INITRD"/mmprobe/*.o
for f in "${FILES[@]+"${FILES[@]}"}"; do
	cp "$f" "$INITRD/mmprobe/"
done
cp "$KDIR/boot/config-$RELEASE" "$INITRD/boot/"
# The loader and libraries, resolved inside the build root, never on the host.
PROGS=()
for prog in "$INITRD"/mmprobe/*; do
	[ -x "$prog" ] || continue
	PROGS+=("${OUT#"$ROOT"}/selftests/${prog##*/}")
done
initrd_libs "$ROOT" "$INITRD" "${PROGS[@]}"
MODDIR=$KDIR/lib/modules/$RELEASE
mkdir -p "$INITRD/lib/modules/$RELEASE"
cp "$MODDIR"/modules.* "$INITRD/lib/modules/$RELEASE/"
# zram (swap, and a disk) and ext4 (its file system), with what they need.
GUEST_MODS='^[^:]*/\(zram\|ext4\|crc32c_generic\)\.ko[^:]*:'
sed -n "\%$GUEST_MODS%s/:.*//p" "$MODDIR/modules.dep" >"$WORK/mods"
sed -n "\%$GUEST_MODS%s/^[^:]*://p" "$MODDIR/modules.dep" | tr ' ' '\n' >>"$WORK/mods"
while read -r mod; do
	[ -n "$mod" ] || continue
	mkdir -p "$INITRD/lib/modules/$RELEASE/$(dirname "$mod")"
	cp "$MODDIR/$mod" "$INITRD/lib/modules/$RELEASE/$mod"
done <"$WORK/mods"
MODROOT=""
if [ -n "$DKMS_KO" ]; then
	# The module dkms installed, the build root's modprobe (kmod), and
	# the module indexes made again by the root's depmod.
	mkdir -p "$INITRD$(dirname "$DKMS_KO")" "$INITRD/sbin"
	cp "$ROOT$DKMS_KO" "$INITRD$DKMS_KO"
	cp "$ROOT$(root_realpath "$ROOT" /sbin/modprobe)" "$INITRD/sbin/modprobe"
	initrd_libs "$ROOT" "$INITRD" /sbin/modprobe
	MODROOT=$OUT/modroot
	mkdir -p "$MODROOT/lib"
	cp -a "$INITRD/lib/modules" "$MODROOT/lib/"
	in_root "$ROOT" depmod -b "${MODROOT#"$ROOT"}" "$RELEASE" ||
		die "depmod in the build root failed"
	cp "$MODROOT/lib/modules/$RELEASE"/modules.* "$INITRD/lib/modules/$RELEASE/"
fi
if [ "$KSFT" -eq 1 ]; then
	cp -a "$OUT/kselftest" "$INITRD/kselftest"
fi

{
	echo "TESTS='$TESTS'"
	echo "TIMEOUT=$TIMEOUT"
	echo "REPORT=$REPORT"
	echo "LOAD=$LOAD"
	echo "KSFT=$KSFT"
	echo "KSFT_TESTS='$KSFT_TESTS'"
	echo "DKMS=$DKMS"
	echo "export MMPROBE_STRESS_SECONDS=${MMPROBE_STRESS_SECONDS:-15}"
	if [ ${#CMD[@]} -gt 0 ]; then
		echo "MODE=cmd"
	else
		echo "MODE=suite"
	fi
} >"$INITRD/mmprobe/vm.conf"
if [ ${#CMD[@]} -gt 0 ]; then
	for arg in "${CMD[@]}"; do
		printf "'%s' " "${arg//\'/\'\\\'\'}"
	done >"$INITRD/mmprobe/cmd"
	echo >>"$INITRD/mmprobe/cmd"
fi
# Host independence: every file is its build root's (or kernel's) copy.
verified=$(initrd_verify "$ROOT" "$INITRD" "$OUT" "$KDIR" "$MODROOT") ||
	die "the initramfs is not made of the build root's files"
log "initramfs: $verified (build root $SUITE)"
(cd "$INITRD" && find . | cpio -o -H newc --quiet) >"$WORK/initrd.cpio"

# The guest: 2 vCPUs in 2 sockets (one per node, or the scheduler WARNs about
# an LLC shared across nodes), 2 NUMA nodes of 3 GiB, hugetlb pages of 2 MiB and,
# where the CPU has pdpe1gb, one of 1 GiB.
run_qemu()
{
	local accel=$1 cpu=$2 append

	append="console=ttyS0,115200 rdinit=/init panic=-1 quiet loglevel=4"
	append="$append mitigations=off numa_balancing=disable"
	append="$append hugepagesz=2M hugepages=64"
	if [ "${accel%%,*}" = tcg ] || grep -qw pdpe1gb /proc/cpuinfo; then
		append="$append hugepagesz=1G hugepages=$HUGEPAGES_1G"
	fi
	: >"$WORK/console.log"
	: >"$WORK/ktap.log"
	timeout --foreground "$VM_TIMEOUT" qemu-system-x86_64 \
		-accel "$accel" -cpu "$cpu" -smp 2,sockets=2,cores=1,threads=1 -m 6G \
		-object memory-backend-ram,id=m0,size=3G \
		-object memory-backend-ram,id=m1,size=3G \
		-numa node,nodeid=0,memdev=m0,cpus=0 \
		-numa node,nodeid=1,memdev=m1,cpus=1 \
		-kernel "$KDIR/boot/vmlinuz-$RELEASE" -initrd "$WORK/initrd.cpio" \
		-append "$append" -nographic -no-reboot -nodefaults \
		-serial "file:$WORK/console.log" -serial "file:$WORK/ktap.log" \
		2>"$WORK/qemu.err" &
	QEMU_PID=$!
	# A QEMU that aborts (KVM refused) is told in qemu.err; keep bash's
	# job notice ("Aborted ...") off our stderr.
	wait "$QEMU_PID" 2>/dev/null
}

if [ "$VERBOSE" -eq 1 ]; then
	: >"$WORK/console.log"
	tail -F -n +1 "$WORK/console.log" 2>/dev/null >&2 &
	TAIL_PID=$!
fi

log "booting $RELEASE"
START=$(date +%s)
qrc=0
if [ -w /dev/kvm ] && [ ! -e "$MMPROBE_CACHE/kvm-unusable" ]; then
	run_qemu kvm host || qrc=$?
	if ! grep -q '^# mmprobe-vm: booted' "$WORK/ktap.log"; then
		log "KVM did not work ($(head -n 1 "$WORK/qemu.err")), using TCG from now on"
		cp "$WORK/qemu.err" "$MMPROBE_CACHE/kvm-unusable"
		qrc=0
		run_qemu tcg,thread=multi max || qrc=$?
	fi
else
	run_qemu tcg,thread=multi max || qrc=$?
fi
QEMU_PID=""
log "the guest ran $(( $(date +%s) - START )) s"

# Print the guest's KTAP (or the command's output) and decide the exit code.
ktap=$WORK/ktap.log
sed -i 's/\r$//' "$ktap"
rc=$EXIT_OK
if ! grep -q '^# mmprobe-vm: booted' "$ktap"; then
	log "the guest did not boot; console tail:"
	tail -n 40 "$WORK/console.log" >&2
	cat "$WORK/qemu.err" >&2
	[ "$qrc" -eq 124 ] && exit "$EXIT_TIMEOUT"
	exit "$EXIT_BOOT"
fi
if [ ${#CMD[@]} -gt 0 ]; then
	grep -v '^# mmprobe-vm: \(booted\|done\|command exit\)' "$ktap" || true
	crc=$(sed -n 's/^# mmprobe-vm: command exit //p' "$ktap")
	[ -n "$crc" ] && [ "$crc" -ne 0 ] && rc=$EXIT_FAIL
else
	cat "$ktap"
	grep -q '^not ok' "$ktap" && rc=$EXIT_FAIL
fi
# A run asked to be under load that was not is no passing run.
if grep -q '^# mmprobe-vm: background load failed' "$ktap" && [ "$rc" -lt "$EXIT_FAIL" ]; then
	rc=$EXIT_FAIL
fi
if grep -q '^# mmprobe-vm: loading mmprobe failed' "$ktap"; then
	rc=$EXIT_BOOT
fi
grep -q '^# mmprobe-vm: timeout' "$ktap" && [ "$rc" -lt "$EXIT_TIMEOUT" ] &&
	rc=$EXIT_TIMEOUT
if [ "$qrc" -eq 124 ]; then
	log "the guest timed out after $VM_TIMEOUT s; console tail:"
	tail -n 40 "$WORK/console.log" >&2
	[ "$rc" -lt "$EXIT_TIMEOUT" ] && rc=$EXIT_TIMEOUT
fi
if grep -q '^# mmprobe-vm: splat after [^b]' "$ktap"; then
	rc=$EXIT_SPLAT
elif ! grep -q '^# mmprobe-vm: done' "$ktap" && [ "$qrc" -ne 124 ]; then
	log "the guest died before the end; console tail:"
	tail -n 60 "$WORK/console.log" >&2
	rc=$EXIT_SPLAT
fi
exit "$rc"
