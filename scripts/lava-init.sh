#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the initramfs scripts/lava-job.sh makes: busybox, the libraries
# of the build root, and the installed kselftest tree in /kselftest with
# mmprobe.ko. It runs the tree with the series' own run_kselftest.sh on the
# console, where LAVA's monitor parses the KTAP, then powers off.
# /kselftest/lava-tests holds the run_kselftest.sh arguments.

# shellcheck source=scripts/guest-setup.sh
. /guest-setup.sh
exec </dev/console >/dev/console 2>&1

echo "mmprobe-lava: booted $(uname -r)"
# The boot action matched the line above; give the test monitor its turn.
sleep 2
# shellcheck disable=SC2046 # the words of lava-tests are the arguments
cd /kselftest && ./run_kselftest.sh $(cat lava-tests)
echo "mmprobe-lava: done"
sync
poweroff -f
