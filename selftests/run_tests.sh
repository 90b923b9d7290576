#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh: "make run_tests" of the mmprobe collection. POSIX sh, since
# make runs its recipes with /bin/sh (dash on Debian and Ubuntu).
#
#   run_tests.sh SETTINGS PROGRAM...     (in the directory of the programs)
#
# Prints KTAP as kselftest's runner.sh does: a plan, each program's output
# as "# " diagnostics, then "ok" for exit 0, "ok ... # SKIP" for exit 4
# (KSFT_SKIP), "not ok ... # TIMEOUT N seconds" when the timeout= of
# SETTINGS (default 45, as kselftest's) killed it, "not ok ... # exit=N"
# otherwise; last a "# Totals:" line. Exits 1 when a program failed.

set -u

KSFT_PASS=0
KSFT_SKIP=4

[ $# -ge 1 ] || { echo "usage: $0 SETTINGS PROGRAM..." >&2; exit 2; }
settings=$1
shift

timeout=45
if [ -r "$settings" ]; then
	t=$(sed -n 's/^timeout=//p' "$settings")
	[ -n "$t" ] && timeout=$t
fi
# coreutils or busybox timeout; without one, no program is timed out.
tmo=""
command -v timeout >/dev/null 2>&1 && tmo="timeout -s KILL $timeout"

# The program's exit status, its output prefixed on the way to fd 4.
run_one()
{
	{ { $tmo "./$1" 2>&1; echo $? >&3; } | sed 's/^/# /' >&4; } 3>&1
}

exec 4>&1
echo "TAP version 13"
echo "1..$#"
n=0
pass=0
fail=0
skip=0
for t in "$@"; do
	n=$((n + 1))
	echo "# timeout set to $timeout"
	echo "# selftests: mmprobe: $t"
	rc=$(run_one "$t")
	case "$rc" in
	"$KSFT_PASS")
		echo "ok $n selftests: mmprobe: $t"
		pass=$((pass + 1)) ;;
	"$KSFT_SKIP")
		echo "ok $n selftests: mmprobe: $t # SKIP"
		skip=$((skip + 1)) ;;
	124|137)
		echo "not ok $n selftests: mmprobe: $t # TIMEOUT $timeout seconds"
		fail=$((fail + 1)) ;;
	*)
		echo "not ok $n selftests: mmprobe: $t # exit=$rc"
		fail=$((fail + 1)) ;;
	esac
done
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ "$fail" -eq 0 ]
