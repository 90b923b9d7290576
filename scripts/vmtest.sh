#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh: build mmprobe and its selftests for a kernel (a Debian one, or
# a build directory of your own), boot that kernel in QEMU with the module
# loaded, and print the guest's KTAP as the guest prints it. Debian's arm64
# kernels (-k 7.3-arm64) are cross-built for and booted under TCG.
#
# Exit codes:
#   0  every test passed or skipped
#   1  a test failed
#   2  usage error, or preparing the kernel, build root or build failed
#   3  the guest did not boot to the first KTAP line, or mmprobe did not load
#   4  timeout: a test program, or the whole guest
#   5  kernel splat (WARN, BUG, Oops, lockdep, hung task, KASAN, ...) or
#      a taint bit other than O and E, or the guest died before the end
# When several apply, the highest wins. With "--", the command's own exit
# status, unless 3, 4 or 5 applies.

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
CASES=""
FILES=()
GUEST_ENV=()
VERBOSE=0
REPORT=0
KERNEL_DIR=""
CMD=()
VM_TIMEOUT=${MMPROBE_VM_TIMEOUT:-1800}
MEM=6G
CPUS=2
QEMU_EXTRA=""
GDB=0
SHELL_MODE=0
DRY_RUN=0
OUTDIR=""
T_SET=""
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
GDB_PORT=${MMPROBE_GDB_PORT:-1234}

usage()
{
	cat <<EOF
Usage: $0 [-k KERNEL | -K DIR] [-t PROG[:CASE]]... [-e VAR=VALUE]... [-f PATH]...
          [-m MEM] [-c CPUS] [-q 'QEMU ARGS'] [-g] [-o DIR] [-T SECONDS]
          [-v] [-n] [-R] [-L] [-i] [-D] [-s | -- CMD...]

  -k KERNEL   Debian kernel series to boot: $MMPROBE_KERNELS_ALL (default $KERNEL),
              or arm64 with 4 or 16 KiB pages: $MMPROBE_KERNELS_ARM64
  -K DIR      boot your own kernel: a build directory (in-tree or O=) with
              .config, arch/x86/boot/bzImage and Module.symvers, or what
              scripts/debug-kernel.sh printed
  -t PROG[:CASE]  run only this test program, or only this case of it
              (FIXTURE.VARIANT.TEST as the KTAP names it); repeatable
  -e VAR=VALUE  set VAR in the environment of the tests (repeatable)
  -f PATH     copy a host file into the guest's working directory (repeatable)
  -m MEM      guest memory, split over its 2 NUMA nodes (default $MEM)
  -c CPUS     guest CPUs, one socket each, split over the nodes (default $CPUS)
  -q ARGS     more QEMU arguments, split at blanks
  -g          QEMU's gdb stub on port $GDB_PORT (\$MMPROBE_GDB_PORT), KASLR off:
              gdb vmlinux -ex 'target remote :$GDB_PORT'
  -o DIR      keep everything of the run in DIR (a failed run is kept in
              \$MMPROBE_CACHE/runs/ anyway)
  -T SECONDS  timeout for the whole guest (default $VM_TIMEOUT)
  -v          stream the guest console (kernel messages) to stderr
  -n          dry run: build, make the initramfs, print the QEMU command
  -R          after the suite, print the behaviour report (selftests/report)
  -L          run a background load (THP faults, O_DIRECT reads, fork storms)
              in the guest while the suite runs (or MMPROBE_LOAD=1)
  -i          after the suite, run the installed kselftest tree (make -C
              selftests install) with run_kselftest.sh
  -D          build and install mmprobe with dkms in the build root; the
              guest loads that module with modprobe (with -i, the tree has
              no mmprobe.ko and its programs load it by name)
  -s          an interactive shell in the guest, with mmprobe loaded, on this
              terminal; leave it with exit or Ctrl-D
  -- CMD...   run CMD in the guest with mmprobe loaded, instead of the
              suite, and exit with its status

Cache: \$MMPROBE_CACHE (default \$HOME/.cache/mmprobe).
EOF
	exit "$EXIT_PREP"
}

while getopts "k:K:t:f:e:m:c:q:o:T:gsvnRLiDh" opt; do
	case "$opt" in
	k) KERNEL=$OPTARG ;;
	K) KERNEL_DIR=$OPTARG ;;
	t) TESTS="$TESTS ${OPTARG%%:*}"
	   case "$OPTARG" in
	   *:*) CASES="$CASES $OPTARG" ;;
	   esac ;;
	f) FILES+=("$OPTARG") ;;
	e) GUEST_ENV+=("$OPTARG") ;;
	m) MEM=$OPTARG ;;
	c) CPUS=$OPTARG ;;
	q) QEMU_EXTRA="$QEMU_EXTRA $OPTARG" ;;
	o) OUTDIR=$OPTARG ;;
	T) VM_TIMEOUT=$OPTARG; T_SET=$OPTARG ;;
	g) GDB=1 ;;
	s) SHELL_MODE=1 ;;
	v) VERBOSE=1 ;;
	n) DRY_RUN=1 ;;
	R) REPORT=1 ;;
	L) LOAD=1 ;;
	i) KSFT=1 ;;
	D) DKMS=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] && CMD=("$@")

# Everything the options say is checked before anything is built.
SERIES=$(kernel_series "$KERNEL") || exit "$EXIT_PREP"
FLAVOUR=$(kernel_flavour "$KERNEL")
ARCH=amd64
if [ "$FLAVOUR" != amd64 ]; then
	ARCH=arm64
	[ -z "$KERNEL_DIR" ] || die "-K: your own kernels are x86 ones (not with -k $KERNEL)"
	[ "$DKMS" -eq 0 ] || die "-D: dkms builds for x86 kernels only (not -k $KERNEL)"
	[ "$KSFT" -eq 0 ] || die "-i: the installed kselftest tree runs on x86 kernels only"
	[ "$GDB" -eq 0 ] || die "-g: the gdb stub is for x86 guests only"
	command -v qemu-system-aarch64 >/dev/null ||
		die "no qemu-system-aarch64 for -k $KERNEL: apt-get install qemu-system-arm"
fi
for f in "${FILES[@]+"${FILES[@]}"}"; do
	[ -f "$f" ] || die "-f $f: no such file"
done
for v in "${GUEST_ENV[@]+"${GUEST_ENV[@]}"}"; do
	[[ "$v" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "-e $v: not VAR=VALUE"
done
MEM_MB=$(echo "$MEM" | sed -n 's/^\([0-9]\+\)[Mm]$/\1/p; s/^\([0-9]\+\)[Gg]$/\1 * 1024/p')
[ -n "$MEM_MB" ] || die "-m $MEM: give MiB or GiB, as 4096M or 6G"
MEM_MB=$((MEM_MB))
[ "$MEM_MB" -ge 512 ] || die "-m $MEM: the guest needs 512M at least"
case "$CPUS" in
''|*[!0-9]*|0) die "-c $CPUS: not a number of CPUs" ;;
esac
case "$VM_TIMEOUT" in
''|*[!0-9]*|0) die "-T $VM_TIMEOUT: not a number of seconds" ;;
esac
for c in $CASES; do
	[ -n "${c#*:}" ] || die "-t $c: no case after the colon"
done
if [ "$SHELL_MODE" -eq 1 ]; then
	[ ${#CMD[@]} -eq 0 ] || die "-s and -- CMD exclude each other"
	# A shell is left by its user: a day, unless -T says otherwise.
	VM_TIMEOUT=${T_SET:-86400}
fi
[ "$(id -u)" -eq 0 ] || die "vmtest.sh needs root (debootstrap, chroot)"
if [ -n "$OUTDIR" ]; then
	mkdir -p "$OUTDIR" || die "-o $OUTDIR: cannot make it"
	OUTDIR=$(cd "$OUTDIR" && pwd)
fi

need_host_tools

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-vm.XXXXXX")
QEMU_PID=""
STREAM_PID=""
TAIL_PID=""
RUNDIR=""
BOOTED=0

# Keep the evidence of a run: in -o DIR, or, when it failed after the guest
# was started, in the cache.
# shellcheck disable=SC2317 # called by cleanup, the EXIT trap
keep_evidence()
{
	local rc=$1 dir=$OUTDIR f

	if [ -z "$dir" ]; then
		[ "$rc" -ne 0 ] && [ "$BOOTED" -eq 1 ] || return 0
		dir=$MMPROBE_CACHE/runs/$(date +%Y%m%d-%H%M%S)-${RELEASE:-unknown}-$$
		mkdir -p "$dir"
		# The ten newest failed runs are kept.
		# shellcheck disable=SC2012 # names made here: <time>-<release>-<pid>
		ls -1dt "$MMPROBE_CACHE"/runs/*/ | tail -n +11 |
			while read -r f; do rm -rf "$f"; done
	fi
	for f in console.log ktap.log dmesg.log decoded.log qemu.cmdline qemu.err \
		 initrd.cpio; do
		[ -e "$WORK/$f" ] && cp "$WORK/$f" "$dir/"
	done
	[ -e "$WORK/initrd/mmprobe/vm.conf" ] && cp "$WORK/initrd/mmprobe/vm.conf" "$dir/"
	if [ -n "${OUT:-}" ]; then
		cp "$OUT/tree/mmprobe.ko" "$OUT/build.log" "$dir/"
	fi
	log "kept the run in $dir"
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup()
{
	local rc=$?

	trap - EXIT INT TERM HUP
	if [ -n "$QEMU_PID" ]; then
		kill "$QEMU_PID" 2>/dev/null || true
	fi
	if [ -n "$STREAM_PID" ]; then
		kill "$STREAM_PID" 2>/dev/null || true
	fi
	if [ -n "$TAIL_PID" ]; then
		kill "$TAIL_PID" 2>/dev/null || true
	fi
	keep_evidence "$rc" || log "could not keep the run's files"
	rm -rf "$WORK"
	build_clean "$RUNDIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

KDIR=""
KBUILD=""
KCC=""
if [ -n "$KERNEL_DIR" ]; then
	[ -d "$KERNEL_DIR" ] || die "-K $KERNEL_DIR: no such directory"
	KERNEL_DIR=$(cd "$KERNEL_DIR" && pwd)
fi
if [ -n "$KERNEL_DIR" ] && [ -e "$KERNEL_DIR/release" ]; then
	# What scripts/debug-kernel.sh built: laid out like kernel-<release>,
	# its build tree is the root's headers.
	RELEASE=$(cat "$KERNEL_DIR/release")
	KERNEL=$(echo "$RELEASE" | cut -d. -f1,2)
	SUITE=$(series_suite "$KERNEL")
	ROOT=$(prepare_root "$SUITE")
	[ -e "$ROOT/usr/src/linux-headers-$RELEASE/Makefile" ] ||
		die "-K $KERNEL_DIR: no build tree for $RELEASE in the $SUITE root"
	KDIR=$KERNEL_DIR
	SRC=$(fetch_source "$KERNEL" "$ROOT")
elif [ -n "$KERNEL_DIR" ]; then
	# A kernel build directory of your own, seen in the build root of
	# its compiler at the same path.
	SRC=$(own_kernel_check "$KERNEL_DIR")
	RELEASE=$(cat "$KERNEL_DIR/include/config/kernel.release")
	SUITE=$(own_kernel_suite "$KERNEL_DIR")
	KCC=${SUITE#* }
	SUITE=${SUITE%% *}
	ROOT=$(prepare_root "$SUITE")
	root_bind "$ROOT" "$KERNEL_DIR"
	[ "$SRC" = "$KERNEL_DIR" ] || root_bind "$ROOT" "$SRC"
	KBUILD=$KERNEL_DIR
	case "$KERNEL_DIR" in
	"$ROOT"/*) KBUILD=${KERNEL_DIR#"$ROOT"} ;;
	esac
	KDIR=$(own_kernel_install "$ROOT" "$KERNEL_DIR" "$KBUILD" "$RELEASE")
	if ! missing=$("$MMPROBE_TOP/scripts/kernel-config.sh" -c "$KERNEL_DIR/.config"); then
		log "$missing: tests that need them fail or skip"
	fi
	log "kernel $RELEASE from $KERNEL_DIR, built in the $SUITE root with $KCC"
else
	# An arm64 kernel is the series' amd64 release in another flavour.
	SUITE=$(series_suite "$SERIES")
	ROOT=$(prepare_root "$SUITE")
	RELEASE=$(resolve_release "$SERIES" "$ROOT")
	if [ -z "$RELEASE" ]; then
		RELEASE=$(cat "$MMPROBE_CACHE/release-$SERIES" 2>/dev/null) ||
			die "no Debian kernel of series $SERIES found in the $SUITE archive"
		log "could not resolve $SERIES, using the cached $RELEASE"
	fi
	echo "$RELEASE" >"$MMPROBE_CACHE/release-$SERIES"
	RELEASE=${RELEASE%-amd64}-$FLAVOUR
	fetch_kernel "$RELEASE" "$ROOT"
	KDIR=$MMPROBE_CACHE/kernel-$RELEASE
	SRC=$(fetch_source "$SERIES" "$ROOT")
fi
OUT=$(build_in_root "$RELEASE" "$ROOT" "$SRC" "${MMPROBE_BUILD_FLAGS:-}" "$KBUILD" "$KCC")
log "mmprobe for $RELEASE: ${OUT#"$ROOT"}"
RUNDIR=$(build_run_dir "$ROOT")
DKMS_KO=""
if [ "$DKMS" -eq 1 ]; then
	[ -z "$KERNEL_DIR" ] || die "-D needs a Debian kernel"
	log "building and installing mmprobe with dkms for $RELEASE"
	DKMS_KO=$(dkms_build "$RELEASE" "$ROOT")
fi
if [ "$KSFT" -eq 1 ]; then
	if [ "$DKMS" -eq 1 ]; then
		ksft_install "$RELEASE" "$ROOT" "$OUT" "" "$RUNDIR/kselftest"
	else
		ksft_install "$RELEASE" "$ROOT" "$OUT" "${OUT#"$ROOT"}/tree/mmprobe.ko" \
			"$RUNDIR/kselftest"
	fi
fi

# Test programs: every TEST_GEN_PROGS of the selftests Makefile, or -t,
# checked against them; a case (-t PROG:CASE) against the program's list.
ALL_TESTS=$(in_root "$ROOT" make -s -C "${OUT#"$ROOT"}/tree/selftests" KSFT_DIR=/ emit_tests |
	sed 's/^mmprobe://' | tr '\n' ' ')
for t in $TESTS; do
	case " $ALL_TESTS " in
	*" $t "*) ;;
	*) die "-t $t: no such test program (the programs: $ALL_TESTS)" ;;
	esac
done
for c in $CASES; do
	prog=${c%%:*}
	grep -q 'run specified test' "$ROOT/ksft/$RELEASE/kselftest_harness.h" ||
		die "-t $c: the kselftest_harness.h of $RELEASE runs every case (no -r)"
	grep -q 'TEST_HARNESS_MAIN' "$MMPROBE_TOP/selftests/$prog.c" ||
		die "-t $c: $prog is not a kselftest_harness program; it has no cases to pick"
	# Another architecture's program does not run here: the guest fails
	# a program that gave fewer results than cases asked (guest-init.sh).
	[ "$ARCH" = amd64 ] || continue
	# "-l" prints columns "%-20s %-25s %s": each fixture's name on its first
	# row, its variants and its tests below each other; every test runs
	# in every variant (none: "FIXTURE.TEST"). A "#" line is not a fixture:
	# the header, or what the program prints at exit ("# skips: 0").
	in_root "$ROOT" "${OUT#"$ROOT"}/selftests/$prog" -l 2>&1 | awk '
	function field(width,    tok) {
		tok = ""
		if (substr(rest, 1, 1) != " ") {
			tok = rest
			sub(/ .*/, "", tok)
		}
		rest = substr(rest, (length(tok) > width ? length(tok) : width) + 2)
		return tok
	}
	function flush(    i, j) {
		if (f == "")
			return
		if (nv == 0)
			v[nv++] = ""
		for (i = 0; i < nv; i++)
			for (j = 0; j < nt; j++)
				print f "." (v[i] == "" ? "" : v[i] ".") t[j]
	}
	/^#/ { next }	# the header, and lines a program prints at exit
	/^-----/ { flush(); f = ""; nv = nt = 0; next }
	{
		rest = $0
		x = field(20); if (x != "") f = x
		x = field(25); if (x != "") v[nv++] = x
		x = rest; gsub(/ /, "", x); if (x != "") t[nt++] = x
	}
	END { flush() }' >"$WORK/cases" || true
	grep -qxF "${c#*:}" "$WORK/cases" ||
		die "-t $c: $prog has no case ${c#*:} ($(grep -c . "$WORK/cases") cases; list them: $prog -l)"
done
# Each program once, in the order asked.
TESTS=$(echo "$TESTS" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')
[ -n "$TESTS" ] || TESTS=$ALL_TESTS
TIMEOUT=$(sed -n 's/^timeout=//p' "$MMPROBE_TOP/selftests/settings")

# The initramfs: busybox, the libraries the programs need, the kernel
# modules for zram and ext4, the kernel's config, mmprobe.ko and the selftests.
INITRD=$WORK/initrd
mkdir -p "$INITRD"/{bin,mmprobe,boot,lib/modules}
INITRD_BUSYBOX=""
[ "$ARCH" = amd64 ] || INITRD_BUSYBOX=$(cross_busybox "$ARCH" "$ROOT")
export INITRD_BUSYBOX
cp "${INITRD_BUSYBOX:-$ROOT/bin/busybox}" "$INITRD/bin/busybox"
cp "$MMPROBE_TOP/scripts/guest-init.sh" "$INITRD/init"
cp "$MMPROBE_TOP/scripts/guest-setup.sh" "$INITRD/guest-setup.sh"
chmod 755 "$INITRD/init"
cp "$OUT/tree/mmprobe.ko" "$INITRD/mmprobe/"
cp "$OUT"/selftests/* "$MMPROBE_TOP/selftests/settings" "$INITRD/mmprobe/"
# The audit of every process after each program (scripts/mmprobe-audit).
cp "$MMPROBE_TOP/scripts/mmprobe-audit" "$INITRD/mmprobe/"
rm -f "$INITRD"/mmprobe/*.o
for f in "${FILES[@]+"${FILES[@]}"}"; do
	cp "$f" "$INITRD/mmprobe/"
done
cp "$KDIR/boot/config-$RELEASE" "$INITRD/boot/"
# The loader and libraries, resolved inside the build root, never on the
# host; another architecture's are those cross_libs took from the root's
# multiarch directory.
PROGS=()
for prog in "$INITRD"/mmprobe/*; do
	if [ ! -x "$prog" ] || [ "${prog##*/}" = mmprobe-audit ]; then
		continue
	fi
	PROGS+=("${OUT#"$ROOT"}/selftests/${prog##*/}")
done
if [ "$ARCH" = amd64 ]; then
	initrd_libs "$ROOT" "$INITRD" "${PROGS[@]}"
else
	triplet=$(cross_prefix "$ARCH")
	mkdir -p "$INITRD/lib/${triplet%-}"
	for f in "$OUT"/lib/*; do
		case "${f##*/}" in
		ld-*) cp "$f" "$INITRD/lib/" ;;
		*) cp "$f" "$INITRD/lib/${triplet%-}/" ;;
		esac
	done
fi
initrd_guest_modules "$KDIR/lib/modules/$RELEASE" "$INITRD"
MODROOT=""
if [ -n "$DKMS_KO" ]; then
	# The module dkms installed, the build root's modprobe (kmod), and
	# the module indexes made again by the root's depmod.
	mkdir -p "$INITRD$(dirname "$DKMS_KO")" "$INITRD/sbin"
	cp "$ROOT$DKMS_KO" "$INITRD$DKMS_KO"
	cp "$ROOT$(root_realpath "$ROOT" /sbin/modprobe)" "$INITRD/sbin/modprobe"
	initrd_libs "$ROOT" "$INITRD" /sbin/modprobe
	MODROOT=$RUNDIR/modroot
	mkdir -p "$MODROOT/lib"
	cp -a "$INITRD/lib/modules" "$MODROOT/lib/"
	in_root "$ROOT" depmod -b "${MODROOT#"$ROOT"}" "$RELEASE" ||
		die "depmod in the build root failed"
	cp "$MODROOT/lib/modules/$RELEASE"/modules.* "$INITRD/lib/modules/$RELEASE/"
fi
if [ "$KSFT" -eq 1 ]; then
	cp -a "$RUNDIR/kselftest" "$INITRD/kselftest"
fi

MODE=suite
[ ${#CMD[@]} -gt 0 ] && MODE=cmd
[ "$SHELL_MODE" -eq 1 ] && MODE=shell
{
	echo "TESTS='$TESTS'"
	echo "CASES='$CASES'"
	echo "TIMEOUT=$TIMEOUT"
	echo "REPORT=$REPORT"
	echo "LOAD=$LOAD"
	echo "KSFT=$KSFT"
	echo "KSFT_TESTS='$KSFT_TESTS'"
	echo "DKMS=$DKMS"
	echo "MODE=$MODE"
	guest_env_conf "${GUEST_ENV[@]+"${GUEST_ENV[@]}"}"
} >"$INITRD/mmprobe/vm.conf"
if [ "$MODE" = cmd ]; then
	for arg in "${CMD[@]}"; do
		printf "'%s' " "${arg//\'/\'\\\'\'}"
	done >"$INITRD/mmprobe/cmd"
	echo >>"$INITRD/mmprobe/cmd"
fi
# Host independence: every file is its build root's (or kernel's) copy.
verified=$(initrd_verify "$ROOT" "$INITRD" "$OUT" "$KDIR" "$MODROOT" "$RUNDIR/kselftest") ||
	die "the initramfs is not made of the build root's files"
log "initramfs: $verified (build root $SUITE)"
(cd "$INITRD" && find . | cpio -o -H newc --quiet) >"$WORK/initrd.cpio"

# The guest: CPUS vCPUs, one socket each (a socket per node, or the
# scheduler WARNs about an LLC shared across nodes), 2 NUMA nodes sharing
# MEM, hugetlb pages of 2 MiB and, where the CPU has pdpe1gb, of 1 GiB.
# Serial ports: ttyS0 the console (or, with -s, this terminal), ttyS1 the
# KTAP, ttyS2 the kernel log at the end.
# arm64: QEMU's virt machine, "-cpu max", and hugetlb pages of every size
# the page size has (contiguous PTEs, PMD, contiguous PMDs, PUD: 64K 2M 32M
# 1G with 4 KiB pages, 2M 32M 1G with 16 KiB): 64 of 2 MiB and one of 1 GiB
# as on x86, 8 of 32 MiB (4 PMDs with 16 KiB pages, and slack). The virt
# machine has one serial port, ttyAMA0, the console; the KTAP and the
# kernel log leave by two virtio consoles, hvc0 and hvc1 (guest-init.sh
# is told on the command line).
NODE0_CPUS=$(( CPUS > 1 ? CPUS / 2 : 1 ))
NODE0_MB=$(( MEM_MB / 2 ))
qemu_args()
{
	local accel=$1 cpu=$2 append n1="" console=ttyS0

	[ "$ARCH" = amd64 ] || console=ttyAMA0
	append="console=$console,115200 rdinit=/init panic=-1 quiet loglevel=4"
	append="$append mitigations=off numa_balancing=disable"
	if [ "$ARCH" = amd64 ]; then
		# A busy TCG host can miss the IO-APIC timer check at boot,
		# which then panics ("MP-BIOS bug: 8254 timer not connected"):
		# skip it, as cloud images do.
		append="$append no_timer_check"
		append="$append hugepagesz=2M hugepages=64"
		if [ "${accel%%,*}" = tcg ] || grep -qw pdpe1gb /proc/cpuinfo; then
			append="$append hugepagesz=1G hugepages=$HUGEPAGES_1G"
		fi
	else
		[ "$FLAVOUR" != arm64 ] || append="$append hugepagesz=64K hugepages=64"
		append="$append hugepagesz=2M hugepages=64 hugepagesz=32M hugepages=8"
		append="$append hugepagesz=1G hugepages=$HUGEPAGES_1G"
		append="$append MMPROBE_CONSOLE_TTY=/dev/$console"
		append="$append MMPROBE_KTAP_TTY=/dev/hvc0 MMPROBE_DMESG_TTY=/dev/hvc1"
	fi
	[ "$GDB" -eq 1 ] && append="$append nokaslr"
	[ "$CPUS" -gt "$NODE0_CPUS" ] && n1=",cpus=$NODE0_CPUS-$((CPUS - 1))"
	if [ "$ARCH" = amd64 ]; then
		QEMU=(qemu-system-x86_64 -accel "$accel" -cpu "$cpu")
	else
		QEMU=(qemu-system-aarch64 -M virt -accel "$accel" -cpu "$cpu")
	fi
	QEMU+=(-smp "$CPUS,sockets=$CPUS,cores=1,threads=1" -m "${MEM_MB}M"
	      -object "memory-backend-ram,id=m0,size=${NODE0_MB}M"
	      -object "memory-backend-ram,id=m1,size=$((MEM_MB - NODE0_MB))M"
	      -numa "node,nodeid=0,memdev=m0,cpus=0-$((NODE0_CPUS - 1))"
	      -numa "node,nodeid=1,memdev=m1$n1"
	      -kernel "$KDIR/boot/vmlinuz-$RELEASE" -initrd "$WORK/initrd.cpio"
	      -append "$append" -display none -no-reboot -nodefaults)
	if [ "$SHELL_MODE" -eq 1 ]; then
		# Ctrl-C goes to the guest; Ctrl-A x quits QEMU.
		# shellcheck disable=SC2054 # commas of QEMU's option syntax
		QEMU+=(-chardev "stdio,id=con,mux=on,signal=off,logfile=$WORK/console.log"
		       -serial chardev:con -mon chardev=con,mode=readline)
	else
		QEMU+=(-serial "file:$WORK/console.log")
	fi
	if [ "$ARCH" = amd64 ]; then
		QEMU+=(-serial "file:$WORK/ktap.log" -serial "file:$WORK/dmesg.log")
	else
		# shellcheck disable=SC2054 # commas of QEMU's option syntax
		QEMU+=(-device virtio-serial-pci
		       -chardev "file,id=ktap,path=$WORK/ktap.log" -device virtconsole,chardev=ktap
		       -chardev "file,id=dmesg,path=$WORK/dmesg.log"
		       -device virtconsole,chardev=dmesg)
	fi
	[ "$GDB" -eq 1 ] && QEMU+=(-gdb "tcp::$GDB_PORT")
	# shellcheck disable=SC2206 # -q: split at blanks, as documented
	[ -n "$QEMU_EXTRA" ] && QEMU+=($QEMU_EXTRA)
	printf '%q ' "${QEMU[@]}" >"$WORK/qemu.cmdline"
	echo >>"$WORK/qemu.cmdline"
}

# KVM when /dev/kvm is there and can run a vCPU of this host (asked anew on
# every run: a QEMU that starts and quits at once), TCG otherwise.
ACCEL="tcg,thread=multi"
ACCEL_CPU=max
if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
	why="an $ARCH guest on an $(dpkg --print-architecture) host"
elif [ ! -e /dev/kvm ]; then
	why="no /dev/kvm"
elif [ ! -w /dev/kvm ]; then
	why="/dev/kvm is not writable"
elif ! out=$(echo quit | timeout 20 qemu-system-x86_64 -accel kvm -cpu host \
		-display none -nodefaults -S -m 64 -monitor stdio 2>&1); then
	why="KVM cannot run a vCPU here: $(echo "$out" | grep -o -m 1 'error: .*' || echo "$out" | tail -n 1)"
else
	ACCEL=kvm
	ACCEL_CPU=host
	why="/dev/kvm runs a vCPU"
fi
log "accelerator: ${ACCEL%%,*} ($why)"

qemu_args "$ACCEL" "$ACCEL_CPU"
if [ "$DRY_RUN" -eq 1 ]; then
	cat "$WORK/qemu.cmdline"
	exit "$EXIT_OK"
fi

# The guest's KTAP, on stdout as the guest prints it: every line of the
# suite; of a command, its output without the runner's markers.
ktap_stream()
{
	tail -n +1 -s 0.2 -F --pid="$1" "$WORK/ktap.log" 2>/dev/null |
		sed -u 's/\r$//' |
		if [ "$MODE" = suite ]; then
			cat
		else
			grep --line-buffered -v '^# mmprobe-vm: \(booted\|done\|command exit\)'
		fi
}

run_qemu()
{
	local qrc=0

	: >"$WORK/console.log"
	: >"$WORK/ktap.log"
	: >"$WORK/dmesg.log"
	qemu_args "$@"
	BOOTED=1
	if [ "$MODE" = shell ]; then
		log "shell: exit or Ctrl-D powers the guest off (Ctrl-A x kills it)"
		timeout --foreground "$VM_TIMEOUT" "${QEMU[@]}" 2>"$WORK/qemu.err" || qrc=$?
		return "$qrc"
	fi
	timeout --foreground "$VM_TIMEOUT" "${QEMU[@]}" 2>"$WORK/qemu.err" </dev/null &
	QEMU_PID=$!
	ktap_stream "$QEMU_PID" &
	STREAM_PID=$!
	# A QEMU that aborts is told in qemu.err; keep bash's job notice
	# ("Aborted ...") off our stderr.
	wait "$QEMU_PID" 2>/dev/null || qrc=$?
	QEMU_PID=""
	wait "$STREAM_PID" || true
	STREAM_PID=""
	return "$qrc"
}

if [ "$VERBOSE" -eq 1 ] && [ "$SHELL_MODE" -eq 0 ]; then
	: >"$WORK/console.log"
	tail -F -n +1 "$WORK/console.log" 2>/dev/null >&2 &
	TAIL_PID=$!
fi

log "booting $RELEASE (${CPUS} CPUs, ${MEM_MB} MiB)"
START=$(date +%s)
qrc=0
run_qemu "$ACCEL" "$ACCEL_CPU" || qrc=$?
if [ "$ACCEL" = kvm ] && ! grep -q '^# mmprobe-vm: booted' "$WORK/ktap.log" &&
		[ -s "$WORK/qemu.err" ]; then
	log "KVM did not run this kernel ($(head -n 1 "$WORK/qemu.err")): TCG for this run"
	qrc=0
	run_qemu "tcg,thread=multi" max || qrc=$?
fi
log "the guest ran $(( $(date +%s) - START )) s"

# Decide the exit code from the guest's KTAP (already printed).
ktap=$WORK/ktap.log
sed -i 's/\r$//' "$ktap" "$WORK/dmesg.log"
rc=$EXIT_OK
if ! grep -q '^# mmprobe-vm: booted' "$ktap"; then
	log "the guest did not boot; console tail:"
	tail -n 40 "$WORK/console.log" >&2
	cat "$WORK/qemu.err" >&2
	[ "$qrc" -eq 124 ] && exit "$EXIT_TIMEOUT"
	exit "$EXIT_BOOT"
fi
if [ "$MODE" != suite ]; then
	crc=$(sed -n 's/^# mmprobe-vm: command exit //p' "$ktap")
	[ -n "$crc" ] && rc=$crc
else
	grep -q '^not ok' "$ktap" && rc=$EXIT_FAIL
fi
# A run asked to be under load that was not is no passing run.
if grep -q '^# mmprobe-vm: background load failed' "$ktap" && [ "$rc" -lt "$EXIT_FAIL" ]; then
	rc=$EXIT_FAIL
fi
if grep -q '^# mmprobe-vm: loading mmprobe failed' "$ktap"; then
	rc=$EXIT_BOOT
fi
grep -q '^# mmprobe-vm: timeout' "$ktap" && rc=$EXIT_TIMEOUT
if [ "$qrc" -eq 124 ]; then
	log "the guest timed out after $VM_TIMEOUT s; console tail:"
	tail -n 40 "$WORK/console.log" >&2
	rc=$EXIT_TIMEOUT
fi
if grep -q '^# mmprobe-vm: splat after [^b]' "$ktap"; then
	rc=$EXIT_SPLAT
elif ! grep -q '^# mmprobe-vm: done' "$ktap" && [ "$qrc" -ne 124 ]; then
	log "the guest died before the end; console tail:"
	tail -n 60 "$WORK/console.log" >&2
	rc=$EXIT_SPLAT
fi

# A splat's stack, decoded with mmprobe.ko's debug info and the kernel's
# (your own kernel's vmlinux, or Debian's linux-image-*-dbg when
# MMPROBE_DEBUG_SYMBOLS=1 fetched it); the "Code:" lines are left as they
# are (decodecode would need the host's objdump).
if [ "$ARCH" != amd64 ] && { grep -q '^# mmprobe-vm: splat' "$ktap" ||
		grep -q 'Call trace' "$WORK/console.log"; }; then
	log "the splat's stack is not decoded for $ARCH (the host's addr2line reads x86 only)"
elif grep -q '^# mmprobe-vm: splat' "$ktap" || grep -q 'Call Trace' "$WORK/console.log"; then
	mkdir -p "$WORK/mod"
	cp "$OUT/tree/mmprobe.ko" "$WORK/mod/"
	VMLINUX=$(kernel_vmlinux "$RELEASE" "$ROOT" "$KDIR" "$KERNEL_DIR")
	{
		if [ -s "$WORK/dmesg.log" ]; then
			cat "$WORK/dmesg.log"
		else
			sed -n 's/^# dmesg: //p' "$ktap"
		fi
	} | grep -v ' Code: ' | "$SRC/scripts/decode_stacktrace.sh" "${VMLINUX:-$WORK/no-vmlinux}" \
		"${OUT#"$ROOT"}/tree" "$WORK/mod" \
		>"$WORK/decoded.log" 2>&1 || true
	if [ -n "$VMLINUX" ]; then
		what="with $VMLINUX"
	else
		what="mmprobe.ko's frames; MMPROBE_DEBUG_SYMBOLS=1 fetches Debian's vmlinux"
	fi
	log "the splat's stack, decoded ($what):"
	grep -E '\.[ch]:[0-9]+' "$WORK/decoded.log" | head -n 40 >&2 || true
fi
exit "$rc"
