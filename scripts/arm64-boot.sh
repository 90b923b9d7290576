#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# arm64-boot.sh: boot a Debian arm64 kernel under TCG with mmprobe.ko
# loaded, as vmtest.sh boots the x86 ones, and run selftests or a command.
#
#   scripts/arm64-boot.sh [-k 7.3-arm64|7.3-arm64-16k] [-a | -t PROG[:CASE]...]
#                         [-e VAR=VALUE]... [-- CMD]
#
# mmprobe.ko and the selftests cross-built by lib.sh's cross_build()
# against the release's own headers, in an initramfs of busybox-static:arm64
# and the build root's arm64 libraries (never the host's), with vmtest.sh's
# /init (scripts/guest-init.sh) and so its guest: swap and an ext2 disk on
# zram, 2 NUMA nodes, hugetlb pages reserved (qemu_append below), a timeout
# per program, a splat check and an audit after each. The KTAP and the
# kernel log leave by two virtio consoles (QEMU's virt machine has one
# serial port). Without CMD, -a or -t the guest checks inspect against
# pagemap and audits every process (below). Exit status: CMD's, or 1 when a program failed; 5 for a splat
# or a guest that died, 2 for a setup error, 124 on a timeout.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

SERIES=7.3-arm64
TIMEOUT=${MMPROBE_VM_TIMEOUT:-3600}
MEM_MB=6144

usage()
{
	cat >&2 <<EOF
Usage: $0 [-k 7.3-arm64|7.3-arm64-16k] [-a | -t PROG[:CASE]...] [-e VAR=VALUE]... [-- CMD]
  -a              run every selftest program (TEST_GEN_PROGS), as KTAP
  -t PROG[:CASE]  run this cross-built selftest, or only this case of it
                  (repeatable), as KTAP
  -e VAR=VALUE    set VAR in the environment of the tests (repeatable)
EOF
	exit 2
}

TESTS=""
CASES=""
GUEST_ENV=()
ALL=0
while getopts "k:at:e:h" opt; do
	case "$opt" in
	k) SERIES=$OPTARG ;;
	a) ALL=1 ;;
	t) TESTS="$TESTS ${OPTARG%%:*}"
	   case "$OPTARG" in
	   *:*) CASES="$CASES $OPTARG" ;;
	   esac ;;
	e) GUEST_ENV+=("$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" != -- ] || shift
CMD=${*:-}

for v in "${GUEST_ENV[@]+"${GUEST_ENV[@]}"}"; do
	[[ "$v" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "-e $v: not VAR=VALUE"
done
for c in $CASES; do
	[ -n "${c#*:}" ] || die "-t $c: no case after the colon"
done
[ "$ALL" -eq 0 ] || [ -z "$TESTS$CMD" ] || die "-a goes with neither -t nor -- CMD"
[ -z "$TESTS" ] || [ -z "$CMD" ] || die "-t and -- CMD do not go together"
case "$SERIES" in
7.3-arm64) FLAVOUR=arm64 ;;
7.3-arm64-16k) FLAVOUR=arm64-16k ;;
*) die "-k $SERIES: known arm64 series: 7.3-arm64 7.3-arm64-16k" ;;
esac
[ "$(id -u)" -eq 0 ] || die "arm64-boot.sh needs root (build root, chroot)"
command -v qemu-system-aarch64 >/dev/null ||
	die "no qemu-system-aarch64: apt-get install qemu-system-arm"

ROOT=$(prepare_root trixie)
AMD64=$(resolve_release 7.3 "$ROOT")
[ -n "$AMD64" ] || AMD64=$(cat "$MMPROBE_CACHE/release-7.3") ||
	die "no Debian kernel of series 7.3 found"
RELEASE=${AMD64%-amd64}-$FLAVOUR
OUT=$(cross_build "$RELEASE" "$ROOT")
fetch_kernel "$RELEASE" "$ROOT"
KERNEL=$MMPROBE_CACHE/kernel-$RELEASE/boot/vmlinuz-$RELEASE

# busybox-static:arm64, once.
BUSYBOX=$MMPROBE_CACHE/busybox-arm64/usr/bin/busybox
if [ ! -x "$BUSYBOX" ]; then
	(
		cache_lock busybox-arm64
		[ -x "$BUSYBOX" ] && exit 0
		debs=""
		trap 'rm -rf "$debs"' EXIT
		debs=$(root_download "$ROOT" busybox-static:arm64) ||
			die "could not download busybox-static:arm64"
		rm -rf "$MMPROBE_CACHE/busybox-arm64"
		dpkg-deb -x "$debs"/busybox-static_*.deb "$MMPROBE_CACHE/busybox-arm64"
	)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-arm64.XXXXXX")
QEMU_PID=""
STREAM_PID=""
# shellcheck disable=SC2317 # the EXIT trap
cleanup()
{
	[ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null || true
	[ -z "$STREAM_PID" ] || kill "$STREAM_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The initramfs, laid out as vmtest.sh's: /init and /guest-setup.sh,
# busybox, the kernel's config and the modules guest-init.sh loads; in
# /mmprobe the module, the programs, mmprobe-load, mmprobe-audit, vm.conf.
INITRD=$WORK/initrd
mkdir -p "$INITRD"/{bin,boot,mmprobe,lib/aarch64-linux-gnu}
cp "$BUSYBOX" "$INITRD/bin/busybox"
cp "$MMPROBE_TOP/scripts/guest-init.sh" "$INITRD/init"
cp "$MMPROBE_TOP/scripts/guest-setup.sh" "$INITRD/guest-setup.sh"
chmod 755 "$INITRD/init"
cp "$OUT/tree/mmprobe.ko" "$MMPROBE_TOP/selftests/settings" \
	"$MMPROBE_TOP/scripts/mmprobe-audit" "$INITRD/mmprobe/"
cp "$MMPROBE_CACHE/kernel-$RELEASE/boot/config-$RELEASE" "$INITRD/boot/"
initrd_guest_modules "$MMPROBE_CACHE/kernel-$RELEASE/lib/modules/$RELEASE" "$INITRD"
[ "$ALL" -eq 0 ] || TESTS=$(in_root "$ROOT" make -s -C "${OUT#"$ROOT"}/tree/selftests" \
	KSFT_DIR=/ emit_tests | sed 's/^mmprobe://' | tr '\n' ' ')
for t in $TESTS mmprobe-load; do
	[ -x "$OUT/selftests/$t" ] ||
		die "-t $t: no such program (the programs: $(ls "$OUT/selftests"))"
	cp "$OUT/selftests/$t" "$INITRD/mmprobe/"
done
cp "$OUT"/lib/lib* "$INITRD/lib/aarch64-linux-gnu/"
cp "$OUT/lib/ld-linux-aarch64.so.1" "$INITRD/lib/"

# The default command checks what it can without the selftests: the
# version; init's stack (init waits meanwhile, so its pages stay put)
# entry by entry, each PFN against /proc/1/pagemap, the addresses a page
# apart (smaps' KernelPageSize); and the audit of every process, which
# must find no violation.
# shellcheck disable=SC2016
[ -n "$CMD" ] || CMD='set -e
cat /sys/kernel/debug/mmprobe/version
page=$(( $(grep -m1 KernelPageSize /proc/1/smaps | tr -s " " | cut -d" " -f2) * 1024 ))
set -- $(grep "\[stack\]" /proc/1/maps | tr "-" " ")
exec 3<>/sys/kernel/debug/mmprobe/inspect
echo "1 0x$1 0x$2" >&3
cat <&3 >/tmp/report
exec 3>&-
n=0 prev=0
while read -r addr level kind pfn rest; do
	[ "$level $kind" = "pte anon" ] || { echo "not an anon PTE: $addr $level $kind"; exit 1; }
	pm=$(dd if=/proc/1/pagemap bs=8 skip=$(( addr / page )) count=1 2>/dev/null | od -An -tu8)
	[ $(( ${pfn#pfn=} )) -eq $(( pm & 0x7fffffffffffff )) ] ||
		{ echo "$addr: inspect says ${pfn#pfn=}, pagemap $(( pm & 0x7fffffffffffff ))"; exit 1; }
	[ "$prev" -eq 0 ] || [ $(( (addr - prev) % page )) -eq 0 ] || { echo "$addr: not a page after $prev"; exit 1; }
	prev=$(( addr )) n=$(( n + 1 ))
done </tmp/report
[ "$n" -gt 0 ] || { echo "no entry in init'"'"'s stack"; exit 1; }
echo "mmprobe-arm64: $n entries of init'"'"'s stack, $page-byte pages, each PFN as pagemap says"
exec 3<>/sys/kernel/debug/mmprobe/audit
echo all >&3
cat <&3 >/tmp/audit
exec 3>&-
cat /tmp/audit
grep -q " violations=0 " /tmp/audit'
MODE=suite
[ -n "$TESTS" ] || MODE=cmd
{
	echo "TESTS='$TESTS'"
	echo "CASES='$CASES'"
	echo "TIMEOUT=$(sed -n 's/^timeout=//p' "$MMPROBE_TOP/selftests/settings")"
	echo "REPORT=0 LOAD=0 KSFT=0 KSFT_TESTS='' DKMS=0 MODE=$MODE"
	guest_env_conf "${GUEST_ENV[@]+"${GUEST_ENV[@]}"}"
} >"$INITRD/mmprobe/vm.conf"
[ "$MODE" = suite ] || printf '%s\n' "$CMD" >"$INITRD/mmprobe/cmd"
(cd "$INITRD" && find . | cpio -o -H newc --quiet) >"$WORK/initrd.cpio"

# The kernel's command line: hugetlb pages of each size arm64 has at this
# page size (contiguous PTEs, PMD, contiguous PMDs, PUD: 64K 2M 32M 1G with
# 4 KiB pages, 2M 32M 1G with 16 KiB), 64 of 2 MiB and one of 1 GiB as
# the x86 guest has, 8 of 32 MiB (4 PMDs with 16 KiB pages, and slack);
# the consoles guest-init.sh writes to.
qemu_append()
{
	local append="console=ttyAMA0 rdinit=/init panic=-1 quiet loglevel=4"

	append="$append numa_balancing=disable"
	[ "$FLAVOUR" != arm64 ] || append="$append hugepagesz=64K hugepages=64"
	append="$append hugepagesz=2M hugepages=64 hugepagesz=32M hugepages=8"
	append="$append hugepagesz=1G hugepages=1"
	echo "$append MMPROBE_KTAP_TTY=/dev/hvc0 MMPROBE_DMESG_TTY=/dev/hvc1"
}

# 2 vCPUs on 2 NUMA nodes of MEM_MB / 2 each, a CPU each (as vmtest.sh's).
: >"$WORK/ktap.log"
log "booting $RELEASE (TCG, 2 CPUs, $MEM_MB MiB on 2 nodes)"
START=$(date +%s)
# shellcheck disable=SC2054 # commas of QEMU's option syntax
timeout "$TIMEOUT" qemu-system-aarch64 -M virt -cpu max -accel tcg,thread=multi \
	-smp 2 -m "${MEM_MB}M" \
	-object "memory-backend-ram,id=m0,size=$((MEM_MB / 2))M" \
	-object "memory-backend-ram,id=m1,size=$((MEM_MB / 2))M" \
	-numa node,nodeid=0,memdev=m0,cpus=0 -numa node,nodeid=1,memdev=m1,cpus=1 \
	-kernel "$KERNEL" -initrd "$WORK/initrd.cpio" -append "$(qemu_append)" \
	-display none -no-reboot -nodefaults -serial "file:$WORK/console.log" \
	-device virtio-serial-pci \
	-chardev "file,id=ktap,path=$WORK/ktap.log" -device virtconsole,chardev=ktap \
	-chardev "file,id=dmesg,path=$WORK/dmesg.log" -device virtconsole,chardev=dmesg \
	</dev/null 2>"$WORK/qemu.err" &
QEMU_PID=$!
# The KTAP as the guest prints it.
tail -n +1 -s 0.5 -F --pid="$QEMU_PID" "$WORK/ktap.log" 2>/dev/null | sed -u 's/\r$//' &
STREAM_PID=$!
qrc=0
wait "$QEMU_PID" || qrc=$?
QEMU_PID=""
wait "$STREAM_PID" || true
STREAM_PID=""
log "the guest ran $(( $(date +%s) - START )) s"

KTAP=$WORK/ktap.log
sed -i 's/\r$//' "$KTAP" "$WORK/dmesg.log" "$WORK/console.log"
if ! grep -q '^# mmprobe-vm: booted' "$KTAP"; then
	tail -n 40 "$WORK/console.log" >&2
	cat "$WORK/qemu.err" >&2
	[ "$qrc" -ne 124 ] || die "the guest timed out after $TIMEOUT s, before it booted"
	die "the guest did not boot"
fi
if [ "$qrc" -eq 124 ]; then
	log "the guest timed out after $TIMEOUT s; console tail:"
	tail -n 40 "$WORK/console.log" >&2
	exit 124
fi
if grep -q '^# mmprobe-vm: splat after [^b]' "$KTAP" ||
		! grep -q '^# mmprobe-vm: done' "$KTAP"; then
	log "a splat, or the guest died before the end; kernel log and console tails:"
	tail -n 80 "$WORK/dmesg.log" >&2
	tail -n 40 "$WORK/console.log" >&2
	exit 5
fi
! grep -q '^# mmprobe-vm: loading mmprobe failed' "$KTAP" || die "loading mmprobe failed"
! grep -q '^# mmprobe-vm: timeout' "$KTAP" || exit 124
[ "$MODE" = suite ] || exit "$(sed -n 's/^# mmprobe-vm: command exit //p' "$KTAP")"
! grep -q '^not ok' "$KTAP"
