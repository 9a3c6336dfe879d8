#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Upstream C virtio_rng on the rvirtio-pci transport: bytes from /dev/hwrng.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	rvirtio_release "$RNG0"
}
trap cleanup EXIT

must kmod_load virtio_rng
rvirtio_take "$RNG0"
vdev=$(virtio_of "$RNG0") || fail "no virtio device on $RNG0"
hw=/sys/class/misc/hw_random
wait_for 5 grep -q virtio_rng "$hw/rng_available" || fail "no virtio_rng source"
src=$(tr ' ' '\n' < "$hw/rng_available" | grep virtio_rng | head -n 1)
echo "$src" > "$hw/rng_current"
echo "$vdev on rvirtio-pci: current source $(cat "$hw/rng_current")"
n=$(dd if=/dev/hwrng bs=64 count=16 iflag=fullblock status=none | wc -c)
[ "$n" = 1024 ] || fail "read $n bytes from /dev/hwrng, expected 1024"
distinct=$(dd if=/dev/hwrng bs=256 count=1 iflag=fullblock status=none | od -An -v -tu1 | tr -s ' ' '\n' | sort -u | wc -l)
echo "1024 bytes read; $distinct distinct byte values in 256"
[ "$distinct" -gt 64 ] || fail "hwrng output does not look random"
