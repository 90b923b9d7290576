#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh: build, once, and cache a debug kernel of one series of the
# matrix from Debian's linux-source, for "make check-debug"; or, with -p, a
# kernel with patches applied (a vendor kernel's backports, for the report).
#
#   scripts/debug-kernel.sh [-s SERIES] [-j JOBS] [-c PROFILE] [-p PATCH]...
#
# The kernel is x86_64 defconfig + kvm_guest.config + what the selftest
# collection needs (selftests/config) + the options of the profile, less what
# a guest that boots from an initramfs and talks over serial ports never uses
# (networking, USB, sound, graphics, disks and their filesystems). Profiles:
#   debug    (default) KASAN, lockdep, DEBUG_VM, enforced page table check,
#            kmemleak, hung-task and soft-lockup detectors: slow to build
#            (19 min for 7.3 on 2 cores) and to run under TCG
#   release  none of those, like a distribution kernel: for running the
#            report and the suite on a patched kernel
# It is built inside the Debian build root of the series (its compiler), from
# a fresh extraction of linux-source-SERIES with each PATCH applied in order
# (patch -p1), with nice.
#
# Cache, under ${MMPROBE_CACHE:-$HOME/.cache/mmprobe}, keyed by the series
# and a hash of the source version and the options:
#   root-<suite>/debug/<key>/{src,obj}   source tree and O= build tree; the
#                                        root's /usr/src/linux-headers-<rel>
#                                        links to obj, so mmprobe builds
#                                        against it like a Debian kernel
#   kernel-<rel>/                        boot/vmlinuz-<rel>, boot/config-<rel>,
#                                        lib/modules/<rel>, release: what
#                                        "vmtest.sh -K" boots
#   debug-<series>.log                   the build log (progress)
# where <rel> is e.g. 7.3.4-mmdebug-1a2b3c4d, or 6.12.118-mmrelease-5e6f7a8b
# for another profile or with patches (the hash covers the patches' text). The
# kernel keeps the applied patches' names in lib/modules/<rel>/mmprobe-patches.
# The last line printed on stdout
# is the kernel-<rel> directory. A finished build is reused; a second run
# while one builds waits for it.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

SERIES=7.3
JOBS=$(nproc)
PROFILE=debug
PATCHES=""

# Packages the kernel build needs beyond ROOT_PACKAGES: "gcc" too, as
# the root has only gcc-N and both the kernel and mmprobe's build against
# its tree call plain gcc.
BUILD_PACKAGES="gcc libssl-dev flex bison dwarves python3 cpio kmod bc libelf-dev"

# scripts/config arguments, in order. Kconfig drops an option whose
# dependencies are missing without a word, so every "-e"/"-m" one is checked
# in the final .config.
DEBUG_OPTIONS="
-e DEBUG_KERNEL
-e KASAN -e KASAN_GENERIC -e KASAN_INLINE -d KASAN_OUTLINE
-e PROVE_LOCKING -e DEBUG_ATOMIC_SLEEP
-e DEBUG_VM
-e PAGE_TABLE_CHECK -e PAGE_TABLE_CHECK_ENFORCED
-e DEBUG_KMEMLEAK -d DEBUG_KMEMLEAK_DEFAULT_OFF -d DEBUG_KMEMLEAK_AUTO_SCAN
--set-val DEBUG_KMEMLEAK_MEM_POOL_SIZE 100000
-e DETECT_HUNG_TASK -e SOFTLOCKUP_DETECTOR"
RELEASE_OPTIONS="
-d KASAN -d PROVE_LOCKING -d DEBUG_VM -d PAGE_TABLE_CHECK -d DEBUG_KMEMLEAK"
COMMON_OPTIONS="
-e DEBUG_INFO_NONE -d DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT -d DEBUG_INFO_DWARF4
-d DEBUG_INFO_DWARF5 -d DEBUG_INFO_BTF
-e TRANSPARENT_HUGEPAGE -e TRANSPARENT_HUGEPAGE_ALWAYS -d TRANSPARENT_HUGEPAGE_MADVISE
-e NUMA -e X86_64_ACPI_NUMA -e NUMA_BALANCING -e MIGRATION -e COMPACTION
-e HUGETLBFS -e HUGETLB_PAGE -e USERFAULTFD
-e CHECKPOINT_RESTORE -e MEM_SOFT_DIRTY -e PROC_PAGE_MONITOR
-e SWAP -m ZRAM -e ZRAM_BACKEND_LZO -e ZRAM_BACKEND_LZ4
-e ZRAM_BACKEND_ZSTD
-e MODULES -e MODULE_UNLOAD -d MODULE_SIG -e DEBUG_FS -e DEBUG_FS_ALLOW_ALL
-e MEMORY_HOTPLUG -e MEMORY_HOTREMOVE -e SPARSEMEM_VMEMMAP
-e ZONE_DEVICE -e DEVICE_PRIVATE -m TEST_HMM
-e VIRTUALIZATION -m KVM -m KVM_INTEL -m KVM_AMD
-e KSM -e MEMCG -e SHMEM -e TMPFS -e KPROBES -e KALLSYMS
-d DEVMEM
-d WERROR
-d NET -d DRM -d FB -d SOUND -d USB_SUPPORT -d HID -d SCSI -d ATA -d MD
-d EXT4_FS -d FAT_FS -d ISO9660_FS -d AUTOFS_FS -d QUOTA -d EFI -d HWMON
-d THERMAL -d I2C -d AGP -d SECURITY_SELINUX -d AUDIT -d MACINTOSH_DRIVERS
--set-str LOCALVERSION @LOCALVERSION@ -d LOCALVERSION_AUTO
"
# What the final .config must say (MMU_NOTIFIER is only selected, here by
# KVM, as on Debian's kernels; HMM_MIRROR too, by TEST_HMM, which is built
# but never loaded: mmprobe's hmm devices stand in for it, see hmm.rst).
DEBUG_REQUIRED="KASAN=y KASAN_INLINE=y PROVE_LOCKING=y DEBUG_VM=y PAGE_TABLE_CHECK=y
PAGE_TABLE_CHECK_ENFORCED=y DEBUG_KMEMLEAK=y DETECT_HUNG_TASK=y
SOFTLOCKUP_DETECTOR=y"
COMMON_REQUIRED="DEBUG_INFO_NONE=y TRANSPARENT_HUGEPAGE=y NUMA=y
MIGRATION=y HUGETLBFS=y USERFAULTFD=y MEM_SOFT_DIRTY=y ZSMALLOC=m ZRAM=m
ZRAM_BACKEND_LZO=y MODULES=y MODULE_UNLOAD=y DEBUG_FS=y ZONE_DEVICE=y
DEVICE_PRIVATE=y DEVICE_MIGRATION=y MMU_NOTIFIER=y HMM_MIRROR=y SWAP=y DEVTMPFS=y
BLK_DEV_INITRD=y SERIAL_8250_CONSOLE=y"

usage()
{
	cat <<EOF
Usage: $0 [-s SERIES] [-j JOBS] [-c PROFILE] [-p PATCH]...

  -s SERIES   kernel series: $MMPROBE_KERNELS_ALL (default $SERIES)
  -j JOBS     parallel make jobs (default: $JOBS, the number of CPUs)
  -c PROFILE  debug (KASAN, lockdep, DEBUG_VM, ...) or release (no debug
              options, like a distribution kernel); default $PROFILE
  -p PATCH    apply PATCH (patch -p1) to the source; repeatable, in order

Builds (once) a kernel and prints the directory to pass to "vmtest.sh -K".
Progress: \$MMPROBE_CACHE/debug-SERIES.log.
EOF
	exit 2
}

while getopts "s:j:c:p:h" opt; do
	case "$opt" in
	s) SERIES=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	c) PROFILE=$OPTARG ;;
	p) [ -r "$OPTARG" ] || die "cannot read the patch $OPTARG"
	   PATCHES="$PATCHES $(realpath "$OPTARG")" ;;
	*) usage ;;
	esac
done
[ "$(id -u)" -eq 0 ] || die "debug-kernel.sh needs root (chroot)"
case "$PROFILE" in
debug)
	OPTIONS="$DEBUG_OPTIONS$COMMON_OPTIONS"
	REQUIRED="$DEBUG_REQUIRED $COMMON_REQUIRED" ;;
release)
	OPTIONS="$RELEASE_OPTIONS$COMMON_OPTIONS"
	REQUIRED=$COMMON_REQUIRED ;;
*)
	usage ;;
esac

SUITE=$(series_suite "$SERIES")
need_host_tools
ROOT=$(prepare_root "$SUITE")
LOG=$MMPROBE_CACHE/debug-$SERIES.log

# One build at a time per series; a second caller waits and reuses it.
exec 9>"$MMPROBE_CACHE/debug-$SERIES.lock"
flock 9

missing=""
for p in $BUILD_PACKAGES "linux-source-$SERIES"; do
	in_root "$ROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "installing in the $SUITE build root:$missing"
	in_root "$ROOT" apt-get install -y -q --no-install-recommends $missing \
		>/dev/null || die "could not install$missing in the $SUITE root"
fi
srcver=$(in_root "$ROOT" dpkg-query -W -f='${Version}' "linux-source-$SERIES")
tarball=$(ls "$ROOT"/usr/src/linux-source-"$SERIES".tar.* | head -n 1)

# The debug kernel without patches keeps the key it always had.
if [ "$PROFILE" = debug ] && [ -z "$PATCHES" ]; then
	HASH=$(printf '%s\n%s\n%s\n' "$srcver" "$OPTIONS" "$REQUIRED" |
		sha256sum | cut -c1-8)
else
	HASH=$( { printf '%s\n%s\n%s\n' "$srcver" "$OPTIONS" "$REQUIRED"
		for p in $PATCHES; do cat "$p"; done; } | sha256sum | cut -c1-8)
fi
KEY=$SERIES-$HASH
LOCALVERSION=-mm$PROFILE-$HASH
TREE=/debug/$KEY
SRCDIR=$TREE/src
OBJ=$TREE/obj

# "make kernelrelease" needs a configured tree, so the release comes from
# the top Makefile: VERSION.PATCHLEVEL.SUBLEVEL + LOCALVERSION.
release_of()
{
	awk -F' = ' '/^VERSION =/ {v=$2} /^PATCHLEVEL =/ {p=$2}
		/^SUBLEVEL =/ {s=$2} END {printf "%s.%s.%s", v, p, s}' \
		"$ROOT$SRCDIR/Makefile"
	echo "$LOCALVERSION"
}

if [ -e "$ROOT$TREE/.mmprobe-debug" ]; then
	RELEASE=$(cat "$ROOT$TREE/.mmprobe-debug")
	if [ -e "$MMPROBE_CACHE/kernel-$RELEASE/.mmprobe-kernel" ]; then
		log "debug kernel $RELEASE is cached"
		echo "$MMPROBE_CACHE/kernel-$RELEASE"
		exit 0
	fi
fi

log "building the $PROFILE kernel $KEY from linux-source-$SERIES $srcver" \
	"(log: $LOG)"
start=$(date +%s)
: >"$LOG"
step()
{
	echo "=== $(date '+%F %T') (+$(( $(date +%s) - start )) s) $*" >>"$LOG"
	log "$*"
}

in_make()
{
	in_root "$ROOT" nice -n 10 make -C "$SRCDIR" O="$OBJ" "$@" >>"$LOG" 2>&1
}

# An interrupted build resumes: the extraction and the configuration are
# each done once (markers in the tree), make itself is incremental.
if [ ! -e "$ROOT$TREE/.extracted" ]; then
	step "extracting $tarball"
	rm -rf "${ROOT:?}$TREE"
	mkdir -p "$ROOT$SRCDIR" "$ROOT$OBJ"
	tar -xf "$tarball" -C "$ROOT$SRCDIR" --strip-components=1 ||
		die "could not extract $tarball"
	for p in $PATCHES; do
		step "applying $(basename "$p")"
		patch -d "$ROOT$SRCDIR" -p1 --forward --batch <"$p" >>"$LOG" 2>&1 ||
			die "$p does not apply to linux-source-$SERIES $srcver, see $LOG"
		basename "$p" >>"$ROOT$TREE/.patches"
	done
	touch "$ROOT$TREE/.extracted"
fi
RELEASE=$(release_of)

if [ ! -e "$ROOT$TREE/.configured" ]; then
	step "configuring $RELEASE"
	in_make defconfig kvm_guest.config || die "defconfig failed, see $LOG"
	in_root "$ROOT" "$SRCDIR/scripts/config" --file "$OBJ/.config" \
		${OPTIONS//@LOCALVERSION@/$LOCALVERSION} >>"$LOG" 2>&1 ||
		die "scripts/config failed, see $LOG"
	in_make olddefconfig || die "olddefconfig failed, see $LOG"
	bad=""
	for want in $REQUIRED; do
		grep -qx "CONFIG_$want" "$ROOT$OBJ/.config" || bad="$bad $want"
	done
	[ -z "$bad" ] || die "the final .config lacks:$bad (see $ROOT$OBJ/.config)"
	touch "$ROOT$TREE/.configured"
fi

step "building bzImage and modules with -j$JOBS"
in_make -j"$JOBS" bzImage modules || die "the kernel build failed, see $LOG"
got=$(cat "$ROOT$OBJ/include/config/kernel.release")
[ "$got" = "$RELEASE" ] || die "the kernel's release is '$got', expected $RELEASE"

step "installing"
KDIR=$MMPROBE_CACHE/kernel-$RELEASE
rm -rf "$KDIR"
mkdir -p "$ROOT$TREE/install"
in_make INSTALL_MOD_PATH="$TREE/install" modules_install ||
	die "modules_install failed, see $LOG"
mkdir -p "$KDIR/boot" "$KDIR/lib/modules"
cp -a "$ROOT$TREE/install/lib/modules/$RELEASE" "$KDIR/lib/modules/"
rm -rf "${ROOT:?}$TREE/install"
rm -f "$KDIR/lib/modules/$RELEASE/build" "$KDIR/lib/modules/$RELEASE/source"
[ ! -e "$ROOT$TREE/.patches" ] ||
	cp "$ROOT$TREE/.patches" "$KDIR/lib/modules/$RELEASE/mmprobe-patches"
cp "$ROOT$OBJ/arch/x86/boot/bzImage" "$KDIR/boot/vmlinuz-$RELEASE"
cp "$ROOT$OBJ/.config" "$KDIR/boot/config-$RELEASE"
depmod -b "$KDIR" "$RELEASE" || die "depmod failed for $RELEASE"
echo "$RELEASE" >"$KDIR/release"
# mmprobe builds against the O= tree, as against Debian's headers.
# (A relative link: it resolves inside the root and from the host alike.)
ln -sfn "../..$OBJ" "$ROOT/usr/src/linux-headers-$RELEASE"
touch "$KDIR/.mmprobe-kernel"
echo "$RELEASE" >"$ROOT$TREE/.mmprobe-debug"
step "done: $RELEASE in $(( $(date +%s) - start )) s"
echo "$KDIR"
