#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Removing a disk whose device broke with requests in flight neither hangs nor loses a write it
# acknowledged, $RVIRTIO_RACE_ROUNDS times (10), unbinding blk0 and unloading rvirtio_pci in
# turn, while three processes write with O_DIRECT (virtio_blk with the change proposed in
# Documentation/patches/, the disk throttled to 30 requests/s so that requests are in flight):
#
# - even rounds: a first fault is recovered, and a second one, within the backoff (20 s here),
#   leaves the device broken with the requests it took; the removal comes then. rvirtio-pci
#   runs the scheduled recovery first, without the backoff: virtio_blk's remove waits for every
#   request in flight, which a broken device never completes;
# - odd rounds: the removal comes right after the injection, while the recovery may be
#   scheduled, running or over.
#
# Asserts that every removal ends within 60 s, that even rounds raced a scheduled recovery that
# then ran with requests in flight (the transport's count), that the writers end after it, and
# that every chunk reads back, on the C transport, as the last acknowledged write (or a later
# failed one) left it. The runner's splat check covers hung tasks, and on the debug flavour
# KASAN, lockdep and kmemleak.
. "$(dirname "$0")/../lib.sh"

w=/tmp/blkrace
cleanup() {
	touch "$w"/*/stop 2>/dev/null
	wait
	blk_release
}
trap cleanup EXIT
rm -rf "$w"
mkdir -p "$w"

# The backoff is long enough for the checks below on a debug kernel; the removal does not
# wait for it.
params=(recovery_window_ms=60000 recovery_backoff_ms=20000 recovery_backoff_max_ms=20000)
blk_take requeue "${params[@]}"
must blk_throttle 30
writers=3 chunks=16 chunk=65536
io="python3 $RVIRTIO_TOP/selftests/guest/blk_io.py"
for ((p = 0; p < writers; p++)); do
	for k in 0 1 2; do head -c $((chunks * chunk)) /dev/urandom > "$w/pat$p.$k"; done
done

# Succeeds once the block layer has at least $1 requests of $disk in flight.
busy() { [ "$(awk '{ print $1 + $2 }' "/sys/block/${disk#/dev/}/inflight")" -ge "$1" ]; }

# Removes blk0 from rvirtio-pci by $1 (unbind or rmmod) in the background, and fails the test
# unless it ends within 60 s.
remove() {
	local pid
	if [ "$1" = rmmod ]; then
		rmmod rvirtio_pci &
	else
		(echo "$BLK0" > /sys/bus/pci/drivers/rvirtio-pci/unbind) &
	fi
	pid=$!
	wait_for 60 eval "! kill -0 $pid" || fail "round $i: the $1 did not end within 60 s"
	wait "$pid" || fail "round $i: the $1 failed"
}

# Checks the region of writer $2 in round directory $1 on $disk: every chunk holds the pattern
# of its last acknowledged write, or of the next pass if that one was attempted and failed.
verify() {
	local d=$1 p=$2 c pass next
	must dd if="$disk" of="$d/back$p" bs=$chunk skip=$(((i * writers + p) * chunks)) count=$chunks \
		iflag=direct status=none
	while read -r c pass; do
		[ -n "$c" ] || continue
		cmp -s -i "$((c * chunk)):$((c * chunk))" -n $chunk "$w/pat$p.$((pass % 3))" "$d/back$p" &&
			continue
		next=$((pass + 1))
		grep -q " error $next $c " "$d/log$p" &&
			cmp -s -i "$((c * chunk)):$((c * chunk))" -n $chunk "$w/pat$p.$((next % 3))" "$d/back$p" &&
			continue
		fail "round $i, writer $p, chunk $c: not what its last acknowledged write (pass $pass) wrote"
	done <<< "$(awk '$2 != "error" { last[$3] = $2 } END { for (c in last) print c, last[c] }' "$d/log$p")"
}

rounds=${RVIRTIO_RACE_ROUNDS:-10}
raced=0 forced=0 held=() writes=0
for ((i = 0; i < rounds; i++)); do
	d=$w/$i
	mkdir -p "$d"
	blk_attach "${params[@]}"
	disk=$BLK_DISK
	for ((p = 0; p < writers; p++)); do
		$io write "$disk" $(((i * writers + p) * chunks * chunk)) $chunks $chunk "$w/pat$p" \
			"$d/log$p" "$d/stop" &
	done
	wait_for 120 busy $writers || fail "round $i: the writers did not start their I/O"
	dfs=$(rvirtio_debugfs "$BLK0")
	if ((i % 2 == 0)); then
		inject_until_recovered "$BLK0" 0
		wait_for 5 busy 1 || fail "round $i: no I/O after the first recovery"
		dmesg -C
		# The driver may publish its next request over the injected entry before the
		# device looks: inject again until the device breaks.
		for ((try = 0; try < 10; try++)); do
			echo 0 > "$dfs/inject" || fail "round $i: injection failed"
			wait_for 1 test "$(recovery_field "$BLK0" state)" = scheduled && break
		done
		[ "$(recovery_field "$BLK0" state)" = scheduled ] ||
			fail "round $i: second recovery not scheduled: $(cat "$dfs/recovery")"
		assert_broken blk0 true "round $i: blk0 not broken while its recovery is held"
		busy 1 || fail "round $i: no request in flight on the broken device"
		forced=$((forced + 1))
	else
		dmesg -C
		echo 0 > "$dfs/inject" || fail "round $i: injection failed"
	fi
	if ((i / 2 % 2)); then how=rmmod; else how=unbind; fi
	remove $how
	state=$(dmesg | sed -n 's/.*unbinding while a recovery is \([a-z]*\).*/\1/p' | head -n 1)
	lost=$(dmesg | sed -n 's/.*recovered from DEVICE_NEEDS_RESET.*, \([0-9]*\) descriptors in flight.*/\1/p' |
		tail -n 1)
	touch "$d/stop"
	wait_jobs 30 "round $i: writers still running 30 s after the removal"
	if [ -n "$state" ]; then
		raced=$((raced + 1))
		held+=("${lost:--}")
		echo "round $i: inject + $how raced a $state recovery, ${lost:-no} descriptors in flight at its reset"
	else
		echo "round $i: inject + $how, the recovery was over (or not yet scheduled)"
	fi
	if ((i % 2 == 0)); then
		[ "$state" = scheduled ] || fail "round $i: the scheduled recovery did not race the $how"
		[ "${lost:-0}" -ge 1 ] ||
			fail "round $i: the recovery at the $how found nothing in flight: $(dmesg | grep -i recover)"
	fi
	rvirtio_release "$BLK0"
	[ "$(pci_driver "$BLK0")" = virtio-pci ] || fail "round $i: $BLK0 not back on virtio-pci"
	vdev=$(virtio_of "$BLK0") && wait_for 10 ls "/sys/bus/virtio/devices/$vdev/block" ||
		fail "round $i: no disk on virtio-pci"
	disk=/dev/$(ls "/sys/bus/virtio/devices/$vdev/block")
	wait_for 5 test -b "$disk" || fail "round $i: no $disk"
	for ((p = 0; p < writers; p++)); do
		verify "$d" $p
		writes=$((writes + $(grep -vc " error " "$d/log$p")))
	done
done
assert_broken blk0 false "blk0 still broken on virtio-pci"
echo "$raced of $rounds rounds raced a recovery ($forced forced); descriptors in flight at the reset: ${held[*]}"
echo "$writes acknowledged writes verified on virtio-pci after the removals"
[ "$raced" -ge "$forced" ] && [ "$forced" -gt 0 ] || fail "too few rounds raced"
