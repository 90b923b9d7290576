#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host-check.sh: prove the runner on another host distribution. A
# debootstrap root of that distribution is used as the host: vmtest.sh runs
# chrooted in it, in a mount namespace of its own, with /proc, /sys and /dev
# bound, the tree at /mmprobe and the cache at /cache, so that the build
# roots and kernels are shared with this machine's runs. The host root
# starts as a minbase system: vmtest.sh installs what it needs itself.
#
#   scripts/host-check.sh HOST [KERNEL...]     (default kernels: 6.1 7.3)
#
# HOST: bookworm (Debian 12), trixie (Debian 13), noble (Ubuntu 24.04).
# The host root is kept as $MMPROBE_CACHE/host-HOST. Exits with the
# highest vmtest.sh exit code.

set -ue
set -o pipefail

. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || die "usage: $0 bookworm|trixie|noble [KERNEL...]"
HOST=$1
shift
[ $# -gt 0 ] || set -- 6.1 7.3
[ "$(id -u)" -eq 0 ] || die "host-check.sh needs root (debootstrap, chroot)"
need_host_tools

DIR=$MMPROBE_CACHE/host-$HOST
ARGS=()
case "$HOST" in
bookworm|trixie)
	MIRROR=$MMPROBE_MIRROR
	;;
noble)
	MIRROR=${MMPROBE_UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}
	# Debian's ubuntu-keyring (trixie), taken through the trixie root.
	keyring=$MMPROBE_CACHE/ubuntu-keyring/usr/share/keyrings/ubuntu-archive-keyring.gpg
	if [ ! -e "$keyring" ]; then
		root=$(prepare_root trixie)
		debs=$(root_download "$root" ubuntu-keyring) ||
			die "could not download ubuntu-keyring"
		dpkg-deb -x "$debs"/ubuntu-keyring_*.deb "$MMPROBE_CACHE/ubuntu-keyring"
		rm -rf "$debs"
	fi
	# shellcheck disable=SC2054 # the commas are in --components
	ARGS=(--keyring="$keyring" --components=main,universe)
	;;
*)
	die "unknown host '$HOST' (bookworm, trixie, noble)"
	;;
esac

if [ ! -e "$DIR/.mmprobe-host" ]; then
	log "creating the $HOST host root (debootstrap)"
	rm -rf "$DIR"
	script=""
	[ -e "/usr/share/debootstrap/scripts/$HOST" ] ||
		script=/usr/share/debootstrap/scripts/gutsy
	debootstrap --variant=minbase "${ARGS[@]+"${ARGS[@]}"}" "$HOST" "$DIR" "$MIRROR" \
		$script >"$MMPROBE_CACHE/debootstrap-host-$HOST.log" 2>&1 ||
		die "debootstrap $HOST failed, see $MMPROBE_CACHE/debootstrap-host-$HOST.log"
	if [ "$HOST" = noble ]; then
		echo "deb $MIRROR noble main universe" >"$DIR/etc/apt/sources.list"
		echo "deb $MIRROR noble-updates main universe" >>"$DIR/etc/apt/sources.list"
	fi
	mkdir -p "$DIR/mmprobe" "$DIR/cache"
	touch "$DIR/.mmprobe-host"
fi
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
log "host root: $(. "$DIR/etc/os-release" && echo "$PRETTY_NAME")"

rc=0
for k in "$@"; do
	log "vmtest.sh -k $k on the $HOST host"
	krc=0
	# Mounts made in the namespace (the binds, the build roots' /proc)
	# go with it.
	unshare -m --propagation private sh -c '
		set -e
		dir=$1 top=$2 cache=$3
		mount -t proc proc "$dir/proc"
		mount --rbind /sys "$dir/sys"
		mount --rbind /dev "$dir/dev"
		mount --bind "$top" "$dir/mmprobe"
		mount --bind "$cache" "$dir/cache"
		shift 3
		exec chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C MMPROBE_CACHE=/cache TMPDIR=/tmp \
			/mmprobe/scripts/vmtest.sh "$@"' sh "$DIR" "$MMPROBE_TOP" \
		"$MMPROBE_CACHE" -k "$k" || krc=$?
	log "vmtest.sh -k $k on the $HOST host: exit $krc"
	if [ "$krc" -gt "$rc" ]; then
		rc=$krc
	fi
done
exit "$rc"
