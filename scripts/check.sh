#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: the test command behind "make check".
#
#   scripts/check.sh [KERNEL...]     default: every kernel of the matrix
#
# Static checks (checkpatch --strict on the module sources and the
# selftests, sparse and W=1 builds and dkms build/install for every kernel),
# the runner's own tests (scripts/test-runner.sh, beside the guests), and
# the whole selftest collection in a guest of every kernel, followed in the
# same guest by part of the installed kselftest tree run by run_kselftest.sh
# (and on the newest kernel the DKMS module loaded with modprobe); each
# guest's initramfs is checked to be made of its build root's files.
#
# The kernels are prepared (build roots, kernels, the builds, which are
# cached by content) one after the other in the background, so that the
# next kernel's build runs while a guest does, and each kernel's guest
# starts as soon as it is prepared, side by side with the others
# (MMPROBE_CHECK_JOBS guests at most; default: as many as memory holds),
# the newest kernel, which runs the most, first.
# Progress is one line per kernel and test program, as the guests print
# it; a failed program's KTAP follows its line. The last line is "N passed, N failed, N skipped",
# summed over the static checks and every test case of every kernel.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2086 # the kernels, one a word
[ $# -gt 0 ] || set -- $MMPROBE_KERNELS_ALL
for k in "$@"; do
	series_suite "$k" >/dev/null
done
[ "$(id -u)" -eq 0 ] || die "make check needs root (debootstrap, chroot, QEMU)"
need_host_tools

PASS=0
FAIL=0
SKIP=0
START=$(date +%s)
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-check.XXXXXX")
PREP_PID=""
CHECKPATCH_PID=""
GUEST_PIDS=""
ARM64_PID=""
RUNNER_PID=""
# shellcheck disable=SC2317 # the EXIT trap
cleanup()
{
	local pid

	# A guest's vmtest.sh stops its QEMU and removes its files on TERM.
	for pid in $GUEST_PIDS; do
		pkill -TERM -P "$pid" 2>/dev/null || true
	done
	for pid in $ARM64_PID $RUNNER_PID; do
		pkill -TERM -P "$pid" 2>/dev/null || true
	done
	for pid in $PREP_PID $CHECKPATCH_PID $GUEST_PIDS $ARM64_PID $RUNNER_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The guests' builds are the static checks' own (sparse, W=1): one build
# per kernel and state of the sources.
export MMPROBE_BUILD_FLAGS=C=2
newest=${*: -1}

# Every guest also runs the installed kselftest tree with the series' own
# run_kselftest.sh (vmtest.sh -i), these programs of it, 6 to 12 s; the
# newest kernel's guest loads the module dkms built with modprobe (-D).
export MMPROBE_KSFT_TESTS=${MMPROBE_KSFT_TESTS:-mmprobe:module mmprobe:permissions mmprobe:gup_test_compat mmprobe:notify mmprobe:huge_zero}

vm_opts()
{
	if [ "$1" = "$newest" ]; then
		echo "-i -D"
	else
		echo "-i"
	fi
}

# Prepare one kernel: its static checks' results as "ok"/"not ok" lines in
# LOGDIR/static-K, then everything its guest needs (vmtest.sh -n), so that
# the guest's own vmtest.sh finds it all done.
prepare_kernel()
{
	local k=$1 root release src out ok what r

	root=$(prepare_root "$(series_suite "$k")")
	release=$(resolve_release "$k" "$root")
	[ -n "$release" ] || release=$(cat "$MMPROBE_CACHE/release-$k")
	fetch_kernel "$release" "$root"
	src=$(fetch_source "$k" "$root")
	# A W=1 build (warnings fail it) and sparse on every source.
	ok=0
	out=$(build_in_root "$release" "$root" "$src" "$MMPROBE_BUILD_FLAGS" \
		2>"$LOGDIR/build-$k") || ok=1
	if [ "$ok" -eq 0 ] && grep -E '\.[ch]:[0-9]+(:[0-9]+)?: (warning|error):' \
			"$out/build.log" >"$LOGDIR/sparse-$k"; then
		sed 's/^/# sparse: /' "$LOGDIR/sparse-$k"
		ok=1
	fi
	[ "$ok" -eq 0 ] || sed 's/^/# /' "$LOGDIR/build-$k"
	# Say what checked the sources: kbuild skips sparse, with only a
	# make warning, when the root's sparse is older than the kernel's
	# headers need (7.3's checker-valid.sh; Debian 13 has sparse 0.6.4).
	what="W=1 and sparse build for $release"
	if [ "$ok" -eq 0 ] && grep -q 'sparse is not available or not up to date' \
			"$out/build.log"; then
		what="W=1 build for $release (sparse not run: the $(basename "$root") root's"
		what="$what $(in_root "$root" sparse --version 2>/dev/null | cut -d' ' -f1)"
		what="$what is older than these headers need)"
	elif [ "$ok" -eq 0 ] && [ "$(grep -c '^  CHECK ' "$out/build.log")" -ne \
			"$(find "$MMPROBE_TOP/module" -name '*.c' | wc -l)" ]; then
		echo "# sparse did not check every module/*.c of $release"
		ok=1
	fi
	static_line "$what" "$ok"
	# The module cross-built for the series' arm64 kernels. Debian's
	# 6.1 arm64 kernel has no DEVICE_MIGRATION, so no migrate_vma_*()
	# for module/migrate.c.
	for r in $(cross_releases "$k" "$release"); do
		ok=0
		(cross_build "$r" "$root" >/dev/null) 2>"$LOGDIR/cross-$r" || ok=1
		[ "$ok" -eq 0 ] || sed 's/^/# /' "$LOGDIR/cross-$r"
		static_line "W=1 cross build for $r" "$ok"
	done
	# dkms.conf as a test machine uses it: dkms build and install in the
	# build root (the newest kernel's guest does it with vmtest.sh -D).
	if [ "$k" != "$newest" ]; then
		ok=0
		(dkms_build "$release" "$root" >/dev/null) 2>"$LOGDIR/dkms-$k" || ok=1
		[ "$ok" -eq 0 ] || sed 's/^/# /' "$LOGDIR/dkms-$k"
		static_line "dkms build and install for $release" "$ok"
	fi
	# shellcheck disable=SC2046 # options, one a word
	"$MMPROBE_TOP/scripts/vmtest.sh" -n -k "$k" $(vm_opts "$k") \
		>/dev/null 2>"$LOGDIR/prep-$k" || true
}

# The arm64 kernels of series K ($MMPROBE_KERNELS_ARM64) whose amd64
# kernel is RELEASE: that release in their flavour.
cross_releases()
{
	local k

	for k in $MMPROBE_KERNELS_ARM64; do
		[ "$(kernel_series "$k")" != "$1" ] || echo "${2%-amd64}-$(kernel_flavour "$k")"
	done
}

static_line()
{
	if [ "$2" -eq 0 ]; then
		echo "ok - static: $1"
	else
		echo "not ok - static: $1"
	fi
}

# Count "ok"/"not ok" static lines (stdin), and print them.
static_tally()
{
	local line

	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok - "*) PASS=$((PASS + 1)) ;;
		"not ok - "*) FAIL=$((FAIL + 1)) ;;
		esac
	done
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

# One line per test program of a guest's KTAP (stdin, as it comes):
# "# K: ok inspect (41 s, 57 passed, 0 failed, 3 skipped)", and a failed
# program's KTAP after its line.
progress()
{
	awk -v k="$1" '
	/^# selftests: mmprobe: / { n = 0; totals = "" }
	/^# # Totals: / {
		split($0, a, /[ :]+/)
		totals = sprintf(", %d passed, %d failed, %d skipped",
				 a[5] + a[9], a[7] + a[11] + a[15], a[13])
	}
	/^# mmprobe-vm: end / { took = $7 " s" }
	/^# mmprobe-vm: booted / { printf "# %s: booted %s in %s s\n", k, $4, $6; fflush() }
	{ buf[n++] = $0 }
	/^(not )?ok [0-9]+ selftests: mmprobe: / {
		bad = ($1 == "not")
		name = $0
		sub(/^(not )?ok [0-9]+ selftests: mmprobe: /, "", name)
		printf "# %s: %s %s%s\n", k, bad ? "not ok" : "ok", name,
		       took == "" ? "" : " (" took totals ")"
		if (bad)
			for (i = 0; i < n; i++)
				print "#   " buf[i]
		fflush()
		n = 0; took = ""; totals = ""
	}'
}

# The newest kernel first: its guest runs the most.
NEWEST_FIRST=$(printf '%s\n' "$@" | tac)

# Everything but the guests, in the background, one kernel after another.
for k in $NEWEST_FIRST; do
	prepare_kernel "$k" >"$LOGDIR/static-$k.tmp"
	mv "$LOGDIR/static-$k.tmp" "$LOGDIR/static-$k"
done &
PREP_PID=$!

# checkpatch --strict, from the newest kernel's source, in the background
# too; its output is kept by a hash of its input (checkpatch itself, its
# options, the files), so an unchanged tree is not checked again.
root=$(prepare_root "$(series_suite "$newest")")
src=$(fetch_source "$newest" "$root")
checkpatch()
{
	local key dir=$MMPROBE_CACHE/checkpatch

	key=$(cd "$MMPROBE_TOP" && cat "$src/scripts/checkpatch.pl" \
		"$src/scripts/spelling.txt" - "${@: -1}" <<<"$*" | sha256sum | cut -c1-16)
	if [ ! -e "$dir/$key" ]; then
		mkdir -p "$dir"
		(cd "$MMPROBE_TOP" && perl "$src/scripts/checkpatch.pl" --strict --no-tree \
			--show-types --max-line-length=100 "$@" 2>&1) >"$dir/$key.$$" || true
		mv "$dir/$key.$$" "$dir/$key"
	fi
	cat "$dir/$key"
}
sources=()
for f in "$MMPROBE_TOP"/module/*.[ch]; do
	[ "$f" = "$MMPROBE_TOP/module/compat.h" ] || sources+=("module/${f##*/}")
done
{
	# compat.h is where version tests belong, so only there are
	# LINUX_VERSION_CODE comparisons allowed.
	for f in "${sources[@]}"; do
		checkpatch -f "$f"
	done
	checkpatch --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f module/compat.h
} >"$LOGDIR/checkpatch-module" &
CHECKPATCH_PID=$!
# The selftests are user space: no u64, BIT() or strscpy() there; "volatile"
# stop flags shared by threads; ASSERT-style macros that return, as the
# harness's own; messages that contain the function's name by chance; and
# ENOSYS is what syscall() really answers. Here CHECKs fail too.
for f in "$MMPROBE_TOP"/selftests/*.[ch]; do
	checkpatch --ignore PREFER_KERNEL_TYPES,VOLATILE,BIT_MACRO,STRCPY,MACRO_WITH_FLOW_CONTROL,EMBEDDED_FUNCTION_NAME,ENOSYS \
		-f "selftests/${f##*/}"
done >"$LOGDIR/checkpatch-selftests" &
CHECKPATCH_PID="$CHECKPATCH_PID $!"

# The runner's own tests, on the newest kernel, in the background beside
# the suite's guests (its two guests are small and short); their results
# are counted after the suite's.
log "testing the runner on $newest"
(
	rc=0
	"$MMPROBE_TOP/scripts/test-runner.sh" "$newest" >"$LOGDIR/runner" 2>&1 || rc=$?
	echo "$rc" >"$LOGDIR/runner.rc"
) &
RUNNER_PID=$!

# checkpatch: errors and warnings fail, CHECKs are listed (module) or fail
# too (selftests).
for pid in $CHECKPATCH_PID; do
	wait "$pid" || true
done
CHECKPATCH_PID=""
out=$(cat "$LOGDIR/checkpatch-module")
echo "$out" | grep -E '^(ERROR|WARNING|CHECK):' | sed 's/^/# checkpatch: /' || true
ok=0
! echo "$out" | grep -qE '^(ERROR|WARNING):' || ok=1
static_tally < <(static_line "checkpatch --strict" "$ok")
out=$(cat "$LOGDIR/checkpatch-selftests")
echo "$out" | grep -E '^(ERROR|WARNING|CHECK):' | sed 's/^/# checkpatch: /' || true
ok=0
! echo "$out" | grep -qE '^(ERROR|WARNING|CHECK):' || ok=1
static_tally < <(static_line "checkpatch --strict selftests" "$ok")

# An arm64 guest of 7.3 with 16 KiB pages, in the background once 7.3 is
# prepared (its cross build is part of that): inspect against pagemap, the
# audit of every process (scripts/inspect-smoke.sh; the whole suite on
# arm64 is make check-arm64's).
case " $* " in
*" 7.3 "*)
	(
		while [ ! -e "$LOGDIR/static-7.3" ] && kill -0 "$PREP_PID" 2>/dev/null; do
			sleep 1
		done
		rc=0
		"$MMPROBE_TOP/scripts/vmtest.sh" -k 7.3-arm64-16k \
			-f "$MMPROBE_TOP/scripts/inspect-smoke.sh" -- sh inspect-smoke.sh \
			>"$LOGDIR/arm64" 2>&1 || rc=$?
		echo "$rc" >"$LOGDIR/arm64.rc"
	) &
	ARM64_PID=$!
	;;
esac

# One kernel's guest, in the background: its progress lines on stdout as
# they come, its KTAP, stderr and "EXIT SECONDS" in LOGDIR.
run_guest()
{
	local k=$1 kstart rc=0

	kstart=$(date +%s)
	# shellcheck disable=SC2046 # options, one a word
	"$MMPROBE_TOP/scripts/vmtest.sh" -k "$k" $(vm_opts "$k") 2>"$LOGDIR/err-$k" |
		tee "$LOGDIR/ktap-$k" | progress "$k" || rc=$?
	echo "$rc $(( $(date +%s) - kstart ))" >"$LOGDIR/rc-$k"
}

# The guests run side by side, as many as memory holds (each takes 6 GiB
# and QEMU's own): a guest keeps about one CPU busy under TCG (its time is
# spent in one vCPU more often than in two), so three guests on two CPUs
# take 230 s where one after the other took 400 s. MMPROBE_CHECK_JOBS=1
# runs them one after the other.
jobs=${MMPROBE_CHECK_JOBS:-$(awk '/^MemAvailable:/ { print int($2 / (7 * 1024 * 1024)) }' /proc/meminfo)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
running()
{
	local pid n=0

	for pid in $GUEST_PIDS; do
		! kill -0 "$pid" 2>/dev/null || n=$((n + 1))
	done
	echo "$n"
}
for k in $NEWEST_FIRST; do
	while [ ! -e "$LOGDIR/static-$k" ]; do
		kill -0 "$PREP_PID" 2>/dev/null || break
		sleep 1
	done
	[ -e "$LOGDIR/static-$k" ] || echo "not ok - static: preparing $k" >"$LOGDIR/static-$k"
	static_tally <"$LOGDIR/static-$k"
	[ ! -s "$LOGDIR/prep-$k" ] || ! grep -q '^mmprobe: error:' "$LOGDIR/prep-$k" ||
		sed 's/^/# prep: /' "$LOGDIR/prep-$k"
	while [ "$(running)" -ge "$jobs" ]; do
		sleep 1
	done
	log "running the suite on $k"
	run_guest "$k" &
	GUEST_PIDS="$GUEST_PIDS $!"
done
for pid in $GUEST_PIDS; do
	wait "$pid" || true
done
GUEST_PIDS=""

for k in "$@"; do
	rc=1
	took=0
	[ ! -e "$LOGDIR/rc-$k" ] || read -r rc took <"$LOGDIR/rc-$k"
	if [ "$rc" -eq 0 ]; then
		grep -E '^mmprobe: (accelerator|the guest ran)' "$LOGDIR/err-$k" |
			sed "s/^mmprobe:/mmprobe: $k:/" >&2 || true
	else
		sed "s/^/$k: /" "$LOGDIR/err-$k" >&2
	fi
	# Host independence, checked before the guest boots: every file of
	# the initramfs is its build root's (or kernel package's) copy.
	ok=0
	grep -q '^mmprobe: initramfs: [0-9]* files checked, 0 differ' \
		"$LOGDIR/err-$k" || ok=1
	static_tally < <(static_line "initramfs of $k: every file its build root's copy" "$ok")
	tally "kernel $k ($took s)" "$rc" <"$LOGDIR/ktap-$k"
	# The installed tree's own KTAP, as run_kselftest.sh printed it.
	tally "kernel $k, run_kselftest.sh" 0 < <(sed -n 's/^# ksft: //p' "$LOGDIR/ktap-$k")
done
wait "$RUNNER_PID" || true
RUNNER_PID=""
rc=$(cat "$LOGDIR/runner.rc" 2>/dev/null || echo 1)
grep -E '^(not )?ok ' "$LOGDIR/runner" | sed 's/^/# /'
[ "$rc" -eq 0 ] || grep -v '^ok ' "$LOGDIR/runner" | sed 's/^/# /'
tally "runner" "$rc" <"$LOGDIR/runner"
wait "$PREP_PID" || true
PREP_PID=""
if [ -n "$ARM64_PID" ]; then
	wait "$ARM64_PID" || true
	ARM64_PID=""
	ok=0
	[ "$(cat "$LOGDIR/arm64.rc" 2>/dev/null)" = 0 ] || ok=1
	grep -E '^inspect-smoke: [0-9]+ entries|^processes=' "$LOGDIR/arm64" | sed 's/^/# arm64: /'
	[ "$ok" -eq 0 ] || sed 's/^/# arm64: /' "$LOGDIR/arm64"
	static_tally < <(static_line "arm64 guest, 7.3 with 16 KiB pages: inspect as pagemap, audit clean" "$ok")
fi

took=$(( $(date +%s) - START ))
echo "# make check: $((took / 60)) min $((took % 60)) s"
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
