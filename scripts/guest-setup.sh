# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# What every mmprobe initramfs /init does first (scripts/guest-init.sh for
# vmtest.sh, scripts/lava-init.sh for lava-job.sh), sourced by busybox sh
# as /guest-setup.sh: busybox's applets, the file systems the selftests
# use, and the /dev links udev makes on a real system (kselftest's
# runner.sh writes to /dev/stdout).

/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# On the devtmpfs: a directory made before it is hidden by it.
mkdir -p /dev/hugepages
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mount -t hugetlbfs hugetlbfs /dev/hugepages
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
