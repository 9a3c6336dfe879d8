#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Upstream C virtio_blk on the rvirtio-pci transport: write a random pattern, drop the caches,
# read it back and compare checksums.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	rvirtio_release "$BLK0"
}
trap cleanup EXIT

must kmod_load virtio_blk
rvirtio_take "$BLK0"
vdev=$(virtio_of "$BLK0") || fail "no virtio device on $BLK0"
wait_for 5 ls "/sys/bus/virtio/devices/$vdev/block" || fail "no disk on $vdev"
disk=$(ls "/sys/bus/virtio/devices/$vdev/block")
wait_for 5 test -b "/dev/$disk" || fail "no /dev/$disk"
echo "$vdev on rvirtio-pci: /dev/$disk, $(cat /sys/block/$disk/size) sectors"

head -c 16M /dev/urandom > /tmp/pattern
must dd if=/tmp/pattern of="/dev/$disk" bs=1M oflag=direct conv=fsync status=none
sync
echo 3 > /proc/sys/vm/drop_caches
must dd if="/dev/$disk" of=/tmp/readback bs=1M count=16 iflag=direct status=none
a=$(sha256sum < /tmp/pattern | cut -d' ' -f1)
b=$(sha256sum < /tmp/readback | cut -d' ' -f1)
echo "written $a"
echo "read    $b"
[ "$a" = "$b" ] || fail "data read back differs"
