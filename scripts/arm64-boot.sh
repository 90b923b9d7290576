#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# arm64-boot.sh: boot a Debian arm64 kernel under TCG with mmprobe.ko
# loaded, run one command in the guest, exit with its status.
#
#   scripts/arm64-boot.sh [-k 7.3-arm64 | -k 7.3-arm64-16k] [-- CMD]
#
# The first stage of arm64 support (issue #22): the module, cross-built by
# lib.sh's cross_build() against the release's own headers, in a busybox
# initramfs (busybox-static:arm64 from the build root's archive, never
# the host's). With -t, selftests cross-built by cross_selftests() run as
# KTAP (the guest has no hugetlb pages, swap, disk or second node, and 14
# programs assume 4 KiB pages: issue #22). Without CMD or -t the guest
# checks inspect against pagemap and audits every process (below). Exit status: CMD's, 5 when
# the kernel log has a splat, 2 for a setup error, 124 on a timeout.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

SERIES=7.3-arm64
TIMEOUT=${MMPROBE_VM_TIMEOUT:-600}

usage()
{
	cat >&2 <<EOF
Usage: $0 [-k 7.3-arm64|7.3-arm64-16k] [-t PROG]... [-- CMD]
  -t PROG   run this cross-built selftest (repeatable), as KTAP
EOF
	exit 2
}

TESTS=""
while getopts "k:t:h" opt; do
	case "$opt" in
	k) SERIES=$OPTARG ;;
	t) TESTS="$TESTS $OPTARG" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" != -- ] || shift
CMD=${*:-}

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
KO=$(cross_build "$RELEASE" "$ROOT")/mmprobe.ko
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
# shellcheck disable=SC2317 # the EXIT trap
cleanup()
{
	[ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK/initrd/bin" "$WORK/initrd/proc" "$WORK/initrd/sys" "$WORK/initrd/dev" \
	"$WORK/initrd/tmp"
cp "$BUSYBOX" "$WORK/initrd/bin/busybox"
cp "$KO" "$WORK/initrd/mmprobe.ko"
if [ -n "$TESTS" ]; then
	[ -z "$CMD" ] || die "-t and -- CMD do not go together"
	XSEL=$(cross_selftests "$ROOT" "$(fetch_source 7.3 "$ROOT")")
	mkdir -p "$WORK/initrd/mmprobe" "$WORK/initrd/lib/aarch64-linux-gnu"
	for t in $TESTS; do
		[ -x "$XSEL/$t" ] || die "-t $t: no such program (the programs: $(ls "$XSEL"))"
		cp "$XSEL/$t" "$WORK/initrd/mmprobe/"
	done
	cp "$XSEL"/lib/lib* "$WORK/initrd/lib/aarch64-linux-gnu/"
	cp "$XSEL/lib/ld-linux-aarch64.so.1" "$WORK/initrd/lib/"
	# Each program in turn, as KTAP; the status is 1 if one failed.
	CMD="cd /mmprobe; export MMPROBE_KO=/mmprobe.ko; rc=0
for t in $TESTS; do
	echo \"# mmprobe-arm64: start \$t\"
	./\$t || rc=1
done
exit \$rc"
fi
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
printf '%s\n' "$CMD" >"$WORK/initrd/cmd"
cat >"$WORK/initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t devtmpfs dev /dev
echo "mmprobe-arm64: booted $(uname -r) $(uname -m), uptime $(cut -d' ' -f1 /proc/uptime) s"
rc=2
if insmod /mmprobe.ko; then
	echo "mmprobe-arm64: mmprobe loaded"
	sh /cmd
	rc=$?
	rmmod mmprobe || rc=2
fi
if dmesg | grep -qE 'BUG:|WARNING:|Oops|Call trace:|Unable to handle'; then
	dmesg | tail -n 60
	rc=5
fi
echo "mmprobe-arm64: exit $rc"
poweroff -f
EOF
chmod 755 "$WORK/initrd/init"
(cd "$WORK/initrd" && find . | cpio -o -H newc --quiet) >"$WORK/initrd.cpio"

log "booting $RELEASE (TCG, 2 CPUs, 2048 MiB)"
timeout "$TIMEOUT" qemu-system-aarch64 -M virt -cpu max -accel tcg,thread=multi \
	-smp 2 -m 2048 -kernel "$KERNEL" -initrd "$WORK/initrd.cpio" \
	-append "console=ttyAMA0 rdinit=/init panic=-1 quiet" \
	-display none -serial stdio -no-reboot -nodefaults </dev/null \
	>"$WORK/console.log" 2>&1 &
QEMU_PID=$!
rc=0
wait "$QEMU_PID" || rc=$?
QEMU_PID=""
tr -d '\r' <"$WORK/console.log"
[ "$rc" -ne 124 ] || die "the guest timed out after $TIMEOUT s"
status=$(tr -d '\r' <"$WORK/console.log" | sed -n 's/^mmprobe-arm64: exit \([0-9]*\).*/\1/p')
[ -n "$status" ] || die "the guest ended without an exit status"
exit "$status"
