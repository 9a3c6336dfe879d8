#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The virtio abstraction gives a device one set of virtqueues at a time: a second find_vqs is
# refused (EBUSY) while the first set lives, since dropping it would delete the first set's
# queues under their users; a set made once the first is dropped works (the device uses a
# request on it). The test module rvirtio_vqcheck does the calls in its probe, on the entropy
# device, on the C virtio-pci and on rvirtio-pci.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	rmmod rvirtio_vqcheck 2>/dev/null
	rvirtio_release "$RNG0"
}
trap cleanup EXIT

# The device must be free for the test driver: the C driver goes, if a test loaded it.
if [ -d /sys/module/virtio_rng ]; then
	must rmmod virtio_rng
fi

check() { # check TRANSPORT
	local vdev drv msgs
	vdev=$(virtio_of "$RNG0") || fail "no virtio device on $RNG0 ($1)"
	drv=$(readlink "/sys/bus/virtio/devices/$vdev/driver" 2>/dev/null) &&
		fail "$vdev already has driver $(basename "$drv")"
	echo "rvirtio: virtio_vqs_once on $1" > /dev/kmsg
	must rvirtio_load selftests/modules/rvirtio_vqcheck
	wait_for 5 test -e "/sys/bus/virtio/drivers/rvirtio_vqcheck/$vdev"
	msgs=$(dmesg | sed -n "/rvirtio: virtio_vqs_once on $1/,\$p" | grep "$vdev:")
	echo "$msgs" | sed "s/^/$1: /"
	[ -e "/sys/bus/virtio/drivers/rvirtio_vqcheck/$vdev" ] ||
		fail "rvirtio_vqcheck did not bind $vdev on $1"
	grep -q "find_vqs: first created, second EBUSY, after the first dropped created" \
		<<<"$msgs" || fail "find_vqs on $1 did not give created, EBUSY, created"
	grep -q "request used: 16 bytes written" <<<"$msgs" ||
		fail "the device on $1 did not use the request on the last set"
	must rmmod rvirtio_vqcheck
}

check virtio-pci
rvirtio_take "$RNG0"
check rvirtio-pci
