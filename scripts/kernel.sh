#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or find in the cache) the pinned guest kernel.
#
#   scripts/kernel.sh [normal|debug]        build if needed, print the build directory (KDIR)
#   scripts/kernel.sh --path [normal|debug] print the build directory without building
#   scripts/kernel.sh --source              extract the pristine source if needed, print its tree
#
# The build lives in $RVIRTIO_CACHE/kernel/<version>-<flavour>-<key>, where <key> hashes the
# kernel tarball, our config fragments and the toolchain versions. A complete build carries a
# stamp file; with it present nothing is rebuilt.
set -euo pipefail
. "$(dirname "$0")/env.sh"

only_path=0 only_source=0
if [ "${1:-}" = --path ]; then only_path=1; shift; fi
if [ "${1:-}" = --source ]; then only_source=1; shift; fi
flavour=${1:-normal}
case $flavour in normal|debug) ;; *) echo "kernel.sh: unknown flavour '$flavour'" >&2; exit 2;; esac

# Locate and verify the source tarball.
tarball=${KERNEL_TARBALL:-}
if [ -z "$tarball" ]; then
	tarball=$RVIRTIO_TOP/../shared/linux/linux-source-7.2.tar.xz
	if [ ! -f "$tarball" ]; then
		cat >&2 <<MSG
kernel.sh: no kernel tarball. Pass KERNEL_TARBALL=<path to linux-source-7.2.tar.xz> (Debian's
linux-source-7.2 7.2.13-1, from snapshot.debian.org) or the upstream linux-$KERNEL_VERSION.tar.xz
from https://cdn.kernel.org/pub/linux/kernel/v7.x/.
MSG
		exit 1
	fi
	tarsum=$(sha256sum "$tarball" | cut -d' ' -f1)
	if [ "$tarsum" != "$KERNEL_TARBALL_SHA256" ]; then
		echo "kernel.sh: $tarball: sha256 $tarsum, expected $KERNEL_TARBALL_SHA256" >&2
		exit 1
	fi
else
	tarsum=$(sha256sum "$tarball" | cut -d' ' -f1)
fi

frags=("$RVIRTIO_TOP/kernel/rvirtio.config")
[ "$flavour" = debug ] && frags+=("$RVIRTIO_TOP/kernel/rvirtio-debug.config")
key=$({
	echo "$tarsum $flavour"
	cat "${frags[@]}"
	# Before the toolchain is installed (make evaluates KDIR early), this key differs and is
	# only used to print a path; kernel.sh runs again after the setup step.
	/usr/bin/rustc --version 2>/dev/null
	"$RVIRTIO_CARGO_ROOT/bin/bindgen" --version 2>/dev/null
	clang --version 2>/dev/null | head -n 1
} | sha256sum | cut -c1-12)

src=$RVIRTIO_CACHE/src/${tarsum:0:12}
out=$RVIRTIO_CACHE/kernel/$KERNEL_VERSION-$flavour-$key
stamp=$out/.rvirtio-complete

if [ $only_path = 1 ]; then echo "$out"; exit 0; fi
if [ $only_source = 0 ] && [ -f "$stamp" ]; then echo "$out"; exit 0; fi

log() { echo "kernel.sh: $*" >&2; }

if [ ! -f "$src/.extracted" ]; then
	log "extracting $tarball"
	rm -rf "$src"; mkdir -p "$src"
	tar -C "$src" -xf "$tarball"
	touch "$src/.extracted"
fi
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d | head -n 1)
# The extracted tree is never written to (builds use O=): it is the pristine source.
if [ $only_source = 1 ]; then echo "$tree"; exit 0; fi

mk() { make -C "$tree" O="$out" "${RVIRTIO_MAKEFLAGS[@]}" "$@"; }

mkdir -p "$out"
start=$(date +%s)
if [ ! -f "$out/.config" ] || [ ! -f "$out/.rvirtio-configured" ]; then
	log "configuring $flavour kernel in $out"
	mk defconfig >&2
	extra=("$tree/kernel/configs/kvm_guest.config" "$RVIRTIO_TOP/kernel/rvirtio.config")
	if [ "$flavour" = debug ]; then
		extra+=("$tree/kernel/configs/debug.config" "$RVIRTIO_TOP/kernel/rvirtio-debug.config")
	fi
	(cd "$tree" && ARCH=x86_64 KCONFIG_CONFIG="$out/.config" \
		scripts/kconfig/merge_config.sh -m -O "$out" "$out/.config" "${extra[@]}") >&2
	mk olddefconfig >&2
	# Refuse a config that silently lost something the tests depend on.
	for sym in RUST=y VIRTIO_PCI=y VIRTIO_NET=m VIRTIO_BLK=m HW_RANDOM_VIRTIO=m VIRTIO_CONSOLE=m \
		DEBUG_FS=y FAULT_INJECTION=y FAIL_FUNCTION=y PM_SLEEP=y NET_9P_VIRTIO=y 9P_FS=y EXT4_FS=m \
		NET_DEVLINK=y; do
		if ! grep -qx "CONFIG_$sym" "$out/.config"; then
			log "config lacks CONFIG_$sym (is the toolchain complete? see scripts/setup-toolchain.sh)"
			exit 1
		fi
	done
	if [ "$flavour" = debug ]; then
		for sym in KASAN=y PROVE_LOCKING=y DEBUG_KMEMLEAK=y DEBUG_NET=y; do
			grep -qx "CONFIG_$sym" "$out/.config" || { log "config lacks CONFIG_$sym"; exit 1; }
		done
	fi
	touch "$out/.rvirtio-configured"
fi

log "building $flavour kernel (-j$(nproc)); this takes a while the first time"
mk -j"$(nproc)" bzImage modules >&2
rm -rf "$out/modroot"
mk INSTALL_MOD_PATH="$out/modroot" INSTALL_MOD_STRIP=1 DEPMOD=/sbin/depmod modules_install >&2
end=$(date +%s)
echo "$((end - start))" > "$out/.rvirtio-build-seconds"
log "built in $((end - start)) s"
touch "$stamp"
echo "$out"
