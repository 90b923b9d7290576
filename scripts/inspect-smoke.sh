#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# inspect-smoke.sh: a quick check of a guest without the selftests, for
# "vmtest.sh -f scripts/inspect-smoke.sh -- sh inspect-smoke.sh" (make
# check's arm64 guest). It reads the version; inspects init's stack (init
# waits for this command, so its pages stay put) and checks each entry's
# PFN against /proc/1/pagemap and the addresses a page apart (smaps'
# KernelPageSize); and audits every process, which must find no violation.
# Exit 1 at the first disagreement, saying which.

set -e
D=/sys/kernel/debug/mmprobe

cat "$D/version"
page=$(( $(grep -m1 KernelPageSize /proc/1/smaps | tr -s ' ' | cut -d' ' -f2) * 1024 ))
# shellcheck disable=SC2046 # start and end of the stack, one a word
set -- $(grep '\[stack\]' /proc/1/maps | tr '-' ' ')
exec 3<>"$D/inspect"
echo "1 0x$1 0x$2" >&3
cat <&3 >/tmp/report
exec 3>&-
n=0
prev=0
# shellcheck disable=SC2034 # rest: the entry's other keys
while read -r addr level kind pfn rest; do
	if [ "$level $kind" != "pte anon" ]; then
		echo "not an anon PTE: $addr $level $kind"
		exit 1
	fi
	pm=$(dd if=/proc/1/pagemap bs=8 skip=$(( addr / page )) count=1 2>/dev/null | od -An -tu8)
	if [ $(( ${pfn#pfn=} )) -ne $(( pm & 0x7fffffffffffff )) ]; then
		echo "$addr: inspect says ${pfn#pfn=}, pagemap $(( pm & 0x7fffffffffffff ))"
		exit 1
	fi
	if [ "$prev" -ne 0 ] && [ $(( (addr - prev) % page )) -ne 0 ]; then
		echo "$addr: not a page after $prev"
		exit 1
	fi
	prev=$(( addr ))
	n=$(( n + 1 ))
done </tmp/report
if [ "$n" -eq 0 ]; then
	echo "no entry in init's stack"
	exit 1
fi
echo "inspect-smoke: $n entries of init's stack, $page-byte pages, each PFN as pagemap says"
exec 3<>"$D/audit"
echo all >&3
cat <&3 >/tmp/audit
exec 3>&-
cat /tmp/audit
grep -q ' violations=0 ' /tmp/audit
