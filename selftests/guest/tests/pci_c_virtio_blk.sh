#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Upstream C virtio_blk on the rvirtio-pci transport: write a random pattern, drop the caches,
# read it back and compare checksums. Its interrupts are those the C virtio-pci gives the same
# disk: with $RVIRTIO_EXPECT_IRQ=per-queue, a config vector and one vector per request queue,
# spread over the CPUs as virtio_blk asks (managed affinity), each request queue's on the same
# CPUs as on the C transport.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	rvirtio_release "$BLK0"
}
trap cleanup EXIT

must kmod_load virtio_blk
cvdev=$(virtio_of "$BLK0") || fail "no virtio device on $BLK0"
wait_for 5 ls "/sys/bus/virtio/devices/$cvdev/block" || fail "no disk on $cvdev (C virtio-pci)"
c_vectors=$(irq_vectors "$cvdev")
echo "C virtio-pci, $cvdev:"
echo "$c_vectors" | sed 's/^/  /'
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

r_vectors=$(irq_vectors "$vdev")
echo "rvirtio-pci, $vdev:"
echo "$r_vectors" | sed 's/^/  /'
mode=${RVIRTIO_EXPECT_IRQ:-per-queue}
if [ "$mode" = per-queue ]; then
	nreq=$(echo "$c_vectors" | grep -c '^req\.')
	[ "$nreq" -ge 2 ] || fail "the C transport gave $nreq request queue vectors, expected 2 or more"
	echo "$r_vectors" | grep -q '^config ' || fail "no $vdev-config vector"
	[ "$(echo "$r_vectors" | grep -c '^req\.')" = "$nreq" ] ||
		fail "$vdev has not one vector per request queue as on the C transport"
	# Managed affinity: each request queue on the CPUs the C transport put it on.
	[ "$(echo "$r_vectors" | grep '^req\.' | cut -d' ' -f1,2)" = "$(echo "$c_vectors" | grep '^req\.' | cut -d' ' -f1,2)" ] ||
		fail "request queue vectors not spread as on the C transport"
	total=0
	for q in $(echo "$r_vectors" | awk '/^req\./ { print $1 }'); do
		total=$((total + $(irq_count "$vdev-$q")))
	done
	[ "$total" -gt 0 ] || fail "no interrupts on the request queue vectors"
	echo "interrupt mode: per-queue, $nreq request queue vectors as on the C transport, $total interrupts"
fi
