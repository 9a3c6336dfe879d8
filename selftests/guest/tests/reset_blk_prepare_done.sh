#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Upstream C virtio_blk on rvirtio-pci recovers from DEVICE_NEEDS_RESET by
# reset_prepare/reset_done: in a write/verify loop the data written before each injection
# reads back intact after it. The injection comes between the loop's writes: a request in
# flight when QEMU breaks the device is never completed, and virtio_blk's reset_prepare waits
# for it (see Documentation/rvirtio-reset.rst).
. "$(dirname "$0")/../lib.sh"

cleanup() {
	rvirtio_release "$BLK0"
}
trap cleanup EXIT

must kmod_load virtio_blk
rvirtio_take "$BLK0" recovery_window_ms=200
vdev=$(virtio_of "$BLK0") || fail "no virtio device on $BLK0"
wait_for 5 ls "/sys/bus/virtio/devices/$vdev/block" || fail "no disk on $vdev"
disk=$(ls "/sys/bus/virtio/devices/$vdev/block")
wait_for 5 test -b "/dev/$disk" || fail "no /dev/$disk"
mark=$(vectors_mark "$BLK0")

for round in 1 2 3; do
	head -c 8M /dev/urandom > /tmp/pattern
	must dd if=/tmp/pattern of="/dev/$disk" bs=1M seek=$((round * 8)) oflag=direct conv=fsync status=none
	before=$(recovery_field "$BLK0" recoveries)
	errors=$(device_errors)
	echo 0 > "$(rvirtio_debugfs "$BLK0")/inject" || fail "injection failed"
	wait_for 5 recovery_above "$BLK0" recoveries "$before" ||
		fail "no recovery: $(cat "$(rvirtio_debugfs "$BLK0")/recovery")"
	assert_device_raised "$errors" "round $round: the device did not raise the error itself"
	assert_broken blk0 false "round $round: blk0 still broken after the recovery"
	echo 3 > /proc/sys/vm/drop_caches
	must dd if="/dev/$disk" of=/tmp/readback bs=1M skip=$((round * 8)) count=8 iflag=direct status=none
	cmp -s /tmp/pattern /tmp/readback || fail "round $round: data read back differs"
	echo "round $round: QEMU: \"$(device_last_error)\"; 8 MiB verified after recovery by $(recovery_field "$BLK0" last_strategy)"
done
[ "$(recovery_field "$BLK0" last_strategy)" = reset_prepare/reset_done ] || fail "wrong strategy"
dmesg | grep -q "I/O error" && fail "I/O errors reported"

rounds=${RVIRTIO_RECOVERY_ROUNDS:-20}
times=$(RECOVERY_QDEV=blk0 recovery_times "$BLK0" "$rounds" read "/dev/$disk" 0 0.3) ||
	fail "a recovery did not complete: $(cat "$(rvirtio_debugfs "$BLK0")/recovery")"
read -r med min max <<< "$times"
echo "recovery time, reset_prepare/reset_done (C virtio_blk), injection to first read: median $med ms, min $min, max $max ($rounds rounds)"
# virtio_blk spreads its queue vectors over the CPUs: the kept ones follow the same spread.
assert_vectors_kept "$BLK0" "$mark"
