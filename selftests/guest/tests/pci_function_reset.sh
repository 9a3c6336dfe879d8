#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# PCI function reset of devices on rvirtio-pci (the sysfs "reset" file; here a secondary bus
# reset, as each device is alone behind a bridge: run-vm -F). The PCI core calls our
# reset_prepare/reset_done error handlers around it:
# - C virtio_blk has reset_prepare/reset_done: two readers loop over the disk with direct I/O,
#   each reset comes once /sys/block/<disk>/inflight shows reads in flight, both readers are
#   still running after it (a read error would have stopped them), and the data written before
#   reads back intact. QEMU throttles that disk (run-vm -F) so that each read stays in flight
#   for milliseconds;
# - C virtio_rng has only freeze/restore: the transport falls back to them (the C transport
#   resets the device under such a driver);
# - with no driver bound, the device is reset and a driver binds afterwards.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill "${READERS[@]}" 2>/dev/null
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
# Reads the whole disk again and again until a read fails, and then says so.
reader() {
	while dd if="/dev/$disk" of=/dev/null bs=64k iflag=direct status=none; do :; done
	echo "reader $BASHPID: read error" >> /tmp/reader_errors
}
reads_in_flight() {
	local r w
	read -r r w < "/sys/block/$disk/inflight" && [ "$r" -gt 0 ]
}
rounds=5
inflight=()
rm -f /tmp/reader_errors
for ((i = 1; i <= rounds; i++)); do
	READERS=()
	reader & READERS+=($!)
	reader & READERS+=($!)
	# Short steps, and no busy loop: the readers need the CPUs to keep their reads going.
	# The reset follows the sample that saw reads in flight: a second sample could fall
	# between one read's completion and the next one's submission.
	end=$((SECONDS + 10)) seen=0
	while ((SECONDS < end)); do
		if reads_in_flight; then
			seen=1
			break
		fi
		sleep 0.01
	done
	((seen)) || fail "round $i: no read in flight on $disk ($(cat "/sys/block/$disk/inflight"); $(cat /tmp/reader_errors 2>/dev/null); $(ps ax | grep -c "[d]d if") readers)"
	echo 1 > "/sys/bus/pci/devices/$BLK1/reset" || fail "round $i: reset of $BLK1 failed"
	inflight+=("$(cat "/sys/block/$disk/inflight" | awk '{ print $1 }')")
	sleep 0.2
	[ -s /tmp/reader_errors ] && fail "round $i: reads failed across the reset: $(cat /tmp/reader_errors)"
	# The loops first, so that killing their reads is no error.
	kill "${READERS[@]}" 2>/dev/null
	wait "${READERS[@]}" 2>/dev/null
	pkill -f "of=/dev/null bs=64k" 2>/dev/null
	READERS=()
	echo 3 > /proc/sys/vm/drop_caches
	must dd if="/dev/$disk" of=/tmp/readback bs=1M count=8 iflag=direct status=none
	cmp -s /tmp/pattern /tmp/readback || fail "round $i: data read back differs"
done
[ "$(stops_field "$BLK1" reset)" = $rounds ] || fail "$BLK1: $(cat "$(rvirtio_debugfs "$BLK1")/stops")"
last=$(stops_field "$BLK1" last)
[ "$last" = "reset_prepare/reset_done (restarted: 0)" ] || fail "$BLK1: last stop: $last"
echo "$BLK1 ($disk): $rounds resets with reads in flight, reads in flight right after each: ${inflight[*]}; 8 MiB verified after each; last: $last"
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
