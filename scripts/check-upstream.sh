#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-upstream.sh: the command behind "make check-upstream". Runs the
# kernel's own GUP selftests (cow, gup_longterm, gup_test) on Debian kernels,
# which lack CONFIG_GUP_TEST, before and after mmprobe provides
# /sys/kernel/debug/gup_test; and hmm-tests, which needs CONFIG_TEST_HMM,
# against mmprobe's dmirror devices (Documentation/hmm.rst) in both phases,
# skipped with mmprobe's reason where the kernel has no CONFIG_HMM_MIRROR.
# Where the devices have no device-private memory (no
# CONFIG_DEVICE_PRIVATE: Debian 6.1, 6.12) the cases that need it fail,
# and count as known failures (known_failures()).
#
#   scripts/check-upstream.sh [-m] [-T SECONDS] [-p PROGRAMS] [-B DIR] [KERNEL...]
#
#   -m          also run gup_test over the matrix of run_vmtests.sh -a
#               (THP on/off and hugetlb, every command, R/O and R/W, private
#               and shared, 1/512/123/all pages per call): 240 runs a phase
#   -T SECONDS  timeout for each program (default 1800)
#   -p PROGRAMS the programs to run, blank-separated (default
#               "cow gup_longterm gup_test hmm-tests")
#   -B DIR      only build the programs, into DIR/KERNEL/, and run nothing
#
# For each kernel series: the series' linux-source package is extracted once
# into its build root (root-<suite>/upstream/<series>/src, kept until the
# package version changes), "make headers_install" runs there, and the three
# programs are linked statically. A series whose tree lacks a program (6.1
# has neither cow nor gup_longterm) takes it from the next series of the same
# build root, and says so. Then one guest runs every program twice: "before"
# with mmprobe loaded as gup_test=0 (the stock kernel), "after" with
# mmprobe's gup_test. gup_test runs with the arguments the series'
# run_vmtests.sh gives it.
#
# Output: each phase's KTAP, then per kernel and phase a line for each
# known failure (see known_failures(): keyed on what the guest measured),
#   # kernel K PHASE: XFAIL: PROGRAM: TEST: REASON
# and a line
#   # kernel K PHASE: P passed, F failed, X xfail, S skipped (N "gup_test not available", K known failures)
# where xfail counts the programs' own expected failures and the known
# failures (K of X): real kernel failures, never passes. At the end one line
# for all "after" phases. Exit 0 when no "after" phase has a failure other
# than an expected one or a "gup_test not available" skip, 1 otherwise, 2
# when preparing or building failed.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

PROGRAMS="cow gup_longterm gup_test hmm-tests"
MATRIX=0
BUILD_ONLY=
PROG_TIMEOUT=1800
# What upstream prints when /sys/kernel/debug/gup_test is missing.
NOT_AVAILABLE='gup_test not available|CONFIG_GUP_TEST'

usage()
{
	sed -n 's/^#   \{0,1\}//p' "$0" | sed -n '/^scripts/,/^-T/p' >&2
	exit 2
}

while getopts "mT:p:B:h" opt; do
	case "$opt" in
	m) MATRIX=1 ;;
	T) PROG_TIMEOUT=$OPTARG ;;
	p) PROGRAMS=$OPTARG ;;
	B) BUILD_ONLY=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- $MMPROBE_KERNELS_ALL
[ "$(id -u)" -eq 0 ] || die "check-upstream.sh needs root (chroot, QEMU)"
need_host_tools

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-upstream.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT

# Packages the programs need in the build root; liburing-dev lets cow and
# gup_longterm test io_uring fixed buffers instead of skipping them.
UPSTREAM_PACKAGES="liburing-dev rsync"

root_install()
{
	local root=$1 p missing=""

	shift
	for p in "$@"; do
		in_root "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing in $(basename "$root"):$missing"
	in_root "$root" apt-get install -y -q -o DPkg::Lock::Timeout=600 \
		--no-install-recommends $missing >/dev/null ||
		die "could not install$missing in $root"
}

# The series' full tree with its user-space headers installed, extracted
# once per linux-source version. Prints its path inside the root.
upstream_tree()
{
	local series=$1 root=$2 dir=/upstream/$1 ver tarball cc

	exec 8>"$MMPROBE_CACHE/upstream-$series.lock"
	flock 8
	root_install "$root" "linux-source-$series"
	ver=$(in_root "$root" dpkg-query -W -f='${Version}' "linux-source-$series")
	if [ "$(cat "$root$dir/.mmprobe-upstream" 2>/dev/null)" != "$ver" ]; then
		log "extracting linux-source-$series $ver (about a minute)"
		tarball=$(ls "$root"/usr/src/linux-source-"$series".tar.* | head -n 1)
		rm -rf "$root$dir"
		mkdir -p "$root$dir/src"
		tar -xf "$tarball" -C "$root$dir/src" --strip-components=1 ||
			die "could not extract $tarball"
		cc=$(suite_compiler "$(series_suite "$series")")
		in_root "$root" make -C "$dir/src" HOSTCC="$cc" CC="$cc" headers_install \
			>"$root$dir/headers.log" 2>&1 ||
			die "headers_install failed, see $root$dir/headers.log"
		echo "$ver" >"$root$dir/.mmprobe-upstream"
	fi
	exec 8>&-
	echo "$dir"
}

# The directory of the mm selftests in a tree: vm/ until v6.3, then mm/.
mm_dir()
{
	local root=$1 tree=$2 d

	for d in mm vm; do
		[ -d "$root$tree/src/tools/testing/selftests/$d" ] &&
			{ echo "$tree/src/tools/testing/selftests/$d"; return 0; }
	done
	die "no mm selftests in $root$tree"
}

# Build one program statically in the tree that has it, from $series on
# within the same build root; copy it to $2. Prints the series used.
build_program()
{
	local series=$1 out=$2 prog=$3 root=$4 s found="" tree dir cc

	cc=$(suite_compiler "$(series_suite "$series")")
	for s in $MMPROBE_KERNELS_ALL; do
		[ -z "$found" ] && [ "$s" != "$series" ] && continue
		found=1
		[ "$(series_suite "$s")" = "$(series_suite "$series")" ] || break
		tree=$(upstream_tree "$s" "$root")
		dir=$(mm_dir "$root" "$tree")
		[ -f "$root$dir/$prog.c" ] || continue
		in_root "$root" make -C "$dir" CC="$cc" LDFLAGS=-static \
			"$dir/$prog" >"$LOGDIR/build-$series-$prog.log" 2>&1 || {
			cat "$LOGDIR/build-$series-$prog.log" >&2
			die "building $prog from linux-source-$s failed"
		}
		cp "$root$dir/$prog" "$out/$prog"
		echo "$s"
		return 0
	done
	echo ""
}

# The gup_test runs of the series' run_vmtests.sh (not its -a matrix).
gup_test_args()
{
	local root=$1 dir=$2

	sed -n 's/.*run_test \.\/gup_test \(-.*\)$/\1/p' "$root$dir/run_vmtests.sh"
	[ "$MATRIX" -eq 1 ] || return 0
	for huge in -t -T "-H -m 256"; do
		for cmd in -u -U -a -b -L; do
			for write in -w -W; do
				for share in -S ""; do
					for num in "-n 1" "-n 512" "-n 123" "-n -1"; do
						echo "$huge $cmd $write $share $num" |
							tr -s ' '
					done
				done
			done
		done
	done
}

# The guest side: both phases, each a KTAP document.
cat >"$LOGDIR/upstream-run.sh" <<'EOF'
#!/bin/sh
# Runs in the guest, in /mmprobe: upstream.list has one program and its
# arguments per line.
T=$(cat upstream.timeout)
phase()
{
	echo "# mmprobe-upstream: phase $1"
	./mmprobe-load -r mmprobe
	if ! ./mmprobe-load /mmprobe/mmprobe.ko "gup_test=$2"; then
		echo "Bail out! mmprobe gup_test=$2 did not load"
		return
	fi
	echo "TAP version 13"
	echo "1..$(grep -c . upstream.list)"
	# Whether the dmirror devices have device memory, as mmprobe says.
	sed -n 's/^device_private=/# mmprobe-upstream: measured device_private=/p' \
		/sys/kernel/debug/mmprobe/hmm
	echo "# mmprobe gup_test=$2: $(tr '\n' ' ' </sys/kernel/debug/mmprobe/gup_test)"
	n=0
	while read -r prog args; do
		n=$((n + 1))
		name="$prog${args:+ $args}"
		echo "# selftests: mm: $name"
		# hmm-tests needs mmprobe's dmirror devices, which a kernel
		# without CONFIG_HMM_MIRROR cannot have: as mmprobe says
		# (Documentation/hmm.rst), a skip with its reason.
		if [ "$prog" = hmm-tests ] &&
		   ! grep -q '^devices=[1-9]' /sys/kernel/debug/mmprobe/hmm; then
			why=$(sed -n 's/^reason=//p' /sys/kernel/debug/mmprobe/hmm)
			echo "ok $n selftests: mm: $name # SKIP ${why:-no /dev/hmm_dmirror0}"
			continue
		fi
		t0=$(cut -d. -f1 /proc/uptime)
		# A run of one line repeated is printed once and counted (6.1's
		# harness can repeat a failed teardown assertion until the test's
		# timeout: tens of thousands of lines).
		( timeout -s KILL "$T" "./$prog" $args </dev/null; echo $? >/tmp/rc ) 2>&1 |
			awk '
			NR > 1 && $0 == prev { n++; next }
			n { print "# # (the line above repeated " n " more times)"; n = 0 }
			{ print "# " $0; prev = $0; fflush() }
			END { if (n) print "# # (the line above repeated " n " more times)" }'
		rc=$(cat /tmp/rc)
		echo "# $name: exit $rc after $(( $(cut -d. -f1 /proc/uptime) - t0 )) s"
		case $rc in
		0) echo "ok $n selftests: mm: $name" ;;
		4) echo "ok $n selftests: mm: $name # SKIP" ;;
		137) echo "not ok $n selftests: mm: $name # TIMEOUT $T seconds" ;;
		*) echo "not ok $n selftests: mm: $name # exit=$rc" ;;
		esac
	done <upstream.list
	echo "# mmprobe stats: $(grep '^gup_test\|^errors' /sys/kernel/debug/mmprobe/stats | tr '\n' ' ')"
	echo "# mmprobe gup_test: $(tr '\n' ' ' </sys/kernel/debug/mmprobe/gup_test)"
}
# Two free hugetlb pages of every size, as run_vmtests.sh sets up for 2 MiB:
# 6.12's cow and gup_longterm need two per size and allocate none (7.3's
# allocate them themselves). 1 GiB pages come from the boot command line
# (MMPROBE_VM_HUGEPAGES_1G=2 below): a second one can rarely be allocated
# once the guest runs.
for d in /sys/kernel/mm/hugepages/hugepages-*; do
	free=$(cat "$d/free_hugepages")
	[ "$free" -ge 2 ] ||
		echo $(( $(cat "$d/nr_hugepages") + 2 - free )) >"$d/nr_hugepages"
	echo "# hugetlb ${d##*-}: $(cat "$d/free_hugepages") free of $(cat "$d/nr_hugepages")"
done
# What the known failures depend on, measured by mmprobe's experiments
# (selftests/behaviour.c, the report's capability rows), never assumed from
# the series: "# mmprobe-upstream: measured NAME=0|1".
./report --format=tsv --only=capability. | awk -F'\t' '
$1 !~ /^#/ {
	name = $1; sub(/^capability[.]/, "", name)
	v = $2; sub(/:.*/, "", v)
	print "# mmprobe-upstream: measured " name "=" v
}'
phase before 0
phase after 1
echo "# mmprobe-upstream: end"
EOF

# Failures that are expected of a kernel, each with its reason: those its
# own tree cannot show because the program comes from a newer series,
# naming the upstream fix the kernel lacks, and the hmm-tests cases that
# need device memory where mmprobe's devices have none. Fields: the
# behaviour the guest measured that makes it expected ("NAME=VALUE" of a
# "measured" line), program, ERE on the test's "[RUN]" line (cow's style)
# or on its name ("not ok N NAME", the harness's), reason (tab-separated).
# A kernel that measures otherwise (the fix backported, device memory
# there) counts those tests as failures again.
known_failures()
{
	printf '%s\t%s\t%s\t%s\n' \
		longterm_ro_unshare=0 cow 'R/O longterm GUP(-fast)? pin [.][.][.] with (shared zeropage|memfd|tmpfile|huge zeropage|memfd hugetlb)' \
		'a R/O FOLL_LONGTERM pin in a private mapping of non-anonymous memory does not break COW before 6.2 ("mm/gup: reliable R/O long-term pinning in COW mappings")' \
		device_private=0 hmm-tests '^hmm2?[.]hmm2?_device_private[.](migrate|migrate_file_private|migrate_fault|migrate_release|migrate_shared|migrate_multiple|migrate_mixed|exclusive|exclusive_mprotect|exclusive_cow|hmm_gup_test|hmm_cow_in_device|snapshot|double_map)$' \
		'needs device-private memory (MIGRATE_TO_DEV or EXCLUSIVE: EOPNOTSUPP), which the kernel cannot have: built without CONFIG_DEVICE_PRIVATE'
}

# The failed test cases of a phase (file $2) that known_failures() lists
# under a behaviour the guest measured (its KTAP, file $1).
phase_known()
{
	local ktap=$1 f=$2

	awk -F'\t' -v ktap="$ktap" '
	NR == FNR { cond[++nc] = $1; cprog[nc] = $2; cre[nc] = $3; cwhy[nc] = $4; next }
	FILENAME == ktap {
		if (!sub(/^# mmprobe-upstream: measured /, ""))
			next
		for (i = 1; i <= nc; i++)
			if (cond[i] == $0) { re[++n] = cre[i]; prog[n] = cprog[i]; why[n] = cwhy[i] }
		next
	}
	/^# selftests: mm: / { split($0, w, " "); cur = w[4] }
	/^# # \[RUN\] / { run = substr($0, 11) }
	/^# not ok [0-9]+ / {
		name = $0
		sub(/^# not ok [0-9]+ /, "", name)
		for (i = 1; i <= n; i++)
			if (prog[i] == cur && (run ~ re[i] || name ~ re[i])) {
				print cur ": " (run ~ re[i] ? run : name) ": " why[i]
				break
			}
	}' <(known_failures) "$ktap" "$f"
}

# The programs' own expected failures in a phase: the xfail of each
# "# Totals:" line that ktap_counts() counts (one followed by the program's
# result), which ktap_counts() adds to the passes.
phase_own_xfail()
{
	awk '
	/^# # Totals: / {
		x = 0
		for (i = 4; i <= NF; i++) {
			split($i, kv, ":")
			if (kv[1] == "xfail")
				x = kv[2]
		}
		next
	}
	/^(not )?ok [0-9]+ / { n += x; x = 0 }
	END { print n + 0 }' "$1"
}

# Count one phase's KTAP: "pass fail xfail skip not_available known". A
# program's own test cases count (its "# Totals:" line); a program without
# them counts as one, by its exit status. Expected failures are neither
# passes nor failures: the programs' own xfail, and the known failures,
# which are real failures of this kernel with a reason.
phase_counts()
{
	local ktap=$1 f=$2 na k x p fl s

	na=$(grep -Ec "^# .*($NOT_AVAILABLE)" "$f" || true)
	k=$(phase_known "$ktap" "$f" | wc -l)
	x=$(phase_own_xfail "$f")
	read -r p fl s < <(ktap_counts <"$f")
	echo "$((p - x)) $((fl - k)) $((x + k)) $s $na $k"
}

TOTAL_P=0
TOTAL_F=0
TOTAL_X=0
TOTAL_S=0
TOTAL_NA=0
rc=0
for k in "$@"; do
	suite=$(series_suite "$k")
	root=$(prepare_root "$suite")
	release=$(resolve_release "$k" "$root")
	[ -n "$release" ] || release=$(cat "$MMPROBE_CACHE/release-$k" 2>/dev/null) ||
		die "no Debian kernel of series $k"
	fetch_kernel "$release" "$root"
	root_install "$root" $UPSTREAM_PACKAGES

	out=$LOGDIR/$k
	mkdir -p "$out"
	: >"$out/upstream.list"
	files=()
	for prog in $PROGRAMS; do
		from=$(build_program "$k" "$out" "$prog" "$root")
		if [ -z "$from" ]; then
			echo "# kernel $k: no $prog in linux-source-$k or a later series of $suite"
			continue
		fi
		[ "$from" = "$k" ] ||
			echo "# kernel $k: $prog from linux-source-$from (linux-source-$k has none)"
		files+=(-f "$out/$prog")
		if [ "$prog" = gup_test ]; then
			gup_test_args "$root" "$(mm_dir "$root" "/upstream/$from")" |
				sed 's/^/gup_test /' >>"$out/upstream.list"
		else
			echo "$prog" >>"$out/upstream.list"
		fi
	done
	echo "$PROG_TIMEOUT" >"$out/upstream.timeout"
	if [ -n "$BUILD_ONLY" ]; then
		mkdir -p "$BUILD_ONLY/$k"
		cp "$out"/* "$BUILD_ONLY/$k/"
		echo "# kernel $k: built into $BUILD_ONLY/$k"
		continue
	fi

	log "running $(grep -c . "$out/upstream.list") programs twice on $k"
	vrc=0
	MMPROBE_VM_HUGEPAGES_1G=2 "$MMPROBE_TOP/scripts/vmtest.sh" -k "$k" \
		-T $(( 2 * PROG_TIMEOUT * $(grep -c . "$out/upstream.list") + 600 )) \
		"${files[@]}" -f "$out/upstream.list" -f "$out/upstream.timeout" \
		-f "$LOGDIR/upstream-run.sh" -- sh ./upstream-run.sh |
		tee "$out/ktap" || vrc=$?

	sed -n '/^# mmprobe-upstream: phase before/,/^# mmprobe-upstream: phase after/p' \
		"$out/ktap" >"$out/before"
	sed -n '/^# mmprobe-upstream: phase after/,/^# mmprobe-upstream: end/p' \
		"$out/ktap" >"$out/after"
	for phase in before after; do
		phase_known "$out/ktap" "$out/$phase" | sed "s/^/# kernel $k $phase: XFAIL: /"
		read -r p f x s na kf < <(phase_counts "$out/ktap" "$out/$phase")
		echo "# kernel $k $phase: $p passed, $f failed, $x xfail, $s skipped" \
			"($na \"gup_test not available\", $kf known failures)"
	done
	# p f x s na still hold the "after" phase.
	# A guest that did not finish, a splat or a new taint: one failure more.
	if ! grep -q '^# mmprobe-upstream: end' "$out/ktap" || [ "$vrc" -ne 0 ]; then
		echo "# kernel $k: the guest failed (vmtest.sh exit $vrc)"
		f=$((f + 1))
	fi
	TOTAL_P=$((TOTAL_P + p))
	TOTAL_F=$((TOTAL_F + f))
	TOTAL_X=$((TOTAL_X + x))
	TOTAL_S=$((TOTAL_S + s))
	TOTAL_NA=$((TOTAL_NA + na))
	[ "$f" -eq 0 ] && [ "$na" -eq 0 ] || rc=1
done

echo "after: $TOTAL_P passed, $TOTAL_F failed, $TOTAL_X xfail, $TOTAL_S skipped" \
	"($TOTAL_NA \"gup_test not available\")"
exit "$rc"
