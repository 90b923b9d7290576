#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the mmprobe test guest (busybox sh). vmtest.sh packs it with
# busybox, mmprobe.ko, the selftests and /mmprobe/vm.conf into an initramfs.
#
# Kernel messages go to ttyS0; everything below goes to ttyS1, which the host
# reads as KTAP; the whole kernel log goes to ttyS2 at the end. Lines
# starting "# mmprobe-vm:" are the runner's own markers. A guest without
# those ports (an arm64 guest: virtio consoles) names its own on the kernel
# command line, which hands them to init's environment: MMPROBE_KTAP_TTY,
# MMPROBE_DMESG_TTY, and the console of vmtest.sh -s, MMPROBE_CONSOLE_TTY.

# shellcheck source=scripts/guest-setup.sh
. /guest-setup.sh
exec >"${MMPROBE_KTAP_TTY:-/dev/ttyS1}" 2>&1

. /mmprobe/vm.conf
cd /mmprobe || exit 1

# Taint bits a test may leave: O (out-of-tree, 4096) and E (unsigned, 8192).
TAINT_ALLOWED=12288
# The first line of each kind of report: lockdep's start "WARNING:" (possible
# circular or recursive locking, inconsistent lock state, suspicious RCU
# usage), KASAN's "BUG: KASAN:". Bare words like "lockdep" or "KASAN" would
# match the banners a debug kernel prints at boot.
SPLAT='WARNING:|BUG:|Oops|general protection|Call Trace|INFO: task .* blocked|'
SPLAT="${SPLAT}possible circular|possible recursive|inconsistent lock state|UBSAN: |"
SPLAT="${SPLAT}soft lockup|hard LOCKUP|rcu_.* stall|unreferenced object|Kernel panic"

vm_done()
{
	dmesg >>/tmp/dmesg.all
	cat /tmp/dmesg.all >"${MMPROBE_DMESG_TTY:-/dev/ttyS2}"
	echo "# mmprobe-vm: done"
	sync
	poweroff -f
}

# Check dmesg and taint since the last check; print and return 1 on a splat.
vm_splat_check()
{
	local what=$1 taint new

	dmesg -c >/tmp/dmesg
	cat /tmp/dmesg >>/tmp/dmesg.all
	taint=$(cat /proc/sys/kernel/tainted)
	new=$(( taint & ~TAINT_BEFORE & ~TAINT_ALLOWED ))
	TAINT_BEFORE=$taint
	if grep -Eq "$SPLAT" /tmp/dmesg || [ "$new" -ne 0 ]; then
		echo "# mmprobe-vm: splat after $what (taint $taint, new bits $new)"
		grep -E -B 3 -A 30 "$SPLAT" /tmp/dmesg | head -n 150 |
			sed 's/^/# dmesg: /'
		return 1
	fi
	return 0
}

echo "# mmprobe-vm: booted $(uname -r) (uptime $(cut -d' ' -f1 /proc/uptime) s)"
TAINT_BEFORE=$(cat /proc/sys/kernel/tainted)
if ! vm_splat_check "boot (before mmprobe was loaded)"; then
	echo "# mmprobe-vm: the kernel complained before mmprobe was loaded"
fi

# Swap on zram, so MADV_PAGEOUT and swap entries work.
if ./mmprobe-load zram num_devices=2 >/tmp/zram.log 2>&1; then
	for alg in lzo-rle lzo lz4 zstd; do
		echo $alg >/sys/block/zram0/comp_algorithm 2>/dev/null && break
	done
	echo 512M >/sys/block/zram0/disksize &&
		mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 ||
		echo "# mmprobe-vm: no swap: zram setup failed"
else
	echo "# mmprobe-vm: no swap: $(cat /tmp/zram.log)"
fi

# A disk file system for page cache with buffer heads (migrate_file): ext2
# from busybox's mke2fs on the second zram device (4 KiB blocks, zram's
# logical block size), mounted by the ext4 driver.
# ext4 of 6.1 and 6.12 asks the crypto API for crc32c: load that first.
if ! grep -qw ext2 /proc/filesystems; then
	./mmprobe-load crc32c_generic >/dev/null 2>&1
	./mmprobe-load ext4 >/dev/null 2>&1
fi
if [ -b /dev/zram1 ] && echo 64M >/sys/block/zram1/disksize &&
		mke2fs -q -b 4096 /dev/zram1 >/dev/null 2>&1 && mkdir -p /mnt/disk &&
		mount -t ext2 /dev/zram1 /mnt/disk; then
	export MMPROBE_DISK_DIR=/mnt/disk
else
	echo "# mmprobe-vm: no disk file system: tests use the initramfs"
fi
echo 30 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null

# A kernel with kmemleak (scripts/debug-kernel.sh): forget what boot leaked
# (two scans report it, "clear" greys it out), so that the scan after the
# last unload shows only what the run left behind.
KMEMLEAK=/sys/kernel/debug/kmemleak
NR_KMEMLEAK=0
if [ -e $KMEMLEAK ]; then
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
	NR_KMEMLEAK=1
else
	KMEMLEAK=""
fi

# Two scans (a leak is reported once its checksum stayed the same over one
# and it is 5 s old); prints the report, returns 1 when there is one.
vm_kmemleak_check()
{
	[ -n "$KMEMLEAK" ] || return 0
	sleep 6
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	cat $KMEMLEAK >/tmp/kmemleak
	[ -s /tmp/kmemleak ] || return 0
	echo "# mmprobe-vm: splat after the kmemleak scan"
	head -n 200 /tmp/kmemleak | sed 's/^/# kmemleak: /'
	return 1
}
dmesg -c >>/tmp/dmesg.all
TAINT_BEFORE=$(cat /proc/sys/kernel/tainted)

if ! ./mmprobe-load /mmprobe/mmprobe.ko; then
	echo "# mmprobe-vm: loading mmprobe failed"
	vm_done
fi
export MMPROBE_KO=/mmprobe/mmprobe.ko
# vmtest.sh -- CMD: no input (a command that reads would wait forever);
# vmtest.sh -s: a shell on the console, the host's terminal.
if [ "$MODE" = "cmd" ] || [ "$MODE" = "shell" ]; then
	if [ "$MODE" = "cmd" ]; then
		sh /mmprobe/cmd </dev/null
		rc=$?
	else
		cat >"${MMPROBE_CONSOLE_TTY:-/dev/ttyS0}" <<EOF

mmprobe $(sed -n 's/^version=//p' /sys/kernel/debug/mmprobe/version) is loaded on $(uname -r).
The selftests are in /mmprobe (./inspect, ./migration -l, ...); debugfs is
/sys/kernel/debug/mmprobe. exit or Ctrl-D powers the guest off.

EOF
		con=${MMPROBE_CONSOLE_TTY:-/dev/ttyS0}
		PS1='mmprobe:\w# ' setsid -c sh -i <"$con" >"$con" 2>&1
		rc=$?
	fi
	vm_splat_check "the command"
	echo "# mmprobe-vm: command exit $rc"
	if [ -d /sys/module/mmprobe ]; then
		./mmprobe-load -r mmprobe || echo "# mmprobe-vm: unloading mmprobe failed"
	fi
	vm_kmemleak_check
	vm_done
fi

echo "TAP version 13"
set -- $TESTS
echo "1..$(( $# + 1 + NR_KMEMLEAK + ${DKMS:-0} + ${KSFT:-0} ))"
sed 's/^/# /' /sys/kernel/debug/mmprobe/version

# vmtest.sh -L: THP faults, O_DIRECT reads and fork storms while the suite
# runs (selftests/mmprobe-loadgen.c); stopped before the unload.
LOAD_PID=""
if [ "${LOAD:-0}" = 1 ]; then
	./mmprobe-loadgen >/tmp/loadgen.log 2>&1 &
	LOAD_PID=$!
	echo "# mmprobe-vm: background load started (pid $LOAD_PID)"
fi
# SIGKILL every process of session $1 (the sixth field of /proc/PID/stat,
# after the command name, which may hold spaces and parentheses).
vm_kill_session()
{
	local sid=$1 st f pid

	for st in /proc/[0-9]*/stat; do
		f=$(cat "$st" 2>/dev/null) || continue
		f=${f##*) }
		# shellcheck disable=SC2086 # state ppid pgrp session ...
		set -- $f
		[ "$4" = "$sid" ] || continue
		pid=${st#/proc/}
		kill -KILL "${pid%/stat}" 2>/dev/null
	done
	return 0
}

# Run a program under the timeout, its output as "# " lines, its exit status
# in /tmp/rc. It runs in a session of its own, and whatever of it is left
# when it ends is killed: a leaked child (in any process group: the harness
# gives each test its own) would hold the output pipe, and the guest, open
# until vmtest.sh's timeout.
vm_run()
{
	(
		# shellcheck disable=SC2016 # $$ and $@ of the inner shell
		setsid sh -c 'echo $$ >/tmp/sid; exec timeout -s KILL "$@"' sh "$TIMEOUT" "$@"
		echo $? >/tmp/rc
		vm_kill_session "$(cat /tmp/sid)"
	) 2>&1 | tee /tmp/out | sed 's/^/# /'
}

# vmtest.sh -t PROG:CASE: the harness's "-r CASE" for each case of PROG.
vm_case_args()
{
	local c args=""

	for c in $CASES; do
		[ "${c%%:*}" = "$1" ] && args="$args -r ${c#*:}"
	done
	echo "$args"
}

# Audit every process (scripts/mmprobe-audit, Documentation/audit.rst):
# print the totals; on a violation print the report and return 1.
vm_audit()
{
	local out

	if [ ! -e /sys/kernel/debug/mmprobe/audit ]; then
		echo "# mmprobe-vm: no audit after $1: mmprobe is not loaded"
		return 0
	fi
	if out=$(./mmprobe-audit all 2>&1); then
		echo "# mmprobe-vm: audit after $1: ${out##*: }"
		return 0
	fi
	echo "# mmprobe-vm: audit after $1 failed"
	echo "$out" | sed 's/^/# audit: /'
	return 1
}

# A program's work grows with the base page size (a PMD THP has 512 pages
# of 4 KiB, 2048 of 16 KiB, each faulted, swapped and checked): so does
# its timeout (anon_exclusive: 198 s with 4 KiB pages, 587 s with 16 KiB).
page_kb=$(sed -n 's/^KernelPageSize: *\([0-9]*\) kB$/\1/p' /proc/self/smaps | head -n 1)
[ "${page_kb:-4}" -le 4 ] || TIMEOUT=$(( TIMEOUT * page_kb / 4 ))

n=0
for t in $TESTS; do
	n=$((n + 1))
	args=$(vm_case_args "$t")
	echo "# timeout set to $TIMEOUT"
	echo "# selftests: mmprobe: $t$args"
	echo "# mmprobe-vm: start $t (uptime $(cut -d' ' -f1 /proc/uptime) s)"
	start=$(date +%s)
	# shellcheck disable=SC2086 # ARGS: "-r CASE" pairs
	vm_run "./$t" $args
	rc=$(cat /tmp/rc)
	echo "# mmprobe-vm: end $t (exit $rc, $(( $(date +%s) - start )) s)"
	# A harness runs no test for a case it does not know, and passes:
	# each case asked must have given a result line.
	asked=$(echo "$args" | grep -o -- '-r ' | wc -l)
	ran=$(grep -c -E '^(ok|not ok) [0-9]+ ' /tmp/out)
	if ! vm_splat_check "$t"; then
		echo "not ok $n selftests: mmprobe: $t # kernel splat"
	elif ! vm_audit "$t"; then
		echo "not ok $n selftests: mmprobe: $t # audit violation"
	elif [ "$rc" -eq 137 ] || [ "$rc" -eq 124 ]; then
		echo "# mmprobe-vm: timeout"
		echo "not ok $n selftests: mmprobe: $t # TIMEOUT $TIMEOUT seconds"
	elif [ "$ran" -lt "$asked" ]; then
		echo "not ok $n selftests: mmprobe: $t # $ran results for $asked cases asked: no such case?"
	elif [ "$rc" -eq 4 ]; then
		echo "ok $n selftests: mmprobe: $t # SKIP"
	elif [ "$rc" -eq 0 ]; then
		echo "ok $n selftests: mmprobe: $t"
	else
		echo "not ok $n selftests: mmprobe: $t # exit=$rc"
	fi
done

if [ -n "$LOAD_PID" ]; then
	# It runs until killed: any other end, or a worker lost, is a failure.
	kill "$LOAD_PID" 2>/dev/null
	wait "$LOAD_PID"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "# mmprobe-vm: background load stopped"
	else
		echo "# mmprobe-vm: background load failed (exit $rc)"
	fi
	sed 's/^/# /' /tmp/loadgen.log
fi

# The module must unload once every test is done with it.
n=$((n + 1))
if out=$(./mmprobe-load -r mmprobe 2>&1) && vm_splat_check "unload"; then
	echo "ok $n selftests: mmprobe: unload"
else
	echo "# $out"
	echo "not ok $n selftests: mmprobe: unload"
fi

# vmtest.sh -D: the module dkms built and installed, found through
# modules.dep and loaded by the build root's modprobe (kmod).
if [ "${DKMS:-0}" = 1 ]; then
	n=$((n + 1))
	dep=$(/sbin/modprobe --show-depends mmprobe 2>&1)
	echo "# modprobe --show-depends mmprobe: $dep"
	if echo "$dep" | grep -q '/updates/dkms/mmprobe\.ko' &&
			/sbin/modprobe mmprobe >/tmp/modprobe.log 2>&1 &&
			grep -qx "release=$(uname -r)" /sys/kernel/debug/mmprobe/version &&
			./mmprobe-load -r mmprobe >>/tmp/modprobe.log 2>&1 &&
			vm_splat_check "modprobe mmprobe"; then
		echo "ok $n selftests: mmprobe: dkms_modprobe"
	else
		sed 's/^/# /' /tmp/modprobe.log
		echo "not ok $n selftests: mmprobe: dkms_modprobe"
	fi
fi

# vmtest.sh -i: the installed kselftest tree as a test lab runs it, by the
# series' own run_kselftest.sh, without MMPROBE_KO: the tree's mmprobe.ko,
# or (-D) the installed module by name. Its KTAP is printed as "# ksft: "
# lines, which scripts/check.sh counts. Its programs leave mmprobe loaded.
if [ "${KSFT:-0}" = 1 ]; then
	n=$((n + 1))
	args=""
	for t in $KSFT_TESTS; do
		args="$args -t $t"
	done
	[ -n "$args" ] || args="-c mmprobe"
	echo "# mmprobe-vm: run_kselftest.sh$args (uptime $(cut -d' ' -f1 /proc/uptime) s)"
	( unset MMPROBE_KO; cd /kselftest && ./run_kselftest.sh $args ) 2>&1 |
		tee /tmp/ksft.log | sed 's/^/# ksft: /'
	echo "# mmprobe-vm: run_kselftest.sh done (uptime $(cut -d' ' -f1 /proc/uptime) s)"
	[ -d /sys/module/mmprobe ] && ./mmprobe-load -r mmprobe
	if vm_splat_check "run_kselftest.sh" && [ ! -d /sys/module/mmprobe ] &&
			grep -q '^ok ' /tmp/ksft.log && ! grep -q '^not ok' /tmp/ksft.log; then
		echo "ok $n selftests: mmprobe: run_kselftest"
	else
		echo "not ok $n selftests: mmprobe: run_kselftest"
	fi
fi
if [ -n "$KMEMLEAK" ]; then
	n=$((n + 1))
	if vm_kmemleak_check; then
		echo "ok $n selftests: mmprobe: kmemleak"
	else
		echo "not ok $n selftests: mmprobe: kmemleak"
	fi
fi

# The behaviour report (vmtest.sh -R), as diagnostic lines after the suite,
# with mmprobe loaded again; a splat it causes fails the run.
if [ "${REPORT:-0}" = 1 ]; then
	echo "# mmprobe-vm: report"
	if ./mmprobe-load /mmprobe/mmprobe.ko; then
		vm_run ./report
		[ "$(cat /tmp/rc)" -le 1 ] || echo "# mmprobe-vm: report exit $(cat /tmp/rc)"
		vm_splat_check "the report"
		./mmprobe-load -r mmprobe || echo "# mmprobe-vm: unloading mmprobe failed"
	else
		echo "# mmprobe-vm: report: loading mmprobe failed"
	fi
fi
vm_done
