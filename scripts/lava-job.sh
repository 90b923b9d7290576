#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lava-job.sh: a LAVA job that runs mmprobe's kselftest collection on a
# Debian kernel in LAVA's QEMU device type.
#
#   scripts/lava-job.sh [-o DIR] [-u URL] [-t COLLECTION:TEST]... [KERNEL]
#
# Builds mmprobe and the selftests in the kernel's build root (as vmtest.sh
# does), installs the kselftest tree with mmprobe.ko, and writes to DIR
# (default ./lava-KERNEL):
#   vmlinuz          the Debian kernel
#   initrd.cpio.gz   busybox, the build root's libraries, /kselftest, and
#                    scripts/lava-init.sh as /init
#   job.yaml         the job: deploy to tmpfs, boot with QEMU, and a test
#                    monitor that records each "ok"/"not ok" line of
#                    run_kselftest.sh's KTAP as a LAVA test case
#   device.yaml      a QEMU device for running the job locally with lava-run
# The job fetches vmlinuz and initrd.cpio.gz from URL (default file://DIR):
# publish the two files there for a lab. -t picks tests of the tree
# (default: the whole collection). See Documentation/lava.rst.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

OUTDIR=""
URL=""
TESTS=""

usage()
{
	echo "usage: $0 [-o DIR] [-u URL] [-t COLLECTION:TEST]... [KERNEL]" >&2
	exit 2
}

while getopts "o:u:t:h" opt; do
	case "$opt" in
	o) OUTDIR=$OPTARG ;;
	u) URL=${OPTARG%/} ;;
	t) TESTS="$TESTS -t $OPTARG" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
KERNEL=${1:-7.3}
[ "$(id -u)" -eq 0 ] || die "lava-job.sh needs root (debootstrap, chroot)"
need_host_tools

SUITE=$(series_suite "$KERNEL")
OUTDIR=${OUTDIR:-$PWD/lava-$KERNEL}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
URL=${URL:-file://$OUTDIR}

INITRD=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-lava.XXXXXX")
OUT=""
cleanup()
{
	rm -rf "$INITRD"
	build_clean "${OUT:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT=$(prepare_root "$SUITE")
RELEASE=$(resolve_release "$KERNEL" "$ROOT")
[ -n "$RELEASE" ] || RELEASE=$(cat "$MMPROBE_CACHE/release-$KERNEL" 2>/dev/null) ||
	die "no Debian kernel of series $KERNEL found"
fetch_kernel "$RELEASE" "$ROOT"
SRC=$(fetch_source "$KERNEL" "$ROOT")
log "building mmprobe and the kselftest tree for $RELEASE"
OUT=$(build_in_root "$RELEASE" "$ROOT" "$SRC")
ksft_install "$RELEASE" "$ROOT" "$OUT" "${OUT#"$ROOT"}/tree/mmprobe.ko"
KDIR=$MMPROBE_CACHE/kernel-$RELEASE
echo "${TESTS:--c mmprobe}" >"$OUT/kselftest/lava-tests"

# The initramfs: only the build root's files, checked as vmtest.sh's are.
# Its root is mktemp's 0700 directory: nobody could not reach /kselftest.
chmod 755 "$INITRD"
mkdir -p "$INITRD/bin"
cp "$ROOT/bin/busybox" "$INITRD/bin/busybox"
INITRD_INIT=$MMPROBE_TOP/scripts/lava-init.sh
cp "$INITRD_INIT" "$INITRD/init"
cp "$MMPROBE_TOP/scripts/guest-setup.sh" "$INITRD/guest-setup.sh"
chmod 755 "$INITRD/init"
cp -a "$OUT/kselftest" "$INITRD/kselftest"
PROGS=()
for prog in "$INITRD"/kselftest/mmprobe/*; do
	[ -x "$prog" ] || continue
	PROGS+=("${OUT#"$ROOT"}/kselftest/mmprobe/${prog##*/}")
done
initrd_libs "$ROOT" "$INITRD" "${PROGS[@]}"
verified=$(INITRD_INIT=$INITRD_INIT initrd_verify "$ROOT" "$INITRD" "$OUT" "$KDIR") ||
	die "the initramfs is not made of the build root's files"
log "initramfs: $verified (build root $SUITE)"
(cd "$INITRD" && find . | cpio -o -H newc --quiet) | gzip -9 >"$OUTDIR/initrd.cpio.gz"
cp "$KDIR/boot/vmlinuz-$RELEASE" "$OUTDIR/vmlinuz"

# The kernel command line of vmtest.sh's guest, on LAVA's one console, but
# loglevel 6: LAVA's boot waits for "Linux version" (KERN_NOTICE) first.
APPEND="console=ttyS0,115200 rdinit=/init panic=-1 loglevel=6"
APPEND="$APPEND mitigations=off numa_balancing=disable no_timer_check"
APPEND="$APPEND hugepagesz=2M hugepages=64"

cat >"$OUTDIR/job.yaml" <<EOF
# mmprobe's kselftest collection on Debian $RELEASE, made by
# scripts/lava-job.sh (Documentation/lava.rst).
device_type: qemu
job_name: mmprobe kselftest on $RELEASE
priority: medium
visibility: public
timeouts:
  job:
    minutes: 40
  action:
    minutes: 30
  # The monitor waits this long for each next line it matches: longer
  # than the slowest program (settings' timeout is 300 s).
  connection:
    minutes: 6
context:
  arch: amd64
  cpu: max
  memory: 6144
  extra_options:
  - -smp 2,sockets=2,cores=1,threads=1
  - -object memory-backend-ram,id=m0,size=3G
  - -object memory-backend-ram,id=m1,size=3G
  - -numa node,nodeid=0,memdev=m0,cpus=0
  - -numa node,nodeid=1,memdev=m1,cpus=1
actions:
- deploy:
    to: tmpfs
    timeout:
      minutes: 5
    images:
      kernel:
        image_arg: -kernel {kernel} -append "$APPEND"
        url: $URL/vmlinuz
      ramdisk:
        image_arg: -initrd {ramdisk}
        url: $URL/initrd.cpio.gz
- boot:
    method: qemu
    media: tmpfs
    timeout:
      minutes: 5
    prompts:
    - 'mmprobe-lava: booted'
- test:
    timeout:
      minutes: 30
    monitors:
    - name: mmprobe
      start: 'TAP version 13'
      end: 'mmprobe-lava: done'
      # run_kselftest.sh's result lines: the lookahead captures "SKIP" of
      # "ok N ... # SKIP", else "ok" or "not ok"; a whole line only (the
      # console and the pty each add a \r before the \n).
      pattern: '(?=(?:ok \d+ selftests: mmprobe: [\w-]+ # |)(?P<result>SKIP|not ok|ok))(?:not ok|ok) \d+ selftests: mmprobe: (?P<test_case_id>[\w-]+)(?: #[^\r\n]*)?\r*\n'
      fixupdict:
        'ok': pass
        'not ok': fail
        'SKIP': skip
EOF

# A QEMU device for lava-run, as a lab's qemu.jinja2 would render it for
# the job's context (TCG, as this machine's KVM cannot run these kernels).
cat >"$OUTDIR/device.yaml" <<EOF
# A local QEMU device for lava-run (Documentation/lava.rst).
available_architectures:
- amd64
device_info: []
static_info: []
character_delays:
  boot: 0
  test: 0
constants:
  posix:
    lava_test_sh_cmd: /bin/sh
    lava_test_results_dir: /lava-%s
    lava_test_shell_file: ~/.bashrc
  broken-posix:
    lava_test_sh_cmd: /bin/sh
    lava_test_results_dir: /lava-%s
    lava_test_shell_file: ~/.bashrc
  shutdown-message: 'The system is going down for reboot NOW'
  kernel-start-message: 'Linux version [0-9]'
  default-shell-prompt: 'lava-test: # '
  boot-message: 'Booting Linux'
  cpu-reset-messages:
  - 'Resetting CPU'
  - 'Must RESET board to recover'
  default-bootloader-prompt: '=>'
  interrupt-prompt: 'Hit any key to stop autoboot'
  interrupt-character: ' '
  spawn_maxread: 4092
  failure_retry: 1
  boot_retry: 0
commands:
  connect: telnet localhost 7000
actions:
  deploy:
    methods:
      image:
        parameters:
          guest:
            size: 512
            interface: ide
      tmpfs:
  boot:
    connections:
      serial:
    methods:
      qemu:
        parameters:
          command: qemu-system-x86_64
          options:
          - -nographic
          - -no-reboot
          - -accel tcg,thread=multi
          - -cpu max
          - -m 6144
          - -smp 2,sockets=2,cores=1,threads=1
          - -object memory-backend-ram,id=m0,size=3G
          - -object memory-backend-ram,id=m1,size=3G
          - -numa node,nodeid=0,memdev=m0,cpus=0
          - -numa node,nodeid=1,memdev=m1,cpus=1
          - -nodefaults
          - -serial stdio
timeouts:
  actions:
    apply-overlay-image:
      minutes: 2
  connections:
    bootloader-commands:
      minutes: 2
EOF
log "wrote $OUTDIR/job.yaml, device.yaml, vmlinuz and initrd.cpio.gz"
