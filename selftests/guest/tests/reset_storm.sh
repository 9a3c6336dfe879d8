#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A device that keeps needing resets does not storm: injected faster than the backoff allows,
# it is given up on (FAILED, one dev_err) after recovery_max recoveries, the system stays
# responsive, and the device can still be unbound and given back to the C transport.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	kill "$PINGER" 2>/dev/null
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT
# The device given up on stays broken under the pinger until the unbind: the stack's transmit
# watchdog may report the stopped queue meanwhile (5 s).
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'

must kmod_load virtio_net
rvirtio_take "$NIC0" recovery_max=3 recovery_window_ms=30000 recovery_backoff_ms=200
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
ping -i 0.05 -W 1 10.99.0.2 > /dev/null 2>&1 &
PINGER=$!
D=$(rvirtio_debugfs "$NIC0")
errors=$(device_errors)
start=$(date +%s%N)
for ((i = 0; i < 300; i++)); do
	[ "$(recovery_field "$NIC0" failed)" = 1 ] && break
	echo $NIC0_INJECT_Q > "$D/inject" 2>/dev/null
	sleep 0.05
done
ms=$((($(date +%s%N) - start) / 1000000))
cat "$D/recovery" | sed 's/^/  /'
[ "$(recovery_field "$NIC0" failed)" = 1 ] || fail "not given up on after $ms ms"
n=$(recovery_field "$NIC0" recoveries)
f=$(recovery_field "$NIC0" failed_recoveries)
[ $((n + f)) -le 3 ] || fail "$((n + f)) recoveries, limit 3"
[ "$(dmesg | grep -c 'giving up, marking it FAILED')" = 1 ] || fail "not exactly one give-up message"
echo "given up after $n recoveries in $ms ms; QEMU reported $(($(device_errors) - errors)) device errors"
[ $(($(device_errors) - errors)) -gt "$n" ] || fail "QEMU reported fewer device errors than recoveries + 1"
assert_broken nic0 true "the device is not broken after the give-up: the last fault did not come from it"
status=$(recovery_field "$NIC0" device_status)
[ $((status & 0x80)) != 0 ] || fail "device status $status lacks FAILED"
# Still responsive: a later injection changes nothing, and the shell answers at once.
echo $NIC0_INJECT_Q > "$D/inject" 2>/dev/null
sleep 0.5
[ "$(recovery_field "$NIC0" recoveries)" = "$n" ] || fail "recovered after giving up"
kill "$PINGER"
netns_cleanup
timeout 20 bash -c "echo $NIC0 > /sys/bus/pci/drivers/rvirtio-pci/unbind" || fail "unbind hung"
pci_rebind "$NIC0" ""
wait_for 10 netdev_by_mac "$NIC0_MAC" || fail "no interface on the C transport afterwards"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "the device does not work on the C transport"
assert_broken nic0 false "nic0 still broken on the C transport"
echo "unbound, back on virtio-pci and passing traffic"
