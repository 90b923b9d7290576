#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test-runner.sh: tests of scripts/vmtest.sh itself, run by "make check"
# before the guests of the suite.
#
#   scripts/test-runner.sh [KERNEL]      default: the newest of the matrix
#
# Option parsing and its errors, the QEMU command line that -m, -c, -q, -g
# and -e make (a dry run, -n), -t PROG and -t PROG:CASE checked against the
# built programs, the cache lock (a held build-root lock stops a run that
# cannot wait), no work directory left behind after an interrupt, and two
# guests: "-- CMD" passing the command's exit status through (a failure:
# its files are kept in the cache), and -t PROG:CASE running that one case
# with -o DIR keeping the run. Prints KTAP; exits 1 when a test failed.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

KERNEL=${1:-${MMPROBE_KERNELS_ALL##* }}
VMTEST=$MMPROBE_TOP/scripts/vmtest.sh
[ "$(id -u)" -eq 0 ] || die "test-runner.sh needs root (it runs vmtest.sh)"

T=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-test-runner.XXXXXX")
# shellcheck disable=SC2317 # the EXIT trap
cleanup()
{
	# A running vmtest.sh stops its QEMU and removes its files on TERM;
	# the lock test's flock goes too.
	pkill -TERM -P $$ 2>/dev/null || true
	wait
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

N=0
FAILED=0
echo "TAP version 13"
echo "1..13"

# result NAME: ok when the last check ($?, given as CHECK) held.
result()
{
	local check=$1 name=$2

	N=$((N + 1))
	if [ "$check" -eq 0 ]; then
		echo "ok $N runner: $name"
	else
		echo "not ok $N runner: $name"
		sed 's/^/# /' "$T/err" | tail -n 20
		FAILED=$((FAILED + 1))
	fi
}

# vm EXPECTED_RC ARGS...: run vmtest.sh with its own TMPDIR; stdout in
# $T/out, stderr in $T/err; 0 when it exited EXPECTED_RC.
# The guests below need little memory: make check runs this script beside
# its suite's guests, which take most of the host's.
GUEST_MEM=1G
export MMPROBE_VM_HUGEPAGES_1G=0

vm()
{
	local want=$1 rc=0

	shift
	mkdir -p "$T/tmp"
	# In the background, so that INT or TERM stops this script at once
	# (bash runs a trap only after a foreground command ends).
	TMPDIR=$T/tmp "$VMTEST" "$@" >"$T/out" 2>"$T/err" </dev/null &
	wait $! || rc=$?
	echo "# vmtest.sh $* -> exit $rc" >>"$T/err"
	[ "$rc" -eq "$want" ]
}

# 1: bad options stop with exit 2 and say why, before anything is built.
ok=0
vm 2 -x || ok=1
grep -q '^Usage:' "$T/out" || ok=1
for bad in "-m 3X:-m 3X" "-c 0:-c 0" "-e 1A=b:-e 1A=b" "-T soon:-T soon" \
	   "-K /nonexistent:-K /nonexistent"; do
	# shellcheck disable=SC2086 # the option and its value
	vm 2 ${bad%%:*} || ok=1
	grep -qF -- "error: ${bad#*:}" "$T/err" || ok=1
done
vm 2 -s -- true || ok=1
grep -q 'exclude each other' "$T/err" || ok=1
result "$ok" "bad options: usage, exit 2"

# 2-4: -t is checked against the built programs and their cases.
ok=0
vm 2 -n -k "$KERNEL" -t nosuch || ok=1
grep -q 'error: -t nosuch: no such test program' "$T/err" || ok=1
result "$ok" "-t PROG: an unknown program is refused"
ok=0
vm 2 -n -k "$KERNEL" -t module:module.nosuch || ok=1
grep -q 'error: -t module:module.nosuch: module has no case' "$T/err" || ok=1
# A known case of a program whose -l ends with its "# skips: 0" line.
vm 0 -n -k "$KERNEL" -t inspect:inspect.anon_4k || ok=1
result "$ok" "-t PROG:CASE: an unknown case is refused, a known one taken"
ok=0
vm 2 -n -k "$KERNEL" -t anon_exclusive:x || ok=1
grep -q 'not a kselftest_harness program' "$T/err" || ok=1
result "$ok" "-t PROG:CASE: a program without cases is refused"

# 5: the QEMU command line of -m, -c, -q, -g; -e in the guest's vm.conf.
ok=0
vm 0 -n -k "$KERNEL" -m 4G -c 3 -q '-name mmprobe-runner-test' -g \
	-t module:module.cap_thp || ok=1
for want in "-m 4096M" "-smp 3,sockets=3" "id=m0,size=2048M" "id=m1,size=2048M" \
	    "cpus=0-0 " "cpus=1-2 " "-gdb tcp::1234" " nokaslr" \
	    "-name mmprobe-runner-test"; do
	sed 's/\\//g' "$T/out" | grep -qF -- "$want" || { echo "# no '$want'" >>"$T/err"; ok=1; }
done
grep -q '^mmprobe: accelerator: \(kvm\|tcg\) (.*)$' "$T/err" || ok=1
result "$ok" "-m, -c, -q, -g: the QEMU command line"

# 6: a run that cannot get the build root's lock in time stops.
ok=0
suite=$(series_suite "$KERNEL")
mkdir -p "$MMPROBE_CACHE/locks"
# -o: the lock is flock's own, not sleep's, and goes with it.
flock -o "$MMPROBE_CACHE/locks/root-$suite.lock" sleep 20 &
LOCK_PID=$!
sleep 0.5
MMPROBE_LOCK_TIMEOUT=2 vm 2 -n -k "$KERNEL" || ok=1
grep -q "waiting for the lock root-$suite" "$T/err" || ok=1
grep -q "timed out after 2 s waiting for the lock root-$suite" "$T/err" || ok=1
kill "$LOCK_PID"
wait "$LOCK_PID" 2>/dev/null || true
vm 0 -n -k "$KERNEL" || ok=1
result "$ok" "the build root's lock: a second run waits, then goes on"

# 7: an interrupted run leaves no work directory behind.
ok=0
rm -rf "$T/tmp"
mkdir -p "$T/tmp"
TMPDIR=$T/tmp "$VMTEST" -n -k "$KERNEL" >/dev/null 2>"$T/err" &
pid=$!
sleep 1
kill -INT "$pid" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
[ -z "$(ls -A "$T/tmp")" ] || { ls "$T/tmp" >>"$T/err"; ok=1; }
echo "# interrupted: exit $rc" >>"$T/err"
result "$ok" "an interrupt leaves no work directory"

# 8-10: "--" passes the command's status through; -e reaches it; the
# failed run's files are kept in the cache, and said where.
ok=0
# shellcheck disable=SC2016 # expanded in the guest
vm 7 -k "$KERNEL" -m "$GUEST_MEM" -e 'GREETING=hello from the host' -- \
	sh -c 'echo "guest: $GREETING"; exit 7' || ok=1
grep -qx 'guest: hello from the host' "$T/out" || ok=1
result "$ok" "-- CMD: the command's exit status (7) and -e VAR=VALUE"
ok=0
kept=$(sed -n 's/^mmprobe: kept the run in //p' "$T/err")
[ -n "$kept" ] || ok=1
for f in console.log ktap.log dmesg.log qemu.cmdline initrd.cpio mmprobe.ko vm.conf; do
	[ -s "$kept/$f" ] || { echo "# no $f in $kept" >>"$T/err"; ok=1; }
done
result "$ok" "a failed run is kept in the cache"
[ -n "$kept" ] && rm -rf "$kept"
ok=0
[ -z "$(ls -A "$T/tmp")" ] || ok=1
result "$ok" "no work directory left after a guest"

# 11-13: -t PROG:CASE runs that case alone; -o DIR keeps everything.
ok=0
vm 0 -k "$KERNEL" -m "$GUEST_MEM" -t module:module.cap_thp -o "$T/o" || ok=1
grep -qx '# ok 1 module.cap_thp' "$T/out" || ok=1
grep -q '^# # Totals: pass:1 fail:0 ' "$T/out" || ok=1
[ "$(grep -c '^# #  RUN ' "$T/out")" -eq 1 ] || ok=1
result "$ok" "-t PROG:CASE runs that case alone"
ok=0
for f in console.log ktap.log dmesg.log qemu.cmdline qemu.err initrd.cpio \
	 mmprobe.ko build.log vm.conf; do
	[ -e "$T/o/$f" ] || { echo "# no $f in -o" >>"$T/err"; ok=1; }
done
grep -q 'Linux version' "$T/o/dmesg.log" || ok=1
cmp -s "$T/out" <(sed 's/\r$//' "$T/o/ktap.log") || ok=1
grep -q '^qemu-system-x86_64 ' "$T/o/qemu.cmdline" || ok=1
# The module with its debug info, for decode_stacktrace.sh.
grep -qa '\.debug_info' "$T/o/mmprobe.ko" || ok=1
result "$ok" "-o DIR: console, dmesg, KTAP, QEMU command, initramfs, mmprobe.ko"
ok=0
grep -q '^# mmprobe-vm: start module (uptime ' "$T/out" || ok=1
grep -q '^# mmprobe-vm: end module (exit 0, [0-9]* s)$' "$T/out" || ok=1
result "$ok" "per-program start and end with the elapsed time"

echo "# runner: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
