#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared by vmtest.sh, check.sh and report.sh: the kernel matrix, the cache,
# the Debian build roots and the build of mmprobe in them.
#
# Cache layout, under ${MMPROBE_CACHE:-$HOME/.cache/mmprobe}:
#   root-<suite>/          debootstrap build root (bookworm, trixie)
#   kernel-<release>/      extracted image package: boot/vmlinuz-*, lib/modules
#   src-<series>/          kselftest headers, run_kselftest.sh and checkpatch
#                          from the series' linux-source package
# Build products go to root-<suite>/build/<release>.<pid>/, one per run, so
# runs in parallel do not share a tree; build_clean removes them.

MMPROBE_CACHE=${MMPROBE_CACHE:-$HOME/.cache/mmprobe}
MMPROBE_MIRROR=${MMPROBE_MIRROR:-http://deb.debian.org/debian}
MMPROBE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MMPROBE_KERNELS_ALL="6.1 6.12 7.3"

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

	for tool in qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap \
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
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing \
				>/dev/null 2>&1; then
			apt-get update -q >/dev/null 2>&1
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing \
				>/dev/null || die "could not install:$missing"
		fi
		return 0
	fi
	die "missing host packages:$missing (install them, as root, with apt-get)"
}

in_root()
{
	local root=$1

	shift
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"
}

# Make (once) the build root of a suite and refresh its package lists daily.
prepare_root()
{
	local suite=$1 root=$MMPROBE_CACHE/root-$1

	mkdir -p "$MMPROBE_CACHE"
	if [ ! -e "$root/.mmprobe-root" ]; then
		log "creating the $suite build root (debootstrap, about a minute)"
		rm -rf "$root"
		debootstrap --variant=minbase \
			--include="$(suite_compiler "$suite"),$ROOT_PACKAGES" \
			"$suite" "$root" "$MMPROBE_MIRROR" >"$MMPROBE_CACHE/debootstrap-$suite.log" 2>&1 ||
			die "debootstrap $suite failed, see $MMPROBE_CACHE/debootstrap-$suite.log"
		suite_sources "$suite" >"$root/etc/apt/sources.list"
		in_root "$root" apt-get update -q >/dev/null ||
			die "apt-get update in the $suite root failed"
		touch "$root/.mmprobe-root"
	elif [ -z "$(find "$root/.mmprobe-root" -mmin -1440)" ]; then
		log "refreshing the $suite package lists"
		in_root "$root" apt-get update -q >/dev/null 2>&1 &&
			touch "$root/.mmprobe-root" ||
			log "apt-get update failed in the $suite root: using the cached lists"
	fi
	mount_root_fs "$root"
	echo "$root"
}

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
{
	local release=$1 root=$2 dir=$MMPROBE_CACHE/kernel-$1 deb pkgs

	if [ ! -e "$dir/.mmprobe-kernel" ]; then
		log "downloading kernel $release"
		rm -rf "$dir"
		mkdir -p "$dir/debs"
		# Since 7.x the image package is split: take every linux-*
		# package of this release that the image depends on.
		pkgs="linux-image-$release $(in_root "$root" apt-cache depends \
			"linux-image-$release" | awk '/Depends: linux-/ {print $2}' |
			{ grep -F -- "$release" || true; } | sort -u | tr '\n' ' ')"
		mkdir -p "$root/tmp/debs"
		rm -f "$root"/tmp/debs/*.deb
		(cd "$root/tmp/debs" && in_root "$root" sh -c \
			"cd /tmp/debs && apt-get download -q $pkgs" >/dev/null) ||
			die "could not download $pkgs"
		for deb in "$root"/tmp/debs/*.deb; do
			dpkg-deb -x "$deb" "$dir" || die "could not extract $deb"
		done
		rm -f "$root"/tmp/debs/*.deb
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
	if [ ! -d "$root/usr/src/linux-headers-$release" ]; then
		log "installing linux-headers-$release in the build root"
		in_root "$root" apt-get install -y -q --no-install-recommends "linux-headers-$release" \
			>/dev/null || die "could not install linux-headers-$release"
	fi
}

# kselftest.h, kselftest_harness.h, run_kselftest.sh and checkpatch.pl from
# the series' linux-source package; the full tree is not kept.
fetch_source()
{
	local series=$1 root=$2 dir=$MMPROBE_CACHE/src-$1 tarball

	[ -e "$dir/.mmprobe-src" ] && { echo "$dir"; return 0; }
	log "extracting kselftest headers and checkpatch from linux-source-$series"
	in_root "$root" apt-get install -y -q --no-install-recommends "linux-source-$series" >/dev/null ||
		die "could not install linux-source-$series"
	tarball=$(ls "$root"/usr/src/linux-source-"$series".tar.* | head -n 1)
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -xf "$tarball" -C "$dir" --strip-components=1 --wildcards \
		'*/tools/testing/selftests/kselftest.h' \
		'*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/run_kselftest.sh' \
		'*/tools/testing/selftests/kselftest/*' \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' '*/.clang-format' ||
		die "could not extract from $tarball"
	in_root "$root" apt-get purge -y -q "linux-source-$series" >/dev/null 2>&1
	touch "$dir/.mmprobe-src"
	echo "$dir"
}

# Build mmprobe.ko and the selftests for a release inside its build root.
# W=1 warnings fail the build. Prints the output directory.
build_in_root()
{
	local release=$1 root=$2 src=$3 extra=${4:-} out=/build/$1.$$ log cc

	cc=$(suite_compiler "$(basename "$root" | sed 's/^root-//')")

	rm -rf "$root$out"
	mkdir -p "$root$out/tree" "$root/ksft"
	(cd "$MMPROBE_TOP" && tar -cf - --exclude=.git --exclude='*.ko' \
		--exclude='*.o' Kbuild Makefile module selftests) |
		tar -xf - -C "$root$out/tree"
	mkdir -p "$root/ksft/$release"
	cp -a "$src/tools/testing/selftests/." "$root/ksft/$release/"
	log=$root$out/build.log
	if ! in_root "$root" make -C "/usr/src/linux-headers-$release" \
		M="$out/tree" W=1 $extra modules >"$log" 2>&1; then
		cat "$log" >&2
		die "module build failed for $release"
	fi
	if grep -q 'warning:' "$log"; then
		grep -B2 -A4 'warning:' "$log" >&2
		die "module build for $release has warnings"
	fi
	if ! in_root "$root" make -C "$out/tree/selftests" CC="$cc" \
		KSFT_DIR="/ksft/$release" OUTPUT="$out/selftests" \
		>>"$log" 2>&1; then
		cat "$log" >&2
		die "selftests build failed for $release"
	fi
	echo "$root$out"
}

# Remove what build_in_root made for this run.
build_clean()
{
	[ -n "${1:-}" ] && rm -rf "$1"
}

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

# Check that every file of an initramfs tree is the copy of its origin
# (/init: $INITRD_INIT, by default scripts/guest-init.sh; /guest-setup.sh,
# which both inits source: scripts/guest-setup.sh):
# user space (busybox, libraries, loader, programs) that of the build root,
# resolved inside it; kernel modules and config those of the kernel package
# (KDIR), or, when the root's depmod made the module indexes again (vmtest.sh
# -D), those of MODROOT; mmprobe.ko, the selftests and the installed
# kselftest tree those of the build in the root (OUT). Generated files
# (vm.conf, cmd) and -f files are not checked. Prints "N files checked, M
# differ" and lists the files that differ, returning 1 then.
initrd_verify()
{
	local root=$1 initrd=$2 out=$3 kdir=$4 modroot=${5-} f rel origin n=0 bad=0

	while IFS= read -r f; do
		rel=${f#"$initrd"}
		case "$rel" in
		/init) origin=${INITRD_INIT:-$MMPROBE_TOP/scripts/guest-init.sh} ;;
		/guest-setup.sh) origin=$MMPROBE_TOP/scripts/guest-setup.sh ;;
		/mmprobe/vm.conf|/mmprobe/cmd) continue ;;
		/mmprobe/mmprobe.ko) origin=$out/tree/mmprobe.ko ;;
		/mmprobe/settings) origin=$MMPROBE_TOP/selftests/settings ;;
		/mmprobe/*)
			origin=$out/selftests/${rel##*/}
			[ -e "$origin" ] || continue
			;;
		/kselftest/*) origin=$out$rel ;;
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
{
	local release=$1 root=$2 ver log=$MMPROBE_CACHE/dkms-$1.log ko

	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$MMPROBE_TOP/dkms.conf")
	[ -n "$ver" ] || die "no PACKAGE_VERSION in dkms.conf"
	if [ ! -x "$root/usr/sbin/dkms" ]; then
		log "installing dkms in the build root"
		in_root "$root" apt-get install -y -q --no-install-recommends dkms \
			>/dev/null || die "could not install dkms in $root"
	fi
	rm -rf "$root/usr/src/mmprobe-$ver"
	mkdir -p "$root/usr/src/mmprobe-$ver"
	(cd "$MMPROBE_TOP" && tar -cf - --exclude='*.ko' --exclude='*.o' \
		Kbuild Makefile dkms.conf module) | tar -xf - -C "$root/usr/src/mmprobe-$ver"
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
	echo "/$ko"
}

# "make -C selftests install" of a build (build_in_root's OUT) inside its
# root, into OUT/kselftest: the tree the series' run_kselftest.sh runs. KO is
# the mmprobe.ko it gets, or empty: the programs then load mmprobe by name.
ksft_install()
{
	local release=$1 root=$2 out=${3#"$2"} ko=${4-}

	in_root "$root" make -s -C "$out/tree/selftests" \
		CC="$(suite_compiler "$(basename "$root" | sed 's/^root-//')")" \
		KSFT_DIR="/ksft/$release" OUTPUT="$out/selftests" \
		INSTALL_PATH="$out/kselftest" MMPROBE_KO="$ko" install \
		>>"$root$out/build.log" 2>&1 ||
		die "make -C selftests install failed for $release (see $root$out/build.log)"
}
