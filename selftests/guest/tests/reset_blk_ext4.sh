#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ext4 on a disk that breaks while a file is being copied to it stays mounted read-write, and
# what was copied is intact: DEVICE_NEEDS_RESET is injected five times during copies and
# syncs, rvirtio-pci resets the device, and virtio_blk with the change proposed in
# Documentation/patches/ (a test module built from the kernel tree) requeues the writes the
# device lost. Asserts requests in flight at the resets (the transport's count, summed), no
# error from the copies, the file system read-write and clean (e2fsck), and the copies equal
# to their source.
. "$(dirname "$0")/../lib.sh"

w=/tmp/ext4 mnt=/tmp/ext4/mnt
cleanup() {
	touch "$w/stop" 2>/dev/null
	wait
	umount "$mnt" 2>/dev/null
	blk_release
}
trap cleanup EXIT
rm -rf "$w"
mkdir -p "$mnt"

blk_take requeue
disk=$BLK_DISK

must kmod_load ext4
must mkfs.ext4 -q -F "$disk"
must mount -t ext4 "$disk" "$mnt"
head -c 4M /dev/urandom > "$w/src"

# Copies the source again and again, each copy synced, into two alternating files.
copier() {
	local i=0
	while [ ! -e "$w/stop" ]; do
		if cp "$w/src" "$mnt/copy$((i % 2))" 2>> "$w/err" && sync "$mnt/copy$((i % 2))" 2>> "$w/err"; then
			echo "$i" >> "$w/log"
		else
			echo "copy $i failed" >> "$w/err"
		fi
		i=$((i + 1))
	done
}

# Each of writeback's large requests stays at the disk for a quarter of a second or more.
must blk_throttle 20 2000000
errors=$(device_errors)
copier &
busy() { [ "$(awk '{ print $1 + $2 }' "/sys/block/${disk#/dev/}/inflight")" -ge 1 ]; }
rounds=5 held=()
for ((i = 1; i <= rounds; i++)); do
	# Writeback comes in bursts: inject while it has requests out.
	wait_for 10 busy || fail "round $i: no write reaches the disk"
	inject_until_recovered "$BLK0" 0
	held+=("$(recovery_field "$BLK0" last_in_flight)")
	sleep 1
done
touch "$w/stop"
wait_jobs 60 "the copy still runs 60 s after the stop"

assert_device_raised "$errors" "the device did not raise the errors itself"
[ $(($(device_errors) - errors)) -ge "$rounds" ] || fail "fewer device errors than rounds"
[ -s "$w/err" ] && fail "the copies saw errors: $(head -3 "$w/err")"
total=0
for n in "${held[@]}"; do total=$((total + n)); done
[ "$total" -ge 1 ] || fail "no request in flight at any of the resets (${held[*]})"
opts=$(awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts)
case ,$opts, in
*,rw,*) ;;
*) fail "ext4 is no longer mounted read-write: '$opts'" ;;
esac
dmesg | grep -E "EXT4-fs (error|warning)|I/O error|blocked for more than" && fail "errors reported"
copies=$(wc -l < "$w/log")
[ "$copies" -ge 1 ] || fail "no copy completed"
echo 3 > /proc/sys/vm/drop_caches
# The copies alternate between two files; each one that completed equals its source.
for ((c = 0; c < copies && c < 2; c++)); do
	cmp -s "$w/src" "$mnt/copy$c" || fail "copy$c differs from its source"
done
must umount "$mnt"
fsck=$(e2fsck -f -n "$disk" 2>&1) || fail "e2fsck found problems: $fsck"
echo "in flight at each reset: ${held[*]}; $copies copies of 4 MiB completed with no error; still read-write, clean after unmounting"
