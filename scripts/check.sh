#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: the test command behind "make check".
#
#   scripts/check.sh [KERNEL...]     default: every kernel of the matrix
#
# Static checks first (checkpatch --strict on the module sources, sparse and
# W=1 builds and dkms build/install for every kernel), then the whole
# selftest collection in a guest of every kernel, followed in the same guest
# by part of the installed kselftest tree run by run_kselftest.sh (and on the
# newest kernel the DKMS module loaded with modprobe); each guest's initramfs
# is checked to be made of its build root's files. The last line is "N
# passed, N failed, N skipped", summed over the static checks and every test
# case of every kernel.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || set -- $MMPROBE_KERNELS_ALL
[ "$(id -u)" -eq 0 ] || die "make check needs root (debootstrap, chroot, QEMU)"
need_host_tools

PASS=0
FAIL=0
SKIP=0
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-check.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT

static_result()
{
	local name=$1 ok=$2

	if [ "$ok" -eq 0 ]; then
		echo "ok - static: $name"
		PASS=$((PASS + 1))
	else
		echo "not ok - static: $name"
		FAIL=$((FAIL + 1))
	fi
}

# Add the test cases of a KTAP log (stdin) to the totals. A run that ended
# badly (RC not 0) or counted nothing has at least one failure.
tally()
{
	local what=$1 rc=$2 p f s

	read -r p f s < <(ktap_counts)
	if { [ "$rc" -ne 0 ] || [ $((p + f + s)) -eq 0 ]; } && [ "$f" -eq 0 ]; then
		f=1
	fi
	echo "# $what: $p passed, $f failed, $s skipped (exit $rc)"
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
	SKIP=$((SKIP + s))
}

# checkpatch --strict, from the newest kernel's source; errors and warnings
# fail, CHECKs are listed. compat.h is where version tests belong, so only
# there are LINUX_VERSION_CODE comparisons allowed.
newest=${*: -1}
root=$(prepare_root "$(series_suite "$newest")")
src=$(fetch_source "$newest" "$root")
checkpatch()
{
	perl "$src/scripts/checkpatch.pl" --strict --no-tree --show-types \
		--max-line-length=100 "$@" 2>&1 || true
}
out=$(cd "$MMPROBE_TOP" &&
	checkpatch -f $(ls module/*.[ch] | grep -v '^module/compat.h$') &&
	checkpatch --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f module/compat.h)
echo "$out" | grep -E '^(ERROR|WARNING|CHECK):' | sed 's/^/# checkpatch: /' || true
! echo "$out" | grep -qE '^(ERROR|WARNING):'
static_result "checkpatch --strict" $?

# The selftests are user space: no u64, BIT() or strscpy() there; "volatile"
# stop flags shared by threads; ASSERT-style macros that return, as the
# harness's own; messages that contain the function's name by chance; and
# ENOSYS is what syscall() really answers. Here CHECKs fail too.
out=$(cd "$MMPROBE_TOP" &&
	checkpatch --ignore PREFER_KERNEL_TYPES,VOLATILE,BIT_MACRO,STRCPY,MACRO_WITH_FLOW_CONTROL,EMBEDDED_FUNCTION_NAME,ENOSYS \
		-f selftests/*.[ch])
echo "$out" | grep -E '^(ERROR|WARNING|CHECK):' | sed 's/^/# checkpatch: /' || true
! echo "$out" | grep -qE '^(ERROR|WARNING|CHECK):'
static_result "checkpatch --strict selftests" $?

for k in "$@"; do
	root=$(prepare_root "$(series_suite "$k")")
	release=$(resolve_release "$k" "$root")
	[ -n "$release" ] || release=$(cat "$MMPROBE_CACHE/release-$k")
	fetch_kernel "$release" "$root"
	src=$(fetch_source "$k" "$root")
	# A W=1 build (warnings fail it) and sparse on every source.
	ok=0
	out=$(build_in_root "$release" "$root" "$src" C=2 2>"$LOGDIR/build") || ok=1
	if [ "$ok" -eq 0 ] && grep -E '\.[ch]:[0-9]+(:[0-9]+)?: (warning|error):' \
			"$out/build.log" >"$LOGDIR/sparse"; then
		sed 's/^/# sparse: /' "$LOGDIR/sparse"
		ok=1
	fi
	[ "$ok" -eq 0 ] || sed 's/^/# /' "$LOGDIR/build"
	build_clean "$out"
	static_result "W=1 and sparse build for $release" "$ok"
	# dkms.conf as a test machine uses it: dkms build and install in the
	# build root (the newest kernel's guest does it with vmtest.sh -D).
	if [ "$k" != "$newest" ]; then
		ok=0
		(dkms_build "$release" "$root" >/dev/null) 2>"$LOGDIR/dkms" || ok=1
		[ "$ok" -eq 0 ] || sed 's/^/# /' "$LOGDIR/dkms"
		static_result "dkms build and install for $release" "$ok"
	fi
done

# Every guest also runs the installed kselftest tree with the series' own
# run_kselftest.sh (vmtest.sh -i), these programs of it, 6 to 12 s; the
# newest kernel's guest loads the module dkms built with modprobe (-D).
KSFT_TESTS=${MMPROBE_KSFT_TESTS:-mmprobe:module mmprobe:permissions mmprobe:gup_test_compat mmprobe:notify mmprobe:huge_zero}

for k in "$@"; do
	log "running the suite on $k"
	rc=0
	opts=-i
	[ "$k" = "$newest" ] && opts="-i -D"
	MMPROBE_KSFT_TESTS=$KSFT_TESTS "$MMPROBE_TOP/scripts/vmtest.sh" -k "$k" $opts \
		2>"$LOGDIR/err-$k" | tee "$LOGDIR/ktap-$k" || rc=$?
	cat "$LOGDIR/err-$k" >&2
	# Host independence, checked before the guest boots: every file of
	# the initramfs is its build root's (or kernel package's) copy.
	ok=0
	grep -q '^mmprobe: initramfs: [0-9]* files checked, 0 differ' \
		"$LOGDIR/err-$k" || ok=1
	static_result "initramfs of $k: every file its build root's copy" "$ok"
	tally "kernel $k" "$rc" <"$LOGDIR/ktap-$k"
	# The installed tree's own KTAP, as run_kselftest.sh printed it.
	tally "kernel $k, run_kselftest.sh" 0 < <(sed -n 's/^# ksft: //p' "$LOGDIR/ktap-$k")
done

echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
