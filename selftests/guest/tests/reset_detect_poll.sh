#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A device that asks for a reset without an interrupt is found by the periodic status check.
# The fault injection first takes the configuration vector away from the device
# (msix_config = NO_VECTOR), so that QEMU cannot interrupt: first with automatic recovery off
# (devlink health's auto_recover), to see QEMU's own "broken" flag set and the status check
# (not the interrupt) count it; then, recovering, $RVIRTIO_DETECT_ROUNDS times (default 10):
# each found by the status check within its period, recovered, QEMU's flag clear again, the NIC
# answering. Then as many rounds with the configuration vector left alone: each found by the
# interrupt. Prints the detection latency (injection to detection) of both paths, median, min
# and max.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT

period=1000
must kmod_load virtio_net
must rvirtio_load rvirtio_pci status_poll_ms=$period
rvirtio_take "$NIC0"
must rvirtio_hold "$NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
ping -c 2 -W 2 10.99.0.2 > /dev/null || fail "no ping before the injection"
[ "$(recovery_field "$NIC0" status_poll_ms)" = $period ] || fail "status check period not $period"
assert_broken nic0 false "nic0 broken before the injection"

dfs=$(rvirtio_debugfs "$NIC0")
echo $NIC0_INJECT_Q > "$dfs/inject_silent" || fail "injection failed"
wait_for 5 recovery_above "$NIC0" needs_reset_events 0 || fail "not found: $(cat "$dfs/recovery")"
assert_broken nic0 true "QEMU does not report nic0 broken"
for f in detected_by_interrupt detected_by_driver; do
	[ "$(recovery_field "$NIC0" $f)" = 0 ] || fail "$f is not 0: the device could still interrupt"
done
[ "$(recovery_field "$NIC0" detected_by_poll)" = 1 ] || fail "not found by the status check"
lat=$(recovery_field "$NIC0" last_detection_latency_us)
echo "found by $(recovery_field "$NIC0" last_detector) $lat us after the injection, QEMU reports nic0 broken"
[ "$lat" -ge 0 ] && [ "$lat" -le $(((period + 500) * 1000)) ] || fail "found after $lat us, period $period ms"
must rvirtio_recover "$NIC0"
wait_for 5 recovery_above "$NIC0" recoveries 0 || fail "no recovery by hand"
assert_broken nic0 false "nic0 still broken after the recovery"
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no ping after the recovery"
netns_cleanup
rvirtio_release "$NIC0"

# Automatic recovery, a short window so that each round is the first of its window.
must rvirtio_load rvirtio_pci status_poll_ms=$period
rvirtio_take "$NIC0" recovery_window_ms=200
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
rounds=${RVIRTIO_DETECT_ROUNDS:-10}
lats=()
for ((i = 1; i <= rounds; i++)); do
	echo $NIC0_INJECT_Q > "$dfs/inject_silent" || fail "injection $i failed"
	wait_for $((period / 1000 + 5)) recovery_above "$NIC0" recoveries $((i - 1)) ||
		fail "round $i: no recovery: $(cat "$dfs/recovery")"
	[ "$(recovery_field "$NIC0" last_detector)" = poll ] ||
		fail "round $i: found by $(recovery_field "$NIC0" last_detector), not the status check"
	lats+=("$(recovery_field "$NIC0" last_detection_latency_us)")
	assert_broken nic0 false "round $i: nic0 still broken after the recovery"
	wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "round $i: no ping after the recovery"
done
[ "$(recovery_field "$NIC0" detected_by_poll)" = "$rounds" ] || fail "not every round found by the status check"
[ "$(recovery_field "$NIC0" detected_by_interrupt)" = 0 ] || fail "an interrupt found one"
read -r med min max <<< "$(printf '%s\n' "${lats[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }')"
echo "detection latency, status check every $period ms (configuration vector detached): median $((med / 1000)) ms, min $((min / 1000)), max $((max / 1000)) ($rounds rounds)"
[ "$max" -le $(((period + 500) * 1000)) ] || fail "a detection took $max us, period $period ms"
echo "last recovery work: $(recovery_field "$NIC0" last_duration_us) us"

# The same with the interrupt: found by it, long before the status check comes.
lats=()
n0=$(recovery_field "$NIC0" recoveries)
for ((i = 1; i <= rounds; i++)); do
	echo $NIC0_INJECT_Q > "$dfs/inject" || fail "injection $i failed"
	wait_for 5 recovery_above "$NIC0" recoveries $((n0 + i - 1)) ||
		fail "round $i: no recovery: $(cat "$dfs/recovery")"
	# The status check may read the status between the device's fault and its interrupt.
	case $(recovery_field "$NIC0" last_detector) in
	interrupt) lats+=("$(recovery_field "$NIC0" last_detection_latency_us)") ;;
	poll) echo "round $i: the status check came first" ;;
	*) fail "round $i: found by $(recovery_field "$NIC0" last_detector)" ;;
	esac
	wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "round $i: no ping after the recovery"
done
[ "${#lats[@]}" -ge $((rounds - 1)) ] || fail "only ${#lats[@]} of $rounds rounds found by the interrupt"
read -r med min max <<< "$(printf '%s\n' "${lats[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }')"
echo "detection latency, configuration interrupt: median $med us, min $min, max $max (${#lats[@]} rounds)"
