#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# soak.sh: the test command behind "make soak": the whole suite N times on
# every kernel, then once more under a background load (vmtest.sh -L), and
# every test case that failed at least once.
#
#   scripts/soak.sh [-n N] [KERNEL...]     default: N=5, every kernel
#
# After each run a line "# kernel K, run I of N: P passed, F failed, S
# skipped (...)" and the diagnostics of each case that failed in it. At the
# end, for each case that failed at least once on a kernel:
#   flaky: KERNEL PROGRAM: CASE: failed F of R runs (L under load)
# and last "N runs, N flaky cases". A program that crashed, timed out or
# left a kernel splat is a case of its own ("PROGRAM: (exit=N)", ...), and
# so is a run that failed outside any program ("(vmtest.sh exit N)").
# Exit 0 when no case failed, 1 otherwise, 2 on a usage error.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

RUNS_PER_KERNEL=5

usage()
{
	cat <<EOF >&2
Usage: $0 [-n N] [KERNEL...]

  -n N     runs of the whole suite per kernel (default $RUNS_PER_KERNEL), each
           kernel then gets one more run under background load
  KERNEL   kernel series ($MMPROBE_KERNELS_ALL; default all)
EOF
	exit 2
}

while getopts "n:h" opt; do
	case "$opt" in
	n) RUNS_PER_KERNEL=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
case "$RUNS_PER_KERNEL" in
''|*[!0-9]*|0) usage ;;
esac
[ $# -gt 0 ] || set -- $MMPROBE_KERNELS_ALL
for k in "$@"; do
	series_suite "$k" >/dev/null
done
[ "$(id -u)" -eq 0 ] || die "make soak needs root (debootstrap, chroot, QEMU)"

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-soak.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT
trap 'exit 130' INT TERM

# The cases that failed in one run's KTAP (stdin), one per line as
# "C<tab>PROGRAM: CASE", and the last lines of each as "D<tab>LINE".
soak_failed_cases()
{
	local rc=$1

	awk -v rc="$rc" '
	# The last 40 lines of a case, kept in a ring.
	function flush_diag(   i) {
		for (i = nbuf > 40 ? nbuf - 40 : 0; i < nbuf; i++)
			print "D\t" buf[i % 40]
		nbuf = 0
	}
	/^# selftests: mmprobe: / { prog = $4; nfail = 0; nbuf = 0; next }
	/^# (not )?ok [0-9]+ / {
		if ($2 == "not") {
			name = $0
			sub(/^# not ok [0-9]+ /, "", name)
			sub(/ # .*$/, "", name)
			print "C\t" prog ": " name
			buf[nbuf++ % 40] = $0
			flush_diag()
			nfail++
			any = 1
		}
		nbuf = 0
		next
	}
	/^# / { buf[nbuf++ % 40] = $0; next }
	/^not ok [0-9]+ selftests: mmprobe: / {
		p = $6
		why = $0
		if (!sub(/^[^#]* # /, "", why))
			why = ""
		# A crash, timeout or splat is a case of its own; plain
		# "exit=1" after failed cases says nothing more.
		if (p == "unload" || p == "kmemleak") {
			print "C\t" p
			flush_diag()
		} else if (!nfail || why !~ /^exit=1$/) {
			print "C\t" p ": (" (why == "" ? "failed" : why) ")"
			flush_diag()
		}
		any = 1
	}
	END { if (!any && rc != 0) print "C\t(vmtest.sh exit " rc ")" }'
}

TAB=$(printf '\t')
RUNS=0
for k in "$@"; do
	for i in $(seq 1 $((RUNS_PER_KERNEL + 1))); do
		if [ "$i" -le "$RUNS_PER_KERNEL" ]; then
			load=""
			what="run $i of $RUNS_PER_KERNEL"
		else
			load="-L"
			what="run under load"
		fi
		log "kernel $k: $what"
		start=$(date +%s)
		rc=0
		"$MMPROBE_TOP/scripts/vmtest.sh" -k "$k" $load >"$LOGDIR/ktap" \
			2>"$LOGDIR/stderr" || rc=$?
		RUNS=$((RUNS + 1))
		read -r p f s < <(ktap_counts <"$LOGDIR/ktap")
		echo "# kernel $k, $what: $p passed, $f failed, $s skipped" \
			"(vmtest.sh exit $rc, $(($(date +%s) - start)) s)"
		soak_failed_cases "$rc" <"$LOGDIR/ktap" >"$LOGDIR/cases"
		sed -n "s|^D$TAB|# $k $what: |p" "$LOGDIR/cases"
		[ "$rc" -lt 2 ] || sed "s/^/# $k $what: /" "$LOGDIR/stderr" | tail -n 20
		sed -n "s|^C$TAB|$k${load:+ L}$TAB|p" "$LOGDIR/cases" >>"$LOGDIR/failures"
	done
done

# "KERNEL[ L]<tab>CASE" lines: count each kernel's case, and its loaded runs.
touch "$LOGDIR/failures"
FLAKY=$(awk -F '\t' -v runs=$((RUNS_PER_KERNEL + 1)) '
	{
		split($1, k, " ")
		key = k[1] " " $2
		if (!(key in n))
			order[nkeys++] = key
		n[key]++
		if (k[2] == "L")
			loaded[key]++
	}
	END {
		for (i = 0; i < nkeys; i++) {
			key = order[i]
			printf "flaky: %s: failed %d of %d runs (%d under load)\n",
			       key, n[key], runs, loaded[key]
		}
	}' "$LOGDIR/failures")
[ -z "$FLAKY" ] || echo "$FLAKY"
NR_FLAKY=$(echo -n "$FLAKY" | grep -c '^flaky:' || true)
echo "$RUNS runs, $NR_FLAKY flaky cases"
[ "$NR_FLAKY" -eq 0 ]
