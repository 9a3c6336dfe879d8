#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What rvirtio-pci does when the stock virtio_blk breaks with requests in flight: its
# reset_prepare waits for requests that the reset device will never complete, forever, and the
# transport cannot end that wait. It says so, once, within the status check's bound: one dev_err
# naming the driver, the callback and the descriptors the device lost.
#
# Asserts requests in flight when the device broke, the recovery still running (the driver has
# not returned), exactly one such message within 10 s of the injection and no second one 3 s
# later. The disk stays down and its writers stay blocked: this test ends its boot (the guest
# powers off without waiting for them).
. "$(dirname "$0")/../lib.sh"

blk_take stock
disk=$BLK_DISK

must blk_throttle 10
for p in 0 1 2 3; do
	# Not on the test's output: they never end, and the runner reads it to its end.
	dd if=/dev/zero of="$disk" bs=64K count=100 seek=$((p * 100)) oflag=direct status=none \
		> /dev/null 2>&1 &
done
busy() { [ "$(awk '{ print $1 + $2 }' "/sys/block/${disk#/dev/}/inflight")" -ge 3 ]; }
wait_for 20 busy || fail "the writers did not start"

stuck() { dmesg | grep -c "virtio_blk has not returned from reset_prepare"; }
[ "$(stuck)" = 0 ] || fail "a stuck driver was reported before the test"
running() { grep -qx "state: running" "$(rvirtio_debugfs "$BLK0")/recovery"; }
# Again if the driver published its next request over the injected entry first.
for ((try = 0; try < 5; try++)); do
	t0=$EPOCHREALTIME
	echo 0 > "$(rvirtio_debugfs "$BLK0")/inject" || fail "injection failed"
	wait_for 1 running && break
done
reported() { [ "$(stuck)" -ge 1 ]; }
wait_for 10 reported || fail "no report of the stuck driver within 10 s: $(cat "$(rvirtio_debugfs "$BLK0")/recovery")"
t1=$EPOCHREALTIME
line=$(dmesg | grep "virtio_blk has not returned from reset_prepare")
echo "$line"
held=$(echo "$line" | sed -n 's/.*with \([0-9]*\) descriptors in flight.*/\1/p')
[ "${held:-0}" -ge 1 ] || fail "the report names no descriptor in flight"
running || fail "the recovery is not running: $(cat "$(rvirtio_debugfs "$BLK0")/recovery")"
sleep 3
[ "$(stuck)" = 1 ] || fail "the stuck driver was reported $(stuck) times"
echo "reported once, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the injection; the recovery stays running, and this boot ends here"
