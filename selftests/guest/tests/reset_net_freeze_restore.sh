#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Upstream C virtio_net on rvirtio-pci recovers from DEVICE_NEEDS_RESET by freeze/restore:
# injected while iperf3 runs, traffic flows again, the interface keeps its name and addresses,
# the counters move, and the time from the injection to the first answered ping is measured
# (median of $RVIRTIO_RECOVERY_ROUNDS, default 20).
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill "$IPERF_CLIENT" 2>/dev/null
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT

must kmod_load virtio_net
# A short window so that each measured recovery is the first of its window (no backoff).
rvirtio_take "$NIC0" recovery_window_ms=200
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
addrs() { ip -o addr show dev "$dev" scope global | awk '{ print $4 }' | sort | tr '\n' ' '; }
addrs_before=$(addrs)

# Read before the traffic: each process is slow to start under it.
errors=$(device_errors)
iperf_background "${RVIRTIO_RECOVERY_IPERF_SECS:-6}"
sleep 2
echo $NIC0_INJECT_Q > "$(rvirtio_debugfs "$NIC0")/inject" || fail "injection failed"
wait_for 5 recovery_above "$NIC0" recoveries 0 || fail "no recovery: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
# virtio_net's restore allocates new queues, with new counters: count from here.
rx0=$(cat /sys/class/net/$dev/statistics/tx_bytes)
wait "$IPERF_CLIENT" || fail "iperf3 failed across the recovery: $(tail -3 /tmp/iperf.out)"
grep receiver /tmp/iperf.out
assert_device_raised "$errors" "the device did not raise the error itself"
echo "QEMU: \"$(device_last_error)\""
rx1=$(cat /sys/class/net/$dev/statistics/tx_bytes)
[ $((rx1 - rx0)) -gt 100000 ] || fail "little traffic after the injection ($((rx1 - rx0)) bytes)"
strategy=$(recovery_field "$NIC0" last_strategy)
[ "$strategy" = freeze/restore ] || fail "recovered by $strategy"
[ -e "/sys/class/net/$dev" ] || fail "interface $dev is gone"
[ "$(netdev_by_mac "$NIC0_MAC")" = "$dev" ] || fail "interface renamed"
[ "$(addrs)" = "$addrs_before" ] || fail "addresses changed: '$addrs_before' -> '$(addrs)'"
[ "$(recovery_field "$NIC0" failed)" = 0 ] || fail "device marked failed"
assert_broken nic0 false "nic0 still broken after the recovery"
echo "$dev kept its name and addresses ($addrs_before) and moved $((rx1 - rx0)) bytes after the reset"
ping -c 3 -i 0.2 -W 2 fd99::2 > /dev/null || fail "no IPv6 ping after the recovery"

rounds=${RVIRTIO_RECOVERY_ROUNDS:-20}
mark=$(vectors_mark "$NIC0")
times=$(recovery_times "$NIC0" "$rounds" ping 10.99.0.2 $NIC0_INJECT_Q 0.3) ||
	fail "a recovery did not complete: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
read -r med min max <<< "$times"
[ "$(recovery_field "$NIC0" failed)" = 0 ] || fail "device marked failed"
assert_vectors_kept "$NIC0" "$mark"
echo "recovery time, freeze/restore (C virtio_net), injection to first ping: median $med ms, min $min, max $max ($rounds rounds)"
echo "last recovery work: $(recovery_field "$NIC0" last_duration_us) us"
