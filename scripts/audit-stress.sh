#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# audit-stress.sh: the audit's long proof, run in a guest (Documentation/
# audit.rst):
#
#   scripts/vmtest.sh -k 7.3 -f scripts/audit-stress.sh -- sh ./audit-stress.sh
#
# The audit of 1 GiB of small pages against pagemap + kpageflags (a ratio),
# then audits of every process in a loop while the stress program runs for
# 60 s. Exit 0 when no audit found a violation and stress passed; an audit
# that could not run because stress was reloading mmprobe is counted apart.
AUDIT_BENCH_MB=1024 ./audit -r audit.speed_against_pagemap 2>&1 | grep -E "ratio|ok "
MMPROBE_STRESS_SECONDS=60 ./stress >/tmp/st.log 2>&1 &
p=$!
n=0
bad=0
unloaded=0
while kill -0 "$p" 2>/dev/null; do
	./mmprobe-audit all >/tmp/a.log 2>&1
	case $? in
	0) n=$((n + 1)) ;;
	1) bad=$((bad + 1)); cat /tmp/a.log ;;
	*) unloaded=$((unloaded + 1)) ;;	# stress reloads mmprobe
	esac
done
wait "$p"
rc=$?
grep -E "Totals|pins|^ok|^not ok" /tmp/st.log | tail -5
tail -n 1 /tmp/a.log
echo "audits of all processes during stress: $n clean, $bad with violations, $unloaded while mmprobe was reloaded; stress exit $rc"
[ "$bad" -eq 0 ] && [ "$rc" -eq 0 ]
