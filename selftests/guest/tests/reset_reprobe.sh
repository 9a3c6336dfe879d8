#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The re-probe strategy (forced with recovery_strategy=3; a driver without reset_prepare and
# freeze gets it by itself): C virtio_net is unbound, the device reset and the driver probed
# again. A new interface with the same MAC comes up and passes traffic; the recovery work's
# duration is measured (median of $RVIRTIO_RECOVERY_ROUNDS, default 20).
. "$(dirname "$0")/../lib.sh"

cleanup() {
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT

must kmod_load virtio_net
rvirtio_take "$NIC0" recovery_strategy=3 recovery_window_ms=200
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
ping -c 2 -W 2 10.99.0.2 > /dev/null || fail "no ping before the injection"
ifindex=$(cat /sys/class/net/$dev/ifindex)

errors=$(device_errors)
echo $NIC0_INJECT_Q > "$(rvirtio_debugfs "$NIC0")/inject" || fail "injection failed"
ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1
wait_for 5 recovery_above "$NIC0" recoveries 0 || fail "no recovery: $(cat "$(rvirtio_debugfs "$NIC0")/recovery")"
assert_device_raised "$errors" "the device did not raise the error itself"
echo "QEMU: \"$(device_last_error)\""
[ "$(recovery_field "$NIC0" last_strategy)" = reprobe ] || fail "recovered by $(recovery_field "$NIC0" last_strategy)"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface after the re-probe"
dev=$(netdev_by_mac "$NIC0_MAC")
[ "$(cat /sys/class/net/$dev/ifindex)" != "$ifindex" ] || fail "the interface was not re-created"
readdress() {
	dev=$(netdev_by_mac "$NIC0_MAC")
	ip addr add 10.99.0.1/24 dev "$dev"
	ip link set "$dev" up
	wait_for 10 ping -c 1 -W 1 10.99.0.2
}
readdress || fail "no ping after the re-probe"
assert_broken nic0 false "nic0 still broken after the recovery"
echo "re-probed: $dev (ifindex $ifindex -> $(cat /sys/class/net/$dev/ifindex)) passes traffic"

rounds=${RVIRTIO_RECOVERY_ROUNDS:-20}
durations=() phases=()
errors=$(device_errors)
for ((i = 0; i < rounds; i++)); do
	before=$(recovery_field "$NIC0" recoveries)
	echo $NIC0_INJECT_Q > "$(rvirtio_debugfs "$NIC0")/inject" || fail "round $i: injection failed"
	ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1
	wait_for 5 recovery_above "$NIC0" recoveries "$before" || fail "round $i: no recovery"
	durations+=("$(recovery_field "$NIC0" last_duration_us)")
	wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "round $i: no interface"
	readdress || fail "round $i: no ping after the re-probe"
	# The first ping is not timed here: the interface is readdressed first.
	phases+=("$(recovery_phases "$NIC0") -")
	sleep 0.3
done
times=$(printf '%s\n' "${durations[@]}" | sort -n |
	awk '{ v[NR] = $1 / 1000 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }')
read -r med min max <<< "$times"
[ "$(recovery_field "$NIC0" failed)" = 0 ] || fail "device marked failed"
[ $(($(device_errors) - errors)) -ge "$rounds" ] || fail "QEMU reported $(($(device_errors) - errors)) device errors in $rounds rounds"
assert_broken nic0 false "nic0 still broken after the last recovery"
printf '%s\n' "${phases[@]}" | phase_summary "first ping"
echo "recovery time, reprobe (C virtio_net), recovery work: median $med ms, min $min, max $max ($rounds rounds)"
