#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the insn_count QEMU plugin (insn_count.c here) for the QEMU that will run it, and
# prints the path of the shared object. The plugin builds against the qemu-plugin.h of that
# QEMU: taken from the source of the installed Debian package (the header alone, cached under
# $RVIRTIO_CACHE/qemu-plugin/VERSION, with the plugin). Used by make profile and make bench.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/scripts/env.sh"
here=$top/selftests/bench/profile
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

qemu=$(command -v qemu-system-x86_64) || { echo "plugin: no qemu-system-x86_64" >&2; exit 1; }
# The source version of the installed QEMU, e.g. 1:7.2+dfsg-7+deb12u18 -> 7.2+dfsg.
pkg=$(dpkg-query -S "$qemu" 2> /dev/null | cut -d: -f1) || pkg=
ver=
[ -n "$pkg" ] && ver=$(dpkg-query -W -f '${source:Upstream-Version}' "$pkg" 2> /dev/null)
if [ -z "$ver" ]; then
	echo "plugin: $qemu is not from a Debian package: cannot tell which qemu-plugin.h it needs" >&2
	exit 1
fi
cache=$RVIRTIO_CACHE/qemu-plugin/$ver
header=$cache/include/qemu-plugin.h
if [ ! -s "$header" ]; then
	echo "plugin: fetching qemu-plugin.h of QEMU $ver from the Debian source package" >&2
	mkdir -p "$cache/include"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	curl -fsS -o "$tmp/orig.tar.xz" "$mirror/pool/main/q/qemu/qemu_$ver.orig.tar.xz"
	tar -xJf "$tmp/orig.tar.xz" -C "$tmp" --wildcards '*/include/qemu/qemu-plugin.h'
	cp "$tmp"/*/include/qemu/qemu-plugin.h "$header.tmp"
	mv "$header.tmp" "$header"
fi
plugin=$cache/libinsn_count.so
if [ ! -f "$plugin" ] || [ "$here/insn_count.c" -nt "$plugin" ]; then
	gcc -O2 -Wall -shared -fPIC -I"$cache/include" -o "$plugin.tmp" "$here/insn_count.c" -lpthread
	mv "$plugin.tmp" "$plugin"
fi
echo "$plugin"
