#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# report.sh: the behaviour report of several kernels side by side.
#
#   scripts/report.sh [-o FILE.html] [KERNEL...]   ("make report KERNELS=...")
#
# Runs the report ("report --format=tsv") in a guest of each kernel, one after
# the other, with scripts/vmtest.sh; prints one Markdown table with a column
# per kernel on stdout and writes the same table as a self-contained HTML
# page (default mmprobe-report.html), where cells that differ between
# kernels and failed rows stand out and every cell carries its evidence.
#
# Exit: 0 when every kernel gave its whole report (failed rows are findings,
# not errors); 1 when a kernel's report is missing or incomplete, or its
# guest reported a kernel splat; 2 on usage or preparation errors.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

HTML=mmprobe-report.html

usage()
{
	echo "Usage: $0 [-o FILE.html] [KERNEL...] (kernels: $MMPROBE_KERNELS_ALL $MMPROBE_KERNELS_ARM64)" >&2
	exit 2
}

while getopts "o:h" opt; do
	case "$opt" in
	o) HTML=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
# shellcheck disable=SC2086 # the kernels, one a word
[ $# -gt 0 ] || set -- $MMPROBE_KERNELS_ALL
for k in "$@"; do
	kernel_series "$k" >/dev/null
done
[ "$(id -u)" -eq 0 ] || die "report.sh needs root (it boots guests with vmtest.sh)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mmprobe-report.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# "# KERNEL: GROUP: N rows[, N fail]" for each group of report rows (the
# key up to its first dot) of a guest's TSV (stdin), as it comes.
report_progress()
{
	awk -F '\t' -v k="$1" '
	function flush() {
		if (group != "")
			printf "# %s: %s: %d rows%s\n", k, group, rows,
			       bad ? ", " bad " fail" : ""
		fflush()
	}
	/^[a-z0-9_]+\.[a-z0-9_.]+\t/ {
		g = $1
		sub(/\..*/, "", g)
		if (g != group) {
			flush()
			group = g; rows = 0; bad = 0
		}
		rows++
		if ($3 == "fail" || $3 == "error")
			bad++
	}
	/^#end\t/ { flush(); group = ""; printf "# %s: %s\n", k, $2 }
	END { flush() }'
}

# One guest per kernel, one at a time. vmtest.sh exits 1 when the report
# had a failed row: whether the report is whole is told by its "#end" line.
rc=0
for k in "$@"; do
	log "running the report on $k"
	vrc=0
	# Progress on stderr as the guest prints: the runner's own lines, and
	# one line per group of rows ("# 6.1: huge_zero: 12 rows, 1 fail").
	"$MMPROBE_TOP/scripts/vmtest.sh" -k "$k" -- ./report --format=tsv \
		2> >(tee "$WORK/err-$k" >&2) | tee "$WORK/out-$k" |
		report_progress "$k" >&2 || vrc=$?
	{
		grep -E $'^(#report|#title|#end)\t|^[a-z0-9_]+\\.[a-z0-9_.]+\t' \
			"$WORK/out-$k" || true
		if ! grep -q $'^#end\t' "$WORK/out-$k"; then
			echo "#note	no complete report (vmtest.sh exit $vrc)"
			tail -n 5 "$WORK/err-$k" | sed 's/^/#note	/'
			rc=1
		fi
		if grep -q '^# mmprobe-vm: splat' "$WORK/out-$k"; then
			grep '^# mmprobe-vm: splat' "$WORK/out-$k" | sed 's/^# /#note	/'
			rc=1
		fi
	} >"$WORK/$k.tsv"
	[ "$vrc" -le 1 ] || log "vmtest.sh -k $k exited $vrc"
done

# Merge: rows in the order the first kernel that has them prints them.
# Input: for each kernel, "KERNEL<TAB>" before each of its lines.
for k in "$@"; do
	sed "s/^/$k	/" "$WORK/$k.tsv"
done >"$WORK/all"

# shellcheck disable=SC2016 # awk's own $fields
AWK_MERGE='
BEGIN { FS = "\t"; nk = split(kernels, K, " ") }
$2 == "#title" { if (!($3 in title)) title[$3] = $4; next }
$2 == "#end" { summary[$1] = $3; next }
$2 == "#note" { note[$1] = note[$1] (note[$1] == "" ? "" : "\n") $3; next }
$2 ~ /^#/ { next }
{
	key = $2
	if (!(key in seen)) { seen[key] = 1; order[++n] = key }
	val[key, $1] = $3; verdict[key, $1] = $4; ev[key, $1] = $5
}
# Do the cells of a row differ between the kernels that have one? (The
# release always does.)
function differs(key,    i, first, v) {
	if (key == "version.release")
		return 0
	first = ""
	for (i = 1; i <= nk; i++) {
		if (!((key, K[i]) in val))
			continue
		v = val[key, K[i]] "/" verdict[key, K[i]]
		if (first == "")
			first = v
		else if (v != first)
			return 1
	}
	return 0
}
'

# The Markdown table on stdout.
awk -v kernels="$*" "$AWK_MERGE"'
function md(s) { gsub(/\|/, "\\|", s); return s }
END {
	printf "| behaviour |"
	for (i = 1; i <= nk; i++) printf " %s |", K[i]
	printf "\n|---|"
	for (i = 1; i <= nk; i++) printf "---|"
	printf "\n"
	for (j = 1; j <= n; j++) {
		key = order[j]
		printf "| %s%s |", md(key in title ? title[key] : key),
		       differs(key) ? " (differs)" : ""
		for (i = 1; i <= nk; i++) {
			if (!((key, K[i]) in val)) { printf " - |"; continue }
			v = verdict[key, K[i]]
			if (index(val[key, K[i]], v ":") == 1)	# "unavailable: ..."
				printf " %s |", md(val[key, K[i]])
			else
				printf " %s (%s) |", md(val[key, K[i]]),
				       v == "fail" || v == "error" ? "**" v "**" : v
		}
		printf "\n"
	}
	printf "\n"
	for (i = 1; i <= nk; i++) {
		printf "%s: %s\n", K[i], K[i] in summary ? summary[K[i]] : "no report"
		if (K[i] in note) {
			s = note[K[i]]; gsub(/\n/, "\n    ", s)
			printf "    %s\n", s
		}
	}
}' "$WORK/all"

# The same table as a page that needs nothing but itself.
awk -v kernels="$*" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" "$AWK_MERGE"'
function h(s) {
	gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s)
	gsub(/"/, "\\&quot;", s); return s
}
END {
	print "<!DOCTYPE html>"
	print "<html lang=\"en\"><head><meta charset=\"utf-8\">"
	print "<title>mmprobe behaviour report</title>"
	print "<style>"
	print "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
	print "table{border-collapse:collapse}"
	print "th,td{border:1px solid #bbb;padding:.35em .6em;vertical-align:top;text-align:left}"
	print "th{background:#eee}"
	print "td.key{font-family:monospace;font-size:12px;color:#555}"
	print "tr.differs td.cell{background:#fff3c4}"
	print "tr.differs td.name{font-weight:bold}"
	print "td.fail,tr.differs td.fail,td.error,tr.differs td.error{background:#f8c9c4}"
	print "td.unavailable{color:#888}"
	print ".v{font-size:11px;font-weight:bold;text-transform:uppercase;padding:0 .3em;border-radius:3px}"
	print ".pass{color:#1a6b1a}.fail .v,.error .v{color:#a00}.observed .v{color:#335}"
	print "details{font-size:12px;color:#444;max-width:32em}"
	print "summary{cursor:pointer;color:#777}"
	print ".legend span{display:inline-block;padding:0 .5em;margin-right:1em;border:1px solid #bbb}"
	print "</style></head><body>"
	print "<h1>mmprobe behaviour report</h1>"
	printf "<p>Generated %s. One row per behaviour, one column per kernel.</p>\n", h(date)
	print "<p class=\"legend\"><span style=\"background:#fff3c4\">differs between kernels</span>"
	print "<span style=\"background:#f8c9c4\">fail or error</span></p>"
	printf "<table>\n<tr><th>behaviour</th><th>key</th>"
	for (i = 1; i <= nk; i++) printf "<th>%s</th>", h(K[i])
	print "</tr>"
	for (j = 1; j <= n; j++) {
		key = order[j]
		printf "<tr%s><td class=\"name\">%s</td><td class=\"key\">%s</td>",
		       differs(key) ? " class=\"differs\"" : "",
		       h(key in title ? title[key] : key), h(key)
		for (i = 1; i <= nk; i++) {
			if (!((key, K[i]) in val)) { print "<td class=\"cell\">-</td>"; continue }
			v = verdict[key, K[i]]
			printf "<td class=\"cell %s\">%s <span class=\"v\">%s</span>", h(v),
			       h(val[key, K[i]]), h(v)
			if (ev[key, K[i]] != "")
				printf "<details><summary>evidence</summary>%s</details>",
				       h(ev[key, K[i]])
			print "</td>"
		}
		print "</tr>"
	}
	print "</table>"
	print "<h2>Per kernel</h2><ul>"
	for (i = 1; i <= nk; i++) {
		printf "<li><b>%s</b>: %s", h(K[i]), h(K[i] in summary ? summary[K[i]] : "no report")
		if (K[i] in note) printf "<pre>%s</pre>", h(note[K[i]])
		print "</li>"
	}
	print "</ul></body></html>"
}' "$WORK/all" >"$HTML"
log "wrote $HTML"
exit "$rc"
