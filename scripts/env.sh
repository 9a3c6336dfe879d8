# SPDX-License-Identifier: GPL-2.0
#
# Common environment for the build and the VM: the pinned toolchain and the cache location.
# Sourced by the other scripts; sets variables only.

RVIRTIO_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RVIRTIO_CACHE=${RVIRTIO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rvirtio}
RVIRTIO_CARGO_ROOT=${RVIRTIO_CARGO_ROOT:-$RVIRTIO_CACHE/cargo}
KERNEL_VERSION=7.2.13
KERNEL_TARBALL_SHA256=ecb3877b9988c936dcc64c63af8a54c2fa6df7f717d4e5ee429d0f4c4859e68b

export PATH=/usr/lib/llvm-19/bin:$RVIRTIO_CARGO_ROOT/bin:$PATH
# The rustup rustc on PATH has no core sources; the Debian one does.
RVIRTIO_MAKEFLAGS=(LLVM=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTFMT=/usr/bin/rustfmt
	CLIPPY_DRIVER=/usr/bin/clippy-driver
	BINDGEN="$RVIRTIO_CARGO_ROOT/bin/bindgen")
