#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A disk that breaks with requests in flight is recovered with nothing lost and no error: four
# processes write and two read with O_DIRECT without pause while DEVICE_NEEDS_RESET is injected
# $RVIRTIO_RECOVERY_ROUNDS times (10). QEMU drops the completions of the broken device;
# rvirtio-pci resets it before it asks the driver to quiesce, and virtio_blk, with the change
# proposed in Documentation/patches/ (built from the kernel tree as a test module), requeues
# what the device lost and sends it again after the reset.
#
# Asserts, for each injection: requests were in flight at the reset (the transport's count),
# the recovery ended within 5 s and I/O flowed again; and at the end: no process saw an error
# or hung, no I/O error or hung task was reported, and every chunk reads back as the last
# write acknowledged for it left it (a write reported done that the device never did would
# leave the pass before). Prints the errors the processes saw and the time from injection to
# the first write completed after the recovery (median of the rounds).
. "$(dirname "$0")/../lib.sh"

w=/tmp/inflight
cleanup() {
	touch "$w/stop" 2>/dev/null
	wait
	blk_release
}
trap cleanup EXIT
rm -rf "$w"
mkdir -p "$w"

blk_take requeue
disk=$BLK_DISK

writers=4 readers=2 chunks=32 chunk=65536
io="python3 $RVIRTIO_TOP/selftests/guest/blk_io.py"
# Each writer owns 2 MiB at 2 MiB * p and writes it chunk by chunk, pass after pass, each pass
# with another of three patterns, and logs each acknowledged write (blk_io.py).
for ((p = 0; p < writers; p++)); do
	for k in 0 1 2; do head -c $((chunks * chunk)) /dev/urandom > "$w/pat$p.$k"; done
done
# The readers read 256 KiB chunks of a fixed 4 MiB region at 16 MiB and compare them.
head -c 4M /dev/urandom > "$w/rpat"
must dd if="$w/rpat" of="$disk" bs=1M seek=16 oflag=direct conv=fsync status=none

# Milliseconds from time $1 to the first write completed more than $2 us after it (DRIVER_OK
# again): I/O flows again. Fails if there is none yet.
first_write() {
	cat "$w"/log* | awk -v t="$1" -v r="$2" '$2 != "error" && $1 > t + r / 1e6 { if (m == "" || $1 < m) m = $1 }
		END { if (m == "") exit 1; printf "%.1f\n", (m - t) * 1000 }'
}

must blk_throttle 30
errors=$(device_errors)
for ((p = 0; p < writers; p++)); do
	$io write "$disk" $((p * chunks * chunk)) $chunks $chunk "$w/pat$p" "$w/log$p" "$w/stop" &
done
for ((r = 0; r < readers; r++)); do
	$io read "$disk" $((16 << 20)) 16 262144 "$w/rpat" "$w/rerr$r" "$w/stop" &
done
# Python starts slowly under TCG: inject once every process has begun its I/O.
busy() { [ "$(awk '{ print $1 + $2 }' "/sys/block/${disk#/dev/}/inflight")" -ge "$1" ]; }
wait_for 120 busy $((writers + readers - 1)) || fail "the processes did not start their I/O"

rounds=${RVIRTIO_RECOVERY_ROUNDS:-10} times=() held=() phases=()
for ((i = 1; i <= rounds; i++)); do
	inject_until_recovered "$BLK0" 0
	n=$(recovery_field "$BLK0" last_in_flight)
	held+=("$n")
	[ "$n" -ge 1 ] || fail "round $i: no request in flight at the reset (block layer: $(cat "/sys/block/${disk#/dev/}/inflight")): $(cat "$(rvirtio_debugfs "$BLK0")/recovery")"
	ready=$(recovery_field "$BLK0" last_phase_ready_us)
	[ "$ready" != - ] || fail "round $i: the driver was not restarted"
	wait_for 5 first_write "$INJECTED_AT" "$ready" ||
		fail "round $i: no write completed within 5 s of the recovery"
	times+=("$(first_write "$INJECTED_AT" "$ready")")
	phases+=("$(recovery_phases "$BLK0") ${times[-1]}")
	sleep 0.5
done
touch "$w/stop"
wait_jobs 30 "processes still running 30 s after the stop"

assert_device_raised "$errors" "the device did not raise the errors itself"
assert_broken blk0 false "blk0 still broken after the last recovery"
[ $(($(device_errors) - errors)) -ge "$rounds" ] || fail "fewer device errors than rounds"
seen=$(cat "$w"/rerr* 2>/dev/null; grep -h " error " "$w"/log*)
[ -z "$seen" ] || fail "the processes saw errors: $(echo "$seen" | head -5)"
dmesg | grep -E "I/O error|blocked for more than" && fail "I/O error or hung task reported"

# Every chunk holds the pattern of the last pass whose write of it was acknowledged.
writes=0
for ((p = 0; p < writers; p++)); do
	must dd if="$disk" of="$w/back$p" bs=$chunk skip=$((p * chunks)) count=$chunks iflag=direct status=none
	writes=$((writes + $(wc -l < "$w/log$p")))
	last=$(awk '{ last[$3] = $2 } END { for (c in last) print c, last[c] }' "$w/log$p")
	while read -r c pass; do
		cmp -s -i "$((c * chunk)):$((c * chunk))" -n $chunk "$w/pat$p.$((pass % 3))" "$w/back$p" ||
			fail "writer $p, chunk $c: not what its last acknowledged write (pass $pass) wrote"
	done <<< "$last"
done

echo "in flight at each reset: ${held[*]}; $writes writes and their reads verified, no error seen by the $((writers + readers)) processes"
med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] " ms, min " v[1] ", max " v[NR] }')
echo "injection to the first write completed after the recovery: median $med ($rounds rounds; the disk serves 30 requests/s)"
printf '%s\n' "${phases[@]}" | phase_summary "first write"
