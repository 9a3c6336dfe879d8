#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DEVICE_NEEDS_RESET comes from the device: with automatic recovery off (devlink health's
# auto_recover), the fault injection makes QEMU itself set the bit (seen in QEMU's own status
# over QMP), the transport counts it, and the NIC stays dead, which is what Linux does without
# us, until "devlink health recover" asks for the recovery.
. "$(dirname "$0")/../lib.sh"

cleanup() {
	netns_cleanup
	rvirtio_release "$NIC0"
}
trap cleanup EXIT
# With recovery off the NIC stays broken for seconds while packets wait on its ring: once the
# byte queue limit stops the transmit queue, the stack's watchdog may report it (5 s).
expect_splat 'NETDEV WATCHDOG: .*transmit queue [0-9]+ timed out'

must kmod_load virtio_net
rvirtio_take "$NIC0"
must rvirtio_hold "$NIC0"
wait_for 5 netdev_by_mac "$NIC0_MAC" || fail "no interface"
dev=$(netns_setup) || fail "namespace setup failed: $dev"
ping -c 2 -W 2 10.99.0.2 > /dev/null || fail "no ping before the injection"

# QEMU's own view of the device status, as the names of the bits set.
qstatus() {
	qmp x-query-virtio-status '{"path": "/machine/peripheral/nic0/virtio-backend"}' |
		python3 -c 'import json, sys
st = json.load(sys.stdin)["status"]
print(" ".join(s.split(":")[0].replace("VIRTIO_CONFIG_S_", "") for s in st["statuses"]))'
}
before=$(qstatus) && [ -n "$before" ] || fail "x-query-virtio-status failed"
echo "QEMU's status of nic0 before: $before"
case " $before " in *" NEEDS_RESET "*) fail "NEEDS_RESET set before the injection" ;; esac
assert_broken nic0 false "nic0 broken before the injection"

echo $NIC0_INJECT_Q > "$(rvirtio_debugfs "$NIC0")/inject" || fail "injection failed"
ping -c 1 -W 1 10.99.0.2 > /dev/null 2>&1
wait_for 5 recovery_above "$NIC0" needs_reset_events 0 || fail "no NEEDS_RESET seen"
after=$(qstatus) && [ -n "$after" ] || fail "x-query-virtio-status failed"
seen=$(recovery_field "$NIC0" needs_reset_status)
echo "QEMU's status of nic0 after: $after; the transport read $seen in its interrupt"
case " $after " in *" NEEDS_RESET "*) ;; *) fail "QEMU does not report NEEDS_RESET" ;; esac
assert_broken nic0 true "the device did not raise the error itself"
case $seen in 0x[0-9a-f][0-9a-f]) ;; *) fail "bad status '$seen'" ;; esac
[ $((seen & 0x40)) != 0 ] || fail "the interrupt did not see NEEDS_RESET"
[ "$(recovery_field "$NIC0" recoveries)" = 0 ] || fail "recovered although disabled"
if ping -c 3 -W 1 10.99.0.2 > /dev/null; then
	fail "the NIC still works: the injection did not break it"
fi
echo "without recovery the NIC stays dead, as upstream"
# Recovery by hand, which also leaves the device usable for the next test.
must rvirtio_recover "$NIC0"
wait_for 5 recovery_above "$NIC0" recoveries 0 || fail "no recovery by hand"
wait_for 10 ping -c 1 -W 1 10.99.0.2 || fail "no ping after the recovery by hand"
assert_broken nic0 false "nic0 still broken after the recovery"
echo "recovered by hand with $(recovery_field "$NIC0" last_strategy)"
