#!/usr/bin/env bash
# debian-rootfs.sh OUT.tar — write a Debian bookworm root filesystem with python3 as a tarball.
#
# The tree is `debootstrap --variant=minbase --include=python3 bookworm` from
# http://deb.debian.org/debian (python3, not python3-minimal, which lacks most of the standard
# library, http.server included), less apt's downloaded .debs and package lists (as in Debian's
# Docker images), archived with numeric owners and everything else kept (device nodes in /dev,
# setuid bits, hard links): `tar --numeric-owner -C TREE -cf OUT.tar .`, the shape of a rootfs
# tarball for `nook import` or an image layer.
#
# Built once and cached as $NOOK_TEST_CACHE/debian-bookworm-python3.tar (default
# /var/cache/nook-test); the cache is reused while it is newer than this script, so editing the
# script rebuilds it. OUT.tar is a copy (a reflink where the filesystem can). A lock serialises
# concurrent callers. Needs root (debootstrap); installs debootstrap with apt-get if missing.
# The temporary tree is removed on failure, after unmounting anything debootstrap left mounted
# in it. Exit status: 0 written, 1 failed, 2 usage.
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi
out=$1
script=$(readlink -f "$0")
cache=${NOOK_TEST_CACHE:-/var/cache/nook-test}
tarball=$cache/debian-bookworm-python3.tar
mirror=http://deb.debian.org/debian

log() { echo "debian-rootfs: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	log "needs root (debootstrap)"
	exit 1
fi
mkdir -p "$cache"
exec 9>"$cache/debian-bookworm-python3.lock"
flock 9

fresh() { [ -s "$tarball" ] && [ "$tarball" -nt "$script" ]; }

# tmp is the build's scratch directory in the cache (same filesystem, so the tarball is
# renamed into place whole); cleanup unmounts what debootstrap mounted under it (proc, sys,
# dev/pts when it was interrupted) before removing it, never crossing into another filesystem.
tmp='' partial=''
cleanup() {
	[ -z "$partial" ] || rm -f "$partial"
	[ -n "$tmp" ] && [ -d "$tmp" ] || return 0
	local m
	# mountinfo field 5 is the mount point; deepest first.
	awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" || true; done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
# A signal ends the script through exit, so the EXIT trap cleans up.
trap 'exit 1' HUP INT TERM

build() {
	if ! command -v debootstrap >/dev/null; then
		log "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install \
			--no-install-recommends debootstrap >&2 ||
			{ apt-get -q -y update >&2 && DEBIAN_FRONTEND=noninteractive apt-get -q -y \
				-o DPkg::Lock::Timeout=600 install --no-install-recommends debootstrap >&2; }
	fi
	tmp=$(mktemp -d "$cache/build.XXXXXX")
	# debootstrap downloads with wget, whose defaults (20 tries, 900 s read timeout) would hang
	# for hours on a network that drops packets: fail in minutes instead, and first with one
	# quick look at the mirror.
	printf 'timeout = 30\ntries = 3\n' >"$tmp/wgetrc"
	export WGETRC=$tmp/wgetrc
	if ! wget -q -O /dev/null "$mirror/dists/bookworm/InRelease"; then
		log "$mirror is not reachable"
		return 1
	fi
	log "debootstrap --variant=minbase --include=python3 bookworm from $mirror"
	local start=$SECONDS
	if ! debootstrap --variant=minbase --include=python3 bookworm "$tmp/tree" "$mirror" \
		>"$tmp/debootstrap.log" 2>&1; then
		tail -n 30 "$tmp/debootstrap.log" >&2
		[ -f "$tmp/tree/debootstrap/debootstrap.log" ] && tail -n 30 "$tmp/tree/debootstrap/debootstrap.log" >&2
		log "debootstrap failed"
		return 1
	fi
	# What Debian's Docker images drop too (apt-get clean; rm -rf /var/lib/apt/lists/*): the
	# downloaded .debs and the package lists, 85 of the tree's 225 MB.
	find "$tmp/tree/var/cache/apt/archives" -maxdepth 1 -type f -name '*.deb' -delete
	find "$tmp/tree/var/lib/apt/lists" -mindepth 1 -delete
	tar --numeric-owner -C "$tmp/tree" -cf "$tmp/rootfs.tar" .
	mv "$tmp/rootfs.tar" "$tarball"
	log "built $tarball ($(du -h "$tarball" | cut -f1)) in $((SECONDS - start))s"
}

if ! fresh; then
	build
fi
if [ "$(readlink -f "$out")" != "$tarball" ]; then
	partial=$out.tmp.$$
	cp --reflink=auto "$tarball" "$partial"
	mv "$partial" "$out"
	partial=
fi
