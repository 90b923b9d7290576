#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared by vmtest.sh, check.sh and report.sh: the kernel matrix, the cache,
# the Debian build roots and the build of mmprobe in them.
#
# Cache layout, under ${MMPROBE_CACHE:-$HOME/.cache/mmprobe}:
#   root-<suite>/          debootstrap build root (bookworm, trixie)
#   kernel-<release>/      extracted image package: boot/vmlinuz-*, lib/modules
#   src-<series>/          kselftest headers, run_kselftest.sh, checkpatch and
#                          decode_stacktrace.sh from the series' linux-source
#   kernel-own-<hash>/     a kernel of your own (vmtest.sh -K DIR): its
#                          bzImage, .config and installed modules
#   runs/<time>-<release>-<pid>/  what a failed run left (vmtest.sh -o)
#   locks/<name>.lock      one per build root, kernel, source and build
# Builds go to root-<suite>/build/cache/<release>-<hash>/, one per state of
# the sources, the kernel and the build flags (build_in_root), reused until
# one of them changes; what a run adds goes to root-<suite>/build/run.<pid>/,
# which build_clean removes.

MMPROBE_CACHE=${MMPROBE_CACHE:-$HOME/.cache/mmprobe}
MMPROBE_MIRROR=${MMPROBE_MIRROR:-http://deb.debian.org/debian}
MMPROBE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MMPROBE_KERNELS_ALL="6.1 6.12 7.3"
# The arm64 kernels: a series and Debian's flavour, with 4 KiB pages
# (-arm64) or 16 KiB (-arm64-16k), booted under TCG (Documentation/arm64.rst).
MMPROBE_KERNELS_ARM64="6.12-arm64 7.3-arm64 7.3-arm64-16k"

# Packages every build root needs; the compiler is added per suite.
ROOT_PACKAGES="make,libelf-dev,libc6-dev,bc,libkmod-dev,kmod,busybox-static,xz-utils,zstd,cpio,sparse,perl,ca-certificates"

log()
{
	echo "mmprobe: $*" >&2
}

die()
{
	echo "mmprobe: error: $*" >&2
	exit "${EXIT_PREP:-2}"
}

# Which Debian suite builds and boots a kernel series.
series_suite()
{
	case "$1" in
	6.1|6.12) echo bookworm ;;
	7.3) echo trixie ;;
	*) die "unknown kernel series '$1' (known: $MMPROBE_KERNELS_ALL)" ;;
	esac
}

# A kernel of the runner's: its series (7.3-arm64: 7.3), and its Debian
# flavour (amd64, arm64, arm64-16k); anything else dies.
kernel_series()
{
	case " $MMPROBE_KERNELS_ALL $MMPROBE_KERNELS_ARM64 " in
	*" $1 "*) echo "${1%%-*}" ;;
	*) die "unknown kernel '$1' (known: $MMPROBE_KERNELS_ALL $MMPROBE_KERNELS_ARM64)" ;;
	esac
}

kernel_flavour()
{
	local series

	series=$(kernel_series "$1") || exit
	case "$series" in
	"$1") echo amd64 ;;
	*) echo "${1#*-}" ;;
	esac
}

suite_compiler()
{
	case "$1" in
	bookworm) echo gcc-12 ;;
	trixie) echo gcc-14 ;;
	esac
}

suite_sources()
{
	local m=$MMPROBE_MIRROR

	case "$1" in
	bookworm)
		echo "deb $m bookworm main"
		echo "deb $m bookworm-updates main"
		echo "deb http://deb.debian.org/debian-security bookworm-security main"
		;;
	trixie)
		echo "deb $m trixie main"
		echo "deb $m trixie-updates main"
		echo "deb http://deb.debian.org/debian-security trixie-security main"
		echo "deb $m trixie-backports main"
		;;
	esac
}

# Install what the host itself needs, or name what is missing. Supported
# hosts are Debian 12 and 13 and Ubuntu 24.04 (Documentation/hosts.rst);
# elsewhere the runner needs these commands, from the host's own packages.
need_host_tools()
{
	local missing="" cmds="" tool name=""

	for tool in qemu-system-x86_64:qemu-system-x86 qemu-system-aarch64:qemu-system-arm \
		    debootstrap:debootstrap \
		    cpio:cpio chroot:coreutils timeout:coreutils depmod:kmod \
		    xz:xz-utils zstd:zstd dpkg-deb:dpkg cmp:diffutils \
		    mountpoint:util-linux unshare:util-linux; do
		command -v "${tool%%:*}" >/dev/null 2>&1 && continue
		missing="$missing ${tool#*:}"
		cmds="$cmds ${tool%%:*}"
	done
	[ -z "$missing" ] && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		[ -r /etc/os-release ] && name=$(. /etc/os-release && echo "${PRETTY_NAME:-}")
		die "this host (${name:-unknown}) has no apt-get: the runner is" \
			"supported on Debian 12, Debian 13 and Ubuntu 24.04. Elsewhere" \
			"install these commands with the host's package manager (debootstrap" \
			"is packaged by Fedora and Arch too), then run it again:$cmds"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		log "installing host packages:$missing"
		# shellcheck disable=SC2086 # one package a word
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				-o DPkg::Lock::Timeout=600 $missing >/dev/null 2>&1; then
			apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null 2>&1
			# shellcheck disable=SC2086
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				-o DPkg::Lock::Timeout=600 $missing >/dev/null ||
				die "could not install:$missing"
		fi
		return 0
	fi
	die "missing host packages:$missing (install them, as root, with apt-get)"
}

# Run CMD in the cache lock NAME: one holder at a time, the others wait
# (at most $MMPROBE_LOCK_TIMEOUT seconds, default 1800). Call it in a
# subshell, or as the body of one: the lock is released when it exits.
cache_lock()
{
	local name=$1 wait=${MMPROBE_LOCK_TIMEOUT:-1800}

	mkdir -p "$MMPROBE_CACHE/locks"
	exec 9>"$MMPROBE_CACHE/locks/$name.lock"
	flock -n 9 && return 0
	log "waiting for the lock $name (another run holds it)"
	flock -w "$wait" 9 || die "timed out after $wait s waiting for the lock $name"
}

in_root()
{
	local root=$1

	shift
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"
}

# apt-get in a build root, waiting for another run's apt to finish.
root_apt()
{
	local root=$1

	shift
	in_root "$root" apt-get -o DPkg::Lock::Timeout=600 -q "$@"
}

# apt-get download PKGS... (name or name:arch) in ROOT, into a directory of
# this run's own in the root's /tmp (apt downloads as _apt: mode 777).
# Prints the directory, which the caller removes; fails, leaving nothing,
# when a package cannot be had.
root_download()
{
	local root=$1 debs

	shift
	debs=$(mktemp -d "$root/tmp/debs.XXXXXX")
	chmod 777 "$debs"
	if ! in_root "$root" sh -c "cd ${debs#"$root"} && apt-get download -q $*" >/dev/null; then
		rm -rf "$debs"
		return 1
	fi
	echo "$debs"
}

# Make (once) the build root of a suite and refresh its package lists daily.
prepare_root()
(
	local suite=$1 root=$MMPROBE_CACHE/root-$1

	mkdir -p "$MMPROBE_CACHE"
	cache_lock "root-$suite"
	if [ ! -e "$root/.mmprobe-root" ]; then
		log "creating the $suite build root (debootstrap, about a minute)"
		! mountpoint -q "$root/proc" || umount "$root/proc"
		rm -rf "$root"
		debootstrap --variant=minbase \
			--include="$(suite_compiler "$suite"),$ROOT_PACKAGES" \
			"$suite" "$root" "$MMPROBE_MIRROR" >"$MMPROBE_CACHE/debootstrap-$suite.log" 2>&1 ||
			die "debootstrap $suite failed, see $MMPROBE_CACHE/debootstrap-$suite.log"
		suite_sources "$suite" >"$root/etc/apt/sources.list"
		root_apt "$root" update >/dev/null ||
			die "apt-get update in the $suite root failed"
		touch "$root/.mmprobe-root"
	elif [ -z "$(find "$root/.mmprobe-root" -mmin -1440)" ]; then
		log "refreshing the $suite package lists"
		if root_apt "$root" update >/dev/null 2>&1; then
			touch "$root/.mmprobe-root"
		else
			log "apt-get update failed in the $suite root: using the cached lists"
		fi
	fi
	mount_root_fs "$root"
	echo "$root"
)

# /proc is enough for gcc and make; mounted once, left for the next run.
mount_root_fs()
{
	mountpoint -q "$1/proc" || mount -t proc proc "$1/proc"
}

# The newest Debian amd64 kernel release of a series, e.g. 6.1.0-37-amd64.
resolve_release()
{
	local series=$1 root=$2 re

	re="^linux-image-${series//./\\.}\.[0-9]+(-[0-9]+|\+deb[0-9]+)-amd64\$"
	in_root "$root" apt-cache search --names-only "^linux-image-$series" |
		awk '{print $1}' | grep -E "$re" | sed 's/^linux-image-//' |
		sort -V | tail -n 1
}

# Fetch (once) image, modules and headers of a release.
fetch_kernel()
(
	local release=$1 root=$2 dir=$MMPROBE_CACHE/kernel-$1 deb pkgs debs="" qual=""

	cache_lock "kernel-$release"
	trap 'rm -rf "$debs"' EXIT
	if [ ! -e "$dir/.mmprobe-kernel" ]; then
		log "downloading kernel $release"
		rm -rf "$dir"
		mkdir -p "$dir/debs"
		# Since 7.x the image package is split: take every linux-*
		# package of this release that the image depends on.
		# An arm64 kernel's packages are a foreign architecture's.
		case "$release" in
		*-arm64|*-arm64-*k) qual=:arm64 ;;
		esac
		pkgs="linux-image-$release$qual $(in_root "$root" apt-cache depends \
			"linux-image-$release$qual" | awk '/Depends: linux-/ {print $2}' |
			{ grep -F -- "$release" || true; } | sort -u | tr '\n' ' ')"
		# shellcheck disable=SC2086 # the packages, one a word
		debs=$(root_download "$root" $pkgs) || die "could not download $pkgs"
		for deb in "$debs"/*.deb; do
			dpkg-deb -x "$deb" "$dir" || die "could not extract $deb"
		done
		[ -d "$dir/lib/modules" ] || ln -s usr/lib "$dir/lib"
		# 7.x keeps vmlinuz and config beside the modules.
		mkdir -p "$dir/boot"
		for f in vmlinuz config; do
			[ -e "$dir/boot/$f-$release" ] ||
				cp "$dir/lib/modules/$release/$f" \
					"$dir/boot/$f-$release" 2>/dev/null || true
		done
		[ -e "$dir/boot/vmlinuz-$release" ] ||
			die "no vmlinuz in the packages of $release"
		rmdir "$dir/debs"
		depmod -b "$dir" "$release" ||
			die "depmod failed for $release"
		touch "$dir/.mmprobe-kernel"
	fi
	# An arm64 kernel's headers are cross_build's.
	if [ -z "$qual" ] && [ ! -d "$root/usr/src/linux-headers-$release" ]; then
		log "installing linux-headers-$release in the build root"
		root_apt "$root" install -y --no-install-recommends "linux-headers-$release" \
			>/dev/null || die "could not install linux-headers-$release"
	fi
)

# kselftest.h, kselftest_harness.h, run_kselftest.sh, checkpatch.pl and
# decode_stacktrace.sh from the series' linux-source package; the full tree
# is not kept.
fetch_source()
(
	local series=$1 root=$2 dir=$MMPROBE_CACHE/src-$1 tarball

	[ -e "$dir/.mmprobe-src" ] && [ -e "$dir/scripts/decode_stacktrace.sh" ] &&
		{ echo "$dir"; return 0; }
	cache_lock "src-$series"
	[ -e "$dir/.mmprobe-src" ] && [ -e "$dir/scripts/decode_stacktrace.sh" ] &&
		{ echo "$dir"; return 0; }
	log "extracting kselftest headers and checkpatch from linux-source-$series"
	root_apt "$root" install -y --no-install-recommends "linux-source-$series" >/dev/null ||
		die "could not install linux-source-$series"
	tarball=$(find "$root/usr/src" -maxdepth 1 -name "linux-source-$series.tar.*" | head -n 1)
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -xf "$tarball" -C "$dir" --strip-components=1 --wildcards \
		'*/tools/testing/selftests/kselftest.h' \
		'*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/run_kselftest.sh' \
		'*/tools/testing/selftests/kselftest/*' \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' '*/.clang-format' \
		'*/scripts/decode_stacktrace.sh' ||
		die "could not extract from $tarball"
	touch "$dir/.mmprobe-src"
	echo "$dir"
)

# The sources a build of mmprobe uses, as a tar stream whose bytes change
# only when a file's name, mode or content does. Arguments: the paths,
# relative to the top of the tree.
source_tar()
{
	(cd "$MMPROBE_TOP" && tar -cf - --sort=name --mtime=@0 --owner=0 --group=0 \
		--numeric-owner --exclude=.git --exclude='*.ko' --exclude='*.o' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' \
		--exclude=Module.symvers --exclude=modules.order "$@")
}

# Build mmprobe.ko and the selftests for a release inside its build root,
# against KBUILD (a path in the root; default Debian's headers of the
# release) with compiler CC (default the suite's), kselftest headers from
# SRC (a kernel tree's top: tools/testing/selftests). W=1 warnings fail the
# build. A release of another architecture (release_arch) is cross-built:
# cross_setup's compiler and headers, its ARCH and CROSS_COMPILE, and the
# libraries the programs need in lib/ (cross_libs). A build is kept, keyed
# by a hash of everything it depends on (the sources, the flags, the
# compiler, the kernel's Module.symvers, .config and build version, the
# kselftest headers), and reused while none changes; a second run wanting
# the same build waits for the first. Prints the build directory
# (root-<suite>/build/cache/<release>-<hash>): tree/mmprobe.ko, selftests/,
# build.log.
build_in_root()
(
	local release=$1 root=$2 src=$3 extra=${4:-} kbuild=${5:-} cc=${6:-}
	local suite key out log ksft=/ksft/$1 f keep=6 kcc=() arch kmake=()

	suite=$(basename "$root" | sed 's/^root-//')
	[ -n "$kbuild" ] || kbuild=/usr/src/linux-headers-$release
	# Debian's headers name their compiler themselves.
	[ -n "$cc" ] && kcc=(CC="$cc")
	[ -n "$cc" ] || cc=$(suite_compiler "$suite")
	arch=$(release_arch "$release")
	if [ "$arch" != amd64 ]; then
		cross_setup "$release" "$root"
		kmake=(ARCH="$arch" CROSS_COMPILE="$(cross_prefix "$arch")")
		cc=$(cross_prefix "$arch")gcc
	fi
	key=$({
		source_tar Kbuild Makefile module selftests
		echo "$release $extra $kbuild"
		in_root "$root" "$cc" --version | head -n 1
		for f in Module.symvers .config include/generated/utsversion.h \
			 include/generated/compile.h; do
			cat "$root$kbuild/$f" 2>/dev/null || true
		done
		cat "$src"/tools/testing/selftests/kselftest*.h
	} | sha256sum | cut -c1-16)
	out=/build/cache/$release-$key
	[ -e "$root$out/.mmprobe-build" ] && { echo "$root$out"; return 0; }
	cache_lock "build-$release-$key"
	[ -e "$root$out/.mmprobe-build" ] && { echo "$root$out"; return 0; }

	trap 'rm -rf "${root:?}${out:?}"' EXIT
	rm -rf "$root$out"
	mkdir -p "$root$out/tree" "$root$ksft"
	source_tar Kbuild Makefile module selftests | tar -xf - -C "$root$out/tree"
	# The headers of the kernel's own series (a copy per release).
	cp -a "$src"/tools/testing/selftests/kselftest*.h \
		"$src"/tools/testing/selftests/run_kselftest.sh "$root$ksft/"
	[ -d "$src/tools/testing/selftests/kselftest" ] &&
		cp -a "$src/tools/testing/selftests/kselftest" "$root$ksft/"
	log=$root$out/build.log
	# shellcheck disable=SC2086 # EXTRA: make arguments, one a word
	if ! in_root "$root" make -C "$kbuild" M="$out/tree" "${kcc[@]}" "${kmake[@]}" W=1 \
		$extra modules >"$log" 2>&1; then
		cat "$log" >&2
		die "module build failed for $release"
	fi
	if grep -q 'warning:' "$log"; then
		grep -B2 -A4 'warning:' "$log" >&2
		die "module build for $release has warnings"
	fi
	if ! in_root "$root" make -C "$out/tree/selftests" CC="$cc" \
		KSFT_DIR="$ksft" OUTPUT="$out/selftests" >>"$log" 2>&1; then
		cat "$log" >&2
		die "selftests build failed for $release"
	fi
	[ "$arch" = amd64 ] || cross_libs "$root" "$out" "$arch"
	touch "$root$out/.mmprobe-build"
	trap - EXIT
	# Keep the newest builds of the release.
	# shellcheck disable=SC2012 # names made here: <release>-<hash>
	ls -1dt "$root"/build/cache/"$release"-* | tail -n +$((keep + 1)) |
		while read -r f; do rm -rf "$f"; done
	echo "$root$out"
)

# A directory of this run's own in the build root (root-<suite>/build/run.<pid>),
# for what it adds to a build; build_clean removes it.
build_run_dir()
{
	mkdir -p "$1/build/run.$$"
	echo "$1/build/run.$$"
}

# Remove what this run made (build_run_dir); cached builds stay.
build_clean()
{
	case "${1:-}" in
	*/build/run.[0-9]*) rm -rf "$1" ;;
	esac
	return 0
}

# A kernel build directory of your own (vmtest.sh -K DIR), in-tree or O=:
# its .config, arch/x86/boot/bzImage, Module.symvers and kernel release.
# Prints its source tree (DIR itself, or where DIR/source points).
own_kernel_check()
{
	local dir=$1 f link parent

	for f in .config arch/x86/boot/bzImage Module.symvers include/config/kernel.release; do
		[ -e "$dir/$f" ] || die "-K $dir: no $f (build the kernel: make bzImage modules)"
	done
	grep -qx 'CONFIG_MODULES=y' "$dir/.config" ||
		die "-K $dir: the kernel has no CONFIG_MODULES (see scripts/kernel-config.sh)"
	if [ ! -L "$dir/source" ]; then
		echo "$dir"
		return 0
	fi
	# An O= build made in a chroot (a build root, scripts/debug-kernel.sh)
	# points "source" at the source's path inside that chroot: look for
	# it under each of DIR's parents.
	link=$(readlink "$dir/source")
	if [ -d "$link" ] || [ "${link#/}" = "$link" ]; then
		readlink -e "$dir/source" && return 0
	else
		parent=$dir
		while [ "$parent" != / ]; do
			parent=$(dirname "$parent")
			if [ -d "$parent$link" ]; then
				echo "$parent$link"
				return 0
			fi
		done
	fi
	die "-K $dir: its source link points to $link, which is not a directory here"
}

# The build root whose compiler built DIR's kernel: the one whose compiler
# says exactly CONFIG_CC_VERSION_TEXT (kbuild warns, and W=1 fails, when
# the compiler of a module differs). A "gcc" is installed in the root when
# the kernel was built with plain gcc. Prints "SUITE CC".
own_kernel_suite()
{
	local dir=$1 text cc major suite root

	text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$dir/.config")
	cc=${text%% *}
	major=$(sed -n 's/^CONFIG_GCC_VERSION=\([0-9]*\)[0-9][0-9][0-9][0-9]$/\1/p' "$dir/.config")
	case "$major" in
	12) suite=bookworm ;;
	14) suite=trixie ;;
	*) die "-K $dir: built with '$text'; the build roots have gcc 12 (bookworm) and 14 (trixie)" ;;
	esac
	case "$cc" in
	gcc|gcc-"$major") ;;
	*) die "-K $dir: built with '$text', not a Debian gcc" ;;
	esac
	root=$(prepare_root "$suite")
	if [ ! -x "$root/usr/bin/$cc" ]; then
		log "installing $cc in the $suite build root"
		root_apt "$root" install -y --no-install-recommends "${cc%-*}" >/dev/null ||
			die "could not install gcc in the $suite root"
	fi
	[ "$(in_root "$root" "$cc" --version | head -n 1)" = "$text" ] ||
		log "-K $dir: built with '$text', the $suite root has" \
			"'$(in_root "$root" "$cc" --version | head -n 1)'"
	echo "$suite $cc"
}

# Make DIR (a host path) visible at the same path inside a build root, so
# that the absolute paths of an O= build resolve there too; left mounted
# for the next run, like /proc ("make clean-cache" unmounts).
root_bind()
(
	local root=$1 dir=$2

	case "$dir" in
	"$root"/*) return 0 ;;
	esac
	cache_lock "root-$(basename "$root" | sed 's/^root-//')"
	mountpoint -q "$root$dir" && return 0
	mkdir -p "$root$dir"
	mount --bind "$dir" "$root$dir" || die "could not bind-mount $dir into $root"
)

# A kernel of your own (DIR on the host, RDIR the same inside the build
# root) laid out as a Debian one, once per bzImage:
# $MMPROBE_CACHE/kernel-own-<hash>/boot/{vmlinuz,config}-<release> and
# lib/modules/<release> (its modules_install, stripped, when modules were
# built). Prints the directory.
own_kernel_install()
(
	local root=$1 dir=$2 rdir=$3 release=$4 key kdir

	key=$(cat "$dir/arch/x86/boot/bzImage" "$dir/.config" "$dir/modules.order" \
		2>/dev/null | sha256sum | cut -c1-16)
	kdir=$MMPROBE_CACHE/kernel-own-$key
	[ -e "$kdir/.mmprobe-kernel" ] && { echo "$kdir"; return 0; }
	cache_lock "kernel-own-$key"
	[ -e "$kdir/.mmprobe-kernel" ] && { echo "$kdir"; return 0; }
	log "installing $release from $dir"
	rm -rf "$kdir"
	mkdir -p "$kdir/boot" "$kdir/lib/modules/$release"
	cp "$dir/arch/x86/boot/bzImage" "$kdir/boot/vmlinuz-$release"
	cp "$dir/.config" "$kdir/boot/config-$release"
	if [ -s "$dir/modules.order" ]; then
		root_bind "$root" "$kdir"
		in_root "$root" make -s -C "$rdir" INSTALL_MOD_PATH="$kdir" \
			INSTALL_MOD_STRIP=1 DEPMOD=true modules_install \
			>"$kdir/modules_install.log" 2>&1 ||
			die "modules_install of $dir failed, see $kdir/modules_install.log"
		umount "$root$kdir" 2>/dev/null || true
	else
		cp "$dir"/modules.builtin* "$kdir/lib/modules/$release/" 2>/dev/null || true
	fi
	rm -f "$kdir/lib/modules/$release/build" "$kdir/lib/modules/$release/source"
	depmod -b "$kdir" "$release" || die "depmod failed for $release"
	touch "$kdir/.mmprobe-kernel"
	echo "$kdir"
)

# The kernel image with symbols for decoding a stack (decode_stacktrace.sh),
# or nothing: your own kernel's vmlinux (-K DIR), Debian's from
# linux-image-<release>-dbg, fetched once (1.2 GB for 7.3) only when
# MMPROBE_DEBUG_SYMBOLS=1, or a debug kernel's (its build tree).
kernel_vmlinux()
(
	local release=$1 root=$2 kdir=$3 own=${4-} dbg=$3/dbg/vmlinux-$1 debs="" deb

	if [ -n "$own" ] && [ -e "$own/vmlinux" ]; then
		echo "$own/vmlinux"
	elif [ -e "$dbg" ]; then
		echo "$dbg"
	elif [ "${MMPROBE_DEBUG_SYMBOLS:-0}" = 1 ] && [ ! -e "$kdir/release" ]; then
		cache_lock "kernel-$release"
		trap 'rm -rf "$debs"' EXIT
		log "downloading linux-image-$release-dbg for its vmlinux"
		debs=$(root_download "$root" "linux-image-$release-dbg") ||
			{ log "no linux-image-$release-dbg"; return 0; }
		mkdir -p "$kdir/dbg"
		for deb in "$debs"/*.deb; do
			dpkg-deb --fsys-tarfile "$deb" | tar -xf - -O \
				"./usr/lib/debug/boot/vmlinux-$release" >"$dbg.tmp" &&
				mv "$dbg.tmp" "$dbg"
		done
		[ -e "$dbg" ] && echo "$dbg"
	elif [ -L "$root/usr/src/linux-headers-$release" ] &&
	     [ -e "$root/usr/src/linux-headers-$release/vmlinux" ]; then
		# A debug kernel's build tree (Debian's headers have a vmlinux
		# too, with BTF only).
		echo "$root/usr/src/linux-headers-$release/vmlinux"
	fi
	return 0
)

# Count test cases in the runner's KTAP (stdin): "pass fail skip". Each
# program counts by its "# Totals:" line (xfail as pass, xpass and error as
# fail); a program without one, or one whose result line says "not ok"
# while its totals show no failure (splat, timeout, crash), counts by its
# result line.
ktap_counts()
{
	awk '
	/^# # Totals: / {
		for (i = 4; i <= NF; i++) {
			split($i, kv, ":")
			t[kv[1]] = kv[2]
		}
		tp = t["pass"] + t["xfail"]
		tf = t["fail"] + t["xpass"] + t["error"]
		ts = t["skip"]
		have = 1
		next
	}
	/^(not )?ok [0-9]+ / {
		bad = ($1 == "not")
		if (have) {
			p += tp; f += tf; s += ts
			if (bad && !tf)
				f++
		} else if (bad) {
			f++
		} else if ($0 ~ /# SKIP/) {
			s++
		} else {
			p++
		}
		have = 0
	}
	END { printf "%d %d %d\n", p, f, s }'
}

# The path of a build root's file once its symlinks are resolved inside the
# root: bookworm's /lib64/ld-linux-x86-64.so.2 is an absolute link, which
# the host (cp -L) would resolve to its own loader.
root_realpath()
{
	in_root "$1" readlink -e "$2"
}

# Copy into INITRD the libraries and the loader that the given programs
# (paths inside the build root) link, as ldd sees them in the root, each
# resolved inside the root: the guest's user space is the root's alone.
initrd_libs()
{
	local root=$1 initrd=$2 prog lib real

	shift 2
	for prog in "$@"; do
		in_root "$root" ldd "$prog" 2>/dev/null | grep -o '/[^ ]*' || true
	done | sort -u | while read -r lib; do
		real=$(root_realpath "$root" "$lib") ||
			die "$lib, which the selftests link, is not in the build root"
		mkdir -p "$initrd$(dirname "$lib")"
		cp "$root$real" "$initrd$lib"
	done
}

# The environment lines of a guest's vm.conf (guest-init.sh sources it):
# the stress tests' length and each VAR=VALUE given (-e), quoted for sh.
guest_env_conf()
{
	local v

	echo "export MMPROBE_STRESS_SECONDS=${MMPROBE_STRESS_SECONDS:-15}"
	for v in "$@"; do
		printf "export %s='%s'\n" "${v%%=*}" "$(printf '%s' "${v#*=}" | sed "s/'/'\\\\''/g")"
	done
}

# The kernel modules guest-init.sh loads, from a kernel package's MODDIR
# (its lib/modules/RELEASE) into INITRD, with the indexes: zram (swap, and
# a disk), ext4 (the disk's file system) and what they need.
initrd_guest_modules()
{
	local moddir=$1 initrd=$2 dest mods='^[^:]*/\(zram\|ext4\|crc32c_generic\)\.ko[^:]*:'

	dest=$initrd/lib/modules/$(basename "$moddir")
	mkdir -p "$dest"
	cp "$moddir"/modules.* "$dest/"
	{
		sed -n "\%$mods%s/:.*//p" "$moddir/modules.dep"
		sed -n "\%$mods%s/^[^:]*://p" "$moddir/modules.dep" | tr ' ' '\n'
	} | while read -r mod; do
		[ -n "$mod" ] || continue
		mkdir -p "$dest/$(dirname "$mod")"
		cp "$moddir/$mod" "$dest/$mod"
	done
}

# Check that every file of an initramfs tree is the copy of its origin
# (/init: $INITRD_INIT, by default scripts/guest-init.sh; /guest-setup.sh,
# which both inits source: scripts/guest-setup.sh; /bin/busybox:
# $INITRD_BUSYBOX, by default the root's, for another architecture
# cross_busybox's):
# user space (busybox, libraries, loader, programs) that of the build root,
# resolved inside it; kernel modules and config those of the kernel package
# (KDIR), or, when the root's depmod made the module indexes again (vmtest.sh
# -D), those of MODROOT; mmprobe.ko, the selftests and the installed
# kselftest tree those of the build in the root (OUT). Generated files
# (vm.conf, cmd) and -f files are not checked. The kselftest tree is KSFT's
# (default OUT/kselftest). Prints "N files checked, M differ" and lists the
# files that differ, returning 1 then.
initrd_verify()
{
	local root=$1 initrd=$2 out=$3 kdir=$4 modroot=${5-} ksft=${6:-$3/kselftest}
	local f rel origin n=0 bad=0

	while IFS= read -r f; do
		rel=${f#"$initrd"}
		case "$rel" in
		/init) origin=${INITRD_INIT:-$MMPROBE_TOP/scripts/guest-init.sh} ;;
		/guest-setup.sh) origin=$MMPROBE_TOP/scripts/guest-setup.sh ;;
		/bin/busybox)
			origin=${INITRD_BUSYBOX:-$root$(root_realpath "$root" /bin/busybox)} ;;
		/mmprobe/vm.conf|/mmprobe/cmd) continue ;;
		/mmprobe/mmprobe.ko) origin=$out/tree/mmprobe.ko ;;
		/mmprobe/settings) origin=$MMPROBE_TOP/selftests/settings ;;
		/mmprobe/mmprobe-audit) origin=$MMPROBE_TOP/scripts/mmprobe-audit ;;
		/mmprobe/*)
			origin=$out/selftests/${rel##*/}
			[ -e "$origin" ] || continue
			;;
		/kselftest/*) origin=$ksft${rel#/kselftest} ;;
		/lib/modules/*/modules.*)
			origin=${modroot:-$kdir}$rel ;;
		/lib/modules/*/updates/*) origin=$root$rel ;;
		/boot/*|/lib/modules/*) origin=$kdir$rel ;;
		*)
			if origin=$(root_realpath "$root" "$rel"); then
				origin=$root$origin
			else
				origin=""
			fi
			;;
		esac
		n=$((n + 1))
		if [ -z "$origin" ] || ! cmp -s "$f" "$origin"; then
			echo "initramfs $rel: not the copy of ${origin:-anything (missing in the build root)}" >&2
			bad=$((bad + 1))
		fi
	done < <(find "$initrd" -type f)
	echo "$n files checked, $bad differ"
	[ "$bad" -eq 0 ]
}

# Build and install mmprobe with the build root's own Debian dkms, as a test
# machine would from dkms.conf: the source in /usr/src/mmprobe-VERSION, then
# "dkms build" and "dkms install" for the release (--force: again on every
# run, from the current tree). Prints the installed module's path in the
# root (/lib/modules/<release>/updates/dkms/mmprobe.ko*); the log is
# $MMPROBE_CACHE/dkms-<release>.log.
dkms_build()
(
	local release=$1 root=$2 ver log=$MMPROBE_CACHE/dkms-$1.log ko key stamp

	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$MMPROBE_TOP/dkms.conf")
	[ -n "$ver" ] || die "no PACKAGE_VERSION in dkms.conf"
	# One dkms at a time in a root (its tree is shared by the releases);
	# done again only when the sources changed, or the installed module
	# is no longer the one made from them.
	cache_lock "dkms-$(basename "$root")"
	key=$(source_tar Kbuild Makefile dkms.conf module | sha256sum | cut -c1-16)
	stamp=$root/var/lib/dkms/mmprobe-$release.stamp
	ko=$(cd "$root" && ls lib/modules/"$release"/updates/dkms/mmprobe.ko* 2>/dev/null) || ko=""
	# The stamp names the sources and the module installed from them: a
	# run of another tree (another key) may have installed its own since.
	if [ -n "$ko" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key $(sha256sum <"$root/$ko")" ]; then
		echo "/$ko"
		return 0
	fi
	rm -f "$stamp"
	if [ ! -x "$root/usr/sbin/dkms" ]; then
		log "installing dkms in the build root"
		root_apt "$root" install -y --no-install-recommends dkms \
			>/dev/null || die "could not install dkms in $root"
	fi
	rm -rf "$root/usr/src/mmprobe-$ver"
	mkdir -p "$root/usr/src/mmprobe-$ver"
	source_tar Kbuild Makefile dkms.conf module | tar -xf - -C "$root/usr/src/mmprobe-$ver"
	if ! in_root "$root" sh -c "
		{ dkms status -m mmprobe -v $ver | grep -q . ||
		  dkms add -m mmprobe -v $ver; } &&
		dkms build --force -m mmprobe -v $ver -k $release &&
		dkms install --force -m mmprobe -v $ver -k $release" >"$log" 2>&1; then
		cat "$log" >&2
		die "dkms build or install of mmprobe failed for $release"
	fi
	ko=$(cd "$root" && ls lib/modules/"$release"/updates/dkms/mmprobe.ko* 2>/dev/null) ||
		die "dkms installed no mmprobe.ko for $release (see $log)"
	echo "$key $(sha256sum <"$root/$ko")" >"$stamp"
	echo "/$ko"
)

# "make -C selftests install" of a build (build_in_root's OUT) inside its
# root, into DEST (default OUT/kselftest; vmtest.sh gives a directory of the
# run's own): the tree the series' run_kselftest.sh runs. KO is the
# mmprobe.ko it gets, or empty: the programs then load mmprobe by name.
ksft_install()
{
	local release=$1 root=$2 out=${3#"$2"} ko=${4-} dest=${5:-$3/kselftest}

	in_root "$root" make -s -C "$out/tree/selftests" \
		CC="$(suite_compiler "$(basename "$root" | sed 's/^root-//')")" \
		KSFT_DIR="/ksft/$release" OUTPUT="$out/selftests" \
		INSTALL_PATH="${dest#"$root"}" MMPROBE_KO="$ko" install \
		>"$dest.log" 2>&1 ||
		die "make -C selftests install failed for $release (see $dest.log)"
}

# The architecture a Debian kernel release is for: arm64 for the -arm64
# flavours, else amd64 (the host's, and that of your own kernels).
release_arch()
{
	case "$1" in
	*-arm64|*-arm64-16k|*-arm64-64k) echo arm64 ;;
	*) echo amd64 ;;
	esac
}

# The cross compiler's prefix for ARCH: aarch64-linux-gnu- for arm64.
cross_prefix()
{
	case "$1" in
	arm64) echo aarch64-linux-gnu- ;;
	*) die "no cross compiler known for $1" ;;
	esac
}

# What cross-building for another architecture's Debian kernel RELEASE
# (7.3.4+deb13-arm64, say) needs in ROOT, once: the architecture (dpkg
# --add-architecture), the cross compiler that the headers' Makefile names
# ($(CROSS_COMPILE)gcc-N), libc6-dev and libkmod-dev of that architecture
# for the selftests (multiarch), and the release's headers, multiarch, extracted, so that
# their linux-kbuild is the root's own, of the same version, which
# cross-builds.
cross_setup()
(
	local release=$1 root=$2 hdr arch debs="" triplet

	arch=$(release_arch "$release")
	hdr=/usr/src/linux-headers-$release
	triplet=$(cross_prefix "$arch" | sed 's/-$//')
	cross_ready()
	{
		[ -e "$root$hdr/.mmprobe-cross" ] && [ -e "$root/usr/lib/$triplet/libkmod.so" ] &&
			[ -e "$root/usr/include/$triplet/bits/wordsize.h" ]
	}
	! cross_ready || exit 0
	# The root's lock while it changes.
	cache_lock "root-$(basename "$root" | sed 's/^root-//')"
	trap 'rm -rf "$debs"' EXIT
	! cross_ready || exit 0
	log "installing the $arch cross compiler and libraries, linux-headers-$release"
	if ! in_root "$root" dpkg --print-foreign-architectures | grep -qx "$arch"; then
		in_root "$root" dpkg --add-architecture "$arch"
		root_apt "$root" update >/dev/null || die "apt-get update failed"
	fi
	root_apt "$root" install -y --no-install-recommends "gcc-$triplet" "libc6-dev:$arch" \
		"libkmod-dev:$arch" >/dev/null ||
		die "could not install the $arch cross compiler, libc6-dev:$arch and libkmod-dev:$arch"
	debs=$(root_download "$root" "linux-headers-$release:$arch") ||
		die "could not download linux-headers-$release:$arch"
	# Into the root's merged /usr: a package of 6.1 still ships
	# ./lib/modules, and a plain extraction would make /lib a directory
	# in place of its symlink (and the loader vanish).
	dpkg-deb --fsys-tarfile "$debs"/linux-headers-*.deb |
		tar -x --keep-directory-symlink -C "$root" ||
		die "could not extract linux-headers-$release"
	[ -e "$root$hdr/scripts/Makefile.build" ] ||
		die "linux-headers-$release: its linux-kbuild is not in the root"
	touch "$root$hdr/.mmprobe-cross"
)

# The libraries of ARCH that the programs of build_in_root's OUT (a path in
# ROOT) need, NEEDED by NEEDED, from the root's multiarch directory, and
# the loader, into OUT/lib; and a check that the module is of ARCH.
cross_libs()
{
	local root=$1 out=$2 arch=$3 triplet lib more f loader machine

	case "$arch" in
	arm64) triplet=aarch64-linux-gnu loader=ld-linux-aarch64.so.1 machine=183 ;;
	*) die "cross_libs: no libraries known for $arch" ;;
	esac
	# ELF e_machine (EM_AARCH64 183)
	[ "$(od -An -tu2 -j18 -N2 "$root$out/tree/mmprobe.ko" | tr -d ' ')" = "$machine" ] ||
		die "the cross build for $arch made no $arch module"
	mkdir -p "$root$out/lib"
	more=$(cd "$root" && find ".$out/selftests" -maxdepth 1 -type f -perm -u+x | cut -c2-)
	while [ -n "$more" ]; do
		f=$more
		more=""
		for lib in $(for x in $f; do
				in_root "$root" "$triplet-readelf" -d "$x"
			done | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u); do
			[ -e "$root$out/lib/$lib" ] && continue
			cp -L "$root/usr/lib/$triplet/$lib" "$root$out/lib/" ||
				die "no $arch $lib in the root"
			more="$more $out/lib/$lib"
		done
	done
	cp -L "$root/usr/lib/$loader" "$root$out/lib/" || die "no $arch loader in the root"
}

# busybox-static of ARCH from ROOT's archive, kept in the cache (the root
# has its own architecture's, which the foreign one would replace). Prints
# its path.
cross_busybox()
(
	local arch=$1 root=$2 dir=$MMPROBE_CACHE/busybox-$1 debs=""

	if [ ! -x "$dir/usr/bin/busybox" ]; then
		cache_lock "busybox-$arch"
		trap 'rm -rf "$debs"' EXIT
		if [ ! -x "$dir/usr/bin/busybox" ]; then
			debs=$(root_download "$root" "busybox-static:$arch") ||
				die "could not download busybox-static:$arch"
			rm -rf "$dir"
			dpkg-deb -x "$debs"/busybox-static_*.deb "$dir" ||
				die "could not extract busybox-static:$arch"
		fi
	fi
	echo "$dir/usr/bin/busybox"
)

# mmprobe.ko and the selftests cross-built for another architecture's
# Debian kernel RELEASE in ROOT (build_in_root, with the kselftest headers
# of the release's series). Prints the build directory.
cross_build()
{
	local release=$1 root=$2

	build_in_root "$release" "$root" "$(fetch_source "$(echo "$release" | cut -d. -f1,2)" "$root")"
}
