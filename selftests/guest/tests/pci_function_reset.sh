#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# PCI function reset of devices on rvirtio-pci (the sysfs "reset" file; here a secondary bus
# reset, as each device is alone behind a bridge: run-vm -F). The PCI core calls our
# reset_prepare/reset_done error handlers around it:
# - C virtio_blk has reset_prepare/reset_done: reads running across each reset complete, and
#   the data written before reads back intact;
# - C virtio_rng has only freeze/restore: the transport falls back to them (the C transport
#   resets the device under such a driver);
# - with no driver bound, the device is reset and a driver binds afterwards.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	pkill -f "of=/dev/null bs=64k" 2>/dev/null
	rvirtio_release "$BLK1"
	rvirtio_release "$RNG1"
}
trap cleanup EXIT

[ -d "/sys/bus/pci/devices/$BLK1" ] && [ -d "/sys/bus/pci/devices/$RNG1" ] ||
	fail "no $BLK1 or $RNG1 (the boot needs run-vm -F)"
must kmod_load virtio_blk
must kmod_load virtio_rng
rvirtio_take "$BLK1"
rvirtio_take "$RNG1"
for d in "$BLK1" "$RNG1"; do
	[ -e "/sys/bus/pci/devices/$d/reset" ] || fail "$d cannot be reset by the PCI core"
	echo "$d: reset methods $(cat "/sys/bus/pci/devices/$d/reset_method")"
done

# virtio_blk: reset_prepare/reset_done, with reads in flight.
vdev=$(virtio_of "$BLK1") || fail "no virtio device on $BLK1"
wait_for 5 ls "/sys/bus/virtio/devices/$vdev/block" || fail "no disk on $vdev"
disk=$(ls "/sys/bus/virtio/devices/$vdev/block")
wait_for 5 test -b "/dev/$disk" || fail "no /dev/$disk"
head -c 8M /dev/urandom > /tmp/pattern
must dd if=/tmp/pattern of="/dev/$disk" bs=1M oflag=direct conv=fsync status=none
rounds=5
for ((i = 1; i <= rounds; i++)); do
	dd if="/dev/$disk" of=/dev/null bs=64k count=100000 iflag=direct status=none & reader=$!
	sleep 0.3
	echo 1 > "/sys/bus/pci/devices/$BLK1/reset" || fail "round $i: reset of $BLK1 failed"
	kill "$reader" 2>/dev/null
	wait "$reader"
	rc=$?
	# 143: stopped by our kill (SIGTERM) while reading, 0: it had finished. An I/O error
	# would be 1.
	[ $rc = 0 ] || [ $rc = 143 ] || fail "round $i: reads across the reset failed ($rc)"
	echo 3 > /proc/sys/vm/drop_caches
	must dd if="/dev/$disk" of=/tmp/readback bs=1M count=8 iflag=direct status=none
	cmp -s /tmp/pattern /tmp/readback || fail "round $i: data read back differs"
done
[ "$(stops_field "$BLK1" reset)" = $rounds ] || fail "$BLK1: $(cat "$(rvirtio_debugfs "$BLK1")/stops")"
last=$(stops_field "$BLK1" last)
[ "$last" = "reset_prepare/reset_done (restarted: 0)" ] || fail "$BLK1: last stop: $last"
echo "$BLK1 ($disk): $rounds resets under reads, 8 MiB verified after each; last: $last"
dmesg | grep -q "I/O error" && fail "I/O errors reported"

# virtio_rng: freeze/restore.
hw=/sys/class/misc/hw_random
vdev=$(virtio_of "$RNG1") || fail "no virtio device on $RNG1"
src=$(basename "$(readlink "/sys/bus/virtio/devices/$vdev/driver")")
[ "$src" = virtio_rng ] || fail "$vdev is driven by $src"
read_rng() {
	local n
	n=$(timeout 10 dd if=/dev/hwrng bs=64 count=16 iflag=fullblock status=none | wc -c)
	[ "$n" = 1024 ] || fail "$1: read $n bytes from /dev/hwrng, expected 1024"
}
# The source of this device: the one that appears last (it was bound last).
cur=$(tr ' ' '\n' < "$hw/rng_available" | grep virtio_rng | tail -n 1)
echo "$cur" > "$hw/rng_current"
read_rng "before the reset"
for ((i = 1; i <= 3; i++)); do
	echo 1 > "/sys/bus/pci/devices/$RNG1/reset" || fail "reset of $RNG1 failed"
	wait_for 5 grep -qw "$cur" "$hw/rng_available" || fail "no $cur after the reset"
	echo "$cur" > "$hw/rng_current"
	read_rng "after reset $i"
done
last=$(stops_field "$RNG1" last)
[ "$last" = "freeze/restore (restarted: 0)" ] || fail "$RNG1: last stop: $last"
echo "$RNG1 (virtio_rng, $cur): 3 resets, 1024 bytes read after each; last: $last"

# No driver bound: reset, then a driver binds to the device and works.
echo "$vdev" > /sys/bus/virtio/drivers/virtio_rng/unbind
echo 1 > "/sys/bus/pci/devices/$RNG1/reset" || fail "reset of $RNG1 without a driver failed"
last=$(stops_field "$RNG1" last)
[ "$last" = "no driver (restarted: 0)" ] || fail "$RNG1: last stop: $last"
echo "$vdev" > /sys/bus/virtio/drivers/virtio_rng/bind || fail "virtio_rng does not bind after the reset"
cur=$(tr ' ' '\n' < "$hw/rng_available" | grep virtio_rng | tail -n 1)
echo "$cur" > "$hw/rng_current"
read_rng "after a reset without driver"
echo "$RNG1: reset without a driver, then bound again ($cur): 1024 bytes read"
dmesg | grep "function reset" | sed "s/^\[[^]]*\] //" | sort | uniq -c | sed "s/^ */dmesg: /"
exit 0
