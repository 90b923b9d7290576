#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-config.sh: the kernel config fragment that mmprobe and its selftests
# need in a kernel of your own, for "scripts/vmtest.sh -K DIR".
#
#   scripts/kernel-config.sh                 print the fragment
#   scripts/kernel-config.sh -c .config      name what a .config lacks
#
# The fragment is selftests/config (what the collection needs) plus what the
# runner's guest needs to boot and set itself up (serial console, initramfs,
# devtmpfs, zram swap, an ext2-capable file system, two NUMA nodes). Merge
# it over a defconfig, as an mm developer would:
#
#   make defconfig
#   scripts/kconfig/merge_config.sh -m .config mmprobe.config
#   make olddefconfig
#
# -c exits 1 when an option of the fragment did not reach the .config
# (Kconfig drops an option whose dependencies are missing without a word).

set -ue

TOP=$(cd "$(dirname "$0")/.." && pwd)

kconfig_fragment()
{
	echo "# mmprobe: selftests/config"
	# MMU_NOTIFIER cannot be set by hand: TEST_HMM (below) selects it.
	grep '^CONFIG_' "$TOP/selftests/config" | grep -v '^CONFIG_MMU_NOTIFIER='
	cat <<FRAG
# mmprobe: what the tested code paths need
CONFIG_MODULE_UNLOAD=y
CONFIG_KSM=y
CONFIG_MEMCG=y
CONFIG_CHECKPOINT_RESTORE=y
CONFIG_PROC_PAGE_MONITOR=y
CONFIG_COMPACTION=y
CONFIG_MEMORY_HOTPLUG=y
CONFIG_MEMORY_HOTREMOVE=y
CONFIG_SPARSEMEM_VMEMMAP=y
CONFIG_DEVICE_PRIVATE=y
CONFIG_TEST_HMM=m
CONFIG_KPROBES=y
CONFIG_KALLSYMS=y
# mmprobe: the runner's guest
CONFIG_BLK_DEV_INITRD=y
CONFIG_DEVTMPFS=y
CONFIG_TMPFS=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_X86_64_ACPI_NUMA=y
CONFIG_ZRAM_BACKEND_LZO=y
CONFIG_EXT4_FS=y
CONFIG_EXT4_USE_FOR_EXT2=y
FRAG
}

if [ $# -eq 0 ]; then
	kconfig_fragment
	exit 0
fi
if [ $# -ne 2 ] || [ "$1" != -c ]; then
	echo "Usage: $0 [-c .config]" >&2
	exit 2
fi
missing=""
while read -r opt; do
	case "$opt" in
	CONFIG_*=m)
		# =y is as good as =m.
		grep -qE "^${opt%=m}=[ym]\$" "$2" || missing="$missing $opt"
		;;
	CONFIG_*)
		grep -qx "$opt" "$2" || missing="$missing $opt"
		;;
	esac
done < <(kconfig_fragment)
[ -z "$missing" ] && exit 0
echo "$2 lacks:$missing"
exit 1
