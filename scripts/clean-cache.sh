#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# clean-cache.sh: "make clean-cache": unmount what the runner mounted in its
# cache (the build roots' /proc, kernel trees bound by vmtest.sh -K) and
# remove the cache, $MMPROBE_CACHE (default $HOME/.cache/mmprobe).
#
# It waits for no run: stop the runs that use the cache first. It never
# removes anything through a mount it could not undo (rm --one-file-system),
# so a kernel tree bound into a build root is safe.

set -ue

. "$(dirname "$0")/lib.sh"

[ -d "$MMPROBE_CACHE" ] || { log "no cache at $MMPROBE_CACHE"; exit 0; }
cache=$(cd "$MMPROBE_CACHE" && pwd -P)
# Mount points under the cache, the deepest first (mountinfo's field 5,
# with its octal escapes of blanks).
mounts()
{
	awk -v c="$cache/" 'index($5, c) == 1 { print $5 }' /proc/self/mountinfo |
		sed 's/\\040/ /g' | sort -r
}
for _ in 1 2 3; do
	while IFS= read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" || true
	done < <(mounts)
	[ -z "$(mounts)" ] && break
done
if [ -n "$(mounts)" ]; then
	mounts >&2
	die "could not unmount these: nothing removed"
fi
log "removing $cache ($(du -sh "$cache" 2>/dev/null | cut -f1))"
rm -rf --one-file-system "$cache"
