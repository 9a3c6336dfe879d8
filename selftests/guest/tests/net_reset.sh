#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rvirtio_net survives DEVICE_NEEDS_RESET on rvirtio-pci. Its own knob makes QEMU see a
# malformed transmit request while iperf3 runs: the transport resets the device with
# rvirtio_net's reset_prepare/reset_done, the interface keeps its name and addresses, the
# carrier goes off and on again, traffic resumes, and byte queue limits count nothing in flight
# once it ends (the packets the reset dropped were forgotten). Then the time from injection to
# the first answered ping (median of $RVIRTIO_RECOVERY_ROUNDS) with the driver's knob and with
# the transport's, and once more with freeze/restore forced.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill "${IPERF_CLIENT:-}" 2>/dev/null
	rvnet_cleanup
}
trap cleanup EXIT
export RVNET_TRANSPORT=rust
must kmod_load virtio_net
# A short window so that each measured recovery is the first of its window (no backoff).
must rvirtio_load rvirtio_net
dev=$(rvnet_setup recovery_window_ms=200) || fail "setup failed: $dev"
assert_rvirtio_net "$dev"
knob=$(rvnet_knob "$NIC0")
[ -w "$knob" ] || fail "no knob at $knob"
addrs() { ip -o addr show dev "$dev" scope global | awk '{ print $4 }' | sort | tr '\n' ' '; }
addrs_before=$(addrs)
changes0=$(cat "/sys/class/net/$dev/carrier_changes")

# Read before the traffic: each process is slow to start under it.
errors=$(device_errors)
iperf_background "${RVIRTIO_RECOVERY_IPERF_SECS:-6}"
sleep 2
echo 1 > "$knob" || fail "injection failed"
wait_for 5 recovery_above "$NIC0" recoveries 0 || fail "no recovery: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
status=$(recovery_field "$NIC0" needs_reset_status)
echo "the transport read device status $status (NEEDS_RESET is 0x40)"
[ $((status & 0x40)) != 0 ] || fail "the status the transport read has no NEEDS_RESET"
tx0=$(netdev_stat "$dev" tx_bytes)
wait "$IPERF_CLIENT" || fail "iperf3 failed across the recovery: $(tail -3 /tmp/iperf.out)"
IPERF_CLIENT=
grep receiver /tmp/iperf.out
assert_device_raised "$errors" "the device did not raise the error itself"
echo "QEMU: \"$(device_last_error)\""
tx1=$(netdev_stat "$dev" tx_bytes)
[ $((tx1 - tx0)) -gt 100000 ] || fail "little traffic after the recovery ($((tx1 - tx0)) bytes)"
bql_settled "$dev"
strategy=$(recovery_field "$NIC0" last_strategy)
[ "$strategy" = reset_prepare/reset_done ] || fail "recovered by $strategy"
[ "$(netdev_by_mac "$NIC0_MAC")" = "$dev" ] || fail "interface renamed or gone"
[ "$(addrs)" = "$addrs_before" ] || fail "addresses changed: '$addrs_before' -> '$(addrs)'"
[ "$(cat "/sys/class/net/$dev/carrier")" = 1 ] || fail "no carrier after the recovery"
changes=$(($(cat "/sys/class/net/$dev/carrier_changes") - changes0))
[ "$changes" -ge 2 ] || fail "carrier did not go off and on ($changes changes)"
[ "$(recovery_field "$NIC0" failed)" = 0 ] || fail "device marked failed"
assert_broken nic0 false "nic0 still broken after the recovery"
echo "$dev kept its name and addresses ($addrs_before), carrier changes $changes, $((tx1 - tx0)) bytes after the recovery"
ping_ok ping -6 -c 3 -i 0.2 -W 2 fd99::2

rounds=${RVIRTIO_RECOVERY_ROUNDS:-20}
mark=$(vectors_mark "$NIC0")
times=$(recovery_times "$NIC0" "$rounds" ping 10.99.0.2 $NIC0_INJECT_Q 0.3 "$knob") ||
	fail "a recovery did not complete: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
read -r med min max <<< "$times"
echo "recovery time, reset_prepare/reset_done (rvirtio_net, own knob), injection to first ping: median $med ms, min $min, max $max ($rounds rounds)"
times=$(recovery_times "$NIC0" "$rounds" ping 10.99.0.2 $NIC0_INJECT_Q 0.3) ||
	fail "a recovery did not complete: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
read -r med min max <<< "$times"
echo "recovery time, reset_prepare/reset_done (rvirtio_net, transport knob), injection to first ping: median $med ms, min $min, max $max ($rounds rounds)"
[ "$(recovery_field "$NIC0" failed)" = 0 ] || fail "device marked failed"
assert_vectors_kept "$NIC0" "$mark"

# freeze/restore, forced: the transport again, with the strategy parameter (2).
netns_cleanup
rvirtio_net_release "$NIC0"
rvirtio_release "$NIC0"
must rvirtio_load rvirtio_net
dev=$(rvnet_setup recovery_window_ms=200 recovery_strategy=2) || fail "setup failed: $dev"
times=$(recovery_times "$NIC0" 3 ping 10.99.0.2 $NIC0_INJECT_Q 0.3 "$(rvnet_knob "$NIC0")") ||
	fail "a recovery did not complete: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
strategy=$(recovery_field "$NIC0" last_strategy)
[ "$strategy" = freeze/restore ] || fail "recovered by $strategy"
read -r med min max <<< "$times"
echo "recovery time, freeze/restore (rvirtio_net, own knob): median $med ms, min $min, max $max (3 rounds)"
ping_ok ping -c 3 -i 0.2 -W 2 10.99.0.2
