#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the pinned toolchain from the package registries, idempotently.
#
# Debian packages: rustc-web/rust-web-src (rustc 1.96 with core sources, from bookworm-security),
# clang/lld/llvm 19, the kernel build dependencies, QEMU, the guest's userland tools and
# python3-venv (the benchmark installs matplotlib in a venv of its own).
# crates.io: bindgen-cli 0.72.1.
set -euo pipefail

BINDGEN_VERSION=0.72.1
CARGO_ROOT=${RVIRTIO_CARGO_ROOT:-${RVIRTIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvirtio}/cargo}

pkgs=(
	rustc-web rust-web-src rust-web-clippy rustfmt-web
	clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc libelf-dev libssl-dev cpio kmod xz-utils make
	qemu-system-x86
	busybox-static iproute2 ethtool iperf3 iputils-ping python3 python3-venv socat
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! "$CARGO_ROOT/bin/bindgen" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	echo "setup: installing bindgen-cli $BINDGEN_VERSION"
	cargo install --locked --root "$CARGO_ROOT" bindgen-cli --version "$BINDGEN_VERSION"
fi

/usr/bin/rustc --version
"$CARGO_ROOT/bin/bindgen" --version
/usr/lib/llvm-19/bin/clang --version | head -n 1
